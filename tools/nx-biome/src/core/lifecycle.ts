import { BiomeError } from './errors';
import { BiomeMeta, LedgerRecord, MAX_TTL_HOURS } from './ledger';
import { BiomeRef } from './names';

export { MAX_TTL_HOURS };

/** What `list` shows of one biome (and `--json` prints). */
export interface BiomeSummary {
  biome: string;
  environment: string;
  sandpit: boolean;
  owner: string;
  projects: string[];
  lastCommit?: { sha: string; subject?: string };
  lastDeployedAt?: string;
  expires: string | null;
  expired: boolean;
  asleep: boolean;
}

/** Biome names that have at least one object in a `biomes/...` key listing, sorted. */
export function biomesInKeys(keys: string[]): string[] {
  const names = new Set<string>();
  for (const key of keys) {
    const m = /^biomes\/([^/]+)\//.exec(key);
    if (m) names.add(m[1]);
  }
  return [...names].sort();
}

/** The record deployed most recently, if any. */
export function newestRecord(records: LedgerRecord[]): LedgerRecord | undefined {
  return [...records].sort((a, b) => Date.parse(b.deployedAt) - Date.parse(a.deployedAt))[0];
}

/** True when a sandpit's expiry has passed; main biomes (expires null) never expire. */
export function isExpired(meta: Pick<BiomeMeta, 'expires'> | undefined, now: Date): boolean {
  return !!meta?.expires && Date.parse(meta.expires) <= now.getTime();
}

/** Summarises a biome from its metadata and ledger; `subjects` maps SHAs to commit subjects. */
export function summarizeBiome(input: {
  biome: BiomeRef;
  meta?: BiomeMeta;
  records: LedgerRecord[];
  subjects: Map<string, string>;
  now: Date;
}): BiomeSummary {
  const { biome, meta, records } = input;
  const newest = newestRecord(records);
  return {
    biome: biome.name,
    environment: biome.environment.name,
    sandpit: biome.sandpit,
    owner: meta?.owner ?? 'unknown',
    projects: records.map((r) => r.project),
    ...(newest
      ? {
          lastCommit: {
            sha: newest.gitSha,
            ...(input.subjects.has(newest.gitSha) ? { subject: input.subjects.get(newest.gitSha) } : {}),
          },
        }
      : {}),
    ...(meta?.lastDeployedAt || newest ? { lastDeployedAt: meta?.lastDeployedAt ?? newest!.deployedAt } : {}),
    expires: biome.sandpit ? (meta?.expires ?? null) : null,
    expired: biome.sandpit && isExpired(meta, input.now),
    asleep: meta?.asleep ?? false,
  };
}

/** `2026-11-26 02:38Z`: minutes are enough for a person, and the zone is explicit. */
export function formatTime(iso: string | null | undefined): string {
  if (!iso) return '-';
  const t = Date.parse(iso);
  return Number.isNaN(t) ? iso : `${new Date(t).toISOString().slice(0, 16).replace('T', ' ')}Z`;
}

/** `1a2b3c4d subject of the commit` (subject cut to `width`), or the short SHA alone. */
export function describeCommit(sha: string, subject: string | undefined, width = 48): string {
  const short = sha.slice(0, 8);
  if (!subject) return short;
  return `${short} ${subject.length > width ? `${subject.slice(0, width - 1)}…` : subject}`;
}

/** Checks a `--ttl` in hours. */
export function validateTtlHours(ttl: unknown): number {
  if (typeof ttl !== 'number' || !Number.isFinite(ttl) || ttl < 1 || ttl > MAX_TTL_HOURS) {
    throw new BiomeError(
      'OPTIONS_INVALID',
      `--ttl must be a number of hours between 1 and ${MAX_TTL_HOURS}, got ${JSON.stringify(ttl)}.`,
      'Pass e.g. --ttl=72 (three days).',
    );
  }
  return ttl;
}

/**
 * Registers a biome, or extends an existing one: a sandpit expires `ttlHours`
 * from now (an explicit extend may also shorten it); a main biome never
 * expires. The owner changes only when one is given.
 */
export function planBiomeCreate(input: {
  existing?: BiomeMeta;
  biome: BiomeRef;
  owner?: string;
  defaultOwner: string;
  ttlHours: number;
  now: Date;
  ttlGiven?: boolean;
}): { action: 'created' | 'extended'; meta: BiomeMeta } {
  const expires = input.biome.sandpit ? new Date(input.now.getTime() + input.ttlHours * 3600_000).toISOString() : null;
  // Only an explicit --ttl moves an existing biome's expiry: --owner alone changes the owner.
  if (input.existing && input.ttlGiven === false)
    return { action: 'extended', meta: { ...input.existing, owner: input.owner ?? input.existing.owner } };
  if (input.existing) {
    return {
      action: 'extended',
      meta: {
        ...input.existing,
        owner: input.owner ?? input.existing.owner,
        expires,
        ...(input.biome.sandpit ? { ttlHours: input.ttlHours } : {}),
      },
    };
  }
  return {
    action: 'created',
    meta: {
      schemaVersion: 1,
      biome: input.biome.name,
      environment: input.biome.environment.name,
      owner: input.owner ?? input.defaultOwner,
      created: input.now.toISOString(),
      expires,
      ...(input.biome.sandpit ? { ttlHours: input.ttlHours } : {}),
      asleep: false,
    },
  };
}

/**
 * Marks a biome asleep or awake. Only sandpits sleep: main biomes are shared
 * by everyone who tests against them.
 */
export function planBiomeSleep(input: { meta?: BiomeMeta; biome: BiomeRef; asleep: boolean }): {
  changed: boolean;
  meta: BiomeMeta;
} {
  if (!input.meta) {
    throw new BiomeError(
      'BIOME_NOT_FOUND',
      `Biome ${input.biome.name} is not registered in ${input.biome.environment.name}'s store.`,
      `Create it (nx run infra:biome-create --biome=${input.biome.name}) or deploy to it first.`,
    );
  }
  if (input.asleep && !input.biome.sandpit) {
    throw new BiomeError(
      'BIOME_MAIN_PROTECTED',
      `${input.biome.name} is the main biome of ${input.biome.environment.name}; main biomes never sleep.`,
      'Only sandpit biomes (<env>-<suffix>) can be put to sleep.',
    );
  }
  return { changed: input.meta.asleep !== input.asleep, meta: { ...input.meta, asleep: input.asleep } };
}

/** A biome found in a store, as reap sees it. */
export interface ReapCandidate {
  biome: string;
  sandpit: boolean;
  meta?: BiomeMeta;
  /** Why its biome.json could not be used (malformed, or naming another biome). */
  invalid?: string;
  /** The newest deployedAt among its valid records, for a sandpit that lost its biome.json. */
  lastDeployedAt?: string;
}

/**
 * The biomes reap destroys: sandpits whose expiry has passed, and whose
 * newest record is older than their TTL (each deploy extends a sandpit; its
 * record is written before it refreshes biome.json). Main biomes are never
 * reaped. A sandpit with records but no usable biome.json (none: a
 * destroy that overlapped a deploy, a crash; or a malformed one, such as
 * `expires: "never"`) expires `ttlHours` after its newest record, so it is
 * never skipped forever. Only a sandpit with neither a usable biome.json nor
 * a valid record is skipped (nothing dates it): the caller fails the run for
 * it, so that someone repairs it.
 */
export function planReap(
  candidates: ReapCandidate[],
  now: Date,
  ttlHours = 72,
): { expired: ReapCandidate[]; skipped: { biome: string; why: string }[] } {
  const expired: ReapCandidate[] = [];
  const skipped: { biome: string; why: string }[] = [];
  for (const c of candidates) {
    if (!c.sandpit) continue;
    if (c.meta && !c.invalid) {
      // A deploy's record counts from when it is written, before the deploy refreshes biome.json.
      const recordKeeps =
        c.lastDeployedAt && Date.parse(c.lastDeployedAt) + (c.meta.ttlHours ?? ttlHours) * 3600_000 > now.getTime();
      if (isExpired(c.meta, now) && !recordKeeps) expired.push(c);
    } else if (c.lastDeployedAt && Date.parse(c.lastDeployedAt) + ttlHours * 3600_000 <= now.getTime()) expired.push(c);
    else if (!c.lastDeployedAt)
      skipped.push({
        biome: c.biome,
        why: `${c.invalid ?? 'no biome.json'} and no valid ledger record, so nothing dates it (repair it with nx run infra:biome-repair --biome=${c.biome}, or destroy it with nx run infra:biome-destroy --biome=${c.biome})`,
      });
  }
  return { expired, skipped };
}

/**
 * Edit distance with adjacent transpositions counted once (optimal string
 * alignment), so `bbo` is one edit from `bob`, as a typing slip is.
 */
function typingDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

/**
 * Existing biomes of the same environment whose suffix is a likely typo
 * away from `biome`'s (one edit for short suffixes, two from 6 characters),
 * nearest first. Names that differ only in digits (dev-mr-141, dev-mr-142;
 * dev-u12, dev-u13) are generated by CI, never typed: they are not near.
 */
export function nearBiomeNames(biome: BiomeRef, existing: string[]): string[] {
  const suffix = (name: string) => name.slice(biome.environment.name.length + 1);
  const mine = suffix(biome.name);
  if (!biome.sandpit || mine.length < 3) return [];
  const limit = mine.length >= 6 ? 2 : 1;
  return existing
    .filter((name) => name !== biome.name && name.startsWith(`${biome.environment.name}-`))
    .filter((name) => name.replace(/[0-9]+/g, '#') !== biome.name.replace(/[0-9]+/g, '#'))
    .map((name) => ({ name, distance: typingDistance(mine, suffix(name)) }))
    .filter((x) => x.distance <= limit)
    .sort((a, b) => a.distance - b.distance || (a.name < b.name ? -1 : 1))
    .map((x) => x.name);
}

/**
 * What a deploy does about a biome that does not exist yet. A pipeline (MR and
 * personal biomes) creates it without asking. Anyone else: a name one typing
 * slip away from an existing biome is refused (did you mean …?) until
 * `infra:biome-create` registers it on purpose; otherwise the deploy creates
 * it and says "new biome <b>" first.
 */
export function planNewBiome(input: { biome: BiomeRef; existing: string[]; pipeline: boolean; store: string }): {
  message: string;
} {
  const { biome } = input;
  const near = nearBiomeNames(biome, input.existing);
  const others = input.existing.filter(
    (b) => b.startsWith(`${biome.environment.name}-`) || b === biome.environment.name,
  );
  if (near.length > 0 && !input.pipeline) {
    throw new BiomeError(
      'BIOME_NOT_FOUND',
      `new biome ${biome.name}: ${input.store} has no biome of that name, but has ${near.join(', ')} (did you mean ${near[0]}?). Nothing was built or written.`,
      `Deploy to --biome=${near[0]}, or create the new biome on purpose first: nx run infra:biome-create --biome=${biome.name} (then deploy again).`,
    );
  }
  const list = others.length
    ? ` (existing in ${biome.environment.name}: ${others.slice(0, 5).join(', ')}${others.length > 5 ? `, +${others.length - 5} more` : ''})`
    : '';
  return { message: `new biome ${biome.name}: deploying creates it in ${input.store}${list}.` };
}

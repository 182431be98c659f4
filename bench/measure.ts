/**
 * Measuring one command: wall time, CPU time of its whole process tree, and
 * the peak of the summed resident memory of that tree (Nx forks task and
 * batch processes, so the top process alone would miss most of it).
 *
 * CPU time is exact, not sampled: the command runs under bench/cpu-time.pl,
 * which waits for every process of the tree (orphans included, as the tree's
 * subreaper) and reports the children's user + system time the kernel
 * accounted to it. It stays meaningful on a loaded machine, where wall time
 * mostly measures the neighbours.
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const CPU_WRAPPER = join(__dirname, 'cpu-time.pl');

const PAGE = 4096;

/** Resident bytes of a process tree, read from /proc (0 where /proc is absent). */
export function treeRss(root: number): number {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return 0;
  }
  const children = new Map<number, number[]>();
  const rss = new Map<number, number>();
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
      // Fields after the command name (which may hold spaces) start after the last ')'.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const pid = Number(e);
      const ppid = Number(fields[1]);
      rss.set(pid, Number(fields[21]) * PAGE);
      const list = children.get(ppid) ?? [];
      list.push(pid);
      children.set(ppid, list);
    } catch {
      /* the process ended meanwhile */
    }
  }
  let total = 0;
  const stack = [root];
  while (stack.length) {
    const pid = stack.pop()!;
    total += rss.get(pid) ?? 0;
    stack.push(...(children.get(pid) ?? []));
  }
  return total;
}

export interface Measured {
  seconds: number;
  /** User + system CPU seconds of the whole process tree (NaN when Perl is missing). */
  cpuSeconds: number;
  peakRssBytes: number;
  code: number;
  output: string;
}

/** Runs a command (argv array, no shell) and measures it. */
export function measure(
  command: string,
  args: string[],
  options: { cwd: string; env: NodeJS.ProcessEnv; sampleMs?: number },
): Promise<Measured> {
  return new Promise((resolve) => {
    const started = process.hrtime.bigint();
    const child = spawn('perl', [CPU_WRAPPER, command, ...args], {
      cwd: options.cwd,
      env: options.env,
      stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
    });
    let output = '';
    let report = '';
    child.stdout!.on('data', (d) => (output += d));
    child.stderr!.on('data', (d) => (output += d));
    (child.stdio[3] as NodeJS.ReadableStream).on('data', (d) => (report += d));
    let peak = 0;
    const sample = () => (peak = Math.max(peak, treeRss(child.pid!)));
    const timer = setInterval(sample, options.sampleMs ?? 50);
    child.on('error', (e) => (output += `cannot run perl (bench/cpu-time.pl): ${e.message}\n`));
    child.on('close', (code) => {
      clearInterval(timer);
      const cpu = report ? (JSON.parse(report) as { wall: number | null; user: number; system: number }) : undefined;
      // Wall time is the command's own (to its exit), without the wait for orphans.
      resolve({
        seconds: cpu?.wall ?? Number(process.hrtime.bigint() - started) / 1e9,
        cpuSeconds: cpu ? cpu.user + cpu.system : NaN,
        peakRssBytes: peak,
        code: code ?? 1,
        output,
      });
    });
  });
}

/** Median of a list of numbers. */
export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

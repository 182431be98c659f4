import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';

/** Debian's chromium package. */
export const CHROMIUM = '/usr/bin/chromium';

/**
 * Whether the browser checks can run: under CI=true a missing chromium is a
 * failure (CI installs it in .ci/run); elsewhere the check is skipped with a
 * notice.
 */
export function chromiumOrSkip(skip: () => void): boolean {
  if (existsSync(CHROMIUM)) return true;
  if (process.env.CI === 'true')
    throw new Error(`${CHROMIUM} is missing: CI installs the Debian package chromium (.ci/run).`);
  console.log(
    `${CHROMIUM} is not installed (apt-get install chromium): skipping the browser check of the biome board.`,
  );
  skip();
  return false;
}

/**
 * Opens headless Chromium (playwright-core, Debian's binary, a fresh profile,
 * nothing that phones home) and runs `fn` with a page that records console
 * errors, page errors and any request that leaves file://.
 */
export async function withChromium<T>(fn: (page: Page, problems: string[]) => Promise<T>): Promise<T> {
  const { chromium } = await import('playwright-core');
  const profile = await mkdtemp(join(tmpdir(), 'board-chromium-'));
  let browser: BrowserContext | undefined;
  try {
    browser = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
      viewport: { width: 1280, height: 720 },
    });
    const page = browser.pages()[0] ?? (await browser.newPage());
    const problems: string[] = [];
    page.on('console', (m) => m.type() === 'error' && problems.push(m.text()));
    page.on('pageerror', (e) => problems.push(String(e)));
    page.on('request', (r) => !r.url().startsWith('file:') && problems.push(`request to ${r.url()}`));
    return await fn(page, problems);
  } finally {
    await browser?.close();
    await rm(profile, { recursive: true, force: true });
  }
}

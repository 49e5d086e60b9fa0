// Debian's Chromium, driven by playwright-core, as the browser of a test: where it is, the flags
// it runs with here, and whether a test that needs it runs.
import { existsSync } from 'node:fs';
import { chromium, type BrowserContext } from 'playwright-core';
import { makeTempDir } from './temp.js';

export const CHROMIUM = process.env.RSESSION_PROXY_CHROMIUM || '/usr/bin/chromium';
const CHROMIUM_FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Chromium is not installed. */
export const chromiumMissing = !existsSync(CHROMIUM);

// CI installs Chromium (.ci/run), so there a missing browser is a failure; on a developer's
// machine without it the test is skipped and says how to get it.
export const chromiumSkip =
  chromiumMissing && !process.env.CI
    ? `needs Chromium at ${CHROMIUM}: apt-get install chromium, or set RSESSION_PROXY_CHROMIUM`
    : false;

// A fresh headless Chromium profile; close the context when done.
export function launchChromium(viewport = { width: 640, height: 200 }): Promise<BrowserContext> {
  return chromium.launchPersistentContext(makeTempDir('rsp-chromium-'), {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_FLAGS,
    viewport,
    timeout: 30_000,
  });
}

// `npm run e2e`: the Authorize flow in Debian's Chromium, driven by Playwright.
// No browser is ever downloaded: the system Chromium is used, and its absence
// is reported with the command that installs it.
import fs from 'node:fs';
import { runVitest } from '../test/support/vitest.ts';

const chromium = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
if (!fs.existsSync(chromium)) {
  console.error(`e2e: no Chromium at ${chromium}. Install Debian's: apt-get install -y chromium (or set CHROMIUM_PATH).`);
  process.exit(1);
}

process.exit(
  await runVitest('e2e', ['--config', 'e2e/vitest.config.ts', ...process.argv.slice(2)], { ...process.env, CHROMIUM_PATH: chromium }),
);

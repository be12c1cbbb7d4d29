// `npm run e2e`: the Authorize flow in Debian's Chromium, driven by Playwright.
// No browser is ever downloaded: the system Chromium is used, and its absence
// is reported with the command that installs it.
import { spawn } from 'node:child_process';
import fs from 'node:fs';

const chromium = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
if (!fs.existsSync(chromium)) {
  console.error(`e2e: no Chromium at ${chromium}. Install Debian's: apt-get install -y chromium (or set CHROMIUM_PATH).`);
  process.exit(1);
}

const child = spawn(
  process.execPath,
  ['node_modules/vitest/vitest.mjs', 'run', '--config', 'e2e/vitest.config.ts', ...process.argv.slice(2)],
  {
    stdio: 'inherit',
    env: { ...process.env, CHROMIUM_PATH: chromium },
  },
);
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));

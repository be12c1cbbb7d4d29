import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

interface JsonReport {
  numPassedTests: number;
  numFailedTests: number;
  numPendingTests: number;
  numTodoTests: number;
  numFailedTestSuites: number;
}

/**
 * Runs vitest with its usual output and, at the end, one plain line that CI
 * and people can read the outcome from: "<label>: N passed, N failed, N skipped".
 * Resolves to vitest's exit status.
 */
export async function runVitest(label: string, args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const report = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'slc-vitest-')), 'report.json');
  const reporters = args.some((a) => a.startsWith('--reporter'))
    ? []
    : ['--reporter=default', '--reporter=json', `--outputFile.json=${report}`];
  const code = await new Promise<number>((resolve) => {
    const child = spawn(process.execPath, ['node_modules/vitest/vitest.mjs', 'run', ...reporters, ...args], { stdio: 'inherit', env });
    child.on('exit', (status, signal) => resolve(status ?? (signal ? 1 : 0)));
  });
  if (fs.existsSync(report)) {
    const summary = JSON.parse(fs.readFileSync(report, 'utf8')) as JsonReport;
    const skipped = summary.numPendingTests + summary.numTodoTests;
    // A file that failed to load counts as a failure even though none of its tests ran.
    const failed = summary.numFailedTests + (summary.numFailedTests === 0 ? summary.numFailedTestSuites : 0);
    console.log(`${label}: ${summary.numPassedTests} passed, ${failed} failed, ${skipped} skipped`);
    fs.rmSync(path.dirname(report), { recursive: true, force: true });
  }
  return code;
}

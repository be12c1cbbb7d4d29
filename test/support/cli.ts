import { spawn } from 'node:child_process';
import path from 'node:path';
import { Readable, Writable } from 'node:stream';
import { main } from '../../server/ops/cli.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');

export interface Outcome {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `node <args>` from the project root in a process of its own, with only
 * this environment, to the end: its exit code and everything it printed.
 * `timeoutMs` kills a process that does not end by itself.
 */
export function runNode(
  args: string[],
  env: Record<string, string | undefined>,
  options: { input?: string; timeoutMs?: number } = {},
): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: ROOT, env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
    });
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    const timer = options.timeoutMs ? setTimeout(() => child.kill('SIGKILL'), options.timeoutMs) : undefined;
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(options.input ?? '');
  });
}

/**
 * The real command, as an operator runs it: a separate process on its own data
 * folder and environment (PUBLIC_URL defaults to an https address, as in production).
 */
export function securelogin(
  dataDir: string,
  args: string[],
  options: { input?: string; env?: Record<string, string> } = {},
): Promise<Outcome> {
  const env = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    DATA_DIR: dataDir,
    PUBLIC_URL: 'https://connect.example.test',
    ...options.env,
  };
  return runNode(['bin/securelogin.js', ...args], env, { input: options.input });
}

/**
 * The same command line run by the CLI's own entry point inside the test
 * process, with its output captured: for what needs no process of its own
 * (help, usage), so that a test of thirty commands starts no thirty processes.
 */
export async function secureloginInProcess(args: string[], env: Record<string, string> = {}): Promise<Outcome> {
  const captured = () => {
    const chunks: string[] = [];
    const stream = new Writable({
      write(chunk, _encoding, done) {
        chunks.push(String(chunk));
        done();
      },
    });
    return { stream, text: () => chunks.join('') };
  };
  const stdout = captured();
  const stderr = captured();
  const terminal = { stdin: Readable.from([]), stdout: stdout.stream, stderr: stderr.stream };
  const code = await main(args, terminal, { PUBLIC_URL: 'https://connect.example.test', ...env });
  return { code, stdout: stdout.text(), stderr: stderr.text() };
}

// The real server as an operator runs it: `node server/main.ts` in its own
// process, configured only by environment variables, its JSON log lines kept
// for assertions. Several of them side by side are several instances behind
// a load balancer; a crash is a process that exited.
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { ROOT } from '../../server/web/index.ts';
import { freePort, tempDataDir } from './service.ts';

export interface LogLine {
  level: string;
  msg: string;
  [field: string]: unknown;
}

export interface ServerProcess {
  /** Where this instance listens (http://127.0.0.1:port). */
  url: string;
  port: number;
  child: ChildProcess;
  /** Every JSON line the process wrote to stdout so far. */
  logs: LogLine[];
  /** Whatever it wrote to stderr (a crash's stack trace lands here). */
  stderr(): string;
  /** True while the process runs: it has not crashed or exited. */
  alive(): boolean;
  /** SIGTERM, as an orchestrator stops it; resolves with the exit code (SIGKILL after 15 s). */
  stop(): Promise<number | null>;
}

/**
 * Starts `node server/main.ts` on a free port with exactly this environment
 * (plus PATH and HOME, a temporary DATA_DIR, LOG_LEVEL info, and PUBLIC_URL
 * its own address unless given), and resolves once /healthz answers.
 */
export async function startServerProcess(env: Record<string, string>): Promise<ServerProcess> {
  const port = await freePort();
  const dataDir = env.DATA_DIR ?? tempDataDir('slc-process-');
  const child = spawn(process.execPath, ['server/main.ts'], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      LOG_LEVEL: 'info',
      PUBLIC_URL: `http://127.0.0.1:${port}`,
      ...env,
      DATA_DIR: dataDir,
      PORT: String(port),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: LogLine[] = [];
  let partial = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    const lines = (partial + chunk).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      try {
        logs.push(JSON.parse(line) as LogLine);
      } catch {
        logs.push({ level: 'raw', msg: line });
      }
    }
  });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const alive = () => child.exitCode === null && child.signalCode === null;
  const url = `http://127.0.0.1:${port}`;

  const deadline = Date.now() + 90_000;
  for (;;) {
    if (!alive()) throw new Error(`server/main.ts exited with ${child.exitCode ?? child.signalCode} before answering: ${stderr.trim()}`);
    const healthy = await fetch(`${url}/healthz`).then(
      (response) => response.ok,
      () => false,
    );
    if (healthy) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`server/main.ts did not answer /healthz within 90 s: ${stderr.trim()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }

  let stopping: Promise<number | null> | undefined;
  return {
    url,
    port,
    child,
    logs,
    stderr: () => stderr,
    alive,
    stop() {
      stopping ??= (async () => {
        if (alive()) {
          const force = setTimeout(() => child.kill('SIGKILL'), 15_000);
          child.kill('SIGTERM');
          await exited;
          clearTimeout(force);
        }
        if (!env.DATA_DIR) fs.rmSync(path.resolve(dataDir), { recursive: true, force: true });
        return child.exitCode;
      })();
      return stopping;
    },
  };
}

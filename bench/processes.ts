import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { freePort } from '../test/support/service.ts';
import { cpuMsOf } from './cpu.ts';

/*
 * The processes a run starts, each on its own free port on 127.0.0.1, each
 * stopped by the run (by its own pid) however the run ends.
 */

export const ROOT = path.resolve(import.meta.dirname, '..');

export interface Child {
  name: string;
  process: ChildProcess;
  url: string;
  /** Resident set size of the process now, in MiB (Linux /proc). */
  rssMiB(): number;
  /** CPU time the process has used so far (all threads), in ms. */
  cpuMs(): number;
  stop(): Promise<void>;
}

const started = new Set<Child>();

/** Stops every child still running; the run calls it on any exit path. */
export async function stopAll(): Promise<void> {
  await Promise.all([...started].map((child) => child.stop()));
}

function rssOf(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const kib = Number(/^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1]);
    return Math.round((kib / 1024) * 10) / 10;
  } catch {
    return Number.NaN;
  }
}

interface Spawned {
  name: string;
  command: string;
  args: string[];
  env: Record<string, string | undefined>;
  url: string;
  logFile: string;
  /** Resolves true once the process serves; called every 100 ms until `timeoutMs`. */
  answers: () => Promise<boolean>;
  timeoutMs?: number;
}

function answersHttp(url: string): () => Promise<boolean> {
  return async () => {
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(1_000) });
      await response.arrayBuffer();
      return response.ok;
    } catch {
      return false;
    }
  };
}

function acceptsTcp(port: number): () => Promise<boolean> {
  return () =>
    new Promise((resolve) => {
      const socket = net.connect({ host: '127.0.0.1', port });
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
}

async function launch(spec: Spawned): Promise<Child> {
  fs.mkdirSync(path.dirname(spec.logFile), { recursive: true });
  const out = fs.openSync(spec.logFile, 'a');
  const child = spawn(spec.command, spec.args, { cwd: ROOT, env: spec.env as NodeJS.ProcessEnv, stdio: ['ignore', out, out] });
  fs.closeSync(out);
  let spawnError: Error | undefined;
  child.once('error', (error) => {
    spawnError = error;
  });
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  const running = () => child.pid !== undefined && child.exitCode === null && child.signalCode === null;
  let stopping: Promise<void> | undefined;
  const handle: Child = {
    name: spec.name,
    process: child,
    url: spec.url,
    rssMiB: () => rssOf(child.pid),
    cpuMs: () => cpuMsOf(child.pid),
    stop() {
      stopping ??= (async () => {
        started.delete(handle);
        if (!running()) return;
        // SIGTERM: the server shuts down gracefully and, under --cpu-prof, writes its profile.
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
        await exited;
        clearTimeout(timer);
      })();
      return stopping;
    },
  };
  started.add(handle);
  const tail = () => {
    try {
      return fs.readFileSync(spec.logFile, 'utf8').split('\n').slice(-20).join('\n');
    } catch {
      return '';
    }
  };
  const deadline = Date.now() + (spec.timeoutMs ?? 30_000);
  for (;;) {
    if (spawnError) {
      await handle.stop();
      throw new Error(`${spec.name}: could not start ${spec.command}: ${spawnError.message}`);
    }
    if (child.exitCode !== null || child.signalCode !== null) {
      await handle.stop();
      throw new Error(`${spec.name}: exited (${child.exitCode ?? child.signalCode}) before serving:\n${tail()}`);
    }
    if (await spec.answers()) return handle;
    if (Date.now() > deadline) {
      await handle.stop();
      throw new Error(`${spec.name}: not serving at ${spec.url} after ${spec.timeoutMs ?? 30_000} ms:\n${tail()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The node:http hello-world every throughput figure is compared with. */
export async function startBaseline(logFile: string): Promise<Child> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  return launch({
    name: 'baseline',
    command: process.execPath,
    args: [path.join(ROOT, 'bench/baseline.ts'), String(port)],
    env: { PATH: process.env.PATH },
    url,
    logFile,
    answers: answersHttp(`${url}/`),
  });
}

/** The Node flags `npm start` (and the Dockerfile) run the server with. */
function startFlags(root: string): string[] {
  const start: string = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')).scripts.start;
  const words = start.split(/\s+/);
  if (words[0] !== 'node' || words.at(-1) !== 'server/main.ts') throw new Error(`npm start is not "node [flags] server/main.ts": ${start}`);
  return words.slice(1, -1);
}

/**
 * The product as it runs in production: `node server/main.ts` with the
 * flags of `npm start`, its own process, configured by environment only.
 * `profileDir` adds --cpu-prof.
 */
export async function startServer(options: {
  env: Record<string, string | undefined>;
  logFile: string;
  profileDir?: string;
  /** Another checkout to run server/main.ts from (default: this one). */
  root?: string;
}): Promise<Child> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const args = options.profileDir ? ['--cpu-prof', `--cpu-prof-dir=${options.profileDir}`] : [];
  return launch({
    name: 'server',
    command: process.execPath,
    args: [...startFlags(options.root ?? ROOT), ...args, path.join(options.root ?? ROOT, 'server/main.ts')],
    env: { PATH: process.env.PATH, HOME: process.env.HOME, LOG_LEVEL: 'warn', ...options.env, PORT: String(port), PUBLIC_URL: url },
    url,
    logFile: options.logFile,
    answers: answersHttp(`${url}/readyz`),
    timeoutMs: 60_000,
  });
}

/** A Redis of the run's own (no persistence), so the shared one is never touched. */
export async function startRedis(logFile: string): Promise<Child> {
  const port = await freePort();
  return launch({
    name: 'redis',
    command: 'redis-server',
    args: ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    env: { PATH: process.env.PATH },
    url: `redis://127.0.0.1:${port}`,
    logFile,
    answers: acceptsTcp(port),
    timeoutMs: 10_000,
  });
}

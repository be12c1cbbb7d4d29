import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { DestinationStream } from 'pino';
import { createApp, listen, type RunningServer } from '../../server/app.ts';
import { type Config, loadConfig } from '../../server/config.ts';
import { createLogger } from '../../server/log.ts';
import type { Clock } from '../../server/sessions/index.ts';
import { openStore, type Store } from '../../server/store/index.ts';

export interface TestService extends RunningServer {
  config: Config;
  store: Store;
  dataDir: string;
}

export function tempDataDir(prefix = 'slc-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** One parsed log line, as an operator reads it. */
export type LogLine = Record<string, unknown> & { level: string; msg: string };

/** A log destination that keeps every line the server writes, for a test to read. */
export class CapturedLog {
  readonly lines: LogLine[] = [];
  write(chunk: string): void {
    for (const line of chunk.split('\n')) if (line.trim() !== '') this.lines.push(JSON.parse(line));
  }
  /** The lines of one request (by the request id it answered with). */
  of(requestId: string | null): LogLine[] {
    return this.lines.filter((line) => line.requestId === requestId);
  }
}

export interface ServiceOptions {
  /** The sign-in throttle's clock, for a test that moves time on instead of waiting. */
  throttleClock?: Clock;
  /** The console's and the activity record's clock, for a test that moves time on. */
  clock?: Clock;
  /** Where the log lines go (JSON, one per line) instead of stdout; set LOG_LEVEL in env to get any. */
  logLines?: string[];
  /** Where the log lines go instead, parsed (CapturedLog) or as any pino destination. */
  log?: DestinationStream;
}

/**
 * Starts the real app on a free port with its own data folder (or the given
 * environment), exactly as main.ts composes it. `stop()` shuts it down the
 * graceful way. Logs go nowhere (LOG_LEVEL silent) unless the environment
 * sets a level; `log` receives them instead of stdout.
 */
export async function startService(env: Record<string, string | undefined> = {}, options: ServiceOptions = {}): Promise<TestService> {
  const dataDir = env.DATA_DIR ?? tempDataDir();
  // The issuer and every URL the provider builds come from PUBLIC_URL, so the
  // port must be known before the app is composed, as in a real deployment.
  const port = env.PORT && env.PORT !== '0' ? env.PORT : String(await freePort());
  const config = loadConfig({ LOG_LEVEL: 'silent', PUBLIC_URL: `http://127.0.0.1:${port}`, ...env, DATA_DIR: dataDir, PORT: port });
  const lines = options.logLines;
  const log = createLogger(config.logLevel, options.log ?? (lines ? { write: (line: string) => void lines.push(line) } : undefined));
  const store = await openStore(config, { log });
  const app = await createApp({ config, log, store, throttleClock: options.throttleClock, clock: options.clock });
  const running = await listen(app, store, config.port, '127.0.0.1');
  return { ...running, config, store, dataDir };
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createApp, listen, type RunningServer } from '../../server/app.ts';
import { type Config, loadConfig } from '../../server/config.ts';
import { createLogger } from '../../server/log.ts';
import { openStore, type Store } from '../../server/store/index.ts';

export interface TestService extends RunningServer {
  config: Config;
  store: Store;
  dataDir: string;
}

export function tempDataDir(prefix = 'slc-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/**
 * Starts the real app on a free port with its own data folder (or the given
 * environment), exactly as main.ts composes it. `stop()` shuts it down the
 * graceful way.
 */
export async function startService(env: Record<string, string | undefined> = {}): Promise<TestService> {
  const dataDir = env.DATA_DIR ?? tempDataDir();
  const config = loadConfig({ LOG_LEVEL: 'silent', ...env, DATA_DIR: dataDir, PORT: env.PORT ?? '0' });
  const log = createLogger(config.logLevel);
  const store = await openStore(config);
  const app = await createApp({ config, log, store });
  const running = await listen(app, store, config.port, '127.0.0.1');
  if (!env.PUBLIC_URL) {
    // PUBLIC_URL defaults to the configured port; with port 0 the real one is known only now.
    config.publicUrl = new URL(running.url);
  }
  return { ...running, config, store, dataDir };
}

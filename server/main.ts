import type { AddressInfo } from 'node:net';
import { createApp, listen } from './app.ts';
import { ConfigError, loadConfig } from './config.ts';
import { countTenants } from './directory/index.ts';
import { createLogger } from './log.ts';
import { openStore } from './store/index.ts';

let config: ReturnType<typeof loadConfig>;
try {
  config = loadConfig();
} catch (error) {
  if (error instanceof ConfigError) {
    process.stderr.write(`securelogin: configuration error: ${error.message}\n`);
    process.exit(2);
  }
  throw error;
}

const log = createLogger(config.logLevel);
let store: Awaited<ReturnType<typeof openStore>>;
try {
  store = await openStore(config, { log });
} catch (error) {
  log.fatal({ err: error }, 'could not open the directory store');
  process.stderr.write(`securelogin: could not open the directory store: ${(error as Error).message}\n`);
  process.exit(1);
}

const app = await createApp({ config, log, store });
const running = await listen(app, store, config.port);
log.info(
  // The bound port, not the configured one: with PORT=0 the system picks it.
  { url: config.publicUrl.origin, port: (running.server.address() as AddressInfo).port, store: store.location },
  `SecureLogin Connect listening on ${config.publicUrl.origin}`,
);

if ((await countTenants(store.db)) === 0) {
  log.info("No tenant registered yet. Register the first one with: npx securelogin tenant add example.com --name 'Example'");
}

let signalled = false;
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    if (signalled) return;
    signalled = true;
    // Stop accepting first, then say so: whoever reads the line may rely on it.
    const stopped = running.stop();
    log.info({ signal }, 'shutting down: no new connections, finishing requests in flight');
    stopped.then(
      () => {
        log.info('stopped');
        log.flush?.();
        process.exit(0);
      },
      (error) => {
        log.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  });
}

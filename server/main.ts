import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { createApp, listen } from './app.ts';
import { type Config, ConfigError, DEFAULT_DATA_DIR, loadConfig, withoutPassword } from './config.ts';
import { countTenants } from './directory/index.ts';
import { createLogger } from './log.ts';
import { isStoreUnavailable, openStore, Unreachable } from './store/index.ts';

/**
 * Start-up fails as configuration errors do: one line on stderr naming the
 * problem and what to do, no stack, nothing on stdout, and a non-zero exit.
 * Nothing was served yet, so there is nothing for the log to keep.
 */
function refuseToStart(message: string, status = 1): never {
  process.stderr.write(`securelogin: ${message}\n`);
  process.exit(status);
}

let config: Config;
try {
  config = loadConfig();
} catch (error) {
  if (error instanceof ConfigError) refuseToStart(`configuration error: ${error.message}`, 2);
  throw error;
}

const log = createLogger(config.logLevel);
let store: Awaited<ReturnType<typeof openStore>>;
try {
  store = await openStore(config, { log });
} catch (error) {
  const reason = firstLine(error);
  if (config.databaseUrl && isStoreUnavailable(error)) {
    refuseToStart(`PostgreSQL is unreachable at ${withoutPassword(config.databaseUrl)}: ${reason} (check DATABASE_URL)`);
  }
  refuseToStart(
    `could not open the directory store at ${config.databaseUrl ? withoutPassword(config.databaseUrl) : config.dataDir}: ${reason}`,
  );
}

let app: Awaited<ReturnType<typeof createApp>>;
let running: Awaited<ReturnType<typeof listen>>;
try {
  app = await createApp({ config, log, store });
} catch (error) {
  await store.close();
  if (error instanceof Unreachable) refuseToStart(`${error.message} (check the REDIS_* settings)`);
  throw error;
}
try {
  running = await listen(app, store, config.port);
} catch (error) {
  await app.close();
  await store.close();
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'EADDRINUSE') refuseToStart(`port ${config.port} is in use: stop what uses it or set PORT`);
  if (code === 'EACCES') refuseToStart(`port ${config.port} needs privileges this process lacks: set PORT to 1024 or above`);
  throw error;
}
log.info(
  // The bound port, not the configured one: with PORT=0 the system picks it.
  { url: config.publicUrl.origin, port: (running.server.address() as AddressInfo).port, store: store.location },
  `SecureLogin Connect listening on ${config.publicUrl.origin}`,
);

if ((await countTenants(store.db)) === 0) {
  log.info(`No tenant registered yet. Register the first one with: ${firstTenantCommand(config)}`);
}

/**
 * The command as it must be typed in another terminal to reach this store:
 * with DATA_DIR in front when it is not the default, since the CLI would
 * otherwise open (and create) ./data.
 */
function firstTenantCommand({ dataDir, databaseUrl }: Config): string {
  const command = "npx securelogin tenant add example.com --name 'Example'";
  if (databaseUrl) return `${command} (with the same DATABASE_URL)`;
  if (dataDir === path.resolve(DEFAULT_DATA_DIR)) return command;
  return `DATA_DIR=${shellWord(dataDir)} ${command}`;
}

function shellWord(text: string): string {
  return /^[\w@%+=:,./-]+$/.test(text) ? text : `'${text.replaceAll("'", "'\\''")}'`;
}

/** One line, whatever was thrown (pg's connection errors can have an empty message). */
function firstLine(error: unknown): string {
  const e = error as { message?: string; code?: string; errors?: { message?: string }[] };
  return (e?.message || e?.errors?.[0]?.message || e?.code || String(error)).split('\n')[0];
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

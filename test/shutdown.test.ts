// Stopping the server (SIGTERM from an orchestrator) while requests are still
// being handled: once the grace period has closed their connections, their
// handlers still run, and the stores stay open until they have finished.
// Closing them earlier turned each such request's next query into a 500
// ("driver has already been destroyed") and lost its write.
import path from 'node:path';
import SQLite from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { isStoreUnavailable, openStore } from '../server/store/index.ts';
import { entraUser, provisioningTenant } from './support/scim.ts';
import { startService, tempDataDir } from './support/service.ts';

describe('stopping while a request is still being handled', () => {
  it('keeps the stores open until the handler has finished, so its write lands', async () => {
    const service = await startService({ DATABASE_STATEMENT_TIMEOUT_MS: '60000' });
    const { scim } = await provisioningTenant(service);
    const file = path.join(service.dataDir, 'securelogin.db');
    // Another connection holds the write lock (a backup, a sqlite3 shell):
    // the POST waits for it, on a timer, for up to the deadline.
    const other = new SQLite(file);
    other.exec('BEGIN IMMEDIATE');
    // The server's own listener (the first) has taken the request once this fires.
    const arrived = new Promise((resolve) => service.server.once('request', resolve));
    const write = scim.post('/Users', entraUser('in.flight@example.com')).catch((error: Error) => error);
    let stopped = false;
    let stopping: Promise<void>;
    try {
      await arrived;
      stopping = service.stop(200).then(() => {
        stopped = true;
      });
      // The grace period ends and the connection is closed; the handler waits on.
      await write;
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(stopped, 'the stores are not closed under a running handler').toBe(false);
    } finally {
      other.exec('ROLLBACK');
      other.close();
    }
    await stopping!;
    const store = await openStore({ dataDir: service.dataDir, databaseUrl: undefined }, { migrate: false });
    try {
      const row = await store.db
        .selectFrom('users')
        .select('user_name')
        .where('user_name', '=', 'in.flight@example.com')
        .executeTakeFirst();
      expect(row?.user_name, 'the write of the request in flight landed').toBe('in.flight@example.com');
    } finally {
      await store.close();
    }
  }, 120_000);

  it('counts a query on a store already closed as the store being unavailable (503), not as our fault', async () => {
    const store = await openStore({ dataDir: tempDataDir(), databaseUrl: undefined });
    await store.close();
    const error = await store.db
      .selectFrom('tenants')
      .selectAll()
      .execute()
      .then(
        () => undefined,
        (caught: unknown) => caught,
      );
    expect(error).toBeInstanceOf(Error);
    expect(isStoreUnavailable(error), String(error)).toBe(true);
  });
});

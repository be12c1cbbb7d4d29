// Stores that hang or are locked never freeze the service. A SQLite file
// whose write lock another connection holds (a backup, a sqlite3 shell, the
// CLI), and a PostgreSQL server of the test's own stopped with SIGSTOP (a
// hung host or a cut network: connections stay open, nothing answers, and
// the server's own statement_timeout cannot fire). Either way /healthz keeps
// answering, a request past its deadline gets 503 with Retry-After (SCIM as
// a SCIM error, never 401; the token endpoint temporarily_unavailable; pages
// a page), and the outage is logged once when it begins and once when it ends.
import path from 'node:path';
import SQLite from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore, type Store } from '../server/store/index.ts';
import {
  authorizeSeeded,
  type Browser,
  excerpt,
  goToDomain,
  type Response,
  refresh,
  type SeededTenant,
  seedTenant,
  startAuthorize,
} from './support/authorize.ts';
import { eventually } from './support/eventually.ts';
import { type PostgresServer, postgresServerMissing, startPostgresServer } from './support/postgres-server.ts';
import { entraUser, ScimClient, type ScimResponse } from './support/scim.ts';
import { type LogLine, type ServerProcess, startServerProcess } from './support/server-process.ts';
import { tempDataDir } from './support/service.ts';

const ERROR_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:Error';
function expectScimUnavailable(answer: ScimResponse): void {
  expect(answer.status, answer.text).toBe(503);
  expect(answer.headers.get('content-type')).toMatch(/^application\/scim\+json/);
  expect(answer.body).toMatchObject({ schemas: [ERROR_SCHEMA], status: '503' });
  expect(answer.headers.get('www-authenticate')).toBeNull();
  expect(answer.headers.get('retry-after')).toMatch(/^[1-9]\d*$/);
}

/** A request's promise, and whether it has settled yet. */
function tracked<T>(promise: Promise<T>): { promise: Promise<T>; settled: () => boolean } {
  let settled = false;
  const settling = promise.finally(() => {
    settled = true;
  });
  return { promise: settling, settled: () => settled };
}

async function healthz(server: ServerProcess): Promise<number> {
  return (await fetch(`${server.url}/healthz`)).status;
}

/** Log lines at warn or above, and the outage lines, since `from` (an index into server.logs). */
function outageLines(server: ServerProcess, from: number) {
  const lines = server.logs.slice(from);
  return {
    began: lines.filter((line) => line.msg.startsWith('store outage began')),
    ended: lines.filter((line) => line.msg.startsWith('store outage ended')),
    loud: lines.filter((line: LogLine) => ['warn', 'error', 'fatal'].includes(line.level)),
  };
}

describe('a SQLite file whose write lock another process holds', () => {
  // Two servers on their own files: one that waits for the lock long enough
  // to be seen waiting, one whose short deadline runs out.
  let patient: ServerProcess;
  let hasty: ServerProcess;
  const files: Record<string, string> = {};
  const scim: Record<string, ScimClient> = {};
  const seeds: Record<string, SeededTenant> = {};
  let refreshToken: string;

  async function start(name: string, lockWaitMs: string): Promise<ServerProcess> {
    const dataDir = tempDataDir('slc-lock-');
    const server = await startServerProcess({ DATA_DIR: dataDir, DATABASE_STATEMENT_TIMEOUT_MS: lockWaitMs });
    const store = await openStore({ dataDir, databaseUrl: undefined }, { migrate: false });
    try {
      seeds[name] = await seedTenant(store);
    } finally {
      await store.close();
    }
    const tokens = await authorizeSeeded(server, seeds[name]);
    if (name === 'hasty') refreshToken = tokens.refresh_token;
    scim[name] = new ScimClient(server, tokens.access_token);
    files[name] = path.join(dataDir, 'securelogin.db');
    return server;
  }

  /** Another connection to the same file, holding the write lock as a sqlite3 shell's BEGIN IMMEDIATE does. */
  function holdLock(name: string): () => void {
    const other = new SQLite(files[name]);
    other.exec('BEGIN IMMEDIATE');
    return () => {
      other.exec('ROLLBACK');
      other.close();
    };
  }

  beforeAll(async () => {
    [patient, hasty] = await Promise.all([start('patient', '60000'), start('hasty', '300')]);
  }, 120_000);

  afterAll(async () => {
    await Promise.all([patient?.stop(), hasty?.stop()]);
  });

  it('a write waits for the lock while /healthz and reads keep answering, and goes through once the lock is free', async () => {
    const existing = await scim.patient.post('/Users', entraUser('existing@example.com'));
    expect(existing.status, existing.text).toBe(201);
    const release = holdLock('patient');
    let write: ReturnType<typeof tracked<ScimResponse>>;
    try {
      write = tracked(scim.patient.post('/Users', entraUser('waits.for.the.lock@example.com')));
      // Each answer comes while the write is still waiting: with a lock
      // waited for inside a synchronous call, none could be served until it
      // had given up.
      for (let i = 0; i < 20; i++) {
        expect(await healthz(patient)).toBe(200);
        expect(write.settled(), 'the write is still waiting').toBe(false);
      }
      const read = await scim.patient.get(`/Users/${existing.body.id}`);
      expect(read.status, read.text).toBe(200);
      expect(write.settled(), 'the write is still waiting').toBe(false);
    } finally {
      release();
    }
    const written = await write.promise;
    expect(written.status, written.text).toBe(201);
    expect((await scim.patient.get(`/Users/${written.body.id}`)).status).toBe(200);
  });

  it('a write that cannot get the lock in time answers 503 with Retry-After: SCIM as a SCIM error, the token endpoint too', async () => {
    const from = hasty.logs.length;
    const release = holdLock('hasty');
    try {
      for (let i = 0; i < 3; i++) expectScimUnavailable(await scim.hasty.post('/Users', entraUser(`locked.out.${i}@example.com`)));
      const token = await refresh(hasty, { ...seeds.hasty.client, refreshToken });
      expect(token.status, JSON.stringify(token.body)).toBe(503);
      expect(token.body.error).toBe('temporarily_unavailable');
      expect(token.headers.get('retry-after')).toMatch(/^[1-9]\d*$/);
      expect(await healthz(hasty)).toBe(200);
    } finally {
      release();
    }
    const after = await scim.hasty.post('/Users', entraUser('after.the.lock@example.com'));
    expect(after.status, after.text).toBe(201);

    // One line when the lock outage began, one when it ended, none per refused
    // request. The server's log reaches us through a pipe, so the line that
    // ended the outage may arrive a little after the answer that ended it.
    await eventually('the outage-ended line', async () => outageLines(hasty, from).ended.length > 0);
    const lines = outageLines(hasty, from);
    expect(lines.began.map((line) => line.store)).toEqual(['directory']);
    expect(lines.loud, 'nothing else at warn or above').toEqual(lines.began);
    expect(lines.ended).toHaveLength(1);
    expect(lines.ended[0]).toMatchObject({ store: 'directory', level: 'info' });
    expect(lines.ended[0].refused).toBe(4);
    expect(lines.ended[0].outageMs).toEqual(expect.any(Number));
  });
});

const missing = postgresServerMissing;

describe.skipIf(missing !== undefined)(
  `a PostgreSQL server that stops answering (SIGSTOP)${missing ? ` (skipped: ${missing})` : ''}`,
  () => {
    let postgres: PostgresServer;
    let server: ServerProcess;
    let store: Store;
    let seeded: SeededTenant;
    let scim: ScimClient;
    let refreshToken: string;
    let userId: string;
    let inProgress: { browser: Browser; page: Response };
    let from: number;
    const refusedDuringOutage: number[] = [];

    beforeAll(async () => {
      postgres = await startPostgresServer();
      // Sessions and tokens live in PostgreSQL too (no REDIS_URL): every request needs it.
      server = await startServerProcess({
        DATABASE_URL: postgres.url,
        DATABASE_STATEMENT_TIMEOUT_MS: '400',
        DATABASE_CONNECT_TIMEOUT_MS: '400',
      });
      store = await openStore({ dataDir: '', databaseUrl: postgres.url }, { migrate: false });
      seeded = await seedTenant(store);
      const tokens = await authorizeSeeded(server, seeded);
      refreshToken = tokens.refresh_token;
      scim = new ScimClient(server, tokens.access_token);
      const user = await scim.post('/Users', entraUser('before.the.freeze@example.com'));
      expect(user.status, user.text).toBe(201);
      userId = user.body.id;
      const started = await startAuthorize(server, { clientId: seeded.client.clientId });
      inProgress = { browser: started.browser, page: started.page };
      from = server.logs.length;
      postgres.freeze();
    }, 120_000);

    afterAll(async () => {
      postgres?.thaw();
      await store?.close();
      await server?.stop();
      await postgres?.stop();
    });

    it('SCIM answers 503 as a SCIM error with Retry-After, never 401, reads and writes alike', async () => {
      const read = await scim.get(`/Users/${userId}`);
      expectScimUnavailable(read);
      const write = await scim.post('/Users', entraUser('during.the.freeze@example.com'));
      expectScimUnavailable(write);
      refusedDuringOutage.push(read.status, write.status);
    });

    it('the token endpoint answers 503 temporarily_unavailable with Retry-After', async () => {
      const token = await refresh(server, { ...seeded.client, refreshToken });
      expect(token.status, JSON.stringify(token.body)).toBe(503);
      expect(token.body.error).toBe('temporarily_unavailable');
      expect(token.headers.get('retry-after')).toMatch(/^[1-9]\d*$/);
      refusedDuringOutage.push(token.status);
    });

    it('a sign-in page answers a 503 page with Retry-After', async () => {
      const page = await goToDomain(inProgress.browser, inProgress.page, seeded.domain);
      expect(page.status, excerpt(page.text)).toBe(503);
      expect(page.headers.get('retry-after')).toMatch(/^[1-9]\d*$/);
      expect(page.headers.get('content-type')).toMatch(/^text\/html/);
      expect(excerpt(page.text)).toMatch(/temporarily unavailable/i);
      refusedDuringOutage.push(page.status);
    });

    it('more requests than the pool has connections are all answered, and /healthz answers while they wait', async () => {
      const many = Array.from({ length: 15 }, (_, i) => tracked(scim.get(`/Users?filter=userName eq "nobody.${i}@example.com"`)));
      expect(await healthz(server)).toBe(200);
      const answers = await Promise.all(many.map((request) => request.promise));
      for (const answer of answers) expectScimUnavailable(answer);
      refusedDuringOutage.push(...answers.map((answer) => answer.status));
    }, 120_000);

    it('when it answers again, so does everything, on fresh connections, and the outage was logged once when it began and once when it ended', async () => {
      postgres.thaw();
      await eventually('SCIM to answer again', async () => (await scim.get(`/Users/${userId}`)).status === 200);
      const refreshed = await refresh(server, { ...seeded.client, refreshToken });
      expect(refreshed.status, JSON.stringify(refreshed.body)).toBe(200);
      const created = await scim.post('/Users', entraUser('after.the.freeze@example.com'));
      expect(created.status, created.text).toBe(201);

      const lines = outageLines(server, from);
      expect(lines.began.map((line) => line.store)).toEqual(['directory']);
      expect(lines.loud, 'nothing else at warn or above').toEqual(lines.began);
      expect(lines.ended).toHaveLength(1);
      expect(lines.ended[0].store).toBe('directory');
      expect(lines.ended[0].refused).toBeGreaterThanOrEqual(refusedDuringOutage.length);
      expect(server.alive(), server.stderr()).toBe(true);
    }, 120_000);
  },
);

// Outages of the engines under a running server: a Redis and a PostgreSQL
// server of this test's own, on spare ports, stopped and started again under
// the real server process. While an engine is away the token endpoint, SCIM
// and the sign-in pages answer 503 with Retry-After (never 401: Entra
// quarantines a provisioning job that gets 401s), /readyz says which store is
// missing, the process stays up, and when the engine returns everything works
// again by itself, with every acknowledged write still there.
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENTRA_REDIRECT_URI } from '../server/directory/index.ts';
import { isStoreUnavailable, openStore, type Store } from '../server/store/index.ts';
import {
  authorizeSeeded,
  type Browser,
  decide,
  excerpt,
  exchangeCode,
  formIn,
  goToDomain,
  type Response,
  refresh,
  type SeededTenant,
  seedTenant,
  send,
  signIn,
  startAuthorize,
} from './support/authorize.ts';
import { eventually, sleep } from './support/eventually.ts';
import { type PostgresServer, postgresServerMissing, startPostgresServer } from './support/postgres-server.ts';
import { redisServerMissing, startRedisServer } from './support/redis-cluster.ts';
import { entraUser, ScimClient } from './support/scim.ts';
import { type ServerProcess, startServerProcess } from './support/server-process.ts';

const ERROR_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:Error';
const missing = redisServerMissing ?? postgresServerMissing;
async function readiness(server: ServerProcess): Promise<{ status: number; retryAfter: string | null; body: any }> {
  const response = await fetch(`${server.url}/readyz`);
  return { status: response.status, retryAfter: response.headers.get('retry-after'), body: await response.json() };
}

/** An outage is answered at once, not after the client's own timeout: Entra gives up on slow requests. */
async function quickly<T>(request: () => Promise<T>): Promise<T> {
  const began = Date.now();
  const answer = await request();
  expect(Date.now() - began, 'answered within 3 s').toBeLessThan(3_000);
  return answer;
}

/** GET /oauth/authorize as Entra sends the admin's browser there. */
function newAuthorize(server: ServerProcess, seeded: SeededTenant) {
  const query = new URLSearchParams({
    client_id: seeded.client.clientId,
    redirect_uri: ENTRA_REDIRECT_URI,
    response_type: 'code',
    state: 'outage',
  });
  return send(`${server.url}/oauth/authorize?${query}`, { headers: { accept: 'text/html' } });
}

function expectRetryAfter(value: string | null): void {
  expect(value, 'Retry-After').toMatch(/^[1-9]\d*$/);
}

/** A SCIM 503: RFC 7644 error body in application/scim+json, Retry-After, and no Bearer challenge. */
function expectScimUnavailable(answer: { status: number; headers: Headers; body: any; text: string }): void {
  expect(answer.status, answer.text).toBe(503);
  expect(answer.headers.get('content-type')).toMatch(/^application\/scim\+json/);
  expect(answer.body).toMatchObject({ schemas: [ERROR_SCHEMA], status: '503' });
  expect(answer.body.detail).toMatch(/temporarily unavailable/i);
  expect(answer.headers.get('www-authenticate')).toBeNull();
  expectRetryAfter(answer.headers.get('retry-after'));
}

/** A 503 from the token endpoint: the OAuth error temporarily_unavailable, with Retry-After. */
function expectTokenUnavailable(answer: { status: number; headers: Headers; body: Record<string, unknown> }): void {
  expect(answer.status, JSON.stringify(answer.body)).toBe(503);
  expect(answer.body.error).toBe('temporarily_unavailable');
  expectRetryAfter(answer.headers.get('retry-after'));
}

/** The sign-in page's answer while a store is away: a page that says so, 503, Retry-After. */
function expectPageUnavailable(page: Response): void {
  expect(page.status, excerpt(page.text)).toBe(503);
  expectRetryAfter(page.headers.get('retry-after'));
  expect(page.headers.get('content-type')).toMatch(/^text\/html/);
  expect(excerpt(page.text)).toMatch(/temporarily unavailable/i);
}

describe.skipIf(missing !== undefined)(`a server whose engines go away and come back${missing ? ` (skipped: ${missing})` : ''}`, () => {
  let redis: Awaited<ReturnType<typeof startRedisServer>>;
  let postgres: PostgresServer;
  let server: ServerProcess;
  let store: Store;
  let seeded: SeededTenant;
  let scim: ScimClient;
  let refreshToken: string;
  const acknowledged: string[] = [];

  beforeAll(async () => {
    [redis, postgres] = await Promise.all([startRedisServer({ durable: true }), startPostgresServer()]);
    server = await startServerProcess({ DATABASE_URL: postgres.url, REDIS_URL: redis.url });
    store = await openStore({ dataDir: '', databaseUrl: postgres.url }, { migrate: false });
    seeded = await seedTenant(store);
    const tokens = await authorizeSeeded(server, seeded);
    refreshToken = tokens.refresh_token;
    scim = new ScimClient(server, tokens.access_token);
  }, 120_000);

  afterAll(async () => {
    await store?.close();
    await server?.stop();
    await Promise.all([redis?.stop(), postgres?.stop()]);
  });

  const client = () => ({ clientId: seeded.client.clientId, clientSecret: seeded.client.clientSecret });

  it('acknowledges SCIM writes while both engines run', async () => {
    const user = await scim.post('/Users', entraUser('before.outage@example.com'));
    expect(user.status, user.text).toBe(201);
    acknowledged.push(user.body.id);
    const group = await scim.post('/Groups', {
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'],
      displayName: 'Outage crew',
      members: [{ value: user.body.id }],
    });
    expect(group.status, group.text).toBe(201);
    expect((await readiness(server)).status).toBe(200);
  });

  describe('Redis stops', () => {
    let inProgress: { browser: Browser; page: Response };

    beforeAll(async () => {
      // An admin is on the Go to domain page when Redis goes away.
      const started = await startAuthorize(server, { clientId: seeded.client.clientId });
      inProgress = { browser: started.browser, page: started.page };
      await redis.pause();
    });

    it('the token endpoint answers 503 temporarily_unavailable with Retry-After, quickly', async () => {
      expectTokenUnavailable(await quickly(() => refresh(server, { ...client(), refreshToken })));
    });

    it('SCIM answers 503 as a SCIM error with Retry-After, not 401, since the token cannot be checked', async () => {
      expectScimUnavailable(await quickly(() => scim.get('/Users?filter=userName eq "nobody@example.com"')));
      expectScimUnavailable(await quickly(() => scim.post('/Users', entraUser('during.redis.outage@example.com'))));
    });

    it('a sign-in page answers 503 saying the service is temporarily unavailable', async () => {
      expectPageUnavailable(await quickly(() => goToDomain(inProgress.browser, inProgress.page, seeded.domain)));
    });

    it('a new Authorize goes back to Entra with temporarily_unavailable, as RFC 6749 says', async () => {
      const answer = await quickly(() => newAuthorize(server, seeded));
      expect(answer.status).toBe(303);
      const back = new URL(answer.headers.get('location')!);
      expect(`${back.origin}${back.pathname}`).toBe(ENTRA_REDIRECT_URI);
      expect(back.searchParams.get('error')).toBe('temporarily_unavailable');
      expect(back.searchParams.get('state')).toBe('outage');
    });

    it('/readyz answers 503 naming the sessions store, /healthz stays 200, and the process is still up', async () => {
      const ready = await readiness(server);
      expect(ready.status).toBe(503);
      expectRetryAfter(ready.retryAfter);
      expect(ready.body.checks).toEqual({ directory: 'ok', sessions: 'unavailable' });
      expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
      expect(server.alive(), server.stderr()).toBe(true);
    });

    it('when Redis is back, everything works again without a restart: tokens, SCIM, the sign-in in progress', async () => {
      const pid = server.child.pid;
      await redis.resume();
      await eventually('/readyz 200', async () => (await readiness(server)).status === 200);

      const user = await scim.get(`/Users/${acknowledged[0]}`);
      expect(user.status, user.text).toBe(200);
      const refreshed = await refresh(server, { ...client(), refreshToken });
      expect(refreshed.status, JSON.stringify(refreshed.body)).toBe(200);
      refreshToken = refreshed.body.refresh_token as string;
      scim.token = refreshed.body.access_token as string;
      expect((await scim.get('/Users?count=1')).status).toBe(200);

      // The interaction survived in Redis: the admin's same page goes on to sign in and allow.
      const login = await goToDomain(inProgress.browser, inProgress.page, seeded.domain);
      expect(login.status, excerpt(login.text)).toBe(200);
      const consent = await signIn(inProgress.browser, login, seeded.manager.username, seeded.manager.password);
      expect(consent.status, excerpt(consent.text)).toBe(200);
      const redirect = await decide(inProgress.browser, consent, 'allow');
      const exchanged = await exchangeCode(server, { ...client(), code: redirect.searchParams.get('code')! });
      expect(exchanged.status, JSON.stringify(exchanged.body)).toBe(200);

      expect(server.child.pid).toBe(pid);
      expect(server.alive()).toBe(true);
      const began = server.logs.filter((line) => line.msg.startsWith('store outage began') && line.store === 'sessions');
      expect(began.length, 'one log line per outage, not one per reconnect attempt or failed request').toBe(1);
      const ended = server.logs.filter((line) => line.msg.startsWith('store outage ended') && line.store === 'sessions');
      expect(ended).toHaveLength(1);
      // The token endpoint, two SCIM requests, a sign-in page: each answered 503 and counted.
      expect(ended[0].refused).toBeGreaterThanOrEqual(4);
    }, 120_000);
  });

  describe('PostgreSQL stops', () => {
    let inProgress: { browser: Browser; page: Response };
    const racing: Promise<{ userName: string; status: number; id?: string }>[] = [];

    beforeAll(async () => {
      const started = await startAuthorize(server, { clientId: seeded.client.clientId });
      inProgress = { browser: started.browser, page: started.page };
      const user = await scim.post('/Users', entraUser('just.before.crash@example.com'));
      expect(user.status, user.text).toBe(201);
      acknowledged.push(user.body.id);
      // Writes in flight while the database crashes: each must end in 201 (and then be kept) or 503, never a 500.
      for (let i = 0; i < 6; i++) {
        const userName = `in.flight.${i}@example.com`;
        racing.push(scim.post('/Users', entraUser(userName)).then((answer) => ({ userName, status: answer.status, id: answer.body?.id })));
      }
      await postgres.pause();
    });

    it('writes in flight when it crashed answered 201 or 503, never 500', async () => {
      const outcomes = await Promise.all(racing);
      for (const outcome of outcomes) expect([201, 503], JSON.stringify(outcome)).toContain(outcome.status);
      for (const outcome of outcomes) if (outcome.status === 201) acknowledged.push(outcome.id!);
    });

    it('the token endpoint answers 503 temporarily_unavailable with Retry-After, quickly', async () => {
      expectTokenUnavailable(await quickly(() => refresh(server, { ...client(), refreshToken })));
    });

    it('SCIM answers 503 as a SCIM error with Retry-After, reads and writes alike', async () => {
      expectScimUnavailable(await quickly(() => scim.get(`/Users/${acknowledged[0]}`)));
      expectScimUnavailable(await quickly(() => scim.post('/Users', entraUser('during.postgres.outage@example.com'))));
      expectScimUnavailable(
        await scim.patch(`/Users/${acknowledged[0]}`, {
          schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
          Operations: [{ op: 'Replace', path: 'active', value: 'False' }],
        }),
      );
    });

    it('a sign-in page answers 503 saying the service is temporarily unavailable', async () => {
      expectPageUnavailable(await quickly(() => goToDomain(inProgress.browser, inProgress.page, seeded.domain)));
    });

    it('a new Authorize shows a page saying sign-in is temporarily unavailable (the client cannot be checked to go back to it)', async () => {
      const answer = await quickly(() => newAuthorize(server, seeded));
      expect(answer.status).toBe(503);
      expectRetryAfter(answer.headers.get('retry-after'));
      expect(excerpt(answer.text)).toMatch(/temporarily unavailable/i);
      expect(answer.headers.get('location')).toBeNull();
    });

    it('/readyz answers 503 naming the directory, and the process is still up', async () => {
      const ready = await readiness(server);
      expect(ready.status).toBe(503);
      expect(ready.body.checks).toEqual({ directory: 'unavailable', sessions: 'ok' });
      expect(server.alive(), server.stderr()).toBe(true);
    });

    it('when PostgreSQL is back, everything works again without a restart, and no acknowledged write is lost', async () => {
      const pid = server.child.pid;
      await postgres.resume();
      await eventually('/readyz 200', async () => (await readiness(server)).status === 200);

      for (const id of acknowledged) {
        const user = await scim.get(`/Users/${id}`);
        expect(user.status, `${id}: ${user.text}`).toBe(200);
      }
      const group = await scim.get('/Groups?filter=displayName eq "Outage crew"');
      expect(group.body.Resources[0].members.map((m: { value: string }) => m.value)).toEqual([acknowledged[0]]);
      const created = await scim.post('/Users', entraUser('after.outage@example.com'));
      expect(created.status, created.text).toBe(201);

      const refreshed = await refresh(server, { ...client(), refreshToken });
      expect(refreshed.status, JSON.stringify(refreshed.body)).toBe(200);
      const login = await goToDomain(inProgress.browser, inProgress.page, seeded.domain);
      expect(login.status, excerpt(login.text)).toBe(200);
      expect(formIn(login.text, 'login-form').action).toContain('/login/');

      expect(server.child.pid).toBe(pid);
      expect(server.alive()).toBe(true);
      expect(server.logs.filter((line) => line.level === 'fatal')).toEqual([]);
    }, 120_000);
  });

  describe('the directory store itself', () => {
    it('a query in flight when PostgreSQL stops fails as "unavailable" and takes no process down', async () => {
      const own = await openStore({ dataDir: '', databaseUrl: postgres.url }, { migrate: false });
      try {
        const slow = sql`select pg_sleep(20)`.execute(own.db).then(
          () => undefined,
          (error: unknown) => error,
        );
        await sleep(300);
        await postgres.pause();
        const failure = await slow;
        expect(failure).toBeInstanceOf(Error);
        expect(isStoreUnavailable(failure), String(failure)).toBe(true);
        const refused = await sql`select 1`.execute(own.db).catch((error: unknown) => error);
        expect(isStoreUnavailable(refused), String(refused)).toBe(true);
        await postgres.resume();
        await eventually('the pool to connect again', async () => {
          await sql`select 1`.execute(own.db);
          return true;
        });
      } finally {
        await own.close();
      }
    }, 120_000);
  });
});

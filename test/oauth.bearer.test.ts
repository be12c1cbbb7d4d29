import { setTimeout as sleep } from 'node:timers/promises';
import Router from '@koa/router';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, listen, type RunningServer } from '../server/app.ts';
import { type Config, loadConfig } from '../server/config.ts';
import { disableAccount, removeClient, setTenantDisabled } from '../server/directory/index.ts';
import { createLogger } from '../server/log.ts';
import { openStore, type Store } from '../server/store/index.ts';
import { authorizeSeeded, revoke, type SeededTenant, seedTenant, send } from './support/authorize.ts';
import { postgresUrl, redisUrl } from './support/backends.ts';
import { freshPostgresUrl } from './support/postgres.ts';
import { tempDataDir } from './support/service.ts';

/**
 * The real app, as createApp composes it, plus one route guarded by
 * `oauth.bearer()` that echoes what the guard put on ctx.state: the same
 * provider, stores and directory the SCIM API runs against.
 */
async function startWithProbe(env: Record<string, string> = {}): Promise<RunningServer & { config: Config; store: Store }> {
  const config = loadConfig({ LOG_LEVEL: 'silent', DATA_DIR: tempDataDir(), PORT: '0', ...env });
  const store = await openStore(config);
  const app = await createApp({ config, log: createLogger(config.logLevel), store });
  const probe = new Router();
  probe.get('/bearer-probe', app.oauth.bearer(), (ctx) => {
    const { tenant, scopes, credential } = ctx.state.auth;
    ctx.body = { tenant, scopes, ...credential };
  });
  app.koa.use(probe.routes());
  const running = await listen(app, store, 0, '127.0.0.1');
  config.publicUrl = new URL(running.url);
  return { ...running, config, store };
}

function guard(backend: () => Record<string, string>) {
  let service: Awaited<ReturnType<typeof startWithProbe>>;
  beforeAll(async () => {
    service = await startWithProbe(backend());
  });
  afterAll(async () => {
    await service?.stop();
  });

  const call = (authorization?: string) =>
    send(`${service.url}/bearer-probe`, { headers: authorization === undefined ? {} : { authorization } });

  async function tokensFor(seeded?: SeededTenant) {
    const tenant = seeded ?? (await seedTenant(service.store));
    return { seeded: tenant, tokens: await authorizeSeeded(service, tenant) };
  }

  it('a valid token carries its tenant, client, manager and scopes', async () => {
    const { seeded, tokens } = await tokensFor();
    const answer = await call(`Bearer ${tokens.access_token}`);
    expect(answer.status, answer.text).toBe(200);
    const auth = JSON.parse(answer.text);
    expect(auth).toMatchObject({
      tenant: { id: seeded.tenantId, name: seeded.name, domains: [seeded.domain], disabled: false },
      client: { id: seeded.client.clientId, name: 'Microsoft Entra ID' },
      manager: { userName: seeded.manager.username, role: 'manager', active: true, tenantId: seeded.tenantId },
      scopes: ['scim'],
    });
    expect(typeof auth.grantId).toBe('string');
  });

  it('no token: 401 with a Bearer challenge naming no error; another scheme is the same', async () => {
    for (const header of [undefined, 'Basic dXNlcjpwYXNz']) {
      const answer = await call(header);
      expect(answer.status).toBe(401);
      expect(answer.headers.get('www-authenticate')).toBe('Bearer realm="SecureLogin SCIM"');
      expect(answer.headers.get('content-type')).toMatch(/^application\/scim\+json/);
      expect(JSON.parse(answer.text)).toMatchObject({ schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: '401' });
    }
  });

  it('an unknown or malformed token: 401 invalid_token', async () => {
    for (const header of ['Bearer not-a-token-we-issued', 'Bearer a b c', 'Bearer ']) {
      const answer = await call(header);
      expect(answer.status).toBe(401);
      expect(answer.headers.get('www-authenticate')).toMatch(/^Bearer realm="SecureLogin SCIM", error="invalid_token"/);
    }
  });

  it('an expired token: 401 invalid_token', async () => {
    // An instance of its own issues one-second tokens: the rest of the suite's
    // tokens live an hour, so a slow machine never sees them expire midway.
    const short = await startWithProbe({ ...backend(), ACCESS_TOKEN_TTL_SECONDS: '1' });
    try {
      const tokens = await authorizeSeeded(short, await seedTenant(short.store));
      await sleep(1_200);
      const answer = await send(`${short.url}/bearer-probe`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
      expect(answer.status).toBe(401);
      expect(answer.headers.get('www-authenticate')).toContain('error="invalid_token"');
    } finally {
      await short.stop();
    }
  });

  it('a token of a revoked grant: 401', async () => {
    const { seeded, tokens } = await tokensFor();
    expect((await revoke(service, { ...seeded.client, token: tokens.refresh_token })).status).toBe(200);
    expect((await call(`Bearer ${tokens.access_token}`)).status).toBe(401);
  });

  it('stops at once when the tenant is disabled, and works again when it is enabled', async () => {
    const { seeded, tokens } = await tokensFor();
    await setTenantDisabled(service.store.db, seeded.domain, true);
    expect((await call(`Bearer ${tokens.access_token}`)).status).toBe(401);
    await setTenantDisabled(service.store.db, seeded.domain, false);
    expect((await call(`Bearer ${tokens.access_token}`)).status).toBe(200);
  });

  it('stops when the client is removed', async () => {
    const { seeded, tokens } = await tokensFor();
    await removeClient(service.store.db, seeded.client.clientId);
    expect((await call(`Bearer ${tokens.access_token}`)).status).toBe(401);
  });

  it('stops when the manager is disabled or no longer a manager', async () => {
    const disabled = await tokensFor();
    await disableAccount(service.store.db, disabled.seeded.domain, disabled.seeded.manager.username);
    expect((await call(`Bearer ${disabled.tokens.access_token}`)).status).toBe(401);

    const demoted = await tokensFor();
    await service.store.db.updateTable('users').set({ role: 'member' }).where('tenant_id', '=', demoted.seeded.tenantId).execute();
    expect((await call(`Bearer ${demoted.tokens.access_token}`)).status).toBe(401);
  });

  it('a token without the scim scope: 403 insufficient_scope', async () => {
    const seeded = await seedTenant(service.store);
    const tokens = await authorizeSeeded(service, seeded, { scope: 'openid' });
    const answer = await call(`Bearer ${tokens.access_token}`);
    expect(answer.status, answer.text).toBe(403);
    expect(answer.headers.get('www-authenticate')).toBe(
      'Bearer realm="SecureLogin SCIM", error="insufficient_scope", error_description="the access token lacks the scope scim", scope="scim"',
    );
  });

  it("a token of one tenant names that tenant only; another tenant's token names its own", async () => {
    const a = await tokensFor();
    const b = await tokensFor();
    const authA = JSON.parse((await call(`Bearer ${a.tokens.access_token}`)).text);
    const authB = JSON.parse((await call(`Bearer ${b.tokens.access_token}`)).text);
    expect(authA.tenant.id).toBe(a.seeded.tenantId);
    expect(authB.tenant.id).toBe(b.seeded.tenantId);
    expect(authA.tenant.id).not.toBe(authB.tenant.id);
  });
}

describe('the bearer guard for the SCIM API', () => {
  guard(() => ({}));
});

describe.skipIf(!postgresUrl || !redisUrl)('the bearer guard with the directory in PostgreSQL and tokens in Redis', () => {
  // A database of its own: suites running side by side never share the test database.
  let database: Awaited<ReturnType<typeof freshPostgresUrl>> | undefined;
  beforeAll(async () => {
    database = await freshPostgresUrl();
  });
  afterAll(async () => {
    await database?.drop();
  });
  guard(() => ({ DATABASE_URL: database!.url, REDIS_URL: redisUrl! }));
});

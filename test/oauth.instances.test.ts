import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../server/config.ts';
import { removeClient } from '../server/directory/index.ts';
import { openStore } from '../server/store/index.ts';
import {
  Browser,
  excerpt,
  exchangeCode,
  formIn,
  introspect,
  type Response,
  refresh,
  seedTenant,
  send,
  startAuthorize,
} from './support/authorize.ts';
import { postgresUrl, redisUrl } from './support/backends.ts';
import { freshPostgresUrl } from './support/postgres.ts';
import { startService, type TestService, tempDataDir } from './support/service.ts';

/** The same browser talking to whichever instance the load balancer picks. */
function hop(from: Browser, to: Browser): Browser {
  to.cookies = [...from.cookies];
  return to;
}

function pathOf(location: string): string {
  const url = new URL(location, 'http://placeholder');
  return `${url.pathname}${url.search}`;
}

function twoInstances(backend: () => Promise<Record<string, string>>, cleanUp: () => Promise<void> = async () => {}) {
  let a: TestService;
  let b: TestService;
  beforeAll(async () => {
    const env: Record<string, string> = { PUBLIC_URL: 'https://connect.example.test', TRUST_PROXY: 'false', ...(await backend()) };
    // The schema first (as `securelogin migrate` does), then both instances together on a store without keys:
    // both generate, one insert wins, and both must use the winner.
    const config = loadConfig({ ...env, DATA_DIR: env.DATA_DIR ?? tempDataDir() });
    const store = await openStore(config);
    await store.close();
    [a, b] = await Promise.all([startService(env), startService(env)]);
  });
  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await cleanUp();
  });

  it('agree on the signing keys', async () => {
    const [jwksA, jwksB] = await Promise.all([send(`${a.url}/oauth/jwks`), send(`${b.url}/oauth/jwks`)]);
    expect(JSON.parse(jwksA.text)).toEqual(JSON.parse(jwksB.text));
  });

  it('carry one Authorize and one token chain between them, request by request', async () => {
    const seeded = await seedTenant(a.store);
    const onA = new Browser(a.url);
    const onB = new Browser(b.url);

    const started = await startAuthorize(a, { clientId: seeded.client.clientId, browser: onA });
    const domainForm = formIn(started.page.text, 'domain-form');
    const toLogin = await hop(onA, onB).post(domainForm.action, { ...domainForm.fields, domain: seeded.domain });
    expect(toLogin.status, excerpt(toLogin.text)).toBe(303);
    const login = await hop(onB, onA).get(toLogin.location!);
    expect(login.status).toBe(200);
    const loginForm = formIn(login.text, 'login-form');
    const signedIn = await hop(onA, onB).post(loginForm.action, { ...loginForm.fields, ...seeded.manager });
    expect(signedIn.status, excerpt(signedIn.text)).toBe(303);
    let page: Response = await hop(onB, onA).get(pathOf(signedIn.location!));
    page = await hop(onA, onB).get(pathOf(page.location!));
    page = await hop(onB, onA).get(pathOf(page.location!));
    expect(page.status, excerpt(page.text)).toBe(200);
    const consentForm = formIn(page.text, 'consent-form');
    const allowed = await hop(onA, onB).post(consentForm.action, { ...consentForm.fields, decision: 'allow' });
    const done = await hop(onB, onA).get(pathOf(allowed.location!));
    const code = new URL(done.location!).searchParams.get('code')!;
    expect(code).toBeTruthy();

    const tokens = await exchangeCode(b, { ...seeded.client, code });
    expect(tokens.status, JSON.stringify(tokens.body)).toBe(200);
    const refreshed = await refresh(a, { ...seeded.client, refreshToken: tokens.body.refresh_token as string });
    expect(refreshed.status, JSON.stringify(refreshed.body)).toBe(200);
    expect((await introspect(b, { ...seeded.client, token: refreshed.body.access_token as string })).body.active).toBe(true);

    // A client removed through one instance's store is gone for both at once.
    await removeClient(b.store.db, seeded.client.clientId);
    for (const instance of [a, b]) {
      const refused = await refresh(instance, { ...seeded.client, refreshToken: refreshed.body.refresh_token as string });
      expect(refused.status).toBe(401);
    }
  });
}

describe('two instances on one embedded data folder', () => {
  const dataDir = tempDataDir();
  twoInstances(async () => ({ DATA_DIR: dataDir }));
});

describe.skipIf(!postgresUrl || !redisUrl)('two instances on PostgreSQL and Redis', () => {
  let database: Awaited<ReturnType<typeof freshPostgresUrl>> | undefined;
  twoInstances(
    async () => {
      database = await freshPostgresUrl();
      return { DATABASE_URL: database.url, REDIS_URL: redisUrl! };
    },
    async () => database?.drop(),
  );
});

describe('key material given by the operator', () => {
  let service: TestService;
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk: Record<string, string> = {
    ...(privateKey.export({ format: 'jwk' }) as Record<string, string>),
    kid: 'operator-key-1',
    use: 'sig',
    alg: 'RS256',
  };
  beforeAll(async () => {
    service = await startService({ JWKS: JSON.stringify({ keys: [jwk] }), COOKIE_KEYS: JSON.stringify([randomBytes(32).toString('hex')]) });
  });
  afterAll(async () => {
    await service?.stop();
  });

  it('signs with the configured key and stores none of its own', async () => {
    const jwks = JSON.parse((await send(`${service.url}/oauth/jwks`)).text);
    expect(jwks.keys.map((k: { kid: string }) => k.kid)).toEqual(['operator-key-1']);
    expect(jwks.keys[0].n).toBe(jwk.n);
    const settings = await service.store.db.selectFrom('settings').select('key').execute();
    expect(settings.map((s) => s.key)).not.toContain('oauth.jwks');
    expect(settings.map((s) => s.key)).not.toContain('oauth.cookie_keys');
  });
});

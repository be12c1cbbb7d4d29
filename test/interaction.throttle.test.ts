import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACCOUNT_THROTTLE, ADDRESS_THROTTLE } from '../server/interaction/index.ts';
import { createLogger } from '../server/log.ts';
import { addressThrottleKey, openSessions } from '../server/sessions/index.ts';
import { excerpt, goToDomain, type SeededTenant, seedTenant, signIn, startAuthorize, textOf } from './support/authorize.ts';
import { redisUrl } from './support/backends.ts';
import { securelogin } from './support/cli.ts';
import { startService, type TestService } from './support/service.ts';

/** `securelogin manager unlock`, the real command on the service's data folder and backends. */
function unlock(service: TestService, env: Record<string, string>, domain: string, username: string) {
  return securelogin(service.dataDir, ['manager', 'unlock', domain, username], { env });
}

function throttling(backend: () => Record<string, string>) {
  let service: TestService;
  let env: Record<string, string>;
  let nextAddress = 1;
  beforeAll(async () => {
    // Behind a proxy (the test, on loopback), so each test is its own client address (X-Forwarded-For) and one
    // test's failures do not count for another. Only loopback is trusted: the 10.x addresses are clients.
    env = { ...backend(), TRUST_PROXY: 'true', TRUSTED_PROXIES: '127.0.0.1,::1' };
    service = await startService(env);
  });
  afterAll(async () => {
    await service?.stop();
  });

  async function loginPage(seeded: SeededTenant, address: string) {
    const started = await startAuthorize(service, { clientId: seeded.client.clientId, headers: { 'x-forwarded-for': address } });
    const login = await goToDomain(started.browser, started.page, seeded.domain);
    expect(login.status, excerpt(login.text)).toBe(200);
    return { browser: started.browser, login };
  }

  // Random per run: Redis keeps counters for their window, across test runs.
  const run = `${1 + Math.floor(Math.random() * 250)}.${1 + Math.floor(Math.random() * 250)}`;
  const freshAddress = () => `10.${run}.${nextAddress++}`;

  it(`an account is paused after ${ACCOUNT_THROTTLE.limit} wrong passwords, says so even for the right one, and \`securelogin manager unlock\` ends it`, async () => {
    const seeded = await seedTenant(service.store);
    const { browser, login } = await loginPage(seeded, freshAddress());
    for (let attempt = 1; attempt < ACCOUNT_THROTTLE.limit; attempt++) {
      const wrong = await signIn(browser, login, seeded.manager.username, `wrong password ${attempt}`);
      expect(textOf(wrong.text, 'login-error')).toBe('The username or password is incorrect.');
    }
    const last = await signIn(browser, login, seeded.manager.username, 'wrong password again');
    expect(last.status).toBe(429);
    expect(Number(last.headers.get('retry-after'))).toBeGreaterThan(ACCOUNT_THROTTLE.lockSeconds - 60);
    const message = textOf(last.text, 'login-error');
    expect(message).toContain('Sign-in for this account is paused after too many failed attempts. Try again in 15 minutes');

    // The right password now gets the same answer: the lock does not reveal it was right.
    const right = await signIn(browser, login, seeded.manager.username.toUpperCase(), seeded.manager.password);
    expect(right.status).toBe(429);
    expect(textOf(right.text, 'login-error')).toBe(message);

    const unlocked = await unlock(service, env, seeded.domain, seeded.manager.username);
    expect(unlocked.code, unlocked.stderr).toBe(0);
    expect(unlocked.stdout).toContain('Unlocked');
    const after = await signIn(browser, login, seeded.manager.username, seeded.manager.password);
    expect(after.status, excerpt(after.text)).toBe(200);
    expect(textOf(after.text, 'consent-allow')).toBe('Allow');
  });

  it('an unknown username is paused the same way, so the lock does not tell which names exist', async () => {
    const seeded = await seedTenant(service.store);
    const { browser, login } = await loginPage(seeded, freshAddress());
    let answer = login;
    for (let attempt = 1; attempt <= ACCOUNT_THROTTLE.limit; attempt++) {
      answer = await signIn(browser, login, 'nobody@example.com', `wrong password ${attempt}`);
    }
    expect(answer.status).toBe(429);
    expect(textOf(answer.text, 'login-error')).toContain('Sign-in for this account is paused');
    // Other accounts of the tenant are not affected.
    const other = await signIn(browser, login, seeded.manager.username, seeded.manager.password);
    expect(other.status).toBe(200);
  });

  it(`one client address is paused after ${ADDRESS_THROTTLE.limit} failures, whatever accounts it tries`, async () => {
    const seeded = await seedTenant(service.store);
    const address = freshAddress();
    const { browser, login } = await loginPage(seeded, address);
    for (let attempt = 1; attempt < ADDRESS_THROTTLE.limit; attempt++) {
      const wrong = await signIn(browser, login, `guess${attempt}@example.com`, 'wrong password');
      expect(wrong.status).toBe(400);
    }
    const last = await signIn(browser, login, 'one-more@example.com', 'wrong password');
    expect(last.status).toBe(429);
    expect(textOf(last.text, 'login-error')).toContain('Too many failed sign-in attempts came from your network');
    const right = await signIn(browser, login, seeded.manager.username, seeded.manager.password);
    expect(right.status).toBe(429);

    // The manager, from another address, is not locked out.
    const elsewhere = await loginPage(seeded, freshAddress());
    const fine = await signIn(elsewhere.browser, elsewhere.login, seeded.manager.username, seeded.manager.password);
    expect(fine.status).toBe(200);
  });
  it('counts a failure against the address our proxy saw, not one the client wrote into X-Forwarded-For', async () => {
    const seeded = await seedTenant(service.store);
    const forged = freshAddress();
    const seen = freshAddress();
    const { browser, login } = await loginPage(seeded, `${forged}, ${seen}`);
    expect((await signIn(browser, login, seeded.manager.username, 'wrong password')).status).toBe(400);
    const sessions = await openSessions({ config: service.config, store: service.store, log: createLogger('silent') });
    try {
      expect((await sessions.throttle.state(addressThrottleKey(seen))).failures).toBe(1);
      expect((await sessions.throttle.state(addressThrottleKey(forged))).failures).toBe(0);
    } finally {
      await sessions.close();
    }
  });
}

describe('sign-in throttling on the embedded store', () => {
  throttling(() => ({}));
});

describe.skipIf(!redisUrl)('sign-in throttling with counters in Redis', () => {
  throttling(() => ({ REDIS_URL: redisUrl! }));
});

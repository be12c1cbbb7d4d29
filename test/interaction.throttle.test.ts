// Sign-in throttling as people meet it on the real sign-in page, over real
// HTTP, with the counters in the embedded store and in Redis: a stranger's
// guessing is bounded and slowed down, and never keeps out the manager's own
// browser; `securelogin manager unlock` clears it; a pause is logged once.
// The throttle's clock is the test's own, moved on instead of waited for.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADDRESS_THROTTLE, DEVICE_THROTTLE, STRANGER_THROTTLE } from '../server/interaction/index.ts';
import { createLogger } from '../server/log.ts';
import { addressCounter, openSessions } from '../server/sessions/index.ts';
import {
  Browser,
  excerpt,
  goToDomain,
  type Response,
  type SeededTenant,
  seedTenant,
  signIn,
  startAuthorize,
  textOf,
} from './support/authorize.ts';
import { redisUrl } from './support/backends.ts';
import { securelogin } from './support/cli.ts';
import { startService, type TestService } from './support/service.ts';

const INCORRECT = 'The username or password is incorrect.';
const PAUSED = 'Sign-in for this account is paused after too many failed attempts.';
// Each test signs in dozens of times, every check an Argon2id hash: generous for a busy machine.
const LIMIT_MS = 180_000;

/** `securelogin manager unlock`, the real command on the service's data folder and backends. */
function unlock(service: TestService, env: Record<string, string>, domain: string, username: string, ...more: string[]) {
  return securelogin(service.dataDir, ['manager', 'unlock', domain, username, ...more], { env });
}

function throttling(backend: () => Record<string, string>) {
  let service: TestService;
  let env: Record<string, string>;
  let nextAddress = 1;
  let now = Date.now();
  const pass = (seconds: number) => {
    now += seconds * 1000;
  };
  const logLines: string[] = [];
  const logged = (msg: string) => logLines.map((line) => JSON.parse(line) as Record<string, unknown>).filter((line) => line.msg === msg);

  beforeAll(async () => {
    // Behind a proxy (the test, on loopback), so each test (and each of a stranger's guesses) is its own client
    // address (X-Forwarded-For). Only loopback is trusted: the 10.x addresses are clients.
    env = { ...backend(), TRUST_PROXY: 'true', TRUSTED_PROXIES: '127.0.0.1,::1', LOG_LEVEL: 'info' };
    service = await startService(env, { throttleClock: () => now, logLines });
  });
  afterAll(async () => {
    await service?.stop();
  });

  // Random per run: Redis keeps counters for their window, across test runs.
  const run = `${1 + Math.floor(Math.random() * 250)}.${1 + Math.floor(Math.random() * 250)}`;
  const freshAddress = () => `10.${run}.${nextAddress++}`;

  /** A new Authorize up to the tenant's sign-in page, in `browser` (default: a new one) from `address`. */
  async function loginPage(seeded: SeededTenant, address: string, browser?: Browser) {
    const used = browser ?? new Browser(service.url);
    used.headers['x-forwarded-for'] = address;
    const started = await startAuthorize(service, { clientId: seeded.client.clientId, browser: used });
    const login = await goToDomain(started.browser, started.page, seeded.domain);
    expect(login.status, excerpt(login.text)).toBe(200);
    return { browser: used, login };
  }

  /** The manager signs in once from a browser of their own, which from then on holds the account's device cookie. */
  async function managersBrowser(seeded: SeededTenant) {
    const { browser, login } = await loginPage(seeded, freshAddress());
    const consent = await signIn(browser, login, seeded.manager.username, seeded.manager.password);
    expect(consent.status, excerpt(consent.text)).toBe(200);
    expect(browser.cookies.some((c) => c.name.startsWith('slc.device.'))).toBe(true);
    return browser;
  }

  /** One guess from a stranger, each from another address so that the address limit never plays a part. */
  async function guess(browser: Browser, login: Response, username: string, password: string) {
    browser.headers['x-forwarded-for'] = freshAddress();
    const answer = await signIn(browser, login, username, password);
    return { answer, message: textOf(answer.text, 'login-error') ?? '', retryAfter: Number(answer.headers.get('retry-after')) };
  }

  it(
    "a stranger's 50 wrong guesses do not keep out the manager's browser that signed in before, but do hold back new browsers",
    async () => {
      const seeded = await seedTenant(service.store);
      const own = await managersBrowser(seeded);

      const stranger = await loginPage(seeded, freshAddress());
      const answers = [];
      for (let attempt = 1; attempt <= 50; attempt++) {
        answers.push(await guess(stranger.browser, stranger.login, seeded.manager.username, `wrong password ${attempt}`));
      }
      expect(answers.slice(0, 3).map((a) => [a.answer.status, a.message])).toEqual(Array(3).fill([400, INCORRECT]));
      // The fourth wrong guess is checked and begins a 30 s pause; the 46 after it are refused unchecked.
      expect(answers[3].answer.status).toBe(429);
      expect(answers[3].message).toBe(
        `${INCORRECT} After too many failed attempts, sign-in for this account is paused: try again in 30 seconds.`,
      );
      expect(answers[3].retryAfter).toBe(30);
      for (const refused of answers.slice(4)) {
        expect(refused.answer.status).toBe(429);
        expect(refused.retryAfter).toBe(30);
        expect(refused.message).toBe(`${PAUSED} Try again in 30 seconds, or ask your SecureLogin administrator to unlock it.`);
      }

      // The manager's own browser: straight in, during the pause.
      const back = await loginPage(seeded, freshAddress(), own);
      const consent = await signIn(back.browser, back.login, seeded.manager.username, seeded.manager.password);
      expect(consent.status, excerpt(consent.text)).toBe(200);
      expect(textOf(consent.text, 'consent-allow')).toBe('Allow');

      // A browser the account never signed in from: the right password is refused too, with the same page as a wrong one.
      const fresh = await loginPage(seeded, freshAddress());
      const right = await guess(fresh.browser, fresh.login, seeded.manager.username, seeded.manager.password);
      expect(right.answer.status).toBe(429);
      expect(right.message).toBe(answers.at(-1)!.message);
      // Once the pause is over, the right password gets in from there as well.
      pass(30);
      const later = await guess(fresh.browser, fresh.login, seeded.manager.username, seeded.manager.password);
      expect(later.answer.status, excerpt(later.answer.text)).toBe(200);
    },
    LIMIT_MS,
  );

  it(
    'a device cookie that was tampered with counts for nothing: that browser is a stranger',
    async () => {
      const seeded = await seedTenant(service.store);
      const own = await managersBrowser(seeded);
      const forged = new Browser(service.url);
      forged.cookies = own.cookies
        .filter((c) => c.name.startsWith('slc.device.'))
        .map((c) => {
          if (c.name.endsWith('.sig')) return c;
          const payload = JSON.parse(Buffer.from(c.value, 'base64url').toString('utf8')) as Record<string, string>;
          return { ...c, value: Buffer.from(JSON.stringify({ ...payload, d: 'B'.repeat(22) })).toString('base64url') };
        });
      const stranger = await loginPage(seeded, freshAddress());
      for (let attempt = 0; attempt <= STRANGER_THROTTLE.free; attempt++) {
        await guess(stranger.browser, stranger.login, seeded.manager.username, `wrong ${attempt}`);
      }
      const { login } = await loginPage(seeded, freshAddress(), forged);
      const refused = await guess(forged, login, seeded.manager.username, seeded.manager.password);
      expect(refused.answer.status).toBe(429);
      expect(refused.message).toContain(PAUSED);
      // The untouched cookie still works.
      const back = await loginPage(seeded, freshAddress(), own);
      expect((await signIn(own, back.login, seeded.manager.username, seeded.manager.password)).status).toBe(200);
    },
    LIMIT_MS,
  );

  it(
    'from browsers the account never signed in from, guessing slows down (30 s, 1, 2, 4, 5 minutes) and stays within ten per 15 minutes',
    async () => {
      const seeded = await seedTenant(service.store);
      const stranger = await loginPage(seeded, freshAddress());
      const started = now;
      const checked: number[] = [];
      const pauses: { retryAfter: number; message: string }[] = [];
      let refused = 0;
      // A stranger who tries every 10 seconds for 15 minutes: 90 tries.
      for (let second = 0; second < STRANGER_THROTTLE.windowSeconds; second += 10) {
        now = started + second * 1000;
        const { answer, message, retryAfter } = await guess(stranger.browser, stranger.login, seeded.manager.username, `wrong ${second}`);
        if (message.startsWith(INCORRECT)) checked.push(second);
        if (answer.status === 429 && message.startsWith(INCORRECT)) pauses.push({ retryAfter, message });
        if (answer.status === 429 && !message.startsWith(INCORRECT)) {
          refused++;
          expect(message).toMatch(
            /^Sign-in for this account is paused after too many failed attempts\. Try again in \d+ (seconds|minutes?)/,
          );
          expect(retryAfter).toBeGreaterThan(0);
        }
      }
      expect(checked.length).toBeLessThanOrEqual(STRANGER_THROTTLE.limit);
      expect(checked).toEqual([0, 10, 20, 30, 60, 120, 240, 480, 780]);
      expect(pauses.map((p) => p.retryAfter)).toEqual([30, 60, 120, 240, 300, 300]);
      expect(pauses.map((p) => /try again in (.*)\.$/.exec(p.message)?.[1])).toEqual([
        '30 seconds',
        '1 minute',
        '2 minutes',
        '4 minutes',
        '5 minutes',
        '5 minutes',
      ]);
      expect(refused).toBe(90 - checked.length);

      // During a pause, a refused try says how long is left.
      now = started + 790 * 1000;
      const during = await guess(stranger.browser, stranger.login, seeded.manager.username, seeded.manager.password);
      expect(during.answer.status).toBe(429);
      expect(during.retryAfter).toBe(290);
      expect(during.message).toContain('Try again in 5 minutes');
    },
    LIMIT_MS,
  );

  it(
    `a browser the account signed in from has ${DEVICE_THROTTLE.limit} tries of its own, and strangers are not held back by them`,
    async () => {
      const seeded = await seedTenant(service.store);
      const own = await managersBrowser(seeded);
      const { login } = await loginPage(seeded, freshAddress(), own);
      for (let attempt = 1; attempt < DEVICE_THROTTLE.limit; attempt++) {
        const wrong = await signIn(own, login, seeded.manager.username, `typo ${attempt}`);
        expect([wrong.status, textOf(wrong.text, 'login-error')]).toEqual([400, INCORRECT]);
      }
      const last = await signIn(own, login, seeded.manager.username, 'typo again');
      expect(last.status).toBe(429);
      expect(Number(last.headers.get('retry-after'))).toBe(DEVICE_THROTTLE.windowSeconds);
      const right = await signIn(own, login, seeded.manager.username, seeded.manager.password);
      expect(right.status).toBe(429);
      expect(textOf(right.text, 'login-error')).toBe(
        'Sign-in from this browser is paused after too many failed attempts. Try again in 15 minutes, or ask your SecureLogin administrator to unlock the account.',
      );

      const elsewhere = await loginPage(seeded, freshAddress());
      const fine = await signIn(elsewhere.browser, elsewhere.login, seeded.manager.username, seeded.manager.password);
      expect(fine.status, excerpt(fine.text)).toBe(200);
    },
    LIMIT_MS,
  );

  it(
    '`securelogin manager unlock` clears the account, its pause and its browsers, and says what it cleared',
    async () => {
      const seeded = await seedTenant(service.store);
      const own = await managersBrowser(seeded);
      const { login } = await loginPage(seeded, freshAddress(), own);
      for (let attempt = 1; attempt <= DEVICE_THROTTLE.limit; attempt++)
        await signIn(own, login, seeded.manager.username, `typo ${attempt}`);
      const stranger = await loginPage(seeded, freshAddress());
      for (let attempt = 1; attempt <= 6; attempt++)
        await guess(stranger.browser, stranger.login, seeded.manager.username, `wrong ${attempt}`);

      const unlocked = await unlock(service, env, seeded.domain, seeded.manager.username.toUpperCase());
      expect(unlocked.code, unlocked.stderr).toBe(0);
      expect(unlocked.stdout).toMatch(
        /^Unlocked admin@example\.com of tenant \S+; cleared: 4 failures on the account, a pause until \d\d:\d\d:\d\d; 5 failures on a browser it signed in from, a pause until \d\d:\d\d:\d\d\. They may sign in again now\.\n$/,
      );

      const afterOwn = await signIn(own, login, seeded.manager.username, seeded.manager.password);
      expect(afterOwn.status, excerpt(afterOwn.text)).toBe(200);
      const fresh = await loginPage(seeded, freshAddress());
      const afterStranger = await signIn(fresh.browser, fresh.login, seeded.manager.username, seeded.manager.password);
      expect(afterStranger.status, excerpt(afterStranger.text)).toBe(200);

      const again = await unlock(service, env, seeded.domain, seeded.manager.username);
      expect(again.stdout).toContain('was not locked out: no failed attempts were counted.');
    },
    LIMIT_MS,
  );

  it(
    'an unknown username is paused the same way, so a pause does not tell which names exist',
    async () => {
      const seeded = await seedTenant(service.store);
      const { browser, login } = await loginPage(seeded, freshAddress());
      const answers = [];
      for (let attempt = 1; attempt <= STRANGER_THROTTLE.free + 2; attempt++) {
        answers.push(await guess(browser, login, 'nobody@example.com', `wrong password ${attempt}`));
      }
      expect(answers.map((a) => a.answer.status)).toEqual([400, 400, 400, 429, 429]);
      expect(answers[3].retryAfter).toBe(30);
      expect(answers[4].message).toContain(PAUSED);
      // Other accounts of the tenant are not affected.
      const other = await signIn(browser, login, seeded.manager.username, seeded.manager.password);
      expect(other.status).toBe(200);
    },
    LIMIT_MS,
  );

  it(
    `one client address is blocked after ${ADDRESS_THROTTLE.limit} failures, whatever accounts it tries, and \`securelogin unblock\` ends it`,
    async () => {
      const seeded = await seedTenant(service.store);
      const address = freshAddress();
      const own = await managersBrowser(seeded);
      const { browser, login } = await loginPage(seeded, address);
      for (let attempt = 1; attempt < ADDRESS_THROTTLE.limit; attempt++) {
        const wrong = await signIn(browser, login, `guess${attempt}@example.com`, 'wrong password');
        expect(wrong.status).toBe(400);
      }
      const last = await signIn(browser, login, 'one-more@example.com', 'wrong password');
      expect(last.status).toBe(429);
      expect(textOf(last.text, 'login-error')).toBe('Too many failed sign-in attempts came from your network. Try again in 15 minutes.');
      const right = await signIn(browser, login, seeded.manager.username, seeded.manager.password);
      expect(right.status).toBe(429);
      for (let attempt = 1; attempt <= 5; attempt++) await signIn(browser, login, `later${attempt}@example.com`, 'wrong password');

      // The manager's own browser, from the same address, is not held back by the address's block.
      const same = await loginPage(seeded, address, own);
      expect((await signIn(own, same.login, seeded.manager.username, seeded.manager.password)).status).toBe(200);
      // Nor is the manager from another address.
      const elsewhere = await loginPage(seeded, freshAddress());
      expect((await signIn(elsewhere.browser, elsewhere.login, seeded.manager.username, seeded.manager.password)).status).toBe(200);

      // The block began once, and was logged once, with the address.
      const blocks = logged('sign-in blocked for this client address: too many failed attempts').filter((line) => line.ip === address);
      expect(blocks).toHaveLength(1);
      expect(blocks[0]).toMatchObject({ level: 'warn', failures: ADDRESS_THROTTLE.limit });

      const unblocked = await securelogin(service.dataDir, ['unblock', address], { env });
      expect(unblocked.code, unblocked.stderr).toBe(0);
      expect(unblocked.stdout).toMatch(
        new RegExp(`^Unblocked ${address.replace(/\./g, '\\.')}: cleared ${ADDRESS_THROTTLE.limit} failures`),
      );
      const freed = await loginPage(seeded, address);
      expect((await signIn(freed.browser, freed.login, seeded.manager.username, seeded.manager.password)).status).toBe(200);
    },
    LIMIT_MS,
  );

  it(
    "a pause is logged once when it begins, with the account's username and tenant, not once per refused attempt",
    async () => {
      const seeded = await seedTenant(service.store);
      const stranger = await loginPage(seeded, freshAddress());
      for (let attempt = 1; attempt <= STRANGER_THROTTLE.free + 1 + 20; attempt++) {
        await guess(stranger.browser, stranger.login, seeded.manager.username, `wrong ${attempt}`);
      }
      const pauses = () =>
        logged('sign-in paused for this account on browsers it has not signed in from').filter((line) => line.tenant === seeded.domain);
      expect(pauses()).toHaveLength(1);
      expect(pauses()[0]).toMatchObject({
        level: 'warn',
        userName: seeded.manager.username,
        tenant: seeded.domain,
        tenantId: seeded.tenantId,
        failures: STRANGER_THROTTLE.free + 1,
        until: new Date(now + 30_000).toISOString(),
      });
      // The next pause is the next line.
      pass(30);
      await guess(stranger.browser, stranger.login, seeded.manager.username, 'wrong again');
      expect(pauses()).toHaveLength(2);
      expect(pauses()[1]).toMatchObject({ failures: STRANGER_THROTTLE.free + 2, until: new Date(now + 60_000).toISOString() });
      // No line ever holds a password.
      expect(logLines.some((line) => line.includes('wrong again') || line.includes(seeded.manager.password))).toBe(false);
    },
    LIMIT_MS,
  );

  it(
    'counts a failure against the address our proxy saw, not one the client wrote into X-Forwarded-For',
    async () => {
      const seeded = await seedTenant(service.store);
      const forged = freshAddress();
      const seen = freshAddress();
      const { browser, login } = await loginPage(seeded, `${forged}, ${seen}`);
      expect((await signIn(browser, login, seeded.manager.username, 'wrong password')).status).toBe(400);
      const sessions = await openSessions(
        { config: service.config, store: service.store, log: createLogger('silent') },
        { clock: () => now },
      );
      try {
        expect((await sessions.throttle.state(addressCounter(seen))).failures).toBe(1);
        expect((await sessions.throttle.state(addressCounter(forged))).failures).toBe(0);
      } finally {
        await sessions.close();
      }
    },
    LIMIT_MS,
  );
}

describe('sign-in throttling on the embedded store', () => {
  throttling(() => ({}));
});

describe.skipIf(!redisUrl)('sign-in throttling with counters in Redis', () => {
  throttling(() => ({ REDIS_URL: redisUrl! }));
});

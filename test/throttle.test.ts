// Login throttling counters, run against every session backend: a key locks
// when failures in the window reach the limit, unlocks by time or by reset,
// and concurrent failures from several servers are each counted once.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accountThrottleKey, addressThrottleKey, type Throttle, type ThrottlePolicy } from '../server/sessions/index.ts';
import { type BackendCase, type RunningBackend, sessionBackends, suiteName } from './support/session-backends.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const key = () => `account:test:${randomUUID()}`;

describe('throttle keys', () => {
  it('count an account once whatever case its user name is typed in', () => {
    expect(accountThrottleKey('tenant-1', 'Anna.Admin@Example.com')).toBe(accountThrottleKey('tenant-1', 'anna.admin@example.com'));
    expect(accountThrottleKey('tenant-1', ' anna ')).toBe(accountThrottleKey('tenant-1', 'ANNA'));
  });

  it('keep the same user name in two tenants apart', () => {
    expect(accountThrottleKey('tenant-1', 'anna')).not.toBe(accountThrottleKey('tenant-2', 'anna'));
    expect(accountThrottleKey('tenant-1', 'anna')).not.toBe(accountThrottleKey('tenant-1', 'anna2'));
  });

  it('hold no user name and stay short whatever is typed', () => {
    const long = accountThrottleKey('tenant-1', `secret-name-${'x'.repeat(10_000)}`);
    expect(long).not.toContain('secret-name');
    expect(long.length).toBeLessThan(100);
  });

  it('count an IPv4 address the same when it arrives IPv4-mapped', () => {
    expect(addressThrottleKey('::ffff:192.0.2.7')).toBe(addressThrottleKey('192.0.2.7'));
    expect(addressThrottleKey('192.0.2.7')).not.toBe(addressThrottleKey('192.0.2.8'));
  });

  it('count IPv6 per /64, however the address is written', () => {
    expect(addressThrottleKey('2001:db8:1:2::1')).toBe(addressThrottleKey('2001:0DB8:0001:0002:ffff:ffff:ffff:fffe'));
    expect(addressThrottleKey('[2001:db8:1:2::1]')).toBe(addressThrottleKey('2001:db8:1:2:0:0:0:9'));
    expect(addressThrottleKey('2001:db8:1:2::1')).not.toBe(addressThrottleKey('2001:db8:1:3::1'));
    expect(addressThrottleKey('::1')).toBe('address:0:0:0:0::/64');
  });

  it('keep anything that is not an address in a bucket of its own', () => {
    expect(addressThrottleKey('unknown')).not.toBe(addressThrottleKey(''));
    expect(addressThrottleKey('unknown')).toMatch(/^address:other:/);
  });
});

for (const backend of sessionBackends) {
  describe.skipIf(backend.unavailable !== undefined)(`throttle on ${suiteName(backend)}`, () => {
    contract(backend);
  });
}

function contract(backend: BackendCase) {
  let running: RunningBackend;
  let first: Throttle;
  let second: Throttle;

  beforeAll(async () => {
    running = await backend.start();
    first = (await running.open()).sessions.throttle;
    second = (await running.open()).sessions.throttle;
  }, 120_000);

  afterAll(async () => {
    await running?.stop();
  });

  it('locks a key when failures reach the limit, and only that key', async () => {
    const policy: ThrottlePolicy = { limit: 3, windowSeconds: 60, lockSeconds: 30 };
    const locked = key();
    const other = key();
    expect(await first.failure(locked, policy)).toEqual({ locked: false, retryAfterSeconds: 0, failures: 1 });
    expect(await second.failure(locked, policy)).toEqual({ locked: false, retryAfterSeconds: 0, failures: 2 });
    expect(await first.failure(other, policy)).toEqual({ locked: false, retryAfterSeconds: 0, failures: 1 });
    const third = await second.failure(locked, policy);
    expect(third).toMatchObject({ locked: true, failures: 3 });
    expect(third.retryAfterSeconds).toBeGreaterThanOrEqual(29);
    expect(third.retryAfterSeconds).toBeLessThanOrEqual(30);
    expect(await first.state(locked)).toMatchObject({ locked: true, failures: 3 });
    expect(await first.state(other)).toEqual({ locked: false, retryAfterSeconds: 0, failures: 1 });
  });

  it('does not count or extend while locked', async () => {
    const policy: ThrottlePolicy = { limit: 2, windowSeconds: 60, lockSeconds: 30 };
    const name = key();
    await first.failure(name, policy);
    const lockedAt = await first.failure(name, policy);
    const during = await second.failure(name, policy);
    expect(during).toMatchObject({ locked: true, failures: 2 });
    expect(during.retryAfterSeconds).toBeLessThanOrEqual(lockedAt.retryAfterSeconds);
  });

  it('an unknown key is unlocked with no failures', async () => {
    expect(await first.state(key())).toEqual({ locked: false, retryAfterSeconds: 0, failures: 0 });
  });

  it('forgets failures when the window ends', async () => {
    const policy: ThrottlePolicy = { limit: 3, windowSeconds: 1, lockSeconds: 30 };
    const name = key();
    await first.failure(name, policy);
    await first.failure(name, policy);
    await sleep(1_100);
    expect(await second.state(name)).toEqual({ locked: false, retryAfterSeconds: 0, failures: 0 });
    expect(await second.failure(name, policy)).toEqual({ locked: false, retryAfterSeconds: 0, failures: 1 });
  });

  it('unlocks when the lock ends and starts counting afresh', async () => {
    const policy: ThrottlePolicy = { limit: 2, windowSeconds: 60, lockSeconds: 1 };
    const name = key();
    await first.failure(name, policy);
    expect(await first.failure(name, policy)).toEqual({ locked: true, retryAfterSeconds: 1, failures: 2 });
    await sleep(1_100);
    expect(await second.state(name)).toEqual({ locked: false, retryAfterSeconds: 0, failures: 0 });
    expect(await second.failure(name, policy)).toEqual({ locked: false, retryAfterSeconds: 0, failures: 1 });
  });

  it('unlocks at once on reset (securelogin manager unlock, or a successful sign-in)', async () => {
    const policy: ThrottlePolicy = { limit: 1, windowSeconds: 60, lockSeconds: 600 };
    const name = key();
    expect(await first.failure(name, policy)).toMatchObject({ locked: true, failures: 1 });
    await second.reset(name);
    expect(await first.state(name)).toEqual({ locked: false, retryAfterSeconds: 0, failures: 0 });
    await second.reset(key());
  });

  it('counts simultaneous failures from two servers exactly once each', async () => {
    const policy: ThrottlePolicy = { limit: 1_000, windowSeconds: 60, lockSeconds: 60 };
    const name = key();
    const states = await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 ? first : second).failure(name, policy)));
    expect(states.map((s) => s.failures).sort((a, b) => a - b)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    expect(await first.state(name)).toMatchObject({ locked: false, failures: 40 });
  });

  it('locks exactly at the limit under a burst of simultaneous failures', async () => {
    const policy: ThrottlePolicy = { limit: 5, windowSeconds: 60, lockSeconds: 60 };
    const name = key();
    const states = await Promise.all(Array.from({ length: 30 }, (_, i) => (i % 2 ? first : second).failure(name, policy)));
    const counted = states.filter((s) => !s.locked).map((s) => s.failures);
    expect(counted.sort()).toEqual([1, 2, 3, 4]);
    expect(states.filter((s) => s.locked)).toHaveLength(26);
    expect(states.every((s) => s.locked === false || s.failures === 5)).toBe(true);
  });

  it('refuses a policy that makes no sense', async () => {
    await expect(first.failure(key(), { limit: 0, windowSeconds: 60, lockSeconds: 60 })).rejects.toThrow(TypeError);
    await expect(first.failure(key(), { limit: 3, windowSeconds: 0, lockSeconds: 60 })).rejects.toThrow(TypeError);
    await expect(first.failure(key(), { limit: 3, windowSeconds: 60, lockSeconds: Number.NaN })).rejects.toThrow(TypeError);
  });
}

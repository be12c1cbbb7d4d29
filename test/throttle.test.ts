// Sign-in throttling counters, run against every session backend: free
// failures, progressive pauses, a pause until the window ends at the limit,
// reset and clear, and simultaneous attempts from several servers each
// counted once. The clock is the tests' own: no test waits for a window.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEVICE_THROTTLE, STRANGER_THROTTLE } from '../server/interaction/index.ts';
import {
  accountThrottleKey,
  addressThrottleKey,
  type Counter,
  pauseAfter,
  type Throttle,
  type ThrottleSchedule,
} from '../server/sessions/index.ts';
import { type BackendCase, type RunningBackend, sessionBackends, suiteName } from './support/session-backends.ts';

const counter = (): Counter => ({ group: `account:test:${randomUUID()}`, member: 'strangers' });
const STRANGERS = STRANGER_THROTTLE;
const DEVICE = DEVICE_THROTTLE;

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

describe('the sign-in schedules', () => {
  const pauses = (schedule: ThrottleSchedule, upTo: number) =>
    Array.from({ length: upTo }, (_, i) => pauseAfter(schedule, i + 1, 0, 900_000)).map((until) => (until === null ? 0 : until / 1000));

  it('strangers: three free failures, then 30 s, 1, 2, 4 and 5 minutes, and the tenth until the window ends', () => {
    expect(pauses(STRANGER_THROTTLE, 10)).toEqual([0, 0, 0, 30, 60, 120, 240, 300, 300, 900]);
  });

  it('a browser the account signed in from: four free failures, the fifth until the window ends', () => {
    expect(pauses(DEVICE_THROTTLE, 5)).toEqual([0, 0, 0, 0, 900]);
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
  let realClock: Throttle;
  // Both instances read one clock that the tests move on, instead of sleeping through windows and pauses.
  let now = Date.now();
  const clock = () => now;
  const pass = (seconds: number) => {
    now += seconds * 1000;
  };

  beforeAll(async () => {
    running = await backend.start();
    first = (await running.open({ clock })).sessions.throttle;
    second = (await running.open({ clock })).sessions.throttle;
    realClock = (await running.open()).sessions.throttle;
  }, 120_000);

  afterAll(async () => {
    await running?.stop();
  });

  it('lets the free failures through, then makes each next attempt wait longer, and pauses at the limit until the window ends', async () => {
    const name = counter();
    const waits: number[] = [];
    const started = now;
    for (let failure = 1; failure <= 3; failure++) {
      expect(await (failure % 2 ? first : second).attempt(name, STRANGERS)).toEqual({
        counted: true,
        paused: false,
        retryAfterSeconds: 0,
        failures: failure,
        pausedUntil: null,
      });
    }
    // Each attempt the moment the previous pause ends (a patient guesser), until the window's limit.
    for (let failure = 4; failure <= 9; failure++) {
      const attempt = await (failure % 2 ? first : second).attempt(name, STRANGERS);
      expect(attempt).toMatchObject({ counted: true, paused: true, failures: failure });
      expect(attempt.pausedUntil).toBe(now + attempt.retryAfterSeconds * 1000);
      waits.push(attempt.retryAfterSeconds);
      pass(attempt.retryAfterSeconds);
    }
    expect(waits).toEqual([30, 60, 120, 240, 300, 300]);
    // The ninth failure came 750 s in, and its pause outlasted the window: a patient guesser gets nine per window.
    expect(now - started).toBe(1_050_000);
    expect(await first.state(name)).toEqual({ paused: false, retryAfterSeconds: 0, failures: 0, pausedUntil: null });
    expect(await first.attempt(name, STRANGERS)).toMatchObject({ counted: true, paused: false, failures: 1 });
  });

  it('pauses at the limit until the window ends when failures come quickly (a burst from many instances)', async () => {
    const name = counter();
    const schedule: ThrottleSchedule = { windowSeconds: 900, free: 3, pauses: [30], limit: 6 };
    for (let failure = 1; failure <= 5; failure++) {
      const attempt = await first.attempt(name, schedule);
      expect(attempt.failures).toBe(failure);
      if (attempt.paused) pass(attempt.retryAfterSeconds);
    }
    // Five failures and two 30 s pauses: 60 s of the window gone.
    const last = await second.attempt(name, schedule);
    expect(last).toMatchObject({ counted: true, paused: true, failures: 6, retryAfterSeconds: 900 - 60 });
    pass(899 - 60);
    expect(await first.attempt(name, schedule)).toMatchObject({ counted: false, paused: true, failures: 6, retryAfterSeconds: 1 });
    pass(1);
    expect(await first.attempt(name, schedule)).toMatchObject({ counted: true, paused: false, failures: 1 });
  });

  it('does not count or extend a pause while it lasts', async () => {
    const name = counter();
    for (let i = 0; i < 4; i++) await first.attempt(name, STRANGERS);
    pass(10);
    const during = await second.attempt(name, STRANGERS);
    expect(during).toEqual({ counted: false, paused: true, retryAfterSeconds: 20, failures: 4, pausedUntil: now + 20_000 });
    expect(await first.state(name)).toEqual({ paused: true, retryAfterSeconds: 20, failures: 4, pausedUntil: now + 20_000 });
    pass(20);
    expect(await second.attempt(name, STRANGERS)).toMatchObject({ counted: true, paused: true, failures: 5, retryAfterSeconds: 60 });
  });

  it('keeps the counters of one group apart: a paused member pauses no other', async () => {
    const group = `account:test:${randomUUID()}`;
    const strangers = { group, member: 'strangers' };
    const device = { group, member: `device:${randomUUID()}` };
    for (let i = 0; i <= STRANGERS.free; i++) await first.attempt(strangers, STRANGERS);
    expect(await first.state(strangers)).toMatchObject({ paused: true, failures: STRANGERS.free + 1 });
    expect(await second.attempt(device, DEVICE)).toEqual({
      counted: true,
      paused: false,
      retryAfterSeconds: 0,
      failures: 1,
      pausedUntil: null,
    });
    expect(await second.state({ group: `account:test:${randomUUID()}`, member: 'strangers' })).toMatchObject({ failures: 0 });
  });

  it('an unknown counter is not paused and has no failures', async () => {
    expect(await first.state(counter())).toEqual({ paused: false, retryAfterSeconds: 0, failures: 0, pausedUntil: null });
  });

  it('forgets failures when the window ends', async () => {
    const name = counter();
    await first.attempt(name, DEVICE);
    pass(60);
    await second.attempt(name, DEVICE);
    pass(DEVICE.windowSeconds - 60);
    expect(await second.state(name)).toEqual({ paused: false, retryAfterSeconds: 0, failures: 0, pausedUntil: null });
    expect(await first.attempt(name, DEVICE)).toMatchObject({ counted: true, failures: 1 });
  });

  it('reset forgets one counter, and only that one', async () => {
    const group = `account:test:${randomUUID()}`;
    const strangers = { group, member: 'strangers' };
    const device = { group, member: 'device:a' };
    for (let i = 0; i < DEVICE.limit; i++) await first.attempt(device, DEVICE);
    await first.attempt(strangers, STRANGERS);
    expect(await first.state(device)).toMatchObject({ paused: true });
    await second.reset(device);
    expect(await first.state(device)).toEqual({ paused: false, retryAfterSeconds: 0, failures: 0, pausedUntil: null });
    expect(await first.state(strangers)).toMatchObject({ failures: 1 });
    await second.reset(counter());
  });

  it('clear forgets every counter of a group, says what each held, and leaves other groups alone', async () => {
    const group = `account:test:${randomUUID()}`;
    const other = counter();
    for (let i = 0; i < 4; i++) await first.attempt({ group, member: 'strangers' }, STRANGERS);
    await second.attempt({ group, member: 'device:a' }, DEVICE);
    await second.attempt({ group, member: 'device:a' }, DEVICE);
    await first.attempt({ group, member: 'device:b' }, DEVICE);
    await first.attempt(other, STRANGERS);
    // A counter whose window ended holds nothing any more, and is not reported.
    pass(1);
    const cleared = await second.clear(group);
    expect(cleared.sort((a, b) => a.member.localeCompare(b.member))).toEqual([
      { member: 'device:a', state: { paused: false, retryAfterSeconds: 0, failures: 2, pausedUntil: null } },
      { member: 'device:b', state: { paused: false, retryAfterSeconds: 0, failures: 1, pausedUntil: null } },
      { member: 'strangers', state: { paused: true, retryAfterSeconds: 29, failures: 4, pausedUntil: now + 29_000 } },
    ]);
    for (const member of ['strangers', 'device:a', 'device:b']) {
      expect(await first.state({ group, member })).toEqual({ paused: false, retryAfterSeconds: 0, failures: 0, pausedUntil: null });
    }
    expect(await first.state(other)).toMatchObject({ failures: 1 });
    expect(await first.clear(group)).toEqual([]);
    // A group that shares a prefix with another is not part of it.
    await first.attempt({ group: `${group}0`, member: 'strangers' }, STRANGERS);
    expect(await first.clear(group)).toEqual([]);
    expect(await first.state({ group: `${group}0`, member: 'strangers' })).toMatchObject({ failures: 1 });
  });

  it('counts simultaneous attempts from two servers exactly once each', async () => {
    const schedule: ThrottleSchedule = { windowSeconds: 60, free: 1_000, pauses: [], limit: 1_000 };
    const name = counter();
    const states = await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 ? first : second).attempt(name, schedule)));
    expect(states.map((s) => s.failures).sort((a, b) => a - b)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    expect(await first.state(name)).toMatchObject({ paused: false, failures: 40 });
  });

  it('lets no simultaneous attempt past the pause the first counted one began', async () => {
    const name = counter();
    const states = await Promise.all(Array.from({ length: 30 }, (_, i) => (i % 2 ? first : second).attempt(name, STRANGERS)));
    const counted = states.filter((s) => s.counted);
    // Three free, and the fourth begins a 30 s pause that refuses the rest.
    expect(counted.map((s) => s.failures).sort()).toEqual([1, 2, 3, 4]);
    expect(states.filter((s) => !s.counted)).toHaveLength(26);
    expect(states.every((s) => s.counted || (s.paused && s.retryAfterSeconds === 30))).toBe(true);

    const device = counter();
    const bursts = await Promise.all(Array.from({ length: 30 }, (_, i) => (i % 2 ? first : second).attempt(device, DEVICE)));
    expect(bursts.filter((s) => s.counted)).toHaveLength(DEVICE.limit);
    expect(bursts.filter((s) => s.counted && s.paused).map((s) => s.failures)).toEqual([DEVICE.limit]);
  });

  it("uses the backend's own clock when none is given", async () => {
    const name = counter();
    const schedule: ThrottleSchedule = { windowSeconds: 600, free: 0, pauses: [30], limit: 5 };
    const attempt = await realClock.attempt(name, schedule);
    expect(attempt).toMatchObject({ counted: true, paused: true, failures: 1 });
    expect(attempt.retryAfterSeconds).toBeGreaterThanOrEqual(29);
    expect(attempt.retryAfterSeconds).toBeLessThanOrEqual(30);
    expect(Math.abs(attempt.pausedUntil! - (Date.now() + 30_000))).toBeLessThan(10_000);
    expect(await realClock.attempt(name, schedule)).toMatchObject({ counted: false, paused: true, failures: 1 });
  });

  it('refuses a schedule that makes no sense', async () => {
    await expect(first.attempt(counter(), { ...STRANGERS, limit: 0 })).rejects.toThrow(TypeError);
    await expect(first.attempt(counter(), { ...STRANGERS, windowSeconds: 0 })).rejects.toThrow(TypeError);
    await expect(first.attempt(counter(), { ...STRANGERS, free: -1 })).rejects.toThrow(TypeError);
    await expect(first.attempt(counter(), { ...STRANGERS, pauses: [30, Number.NaN] })).rejects.toThrow(TypeError);
  });
}

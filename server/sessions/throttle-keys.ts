import { createHash } from 'node:crypto';
import net from 'node:net';
import type { Counter, ThrottleSchedule, ThrottleState } from './index.ts';

function digest(value: string): string {
  return createHash('sha256').update(value).digest('hex').slice(0, 32);
}

/**
 * The group of one account's counters, whatever case the user name is typed
 * in ("Admin" and "admin" are the same account). The name is hashed: keys stay
 * short whatever is typed, and the counter store holds no user names.
 */
export function accountThrottleKey(tenantId: string, userName: string): string {
  return `account:${tenantId}:${digest(userName.trim().normalize('NFKC').toLowerCase())}`;
}

/** The failures of strangers, browsers the account has not signed in from: they share one counter. */
export function strangersCounter(tenantId: string, userName: string): Counter {
  return { group: accountThrottleKey(tenantId, userName), member: 'strangers' };
}

/**
 * The failures of one browser the account signed in from (its device
 * cookie's id), in the account's group, so that unlocking the account clears
 * them too.
 */
export function deviceCounter(tenantId: string, userName: string, deviceId: string): Counter {
  return { group: accountThrottleKey(tenantId, userName), member: `device:${deviceId}` };
}

export function addressCounter(address: string): Counter {
  return { group: addressThrottleKey(address), member: 'failures' };
}

/**
 * The group of one client address. IPv4-mapped IPv6 counts as the IPv4 it
 * carries; IPv6 counts per /64, because one subscriber usually holds a whole
 * /64 and could otherwise dodge the limit with every new address.
 */
export function addressThrottleKey(address: string): string {
  let ip = address.trim().toLowerCase();
  if (ip.startsWith('[') && ip.endsWith(']')) ip = ip.slice(1, -1);
  ip = ip.replace(/%.*$/, '');
  const mapped = /^(?:0{0,4}:){0,5}:?ffff:(\d{1,3}(?:\.\d{1,3}){3})$/.exec(ip);
  if (mapped && net.isIPv4(mapped[1])) ip = mapped[1];
  if (net.isIPv4(ip)) return `address:${ip}`;
  if (net.isIPv6(ip)) return `address:${ipv6Groups(ip).slice(0, 4).join(':')}::/64`;
  return `address:other:${digest(address)}`;
}

/** The eight 16-bit groups of an IPv6 address, without leading zeros. */
function ipv6Groups(ip: string): string[] {
  let text = ip;
  const v4 = /(\d{1,3}(?:\.\d{1,3}){3})$/.exec(text);
  if (v4) {
    const [a, b, c, d] = v4[1].split('.').map(Number);
    text = `${text.slice(0, v4.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.split('::');
  const left = head ? head.split(':') : [];
  const right = tail === undefined ? [] : tail ? tail.split(':') : [];
  const missing = 8 - left.length - right.length;
  return [...left, ...Array<string>(tail === undefined ? 0 : missing).fill('0'), ...right].map((g) => Number.parseInt(g, 16).toString(16));
}

export function checkSchedule(schedule: ThrottleSchedule): void {
  const { windowSeconds, free, pauses, limit } = schedule;
  if (!Number.isInteger(limit) || limit < 1) throw new TypeError(`throttle limit must be a whole number of at least 1, got ${limit}`);
  if (!Number.isInteger(free) || free < 0) throw new TypeError(`throttle free failures must be a whole number, got ${free}`);
  if (!(windowSeconds > 0) || !Number.isFinite(windowSeconds))
    throw new TypeError(`throttle window must be positive seconds, got ${windowSeconds}`);
  for (const pause of pauses) {
    if (!(pause > 0) || !Number.isFinite(pause)) throw new TypeError(`throttle pauses must be positive seconds, got ${pause}`);
  }
}

/**
 * When the pause that the `failures`-th failure of a window begins ends, or
 * null for none: the limit pauses until the window ends, the failures past
 * the free ones each begin the next pause, the last pause repeating.
 */
export function pauseAfter(schedule: ThrottleSchedule, failures: number, now: number, windowEndsAt: number): number | null {
  if (failures >= schedule.limit) return windowEndsAt;
  if (failures <= schedule.free || schedule.pauses.length === 0) return null;
  return now + schedule.pauses[Math.min(failures - schedule.free, schedule.pauses.length) - 1] * 1000;
}

/** The state a counter means at `now` (epoch milliseconds). */
export function stateAt(now: number, failures: number, windowEndsAt: number, pausedUntil: number | null): ThrottleState {
  const paused = pausedUntil !== null && pausedUntil > now;
  return {
    paused,
    retryAfterSeconds: paused ? Math.ceil((pausedUntil - now) / 1000) : 0,
    failures: paused || windowEndsAt > now ? failures : 0,
    pausedUntil: paused ? pausedUntil : null,
  };
}

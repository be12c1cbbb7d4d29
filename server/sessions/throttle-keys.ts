import { createHash } from 'node:crypto';
import net from 'node:net';
import type { ThrottlePolicy, ThrottleState } from './index.ts';

function digest(value: string): string {
  return createHash('sha256').update(value).digest('hex').slice(0, 32);
}

/**
 * One counter per account of a tenant, whatever case the user name is typed
 * in ("Admin" and "admin" are the same account). The name is hashed: keys stay
 * short whatever is typed, and the counter store holds no user names.
 */
export function accountThrottleKey(tenantId: string, userName: string): string {
  return `account:${tenantId}:${digest(userName.trim().normalize('NFKC').toLowerCase())}`;
}

/**
 * One counter per client address. IPv4-mapped IPv6 counts as the IPv4 it
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

export function checkPolicy(policy: ThrottlePolicy): void {
  const { limit, windowSeconds, lockSeconds } = policy;
  if (!Number.isInteger(limit) || limit < 1) throw new TypeError(`throttle limit must be a whole number of at least 1, got ${limit}`);
  if (!(windowSeconds > 0) || !Number.isFinite(windowSeconds))
    throw new TypeError(`throttle window must be positive seconds, got ${windowSeconds}`);
  if (!(lockSeconds > 0) || !Number.isFinite(lockSeconds))
    throw new TypeError(`throttle lock must be positive seconds, got ${lockSeconds}`);
}

/** The state a counter row means at `now` (epoch milliseconds). */
export function stateAt(now: number, failures: number, windowEndsAt: number, lockedUntil: number | null): ThrottleState {
  const locked = lockedUntil !== null && lockedUntil > now;
  return {
    locked,
    retryAfterSeconds: locked ? Math.ceil((lockedUntil - now) / 1000) : 0,
    failures: locked || windowEndsAt > now ? failures : 0,
  };
}

import { createHash, randomBytes } from 'node:crypto';
import type Koa from 'koa';
import { INTERACTION_PATH } from '../oauth/index.ts';

/*
 * Device cookies (OWASP, "Slow Down Online Guessing Attacks with Device
 * Cookies"): a browser that signed in to an account holds a cookie, signed
 * with the cookie keys, that names the account (tenant and user id) and an
 * id of its own. Its wrong passwords are counted for that id alone, so a
 * stranger's guessing, which pauses every browser the account has not signed
 * in from, never pauses it.
 */

/** Long enough that a manager who signs in a few times a year keeps being recognised. */
const DEVICE_COOKIE_DAYS = 180;
const DEVICE_ID = /^[A-Za-z0-9_-]{22}$/;

interface DeviceCookie {
  /** Tenant id. */
  t: string;
  /** User id. */
  u: string;
  /** The device's id: its own failure counter. */
  d: string;
}

/** One cookie per account, so that a browser signing in to several keeps them all. */
function cookieName(tenantId: string, userId: string): string {
  return `slc.device.${createHash('sha256').update(`${tenantId}:${userId}`).digest('hex').slice(0, 16)}`;
}

/**
 * The device id of this browser for the account, when it presents a valid
 * device cookie for it (signature good, naming this tenant and this user);
 * undefined for a stranger.
 */
export function knownDevice(ctx: Koa.Context, tenantId: string, userId: string): string | undefined {
  const value = ctx.cookies.get(cookieName(tenantId, userId), { signed: true });
  if (!value) return undefined;
  let cookie: Partial<DeviceCookie>;
  try {
    cookie = JSON.parse(Buffer.from(value, 'base64url').toString('utf8')) as Partial<DeviceCookie>;
  } catch {
    return undefined;
  }
  if (cookie?.t !== tenantId || cookie.u !== userId || typeof cookie.d !== 'string' || !DEVICE_ID.test(cookie.d)) return undefined;
  return cookie.d;
}

/**
 * Gives the browser a device cookie for the account after a successful
 * sign-in (keeping the id it had), good for another DEVICE_COOKIE_DAYS.
 */
export function rememberDevice(ctx: Koa.Context, tenantId: string, userId: string, deviceId: string | undefined): void {
  const cookie: DeviceCookie = { t: tenantId, u: userId, d: deviceId ?? randomBytes(16).toString('base64url') };
  ctx.cookies.set(cookieName(tenantId, userId), Buffer.from(JSON.stringify(cookie)).toString('base64url'), {
    signed: true,
    httpOnly: true,
    sameSite: 'lax',
    secure: ctx.secure,
    path: INTERACTION_PATH,
    maxAge: DEVICE_COOKIE_DAYS * 24 * 60 * 60 * 1000,
    overwrite: true,
  });
}

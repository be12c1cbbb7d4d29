import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type Koa from 'koa';
import type { Kysely } from 'kysely';
import { type Database, isStorableText } from '../store/index.ts';

/** The console's own cookie; the provider's sessions never carry over to it. */
export const SESSION_COOKIE = 'slc_console';
export const CONSOLE_PATH = '/console';
/** A console left alone this long signs out. */
export const IDLE_TIMEOUT_MS = 30 * 60_000;
/** However busy, a console session ends this long after sign-in. */
export const ABSOLUTE_TIMEOUT_MS = 12 * 60 * 60_000;

export interface ConsoleSession {
  id: string;
  tenantId: string;
  userId: string;
  csrf: string;
}

const digest = (token: string) => createHash('sha256').update(token).digest('hex');

function cookieOptions(ctx: Koa.Context) {
  // Secure whenever the request came over https (directly or from a trusted proxy).
  return { path: CONSOLE_PATH, httpOnly: true, sameSite: 'lax' as const, signed: true, secure: ctx.secure, overwrite: true };
}

/** Signs a manager in: a new session row and the cookie naming it. */
export async function startSession(
  ctx: Koa.Context,
  db: Kysely<Database>,
  who: { tenantId: string; userId: string },
  now: number,
): Promise<void> {
  const token = randomBytes(32).toString('base64url');
  await db
    .insertInto('console_sessions')
    .values({
      id: digest(token),
      tenant_id: who.tenantId,
      user_id: who.userId,
      csrf: randomBytes(24).toString('base64url'),
      created_at: now,
      seen_at: now,
    })
    .execute();
  ctx.cookies.set(SESSION_COOKIE, token, cookieOptions(ctx));
}

/**
 * The session the cookie names, if it is still within both timeouts; its
 * idle clock starts again. An expired one is deleted; `expired` tells the
 * page to say so.
 */
export async function openSession(
  ctx: Koa.Context,
  db: Kysely<Database>,
  now: number,
): Promise<{ session: ConsoleSession } | { session: undefined; expired: boolean }> {
  const token = ctx.cookies.get(SESSION_COOKIE, { signed: true });
  if (!token || !isStorableText(token)) return { session: undefined, expired: false };
  const id = digest(token);
  const row = await db.selectFrom('console_sessions').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row) return { session: undefined, expired: true };
  if (now - row.seen_at > IDLE_TIMEOUT_MS || now - row.created_at > ABSOLUTE_TIMEOUT_MS) {
    await db.deleteFrom('console_sessions').where('id', '=', id).execute();
    endCookie(ctx);
    return { session: undefined, expired: true };
  }
  await db.updateTable('console_sessions').set({ seen_at: now }).where('id', '=', id).execute();
  return { session: { id, tenantId: row.tenant_id, userId: row.user_id, csrf: row.csrf } };
}

export async function endSession(ctx: Koa.Context, db: Kysely<Database>, session: ConsoleSession | undefined): Promise<void> {
  if (session) await db.deleteFrom('console_sessions').where('id', '=', session.id).execute();
  endCookie(ctx);
}

function endCookie(ctx: Koa.Context): void {
  ctx.cookies.set(SESSION_COOKIE, '', { ...cookieOptions(ctx), maxAge: 0 });
}

export function csrfMatches(session: ConsoleSession, presented: unknown): boolean {
  if (typeof presented !== 'string') return false;
  const a = Buffer.from(session.csrf);
  const b = Buffer.from(presented);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Sessions past either timeout; find() already refuses them, this keeps the table small. */
export async function sweepSessions(db: Kysely<Database>, now: number): Promise<void> {
  await db
    .deleteFrom('console_sessions')
    .where((eb) => eb.or([eb('seen_at', '<', now - IDLE_TIMEOUT_MS), eb('created_at', '<', now - ABSOLUTE_TIMEOUT_MS)]))
    .execute();
}

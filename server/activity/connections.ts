import type Koa from 'koa';
import type { Kysely } from 'kysely';
import type Provider from 'oidc-provider';
import type { Adapter } from 'oidc-provider';
import { findAccountById } from '../directory/index.ts';
import type { Logger } from '../log.ts';
import { accountIdFor, parseAccountId, standingOf } from '../oauth/index.ts';
import { type Database, isStorableText } from '../store/index.ts';
import { type Health, judge, type Outcomes } from './health.ts';

type Db = Kysely<Database>;
type AdapterClass = new (model: string) => Adapter;

/** One Entra connection as the console and the CLI show it. */
export interface Connection {
  grantId: string;
  tenantId: string;
  client: { id: string; name: string | null };
  manager: { id: string; userName: string };
  authorizedAt: string;
  lastRefreshAt: string | null;
  lastRequestAt: string | null;
  lastTestConnectionAt: string | null;
  revokedAt: string | null;
  revokedBy: string | null;
  last24h: Outcomes;
  health: Health;
}

declare module 'koa' {
  interface DefaultState {
    /** Connection writes the token endpoint started; awaited before its answer leaves. */
    connectionWrites?: Promise<void>[];
  }
}

/**
 * Keeps the connections table in step with the token endpoint: a code
 * exchanged by a provisioning client makes a connection, a refresh stamps
 * it. The writes are awaited before the token answer goes out (one indexed
 * write), so a connection is listed as soon as Entra holds its tokens.
 */
export function observeGrants(provider: Provider, db: Db, log: Logger, clock: () => number): Koa.Middleware {
  provider.on('grant.success', (ctx: Koa.Context) => {
    const oidc = ctx.oidc as unknown as
      | {
          params?: { grant_type?: unknown };
          entities?: { Grant?: { jti: string; accountId?: string; clientId?: string } };
          client?: unknown;
        }
      | undefined;
    const grant = oidc?.entities?.Grant;
    const kind = (oidc?.client as Record<string, unknown> | undefined)?.securelogin_kind;
    if (!grant || kind === 'app') return;
    const grantType = String(oidc?.params?.grant_type ?? '');
    const at = new Date(clock()).toISOString();
    const write = (async () => {
      if (grantType === 'refresh_token') {
        await db.updateTable('connections').set({ last_refresh_at: at }).where('grant_id', '=', grant.jti).execute();
        return;
      }
      if (grantType !== 'authorization_code') return;
      const account = parseAccountId(grant.accountId);
      if (!account || !grant.clientId) return;
      const manager = await findAccountById(db, account.tenantId, account.userId);
      await db
        .insertInto('connections')
        .values({
          grant_id: grant.jti,
          tenant_id: account.tenantId,
          client_id: grant.clientId,
          manager_id: account.userId,
          manager_user_name: manager?.userName ?? account.userId,
          authorized_at: at,
        })
        .onConflict((oc) => oc.column('grant_id').doNothing())
        .execute();
    })().catch((error) => log.warn({ err: error, requestId: ctx.state.requestId }, 'recording the connection failed'));
    ctx.state.connectionWrites ??= [];
    ctx.state.connectionWrites.push(write);
  });
  return async (ctx, next) => {
    await next();
    if (ctx.state.connectionWrites) await Promise.all(ctx.state.connectionWrites);
  };
}

export async function grantAlive(Adapter: AdapterClass, grantId: string): Promise<boolean> {
  return (await new Adapter('Grant').find(grantId)) !== undefined;
}

type ConnectionRow = Awaited<ReturnType<typeof connectionRows>>[number];

function connectionRows(db: Db, where: { tenantId?: string; grantId?: string }) {
  let query = db
    .selectFrom('connections')
    .leftJoin('clients', 'clients.id', 'connections.client_id')
    .selectAll('connections')
    .select('clients.name as client_name');
  if (where.tenantId !== undefined) query = query.where('connections.tenant_id', '=', where.tenantId);
  if (where.grantId !== undefined) query = query.where('connections.grant_id', '=', where.grantId);
  return query.orderBy('connections.authorized_at', 'desc').orderBy('connections.grant_id').execute();
}

const LIST_OPERATIONS = new Set(['list_users', 'list_groups', 'test_connection']);

async function outcomesOf(db: Db, grantId: string, since: string): Promise<Outcomes> {
  const rows = await db
    .selectFrom('scim_activity')
    .select(['status', 'scim_type', 'operation', (eb) => eb.fn.countAll<number | string>().as('n')])
    .where('grant_id', '=', grantId)
    .where('at', '>=', since)
    .groupBy(['status', 'scim_type', 'operation'])
    .execute();
  const outcomes: Outcomes = { total: 0, ok: 0, unauthorized: 0, clientErrors: {}, serverErrors: 0, filterNotFound: 0 };
  for (const row of rows) {
    const n = Number(row.n);
    outcomes.total += n;
    if (row.status < 400) outcomes.ok += n;
    else if (row.status === 401) outcomes.unauthorized += n;
    else if (row.status >= 500) outcomes.serverErrors += n;
    else {
      const key = row.scim_type ?? String(row.status);
      outcomes.clientErrors[key] = (outcomes.clientErrors[key] ?? 0) + n;
      if (row.status === 404 && LIST_OPERATIONS.has(row.operation)) outcomes.filterNotFound += n;
    }
  }
  return outcomes;
}

async function latest(db: Db, grantId: string, operation?: string): Promise<string | null> {
  let query = db.selectFrom('scim_activity').select('at').where('grant_id', '=', grantId);
  if (operation) query = query.where('operation', '=', operation);
  const row = await query.orderBy('at', 'desc').limit(1).executeTakeFirst();
  return row?.at ?? null;
}

async function describe(db: Db, Adapter: AdapterClass, row: ConnectionRow, now: number): Promise<Connection> {
  const since = new Date(now - 86_400_000).toISOString();
  const [last24h, lastRequestAt, lastTestConnectionAt, alive, standing] = await Promise.all([
    outcomesOf(db, row.grant_id, since),
    latest(db, row.grant_id),
    latest(db, row.grant_id, 'test_connection'),
    row.revoked_at ? Promise.resolve(false) : grantAlive(Adapter, row.grant_id),
    standingOf(db, accountIdFor(row.tenant_id, row.manager_id)),
  ]);
  const managerActive = standing.kind === 'manager';
  return {
    grantId: row.grant_id,
    tenantId: row.tenant_id,
    client: { id: row.client_id, name: row.client_name ?? null },
    manager: { id: row.manager_id, userName: row.manager_user_name },
    authorizedAt: row.authorized_at,
    lastRefreshAt: row.last_refresh_at,
    lastRequestAt,
    lastTestConnectionAt,
    revokedAt: row.revoked_at,
    revokedBy: row.revoked_by,
    last24h,
    health: judge({ revokedAt: row.revoked_at, grantAlive: alive, managerActive, lastRequestAt, last24h }, now),
  };
}

/** A tenant's connections, newest first, each with its health now. */
export async function listConnections(db: Db, Adapter: AdapterClass, tenantId: string, now: number): Promise<Connection[]> {
  const rows = await connectionRows(db, { tenantId });
  return Promise.all(rows.map((row) => describe(db, Adapter, row, now)));
}

/** One connection, or undefined when no such grant was ever a connection. */
export async function findConnection(db: Db, Adapter: AdapterClass, grantId: string, now: number): Promise<Connection | undefined> {
  if (!isStorableText(grantId)) return undefined;
  const [row] = await connectionRows(db, { grantId });
  return row ? describe(db, Adapter, row, now) : undefined;
}

/**
 * Ends a connection at once: the grant and every token of it leave the
 * session store (Entra's next SCIM request gets 401, its next refresh
 * invalid_grant), and the connection is marked revoked by `by`.
 */
export async function revokeConnection(db: Db, Adapter: AdapterClass, grantId: string, by: string, now: number): Promise<void> {
  // Tokens first: a grant without tokens is harmless, tokens without a grant are refused anyway.
  await new Adapter('AccessToken').revokeByGrantId(grantId);
  await new Adapter('Grant').destroy(grantId);
  await db
    .updateTable('connections')
    .set({ revoked_at: new Date(now).toISOString(), revoked_by: by })
    .where('grant_id', '=', grantId)
    .where('revoked_at', 'is', null)
    .execute();
}

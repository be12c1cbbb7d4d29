import type Koa from 'koa';
import { type Connection, findConnection, listConnections, revokeConnection } from '../activity/index.ts';
import type { Translate } from '../web/i18n.ts';
import type { MessageKey } from './locales/index.ts';
import { CONSOLE_PATH } from './session.ts';
import { type ConsoleParts, page, showMessage, text } from './view.ts';

/** "2026-12-04 21:40 UTC": the same for every reader, whatever their time zone. */
export function when(iso: string | null, t: Translate<MessageKey>): string {
  if (!iso) return t('connections.never');
  return `${iso.slice(0, 16).replace('T', ' ')} UTC`;
}

function row(connection: Connection, t: Translate<MessageKey>) {
  const { last24h, health } = connection;
  const outcomes: string[] = [];
  if (last24h.ok) outcomes.push(t('outcome.ok', { n: last24h.ok }));
  if (last24h.unauthorized) outcomes.push(t('outcome.unauthorized', { n: last24h.unauthorized }));
  for (const [kind, n] of Object.entries(last24h.clientErrors)) outcomes.push(t('outcome.client', { n, kind }));
  if (last24h.serverErrors) outcomes.push(t('outcome.server', { n: last24h.serverErrors }));
  return {
    grantId: connection.grantId,
    client: connection.client.name ?? connection.client.id,
    clientId: connection.client.id,
    manager: connection.manager.userName,
    authorizedAt: when(connection.authorizedAt, t),
    lastRefreshAt: when(connection.lastRefreshAt, t),
    lastRequestAt: when(connection.lastRequestAt, t),
    lastTestConnectionAt: when(connection.lastTestConnectionAt, t),
    outcomes: outcomes.length ? outcomes.join(', ') : t('outcome.none'),
    verdict: health.verdict,
    verdictLabel: t(`verdict.${health.verdict}`),
    reasons: health.reasons.map((reason) => t(`reason.${reason}`, { percent: Math.round(health.failureRatio * 100) })),
    revoked: connection.revokedAt
      ? t('connections.revoked_by', { at: when(connection.revokedAt, t), by: connection.revokedBy ?? '' })
      : undefined,
    revocable: health.verdict !== 'revoked',
  };
}

/** GET /console/connections: the tenant's Entra connections, each with its health. */
export async function showConnections(ctx: Koa.Context, parts: ConsoleParts): Promise<void> {
  const visit = ctx.state.console!;
  // What this instance still holds in memory is written first, so the page shows the latest request.
  await parts.recorder.flush();
  const connections = await listConnections(parts.db, parts.Adapter, visit.tenant.id, parts.clock());
  const t = text(ctx);
  page(ctx, 'connections.njk', {
    tenantName: visit.tenant.name,
    connections: connections.map((connection) => row(connection, t)),
    revokedNotice: ctx.query.revoked === '1',
  });
}

/** The connection named in the path, if it is this tenant's; another tenant's is as unknown as a made-up id. */
async function ownConnection(ctx: Koa.Context, parts: ConsoleParts): Promise<Connection | undefined> {
  const visit = ctx.state.console!;
  const connection = await findConnection(parts.db, parts.Adapter, String(ctx.params.grant ?? ''), parts.clock());
  if (!connection || connection.tenantId !== visit.tenant.id) {
    showMessage(ctx, 404, 'not_found');
    return undefined;
  }
  return connection;
}

/** GET /console/connections/:grant/revoke: the confirmation step. */
export async function confirmRevoke(ctx: Koa.Context, parts: ConsoleParts): Promise<void> {
  const connection = await ownConnection(ctx, parts);
  if (!connection) return;
  const visit = ctx.state.console!;
  page(ctx, 'revoke.njk', {
    connection: row(connection, text(ctx)),
    tenantName: visit.tenant.name,
    action: `${CONSOLE_PATH}/connections/${encodeURIComponent(connection.grantId)}/revoke`,
  });
}

/** POST /console/connections/:grant/revoke (CSRF-checked): ends the connection at once. */
export async function revoke(ctx: Koa.Context, parts: ConsoleParts): Promise<void> {
  const connection = await ownConnection(ctx, parts);
  if (!connection) return;
  const visit = ctx.state.console!;
  await revokeConnection(parts.db, parts.Adapter, connection.grantId, `console:${visit.manager.userName}`, parts.clock());
  parts.log.warn(
    { requestId: ctx.state.requestId, tenantId: visit.tenant.id, grantId: connection.grantId, by: visit.manager.id },
    'connection revoked from the console',
  );
  ctx.status = 303;
  ctx.redirect(`${CONSOLE_PATH}/connections?revoked=1`);
}

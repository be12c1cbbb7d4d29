import { type Connection, findConnection, listConnections, revokeConnection } from '../activity/index.ts';
import { getTenant } from '../directory/index.ts';
import { type Command, type Group, Refused, table } from './command.ts';
import { withSessions } from './unblock.ts';

export function connectionJson(connection: Connection) {
  return {
    grant_id: connection.grantId,
    client_id: connection.client.id,
    client_name: connection.client.name,
    manager: connection.manager.userName,
    authorized_at: connection.authorizedAt,
    last_refresh_at: connection.lastRefreshAt,
    last_request_at: connection.lastRequestAt,
    last_test_connection_at: connection.lastTestConnectionAt,
    revoked_at: connection.revokedAt,
    revoked_by: connection.revokedBy,
    last_24h: {
      total: connection.last24h.total,
      ok: connection.last24h.ok,
      unauthorized: connection.last24h.unauthorized,
      client_errors: connection.last24h.clientErrors,
      server_errors: connection.last24h.serverErrors,
    },
    health: connection.health.verdict,
    reasons: connection.health.reasons,
    failure_ratio: Math.round(connection.health.failureRatio * 1000) / 1000,
  };
}

const short = (iso: string | null) => (iso ? `${iso.slice(0, 16).replace('T', ' ')}Z` : '-');

const list: Command = {
  name: 'list',
  summary: "List a tenant's Entra connections with their health",
  args: ['domain'],
  details:
    'One row per connection (a grant a manager allowed to Entra): healthy, at_risk (failures near\n' +
    "Entra's quarantine threshold, 401s, 404s on Entra's queries, or the manager who allowed it is no\n" +
    'longer an active manager), silent (no request for two cycles), or revoked. See README, Monitoring.',
  async run(invocation) {
    const tenant = await getTenant(invocation.store.db, invocation.args.domain!);
    const connections = await withSessions(invocation, (sessions) =>
      listConnections(invocation.store.db, sessions.Adapter, tenant.id, Date.now()),
    );
    const text = connections.length
      ? table(
          ['GRANT', 'HEALTH', 'REASONS', 'MANAGER', 'AUTHORIZED', 'LAST REQUEST', '24H OK/FAILED'],
          connections.map((c) => [
            c.grantId,
            c.health.verdict,
            c.health.reasons.join(','),
            c.manager.userName,
            short(c.authorizedAt),
            short(c.lastRequestAt),
            `${c.last24h.ok}/${c.last24h.total - c.last24h.ok}`,
          ]),
        )
      : `${tenant.name} has no Entra connection yet.`;
    return { text, json: connections.map(connectionJson) };
  },
};

const revoke: Command = {
  name: 'revoke',
  summary: 'End an Entra connection at once (its grant and every token of it)',
  args: ['grant-id'],
  details:
    "Entra's next SCIM request gets 401 and its next refresh invalid_grant. The grant id is in `connection list`;\n" +
    'one that begins with "-" goes after --: securelogin connection revoke -- -AbC…',
  async run(invocation) {
    const grantId = invocation.args['grant-id']!;
    const revoked = await withSessions(invocation, async (sessions) => {
      const connection = await findConnection(invocation.store.db, sessions.Adapter, grantId, Date.now());
      if (!connection) throw new Refused(`no connection has the grant id ${grantId}; see securelogin connection list <domain>`);
      if (connection.revokedAt) throw new Refused(`the connection ${grantId} was already revoked at ${connection.revokedAt}`);
      await revokeConnection(invocation.store.db, sessions.Adapter, grantId, 'cli', Date.now());
      return (await findConnection(invocation.store.db, sessions.Adapter, grantId, Date.now()))!;
    });
    return { text: `Revoked the connection ${grantId} (allowed by ${revoked.manager.userName}).`, json: connectionJson(revoked) };
  },
};

export const connectionCommands: Group = {
  name: 'connection',
  summary: 'Entra connections: their health, and ending one',
  commands: [list, revoke],
};

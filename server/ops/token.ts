import { getTenant } from '../directory/index.ts';
import { now } from '../store/index.ts';
import { addScimToken, listScimTokens, revokeScimToken, type ScimToken } from '../tokens/index.ts';
import { entraEndpoints } from './client.ts';
import { type Command, type Group, table, UsageError } from './command.ts';
import { parseDuration, roughSpan } from './duration.ts';

function tokenJson(token: ScimToken, tenantDomain: string | null) {
  return {
    id: token.id,
    tenant: tenantDomain,
    name: token.name,
    created_at: token.createdAt,
    expires_at: token.expiresAt,
    last_used_at: token.lastUsedAt,
  };
}

function when(iso: string | null, empty: string): string {
  return iso === null ? empty : iso.slice(0, 16).replace('T', ' ');
}

const add: Command = {
  name: 'add',
  summary: "Make a long-lived SCIM token for a tenant (Entra's non-gallery app: Secret Token); prints it once",
  args: ['domain'],
  options: {
    name: { type: 'string', value: 'name', description: 'What `token list` calls it (default "Microsoft Entra ID")' },
    'expires-in': {
      type: 'string',
      value: 'duration',
      description: 'The token stops working after this long, e.g. 1y or 90d (default never)',
    },
  },
  details:
    "The token opens this tenant's SCIM API, nothing else; only its SHA-256 is stored.\n" +
    'Rotate: add a new one, paste it into Entra, then revoke the old one (token list shows when each was last used).',
  async run({ args, options, store, config }) {
    const expiresIn = options['expires-in'] === undefined ? undefined : parseDuration('expires-in', options['expires-in'] as string);
    if (expiresIn === 0) throw new UsageError('--expires-in must be longer than 0 (e.g. 1y)');
    const { scimToken, token, tenant } = await addScimToken(store.db, {
      tenantDomain: args.domain!,
      name: options.name as string | undefined,
      expiresIn,
    });
    const domain = tenant.domains[0];
    const { tenant_url } = entraEndpoints(config);
    const lines = [
      `Added SCIM token "${scimToken.name}" for tenant ${domain}${scimToken.expiresAt ? `, valid until ${when(scimToken.expiresAt, '')} UTC` : ''}.`,
      '',
      'In the Microsoft Entra admin center, open the enterprise app (non-gallery),',
      'Provisioning → Provisioning Mode: Automatic → Admin Credentials, and fill in:',
      '',
      `  Tenant URL         ${tenant_url}`,
      `  Secret Token       ${token}`,
      '',
      'Then click Test Connection.',
      `The token is shown only now and is stored hashed; if it is lost, add another and run: npx securelogin token revoke ${scimToken.id}`,
    ];
    if (config.publicUrl.protocol !== 'https:') {
      lines.push(`Note: PUBLIC_URL is ${config.publicUrl.origin}; Entra only reaches a public https address, so set PUBLIC_URL to it.`);
    }
    return { json: { ...tokenJson(scimToken, domain), token, tenant_url }, text: lines.join('\n') };
  },
};

const list: Command = {
  name: 'list',
  summary: "List a tenant's SCIM tokens (never the tokens themselves)",
  args: ['domain'],
  async run({ args, store }) {
    const tenant = await getTenant(store.db, args.domain!);
    const tokens = await listScimTokens(store.db, tenant.id);
    const at = now();
    const text = tokens.length
      ? table(
          ['ID', 'NAME', 'CREATED', 'EXPIRES', 'LAST USED'],
          tokens.map((t) => [
            t.id,
            t.name,
            `${when(t.createdAt, '')} (${roughSpan(t.createdAt, at)} ago)`,
            t.expiresAt === null ? 'never' : t.expiresAt <= at ? `${when(t.expiresAt, '')} (expired)` : when(t.expiresAt, ''),
            when(t.lastUsedAt, 'never'),
          ]),
        )
      : `No SCIM tokens for ${tenant.domains[0]}. Add one with: npx securelogin token add ${tenant.domains[0]}`;
    return { json: tokens.map((t) => tokenJson(t, tenant.domains[0])), text };
  },
};

const revoke: Command = {
  name: 'revoke',
  summary: 'Revoke a SCIM token: the next request that presents it is refused',
  args: ['id'],
  async run({ args, store }) {
    const revoked = await revokeScimToken(store.db, args.id!);
    return {
      json: tokenJson(revoked, revoked.tenantDomain),
      text: `Revoked SCIM token "${revoked.name}" (${revoked.id}) of ${revoked.tenantDomain ?? 'a removed tenant'}; it no longer works.`,
    };
  },
};

export const tokenCommands: Group = {
  name: 'token',
  summary: "Long-lived SCIM tokens for Entra's non-gallery app: add, list, revoke",
  commands: [add, list, revoke],
};

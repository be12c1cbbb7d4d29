import { APP_SCOPES, DOMAIN_CLAIM } from '../apps/index.ts';
import type { Config } from '../config.ts';
import {
  addAppClient,
  addClient,
  type Client,
  ENTRA_REDIRECT_URI,
  findTenantById,
  getTenant,
  listClients,
  removeClient,
  rotateClientSecret,
} from '../directory/index.ts';
import { launchPath, signOnUrl } from '../sso/index.ts';
import { type Command, type Group, table, UsageError } from './command.ts';

export function clientJson(client: Client & { tenantDomain?: string | null }) {
  return {
    client_id: client.id,
    name: client.name,
    tenant: client.tenantDomain ?? null,
    // Entra's provisioning clients read as they always have; an app says what it is.
    ...(client.kind === 'app' ? { kind: client.kind, public: client.isPublic } : {}),
    redirect_uris: client.redirectUris,
    created_at: client.createdAt,
    secret_rotated_at: client.secretRotatedAt,
  };
}

/** The values an Entra administrator types under Provisioning → Admin Credentials. */
export function entraEndpoints(config: Pick<Config, 'publicUrl'>) {
  const base = config.publicUrl.origin;
  return { authorization_url: `${base}/oauth/authorize`, token_url: `${base}/oauth/token`, tenant_url: `${base}/scim/v2` };
}

function credentialsText(config: Config, client: Client, clientSecret: string, tenantDomain: string | null): string {
  const urls = entraEndpoints(config);
  const lines = [
    'In the Microsoft Entra admin center, open the SecureLogin enterprise app,',
    'Provisioning → Provisioning Mode: Automatic → Admin Credentials, and fill in:',
    '',
    `  Authorization URL  ${urls.authorization_url}`,
    `  Token URL          ${urls.token_url}`,
    `  Client ID          ${client.id}`,
    `  Client Secret      ${clientSecret}`,
    `  Tenant URL         ${urls.tenant_url}`,
    '',
    `Then click Authorize, sign in as a manager of ${tenantDomain ?? 'your tenant'}, allow access, and click Test Connection.`,
    `The client secret is shown only now and is stored hashed; if it is lost, run: npx securelogin client rotate-secret ${client.id}`,
  ];
  if (config.publicUrl.protocol !== 'https:') {
    lines.push(`Note: PUBLIC_URL is ${config.publicUrl.origin}; Entra only reaches a public https address, so set PUBLIC_URL to it.`);
  }
  return lines.join('\n');
}

/** What a SecureLogin app is configured with: the issuer, its scopes and the sign-on URL of a tenant. */
export function appEndpoints(config: Pick<Config, 'publicUrl'>, client: Client, tenantDomain: string | null) {
  const base = config.publicUrl.origin;
  const domain = tenantDomain ?? '<domain>';
  const placeholder = (url: string) => url.replaceAll('%3Cdomain%3E', '<domain>');
  return {
    issuer: base,
    discovery_url: `${base}/.well-known/openid-configuration`,
    scopes: [...APP_SCOPES],
    // A confidential app is launched from Entra's My Apps by our /sso/start; a
    // public one must start its own sign-in (PKCE), from this Authorize URL.
    sign_on_url: placeholder(client.isPublic ? `${base}${launchPath(client, domain)}` : signOnUrl(config.publicUrl, domain, client.id)),
  };
}

function appText(config: Config, client: Client, clientSecret: string | undefined, tenantDomain: string | null): string {
  const urls = appEndpoints(config, client, tenantDomain);
  const lines = [
    'Configure the SecureLogin app as an OpenID Connect client:',
    '',
    `  Issuer             ${urls.issuer}`,
    `  Discovery          ${urls.discovery_url}`,
    `  Client ID          ${client.id}`,
    clientSecret === undefined
      ? '  Client Secret      none: a public client (token_endpoint_auth_method none)'
      : `  Client Secret      ${clientSecret}`,
    `  Redirect URIs      ${client.redirectUris.join(' ')}`,
    `  Scopes             ${urls.scopes.join(' ')} (offline_access with prompt=consent for a refresh token)`,
    client.isPublic ? '  PKCE               required (S256)' : '  PKCE               optional (S256); a code_challenge sent is enforced',
    `  Claims             sub, name, given_name, family_name, email, preferred_username, ${DOMAIN_CLAIM}`,
    '',
    client.isPublic
      ? `Sign-on URL (add state, nonce and a code_challenge): ${urls.sign_on_url}`
      : `Sign-on URL (for Entra's My Apps; see securelogin sso show): ${urls.sign_on_url}`,
  ];
  if (clientSecret !== undefined) {
    lines.push(
      `The client secret is shown only now and is stored hashed; if it is lost, run: npx securelogin client rotate-secret ${client.id}`,
    );
  }
  return lines.join('\n');
}

async function tenantDomainOf(store: Parameters<Command['run']>[0]['store'], tenantId: string | null): Promise<string | null> {
  if (tenantId === null) return null;
  return (await findTenantById(store.db, tenantId))?.domains[0] ?? null;
}

const add: Command = {
  name: 'add',
  summary: 'Register an Entra client, or with --app a SecureLogin app, for a tenant (or any tenant); prints its ID and secret once',
  args: ['domain?'],
  options: {
    'any-tenant': { type: 'boolean', description: 'The client serves every tenant; the manager picks one on the Go to domain page' },
    app: {
      type: 'boolean',
      description: 'A SecureLogin app signing users in with OpenID Connect (scopes openid profile email offline_access, PKCE)',
    },
    public: { type: 'boolean', description: 'With --app: a browser or desktop app that keeps no secret (no client secret, PKCE)' },
    name: {
      type: 'string',
      value: 'name',
      description: 'What the sign-in pages call the client (default "Microsoft Entra ID", with --app "SecureLogin")',
    },
    'redirect-uri': {
      type: 'string',
      multiple: true,
      value: 'url',
      description: `Where codes may be sent; repeat for several (default ${ENTRA_REDIRECT_URI}; required with --app)`,
    },
  },
  details:
    'A client bound to a tenant gets the Go to domain page prefilled and refuses other domains.\n' +
    'Give each Entra tenant its own client; the secret is 256 random bits and only its hash is stored.\n' +
    'An --app client lets any active user of the tenant sign in (no consent page); it never reaches SCIM.',
  async run({ args, options, store, config }) {
    const anyTenant = options['any-tenant'] === true;
    if (anyTenant && args.domain) throw new UsageError('give either a <domain> or --any-tenant, not both');
    if (!anyTenant && !args.domain) throw new UsageError('missing <domain> (or --any-tenant for a client that serves every tenant)');
    const app = options.app === true;
    if (options.public === true && !app) throw new UsageError('--public applies to --app clients only');
    const redirectUris = options['redirect-uri'] as string[] | undefined;
    if (app && !redirectUris?.length) throw new UsageError('an --app client needs --redirect-uri <url> (repeat for several)');
    const tenantDomain = args.domain ? (await getTenant(store.db, args.domain)).domains[0] : null;
    if (app) {
      const added = await addAppClient(store.db, {
        tenantDomain,
        name: options.name as string | undefined,
        redirectUris: redirectUris!,
        isPublic: options.public === true,
      });
      const { client_id, ...described } = clientJson({ ...added.client, tenantDomain });
      return {
        json: { client_id, client_secret: added.clientSecret ?? null, ...described, ...appEndpoints(config, added.client, tenantDomain) },
        text: `Added app client "${added.client.name}" for ${tenantDomain ? `tenant ${tenantDomain}` : 'any tenant'}.\n\n${appText(config, added.client, added.clientSecret, tenantDomain)}`,
      };
    }
    const { client, clientSecret } = await addClient(store.db, {
      tenantDomain,
      name: options.name as string | undefined,
      redirectUris: options['redirect-uri'] as string[] | undefined,
    });
    const { client_id, ...described } = clientJson({ ...client, tenantDomain });
    return {
      json: { client_id, client_secret: clientSecret, ...described, ...entraEndpoints(config) },
      text: `Added client "${client.name}" for ${tenantDomain ? `tenant ${tenantDomain}` : 'any tenant'}.\n\n${credentialsText(config, client, clientSecret, tenantDomain)}`,
    };
  },
};

const list: Command = {
  name: 'list',
  summary: 'List clients, all of them or those bound to one tenant',
  args: ['domain?'],
  async run({ args, store }) {
    let clients = await listClients(store.db);
    if (args.domain) {
      const tenant = await getTenant(store.db, args.domain);
      clients = clients.filter((c) => c.tenantId === tenant.id);
    }
    const text = clients.length
      ? table(
          ['CLIENT ID', 'TENANT', 'KIND', 'NAME', 'SECRET ROTATED'],
          clients.map((c) => [
            c.id,
            c.tenantDomain ?? '(any tenant)',
            c.kind === 'app' ? (c.isPublic ? 'app (public)' : 'app') : 'provisioning',
            c.name,
            c.isPublic ? '(no secret)' : c.secretRotatedAt.slice(0, 10),
          ]),
        )
      : 'No clients yet. Add one with: npx securelogin client add <domain>';
    return { json: clients.map(clientJson), text };
  },
};

const rotateSecret: Command = {
  name: 'rotate-secret',
  summary: "Replace a client's secret and print the new one once",
  args: ['client_id'],
  details: 'The old secret stops working at once: paste the new one into Entra under Admin Credentials → Client Secret.',
  async run({ args, store, config }) {
    const { client, clientSecret } = await rotateClientSecret(store.db, args.client_id!);
    const tenantDomain = await tenantDomainOf(store, client.tenantId);
    const { client_id, ...described } = clientJson({ ...client, tenantDomain });
    return {
      json: { client_id, client_secret: clientSecret, ...described },
      text:
        `New secret for client "${client.name}" (${tenantDomain ?? 'any tenant'}); the old one no longer works.\n\n` +
        (client.kind === 'app'
          ? appText(config, client, clientSecret, tenantDomain)
          : credentialsText(config, client, clientSecret, tenantDomain)),
    };
  },
};

const remove: Command = {
  name: 'remove',
  summary: 'Remove a client; the tokens issued to it stop working',
  args: ['client_id'],
  async run({ args, store }) {
    const found = (await listClients(store.db)).find((c) => c.id === args.client_id);
    const client = await removeClient(store.db, args.client_id!);
    return {
      json: clientJson({ ...client, tenantDomain: found?.tenantDomain ?? null }),
      text: `Removed client "${client.name}" (${client.id}); the tokens issued to it no longer work.`,
    };
  },
};

export const clientCommands: Group = {
  name: 'client',
  summary: 'Entra clients and SecureLogin app clients: add, list, rotate-secret, remove',
  commands: [add, list, rotateSecret, remove],
};

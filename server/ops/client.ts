import { APP_SCOPES, DOMAIN_CLAIM } from '../apps/index.ts';
import type { Config } from '../config.ts';
import {
  addAppClient,
  addClient,
  CLIENT_CREDENTIALS_TTL,
  type Client,
  DEFAULT_KEEP_OLD_SECONDS,
  ENTRA_REDIRECT_URI,
  findTenantById,
  getTenant,
  listClients,
  removeClient,
  rotateClientSecret,
} from '../directory/index.ts';
import { launchPath, signOnUrl } from '../sso/index.ts';
import { now } from '../store/index.ts';
import { type Command, type Group, table, UsageError } from './command.ts';
import { formatDuration, parseDuration, roughSpan } from './duration.ts';

export function clientJson(client: Client & { tenantDomain?: string | null }) {
  return {
    client_id: client.id,
    name: client.name,
    tenant: client.tenantDomain ?? null,
    // Entra's provisioning clients read as they always have; an app says what it is.
    ...(client.kind === 'app' ? { kind: client.kind, public: client.isPublic } : {}),
    ...(client.grant === 'client_credentials' ? { grant: client.grant, token_lifetime: client.tokenLifetime } : {}),
    redirect_uris: client.redirectUris,
    created_at: client.createdAt,
    secret_rotated_at: client.secretRotatedAt,
    // The secrets that work now, newest first (after a rotation, the old one until its overlap ends).
    secrets: client.secrets.map((secret) => ({ id: secret.id, created_at: secret.createdAt, expires_at: secret.expiresAt })),
  };
}

/** "3d old, expires 2027-12-04 (in 365d)" for the list and the rotation's answer. */
function secretText(secret: Client['secrets'][number], at: string): [string, string] {
  const age = roughSpan(secret.createdAt, at);
  const expiry =
    secret.expiresAt === null ? 'never' : `${secret.expiresAt.slice(0, 16).replace('T', ' ')} (in ${roughSpan(at, secret.expiresAt)})`;
  return [age, expiry];
}

/** The values an Entra administrator types under Provisioning → Admin Credentials. */
export function entraEndpoints(config: Pick<Config, 'publicUrl'>) {
  const base = config.publicUrl.origin;
  return { authorization_url: `${base}/oauth/authorize`, token_url: `${base}/oauth/token`, tenant_url: `${base}/scim/v2` };
}

function credentialsText(config: Config, client: Client, clientSecret: string, tenantDomain: string | null): string {
  const urls = entraEndpoints(config);
  if (client.grant === 'client_credentials') return clientCredentialsText(config, client, clientSecret, tenantDomain);
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

function clientCredentialsText(config: Config, client: Client, clientSecret: string, tenantDomain: string | null): string {
  const urls = entraEndpoints(config);
  const lines = [
    `Entra connects to ${tenantDomain} with the client credentials grant (no sign-in; scope scim; tokens last ${formatDuration(client.tokenLifetime ?? CLIENT_CREDENTIALS_TTL.default)}):`,
    '',
    `  Token URL          ${urls.token_url}`,
    `  Client ID          ${client.id}`,
    `  Client Secret      ${clientSecret}`,
    `  Tenant URL         ${urls.tenant_url}`,
    '',
    'Then click Test Connection.',
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
    grant: {
      type: 'string',
      value: 'grant',
      description: "authorization_code (default: Entra's Authorize, a manager signs in) or client_credentials (no sign-in; one tenant)",
    },
    'token-lifetime': {
      type: 'string',
      value: 'duration',
      description: 'With --grant client_credentials: how long access tokens last, 60m to 6h (default 60m)',
    },
    'secret-expires-in': {
      type: 'string',
      value: 'duration',
      description: "The secret stops working after this long, e.g. 1y or 2y (Entra's gallery asks for 1 to 3 years; default never)",
    },
  },
  details:
    'A client bound to a tenant gets the Go to domain page prefilled and refuses other domains.\n' +
    'Give each Entra tenant its own client; the secret is 256 random bits and only its hash is stored.\n' +
    'An --app client lets any active user of the tenant sign in (no consent page); it never reaches SCIM.\n' +
    'A --grant client_credentials client is bound to one tenant and gets SCIM tokens with its secret alone.\n' +
    'Durations: 30m, 12h, 7d, 1y.',
  async run({ args, options, store, config }) {
    const anyTenant = options['any-tenant'] === true;
    if (anyTenant && args.domain) throw new UsageError('give either a <domain> or --any-tenant, not both');
    if (!anyTenant && !args.domain) throw new UsageError('missing <domain> (or --any-tenant for a client that serves every tenant)');
    const app = options.app === true;
    if (options.public === true && !app) throw new UsageError('--public applies to --app clients only');
    const redirectUris = options['redirect-uri'] as string[] | undefined;
    if (app && !redirectUris?.length) throw new UsageError('an --app client needs --redirect-uri <url> (repeat for several)');
    const grant = (options.grant as string | undefined) ?? 'authorization_code';
    if (grant !== 'authorization_code' && grant !== 'client_credentials') {
      throw new UsageError(`--grant is authorization_code or client_credentials, not "${grant}"`);
    }
    if (grant === 'client_credentials' && (app || anyTenant)) {
      throw new UsageError(
        '--grant client_credentials makes an Entra client for one tenant: give its <domain>, without --app or --any-tenant',
      );
    }
    if (options['token-lifetime'] !== undefined && grant !== 'client_credentials') {
      throw new UsageError('--token-lifetime applies to --grant client_credentials clients only');
    }
    const tokenLifetime =
      options['token-lifetime'] === undefined ? undefined : parseDuration('token-lifetime', options['token-lifetime'] as string);
    if (tokenLifetime !== undefined && (tokenLifetime < CLIENT_CREDENTIALS_TTL.min || tokenLifetime > CLIENT_CREDENTIALS_TTL.max)) {
      throw new UsageError(`--token-lifetime must be between 60m and 6h, not ${options['token-lifetime']}`);
    }
    const secretExpiresIn =
      options['secret-expires-in'] === undefined ? undefined : parseDuration('secret-expires-in', options['secret-expires-in'] as string);
    if (secretExpiresIn === 0) throw new UsageError('--secret-expires-in must be longer than 0 (e.g. 1y)');
    if (secretExpiresIn !== undefined && options.public === true) throw new UsageError('a --public app has no secret to expire');
    const tenantDomain = args.domain ? (await getTenant(store.db, args.domain)).domains[0] : null;
    if (app) {
      const added = await addAppClient(store.db, {
        tenantDomain,
        name: options.name as string | undefined,
        redirectUris: redirectUris!,
        isPublic: options.public === true,
        secretExpiresIn,
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
      grant,
      tokenLifetime,
      secretExpiresIn,
    });
    const { client_id, ...described } = clientJson({ ...client, tenantDomain });
    const { authorization_url, ...endpoints } = entraEndpoints(config);
    return {
      json: {
        client_id,
        client_secret: clientSecret,
        ...described,
        ...(grant === 'client_credentials' ? endpoints : { authorization_url, ...endpoints }),
      },
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
    const at = now();
    // One row per secret that works now: during a rotation's overlap a client has two.
    const rows = clients.flatMap((c) => {
      const described = [
        c.id,
        c.tenantDomain ?? '(any tenant)',
        c.kind === 'app' ? (c.isPublic ? 'app (public)' : 'app') : c.grant === 'client_credentials' ? 'client credentials' : 'provisioning',
        c.name,
      ];
      if (c.isPublic) return [[...described, '(no secret)', '']];
      if (c.secrets.length === 0) return [[...described, '(expired)', 'rotate-secret']];
      return c.secrets.map((secret, i) => [...(i === 0 ? described : ['', '', '', '']), ...secretText(secret, at)]);
    });
    const text = clients.length
      ? table(['CLIENT ID', 'TENANT', 'KIND', 'NAME', 'SECRET AGE', 'SECRET EXPIRES'], rows)
      : 'No clients yet. Add one with: npx securelogin client add <domain>';
    return { json: clients.map(clientJson), text };
  },
};

const rotateSecret: Command = {
  name: 'rotate-secret',
  summary: 'Issue a new secret for a client and print it once; the old one keeps working for the overlap',
  args: ['client_id'],
  options: {
    'keep-old': {
      type: 'string',
      value: 'duration',
      description: `How long the old secret keeps working, e.g. 1d or 12h; 0 ends it at once (default ${formatDuration(DEFAULT_KEEP_OLD_SECONDS)})`,
    },
    'secret-expires-in': {
      type: 'string',
      value: 'duration',
      description: 'The new secret stops working after this long, e.g. 1y (default: as long as the one it replaces was given)',
    },
  },
  details:
    'Paste the new secret into Entra under Admin Credentials → Client Secret within the overlap; the old one stops by itself.\n' +
    'A leaked secret: --keep-old 0.',
  async run({ args, options, store, config }) {
    const keepOld = options['keep-old'] === undefined ? undefined : parseDuration('keep-old', options['keep-old'] as string);
    const secretExpiresIn =
      options['secret-expires-in'] === undefined ? undefined : parseDuration('secret-expires-in', options['secret-expires-in'] as string);
    if (secretExpiresIn === 0) throw new UsageError('--secret-expires-in must be longer than 0 (e.g. 1y)');
    const { client, clientSecret } = await rotateClientSecret(store.db, args.client_id!, { keepOld, secretExpiresIn });
    const tenantDomain = await tenantDomainOf(store, client.tenantId);
    const { client_id, ...described } = clientJson({ ...client, tenantDomain });
    const old = client.secrets.slice(1);
    const overlap =
      old.length === 0
        ? 'the old one no longer works'
        : `the old one keeps working until ${old[0].expiresAt!.slice(0, 16).replace('T', ' ')} UTC`;
    return {
      json: { client_id, client_secret: clientSecret, ...described },
      text:
        `New secret for client "${client.name}" (${tenantDomain ?? 'any tenant'}); ${overlap}.\n\n` +
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

import type { Config } from '../config.ts';
import {
  addClient,
  type Client,
  ENTRA_REDIRECT_URI,
  findTenantById,
  getTenant,
  listClients,
  removeClient,
  rotateClientSecret,
} from '../directory/index.ts';
import { type Command, type Group, table, UsageError } from './command.ts';

export function clientJson(client: Client & { tenantDomain?: string | null }) {
  return {
    client_id: client.id,
    name: client.name,
    tenant: client.tenantDomain ?? null,
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

async function tenantDomainOf(store: Parameters<Command['run']>[0]['store'], tenantId: string | null): Promise<string | null> {
  if (tenantId === null) return null;
  return (await findTenantById(store.db, tenantId))?.domains[0] ?? null;
}

const add: Command = {
  name: 'add',
  summary: 'Register an Entra client for a tenant (or for any tenant) and print its ID and secret once',
  args: ['domain?'],
  options: {
    'any-tenant': { type: 'boolean', description: 'The client serves every tenant; the manager picks one on the Go to domain page' },
    name: { type: 'string', value: 'name', description: 'What the consent page calls the client (default "Microsoft Entra ID")' },
    'redirect-uri': {
      type: 'string',
      multiple: true,
      value: 'url',
      description: `Where codes may be sent; repeat for several (default ${ENTRA_REDIRECT_URI})`,
    },
  },
  details:
    'A client bound to a tenant gets the Go to domain page prefilled and refuses other domains.\n' +
    'Give each Entra tenant its own client; the secret is 256 random bits and only its hash is stored.',
  async run({ args, options, store, config }) {
    const anyTenant = options['any-tenant'] === true;
    if (anyTenant && args.domain) throw new UsageError('give either a <domain> or --any-tenant, not both');
    if (!anyTenant && !args.domain) throw new UsageError('missing <domain> (or --any-tenant for a client that serves every tenant)');
    const tenantDomain = args.domain ? (await getTenant(store.db, args.domain)).domains[0] : null;
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
          ['CLIENT ID', 'TENANT', 'NAME', 'SECRET ROTATED'],
          clients.map((c) => [c.id, c.tenantDomain ?? '(any tenant)', c.name, c.secretRotatedAt.slice(0, 10)]),
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
        credentialsText(config, client, clientSecret, tenantDomain),
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
  summary: 'Entra clients: add, list, rotate-secret, remove',
  commands: [add, list, rotateSecret, remove],
};

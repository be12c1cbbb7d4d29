import { domainToUnicode } from 'node:url';
import {
  addTenant,
  countUsers,
  getTenant,
  listClients,
  listManagers,
  listTenants,
  removeTenant,
  setTenantDisabled,
  type Tenant,
} from '../directory/index.ts';
import { clientJson } from './client.ts';
import type { Command, Group } from './command.ts';
import { Refused, table, UsageError } from './command.ts';
import { askLine } from './password.ts';

export function tenantJson(tenant: Tenant) {
  return { id: tenant.id, name: tenant.name, disabled: tenant.disabled, domains: tenant.domains, created_at: tenant.createdAt };
}

/** A punycode domain with the Unicode spelling a person recognises beside it. */
export function showDomain(domain: string): string {
  if (!domain.split('.').some((label) => label.startsWith('xn--'))) return domain;
  return `${domain} (${domainToUnicode(domain)})`;
}

function state(tenant: Tenant): string {
  return tenant.disabled ? 'disabled' : 'active';
}

const add: Command = {
  name: 'add',
  summary: 'Register a tenant with its first domain',
  args: ['domain'],
  options: {
    name: {
      type: 'string',
      value: 'display name',
      required: true,
      description: 'The name managers see on the sign-in and consent pages (required)',
    },
  },
  details:
    'The domain is what a manager types on the Go to domain page. It is stored normalised:\n' +
    'lower case, punycode, without scheme, path or port. No two tenants share a domain.',
  async run({ args, options, store }) {
    const tenant = await addTenant(store.db, args.domain!, (options.name as string | undefined) ?? '');
    const domain = tenant.domains[0];
    return {
      json: tenantJson(tenant),
      text:
        `Added tenant ${tenant.name} with the domain ${showDomain(domain)}.\n` +
        `Next, give it a manager: npx securelogin manager add ${domain} <username>`,
    };
  },
};

const list: Command = {
  name: 'list',
  summary: 'List every tenant with its domains',
  args: [],
  async run({ store }) {
    const tenants = await listTenants(store.db);
    const text = tenants.length
      ? table(
          ['DOMAINS', 'NAME', 'STATE', 'CREATED'],
          tenants.map((t) => [t.domains.map(showDomain).join(', '), t.name, state(t), t.createdAt.slice(0, 10)]),
        )
      : 'No tenants yet. Register the first one with: npx securelogin tenant add example.com --name "Example"';
    return { json: tenants.map(tenantJson), text };
  },
};

const show: Command = {
  name: 'show',
  summary: "Show a tenant's domains, user count, managers and clients",
  args: ['domain'],
  async run({ args, store }) {
    const tenant = await getTenant(store.db, args.domain!);
    const [users, managers, clients] = await Promise.all([
      countUsers(store.db, tenant.id),
      listManagers(store.db, tenant.id),
      listClients(store.db).then((all) => all.filter((c) => c.tenantId === tenant.id)),
    ]);
    const lines = [
      `Tenant   ${tenant.name} (${state(tenant)})`,
      `ID       ${tenant.id}`,
      `Domains  ${tenant.domains.map(showDomain).join(', ')}`,
      `Users    ${users}`,
      '',
      managers.length
        ? table(
            ['MANAGER', 'STATE'],
            managers.map((m) => [m.userName, m.active ? 'active' : 'disabled']),
          )
        : `No managers. Add one with: npx securelogin manager add ${tenant.domains[0]} <username>`,
      '',
      clients.length
        ? table(
            ['CLIENT ID', 'NAME', 'CREATED'],
            clients.map((c) => [c.id, c.name, c.createdAt.slice(0, 10)]),
          )
        : `No clients bound to this tenant. Add one with: npx securelogin client add ${tenant.domains[0]}`,
    ];
    return {
      json: {
        ...tenantJson(tenant),
        users,
        managers: managers.map((m) => ({ id: m.id, user_name: m.userName, active: m.active })),
        clients: clients.map(clientJson),
      },
      text: lines.join('\n'),
    };
  },
};

const disable: Command = {
  name: 'disable',
  summary: 'Disable a tenant: no sign-in, and its tokens stop working',
  args: ['domain'],
  async run({ args, store }) {
    const tenant = await setTenantDisabled(store.db, args.domain!, true);
    return {
      json: tenantJson(tenant),
      text: `Disabled tenant ${tenant.name} (${tenant.domains[0]}): nobody can sign in and its tokens no longer work.`,
    };
  },
};

const enable: Command = {
  name: 'enable',
  summary: 'Enable a disabled tenant again',
  args: ['domain'],
  async run({ args, store }) {
    const tenant = await setTenantDisabled(store.db, args.domain!, false);
    return { json: tenantJson(tenant), text: `Enabled tenant ${tenant.name} (${tenant.domains[0]}).` };
  },
};

const remove: Command = {
  name: 'remove',
  summary: 'Remove a tenant with all its domains, users, groups and clients',
  args: ['domain'],
  options: {
    yes: { type: 'boolean', description: 'Remove without asking (required where there is no terminal to ask on)' },
  },
  details:
    'This cannot be undone. On a terminal you are asked to type the domain to confirm; in scripts, add --yes.\n' +
    'To stop a tenant for now, use: securelogin tenant disable <domain>',
  async run({ args, options, store, terminal }) {
    const found = await getTenant(store.db, args.domain!);
    const users = await countUsers(store.db, found.id);
    const clients = (await listClients(store.db)).filter((c) => c.tenantId === found.id).length;
    const domain = found.domains[0];
    if (options.yes !== true) {
      if (!terminal.stdin.isTTY) {
        throw new UsageError(`tenant remove cannot be undone and there is no terminal to confirm on: add --yes to remove ${domain}`);
      }
      terminal.stderr.write(
        `This removes tenant ${found.name} (${found.domains.join(', ')}) with ${users} user(s) and ${clients} client(s), for good.\n`,
      );
      const typed = await askLine(terminal, `Type ${domain} to confirm: `);
      if (typed.trim().toLowerCase() !== domain) throw new Refused(`not removed: the domain typed was not ${domain}`);
    }
    const tenant = await removeTenant(store.db, domain);
    return {
      json: { ...tenantJson(tenant), users, clients },
      text: `Removed tenant ${tenant.name} (${tenant.domains.join(', ')}) with ${users} user(s) and ${clients} client(s).`,
    };
  },
};

export const tenantCommands: Group = {
  name: 'tenant',
  summary: 'Tenants: add, list, show, disable, enable, remove',
  commands: [add, list, show, disable, enable, remove],
};

import { addDomain, normaliseDomain, removeDomain } from '../directory/index.ts';
import type { Command, Group } from './command.ts';
import { showDomain, tenantJson } from './tenant.ts';

const add: Command = {
  name: 'add',
  summary: 'Give a tenant another domain (any of them works on the Go to domain page)',
  args: ['tenant-domain', 'another-domain'],
  async run({ args, store }) {
    const tenant = await addDomain(store.db, args['tenant-domain']!, args['another-domain']!);
    const added = tenant.domains[tenant.domains.length - 1];
    return {
      json: tenantJson(tenant),
      text: `Added the domain ${showDomain(added)} to tenant ${tenant.name}; its domains are now ${tenant.domains.join(', ')}.`,
    };
  },
};

const remove: Command = {
  name: 'remove',
  summary: "Remove one of a tenant's domains (not its last one)",
  args: ['domain'],
  async run({ args, store }) {
    const removed = normaliseDomain(args.domain!);
    const tenant = await removeDomain(store.db, removed);
    return {
      json: tenantJson(tenant),
      text: `Removed the domain ${showDomain(removed)} from tenant ${tenant.name}; its domains are now ${tenant.domains.join(', ')}.`,
    };
  },
};

export const domainCommands: Group = {
  name: 'domain',
  summary: "A tenant's domains: add, remove",
  commands: [add, remove],
};

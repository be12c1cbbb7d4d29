import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { type Database, isUniqueViolation, now } from '../store/index.ts';
import { prepare } from '../store/prepared.ts';
import { normaliseDomain } from './domains.ts';
import { DomainTaken, InvalidName, LastDomain, UnknownDomain } from './errors.ts';

export interface Tenant {
  id: string;
  name: string;
  disabled: boolean;
  /** The primary domain first. */
  domains: string[];
  createdAt: string;
}

type Db = Kysely<Database>;

function checkName(name: string): string {
  const trimmed = name.trim();
  if (trimmed === '') throw new InvalidName('the tenant name', 'must not be empty (use --name "Display name")');
  if (trimmed.length > 200) throw new InvalidName('the tenant name', 'must be at most 200 characters');
  return trimmed;
}

export async function addTenant(db: Db, domainInput: string, nameInput: string): Promise<Tenant> {
  const domain = normaliseDomain(domainInput);
  const name = checkName(nameInput);
  const id = randomUUID();
  const createdAt = now();
  try {
    await db.transaction().execute(async (trx) => {
      await trx.insertInto('tenants').values({ id, name, disabled: 0, created_at: createdAt }).execute();
      await trx.insertInto('domains').values({ domain, tenant_id: id, is_primary: 1, created_at: createdAt }).execute();
    });
  } catch (error) {
    if (isUniqueViolation(error)) throw new DomainTaken(domain);
    throw error;
  }
  return { id, name, disabled: false, domains: [domain], createdAt };
}

export async function countTenants(db: Db): Promise<number> {
  const row = await db
    .selectFrom('tenants')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

export async function listTenants(db: Db): Promise<Tenant[]> {
  const tenants = await db.selectFrom('tenants').selectAll().orderBy('created_at').orderBy('id').execute();
  const domains = await db.selectFrom('domains').selectAll().orderBy('is_primary', 'desc').orderBy('domain').execute();
  return tenants.map((t) => ({
    id: t.id,
    name: t.name,
    disabled: t.disabled === 1,
    domains: domains.filter((d) => d.tenant_id === t.id).map((d) => d.domain),
    createdAt: t.created_at,
  }));
}

/** The tenant owning `domainInput` (any of its domains), or undefined. Invalid input is simply not found. */
export async function findTenantByDomain(db: Db, domainInput: string): Promise<Tenant | undefined> {
  let domain: string;
  try {
    domain = normaliseDomain(domainInput);
  } catch {
    return undefined;
  }
  const row = await db.selectFrom('domains').select('tenant_id').where('domain', '=', domain).executeTakeFirst();
  return row ? findTenantById(db, row.tenant_id) : undefined;
}

// Read on every code exchange, refresh and token check: compiled once, and
// without the ORDER BY that SQLite would re-plan on every run (prepared.ts).
const tenantById = prepare((db: Db, v: { id: string }) =>
  db.selectFrom('tenants').select(['id', 'name', 'disabled', 'created_at']).where('id', '=', v.id),
);
const domainRows = prepare((db: Db, v: { tenantId: string }) =>
  db.selectFrom('domains').select(['domain', 'is_primary']).where('tenant_id', '=', v.tenantId),
);

/** A tenant's domains, the primary first, then by name. */
async function tenantDomains(db: Db, tenantId: string): Promise<string[]> {
  const { rows } = await domainRows.execute(db, { tenantId });
  rows.sort((a, b) => b.is_primary - a.is_primary || (a.domain < b.domain ? -1 : a.domain > b.domain ? 1 : 0));
  return rows.map((r) => r.domain);
}

export async function findTenantById(db: Db, id: string): Promise<Tenant | undefined> {
  const [tenant, domains] = await Promise.all([tenantById.first(db, { id }), tenantDomains(db, id)]);
  if (!tenant) return undefined;
  return {
    id: tenant.id,
    name: tenant.name,
    disabled: tenant.disabled === 1,
    domains,
    createdAt: tenant.created_at,
  };
}

/** Like findTenantByDomain, but an unknown or invalid domain is an error naming it. */
export async function getTenant(db: Db, domainInput: string): Promise<Tenant> {
  const domain = normaliseDomain(domainInput);
  const tenant = await findTenantByDomain(db, domain);
  if (!tenant) throw new UnknownDomain(domain);
  return tenant;
}

export async function setTenantDisabled(db: Db, domainInput: string, disabled: boolean): Promise<Tenant> {
  const tenant = await getTenant(db, domainInput);
  await db
    .updateTable('tenants')
    .set({ disabled: disabled ? 1 : 0 })
    .where('id', '=', tenant.id)
    .execute();
  return { ...tenant, disabled };
}

/** Removes the tenant and, by cascade, its domains, users, groups, memberships and clients. */
export async function removeTenant(db: Db, domainInput: string): Promise<Tenant> {
  const tenant = await getTenant(db, domainInput);
  await db.deleteFrom('tenants').where('id', '=', tenant.id).execute();
  return tenant;
}

export async function addDomain(db: Db, tenantDomain: string, newDomainInput: string): Promise<Tenant> {
  const tenant = await getTenant(db, tenantDomain);
  const domain = normaliseDomain(newDomainInput);
  try {
    await db.insertInto('domains').values({ domain, tenant_id: tenant.id, is_primary: 0, created_at: now() }).execute();
  } catch (error) {
    if (isUniqueViolation(error)) throw new DomainTaken(domain);
    throw error;
  }
  return { ...tenant, domains: [...tenant.domains, domain] };
}

export async function removeDomain(db: Db, domainInput: string): Promise<Tenant> {
  const domain = normaliseDomain(domainInput);
  const tenant = await getTenant(db, domain);
  if (tenant.domains.length === 1) throw new LastDomain(domain);
  await db.transaction().execute(async (trx) => {
    await trx.deleteFrom('domains').where('domain', '=', domain).execute();
    if (tenant.domains[0] === domain) {
      // The primary went away: the next domain in order becomes primary.
      const next = tenant.domains.find((d) => d !== domain) as string;
      await trx.updateTable('domains').set({ is_primary: 1 }).where('domain', '=', next).execute();
    }
  });
  return { ...tenant, domains: tenant.domains.filter((d) => d !== domain) };
}

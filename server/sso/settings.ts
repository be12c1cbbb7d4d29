import type { Kysely } from 'kysely';
import { DirectoryError, getTenant, type Tenant } from '../directory/index.ts';
import { type Database, now } from '../store/index.ts';
import type { SsoSettings } from './types.ts';

type Db = Kysely<Database>;

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export class InvalidEntraTenant extends DirectoryError {
  constructor(input: string) {
    super(
      'invalid_entra_tenant',
      `"${input.slice(0, 80)}" is not an Entra tenant id: give the Directory (tenant) ID, a GUID like 72f988bf-86f1-41af-91ab-2d7cd011db47 (not "common", "organizations" or a domain)`,
    );
  }
}

export class SsoNotSet extends DirectoryError {
  constructor(domain: string) {
    super('sso_not_set', `single sign-on is not set for ${domain}; set it with: securelogin sso set ${domain} --entra-tenant <tenant-id>`);
  }
}

/** The Entra tenant id in its one spelling, or a refusal: /common and /organizations are never a tenant. */
export function normaliseEntraTenantId(input: string): string {
  const id = input.trim().toLowerCase();
  if (!GUID.test(id)) throw new InvalidEntraTenant(input);
  return id;
}

export async function ssoSettingsOf(db: Db, tenantId: string): Promise<SsoSettings | undefined> {
  const row = await db.selectFrom('sso_settings').selectAll().where('tenant_id', '=', tenantId).executeTakeFirst();
  if (!row) return undefined;
  return {
    tenantId: row.tenant_id,
    entraTenantId: row.entra_tenant_id,
    required: row.required === 1,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/** Pins the tenant to one Entra tenant (replacing an earlier one) and says whether SSO is required. */
export async function setSso(
  db: Db,
  domain: string,
  input: { entraTenantId: string; required: boolean },
): Promise<{ tenant: Tenant; settings: SsoSettings; previous: SsoSettings | undefined }> {
  const tenant = await getTenant(db, domain);
  const entraTenantId = normaliseEntraTenantId(input.entraTenantId);
  const previous = await ssoSettingsOf(db, tenant.id);
  const stamp = now();
  await db.transaction().execute(async (trx) => {
    await trx
      .insertInto('sso_settings')
      .values({
        tenant_id: tenant.id,
        entra_tenant_id: entraTenantId,
        required: input.required ? 1 : 0,
        created_at: stamp,
        updated_at: stamp,
      })
      .onConflict((oc) =>
        oc.column('tenant_id').doUpdateSet({ entra_tenant_id: entraTenantId, required: input.required ? 1 : 0, updated_at: stamp }),
      )
      .execute();
    // Links name accounts of one Entra tenant; pinned to another, they mean nothing.
    if (previous && previous.entraTenantId !== entraTenantId) {
      await trx.deleteFrom('sso_links').where('tenant_id', '=', tenant.id).execute();
    }
  });
  const settings = (await ssoSettingsOf(db, tenant.id)) as SsoSettings;
  return { tenant, settings, previous };
}

/** Turns SSO off for the tenant: passwords work again for everyone who has one; the links are kept for a later `sso set`. */
export async function ssoOff(db: Db, domain: string): Promise<{ tenant: Tenant; previous: SsoSettings }> {
  const tenant = await getTenant(db, domain);
  const previous = await ssoSettingsOf(db, tenant.id);
  if (!previous) throw new SsoNotSet(tenant.domains[0]);
  await db.deleteFrom('sso_settings').where('tenant_id', '=', tenant.id).execute();
  return { tenant, previous };
}

export async function findSso(db: Db, domain: string): Promise<{ tenant: Tenant; settings: SsoSettings | undefined; links: number }> {
  const tenant = await getTenant(db, domain);
  const settings = await ssoSettingsOf(db, tenant.id);
  const row = await db
    .selectFrom('sso_links')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('tenant_id', '=', tenant.id)
    .executeTakeFirstOrThrow();
  return { tenant, settings, links: Number(row.n) };
}

import { createHash, randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  addClient,
  addDomain,
  addManager,
  addTenant,
  countTenants,
  countUsers,
  DomainTaken,
  disableAccount,
  ENTRA_REDIRECT_URI,
  enableAccount,
  findAccount,
  findClient,
  findManager,
  findTenantByDomain,
  findUserForSignIn,
  getTenant,
  InvalidDomain,
  InvalidName,
  InvalidRedirectUri,
  LastDomain,
  listClients,
  listManagers,
  listTenants,
  NotAManager,
  removeClient,
  removeDomain,
  removeTenant,
  rotateClientSecret,
  secretMatchesAny,
  setPassword,
  setTenantDisabled,
  UnknownClient,
  UnknownDomain,
  UnknownUser,
  verifyPassword,
  WeakPassword,
} from '../server/directory/index.ts';
import { isUniqueViolation, now, openStore, type Store } from '../server/store/index.ts';
import { postgresUrl } from './support/backends.ts';
import { freshPostgresUrl } from './support/postgres.ts';
import { provisionedUserRow } from './support/rows.ts';
import { tempDataDir } from './support/service.ts';

const PASSWORD = 'correct horse battery staple';

interface Backend {
  name: string;
  open(): Promise<{ store: Store; dispose(): Promise<void> }>;
}

const backends: Backend[] = [
  {
    name: 'embedded SQLite',
    async open() {
      const store = await openStore({ dataDir: tempDataDir(), databaseUrl: undefined });
      return { store, dispose: () => store.close() };
    },
  },
];
if (postgresUrl) {
  backends.push({
    name: 'PostgreSQL',
    async open() {
      const database = await freshPostgresUrl();
      const store = await openStore({ dataDir: tempDataDir(), databaseUrl: database.url });
      return {
        store,
        async dispose() {
          await store.close();
          await database.drop();
        },
      };
    },
  });
}

describe.each(backends)('the directory store on $name', (backend) => {
  let store: Store;
  let dispose: () => Promise<void>;
  let counter = 0;
  // Every test works in its own tenants, so tests never depend on each other's rows.
  const unique = (label: string) => `${label}-${++counter}-${randomUUID().slice(0, 8)}.example`;

  beforeAll(async () => {
    ({ store, dispose } = await backend.open());
  });
  afterAll(async () => {
    await dispose?.();
  });

  describe('migrations', () => {
    it('are applied once: opening the store again finds nothing left to do and keeps the rows', async () => {
      const domain = unique('kept');
      await addTenant(store.db, domain, 'Kept');
      const { migrateToLatest } = await import('../server/store/migrations.ts');
      expect(await migrateToLatest(store.db, store.dialect)).toEqual([]);
      expect((await getTenant(store.db, domain)).name).toBe('Kept');
    });

    it('index sessions by uid and artifacts by grant id, leaving the rows without one out', async () => {
      const stamp = Date.now() + 3_600_000;
      const rows = Array.from({ length: 2_000 }, (_, i) => ({
        model: i % 100 === 0 ? 'Session' : 'AccessToken',
        id: `plan-${i}`,
        payload: '{}',
        grant_id: i % 100 === 0 ? null : `grant-${i % 50}`,
        uid: i % 100 === 0 ? `uid-${i}` : null,
        user_code: null,
        expires_at: stamp,
        consumed_at: null,
      }));
      await store.db.insertInto('oidc_artifacts').values(rows).execute();
      await sql`analyze`.execute(store.db);
      const explain = store.dialect === 'postgres' ? 'explain' : 'explain query plan';
      for (const [query, index] of [
        [sql`select payload from oidc_artifacts where model = 'Session' and uid = 'uid-100'`, 'oidc_artifacts_uid'],
        [sql`delete from oidc_artifacts where grant_id = 'grant-7'`, 'oidc_artifacts_grant'],
      ] as const) {
        const { rows: plan } = await sql`${sql.raw(explain)} ${query}`.execute(store.db);
        expect(JSON.stringify(plan)).toContain(index);
      }
      const { rows: definitions } = await (store.dialect === 'postgres'
        ? sql`select indexdef as sql from pg_indexes where indexname in ('oidc_artifacts_uid', 'oidc_artifacts_grant')`
        : sql`select sql from sqlite_master where name in ('oidc_artifacts_uid', 'oidc_artifacts_grant')`
      ).execute(store.db);
      expect(definitions).toHaveLength(2);
      for (const row of definitions as { sql: string }[]) expect(row.sql.toLowerCase()).toMatch(/where .*is not null/);
      await store.db.deleteFrom('oidc_artifacts').where('id', 'like', 'plan-%').execute();
    });
  });

  describe('tenants and domains', () => {
    it('stores a domain normalised: lower case, without scheme, port or path', async () => {
      const base = unique('acme');
      const tenant = await addTenant(store.db, `HTTPS://${base.toUpperCase()}:8443/login?next=1`, '  Acme Corp  ');
      expect(tenant.domains).toEqual([base]);
      expect(tenant.name).toBe('Acme Corp');
      const row = await store.db.selectFrom('domains').selectAll().where('tenant_id', '=', tenant.id).executeTakeFirstOrThrow();
      expect(row.domain).toBe(base);
      expect(row.is_primary).toBe(1);
      expect((await findTenantByDomain(store.db, base.toUpperCase()))?.id).toBe(tenant.id);
      expect((await findTenantByDomain(store.db, `${base}.`))?.id).toBe(tenant.id);
    });

    it('stores an internationalised domain as punycode and finds it by either spelling', async () => {
      const label = `bücher-${++counter}`;
      const tenant = await addTenant(store.db, `${label.toUpperCase()}.Example`, 'Bücher');
      const ascii = `xn--bcher-${counter}-`;
      expect(tenant.domains[0]).toMatch(new RegExp(`^${ascii}[a-z0-9]+\\.example$`));
      expect((await findTenantByDomain(store.db, `${label}.example`))?.id).toBe(tenant.id);
      expect((await findTenantByDomain(store.db, tenant.domains[0]))?.id).toBe(tenant.id);
    });

    it.each([
      ['', 'it is empty'],
      ['localhost', 'at least two labels'],
      ['192.168.0.1', 'an IP address'],
      ['exa mple.com', 'spaces'],
      ['-bad.example', 'invalid label'],
      ['https://', 'no host name'],
    ])('refuses %j as a domain (%s)', async (input, why) => {
      const error = await addTenant(store.db, input, 'Bad').catch((e) => e);
      expect(error).toBeInstanceOf(InvalidDomain);
      expect(error.message).toContain(why);
      expect(error.message).not.toContain('\n');
    });

    it('refuses an empty tenant name', async () => {
      await expect(addTenant(store.db, unique('nameless'), '   ')).rejects.toBeInstanceOf(InvalidName);
    });

    it('keeps a domain unique across tenants, whatever its spelling', async () => {
      const domain = unique('taken');
      const first = await addTenant(store.db, domain, 'First');
      const second = await addTenant(store.db, unique('second'), 'Second');
      await expect(addTenant(store.db, domain.toUpperCase(), 'Again')).rejects.toBeInstanceOf(DomainTaken);
      await expect(addDomain(store.db, second.domains[0], `http://${domain}/`)).rejects.toBeInstanceOf(DomainTaken);
      await expect(addDomain(store.db, first.domains[0], domain)).rejects.toBeInstanceOf(DomainTaken);
      // The refused tenant left nothing behind.
      expect((await listTenants(store.db)).filter((t) => t.name === 'Again')).toEqual([]);
    });

    it('lets a tenant have several domains, each finding it, the first one primary', async () => {
      const primary = unique('multi');
      const other = unique('other');
      const tenant = await addTenant(store.db, primary, 'Multi');
      const updated = await addDomain(store.db, primary, other.toUpperCase());
      expect(updated.domains).toEqual([primary, other]);
      expect((await findTenantByDomain(store.db, other))?.id).toBe(tenant.id);
      expect((await getTenant(store.db, other)).domains[0]).toBe(primary);
    });

    it('makes the next domain primary when the primary is removed, and refuses to remove the last one', async () => {
      const primary = unique('a-first');
      const second = unique('b-second');
      await addTenant(store.db, primary, 'Shrinking');
      await addDomain(store.db, primary, second);
      const after = await removeDomain(store.db, primary.toUpperCase());
      expect(after.domains).toEqual([second]);
      expect(await findTenantByDomain(store.db, primary)).toBeUndefined();
      const row = await store.db.selectFrom('domains').selectAll().where('domain', '=', second).executeTakeFirstOrThrow();
      expect(row.is_primary).toBe(1);
      await expect(removeDomain(store.db, second)).rejects.toBeInstanceOf(LastDomain);
      expect((await getTenant(store.db, second)).domains).toEqual([second]);
    });

    it('names an unknown domain in the error', async () => {
      const missing = unique('missing');
      const error = await getTenant(store.db, missing.toUpperCase()).catch((e) => e);
      expect(error).toBeInstanceOf(UnknownDomain);
      expect(error.message).toBe(`no tenant has the domain ${missing}`);
      await expect(removeDomain(store.db, missing)).rejects.toBeInstanceOf(UnknownDomain);
      expect(await findTenantByDomain(store.db, 'not a domain at all')).toBeUndefined();
    });

    it('disables and enables a tenant, and lists and counts tenants', async () => {
      const domain = unique('toggle');
      const before = await countTenants(store.db);
      await addTenant(store.db, domain, 'Toggle');
      expect(await countTenants(store.db)).toBe(before + 1);
      expect((await setTenantDisabled(store.db, domain, true)).disabled).toBe(true);
      expect((await getTenant(store.db, domain)).disabled).toBe(true);
      expect((await listTenants(store.db)).find((t) => t.domains.includes(domain))?.disabled).toBe(true);
      expect((await setTenantDisabled(store.db, domain, false)).disabled).toBe(false);
      expect((await getTenant(store.db, domain)).disabled).toBe(false);
    });
  });

  describe('users and managers', () => {
    it('stores a manager password as an Argon2id hash at OWASP parameters, never as given', async () => {
      const domain = unique('hash');
      await addTenant(store.db, domain, 'Hash');
      const { account, created } = await addManager(store.db, domain, 'alice', PASSWORD);
      expect(created).toBe(true);
      expect(account).toMatchObject({ userName: 'alice', role: 'manager', active: true, hasPassword: true });
      const row = await findUserForSignIn(store.db, account.tenantId, 'alice');
      const phc = /^\$argon2id\$v=19\$([a-z=0-9,]+)\$[A-Za-z0-9+/]{22,}\$[A-Za-z0-9+/]{43,}$/.exec(row?.password_hash ?? '');
      expect(phc, row?.password_hash ?? 'no hash').not.toBeNull();
      expect(Object.fromEntries(phc![1].split(',').map((p) => p.split('=')))).toEqual({ m: '19456', t: '2', p: '1' });
      expect(row?.password_hash).not.toContain(PASSWORD);
      expect(await verifyPassword(row?.password_hash, PASSWORD)).toBe(true);
      expect(await verifyPassword(row?.password_hash, `${PASSWORD}!`)).toBe(false);
    });

    it('finds a user by userName whatever its case, and refuses a second spelling of it', async () => {
      const domain = unique('case');
      const tenant = await addTenant(store.db, domain, 'Case');
      await addManager(store.db, domain, 'Alice.Smith', PASSWORD);
      expect((await findAccount(store.db, domain, 'ALICE.SMITH')).account.userName).toBe('Alice.Smith');
      // The same person added again becomes the same record, not a second one.
      const again = await addManager(store.db, domain, 'alice.smith', 'another good passphrase');
      expect(again.created).toBe(false);
      expect(await countUsers(store.db, tenant.id)).toBe(1);
      // And the database itself enforces it, whoever writes.
      const error = await store.db
        .insertInto('users')
        .values(provisionedUserRow(tenant.id, 'ALICE.SMITH'))
        .execute()
        .catch((e) => e);
      expect(isUniqueViolation(error)).toBe(true);
    });

    it('allows the same userName in two tenants, as two separate accounts', async () => {
      const a = unique('tenant-a');
      const b = unique('tenant-b');
      await addTenant(store.db, a, 'A');
      await addTenant(store.db, b, 'B');
      const first = await addManager(store.db, a, 'admin', PASSWORD);
      const second = await addManager(store.db, b, 'admin', 'a different good passphrase');
      expect(first.account.id).not.toBe(second.account.id);
      const rowA = await findUserForSignIn(store.db, first.account.tenantId, 'admin');
      expect(await verifyPassword(rowA?.password_hash, 'a different good passphrase')).toBe(false);
    });

    it.each([
      ['', 'it is empty'],
      ['short', 'at least 12 characters'],
      ['aaaaaaaaaaaaaaaa', 'too few different characters'],
      ['password1234', 'commonly used'],
      ['bob-the-builder-99', 'contains the username'],
    ])('refuses the weak password %j (%s) and stores nothing', async (password, why) => {
      const domain = unique('weak');
      const tenant = await addTenant(store.db, domain, 'Weak');
      const error = await addManager(store.db, domain, 'bob-the-builder', password).catch((e) => e);
      expect(error).toBeInstanceOf(WeakPassword);
      expect(error.message).toContain(why);
      expect(await countUsers(store.db, tenant.id)).toBe(0);
    });

    it('makes an existing (provisioned) user a manager, keeping the record and its attributes', async () => {
      const domain = unique('provisioned');
      const tenant = await addTenant(store.db, domain, 'Provisioned');
      const id = randomUUID();
      const attributes = { userName: 'carol@provisioned.example', name: { givenName: 'Carol' }, externalId: 'ext-1' };
      await store.db
        .insertInto('users')
        .values({
          id,
          tenant_id: tenant.id,
          user_name: 'carol@provisioned.example',
          external_id: 'ext-1',
          work_email: null,
          display_name: null,
          active: 1,
          role: 'member',
          password_hash: null,
          attributes: JSON.stringify(attributes),
          created_at: now(),
          updated_at: now(),
        })
        .execute();
      await expect(findManager(store.db, domain, 'carol@provisioned.example')).rejects.toBeInstanceOf(NotAManager);
      const { account, created } = await addManager(store.db, domain, 'Carol@Provisioned.example', PASSWORD);
      expect(created).toBe(false);
      expect(account).toMatchObject({ id, role: 'manager', hasPassword: true });
      const row = await store.db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
      expect(row.external_id).toBe('ext-1');
      expect(typeof row.attributes === 'string' ? JSON.parse(row.attributes) : row.attributes).toEqual(attributes);
      expect((await findManager(store.db, domain, 'CAROL@provisioned.example')).account.id).toBe(id);
    });

    it('changes a password, disables and enables an account, and lists managers', async () => {
      const domain = unique('lifecycle');
      const tenant = await addTenant(store.db, domain, 'Lifecycle');
      await addManager(store.db, domain, 'zed', PASSWORD);
      await addManager(store.db, domain, 'Amy', PASSWORD);
      await setPassword(store.db, domain, 'ZED', 'fresh passphrase, 2nd');
      const row = await findUserForSignIn(store.db, tenant.id, 'zed');
      expect(await verifyPassword(row?.password_hash, 'fresh passphrase, 2nd')).toBe(true);
      expect(await verifyPassword(row?.password_hash, PASSWORD)).toBe(false);
      await expect(setPassword(store.db, domain, 'zed', 'short')).rejects.toBeInstanceOf(WeakPassword);

      expect((await disableAccount(store.db, domain, 'zed')).active).toBe(false);
      expect((await listManagers(store.db, tenant.id)).map((m) => [m.userName, m.active])).toEqual([
        ['Amy', true],
        ['zed', false],
      ]);
      expect((await enableAccount(store.db, domain, 'zed')).active).toBe(true);
      expect((await findAccount(store.db, domain, 'zed')).account.active).toBe(true);
      await expect(findAccount(store.db, domain, 'nobody')).rejects.toBeInstanceOf(UnknownUser);
      await expect(disableAccount(store.db, domain, 'nobody')).rejects.toBeInstanceOf(UnknownUser);
    });
  });

  describe('clients', () => {
    it('issues a 256-bit URL-safe secret, stores only its SHA-256 hash, and matches it', async () => {
      const domain = unique('client');
      const tenant = await addTenant(store.db, domain, 'Client');
      const { client, clientSecret } = await addClient(store.db, { tenantDomain: domain.toUpperCase() });
      expect(clientSecret).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(Buffer.from(clientSecret, 'base64url')).toHaveLength(32);
      expect(client).toMatchObject({ tenantId: tenant.id, name: 'Microsoft Entra ID', redirectUris: [ENTRA_REDIRECT_URI] });

      const row = await store.db.selectFrom('client_secrets').selectAll().where('client_id', '=', client.id).executeTakeFirstOrThrow();
      expect(row.secret_hash).toBe(createHash('sha256').update(clientSecret).digest('hex'));
      expect(JSON.stringify(row)).not.toContain(clientSecret);

      const found = await findClient(store.db, client.id);
      expect(secretMatchesAny(found!.secretHashes, clientSecret)).toBe(true);
      expect(secretMatchesAny(found!.secretHashes, `${clientSecret.slice(0, -1)}x`)).toBe(false);
      expect(secretMatchesAny(found!.secretHashes, '')).toBe(false);
    });

    it('keeps several redirect URIs without duplicates, and a name', async () => {
      const domain = unique('uris');
      await addTenant(store.db, domain, 'Uris');
      const uris = ['https://portal.azure.com/TokenAuthorize', 'http://localhost:8080/callback', 'https://portal.azure.com/TokenAuthorize'];
      const { client } = await addClient(store.db, { tenantDomain: domain, name: 'Entra (test)', redirectUris: uris });
      expect(client.redirectUris).toEqual(uris.slice(0, 2));
      expect((await findClient(store.db, client.id))?.redirectUris).toEqual(uris.slice(0, 2));
      expect(client.name).toBe('Entra (test)');
    });

    it.each([
      ['not a url', 'not an absolute URL'],
      ['http://example.com/callback', 'must use https'],
      ['https://example.com/callback#fragment', 'fragment'],
    ])('refuses the redirect URI %j', async (uri, why) => {
      const domain = unique('bad-uri');
      await addTenant(store.db, domain, 'Bad uri');
      const error = await addClient(store.db, { tenantDomain: domain, redirectUris: [uri] }).catch((e) => e);
      expect(error).toBeInstanceOf(InvalidRedirectUri);
      expect(error.message).toContain(why);
    });

    it('refuses a client for an unknown tenant', async () => {
      await expect(addClient(store.db, { tenantDomain: unique('nowhere') })).rejects.toBeInstanceOf(UnknownDomain);
    });

    it('serves any tenant when bound to none', async () => {
      const { client } = await addClient(store.db, { tenantDomain: null, name: 'Shared' });
      expect(client.tenantId).toBeNull();
      expect((await listClients(store.db)).find((c) => c.id === client.id)).toMatchObject({ tenantId: null, tenantDomain: null });
    });

    it('rotates a secret with no overlap: the new one matches, the old one no longer does', async () => {
      const domain = unique('rotate');
      await addTenant(store.db, domain, 'Rotate');
      const first = await addClient(store.db, { tenantDomain: domain });
      const second = await rotateClientSecret(store.db, first.client.id, { keepOld: 0 });
      expect(second.clientSecret).not.toBe(first.clientSecret);
      const found = await findClient(store.db, first.client.id);
      expect(secretMatchesAny(found!.secretHashes, second.clientSecret)).toBe(true);
      expect(secretMatchesAny(found!.secretHashes, first.clientSecret)).toBe(false);
      expect(second.client.secretRotatedAt >= first.client.secretRotatedAt).toBe(true);
      await expect(rotateClientSecret(store.db, randomUUID())).rejects.toBeInstanceOf(UnknownClient);
    });

    it('removes a client, and says so when it is not there', async () => {
      const domain = unique('remove-client');
      await addTenant(store.db, domain, 'Remove client');
      const { client } = await addClient(store.db, { tenantDomain: domain });
      expect((await removeClient(store.db, client.id)).id).toBe(client.id);
      expect(await findClient(store.db, client.id)).toBeUndefined();
      const error = await removeClient(store.db, client.id).catch((e) => e);
      expect(error).toBeInstanceOf(UnknownClient);
      expect(error.message).toBe(`no client with id ${client.id}`);
    });
  });

  describe('removing a tenant', () => {
    it("takes its domains, users, groups, memberships and clients with it, and nothing of another tenant's", async () => {
      const doomed = unique('doomed');
      const kept = unique('kept');
      const tenant = await addTenant(store.db, doomed, 'Doomed');
      await addDomain(store.db, doomed, unique('doomed-alias'));
      const other = await addTenant(store.db, kept, 'Kept');
      const { account } = await addManager(store.db, doomed, 'dana', PASSWORD);
      await addManager(store.db, kept, 'dana', PASSWORD);
      const bound = await addClient(store.db, { tenantDomain: doomed });
      const keptClient = await addClient(store.db, { tenantDomain: kept });
      const shared = await addClient(store.db, { tenantDomain: null });
      const groupId = randomUUID();
      await store.db
        .insertInto('groups')
        .values({
          id: groupId,
          tenant_id: tenant.id,
          display_name: 'Staff',
          external_id: null,
          attributes: '{}',
          created_at: now(),
          updated_at: now(),
        })
        .execute();
      await store.db
        .insertInto('memberships')
        .values({ group_id: groupId, user_id: account.id, tenant_id: tenant.id, created_at: now() })
        .execute();

      const removed = await removeTenant(store.db, doomed.toUpperCase());
      expect(removed.id).toBe(tenant.id);

      for (const table of ['domains', 'users', 'groups', 'memberships', 'clients'] as const) {
        const { n } = await store.db
          .selectFrom(table)
          .select(sql<number>`count(*)`.as('n'))
          .where('tenant_id', '=', tenant.id)
          .executeTakeFirstOrThrow();
        expect(Number(n), table).toBe(0);
      }
      expect(await findClient(store.db, bound.client.id)).toBeUndefined();
      expect(await findClient(store.db, keptClient.client.id)).toBeDefined();
      expect(await findClient(store.db, shared.client.id)).toBeDefined();
      expect(await countUsers(store.db, other.id)).toBe(1);
      await expect(getTenant(store.db, doomed)).rejects.toBeInstanceOf(UnknownDomain);
    });
  });
});

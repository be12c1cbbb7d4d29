import { CompiledQuery, type Kysely, sql } from 'kysely';
import { beforeAll, expect, it } from 'vitest';
import type { Sort } from '../server/scim/protocol/sort.ts';
import { GROUP_FILTER } from '../server/scim/resources/groups.ts';
import { sortKeys } from '../server/scim/resources/sort-sql.ts';
import { USER_FILTER } from '../server/scim/resources/users.ts';
import { eachBackend, eachStore, entraUser, provisioningTenant, type ScimClient } from './support/scim.ts';
import type { TestService } from './support/service.ts';

/*
 * RFC 7644 §3.4.2.3 sorting over real HTTP, on SQLite and on PostgreSQL:
 * sortBy and sortOrder on GET and POST .search, for Users and Groups; ties
 * and missing values broken by id so that pages neither overlap nor skip;
 * the same order from both engines (byte order, ASCII case folding for
 * userName and displayName); and each sorted first page an index range.
 */

const CORE_USER = 'urn:ietf:params:scim:schemas:core:2.0:User';

/** The order both stores promise: ASCII letters without regard to case, then UTF-8 bytes. */
function foldAscii(text: string): string {
  return text.replace(/[A-Z]/g, (c) => c.toLowerCase());
}
function bytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

interface Listed {
  id: string;
  userName?: string;
  displayName?: string;
  externalId?: string;
  meta: { created: string; lastModified: string };
}

/** Expected order of `resources` by `key` (undefined: missing), missing values last ascending and first descending, ties by id. */
function expectedOrder(resources: Listed[], key: (r: Listed) => string | undefined, descending: boolean): string[] {
  const sorted = [...resources].sort((a, b) => {
    const [x, y] = [key(a), key(b)];
    if (x === undefined && y !== undefined) return 1;
    if (x !== undefined && y === undefined) return -1;
    const byKey = x === undefined || y === undefined ? 0 : bytes(x, y);
    return byKey !== 0 ? byKey : bytes(a.id, b.id);
  });
  if (descending) sorted.reverse();
  return sorted.map((r) => r.id);
}

// Created in this order, which is none of the sorted orders. Unique under any case folding (PostgreSQL folds Unicode).
const PEOPLE: { userName: string; displayName?: string; externalId?: string }[] = [
  { userName: 'zed@example.com', displayName: 'Same', externalId: 'E-5' },
  { userName: 'Émile@example.com', externalId: 'E-2' },
  { userName: 'alice@example.com', displayName: 'alice Liddell', externalId: 'e-9' },
  { userName: 'DAVE@example.com', displayName: 'Same' },
  { userName: 'ångström@example.com', displayName: 'Ångström', externalId: 'E-1' },
  { userName: 'Bob@example.com', displayName: 'bob' },
  { userName: '_ops@example.com', displayName: 'Same', externalId: 'E-3' },
  { userName: 'Zoë@example.com', displayName: 'Zoë' },
  { userName: 'carol@example.com', displayName: 'Carol', externalId: 'E-4' },
];

const MANAGER = 'Manager@example.com';

// The userName order both stores must give, written out: "_" before letters, ASCII case ignored, non-ASCII after "z".
const BY_USER_NAME = [
  '_ops@example.com',
  'alice@example.com',
  'Bob@example.com',
  'carol@example.com',
  'DAVE@example.com',
  'Manager@example.com',
  'zed@example.com',
  'Zoë@example.com',
  'Émile@example.com',
  'ångström@example.com',
];

eachBackend('sorting', (service) => {
  let scim: ScimClient;
  let all: Listed[];
  const groupIds: string[] = [];

  const ids = async (path: string) => {
    const response = await scim.get(path);
    expect(response.status, `${path}: ${response.text}`).toBe(200);
    return (response.body.Resources as Listed[]).map((r) => r.id);
  };
  const names = async (path: string) => {
    const response = await scim.get(path);
    expect(response.status, `${path}: ${response.text}`).toBe(200);
    return (response.body.Resources as Listed[]).map((r) => r.userName);
  };

  beforeAll(async () => {
    // The manager who authorized Entra is a user of the tenant too, and part of the data set.
    scim = (await provisioningTenant(service() as TestService, { username: MANAGER })).scim;
    for (const person of PEOPLE) {
      const { externalId, ...rest } = person;
      const body = entraUser(person.userName, rest);
      if (externalId === undefined) delete body.externalId;
      else body.externalId = externalId;
      const created = await scim.post('/Users', body);
      expect(created.status, created.text).toBe(201);
    }
    // Changed after all were created, so meta.lastModified differs from meta.created order.
    const listed = await scim.get('/Users?count=100');
    const alice = (listed.body.Resources as Listed[]).find((r) => r.userName === 'alice@example.com')!;
    const patched = await scim.patch(`/Users/${alice.id}`, {
      schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
      Operations: [{ op: 'replace', path: 'title', value: 'Engineer' }],
    });
    expect(patched.status, patched.text).toBe(200);
    all = (await scim.get('/Users?count=100')).body.Resources;
    expect(all).toHaveLength(PEOPLE.length + 1);

    for (const [displayName, externalId] of [
      ['beta', 'g-2'],
      ['Alpha', undefined],
      ['gamma', 'G-1'],
      ['Delta', undefined],
    ] as const) {
      const created = await scim.post('/Groups', { displayName, ...(externalId ? { externalId } : {}) });
      expect(created.status, created.text).toBe(201);
      groupIds.push(created.body.id);
    }
  });

  it('ServiceProviderConfig says sorting is supported', async () => {
    const response = await scim.get('/ServiceProviderConfig');
    expect(response.body.sort).toEqual({ supported: true });
  });

  it('sortBy=userName orders without regard to ASCII case, the same on both stores, non-ASCII by its bytes', async () => {
    expect(await names('/Users?sortBy=userName')).toEqual(BY_USER_NAME);
    expect(await names('/Users?sortBy=userName&sortOrder=descending')).toEqual([...BY_USER_NAME].reverse());
    expect(BY_USER_NAME).toEqual(
      expectedOrder(all, (r) => foldAscii(r.userName!), false).map((id) => all.find((r) => r.id === id)!.userName),
    );
  });

  it('sortBy and sortOrder are matched without regard to case, and sortBy may carry the core schema URN', async () => {
    const descending = [...BY_USER_NAME].reverse();
    expect(await names('/Users?SORTBY=USERNAME&SortOrder=DESCENDING')).toEqual(descending);
    expect(await names(`/Users?sortBy=${encodeURIComponent(`${CORE_USER}:userName`)}&sortOrder=Descending`)).toEqual(descending);
    expect(await names('/Users?sortBy=username&sortOrder=ascending')).toEqual(BY_USER_NAME);
  });

  it('displayName: ties broken by id, users without one last ascending and first descending', async () => {
    const key = (r: Listed) => (r.displayName === undefined ? undefined : foldAscii(r.displayName));
    expect(await ids('/Users?sortBy=displayName')).toEqual(expectedOrder(all, key, false));
    expect(await ids('/Users?sortBy=displayName&sortOrder=descending')).toEqual(expectedOrder(all, key, true));
    const first = (await scim.get('/Users?sortBy=displayName&sortOrder=descending')).body.Resources as Listed[];
    expect(first[0].displayName).toBeUndefined();
  });

  it('externalId compares case-exactly, missing values last ascending and first descending', async () => {
    const key = (r: Listed) => r.externalId;
    const ascending = await ids('/Users?sortBy=externalId');
    expect(ascending).toEqual(expectedOrder(all, key, false));
    expect(all.find((r) => r.id === ascending.at(-1))!.externalId).toBeUndefined();
    expect(await ids('/Users?sortBy=externalId&sortOrder=descending')).toEqual(expectedOrder(all, key, true));
  });

  it('meta.created, meta.lastModified and id', async () => {
    expect(await ids('/Users?sortBy=meta.created')).toEqual(expectedOrder(all, (r) => r.meta.created, false));
    expect(await ids('/Users?sortBy=meta.created&sortOrder=descending')).toEqual(expectedOrder(all, (r) => r.meta.created, true));
    const lastModified = await ids('/Users?sortBy=Meta.LastModified&sortOrder=descending');
    expect(lastModified).toEqual(expectedOrder(all, (r) => r.meta.lastModified, true));
    expect(all.find((r) => r.id === lastModified[0])!.userName).toBe('alice@example.com');
    expect(await ids('/Users?sortBy=id')).toEqual(expectedOrder(all, (r) => r.id, false));
    expect(await ids('/Users?sortBy=id&sortOrder=descending')).toEqual(expectedOrder(all, (r) => r.id, true));
  });

  it('with a filter and startIndex/count paging, pages join up: no duplicates, no gaps', async () => {
    const filter = encodeURIComponent('userName ne "Bob@example.com"');
    const matching = all.filter((r) => r.userName !== 'Bob@example.com');
    expect(matching.length).toBeGreaterThan(6);
    for (const [sortBy, key] of [
      ['displayName', (r: Listed) => (r.displayName === undefined ? undefined : foldAscii(r.displayName))],
      ['externalId', (r: Listed) => r.externalId],
      ['userName', (r: Listed) => foldAscii(r.userName!)],
    ] as const) {
      for (const descending of [false, true]) {
        const pages: string[] = [];
        for (let startIndex = 1; startIndex <= matching.length; startIndex += 3) {
          const path = `/Users?filter=${filter}&sortBy=${sortBy}&sortOrder=${descending ? 'descending' : 'ascending'}&startIndex=${startIndex}&count=3`;
          const response = await scim.get(path);
          expect(response.body.totalResults, path).toBe(matching.length);
          expect(response.body.startIndex, path).toBe(startIndex);
          pages.push(...(response.body.Resources as Listed[]).map((r) => r.id));
        }
        expect(pages, `${sortBy} ${descending}`).toEqual(expectedOrder(matching, key, descending));
      }
    }
  });

  it('POST /Users/.search takes sortBy and sortOrder in the SearchRequest', async () => {
    const response = await scim.post('/Users/.search', {
      schemas: ['urn:ietf:params:scim:api:messages:2.0:SearchRequest'],
      filter: 'userName sw "z"',
      sortBy: 'userName',
      sortOrder: 'descending',
    });
    expect(response.status, response.text).toBe(200);
    expect((response.body.Resources as Listed[]).map((r) => r.userName)).toEqual(['Zoë@example.com', 'zed@example.com']);
    const paged = await scim.post('/Users/.search', { sortBy: 'userName', startIndex: 2, count: 2 });
    expect((paged.body.Resources as Listed[]).map((r) => r.userName)).toEqual(BY_USER_NAME.slice(1, 3));
  });

  it('Groups sort by displayName (ASCII case ignored), externalId, meta.* and id', async () => {
    const groups = (await scim.get('/Groups?excludedAttributes=members')).body.Resources as Listed[];
    const displayNames = async (path: string) => ((await scim.get(path)).body.Resources as Listed[]).map((r) => r.displayName);
    expect(await displayNames('/Groups?sortBy=displayName')).toEqual(['Alpha', 'beta', 'Delta', 'gamma']);
    expect(await displayNames('/Groups?sortBy=displayName&sortOrder=descending&excludedAttributes=members')).toEqual([
      'gamma',
      'Delta',
      'beta',
      'Alpha',
    ]);
    expect(await ids('/Groups?sortBy=externalId')).toEqual(expectedOrder(groups, (r) => r.externalId, false));
    // "G-1" before "g-2" (case-exact, byte order), then the two without one.
    expect((await displayNames('/Groups?sortBy=externalId')).slice(0, 2)).toEqual(['gamma', 'beta']);
    expect(await ids('/Groups?sortBy=externalId&sortOrder=descending')).toEqual(expectedOrder(groups, (r) => r.externalId, true));
    expect(await ids('/Groups?sortBy=meta.lastModified&sortOrder=descending')).toEqual(
      expectedOrder(groups, (r) => r.meta.lastModified, true),
    );
    expect(await ids('/Groups?sortBy=id')).toEqual([...groupIds].sort(bytes));
    const searched = await scim.post('/Groups/.search', { sortBy: 'urn:ietf:params:scim:schemas:core:2.0:Group:displayName' });
    expect((searched.body.Resources as Listed[]).map((r) => r.displayName)).toEqual(['Alpha', 'beta', 'Delta', 'gamma']);
  });

  it('an attribute that cannot be sorted by, or a sortOrder other than ascending or descending, is 400 invalidValue', async () => {
    const refused: [string, string][] = [
      ['/Users?sortBy=title', 'title'],
      ['/Users?sortBy=name.givenName', 'name.givenName'],
      ['/Users?sortBy=password', 'password'],
      ['/Users?sortBy=active', 'active'],
      ['/Users?sortBy=meta.location', 'meta.location'],
      [
        `/Users?sortBy=${encodeURIComponent('urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber')}`,
        'employeeNumber',
      ],
      ['/Users?sortBy=user%20name', 'user name'],
      ['/Groups?sortBy=userName', 'userName'],
      ['/Users?sortBy=userName&sortOrder=sideways', 'sideways'],
      ['/Users?sortOrder=up', 'up'],
    ];
    for (const [path, named] of refused) {
      const response = await scim.get(path);
      expect(response.status, path).toBe(400);
      expect(response.body.scimType, path).toBe('invalidValue');
      expect(response.body.detail, path).toContain(named);
    }
    const search = await scim.post('/Users/.search', { sortBy: 42 });
    expect([search.status, search.body.scimType]).toEqual([400, 'invalidValue']);
  });

  it('without sortBy the list keeps creation order; an empty sortBy is no sort', async () => {
    const created = expectedOrder(all, (r) => r.meta.created, false);
    expect(await ids('/Users')).toEqual(created);
    expect(await ids('/Users?sortBy=&sortOrder=descending')).toEqual(created);
  });
});

const PLANNED = [
  ['users', USER_FILTER, ['username', 'displayname', 'externalid', 'meta.created', 'meta.lastmodified', 'id']],
  ['groups', GROUP_FILTER, ['displayname', 'externalid', 'meta.created', 'meta.lastmodified', 'id']],
] as const;

eachStore('a sorted first page is an index range, not a sort of the tenant', (store) => {
  const tenantId = 'plan-tenant';

  beforeAll(async () => {
    const db = store().db;
    for (const id of [tenantId, 'other-tenant']) {
      await db.insertInto('tenants').values({ id, name: id, created_at: new Date().toISOString() }).execute();
    }
    const stamp = Date.now();
    for (let batch = 0; batch < 10; batch++) {
      const rows = Array.from({ length: 600 }, (_, i) => {
        const n = batch * 600 + i;
        return { n, tenant: n % 2 ? tenantId : 'other-tenant', at: new Date(stamp + n).toISOString() };
      });
      await db
        .insertInto('users')
        .values(
          rows.map(({ n, tenant, at }) => ({
            id: `u-${n}`,
            tenant_id: tenant,
            user_name: `User${n}@example.com`,
            external_id: n % 3 === 0 ? null : `X-${n}`,
            work_email: null,
            display_name: n % 4 === 0 ? null : `User ${n}`,
            active: 1,
            role: 'member' as const,
            password_hash: null,
            attributes: '{}',
            created_at: at,
            updated_at: at,
          })),
        )
        .execute();
      await db
        .insertInto('groups')
        .values(
          rows.map(({ n, tenant, at }) => ({
            id: `g-${n}`,
            tenant_id: tenant,
            display_name: `Group ${n}`,
            external_id: n % 3 === 0 ? null : `X-${n}`,
            attributes: '{}',
            created_at: at,
            updated_at: at,
          })),
        )
        .execute();
    }
    await sql`analyze`.execute(db);
  });

  for (const [table, filterTable, attributes] of PLANNED) {
    for (const attribute of attributes) {
      for (const descending of [false, true]) {
        it(`${table} sortBy=${attribute} ${descending ? 'descending' : 'ascending'}`, async () => {
          const { db, dialect } = store();
          const sort: Sort = { attribute, descending };
          let query = (db as Kysely<any>).selectFrom(table).selectAll().where(`${table}.tenant_id`, '=', tenantId);
          for (const key of sortKeys(filterTable, dialect, sort)) query = query.orderBy(key.expression, key.direction);
          const compiled = query.limit(sql.lit(100)).compile();
          const explain = dialect === 'postgres' ? 'explain' : 'explain query plan';
          const { rows } = await db.executeQuery(CompiledQuery.raw(`${explain} ${compiled.sql}`, [...compiled.parameters]));
          const plan = JSON.stringify(rows);
          // SQLite's meta.created is migration 0003's index; every other key has one of its own.
          expect(plan, plan).toMatch(new RegExp(`INDEX ${table}_(sort|tenant_created)|Index Scan (Backward )?using ${table}_sort_`));
          expect(plan, plan).not.toMatch(/TEMP B-TREE|Sort/);
        });
      }
    }
  }
});

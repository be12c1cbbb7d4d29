import { CompiledQuery, sql } from 'kysely';
import { beforeAll, describe, expect, it } from 'vitest';
import { addTenant } from '../server/directory/index.ts';
import type { ScimError } from '../server/scim/protocol/errors.ts';
import { parseFilter } from '../server/scim/protocol/filter.ts';
import { GROUP_TYPE, USER_TYPE } from '../server/scim/protocol/schemas.ts';
import { filterToSql } from '../server/scim/resources/filter-sql.ts';
import { createGroups, GROUP_FILTER } from '../server/scim/resources/groups.ts';
import type { Repository } from '../server/scim/resources/repository.ts';
import { createUsers, USER_FILTER } from '../server/scim/resources/users.ts';
import { eachStore } from './support/scim.ts';

/*
 * RFC 7644 §3.4.2.2 filters, parsed and run as SQL against the real
 * directory store, on SQLite and on PostgreSQL: the same answers from both,
 * and index lookups for the attributes Entra matches on.
 */

const CUSTOM = 'urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User';

const people = [
  {
    userName: 'alice@example.com',
    externalId: 'A-1',
    displayName: 'Alice Liddell',
    active: true,
    title: 'Engineer',
    score: 42,
    name: { givenName: 'Alice', familyName: 'Liddell' },
    emails: [
      { type: 'work', value: 'Alice@Example.com', primary: true },
      { type: 'home', value: 'alice@home.example' },
    ],
    phoneNumbers: [{ type: 'mobile', value: '+31 6 1234' }],
    'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User': {
      employeeNumber: '1001',
      department: 'R&D',
      manager: { value: 'mgr-7' },
    },
    [CUSTOM]: { tag: '701984' },
  },
  {
    userName: 'Bob@Example.com',
    externalId: 'B-2',
    displayName: 'Bob Builder',
    active: false,
    title: 'Manager',
    score: 7,
    emails: [{ type: 'work', value: 'bob@example.com' }],
    'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User': { employeeNumber: '1002' },
  },
  { userName: 'carol@other.example', active: true, title: '', name: { givenName: 'Carol' }, roles: [{ value: 'admin' }] },
  { userName: 'd"q\\z@example.com', displayName: 'Dävé', active: true },
];

function refusal(run: () => unknown): { status: number; scimType: string | undefined } {
  try {
    run();
  } catch (error) {
    const e = error as ScimError;
    return { status: e.status, scimType: e.scimType };
  }
  throw new Error('expected the filter to be refused');
}

describe('filter parsing', () => {
  it('reads the whole grammar: precedence of not, and, or; parentheses; value paths; any case', () => {
    expect(parseFilter('a eq "1" or b eq "2" and not (c pr)')).toEqual({
      op: 'or',
      filters: [
        { op: 'eq', attrPath: 'a', compValue: '1' },
        {
          op: 'and',
          filters: [
            { op: 'eq', attrPath: 'b', compValue: '2' },
            { op: 'not', filter: { op: 'pr', attrPath: 'c' } },
          ],
        },
      ],
    });
    expect(parseFilter('userName EQ "x" AND title Pr')).toEqual({
      op: 'and',
      filters: [
        { op: 'eq', attrPath: 'userName', compValue: 'x' },
        { op: 'pr', attrPath: 'title' },
      ],
    });
  });

  it('keeps emails[type eq "work"].value eq "x" about one and the same email', () => {
    expect(parseFilter('emails[type eq "work"].value eq "x"')).toEqual({
      op: '[]',
      attrPath: 'emails',
      valFilter: {
        op: 'and',
        filters: [
          { op: 'eq', attrPath: 'type', compValue: 'work' },
          { op: 'eq', attrPath: 'value', compValue: 'x' },
        ],
      },
    });
  });

  it('reads JSON string escapes, negative numbers, true/false/null', () => {
    expect(parseFilter('a eq "q\\"b\\\\c\\u00e9"')).toMatchObject({ compValue: 'q"b\\cé' });
    expect(parseFilter('(a gt -5)')).toMatchObject({ compValue: -5 });
    expect(parseFilter('a eq false')).toMatchObject({ compValue: false });
    expect(parseFilter('a eq null')).toMatchObject({ compValue: null });
  });

  const invalid = [
    '',
    'userName',
    'userName eq',
    'userName xx "a"',
    'userName eq "a" extra',
    '(userName eq "a"',
    'emails[type eq "work"',
    'userName eq "unterminated',
    "userName eq 'single'",
    'userName eq "a" and',
    `${'('.repeat(3000)}a eq "1"${')'.repeat(3000)}`,
    `a eq "${'x'.repeat(5000)}"`,
  ];
  for (const text of invalid) {
    it(`refuses ${JSON.stringify(text.slice(0, 40))} with 400 invalidFilter`, () => {
      expect(refusal(() => parseFilter(text))).toEqual({ status: 400, scimType: 'invalidFilter' });
    });
  }
});

eachStore('filters run as SQL', (store, backend) => {
  let users: Repository;
  let groups: Repository;
  let tenantId: string;
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    const parts = { db: store().db, dialect: store().dialect };
    users = createUsers(parts);
    groups = createGroups(parts);
    tenantId = (await addTenant(store().db, 'filters.example', 'Filters')).id;
    const other = (await addTenant(store().db, 'elsewhere.example', 'Elsewhere')).id;
    for (const person of people) {
      ids[person.userName] = (await users.create(tenantId, { schemas: [USER_TYPE.schema.id], ...person }, false)).id;
      // The same people in another tenant: a filter must never reach them.
      await users.create(other, { schemas: [USER_TYPE.schema.id], ...person }, false);
    }
    ids.engineers = (
      await groups.create(tenantId, { displayName: 'Engineers', externalId: 'g-1', members: [{ value: ids['alice@example.com'] }] }, false)
    ).id;
    ids.managers = (await groups.create(tenantId, { displayName: 'Managers', members: [{ value: ids['Bob@Example.com'] }] }, false)).id;
  });

  const find = async (repository: Repository, text: string) => {
    const { total, resources } = await repository.list(tenantId, { filter: parseFilter(text), startIndex: 1, count: 100 }, false);
    expect(total).toBe(resources.length);
    return resources.map((r) => (r.document.userName ?? r.document.displayName) as string).sort();
  };

  const expectations: [string, string[]][] = [
    ['userName eq "ALICE@example.com"', ['alice@example.com']],
    ['userName eq "alice"', []],
    ['externalId eq "A-1"', ['alice@example.com']],
    ['externalId eq "a-1"', []],
    ['userName sw "bob"', ['Bob@Example.com']],
    ['userName ew "EXAMPLE.COM"', ['Bob@Example.com', 'alice@example.com', 'd"q\\z@example.com']],
    ['userName co "other"', ['carol@other.example']],
    ['userName gt "b"', ['Bob@Example.com', 'carol@other.example', 'd"q\\z@example.com']],
    ['userName le "bob@example.com"', ['Bob@Example.com', 'alice@example.com']],
    ['displayName pr', ['Bob@Example.com', 'alice@example.com', 'd"q\\z@example.com']],
    ['not (displayName pr)', ['carol@other.example']],
    ['active eq false', ['Bob@Example.com']],
    ['active ne true', ['Bob@Example.com']],
    ['emails[type eq "work"].value eq "alice@example.COM"', ['alice@example.com']],
    ['emails[type eq "WORK" and value eq "BOB@example.com"]', ['Bob@Example.com']],
    ['EMAILS[TYPE EQ "work"].VALUE EQ "bob@example.com"', ['Bob@Example.com']],
    ['emails[type eq "work" and value co "example"]', ['Bob@Example.com', 'alice@example.com']],
    ['emails.value eq "alice@home.example"', ['alice@example.com']],
    ['emails[type eq "home"]', ['alice@example.com']],
    ['emails co "HOME"', ['alice@example.com']],
    ['emails pr', ['Bob@Example.com', 'alice@example.com']],
    ['emails.primary eq true', ['alice@example.com']],
    ['phoneNumbers[type eq "mobile"].value sw "+31"', ['alice@example.com']],
    ['name.givenName eq "carol"', ['carol@other.example']],
    ['name.familyName sw "L"', ['alice@example.com']],
    ['title eq ""', ['carol@other.example']],
    ['title pr', ['Bob@Example.com', 'alice@example.com']],
    ['title ne "Engineer"', ['Bob@Example.com', 'carol@other.example', 'd"q\\z@example.com']],
    ['(title eq "Engineer" or title eq "Manager") and active eq true', ['alice@example.com']],
    ['not (userName sw "a") and not (userName sw "b")', ['carol@other.example', 'd"q\\z@example.com']],
    ['urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "1002"', ['Bob@Example.com']],
    ['urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "mgr-7"', ['alice@example.com']],
    ['urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager eq "mgr-7"', ['alice@example.com']],
    [`${CUSTOM}:tag eq "701984"`, ['alice@example.com']],
    ['score gt 10', ['alice@example.com']],
    ['score le 7', ['Bob@Example.com']],
    ['score eq "42"', []],
    ['roles.value eq "ADMIN"', ['carol@other.example']],
    ['userName eq "d\\"q\\\\z@example.com"', ['d"q\\z@example.com']],
    ['displayName eq "dävé"', ['d"q\\z@example.com']],
    ['displayName eq "DÄVÉ"', backendFolds() ? ['d"q\\z@example.com'] : []],
    ['meta.created gt "2000-01-01T00:00:00Z"', ['Bob@Example.com', 'alice@example.com', 'carol@other.example', 'd"q\\z@example.com']],
    ['meta.lastModified lt "2000-01-01"', []],
    ['externalId eq null', ['carol@other.example', 'd"q\\z@example.com']],
  ];
  /** SQLite's lower() folds ASCII only; PostgreSQL folds Unicode. */
  function backendFolds(): boolean {
    return backend === 'PostgreSQL';
  }
  for (const [text, expected] of expectations) {
    it(`${text}  →  ${expected.length} user(s)`, async () => {
      expect(await find(users, text)).toEqual(expected);
    });
  }

  it('ids, groups and members are filterable, within the tenant only', async () => {
    expect(await find(users, `id eq "${ids['alice@example.com']}"`)).toEqual(['alice@example.com']);
    expect(await find(users, `groups eq "${ids.managers}"`)).toEqual(['Bob@Example.com']);
    expect(await find(users, `groups[value eq "${ids.engineers}"]`)).toEqual(['alice@example.com']);
    expect(await find(groups, 'displayName eq "ENGINEERS"')).toEqual(['Engineers']);
    expect(await find(groups, 'externalId eq "g-1"')).toEqual(['Engineers']);
    expect(await find(groups, `members eq "${ids['Bob@Example.com']}"`)).toEqual(['Managers']);
    expect(await find(groups, `members[value eq "${ids['alice@example.com']}"]`)).toEqual(['Engineers']);
    expect(await find(groups, 'members pr')).toEqual(['Engineers', 'Managers']);
  });

  const refused: [string, number, string][] = [
    ['name eq "Alice"', 400, 'invalidFilter'],
    ['addresses.nothing[type eq "x"]', 400, 'invalidFilter'],
    ['meta.location eq "x"', 400, 'invalidFilter'],
    ['active co "t"', 400, 'invalidFilter'],
    ['active eq "perhaps"', 400, 'invalidFilter'],
    ['userName gt 5', 400, 'invalidFilter'],
    ['meta.created gt "yesterday"', 400, 'invalidFilter'],
    ['emails[value eq "x"] and name[givenName eq "x"]', 400, 'invalidFilter'],
    ['emails[type eq "work" and phoneNumbers[type eq "x"]]', 400, 'invalidFilter'],
    ['urn:ietf:params:scim:schemas:extension:enterprise:2.0:User eq "x"', 400, 'invalidFilter'],
    ['groups.display eq "x"', 400, 'invalidFilter'],
    ['password eq "secret"', 403, 'sensitive'],
  ];
  for (const [text, status, scimType] of refused) {
    it(`refuses ${text} with ${status} ${scimType}`, async () => {
      const error = await users.list(tenantId, { filter: parseFilter(text), startIndex: 1, count: 10 }, false).then(
        () => undefined,
        (e: ScimError) => e,
      );
      expect({ status: error?.status, scimType: error?.scimType }).toEqual({ status, scimType });
    });
  }

  it('refuses a filter with more than 200 terms', async () => {
    const text = Array.from({ length: 201 }, (_, i) => `x eq ${i}`).join(' or ');
    await expect(users.list(tenantId, { filter: parseFilter(text), startIndex: 1, count: 10 }, false)).rejects.toMatchObject({
      scimType: 'invalidFilter',
    });
  });

  it("Entra's matching filters are index lookups, in a tenant of a few thousand users", async () => {
    const db = store().db;
    // Enough users that the planner has a real choice (the last test: these rows stay).
    const stamp = new Date().toISOString();
    for (let batch = 0; batch < 10; batch++) {
      await db
        .insertInto('users')
        .values(
          Array.from({ length: 300 }, (_, i) => {
            const n = batch * 300 + i;
            return {
              id: `bulk-${n}`,
              tenant_id: tenantId,
              user_name: `bulk${n}@example.com`,
              external_id: `X-${n}`,
              work_email: `bulk${n}@example.com`,
              display_name: null,
              active: 1,
              role: 'member' as const,
              password_hash: null,
              attributes: JSON.stringify({ userName: `bulk${n}@example.com` }),
              created_at: stamp,
              updated_at: stamp,
            };
          }),
        )
        .execute();
    }
    for (let batch = 0; batch < 10; batch++) {
      await db
        .insertInto('groups')
        .values(
          Array.from({ length: 300 }, (_, i) => ({
            id: `bulk-group-${batch * 300 + i}`,
            tenant_id: tenantId,
            display_name: `Bulk group ${batch * 300 + i}`,
            external_id: null,
            attributes: JSON.stringify({ displayName: `Bulk group ${batch * 300 + i}` }),
            created_at: stamp,
            updated_at: stamp,
          })),
        )
        .execute();
    }
    await sql`analyze`.execute(db);
    const plans: [string, 'users' | 'groups', string][] = [
      ['userName eq "alice@example.com"', 'users', 'users_tenant_user_name'],
      ['externalId eq "A-1"', 'users', 'users_tenant_external_id'],
      ['emails[type eq "work"].value eq "alice@example.com"', 'users', 'users_tenant_work_email'],
      ['displayName eq "Engineers"', 'groups', 'groups_tenant_display_name'],
    ];
    for (const [text, table, index] of plans) {
      const type = table === 'users' ? USER_TYPE : GROUP_TYPE;
      const filterTable = table === 'users' ? USER_FILTER : GROUP_FILTER;
      const query = db
        .selectFrom(table)
        .select(`${table}.id`)
        .where(`${table}.tenant_id`, '=', tenantId)
        .where(filterToSql(type, filterTable, store().dialect, parseFilter(text)))
        .compile();
      const explain = store().dialect === 'postgres' ? 'explain' : 'explain query plan';
      const { rows } = await db.executeQuery(CompiledQuery.raw(`${explain} ${query.sql}`, [...query.parameters]));
      expect(JSON.stringify(rows), text).toContain(index);
    }
  });
});

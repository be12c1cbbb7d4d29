import { randomUUID } from 'node:crypto';
import { type Kysely, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addTenant } from '../server/directory/index.ts';
import { USER_TYPE } from '../server/scim/protocol/schemas.ts';
import { resourceTable } from '../server/scim/resources/table.ts';
import { USER_FILTER } from '../server/scim/resources/users.ts';
import { type Database, openStore, type Store } from '../server/store/index.ts';
import { prepare } from '../server/store/prepared.ts';
import { postgresUrl } from './support/backends.ts';
import { freshPostgresUrl } from './support/postgres.ts';
import { provisionedUserRow } from './support/rows.ts';
import { tempDataDir } from './support/service.ts';

const backends = [
  {
    name: 'embedded SQLite',
    open: async () => ({ store: await openStore({ dataDir: tempDataDir(), databaseUrl: undefined }), drop: async () => {} }),
  },
];
if (postgresUrl) {
  backends.push({
    name: 'PostgreSQL',
    async open() {
      const database = await freshPostgresUrl();
      return { store: await openStore({ dataDir: tempDataDir(), databaseUrl: database.url }), drop: database.drop };
    },
  });
}

const userByName = prepare((db: Kysely<Database>, v: { tenantId: string; userName: string }) =>
  db.selectFrom('users').select(['id', 'user_name']).where('tenant_id', '=', v.tenantId).where('user_name', '=', v.userName),
);

describe.each(backends)('queries compiled once, on $name', (backend) => {
  let store: Store;
  let drop: () => Promise<void>;
  let tenantA: string;
  let tenantB: string;

  beforeAll(async () => {
    ({ store, drop } = await backend.open());
    tenantA = (await addTenant(store.db, `a-${randomUUID().slice(0, 8)}.example`, 'A')).id;
    tenantB = (await addTenant(store.db, `b-${randomUUID().slice(0, 8)}.example`, 'B')).id;
    await store.db
      .insertInto('users')
      .values([
        provisionedUserRow(tenantA, 'Alice@A.example'),
        provisionedUserRow(tenantA, 'bob@a.example'),
        provisionedUserRow(tenantB, 'alice@a.example'),
      ])
      .execute();
  });
  afterAll(async () => {
    await store?.close();
    await drop?.();
  });

  it('run with each call’s own values, not the first call’s', async () => {
    expect((await userByName.first(store.db, { tenantId: tenantA, userName: 'bob@a.example' }))?.user_name).toBe('bob@a.example');
    expect((await userByName.first(store.db, { tenantId: tenantA, userName: 'Alice@A.example' }))?.user_name).toBe('Alice@A.example');
    expect(await userByName.first(store.db, { tenantId: tenantB, userName: 'bob@a.example' })).toBeUndefined();
    const rows = await userByName.execute(store.db, { tenantId: tenantB, userName: 'alice@a.example' });
    expect(rows.rows.map((r) => r.user_name)).toEqual(['alice@a.example']);
  });

  it('run inside a transaction, seeing its uncommitted rows', async () => {
    const outcome = store.db.transaction().execute(async (trx) => {
      await trx.insertInto('users').values(provisionedUserRow(tenantB, 'carol@b.example')).execute();
      const seen = await userByName.first(trx, { tenantId: tenantB, userName: 'carol@b.example' });
      expect(seen?.user_name).toBe('carol@b.example');
      throw new Error('roll back');
    });
    await expect(outcome).rejects.toThrow('roll back');
    expect(await userByName.first(store.db, { tenantId: tenantB, userName: 'carol@b.example' })).toBeUndefined();
  });

  it('never read another request’s uncommitted rows while its transaction is open', async () => {
    let inserted!: () => void;
    let release!: () => void;
    const insertedYet = new Promise<void>((resolve) => {
      inserted = resolve;
    });
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const open = store.db.transaction().execute(async (trx) => {
      await trx.insertInto('users').values(provisionedUserRow(tenantB, 'dave@b.example')).execute();
      inserted();
      await gate;
      throw new Error('roll back');
    });
    await insertedYet;
    const read = userByName.first(store.db, { tenantId: tenantB, userName: 'dave@b.example' });
    release();
    await expect(open).rejects.toThrow('roll back');
    expect(await read).toBeUndefined();
  });

  it('refuse a value that would be written into the SQL instead of bound', () => {
    const literal = prepare((db: Kysely<Database>, v: { userName: string }) =>
      db.selectFrom('users').select('id').where('user_name', '=', sql.lit(v.userName)),
    );
    expect(() => literal.compile(store.db)).toThrow('userName is not a plain parameter');
    const changed = prepare((db: Kysely<Database>, v: { userName: string }) =>
      db.selectFrom('users').select('id').where('user_name', '=', v.userName.toLowerCase()),
    );
    expect(() => changed.compile(store.db)).toThrow('userName is not a plain parameter');
  });

  it.runIf(backend.name === 'PostgreSQL')('go to PostgreSQL as named statements, which outlive a column added meanwhile', async () => {
    await store.db
      .transaction()
      .execute(async (trx) => {
        expect((await userByName.first(trx, { tenantId: tenantA, userName: 'bob@a.example' }))?.user_name).toBe('bob@a.example');
        const { rows } = await sql<{ name: string; statement: string }>`select name, statement from pg_prepared_statements`.execute(trx);
        expect(rows.find((row) => row.name.startsWith('securelogin_') && row.statement.includes('"user_name" = $2'))).toBeDefined();
        // A migration on another instance adds a column: the statement is re-planned, not broken.
        await sql`alter table users add column prepared_probe text`.execute(trx);
        expect((await userByName.first(trx, { tenantId: tenantA, userName: 'bob@a.example' }))?.user_name).toBe('bob@a.example');
        throw new Error('roll back the probe column');
      })
      .catch((error: Error) => {
        if (error.message !== 'roll back the probe column') throw error;
      });
  });

  describe('SCIM lookups', () => {
    const listing = () => resourceTable({ type: USER_TYPE, filter: USER_FILTER, columns: ['id', 'user_name'] }, store.dialect);
    const lookup = (value: string) => ({ op: 'eq', attrPath: 'userName', compValue: value }) as const;

    it('keep tenants apart and match userName without regard to case, call after call', async () => {
      const users = listing();
      const names = async (tenantId: string, value: string) =>
        (await users.list(store.db, tenantId, { filter: lookup(value), startIndex: 1, count: 100 })).rows.map((r) => r.user_name);
      expect(await names(tenantA, 'ALICE@a.example')).toEqual(['Alice@A.example']);
      expect(await names(tenantB, 'ALICE@a.example')).toEqual(['alice@a.example']);
      expect(await names(tenantA, 'bob@A.EXAMPLE')).toEqual(['bob@a.example']);
      expect(await names(tenantB, 'bob@a.example')).toEqual([]);
    });

    it('page and count as the general path does', async () => {
      const users = listing();
      const page = await users.list(store.db, tenantA, { filter: lookup('alice@a.example'), startIndex: 2, count: 1 });
      expect(page).toEqual({ total: 1, rows: [] });
      const counted = await users.list(store.db, tenantA, { filter: lookup('alice@a.example'), startIndex: 1, count: 0 });
      expect(counted).toEqual({ total: 1, rows: [] });
    });

    it('leave to the general path what is not a text column, with the same answers', async () => {
      const users = listing();
      const active = await users.list(store.db, tenantA, {
        filter: { op: 'eq', attrPath: 'active', compValue: true },
        startIndex: 1,
        count: 100,
      });
      expect(active.rows.map((r) => r.user_name).sort()).toEqual(['Alice@A.example', 'bob@a.example']);
      const created = await users
        .list(store.db, tenantA, {
          filter: { op: 'eq', attrPath: 'meta.created', compValue: 'not a date' },
          startIndex: 1,
          count: 100,
        })
        .catch((error: Error) => error);
      expect(created).toBeInstanceOf(Error);
      expect((created as Error).message).toMatch(/meta\.created/);
    });
  });
});

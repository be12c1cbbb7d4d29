import { randomUUID } from 'node:crypto';
import { type Kysely, sql } from 'kysely';
import { type Migration, type MigrationProvider, Migrator } from 'kysely/migration';
import type { Dialect } from './index.ts';

// Migrations are code, not files read at run time, so the CLI and the server
// apply exactly the same list whatever the working directory.
function migrations(dialect: Dialect): Record<string, Migration> {
  const json = dialect === 'postgres' ? 'jsonb' : 'text';
  return {
    '0001_directory': {
      async up(db: Kysely<any>) {
        await db.schema
          .createTable('tenants')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('disabled', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('created_at', 'text', (c) => c.notNull())
          .execute();

        await db.schema
          .createTable('domains')
          .addColumn('domain', 'text', (c) => c.primaryKey())
          .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
          .addColumn('is_primary', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('created_at', 'text', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('domains_tenant').on('domains').column('tenant_id').execute();

        await db.schema
          .createTable('users')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
          .addColumn('user_name', 'text', (c) => c.notNull())
          .addColumn('external_id', 'text')
          .addColumn('work_email', 'text')
          .addColumn('display_name', 'text')
          .addColumn('active', 'integer', (c) => c.notNull().defaultTo(1))
          .addColumn('role', 'text', (c) => c.notNull().defaultTo('member'))
          .addColumn('password_hash', 'text')
          .addColumn('attributes', json, (c) => c.notNull())
          .addColumn('version', 'integer', (c) => c.notNull().defaultTo(1))
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addColumn('updated_at', 'text', (c) => c.notNull())
          .execute();
        // userName is unique per tenant without regard to case (RFC 7643 caseExact=false).
        await db.schema.createIndex('users_tenant_user_name').on('users').unique().expression(sql`tenant_id, lower(user_name)`).execute();
        await db.schema.createIndex('users_tenant_external_id').on('users').columns(['tenant_id', 'external_id']).execute();
        await db.schema.createIndex('users_tenant_work_email').on('users').expression(sql`tenant_id, lower(work_email)`).execute();

        await db.schema
          .createTable('groups')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
          .addColumn('display_name', 'text', (c) => c.notNull())
          .addColumn('external_id', 'text')
          .addColumn('attributes', json, (c) => c.notNull())
          .addColumn('version', 'integer', (c) => c.notNull().defaultTo(1))
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addColumn('updated_at', 'text', (c) => c.notNull())
          .execute();
        await db.schema
          .createIndex('groups_tenant_display_name')
          .on('groups')
          .unique()
          .expression(sql`tenant_id, lower(display_name)`)
          .execute();
        await db.schema.createIndex('groups_tenant_external_id').on('groups').columns(['tenant_id', 'external_id']).execute();

        await db.schema
          .createTable('memberships')
          .addColumn('group_id', 'text', (c) => c.notNull().references('groups.id').onDelete('cascade'))
          .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
          .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addPrimaryKeyConstraint('memberships_pk', ['group_id', 'user_id'])
          .execute();
        await db.schema.createIndex('memberships_user').on('memberships').column('user_id').execute();

        await db.schema
          .createTable('clients')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('tenant_id', 'text', (c) => c.references('tenants.id').onDelete('cascade'))
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('secret_hash', 'text', (c) => c.notNull())
          .addColumn('redirect_uris', json, (c) => c.notNull())
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addColumn('secret_rotated_at', 'text', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('clients_tenant').on('clients').column('tenant_id').execute();

        await db.schema
          .createTable('settings')
          .addColumn('key', 'text', (c) => c.primaryKey())
          .addColumn('value', 'text', (c) => c.notNull())
          .execute();
      },
    },
    '0002_oidc_and_throttle': {
      async up(db: Kysely<any>) {
        await db.schema
          .createTable('oidc_artifacts')
          .addColumn('model', 'text', (c) => c.notNull())
          .addColumn('id', 'text', (c) => c.notNull())
          .addColumn('payload', json, (c) => c.notNull())
          .addColumn('grant_id', 'text')
          .addColumn('uid', 'text')
          .addColumn('user_code', 'text')
          .addColumn('expires_at', 'bigint')
          .addColumn('consumed_at', 'bigint')
          .addPrimaryKeyConstraint('oidc_artifacts_pk', ['model', 'id'])
          .execute();
        await db.schema.createIndex('oidc_artifacts_grant').on('oidc_artifacts').column('grant_id').execute();
        await db.schema.createIndex('oidc_artifacts_uid').on('oidc_artifacts').column('uid').execute();
        await db.schema.createIndex('oidc_artifacts_expires').on('oidc_artifacts').column('expires_at').execute();

        await db.schema
          .createTable('throttle')
          .addColumn('key', 'text', (c) => c.primaryKey())
          .addColumn('failures', 'integer', (c) => c.notNull())
          .addColumn('window_ends_at', 'bigint', (c) => c.notNull())
          .addColumn('locked_until', 'bigint')
          .execute();
      },
    },
    '0003_scim_listing': {
      async up(db: Kysely<any>) {
        // SCIM lists page through a tenant's users and groups in creation
        // order (startIndex/count); these keep each page an index range
        // instead of a sort of the whole tenant.
        await db.schema.createIndex('users_tenant_created').on('users').columns(['tenant_id', 'created_at', 'id']).execute();
        await db.schema.createIndex('groups_tenant_created').on('groups').columns(['tenant_id', 'created_at', 'id']).execute();
      },
    },
    '0004_sign_in_disabled': {
      async up(db: Kysely<any>) {
        // The operator's block, apart from SCIM's `active`: Entra owns
        // `active` and sets it back to true on its next cycle, so a manager
        // the operator disabled must stay disabled whatever Entra says.
        await db.schema
          .alterTable('users')
          .addColumn('sign_in_disabled', 'integer', (c) => c.notNull().defaultTo(0))
          .execute();
      },
    },
    '0005_partial_artifact_indexes': {
      async up(db: Kysely<any>) {
        // Only sessions have a uid and only grant-bound artifacts a grant id;
        // every token written also wrote an empty entry into both indexes.
        // Partial indexes skip those rows: each refresh writes fewer pages
        // (BENCHMARKS.md). `uid = ?` and `grant_id = ?` still use them.
        for (const [name, column] of [
          ['oidc_artifacts_grant', 'grant_id'],
          ['oidc_artifacts_uid', 'uid'],
        ] as const) {
          await db.schema.dropIndex(name).execute();
          await db.schema.createIndex(name).on('oidc_artifacts').column(column).where(sql.ref(column), 'is not', null).execute();
        }
      },
    },
    '0006_scim_sorting': {
      async up(db: Kysely<any>) {
        // SCIM sortBy (RFC 7644 §3.4.2.3): one index per tenant and sortable
        // attribute, ending in the id that breaks ties, so a sorted page is an
        // index range (either direction) instead of a sort of the tenant. The
        // expressions are the ORDER BY keys of scim/resources/sort-sql.ts,
        // written the same way: byte order (PostgreSQL collate "C"), ASCII
        // case folding for userName and displayName, and on SQLite a leading
        // `is null` that puts missing values where PostgreSQL puts them.
        const indexes =
          dialect === 'postgres'
            ? [
                ['users_sort_user_name', 'users', sql`tenant_id, lower(user_name collate "C"), id collate "C"`],
                ['users_sort_display_name', 'users', sql`tenant_id, lower(display_name collate "C"), id collate "C"`],
                ['users_sort_external_id', 'users', sql`tenant_id, external_id collate "C", id collate "C"`],
                ['users_sort_created', 'users', sql`tenant_id, created_at collate "C", id collate "C"`],
                ['users_sort_last_modified', 'users', sql`tenant_id, updated_at collate "C", id collate "C"`],
                ['users_sort_id', 'users', sql`tenant_id, id collate "C"`],
                ['groups_sort_display_name', 'groups', sql`tenant_id, lower(display_name collate "C"), id collate "C"`],
                ['groups_sort_external_id', 'groups', sql`tenant_id, external_id collate "C", id collate "C"`],
                ['groups_sort_created', 'groups', sql`tenant_id, created_at collate "C", id collate "C"`],
                ['groups_sort_last_modified', 'groups', sql`tenant_id, updated_at collate "C", id collate "C"`],
                ['groups_sort_id', 'groups', sql`tenant_id, id collate "C"`],
              ]
            : [
                // meta.created is 0003's (tenant_id, created_at, id), on both tables.
                ['users_sort_user_name', 'users', sql`tenant_id, lower(user_name), id`],
                ['users_sort_display_name', 'users', sql`tenant_id, display_name is null, lower(display_name), id`],
                ['users_sort_external_id', 'users', sql`tenant_id, external_id is null, external_id, id`],
                ['users_sort_last_modified', 'users', sql`tenant_id, updated_at, id`],
                ['users_sort_id', 'users', sql`tenant_id, id`],
                ['groups_sort_display_name', 'groups', sql`tenant_id, lower(display_name), id`],
                ['groups_sort_external_id', 'groups', sql`tenant_id, external_id is null, external_id, id`],
                ['groups_sort_last_modified', 'groups', sql`tenant_id, updated_at, id`],
                ['groups_sort_id', 'groups', sql`tenant_id, id`],
              ];
        for (const [name, table, columns] of indexes as [string, string, ReturnType<typeof sql>][]) {
          await db.schema.createIndex(name).on(table).expression(columns).execute();
        }
      },
    },
    '0007_sso': {
      async up(db: Kysely<any>) {
        // A tenant's single sign-on: the one Entra tenant it trusts, and
        // whether passwords are off for everyone but its managers.
        await db.schema
          .createTable('sso_settings')
          .addColumn('tenant_id', 'text', (c) => c.primaryKey().references('tenants.id').onDelete('cascade'))
          .addColumn('entra_tenant_id', 'text', (c) => c.notNull())
          .addColumn('required', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addColumn('updated_at', 'text', (c) => c.notNull())
          .execute();
        // An Entra account (tid, oid) linked to one user; the link goes with the user.
        await db.schema
          .createTable('sso_links')
          .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
          .addColumn('tid', 'text', (c) => c.notNull())
          .addColumn('oid', 'text', (c) => c.notNull())
          .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addPrimaryKeyConstraint('sso_links_pk', ['tenant_id', 'tid', 'oid'])
          .execute();
        // One Entra account per user: a second account can never take over a linked user.
        await db.schema.createIndex('sso_links_user').on('sso_links').unique().column('user_id').execute();
        // Sign-ins sent to Entra and not yet back: state, nonce and PKCE
        // verifier stay here, never in the browser; a state is taken once.
        await db.schema
          .createTable('sso_pending')
          .addColumn('state', 'text', (c) => c.primaryKey())
          .addColumn('interaction_uid', 'text', (c) => c.notNull())
          .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
          .addColumn('domain', 'text', (c) => c.notNull())
          .addColumn('nonce', 'text', (c) => c.notNull())
          .addColumn('code_verifier', 'text', (c) => c.notNull())
          .addColumn('expires_at', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('sso_pending_expires').on('sso_pending').column('expires_at').execute();
      },
    },
    '0008_app_clients': {
      async up(db: Kysely<any>) {
        // A client is either Entra's provisioning connection (the Authorize
        // flow, scope scim, managers only) or one of SecureLogin's own apps
        // signing users in over OpenID Connect. A public app (a browser or
        // desktop app that cannot keep a secret) has no secret at all.
        await db.schema
          .alterTable('clients')
          .addColumn('kind', 'text', (c) => c.notNull().defaultTo('provisioning'))
          .execute();
        await db.schema
          .alterTable('clients')
          .addColumn('is_public', 'integer', (c) => c.notNull().defaultTo(0))
          .execute();
      },
    },
    '0009_scim_activity': {
      async up(db: Kysely<any>) {
        // Every SCIM request of a tenant, as its managers read it: no bodies,
        // no values, only which attributes changed. The console and
        // `securelogin activity` page through a tenant newest first by
        // (at, id), and the connections page reads one grant's recent rows.
        await db.schema
          .createTable('scim_activity')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('tenant_id', 'text', (c) => c.notNull())
          .addColumn('at', 'text', (c) => c.notNull())
          .addColumn('grant_id', 'text')
          .addColumn('client_id', 'text')
          .addColumn('request_id', 'text', (c) => c.notNull())
          .addColumn('method', 'text', (c) => c.notNull())
          .addColumn('operation', 'text', (c) => c.notNull())
          .addColumn('member_count', 'integer')
          .addColumn('resource_type', 'text')
          .addColumn('resource_id', 'text')
          .addColumn('resource_name', 'text')
          .addColumn('status', 'integer', (c) => c.notNull())
          .addColumn('scim_type', 'text')
          .addColumn('detail', 'text')
          .addColumn('attributes', 'text')
          .execute();
        await db.schema.createIndex('scim_activity_tenant_at').on('scim_activity').columns(['tenant_id', 'at desc', 'id desc']).execute();
        await db.schema.createIndex('scim_activity_grant_at').on('scim_activity').columns(['grant_id', 'at']).execute();
        await db.schema.createIndex('scim_activity_grant_operation').on('scim_activity').columns(['grant_id', 'operation', 'at']).execute();
        await db.schema.createIndex('scim_activity_at').on('scim_activity').column('at').execute();
        await db.schema.createIndex('scim_activity_request').on('scim_activity').columns(['tenant_id', 'request_id']).execute();

        // Entra's connections: one row per grant of a provisioning client,
        // written when the code is exchanged. Neither session store can list
        // grants by tenant (Redis keys them by id only), so this does.
        await db.schema
          .createTable('connections')
          .addColumn('grant_id', 'text', (c) => c.primaryKey())
          .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
          .addColumn('client_id', 'text', (c) => c.notNull())
          .addColumn('manager_id', 'text', (c) => c.notNull())
          .addColumn('manager_user_name', 'text', (c) => c.notNull())
          .addColumn('authorized_at', 'text', (c) => c.notNull())
          .addColumn('last_refresh_at', 'text')
          .addColumn('revoked_at', 'text')
          .addColumn('revoked_by', 'text')
          .execute();
        await db.schema.createIndex('connections_tenant').on('connections').columns(['tenant_id', 'authorized_at']).execute();

        // The console's sign-ins: the cookie holds a random token, this its SHA-256.
        await db.schema
          .createTable('console_sessions')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
          .addColumn('user_id', 'text', (c) => c.notNull())
          .addColumn('csrf', 'text', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('seen_at', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('console_sessions_seen').on('console_sessions').column('seen_at').execute();
      },
    },
    '0011_secrets': {
      async up(db: Kysely<any>) {
        // A client may hold several secrets at once: the new one after a
        // rotation and the old one during its overlap, each with an expiry.
        await db.schema
          .createTable('client_secrets')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('client_id', 'text', (c) => c.notNull().references('clients.id').onDelete('cascade'))
          .addColumn('secret_hash', 'text', (c) => c.notNull())
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addColumn('expires_at', 'text')
          .execute();
        await db.schema.createIndex('client_secrets_client').on('client_secrets').column('client_id').execute();
        const clients = await db.selectFrom('clients').select(['id', 'secret_hash', 'secret_rotated_at']).execute();
        for (const client of clients) {
          if (client.secret_hash === '') continue;
          await db
            .insertInto('client_secrets')
            .values({ id: randomUUID(), client_id: client.id, secret_hash: client.secret_hash, created_at: client.secret_rotated_at })
            .execute();
        }
        await db.schema.alterTable('clients').dropColumn('secret_hash').execute();

        // Entra's client credentials grant: no user, a token bound to the client's tenant, a lifetime of its own.
        await db.schema
          .alterTable('clients')
          .addColumn('grant_type', 'text', (c) => c.notNull().defaultTo('authorization_code'))
          .execute();
        await db.schema.alterTable('clients').addColumn('access_token_ttl', 'integer').execute();

        // Long-lived SCIM tokens (Entra's non-gallery app: Tenant URL and Secret Token); only a hash is kept.
        await db.schema
          .createTable('scim_tokens')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('token_hash', 'text', (c) => c.notNull().unique())
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addColumn('expires_at', 'text')
          .addColumn('last_used_at', 'text')
          .execute();
        await db.schema.createIndex('scim_tokens_tenant').on('scim_tokens').column('tenant_id').execute();
      },
    },
  };
}

export async function migrateToLatest(db: Kysely<any>, dialect: Dialect): Promise<string[]> {
  const provider: MigrationProvider = { getMigrations: async () => migrations(dialect) };
  const migrator = new Migrator({
    db,
    provider,
    migrationTableName: 'schema_migrations',
    migrationLockTableName: 'schema_migrations_lock',
  });
  if (dialect === 'postgres') {
    // Kysely takes an advisory lock on PostgreSQL, so instances starting together migrate one at a time.
    const { error, results } = await migrator.migrateToLatest();
    if (error) throw error;
    return applied(results);
  }
  // On SQLite Kysely's lock is per process only: a server and a CLI (or two
  // servers) on one fresh data folder would both create the tables. One
  // IMMEDIATE transaction around the whole run takes SQLite's write lock first,
  // so the second waits (busy_timeout) and then finds everything applied; and a
  // failed migration leaves nothing half done.
  await beginImmediate(db);
  try {
    const { error, results } = await migrator.migrateToLatest();
    if (error) throw error;
    await sql`commit`.execute(db);
    return applied(results);
  } catch (error) {
    await sql`rollback`.execute(db).catch(() => {});
    throw error;
  }
}

function applied(results: { status: string; migrationName: string }[] | undefined): string[] {
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}

/**
 * BEGIN IMMEDIATE, waiting for another writer without blocking the thread.
 * SQLite's busy_timeout waits synchronously: with two stores in one process
 * (tests start two instances in one) the second would stall the very thread
 * the first needs to finish and release the lock, and fail after the
 * timeout. So the wait is a retry loop instead, for as long as 30 seconds.
 */
async function beginImmediate(db: Kysely<any>): Promise<void> {
  const { rows } = await sql<{ timeout: number }>`pragma busy_timeout`.execute(db);
  const previous = Number(rows[0]?.timeout ?? 0);
  await sql.raw('pragma busy_timeout = 0').execute(db);
  try {
    const deadline = Date.now() + 30_000;
    for (;;) {
      try {
        await sql`begin immediate`.execute(db);
        return;
      } catch (error) {
        if ((error as { code?: string }).code !== 'SQLITE_BUSY' || Date.now() > deadline) throw error;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }
  } finally {
    await sql.raw(`pragma busy_timeout = ${previous}`).execute(db);
  }
}

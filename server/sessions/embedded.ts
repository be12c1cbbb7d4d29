import { type Insertable, type Kysely, sql } from 'kysely';
import type { Adapter, AdapterPayload } from 'oidc-provider';
import type { Logger } from '../log.ts';
import { type Database, isStorableText, readJson, type Store } from '../store/index.ts';
import { prepare } from '../store/prepared.ts';
import type { OidcArtifactTable } from '../store/schema.ts';
import {
  type AdapterClass,
  type ConsumeOutcome,
  checkPayloadText,
  GRANT_BOUND_MODELS,
  guarded,
  settleLostConsume,
  withConsumed,
  withoutConsumed,
} from './artifacts.ts';
import type { Throttle, ThrottlePolicy, ThrottleState } from './index.ts';
import { checkPolicy, stateAt } from './throttle-keys.ts';

// Every token check finds two artifacts (the access token and its grant):
// compiled once (server/store/prepared.ts).
const findQuery = prepare((db: Kysely<Database>, v: { model: string; id: string; now: number }) =>
  db
    .selectFrom('oidc_artifacts')
    .select(['payload', 'consumed_at'])
    .where('model', '=', v.model)
    .where('id', '=', v.id)
    .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', v.now)])),
);

// Every token issued or rotated writes one or more artifacts: compiled once.
const upsertQuery = prepare((db: Kysely<Database>, row: Insertable<OidcArtifactTable>) =>
  db
    .insertInto('oidc_artifacts')
    .values({
      model: row.model,
      id: row.id,
      payload: row.payload,
      grant_id: row.grant_id,
      uid: row.uid,
      user_code: row.user_code,
      expires_at: row.expires_at,
      consumed_at: row.consumed_at,
    })
    .onConflict((oc) =>
      oc.columns(['model', 'id']).doUpdateSet({
        payload: (eb) => eb.ref('excluded.payload'),
        grant_id: (eb) => eb.ref('excluded.grant_id'),
        uid: (eb) => eb.ref('excluded.uid'),
        user_code: (eb) => eb.ref('excluded.user_code'),
        expires_at: (eb) => eb.ref('excluded.expires_at'),
        // Once consumed, always consumed: re-saving an artifact must never make a code usable again.
        consumed_at: sql<number | null>`coalesce(oidc_artifacts.consumed_at, excluded.consumed_at)`,
      }),
    ),
);

// Every code exchange and refresh consumes one artifact.
const consumeQuery = prepare((db: Kysely<Database>, v: { model: string; id: string; now: number }) =>
  db
    .updateTable('oidc_artifacts')
    .set({ consumed_at: v.now })
    .where('model', '=', v.model)
    .where('id', '=', v.id)
    .where('consumed_at', 'is', null)
    .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', v.now)])),
);
const consumedQuery = prepare((db: Kysely<Database>, v: { model: string; id: string }) =>
  db.selectFrom('oidc_artifacts').select(['grant_id', 'consumed_at']).where('model', '=', v.model).where('id', '=', v.id),
);

/**
 * oidc-provider artifacts in the directory store's `oidc_artifacts` table, so
 * a restart keeps every session and token. Works on SQLite and PostgreSQL
 * alike: every write that must not race is a single conditional statement.
 */
export function embeddedAdapter(store: Store, log: Logger): AdapterClass {
  const { db } = store;

  async function revokeGrant(grantId: string): Promise<void> {
    await db.deleteFrom('oidc_artifacts').where('grant_id', '=', grantId).execute();
  }

  return class EmbeddedAdapter implements Adapter {
    readonly model: string;

    constructor(model: string) {
      this.model = model;
    }

    async upsert(id: string, payload: AdapterPayload, expiresIn?: number): Promise<void> {
      checkPayloadText(payload);
      const { stored, consumedAtMs } = withoutConsumed(payload);
      const row = {
        model: this.model,
        id,
        payload: JSON.stringify(stored),
        grant_id: GRANT_BOUND_MODELS.has(this.model) ? (payload.grantId ?? null) : null,
        uid: this.model === 'Session' ? (payload.uid ?? null) : null,
        user_code: payload.userCode ?? null,
        expires_at: typeof expiresIn === 'number' ? Date.now() + expiresIn * 1000 : null,
        consumed_at: consumedAtMs,
      };
      await guarded(log, 'upsert', () => upsertQuery.execute(db, row));
    }

    // An id no store can keep names nothing (PostgreSQL would fail on it): a
    // token or code that was made up, as the client that sent it learns.
    async find(id: string): Promise<AdapterPayload | undefined> {
      if (!isStorableText(id)) return undefined;
      const row = await guarded(log, 'find', () => findQuery.first(db, { model: this.model, id, now: Date.now() }));
      return row ? withConsumed(readJson<AdapterPayload>(row.payload), row.consumed_at) : undefined;
    }

    async findByUid(uid: string): Promise<AdapterPayload | undefined> {
      return this.findBy('uid', uid);
    }

    async findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
      return this.findBy('user_code', userCode);
    }

    private async findBy(column: 'uid' | 'user_code', value: string): Promise<AdapterPayload | undefined> {
      if (!isStorableText(value)) return undefined;
      const row = await guarded(log, `findBy ${column}`, () =>
        db
          .selectFrom('oidc_artifacts')
          .select(['payload', 'consumed_at'])
          .where('model', '=', this.model)
          .where(column, '=', value)
          .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', Date.now())]))
          .orderBy('expires_at', 'desc')
          .limit(1)
          .executeTakeFirst(),
      );
      return row ? withConsumed(readJson<AdapterPayload>(row.payload), row.consumed_at) : undefined;
    }

    async consume(id: string): Promise<void> {
      const outcome = await guarded(log, 'consume', async (): Promise<ConsumeOutcome> => {
        if (!isStorableText(id)) return { won: false, alreadyConsumed: false, grantId: undefined };
        const now = Date.now();
        // The WHERE makes this the one place a race is decided: of two
        // concurrent consumes, the engine lets exactly one UPDATE match.
        const result = await consumeQuery.execute(db, { model: this.model, id, now });
        if (Number(result.numAffectedRows) === 1) return { won: true };
        const row = await consumedQuery.first(db, { model: this.model, id });
        // An artifact that expired between find and consume is gone, not replayed: no revocation for it.
        return { won: false, alreadyConsumed: row?.consumed_at != null, grantId: row?.grant_id ?? undefined };
      });
      await settleLostConsume(this.model, outcome, (grantId) =>
        guarded(log, 'revoke after lost consume', async () => {
          await revokeGrant(grantId);
          await db.deleteFrom('oidc_artifacts').where('model', '=', 'Grant').where('id', '=', grantId).execute();
          log.warn({ model: this.model, grantId }, 'single-use artifact used twice at once; grant revoked');
        }),
      );
    }

    async destroy(id: string): Promise<void> {
      if (!isStorableText(id)) return;
      await guarded(log, 'destroy', () => db.deleteFrom('oidc_artifacts').where('model', '=', this.model).where('id', '=', id).execute());
    }

    async revokeByGrantId(grantId: string): Promise<void> {
      if (!isStorableText(grantId)) return;
      await guarded(log, 'revokeByGrantId', () => revokeGrant(grantId));
    }
  };
}

/** Failure counters in the directory store's `throttle` table. */
export function embeddedThrottle(store: Store, log: Logger): Throttle {
  const { db } = store;

  async function read(key: string) {
    return db.selectFrom('throttle').selectAll().where('key', '=', key).executeTakeFirst();
  }

  return {
    async failure(key: string, policy: ThrottlePolicy): Promise<ThrottleState> {
      checkPolicy(policy);
      return guarded(log, 'throttle failure', async () => {
        const now = Date.now();
        const windowEnds = now + policy.windowSeconds * 1000;
        const lockEnds = now + policy.lockSeconds * 1000;
        const lockedNow = policy.limit <= 1;
        // One statement, so concurrent failures (other requests, other
        // instances) are each counted once without a read-modify-write race.
        // SET expressions see the row as it was, hence the repeated CASEs.
        // Epoch milliseconds are cast so PostgreSQL types the CASE branches as bigint, not text.
        const ms = (value: number) => sql`cast(${value} as bigint)`;
        const active = sql`(throttle.locked_until is not null and throttle.locked_until > ${ms(now)})`;
        const fresh = sql`(throttle.window_ends_at <= ${ms(now)})`;
        const counted = sql`(case when ${fresh} then 1 else throttle.failures + 1 end)`;
        const row = await db
          .insertInto('throttle')
          .values({
            key,
            failures: 1,
            window_ends_at: lockedNow ? lockEnds : windowEnds,
            locked_until: lockedNow ? lockEnds : null,
          })
          .onConflict((oc) =>
            oc.column('key').doUpdateSet({
              failures: sql<number>`case when ${active} then throttle.failures else ${counted} end`,
              locked_until: sql<
                number | null
              >`case when ${active} then throttle.locked_until when ${counted} >= ${policy.limit} then ${ms(lockEnds)} else null end`,
              // A lock also ends the window: after it, the count starts again.
              window_ends_at: sql<number>`case when ${active} then throttle.window_ends_at when ${counted} >= ${policy.limit} then ${ms(lockEnds)} when ${fresh} then ${ms(windowEnds)} else throttle.window_ends_at end`,
            }),
          )
          .returningAll()
          .executeTakeFirstOrThrow();
        return stateAt(now, row.failures, row.window_ends_at, row.locked_until);
      });
    },

    async state(key: string): Promise<ThrottleState> {
      return guarded(log, 'throttle state', async () => {
        const row = await read(key);
        return stateAt(Date.now(), row?.failures ?? 0, row?.window_ends_at ?? 0, row?.locked_until ?? null);
      });
    },

    async reset(key: string): Promise<void> {
      await guarded(log, 'throttle reset', () => db.deleteFrom('throttle').where('key', '=', key).execute());
    },
  };
}

/** Deletes what has expired; find() already ignores it, this only keeps the tables small. */
export async function sweepExpired(store: Store): Promise<{ artifacts: number; counters: number }> {
  const now = Date.now();
  const artifacts = await store.db.deleteFrom('oidc_artifacts').where('expires_at', '<=', now).executeTakeFirst();
  const counters = await store.db
    .deleteFrom('throttle')
    .where('window_ends_at', '<=', now)
    .where((eb) => eb.or([eb('locked_until', 'is', null), eb('locked_until', '<=', now)]))
    .executeTakeFirst();
  return { artifacts: Number(artifacts.numDeletedRows), counters: Number(counters.numDeletedRows) };
}

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
import type { Attempt, Cleared, Clock, Counter, Throttle, ThrottleSchedule, ThrottleState } from './index.ts';
import { checkSchedule, pauseAfter, stateAt } from './throttle-keys.ts';

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

/** Row keys: the group, then the member, so that a group's rows share a prefix. */
const rowKey = (counter: Counter) => `${counter.group}#${counter.member}`;

/** Failure counters in the directory store's `throttle` table, one row per counter. */
export function embeddedThrottle(store: Store, log: Logger, clock: Clock): Throttle {
  const { db } = store;

  async function read(key: string) {
    return db.selectFrom('throttle').selectAll().where('key', '=', key).executeTakeFirst();
  }

  return {
    async attempt(counter: Counter, schedule: ThrottleSchedule): Promise<Attempt> {
      checkSchedule(schedule);
      const key = rowKey(counter);
      return guarded(log, 'throttle attempt', async () => {
        const now = clock();
        const windowEnds = now + schedule.windowSeconds * 1000;
        // Epoch milliseconds are cast so PostgreSQL types the CASE branches as bigint, not text.
        const ms = (value: number) => sql`cast(${value} as bigint)`;
        const fresh = sql`(throttle.window_ends_at <= ${ms(now)})`;
        const counted = sql`(case when ${fresh} then 1 else throttle.failures + 1 end)`;
        const windowEndsAt = sql`(case when ${fresh} then ${ms(windowEnds)} else throttle.window_ends_at end)`;
        // The schedule as SQL: the pause the counted failure begins (see pauseAfter).
        const { free, pauses, limit } = schedule;
        const branches = [sql`when ${counted} >= ${limit} then ${windowEndsAt}`];
        pauses.forEach((seconds, i) => {
          const test = i === pauses.length - 1 ? sql`>=` : sql`=`;
          branches.push(sql`when ${counted} ${test} ${free + i + 1} then ${ms(now + seconds * 1000)}`);
        });
        const pause = sql<number | null>`case ${sql.join(branches, sql` `)} else null end`;
        // One statement, so that simultaneous attempts are each counted once:
        // the WHERE leaves a paused row untouched, and then nothing returns.
        // SET expressions see the row as it was, hence the repeated CASEs.
        const row = await db
          .insertInto('throttle')
          .values({ key, failures: 1, window_ends_at: windowEnds, locked_until: pauseAfter(schedule, 1, now, windowEnds) })
          .onConflict((oc) =>
            oc
              .column('key')
              .doUpdateSet({ failures: sql<number>`${counted}`, window_ends_at: sql<number>`${windowEndsAt}`, locked_until: pause })
              .where((eb) => eb.or([eb('throttle.locked_until', 'is', null), eb('throttle.locked_until', '<=', now)])),
          )
          .returningAll()
          .executeTakeFirst();
        if (row) return { counted: true, ...stateAt(now, row.failures, row.window_ends_at, row.locked_until) };
        const paused = await read(key);
        return { counted: false, ...stateAt(now, paused?.failures ?? 0, paused?.window_ends_at ?? 0, paused?.locked_until ?? null) };
      });
    },

    async state(counter: Counter): Promise<ThrottleState> {
      return guarded(log, 'throttle state', async () => {
        const row = await read(rowKey(counter));
        return stateAt(clock(), row?.failures ?? 0, row?.window_ends_at ?? 0, row?.locked_until ?? null);
      });
    },

    async reset(counter: Counter): Promise<void> {
      await guarded(log, 'throttle reset', () => db.deleteFrom('throttle').where('key', '=', rowKey(counter)).execute());
    },

    async clear(group: string): Promise<Cleared[]> {
      const prefix = `${group}#`;
      return guarded(log, 'throttle clear', async () => {
        const now = clock();
        // substr, not LIKE: exact on both engines (LIKE ignores case on SQLite), and the keys are ASCII.
        const ofGroup = sql<boolean>`substr(${sql.ref('key')}, 1, ${prefix.length}) = ${prefix}`;
        const rows = await db.deleteFrom('throttle').where(ofGroup).returningAll().execute();
        return rows
          .map((row) => ({ member: row.key.slice(prefix.length), state: stateAt(now, row.failures, row.window_ends_at, row.locked_until) }))
          .filter(({ state }) => state.failures > 0 || state.paused);
      });
    },
  };
}

/** Deletes what has expired; find() already ignores it, this only keeps the tables small. */
export async function sweepExpired(store: Store, throttleNow: number): Promise<{ artifacts: number; counters: number }> {
  const now = Date.now();
  const artifacts = await store.db.deleteFrom('oidc_artifacts').where('expires_at', '<=', now).executeTakeFirst();
  const counters = await store.db
    .deleteFrom('throttle')
    .where('window_ends_at', '<=', throttleNow)
    .where((eb) => eb.or([eb('locked_until', 'is', null), eb('locked_until', '<=', throttleNow)]))
    .executeTakeFirst();
  return { artifacts: Number(artifacts.numDeletedRows), counters: Number(counters.numDeletedRows) };
}

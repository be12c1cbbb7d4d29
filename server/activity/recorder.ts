import type { Insertable, Kysely } from 'kysely';
import type { Logger } from '../log.ts';
import { type Database, isStoreUnavailable } from '../store/index.ts';
import type { ScimActivityTable } from '../store/schema.ts';
import type { ActivityEntry } from './types.ts';

/** Knobs for tests; production uses the defaults. */
export interface RecorderTuning {
  /** How often buffered entries are written (default 1 s). */
  flushIntervalMs?: number;
  /** How often old entries are pruned (default 10 minutes). */
  pruneIntervalMs?: number;
  /** Epoch milliseconds now, for retention; tests move one on themselves. */
  clock?: () => number;
}

export interface Recorder {
  /** Keeps the entry for the next batch; never waits, never throws. */
  record(entry: ActivityEntry): void;
  /** Writes what is buffered now (the console does before it reads, so a manager sees the latest). */
  flush(): Promise<void>;
  /** Deletes entries older than the retention, in small batches; how many went. */
  prune(): Promise<number>;
  /** Flushes what is left and stops the timers. */
  close(): Promise<void>;
}

const BATCH = 500;
/** Past this many unwritten entries (a long store outage) the oldest are dropped, not memory. */
const MAX_BUFFERED = 20_000;
const PRUNE_BATCH = 1_000;
/** One prune run stops after this many, so it never holds the store long; the next run goes on. */
const PRUNE_LIMIT = 50_000;

function row(entry: ActivityEntry): Insertable<ScimActivityTable> {
  return {
    id: entry.id,
    tenant_id: entry.tenantId,
    at: entry.at,
    grant_id: entry.grantId,
    client_id: entry.clientId,
    request_id: entry.requestId,
    method: entry.method,
    operation: entry.operation,
    member_count: entry.memberCount,
    resource_type: entry.resourceType,
    resource_id: entry.resourceId,
    resource_name: entry.resourceName,
    status: entry.status,
    scim_type: entry.scimType,
    detail: entry.detail,
    attributes: entry.attributes.length ? entry.attributes.join(',') : null,
  };
}

/**
 * The SCIM activity record's writer: entries are buffered in memory and
 * written in batches off the request path, so a SCIM request never waits
 * for its record and a store that does not answer never fails one (the
 * entries wait, up to a bound, for the store to come back).
 */
export function createRecorder(parts: { db: Kysely<Database>; log: Logger; retentionDays: number }, tuning: RecorderTuning = {}): Recorder {
  const { db, log } = parts;
  const clock = tuning.clock ?? Date.now;
  let buffer: ActivityEntry[] = [];
  let writing: Promise<void> = Promise.resolve();
  let failing = false;
  let dropped = 0;

  const writeBuffered = async () => {
    while (buffer.length > 0) {
      const batch = buffer.slice(0, BATCH);
      try {
        await db.insertInto('scim_activity').values(batch.map(row)).execute();
      } catch (error) {
        // A store that does not answer is logged once per outage, by its watch (store/outages.ts).
        if (isStoreUnavailable(error)) log.debug({ err: error, waiting: buffer.length }, 'SCIM activity record waits for the store');
        else if (!failing) log.warn({ err: error, waiting: buffer.length }, 'writing the SCIM activity record failed; will retry');
        failing = true;
        return;
      }
      buffer = buffer.slice(batch.length);
      if (failing) log.info({ dropped }, 'the SCIM activity record is written again');
      failing = false;
      dropped = 0;
    }
  };
  const flush = () => {
    writing = writing.then(writeBuffered);
    return writing;
  };

  const prune = async () => {
    const before = new Date(clock() - parts.retentionDays * 86_400_000).toISOString();
    let removed = 0;
    while (removed < PRUNE_LIMIT) {
      // Batches by id so that no single statement holds the table long.
      const ids = db.selectFrom('scim_activity').select('id').where('at', '<', before).limit(PRUNE_BATCH);
      const result = await db.deleteFrom('scim_activity').where('id', 'in', ids).executeTakeFirst();
      const count = Number(result.numDeletedRows);
      removed += count;
      if (count < PRUNE_BATCH) break;
    }
    if (removed) log.debug({ removed }, 'SCIM activity older than the retention pruned');
    return removed;
  };

  const flushTimer = setInterval(() => void flush(), tuning.flushIntervalMs ?? 1_000);
  flushTimer.unref();
  let pruning: Promise<unknown> = Promise.resolve();
  const pruneTimer = setInterval(
    () => {
      pruning = prune().catch((error) =>
        isStoreUnavailable(error) ? undefined : log.warn({ err: error }, 'pruning the SCIM activity record failed; will retry'),
      );
    },
    tuning.pruneIntervalMs ?? 10 * 60_000,
  );
  pruneTimer.unref();

  return {
    record(entry) {
      buffer.push(entry);
      if (buffer.length > MAX_BUFFERED) {
        const excess = buffer.length - MAX_BUFFERED;
        buffer = buffer.slice(excess);
        dropped += excess;
      }
      if (buffer.length >= BATCH) void flush();
    },
    flush,
    prune,
    async close() {
      clearInterval(flushTimer);
      clearInterval(pruneTimer);
      await pruning;
      await flush();
      if (buffer.length) log.warn({ lost: buffer.length }, 'SCIM activity entries could not be written before stopping');
    },
  };
}

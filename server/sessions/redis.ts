import { Cluster, Redis, type RedisOptions } from 'ioredis';
import { type Adapter, type AdapterPayload, errors } from 'oidc-provider';
import type { RedisConfig } from '../config.ts';
import type { Logger } from '../log.ts';
import { type Outages, type OutageWatch, Unreachable } from '../store/index.ts';
import {
  type AdapterClass,
  type ConsumeOutcome,
  checkPayloadText,
  GRANT_BOUND_MODELS,
  guarded,
  SessionsUnavailable,
  settleLostConsume,
  withConsumed,
  withoutConsumed,
} from './artifacts.ts';
import type { Attempt, Cleared, Clock, Counter, Throttle, ThrottleSchedule, ThrottleState } from './index.ts';
import { checkSchedule, stateAt } from './throttle-keys.ts';

/*
 * Key layout (P = "slc:"). Every key carries a hash tag, the {…} part, which
 * alone picks the Redis Cluster slot. Each Lua script touches exactly one key,
 * so every script runs whole on one node; nothing needs two keys in one slot.
 *
 *   P artifact:{Model:id}    hash  payload (JSON), grant (grant id), consumed (epoch ms)
 *                                  TTL = the artifact's expiresIn
 *   P grant:{grantId}        set   "Model:id" of every token of the grant; TTL = its longest member
 *   P uid:{uid}              str   Session id for that uid; TTL = the session's
 *   P usercode:{Model:code}  str   DeviceCode id for that user code
 *   P throttle:{key}         hash  failures, window_ends_at, locked_until (epoch ms); TTL = end of window or lock
 *
 * An artifact and its grant index live in different slots (find() knows only
 * the id, so the artifact cannot be tagged by its grant). So upsert adds the
 * token to the grant index before writing the token, and revokeByGrantId
 * deletes member by member, each DEL routed to that member's own node.
 */

type RedisClient = Redis | Cluster;

interface Scripts {
  slcUpsert(key: string, payload: string, ttlMs: string, grantId: string, consumedAtMs: string): Promise<number>;
  slcIndexGrant(key: string, member: string, ttlMs: string): Promise<number>;
  slcConsume(key: string, nowMs: string): Promise<[number, string]>;
  slcDropIndex(key: string, id: string): Promise<number>;
  slcThrottleAttempt(key: string, member: string, nowMs: string, ...schedule: string[]): Promise<[number, number, number, number, number]>;
  slcThrottleState(key: string, member: string, nowMs: string): Promise<[number, number, number, number]>;
  slcThrottleClear(key: string, nowMs: string): Promise<[number, string[]]>;
}

/**
 * Lua that sets `now` (epoch ms) from ARGV[i], or from Redis's own clock
 * where ARGV[i] is empty (no clock given).
 */
function nowFrom(i: number): string {
  return `local now = tonumber(ARGV[${i}])
    if ARGV[${i}] == '' then
      local t = redis.call('TIME')
      now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
    end`;
}

const SCRIPTS: Record<keyof Scripts, string> = {
  // `consumed` survives a re-save: a consumed code never becomes usable again.
  slcUpsert: `
    redis.call('HSET', KEYS[1], 'payload', ARGV[1])
    if ARGV[3] ~= '' then redis.call('HSET', KEYS[1], 'grant', ARGV[3]) else redis.call('HDEL', KEYS[1], 'grant') end
    if ARGV[4] ~= '' then redis.call('HSETNX', KEYS[1], 'consumed', ARGV[4]) end
    if ARGV[2] ~= '0' then redis.call('PEXPIRE', KEYS[1], ARGV[2]) else redis.call('PERSIST', KEYS[1]) end
    return 1`,
  // The index lives as long as its longest-lived member, and forever if one never expires.
  slcIndexGrant: `
    local existed = redis.call('EXISTS', KEYS[1])
    local current = redis.call('PTTL', KEYS[1])
    redis.call('SADD', KEYS[1], ARGV[1])
    local ttl = tonumber(ARGV[2])
    if ttl == 0 then redis.call('PERSIST', KEYS[1]) return 1 end
    if existed == 1 and current == -1 then return 1 end
    if existed == 0 or current < ttl then redis.call('PEXPIRE', KEYS[1], ttl) end
    return 1`,
  // The single-use decision: HSETNX succeeds for exactly one caller.
  slcConsume: `
    if redis.call('HEXISTS', KEYS[1], 'payload') == 0 then return {-1, ''} end
    if redis.call('HSETNX', KEYS[1], 'consumed', ARGV[1]) == 1 then return {1, ''} end
    return {0, redis.call('HGET', KEYS[1], 'grant') or ''}`,
  slcDropIndex: `
    if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
    return 0`,
  // A group's counters are one hash, fields "<member>|f" (failures), "|w"
  // (window ends) and "|l" (paused until), so that clearing the group is one
  // DEL. Without a clock given (ARGV now empty), Redis's own clock: instances
  // with skewed clocks still agree on windows and pauses.
  slcThrottleAttempt: `
    ${nowFrom(2)}
    local m = ARGV[1]
    local h = redis.call('HMGET', KEYS[1], m .. '|f', m .. '|w', m .. '|l')
    local failures = tonumber(h[1]) or 0
    local window_ends = tonumber(h[2]) or 0
    local paused_until = tonumber(h[3]) or 0
    if paused_until > now then return {now, 0, failures, window_ends, paused_until} end
    if window_ends <= now then
      failures = 0
      window_ends = now + tonumber(ARGV[3])
    end
    failures = failures + 1
    local free = tonumber(ARGV[4])
    local limit = tonumber(ARGV[5])
    local pauses = #ARGV - 5
    paused_until = 0
    if failures >= limit then
      paused_until = window_ends
    elseif failures > free and pauses > 0 then
      paused_until = now + tonumber(ARGV[5 + math.min(failures - free, pauses)])
    end
    redis.call('HSET', KEYS[1], m .. '|f', failures, m .. '|w', window_ends, m .. '|l', paused_until)
    local keep = math.max(window_ends, paused_until) - now
    if redis.call('PTTL', KEYS[1]) < keep then redis.call('PEXPIRE', KEYS[1], keep) end
    return {now, 1, failures, window_ends, paused_until}`,
  slcThrottleState: `
    ${nowFrom(2)}
    local m = ARGV[1]
    local h = redis.call('HMGET', KEYS[1], m .. '|f', m .. '|w', m .. '|l')
    return {now, tonumber(h[1]) or 0, tonumber(h[2]) or 0, tonumber(h[3]) or 0}`,
  slcThrottleClear: `
    ${nowFrom(1)}
    local all = redis.call('HGETALL', KEYS[1])
    redis.call('DEL', KEYS[1])
    return {now, all}`,
};

/** Long enough for a busy server, short enough that a request fails with 503 instead of hanging. */
const COMMAND_DEADLINE_MS = 5_000;

export interface RedisConnection {
  client: RedisClient & Scripts;
  /** Where it connects, without credentials, for log lines and errors. */
  where: string;
  /** Begins and ends the session store's outages (one log line each). */
  watch: OutageWatch;
}

// Error replies that say the server cannot serve right now (loading, failing
// over, out of memory), not that the command was wrong.
const UNAVAILABLE_REPLIES = /^(LOADING|READONLY|MASTERDOWN|CLUSTERDOWN|TRYAGAIN|OOM|BUSY)\b/;

/** True when a command failed because Redis did not answer or cannot serve now; false for a wrong command (our fault). */
function isRedisUnavailable(error: unknown): boolean {
  if (error instanceof errors.OIDCProviderError) return false;
  const e = error as { name?: unknown; message?: unknown };
  if (e?.name === 'ReplyError') return typeof e.message === 'string' && UNAVAILABLE_REPLIES.test(e.message);
  return true;
}

export async function connectRedis(config: RedisConfig, outages: Outages): Promise<RedisConnection> {
  const common: RedisOptions = {
    username: config.username,
    password: config.password,
    connectTimeout: 5_000,
    commandTimeout: COMMAND_DEADLINE_MS,
    // Fail a command after one reconnect attempt instead of queueing it for
    // minutes: an outage becomes 503s at once, and reconnecting goes on.
    maxRetriesPerRequest: 1,
    // Queued commands fail at every second failed attempt, so the pause
    // between attempts bounds how long a request waits during an outage
    // (ioredis's default grows to 2 s: 4 s and more per request).
    retryStrategy: (attempt: number) => Math.min(attempt * 50, 500),
    tls: config.tls ? {} : undefined,
  };
  let client: RedisClient;
  let where: string;
  if (config.mode === 'single') {
    const url = new URL(config.url);
    where = `${url.protocol}//${url.host}${url.pathname === '/' ? '' : url.pathname}`;
    client = new Redis(config.url, { ...common, tls: url.protocol === 'rediss:' ? {} : undefined });
  } else if (config.mode === 'sentinel') {
    where = `sentinel ${config.name} via ${config.sentinels.map((s) => `${s.host}:${s.port}`).join(',')}`;
    client = new Redis({
      ...common,
      sentinels: config.sentinels,
      name: config.name,
      sentinelPassword: config.sentinelPassword,
      enableTLSForSentinelMode: config.tls,
      db: config.db,
    });
  } else {
    where = `cluster via ${config.nodes.map((n) => `${n.host}:${n.port}`).join(',')}`;
    client = new Cluster(config.nodes, { redisOptions: common, enableOfflineQueue: true });
  }
  for (const [name, lua] of Object.entries(SCRIPTS)) client.defineCommand(name, { numberOfKeys: 1, lua });

  // ioredis retries by itself and emits an error per attempt; the watch
  // logs one line when the outage begins and one when it ends.
  // Quiet until the ping below answers: a Redis that is not there at start is reported by main.ts, in one line.
  const watch = outages.watch('sessions', where, { quietUntilAnswered: true });
  // The connection's own error (ECONNREFUSED, NOAUTH) says more than the failed ping's "max retries".
  let lastError: Error | undefined;
  client.on('error', (error: Error) => {
    lastError = error;
    watch.failed(error);
  });
  client.on('ready', () => watch.answered());

  try {
    await withDeadline(client.ping(), 10_000);
  } catch (error) {
    client.disconnect();
    throw new Unreachable('Redis', where, (lastError ?? (error as Error)).message.split('\n')[0]);
  }
  // Not reachable for a moment while starting is no outage of a running service.
  watch.answered();
  return { client: client as RedisClient & Scripts, where, watch };
}

/** For /readyz: a Cluster or Sentinel that lost its nodes would otherwise queue the PING indefinitely. */
export async function pingRedis(connection: RedisConnection): Promise<void> {
  await withDeadline(connection.client.ping(), 2_000);
}

export async function closeRedis(connection: RedisConnection): Promise<void> {
  try {
    await withDeadline(connection.client.quit(), 2_000);
  } catch {
    // Already gone or unreachable: nothing left to flush.
  } finally {
    connection.client.disconnect();
  }
}

function withDeadline<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

/**
 * Runs one Redis operation under the command deadline. A Redis that does not
 * answer (stopped, cut off: no 'error' event comes then, only timeouts) is
 * an outage for the watch and SessionsUnavailable (503) for the request;
 * anything else is left to guarded(), which logs it as our fault.
 */
function deadlined<T>(connection: RedisConnection, log: Logger, what: string, operation: () => Promise<T>): Promise<T> {
  return guarded(log, what, async () => {
    try {
      const result = await withDeadline(operation(), COMMAND_DEADLINE_MS);
      connection.watch.answered();
      return result;
    } catch (error) {
      if (!isRedisUnavailable(error)) throw error;
      connection.watch.failed(error);
      throw new SessionsUnavailable(error);
    }
  });
}

function ttlMs(expiresIn: number | undefined): string {
  return typeof expiresIn === 'number' ? String(Math.max(1, Math.round(expiresIn * 1000))) : '0';
}

export function redisAdapter(connection: RedisConnection, log: Logger, prefix: string): AdapterClass {
  const { client } = connection;
  const artifactKey = (member: string) => `${prefix}artifact:{${member}}`;
  const grantKey = (grantId: string) => `${prefix}grant:{${grantId}}`;
  const uidKey = (uid: string) => `${prefix}uid:{${uid}}`;
  const userCodeKey = (model: string, userCode: string) => `${prefix}usercode:{${model}:${userCode}}`;
  const run = <T>(what: string, operation: () => Promise<T>) => deadlined(connection, log, what, operation);

  async function revokeGrant(grantId: string): Promise<void> {
    const members = await client.smembers(grantKey(grantId));
    // Chunks keep a grant with thousands of rotated refresh tokens from
    // flooding the connection; each DEL goes to the node owning that key.
    for (let i = 0; i < members.length; i += 200) {
      const chunk = members.slice(i, i + 200);
      await Promise.all(chunk.map((member) => client.del(artifactKey(member))));
      // Only the members seen are removed: a token added meanwhile stays indexed for the next revoke.
      await client.srem(grantKey(grantId), ...chunk);
    }
  }

  return class RedisAdapter implements Adapter {
    readonly model: string;

    constructor(model: string) {
      this.model = model;
    }

    private member(id: string): string {
      return `${this.model}:${id}`;
    }

    async upsert(id: string, payload: AdapterPayload, expiresIn?: number): Promise<void> {
      checkPayloadText(payload);
      const { stored, consumedAtMs } = withoutConsumed(payload);
      const ttl = ttlMs(expiresIn);
      const grantId = GRANT_BOUND_MODELS.has(this.model) ? payload.grantId : undefined;
      await run('upsert', async () => {
        // Index first: a token never exists unseen by revokeByGrantId.
        if (grantId) await client.slcIndexGrant(grantKey(grantId), this.member(id), ttl);
        await client.slcUpsert(
          artifactKey(this.member(id)),
          JSON.stringify(stored),
          ttl,
          grantId ?? '',
          consumedAtMs === null ? '' : String(consumedAtMs),
        );
        const pointers: [string, string][] = [];
        if (this.model === 'Session' && payload.uid) pointers.push([uidKey(payload.uid), id]);
        if (payload.userCode) pointers.push([userCodeKey(this.model, payload.userCode), id]);
        for (const [key, value] of pointers) {
          if (ttl === '0') await client.set(key, value);
          else await client.set(key, value, 'PX', ttl);
        }
      });
    }

    async find(id: string): Promise<AdapterPayload | undefined> {
      const hash = await run('find', () => client.hgetall(artifactKey(this.member(id))));
      if (!hash?.payload) return undefined;
      return withConsumed(JSON.parse(hash.payload) as AdapterPayload, hash.consumed ? Number(hash.consumed) : null);
    }

    async findByUid(uid: string): Promise<AdapterPayload | undefined> {
      const id = await run('findByUid', () => client.get(uidKey(uid)));
      if (!id) return undefined;
      const payload = await this.find(id);
      // A pointer outliving a re-keyed session must not hand out another session.
      return payload?.uid === uid ? payload : undefined;
    }

    async findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
      const id = await run('findByUserCode', () => client.get(userCodeKey(this.model, userCode)));
      if (!id) return undefined;
      const payload = await this.find(id);
      return payload?.userCode === userCode ? payload : undefined;
    }

    async consume(id: string): Promise<void> {
      const [status, grantId] = await run('consume', () => client.slcConsume(artifactKey(this.member(id)), String(Date.now())));
      const outcome: ConsumeOutcome =
        status === 1 ? { won: true } : { won: false, alreadyConsumed: status === 0, grantId: grantId || undefined };
      await settleLostConsume(this.model, outcome, (lostGrantId) =>
        run('revoke after lost consume', async () => {
          await revokeGrant(lostGrantId);
          await client.del(artifactKey(`Grant:${lostGrantId}`));
          log.warn({ model: this.model, grantId: lostGrantId }, 'single-use artifact used twice at once; grant revoked');
        }),
      );
    }

    async destroy(id: string): Promise<void> {
      await run('destroy', async () => {
        const key = artifactKey(this.member(id));
        const [payloadJson, grantId] = await client.hmget(key, 'payload', 'grant');
        await client.del(key);
        if (grantId) await client.srem(grantKey(grantId), this.member(id));
        if (!payloadJson) return;
        const payload = JSON.parse(payloadJson) as AdapterPayload;
        if (this.model === 'Session' && payload.uid) await client.slcDropIndex(uidKey(payload.uid), id);
        if (payload.userCode) await client.slcDropIndex(userCodeKey(this.model, payload.userCode), id);
      });
    }

    async revokeByGrantId(grantId: string): Promise<void> {
      await run('revokeByGrantId', () => revokeGrant(grantId));
    }
  };
}

export function redisThrottle(connection: RedisConnection, log: Logger, prefix: string, clock?: Clock): Throttle {
  const { client } = connection;
  const key = (group: string) => `${prefix}throttle:{${group}}`;
  const now = () => (clock ? String(clock()) : '');
  const run = <T>(what: string, operation: () => Promise<T>) => deadlined(connection, log, what, operation);
  const state = (at: number, failures: number, windowEnds: number, pausedUntil: number) =>
    stateAt(Number(at), Number(failures), Number(windowEnds), Number(pausedUntil) || null);

  return {
    async attempt(counter: Counter, schedule: ThrottleSchedule): Promise<Attempt> {
      checkSchedule(schedule);
      const [at, counted, failures, windowEnds, pausedUntil] = await run('throttle attempt', () =>
        client.slcThrottleAttempt(
          key(counter.group),
          counter.member,
          now(),
          String(Math.round(schedule.windowSeconds * 1000)),
          String(schedule.free),
          String(schedule.limit),
          ...schedule.pauses.map((seconds) => String(Math.round(seconds * 1000))),
        ),
      );
      return { counted: Number(counted) === 1, ...state(at, failures, windowEnds, pausedUntil) };
    },
    async state(counter: Counter): Promise<ThrottleState> {
      const [at, failures, windowEnds, pausedUntil] = await run('throttle state', () =>
        client.slcThrottleState(key(counter.group), counter.member, now()),
      );
      return state(at, failures, windowEnds, pausedUntil);
    },
    async reset(counter: Counter): Promise<void> {
      const { member } = counter;
      await run('throttle reset', () => client.hdel(key(counter.group), `${member}|f`, `${member}|w`, `${member}|l`));
    },
    async clear(group: string): Promise<Cleared[]> {
      const [at, flat] = await run('throttle clear', () => client.slcThrottleClear(key(group), now()));
      const fields = new Map<string, string>();
      for (let i = 0; i + 1 < flat.length; i += 2) fields.set(flat[i], flat[i + 1]);
      const members = [...fields.keys()].filter((field) => field.endsWith('|f')).map((field) => field.slice(0, -2));
      return members
        .map((member) => ({
          member,
          state: state(
            at,
            Number(fields.get(`${member}|f`)),
            Number(fields.get(`${member}|w`) ?? 0),
            Number(fields.get(`${member}|l`) ?? 0),
          ),
        }))
        .filter(({ state }) => state.failures > 0 || state.paused);
    },
  };
}

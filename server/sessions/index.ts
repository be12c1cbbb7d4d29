import type { Adapter } from 'oidc-provider';
import type { Config } from '../config.ts';
import type { Logger } from '../log.ts';
import { isStoreUnavailable, type Store } from '../store/index.ts';
import { SessionsUnavailable } from './artifacts.ts';
import { embeddedAdapter, embeddedThrottle, sweepExpired } from './embedded.ts';
import { closeRedis, connectRedis, pingRedis, redisAdapter, redisThrottle } from './redis.ts';

export { SessionsUnavailable } from './artifacts.ts';
export {
  accountThrottleKey,
  addressCounter,
  addressThrottleKey,
  deviceCounter,
  pauseAfter,
  strangersCounter,
} from './throttle-keys.ts';

/**
 * Where oidc-provider keeps interactions, sessions, grants, codes and tokens,
 * and where login failures are counted: the directory store by default, Redis
 * (single server, Sentinel or Cluster) when configured. A store that does not
 * answer makes every call reject with SessionsUnavailable (HTTP 503).
 */
export interface Sessions {
  /** oidc-provider Adapter class (constructor(name: string)) for the configured backend. */
  Adapter: new (
    model: string,
  ) => Adapter;
  throttle: Throttle;
  backend: 'embedded' | 'redis';
  /** For /readyz: rejects when the backend does not answer. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/**
 * One failure counter. Counters of one `group` (an account: its strangers'
 * counter and one per browser it signed in from; an address) are cleared
 * together by `Throttle.clear`.
 */
export interface Counter {
  group: string;
  member: string;
}

/**
 * How failures pause a counter within a window that starts at its first
 * failure: the first `free` failures pause nothing, the ones after them each
 * begin the next pause of `pauses` (seconds; the last one repeats), and the
 * `limit`-th failure pauses the counter until the window ends.
 */
export interface ThrottleSchedule {
  windowSeconds: number;
  free: number;
  pauses: number[];
  limit: number;
}

export interface ThrottleState {
  paused: boolean;
  /** Whole seconds until the pause ends; 0 when not paused. */
  retryAfterSeconds: number;
  /** Failures counted in the current window. */
  failures: number;
  /** When the pause ends (epoch milliseconds), while paused. */
  pausedUntil: number | null;
}

export interface Attempt extends ThrottleState {
  /**
   * False: the counter was paused, so nothing was counted and `paused` is
   * that pause. True: the attempt was counted, and `paused` means it began a
   * pause.
   */
  counted: boolean;
}

/** What `clear` removed: one entry per counter that held failures or a pause. */
export interface Cleared {
  member: string;
  state: ThrottleState;
}

export interface Throttle {
  /**
   * Counts one attempt against the counter, unless it is paused; atomic, so
   * of simultaneous attempts (other requests, other instances) each is
   * counted once and none slips past a pause another one began.
   */
  attempt(counter: Counter, schedule: ThrottleSchedule): Promise<Attempt>;
  state(counter: Counter): Promise<ThrottleState>;
  /** Forgets one counter (a successful sign-in). */
  reset(counter: Counter): Promise<void>;
  /** Forgets every counter of the group and says what they held (`securelogin manager unlock`, `unblock`). */
  clear(group: string): Promise<Cleared[]>;
}

/** Epoch milliseconds now; tests give one they move on themselves. */
export type Clock = () => number;

/**
 * True when a request failed because a store did not answer: the session
 * store (SessionsUnavailable) or the directory (see isStoreUnavailable).
 * Every part answers such a failure 503 with Retry-After, never 401 or 500.
 */
export function isUnavailable(error: unknown): boolean {
  return error instanceof SessionsUnavailable || isStoreUnavailable(error);
}

/** Knobs for tests; production uses the defaults. */
export interface SessionsTuning {
  /** Redis key prefix (default "slc:"); a test uses its own so it never touches another's keys. */
  redisKeyPrefix?: string;
  /** How often the embedded store deletes expired rows (default 10 minutes). */
  sweepIntervalMs?: number;
  /**
   * The throttle's clock. Default: the machine's, and for Redis, Redis's own
   * (instances with skewed clocks then agree on windows and pauses).
   */
  clock?: Clock;
}

const SWEEP_INTERVAL_MS = 10 * 60_000;

export async function openSessions(parts: { config: Config; store: Store; log: Logger }, tuning: SessionsTuning = {}): Promise<Sessions> {
  const { config, store } = parts;
  const log = parts.log.child({ part: 'sessions' });

  if (config.redis) {
    const prefix = tuning.redisKeyPrefix ?? 'slc:';
    if (/[{}]/.test(prefix)) throw new TypeError('the Redis key prefix must not contain { or }: they would change the hash slot');
    const connection = await connectRedis(config.redis, store.outages);
    log.info({ redis: connection.where, mode: config.redis.mode }, 'sessions and tokens in redis');
    return {
      Adapter: redisAdapter(connection, log, prefix),
      throttle: redisThrottle(connection, log, prefix, tuning.clock),
      backend: 'redis',
      ping: () => pingRedis(connection),
      async close() {
        await closeRedis(connection);
      },
    };
  }

  const clock = tuning.clock ?? Date.now;
  // Expired rows are already invisible to find(); the sweep only reclaims space.
  let sweeping: Promise<void> = Promise.resolve();
  const sweep = () => {
    sweeping = sweepExpired(store, clock()).then(
      (removed) => {
        if (removed.artifacts || removed.counters) log.debug(removed, 'expired sessions and counters removed');
      },
      (error) => log.warn({ err: error }, 'sweeping expired sessions failed; will retry'),
    );
  };
  const timer = setInterval(sweep, tuning.sweepIntervalMs ?? SWEEP_INTERVAL_MS);
  timer.unref();
  sweep();

  return {
    Adapter: embeddedAdapter(store, log),
    throttle: embeddedThrottle(store, log, clock),
    backend: 'embedded',
    ping: () => store.ping(),
    async close() {
      clearInterval(timer);
      // The store is closed by its owner; let a sweep in flight finish on it first.
      await sweeping;
    },
  };
}

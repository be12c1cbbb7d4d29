import type { Adapter } from 'oidc-provider';
import type { Config } from '../config.ts';
import type { Logger } from '../log.ts';
import { isStoreUnavailable, type Store } from '../store/index.ts';
import { SessionsUnavailable } from './artifacts.ts';
import { embeddedAdapter, embeddedThrottle, sweepExpired } from './embedded.ts';
import { closeRedis, connectRedis, pingRedis, redisAdapter, redisThrottle } from './redis.ts';

export { SessionsUnavailable } from './artifacts.ts';
export { accountThrottleKey, addressThrottleKey } from './throttle-keys.ts';

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

export interface ThrottlePolicy {
  limit: number;
  windowSeconds: number;
  lockSeconds: number;
}

export interface ThrottleState {
  locked: boolean;
  retryAfterSeconds: number;
  failures: number;
}

export interface Throttle {
  /** Records one failure under key; when failures within the window reach limit, the key is locked for lockSeconds. */
  failure(key: string, policy: ThrottlePolicy): Promise<ThrottleState>;
  state(key: string): Promise<ThrottleState>;
  reset(key: string): Promise<void>;
}

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
      throttle: redisThrottle(connection, log, prefix),
      backend: 'redis',
      ping: () => pingRedis(connection),
      async close() {
        await closeRedis(connection);
      },
    };
  }

  // Expired rows are already invisible to find(); the sweep only reclaims space.
  let sweeping: Promise<void> = Promise.resolve();
  const sweep = () => {
    sweeping = sweepExpired(store).then(
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
    throttle: embeddedThrottle(store, log),
    backend: 'embedded',
    ping: () => store.ping(),
    async close() {
      clearInterval(timer);
      // The store is closed by its owner; let a sweep in flight finish on it first.
      await sweeping;
    },
  };
}

import { randomBytes } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { main } from '../../server/ops/cli.ts';
import { clientPost, type TokenAnswer } from './authorize.ts';
import { postgresUrl, redisUrl } from './backends.ts';
import { freshPostgresUrl } from './postgres.ts';
import { CapturedLog, startService, type TestService } from './service.ts';

/*
 * What an operator does around a running deployment: the securelogin command
 * against the service's own store, and the deployments a suite runs on (the
 * embedded store, and PostgreSQL with Redis), each with its log captured so a
 * suite can check that nothing secret reached it.
 */

export interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
  /** The parsed --json answer, when the command succeeded with --json. */
  json: any;
}

/** `securelogin <args>` in-process, against the service's store and PUBLIC_URL. */
export async function operator(service: TestService, args: string[]): Promise<Outcome> {
  let stdout = '';
  let stderr = '';
  const sink = (append: (text: string) => void) =>
    new Writable({
      write(chunk, _encoding, done) {
        append(String(chunk));
        done();
      },
    });
  const env: Record<string, string> = { DATA_DIR: service.dataDir, PUBLIC_URL: service.config.publicUrl.origin, LOG_LEVEL: 'silent' };
  if (service.config.databaseUrl) env.DATABASE_URL = service.config.databaseUrl;
  const terminal = {
    stdin: Readable.from([]),
    stdout: sink((text) => {
      stdout += text;
    }),
    stderr: sink((text) => {
      stderr += text;
    }),
  };
  const code = await main(args, terminal, env);
  return { code, stdout, stderr, json: code === 0 && args.includes('--json') ? JSON.parse(stdout) : undefined };
}

export interface Deployment {
  name: string;
  enabled: boolean;
  /** Starts the real app with its log (at info) captured in `log`; `stop()` also drops its database. */
  start(log: CapturedLog): Promise<TestService>;
}

/** The embedded store, and PostgreSQL (a database of its own) with Redis (database `redisDb` of the shared server). */
export function deployments(redisDb: number): Deployment[] {
  return [
    { name: 'embedded SQLite', enabled: true, start: (log) => startService({ LOG_LEVEL: 'info' }, { log }) },
    {
      name: 'PostgreSQL and Redis',
      enabled: Boolean(postgresUrl && redisUrl),
      async start(log) {
        const database = await freshPostgresUrl();
        const redis = new URL(redisUrl!);
        redis.pathname = `/${redisDb}`;
        const service = await startService({ LOG_LEVEL: 'info', DATABASE_URL: database.url, REDIS_URL: redis.toString() }, { log });
        const stop = service.stop;
        return {
          ...service,
          async stop(graceMs?: number) {
            await stop(graceMs);
            await database.drop();
          },
        };
      },
    },
  ];
}

export { CapturedLog };

/** A new tenant's domain, unique to the run. */
export function uniqueDomain(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString('hex')}.example`;
}

/** Entra's token request of the client credentials grant: client_id and client_secret, no scope. */
export function clientCredentialsToken(
  service: TestService,
  client: { clientId: string; clientSecret: string; auth?: 'basic' | 'post' },
  extra: Record<string, string> = {},
): Promise<TokenAnswer> {
  return clientPost(service, '/oauth/token', { grant_type: 'client_credentials', ...extra }, client);
}

/** Entra's Test Connection: a filter on a userName that is a random GUID, expecting an empty ListResponse. */
export async function testConnection(service: TestService, bearer: string): Promise<{ status: number; body: any; headers: Headers }> {
  const filter = encodeURIComponent(`userName eq "${crypto.randomUUID()}"`);
  const response = await fetch(new URL(`/scim/v2/Users?filter=${filter}`, service.url), {
    headers: { authorization: `Bearer ${bearer}`, accept: 'application/scim+json' },
  });
  const text = await response.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = text;
  }
  return { status: response.status, body, headers: response.headers };
}

/** No captured line holds any of these values (secrets, tokens), whole or as most of itself. */
export function logHoldsNone(log: CapturedLog, secrets: string[]): string | undefined {
  const all = log.lines.map((line) => JSON.stringify(line)).join('\n');
  for (const secret of secrets) {
    if (all.includes(secret) || all.includes(secret.slice(0, 24))) return secret.slice(0, 6);
  }
  return undefined;
}

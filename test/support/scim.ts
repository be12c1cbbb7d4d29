import { afterAll, beforeAll, describe } from 'vitest';
import { openStore, type Store } from '../../server/store/index.ts';
import { authorizeSeeded, type SeededTenant, type Service, seedTenant, type Tokens } from './authorize.ts';
import { postgresUrl } from './backends.ts';
import { freshPostgresUrl } from './postgres.ts';
import { startService, type TestService, tempDataDir } from './service.ts';

/*
 * A SCIM client as Entra's provisioning service is one: a bearer token from
 * the real Authorize flow, JSON bodies in application/scim+json, every
 * response kept whole (status, headers, parsed body) for assertions.
 */

export interface ScimResponse {
  status: number;
  headers: Headers;
  text: string;
  /** The parsed body, or undefined when there is none. */
  body: any;
}

export class ScimClient {
  readonly service: Service;
  token: string;

  constructor(service: Service, token: string) {
    this.service = service;
    this.token = token;
  }

  /** `path` is relative to the Tenant URL (/scim/v2), query string included. */
  async request(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<ScimResponse> {
    const sent: Record<string, string> = { authorization: `Bearer ${this.token}`, accept: 'application/scim+json', ...headers };
    let payload: string | undefined;
    if (body !== undefined) {
      payload = typeof body === 'string' ? body : JSON.stringify(body);
      sent['content-type'] ??= 'application/scim+json';
    }
    const response = await fetch(new URL(`/scim/v2${path}`, this.service.url), { method, headers: sent, body: payload });
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = text === '' ? undefined : JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    return { status: response.status, headers: response.headers, text, body: parsed };
  }

  get(path: string, headers?: Record<string, string>) {
    return this.request('GET', path, undefined, headers);
  }
  post(path: string, body: unknown, headers?: Record<string, string>) {
    return this.request('POST', path, body, headers);
  }
  put(path: string, body: unknown, headers?: Record<string, string>) {
    return this.request('PUT', path, body, headers);
  }
  patch(path: string, body: unknown, headers?: Record<string, string>) {
    return this.request('PATCH', path, body, headers);
  }
  delete(path: string, headers?: Record<string, string>) {
    return this.request('DELETE', path, undefined, headers);
  }
}

export interface ScimTenant {
  seeded: SeededTenant;
  tokens: Tokens;
  scim: ScimClient;
}

/** A tenant registered as the CLI does it, authorized as an Entra admin does it, and a SCIM client holding its token. */
export async function provisioningTenant(
  service: Service & { store: Store },
  options: Parameters<typeof seedTenant>[1] = {},
): Promise<ScimTenant> {
  const seeded = await seedTenant(service.store, options);
  const tokens = await authorizeSeeded(service, seeded);
  return { seeded, tokens, scim: new ScimClient(service, tokens.access_token) };
}

/** Entra's minimal user: what its default attribute mappings send on create. */
export function entraUser(userName: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    schemas: ['urn:ietf:params:scim:schemas:core:2.0:User', 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User'],
    externalId: userName.split('@')[0],
    userName,
    active: true,
    emails: [{ primary: true, type: 'work', value: userName }],
    meta: { resourceType: 'User' },
    name: { formatted: 'Given Family', familyName: 'Family', givenName: 'Given' },
    roles: [],
    ...extra,
  };
}

export interface Backend {
  name: string;
  /** False when the engine is not available in this run (no TEST_DATABASE_URL); the suite is skipped. */
  enabled: boolean;
  /** Starts the real app on this directory store (with more environment); `stop()` also removes the database. */
  start(env?: Record<string, string>): Promise<TestService>;
}

/** The real app on a PostgreSQL database of its own (and `env`); `stop()` also drops the database. */
export async function startOnFreshPostgres(env: Record<string, string | undefined> = {}): Promise<TestService> {
  const database = await freshPostgresUrl();
  const service = await startService({ ...env, DATABASE_URL: database.url });
  const stop = service.stop;
  return {
    ...service,
    async stop(graceMs?: number) {
      await stop(graceMs);
      await database.drop();
    },
  };
}

/** Every SCIM suite runs on the embedded SQLite store, and on PostgreSQL when the run has one. */
export const BACKENDS: Backend[] = [
  { name: 'SQLite', enabled: true, start: (env) => startService(env) },
  {
    name: 'PostgreSQL',
    enabled: Boolean(postgresUrl),
    start: (env = {}) => startOnFreshPostgres(env),
  },
];

/** Runs `body` as a describe block once per backend, skipped where the backend is missing. */
export function eachBackend(title: string, body: (service: () => TestService, backend: Backend) => void): void {
  for (const backend of BACKENDS) {
    describe.skipIf(!backend.enabled)(`${title} (${backend.name})`, () => {
      let service: TestService;
      beforeAll(async () => {
        service = await backend.start();
      });
      afterAll(async () => {
        await service?.stop();
      });
      body(() => service, backend);
    });
  }
}

/** The directory store alone (no server), once per backend: for the SCIM core's unit tests. */
export function eachStore(title: string, body: (store: () => Store, backend: string) => void): void {
  const backends = [
    {
      name: 'SQLite',
      enabled: true,
      open: async () => ({ store: await openStore({ dataDir: tempDataDir(), databaseUrl: undefined }), drop: async () => {} }),
    },
    {
      name: 'PostgreSQL',
      enabled: Boolean(postgresUrl),
      open: async () => {
        const database = await freshPostgresUrl();
        return { store: await openStore({ dataDir: tempDataDir(), databaseUrl: database.url }), drop: () => database.drop() };
      },
    },
  ];
  for (const backend of backends) {
    describe.skipIf(!backend.enabled)(`${title} (${backend.name})`, () => {
      let opened: { store: Store; drop(): Promise<void> };
      beforeAll(async () => {
        opened = await backend.open();
      });
      afterAll(async () => {
        await opened?.store.close();
        await opened?.drop();
      });
      body(() => opened.store, backend.name);
    });
  }
}

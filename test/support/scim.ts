import type { Store } from '../../server/store/index.ts';
import { authorizeSeeded, type SeededTenant, type Service, seedTenant, type Tokens } from './authorize.ts';

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

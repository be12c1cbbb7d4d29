import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import { expect } from 'vitest';
import { addClient, addManager, addTenant, ENTRA_REDIRECT_URI } from '../../server/directory/index.ts';
import type { Store } from '../../server/store/index.ts';

/*
 * A scripted browser and client for the Authorize flow, over real HTTP:
 * a cookie jar, form posts, redirects followed by hand so each step can be
 * checked. `authorize()` walks the whole flow as Entra's admin and Entra's
 * server do, and returns real tokens.
 */

export interface Service {
  /** Where the server listens (http://127.0.0.1:port). */
  url: string;
}

export interface Plain {
  status: number;
  headers: Headers;
  text: string;
}

/**
 * One HTTP request on its own connection. The scripted clients do not pool
 * connections, so a server restarted on the same port is never sent a request
 * on a socket the old process closed.
 */
export function send(
  url: URL | string,
  options: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<Plain> {
  return new Promise((resolve, reject) => {
    const request = http.request(url, { method: options.method ?? 'GET', headers: options.headers, agent: false }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('error', reject);
      response.on('end', () => {
        const headers = new Headers();
        for (const [name, value] of Object.entries(response.headers)) {
          for (const item of Array.isArray(value) ? value : value === undefined ? [] : [value]) headers.append(name, item);
        }
        resolve({ status: response.statusCode ?? 0, headers, text: Buffer.concat(chunks).toString('utf8') });
      });
    });
    request.on('error', reject);
    request.end(options.body);
  });
}

export interface Response {
  status: number;
  url: string;
  location: string | undefined;
  headers: Headers;
  text: string;
}

interface Cookie {
  name: string;
  value: string;
  path: string;
}

/** A browser: remembers cookies per path, sends extra headers (Accept-Language, X-Forwarded-*), never follows redirects itself. */
export class Browser {
  readonly base: string;
  readonly headers: Record<string, string>;
  /** Absolute URLs on this origin (PUBLIC_URL behind a proxy) are sent to `base` instead. */
  readonly publicOrigin: string | undefined;
  cookies: Cookie[] = [];

  constructor(base: string, options: { headers?: Record<string, string>; publicOrigin?: string } = {}) {
    this.base = base;
    this.headers = options.headers ?? {};
    this.publicOrigin = options.publicOrigin;
  }

  resolve(url: string): URL {
    const absolute = new URL(url, this.publicOrigin ?? this.base);
    if (this.publicOrigin && absolute.origin === new URL(this.publicOrigin).origin) {
      return new URL(`${absolute.pathname}${absolute.search}`, this.base);
    }
    return absolute;
  }

  cookie(name: string): string | undefined {
    return this.cookies.find((c) => c.name === name)?.value;
  }

  async get(url: string, headers: Record<string, string> = {}): Promise<Response> {
    return this.request('GET', url, undefined, headers);
  }

  async post(url: string, form: Record<string, string>, headers: Record<string, string> = {}): Promise<Response> {
    return this.request('POST', url, new URLSearchParams(form), headers);
  }

  async request(method: string, url: string, body?: URLSearchParams, headers: Record<string, string> = {}): Promise<Response> {
    const target = this.resolve(url);
    const sent = { ...this.headers, ...headers };
    const jar = this.cookies.filter((c) => pathMatches(c.path, target.pathname));
    if (jar.length) sent.cookie = jar.map((c) => `${c.name}=${c.value}`).join('; ');
    if (body) sent['content-type'] = 'application/x-www-form-urlencoded';
    const response = await send(target, { method, body: body?.toString(), headers: sent });
    for (const line of response.headers.getSetCookie()) this.store(line, target.pathname);
    return { ...response, url: target.toString(), location: response.headers.get('location') ?? undefined };
  }

  /** Follows a redirect response (it must be one) on this origin. */
  async follow(response: Response): Promise<Response> {
    expect([302, 303], `expected a redirect from ${response.url}, got ${response.status}: ${excerpt(response.text)}`).toContain(
      response.status,
    );
    return this.get(response.location!);
  }

  private store(line: string, requestPath: string): void {
    const [pair, ...attributes] = line.split(';');
    const eq = pair.indexOf('=');
    const name = pair.slice(0, eq).trim();
    const value = pair.slice(eq + 1).trim();
    let path = requestPath.replace(/\/[^/]*$/, '') || '/';
    let expired = value === '';
    for (const attribute of attributes) {
      const [key, raw = ''] = attribute.split('=');
      const k = key.trim().toLowerCase();
      if (k === 'path') path = raw.trim();
      if (k === 'max-age' && Number(raw) <= 0) expired = true;
      if (k === 'expires' && Date.parse(raw) <= Date.now()) expired = true;
    }
    this.cookies = this.cookies.filter((c) => !(c.name === name && c.path === path));
    if (!expired) this.cookies.push({ name, value, path });
  }
}

function pathMatches(cookiePath: string, requestPath: string): boolean {
  if (cookiePath === '/' || requestPath === cookiePath) return true;
  return requestPath.startsWith(cookiePath.endsWith('/') ? cookiePath : `${cookiePath}/`);
}

export function excerpt(html: string): string {
  return html
    .replace(/<[^>]+>/g, ' ')
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, 400);
}

/** The form with this id: its action and its fields' current values (hidden ones included). */
export function formIn(html: string, id: string): { action: string; fields: Record<string, string> } {
  const match = new RegExp(`<form[^>]*id="${id}"[^>]*>([\\s\\S]*?)</form>`).exec(html);
  if (!match) throw new Error(`no form #${id} on the page: ${excerpt(html)}`);
  const action = /action="([^"]*)"/.exec(match[0])![1];
  const fields: Record<string, string> = {};
  for (const input of match[1].matchAll(/<input\b[^>]*>/g)) {
    const name = /name="([^"]*)"/.exec(input[0])?.[1];
    if (!name) continue;
    fields[name] = decodeEntities(/value="([^"]*)"/.exec(input[0])?.[1] ?? '');
  }
  return { action: decodeEntities(action), fields };
}

/** The text of the element with this id, tags stripped. */
export function textOf(html: string, id: string): string | undefined {
  const match = new RegExp(`<(\\w+)[^>]*id="${id}"[^>]*>([\\s\\S]*?)</\\1>`).exec(html);
  return match ? decodeEntities(match[2].replace(/<[^>]+>/g, '').trim()) : undefined;
}

function decodeEntities(value: string): string {
  return value
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

export interface AuthorizeRequest {
  clientId: string;
  redirectUri?: string;
  state?: string;
  scope?: string;
  /** Send a PKCE S256 challenge; the verifier comes back with the code. */
  pkce?: boolean;
  /** Extra headers every request of this browser carries. */
  headers?: Record<string, string>;
  /** Behind a proxy: PUBLIC_URL, whose absolute links are sent to the service. */
  publicOrigin?: string;
  browser?: Browser;
}

export interface Started {
  browser: Browser;
  /** The Go to domain page. */
  page: Response;
  state: string;
  codeVerifier: string | undefined;
  redirectUri: string;
}

/** GET /oauth/authorize as Entra sends the admin's browser, up to the Go to domain page. */
export async function startAuthorize(service: Service, request: AuthorizeRequest): Promise<Started> {
  const browser = request.browser ?? new Browser(service.url, { headers: request.headers, publicOrigin: request.publicOrigin });
  const redirectUri = request.redirectUri ?? ENTRA_REDIRECT_URI;
  const state = request.state ?? randomBytes(12).toString('base64url');
  const query = new URLSearchParams({ client_id: request.clientId, redirect_uri: redirectUri, response_type: 'code', state });
  if (request.scope !== undefined) query.set('scope', request.scope);
  let codeVerifier: string | undefined;
  if (request.pkce) {
    codeVerifier = randomBytes(32).toString('base64url');
    query.set('code_challenge', createHash('sha256').update(codeVerifier).digest('base64url'));
    query.set('code_challenge_method', 'S256');
  }
  const first = await browser.get(`/oauth/authorize?${query}`);
  const page = await browser.follow(first);
  expect(page.status, excerpt(page.text)).toBe(200);
  return { browser, page, state, codeVerifier, redirectUri };
}

/** Submits the form #formId of `page` with these fields (hidden ones kept). */
export async function submit(browser: Browser, page: Response, formId: string, fields: Record<string, string> = {}): Promise<Response> {
  const form = formIn(page.text, formId);
  return browser.post(form.action, { ...form.fields, ...fields });
}

/** Go to domain → login page. */
export async function goToDomain(browser: Browser, domainPage: Response, domain: string): Promise<Response> {
  const answer = await submit(browser, domainPage, 'domain-form', { domain });
  if (answer.status !== 303) return answer;
  return browser.follow(answer);
}

/** Login → consent page (through the provider's resume), or the login page again with a message. */
export async function signIn(browser: Browser, loginPage: Response, username: string, password: string): Promise<Response> {
  const answer = await submit(browser, loginPage, 'login-form', { username, password });
  if (answer.status !== 303) return answer;
  const resumed = await browser.follow(answer);
  const entry = await browser.follow(resumed);
  return browser.follow(entry);
}

/** Allow or Deny on the consent page → the redirect to the client (not followed). */
export async function decide(browser: Browser, consentPage: Response, decision: 'allow' | 'deny'): Promise<URL> {
  const answer = await submit(browser, consentPage, 'consent-form', { decision });
  expect(answer.status, excerpt(answer.text)).toBe(303);
  const resumed = await browser.get(answer.location!);
  expect([302, 303], excerpt(resumed.text)).toContain(resumed.status);
  return new URL(resumed.location!);
}

export interface Tokens {
  access_token: string;
  refresh_token: string;
  token_type: string;
  expires_in: number;
  scope: string;
}

export interface FlowOptions extends AuthorizeRequest {
  domain: string;
  username: string;
  password: string;
  clientSecret: string;
  /** How the token request authenticates the client (default basic). */
  auth?: 'basic' | 'post';
}

/** Authorize → Go to domain → login → consent → code, as the admin's browser does it. */
export async function authorizeCode(
  service: Service,
  options: Omit<FlowOptions, 'clientSecret' | 'auth'>,
): Promise<{ code: string; state: string; codeVerifier: string | undefined; redirect: URL; browser: Browser }> {
  const started = await startAuthorize(service, options);
  const login = await goToDomain(started.browser, started.page, options.domain);
  expect(login.status, excerpt(login.text)).toBe(200);
  const consent = await signIn(started.browser, login, options.username, options.password);
  expect(consent.status, excerpt(consent.text)).toBe(200);
  const redirect = await decide(started.browser, consent, 'allow');
  expect(`${redirect.origin}${redirect.pathname}`).toBe(started.redirectUri);
  expect(redirect.searchParams.get('state')).toBe(started.state);
  const code = redirect.searchParams.get('code');
  expect(code, redirect.toString()).toBeTruthy();
  return { code: code!, state: started.state, codeVerifier: started.codeVerifier, redirect, browser: started.browser };
}

/** The whole flow, then the code traded for tokens as Entra's server does. */
export async function authorize(service: Service, options: FlowOptions): Promise<Tokens & { code: string }> {
  const { code, codeVerifier } = await authorizeCode(service, options);
  const answer = await exchangeCode(service, {
    clientId: options.clientId,
    clientSecret: options.clientSecret,
    code,
    redirectUri: options.redirectUri,
    codeVerifier,
    auth: options.auth,
  });
  expect(answer.status, JSON.stringify(answer.body)).toBe(200);
  return { ...(answer.body as unknown as Tokens), code };
}

export interface TokenAnswer {
  status: number;
  body: Record<string, unknown>;
  headers: Headers;
}

export interface ClientCredentials {
  clientId: string;
  clientSecret: string;
  auth?: 'basic' | 'post';
}

/** A POST to an endpoint under /oauth/ with client authentication, as a confidential client sends it. */
export async function clientPost(
  service: Service,
  path: string,
  params: Record<string, string>,
  client: ClientCredentials,
): Promise<TokenAnswer> {
  const body = new URLSearchParams(params);
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
  if ((client.auth ?? 'basic') === 'basic') {
    const basic = `${encodeURIComponent(client.clientId)}:${encodeURIComponent(client.clientSecret)}`;
    headers.authorization = `Basic ${Buffer.from(basic).toString('base64')}`;
  } else {
    body.set('client_id', client.clientId);
    body.set('client_secret', client.clientSecret);
  }
  const response = await send(new URL(path, service.url), { method: 'POST', body: body.toString(), headers });
  let parsed: Record<string, unknown> = {};
  try {
    parsed = response.text ? (JSON.parse(response.text) as Record<string, unknown>) : {};
  } catch {
    parsed = { text: response.text };
  }
  return { status: response.status, body: parsed, headers: response.headers };
}

export async function exchangeCode(
  service: Service,
  options: ClientCredentials & { code: string; redirectUri?: string; codeVerifier?: string },
): Promise<TokenAnswer> {
  const params: Record<string, string> = {
    grant_type: 'authorization_code',
    code: options.code,
    redirect_uri: options.redirectUri ?? ENTRA_REDIRECT_URI,
  };
  if (options.codeVerifier) params.code_verifier = options.codeVerifier;
  return clientPost(service, '/oauth/token', params, options);
}

export async function refresh(service: Service, options: ClientCredentials & { refreshToken: string }): Promise<TokenAnswer> {
  return clientPost(service, '/oauth/token', { grant_type: 'refresh_token', refresh_token: options.refreshToken }, options);
}

export async function introspect(service: Service, options: ClientCredentials & { token: string }): Promise<TokenAnswer> {
  return clientPost(service, '/oauth/introspect', { token: options.token }, options);
}

export async function revoke(service: Service, options: ClientCredentials & { token: string }): Promise<TokenAnswer> {
  return clientPost(service, '/oauth/revoke', { token: options.token }, options);
}

export interface SeededTenant {
  tenantId: string;
  domain: string;
  name: string;
  manager: { username: string; password: string };
  client: { clientId: string; clientSecret: string };
}

/**
 * A tenant with one manager and one Entra client, registered the way the CLI
 * does it (through server/directory). `anyTenant` registers a client whose
 * tenant is chosen on the Go to domain page.
 */
export async function seedTenant(
  store: Store,
  options: { domain?: string; name?: string; username?: string; password?: string; anyTenant?: boolean; redirectUris?: string[] } = {},
): Promise<SeededTenant> {
  const domain = options.domain ?? `t${randomBytes(5).toString('hex')}.example`;
  const name = options.name ?? `Tenant ${domain}`;
  const tenant = await addTenant(store.db, domain, name);
  const username = options.username ?? 'admin@example.com';
  const password = options.password ?? `Correct horse ${randomBytes(6).toString('hex')}`;
  await addManager(store.db, domain, username, password);
  const issued = await addClient(store.db, {
    tenantDomain: options.anyTenant ? null : domain,
    name: 'Microsoft Entra ID',
    redirectUris: options.redirectUris,
  });
  return {
    tenantId: tenant.id,
    domain,
    name,
    manager: { username, password },
    client: { clientId: issued.client.id, clientSecret: issued.clientSecret },
  };
}

/** The whole flow for a seeded tenant: real tokens for its manager through its client. */
export async function authorizeSeeded(
  service: Service,
  seeded: SeededTenant,
  options: Partial<FlowOptions> = {},
): Promise<Tokens & { code: string }> {
  return authorize(service, {
    domain: seeded.domain,
    username: seeded.manager.username,
    password: seeded.manager.password,
    clientId: seeded.client.clientId,
    clientSecret: seeded.client.clientSecret,
    ...options,
  });
}

import type { Store } from '../server/store/index.ts';
import {
  authorizeSeeded,
  type Browser,
  formIn,
  goToDomain,
  type SeededTenant,
  type Service,
  seedTenant,
  startAuthorize,
  type Tokens,
} from '../test/support/authorize.ts';

/*
 * Tenants as the product makes them (server/directory, as the CLI does) and
 * tokens as Entra gets them: the whole Authorize flow over HTTP, Go to
 * domain, the tenant's login with its Argon2id password, consent, code
 * exchange. Nothing is minted behind the server's back.
 */

export interface AuthorizedTenant {
  seeded: SeededTenant;
  tokens: Tokens;
}

/** Runs `work` for 0..count-1, at most `concurrency` at a time. */
export async function inParallel<T>(count: number, concurrency: number, work: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = new Array(count);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, count) }, async () => {
      while (next < count) {
        const i = next++;
        out[i] = await work(i);
      }
    }),
  );
  return out;
}

/** `count` tenants named `<label>-<i>.bench.example`, each with a manager and an Entra client, as the CLI registers them. */
export async function registerTenants(store: Store, label: string, count: number): Promise<SeededTenant[]> {
  // Each manager's password is hashed with Argon2id: a few at a time keeps the start short.
  return inParallel(count, 4, (i) => seedTenant(store, { domain: `${label}-${i}.bench.example`, name: `Bench ${label} ${i}` }));
}

/** Tokens for each tenant from one whole Authorize of its manager. */
export async function authorizeAll(service: Service, tenants: SeededTenant[]): Promise<AuthorizedTenant[]> {
  return inParallel(tenants.length, 8, async (i) => ({ seeded: tenants[i], tokens: await authorizeSeeded(service, tenants[i]) }));
}

/** More grants for a tenant already authorized once: each Authorize of the same manager is a grant of its own. */
export async function moreGrants(service: Service, tenant: AuthorizedTenant, count: number): Promise<Tokens[]> {
  return inParallel(count, 8, () => authorizeSeeded(service, tenant.seeded));
}

export interface PreparedLogin {
  /** The login form's action. */
  path: string;
  /** The cookies the browser sends there (the interaction cookie). */
  cookie: string;
  /** The form's fields with the manager's username and password filled in. */
  form: Record<string, string>;
}

function cookieFor(browser: Browser, path: string): string {
  return browser.cookies
    .filter((c) => c.path === '/' || path === c.path || path.startsWith(c.path.endsWith('/') ? c.path : `${c.path}/`))
    .map((c) => `${c.name}=${c.value}`)
    .join('; ');
}

/**
 * Authorize up to the tenant's login page, `count` times: each a browser of
 * its own with an interaction waiting for a password. Posting the forms is
 * the benchmark; this is only the walk to them.
 */
export async function prepareLogins(service: Service, tenant: SeededTenant, count: number): Promise<PreparedLogin[]> {
  return inParallel(count, 8, async () => {
    const started = await startAuthorize(service, { clientId: tenant.client.clientId });
    const page = await goToDomain(started.browser, started.page, tenant.domain);
    if (page.status !== 200) throw new Error(`the login page answered ${page.status}`);
    const form = formIn(page.text, 'login-form');
    const path = new URL(form.action, service.url).pathname;
    return {
      path,
      cookie: cookieFor(started.browser, path),
      form: { ...form.fields, username: tenant.manager.username, password: tenant.manager.password },
    };
  });
}

import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ABSOLUTE_TIMEOUT_MS, IDLE_TIMEOUT_MS } from '../server/console/index.ts';
import { addManager, disableAccount, setPassword } from '../server/directory/index.ts';
import { Browser, excerpt, formIn, refresh, type SeededTenant, type Tokens } from './support/authorize.ts';
import { postgresUrl, redisUrl } from './support/backends.ts';
import { secureloginInProcess } from './support/cli.ts';
import { connectionOn, consolePage, consoleSignIn } from './support/console.ts';
import { freshPostgresUrl } from './support/postgres.ts';
import { entraUser, provisioningTenant, type ScimClient, type ScimTenant } from './support/scim.ts';
import { startService, type TestService } from './support/service.ts';

/*
 * The manager's console over real HTTP, on both deployments: a manager signs
 * in through the tenant's own sign-in, sees each Entra connection with its
 * health, and ends one; the CLI shows and does the same.
 */

interface Deployment {
  name: string;
  enabled: boolean;
  /** Environment for the server and for the CLI run against the same stores. */
  env(): Promise<{ env: Record<string, string>; drop(): Promise<void> }>;
}

// Redis database 12 keeps this suite's keys apart from other suites' on the shared server.
function ownRedisDb(url: string): string {
  const own = new URL(url);
  own.pathname = '/12';
  return own.toString();
}

const DEPLOYMENTS: Deployment[] = [
  { name: 'embedded SQLite', enabled: true, env: async () => ({ env: {}, drop: async () => {} }) },
  {
    name: 'PostgreSQL and Redis',
    enabled: Boolean(postgresUrl && redisUrl),
    async env() {
      const database = await freshPostgresUrl();
      return { env: { DATABASE_URL: database.url, REDIS_URL: ownRedisDb(redisUrl!) }, drop: () => database.drop() };
    },
  },
];

/** What Entra does in one provisioning cycle: Test Connection, then users, a group and its members, a user disabled. */
async function entraCycle(scim: ScimClient): Promise<{ userIds: string[]; groupId: string }> {
  const probe = await scim.get(`/Users?filter=${encodeURIComponent(`userName eq "${randomUUID()}"`)}`);
  expect(probe.status).toBe(200);
  const userIds: string[] = [];
  for (const name of ['ada@example.com', 'grace@example.com']) {
    const lookup = await scim.get(`/Users?filter=${encodeURIComponent(`userName eq "${name}"`)}`);
    expect(lookup.status).toBe(200);
    const created = await scim.post('/Users', entraUser(name));
    expect(created.status, created.text).toBe(201);
    userIds.push(created.body.id);
  }
  const group = await scim.post('/Groups', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: 'Engineering' });
  expect(group.status, group.text).toBe(201);
  const members = await scim.patch(`/Groups/${group.body.id}`, {
    schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
    Operations: [{ op: 'add', path: 'members', value: userIds.map((value) => ({ value })) }],
  });
  expect(members.status, members.text).toBe(204);
  const disabled = await scim.patch(`/Users/${userIds[1]}`, {
    schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
    Operations: [{ op: 'Replace', path: 'active', value: 'False' }],
  });
  expect(disabled.status, disabled.text).toBe(200);
  return { userIds, groupId: group.body.id };
}

function managerOf(seeded: SeededTenant) {
  return { domain: seeded.domain, username: seeded.manager.username, password: seeded.manager.password };
}

for (const deployment of DEPLOYMENTS) {
  describe.skipIf(!deployment.enabled)(`the manager's console (${deployment.name})`, () => {
    let service: TestService;
    let env: Record<string, string>;
    let drop: () => Promise<void>;
    // The console's clock: tests move it on instead of waiting.
    let offset = 0;
    const clock = () => Date.now() + offset;

    beforeAll(async () => {
      ({ env, drop } = await deployment.env());
      service = await startService(env, { clock });
      env = { ...env, DATA_DIR: service.dataDir };
    });
    afterAll(async () => {
      await service?.stop();
      await drop?.();
    });

    const cli = (args: string[]) => secureloginInProcess(args, env);

    async function grantOf(tenant: ScimTenant): Promise<string> {
      const rows = await service.store.db
        .selectFrom('connections')
        .select('grant_id')
        .where('tenant_id', '=', tenant.seeded.tenantId)
        .execute();
      expect(rows).toHaveLength(1);
      return rows[0].grant_id;
    }

    async function refreshOf(tenant: ScimTenant, tokens: Tokens = tenant.tokens) {
      return refresh(service, { ...tenant.seeded.client, refreshToken: tokens.refresh_token });
    }

    it('after an Entra cycle the manager sees the connection healthy, with its last request, refresh and Test Connection', async () => {
      const tenant = await provisioningTenant(service);
      const grantId = await grantOf(tenant);
      await entraCycle(tenant.scim);
      const refreshed = await refreshOf(tenant);
      expect(refreshed.status).toBe(200);

      const { page } = await consolePage(service, managerOf(tenant.seeded));
      const shown = connectionOn(page.text, grantId);
      expect(shown, excerpt(page.text)).toBeDefined();
      expect(shown!.verdict).toBe('healthy');
      expect(shown!.reasons).toContain('Entra provisions regularly');
      expect(shown!.manager).toBe(tenant.seeded.manager.username);
      for (const when of [shown!.lastRequest, shown!.lastTest, shown!.lastRefresh]) expect(when).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d UTC$/);
      expect(shown!.outcomes).toBe('8 succeeded');

      const listed = await cli(['connection', 'list', tenant.seeded.domain, '--json']);
      expect(listed.code, listed.stderr).toBe(0);
      const [connection] = JSON.parse(listed.stdout);
      expect(connection).toMatchObject({ grant_id: grantId, health: 'healthy', manager: tenant.seeded.manager.username });
      expect(connection.last_24h).toMatchObject({ total: 8, ok: 8, unauthorized: 0 });
      expect(connection.last_test_connection_at).toEqual(expect.any(String));
    });

    it('a connection is at risk when Entra gets 401s because the manager who allowed it was disabled', async () => {
      const tenant = await provisioningTenant(service);
      const grantId = await grantOf(tenant);
      const other = { username: 'second@example.com', password: `Another horse ${randomUUID()}` };
      await addManager(service.store.db, tenant.seeded.domain, other.username, other.password);
      await entraCycle(tenant.scim);
      await disableAccount(service.store.db, tenant.seeded.domain, tenant.seeded.manager.username);
      for (let i = 0; i < 3; i++) expect((await tenant.scim.get('/Users')).status).toBe(401);

      const { page } = await consolePage(service, { domain: tenant.seeded.domain, ...other });
      const shown = connectionOn(page.text, grantId)!;
      expect(shown.verdict).toBe('at_risk');
      expect(shown.reasons).toContain('no longer an active manager');
      expect(shown.reasons).toContain('401');
      expect(shown.outcomes).toContain('3 refused (401)');

      const listed = JSON.parse((await cli(['connection', 'list', tenant.seeded.domain, '--json'])).stdout);
      expect(listed[0].health).toBe('at_risk');
      expect(listed[0].reasons).toEqual(expect.arrayContaining(['manager_inactive', 'unauthorized']));
    });

    it('a connection that was active goes silent once Entra has sent nothing for two cycles', async () => {
      const tenant = await provisioningTenant(service);
      const grantId = await grantOf(tenant);
      await entraCycle(tenant.scim);
      offset = 81 * 60_000;
      try {
        const { page } = await consolePage(service, managerOf(tenant.seeded));
        const shown = connectionOn(page.text, grantId)!;
        expect(shown.verdict).toBe('silent');
        expect(shown.reasons).toContain('two cycles');
        const listed = JSON.parse((await cli(['connection', 'list', tenant.seeded.domain, '--json'])).stdout);
        // The CLI runs on the machine's clock: for it the cycle was just now.
        expect(listed[0].health).toBe('healthy');
      } finally {
        offset = 0;
      }
    });

    it('Revoke in the console, after its confirmation step, ends the connection: SCIM answers 401, the refresh invalid_grant', async () => {
      const tenant = await provisioningTenant(service);
      const grantId = await grantOf(tenant);
      await entraCycle(tenant.scim);
      const { browser, page } = await consolePage(service, managerOf(tenant.seeded));
      const confirm = await browser.get(`/console/connections/${grantId}/revoke`);
      expect(confirm.status, excerpt(confirm.text)).toBe(200);
      // Nothing is ended by looking at the confirmation page.
      expect((await tenant.scim.get('/Users')).status).toBe(200);
      expect(page.text).toContain(`/console/connections/${grantId}/revoke`);

      const form = formIn(confirm.text, 'revoke-form');
      const done = await browser.post(form.action, form.fields);
      expect(done.status, excerpt(done.text)).toBe(303);
      const after = await browser.follow(done);
      expect(after.text).toContain('id="revoked-notice"');
      const shown = connectionOn(after.text, grantId)!;
      expect(shown.verdict).toBe('revoked');

      expect((await tenant.scim.get('/Users')).status).toBe(401);
      const refreshed = await refreshOf(tenant);
      expect(refreshed.status).toBe(400);
      expect(refreshed.body.error).toBe('invalid_grant');
    });

    it('securelogin connection revoke ends the connection the same way, and refuses an unknown grant in one line', async () => {
      const tenant = await provisioningTenant(service);
      await entraCycle(tenant.scim);
      const listed = await cli(['connection', 'list', tenant.seeded.domain, '--json']);
      const grantId = JSON.parse(listed.stdout)[0].grant_id;
      // A grant id may begin with "-", so it goes after "--", as the help says.
      const revoked = await cli(['connection', 'revoke', '--json', '--', grantId]);
      expect(revoked.code, revoked.stderr).toBe(0);
      expect(JSON.parse(revoked.stdout)).toMatchObject({ grant_id: grantId, health: 'revoked', revoked_by: 'cli' });

      expect((await tenant.scim.get('/Users')).status).toBe(401);
      const refreshed = await refreshOf(tenant);
      expect(refreshed.status).toBe(400);
      expect(refreshed.body.error).toBe('invalid_grant');

      const unknown = await cli(['connection', 'revoke', 'no-such-grant']);
      expect(unknown.code).toBe(1);
      expect(unknown.stderr.trim().split('\n')).toHaveLength(1);
      expect(unknown.stderr).toContain('no connection has the grant id no-such-grant');
      const again = await cli(['connection', 'revoke', '--', grantId]);
      const dashed = await cli(['connection', 'revoke', '-AbC']);
      expect(dashed.code).toBe(2);
      expect(dashed.stderr).toContain('goes after --');
      expect(again.code).toBe(1);
      expect(again.stderr).toContain('already revoked');
    });

    it("another tenant's manager sees nothing of this tenant and cannot revoke its connection", async () => {
      const mine = await provisioningTenant(service);
      const theirs = await provisioningTenant(service);
      const myGrant = await grantOf(mine);
      const { browser, page } = await consolePage(service, managerOf(theirs.seeded));
      expect(page.text).not.toContain(myGrant);
      expect(page.text).not.toContain(mine.seeded.name);
      const confirm = await browser.get(`/console/connections/${myGrant}/revoke`);
      expect(confirm.status).toBe(404);
      const csrf = formIn(page.text, 'logout-form').fields.csrf;
      const attempt = await browser.post(`/console/connections/${myGrant}/revoke`, { csrf });
      expect(attempt.status).toBe(404);
      expect((await mine.scim.get('/Users')).status).toBe(200);
    });

    it('a member who is not a manager cannot open the console', async () => {
      const tenant = await provisioningTenant(service);
      const created = await tenant.scim.post('/Users', entraUser('member@example.com'));
      expect(created.status).toBe(201);
      const password = `Member horse ${randomUUID()}`;
      await setPassword(service.store.db, tenant.seeded.domain, 'member@example.com', password);
      const { browser, callback } = await consoleSignIn(service, {
        domain: tenant.seeded.domain,
        username: 'member@example.com',
        password,
      });
      expect(callback.status).toBe(403);
      expect(callback.text).toContain('The console is for SecureLogin managers');
      const connections = await browser.get('/console/connections');
      expect(connections.status).toBe(302);
      expect(connections.location).toBe('/console');
    });

    it('a form without its CSRF token is refused and changes nothing', async () => {
      const tenant = await provisioningTenant(service);
      const grantId = await grantOf(tenant);
      const { browser } = await consolePage(service, managerOf(tenant.seeded));
      const forged = await browser.post(`/console/connections/${grantId}/revoke`, {});
      expect(forged.status).toBe(403);
      expect(forged.text).toContain('This form has expired');
      const wrong = await browser.post('/console/logout', { csrf: 'not-the-token' });
      expect(wrong.status).toBe(403);
      expect((await tenant.scim.get('/Users')).status).toBe(200);
      expect((await browser.get('/console/connections')).status).toBe(200);
    });

    it('the session ends after 30 idle minutes, after 12 hours however busy, and at sign-out', async () => {
      const tenant = await provisioningTenant(service);
      const who = managerOf(tenant.seeded);
      try {
        const idle = await consolePage(service, who);
        offset += IDLE_TIMEOUT_MS + 60_000;
        const late = await idle.browser.get('/console/connections');
        expect(late.status).toBe(302);
        expect(late.location).toBe('/console');

        const busy = await consolePage(service, who);
        const step = 20 * 60_000;
        const started = offset;
        while (offset - started < ABSOLUTE_TIMEOUT_MS - step) {
          offset += step;
          expect((await busy.browser.get('/console/connections')).status).toBe(200);
        }
        offset = started + ABSOLUTE_TIMEOUT_MS + 60_000;
        const ended = await busy.browser.get('/console/connections');
        expect(ended.status).toBe(302);

        const leaving = await consolePage(service, who);
        const csrf = formIn(leaving.page.text, 'logout-form').fields.csrf;
        const out = await leaving.browser.post('/console/logout', { csrf });
        expect(out.status).toBe(302);
        const landing = await leaving.browser.follow(out);
        expect(landing.text).toContain('id="signed-out"');
        expect((await leaving.browser.get('/console/connections')).status).toBe(302);
      } finally {
        offset = 0;
      }
    });

    it('the activity page shows the cycle in words, searchable, filterable and paged newest first; the CLI shows the same', async () => {
      const tenant = await provisioningTenant(service);
      const { userIds, groupId } = await entraCycle(tenant.scim);
      const conflict = await tenant.scim.post('/Users', entraUser('ada@example.com'));
      expect(conflict.status).toBe(409);
      const reference = conflict.headers.get('x-request-id')!;
      for (let i = 0; i < 45; i++) await tenant.scim.get(`/Users/${userIds[0]}`);
      const { browser } = await consolePage(service, managerOf(tenant.seeded));

      const entries = (html: string) =>
        [...html.matchAll(/data-operation="([a-z_]+)" data-status="(\d+)" data-request="([^"]+)"/g)].map((m) => ({
          operation: m[1],
          status: Number(m[2]),
          requestId: m[3],
        }));
      const first = await browser.get('/console/activity');
      expect(first.status, excerpt(first.text)).toBe(200);
      expect(entries(first.text)).toHaveLength(50);
      expect(entries(first.text)[0].operation).toBe('read_user');
      const older = /href="([^"]+)" id="activity-older"/.exec(first.text)![1].replace(/&amp;/g, '&');
      const second = await browser.get(older);
      const rest = entries(second.text);
      expect(rest).toHaveLength(4);
      expect(rest.at(-1)!.operation).toBe('test_connection');
      expect(first.text).toContain('added 2 members to group');
      expect(first.text).toContain('disabled user');
      expect(second.text).toContain('Test Connection');

      const byUser = entries((await browser.get('/console/activity?q=GRACE%40example.com')).text);
      expect(byUser.map((e) => e.operation).sort()).toEqual(['create_user', 'disable_user']);
      const byGroup = entries((await browser.get(`/console/activity?q=${groupId}`)).text);
      expect(byGroup.map((e) => e.operation).sort()).toEqual(['add_members', 'create_group']);
      const byReference = await browser.get(`/console/activity?q=${reference}`);
      expect(entries(byReference.text)).toEqual([{ operation: 'create_user', status: 409, requestId: reference }]);
      expect(byReference.text).toContain('uniqueness');
      const refused = entries((await browser.get('/console/activity?outcome=client_error')).text);
      expect(refused.map((e) => e.requestId)).toEqual([reference]);
      const disabled = entries((await browser.get('/console/activity?operation=disable_user')).text);
      expect(disabled).toHaveLength(1);
      // Nonsense in the query is ignored, never a 500.
      expect((await browser.get('/console/activity?after=%00%00&outcome=x&operation=y&q=%00')).status).toBe(200);

      const cli = await secureloginInProcess(['activity', tenant.seeded.domain, '--ref', reference, '--json'], env);
      expect(cli.code, cli.stderr).toBe(0);
      expect(JSON.parse(cli.stdout)).toEqual([
        expect.objectContaining({ request_id: reference, operation: 'create_user', scim_type: 'uniqueness' }),
      ]);
      const recent = await secureloginInProcess(
        ['activity', tenant.seeded.domain, '--since', '1h', '--user', 'grace@example.com', '--json'],
        env,
      );
      expect(
        JSON.parse(recent.stdout)
          .map((e: { operation: string }) => e.operation)
          .sort(),
      ).toEqual(['create_user', 'disable_user']);
      const limited = await secureloginInProcess(['activity', tenant.seeded.domain, '--limit', '3'], env);
      expect(limited.stdout.trim().split('\n')).toHaveLength(4);
      const wrong = await secureloginInProcess(['activity', tenant.seeded.domain, '--since', 'yesterday'], env);
      expect(wrong.code).toBe(2);
      expect(wrong.stderr).toContain('--since takes a duration');
    });

    it('the console speaks Dutch to a Dutch browser', async () => {
      const tenant = await provisioningTenant(service);
      const browser = new Browser(service.url, { headers: { 'accept-language': 'nl-NL,nl;q=0.9' } });
      const landing = await browser.get('/console');
      expect(landing.text).toContain('SecureLogin-console');
      const { callback } = await consoleSignIn(service, managerOf(tenant.seeded), browser);
      const page = await browser.follow(callback);
      expect(page.text).toContain('Entra-verbindingen');
      expect(page.text).toContain('lang="nl"');
    });
  });
}

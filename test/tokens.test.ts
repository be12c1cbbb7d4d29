import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findTenantByDomain, removeTenant, setTenantDisabled } from '../server/directory/index.ts';
import { tenantCredentials } from '../server/tokens/index.ts';
import { eventually } from './support/eventually.ts';
import { CapturedLog, deployments, logHoldsNone, operator, testConnection, uniqueDomain } from './support/operator.ts';
import { entraUser, ScimClient } from './support/scim.ts';
import type { TestService } from './support/service.ts';

/*
 * Long-lived SCIM tokens for Entra's non-gallery app, whose Admin Credentials
 * take a Tenant URL and a Secret Token: made, listed and revoked with the
 * CLI, used by Entra over real HTTP, checked on every request.
 */

for (const deployment of deployments(13)) {
  describe.skipIf(!deployment.enabled)(`SCIM tokens (${deployment.name})`, () => {
    const log = new CapturedLog();
    const issued: string[] = [];
    let service: TestService;

    beforeAll(async () => {
      service = await deployment.start(log);
    });
    afterAll(async () => {
      await service?.stop();
    });

    async function tenant(prefix: string): Promise<string> {
      const domain = uniqueDomain(prefix);
      expect((await operator(service, ['tenant', 'add', domain, '--name', prefix])).code).toBe(0);
      return domain;
    }

    async function addToken(domain: string, extra: string[] = []): Promise<{ id: string; token: string; json: any }> {
      const added = await operator(service, ['token', 'add', domain, ...extra, '--json']);
      expect(added.code, added.stderr).toBe(0);
      issued.push(added.json.token);
      return { id: added.json.id, token: added.json.token, json: added.json };
    }

    it("token add prints the token once with the Tenant URL, and it passes Entra's Test Connection", async () => {
      const domain = await tenant('scim');
      const text = await operator(service, ['token', 'add', domain, '--name', 'Entra non-gallery']);
      expect(text.code, text.stderr).toBe(0);
      const token = /Secret Token\s+(\S+)/.exec(text.stdout)?.[1];
      expect(token).toMatch(/^slc_scim_[A-Za-z0-9_-]{43}$/);
      issued.push(token!);
      expect(text.stdout).toContain(`Tenant URL         ${service.config.publicUrl.origin}/scim/v2`);
      expect(text.stdout).toContain('Test Connection');

      const connection = await testConnection(service, token!);
      expect(connection.status).toBe(200);
      expect(connection.body).toMatchObject({ schemas: ['urn:ietf:params:scim:api:messages:2.0:ListResponse'], totalResults: 0 });
      const scim = new ScimClient(service, token!);
      const created = await scim.post('/Users', entraUser(`ada@${domain}`));
      expect(created.status, created.text).toBe(201);

      // Only a hash is kept.
      const rows = await service.store.db.selectFrom('scim_tokens').selectAll().execute();
      const row = rows.find((r) => r.name === 'Entra non-gallery')!;
      expect(row.token_hash).toBe(createHash('sha256').update(token!).digest('hex'));
      expect(JSON.stringify(rows)).not.toContain(token!.slice('slc_scim_'.length));
    });

    it('token list shows name, created, expires and last used, never the token', async () => {
      const domain = await tenant('list');
      const used = await addToken(domain, ['--name', 'used', '--expires-in', '1y']);
      const unused = await addToken(domain, ['--name', 'unused']);
      expect((await testConnection(service, used.token)).status).toBe(200);
      const listed = await operator(service, ['token', 'list', domain, '--json']);
      expect(listed.json).toEqual([
        {
          id: used.id,
          tenant: domain,
          name: 'used',
          created_at: expect.any(String),
          expires_at: expect.any(String),
          last_used_at: expect.any(String),
        },
        { id: unused.id, tenant: domain, name: 'unused', created_at: expect.any(String), expires_at: null, last_used_at: null },
      ]);
      const [first] = listed.json;
      expect(Date.parse(first.expires_at) - Date.parse(first.created_at)).toBe(365 * 24 * 3600 * 1000);
      const text = (await operator(service, ['token', 'list', domain])).stdout;
      expect(text).toMatch(/ID\s+NAME\s+CREATED\s+EXPIRES\s+LAST USED/);
      expect(text).toMatch(/unused.*never\s+never/);
      for (const secret of [used.token, unused.token]) {
        expect(text).not.toContain(secret);
        expect(JSON.stringify(listed.json)).not.toContain(secret);
      }
      const tenantId = (await findTenantByDomain(service.store.db, domain))!.id;
      expect((await tenantCredentials(service.store.db, tenantId)).scimTokens.map((t) => t.name)).toEqual(['used', 'unused']);
    });

    it('a revoked token is refused with 401 at the next request; the others go on', async () => {
      const domain = await tenant('revoke');
      const kept = await addToken(domain);
      const revoked = await addToken(domain);
      expect((await testConnection(service, revoked.token)).status).toBe(200);
      const answer = await operator(service, ['token', 'revoke', revoked.id]);
      expect(answer.code, answer.stderr).toBe(0);
      expect(answer.stdout).toContain('no longer works');
      const refused = await testConnection(service, revoked.token);
      expect(refused.status).toBe(401);
      expect(refused.headers.get('www-authenticate')).toContain('error="invalid_token"');
      expect(refused.body.schemas).toEqual(['urn:ietf:params:scim:api:messages:2.0:Error']);
      expect((await testConnection(service, kept.token)).status).toBe(200);
      expect((await operator(service, ['token', 'list', domain, '--json'])).json.map((t: any) => t.id)).toEqual([kept.id]);
      const again = await operator(service, ['token', 'revoke', revoked.id]);
      expect(again.code).toBe(1);
      expect(again.stderr).toContain('no SCIM token');
      expect((await operator(service, ['token', 'revoke', 'not-an-id'])).code).toBe(1);
    });

    it('an expired token is refused with 401', async () => {
      const expiring = await addToken(await tenant('expiry'), ['--expires-in', '2s']);
      await eventually('the expired token is refused', async () => (await testConnection(service, expiring.token)).status === 401, 30_000);
      const listed = (await operator(service, ['token', 'list', expiring.json.tenant])).stdout;
      expect(listed).toContain('(expired)');
    });

    it("a token opens its own tenant only: another tenant's users are not there, and a disabled tenant's token is refused", async () => {
      const home = await tenant('home');
      const other = await tenant('other');
      const homeToken = await addToken(home);
      const otherToken = await addToken(other);
      const created = await new ScimClient(service, otherToken.token).post('/Users', entraUser(`grace@${other}`));
      expect(created.status).toBe(201);
      const homeScim = new ScimClient(service, homeToken.token);
      expect((await homeScim.get(`/Users/${created.body.id}`)).status).toBe(404);
      expect((await homeScim.get(`/Users?filter=${encodeURIComponent(`userName eq "grace@${other}"`)}`)).body.totalResults).toBe(0);
      await setTenantDisabled(service.store.db, other, true);
      expect((await testConnection(service, otherToken.token)).status).toBe(401);
      expect((await testConnection(service, homeToken.token)).status).toBe(200);
      await setTenantDisabled(service.store.db, other, false);
      expect((await testConnection(service, otherToken.token)).status).toBe(200);
      await removeTenant(service.store.db, other);
      expect((await testConnection(service, otherToken.token)).status).toBe(401);
    });

    it('a made-up token, one of the right shape and a tampered one are all 401, never 500', async () => {
      const real = await addToken(await tenant('tamper'));
      for (const bogus of [
        'slc_scim_',
        'slc_scim_x',
        `slc_scim_${'A'.repeat(43)}`,
        `${real.token.slice(0, -1)}${real.token.endsWith('A') ? 'B' : 'A'}`,
        `slc_scim_${'x'.repeat(5000)}`,
      ]) {
        expect((await testConnection(service, bogus)).status, bogus.slice(0, 20)).toBe(401);
      }
    });

    it('the CLI refuses a bad duration or an unknown tenant with a clear line', async () => {
      const domain = await tenant('cli');
      const duration = await operator(service, ['token', 'add', domain, '--expires-in', 'forever']);
      expect(duration.code).toBe(2);
      expect(duration.stderr).toContain('--expires-in takes a duration such as 30m, 12h, 7d or 1y');
      expect((await operator(service, ['token', 'add', domain, '--expires-in', '0'])).code).toBe(2);
      const far = await operator(service, ['token', 'add', domain, '--expires-in', '999999y']);
      expect(far.code).toBe(2);
      expect(far.stderr).toContain('at most 100y');
      const unknown = await operator(service, ['token', 'add', uniqueDomain('nobody')]);
      expect(unknown.code).toBe(1);
      expect(unknown.stderr).toContain('no tenant has the domain');
      expect((await operator(service, ['token', 'list', uniqueDomain('nobody')])).code).toBe(1);
    });

    it('nothing secret reaches the log', () => {
      expect(log.lines.length).toBeGreaterThan(0);
      expect(issued.length).toBeGreaterThan(8);
      expect(logHoldsNone(log, issued)).toBeUndefined();
    });
  });
}

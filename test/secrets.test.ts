import { createHash } from 'node:crypto';
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  addAppClient,
  addClient,
  addManager,
  addTenant,
  findClient,
  findTenantByDomain,
  secretMatchesAny,
  secretsExpiringWithin,
  setTenantDisabled,
} from '../server/directory/index.ts';
import { openStore } from '../server/store/index.ts';
import { tenantCredentials } from '../server/tokens/index.ts';
import { authorizeSeeded, introspect, refresh, seedTenant, send } from './support/authorize.ts';
import { postgresUrl } from './support/backends.ts';
import { eventually } from './support/eventually.ts';
import {
  CapturedLog,
  clientCredentialsToken,
  deployments,
  logHoldsNone,
  operator,
  testConnection,
  uniqueDomain,
} from './support/operator.ts';
import { freshPostgresUrl } from './support/postgres.ts';
import { entraUser, ScimClient } from './support/scim.ts';
import { type TestService, tempDataDir } from './support/service.ts';

/*
 * Client secrets that rotate without cutting Entra off, secrets that expire,
 * and the client credentials grant: each driven the way an operator and
 * Entra do it, the CLI against the running service's store and Entra's
 * requests over real HTTP.
 */

const DAY = 24 * 3600 * 1000;

for (const deployment of deployments(12)) {
  describe.skipIf(!deployment.enabled)(`client secrets and the client credentials grant (${deployment.name})`, () => {
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

    /** `client add <domain> --grant client_credentials …` as the operator runs it. */
    async function credentialsClient(domain: string, extra: string[] = []): Promise<{ clientId: string; clientSecret: string; json: any }> {
      const added = await operator(service, ['client', 'add', domain, '--grant', 'client_credentials', ...extra, '--json']);
      expect(added.code, added.stderr).toBe(0);
      issued.push(added.json.client_secret);
      return { clientId: added.json.client_id, clientSecret: added.json.client_secret, json: added.json };
    }

    async function rotate(clientId: string, extra: string[]): Promise<string> {
      const rotated = await operator(service, ['client', 'rotate-secret', clientId, ...extra, '--json']);
      expect(rotated.code, rotated.stderr).toBe(0);
      issued.push(rotated.json.client_secret);
      return rotated.json.client_secret;
    }

    const status = async (clientId: string, clientSecret: string) =>
      (await clientCredentialsToken(service, { clientId, clientSecret })).status;

    it('rotate-secret --keep-old 1d: the old and the new secret both work at the token endpoint, a wrong one does not', async () => {
      const domain = await tenant('overlap');
      const client = await credentialsClient(domain);
      const fresh = await rotate(client.clientId, ['--keep-old', '1d']);
      expect(fresh).not.toBe(client.clientSecret);
      expect(await status(client.clientId, client.clientSecret)).toBe(200);
      expect(await status(client.clientId, fresh)).toBe(200);
      const post = await clientCredentialsToken(service, { clientId: client.clientId, clientSecret: client.clientSecret, auth: 'post' });
      expect(post.status).toBe(200);
      const wrong = await clientCredentialsToken(service, { clientId: client.clientId, clientSecret: `${fresh.slice(0, -2)}xx` });
      expect(wrong.status).toBe(401);
      expect(wrong.body.error).toBe('invalid_client');

      // client list: both secrets, the newest first, the old one ending a day from now.
      const listed = await operator(service, ['client', 'list', domain, '--json']);
      const [entry] = listed.json;
      expect(entry.secrets).toHaveLength(2);
      const [newest, old] = entry.secrets;
      expect(newest.expires_at).toBeNull();
      expect(Math.abs(Date.parse(old.expires_at) - (Date.now() + DAY))).toBeLessThan(10 * 60 * 1000);
      expect(Date.parse(newest.created_at)).toBeGreaterThanOrEqual(Date.parse(old.created_at));
      const text = (await operator(service, ['client', 'list', domain])).stdout;
      expect(text).toMatch(/SECRET AGE\s+SECRET EXPIRES/);
      expect(text).toContain('client credentials');
      expect(text).toMatch(/never/);
      expect(text).toMatch(/\(in 2[34]h\)/);
      expect(text).not.toContain(fresh);
      expect(text).not.toContain(client.clientSecret);
    });

    it('the old secret stops working once the overlap ends; the new one goes on', async () => {
      const client = await credentialsClient(await tenant('ends'));
      const fresh = await rotate(client.clientId, ['--keep-old', '2s']);
      await eventually('the old secret is refused', async () => (await status(client.clientId, client.clientSecret)) === 401, 30_000);
      expect(await status(client.clientId, fresh)).toBe(200);
      const [entry] = (await operator(service, ['client', 'list', '--json'])).json.filter((c: any) => c.client_id === client.clientId);
      expect(entry.secrets).toHaveLength(1);
    });

    it('rotate-secret --keep-old 0 cuts the old secret at once', async () => {
      const client = await credentialsClient(await tenant('cut'));
      const fresh = await rotate(client.clientId, ['--keep-old', '0']);
      expect(await status(client.clientId, client.clientSecret)).toBe(401);
      expect(await status(client.clientId, fresh)).toBe(200);
    });

    it('an Authorize client keeps refreshing with either secret during the overlap', async () => {
      const seeded = await seedTenant(service.store);
      issued.push(seeded.client.clientSecret);
      const tokens = await authorizeSeeded(service, seeded);
      const fresh = await rotate(seeded.client.clientId, ['--keep-old', '1d']);
      const withOld = await refresh(service, { ...seeded.client, refreshToken: tokens.refresh_token });
      expect(withOld.status, JSON.stringify(withOld.body)).toBe(200);
      const withNew = await refresh(service, { ...seeded.client, clientSecret: fresh, refreshToken: String(withOld.body.refresh_token) });
      expect(withNew.status, JSON.stringify(withNew.body)).toBe(200);
      issued.push(String(withNew.body.access_token), String(withNew.body.refresh_token), tokens.access_token, tokens.refresh_token);
    });

    it('a secret past its expiry is refused with invalid_client; rotation gives the new one the same lifetime', async () => {
      const client = await credentialsClient(await tenant('expiring'), ['--secret-expires-in', '2s']);
      expect(client.json.secrets[0].expires_at).not.toBeNull();
      await eventually(
        'the expired secret is refused',
        async () => {
          const answer = await clientCredentialsToken(service, client);
          return answer.status === 401 && answer.body.error === 'invalid_client';
        },
        30_000,
      );
      const yearly = await credentialsClient(await tenant('yearly'), ['--secret-expires-in', '1y']);
      const rotated = await operator(service, ['client', 'rotate-secret', yearly.clientId, '--json']);
      issued.push(rotated.json.client_secret);
      const [newest, old] = rotated.json.secrets;
      expect(Date.parse(newest.expires_at) - Date.parse(newest.created_at)).toBe(365 * DAY);
      // The default overlap is a week.
      expect(Math.abs(Date.parse(old.expires_at) - (Date.parse(newest.created_at) + 7 * DAY))).toBeLessThan(1000);
      expect(rotated.stdout).not.toContain('no longer works');
    });

    it('secretsExpiringWithin names the newest secrets that end within the days given, for the console to warn about', async () => {
      const domain = await tenant('warn');
      const soon = await credentialsClient(domain, ['--secret-expires-in', '10d']);
      await credentialsClient(domain, ['--secret-expires-in', '1y']);
      await credentialsClient(domain);
      const tenantId = (await findTenantByDomain(service.store.db, domain))!.id;
      const expiring = await secretsExpiringWithin(service.store.db, tenantId, 30);
      expect(expiring).toEqual([
        {
          clientId: soon.clientId,
          clientName: 'Microsoft Entra ID',
          secretId: expect.any(String),
          createdAt: expect.any(String),
          expiresAt: expect.any(String),
        },
      ]);
      expect(await secretsExpiringWithin(service.store.db, tenantId, 5)).toEqual([]);
      // Rotated with a year ahead, the warning goes; the old secret's last days of overlap are no reason to warn.
      await rotate(soon.clientId, ['--secret-expires-in', '1y', '--keep-old', '1d']);
      expect(await secretsExpiringWithin(service.store.db, tenantId, 30)).toEqual([]);
      const credentials = await tenantCredentials(service.store.db, tenantId);
      expect(credentials.clientCredentialsClients.map((c) => c.id).sort()).toHaveLength(3);
      expect(credentials.clientCredentialsClients.find((c) => c.id === soon.clientId)?.secrets).toHaveLength(2);
    });

    it("a client credentials client passes Entra's Test Connection, with scope scim and a 60-minute token", async () => {
      const domain = await tenant('cc');
      const client = await credentialsClient(domain);
      expect(client.json).toMatchObject({ grant: 'client_credentials', token_lifetime: 3600, redirect_uris: [], tenant: domain });
      expect(client.json).not.toHaveProperty('authorization_url');
      const token = await clientCredentialsToken(service, client);
      expect(token.status, JSON.stringify(token.body)).toBe(200);
      expect(token.body).toMatchObject({ token_type: 'Bearer', scope: 'scim', expires_in: 3600 });
      issued.push(String(token.body.access_token));
      const connection = await testConnection(service, String(token.body.access_token));
      expect(connection.status).toBe(200);
      expect(connection.body).toMatchObject({ schemas: ['urn:ietf:params:scim:api:messages:2.0:ListResponse'], totalResults: 0 });

      // It provisions as Entra does, into its own tenant.
      const scim = new ScimClient(service, String(token.body.access_token));
      const created = await scim.post('/Users', entraUser(`ada@${domain}`));
      expect(created.status, created.text).toBe(201);
      const found = await scim.get(`/Users?filter=${encodeURIComponent(`userName eq "ada@${domain}"`)}`);
      expect(found.body.totalResults).toBe(1);
      const text = (await operator(service, ['client', 'add', await tenant('cc-text'), '--grant', 'client_credentials'])).stdout;
      expect(text).toContain('Token URL');
      expect(text).toContain('Tenant URL');
      expect(text).not.toContain('Authorization URL');
    });

    it("a client credentials token cannot reach another tenant's users, nor another resource", async () => {
      const home = await tenant('home');
      const other = await tenant('other');
      const homeClient = await credentialsClient(home);
      const otherClient = await credentialsClient(other);
      const homeToken = String((await clientCredentialsToken(service, homeClient)).body.access_token);
      const otherToken = String((await clientCredentialsToken(service, otherClient)).body.access_token);
      issued.push(homeToken, otherToken);
      const created = await new ScimClient(service, otherToken).post('/Users', entraUser(`grace@${other}`));
      expect(created.status).toBe(201);
      const homeScim = new ScimClient(service, homeToken);
      expect((await homeScim.get(`/Users/${created.body.id}`)).status).toBe(404);
      expect((await homeScim.get(`/Users?filter=${encodeURIComponent(`userName eq "grace@${other}"`)}`)).body.totalResults).toBe(0);
      const elsewhere = await clientCredentialsToken(service, homeClient, { resource: 'https://elsewhere.example/api' });
      expect(elsewhere.status).toBe(400);
      expect(elsewhere.body.error).toBe('invalid_target');
    });

    it('a client credentials token stops at the next request when its tenant is disabled or its client removed', async () => {
      const domain = await tenant('standing');
      const client = await credentialsClient(domain);
      const token = String((await clientCredentialsToken(service, client)).body.access_token);
      issued.push(token);
      expect((await testConnection(service, token)).status).toBe(200);
      expect((await introspect(service, { ...client, token })).body).toMatchObject({ active: true, scope: 'scim' });
      await setTenantDisabled(service.store.db, domain, true);
      expect((await introspect(service, { ...client, token })).body).toEqual({ active: false });
      const disabled = await testConnection(service, token);
      expect(disabled.status).toBe(401);
      expect(disabled.headers.get('www-authenticate')).toContain('invalid_token');
      const refused = await clientCredentialsToken(service, client);
      expect(refused.status).toBe(400);
      expect(refused.body).toMatchObject({ error: 'unauthorized_client', error_description: 'the tenant is disabled' });
      await setTenantDisabled(service.store.db, domain, false);
      expect((await testConnection(service, token)).status).toBe(200);
      expect((await operator(service, ['client', 'remove', client.clientId])).code).toBe(0);
      expect((await testConnection(service, token)).status).toBe(401);
    });

    it('--token-lifetime: 60m to 6h, outside that a usage error; the token lasts as long as set', async () => {
      const domain = await tenant('lifetime');
      for (const outside of ['59m', '7h', '0', '6h1m', 'soon']) {
        const refused = await operator(service, ['client', 'add', domain, '--grant', 'client_credentials', '--token-lifetime', outside]);
        expect(refused.code, outside).toBe(2);
        expect(refused.stderr).toContain('--token-lifetime');
      }
      const long = await credentialsClient(domain, ['--token-lifetime', '6h']);
      expect((await clientCredentialsToken(service, long)).body.expires_in).toBe(6 * 3600);
      const short = await credentialsClient(domain, ['--token-lifetime', '60m']);
      expect((await clientCredentialsToken(service, short)).body.expires_in).toBe(3600);
      const notCc = await operator(service, ['client', 'add', domain, '--token-lifetime', '2h']);
      expect(notCc.code).toBe(2);
      const anyTenant = await operator(service, ['client', 'add', '--any-tenant', '--grant', 'client_credentials']);
      expect(anyTenant.code).toBe(2);
      expect((await operator(service, ['client', 'add', domain, '--grant', 'password'])).code).toBe(2);
      expect((await operator(service, ['client', 'rotate-secret', long.clientId, '--keep-old', '3 days'])).code).toBe(2);
    });

    it('a client credentials client cannot start the Authorize flow, and an Authorize client cannot use client credentials', async () => {
      const domain = await tenant('grants');
      const client = await credentialsClient(domain);
      const authorize = await send(
        `${service.url}/oauth/authorize?${new URLSearchParams({ client_id: client.clientId, response_type: 'code', scope: 'scim', redirect_uri: 'https://portal.azure.com/TokenAuthorize' })}`,
      );
      expect(authorize.status).toBeGreaterThanOrEqual(400);
      expect(authorize.status).toBeLessThan(500);
      await addManager(service.store.db, domain, 'admin@example.com', 'Correct horse battery staple 12');
      const entra = await operator(service, ['client', 'add', domain, '--json']);
      issued.push(entra.json.client_secret);
      const refused = await clientCredentialsToken(service, { clientId: entra.json.client_id, clientSecret: entra.json.client_secret });
      expect(refused.status, JSON.stringify(refused.body)).toBe(400);
      expect(refused.body).toEqual({ error: 'invalid_request', error_description: 'requested grant type is not allowed for this client' });
    });

    it('nothing secret reaches the log', () => {
      expect(log.lines.length).toBeGreaterThan(0);
      expect(issued.length).toBeGreaterThan(10);
      expect(logHoldsNone(log, issued)).toBeUndefined();
    });
  });
}

// An operator upgrading keeps every client's secret: 0011_secrets moves each
// stored hash into client_secrets. The store is put back the way 0010 left it
// (the secret's hash on the clients row), with a client on it, and opened again.
for (const engine of [
  { name: 'SQLite', enabled: true },
  { name: 'PostgreSQL', enabled: Boolean(postgresUrl) },
]) {
  describe.skipIf(!engine.enabled)(`upgrading to 0011_secrets (${engine.name})`, () => {
    it("keeps each client's secret working, with its date, and a public app's none", async () => {
      const database = engine.name === 'PostgreSQL' ? await freshPostgresUrl() : undefined;
      const config = { dataDir: tempDataDir(), databaseUrl: database?.url };
      try {
        let store = await openStore(config);
        const domain = uniqueDomain('upgrade');
        await addTenant(store.db, domain, 'Upgrade');
        const { client, clientSecret } = await addClient(store.db, { tenantDomain: domain });
        const app = await addAppClient(store.db, { tenantDomain: domain, redirectUris: ['https://app.example/cb'], isPublic: true });
        const hash = createHash('sha256').update(clientSecret).digest('hex');
        const db = store.db as unknown as Kysely<any>;
        await db.schema
          .alterTable('clients')
          .addColumn('secret_hash', 'text', (c) => c.notNull().defaultTo(''))
          .execute();
        await db.updateTable('clients').set({ secret_hash: hash }).where('id', '=', client.id).execute();
        await db.schema.dropTable('client_secrets').execute();
        await db.schema.dropTable('scim_tokens').execute();
        await db.schema.alterTable('clients').dropColumn('grant_type').execute();
        await db.schema.alterTable('clients').dropColumn('access_token_ttl').execute();
        await db.deleteFrom('schema_migrations').where('name', '=', '0011_secrets').execute();
        await store.close();

        store = await openStore(config);
        const upgraded = await findClient(store.db, client.id);
        expect(upgraded?.secretHashes).toEqual([hash]);
        expect(secretMatchesAny(upgraded!.secretHashes, clientSecret)).toBe(true);
        expect(upgraded?.secrets).toEqual([{ id: expect.any(String), createdAt: client.secretRotatedAt, expiresAt: null }]);
        expect(upgraded).toMatchObject({ grant: 'authorization_code', tokenLifetime: null });
        expect((await findClient(store.db, app.client.id))?.secrets).toEqual([]);
        await store.close();
      } finally {
        await database?.drop();
      }
    });
  });
}

// Two server processes (`node server/main.ts`) on different ports, started
// together on one fresh PostgreSQL database and one Redis server of this
// test's own, as replicas behind a load balancer are: every request of a
// browser, of Entra's token client and of its SCIM client may land on either.
// They must behave as one server: one Authorize across both, one token
// chain, one directory, one set of sign-in counters, one set of keys.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STRANGER_THROTTLE } from '../server/interaction/index.ts';
import { openStore, type Store } from '../server/store/index.ts';
import { ROOT } from '../server/web/index.ts';
import {
  authorizeCode,
  Browser,
  excerpt,
  exchangeCode,
  goToDomain,
  introspect,
  refresh,
  type SeededTenant,
  seedTenant,
  send,
  startAuthorize,
  submit,
  type Tokens,
  textOf,
} from './support/authorize.ts';
import { postgresUrl } from './support/backends.ts';
import { freshPostgresUrl } from './support/postgres.ts';
import { redisServerMissing, startRedisServer } from './support/redis-cluster.ts';
import { entraUser, ScimClient, type ScimResponse } from './support/scim.ts';
import { type ServerProcess, startServerProcess } from './support/server-process.ts';

const PUBLIC_URL = 'https://connect.scale-out.test';
// What the TLS-terminating load balancer adds to every browser request.
const FORWARDED = { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'connect.scale-out.test' };
const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';

const missing = !postgresUrl ? 'no PostgreSQL (TEST_DATABASE_URL)' : redisServerMissing;

/**
 * A browser behind a round-robin load balancer: each request goes to the next
 * instance, whatever the previous one was. `served` records who answered what.
 */
class LoadBalancedBrowser extends Browser {
  readonly instances: { name: string; url: string }[];
  readonly served: { instance: string; path: string }[] = [];
  private turn = 0;

  constructor(instances: { name: string; url: string }[]) {
    super(instances[0].url, { headers: FORWARDED, publicOrigin: PUBLIC_URL });
    this.instances = instances;
  }

  override resolve(url: string): URL {
    const onFirst = super.resolve(url);
    const instance = this.instances[this.turn++ % this.instances.length];
    this.served.push({ instance: instance.name, path: onFirst.pathname });
    return new URL(`${onFirst.pathname}${onFirst.search}`, instance.url);
  }
}

describe.skipIf(missing !== undefined)(
  `two server processes on one PostgreSQL and one Redis${missing ? ` (skipped: ${missing})` : ''}`,
  () => {
    let database: Awaited<ReturnType<typeof freshPostgresUrl>>;
    let redis: Awaited<ReturnType<typeof startRedisServer>>;
    let a: ServerProcess;
    let b: ServerProcess;
    let both: { name: string; url: string }[];
    let store: Store;
    let seeded: SeededTenant;
    let tokens: Tokens;

    beforeAll(async () => {
      [database, redis] = await Promise.all([freshPostgresUrl(), startRedisServer()]);
      // Started together on an empty database, as replicas of a new deployment
      // are: both migrate and both generate keys; one of each wins, both use it.
      const env = { PUBLIC_URL, TRUST_PROXY: 'true', DATABASE_URL: database.url, REDIS_URL: redis.url };
      [a, b] = await Promise.all([startServerProcess(env), startServerProcess(env)]);
      both = [
        { name: 'A', url: a.url },
        { name: 'B', url: b.url },
      ];
      store = await openStore({ dataDir: '', databaseUrl: database.url }, { migrate: false });
      seeded = await seedTenant(store);
    }, 120_000);

    afterAll(async () => {
      await store?.close();
      await Promise.all([a?.stop(), b?.stop()]);
      await Promise.all([redis?.stop(), database?.drop()]);
    });

    const client = () => ({ clientId: seeded.client.clientId, clientSecret: seeded.client.clientSecret });
    const other = (name: string) => (name === 'A' ? b : a);
    const named = (name: string) => (name === 'A' ? a : b);

    it('are two processes that publish the same signing keys', async () => {
      expect(a.child.pid).not.toBe(b.child.pid);
      expect(a.port).not.toBe(b.port);
      const [jwksA, jwksB] = await Promise.all([send(`${a.url}/oauth/jwks`), send(`${b.url}/oauth/jwks`)]);
      const keys = JSON.parse(jwksA.text).keys;
      expect(keys.length).toBeGreaterThan(0);
      expect(JSON.parse(jwksB.text).keys).toEqual(keys);
    });

    it('carry one Authorize whose every request alternates between them, then trade the code on the other instance', async () => {
      const browser = new LoadBalancedBrowser(both);
      const { code, redirect } = await authorizeCode(a, {
        browser,
        clientId: seeded.client.clientId,
        domain: seeded.domain,
        username: seeded.manager.username,
        password: seeded.manager.password,
      });
      expect(redirect.searchParams.get('iss')).toBe(PUBLIC_URL);
      // Every step of the flow was answered, and they were answered by both in turn.
      const answeredBy = browser.served.map((s) => s.instance);
      expect(answeredBy.length).toBeGreaterThanOrEqual(8);
      expect(answeredBy.filter((name) => name === 'A').length).toBe(Math.ceil(answeredBy.length / 2));
      expect(new Set(browser.served.filter((s) => s.path.includes('/login/')).map((s) => s.instance))).toEqual(new Set(['A', 'B']));

      const issuer = browser.served.at(-1)!.instance;
      const exchanged = await exchangeCode(other(issuer), { ...client(), code });
      expect(exchanged.status, JSON.stringify(exchanged.body)).toBe(200);
      tokens = exchanged.body as unknown as Tokens;
      expect(tokens.scope).toBe('scim');

      // Single use holds across instances: the same code again, on the instance that issued it, is refused.
      const replayed = await exchangeCode(named(issuer), { ...client(), code });
      expect(replayed.status).toBe(400);
      expect(replayed.body.error).toBe('invalid_grant');
    });

    it('refresh the token chain on alternating instances, each rotation seen by the other', async () => {
      // The replay above revoked that grant, as RFC 6749 asks; this chain starts from a new Authorize.
      const browser = new LoadBalancedBrowser(both);
      const { code } = await authorizeCode(b, { browser, clientId: seeded.client.clientId, domain: seeded.domain, ...manager() });
      const first = await exchangeCode(a, { ...client(), code });
      expect(first.status, JSON.stringify(first.body)).toBe(200);
      let current = first.body as unknown as Tokens;
      for (const instance of [b, a, b, a]) {
        const answer = await refresh(instance, { ...client(), refreshToken: current.refresh_token });
        expect(answer.status, JSON.stringify(answer.body)).toBe(200);
        const next = answer.body as unknown as Tokens;
        expect(next.refresh_token).not.toBe(current.refresh_token);
        current = next;
        for (const checker of [a, b]) {
          expect((await introspect(checker, { ...client(), token: current.access_token })).body).toMatchObject({
            active: true,
            scope: 'scim',
          });
        }
      }
      tokens = current;
    });

    it('count wrong passwords together: an account paused through one instance is paused on the other', async () => {
      const target = await seedTenant(store);
      const browser = new LoadBalancedBrowser(both);
      const started = await startAuthorize(a, { clientId: target.client.clientId, browser });
      const login = await goToDomain(browser, started.page, target.domain);
      expect(login.status, excerpt(login.text)).toBe(200);
      const answers: { status: number; instance: string }[] = [];
      for (let i = 0; i <= STRANGER_THROTTLE.free; i++) {
        const answer = await submit(browser, login, 'login-form', { username: target.manager.username, password: `wrong password ${i}` });
        answers.push({ status: answer.status, instance: browser.served.at(-1)!.instance });
      }
      expect(new Set(answers.map((x) => x.instance))).toEqual(new Set(['A', 'B']));
      expect(answers.slice(0, -1).map((x) => x.status)).toEqual(Array(STRANGER_THROTTLE.free).fill(400));
      expect(answers.at(-1)!.status).toBe(429);
      // The right password now, on whichever instance: still paused.
      for (let i = 0; i < 2; i++) {
        const answer = await submit(browser, login, 'login-form', { username: target.manager.username, password: target.manager.password });
        expect(answer.status).toBe(429);
        expect(answer.headers.get('retry-after')).toMatch(/^\d+$/);
        expect(textOf(answer.text, 'login-error')).toContain('paused');
      }
    });

    it('take a client secret rotated with --keep-old 0 at once, on both, and keep the old one through a default overlap', async () => {
      const target = await seedTenant(store);
      const { code } = await authorizeCode(a, {
        browser: new LoadBalancedBrowser(both),
        clientId: target.client.clientId,
        domain: target.domain,
        ...target.manager,
      });
      const issued = await exchangeCode(b, { ...target.client, code });
      expect(issued.status).toBe(200);
      const { stdout } = await promisify(execFile)(
        process.execPath,
        ['bin/securelogin.js', 'client', 'rotate-secret', target.client.clientId, '--keep-old', '0', '--json'],
        {
          cwd: ROOT,
          env: { PATH: process.env.PATH, HOME: process.env.HOME, DATABASE_URL: database.url, PUBLIC_URL },
        },
      );
      const rotated = JSON.parse(stdout) as { client_secret: string };
      for (const instance of [a, b]) {
        const old = await refresh(instance, { ...target.client, refreshToken: issued.body.refresh_token as string });
        expect(old.status).toBe(401);
      }
      const renewed = await refresh(a, {
        clientId: target.client.clientId,
        clientSecret: rotated.client_secret,
        refreshToken: issued.body.refresh_token as string,
      });
      expect(renewed.status, JSON.stringify(renewed.body)).toBe(200);

      // Rotated again with the default overlap: the secret in use keeps working on both.
      await promisify(execFile)(process.execPath, ['bin/securelogin.js', 'client', 'rotate-secret', target.client.clientId], {
        cwd: ROOT,
        env: { PATH: process.env.PATH, HOME: process.env.HOME, DATABASE_URL: database.url, PUBLIC_URL },
      });
      let refreshToken = renewed.body.refresh_token as string;
      for (const instance of [a, b]) {
        const kept = await refresh(instance, { clientId: target.client.clientId, clientSecret: rotated.client_secret, refreshToken });
        expect(kept.status, JSON.stringify(kept.body)).toBe(200);
        refreshToken = kept.body.refresh_token as string;
      }
    });

    describe('SCIM requests alternating between them see one directory', () => {
      let onA: ScimClient;
      let onB: ScimClient;
      let user: ScimResponse;
      let colleague: ScimResponse;
      let group: ScimResponse;

      beforeAll(() => {
        onA = new ScimClient(a, tokens.access_token);
        onB = new ScimClient(b, tokens.access_token);
      });

      it('a user created on A is read, filtered and changed on B, and A sees the change', async () => {
        user = await onA.post('/Users', entraUser('alex.alternating@example.com'));
        expect(user.status, user.text).toBe(201);
        const read = await onB.get(`/Users/${user.body.id}`);
        expect(read.status, read.text).toBe(200);
        expect(read.body).toEqual(user.body);
        const found = await onB.get('/Users?filter=userName eq "Alex.Alternating@example.com"');
        expect(found.body.totalResults).toBe(1);
        expect(found.body.Resources[0].id).toBe(user.body.id);

        const changed = await onB.patch(
          `/Users/${user.body.id}`,
          { schemas: [PATCH_OP], Operations: [{ op: 'Replace', path: 'name.givenName', value: 'Alexandra' }] },
          { 'if-match': read.headers.get('etag')! },
        );
        expect(changed.status, changed.text).toBe(200);
        const seenOnA = await onA.get(`/Users/${user.body.id}`);
        expect(seenOnA.body.name.givenName).toBe('Alexandra');
        expect(seenOnA.headers.get('etag')).toBe(changed.headers.get('etag'));
        // A version one instance handed out is the version the other checks against.
        const stale = await onA.patch(
          `/Users/${user.body.id}`,
          { schemas: [PATCH_OP], Operations: [{ op: 'Replace', path: 'name.givenName', value: 'Stale' }] },
          { 'if-match': read.headers.get('etag')! },
        );
        expect(stale.status).toBe(412);
      });

      it('a userName taken through one instance is taken on the other', async () => {
        const again = await onB.post('/Users', entraUser('ALEX.alternating@example.com'));
        expect(again.status).toBe(409);
        expect(again.body.scimType).toBe('uniqueness');
      });

      it('group memberships changed on one instance are visible on both', async () => {
        colleague = await onB.post('/Users', entraUser('casey.colleague@example.com'));
        expect(colleague.status).toBe(201);
        group = await onB.post('/Groups', { schemas: [GROUP], displayName: 'Replicas', members: [{ value: user.body.id }] });
        expect(group.status, group.text).toBe(201);

        const members = async (scim: ScimClient) =>
          ((await scim.get(`/Groups/${group.body.id}`)).body.members ?? []).map((m: { value: string }) => m.value).sort();
        expect(await members(onA)).toEqual([user.body.id]);

        const added = await onA.patch(`/Groups/${group.body.id}`, {
          schemas: [PATCH_OP],
          Operations: [{ op: 'Add', path: 'members', value: [{ value: colleague.body.id }] }],
        });
        expect([200, 204]).toContain(added.status);
        expect(await members(onB)).toEqual([user.body.id, colleague.body.id].sort());
        const groupsOfColleague = (await onB.get(`/Users/${colleague.body.id}`)).body.groups.map((g: { value: string }) => g.value);
        expect(groupsOfColleague).toEqual([group.body.id]);

        const removed = await onB.patch(`/Groups/${group.body.id}`, {
          schemas: [PATCH_OP],
          Operations: [{ op: 'Remove', path: `members[value eq "${user.body.id}"]` }],
        });
        expect([200, 204]).toContain(removed.status);
        expect(await members(onA)).toEqual([colleague.body.id]);
        const filtered = await onA.get(`/Groups?filter=displayName eq "Replicas"&excludedAttributes=members`);
        expect(filtered.body.Resources.map((g: { id: string }) => g.id)).toEqual([group.body.id]);
      });

      it('a user deleted on A is gone on B, and from its groups', async () => {
        const deleted = await onA.delete(`/Users/${colleague.body.id}`);
        expect(deleted.status).toBe(204);
        expect((await onB.get(`/Users/${colleague.body.id}`)).status).toBe(404);
        expect((await onB.get(`/Groups/${group.body.id}`)).body.members ?? []).toEqual([]);
        expect((await onB.delete(`/Users/${colleague.body.id}`)).status).toBe(404);
      });

      it('a group deleted on B is gone on A', async () => {
        expect((await onB.delete(`/Groups/${group.body.id}`)).status).toBe(204);
        expect((await onA.get(`/Groups/${group.body.id}`)).status).toBe(404);
        expect((await onA.get('/Groups?filter=displayName eq "Replicas"')).body.totalResults).toBe(0);
      });

      it('a token revoked through one instance stops working on both', async () => {
        const revoked = await send(`${a.url}/oauth/revoke`, {
          method: 'POST',
          headers: {
            'content-type': 'application/x-www-form-urlencoded',
            authorization: `Basic ${Buffer.from(`${seeded.client.clientId}:${seeded.client.clientSecret}`).toString('base64')}`,
          },
          body: new URLSearchParams({ token: tokens.refresh_token }).toString(),
        });
        expect(revoked.status).toBe(200);
        for (const scim of [onA, onB]) {
          const refused = await scim.get('/Users?count=1');
          expect(refused.status).toBe(401);
        }
      });
    });

    it('stayed up throughout, and logged no error', () => {
      for (const instance of [a, b]) {
        expect(instance.alive(), instance.stderr()).toBe(true);
        expect(instance.logs.filter((line) => line.level === 'error' || line.level === 'fatal')).toEqual([]);
      }
    });

    function manager() {
      return { username: seeded.manager.username, password: seeded.manager.password };
    }
  },
);

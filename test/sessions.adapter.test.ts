// The oidc-provider adapter contract, run against every session backend:
// what the provider stores it finds again, expired things are gone, a code
// is consumed once even when two servers race for it, and revoking a grant
// removes exactly that grant's tokens.
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { sql } from 'kysely';
import { errors, Provider } from 'oidc-provider';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SessionsUnavailable } from '../server/sessions/index.ts';
import { redisServerMissing, startRedisServer } from './support/redis-cluster.ts';
import {
  type BackendCase,
  type Instance,
  type RunningBackend,
  redisBackendAt,
  sessionBackends,
  suiteName,
} from './support/session-backends.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const epochNow = () => Math.floor(Date.now() / 1000);

function tokenPayload(kind: string, grantId: string, extra: Record<string, unknown> = {}) {
  const iat = epochNow();
  return { iat, exp: iat + 3600, kind, jti: randomUUID(), grantId, clientId: 'entra', accountId: 'manager-1', scope: 'scim', ...extra };
}

for (const backend of sessionBackends) {
  describe.skipIf(backend.unavailable !== undefined)(`session adapter on ${suiteName(backend)}`, () => {
    contract(backend);
  });
}

function contract(backend: BackendCase) {
  let running: RunningBackend;
  let first: Instance;
  let second: Instance;

  beforeAll(async () => {
    running = await backend.start();
    first = await running.open();
    second = await running.open();
  }, 120_000);

  afterAll(async () => {
    await running?.stop();
  });

  const adapter = (instance: Instance, model: string) => new instance.sessions.Adapter(model);

  it('says which backend it is and answers ping', async () => {
    expect(first.sessions.backend).toBe(backend.embedded ? 'embedded' : 'redis');
    await expect(first.sessions.ping()).resolves.toBeUndefined();
  });

  it('finds what was stored, on another instance too, and only under its own model', async () => {
    const payload = tokenPayload('AccessToken', randomUUID(), { extra: { tenant: 't-1' }, aud: ['https://x/scim/v2'] });
    await adapter(first, 'AccessToken').upsert(payload.jti, payload, 3600);
    expect(await adapter(first, 'AccessToken').find(payload.jti)).toEqual(payload);
    expect(await adapter(second, 'AccessToken').find(payload.jti)).toEqual(payload);
    expect(await adapter(first, 'RefreshToken').find(payload.jti)).toBeUndefined();
    expect(await adapter(first, 'AccessToken').find('no-such-token')).toBeUndefined();
  });

  it('replaces a payload on a second upsert of the same id', async () => {
    const id = randomUUID();
    const sessions = adapter(first, 'Session');
    await sessions.upsert(id, { jti: id, uid: `uid-${id}`, kind: 'Session', accountId: 'a' }, 600);
    await sessions.upsert(id, { jti: id, uid: `uid-${id}`, kind: 'Session', accountId: 'b' }, 600);
    expect((await sessions.find(id))?.accountId).toBe('b');
  });

  it('keeps artifacts without an expiry', async () => {
    const id = randomUUID();
    await adapter(first, 'Grant').upsert(id, { jti: id, kind: 'Grant', clientId: 'entra', accountId: 'm' });
    expect(await adapter(second, 'Grant').find(id)).toMatchObject({ jti: id, kind: 'Grant' });
  });

  it('does not find artifacts once they expire, by id or by uid', async () => {
    const id = randomUUID();
    const uid = `uid-${id}`;
    await adapter(first, 'Session').upsert(id, { jti: id, uid, kind: 'Session' }, 1);
    expect(await adapter(first, 'Session').find(id)).toBeDefined();
    expect(await adapter(first, 'Session').findByUid(uid)).toBeDefined();
    await sleep(1_200);
    expect(await adapter(first, 'Session').find(id)).toBeUndefined();
    expect(await adapter(second, 'Session').findByUid(uid)).toBeUndefined();
  });

  it('finds a session by its uid and forgets the uid when the session is destroyed', async () => {
    const id = randomUUID();
    const uid = `uid-${id}`;
    await adapter(first, 'Session').upsert(id, { jti: id, uid, kind: 'Session', accountId: 'manager-1' }, 600);
    expect(await adapter(second, 'Session').findByUid(uid)).toMatchObject({ jti: id, uid });
    expect(await adapter(second, 'Session').findByUid('uid-of-nobody')).toBeUndefined();
    await adapter(second, 'Session').destroy(id);
    expect(await adapter(first, 'Session').find(id)).toBeUndefined();
    expect(await adapter(first, 'Session').findByUid(uid)).toBeUndefined();
  });

  it('finds a device code by its user code', async () => {
    const id = randomUUID();
    const userCode = `UC-${id.slice(0, 8)}`;
    await adapter(first, 'DeviceCode').upsert(id, { jti: id, userCode, kind: 'DeviceCode', grantId: randomUUID() }, 600);
    expect(await adapter(second, 'DeviceCode').findByUserCode(userCode)).toMatchObject({ jti: id, userCode });
    expect(await adapter(second, 'DeviceCode').findByUserCode('UC-NOBODY')).toBeUndefined();
  });

  it('destroys one artifact and leaves the others', async () => {
    const grantId = randomUUID();
    const kept = tokenPayload('AccessToken', grantId);
    const gone = tokenPayload('AccessToken', grantId);
    await adapter(first, 'AccessToken').upsert(kept.jti, kept, 3600);
    await adapter(first, 'AccessToken').upsert(gone.jti, gone, 3600);
    await adapter(second, 'AccessToken').destroy(gone.jti);
    await adapter(second, 'AccessToken').destroy('never-existed');
    expect(await adapter(first, 'AccessToken').find(gone.jti)).toBeUndefined();
    expect(await adapter(first, 'AccessToken').find(kept.jti)).toEqual(kept);
  });

  it('revoking a grant removes every token and code of that grant and none of another grant', async () => {
    const revoked = randomUUID();
    const other = randomUUID();
    const stored: [string, ReturnType<typeof tokenPayload>][] = [];
    for (const grantId of [revoked, other]) {
      // Eight tokens a grant: on the Cluster they land on different nodes.
      for (const model of [
        'AccessToken',
        'RefreshToken',
        'AuthorizationCode',
        'AccessToken',
        'AccessToken',
        'RefreshToken',
        'AccessToken',
        'DeviceCode',
      ]) {
        const payload = tokenPayload(model, grantId);
        await adapter(first, model).upsert(payload.jti, payload, model === 'RefreshToken' ? 86_400 : 60);
        stored.push([model, payload]);
      }
    }
    await adapter(second, 'AccessToken').revokeByGrantId(revoked);
    for (const [model, payload] of stored) {
      const found = await adapter(first, model).find(payload.jti);
      if (payload.grantId === revoked) expect(found, `${model} of the revoked grant`).toBeUndefined();
      else expect(found, `${model} of the other grant`).toEqual(payload);
    }
    // Revoking again, or a grant that never had tokens, is harmless.
    await adapter(first, 'RefreshToken').revokeByGrantId(revoked);
    await adapter(first, 'RefreshToken').revokeByGrantId(randomUUID());
  });

  it('consumes an authorization code once: of many simultaneous consumes on two servers exactly one wins', async () => {
    const grantId = randomUUID();
    await adapter(first, 'Grant').upsert(grantId, { jti: grantId, kind: 'Grant', clientId: 'entra', accountId: 'manager-1' }, 3600);
    const code = tokenPayload('AuthorizationCode', grantId);
    const sibling = tokenPayload('AccessToken', grantId);
    await adapter(first, 'AuthorizationCode').upsert(code.jti, code, 60);
    await adapter(first, 'AccessToken').upsert(sibling.jti, sibling, 3600);

    const racers = Array.from({ length: 12 }, (_, i) => adapter(i % 2 ? first : second, 'AuthorizationCode'));
    const outcomes = await Promise.allSettled(racers.map((racer) => racer.consume(code.jti)));
    const won = outcomes.filter((o) => o.status === 'fulfilled');
    const lost = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(11);
    for (const { reason } of lost) {
      expect(reason).toBeInstanceOf(errors.InvalidGrant);
      // "not found" once an earlier loser has revoked the grant, code included.
      expect(['authorization code already consumed', 'authorization code not found']).toContain(reason.error_detail);
    }
    expect(lost.some(({ reason }) => reason.error_detail === 'authorization code already consumed')).toBe(true);
    // A second use revokes the grant, as oidc-provider does for a replay it sees itself.
    expect(await adapter(first, 'Grant').find(grantId)).toBeUndefined();
    expect(await adapter(first, 'AccessToken').find(sibling.jti)).toBeUndefined();
  });

  it('reports a consumed code as consumed, also after it is saved again', async () => {
    const code = tokenPayload('AuthorizationCode', randomUUID());
    await adapter(first, 'AuthorizationCode').upsert(code.jti, code, 60);
    const before = epochNow();
    await adapter(second, 'AuthorizationCode').consume(code.jti);
    const consumed = (await adapter(first, 'AuthorizationCode').find(code.jti))?.consumed;
    expect(consumed).toBeGreaterThanOrEqual(before);
    expect(consumed).toBeLessThanOrEqual(epochNow());
    await adapter(first, 'AuthorizationCode').upsert(code.jti, code, 60);
    expect((await adapter(first, 'AuthorizationCode').find(code.jti))?.consumed).toBe(consumed);
  });

  it('refuses a code that expired between find and consume without revoking its grant', async () => {
    const grantId = randomUUID();
    await adapter(first, 'Grant').upsert(grantId, { jti: grantId, kind: 'Grant', clientId: 'entra', accountId: 'manager-1' }, 3600);
    const code = tokenPayload('AuthorizationCode', grantId);
    await adapter(first, 'AuthorizationCode').upsert(code.jti, code, 1);
    expect(await adapter(first, 'AuthorizationCode').find(code.jti)).toBeDefined();
    await sleep(1_100);
    const refusal = await adapter(second, 'AuthorizationCode')
      .consume(code.jti)
      .catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(errors.InvalidGrant);
    expect(refusal).toMatchObject({ message: 'invalid_grant', error_detail: 'authorization code not found' });
    expect(await adapter(first, 'Grant').find(grantId)).toBeDefined();
  });

  it('refuses to consume a code that does not exist', async () => {
    await expect(adapter(first, 'AuthorizationCode').consume('no-such-code')).rejects.toBeInstanceOf(errors.InvalidGrant);
  });

  it('lets the refresh policy decide about a refresh token consumed twice, keeping the first time', async () => {
    const token = tokenPayload('RefreshToken', randomUUID());
    await adapter(first, 'RefreshToken').upsert(token.jti, token, 86_400);
    await adapter(first, 'RefreshToken').consume(token.jti);
    const firstTime = (await adapter(first, 'RefreshToken').find(token.jti))?.consumed;
    await sleep(1_050);
    await expect(adapter(second, 'RefreshToken').consume(token.jti)).resolves.toBeUndefined();
    expect((await adapter(second, 'RefreshToken').find(token.jti))?.consumed).toBe(firstTime);
  });

  it('keeps sessions and tokens when a server restarts', async () => {
    const instance = await running.open();
    const token = tokenPayload('RefreshToken', randomUUID());
    await adapter(instance, 'RefreshToken').upsert(token.jti, token, 86_400);
    await running.close(instance);
    const restarted = await running.open();
    expect(await adapter(restarted, 'RefreshToken').find(token.jti)).toEqual(token);
    await running.close(restarted);
  });

  it.runIf(backend.embedded)('sweeps expired rows out of the table', async () => {
    const id = randomUUID();
    await adapter(first, 'Interaction').upsert(id, { jti: id, kind: 'Interaction' }, 1);
    await sleep(1_100);
    const sweeper = await running.open({ sweepIntervalMs: 100 });
    const count = async () =>
      Number((await sql<{ n: number }>`select count(*) as n from oidc_artifacts where id = ${id}`.execute(sweeper.store.db)).rows[0].n);
    const deadline = Date.now() + 30_000;
    while ((await count()) > 0 && Date.now() < deadline) await sleep(100);
    expect(await count()).toBe(0);
    await running.close(sweeper);
  });

  describe('through oidc-provider itself', () => {
    let provider: Provider;
    let server: http.Server;
    let tokenUrl: string;
    const redirectUri = 'https://portal.azure.com/TokenAuthorize';
    const basic = `Basic ${Buffer.from('entra:entra-secret-0123456789').toString('base64')}`;

    beforeAll(async () => {
      const key = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' });
      provider = new Provider('http://127.0.0.1', {
        adapter: first.sessions.Adapter,
        clients: [
          {
            client_id: 'entra',
            client_secret: 'entra-secret-0123456789',
            redirect_uris: [redirectUri],
            grant_types: ['authorization_code'],
            response_types: ['code'],
          },
        ],
        jwks: { keys: [{ ...key, kid: 'test', use: 'sig', alg: 'RS256' }] },
        ttl: { Grant: 3600, AuthorizationCode: 60, AccessToken: 3600, IdToken: 3600 },
        findAccount: async (_ctx, sub) => ({ accountId: sub, claims: async () => ({ sub }) }),
        features: { introspection: { enabled: true }, devInteractions: { enabled: false } },
      });
      server = http.createServer(provider.callback());
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      tokenUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/token`;
    });

    afterAll(async () => {
      await new Promise((resolve) => server?.close(resolve));
    });

    async function issueCode(): Promise<{ code: string; grantId: string }> {
      const client = await provider.Client.find('entra');
      const grant = new provider.Grant({ clientId: 'entra', accountId: 'manager-1' });
      grant.addOIDCScope('openid');
      const grantId = await grant.save();
      const code = await new provider.AuthorizationCode({
        client: client!,
        grantId,
        gty: 'authorization_code',
        accountId: 'manager-1',
        redirectUri,
        scope: 'openid',
      }).save();
      return { code, grantId };
    }

    it('closes the gap between the library finding a code unconsumed and consuming it', async () => {
      const { code, grantId } = await issueCode();
      // Exactly what two simultaneous token requests do inside the library:
      // both find the code unconsumed, then both consume it.
      const [a, b] = await Promise.all([provider.AuthorizationCode.find(code), provider.AuthorizationCode.find(code)]);
      // `consumed` is in the model's payload but not in its published type.
      expect((a as unknown as { consumed?: number }).consumed).toBeFalsy();
      expect((b as unknown as { consumed?: number }).consumed).toBeFalsy();
      const outcomes = await Promise.allSettled([a!.consume(), b!.consume()]);
      expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
      const loser = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
      expect(loser?.reason).toBeInstanceOf(errors.InvalidGrant);
      expect(await provider.Grant.find(grantId)).toBeUndefined();
    });

    it('answers two simultaneous exchanges of one code with one set of tokens, then revokes them', async () => {
      const { code } = await issueCode();
      const exchange = () =>
        fetch(tokenUrl, {
          method: 'POST',
          headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: redirectUri }),
        }).then(async (response) => ({ status: response.status, body: (await response.json()) as Record<string, string> }));
      const answers = await Promise.all([exchange(), exchange()]);
      const ok = answers.filter((a) => a.status === 200);
      const refused = answers.filter((a) => a.status !== 200);
      expect(ok).toHaveLength(1);
      expect(refused).toHaveLength(1);
      expect(refused[0]).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });

      const introspection = await fetch(`${tokenUrl}/introspection`, {
        method: 'POST',
        headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ token: ok[0].body.access_token }),
      });
      expect(await introspection.json()).toEqual({ active: false });
    });
  });
}

describe.skipIf(redisServerMissing !== undefined)(
  `when Redis stops answering${redisServerMissing ? ` (skipped: ${redisServerMissing})` : ''}`,
  () => {
    let redis: Awaited<ReturnType<typeof startRedisServer>>;
    let instance: Instance;
    let backend: RunningBackend;

    beforeAll(async () => {
      redis = await startRedisServer();
      backend = await redisBackendAt(redis.url);
      instance = await backend.open();
    });

    afterAll(async () => {
      await backend?.stop();
      await redis?.stop();
    });

    it('fails fast with 503 temporarily_unavailable and works again once Redis is back', async () => {
      const token = tokenPayload('AccessToken', randomUUID());
      const tokens = new instance.sessions.Adapter('AccessToken');
      await tokens.upsert(token.jti, token, 3600);

      await redis.pause();
      const started = Date.now();
      const failure = await tokens.find(token.jti).catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(SessionsUnavailable);
      expect(failure).toMatchObject({ statusCode: 503, message: 'temporarily_unavailable', expose: true });
      expect(Date.now() - started).toBeLessThan(6_000);
      await expect(instance.sessions.throttle.state({ group: 'address:192.0.2.1', member: 'failures' })).rejects.toBeInstanceOf(
        SessionsUnavailable,
      );
      await expect(instance.sessions.ping()).rejects.toThrow();

      await redis.resume();
      const deadline = Date.now() + 60_000;
      let healed = false;
      while (!healed && Date.now() < deadline) {
        healed = await instance.sessions.ping().then(
          () => true,
          () => false,
        );
        if (!healed) await sleep(200);
      }
      expect(healed).toBe(true);
      // The restarted server kept nothing (no persistence here); what matters is that writes and reads work again.
      await tokens.upsert(token.jti, token, 3600);
      expect(await tokens.find(token.jti)).toEqual(token);
    }, 120_000);
  },
);

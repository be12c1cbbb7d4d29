import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { disableAccount, ENTRA_REDIRECT_URI, removeClient, rotateClientSecret, setTenantDisabled } from '../server/directory/index.ts';
import {
  authorizeCode,
  authorizeSeeded,
  Browser,
  clientPost,
  excerpt,
  exchangeCode,
  introspect,
  refresh,
  seedTenant,
  textOf,
} from './support/authorize.ts';
import { startService, type TestService } from './support/service.ts';

function flowOf(seeded: Awaited<ReturnType<typeof seedTenant>>) {
  return { clientId: seeded.client.clientId, domain: seeded.domain, ...seeded.manager };
}

describe('the token endpoint refuses', () => {
  let service: TestService;
  beforeAll(async () => {
    // Short code lifetime and refresh grace, so expiry is observed by waiting, not by faking clocks;
    // long enough that a slow, busy machine still uses a fresh code within them.
    service = await startService({ AUTHORIZATION_CODE_TTL_SECONDS: '4', REFRESH_TOKEN_GRACE_SECONDS: '4' });
  });
  afterAll(async () => {
    await service?.stop();
  });

  it('a wrong client secret, by basic and by post; the right one still works', async () => {
    const seeded = await seedTenant(service.store);
    const { code } = await authorizeCode(service, flowOf(seeded));
    for (const auth of ['basic', 'post'] as const) {
      const wrong = await exchangeCode(service, { ...seeded.client, clientSecret: `${seeded.client.clientSecret}x`, code, auth });
      expect(wrong.status).toBe(401);
      expect(wrong.body.error).toBe('invalid_client');
    }
    const right = await exchangeCode(service, { ...seeded.client, code });
    expect(right.status, JSON.stringify(right.body)).toBe(200);
  });

  it('a secret rotated out with no overlap at once, and accepts the new one', async () => {
    const seeded = await seedTenant(service.store);
    const tokens = await authorizeSeeded(service, seeded);
    const { clientSecret } = await rotateClientSecret(service.store.db, seeded.client.clientId, { keepOld: 0 });
    const old = await refresh(service, { ...seeded.client, refreshToken: tokens.refresh_token });
    expect(old.status).toBe(401);
    const fresh = await refresh(service, { ...seeded.client, clientSecret, refreshToken: tokens.refresh_token });
    expect(fresh.status, JSON.stringify(fresh.body)).toBe(200);
  });

  it('a refresh token without the client secret', async () => {
    const seeded = await seedTenant(service.store);
    const tokens = await authorizeSeeded(service, seeded);
    const bare = await clientPost(
      service,
      '/oauth/token',
      { grant_type: 'refresh_token', refresh_token: tokens.refresh_token, client_id: seeded.client.clientId },
      { clientId: seeded.client.clientId, clientSecret: '', auth: 'post' },
    );
    expect(bare.status).toBeGreaterThanOrEqual(400);
    expect(['invalid_client', 'invalid_request']).toContain(bare.body.error);
    // Another tenant's client cannot use it either, even with its own valid secret.
    const other = await seedTenant(service.store);
    const stolen = await refresh(service, { ...other.client, refreshToken: tokens.refresh_token });
    expect(stolen.status).toBe(400);
    expect(stolen.body.error).toBe('invalid_grant');
  });

  it('a replayed code, and revokes what its first use issued', async () => {
    const seeded = await seedTenant(service.store);
    const { code } = await authorizeCode(service, flowOf(seeded));
    const first = await exchangeCode(service, { ...seeded.client, code });
    expect(first.status).toBe(200);
    const second = await exchangeCode(service, { ...seeded.client, code });
    expect(second.status).toBe(400);
    expect(second.body.error).toBe('invalid_grant');
    expect((await introspect(service, { ...seeded.client, token: first.body.access_token as string })).body.active).toBe(false);
    const again = await refresh(service, { ...seeded.client, refreshToken: first.body.refresh_token as string });
    expect(again.body.error).toBe('invalid_grant');
  });

  it('an expired code', async () => {
    const seeded = await seedTenant(service.store);
    const { code } = await authorizeCode(service, flowOf(seeded));
    await sleep(4_600);
    const late = await exchangeCode(service, { ...seeded.client, code });
    expect(late.status).toBe(400);
    expect(late.body.error).toBe('invalid_grant');
  });

  it('a code presented with another redirect URI or by another client', async () => {
    const seeded = await seedTenant(service.store);
    const { code } = await authorizeCode(service, flowOf(seeded));
    const other = await seedTenant(service.store);
    const wrongClient = await exchangeCode(service, { ...other.client, code });
    expect(wrongClient.body.error).toBe('invalid_grant');
    const wrongUri = await exchangeCode(service, { ...seeded.client, code, redirectUri: 'https://portal.azure.com/Other' });
    expect(wrongUri.body.error).toBe('invalid_grant');
  });

  it('a refresh retried with the previous token inside the grace window succeeds; a replay after it revokes the grant', async () => {
    const seeded = await seedTenant(service.store);
    const tokens = await authorizeSeeded(service, seeded);
    const rotated = await refresh(service, { ...seeded.client, refreshToken: tokens.refresh_token });
    expect(rotated.status).toBe(200);
    // The response was "lost": the client retries with the token it still has.
    const retried = await refresh(service, { ...seeded.client, refreshToken: tokens.refresh_token });
    expect(retried.status, JSON.stringify(retried.body)).toBe(200);
    expect(retried.body.refresh_token).not.toBe(rotated.body.refresh_token);

    await sleep(4_600);
    const replay = await refresh(service, { ...seeded.client, refreshToken: tokens.refresh_token });
    expect(replay.status).toBe(400);
    expect(replay.body).toMatchObject({ error: 'invalid_grant', error_description: 'grant request is invalid' });
    // Every token of the grant is gone, whichever branch of the chain it came from.
    for (const refreshToken of [rotated.body.refresh_token, retried.body.refresh_token] as string[]) {
      expect((await refresh(service, { ...seeded.client, refreshToken })).body.error).toBe('invalid_grant');
    }
    for (const token of [tokens.access_token, rotated.body.access_token, retried.body.access_token] as string[]) {
      expect((await introspect(service, { ...seeded.client, token })).body.active).toBe(false);
    }
  });

  it('the grant slides with every refresh instead of ending at a fixed date', async () => {
    const seeded = await seedTenant(service.store);
    const tokens = await authorizeSeeded(service, seeded);
    const info = await introspect(service, { ...seeded.client, token: tokens.access_token });
    const grantExpiry = async () => {
      const rows = await service.store.db
        .selectFrom('oidc_artifacts')
        .select(['model', 'expires_at', 'payload'])
        .where('model', '=', 'Grant')
        .execute();
      const row = rows.find((r) => String(r.payload).includes(String(info.body.sub)));
      return Number(row?.expires_at);
    };
    const before = await grantExpiry();
    expect(before).toBeGreaterThan(Date.now() + 89 * 86_400_000);
    await sleep(1_100);
    const rotated = await refresh(service, { ...seeded.client, refreshToken: tokens.refresh_token });
    expect(rotated.status).toBe(200);
    expect(await grantExpiry()).toBeGreaterThanOrEqual(before + 1_000);
  });

  it('new tokens once the manager is disabled, the tenant disabled, or the client removed', async () => {
    const manager = await seedTenant(service.store);
    const managerTokens = await authorizeSeeded(service, manager);
    await disableAccount(service.store.db, manager.domain, manager.manager.username);
    expect((await refresh(service, { ...manager.client, refreshToken: managerTokens.refresh_token })).body.error).toBe('invalid_grant');

    const tenant = await seedTenant(service.store);
    const tenantTokens = await authorizeSeeded(service, tenant);
    await setTenantDisabled(service.store.db, tenant.domain, true);
    expect((await refresh(service, { ...tenant.client, refreshToken: tenantTokens.refresh_token })).body.error).toBe('invalid_grant');
    // Disabling is not revoking: enabled again, the same chain continues.
    await setTenantDisabled(service.store.db, tenant.domain, false);
    expect((await refresh(service, { ...tenant.client, refreshToken: tenantTokens.refresh_token })).status).toBe(200);

    const client = await seedTenant(service.store);
    const clientTokens = await authorizeSeeded(service, client);
    await removeClient(service.store.db, client.client.clientId);
    const removed = await refresh(service, { ...client.client, refreshToken: clientTokens.refresh_token });
    expect(removed.status).toBe(401);
    expect(removed.body.error).toBe('invalid_client');
  });
});

describe('the authorization endpoint shows an error page, and never redirects,', () => {
  let service: TestService;
  beforeAll(async () => {
    service = await startService();
  });
  afterAll(async () => {
    await service?.stop();
  });

  const authorizeUrl = (params: Record<string, string>) =>
    `/oauth/authorize?${new URLSearchParams({ redirect_uri: ENTRA_REDIRECT_URI, response_type: 'code', state: 'xyz', ...params })}`;

  it('for a redirect URI the client did not register', async () => {
    const seeded = await seedTenant(service.store);
    const page = await new Browser(service.url).get(
      authorizeUrl({ client_id: seeded.client.clientId, redirect_uri: 'https://evil.example/cb' }),
    );
    expect(page.status).toBe(400);
    expect(page.location).toBeUndefined();
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    expect(textOf(page.text, 'page-title') ?? page.text).toContain('Unregistered return address');
    expect(page.text).not.toContain('evil.example');
    expect(page.text).not.toMatch(/at \w+ \(|node_modules/);
  });

  it('for an unknown client, in Dutch when the browser prefers it', async () => {
    const page = await new Browser(service.url, { headers: { 'accept-language': 'nl-NL,nl;q=0.9,en;q=0.5' } }).get(
      authorizeUrl({ client_id: '00000000-0000-0000-0000-000000000000' }),
    );
    expect(page.status).toBe(400);
    expect(page.location).toBeUndefined();
    expect(excerpt(page.text)).toContain('Onbekende toepassing');
    expect(page.text).toContain('<html lang="nl">');
  });

  it('for a request without a client', async () => {
    const page = await new Browser(service.url).get(
      `/oauth/authorize?${new URLSearchParams({ redirect_uri: ENTRA_REDIRECT_URI, response_type: 'code' })}`,
    );
    expect(page.status).toBe(400);
    expect(page.location).toBeUndefined();
    expect(excerpt(page.text)).toContain('This request cannot be handled');
    expect(excerpt(page.text)).toContain('client_id');
  });

  it('a malformed request from a known client goes back to its registered redirect URI as an OAuth error with the state', async () => {
    const seeded = await seedTenant(service.store);
    const page = await new Browser(service.url).get(authorizeUrl({ client_id: seeded.client.clientId, prompt: 'bogus' }));
    expect([302, 303], page.location).toContain(page.status);
    const location = new URL(page.location!);
    expect(`${location.origin}${location.pathname}`).toBe(ENTRA_REDIRECT_URI);
    expect(location.searchParams.get('state')).toBe('xyz');
    expect(location.searchParams.get('error')).toBe('invalid_request');
  });
});

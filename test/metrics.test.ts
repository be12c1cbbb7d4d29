import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { goToDomain, refresh, seedTenant, signIn, startAuthorize } from './support/authorize.ts';
import { provisioningTenant, type ScimTenant } from './support/scim.ts';
import { startService, type TestService } from './support/service.ts';

function sample(text: string, name: string, labels: Record<string, string>): number {
  const wanted = Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .sort();
  for (const line of text.split('\n')) {
    const match = /^(\w+)\{([^}]*)\} (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const got = match[2].split(/,(?=\w+=)/).sort();
    if (wanted.every((pair) => got.includes(pair))) return Number(match[3]);
  }
  return 0;
}

describe('/metrics', () => {
  let service: TestService;
  let tenant: ScimTenant;

  beforeAll(async () => {
    service = await startService();
    tenant = await provisioningTenant(service);
  });
  afterAll(async () => {
    await service?.stop();
  });

  async function metrics(headers: Record<string, string> = {}) {
    const response = await fetch(`${service.url}/metrics`, { headers });
    return { status: response.status, type: response.headers.get('content-type'), text: await response.text() };
  }

  it('counts SCIM requests, token grants and sign-in outcomes in Prometheus text format, by route and never by raw path', async () => {
    const before = await metrics();
    expect(before.status).toBe(200);
    expect(before.type).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(before.text).toContain('process_resident_memory_bytes');
    expect(before.text).toContain('nodejs_eventloop_lag_seconds');
    expect(sample(before.text, 'securelogin_token_grants_total', { grant_type: 'authorization_code', outcome: 'success' })).toBe(1);

    const created = await tenant.scim.post('/Users', {
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
      userName: 'metrics@example.com',
    });
    expect(created.status).toBe(201);
    const id = (created.body as { id: string }).id;
    expect((await tenant.scim.get(`/Users/${id}`)).status).toBe(200);
    expect((await tenant.scim.get('/Users/00000000-0000-0000-0000-000000000000')).status).toBe(404);

    const refreshed = await refresh(service, { ...tenant.seeded.client, refreshToken: tenant.tokens.refresh_token });
    expect(refreshed.status).toBe(200);
    const replay = await refresh(service, { ...tenant.seeded.client, clientSecret: 'wrong', refreshToken: tenant.tokens.refresh_token });
    expect(replay.status).toBe(401);

    const { browser, page } = await startAuthorize(service, { clientId: tenant.seeded.client.clientId });
    const login = await goToDomain(browser, page, tenant.seeded.domain);
    const wrong = await signIn(browser, login, tenant.seeded.manager.username, 'not the password at all');
    expect(wrong.status).toBe(400);

    const after = (await metrics()).text;
    expect(sample(after, 'securelogin_http_requests_total', { route: 'scim_users', method: 'POST', status: '201' })).toBe(1);
    expect(sample(after, 'securelogin_http_requests_total', { route: 'scim_users', method: 'GET', status: '200' })).toBe(1);
    expect(sample(after, 'securelogin_http_requests_total', { route: 'scim_users', method: 'GET', status: '404' })).toBe(1);
    expect(sample(after, 'securelogin_token_grants_total', { grant_type: 'refresh_token', outcome: 'success' })).toBe(1);
    expect(sample(after, 'securelogin_token_grants_total', { grant_type: 'refresh_token', outcome: 'invalid_client' })).toBe(1);
    expect(sample(after, 'securelogin_sign_ins_total', { outcome: 'wrong_credentials' })).toBe(1);
    expect(sample(after, 'securelogin_sign_ins_total', { outcome: 'signed_in' })).toBe(1);
    expect(sample(after, 'securelogin_http_request_duration_seconds_count', { route: 'scim_users' })).toBe(3);
    // No user id, interaction id or domain ever becomes a label value.
    expect(after).not.toContain(id);
    expect(after).not.toContain(tenant.seeded.domain);
    expect(after).not.toMatch(/route="\/[^"]*"/);
  });
});

describe('/metrics with METRICS_TOKEN', () => {
  let service: TestService;
  beforeAll(async () => {
    service = await startService({ METRICS_TOKEN: 'a-long-scrape-token-123' });
    await seedTenant(service.store);
  });
  afterAll(async () => {
    await service?.stop();
  });

  it('answers only a scraper that sends the token', async () => {
    expect((await fetch(`${service.url}/metrics`)).status).toBe(401);
    expect((await fetch(`${service.url}/metrics`, { headers: { Authorization: 'Bearer a-long-scrape-token-12' } })).status).toBe(401);
    const ok = await fetch(`${service.url}/metrics`, { headers: { Authorization: 'Bearer a-long-scrape-token-123' } });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain('securelogin_http_requests_total');
  });
});

import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { type ActivityEntry, classify, createRecorder, judge, type Outcomes } from '../server/activity/index.ts';
import { createLogger } from '../server/log.ts';
import { openStore } from '../server/store/index.ts';
import { eventually } from './support/eventually.ts';
import { eachBackend, eachStore, entraUser, provisioningTenant } from './support/scim.ts';
import { tempDataDir } from './support/service.ts';

/*
 * The SCIM activity record: each request in words, with its resource and
 * outcome and the names (never the values) of what it changed; written off
 * the request path and pruned after the retention. And the health verdict
 * judged from it, with the clock passed in.
 */

const PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const patch = (...Operations: unknown[]) => ({ schemas: [PATCH], Operations });

describe('a SCIM request in words', () => {
  const facts = (method: string, path: string, rest: Partial<Parameters<typeof classify>[0]> = {}) =>
    classify({ method, path, filter: undefined, body: undefined, answer: undefined, status: 200, ...rest });

  it("Entra's Test Connection is a userName filter on a new GUID that finds nobody", () => {
    const filter = `userName eq "${randomUUID()}"`;
    expect(facts('GET', '/Users', { filter, answer: { totalResults: 0 } }).operation).toBe('test_connection');
    expect(facts('GET', '/Users', { filter, answer: { totalResults: 1 } }).operation).toBe('list_users');
    expect(facts('GET', '/Users', { filter: 'userName eq "ada@example.com"', answer: { totalResults: 0 } }).operation).toBe('list_users');
  });

  it('creating, reading and deleting name the resource', () => {
    const created = facts('POST', '/Users', {
      status: 201,
      body: entraUser('ada@example.com'),
      answer: { id: 'u1', userName: 'ada@example.com' },
    });
    expect(created).toMatchObject({ operation: 'create_user', resourceType: 'User', resourceId: 'u1', resourceName: 'ada@example.com' });
    expect(created.attributes).toEqual(expect.arrayContaining(['userName', 'emails', 'name', 'active']));
    expect(facts('GET', '/Groups/g1').operation).toBe('read_group');
    expect(facts('DELETE', '/Users/u1', { status: 204 })).toMatchObject({ operation: 'delete_user', resourceId: 'u1' });
    expect(facts('GET', '/ServiceProviderConfig').operation).toBe('other');
  });

  it('a PATCH that sets active to false disables the user, in any of the forms Entra sends', () => {
    expect(facts('PATCH', '/Users/u1', { body: patch({ op: 'Replace', path: 'active', value: 'False' }) }).operation).toBe('disable_user');
    expect(facts('PATCH', '/Users/u1', { body: patch({ op: 'replace', value: { active: false, displayName: 'X' } }) }).operation).toBe(
      'disable_user',
    );
    expect(facts('PATCH', '/Users/u1', { body: patch({ op: 'replace', path: 'active', value: true }) }).operation).toBe('enable_user');
    const update = facts('PATCH', '/Users/u1', {
      body: patch(
        { op: 'replace', path: 'emails[type eq "work"].value', value: 'secret@example.com' },
        { op: 'add', path: 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager', value: 'm1' },
      ),
    });
    expect(update).toMatchObject({ operation: 'update_user', attributes: ['emails', 'manager'] });
    expect(JSON.stringify(update)).not.toContain('secret@example.com');
  });

  it('member changes of a group are counted', () => {
    const added = facts('PATCH', '/Groups/g1', {
      status: 204,
      body: patch({ op: 'Add', path: 'members', value: [{ value: 'a' }, { value: 'b' }, { value: 'c' }] }),
    });
    expect(added).toMatchObject({ operation: 'add_members', memberCount: 3 });
    const removed = facts('PATCH', '/Groups/g1', { status: 204, body: patch({ op: 'Remove', path: 'members[value eq "a"]' }) });
    expect(removed).toMatchObject({ operation: 'remove_members', memberCount: 1 });
    const renamed = facts('PATCH', '/Groups/g1', { status: 204, body: patch({ op: 'Replace', path: 'displayName', value: 'New' }) });
    expect(renamed).toMatchObject({ operation: 'update_group', attributes: ['displayName'] });
  });

  it('an error keeps its status, scimType and the detail we answered', () => {
    const refused = facts('POST', '/Users', {
      status: 409,
      body: entraUser('ada@example.com'),
      answer: { status: '409', scimType: 'uniqueness', detail: 'a user with this userName exists' },
    });
    expect(refused).toMatchObject({
      operation: 'create_user',
      scimType: 'uniqueness',
      detail: 'a user with this userName exists',
      resourceId: null,
    });
  });
});

describe("a connection's health", () => {
  const now = Date.parse('2026-12-04T12:00:00Z');
  const minutesAgo = (m: number) => new Date(now - m * 60_000).toISOString();
  const outcomes = (o: Partial<Outcomes> = {}): Outcomes => ({
    total: 40,
    ok: 40,
    unauthorized: 0,
    clientErrors: {},
    serverErrors: 0,
    filterNotFound: 0,
    ...o,
  });
  const base = { revokedAt: null, grantAlive: true, managerActive: true, lastRequestAt: minutesAgo(10), last24h: outcomes() };

  it('is healthy with recent cycles and few failures', () => {
    expect(judge(base, now)).toMatchObject({ verdict: 'healthy', reasons: ['recent_cycles'] });
    expect(judge({ ...base, last24h: outcomes({ ok: 36, clientErrors: { uniqueness: 4 } }) }, now).verdict).toBe('healthy');
    expect(judge({ ...base, lastRequestAt: null, last24h: outcomes({ total: 0, ok: 0 }) }, now).reasons).toEqual(['awaiting_first_cycle']);
  });

  it('is at risk above a 20% failure ratio, with any 401, with 404s on queries, or when the manager is gone', () => {
    expect(judge({ ...base, last24h: outcomes({ ok: 30, serverErrors: 10 }) }, now)).toMatchObject({
      verdict: 'at_risk',
      reasons: ['failure_ratio'],
    });
    expect(judge({ ...base, last24h: outcomes({ ok: 39, unauthorized: 1 }) }, now).reasons).toEqual(['unauthorized']);
    expect(judge({ ...base, last24h: outcomes({ ok: 39, clientErrors: { '404': 1 }, filterNotFound: 1 }) }, now).reasons).toEqual([
      'filter_not_found',
    ]);
    expect(judge({ ...base, managerActive: false }, now).reasons).toEqual(['manager_inactive']);
  });

  it('is silent after two cycles without a request, and revoked once ended', () => {
    expect(judge({ ...base, lastRequestAt: minutesAgo(79) }, now).verdict).toBe('healthy');
    expect(judge({ ...base, lastRequestAt: minutesAgo(81) }, now)).toMatchObject({ verdict: 'silent', reasons: ['silent'] });
    expect(judge({ ...base, revokedAt: minutesAgo(1) }, now)).toMatchObject({ verdict: 'revoked', reasons: ['revoked'] });
    expect(judge({ ...base, grantAlive: false }, now)).toMatchObject({ verdict: 'revoked', reasons: ['ended'] });
  });
});

function entry(tenantId: string, at: string): ActivityEntry {
  return {
    id: randomUUID(),
    tenantId,
    at,
    grantId: 'g',
    clientId: 'c',
    requestId: randomUUID(),
    method: 'GET',
    operation: 'list_users',
    memberCount: null,
    resourceType: 'User',
    resourceId: null,
    resourceName: null,
    status: 200,
    scimType: null,
    detail: null,
    attributes: [],
  };
}

eachStore('the activity record keeps ACTIVITY_RETENTION_DAYS', (store) => {
  it('prunes entries older than the retention and keeps the rest', async () => {
    const now = Date.now();
    const tenantId = randomUUID();
    const recorder = createRecorder({ db: store().db, log: createLogger('silent'), retentionDays: 90 }, { clock: () => now });
    for (let i = 0; i < 1_200; i++) recorder.record(entry(tenantId, new Date(now - 91 * 86_400_000).toISOString()));
    recorder.record(entry(tenantId, new Date(now - 89 * 86_400_000).toISOString()));
    await recorder.flush();
    expect(await recorder.prune()).toBe(1_200);
    const left = await store().db.selectFrom('scim_activity').select('at').where('tenant_id', '=', tenantId).execute();
    expect(left).toHaveLength(1);
    await recorder.close();
  });
});

describe('a store that does not answer', () => {
  it('never makes recording fail or wait', async () => {
    const store = await openStore({ dataDir: tempDataDir(), databaseUrl: undefined });
    await store.close();
    const recorder = createRecorder({ db: store.db, log: createLogger('silent'), retentionDays: 90 });
    expect(() => recorder.record(entry(randomUUID(), new Date().toISOString()))).not.toThrow();
    await expect(recorder.flush()).resolves.toBeUndefined();
    await recorder.close();
  });
});

eachBackend('the activity of an Entra cycle over SCIM', (service) => {
  it('is recorded with the right operation words, resources and outcomes, and no values', async () => {
    const tenant = await provisioningTenant(service());
    const { scim } = tenant;
    await scim.get(`/Users?filter=${encodeURIComponent(`userName eq "${randomUUID()}"`)}`);
    const ada = await scim.post('/Users', entraUser('ada@example.com', { name: { givenName: 'Adaline', familyName: 'Lovelace' } }));
    const grace = await scim.post('/Users', entraUser('grace@example.com'));
    expect((await scim.post('/Users', entraUser('ada@example.com'))).status).toBe(409);
    const group = await scim.post('/Groups', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: 'Engineering' });
    await scim.patch(
      `/Groups/${group.body.id}`,
      patch({ op: 'Add', path: 'members', value: [{ value: ada.body.id }, { value: grace.body.id }] }),
    );
    await scim.patch(`/Users/${grace.body.id}`, patch({ op: 'Replace', path: 'active', value: 'False' }));
    await scim.patch(`/Users/${ada.body.id}`, patch({ op: 'Replace', path: 'name.familyName', value: 'Byron' }));
    await scim.delete(`/Users/${grace.body.id}`);

    const rows = () =>
      service()
        .store.db.selectFrom('scim_activity')
        .selectAll()
        .where('tenant_id', '=', tenant.seeded.tenantId)
        .orderBy('at')
        .orderBy('id')
        .execute();
    await eventually('the record is written', async () => (await rows()).length === 9);
    const recorded = (await rows()).sort((a, b) => a.at.localeCompare(b.at));
    const byOperation = (operation: string) => recorded.filter((r) => r.operation === operation);
    expect(recorded.map((r) => r.operation).sort()).toEqual(
      [
        'test_connection',
        'create_user',
        'create_user',
        'create_user',
        'create_group',
        'add_members',
        'disable_user',
        'update_user',
        'delete_user',
      ].sort(),
    );
    expect(byOperation('add_members')[0]).toMatchObject({
      member_count: 2,
      resource_type: 'Group',
      resource_id: group.body.id,
      status: 204,
    });
    expect(byOperation('disable_user')[0]).toMatchObject({ resource_id: grace.body.id, attributes: 'active', status: 200 });
    expect(byOperation('update_user')[0]).toMatchObject({ attributes: 'name' });
    const conflict = byOperation('create_user').find((r) => r.status === 409)!;
    expect(conflict).toMatchObject({ scim_type: 'uniqueness', resource_name: 'ada@example.com' });
    for (const row of recorded) {
      expect(row.grant_id).toBeTruthy();
      expect(row.client_id).toBe(tenant.seeded.client.clientId);
      expect(row.request_id).toBeTruthy();
    }
    const everything = JSON.stringify(recorded);
    for (const value of ['Adaline', 'Lovelace', 'Byron', 'Given Family']) expect(everything).not.toContain(value);
  });
});

import { beforeAll, expect, it } from 'vitest';
import { eachBackend, entraUser, provisioningTenant, type ScimClient } from './support/scim.ts';
import type { TestService } from './support/service.ts';

/*
 * Each token is confined to its tenant: a token of tenant A, given B's ids,
 * filters and PATCHes, reads and changes nothing of B. And a userName is
 * unique per tenant even when Entra sends the same create fifty times at once.
 */

eachBackend('tenant isolation', (service) => {
  let a: ScimClient;
  let b: ScimClient;
  const bIds: Record<string, string> = {};

  const snapshot = async () => {
    const db = service().store.db;
    const tenantOf = async (id: string) =>
      (await db.selectFrom('users').select('tenant_id').where('id', '=', id).executeTakeFirstOrThrow()).tenant_id;
    const tenantId = await tenantOf(bIds.user);
    return {
      users: await db.selectFrom('users').selectAll().where('tenant_id', '=', tenantId).orderBy('id').execute(),
      groups: await db.selectFrom('groups').selectAll().where('tenant_id', '=', tenantId).orderBy('id').execute(),
      memberships: await db.selectFrom('memberships').selectAll().where('tenant_id', '=', tenantId).orderBy('user_id').execute(),
    };
  };

  beforeAll(async () => {
    a = (await provisioningTenant(service() as TestService)).scim;
    b = (await provisioningTenant(service() as TestService)).scim;
    const user = await b.post('/Users', entraUser('bea@tenant-b.example'));
    bIds.user = user.body.id;
    const group = await b.post('/Groups', { displayName: 'B team', externalId: 'b-team', members: [{ value: bIds.user }] });
    bIds.group = group.body.id;
  });

  it("A's token cannot read B's users or groups by id", async () => {
    for (const path of [`/Users/${bIds.user}`, `/Groups/${bIds.group}`, `/Groups/${bIds.group}?excludedAttributes=members`]) {
      const response = await a.get(path);
      expect(response.status, path).toBe(404);
      expect(response.text).not.toContain('bea@tenant-b.example');
    }
  });

  it("A's filters and lists never return B's resources", async () => {
    const queries = [
      '/Users',
      '/Users?filter=userName eq "bea@tenant-b.example"',
      `/Users?filter=id eq "${bIds.user}"`,
      '/Users?filter=emails[type eq "work"].value eq "bea@tenant-b.example"',
      '/Users?filter=externalId eq "bea"',
      `/Users?filter=groups eq "${bIds.group}"`,
      '/Groups',
      '/Groups?filter=displayName eq "B team"',
      `/Groups?filter=members eq "${bIds.user}"`,
      '/Groups?filter=externalId eq "b-team"',
    ];
    for (const query of queries) {
      const response = await a.get(query);
      expect(response.status, query).toBe(200);
      expect(response.text, query).not.toContain(bIds.user);
      expect(response.text, query).not.toContain(bIds.group);
    }
    const search = await a.post('/Users/.search', { filter: 'userName sw "bea"' });
    expect(search.body.totalResults).toBe(0);
  });

  it("A's writes to B's ids are 404 and change nothing; B's users cannot join A's groups", async () => {
    const before = await snapshot();
    const attempts = [
      a.patch(`/Users/${bIds.user}`, { Operations: [{ op: 'replace', path: 'active', value: false }] }),
      a.put(`/Users/${bIds.user}`, { userName: 'taken-over@tenant-a.example' }),
      a.delete(`/Users/${bIds.user}`),
      a.patch(`/Groups/${bIds.group}`, { Operations: [{ op: 'remove', path: 'members' }] }),
      a.patch(`/Groups/${bIds.group}`, { Operations: [{ op: 'replace', path: 'displayName', value: 'Mine now' }] }),
      a.put(`/Groups/${bIds.group}`, { displayName: 'Mine now', members: [] }),
      a.delete(`/Groups/${bIds.group}`),
    ];
    for (const response of await Promise.all(attempts)) expect(response.status, response.text).toBe(404);

    const own = await a.post('/Groups', { displayName: 'A team' });
    const join = await a.patch(`/Groups/${own.body.id}`, { Operations: [{ op: 'Add', path: 'members', value: [{ value: bIds.user }] }] });
    expect(join.status).toBe(400);
    expect(join.body).toMatchObject({ scimType: 'invalidValue' });
    expect(join.body.detail).toContain(bIds.user);
    const create = await a.post('/Groups', { displayName: 'A team 2', members: [{ value: bIds.user }] });
    expect(create.status).toBe(400);

    expect(await snapshot()).toEqual(before);
  });

  it('the same userName and group name may exist in two tenants', async () => {
    expect((await a.post('/Users', entraUser('bea@tenant-b.example'))).status).toBe(201);
    expect((await a.post('/Groups', { displayName: 'B team' })).status).toBe(201);
    expect((await b.get('/Users?filter=userName eq "bea@tenant-b.example"')).body.Resources[0].id).toBe(bIds.user);
  });
});

eachBackend('concurrent creates', (service) => {
  it('50 concurrent creates of one userName: exactly one 201, the rest 409 uniqueness, one row', async () => {
    const { scim, seeded } = await provisioningTenant(service() as TestService);
    const responses = await Promise.all(
      Array.from({ length: 50 }, (_, i) => scim.post('/Users', entraUser(i % 2 ? 'race@example.com' : 'RACE@example.com'))),
    );
    const statuses = responses.map((r) => r.status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(1);
    expect(statuses.filter((s) => s === 409)).toHaveLength(49);
    for (const response of responses.filter((r) => r.status === 409)) expect(response.body.scimType).toBe('uniqueness');
    const rows = await service()
      .store.db.selectFrom('users')
      .select('id')
      .where('tenant_id', '=', seeded.tenantId)
      .where((eb) => eb(eb.fn('lower', ['user_name']), '=', 'race@example.com'))
      .execute();
    expect(rows).toHaveLength(1);
  });

  it('concurrent PATCHes of one user each land: none is lost', async () => {
    const { scim } = await provisioningTenant(service() as TestService);
    const user = (await scim.post('/Users', entraUser('busy@example.com'))).body;
    const responses = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        scim.patch(`/Users/${user.id}`, {
          Operations: [{ op: 'add', path: 'emails', value: [{ type: `t${i}`, value: `e${i}@example.com` }] }],
        }),
      ),
    );
    for (const response of responses) expect(response.status, response.text).toBe(200);
    const after = (await scim.get(`/Users/${user.id}`)).body;
    expect(after.emails).toHaveLength(21);
    expect(after.meta.version).toBe('W/"21"');
  });
});

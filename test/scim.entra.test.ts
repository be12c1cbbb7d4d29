import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, expect, it } from 'vitest';
import { readJson } from '../server/store/index.ts';
import { eachBackend, entraUser, provisioningTenant, type ScimClient, type ScimResponse } from './support/scim.ts';
import type { TestService } from './support/service.ts';

/*
 * A provisioning cycle made of the exact requests Entra sends, as Microsoft
 * documents them (test/fixtures/entra), replayed over HTTP with a token from
 * the real Authorize flow. Each step checks the answer Entra relies on and
 * what the store holds afterwards.
 */

const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures/entra');

interface Fixture {
  source: string;
  request: { method: string; path: string; body?: unknown };
  /** Documented ids (or {role} placeholders) that stand for resources this server created. */
  ids?: Record<string, string>;
  documentedResponse: { status: number };
}

function fixture(name: string): Fixture {
  return JSON.parse(fs.readFileSync(path.join(FIXTURES, `${name}.json`), 'utf8')) as Fixture;
}

/** The fixture's request with Microsoft's example ids swapped for the ids this server gave out. */
async function replay(scim: ScimClient, name: string, ids: Record<string, string> = {}): Promise<ScimResponse> {
  const { request, ids: roles = {} } = fixture(name);
  let text = JSON.stringify({ path: request.path, body: request.body });
  for (const [documented, role] of Object.entries(roles)) text = text.replaceAll(documented, ids[role] ?? documented);
  for (const [role, id] of Object.entries(ids)) text = text.replaceAll(`{${role}}`, id);
  const { path: target, body } = JSON.parse(text) as { path: string; body?: unknown };
  const response = await scim.request(request.method, target, body);
  // Every answer with a body is SCIM's media type; a 204 has none to name.
  if (response.status === 204) expect(response.headers.get('content-type'), name).toBeNull();
  else expect(response.headers.get('content-type'), `${name}: ${response.text}`).toMatch(/^application\/scim\+json/);
  return response;
}

eachBackend('Entra replay: a provisioning cycle from Microsoft documented requests', (service) => {
  let scim: ScimClient;
  let tenantId: string;
  const ids: Record<string, string> = {};
  const db = () => service().store.db;
  const userRow = (id: string) => db().selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
  const groupRow = (id: string) => db().selectFrom('groups').selectAll().where('id', '=', id).executeTakeFirst();
  const memberIds = async (groupId: string) =>
    (await db().selectFrom('memberships').select('user_id').where('group_id', '=', groupId).orderBy('user_id').execute()).map(
      (m) => m.user_id,
    );

  beforeAll(async () => {
    const tenant = await provisioningTenant(service() as TestService);
    scim = tenant.scim;
    tenantId = tenant.seeded.tenantId;
  });

  it('Test Connection: a random GUID as userName answers 200 with an empty ListResponse', async () => {
    const response = await replay(scim, '01-test-connection');
    expect(response.status).toBe(200);
    expect(response.body).toEqual({
      schemas: ['urn:ietf:params:scim:api:messages:2.0:ListResponse'],
      totalResults: 0,
      startIndex: 1,
      itemsPerPage: 0,
      Resources: [],
    });
  });

  it('Create User: 201 with Location, the user and meta; the store holds the user as sent, as a member', async () => {
    const response = await replay(scim, '02-create-user');
    expect(response.status).toBe(201);
    const user = response.body;
    ids.user = user.id;
    expect(response.headers.get('location')).toBe(user.meta.location);
    expect(user.meta.location).toBe(`${service().url}/scim/v2/Users/${user.id}`);
    expect(response.headers.get('etag')).toBe('W/"1"');
    expect(user).toMatchObject({
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
      externalId: '0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef',
      userName: 'Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee',
      active: true,
      emails: [{ primary: true, type: 'work', value: 'Test_User_11bb11bb-cc22-dd33-ee44-55ff55ff55ff@testuser.com' }],
      name: { formatted: 'givenName familyName', familyName: 'familyName', givenName: 'givenName' },
      meta: { resourceType: 'User', version: 'W/"1"' },
    });
    expect(user.meta.created).toBe(user.meta.lastModified);
    expect(Date.parse(user.meta.created)).not.toBeNaN();

    const row = await userRow(user.id);
    expect(row).toMatchObject({
      tenant_id: tenantId,
      user_name: 'Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee',
      external_id: '0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef',
      work_email: 'Test_User_11bb11bb-cc22-dd33-ee44-55ff55ff55ff@testuser.com',
      active: 1,
      role: 'member',
      password_hash: null,
      version: 1,
    });
    expect(readJson<Record<string, unknown>>(row!.attributes)).toMatchObject({
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:User', 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User'],
      name: { formatted: 'givenName familyName', familyName: 'familyName', givenName: 'givenName' },
    });
  });

  it('the same userName again, in any case, is 409 uniqueness and stores nothing', async () => {
    for (const userName of ['Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee', 'TEST_USER_00AA00AA-BB11-CC22-DD33-44EE44EE44EE']) {
      const response = await scim.post('/Users', { ...(fixture('02-create-user').request.body as object), userName });
      expect(response.status).toBe(409);
      expect(response.body).toMatchObject({ scimType: 'uniqueness', status: '409' });
    }
    const rows = await db().selectFrom('users').select('id').where('tenant_id', '=', tenantId).where('role', '=', 'member').execute();
    expect(rows).toHaveLength(1);
  });

  it('Get User by id, and 404 with an error body for an unknown id', async () => {
    const found = await replay(scim, '03-get-user', ids);
    expect(found.status).toBe(200);
    expect(found.body).toMatchObject({ id: ids.user, userName: 'Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee' });

    const missing = await replay(scim, '04-get-user-not-found');
    expect(missing.status).toBe(404);
    expect(missing.body).toMatchObject({ schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: '404' });
  });

  it('Get User by query finds the user; a name nobody has gives zero results', async () => {
    const found = await replay(scim, '05-get-user-by-query');
    expect(found.status).toBe(200);
    expect(found.body).toMatchObject({ totalResults: 1, startIndex: 1, itemsPerPage: 1 });
    expect(found.body.Resources.map((r: { id: string }) => r.id)).toEqual([ids.user]);

    const none = await replay(scim, '06-get-user-by-query-zero-results');
    expect(none.status).toBe(200);
    expect(none.body).toMatchObject({ totalResults: 0, Resources: [] });
  });

  it('Update User [multi-valued]: the work email and familyName change; the rest stays', async () => {
    const response = await replay(scim, '07-update-user-multi-valued', ids);
    expect(response.status).toBe(200);
    expect(response.body.emails).toEqual([{ primary: true, type: 'work', value: 'updatedEmail@microsoft.com' }]);
    expect(response.body.name).toEqual({ formatted: 'givenName familyName', familyName: 'updatedFamilyName', givenName: 'givenName' });
    expect(response.body.meta.version).toBe('W/"2"');
    expect((await userRow(ids.user))!.work_email).toBe('updatedEmail@microsoft.com');

    const byEmail = await scim.get('/Users?filter=emails[type eq "work"].value eq "UPDATEDEMAIL@microsoft.com"');
    expect(byEmail.body.Resources.map((r: { id: string }) => r.id)).toEqual([ids.user]);
  });

  it('Add of a single-valued attribute, without and with aadOptscim062020', async () => {
    for (const name of ['22-add-single-value-without-flag', '23-add-single-value-with-flag']) {
      const response = await replay(scim, name, ids);
      expect(response.status).toBe(200);
      expect(response.body.nickName).toBe('Babs');
    }
    expect(readJson<Record<string, unknown>>((await userRow(ids.user))!.attributes).nickName).toBe('Babs');
  });

  it('Replace of several attributes, one operation per path (without the flag)', async () => {
    const response = await replay(scim, '24-replace-multiple-without-flag', ids);
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({
      displayName: 'Pvlo',
      externalId: 'Eqpj',
      name: { givenName: 'Gtfd', familyName: 'Pkqf', formatted: 'givenName familyName' },
      emails: [{ type: 'work', value: 'TestBcwqnm@test.microsoft.com', primary: true }],
      'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User': { employeeNumber: 'Eqpj' },
    });
    expect(response.body.schemas).toEqual([
      'urn:ietf:params:scim:schemas:core:2.0:User',
      'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User',
    ]);
    const row = await userRow(ids.user);
    expect(row).toMatchObject({ display_name: 'Pvlo', external_id: 'Eqpj', work_email: 'TestBcwqnm@test.microsoft.com' });
  });

  it('Replace with the flag: a value path, and a path-less value with dotted and schema-URN keys', async () => {
    const response = await replay(scim, '25-replace-multiple-with-flag', ids);
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({
      displayName: 'Bjfe',
      name: { givenName: 'Kkom', familyName: 'Unua' },
      emails: [{ type: 'work', value: 'TestMhvaes@test.microsoft.com' }],
      'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User': { employeeNumber: 'Aklq' },
    });
    const attributes = readJson<Record<string, unknown>>((await userRow(ids.user))!.attributes);
    // Dotted keys land in the attributes they name, not as keys of their own.
    expect(Object.keys(attributes).filter((k) => k.includes('.') && !k.startsWith('urn:'))).toEqual([]);
    expect(attributes['urn:ietf:params:scim:schemas:extension:enterprise:2.0:User']).toEqual({ employeeNumber: 'Aklq' });
  });

  it('the work email of a user who had none is added by the value-path replace', async () => {
    const created = await scim.post('/Users', { ...entraUser('noemail@testuser.com'), emails: undefined });
    expect(created.status).toBe(201);
    expect(created.body.emails).toBeUndefined();
    const response = await replay(scim, '25-replace-multiple-with-flag', { user: created.body.id });
    expect(response.status).toBe(200);
    expect(response.body.emails).toEqual([{ type: 'work', value: 'TestMhvaes@test.microsoft.com' }]);
    expect((await userRow(created.body.id))!.work_email).toBe('TestMhvaes@test.microsoft.com');
  });

  it('Update User [single-valued]: a new userName; the old one no longer matches', async () => {
    const response = await replay(scim, '08-update-user-single-valued', ids);
    expect(response.status).toBe(200);
    expect(response.body.userName).toBe('5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com');
    expect((await userRow(ids.user))!.user_name).toBe('5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com');
    expect((await replay(scim, '05-get-user-by-query')).body.totalResults).toBe(0);
  });

  it('Disable: "False" without the flag, false with it; active 0 in the store each time', async () => {
    const withoutFlag = await replay(scim, '20-disable-user-without-flag', ids);
    expect(withoutFlag.status).toBe(200);
    expect(withoutFlag.body.active).toBe(false);
    expect((await userRow(ids.user))!.active).toBe(0);

    const enabled = await scim.patch(`/Users/${ids.user}`, { Operations: [{ op: 'Replace', path: 'active', value: 'True' }] });
    expect(enabled.body.active).toBe(true);
    expect((await userRow(ids.user))!.active).toBe(1);

    const withFlag = await replay(scim, '21-disable-user-with-flag', ids);
    expect(withFlag.status).toBe(200);
    expect(withFlag.body.active).toBe(false);
    expect((await userRow(ids.user))!.active).toBe(0);

    const documented = await replay(scim, '09-disable-user', ids);
    expect(documented.status).toBe(200);
    expect(documented.body.active).toBe(false);
    const list = await scim.get('/Users?filter=active eq false');
    expect(list.body.Resources.map((r: { id: string }) => r.id)).toContain(ids.user);
  });

  it("Microsoft's sample-code requests: nulls are not stored, an unquoted filter value, a manager reference kept as sent", async () => {
    const created = await replay(scim, '31-provision-user-with-nulls');
    expect(created.status).toBe(201);
    ids.joy = created.body.id;
    expect(created.body).toMatchObject({ userName: 'jyoung@testuser.com', displayName: 'Joy Young', externalId: 'jyoung' });
    const attributes = readJson<Record<string, unknown>>((await userRow(ids.joy))!.attributes);
    for (const name of ['addresses', 'phoneNumbers', 'preferredLanguage', 'title', 'department', 'manager']) {
      expect(attributes, name).not.toHaveProperty(name);
    }
    expect((await userRow(ids.joy))!.work_email).toBe('jyoung@Contoso.com');

    const query = await replay(scim, '30-query-by-external-id');
    expect(query.status).toBe(200);
    expect(query.body.Resources.map((r: { id: string }) => r.id)).toEqual([ids.joy]);

    const manager = await replay(scim, '32-update-manager', { user: ids.joy });
    expect(manager.status).toBe(200);
    expect(manager.body.manager).toEqual([
      { $ref: 'http://.../scim/Users/00aa00aa-bb11-cc22-dd33-44ee44ee44ee', value: '00aa00aa-bb11-cc22-dd33-44ee44ee44ee' },
    ]);
  });

  it('Create Group: 201; the store keeps the displayName, externalId and the schemas as sent', async () => {
    const response = await replay(scim, '11-create-group');
    expect(response.status).toBe(201);
    ids.group = response.body.id;
    expect(response.headers.get('location')).toBe(`${service().url}/scim/v2/Groups/${ids.group}`);
    expect(response.body).toMatchObject({
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'],
      displayName: 'displayName',
      externalId: '8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159',
      meta: { resourceType: 'Group', version: 'W/"1"' },
    });
    const row = await groupRow(ids.group);
    expect(row).toMatchObject({ tenant_id: tenantId, display_name: 'displayName', external_id: '8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159' });
    expect(readJson<Record<string, unknown>>(row!.attributes).schemas).toContain(
      'http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group',
    );
    const again = await replay(scim, '11-create-group');
    expect(again.status).toBe(409);
    expect(again.body.scimType).toBe('uniqueness');
  });

  it('Get Group and Get Group by displayName with excludedAttributes=members', async () => {
    ids.member = (await scim.post('/Users', entraUser('member.one@testuser.com'))).body.id;
    await scim.patch(`/Groups/${ids.group}`, { Operations: [{ op: 'Add', path: 'members', value: [{ value: ids.member }] }] });

    const one = await replay(scim, '12-get-group', ids);
    expect(one.status).toBe(200);
    expect(one.body).toMatchObject({ id: ids.group, displayName: 'displayName' });
    expect(one.body).not.toHaveProperty('members');

    const list = await replay(scim, '13-get-group-by-displayname');
    expect(list.status).toBe(200);
    expect(list.body.totalResults).toBe(1);
    expect(list.body.Resources[0]).toMatchObject({ id: ids.group });
    expect(list.body.Resources[0]).not.toHaveProperty('members');
  });

  it('Update Group [non-member attributes]: 204, the new displayName stored and found', async () => {
    const response = await replay(scim, '14-update-group-non-member-attributes', ids);
    expect(response.status).toBe(204);
    expect(response.text).toBe('');
    expect((await groupRow(ids.group))!.display_name).toBe('1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName');
    const found = await scim.get(
      '/Groups?filter=displayName eq "1879DB59-3bdf-4490-ad68-ab880a269474UPDATEDdisplayname"&excludedAttributes=members',
    );
    expect(found.body.Resources.map((r: { id: string }) => r.id)).toEqual([ids.group]);
  });

  it("Update Group [add / remove members] in both of Entra's remove forms; the memberships table follows", async () => {
    await scim.patch(`/Groups/${ids.group}`, { Operations: [{ op: 'Remove', path: 'members' }] });
    expect(await memberIds(ids.group)).toEqual([]);

    const added = await replay(scim, '15-update-group-add-members', ids);
    expect(added.status).toBe(204);
    expect(await memberIds(ids.group)).toEqual([ids.member]);
    const full = await scim.get(`/Groups/${ids.group}`);
    expect(full.body.members).toEqual([
      { value: ids.member, $ref: `${service().url}/scim/v2/Users/${ids.member}`, display: 'member.one@testuser.com', type: 'User' },
    ]);
    const user = await scim.get(`/Users/${ids.member}`);
    expect(user.body.groups).toEqual([
      {
        value: ids.group,
        $ref: `${service().url}/scim/v2/Groups/${ids.group}`,
        display: '1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName',
        type: 'direct',
      },
    ]);

    const removed = await replay(scim, '16-update-group-remove-members', ids);
    expect(removed.status).toBe(204);
    expect(await memberIds(ids.group)).toEqual([]);

    await replay(scim, '15-update-group-add-members', ids);
    const withoutFlag = await replay(scim, '26-remove-member-without-flag', ids);
    expect(withoutFlag.status).toBe(204);
    expect(await memberIds(ids.group)).toEqual([]);

    await replay(scim, '15-update-group-add-members', ids);
    const withFlag = await replay(scim, '27-remove-member-with-flag', ids);
    expect(withFlag.status).toBe(204);
    expect(await memberIds(ids.group)).toEqual([]);
  });

  it('removing all members, and replacing the member list', async () => {
    ids.second = (await scim.post('/Users', entraUser('member.two@testuser.com'))).body.id;
    await scim.patch(`/Groups/${ids.group}`, {
      Operations: [{ op: 'Add', path: 'members', value: [{ value: ids.member }, { value: ids.second }] }],
    });
    expect(await memberIds(ids.group)).toEqual([ids.member, ids.second].sort());

    const all = await replay(scim, '28-remove-all-members', ids);
    expect(all.status).toBe(204);
    expect(await memberIds(ids.group)).toEqual([]);

    await scim.patch(`/Groups/${ids.group}`, { Operations: [{ op: 'Add', path: 'members', value: [{ value: ids.member }] }] });
    const replaced = await replay(scim, '29-replace-members', { ...ids, member: ids.second });
    expect(replaced.status).toBe(204);
    expect(await memberIds(ids.group)).toEqual([ids.second]);
  });

  it('an unknown member id is 400 invalidValue naming it, and changes nothing', async () => {
    const before = await groupRow(ids.group);
    const response = await scim.patch(`/Groups/${ids.group}`, {
      Operations: [
        { op: 'Add', path: 'members', value: [{ value: ids.member }] },
        { op: 'Add', path: 'members', value: [{ value: 'no-such-user' }] },
      ],
    });
    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({ scimType: 'invalidValue', status: '400' });
    expect(response.body.detail).toContain('no-such-user');
    expect(await memberIds(ids.group)).toEqual([ids.second]);
    expect((await groupRow(ids.group))!.version).toBe(before!.version);
  });

  it('Delete User: 204, then 404; their memberships are gone', async () => {
    const response = await replay(scim, '10-delete-user', { user: ids.second });
    expect(response.status).toBe(204);
    expect((await scim.get(`/Users/${ids.second}`)).status).toBe(404);
    expect(await userRow(ids.second)).toBeUndefined();
    expect(await memberIds(ids.group)).toEqual([]);
  });

  it('Delete Group: 204, then 404; the users stay', async () => {
    await scim.patch(`/Groups/${ids.group}`, { Operations: [{ op: 'Add', path: 'members', value: [{ value: ids.member }] }] });
    const response = await replay(scim, '17-delete-group', ids);
    expect(response.status).toBe(204);
    expect((await scim.get(`/Groups/${ids.group}`)).status).toBe(404);
    expect(await memberIds(ids.group)).toEqual([]);
    expect(await userRow(ids.member)).toBeDefined();
  });

  it('Discover schema: User, the enterprise extension and Group', async () => {
    const response = await replay(scim, '18-discover-schema');
    expect(response.status).toBe(200);
    expect(response.body.Resources.map((s: { id: string }) => s.id)).toEqual([
      'urn:ietf:params:scim:schemas:core:2.0:User',
      'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User',
      'urn:ietf:params:scim:schemas:core:2.0:Group',
    ]);
  });

  it('every fixture is used by this replay, and each names its source', () => {
    const names = fs.readdirSync(FIXTURES).map((f) => f.replace(/\.json$/, ''));
    const source = fs.readFileSync(fileURLToPath(import.meta.url), 'utf8');
    for (const name of names) {
      expect(source, name).toContain(`'${name}'`);
      expect(fixture(name).source).toMatch(/^https:\/\//);
    }
  });
});

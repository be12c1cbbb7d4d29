import { beforeAll, describe, expect, it } from 'vitest';
import { readJson } from '../server/store/index.ts';
import { eachBackend, entraUser, provisioningTenant, type ScimClient, type ScimResponse } from './support/scim.ts';
import type { TestService } from './support/service.ts';

/*
 * What SCIM clients other than Entra's provisioning service send (Okta,
 * Microsoft's SCIM validator, OneLogin, scripts), accepted over real HTTP on
 * SQLite and on PostgreSQL, stored as sent and answered in strict RFC form:
 * several values of one type, core attributes under the core schema URN,
 * members as bare ids, unquoted date-times in filters, value filters in
 * `attributes`, and 204s without a media type.
 */

const CORE_USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const CORE_GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

function ok(response: ScimResponse, status = 200): any {
  expect(response.status, response.text).toBe(status);
  return response.body;
}

function refused(response: ScimResponse, scimType: string): void {
  expect(response.status, response.text).toBe(400);
  expect(response.body).toMatchObject({ status: '400', scimType });
}

const patchOf = (...operations: unknown[]) => ({ schemas: [PATCH_OP], Operations: operations });
const query = (filter: string) => `/Users?count=1000&filter=${encodeURIComponent(filter)}`;

eachBackend('lenient SCIM input', (service) => {
  let scim: ScimClient;
  const db = () => service().store.db;
  const userRow = (id: string) => db().selectFrom('users').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  const stored = async (id: string) => readJson<Record<string, any>>((await userRow(id)).attributes);
  const memberIds = async (groupId: string) =>
    (await db().selectFrom('memberships').select('user_id').where('group_id', '=', groupId).execute()).map((m) => m.user_id).sort();
  const createUser = async (userName: string, extra: Record<string, unknown> = {}) =>
    ok(await scim.post('/Users', entraUser(userName, extra)), 201);

  beforeAll(async () => {
    scim = (await provisioningTenant(service() as TestService)).scim;
  });

  describe('several values of one type', () => {
    const emails = [
      { type: 'work', value: 'first@work.example' },
      { type: 'home', value: 'me@home.example' },
      { type: 'work', value: 'second@work.example', primary: true },
    ];
    const phoneNumbers = [
      { type: 'mobile', value: '+31 6 1111' },
      { type: 'mobile', value: '+31 6 2222' },
    ];

    it('two work emails and two mobile numbers are accepted on POST and read back in order; work_email is the primary work email', async () => {
      const user = await createUser('two.types@example.com', { emails, phoneNumbers });
      expect(user.emails).toEqual(emails);
      expect(user.phoneNumbers).toEqual(phoneNumbers);
      expect(ok(await scim.get(`/Users/${user.id}`)).emails).toEqual(emails);
      expect((await stored(user.id)).emails).toEqual(emails);
      expect((await stored(user.id)).phoneNumbers).toEqual(phoneNumbers);
      expect((await userRow(user.id)).work_email).toBe('second@work.example');
      // Entra's matching query is answered from that column.
      const found = ok(await scim.get(query('emails[type eq "work"].value eq "second@work.example"')));
      expect(found.Resources.map((r: { id: string }) => r.id)).toEqual([user.id]);
    });

    it('without a primary work email, work_email is the first; PUT takes several of one type too', async () => {
      const unmarked = emails.map(({ primary: _, ...rest }) => rest);
      const user = await createUser('first.work@example.com', { emails: unmarked });
      expect((await userRow(user.id)).work_email).toBe('first@work.example');
      const replaced = ok(await scim.put(`/Users/${user.id}`, entraUser('first.work@example.com', { emails: [...unmarked].reverse() })));
      expect(replaced.emails).toEqual([...unmarked].reverse());
      expect((await stored(user.id)).emails).toEqual([...unmarked].reverse());
      expect((await userRow(user.id)).work_email).toBe('second@work.example');
    });

    it('a PATCH value-filter path applies to every value it matches: replace, add and remove', async () => {
      const user = await createUser('patch.types@example.com', { emails, phoneNumbers });
      const labelled = ok(
        await scim.patch(
          `/Users/${user.id}`,
          patchOf(
            { op: 'replace', path: 'phoneNumbers[type eq "mobile"].display', value: 'Mobile' },
            { op: 'add', path: 'emails[type eq "work"].display', value: 'Work' },
          ),
        ),
      );
      expect(labelled.phoneNumbers).toEqual(phoneNumbers.map((p) => ({ ...p, display: 'Mobile' })));
      expect(labelled.emails).toEqual([
        { type: 'work', value: 'first@work.example', display: 'Work' },
        { type: 'home', value: 'me@home.example' },
        { type: 'work', value: 'second@work.example', primary: true, display: 'Work' },
      ]);
      expect((await stored(user.id)).emails).toEqual(labelled.emails);

      const renamed = ok(
        await scim.patch(`/Users/${user.id}`, patchOf({ op: 'replace', path: 'emails[type eq "work"].value', value: 'same@work.example' })),
      );
      expect(renamed.emails.filter((e: { type: string }) => e.type === 'work').map((e: { value: string }) => e.value)).toEqual([
        'same@work.example',
        'same@work.example',
      ]);
      expect((await userRow(user.id)).work_email).toBe('same@work.example');

      const removed = ok(await scim.patch(`/Users/${user.id}`, patchOf({ op: 'remove', path: 'emails[type eq "work"]' })));
      expect(removed.emails).toEqual([{ type: 'home', value: 'me@home.example' }]);
      expect((await stored(user.id)).emails).toEqual([{ type: 'home', value: 'me@home.example' }]);
      expect((await userRow(user.id)).work_email).toBeNull();
    });

    it('PATCH add of a value whose type is there already adds it after the others', async () => {
      const user = await createUser('add.type@example.com', { phoneNumbers: [phoneNumbers[0]] });
      const added = ok(await scim.patch(`/Users/${user.id}`, patchOf({ op: 'add', path: 'phoneNumbers', value: [phoneNumbers[1]] })));
      expect(added.phoneNumbers).toEqual(phoneNumbers);
      expect((await stored(user.id)).phoneNumbers).toEqual(phoneNumbers);
    });

    it('primary stays true at most once (RFC 7643 §2.4)', async () => {
      const twice = emails.map((e) => ({ ...e, primary: e.type === 'work' }));
      refused(await scim.post('/Users', entraUser('two.primaries@example.com', { emails: twice })), 'invalidValue');
    });
  });

  describe('core attributes nested under the core schema URN', () => {
    it('POST reads them as if top-level, and stores them there', async () => {
      const body = {
        schemas: [CORE_USER, ENTERPRISE],
        [CORE_USER]: {
          userName: 'nested@example.com',
          name: { givenName: 'Nes', familyName: 'Ted' },
          emails: [{ type: 'work', value: 'nested@example.com', primary: true }],
          active: true,
        },
        [ENTERPRISE]: { department: 'R&D' },
      };
      const user = ok(await scim.post('/Users', body), 201);
      expect(user).toMatchObject({ userName: 'nested@example.com', name: { givenName: 'Nes', familyName: 'Ted' } });
      expect(user).not.toHaveProperty([CORE_USER]);
      expect(user.schemas).toEqual([CORE_USER, ENTERPRISE]);
      const row = await userRow(user.id);
      expect(row).toMatchObject({ user_name: 'nested@example.com', work_email: 'nested@example.com' });
      expect(await stored(user.id)).toEqual({
        schemas: [CORE_USER, ENTERPRISE],
        userName: 'nested@example.com',
        name: { givenName: 'Nes', familyName: 'Ted' },
        emails: [{ type: 'work', value: 'nested@example.com', primary: true }],
        active: true,
        [ENTERPRISE]: { department: 'R&D' },
      });
      const found = ok(await scim.get(query('userName eq "nested@example.com"')));
      expect(found.totalResults).toBe(1);
    });

    it('PUT and path-less PATCH read them too; so does a PATCH path under the core URN, or naming it', async () => {
      const user = await createUser('nested.put@example.com');
      const replaced = ok(
        await scim.put(`/Users/${user.id}`, {
          schemas: [CORE_USER],
          [CORE_USER]: { userName: 'nested.put@example.com', displayName: 'Put Nested', name: { givenName: 'Put' } },
        }),
      );
      expect(replaced).toMatchObject({ displayName: 'Put Nested', name: { givenName: 'Put' } });
      expect(replaced).not.toHaveProperty('emails');
      expect((await userRow(user.id)).display_name).toBe('Put Nested');

      const patched = ok(
        await scim.patch(
          `/Users/${user.id}`,
          patchOf(
            { op: 'replace', value: { [CORE_USER]: { title: 'Engineer', name: { familyName: 'Nested' } } } },
            { op: 'replace', path: `${CORE_USER}:name.givenName`, value: 'Patched' },
            { op: 'add', path: CORE_USER, value: { nickName: 'Nessie' } },
          ),
        ),
      );
      expect(patched).toMatchObject({ title: 'Engineer', nickName: 'Nessie', name: { givenName: 'Patched', familyName: 'Nested' } });
      const document = await stored(user.id);
      expect(document).toMatchObject({ title: 'Engineer', nickName: 'Nessie', name: { givenName: 'Patched', familyName: 'Nested' } });
      expect(document).not.toHaveProperty([CORE_USER]);
    });

    it('Groups: displayName under the Group URN on POST, PUT and path-less PATCH', async () => {
      const group = ok(await scim.post('/Groups', { schemas: [CORE_GROUP], [CORE_GROUP]: { displayName: 'Nested Group' } }), 201);
      expect(group.displayName).toBe('Nested Group');
      const row = () => db().selectFrom('groups').selectAll().where('id', '=', group.id).executeTakeFirstOrThrow();
      expect((await row()).display_name).toBe('Nested Group');
      const replaced = ok(await scim.put(`/Groups/${group.id}`, { schemas: [CORE_GROUP], [CORE_GROUP]: { displayName: 'Put Group' } }));
      expect(replaced.displayName).toBe('Put Group');
      const patched = await scim.patch(
        `/Groups/${group.id}`,
        patchOf({ op: 'replace', value: { [CORE_GROUP]: { displayName: 'Patched Group', externalId: 'G-9' } } }),
      );
      expect(patched.status, patched.text).toBe(204);
      expect(await row()).toMatchObject({ display_name: 'Patched Group', external_id: 'G-9' });
      expect(readJson<Record<string, unknown>>((await row()).attributes)).toEqual({
        schemas: [CORE_GROUP],
        displayName: 'Patched Group',
        externalId: 'G-9',
      });
    });

    it('a core URN holding something other than an object is 400 invalidValue', async () => {
      refused(await scim.post('/Users', { schemas: [CORE_USER], userName: 'x@example.com', [CORE_USER]: 'x' }), 'invalidValue');
    });
  });

  describe('a member given as a bare id', () => {
    it('is read as {"value": id} in add, remove and replace, alone or in a list', async () => {
      const [a, b, c] = await Promise.all(['bare.a@example.com', 'bare.b@example.com', 'bare.c@example.com'].map((u) => createUser(u)));
      const group = ok(await scim.post('/Groups', { displayName: 'Bare Members' }), 201);
      const edit = async (...operations: unknown[]) => {
        const response = await scim.patch(`/Groups/${group.id}`, patchOf(...operations));
        expect(response.status, response.text).toBe(204);
        return memberIds(group.id);
      };
      expect(await edit({ op: 'add', path: 'members', value: a.id })).toEqual([a.id]);
      expect(await edit({ op: 'add', path: 'members', value: [b.id, c.id] })).toEqual([a.id, b.id, c.id].sort());
      expect(await edit({ op: 'remove', path: 'members', value: a.id })).toEqual([b.id, c.id].sort());
      expect(await edit({ op: 'remove', path: 'members', value: [b.id] })).toEqual([c.id]);
      expect(await edit({ op: 'replace', path: 'members', value: [a.id, b.id] })).toEqual([a.id, b.id].sort());
      expect(await edit({ op: 'replace', path: 'members', value: c.id })).toEqual([c.id]);
      expect(await edit({ op: 'add', value: { members: [a.id] } })).toEqual([a.id, c.id].sort());
      const read = ok(await scim.get(`/Groups/${group.id}`));
      expect(read.members.map((m: { value: string }) => m.value).sort()).toEqual([a.id, c.id].sort());
      const unknown = await scim.patch(`/Groups/${group.id}`, patchOf({ op: 'add', path: 'members', value: 'no-such-user' }));
      refused(unknown, 'invalidValue');
      expect(unknown.body.detail).toContain('no-such-user');
      expect(await memberIds(group.id)).toEqual([a.id, c.id].sort());
    });
  });

  describe('filters with unquoted date-times', () => {
    let users: { id: string; meta: { created: string; lastModified: string } }[];
    const ids = async (path: string) => (ok(await scim.get(path)).Resources as { id: string }[]).map((r) => r.id).sort();
    /** An ISO instant written with a -07:00 offset, and with `extra` digits after the milliseconds. */
    const pacific = (iso: string, extra = '') => {
      const shifted = new Date(Date.parse(iso) - 7 * 3600_000).toISOString();
      return `${shifted.slice(0, 23)}${extra}-07:00`;
    };

    beforeAll(async () => {
      for (const name of ['time.a@example.com', 'time.b@example.com', 'time.c@example.com']) {
        await createUser(name);
        // Distinct milliseconds, so each user's instant is its own.
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      users = ok(await scim.get('/Users?count=1000')).Resources;
    });

    const where = (test: (created: number) => boolean) =>
      users
        .filter((u) => test(Date.parse(u.meta.created)))
        .map((u) => u.id)
        .sort();

    it('an unquoted date-time with an offset is read as the quoted form, attribute names in any case', async () => {
      const middle = users[Math.floor(users.length / 2)].meta.created;
      const at = Date.parse(middle);
      expect(await ids(query(`meta.created eq ${pacific(middle)}`))).toEqual(where((t) => t === at));
      expect(await ids(query(`meta.Created ge ${pacific(middle)}`))).toEqual(where((t) => t >= at));
      expect(await ids(query(`META.CREATED lt ${pacific(middle)}`))).toEqual(where((t) => t < at));
      expect(await ids(query(`meta.created gt ${pacific(middle)}`))).toEqual(await ids(query(`meta.created gt "${middle}"`)));
      expect(await ids(query('meta.lastModified ge 2000-01-01T00:00:00Z'))).toEqual(where(() => true));
      expect(await ids(query('meta.lastModified ge 2999-01-01T00:00:00Z'))).toEqual([]);
      expect(await ids(query('meta.created gt 2015-10-10T14:38:21.8617979-07:00 and userName sw "time."'))).toHaveLength(3);
    });

    it('fractional seconds beyond the millisecond compare exactly', async () => {
      const middle = users[Math.floor(users.length / 2)].meta.created;
      const at = Date.parse(middle);
      // 100 ns after the user's own millisecond: that user is before it, never equal to it.
      const after = pacific(middle, '0001');
      expect(await ids(query(`meta.created eq ${after}`))).toEqual([]);
      expect(await ids(query(`meta.created ne ${after}`))).toEqual(where(() => true));
      expect(await ids(query(`meta.created ge ${after}`))).toEqual(where((t) => t > at));
      expect(await ids(query(`meta.created gt ${after}`))).toEqual(where((t) => t > at));
      expect(await ids(query(`meta.created lt ${after}`))).toEqual(where((t) => t <= at));
      expect(await ids(query(`meta.created le "${after}"`))).toEqual(where((t) => t <= at));
      // Zeros past the millisecond change nothing.
      expect(await ids(query(`meta.created eq ${pacific(middle, '0000')}`))).toEqual(where((t) => t === at));
    });

    it('POST .search and Groups take them too', async () => {
      const found = ok(
        await scim.post('/Users/.search', {
          schemas: ['urn:ietf:params:scim:api:messages:2.0:SearchRequest'],
          filter: 'meta.created ge 2000-01-01T00:00:00.0000001+01:00',
          count: 1000,
        }),
      );
      expect(found.totalResults).toBe(users.length);
      const group = ok(await scim.post('/Groups', { displayName: 'Timed Group' }), 201);
      const groups = ok(await scim.get(`/Groups?filter=${encodeURIComponent(`meta.created eq ${pacific(group.meta.created)}`)}`));
      expect(groups.Resources.map((g: { id: string }) => g.id)).toContain(group.id);
    });

    it('a really broken filter is still 400 invalidFilter', async () => {
      for (const filter of [
        'meta.created gt 2015-10-10T',
        'meta.created gt 2015-13-10T00:00:00Z',
        'meta.created gt 2015-02-30T00:00:00Z',
        'meta.created gt 2015-10-10T14:38:21Zjunk',
        'meta.created gt 2015-10-10T14:38:21Z 2015-10-10T14:38:21Z',
        'meta.created co 2015-10-10T14:38:21Z',
        '2015-10-10T14:38:21Z eq meta.created',
      ]) {
        refused(await scim.get(query(filter)), 'invalidFilter');
      }
    });
  });

  describe('attributes and excludedAttributes with value-filter notation', () => {
    let user: { id: string };
    const emails = [
      { type: 'work', value: 'a@work.example', primary: true },
      { type: 'home', value: 'b@home.example' },
      { type: 'other', value: 'c@other.example' },
    ];
    const notHome = [emails[0], emails[2]];
    const projection = (parameter: string, text: string) => `${parameter}=${encodeURIComponent(text)}`;

    beforeAll(async () => {
      user = await createUser('projected@example.com', { emails });
    });

    it('GET by id returns only the matching values, whole or one sub-attribute', async () => {
      const whole = ok(await scim.get(`/Users/${user.id}?${projection('attributes', 'emails[type ne "home"]')}`));
      expect(whole).toEqual({ schemas: [CORE_USER], id: user.id, emails: notHome });
      const values = ok(await scim.get(`/Users/${user.id}?${projection('attributes', 'emails[type ne "home"].value,userName')}`));
      expect(values).toEqual({
        schemas: [CORE_USER],
        id: user.id,
        userName: 'projected@example.com',
        emails: [{ value: 'a@work.example' }, { value: 'c@other.example' }],
      });
      const mixed = ok(
        await scim.get(`/Users/${user.id}?${projection('attributes', 'emails[type eq "home"],emails[type ne "home"].value')}`),
      );
      expect(mixed.emails).toEqual([{ value: 'a@work.example' }, emails[1], { value: 'c@other.example' }]);
      const none = ok(await scim.get(`/Users/${user.id}?${projection('attributes', 'emails[type eq "fax"],userName')}`));
      expect(none).not.toHaveProperty('emails');
      // What is stored is untouched.
      expect((await stored(user.id)).emails).toEqual(emails);
    });

    it('excludedAttributes reads it as the attribute path', async () => {
      const without = ok(await scim.get(`/Users/${user.id}?${projection('excludedAttributes', 'emails[type eq "work"]')}`));
      expect(without).not.toHaveProperty('emails');
      expect(without.userName).toBe('projected@example.com');
      const noValues = ok(await scim.get(`/Users/${user.id}?${projection('excludedAttributes', 'emails[type eq "work"].value')}`));
      expect(noValues.emails).toEqual(emails.map(({ value: _, ...rest }) => rest));
    });

    it('GET list and POST .search', async () => {
      const filter = encodeURIComponent('userName eq "projected@example.com"');
      const listed = ok(await scim.get(`/Users?filter=${filter}&${projection('attributes', 'emails[type ne "home"].value')}`));
      expect(listed.Resources).toEqual([
        { schemas: [CORE_USER], id: user.id, emails: [{ value: 'a@work.example' }, { value: 'c@other.example' }] },
      ]);
      const searched = ok(
        await scim.post('/Users/.search', {
          schemas: ['urn:ietf:params:scim:api:messages:2.0:SearchRequest'],
          filter: 'userName eq "projected@example.com"',
          attributes: ['emails[type ne "home" and value sw "c"]', 'displayName'],
        }),
      );
      expect(searched.Resources).toEqual([{ schemas: [CORE_USER], id: user.id, emails: [emails[2]] }]);
    });

    it('the answers of POST, PUT and PATCH', async () => {
      const attributes = projection('attributes', 'emails[type eq "home"]');
      const created = ok(await scim.post(`/Users?${attributes}`, entraUser('projected.post@example.com', { emails })), 201);
      expect(created.emails).toEqual([emails[1]]);
      expect(created).not.toHaveProperty('userName');
      expect((await stored(created.id)).emails).toEqual(emails);
      const replaced = ok(await scim.put(`/Users/${created.id}?${attributes}`, entraUser('projected.post@example.com', { emails })));
      expect(replaced.emails).toEqual([emails[1]]);
      const patched = ok(
        await scim.patch(
          `/Users/${created.id}?${attributes}`,
          patchOf({ op: 'add', path: 'emails', value: [{ type: 'home', value: 'd@home.example' }] }),
        ),
      );
      expect(patched.emails).toEqual([emails[1], { type: 'home', value: 'd@home.example' }]);
      expect((await stored(created.id)).emails).toEqual([...emails, { type: 'home', value: 'd@home.example' }]);

      const group = ok(
        await scim.post('/Groups', { displayName: 'Projected Group', members: [{ value: user.id }, { value: created.id }] }),
        201,
      );
      const one = ok(
        await scim.patch(
          `/Groups/${group.id}?${projection('attributes', `members[value eq "${created.id}"]`)}`,
          patchOf({ op: 'replace', path: 'externalId', value: 'PG' }),
        ),
      );
      expect(one.members.map((m: { value: string }) => m.value)).toEqual([created.id]);
      expect(await memberIds(group.id)).toEqual([user.id, created.id].sort());
    });

    it('a broken value filter in attributes is 400, and a write with it changes nothing', async () => {
      refused(await scim.get(`/Users/${user.id}?${projection('attributes', 'emails[type eq "work"')}`), 'invalidValue');
      refused(await scim.get(`/Users/${user.id}?${projection('attributes', 'emails[type zz "work"]')}`), 'invalidFilter');
      refused(await scim.get(`/Users/${user.id}?${projection('attributes', 'emails[primary gt true]')}`), 'invalidFilter');
      refused(await scim.get(`/Users/${user.id}?${projection('attributes', 'userName[type eq "work"]')}`), 'invalidValue');
      const before = await userRow(user.id);
      const response = await scim.patch(
        `/Users/${user.id}?${projection('attributes', 'emails[value.x eq "a"]')}`,
        patchOf({ op: 'replace', path: 'title', value: 'Changed' }),
      );
      refused(response, 'invalidFilter');
      expect((await userRow(user.id)).version).toBe(before.version);
    });
  });

  describe('204 answers', () => {
    it('DELETE and a group PATCH answer 204 with no Content-Type', async () => {
      const user = await createUser('deleted.204@example.com');
      const group = ok(await scim.post('/Groups', { displayName: 'Quiet Group' }), 201);
      const patched = await scim.patch(`/Groups/${group.id}`, patchOf({ op: 'replace', path: 'displayName', value: 'Quieter Group' }));
      const deletedGroup = await scim.delete(`/Groups/${group.id}`);
      const deletedUser = await scim.delete(`/Users/${user.id}`);
      for (const response of [patched, deletedGroup, deletedUser]) {
        expect(response.status, response.text).toBe(204);
        expect(response.headers.get('content-type')).toBeNull();
        expect(response.text).toBe('');
        expect(response.headers.get('cache-control')).toBe('no-store');
      }
      // Answers with a body keep SCIM's media type.
      expect((await scim.get(`/Users/${user.id}`)).headers.get('content-type')).toMatch(/^application\/scim\+json/);
    });
  });
});

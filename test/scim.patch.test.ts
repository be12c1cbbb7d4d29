import { describe, expect, it } from 'vitest';
import type { ScimError } from '../server/scim/protocol/errors.ts';
import { applyOperation, readPatch } from '../server/scim/protocol/patch.ts';
import { checkDocument, type Document } from '../server/scim/protocol/resource.ts';
import { ENTERPRISE_USER, GROUP_TYPE, USER_TYPE } from '../server/scim/protocol/schemas.ts';

/*
 * The PATCH engine (RFC 7644 §3.5.2 and the Entra dialect) over documents,
 * without HTTP or a store: every operation form Entra sends, and each
 * scimType a bad operation earns.
 */

function patch(document: Document, operations: unknown[], type = USER_TYPE): Document {
  const copy = structuredClone(document);
  for (const operation of readPatch(type, { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: operations })) {
    applyOperation(type, copy, operation);
  }
  checkDocument(type, copy);
  return copy;
}

function refusal(run: () => unknown): { status: number; scimType: string | undefined; message: string } {
  try {
    run();
  } catch (error) {
    const e = error as ScimError;
    return { status: e.status, scimType: e.scimType, message: e.message };
  }
  throw new Error('expected the operation to be refused');
}

const alice: Document = {
  schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
  userName: 'alice@example.com',
  active: true,
  name: { givenName: 'Alice', familyName: 'Liddell', formatted: 'Alice Liddell' },
  emails: [
    { type: 'work', value: 'alice@example.com', primary: true },
    { type: 'home', value: 'alice@home.example' },
  ],
  [ENTERPRISE_USER]: { employeeNumber: '1001', department: 'R&D' },
};

describe('PATCH as Entra sends it', () => {
  it('takes op in any case: Add, Replace, Remove, ADD', () => {
    const result = patch(alice, [
      { op: 'Add', path: 'nickName', value: 'Babs' },
      { op: 'Replace', path: 'title', value: 'Engineer' },
      { op: 'ADD', path: 'locale', value: 'en-GB' },
      { op: 'Remove', path: 'locale' },
    ]);
    expect(result).toMatchObject({ nickName: 'Babs', title: 'Engineer' });
    expect(result).not.toHaveProperty('locale');
  });

  it('reads "False" and "True" as booleans where the schema says boolean', () => {
    expect(patch(alice, [{ op: 'Replace', path: 'active', value: 'False' }]).active).toBe(false);
    expect(patch({ ...alice, active: false }, [{ op: 'Replace', path: 'active', value: 'True' }]).active).toBe(true);
    expect(patch(alice, [{ op: 'replace', path: 'emails[type eq "home"].primary', value: 'TRUE' }]).emails).toEqual([
      { type: 'work', value: 'alice@example.com', primary: false },
      { type: 'home', value: 'alice@home.example', primary: true },
    ]);
  });

  it('applies a path-less replace whose keys are dotted paths and schema-URN paths', () => {
    const result = patch(alice, [
      {
        op: 'replace',
        value: {
          displayName: 'Bjfe',
          'name.givenName': 'Kkom',
          'name.familyName': 'Unua',
          'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber': 'Aklq',
        },
      },
    ]);
    expect(result.displayName).toBe('Bjfe');
    expect(result.name).toEqual({ givenName: 'Kkom', familyName: 'Unua', formatted: 'Alice Liddell' });
    expect(result[ENTERPRISE_USER]).toEqual({ employeeNumber: 'Aklq', department: 'R&D' });
    expect(Object.keys(result).filter((k) => k.startsWith('name.'))).toEqual([]);
  });

  it('replaces emails[type eq "work"].value, and adds a work email to a user who has none', () => {
    expect(patch(alice, [{ op: 'Replace', path: 'emails[type eq "work"].value', value: 'new@example.com' }]).emails).toEqual([
      { type: 'work', value: 'new@example.com', primary: true },
      { type: 'home', value: 'alice@home.example' },
    ]);
    const bare = { schemas: alice.schemas, userName: 'bare@example.com' };
    expect(patch(bare, [{ op: 'replace', path: 'emails[type eq "work"].value', value: 'bare@example.com' }]).emails).toEqual([
      { type: 'work', value: 'bare@example.com' },
    ]);
    expect(patch(bare, [{ op: 'Add', path: 'phoneNumbers[type eq "mobile"].value', value: '+31 6 12345678' }]).phoneNumbers).toEqual([
      { type: 'mobile', value: '+31 6 12345678' },
    ]);
  });

  it('adds the enterprise manager given as a bare id, in the shape the schema has', () => {
    const result = patch(alice, [
      { op: 'Add', path: 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager', value: 'mgr-1' },
    ]);
    expect(result[ENTERPRISE_USER]).toEqual({ employeeNumber: '1001', department: 'R&D', manager: { value: 'mgr-1' } });
  });

  it('keeps attributes it does not know, values as sent', () => {
    const result = patch(alice, [
      { op: 'Add', path: 'manager', value: [{ $ref: 'http://…/Users/1', value: '1' }] },
      { op: 'add', path: 'urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User:tag', value: '701984' },
      { op: 'add', value: { costCode: 42, flags: { vip: true } } },
    ]);
    expect(result.manager).toEqual([{ $ref: 'http://…/Users/1', value: '1' }]);
    expect(result['urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User']).toEqual({ tag: '701984' });
    expect(result).toMatchObject({ costCode: 42, flags: { vip: true } });
  });

  it('matches attribute names without regard to case and stores the schema spelling', () => {
    const result = patch(alice, [
      { op: 'replace', path: 'USERNAME', value: 'ALICE@example.com' },
      { op: 'replace', path: 'Emails[Type eq "WORK"].Value', value: 'a2@example.com' },
      { op: 'replace', path: 'NAME.GIVENNAME', value: 'Al' },
    ]);
    expect(result.userName).toBe('ALICE@example.com');
    expect(Object.keys(result)).not.toContain('USERNAME');
    expect((result.emails as { value: string }[])[0].value).toBe('a2@example.com');
    expect(result.name).toMatchObject({ givenName: 'Al' });
  });
});

describe('PATCH per RFC 7644 §3.5.2', () => {
  it('add to a multi-valued attribute appends, skips a value already there, and lets a new primary take over', () => {
    const result = patch(alice, [
      { op: 'add', path: 'emails', value: [{ type: 'other', value: 'alias@example.com', primary: true }] },
      { op: 'add', path: 'emails', value: [{ type: 'other', value: 'alias@example.com', primary: true }] },
    ]);
    expect(result.emails).toEqual([
      { type: 'work', value: 'alice@example.com', primary: false },
      { type: 'home', value: 'alice@home.example' },
      { type: 'other', value: 'alias@example.com', primary: true },
    ]);
  });

  it('add of a value whose type is already there adds it after the others (type is not unique)', () => {
    const result = patch(alice, [{ op: 'add', path: 'emails', value: [{ type: 'home', value: 'second@home.example' }] }]);
    expect(result.emails).toEqual([
      { type: 'work', value: 'alice@example.com', primary: true },
      { type: 'home', value: 'alice@home.example' },
      { type: 'home', value: 'second@home.example' },
    ]);
  });

  it('replace of a multi-valued attribute replaces all its values; of a complex one, only the sub-attributes given', () => {
    const result = patch(alice, [
      { op: 'replace', path: 'emails', value: [{ type: 'work', value: 'only@example.com' }] },
      { op: 'replace', path: 'name', value: { givenName: 'Ally' } },
    ]);
    expect(result.emails).toEqual([{ type: 'work', value: 'only@example.com' }]);
    expect(result.name).toEqual({ givenName: 'Ally', familyName: 'Liddell', formatted: 'Alice Liddell' });
  });

  it('remove by value filter, by sub-attribute, by value list, and of a whole extension', () => {
    expect(patch(alice, [{ op: 'remove', path: 'emails[type eq "home"]' }]).emails).toEqual([
      { type: 'work', value: 'alice@example.com', primary: true },
    ]);
    expect(patch(alice, [{ op: 'remove', path: 'name.formatted' }]).name).toEqual({ givenName: 'Alice', familyName: 'Liddell' });
    expect(patch(alice, [{ op: 'remove', path: 'emails', value: [{ value: 'ALICE@home.example' }] }]).emails).toEqual([
      { type: 'work', value: 'alice@example.com', primary: true },
    ]);
    expect(patch(alice, [{ op: 'remove', path: ENTERPRISE_USER }])).not.toHaveProperty(ENTERPRISE_USER);
    const last = patch(alice, [
      { op: 'remove', path: 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber' },
      { op: 'remove', path: 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department' },
    ]);
    expect(last).not.toHaveProperty(ENTERPRISE_USER);
  });

  it('a value filter with and/or/not and operators other than eq selects the right values', () => {
    const result = patch(alice, [{ op: 'remove', path: 'emails[not (type eq "work") and value ew ".EXAMPLE"]' }]);
    expect(result.emails).toEqual([{ type: 'work', value: 'alice@example.com', primary: true }]);
  });

  it('null clears on replace and adds nothing on add', () => {
    expect(patch(alice, [{ op: 'replace', path: 'name', value: null }])).not.toHaveProperty('name');
    expect(patch(alice, [{ op: 'add', path: 'title', value: null }])).not.toHaveProperty('title');
  });

  it('a remove naming a value that is not there changes nothing', () => {
    expect(patch(alice, [{ op: 'remove', path: 'emails[type eq "fax"]' }])).toEqual(alice);
    expect(patch(alice, [{ op: 'remove', path: 'nickName' }])).toEqual(alice);
  });

  it("operations on members are handed to whoever keeps them (a group's memberships table)", () => {
    const group = { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: 'G' };
    const diverted: string[] = [];
    const operations = readPatch(GROUP_TYPE, {
      Operations: [
        { op: 'Add', path: 'members', value: [{ value: 'u1' }] },
        { op: 'remove', path: 'members[value eq "u1"]' },
        { op: 'replace', value: { displayName: 'H', members: [] } },
      ],
    });
    const copy = structuredClone(group);
    for (const operation of operations) {
      applyOperation(GROUP_TYPE, copy, operation, (op, path) => {
        if (path.target.kind !== 'attribute' || path.target.name !== 'members') return false;
        diverted.push(`${op} ${path.text}`);
        return true;
      });
    }
    expect(diverted).toEqual(['add members', 'remove members[value eq "u1"]', 'replace members']);
    expect(copy).toEqual({ ...group, displayName: 'H' });
  });
});

describe('PATCH refusals, each with its scimType', () => {
  const cases: [string, unknown, number, string][] = [
    ['a body that is not an object', 'nope', 400, 'invalidSyntax'],
    ['no Operations', { schemas: [] }, 400, 'invalidSyntax'],
    ['an empty Operations list', { Operations: [] }, 400, 'invalidSyntax'],
    ['an op that is not add, replace or remove', { Operations: [{ op: 'delete', path: 'title' }] }, 400, 'invalidSyntax'],
    ['an add without value', { Operations: [{ op: 'add', path: 'title' }] }, 400, 'invalidSyntax'],
    ['a path that is not a string', { Operations: [{ op: 'remove', path: 42 }] }, 400, 'invalidPath'],
    ['an empty path', { Operations: [{ op: 'remove', path: '' }] }, 400, 'invalidPath'],
    ['an unclosed value filter', { Operations: [{ op: 'remove', path: 'emails[type eq "work"' }] }, 400, 'invalidPath'],
    ['three levels', { Operations: [{ op: 'remove', path: 'name.givenName.first' }] }, 400, 'invalidPath'],
    ['a sub-attribute of a simple attribute', { Operations: [{ op: 'replace', path: 'userName.first', value: 'x' }] }, 400, 'invalidPath'],
    ['a value filter on a single-valued attribute', { Operations: [{ op: 'remove', path: 'name[givenName eq "x"]' }] }, 400, 'invalidPath'],
    ['a broken filter in the path', { Operations: [{ op: 'remove', path: 'emails[type xx "work"]' }] }, 400, 'invalidFilter'],
  ];
  for (const [what, body, status, scimType] of cases) {
    it(`${what}: ${status} ${scimType}`, () => {
      expect(refusal(() => readPatch(USER_TYPE, body))).toMatchObject({ status, scimType });
    });
  }

  const applied: [string, unknown[], string][] = [
    ['a remove without path', [{ op: 'remove' }], 'noTarget'],
    [
      'a replace whose value filter selects nothing and says nothing to add',
      [{ op: 'replace', path: 'emails[value co "nobody"].value', value: 'x' }],
      'noTarget',
    ],
    ['a change of id', [{ op: 'replace', path: 'id', value: 'other' }], 'mutability'],
    ['a change of meta', [{ op: 'replace', path: 'meta.created', value: '2020-01-01T00:00:00Z' }], 'mutability'],
    ['a change of groups (kept on the group)', [{ op: 'add', path: 'groups', value: [{ value: 'g1' }] }], 'mutability'],
    ['removing the required userName', [{ op: 'remove', path: 'userName' }], 'mutability'],
    ['setting a password', [{ op: 'replace', path: 'password', value: 'hunter2hunter2' }], 'mutability'],
    ['active that is not a boolean', [{ op: 'replace', path: 'active', value: 'maybe' }], 'invalidValue'],
    ['userName that is not a string', [{ op: 'replace', path: 'userName', value: 42 }], 'invalidValue'],
    ['a complex attribute given a number', [{ op: 'replace', path: 'name', value: 5 }], 'invalidValue'],
    ['a path-less add whose value is not an object', [{ op: 'add', value: 'x' }], 'invalidValue'],
    ['an empty userName', [{ op: 'replace', path: 'userName', value: '' }], 'invalidValue'],
    [
      'two primary emails',
      [
        {
          op: 'replace',
          path: 'emails',
          value: [
            { value: 'a@x', primary: true },
            { value: 'b@x', primary: true },
          ],
        },
      ],
      'invalidValue',
    ],
  ];
  for (const [what, operations, scimType] of applied) {
    it(`${what}: 400 ${scimType}, and the document is left as it was`, () => {
      const before = structuredClone(alice);
      const document = structuredClone(alice);
      expect(
        refusal(() => {
          for (const operation of readPatch(USER_TYPE, { Operations: operations })) applyOperation(USER_TYPE, document, operation);
          checkDocument(USER_TYPE, document);
        }),
      ).toMatchObject({ status: 400, scimType });
      expect(alice).toEqual(before);
    });
  }
});

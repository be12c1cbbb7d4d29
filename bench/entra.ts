/*
 * The requests Entra's provisioning service sends, as Microsoft documents
 * them (test/fixtures/entra holds the documented originals). The bench
 * sends exactly these shapes, and seeds the store with what SCIM makes of
 * the create bodies.
 */

export const CORE_USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const ENTERPRISE_USER = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
export const CORE_GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
export const ADSCIM_GROUP = 'http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group';
const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

/** The userName of user `i` of a seeded population `label`. */
export function userNameOf(label: string, i: number): string {
  return `${label}.user${i}@bench.example`;
}

/** POST /Users as Entra sends it (02-create-user), with the enterprise attributes most tenants map. */
export function createUserBody(label: string, i: number): Record<string, unknown> {
  const userName = userNameOf(label, i);
  return {
    schemas: [CORE_USER, ENTERPRISE_USER],
    externalId: `${label}-${i}`,
    userName,
    active: true,
    emails: [{ primary: true, type: 'work', value: userName }],
    meta: { resourceType: 'User' },
    name: { formatted: `Given${i} Family${i}`, familyName: `Family${i}`, givenName: `Given${i}` },
    [ENTERPRISE_USER]: { employeeNumber: String(100000 + i), department: `Department ${i % 50}` },
    roles: [],
  };
}

/** Update user (07-update-user-multi-valued): a work email and a family name, capitalised Replace. */
export function patchUserBody(i: number): Record<string, unknown> {
  return {
    schemas: [PATCH_OP],
    Operations: [
      { op: 'Replace', path: 'emails[type eq "work"].value', value: `renamed${i}@bench.example` },
      { op: 'Replace', path: 'name.familyName', value: `Renamed${i}` },
    ],
  };
}

/** Disable user without the aadOptscim062020 flag (20-disable-user-without-flag): the string "False". */
export const DISABLE_USER_BODY = {
  schemas: [PATCH_OP],
  Operations: [{ op: 'Replace', path: 'active', value: 'False' }],
};

/** POST /Groups (11-create-group): no members. */
export function createGroupBody(label: string, i: number): Record<string, unknown> {
  return {
    schemas: [CORE_GROUP, ADSCIM_GROUP],
    externalId: `${label}-group-${i}`,
    displayName: `${label} group ${i}`,
    meta: { resourceType: 'Group' },
  };
}

/** 15-update-group-add-members. */
export function addMemberBody(userId: string): Record<string, unknown> {
  return { schemas: [PATCH_OP], Operations: [{ op: 'Add', path: 'members', value: [{ $ref: null, value: userId }] }] };
}

/** 16-update-group-remove-members (the form without the flag). */
export function removeMemberBody(userId: string): Record<string, unknown> {
  return { schemas: [PATCH_OP], Operations: [{ op: 'Remove', path: 'members', value: [{ $ref: null, value: userId }] }] };
}

/** Entra's matching query: GET /Users?filter=userName eq "…". */
export function userNameFilterPath(userName: string): string {
  return `/scim/v2/Users?filter=${encodeURIComponent(`userName eq "${userName}"`)}`;
}

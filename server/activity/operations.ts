import type { Operation } from './types.ts';

/** What the SCIM request and its answer say, as the activity record reads them (no value is kept). */
export interface ScimExchangeFacts {
  method: string;
  /** The path below /scim/v2, e.g. "/Users/abc". */
  path: string;
  filter: string | undefined;
  /** The parsed request body, when the operation read one. */
  body: unknown;
  /** The answer's body as sent (a resource, a list, an error), when it had one. */
  answer: unknown;
  status: number;
}

export interface Classified {
  operation: Operation;
  memberCount: number | null;
  resourceType: 'User' | 'Group' | null;
  resourceId: string | null;
  resourceName: string | null;
  attributes: string[];
  scimType: string | null;
  detail: string | null;
}

type Record_ = Record<string, unknown>;
const isObject = (value: unknown): value is Record_ => typeof value === 'object' && value !== null && !Array.isArray(value);

/** A key of `object` matched without regard to case, as SCIM attribute names are. */
function member(object: Record_, name: string): unknown {
  const wanted = name.toLowerCase();
  for (const key of Object.keys(object)) if (key.toLowerCase() === wanted) return object[key];
  return undefined;
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Entra's Test Connection: `GET /Users?filter=userName eq "<new GUID>"`, a
 * user that cannot exist; the answer must be an empty list.
 */
function isTestConnection(filter: string | undefined, answer: unknown): boolean {
  const match = filter === undefined ? null : /^\s*userName\s+eq\s+"([^"]*)"\s*$/i.exec(filter);
  if (!match || !GUID.test(match[1])) return false;
  return isObject(answer) && member(answer, 'totalResults') === 0;
}

/**
 * The attribute a PATCH path names, without its filter or sub-attribute:
 * `emails[type eq "work"].value` → emails,
 * `urn:…:enterprise:2.0:User:manager` → manager.
 */
export function attributeOfPath(path: string): string {
  let name = path.trim();
  if (/^urn:/i.test(name)) {
    const bracket = name.indexOf('[');
    const head = bracket === -1 ? name : name.slice(0, bracket);
    name = head.slice(head.lastIndexOf(':') + 1) + (bracket === -1 ? '' : name.slice(bracket));
  }
  return name.split(/[[.]/)[0];
}

const IGNORED = new Set(['schemas', 'id', 'meta']);

function namesOf(value: unknown): string[] {
  if (!isObject(value)) return [];
  const names: string[] = [];
  for (const key of Object.keys(value)) {
    if (IGNORED.has(key.toLowerCase())) continue;
    // An extension's attributes are named by their own names.
    if (/^urn:/i.test(key) && isObject(value[key])) names.push(...Object.keys(value[key] as Record_));
    else names.push(key);
  }
  return names;
}

interface PatchOp {
  op: string;
  path: string | undefined;
  value: unknown;
}

function patchOperations(body: unknown): PatchOp[] {
  if (!isObject(body)) return [];
  const operations = member(body, 'Operations');
  if (!Array.isArray(operations)) return [];
  return operations.filter(isObject).map((raw) => {
    const op = member(raw, 'op');
    const path = member(raw, 'path');
    return {
      op: typeof op === 'string' ? op.toLowerCase() : '',
      path: typeof path === 'string' ? path : undefined,
      value: member(raw, 'value'),
    };
  });
}

/** Entra sends booleans as "False" and "True" in PATCH; both forms count. */
function asBoolean(value: unknown): boolean | undefined {
  if (typeof value === 'boolean') return value;
  if (typeof value === 'string' && /^(true|false)$/i.test(value)) return value.toLowerCase() === 'true';
  return undefined;
}

function unique(names: string[]): string[] {
  const seen = new Map<string, string>();
  for (const name of names) if (name !== '' && !seen.has(name.toLowerCase())) seen.set(name.toLowerCase(), name);
  return [...seen.values()];
}

function userPatch(operations: PatchOp[]): { operation: Operation; attributes: string[] } {
  const attributes: string[] = [];
  let active: boolean | undefined;
  for (const { op, path, value } of operations) {
    if (path !== undefined) {
      const name = attributeOfPath(path);
      attributes.push(name);
      if (name.toLowerCase() === 'active' && op !== 'remove') active = asBoolean(value) ?? active;
    } else {
      attributes.push(...namesOf(value));
      if (isObject(value)) {
        const flag = member(value, 'active');
        if (flag !== undefined) active = asBoolean(flag) ?? active;
      }
    }
  }
  const names = unique(attributes);
  if (active === false) return { operation: 'disable_user', attributes: names };
  if (active === true && names.length === 1) return { operation: 'enable_user', attributes: names };
  return { operation: 'update_user', attributes: names };
}

function groupPatch(operations: PatchOp[]): { operation: Operation; attributes: string[]; memberCount: number | null } {
  const attributes: string[] = [];
  let added = 0;
  let removed = 0;
  let other = false;
  for (const { op, path, value } of operations) {
    const name = path === undefined ? undefined : attributeOfPath(path);
    if (name?.toLowerCase() === 'members' && (op === 'add' || op === 'remove')) {
      attributes.push('members');
      // `members[value eq "id"]` removes one; a value array names each member.
      const count = Array.isArray(value) ? value.length : path?.includes('[') ? 1 : value === undefined ? 0 : 1;
      if (op === 'add') added += count;
      else removed += count;
      continue;
    }
    other = true;
    if (name !== undefined) attributes.push(name);
    else attributes.push(...namesOf(value));
  }
  const names = unique(attributes);
  if (!other && added > 0 && removed === 0) return { operation: 'add_members', attributes: names, memberCount: added };
  if (!other && removed > 0 && added === 0) return { operation: 'remove_members', attributes: names, memberCount: removed };
  return { operation: 'update_group', attributes: names, memberCount: null };
}

function text(value: unknown): string | null {
  return typeof value === 'string' && value !== '' ? value.slice(0, 256) : null;
}

/** The operation in words, the resource it touched and its outcome, from the request and the answer. */
export function classify(facts: ScimExchangeFacts): Classified {
  const segments = facts.path.split('/').filter((s) => s !== '');
  let decoded: string[];
  try {
    decoded = segments.map((s) => decodeURIComponent(s));
  } catch {
    decoded = segments;
  }
  const [first, second, ...rest] = decoded;
  const endpoint = first?.toLowerCase();
  const method = facts.method === 'HEAD' ? 'GET' : facts.method;
  const answer = isObject(facts.answer) ? facts.answer : undefined;
  const failed = facts.status >= 400;
  const outcome = {
    scimType: failed && answer ? text(member(answer, 'scimType')) : null,
    detail: failed && answer ? text(member(answer, 'detail')) : null,
  };
  const base: Classified = {
    operation: 'other',
    memberCount: null,
    resourceType: null,
    resourceId: null,
    resourceName: null,
    attributes: [],
    ...outcome,
  };
  const resourceType = endpoint === 'users' ? 'User' : endpoint === 'groups' ? 'Group' : null;
  if (!resourceType || rest.length > 0) return base;
  const nameKey = resourceType === 'User' ? 'userName' : 'displayName';
  const body = isObject(facts.body) ? facts.body : undefined;
  const named = text((!failed && answer && member(answer, nameKey)) || (body && member(body, nameKey)));
  const answeredId = !failed && answer ? text(member(answer, 'id')) : null;
  const entry = { ...base, resourceType } as Classified;
  const users = resourceType === 'User';

  if (second === undefined || second === '.search') {
    if (method === 'GET' || second === '.search') {
      if (users && method === 'GET' && isTestConnection(facts.filter, answer)) return { ...entry, operation: 'test_connection' };
      return { ...entry, operation: users ? 'list_users' : 'list_groups' };
    }
    if (method === 'POST') {
      return {
        ...entry,
        operation: users ? 'create_user' : 'create_group',
        resourceId: answeredId,
        resourceName: named,
        attributes: unique(namesOf(body)),
      };
    }
    return entry;
  }
  const withId = { ...entry, resourceId: text(second), resourceName: named };
  switch (method) {
    case 'GET':
      return { ...withId, operation: users ? 'read_user' : 'read_group' };
    case 'DELETE':
      return { ...withId, operation: users ? 'delete_user' : 'delete_group' };
    case 'PUT': {
      const attributes = unique(namesOf(body));
      const active = body ? asBoolean(member(body, 'active')) : undefined;
      return { ...withId, operation: users ? (active === false ? 'disable_user' : 'update_user') : 'update_group', attributes };
    }
    case 'PATCH': {
      const operations = patchOperations(facts.body);
      if (users) return { ...withId, ...userPatch(operations) };
      return { ...withId, ...groupPatch(operations) };
    }
    default:
      return withId;
  }
}

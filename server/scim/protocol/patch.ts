import { InvalidPath, InvalidSyntax, InvalidValue, Mutability, NoTarget } from './errors.ts';
import { type AttributeReference, attributeLabel, type PatchPath, parsePatchPath } from './paths.ts';
import {
  containerOf,
  type Document,
  isObject,
  keyIn,
  liftCore,
  normaliseSingle,
  normaliseValue,
  pruneExtension,
  resolveKey,
  sameJson,
} from './resource.ts';
import type { AttributeDefinition, ResourceTypeDefinition } from './schemas.ts';
import { equalities, matchesValue } from './value-filter.ts';

export type PatchOpName = 'add' | 'replace' | 'remove';

export interface PatchOperation {
  op: PatchOpName;
  path: PatchPath | undefined;
  /** Absent (not null) when the operation had no "value" member. */
  value: unknown;
  hasValue: boolean;
}

/**
 * Reads an RFC 7644 §3.5.2 PatchOp message the way Entra writes it too:
 * `op` in any case ("Replace"), "Operations" in any case.
 */
export function readPatch(type: ResourceTypeDefinition, body: unknown): PatchOperation[] {
  if (!isObject(body)) throw new InvalidSyntax('the body must be a JSON object: a PatchOp message with "Operations"');
  const key = keyIn(body, 'Operations');
  const operations = key === undefined ? undefined : body[key];
  if (!Array.isArray(operations) || operations.length === 0) {
    throw new InvalidSyntax('"Operations" must be a non-empty array of {"op", "path", "value"}');
  }
  return operations.map((raw, i) => {
    if (!isObject(raw)) throw new InvalidSyntax(`Operations[${i}] must be an object`);
    const opKey = keyIn(raw, 'op');
    const op = typeof raw[opKey ?? 'op'] === 'string' ? (raw[opKey ?? 'op'] as string).toLowerCase() : undefined;
    if (op !== 'add' && op !== 'replace' && op !== 'remove') {
      throw new InvalidSyntax(`Operations[${i}].op must be "add", "replace" or "remove"`);
    }
    const pathKey = keyIn(raw, 'path');
    const rawPath = pathKey === undefined ? undefined : raw[pathKey];
    if (rawPath !== undefined && rawPath !== null && typeof rawPath !== 'string')
      throw new InvalidPath(`Operations[${i}].path must be a string`);
    // A path naming the core schema itself (add or replace of its attributes) is read as no path: the value holds the attributes.
    const core = typeof rawPath === 'string' && op !== 'remove' && rawPath.trim().toLowerCase() === type.schema.id.toLowerCase();
    const path = typeof rawPath === 'string' && !core ? parsePatchPath(type, rawPath) : undefined;
    const valueKey = keyIn(raw, 'value');
    const hasValue = valueKey !== undefined;
    if (op !== 'remove' && !hasValue) throw new InvalidSyntax(`Operations[${i}] (${op}) needs a "value"`);
    return { op, path, value: hasValue ? raw[valueKey] : undefined, hasValue };
  });
}

/** Lets the caller take over operations on attributes it keeps elsewhere (a group's members). */
export type Divert = (op: PatchOpName, path: PatchPath, value: unknown, hasValue: boolean) => boolean;

/**
 * Applies one operation to the document in place. Throws the RFC 7644 error
 * for anything it cannot do; callers run all operations on a copy inside a
 * transaction, so a failing operation leaves the stored resource unchanged.
 */
export function applyOperation(type: ResourceTypeDefinition, document: Document, operation: PatchOperation, divert?: Divert): void {
  const { op, path, value, hasValue } = operation;
  if (path) {
    apply(type, document, op, path, value, hasValue, divert);
    return;
  }
  if (op === 'remove') throw new NoTarget('a remove operation needs a "path" naming what to remove');
  // Path-less add/replace: the value is a set of attributes. Entra's keys may
  // be paths themselves: "name.givenName", "urn:…:User:employeeNumber",
  // even "emails[type eq \"work\"].value".
  if (!isObject(value)) throw new InvalidValue(`an ${op} without "path" needs an object of attributes as its value`);
  for (const [key, inner] of liftCore(type, value)) {
    if (key.toLowerCase() === 'schemas') continue;
    if (key.includes('[')) {
      apply(type, document, op, parsePatchPath(type, key), inner, true, divert);
      continue;
    }
    const target = resolveKey(type, key, inner);
    apply(type, document, op, { text: key, target, filter: undefined }, inner, true, divert);
  }
}

function apply(
  type: ResourceTypeDefinition,
  document: Document,
  op: PatchOpName,
  path: PatchPath,
  value: unknown,
  hasValue: boolean,
  divert: Divert | undefined,
): void {
  const target = path.target;
  if (target.kind === 'extension') {
    applyToExtension(type, document, op, target.extension, value, divert);
    return;
  }
  if (divert?.(op, path, value, hasValue)) return;
  checkMutability(op, target, path);
  if (op !== 'remove' && value === null) {
    // RFC 7643 §2.5: null is unassigned; replacing with null clears, adding null adds nothing.
    if (op === 'replace') apply(type, document, 'remove', path, undefined, false, divert);
    return;
  }
  const container = containerOf(document, target, op !== 'remove');
  if (!container) return;
  if (path.filter) applyFiltered(container, op, target, path, value);
  else if (target.sub) applySub(container, op, target, path, value);
  else applyWhole(container, op, target, value, hasValue);
  pruneExtension(document, target);
}

function applyToExtension(
  type: ResourceTypeDefinition,
  document: Document,
  op: PatchOpName,
  urn: string,
  value: unknown,
  divert: Divert | undefined,
): void {
  const key = keyIn(document, urn) ?? urn;
  if (op === 'remove') {
    delete document[key];
    return;
  }
  if (value === null) {
    if (op === 'replace') delete document[key];
    return;
  }
  if (!isObject(value)) throw new InvalidValue(`${urn} takes an object holding that extension's attributes`);
  const known = type.extensions.find((s) => s.id.toLowerCase() === urn.toLowerCase());
  if (!known) {
    const current = isObject(document[key]) ? (document[key] as Record<string, unknown>) : {};
    document[key] = { ...current, ...(normaliseValue(undefined, value, urn) as object) };
    return;
  }
  for (const [name, inner] of Object.entries(value)) {
    const target = resolveKey(type, `${known.id}:${name}`, inner);
    apply(type, document, op, { text: `${known.id}:${name}`, target, filter: undefined }, inner, true, divert);
  }
}

function checkMutability(op: PatchOpName, target: AttributeReference & { kind: 'attribute' }, path: PatchPath) {
  const definition = target.definition;
  if (definition?.name === 'password' && target.extension === null) {
    throw new Mutability('the password cannot be set through SCIM: SecureLogin does not take passwords from provisioning');
  }
  if (definition?.mutability === 'readOnly' || target.sub?.definition?.mutability === 'readOnly') {
    throw new Mutability(`${attributeLabel(target)} is read-only`);
  }
  if (op === 'remove' && definition?.required && !target.sub && !path.filter) {
    throw new Mutability(`${definition.name} is required and cannot be removed`);
  }
}

/** `attr` alone. */
function applyWhole(
  container: Record<string, unknown>,
  op: PatchOpName,
  target: AttributeReference & { kind: 'attribute' },
  value: unknown,
  hasValue: boolean,
): void {
  const key = keyIn(container, target.name) ?? target.name;
  const definition = target.definition;
  const label = attributeLabel(target);
  const current = container[key];
  const multiValued = definition ? definition.multiValued : Array.isArray(current);
  if (op === 'remove') {
    // Entra's dialect names the values to remove in "value" ({"path":"members","value":[{"value":"…"}]});
    // the same reading applies to any multi-valued attribute.
    if (multiValued && hasValue && value !== null && Array.isArray(current)) {
      const doomed = (Array.isArray(value) ? value : [value]).map((v) => normaliseElement(definition, v, label));
      const kept = current.filter((element) => !doomed.some((d) => sameValue(definition, element, d)));
      if (kept.length === 0) delete container[key];
      else container[key] = kept;
      return;
    }
    delete container[key];
    return;
  }
  if (key !== target.name) delete container[key];
  if (multiValued) {
    const incoming = (Array.isArray(value) ? value : [value])
      .map((v) => normaliseElement(definition, v, label))
      .filter((v) => v !== undefined);
    const merged = op === 'add' ? addValues(Array.isArray(current) ? current : [], incoming) : incoming;
    if (merged.length === 0) delete container[target.name];
    else container[target.name] = merged;
    return;
  }
  const normalised = normaliseValue(definition, value, label);
  if (definition?.type === 'complex' && isObject(current) && isObject(normalised)) {
    // RFC 7644 §3.5.2.1/3: sub-attributes not given are left unchanged, for add and replace alike.
    container[target.name] = { ...current, ...normalised };
  } else if (normalised === undefined) {
    delete container[target.name];
  } else {
    container[target.name] = normalised;
  }
}

/** `attr.sub` without a filter. */
function applySub(
  container: Record<string, unknown>,
  op: PatchOpName,
  target: AttributeReference & { kind: 'attribute' },
  path: PatchPath,
  value: unknown,
): void {
  const sub = target.sub!;
  const key = keyIn(container, target.name) ?? target.name;
  const current = container[key];
  const multiValued = target.definition ? target.definition.multiValued : Array.isArray(current);
  if (multiValued) {
    if (op !== 'remove') {
      throw new InvalidPath(
        `${target.name} is multi-valued: pick the values with a filter, e.g. ${target.name}[type eq "work"].${sub.name}`,
      );
    }
    if (Array.isArray(current)) {
      const kept = current.map((element) => (isObject(element) ? withoutKey(element, sub.name) : element)).filter((e) => !isEmpty(e));
      if (kept.length === 0) delete container[key];
      else container[key] = kept;
    }
    return;
  }
  if (op === 'remove') {
    if (isObject(current)) {
      const rest = withoutKey(current, sub.name);
      if (isEmpty(rest)) delete container[key];
      else container[key] = rest;
    }
    return;
  }
  if (current !== undefined && !isObject(current))
    throw new InvalidPath(`${target.name} holds a single value, so "${path.text}" names nothing`);
  const normalised = normaliseSub(sub.definition, value, attributeLabel(target));
  const next = { ...(isObject(current) ? withoutKey(current, sub.name) : {}) };
  if (normalised !== undefined) next[sub.name] = normalised;
  if (key !== target.name) delete container[key];
  if (isEmpty(next)) delete container[target.name];
  else container[target.name] = next;
}

/** `attr[filter]` and `attr[filter].sub`. */
function applyFiltered(
  container: Record<string, unknown>,
  op: PatchOpName,
  target: AttributeReference & { kind: 'attribute' },
  path: PatchPath,
  value: unknown,
): void {
  const filter = path.filter!;
  const definition = target.definition;
  const key = keyIn(container, target.name) ?? target.name;
  const current = container[key];
  if (current !== undefined && !Array.isArray(current))
    throw new InvalidPath(`${target.name} is not multi-valued, so "${path.text}" names nothing`);
  const values = (current ?? []) as unknown[];
  const matched = values.map((v) => matchesValue(definition, v, filter));
  const sub = target.sub;
  const label = attributeLabel(target);

  if (op === 'remove') {
    const next = sub
      ? values.map((v, i) => (matched[i] && isObject(v) ? withoutKey(v, sub.name) : v)).filter((v) => !isEmpty(v))
      : values.filter((_, i) => !matched[i]);
    if (next.length === 0) delete container[key];
    else container[key] = next;
    return;
  }

  if (!matched.includes(true)) {
    const pinned = equalities(definition, filter);
    if (!pinned) throw new NoTarget(`no value of ${target.name} matches "${path.text}"`);
    const created: Record<string, unknown> = { ...pinned };
    if (sub) created[sub.name] = value;
    else if (isObject(value)) Object.assign(created, value);
    else throw new InvalidValue(`${path.text} takes an object value`);
    const element = normaliseElement(definition, created, label);
    if (element === undefined) return;
    if (key !== target.name) delete container[key];
    container[target.name] = addValues(values, [element]);
    return;
  }

  const next = values.map((v, i) => {
    if (!matched[i]) return v;
    if (sub) {
      const normalised = normaliseSub(sub.definition, value, `${label}`);
      const rest = isObject(v) ? withoutKey(v, sub.name) : {};
      return normalised === undefined ? rest : { ...rest, [sub.name]: normalised };
    }
    const replacement = normaliseElement(definition, value, label);
    if (!isObject(replacement)) throw new InvalidValue(`${path.text} takes an object value`);
    return op === 'add' && isObject(v) ? { ...v, ...replacement } : replacement;
  });
  const cleaned = next.filter((v) => !isEmpty(v));
  const primary = sub?.name === 'primary' && value !== false && normaliseSub(sub.definition, value, label) === true;
  const result = primary ? cleaned.map((v, i) => (matched[i] || !isObject(v) ? v : withoutPrimary(v))) : cleaned;
  if (key !== target.name) delete container[key];
  if (result.length === 0) delete container[target.name];
  else container[target.name] = result;
}

function normaliseElement(definition: AttributeDefinition | undefined, value: unknown, label: string): unknown {
  return definition ? normaliseSingle(definition, value, label) : normaliseValue(undefined, value, label);
}

function normaliseSub(definition: AttributeDefinition | undefined, value: unknown, label: string): unknown {
  if (!definition) return normaliseValue(undefined, value, label);
  return definition.multiValued ? normaliseValue(definition, value, label) : normaliseSingle(definition, value, label);
}

/**
 * RFC 7644 §3.5.2.1 add to a multi-valued attribute: a new value is added
 * after the others, also when one of its `type` is there already (nothing
 * makes `type` unique); values already there are not added twice; a new
 * primary value makes the others non-primary (RFC 7643 §2.4).
 */
function addValues(current: unknown[], incoming: unknown[]): unknown[] {
  let result = [...current];
  for (const value of incoming) {
    if (result.some((existing) => sameJson(existing, value))) continue;
    if (isObject(value) && value.primary === true) result = result.map((e) => (isObject(e) ? withoutPrimary(e) : e));
    result.push(value);
  }
  return result;
}

/** Whether a stored value is the one a removal names: by its "value" when given, else entirely. */
function sameValue(definition: AttributeDefinition | undefined, element: unknown, named: unknown): boolean {
  if (isObject(named) && named.value !== undefined && isObject(element)) {
    const caseExact = definition?.subAttributes?.find((s) => s.name === 'value')?.caseExact ?? false;
    const a = element.value;
    const b = named.value;
    if (typeof a === 'string' && typeof b === 'string' && !caseExact) return a.toLowerCase() === b.toLowerCase();
    return sameJson(a, b);
  }
  return sameJson(element, named);
}

function withoutKey(object: Record<string, unknown>, name: string): Record<string, unknown> {
  const key = keyIn(object, name);
  if (key === undefined) return object;
  const { [key]: _, ...rest } = object;
  return rest;
}

function withoutPrimary(object: Record<string, unknown>): Record<string, unknown> {
  return object.primary === true ? { ...object, primary: false } : object;
}

function isEmpty(value: unknown): boolean {
  return isObject(value) && Object.keys(value).length === 0;
}

import { InvalidSyntax, InvalidValue } from './errors.ts';
import { type AttributeReference, attributeLabel, resolveAttribute } from './paths.ts';
import type { AttributeDefinition, ResourceTypeDefinition } from './schemas.ts';

/**
 * A resource's attributes as stored: what the client sent, minus id and meta,
 * with known attribute names in the schema's spelling and values as sent
 * (string booleans become booleans: the schema says boolean, and Entra
 * sends "False"). Extensions live under their schema URN.
 */
export type Document = Record<string, unknown>;

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The key in `object` that names `name` without regard to case (attribute names are case-insensitive). */
export function keyIn(object: Record<string, unknown>, name: string): string | undefined {
  if (Object.hasOwn(object, name)) return name;
  const lower = name.toLowerCase();
  return Object.keys(object).find((k) => k.toLowerCase() === lower);
}

/** Where `ref` lives: the document itself, or its extension object (made when `create`). */
export function containerOf(document: Document, ref: AttributeReference, create: boolean): Record<string, unknown> | undefined {
  if (ref.extension === null) return document;
  const key = keyIn(document, ref.extension) ?? ref.extension;
  const existing = document[key];
  if (isObject(existing)) return existing;
  if (!create) return undefined;
  const made: Record<string, unknown> = {};
  document[key] = made;
  return made;
}

/** Drops an extension object that an edit left empty, so it does not linger in `schemas`. */
export function pruneExtension(document: Document, ref: AttributeReference): void {
  if (ref.extension === null) return;
  const key = keyIn(document, ref.extension);
  if (key && isObject(document[key]) && Object.keys(document[key] as object).length === 0) delete document[key];
}

const TRUE_OR_FALSE = /^(true|false)$/i;

/**
 * Checks and normalises one value for a known attribute. `undefined` means
 * unassigned (null and empty arrays are, by RFC 7643 §2.5). Unknown
 * attributes and sub-attributes are kept as sent.
 */
export function normaliseValue(definition: AttributeDefinition | undefined, value: unknown, label: string): unknown {
  if (value === null || value === undefined) return undefined;
  if (!definition) return dropNulls(value);
  if (definition.multiValued) {
    if (!Array.isArray(value)) throw new InvalidValue(`${label} is multi-valued: send an array`);
    const values = value.map((v, i) => normaliseSingle(definition, v, `${label}[${i}]`)).filter((v) => v !== undefined);
    return values.length === 0 ? undefined : values;
  }
  return normaliseSingle(definition, value, label);
}

/** One value of the attribute (an element, for multi-valued ones). */
export function normaliseSingle(definition: AttributeDefinition, value: unknown, label: string): unknown {
  if (value === null || value === undefined) return undefined;
  switch (definition.type) {
    case 'string':
    case 'reference':
    case 'binary':
      if (typeof value !== 'string') throw new InvalidValue(`${label} must be a string, got ${describeType(value)}`);
      return value;
    case 'dateTime':
      if (typeof value !== 'string' || Number.isNaN(Date.parse(value))) throw new InvalidValue(`${label} must be an xsd:dateTime string`);
      return value;
    case 'boolean':
      if (typeof value === 'boolean') return value;
      if (typeof value === 'string' && TRUE_OR_FALSE.test(value)) return value.toLowerCase() === 'true';
      throw new InvalidValue(`${label} must be true or false, got ${JSON.stringify(value)}`);
    case 'integer':
      if (!Number.isInteger(value)) throw new InvalidValue(`${label} must be an integer`);
      return value;
    case 'decimal':
      if (typeof value !== 'number' || !Number.isFinite(value)) throw new InvalidValue(`${label} must be a number`);
      return value;
    case 'complex':
      return normaliseComplex(definition, value, label);
  }
}

function normaliseComplex(definition: AttributeDefinition, value: unknown, label: string): unknown {
  // Entra sends the enterprise manager as a bare id ("manager": "123456"),
  // where the schema has a complex {value, $ref, displayName}: keep the id as
  // sent, in the shape the schema and the filters expect.
  if (typeof value === 'string' && definition.subAttributes?.some((s) => s.name === 'value')) return { value };
  if (!isObject(value)) throw new InvalidValue(`${label} must be an object with sub-attributes, got ${describeType(value)}`);
  const out: Record<string, unknown> = {};
  for (const [key, raw] of Object.entries(value)) {
    const sub = definition.subAttributes?.find((s) => s.name.toLowerCase() === key.toLowerCase());
    const normalised = sub ? normaliseSingleOrList(sub, raw, `${label}.${sub.name}`) : dropNulls(raw);
    if (normalised !== undefined) out[sub?.name ?? key] = normalised;
  }
  return Object.keys(out).length === 0 ? undefined : out;
}

function normaliseSingleOrList(definition: AttributeDefinition, value: unknown, label: string): unknown {
  return definition.multiValued ? normaliseValue(definition, value, label) : normaliseSingle(definition, value, label);
}

function dropNulls(value: unknown): unknown {
  if (value === null) return undefined;
  if (Array.isArray(value)) return value.map(dropNulls).filter((v) => v !== undefined);
  if (isObject(value)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      const kept = dropNulls(v);
      if (kept !== undefined) out[k] = kept;
    }
    return out;
  }
  return value;
}

function describeType(value: unknown): string {
  if (Array.isArray(value)) return 'an array';
  if (value === null) return 'null';
  return typeof value === 'object' ? 'an object' : `${typeof value} ${JSON.stringify(value)}`;
}

/**
 * How a key of a resource body (or of a path-less PATCH value) is read: an
 * attribute (`userName`, `name.givenName`, `urn:…:User:employeeNumber`), or a
 * whole extension object (`urn:…:enterprise:2.0:User`, or one we do not know).
 */
export function resolveKey(type: ResourceTypeDefinition, key: string, value: unknown): AttributeReference {
  const fail = (detail: string) => new InvalidValue(detail);
  const ref = resolveAttribute(type, key, fail);
  if (ref.kind === 'attribute' && ref.extension !== null && !ref.definition && isObject(value) && !ref.sub) {
    const known = type.extensions.some((s) => s.id.toLowerCase() === ref.extension?.toLowerCase());
    // "urn:…:CustomExtension:2.0:User": {…} is an extension we do not define, not attribute "User" of "urn:…:2.0".
    if (!known) return { kind: 'extension', extension: key };
  }
  return ref;
}

/** Extension keys that are not (case-insensitively) one we define are kept under the key as sent. */
function extensionKey(type: ResourceTypeDefinition, urn: string): string {
  return type.extensions.find((s) => s.id.toLowerCase() === urn.toLowerCase())?.id ?? urn;
}

/**
 * The members of a resource body (or of a path-less PATCH value) with core
 * attributes nested under the core schema URN
 * (`{"urn:…:core:2.0:User": {"userName": …}}`, as some clients send them)
 * lifted to the top, where they are read as if sent there.
 */
export function liftCore(type: ResourceTypeDefinition, object: Record<string, unknown>): [string, unknown][] {
  const core = type.schema.id.toLowerCase();
  return Object.entries(object).flatMap(([key, value]): [string, unknown][] => {
    if (key.toLowerCase() !== core) return [[key, value]];
    if (value === null) return [];
    if (!isObject(value)) throw new InvalidValue(`${type.schema.id} takes an object holding the core attributes`);
    return Object.entries(value).filter(([inner]) => inner.toLowerCase() !== 'schemas');
  });
}

/**
 * The document for a POST or PUT body. id and meta are read-only and
 * ignored (RFC 7644 §3.3), as are other read-only attributes (a user's
 * groups); a password is never stored: SecureLogin does not take passwords
 * from provisioning.
 */
export function readResource(type: ResourceTypeDefinition, body: unknown): Document {
  if (!isObject(body)) throw new InvalidSyntax(`the body must be a JSON object: a ${type.name} resource`);
  const document: Document = {};
  for (const [key, value] of liftCore(type, body)) {
    const lower = key.toLowerCase();
    if (lower === 'schemas') {
      checkSchemas(type, value);
      document.schemas = value;
      continue;
    }
    if (lower === 'id' || lower === 'meta') continue;
    const ref = resolveKey(type, key, value);
    if (ref.kind === 'extension') {
      setExtension(type, document, ref.extension, value);
      continue;
    }
    assign(document, ref, value);
  }
  return document;
}

function checkSchemas(type: ResourceTypeDefinition, value: unknown): void {
  if (!Array.isArray(value) || !value.every((s) => typeof s === 'string')) {
    throw new InvalidSyntax('"schemas" must be an array of schema URNs');
  }
  if (!value.some((s) => s.toLowerCase() === type.schema.id.toLowerCase())) {
    throw new InvalidSyntax(`"schemas" must include ${type.schema.id}`);
  }
}

function setExtension(type: ResourceTypeDefinition, document: Document, urn: string, value: unknown): void {
  if (value === null) return;
  if (!isObject(value)) throw new InvalidValue(`${urn} must be an object holding that extension's attributes`);
  const known = type.extensions.find((s) => s.id.toLowerCase() === urn.toLowerCase());
  if (!known) {
    const kept = dropNulls(value) as Record<string, unknown>;
    if (Object.keys(kept).length > 0) document[extensionKey(type, urn)] = kept;
    return;
  }
  for (const [key, inner] of Object.entries(value)) {
    assign(
      document,
      resolveAttribute(type, `${known.id}:${key}`, (d) => new InvalidValue(d)),
      inner,
    );
  }
}

/** Sets one attribute (or sub-attribute) in a fresh document, as a body key does. */
function assign(document: Document, ref: AttributeReference, value: unknown): void {
  if (ref.kind !== 'attribute') return;
  const definition = ref.definition;
  if (definition?.mutability === 'readOnly' || definition?.mutability === 'writeOnly') return;
  if (ref.sub?.definition?.mutability === 'readOnly') return;
  const container = containerOf(document, ref, true) as Record<string, unknown>;
  const label = attributeLabel(ref);
  if (ref.sub) {
    if (definition?.multiValued) throw new InvalidValue(`${label}: ${ref.name} is multi-valued; send ${ref.name} as an array instead`);
    const current = container[ref.name];
    const parent: Record<string, unknown> = isObject(current) ? current : {};
    const normalised = ref.sub.definition ? normaliseSingleOrList(ref.sub.definition, value, label) : dropNulls(value);
    if (normalised === undefined) delete parent[ref.sub.name];
    else parent[ref.sub.name] = normalised;
    if (Object.keys(parent).length > 0) container[ref.name] = parent;
  } else {
    const normalised = normaliseValue(definition, value, label);
    if (normalised === undefined) delete container[ref.name];
    else container[ref.name] = normalised;
  }
  pruneExtension(document, ref);
}

/**
 * What must hold for any stored resource, after POST, PUT or all of a
 * PATCH's operations: required attributes present; in multi-valued complex
 * attributes, `primary` true at most once (RFC 7643 §2.4). Nothing makes
 * `type` unique: two work emails, or two mobile numbers, are kept in order.
 */
export function checkDocument(type: ResourceTypeDefinition, document: Document): void {
  for (const definition of type.schema.attributes) {
    const value = document[definition.name];
    if (definition.required && (value === undefined || value === '')) {
      throw new InvalidValue(`${definition.name} is required`);
    }
  }
  for (const schema of [type.schema, ...type.extensions]) {
    const container = schema === type.schema ? document : document[schema.id];
    if (!isObject(container)) continue;
    for (const definition of schema.attributes) {
      const value = container[definition.name];
      if (definition.multiValued && definition.type === 'complex' && Array.isArray(value)) checkValues(definition.name, value);
    }
  }
}

function checkValues(name: string, values: unknown[]): void {
  const primaries = values.filter((value) => isObject(value) && value.primary === true).length;
  if (primaries > 1) throw new InvalidValue(`${name} has more than one primary value`);
}

/** `schemas` of a resource as returned: the core schema and every extension that holds data. */
export function schemasOf(type: ResourceTypeDefinition, document: Document): string[] {
  const schemas = [type.schema.id];
  for (const [key, value] of Object.entries(document)) {
    if (/^urn:/i.test(key) && isObject(value) && Object.keys(value).length > 0) schemas.push(key);
  }
  return schemas;
}

/** Deep equality of JSON values, ignoring key order: an edit that changes nothing must not bump the version. */
export function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((v, i) => sameJson(v, b[i]));
  if (isObject(a) && isObject(b)) {
    const keys = Object.keys(a);
    return keys.length === Object.keys(b).length && keys.every((k) => Object.hasOwn(b, k) && sameJson(a[k], b[k]));
  }
  return false;
}

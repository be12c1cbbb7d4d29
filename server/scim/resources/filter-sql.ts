import { type RawBuilder, type SqlBool, sql } from 'kysely';
import type { Dialect } from '../../store/index.ts';
import { readDateTime } from '../protocol/date-time.ts';
import { InvalidFilter, Sensitive } from '../protocol/errors.ts';
import type { Filter } from '../protocol/filter.ts';
import { type AttributeReference, attributeLabel, resolveAttribute } from '../protocol/paths.ts';
import { type AttributeDefinition, findAttribute, type ResourceTypeDefinition } from '../protocol/schemas.ts';

type Predicate = RawBuilder<SqlBool>;
type CompareOp = 'eq' | 'ne' | 'co' | 'sw' | 'ew' | 'gt' | 'lt' | 'ge' | 'le';
type Value = string | number | boolean | null;

/** An attribute kept in its own column, so comparing it is plain SQL and, for the matching attributes, an index lookup. */
export interface FilterColumn {
  column: string;
  kind: 'string' | 'boolean' | 'dateTime';
  caseExact: boolean;
  nullable: boolean;
}

/** How a resource type's filterable attributes map onto its table. */
export interface FilterTable {
  table: 'users' | 'groups';
  /** Keyed by the attribute path in the schema's spelling, lower case ("username", "meta.created"). */
  columns: Record<string, FilterColumn>;
  /** The multi-valued attribute that lives in the memberships table: a user's groups, a group's members. */
  membership: { attribute: string; own: 'user_id' | 'group_id'; other: 'user_id' | 'group_id' };
  /** The column holding emails[type eq "work"].value, when the resource has one. */
  workEmail?: string;
}

/** Filters with more nodes than this are refused: enough for any real client, small enough to bound the SQL. */
const MAX_NODES = 200;

/**
 * Compiles a parsed filter into one SQL predicate for the resource's table.
 * Every predicate it produces is true or false, never NULL, so `not` and
 * `ne` include resources that lack the attribute (RFC 7644 leaves absent
 * values to the service provider; "not equal" is the least surprising).
 *
 * Columns are compared directly (userName, externalId, displayName, the
 * work email: index lookups). Any other attribute is read from the JSON
 * document, which is the one place where the SQL differs per engine:
 * SQLite has json_extract/json_type/json_each, PostgreSQL jsonb operators
 * and jsonb_array_elements.
 */
export function filterToSql(type: ResourceTypeDefinition, table: FilterTable, dialect: Dialect, filter: Filter): Predicate {
  let nodes = 0;
  const json = dialect === 'postgres' ? postgresJson : sqliteJson;
  const document = sql.ref(`${table.table}.attributes`);

  const walk = (f: Filter, scope: Scope): Predicate => {
    if (++nodes > MAX_NODES) throw new InvalidFilter(`the filter has more than ${MAX_NODES} terms`);
    switch (f.op) {
      case 'and':
      case 'or':
        return sql<SqlBool>`(${sql.join(
          f.filters.map((x) => walk(x, scope)),
          f.op === 'and' ? sql` and ` : sql` or `,
        )})`;
      case 'not':
        return sql<SqlBool>`(not ${walk(f.filter, scope)})`;
      case '[]':
        return scope.valuePath(f.attrPath, f.valFilter, (inner, innerScope) => walk(inner, innerScope));
      case 'pr':
        return scope.present(f.attrPath);
      default:
        return scope.compare(f.attrPath, f.op as CompareOp, f.compValue);
    }
  };

  const root: Scope = {
    compare(path, op, value) {
      const ref = resolve(type, path);
      const column = columnFor(table, ref);
      if (column) return compareColumn(dialect, column, op, value, path);
      if (isMembership(table, ref)) return membershipCompare(table, op, value, ref, path);
      const definition = ref.definition;
      if (definition?.multiValued) {
        const sub = subOf(definition, ref.sub?.name, path);
        return json.anyElement(document, jsonPath(ref), (element) =>
          compareJson(dialect, json, element, sub ? [sub.name] : [], sub, op, value, path),
        );
      }
      if (definition?.type === 'complex' && !ref.sub) {
        // A reference like the enterprise manager compares on its "value" (Microsoft's "manager eq <id>").
        const inner = subOf(definition, undefined, path)!;
        return compareJson(dialect, json, { root: document, path: [...jsonPath(ref), inner.name] }, [], inner, op, value, path);
      }
      const leaf = ref.sub ? (ref.sub.definition ?? unknownLeaf(ref.sub.name)) : (definition ?? unknownLeaf(ref.name));
      return compareJson(dialect, json, { root: document, path: jsonPath(ref) }, [], leaf, op, value, path);
    },
    present(path) {
      const ref = resolve(type, path);
      const column = columnFor(table, ref);
      if (column)
        return column.nullable
          ? sql<SqlBool>`(${sql.ref(column.column)} is not null and ${sql.ref(column.column)} <> '')`
          : sql<SqlBool>`true`;
      if (isMembership(table, ref)) return membershipExists(table, undefined);
      if (ref.definition?.multiValued && ref.sub) {
        return json.anyElement(document, jsonPath(ref), (element) => json.present({ ...element, path: [ref.sub!.name] }));
      }
      return json.present({ root: document, path: jsonPath(ref) });
    },
    valuePath(path, inner, compile) {
      const ref = resolve(type, path);
      if (ref.sub) throw new InvalidFilter(`"${path}[…]": a value filter applies to a multi-valued attribute, not a sub-attribute`);
      if (isMembership(table, ref)) return membershipExists(table, compile(inner, membershipScope(table, path)));
      const definition = ref.definition;
      if (definition && !definition.multiValued)
        throw new InvalidFilter(`${definition.name} is single-valued; "[…]" applies to multi-valued attributes`);
      const workEmail = table.workEmail && ref.extension === null && ref.name === 'emails' ? workEmailLookup(inner) : undefined;
      if (workEmail !== undefined) {
        // emails[type eq "work"].value eq "x": Entra's matching query, answered from the indexed column.
        const column = sql.ref(table.workEmail!);
        return sql<SqlBool>`(${column} is not null and lower(${column}) = lower(${workEmail}))`;
      }
      return json.anyElement(document, jsonPath(ref), (element) => compile(inner, elementScope(dialect, json, element, definition)));
    },
  };

  return walk(filter, root);
}

interface Scope {
  compare(path: string, op: CompareOp, value: Value): Predicate;
  present(path: string): Predicate;
  valuePath(path: string, inner: Filter, compile: (inner: Filter, scope: Scope) => Predicate): Predicate;
}

function resolve(type: ResourceTypeDefinition, path: string): AttributeReference & { kind: 'attribute' } {
  const ref = resolveAttribute(type, path, (detail) => new InvalidFilter(detail));
  if (ref.kind !== 'attribute') throw new InvalidFilter(`"${path}" names a whole extension; filter on one of its attributes`);
  if (ref.extension === null && ref.name === 'password')
    throw new Sensitive('filtering on password is not allowed: a request URI must not carry secrets');
  return ref;
}

function columnFor(table: FilterTable, ref: AttributeReference & { kind: 'attribute' }): FilterColumn | undefined {
  if (ref.extension !== null) return undefined;
  if (ref.name === 'meta') {
    const sub = ref.sub?.name.toLowerCase();
    const column = sub ? table.columns[`meta.${sub}`] : undefined;
    if (!column) throw new InvalidFilter(`${attributeLabel(ref)} cannot be filtered on; use meta.created or meta.lastModified`);
    return column;
  }
  if (ref.sub) return undefined;
  return table.columns[ref.name.toLowerCase()];
}

function isMembership(table: FilterTable, ref: AttributeReference & { kind: 'attribute' }): boolean {
  return ref.extension === null && ref.name === table.membership.attribute;
}

function subOf(definition: AttributeDefinition, name: string | undefined, path: string): AttributeDefinition | undefined {
  if (name === undefined) {
    if (definition.type !== 'complex') return undefined;
    // RFC 7644 §3.4.2.2: a complex multi-valued attribute compared as a whole is compared on its "value".
    const value = findAttribute(definition.subAttributes, 'value');
    if (!value) throw new InvalidFilter(`${definition.name} has no "value" sub-attribute; name one in "${path}"`);
    return value;
  }
  return findAttribute(definition.subAttributes, name) ?? unknownLeaf(name);
}

/** Attributes we do not define compare without regard to case, the RFC 7643 §2.2 default. */
function unknownLeaf(name: string): AttributeDefinition {
  return {
    name,
    type: 'string',
    multiValued: false,
    description: '',
    required: false,
    caseExact: false,
    mutability: 'readWrite',
    returned: 'default',
    uniqueness: 'none',
  };
}

function jsonPath(ref: AttributeReference & { kind: 'attribute' }): string[] {
  const path = ref.extension === null ? [ref.name] : [ref.extension, ref.name];
  return ref.sub && !ref.definition?.multiValued ? [...path, ref.sub.name] : path;
}

/** The value of `emails[type eq "work" and value eq X]` (either order, any case of "work"), or undefined. */
function workEmailLookup(inner: Filter): string | undefined {
  if (inner.op !== 'and' || inner.filters.length !== 2) return undefined;
  let type = false;
  let value: string | undefined;
  for (const f of inner.filters) {
    if (f.op !== 'eq' || typeof f.compValue !== 'string') return undefined;
    const name = f.attrPath.toLowerCase();
    if (name === 'type' && f.compValue.toLowerCase() === 'work') type = true;
    else if (name === 'value') value = f.compValue;
    else return undefined;
  }
  return type ? value : undefined;
}

// ---------------------------------------------------------------- columns

function compareColumn(dialect: Dialect, column: FilterColumn, op: CompareOp, value: Value, path: string): Predicate {
  const ref = sql.ref(column.column);
  if (value === null) {
    if (op === 'eq') return column.nullable ? sql<SqlBool>`(${ref} is null)` : sql<SqlBool>`false`;
    if (op === 'ne') return column.nullable ? sql<SqlBool>`(${ref} is not null)` : sql<SqlBool>`true`;
    throw new InvalidFilter(`"${op} null" is not a comparison; use "pr" or "eq null"`);
  }
  if (column.kind === 'boolean') {
    const wanted = booleanValue(value, path);
    if (op === 'eq') return sql<SqlBool>`(${ref} = ${wanted ? 1 : 0})`;
    if (op === 'ne') return sql<SqlBool>`(${ref} <> ${wanted ? 1 : 0})`;
    throw new InvalidFilter(`"${op}" does not apply to ${path}, which is true or false`);
  }
  let text: string;
  if (column.kind === 'dateTime') {
    const moment = dateTimeValue(value, op, path);
    if (typeof moment === 'boolean') return moment ? sql<SqlBool>`true` : sql<SqlBool>`false`;
    ({ op, text } = moment);
  } else {
    text = stringValue(value, path);
  }
  const predicate = compareText(
    dialect,
    column.caseExact ? ref : sql`lower(${ref})`,
    column.caseExact ? sql`${text}` : sql`lower(${text})`,
    op,
    text,
  );
  if (op === 'ne') {
    const equal = compareText(
      dialect,
      column.caseExact ? ref : sql`lower(${ref})`,
      column.caseExact ? sql`${text}` : sql`lower(${text})`,
      'eq',
      text,
    );
    return column.nullable ? sql<SqlBool>`(${ref} is null or not ${equal})` : sql<SqlBool>`(not ${equal})`;
  }
  return column.nullable ? sql<SqlBool>`(${ref} is not null and ${predicate})` : predicate;
}

/** Text comparison; `a` and `b` are already lower-cased when the attribute is not caseExact. */
function compareText(dialect: Dialect, a: RawBuilder<unknown>, b: RawBuilder<unknown>, op: CompareOp, raw: string): Predicate {
  switch (op) {
    case 'eq':
      return sql<SqlBool>`(${a} = ${b})`;
    case 'ne':
      return sql<SqlBool>`(${a} <> ${b})`;
    case 'co':
      if (raw === '') return sql<SqlBool>`(${a} is not null)`;
      return dialect === 'postgres' ? sql<SqlBool>`(strpos(${a}, ${b}) > 0)` : sql<SqlBool>`(instr(${a}, ${b}) > 0)`;
    case 'sw':
      if (raw === '') return sql<SqlBool>`(${a} is not null)`;
      return sql<SqlBool>`(substr(${a}, 1, length(${b})) = ${b})`;
    case 'ew':
      if (raw === '') return sql<SqlBool>`(${a} is not null)`;
      return dialect === 'postgres' ? sql<SqlBool>`(right(${a}, length(${b})) = ${b})` : sql<SqlBool>`(substr(${a}, -length(${b})) = ${b})`;
    default: {
      const operator = sql.raw({ gt: '>', ge: '>=', lt: '<', le: '<=' }[op]);
      // PostgreSQL would order by the database's locale; byte order matches SQLite and ISO timestamps.
      return dialect === 'postgres' ? sql<SqlBool>`(${a} ${operator} ${b} collate "C")` : sql<SqlBool>`(${a} ${operator} ${b})`;
    }
  }
}

function stringValue(value: Value, path: string): string {
  if (typeof value !== 'string') throw new InvalidFilter(`${path} is a string: quote the value (${JSON.stringify(String(value))})`);
  return value;
}

function booleanValue(value: Value, path: string): boolean {
  if (typeof value === 'boolean') return value;
  if (typeof value === 'string' && /^(true|false)$/i.test(value)) return value.toLowerCase() === 'true';
  throw new InvalidFilter(`${path} is true or false, not ${JSON.stringify(value)}`);
}

/**
 * Timestamps are stored as toISOString() text, to the millisecond, so a
 * filter value is brought to the same form to compare as text. A value
 * between two milliseconds (.8617979) lies just after the one it falls in
 * (.861): `ge` it means `gt` that one, `lt` means `le`, and `eq` holds for
 * no stored time (the answer, true or false, when it is known outright).
 */
function dateTimeValue(value: Value, op: CompareOp, path: string): { op: CompareOp; text: string } | boolean {
  if (op === 'co' || op === 'sw' || op === 'ew') throw new InvalidFilter(`"${op}" does not apply to ${path}, a date and time`);
  const instant = typeof value === 'string' ? readDateTime(value) : undefined;
  if (!instant) throw new InvalidFilter(`${path} is a date and time: give an xsd:dateTime like "2025-01-31T12:00:00Z"`);
  if (!instant.between) return { op, text: instant.iso };
  if (op === 'eq' || op === 'ne') return op === 'ne';
  return { op: op === 'gt' || op === 'ge' ? 'gt' : 'le', text: instant.iso };
}

// ---------------------------------------------------------------- memberships

function membershipExists(table: FilterTable, condition: Predicate | undefined): Predicate {
  const { own } = table.membership;
  const where = condition ? sql`and ${condition}` : sql``;
  return sql<SqlBool>`exists (select 1 from memberships as m where m.${sql.ref(own)} = ${sql.ref(`${table.table}.id`)} and m.tenant_id = ${sql.ref(`${table.table}.tenant_id`)} ${where})`;
}

function membershipCompare(
  table: FilterTable,
  op: CompareOp,
  value: Value,
  ref: AttributeReference & { kind: 'attribute' },
  path: string,
): Predicate {
  if (ref.sub && ref.sub.name !== 'value') throw new InvalidFilter(`${path}: ${ref.name} can be filtered on value only`);
  if (op !== 'eq' || typeof value !== 'string') throw new InvalidFilter(`${path}: ${ref.name} can be filtered with "eq" and an id only`);
  return membershipExists(table, sql<SqlBool>`m.${sql.ref(table.membership.other)} = ${value}`);
}

function membershipScope(table: FilterTable, outer: string): Scope {
  return {
    compare(path, op, value) {
      const name = path.toLowerCase();
      if (name === 'value' && op === 'eq' && typeof value === 'string')
        return sql<SqlBool>`(m.${sql.ref(table.membership.other)} = ${value})`;
      if (name === 'type' && (op === 'eq' || op === 'ne') && typeof value === 'string') {
        const isType = value.toLowerCase() === (table.table === 'groups' ? 'user' : 'direct');
        return (op === 'eq') === isType ? sql<SqlBool>`true` : sql<SqlBool>`false`;
      }
      throw new InvalidFilter(`${outer}[…]: only "value eq" and "type eq" can be used on ${outer}`);
    },
    present(path) {
      if (path.toLowerCase() === 'value' || path.toLowerCase() === 'type') return sql<SqlBool>`true`;
      throw new InvalidFilter(`${outer}[…]: only value and type can be used on ${outer}`);
    },
    valuePath() {
      throw new InvalidFilter('a value filter cannot contain another value filter');
    },
  };
}

// ---------------------------------------------------------------- JSON

/** A JSON value: `path` inside `root` (the document column, or one element of an array). */
interface JsonValue {
  root: RawBuilder<unknown>;
  path: string[];
  /** SQLite: the element's json_each type, which must be 'object' before its members are read. */
  elementType?: RawBuilder<unknown>;
}

interface JsonSql {
  /** Whether the value is a JSON string, and its text. */
  isString(v: JsonValue): RawBuilder<unknown>;
  text(v: JsonValue): RawBuilder<unknown>;
  isBoolean(v: JsonValue, wanted: boolean): Predicate;
  /** The number, or NULL when the value is not a number. */
  number(v: JsonValue): RawBuilder<unknown>;
  present(v: JsonValue): Predicate;
  /** Whether any element of the array at `path` satisfies `condition`. */
  anyElement(root: RawBuilder<unknown>, path: string[], condition: (element: JsonValue) => Predicate): Predicate;
}

/** SQLite JSON paths: $."a"."b"; names are checked against the attribute grammar, so they hold no quotes. */
function sqlitePath(path: string[]): string {
  return `$${path.map((p) => `."${p}"`).join('')}`;
}

const sqliteJson: JsonSql = {
  isString: (v) => sql`(${sqliteType(v)} = 'text')`,
  text: (v) => sqliteValue(v),
  isBoolean: (v, wanted) => sql<SqlBool>`coalesce(${sqliteType(v)} = ${wanted ? 'true' : 'false'}, false)`,
  number: (v) => sql`(case when ${sqliteType(v)} in ('integer', 'real') then ${sqliteValue(v)} end)`,
  present: (v) =>
    sql<SqlBool>`coalesce(${sqliteType(v)} not in ('null') and not (${sqliteType(v)} = 'text' and ${sqliteValue(v)} = '') and not (${sqliteType(v)} = 'array' and ${sqliteValue(v)} = '[]') and not (${sqliteType(v)} = 'object' and ${sqliteValue(v)} = '{}'), false)`,
  anyElement: (root, path, condition) => {
    const at = sqlitePath(path);
    const element: JsonValue = { root: sql.ref('e.value'), path: [], elementType: sql.ref('e.type') };
    return sql<SqlBool>`exists (select 1 from json_each(${root}, ${at}) as e where json_type(${root}, ${at}) = 'array' and ${condition(element)})`;
  },
};

function sqliteType(v: JsonValue): RawBuilder<unknown> {
  if (v.elementType) {
    if (v.path.length === 0) return v.elementType;
    return sql`(case when ${v.elementType} = 'object' then json_type(${v.root}, ${sqlitePath(v.path)}) end)`;
  }
  return sql`json_type(${v.root}, ${sqlitePath(v.path)})`;
}

function sqliteValue(v: JsonValue): RawBuilder<unknown> {
  if (v.elementType) {
    if (v.path.length === 0) return v.root;
    return sql`(case when ${v.elementType} = 'object' then json_extract(${v.root}, ${sqlitePath(v.path)}) end)`;
  }
  // json_extract gives an array or object back as JSON text; present() compares that with '[]' / '{}'.
  return sql`json_extract(${v.root}, ${sqlitePath(v.path)})`;
}

function postgresNode(v: JsonValue): RawBuilder<unknown> {
  return v.path.length === 0 ? v.root : sql`(${v.root} #> ${v.path}::text[])`;
}

const postgresJson: JsonSql = {
  isString: (v) => sql`(jsonb_typeof(${postgresNode(v)}) = 'string')`,
  text: (v) => sql`(${postgresNode(v)} #>> '{}')`,
  isBoolean: (v, wanted) => sql<SqlBool>`coalesce(${postgresNode(v)} = ${wanted ? sql`'true'::jsonb` : sql`'false'::jsonb`}, false)`,
  number: (v) => sql`(case when jsonb_typeof(${postgresNode(v)}) = 'number' then (${postgresNode(v)} #>> '{}')::numeric end)`,
  present: (v) =>
    sql<SqlBool>`coalesce(jsonb_typeof(${postgresNode(v)}) <> 'null' and ${postgresNode(v)} not in ('""'::jsonb, '[]'::jsonb, '{}'::jsonb), false)`,
  anyElement: (root, path, condition) => {
    const node = postgresNode({ root, path });
    const element: JsonValue = { root: sql.ref('e.value'), path: [] };
    return sql<SqlBool>`exists (select 1 from jsonb_array_elements(case when jsonb_typeof(${node}) = 'array' then ${node} else '[]'::jsonb end) as e(value) where ${condition(element)})`;
  },
};

/**
 * Compares a JSON value. The compared value's JSON type must match the
 * filter value's (a string never equals a number), so both engines agree.
 */
function compareJson(
  dialect: Dialect,
  json: JsonSql,
  base: JsonValue,
  sub: string[],
  leaf: AttributeDefinition | undefined,
  op: CompareOp,
  value: Value,
  path: string,
): Predicate {
  const v: JsonValue = { ...base, path: [...base.path, ...sub] };
  if (value === null) {
    if (op === 'eq') return sql<SqlBool>`(not ${json.present(v)})`;
    if (op === 'ne') return json.present(v);
    throw new InvalidFilter(`"${op} null" is not a comparison; use "pr" or "eq null"`);
  }
  const kind = leaf?.type;
  if (typeof value === 'boolean' || kind === 'boolean') {
    const wanted = booleanValue(value, path);
    if (op === 'eq') return json.isBoolean(v, wanted);
    if (op === 'ne') return sql<SqlBool>`(not ${json.isBoolean(v, wanted)})`;
    throw new InvalidFilter(`"${op}" does not apply to true or false`);
  }
  if (typeof value === 'number') {
    if (op === 'co' || op === 'sw' || op === 'ew') throw new InvalidFilter(`"${op}" does not apply to numbers`);
    const operator = sql.raw({ eq: '=', ne: '=', gt: '>', ge: '>=', lt: '<', le: '<=' }[op]);
    const equal = sql<SqlBool>`coalesce(${json.number(v)} ${operator} ${value}, false)`;
    return op === 'ne' ? sql<SqlBool>`(not ${equal})` : equal;
  }
  let text = value;
  if (kind === 'dateTime') {
    const moment = dateTimeValue(value, op, path);
    if (typeof moment === 'boolean') return moment ? sql<SqlBool>`true` : sql<SqlBool>`false`;
    ({ op, text } = moment);
  }
  const caseExact = leaf?.caseExact ?? false;
  const actual = caseExact ? json.text(v) : sql`lower(${json.text(v)})`;
  const expected = caseExact ? sql`${text}` : sql`lower(${text})`;
  if (op === 'ne')
    return sql<SqlBool>`(not coalesce(${json.isString(v)} and ${compareText(dialect, actual, expected, 'eq', text)}, false))`;
  return sql<SqlBool>`coalesce(${json.isString(v)} and ${compareText(dialect, actual, expected, op, text)}, false)`;
}

function elementScope(dialect: Dialect, json: JsonSql, element: JsonValue, definition: AttributeDefinition | undefined): Scope {
  const leafOf = (path: string): AttributeDefinition | undefined => {
    if (path.includes('.') || path.includes(':'))
      throw new InvalidFilter(`"${path}" inside a value filter must be a plain sub-attribute name`);
    return definition?.subAttributes
      ? (findAttribute(definition.subAttributes, path) ?? unknownLeaf(path))
      : path === 'value'
        ? definition
        : unknownLeaf(path);
  };
  const pathOf = (path: string): string[] => {
    // Multi-valued attributes of plain values (no sub-attributes) are filtered on "value", the element itself.
    if (definition && !definition.subAttributes && path.toLowerCase() === 'value') return [];
    return [findAttribute(definition?.subAttributes, path)?.name ?? path];
  };
  return {
    compare: (path, op, value) => compareJson(dialect, json, element, pathOf(path), leafOf(path), op, value, path),
    present: (path) => {
      leafOf(path);
      return json.present({ ...element, path: pathOf(path) });
    },
    valuePath: () => {
      throw new InvalidFilter('a value filter cannot contain another value filter');
    },
  };
}

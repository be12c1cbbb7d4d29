import { InvalidFilter } from './errors.ts';
import type { Filter } from './filter.ts';
import { isObject, keyIn } from './resource.ts';
import { type AttributeDefinition, findAttribute } from './schemas.ts';

/**
 * Evaluates the filter of a PATCH value path (`emails[type eq "work"]`)
 * against one value of the multi-valued attribute, in memory: the document
 * is already loaded for the PATCH. Sub-attribute names match without regard
 * to case, and string comparison follows each sub-attribute's caseExact.
 * (List filters run as SQL instead: filter-sql.ts.)
 */
export function matchesValue(definition: AttributeDefinition | undefined, value: unknown, filter: Filter): boolean {
  switch (filter.op) {
    case 'and':
      return filter.filters.every((f) => matchesValue(definition, value, f));
    case 'or':
      return filter.filters.some((f) => matchesValue(definition, value, f));
    case 'not':
      return !matchesValue(definition, value, filter.filter);
    case '[]':
      throw new InvalidFilter('a value filter cannot contain another value filter');
    default: {
      if (filter.attrPath.includes('.') || filter.attrPath.includes(':')) {
        throw new InvalidFilter(`"${filter.attrPath}" inside a value filter must be a plain sub-attribute name`);
      }
      const sub = findAttribute(definition?.subAttributes, filter.attrPath);
      // A multi-valued attribute of simple values (no sub-attributes) is filtered on "value", the value itself.
      const actual = isObject(value)
        ? value[keyIn(value, filter.attrPath) ?? filter.attrPath]
        : filter.attrPath === 'value'
          ? value
          : undefined;
      if (filter.op === 'pr') return actual !== undefined && actual !== null && actual !== '';
      return compare(filter.op, actual, filter.compValue, sub?.caseExact ?? false);
    }
  }
}

function compare(op: string, actual: unknown, expected: string | number | boolean | null, caseExact: boolean): boolean {
  if (expected === null)
    return op === 'eq' ? actual === undefined || actual === null : op === 'ne' ? actual !== undefined && actual !== null : false;
  if (typeof expected === 'boolean') {
    const asBoolean = typeof actual === 'string' && /^(true|false)$/i.test(actual) ? actual.toLowerCase() === 'true' : actual;
    if (op === 'eq') return asBoolean === expected;
    if (op === 'ne') return asBoolean !== expected;
    throw new InvalidFilter(`"${op}" does not apply to true or false`);
  }
  if (typeof expected === 'number') {
    if (typeof actual !== 'number') return op === 'ne';
    return ordered(op, actual, expected);
  }
  if (typeof actual !== 'string') return op === 'ne';
  const a = caseExact ? actual : actual.toLowerCase();
  const e = caseExact ? expected : expected.toLowerCase();
  if (op === 'co') return a.includes(e);
  if (op === 'sw') return a.startsWith(e);
  if (op === 'ew') return a.endsWith(e);
  return ordered(op, a, e);
}

function ordered<T extends string | number>(op: string, a: T, e: T): boolean {
  switch (op) {
    case 'eq':
      return a === e;
    case 'ne':
      return a !== e;
    case 'gt':
      return a > e;
    case 'ge':
      return a >= e;
    case 'lt':
      return a < e;
    case 'le':
      return a <= e;
    default:
      throw new InvalidFilter(`"${op}" does not apply to numbers`);
  }
}

/**
 * Refuses what matchesValue could not evaluate, before any value is looked
 * at: a value filter nested in another, a name that is not a plain
 * sub-attribute, an order or substring on true/false, a substring of a
 * number. A projection is evaluated after its write is done, so it must not
 * fail there.
 */
export function checkValueFilter(filter: Filter): void {
  switch (filter.op) {
    case 'and':
    case 'or':
      for (const f of filter.filters) checkValueFilter(f);
      return;
    case 'not':
      checkValueFilter(filter.filter);
      return;
    case '[]':
      throw new InvalidFilter('a value filter cannot contain another value filter');
    default: {
      if (filter.attrPath.includes('.') || filter.attrPath.includes(':')) {
        throw new InvalidFilter(`"${filter.attrPath}" inside a value filter must be a plain sub-attribute name`);
      }
      if (filter.op === 'pr') return;
      const value = filter.compValue;
      if (typeof value === 'boolean' && filter.op !== 'eq' && filter.op !== 'ne') {
        throw new InvalidFilter(`"${filter.op}" does not apply to true or false`);
      }
      if (typeof value === 'number' && ['co', 'sw', 'ew'].includes(filter.op))
        throw new InvalidFilter(`"${filter.op}" does not apply to numbers`);
    }
  }
}

/**
 * The sub-attribute values a value filter pins down when it is only `eq`
 * joined by `and` (`type eq "work"`), or undefined. Entra replaces
 * `emails[type eq "work"].value` on users who have no work email yet, meaning
 * "add one"; such a filter says exactly what the new value must hold.
 */
export function equalities(definition: AttributeDefinition | undefined, filter: Filter): Record<string, unknown> | undefined {
  const parts = filter.op === 'and' ? filter.filters : [filter];
  const out: Record<string, unknown> = {};
  for (const part of parts) {
    if (part.op === 'and') {
      const nested = equalities(definition, part);
      if (!nested) return undefined;
      Object.assign(out, nested);
      continue;
    }
    if (part.op !== 'eq' || part.compValue === null || part.attrPath.includes('.') || part.attrPath.includes(':')) return undefined;
    const sub = findAttribute(definition?.subAttributes, part.attrPath);
    out[sub?.name ?? part.attrPath] = part.compValue;
  }
  return out;
}

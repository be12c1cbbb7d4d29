import { InvalidValue } from './errors.ts';
import type { Filter } from './filter.ts';
import { type AttributeReference, parseValuePath, resolveAttribute } from './paths.ts';
import { isObject, keyIn } from './resource.ts';
import type { ResourceTypeDefinition } from './schemas.ts';
import { matchesValue } from './value-filter.ts';

/** An attribute named in `attributes` or `excludedAttributes`; in `attributes`, maybe with a value filter. */
export type Selection = AttributeReference & { filter?: Filter };

/** RFC 7644 §3.9 `attributes` / `excludedAttributes`, resolved against the resource type. */
export interface Projection {
  attributes: Selection[] | undefined;
  excluded: Selection[] | undefined;
}

export const NO_PROJECTION: Projection = { attributes: undefined, excluded: undefined };

export function readProjection(type: ResourceTypeDefinition, attributes: string | undefined, excluded: string | undefined): Projection {
  return {
    attributes: readList(type, 'attributes', attributes, true),
    excluded: readList(type, 'excludedAttributes', excluded, false),
  };
}

/**
 * Names may carry value-filter notation (`emails[type eq "work"]`,
 * `emails[type eq "work"].value`), as some clients send them: read as the
 * attribute path, and in `attributes` the filter picks the values returned.
 */
function readList(type: ResourceTypeDefinition, parameter: string, text: string | undefined, filtered: boolean): Selection[] | undefined {
  if (text === undefined) return undefined;
  const fail = (detail: string) => new InvalidValue(`${parameter}: ${detail}`);
  return splitNames(text).map((name): Selection => {
    if (!name.includes('[')) return resolveAttribute(type, name, fail);
    const path = parseValuePath(type, name, fail);
    return filtered ? { ...path.target, filter: path.filter } : path.target;
  });
}

/** The comma-separated names, where a comma inside a value filter's brackets or quotes separates nothing. */
function splitNames(text: string): string[] {
  const names: string[] = [];
  let depth = 0;
  let quoted = false;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '\\') i++;
      else if (c === '"') quoted = false;
    } else if (c === '"') quoted = true;
    else if (c === '[') depth++;
    else if (c === ']') depth = Math.max(0, depth - 1);
    else if (c === ',' && depth === 0) {
      names.push(text.slice(start, i));
      start = i + 1;
    }
  }
  names.push(text.slice(start));
  return names.map((n) => n.trim()).filter((n) => n !== '');
}

/**
 * Whether the response needs the core multi-valued attribute `name` (a
 * group's members, a user's groups), so the store is not asked for what
 * will be left out: `excludedAttributes=members` never reads a member.
 */
export function wants(projection: Projection, name: string): boolean {
  const names = (refs: AttributeReference[] | undefined, whole: boolean) =>
    refs?.some((r) => r.kind === 'attribute' && r.extension === null && r.name === name && (!whole || !r.sub)) ?? false;
  if (projection.attributes) return names(projection.attributes, false) && !names(projection.excluded, true);
  return !names(projection.excluded, true);
}

/** Applies the projection to a resource as it goes out. id and schemas are always returned (RFC 7643 "returned": "always"). */
export function project(resource: Record<string, unknown>, projection: Projection): Record<string, unknown> {
  let out = resource;
  if (projection.attributes) {
    out = { schemas: resource.schemas, id: resource.id };
    const picked: Picked[] = [];
    for (const ref of projection.attributes) include(resource, out, ref, picked);
    for (const { container, key, slots } of picked) {
      if (container[key] !== slots) continue;
      const kept = slots.filter((v) => v !== undefined);
      if (kept.length === 0) delete container[key];
      else container[key] = kept;
    }
  }
  if (projection.excluded) {
    out = structuredClone(out);
    for (const ref of projection.excluded) exclude(out, ref);
  }
  return out;
}

/**
 * Values of a multi-valued attribute picked one by one (by a sub-attribute
 * or a value filter), held in their places until every name is read, so
 * `emails.value` and `emails.type` line up; unpicked places are dropped at the end.
 */
interface Picked {
  container: Record<string, unknown>;
  key: string;
  slots: unknown[];
}

function include(source: Record<string, unknown>, target: Record<string, unknown>, ref: Selection, picked: Picked[]): void {
  const from = ref.extension === null ? source : source[keyIn(source, ref.extension) ?? ref.extension];
  if (!isObject(from)) return;
  if (ref.kind === 'extension') {
    target[keyIn(source, ref.extension) ?? ref.extension] = from;
    return;
  }
  const into = ref.extension === null ? target : ensureObject(target, keyIn(source, ref.extension) ?? ref.extension);
  const key = keyIn(from, ref.name);
  if (key === undefined) return;
  const value = from[key];
  if (Array.isArray(value) && (ref.sub || ref.filter)) {
    const current = picked.find((p) => p.container === into && p.key === key);
    // The whole attribute is already in: nothing to add.
    if (into[key] !== undefined && current?.slots !== into[key]) return;
    const slots = current?.slots ?? value.map(() => undefined);
    if (!current) {
      picked.push({ container: into, key, slots });
      into[key] = slots;
    }
    value.forEach((element, i) => {
      if (ref.filter && !matchesValue(ref.definition, element, ref.filter)) return;
      if (!ref.sub) {
        slots[i] = element;
        return;
      }
      const subKey = isObject(element) ? keyIn(element, ref.sub.name) : undefined;
      if (subKey !== undefined)
        slots[i] = { ...(isObject(slots[i]) ? slots[i] : {}), [subKey]: (element as Record<string, unknown>)[subKey] };
    });
    return;
  }
  if (!ref.sub) {
    into[key] = value;
    return;
  }
  if (isObject(value)) {
    const subKey = keyIn(value, ref.sub.name);
    if (subKey !== undefined) ensureObject(into, key)[subKey] = value[subKey];
  }
}

function exclude(target: Record<string, unknown>, ref: AttributeReference): void {
  if (ref.kind === 'extension') {
    const key = keyIn(target, ref.extension);
    if (key !== undefined) target.schemas = (target.schemas as string[]).filter((s) => s !== key);
    if (key !== undefined) delete target[key];
    return;
  }
  if (ref.extension === null && (ref.name === 'id' || ref.name === 'schemas') && !ref.sub) return;
  const from = ref.extension === null ? target : target[keyIn(target, ref.extension) ?? ref.extension];
  if (!isObject(from)) return;
  const key = keyIn(from, ref.name);
  if (key === undefined) return;
  if (!ref.sub) {
    delete from[key];
    return;
  }
  const value = from[key];
  const drop = (o: Record<string, unknown>) => {
    const subKey = keyIn(o, ref.sub!.name);
    if (subKey !== undefined) delete o[subKey];
  };
  if (Array.isArray(value)) value.filter(isObject).forEach(drop);
  else if (isObject(value)) drop(value);
}

function ensureObject(target: Record<string, unknown>, key: string): Record<string, unknown> {
  if (!isObject(target[key])) target[key] = {};
  return target[key] as Record<string, unknown>;
}

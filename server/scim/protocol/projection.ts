import { InvalidValue } from './errors.ts';
import { type AttributeReference, resolveAttribute } from './paths.ts';
import { isObject, keyIn } from './resource.ts';
import type { ResourceTypeDefinition } from './schemas.ts';

/** RFC 7644 §3.9 `attributes` / `excludedAttributes`, resolved against the resource type. */
export interface Projection {
  attributes: AttributeReference[] | undefined;
  excluded: AttributeReference[] | undefined;
}

export const NO_PROJECTION: Projection = { attributes: undefined, excluded: undefined };

export function readProjection(type: ResourceTypeDefinition, attributes: string | undefined, excluded: string | undefined): Projection {
  return { attributes: readList(type, 'attributes', attributes), excluded: readList(type, 'excludedAttributes', excluded) };
}

function readList(type: ResourceTypeDefinition, parameter: string, text: string | undefined): AttributeReference[] | undefined {
  if (text === undefined) return undefined;
  const names = text
    .split(',')
    .map((n) => n.trim())
    .filter((n) => n !== '');
  return names.map((name) => resolveAttribute(type, name, (detail) => new InvalidValue(`${parameter}: ${detail}`)));
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
    for (const ref of projection.attributes) include(resource, out, ref);
  }
  if (projection.excluded) {
    out = structuredClone(out);
    for (const ref of projection.excluded) exclude(out, ref);
  }
  return out;
}

function include(source: Record<string, unknown>, target: Record<string, unknown>, ref: AttributeReference): void {
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
  if (!ref.sub) {
    into[key] = value;
    return;
  }
  const sub = ref.sub.name;
  if (Array.isArray(value)) {
    // emails.value: each value keeps its place, so emails.value and emails.type line up.
    const current = Array.isArray(into[key]) ? (into[key] as Record<string, unknown>[]) : value.map(() => ({}));
    value.forEach((element, i) => {
      const subKey = isObject(element) ? keyIn(element, sub) : undefined;
      if (subKey !== undefined) current[i] = { ...current[i], [subKey]: (element as Record<string, unknown>)[subKey] };
    });
    into[key] = current;
  } else if (isObject(value)) {
    const subKey = keyIn(value, sub);
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

import type { ScimError } from './errors.ts';
import { InvalidPath } from './errors.ts';
import { type Filter, parseFilter } from './filter.ts';
import {
  type AttributeDefinition,
  COMMON_ATTRIBUTES,
  findAttribute,
  type ResourceTypeDefinition,
  type SchemaDefinition,
} from './schemas.ts';
import { checkValueFilter } from './value-filter.ts';

/**
 * An attribute named in a filter, a PATCH path, a body key or an
 * `attributes` list, resolved against the resource type: names matched
 * without regard to case and returned in the schema's spelling, so the stored
 * document has one spelling per attribute. Unknown attributes (Entra may send
 * any) resolve too, with no definition, under the name as given.
 */
export type AttributeReference =
  | {
      kind: 'attribute';
      /** null: a core attribute at the top of the resource; else the extension's key. */
      extension: string | null;
      name: string;
      definition: AttributeDefinition | undefined;
      sub: { name: string; definition: AttributeDefinition | undefined } | undefined;
    }
  | {
      /** A whole extension, e.g. `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User`. */
      kind: 'extension';
      extension: string;
    };

const NAME = /^(?:\$ref|[A-Za-z][\w-]*)$/;

type Fail = (detail: string) => ScimError;

export function resolveAttribute(type: ResourceTypeDefinition, text: string, fail: Fail): AttributeReference {
  let schema: SchemaDefinition | undefined = type.schema;
  let extension: string | null = null;
  let rest = text;
  if (/^urn:/i.test(text)) {
    const lower = text.toLowerCase();
    const known = [type.schema, ...type.extensions].find((s) => lower === s.id.toLowerCase() || lower.startsWith(`${s.id.toLowerCase()}:`));
    if (known) {
      if (lower === known.id.toLowerCase()) {
        if (known === type.schema) throw fail(`"${text}" names the core schema, not an attribute`);
        return { kind: 'extension', extension: known.id };
      }
      schema = known;
      extension = known === type.schema ? null : known.id;
      rest = text.slice(known.id.length + 1);
    } else {
      // An extension we do not define: by RFC 7644 §3.10 the attribute is
      // what follows the last colon (its URN may contain dots, as in "2.0").
      const colon = text.lastIndexOf(':');
      schema = undefined;
      extension = text.slice(0, colon);
      rest = text.slice(colon + 1);
      if (!/^urn:[\w.:-]+$/i.test(extension)) throw fail(`"${text}" is not a valid schema URN and attribute`);
    }
  }
  const parts = rest.split('.');
  if (parts.length > 2 || !parts.every((p) => NAME.test(p))) {
    throw fail(`"${text}" is not a valid attribute name (attribute or attribute.subAttribute)`);
  }
  const [attributeName, subName] = parts;
  const definition = schema
    ? (findAttribute(schema.attributes, attributeName) ??
      (extension === null ? findAttribute(COMMON_ATTRIBUTES, attributeName) : undefined))
    : undefined;
  if (definition && subName !== undefined && definition.type !== 'complex') {
    throw fail(`${definition.name} has no sub-attributes, so "${text}" names nothing`);
  }
  const subDefinition = subName === undefined ? undefined : findAttribute(definition?.subAttributes, subName);
  return {
    kind: 'attribute',
    extension,
    name: definition?.name ?? attributeName,
    definition,
    sub: subName === undefined ? undefined : { name: subDefinition?.name ?? subName, definition: subDefinition },
  };
}

/** "emails.value" style text for messages, with the extension URN when there is one. */
export function attributeLabel(ref: AttributeReference): string {
  if (ref.kind === 'extension') return ref.extension;
  const name = ref.sub ? `${ref.name}.${ref.sub.name}` : ref.name;
  return ref.extension ? `${ref.extension}:${name}` : name;
}

/** An RFC 7644 §3.5.2 PATCH path: `attr`, `attr.sub`, `attr[filter]`, `attr[filter].sub`, or an extension URN. */
export interface PatchPath {
  text: string;
  target: AttributeReference;
  /** The value filter between the brackets; its attribute names are sub-attributes of the target. */
  filter: Filter | undefined;
}

export function parsePatchPath(type: ResourceTypeDefinition, text: string): PatchPath {
  return parseValuePath(type, text, (detail) => new InvalidPath(detail));
}

/**
 * An attribute path that may carry a value filter, as in a PATCH path or
 * `attributes=emails[type eq "work"].value`; `fail` makes the error the
 * context calls for.
 */
export function parseValuePath(type: ResourceTypeDefinition, text: string, fail: Fail): PatchPath {
  if (typeof text !== 'string' || text.trim() === '') throw fail('"path" must be a non-empty string');
  const path = text.trim();
  const open = path.indexOf('[');
  if (open === -1) {
    if (path.includes(']')) throw fail(`the path "${path}" has "]" without "["`);
    return { text: path, target: resolveAttribute(type, path, fail), filter: undefined };
  }
  const close = closingBracket(path, open);
  if (close === -1) throw fail(`the path "${path}" has "[" without "]"`);
  const attributeText = path.slice(0, open);
  const after = path.slice(close + 1);
  if (after !== '' && !after.startsWith('.'))
    throw fail(`the path "${path}" has "${after}" after "]"; expected ".subAttribute" or nothing`);
  if (after.slice(1).includes('.') || after.includes('[')) throw fail(`the path "${path}" goes deeper than attribute[filter].subAttribute`);
  const base = resolveAttribute(type, attributeText, fail);
  if (base.kind !== 'attribute' || base.sub) throw fail(`a value filter applies to a multi-valued attribute, not to "${attributeText}"`);
  if (base.definition && !base.definition.multiValued) {
    throw fail(`${base.name} is single-valued; a value filter like "${path}" applies to multi-valued attributes`);
  }
  const filter = parseFilter(path.slice(open + 1, close));
  checkValueFilter(filter);
  let sub: { name: string; definition: AttributeDefinition | undefined } | undefined;
  if (after !== '') {
    const subName = after.slice(1);
    if (!NAME.test(subName)) throw fail(`"${subName}" in "${path}" is not a valid sub-attribute name`);
    const subDefinition = findAttribute(base.definition?.subAttributes, subName);
    if (base.definition && base.definition.type !== 'complex') throw fail(`${base.name} has no sub-attributes`);
    sub = { name: subDefinition?.name ?? subName, definition: subDefinition };
  }
  return { text: path, target: { ...base, sub }, filter };
}

/** The "]" that closes the "[" at `open`, skipping over quoted strings in the filter. */
function closingBracket(text: string, open: number): number {
  let quoted = false;
  for (let i = open + 1; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '\\') i++;
      else if (c === '"') quoted = false;
    } else if (c === '"') quoted = true;
    else if (c === ']') return i;
  }
  return -1;
}

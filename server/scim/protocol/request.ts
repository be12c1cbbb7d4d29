import type Koa from 'koa';
import { findUnstorableText, isStorableText, UNSTORABLE } from '../../store/index.ts';
import type { ListQuery } from '../resources/repository.ts';
import { InvalidFilter, InvalidSyntax, InvalidValue, PayloadTooLarge, UnsupportedMediaType } from './errors.ts';
import { type Filter, parseFilter } from './filter.ts';
import { type Projection, readProjection } from './projection.ts';
import { isObject } from './resource.ts';
import type { ResourceTypeDefinition } from './schemas.ts';
import { readSort } from './sort.ts';

/** RFC 7644 §3.4.2.4 paging: what a list returns without `count`, and the most it ever returns (advertised as filter.maxResults). */
export const DEFAULT_COUNT = 100;
export const MAX_COUNT = 1000;

declare module 'koa' {
  interface DefaultState {
    /** The request body as the operation read it. */
    scimBody?: unknown;
    /** The body the answer carried, before it was serialised. */
    scimAnswer?: unknown;
  }
}

const JSON_TYPES = new Set(['application/scim+json', 'application/json']);

/**
 * The request body as JSON. Entra sends application/scim+json; plain JSON is
 * accepted too, and a body without a Content-Type is read as JSON. The size
 * is checked while reading, so an oversized body is refused without being
 * held in memory.
 */
export async function readBody(ctx: Koa.Context, limit: number): Promise<unknown> {
  const declared = ctx.get('Content-Type');
  const mediaType = declared.split(';')[0].trim().toLowerCase();
  if (declared !== '' && !JSON_TYPES.has(mediaType)) throw new UnsupportedMediaType(mediaType || declared);
  const length = Number(ctx.get('Content-Length') || Number.NaN);
  if (length > limit) throw new PayloadTooLarge(limit);

  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new PayloadTooLarge(limit);
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') throw new InvalidSyntax('the request has no body; send a JSON object');
  let body: unknown;
  try {
    // "__proto__" keys are dropped so that no parsed body can reach an object's prototype.
    body = JSON.parse(text, (key, value) => (key === '__proto__' ? undefined : value));
  } catch (error) {
    throw new InvalidSyntax(`the body is not valid JSON: ${(error as Error).message}`);
  }
  if (depthOf(body) > MAX_DEPTH) throw new InvalidSyntax(`the body is nested more than ${MAX_DEPTH} levels deep`);
  // For the activity record, which keeps which attributes changed (never the values).
  ctx.state.scimBody = body;
  return body;
}

/**
 * Refuses a resource or PatchOp body holding text no store can keep
 * (store/text.ts), naming the attribute, before anything reads it: the
 * answer is then the same on SQLite and PostgreSQL, whatever attribute
 * (core, extension, unknown, a member id, a key) holds it.
 */
export function checkBodyText(body: unknown): void {
  const path = findUnstorableText(body);
  if (path !== undefined) throw new InvalidValue(`${path === '' ? 'the body' : path} ${UNSTORABLE}`);
}

/** SCIM resources are a few levels deep; a limit keeps the recursive checks that follow within the stack. */
const MAX_DEPTH = 32;

function depthOf(value: unknown): number {
  let deepest = 0;
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!;
    if (typeof node !== 'object' || node === null) continue;
    deepest = Math.max(deepest, depth);
    if (deepest > MAX_DEPTH) return deepest;
    for (const child of Object.values(node)) stack.push([child, depth + 1]);
  }
  return deepest;
}

export interface ListParameters extends ListQuery {
  projection: Projection;
}

type Parameters = Record<string, unknown>;

/** A list request's parameters, from the query string (GET) or a SearchRequest body (POST .search). Unknown parameters are ignored. */
export function readListParameters(type: ResourceTypeDefinition, parameters: Parameters): ListParameters {
  const filterText = text(parameters, 'filter');
  // "filter=" with nothing after it is read as no filter, as clients that always send the parameter mean it.
  const filter: Filter | undefined = filterText === undefined || filterText.trim() === '' ? undefined : parseFilter(filterText);
  const startIndex = Math.max(1, integer(parameters, 'startIndex') ?? 1);
  const count = Math.min(MAX_COUNT, Math.max(0, integer(parameters, 'count') ?? DEFAULT_COUNT));
  const sort = readSort(type, text(parameters, 'sortBy'), text(parameters, 'sortOrder'));
  return { filter, sort, startIndex, count, projection: readProjectionParameters(type, parameters) };
}

export function readProjectionParameters(type: ResourceTypeDefinition, parameters: Parameters): Projection {
  return readProjection(type, list(parameters, 'attributes'), list(parameters, 'excludedAttributes'));
}

/** Query parameter names are matched without regard to case; a repeated one counts once, first value first. */
function lookup(parameters: Parameters, name: string): unknown {
  const key = Object.keys(parameters).find((k) => k.toLowerCase() === name.toLowerCase());
  if (key === undefined) return undefined;
  const value = parameters[key];
  return Array.isArray(value) && value.every((v) => typeof v === 'string') ? value[0] : value;
}

function text(parameters: Parameters, name: string): string | undefined {
  const value = lookup(parameters, name);
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new InvalidValue(`${name} must be a string`);
  checkParameterText(name, value);
  return value;
}

function integer(parameters: Parameters, name: string): number | undefined {
  const value = lookup(parameters, name);
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value === 'number' && Number.isInteger(value)) return value;
  if (typeof value === 'string' && /^\s*-?\d{1,15}\s*$/.test(value)) return Number(value);
  throw new InvalidValue(`${name} must be a whole number`);
}

/** `attributes=a,b` in a query string; an array of names in a SearchRequest. */
function list(parameters: Parameters, name: string): string | undefined {
  const value = lookup(parameters, name);
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return checkParameterText(name, value);
  if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return checkParameterText(name, value.join(','));
  throw new InvalidValue(`${name} must be a comma-separated list of attribute names`);
}

function checkParameterText(name: string, value: string): string {
  if (isStorableText(value)) return value;
  if (name === 'filter') throw new InvalidFilter(`the filter ${UNSTORABLE}`);
  throw new InvalidValue(`${name} ${UNSTORABLE}`);
}

/** A SearchRequest body (RFC 7644 §3.4.3) as parameters. */
export function searchParameters(body: unknown): Parameters {
  if (!isObject(body)) throw new InvalidSyntax('the body must be a SearchRequest object');
  return body;
}

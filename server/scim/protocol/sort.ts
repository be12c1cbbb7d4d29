import { InvalidValue } from './errors.ts';
import { resolveAttribute } from './paths.ts';
import type { ResourceTypeDefinition } from './schemas.ts';

/**
 * The attributes a list can be sorted by (RFC 7644 §3.4.2.3): the ones kept in columns of their own, each with an
 * index per tenant (store/migrations.ts 0006), so a sorted page is an index
 * range and never a sort of the whole tenant.
 */
const SORTABLE: Record<string, readonly string[]> = {
  User: ['userName', 'displayName', 'externalId', 'meta.created', 'meta.lastModified', 'id'],
  Group: ['displayName', 'externalId', 'meta.created', 'meta.lastModified', 'id'],
};

export interface Sort {
  /** A key of the resource's FilterTable columns: "username", "meta.lastmodified", … */
  attribute: string;
  descending: boolean;
}

/**
 * `sortBy` and `sortOrder`, from the query string or a SearchRequest. The
 * attribute is matched without regard to case and may carry the core
 * schema's URN. An attribute that cannot be sorted by is refused (400
 * invalidValue naming it) rather than ignored as the RFC would allow, so a
 * client never takes an unsorted page for a sorted one. `sortOrder` without
 * `sortBy` sorts nothing, but must still be one of the two values.
 */
export function readSort(type: ResourceTypeDefinition, sortBy: string | undefined, sortOrder: string | undefined): Sort | undefined {
  const descending = readOrder(sortOrder);
  if (sortBy === undefined || sortBy.trim() === '') return undefined;
  const sortable = SORTABLE[type.name] ?? [];
  const refuse = () =>
    new InvalidValue(`sortBy "${sortBy}" is not an attribute ${type.name}s can be sorted by; use one of ${sortable.join(', ')}`);
  const ref = resolveAttribute(type, sortBy.trim(), refuse);
  if (ref.kind !== 'attribute' || ref.extension !== null) throw refuse();
  const attribute = ref.sub ? `${ref.name}.${ref.sub.name}`.toLowerCase() : ref.name.toLowerCase();
  if (!sortable.some((a) => a.toLowerCase() === attribute)) throw refuse();
  return { attribute, descending };
}

function readOrder(sortOrder: string | undefined): boolean {
  if (sortOrder === undefined || sortOrder.trim() === '') return false;
  const order = sortOrder.trim().toLowerCase();
  if (order === 'ascending') return false;
  if (order === 'descending') return true;
  throw new InvalidValue(`sortOrder must be "ascending" or "descending", not "${sortOrder}"`);
}

import type Koa from 'koa';
import type { Repository } from './repository.ts';

/** One SCIM request as the operations see it: the tenant comes from the verified token, never from the request. */
export interface Exchange {
  ctx: Koa.Context;
  tenantId: string;
  /** `{PUBLIC_URL}/scim/v2`, the base of every location. */
  base: string;
  maxBodyBytes: number;
}

export type ResourceOperation = (exchange: Exchange, repository: Repository, id: string) => Promise<void>;
export type CollectionOperation = (exchange: Exchange, repository: Repository) => Promise<void>;

/** The attribute a resource type keeps in the memberships table. */
export function relatedAttribute(repository: Repository): 'members' | 'groups' {
  return repository.type.name === 'Group' ? 'members' : 'groups';
}

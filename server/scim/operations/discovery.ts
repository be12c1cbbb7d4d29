import type Koa from 'koa';
import { Forbidden, NotFound } from '../protocol/errors.ts';
import { listResponse, send } from '../protocol/render.ts';
import { MAX_COUNT } from '../protocol/request.ts';
import {
  RESOURCE_TYPE,
  RESOURCE_TYPES,
  type ResourceTypeDefinition,
  SCHEMA,
  SCHEMAS,
  type SchemaDefinition,
  SERVICE_PROVIDER_CONFIG,
} from '../protocol/schemas.ts';
import type { Exchange } from '../resources/exchange.ts';

/**
 * RFC 7644 §4 discovery: what this service provider supports, said as it
 * truly is (no bulk, no password changes; PATCH, filters, sorting and
 * ETags yes), its resource types and their schemas.
 */
export function serviceProviderConfig({ ctx, base }: Exchange): void {
  refuseFilter(ctx);
  const origin = base.replace(/\/scim\/v2$/, '');
  send(ctx, 200, {
    schemas: [SERVICE_PROVIDER_CONFIG],
    documentationUri: `${origin}/.well-known/oauth-authorization-server`,
    patch: { supported: true },
    bulk: { supported: false, maxOperations: 0, maxPayloadSize: 0 },
    filter: { supported: true, maxResults: MAX_COUNT },
    changePassword: { supported: false },
    sort: { supported: true },
    etag: { supported: true },
    authenticationSchemes: [
      {
        type: 'oauthbearertoken',
        name: 'OAuth Bearer Token',
        description:
          'An access token from the authorization code flow at /oauth/authorize and /oauth/token (Entra: Admin Credentials, Authorize). Each token is bound to one tenant.',
        specUri: 'https://www.rfc-editor.org/info/rfc6750',
        documentationUri: `${origin}/.well-known/oauth-authorization-server`,
        primary: true,
      },
    ],
    meta: { resourceType: 'ServiceProviderConfig', location: `${base}/ServiceProviderConfig` },
  });
}

export function resourceTypes({ ctx, base }: Exchange, name?: string): void {
  refuseFilter(ctx);
  if (name === undefined) {
    const all = RESOURCE_TYPES.map((t) => resourceType(t, base));
    send(ctx, 200, listResponse(all, all.length, 1));
    return;
  }
  const type = RESOURCE_TYPES.find((t) => t.name === name);
  if (!type) throw new NotFound(`no resource type "${name}"; this service provider has User and Group`);
  send(ctx, 200, resourceType(type, base));
}

export function schemas({ ctx, base }: Exchange, id?: string): void {
  refuseFilter(ctx);
  if (id === undefined) {
    const all = SCHEMAS.map((s) => schema(s, base));
    send(ctx, 200, listResponse(all, all.length, 1));
    return;
  }
  const found = SCHEMAS.find((s) => s.id === id);
  if (!found) throw new NotFound(`no schema "${id}"`);
  send(ctx, 200, schema(found, base));
}

/** RFC 7644 §4: a filter on these endpoints is answered 403, so no client believes it was applied. */
function refuseFilter(ctx: Koa.Context): void {
  if (Object.keys(ctx.query).some((k) => k.toLowerCase() === 'filter')) {
    throw new Forbidden('discovery endpoints do not take a filter');
  }
}

function resourceType(type: ResourceTypeDefinition, base: string): Record<string, unknown> {
  return {
    schemas: [RESOURCE_TYPE],
    id: type.name,
    name: type.name,
    endpoint: type.endpoint,
    description: type.description,
    schema: type.schema.id,
    schemaExtensions: type.extensions.map((e) => ({ schema: e.id, required: false })),
    meta: { resourceType: 'ResourceType', location: `${base}/ResourceTypes/${type.name}` },
  };
}

function schema(definition: SchemaDefinition, base: string): Record<string, unknown> {
  return {
    schemas: [SCHEMA],
    id: definition.id,
    name: definition.name,
    description: definition.description,
    attributes: definition.attributes,
    meta: { resourceType: 'Schema', location: `${base}/Schemas/${definition.id}` },
  };
}

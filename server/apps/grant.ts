import type Provider from 'oidc-provider';
import { grantableClaims, grantableScopes } from './scopes.ts';

type Interaction = Awaited<ReturnType<Provider['interactionDetails']>>;

/**
 * The grant of a first-party app, made without a consent page: every app
 * client is registered by the operator's CLI, so the person signing in has
 * nothing to decide. It holds exactly the OpenID scopes (and claims) the app
 * asked for among its own, never SCIM's.
 */
export async function grantFirstPartyApp(provider: Provider, interaction: Interaction, accountId: string): Promise<string> {
  const clientId = String(interaction.params.client_id);
  const existing = interaction.grantId ? await provider.Grant.find(interaction.grantId) : undefined;
  const grant = existing ?? new provider.Grant({ accountId, clientId });
  const scopes = grantableScopes(interaction.params.scope);
  if (scopes.length) grant.addOIDCScope(scopes.join(' '));
  const details = interaction.prompt.details as { missingOIDCClaims?: unknown };
  const claims = grantableClaims(details.missingOIDCClaims);
  if (claims.length) grant.addOIDCClaims(claims);
  return grant.save();
}

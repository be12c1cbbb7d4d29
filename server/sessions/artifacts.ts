import type { Adapter, AdapterPayload } from 'oidc-provider';
import { errors } from 'oidc-provider';
import type { Logger } from '../log.ts';
import { findUnstorableText, isStoreUnavailable, UNSTORABLE } from '../store/index.ts';

/** Models that belong to a grant: revoking the grant removes them (as oidc-provider's own memory adapter does). */
export const GRANT_BOUND_MODELS = new Set([
  'AccessToken',
  'AuthorizationCode',
  'RefreshToken',
  'DeviceCode',
  'BackchannelAuthenticationRequest',
  'PreAuthorizedCode',
]);

/**
 * Models whose consume() must be won exactly once. oidc-provider checks
 * `consumed` on the artifact it found and then calls `adapter.consume()`
 * without looking at the result (lib/helpers/grant_source.js,
 * lib/actions/authorization/respond.js), so two requests that both find the
 * artifact before either consumes it would both be served. The adapters make
 * consume a conditional write and the loser throws from here, inside the
 * library's request, before any token is issued.
 *
 * RefreshToken is deliberately not here: rotation races are the "lost
 * response, client retries" case that the refresh policy's grace window
 * governs (issue 3); its consume keeps the first consumption time and the
 * policy decides with it.
 */
const SINGLE_USE: Record<string, { label: string; revokesGrant: boolean }> = {
  AuthorizationCode: { label: 'authorization code', revokesGrant: true },
  DeviceCode: { label: 'device code', revokesGrant: true },
  BackchannelAuthenticationRequest: { label: 'backchannel authentication request', revokesGrant: true },
  PreAuthorizedCode: { label: 'pre-authorized code', revokesGrant: true },
  PushedAuthorizationRequest: { label: 'pushed authorization request', revokesGrant: false },
};

/** What a conditional consume found: won, lost to an earlier consume, or nothing (gone or expired). */
export type ConsumeOutcome = { won: true } | { won: false; alreadyConsumed: boolean; grantId: string | undefined };

/**
 * Turns a lost consume into the library's own answer. A second use of a code
 * revokes its grant (RFC 6749 §4.1.2), exactly as oidc-provider does for a
 * replay it notices itself; tokens the winner writes after this have no
 * grant left, and oidc-provider refuses those (introspection and the refresh
 * grant look the grant up).
 */
export async function settleLostConsume(
  model: string,
  outcome: ConsumeOutcome,
  revokeGrant: (grantId: string) => Promise<void>,
): Promise<void> {
  if (outcome.won) return;
  const rule = SINGLE_USE[model];
  if (!rule) return;
  if (model === 'PushedAuthorizationRequest') throw new errors.InvalidRequest(`${rule.label} already used`);
  if (!outcome.alreadyConsumed) throw new errors.InvalidGrant(`${rule.label} not found`);
  if (rule.revokesGrant && outcome.grantId) await revokeGrant(outcome.grantId);
  throw new errors.InvalidGrant(`${rule.label} already consumed`);
}

/**
 * The session store did not answer (Redis or the database is down).
 * oidc-provider renders it with its status, so the token endpoint says 503
 * `temporarily_unavailable` instead of a 500; our own pages catch it by class.
 */
export class SessionsUnavailable extends errors.OIDCProviderError {
  constructor(cause: unknown) {
    super(503, 'temporarily_unavailable', { cause });
    this.expose = true;
    this.error_description = 'sign-in is temporarily unavailable; try again shortly';
  }
}

/** Runs one store operation; a failing store becomes SessionsUnavailable, our own OAuth errors pass through. */
export async function guarded<T>(log: Logger, what: string, operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    if (error instanceof errors.OIDCProviderError) throw error;
    // A store that does not answer is logged once per outage, by its watch (store/outages.ts).
    if (isStoreUnavailable(error)) log.debug({ err: error, operation: what }, 'session store unavailable');
    else log.error({ err: error, operation: what }, 'session store failed');
    throw new SessionsUnavailable(error);
  }
}

/**
 * Refuses an artifact holding text no store can keep (store/text.ts): a
 * request parameter the provider saves with an interaction, should one get
 * past the Authorize check (interaction/parameters.ts). PostgreSQL would
 * fail on it and Redis would keep it, so both adapters refuse it here, and
 * the provider answers invalid_request the same way on every store.
 */
export function checkPayloadText(payload: AdapterPayload): void {
  const path = findUnstorableText(payload);
  if (path === undefined) return;
  const parameter = /^params\.([^.[]+)/.exec(path)?.[1];
  throw new errors.InvalidRequest(`${parameter ? `the ${parameter} parameter` : 'the request'} ${UNSTORABLE}`);
}

/** The payload as oidc-provider reads it: `consumed` in epoch seconds, as its memory adapter sets it. */
export function withConsumed(payload: AdapterPayload, consumedAtMs: number | null | undefined): AdapterPayload {
  if (consumedAtMs == null) return payload;
  return { ...payload, consumed: Math.floor(consumedAtMs / 1000) };
}

/** The payload as stored: `consumed` lives beside it so that a consume never rewrites the payload. */
export function withoutConsumed(payload: AdapterPayload): { stored: AdapterPayload; consumedAtMs: number | null } {
  const { consumed, ...stored } = payload;
  const seconds = typeof consumed === 'number' ? consumed : consumed ? Math.floor(Date.now() / 1000) : null;
  return { stored, consumedAtMs: seconds === null ? null : seconds * 1000 };
}

export type AdapterClass = new (model: string) => Adapter;

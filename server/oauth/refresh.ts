import type { Adapter, AdapterPayload, KoaContextWithOIDC } from 'oidc-provider';

/*
 * The refresh policy, in one place.
 *
 * - Every refresh rotates: the presented refresh token is consumed and a new
 *   one, valid for the full refresh lifetime, is returned. A client that
 *   refreshes at least once per lifetime (Entra: about every 40 minutes) never
 *   reaches an end.
 * - The grant slides with its newest refresh token. oidc-provider ends every
 *   chain when the grant expires (14 days by default) and never re-saves the
 *   grant on refresh, so the rotation re-saves it with a fresh expiry.
 * - A consumed refresh token presented again within the grace window (the
 *   client lost the response and retries) is treated as unused once more: the
 *   retry succeeds with a new token. After the window, the library's rule
 *   applies: a replayed refresh token revokes the grant and every token of it.
 *   The window is measured from the first consumption; retries do not extend
 *   it. The token issued in the lost response stays valid as well; both chains
 *   belong to the same grant and die with it.
 */

export interface RefreshPolicy {
  /** Refresh-token and grant lifetime, in seconds. */
  lifetime: number;
  /** Seconds after a rotation during which the previous refresh token still works. */
  grace: number;
}

/** `rotateRefreshToken` for the provider: always rotate, and slide the grant with the chain. */
export function rotateAndSlideGrant(policy: RefreshPolicy) {
  return async (ctx: KoaContextWithOIDC): Promise<boolean> => {
    const grant = ctx.oidc.entities.Grant;
    if (grant) {
      grant.exp = epochSeconds() + policy.lifetime;
      await grant.save();
    }
    return true;
  };
}

/** Wraps the storage adapter of the 'RefreshToken' model with the grace window. */
export function withRotationGrace(inner: Adapter, graceSeconds: number): Adapter {
  if (graceSeconds <= 0) return inner;
  const withinGrace = (payload: AdapterPayload) => {
    const consumed = (payload as { consumed?: unknown }).consumed;
    return typeof consumed === 'number' && epochSeconds() - consumed < graceSeconds;
  };
  return {
    upsert: (id, payload, expiresIn) => inner.upsert(id, payload, expiresIn),
    findByUid: (uid) => inner.findByUid(uid),
    findByUserCode: (userCode) => inner.findByUserCode(userCode),
    destroy: (id) => inner.destroy(id),
    revokeByGrantId: (grantId) => inner.revokeByGrantId(grantId),
    async find(id) {
      const payload = await inner.find(id);
      if (payload && withinGrace(payload)) {
        const { consumed: _, ...unconsumed } = payload as AdapterPayload & { consumed?: unknown };
        return unconsumed;
      }
      return payload;
    },
    async consume(id) {
      const payload = await inner.find(id);
      if (payload && (payload as { consumed?: unknown }).consumed !== undefined) return;
      await inner.consume(id);
    },
  };
}

function epochSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

/*
 * The health of one Entra connection, judged from what Entra's provisioning
 * service does to a job: it runs a cycle about every 40 minutes, quarantines
 * a job whose failures pass 40% (once it has seen enough of them) and one
 * that gets 401s, and a job whose manager is gone fails its next refresh.
 * Pure: everything it reads is passed in, the clock included.
 */

export type Verdict = 'healthy' | 'at_risk' | 'silent' | 'revoked';

export type Reason =
  | 'revoked'
  | 'ended'
  | 'manager_inactive'
  | 'unauthorized'
  | 'filter_not_found'
  | 'failure_ratio'
  | 'silent'
  | 'awaiting_first_cycle'
  | 'recent_cycles';

/** Requests of the last 24 hours by outcome. */
export interface Outcomes {
  total: number;
  /** 2xx and 304. */
  ok: number;
  unauthorized: number;
  /** 4xx other than 401, by scimType ("none" without one). */
  clientErrors: Record<string, number>;
  serverErrors: number;
  /** 404s answering Entra's list and filter queries (GET /Users?filter=…). */
  filterNotFound: number;
}

export interface ConnectionFacts {
  revokedAt: string | null;
  /** False when the grant is gone from the session store (revoked elsewhere, a replay, expired). */
  grantAlive: boolean;
  /** The manager who allowed it is still an active manager (the next refresh needs one). */
  managerActive: boolean;
  lastRequestAt: string | null;
  last24h: Outcomes;
}

export interface Health {
  verdict: Verdict;
  /** Every reason that applies, the one that decided the verdict first. */
  reasons: Reason[];
  /** Failures (4xx and 5xx) among the last 24 hours' requests, 0 to 1. */
  failureRatio: number;
}

/** Entra's cycle; a connection with no request for two of them has stopped. */
export const CYCLE_MS = 40 * 60_000;
export const SILENT_AFTER_MS = 2 * CYCLE_MS;
/** Entra quarantines above 40%; half of that is the warning. */
export const AT_RISK_RATIO = 0.2;
/** Below this many requests a ratio says little: one failed read of five is not a trend. */
export const MIN_REQUESTS_FOR_RATIO = 10;

export function failures(outcomes: Outcomes): number {
  return outcomes.unauthorized + outcomes.serverErrors + Object.values(outcomes.clientErrors).reduce((a, b) => a + b, 0);
}

export function judge(facts: ConnectionFacts, now: number): Health {
  const failed = failures(facts.last24h);
  const failureRatio = facts.last24h.total === 0 ? 0 : failed / facts.last24h.total;
  if (facts.revokedAt) return { verdict: 'revoked', reasons: ['revoked'], failureRatio };
  if (!facts.grantAlive) return { verdict: 'revoked', reasons: ['ended'], failureRatio };

  const risks: Reason[] = [];
  if (!facts.managerActive) risks.push('manager_inactive');
  if (facts.last24h.unauthorized > 0) risks.push('unauthorized');
  if (facts.last24h.filterNotFound > 0) risks.push('filter_not_found');
  if (facts.last24h.total >= MIN_REQUESTS_FOR_RATIO && failureRatio > AT_RISK_RATIO) risks.push('failure_ratio');
  const silent = facts.lastRequestAt !== null && now - Date.parse(facts.lastRequestAt) > SILENT_AFTER_MS;

  if (risks.length) return { verdict: 'at_risk', reasons: silent ? [...risks, 'silent'] : risks, failureRatio };
  if (silent) return { verdict: 'silent', reasons: ['silent'], failureRatio };
  if (facts.lastRequestAt === null) return { verdict: 'healthy', reasons: ['awaiting_first_cycle'], failureRatio };
  return { verdict: 'healthy', reasons: ['recent_cycles'], failureRatio };
}

/*
 * The SCIM activity record: every SCIM request of a tenant as a person reads
 * it (what was done, to what, with what outcome; never a value), and Entra's
 * connections with their health, judged from that record.
 */
export {
  type Connection,
  findConnection,
  grantAlive,
  listConnections,
  observeGrants,
  revokeConnection,
} from './connections.ts';
export { type Health, judge, type Outcomes, type Reason, type Verdict } from './health.ts';
export { classify } from './operations.ts';
export {
  type ActivityPage,
  type ActivityQuery,
  isOperation,
  isOutcome,
  listActivity,
  MAX_PAGE,
  OUTCOMES,
  type OutcomeClass,
} from './queries.ts';
export { createRecorder, type Recorder, type RecorderTuning } from './recorder.ts';
export { recordScim } from './scim.ts';
export { type ActivityEntry, OPERATIONS, type Operation } from './types.ts';

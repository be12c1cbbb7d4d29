import { type ActivityEntry, isOperation, isOutcome, listActivity, MAX_PAGE, OPERATIONS, OUTCOMES } from '../activity/index.ts';
import { getTenant } from '../directory/index.ts';
import { type Command, table, UsageError } from './command.ts';
import { parseDuration } from './duration.ts';

/** `--since`: a duration back from now (30m, 1h, 7d) or an ISO time. */
export function sinceOf(value: string, now: number): string {
  if (/^\d+[smhdwy]?$/.test(value.trim())) return new Date(now - parseDuration('since', value) * 1000).toISOString();
  const at = Date.parse(value);
  if (!/^\d{4}-\d\d-\d\d/.test(value.trim()) || Number.isNaN(at)) {
    throw new UsageError(`--since takes a duration (30m, 1h, 7d) or an ISO time (2026-12-01T09:00:00Z), got "${value}"`);
  }
  return new Date(at).toISOString();
}

function entryJson(entry: ActivityEntry) {
  return {
    at: entry.at,
    request_id: entry.requestId,
    grant_id: entry.grantId,
    client_id: entry.clientId,
    method: entry.method,
    operation: entry.operation,
    member_count: entry.memberCount,
    resource_type: entry.resourceType,
    resource_id: entry.resourceId,
    resource_name: entry.resourceName,
    status: entry.status,
    scim_type: entry.scimType,
    detail: entry.detail,
    attributes: entry.attributes,
  };
}

function words(entry: ActivityEntry): string {
  const what = entry.operation.replace(/_/g, ' ');
  return entry.memberCount !== null ? `${what} (${entry.memberCount})` : what;
}

export const activityCommand: Command = {
  name: 'activity',
  summary: "A tenant's SCIM activity, newest first",
  args: ['domain'],
  options: {
    since: { type: 'string', value: '1h|7d|ISO time', description: 'Only requests from then on' },
    user: { type: 'string', value: 'userName', description: 'Only requests about this user (or group displayName, or resource id)' },
    ref: { type: 'string', value: 'request id', description: 'The request with this reference (X-Request-Id)' },
    operation: { type: 'string', value: 'operation', description: `One operation: ${OPERATIONS.join(', ')}` },
    outcome: { type: 'string', value: 'outcome', description: `One outcome: ${OUTCOMES.join(', ')}` },
    limit: { type: 'string', value: 'N', description: `At most N requests (default 50, at most ${MAX_PAGE})` },
  },
  details:
    'Every SCIM request Entra made for the tenant: the operation, the resource, the outcome and the\nnames of the attributes it changed (never values). Kept for ACTIVITY_RETENTION_DAYS.',
  async run({ args, options, store }) {
    const tenant = await getTenant(store.db, args.domain!);
    const user = options.user as string | undefined;
    const ref = options.ref as string | undefined;
    if (user !== undefined && ref !== undefined) throw new UsageError('give --user or --ref, not both');
    const limitText = (options.limit as string | undefined) ?? '50';
    if (!/^\d+$/.test(limitText) || Number(limitText) < 1 || Number(limitText) > MAX_PAGE) {
      throw new UsageError(`--limit takes a whole number from 1 to ${MAX_PAGE}, got "${limitText}"`);
    }
    const operation = options.operation as string | undefined;
    if (operation !== undefined && !isOperation(operation)) throw new UsageError(`--operation takes one of ${OPERATIONS.join(', ')}`);
    const outcome = options.outcome as string | undefined;
    if (outcome !== undefined && !isOutcome(outcome)) throw new UsageError(`--outcome takes one of ${OUTCOMES.join(', ')}`);
    const since = options.since === undefined ? undefined : sinceOf(options.since as string, Date.now());
    const page = await listActivity(store.db, {
      tenantId: tenant.id,
      search: ref ?? user,
      since,
      operation: operation as never,
      outcome: outcome as never,
      limit: Number(limitText),
    });
    const text = page.entries.length
      ? table(
          ['TIME', 'OPERATION', 'RESOURCE', 'STATUS', 'REQUEST ID', 'CHANGED'],
          page.entries.map((e) => [
            `${e.at.slice(0, 19)}Z`,
            words(e),
            [e.resourceName, e.resourceId].filter(Boolean).join(' ') || '-',
            `${e.status}${e.scimType ? ` ${e.scimType}` : ''}`,
            e.requestId,
            e.attributes.join(',') || '-',
          ]),
        )
      : `No SCIM activity for ${tenant.name}${since ? ` since ${since}` : ''}.`;
    return { text, json: page.entries.map(entryJson) };
  },
};

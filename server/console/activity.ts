import type Koa from 'koa';
import { isOperation, isOutcome, listActivity, OPERATIONS, OUTCOMES } from '../activity/index.ts';
import { isStorableText } from '../store/index.ts';
import { when } from './connections.ts';
import { type ConsoleParts, page, text } from './view.ts';

const PAGE_SIZE = 50;

function one(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

/** GET /console/activity: the tenant's SCIM requests as a person reads them, searchable, filterable, newest first. */
export async function showActivity(ctx: Koa.Context, parts: ConsoleParts): Promise<void> {
  const visit = ctx.state.console!;
  const t = text(ctx);
  const search = one(ctx.query.q).trim().slice(0, 200);
  const outcome = isOutcome(ctx.query.outcome) ? ctx.query.outcome : undefined;
  const operation = isOperation(ctx.query.operation) ? ctx.query.operation : undefined;
  const after = one(ctx.query.after);
  await parts.recorder.flush();
  const result = await listActivity(parts.db, {
    tenantId: visit.tenant.id,
    search: search && isStorableText(search) ? search : undefined,
    outcome,
    operation,
    after: after || undefined,
    limit: PAGE_SIZE,
  });
  const filters = new URLSearchParams();
  if (search) filters.set('q', search);
  if (outcome) filters.set('outcome', outcome);
  if (operation) filters.set('operation', operation);
  const olderQuery = new URLSearchParams(filters);
  if (result.next) olderQuery.set('after', result.next);
  page(ctx, 'activity.njk', {
    tenantName: visit.tenant.name,
    search,
    outcome,
    operation,
    outcomes: OUTCOMES.map((value) => ({ value, label: t(`outcome_class.${value}`) })),
    operations: OPERATIONS.map((value) => ({ value, label: t(`op.${value}`, { count: 'n' }) })),
    entries: result.entries.map((entry) => ({
      at: when(entry.at, t),
      what: t(`op.${entry.operation}`, { count: entry.memberCount ?? 0 }),
      operation: entry.operation,
      resource: [entry.resourceName, entry.resourceId].filter(Boolean).join(' · '),
      status: entry.status,
      scimType: entry.scimType,
      detail: entry.detail,
      changed: entry.attributes.length ? t('activity.changed', { names: entry.attributes.join(', ') }) : undefined,
      requestId: entry.requestId,
      connection: entry.grantId ? entry.grantId.slice(0, 8) : '',
      failed: entry.status >= 400,
    })),
    older: result.next ? `/console/activity?${olderQuery}` : undefined,
    newest: after ? `/console/activity${filters.size ? `?${filters}` : ''}` : undefined,
  });
}

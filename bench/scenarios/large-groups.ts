import { addMemberBody, removeMemberBody } from '../entra.ts';
import { round } from '../http.ts';
import { type CannonResult, runLoad } from '../loader.ts';
import { type Row, ratio } from '../report.ts';
import { type DeploymentRun, perOperation, scimHeaders, withCpu } from './index.ts';

/**
 * One member in and out again, in a group of ten and in a group of
 * 100,000, one request at a time (latency without queueing), interleaved so
 * both groups see the same machine; then GET with excludedAttributes=members
 * on each, as fast as the server answers.
 */
export async function largeGroups(run: DeploymentRun): Promise<Row[]> {
  const tenant = run.groups!;
  const headers = { ...scimHeaders(tenant.tokens.access_token), 'content-type': 'application/scim+json' };
  const groups = [
    { name: 'small', id: tenant.small.id, members: tenant.small.members },
    { name: 'large', id: tenant.large.id, members: tenant.large.members },
  ];
  const steps = [];
  for (let i = 0; i < run.sizes.memberEdits; i++) {
    const userId = tenant.outsiders[i % tenant.outsiders.length];
    for (const group of groups) {
      const path = `/scim/v2/Groups/${group.id}`;
      steps.push({ label: `add ${group.name}`, method: 'PATCH', path, body: addMemberBody(userId), expect: 204 });
      steps.push({ label: `remove ${group.name}`, method: 'PATCH', path, body: removeMemberBody(userId), expect: 204 });
    }
  }
  const edits = await runLoad({ kind: 'sequence', url: run.url, headers, steps });
  const reads: (CannonResult & Pick<Row, 'cpuMs' | 'storeCpuMs'>)[] = [];
  for (const group of groups) {
    const { result, cpu } = await withCpu(run, `large-groups: GET ${group.name}`, () =>
      runLoad({
        kind: 'cannon',
        url: run.url,
        paths: [`/scim/v2/Groups/${group.id}?excludedAttributes=members`],
        headers: scimHeaders(tenant.tokens.access_token),
        connections: run.sizes.connections,
        seconds: run.sizes.cannonSeconds,
      }),
    );
    reads.push({ ...result, ...perOperation(cpu, result.requests) });
  }
  run.details.largeGroups = { edits, reads };

  const size = (n: number) => `${n.toLocaleString('en-US')} members`;
  const addSmall = edits.byLabel['add small'];
  const addLarge = edits.byLabel['add large'];
  const growth = addSmall.p50 > 0 ? round(addLarge.p50 / addSmall.p50, 2) : Number.NaN;
  const rows: Row[] = [];
  for (const group of groups) {
    for (const op of ['add', 'remove'] as const) {
      const figures = edits.byLabel[`${op} ${group.name}`];
      rows.push({
        scenario: 'large-groups',
        measure: `PATCH ${op} one member, ${size(group.members)}`,
        p50: figures.p50,
        p99: figures.p99,
        errors: figures.errors,
        ...(op === 'add' && group.name === 'large'
          ? {
              target: { text: '≤ 2× the 10-member add (p50)', met: growth <= 2 && figures.errors === 0 },
              note: `p50 ${growth}× the 10-member add`,
            }
          : {}),
      });
    }
  }
  groups.forEach((group, i) => {
    const read = reads[i];
    rows.push({
      scenario: 'large-groups',
      measure: `GET excludedAttributes=members, ${size(group.members)}`,
      rate: read.rps,
      unit: 'req/s',
      ratio: ratio(read.rps, run.baseline.rps),
      cpuMs: read.cpuMs,
      storeCpuMs: read.storeCpuMs,
      p50: read.p50,
      p99: read.p99,
      errors: read.errors + (read.requests - (read.statuses['200'] ?? 0)),
    });
  });
  if (edits.firstErrors.length) rows[0].note = `first errors: ${edits.firstErrors.join(' | ')}`;
  return rows;
}

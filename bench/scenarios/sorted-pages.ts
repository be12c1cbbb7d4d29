import { runLoad } from '../loader.ts';
import type { Row } from '../report.ts';
import { type DeploymentRun, type PopulatedTenant, perOperation, scimHeaders, withCpu } from './index.ts';

const TARGET_RATIO = 2;
const PAGE = 100;

const MEASURES = [
  { label: 'unsorted (creation order)', query: '' },
  { label: 'sortBy=userName', query: '&sortBy=userName' },
  { label: 'sortBy=meta.lastModified descending', query: '&sortBy=meta.lastModified&sortOrder=descending' },
] as const;

/**
 * The first page of a tenant's users (count=100), unsorted and sorted, as
 * fast as the server answers. The cost compared is CPU per request, the
 * server's plus its stores': a sort that is not an index range would read
 * and order the whole tenant on every request and show at once.
 */
export async function sortedPages(run: DeploymentRun): Promise<Row[]> {
  const rows: Row[] = [];
  for (const tenant of run.reads) {
    const headers = scimHeaders(tenant.tokens.access_token);
    const measured: { label: string; cost: number; p50: number; row: Row }[] = [];
    for (const measure of MEASURES) {
      const path = `/scim/v2/Users?count=${PAGE}${measure.query}`;
      await probe(run, tenant, path, headers);
      const { result, cpu } = await withCpu(run, `sorted-pages: ${measure.label}, ${tenant.users} users`, () =>
        runLoad({
          kind: 'cannon',
          url: run.url,
          paths: [path],
          headers,
          connections: run.sizes.connections,
          seconds: run.sizes.cannonSeconds,
        }),
      );
      const cost = result.requests > 0 ? (cpu.server + cpu.stores) / result.requests : Number.NaN;
      measured.push({
        label: measure.label,
        cost,
        p50: result.p50,
        row: {
          scenario: 'sorted-pages',
          measure: `first page of ${PAGE}, ${measure.label}, ${tenant.users.toLocaleString('en-US')} users`,
          rate: result.rps,
          unit: 'req/s',
          ...perOperation(cpu, result.requests),
          p50: result.p50,
          p99: result.p99,
          errors: result.errors + (result.requests - (result.statuses['200'] ?? 0)),
        },
      });
    }
    const [unsorted, ...sorted] = measured;
    rows.push(unsorted.row);
    for (const s of sorted) {
      rows.push(s.row);
      const ratio = Math.round((s.cost / unsorted.cost) * 100) / 100;
      rows.push({
        scenario: 'sorted-pages',
        measure: `${s.label} against unsorted, cpu per request, ${tenant.users.toLocaleString('en-US')} users`,
        value: ratio,
        unit: '×',
        target: { text: `≤ ${TARGET_RATIO}× the unsorted first page`, met: ratio <= TARGET_RATIO },
        note: `server + store cpu ${s.cost.toFixed(3)} ms against ${unsorted.cost.toFixed(3)} ms per request; p50 ${s.p50} ms against ${unsorted.p50} ms`,
      });
    }
  }
  return rows;
}

/** One look first: a full page, in the order asked for, or the figure would be for something else. */
async function probe(run: DeploymentRun, tenant: PopulatedTenant, path: string, headers: Record<string, string>): Promise<void> {
  const response = await fetch(new URL(path, run.url), { headers });
  const body = (await response.json()) as { totalResults?: number; Resources?: { userName: string; meta: { lastModified: string } }[] };
  const resources = body.Resources ?? [];
  // The tenant also holds its manager and the run's fidelity check user.
  if (response.status !== 200 || resources.length !== Math.min(PAGE, tenant.users) || (body.totalResults ?? 0) < tenant.users) {
    throw new Error(`sorted-pages: ${path} answered ${response.status} with ${JSON.stringify(body).slice(0, 200)}`);
  }
  const keys = path.includes('userName')
    ? resources.map((r) => r.userName.toLowerCase())
    : path.includes('lastModified')
      ? resources.map((r) => r.meta.lastModified).reverse()
      : undefined;
  if (keys?.some((key, i) => i > 0 && Buffer.compare(Buffer.from(keys[i - 1]), Buffer.from(key)) > 0)) {
    throw new Error(`sorted-pages: ${path} did not answer in the order asked for`);
  }
}

import { userNameFilterPath, userNameOf } from '../entra.ts';
import { runLoad } from '../loader.ts';
import { loopDelay, scrape } from '../metrics.ts';
import { type Row, ratio } from '../report.ts';
import { type DeploymentRun, perOperation, scimHeaders, withCpu } from './index.ts';
import { memoryPoint } from './memory.ts';

const TARGET_SHARE = 0.25;
const SAMPLE = 2_000;

/**
 * Entra's matching query, GET /Users?filter=userName eq "…", for userNames
 * spread over the whole tenant (so the index is read everywhere, not only a
 * hot corner), with a valid bearer token, as fast as the server answers.
 */
export async function scimReads(run: DeploymentRun): Promise<Row[]> {
  const rows: Row[] = [];
  for (const tenant of run.reads) {
    const paths = Array.from({ length: Math.min(SAMPLE, tenant.users) }, () =>
      userNameFilterPath(userNameOf(tenant.label, Math.floor(Math.random() * tenant.users))),
    );
    const headers = scimHeaders(tenant.tokens.access_token);
    // One look first: each of these must find exactly one user, or the figure would be for a different query.
    const probe = await fetch(new URL(paths[0], run.url), { headers });
    const found = (await probe.json()) as { totalResults?: number };
    if (probe.status !== 200 || found.totalResults !== 1) {
      throw new Error(`scim-reads: ${paths[0]} answered ${probe.status} with ${JSON.stringify(found).slice(0, 200)}`);
    }
    await scrape(run.url);
    const { result, cpu } = await withCpu(run, `scim-reads: ${tenant.users} users`, () =>
      runLoad({ kind: 'cannon', url: run.url, paths, headers, connections: run.sizes.connections, seconds: run.sizes.cannonSeconds }),
    );
    const delay = loopDelay(await scrape(run.url));
    const share = ratio(result.rps, run.baseline.rps);
    rows.push({
      scenario: 'scim-reads',
      measure: `filter userName eq, ${tenant.users.toLocaleString('en-US')} users`,
      rate: result.rps,
      unit: 'req/s',
      ratio: share,
      ...perOperation(cpu, result.requests),
      p50: result.p50,
      p99: result.p99,
      errors: result.errors + (result.requests - (result.statuses['200'] ?? 0)),
      target: { text: `≥ ${TARGET_SHARE * 100}% of baseline`, met: share >= TARGET_SHARE },
      note: `event loop delay p99 ${delay.p99} ms (${run.sizes.connections} requests always in flight)`,
    });
    if (tenant.users >= 1_000_000) await memoryPoint(run, 'RSS right after the 1,000,000-user reads', false);
  }
  return rows;
}

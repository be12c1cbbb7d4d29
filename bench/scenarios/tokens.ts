import { round } from '../http.ts';
import { runLoad } from '../loader.ts';
import { type Row, ratio } from '../report.ts';
import { type DeploymentRun, perOperation, scimHeaders, withCpu } from './index.ts';

const REFRESH_TARGET = 2_000;
const LATENCY_SAMPLES = 300;

/**
 * Refresh grants per second: every grant of the fleet refreshing at once,
 * each chain presenting the refresh token its last refresh returned (they
 * rotate on every use).
 *
 * What verifying the bearer token adds: the same SCIM route, answered with
 * a valid token and without one. GET /ServiceProviderConfig is static, so
 * the two differ only in the token check (the access token, its grant, and
 * the tenant, client and manager standing from the directory) and in the
 * body (the configuration vs. a short 401 error): an upper bound of the
 * check's cost. /healthz is the app's cheapest route, for scale.
 */
export async function tokens(run: DeploymentRun): Promise<Row[]> {
  const fleet = run.fleet ?? [];
  const token = fleet[0].tokens.access_token;
  const spc = '/scim/v2/ServiceProviderConfig';
  const cannon = async (label: string, paths: string[], headers: Record<string, string>) => {
    const { result, cpu } = await withCpu(run, `tokens: ${label}`, () =>
      runLoad({ kind: 'cannon', url: run.url, paths, headers, connections: run.sizes.connections, seconds: run.sizes.cannonSeconds }),
    );
    return { ...result, ...perOperation(cpu, result.requests) };
  };

  const authenticated = await cannon('with token', [spc], scimHeaders(token));
  const refused = await cannon('no token', [spc], { accept: 'application/scim+json' });
  const health = await cannon('healthz', ['/healthz'], {});
  // Unloaded latency: one request at a time, alternating, so both see the same machine.
  const steps = Array.from({ length: LATENCY_SAMPLES }, (_, i) => [
    { label: 'with token', method: 'GET', path: `${spc}?n=${i}`, expect: 200 },
    { label: 'without', method: 'GET', path: `${spc}?n=${i}`, expect: 401 },
  ]).flat();
  const alone = await runLoad({
    kind: 'sequence',
    url: run.url,
    headers: {},
    steps: steps.map((s) => ({ ...s, ...(s.label === 'with token' ? { headers: scimHeaders(token) } : {}) })),
  });

  const chains = fleet.map((t) => ({ ...t.seeded.client, refreshToken: t.tokens.refresh_token }));
  const { result: refreshed, cpu: refreshCpu } = await withCpu(run, 'tokens: refresh grants', () =>
    runLoad({ kind: 'refresh', url: run.url, chains, seconds: run.sizes.refreshSeconds }),
  );
  refreshed.chains.forEach((chain, i) => {
    fleet[i].tokens.refresh_token = chain.refreshToken;
  });

  // Server CPU per request, with the token check and without: steadier than 1000/req/s on a busy machine.
  const addedMs = round(
    (authenticated.cpuMs ?? Number.NaN) + (authenticated.storeCpuMs ?? 0) - (refused.cpuMs ?? Number.NaN) - (refused.storeCpuMs ?? 0),
    3,
  );
  const withToken = alone.byLabel['with token'];
  const without = alone.byLabel.without;
  run.details.tokens = { authenticated, refused, health, alone, refresh: { ...refreshed, chains: refreshed.chains.length } };

  const statusErrors = (r: { requests: number; errors: number; statuses: Record<string, number> }, expected: string) =>
    r.errors + (r.requests - (r.statuses[expected] ?? 0));
  return [
    {
      scenario: 'tokens',
      measure: `refresh grants, ${chains.length} rotating chains`,
      rate: refreshed.perSecond,
      unit: 'grants/s',
      ratio: ratio(refreshed.perSecond, run.baseline.rps),
      ...perOperation(refreshCpu, refreshed.grants),
      p50: refreshed.latency.p50,
      p99: refreshed.latency.p99,
      errors: refreshed.failures,
      target: {
        text: `≥ ${REFRESH_TARGET.toLocaleString('en-US')}/s`,
        met: refreshed.perSecond >= REFRESH_TARGET && refreshed.failures === 0,
      },
      note: refreshed.firstErrors.length ? `first errors: ${refreshed.firstErrors.join(' | ')}` : undefined,
    },
    {
      scenario: 'tokens',
      measure: 'GET /ServiceProviderConfig, valid token',
      rate: authenticated.rps,
      unit: 'req/s',
      ratio: ratio(authenticated.rps, run.baseline.rps),
      cpuMs: authenticated.cpuMs,
      storeCpuMs: authenticated.storeCpuMs,
      p50: authenticated.p50,
      p99: authenticated.p99,
      errors: statusErrors(authenticated, '200'),
    },
    {
      scenario: 'tokens',
      measure: 'GET /ServiceProviderConfig, no token (401)',
      rate: refused.rps,
      unit: 'req/s',
      ratio: ratio(refused.rps, run.baseline.rps),
      cpuMs: refused.cpuMs,
      storeCpuMs: refused.storeCpuMs,
      p50: refused.p50,
      p99: refused.p99,
      errors: statusErrors(refused, '401'),
    },
    {
      scenario: 'tokens',
      measure: 'GET /healthz',
      rate: health.rps,
      unit: 'req/s',
      ratio: ratio(health.rps, run.baseline.rps),
      cpuMs: health.cpuMs,
      storeCpuMs: health.storeCpuMs,
      p50: health.p50,
      p99: health.p99,
      errors: statusErrors(health, '200'),
    },
    {
      scenario: 'tokens',
      measure: 'token check, added server time per request',
      value: addedMs,
      unit: 'ms',
      note: `server${run.deployment.name === 'scale-out' ? ' and store' : ''} CPU per request with a token minus without; one at a time: p50 ${withToken?.p50} ms with a token, ${without?.p50} ms without (+${round((withToken?.p50 ?? 0) - (without?.p50 ?? 0), 3)} ms)`,
    },
  ];
}

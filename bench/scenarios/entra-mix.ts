import { runLoad } from '../loader.ts';
import { type Row, ratio } from '../report.ts';
import { type DeploymentRun, perOperation, withCpu } from './index.ts';

const P99_TARGET_MS = 50;

/**
 * Entra's provisioning cycle over many tenants at a fixed offered rate:
 * create user, PATCH attributes, create group, add the user, remove them,
 * PATCH active "False", DELETE the user. Cycles start on an even schedule,
 * tenants in turn; the seven requests of a cycle follow one another.
 */
export async function entraMix(run: DeploymentRun): Promise<Row[]> {
  const fleet = run.fleet ?? [];
  const { result, cpu } = await withCpu(run, () =>
    runLoad({
      kind: 'mix',
      url: run.url,
      tokens: fleet.map((t) => t.tokens.access_token),
      rate: run.sizes.mixRate,
      seconds: run.sizes.mixSeconds,
      label: `mix${Date.now().toString(36)}`,
      // Enough for a second of backlog; beyond that the server is not keeping up and more would only queue.
      maxInFlight: Math.ceil(run.sizes.mixRate / 7),
    }),
  );
  run.details.entraMix = result;
  const failed = result.errors + result.dropped;
  const keptUp = result.achieved >= result.offered * 0.95;
  const notes = [
    `offered ${result.offered} req/s, answered ${result.achieved} req/s`,
    result.dropped ? `${result.dropped} cycles not started (${Math.ceil(run.sizes.mixRate / 7)} already in flight)` : '',
    result.skipped ? `${result.skipped} requests not sent after a failed step` : '',
    `load process start lag p99 ${result.startLagMs.p99} ms`,
    result.firstErrors.length ? `first errors: ${result.firstErrors.join(' | ')}` : '',
  ].filter(Boolean);
  const rows: Row[] = [
    {
      scenario: 'entra-mix',
      measure: `7-step cycle over ${fleet.length} tenants, ${result.offered.toLocaleString('en-US')} req/s offered`,
      rate: result.achieved,
      unit: 'req/s',
      ratio: ratio(result.achieved, run.baseline.rps),
      ...perOperation(cpu, result.requests),
      p50: result.latency.p50,
      p99: result.latency.p99,
      errors: failed,
      target: { text: `p99 < ${P99_TARGET_MS} ms, no errors`, met: result.latency.p99 < P99_TARGET_MS && failed === 0 && keptUp },
      note: notes.join('; '),
    },
  ];
  for (const [step, figures] of Object.entries(result.byStep)) {
    rows.push({ scenario: 'entra-mix', measure: `  ${step}`, p50: figures.p50, p99: figures.p99, errors: figures.errors });
  }
  return rows;
}

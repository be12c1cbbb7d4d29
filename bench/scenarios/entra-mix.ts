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
  const mix = async (rate: number, seconds: number, label: string) =>
    withCpu(run, label, () =>
      runLoad({
        kind: 'mix',
        url: run.url,
        tokens: fleet.map((t) => t.tokens.access_token),
        rate,
        seconds,
        label: `mix${Date.now().toString(36)}`,
        // A second's worth of cycles; beyond that the server is not keeping up and more would only queue.
        maxInFlight: Math.ceil(rate / 7),
        connections: fleet.length,
      }),
    );
  const offered = await mix(run.sizes.mixRate, run.sizes.mixSeconds, 'entra-mix: offered rate');
  // Then at half of what the server answered: the latency of a load it can carry.
  const carried = Math.max(70, Math.round(offered.result.achieved / 2 / 10) * 10);
  const sustainable = await mix(carried, Math.max(5, Math.round(run.sizes.mixSeconds / 2)), 'entra-mix: half the answered rate');
  run.details.entraMix = { offered: offered.result, sustainable: sustainable.result };

  const rowOf = ({ result, cpu }: typeof offered, measure: string, target: boolean): Row => {
    const failed = result.errors + result.dropped;
    const keptUp = result.achieved >= result.offered * 0.95;
    const notes = [
      `answered ${result.achieved} of ${result.offered} req/s offered`,
      result.dropped ? `${result.dropped} cycles not started (${Math.ceil(result.offered / 7)} already in flight)` : '',
      result.skipped ? `${result.skipped} requests not sent after a failed step` : '',
      `load process start lag p99 ${result.startLagMs.p99} ms`,
      result.firstErrors.length ? `first errors: ${result.firstErrors.join(' | ')}` : '',
    ].filter(Boolean);
    return {
      scenario: 'entra-mix',
      measure,
      rate: result.achieved,
      unit: 'req/s',
      ratio: ratio(result.achieved, run.baseline.rps),
      ...perOperation(cpu, result.requests),
      p50: result.latency.p50,
      p99: result.latency.p99,
      errors: failed,
      target: target
        ? { text: `p99 < ${P99_TARGET_MS} ms, no errors`, met: result.latency.p99 < P99_TARGET_MS && failed === 0 && keptUp }
        : undefined,
      note: notes.join('; '),
    };
  };
  const rows: Row[] = [
    rowOf(offered, `7-step cycle, ${fleet.length} tenants, ${run.sizes.mixRate.toLocaleString('en-US')} req/s offered`, true),
  ];
  for (const [step, figures] of Object.entries(offered.result.byStep)) {
    rows.push({ scenario: 'entra-mix', measure: `  ${step}`, p50: figures.p50, p99: figures.p99, errors: figures.errors });
  }
  rows.push(rowOf(sustainable, 'same cycle at half the answered rate', false));
  return rows;
}

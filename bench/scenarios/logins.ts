import { userNameFilterPath } from '../entra.ts';
import { prepareLogins } from '../fleet.ts';
import { runLoad } from '../loader.ts';
import { type LoopDelay, loopDelay, scrape } from '../metrics.ts';
import { type Row, ratio } from '../report.ts';
import { type DeploymentRun, perOperation, scimHeaders, withCpu } from './index.ts';

const LOGIN_TARGET = 40;
const P99_TARGET_MS = 50;

/**
 * Sign-ins as a manager does them: the login form of a real interaction
 * (Authorize, Go to domain, the tenant's login page, walked beforehand),
 * posted with the right password, checked with Argon2id at the configured
 * parameters. Meanwhile SCIM GETs at a steady rate on other connections
 * show whether the event loop stalls; the same GETs alone first, for
 * comparison.
 */
export async function logins(run: DeploymentRun): Promise<Row[]> {
  const tenant = run.logins!;
  const attempts = await prepareLogins({ url: run.url }, tenant.seeded, run.sizes.loginAttempts);
  const scim = {
    kind: 'paced' as const,
    url: run.url,
    paths: [userNameFilterPath(tenant.seeded.manager.username), userNameFilterPath('nobody@bench.example')],
    headers: scimHeaders(tenant.tokens.access_token),
    rate: run.sizes.scimDuringLogins,
  };
  await scrape(run.url);
  const { result: alone, cpu: aloneCpu } = await withCpu(run, 'logins: SCIM alone', () => runLoad({ ...scim, seconds: 5 }));
  const delayAlone = loopDelay(await scrape(run.url));
  const { result: both, cpu } = await withCpu(run, 'logins: form posts', () =>
    Promise.all([
      runLoad({
        kind: 'logins',
        url: run.url,
        attempts,
        concurrency: run.sizes.loginConcurrency,
        maxSeconds: run.sizes.loginSeconds,
      }),
      runLoad({ ...scim, seconds: run.sizes.loginSeconds }),
    ]),
  );
  const [signIns, during] = both;
  // The SCIM GETs that ran alongside cost what they cost alone; the rest is the logins'.
  const scimShare = (ms: number, sent: number) => (alone.sent > 0 ? (ms / alone.sent) * sent : 0);
  const loginCpu = {
    server: cpu.server - scimShare(aloneCpu.server, during.sent),
    stores: cpu.stores - scimShare(aloneCpu.stores, during.sent),
  };
  const delayDuring = loopDelay(await scrape(run.url));
  run.details.logins = { prepared: attempts.length, signIns, scimAlone: alone, scimDuring: during, delayAlone, delayDuring };
  const delay = (d: LoopDelay) => `event loop delay p99 ${d.p99} ms, max ${d.max} ms`;
  return [
    {
      scenario: 'logins',
      measure: `login form posts, ${run.sizes.loginConcurrency} at a time`,
      rate: signIns.perSecond,
      unit: 'logins/s',
      ratio: ratio(signIns.perSecond, run.baseline.rps),
      ...perOperation(loginCpu, signIns.logins),
      p50: signIns.latency.p50,
      p99: signIns.latency.p99,
      errors: signIns.failures,
      target: { text: `≥ ${LOGIN_TARGET}/s`, met: signIns.perSecond >= LOGIN_TARGET && signIns.failures === 0 },
      note:
        signIns.logins >= attempts.length
          ? `all ${attempts.length} prepared logins used in ${signIns.seconds} s`
          : signIns.firstErrors.length
            ? `first errors: ${signIns.firstErrors.join(' | ')}`
            : undefined,
    },
    {
      scenario: 'logins',
      measure: `SCIM GET at ${scim.rate}/s during logins`,
      p50: during.latency.p50,
      p99: during.latency.p99,
      errors: during.errors,
      target: { text: `p99 < ${P99_TARGET_MS} ms`, met: during.latency.p99 < P99_TARGET_MS && during.errors === 0 },
      note: `max ${during.latency.max} ms; ${delay(delayDuring)}`,
    },
    {
      scenario: 'logins',
      measure: `SCIM GET at ${scim.rate}/s, no logins`,
      ...perOperation(aloneCpu, alone.sent),
      p50: alone.latency.p50,
      p99: alone.latency.p99,
      errors: alone.errors,
      note: `max ${alone.latency.max} ms; ${delay(delayAlone)}`,
    },
  ];
}

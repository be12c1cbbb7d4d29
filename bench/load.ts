import autocannon from 'autocannon';
import { addMemberBody, createGroupBody, createUserBody, DISABLE_USER_BODY, patchUserBody, removeMemberBody } from './entra.ts';
import { type Answer, Client, Latencies, type LatencySummary, type Request, round } from './http.ts';

/*
 * A load process: the orchestrator forks one per load job (bench/loader.ts),
 * so load never runs in the server's process nor competes with the
 * orchestrator's own work. It receives one job, runs it, answers with the
 * figures and exits.
 */

export type Job = CannonJob | MixJob | PacedJob | SequenceJob | RefreshJob | LoginJob;

/** Closed-loop maximum throughput with autocannon: `connections` always busy for `seconds`. */
export interface CannonJob {
  kind: 'cannon';
  url: string;
  /** Paths taken in turn, one per request. */
  paths: string[];
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  connections: number;
  seconds: number;
}

export interface CannonResult {
  rps: number;
  p50: number;
  p99: number;
  requests: number;
  errors: number;
  /** Status code → count. */
  statuses: Record<string, number>;
}

/**
 * Entra's provisioning cycle at a fixed offered rate: cycles start on an
 * even schedule (open loop, rate/7 per second), tenants taken in turn; each
 * cycle's seven requests follow one another, as each needs the previous
 * one's answer.
 */
export interface MixJob {
  kind: 'mix';
  url: string;
  tokens: string[];
  /** Offered requests per second. */
  rate: number;
  seconds: number;
  label: string;
  maxInFlight: number;
  /**
   * Keep-alive connections, opened as needed and reused: as Entra keeps a few
   * per tenant. Requests beyond them wait in the client and their wait counts
   * in their latency. (Opening a fresh connection for every waiting cycle of
   * an overloaded server only fills the listen backlog, and SYN retries then
   * add whole seconds.)
   */
  connections: number;
}

export interface MixResult {
  offered: number;
  achieved: number;
  requests: number;
  errors: number;
  /** Requests not sent because the cycle they belonged to had failed. */
  skipped: number;
  /** Cycles not started because maxInFlight were still running. */
  dropped: number;
  latency: LatencySummary;
  byStep: Record<string, LatencySummary & { errors: number }>;
  /** How late cycles started against their schedule: the load process's own health. */
  startLagMs: { p99: number; max: number };
  firstErrors: string[];
}

/** GETs at a fixed rate, evenly spaced (open loop): what a client sees while something else runs. */
export interface PacedJob {
  kind: 'paced';
  url: string;
  paths: string[];
  headers: Record<string, string>;
  rate: number;
  seconds: number;
}

export interface PacedResult {
  sent: number;
  errors: number;
  latency: LatencySummary;
  startLagMs: { p99: number; max: number };
}

/** Requests one after another on one connection: latency without queueing. */
export interface SequenceJob {
  kind: 'sequence';
  url: string;
  headers: Record<string, string>;
  steps: { label: string; method: string; path: string; headers?: Record<string, string>; body?: unknown; expect: number }[];
}

export interface SequenceResult {
  byLabel: Record<string, LatencySummary & { errors: number }>;
  firstErrors: string[];
}

/** Refresh-token chains in parallel, each presenting the token its previous refresh returned. */
export interface RefreshJob {
  kind: 'refresh';
  url: string;
  chains: { clientId: string; clientSecret: string; refreshToken: string }[];
  seconds: number;
}

export interface RefreshResult {
  grants: number;
  perSecond: number;
  failures: number;
  latency: LatencySummary;
  firstErrors: string[];
  /** The newest refresh token of each chain, for whoever refreshes next. */
  chains: { clientId: string; clientSecret: string; refreshToken: string }[];
}

/** Login form posts on interactions prepared beforehand, `concurrency` at a time. */
export interface LoginJob {
  kind: 'logins';
  url: string;
  attempts: { path: string; cookie: string; form: Record<string, string> }[];
  concurrency: number;
  maxSeconds: number;
}

export interface LoginResult {
  logins: number;
  perSecond: number;
  failures: number;
  seconds: number;
  latency: LatencySummary;
  firstErrors: string[];
}

async function cannon(job: CannonJob): Promise<CannonResult> {
  let next = 0;
  const result = await autocannon({
    url: job.url,
    connections: job.connections,
    duration: job.seconds,
    timeout: 10,
    requests: [
      {
        method: job.method ?? 'GET',
        headers: job.headers,
        body: job.body,
        setupRequest: (request) => {
          request.path = job.paths[next++ % job.paths.length];
          return request;
        },
      },
    ],
  });
  const statuses = Object.fromEntries(Object.entries(result.statusCodeStats).map(([code, { count }]) => [code, Number(count)]));
  return {
    rps: round(result.requests.average, 0),
    p50: result.latency.p50,
    p99: result.latency.p99,
    requests: result.requests.total,
    errors: result.errors + result.timeouts,
    statuses,
  };
}

/** Starts `launch(n)` at `rate` per second, evenly, for `seconds`; resolves when every launched task has settled. */
async function pace(
  rate: number,
  seconds: number,
  launch: (n: number) => Promise<void> | undefined,
): Promise<{ lags: Latencies; launched: number }> {
  const interval = 1000 / rate;
  const started = performance.now();
  const end = started + seconds * 1000;
  const lags = new Latencies();
  const running = new Set<Promise<void>>();
  let n = 0;
  for (;;) {
    const now = performance.now();
    const due = started + n * interval;
    if (due >= end) break;
    if (now >= due) {
      lags.add(now - due);
      const task = launch(n);
      n++;
      if (task) {
        running.add(task);
        task.finally(() => running.delete(task));
      }
      continue;
    }
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, Math.min(due - now, 5) - 0.5)));
  }
  await Promise.allSettled([...running]);
  return { lags, launched: n };
}

/** Failed requests: how many, and the first few described for the report. */
class Failures {
  count = 0;
  readonly first: string[] = [];

  add(what: Answer | Error, label?: string): void {
    this.count++;
    if (this.first.length >= 5) return;
    const text = what instanceof Error ? what.message : `${what.status} ${what.body.slice(0, 200)}`;
    this.first.push(label ? `${label}: ${text}` : text);
  }
}

const SCIM_HEADERS = { 'content-type': 'application/scim+json', accept: 'application/scim+json' };

async function mix(job: MixJob): Promise<MixResult> {
  const client = new Client(job.url, { sockets: job.connections });
  const all = new Latencies();
  const steps = new Map<string, { latencies: Latencies; errors: number }>();
  const failures = new Failures();
  let skipped = 0;
  let dropped = 0;
  let inFlight = 0;
  let requests = 0;
  const cycleLength = 7;

  const step = async (label: string, token: string, request: Request, expect: number): Promise<string | undefined> => {
    const entry = steps.get(label) ?? { latencies: new Latencies(), errors: 0 };
    steps.set(label, entry);
    requests++;
    try {
      const answer = await client.send({ ...request, headers: { ...SCIM_HEADERS, authorization: `Bearer ${token}` } });
      if (answer.status === expect) {
        all.add(answer.ms);
        entry.latencies.add(answer.ms);
        return answer.body;
      }
      failures.add(answer, label);
    } catch (error) {
      failures.add(error as Error, label);
    }
    entry.errors++;
    return undefined;
  };

  const cycle = async (n: number): Promise<void> => {
    const token = job.tokens[n % job.tokens.length];
    let sent = 0;
    /** The answer's body ('' for 204), or undefined when the step failed and the cycle ends. */
    const send = (label: string, method: string, path: string, expect: number, body?: unknown) => {
      sent++;
      return step(label, token, { method, path, body: body === undefined ? undefined : JSON.stringify(body) }, expect);
    };
    try {
      const created = await send('create user', 'POST', '/scim/v2/Users', 201, createUserBody(job.label, n));
      if (created === undefined) return;
      const user = `/scim/v2/Users/${(JSON.parse(created) as { id: string }).id}`;
      const userId = user.slice(user.lastIndexOf('/') + 1);
      if ((await send('patch user', 'PATCH', user, 200, patchUserBody(n))) === undefined) return;
      const groupCreated = await send('create group', 'POST', '/scim/v2/Groups', 201, createGroupBody(job.label, n));
      if (groupCreated === undefined) return;
      const group = `/scim/v2/Groups/${(JSON.parse(groupCreated) as { id: string }).id}`;
      if ((await send('add member', 'PATCH', group, 204, addMemberBody(userId))) === undefined) return;
      if ((await send('remove member', 'PATCH', group, 204, removeMemberBody(userId))) === undefined) return;
      if ((await send('disable user', 'PATCH', user, 200, DISABLE_USER_BODY)) === undefined) return;
      await send('delete user', 'DELETE', user, 204);
    } finally {
      skipped += cycleLength - sent;
    }
  };

  const started = performance.now();
  const { lags } = await pace(job.rate / cycleLength, job.seconds, (n) => {
    if (inFlight >= job.maxInFlight) {
      dropped++;
      return undefined;
    }
    inFlight++;
    return cycle(n).finally(() => {
      inFlight--;
    });
  });
  const elapsed = (performance.now() - started) / 1000;
  client.close();
  const lag = lags.summary();
  return {
    offered: job.rate,
    achieved: round((requests - failures.count) / elapsed, 0),
    requests,
    errors: failures.count,
    skipped,
    dropped,
    latency: all.summary(),
    byStep: Object.fromEntries([...steps].map(([label, { latencies, errors }]) => [label, { ...latencies.summary(), errors }])),
    startLagMs: { p99: lag.p99, max: lag.max },
    firstErrors: failures.first,
  };
}

async function paced(job: PacedJob): Promise<PacedResult> {
  const client = new Client(job.url, { sockets: 64 });
  const latencies = new Latencies();
  let errors = 0;
  const { lags, launched } = await pace(job.rate, job.seconds, async (n) => {
    try {
      const answer = await client.send({ method: 'GET', path: job.paths[n % job.paths.length], headers: job.headers });
      if (answer.status !== 200) throw new Error(String(answer.status));
      latencies.add(answer.ms);
    } catch {
      errors++;
    }
  });
  client.close();
  const lag = lags.summary();
  return { sent: launched, errors, latency: latencies.summary(), startLagMs: { p99: lag.p99, max: lag.max } };
}

async function sequence(job: SequenceJob): Promise<SequenceResult> {
  const client = new Client(job.url, { sockets: 1 });
  const byLabel = new Map<string, { latencies: Latencies; errors: number }>();
  const failures = new Failures();
  for (const step of job.steps) {
    const entry = byLabel.get(step.label) ?? { latencies: new Latencies(), errors: 0 };
    byLabel.set(step.label, entry);
    const body = step.body === undefined ? undefined : JSON.stringify(step.body);
    const headers = { ...job.headers, ...step.headers };
    const answer = await client.send({ method: step.method, path: step.path, headers, body }).catch((error: Error) => error);
    if (answer instanceof Error || answer.status !== step.expect) {
      entry.errors++;
      failures.add(answer, step.label);
      continue;
    }
    entry.latencies.add(answer.ms);
  }
  client.close();
  return {
    byLabel: Object.fromEntries([...byLabel].map(([label, { latencies, errors }]) => [label, { ...latencies.summary(), errors }])),
    firstErrors: failures.first,
  };
}

async function refresh(job: RefreshJob): Promise<RefreshResult> {
  const client = new Client(job.url, { sockets: job.chains.length });
  const latencies = new Latencies();
  const failures = new Failures();
  const chains = job.chains.map((c) => ({ ...c }));
  const started = performance.now();
  const end = started + job.seconds * 1000;
  await Promise.all(
    chains.map(async (chain) => {
      const basic = Buffer.from(`${encodeURIComponent(chain.clientId)}:${encodeURIComponent(chain.clientSecret)}`).toString('base64');
      while (performance.now() < end) {
        const body = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: chain.refreshToken }).toString();
        const answer = await client
          .send({
            method: 'POST',
            path: '/oauth/token',
            headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${basic}` },
            body,
          })
          .catch((error: Error) => error);
        if (answer instanceof Error || answer.status !== 200) {
          failures.add(answer);
          // A chain whose refresh failed may have lost its grant; it stops here.
          return;
        }
        latencies.add(answer.ms);
        chain.refreshToken = (JSON.parse(answer.body) as { refresh_token: string }).refresh_token;
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  client.close();
  return {
    grants: latencies.count,
    perSecond: round(latencies.count / seconds, 0),
    failures: failures.count,
    latency: latencies.summary(),
    firstErrors: failures.first,
    chains,
  };
}

async function logins(job: LoginJob): Promise<LoginResult> {
  const client = new Client(job.url, { sockets: job.concurrency });
  const latencies = new Latencies();
  const failures = new Failures();
  let next = 0;
  const started = performance.now();
  const end = started + job.maxSeconds * 1000;
  await Promise.all(
    Array.from({ length: job.concurrency }, async () => {
      while (next < job.attempts.length && performance.now() < end) {
        const attempt = job.attempts[next++];
        const answer = await client
          .send({
            method: 'POST',
            path: attempt.path,
            headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: attempt.cookie },
            body: new URLSearchParams(attempt.form).toString(),
          })
          .catch((error: Error) => error);
        // 303: the password was right and the provider resumes the Authorize.
        if (answer instanceof Error || answer.status !== 303) {
          failures.add(answer);
          continue;
        }
        latencies.add(answer.ms);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  client.close();
  return {
    logins: latencies.count,
    perSecond: round(latencies.count / seconds, 1),
    failures: failures.count,
    seconds: round(seconds, 1),
    latency: latencies.summary(),
    firstErrors: failures.first,
  };
}

async function run(job: Job): Promise<unknown> {
  switch (job.kind) {
    case 'cannon':
      return cannon(job);
    case 'mix':
      return mix(job);
    case 'paced':
      return paced(job);
    case 'sequence':
      return sequence(job);
    case 'refresh':
      return refresh(job);
    case 'logins':
      return logins(job);
  }
}

process.once('message', (job: Job) => {
  run(job).then(
    (result) => process.send?.({ result }, () => process.exit(0)),
    (error: Error) => process.send?.({ error: error.stack ?? error.message }, () => process.exit(1)),
  );
});

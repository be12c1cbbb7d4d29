import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openStore, type Store } from '../server/store/index.ts';
import { seedTenant } from '../test/support/authorize.ts';
import { type Deployment, type DeploymentName, embedded, scaleOut } from './deployments.ts';
import { createGroupBody, createUserBody } from './entra.ts';
import { authorizeAll, registerTenants } from './fleet.ts';
import { runLoad } from './loader.ts';
import { type LoopDelay, loopDelay, scrape } from './metrics.ts';
import { type Options, readOptions, type Sizes, sizesFor, USAGE, UsageError } from './options.ts';
import { ROOT, startBaseline, startServer, stopAll } from './processes.ts';
import { formatSummary, monotonicUs, type ProfileSummary, readProfile, summariseProfile, type Window } from './profile.ts';
import { type Row, table, writeResults } from './report.ts';
import { type DeploymentRun, type GroupTenant, type Need, type PopulatedTenant, scenarios, scimHeaders } from './scenarios/index.ts';
import { memoryPoint } from './scenarios/memory.ts';
import { checkFidelity, seedGroup, seedUsers } from './seed.ts';

/*
 * npm run bench: for each deployment, a fresh directory, seeded; the server
 * as its own process; a node:http hello-world measured the same way as the
 * baseline; then each scenario, load coming from processes of its own. Prints
 * a table per deployment and writes every figure as JSON.
 */

const RESULTS_DIR = path.join(ROOT, 'bench/results');

/** The deployment being measured, so an interrupted run still drops its database and folders. */
let current: Deployment | undefined;

function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

function elapsed(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

function machine() {
  const cpus = os.cpus();
  return {
    cores: os.availableParallelism(),
    cpu: cpus[0]?.model ?? 'unknown',
    memoryGiB: Math.round((os.totalmem() / 1024 ** 3) * 10) / 10,
    node: process.version,
    platform: `${os.type()} ${os.release()} ${os.arch()}`,
    loadAverage: os.loadavg().map((l) => Math.round(l * 100) / 100),
  };
}

interface DeploymentResult {
  deployment: DeploymentName;
  describe?: string;
  seeding?: Record<string, number>;
  baseline?: DeploymentRun['baseline'];
  rows: Row[];
  details?: Record<string, unknown>;
  profile?: ProfileSummary;
  /** The same profile, scenario by scenario (and phase by phase where a scenario marks them). */
  scenarioProfiles?: ProfileSummary[];
  serverErrorsLogged?: number;
  /** Why the deployment could not be set up here (no PostgreSQL, no redis-server): reported, not a failure. */
  skipped?: string;
  failed?: string;
  seconds: number;
}

async function populate(store: Store, needs: Set<Need>, sizes: Sizes, seeding: Record<string, number>) {
  const reads: Omit<PopulatedTenant, 'tokens'>[] = [];
  let groups: Omit<GroupTenant, 'tokens'> | undefined;
  if (needs.has('reads')) {
    for (const users of sizes.readTenants) {
      const label = `r${users}`;
      const seeded = await seedTenant(store, { domain: `reads-${users}.bench.example`, name: `Bench reads ${users}` });
      let last = 0;
      const result = await seedUsers(store, {
        tenantId: seeded.tenantId,
        label,
        count: users,
        progress: (done) => {
          if (done - last >= 200_000) {
            last = done;
            say(`  … ${done.toLocaleString('en-US')} users`);
          }
        },
      });
      seeding[`users (${users.toLocaleString('en-US')}-user tenant)`] = Math.round(result.ms);
      say(
        `  seeded ${users.toLocaleString('en-US')} users in ${elapsed(result.ms)} (${Math.round(users / (result.ms / 1000)).toLocaleString('en-US')} rows/s)`,
      );
      reads.push({ seeded, label, users, seedMs: result.ms });
    }
  }
  if (needs.has('groups')) {
    const label = 'g';
    const seeded = await seedTenant(store, { domain: 'groups.bench.example', name: 'Bench groups' });
    const users = sizes.largeGroup + 10;
    const result = await seedUsers(store, { tenantId: seeded.tenantId, label, count: users, keepIds: true });
    const small = await seedGroup(store, { tenantId: seeded.tenantId, label, index: 1, memberIds: result.ids.slice(0, sizes.smallGroup) });
    const large = await seedGroup(store, { tenantId: seeded.tenantId, label, index: 2, memberIds: result.ids.slice(0, sizes.largeGroup) });
    seeding['users (groups tenant)'] = Math.round(result.ms);
    seeding['memberships (100,000-member group)'] = Math.round(large.ms);
    say(
      `  seeded ${users.toLocaleString('en-US')} users and groups of ${sizes.smallGroup} and ${sizes.largeGroup.toLocaleString('en-US')} in ${elapsed(result.ms + small.ms + large.ms)}`,
    );
    groups = {
      seeded,
      label,
      users,
      seedMs: result.ms,
      small: { id: small.id, members: sizes.smallGroup },
      large: { id: large.id, members: sizes.largeGroup },
      outsiders: result.ids.slice(sizes.largeGroup),
    };
  }
  const fleet = needs.has('fleet') ? await registerTenants(store, 'fleet', sizes.mixTenants) : undefined;
  const logins = needs.has('logins') ? await seedTenant(store, { domain: 'logins.bench.example', name: 'Bench logins' }) : undefined;
  return { reads, groups, fleet, logins };
}

async function measureBaseline(logFile: string, sizes: Sizes): Promise<DeploymentRun['baseline']> {
  const baseline = await startBaseline(logFile);
  try {
    const cpu = baseline.cpuMs();
    const result = await runLoad({
      kind: 'cannon',
      url: baseline.url,
      paths: ['/'],
      connections: sizes.connections,
      seconds: sizes.cannonSeconds,
    });
    const cpuMs = Math.round(((baseline.cpuMs() - cpu) / result.requests) * 1000) / 1000;
    return { rps: result.rps, p50: result.p50, p99: result.p99, cpuMs };
  } finally {
    await baseline.stop();
  }
}

/** Creates a user and a group over SCIM and compares their rows with the seeder's for the same bodies. */
async function fidelity(run: DeploymentRun, tenant: PopulatedTenant): Promise<void> {
  const label = 'fidelity';
  const headers = { ...scimHeaders(tenant.tokens.access_token), 'content-type': 'application/scim+json' };
  for (const [endpoint, body] of [
    ['Users', createUserBody(label, 0)],
    ['Groups', createGroupBody(label, 0)],
  ] as const) {
    const response = await fetch(new URL(`/scim/v2/${endpoint}`, run.url), { method: 'POST', headers, body: JSON.stringify(body) });
    if (response.status !== 201) throw new Error(`fidelity check: POST /${endpoint} answered ${response.status}: ${await response.text()}`);
  }
  const differences = await checkFidelity(run.store, tenant.seeded.tenantId, label);
  if (differences.length) {
    throw new Error(`the seeder no longer writes what SCIM writes; fix bench/seed.ts:\n  ${differences.join('\n  ')}`);
  }
}

async function measure(name: DeploymentName, options: Options, runDir: string): Promise<DeploymentResult> {
  const started = performance.now();
  const sizes = sizesFor(options.full);
  const result: DeploymentResult = { deployment: name, rows: [], seconds: 0 };
  const chosen = scenarios.filter((s) => options.scenarios.includes(s.name));
  const needs = new Set(chosen.flatMap((s) => s.needs));
  // The token scenario verifies a token of the fleet's; the memory one needs nothing but a server.
  say(`\n=== ${name} ===`);
  let deployment: Deployment;
  try {
    deployment = name === 'embedded' ? await embedded() : await scaleOut(runDir);
  } catch (error) {
    result.skipped = (error as Error).message;
    say(`SKIPPED ${name}: ${result.skipped}`);
    return result;
  }
  current = deployment;
  result.describe = deployment.describe;
  say(deployment.describe);
  const logFile = path.join(runDir, `server-${name}.log`);
  const profileDir = options.profile ? path.join(runDir, `profile-${name}`) : undefined;
  let windows: Window[] = [];
  try {
    const store = await openStore(deployment.storeConfig);
    try {
      const seeding: Record<string, number> = {};
      const population = await populate(store, needs, sizes, seeding);
      result.seeding = seeding;
      const server = await startServer({ env: { ...deployment.env, ...options.serverEnv }, logFile, profileDir, root: options.serverRoot });
      try {
        const service = { url: server.url };
        const run: DeploymentRun = {
          options,
          sizes,
          deployment,
          server,
          store,
          url: server.url,
          baseline: { rps: 0, p50: 0, p99: 0, cpuMs: 0 },
          reads: [],
          memory: [],
          windows: [],
          details: { loopDelay: {} },
        };
        await new Promise((resolve) => setTimeout(resolve, 1_000));
        await memoryPoint(run, 'RSS idle, just started', true);
        const setUp = performance.now();
        const reads = await authorizeAll(
          service,
          population.reads.map((r) => r.seeded),
        );
        run.reads = population.reads.map((r, i) => ({ ...r, tokens: reads[i].tokens }));
        const groups = population.groups ? (await authorizeAll(service, [population.groups.seeded]))[0] : undefined;
        if (population.groups && groups) run.groups = { ...population.groups, tokens: groups.tokens };
        run.fleet = population.fleet ? await authorizeAll(service, population.fleet) : undefined;
        run.logins = population.logins ? (await authorizeAll(service, [population.logins]))[0] : undefined;
        const flows = reads.length + (groups ? 1 : 0) + (run.fleet?.length ?? 0) + (run.logins ? 1 : 0);
        say(`  ${flows} Authorize flows (Go to domain, login, consent, code exchange) in ${elapsed(performance.now() - setUp)}`);
        if (flows > 0) {
          await new Promise((resolve) => setTimeout(resolve, 1_000));
          await memoryPoint(run, `RSS idle, after ${flows} Authorize flows`, true);
        }
        const populated = run.reads[0] ?? run.groups;
        if (populated) await fidelity(run, populated);

        run.baseline = await measureBaseline(path.join(runDir, 'baseline.log'), sizes);
        result.baseline = run.baseline;
        say(
          `  baseline node:http hello-world: ${run.baseline.rps.toLocaleString('en-US')} req/s (p50 ${run.baseline.p50} ms, p99 ${run.baseline.p99} ms)`,
        );
        result.rows.push({
          scenario: 'baseline',
          measure: `node:http hello-world, ${sizes.connections} connections`,
          rate: run.baseline.rps,
          unit: 'req/s',
          ratio: 1,
          cpuMs: run.baseline.cpuMs,
          p50: run.baseline.p50,
          p99: run.baseline.p99,
        });
        for (const scenario of chosen) {
          const t = performance.now();
          say(`  ${scenario.name} …`);
          const window = { label: scenario.name, fromUs: monotonicUs(), toUs: 0 };
          try {
            await scrape(run.url);
            const rows = await scenario.run(run);
            const delay = loopDelay(await scrape(run.url));
            result.rows.push(...rows);
            if (!scenario.ownLoopDelay) {
              (run.details.loopDelay as Record<string, LoopDelay>)[scenario.name] = delay;
              say(`  event loop delay over ${scenario.name}: p50 ${delay.p50} ms, p99 ${delay.p99} ms, max ${delay.max} ms`);
            }
          } catch (error) {
            result.rows.push({ scenario: scenario.name, measure: 'failed', note: (error as Error).message.split('\n')[0] });
            say(`  ${scenario.name} failed: ${(error as Error).stack}`);
          }
          window.toUs = monotonicUs();
          run.windows.push(window);
          say(`  ${scenario.name} done in ${elapsed(performance.now() - t)}`);
        }
        result.details = run.details;
        windows = run.windows;
      } finally {
        await server.stop();
      }
      result.serverErrorsLogged = countErrors(logFile);
    } finally {
      await store.close();
    }
    if (profileDir) {
      const file = fs.readdirSync(profileDir).find((f) => f.endsWith('.cpuprofile'));
      if (file) {
        const full = path.join(profileDir, file);
        const loaded = readProfile(full);
        result.profile = summariseProfile(full, 25, undefined, loaded);
        say(`\n${formatSummary(result.profile)}`);
        result.scenarioProfiles = [...windows].sort((a, b) => a.fromUs - b.fromUs).map((w) => summariseProfile(full, 15, w, loaded));
        for (const summary of result.scenarioProfiles) say(`\n${formatSummary(summary, 8)}`);
      }
    }
  } catch (error) {
    result.failed = (error as Error).stack ?? String(error);
    say(`${name} failed: ${result.failed}`);
  } finally {
    await deployment.teardown();
    current = undefined;
  }
  result.seconds = Math.round((performance.now() - started) / 1000);
  say(`\n${name}: ${result.describe ?? ''}\n`);
  say(table(result.rows));
  if (result.serverErrorsLogged) say(`\nthe server logged ${result.serverErrorsLogged} error lines: see ${logFile}`);
  return result;
}

function countErrors(logFile: string): number {
  try {
    return fs
      .readFileSync(logFile, 'utf8')
      .split('\n')
      .filter((line) => /"level":"(error|fatal)"/.test(line)).length;
  } catch {
    return 0;
  }
}

function targetsSummary(results: DeploymentResult[]): string {
  const lines = ['targets:'];
  for (const r of results) {
    if (r.skipped) lines.push(`  ${r.deployment.padEnd(9)}  not measured: ${r.skipped}`);
    for (const row of r.rows.filter((x) => x.target)) {
      lines.push(
        `  ${r.deployment.padEnd(9)}  ${row.target!.met ? 'met    ' : 'NOT MET'}  ${row.scenario}: ${row.measure} (${row.target!.text})`,
      );
    }
  }
  return lines.join('\n');
}

function gitCommit(): string | undefined {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
  } catch {
    return undefined;
  }
}

async function main(): Promise<number> {
  let options: Options;
  try {
    const parsed = readOptions(process.argv.slice(2));
    if (parsed === 'help') {
      say(USAGE);
      return 0;
    }
    options = parsed;
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`bench: ${error.message}\n\n${USAGE}`);
      return 2;
    }
    throw error;
  }
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const runDir = path.join(RESULTS_DIR, stamp);
  fs.mkdirSync(runDir, { recursive: true });
  const host = machine();
  say(
    `SecureLogin Connect bench (${options.full ? 'full' : 'quick'}), ${host.cores} cores (${host.cpu}), ${host.memoryGiB} GiB, Node ${host.node}`,
  );
  say(`load average at start: ${host.loadAverage.join(' ')}; logs in ${path.relative(ROOT, runDir)}`);
  const started = performance.now();
  const results: DeploymentResult[] = [];
  for (const name of options.deployments) results.push(await measure(name, options, runDir));
  say(`\n${targetsSummary(results)}`);
  const file = writeResults(RESULTS_DIR, stamp, {
    stamp,
    commit: gitCommit(),
    mode: options.full ? 'full' : 'quick',
    options,
    sizes: sizesFor(options.full),
    machine: { ...host, loadAverageAtEnd: os.loadavg().map((l) => Math.round(l * 100) / 100) },
    seconds: Math.round((performance.now() - started) / 1000),
    deployments: results,
  });
  say(`\nfigures written to ${path.relative(ROOT, file)} and bench/results/latest.json (${elapsed(performance.now() - started)} in all)`);
  return results.some((r) => r.failed) ? 1 : 0;
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    say(`\n${signal}: stopping the processes the bench started`);
    stopAll()
      .then(() => current?.teardown())
      .finally(() => process.exit(130));
  });
}

main().then(
  async (code) => {
    await stopAll();
    process.exit(code);
  },
  async (error) => {
    process.stderr.write(`bench: ${(error as Error).stack}\n`);
    await stopAll();
    process.exit(1);
  },
);

import type { DeploymentName } from './deployments.ts';

export const SCENARIOS = ['scim-reads', 'sorted-pages', 'tokens', 'large-groups', 'entra-mix', 'logins', 'memory'] as const;
export type ScenarioName = (typeof SCENARIOS)[number];

export interface Options {
  full: boolean;
  deployments: DeploymentName[];
  /** Scenarios to run; the baseline always runs. */
  scenarios: ScenarioName[];
  /** Run the server under --cpu-prof and summarise where its time went. */
  profile: boolean;
  /** Extra environment for the server process (experiments: UV_THREADPOOL_SIZE, MALLOC_ARENA_MAX, NODE_OPTIONS…). */
  serverEnv: Record<string, string>;
  /** Run server/main.ts from this checkout instead (a git worktree of another commit): before/after a change. */
  serverRoot: string | undefined;
}

/** How big and how long: quick by default (a few minutes for both deployments), --full for the large data sets. */
export interface Sizes {
  /** Users of the tenants SCIM reads are measured in. */
  readTenants: number[];
  /** Members of the large group (the tenant has ten more users, who are never members). */
  largeGroup: number;
  smallGroup: number;
  /** Tenants the Entra mix is spread over; their grants are also the refresh chains. */
  mixTenants: number;
  /** Offered requests per second of the Entra mix. */
  mixRate: number;
  mixSeconds: number;
  /** Duration of each closed-loop throughput measurement. */
  cannonSeconds: number;
  /** Connections of each closed-loop throughput measurement (the baseline's too). */
  connections: number;
  refreshSeconds: number;
  /** Add/remove pairs per group in the large-groups scenario. */
  memberEdits: number;
  /** Login forms prepared; the run posts as many as it can within loginSeconds. */
  loginAttempts: number;
  loginSeconds: number;
  loginConcurrency: number;
  /** SCIM GETs per second sent on other connections while logins run. */
  scimDuringLogins: number;
  /** Seconds the server is left without requests before its idle memory is read. */
  idleSeconds: number;
}

export function sizesFor(full: boolean): Sizes {
  return {
    readTenants: full ? [10_000, 1_000_000] : [10_000],
    largeGroup: 100_000,
    smallGroup: 10,
    mixTenants: 100,
    mixRate: 2_500,
    mixSeconds: full ? 30 : 15,
    cannonSeconds: full ? 10 : 6,
    connections: 32,
    refreshSeconds: full ? 10 : 6,
    memberEdits: full ? 500 : 200,
    loginAttempts: full ? 600 : 400,
    loginSeconds: 10,
    loginConcurrency: 8,
    scimDuringLogins: 100,
    idleSeconds: Number(process.env.BENCH_IDLE_SECONDS) || 10,
  };
}

export const USAGE = `npm run bench [-- options]

  --full                       the large data sets (a 1,000,000-user tenant) and longer runs
  --deployment embedded|scale-out|both
                               which deployments to measure (default both); scale-out needs
                               PostgreSQL (BENCH_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/test)
                               and redis-server on PATH (or BENCH_REDIS_URL)
  --only <scenario>[,<scenario>]
                               ${SCENARIOS.join(', ')} (the baseline always runs)
  --profile                    run the server under --cpu-prof; print its top self-time functions
  --server-env NAME=VALUE      extra environment for the server process (repeatable), for experiments
  --server-root DIR            run server/main.ts from another checkout (git archive <commit> server views
                               public package.json | tar -x -C DIR, plus a node_modules symlink),
                               to measure before and after a change on the same machine
  --help
`;

export class UsageError extends Error {}

export function readOptions(args: string[]): Options | 'help' {
  const options: Options = {
    full: false,
    deployments: ['embedded', 'scale-out'],
    scenarios: [...SCENARIOS],
    profile: false,
    serverEnv: {},
    serverRoot: undefined,
  };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    const value = () => {
      const next = args[++i];
      if (next === undefined || next.startsWith('--')) throw new UsageError(`${arg} needs a value`);
      return next;
    };
    if (arg === '--help' || arg === '-h') return 'help';
    else if (arg === '--full') options.full = true;
    else if (arg === '--profile') options.profile = true;
    else if (arg === '--server-root') options.serverRoot = value();
    else if (arg === '--server-env') {
      const pair = value();
      const eq = pair.indexOf('=');
      if (eq <= 0) throw new UsageError(`--server-env takes NAME=VALUE, not "${pair}"`);
      options.serverEnv[pair.slice(0, eq)] = pair.slice(eq + 1);
    } else if (arg === '--deployment') {
      const chosen = value();
      if (chosen === 'both') options.deployments = ['embedded', 'scale-out'];
      else if (chosen === 'embedded' || chosen === 'scale-out') options.deployments = [chosen];
      else throw new UsageError(`--deployment must be embedded, scale-out or both, not "${chosen}"`);
    } else if (arg === '--only') {
      const names = value().split(',');
      const unknown = names.filter((n) => !(SCENARIOS as readonly string[]).includes(n));
      if (unknown.length) throw new UsageError(`unknown scenario ${unknown.join(', ')}; the scenarios are ${SCENARIOS.join(', ')}`);
      options.scenarios = names as ScenarioName[];
    } else throw new UsageError(`unknown option ${arg}`);
  }
  return options;
}

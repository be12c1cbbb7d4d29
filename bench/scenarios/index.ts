import type { Store } from '../../server/store/index.ts';
import { type CpuSnapshot, type CpuSpent, cpuMsOf, cpuSpent } from '../cpu.ts';
import type { Deployment } from '../deployments.ts';
import type { AuthorizedTenant } from '../fleet.ts';
import type { MemoryParts } from '../metrics.ts';
import type { Options, ScenarioName, Sizes } from '../options.ts';
import type { Child } from '../processes.ts';
import { monotonicUs, type Window } from '../profile.ts';
import type { Row } from '../report.ts';
import { entraMix } from './entra-mix.ts';
import { largeGroups } from './large-groups.ts';
import { logins } from './logins.ts';
import { memory } from './memory.ts';
import { scimReads } from './scim-reads.ts';
import { sortedPages } from './sorted-pages.ts';
import { tokens } from './tokens.ts';

/** A tenant with a seeded population of users, authorized once. */
export interface PopulatedTenant extends AuthorizedTenant {
  label: string;
  users: number;
  seedMs: number;
}

export interface GroupTenant extends PopulatedTenant {
  small: { id: string; members: number };
  large: { id: string; members: number };
  /** Users of the tenant in neither group: the members added and removed again. */
  outsiders: string[];
}

/** Everything a scenario may use while one deployment is under test. */
export interface DeploymentRun {
  options: Options;
  sizes: Sizes;
  deployment: Deployment;
  server: Child;
  /** The bench's own handle on the server's directory store (seeding, checks). */
  store: Store;
  url: string;
  baseline: { rps: number; p50: number; p99: number; cpuMs: number };
  reads: PopulatedTenant[];
  groups?: GroupTenant;
  /** Many tenants, each with its own grant: the Entra mix and the refresh chains. */
  fleet?: AuthorizedTenant[];
  logins?: AuthorizedTenant;
  /** The server's memory at points of the run; the memory scenario reports them. */
  memory: MemoryPoint[];
  /** Stretches of the run (scenarios, and phases within them) a --profile run summarises one by one. */
  windows: Window[];
  /** Per-scenario figures beyond the table rows, for the JSON. */
  details: Record<string, unknown>;
}

export interface MemoryPoint {
  label: string;
  /** Whether the server had no requests at that point (the idle target applies). */
  idle: boolean;
  rss: number;
  parts: MemoryParts | undefined;
}

export type Need = 'reads' | 'groups' | 'fleet' | 'logins';

export interface Scenario {
  name: ScenarioName;
  needs: Need[];
  /** The scenario reads the event-loop delay itself, for a phase of its own. */
  ownLoopDelay?: boolean;
  run(run: DeploymentRun): Promise<Row[]>;
}

/** In the order they run: reads first, on a directory no write has touched yet; memory last. */
export const scenarios: Scenario[] = [
  { name: 'scim-reads', needs: ['reads'], run: scimReads, ownLoopDelay: true },
  { name: 'sorted-pages', needs: ['reads'], run: sortedPages },
  { name: 'tokens', needs: ['fleet'], run: tokens },
  { name: 'large-groups', needs: ['groups'], run: largeGroups },
  { name: 'entra-mix', needs: ['fleet'], run: entraMix },
  { name: 'logins', needs: ['logins'], run: logins, ownLoopDelay: true },
  { name: 'memory', needs: [], run: memory, ownLoopDelay: true },
];

/** CPU time of the server and its stores now. */
export async function cpuNow(run: DeploymentRun): Promise<CpuSnapshot> {
  const pids = await run.deployment.storePids().catch(() => []);
  return { server: run.server.cpuMs(), stores: new Map(pids.map((pid) => [pid, cpuMsOf(pid)])) };
}

/**
 * Runs `work` and says how much CPU the server and its stores spent
 * meanwhile; the stretch is marked `label` for a --profile run's summaries.
 */
export async function withCpu<T>(run: DeploymentRun, label: string, work: () => Promise<T>): Promise<{ result: T; cpu: CpuSpent }> {
  const before = await cpuNow(run);
  const window = { label, fromUs: monotonicUs(), toUs: 0 };
  const result = await work();
  window.toUs = monotonicUs();
  run.windows.push(window);
  return { result, cpu: cpuSpent(before, await cpuNow(run)) };
}

/** CPU ms per operation, or undefined when nothing was done. */
export function perOperation(cpu: CpuSpent, operations: number): Pick<Row, 'cpuMs' | 'storeCpuMs'> {
  if (operations <= 0) return {};
  const round = (ms: number) => Math.round((ms / operations) * 1000) / 1000;
  return { cpuMs: round(cpu.server), storeCpuMs: cpu.stores > 0 ? round(cpu.stores) : undefined };
}

export function scimHeaders(token: string): Record<string, string> {
  return { authorization: `Bearer ${token}`, accept: 'application/scim+json' };
}

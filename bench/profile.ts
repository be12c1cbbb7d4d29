import fs from 'node:fs';
import path from 'node:path';

/*
 * Reads a V8 CPU profile (node --cpu-prof) and says where the time went:
 * the functions with the most self time, and the same time grouped by where
 * the code lives (our server/, each package in node_modules, Node's own
 * internals, the garbage collector, idle).
 *
 *   node bench/profile.ts <file.cpuprofile> [top]
 */

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  children?: number[];
}

export interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface HotFunction {
  name: string;
  where: string;
  selfMs: number;
  /** Share of the profile's busy time (idle excluded). */
  share: number;
}

export interface ProfileSummary {
  file: string;
  totalMs: number;
  busyMs: number;
  top: HotFunction[];
  byArea: { area: string; selfMs: number; share: number }[];
}

function areaOf(url: string, name: string): string {
  if (name === '(idle)') return '(idle)';
  if (name === '(garbage collector)') return '(garbage collector)';
  if (name === '(program)' || name === '(root)') return '(program: native, not attributed)';
  if (url === '') return '(native or builtin)';
  if (url.startsWith('node:')) return 'node internals';
  const modules = url.lastIndexOf('/node_modules/');
  if (modules >= 0) {
    const rest = url.slice(modules + '/node_modules/'.length).split('/');
    return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
  }
  const server = url.indexOf('/server/');
  if (server >= 0) return `server/${url.slice(server + '/server/'.length).split('/')[0]}`;
  return url.replace(/^file:\/\//, '');
}

/** A stretch of the profile, in µs of the system's monotonic clock (process.hrtime, V8's TimeTicks). */
export interface Window {
  label: string;
  fromUs: number;
  toUs: number;
}

/** The monotonic clock V8 stamps profiles with, in µs: mark a scenario's start and end with it. */
export function monotonicUs(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

export function readProfile(file: string): CpuProfile {
  return JSON.parse(fs.readFileSync(file, 'utf8')) as CpuProfile;
}

export function summariseProfile(file: string, top = 25, window?: Window, loaded?: CpuProfile): ProfileSummary {
  const profile = loaded ?? readProfile(file);
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  // timeDeltas[i] is the time before sample i; attribute it to that sample's node.
  let at = profile.startTime;
  profile.samples.forEach((id, i) => {
    const delta = profile.timeDeltas[i] ?? 0;
    at += delta;
    if (window && (at < window.fromUs || at > window.toUs)) return;
    selfUs.set(id, (selfUs.get(id) ?? 0) + delta);
  });

  const functions = new Map<string, { name: string; where: string; us: number }>();
  const areas = new Map<string, number>();
  let totalUs = 0;
  let idleUs = 0;
  for (const [id, us] of selfUs) {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    const name = functionName || '(anonymous)';
    const where = url
      ? `${url.replace(/^file:\/\//, '').replace(`${path.resolve(import.meta.dirname, '..')}/`, '')}:${lineNumber + 1}`
      : '';
    const key = `${name}@${where}`;
    const entry = functions.get(key) ?? { name, where, us: 0 };
    entry.us += us;
    functions.set(key, entry);
    const area = areaOf(url, name);
    areas.set(area, (areas.get(area) ?? 0) + us);
    totalUs += us;
    if (name === '(idle)') idleUs += us;
  }
  const busyUs = Math.max(1, totalUs - idleUs);
  const ms = (us: number) => Math.round(us / 100) / 10;
  const share = (us: number) => Math.round((us / busyUs) * 1000) / 1000;
  return {
    file: window ? window.label : file,
    totalMs: ms(totalUs),
    busyMs: ms(busyUs),
    top: [...functions.values()]
      .filter((f) => f.name !== '(idle)')
      .sort((a, b) => b.us - a.us)
      .slice(0, top)
      .map((f) => ({ name: f.name, where: f.where, selfMs: ms(f.us), share: share(f.us) })),
    byArea: [...areas]
      .filter(([area]) => area !== '(idle)')
      .sort((a, b) => b[1] - a[1])
      .map(([area, us]) => ({ area, selfMs: ms(us), share: share(us) })),
  };
}

export function formatSummary(summary: ProfileSummary, areas = 12): string {
  const pct = (s: number) => `${(s * 100).toFixed(1).padStart(5)}%`;
  return [
    `profile ${summary.file}: ${summary.busyMs.toLocaleString('en-US')} ms busy of ${summary.totalMs.toLocaleString('en-US')} ms`,
    'self time by area:',
    ...summary.byArea.slice(0, areas).map((a) => `  ${pct(a.share)}  ${a.selfMs.toFixed(0).padStart(8)} ms  ${a.area}`),
    'top functions by self time:',
    ...summary.top.map((f) => `  ${pct(f.share)}  ${f.selfMs.toFixed(0).padStart(8)} ms  ${f.name}  ${f.where}`),
  ].join('\n');
}

if (import.meta.filename === path.resolve(process.argv[1] ?? '')) {
  const [file, top] = process.argv.slice(2);
  if (!file) {
    process.stderr.write('usage: node bench/profile.ts <file.cpuprofile> [top]\n');
    process.exit(2);
  }
  console.log(formatSummary(summariseProfile(file, top ? Number(top) : 25)));
}

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';

/*
 * CPU time the processes under test spend, read from /proc: per request it
 * does not depend on how busy the rest of the machine is, where requests
 * per second do. On a shared two-core box it is the steadier of the two
 * figures for comparing one change with another.
 */

let ticksPerSecond: number | undefined;

function ticks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/** User plus system CPU time of a process (all its threads), in ms; NaN when it is gone. */
export function cpuMsOf(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may hold spaces; the fields after its closing parenthesis do not.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    return ((utime + stime) * 1000) / ticks();
  } catch {
    return Number.NaN;
  }
}

/** CPU ms by process: the server itself, and the store processes serving it (PostgreSQL backends, Redis). */
export interface CpuSnapshot {
  server: number;
  stores: Map<number, number>;
}

export interface CpuSpent {
  server: number;
  stores: number;
}

export function cpuSpent(before: CpuSnapshot, after: CpuSnapshot): CpuSpent {
  let stores = 0;
  for (const [pid, ms] of after.stores) {
    if (Number.isNaN(ms)) continue;
    // A backend that appeared during the run spent all its time on it.
    stores += ms - (before.stores.get(pid) ?? 0);
  }
  return { server: after.server - before.server, stores };
}

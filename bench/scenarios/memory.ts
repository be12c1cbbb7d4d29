import { memoryParts, scrape } from '../metrics.ts';
import type { Row } from '../report.ts';
import type { DeploymentRun, MemoryPoint } from './index.ts';

const IDLE_TARGET_MIB = 200;

/** The server's resident set now (from /proc), with the V8 heap and external memory it reports on /metrics. */
export async function memoryPoint(run: DeploymentRun, label: string, idle: boolean): Promise<MemoryPoint> {
  const rss = run.server.rssMiB();
  const parts = await scrape(run.url)
    .then(memoryParts)
    .catch(() => undefined);
  const point = { label, idle, rss, parts };
  run.memory.push(point);
  return point;
}

/** RSS idle after start-up, after the set-up, after all the load, and (--full) after the 1,000,000-user reads. */
export async function memory(run: DeploymentRun): Promise<Row[]> {
  // Seconds without requests: sockets close, timers fire, V8's memory reducer shrinks the heap.
  const series: number[] = [];
  for (let second = 0; second < run.sizes.idleSeconds; second++) {
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    series.push(run.server.rssMiB());
  }
  run.details.idleRssMiB = series;
  await memoryPoint(run, `RSS idle, ${run.sizes.idleSeconds} s after the load`, true);
  return run.memory.map((point) => ({
    scenario: 'memory',
    measure: point.label,
    value: point.rss,
    unit: 'MiB',
    target: point.idle ? { text: `< ${IDLE_TARGET_MIB} MiB`, met: point.rss < IDLE_TARGET_MIB } : undefined,
    note: point.parts
      ? `V8 heap ${point.parts.heapTotal} MiB (${point.parts.heapUsed} used; ${Object.entries(point.parts.spaces)
          .map(([space, mib]) => `${space} ${mib}`)
          .join(', ')}), external ${point.parts.external} MiB, the rest native (code, SQLite, malloc arenas)`
      : undefined,
  }));
}

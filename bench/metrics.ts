/*
 * The server's own /metrics (Prometheus text), read by the bench for what
 * only the process knows: event-loop delay over a scenario (prom-client
 * resets its delay histogram at every scrape, so a scrape before and one
 * after bracket the scenario) and where its memory is (V8 heap, external).
 */

export type Samples = Map<string, number>;

export async function scrape(base: string): Promise<Samples> {
  const response = await fetch(new URL('/metrics', base), { signal: AbortSignal.timeout(5_000) });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`/metrics answered ${response.status}`);
  const samples: Samples = new Map();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    samples.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return samples;
}

export interface LoopDelay {
  p50: number;
  p99: number;
  max: number;
}

/** prom-client samples the event loop with a 10 ms timer: a delay of 10 ms means no delay at all. */
const MONITOR_TICK_MS = 10;

/** Event-loop delay since the previous scrape, in ms beyond the monitor's own tick. */
export function loopDelay(samples: Samples): LoopDelay {
  const ms = (name: string) => Math.max(0, Math.round(((samples.get(name) ?? Number.NaN) * 1e3 - MONITOR_TICK_MS) * 10) / 10);
  return {
    p50: ms('nodejs_eventloop_lag_p50_seconds'),
    p99: ms('nodejs_eventloop_lag_p99_seconds'),
    max: ms('nodejs_eventloop_lag_max_seconds'),
  };
}

export interface MemoryParts {
  rss: number;
  heapTotal: number;
  heapUsed: number;
  external: number;
  /** V8 heap spaces (new, old, code, large_object, …): size, in MiB. */
  spaces: Record<string, number>;
}

/** The process's memory as it reports it, in MiB. */
export function memoryParts(samples: Samples): MemoryParts {
  const mib = (name: string) => Math.round(((samples.get(name) ?? Number.NaN) / 1024 ** 2) * 10) / 10;
  return {
    rss: mib('process_resident_memory_bytes'),
    heapTotal: mib('nodejs_heap_size_total_bytes'),
    heapUsed: mib('nodejs_heap_size_used_bytes'),
    external: mib('nodejs_external_memory_bytes'),
    spaces: Object.fromEntries(
      [...samples]
        .filter(([name, bytes]) => name.startsWith('nodejs_heap_space_size_total_bytes{') && bytes > 0)
        .map(([name, bytes]) => [/space="([^"]+)"/.exec(name)?.[1] ?? name, Math.round((bytes / 1024 ** 2) * 10) / 10]),
    ),
  };
}

import http from 'node:http';

/*
 * The load processes' own HTTP client, for the paced and sequential runs
 * where autocannon's model does not fit (a fixed offered rate spread evenly,
 * requests that depend on the previous answer). Keep-alive sockets to
 * 127.0.0.1 only; every request has a deadline.
 */

export interface Answer {
  status: number;
  body: string;
  headers: http.IncomingHttpHeaders;
  /** Milliseconds from the call to the last byte of the response. */
  ms: number;
}

export interface Request {
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: string;
}

export class Client {
  readonly base: URL;
  readonly agent: http.Agent;
  readonly timeoutMs: number;

  constructor(base: string, options: { sockets?: number; timeoutMs?: number } = {}) {
    this.base = new URL(base);
    if (this.base.hostname !== '127.0.0.1') throw new Error(`the bench sends traffic to 127.0.0.1 only, not ${this.base.hostname}`);
    this.agent = new http.Agent({ keepAlive: true, maxSockets: options.sockets ?? 64, scheduling: 'fifo' });
    this.timeoutMs = options.timeoutMs ?? 10_000;
  }

  send(request: Request): Promise<Answer> {
    const started = performance.now();
    return new Promise((resolve, reject) => {
      const headers: Record<string, string | number> = { ...request.headers };
      if (request.body !== undefined) headers['content-length'] = Buffer.byteLength(request.body);
      const outgoing = http.request(
        {
          host: this.base.hostname,
          port: this.base.port,
          method: request.method,
          path: request.path,
          headers,
          agent: this.agent,
          timeout: this.timeoutMs,
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('error', reject);
          response.on('end', () =>
            resolve({
              status: response.statusCode ?? 0,
              body: Buffer.concat(chunks).toString('utf8'),
              headers: response.headers,
              ms: performance.now() - started,
            }),
          );
        },
      );
      outgoing.on('timeout', () => outgoing.destroy(new Error(`no answer within ${this.timeoutMs} ms`)));
      outgoing.on('error', reject);
      outgoing.end(request.body);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

/** Latencies in milliseconds, kept whole (a quick run records well under a million). */
export class Latencies {
  private values: number[] = [];

  add(ms: number): void {
    this.values.push(ms);
  }

  get count(): number {
    return this.values.length;
  }

  summary(): LatencySummary {
    const sorted = Float64Array.from(this.values).sort();
    const at = (p: number) => (sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]);
    const mean = sorted.length === 0 ? 0 : sorted.reduce((a, b) => a + b, 0) / sorted.length;
    return { count: sorted.length, p50: round(at(50)), p90: round(at(90)), p99: round(at(99)), max: round(at(100)), mean: round(mean) };
  }
}

export interface LatencySummary {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

export function round(value: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

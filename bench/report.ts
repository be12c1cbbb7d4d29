import fs from 'node:fs';
import path from 'node:path';

/*
 * What a run reports: rows a person reads in the terminal, and the same
 * figures as JSON (bench/results/<timestamp>.json and latest.json).
 */

export interface Target {
  /** The target as the issue states it, e.g. "≥ 25% of baseline". */
  text: string;
  met: boolean;
}

export interface Row {
  scenario: string;
  measure: string;
  /** Throughput: requests, grants or logins per second. */
  rate?: number;
  unit?: string;
  /** `rate` as a share of the baseline's req/s in the same run. */
  ratio?: number;
  p50?: number;
  p99?: number;
  errors?: number;
  /** Server CPU time per operation (ms, all its threads), whatever the rest of the machine did. */
  cpuMs?: number;
  /** CPU time of the store processes (PostgreSQL backends, Redis) per operation, in ms. */
  storeCpuMs?: number;
  /** A figure that is not a rate (MiB, ms, a count). */
  value?: number;
  target?: Target;
  note?: string;
}

export function ratio(rate: number, baseline: number): number {
  return baseline > 0 ? Math.round((rate / baseline) * 1000) / 1000 : 0;
}

function cell(value: number | undefined, digits = 1): string {
  if (value === undefined || Number.isNaN(value)) return '';
  return Number.isInteger(value) ? value.toLocaleString('en-US') : value.toFixed(digits);
}

function percent(value: number | undefined): string {
  return value === undefined ? '' : `${(value * 100).toFixed(1)}%`;
}

/** The rows as a fixed-width table. */
export function table(rows: Row[]): string {
  const header = ['scenario', 'measure', 'rate', 'ratio', 'cpu ms/op', 'p50 ms', 'p99 ms', 'errors', 'value', 'target', 'met'];
  const body = rows.map((r) => [
    r.scenario,
    r.measure,
    r.rate === undefined ? '' : `${cell(r.rate, 0)} ${r.unit ?? ''}`.trim(),
    percent(r.ratio),
    r.cpuMs === undefined ? '' : `${r.cpuMs.toFixed(3)}${r.storeCpuMs === undefined ? '' : `+${r.storeCpuMs.toFixed(3)}`}`,
    cell(r.p50, 2),
    cell(r.p99, 2),
    r.errors === undefined ? '' : String(r.errors),
    r.value === undefined ? '' : `${cell(r.value)} ${r.unit && r.rate === undefined ? r.unit : ''}`.trim(),
    r.target?.text ?? '',
    r.target ? (r.target.met ? 'met' : 'NOT MET') : '',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((line) => line[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i >= 2 && i <= 8 ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ');
  const notes = rows.filter((r) => r.note).map((r) => `  - ${r.scenario} / ${r.measure}: ${r.note}`);
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...body.map(line), ...(notes.length ? ['', 'notes:', ...notes] : [])].join(
    '\n',
  );
}

/** Writes the run's figures to `<dir>/<stamp>.json` and `<dir>/latest.json`; returns the first path. */
export function writeResults(dir: string, stamp: string, results: unknown): string {
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${stamp}.json`);
  const text = `${JSON.stringify(results, null, 2)}\n`;
  fs.writeFileSync(file, text);
  fs.writeFileSync(path.join(dir, 'latest.json'), text);
  return file;
}

import fs from 'node:fs';
import path from 'node:path';
import type { Row } from './report.ts';

/*
 * A run's figures as the Markdown tables BENCHMARKS.md shows: every measure
 * with both deployments side by side.
 *
 *   node bench/markdown.ts [bench/results/<stamp>.json]   (default: latest.json)
 */

interface Results {
  stamp: string;
  mode: string;
  commit?: string;
  machine: { cores: number; cpu: string; memoryGiB: number; node: string; platform: string; loadAverage: number[] };
  deployments: { deployment: string; rows: Row[]; seeding?: Record<string, number> }[];
}

function figure(row: Row | undefined): string {
  if (!row) return '';
  const parts: string[] = [];
  const n = (v: number, digits = 0) => v.toLocaleString('en-US', { maximumFractionDigits: digits });
  if (row.rate !== undefined) parts.push(`**${n(row.rate)}** ${row.unit ?? ''}`.trim());
  if (row.ratio !== undefined && row.scenario !== 'baseline') parts.push(`${(row.ratio * 100).toFixed(1)}%`);
  if (row.value !== undefined) parts.push(`**${n(row.value, 1)}** ${row.unit ?? ''}`.trim());
  if (row.p50 !== undefined) parts.push(`p50 ${n(row.p50, 1)} / p99 ${n(row.p99 ?? Number.NaN, 1)} ms`);
  if (row.cpuMs !== undefined)
    parts.push(`cpu ${row.cpuMs.toFixed(2)}${row.storeCpuMs !== undefined ? `+${row.storeCpuMs.toFixed(2)}` : ''} ms`);
  if (row.errors) parts.push(`${n(row.errors)} errors`);
  if (row.target) parts.push(row.target.met ? '✅ met' : '❌ not met');
  return parts.join(', ');
}

export function markdown(results: Results): string {
  const names = results.deployments.map((d) => d.deployment);
  const measures: { scenario: string; measure: string; target?: string }[] = [];
  for (const deployment of results.deployments) {
    for (const row of deployment.rows) {
      const known = measures.find((m) => m.scenario === row.scenario && m.measure === row.measure);
      if (!known) measures.push({ scenario: row.scenario, measure: row.measure, target: row.target?.text });
      else known.target ??= row.target?.text;
    }
  }
  const lines = [`| scenario | measure | target | ${names.join(' | ')} |`, `| --- | --- | --- | ${names.map(() => '---').join(' | ')} |`];
  for (const m of measures) {
    const cells = results.deployments.map((d) => figure(d.rows.find((r) => r.scenario === m.scenario && r.measure === m.measure)));
    lines.push(`| ${m.scenario} | ${m.measure.trim()} | ${m.target ?? ''} | ${cells.join(' | ')} |`);
  }
  return lines.join('\n');
}

if (import.meta.filename === path.resolve(process.argv[1] ?? '')) {
  const file = process.argv[2] ?? path.join(import.meta.dirname, 'results/latest.json');
  const results = JSON.parse(fs.readFileSync(file, 'utf8')) as Results;
  const m = results.machine;
  console.log(
    `Run ${results.stamp} (${results.mode}, commit ${results.commit ?? '?'}): ${m.cores} cores ${m.cpu}, ${m.memoryGiB} GiB, Node ${m.node}, ${m.platform}; load average at start ${m.loadAverage.join(' ')}\n`,
  );
  console.log(markdown(results));
}

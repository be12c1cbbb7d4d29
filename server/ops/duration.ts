import { UsageError } from './command.ts';

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400, w: 7 * 86_400, y: 365 * 86_400 };

/**
 * A duration as an operator types it: `30m`, `12h`, `7d`, `1y` (also `s`
 * and `w`; a year is 365 days), or `0`. Answers seconds; anything else is a
 * usage error naming the option.
 */
export function parseDuration(option: string, value: string): number {
  const match = /^(\d{1,6})([smhdwy]?)$/.exec(value.trim());
  if (!match || (match[2] === '' && Number(match[1]) !== 0)) {
    throw new UsageError(`--${option} takes a duration such as 30m, 12h, 7d or 1y, not "${value}"`);
  }
  const seconds = Number(match[1]) * (UNITS[match[2]] ?? 0);
  if (seconds > MAX_SECONDS) throw new UsageError(`--${option} is at most 100y, not "${value}"`);
  return seconds;
}

// Far enough for any secret; beyond it a date would no longer be one a store keeps.
const MAX_SECONDS = 100 * UNITS.y;

/** Seconds as the shortest exact duration: 3600 → 1h, 604800 → 7d. */
export function formatDuration(seconds: number): string {
  if (seconds === 0) return '0';
  for (const unit of ['y', 'd', 'h', 'm'] as const) {
    if (seconds % UNITS[unit] === 0) return `${seconds / UNITS[unit]}${unit}`;
  }
  return `${seconds}s`;
}

/** How long ago or ahead a moment is, roughly, as a table shows it: "3d", "5h", "12m". */
export function roughSpan(fromIso: string, toIso: string): string {
  const seconds = Math.max(0, Math.round((Date.parse(toIso) - Date.parse(fromIso)) / 1000));
  if (seconds >= 2 * 365 * 86_400) return `${Math.floor(seconds / (365 * 86_400))}y`;
  if (seconds >= 2 * 86_400) return `${Math.floor(seconds / 86_400)}d`;
  if (seconds >= 2 * 3600) return `${Math.floor(seconds / 3600)}h`;
  if (seconds >= 60) return `${Math.floor(seconds / 60)}m`;
  return `${seconds}s`;
}

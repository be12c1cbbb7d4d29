/**
 * xsd:dateTime values (RFC 7643 §2.3.5) as filters compare them. Stored
 * timestamps are toISOString() text, to the millisecond; a client may send
 * more digits (.8617979) and any offset (-07:00), so a value is brought to
 * the stored form, with a note when it lies between two milliseconds.
 */

/** The lexical form, also what a filter may carry unquoted (`meta.created gt 2015-10-10T14:38:21.8617979-07:00`). */
export const DATE_TIME = /^(-?\d{4,})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})?/i;

const LAST = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

export interface Instant {
  /** The millisecond the value falls in, as toISOString() writes it. */
  iso: string;
  /** Whether the value is later than `iso` by a fraction of a millisecond. */
  between: boolean;
}

/** The instant `text` names, or undefined when it is no date and time. Without an offset, UTC. */
export function readDateTime(text: string): Instant | undefined {
  const trimmed = text.trim();
  const match = DATE_TIME.exec(trimmed);
  if (match && match[0].length === trimmed.length) {
    const [, year, month, day, hour, minute, second, fraction = '', zone = 'Z'] = match;
    const [m, d, h, min, s] = [month, day, hour, minute, second].map(Number);
    if (m < 1 || m > 12 || d < 1 || h > 23 || min > 59 || s > 59) return undefined;
    const utc = new Date(0);
    utc.setUTCFullYear(Number(year), m - 1, d);
    utc.setUTCHours(h, min, s, Number(fraction.padEnd(3, '0').slice(0, 3)));
    // 31 February rolls over into March: not a date.
    if (utc.getUTCDate() !== d) return undefined;
    const sign = zone[0] === '-' ? -1 : 1;
    const offsetMinutes = zone.toUpperCase() === 'Z' ? 0 : sign * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4, 6)));
    const instant = new Date(utc.getTime() - offsetMinutes * 60_000);
    if (Number.isNaN(instant.getTime())) return undefined;
    // Past year 9999 toISOString() writes "+010000-…", which sorts before every stored "2…" text.
    if (instant.getTime() > LAST) return { iso: new Date(LAST).toISOString(), between: true };
    return { iso: instant.toISOString(), between: /[1-9]/.test(fraction.slice(3)) };
  }
  // Other forms Date.parse reads ("2025-01-31") keep working as they did.
  const parsed = Date.parse(trimmed);
  return Number.isNaN(parsed) ? undefined : { iso: new Date(parsed).toISOString(), between: false };
}

import type { Readable, Writable } from 'node:stream';
import type { Config } from '../config.ts';
import type { Store } from '../store/index.ts';

/** The process's streams, passed in so the CLI never reaches for globals it does not need. */
export interface Terminal {
  stdin: Readable & { isTTY?: boolean; setRawMode?(mode: boolean): unknown };
  stdout: Writable;
  stderr: Writable;
}

export interface Option {
  type: 'string' | 'boolean';
  multiple?: boolean;
  /** What the value is, as --help shows it: `--name <display name>`. */
  value?: string;
  /** Leaving it out is wrong usage: exit 2 with "missing --<name>". */
  required?: boolean;
  description: string;
}

export type OptionValues = Record<string, string | boolean | string[] | undefined>;

export interface Invocation {
  /** Positional arguments by the names the command declares. */
  args: Record<string, string | undefined>;
  options: OptionValues;
  config: Config;
  store: Store;
  terminal: Terminal;
}

/** What a command did, in both forms; the CLI prints the one asked for. */
export interface Result {
  text: string;
  json: unknown;
}

export interface Command {
  name: string;
  summary: string;
  /** Positional arguments in order; a trailing `?` marks an optional one. */
  args: string[];
  options?: Record<string, Option>;
  /** More help under the usage line. */
  details?: string;
  /**
   * Extra arguments are not echoed back in the error: the command deals with
   * passwords, and a password typed as an argument must not reach the screen again.
   */
  secretive?: boolean;
  /** `false` opens the store without applying migrations (the migrate command does it itself). */
  migrate?: boolean;
  run(invocation: Invocation): Promise<Result>;
}

export interface Group {
  name: string;
  summary: string;
  commands: Command[];
}

/** The command line is wrong: exit 2 with this one line. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** The command cannot do this here: exit 1 with this one line. */
export class Refused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'Refused';
  }
}

/** The operator stopped a prompt (Ctrl-C, Ctrl-D). */
export class Cancelled extends Error {
  constructor() {
    super('cancelled');
    this.name = 'Cancelled';
  }
}

/** Aligns rows under a header, two spaces between columns. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

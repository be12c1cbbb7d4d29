import fs from 'node:fs';
import { type ParseArgsOptionsConfig, parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../config.ts';
import { DirectoryError } from '../directory/index.ts';
import { isStorableText, openStore, type Store, UNSTORABLE } from '../store/index.ts';
import { activityCommand } from './activity.ts';
import { clientCommands } from './client.ts';
import { Cancelled, type Command, type Group, type Option, Refused, type Terminal, UsageError } from './command.ts';
import { connectionCommands } from './connection.ts';
import { domainCommands } from './domain.ts';
import { keyCommands } from './keys.ts';
import { managerCommands } from './manager.ts';
import { migrateCommand } from './migrate.ts';
import { ssoCommands } from './sso.ts';
import { tenantCommands } from './tenant.ts';
import { tokenCommands } from './token.ts';
import { unblockCommand } from './unblock.ts';

const GROUPS: Group[] = [
  tenantCommands,
  domainCommands,
  managerCommands,
  clientCommands,
  connectionCommands,
  ssoCommands,
  keyCommands,
  tokenCommands,
];
const STANDALONE: Command[] = [activityCommand, unblockCommand, migrateCommand];

const EXIT_OK = 0;
const EXIT_REFUSED = 1;
const EXIT_USAGE = 2;
const EXIT_CANCELLED = 130;

const COMMON_OPTIONS: Record<string, Option & { short?: string }> = {
  json: { type: 'boolean', description: 'Print the result as JSON on stdout' },
  help: { type: 'boolean', short: 'h', description: 'Show this help' },
};

/**
 * Runs one `securelogin` command line and returns the exit status: 0 done,
 * 1 refused (one line on stderr says why), 2 wrong usage or configuration,
 * 130 cancelled at a prompt. Output goes to `terminal.stdout`, as text or as
 * JSON with --json.
 */
export async function main(argv: string[], terminal: Terminal = processTerminal(), env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const fail = (message: string, status: number) => {
    terminal.stderr.write(`securelogin: ${message}\n`);
    return status;
  };
  let store: Store | undefined;
  try {
    const found = findCommand(argv, terminal);
    if (typeof found === 'number') return found;
    const { path, command, rest } = found;
    const { args, options } = parseCommandLine(path, command, rest);
    if (options.help) {
      terminal.stdout.write(`${commandHelp(path, command)}\n`);
      return EXIT_OK;
    }

    const config = loadConfig(env);
    try {
      store = await openStore(config, { migrate: command.migrate !== false });
    } catch (error) {
      const where = config.databaseUrl ? redact(config.databaseUrl) : config.dataDir;
      return fail(`could not open the directory store at ${where}: ${describe(error)}`, EXIT_REFUSED);
    }
    const result = await command.run({ args, options, config, store, terminal });
    terminal.stdout.write(options.json ? `${JSON.stringify(result.json, null, 2)}\n` : `${result.text}\n`);
    return EXIT_OK;
  } catch (error) {
    if (error instanceof UsageError) return fail(error.message, EXIT_USAGE);
    if (error instanceof ConfigError) return fail(`configuration error: ${error.message}`, EXIT_USAGE);
    if (error instanceof DirectoryError || error instanceof Refused) return fail(error.message, EXIT_REFUSED);
    if (error instanceof Cancelled) return fail('cancelled', EXIT_CANCELLED);
    if (env.LOG_LEVEL === 'debug' || env.LOG_LEVEL === 'trace') terminal.stderr.write(`${(error as Error)?.stack}\n`);
    return fail(`unexpected error: ${describe(error)} (set LOG_LEVEL=debug for details)`, EXIT_REFUSED);
  } finally {
    await store?.close();
  }
}

function processTerminal(): Terminal {
  return { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr };
}

/** The command a command line names, or the exit status once help has been printed. */
function findCommand(argv: string[], terminal: Terminal): { path: string; command: Command; rest: string[] } | number {
  const [first, second, ...others] = argv;
  if (first === undefined) {
    throw new UsageError(
      `missing command: securelogin <${[...GROUPS.map((g) => g.name), ...STANDALONE.map((c) => c.name)].join('|')}> ...; see --help`,
    );
  }
  if (first === '--help' || first === '-h' || first === 'help') {
    const group = GROUPS.find((g) => g.name === second);
    terminal.stdout.write(`${group ? groupHelp(group) : topHelp()}\n`);
    return EXIT_OK;
  }
  if (first === '--version' || first === '-v') {
    terminal.stdout.write(`${version()}\n`);
    return EXIT_OK;
  }
  const standalone = STANDALONE.find((c) => c.name === first);
  if (standalone) return { path: standalone.name, command: standalone, rest: argv.slice(1) };
  const group = GROUPS.find((g) => g.name === first);
  if (!group) {
    const typed = second === undefined || second.startsWith('-') ? first : `${first} ${second}`;
    throw new UsageError(`unknown command "${first}"${didYouMean(typed, '(see securelogin --help)')}`);
  }
  const names = group.commands.map((c) => c.name).join('|');
  if (second === '--help' || second === '-h') {
    terminal.stdout.write(`${groupHelp(group)}\n`);
    return EXIT_OK;
  }
  if (second === undefined || second.startsWith('-'))
    throw new UsageError(`missing command: securelogin ${group.name} <${names}>; see --help`);
  const command = group.commands.find((c) => c.name === second);
  if (!command)
    throw new UsageError(`unknown command "${group.name} ${second}"${didYouMean(`${group.name} ${second}`, `(choose one of ${names})`)}`);
  return { path: `${group.name} ${command.name}`, command, rest: others };
}

/**
 * `; did you mean \`tenant list\`? (…)` for the command closest to what was
 * typed (`tenant lst`, `tenants list`, `mangaer`), or only `; <otherwise>`
 * when none is close: a wild guess helps less than the list of commands.
 */
function didYouMean(typed: string, otherwise: string): string {
  const paths = [
    ...GROUPS.flatMap((g) => g.commands.map((c) => `${g.name} ${c.name}`)),
    ...GROUPS.map((g) => g.name),
    ...STANDALONE.map((c) => c.name),
  ];
  const words = typed.split(' ').length;
  const scored = paths
    // A group typed alone is compared with groups; a group and a command with whole command lines.
    .filter((candidate) => words === 1 || candidate.includes(' '))
    // `client rotate` is short for `client rotate-secret`, however far apart they are letter by letter.
    .map((candidate) => ({
      candidate,
      distance: typed.length >= 3 && candidate.startsWith(typed.toLowerCase()) ? 1 : editDistance(typed.toLowerCase(), candidate),
    }))
    .sort((a, b) => a.distance - b.distance);
  const best = scored[0];
  if (!best || best.distance > Math.max(2, Math.floor(typed.length / 4))) return `; ${otherwise.slice(1, -1)}`;
  return `; did you mean \`${best.candidate}\`? ${otherwise}`;
}

/** Optimal string alignment distance: insertions, deletions, substitutions and swaps of neighbours each cost 1. */
function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

function parseCommandLine(path: string, command: Command, rest: string[]) {
  // Caught before parsing so the answer explains why rather than "unknown option".
  if (rest.some((token) => /^(--password|--pass|--pw|-p)(=|$)/.test(token))) {
    throw new UsageError(
      'a password is never taken from the command line (shell history and process lists keep it); use --password-stdin or the prompt',
    );
  }
  const declared = { ...command.options, ...COMMON_OPTIONS };
  const options: ParseArgsOptionsConfig = Object.fromEntries(
    Object.entries(declared).map(([name, { type, multiple, short }]: [string, Option & { short?: string }]) => [
      name,
      { type, ...(multiple ? { multiple } : {}), ...(short ? { short } : {}) },
    ]),
  );
  let parsed: { values: Record<string, string | boolean | (string | boolean)[] | undefined>; positionals: string[] };
  try {
    parsed = parseArgs({ args: rest, options, allowPositionals: true, strict: true });
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (!code?.startsWith('ERR_PARSE_ARGS_')) throw error;
    throw new UsageError(`${explainParseError(error as Error & { code?: string })} (see securelogin ${path} --help)`);
  }
  const { values, positionals } = parsed;
  checkText(command, positionals, values);
  if (values.help) return { args: {}, options: values as Record<string, string | boolean | string[] | undefined> };

  const required = command.args.filter((a) => !a.endsWith('?'));
  if (positionals.length < required.length) {
    throw new UsageError(`missing <${required[positionals.length]}>: usage: ${usage(path, command)}`);
  }
  if (positionals.length > command.args.length) {
    throw new UsageError(
      command.secretive
        ? `too many arguments: usage: ${usage(path, command)} (a password is never taken as an argument)`
        : `unexpected argument "${positionals[command.args.length]}": usage: ${usage(path, command)}`,
    );
  }
  for (const [name, option] of Object.entries(command.options ?? {})) {
    if (option.required && values[name] === undefined) throw new UsageError(`missing --${name}: usage: ${usage(path, command)}`);
  }
  const args = Object.fromEntries(command.args.map((name, i) => [name.replace(/\?$/, ''), positionals[i]]));
  return { args, options: values as Record<string, string | boolean | string[] | undefined> };
}

/**
 * Every argument and option value ends up in the store, or is compared with
 * what is there: text no store can keep (store/text.ts) is wrong usage,
 * named, before anything is opened.
 */
function checkText(command: Command, positionals: string[], values: Record<string, unknown>): void {
  positionals.forEach((value, i) => {
    const name = command.args[i]?.replace(/\?$/, '');
    if (!isStorableText(value)) throw new UsageError(`${name ? `<${name}>` : `argument ${i + 1}`} ${UNSTORABLE}`);
  });
  for (const [name, value] of Object.entries(values)) {
    const texts = Array.isArray(value) ? value : [value];
    if (texts.some((text) => typeof text === 'string' && !isStorableText(text))) throw new UsageError(`--${name} ${UNSTORABLE}`);
  }
}

function explainParseError(error: Error & { code?: string }): string {
  const option = /'(-[^' ]+)/.exec(error.message)?.[1] ?? 'option';
  // A grant id is random base64url and may begin with "-": it must follow "--" to be read as an argument.
  if (error.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    return option.startsWith('--')
      ? `unknown option ${option}`
      : `unknown option ${option}; an argument that begins with "-" goes after --`;
  }
  if (error.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    return /does not take an argument/.test(error.message) ? `option ${option} takes no value` : `option ${option} needs a value`;
  }
  return error.message.split('. ')[0];
}

function usage(path: string, command: Command): string {
  const args = command.args.map((a) => (a.endsWith('?') ? `[<${a.slice(0, -1)}>]` : `<${a}>`));
  const required = Object.entries(command.options ?? {})
    .filter(([, o]) => o.required)
    .map(([name, o]) => `--${name}${o.type === 'string' ? ` <${o.value ?? 'value'}>` : ''}`);
  return ['securelogin', path, ...args, ...required, '[options]'].join(' ');
}

function optionLines(options: Record<string, Option & { short?: string }>): string[] {
  const entries = Object.entries(options).map(([name, o]) => {
    const flag = `${o.short ? `-${o.short}, ` : ''}--${name}${o.type === 'string' ? ` <${o.value ?? 'value'}>` : ''}`;
    return [flag, o.description + (o.multiple ? ' (repeatable)' : '')] as const;
  });
  const width = Math.max(...entries.map(([flag]) => flag.length));
  return entries.map(([flag, description]) => `  ${flag.padEnd(width)}  ${description}`);
}

function commandHelp(path: string, command: Command): string {
  return [
    `Usage: ${usage(path, command)}`,
    '',
    `${command.summary}.`,
    ...(command.details ? ['', command.details] : []),
    '',
    'Options:',
    ...optionLines({ ...command.options, ...COMMON_OPTIONS }),
  ].join('\n');
}

function commandRows(prefix: string, commands: Command[]): [string, string][] {
  return commands.map((c) => [
    [prefix, c.name, ...c.args.map((a) => (a.endsWith('?') ? `[<${a.slice(0, -1)}>]` : `<${a}>`))].filter(Boolean).join(' '),
    c.summary,
  ]);
}

function columns(rows: [string, string][]): string[] {
  const width = Math.max(...rows.map(([left]) => left.length));
  return rows.map(([left, right]) => `  ${left.padEnd(width)}  ${right}`);
}

function groupHelp(group: Group): string {
  return [
    `Usage: securelogin ${group.name} <command> [arguments] [options]`,
    '',
    `${group.summary}.`,
    '',
    'Commands:',
    ...columns(commandRows('', group.commands)),
    '',
    `Run securelogin ${group.name} <command> --help for its options.`,
  ].join('\n');
}

function topHelp(): string {
  const rows = [...GROUPS.flatMap((g) => commandRows(g.name, g.commands)), ...commandRows('', STANDALONE)];
  return [
    'securelogin: operate SecureLogin Connect (tenants, their domains and managers, Entra clients, SCIM tokens, keys).',
    '',
    'Usage: npx securelogin <command> [arguments] [options]',
    '',
    'Commands:',
    ...columns(rows),
    '',
    'Every command takes --help, and --json for machine-readable output on stdout.',
    'It reads the same environment as the server (DATA_DIR, DATABASE_URL, REDIS_URL, PUBLIC_URL, ...): run it where the server runs.',
    'Exit status: 0 done; 1 refused, with the reason as one line on stderr; 2 wrong usage or configuration.',
  ].join('\n');
}

function version(): string {
  const pkg = JSON.parse(fs.readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return `securelogin ${pkg.version}`;
}

function redact(databaseUrl: string): string {
  const url = new URL(databaseUrl);
  url.password = '';
  return url.toString();
}

/** One line, whatever was thrown (pg's connection errors can have an empty message). */
function describe(error: unknown): string {
  const e = error as { message?: string; code?: string; errors?: { message?: string }[] };
  const message = e?.message || e?.errors?.[0]?.message || e?.code || String(error);
  return message.split('\n')[0];
}

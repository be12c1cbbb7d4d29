import net from 'node:net';
import type { Config } from '../config.ts';
import { createLogger } from '../log.ts';
import type { Cleared, Sessions, ThrottleState } from '../sessions/index.ts';
import type { Store } from '../store/index.ts';
import { type Command, type Terminal, UsageError } from './command.ts';

/**
 * The session store holding the sign-in counters, for a command's run.
 * Loaded on use, not at the top: only these commands need it (and Redis, when configured).
 */
export async function withSessions<T>(
  invocation: { config: Config; store: Store; terminal: Terminal },
  use: (sessions: Sessions) => Promise<T>,
): Promise<T> {
  const { config, store, terminal } = invocation;
  const { openSessions } = await import('../sessions/index.ts');
  // Store diagnostics go to stderr and only when asked for, so stdout stays the command's answer.
  const verbose = config.logLevel === 'debug' || config.logLevel === 'trace';
  const log = createLogger(verbose ? config.logLevel : 'silent', terminal.stderr);
  const sessions = await openSessions({ config, store, log });
  try {
    return await use(sessions);
  } finally {
    await sessions.close();
  }
}

/** An address as typed, checked: the counters are kept per IPv4 address and per IPv6 /64. */
export function clientAddress(typed: string): string {
  const address = typed.trim().replace(/^\[(.*)\]$/, '$1');
  if (net.isIP(address) === 0) throw new UsageError(`"${typed}" is not an IP address (IPv4 such as 203.0.113.7, or IPv6)`);
  return address;
}

/** The address's group key without its prefix: what the block covers (an IPv6 address counts with its /64). */
export function addressLabel(group: string): string {
  return group.replace(/^address:/, '');
}

function clock(ms: number): string {
  return new Date(ms).toLocaleTimeString('en-GB', { hour12: false });
}

function failures(n: number): string {
  return `${n} failure${n === 1 ? '' : 's'}`;
}

/** "7 failures on the account, a pause until 21:40:12". */
export function describeState(state: ThrottleState, where: string, pause: 'pause' | 'block'): string {
  return `${failures(state.failures)} ${where}${state.paused ? `, a ${pause} until ${clock(state.pausedUntil!)}` : ''}`;
}

export function stateJson(state: ThrottleState) {
  return { failures: state.failures, paused_until: state.paused ? new Date(state.pausedUntil!).toISOString() : null };
}

/** The address block, cleared: its line and its JSON, or undefined when the address had nothing counted. */
export function addressCleared(group: string, cleared: Cleared[]) {
  const entry = cleared[0];
  if (!entry) return undefined;
  return {
    text: describeState(entry.state, `from ${addressLabel(group)}`, 'block'),
    json: { address: addressLabel(group), ...stateJson(entry.state) },
  };
}

export const unblockCommand: Command = {
  name: 'unblock',
  summary: "Clear a client address's sign-in block after too many failed attempts from it",
  args: ['address'],
  details:
    'Clears the failed-attempt counter of one client address (IPv4, or the /64 of an IPv6 address) and its block,\n' +
    'if any. Accounts paused by the same attempts stay paused: use securelogin manager unlock for those.',
  async run(invocation) {
    const address = clientAddress(invocation.args.address!);
    const { addressThrottleKey } = await import('../sessions/index.ts');
    const group = addressThrottleKey(address);
    const cleared = await withSessions(invocation, (sessions) => sessions.throttle.clear(group));
    const found = addressCleared(group, cleared);
    return {
      json: found?.json ?? { address: addressLabel(group), failures: 0, paused_until: null },
      text: found
        ? `Unblocked ${addressLabel(group)}: cleared ${found.text}.`
        : `${addressLabel(group)} was not blocked: no failed sign-in attempts counted from it.`,
    };
  },
};

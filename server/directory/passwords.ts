import fs from 'node:fs';
import os from 'node:os';
import argon2 from 'argon2';
import { WeakPassword } from './errors.ts';

/** OWASP's Argon2id minimum: 19 MiB, 2 passes, 1 lane. */
export const ARGON2_OPTIONS = { type: argon2.argon2id, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

export const MIN_PASSWORD_LENGTH = 12;
const MAX_PASSWORD_LENGTH = 1024;

// A few of the most common passwords that pass the length rule; a breach list
// would be better and is left for when the product can ship one.
const COMMON = new Set(['password1234', 'qwertyuiop123', '123456789012', 'passwordpassword', 'iloveyou1234', 'administrator']);

export function checkPasswordStrength(password: string, username?: string): void {
  if (password.length === 0) throw new WeakPassword('it is empty');
  if (password.length < MIN_PASSWORD_LENGTH) throw new WeakPassword(`it must be at least ${MIN_PASSWORD_LENGTH} characters`);
  if (password.length > MAX_PASSWORD_LENGTH) throw new WeakPassword(`it must be at most ${MAX_PASSWORD_LENGTH} characters`);
  if (new Set(password).size < 5) throw new WeakPassword('it repeats too few different characters');
  if (COMMON.has(password.toLowerCase())) throw new WeakPassword('it is a commonly used password');
  if (username && password.toLowerCase().includes(username.toLowerCase())) throw new WeakPassword('it contains the username');
}

/*
 * Argon2id keeps a core busy for tens of milliseconds per password, on
 * libuv's thread pool (four threads). On a small machine four of them at once
 * starved the event loop: with two cores, SCIM's p99 went from a few to
 * hundreds of milliseconds while managers signed in (npm run bench, see
 * BENCHMARKS.md). So at most one hash per core runs at a time (more would not
 * finish sooner, and each holds 19 MiB); that alone brought the p99 back under
 * 25 ms. And the pool's threads run slightly below the event loop's priority
 * (nice 5: a quarter of its share when both want a core), so the requests
 * already in hand go first, without starving the hashing when other processes
 * compete for the machine (nice 10 did, and fewer sign-ins got through).
 */
const HASHING_SLOTS = Math.max(1, os.availableParallelism());
const POOL_NICENESS = 5;
let hashing = 0;
const waiting: (() => void)[] = [];
let poolLowered = false;

async function inSlot<T>(work: () => Promise<T>): Promise<T> {
  if (hashing >= HASHING_SLOTS) await new Promise<void>((resolve) => waiting.push(resolve));
  else hashing++;
  try {
    const running = work();
    // The pool's threads exist once its first task is queued, which work() has just done.
    if (!poolLowered) lowerPoolPriority();
    return await running;
  } finally {
    const next = waiting.shift();
    if (next) next();
    else hashing--;
  }
}

/** Linux names libuv's pool threads "libuv-worker"; a thread's niceness is its own. Elsewhere this does nothing. */
function lowerPoolPriority(): void {
  poolLowered = true;
  try {
    for (const thread of fs.readdirSync('/proc/self/task')) {
      if (fs.readFileSync(`/proc/self/task/${thread}/comm`, 'utf8').trim() === 'libuv-worker') {
        os.setPriority(Number(thread), POOL_NICENESS);
      }
    }
  } catch {
    // No /proc, or not allowed: hashing simply competes with the event loop as before.
  }
}

export function hashPassword(password: string): Promise<string> {
  return inSlot(() => argon2.hash(password, ARGON2_OPTIONS));
}

// Verified against when a username is unknown or has no password, so that a
// miss costs as much time as a hit and does not reveal which usernames exist.
let decoy: Promise<string> | undefined;

export async function verifyPassword(hash: string | null | undefined, password: string): Promise<boolean> {
  if (!hash) {
    decoy ??= hashPassword('decoy password that matches nothing');
    const decoyHash = await decoy;
    await inSlot(() => argon2.verify(decoyHash, password)).catch(() => false);
    return false;
  }
  try {
    return await inSlot(() => argon2.verify(hash, password));
  } catch {
    return false;
  }
}

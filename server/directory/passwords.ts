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

export function hashPassword(password: string): Promise<string> {
  return argon2.hash(password, ARGON2_OPTIONS);
}

// Verified against when a username is unknown or has no password, so that a
// miss costs as much time as a hit and does not reveal which usernames exist.
let decoy: Promise<string> | undefined;

export async function verifyPassword(hash: string | null | undefined, password: string): Promise<boolean> {
  if (!hash) {
    decoy ??= hashPassword('decoy password that matches nothing');
    await argon2.verify(await decoy, password).catch(() => false);
    return false;
  }
  try {
    return await argon2.verify(hash, password);
  } catch {
    return false;
  }
}

import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import type { Config } from '../config.ts';
import type { Store } from '../store/index.ts';

/** What every instance must share: the signing keys and the cookie keys. */
export interface KeyMaterial {
  jwks: { keys: Record<string, unknown>[] };
  cookieKeys: string[];
}

const JWKS_SETTING = 'oauth.jwks';
const COOKIE_KEYS_SETTING = 'oauth.cookie_keys';

/**
 * The operator's keys when configured, otherwise the ones kept in the store,
 * generated on the very first start. Two instances starting together on an
 * empty store both generate, only the first insert wins, and both read back
 * the winner, so they agree.
 */
export async function loadKeyMaterial(store: Store, config: Pick<Config, 'jwks' | 'cookieKeys'>): Promise<KeyMaterial> {
  const jwks = config.jwks ?? JSON.parse(await keptSetting(store, JWKS_SETTING, () => JSON.stringify({ keys: [newSigningKey()] })));
  const cookieKeys = config.cookieKeys ?? JSON.parse(await keptSetting(store, COOKIE_KEYS_SETTING, () => JSON.stringify([newCookieKey()])));
  return { jwks, cookieKeys };
}

async function keptSetting(store: Store, key: string, generate: () => string): Promise<string> {
  const existing = await readSetting(store, key);
  if (existing !== undefined) return existing;
  await store.db
    .insertInto('settings')
    .values({ key, value: generate() })
    .onConflict((oc) => oc.column('key').doNothing())
    .execute();
  const kept = await readSetting(store, key);
  if (kept === undefined) throw new Error(`the setting ${key} could not be stored`);
  return kept;
}

async function readSetting(store: Store, key: string): Promise<string | undefined> {
  const row = await store.db.selectFrom('settings').select('value').where('key', '=', key).executeTakeFirst();
  return row?.value;
}

/** RSA, because RS256 is the default ID token algorithm and what every client can verify. */
function newSigningKey(): Record<string, unknown> {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = privateKey.export({ format: 'jwk' }) as Record<string, string>;
  const kid = createHash('sha256')
    .update(JSON.stringify({ e: jwk.e, kty: 'RSA', n: jwk.n }))
    .digest('base64url');
  return { ...jwk, kid, use: 'sig', alg: 'RS256' };
}

function newCookieKey(): string {
  return randomBytes(32).toString('base64url');
}

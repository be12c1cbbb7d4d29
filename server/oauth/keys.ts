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

/** How many keys of each kind a rotation keeps: the new one signs, the older ones still verify. */
const KEPT_KEYS = 3;

export interface KeySummary {
  /** Key ids of the signing keys, the one in use first. */
  signingKeys: string[];
  cookieKeys: number;
  /** Where the keys come from: the store, or configuration (JWKS / COOKIE_KEYS), which the store cannot rotate. */
  source: { jwks: 'store' | 'configuration'; cookieKeys: 'store' | 'configuration' };
}

export async function describeKeyMaterial(store: Store, config: Pick<Config, 'jwks' | 'cookieKeys'>): Promise<KeySummary> {
  const { jwks, cookieKeys } = await loadKeyMaterial(store, config);
  return {
    signingKeys: jwks.keys.map((k) => String(k.kid ?? '')),
    cookieKeys: cookieKeys.length,
    source: { jwks: config.jwks ? 'configuration' : 'store', cookieKeys: config.cookieKeys ? 'configuration' : 'store' },
  };
}

/**
 * Puts a new signing key and a new cookie key in front of the stored ones and
 * keeps the previous two of each for verification. Instances read keys at
 * start, so each one signs with the new keys once restarted. Keys given by
 * configuration are the operator's to rotate there; they are left alone.
 */
export async function rotateKeyMaterial(store: Store, config: Pick<Config, 'jwks' | 'cookieKeys'>): Promise<KeySummary> {
  await loadKeyMaterial(store, { jwks: undefined, cookieKeys: undefined });
  await store.db.transaction().execute(async (trx) => {
    const rows = await trx
      .selectFrom('settings')
      .select(['key', 'value'])
      .where('key', 'in', [JWKS_SETTING, COOKIE_KEYS_SETTING])
      .execute();
    const stored = Object.fromEntries(rows.map((r) => [r.key, r.value]));
    if (!config.jwks) {
      const jwks = JSON.parse(stored[JWKS_SETTING]) as KeyMaterial['jwks'];
      const value = JSON.stringify({ keys: [newSigningKey(), ...jwks.keys].slice(0, KEPT_KEYS) });
      await trx.updateTable('settings').set({ value }).where('key', '=', JWKS_SETTING).execute();
    }
    if (!config.cookieKeys) {
      const cookieKeys = JSON.parse(stored[COOKIE_KEYS_SETTING]) as string[];
      const value = JSON.stringify([newCookieKey(), ...cookieKeys].slice(0, KEPT_KEYS));
      await trx.updateTable('settings').set({ value }).where('key', '=', COOKIE_KEYS_SETTING).execute();
    }
  });
  return describeKeyMaterial(store, config);
}

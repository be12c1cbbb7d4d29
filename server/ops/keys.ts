import { describeKeyMaterial, type KeySummary, rotateKeyMaterial } from '../oauth/index.ts';
import { type Command, type Group, Refused } from './command.ts';

/**
 * What each signing key does, newest first. Keys from JWKS are read at start
 * like everything in the configuration: the first signs. Keys in the store
 * are read at start too, so after a rotation the newest signs only on the
 * instances started since: until every instance has restarted, it is not
 * called the signing key, and the previous one may still be signing.
 */
function signingStates(keys: KeySummary): { kid: string; state: 'signs' | 'newest' | 'previous' | 'verifies' }[] {
  const settled = keys.source.jwks === 'configuration' || keys.signingKeys.length === 1;
  return keys.signingKeys.map((kid, i) => ({
    kid,
    state: i === 0 ? (settled ? 'signs' : 'newest') : i === 1 && !settled ? 'previous' : 'verifies',
  }));
}

const STATE_TEXT = {
  signs: 'signs',
  newest: 'newest: signs on every instance started since it was added',
  previous: 'verifies; still signs on instances not restarted since the newest was added',
  verifies: 'verifies',
} as const;

function summaryJson(keys: KeySummary) {
  return {
    signing_keys: keys.signingKeys,
    signing_key_states: signingStates(keys),
    cookie_keys: keys.cookieKeys,
    source: { jwks: keys.source.jwks, cookie_keys: keys.source.cookieKeys },
  };
}

function summaryText(keys: KeySummary): string {
  return [
    `Signing keys (${keys.source.jwks}), newest first:`,
    ...signingStates(keys).map(({ kid, state }) => `  ${kid}  (${STATE_TEXT[state]})`),
    `Cookie keys (${keys.source.cookieKeys}): ${keys.cookieKeys}, ` +
      (keys.source.cookieKeys === 'configuration' || keys.cookieKeys === 1
        ? 'the first signs and all verify.'
        : 'the newest signs on instances started since it was added and all verify.'),
  ].join('\n');
}

const show: Command = {
  name: 'show',
  summary: 'Show the signing key ids and how many cookie keys there are (never the keys)',
  args: [],
  async run({ store, config }) {
    const keys = await describeKeyMaterial(store, config);
    return { json: summaryJson(keys), text: summaryText(keys) };
  },
};

const rotate: Command = {
  name: 'rotate',
  summary: 'Put a new signing key and a new cookie key in use; the previous ones keep verifying',
  args: [],
  details:
    'Applies to keys kept in the store; keys given by JWKS or COOKIE_KEYS are rotated in the configuration.\n' +
    'Every instance reads keys when it starts: restart them all, together, so that they sign with the same keys.\n' +
    'Tokens are opaque and stay valid; a sign-in in progress during the restart may have to start again.',
  async run({ store, config }) {
    if (config.jwks && config.cookieKeys) {
      throw new Refused('the keys are given by configuration (JWKS and COOKIE_KEYS): rotate them there');
    }
    const keys = await rotateKeyMaterial(store, config);
    return {
      json: { ...summaryJson(keys), restart_required: true },
      text: `${summaryText(keys)}\nRestart every instance to sign with the new keys.`,
    };
  },
};

export const keyCommands: Group = {
  name: 'keys',
  summary: 'The signing and cookie keys every instance shares',
  commands: [show, rotate],
};

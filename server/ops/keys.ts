import { describeKeyMaterial, type KeySummary, rotateKeyMaterial } from '../oauth/index.ts';
import { type Command, type Group, Refused } from './command.ts';

function summaryJson(keys: KeySummary) {
  return {
    signing_keys: keys.signingKeys,
    cookie_keys: keys.cookieKeys,
    source: { jwks: keys.source.jwks, cookie_keys: keys.source.cookieKeys },
  };
}

function summaryText(keys: KeySummary): string {
  return [
    `Signing keys (${keys.source.jwks}), the one in use first:`,
    ...keys.signingKeys.map((kid, i) => `  ${kid}${i === 0 ? '  (signs)' : '  (verifies)'}`),
    `Cookie keys (${keys.source.cookieKeys}): ${keys.cookieKeys}, the first signs and all verify.`,
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

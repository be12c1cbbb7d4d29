import { createHash } from 'node:crypto';
import type Koa from 'koa';
import { INTERACTION_PATH } from '../oauth/index.ts';
import type { Translate } from '../web/i18n.ts';
import type { Flow } from './flow.ts';
import type { MessageKey } from './locales/en.ts';

/*
 * The provider forgets an interaction once it is finished, so its pages
 * cannot tell "finished" from "expired" by themselves: the back button after
 * Allow would say "expired, authorize again" to someone who just succeeded.
 * A signed cookie in this browser keeps the last few steps it finished, each
 * as the interaction's uid, a hash of the Authorize request (the login step
 * and the consent step have different uids but the same request) and what
 * happened. It says nothing anyone else could use, and it is never trusted
 * for anything but which page to show.
 */

const COOKIE = 'slc_finished';
const KEEP = 8;
/** Longer than an interaction lives (30 minutes), so a page of a finished Authorize never reads as expired. */
const MAX_AGE_MS = 2 * 60 * 60 * 1000;

/** `app`: signed in to a first-party app, which has no consent page. */
export type Step = 'signed_in' | 'allowed' | 'denied' | 'app';
export type Outcome = Exclude<Step, 'signed_in'>;

const CODES: Record<Step, string> = { signed_in: 's', allowed: 'a', denied: 'd', app: 'p' };
const ENTRY = /^([\w-]{1,64})\.([\w-]{16})\.([sadp])$/;

interface Entry {
  uid: string;
  request: string;
  step: Step;
}

/** Notes in this browser that the flow's interaction finished this step. */
export function recordStep(ctx: Koa.Context, flow: Pick<Flow, 'uid' | 'interaction'>, step: Step): void {
  const entries = read(ctx).filter((entry) => entry.uid !== flow.uid);
  entries.push({ uid: flow.uid, request: requestKey(flow.interaction.params), step });
  const value = entries
    .slice(-KEEP)
    .map((entry) => `${entry.uid}.${entry.request}.${CODES[entry.step]}`)
    .join('~');
  ctx.cookies.set(COOKIE, value, {
    path: INTERACTION_PATH,
    httpOnly: true,
    sameSite: 'lax',
    signed: true,
    overwrite: true,
    maxAge: MAX_AGE_MS,
  });
}

/**
 * How the Authorize that this (gone) interaction belonged to ended in this
 * browser: its own consent decision, or, for its sign-in step, the decision of
 * the consent step that followed. Undefined when this browser never finished it.
 */
export function outcomeOf(ctx: Koa.Context, uid: string): Outcome | undefined {
  const entries = read(ctx);
  const own = entries.find((entry) => entry.uid === uid);
  if (!own) return undefined;
  if (own.step !== 'signed_in') return own.step;
  const next = entries.findLast((entry) => entry.request === own.request && entry.step !== 'signed_in');
  return next?.step as Outcome | undefined;
}

/** The page for a finished Authorize: nothing to do again, close the tab. */
export function showFinished(ctx: Koa.Context, outcome: Outcome): void {
  const t = ctx.state.t as Translate<MessageKey>;
  ctx.status = 200;
  ctx.render('interaction/finished.njk', {
    heading: t(`finished.${outcome}.title`),
    message: t(`finished.${outcome}.message`),
    outcome,
  });
}

function read(ctx: Koa.Context): Entry[] {
  const raw = ctx.cookies.get(COOKIE, { signed: true });
  if (!raw || raw.length > 2000) return [];
  const entries: Entry[] = [];
  for (const item of raw.split('~')) {
    const match = ENTRY.exec(item);
    if (!match) continue;
    const step = (Object.keys(CODES) as Step[]).find((name) => CODES[name] === match[3]);
    if (step) entries.push({ uid: match[1], request: match[2], step });
  }
  return entries;
}

/** The Authorize request, as the provider validated it: the same for every step of one Authorize (Entra's state is unique per Authorize). */
function requestKey(params: Record<string, unknown>): string {
  const stable = Object.keys(params)
    .sort()
    .map((name) => [name, params[name]]);
  return createHash('sha256').update(JSON.stringify(stable)).digest('base64url').slice(0, 16);
}

import type Koa from 'koa';
import type { Kysely } from 'kysely';
import type Provider from 'oidc-provider';
import type { Adapter } from 'oidc-provider';
import type { Recorder } from '../activity/index.ts';
import type { Config } from '../config.ts';
import type { Account, Tenant } from '../directory/index.ts';
import type { Logger } from '../log.ts';
import type { Database } from '../store/index.ts';
import { type Params, type Translate, translator } from '../web/i18n.ts';
import { consoleCatalogues, type MessageKey } from './locales/index.ts';
import type { ConsoleSession } from './session.ts';

/** What every console page needs, given once by app.ts. */
export interface ConsoleParts {
  config: Pick<Config, 'publicUrl'>;
  db: Kysely<Database>;
  log: Logger;
  provider: Provider;
  /** server/sessions' adapter: grants and tokens, for revoking. */
  Adapter: new (
    model: string,
  ) => Adapter;
  recorder: Recorder;
  /** Where this instance answers itself (the token endpoint for the console's own sign-in). */
  localUrl: () => string;
  /** Epoch milliseconds now: session timeouts and health; tests move one on. */
  clock: () => number;
}

/** The signed-in manager, on ctx.state for the console's pages. */
export interface ConsoleVisit {
  session: ConsoleSession;
  tenant: Tenant;
  manager: Account;
}

declare module 'koa' {
  interface DefaultState {
    console?: ConsoleVisit;
  }
}

export function text(ctx: Koa.Context): Translate<MessageKey> {
  return translator(consoleCatalogues[ctx.state.lang], consoleCatalogues.en);
}

/** A console page: the console's words, the manager and the CSRF token at hand. */
export function page(ctx: Koa.Context, template: string, model: Record<string, unknown> = {}): void {
  const visit = ctx.state.console;
  ctx.render(`console/${template}`, {
    t: text(ctx),
    signedIn: visit ? { user: visit.manager.userName, tenant: visit.tenant.name } : undefined,
    csrf: visit?.session.csrf,
    ...model,
  });
}

export type MessageKind = 'failed' | 'refused' | 'csrf' | 'unavailable' | 'not_found';

/** A page with one message: a refusal, an expired form, an outage. */
export function showMessage(ctx: Koa.Context, status: number, kind: MessageKind, options: { again?: boolean; params?: Params } = {}): void {
  const t = text(ctx);
  ctx.status = status;
  page(ctx, 'message.njk', {
    heading: t(`${kind}.title`),
    message: t(`${kind}.message`, options.params),
    again: options.again,
    reference: ctx.state.requestId,
  });
}

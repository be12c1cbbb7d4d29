import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type Koa from 'koa';
import nunjucks from 'nunjucks';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export type Render = (template: string, model?: Record<string, unknown>) => void;

declare module 'koa' {
  interface DefaultContext {
    render: Render;
  }
}

export function createViews(options: { watch?: boolean } = {}): nunjucks.Environment {
  const loader = new nunjucks.FileSystemLoader(path.join(ROOT, 'views'), { noCache: options.watch ?? false });
  return new nunjucks.Environment(loader, { autoescape: true, throwOnUndefined: false });
}

/** Adds `ctx.render(template, model)`: HTML from views/, with the request id at hand. */
export function installViews(app: Koa, env: nunjucks.Environment): void {
  app.context.render = function render(this: Koa.Context, template: string, model: Record<string, unknown> = {}) {
    this.type = 'html';
    this.set('Cache-Control', 'no-store');
    this.body = env.render(template, { requestId: this.state.requestId, lang: this.state.lang ?? 'en', t: this.state.t, ...model });
  };
}

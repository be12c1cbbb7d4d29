import type Koa from 'koa';

/** The languages the pages speak; the first is the fallback. */
export const LANGUAGES = ['en', 'nl'] as const;
export type Language = (typeof LANGUAGES)[number];

export type Params = Record<string, string | number>;
export type Translate<Key extends string = string> = (key: Key, params?: Params) => string;

/** One catalogue per language, each with exactly the keys of the first. */
export type Catalogues<Key extends string> = Record<Language, Record<Key, string>>;

declare module 'koa' {
  interface DefaultState {
    lang: Language;
    t: Translate;
  }
}

/**
 * Picks the page language from Accept-Language (q-values and regional
 * variants honoured: nl-BE is Dutch) and puts `lang` and `t(key, params)` on
 * ctx.state, where views find them. `{name}` in a message is replaced by
 * params.name; output is escaped by the views, not here.
 */
export function i18n<Key extends string>(catalogues: Catalogues<Key>): Koa.Middleware {
  return async (ctx, next) => {
    // Worked out on first use: SCIM and the token endpoint never ask, and
    // parsing Accept-Language on each of their requests showed in profiles.
    let lang: Language | undefined;
    let t: Translate | undefined;
    const choose = (chosen: Language) => {
      lang = chosen;
      t = undefined;
    };
    const language = () => {
      lang ??= (ctx.acceptsLanguages([...LANGUAGES]) || LANGUAGES[0]) as Language;
      return lang;
    };
    const translate = () => {
      t ??= translator(catalogues[language()], catalogues[LANGUAGES[0]]) as Translate;
      return t;
    };
    Object.defineProperties(ctx.state, {
      lang: { get: language, enumerable: true, configurable: true },
      t: { get: translate, enumerable: true, configurable: true },
      [CHOOSE]: { value: choose, enumerable: false, configurable: true },
    });
    await next();
  };
}

const CHOOSE = Symbol('choose the page language');

/**
 * The language a flow asked for (OpenID Connect's `ui_locales`, space
 * separated, most preferred first) wins over Accept-Language when we speak
 * one of them; otherwise nothing changes.
 */
export function preferLanguage(ctx: Koa.Context, uiLocales: unknown): void {
  if (typeof uiLocales !== 'string' || uiLocales.length > 200) return;
  const choose = (ctx.state as unknown as Record<symbol, ((lang: Language) => void) | undefined>)[CHOOSE];
  for (const tag of uiLocales.split(/\s+/)) {
    const primary = tag.toLowerCase().split('-')[0];
    const known = LANGUAGES.find((lang) => lang === primary);
    if (known) {
      choose?.(known);
      return;
    }
  }
}

export function translator<Key extends string>(messages: Record<Key, string>, fallback: Record<Key, string>): Translate<Key> {
  return (key, params) => {
    const template = messages[key] ?? fallback[key] ?? key;
    if (!params) return template;
    return template.replace(/\{(\w+)\}/g, (whole, name: string) => (name in params ? String(params[name]) : whole));
  };
}

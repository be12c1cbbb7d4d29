import Router from '@koa/router';
import { LANGUAGES, type Language, translator } from './i18n.ts';
import { pageCatalogues } from './locales.ts';

/**
 * GET /: who answers here, in the visitor's language, for a person who typed
 * the address. Nothing internal (no version, no paths, no links into the
 * API): the address is public and the page is for people, not for probes.
 */
export function homeRoutes(): Router {
  const router = new Router();
  router.get('/', (ctx) => {
    const lang: Language = LANGUAGES.includes(ctx.state.lang) ? ctx.state.lang : LANGUAGES[0];
    ctx.vary('Accept-Language');
    const t = translator(pageCatalogues[lang], pageCatalogues.en);
    ctx.render('home.njk', { heading: t('page.home.title'), message: t('page.home.message') });
  });
  return router;
}

import type { Catalogues } from './i18n.ts';

/** The words of the app-wide pages (server/web/errors.ts, home.ts), in every language the pages speak. */
const en = {
  'page.home.title': 'SecureLogin Connect',
  'page.home.message':
    'This service connects Microsoft Entra ID to SecureLogin: Entra keeps your users and groups up to date here by itself. There is nothing to do on this page.',
  'page.not_found.title': 'Page not found',
  'page.not_found.message': 'There is nothing at this address. Check the link, or start again from Microsoft Entra ID.',
  'page.unavailable.title': 'Temporarily unavailable',
  'page.unavailable.message': 'The service is temporarily unavailable. Nothing was lost: try again in a moment.',
  'page.server.title': 'Something went wrong',
  'page.server.message': 'We could not finish this request. Please try again in a moment.',
  'page.400.title': 'This request is not valid',
  'page.400.message': 'The request could not be handled. Go back and try again.',
  'page.403.title': 'Access denied',
  'page.403.message': 'You may not open this page.',
  'page.405.title': 'Method not allowed',
  'page.405.message': 'This address does not answer that kind of request.',
  'page.413.title': 'Request too large',
  'page.413.message': 'What was sent is larger than this page accepts.',
  'page.429.title': 'Too many attempts',
  'page.429.message': 'Too many requests came in a short time. Wait a minute, then try again.',
  'page.other.title': 'Request not handled',
  'page.other.message': 'The request could not be handled.',
} as const;

export type PageKey = keyof typeof en;

const nl: Record<PageKey, string> = {
  'page.home.title': 'SecureLogin Connect',
  'page.home.message':
    'Deze dienst verbindt Microsoft Entra ID met SecureLogin: Entra houdt uw gebruikers en groepen hier zelf bij. Op deze pagina hoeft u niets te doen.',
  'page.not_found.title': 'Pagina niet gevonden',
  'page.not_found.message': 'Op dit adres staat niets. Controleer de link, of begin opnieuw vanuit Microsoft Entra ID.',
  'page.unavailable.title': 'Tijdelijk niet beschikbaar',
  'page.unavailable.message': 'De dienst is tijdelijk niet beschikbaar. Er is niets verloren gegaan: probeer het zo opnieuw.',
  'page.server.title': 'Er ging iets mis',
  'page.server.message': 'We konden dit verzoek niet afronden. Probeer het zo nog eens.',
  'page.400.title': 'Dit verzoek is niet geldig',
  'page.400.message': 'Het verzoek kon niet worden verwerkt. Ga terug en probeer het opnieuw.',
  'page.403.title': 'Geen toegang',
  'page.403.message': 'U mag deze pagina niet openen.',
  'page.405.title': 'Methode niet toegestaan',
  'page.405.message': 'Dit adres beantwoordt dat soort verzoek niet.',
  'page.413.title': 'Verzoek te groot',
  'page.413.message': 'Wat is verstuurd, is groter dan deze pagina aanneemt.',
  'page.429.title': 'Te veel pogingen',
  'page.429.message': 'Er kwamen te veel verzoeken in korte tijd. Wacht een minuut en probeer het dan opnieuw.',
  'page.other.title': 'Verzoek niet verwerkt',
  'page.other.message': 'Het verzoek kon niet worden verwerkt.',
};

export const pageCatalogues: Catalogues<PageKey> = { en, nl };

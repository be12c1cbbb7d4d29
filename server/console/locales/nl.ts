import type { MessageKey } from './en.ts';

/** De woorden van de console in het Nederlands. */
export const nl: Record<MessageKey, string> = {
  'layout.reference': 'Referentie',
  'layout.console': 'Console',
  'layout.signed_in_as': 'Aangemeld als {user} · {tenant}',
  'layout.sign_out': 'Afmelden',
  'nav.connections': 'Verbindingen',

  'signin.title': 'SecureLogin-console',
  'signin.intro':
    'Beheerders van een SecureLogin-tenant zien hier hun Microsoft Entra-verbindingen: hun gezondheid, wat Entra doet, en een manier om er een te beëindigen.',
  'signin.submit': 'Aanmelden',
  'signin.expired': 'Uw consolesessie is beëindigd. Meld u opnieuw aan.',
  'signin.signed_out': 'U bent afgemeld.',

  'refused.title': 'De console is voor SecureLogin-beheerders',
  'refused.message':
    'U bent aangemeld als {user}, geen actieve beheerder van {tenant}. Vraag een SecureLogin-beheerder van uw organisatie u beheerder te maken, of meld u aan met een beheerdersaccount.',
  'refused.again': 'Aanmelden met een ander account',
  'failed.title': 'Aanmelden is niet voltooid',
  'failed.message': 'Het aanmelden is geannuleerd, verlopen of kon niet worden gecontroleerd. Begin opnieuw.',
  'csrf.title': 'Dit formulier is verlopen',
  'csrf.message': 'De pagina stond te lang open of kwam van elders. Ga terug, laad haar opnieuw en probeer het nog eens.',
  'unavailable.title': 'De console is tijdelijk niet beschikbaar',
  'unavailable.message': 'Een opslag die SecureLogin nodig heeft, antwoordt niet. Probeer het zo opnieuw.',
  'not_found.title': 'Verbinding niet gevonden',
  'not_found.message': 'Deze tenant heeft geen verbinding met die id.',

  'connections.title': 'Entra-verbindingen',
  'connections.intro':
    'Telkens als een beheerder Microsoft Entra ID toestaat {tenant} in te richten, ontstaat een verbinding. Entra draait ongeveer elke 40 minuten een cyclus.',
  'connections.none':
    'Nog geen verbinding. Er verschijnt er hier een zodra een beheerder in Entra op Authorize heeft geklikt en toegang heeft toegestaan.',
  'connections.revoked_notice':
    'De verbinding is ingetrokken. Het volgende verzoek van Entra wordt geweigerd; klik in Entra op Authorize om opnieuw in te richten.',
  'connections.client': 'Client',
  'connections.allowed_by': 'Toegestaan door',
  'connections.allowed_at': 'Toegestaan',
  'connections.last_refresh': 'Laatste tokenvernieuwing',
  'connections.last_request': 'Laatste SCIM-verzoek',
  'connections.last_test': 'Laatste Test Connection',
  'connections.requests': 'Verzoeken in de laatste 24 uur',
  'connections.health': 'Gezondheid',
  'connections.never': 'nooit',
  'connections.revoke': 'Intrekken',
  'connections.revoked_by': 'Ingetrokken {at} door {by}',
  'outcome.ok': '{n} gelukt',
  'outcome.unauthorized': '{n} geweigerd (401)',
  'outcome.client': '{n} {kind}',
  'outcome.server': '{n} serverfouten',
  'outcome.none': 'geen',

  'verdict.healthy': 'Gezond',
  'verdict.at_risk': 'Risico',
  'verdict.silent': 'Stil',
  'verdict.revoked': 'Ingetrokken',
  'reason.recent_cycles': 'Entra richt regelmatig in en weinig verzoeken mislukken.',
  'reason.awaiting_first_cycle': 'Toegestaan; wacht op de eerste cyclus van Entra.',
  'reason.manager_inactive':
    'De beheerder die toestemming gaf, is geen actieve beheerder meer: de volgende tokenvernieuwing van Entra mislukt. Klik opnieuw op Authorize als actieve beheerder.',
  'reason.unauthorized': 'Verzoeken van Entra zijn geweigerd als niet geautoriseerd (401): Entra zet een taak daarvoor in quarantaine.',
  'reason.filter_not_found': 'Zoekopdrachten van Entra kregen 404 als antwoord.',
  'reason.failure_ratio': '{percent}% van de verzoeken van de laatste 24 uur mislukte; Entra zet een taak boven 40% in quarantaine.',
  'reason.silent': 'Geen verzoek van Entra in meer dan twee cycli (80 minuten): inrichten is mogelijk gestopt of in quarantaine in Entra.',
  'reason.revoked': 'Ingetrokken: Entra kan haar niet meer gebruiken.',
  'reason.ended': 'Beëindigd: de toestemming is weg (elders ingetrokken of verlopen).',

  'revoke.title': 'Deze verbinding intrekken?',
  'revoke.intro':
    'Intrekken beëindigt de verbinding van {client} met {tenant} direct: het volgende verzoek van Entra wordt geweigerd en de tokens werken niet meer. Al ingerichte gebruikers en groepen blijven.',
  'revoke.confirm': 'Verbinding intrekken',
  'revoke.cancel': 'Behouden',
};

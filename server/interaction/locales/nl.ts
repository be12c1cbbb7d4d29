import type { MessageKey } from './en.ts';

/*
 * Words kept apart on purpose, so nobody is told to ask themselves:
 * "beheerder" is a SecureLogin manager (the person signing in here);
 * "SecureLogin-administrator" is who runs SecureLogin and can unlock or
 * enable accounts; "Microsoft Entra-administrator" is who runs Entra.
 * Entra's own Dutch buttons are quoted as Entra shows them ("Autoriseren").
 */
export const nl: Record<MessageKey, string> = {
  'layout.reference': 'Referentie',

  'domain.title': 'Ga naar domein',
  'domain.intro': 'Vul uw SecureLogin-domein in om {client} ermee te verbinden.',
  'domain.label': 'Domein',
  'domain.hint': 'Bijvoorbeeld: voorbeeld.nl',
  'domain.submit': 'Ga',
  'domain.error.empty': 'Vul uw SecureLogin-domein in.',
  'domain.error.invalid': '“{domain}” is geen domein. Vul een domein in zoals voorbeeld.nl.',
  'domain.error.unknown':
    'SecureLogin heeft geen tenant met het domein {domain}. Controleer de spelling, of vraag uw SecureLogin-administrator welk domein u moet gebruiken.',
  'domain.error.disabled':
    'De SecureLogin-tenant voor {domain} is uitgeschakeld. Vraag uw SecureLogin-administrator om deze in te schakelen.',
  'domain.error.bound':
    '{client} is alleen ingesteld voor het domein {expected}. Vul {expected} in, of vraag uw SecureLogin-administrator om de verbindingsgegevens van uw eigen tenant.',

  'login.title': 'Aanmelden bij {tenant}',
  'login.intro': 'Meld u aan met uw SecureLogin-beheerdersaccount voor {domain}.',
  'login.intro.app': 'Meld u aan met uw SecureLogin-account voor {domain}.',
  'login.username': 'Gebruikersnaam',
  'login.password': 'Wachtwoord',
  'login.submit': 'Aanmelden',
  'login.back': 'Ander domein gebruiken',
  'login.error.missing': 'Vul uw gebruikersnaam en wachtwoord in.',
  'login.error.invalid': 'De gebruikersnaam of het wachtwoord is onjuist.',
  'login.error.locked':
    'Aanmelden met dit account is tijdelijk geblokkeerd na te veel mislukte pogingen. Probeer het over {wait} opnieuw, of vraag uw SecureLogin-administrator om het te ontgrendelen.',
  'login.error.invalid_paused':
    'De gebruikersnaam of het wachtwoord is onjuist. Na te veel mislukte pogingen is aanmelden met dit account tijdelijk geblokkeerd: probeer het over {wait} opnieuw.',
  'login.error.invalid_device_paused':
    'De gebruikersnaam of het wachtwoord is onjuist. Na te veel mislukte pogingen is aanmelden vanuit deze browser tijdelijk geblokkeerd: probeer het over {wait} opnieuw.',
  'login.error.device_locked':
    'Aanmelden vanuit deze browser is tijdelijk geblokkeerd na te veel mislukte pogingen. Probeer het over {wait} opnieuw, of vraag uw SecureLogin-administrator om het account te ontgrendelen.',
  'login.error.address_locked':
    'Aanmelden vanaf uw netwerk is tijdelijk geblokkeerd na te veel mislukte pogingen. Probeer het over {wait} opnieuw.',
  'login.wait.second': '1 seconde',
  'login.wait.seconds': '{count} seconden',
  'login.wait.minute': '1 minuut',
  'login.wait.minutes': '{count} minuten',
  'login.error.disabled_user': 'Dit account is uitgeschakeld. Vraag uw SecureLogin-administrator om het in te schakelen.',
  'login.error.characters':
    'De gebruikersnaam of het wachtwoord bevat een teken dat niet gebruikt kan worden (U+0000, of een half teken). Controleer wat u hebt getypt of geplakt.',

  'login.error.sso_required':
    'Aanmelden met een wachtwoord staat voor deze tenant uit, behalve voor beheerders. Gebruik Aanmelden met Microsoft.',
  'login.sso.button': 'Aanmelden met Microsoft',
  'login.sso.or': 'Of meld u aan met een SecureLogin-wachtwoord:',
  'login.sso.password_toggle': 'Aanmelden met een wachtwoord',
  'login.sso.password_note': 'Voor beheerders bij wie aanmelden met Microsoft niet werkt.',

  'sso.error.expired':
    'Die aanmelding bij Microsoft is al gebruikt of duurde te lang. Klik op Aanmelden met Microsoft om het opnieuw te proberen.',
  'sso.error.off':
    'Aanmelden met Microsoft staat voor deze tenant niet meer aan. Meld u aan met uw wachtwoord, of vraag het uw SecureLogin-administrator.',
  'sso.error.access_denied':
    'Microsoft liet u niet aanmelden bij SecureLogin. Vraag uw Microsoft Entra-administrator om de SecureLogin-app aan u toe te wijzen en probeer het daarna opnieuw.',
  'sso.error.cancelled': 'De aanmelding bij Microsoft is geannuleerd. Klik op Aanmelden met Microsoft om het opnieuw te proberen.',
  'sso.error.interaction_required':
    'Microsoft vraagt u een extra stap te doen (zoals verificatie in twee stappen). Klik op Aanmelden met Microsoft en volg de stappen.',
  'sso.error.login_required': 'Microsoft vraagt u opnieuw aan te melden. Klik op Aanmelden met Microsoft.',
  'sso.error.consent_required':
    'Uw organisatie heeft SecureLogin nog niet toegestaan in Microsoft Entra. Vraag uw Microsoft Entra-administrator om toestemming te verlenen voor de SecureLogin-app (“Beheerderstoestemming verlenen”).',
  'sso.error.entra_error':
    'Microsoft kon de aanmelding niet afronden. Probeer het zo nog eens; lukt het steeds niet, meld het dan aan uw SecureLogin-administrator.',
  'sso.error.wrong_tenant':
    'U meldde zich aan met een Microsoft-account van een andere organisatie. Meld u aan met uw account van deze organisatie, of vraag uw SecureLogin-administrator welk account u moet gebruiken.',
  'sso.error.failed':
    'Het antwoord van Microsoft kon niet worden gecontroleerd, dus u bent niet aangemeld. Klik op Aanmelden met Microsoft om het opnieuw te proberen.',
  'sso.error.unreachable': 'SecureLogin kan Microsoft nu niet bereiken. Wacht een minuut en probeer het dan opnieuw.',
  'sso.error.not_provisioned':
    'Uw Microsoft-account heeft nog geen SecureLogin-account in deze tenant. Vraag uw Microsoft Entra-administrator om de SecureLogin-app aan u toe te wijzen in Microsoft Entra; u kunt zich aanmelden zodra uw account is aangemaakt.',
  'sso.error.ambiguous':
    'Uw Microsoft-account kan niet aan precies één SecureLogin-account worden gekoppeld, dus u bent niet aangemeld. Vraag uw SecureLogin-administrator uw account te controleren.',
  'sso.error.disabled_user':
    'Uw SecureLogin-account is uitgeschakeld. Vraag uw SecureLogin-administrator om het in te schakelen, in Microsoft Entra of in SecureLogin.',

  'consent.title': 'Toegang toestaan',
  'consent.refused.title': 'Toegang kan niet worden toegestaan',
  'consent.intro': '{client} vraagt toegang tot uw SecureLogin-tenant.',
  'consent.fact.client': 'Toepassing',
  'consent.fact.tenant': 'Tenant',
  'consent.fact.domain': 'Domein',
  'consent.fact.account': 'Aangemeld als',
  'consent.means': 'Als u dit toestaat, mag {client} dit doen in {tenant}, en nergens anders:',
  'consent.scope.users': 'gebruikers aanmaken, wijzigen, uitschakelen en verwijderen',
  'consent.scope.groups': 'groepen aanmaken, wijzigen en verwijderen',
  'consent.scope.memberships': 'leden aan groepen toevoegen en eruit verwijderen',
  'consent.lasting': 'De toegang blijft bestaan zolang {client} die gebruikt. Een SecureLogin-administrator kan hem altijd beëindigen.',
  'consent.allow': 'Toestaan',
  'consent.deny': 'Weigeren',
  'consent.refused.not_a_manager':
    'Alleen een beheerder van {tenant} kan dit toestaan. U bent aangemeld als {user}, en dat is geen beheerder.',
  'consent.refused.disabled_user': 'Het account {user} is uitgeschakeld en kan daarom geen toegang toestaan.',
  'consent.refused.disabled_tenant': 'De tenant {tenant} is uitgeschakeld, dus toegang kan niet worden toegestaan.',
  'consent.refused.other_tenant': '{client} is ingesteld voor een andere tenant en kan daarom geen toegang krijgen tot {tenant}.',
  'consent.refused.unknown': 'Het account waarmee u bent aangemeld bestaat niet meer.',
  'consent.start_again': 'Aanmelden als iemand anders',

  'error.expired.title': 'Deze aanmelding is verlopen',
  'error.expired.message':
    'Het duurde te lang, of de aanmelding was al afgerond. Ga terug naar Microsoft Entra ID en klik opnieuw op Autoriseren.',
  'error.unknown_client.title': 'Onbekende toepassing',
  'error.unknown_client.message':
    'De toepassing die u hierheen stuurde is niet bij SecureLogin geregistreerd, of de registratie is verwijderd. Vraag uw SecureLogin-administrator om een client-ID en secret.',
  'error.redirect_uri.title': 'Niet-geregistreerd terugkeeradres',
  'error.redirect_uri.message':
    'De toepassing wilde u terugsturen naar een adres dat er niet voor is geregistreerd, dus zijn we hier gestopt. Vraag uw SecureLogin-administrator om dat adres te registreren.',
  'error.request.title': 'Dit verzoek kan niet worden verwerkt',
  'error.request.message':
    'De toepassing die u hierheen stuurde, deed een verzoek dat SecureLogin niet kan verwerken. Ga terug en probeer het opnieuw; blijft het gebeuren, meld het dan aan uw SecureLogin-administrator.',
  'error.unsupported.title': 'Deze manier van aanmelden wordt niet ondersteund',
  'error.unsupported.message':
    'De toepassing die u hierheen stuurde, vroeg om een manier van aanmelden die SecureLogin niet biedt. Meld aan uw SecureLogin-administrator om welke toepassing het ging.',
  'error.scope.title': 'Toegang die niet kan worden gegeven',
  'error.scope.message':
    'De toepassing die u hierheen stuurde, vroeg om toegang die SecureLogin haar niet geeft. Meld aan uw SecureLogin-administrator om welke toepassing het ging.',
  'error.unauthorized_client.title': 'Toepassing niet toegestaan',
  'error.unauthorized_client.message':
    'De toepassing die u hierheen stuurde, mag zich niet op deze manier aanmelden. Vraag uw SecureLogin-administrator de registratie ervan te controleren.',
  'error.access_denied.title': 'Geen toegang',
  'error.access_denied.message': 'Toegang is niet toegestaan. Ga terug naar de toepassing waar u vandaan kwam.',
  'error.characters.title': 'Dit verzoek kan niet worden verwerkt',
  'error.characters.message':
    'De toepassing stuurde een verzoek waarvan de parameter {parameter} een teken bevat dat SecureLogin niet kan accepteren (U+0000, of een half teken). Ga terug naar Microsoft Entra ID en klik opnieuw op Autoriseren.',
  'error.detail': 'Details voor de ontwikkelaar van de toepassing: {detail}.',
  'error.csrf.title': 'Probeer het opnieuw',
  'error.csrf.message': 'Dit formulier kon niet worden gecontroleerd. Ga terug, laad de pagina opnieuw en verstuur het nogmaals.',
  'error.server.title': 'Er ging iets mis',
  'error.server.message': 'We konden dit verzoek niet afronden. Probeer het zo nog eens.',
  'error.sso_expired.title': 'Deze aanmelding bij Microsoft kan niet verder',
  'error.sso_expired.message':
    'Ze is al gebruikt, of het duurde te lang. Ga terug naar de toepassing waar u vandaan kwam en meld u opnieuw aan.',
  'error.sign_on_tenant.title': 'Onbekende organisatie',
  'error.sign_on_tenant.message':
    'Deze aanmeldlink noemt geen organisatie die SecureLogin gebruikt ({domain}). Vraag uw SecureLogin-administrator de aanmeld-URL van de SecureLogin-app in Microsoft Entra te controleren.',
  'error.sign_on_none.title': 'Geen SecureLogin-app om te openen',
  'error.sign_on_none.message':
    'SecureLogin heeft voor {domain} geen app ingesteld die via deze link kan worden geopend. Vraag uw SecureLogin-administrator de SecureLogin-app te registreren en de aanmeld-URL ervan in Microsoft Entra te zetten.',
  'error.sign_on_several.title': 'Welke SecureLogin-app?',
  'error.sign_on_several.message':
    '{domain} heeft meerdere SecureLogin-apps, en deze aanmeldlink zegt niet welke moet worden geopend. Vraag uw SecureLogin-administrator de aanmeld-URL van één app in Microsoft Entra te zetten.',
  'error.sign_on_unknown.title': 'Geen SecureLogin-app om te openen',
  'error.sign_on_unknown.message':
    'De app die deze aanmeldlink noemt, is niet (meer) ingesteld voor {domain}. Vraag uw SecureLogin-administrator de huidige aanmeld-URL in Microsoft Entra te zetten.',
  'finished.allowed.title': 'Toegang is toegestaan',
  'finished.allowed.message':
    'Deze autorisatie is afgerond en de toegang is toegestaan. Hier hoeft u niets meer te doen: sluit dit tabblad, of ga terug naar Microsoft Entra ID. U hoeft niet opnieuw op Autoriseren te klikken.',
  'finished.app.title': 'U bent aangemeld',
  'finished.app.message':
    'Deze aanmelding is afgerond. Hier hoeft u niets meer te doen: sluit dit tabblad en ga terug naar de SecureLogin-app waar u vandaan kwam.',
  'finished.denied.title': 'Toegang is geweigerd',
  'finished.denied.message':
    'Deze autorisatie is afgerond: u hebt de toegang geweigerd, dus er is niets verbonden. Wilt u toch verbinden, ga dan terug naar Microsoft Entra ID en klik opnieuw op Autoriseren.',
  'error.unavailable.title': 'Aanmelden is tijdelijk niet beschikbaar',
  'error.unavailable.message':
    'SecureLogin kan een van zijn diensten nu niet bereiken. Er is niets verloren gegaan: wacht een minuut en probeer het dan opnieuw.',
};

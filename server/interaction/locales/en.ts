/** The Authorize flow's words in English; every other language has exactly these keys. */
export const en = {
  'layout.reference': 'Reference',

  'domain.title': 'Go to domain',
  'domain.intro': 'Enter your SecureLogin domain to connect {client} to it.',
  'domain.label': 'Domain',
  'domain.hint': 'For example: example.com',
  'domain.submit': 'Go',
  'domain.error.empty': 'Enter your SecureLogin domain.',
  'domain.error.invalid': '“{domain}” is not a domain. Enter a domain such as example.com.',
  'domain.error.unknown':
    'SecureLogin has no tenant with the domain {domain}. Check the spelling, or ask your SecureLogin administrator which domain to use.',
  'domain.error.disabled': 'The SecureLogin tenant for {domain} is disabled. Ask your SecureLogin administrator to enable it.',
  'domain.error.bound':
    '{client} is set up for the domain {expected} only. Enter {expected}, or ask your SecureLogin administrator for the connection details of your own tenant.',

  'login.title': 'Sign in to {tenant}',
  'login.intro': 'Sign in with your SecureLogin manager account for {domain}.',
  'login.intro.app': 'Sign in with your SecureLogin account for {domain}.',
  'login.username': 'Username',
  'login.password': 'Password',
  'login.submit': 'Sign in',
  'login.back': 'Use another domain',
  'login.error.missing': 'Enter your username and password.',
  'login.error.invalid': 'The username or password is incorrect.',
  'login.error.locked':
    'Sign-in for this account is paused after too many failed attempts. Try again in {wait}, or ask your SecureLogin administrator to unlock it.',
  'login.error.invalid_paused':
    'The username or password is incorrect. After too many failed attempts, sign-in for this account is paused: try again in {wait}.',
  'login.error.invalid_device_paused':
    'The username or password is incorrect. After too many failed attempts, sign-in from this browser is paused: try again in {wait}.',
  'login.error.device_locked':
    'Sign-in from this browser is paused after too many failed attempts. Try again in {wait}, or ask your SecureLogin administrator to unlock the account.',
  'login.error.address_locked': 'Too many failed sign-in attempts came from your network. Try again in {wait}.',
  'login.wait.second': '1 second',
  'login.wait.seconds': '{count} seconds',
  'login.wait.minute': '1 minute',
  'login.wait.minutes': '{count} minutes',
  'login.error.disabled_user': 'This account is disabled. Ask your SecureLogin administrator to enable it.',
  'login.error.characters':
    'The username or password contains a character that cannot be used (U+0000, or half of a character). Check what you typed or pasted.',

  'login.error.sso_required': 'Password sign-in is off for this tenant except for its managers. Use Sign in with Microsoft.',
  'login.sso.button': 'Sign in with Microsoft',
  'login.sso.or': 'Or sign in with a SecureLogin password:',
  'login.sso.password_toggle': 'Sign in with a password',
  'login.sso.password_note': 'For managers whose Microsoft sign-in does not work.',

  'sso.error.expired': 'That Microsoft sign-in was used already or took too long. Click Sign in with Microsoft to try again.',
  'sso.error.off':
    'Sign-in with Microsoft is no longer turned on for this tenant. Sign in with your password, or ask your SecureLogin administrator.',
  'sso.error.access_denied':
    'Microsoft did not let you sign in to SecureLogin. Ask your Microsoft Entra administrator to assign the SecureLogin app to you, then try again.',
  'sso.error.cancelled': 'The Microsoft sign-in was cancelled. Click Sign in with Microsoft to try again.',
  'sso.error.interaction_required':
    'Microsoft needs you to complete an extra step (such as multi-factor authentication). Click Sign in with Microsoft and follow the steps.',
  'sso.error.login_required': 'Microsoft needs you to sign in again. Click Sign in with Microsoft.',
  'sso.error.consent_required':
    'Your organisation has not yet allowed SecureLogin in Microsoft Entra. Ask your Microsoft Entra administrator to grant admin consent for the SecureLogin app.',
  'sso.error.entra_error':
    'Microsoft could not complete the sign-in. Try again in a moment; if it keeps failing, tell your SecureLogin administrator.',
  'sso.error.wrong_tenant':
    'You signed in with a Microsoft account of another organisation. Sign in with your account of this organisation, or ask your SecureLogin administrator which account to use.',
  'sso.error.failed':
    'The answer from Microsoft could not be verified, so you were not signed in. Click Sign in with Microsoft to try again.',
  'sso.error.unreachable': 'SecureLogin cannot reach Microsoft right now. Wait a minute, then try again.',
  'sso.error.not_provisioned':
    'Your Microsoft account has no SecureLogin account in this tenant yet. Ask your administrator to assign the SecureLogin app to you in Microsoft Entra; you can sign in once it has been provisioned.',
  'sso.error.ambiguous':
    'Your Microsoft account cannot be matched to exactly one SecureLogin account, so you were not signed in. Ask your SecureLogin administrator to check your account.',
  'sso.error.disabled_user': 'Your SecureLogin account is disabled. Ask your administrator to enable it in Microsoft Entra or SecureLogin.',

  'consent.title': 'Allow access',
  'consent.refused.title': 'Access cannot be allowed',
  'consent.intro': '{client} asks for access to your SecureLogin tenant.',
  'consent.fact.client': 'Application',
  'consent.fact.tenant': 'Tenant',
  'consent.fact.domain': 'Domain',
  'consent.fact.account': 'Signed in as',
  'consent.means': 'If you allow it, {client} may do this in {tenant}, and nowhere else:',
  'consent.scope.users': 'create, update, disable and delete users',
  'consent.scope.groups': 'create, update and delete groups',
  'consent.scope.memberships': 'add and remove members of groups',
  'consent.lasting': 'Access lasts as long as {client} keeps using it. A SecureLogin administrator can end it at any time.',
  'consent.allow': 'Allow',
  'consent.deny': 'Deny',
  'consent.refused.not_a_manager': 'Only a manager of {tenant} can allow this. You are signed in as {user}, who is not a manager.',
  'consent.refused.disabled_user': 'The account {user} is disabled, so it cannot allow access.',
  'consent.refused.disabled_tenant': 'The tenant {tenant} is disabled, so access cannot be allowed.',
  'consent.refused.other_tenant': '{client} is set up for another tenant, so it cannot be given access to {tenant}.',
  'consent.refused.unknown': 'The account you signed in with no longer exists.',
  'consent.start_again': 'Sign in as someone else',

  'error.expired.title': 'This sign-in has expired',
  'error.expired.message': 'It took too long, or it was already completed. Go back to Microsoft Entra ID and click Authorize again.',
  'error.unknown_client.title': 'Unknown application',
  'error.unknown_client.message':
    'The application that sent you here is not registered with SecureLogin, or its registration was removed. Ask your SecureLogin administrator for a client ID and secret.',
  'error.redirect_uri.title': 'Unregistered return address',
  'error.redirect_uri.message':
    'The application asked to be sent back to an address that is not registered for it, so we stopped here. Ask your SecureLogin administrator to register that address.',
  'error.request.title': 'This request cannot be handled',
  'error.request.message':
    'The application that sent you here made a request SecureLogin cannot handle. Go back to it and try again; if this keeps happening, tell your SecureLogin administrator.',
  'error.unsupported.title': 'This kind of sign-in is not supported',
  'error.unsupported.message':
    'The application that sent you here asked for a kind of sign-in SecureLogin does not offer. Tell your SecureLogin administrator which application it was.',
  'error.scope.title': 'Access that cannot be given',
  'error.scope.message':
    'The application that sent you here asked for access SecureLogin does not give to it. Tell your SecureLogin administrator which application it was.',
  'error.unauthorized_client.title': 'Application not allowed',
  'error.unauthorized_client.message':
    'The application that sent you here is not allowed to sign in this way. Ask your SecureLogin administrator to check its registration.',
  'error.access_denied.title': 'Access denied',
  'error.access_denied.message': 'Access was not allowed. Go back to the application you came from.',
  'error.detail': 'Details for the application’s developer: {detail}.',
  'error.characters.title': 'This request cannot be handled',
  'error.characters.message':
    'The application sent a request whose {parameter} parameter contains a character SecureLogin cannot accept (U+0000, or half of a character). Go back to Microsoft Entra ID and click Authorize again.',
  'error.csrf.title': 'Please try again',
  'error.csrf.message': 'This form could not be verified. Go back, reload the page and submit it again.',
  'error.server.title': 'Something went wrong',
  'error.server.message': 'We could not finish this request. Please try again in a moment.',
  'error.sso_expired.title': 'This Microsoft sign-in cannot be continued',
  'error.sso_expired.message': 'It was used already, or it took too long. Go back to the application you came from and sign in again.',
  'error.sign_on_tenant.title': 'Unknown organisation',
  'error.sign_on_tenant.message':
    'This sign-on link names no organisation that uses SecureLogin ({domain}). Ask your SecureLogin administrator to check the sign-on URL of the SecureLogin app in Microsoft Entra.',
  'error.sign_on_none.title': 'No SecureLogin app to open',
  'error.sign_on_none.message':
    'SecureLogin has no app set up to open for {domain} from this link. Ask your SecureLogin administrator to register the SecureLogin app and copy its sign-on URL into Microsoft Entra.',
  'error.sign_on_several.title': 'Which SecureLogin app?',
  'error.sign_on_several.message':
    '{domain} has several SecureLogin apps, and this sign-on link does not say which one to open. Ask your SecureLogin administrator to copy the sign-on URL of one app into Microsoft Entra.',
  'error.sign_on_unknown.title': 'No SecureLogin app to open',
  'error.sign_on_unknown.message':
    'The app this sign-on link names is not, or no longer, set up for {domain}. Ask your SecureLogin administrator to copy the current sign-on URL into Microsoft Entra.',
  'finished.allowed.title': 'Access was allowed',
  'finished.allowed.message':
    'This authorization is finished and access was allowed. There is nothing more to do here: close this tab, or go back to Microsoft Entra ID. You do not need to click Authorize again.',
  'finished.app.title': 'You are signed in',
  'finished.app.message':
    'This sign-in is finished. There is nothing more to do here: close this tab and go back to the SecureLogin app you came from.',
  'finished.denied.title': 'Access was denied',
  'finished.denied.message':
    'This authorization is finished: you denied access, so nothing was connected. To connect after all, go back to Microsoft Entra ID and click Authorize again.',
  'error.unavailable.title': 'Sign-in is temporarily unavailable',
  'error.unavailable.message': 'SecureLogin cannot reach one of its services right now. Nothing was lost: wait a minute, then try again.',
} as const;

export type MessageKey = keyof typeof en;

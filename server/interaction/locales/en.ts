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

  'consent.title': 'Allow access',
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
  'error.request.message': 'The application sent a request SecureLogin cannot handle: {detail}.',
  'error.csrf.title': 'Please try again',
  'error.csrf.message': 'This form could not be verified. Go back, reload the page and submit it again.',
  'error.server.title': 'Something went wrong',
  'error.server.message': 'We could not finish this request. Please try again in a moment.',
  'error.unavailable.title': 'Sign-in is temporarily unavailable',
  'error.unavailable.message': 'SecureLogin cannot reach one of its services right now. Nothing was lost: wait a minute, then try again.',
} as const;

export type MessageKey = keyof typeof en;

/** The console's words in English; every other language has exactly these keys. */
export const en = {
  'layout.reference': 'Reference',
  'layout.console': 'Console',
  'layout.signed_in_as': 'Signed in as {user} · {tenant}',
  'layout.sign_out': 'Sign out',
  'nav.connections': 'Connections',

  'signin.title': 'SecureLogin console',
  'signin.intro':
    'Managers of a SecureLogin tenant see their Microsoft Entra connections here: their health, what Entra does, and a way to end one.',
  'signin.submit': 'Sign in',
  'signin.expired': 'Your console session has ended. Sign in again.',
  'signin.signed_out': 'You have signed out.',

  'refused.title': 'The console is for SecureLogin managers',
  'refused.message':
    'You signed in as {user}, who is not an active manager of {tenant}. Ask a SecureLogin manager of your organisation to make you one, or sign in with a manager account.',
  'refused.again': 'Sign in with another account',
  'failed.title': 'Sign-in did not complete',
  'failed.message': 'The sign-in was cancelled, expired or could not be checked. Start again.',
  'csrf.title': 'This form has expired',
  'csrf.message': 'The page was open too long or came from elsewhere. Go back, reload it and try again.',
  'unavailable.title': 'The console is temporarily unavailable',
  'unavailable.message': 'A store SecureLogin needs does not answer. Try again in a moment.',
  'not_found.title': 'No such connection',
  'not_found.message': 'This tenant has no connection with that id.',

  'connections.title': 'Entra connections',
  'connections.intro':
    'Each time a manager allows Microsoft Entra ID to provision {tenant}, a connection is made. Entra runs a cycle about every 40 minutes.',
  'connections.none': 'No connection yet. One appears here once a manager has clicked Authorize in Entra and allowed access.',
  'connections.revoked_notice':
    'The connection was revoked. Entra’s next request is refused; to provision again, click Authorize in Entra.',
  'connections.client': 'Client',
  'connections.allowed_by': 'Allowed by',
  'connections.allowed_at': 'Allowed',
  'connections.last_refresh': 'Last token refresh',
  'connections.last_request': 'Last SCIM request',
  'connections.last_test': 'Last Test Connection',
  'connections.requests': 'Requests in the last 24 hours',
  'connections.health': 'Health',
  'connections.never': 'never',
  'connections.revoke': 'Revoke',
  'connections.revoked_by': 'Revoked {at} by {by}',
  'outcome.ok': '{n} succeeded',
  'outcome.unauthorized': '{n} refused (401)',
  'outcome.client': '{n} {kind}',
  'outcome.server': '{n} server errors',
  'outcome.none': 'none',

  'verdict.healthy': 'Healthy',
  'verdict.at_risk': 'At risk',
  'verdict.silent': 'Silent',
  'verdict.revoked': 'Revoked',
  'reason.recent_cycles': 'Entra provisions regularly and few requests fail.',
  'reason.awaiting_first_cycle': 'Allowed; waiting for Entra’s first cycle.',
  'reason.manager_inactive':
    'The manager who allowed it is no longer an active manager: Entra’s next token refresh will fail. Authorize again as an active manager.',
  'reason.unauthorized': 'Entra’s requests were refused as unauthorized (401): Entra quarantines a job for this.',
  'reason.filter_not_found': 'Entra’s queries got 404 answers.',
  'reason.failure_ratio': '{percent}% of the last 24 hours’ requests failed; Entra quarantines a job above 40%.',
  'reason.silent': 'No request from Entra for more than two cycles (80 minutes): provisioning may be stopped or quarantined in Entra.',
  'reason.revoked': 'Revoked: Entra can no longer use it.',
  'reason.ended': 'Ended: the grant is gone (revoked elsewhere or expired).',

  'revoke.title': 'Revoke this connection?',
  'revoke.intro':
    'Revoking ends the connection of {client} to {tenant} at once: Entra’s next request is refused and its tokens stop working. Users and groups already provisioned stay.',
  'revoke.confirm': 'Revoke the connection',
  'revoke.cancel': 'Keep it',
} as const;

export type MessageKey = keyof typeof en;

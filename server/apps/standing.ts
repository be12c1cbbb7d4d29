import type { Standing } from '../oauth/index.ts';

/**
 * Why an account may not use an app now, or undefined when it may. Any active
 * user of the tenant may sign in to a SecureLogin app (not only managers);
 * a user SCIM deactivated or deleted, one the operator disabled, or a disabled
 * tenant may not, and an app bound to one tenant serves that tenant only.
 * Checked when the app is granted, and again on every token, refresh,
 * userinfo and introspection.
 */
export function appRefusal(
  standing: Standing,
  clientTenantId: string | null,
): Exclude<Standing['kind'], 'manager' | 'not_a_manager'> | 'other_tenant' | undefined {
  if (standing.kind !== 'manager' && standing.kind !== 'not_a_manager') return standing.kind;
  if (clientTenantId !== null && clientTenantId !== standing.tenant.id) return 'other_tenant';
  return undefined;
}

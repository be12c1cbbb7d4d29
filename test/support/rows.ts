import { randomUUID } from 'node:crypto';
import type { Insertable } from 'kysely';
import type { UserTable } from '../../server/store/schema.ts';

/** A user as provisioning leaves one: a member without a password, written straight to the users table. */
export function provisionedUserRow(tenantId: string, userName: string, id: string = randomUUID()): Insertable<UserTable> {
  const stamp = new Date().toISOString();
  return {
    id,
    tenant_id: tenantId,
    user_name: userName,
    external_id: null,
    work_email: null,
    display_name: null,
    active: 1,
    role: 'member',
    password_hash: null,
    attributes: '{}',
    created_at: stamp,
    updated_at: stamp,
  };
}

/** What a SCIM request did, in words, as a code a person's page translates. */
export const OPERATIONS = [
  'test_connection',
  'create_user',
  'update_user',
  'disable_user',
  'enable_user',
  'delete_user',
  'read_user',
  'list_users',
  'create_group',
  'update_group',
  'add_members',
  'remove_members',
  'delete_group',
  'read_group',
  'list_groups',
  'other',
] as const;
export type Operation = (typeof OPERATIONS)[number];

/** One SCIM request as the record keeps it: never a body, never a value. */
export interface ActivityEntry {
  id: string;
  tenantId: string;
  /** ISO-8601. */
  at: string;
  grantId: string | null;
  clientId: string | null;
  requestId: string;
  method: string;
  operation: Operation;
  /** add_members / remove_members: how many members. */
  memberCount: number | null;
  resourceType: 'User' | 'Group' | null;
  resourceId: string | null;
  /** userName or displayName. */
  resourceName: string | null;
  status: number;
  scimType: string | null;
  /** The detail we answered with an error. */
  detail: string | null;
  /** Names of the attributes the request changed; never their values. */
  attributes: string[];
}

/** The token a SCIM request presented, as far as the bearer check got: set even when it refused it. */
export interface PresentedToken {
  tenantId: string | undefined;
  grantId: string | undefined;
  clientId: string | undefined;
}

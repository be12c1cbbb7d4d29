import type { ColumnType, Generated } from 'kysely';

/**
 * The one source of truth for table types. Timestamps are ISO-8601 text in
 * both engines so rows read the same from SQLite and PostgreSQL; flags are
 * integers 0/1 for the same reason. JSON columns are text in SQLite and jsonb
 * in PostgreSQL: read them through `readJson`, write them with `JSON.stringify`.
 */
export type Json = ColumnType<unknown, string, string>;
export type Flag = ColumnType<number, number | undefined, number>;

export interface TenantTable {
  id: string;
  name: string;
  disabled: Flag;
  created_at: string;
}

export interface DomainTable {
  /** Normalised: lower case, punycode, no scheme, path or port. */
  domain: string;
  tenant_id: string;
  /** The tenant's first domain; what the CLI and pages show by default. */
  is_primary: Flag;
  created_at: string;
}

export interface UserTable {
  id: string;
  tenant_id: string;
  user_name: string;
  external_id: string | null;
  /** emails[type eq "work"].value, kept in a column so Entra's matching filter is an index lookup. */
  work_email: string | null;
  display_name: string | null;
  active: Flag;
  role: 'member' | 'manager';
  password_hash: string | null;
  /** Set by `securelogin manager disable`; unlike `active`, SCIM never changes it. */
  sign_in_disabled: Flag;
  /** The SCIM resource as Entra sent it, minus id and meta. */
  attributes: Json;
  version: Generated<number>;
  created_at: string;
  updated_at: string;
}

export interface GroupTable {
  id: string;
  tenant_id: string;
  display_name: string;
  external_id: string | null;
  attributes: Json;
  version: Generated<number>;
  created_at: string;
  updated_at: string;
}

export interface MembershipTable {
  group_id: string;
  user_id: string;
  tenant_id: string;
  created_at: string;
}

export interface ClientTable {
  /** The client_id Entra is given. */
  id: string;
  /** null: the tenant is chosen on the Go to domain page. */
  tenant_id: string | null;
  name: string;
  redirect_uris: Json;
  created_at: string;
  /** When the newest secret was issued. */
  secret_rotated_at: string;
  /** 'provisioning': Entra's Authorize (scope scim, managers only); 'app': a SecureLogin app signing users in. */
  kind: ColumnType<'provisioning' | 'app', 'provisioning' | 'app' | undefined, 'provisioning' | 'app'>;
  /** An app without a secret (token_endpoint_auth_method none, PKCE required). */
  is_public: Flag;
  /** 'client_credentials': Entra connects with the client's own secret, no user (one tenant only). */
  grant_type: ColumnType<ClientGrant, ClientGrant | undefined, ClientGrant>;
  /** Seconds an access token of the client credentials grant lasts; null for the other grants. */
  access_token_ttl: number | null;
}

export type ClientGrant = 'authorization_code' | 'client_credentials';

/** A client's secrets: the newest, and older ones until their overlap ends. A public client has none. */
export interface ClientSecretTable {
  id: string;
  client_id: string;
  /** SHA-256 of the secret; the secret itself is shown once and never stored. */
  secret_hash: string;
  created_at: string;
  /** null: the secret does not expire. */
  expires_at: string | null;
}

/** A long-lived bearer token for one tenant's SCIM API (Entra's non-gallery app: the Secret Token). */
export interface ScimTokenTable {
  id: string;
  tenant_id: string;
  name: string;
  /** SHA-256 of the token; the token itself is shown once. */
  token_hash: string;
  created_at: string;
  expires_at: string | null;
  /** Updated at most every few minutes, not on every request. */
  last_used_at: string | null;
}

/** oidc-provider's models (sessions, interactions, grants, codes, tokens) in the embedded store. */
export interface OidcArtifactTable {
  model: string;
  id: string;
  payload: Json;
  grant_id: string | null;
  uid: string | null;
  user_code: string | null;
  /** Epoch milliseconds; null for artifacts without expiry. */
  expires_at: number | null;
  consumed_at: number | null;
}

/** Key material and other instance-wide values generated on first start. */
export interface SettingTable {
  key: string;
  value: string;
}

/** Login throttling counters (per account, per client address). */
export interface ThrottleTable {
  key: string;
  failures: number;
  window_ends_at: number;
  locked_until: number | null;
}

/** A tenant's single sign-on with its Entra tenant (`securelogin sso set`). */
export interface SsoSettingsTable {
  tenant_id: string;
  /** The Entra tenant id (a GUID, lower case): the only `tid` and issuer trusted for this tenant. */
  entra_tenant_id: string;
  /** Password sign-in off for everyone but managers. */
  required: Flag;
  created_at: string;
  updated_at: string;
}

/** An Entra account linked to a user: the key is (tid, oid), never a name or e-mail. */
export interface SsoLinkTable {
  tenant_id: string;
  tid: string;
  oid: string;
  user_id: string;
  created_at: string;
}

/** A sign-in sent to Entra, until it comes back (or expires). */
export interface SsoPendingTable {
  state: string;
  interaction_uid: string;
  tenant_id: string;
  /** The domain the person chose, to return to its sign-in page. */
  domain: string;
  nonce: string;
  code_verifier: string;
  /** Epoch milliseconds. */
  expires_at: number;
}

/** One SCIM request of a tenant (server/activity): what was done, to what, with what outcome; never a value. */
export interface ScimActivityTable {
  id: string;
  tenant_id: string;
  at: string;
  grant_id: string | null;
  client_id: string | null;
  request_id: string;
  method: string;
  /** In words, as a code: create_user, disable_user, add_members, test_connection, … (activity/operations.ts). */
  operation: string;
  /** add_members and remove_members: how many. */
  member_count: number | null;
  resource_type: string | null;
  resource_id: string | null;
  /** The userName or displayName, as the request or the answer named it. */
  resource_name: string | null;
  status: number;
  scim_type: string | null;
  detail: string | null;
  /** Names of the attributes the request changed, comma-separated; never their values. */
  attributes: string | null;
}

/** An Entra connection: a grant of a provisioning client, written at the code exchange. */
export interface ConnectionTable {
  grant_id: string;
  tenant_id: string;
  client_id: string;
  manager_id: string;
  manager_user_name: string;
  authorized_at: string;
  last_refresh_at: string | null;
  revoked_at: string | null;
  /** Who ended it: `console:<userName>` or `cli`. */
  revoked_by: string | null;
}

/** A manager signed in to the console; `id` is the SHA-256 of the cookie's token. */
export interface ConsoleSessionTable {
  id: string;
  tenant_id: string;
  user_id: string;
  csrf: string;
  /** Epoch milliseconds. */
  created_at: number;
  seen_at: number;
}

export interface Database {
  tenants: TenantTable;
  domains: DomainTable;
  users: UserTable;
  groups: GroupTable;
  memberships: MembershipTable;
  clients: ClientTable;
  client_secrets: ClientSecretTable;
  scim_tokens: ScimTokenTable;
  oidc_artifacts: OidcArtifactTable;
  settings: SettingTable;
  throttle: ThrottleTable;
  sso_settings: SsoSettingsTable;
  sso_links: SsoLinkTable;
  sso_pending: SsoPendingTable;
  scim_activity: ScimActivityTable;
  connections: ConnectionTable;
  console_sessions: ConsoleSessionTable;
}

/**
 * The attribute definitions of the resources we serve (RFC 7643 §4 and §8.7),
 * as SecureLogin applies them. One list drives discovery (/Schemas), value
 * checks on write, case sensitivity in filters, PATCH mutability and the
 * `attributes` / `excludedAttributes` projection, so they cannot disagree.
 */

export const CORE_USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const ENTERPRISE_USER = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
export const CORE_GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
export const LIST_RESPONSE = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';
export const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
export const SEARCH_REQUEST = 'urn:ietf:params:scim:api:messages:2.0:SearchRequest';
export const ERROR = 'urn:ietf:params:scim:api:messages:2.0:Error';
export const SERVICE_PROVIDER_CONFIG = 'urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig';
export const RESOURCE_TYPE = 'urn:ietf:params:scim:schemas:core:2.0:ResourceType';
export const SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:Schema';

export type AttributeType = 'string' | 'boolean' | 'decimal' | 'integer' | 'dateTime' | 'reference' | 'complex' | 'binary';
export type Mutability = 'readOnly' | 'readWrite' | 'immutable' | 'writeOnly';
export type Returned = 'always' | 'never' | 'default' | 'request';

export interface AttributeDefinition {
  name: string;
  type: AttributeType;
  multiValued: boolean;
  description: string;
  required: boolean;
  caseExact: boolean;
  mutability: Mutability;
  returned: Returned;
  uniqueness: 'none' | 'server' | 'global';
  canonicalValues?: string[];
  referenceTypes?: string[];
  subAttributes?: AttributeDefinition[];
}

export interface SchemaDefinition {
  id: string;
  name: string;
  description: string;
  attributes: AttributeDefinition[];
}

type Options = Partial<Omit<AttributeDefinition, 'name' | 'type' | 'description'>>;

function attribute(name: string, type: AttributeType, description: string, options: Options = {}): AttributeDefinition {
  return {
    name,
    type,
    multiValued: false,
    description,
    required: false,
    caseExact: false,
    mutability: 'readWrite',
    returned: 'default',
    uniqueness: 'none',
    ...options,
  };
}

/** The value/display/type/primary shape RFC 7643 uses for emails, phone numbers, roles and the like. */
function multiValued(name: string, description: string, valueType: AttributeType, types: string[] | undefined): AttributeDefinition {
  return attribute(name, 'complex', description, {
    multiValued: true,
    subAttributes: [
      attribute('value', valueType, `The ${name} value.`),
      attribute('display', 'string', 'A human-readable name, primarily used for display purposes.'),
      attribute('type', 'string', `A label indicating the function of the value.`, types ? { canonicalValues: types } : {}),
      attribute('primary', 'boolean', 'Whether this is the preferred value; true at most once.'),
    ],
  });
}

const USER_ATTRIBUTES: AttributeDefinition[] = [
  attribute(
    'userName',
    'string',
    'Unique identifier for the User, used to sign in to SecureLogin. Unique per tenant without regard to case. REQUIRED.',
    { required: true, uniqueness: 'server' },
  ),
  attribute('name', 'complex', "The components of the user's real name.", {
    subAttributes: [
      attribute('formatted', 'string', 'The full name, formatted for display.'),
      attribute('familyName', 'string', 'The family name of the User.'),
      attribute('givenName', 'string', 'The given name of the User.'),
      attribute('middleName', 'string', 'The middle name(s) of the User.'),
      attribute('honorificPrefix', 'string', 'The honorific prefix(es) of the User.'),
      attribute('honorificSuffix', 'string', 'The honorific suffix(es) of the User.'),
    ],
  }),
  attribute('displayName', 'string', 'The name of the User, suitable for display to end-users.'),
  attribute('nickName', 'string', 'The casual way to address the user.'),
  attribute('profileUrl', 'reference', "A URI pointing to the user's online profile.", { referenceTypes: ['external'] }),
  attribute('title', 'string', "The user's title, such as 'Vice President'."),
  attribute('userType', 'string', 'The relationship between the organization and the user.'),
  attribute('preferredLanguage', 'string', "The user's preferred written or spoken language, e.g. 'en-US'."),
  attribute('locale', 'string', "The user's default location for localisation, e.g. 'en-US'."),
  attribute('timezone', 'string', "The user's time zone in IANA format, e.g. 'Europe/Amsterdam'."),
  attribute('active', 'boolean', 'Whether the user may sign in. false ends their sign-ins and the tokens they allowed.'),
  attribute('password', 'string', 'Not accepted: SecureLogin does not take passwords from provisioning.', {
    mutability: 'writeOnly',
    returned: 'never',
    caseExact: true,
  }),
  multiValued('emails', 'Email addresses for the user. emails[type eq "work"].value is indexed for matching.', 'string', [
    'work',
    'home',
    'other',
  ]),
  multiValued('phoneNumbers', 'Phone numbers for the User.', 'string', ['work', 'home', 'mobile', 'fax', 'pager', 'other']),
  multiValued('ims', 'Instant messaging addresses for the User.', 'string', undefined),
  multiValued('photos', 'URLs of photos of the User.', 'reference', ['photo', 'thumbnail']),
  attribute('addresses', 'complex', 'A physical mailing address for this User.', {
    multiValued: true,
    subAttributes: [
      attribute('formatted', 'string', 'The full mailing address, formatted for display.'),
      attribute('streetAddress', 'string', 'The full street address component.'),
      attribute('locality', 'string', 'The city or locality component.'),
      attribute('region', 'string', 'The state or region component.'),
      attribute('postalCode', 'string', 'The zip code or postal code component.'),
      attribute('country', 'string', 'The country name component.'),
      attribute('type', 'string', 'A label indicating the function of the address.', { canonicalValues: ['work', 'home', 'other'] }),
      attribute('primary', 'boolean', 'Whether this is the preferred address; true at most once.'),
    ],
  }),
  attribute('groups', 'complex', 'The groups the user belongs to, from group memberships. Read-only here: change them on the group.', {
    multiValued: true,
    mutability: 'readOnly',
    subAttributes: [
      attribute('value', 'string', 'The id of the Group.', { mutability: 'readOnly', caseExact: true }),
      attribute('$ref', 'reference', 'The URI of the Group.', { mutability: 'readOnly', referenceTypes: ['Group'], caseExact: true }),
      attribute('display', 'string', 'The displayName of the Group.', { mutability: 'readOnly' }),
      attribute('type', 'string', 'How the membership was derived.', { mutability: 'readOnly', canonicalValues: ['direct', 'indirect'] }),
    ],
  }),
  multiValued('entitlements', 'Entitlements for the User.', 'string', undefined),
  multiValued('roles', 'Roles for the User, kept as sent. They never grant the SecureLogin manager role.', 'string', undefined),
  multiValued('x509Certificates', 'Certificates of the User, base64 DER.', 'binary', undefined),
];

const ENTERPRISE_ATTRIBUTES: AttributeDefinition[] = [
  attribute('employeeNumber', 'string', 'A string identifier assigned to the person, typically by order of hire.'),
  attribute('costCenter', 'string', 'Identifies the name of a cost center.'),
  attribute('organization', 'string', 'Identifies the name of an organization.'),
  attribute('division', 'string', 'Identifies the name of a division.'),
  attribute('department', 'string', 'Identifies the name of a department.'),
  attribute('manager', 'complex', "The user's manager.", {
    subAttributes: [
      attribute('value', 'string', 'The id of the manager.', { caseExact: true }),
      attribute('$ref', 'reference', 'The URI of the manager.', { referenceTypes: ['User'], caseExact: true }),
      attribute('displayName', 'string', 'The displayName of the manager.', { mutability: 'readOnly' }),
    ],
  }),
];

const GROUP_ATTRIBUTES: AttributeDefinition[] = [
  attribute('displayName', 'string', 'A human-readable name for the Group, unique per tenant without regard to case. REQUIRED.', {
    required: true,
    uniqueness: 'server',
  }),
  attribute('members', 'complex', 'The users in the Group. Only users of the same tenant can be members.', {
    multiValued: true,
    subAttributes: [
      attribute('value', 'string', 'The id of the member User.', { mutability: 'immutable', caseExact: true }),
      attribute('$ref', 'reference', 'The URI of the member.', { mutability: 'immutable', referenceTypes: ['User'], caseExact: true }),
      attribute('display', 'string', 'The displayName (or userName) of the member.', { mutability: 'readOnly' }),
      attribute('type', 'string', 'The type of member; only User is accepted.', { mutability: 'immutable', canonicalValues: ['User'] }),
    ],
  }),
];

export const USER_SCHEMA: SchemaDefinition = { id: CORE_USER, name: 'User', description: 'User Account', attributes: USER_ATTRIBUTES };
export const ENTERPRISE_USER_SCHEMA: SchemaDefinition = {
  id: ENTERPRISE_USER,
  name: 'EnterpriseUser',
  description: 'Enterprise User',
  attributes: ENTERPRISE_ATTRIBUTES,
};
export const GROUP_SCHEMA: SchemaDefinition = { id: CORE_GROUP, name: 'Group', description: 'Group', attributes: GROUP_ATTRIBUTES };

/**
 * RFC 7643 §3.1 common attributes: on every resource, outside the schemas'
 * attribute lists (so /Schemas does not repeat them), but still addressable
 * in filters, projections and PATCH paths.
 */
export const COMMON_ATTRIBUTES: AttributeDefinition[] = [
  attribute('id', 'string', 'Identifier of the resource, assigned by SecureLogin.', {
    caseExact: true,
    mutability: 'readOnly',
    returned: 'always',
    uniqueness: 'server',
  }),
  attribute('externalId', 'string', "The client's identifier for the resource (Entra: objectId or mailNickname).", { caseExact: true }),
  attribute('meta', 'complex', 'Resource metadata.', {
    mutability: 'readOnly',
    subAttributes: [
      attribute('resourceType', 'string', 'The resource type.', { mutability: 'readOnly', caseExact: true }),
      attribute('created', 'dateTime', 'When the resource was added.', { mutability: 'readOnly' }),
      attribute('lastModified', 'dateTime', 'When the resource was last changed.', { mutability: 'readOnly' }),
      attribute('location', 'reference', 'The URI of the resource.', { mutability: 'readOnly', caseExact: true }),
      attribute('version', 'string', 'The weak entity tag of the resource.', { mutability: 'readOnly', caseExact: true }),
    ],
  }),
];

/** A resource type: its core schema and the extensions it accepts. */
export interface ResourceTypeDefinition {
  name: 'User' | 'Group';
  endpoint: '/Users' | '/Groups';
  description: string;
  schema: SchemaDefinition;
  extensions: SchemaDefinition[];
}

export const USER_TYPE: ResourceTypeDefinition = {
  name: 'User',
  endpoint: '/Users',
  description: 'A user of the tenant directory',
  schema: USER_SCHEMA,
  extensions: [ENTERPRISE_USER_SCHEMA],
};

export const GROUP_TYPE: ResourceTypeDefinition = {
  name: 'Group',
  endpoint: '/Groups',
  description: 'A group of users of the tenant',
  schema: GROUP_SCHEMA,
  extensions: [],
};

export const RESOURCE_TYPES = [USER_TYPE, GROUP_TYPE];
export const SCHEMAS = [USER_SCHEMA, ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA];

export function findAttribute(list: AttributeDefinition[] | undefined, name: string): AttributeDefinition | undefined {
  if (!list) return undefined;
  const wanted = name.toLowerCase();
  return list.find((a) => a.name.toLowerCase() === wanted);
}

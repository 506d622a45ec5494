/**
 * What this SCIM server is (RFC 7643 §5–7): its schema URNs, the ServiceProviderConfig, the
 * resource types and the schemas it serves, limited to the attributes it keeps.
 */
export const USER_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const ENTERPRISE_SCHEMA = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
export const GROUP_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:Group';
export const LIST_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';
export const PATCH_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
export const SPC_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig';
export const RESOURCE_TYPE_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:ResourceType';
export const SCHEMA_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:Schema';

/** The most resources one list answer holds (`count` above it is lowered to it). */
export const MAX_COUNT = 200;
/** The most operations one PATCH may carry. */
export const MAX_PATCH_OPERATIONS = 100;
/** The most members one Group body or PATCH operation may name. */
export const MAX_MEMBERS_PER_REQUEST = 1000;

type Attr = {
  name: string;
  type: 'string' | 'boolean' | 'complex' | 'dateTime' | 'reference';
  multiValued?: boolean;
  required?: boolean;
  caseExact?: boolean;
  mutability?: 'readOnly' | 'readWrite' | 'immutable' | 'writeOnly';
  returned?: 'always' | 'default' | 'never' | 'request';
  uniqueness?: 'none' | 'server' | 'global';
  subAttributes?: Attr[];
  referenceTypes?: string[];
  description?: string;
};

function attr(a: Attr): Record<string, unknown> {
  return {
    name: a.name,
    type: a.type,
    multiValued: a.multiValued ?? false,
    description: a.description ?? '',
    required: a.required ?? false,
    caseExact: a.caseExact ?? false,
    mutability: a.mutability ?? 'readWrite',
    returned: a.returned ?? 'default',
    uniqueness: a.uniqueness ?? 'none',
    ...(a.subAttributes ? { subAttributes: a.subAttributes.map(attr) } : {}),
    ...(a.referenceTypes ? { referenceTypes: a.referenceTypes } : {}),
  };
}

const str = (name: string, extra: Partial<Attr> = {}): Attr => ({ name, type: 'string', ...extra });

const USER_ATTRIBUTES: Attr[] = [
  str('userName', { required: true, uniqueness: 'server', description: 'Unique in the workspace, compared case-insensitively. Its email (or the primary email) names the Rampart account.' }),
  str('externalId', { caseExact: true }),
  {
    name: 'name',
    type: 'complex',
    subAttributes: [str('formatted'), str('familyName'), str('givenName')],
  },
  str('displayName'),
  { name: 'active', type: 'boolean', description: 'false removes the member from the workspace and ends all sessions of the account at once.' },
  {
    name: 'emails',
    type: 'complex',
    multiValued: true,
    subAttributes: [str('value'), str('type'), { name: 'primary', type: 'boolean' }, str('display')],
  },
  {
    name: 'groups',
    type: 'complex',
    multiValued: true,
    mutability: 'readOnly',
    subAttributes: [str('value', { mutability: 'readOnly' }), str('display', { mutability: 'readOnly' }), { name: '$ref', type: 'reference', referenceTypes: ['Group'], mutability: 'readOnly' }],
  },
];

const ENTERPRISE_ATTRIBUTES: Attr[] = [
  str('employeeNumber'),
  str('costCenter'),
  str('organization'),
  str('division'),
  str('department'),
  { name: 'manager', type: 'complex', subAttributes: [str('value'), str('displayName', { mutability: 'readOnly' })] },
];

const GROUP_ATTRIBUTES: Attr[] = [
  str('displayName', { required: true, uniqueness: 'server', description: 'Unique in the workspace, compared case-insensitively; lower-cased, a key of the directory group → role mappings.' }),
  str('externalId', { caseExact: true, description: 'Lower-cased, also a key of the directory group → role mappings.' }),
  {
    name: 'members',
    type: 'complex',
    multiValued: true,
    subAttributes: [str('value', { mutability: 'immutable' }), str('display', { mutability: 'readOnly' }), { name: '$ref', type: 'reference', referenceTypes: ['User'], mutability: 'immutable' }, str('type', { mutability: 'immutable' })],
  },
];

export function serviceProviderConfig(location: string): Record<string, unknown> {
  return {
    schemas: [SPC_SCHEMA],
    documentationUri: 'https://github.com/rampart/rampart/blob/main/docs/scim.md',
    patch: { supported: true },
    bulk: { supported: false, maxOperations: 0, maxPayloadSize: 0 },
    filter: { supported: true, maxResults: MAX_COUNT },
    changePassword: { supported: false },
    sort: { supported: false },
    etag: { supported: true },
    authenticationSchemes: [
      { type: 'oauthbearertoken', name: 'Bearer token', description: "A workspace's SCIM token (rscim_…), sent as Authorization: Bearer.", primary: true },
    ],
    meta: { resourceType: 'ServiceProviderConfig', location },
  };
}

export function resourceTypes(base: string): Record<string, unknown>[] {
  return [
    {
      schemas: [RESOURCE_TYPE_SCHEMA],
      id: 'User',
      name: 'User',
      endpoint: '/Users',
      description: 'A person the directory provisions: a Rampart account and its membership of the workspace.',
      schema: USER_SCHEMA,
      schemaExtensions: [{ schema: ENTERPRISE_SCHEMA, required: false }],
      meta: { resourceType: 'ResourceType', location: `${base}/ResourceTypes/User` },
    },
    {
      schemas: [RESOURCE_TYPE_SCHEMA],
      id: 'Group',
      name: 'Group',
      endpoint: '/Groups',
      description: 'A directory group; its members get the roles mapped to it.',
      schema: GROUP_SCHEMA,
      meta: { resourceType: 'ResourceType', location: `${base}/ResourceTypes/Group` },
    },
  ];
}

export function schemas(base: string): Record<string, unknown>[] {
  const schema = (id: string, name: string, description: string, attributes: Attr[]) => ({
    schemas: [SCHEMA_SCHEMA],
    id,
    name,
    description,
    attributes: attributes.map(attr),
    meta: { resourceType: 'Schema', location: `${base}/Schemas/${id}` },
  });
  return [
    schema(USER_SCHEMA, 'User', 'User account', USER_ATTRIBUTES),
    schema(ENTERPRISE_SCHEMA, 'EnterpriseUser', 'Enterprise user', ENTERPRISE_ATTRIBUTES),
    schema(GROUP_SCHEMA, 'Group', 'Group', GROUP_ATTRIBUTES),
  ];
}

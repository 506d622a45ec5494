/**
 * The SCIM server answering the requests Okta and Microsoft Entra ID document, byte for byte, on
 * every backend: each body below is the vendor's text as published (its whitespace, key order,
 * capitalised ops, nulls and typos), with only the resource ids it names replaced by the ids this
 * server gave. Each request must get the answer the vendor expects: the status, and the resource
 * it reads back.
 *
 * Sources (stored copies of the public documentation repositories):
 * - Okta, "SCIM 2.0 Protocol Reference": okta/okta-developer-docs,
 *   packages/@okta/vuepress-site/docs/reference/scim/scim-20/index.md
 *   (developer.okta.com/docs/reference/scim/scim-20/).
 * - Microsoft, "Tutorial: Develop and plan provisioning for a SCIM endpoint in Microsoft Entra ID":
 *   MicrosoftDocs/entra-docs, docs/identity/app-provisioning/use-scim-to-provision-users-and-groups.md.
 * - Microsoft, "Known issues and resolutions with SCIM 2.0 protocol compliance of the Microsoft
 *   Entra user provisioning service": MicrosoftDocs/entra-docs,
 *   docs/identity/app-provisioning/application-provisioning-config-problem-scim-compatibility.md.
 * Where a request is not in those pages (Entra's manager by its URN path with a bare id, and with a
 * `{"value": id}` object), the test says where it comes from.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '../src/platform/ids.js';
import { BACKENDS } from './helpers/backends.js';
import { buildTestApp, createWorkspace, signUp, type Caller, type TestApp } from './helpers/app.js';
import { body, ENTERPRISE, expectScimError, expectStatus, GROUP, LIST, newScimToken, scimClient, USER, verifyDomain } from './helpers/scim.js';

// --- Okta: SCIM 2.0 Protocol Reference ----------------------------------------------------------

/** "Create the User" (the first request body; "password" is Okta's, and never stored here). */
const OKTA_CREATE_USER = `{
    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
    "userName": "test.user@okta.local",
    "name": {
        "givenName": "Test",
        "familyName": "User"
    },
    "emails": [{
        "primary": true,
        "value": "test.user@okta.local",
        "type": "work"
    }],
    "displayName": "Test User",
    "locale": "en-US",
    "externalId": "00ujl29u0le5T6Aj10h7",
    "groups": [],
    "password": "1mz050nq",
    "active": true
}`;

/** "Update the User" (PUT), with the id the server gave. */
const OKTA_PUT_USER = (id: string) => `{
    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
    "id": "${id}",
    "userName": "test.user@okta.local",
    "name": {
        "givenName": "Another",
        "middleName": "Excited",
        "familyName": "User"
    },
    "emails": [{
        "primary": true,
        "value": "test.user@okta.local",
        "type": "work",
        "display": "test.user@okta.local"
    }],
    "active": true,
    "groups": [],
    "meta": {
        "resourceType": "User"
    }
}`;

/** "Update a specific User (PATCH)": deactivation. */
const OKTA_DEACTIVATE = `{
    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
    "Operations": [{
        "op": "replace",
        "value": {
            "active": false
        }
    }]
}`;

/** "Create Groups" (group push). */
const OKTA_CREATE_GROUP = `{
    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
    "displayName": "Test SCIMv2",
    "members": []
}`;

/** "Update a specific Group name": the group's own id inside the value (RFC 7644 §3.5.2: unchanged, so accepted). */
const OKTA_RENAME_GROUP = (id: string) => `{
    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
    "Operations": [{
        "op": "replace",
        "value": {
            "id": "${id}",
            "displayName": "Test SCIMv2"
        }
    }]
}`;

/** "Update specific Group membership": one member out, one in. */
const OKTA_MEMBERSHIP = (removed: string, added: string) => `{
    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
    "Operations": [{
          "op": "remove",
          "path": "members[value eq \\"${removed}\\"]"
        },
        {
          "op": "add",
          "path": "members",
          "value": [{
              "value": "${added}",
              "display": "test.user@okta.local"
        }]
    }]
}`;

/** "Update specific Group membership": a full push of the members with replace. */
const OKTA_REPLACE_MEMBERS = (a: string, b: string) => `{
  "schemas": [
    "urn:ietf:params:scim:api:messages:2.0:PatchOp"
  ],
  "Operations": [
    {
      "op": "replace",
      "path": "members",
      "value": [
        {
          "value": "${a}",
          "display": "test.user@okta.local"
        },
        {
          "value": "${b}",
          "display": "test.user@okta.local"
        }
      ]
    }
  ]
}`;

// --- Microsoft Entra ID: the tutorial's "SCIM protocol requests and responses" --------------------

/** "Create User". */
const ENTRA_CREATE_USER = `{
    "schemas": [
        "urn:ietf:params:scim:schemas:core:2.0:User",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
    "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
    "userName": "Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee",
    "active": true,
    "emails": [{
        "primary": true,
        "type": "work",
        "value": "Test_User_11bb11bb-cc22-dd33-ee44-55ff55ff55ff@testuser.com"
    }],
    "meta": {
        "resourceType": "User"
    },
    "name": {
        "formatted": "givenName familyName",
        "familyName": "familyName",
        "givenName": "givenName"
    },
    "roles": []
}`;

/** "Update User [Multi-valued properties]". */
const ENTRA_UPDATE_MULTI = `{
    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
    "Operations": [
            {
            "op": "Replace",
            "path": "emails[type eq \\"work\\"].value",
            "value": "updatedEmail@microsoft.com"
            },
            {
            "op": "Replace",
            "path": "name.familyName",
            "value": "updatedFamilyName"
            }
    ]
}`;

/** "Update User [Single-valued properties]". */
const ENTRA_UPDATE_SINGLE = `{
    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
    "Operations": [{
        "op": "Replace",
        "path": "userName",
        "value": "5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com"
    }]
}`;

/** "Disable User". */
const ENTRA_DISABLE = `{
    "Operations": [
        {
            "op": "Replace",
            "path": "active",
            "value": false
        }
    ],
    "schemas": [
        "urn:ietf:params:scim:api:messages:2.0:PatchOp"
    ]
}`;

/** "Create Group": with Entra's ADSCIM schema, which carries no attributes. */
const ENTRA_CREATE_GROUP = `{
    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group", "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],
    "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
    "displayName": "displayName",
    "meta": {
        "resourceType": "Group"
    }
}`;

/** "Update Group [Non-member attributes]". */
const ENTRA_RENAME_GROUP = `{
    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
    "Operations": [{
        "op": "Replace",
        "path": "displayName",
        "value": "1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName"
    }]
}`;

/** "Update Group [Add Members]" and "[Remove Members]" ("$ref": null as sent). */
const ENTRA_MEMBERS = (op: 'Add' | 'Remove', id: string) => `{
    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
    "Operations": [{
        "op": "${op}",
        "path": "members",
        "value": [{
            "$ref": null,
            "value": "${id}"
        }]
    }]
}`;

/** "Example 2. Provision a user" (its schema URN lacks a colon, and core-less names are null: as published). */
const ENTRA_EXAMPLE_PROVISION = `{
   "schemas":
   [
     "urn:ietf:params:scim:schemas:core:2.0:User",
     "urn:ietf:params:scim:schemas:extension:enterprise:2.0User"],
   "externalId":"jyoung",
   "userName":"jyoung@testuser.com",
   "active":true,
   "addresses":null,
   "displayName":"Joy Young",
   "emails": [
     {
       "type":"work",
       "value":"jyoung@Contoso.com",
       "primary":true}],
   "meta": {
     "resourceType":"User"},
    "name":{
     "familyName":"Young",
     "givenName":"Joy"},
   "phoneNumbers":null,
   "preferredLanguage":null,
   "title":null,
   "department":null,
   "manager":null}`;

/** "Example 5. Request from Microsoft Entra ID to an SCIM endpoint to update a user": the manager. */
const ENTRA_EXAMPLE_MANAGER = (manager: string) => `{
    "schemas": 
    [
      "urn:ietf:params:scim:api:messages:2.0:PatchOp"],
    "Operations":
    [
      {
        "op":"Add",
        "path":"manager",
        "value":
          [
            {
              "$ref":"http://.../scim/Users/${manager}",
              "value":"${manager}"}]}]}`;

// --- Microsoft Entra ID: the known-issues page, without and with the aadOptscim062020 flag -----------

const ENTRA_DISABLE_STRING = `{
    "schemas": [
        "urn:ietf:params:scim:api:messages:2.0:PatchOp"
    ],
    "Operations": [
        {
            "op": "Replace",
            "path": "active",
            "value": "False"
        }
    ]
  }`;

const ENTRA_ADD_NICKNAME = `{
    "schemas": [
        "urn:ietf:params:scim:api:messages:2.0:PatchOp"
    ],
    "Operations": [
      {
        "op": "Add",
        "path": "nickName",
        "value": "Babs"
      }
    ]
  }`;

const ENTRA_REPLACE_MULTIPLE = `{
    "schemas": [
        "urn:ietf:params:scim:api:messages:2.0:PatchOp"
    ],
    "Operations": [
        {
            "op": "Replace",
            "path": "displayName",
            "value": "Pvlo"
        },
        {
            "op": "Replace",
            "path": "emails[type eq \\"work\\"].value",
            "value": "TestBcwqnm@test.microsoft.com"
        },
        {
            "op": "Replace",
            "path": "name.givenName",
            "value": "Gtfd"
        },
        {
            "op": "Replace",
            "path": "name.familyName",
            "value": "Pkqf"
        },
        {
            "op": "Replace",
            "path": "externalId",
            "value": "Eqpj"
        },
        {
            "op": "Replace",
            "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber",
            "value": "Eqpj"
        }
    ]
  }`;

/** With the flag: one path-less replace with dotted and fully qualified attribute names as keys. */
const ENTRA_REPLACE_MULTIPLE_FLAG = `{
    "schemas": [
        "urn:ietf:params:scim:api:messages:2.0:PatchOp"
    ],
    "Operations": [
        {
            "op": "replace",
            "path": "emails[type eq \\"work\\"].value",
            "value": "TestMhvaes@test.microsoft.com"
        },
        {
            "op": "replace",
            "value": {
                "displayName": "Bjfe",
                "name.givenName": "Kkom",
                "name.familyName": "Unua",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber": "Aklq"
            }
        }
    ]
  }`;

const ENTRA_REMOVE_MEMBER = (id: string) => `{
    "schemas": [
        "urn:ietf:params:scim:api:messages:2.0:PatchOp"
    ],
    "Operations": [
        {
            "op": "Remove",
            "path": "members",
            "value": [
                {
                    "value": "${id}"
                }
            ]
        }
    ]
  }`;

const ENTRA_REMOVE_MEMBER_FLAG = (id: string) => `{
    "schemas": [
        "urn:ietf:params:scim:api:messages:2.0:PatchOp"
    ],
    "Operations": [
        {
            "op": "remove",
            "path": "members[value eq \\"${id}\\"]"
        }
    ]
  }`;

describe.each(BACKENDS)('SCIM requests as Okta and Entra ID document them, on $name', (backend) => {
  let t: TestApp;
  let owner: Caller;
  const target = { workspace: '', token: '' };
  const client = scimClient(
    () => t,
    () => target,
  );
  const scim = client.request;
  const write = client.write;
  const filter = (expression: string) => `filter=${encodeURIComponent(expression)}`;

  /** A workspace of its own per vendor, with the domains its documented addresses use. */
  async function workspaceFor(name: string, domains: string[]): Promise<void> {
    const ws = (await createWorkspace(t, owner, name)).id;
    for (const domain of domains) await verifyDomain(t, ws, domain);
    target.workspace = ws;
    target.token = await newScimToken(t, ws, owner, name);
  }
  const other = async (userName: string): Promise<string> =>
    expectStatus(await scim('POST', '/Users', { body: { schemas: [USER], userName } }), 201).id as string;

  beforeAll(async () => {
    t = await buildTestApp(backend);
    owner = await signUp(t, 'owner');
  });
  afterAll(async () => t?.close());

  describe('Okta', () => {
    beforeAll(async () => workspaceFor('Okta', ['okta.local']));

    it('provisions a user: looks it up by userName, creates it, reads it, replaces it with PUT, deactivates it with PATCH', async () => {
      const lookup = `/Users?${filter('userName eq "test.user@okta.local"')}&startIndex=1&count=100`;
      expect(expectStatus(await scim('GET', lookup), 200)).toEqual({ schemas: [LIST], totalResults: 0, startIndex: 1, itemsPerPage: 0, Resources: [] });

      const created = await write(() => scim('POST', '/Users', { raw: OKTA_CREATE_USER }), 201, 'scim.user.created');
      expect(created).toMatchObject({
        schemas: [USER],
        id: expect.any(String),
        userName: 'test.user@okta.local',
        name: { givenName: 'Test', familyName: 'User' },
        emails: [{ primary: true, value: 'test.user@okta.local', type: 'work' }],
        displayName: 'Test User',
        externalId: '00ujl29u0le5T6Aj10h7',
        active: true,
        groups: [],
        meta: { resourceType: 'User' },
      });
      expect(JSON.stringify(created)).not.toContain('1mz050nq');
      // Okta matches the user it created by the filter, and a second create is 409 with the error schema.
      const found = expectStatus(await scim('GET', lookup), 200);
      expect(found).toMatchObject({ totalResults: 1, startIndex: 1, itemsPerPage: 1 });
      expect(found.Resources[0].id).toBe(created.id);
      expectScimError(await scim('POST', '/Users', { raw: OKTA_CREATE_USER }), 409, 'uniqueness');
      expect(body(await scim('GET', `/Users/${created.id}`))).toEqual(created);
      const listed = expectStatus(await scim('GET', '/Users?startIndex=1&count=100'), 200);
      expect(listed.Resources.map((r: { id: string }) => r.id)).toContain(created.id);

      const replaced = await write(() => scim('PUT', `/Users/${created.id}`, { raw: OKTA_PUT_USER(created.id) }), 200, 'scim.user.updated');
      expect(replaced).toMatchObject({ id: created.id, userName: 'test.user@okta.local', name: { givenName: 'Another', familyName: 'User' }, active: true });
      expect(replaced.emails).toEqual([{ primary: true, value: 'test.user@okta.local', type: 'work', display: 'test.user@okta.local' }]);

      const deactivated = await write(() => scim('PATCH', `/Users/${created.id}`, { raw: OKTA_DEACTIVATE }), 200, 'scim.user.deactivated');
      expect(deactivated).toMatchObject({ id: created.id, userName: 'test.user@okta.local', active: false, name: { givenName: 'Another' } });
      expect(body(await scim('GET', `/Users/${created.id}`))).toEqual(deactivated);
    });

    it('pushes a group: creates it, renames it with its own id in the value, moves members, replaces them, deletes it', async () => {
      const user = expectStatus(await scim('GET', `/Users?${filter('userName eq "test.user@okta.local"')}`), 200).Resources[0].id as string;
      const second = await other('second.user@okta.local');
      const third = await other('third.user@okta.local');

      const group = await write(() => scim('POST', '/Groups', { raw: OKTA_CREATE_GROUP }), 201, 'scim.group.created');
      expect(group).toMatchObject({ schemas: [GROUP], id: expect.any(String), displayName: 'Test SCIMv2', members: [], meta: { resourceType: 'Group' } });

      const renamed = await write(() => scim('PATCH', `/Groups/${group.id}`, { raw: OKTA_RENAME_GROUP(group.id) }), 200, 'scim.group.updated');
      expect(renamed).toMatchObject({ schemas: [GROUP], id: group.id, displayName: 'Test SCIMv2' });

      await write(() => scim('PATCH', `/Groups/${group.id}`, { raw: OKTA_REPLACE_MEMBERS(second, third) }), 200, 'scim.group.updated');
      const moved = await write(() => scim('PATCH', `/Groups/${group.id}`, { raw: OKTA_MEMBERSHIP(second, user) }), 200, 'scim.group.updated');
      expect(moved.members.map((m: { value: string }) => m.value).sort()).toEqual([third, user].sort());
      const read = body(await scim('GET', `/Groups/${group.id}`));
      expect(read).toMatchObject({ id: group.id, displayName: 'Test SCIMv2' });
      expect(read.members.map((m: { value: string }) => m.value).sort()).toEqual([third, user].sort());
      expect(body(await scim('GET', `/Users/${user}`)).groups).toEqual([{ value: group.id, display: 'Test SCIMv2', $ref: expect.stringContaining(`/Groups/${group.id}`) }]);

      const replaced = await write(() => scim('PATCH', `/Groups/${group.id}`, { raw: OKTA_REPLACE_MEMBERS(user, second) }), 200, 'scim.group.updated');
      expect(replaced.members.map((m: { value: string }) => m.value).sort()).toEqual([second, user].sort());
      const groups = expectStatus(await scim('GET', '/Groups?startIndex=1&count=100'), 200);
      expect(groups.Resources.map((g: { id: string }) => g.id)).toEqual([group.id]);

      await write(() => scim('DELETE', `/Groups/${group.id}`), 204, 'scim.group.deleted');
      expectScimError(await scim('GET', `/Groups/${group.id}`), 404);
    });
  });

  describe('Microsoft Entra ID', () => {
    beforeAll(async () => workspaceFor('Entra', ['testuser.com', 'contoso.com', 'microsoft.com', 'test.microsoft.com']));

    it("runs the tutorial's user operations: create, get, query, update multi- and single-valued, disable, delete", async () => {
      // Test Connection: a random GUID as the matching value finds nothing, as an empty ListResponse.
      expect(expectStatus(await scim('GET', `/Users?${filter(`userName eq "${newId()}"`)}`), 200)).toMatchObject({ schemas: [LIST], totalResults: 0, Resources: [] });

      const created = await write(() => scim('POST', '/Users', { raw: ENTRA_CREATE_USER }), 201, 'scim.user.created');
      expect(created).toEqual({
        schemas: [USER],
        id: expect.any(String),
        externalId: '0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef',
        meta: expect.objectContaining({ resourceType: 'User', created: expect.any(String), lastModified: expect.any(String) }),
        userName: 'Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee',
        name: { formatted: 'givenName familyName', familyName: 'familyName', givenName: 'givenName' },
        active: true,
        emails: [{ value: 'Test_User_11bb11bb-cc22-dd33-ee44-55ff55ff55ff@testuser.com', type: 'work', primary: true }],
        groups: [],
      });
      expect(body(await scim('GET', `/Users/${created.id}`))).toEqual(created);
      const missing = expectScimError(await scim('GET', '/Users/5171a35d82074e068ce2'), 404);
      expect(missing.status).toBe('404');

      const query = expectStatus(await scim('GET', `/Users?${filter('userName eq "Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee"')}`), 200);
      expect(query).toMatchObject({ schemas: [LIST], totalResults: 1, startIndex: 1 });
      expect(query.Resources).toEqual([created]);
      expect(expectStatus(await scim('GET', `/Users?${filter('userName eq "non-existent user"')}`), 200)).toMatchObject({ totalResults: 0, Resources: [] });

      const multi = await write(() => scim('PATCH', `/Users/${created.id}`, { raw: ENTRA_UPDATE_MULTI }), 200, 'scim.user.updated');
      expect(multi).toMatchObject({ id: created.id, name: { familyName: 'updatedFamilyName', givenName: 'givenName' }, emails: [{ value: 'updatedEmail@microsoft.com', type: 'work', primary: true }] });
      // "/Users: … a GET to /Users with a filter must allow for both userName eq … and emails[type eq "work"].value eq … queries."
      const byWorkEmail = expectStatus(await scim('GET', `/Users?${filter('emails[type eq "work"].value eq "updatedEmail@microsoft.com"')}`), 200);
      expect(byWorkEmail.Resources.map((r: { id: string }) => r.id)).toEqual([created.id]);
      const single = await write(() => scim('PATCH', `/Users/${created.id}`, { raw: ENTRA_UPDATE_SINGLE }), 200, 'scim.user.updated');
      expect(single).toMatchObject({ id: created.id, userName: '5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com', emails: [{ value: 'updatedEmail@microsoft.com' }] });
      const disabled = await write(() => scim('PATCH', `/Users/${created.id}`, { raw: ENTRA_DISABLE }), 200, 'scim.user.deactivated');
      expect(disabled).toMatchObject({ id: created.id, active: false });
      expect(body(await scim('GET', `/Users/${created.id}`))).toEqual(disabled);

      await write(() => scim('DELETE', `/Users/${created.id}`), 204, 'scim.user.deleted');
      expectScimError(await scim('GET', `/Users/${created.id}`), 404);
    });

    it("provisions the tutorial's Example 2 user: a mistyped extension URN with no attributes and null attributes are ignored", async () => {
      const created = await write(() => scim('POST', '/Users', { raw: ENTRA_EXAMPLE_PROVISION }), 201, 'scim.user.created');
      expect(created).toMatchObject({
        schemas: [USER],
        externalId: 'jyoung',
        userName: 'jyoung@testuser.com',
        displayName: 'Joy Young',
        active: true,
        emails: [{ type: 'work', value: 'jyoung@Contoso.com', primary: true }],
        name: { familyName: 'Young', givenName: 'Joy' },
      });
      expect(created).not.toHaveProperty(ENTERPRISE);
      // The account is the primary email's, lower-cased.
      const [account] = await t.database.raw<{ email: string }>('SELECT a.email FROM rampart.accounts a JOIN rampart.scim_users u ON u.account_id = a.id WHERE u.id = $1', [created.id]);
      expect(account?.email).toBe('jyoung@contoso.com');
    });

    it("applies the known-issues page's requests, without and with the SCIM-compliance flag", async () => {
      // Set-up: the tutorial's user under other names (the tutorial's own test uses its names).
      const user = await write(() => scim('POST', '/Users', { raw: ENTRA_CREATE_USER.replace('Test_User_00aa00aa', 'Known_Issues_00aa00aa').replace('Test_User_11bb11bb', 'Known_Issues_11bb11bb') }), 201, 'scim.user.created');
      const id = user.id as string;

      expect((await write(() => scim('PATCH', `/Users/${id}`, { raw: ENTRA_DISABLE_STRING }), 200, 'scim.user.deactivated')).active).toBe(false);
      // nickName is not an attribute this server keeps: accepted, nothing stored.
      const nick = await write(() => scim('PATCH', `/Users/${id}`, { raw: ENTRA_ADD_NICKNAME }), 200, 'scim.user.updated');
      expect(nick).not.toHaveProperty('nickName');

      await write(() => scim('PATCH', `/Users/${id}`, { raw: ENTRA_REPLACE_MULTIPLE }), 200, 'scim.user.updated');
      expect(body(await scim('GET', `/Users/${id}`))).toMatchObject({
        displayName: 'Pvlo',
        externalId: 'Eqpj',
        name: { givenName: 'Gtfd', familyName: 'Pkqf' },
        emails: [{ value: 'TestBcwqnm@test.microsoft.com', type: 'work', primary: true }],
        [ENTERPRISE]: { employeeNumber: 'Eqpj' },
      });
      await write(() => scim('PATCH', `/Users/${id}`, { raw: ENTRA_REPLACE_MULTIPLE_FLAG }), 200, 'scim.user.updated');
      const flagged = body(await scim('GET', `/Users/${id}`));
      expect(flagged).toMatchObject({
        schemas: [USER, ENTERPRISE],
        displayName: 'Bjfe',
        externalId: 'Eqpj',
        name: { givenName: 'Kkom', familyName: 'Unua' },
        emails: [{ value: 'TestMhvaes@test.microsoft.com', type: 'work', primary: true }],
        [ENTERPRISE]: { employeeNumber: 'Aklq' },
      });

      // Set-up: the tutorial's group under another name.
      const group = await write(() => scim('POST', '/Groups', { raw: ENTRA_CREATE_GROUP.replace('"displayName": "displayName"', '"displayName": "Known issues"') }), 201, 'scim.group.created');
      const a = await other(`a-${newId().slice(-8)}@testuser.com`);
      const b = await other(`b-${newId().slice(-8)}@testuser.com`);
      await write(() => scim('PATCH', `/Groups/${group.id}`, { raw: ENTRA_MEMBERS('Add', a) }), 200, 'scim.group.updated');
      await write(() => scim('PATCH', `/Groups/${group.id}`, { raw: ENTRA_MEMBERS('Add', b) }), 200, 'scim.group.updated');
      const without = await write(() => scim('PATCH', `/Groups/${group.id}`, { raw: ENTRA_REMOVE_MEMBER(a) }), 200, 'scim.group.updated');
      expect(without.members.map((m: { value: string }) => m.value)).toEqual([b]);
      const flaggedRemove = await write(() => scim('PATCH', `/Groups/${group.id}`, { raw: ENTRA_REMOVE_MEMBER_FLAG(b) }), 200, 'scim.group.updated');
      expect(flaggedRemove.members).toEqual([]);
    });

    it('sets the manager in every shape Entra sends, shows it, and removes it', async () => {
      const manager = await other(`manager-${newId().slice(-8)}@testuser.com`);
      const next = await other(`next-${newId().slice(-8)}@testuser.com`);
      const report = await other(`report-${newId().slice(-8)}@testuser.com`);
      const managerOf = async (): Promise<unknown> => body(await scim('GET', `/Users/${report}`))[ENTERPRISE]?.manager;

      // The tutorial's Example 5: path "manager", an array of one with $ref.
      const example = await write(() => scim('PATCH', `/Users/${report}`, { raw: ENTRA_EXAMPLE_MANAGER(manager) }), 200, 'scim.user.updated');
      expect(example.schemas).toEqual([USER, ENTERPRISE]);
      expect(example[ENTERPRISE]).toEqual({ manager: { value: manager } });
      expect(await managerOf()).toEqual({ value: manager });

      // Reported in the issue from Entra's traffic (not in the stored pages): the fully qualified
      // path with a bare id, then removal by the same path.
      const bare = `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Add","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager","value":"${next}"}]}`;
      await write(() => scim('PATCH', `/Users/${report}`, { raw: bare }), 200, 'scim.user.updated');
      expect(await managerOf()).toEqual({ value: next });
      const removal = `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Remove","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager"}]}`;
      const removed = await write(() => scim('PATCH', `/Users/${report}`, { raw: removal }), 200, 'scim.user.updated');
      expect(removed).not.toHaveProperty(ENTERPRISE);
      expect(removed.schemas).toEqual([USER]);

      // The object form RFC 7643 §4.3 defines, which Entra sends when the mapping is a reference.
      const object = `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Replace","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager","value":{"value":"${manager}"}}]}`;
      await write(() => scim('PATCH', `/Users/${report}`, { raw: object }), 200, 'scim.user.updated');
      expect(await managerOf()).toEqual({ value: manager });
    });

    it("runs the tutorial's group operations: create with the ADSCIM schema, get without members, find, rename, add and remove members, delete", async () => {
      const member = await other(`member-${newId().slice(-8)}@testuser.com`);
      const group = await write(() => scim('POST', '/Groups', { raw: ENTRA_CREATE_GROUP }), 201, 'scim.group.created');
      expect(group).toEqual({
        schemas: [GROUP],
        id: expect.any(String),
        externalId: '8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159',
        meta: expect.objectContaining({ resourceType: 'Group', created: expect.any(String), lastModified: expect.any(String) }),
        displayName: 'displayName',
        members: [],
      });
      const got = body(await scim('GET', `/Groups/${group.id}?excludedAttributes=members`));
      expect(got).toMatchObject({ schemas: [GROUP], id: group.id, externalId: '8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159', displayName: 'displayName' });
      expect(got).not.toHaveProperty('members');
      const found = expectStatus(await scim('GET', `/Groups?excludedAttributes=members&${filter('displayName eq "displayName"')}`), 200);
      expect(found).toMatchObject({ schemas: [LIST], totalResults: 1, startIndex: 1 });
      expect(found.Resources[0]).toEqual(got);

      const renamed = await write(() => scim('PATCH', `/Groups/${group.id}`, { raw: ENTRA_RENAME_GROUP }), 200, 'scim.group.updated');
      expect(renamed.displayName).toBe('1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName');
      const added = await write(() => scim('PATCH', `/Groups/${group.id}`, { raw: ENTRA_MEMBERS('Add', member) }), 200, 'scim.group.updated');
      expect(added.members).toEqual([{ value: member, display: expect.any(String), type: 'User', $ref: expect.stringContaining(`/Users/${member}`) }]);
      const removed = await write(() => scim('PATCH', `/Groups/${group.id}`, { raw: ENTRA_MEMBERS('Remove', member) }), 200, 'scim.group.updated');
      expect(removed.members).toEqual([]);
      await write(() => scim('DELETE', `/Groups/${group.id}`), 204, 'scim.group.deleted');
      expectScimError(await scim('GET', `/Groups/${group.id}`), 404);
    });
  });
});

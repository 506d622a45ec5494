/**
 * Per-IdP steps for the customer's IT admin, with this workspace's SP values and SCIM base URL
 * filled in: `steps` for single sign-on, `provisioning` for SCIM.
 */
import type { SpInfoView } from './schemas.js';

export interface IdpInstructions {
  readonly idp: 'okta' | 'entra' | 'google';
  readonly name: string;
  readonly steps: string[];
  readonly provisioning: string[];
}

export function instructionsFor(sp: SpInfoView, scimBaseUrl: string): IdpInstructions[] {
  return [
    {
      idp: 'okta',
      name: 'Okta',
      steps: [
        'In the Okta Admin Console, open Applications → Applications → Create App Integration, choose SAML 2.0.',
        `Single sign-on URL: ${sp.acsUrl} (tick "Use this for Recipient URL and Destination URL").`,
        `Audience URI (SP Entity ID): ${sp.entityId}.`,
        'Name ID format: EmailAddress; Application username: Email.',
        'Attribute statements (optional): email → user.email, name → user.displayName; a group attribute statement named groups for the groups that should map to roles.',
        'Keep "Response" and "Assertion Signature" signed with RSA-SHA256 (SHA-1 is refused).',
        'Finish, then copy the "Metadata URL" from the Sign On tab and paste it here.',
      ],
      provisioning: [
        'In the app\'s General tab, set Provisioning to SCIM and save; open the Provisioning tab → Integration → Edit.',
        `SCIM connector base URL: ${scimBaseUrl}; Unique identifier field for users: userName.`,
        'Supported provisioning actions: Push New Users, Push Profile Updates, Push Groups. Authentication Mode: HTTP Header, then paste a SCIM token created below as the Bearer token.',
        'Test Connector Configuration, save, then under To App enable Create Users, Update User Attributes and Deactivate Users.',
        'Assign people and groups to the app; push the groups that should map to roles from the Push Groups tab.',
      ],
    },
    {
      idp: 'entra',
      name: 'Microsoft Entra ID',
      steps: [
        'In the Entra admin center, open Enterprise applications → New application → Create your own application (non-gallery).',
        'Open Single sign-on → SAML.',
        `Identifier (Entity ID): ${sp.entityId}; Reply URL (Assertion Consumer Service URL): ${sp.acsUrl}; Sign on URL: ${sp.loginUrl}.`,
        'Attributes & Claims: Unique User Identifier (Name ID) = user.mail (or user.userprincipalname if it is the email), format Email address. Add a group claim if groups should map to roles.',
        'SAML Certificates: signing option "Sign SAML response and assertion", algorithm SHA-256.',
        'Copy the "App Federation Metadata Url" and paste it here.',
      ],
      provisioning: [
        'In the same enterprise application, open Provisioning → Get started, Provisioning Mode: Automatic.',
        `Tenant URL: ${scimBaseUrl}; Secret Token: a SCIM token created below. Test Connection, then save.`,
        'Under Mappings keep userName ← userPrincipalName (or mail, when it is the email), active ← Switch([IsSoftDeleted]…), and the group mapping if groups should map to roles.',
        'Set Scope to "Sync only assigned users and groups", assign them under Users and groups, and turn Provisioning Status On.',
      ],
    },
    {
      idp: 'google',
      name: 'Google Workspace',
      steps: [
        'In the Google Admin console, open Apps → Web and mobile apps → Add app → Add custom SAML app.',
        'On "Google Identity Provider details", download the metadata (IdP metadata XML) and paste it here.',
        `ACS URL: ${sp.acsUrl}; Entity ID: ${sp.entityId}; leave "Signed response" on.`,
        'Name ID format: EMAIL; Name ID: Basic Information → Primary email.',
        'Attribute mapping (optional): name → First name; Group membership → groups.',
        'Turn the app on for the organisational units that should sign in.',
      ],
      provisioning: [
        'Google Workspace provisions over SCIM only to apps in its own catalogue, not to a custom SAML app: accounts are created at their first SSO sign-in (just in time) with the workspace\'s default role.',
        'To remove someone, suspend them in Google Workspace (they can no longer sign in through SSO) and remove them from the workspace in Rampart\'s console.',
      ],
    },
  ];
}

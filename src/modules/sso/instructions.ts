/** Per-IdP steps for the customer's IT admin, with this workspace's SP values filled in. */
import type { SpInfoView } from './schemas.js';

export interface IdpInstructions {
  readonly idp: 'okta' | 'entra' | 'google';
  readonly name: string;
  readonly steps: string[];
}

export function instructionsFor(sp: SpInfoView): IdpInstructions[] {
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
    },
  ];
}

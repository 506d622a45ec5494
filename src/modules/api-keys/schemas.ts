import { z } from 'zod';
import { displayName, Id, WorkspaceParams } from '../../platform/http/schemas.js';
import { GrantableScope, ScopeName } from '../members/schemas.js';

export const ApiKeyStatus = z.enum(['active', 'expired', 'revoked']);

export const ApiKey = z
  .object({
    id: Id,
    name: z.string(),
    prefix: z.string().describe('The first characters of the secret (rk_live_…), to recognise it.'),
    scopes: z.array(ScopeName),
    createdBy: z.object({ accountId: Id, name: z.string(), email: z.string() }).nullable(),
    createdByKey: Id.nullable().describe('The API key that created this one, if one did.'),
    status: ApiKeyStatus,
    createdAt: z.iso.datetime(),
    expiresAt: z.iso.datetime().nullable(),
    lastUsedAt: z.iso.datetime().nullable().describe('Updated at most about once a minute.'),
    revokedAt: z.iso.datetime().nullable(),
  })
  .meta({ id: 'ApiKey' });

export const CreatedApiKey = ApiKey.extend({
  secret: z.string().describe('The key itself (rk_live_…). Shown only in this response; store it now.'),
}).meta({ id: 'CreatedApiKey' });

export const CreateApiKeyBody = z
  .strictObject({
  name: displayName(100).describe('What the key is for, 1–100 characters; no control, bidirectional or invisible characters.'),
  scopes: z.array(GrantableScope).min(1).max(64).describe('A subset of the scopes you hold (a key creating a key: of its own).'),
  expiresAt: z.iso.datetime().optional().describe('When the key stops working; at most 2 years ahead. No expiry if omitted.'),
})
  .meta({ examples: [{ name: 'CRM sync', scopes: ['records:read', 'records:write'] }] });

/** What a key learns about itself: its workspace, and the key as it acts now. */
export const KeyWorkspace = z
  .object({
    id: Id.describe('The workspace the key belongs to.'),
    name: z.string(),
    region: z.string(),
    createdAt: z.iso.datetime(),
    apiKey: z.object({
      id: Id,
      name: z.string(),
      scopes: z.array(ScopeName).describe("What the key may do now: its scopes, cut to what its creator still holds."),
      createdAt: z.iso.datetime(),
    }),
  })
  .meta({ id: 'KeyWorkspace' });

export const ApiKeyParams = WorkspaceParams.extend({ keyId: Id.describe('API key id.') });

export type ApiKeyView = z.infer<typeof ApiKey>;
export type KeyWorkspaceView = z.infer<typeof KeyWorkspace>;

import { z } from 'zod';
import { Id, WorkspaceParams } from '../../platform/http/schemas.js';
import { RoleRef } from '../members/schemas.js';

export const InvitationStatus = z.enum(['pending', 'expired']);

export const Invitation = z
  .object({
    id: Id,
    email: z.string(),
    role: RoleRef,
    invitedBy: z.object({ accountId: Id, name: z.string(), email: z.string() }).nullable(),
    status: InvitationStatus.describe('pending until it expires; accepted and revoked invitations are not listed.'),
    createdAt: z.iso.datetime(),
    sentAt: z.iso.datetime(),
    sendCount: z.number().int(),
    expiresAt: z.iso.datetime(),
  })
  .meta({ id: 'Invitation' });

export const CreateInvitationBody = z.strictObject({
  email: z.email().max(254).describe('Who to invite; they accept signed in with this (verified) address.'),
  roleId: Id.describe('The role they get. You must hold all its scopes; the owner role cannot be given by invitation.'),
  expiresInDays: z.number().int().min(1).max(30).default(7).describe('Days until the invitation expires, 1–30 (7 by default).'),
}).meta({ examples: [{ email: 'dana@example.com', roleId: '01a2520c-16a7-7246-ace6-1b164367fd65', expiresInDays: 7 }] });

export const InvitationParams = WorkspaceParams.extend({ invitationId: Id.describe('Invitation id.') });

export const InvitationTokenBody = z.strictObject({
  token: z.string().min(20).max(200).describe('The token from the invitation link.'),
});

export const InvitationPreview = z
  .object({
    workspace: z.object({ id: Id, name: z.string() }),
    email: z.string().describe('The invited address: the invitation is accepted signed in with it (verified).'),
    role: z.object({ name: z.string() }),
    invitedBy: z.string().nullable(),
    expiresAt: z.iso.datetime(),
  })
  .meta({ id: 'InvitationPreview' });

export type InvitationView = z.infer<typeof Invitation>;
export type InvitationPreviewView = z.infer<typeof InvitationPreview>;

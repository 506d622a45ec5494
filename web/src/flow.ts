/**
 * State that one sign-in step hands to the next, and the tokens that email links and redirects
 * carry in the URL fragment.
 *
 * A fragment (`/magic#token=…`) is never sent to a server nor in a Referer. The console reads it
 * once, removes it from the address bar and the history entry, and keeps the token in memory.
 */
import { useEffect, useState } from 'preact/hooks';
import type { MfaRequired } from './api';

type Factor = MfaRequired['factors'][number];
const FACTORS: readonly Factor[] = ['totp', 'webauthn', 'recovery_code'];

/** What a redirect or an email link carries in the fragment. */
export interface Fragment {
  readonly token: string | null;
  /** The second factors of a pending sign-in (`/mfa#token=…&factors=totp,webauthn`), when given. */
  readonly factors: Factor[] | null;
}

/** Reads the fragment, then removes it from the address bar. */
export function takeFragment(): Fragment {
  const params = new URLSearchParams(location.hash.replace(/^#/, ''));
  const token = params.get('token');
  const listed = params.get('factors');
  if (location.hash) history.replaceState(history.state, '', `${location.pathname}${location.search}`);
  return {
    token: token && token.length > 0 ? token : null,
    factors: listed === null ? null : FACTORS.filter((f) => listed.split(',').includes(f)),
  };
}

/** Reads `token` from the fragment, then removes the fragment from the address bar. */
export function takeFragmentToken(): string | null {
  return takeFragment().token;
}

/**
 * The fragment of the page, read once. Opening a link to the page the browser is already on
 * changes only the fragment (no page load), so a later `#token=` replaces it.
 */
export function useFragment(): Fragment {
  const [fragment, setFragment] = useState(takeFragment);
  useEffect(() => {
    const onHashChange = () => {
      const fresh = takeFragment();
      if (fresh.token) setFragment(fresh);
    };
    window.addEventListener('hashchange', onHashChange);
    return () => window.removeEventListener('hashchange', onHashChange);
  }, []);
  return fragment;
}

export function useFragmentToken(): string | null {
  return useFragment().token;
}

/** A sign-in waiting for its second factor; the factors are unknown when it came by redirect. */
export interface PendingMfa {
  readonly mfaToken: string;
  readonly factors: MfaRequired['factors'] | null;
}

let pendingMfa: PendingMfa | null = null;

export function setPendingMfa(pending: PendingMfa | null): void {
  pendingMfa = pending;
}

/** The pending sign-in handed over by the previous step, once. */
export function takePendingMfa(): PendingMfa | null {
  const pending = pendingMfa;
  pendingMfa = null;
  return pending;
}

/**
 * A token that must outlive signing in, which may pass through other pages of this tab: kept for
 * the tab's session (never in a URL's path or query), and in memory when storage is unavailable
 * (privacy settings), so it then lasts while the page does.
 */
function tabToken(key: string): { save: (token: string) => void; get: () => string | null; clear: () => void } {
  let inMemory: string | null = null;
  return {
    save: (token) => {
      inMemory = token;
      try {
        sessionStorage.setItem(key, token);
      } catch {
        // In memory only.
      }
    },
    get: () => {
      if (inMemory) return inMemory;
      try {
        return sessionStorage.getItem(key);
      } catch {
        return null;
      }
    },
    clear: () => {
      inMemory = null;
      try {
        sessionStorage.removeItem(key);
      } catch {
        // Nothing to clear.
      }
    },
  };
}

/** An offer to link a provider identity to an existing account (`/link#token=…`). */
const linkOffer = tabToken('rampart.linkOffer');
export const saveLinkOffer = linkOffer.save;
export const linkOfferToken = linkOffer.get;
export const clearLinkOffer = linkOffer.clear;

/** A new email address to confirm (`/email-change#token=…`), which needs the account signed in. */
const emailChange = tabToken('rampart.emailChange');
export const saveEmailChangeToken = emailChange.save;
export const emailChangeToken = emailChange.get;
export const clearEmailChangeToken = emailChange.clear;

/** An invitation to a workspace (`/invitations/accept#token=…`). */
export const INVITATION_PATH = '/invitations/accept';

/**
 * The invitation opened in this browser and not answered yet. It must outlive signing up, whose
 * verification link the invitee may open in another tab (or after closing this one), so it is
 * kept in the browser's storage, shared by its tabs, and not only for the tab's session. It is
 * kept at most a week, and no longer than the invitation itself once the preview said when that
 * ends; accepting, declining or signing out forgets it (see `forgetOnSignOut`).
 */
export interface PendingInvitation {
  readonly token: string;
  /** The invited address, once the preview named it: what sign-up and sign-in fill in. */
  readonly email: string | null;
  /** Milliseconds since the epoch. */
  readonly expiresAt: number;
}

const INVITATION_KEY = 'rampart.invitation';
const INVITATION_KEPT_MS = 7 * 24 * 60 * 60 * 1000;
/** Tokens are URL-safe base64 (or an id and one); anything else in storage is not ours to send. */
const TOKEN_SHAPE = /^[A-Za-z0-9_.~-]{1,512}$/;

let invitationInMemory: PendingInvitation | null = null;

/** What storage holds under the key, if it is a pending invitation that has not expired. */
function parseInvitation(raw: string | null, now: number): PendingInvitation | null {
  if (!raw) return null;
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null) return null;
  const token = 'token' in value ? value.token : null;
  const email = 'email' in value ? value.email : null;
  const expiresAt = 'expiresAt' in value ? value.expiresAt : null;
  if (typeof token !== 'string' || !TOKEN_SHAPE.test(token)) return null;
  if (typeof expiresAt !== 'number' || !Number.isFinite(expiresAt) || expiresAt <= now || expiresAt > now + INVITATION_KEPT_MS) return null;
  if (email !== null && (typeof email !== 'string' || email.length > 320)) return null;
  return { token, email, expiresAt };
}

function storeInvitation(pending: PendingInvitation | null): void {
  invitationInMemory = pending;
  try {
    if (pending) localStorage.setItem(INVITATION_KEY, JSON.stringify(pending));
    else localStorage.removeItem(INVITATION_KEY);
  } catch {
    // Storage refused (privacy settings): kept in memory, for as long as the page lasts.
  }
}

/** The pending invitation, or null; an expired or unreadable one is forgotten. */
export function pendingInvitation(): PendingInvitation | null {
  const now = Date.now();
  let raw: string | null = null;
  let readable = true;
  try {
    raw = localStorage.getItem(INVITATION_KEY);
  } catch {
    readable = false;
  }
  if (!readable) return invitationInMemory && invitationInMemory.expiresAt > now ? invitationInMemory : null;
  const pending = parseInvitation(raw, now);
  if (!pending && raw !== null) storeInvitation(null);
  return pending;
}

/** Keeps an invitation opened from its link (the address it is for comes with its preview). */
export function saveInvitationToken(token: string): void {
  const known = pendingInvitation();
  if (known?.token === token) return;
  storeInvitation({ token, email: null, expiresAt: Date.now() + INVITATION_KEPT_MS });
}

/** Records what the invitation's preview said: the invited address, and when it expires. */
export function notePreviewedInvitation(token: string, preview: { email: string; expiresAt: string }): void {
  const known = pendingInvitation();
  if (!known || known.token !== token) return;
  const ends = Date.parse(preview.expiresAt);
  storeInvitation({ token, email: preview.email, expiresAt: Number.isFinite(ends) ? Math.min(known.expiresAt, ends) : known.expiresAt });
}

export function invitationToken(): string | null {
  return pendingInvitation()?.token ?? null;
}

/** The address the pending invitation was sent to, when its preview named it. */
export function invitedEmail(): string | null {
  return pendingInvitation()?.email ?? null;
}

export function clearInvitationToken(): void {
  storeInvitation(null);
}

/**
 * Signing out forgets the pending invitation, so that whoever signs in next in this browser is
 * not offered it; unless the sign-out is to switch to the invited account (`then` returns to the
 * invitation).
 */
export function forgetOnSignOut(then: string): void {
  const next = new URL(then, location.origin).searchParams.get('next');
  if (next !== INVITATION_PATH) clearInvitationToken();
}

/**
 * Where signing in leads when nothing asked for a place (no `?next=`): the pending invitation, so
 * that verifying the address in a new tab resumes it; else the console's home.
 */
export function resumePath(): string {
  return invitationToken() ? INVITATION_PATH : '/';
}

/** The first-run guide (pages/get-started.tsx). */
export const GET_STARTED_PATH = '/get-started';

/** Where a session without a second factor goes when a workspace requires one. */
export function mfaEnrolmentPath(workspaceId: string | null): string {
  return `/settings?mfa=required${workspaceId ? `&workspace=${encodeURIComponent(workspaceId)}` : ''}`;
}

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
 * An offer to link a provider identity to an existing account (`/link#token=…`). It must outlive
 * signing in, which may pass through other pages of this tab, so it is kept for the tab's session.
 */
const LINK_OFFER_KEY = 'rampart.linkOffer';

export function saveLinkOffer(token: string): void {
  try {
    sessionStorage.setItem(LINK_OFFER_KEY, token);
  } catch {
    // Storage may be unavailable (privacy settings): the offer then lasts while the page does.
  }
  linkOffer = token;
}

let linkOffer: string | null = null;

export function linkOfferToken(): string | null {
  if (linkOffer) return linkOffer;
  try {
    return sessionStorage.getItem(LINK_OFFER_KEY);
  } catch {
    return null;
  }
}

export function clearLinkOffer(): void {
  linkOffer = null;
  try {
    sessionStorage.removeItem(LINK_OFFER_KEY);
  } catch {
    // Nothing to clear.
  }
}

/**
 * An invitation to a workspace (`/invitations/accept#token=…`). Signing in (or up) first may
 * pass through other pages of this tab, so, like a link offer, the token is kept for the tab's
 * session, never in a URL's path or query.
 */
export const INVITATION_PATH = '/invitations/accept';
const INVITATION_KEY = 'rampart.invitation';
let invitation: string | null = null;

export function saveInvitationToken(token: string): void {
  invitation = token;
  try {
    sessionStorage.setItem(INVITATION_KEY, token);
  } catch {
    // Storage may be unavailable: the invitation then lasts while the page does.
  }
}

export function invitationToken(): string | null {
  if (invitation) return invitation;
  try {
    return sessionStorage.getItem(INVITATION_KEY);
  } catch {
    return null;
  }
}

export function clearInvitationToken(): void {
  invitation = null;
  try {
    sessionStorage.removeItem(INVITATION_KEY);
  } catch {
    // Nothing to clear.
  }
}

/** Where a session without a second factor goes when a workspace requires one. */
export function mfaEnrolmentPath(workspaceId: string | null): string {
  return `/settings?mfa=required${workspaceId ? `&workspace=${encodeURIComponent(workspaceId)}` : ''}`;
}

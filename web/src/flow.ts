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

/** An invitation to a workspace (`/invitations/accept#token=…`). */
export const INVITATION_PATH = '/invitations/accept';
const invitation = tabToken('rampart.invitation');
export const saveInvitationToken = invitation.save;
export const invitationToken = invitation.get;
export const clearInvitationToken = invitation.clear;

/** Where a session without a second factor goes when a workspace requires one. */
export function mfaEnrolmentPath(workspaceId: string | null): string {
  return `/settings?mfa=required${workspaceId ? `&workspace=${encodeURIComponent(workspaceId)}` : ''}`;
}

/**
 * An invitation to a workspace, opened from its email (`/invitations/accept#token=…`).
 *
 * The token is read from the fragment once and kept in this browser (see flow.ts), so it survives
 * signing up, and verifying the address in another tab; it is sent only in request bodies. Signed
 * out, the page shows what the invitation offers and for which address (which sign-up and sign-in
 * then fill in); signed in, it accepts it, then opens the workspace. An invitation is accepted by
 * the account with the address it was sent to.
 */
import { useEffect, useState } from 'preact/hooks';
import { api, ApiError, errorMessage, type InvitationPreview, type Session } from '../api';
import { ErrorMessage, Time } from '../components/ui';
import { clearInvitationToken, INVITATION_PATH, invitationToken, notePreviewedInvitation, saveInvitationToken, useFragmentToken } from '../flow';
import { useAction } from '../hooks';
import { Link, navigate } from '../router';
import { AuthLayout } from './auth';
import { sectionPath } from '../sections';

const RETURN = `?next=${encodeURIComponent(INVITATION_PATH)}`;

/** The address an `invitation_email_mismatch` names, when the server gives it. */
function invitedEmail(err: unknown): string | null {
  if (!(err instanceof ApiError) || typeof err.details !== 'object' || err.details === null || !('email' in err.details)) return null;
  return typeof err.details.email === 'string' ? err.details.email : null;
}

type PreviewState =
  | { readonly status: 'loading' }
  | { readonly status: 'ready'; readonly preview: InvitationPreview }
  | { readonly status: 'failed'; readonly error: unknown };

/** Signed in as another address than the invitation's: say which, and offer to switch. */
function WrongAccount(props: { invited: string | null; me: string; message: string; onSignOut: (then?: string) => Promise<void> }) {
  const [error, setError] = useState<string | null>(null);
  return (
    <div class="stack" data-testid="invitation-email-mismatch">
      <p role="alert">
        {props.invited ? (
          <>
            This invitation is for <strong>{props.invited}</strong>, but you are signed in as <strong>{props.me}</strong>.
          </>
        ) : (
          <>
            {props.message} You are signed in as <strong>{props.me}</strong>.
          </>
        )}
      </p>
      <p>Sign out, then sign in (or create an account) with the address the invitation was sent to. This browser keeps the invitation meanwhile.</p>
      <button
        type="button"
        onClick={() => {
          setError(null);
          props.onSignOut(`/sign-in${RETURN}`).catch((err: unknown) => setError(errorMessage(err)));
        }}
      >
        Sign out and switch account
      </button>
      <ErrorMessage error={error} />
    </div>
  );
}

function InvitationProblem(props: {
  error: unknown;
  me: string;
  workspace?: InvitationPreview['workspace'];
  onSignOut: (then?: string) => Promise<void>;
}) {
  const { error, workspace } = props;
  if (error instanceof ApiError && error.code === 'invitation_email_mismatch') {
    return <WrongAccount invited={invitedEmail(error)} me={props.me} message={error.message} onSignOut={props.onSignOut} />;
  }
  const code = error instanceof ApiError ? error.code : null;
  return (
    <>
      <ErrorMessage error={errorMessage(error)} testId="invitation-error" />
      {(code === 'invitation_invalid' || code === 'validation_failed') && <p>Ask whoever invited you to send a new invitation.</p>}
      {code === 'email_not_verified' && <p>Confirm your email address with the link we sent you, then open the invitation again.</p>}
      <p>
        {code === 'already_member' && workspace ? (
          <Link href={sectionPath(workspace.id)} class="button">
            Open {workspace.name}
          </Link>
        ) : (
          <Link href="/">Go to your workspaces</Link>
        )}
      </p>
    </>
  );
}

/** What an invitation offers, as its preview says. */
function InvitationFacts({ preview }: { preview: InvitationPreview }) {
  return (
    <dl class="facts" data-testid="invitation-preview">
      <dt>Workspace</dt>
      <dd data-testid="invitation-workspace">{preview.workspace.name}</dd>
      <dt>Role</dt>
      <dd data-testid="invitation-role">{preview.role.name}</dd>
      <dt>Invited by</dt>
      <dd>{preview.invitedBy ?? 'someone who has since left'}</dd>
      <dt>For</dt>
      <dd data-testid="invitation-for">{preview.email}</dd>
      <dt>Expires</dt>
      <dd>
        <Time iso={preview.expiresAt} />
      </dd>
    </dl>
  );
}

function SignedInInvitation({ token, session, onSignOut }: { token: string; session: Session; onSignOut: (then?: string) => Promise<void> }) {
  const [state, setState] = useState<PreviewState>({ status: 'loading' });
  const accepting = useAction({ staysBusy: true });
  const [acceptError, setAcceptError] = useState<unknown>(null);
  const me = session.account.email;

  useEffect(() => {
    let live = true;
    setState({ status: 'loading' });
    api
      .previewInvitation(token)
      .then((preview) => {
        notePreviewedInvitation(token, preview);
        if (live) setState({ status: 'ready', preview });
      })
      .catch((error: unknown) => {
        if (!live) return;
        // A used, revoked or expired invitation will not come back: forget it.
        if (error instanceof ApiError && error.code === 'invitation_invalid') clearInvitationToken();
        setState({ status: 'failed', error });
      });
    return () => {
      live = false;
    };
  }, [token]);

  if (state.status === 'loading') {
    return (
      <AuthLayout title="Invitation">
        <p role="status">Opening the invitation…</p>
      </AuthLayout>
    );
  }
  if (state.status === 'failed') {
    return (
      <AuthLayout title="Invitation">
        <InvitationProblem error={state.error} me={me} onSignOut={onSignOut} />
      </AuthLayout>
    );
  }

  const { preview } = state;
  const mismatch = preview.email.toLowerCase() !== me.toLowerCase();
  const accept = () =>
    void accepting.run(async () => {
      setAcceptError(null);
      try {
        const workspace = await api.acceptInvitation(token);
        clearInvitationToken();
        navigate(sectionPath(workspace.id), { replace: true });
      } catch (err) {
        if (err instanceof ApiError && (err.code === 'invitation_invalid' || err.code === 'already_member')) clearInvitationToken();
        setAcceptError(err);
        throw err;
      }
    });

  return (
    <AuthLayout title={`Join ${preview.workspace.name}`}>
      <InvitationFacts preview={preview} />
      {acceptError ? (
        <InvitationProblem error={acceptError} me={me} workspace={preview.workspace} onSignOut={onSignOut} />
      ) : mismatch ? (
        <WrongAccount invited={preview.email} me={me} message="" onSignOut={onSignOut} />
      ) : (
        <>
          <p>
            You are signed in as <strong>{me}</strong>. Accept to join {preview.workspace.name} as {preview.role.name}.
          </p>
          <div class="actions">
            <button type="button" disabled={accepting.busy} onClick={accept}>
              {accepting.busy ? 'Joining…' : 'Accept invitation'}
            </button>
            <button
              type="button"
              class="secondary"
              disabled={accepting.busy}
              onClick={() => {
                clearInvitationToken();
                navigate('/');
              }}
            >
              Not now
            </button>
          </div>
        </>
      )}
    </AuthLayout>
  );
}

/**
 * Signed out: what the invitation offers and the address it is for (when the server's preview
 * answers signed out), and the ways in: sign in, or create an account with that address.
 */
function SignedOutInvitation({ token }: { token: string }) {
  const [preview, setPreview] = useState<InvitationPreview | null>(null);
  const [invalid, setInvalid] = useState<unknown>(null);

  useEffect(() => {
    let live = true;
    setPreview(null);
    setInvalid(null);
    api
      .previewInvitation(token)
      .then((found) => {
        notePreviewedInvitation(token, found);
        if (live) setPreview(found);
      })
      .catch((error: unknown) => {
        if (!live) return;
        // A used, revoked or expired invitation will not come back: say so, and forget it.
        if (error instanceof ApiError && error.code === 'invitation_invalid') {
          clearInvitationToken();
          setInvalid(error);
        }
        // Otherwise the preview is not available signed out: the page says less, and works the same.
      });
    return () => {
      live = false;
    };
  }, [token]);

  if (invalid) {
    return (
      <AuthLayout title="Invitation">
        <ErrorMessage error={errorMessage(invalid)} testId="invitation-error" />
        <p>Ask whoever invited you to send a new invitation.</p>
      </AuthLayout>
    );
  }
  return (
    <AuthLayout title={preview ? `Join ${preview.workspace.name}` : 'You are invited to a workspace'}>
      {preview && <InvitationFacts preview={preview} />}
      <p data-testid="invitation-sign-in-first">
        Sign in with {preview ? <strong>{preview.email}</strong> : 'the email address the invitation was sent to'} to accept the invitation. No
        account yet? Create one with that address.
      </p>
      <div class="actions">
        <Link href={`/sign-in${RETURN}`} class="button">
          Sign in to accept
        </Link>
        <Link href={`/sign-up${RETURN}`} class="button secondary">
          Create an account
        </Link>
      </div>
      <p class="hint">
        After creating an account, confirm your address from the email we send, in any tab of this browser: the invitation waits for you
        here.
      </p>
    </AuthLayout>
  );
}

export function AcceptInvitationPage({ session, onSignOut }: { session: Session | null; onSignOut: (then?: string) => Promise<void> }) {
  const fragment = useFragmentToken();
  useEffect(() => {
    if (fragment) saveInvitationToken(fragment);
  }, [fragment]);
  const token = fragment ?? invitationToken();

  if (!token) {
    return (
      <AuthLayout title="Invitation">
        <p data-testid="missing-token">This page opens from the link in an invitation email. Open the link from the email itself.</p>
        <p>
          <Link href="/">Go to the console</Link>
        </p>
      </AuthLayout>
    );
  }
  if (!session) return <SignedOutInvitation token={token} />;
  return <SignedInInvitation token={token} session={session} onSignOut={onSignOut} />;
}

/**
 * The account's profile (`/account`): the name others see, and the email address. Changing the
 * address sends a link to the new one (the old one is told) and changes nothing until the link is
 * opened; the change waiting for it is part of the Account, so it shows after a reload too, and can
 * be sent again or cancelled. An address in a domain a workspace verified is that workspace's to
 * manage, and the page says so rather than offering a change that would be refused.
 */
import { useState } from 'preact/hooks';
import { ApiError, errorMessage, profileApi, type Account, type Session } from '../api';
import { Badge, ErrorMessage, PageHeader, Panel, PASSWORD_MAX, Status, TextField } from '../components/ui';
import { Time } from '../components/time';
import { useAction } from '../hooks';

/** The most a display name may be (the server's rule; it cleans what it accepts). */
const NAME_MAX = 100;

function NamePanel({ account, onChanged }: { account: Account; onChanged: (account: Account) => void }) {
  const [name, setName] = useState(account.name);
  const [status, setStatus] = useState<string | null>(null);
  const { busy, error, run } = useAction();
  const unchanged = name.trim() === account.name;
  return (
    <Panel title="Name" titleId="profile-name-title" testId="profile-name">
      <form
        class="stack narrow"
        aria-label="Change your name"
        onSubmit={(event) => {
          event.preventDefault();
          setStatus(null);
          void run(async () => {
            const updated = await profileApi.updateProfile(name.trim());
            setName(updated.name);
            onChanged(updated);
            setStatus(updated.name ? `Your name is now ${updated.name}.` : 'Your name was removed.');
          });
        }}
      >
        <TextField
          label="Name"
          name="name"
          autocomplete="name"
          maxLength={NAME_MAX}
          value={name}
          onInput={setName}
          hint="Shown to the members of your workspaces and in their audit logs."
        />
        <ErrorMessage error={error} testId="profile-name-error" />
        <div class="actions">
          <button type="submit" disabled={busy || unchanged}>
            Save name
          </button>
        </div>
        <Status message={status} />
      </form>
    </Panel>
  );
}

const EMAIL_MANAGED =
  'Your address belongs to a domain that a workspace verified: that workspace manages it through its single sign-on or directory, so its administrators change it, not you.';

function describeEmailError(err: unknown): string {
  if (err instanceof ApiError) {
    if (err.code === 'email_managed') return EMAIL_MANAGED;
    if (err.code === 'reauthentication_required') return 'The current password is not right.';
  }
  return errorMessage(err);
}

/**
 * The change waiting for its link: the address it goes to (read from the Account, so it is there
 * after a reload too), and the two ways on from it. Sending the link again asks again for the same
 * address, which needs the password as the first request did; cancelling needs nothing more.
 */
function PendingChange({ account, pending, onChanged }: { account: Account; pending: string; onChanged: (account: Account) => void }) {
  const [password, setPassword] = useState('');
  const [status, setStatus] = useState<string | null>(null);
  const resend = useAction({ describeError: describeEmailError });
  const cancel = useAction();
  const busy = resend.busy || cancel.busy;
  return (
    <div class="stack" data-testid="pending-change">
      <p class="hint">
        We sent a link to {pending}. Open it, signed in to this account, within 15 minutes to make it your address; until then you sign in and
        receive mail at {account.email}.
      </p>
      <form
        class="stack narrow"
        aria-label="Send the link again"
        onSubmit={(event) => {
          event.preventDefault();
          setStatus(null);
          cancel.setError(null);
          void resend.run(async () => {
            const { pendingEmail } = await profileApi.requestEmailChange(pending, password || undefined);
            setPassword('');
            onChanged({ ...account, pendingEmail });
            setStatus(`A new link went to ${pendingEmail}; the earlier one no longer works.`);
          });
        }}
      >
        <input type="text" name="username" autocomplete="username" hidden readOnly value={account.email} />
        <TextField
          label="Current password"
          type="password"
          name="resend-password"
          autocomplete="current-password"
          maxLength={PASSWORD_MAX}
          value={password}
          onInput={setPassword}
          hint="Sending the link again needs your current password, as asking did (leave it empty if your account has none)."
        />
        <ErrorMessage error={resend.error ?? cancel.error} testId="pending-email-error" />
        <div class="actions">
          <button type="submit" class="secondary" disabled={busy}>
            Send the link again
          </button>
          <button
            type="button"
            class="secondary"
            disabled={busy}
            onClick={() => {
              setStatus(null);
              resend.setError(null);
              void cancel.run(async () => {
                await profileApi.cancelEmailChange();
                onChanged({ ...account, pendingEmail: null });
              });
            }}
          >
            Cancel this change
          </button>
        </div>
        <Status message={status} />
      </form>
    </div>
  );
}

function EmailPanel({ account, onChanged }: { account: Account; onChanged: (account: Account) => void }) {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  // What the page last did, said once the pending change it concerns has gone (cancelled).
  const [status, setStatus] = useState<string | null>(null);
  const [managed, setManaged] = useState(false);
  const { busy, error, setError, run } = useAction({ describeError: describeEmailError });
  const pending = account.pendingEmail;

  const submit = async () => {
    const wanted = email.trim();
    setStatus(null);
    if (!/^[^\s@]+@[^\s@]+$/.test(wanted)) {
      setError('Enter the new address, such as name@example.com.');
      return;
    }
    if (wanted.toLowerCase() === account.email.toLowerCase()) {
      setError('That is already your address.');
      return;
    }
    await run(async () => {
      try {
        const { pendingEmail } = await profileApi.requestEmailChange(wanted, password || undefined);
        onChanged({ ...account, pendingEmail });
        setEmail('');
        setPassword('');
      } catch (err) {
        if (err instanceof ApiError && err.code === 'email_managed') setManaged(true);
        throw err;
      }
    });
  };

  return (
    <Panel title="Email address" titleId="profile-email-title" testId="profile-email">
      <dl class="facts">
        <dt>Address</dt>
        <dd data-testid="profile-current-email">
          {account.email}{' '}
          {account.emailVerified ? <Badge tone="ok">verified</Badge> : <Badge tone="warn">not verified</Badge>}
        </dd>
        {pending && (
          <>
            <dt>Waiting for</dt>
            <dd data-testid="pending-email">
              {pending} <Badge tone="warn">not confirmed</Badge>
            </dd>
          </>
        )}
      </dl>
      {pending && (
        <PendingChange
          key={pending}
          account={account}
          pending={pending}
          onChanged={(updated) => {
            if (!updated.pendingEmail) setStatus(`The change to ${pending} was cancelled; its link no longer works.`);
            onChanged(updated);
          }}
        />
      )}
      <Status message={status} />
      {managed ? (
        <p class="notice" data-testid="email-managed">
          {EMAIL_MANAGED}
        </p>
      ) : (
        <>
          {pending && <h3 class="part-title">Or change to another address</h3>}
          <form
            class="stack narrow"
            aria-label="Change your email address"
            onSubmit={(event) => {
              event.preventDefault();
              void submit();
            }}
          >
            <input type="text" name="username" autocomplete="username" hidden readOnly value={account.email} />
            <TextField
              label="New email address"
              type="email"
              name="new-email"
              autocomplete="email"
              required
              maxLength={254}
              value={email}
              onInput={setEmail}
            />
            <TextField
              label="Current password"
              type="password"
              name="current-password"
              autocomplete="current-password"
              maxLength={PASSWORD_MAX}
              value={password}
              onInput={setPassword}
              hint="Leave it empty only if your account has no password (you sign in with an identity provider or a link)."
            />
            <ErrorMessage error={error} testId="profile-email-error" />
            <div class="actions">
              <button type="submit" disabled={busy}>
                Send a confirmation link
              </button>
            </div>
          </form>
        </>
      )}
    </Panel>
  );
}

export function ProfilePage({ session, onSessionChanged }: { session: Session; onSessionChanged: (session: Session) => void }) {
  const { account } = session;
  return (
    <div class="page-stack" data-testid="profile-page">
      <PageHeader
        title="Profile"
        description={
          <>
            Your account since <Time iso={account.createdAt} />.
          </>
        }
      />
      <NamePanel key={account.id} account={account} onChanged={(updated) => onSessionChanged({ ...session, account: updated })} />
      <EmailPanel key={account.email} account={account} onChanged={(updated) => onSessionChanged({ ...session, account: updated })} />
    </div>
  );
}

/**
 * The development mailbox (`/dev/mailbox`): the messages Rampart would have emailed, for an
 * instance in development mode without SMTP. Each message's text body is shown as text, with
 * its http(s) links made clickable; the HTML body is never put into the page.
 */
import { useEffect, useState } from 'preact/hooks';
import { api, ApiError, type MailboxItem } from '../api';
import { ErrorMessage } from '../components/ui';
import { Time } from '../components/time';
import { useAction } from '../hooks';
import { Link } from '../router';

const URL_PATTERN = /(https?:\/\/[^\s<>"']+)/g;

/** The text with each http(s) URL as a link; everything else stays text. */
function LinkifiedText({ text }: { text: string }) {
  const parts = text.split(URL_PATTERN);
  return (
    <pre class="mail-text" data-testid="mail-text">
      {parts.map((part, i) =>
        i % 2 === 1 ? (
          <a key={i} href={part} data-testid="mail-link" rel="noreferrer">
            {part}
          </a>
        ) : (
          part
        ),
      )}
    </pre>
  );
}

export function MailboxPage() {
  const [items, setItems] = useState<MailboxItem[] | null>(null);
  const [unavailable, setUnavailable] = useState(false);
  const { busy, error, run } = useAction();

  const load = () =>
    run(async () => {
      try {
        setItems((await api.devMailbox()).items);
      } catch (err) {
        if (err instanceof ApiError && err.status === 404) setUnavailable(true);
        else throw err;
      }
    });

  useEffect(() => {
    void load();
  }, []);

  return (
    <main class="page" id="main">
      <header class="page-header">
        <p class="brand">Rampart</p>
        <h1>Development mailbox</h1>
        <p class="notice" data-testid="dev-only-notice">
          Development only: this instance sends no email (no SMTP server is configured), so the messages it would have sent are
          listed here. This page does not exist in production.
        </p>
        <div class="actions">
          <button type="button" class="secondary" disabled={busy} onClick={() => void load()}>
            Refresh
          </button>
          <Link href="/">Back to the console</Link>
        </div>
      </header>
      <ErrorMessage error={error} />
      {unavailable && (
        <p class="empty" data-testid="mailbox-unavailable">
          The development mailbox is available only in development mode when no SMTP server is configured.
        </p>
      )}
      {items !== null && items.length === 0 && (
        <p class="empty" data-testid="mailbox-empty">
          No messages yet.
        </p>
      )}
      {items !== null && items.length > 0 && (
        <ol class="mailbox" data-testid="mailbox">
          {items.map((item) => (
            <li key={item.id} class="mail" data-testid="mail-item">
              <h2 data-testid="mail-subject">{item.subject}</h2>
              <p class="mail-meta">
                <span>
                  To <span data-testid="mail-to">{item.to}</span>
                </span>
                <Time iso={item.createdAt} />
                <span class="badge">{item.template}</span>
              </p>
              <LinkifiedText text={item.text} />
            </li>
          ))}
        </ol>
      )}
    </main>
  );
}

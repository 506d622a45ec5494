-- Mail: the outbox. A global table (no tenant_id): mail goes to accounts, which span workspaces.
--
-- A message is inserted in the transaction that creates what it carries (a single-use link), so
-- both commit or neither does. The relay claims due messages with FOR UPDATE SKIP LOCKED and a
-- lease (locked_until): a relay that dies mid-send leaves the message due again once the lease
-- ends. Bodies hold live links, so they are removed once a message is sent or has failed for
-- good (enforced below), and held messages (no SMTP configured) lose them after a day.

CREATE TABLE outbox (
  id uuid PRIMARY KEY,
  template text NOT NULL CHECK (template ~ '^[a-z][a-z0-9_]{0,63}$'),
  recipient text NOT NULL CHECK (length(recipient) BETWEEN 3 AND 254),
  subject text NOT NULL CHECK (length(subject) <= 998),
  text_body text,
  html_body text,
  -- pending: due at next_attempt_at; sending: claimed until locked_until; held: never sent
  -- (no SMTP when it was queued: its links will have expired by the time SMTP exists).
  status text NOT NULL CHECK (status IN ('pending', 'sending', 'sent', 'failed', 'held')),
  attempts integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  next_attempt_at timestamptz NOT NULL DEFAULT now(),
  locked_until timestamptz,
  -- An SMTP reply code and a short reply text, or an error code: never credentials or content.
  last_error text CHECK (length(last_error) <= 300),
  created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  sent_at timestamptz,
  CONSTRAINT outbox_scrubbed CHECK (status NOT IN ('sent', 'failed') OR (text_body IS NULL AND html_body IS NULL)),
  CONSTRAINT outbox_lease CHECK ((status = 'sending') = (locked_until IS NOT NULL))
);

-- What the relay looks for: due pending messages and expired leases.
CREATE INDEX outbox_due_idx ON outbox (next_attempt_at) WHERE status = 'pending';
CREATE INDEX outbox_lease_idx ON outbox (locked_until) WHERE status = 'sending';
-- The development mailbox, and the scrubbing of held bodies.
CREATE INDEX outbox_held_idx ON outbox (created_at) WHERE status = 'held' AND text_body IS NOT NULL;

-- Messages are only ever updated (claimed, sent, scrubbed), never deleted by the app.
GRANT SELECT, INSERT, UPDATE ON outbox TO rampart_app;

-- Rights requests (SQLite): the requests, their timeline, identity codes, the reminders already
-- sent, and the mail outbox. Dates are `YYYY-MM-DD` text (four-digit years, checked by the
-- store), which compares like the dates themselves; times are unix microseconds.

-- One row per request. The vocabulary (kind, channel, state) is checked in Rust through the
-- domain's enums; the state CHECK here backs up the closed_at rule below. AUTOINCREMENT so that
-- an id, once in a letter or a log line, is never handed out again.
CREATE TABLE request (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    reference        TEXT    NOT NULL UNIQUE,
    kind             TEXT    NOT NULL,
    channel          TEXT    NOT NULL,
    state            TEXT    NOT NULL,
    email            TEXT    NOT NULL,
    name             TEXT,
    lang             TEXT    NOT NULL,
    details          TEXT    NOT NULL,
    received         TEXT    NOT NULL CHECK (length(received) = 10),
    promised_due     TEXT    NOT NULL CHECK (length(promised_due) = 10 AND promised_due >= received),
    legal_due        TEXT    NOT NULL CHECK (length(legal_due) = 10 AND legal_due >= received),
    extended_due     TEXT    CHECK (length(extended_due) = 10 AND extended_due >= legal_due),
    extension_reason TEXT,
    policy_version   INTEGER NOT NULL REFERENCES policy_version (id),
    repeat_of        TEXT    REFERENCES request (reference),
    fee              TEXT,
    fee_reason       TEXT,
    verified_by      TEXT,
    verified_how     TEXT,
    forwarded_to     TEXT,
    created_at_us    INTEGER NOT NULL,
    updated_at_us    INTEGER NOT NULL,
    closed_at_us     INTEGER,
    CHECK (state IN ('received', 'awaiting_verification', 'verified', 'in_progress', 'waiting_for_tasks', 'completed', 'refused', 'forwarded', 'withdrawn', 'expired')),
    -- A request is closed exactly when it is in a closed state.
    CHECK ((closed_at_us IS NOT NULL) = (state IN ('completed', 'refused', 'forwarded', 'withdrawn', 'expired'))),
    CHECK ((extended_due IS NULL) = (extension_reason IS NULL)),
    CHECK (fee IS NULL OR fee_reason IS NOT NULL)
) STRICT;

-- Inbox lists: open requests by the deadline in force (the extended one if extended).
CREATE INDEX request_state_due ON request (state, COALESCE(extended_due, legal_due));
CREATE INDEX request_state_promised ON request (state, promised_due);
-- One person's requests, for repetition checks and access requests.
CREATE INDEX request_email ON request (email, received);

-- Each request's timeline: every step, who took it and why. Append-only, like the audit log.
CREATE TABLE request_event (
    seq        INTEGER PRIMARY KEY,
    request_id INTEGER NOT NULL REFERENCES request (id),
    at_us      INTEGER NOT NULL,
    actor      TEXT    NOT NULL,
    action     TEXT    NOT NULL,
    from_state TEXT,
    to_state   TEXT,
    note       TEXT
) STRICT;

CREATE INDEX request_event_request ON request_event (request_id, seq);

CREATE TRIGGER request_event_no_update BEFORE UPDATE ON request_event
BEGIN
    SELECT RAISE(ABORT, 'request_event is append-only');
END;

CREATE TRIGGER request_event_no_delete BEFORE DELETE ON request_event
BEGIN
    SELECT RAISE(ABORT, 'request_event is append-only');
END;

-- The identity code of each request: at most one active code, kept as a keyed hash only.
CREATE TABLE request_code (
    request_id   INTEGER PRIMARY KEY REFERENCES request (id),
    hash         BLOB    NOT NULL CHECK (length(hash) = 32),
    issued_at_us INTEGER NOT NULL,
    attempts     INTEGER NOT NULL CHECK (attempts >= 0),
    sends        INTEGER NOT NULL CHECK (sends >= 1),
    last_sent_us INTEGER NOT NULL
) STRICT;

-- Reminders already queued, so that each is sent once (kind names the deadline and its date).
CREATE TABLE request_reminder (
    request_id INTEGER NOT NULL REFERENCES request (id),
    kind       TEXT    NOT NULL,
    at_us      INTEGER NOT NULL,
    PRIMARY KEY (request_id, kind)
) STRICT, WITHOUT ROWID;

-- Letters to send. A letter is due while next_attempt_us is set (NULL once sent or given up),
-- and hidden from other workers while lease_until_us lies in the future.
CREATE TABLE mail_outbox (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    recipient       TEXT    NOT NULL,
    subject         TEXT    NOT NULL,
    body            TEXT    NOT NULL,
    kind            TEXT    NOT NULL,
    request_id      INTEGER REFERENCES request (id),
    created_at_us   INTEGER NOT NULL,
    next_attempt_us INTEGER,
    lease_until_us  INTEGER,
    attempts        INTEGER NOT NULL CHECK (attempts >= 0),
    sent_at_us      INTEGER,
    last_error      TEXT,
    CHECK (sent_at_us IS NULL OR next_attempt_us IS NULL)
) STRICT;

-- Only letters still to send: the index stays small however many were sent.
CREATE INDEX mail_outbox_due ON mail_outbox (next_attempt_us) WHERE next_attempt_us IS NOT NULL;
CREATE INDEX mail_outbox_request ON mail_outbox (request_id) WHERE request_id IS NOT NULL;

-- Rights requests (PostgreSQL). See the SQLite migration for the meaning of each table and
-- column; the two schemas hold the same data in the same forms (dates as `YYYY-MM-DD` text,
-- times as unix microseconds). Date columns use the "C" collation, so they compare byte by byte
-- (as on SQLite) whatever the database's locale.

CREATE TABLE request (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    reference        TEXT   NOT NULL UNIQUE,
    kind             TEXT   NOT NULL,
    channel          TEXT   NOT NULL,
    state            TEXT   NOT NULL,
    email            TEXT   NOT NULL,
    name             TEXT,
    lang             TEXT   NOT NULL,
    details          TEXT   NOT NULL,
    received         TEXT   COLLATE "C" NOT NULL CHECK (length(received) = 10),
    promised_due     TEXT   COLLATE "C" NOT NULL CHECK (length(promised_due) = 10 AND promised_due >= received),
    legal_due        TEXT   COLLATE "C" NOT NULL CHECK (length(legal_due) = 10 AND legal_due >= received),
    extended_due     TEXT   COLLATE "C" CHECK (length(extended_due) = 10 AND extended_due >= legal_due),
    extension_reason TEXT,
    policy_version   BIGINT NOT NULL REFERENCES policy_version (id),
    repeat_of        TEXT   REFERENCES request (reference),
    fee              TEXT,
    fee_reason       TEXT,
    verified_by      TEXT,
    verified_how     TEXT,
    forwarded_to     TEXT,
    created_at_us    BIGINT NOT NULL,
    updated_at_us    BIGINT NOT NULL,
    closed_at_us     BIGINT,
    CHECK (state IN ('received', 'awaiting_verification', 'verified', 'in_progress', 'waiting_for_tasks', 'completed', 'refused', 'forwarded', 'withdrawn', 'expired')),
    CHECK ((closed_at_us IS NOT NULL) = (state IN ('completed', 'refused', 'forwarded', 'withdrawn', 'expired'))),
    CHECK ((extended_due IS NULL) = (extension_reason IS NULL)),
    CHECK (fee IS NULL OR fee_reason IS NOT NULL)
);

-- The list queries compare the deadline in force, so the index is on that expression.
CREATE INDEX request_state_due ON request (state, (COALESCE(extended_due, legal_due)));
CREATE INDEX request_state_promised ON request (state, promised_due);
CREATE INDEX request_email ON request (email, received);

CREATE TABLE request_event (
    seq        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    request_id BIGINT NOT NULL REFERENCES request (id),
    at_us      BIGINT NOT NULL,
    actor      TEXT   NOT NULL,
    action     TEXT   NOT NULL,
    from_state TEXT,
    to_state   TEXT,
    note       TEXT
);

CREATE INDEX request_event_request ON request_event (request_id, seq);

CREATE FUNCTION request_event_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'request_event is append-only';
END;
$$;

CREATE TRIGGER request_event_no_change BEFORE UPDATE OR DELETE ON request_event
    FOR EACH ROW EXECUTE FUNCTION request_event_append_only();

CREATE TRIGGER request_event_no_truncate BEFORE TRUNCATE ON request_event
    FOR EACH STATEMENT EXECUTE FUNCTION request_event_append_only();

CREATE TABLE request_code (
    request_id   BIGINT PRIMARY KEY REFERENCES request (id),
    hash         BYTEA  NOT NULL CHECK (octet_length(hash) = 32),
    issued_at_us BIGINT NOT NULL,
    attempts     BIGINT NOT NULL CHECK (attempts >= 0),
    sends        BIGINT NOT NULL CHECK (sends >= 1),
    last_sent_us BIGINT NOT NULL
);

CREATE TABLE request_reminder (
    request_id BIGINT NOT NULL REFERENCES request (id),
    kind       TEXT   NOT NULL,
    at_us      BIGINT NOT NULL,
    PRIMARY KEY (request_id, kind)
);

CREATE TABLE mail_outbox (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    recipient       TEXT   NOT NULL,
    subject         TEXT   NOT NULL,
    body            TEXT   NOT NULL,
    kind            TEXT   NOT NULL,
    request_id      BIGINT REFERENCES request (id),
    created_at_us   BIGINT NOT NULL,
    next_attempt_us BIGINT,
    lease_until_us  BIGINT,
    attempts        BIGINT NOT NULL CHECK (attempts >= 0),
    sent_at_us      BIGINT,
    last_error      TEXT,
    CHECK (sent_at_us IS NULL OR next_attempt_us IS NULL)
);

CREATE INDEX mail_outbox_due ON mail_outbox (next_attempt_us) WHERE next_attempt_us IS NOT NULL;
CREATE INDEX mail_outbox_request ON mail_outbox (request_id) WHERE request_id IS NOT NULL;

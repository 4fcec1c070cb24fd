-- The consent ledger (PostgreSQL). See the SQLite migration for the meaning of each column.

CREATE TABLE consent_event (
    seq            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at_us          BIGINT  NOT NULL,
    subject        TEXT    NOT NULL,
    target         TEXT    NOT NULL,
    granted        BOOLEAN NOT NULL,
    method         TEXT    NOT NULL,
    policy_version BIGINT  NOT NULL REFERENCES policy_version (id),
    wording_hash   TEXT,
    gpc            BOOLEAN NOT NULL,
    source         TEXT,
    recorded_by    TEXT,
    user_agent     TEXT,
    ip_prefix      TEXT,
    expires_at_us  BIGINT
);

CREATE INDEX consent_event_subject ON consent_event (subject, seq);

CREATE FUNCTION consent_event_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'consent_event is append-only';
END;
$$;

CREATE TRIGGER consent_event_no_change BEFORE UPDATE OR DELETE ON consent_event
    FOR EACH ROW EXECUTE FUNCTION consent_event_append_only();

CREATE TRIGGER consent_event_no_truncate BEFORE TRUNCATE ON consent_event
    FOR EACH STATEMENT EXECUTE FUNCTION consent_event_append_only();

CREATE TABLE consent_state (
    subject       TEXT    NOT NULL,
    target        TEXT    NOT NULL,
    granted       BOOLEAN NOT NULL,
    since_us      BIGINT  NOT NULL,
    event_seq     BIGINT  NOT NULL,
    expires_at_us BIGINT,
    PRIMARY KEY (subject, target)
);

CREATE TABLE consent_link (
    subject TEXT PRIMARY KEY,
    person  TEXT NOT NULL
);

CREATE INDEX consent_link_person ON consent_link (person);

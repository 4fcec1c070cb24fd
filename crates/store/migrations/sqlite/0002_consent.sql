-- The consent ledger (SQLite).

-- Every consent decision ever recorded, in commit order. Append-only: a withdrawal is a new
-- event with granted = 0. Subjects are `kind:value` keys (visitor id, e-mail, phone, customer
-- id); targets are `purpose:<id>` or `cookies:<category id>`.
CREATE TABLE consent_event (
    seq            INTEGER PRIMARY KEY,
    at_us          INTEGER NOT NULL,
    subject        TEXT    NOT NULL,
    target         TEXT    NOT NULL,
    granted        INTEGER NOT NULL CHECK (granted IN (0, 1)),
    method         TEXT    NOT NULL,
    policy_version INTEGER NOT NULL REFERENCES policy_version (id),
    wording_hash   TEXT,
    gpc            INTEGER NOT NULL CHECK (gpc IN (0, 1)),
    source         TEXT,
    recorded_by    TEXT,
    user_agent     TEXT,
    ip_prefix      TEXT,
    expires_at_us  INTEGER
) STRICT;

CREATE INDEX consent_event_subject ON consent_event (subject, seq);

CREATE TRIGGER consent_event_no_update BEFORE UPDATE ON consent_event
BEGIN
    SELECT RAISE(ABORT, 'consent_event is append-only');
END;

CREATE TRIGGER consent_event_no_delete BEFORE DELETE ON consent_event
BEGIN
    SELECT RAISE(ABORT, 'consent_event is append-only');
END;

-- The current state per subject and target, derived from the ledger in the same transaction
-- as each event (the newest event wins), so a consent check is one indexed read.
CREATE TABLE consent_state (
    subject       TEXT    NOT NULL,
    target        TEXT    NOT NULL,
    granted       INTEGER NOT NULL CHECK (granted IN (0, 1)),
    since_us      INTEGER NOT NULL,
    event_seq     INTEGER NOT NULL,
    expires_at_us INTEGER,
    PRIMARY KEY (subject, target)
) STRICT, WITHOUT ROWID;

-- Subjects known to be the same person (a visitor id that submitted a form with an e-mail
-- address). Every subject of a person shares one `person` value.
CREATE TABLE consent_link (
    subject TEXT PRIMARY KEY,
    person  TEXT NOT NULL
) STRICT, WITHOUT ROWID;

CREATE INDEX consent_link_person ON consent_link (person);

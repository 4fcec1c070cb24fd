-- Policy versions and the audit hash chain (SQLite).
-- Times are unix microseconds in *_us columns, the same as on PostgreSQL.

-- Every policy that was ever loaded. AUTOINCREMENT so that an id, once referred to by a consent
-- or a notice, is never handed out again.
CREATE TABLE policy_version (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    hash            TEXT    NOT NULL CHECK (length(hash) = 64),
    content         TEXT    NOT NULL,
    label           TEXT    NOT NULL,
    activated_at_us INTEGER NOT NULL
) STRICT;

-- The append-only audit log. `details` is TEXT (not a JSON type) because the hash covers its
-- exact bytes.
CREATE TABLE audit_log (
    seq       INTEGER PRIMARY KEY,
    at_us     INTEGER NOT NULL,
    actor     TEXT    NOT NULL,
    action    TEXT    NOT NULL,
    subject   TEXT    NOT NULL,
    details   TEXT    NOT NULL,
    prev_hash BLOB    NOT NULL CHECK (length(prev_hash) = 32),
    hash      BLOB    NOT NULL CHECK (length(hash) = 32)
) STRICT;

CREATE INDEX audit_log_subject ON audit_log (subject, seq);

-- Seq and hash of the newest entry, updated in the same transaction as every append. Deleting
-- the newest entries leaves a chain that verifies on its own; comparing with this row catches it.
-- Seq 0 with a zero hash means "nothing written yet".
CREATE TABLE audit_head (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seq  INTEGER NOT NULL,
    hash BLOB    NOT NULL CHECK (length(hash) = 32)
) STRICT;

INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, zeroblob(32));

-- Append-only, enforced by the database so that no code path (or careless manual query) edits
-- history. Someone with full access can drop these triggers; the hash chain is what catches that.
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;

CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;

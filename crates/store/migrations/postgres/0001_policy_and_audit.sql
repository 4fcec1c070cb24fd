-- Policy versions and the audit hash chain (PostgreSQL).
-- Times are unix microseconds in *_us columns, the same as on SQLite.

-- Every policy that was ever loaded.
CREATE TABLE policy_version (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    hash            TEXT   NOT NULL CHECK (length(hash) = 64),
    content         TEXT   NOT NULL,
    label           TEXT   NOT NULL,
    activated_at_us BIGINT NOT NULL
);

-- The append-only audit log. `details` is TEXT (not JSONB, which would re-format it) because
-- the hash covers its exact bytes.
CREATE TABLE audit_log (
    seq       BIGINT PRIMARY KEY,
    at_us     BIGINT NOT NULL,
    actor     TEXT   NOT NULL,
    action    TEXT   NOT NULL,
    subject   TEXT   NOT NULL,
    details   TEXT   NOT NULL,
    prev_hash BYTEA  NOT NULL CHECK (octet_length(prev_hash) = 32),
    hash      BYTEA  NOT NULL CHECK (octet_length(hash) = 32)
);

CREATE INDEX audit_log_subject ON audit_log (subject, seq);

-- Seq and hash of the newest entry, updated in the same transaction as every append. Appends
-- lock this row (SELECT ... FOR UPDATE), which is what serialises writers across ombud nodes
-- sharing the database. Seq 0 with a zero hash means "nothing written yet".
CREATE TABLE audit_head (
    id   SMALLINT PRIMARY KEY CHECK (id = 1),
    seq  BIGINT   NOT NULL,
    hash BYTEA    NOT NULL CHECK (octet_length(hash) = 32)
);

INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, decode(repeat('00', 32), 'hex'));

-- Append-only, enforced by the database so that no code path (or careless manual query) edits
-- history. Someone with full access can drop these triggers; the hash chain is what catches that.
CREATE FUNCTION audit_log_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only';
END;
$$;

CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();

CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();

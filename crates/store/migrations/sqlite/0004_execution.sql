-- Carrying out rights requests (SQLite): execution jobs with leases and checkpoints, manual
-- tasks, export packages and restrictions of processing. Times are unix microseconds.

-- One row per execution of a request (`kind` names what the engine does, e.g. `access`).
-- spec, checkpoint and result are JSON text owned by the engine; the store limits their size
-- (1 MiB, checked in Rust as well) but never parses them. Sizes are in bytes: `length` of a
-- BLOB, since `octet_length` needs SQLite 3.43, newer than many sqlite3 shells. A job is running
-- exactly while someone holds its lease; a lease that lies in the past may be taken over.
-- AUTOINCREMENT so that an id, once in a log line, is never handed out again.
CREATE TABLE execution_job (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    request_id     INTEGER NOT NULL REFERENCES request (id),
    kind           TEXT    NOT NULL,
    state          TEXT    NOT NULL,
    spec           TEXT    NOT NULL CHECK (length(CAST(spec AS BLOB)) <= 1048576),
    checkpoint     TEXT    CHECK (length(CAST(checkpoint AS BLOB)) <= 1048576),
    result         TEXT    CHECK (length(CAST(result AS BLOB)) <= 1048576),
    error          TEXT    CHECK (length(CAST(error AS BLOB)) <= 1024),
    attempts       INTEGER NOT NULL CHECK (attempts >= 0),
    lease_owner    TEXT,
    lease_until_us INTEGER,
    not_before_us  INTEGER,
    created_at_us  INTEGER NOT NULL,
    updated_at_us  INTEGER NOT NULL,
    finished_at_us INTEGER,
    CHECK (state IN ('queued', 'running', 'done', 'failed')),
    -- Finished (done, or failed = given up) exactly when finished_at is set.
    CHECK ((finished_at_us IS NOT NULL) = (state IN ('done', 'failed'))),
    -- A lease is an owner and an end, together, and only a running job has one.
    CHECK ((lease_owner IS NULL) = (lease_until_us IS NULL)),
    CHECK ((lease_owner IS NOT NULL) = (state = 'running'))
) STRICT;

-- At most one unfinished job per request and kind: creating it again finds this one.
CREATE UNIQUE INDEX execution_job_unfinished ON execution_job (request_id, kind)
    WHERE state IN ('queued', 'running');
-- lease_job's pick: unfinished jobs only, so the index stays small however many have finished.
CREATE INDEX execution_job_pick ON execution_job (state, not_before_us, id)
    WHERE state IN ('queued', 'running');
CREATE INDEX execution_job_request ON execution_job (request_id, id);

-- Work in systems that have no connector (HubSpot, Mailchimp): staff do it by hand and tick
-- it off, and the request closes only when every task is done. One task per request and
-- system. `system` is a policy id; title, instructions and note may describe the person.
CREATE TABLE request_task (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    request_id    INTEGER NOT NULL REFERENCES request (id),
    system        TEXT    NOT NULL,
    title         TEXT    NOT NULL,
    instructions  TEXT    NOT NULL,
    created_at_us INTEGER NOT NULL,
    done_at_us    INTEGER,
    done_by       TEXT,
    note          TEXT,
    UNIQUE (request_id, system),
    CHECK ((done_at_us IS NULL) = (done_by IS NULL)),
    CHECK (done_at_us IS NOT NULL OR note IS NULL)
) STRICT;

-- Export packages: encrypted files on disk. The store keeps where, how big, and the SHA-256
-- of the download token (never the token).
CREATE TABLE export_package (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    request_id          INTEGER NOT NULL REFERENCES request (id),
    path                TEXT    NOT NULL,
    size                INTEGER NOT NULL CHECK (size >= 0),
    token_hash          BLOB    NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    created_at_us       INTEGER NOT NULL,
    expires_at_us       INTEGER NOT NULL CHECK (expires_at_us > created_at_us),
    downloads           INTEGER NOT NULL CHECK (downloads >= 0),
    last_download_at_us INTEGER,
    deleted_at_us       INTEGER,
    CHECK ((downloads = 0) = (last_download_at_us IS NULL))
) STRICT;

CREATE INDEX export_package_request ON export_package (request_id, id);
-- The clean-up job's pick: packages still on disk, by expiry.
CREATE INDEX export_package_expiry ON export_package (expires_at_us, id)
    WHERE deleted_at_us IS NULL;

-- Restrictions of processing (Art. 18), by subject key (`kind:value`, canonical: e-mail
-- addresses lowercased). A restriction is active until lifted; lifting keeps the row as history,
-- and restricting again adds a new one.
CREATE TABLE subject_restriction (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    subject      TEXT    NOT NULL,
    request_id   INTEGER REFERENCES request (id),
    since_us     INTEGER NOT NULL,
    lifted_at_us INTEGER
) STRICT;

-- One active restriction per subject; also the consent check's one-row lookup.
CREATE UNIQUE INDEX subject_restriction_active ON subject_restriction (subject)
    WHERE lifted_at_us IS NULL;
CREATE INDEX subject_restriction_subject ON subject_restriction (subject, id);

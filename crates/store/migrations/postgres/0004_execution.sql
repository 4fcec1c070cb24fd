-- Carrying out rights requests (PostgreSQL): execution jobs with leases and checkpoints, manual
-- tasks, export packages and restrictions of processing. See the SQLite migration for the
-- meaning of each table and column; the two schemas hold the same data in the same forms.

CREATE TABLE execution_job (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    request_id     BIGINT NOT NULL REFERENCES request (id),
    kind           TEXT   NOT NULL,
    state          TEXT   NOT NULL,
    spec           TEXT   NOT NULL CHECK (octet_length(spec) <= 1048576),
    checkpoint     TEXT   CHECK (octet_length(checkpoint) <= 1048576),
    result         TEXT   CHECK (octet_length(result) <= 1048576),
    error          TEXT   CHECK (octet_length(error) <= 1024),
    attempts       BIGINT NOT NULL CHECK (attempts >= 0),
    lease_owner    TEXT,
    lease_until_us BIGINT,
    not_before_us  BIGINT,
    created_at_us  BIGINT NOT NULL,
    updated_at_us  BIGINT NOT NULL,
    finished_at_us BIGINT,
    CHECK (state IN ('queued', 'running', 'done', 'failed')),
    CHECK ((finished_at_us IS NOT NULL) = (state IN ('done', 'failed'))),
    CHECK ((lease_owner IS NULL) = (lease_until_us IS NULL)),
    CHECK ((lease_owner IS NOT NULL) = (state = 'running'))
);

CREATE UNIQUE INDEX execution_job_unfinished ON execution_job (request_id, kind)
    WHERE state IN ('queued', 'running');
-- lease_job picks with FOR UPDATE SKIP LOCKED: concurrent nodes pass over each other's picks.
CREATE INDEX execution_job_pick ON execution_job (state, not_before_us, id)
    WHERE state IN ('queued', 'running');
CREATE INDEX execution_job_request ON execution_job (request_id, id);

CREATE TABLE request_task (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    request_id    BIGINT NOT NULL REFERENCES request (id),
    system        TEXT   NOT NULL,
    title         TEXT   NOT NULL,
    instructions  TEXT   NOT NULL,
    created_at_us BIGINT NOT NULL,
    done_at_us    BIGINT,
    done_by       TEXT,
    note          TEXT,
    UNIQUE (request_id, system),
    CHECK ((done_at_us IS NULL) = (done_by IS NULL)),
    CHECK (done_at_us IS NOT NULL OR note IS NULL)
);

CREATE TABLE export_package (
    id                  BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    request_id          BIGINT NOT NULL REFERENCES request (id),
    path                TEXT   NOT NULL,
    size                BIGINT NOT NULL CHECK (size >= 0),
    token_hash          BYTEA  NOT NULL UNIQUE CHECK (octet_length(token_hash) = 32),
    created_at_us       BIGINT NOT NULL,
    expires_at_us       BIGINT NOT NULL CHECK (expires_at_us > created_at_us),
    downloads           BIGINT NOT NULL CHECK (downloads >= 0),
    last_download_at_us BIGINT,
    deleted_at_us       BIGINT,
    CHECK ((downloads = 0) = (last_download_at_us IS NULL))
);

CREATE INDEX export_package_request ON export_package (request_id, id);
CREATE INDEX export_package_expiry ON export_package (expires_at_us, id)
    WHERE deleted_at_us IS NULL;

CREATE TABLE subject_restriction (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    subject      TEXT   NOT NULL,
    request_id   BIGINT REFERENCES request (id),
    since_us     BIGINT NOT NULL,
    lifted_at_us BIGINT
);

-- One active restriction per subject, and the consent check's one-row lookup (the PostgreSQL
-- store keeps no copy in memory: other nodes restrict too).
CREATE UNIQUE INDEX subject_restriction_active ON subject_restriction (subject)
    WHERE lifted_at_us IS NULL;
CREATE INDEX subject_restriction_subject ON subject_restriction (subject, id);

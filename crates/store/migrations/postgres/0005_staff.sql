-- Staff accounts (PostgreSQL): users with roles, one-time setup tokens, recovery codes,
-- sessions and API tokens. See the SQLite migration for the meaning of each table and column;
-- the two schemas hold the same data in the same forms. The TOTP secret is stored as plain
-- bytes until encryption at rest arrives.

CREATE TABLE staff_user (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email           TEXT   NOT NULL UNIQUE CHECK (email = lower(email) AND length(email) <= 320),
    role            TEXT   NOT NULL CHECK (role IN ('admin', 'privacy_officer', 'viewer')),
    password_hash   TEXT   CHECK (length(password_hash) <= 512),
    totp_secret     BYTEA  CHECK (octet_length(totp_secret) BETWEEN 16 AND 64),
    totp_last_step  BIGINT CHECK (totp_last_step >= 0),
    failed_logins   BIGINT NOT NULL DEFAULT 0 CHECK (failed_logins >= 0),
    locked_until_us BIGINT,
    created_at_us   BIGINT NOT NULL,
    disabled_at_us  BIGINT
);

CREATE TABLE staff_setup_token (
    token_hash    BYTEA  PRIMARY KEY CHECK (octet_length(token_hash) = 32),
    user_id       BIGINT NOT NULL REFERENCES staff_user (id),
    created_at_us BIGINT NOT NULL,
    expires_at_us BIGINT NOT NULL CHECK (expires_at_us > created_at_us),
    used_at_us    BIGINT
);

CREATE INDEX staff_setup_token_user ON staff_setup_token (user_id);

CREATE TABLE staff_recovery_code (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id       BIGINT NOT NULL REFERENCES staff_user (id),
    code_hash     BYTEA  NOT NULL CHECK (octet_length(code_hash) = 32),
    created_at_us BIGINT NOT NULL,
    used_at_us    BIGINT,
    UNIQUE (user_id, code_hash)
);

CREATE TABLE staff_session (
    id_hash       BYTEA  PRIMARY KEY CHECK (octet_length(id_hash) = 32),
    user_id       BIGINT NOT NULL REFERENCES staff_user (id),
    created_at_us BIGINT NOT NULL,
    last_seen_us  BIGINT NOT NULL,
    expires_at_us BIGINT NOT NULL CHECK (expires_at_us > created_at_us),
    revoked_at_us BIGINT
);

CREATE INDEX staff_session_user ON staff_session (user_id);

CREATE TABLE api_token (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name            TEXT   NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    token_hash      BYTEA  NOT NULL UNIQUE CHECK (octet_length(token_hash) = 32),
    scopes          TEXT   NOT NULL,
    created_by      TEXT   NOT NULL,
    created_at_us   BIGINT NOT NULL,
    last_used_at_us BIGINT,
    revoked_at_us   BIGINT
);

-- Staff accounts (SQLite): users with roles, one-time setup tokens, recovery codes, sessions
-- and API tokens. Times are unix microseconds. Every secret is kept as its SHA-256 (setup
-- tokens, recovery codes, session ids, API tokens) or as an argon2id hash (passwords), never
-- in the clear, with one exception for now: the TOTP secret, which the server needs to compute
-- codes. It is stored as plain bytes until encryption at rest arrives (issue 6, hardening).

-- A staff member. `email` is the canonical form (trimmed, lowercase), so addresses are unique
-- whatever their case. password_hash is NULL until the member has used their setup link;
-- totp_secret is NULL until they have enrolled an authenticator. totp_last_step is the last
-- TOTP time step accepted: a login's step must be greater (compare-and-set), so a code is
-- never accepted twice. failed_logins counts wrong tries since the last success;
-- locked_until_us refuses logins until then.
CREATE TABLE staff_user (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    email           TEXT    NOT NULL UNIQUE CHECK (email = lower(email) AND length(email) <= 320),
    role            TEXT    NOT NULL CHECK (role IN ('admin', 'privacy_officer', 'viewer')),
    password_hash   TEXT    CHECK (length(password_hash) <= 512),
    totp_secret     BLOB    CHECK (length(totp_secret) BETWEEN 16 AND 64),
    totp_last_step  INTEGER CHECK (totp_last_step >= 0),
    failed_logins   INTEGER NOT NULL DEFAULT 0 CHECK (failed_logins >= 0),
    locked_until_us INTEGER,
    created_at_us   INTEGER NOT NULL,
    disabled_at_us  INTEGER
) STRICT;

-- The one-time link a new member sets their password and second factor with. Used at most
-- once, and not after it expires.
CREATE TABLE staff_setup_token (
    token_hash    BLOB    PRIMARY KEY CHECK (length(token_hash) = 32),
    user_id       INTEGER NOT NULL REFERENCES staff_user (id),
    created_at_us INTEGER NOT NULL,
    expires_at_us INTEGER NOT NULL CHECK (expires_at_us > created_at_us),
    used_at_us    INTEGER
) STRICT;

CREATE INDEX staff_setup_token_user ON staff_setup_token (user_id);

-- One-time recovery codes, replaced as a set at each enrolment.
CREATE TABLE staff_recovery_code (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id       INTEGER NOT NULL REFERENCES staff_user (id),
    code_hash     BLOB    NOT NULL CHECK (length(code_hash) = 32),
    created_at_us INTEGER NOT NULL,
    used_at_us    INTEGER,
    UNIQUE (user_id, code_hash)
) STRICT;

-- Console sessions, by the SHA-256 of the id in the cookie. A session ends at expires_at_us
-- (absolute timeout), after too long since last_seen_us (idle timeout, decided by the caller)
-- or when revoked (logout).
CREATE TABLE staff_session (
    id_hash       BLOB    PRIMARY KEY CHECK (length(id_hash) = 32),
    user_id       INTEGER NOT NULL REFERENCES staff_user (id),
    created_at_us INTEGER NOT NULL,
    last_seen_us  INTEGER NOT NULL,
    expires_at_us INTEGER NOT NULL CHECK (expires_at_us > created_at_us),
    revoked_at_us INTEGER
) STRICT;

CREATE INDEX staff_session_user ON staff_session (user_id);

-- API tokens: a name for people, the scopes (canonical, space-separated), and the SHA-256 of
-- the token, which is shown once when it is created.
CREATE TABLE api_token (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    name            TEXT    NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    token_hash      BLOB    NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    scopes          TEXT    NOT NULL,
    created_by      TEXT    NOT NULL,
    created_at_us   INTEGER NOT NULL,
    last_used_at_us INTEGER,
    revoked_at_us   INTEGER
) STRICT;

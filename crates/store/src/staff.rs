//! Staff accounts: users with roles, their one-time setup tokens, recovery codes and console
//! sessions, and the API tokens.
//!
//! The store keeps hashes of every bearer secret (SHA-256 of setup tokens, recovery codes,
//! session ids and API tokens; see [`ombud_domain::staff::secret_hash`]) and the argon2id hash
//! of each password, never the secrets themselves. The one exception is the **TOTP secret**,
//! which the server needs in the clear to compute codes: it is sealed at rest with the store's
//! keyring ([`crate::seal`], bound to the user's id) and opened when a user is read, so callers
//! see plain bytes in [`StaffUser::totp_secret`] and never handle the sealed form.
//!
//! A TOTP step is recorded by compare-and-set ([`crate::Store::record_totp_step`]): it succeeds
//! only for a step newer than the last one accepted, so one code can't log in twice, even when
//! two logins race with it on different nodes. Setup tokens and recovery codes are used by
//! compare-and-set too.
//!
//! Creating a user and creating or revoking an API token append an audit entry in the same
//! transaction. Those entries name the user or token by id, with the role, token name and
//! scopes, never an address, hash or secret.
//!
//! The SQL is written once, in `staff_queries!`, and instantiated for each backend.

use std::fmt;

use jiff::Timestamp;
use ombud_domain::policy::Keyword;
use ombud_domain::staff::{Role, Scopes};

use crate::StoreError;
use crate::requests::Audit;

/// Longest stored e-mail address.
pub const MAX_EMAIL: usize = 320;
/// Longest stored password hash (a PHC string).
pub const MAX_PASSWORD_HASH: usize = 512;
/// Shortest and longest TOTP secret, in bytes.
pub const TOTP_SECRET_BYTES: std::ops::RangeInclusive<usize> = 16..=64;
/// Longest API token name.
pub const MAX_TOKEN_NAME: usize = 200;
/// Most recovery codes per user.
pub const MAX_RECOVERY_CODES: usize = 20;

/// Prints `[redacted]` in place of a secret or an address.
struct Redacted;

impl fmt::Debug for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// A staff member to create, with the hash of their one-time setup token.
#[derive(Clone, Copy)]
pub struct NewStaffUser<'a> {
    /// The canonical address (see [`ombud_domain::staff::canonical_email`]).
    pub email: &'a str,
    pub role: Role,
    /// SHA-256 of the setup token; the token is shown once and never stored.
    pub setup_token_hash: &'a [u8; 32],
    /// When the setup link stops working; must lie in the future.
    pub setup_expires_at: Timestamp,
    /// Who created the user, for the audit log (e.g. `cli:ann`, `user:3`).
    pub actor: &'a str,
}

/// Debug output leaves out the address and the token hash.
impl fmt::Debug for NewStaffUser<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewStaffUser")
            .field("email", &Redacted)
            .field("role", &self.role)
            .field("setup_token_hash", &Redacted)
            .field("setup_expires_at", &self.setup_expires_at)
            .field("actor", &self.actor)
            .finish()
    }
}

/// A stored staff member.
#[derive(Clone, PartialEq, Eq)]
pub struct StaffUser {
    pub id: i64,
    /// Canonical (lowercase).
    pub email: String,
    pub role: Role,
    /// The argon2id PHC string; `None` until set up.
    pub password_hash: Option<String>,
    /// The TOTP secret, in clear (sealed at rest, opened when read); `None` until enrolled.
    pub totp_secret: Option<Vec<u8>>,
    /// The last TOTP time step accepted.
    pub totp_last_step: Option<u64>,
    /// Wrong logins since the last successful one.
    pub failed_logins: u32,
    /// No login is accepted before this time.
    pub locked_until: Option<Timestamp>,
    pub created_at: Timestamp,
    pub disabled_at: Option<Timestamp>,
}

impl StaffUser {
    /// Whether the member has a password and a second factor, and so can log in.
    pub fn is_set_up(&self) -> bool {
        self.password_hash.is_some() && self.totp_secret.is_some()
    }
}

/// Debug output leaves out the address, the password hash and the TOTP secret.
impl fmt::Debug for StaffUser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StaffUser")
            .field("id", &self.id)
            .field("email", &Redacted)
            .field("role", &self.role)
            .field(
                "password_hash",
                &self.password_hash.as_ref().map(|_| Redacted),
            )
            .field("totp_secret", &self.totp_secret.as_ref().map(|_| Redacted))
            .field("totp_last_step", &self.totp_last_step)
            .field("failed_logins", &self.failed_logins)
            .field("locked_until", &self.locked_until)
            .field("created_at", &self.created_at)
            .field("disabled_at", &self.disabled_at)
            .finish()
    }
}

/// A console session that is still valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub user_id: i64,
    pub created_at: Timestamp,
    pub last_seen: Timestamp,
    pub expires_at: Timestamp,
}

/// An API token to create.
#[derive(Clone, Copy)]
pub struct NewApiToken<'a> {
    /// A name for people, e.g. `crm sync` (1 to 200 bytes, no NUL).
    pub name: &'a str,
    /// SHA-256 of the token, which is shown once and never stored.
    pub token_hash: &'a [u8; 32],
    pub scopes: &'a Scopes,
    /// Who created it, for the audit log.
    pub actor: &'a str,
}

/// Debug output leaves out the token hash.
impl fmt::Debug for NewApiToken<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewApiToken")
            .field("name", &self.name)
            .field("token_hash", &Redacted)
            .field("scopes", &self.scopes)
            .field("actor", &self.actor)
            .finish()
    }
}

/// A stored API token (without its hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiToken {
    pub id: i64,
    pub name: String,
    pub scopes: Scopes,
    pub created_by: String,
    pub created_at: Timestamp,
    pub last_used_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
}

impl ApiToken {
    pub fn is_active(&self) -> bool {
        self.revoked_at.is_none()
    }
}

fn fits(s: &str, max: usize) -> bool {
    s.len() <= max && !s.contains('\0')
}

pub(crate) fn check_new_user(u: &NewStaffUser<'_>, now_us: i64) -> Result<(), StoreError> {
    let canonical = ombud_domain::staff::canonical_email(u.email);
    if canonical.as_deref() != Some(u.email) || !fits(u.email, MAX_EMAIL) {
        return Err(StoreError::Invalid(
            "a staff e-mail address must be valid, trimmed and lowercase",
        ));
    }
    if u.setup_expires_at.as_microsecond() <= now_us {
        return Err(StoreError::Invalid(
            "a setup token must expire in the future",
        ));
    }
    crate::requests::check_actor(u.actor)
}

pub(crate) fn check_password_hash(phc: &str) -> Result<(), StoreError> {
    if !phc.starts_with('$') || !fits(phc, MAX_PASSWORD_HASH) {
        return Err(StoreError::Invalid(
            "a password hash must be a PHC string of at most 512 bytes",
        ));
    }
    Ok(())
}

pub(crate) fn check_totp_secret(secret: &[u8]) -> Result<(), StoreError> {
    if !TOTP_SECRET_BYTES.contains(&secret.len()) {
        return Err(StoreError::Invalid("a TOTP secret must be 16 to 64 bytes"));
    }
    Ok(())
}

pub(crate) fn check_recovery_codes(hashes: &[[u8; 32]]) -> Result<(), StoreError> {
    if hashes.len() > MAX_RECOVERY_CODES {
        return Err(StoreError::Invalid("at most 20 recovery codes"));
    }
    let mut sorted = hashes.to_vec();
    sorted.sort();
    sorted.dedup();
    if sorted.len() != hashes.len() {
        return Err(StoreError::Invalid("recovery codes must differ"));
    }
    Ok(())
}

pub(crate) fn check_new_token(t: &NewApiToken<'_>) -> Result<(), StoreError> {
    if t.name.trim().is_empty() || !fits(t.name, MAX_TOKEN_NAME) {
        return Err(StoreError::Invalid(
            "a token name must be 1 to 200 bytes, without NUL",
        ));
    }
    crate::requests::check_actor(t.actor)
}

/// What a sealed TOTP secret is bound to: its user's row.
pub(crate) fn totp_context(user_id: i64) -> Vec<u8> {
    format!("staff_user.totp_secret:{user_id}").into_bytes()
}

/// What [`crate::Store::reseal_totp_secrets`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Resealed {
    /// Secrets that were under a previous key and are now under the current one.
    pub resealed: u64,
    /// Secrets that were under the current key already.
    pub already_current: u64,
}

/// How many sealed TOTP secrets each key holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SealedCounts {
    pub by_key: std::collections::BTreeMap<crate::seal::KeyId, u64>,
    /// Values without a sealed header (clear text written outside ombud, or damaged).
    pub unsealed: u64,
}

/// A TOTP step as stored: it must fit the column.
pub(crate) fn stored_step(step: u64) -> Result<i64, StoreError> {
    i64::try_from(step).map_err(|_| StoreError::Invalid("a TOTP step must fit in 63 bits"))
}

/// Action of the audit entry written when a staff user is created.
pub(crate) const USER_CREATED: &str = "staff.user_created";
/// Action of the audit entry written when an API token is created.
pub(crate) const TOKEN_CREATED: &str = "api_token.created";
/// Action of the audit entry written when an API token is revoked.
pub(crate) const TOKEN_REVOKED: &str = "api_token.revoked";

/// `staff.user_created` on `staff:<id>`, with the role: never the address or the token.
pub(crate) fn user_created_audit(id: i64, role: Role) -> Audit {
    Audit {
        action: USER_CREATED.to_owned(),
        subject: format!("staff:{id}"),
        details: serde_json::json!({ "role": role.key() }).to_string(),
    }
}

/// A change an administrator makes to a staff user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StaffChange {
    /// Give the user another role.
    Role(Role),
    /// Stop the user from logging in and end their sessions.
    Disable,
    /// Let a disabled user log in again.
    Enable,
    /// Start over (a lost authenticator and lost recovery codes): forget the password, the
    /// second factor and the recovery codes, end the sessions, and issue a new setup token with
    /// this hash, valid until `expires_at`.
    Reset {
        setup_token_hash: [u8; 32],
        expires_at: Timestamp,
    },
}

/// `staff.role_changed`, `staff.disabled` or `staff.enabled` on `staff:<id>`: never the address.
pub(crate) fn user_changed_audit(id: i64, change: StaffChange) -> Audit {
    let (action, details) = match change {
        StaffChange::Role(role) => (
            "staff.role_changed",
            serde_json::json!({ "role": role.key() }),
        ),
        StaffChange::Disable => ("staff.disabled", serde_json::json!({})),
        StaffChange::Enable => ("staff.enabled", serde_json::json!({})),
        StaffChange::Reset { .. } => ("staff.reset", serde_json::json!({})),
    };
    Audit {
        action: action.to_owned(),
        subject: format!("staff:{id}"),
        details: details.to_string(),
    }
}

/// `api_token.created` on `api_token:<id>`, with the name and scopes: never the token or its
/// hash.
pub(crate) fn token_created_audit(id: i64, t: &NewApiToken<'_>) -> Audit {
    Audit {
        action: TOKEN_CREATED.to_owned(),
        subject: format!("api_token:{id}"),
        details: serde_json::json!({ "name": t.name, "scopes": t.scopes.to_string() }).to_string(),
    }
}

/// `api_token.revoked` on `api_token:<id>`.
pub(crate) fn token_revoked_audit(id: i64) -> Audit {
    Audit {
        action: TOKEN_REVOKED.to_owned(),
        subject: format!("api_token:{id}"),
        details: "{}".to_owned(),
    }
}

fn corrupt(what: &str) -> StoreError {
    StoreError::Corrupt(format!("stored staff {what} does not parse"))
}

fn timestamp(us: i64) -> Result<Timestamp, StoreError> {
    Timestamp::from_microsecond(us).map_err(|_| corrupt("time"))
}

/// The columns of `staff_user`, in [`UserRow`]'s order.
pub(crate) const USER_COLUMNS: &str = "id, email, role, password_hash, totp_secret, \
     totp_last_step, failed_logins, locked_until_us, created_at_us, disabled_at_us";

/// A row of `staff_user`.
#[derive(sqlx::FromRow)]
pub(crate) struct UserRow {
    id: i64,
    email: String,
    role: String,
    password_hash: Option<String>,
    totp_secret: Option<Vec<u8>>,
    totp_last_step: Option<i64>,
    failed_logins: i64,
    locked_until_us: Option<i64>,
    created_at_us: i64,
    disabled_at_us: Option<i64>,
}

impl TryFrom<UserRow> for StaffUser {
    type Error = StoreError;

    fn try_from(r: UserRow) -> Result<Self, StoreError> {
        Ok(StaffUser {
            id: r.id,
            email: r.email,
            role: Role::parse(&r.role).ok_or_else(|| corrupt("role"))?,
            password_hash: r.password_hash,
            totp_secret: r.totp_secret,
            totp_last_step: r
                .totp_last_step
                .map(|s| u64::try_from(s).map_err(|_| corrupt("TOTP step")))
                .transpose()?,
            failed_logins: u32::try_from(r.failed_logins).map_err(|_| corrupt("failed logins"))?,
            locked_until: r.locked_until_us.map(timestamp).transpose()?,
            created_at: timestamp(r.created_at_us)?,
            disabled_at: r.disabled_at_us.map(timestamp).transpose()?,
        })
    }
}

pub(crate) fn users(rows: Vec<UserRow>) -> Result<Vec<StaffUser>, StoreError> {
    rows.into_iter().map(StaffUser::try_from).collect()
}

/// A row of `staff_session`.
#[derive(sqlx::FromRow)]
pub(crate) struct SessionRow {
    user_id: i64,
    created_at_us: i64,
    last_seen_us: i64,
    expires_at_us: i64,
}

impl TryFrom<SessionRow> for Session {
    type Error = StoreError;

    fn try_from(r: SessionRow) -> Result<Self, StoreError> {
        Ok(Session {
            user_id: r.user_id,
            created_at: timestamp(r.created_at_us)?,
            last_seen: timestamp(r.last_seen_us)?,
            expires_at: timestamp(r.expires_at_us)?,
        })
    }
}

/// The columns of `api_token` (not the hash), in [`TokenRow`]'s order.
pub(crate) const TOKEN_COLUMNS: &str =
    "id, name, scopes, created_by, created_at_us, last_used_at_us, revoked_at_us";

/// A row of `api_token`.
#[derive(sqlx::FromRow)]
pub(crate) struct TokenRow {
    id: i64,
    name: String,
    scopes: String,
    created_by: String,
    created_at_us: i64,
    last_used_at_us: Option<i64>,
    revoked_at_us: Option<i64>,
}

impl TryFrom<TokenRow> for ApiToken {
    type Error = StoreError;

    fn try_from(r: TokenRow) -> Result<Self, StoreError> {
        Ok(ApiToken {
            id: r.id,
            name: r.name,
            scopes: Scopes::parse(&r.scopes).map_err(|_| corrupt("token scopes"))?,
            created_by: r.created_by,
            created_at: timestamp(r.created_at_us)?,
            last_used_at: r.last_used_at_us.map(timestamp).transpose()?,
            revoked_at: r.revoked_at_us.map(timestamp).transpose()?,
        })
    }
}

pub(crate) fn tokens(rows: Vec<TokenRow>) -> Result<Vec<ApiToken>, StoreError> {
    rows.into_iter().map(ApiToken::try_from).collect()
}

/// The staff SQL for one backend. `$db` is the sqlx database type and `$conn` its connection.
/// Every function runs in whatever transaction the caller's connection is in.
macro_rules! staff_queries {
    ($db:ty, $conn:ty) => {
        use ombud_domain::policy::Keyword as _;
        use sqlx::QueryBuilder;

        use $crate::StoreError;
        use $crate::requests::Audit;
        use $crate::staff::{
            ApiToken, NewApiToken, NewStaffUser, Session, SessionRow, StaffChange, StaffUser,
            TOKEN_COLUMNS, TokenRow, USER_COLUMNS, UserRow, token_created_audit,
            token_revoked_audit, tokens, user_changed_audit, user_created_audit, users,
        };

        /// Inserts the user and their setup token. A taken address is a conflict.
        pub(crate) async fn create_user(
            conn: &mut $conn,
            u: &NewStaffUser<'_>,
            now: i64,
        ) -> Result<(StaffUser, Audit), StoreError> {
            let mut qb = QueryBuilder::<$db>::new(
                "INSERT INTO staff_user (email, role, failed_logins, created_at_us) VALUES (",
            );
            qb.separated(", ")
                .push_bind(u.email)
                .push_bind(u.role.key())
                .push_bind(0_i64)
                .push_bind(now);
            qb.push(format!(") RETURNING {USER_COLUMNS}"));
            let row: UserRow = qb.build_query_as().fetch_one(&mut *conn).await?;
            let user = StaffUser::try_from(row)?;
            let mut qb = QueryBuilder::<$db>::new(
                "INSERT INTO staff_setup_token (token_hash, user_id, created_at_us, \
                 expires_at_us) VALUES (",
            );
            qb.separated(", ")
                .push_bind(&u.setup_token_hash[..])
                .push_bind(user.id)
                .push_bind(now)
                .push_bind(u.setup_expires_at.as_microsecond());
            qb.push(")");
            qb.build().execute(&mut *conn).await?;
            let audit = user_created_audit(user.id, user.role);
            Ok((user, audit))
        }

        pub(crate) async fn users_all(conn: &mut $conn) -> Result<Vec<StaffUser>, StoreError> {
            let mut qb = QueryBuilder::<$db>::new(format!(
                "SELECT {USER_COLUMNS} FROM staff_user ORDER BY id"
            ));
            let rows: Vec<UserRow> = qb.build_query_as().fetch_all(&mut *conn).await?;
            users(rows)
        }

        pub(crate) async fn user(
            conn: &mut $conn,
            id: i64,
        ) -> Result<Option<StaffUser>, StoreError> {
            let mut qb = QueryBuilder::<$db>::new(format!(
                "SELECT {USER_COLUMNS} FROM staff_user WHERE id = "
            ));
            qb.push_bind(id);
            let row: Option<UserRow> = qb.build_query_as().fetch_optional(&mut *conn).await?;
            row.map(StaffUser::try_from).transpose()
        }

        pub(crate) async fn user_by_email(
            conn: &mut $conn,
            email: &str,
        ) -> Result<Option<StaffUser>, StoreError> {
            let mut qb = QueryBuilder::<$db>::new(format!(
                "SELECT {USER_COLUMNS} FROM staff_user WHERE email = "
            ));
            qb.push_bind(email);
            let row: Option<UserRow> = qb.build_query_as().fetch_optional(&mut *conn).await?;
            row.map(StaffUser::try_from).transpose()
        }

        /// Marks the token used if it is unused and unexpired; the user's id if it was.
        pub(crate) async fn consume_setup_token(
            conn: &mut $conn,
            hash: &[u8; 32],
            now: i64,
        ) -> Result<Option<i64>, StoreError> {
            let mut qb = QueryBuilder::<$db>::new("UPDATE staff_setup_token SET used_at_us = ");
            qb.push_bind(now)
                .push(" WHERE token_hash = ")
                .push_bind(&hash[..])
                .push(" AND used_at_us IS NULL AND expires_at_us > ")
                .push_bind(now)
                .push(
                    " AND user_id IN (SELECT id FROM staff_user WHERE disabled_at_us IS NULL) \
                     RETURNING user_id",
                );
            Ok(qb.build_query_scalar().fetch_optional(&mut *conn).await?)
        }

        /// The user whose unused, unexpired setup token this is, without using it.
        pub(crate) async fn setup_token_user(
            conn: &mut $conn,
            hash: &[u8; 32],
            now: i64,
        ) -> Result<Option<i64>, StoreError> {
            let mut qb = QueryBuilder::<$db>::new(
                "SELECT user_id FROM staff_setup_token WHERE token_hash = ",
            );
            qb.push_bind(&hash[..])
                .push(" AND used_at_us IS NULL AND expires_at_us > ")
                .push_bind(now)
                .push(" AND user_id IN (SELECT id FROM staff_user WHERE disabled_at_us IS NULL)");
            Ok(qb.build_query_scalar().fetch_optional(&mut *conn).await?)
        }

        /// Applies `change` to user `id` (disabling also ends their sessions).
        pub(crate) async fn change_user(
            conn: &mut $conn,
            id: i64,
            change: StaffChange,
            now: i64,
        ) -> Result<(StaffUser, Audit), StoreError> {
            let qb = match change {
                StaffChange::Role(role) => {
                    let mut qb = QueryBuilder::<$db>::new("UPDATE staff_user SET role = ");
                    qb.push_bind(role.key());
                    qb
                }
                StaffChange::Disable => {
                    let mut qb =
                        QueryBuilder::<$db>::new("UPDATE staff_user SET disabled_at_us = ");
                    qb.push_bind(now);
                    qb
                }
                StaffChange::Enable => QueryBuilder::<$db>::new(
                    "UPDATE staff_user SET disabled_at_us = NULL, failed_logins = 0, \
                     locked_until_us = NULL",
                ),
                StaffChange::Reset { .. } => QueryBuilder::<$db>::new(
                    "UPDATE staff_user SET password_hash = NULL, totp_secret = NULL, \
                     totp_last_step = NULL, failed_logins = 0, locked_until_us = NULL",
                ),
            };
            update_user(conn, qb, id).await?;
            if matches!(change, StaffChange::Disable | StaffChange::Reset { .. }) {
                revoke_sessions_of(conn, id, now).await?;
            }
            if let StaffChange::Reset {
                setup_token_hash,
                expires_at,
            } = change
            {
                for table in ["staff_recovery_code", "staff_setup_token"] {
                    // Earlier setup links stop working too.
                    let mut qb =
                        QueryBuilder::<$db>::new(format!("DELETE FROM {table} WHERE user_id = "));
                    qb.push_bind(id);
                    qb.build().execute(&mut *conn).await?;
                }
                let mut qb = QueryBuilder::<$db>::new(
                    "INSERT INTO staff_setup_token (token_hash, user_id, created_at_us, \
                     expires_at_us) VALUES (",
                );
                qb.separated(", ")
                    .push_bind(setup_token_hash.to_vec())
                    .push_bind(id)
                    .push_bind(now)
                    .push_bind(expires_at.as_microsecond());
                qb.push(")");
                qb.build().execute(&mut *conn).await?;
            }
            let user = user(conn, id).await?.ok_or(StoreError::NotFound)?;
            Ok((user, user_changed_audit(id, change)))
        }

        /// Runs an UPDATE of one user's row; NotFound when there is no such user.
        async fn update_user(
            conn: &mut $conn,
            mut qb: QueryBuilder<$db>,
            id: i64,
        ) -> Result<(), StoreError> {
            qb.push(" WHERE id = ").push_bind(id);
            if qb.build().execute(&mut *conn).await?.rows_affected() == 0 {
                return Err(StoreError::NotFound);
            }
            Ok(())
        }

        pub(crate) async fn set_password_hash(
            conn: &mut $conn,
            id: i64,
            phc: &str,
        ) -> Result<(), StoreError> {
            let mut qb = QueryBuilder::<$db>::new("UPDATE staff_user SET password_hash = ");
            qb.push_bind(phc.to_owned());
            update_user(conn, qb, id).await
        }

        /// A new secret starts with no step used.
        pub(crate) async fn set_totp(
            conn: &mut $conn,
            id: i64,
            secret: &[u8],
        ) -> Result<(), StoreError> {
            let mut qb = QueryBuilder::<$db>::new("UPDATE staff_user SET totp_secret = ");
            qb.push_bind(secret.to_vec())
                .push(", totp_last_step = NULL");
            update_user(conn, qb, id).await
        }

        /// Every stored (sealed) TOTP secret, by user id.
        pub(crate) async fn sealed_totp_secrets(
            conn: &mut $conn,
        ) -> Result<Vec<(i64, Vec<u8>)>, StoreError> {
            let mut qb = QueryBuilder::<$db>::new(
                "SELECT id, totp_secret FROM staff_user WHERE totp_secret IS NOT NULL ORDER BY id",
            );
            Ok(qb.build_query_as().fetch_all(&mut *conn).await?)
        }

        /// Compare-and-set: replaces the sealed secret only if it is still `old`.
        pub(crate) async fn replace_sealed_totp(
            conn: &mut $conn,
            id: i64,
            old: &[u8],
            new: &[u8],
        ) -> Result<bool, StoreError> {
            let mut qb = QueryBuilder::<$db>::new("UPDATE staff_user SET totp_secret = ");
            qb.push_bind(new.to_vec())
                .push(" WHERE id = ")
                .push_bind(id)
                .push(" AND totp_secret = ")
                .push_bind(old.to_vec());
            Ok(qb.build().execute(&mut *conn).await?.rows_affected() == 1)
        }

        /// Compare-and-set: records `step` only if it is newer than the last one.
        pub(crate) async fn record_totp_step(
            conn: &mut $conn,
            id: i64,
            step: i64,
        ) -> Result<bool, StoreError> {
            let mut qb = QueryBuilder::<$db>::new("UPDATE staff_user SET totp_last_step = ");
            qb.push_bind(step)
                .push(" WHERE id = ")
                .push_bind(id)
                .push(" AND (totp_last_step IS NULL OR totp_last_step < ")
                .push_bind(step)
                .push(")");
            if qb.build().execute(&mut *conn).await?.rows_affected() == 1 {
                return Ok(true);
            }
            match user(conn, id).await? {
                Some(_) => Ok(false),
                None => Err(StoreError::NotFound),
            }
        }

        /// Counts a wrong login; from the `lock_at`-th on, locks the user until `lock_until`.
        pub(crate) async fn login_failed(
            conn: &mut $conn,
            id: i64,
            lock_at: u32,
            lock_until: i64,
        ) -> Result<u32, StoreError> {
            let mut qb = QueryBuilder::<$db>::new(
                "UPDATE staff_user SET failed_logins = failed_logins + 1, locked_until_us = \
                 CASE WHEN failed_logins + 1 >= ",
            );
            qb.push_bind(i64::from(lock_at))
                .push(" THEN ")
                .push_bind(lock_until)
                .push(" ELSE locked_until_us END WHERE id = ")
                .push_bind(id)
                .push(" RETURNING failed_logins");
            let n: Option<i64> = qb.build_query_scalar().fetch_optional(&mut *conn).await?;
            let n = n.ok_or(StoreError::NotFound)?;
            u32::try_from(n).map_err(|_| StoreError::Corrupt("failed login count".to_owned()))
        }

        pub(crate) async fn login_succeeded(conn: &mut $conn, id: i64) -> Result<(), StoreError> {
            let qb = QueryBuilder::<$db>::new(
                "UPDATE staff_user SET failed_logins = 0, locked_until_us = NULL",
            );
            update_user(conn, qb, id).await
        }

        /// Replaces the user's recovery codes with `hashes`.
        pub(crate) async fn replace_recovery_codes(
            conn: &mut $conn,
            id: i64,
            hashes: &[[u8; 32]],
            now: i64,
        ) -> Result<(), StoreError> {
            if user(conn, id).await?.is_none() {
                return Err(StoreError::NotFound);
            }
            let mut qb =
                QueryBuilder::<$db>::new("DELETE FROM staff_recovery_code WHERE user_id = ");
            qb.push_bind(id);
            qb.build().execute(&mut *conn).await?;
            if hashes.is_empty() {
                return Ok(());
            }
            let mut qb = QueryBuilder::<$db>::new(
                "INSERT INTO staff_recovery_code (user_id, code_hash, created_at_us) ",
            );
            qb.push_values(hashes, |mut b, h| {
                b.push_bind(id).push_bind(h.to_vec()).push_bind(now);
            });
            qb.build().execute(&mut *conn).await?;
            Ok(())
        }

        /// Compare-and-set: uses the code if it is the user's and unused.
        pub(crate) async fn use_recovery_code(
            conn: &mut $conn,
            id: i64,
            hash: &[u8; 32],
            now: i64,
        ) -> Result<bool, StoreError> {
            let mut qb = QueryBuilder::<$db>::new("UPDATE staff_recovery_code SET used_at_us = ");
            qb.push_bind(now)
                .push(" WHERE user_id = ")
                .push_bind(id)
                .push(" AND code_hash = ")
                .push_bind(&hash[..])
                .push(" AND used_at_us IS NULL");
            Ok(qb.build().execute(&mut *conn).await?.rows_affected() == 1)
        }

        pub(crate) async fn unused_recovery_codes(
            conn: &mut $conn,
            id: i64,
        ) -> Result<i64, StoreError> {
            let mut qb = QueryBuilder::<$db>::new(
                "SELECT COUNT(*) FROM staff_recovery_code WHERE used_at_us IS NULL AND user_id = ",
            );
            qb.push_bind(id);
            Ok(qb.build_query_scalar().fetch_one(&mut *conn).await?)
        }

        pub(crate) async fn create_session(
            conn: &mut $conn,
            id_hash: &[u8; 32],
            user_id: i64,
            now: i64,
            expires_at: i64,
        ) -> Result<(), StoreError> {
            let mut qb = QueryBuilder::<$db>::new(
                "INSERT INTO staff_session (id_hash, user_id, created_at_us, last_seen_us, \
                 expires_at_us) VALUES (",
            );
            qb.separated(", ")
                .push_bind(&id_hash[..])
                .push_bind(user_id)
                .push_bind(now)
                .push_bind(now)
                .push_bind(expires_at);
            qb.push(")");
            qb.build().execute(&mut *conn).await.map_err(|e| {
                $crate::requests::missing_parent(
                    e,
                    StoreError::Invalid("a session's user_id must name a stored user"),
                )
            })?;
            Ok(())
        }

        /// Marks the session seen now, if it is unrevoked, unexpired, was seen after
        /// `idle_since` and its user is not disabled; the session as it is now if so.
        pub(crate) async fn touch_session(
            conn: &mut $conn,
            id_hash: &[u8; 32],
            now: i64,
            idle_since: i64,
        ) -> Result<Option<Session>, StoreError> {
            let mut qb = QueryBuilder::<$db>::new("UPDATE staff_session SET last_seen_us = ");
            qb.push_bind(now)
                .push(" WHERE id_hash = ")
                .push_bind(&id_hash[..])
                .push(" AND revoked_at_us IS NULL AND expires_at_us > ")
                .push_bind(now)
                .push(" AND last_seen_us >= ")
                .push_bind(idle_since)
                .push(
                    " AND user_id IN (SELECT id FROM staff_user WHERE disabled_at_us IS NULL) \
                     RETURNING user_id, created_at_us, last_seen_us, expires_at_us",
                );
            let row: Option<SessionRow> = qb.build_query_as().fetch_optional(&mut *conn).await?;
            row.map(Session::try_from).transpose()
        }

        pub(crate) async fn revoke_session(
            conn: &mut $conn,
            id_hash: &[u8; 32],
            now: i64,
        ) -> Result<bool, StoreError> {
            let mut qb = QueryBuilder::<$db>::new("UPDATE staff_session SET revoked_at_us = ");
            qb.push_bind(now)
                .push(" WHERE revoked_at_us IS NULL AND id_hash = ")
                .push_bind(&id_hash[..]);
            Ok(qb.build().execute(&mut *conn).await?.rows_affected() == 1)
        }

        pub(crate) async fn revoke_sessions_of(
            conn: &mut $conn,
            user_id: i64,
            now: i64,
        ) -> Result<u64, StoreError> {
            let mut qb = QueryBuilder::<$db>::new("UPDATE staff_session SET revoked_at_us = ");
            qb.push_bind(now)
                .push(" WHERE revoked_at_us IS NULL AND user_id = ")
                .push_bind(user_id);
            Ok(qb.build().execute(&mut *conn).await?.rows_affected())
        }

        pub(crate) async fn create_token(
            conn: &mut $conn,
            t: &NewApiToken<'_>,
            now: i64,
        ) -> Result<(ApiToken, Audit), StoreError> {
            let mut qb = QueryBuilder::<$db>::new(
                "INSERT INTO api_token (name, token_hash, scopes, created_by, created_at_us) \
                 VALUES (",
            );
            qb.separated(", ")
                .push_bind(t.name)
                .push_bind(&t.token_hash[..])
                .push_bind(t.scopes.to_string())
                .push_bind(t.actor)
                .push_bind(now);
            qb.push(format!(") RETURNING {TOKEN_COLUMNS}"));
            let row: TokenRow = qb.build_query_as().fetch_one(&mut *conn).await?;
            let token = ApiToken::try_from(row)?;
            let audit = token_created_audit(token.id, t);
            Ok((token, audit))
        }

        pub(crate) async fn tokens_all(conn: &mut $conn) -> Result<Vec<ApiToken>, StoreError> {
            let mut qb = QueryBuilder::<$db>::new(format!(
                "SELECT {TOKEN_COLUMNS} FROM api_token ORDER BY id"
            ));
            let rows: Vec<TokenRow> = qb.build_query_as().fetch_all(&mut *conn).await?;
            tokens(rows)
        }

        pub(crate) async fn token_by_hash(
            conn: &mut $conn,
            hash: &[u8; 32],
        ) -> Result<Option<ApiToken>, StoreError> {
            let mut qb = QueryBuilder::<$db>::new(format!(
                "SELECT {TOKEN_COLUMNS} FROM api_token WHERE token_hash = "
            ));
            qb.push_bind(&hash[..]);
            let row: Option<TokenRow> = qb.build_query_as().fetch_optional(&mut *conn).await?;
            row.map(ApiToken::try_from).transpose()
        }

        /// Sets the token's last use to `now` if it is active and its last use is unknown or
        /// older than `stale_before`: true if it wrote.
        pub(crate) async fn token_used(
            conn: &mut $conn,
            id: i64,
            now: i64,
            stale_before: i64,
        ) -> Result<bool, StoreError> {
            let mut qb = QueryBuilder::<$db>::new("UPDATE api_token SET last_used_at_us = ");
            qb.push_bind(now)
                .push(" WHERE revoked_at_us IS NULL AND id = ")
                .push_bind(id)
                .push(" AND (last_used_at_us IS NULL OR last_used_at_us < ")
                .push_bind(stale_before)
                .push(")");
            Ok(qb.build().execute(&mut *conn).await?.rows_affected() == 1)
        }

        /// Revokes the token; the audit entry to append if it was active (None if it was
        /// revoked already), NotFound if there is no such token.
        pub(crate) async fn revoke_token(
            conn: &mut $conn,
            id: i64,
            now: i64,
        ) -> Result<Option<Audit>, StoreError> {
            let mut qb = QueryBuilder::<$db>::new("UPDATE api_token SET revoked_at_us = ");
            qb.push_bind(now)
                .push(" WHERE revoked_at_us IS NULL AND id = ")
                .push_bind(id);
            if qb.build().execute(&mut *conn).await?.rows_affected() == 1 {
                return Ok(Some(token_revoked_audit(id)));
            }
            let mut qb = QueryBuilder::<$db>::new("SELECT id FROM api_token WHERE id = ");
            qb.push_bind(id);
            let found: Option<i64> = qb.build_query_scalar().fetch_optional(&mut *conn).await?;
            match found {
                Some(_) => Ok(None),
                None => Err(StoreError::NotFound),
            }
        }
    };
}
pub(crate) use staff_queries;

/// The backend methods behind [`crate::Store`]'s staff operations, written once for both
/// backends: `$read` and `$write` name the store's pools for reads and single-statement writes,
/// `$head` the function that reads (SQLite, under `BEGIN IMMEDIATE`) or locks (PostgreSQL) the
/// audit head. Audited writes run in one transaction from the store's `begin_write`, with
/// `append` writing the entry; `staff_sql` is the backend's instance of `staff_queries!`.
macro_rules! staff_methods {
    (read: $read:ident, write: $write:ident, head: $head:ident) => {
        pub(crate) async fn create_staff_user(
            &self,
            u: &$crate::staff::NewStaffUser<'_>,
            now: i64,
        ) -> Result<$crate::staff::StaffUser, StoreError> {
            let mut tx = self.begin_write().await?;
            let head = $head(&mut tx).await?;
            let (user, audit) = staff_sql::create_user(&mut tx, u, now).await?;
            append(&mut tx, head, &[audit.entry(u.actor)], now).await?;
            tx.commit().await?;
            Ok(user)
        }

        pub(crate) async fn staff_users(
            &self,
        ) -> Result<Vec<$crate::staff::StaffUser>, StoreError> {
            let mut conn = self.$read.acquire().await?;
            staff_sql::users_all(&mut conn).await
        }

        pub(crate) async fn staff_user(
            &self,
            id: i64,
        ) -> Result<Option<$crate::staff::StaffUser>, StoreError> {
            let mut conn = self.$read.acquire().await?;
            staff_sql::user(&mut conn, id).await
        }

        pub(crate) async fn staff_user_by_email(
            &self,
            email: &str,
        ) -> Result<Option<$crate::staff::StaffUser>, StoreError> {
            let mut conn = self.$read.acquire().await?;
            staff_sql::user_by_email(&mut conn, email).await
        }

        pub(crate) async fn consume_setup_token(
            &self,
            hash: &[u8; 32],
            now: i64,
        ) -> Result<Option<i64>, StoreError> {
            let mut conn = self.$write.acquire().await?;
            staff_sql::consume_setup_token(&mut conn, hash, now).await
        }

        pub(crate) async fn setup_token_user(
            &self,
            hash: &[u8; 32],
            now: i64,
        ) -> Result<Option<i64>, StoreError> {
            let mut conn = self.$read.acquire().await?;
            staff_sql::setup_token_user(&mut conn, hash, now).await
        }

        pub(crate) async fn change_staff_user(
            &self,
            id: i64,
            change: $crate::staff::StaffChange,
            actor: &str,
            now: i64,
        ) -> Result<$crate::staff::StaffUser, StoreError> {
            let mut tx = self.begin_write().await?;
            let head = $head(&mut tx).await?;
            let (user, audit) = staff_sql::change_user(&mut tx, id, change, now).await?;
            append(&mut tx, head, &[audit.entry(actor)], now).await?;
            tx.commit().await?;
            Ok(user)
        }

        pub(crate) async fn set_password_hash(&self, id: i64, phc: &str) -> Result<(), StoreError> {
            let mut conn = self.$write.acquire().await?;
            staff_sql::set_password_hash(&mut conn, id, phc).await
        }

        pub(crate) async fn set_totp(&self, id: i64, secret: &[u8]) -> Result<(), StoreError> {
            let mut conn = self.$write.acquire().await?;
            staff_sql::set_totp(&mut conn, id, secret).await
        }

        pub(crate) async fn sealed_totp_secrets(&self) -> Result<Vec<(i64, Vec<u8>)>, StoreError> {
            let mut conn = self.$read.acquire().await?;
            staff_sql::sealed_totp_secrets(&mut conn).await
        }

        pub(crate) async fn replace_sealed_totp(
            &self,
            id: i64,
            old: &[u8],
            new: &[u8],
        ) -> Result<bool, StoreError> {
            let mut conn = self.$write.acquire().await?;
            staff_sql::replace_sealed_totp(&mut conn, id, old, new).await
        }

        pub(crate) async fn record_totp_step(
            &self,
            id: i64,
            step: i64,
        ) -> Result<bool, StoreError> {
            let mut conn = self.$write.acquire().await?;
            staff_sql::record_totp_step(&mut conn, id, step).await
        }

        pub(crate) async fn login_failed(
            &self,
            id: i64,
            lock_at: u32,
            lock_until: i64,
        ) -> Result<u32, StoreError> {
            let mut conn = self.$write.acquire().await?;
            staff_sql::login_failed(&mut conn, id, lock_at, lock_until).await
        }

        pub(crate) async fn login_succeeded(&self, id: i64) -> Result<(), StoreError> {
            let mut conn = self.$write.acquire().await?;
            staff_sql::login_succeeded(&mut conn, id).await
        }

        pub(crate) async fn replace_recovery_codes(
            &self,
            id: i64,
            hashes: &[[u8; 32]],
            now: i64,
        ) -> Result<(), StoreError> {
            let mut tx = self.begin_write().await?;
            staff_sql::replace_recovery_codes(&mut tx, id, hashes, now).await?;
            tx.commit().await?;
            Ok(())
        }

        pub(crate) async fn use_recovery_code(
            &self,
            id: i64,
            hash: &[u8; 32],
            now: i64,
        ) -> Result<bool, StoreError> {
            let mut conn = self.$write.acquire().await?;
            staff_sql::use_recovery_code(&mut conn, id, hash, now).await
        }

        pub(crate) async fn unused_recovery_codes(&self, id: i64) -> Result<i64, StoreError> {
            let mut conn = self.$read.acquire().await?;
            staff_sql::unused_recovery_codes(&mut conn, id).await
        }

        pub(crate) async fn create_session(
            &self,
            id_hash: &[u8; 32],
            user_id: i64,
            now: i64,
            expires_at: i64,
        ) -> Result<(), StoreError> {
            let mut conn = self.$write.acquire().await?;
            staff_sql::create_session(&mut conn, id_hash, user_id, now, expires_at).await
        }

        pub(crate) async fn touch_session(
            &self,
            id_hash: &[u8; 32],
            now: i64,
            idle_since: i64,
        ) -> Result<Option<$crate::staff::Session>, StoreError> {
            let mut conn = self.$write.acquire().await?;
            staff_sql::touch_session(&mut conn, id_hash, now, idle_since).await
        }

        pub(crate) async fn revoke_session(
            &self,
            id_hash: &[u8; 32],
            now: i64,
        ) -> Result<bool, StoreError> {
            let mut conn = self.$write.acquire().await?;
            staff_sql::revoke_session(&mut conn, id_hash, now).await
        }

        pub(crate) async fn revoke_sessions_of(
            &self,
            user_id: i64,
            now: i64,
        ) -> Result<u64, StoreError> {
            let mut conn = self.$write.acquire().await?;
            staff_sql::revoke_sessions_of(&mut conn, user_id, now).await
        }

        pub(crate) async fn create_api_token(
            &self,
            t: &$crate::staff::NewApiToken<'_>,
            now: i64,
        ) -> Result<$crate::staff::ApiToken, StoreError> {
            let mut tx = self.begin_write().await?;
            let head = $head(&mut tx).await?;
            let (token, audit) = staff_sql::create_token(&mut tx, t, now).await?;
            append(&mut tx, head, &[audit.entry(t.actor)], now).await?;
            tx.commit().await?;
            Ok(token)
        }

        pub(crate) async fn api_tokens(&self) -> Result<Vec<$crate::staff::ApiToken>, StoreError> {
            let mut conn = self.$read.acquire().await?;
            staff_sql::tokens_all(&mut conn).await
        }

        pub(crate) async fn api_token_by_hash(
            &self,
            hash: &[u8; 32],
        ) -> Result<Option<$crate::staff::ApiToken>, StoreError> {
            let mut conn = self.$read.acquire().await?;
            staff_sql::token_by_hash(&mut conn, hash).await
        }

        pub(crate) async fn api_token_used(
            &self,
            id: i64,
            now: i64,
            stale_before: i64,
        ) -> Result<bool, StoreError> {
            let mut conn = self.$write.acquire().await?;
            staff_sql::token_used(&mut conn, id, now, stale_before).await
        }

        pub(crate) async fn revoke_api_token(
            &self,
            id: i64,
            actor: &str,
            now: i64,
        ) -> Result<bool, StoreError> {
            let mut tx = self.begin_write().await?;
            let head = $head(&mut tx).await?;
            let Some(audit) = staff_sql::revoke_token(&mut tx, id, now).await? else {
                tx.rollback().await?;
                return Ok(false);
            };
            append(&mut tx, head, &[audit.entry(actor)], now).await?;
            tx.commit().await?;
            Ok(true)
        }
    };
}
pub(crate) use staff_methods;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_match_the_migrations() {
        for sql in [
            include_str!("../migrations/sqlite/0005_staff.sql"),
            include_str!("../migrations/postgres/0005_staff.sql"),
        ] {
            let line = sql
                .lines()
                .find(|l| l.contains("CHECK (role IN ("))
                .expect("the role CHECK is on one line");
            for r in Role::all() {
                assert!(line.contains(&format!("'{}'", r.key())), "{r} missing");
            }
        }
    }

    #[test]
    fn debug_hides_addresses_and_secrets() {
        let at = Timestamp::from_second(1_800_000_000).unwrap();
        let user = StaffUser {
            id: 1,
            email: "ann@impero.com".into(),
            role: Role::Admin,
            password_hash: Some("$argon2id$v=19$secret".into()),
            totp_secret: Some(vec![0xab; 20]),
            totp_last_step: Some(3),
            failed_logins: 0,
            locked_until: None,
            created_at: at,
            disabled_at: None,
        };
        let text = format!("{user:?}");
        assert!(
            !text.contains("ann") && !text.contains("argon") && !text.contains("171"),
            "{text}"
        );
        let hash = [0xab; 32];
        let new = NewStaffUser {
            email: "ann@impero.com",
            role: Role::Viewer,
            setup_token_hash: &hash,
            setup_expires_at: at,
            actor: "cli:root",
        };
        let text = format!("{new:?}");
        assert!(!text.contains("ann") && !text.contains("171"), "{text}");
    }

    #[test]
    fn audit_entries_name_ids_roles_and_scopes_only() {
        let a = user_created_audit(7, Role::PrivacyOfficer);
        assert_eq!(
            (a.action.as_str(), a.subject.as_str(), a.details.as_str()),
            (
                "staff.user_created",
                "staff:7",
                r#"{"role":"privacy_officer"}"#
            )
        );
        let scopes = Scopes::parse("read consent:write").unwrap();
        let hash = [9; 32];
        let t = NewApiToken {
            name: "crm",
            token_hash: &hash,
            scopes: &scopes,
            actor: "user:1",
        };
        let a = token_created_audit(2, &t);
        assert_eq!(a.subject, "api_token:2");
        assert_eq!(a.details, r#"{"name":"crm","scopes":"read consent:write"}"#);
    }

    #[test]
    fn input_rules() {
        let now = Timestamp::from_second(1_800_000_000).unwrap();
        let later = now + jiff::SignedDuration::from_hours(24);
        let hash = [1; 32];
        let user = |email, expires| NewStaffUser {
            email,
            role: Role::Admin,
            setup_token_hash: &hash,
            setup_expires_at: expires,
            actor: "cli:root",
        };
        let now_us = now.as_microsecond();
        assert!(check_new_user(&user("ann@impero.com", later), now_us).is_ok());
        assert!(check_new_user(&user("Ann@impero.com", later), now_us).is_err());
        assert!(check_new_user(&user("ann", later), now_us).is_err());
        assert!(check_new_user(&user("ann@impero.com", now), now_us).is_err());
        assert!(check_password_hash("$argon2id$v=19$m=19456,t=2,p=1$x$y").is_ok());
        assert!(check_password_hash("hunter2").is_err());
        assert!(check_totp_secret(&[0; 20]).is_ok());
        assert!(check_totp_secret(&[0; 10]).is_err());
        assert!(check_recovery_codes(&[[1; 32], [2; 32]]).is_ok());
        assert!(check_recovery_codes(&[[1; 32], [1; 32]]).is_err());
        assert!(stored_step(u64::MAX).is_err());
    }
}

//! API tokens: issuing, listing and revoking them. The command line (`ombud tokens …`) and the
//! admin console call these, so both behave alike.
//!
//! A token is [`PREFIX`] followed by 64 hex digits (256 random bits), shown once when it is
//! issued; the store keeps its SHA-256 only. Issuing and revoking append an audit entry in the
//! same transaction (id, name and scopes; never the token or its hash). The API checks tokens in
//! [`crate::auth`].

use ombud_domain::staff::{Scopes, secret_hash};
use ombud_store::{ApiToken, NewApiToken, Store, StoreError};
use secrecy::{ExposeSecret, SecretString};

use super::{StaffError, new_secret};

/// How every API token begins, so that one is recognised in a config file or a leaked log (and
/// secret scanners can be taught the pattern `ombud_[0-9a-f]{64}`).
pub const PREFIX: &str = "ombud_";

/// What revoking a token did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Revoked {
    /// It was active and is now revoked (and the revocation audited).
    Now,
    /// It was revoked before; nothing was written.
    Already,
    /// There is no token with that id.
    Unknown,
}

/// Issues a token named `name` with `scopes`, created by `actor` (e.g. `cli:ann`, `user:3`).
/// Returns the stored token and the secret to hand over, which can't be shown again.
pub async fn issue(
    store: &Store,
    name: &str,
    scopes: &Scopes,
    actor: &str,
) -> Result<(ApiToken, SecretString), StaffError> {
    let secret = SecretString::from(format!("{PREFIX}{}", new_secret()?.expose_secret()));
    let token = store
        .create_api_token(NewApiToken {
            name: name.trim(),
            token_hash: &secret_hash(secret.expose_secret()),
            scopes,
            actor,
        })
        .await
        .map_err(|e| match e {
            StoreError::Invalid(rule) => StaffError::Invalid(rule),
            e => StaffError::Store(e),
        })?;
    Ok((token, secret))
}

/// Every token, revoked ones included, oldest first.
pub async fn list(store: &Store) -> Result<Vec<ApiToken>, StaffError> {
    store.api_tokens().await.map_err(StaffError::Store)
}

/// Revokes token `id` on behalf of `actor`. Calls with it are refused from then on, on every
/// node.
pub async fn revoke(store: &Store, id: i64, actor: &str) -> Result<Revoked, StaffError> {
    match store.revoke_api_token(id, actor).await {
        Ok(true) => Ok(Revoked::Now),
        Ok(false) => Ok(Revoked::Already),
        Err(StoreError::NotFound) => Ok(Revoked::Unknown),
        Err(StoreError::Invalid(rule)) => Err(StaffError::Invalid(rule)),
        Err(e) => Err(StaffError::Store(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_sqlite(&dir.path().join("ombud.db"))
            .await
            .unwrap();
        (dir, store)
    }

    #[tokio::test]
    async fn issued_tokens_are_shown_once_stored_hashed_and_revoked_once() {
        let (_dir, store) = store().await;
        let scopes = Scopes::parse("read consent:write").unwrap();
        let (token, secret) = issue(&store, " crm sync ", &scopes, "cli:ann")
            .await
            .unwrap();
        let s = secret.expose_secret();
        assert!(s.starts_with(PREFIX), "{s}");
        assert_eq!(s.len(), PREFIX.len() + 64);
        assert_eq!(token.name, "crm sync");
        assert_eq!(token.scopes, scopes);
        assert_eq!(token.created_by, "cli:ann");
        assert_eq!(
            store.api_token_by_hash(&secret_hash(s)).await.unwrap(),
            Some(token.clone())
        );
        assert_eq!(list(&store).await.unwrap(), vec![token.clone()]);

        let (_, other) = issue(&store, "other", &scopes, "cli:ann").await.unwrap();
        assert_ne!(other.expose_secret(), s);
        assert!(matches!(
            issue(&store, "  ", &scopes, "cli:ann").await,
            Err(StaffError::Invalid(_))
        ));

        assert_eq!(
            revoke(&store, token.id, "cli:bo").await.unwrap(),
            Revoked::Now
        );
        assert_eq!(
            revoke(&store, token.id, "cli:bo").await.unwrap(),
            Revoked::Already
        );
        assert_eq!(
            revoke(&store, token.id + 100, "cli:bo").await.unwrap(),
            Revoked::Unknown
        );

        // Two issues and one revocation are audited, and no entry holds the secret.
        let log = store.audit_page(0, 100).await.unwrap();
        let actions: Vec<_> = log.iter().map(|e| e.action.as_str()).collect();
        assert_eq!(
            actions,
            [
                "api_token.created",
                "api_token.created",
                "api_token.revoked"
            ]
        );
        for e in &log {
            assert!(!e.details.contains(&s[PREFIX.len()..PREFIX.len() + 16]));
            assert!(!e.details.contains(PREFIX));
        }
        store.close().await;
    }
}

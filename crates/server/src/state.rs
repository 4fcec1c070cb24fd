//! What the handlers share: the store, the policy in force and what was rendered from it.

use std::sync::Arc;

use axum::body::Bytes;
use jiff::civil::Date;
use ombud_policy::Loaded;
use ombud_policy::render::{NoticeFormat, notice};
use ombud_store::{NewPolicyVersion, PolicyVersion, Store, StoreError};

use crate::config::Settings;

/// Actor recorded for things ombud does on its own, such as activating the policy at start.
pub const SYSTEM_ACTOR: &str = "system";

/// Shared state of the public router. Cloning is cheap.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    policy: PolicyInForce,
    notice_html: Bytes,
    notice_markdown: Bytes,
    notice_language: String,
    hsts: bool,
}

/// The policy version this server runs with, and the facts about it that responses quote.
#[derive(Debug, Clone)]
pub struct PolicyInForce {
    pub version: PolicyVersion,
    pub controller: String,
    pub last_updated: Date,
}

impl AppState {
    /// Records `policy` as the version in force (a no-op when it is already the newest
    /// version) and renders its notice once, so requests only copy bytes.
    ///
    /// Activation happens before the server accepts anything, so every record written while
    /// it runs can point at the version in force.
    pub async fn prepare(
        settings: &Settings,
        store: Store,
        policy: &Loaded,
    ) -> Result<AppState, StoreError> {
        let version = activate(&store, policy).await?;
        Ok(AppState::new(settings, store, policy, version))
    }

    /// State for a version that is already activated.
    pub fn new(
        settings: &Settings,
        store: Store,
        policy: &Loaded,
        version: PolicyVersion,
    ) -> AppState {
        let p = &policy.policy;
        AppState {
            inner: Arc::new(Inner {
                store,
                policy: PolicyInForce {
                    version,
                    controller: p.controller.name.clone(),
                    last_updated: p.notice.last_updated,
                },
                notice_html: Bytes::from(notice(p, NoticeFormat::Html)),
                notice_markdown: Bytes::from(notice(p, NoticeFormat::Markdown)),
                notice_language: p.notice.language.clone(),
                hsts: settings.public_url().starts_with("https://"),
            }),
        }
    }

    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    pub fn policy(&self) -> &PolicyInForce {
        &self.inner.policy
    }

    pub(crate) fn notice_html(&self) -> Bytes {
        self.inner.notice_html.clone()
    }

    pub(crate) fn notice_markdown(&self) -> Bytes {
        self.inner.notice_markdown.clone()
    }

    pub(crate) fn notice_language(&self) -> &str {
        &self.inner.notice_language
    }

    pub(crate) fn hsts(&self) -> bool {
        self.inner.hsts
    }
}

/// Stores `policy` as a policy version, labelled so a person recognises it: the controller and
/// the date the notice gives.
pub async fn activate(store: &Store, policy: &Loaded) -> Result<PolicyVersion, StoreError> {
    let p = &policy.policy;
    let label = format!(
        "{} — notice of {}",
        p.controller.name, p.notice.last_updated
    );
    let hash = policy.source.hash();
    let content = policy.source.bundle();
    store
        .activate_policy(NewPolicyVersion {
            hash: &hash,
            content: &content,
            label: &label,
            actor: SYSTEM_ACTOR,
        })
        .await
}

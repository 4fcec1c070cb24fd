//! What the handlers share: the store, the policy in force and what was rendered from it, and
//! the consent writer.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, RwLock};

use axum::body::Bytes;
use jiff::civil::Date;
use ombud_domain::consent::wording_hash;
use ombud_domain::policy::{CookieCategoryId, Policy};
use ombud_policy::Loaded;
use ombud_policy::render::{NoticeFormat, notice};
use ombud_store::{ConsentWriter, NewPolicyVersion, PolicyVersion, Store, StoreError};
use secrecy::SecretString;

use std::time::Duration;

use crate::auth::KnownTokens;
use crate::banner::{BannerOptions, cookie_revision, script};
use crate::config::Settings;
use crate::ratelimit::Limiter;
use crate::requests::{Delivery, RequestService, ServiceSettings};

/// Actor recorded for things ombud does on its own, such as activating the policy at start.
pub const SYSTEM_ACTOR: &str = "system";

/// Largest number of consent events the writer commits in one transaction.
const CONSENT_BATCH: usize = 2048;

/// Shared state of the public router. Cloning is cheap.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    policy: PolicyInForce,
    model: Arc<Policy>,
    notice_html: Bytes,
    notice_markdown: Bytes,
    notice_language: String,
    hsts: bool,
    writer: ConsentWriter,
    banner: BannerAssets,
    consent: ConsentSettings,
    api_token: Option<SecretString>,
    public_url: String,
    tokens: KnownTokens,
    known_versions: RwLock<HashSet<i64>>,
    requests: RequestService,
    limits: Limits,
}

/// Per-address limits of the doors that take guesses.
pub(crate) struct Limits {
    /// Console login and setup posts: 10 a minute per address.
    pub login: Limiter,
    /// Privacy centre form, code and resend posts: 30 a minute per address.
    pub centre: Limiter,
}

/// The policy version this server runs with, and the facts about it that responses quote.
#[derive(Debug, Clone)]
pub struct PolicyInForce {
    pub version: PolicyVersion,
    pub controller: String,
    pub last_updated: Date,
}

/// The banner script for the policy in force, built once.
pub(crate) struct BannerAssets {
    pub js: Bytes,
    pub gzip: Bytes,
    pub etag: String,
    /// Hash of everything the banner shows; a stored choice for another revision is asked again.
    pub rev: String,
    /// SHA-256 of the wording shown for each category, per language.
    pub wording: HashMap<(String, CookieCategoryId), String>,
}

/// How the consent cookie is set and who may post to the banner endpoint.
pub(crate) struct ConsentSettings {
    pub cookie_name: String,
    pub cookie_domain: Option<String>,
    pub secure: bool,
    pub site_origins: Vec<String>,
}

impl AppState {
    /// Records `policy` as the version in force (a no-op when it is already the newest
    /// version), renders its notice and banner once, and starts the consent writer.
    ///
    /// Activation happens before the server accepts anything, so every record written while
    /// it runs can point at the version in force.
    pub async fn prepare(
        settings: &Settings,
        store: Store,
        policy: &Loaded,
    ) -> Result<AppState, crate::ServerError> {
        use crate::ServerError::Activate;
        let version = activate(&store, policy).await.map_err(Activate)?;
        let known = store
            .policy_versions()
            .await
            .map_err(Activate)?
            .into_iter()
            .map(|v| v.id)
            .collect();
        let requests = request_service(settings, &store, &policy.policy, version.id)?;
        let state = AppState::new(settings, store, policy, version, requests);
        if let Ok(mut k) = state.inner.known_versions.write() {
            *k = known;
        }
        Ok(state)
    }

    /// State for a version that is already activated. Starts the consent writer, so it must be
    /// called inside a Tokio runtime.
    fn new(
        settings: &Settings,
        store: Store,
        policy: &Loaded,
        version: PolicyVersion,
        requests: RequestService,
    ) -> AppState {
        let p = &policy.policy;
        let public = settings.public_url();
        let banner_js = script(
            p,
            &BannerOptions {
                endpoint: &format!("{public}/c/consent"),
                notice_url: &format!("{public}/privacy"),
                version: version.id,
                cookie_name: &settings.consent_cookie_name,
            },
        );
        let gzip = gzip(banner_js.as_bytes());
        let rev = cookie_revision(p);
        let etag = format!("\"{}-{}\"", version.id, &wording_hash(&banner_js)[..16]);
        let mut wording = HashMap::new();
        for c in &p.cookie_categories {
            for lang in ["en", "da", p.notice.language.as_str()] {
                let (name, description) = c.text(lang);
                wording.insert(
                    (lang.to_owned(), c.id.clone()),
                    wording_hash(&format!("{name}\n{description}")),
                );
            }
        }
        let (writer, _task) = ConsentWriter::spawn(store.clone(), CONSENT_BATCH);
        let mut known_versions = HashSet::new();
        known_versions.insert(version.id);
        AppState {
            inner: Arc::new(Inner {
                store,
                policy: PolicyInForce {
                    version,
                    controller: p.controller.name.clone(),
                    last_updated: p.notice.last_updated,
                },
                model: Arc::new(p.clone()),
                notice_html: Bytes::from(notice(p, NoticeFormat::Html)),
                notice_markdown: Bytes::from(notice(p, NoticeFormat::Markdown)),
                notice_language: p.notice.language.clone(),
                hsts: public.starts_with("https://"),
                writer,
                banner: BannerAssets {
                    js: Bytes::from(banner_js),
                    gzip,
                    etag,
                    rev,
                    wording,
                },
                consent: ConsentSettings {
                    cookie_name: settings.consent_cookie_name.clone(),
                    cookie_domain: settings.consent_cookie_domain.clone(),
                    secure: public.starts_with("https://"),
                    site_origins: settings.site_origins.clone(),
                },
                api_token: settings.api_token.clone(),
                public_url: public.trim_end_matches('/').to_owned(),
                tokens: KnownTokens::default(),
                known_versions: RwLock::new(known_versions),
                requests,
                limits: Limits {
                    login: Limiter::new(10, Duration::from_secs(60)),
                    centre: Limiter::new(30, Duration::from_secs(60)),
                },
            }),
        }
    }

    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    pub fn policy(&self) -> &PolicyInForce {
        &self.inner.policy
    }

    /// The resolved policy in force.
    pub fn model(&self) -> &Policy {
        &self.inner.model
    }

    /// Rights requests: the operations of the privacy centre, the API and the CLI.
    pub fn requests(&self) -> &RequestService {
        &self.inner.requests
    }

    pub(crate) fn writer(&self) -> &ConsentWriter {
        &self.inner.writer
    }

    pub(crate) fn banner(&self) -> &BannerAssets {
        &self.inner.banner
    }

    pub(crate) fn consent_settings(&self) -> &ConsentSettings {
        &self.inner.consent
    }

    pub(crate) fn api_token(&self) -> Option<&SecretString> {
        self.inner.api_token.as_ref()
    }

    pub(crate) fn tokens(&self) -> &KnownTokens {
        &self.inner.tokens
    }

    /// Whether `id` is a stored policy version (asking the store the first time).
    pub(crate) async fn is_known_version(&self, id: i64) -> Result<bool, StoreError> {
        if self
            .inner
            .known_versions
            .read()
            .is_ok_and(|k| k.contains(&id))
        {
            return Ok(true);
        }
        let found = self.inner.store.policy_version(id).await?.is_some();
        if found && let Ok(mut k) = self.inner.known_versions.write() {
            k.insert(id);
        }
        Ok(found)
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

    pub(crate) fn limits(&self) -> &Limits {
        &self.inner.limits
    }

    /// The public address the server is reached at, without a trailing slash.
    pub(crate) fn public_url(&self) -> &str {
        &self.inner.public_url
    }
}

/// The request service for these settings: letters (with the operator's overrides, which must
/// load), and SMTP or, without it, the mail folder. Needs a Tokio runtime (the SMTP pool).
///
/// Gives `store` (and so every clone of it) the settings' keyring ([`Settings::keyring`]), which
/// seals TOTP secrets; the engine encrypts packages with its current key, and downloads open
/// them with whichever of its keys the package names.
pub fn request_service(
    settings: &Settings,
    store: &Store,
    policy: &Policy,
    version: i64,
) -> Result<RequestService, crate::ServerError> {
    let keyring = settings.keyring().map_err(crate::ServerError::Keys)?;
    if let Some(keyring) = &keyring {
        store.set_keyring(keyring.clone());
    }
    let letters = ombud_mail::Letters::load(settings.templates_dir.as_deref())
        .map_err(crate::ServerError::Templates)?;
    let mail_from = settings
        .mail_from
        .clone()
        .unwrap_or_else(|| format!("{} <{}>", policy.controller.name, policy.rights.email));
    let delivery = match &settings.smtp {
        Some(smtp) => {
            let mut smtp = smtp.clone();
            smtp.from = mail_from.clone();
            Delivery::Smtp(ombud_mail::Mailer::new(&smtp).map_err(crate::ServerError::Smtp)?)
        }
        None => Delivery::Folder(
            settings
                .mail_dir
                .clone()
                .unwrap_or_else(|| settings.data_dir.join("mail")),
        ),
    };
    let policy = Arc::new(policy.clone());
    let engine = ombud_fulfil::Engine::new(
        policy.clone(),
        store.clone(),
        ombud_fulfil::EngineSettings {
            connections: settings.connections.clone(),
            packages_dir: settings
                .packages_dir
                .clone()
                .unwrap_or_else(|| settings.data_dir.join("packages")),
            // The keyring's current key; each package derives its own key from it (HKDF with
            // a random salt) and names it in its header.
            package_key: keyring
                .as_ref()
                .map(|k| secrecy::SecretBox::new(k.current_key().to_vec().into_boxed_slice())),
            package_ttl: std::time::Duration::from_secs(
                u64::from(settings.package_expiry_hours) * 3600,
            ),
        },
    );
    Ok(RequestService::new(
        store.clone(),
        policy,
        version,
        letters,
        delivery,
        Some(engine),
        ServiceSettings {
            mail_from: Some(mail_from),
            public_url: settings.public_url(),
            secret: settings.secret_key.clone(),
            unverified_expiry_hours: settings.unverified_expiry_hours,
            repeat_window_days: settings.repeat_window_days,
            reminder_days: settings.reminder_days,
            auto_execute: settings.auto_execute,
        },
    ))
}

fn gzip(data: &[u8]) -> Bytes {
    use std::io::Write as _;
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    // Writing to memory cannot fail; an empty result would only make clients fall back to the
    // uncompressed body.
    let _ = enc.write_all(data);
    Bytes::from(enc.finish().unwrap_or_default())
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

//! `spawn_app()` and one helper per endpoint.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Once};
use std::time::Duration;

use ombud_policy::{Loaded, PolicySource};
use ombud_server::{Listeners, ServerError, Settings};
use ombud_store::Store;
use reqwest::{Method, Response};
use tempfile::TempDir;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A server running in a task of the test's runtime.
pub struct TestApp {
    /// `http://127.0.0.1:<port>` of the public listener.
    pub address: String,
    /// `http://127.0.0.1:<port>` of the metrics listener.
    pub metrics_address: String,
    /// A clone of the server's store, to look behind the API (and to close it).
    pub store: Store,
    /// The policy the server was started with.
    pub policy: Loaded,
    /// The settings the server was started with.
    pub settings: Settings,
    /// The data folder; shared so that a second server can be started on the same database.
    pub dir: Arc<TempDir>,
    pub client: reqwest::Client,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<Result<(), ServerError>>>,
}

fn init_test_log() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        if std::env::var_os("TEST_LOG").is_some() {
            let _ = tracing_subscriber::fmt()
                .with_env_filter("debug")
                .with_test_writer()
                .try_init();
        }
    });
}

/// Loads a policy the way the binary does, failing the test with the diagnostics if it has
/// errors.
pub fn load_policy(source: PolicySource) -> Loaded {
    let today = jiff::tz::TimeZone::UTC
        .to_datetime(jiff::Timestamp::now())
        .date();
    match ombud_policy::load(source, today) {
        Ok(loaded) => loaded,
        Err(rejected) => panic!("the test policy does not load:\n{rejected}"),
    }
}

/// The example policy with a comment added: the same rules, another version.
pub fn changed_example_policy() -> PolicySource {
    let mut source = ombud_policy::example::impero();
    source.files[0].text.push_str("\n# edited for a test\n");
    source
}

/// The API token of test servers.
pub const TEST_TOKEN: &str = "test-token-0123456789";

/// The one site origin test servers accept banner choices from.
pub const SITE_ORIGIN: &str = "https://www.example.test";

/// Settings for a server whose data lives in `dir`.
pub fn test_settings(dir: &Path) -> Settings {
    Settings {
        listen: "127.0.0.1:0".parse().unwrap(),
        metrics_listen: Some("127.0.0.1:0".parse().unwrap()),
        data_dir: dir.to_owned(),
        api_token: Some(TEST_TOKEN.into()),
        site_origins: vec![SITE_ORIGIN.to_owned()],
        ..Settings::default()
    }
}

/// A server with the example policy on a fresh SQLite store.
pub async fn spawn_app() -> TestApp {
    let dir = Arc::new(tempfile::tempdir().expect("temporary folder"));
    spawn_app_at(dir, ombud_policy::example::impero()).await
}

/// The server's secret key in tests.
pub const TEST_SECRET: &str = "test-secret-key-0123456789abcdef-0123456789";

/// A server that sends its mail to a real SMTP server on loopback.
pub async fn spawn_app_with_mail() -> (TestApp, ombud_testkit::SmtpSink) {
    spawn_app_with_mail_and(|_| {}).await
}

/// Same, with the settings changed by `adjust` first.
pub async fn spawn_app_with_mail_and(
    adjust: impl FnOnce(&mut Settings),
) -> (TestApp, ombud_testkit::SmtpSink) {
    let sink = ombud_testkit::SmtpSink::start();
    let dir = Arc::new(tempfile::tempdir().expect("temporary folder"));
    let mut settings = test_settings(dir.path());
    settings.smtp = Some(ombud_testkit::smtp_settings(sink.port()));
    settings.mail_from = Some("Impero Privacy <privacy@impero.test>".to_owned());
    settings.secret_key = Some(TEST_SECRET.into());
    adjust(&mut settings);
    let app = spawn_with(dir, ombud_policy::example::impero(), settings).await;
    (app, sink)
}

/// A server with `policy` on the store in `dir` (created there if missing).
pub async fn spawn_app_at(dir: Arc<TempDir>, policy: PolicySource) -> TestApp {
    let settings = test_settings(dir.path());
    spawn_with(dir, policy, settings).await
}

/// A server with `policy` and `settings` on the store in `dir`.
pub async fn spawn_with(
    dir: Arc<TempDir>,
    policy: PolicySource,
    mut settings: Settings,
) -> TestApp {
    init_test_log();
    if !settings.connections.contains_key("trial_db") {
        // The example data map's trial database, as `ombud demo` makes it.
        let url = ombud_connect::seed_sqlite(
            &dir.path().join("trial_db.sqlite"),
            ombud_policy::example::IMPERO_TRIAL_DB_SQL,
        )
        .await
        .expect("the demo database");
        settings.connections.insert("trial_db".into(), url.into());
    }
    let store = settings.open_store().await.expect("open the test store");
    let policy = load_policy(policy);
    let public = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let public_addr = public.local_addr().unwrap();
    let settings_copy = settings.clone();
    let metrics = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = url(public.local_addr().unwrap());
    let metrics_address = url(metrics.local_addr().unwrap());

    let (shutdown, stop) = oneshot::channel::<()>();
    let server = tokio::spawn({
        let store = store.clone();
        let policy = policy.clone();
        async move {
            let listeners = Listeners {
                public,
                metrics: Some(metrics),
            };
            let stop = async move {
                let _ = stop.await;
            };
            ombud_server::start(&settings, store, policy, listeners, stop).await
        }
    });
    let mut settings = settings_copy;
    settings.listen = public_addr;

    let app = TestApp {
        address,
        metrics_address,
        store,
        policy,
        settings,
        dir,
        client: reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap(),
        shutdown: Some(shutdown),
        server: Some(server),
    };
    app.wait_until_serving().await;
    app
}

fn url(addr: SocketAddr) -> String {
    format!("http://{addr}")
}

impl TestApp {
    /// `start` activates the policy before it serves; the listener accepts connections
    /// earlier (it was bound by us), so wait for the first answer.
    async fn wait_until_serving(&self) {
        for _ in 0..200 {
            if self.get_healthz().await.is_ok() {
                return;
            }
            assert!(
                !self.server.as_ref().is_some_and(JoinHandle::is_finished),
                "the server stopped while starting"
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("the server did not start serving");
    }

    /// Triggers a graceful shutdown, waits for `start` to return (at most 10 s) and closes
    /// the store, like the process exiting.
    pub async fn stop(mut self) -> Result<(), ServerError> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let server = self.server.take().expect("stopped once");
        let result = tokio::time::timeout(Duration::from_secs(10), server)
            .await
            .expect("start() returns within 10 s of the shutdown signal")
            .expect("the server task did not panic");
        self.store.close().await;
        result
    }

    pub async fn request(&self, method: Method, path: &str) -> Response {
        self.client
            .request(method, format!("{}{path}", self.address))
            .send()
            .await
            .expect("request to the public listener")
    }

    pub async fn get(&self, path: &str) -> Response {
        self.request(Method::GET, path).await
    }

    pub async fn get_healthz(&self) -> reqwest::Result<Response> {
        self.client
            .get(format!("{}/healthz", self.address))
            .send()
            .await
    }

    pub async fn get_readyz(&self) -> Response {
        self.get("/readyz").await
    }

    pub async fn get_privacy(&self) -> Response {
        self.get("/privacy").await
    }

    pub async fn get_privacy_markdown(&self) -> Response {
        self.get("/privacy.md").await
    }

    pub async fn get_policy(&self) -> Response {
        self.get("/api/v1/policy").await
    }

    pub async fn get_policy_versions(&self) -> Response {
        self.get("/api/v1/policy/versions").await
    }

    pub async fn get_openapi(&self) -> Response {
        self.get("/openapi.json").await
    }

    /// `GET /metrics` on the metrics listener.
    pub async fn get_metrics(&self) -> Response {
        self.client
            .get(format!("{}/metrics", self.metrics_address))
            .send()
            .await
            .expect("request to the metrics listener")
    }
}

impl Drop for TestApp {
    /// A test that fails half-way still stops its server.
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// Asserts that `response` is an RFC 9457 problem with `status`, and returns its body.
pub async fn assert_problem(response: Response, status: u16) -> serde_json::Value {
    assert_eq!(response.status().as_u16(), status, "status");
    assert_eq!(
        response.headers()["content-type"],
        ombud_server::PROBLEM_JSON,
        "a problem document"
    );
    let body: serde_json::Value = response.json().await.expect("problem JSON");
    assert_eq!(body["status"], status);
    assert!(body["type"].is_string(), "{body}");
    assert!(body["title"].is_string(), "{body}");
    assert!(body["detail"].is_string(), "{body}");
    body
}

/// Asserts the headers every response carries.
pub fn assert_security_headers(response: &Response) {
    let h = response.headers();
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["referrer-policy"], "no-referrer");
    assert_eq!(h["x-frame-options"], "DENY");
    let csp = h["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(!csp.contains("script-src"), "no script sources: {csp}");
}

/// Consent API and banner helpers.
impl TestApp {
    /// A request to the API with the test token.
    pub fn api(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.client
            .request(method, format!("{}{path}", self.address))
            .bearer_auth(TEST_TOKEN)
    }

    pub async fn post_consent_events(&self, body: &serde_json::Value) -> Response {
        self.api(Method::POST, "/api/v1/consent/events")
            .json(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn get_consent(&self, path_and_query: &str) -> Response {
        self.api(Method::GET, path_and_query).send().await.unwrap()
    }

    /// `GET /api/v1/consent/check` as JSON.
    pub async fn check(&self, subject: &str, purpose: &str) -> serde_json::Value {
        let r = self
            .api(Method::GET, "/api/v1/consent/check")
            .query(&[("subject", subject), ("purpose", purpose)])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        r.json().await.unwrap()
    }

    /// The policy version and banner revision a fresh banner carries.
    pub async fn banner_version(&self) -> (i64, String) {
        let version = self
            .get_policy()
            .await
            .json::<serde_json::Value>()
            .await
            .unwrap()["version"]
            .as_i64()
            .unwrap();
        (
            version,
            ombud_server::banner::cookie_revision(&self.policy.policy),
        )
    }

    /// Posts a banner choice, as the banner does.
    pub fn banner_choice(&self, body: &serde_json::Value) -> reqwest::RequestBuilder {
        self.client
            .post(format!("{}/c/consent", self.address))
            .json(body)
    }

    pub async fn consent_event_count(&self) -> i64 {
        self.store.consent_event_count().await.unwrap()
    }
}

impl TestApp {
    /// Runs SQL on the store's SQLite file behind the server's back (to make time pass).
    pub async fn raw_sql(&self, sql: &'static str) {
        use sqlx::Connection as _;
        let path = self.dir.path().join("ombud.db");
        let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}", path.display()))
            .await
            .unwrap();
        sqlx::query(sql).execute(&mut conn).await.unwrap();
        conn.close().await.unwrap();
    }
}

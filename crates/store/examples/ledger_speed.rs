use ombud_domain::consent::{Method, SubjectKey, Target};
use ombud_store::{NewConsentEvent, NewPolicyVersion, Store};

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().unwrap();
    let url = std::env::args().nth(1);
    let store = match url {
        Some(u) => Store::connect(&u).await.unwrap(),
        None => Store::open_sqlite(&dir.path().join("x.db")).await.unwrap(),
    };
    let h = "c".repeat(64);
    let v = store
        .activate_policy(NewPolicyVersion {
            hash: &h,
            content: "{}",
            label: "x",
            actor: "s",
        })
        .await
        .unwrap()
        .id;
    let batch = 100;
    let rounds = 200;
    let t = std::time::Instant::now();
    for r in 0..rounds {
        let events: Vec<_> = (0..batch)
            .map(|i| NewConsentEvent {
                subject: SubjectKey::visitor_from_bytes(((r * batch + i) as u128).to_be_bytes()),
                target: Target::parse("cookies:statistics").unwrap(),
                granted: true,
                method: Method::Banner,
                policy_version: v,
                wording_hash: Some("ab".repeat(32)),
                gpc: false,
                source: Some("https://www.example.com/".into()),
                recorded_by: None,
                user_agent: Some("Mozilla/5.0".into()),
                ip_prefix: Some("127.0.0.0/24".into()),
                at: jiff::Timestamp::now(),
                expires_at: None,
            })
            .collect();
        store.record_consent(&events).await.unwrap();
    }
    let e = t.elapsed();
    println!(
        "{} events in {:?}: {:.0} events/s, {:.1} us/event, {:.2} ms/batch",
        batch * rounds,
        e,
        (batch * rounds) as f64 / e.as_secs_f64(),
        e.as_micros() as f64 / (batch * rounds) as f64,
        e.as_secs_f64() * 1000.0 / rounds as f64
    );
}

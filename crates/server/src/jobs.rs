//! Background work: sending queued letters, expiring unverified requests and reminding the
//! privacy contact point of deadlines. Every node runs it; the store's leases make sure a letter
//! goes out once even when several nodes share a database.

use std::time::Duration;

use jiff::Timestamp;
use ombud_mail::Outgoing;
use tokio::sync::watch;

use crate::requests::RequestService;

/// How often queued letters are sent.
const OUTBOX_EVERY: Duration = Duration::from_secs(2);
/// How often the queue of request jobs is looked at.
const REQUEST_JOBS_EVERY: Duration = Duration::from_secs(1);
/// How often expiry and reminders run.
const HOUSEKEEPING_EVERY: Duration = Duration::from_secs(60);
/// How long a node holds a letter it is sending before another may take it.
const LEASE: Duration = Duration::from_secs(300);
/// Delays before retrying a letter whose sending failed; after the last it is given up.
const RETRIES_MIN: [i64; 6] = [1, 5, 15, 60, 240, 720];

/// Runs until `stop` turns true.
pub async fn run(service: RequestService, mut stop: watch::Receiver<bool>) {
    // The first rounds come one period after start, not during it.
    let start = tokio::time::Instant::now();
    let mut outbox = tokio::time::interval_at(start + OUTBOX_EVERY, OUTBOX_EVERY);
    let mut housekeeping = tokio::time::interval_at(start + OUTBOX_EVERY, HOUSEKEEPING_EVERY);
    let mut request_jobs = tokio::time::interval_at(start + REQUEST_JOBS_EVERY, REQUEST_JOBS_EVERY);
    request_jobs.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let owner = worker_name();
    loop {
        tokio::select! {
            changed = stop.changed() => {
                // A dropped sender means the server is gone too.
                if changed.is_err() || *stop.borrow() { return; }
            }
            _ = outbox.tick() => {
                if let Err(e) = send_outbox(&service).await {
                    tracing::warn!(error = %e, "sending queued letters failed");
                }
            }
            _ = request_jobs.tick() => {
                // A shutdown drops the job mid-way; it resumes from its checkpoint when its
                // lease runs out, here after a restart or on another node.
                tokio::select! {
                    r = service.run_jobs(&owner) => match r {
                        Ok(0) => {}
                        Ok(n) => tracing::info!(jobs = n, "request jobs run"),
                        Err(e) => tracing::warn!(error = %e, "running request jobs failed"),
                    },
                    () = stopped(&mut stop) => return,
                }
            }
            _ = housekeeping.tick() => {
                match service.delete_expired_packages().await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(packages = n, "expired export packages deleted"),
                    Err(e) => tracing::warn!(error = %e, "deleting expired packages failed"),
                }
                match service.expire_unverified().await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(expired = n, "unverified requests expired"),
                    Err(e) => tracing::warn!(error = %e, "expiring unverified requests failed"),
                }
                match service.send_reminders().await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(reminders = n, "deadline reminders queued"),
                    Err(e) => tracing::warn!(error = %e, "queuing reminders failed"),
                }
            }
        }
    }
}

/// Resolves once `stop` turns true (or its sender is gone).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    loop {
        if *stop.borrow() {
            return;
        }
        if stop.changed().await.is_err() {
            return;
        }
    }
}

/// This worker's name in job leases: unique per process.
fn worker_name() -> String {
    let mut bytes = [0u8; 6];
    let _ = getrandom::fill(&mut bytes);
    let suffix: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("server-{}-{suffix}", std::process::id())
}

/// Sends what is due in the outbox. Returns how many were sent.
pub async fn send_outbox(service: &RequestService) -> Result<usize, ombud_store::StoreError> {
    let store = service.store();
    let mut sent = 0;
    for m in store.lease_mail(20, LEASE).await? {
        let out = Outgoing {
            to: m.to.clone(),
            subject: m.subject.clone(),
            text: m.body.clone(),
            headers: Vec::new(),
        };
        match service.delivery().send(&out).await {
            Ok(()) => {
                store.mail_sent(m.id).await?;
                sent += 1;
            }
            Err(e) => {
                let retry = usize::try_from(m.attempts)
                    .ok()
                    .and_then(|a| RETRIES_MIN.get(a))
                    .filter(|_| e.is_transient())
                    .and_then(|min| {
                        Timestamp::now()
                            .checked_add(jiff::SignedDuration::from_mins(*min))
                            .ok()
                    });
                // The error text of a mail library can quote addresses; store its kind only.
                let reason = if e.is_transient() {
                    "temporary delivery failure"
                } else {
                    "permanent delivery failure"
                };
                tracing::warn!(letter = m.id, kind = %m.kind, reason, "a letter was not delivered");
                store.mail_failed(m.id, reason, retry).await?;
            }
        }
    }
    Ok(sent)
}

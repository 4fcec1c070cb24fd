//! Resuming after a kill: a worker dies in the middle of an erasure (its process panics), the
//! lease runs out, another worker leases the job with its checkpoint and finishes it; the end
//! is the end of a clean run on an identical database.

use std::sync::Mutex;
use std::time::Duration;

use ombud_domain::datamap::CollectionRef;
use ombud_fulfil::{JobKind, Progress, Quiet};
use ombud_store::JobState;

use crate::erasure::assert_erased;
use crate::support::*;

/// Kills the worker when the engine reports a collection of its second system (so the first
/// system's transaction has committed and been checkpointed), or its very first collection
/// (inside the first system's transaction).
struct Kill {
    on_second_system: bool,
    first: Mutex<Option<String>>,
}

impl Progress for Kill {
    fn collection(&self, c: &CollectionRef, _rows: u64) {
        let mut first = self.first.lock().unwrap();
        match first.as_deref() {
            None if !self.on_second_system => panic!("killed inside the first transaction"),
            None => *first = Some(c.system.to_string()),
            Some(s) if s != c.system.as_str() => panic!("killed in the second system"),
            Some(_) => {}
        }
    }
}

async fn killed_and_resumed(dbs: Vec<TestDb>, on_second_system: bool) {
    let mut dbs = dbs.into_iter();
    let (clean_db, killed_db) = (dbs.next().unwrap(), dbs.next().unwrap());
    let d = clean_db.dialect;
    let policy = policy(d);

    // The reference: a clean run.
    let clean = Env::new(clean_db, policy.clone()).await;
    let before = clean.snapshot().await;
    let subject = clean.subject_rows().await;
    let clean_outcome = clean.run_for_subject(JobKind::Erasure).await;
    let clean_after = clean.snapshot().await;

    // The same job, killed.
    let env = Env::new(killed_db, policy).await;
    assert_eq!(env.snapshot().await, before, "the twins start equal");
    let id = env
        .queue(JobKind::Erasure, &[("email", EMAIL)], Vec::new())
        .await;
    let job = env.lease(id, "worker-a").await;
    let doomed = env.new_engine();
    let engine = doomed.clone();
    let killed = tokio::spawn(async move {
        let kill = Kill {
            on_second_system,
            first: Mutex::new(None),
        };
        engine.run(&job, "worker-a", &kill).await
    })
    .await;
    assert!(
        killed.as_ref().is_err_and(|e| e.is_panic()),
        "the worker died: {killed:?}"
    );
    doomed.close().await;

    let stored = env.store.job(id).await.unwrap().unwrap();
    assert_eq!(stored.state, JobState::Running, "nobody finished the job");
    let middle = env.snapshot().await;
    if on_second_system {
        let checkpoint: serde_json::Value =
            serde_json::from_str(stored.checkpoint.as_deref().expect("a checkpoint")).unwrap();
        // Billing refers to the customers' keys: it goes first, the customers last.
        assert_eq!(
            checkpoint["systems_done"],
            serde_json::json!(["chinook_billing"]),
            "the system committed before the kill"
        );
        assert_ne!(middle, before, "the first system's changes were committed");
    } else {
        assert_eq!(stored.checkpoint, None);
        assert_eq!(middle, before, "the killed transaction was rolled back");
    }
    // The person's customer row is untouched until the end: the second system (or the
    // first, rolled back) holds it.
    assert_eq!(
        middle
            .table(d, "Customer")
            .cell(d, &CUSTOMER.to_string(), "Email")
            .as_deref(),
        Some(EMAIL),
        "the customer row is changed last"
    );

    // The dead worker's lease runs out; another worker takes the job over.
    assert!(
        env.store
            .renew_job(id, "worker-a", Duration::from_micros(1))
            .await
            .unwrap()
    );
    let job = loop {
        if let Some(job) = env
            .store
            .lease_job("worker-b", ombud_fulfil::LEASE)
            .await
            .unwrap()
        {
            break job;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    assert_eq!((job.id, job.attempts), (id, 2));
    let outcome = env
        .new_engine()
        .run(&job, "worker-b", &Quiet)
        .await
        .expect("the resumed job finishes");
    assert_eq!(
        env.store.job(id).await.unwrap().unwrap().state,
        JobState::Done
    );

    let after = env.snapshot().await;
    assert_erased(d, &before, &after, &subject);
    // The same end as the clean run, but for the keyed hash of the e-mail (each erasure
    // draws its own key).
    let mask = |s: &Snapshot| {
        let mut s = s.clone();
        let customers = s.tables.get_mut(&n(d, "Customer")).unwrap();
        let at = customers
            .columns
            .iter()
            .position(|c| *c == n(d, "Email"))
            .unwrap();
        let row = customers.rows.get_mut(&CUSTOMER.to_string()).unwrap();
        assert!(row[at].text.as_deref().unwrap().starts_with("erased:"));
        row[at].text = Some("erased:<hash>".into());
        s
    };
    assert_eq!(mask(&after), mask(&clean_after));
    let sorted = |o: &ombud_fulfil::Outcome| {
        let mut c = o.collections.clone();
        c.sort_by(|a, b| (&a.system, &a.collection).cmp(&(&b.system, &b.collection)));
        c
    };
    assert_eq!(
        sorted(&outcome),
        sorted(&clean_outcome),
        "the outcome adds up as a clean run's"
    );
}

async fn killed_after_the_first_system(dbs: Vec<TestDb>) {
    killed_and_resumed(dbs, true).await;
}

async fn killed_inside_the_first_transaction(dbs: Vec<TestDb>) {
    killed_and_resumed(dbs, false).await;
}

on_every_backend_twice!(killed_after_the_first_system, 2);
on_every_backend_twice!(killed_inside_the_first_transaction, 2);

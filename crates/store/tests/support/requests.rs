//! Builders for the rights-request tests: a plausible request, letter and change that each test
//! adjusts with struct update syntax.

use jiff::civil::{Date, date};
use ombud_domain::email::EmailAddress;
use ombud_domain::request::{Channel, RequestState, RequestType};
use ombud_store::{Change, Fields, NewMail, NewRequest, Store};

pub fn email(s: &str) -> EmailAddress {
    EmailAddress::parse(s).expect("a valid test address")
}

/// The day the test requests arrive, and their two deadlines.
pub const RECEIVED: Date = date(2026, 3, 30);
pub const PROMISED: Date = date(2026, 4, 9);
pub const LEGAL: Date = date(2026, 4, 30);

/// An access request by web form, just received.
pub fn new_request<'a>(
    reference: &'a str,
    email: &'a EmailAddress,
    version: i64,
) -> NewRequest<'a> {
    NewRequest {
        reference,
        kind: RequestType::Access,
        channel: Channel::Web,
        state: RequestState::Received,
        email,
        name: Some("Ann Example"),
        lang: "en",
        details: r#"{"message":"Please send me a copy of my data."}"#,
        received: RECEIVED,
        promised_due: PROMISED,
        legal_due: LEGAL,
        policy_version: version,
        repeat_of: None,
        actor: "web",
        note: None,
        mail: Vec::new(),
    }
}

/// A letter to `to`, not yet attached to a request.
pub fn letter<'a>(to: &'a str, kind: &'a str) -> NewMail<'a> {
    NewMail {
        to,
        subject: "Your request",
        body: "Dear Ann,\r\n\r\nwe received your request.\r\n",
        kind,
        request_id: None,
    }
}

/// A staff change by `user:3` that moves the request from `from` to `to` (both optional).
pub fn change<'a>(
    action: &'a str,
    from: Option<RequestState>,
    to: Option<RequestState>,
    audit_details: &'a str,
) -> Change<'a> {
    Change {
        actor: "user:3",
        action,
        from,
        to,
        note: None,
        set: Fields::default(),
        mail: Vec::new(),
        audit_details,
    }
}

/// Creates `n` received requests `R-<prefix>-0000`… for `email` and returns their ids.
pub async fn create_many(
    store: &Store,
    prefix: &str,
    n: usize,
    email: &EmailAddress,
    version: i64,
) -> Vec<i64> {
    let mut ids = Vec::with_capacity(n);
    for i in 0..n {
        let reference = format!("R-{prefix}-{i:04}");
        let r = store
            .create_request(&new_request(&reference, email, version))
            .await
            .expect("creating a request");
        ids.push(r.id);
    }
    ids
}

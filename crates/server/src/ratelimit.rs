//! Per-address rate limits for the doors that take guesses: the console's login and setup, and
//! the privacy centre's forms. A fixed window per client address, in memory on each node.
//!
//! The account lockout in [`crate::staff::login`] stops guessing at one account; this stops one
//! address from trying many (and from filling the outbox with identity codes).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Addresses remembered before expired windows are swept.
const SWEEP_AT: usize = 10_000;

/// At most `max` attempts per address in each `window`.
#[derive(Debug)]
pub(crate) struct Limiter {
    max: u32,
    window: Duration,
    seen: Mutex<HashMap<IpAddr, (Instant, u32)>>,
}

impl Limiter {
    pub(crate) fn new(max: u32, window: Duration) -> Limiter {
        Limiter {
            max,
            window,
            seen: Mutex::new(HashMap::new()),
        }
    }

    /// Counts an attempt from `ip` at `now`; false when the address is over its limit.
    pub(crate) fn allow_at(&self, ip: IpAddr, now: Instant) -> bool {
        let Ok(mut seen) = self.seen.lock() else {
            return true;
        };
        if seen.len() >= SWEEP_AT {
            let window = self.window;
            seen.retain(|_, (start, _)| now.duration_since(*start) < window);
        }
        let entry = seen.entry(ip).or_insert((now, 0));
        if now.duration_since(entry.0) >= self.window {
            *entry = (now, 0);
        }
        entry.1 += 1;
        entry.1 <= self.max
    }

    /// Counts an attempt from `ip` now. Requests with no known peer (in-process tests) pass.
    pub(crate) fn allow(&self, ip: Option<IpAddr>) -> bool {
        ip.is_none_or(|ip| self.allow_at(ip, Instant::now()))
    }
}

/// The peer address of a request, when the server recorded it.
pub(crate) fn peer(extensions: &axum::http::Extensions) -> Option<IpAddr> {
    extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip())
}

/// Refuses form posts to the guessing doors from an address over its limit, with 429 and a
/// page that says to wait: the console's login and setup, and the privacy centre's forms.
pub(crate) async fn doors(
    axum::extract::State(state): axum::extract::State<crate::state::AppState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::http::{Method, StatusCode, header};
    use axum::response::IntoResponse;
    if request.method() != Method::POST {
        return next.run(request).await;
    }
    let path = request.uri().path();
    let limiter = if path == "/console/login" || path.starts_with("/console/setup/") {
        &state.limits().login
    } else if path.starts_with("/privacy-centre") {
        &state.limits().centre
    } else {
        return next.run(request).await;
    };
    if limiter.allow(peer(request.extensions())) {
        return next.run(request).await;
    }
    tracing::warn!("a client address went over its rate limit");
    (
        StatusCode::TOO_MANY_REQUESTS,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::RETRY_AFTER, "60"),
        ],
        "<!doctype html><html lang=\"en\"><meta charset=\"utf-8\"><title>Too many attempts</title>\
         <h1>Too many attempts</h1><p>Too many attempts came from your address. Wait a minute \
         and try again.</p><p lang=\"da\">For mange forsøg fra din adresse. Vent et minut, og \
         prøv igen.</p></html>",
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_is_limited_per_window_and_others_are_not() {
        let l = Limiter::new(3, Duration::from_secs(60));
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        let t = Instant::now();
        assert!((0..3).all(|_| l.allow_at(a, t)));
        assert!(!l.allow_at(a, t));
        assert!(l.allow_at(b, t));
        assert!(l.allow_at(a, t + Duration::from_secs(61)));
    }
}

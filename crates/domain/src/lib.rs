//! The pure core of ombud: the policy model, legal bases and rights, working-day calendars and
//! deadlines, the audit chain's hashing, and staff roles, token scopes and TOTP.
//!
//! **Invariant:** nothing in this crate does I/O, spawns tasks or reads the clock. Every function
//! is deterministic in its arguments, which is why most unit and property tests live here.

pub mod audit;
pub mod calendar;
pub mod consent;
pub mod datamap;
pub mod deadline;
pub mod email;
pub mod policy;
pub mod request;
pub mod staff;

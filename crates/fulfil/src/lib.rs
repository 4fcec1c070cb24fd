//! Carrying out rights requests against the organisation's own databases.
//!
//! The request-execution engine ([`Engine`]): it takes the plan that
//! `ombud_domain::datamap::plan` makes from the data map and a person's verified identities,
//! reads (access, portability), erases, rectifies and restricts through the connectors
//! (`ombud-connect`), one transaction per system, and resumes after a crash from the job's
//! checkpoint. [`package`] is the streaming, encrypted export package that answers an access or
//! portability request; `traverse` finds the person's rows.

mod connections;
mod engine;
mod error;
pub mod package;
mod traverse;

pub use engine::{
    CollectionOutcome, Correction, Engine, EngineSettings, JobKind, JobSpec, LEASE, Outcome,
    PackageOutcome, Progress, Quiet, subject_keys, token_hash,
};
pub use error::EngineError;
pub use traverse::Person;

//! ombud store

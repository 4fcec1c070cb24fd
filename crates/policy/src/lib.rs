//! ombud policy

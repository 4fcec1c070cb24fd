//! ombud server

//! policy model (being written)

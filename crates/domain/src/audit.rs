//! audit (being written)

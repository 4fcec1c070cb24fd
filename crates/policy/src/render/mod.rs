//! Rendering (being written)

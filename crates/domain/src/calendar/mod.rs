//! calendar (being written)

//! The connectors against real PostgreSQL, MariaDB and SQLite databases, each test on a fresh
//! database of its own with the Chinook sample loaded. Nothing is mocked.

mod support;

mod draft;
mod errors;
mod hostile;
mod introspect;
mod rows;
mod types;

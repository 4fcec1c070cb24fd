//! Black-box tests of the server: real listeners on 127.0.0.1:0, a real SQLite store in a
//! temporary folder, the example policy. One test binary, so it links once.
//!
//! Set `TEST_LOG=1` to see the server's logs.

mod banner;
mod config;
mod consent;
mod console;
mod errors;
mod execution;
mod health;
mod helpers;
mod in_process;
mod lifecycle;
mod metrics;
mod notice;
mod openapi;
mod policy;
mod requests;
mod route_table;
mod tokens;

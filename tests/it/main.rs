//! The integration tests, as one binary: each module was a test crate of
//! its own, and linking the library into each took most of a fresh
//! `cargo test`. Fixtures stay in `tests/invalid/`, `tests/warnings/`,
//! `tests/invalid_families/`; the reference evaluators in `tests/naive/`;
//! snapshots in `snapshots/`.

mod apis;
mod attributes;
mod colour;
mod diagnostics;
mod diff;
mod differential;
mod explain;
mod export;
mod families;
mod family_diagnostics;
mod family_schema;
mod first_day;
mod fix;
mod fuzz;
mod limits;
mod reference_models;
mod schema;
mod verdicts;

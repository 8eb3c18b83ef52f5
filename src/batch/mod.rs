//! Batch runs: many files and variants, their outcomes and summary.

/// Expectations compared with what a run established.
pub mod expect;
/// Batch inputs: API and family files, in canonical order.
pub mod inputs;
/// One variant's outcome, as batch runs print and merge it.
pub mod outcome;
/// Parallel batch runs, whole or sharded.
pub mod runner;
/// Batch summaries: a table per file, totals.
pub mod summary;

//! Batch runs: many API and family files in, an outcome per variant and a
//! summary out.
//!
//! Takes paths and settings: [`inputs`] finds the files under the paths
//! in a canonical order (each an API file, a family or a broken file),
//! [`runner`] checks every variant, or one shard's slice, on a rayon pool
//! and hands the outcomes back in index order. Gives an
//! [`outcome::Outcome`] per variant (one JSON line, which `apisat merge`
//! reads back), compared with the file's `expect:` ([`expect`]), and the
//! table per file with totals ([`summary`], from outcomes only, so merged
//! shards print what one run prints).
//!
//! Names the front end (families expand there), the analysis and the
//! root's leaves; never `report` or `commands` (ARCHITECTURE.md,
//! "Layout").

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

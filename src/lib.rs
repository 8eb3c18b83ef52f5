//! apisat: finds API attacks on hardware security modules, or proves there
//! are none.
//!
//! The pipeline, one module a stage: [`yaml`] and [`spec`] read an API file,
//! [`lower`] checks it into a [`program::Program`], [`plan`] compiles each
//! rule into join plans, [`engine`] saturates the attacker's knowledge with
//! ascent, [`trace`] extracts the shortest attack, [`replay`] re-runs it on a
//! concrete HSM, and [`report`] prints the verdict.
#![forbid(unsafe_code)]

/// Command-line flags.
pub mod cli;
/// The commands, one module each.
pub mod commands;
/// Memory accounting for the memory limit (a counting global allocator).
pub mod memory;
/// A progress line on stderr for long single checks.
pub mod progress;
/// Colour on terminals (plain by default).
pub mod style;

/// Saturation, proofs, traces and verdicts.
pub mod analysis;
/// Batch runs: inputs, parallel runs, outcomes, summaries.
pub mod batch;
/// Reading and checking API files.
pub mod front;
/// Text and JSON output, DOT graphs, diffs, snapshots.
pub mod report;

pub use analysis::{
    check_file, check_file_with, engine, explain, fix, gf2, lifetime, matching, plan, policy_fix,
    prove, replay, shared, staged, stateful, strong, trace, verdict, Checked, LoadFailure,
};
pub use batch::{expect, inputs, outcome, runner, summary};
pub use front::{
    convert, diagnostic, export, family, lower, program, schema, spec, spi, syntax, term, yaml,
};
pub use report::{diff, dot, snapshot};

//! apisat: finds API attacks on hardware security modules, or proves there
//! are none.
//!
//! The source is laid out by stage, a folder each, every folder naming
//! only the ones before it (ARCHITECTURE.md, "Layout"): [`front`] reads an
//! API file ([`yaml`], [`spec`]) and checks it into a [`program::Program`]
//! ([`lower`]); [`analysis`] compiles each rule into join plans
//! ([`plan`]), saturates the attacker's knowledge with ascent
//! ([`engine`]), extracts the shortest attack ([`trace`]), re-runs it on a
//! concrete HSM ([`replay`]) and gives the [`verdict`]; [`report`] prints
//! it; [`batch`] runs many variants; [`commands`] are the command line's.
#![forbid(unsafe_code)]

/// Command-line flags.
pub mod cli;
/// The commands, one module each.
pub mod commands;
/// Memory accounting for the memory limit (a counting global allocator).
pub mod memory;
/// A progress line on stderr for long single checks.
pub mod progress;
// Colour on terminals, and `plural` (no outer doc, so that rustdoc
// resolves its doc's links in the module, as for the folders below).
pub mod style;

// The stage folders; each one's own doc says what it takes and gives
// (an outer doc here would make rustdoc resolve that doc's links at the
// root).
pub mod analysis;
pub mod batch;
pub mod front;
pub mod report;

// Every module at its path from before the folders (`apisat::verdict`),
// the path library users, the README, the tests and the bench write.
// Inside src/, paths name the folder (`crate::analysis::verdict`).
pub use analysis::{
    check_file, check_file_with, engine, explain, fix, gf2, lifetime, matching, plan, policy_fix,
    prove, replay, shared, staged, stateful, strong, trace, verdict, Checked, LoadFailure,
};
pub use batch::{expect, inputs, outcome, runner, summary};
pub use front::{
    convert, diagnostic, export, family, lower, program, schema, spec, spi, syntax, term, yaml,
};
pub use report::{diff, dot, snapshot};

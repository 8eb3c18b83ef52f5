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
    engine, explain, fix, gf2, lifetime, matching, plan, policy_fix, prove, replay, shared, staged,
    stateful, strong, trace, verdict,
};
pub use batch::{expect, inputs, outcome, runner, summary};
pub use front::{
    convert, diagnostic, export, family, lower, program, schema, spec, spi, syntax, term, yaml,
};
pub use report::{diff, dot, snapshot};

use std::path::Path;

use diagnostic::Diagnostic;

/// A file that was checked: its report, the warnings lowering gave, and
/// its source text (for rendering them).
#[derive(Debug)]
pub struct Checked {
    /// The verdict and everything behind it.
    pub report: verdict::Report,
    /// Warnings about the file (it was checked anyway).
    pub warnings: Vec<Diagnostic>,
    /// The file's text.
    pub source: String,
}

/// A file that could not be checked: every error found in it.
#[derive(Debug)]
pub struct LoadFailure {
    /// The errors (and warnings).
    pub diagnostics: Vec<Diagnostic>,
    /// The file's text, when it could be read.
    pub source: Option<String>,
}

/// Reads, checks and verdicts one API file: the whole pipeline.
pub fn check_file(path: &Path, settings: verdict::Settings) -> Result<Checked, LoadFailure> {
    check_file_with(path, settings, false)
}

/// [`check_file`]; with `strong`, each secret's strong secrecy decided too
/// ([`strong`]).
pub fn check_file_with(
    path: &Path,
    settings: verdict::Settings,
    strong: bool,
) -> Result<Checked, LoadFailure> {
    let source = lower::read_source(path).ok();
    let loaded = lower::load_file(path).map_err(|diagnostics| LoadFailure {
        diagnostics,
        source: source.clone(),
    })?;
    let report = strong::check(loaded.program, settings, strong);
    Ok(Checked {
        report,
        warnings: loaded.warnings,
        source: loaded.source,
    })
}

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
/// Converting API files between YAML and the spi notation.
pub mod convert;
/// Located error messages.
pub mod diagnostic;
/// Comparing two APIs' knowledge sets and secrets.
pub mod diff;
/// Attacks as Graphviz DOT graphs.
pub mod dot;
/// Saturation with ascent.
pub mod engine;
/// Expectations compared with what a run established.
pub mod expect;
/// Why one term is or is not derivable: derivation trees, closest misses.
pub mod explain;
/// Exports to ProVerif and Tamarin.
pub mod export;
/// Family files: a base API and its variants.
pub mod family;
/// What to fix: necessary functions and minimal removal sets.
pub mod fix;
/// Linear algebra over GF(2): spans of XOR terms.
pub mod gf2;
/// Batch inputs: API and family files, in canonical order.
pub mod inputs;
/// Lifetime histories: the refinement that proves sticky/conflict fixes.
pub mod lifetime;
/// Checking a spec into a program.
pub mod lower;
/// Matching patterns against terms modulo XOR.
pub mod matching;
/// Memory accounting for the memory limit (a counting global allocator).
pub mod memory;
/// One variant's outcome, as batch runs print and merge it.
pub mod outcome;
/// Compiling rules into join plans.
pub mod plan;
/// What to fix in an attribute policy: minimal sets of policy changes.
pub mod policy_fix;
/// The checked program the engine runs.
pub mod program;
/// A progress line on stderr for long single checks.
pub mod progress;
/// Proof mode: saturation over facts with variables.
pub mod prove;
/// Concrete replay of attacks.
pub mod replay;
/// Text and JSON output.
pub mod report;
/// Parallel batch runs, whole or sharded.
pub mod runner;
/// The JSON Schema of the API language, generated from the field tables.
pub mod schema;
/// Printing a report's terms with large shared parts named once.
pub mod shared;
/// A stable surface for snapshot tests of users' own APIs.
pub mod snapshot;
/// The API file's structure, typed from YAML.
pub mod spec;
/// The spi-calculus front end: `.spi` files read into the same spec.
pub mod spi;
/// Saturation for large APIs: proof mode first, then the bounded search in
/// call stages, stopping once every secret is decided.
pub mod staged;
/// Bounded exhaustive search for attacks on a token with state.
pub mod stateful;
/// Strong secrecy (`check --strong`): where it can be argued.
pub mod strong;
/// Colour on terminals (plain by default).
pub mod style;
/// Batch summaries: a table per file, totals.
pub mod summary;
/// Term and check string syntax.
pub mod syntax;
/// Terms, symbols and the interning store.
pub mod term;
/// Shortest derivations and attacks.
pub mod trace;
/// Verdicts and what they rest on.
pub mod verdict;
/// YAML with source positions (the only module naming serde_yaml).
pub mod yaml;

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

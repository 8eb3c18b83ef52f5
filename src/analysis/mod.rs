//! The analysis: a checked program in, a verdict out.
//!
//! Takes a [`Program`](crate::front::program::Program) and
//! [`verdict::Settings`] (bounds, limits) and gives a [`verdict::Report`]:
//! per secret, derivable with its shortest attack and whether it replays,
//! not derivable (proved, or within the bounds), or unknown when a limit
//! stopped the run, and what the verdict rests on, every term already
//! printed. [`check_file`] runs the front end first, for one file.
//!
//! [`verdict::check_program`] runs the stages: each rule compiled to join
//! plans ([`plan`], matching modulo XOR in [`matching`]); saturation with
//! ascent ([`engine`], the attacker's XOR as GF(2) spans in [`gf2`]), or,
//! for an API too large for a quick fixpoint, proof mode first and the
//! bounded search in stages ([`staged`]); the cheapest derivations
//! ([`trace`]); each attack replayed on a concrete HSM ([`replay`]), and
//! one that replay cannot confirm, on a token with objects, put to the
//! lifetime model ([`lifetime`]) and then the search with state
//! ([`stateful`]); proof
//! mode for "proved" ([`prove`]); strong secrecy when asked ([`strong`]);
//! large shared terms named once ([`shared`]). On top of the check: why a
//! term is derivable or not ([`explain`]), which functions to remove
//! ([`fix`]) or which policy to change ([`policy_fix`]).
//!
//! Names the front end, its own modules and the root's leaves (`memory`,
//! `progress`, `style`); never `report`, `batch` or `commands`
//! (ARCHITECTURE.md, "Layout").

/// Saturation with ascent.
pub mod engine;
/// Why one term is or is not derivable: derivation trees, closest misses.
pub mod explain;
/// What to fix: necessary functions and minimal removal sets.
pub mod fix;
/// Linear algebra over GF(2): spans of XOR terms.
pub mod gf2;
/// Lifetime histories: the refinement that proves sticky/conflict fixes.
pub mod lifetime;
/// Matching patterns against terms modulo XOR.
pub mod matching;
/// Compiling rules into join plans.
pub mod plan;
/// What to fix in an attribute policy: minimal sets of policy changes.
pub mod policy_fix;
/// Proof mode: saturation over facts with variables.
pub mod prove;
/// Concrete replay of attacks.
pub mod replay;
/// Printing a report's terms with large shared parts named once.
pub mod shared;
/// Saturation for large APIs: proof mode first, then the bounded search in
/// call stages, stopping once every secret is decided.
pub mod staged;
/// Bounded exhaustive search for attacks on a token with state.
pub mod stateful;
/// Strong secrecy (`check --strong`): where it can be argued.
pub mod strong;
/// Shortest derivations and attacks.
pub mod trace;
/// Verdicts and what they rest on.
pub mod verdict;

use std::path::Path;

use crate::front::diagnostic::Diagnostic;
use crate::front::lower;

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

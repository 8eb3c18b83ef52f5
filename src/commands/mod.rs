//! One module per `apisat` command; each returns its exit code.
//!
//! Exit codes: 0 secure, 1 a secret derivable, 2 bad input or usage,
//! 3 a resource limit stopped saturation. With several inputs the worst
//! wins, in the order 2, 1, 3, 0 ([`ExitCode`]).

/// `apisat batch`.
pub mod batch;
/// `apisat check`.
pub mod check;
/// `apisat diff`.
pub mod diff;
/// `apisat explain`.
pub mod explain;
/// `apisat fix`.
pub mod fix;
/// `apisat knowledge`.
pub mod knowledge;
/// `apisat merge`.
pub mod merge;
/// `apisat schema`.
pub mod schema;
/// `apisat test`.
pub mod test;

use crate::cli::Command;
use crate::diagnostic::{render_all, Diagnostic, Span};
use crate::inputs::VariantPattern;
use crate::outcome::Outcome;
use crate::verdict::Verdict;

/// The worst exit code seen so far across several inputs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ExitCode(pub u8);

impl ExitCode {
    /// Bad input or usage.
    pub const BAD_INPUT: ExitCode = ExitCode(2);
    /// A secret is derivable (or a test failed).
    pub const ATTACK: ExitCode = ExitCode(1);

    /// The exit code of a verdict.
    pub fn of(v: Verdict) -> ExitCode {
        ExitCode(match v {
            Verdict::Secure => 0,
            Verdict::Attack => 1,
            Verdict::Limit => 3,
        })
    }

    fn rank(self) -> u8 {
        match self.0 {
            2 => 3,
            1 => 2,
            3 => 1,
            _ => 0,
        }
    }

    /// The exit code of a batch outcome.
    pub fn of_outcome(o: &Outcome) -> ExitCode {
        ExitCode(o.exit_code())
    }

    /// Keeps the worse of the two codes.
    pub fn note(&mut self, other: ExitCode) {
        if other.rank() > self.rank() {
            *self = other;
        }
    }
}

/// Runs a parsed command line; returns the exit code.
pub fn run(command: Command) -> ExitCode {
    match command {
        Command::Check {
            files,
            format,
            variant,
            search,
        } => check::run(
            &files,
            format,
            variant.map(VariantPattern),
            search.settings(),
        ),
        Command::Knowledge { file, search } => knowledge::run(&file, search.settings()),
        Command::Schema { family } => schema::run(family),
        Command::Fix {
            file,
            format,
            max_size,
            max_checks,
            search,
        } => fix::run(
            &file,
            format,
            search.settings(),
            crate::fix::FixLimits {
                max_size: max_size as usize,
                max_checks: max_checks as usize,
            },
        ),
        Command::Diff {
            a,
            b,
            format,
            search,
        } => diff::run(&a, &b, format, search.settings()),
        Command::Explain {
            file,
            term,
            format,
            search,
        } => explain::run(&file, &term, format, search.settings()),
        Command::Batch {
            paths,
            format,
            jobs,
            shard,
            no_time,
            variant,
            search,
        } => batch::run(
            &paths,
            format,
            jobs,
            shard,
            no_time,
            variant.map(VariantPattern),
            search.settings(),
        ),
        Command::Test {
            paths,
            jobs,
            variant,
            search,
        } => test::run(&paths, jobs, variant.map(VariantPattern), search.settings()),
        Command::Merge {
            files,
            format,
            no_time,
        } => merge::run(&files, format, no_time),
    }
}

/// Loads an API file for a command that takes one; prints its diagnostics
/// (errors, or warnings) to stderr. `None` means exit code 2.
pub fn load_api(file: &std::path::Path) -> Option<crate::lower::Loaded> {
    match crate::lower::load_file(file) {
        Ok(loaded) => {
            if !loaded.warnings.is_empty() {
                eprint!("{}", render_all(&loaded.warnings, Some(&loaded.source)));
            }
            Some(loaded)
        }
        Err(diagnostics) => {
            let source = crate::lower::read_source(file).ok();
            eprint!("{}", render_all(&diagnostics, source.as_deref()));
            None
        }
    }
}

/// Worker threads: as asked, else one per core.
pub fn jobs(asked: Option<u64>) -> usize {
    asked
        .filter(|j| *j > 0)
        .map(|j| j as usize)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// Prints the errors of failed outcomes to stderr, each located error
/// once (a family's variants often share one), with its source line.
pub fn print_errors(outcomes: &[Outcome]) {
    let mut seen = std::collections::HashSet::new();
    let mut by_file: Vec<(String, Vec<Diagnostic>)> = Vec::new();
    for o in outcomes {
        for e in &o.errors {
            if !seen.insert((e.file.clone(), e.line, e.column, e.message.clone())) {
                continue;
            }
            let mut d = Diagnostic::error(
                &e.file,
                Span::new(e.line, e.column, e.length.max(1)),
                e.message.clone(),
            );
            d.help = e.help.clone();
            match by_file.iter_mut().find(|(f, _)| *f == e.file) {
                Some((_, list)) => list.push(d),
                None => by_file.push((e.file.clone(), vec![d])),
            }
        }
    }
    for (file, diags) in by_file {
        let source = crate::lower::read_source(std::path::Path::new(&file)).ok();
        eprint!("{}", render_all(&diags, source.as_deref()));
    }
}

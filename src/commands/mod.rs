//! One module per `apisat` command; each returns its exit code.
//!
//! Exit codes: 0 secure, 1 a secret derivable, 2 bad input or usage,
//! 3 a resource limit stopped saturation. With several inputs the worst
//! wins, in the order 2, 1, 3, 0 ([`ExitCode`]).

/// `apisat check`.
pub mod check;
/// `apisat knowledge`.
pub mod knowledge;
/// `apisat schema`.
pub mod schema;

use crate::cli::Command;
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
            search,
        } => check::run(&files, format, search.settings()),
        Command::Knowledge { file, search } => knowledge::run(&file, search.settings()),
        Command::Schema => schema::run(),
    }
}

//! `apisat diff A B`: what the attacker learns under one API and not the
//! other, and which secrets change status.

use std::path::Path;

use super::ExitCode;
use crate::cli::{emit, TextOrJson};
use crate::diagnostic::render_all;
use crate::diff::{diff, text};
use crate::verdict::{Report, Settings};

/// Checks both files and prints their difference. Exit 0 when the knowledge
/// sets and the secrets' statuses are the same, 1 when they differ, 2 when
/// either file is bad input.
pub fn run(a: &Path, b: &Path, format: TextOrJson, settings: Settings) -> ExitCode {
    let (Some(ra), Some(rb)) = (load(a, settings), load(b, settings)) else {
        return ExitCode::BAD_INPUT;
    };
    let d = diff(&ra, &rb);
    match format {
        TextOrJson::Text => emit(&text(&d)),
        TextOrJson::Json => {
            let json = serde_json::to_string_pretty(&d).unwrap_or_default();
            emit(&format!("{json}\n"));
        }
    }
    if d.is_empty() {
        ExitCode::default()
    } else {
        ExitCode::ATTACK
    }
}

/// Checks one file; prints its diagnostics to stderr.
fn load(file: &Path, settings: Settings) -> Option<Report> {
    match crate::check_file(file, settings) {
        Ok(checked) => {
            if !checked.warnings.is_empty() {
                eprint!("{}", render_all(&checked.warnings, Some(&checked.source)));
            }
            Some(checked.report)
        }
        Err(failed) => {
            eprint!(
                "{}",
                render_all(&failed.diagnostics, failed.source.as_deref())
            );
            None
        }
    }
}

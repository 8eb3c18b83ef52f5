//! `apisat diff A B`: what the attacker learns under one API and not the
//! other, and which secrets change status.

use std::path::Path;

use super::ExitCode;
use crate::analysis::verdict::{check_program, Report, Settings};
use crate::batch::inputs::{self, Input, VariantPattern};
use crate::cli::{emit, TextOrJson};
use crate::report::diff::{diff, text};

/// Checks both files and prints their difference. `variant` picks the
/// variant of each family file among A and B, `variant_b` B's instead.
/// Exit 0 when the knowledge sets and the secrets' statuses are the same,
/// 1 when they differ, 2 when either file is bad input.
pub fn run(
    a: &Path,
    b: &Path,
    format: TextOrJson,
    variant: Option<&VariantPattern>,
    variant_b: Option<&VariantPattern>,
    settings: Settings,
) -> ExitCode {
    let (ia, ib) = (inputs::read(a), inputs::read(b));
    let family = |i: &Input| matches!(i, Input::Family(_));
    if let (Some(p), false, false) = (variant, family(&ia), family(&ib)) {
        eprintln!(
            "error: `--variant {}` picks a variant of a family file, and neither {} nor {} is one\n  = help: leave out `--variant`, or give a family file",
            p.0,
            a.display(),
            b.display()
        );
        return ExitCode::BAD_INPUT;
    }
    let va = variant.filter(|_| family(&ia));
    let vb = variant_b.or(variant.filter(|_| family(&ib)));
    let ra = load(ia, a, va, settings);
    let rb = load(ib, b, vb, settings);
    let (Some(ra), Some(rb)) = (ra, rb) else {
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

/// Checks one file (a family's variant); prints its diagnostics to stderr.
fn load(
    input: Input,
    file: &Path,
    variant: Option<&VariantPattern>,
    settings: Settings,
) -> Option<Report> {
    let loaded = super::load_input(input, file, variant, "diff")?;
    Some(check_program(loaded.program, settings))
}

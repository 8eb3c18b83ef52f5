//! `apisat test PATH...`: checks every expectation (`expect:`) of the API
//! files and family variants under the paths, and reports like a test
//! runner: a line per variant with expectations, a readable diff per
//! mismatch, a result line. Exit 1 on any mismatch, 2 on a bad file.

use std::fmt::Write as _;
use std::path::PathBuf;

use super::{jobs, print_errors, ExitCode};
use crate::analysis::verdict::Settings;
use crate::batch::inputs::{self, VariantPattern};
use crate::batch::outcome::Outcome;
use crate::batch::runner::{self, Options};
use crate::cli::emit;
use crate::style::plural;

/// Runs every variant and compares its expectations.
pub fn run(
    paths: &[PathBuf],
    jobs_asked: Option<u64>,
    variants: Option<VariantPattern>,
    settings: Settings,
) -> ExitCode {
    let inputs = inputs::collect(paths);
    let options = Options {
        settings,
        jobs: jobs(jobs_asked),
        shard: None,
        progress: true,
        expected_only: true,
        variants: variants.as_ref(),
    };
    let mut all: Vec<Outcome> = Vec::new();
    runner::run(&inputs, options, |round| all.extend(round));
    print_errors(&all);
    let (text, code) = render(&all);
    emit(&text);
    code
}

/// The test runner's report of the outcomes, and its exit code.
pub fn render(outcomes: &[Outcome]) -> (String, ExitCode) {
    let mut out = String::new();
    let (mut passed, mut failed, mut errors, mut without) = (0, 0, 0, 0);
    let mut checked = 0;
    for o in outcomes {
        let title = o.title();
        if o.verdict == "error" {
            errors += 1;
            let _ = writeln!(
                out,
                "test {title} ... ERROR (the file does not load; see above)"
            );
        } else if o.expectations == 0 || o.verdict == "unchecked" {
            without += 1;
        } else if o.failures.is_empty() {
            passed += 1;
            checked += o.expectations;
            let _ = writeln!(out, "test {title} ... ok");
        } else {
            failed += 1;
            checked += o.expectations;
            let _ = writeln!(out, "test {title} ... FAILED");
        }
    }
    let failing: Vec<&Outcome> = outcomes.iter().filter(|o| !o.failures.is_empty()).collect();
    if !failing.is_empty() {
        let _ = writeln!(out, "\nfailures:");
        for o in &failing {
            let _ = writeln!(out, "\n---- {} ----", o.title());
            for f in &o.failures {
                let _ = writeln!(
                    out,
                    "{}:{}:{}: secret `{}`",
                    f.file, f.line, f.column, f.label
                );
                let _ = writeln!(out, "  - expected: {}", f.expected);
                let _ = writeln!(out, "  + got:      {}", f.got);
            }
        }
    }
    let status = if failed > 0 || errors > 0 {
        "FAILED"
    } else {
        "ok"
    };
    let _ = writeln!(
        out,
        "\ntest result: {status}. {passed} passed; {failed} failed; {}; {without} without expectations ({} checked)",
        plural(errors, "error"),
        plural(checked as u64, "expectation")
    );
    let code = if errors > 0 {
        ExitCode::BAD_INPUT
    } else if failed > 0 {
        ExitCode::ATTACK
    } else {
        ExitCode::default()
    };
    (out, code)
}

//! `apisat batch PATH...`: every API file and family variant, in parallel;
//! a summary table or JSON Lines.

use std::path::PathBuf;

use super::{jobs, print_errors, ExitCode};
use crate::analysis::verdict::Settings;
use crate::batch::inputs::{self, VariantPattern};
use crate::batch::outcome::Outcome;
use crate::batch::runner::{self, Options, Shard};
use crate::batch::summary::{self, Layout};
use crate::cli::{emit, TextOrJson};

/// Runs the batch; the exit code is the worst outcome's.
pub fn run(
    paths: &[PathBuf],
    format: TextOrJson,
    jobs_asked: Option<u64>,
    shard: Option<Shard>,
    no_time: bool,
    variants: Option<VariantPattern>,
    settings: Settings,
) -> ExitCode {
    let inputs = inputs::collect(paths);
    let options = Options {
        settings,
        jobs: jobs(jobs_asked),
        shard,
        progress: true,
        expected_only: false,
        variants: variants.as_ref(),
    };
    let mut worst = ExitCode::default();
    let mut all: Vec<Outcome> = Vec::new();
    runner::run(&inputs, options, |mut round| {
        for o in &round {
            worst.note(ExitCode::of_outcome(o));
        }
        print_errors(&round);
        match format {
            TextOrJson::Json => {
                let mut text = String::new();
                for o in &mut round {
                    if no_time {
                        o.elapsed_ms = None;
                    }
                    text.push_str(&serde_json::to_string(o).unwrap_or_default());
                    text.push('\n');
                }
                emit(&text);
            }
            TextOrJson::Text => all.extend(round),
        }
    });
    if format == TextOrJson::Text {
        emit(&summary::render(&all, Layout { time: !no_time }));
    }
    worst
}

//! `apisat merge FILE...`: joins the JSON Lines of sharded batch runs into
//! the summary of one run, after checking that every variant is there once.

use std::io::Read;
use std::path::PathBuf;

use super::ExitCode;
use crate::batch::outcome::Outcome;
use crate::batch::summary::{self, plural, Layout};
use crate::cli::{emit, TextOrJson};

/// Reads, checks and prints the joined outcomes.
pub fn run(files: &[PathBuf], format: TextOrJson, no_time: bool) -> ExitCode {
    let mut outcomes: Vec<Outcome> = Vec::new();
    let mut bad = false;
    for file in files {
        let name = file.display().to_string();
        let text = if name == "-" {
            let mut s = String::new();
            std::io::stdin().read_to_string(&mut s).map(|_| s)
        } else {
            std::fs::read_to_string(file)
        };
        let text = match text {
            Ok(t) => t,
            Err(e) => {
                eprintln!("error: {name}: cannot read it: {e}");
                eprintln!("  help: give the files `apisat batch --format json --shard I/N` wrote");
                bad = true;
                continue;
            }
        };
        for (n, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            match serde_json::from_str::<Outcome>(line) {
                Ok(o) => outcomes.push(o),
                Err(e) => {
                    eprintln!("error: {name}:{}: not a batch outcome: {e}", n + 1);
                    eprintln!("  help: merge reads the output of `apisat batch --format json`, one object a line");
                    bad = true;
                }
            }
        }
    }
    outcomes.sort_by_key(|o| o.index);
    if let Some(problem) = completeness(&outcomes) {
        eprintln!("error: {problem}");
        eprintln!("  help: merge the output of every shard 1/N to N/N of the same run, each once");
        bad = true;
    }
    let mut worst = ExitCode::default();
    for o in &outcomes {
        worst.note(ExitCode::of_outcome(o));
    }
    if bad {
        worst.note(ExitCode::BAD_INPUT);
    }
    match format {
        TextOrJson::Text => emit(&summary::render(&outcomes, Layout { time: !no_time })),
        TextOrJson::Json => {
            let mut text = String::new();
            for o in &mut outcomes {
                if no_time {
                    o.elapsed_ms = None;
                }
                text.push_str(&serde_json::to_string(o).unwrap_or_default());
                text.push('\n');
            }
            emit(&text);
        }
    }
    worst
}

/// Why the outcomes are not exactly one whole run, if they are not.
fn completeness(outcomes: &[Outcome]) -> Option<String> {
    let total = outcomes.first()?.total;
    if let Some(o) = outcomes.iter().find(|o| o.total != total) {
        return Some(format!(
            "the outcomes come from different runs: {} and {} ({})",
            plural(total, "variant"),
            o.total,
            o.title()
        ));
    }
    let mut missing = Vec::new();
    let mut next = 0u64;
    for o in outcomes {
        if o.index < next {
            return Some(format!("variant {} ({}) appears twice", o.index, o.title()));
        }
        missing.extend(next..o.index.min(next + 5));
        next = o.index + 1;
    }
    let count_missing = total - outcomes.len() as u64;
    if total > next {
        missing.extend(next..total.min(next + 5));
    }
    if count_missing > 0 {
        let shown: Vec<String> = missing.iter().take(5).map(|i| i.to_string()).collect();
        return Some(format!(
            "{count_missing} of {} {} missing (indexes {}{})",
            plural(total, "variant"),
            if count_missing == 1 { "is" } else { "are" },
            shown.join(", "),
            if count_missing > 5 { ", ..." } else { "" }
        ));
    }
    None
}

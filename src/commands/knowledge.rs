//! `apisat knowledge FILE`: the saturated knowledge set, one term a line,
//! or as JSON with what it rests on.

use std::path::Path;

use serde::Serialize;

use super::ExitCode;
use crate::analysis::verdict::{self, LimitReport, Proof, Report, Settings, Verdict};
use crate::batch::inputs::VariantPattern;
use crate::cli::{emit, TextOrJson};
use crate::report;

/// `apisat knowledge --format json`: the knowledge set and what it rests
/// on. Fields in this order.
#[derive(Clone, Debug, Serialize)]
pub struct KnowledgeJson<'a> {
    /// The file checked (the family file, for a variant).
    pub file: &'a str,
    /// The API's name (`family / variant` for a variant).
    pub api: &'a str,
    /// The verdict of the same run, as `check` gives it.
    pub verdict: Verdict,
    /// For `secure`: `proved` or `up-to`.
    pub proof: Option<Proof>,
    /// True when the set is everything the attacker can obtain within the
    /// model: saturation reached a fixpoint and no bound cut a rule
    /// instance. False: it is what the bounded run obtained (see `bounds`,
    /// `limit`).
    pub complete: bool,
    /// What the set is, in a sentence.
    pub rests_on: String,
    /// The bounds that cut rule instances in the run the set comes from
    /// (`input-depth 0`), even when proof mode then proved the verdict.
    pub bounds: &'a [String],
    /// The limit that stopped saturation, if one did.
    pub limit: Option<&'a LimitReport>,
    /// How many terms.
    pub known: usize,
    /// The terms, printed, shorter first, then by text (the text output's
    /// order).
    pub knowledge: &'a [String],
}

impl<'a> KnowledgeJson<'a> {
    /// The JSON of a report's knowledge set.
    pub fn of(r: &'a Report) -> Self {
        let complete = r.limit.is_none() && r.knowledge_cuts.is_empty();
        let rests_on = if let Some(l) = &r.limit {
            let what = match l.limit.as_str() {
                "time" => format!("the time limit of {} ms", l.value),
                _ => format!("the fact limit of {}", l.value),
            };
            format!(
                "{what} stopped saturation: these are the terms known by then, not all the attacker can obtain"
            )
        } else if !complete {
            format!(
                "bounds cut rule instances ({}): these are the terms the bounded run obtained; beyond the bounds the attacker may obtain more",
                r.knowledge_cuts.join(", ")
            )
        } else {
            "saturation reached a fixpoint and no bound cut any rule instance: these are all the terms the attacker can obtain, within the Dolev-Yao model and the fresh-value abstraction (it can build more from them with public constructors)".to_string()
        };
        // Secrets the monotone model derives and the lifetime model proves
        // out of reach: the set (the monotone model's) holds what no token
        // run gives.
        let lifetime: Vec<&str> = r
            .secrets
            .iter()
            .filter(|s| s.derivable == Some(false) && s.lifetime.is_some())
            .map(|s| s.label.as_str())
            .collect();
        let rests_on = if lifetime.is_empty() {
            rests_on
        } else {
            format!(
                "{rests_on}; it is the monotone model's set (a handle keeps every attribute set it had), so it may hold terms no token run gives: the lifetime model proves {} out of reach",
                lifetime.join(", ")
            )
        };
        KnowledgeJson {
            file: &r.file,
            api: &r.api,
            verdict: r.verdict,
            proof: r.proof,
            complete,
            rests_on,
            bounds: &r.knowledge_cuts,
            limit: r.limit.as_ref(),
            known: r.knowledge.len(),
            knowledge: &r.knowledge,
        }
    }
}

/// Prints the knowledge set of one file (of the family variant `variant`
/// picks); the exit code is the run's verdict (2 for bad input).
pub fn run(
    file: &Path,
    format: TextOrJson,
    variant: Option<&VariantPattern>,
    settings: Settings,
) -> ExitCode {
    let Some(loaded) = super::load_one(file, variant, "knowledge") else {
        return ExitCode::BAD_INPUT;
    };
    let report = verdict::check_program(loaded.program, settings);
    match format {
        TextOrJson::Text => emit(&report::knowledge(&report)),
        TextOrJson::Json => {
            let json =
                serde_json::to_string_pretty(&KnowledgeJson::of(&report)).unwrap_or_default();
            emit(&format!("{json}\n"));
        }
    }
    ExitCode::of(report.verdict)
}

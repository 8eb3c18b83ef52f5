//! The outcome of checking one variant, as batch runs print it (one JSON
//! object a line) and `apisat merge` reads it back.
//!
//! An [`Outcome`] holds everything the summary table needs, so that the
//! JSON Lines of several shards merge into the same summary as one run.

use serde::{Deserialize, Serialize};

use crate::analysis::verdict::{Proof, Report, Verdict};
use crate::batch::expect::Failure;
use crate::front::diagnostic::Diagnostic;

/// One secret's status in one variant.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecretOutcome {
    /// The secret's label.
    pub label: String,
    /// `derivable`, `no-stateful-attack` or `unconfirmed` (derivable in the
    /// abstract model only: no attack with state within the search's bound,
    /// or its budget ran out), `proved` (not derivable, proved), `up-to` (not
    /// derivable within bounds), `not-derivable` (no bound cut), or
    /// `unknown` (a limit stopped the run).
    pub status: String,
    /// API calls of the shortest attack, when derivable.
    pub calls: Option<usize>,
    /// The API functions the shortest attack calls, in call order, once
    /// each.
    pub functions: Vec<String>,
}

/// A located error in a file that could not be checked.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorOutcome {
    /// The file the error is in.
    pub file: String,
    /// Line.
    pub line: u32,
    /// Column.
    pub column: u32,
    /// How many characters the error marks.
    #[serde(default)]
    pub length: u32,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub help: Option<String>,
}

/// A matrix parameter's value in a variant.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Param {
    /// The parameter.
    pub name: String,
    /// Its value in this variant.
    pub value: String,
}

/// The outcome of one variant (an API file counts as one variant).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Outcome {
    /// Position in the run's canonical order (files sorted, variants in
    /// family order), counted over the whole run, not the shard.
    pub index: u64,
    /// How many variants the whole (unsharded) run has.
    pub total: u64,
    /// The API or family file.
    pub file: String,
    /// The family's name, for a family's variant.
    pub family: Option<String>,
    /// The variant's name, for a family's variant.
    pub variant: Option<String>,
    /// The matrix values the variant picked.
    pub params: Vec<Param>,
    /// The API's name.
    pub api: String,
    /// `attack`, `secure`, `limit`, `error` (the file could not be
    /// checked), or `unchecked` (`apisat test` skipped it: no
    /// expectations).
    pub verdict: String,
    /// For `secure`: `proved` or `up-to`; for `attack`: `unconfirmed`
    /// when no derivable secret's attack is confirmed (each needs an object
    /// in two states, and the stateful search found no real one).
    pub proof: Option<String>,
    /// Per secret, in the file's order.
    pub secrets: Vec<SecretOutcome>,
    /// The bounds that cut rule instances (`input-depth 0`).
    pub bounds: Vec<String>,
    /// How many expectations the file states for this variant.
    pub expectations: usize,
    /// The expectations not met.
    pub failures: Vec<Failure>,
    /// Why the file could not be checked.
    pub errors: Vec<ErrorOutcome>,
    /// Wall time of this variant, in milliseconds (the one field that
    /// differs between runs); `None` under `--no-time`, and then left out
    /// of the JSON line, so that the same input prints the same bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub elapsed_ms: Option<f64>,
}

/// Where an outcome sits in the run: its index, the run's size, its file
/// and, for a family's variant, the family, the variant and its values.
#[derive(Clone, Debug, Default)]
pub struct Place {
    /// Index in the whole run.
    pub index: u64,
    /// Size of the whole run.
    pub total: u64,
    /// The API or family file.
    pub file: String,
    /// Family name.
    pub family: Option<String>,
    /// Variant name.
    pub variant: Option<String>,
    /// Matrix values.
    pub params: Vec<(String, String)>,
}

impl Outcome {
    fn at(place: Place) -> Outcome {
        Outcome {
            index: place.index,
            total: place.total,
            file: place.file,
            family: place.family,
            variant: place.variant,
            params: place
                .params
                .into_iter()
                .map(|(name, value)| Param { name, value })
                .collect(),
            api: String::new(),
            verdict: String::new(),
            proof: None,
            secrets: Vec::new(),
            bounds: Vec::new(),
            expectations: 0,
            failures: Vec::new(),
            errors: Vec::new(),
            elapsed_ms: None,
        }
    }

    /// The outcome of a checked variant.
    pub fn checked(
        place: Place,
        report: &Report,
        expectations: usize,
        failures: Vec<Failure>,
    ) -> Outcome {
        let mut o = Outcome::at(place);
        o.api = report.api.clone();
        o.verdict = verdict_key(report.verdict).to_string();
        o.proof = match (report.verdict, report.proof) {
            (Verdict::Attack, _) if report.unconfirmed() => Some("unconfirmed".to_string()),
            (Verdict::Secure, Some(Proof::Proved)) => Some("proved".to_string()),
            (Verdict::Secure, _) => Some("up-to".to_string()),
            _ => None,
        };
        o.secrets = report
            .secrets
            .iter()
            .map(|s| {
                let status = match s.derivable {
                    Some(true) if s.no_stateful_attack() => "no-stateful-attack",
                    Some(true) if s.unconfirmed() => "unconfirmed",
                    Some(true) => "derivable",
                    Some(false) if s.proof == Some(Proof::Proved) => "proved",
                    Some(false) if report.bounds.is_empty() => "not-derivable",
                    Some(false) => "up-to",
                    None => "unknown",
                };
                let mut functions: Vec<String> = Vec::new();
                for t in s.trace.iter().filter(|t| t.kind == "call") {
                    if !functions.contains(&t.call) {
                        functions.push(t.call.clone());
                    }
                }
                SecretOutcome {
                    label: s.label.clone(),
                    status: status.to_string(),
                    calls: s.calls.filter(|_| s.derivable == Some(true)),
                    functions,
                }
            })
            .collect();
        o.bounds = report
            .bounds
            .iter()
            .map(crate::analysis::verdict::BoundReport::label)
            .collect();
        o.expectations = expectations;
        o.failures = failures;
        o
    }

    /// The outcome of a variant left unchecked: `apisat test` skips
    /// variants without expectations.
    pub fn unchecked(place: Place, api: &str) -> Outcome {
        let mut o = Outcome::at(place);
        o.api = api.to_string();
        o.verdict = "unchecked".to_string();
        o
    }

    /// The outcome of a file or variant that could not be checked.
    pub fn failed(place: Place, diagnostics: &[Diagnostic]) -> Outcome {
        let mut o = Outcome::at(place);
        o.verdict = "error".to_string();
        o.errors = diagnostics
            .iter()
            .filter(|d| d.is_error())
            .map(|d| ErrorOutcome {
                file: d.file.clone(),
                line: d.span.line,
                column: d.span.col,
                length: d.span.len,
                message: d.message.clone(),
                help: d.help.clone(),
            })
            .collect();
        o
    }

    /// The exit code this outcome asks for: 0 secure, 1 attack, 2 error,
    /// 3 limit.
    pub fn exit_code(&self) -> u8 {
        match self.verdict.as_str() {
            "attack" => 1,
            "error" => 2,
            "limit" => 3,
            _ => 0,
        }
    }

    /// How the variant is named in tables and test output: the file, then
    /// `:: variant` for a family's variant.
    pub fn title(&self) -> String {
        match &self.variant {
            Some(v) => format!("{} :: {v}", self.file),
            None => self.file.clone(),
        }
    }

    /// The shortest attack over all derivable secrets, in API calls.
    pub fn shortest_attack(&self) -> Option<usize> {
        self.secrets.iter().filter_map(|s| s.calls).min()
    }
}

fn verdict_key(v: Verdict) -> &'static str {
    match v {
        Verdict::Attack => "attack",
        Verdict::Secure => "secure",
        Verdict::Limit => "limit",
    }
}

//! Expectations: what an API or family file says its secrets should be,
//! compared with what a run established.
//!
//! An expectation holds only on what the run *established*: `not
//! derivable` is met by "not derivable (proved)" and by "not derivable
//! within the bounds"; `proved` only by the first; nothing is met by
//! "unknown" (a limit stopped the run).

use serde::{Deserialize, Serialize};

use crate::analysis::verdict::{Proof, Report, SecretReport};
use crate::front::spec::{ExpectDecl, Expected};

/// An expectation the run did not meet.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    /// The secret's label.
    pub label: String,
    /// What the file expects, in words.
    pub expected: String,
    /// What the run established, in words.
    pub got: String,
    /// Where the expectation is written.
    pub file: String,
    /// Its line.
    pub line: u32,
    /// Its column.
    pub column: u32,
}

/// How an expectation reads.
pub fn describe(e: Expected) -> String {
    match e {
        Expected::Derivable { within: None } => "derivable".to_string(),
        Expected::Derivable { within: Some(1) } => "derivable within 1 API call".to_string(),
        Expected::Derivable { within: Some(n) } => format!("derivable within {n} API calls"),
        Expected::NotDerivable { proved: true } => "not derivable (proved)".to_string(),
        Expected::NotDerivable { proved: false } => "not derivable".to_string(),
        Expected::NoStatefulAttack => {
            "an abstract attack, not confirmed, and no attack with state within the bound"
                .to_string()
        }
    }
}

/// What a run established about one secret, in words.
pub fn established(r: &Report, s: &SecretReport) -> String {
    match s.derivable {
        Some(true) if s.unconfirmed() => {
            let stateful = s
                .stateful
                .as_ref()
                .map_or(String::new(), |st| st.detail.clone());
            format!(
                "derivable with {} API calls in the abstract model, not confirmed; {stateful}",
                s.calls.unwrap_or(0)
            )
        }
        Some(true) => {
            let calls = s.calls.unwrap_or(0);
            let mut functions: Vec<&str> = s
                .trace
                .iter()
                .filter(|t| t.kind == "call")
                .map(|t| t.call.as_str())
                .collect();
            functions.dedup();
            let plural = if calls == 1 { "" } else { "s" };
            format!(
                "derivable with {calls} API call{plural} ({})",
                functions.join(", ")
            )
        }
        Some(false) if s.proof == Some(Proof::Proved) => "not derivable (proved)".to_string(),
        Some(false) if r.bounds.is_empty() => "not derivable".to_string(),
        Some(false) => {
            let bounds: Vec<String> = r
                .bounds
                .iter()
                .map(crate::analysis::verdict::BoundReport::label)
                .collect();
            format!("not derivable up to bounds ({})", bounds.join(", "))
        }
        None => "unknown: a limit stopped the run".to_string(),
    }
}

/// Whether the run meets an expectation.
pub fn holds(e: Expected, s: &SecretReport) -> bool {
    match e {
        Expected::Derivable { within } => {
            s.derivable == Some(true) && within.is_none_or(|n| s.calls.unwrap_or(0) as u64 <= n)
        }
        Expected::NotDerivable { proved } => {
            s.derivable == Some(false) && (!proved || s.proof == Some(Proof::Proved))
        }
        Expected::NoStatefulAttack => s.no_stateful_attack(),
    }
}

/// The expectations a report does not meet, in the order written. `file`
/// is where the expectations are written.
pub fn failures(expect: &[ExpectDecl], report: &Report, file: &str) -> Vec<Failure> {
    expect
        .iter()
        .filter_map(|e| {
            let label = e.label.text.trim();
            let got = match report.secrets.iter().find(|s| s.label == label) {
                Some(s) if holds(e.expected, s) => return None,
                Some(s) => established(report, s),
                // Lowering rejects expectations on unknown labels; this is
                // only reachable through a hand-built report.
                None => "no such secret in the report".to_string(),
            };
            Some(Failure {
                label: label.to_string(),
                expected: describe(e.expected),
                got,
                file: file.to_string(),
                line: e.span.line,
                column: e.span.col,
            })
        })
        .collect()
}

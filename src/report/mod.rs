//! Reports: a verdict in, what apisat prints out.
//!
//! Takes a [`Report`] (the analysis's verdict, every term already
//! printed) and gives text for people and JSON for programs (this
//! module), Graphviz DOT ([`dot`]), the comparison of two reports
//! ([`diff`]) and the stable renderings users snapshot ([`snapshot`]).
//! Nothing here decides anything: it prints what the analysis established
//! (`snapshot::check_named` runs the analysis first).
//!
//! Names the front end (diagnostics), the analysis and the root's leaves
//! (`style`); never `batch` or `commands` (ARCHITECTURE.md, "Layout").
//!
//! # JSON
//!
//! `apisat check --format json` prints one JSON document: an array with one
//! object per file, each a serialised [`Report`]:
//!
//! ```json
//! {
//!   "file": "apis/vsm.yaml", "api": "VSM",
//!   "verdict": "attack",            // "attack" | "secure" | "limit"
//!   "proof": null,                  // for secure: "proved" | "up-to"
//!   "rests_on": "...",
//!   "bounds": [{"bound": "input-depth", "value": 1, "rules": ["EncryptCommsKey"], "meaning": "..."}],
//!   "limit": null,                  // or {"limit": "facts" | "time" | "memory", "value": N}
//!   // "shared": [{"name": "@1", "items": ["(s0, s1, ...)"]}] only when a large term or list
//!   // is printed more than once: `@1` then stands for it below (a whole list element
//!   // that is a name splices in its items)
//!   "secrets": [{
//!     "label": "PIN", "term": "senc(PAN, P)",
//!     "derivable": true,            // false, or null when a limit stopped saturation
//!     "calls": 2,
//!     "trace": [{"kind": "call", "call": "EncryptCommsKey", "args": ["PAN"], "result": ["senc(PAN, TCMK)"]}],
//!     "replay": {"confirmed": true, "detail": "..."},
//!     // "stateful": {...}, "lifetime": {"result", "cases", "detail"} only for a token with
//!     // objects whose attack replay could not confirm
//!     "proof": null                 // for a secret not derivable: "proved" | "up-to"
//!     // "unfinished": "its attack was not extracted: ..." only when a limit stopped trace extraction
//!   }],
//!   "proof_gap": null,              // why proof mode left a secret "within the bounds"
//!   "stats": {"known": 42, "firings": 120, "functions": 5}
//! }
//! ```
//!
//! Files that fail to load appear as `{"file": ..., "errors": [{"line", "column", "message", "help"}]}`.
//! Fields keep the order shown (the README's): the array is serialised
//! from structs ([`JsonEntry`]), never through a sorted `serde_json::Value`.

/// Comparing two APIs' knowledge sets and secrets.
pub mod diff;
/// Attacks as Graphviz DOT graphs.
pub mod dot;
/// A stable surface for snapshot tests of users' own APIs.
pub mod snapshot;

use crate::analysis::staged::Extent;
use std::fmt::Write as _;

use serde::Serialize;

use crate::analysis::verdict::{Proof, Report, Verdict};
use crate::front::diagnostic::Diagnostic;
use crate::style::{Palette, Role};

/// The verdict in capitals, as text output prints it.
pub fn verdict_word(r: &Report) -> &'static str {
    match (r.verdict, r.proof) {
        (Verdict::Attack, _) if r.unconfirmed() => "ATTACK (not confirmed)",
        (Verdict::Attack, _) => "ATTACK",
        (Verdict::Secure, Some(Proof::Proved)) => "SECURE (proved)",
        (Verdict::Secure, _) => "SECURE up to bounds",
        (Verdict::Limit, _) => "LIMIT",
    }
}

/// How the verdict word is coloured: red for an attack, green for a proof,
/// yellow for "up to bounds" and for a limit.
fn verdict_role(r: &Report) -> Role {
    match (r.verdict, r.proof) {
        (Verdict::Attack, _) => Role::Attack,
        (Verdict::Secure, Some(Proof::Proved)) => Role::Secure,
        _ => Role::Bounded,
    }
}

/// Renders a report as plain text.
pub fn text(r: &Report) -> String {
    text_styled(r, Palette::PLAIN)
}

/// Renders a report as text, verdict words painted with `p`.
pub fn text_styled(r: &Report, p: Palette) -> String {
    let mut out = String::new();
    let verdict = p.paint(verdict_role(r), verdict_word(r));
    let _ = writeln!(out, "{} ({}): {verdict}", r.file, r.api);
    if !r.shared.is_empty() {
        let _ = writeln!(
            out,
            "  shared terms, each printed once and used below by name (--full-terms prints them in place):"
        );
        for e in &r.shared {
            let _ = writeln!(out, "    {} = {}", e.name, e.items.join(", "));
        }
    }
    for s in &r.secrets {
        let name = if s.label == s.term {
            s.term.clone()
        } else {
            format!("{} = {}", s.label, s.term)
        };
        match s.derivable {
            Some(true) if s.trace.is_empty() && s.unfinished.is_some() => {
                let _ = writeln!(
                    out,
                    "  secret {name}: {}; {}",
                    p.paint(Role::Attack, "DERIVABLE"),
                    s.unfinished.as_deref().unwrap_or_default()
                );
            }
            Some(true) => {
                let calls = s.calls.unwrap_or(0);
                let plural = if calls == 1 { "" } else { "s" };
                if s.unconfirmed() {
                    let _ = writeln!(
                        out,
                        "  secret {name}: {} with {calls} API call{plural} in the abstract model, not confirmed",
                        p.paint(Role::Bounded, "DERIVABLE")
                    );
                } else {
                    let _ = writeln!(
                        out,
                        "  secret {name}: {} with {calls} API call{plural}",
                        p.paint(Role::Attack, "DERIVABLE")
                    );
                }
                let mut call_no = 0;
                for step in &s.trace {
                    match step.kind.as_str() {
                        "call" => {
                            call_no += 1;
                            let _ = writeln!(
                                out,
                                "    {call_no:>2}. {}({})",
                                step.call,
                                step.args.join(", ")
                            );
                            let _ = writeln!(out, "          -> {}", step.result.join(", "));
                        }
                        "deduction" => {
                            let _ = writeln!(
                                out,
                                "        attacker: {}({}) -> {}",
                                step.call,
                                step.args.join(", "),
                                step.result.join(", ")
                            );
                        }
                        "xor" => {
                            let _ = writeln!(
                                out,
                                "        attacker: xor({}) -> {}",
                                step.args.join(", "),
                                step.result.join(", ")
                            );
                        }
                        _ => {
                            let _ = writeln!(
                                out,
                                "        attacker: {} builds it from {}",
                                step.result.join(", "),
                                step.args.join(", ")
                            );
                        }
                    }
                }
                if let Some(rp) = &s.replay {
                    let _ = writeln!(out, "      replay: {}", rp.detail);
                }
                if let Some(l) = &s.lifetime {
                    let _ = writeln!(out, "      lifetime: {}", l.detail);
                }
                if let Some(st) = &s.stateful {
                    let _ = writeln!(out, "      stateful: {}", st.detail);
                    for (i, step) in st.trace.iter().enumerate() {
                        let _ = writeln!(
                            out,
                            "    {:>2}. {}({})",
                            i + 1,
                            step.call,
                            step.args.join(", ")
                        );
                        let _ = writeln!(out, "          -> {}", step.result.join(", "));
                    }
                }
            }
            Some(false) if s.lifetime.is_some() => {
                let word = p.paint(Role::Secure, "not derivable (proved with lifetimes)");
                let _ = writeln!(out, "  secret {name}: {word}");
                if let Some(l) = &s.lifetime {
                    let _ = writeln!(out, "      lifetime: {}", l.detail);
                }
            }
            Some(false) if s.proof == Some(Proof::Proved) => {
                let word = p.paint(Role::Secure, "not derivable (proved)");
                let _ = writeln!(out, "  secret {name}: {word}");
            }
            Some(false) if r.bounds.is_empty() => {
                let _ = writeln!(
                    out,
                    "  secret {name}: {}",
                    p.paint(Role::Secure, "not derivable")
                );
            }
            Some(false) => {
                let word = p.paint(Role::Bounded, "not derivable within the bounds below");
                let _ = writeln!(out, "  secret {name}: {word}");
            }
            None => {
                let word = p.paint(Role::Bounded, "unknown (stopped at a limit)");
                let _ = writeln!(out, "  secret {name}: {word}");
            }
        }
        if let Some(st) = &s.strong {
            let _ = writeln!(out, "      strong secrecy: {}: {}", st.result, st.reason);
        }
    }
    let derivable = r
        .secrets
        .iter()
        .filter(|s| s.derivable == Some(true))
        .count();
    let of = r.secrets.len();
    let _ = writeln!(
        out,
        "verdict: {verdict} ({derivable} of {of} secret{} derivable)",
        if of == 1 { "" } else { "s" }
    );
    let _ = writeln!(out, "  rests on: {}", r.rests_on);
    if let Some(l) = &r.limit {
        let what = l.describe();
        let _ = writeln!(
            out,
            "  stopped by: the {what}; {} known by then",
            crate::style::plural(r.stats.known as u64, "term")
        );
    }
    if !r.bounds.is_empty() {
        let _ = writeln!(out, "  bounds that cut rule instances:");
        for b in &r.bounds {
            let _ = writeln!(out, "    {}", b.describe());
        }
    }
    // A secure verdict says why proof mode did not settle it in `rests on`;
    // beside an attack, the secrets left "within the bounds" say it here.
    if let (Verdict::Attack, Some(gap)) = (r.verdict, &r.proof_gap) {
        let _ = writeln!(out, "  not proved for the secrets within the bounds: {gap}");
    }
    let count = |n: usize, word| crate::style::plural(n as u64, word);
    let sizes = format!(
        "{}, {}, {}",
        count(r.stats.known, "known term"),
        count(r.stats.firings, "rule instance"),
        count(r.stats.functions, "function")
    );
    let _ = match r.stats.extent {
        Extent::Fixpoint => writeln!(out, "  saturation: {sizes}"),
        Extent::Stopped { calls } => writeln!(
            out,
            "  saturation: stopped once every secret was decided (derivations of up to {}): {sizes}",
            count(calls as usize, "call")
        ),
        Extent::NotRun => writeln!(
            out,
            "  saturation: not needed, proof mode decided every secret; {}",
            count(r.stats.functions, "function")
        ),
    };
    out
}

/// Renders the knowledge set: one term a line, canonical order.
pub fn knowledge(r: &Report) -> String {
    let mut out = String::new();
    for t in &r.knowledge {
        out.push_str(t);
        out.push('\n');
    }
    out
}

/// One element of `check --format json`'s array: a report, or the errors
/// of a file that failed to load.
///
/// Serialised from structs, whose fields keep their declaration order (the
/// README's order). A `serde_json::Value` would not: without serde_json's
/// `preserve_order` feature its objects sort their keys.
#[derive(Clone, Debug, Serialize)]
#[serde(untagged)]
pub enum JsonEntry {
    /// A file (or family variant) that was checked.
    Report(Box<Report>),
    /// A file that could not be checked.
    Errors(FileErrors),
}

/// A file that failed to load, as JSON: `{"file", "errors"}`.
#[derive(Clone, Debug, Serialize)]
pub struct FileErrors {
    /// The file (or `file :: variant`).
    pub file: String,
    /// Its errors.
    pub errors: Vec<JsonError>,
}

/// One located error, as JSON: `{"line", "column", "message", "help"}`.
#[derive(Clone, Debug, Serialize)]
pub struct JsonError {
    /// Line, from 1.
    pub line: u32,
    /// Column, from 1.
    pub column: u32,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub help: Option<String>,
}

/// The JSON entry of a file that failed to load.
pub fn json_errors(file: &str, diagnostics: &[Diagnostic]) -> FileErrors {
    let errors = diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(|d| JsonError {
            line: d.span.line,
            column: d.span.col,
            message: d.message.clone(),
            help: d.help.clone(),
        })
        .collect();
    FileErrors {
        file: file.to_string(),
        errors,
    }
}

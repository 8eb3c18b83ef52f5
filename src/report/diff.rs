//! Comparing two reports: what the attacker learns under one API and not
//! under the other, and which secrets change status.
//!
//! The comparison is of *printed terms*: the knowledge sets are compared as
//! strings, so two files that name the same thing differently (`KEK` here,
//! `Kek` there) differ in every term holding it. A knowledge set is what the
//! run obtained: when a bound cut rule instances, or a limit stopped
//! saturation, it is the bounded run's set, and [`Side::cut`] says so.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use serde::Serialize;

use crate::analysis::fix::Outcome;
use crate::analysis::verdict::Report;
use crate::report::verdict_word;

/// One of the two runs compared.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Side {
    /// The file checked.
    pub file: String,
    /// The API's name.
    pub api: String,
    /// The verdict in words (`ATTACK`, `SECURE (proved)`, ...).
    pub verdict: String,
    /// Terms in its knowledge set.
    pub known: usize,
    /// Why its knowledge set is a bounded run's, if it is: the bounds that
    /// cut rule instances, or the limit that stopped saturation.
    pub cut: Option<String>,
    /// The secrets its knowledge set holds although the lifetime model
    /// proves them out of reach (the set is the monotone model's); absent
    /// when there are none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub beyond_token: Vec<String>,
}

/// A secret whose status differs between the two runs, or that only one
/// lists (matched by label).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SecretChange {
    /// The secret's label.
    pub label: String,
    /// Its status under A; `None` when A does not list it.
    pub a: Option<Outcome>,
    /// Its status under B; `None` when B does not list it.
    pub b: Option<Outcome>,
}

/// The difference between two runs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct KnowledgeDiff {
    /// The first run.
    pub a: Side,
    /// The second run.
    pub b: Side,
    /// Terms obtained under B and not under A, in canonical order.
    pub only_b: Vec<String>,
    /// Terms obtained under A and not under B, in canonical order.
    pub only_a: Vec<String>,
    /// Secrets derivable under one and not the other (or unknown under
    /// one), and secrets only one lists; A's order, then B's.
    pub secrets: Vec<SecretChange>,
}

impl KnowledgeDiff {
    /// True when the knowledge sets are equal and no secret changed.
    pub fn is_empty(&self) -> bool {
        self.only_a.is_empty() && self.only_b.is_empty() && self.secrets.is_empty()
    }
}

/// Compares two reports' knowledge sets and secrets.
pub fn diff(a: &Report, b: &Report) -> KnowledgeDiff {
    let in_a: BTreeSet<&str> = a.knowledge.iter().map(String::as_str).collect();
    let in_b: BTreeSet<&str> = b.knowledge.iter().map(String::as_str).collect();
    // The reports' sets are already in canonical order: filtering keeps it.
    let only_b = b
        .knowledge
        .iter()
        .filter(|t| !in_a.contains(t.as_str()))
        .cloned()
        .collect();
    let only_a = a
        .knowledge
        .iter()
        .filter(|t| !in_b.contains(t.as_str()))
        .cloned()
        .collect();
    let mut secrets = Vec::new();
    for sa in &a.secrets {
        match b.secrets.iter().find(|sb| sb.label == sa.label) {
            Some(sb)
                if sb.derivable == sa.derivable
                    && sb.no_stateful_attack() == sa.no_stateful_attack() => {}
            Some(sb) => secrets.push(SecretChange {
                label: sa.label.clone(),
                a: Some(Outcome::of_secret(a, sa)),
                b: Some(Outcome::of_secret(b, sb)),
            }),
            None => secrets.push(SecretChange {
                label: sa.label.clone(),
                a: Some(Outcome::of_secret(a, sa)),
                b: None,
            }),
        }
    }
    for sb in &b.secrets {
        if !a.secrets.iter().any(|sa| sa.label == sb.label) {
            secrets.push(SecretChange {
                label: sb.label.clone(),
                a: None,
                b: Some(Outcome::of_secret(b, sb)),
            });
        }
    }
    KnowledgeDiff {
        a: side(a),
        b: side(b),
        only_b,
        only_a,
        secrets,
    }
}

fn side(r: &Report) -> Side {
    let cut = if let Some(l) = &r.limit {
        Some(format!("stopped by the {}", l.describe()))
    } else if !r.knowledge_cuts.is_empty() {
        Some(format!(
            "bounds cut rule instances: {}",
            r.knowledge_cuts.join(", ")
        ))
    } else {
        None
    };
    Side {
        file: r.file.clone(),
        api: r.api.clone(),
        verdict: verdict_word(r).to_string(),
        known: r.knowledge.len(),
        cut,
        beyond_token: r
            .secrets
            .iter()
            .filter(|s| s.derivable == Some(false) && s.lifetime.is_some())
            .map(|s| s.label.clone())
            .collect(),
    }
}

/// Renders a diff as text.
pub fn text(d: &KnowledgeDiff) -> String {
    let mut out = String::new();
    for (tag, s) in [("A", &d.a), ("B", &d.b)] {
        let _ = writeln!(
            out,
            "{tag}: {} ({}): {}, {}",
            s.file,
            s.api,
            s.verdict,
            crate::style::plural(s.known as u64, "known term")
        );
        if let Some(cut) = &s.cut {
            let _ = writeln!(
                out,
                "   {cut}; its knowledge set is what the bounded run obtained"
            );
        }
        if !s.beyond_token.is_empty() {
            let _ = writeln!(
                out,
                "   its knowledge set is the monotone model's (a handle keeps every attribute set it had), so it holds terms no token run gives: the lifetime model proves {} out of reach",
                s.beyond_token.join(", ")
            );
        }
    }
    let _ = writeln!(out, "(terms are compared as printed)");
    if d.is_empty() {
        let _ = writeln!(out, "no difference: same knowledge, same secret statuses");
        return out;
    }
    let _ = writeln!(out, "learned under B only ({}):", d.only_b.len());
    for t in &d.only_b {
        let _ = writeln!(out, "  + {t}");
    }
    let _ = writeln!(out, "learned under A only ({}):", d.only_a.len());
    for t in &d.only_a {
        let _ = writeln!(out, "  - {t}");
    }
    match d.secrets.as_slice() {
        [] => {
            let _ = writeln!(out, "secrets: no status differs");
        }
        [c] => {
            let _ = writeln!(out, "secrets: {}", change(c));
        }
        all => {
            let _ = writeln!(out, "secrets whose status differs ({}):", all.len());
            for c in all {
                let _ = writeln!(out, "  {}", change(c));
            }
        }
    }
    out
}

/// One secret's change in a line.
fn change(c: &SecretChange) -> String {
    format!(
        "{} {}, {}",
        c.label,
        status(c.a.as_ref(), "A"),
        status(c.b.as_ref(), "B")
    )
}

/// A secret's status under one side, in a few words.
fn status(o: Option<&Outcome>, tag: &str) -> String {
    match o {
        None => format!("not listed under {tag}"),
        Some(Outcome::Derivable { calls: Some(n) }) => {
            format!(
                "derivable under {tag} ({n} call{})",
                if *n == 1 { "" } else { "s" }
            )
        }
        Some(Outcome::Derivable { calls: None }) => format!("derivable under {tag}"),
        Some(Outcome::Proved) => format!("not derivable under {tag} (proved)"),
        Some(Outcome::UpToBounds { bounds }) => format!(
            "not derivable under {tag} (up to bounds: {})",
            bounds.join(", ")
        ),
        Some(Outcome::Unknown) => format!("unknown under {tag} (stopped at a limit)"),
        Some(Outcome::NoStatefulAttack { calls, bound }) => format!(
            "derivable under {tag} in the abstract model only ({} calls; no attack with state within {bound} calls)",
            calls.unwrap_or(0)
        ),
    }
}

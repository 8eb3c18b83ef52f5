//! Attacks as Graphviz DOT graphs (`--format dot`).
//!
//! One `digraph` per run. Each derivable secret is a `subgraph
//! cluster_N`: API calls are boxes (numbered as in the text output),
//! attacker deductions and constructions ellipses, the attacker's initial
//! knowledge a plain-text source node, the secret a highlighted sink; each
//! edge carries the term passed from the step that produced it to the step
//! that uses it. A report with no derivable secret is one note node. Node
//! ids are positional (`s0_init`, `s0_step1`, `s0_goal`), so the same report
//! gives the same bytes. Several reports (several files, or a family's
//! variants) are still one `digraph` ([`graphs`]), so that `dot -Tsvg`
//! draws one picture: each report a `subgraph cluster_fK` holding its
//! secrets' clusters, node ids prefixed `fK_`. Rendering only: nothing here
//! runs Graphviz.

use std::fmt::Write as _;

use crate::analysis::verdict::{Report, SecretReport};
use crate::report::verdict_word;

/// The report as one DOT `digraph`.
pub fn graph(report: &Report) -> String {
    let mut out = String::new();
    let title = format!("{} ({}): {}", report.file, report.api, verdict_word(report));
    let _ = writeln!(out, "digraph {} {{", quote(&report.api));
    let _ = writeln!(
        out,
        "  graph [rankdir=LR, labelloc=t, fontname=\"Helvetica\", label={}];",
        quote(&title)
    );
    let _ = writeln!(out, "  node [fontname=\"Helvetica\"];");
    let _ = writeln!(out, "  edge [fontname=\"Helvetica\", fontsize=10];");
    attacks(&mut out, report, "", "  ", &title);
    out.push_str("}\n");
    out
}

/// Several reports as one DOT `digraph` (one report: [`graph`]'s): each
/// report a cluster `cluster_fK` labelled with its file, API and verdict,
/// holding its attacks' clusters.
pub fn graphs(reports: &[&Report]) -> String {
    if let [one] = reports {
        return graph(one);
    }
    let mut out = String::new();
    let _ = writeln!(out, "digraph apisat {{");
    let _ = writeln!(
        out,
        "  graph [rankdir=LR, labelloc=t, fontname=\"Helvetica\", label={}];",
        quote(&format!("apisat: {} reports", reports.len()))
    );
    let _ = writeln!(out, "  node [fontname=\"Helvetica\"];");
    let _ = writeln!(out, "  edge [fontname=\"Helvetica\", fontsize=10];");
    for (k, report) in reports.iter().enumerate() {
        let title = format!("{} ({}): {}", report.file, report.api, verdict_word(report));
        let _ = writeln!(out, "  subgraph cluster_f{k} {{");
        let _ = writeln!(out, "    label={};", quote(&title));
        // The cluster's label names the file: the note need not.
        attacks(&mut out, report, &format!("f{k}_"), "    ", "");
        out.push_str("  }\n");
    }
    out.push_str("}\n");
    out
}

/// A report's attacks, one cluster each, or a note when it has none (under
/// `title`, when not empty); ids start with `prefix`, lines with `indent`.
fn attacks(out: &mut String, report: &Report, prefix: &str, indent: &str, title: &str) {
    let derivable: Vec<&SecretReport> = report
        .secrets
        .iter()
        .filter(|s| s.derivable == Some(true))
        .collect();
    if derivable.is_empty() {
        let what = match report.verdict {
            crate::analysis::verdict::Verdict::Limit => {
                "no attack found before the limit stopped the run"
            }
            _ => "no attack: no secret is derivable",
        };
        let label = if title.is_empty() {
            what.to_string()
        } else {
            format!("{title}\n{what}")
        };
        let _ = writeln!(
            out,
            "{indent}{prefix}note [shape=note, label={}];",
            quote(&label)
        );
    }
    if !report.shared.is_empty() {
        // The terms the edges name `@k` (`crate::analysis::shared`), once.
        let mut label = String::from("shared terms:");
        for e in &report.shared {
            let _ = write!(label, "\n{} = {}", e.name, e.items.join(", "));
        }
        let _ = writeln!(
            out,
            "{indent}{prefix}shared [shape=note, label={}];",
            quote(&label)
        );
    }
    for (i, s) in derivable.iter().enumerate() {
        cluster(out, prefix, indent, i, s);
    }
}

/// One derivable secret's attack as `subgraph cluster_{prefix}{i}`.
fn cluster(out: &mut String, prefix: &str, indent: &str, i: usize, s: &SecretReport) {
    let name = if s.label == s.term {
        s.term.clone()
    } else {
        format!("{} = {}", s.label, s.term)
    };
    let calls = s.calls.unwrap_or(0);
    let plural = if calls == 1 { "" } else { "s" };
    let _ = writeln!(out, "{indent}subgraph cluster_{prefix}{i} {{");
    let _ = writeln!(
        out,
        "{indent}  label={};",
        quote(&format!("secret {name}: {calls} API call{plural}"))
    );
    let init = format!("{prefix}s{i}_init");
    let goal = format!("{prefix}s{i}_goal");
    let _ = writeln!(
        out,
        "{indent}  {init} [shape=plaintext, label=\"initial knowledge\"];"
    );
    let mut call_no = 0;
    for (j, step) in s.trace.iter().enumerate() {
        let (shape, label) = match step.kind.as_str() {
            "call" => {
                call_no += 1;
                ("box", format!("{call_no}. {}", step.call))
            }
            "deduction" => ("ellipse", format!("attacker: {}", step.call)),
            _ => {
                let xor = step.kind == "xor";
                (
                    "ellipse",
                    if xor {
                        "attacker: XOR"
                    } else {
                        "attacker: build"
                    }
                    .to_string(),
                )
            }
        };
        let _ = writeln!(
            out,
            "{indent}  {prefix}s{i}_step{} [shape={shape}, label={}];",
            j + 1,
            quote(&label)
        );
    }
    let _ = writeln!(
        out,
        "{indent}  {goal} [shape=doubleoctagon, style=filled, fillcolor=\"#f4cccc\", label={}];",
        quote(&name)
    );
    // Each argument comes from the latest earlier step that gave it, else
    // from the initial knowledge (or what the attacker builds from it).
    let producer = |before: usize, term: &str| -> String {
        s.trace[..before]
            .iter()
            .rposition(|p| p.result.iter().any(|r| r == term))
            .map_or_else(|| init.clone(), |k| format!("{prefix}s{i}_step{}", k + 1))
    };
    for (j, step) in s.trace.iter().enumerate() {
        for arg in &step.args {
            let _ = writeln!(
                out,
                "{indent}  {} -> {prefix}s{i}_step{} [label={}];",
                producer(j, arg),
                j + 1,
                quote(arg)
            );
        }
    }
    let _ = writeln!(
        out,
        "{indent}  {} -> {goal} [label={}, color=\"#cc0000\"];",
        producer(s.trace.len(), &s.term),
        quote(&s.term)
    );
    let _ = writeln!(out, "{indent}}}");
}

/// A DOT quoted string: backslashes and quotes escaped, newlines as `\n`.
pub fn quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::quote;

    #[test]
    fn quote_escapes_quotes_backslashes_and_newlines() {
        assert_eq!(quote("a\"b\\c\nd"), "\"a\\\"b\\\\c\\nd\"");
        assert_eq!(quote("{k}x ⊕ y"), "\"{k}x ⊕ y\"");
    }
}

//! `apisat explain FILE TERM`: why one term is, or is not, derivable, as
//! text (a derivation tree, or the closest misses), JSON or DOT.

use std::fmt::Write as _;
use std::path::Path;

use super::ExitCode;
use crate::analysis::explain::{explain, Explanation, How, Miss, TreeNode};
use crate::analysis::verdict::{Proof, Settings};
use crate::batch::inputs::VariantPattern;
use crate::cli::{emit, Format};
use crate::front::lower;
use crate::front::lower::parse_ground_term;
use crate::report::dot;
use crate::report::verdict_word;

/// Explains `term` in `file` (in the family variant `variant` picks;
/// with `full_terms`, every shared term in place);
/// exit code 1 when derivable, 0 when not, 3 when a limit stopped the run
/// first, 2 for a bad file, variant or term.
pub fn run(
    file: &Path,
    term: &str,
    format: Format,
    variant: Option<&VariantPattern>,
    settings: Settings,
    full_terms: bool,
) -> ExitCode {
    let Some(mut loaded) = super::load_one(file, variant, "explain") else {
        return ExitCode::BAD_INPUT;
    };
    let goal = match parse_ground_term(&mut loaded, term) {
        Ok(t) => t,
        Err(diagnostics) => {
            eprint!("{}", bad_term(&diagnostics, term));
            return ExitCode::BAD_INPUT;
        }
    };
    let explanation = explain(loaded.program, goal, settings);
    let explanation = if full_terms {
        explanation.expanded()
    } else {
        explanation
    };
    match format {
        Format::Text => emit(&text(&explanation)),
        Format::Json => {
            let json = serde_json::to_string_pretty(&explanation).unwrap_or_default();
            emit(&format!("{json}\n"));
        }
        Format::Dot => emit(&dot::graph(&explanation.report)),
    }
    ExitCode::of(explanation.report.verdict)
}

/// The errors in a TERM, rendered against the TERM itself.
fn bad_term(diagnostics: &[crate::front::diagnostic::Diagnostic], term: &str) -> String {
    let mut out = String::new();
    for d in diagnostics {
        out.push_str(&d.render(Some(term)));
        out.push('\n');
    }
    let _ = writeln!(
        out,
        "error: {}: not a ground term of this API; nothing was checked",
        lower::TERM_FILE
    );
    out
}

/// Renders an explanation as text.
pub fn text(e: &Explanation) -> String {
    let r = &e.report;
    let mut out = String::new();
    let _ = writeln!(out, "{} ({}): {}", r.file, r.api, e.term);
    match e.derivable() {
        Some(true) => {
            match &e.tree {
                Some(tree) => {
                    let _ = writeln!(out, "DERIVABLE; the cheapest derivation:");
                    for s in &e.shared {
                        let _ = writeln!(out, "  where {} = {}", s.name, s.items.join(", "));
                    }
                    render_tree(&mut out, tree, "", None);
                }
                None => {
                    let why = r
                        .secrets
                        .first()
                        .and_then(|s| s.unfinished.clone())
                        .unwrap_or_else(|| {
                            "its derivation was not extracted: a limit was reached first"
                                .to_string()
                        });
                    let _ = writeln!(out, "DERIVABLE; {why}");
                }
            }
            let calls = r.secrets.first().and_then(|s| s.calls).unwrap_or(0);
            let plural = if calls == 1 { "" } else { "s" };
            let _ = writeln!(out, "derivable with {calls} API call{plural}");
            if let Some(rp) = r.secrets.first().and_then(|s| s.replay.as_ref()) {
                let _ = writeln!(out, "replay: {}", rp.detail);
            }
        }
        Some(false) => {
            let proof = r.secrets.first().and_then(|s| s.proof);
            let how = match proof {
                Some(Proof::Proved) => "NOT DERIVABLE (proved)",
                _ => "NOT DERIVABLE within the bounds below",
            };
            let _ = writeln!(out, "{how}");
            let _ = writeln!(out, "  rests on: {}", r.rests_on);
            if proof != Some(Proof::Proved) {
                for b in &r.bounds {
                    let _ = writeln!(out, "  bound {}", b.describe());
                }
            }
            misses(&mut out, e);
        }
        None => {
            let _ = writeln!(out, "UNKNOWN: {}", verdict_word(r));
            let _ = writeln!(out, "  rests on: {}", r.rests_on);
            if let Some(l) = &r.limit {
                let what = l.describe();
                let _ = writeln!(out, "  stopped by: the {what}");
            }
        }
    }
    out
}

/// One tree node and its children, with box-drawing guides.
fn render_tree(out: &mut String, node: &TreeNode, prefix: &str, last: Option<bool>) {
    let (branch, further) = match last {
        None => ("", ""),
        Some(false) => ("├── ", "│   "),
        Some(true) => ("└── ", "    "),
    };
    let how = match &node.how {
        How::Initial => "(initial knowledge)".to_string(),
        How::SeeAbove => "(see above)".to_string(),
        How::Call { name, args } => format!("← call {name}({})", args.join(", ")),
        How::Deduction { name, args } => format!("← attacker: {name}({})", args.join(", ")),
        How::Build { with } => match with.as_str() {
            "tuple" => "← attacker builds the tuple".to_string(),
            "⊕" => "← attacker XORs the operands".to_string(),
            _ => format!("← attacker builds it with {with}"),
        },
        How::AlsoFrom { name, args } => {
            format!("← also from {name}({}) (see above)", args.join(", "))
        }
    };
    let _ = writeln!(out, "{prefix}{branch}{}  {how}", node.term);
    let inner = format!("{prefix}{further}");
    for (i, c) in node.children.iter().enumerate() {
        render_tree(out, c, &inner, Some(i + 1 == node.children.len()));
    }
}

/// The closest misses: functions that could output the term, and what
/// they lack; then what building it lacks. "Cannot obtain" only when that
/// was established for every attacker ([`Explanation::complete`]: no bound
/// cut the run, or proof mode judged it); else "within the bounds".
fn misses(out: &mut String, e: &Explanation) {
    let cannot = if e.complete {
        "the attacker cannot obtain"
    } else {
        "the attacker did not obtain within the bounds"
    };
    if e.misses.is_empty() {
        let _ = writeln!(out, "no API function outputs a term of this shape");
    } else {
        let _ = writeln!(
            out,
            "closest misses (API functions with an output of this shape):"
        );
        for m in &e.misses {
            let _ = writeln!(out, "  {}", miss_line(m, &e.term, cannot, e.complete));
        }
    }
    if let Some(b) = &e.build {
        if !b.missing.is_empty() {
            let _ = writeln!(
                out,
                "the attacker could build it with {} from {}, but needs {}, which {cannot}",
                b.output,
                b.needs.join(", "),
                b.missing.join(" and ")
            );
        }
    }
}

fn miss_line(m: &Miss, term: &str, cannot: &str, complete: bool) -> String {
    let with = if m.binding.is_empty() {
        String::new()
    } else {
        format!(" with {}", m.binding.join(", "))
    };
    let head = format!(
        "{} would give {term} from its output {}{with}",
        m.via, m.output
    );
    if m.missing.is_empty() {
        let why = if complete {
            "no call can give it (the inputs do not fit together, or a check fails)"
        } else {
            "no call gave it (the inputs do not fit together, a check fails, or a bound cut it)"
        };
        format!(
            "{head}; apisat finds none of its inputs {} out of the attacker's reach on its \
             own, but {why}",
            m.needs.join(", ")
        )
    } else {
        format!(
            "{head}, but needs {}, which {cannot}",
            m.missing.join(" and ")
        )
    }
}

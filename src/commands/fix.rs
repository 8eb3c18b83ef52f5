//! `apisat fix FILE`: which functions each attack cannot do without, and
//! the smallest sets of functions whose removal makes the API secure.

use std::fmt::Write as _;
use std::path::Path;

use super::ExitCode;
use crate::analysis::fix::{
    necessary_functions, removal_sets, FixLimits, Necessary, Outcome, RemovalSets, Search,
};
use crate::analysis::policy_fix::{policy_fixes, PolicyChange, PolicyFixes};
use crate::analysis::verdict::Settings;
use crate::batch::inputs::{Input, VariantPattern};
use crate::cli::{emit, TextOrJson};
use crate::front::diagnostic::render_all;
use crate::style::plural;

/// Loads one file (the family variant `variant` picks), runs both
/// analyses, prints them; the exit code is the API's own verdict (0
/// secure, 1 attack, 3 limit; 2 bad input).
pub fn run(
    file: &Path,
    format: TextOrJson,
    variant: Option<&VariantPattern>,
    settings: Settings,
    limits: FixLimits,
) -> ExitCode {
    if variant.is_some() {
        let Some(loaded) = super::load_one(file, variant, "fix") else {
            return ExitCode::BAD_INPUT;
        };
        let spec = super::load_spec(file, variant);
        return analyse(loaded, spec, format, settings, limits);
    }
    // A family file without --variant: what to fix is asked of its base
    // API; what its variants' attacks share is in `apisat batch`'s summary.
    let base;
    let file = match crate::batch::inputs::read(file) {
        Input::Family(family) => {
            eprintln!(
                "note: {} is a family (\"{}\"); this is what to fix in its base API {} (`--variant PATTERN` picks a variant); `apisat batch {}` shows the functions every attack of its variants calls",
                family.file, family.name, family.base_file, family.file
            );
            base = std::path::PathBuf::from(&family.base_file);
            base.as_path()
        }
        Input::Broken {
            diagnostics,
            source,
            ..
        } => {
            eprint!("{}", render_all(&diagnostics, source.as_deref()));
            return ExitCode::BAD_INPUT;
        }
        Input::Api { .. } => file,
    };
    let Some(loaded) = super::load_api(file) else {
        return ExitCode::BAD_INPUT;
    };
    let spec = super::load_spec(file, None);
    analyse(loaded, spec, format, settings, limits)
}

/// The analyses of a loaded API (policy changes too when it declares
/// `attributes`, its spec is at hand, and a secret is derivable), printed.
fn analyse(
    loaded: crate::front::lower::Loaded,
    spec: Option<super::SpecSource>,
    format: TextOrJson,
    settings: Settings,
    limits: FixLimits,
) -> ExitCode {
    let necessary = necessary_functions(&loaded.program, settings);
    let sets = removal_sets(&loaded.program, settings, limits);
    let derivable = matches!(
        necessary.base,
        Outcome::Derivable { .. } | Outcome::NoStatefulAttack { .. }
    );
    let policy = match spec {
        Some(spec) if derivable && loaded.program.objects.is_some() => {
            let relower = |changes: &[PolicyChange]| {
                spec.lower_with(|s| crate::analysis::policy_fix::apply(s, changes))
            };
            Some(policy_fixes(&loaded.program, &relower, settings, limits))
        }
        _ => None,
    };
    match format {
        TextOrJson::Text => {
            let mut out = text(&necessary, &sets);
            if let Some(p) = &policy {
                out.push_str(&policy_text(p));
            }
            emit(&out)
        }
        TextOrJson::Json => {
            // A struct, not `json!`: its fields keep this order.
            #[derive(serde::Serialize)]
            struct Both<'a> {
                necessary: &'a Necessary,
                removal_sets: &'a RemovalSets,
                /// Only for an API with `attributes` and a derivable secret.
                #[serde(skip_serializing_if = "Option::is_none")]
                policy_changes: Option<&'a PolicyFixes>,
            }
            let both = Both {
                necessary: &necessary,
                removal_sets: &sets,
                policy_changes: policy.as_ref(),
            };
            let json = serde_json::to_string_pretty(&both).unwrap_or_default();
            emit(&format!("{json}\n"));
        }
    }
    match necessary.base {
        Outcome::Derivable { .. } | Outcome::NoStatefulAttack { .. } => ExitCode::ATTACK,
        Outcome::Unknown => ExitCode(3),
        Outcome::Proved | Outcome::UpToBounds { .. } => ExitCode::default(),
    }
}

/// Renders both analyses as text.
pub fn text(necessary: &Necessary, sets: &RemovalSets) -> String {
    let mut out = String::new();
    let head = format!("{} ({})", necessary.file, necessary.api);
    match &necessary.base {
        Outcome::Derivable { .. } | Outcome::NoStatefulAttack { .. } => {}
        Outcome::Unknown => {
            let _ = writeln!(
                out,
                "{head}: unknown: saturation stopped at a limit, so nothing is established \
                 (raise --max-facts or --timeout)"
            );
            return out;
        }
        secure => {
            let how = secure_words(secure);
            let _ = writeln!(out, "{head}: no secret derivable {how}: nothing to fix");
            return out;
        }
    }
    let n = necessary.secrets.len();
    let _ = writeln!(
        out,
        "{head}: {n} secret{} derivable",
        if n == 1 { "" } else { "s" }
    );
    let _ = writeln!(
        out,
        "\nnecessary functions (removing one alone makes the secret not derivable):"
    );
    for s in &necessary.secrets {
        let name = if s.label == s.term {
            s.term.clone()
        } else {
            format!("{} = {}", s.label, s.term)
        };
        let list = if !s.necessary.is_empty() {
            s.necessary.join(", ")
        } else if s.trace_functions.is_empty() {
            "none".to_string()
        } else if s.removals.iter().any(|r| r.outcome == Outcome::Unknown) {
            "none established (a re-check stopped at a limit)".to_string()
        } else {
            "none: another attack survives each removal".to_string()
        };
        let _ = writeln!(out, "  secret {name}: {list}");
        if s.trace_functions.is_empty() {
            let _ = writeln!(
                out,
                "    derivable without any API call: no removal can fix it"
            );
            continue;
        }
        let _ = writeln!(
            out,
            "    its shortest attack calls {}",
            s.trace_functions.join(", ")
        );
        for r in &s.removals {
            let _ = writeln!(out, "    without {}: {}", r.function, r.outcome.describe());
        }
    }
    let _ = writeln!(
        out,
        "\nminimal removal sets (removing every function of a set makes no secret derivable):"
    );
    if sets.sets.is_empty() {
        let _ = writeln!(out, "  none found");
    }
    for (i, set) in sets.sets.iter().enumerate() {
        let _ = writeln!(
            out,
            "  {:>2}. {}: secure {}",
            i + 1,
            set.functions.join(", "),
            secure_words(&set.outcome)
        );
    }
    if !sets.unfixable.is_empty() {
        let _ = writeln!(
            out,
            "  unfixable by removal: {} derivable without any API call",
            sets.unfixable.join(", ")
        );
    }
    for u in &sets.undecided {
        let which = if u.is_empty() {
            "the API as it is".to_string()
        } else {
            format!("without {}", u.join(", "))
        };
        let _ = writeln!(
            out,
            "  undecided: {which} stopped at a limit; the search did not extend it"
        );
    }
    let checks = sets.checks;
    let search = match &sets.search {
        Search::NothingToFix => "nothing to fix".to_string(),
        Search::Complete => format!(
            "complete: every minimal removal set is listed{} ({})",
            if sets.undecided.is_empty() {
                ""
            } else {
                ", except those beyond the undecided sets"
            },
            plural(checks as u64, "check")
        ),
        Search::UpToSize { size } => format!(
            "every minimal removal set of up to {} is listed; larger ones \
             were not searched ({}; see --max-size)",
            plural(*size as u64, "function"),
            plural(checks as u64, "check")
        ),
        Search::Budget { size } => format!(
            "stopped after {} (--max-checks): every minimal removal set of up \
             to {} is listed, larger ones may be missing",
            plural(checks as u64, "check"),
            plural(*size as u64, "function")
        ),
    };
    let _ = writeln!(out, "  search: {search}");
    out
}

/// "up to bounds (...), not proved" or "unknown", for a secure outcome.
fn secure_words(outcome: &Outcome) -> String {
    match outcome {
        Outcome::UpToBounds { bounds } => {
            format!("up to bounds ({}), not proved", bounds.join(", "))
        }
        Outcome::Proved => "(proved)".to_string(),
        other => other.describe(),
    }
}

/// Renders the policy changes as text: the minimal fixing sets, each
/// change tried alone that is no fix, and how the search ended.
pub fn policy_text(p: &PolicyFixes) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\nminimal policy changes (under every change of a set no secret is derivable; \
         each set checked with the changed policy):"
    );
    if p.alone.is_empty() {
        let _ = writeln!(
            out,
            "  none to try: no `sets` function turns an attribute on or off, and no two \
             attributes read as T could conflict"
        );
        return out;
    }
    if p.fixes.is_empty() {
        let _ = writeln!(out, "  none found");
    }
    for (i, fix) in p.fixes.iter().enumerate() {
        let changes: Vec<String> = fix.changes.iter().map(PolicyChange::describe).collect();
        let _ = writeln!(
            out,
            "  {:>2}. {}: secure {}",
            i + 1,
            changes.join(", "),
            secure_words(&fix.outcome)
        );
    }
    let alone: Vec<_> = p
        .alone
        .iter()
        .filter(|t| t.outcome.as_ref().is_some_and(|o| !o.not_derivable()))
        .collect();
    if !alone.is_empty() {
        let _ = writeln!(out, "  alone, not a fix:");
        for t in alone {
            let outcome = t
                .outcome
                .as_ref()
                .map(Outcome::describe)
                .unwrap_or_default();
            let _ = writeln!(out, "    {}: {outcome}", t.change.describe());
        }
    }
    for t in p.alone.iter().filter(|t| t.outcome.is_none()) {
        let _ = writeln!(
            out,
            "  refused: {} (the token cannot have it: an initial object would break it)",
            t.change.describe()
        );
    }
    let checks = plural(p.checks as u64, "check");
    let search = match &p.search {
        Search::NothingToFix | Search::Complete => {
            format!("complete: every minimal set of policy changes is listed ({checks})")
        }
        Search::UpToSize { size } => format!(
            "every minimal set of up to {} is listed; larger ones were not searched ({checks}; see --max-size)",
            plural(*size as u64, "change")
        ),
        Search::Budget { size } => format!(
            "stopped after {checks} (--max-checks): every minimal set of up to {} is listed, larger ones may be missing",
            plural(*size as u64, "change")
        ),
    };
    let _ = writeln!(out, "  search: {search}");
    out
}

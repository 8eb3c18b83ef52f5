//! What to fix in a token's attribute policy: the smallest sets of policy
//! changes (make an attribute sticky on or sticky off, declare two
//! attributes conflicting) under which no secret is derivable, each
//! verified by checking the API with the changed policy.
//!
//! The candidates come from the program ([`candidates`]): `sticky_on` for
//! an attribute some `sets` function turns F, `sticky_off` for one some
//! `sets` function turns T, and a conflict between two attributes that
//! functions read as T and that objects can get. A change is applied to
//! the API's spec ([`apply`]) and the spec lowered again, so the policy is
//! enforced by the same code as one written in the file; a change the
//! token cannot have (an initial object that would hold a conflicting
//! pair) is *refused*, not checked.
//!
//! Stricter policies only take power from the attacker (each change adds
//! checks to rules, or exclusive pairs to the lifetime model), so fixing
//! sets are closed under supersets: the search visits sets by size,
//! skipping supersets of fixes found, and lists the minimal ones. "Fixes"
//! means what the check established: proved, or up to the bounds that cut
//! rule instances; "no attack with state within N calls" is not a fix (the
//! abstract model still derives the secret), as in [`crate::analysis::fix`].

use std::collections::BTreeSet;

use serde::Serialize;

use crate::analysis::fix::{FixLimits, Outcome, Search};
use crate::analysis::verdict::{check_program, Settings};
use crate::front::program::{Program, RuleKind};
use crate::front::spec::Spec;
use crate::front::term::{Term, TermId, TermStore};

/// One change to the attribute policy.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum PolicyChange {
    /// Make the attribute sticky on (`attributes: sticky_on`).
    StickyOn {
        /// The attribute.
        attribute: String,
    },
    /// Make the attribute sticky off (`attributes: sticky_off`).
    StickyOff {
        /// The attribute.
        attribute: String,
    },
    /// Declare the two attributes conflicting (`attributes: conflicts`).
    Conflict {
        /// The first attribute.
        a: String,
        /// The second attribute.
        b: String,
    },
}

impl PolicyChange {
    /// In words: "make `wrap` sticky_off", "declare `wrap` conflicts with
    /// `decrypt`".
    pub fn describe(&self) -> String {
        match self {
            PolicyChange::StickyOn { attribute } => format!("make `{attribute}` sticky_on"),
            PolicyChange::StickyOff { attribute } => format!("make `{attribute}` sticky_off"),
            PolicyChange::Conflict { a, b } => format!("declare `{a}` conflicts with `{b}`"),
        }
    }
}

/// The attributes of a handle term, when it is one with all of them.
fn handle_items(program: &Program, t: TermId) -> Option<Vec<TermId>> {
    let model = program.objects.as_ref()?;
    let store: &TermStore = &program.store;
    let Term::App(c, args) = store.get(t) else {
        return None;
    };
    if *c != model.handle {
        return None;
    }
    if model.names.len() == 1 {
        return Some(vec![args[1]]);
    }
    match store.get(args[1]) {
        Term::App(c, items) if store.ctor(*c).tuple && items.len() == model.names.len() => {
            Some(items.to_vec())
        }
        _ => None,
    }
}

/// The policy changes worth trying on a program with `attributes`, in a
/// fixed order: sticky on, sticky off (each in attribute order), then
/// conflicts (pairs in attribute order). Empty without `attributes`.
pub fn candidates(program: &Program) -> Vec<PolicyChange> {
    let Some(model) = program.objects.as_ref() else {
        return Vec::new();
    };
    let n = model.names.len();
    let (t, f) = (model.t, model.f);
    let mut sets_true = vec![false; n];
    let mut sets_false = vec![false; n];
    let mut read_true = vec![false; n];
    let mut gainable = vec![false; n];
    let mut initial: Vec<Vec<TermId>> = Vec::new();
    for &k in &program.knowledge {
        if let Some(items) = handle_items(program, k) {
            for i in 0..n {
                gainable[i] |= items[i] == t;
            }
            initial.push(items);
        }
    }
    for rule in program.rules.iter().filter(|r| r.kind == RuleKind::Call) {
        if model.setters.contains(&rule.name) {
            let before = rule.inputs.first().and_then(|p| handle_items(program, *p));
            let after = rule.outputs.first().and_then(|o| handle_items(program, *o));
            if let (Some(before), Some(after)) = (before, after) {
                for i in (0..n).filter(|i| !model.history[*i]) {
                    sets_true[i] |= after[i] == t && before[i] != t;
                    sets_false[i] |= after[i] == f && before[i] != f;
                }
            }
            continue;
        }
        for &p in &rule.inputs {
            if let Some(items) = handle_items(program, p) {
                for i in 0..n {
                    read_true[i] |= items[i] == t;
                }
            }
        }
        for &o in &rule.outputs {
            if let Some(items) = handle_items(program, o) {
                for i in 0..n {
                    gainable[i] |= items[i] != f;
                }
            }
        }
    }
    for i in 0..n {
        gainable[i] |= sets_true[i];
    }
    let name = |i: usize| model.names[i].clone();
    let mut out = Vec::new();
    for i in (0..n).filter(|i| sets_false[*i] && !model.sticky_on[*i]) {
        out.push(PolicyChange::StickyOn { attribute: name(i) });
    }
    for i in (0..n).filter(|i| sets_true[*i] && !model.sticky_off[*i]) {
        out.push(PolicyChange::StickyOff { attribute: name(i) });
    }
    let role = |i: usize| read_true[i] && gainable[i] && !model.history[i];
    for a in (0..n).filter(|a| role(*a)) {
        for b in (a + 1..n).filter(|b| role(*b)) {
            let declared = model.conflicts.contains(&(a, b)) || model.conflicts.contains(&(b, a));
            let held = initial.iter().any(|items| items[a] == t && items[b] == t);
            if !declared && !held {
                out.push(PolicyChange::Conflict {
                    a: name(a),
                    b: name(b),
                });
            }
        }
    }
    out
}

/// The spec with the changes added to its `attributes` (placed at the
/// `attributes:` key, for diagnostics). A spec without `attributes` is
/// returned unchanged.
pub fn apply(spec: &Spec, changes: &[PolicyChange]) -> Spec {
    let mut out = spec.clone();
    let Some(attrs) = out.attributes.as_mut() else {
        return out;
    };
    let at = attrs.key;
    let scalar = |text: &str| crate::front::yaml::Scalar {
        text: text.to_string(),
        kind: crate::front::yaml::ScalarKind::Str,
        span: at,
        content: None,
        map: None,
    };
    for c in changes {
        match c {
            PolicyChange::StickyOn { attribute } => attrs.sticky_on.push(scalar(attribute)),
            PolicyChange::StickyOff { attribute } => attrs.sticky_off.push(scalar(attribute)),
            PolicyChange::Conflict { a, b } => attrs.conflicts.push((scalar(a), scalar(b))),
        }
    }
    out
}

/// A set of policy changes under which no secret is derivable.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PolicyFix {
    /// The changes, in candidate order.
    pub changes: Vec<PolicyChange>,
    /// What "no secret derivable" rests on: proved, or up to bounds.
    pub outcome: Outcome,
}

/// One change checked alone.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Tried {
    /// The change.
    pub change: PolicyChange,
    /// The API with it; `None` when the token cannot have it (refused: an
    /// initial object would hold a conflicting pair).
    pub outcome: Option<Outcome>,
}

/// The result of [`policy_fixes`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PolicyFixes {
    /// Every candidate change checked alone, in candidate order.
    pub alone: Vec<Tried>,
    /// Minimal fixing sets, by size, then candidate order.
    pub fixes: Vec<PolicyFix>,
    /// How the search ended.
    pub search: Search,
    /// Checks run.
    pub checks: usize,
}

/// The minimal sets of policy changes (from [`candidates`]) under which no
/// secret of the program is derivable, sets of up to `limits.max_size`
/// changes, at most `limits.max_checks` checks. `relower` gives the program
/// with a set of changes applied (`None`: the token cannot have them).
pub fn policy_fixes(
    program: &Program,
    relower: &dyn Fn(&[PolicyChange]) -> Option<Program>,
    settings: Settings,
    limits: FixLimits,
) -> PolicyFixes {
    let cands = candidates(program);
    let mut result = PolicyFixes {
        alone: Vec::new(),
        fixes: Vec::new(),
        search: Search::Complete,
        checks: 0,
    };
    let check = |set: &BTreeSet<usize>, checks: &mut usize| -> Option<Outcome> {
        let changes: Vec<PolicyChange> = set.iter().map(|i| cands[*i].clone()).collect();
        let p = relower(&changes)?;
        *checks += 1;
        Some(Outcome::of_report(&check_program(p, settings)))
    };
    let mut found: Vec<(BTreeSet<usize>, Outcome)> = Vec::new();
    let mut refused: BTreeSet<usize> = BTreeSet::new();
    let mut level: Vec<BTreeSet<usize>> = (0..cands.len()).map(|i| BTreeSet::from([i])).collect();
    let mut size = 1;
    while !level.is_empty() {
        if size > limits.max_size {
            result.search = Search::UpToSize {
                size: limits.max_size,
            };
            break;
        }
        let mut fixing_or_refused: Vec<BTreeSet<usize>> = Vec::new();
        for set in &level {
            if result.checks >= limits.max_checks {
                result.search = Search::Budget { size: size - 1 };
                result.fixes = sorted(found, &cands);
                return result;
            }
            let outcome = check(set, &mut result.checks);
            if size == 1 {
                let i = *set.iter().next().unwrap_or(&0);
                result.alone.push(Tried {
                    change: cands[i].clone(),
                    outcome: outcome.clone(),
                });
                if outcome.is_none() {
                    refused.insert(i);
                }
            }
            match outcome {
                Some(o) if o.not_derivable() => {
                    found.push((set.clone(), o));
                    fixing_or_refused.push(set.clone());
                }
                Some(_) => {}
                None => fixing_or_refused.push(set.clone()),
            }
        }
        // The next size: sets that contain no fix and no refused change.
        let open: Vec<&BTreeSet<usize>> = level
            .iter()
            .filter(|s| !fixing_or_refused.contains(s))
            .collect();
        let mut next: BTreeSet<BTreeSet<usize>> = BTreeSet::new();
        for s in &open {
            let last = *s.iter().next_back().unwrap_or(&0);
            for i in last + 1..cands.len() {
                if refused.contains(&i) {
                    continue;
                }
                let mut bigger = (*s).clone();
                bigger.insert(i);
                if !found.iter().any(|(f, _)| f.is_subset(&bigger)) {
                    next.insert(bigger);
                }
            }
        }
        level = next.into_iter().collect();
        size += 1;
    }
    result.fixes = sorted(found, &cands);
    result
}

fn sorted(mut found: Vec<(BTreeSet<usize>, Outcome)>, cands: &[PolicyChange]) -> Vec<PolicyFix> {
    found.sort_by_cached_key(|(set, _)| (set.len(), set.iter().copied().collect::<Vec<_>>()));
    found
        .into_iter()
        .map(|(set, outcome)| PolicyFix {
            changes: set.iter().map(|i| cands[*i].clone()).collect(),
            outcome,
        })
        .collect()
}

//! What to fix: which API functions an attack cannot do without, and the
//! smallest sets of functions whose removal makes the API secure.
//!
//! Everything here works on a checked [`Program`]: a *variant without some
//! functions* is the program with those functions' rules (`RuleKind::Call`)
//! dropped, checked again with [`check_program`]. Removing a function only
//! takes power away from the attacker, so the fixing sets are closed under
//! supersets, and only a function an attack calls can matter for that attack:
//! without any other function the same attack still works.
//!
//! * [`necessary_functions`]: per derivable secret, the functions of its
//!   shortest attack whose removal *alone* makes the secret not derivable.
//!   A function of the shortest attack need not be necessary: another attack
//!   may do without it.
//! * [`removal_sets`]: the minimal sets of functions whose removal makes no
//!   secret derivable, by an iterative hitting-set search (see its doc).
//!
//! Every "not derivable" carries what it rests on ([`Outcome`]): proved,
//! up to the bounds that cut rule instances, or unknown at a limit. The
//! results are plain data (serde `Serialize`) with printed names only, so a
//! caller can compare them across programs.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::analysis::verdict::{check_program, Proof, Report, SecretReport, Settings, Verdict};
use crate::front::program::{Program, RuleKind};

/// The API functions of a program, in the order the file lists them.
pub fn functions(program: &Program) -> Vec<String> {
    program
        .rules
        .iter()
        .filter(|r| r.kind == RuleKind::Call)
        .map(|r| r.name.clone())
        .collect()
}

/// The program without the named API functions (deductions are kept).
/// Names that are no function of the program are ignored.
pub fn without(program: &Program, removed: &[String]) -> Program {
    let mut variant = program.clone();
    variant
        .rules
        .retain(|r| r.kind != RuleKind::Call || !removed.contains(&r.name));
    variant
}

/// The API functions a secret's attack calls, each once, in the order the
/// attack first calls them. Empty when the secret is not derivable, or is
/// derivable without any call.
pub fn functions_in_trace(secret: &SecretReport) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for step in secret.trace.iter().filter(|s| s.kind == "call") {
        if !out.contains(&step.call) {
            out.push(step.call.clone());
        }
    }
    out
}

/// What a check established about one secret, or about a whole API.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum Outcome {
    /// Derivable; `calls` is the length of the shortest attack.
    Derivable {
        /// API calls in the shortest attack, when one was extracted.
        calls: Option<usize>,
    },
    /// Not derivable, proved (no bound cut, or proof mode closed the gap).
    Proved,
    /// Not derivable within the bounds listed, which cut rule instances:
    /// not a proof.
    UpToBounds {
        /// The bounds that cut, as `flag value` (`input-depth 0`).
        bounds: Vec<String>,
    },
    /// A resource limit stopped saturation first: nothing established.
    Unknown,
    /// Derivable in the abstract model only: the attack needs an object in
    /// two states, and no token run of up to `bound` calls reaches it.
    NoStatefulAttack {
        /// API calls of the abstract attack.
        calls: Option<usize>,
        /// The stateful search's bound on calls.
        bound: usize,
    },
}

impl Outcome {
    /// True for `Proved` and `UpToBounds`: the check found no derivation.
    pub fn not_derivable(&self) -> bool {
        matches!(self, Outcome::Proved | Outcome::UpToBounds { .. })
    }

    /// The outcome in words, as text output prints it.
    pub fn describe(&self) -> String {
        match self {
            Outcome::Derivable { calls: Some(n) } => {
                format!("still derivable ({n} API call{})", plural(*n))
            }
            Outcome::Derivable { calls: None } => "still derivable".to_string(),
            Outcome::Proved => "not derivable (proved)".to_string(),
            Outcome::UpToBounds { bounds } => format!(
                "not derivable up to bounds ({}), not proved",
                bounds.join(", ")
            ),
            Outcome::Unknown => "unknown (stopped at a limit)".to_string(),
            Outcome::NoStatefulAttack { calls, bound } => format!(
                "still derivable in the abstract model ({} API calls), but no attack with state within {bound} calls",
                calls.unwrap_or(0)
            ),
        }
    }

    /// The outcome for one secret of a report.
    pub fn of_secret(report: &Report, secret: &SecretReport) -> Outcome {
        if secret.no_stateful_attack() {
            return Outcome::NoStatefulAttack {
                calls: secret.calls,
                bound: secret.stateful.as_ref().map_or(0, |s| s.calls),
            };
        }
        match (secret.derivable, secret.proof) {
            (Some(true), _) => Outcome::Derivable {
                calls: secret.calls,
            },
            (Some(false), Some(Proof::Proved)) => Outcome::Proved,
            (Some(false), _) => Outcome::UpToBounds {
                bounds: bound_names(report),
            },
            (None, _) => Outcome::Unknown,
        }
    }

    /// The outcome for the whole API: derivable when some secret is.
    pub fn of_report(report: &Report) -> Outcome {
        let derivable = report.secrets.iter().filter(|s| s.derivable == Some(true));
        if report.unconfirmed() && derivable.clone().all(SecretReport::no_stateful_attack) {
            return Outcome::NoStatefulAttack {
                calls: report.secrets.iter().filter_map(|s| s.calls).min(),
                bound: derivable
                    .filter_map(|s| s.stateful.as_ref().map(|st| st.calls))
                    .min()
                    .unwrap_or(0),
            };
        }
        match (report.verdict, report.proof) {
            (Verdict::Attack, _) => Outcome::Derivable {
                calls: report.secrets.iter().filter_map(|s| s.calls).min(),
            },
            (Verdict::Secure, Some(Proof::Proved)) => Outcome::Proved,
            (Verdict::Secure, _) => Outcome::UpToBounds {
                bounds: bound_names(report),
            },
            (Verdict::Limit, _) => Outcome::Unknown,
        }
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// The bounds that cut rule instances in a run, as `flag value`.
fn bound_names(report: &Report) -> Vec<String> {
    report
        .bounds
        .iter()
        .map(crate::analysis::verdict::BoundReport::label)
        .collect()
}

/// The effect of removing one function on one secret.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Removal {
    /// The function removed.
    pub function: String,
    /// The secret without it.
    pub outcome: Outcome,
}

/// Necessary functions of one derivable secret.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SecretNecessity {
    /// The secret's label.
    pub label: String,
    /// The secret term, printed.
    pub term: String,
    /// API calls in its shortest attack.
    pub calls: Option<usize>,
    /// The functions its shortest attack calls ([`functions_in_trace`]).
    pub trace_functions: Vec<String>,
    /// Each of those removed alone, in trace order.
    pub removals: Vec<Removal>,
    /// The functions whose removal alone makes the secret not derivable
    /// (proved or up to bounds: see `removals`), in trace order.
    pub necessary: Vec<String>,
}

/// The result of [`necessary_functions`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Necessary {
    /// The file checked.
    pub file: String,
    /// The API's name.
    pub api: String,
    /// The API as it is.
    pub base: Outcome,
    /// One entry per secret derivable in the API as it is, in listed order.
    pub secrets: Vec<SecretNecessity>,
    /// Checks run, the API as it is included.
    pub checks: usize,
}

/// Per derivable secret, the functions of its shortest attack whose removal
/// alone makes it not derivable. Functions outside the attack cannot be
/// necessary (that attack survives their removal), so each function of a
/// trace is removed and the program re-checked, once per function for all
/// secrets.
pub fn necessary_functions(program: &Program, settings: Settings) -> Necessary {
    let base = check_program(program.clone(), settings);
    let mut checks = 1;
    let derivable: Vec<&SecretReport> = base
        .secrets
        .iter()
        .filter(|s| s.derivable == Some(true))
        .collect();
    let mut without_one: BTreeMap<String, Report> = BTreeMap::new();
    for secret in &derivable {
        for f in functions_in_trace(secret) {
            if let std::collections::btree_map::Entry::Vacant(slot) = without_one.entry(f) {
                let removed = std::slice::from_ref(slot.key());
                let report = check_program(without(program, removed), settings);
                checks += 1;
                slot.insert(report);
            }
        }
    }
    let secrets = derivable
        .iter()
        .map(|secret| {
            let trace_functions = functions_in_trace(secret);
            let removals: Vec<Removal> = trace_functions
                .iter()
                .filter_map(|f| {
                    let report = without_one.get(f)?;
                    let after = report.secrets.iter().find(|s| s.label == secret.label)?;
                    Some(Removal {
                        function: f.clone(),
                        outcome: Outcome::of_secret(report, after),
                    })
                })
                .collect();
            let necessary = removals
                .iter()
                .filter(|r| r.outcome.not_derivable())
                .map(|r| r.function.clone())
                .collect();
            SecretNecessity {
                label: secret.label.clone(),
                term: secret.term.clone(),
                calls: secret.calls,
                trace_functions,
                removals,
                necessary,
            }
        })
        .collect();
    Necessary {
        file: base.file.clone(),
        api: base.api.clone(),
        base: Outcome::of_report(&base),
        secrets,
        checks,
    }
}

/// How far [`removal_sets`] searches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FixLimits {
    /// Keep searching larger sets up to this size, even after the smallest
    /// fixing sets are found.
    pub max_size: usize,
    /// Stop after this many checks (each one saturation).
    pub max_checks: usize,
}

impl Default for FixLimits {
    fn default() -> Self {
        FixLimits {
            max_size: 3,
            max_checks: 200,
        }
    }
}

/// A set of functions whose removal makes no secret derivable.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RemovalSet {
    /// The functions removed, in file order.
    pub functions: Vec<String>,
    /// What "secure" rests on for the API without them.
    pub outcome: Outcome,
}

/// How the search for removal sets ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "search", rename_all = "kebab-case")]
pub enum Search {
    /// The API as it is has no derivable secret: nothing to fix.
    NothingToFix,
    /// Nothing left to try: every minimal removal set is listed.
    Complete,
    /// Every minimal removal set of up to `size` functions is listed;
    /// larger ones were not searched.
    UpToSize {
        /// The largest size searched in full.
        size: usize,
    },
    /// The check budget ran out: minimal removal sets of up to `size`
    /// functions are all listed, larger ones may be missing.
    Budget {
        /// The largest size searched in full (0: none).
        size: usize,
    },
}

/// The result of [`removal_sets`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RemovalSets {
    /// The file checked.
    pub file: String,
    /// The API's name.
    pub api: String,
    /// The API's functions, in file order.
    pub functions: Vec<String>,
    /// The API as it is.
    pub base: Outcome,
    /// Minimal fixing sets, by size, then by file order of their functions.
    pub sets: Vec<RemovalSet>,
    /// Sets whose check stopped at a resource limit: whether they fix the
    /// API is unknown, and the search did not extend them.
    pub undecided: Vec<Vec<String>>,
    /// Secrets derivable with no API call at all: no removal can fix them.
    pub unfixable: Vec<String>,
    /// How the search ended.
    pub search: Search,
    /// Checks run, the API as it is included.
    pub checks: usize,
}

/// The minimal sets of API functions whose removal makes no secret
/// derivable, by an iterative hitting-set search.
///
/// Check the API without a set R. If some secret is still derivable, every
/// fixing superset of R must also remove a function its attack calls (the
/// attack survives otherwise), so the search branches on each function of
/// that attack (the derivable secret whose attack calls the fewest distinct
/// functions). Sets are visited breadth-first by size, duplicates once, and
/// supersets of fixing sets already found are skipped: every minimal fixing
/// set is reached from a chain of its subsets, so the sets found at each
/// size are minimal and, once a size is done, all of that size are found.
///
/// The search goes on up to `limits.max_size` and, beyond it, until the
/// size where the first fixing sets appear; it stops when `limits.max_checks`
/// checks have run. "Fixes" means what the check established: proved, or
/// up to bounds, per set. Attacks whose replay was not confirmed count as
/// attacks.
pub fn removal_sets(program: &Program, settings: Settings, limits: FixLimits) -> RemovalSets {
    let names = functions(program);
    let mut result = RemovalSets {
        file: program.file.clone(),
        api: program.name.clone(),
        functions: names.clone(),
        base: Outcome::Unknown,
        sets: Vec::new(),
        undecided: Vec::new(),
        unfixable: Vec::new(),
        search: Search::Complete,
        checks: 0,
    };
    let index = |f: &str| names.iter().position(|n| n == f);
    let as_names = |set: &BTreeSet<usize>| -> Vec<String> {
        set.iter().filter_map(|i| names.get(*i).cloned()).collect()
    };
    // Fixing sets found, with what their check established.
    let mut found: Vec<(BTreeSet<usize>, Outcome)> = Vec::new();
    let mut level: Vec<BTreeSet<usize>> = vec![BTreeSet::new()];
    let mut size: usize = 0;
    while !level.is_empty() {
        let mut next: BTreeSet<BTreeSet<usize>> = BTreeSet::new();
        for set in &level {
            if result.checks >= limits.max_checks {
                result.search = Search::Budget {
                    size: size.saturating_sub(1),
                };
                result.sets = sorted(found, &as_names);
                return result;
            }
            let report = check_program(without(program, &as_names(set)), settings);
            result.checks += 1;
            let outcome = Outcome::of_report(&report);
            if set.is_empty() {
                result.base = outcome.clone();
            }
            match report.verdict {
                Verdict::Secure => {
                    if set.is_empty() {
                        result.search = Search::NothingToFix;
                        return result;
                    }
                    found.push((set.clone(), outcome));
                }
                Verdict::Limit => result.undecided.push(as_names(set)),
                Verdict::Attack => {
                    let attacks: Vec<Vec<String>> = report
                        .secrets
                        .iter()
                        .filter(|s| s.derivable == Some(true))
                        .map(functions_in_trace)
                        .collect();
                    if set.is_empty() {
                        result.unfixable = report
                            .secrets
                            .iter()
                            .zip(&attacks)
                            .filter(|(_, a)| a.is_empty())
                            .map(|(s, _)| s.label.clone())
                            .collect();
                    }
                    // An attack with no call cannot be hit: a dead end.
                    let Some(branch) = attacks.iter().min_by_key(|a| a.len()) else {
                        continue;
                    };
                    for f in branch {
                        if let Some(i) = index(f) {
                            let mut bigger = set.clone();
                            if bigger.insert(i) {
                                next.insert(bigger);
                            }
                        }
                    }
                }
            }
        }
        // Supersets of fixing sets are not minimal: never checked.
        next.retain(|s| !found.iter().any(|(f, _)| f.is_subset(s)));
        if !found.is_empty() && size >= limits.max_size && !next.is_empty() {
            result.search = Search::UpToSize { size };
            break;
        }
        level = next.into_iter().collect();
        size += 1;
    }
    result.sets = sorted(found, &as_names);
    result
}

/// The sets found, by size, then by the file order of their functions.
fn sorted(
    mut found: Vec<(BTreeSet<usize>, Outcome)>,
    as_names: &dyn Fn(&BTreeSet<usize>) -> Vec<String>,
) -> Vec<RemovalSet> {
    found.sort_by_cached_key(|(set, _)| (set.len(), set.iter().copied().collect::<Vec<_>>()));
    found
        .into_iter()
        .map(|(set, outcome)| RemovalSet {
            functions: as_names(&set),
            outcome,
        })
        .collect()
}

//! Why one term is, or is not, derivable: the data behind `apisat explain`.
//!
//! The term is checked as the API's only secret by the verdict logic of
//! `check` ([`check_program`]), so the answer never claims more than the
//! bounded run and proof mode established. Then a second, identical bounded
//! run (same program, same settings, so the same saturation) gives what the
//! report does not carry:
//!
//! * derivable: the cheapest derivation (the one [`Derivations`] computes
//!   and `check` prints flat) as a tree, each term under the rule that
//!   produced it, shared subtrees expanded once;
//! * not derivable: the closest misses, one level deep: each API function
//!   with an output that matches the term, its inputs instantiated with
//!   that match, and those inputs the attacker cannot supply. Which inputs
//!   it cannot supply is judged against the bounded run when no bound cut
//!   it (then it is exact), or against proof mode's exact fixpoint when
//!   proof mode proved the term (then it holds for every attacker, as the
//!   verdict does); otherwise it is what the bounded run did not obtain,
//!   and [`Explanation::complete`] is false.
//!
//! Everything is printed into strings here, as in [`Report`], so the
//! result renders the same bytes on every run.

use std::collections::{HashMap, HashSet};

use serde::Serialize;

use crate::analysis::engine::Budget;
use crate::analysis::engine::{saturate, Saturation, StopReason};
use crate::analysis::matching::{empty_binding, match_term, UNBOUND};
use crate::analysis::plan::compile;
use crate::analysis::prove::{self, ProofRun};
use crate::analysis::shared::{Namer, SharedTerm};
use crate::analysis::trace::{Derivations, TraceStep};
use crate::analysis::verdict::{check_program_within, Proof, Report, Settings};
use crate::front::diagnostic::Span;
use crate::front::program::{Program, RuleId, RuleKind, Secret};
use crate::front::term::{NameKind, Term, TermId, TermStore};

/// At most this many matches of one function's outputs are listed.
pub const MAX_MISSES_PER_FUNCTION: usize = 4;

/// Why one term is or is not derivable.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Explanation {
    /// The term, printed.
    pub term: String,
    /// The verdict run with the term as the only secret.
    pub report: Report,
    /// Terms and lists printed once and used by name (`@1`) in `tree`, as
    /// in [`Report::shared`]. Absent when empty.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub shared: Vec<SharedTerm>,
    /// The cheapest derivation, when the term is derivable.
    pub tree: Option<TreeNode>,
    /// When not derivable: the API functions that could output the term,
    /// and what they lack, in function order.
    pub misses: Vec<Miss>,
    /// When not derivable and the term's top constructor is public: what
    /// the attacker lacks to build it itself.
    pub build: Option<Miss>,
    /// True when the misses' `missing` inputs hold for every attacker: no
    /// bound cut the bounded run and it reached a fixpoint, or proof mode
    /// proved the term and judged the inputs against its exact fixpoint.
    /// False: they are what the bounded run did not obtain.
    pub complete: bool,
}

impl Explanation {
    /// The explanation with every shared name put back in place (in the
    /// tree and in the report): what `--full-terms` prints.
    pub fn expanded(&self) -> Explanation {
        let e = crate::analysis::shared::expansions(&self.shared);
        fn node(n: &TreeNode, e: &rustc_hash::FxHashMap<String, Vec<String>>) -> TreeNode {
            let args = |a: &Vec<String>| crate::analysis::shared::expand_list(a, e);
            TreeNode {
                term: crate::analysis::shared::expand_text(&n.term, e),
                how: match &n.how {
                    How::Call { name, args: a } => How::Call {
                        name: name.clone(),
                        args: args(a),
                    },
                    How::Deduction { name, args: a } => How::Deduction {
                        name: name.clone(),
                        args: args(a),
                    },
                    How::AlsoFrom { name, args: a } => How::AlsoFrom {
                        name: name.clone(),
                        args: args(a),
                    },
                    other => other.clone(),
                },
                children: n.children.iter().map(|c| node(c, e)).collect(),
            }
        }
        Explanation {
            report: self.report.expanded(),
            shared: Vec::new(),
            tree: self.tree.as_ref().map(|t| node(t, &e)),
            ..self.clone()
        }
    }

    /// Derivable (`Some(true)`), not derivable (`Some(false)`), or unknown
    /// because a limit stopped the run (`None`).
    pub fn derivable(&self) -> Option<bool> {
        self.report.secrets.first().and_then(|s| s.derivable)
    }
}

/// How the cheapest derivation obtains one term.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum How {
    /// The attacker knew it from the start.
    Initial,
    /// Derived earlier in the tree: see there.
    SeeAbove,
    /// An API call.
    Call {
        /// The function.
        name: String,
        /// Its arguments.
        args: Vec<String>,
    },
    /// An attacker deduction (taking a term apart).
    Deduction {
        /// The deduction.
        name: String,
        /// Its arguments.
        args: Vec<String>,
    },
    /// The attacker applies a public constructor (or XOR) to the children.
    Build {
        /// The constructor (`senc`, `h`), `tuple`, or `⊕`.
        with: String,
    },
    /// Another result of a call or deduction expanded above.
    AlsoFrom {
        /// The call or deduction.
        name: String,
        /// Its arguments.
        args: Vec<String>,
    },
}

/// One node of a derivation tree: a term, how it is obtained, and the
/// derivations of what that needs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TreeNode {
    /// The term, printed.
    pub term: String,
    /// The rule that gives it.
    pub how: How,
    /// The derivations of the rule's inputs (each distinct input once, in
    /// argument order).
    pub children: Vec<TreeNode>,
}

/// A way the term could have been produced, and what it lacks.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Miss {
    /// The API function (or `build` for the attacker's own construction).
    pub via: String,
    /// The function's output that matches the term, as written (function
    /// form), or the constructor built with.
    pub output: String,
    /// The match: `variable = value`, in variable order.
    pub binding: Vec<String>,
    /// The function's inputs under the match; unbound variables stay.
    pub needs: Vec<String>,
    /// Those inputs no term the attacker obtained or can build fits.
    pub missing: Vec<String>,
}

/// Explains `term` in `program`: the verdict as `check` gives it with the
/// term as the only secret, then the derivation tree or closest misses.
pub fn explain(mut program: Program, term: TermId, settings: Settings) -> Explanation {
    let shown = program.store.show(term);
    let mut checked = program.clone();
    checked.secrets = vec![Secret {
        label: shown.clone(),
        term,
        span: Span::default(),
    }];
    // One clock and memory count for both runs and every stage.
    let budget = Budget::start(settings.limits);
    let report = check_program_within(checked, settings, &budget);
    let derivable = report.secrets.first().and_then(|s| s.derivable);
    let mut out = Explanation {
        term: shown,
        report,
        shared: Vec::new(),
        tree: None,
        misses: Vec::new(),
        build: None,
        complete: false,
    };
    let Some(derivable) = derivable else {
        return out;
    };
    let proved = out.report.secrets.first().and_then(|s| s.proof) == Some(Proof::Proved);
    let later = Settings {
        limits: budget.limits_left(),
        ..settings
    };
    let (sat, plan_cut) = bounded_run(&mut program, term, later);
    out.complete = !plan_cut && sat.cuts.is_empty() && sat.stop == StopReason::Saturated;
    if derivable {
        // A limit reached here leaves the tree out (the report says so).
        if let Ok(derivations) = Derivations::compute_within(&mut program, &sat, &[term], &budget) {
            if sat.derivable.contains(&term) {
                let (node, shared) = named_tree(&program, &derivations, term);
                out.tree = Some(node);
                out.shared = shared;
            }
        }
    } else {
        // Proved by proof mode beyond the bounds: judge the inputs against
        // its fixpoint (the same run `check_program` made), so that what
        // is called missing is missing for every attacker.
        let mut supply = if proved && !out.complete {
            let run = prove::prove_within(&mut program, settings.bounds, settings.limits, &budget);
            if run.is_exact() {
                out.complete = true;
                Supply::proof(run)
            } else {
                Supply::new(&sat)
            }
        } else {
            Supply::new(&sat)
        };
        out.misses = closest_misses(&mut program, &mut supply, term);
        out.build = build_miss(&mut program, &mut supply, term);
    }
    out
}

/// The bounded run of `check_program`: compile and saturate with `goal`.
/// Also says whether the planner cut a rule's plans short.
fn bounded_run(program: &mut Program, goal: TermId, settings: Settings) -> (Saturation, bool) {
    let attacker = program
        .store
        .names()
        .find(|(_, n)| n.kind == NameKind::Attacker)
        .map(|(id, _)| id);
    let attacker = match attacker {
        Some(id) => program.store.name_term(id),
        None => {
            let id = program.store.declare_name("attacker", NameKind::Attacker);
            let t = program.store.name_term(id);
            program.knowledge.push(t);
            t
        }
    };
    let compiled = compile(program, attacker);
    let sat = saturate(
        program,
        &compiled.plans,
        &[goal],
        settings.bounds,
        settings.limits,
    );
    (sat, !compiled.truncated.is_empty())
}

// ----- derivation tree ----------------------------------------------------

/// What the tree has expanded so far.
#[derive(Default)]
struct Seen {
    terms: HashSet<TermId>,
    steps: HashSet<(RuleId, Vec<TermId>)>,
}

/// How [`tree`] prints terms: recording what it would print (to decide
/// the shared names), or printing with them.
enum Printer<'a> {
    Collect {
        terms: Vec<TermId>,
        lists: Vec<Vec<TermId>>,
    },
    Print(&'a Namer),
}

impl Printer<'_> {
    fn term(&mut self, store: &TermStore, t: TermId) -> String {
        match self {
            Printer::Collect { terms, .. } => {
                terms.push(t);
                String::new()
            }
            Printer::Print(namer) => namer.term(store, t),
        }
    }

    fn list(&mut self, store: &TermStore, l: &[TermId]) -> Vec<String> {
        match self {
            Printer::Collect { lists, .. } => {
                lists.push(l.to_vec());
                Vec::new()
            }
            Printer::Print(namer) => namer.list(store, l),
        }
    }
}

/// The derivation tree of `t`, with large terms printed more than once
/// named (`crate::analysis::shared`): the tree is walked once to count what it
/// prints, then printed.
fn named_tree(program: &Program, d: &Derivations<'_>, t: TermId) -> (TreeNode, Vec<SharedTerm>) {
    let mut collect = Printer::Collect {
        terms: Vec::new(),
        lists: Vec::new(),
    };
    tree(program, d, t, &mut Seen::default(), &mut collect);
    let Printer::Collect { terms, lists } = collect else {
        unreachable!("collecting")
    };
    let namer = Namer::new(&program.store, &terms, &lists);
    let node = tree(
        program,
        d,
        t,
        &mut Seen::default(),
        &mut Printer::Print(&namer),
    );
    (node, namer.into_table())
}

fn tree(
    program: &Program,
    d: &Derivations<'_>,
    t: TermId,
    seen: &mut Seen,
    printer: &mut Printer,
) -> TreeNode {
    let store = &program.store;
    let leaf = |how, printer: &mut Printer| TreeNode {
        term: printer.term(store, t),
        how,
        children: Vec::new(),
    };
    let step = match d.producer(program, t) {
        Some(Some(step)) => step,
        // Initial knowledge (and, never reached, the underivable).
        _ => return leaf(How::Initial, printer),
    };
    if !seen.terms.insert(t) {
        return leaf(How::SeeAbove, printer);
    }
    let (how, inputs) = match step {
        TraceStep::Apply {
            rule, kind, args, ..
        } => {
            let name = program.rule(rule).name.clone();
            let printed = printer.list(store, &args);
            if !seen.steps.insert((rule, args.clone())) {
                return leaf(
                    How::AlsoFrom {
                        name,
                        args: printed,
                    },
                    printer,
                );
            }
            let how = match kind {
                RuleKind::Call => How::Call {
                    name,
                    args: printed,
                },
                RuleKind::Deduction => How::Deduction {
                    name,
                    args: printed,
                },
            };
            (how, args)
        }
        TraceStep::Build { term, from } => {
            let with = match program.store.get(term) {
                Term::App(c, _) if program.store.ctor(*c).tuple => "tuple".to_string(),
                Term::App(c, _) => program.store.ctor(*c).text.clone(),
                _ => "⊕".to_string(),
            };
            (How::Build { with }, from)
        }
        TraceStep::Xor { from, .. } => (
            How::Build {
                with: "⊕".to_string(),
            },
            from,
        ),
    };
    let mut distinct: Vec<TermId> = Vec::new();
    for i in inputs {
        if !distinct.contains(&i) {
            distinct.push(i);
        }
    }
    let children = distinct
        .into_iter()
        .map(|i| tree(program, d, i, seen, printer))
        .collect();
    TreeNode {
        term: printer.term(store, t),
        how,
        children,
    }
}

// ----- closest misses -----------------------------------------------------

/// Which terms and patterns the attacker can supply, judged against the
/// bounded run's obtained terms, or against proof mode's facts.
struct Supply {
    known: Vec<TermId>,
    known_set: HashSet<TermId>,
    memo: HashMap<TermId, bool>,
    /// Proof mode's exact run, when the inputs are judged against it.
    proof: Option<ProofRun>,
}

/// How deep [`Supply::proof_pattern`] follows the goals a fact's variables
/// raise; past it, it says "can supply" (generous, so never a false
/// "missing").
const PROOF_GOAL_DEPTH: u16 = 6;

impl Supply {
    fn new(sat: &Saturation) -> Self {
        let mut known = sat.known.clone();
        known.sort_unstable();
        Supply {
            known_set: known.iter().copied().collect(),
            known,
            memo: HashMap::new(),
            proof: None,
        }
    }

    /// Judged against proof mode's exact fixpoint: by its soundness
    /// argument (`prove.rs`), every term the attacker can obtain is an
    /// instance of a fact with its variables instantiated by derivable
    /// terms, and every derivable term is obtained or built from derivable
    /// terms with a public constructor.
    fn proof(run: ProofRun) -> Self {
        Supply {
            known: Vec::new(),
            known_set: HashSet::new(),
            memo: HashMap::new(),
            proof: Some(run),
        }
    }

    /// A ground term: obtained, or built with a public constructor from
    /// derivable children. An XOR term not obtained is given the benefit
    /// of the doubt (it may lie in the span of what is known).
    fn ground(&mut self, program: &mut Program, t: TermId) -> bool {
        if let Some(run) = &self.proof {
            if let Some(&b) = self.memo.get(&t) {
                return b;
            }
            let b = prove::derivable(program, run, t);
            self.memo.insert(t, b);
            return b;
        }
        let store = &program.store;
        if self.known_set.contains(&t) {
            return true;
        }
        if let Some(&b) = self.memo.get(&t) {
            return b;
        }
        let b = match store.get(t) {
            Term::App(c, args) if store.ctor(*c).public => {
                args.clone().iter().all(|a| self.ground(program, *a))
            }
            Term::Xor(_) | Term::Zero => true,
            _ => false,
        };
        self.memo.insert(t, b);
        b
    }

    /// A pattern (its variables free): some obtained term matches it, or
    /// its top constructor is public and each argument can be supplied on
    /// its own. Generous with variables and XOR, so that an input is only
    /// called missing when no value could fit it.
    fn pattern(&mut self, program: &mut Program, p: TermId, vars: usize) -> bool {
        if program.store.is_ground(p) {
            return self.ground(program, p);
        }
        if self.proof.is_some() {
            return self.proof_pattern(program, p, 0);
        }
        let store = &mut program.store;
        match store.get(p).clone() {
            Term::App(c, args) => {
                let empty = empty_binding(vars);
                let matched = self
                    .known
                    .iter()
                    .any(|k| !match_term(store, p, *k, &empty).is_empty());
                matched
                    || (program.store.ctor(c).public
                        && args.iter().all(|a| self.pattern(program, *a, vars)))
            }
            _ => true,
        }
    }

    /// Against proof mode's facts: can some instance of `p` be derived? A
    /// fact unifies with it, each of the fact's variables bound to a
    /// structure being itself suppliable; or its top constructor is public
    /// and each argument can be supplied. Generous (a variable, XOR, a goal
    /// too deep), so "no" means no instance of `p` is derivable.
    fn proof_pattern(&mut self, program: &mut Program, p: TermId, depth: u16) -> bool {
        if program.store.is_ground(p) {
            return self.ground(program, p);
        }
        if depth > PROOF_GOAL_DEPTH {
            return true;
        }
        let (c, args) = match program.store.get(p).clone() {
            Term::App(c, args) => (c, args),
            _ => return true,
        };
        let facts = self
            .proof
            .as_ref()
            .map(|r| r.facts.clone())
            .unwrap_or_default();
        // The fact's variables are renamed past the pattern's.
        let offset = program.store.vars(p).into_iter().max().map_or(0, |v| v + 1);
        for f in facts {
            if !matches!(program.store.get(f), Term::App(d, _) if *d == c) {
                continue;
            }
            let store = &mut program.store;
            let renamed = store.rewrite(f, &mut |store, u| match store.get(u) {
                Term::Var(v) => {
                    let v = *v + offset;
                    Some(store.var(v))
                }
                _ => None,
            });
            let s = match crate::analysis::prove::unifier(store, p, renamed) {
                Ok(Some(s)) => s,
                Ok(None) => continue,
                // Outside the XOR fragment: nothing can be ruled out.
                Err(_) => return true,
            };
            // A fact's variable stands for any derivable term: bound to a
            // structure, that structure must be derivable.
            let mut goals: Vec<TermId> = Vec::new();
            for v in store.vars(renamed) {
                if let Some(&t) = s.get(&v) {
                    let t = crate::analysis::prove::substitute(store, t, &s);
                    if !matches!(store.get(t), Term::Var(_)) {
                        goals.push(t);
                    }
                }
            }
            if goals
                .into_iter()
                .all(|g| self.proof_pattern(program, g, depth + 1))
            {
                return true;
            }
        }
        program.store.ctor(c).public
            && args
                .iter()
                .all(|a| self.proof_pattern(program, *a, depth + 1))
    }
}

/// Replaces the bound variables of `p` by their values.
fn partial(store: &mut TermStore, p: TermId, binding: &[TermId]) -> TermId {
    store.rewrite(p, &mut |store, u| match store.get(u) {
        Term::Var(v) => binding.get(*v as usize).copied().filter(|t| *t != UNBOUND),
        _ => None,
    })
}

/// Variable names for printing: wildcards (`_1`, `_2`) as `_`.
fn printed_vars(names: &[String]) -> Vec<String> {
    names
        .iter()
        .map(|n| {
            let wildcard =
                n.len() > 1 && n.starts_with('_') && n[1..].chars().all(|c| c.is_ascii_digit());
            if wildcard {
                "_".to_string()
            } else {
                n.clone()
            }
        })
        .collect()
}

/// Every API function output that matches `term`, with the function's
/// inputs under the match and those the attacker cannot supply.
fn closest_misses(program: &mut Program, supply: &mut Supply, term: TermId) -> Vec<Miss> {
    let mut misses = Vec::new();
    for r in 0..program.rules.len() {
        let rule = program.rules[r].clone();
        if rule.kind != RuleKind::Call {
            continue;
        }
        let names = printed_vars(&rule.var_names);
        let mut bindings: Vec<(usize, Vec<TermId>)> = Vec::new();
        for (o, &output) in rule.outputs.iter().enumerate() {
            let empty = empty_binding(rule.var_names.len());
            for b in match_term(&mut program.store, output, term, &empty) {
                if !bindings.iter().any(|(_, seen)| *seen == b) {
                    bindings.push((o, b));
                }
            }
        }
        for (o, b) in bindings.into_iter().take(MAX_MISSES_PER_FUNCTION) {
            let binding = b
                .iter()
                .enumerate()
                .filter(|(_, t)| **t != UNBOUND)
                .map(|(v, t)| format!("{} = {}", names[v], program.store.show(*t)))
                .collect();
            let mut needs = Vec::new();
            let mut missing = Vec::new();
            for &input in &rule.inputs {
                let p = partial(&mut program.store, input, &b);
                let shown = program.store.display(p, &names);
                if !supply.pattern(program, p, rule.var_names.len()) && !missing.contains(&shown) {
                    missing.push(shown.clone());
                }
                needs.push(shown);
            }
            misses.push(Miss {
                via: rule.name.clone(),
                output: program.store.display(rule.outputs[o], &names),
                binding,
                needs,
                missing,
            });
        }
    }
    misses
}

/// What the attacker lacks to build `term` itself, when its top
/// constructor is public (or it is an XOR).
fn build_miss(program: &mut Program, supply: &mut Supply, term: TermId) -> Option<Miss> {
    let store = &program.store;
    let (with, children) = match store.get(term) {
        Term::App(c, args) if store.ctor(*c).tuple => ("a tuple".to_string(), args.to_vec()),
        Term::App(c, args) if store.ctor(*c).public => (store.ctor(*c).text.clone(), args.to_vec()),
        Term::Xor(args) => ("⊕".to_string(), args.to_vec()),
        _ => return None,
    };
    let needs: Vec<String> = children.iter().map(|c| store.show(*c)).collect();
    let mut missing = Vec::new();
    for c in &children {
        let shown = program.store.show(*c);
        if !supply.ground(program, *c) && !missing.contains(&shown) {
            missing.push(shown);
        }
    }
    Some(Miss {
        via: "build".to_string(),
        output: with,
        binding: Vec::new(),
        needs,
        missing,
    })
}

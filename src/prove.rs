//! Proof mode: saturation over facts with variables, for every attacker.
//!
//! The bounded engine draws the attacker's free choices from what it has
//! obtained, so `Encrypt(x) -> {x}K` always hits a bound. Here a fact may
//! hold variables: `senc((TData, x), Ki)` means "for every term `x` the
//! attacker can derive, it has obtained `senc((TData, x), Ki)`". One fact
//! then stands for infinitely many, and saturation can reach a fixpoint
//! without any bound: a proof, as ProVerif's resolution gives one.
//!
//! A rule fires symbolically by solving its inputs as goals "the attacker
//! can supply this term" (SLD resolution against the facts):
//!
//! * a goal that is a bare variable is *deferred*: any derivable term will
//!   do, unless later unification binds it, in which case it is solved then;
//! * a ground goal is checked derivable against the facts;
//! * a goal `f(..)` is unified with a fact renamed apart (the attacker
//!   obtained it); every variable of the fact that unification binds to a
//!   non-variable becomes a new goal, since the fact only covers derivable
//!   values of its variables; or, when `f` is public and the input is not
//!   the term a deduction takes apart, the attacker builds it: one goal per
//!   argument.
//!
//! Checks: `==` and `in` unify (exact); `!=` fails only when both sides are
//! the same term (an over-approximation, sound for secrecy).
//!
//! **Soundness.** Every term obtained in the concrete, unbounded model is an
//! instance of some fact, with its variables instantiated by derivable
//! terms: by induction on the concrete derivation, each concrete input is
//! obtained (an instance of a fact, which unifies with the input pattern;
//! the most general unifier is more general than the concrete match) or
//! built (the build alternative), and each remaining variable stands for a
//! derivable term. So a secret that is no fact's instance and cannot be
//! built is not derivable, for any attacker and any number of calls, within
//! the Dolev-Yao model and the fresh-value abstraction. The search is
//! exhaustive except where a bound is recorded (fact depth, proof-search
//! steps); XOR is not handled here (its unification is another theory).

use std::collections::BTreeSet;

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};
use std::time::Instant;

use crate::engine::{Bounds, Limits, StopReason};
use crate::matching::{empty_binding, match_term};
use crate::program::{Check, Program, RuleKind};
use crate::term::{CtorId, Term, TermId, TermStore};

/// Most goal steps one rule's resolution may take in one round.
const MAX_STEPS_PER_RULE: usize = 20_000;

/// Deepest chain of goals spawned by goals (a fact's variables, a built
/// term's arguments). Resolution can descend forever (`senc(x, x)` against
/// `senc(y, senc(z, z))` asks for `senc(z, z)` again); past this depth the
/// search is cut, and the cut is reported.
const MAX_GOAL_DEPTH: u16 = 8;

/// What cut the proof search short.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum ProofCut {
    /// A fact deeper than the depth bound was dropped (rule named).
    MaxDepth(String),
    /// A rule's resolution ran out of steps (rule named).
    SearchSteps(String),
}

/// The result of a proof-mode saturation.
#[derive(Clone, Debug)]
pub struct ProofRun {
    /// The facts at the fixpoint (terms with variables, canonical).
    pub facts: Vec<TermId>,
    /// What cut the search; empty means the fixpoint is exact.
    pub cuts: BTreeSet<ProofCut>,
    /// Why saturation stopped.
    pub stop: StopReason,
}

impl ProofRun {
    /// True when the fixpoint is complete: nothing cut, no limit.
    pub fn is_exact(&self) -> bool {
        self.cuts.is_empty() && self.stop == StopReason::Saturated
    }
}

/// True when proof mode applies: no XOR anywhere.
pub fn applies(program: &Program) -> bool {
    !program.uses_xor
}

/// Substitution over variables numbered across a rule and renamed facts.
type Subst = HashMap<u32, TermId>;

#[derive(Clone, Debug)]
enum Goal {
    /// The attacker can supply this term; `obtained` when it must be an
    /// obtained term (the input a deduction takes apart).
    Supply {
        term: TermId,
        obtained: bool,
        depth: u16,
    },
    /// A check of the rule.
    Check(Check),
}

/// The facts and the derivability oracle over them.
struct Facts {
    list: Vec<TermId>,
    set: HashSet<TermId>,
    by_head: HashMap<Head, Vec<usize>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Head {
    Ctor(CtorId),
    Other,
}

fn head(store: &TermStore, t: TermId) -> Head {
    match store.get(t) {
        Term::App(c, _) => Head::Ctor(*c),
        _ => Head::Other,
    }
}

impl Facts {
    fn new() -> Self {
        Facts {
            list: Vec::new(),
            set: HashSet::default(),
            by_head: HashMap::default(),
        }
    }

    fn with_head(&self, h: Head) -> &[usize] {
        self.by_head.get(&h).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Adds a canonical fact unless an existing fact subsumes it.
    fn add(&mut self, store: &mut TermStore, fact: TermId) -> bool {
        if self.set.contains(&fact) {
            return false;
        }
        // An old fact subsumes the new one when the new one is its instance
        // AND every value its variables take there is derivable whatever the
        // new fact's own variables are: the old fact only covers derivable
        // values (`(x, y)` does not cover `(e0, s1)` when s1 is secret).
        let h = head(store, fact);
        let probe = rename(store, fact, FAR);
        let candidates: Vec<TermId> = self
            .with_head(h)
            .iter()
            .map(|i| self.list[*i])
            .filter(|old| !store.is_ground(*old))
            .collect();
        for old in candidates {
            let n = max_var(store, old).map_or(0, |m| m as usize + 1);
            for b in match_term(store, old, probe, &empty_binding(n)) {
                let values: Vec<TermId> = b.into_iter().filter(|v| v.0 != u32::MAX).collect();
                let mut memo = HashSet::default();
                if values
                    .iter()
                    .all(|v| self.always_derivable(store, *v, &mut memo))
                {
                    return false;
                }
            }
        }
        self.insert(store, fact);
        true
    }

    /// Adds a fact without looking for one that subsumes it.
    fn insert(&mut self, store: &TermStore, fact: TermId) {
        if self.set.insert(fact) {
            self.by_head
                .entry(head(store, fact))
                .or_default()
                .push(self.list.len());
            self.list.push(fact);
        }
    }

    /// Is `t` derivable for every derivable value of its variables: built
    /// from them and derivable ground terms with public constructors?
    fn always_derivable(
        &self,
        store: &mut TermStore,
        t: TermId,
        memo: &mut HashSet<TermId>,
    ) -> bool {
        if store.is_ground(t) {
            return self.derivable(store, t, memo);
        }
        match store.get(t).clone() {
            Term::Var(_) => true,
            Term::App(c, args) => {
                store.ctor(c).public && args.iter().all(|a| self.always_derivable(store, *a, memo))
            }
            _ => false,
        }
    }

    /// Is the ground term `t` derivable: an instance of a fact whose
    /// variables take derivable values, or built from derivable children?
    fn derivable(&self, store: &mut TermStore, t: TermId, memo: &mut HashSet<TermId>) -> bool {
        if memo.contains(&t) || self.set.contains(&t) {
            return true;
        }
        let found = match store.get(t).clone() {
            Term::Zero => true,
            Term::App(c, args) => {
                (store.ctor(c).public && args.iter().all(|a| self.derivable(store, *a, memo)))
                    || self.instance_of_fact(store, t, memo)
            }
            _ => false,
        };
        if found {
            memo.insert(t);
        }
        found
    }

    fn instance_of_fact(
        &self,
        store: &mut TermStore,
        t: TermId,
        memo: &mut HashSet<TermId>,
    ) -> bool {
        let h = head(store, t);
        for &i in self.with_head(h).to_vec().iter() {
            let f = self.list[i];
            if store.is_ground(f) {
                continue;
            }
            let n = max_var(store, f).map_or(0, |m| m as usize + 1);
            for b in match_term(store, f, t, &empty_binding(n)) {
                let values: Vec<TermId> = b.into_iter().filter(|v| v.0 != u32::MAX).collect();
                if values.iter().all(|v| self.derivable(store, *v, memo)) {
                    return true;
                }
            }
        }
        false
    }
}

/// Variable numbers at or above this are used for renamed probes.
const FAR: u32 = 1 << 30;

fn max_var(store: &TermStore, t: TermId) -> Option<u32> {
    store.vars(t).into_iter().max()
}

/// Renames every variable `v` of `t` to `v + offset`. This, `renumber` and
/// `resolve` recurse directly rather than through `TermStore::rewrite`: they
/// are the solver's hot path, and the closure cost 15% of proof time.
fn rename(store: &mut TermStore, t: TermId, offset: u32) -> TermId {
    if store.is_ground(t) {
        return t;
    }
    match store.get(t).clone() {
        Term::Var(v) => store.var(v + offset),
        Term::App(c, args) => {
            let args: Vec<TermId> = args.iter().map(|a| rename(store, *a, offset)).collect();
            store.app(c, &args)
        }
        Term::Xor(args) => {
            let args: Vec<TermId> = args.iter().map(|a| rename(store, *a, offset)).collect();
            store.xor(&args)
        }
        _ => t,
    }
}

/// Renumbers variables in order of first occurrence: equal facts up to
/// renaming get the same id.
fn canonical(store: &mut TermStore, t: TermId) -> TermId {
    let vars = store.vars(t);
    let map: HashMap<u32, u32> = vars
        .iter()
        .enumerate()
        .map(|(i, v)| (*v, i as u32))
        .collect();
    renumber(store, t, &map)
}

fn renumber(store: &mut TermStore, t: TermId, map: &HashMap<u32, u32>) -> TermId {
    if store.is_ground(t) {
        return t;
    }
    match store.get(t).clone() {
        Term::Var(v) => store.var(map[&v]),
        Term::App(c, args) => {
            let args: Vec<TermId> = args.iter().map(|a| renumber(store, *a, map)).collect();
            store.app(c, &args)
        }
        Term::Xor(args) => {
            let args: Vec<TermId> = args.iter().map(|a| renumber(store, *a, map)).collect();
            store.xor(&args)
        }
        _ => t,
    }
}

/// Follows variable bindings at the top of `t`.
fn walk(store: &TermStore, mut t: TermId, s: &Subst) -> TermId {
    while let Term::Var(v) = store.get(t) {
        match s.get(v) {
            Some(&u) => t = u,
            None => break,
        }
    }
    t
}

/// Applies the substitution everywhere in `t`.
fn resolve(store: &mut TermStore, t: TermId, s: &Subst) -> TermId {
    if store.is_ground(t) {
        return t;
    }
    let t = walk(store, t, s);
    match store.get(t).clone() {
        Term::App(c, args) => {
            let args: Vec<TermId> = args.iter().map(|a| resolve(store, *a, s)).collect();
            store.app(c, &args)
        }
        Term::Xor(args) => {
            let args: Vec<TermId> = args.iter().map(|a| resolve(store, *a, s)).collect();
            store.xor(&args)
        }
        _ => t,
    }
}

/// Extends `s` to a most general unifier of `a` and `b` (no XOR theory).
fn unify(store: &mut TermStore, a: TermId, b: TermId, s: &mut Subst) -> bool {
    let a = walk(store, a, s);
    let b = walk(store, b, s);
    if a == b {
        return true;
    }
    match (store.get(a).clone(), store.get(b).clone()) {
        (Term::Var(v), _) => bind(store, v, b, s),
        (_, Term::Var(v)) => bind(store, v, a, s),
        (Term::App(c, xs), Term::App(d, ys)) if c == d => xs
            .iter()
            .zip(ys.iter())
            .all(|(x, y)| unify(store, *x, *y, s)),
        _ => false,
    }
}

fn bind(store: &mut TermStore, v: u32, t: TermId, s: &mut Subst) -> bool {
    let full = resolve(store, t, s);
    if store.vars(full).contains(&v) {
        return false; // occurs check
    }
    s.insert(v, t);
    true
}

/// One branch of the resolution search.
#[derive(Clone)]
struct Branch {
    /// Goals still to solve, in order.
    goals: Vec<Goal>,
    /// The substitution so far.
    s: Subst,
    /// Variable goals put off until something binds them, with depth.
    deferred: Vec<(TermId, u16)>,
    /// Instances of goals already solved on this branch: a copy of one is
    /// derivable by the same derivation.
    solved: Vec<TermId>,
    /// The next free variable number, for renaming facts apart.
    next_var: u32,
}

/// Solves one rule's goals against the facts: every solution substitution.
struct Solver<'a> {
    facts: &'a Facts,
    steps: usize,
    exhausted: bool,
    memo: HashSet<TermId>,
    /// When the time limit runs out.
    deadline: Option<Instant>,
    /// Set when the deadline passed during this search.
    timed_out: bool,
}

impl Solver<'_> {
    fn solve(&mut self, store: &mut TermStore, mut b: Branch, out: &mut Vec<Subst>) {
        self.steps += 1;
        if self.steps > MAX_STEPS_PER_RULE {
            self.exhausted = true;
            return;
        }
        if self.steps.is_multiple_of(1024) && self.deadline.is_some_and(|d| Instant::now() > d) {
            self.exhausted = true;
            self.timed_out = true;
            return;
        }
        if b.goals.is_empty() {
            // Deferred variable goals: solved now if something bound them.
            let mut still = Vec::new();
            for (d, depth) in std::mem::take(&mut b.deferred) {
                let r = walk(store, d, &b.s);
                if matches!(store.get(r), Term::Var(_)) {
                    if !still.iter().any(|(x, _)| *x == r) {
                        still.push((r, depth));
                    }
                } else {
                    b.goals.push(Goal::Supply {
                        term: r,
                        obtained: false,
                        depth,
                    });
                }
            }
            b.deferred = still;
            if b.goals.is_empty() {
                out.push(b.s);
            } else {
                self.solve(store, b, out);
            }
            return;
        }
        let goal = b.goals.remove(0);
        match goal {
            Goal::Check(check) => self.check(store, check, b, out),
            Goal::Supply {
                term,
                obtained,
                depth,
            } => {
                if depth > MAX_GOAL_DEPTH {
                    self.exhausted = true;
                    return;
                }
                let u = resolve(store, term, &b.s);
                if let Term::Var(_) = store.get(u) {
                    b.deferred.push((u, depth));
                    return self.solve(store, b, out);
                }
                if store.is_ground(u) {
                    if self.facts.derivable(store, u, &mut self.memo) {
                        self.solve(store, b, out);
                    }
                    return;
                }
                if !obtained && b.solved.contains(&u) {
                    return self.solve(store, b, out);
                }
                let Term::App(c, args) = store.get(u).clone() else {
                    // XOR is outside proof mode; `applies` keeps it out.
                    return;
                };
                // Obtained: unify with a fact renamed apart.
                for &i in self.facts.with_head(Head::Ctor(c)) {
                    let fact = self.facts.list[i];
                    let width = max_var(store, fact).map_or(0, |m| m + 1);
                    let renamed = rename(store, fact, b.next_var);
                    let mut b2 = b.clone();
                    if !unify(store, u, renamed, &mut b2.s) {
                        continue;
                    }
                    // The fact covers only derivable values of its variables:
                    // each one bound to a non-variable is a goal now, and each
                    // still free is deferred, in case a later goal binds it.
                    let mut first = Vec::new();
                    for v in b.next_var..b.next_var + width {
                        let vt = store.var(v);
                        let val = walk(store, vt, &b2.s);
                        if matches!(store.get(val), Term::Var(_)) {
                            b2.deferred.push((vt, depth + 1));
                        } else {
                            first.push(Goal::Supply {
                                term: vt,
                                obtained: false,
                                depth: depth + 1,
                            });
                        }
                    }
                    first.append(&mut b2.goals);
                    b2.goals = first;
                    b2.next_var += width;
                    b2.solved.push(u);
                    self.solve(store, b2, out);
                    if self.exhausted {
                        return;
                    }
                }
                // Built: the attacker applies a public constructor.
                if !obtained && store.ctor(c).public {
                    let mut first: Vec<Goal> = args
                        .iter()
                        .map(|a| Goal::Supply {
                            term: *a,
                            obtained: false,
                            depth: depth + 1,
                        })
                        .collect();
                    first.append(&mut b.goals);
                    b.goals = first;
                    b.solved.push(u);
                    self.solve(store, b, out);
                }
            }
        }
    }

    fn check(&mut self, store: &mut TermStore, check: Check, b: Branch, out: &mut Vec<Subst>) {
        match check {
            Check::Equal(x, y) => {
                let mut b = b;
                if unify(store, x, y, &mut b.s) {
                    self.solve(store, b, out);
                }
            }
            Check::NotEqual(x, y) => {
                if resolve(store, x, &b.s) != resolve(store, y, &b.s) {
                    self.solve(store, b, out);
                }
            }
            Check::OneOf(x, list) => {
                for l in list {
                    let mut b2 = b.clone();
                    if unify(store, x, l, &mut b2.s) {
                        self.solve(store, b2, out);
                    }
                }
            }
        }
    }
}

/// Saturates the facts under every rule, symbolically.
pub fn prove(program: &mut Program, bounds: Bounds, limits: Limits) -> ProofRun {
    let start = Instant::now();
    let mut facts = Facts::new();
    let mut cuts = BTreeSet::new();
    let mut stop = StopReason::Saturated;
    let store = &mut program.store;
    for &t in &program.knowledge {
        facts.add(store, t);
    }
    let rules = program.rules.clone();
    'rounds: loop {
        let mut changed = false;
        for rule in &rules {
            let nvars = rule.var_names.len() as u32;
            // Structured inputs first; checks last.
            let mut goals: Vec<Goal> = rule
                .inputs
                .iter()
                .enumerate()
                .map(|(i, t)| Goal::Supply {
                    term: *t,
                    obtained: rule.kind == RuleKind::Deduction && i == 0,
                    depth: 0,
                })
                .collect();
            goals.extend(rule.checks.iter().cloned().map(Goal::Check));
            let mut solver = Solver {
                facts: &facts,
                steps: 0,
                exhausted: false,
                memo: HashSet::default(),
                deadline: limits.timeout.map(|t| start + t),
                timed_out: false,
            };
            let mut solutions = Vec::new();
            let branch = Branch {
                goals,
                s: Subst::default(),
                deferred: Vec::new(),
                solved: Vec::new(),
                next_var: nvars,
            };
            solver.solve(store, branch, &mut solutions);
            if solver.timed_out {
                stop = StopReason::TimeLimit(limits.timeout.unwrap_or_default());
                break 'rounds;
            }
            if solver.exhausted {
                cuts.insert(ProofCut::SearchSteps(rule.name.clone()));
            }
            for s in solutions {
                for &o in &rule.outputs {
                    let t = resolve(store, o, &s);
                    if matches!(store.get(t), Term::Var(_)) {
                        continue; // "some derivable term": nothing new
                    }
                    if store.depth(t) > bounds.max_depth {
                        cuts.insert(ProofCut::MaxDepth(rule.name.clone()));
                        continue;
                    }
                    let t = canonical(store, t);
                    if facts.add(store, t) {
                        changed = true;
                    }
                }
            }
            if facts.list.len() > limits.max_facts {
                stop = StopReason::FactLimit(limits.max_facts);
                break 'rounds;
            }
            if let Some(limit) = limits.timeout {
                if start.elapsed() > limit {
                    stop = StopReason::TimeLimit(limit);
                    break 'rounds;
                }
            }
        }
        if !changed {
            break;
        }
    }
    ProofRun {
        facts: facts.list.clone(),
        cuts,
        stop,
    }
}

/// Is each ground term derivable from the facts of a proof run?
pub fn derivable_all(program: &mut Program, run: &ProofRun, terms: &[TermId]) -> Vec<bool> {
    let mut facts = Facts::new();
    for &f in &run.facts {
        facts.insert(&program.store, f);
    }
    let mut memo = HashSet::default();
    terms
        .iter()
        .map(|t| facts.derivable(&mut program.store, *t, &mut memo))
        .collect()
}

/// Is the ground term `t` derivable from the facts of a proof run?
pub fn derivable(program: &mut Program, run: &ProofRun, t: TermId) -> bool {
    derivable_all(program, run, &[t])[0]
}

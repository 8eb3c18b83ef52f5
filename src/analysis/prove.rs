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
//!   argument;
//! * a goal that is an XOR is solved as below.
//!
//! Checks: `==` and `in` unify (exact; a variable with an `in` list of
//! ground terms is enumerated first, as the planner does); `!=` fails only
//! when both sides are the same term on every instance: one term without a
//! fresh name, and without variables when the API has fresh names (a
//! variable may stand for a term holding one, on which the abstraction lets
//! `!=` hold). An over-approximation, sound for secrecy.
//!
//! **XOR.** The attacker of the model (the ACUN theory) derives every term
//! whose vector of atoms (the operands of its XOR normal form; every term
//! that is not an XOR is an atom) lies in the GF(2) span of what it knows,
//! and analyses what it so derives. Proof mode handles the ⊕-linear
//! fragment of Küsters and Truderung ("Reducing protocol analysis with XOR
//! to the XOR-free case in the Horn theory based approach", CCS 2008; JAR
//! 46, 2011), checked as it goes rather than on the rules' text:
//!
//! * *Facts* are ⊕-linear: in every XOR inside a fact at most one operand
//!   holds variables, and an XOR at a fact's top is ground. A rule's result
//!   is normalised before it is added, without changing what it stands
//!   for: a top-level XOR drops the operands derivable in every instance,
//!   the ground rest too when derivable (`c ⊕ x`, `x` any derivable term,
//!   becomes `c`: derivable terms are closed under XOR, so `c ⊕ d` is
//!   derivable for every derivable `d` iff `c` is; take `d = 0`); an XOR
//!   inside a fact with a variable `x` occurring nowhere else absorbs its
//!   other operands with variables when those are always derivable
//!   (`senc(x ⊕ y, K)` is `senc(x, K)`); a ground XOR already derivable is
//!   not added. A result still outside the fragment (`K ⊕ senc(x, M)`) is
//!   not added, and is recorded as a [`ProofCut::Xor`].
//! * *Unification* modulo XOR solves `a ⊕ b = 0` for a variable operand
//!   that occurs nowhere else in the equation (`kek ⊕ t = c` gives
//!   `kek := c ⊕ t`: the most general unifier, unitary); with one unknown
//!   operand left that is an application, it unifies it with the ground
//!   rest (equal atoms); with two, each other. Anything else (two
//!   applications with variables against a ground XOR: several unifiers) is
//!   a cut.
//! * *A goal `c ⊕ u`* (the attacker supplies a term equal to it) drops every
//!   operand already known derivable (a deferred variable, a public
//!   constructor over those, a derivable ground rest: `c ⊕ x ∈ D` iff
//!   `c ∈ D` when `x ∈ D`); what
//!   is left is a ground goal, a single goal, or holds a variable `x`
//!   occurring once, solved as `x := rest ⊕ z` with `z` a new deferred
//!   variable (the attacker supplies `z`, the HSM solves for `x`: exact). A
//!   goal with only applications left waits for other goals to bind them,
//!   else it is a cut.
//! * *A rule's output* whose variable was left open under XOR with no goal
//!   making it derivable (input `a ⊕ b`, both otherwise unbound: which
//!   split the HSM takes is not determined) is a cut, located by function
//!   and input.
//! * *Ground derivability* is span membership: the ground top-level XOR
//!   facts and the atom facts among their operands form a GF(2) basis
//!   ([`crate::analysis::gf2`]); a ground term is derivable iff every atom left after
//!   reducing it by the basis is derivable as an atom (obtained, an
//!   instance of a fact, or built). After every change, each operand of an
//!   XOR fact that has become derivable is added as a fact, so that it is
//!   analysed (decrypted, split) like any obtained term.
//!
//! **Soundness.** Let `S(F)` be the least set holding every instance of a
//! fact whose variables take values in `S(F)`, closed under public
//! constructors and XOR. Every term derivable in the concrete, unbounded
//! model is in `S(F)` at the fixpoint, by induction on its derivation:
//! XOR and building are closure steps; for a rule, each concrete input is
//! in `S(F)`, and goal solving is complete for that. `S(F)` is the span of
//! its atoms that are instances of facts or built, together with the
//! ground XOR facts (that set is closed already), so an atom of `S(F)`
//! that is neither is a sum of those holding some XOR fact, and hence an
//! operand of an XOR fact: the closure above made it a fact. So every atom
//! of `S(F)` is an instance of a fact or built (a deduction's input, which
//! must be obtained, is a fact's instance, or built and then teaches
//! nothing new); unification modulo XOR
//! returns a most general unifier whenever it does not cut, a dropped XOR
//! operand is derivable in every solution, and the XOR solutions above are
//! exact. The most general solution is more general than the concrete
//! match, so the concrete output is an instance of the output fact with
//! derivable values, and the fact normalisations keep `S(F)` unchanged.
//! So a secret outside `S(F)` is not derivable, for any attacker and any
//! number of calls, within the Dolev-Yao model with XOR and the fresh-value
//! abstraction. The search is exhaustive except where a cut is recorded
//! (fact depth, proof-search steps, XOR outside the fragment); a run with
//! a cut proves nothing.

use std::collections::BTreeSet;

use crate::analysis::engine::{Bounds, Budget, Limits, StopReason};
use crate::analysis::gf2::{Basis, Vector};
use crate::analysis::matching::{empty_binding, match_term};
use crate::front::program::{Check, Program, Rule, RuleKind};
use crate::front::term::{CtorId, Lifted, Term, TermId, TermStore};
use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

/// Goal steps one rule's resolution may take in one round, beyond those
/// paid for: [`STEPS_PER_FACT`] for each fact it can meet and
/// [`STEPS_PER_SOLUTION`] for each solution it finds with outputs no
/// earlier solution gave (up to renaming of variables). A search that finds
/// new outputs or walks the facts once is doing its job however large the
/// API; one that spends many steps on few facts and finds little new is
/// descending where nothing is, and is cut (and the cut reported). Only
/// new outputs pay: a search that found the same 40 outputs through
/// ever-deeper substitutions once paid for itself without end and held
/// gigabytes of solutions.
const BASE_STEPS_PER_RULE: usize = 20_000;
/// Steps paid for by each fact (see [`BASE_STEPS_PER_RULE`]).
const STEPS_PER_FACT: usize = 64;
/// Steps paid for by each solution with new outputs (see
/// [`BASE_STEPS_PER_RULE`]).
const STEPS_PER_SOLUTION: usize = 16;

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
    /// A use of XOR outside the fragment proof mode handles, located:
    /// `Combine: input 1 a ⊕ b has two variables under XOR that no other
    /// input binds`.
    Xor(String),
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

    /// The XOR cuts' messages: where the program left the fragment.
    pub fn xor_gaps(&self) -> Vec<&str> {
        self.cuts
            .iter()
            .filter_map(|c| match c {
                ProofCut::Xor(m) => Some(m.as_str()),
                _ => None,
            })
            .collect()
    }
}

/// Substitution over variables numbered across a rule and renamed facts.
type Subst = HashMap<u32, TermId>;

/// Where a goal comes from, to locate a cut.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Origin {
    /// The rule's input with this index.
    Input(usize),
    /// The rule's check with this index.
    Check(usize),
}

#[derive(Clone, Debug)]
enum Goal {
    /// The attacker can supply this term; `obtained` when it must be an
    /// obtained term (the input a deduction takes apart).
    Supply {
        term: TermId,
        obtained: bool,
        depth: u16,
        origin: Origin,
    },
    /// A check of the rule, with its index.
    Check(Check, usize),
}

/// Derivability answers: terms known derivable, and the terms being
/// decided (a derivation never needs the term it derives, so a term met
/// again on its own path counts as not derivable there; such answers are
/// not remembered).
#[derive(Default)]
struct Memo {
    yes: HashSet<TermId>,
    visiting: HashSet<TermId>,
}

/// The facts and the derivability oracle over them.
struct Facts {
    list: Vec<TermId>,
    set: HashSet<TermId>,
    /// Every fact, indexed.
    index: ArgIndex,
    /// The facts with variables, indexed (the only ones that can subsume
    /// another fact or have a ground term as an instance).
    open_index: ArgIndex,
    /// The ground XOR facts and, as unit vectors, the atom facts among
    /// their operands.
    basis: Basis,
    /// Every operand of a ground XOR fact.
    basis_atoms: BTreeSet<TermId>,
    /// Atom facts inserted into the basis.
    in_basis: HashSet<TermId>,
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

/// A term's vector of atoms.
fn vector(store: &TermStore, t: TermId) -> Vector {
    Vector::from_atoms(store.xor_operands(t).into_iter().map(|a| a.0))
}

impl Facts {
    fn new() -> Self {
        Facts {
            list: Vec::new(),
            set: HashSet::default(),
            index: ArgIndex::default(),
            open_index: ArgIndex::default(),
            basis: Basis::new(),
            basis_atoms: BTreeSet::new(),
            in_basis: HashSet::default(),
        }
    }

    /// Adds a canonical fact unless an existing fact subsumes it (a ground
    /// XOR fact: unless it is derivable already).
    fn add(&mut self, store: &mut TermStore, fact: TermId) -> bool {
        if self.set.contains(&fact) {
            return false;
        }
        // The probe and the terms the subsumption test builds are scratch:
        // the facts keep only `fact` and its subterms, interned already.
        let mark = store.mark();
        let added = self.add_unless_subsumed(store, fact);
        store.truncate(mark);
        added
    }

    fn add_unless_subsumed(&mut self, store: &mut TermStore, fact: TermId) -> bool {
        if store.is_ground(fact) && matches!(store.get(fact), Term::Xor(_)) {
            if self.derivable(store, fact, &mut Memo::default()) {
                return false;
            }
            self.insert(store, fact);
            return true;
        }
        // An old fact subsumes the new one when the new one is its instance
        // AND every value its variables take there is derivable whatever the
        // new fact's own variables are: the old fact only covers derivable
        // values (`(x, y)` does not cover `(e0, s1)` when s1 is secret).
        let probe = rename(store, fact, FAR);
        let candidates: Vec<TermId> = self
            .open_index
            .candidates(store, probe)
            .into_iter()
            .map(|i| self.list[i])
            .filter(|old| !clash(store, *old, probe))
            .collect();
        for old in candidates {
            let n = max_var(store, old).map_or(0, |m| m as usize + 1);
            for b in match_term(store, old, probe, &empty_binding(n)) {
                let values: Vec<TermId> = b.into_iter().filter(|v| v.0 != u32::MAX).collect();
                let mut memo = Memo::default();
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
            let idx = self.list.len();
            self.index.insert(store, fact, idx);
            if !store.is_ground(fact) {
                self.open_index.insert(store, fact, idx);
            }
            self.list.push(fact);
            if store.is_ground(fact) {
                self.register(store, fact);
            }
        }
    }

    /// Keeps the basis: a ground XOR fact is a generator, and so is every
    /// atom fact among the operands of one (as a unit vector).
    fn register(&mut self, store: &TermStore, fact: TermId) {
        match store.get(fact) {
            Term::Xor(ops) => {
                for &a in ops.iter() {
                    self.basis_atoms.insert(a);
                    if self.set.contains(&a) && self.in_basis.insert(a) {
                        self.basis.insert(&Vector::unit(a.0));
                    }
                }
                self.basis.insert(&vector(store, fact));
            }
            Term::Zero => {}
            _ => {
                if self.basis_atoms.contains(&fact) && self.in_basis.insert(fact) {
                    self.basis.insert(&Vector::unit(fact.0));
                }
            }
        }
    }

    /// Adds, as facts, the operands of XOR facts that have become
    /// derivable (so that they are analysed like obtained terms); true when
    /// any was added. Afterwards every atom in the span of the facts is a
    /// fact or derivable without the span.
    fn close(&mut self, store: &mut TermStore) -> bool {
        let mut any = false;
        loop {
            let open: Vec<TermId> = self
                .basis_atoms
                .iter()
                .copied()
                .filter(|a| !self.set.contains(a))
                .collect();
            let mut added = false;
            for a in open {
                if self.derivable(store, a, &mut Memo::default()) {
                    self.insert(store, a);
                    added = true;
                }
            }
            if !added {
                return any;
            }
            any = true;
        }
    }

    /// Is `t` derivable for every derivable value of its variables: built
    /// from them and derivable ground terms with public constructors and
    /// XOR?
    fn always_derivable(&self, store: &mut TermStore, t: TermId, memo: &mut Memo) -> bool {
        if store.is_ground(t) {
            return self.derivable(store, t, memo);
        }
        match store.get(t).clone() {
            Term::Var(_) => true,
            Term::App(c, args) => {
                store.ctor(c).public && args.iter().all(|a| self.always_derivable(store, *a, memo))
            }
            Term::Xor(ops) => {
                let ground: Vec<TermId> = ops
                    .iter()
                    .copied()
                    .filter(|o| store.is_ground(*o))
                    .collect();
                let g = store.xor(&ground);
                let open: Vec<TermId> = ops
                    .iter()
                    .copied()
                    .filter(|o| !store.is_ground(*o))
                    .collect();
                self.derivable(store, g, memo)
                    && open.iter().all(|o| self.always_derivable(store, *o, memo))
            }
            _ => false,
        }
    }

    /// Is the ground term `t` derivable: an instance of a fact whose
    /// variables take derivable values, built from derivable children, or
    /// in the span of the XOR facts and derivable atoms?
    fn derivable(&self, store: &mut TermStore, t: TermId, memo: &mut Memo) -> bool {
        if memo.yes.contains(&t) || self.set.contains(&t) {
            return true;
        }
        if !memo.visiting.insert(t) {
            return false;
        }
        let found = match store.get(t).clone() {
            Term::Zero => true,
            Term::App(c, args) => {
                (store.ctor(c).public && args.iter().all(|a| self.derivable(store, *a, memo)))
                    || self.instance_of_fact(store, t, memo)
                    || self.in_span(store, t, memo)
            }
            Term::Name(_) | Term::Xor(_) => self.in_span(store, t, memo),
            Term::Var(_) => false,
        };
        memo.visiting.remove(&t);
        if found {
            memo.yes.insert(t);
        }
        found
    }

    /// Is the ground term `t` in the span of the XOR facts and derivable
    /// atoms: is every atom left after reducing it by the basis derivable?
    /// (An atom outside the basis stays as it is, and must be derivable
    /// itself; `t` is on the path, so it does not count.)
    fn in_span(&self, store: &mut TermStore, t: TermId, memo: &mut Memo) -> bool {
        let v = vector(store, t);
        let r = if self.basis.is_empty() {
            v
        } else {
            self.basis.reduce(&v)
        };
        if r.atoms() == [t.0] {
            return false;
        }
        r.atoms()
            .iter()
            .all(|a| self.derivable(store, TermId(*a), memo))
    }

    fn instance_of_fact(&self, store: &mut TermStore, t: TermId, memo: &mut Memo) -> bool {
        for i in self.open_index.candidates(store, t) {
            let f = self.list[i];
            if clash(store, f, t) {
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

/// Facts of one head, indexed by their ground arguments, so that a goal or
/// probe with a ground argument meets only the facts that can match it.
#[derive(Default)]
struct ArgIndex {
    /// (constructor, argument position, ground argument) -> fact indices.
    exact: HashMap<(CtorId, usize, TermId), Vec<usize>>,
    /// (constructor, argument position) -> the facts whose argument there
    /// is not ground (it may unify with anything).
    open: HashMap<(CtorId, usize), Vec<usize>>,
    /// One level down, for a goal whose argument is an application with
    /// a ground argument (`{KEK5, k}MK` meets the facts under `KEK5`, not
    /// every fact under `MK`): (constructor, position, position in the
    /// argument, ground argument there) -> fact indices.
    sub_exact: HashMap<(CtorId, usize, usize, TermId), Vec<usize>>,
    /// (constructor, position, position in the argument) -> the facts that
    /// may have anything there: a variable or an XOR at the position, or
    /// an application with a non-ground argument there.
    sub_open: HashMap<(CtorId, usize, usize), Vec<usize>>,
    /// (constructor, position) -> the facts with a variable or an XOR at
    /// the position (anything may sit below it).
    open_below: HashMap<(CtorId, usize), Vec<usize>>,
    /// Every fact by head, in order.
    by_head: HashMap<Head, Vec<usize>>,
}

impl ArgIndex {
    fn insert(&mut self, store: &TermStore, fact: TermId, idx: usize) {
        self.by_head.entry(head(store, fact)).or_default().push(idx);
        if let Term::App(c, args) = store.get(fact) {
            for (p, &a) in args.iter().enumerate() {
                if store.is_ground(a) {
                    self.exact.entry((*c, p, a)).or_default().push(idx);
                } else {
                    self.open.entry((*c, p)).or_default().push(idx);
                }
                match store.get(a) {
                    Term::App(_, sub) => {
                        for (j, &b) in sub.iter().enumerate() {
                            if store.is_ground(b) {
                                self.sub_exact.entry((*c, p, j, b)).or_default().push(idx);
                            } else {
                                self.sub_open.entry((*c, p, j)).or_default().push(idx);
                            }
                        }
                    }
                    Term::Var(_) | Term::Xor(_) => {
                        self.open_below.entry((*c, p)).or_default().push(idx);
                    }
                    _ => {}
                }
            }
        }
    }

    /// The facts that may unify with `t` (a superset), in index order: for
    /// an application, those agreeing with it at its most selective ground
    /// argument, or whose argument there is not ground.
    fn candidates(&self, store: &TermStore, t: TermId) -> Vec<usize> {
        let all = || {
            self.by_head
                .get(&head(store, t))
                .cloned()
                .unwrap_or_default()
        };
        let Term::App(c, args) = store.get(t) else {
            return all();
        };
        // The most selective place: a ground argument (the facts with it
        // there or a non-ground argument there), or a ground argument of an
        // application argument (the facts with it there, with a non-ground
        // argument there, or with a variable or an XOR above it).
        let none: &[usize] = &[];
        let mut best: Option<[&[usize]; 3]> = None;
        fn offer<'a>(best: &mut Option<[&'a [usize]; 3]>, lists: [&'a [usize]; 3]) {
            let size = |l: &[&[usize]; 3]| l.iter().map(|x| x.len()).sum::<usize>();
            if best.as_ref().is_none_or(|b| size(&lists) < size(b)) {
                *best = Some(lists);
            }
        }
        for (p, &a) in args.iter().enumerate() {
            // A ground XOR argument may equal a fact's XOR with variables
            // in many ways; only atoms are matched exactly.
            if matches!(store.get(a), Term::Xor(_)) {
                continue;
            }
            if store.is_ground(a) {
                let exact = self.exact.get(&(*c, p, a)).map_or(none, Vec::as_slice);
                let open = self.open.get(&(*c, p)).map_or(none, Vec::as_slice);
                offer(&mut best, [exact, open, none]);
                continue;
            }
            let Term::App(_, sub) = store.get(a) else {
                continue;
            };
            let below = self.open_below.get(&(*c, p)).map_or(none, Vec::as_slice);
            for (j, &b) in sub.iter().enumerate() {
                if !store.is_ground(b) || matches!(store.get(b), Term::Xor(_)) {
                    continue;
                }
                let exact = self
                    .sub_exact
                    .get(&(*c, p, j, b))
                    .map_or(none, Vec::as_slice);
                let open = self.sub_open.get(&(*c, p, j)).map_or(none, Vec::as_slice);
                offer(&mut best, [exact, open, below]);
            }
        }
        match best {
            None => all(),
            Some([exact, open, below]) => merge_sorted(&merge_sorted(exact, open), below),
        }
    }
}

/// Two ascending lists merged into one ascending list.
fn merge_sorted(a: &[usize], b: &[usize]) -> Vec<usize> {
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        if a[i] < b[j] {
            out.push(a[i]);
            i += 1;
        } else {
            out.push(b[j]);
            j += 1;
        }
    }
    out.extend_from_slice(&a[i..]);
    out.extend_from_slice(&b[j..]);
    out
}

/// True when `a` and `b` cannot unify whatever their variables: different
/// constructors, or distinct ground terms, at the same place outside XOR.
/// A cheap filter before unification; false when unsure.
fn clash(store: &TermStore, a: TermId, b: TermId) -> bool {
    if a == b {
        return false;
    }
    match (store.get(a), store.get(b)) {
        (Term::Var(_), _) | (_, Term::Var(_)) | (Term::Xor(_), _) | (_, Term::Xor(_)) => false,
        (Term::App(c, xs), Term::App(d, ys)) => {
            c != d || xs.iter().zip(ys.iter()).any(|(x, y)| clash(store, *x, *y))
        }
        // Distinct terms, at least one not an application: equal only if
        // both are ground and the same (hash-consed), which they are not.
        _ => true,
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
    let map = numbering(&store.vars(t));
    renumber(store, t, &map)
}

/// Each variable to its position in `vars` (variables in order of first
/// occurrence).
fn numbering(vars: &[u32]) -> HashMap<u32, u32> {
    vars.iter()
        .enumerate()
        .map(|(i, v)| (*v, i as u32))
        .collect()
}

/// A 64-bit hash of a list of terms.
fn fingerprint(ts: &[TermId]) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = rustc_hash::FxHasher::default();
    ts.hash(&mut h);
    h.finish()
}

/// [`canonical`] for several terms at once, one numbering across them all.
fn canonical_all(store: &mut TermStore, ts: &[TermId]) -> Vec<TermId> {
    let mut vars: Vec<u32> = Vec::new();
    for t in ts {
        for v in store.vars(*t) {
            if !vars.contains(&v) {
                vars.push(v);
            }
        }
    }
    let map = numbering(&vars);
    ts.iter().map(|t| renumber(store, *t, &map)).collect()
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

/// Why unification modulo XOR gave up: it would need more than one most
/// general unifier, which proof mode does not enumerate.
type Gap = &'static str;

const GAP_SPLIT: Gap = "matching it modulo XOR leaves several unknown operands under one XOR";
const GAP_OCCURS: Gap =
    "matching it modulo XOR asks a variable to equal a term holding it under XOR";

/// Extends `s` to a most general unifier of `a` and `b` modulo XOR: `Ok`
/// with whether they unify, or the gap when the equation is outside the
/// ⊕-linear fragment (no unitary solution).
fn unify(store: &mut TermStore, a: TermId, b: TermId, s: &mut Subst) -> Result<bool, Gap> {
    let a = walk(store, a, s);
    let b = walk(store, b, s);
    if a == b {
        return Ok(true);
    }
    if matches!(store.get(a), Term::Xor(_)) || matches!(store.get(b), Term::Xor(_)) {
        return unify_xor(store, a, b, s);
    }
    match (store.get(a).clone(), store.get(b).clone()) {
        (Term::Var(v), _) => bind(store, v, b, s),
        (_, Term::Var(v)) => bind(store, v, a, s),
        (Term::App(c, xs), Term::App(d, ys)) if c == d => {
            for (x, y) in xs.iter().zip(ys.iter()) {
                if !unify(store, *x, *y, s)? {
                    return Ok(false);
                }
            }
            Ok(true)
        }
        _ => Ok(false),
    }
}

/// A most general unifier of `a` and `b` modulo XOR, for other stages
/// that judge patterns against proof mode's facts (`explain`): `Ok(None)`
/// when they do not unify, `Err` when the equation is outside the
/// ⊕-linear fragment (then nothing can be ruled out).
pub fn unifier(
    store: &mut TermStore,
    a: TermId,
    b: TermId,
) -> Result<Option<HashMap<u32, TermId>>, &'static str> {
    let mut s = Subst::default();
    Ok(unify(store, a, b, &mut s)?.then_some(s))
}

/// `t` with a [`unifier`]'s bindings applied everywhere.
pub fn substitute(store: &mut TermStore, t: TermId, s: &HashMap<u32, TermId>) -> TermId {
    resolve(store, t, s)
}

/// Solves `a ⊕ b = 0`. A variable operand occurring nowhere else in the
/// equation is set to the sum of the others (the most general unifier);
/// else one unknown application must equal the ground rest, or two unknown
/// operands with a zero rest each other; anything else is a gap.
fn unify_xor(store: &mut TermStore, a: TermId, b: TermId, s: &mut Subst) -> Result<bool, Gap> {
    let a = resolve(store, a, s);
    let b = resolve(store, b, s);
    let n = store.xor(&[a, b]);
    if matches!(store.get(n), Term::Zero) {
        return Ok(true);
    }
    if store.is_ground(n) {
        return Ok(false);
    }
    let ops = store.xor_operands(n);
    let mut pick: Option<(u32, usize)> = None;
    for (i, &op) in ops.iter().enumerate() {
        if let Term::Var(v) = *store.get(op) {
            let elsewhere = ops
                .iter()
                .enumerate()
                .any(|(j, o)| j != i && store.vars(*o).contains(&v));
            if !elsewhere && pick.is_none_or(|(w, _)| v < w) {
                pick = Some((v, i));
            }
        }
    }
    if let Some((v, i)) = pick {
        let rest: Vec<TermId> = ops
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != i)
            .map(|(_, o)| *o)
            .collect();
        let value = store.xor(&rest);
        s.insert(v, value);
        return Ok(true);
    }
    let (ground, open): (Vec<TermId>, Vec<TermId>) = ops.iter().partition(|o| store.is_ground(**o));
    let g = store.xor(&ground);
    match open.len() {
        // An application (an atom whatever its variables) equal to the
        // ground rest: only if that is an atom too.
        1 if matches!(store.get(g), Term::App(..)) => unify(store, open[0], g, s),
        1 => Ok(false),
        2 if matches!(store.get(g), Term::Zero) => unify(store, open[0], open[1], s),
        _ => Err(GAP_SPLIT),
    }
}

fn has_xor(store: &TermStore, t: TermId) -> bool {
    match store.get(t) {
        Term::Xor(_) => true,
        Term::App(_, args) => args.iter().any(|a| has_xor(store, *a)),
        _ => false,
    }
}

fn bind(store: &mut TermStore, v: u32, t: TermId, s: &mut Subst) -> Result<bool, Gap> {
    let full = resolve(store, t, s);
    if store.vars(full).contains(&v) {
        // Without XOR on the way, `v = f(..v..)` has no solution; with it,
        // it may (`x = f(x ⊕ a)` with `a = f(0)`).
        return if has_xor(store, full) {
            Err(GAP_OCCURS)
        } else {
            Ok(false)
        };
    }
    s.insert(v, t);
    Ok(true)
}

/// One branch of the resolution search.
#[derive(Clone)]
struct Branch {
    /// Goals still to solve, in order.
    goals: Vec<Goal>,
    /// The substitution so far.
    s: Subst,
    /// Variable goals put off until something binds them, with depth.
    deferred: Vec<(TermId, u16, Origin)>,
    /// Instances of goals already solved on this branch: a copy of one is
    /// derivable by the same derivation.
    solved: Vec<TermId>,
    /// The next free variable number, for renaming facts apart.
    next_var: u32,
}

/// A solution of a rule's goals, as what it gives: per output, the output
/// under the solution's substitution, lifted out of the search's scratch
/// terms ([`TermStore::lift`]), or the located gap when a variable in it
/// stands for no derivable term. (The substitution itself is not kept: a
/// rule with a million solutions held a million hash maps.)
struct Solution {
    outputs: Vec<Result<Lifted, String>>,
}

/// How an XOR goal is solved (see the module documentation).
enum XorGoal {
    /// Every unknown operand is derivable: the ground rest must be.
    Ground(TermId),
    /// One unknown operand is left, and no ground rest: it must be
    /// supplied.
    Single(TermId),
    /// The variable occurs once among what is left: it becomes `rest ⊕ z`.
    Bind(u32, TermId),
    /// Only applications with variables are left, with a ground rest or
    /// several of them: not solvable in the fragment (for now).
    Stuck,
}

/// Solves one rule's goals against the facts: every solution substitution.
struct Solver<'a> {
    facts: &'a Facts,
    rule: &'a Rule,
    steps: usize,
    /// Steps allowed before solutions pay for more (see
    /// [`BASE_STEPS_PER_RULE`]).
    step_budget: usize,
    /// Fingerprints of the outputs of the solutions found so far, variables
    /// renumbered in order of occurrence: each new entry pays
    /// [`STEPS_PER_SOLUTION`]. (Two outputs with one fingerprint only cost
    /// the search steps it would otherwise have had: a cut, never a wrong
    /// proof.)
    new_outputs: HashSet<u64>,
    exhausted: bool,
    memo: Memo,
    /// Uses of XOR outside the fragment met on some branch (messages).
    gaps: BTreeSet<String>,
    /// The run's clock and memory count.
    budget: &'a Budget,
    /// Set when a limit of the run was reached during this search.
    stopped: Option<StopReason>,
    /// True when the API has fresh (abstracted) names: a variable may then
    /// stand for a term holding one, on which `!=` always holds.
    has_fresh: bool,
    /// The store's size when the search began: what it interns past this
    /// is scratch, forgotten after the search.
    mark: usize,
}

impl Solver<'_> {
    fn solve(&mut self, store: &mut TermStore, mut b: Branch, out: &mut Vec<Solution>) {
        self.steps += 1;
        if self.steps > self.step_budget + STEPS_PER_SOLUTION * self.new_outputs.len() {
            self.exhausted = true;
            return;
        }
        if self.steps % 256 == 1 {
            if let Some(stop) = self.budget.exceeded() {
                self.exhausted = true;
                self.stopped = Some(stop);
                return;
            }
        }
        if b.goals.is_empty() {
            // Deferred variable goals: solved now if something bound them.
            let mut still: Vec<(TermId, u16, Origin)> = Vec::new();
            for (d, depth, origin) in std::mem::take(&mut b.deferred) {
                let r = walk(store, d, &b.s);
                if matches!(store.get(r), Term::Var(_)) {
                    if !still.iter().any(|(x, _, _)| *x == r) {
                        still.push((r, depth, origin));
                    }
                } else {
                    b.goals.push(Goal::Supply {
                        term: r,
                        obtained: false,
                        depth,
                        origin,
                    });
                }
            }
            b.deferred = still;
            if b.goals.is_empty() {
                let free = b
                    .deferred
                    .iter()
                    .filter_map(|(x, _, _)| match store.get(*x) {
                        Term::Var(v) => Some(*v),
                        _ => None,
                    })
                    .collect();
                let resolved: Vec<TermId> = (self.rule.outputs.iter())
                    .map(|o| resolve(store, *o, &b.s))
                    .collect();
                let outputs = canonical_all(store, &resolved);
                self.new_outputs.insert(fingerprint(&outputs));
                let outputs = self.lift_outputs(store, &resolved, &b.s, &free);
                out.push(Solution { outputs });
            } else {
                self.solve(store, b, out);
            }
            return;
        }
        let goal = b.goals.remove(0);
        match goal {
            Goal::Check(check, i) => self.check(store, check, i, b, out),
            Goal::Supply {
                term,
                obtained,
                depth,
                origin,
            } => {
                if depth > MAX_GOAL_DEPTH {
                    self.exhausted = true;
                    return;
                }
                let u = resolve(store, term, &b.s);
                if let Term::Var(_) = store.get(u) {
                    b.deferred.push((u, depth, origin));
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
                let c = match store.get(u).clone() {
                    Term::App(c, _) => c,
                    Term::Xor(_) => return self.supply_xor(store, u, depth, origin, b, out),
                    _ => return,
                };
                let args = match store.get(u).clone() {
                    Term::App(_, args) => args,
                    _ => unreachable!("an application"),
                };
                // Obtained: unify with a fact renamed apart.
                for i in self.facts.index.candidates(store, u) {
                    let fact = self.facts.list[i];
                    if clash(store, u, fact) {
                        continue;
                    }
                    let width = max_var(store, fact).map_or(0, |m| m + 1);
                    let renamed = rename(store, fact, b.next_var);
                    let mut b2 = b.clone();
                    match unify(store, u, renamed, &mut b2.s) {
                        Ok(true) => {}
                        Ok(false) => continue,
                        Err(gap) => {
                            self.gap(store, origin, gap);
                            continue;
                        }
                    }
                    // The fact covers only derivable values of its variables:
                    // each one bound to a non-variable is a goal now, and each
                    // still free is deferred, in case a later goal binds it.
                    let mut first = Vec::new();
                    for v in b.next_var..b.next_var + width {
                        let vt = store.var(v);
                        let val = walk(store, vt, &b2.s);
                        if matches!(store.get(val), Term::Var(_)) {
                            b2.deferred.push((vt, depth + 1, origin));
                        } else {
                            first.push(Goal::Supply {
                                term: vt,
                                obtained: false,
                                depth: depth + 1,
                                origin,
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
                            origin,
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

    /// A solution's outputs (`resolved`: the rule's outputs under `s`,
    /// whose variables in `free` stand for any derivable term) lifted out
    /// of the scratch terms, or the gap of an output with a variable that
    /// stands for no derivable term: left open under XOR by an input
    /// (`a ⊕ b`, nothing binding either), so the HSM's choice is not
    /// determined.
    fn lift_outputs(
        &self,
        store: &mut TermStore,
        resolved: &[TermId],
        s: &Subst,
        free: &HashSet<u32>,
    ) -> Vec<Result<Lifted, String>> {
        let mut outs = Vec::with_capacity(resolved.len());
        for (j, &t) in resolved.iter().enumerate() {
            let open: Vec<u32> = store
                .vars(t)
                .into_iter()
                .filter(|v| !free.contains(v))
                .collect();
            if open.is_empty() {
                outs.push(Ok(store.lift(t, self.mark)));
            } else {
                let rule_vars: Vec<u32> = rule_vars_behind(store, self.rule, s, &open);
                outs.push(Err(open_variable_gap(store, self.rule, &rule_vars, j)));
            }
        }
        outs
    }

    /// The variables that stand for derivable terms on this branch: the
    /// deferred ones not bound yet.
    fn free_vars(&self, store: &TermStore, b: &Branch) -> HashSet<u32> {
        b.deferred
            .iter()
            .filter_map(|(d, _, _)| match store.get(walk(store, *d, &b.s)) {
                Term::Var(v) => Some(*v),
                _ => None,
            })
            .collect()
    }

    /// Is `t` derivable whatever derivable values the free variables take?
    fn surely_derivable(&mut self, store: &mut TermStore, t: TermId, free: &HashSet<u32>) -> bool {
        if store.is_ground(t) {
            return self.facts.derivable(store, t, &mut self.memo);
        }
        match store.get(t).clone() {
            Term::Var(v) => free.contains(&v),
            Term::App(c, args) => {
                store.ctor(c).public && args.iter().all(|a| self.surely_derivable(store, *a, free))
            }
            Term::Xor(ops) => ops.iter().all(|o| self.surely_derivable(store, *o, free)),
            _ => false,
        }
    }

    /// How to solve the XOR goal `u` (resolved, not ground) on branch `b`.
    fn classify_xor(&mut self, store: &mut TermStore, u: TermId, b: &Branch) -> XorGoal {
        let free = self.free_vars(store, b);
        let mut ground = Vec::new();
        let mut open = Vec::new();
        for op in store.xor_operands(u) {
            if store.is_ground(op) {
                ground.push(op);
            } else if !self.surely_derivable(store, op, &free) {
                open.push(op);
            }
        }
        let mut g = store.xor(&ground);
        if open.is_empty() {
            return XorGoal::Ground(g);
        }
        // A derivable ground rest changes nothing either.
        if !matches!(store.get(g), Term::Zero) && self.facts.derivable(store, g, &mut self.memo) {
            g = store.zero();
        }
        if open.len() == 1 && matches!(store.get(g), Term::Zero) {
            return XorGoal::Single(open[0]);
        }
        for (i, &op) in open.iter().enumerate() {
            if let Term::Var(v) = *store.get(op) {
                let elsewhere = open
                    .iter()
                    .enumerate()
                    .any(|(j, o)| j != i && store.vars(*o).contains(&v));
                if !elsewhere {
                    let mut rest: Vec<TermId> = open
                        .iter()
                        .enumerate()
                        .filter(|(j, _)| *j != i)
                        .map(|(_, o)| *o)
                        .collect();
                    rest.push(g);
                    let rest = store.xor(&rest);
                    return XorGoal::Bind(v, rest);
                }
            }
        }
        XorGoal::Stuck
    }

    fn is_stuck(&mut self, store: &mut TermStore, goal: &Goal, b: &Branch) -> bool {
        let Goal::Supply { term, .. } = goal else {
            return false;
        };
        let u = resolve(store, *term, &b.s);
        matches!(store.get(u), Term::Xor(_))
            && !store.is_ground(u)
            && matches!(self.classify_xor(store, u, b), XorGoal::Stuck)
    }

    /// The attacker supplies a term equal to the XOR `u`.
    fn supply_xor(
        &mut self,
        store: &mut TermStore,
        u: TermId,
        depth: u16,
        origin: Origin,
        mut b: Branch,
        out: &mut Vec<Solution>,
    ) {
        match self.classify_xor(store, u, &b) {
            XorGoal::Ground(g) => {
                if self.facts.derivable(store, g, &mut self.memo) {
                    self.solve(store, b, out);
                }
            }
            XorGoal::Single(t) => {
                b.goals.insert(
                    0,
                    Goal::Supply {
                        term: t,
                        obtained: false,
                        depth: depth + 1,
                        origin,
                    },
                );
                self.solve(store, b, out);
            }
            XorGoal::Bind(v, rest) => {
                // The attacker supplies any derivable z; the HSM solves
                // u = z for v.
                let z = store.var(b.next_var);
                b.next_var += 1;
                let value = store.xor(&[rest, z]);
                b.s.insert(v, value);
                b.deferred.push((z, depth + 1, origin));
                self.solve(store, b, out);
            }
            XorGoal::Stuck => {
                // Another goal may bind its variables first.
                let goals = b.goals.clone();
                let mut other = false;
                for g in &goals {
                    if !self.is_stuck(store, g, &b) {
                        other = true;
                        break;
                    }
                }
                let goal = Goal::Supply {
                    term: u,
                    obtained: false,
                    depth,
                    origin,
                };
                if other {
                    b.goals.push(goal);
                    return self.solve(store, b, out);
                }
                // Or a deferred variable bound since, once solved.
                let (bound, still): (Vec<_>, Vec<_>) = std::mem::take(&mut b.deferred)
                    .into_iter()
                    .partition(|(d, _, _)| {
                        !matches!(store.get(walk(store, *d, &b.s)), Term::Var(_))
                    });
                b.deferred = still;
                if !bound.is_empty() {
                    b.goals = bound
                        .into_iter()
                        .map(|(d, depth, origin)| Goal::Supply {
                            term: d,
                            obtained: false,
                            depth,
                            origin,
                        })
                        .chain(std::mem::take(&mut b.goals))
                        .collect();
                    b.goals.push(goal);
                    return self.solve(store, b, out);
                }
                self.gap(
                    store,
                    origin,
                    "the attacker would have to supply an XOR whose unknown operands \
                     are not free variables",
                );
            }
        }
    }

    /// Records a use of XOR outside the fragment, at the goal's origin.
    fn gap(&mut self, store: &TermStore, origin: Origin, what: &str) {
        let rule = self.rule;
        let show = |t: TermId| store.display(t, &rule.var_names);
        let place = match origin {
            Origin::Input(i) => format!("input {} {}", i + 1, show(rule.inputs[i])),
            Origin::Check(i) => format!("check {}", i + 1),
        };
        self.gaps.insert(format!("{}: {place}: {what}", rule.name));
    }

    fn check(
        &mut self,
        store: &mut TermStore,
        check: Check,
        index: usize,
        b: Branch,
        out: &mut Vec<Solution>,
    ) {
        match check {
            Check::Equal(x, y) => {
                let mut b = b;
                match unify(store, x, y, &mut b.s) {
                    Ok(true) => self.solve(store, b, out),
                    Ok(false) => {}
                    Err(gap) => self.gap(store, Origin::Check(index), gap),
                }
            }
            Check::NotEqual(x, y) => {
                // `!=` fails only where the sides are one term on every
                // instance: the same term, with no fresh name in it (the
                // abstraction lets two instances of one fresh name differ,
                // as `engine::holds` does) and, when the API has fresh
                // names, no variable (it may stand for a term holding one).
                let (rx, ry) = (resolve(store, x, &b.s), resolve(store, y, &b.s));
                let fails = rx == ry
                    && !crate::analysis::engine::mentions_fresh(store, rx)
                    && (store.is_ground(rx) || !self.has_fresh);
                if !fails {
                    self.solve(store, b, out);
                }
            }
            Check::OneOf(x, list) => {
                for l in list {
                    let mut b2 = b.clone();
                    match unify(store, x, l, &mut b2.s) {
                        Ok(true) => self.solve(store, b2, out),
                        Ok(false) => {}
                        Err(gap) => self.gap(store, Origin::Check(index), gap),
                    }
                    if self.exhausted {
                        return;
                    }
                }
            }
        }
    }
}

/// Counts every variable occurrence in `t`.
fn count_vars(store: &TermStore, t: TermId, out: &mut HashMap<u32, usize>) {
    if store.is_ground(t) {
        return;
    }
    match store.get(t) {
        Term::Var(v) => *out.entry(*v).or_default() += 1,
        Term::App(_, args) | Term::Xor(args) => {
            for a in args.iter() {
                count_vars(store, *a, out);
            }
        }
        _ => {}
    }
}

/// A rule's output, resolved (its variables all standing for derivable
/// terms), as a fact in the ⊕-linear fragment: `None` when it adds
/// nothing, or why it is outside the fragment.
fn normalise_fact(
    store: &mut TermStore,
    facts: &Facts,
    t: TermId,
) -> Result<Option<TermId>, &'static str> {
    if store.is_ground(t) {
        return Ok((!matches!(store.get(t), Term::Zero)).then_some(t));
    }
    let mut memo = Memo::default();
    let t = match store.get(t).clone() {
        Term::Var(_) => return Ok(None), // "some derivable term": nothing new
        Term::Xor(ops) => {
            // Operands derivable in every instance change nothing (the
            // derivable set is closed under XOR): `c ⊕ x` is `c`.
            let mut ground = Vec::new();
            let mut open = Vec::new();
            for op in ops.iter().copied() {
                if store.is_ground(op) {
                    ground.push(op);
                } else if !facts.always_derivable(store, op, &mut memo) {
                    open.push(op);
                }
            }
            let mut g = store.xor(&ground);
            if !open.is_empty()
                && !matches!(store.get(g), Term::Zero)
                && facts.derivable(store, g, &mut memo)
            {
                g = store.zero(); // `d ⊕ f(x)` with d derivable is `f(x)`
            }
            match open.len() {
                0 => return Ok((!matches!(store.get(g), Term::Zero)).then_some(g)),
                1 if matches!(store.get(g), Term::Zero) => open[0],
                _ => {
                    return Err("an XOR of terms the attacker may not know, one holding \
                                variables (not a ⊕-linear fact)")
                }
            }
        }
        _ => t,
    };
    let mut counts = HashMap::default();
    count_vars(store, t, &mut counts);
    linear(store, facts, t, &counts, &mut memo)
        .map(Some)
        .ok_or("two operands with variables under one XOR (not a ⊕-linear fact)")
}

/// `t` with every XOR inside it ⊕-linear: an XOR with several operands
/// holding variables is `x ⊕ c` when `x` is a variable occurring once in
/// the fact and the other operands with variables are always derivable
/// (`x` ranges over every derivable term, so `x ⊕ d` does too); else
/// `None`.
fn linear(
    store: &mut TermStore,
    facts: &Facts,
    t: TermId,
    counts: &HashMap<u32, usize>,
    memo: &mut Memo,
) -> Option<TermId> {
    if store.is_ground(t) {
        return Some(t);
    }
    match store.get(t).clone() {
        Term::App(c, args) => {
            let mut out = Vec::with_capacity(args.len());
            for a in args.iter() {
                out.push(linear(store, facts, *a, counts, memo)?);
            }
            Some(store.app(c, &out))
        }
        Term::Xor(ops) => {
            let open: Vec<TermId> = ops
                .iter()
                .copied()
                .filter(|o| !store.is_ground(*o))
                .collect();
            if open.len() == 1 {
                let inner = linear(store, facts, open[0], counts, memo)?;
                let mut rest: Vec<TermId> = ops
                    .iter()
                    .copied()
                    .filter(|o| store.is_ground(*o))
                    .collect();
                rest.push(inner);
                return Some(store.xor(&rest));
            }
            let x = open
                .iter()
                .copied()
                .find(|o| matches!(store.get(*o), Term::Var(v) if counts.get(v) == Some(&1)))?;
            for o in &open {
                if *o != x && !facts.always_derivable(store, *o, memo) {
                    return None;
                }
            }
            let mut rest: Vec<TermId> = ops
                .iter()
                .copied()
                .filter(|o| store.is_ground(*o))
                .collect();
            rest.push(x);
            Some(store.xor(&rest))
        }
        _ => Some(t),
    }
}

/// Where a variable left open under XOR comes from: the first input that
/// holds one of `vars` (rule variables), or the output.
fn open_variable_gap(store: &TermStore, rule: &Rule, vars: &[u32], output: usize) -> String {
    let show = |t: TermId| store.display(t, &rule.var_names);
    for (i, &input) in rule.inputs.iter().enumerate() {
        if store.vars(input).iter().any(|v| vars.contains(v)) {
            return format!(
                "{}: input {} {} has two variables under XOR that no other input binds",
                rule.name,
                i + 1,
                show(input)
            );
        }
    }
    format!(
        "{}: output {} {} holds a value left open under XOR",
        rule.name,
        output + 1,
        show(rule.outputs[output])
    )
}

/// Saturates the facts under every rule, symbolically.
pub fn prove(program: &mut Program, bounds: Bounds, limits: Limits) -> ProofRun {
    prove_within(program, bounds, limits, &Budget::start(limits))
}

/// [`prove`] within a run's budget: the time and memory limits are those
/// of the whole check (`budget`), the fact limit is `limits`'. A limit
/// reached is the run's `stop`, so the run is not exact and proves nothing.
pub fn prove_within(
    program: &mut Program,
    bounds: Bounds,
    limits: Limits,
    budget: &Budget,
) -> ProofRun {
    let mut facts = Facts::new();
    let mut cuts = BTreeSet::new();
    let mut stop = StopReason::Saturated;
    let store = &mut program.store;
    for &t in &program.knowledge {
        facts.add(store, t);
    }
    facts.close(store);
    let rules = program.rules.clone();
    let has_fresh = store
        .names()
        .any(|(_, n)| n.kind == crate::front::term::NameKind::Fresh);
    'rounds: loop {
        let mut changed = false;
        for rule in &rules {
            let nvars = rule.var_names.len() as u32;
            // A variable with an `in` list of ground terms is enumerated
            // first (as the planner does); then the inputs; then the other
            // checks.
            let mut goals = Vec::new();
            let mut late = Vec::new();
            for (i, c) in rule.checks.iter().enumerate() {
                let first = matches!(c, Check::OneOf(x, list)
                    if matches!(store.get(*x), Term::Var(_))
                        && list.iter().all(|l| store.is_ground(*l)));
                if first {
                    goals.push(Goal::Check(c.clone(), i));
                } else {
                    late.push(Goal::Check(c.clone(), i));
                }
            }
            goals.extend(rule.inputs.iter().enumerate().map(|(i, t)| Goal::Supply {
                term: *t,
                obtained: rule.kind == RuleKind::Deduction && i == 0,
                depth: 0,
                origin: Origin::Input(i),
            }));
            goals.extend(late);
            // The search's renamed and resolved terms are scratch: only the
            // solutions' outputs outlive it (lifted out), so the store does
            // not grow with every branch tried.
            let mark = store.mark();
            let mut solver = Solver {
                mark,
                facts: &facts,
                rule,
                steps: 0,
                step_budget: BASE_STEPS_PER_RULE + STEPS_PER_FACT * facts.list.len(),
                new_outputs: HashSet::default(),
                exhausted: false,
                memo: Memo::default(),
                gaps: BTreeSet::new(),
                budget,
                stopped: None,
                has_fresh,
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
            if let Some(reason) = solver.stopped {
                stop = reason;
                break 'rounds;
            }
            if solver.exhausted {
                cuts.insert(ProofCut::SearchSteps(rule.name.clone()));
            }
            for gap in std::mem::take(&mut solver.gaps) {
                cuts.insert(ProofCut::Xor(gap));
            }
            store.truncate(mark);
            for (n, sol) in solutions.into_iter().enumerate() {
                // Adding a fact looks for one that subsumes it: with many
                // facts, a long list of solutions takes a while.
                if n % 64 == 63 {
                    if let Some(reason) = budget.exceeded() {
                        stop = reason;
                        break 'rounds;
                    }
                }
                for (j, out) in sol.outputs.into_iter().enumerate() {
                    let t = match out {
                        Ok(lifted) => store.land(&lifted),
                        Err(gap) => {
                            cuts.insert(ProofCut::Xor(gap));
                            continue;
                        }
                    };
                    let t = match normalise_fact(store, &facts, t) {
                        Ok(Some(t)) => t,
                        Ok(None) => continue,
                        Err(what) => {
                            let shown = store.display(t, &rule.var_names);
                            cuts.insert(ProofCut::Xor(format!(
                                "{}: output {} gives {shown}: {what}",
                                rule.name,
                                j + 1
                            )));
                            continue;
                        }
                    };
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
            if facts.close(store) {
                changed = true;
            }
            if facts.list.len() > limits.max_facts {
                stop = StopReason::FactLimit(limits.max_facts);
                break 'rounds;
            }
            if let Some(reason) = budget.exceeded() {
                stop = reason;
                break 'rounds;
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

/// The rule variables whose values hold one of the `open` variables.
fn rule_vars_behind(store: &mut TermStore, rule: &Rule, s: &Subst, open: &[u32]) -> Vec<u32> {
    let mut out = Vec::new();
    for v in 0..rule.var_names.len() as u32 {
        let vt = store.var(v);
        let value = resolve(store, vt, s);
        if store.vars(value).iter().any(|w| open.contains(w)) {
            out.push(v);
        }
    }
    out
}

/// Is each ground term derivable from the facts of a proof run?
pub fn derivable_all(program: &mut Program, run: &ProofRun, terms: &[TermId]) -> Vec<bool> {
    let mut facts = Facts::new();
    for &f in &run.facts {
        facts.insert(&program.store, f);
    }
    facts.close(&mut program.store);
    let mut memo = Memo::default();
    terms
        .iter()
        .map(|t| facts.derivable(&mut program.store, *t, &mut memo))
        .collect()
}

/// Is the ground term `t` derivable from the facts of a proof run?
pub fn derivable(program: &mut Program, run: &ProofRun, t: TermId) -> bool {
    derivable_all(program, run, &[t])[0]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::front::lower::load_source;
    use crate::front::term::NameKind;

    fn run(src: &str) -> (Program, ProofRun) {
        let mut program = load_source("test.yaml", src)
            .unwrap_or_else(|d| panic!("{d:?}"))
            .program;
        let run = prove(&mut program, Bounds::default(), Limits::default());
        (program, run)
    }

    fn derivable_name(p: &mut Program, run: &ProofRun, name: &str) -> bool {
        let id = p.store.find_name(name).expect("declared");
        let t = p.store.name_term(id);
        derivable(p, run, t)
    }

    fn names(s: &mut TermStore, list: &[&str]) -> Vec<TermId> {
        list.iter()
            .map(|n| {
                let id = s.declare_name(n, NameKind::Secret);
                s.name_term(id)
            })
            .collect()
    }

    /// `kek ⊕ t = k1 ⊕ k2`: `kek` occurs once, so `kek := t ⊕ k1 ⊕ k2` is
    /// the most general unifier; then `t = A` makes it ground.
    #[test]
    fn xor_unification_solves_for_a_variable_occurring_once() {
        let mut s = TermStore::new();
        let n = names(&mut s, &["k1", "k2", "A"]);
        let (kek, t) = (s.var(0), s.var(1));
        let lhs = s.xor(&[kek, t]);
        let rhs = s.xor(&[n[0], n[1]]);
        let mut sub = Subst::default();
        assert_eq!(unify(&mut s, lhs, rhs, &mut sub), Ok(true));
        assert_eq!(unify(&mut s, t, n[2], &mut sub), Ok(true));
        let want = s.xor(&[n[0], n[1], n[2]]);
        assert_eq!(resolve(&mut s, kek, &sub), want);
    }

    /// `senc(x, k) ⊕ c = senc(A, K)`: one unknown atom equal to the ground
    /// rest only if that rest is an atom; `f(x) ⊕ f(y) = 0` means `x = y`;
    /// `f(x) ⊕ f(y) = a ⊕ b` has two unifiers, which is a gap, never a
    /// silent failure.
    #[test]
    fn xor_unification_of_applications_is_exact_or_a_gap() {
        let mut s = TermStore::new();
        let n = names(&mut s, &["A", "K", "c"]);
        let h = s.declare_ctor("h", 1, true);
        let senc = s.declare_ctor("senc", 2, true);
        let (x, y) = (s.var(0), s.var(1));
        let enc_x = s.app(senc, &[x, n[1]]);
        let enc_a = s.app(senc, &[n[0], n[1]]);
        let mut sub = Subst::default();
        assert_eq!(unify(&mut s, enc_x, enc_a, &mut sub), Ok(true));
        let lhs = s.xor(&[enc_x, n[2]]);
        let mut sub = Subst::default();
        assert_eq!(unify(&mut s, lhs, enc_a, &mut sub), Ok(false));
        let (hx, hy) = (s.app(h, &[x]), s.app(h, &[y]));
        let both = s.xor(&[hx, hy]);
        let zero = s.zero();
        let mut sub = Subst::default();
        assert_eq!(unify(&mut s, both, zero, &mut sub), Ok(true));
        assert_eq!(resolve(&mut s, x, &sub), resolve(&mut s, y, &sub));
        let (ha, hk) = (s.app(h, &[n[0]]), s.app(h, &[n[1]]));
        let two = s.xor(&[ha, hk]);
        let mut sub = Subst::default();
        assert_eq!(unify(&mut s, both, two, &mut sub), Err(GAP_SPLIT));
    }

    /// `x = h(x ⊕ a)` has the solution `x = h(0)` when `a = h(0)`: the
    /// occurs check under XOR is a gap, not a failure; without XOR it fails.
    #[test]
    fn occurs_check_under_xor_is_a_gap() {
        let mut s = TermStore::new();
        let n = names(&mut s, &["a"]);
        let h = s.declare_ctor("h", 1, true);
        let x = s.var(0);
        let xa = s.xor(&[x, n[0]]);
        let hxa = s.app(h, &[xa]);
        let mut sub = Subst::default();
        assert_eq!(unify(&mut s, x, hxa, &mut sub), Err(GAP_OCCURS));
        let hx = s.app(h, &[x]);
        let mut sub = Subst::default();
        assert_eq!(unify(&mut s, x, hx, &mut sub), Ok(false));
    }

    /// `senc(s ⊕ P, K)` with K secret: the attacker knows P and can have
    /// anything encrypted under K, but never s ⊕ P, so never s.
    #[test]
    fn masked_secret_under_a_secret_key_is_not_derivable() {
        let (mut p, run) = run(r#"
names: { public: [P], secret: [s, K] }
knowledge: ["{s xor P}K"]
functions:
  - name: Encrypt
    inputs: [x]
    outputs: ["{x}K"]
"#);
        assert!(run.is_exact(), "{:?}", run.cuts);
        assert!(!derivable_name(&mut p, &run, "s"));
        assert!(!derivable_name(&mut p, &run, "K"));
    }

    /// An output `c ⊕ x` with `x` the attacker's free choice: `x = 0` gives
    /// c itself, so c is derivable (the fact is stored as `c`).
    #[test]
    fn an_output_c_xor_free_x_gives_c() {
        let (mut p, run) = run(r#"
names: { secret: [c] }
functions:
  - name: Leak
    inputs: [x]
    outputs: ["c xor x"]
"#);
        assert!(run.is_exact(), "{:?}", run.cuts);
        assert!(derivable_name(&mut p, &run, "c"));
    }

    /// The attacker analyses what it derives by XOR: `(S, T) ⊕ A` with A
    /// public gives the pair, and splitting it gives S; `senc(N, K) ⊕ S2`
    /// with `senc(N, K)` known gives S2 (an atom that is not a name).
    #[test]
    fn atoms_in_the_span_are_analysed() {
        let (mut p, run) = run(r#"
names: { public: [A, N], secret: [S, T, K, S2, U] }
knowledge: ["(S, T) xor A", "{N}K xor S2", "{N}K", "{U}(K xor A)"]
functions:
  - name: Encrypt
    inputs: [x]
    outputs: ["{x}K"]
"#);
        assert!(run.is_exact(), "{:?}", run.cuts);
        assert!(derivable_name(&mut p, &run, "S"));
        assert!(derivable_name(&mut p, &run, "T"));
        assert!(derivable_name(&mut p, &run, "S2"));
        assert!(!derivable_name(&mut p, &run, "K"));
        assert!(!derivable_name(&mut p, &run, "U"));
    }

    /// An input `x ⊕ K` with x otherwise free: the attacker supplies any z
    /// and the HSM solves x = z ⊕ K, so an output x gives K (z = 0).
    #[test]
    fn an_input_xor_solves_for_its_variable() {
        let (mut p, run) = run(r#"
names: { secret: [K] }
functions:
  - name: Unmask
    inputs: ["x xor K"]
    outputs: ["h(x)", "x"]
"#);
        assert!(run.is_exact(), "{:?}", run.cuts);
        assert!(derivable_name(&mut p, &run, "K"));
    }

    /// A key XORed with a value the attacker picks: `{x}(K ⊕ y)` with y = 0
    /// opens `{S}K`; with the check `y in [A, B]` it cannot.
    #[test]
    fn a_chosen_xor_offset_in_a_key() {
        let open = r#"
names: { public: [A, B], secret: [K, S] }
knowledge: ["{S}K"]
functions:
  - name: Open
    inputs: ["{x}(K xor y)", y]
    outputs: [x]
"#;
        let (mut p, r) = run(open);
        assert!(r.is_exact(), "{:?}", r.cuts);
        assert!(derivable_name(&mut p, &r, "S"));
        let typed = format!("{open}    checks: [\"y in [A, B]\"]\n");
        let (mut p, r) = run(&typed);
        assert!(r.is_exact(), "{:?}", r.cuts);
        assert!(!derivable_name(&mut p, &r, "S"));
    }

    /// A fact `senc(x ⊕ A, K)` for every derivable x, A public, is every
    /// `senc(v, K)`: a deduction taking a pair apart matches it by solving
    /// `x = (m, n) ⊕ A`, and the derivable A drops out of the goal.
    #[test]
    fn a_derivable_ground_part_drops_out_of_an_xor_goal() {
        let (mut p, run) = run(r#"
names: { public: [A], secret: [K, S] }
knowledge: ["{S}K"]
functions:
  - name: Encrypt
    inputs: [x]
    outputs: ["{x xor A}K"]
  - name: Open
    inputs: ["{(m, n)}K"]
    outputs: [m]
"#);
        assert!(run.is_exact(), "{:?}", run.cuts);
        assert!(!derivable_name(&mut p, &run, "S"));
        assert!(!derivable_name(&mut p, &run, "K"));
        let shown: Vec<String> = run.facts.iter().map(|f| p.store.show(*f)).collect();
        assert!(shown.contains(&"senc(?0 ⊕ A, K)".to_string()), "{shown:?}");
    }

    /// Two variables under XOR that nothing else binds: which split the
    /// HSM takes is not determined, so proof mode stops and says where.
    #[test]
    fn two_open_variables_under_xor_are_a_located_gap() {
        let (_, run) = run(r#"
names: { secret: [K] }
functions:
  - name: Combine
    inputs: ["a xor b"]
    outputs: ["{a}K"]
"#);
        assert!(!run.is_exact());
        assert_eq!(
            run.xor_gaps(),
            ["Combine: input 1 a ⊕ b has two variables under XOR that no other input binds"]
        );
    }

    /// A fact `K ⊕ senc(x, M)` (x free, K and M secret) is not ⊕-linear:
    /// its instances' span is not finitely described here. Not added, and
    /// the run is not exact.
    #[test]
    fn a_non_linear_fact_is_a_located_gap() {
        let (_, run) = run(r#"
names: { secret: [K, M] }
functions:
  - name: Mix
    inputs: [x]
    outputs: ["K xor {x}M"]
"#);
        assert!(!run.is_exact());
        let gaps = run.xor_gaps();
        assert_eq!(gaps.len(), 1, "{gaps:?}");
        assert!(
            gaps[0].starts_with("Mix: output 1 gives K ⊕ senc(x, M): "),
            "{}",
            gaps[0]
        );
    }

    /// `senc(x ⊕ y, K)` for every derivable x and y is `senc(x, K)`: the
    /// XOR absorbs into the variable occurring once.
    #[test]
    fn xor_of_free_variables_inside_a_fact_is_linearised() {
        let (mut p, run) = run(r#"
names: { secret: [K] }
functions:
  - name: Both
    inputs: [x, y]
    outputs: ["{x xor y, y}K"]
"#);
        assert!(run.is_exact(), "{:?}", run.cuts);
        let shown: Vec<String> = run.facts.iter().map(|f| p.store.show(*f)).collect();
        assert!(
            shown.contains(&"senc((?0, ?1), K)".to_string()),
            "{shown:?}"
        );
        assert!(!derivable_name(&mut p, &run, "K"));
    }
}

//! A naive reference evaluator for apisat's saturation *with XOR*, written
//! independently of `src/analysis/matching.rs`, `plan.rs`, `engine.rs` and
//! `gf2.rs`. It shares with `src/` only [`TermStore`]: interning, the
//! XOR normal form (`store.xor`), `store.xor_operands` and printing. The
//! matcher modulo XOR, the GF(2) elimination and derivability are written
//! here. It extends the semantics of `tests/naive/mod.rs` (read that doc
//! first) and, like it, recomputes everything from scratch every round.
//!
//! # Terms and vectors
//!
//! Terms: names, constructor applications (flat tuples are public
//! constructors), XOR in normal form (ACUN: associative, commutative,
//! `x ⊕ x = 0`, `x ⊕ 0 = x`; `store.xor` flattens, sorts, cancels pairs and
//! drops `0`), and the public constant `0`. An *atom* is a term that is
//! neither an XOR nor `0`. The *vector* `vec(t)` of a term is the set of its
//! XOR operands (`{t}` for an atom, `{}` for `0`), an element of GF(2)^atoms;
//! `e_a` is the vector of the atom `a`, and `vec(t ⊕ u) = vec(t) + vec(u)`.
//! Depth: names and `0` have depth 0, `f(t1..tn)` one more than its deepest
//! argument, an XOR the depth of its deepest operand (as `TermStore::depth`).
//!
//! # The bounded semantics
//!
//! Bounds `D = max_depth`, `B = input_depth`, `W = xor_width`.
//! `K := program.knowledge` (ground terms; it holds `0` when the program
//! uses XOR, as lowering gives it). Repeat until `K` does not change:
//!
//! * `C := { t ∈ K | depth(t) ≤ B }` and `X := { n1 ⊕ .. ⊕ nj | 2 ≤ j ≤ W,
//!   n1..nj distinct names in K }`.
//! * `Derivable(t)` is the least predicate with: `t ∈ K`; or `t = f(t1..tn)`
//!   with `f` public (`CtorInfo.public`) and every `ti` derivable; or `t` is
//!   an XOR or `0` and `vec(t)` lies in the GF(2) span
//!   `S := span({ vec(u) | u ∈ K } ∪ { e_a | a an atom, Derivable(a) })`.
//! * **XOR analysis**: for every XOR term `u ∈ K` and operand `a` of `u`
//!   with `e_a ∈ S`, `a` is added to `K`. (An operand that is derivable is
//!   in `S` by definition, so a built atom such as `h(A)` in `h(A) ⊕ s` is
//!   obtained too.) An atom so obtained is taken apart by deductions and
//!   matched by inputs like any other obtained term.
//! * For each rule and each *variant* of it (as in `tests/naive/mod.rs`:
//!   every input obtained, or for a call with a public head and a non-ground
//!   pattern, built, recursively; a non-ground XOR subpattern is *supplied*,
//!   like a variable, never obtained or built at its own root; a deduction's
//!   first input is obtained, its others supplied): the *Known atoms* (the
//!   subpatterns chosen obtained) and *Supply atoms* (the supplied ones:
//!   variables, XOR patterns, ground terms). The rule's variables are of
//!   three kinds:
//!   * **listed** (`L`): `v` has a check `v in [g1, .., gk]` with every `gi`
//!     ground. `σ(v) ∈ {g1..gk}` (the planner's `Step::Enumerate`; the
//!     `FreeDomain::OneOfList` reading of `tests/naive/mod.rs`).
//!   * **matched** (`M`): a Known atom is *solvable* given a set of
//!     determined variables when each of its XOR nodes has at most one
//!     operand that is an undetermined variable. `M1 := closure(L)`: the
//!     variables of Known atoms solvable given `L`, then of those solvable
//!     given `L` and those, and so on. Matched variables are not drawn from
//!     any domain: they are whatever makes the Known atoms' instances
//!     members of `K`, modulo XOR (matching an XOR node with one
//!     undetermined operand `v` against `t` gives `v := t ⊕ (the instance of
//!     the other operands)`: `senc(k, kek ⊕ t)` with `kek` bound, against
//!     `senc(K1, KEK1 ⊕ PIN)` with `kek = KEK1`, gives `t := PIN`).
//!   * **chosen** (`F`): the variables outside `L ∪ M1`; they occur in Supply
//!     atoms, and each in one of two ways:
//!     * *plainly*, as a Supply atom itself (`x`, an input or an argument of
//!       a built input): `σ(v) ∈ C`, or `σ(v) ∈ C ∪ X` when `v` occurs as an
//!       XOR operand anywhere in the rule (inputs, outputs or checks; the
//!       planner's `Step::ChooseXor` without offset);
//!     * *through its XOR*, as an operand of a Supply XOR atom `v ⊕ r` (the
//!       *offset* `r`: the other operands, all determined): the attacker
//!       chooses the value it supplies, not `v`: the instance `σ(v ⊕ r) ∈
//!       C ∪ X`, so `σ(v) = u ⊕ σ(r)` for `u ∈ C ∪ X` (`Step::ChooseXor`
//!       with `offset: Some(r)`, which binds `v := u ⊕ r`).
//!
//!     The variables of Known atoms not solvable given `L` are matched once
//!     the chosen ones are determined: `closure(L ∪ F)` is everything.
//!   * For every `σ` so drawn: if every Known atom's instance is in `K`,
//!     every Supply atom's instance is derivable, and every check holds
//!     (`==`: instances equal modulo XOR, that is, equal normal forms; `!=`:
//!     instances differ, or either contains a name of kind Fresh, under XOR
//!     too; `in`: the instance equals a listed instance), every output
//!     instance of depth `≤ D` is added to `K`.
//! * A secret is derivable iff `Derivable(secret)` holds on the final `K`.
//!
//! A variable occurring only once in the whole rule, plainly, is bound to
//! the attacker's name by the engine (`Step::AnyValue`); it reaches no
//! output or check, so `C` (which holds that name) gives the same outputs.
//!
//! # The fragment: where the engine's order would matter
//!
//! The engine makes its choices one at a time, in an order that is its own:
//! a Supply atom with two undetermined variables gets its first operand by
//! term id chosen without offset; the first supply in input order decides
//! how a variable supplied twice is chosen; a Known atom still blocked by an
//! XOR node with two undetermined operands when no supply is left has all
//! but its last open operand chosen (`plan.rs`, `order`, step 4). The
//! statement above leaves those cases to the engine, so this evaluator
//! refuses a program ([`Refused::Outside`]) unless every variant of every
//! rule satisfies:
//!
//! 1. every XOR node of an input pattern has only variables and ground
//!    terms as operands;
//! 2. given `L ∪ M1`, every Supply atom has at most one undetermined
//!    variable, and every chosen variable is supplied in one way only
//!    (plainly, or through one and the same XOR atom);
//! 3. `closure(L ∪ F)` determines every variable, and for every chosen `v`,
//!    `closure(L ∪ F ∖ {v})` does not determine `v` (so no order of the
//!    engine's choices and lookups matches a variable that is also chosen).
//!
//! Under 1-3 every order in which the planner may interleave its lookups
//! and choices binds the same variables the same way, and so the engine's
//! firings are the ones stated. The random generator in
//! `tests/it/differential.rs` stays inside: a variable it puts under XOR in an
//! input occurs once in the inputs, or is the key of an obtained handle
//! (`hdl(k, ..)`, always obtained, so matched before anything else).
//!
//! # How `σ` is enumerated
//!
//! Listed variables take every listed value; then each Known atom solvable
//! given `L` is matched, in turn, against every term of `K` (the matcher
//! below, modulo XOR), which yields exactly the values under which the
//! instances are in `K`; then the chosen variables take every value of
//! their domain; then the remaining Known atoms are matched. Every
//! condition is then checked on the complete `σ`, Known atoms included.
//!
//! `Derivable` is computed per round: the atoms of `K`'s vectors that are
//! derivable are found as a least fixpoint (a derivable atom's unit vector
//! may make an XOR argument of another atom derivable), with a reduced GF(2)
//! basis of `S` restricted to those atoms; an XOR term is derivable when
//! its vector, less its derivable operands outside those atoms (whose unit
//! vectors no other generator touches), reduces to zero.

#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet, HashMap};

use apisat::program::{Check, Program, Rule, RuleKind};
use apisat::term::{CtorId, NameKind, Term, TermId, TermStore};

use super::{Budget, Outcome, OverBudget, Sigma, Variant};

/// The bounds of the XOR semantics.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct XorBounds {
    /// No output deeper than this enters `K`.
    pub max_depth: u16,
    /// `C`: obtained terms up to this depth.
    pub input_depth: u16,
    /// `X`: XORs of 2 up to this many obtained names.
    pub xor_width: usize,
}

/// Why the evaluator gave no answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refused {
    /// The budget ran out before the fixpoint.
    OverBudget,
    /// A rule outside the fragment (see the module doc), and why.
    Outside(String),
}

impl From<OverBudget> for Refused {
    fn from(_: OverBudget) -> Self {
        Refused::OverBudget
    }
}

/// What the fixpoint exercised of the XOR semantics (so that a random test
/// can say it tested something). Firings are counted in the last round,
/// which recomputes every firing of the fixpoint.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Coverage {
    /// Atoms of the final `K` that XOR analysis obtained (not given, and
    /// not only output by a rule).
    pub analysed: usize,
    /// Firings that matched an XOR node holding a variable.
    pub xor_matched: usize,
    /// Firings with a variable chosen through its XOR.
    pub through: usize,
    /// Firings with a variable chosen plainly from `X ∖ C`.
    pub from_x: usize,
    /// Firings with a supplied XOR instance whose operands are not all
    /// derivable (derivable by the span alone).
    pub by_span: usize,
}

/// Saturates `program` naively; panics when it is outside the fragment.
pub fn evaluate(program: &Program, bounds: XorBounds) -> Outcome {
    evaluate_within(program, bounds, Budget::UNLIMITED)
        .unwrap_or_else(|r| panic!("{r:?}"))
        .0
}

/// [`evaluate`], giving up once `budget` is exceeded or when a rule is
/// outside the fragment; with what the fixpoint exercised.
pub fn evaluate_within(
    program: &Program,
    bounds: XorBounds,
    budget: Budget,
) -> Result<(Outcome, Coverage), Refused> {
    let mut ev = XorNaive {
        store: program.store.clone(),
        work: 0,
        max_work: budget.max_work,
        coverage: Coverage::default(),
    };
    let mut schedules = Vec::new();
    for rule in &program.rules {
        ev.assert_well_formed(rule);
        for variant in ev.variants(rule) {
            schedules.push((rule, ev.schedule(rule, variant)?));
        }
    }
    let mut k: BTreeSet<TermId> = program.knowledge.iter().copied().collect();
    for &t in &k {
        assert!(ev.is_ground(t), "initial knowledge must be ground");
    }
    let mut rounds = 0;
    let mut analysed = BTreeSet::new();
    let mut output = BTreeSet::new();
    loop {
        rounds += 1;
        let mut round = Round::new(&mut ev, &k);
        let mut next = k.clone();
        next.extend(round.analysed.iter().copied());
        analysed.extend(round.analysed.iter().copied());
        ev.coverage = Coverage::default();
        for (rule, schedule) in &schedules {
            for t in ev.fire(rule, schedule, &mut round, bounds)? {
                output.insert(t);
                next.insert(t);
            }
        }
        if next.len() > budget.max_knowledge {
            return Err(Refused::OverBudget);
        }
        if next == k {
            let secrets = program
                .secrets
                .iter()
                .map(|s| round.derivable(&ev, s.term))
                .collect();
            let knowledge = k.iter().map(|t| ev.store.show(*t)).collect();
            let given: BTreeSet<TermId> = program.knowledge.iter().copied().collect();
            ev.coverage.analysed = analysed
                .iter()
                .filter(|a| !given.contains(a) && !output.contains(a))
                .count();
            let outcome = Outcome {
                knowledge,
                secrets,
                rounds,
                work: ev.work,
            };
            return Ok((outcome, ev.coverage));
        }
        k = next;
    }
}

// ----- GF(2) ------------------------------------------------------------------

/// A dense GF(2) vector over the atoms of one round, one bit per atom.
type Bits = Vec<u64>;

fn bit(v: &[u64], i: usize) -> bool {
    v[i / 64] >> (i % 64) & 1 == 1
}

fn flip(v: &mut [u64], i: usize) {
    v[i / 64] ^= 1 << (i % 64);
}

fn add_into(v: &mut [u64], w: &[u64]) {
    for (x, y) in v.iter_mut().zip(w) {
        *x ^= y;
    }
}

/// A fully reduced row-echelon basis: each row's pivot bit is set in that
/// row only, so one pass over the rows reduces any vector.
#[derive(Clone, Debug, Default)]
struct Basis {
    rows: Vec<(usize, Bits)>,
}

impl Basis {
    fn reduce(&self, v: &mut [u64]) {
        for (pivot, row) in &self.rows {
            if bit(v, *pivot) {
                add_into(v, row);
            }
        }
    }

    fn insert(&mut self, mut v: Bits) {
        self.reduce(&mut v);
        let Some(pivot) = (0..v.len() * 64).find(|i| bit(&v, *i)) else {
            return;
        };
        for (_, row) in self.rows.iter_mut() {
            if bit(row, pivot) {
                add_into(row, &v);
            }
        }
        self.rows.push((pivot, v));
    }

    fn contains(&self, v: &[u64]) -> bool {
        let mut v = v.to_vec();
        self.reduce(&mut v);
        v.iter().all(|w| *w == 0)
    }
}

// ----- one round's knowledge, derivability and XOR analysis -----------------------

/// `K` for one round, with the span `S` and `Derivable` decided over it.
struct Round {
    k: BTreeSet<TermId>,
    /// The atoms of the vectors of `K`, numbered: the bits of [`Bits`].
    atoms: BTreeMap<TermId, usize>,
    /// The basis of `S` restricted to `atoms`: the vectors of `K` and the
    /// unit vectors of the derivable atoms among `atoms`.
    basis: Basis,
    /// Atoms added to `K` by XOR analysis this round.
    analysed: Vec<TermId>,
    /// `Derivable`, once the fixpoint over `atoms` is reached.
    memo: HashMap<TermId, bool>,
    settled: bool,
}

impl Round {
    fn new(ev: &mut XorNaive, k: &BTreeSet<TermId>) -> Round {
        let mut atoms = BTreeMap::new();
        for &u in k {
            for a in ev.vector(u) {
                let n = atoms.len();
                atoms.entry(a).or_insert(n);
            }
        }
        let mut round = Round {
            k: k.clone(),
            atoms,
            basis: Basis::default(),
            analysed: Vec::new(),
            memo: HashMap::new(),
            settled: false,
        };
        for &u in k {
            let v = round.bits(&ev.vector(u));
            round.basis.insert(v);
        }
        // The derivable atoms among `atoms`: a least fixpoint, since an
        // atom's unit vector may make another atom's XOR argument derivable.
        // Atoms in K are derivable and their unit vectors are in already.
        let mut derivable: BTreeSet<TermId> = round
            .atoms
            .keys()
            .copied()
            .filter(|a| k.contains(a))
            .collect();
        loop {
            let mut grew = false;
            let candidates: Vec<TermId> = round
                .atoms
                .keys()
                .copied()
                .filter(|a| !derivable.contains(a))
                .collect();
            for a in candidates {
                if round.derivable(ev, a) {
                    derivable.insert(a);
                    let v = round.bits(&[a]);
                    round.basis.insert(v);
                    grew = true;
                }
            }
            if !grew {
                break;
            }
        }
        round.settled = true;
        // XOR analysis: every atom of K's vectors whose unit vector is in S.
        // (An atom of a vector of K is in K itself or an operand of an XOR
        // term in K.)
        for (&a, _) in round.atoms.iter() {
            if !k.contains(&a) && round.basis.contains(&round.bits(&[a])) {
                round.analysed.push(a);
            }
        }
        round
    }

    fn bits(&self, atoms: &[TermId]) -> Bits {
        let mut v = vec![0u64; self.atoms.len().div_ceil(64).max(1)];
        for a in atoms {
            flip(&mut v, self.atoms[a]);
        }
        v
    }

    /// `Derivable(t)` over this round's `K`.
    fn derivable(&mut self, ev: &XorNaive, t: TermId) -> bool {
        if let Some(&d) = self.memo.get(&t) {
            return d;
        }
        let d = self.decide(ev, t);
        if self.settled {
            self.memo.insert(t, d);
        }
        d
    }

    fn decide(&mut self, ev: &XorNaive, t: TermId) -> bool {
        assert!(ev.is_ground(t), "derivability of a pattern");
        if self.k.contains(&t) {
            return true;
        }
        match ev.node(t) {
            Term::App(c, args) => {
                ev.store.ctor(c).public && args.iter().all(|a| self.derivable(ev, *a))
            }
            Term::Name(_) | Term::Var(_) => false,
            Term::Zero => true,
            Term::Xor(ops) => {
                // Operands outside `atoms` occur in no generator but their
                // own unit vector: a derivable one cancels, any other one
                // cannot be cancelled.
                let mut inside = Vec::new();
                for &op in ops.iter() {
                    if self.atoms.contains_key(&op) {
                        inside.push(op);
                    } else if !self.derivable(ev, op) {
                        return false;
                    }
                }
                let v = self.bits(&inside);
                self.basis.contains(&v)
            }
        }
    }
}

// ----- the evaluator -----------------------------------------------------------------

/// How a rule's variant binds its variables, in order.
#[derive(Clone, Debug)]
enum Bind {
    /// A listed variable takes each listed value.
    Listed(u32, Vec<TermId>),
    /// A Known atom, solvable by now, is matched against `K`.
    Match(TermId),
    /// A chosen variable: `C`, or `C ∪ X` when `xor` (it is an XOR operand
    /// somewhere in the rule).
    Plain { var: u32, xor: bool },
    /// A chosen variable supplied through the XOR atom `atom = var ⊕ r`:
    /// the instance of `atom` ranges over `C ∪ X`.
    Through { var: u32, atom: TermId },
}

/// One variant of a rule, with the order in which it binds its variables.
#[derive(Clone, Debug)]
struct Schedule {
    variant: Variant,
    binds: Vec<Bind>,
}

struct XorNaive {
    store: TermStore,
    work: usize,
    max_work: usize,
    coverage: Coverage,
}

impl XorNaive {
    // ----- terms ------------------------------------------------------------

    fn node(&self, t: TermId) -> Term {
        self.store.get(t).clone()
    }

    fn head(&self, t: TermId) -> Option<CtorId> {
        match self.store.get(t) {
            Term::App(c, _) => Some(*c),
            _ => None,
        }
    }

    fn depth(&self, t: TermId) -> u16 {
        match self.store.get(t) {
            Term::Name(_) | Term::Var(_) | Term::Zero => 0,
            Term::App(_, args) => 1 + args.iter().map(|a| self.depth(*a)).max().unwrap_or(0),
            Term::Xor(ops) => ops.iter().map(|a| self.depth(*a)).max().unwrap_or(0),
        }
    }

    /// The vector of a ground term: its XOR operands.
    fn vector(&self, t: TermId) -> Vec<TermId> {
        match self.store.get(t) {
            Term::Xor(ops) => ops.to_vec(),
            Term::Zero => Vec::new(),
            _ => vec![t],
        }
    }

    fn is_ground(&self, t: TermId) -> bool {
        self.vars_of(t).is_empty()
    }

    fn vars_of(&self, t: TermId) -> BTreeSet<u32> {
        let mut out = BTreeSet::new();
        self.collect_vars(t, &mut out);
        out
    }

    fn collect_vars(&self, t: TermId, out: &mut BTreeSet<u32>) {
        match self.store.get(t) {
            Term::Var(v) => {
                out.insert(*v);
            }
            Term::App(_, args) | Term::Xor(args) => {
                for a in args.iter() {
                    self.collect_vars(*a, out);
                }
            }
            Term::Name(_) | Term::Zero => {}
        }
    }

    /// Variables that occur as a direct operand of some XOR node of `t`.
    fn xor_operand_vars(&self, t: TermId, out: &mut BTreeSet<u32>) {
        match self.store.get(t) {
            Term::Xor(ops) => {
                for &o in ops.iter() {
                    if let Term::Var(v) = self.store.get(o) {
                        out.insert(*v);
                    }
                    self.xor_operand_vars(o, out);
                }
            }
            Term::App(_, args) => {
                for &a in args.iter() {
                    self.xor_operand_vars(a, out);
                }
            }
            _ => {}
        }
    }

    /// Every XOR node of `t`.
    fn xor_nodes(&self, t: TermId, out: &mut Vec<TermId>) {
        match self.store.get(t) {
            Term::Xor(ops) => {
                out.push(t);
                for &o in ops.iter() {
                    self.xor_nodes(o, out);
                }
            }
            Term::App(_, args) => {
                for &a in args.iter() {
                    self.xor_nodes(a, out);
                }
            }
            _ => {}
        }
    }

    fn mentions_fresh(&self, t: TermId) -> bool {
        match self.store.get(t) {
            Term::Name(n) => self.store.name(*n).kind == NameKind::Fresh,
            Term::App(_, args) | Term::Xor(args) => args.iter().any(|a| self.mentions_fresh(*a)),
            _ => false,
        }
    }

    /// The instance of `p` when every variable in it is assigned.
    fn inst(&mut self, p: TermId, sigma: &Sigma) -> Option<TermId> {
        match self.node(p) {
            Term::Var(v) => sigma[v as usize],
            Term::Name(_) | Term::Zero => Some(p),
            Term::App(c, args) => {
                let mut out = Vec::with_capacity(args.len());
                for a in args.iter() {
                    out.push(self.inst(*a, sigma)?);
                }
                Some(self.store.app(c, &out))
            }
            Term::Xor(ops) => {
                let mut out = Vec::with_capacity(ops.len());
                for a in ops.iter() {
                    out.push(self.inst(*a, sigma)?);
                }
                Some(self.store.xor(&out))
            }
        }
    }

    /// The instance of `p` under a complete `σ`.
    fn subst(&mut self, p: TermId, sigma: &Sigma) -> TermId {
        self.inst(p, sigma).expect("every variable is assigned")
    }

    /// Matching modulo XOR of pattern `p` against ground `t`, extending `σ`.
    /// An XOR node is solved for its one operand not yet determined:
    /// that operand must equal `t ⊕ (the others' instances)`. (The schedule
    /// only matches atoms whose XOR nodes have at most one such operand.)
    fn match_pat(&mut self, p: TermId, t: TermId, mut sigma: Sigma) -> Option<Sigma> {
        if self.is_ground(p) {
            return (p == t).then_some(sigma);
        }
        match self.node(p) {
            Term::Var(v) => match sigma[v as usize] {
                Some(x) if x != t => None,
                _ => {
                    sigma[v as usize] = Some(t);
                    Some(sigma)
                }
            },
            Term::App(c, pargs) => {
                let Term::App(d, targs) = self.node(t) else {
                    return None;
                };
                if c != d {
                    return None;
                }
                for (pa, ta) in pargs.iter().zip(targs.iter()) {
                    sigma = self.match_pat(*pa, *ta, sigma)?;
                }
                Some(sigma)
            }
            Term::Xor(ops) => {
                let mut residual = vec![t];
                let mut open = Vec::new();
                for &o in ops.iter() {
                    match self.inst(o, &sigma) {
                        Some(i) => residual.push(i),
                        None => open.push(o),
                    }
                }
                let residual = self.store.xor(&residual);
                match open[..] {
                    [] => matches!(self.store.get(residual), Term::Zero).then_some(sigma),
                    [o] => self.match_pat(o, residual, sigma),
                    _ => panic!("matched an XOR node with two open operands"),
                }
            }
            Term::Name(_) | Term::Zero => unreachable!("ground"),
        }
    }

    fn holds(&mut self, check: &Check, sigma: &Sigma) -> bool {
        match check {
            Check::Equal(a, b) => self.subst(*a, sigma) == self.subst(*b, sigma),
            Check::NotEqual(a, b) => {
                let (x, y) = (self.subst(*a, sigma), self.subst(*b, sigma));
                x != y || self.mentions_fresh(x) || self.mentions_fresh(y)
            }
            Check::OneOf(a, list) => {
                let x = self.subst(*a, sigma);
                list.iter().any(|o| self.subst(*o, sigma) == x)
            }
        }
    }

    // ----- rules --------------------------------------------------------------

    fn check_terms(rule: &Rule) -> Vec<TermId> {
        let mut out = Vec::new();
        for c in &rule.checks {
            match c {
                Check::Equal(a, b) | Check::NotEqual(a, b) => out.extend([*a, *b]),
                Check::OneOf(a, l) => {
                    out.push(*a);
                    out.extend(l.iter().copied());
                }
            }
        }
        out
    }

    /// Panics on a rule no lowering produces: a variable in no input, an
    /// output or check variable no input binds.
    fn assert_well_formed(&self, rule: &Rule) {
        let mut in_inputs = BTreeSet::new();
        for &i in &rule.inputs {
            in_inputs.extend(self.vars_of(i));
        }
        for v in 0..rule.var_names.len() as u32 {
            assert!(
                in_inputs.contains(&v),
                "{}: variable {v} occurs in no input",
                rule.name
            );
        }
        for t in rule.outputs.iter().copied().chain(Self::check_terms(rule)) {
            assert!(
                self.vars_of(t).is_subset(&in_inputs),
                "{}: unbound output or check variable",
                rule.name
            );
        }
    }

    /// The ways to supply input pattern `p`.
    fn choices(&self, p: TermId, build: bool) -> Vec<Variant> {
        let supply = || Variant {
            known: vec![],
            supply: vec![p],
        };
        if self.is_ground(p) {
            return vec![supply()];
        }
        match self.store.get(p) {
            Term::Var(_) | Term::Xor(_) => vec![supply()],
            Term::App(c, args) => {
                let mut out = vec![Variant {
                    known: vec![p],
                    supply: vec![],
                }];
                if build && self.store.ctor(*c).public {
                    let mut built = vec![Variant::default()];
                    for &a in args.iter() {
                        let arg_choices = self.choices(a, build);
                        built = built
                            .iter()
                            .flat_map(|b| arg_choices.iter().map(move |ac| b.join(ac)))
                            .collect();
                    }
                    out.extend(built);
                }
                out
            }
            Term::Name(_) | Term::Zero => unreachable!("ground"),
        }
    }

    fn variants(&self, rule: &Rule) -> Vec<Variant> {
        let build = rule.kind == RuleKind::Call;
        let mut all = vec![Variant::default()];
        for (i, &input) in rule.inputs.iter().enumerate() {
            let cs = if rule.kind == RuleKind::Deduction && i > 0 {
                vec![Variant {
                    supply: vec![input],
                    ..Variant::default()
                }]
            } else {
                self.choices(input, build)
            };
            all = all
                .iter()
                .flat_map(|v| cs.iter().map(move |c| v.join(c)))
                .collect();
        }
        all
    }

    /// True when every XOR node of `atom` has at most one operand that is a
    /// variable outside `bound`.
    fn solvable(&self, atom: TermId, bound: &BTreeSet<u32>) -> bool {
        let mut nodes = Vec::new();
        self.xor_nodes(atom, &mut nodes);
        nodes.iter().all(|x| {
            let Term::Xor(ops) = self.store.get(*x) else {
                unreachable!()
            };
            ops.iter()
                .filter(|o| matches!(self.store.get(**o), Term::Var(v) if !bound.contains(v)))
                .count()
                <= 1
        })
    }

    /// `closure(start)`: the variables determined once every Known atom
    /// solvable in turn is matched; with the atoms in the order matched.
    fn closure(&self, known: &[TermId], start: &BTreeSet<u32>) -> (BTreeSet<u32>, Vec<TermId>) {
        let mut bound = start.clone();
        let mut order = Vec::new();
        let mut left: Vec<TermId> = known.to_vec();
        while let Some(i) = left.iter().position(|a| self.solvable(*a, &bound)) {
            let a = left.remove(i);
            bound.extend(self.vars_of(a));
            order.push(a);
        }
        (bound, order)
    }

    /// The order in which the variant binds its variables, or why it is
    /// outside the fragment (module doc, conditions 1-3).
    fn schedule(&self, rule: &Rule, variant: Variant) -> Result<Schedule, Refused> {
        let outside = |why: String| Err(Refused::Outside(format!("{}: {why}", rule.name)));
        // 1. XOR nodes of inputs: variables and ground operands only.
        for &input in &rule.inputs {
            let mut nodes = Vec::new();
            self.xor_nodes(input, &mut nodes);
            for x in nodes {
                let Term::Xor(ops) = self.store.get(x) else {
                    unreachable!()
                };
                if ops
                    .iter()
                    .any(|o| !self.is_ground(*o) && !matches!(self.store.get(*o), Term::Var(_)))
                {
                    return outside(format!(
                        "XOR input node {} has a structured open operand",
                        self.store.display(x, &rule.var_names)
                    ));
                }
            }
        }
        let nvars = rule.var_names.len() as u32;
        let mut binds = Vec::new();
        let mut listed = BTreeSet::new();
        for c in &rule.checks {
            if let Check::OneOf(a, list) = c {
                if let Term::Var(v) = self.store.get(*a) {
                    if !listed.contains(v) && list.iter().all(|t| self.is_ground(*t)) {
                        listed.insert(*v);
                        binds.push(Bind::Listed(*v, list.clone()));
                    }
                }
            }
        }
        let (m1, first) = self.closure(&variant.known, &listed);
        binds.extend(first.iter().map(|a| Bind::Match(*a)));
        // 2. Chosen variables, each supplied one way.
        let mut xor_vars = BTreeSet::new();
        for t in rule
            .inputs
            .iter()
            .chain(&rule.outputs)
            .copied()
            .chain(Self::check_terms(rule))
        {
            self.xor_operand_vars(t, &mut xor_vars);
        }
        let mut how: BTreeMap<u32, Bind> = BTreeMap::new();
        for &s in &variant.supply {
            let open: Vec<u32> = self
                .vars_of(s)
                .into_iter()
                .filter(|v| !m1.contains(v))
                .collect();
            let var = match open[..] {
                [] => continue,
                [v] => v,
                _ => {
                    return outside(format!(
                        "supply {} has several undetermined variables",
                        self.store.display(s, &rule.var_names)
                    ))
                }
            };
            let bind = match self.store.get(s) {
                Term::Var(_) => Bind::Plain {
                    var,
                    xor: xor_vars.contains(&var),
                },
                Term::Xor(ops) if ops.iter().any(|o| self.is_var(*o, var)) => {
                    Bind::Through { var, atom: s }
                }
                _ => {
                    return outside(format!(
                        "supply {} holds {} below its top",
                        self.store.display(s, &rule.var_names),
                        rule.var_names[var as usize]
                    ))
                }
            };
            match how.get(&var) {
                None => {
                    how.insert(var, bind);
                }
                Some(Bind::Plain { .. }) if matches!(bind, Bind::Plain { .. }) => {}
                Some(Bind::Through { atom, .. }) if matches!(bind, Bind::Through { atom: a, .. } if a == *atom) =>
                    {}
                Some(_) => {
                    return outside(format!(
                        "{} is supplied in two ways",
                        rule.var_names[var as usize]
                    ))
                }
            }
        }
        // 3. The chosen variables and the rest of the matching.
        let chosen: BTreeSet<u32> = how.keys().copied().collect();
        let start: BTreeSet<u32> = m1.union(&chosen).copied().collect();
        let rest: Vec<TermId> = variant
            .known
            .iter()
            .copied()
            .filter(|a| !first.contains(a))
            .collect();
        let (all, second) = self.closure(&rest, &start);
        if all.len() != nvars as usize {
            return outside("a Known atom stays blocked by an XOR node".to_string());
        }
        for &v in &chosen {
            let mut others = start.clone();
            others.remove(&v);
            if self.closure(&rest, &others).0.contains(&v) {
                return outside(format!(
                    "{} is both chosen and matched",
                    rule.var_names[v as usize]
                ));
            }
        }
        binds.extend(how.into_values());
        binds.extend(second.iter().map(|a| Bind::Match(*a)));
        Ok(Schedule { variant, binds })
    }

    fn is_var(&self, t: TermId, v: u32) -> bool {
        matches!(self.store.get(t), Term::Var(w) if *w == v)
    }

    /// Counts `n` more substitutions against the budget.
    fn spend(&mut self, n: usize) -> Result<(), OverBudget> {
        self.work = self.work.saturating_add(n);
        if self.work > self.max_work {
            Err(OverBudget)
        } else {
            Ok(())
        }
    }

    /// The outputs of every instance of one variant of `rule` over `K`.
    fn fire(
        &mut self,
        rule: &Rule,
        schedule: &Schedule,
        round: &mut Round,
        bounds: XorBounds,
    ) -> Result<Vec<TermId>, OverBudget> {
        let k: Vec<TermId> = round.k.iter().copied().collect();
        let c: Vec<TermId> = k
            .iter()
            .copied()
            .filter(|t| self.depth(*t) <= bounds.input_depth)
            .collect();
        let c_and_x = self.c_and_x(&k, &c, bounds.xor_width);
        let mut sigmas: Vec<Sigma> = vec![vec![None; rule.var_names.len()]];
        for bind in &schedule.binds {
            let mut next = Vec::new();
            match bind {
                Bind::Listed(v, list) => {
                    self.spend(sigmas.len() * list.len())?;
                    for s in &sigmas {
                        for &val in list {
                            let mut s2 = s.clone();
                            s2[*v as usize] = Some(val);
                            next.push(s2);
                        }
                    }
                }
                Bind::Match(atom) => {
                    // Only terms with the atom's head constructor can match.
                    let head = self.head(*atom);
                    let same: Vec<TermId> = k
                        .iter()
                        .copied()
                        .filter(|t| self.head(*t) == head)
                        .collect();
                    self.spend(sigmas.len() * same.len())?;
                    for s in &sigmas {
                        for &t in &same {
                            if let Some(s2) = self.match_pat(*atom, t, s.clone()) {
                                next.push(s2);
                            }
                        }
                    }
                }
                Bind::Plain { var, xor } => {
                    let domain = if *xor { &c_and_x } else { &c };
                    self.spend(sigmas.len() * domain.len())?;
                    for s in &sigmas {
                        for &val in domain {
                            let mut s2 = s.clone();
                            s2[*var as usize] = Some(val);
                            next.push(s2);
                        }
                    }
                }
                Bind::Through { var, atom } => {
                    self.spend(sigmas.len() * c_and_x.len())?;
                    let Term::Xor(ops) = self.node(*atom) else {
                        unreachable!("a Through atom is an XOR")
                    };
                    let r: Vec<TermId> = ops
                        .iter()
                        .copied()
                        .filter(|o| !self.is_var(*o, *var))
                        .collect();
                    for s in &sigmas {
                        let mut offset: Vec<TermId> = r.iter().map(|o| self.subst(*o, s)).collect();
                        for &u in &c_and_x {
                            offset.push(u);
                            let val = self.store.xor(&offset);
                            offset.pop();
                            let mut s2 = s.clone();
                            s2[*var as usize] = Some(val);
                            next.push(s2);
                        }
                    }
                }
            }
            sigmas = next;
        }
        let mut outputs = Vec::new();
        'sigma: for s in sigmas {
            for &a in &schedule.variant.known {
                let t = self.subst(a, &s);
                if !round.k.contains(&t) {
                    continue 'sigma;
                }
            }
            for &a in &schedule.variant.supply {
                let t = self.subst(a, &s);
                if !round.derivable(self, t) {
                    continue 'sigma;
                }
            }
            for check in &rule.checks {
                if !self.holds(check, &s) {
                    continue 'sigma;
                }
            }
            for &o in &rule.outputs {
                let t = self.subst(o, &s);
                if self.depth(t) <= bounds.max_depth {
                    outputs.push(t);
                }
            }
            self.count(schedule, &s, &c, round);
        }
        Ok(outputs)
    }

    /// Adds a firing to the coverage counts.
    fn count(&mut self, schedule: &Schedule, s: &Sigma, c: &[TermId], round: &mut Round) {
        for bind in &schedule.binds {
            match bind {
                Bind::Match(atom) => {
                    let mut nodes = Vec::new();
                    self.xor_nodes(*atom, &mut nodes);
                    if nodes.iter().any(|x| !self.is_ground(*x)) {
                        self.coverage.xor_matched += 1;
                    }
                }
                Bind::Through { .. } => self.coverage.through += 1,
                Bind::Plain { var, xor: true } if !c.contains(&s[*var as usize].unwrap()) => {
                    self.coverage.from_x += 1;
                }
                _ => {}
            }
        }
        for &a in &schedule.variant.supply {
            let t = self.subst(a, s);
            if let Term::Xor(ops) = self.node(t) {
                if !ops.iter().all(|o| round.derivable(self, *o)) {
                    self.coverage.by_span += 1;
                }
            }
        }
    }

    /// `C ∪ X`: `C`, and the XORs of 2 up to `width` distinct names of `K`.
    fn c_and_x(&mut self, k: &[TermId], c: &[TermId], width: usize) -> Vec<TermId> {
        let names: Vec<TermId> = k
            .iter()
            .copied()
            .filter(|t| matches!(self.store.get(*t), Term::Name(_)))
            .collect();
        let mut out: BTreeSet<TermId> = c.iter().copied().collect();
        // Subsets of `names` as increasing index lists, by size.
        let mut layer: Vec<Vec<usize>> = (0..names.len()).map(|i| vec![i]).collect();
        for _size in 2..=width {
            let mut next = Vec::new();
            for set in &layer {
                for j in set.last().unwrap() + 1..names.len() {
                    let mut s = set.clone();
                    s.push(j);
                    let ops: Vec<TermId> = s.iter().map(|i| names[*i]).collect();
                    out.insert(self.store.xor(&ops));
                    next.push(s);
                }
            }
            layer = next;
        }
        out.into_iter().collect()
    }
}

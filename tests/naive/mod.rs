//! A naive reference evaluator for the non-XOR fragment of apisat's
//! saturation, written independently of `src/analysis/matching.rs` and `plan.rs`
//! (it shares only [`TermStore`] for interning and printing). Speed does not
//! matter; every round recomputes everything from scratch. Its extension to
//! XOR is [`xor`] (`tests/naive/xor.rs`).
//!
//! # The bounded semantics
//!
//! Given a [`Program`] and bounds `D = max_depth`, `B = input_depth`:
//!
//! * `K := program.knowledge` (ground terms). Repeat until `K` does not
//!   change:
//!   * `C := { t ∈ K | depth(t) ≤ B }` (depth: names 0, `f(..)` is one more
//!     than its deepest argument).
//!   * `Derivable(t)` holds when `t ∈ K`, or `t = f(t1..tn)` with `f` a
//!     public constructor (`CtorInfo.public`; tuples are public) and every
//!     `ti` derivable.
//!   * For each rule `r` and each *variant* of it: for each input pattern,
//!     choose at the root "obtained", or — only if `r.kind == Call`, the
//!     root is an application of a public constructor and the pattern is
//!     not ground — "built", in which case each argument is again chosen
//!     recursively the same way: a non-ground argument that is an
//!     application of a public constructor may be obtained or built; a
//!     non-ground application of a private constructor is obtained; a
//!     variable, a name or a ground subpattern is "supplied". For Deduction
//!     rules the first input is the term taken apart: obtained if it is a
//!     non-ground application; every further input (a key) is supplied.
//!     Ground patterns and bare variables at the root are supplied.
//!     * Known atoms: the subpatterns chosen "obtained". Supply atoms: the
//!       supplied subpatterns.
//!     * `M` := variables occurring in some Known atom; `F` := the other
//!       variables (they occur only in Supply atoms).
//!     * For every `σ` with `σ(v) ∈ Sub(K)` for `v ∈ M` (`Sub(K)`: all
//!       subterms of terms in `K`) and `σ(v) ∈ C` for `v ∈ F`: if every
//!       Known atom's instance is in `K`, every Supply atom's instance is
//!       derivable, and every check holds (Equal: instances equal; NotEqual:
//!       instances differ, or either instance contains a name of kind
//!       Fresh; OneOf: the instance equals one listed instance), then every
//!       output instance of depth `≤ D` is added to `K`.
//! * A secret is derivable iff `Derivable(secret)` holds on the final `K`.
//!
//! The engine binds `M`-variables by matching Known atoms against `K`, so
//! only values in `Sub(K)` arise; it binds `F`-variables from `C`. A
//! variable that occurs only once in the whole rule is bound to the
//! attacker's name by the engine, which gives the same outputs as any value
//! of `C`, since such a variable reaches no output or check and `C ⊆ K`.
//!
//! # Where the statement above needed a reading
//!
//! * **A non-ground private application under a built one** (`hdl(x, k)`
//!   inside a built `senc(hdl(x, k), y)`): the statement names only public
//!   applications (obtained or built) and variables, names and ground
//!   subpatterns (supplied). It is read as obtained, the only way to get a
//!   term with a private head; the planner does the same.
//! * **`OneOf` on a free variable.** The planner (`plan.rs`, step 0 of
//!   `order`, `Step::Enumerate`) binds a variable `v` that has a check
//!   `v in [g1, .., gk]` with only ground `gi` to each `gi` in turn, before
//!   anything else: "exhaustive, so no bound". For `v ∈ M` that changes
//!   nothing (the Known atoms and the check still filter). For `v ∈ F` it is
//!   *more* than the statement grants: `gi` need not be in `C`, it only has
//!   to be derivable where `v` is supplied. [`FreeDomain::OneOfList`]
//!   models it: such a `v` ranges over `C ∪ {g1..gk}` (the check then keeps
//!   only the `gi`). [`FreeDomain::Bounded`] is the statement as written;
//!   `tests/it/differential.rs` uses `OneOfList` and pins the difference in
//!   `free_variable_in_a_one_of_check_ranges_over_the_list`.
//! * **Deductions with two application inputs** (`senc(m, k), h(k) |- m`):
//!   only the first input is taken apart and must be obtained; the second
//!   is supplied, so the attacker may build `h(k)`. The engine's planner
//!   does the same (`plan.rs`), whatever order its lookups run in.
//!
//! # How `σ` is enumerated
//!
//! `σ` restricted to `M` is enumerated by choosing, for each Known atom in
//! turn, a term of `K` and matching the atom against it syntactically (a
//! few lines below, no XOR). That yields exactly the `σ|M` under which every
//! Known atom's instance is in `K`, and each such value is a subterm of `K`
//! (asserted), so it is the same set as filtering all of `Sub(K)^M`, only
//! faster. `σ|F` is the full product of the `F`-domains. Every condition is
//! then checked on the complete `σ`, Known atoms included.

#![allow(dead_code)]

use std::collections::BTreeSet;

use apisat::program::{Check, Program, Rule, RuleKind};
use apisat::term::{NameKind, Term, TermId, TermStore};

/// The same semantics with XOR, in a separate evaluator: `xor.rs`.
pub mod xor;

/// What the free (`F`) variables range over.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FreeDomain {
    /// `C`: known terms of depth at most `input_depth`, as stated.
    Bounded,
    /// `C`, plus the listed ground terms of a `v in [..]` check on `v`.
    OneOfList,
}

/// The fixpoint the naive evaluator reached.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// The final knowledge set, printed with `TermStore::show`.
    pub knowledge: BTreeSet<String>,
    /// `Derivable(secret)` on the final knowledge, per secret in order.
    pub secrets: Vec<bool>,
    /// Rounds until nothing changed (the last round adds nothing).
    pub rounds: usize,
    /// Substitutions examined, over all rounds.
    pub work: usize,
}

/// How much the naive evaluator may do before it gives up (the random
/// test discards such programs instead of waiting for them).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Budget {
    /// Most terms in the knowledge set.
    pub max_knowledge: usize,
    /// Most substitutions examined, over all rounds.
    pub max_work: usize,
}

impl Budget {
    /// No limit.
    pub const UNLIMITED: Budget = Budget {
        max_knowledge: usize::MAX,
        max_work: usize::MAX,
    };
}

/// The budget ran out before the fixpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OverBudget;

/// Saturates `program` naively under `max_depth` and `input_depth`.
pub fn evaluate(program: &Program, max_depth: u16, input_depth: u16, free: FreeDomain) -> Outcome {
    evaluate_within(program, max_depth, input_depth, free, Budget::UNLIMITED)
        .expect("no budget to exceed")
}

/// [`evaluate`], giving up once `budget` is exceeded.
pub fn evaluate_within(
    program: &Program,
    max_depth: u16,
    input_depth: u16,
    free: FreeDomain,
    budget: Budget,
) -> Result<Outcome, OverBudget> {
    let mut ev = Naive {
        store: program.store.clone(),
        work: 0,
        max_work: budget.max_work,
    };
    for rule in &program.rules {
        ev.assert_fragment(rule);
    }
    let mut k: BTreeSet<TermId> = program.knowledge.iter().copied().collect();
    for &t in &k {
        assert!(ev.is_ground(t), "initial knowledge must be ground");
    }
    let mut rounds = 0;
    loop {
        rounds += 1;
        let mut next = k.clone();
        for rule in &program.rules {
            for t in ev.fire(rule, &k, max_depth, input_depth, free)? {
                next.insert(t);
            }
        }
        if next.len() > budget.max_knowledge {
            return Err(OverBudget);
        }
        if next == k {
            break;
        }
        k = next;
    }
    let secrets = program
        .secrets
        .iter()
        .map(|s| ev.derivable(&k, s.term))
        .collect();
    let knowledge = k.iter().map(|t| ev.store.show(*t)).collect();
    Ok(Outcome {
        knowledge,
        secrets,
        rounds,
        work: ev.work,
    })
}

/// One choice of obtained/built for every input of a rule.
#[derive(Clone, Debug, Default)]
struct Variant {
    /// Subpatterns the attacker must have obtained (instance in `K`).
    known: Vec<TermId>,
    /// Subpatterns the attacker must be able to derive.
    supply: Vec<TermId>,
}

impl Variant {
    fn join(&self, other: &Variant) -> Variant {
        let mut v = self.clone();
        v.known.extend(other.known.iter().copied());
        v.supply.extend(other.supply.iter().copied());
        v
    }
}

/// A substitution: `None` where a variable is not yet assigned.
type Sigma = Vec<Option<TermId>>;

struct Naive {
    store: TermStore,
    /// Substitutions examined so far.
    work: usize,
    max_work: usize,
}

impl Naive {
    // ----- terms, written here rather than taken from the store's caches --

    fn node(&self, t: TermId) -> Term {
        self.store.get(t).clone()
    }

    fn depth(&self, t: TermId) -> u16 {
        match self.store.get(t) {
            Term::Name(_) | Term::Var(_) => 0,
            Term::App(_, args) => 1 + args.iter().map(|a| self.depth(*a)).max().unwrap_or(0),
            Term::Xor(_) | Term::Zero => panic!("XOR is outside the naive fragment"),
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
            Term::App(_, args) => {
                for a in args.iter() {
                    self.collect_vars(*a, out);
                }
            }
            Term::Name(_) => {}
            Term::Xor(_) | Term::Zero => panic!("XOR is outside the naive fragment"),
        }
    }

    fn subterms(&self, t: TermId, out: &mut BTreeSet<TermId>) {
        out.insert(t);
        if let Term::App(_, args) = self.store.get(t) {
            for a in args.iter() {
                self.subterms(*a, out);
            }
        }
    }

    fn mentions_fresh(&self, t: TermId) -> bool {
        match self.store.get(t) {
            Term::Name(n) => self.store.name(*n).kind == NameKind::Fresh,
            Term::App(_, args) => args.iter().any(|a| self.mentions_fresh(*a)),
            _ => false,
        }
    }

    /// The instance of `p` under a complete `σ`.
    fn subst(&mut self, p: TermId, sigma: &Sigma) -> TermId {
        match self.node(p) {
            Term::Var(v) => sigma[v as usize].expect("every variable is assigned"),
            Term::Name(_) => p,
            Term::App(c, args) => {
                let args: Vec<TermId> = args.iter().map(|a| self.subst(*a, sigma)).collect();
                self.store.app(c, &args)
            }
            Term::Xor(_) | Term::Zero => panic!("XOR is outside the naive fragment"),
        }
    }

    /// Syntactic matching of pattern `p` against ground `t`, extending `σ`.
    fn match_pat(&self, p: TermId, t: TermId, mut sigma: Sigma) -> Option<Sigma> {
        match (self.store.get(p), self.store.get(t)) {
            (Term::Var(v), _) => match sigma[*v as usize] {
                Some(x) if x != t => None,
                _ => {
                    sigma[*v as usize] = Some(t);
                    Some(sigma)
                }
            },
            (Term::Name(_), _) => (p == t).then_some(sigma),
            (Term::App(c, pargs), Term::App(d, targs)) if c == d => {
                for (pa, ta) in pargs.iter().zip(targs.iter()) {
                    sigma = self.match_pat(*pa, *ta, sigma)?;
                }
                Some(sigma)
            }
            _ => None,
        }
    }

    /// `Derivable(t)` over `k`.
    fn derivable(&self, k: &BTreeSet<TermId>, t: TermId) -> bool {
        if k.contains(&t) {
            return true;
        }
        match self.store.get(t) {
            Term::App(c, args) if self.store.ctor(*c).public => {
                args.iter().all(|a| self.derivable(k, *a))
            }
            _ => false,
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

    // ----- rules -----------------------------------------------------------

    /// Panics when the rule is outside the fragment this evaluator covers.
    fn assert_fragment(&self, rule: &Rule) {
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
        for &o in &rule.outputs {
            assert!(
                self.vars_of(o).is_subset(&in_inputs),
                "{}: unbound output variable",
                rule.name
            );
        }
        for c in &rule.checks {
            let terms: Vec<TermId> = match c {
                Check::Equal(a, b) | Check::NotEqual(a, b) => vec![*a, *b],
                Check::OneOf(a, l) => std::iter::once(*a).chain(l.iter().copied()).collect(),
            };
            for t in terms {
                assert!(
                    self.vars_of(t).is_subset(&in_inputs),
                    "{}: unbound check variable",
                    rule.name
                );
            }
        }
    }

    /// The ways to supply input pattern `p`.
    fn choices(&self, p: TermId, build: bool) -> Vec<Variant> {
        if self.is_ground(p) {
            return vec![Variant {
                known: vec![],
                supply: vec![p],
            }];
        }
        match self.store.get(p) {
            Term::Var(_) => vec![Variant {
                known: vec![],
                supply: vec![p],
            }],
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
            Term::Name(_) => unreachable!("names are ground"),
            Term::Xor(_) | Term::Zero => panic!("XOR is outside the naive fragment"),
        }
    }

    fn variants(&self, rule: &Rule) -> Vec<Variant> {
        let build = rule.kind == RuleKind::Call;
        let mut all = vec![Variant::default()];
        for (i, &input) in rule.inputs.iter().enumerate() {
            // A deduction takes its first input apart; the others (keys)
            // only have to be derivable.
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

    /// The outputs of every instance of every variant of `rule` over `k`.
    fn fire(
        &mut self,
        rule: &Rule,
        k: &BTreeSet<TermId>,
        max_depth: u16,
        input_depth: u16,
        free: FreeDomain,
    ) -> Result<Vec<TermId>, OverBudget> {
        let c: Vec<TermId> = k
            .iter()
            .copied()
            .filter(|t| self.depth(*t) <= input_depth)
            .collect();
        let mut sub = BTreeSet::new();
        for &t in k {
            self.subterms(t, &mut sub);
        }
        let nvars = rule.var_names.len();
        let mut outputs = Vec::new();
        for variant in self.variants(rule) {
            let mut m = BTreeSet::new();
            for &a in &variant.known {
                m.extend(self.vars_of(a));
            }
            let f: Vec<u32> = (0..nvars as u32).filter(|v| !m.contains(v)).collect();
            for &v in &f {
                let in_supply = variant.supply.iter().any(|s| self.vars_of(*s).contains(&v));
                assert!(in_supply, "{}: variable {v} in no atom", rule.name);
            }
            // σ|M: one term of K per Known atom, matched.
            let mut sigmas: Vec<Sigma> = vec![vec![None; nvars]];
            for &atom in &variant.known {
                self.spend(sigmas.len() * k.len())?;
                let mut next = Vec::new();
                for s in &sigmas {
                    for &t in k {
                        if let Some(s2) = self.match_pat(atom, t, s.clone()) {
                            next.push(s2);
                        }
                    }
                }
                sigmas = next;
            }
            for s in &sigmas {
                for &v in &m {
                    let val = s[v as usize].expect("M-variables are bound by matching");
                    assert!(sub.contains(&val), "matching bound a value outside Sub(K)");
                }
            }
            // σ|F: every combination of the free domains.
            for &v in &f {
                let domain = self.free_domain(rule, v, &c, free);
                self.spend(sigmas.len() * domain.len())?;
                let mut next = Vec::new();
                for s in &sigmas {
                    for &val in &domain {
                        let mut s2 = s.clone();
                        s2[v as usize] = Some(val);
                        next.push(s2);
                    }
                }
                sigmas = next;
            }
            'sigma: for s in sigmas {
                for &a in &variant.known {
                    let t = self.subst(a, &s);
                    if !k.contains(&t) {
                        continue 'sigma;
                    }
                }
                for &a in &variant.supply {
                    let t = self.subst(a, &s);
                    if !self.derivable(k, t) {
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
                    if self.depth(t) <= max_depth {
                        outputs.push(t);
                    }
                }
            }
        }
        Ok(outputs)
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

    fn free_domain(&mut self, rule: &Rule, v: u32, c: &[TermId], free: FreeDomain) -> Vec<TermId> {
        let mut domain: BTreeSet<TermId> = c.iter().copied().collect();
        if free == FreeDomain::OneOfList {
            let var = self.store.var(v);
            for check in &rule.checks {
                if let Check::OneOf(a, list) = check {
                    if *a == var && list.iter().all(|t| self.is_ground(*t)) {
                        domain.extend(list.iter().copied());
                    }
                }
            }
        }
        domain.into_iter().collect()
    }
}

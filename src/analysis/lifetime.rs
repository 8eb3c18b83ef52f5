//! Lifetime histories: a refinement of the monotone object model that
//! proves fixes resting on stickiness and conflicts *over time*.
//!
//! # Why the monotone model cannot prove them
//!
//! Saturation keeps every handle it derives: after `SetWrap(hdl(k1, {}))`
//! the attacker holds both `hdl(k1, {})` and `hdl(k1, {wrap: T})`, and from
//! the first it may still run `SetDecrypt`. So a token where `wrap` and
//! `decrypt` conflict and are both sticky on (the published fix of the
//! set/unset attack) still leaks in the model: one branch of k1's history
//! wraps, another decrypts. Adding to each handle the attributes it has
//! *ever* had so far does not help: each branch keeps its own past, and
//! both branches stay known. What separates them is the object's whole
//! life in one run.
//!
//! # The token's semantics, and the exclusive pairs
//!
//! The token is the one `src/analysis/stateful.rs` runs and `lower.rs` writes down:
//! an object changes state only through a `sets` function; `sets {a: T}`
//! applies only while every attribute conflicting with `a` (and not set F
//! in the same call) is F; `sets {a: F}` with `a` sticky on applies only
//! while `a` is already F; `sets {a: T}` with `a` sticky off only while
//! `a` is already T. Other functions create new objects.
//!
//! **Lemma.** Let `a` and `b` conflict and both be sticky on (an
//! *exclusive pair*). In no run does an object have `a` T at one time and
//! `b` T at another, unless it was created with both T. *Proof.* Let
//! `ta`, `tb` be the first states with `a`, resp. `b`, T, and say
//! `ta < tb` (the other case is symmetric, `b` being sticky too). From `ta`
//! on `a` stays T: `sets {a: F}` needs `a` F. State `tb > 0` comes from a
//! `sets` call turning `b` T, which needs `a` F before it (the conflict
//! check) or sets `a` F in the same call (which needs `a` F: sticky); but
//! `a` is T then. So `ta = tb`, and as states after creation come from
//! `sets` calls that never make both T, that state is the creation.
//!
//! Conflicts are checked against the current state, as PKCS#11 does; the
//! lemma needs *both* attributes sticky on. With only `wrap` sticky, an
//! object may decrypt, drop `decrypt`, then wrap: both in one life. That
//! token is still safe (what is wrapped exists only once `wrap` is set for
//! good), but the argument is about the order of calls, which a lifetime
//! abstraction does not see; such fixes stay with the stateful search.
//!
//! # The lifetime model
//!
//! Let `tracked` be the attributes of exclusive pairs. Every handle
//! `hdl(k, (a1..an))` gets `m = |tracked|` more positions, `L`: the
//! tracked attributes the object may hold at some time of the run. `L` is
//! a *maximal independent set* of the exclusive pairs (no pair inside),
//! or every tracked attribute for an object created with a pair both T.
//!
//! * Function inputs match `L` with fresh variables: no function reads it.
//! * A `sets` function keeps its handle's `L`, and applies only when each
//!   tracked attribute its result has T is in `L` (a check `l = T`).
//! * An output that creates an object is one copy of the function per
//!   choice of `L` (per maximal set containing what the template may set T;
//!   checks `v = F`, or `v != T` when `v` is not known to be T or F, for the
//!   tracked attributes outside `L`), plus a copy with every tracked
//!   attribute when the template may make a pair both T.
//! * The initial objects: one *case* per choice of `L` for each of them;
//!   each case is a program of its own (a product, at most [`MAX_CASES`]).
//!
//! Without the case split, the knowledge would hold `hdl(k1, ({}, {wrap}))`
//! and `hdl(k1, ({}, {decrypt}))` side by side, and the two runs they
//! stand for would merge again; a case fixes one life per initial object.
//!
//! # Soundness: every token run is simulated
//!
//! Take a run ρ. For each object `o`, let `Life(o)` be the tracked
//! attributes T in some state of `o` in ρ, and `M(o)` the first maximal
//! independent set (in the enumeration order) containing it, or every
//! tracked attribute if `o` was created with a pair both T (by the lemma,
//! the only way `Life(o)` is not independent). Let `g(ρ)` be the choice
//! `M` for the initial objects: a case. Map a term the attacker holds to
//! itself, and object `o` in state `A` to the handle `hdl(k, (A, M(o)))`.
//! By induction on ρ's steps, every term and every mapped handle is
//! derivable in case `g(ρ)`:
//!
//! * initially: the case's knowledge is the initial knowledge, handles
//!   mapped with `M`;
//! * a call of a function without `sets`: its copy with choice `M(o')` for
//!   each object `o'` it creates exists and applies: inputs match with `L`
//!   open, the original checks hold (the same values), and the added checks
//!   hold because the created state's tracked T's are in
//!   `Life(o') ⊆ M(o')`; its outputs are the run's, handles mapped;
//! * a `sets` call on `o`: its rule takes `hdl(k, (A, M(o)))`, its policy
//!   checks are the token's, each tracked attribute it makes T is in
//!   `Life(o) ⊆ M(o)`, and it gives `hdl(k, (A', M(o)))`;
//! * deductions never touch handles (the constructor is private).
//!
//! So a secret a run reaches is derivable in that run's case, and a secret
//! no case derives, each by a proof (no bound cut, or proof mode exact), is
//! out of reach on every token with this policy: SECURE (proved). The
//! construction applies to APIs whose handles sit at the top of knowledge
//! items, inputs and outputs with all their attributes (records, or tuples
//! of the right length); anything else ([`NotApplicable`]) leaves the
//! verdict to the monotone model and the stateful search.

use crate::analysis::engine::{saturate, Budget, StopReason};
use crate::analysis::plan::compile;
use crate::analysis::verdict::Settings;
use crate::front::program::{Check, ObjectModel, Program, Rule, RuleKind};
use crate::front::term::{CtorId, Term, TermId, TermStore};

/// The most cases (choices for the initial objects) the refinement runs.
pub const MAX_CASES: usize = 64;
/// The most tracked attributes (their maximal sets are enumerated).
pub const MAX_TRACKED: usize = 12;
/// The most copies of one function (choices for the objects it creates).
pub const MAX_COPIES: usize = 64;

/// Why the lifetime model was not built.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NotApplicable {
    /// The API declares no `attributes`.
    NoObjects,
    /// No conflicting pair of sticky-on attributes: lifetimes add nothing.
    NoExclusivePair,
    /// A handle the construction does not cover, in words.
    Shape(String),
    /// Too many choices (cases, copies of one function, tracked attributes).
    TooLarge(String),
}

impl NotApplicable {
    /// In words.
    pub fn describe(&self) -> String {
        match self {
            NotApplicable::NoObjects => "the API has no objects with attributes".into(),
            NotApplicable::NoExclusivePair => {
                "no two conflicting attributes are both sticky on".into()
            }
            NotApplicable::Shape(s) | NotApplicable::TooLarge(s) => s.clone(),
        }
    }
}

/// The lifetime model of a program: one program per case.
#[derive(Clone, Debug)]
pub struct LifetimeModel {
    /// The exclusive pairs, by attribute name.
    pub pairs: Vec<(String, String)>,
    /// One program per choice of lifetimes for the initial objects.
    pub cases: Vec<Program>,
}

/// The exclusive pairs of a policy: conflicting attributes both sticky on.
pub fn exclusive_pairs(model: &ObjectModel) -> Vec<(usize, usize)> {
    model
        .conflicts
        .iter()
        .copied()
        .filter(|&(a, b)| model.sticky_on[a] && model.sticky_on[b])
        .collect()
}

/// How handles look: the constructor, the attribute count, T and F, the
/// tracked positions and the exclusive pairs over them.
struct Shape {
    handle: CtorId,
    n: usize,
    t: TermId,
    f: TermId,
    /// Attribute positions of the tracked attributes, in order.
    tracked: Vec<usize>,
    /// Exclusive pairs as indexes into `tracked`.
    pairs: Vec<(usize, usize)>,
    /// The maximal independent sets, as bit masks over `tracked`.
    maximal: Vec<u32>,
}

/// A term's place in the fragment: no handle, or a handle at the top.
enum Place {
    Plain,
    Handle(TermId, Vec<TermId>),
}

impl Shape {
    fn full(&self) -> u32 {
        (1u32 << self.tracked.len()) - 1
    }

    fn independent(&self, mask: u32) -> bool {
        self.pairs
            .iter()
            .all(|&(x, y)| mask & (1 << x) == 0 || mask & (1 << y) == 0)
    }

    fn mentions(&self, store: &TermStore, t: TermId) -> bool {
        match store.get(t) {
            Term::App(c, _) if *c == self.handle => true,
            Term::App(_, args) | Term::Xor(args) => args.iter().any(|a| self.mentions(store, *a)),
            _ => false,
        }
    }

    /// Where `t` stands; `None` when it holds a handle elsewhere than at
    /// its top, or one whose attributes are not a tuple of the right length.
    fn place(&self, store: &TermStore, t: TermId) -> Option<Place> {
        if !self.mentions(store, t) {
            return Some(Place::Plain);
        }
        let Term::App(c, args) = store.get(t) else {
            return None;
        };
        if *c != self.handle {
            return None;
        }
        let (key, attrs) = (args[0], args[1]);
        let values: Vec<TermId> = if self.n == 1 {
            vec![attrs]
        } else {
            match store.get(attrs) {
                Term::App(c, items) if store.ctor(*c).tuple && items.len() == self.n => {
                    items.to_vec()
                }
                _ => return None,
            }
        };
        if self.mentions(store, key) || values.iter().any(|v| self.mentions(store, *v)) {
            return None;
        }
        Some(Place::Handle(key, values))
    }

    /// The handle with its attributes and lifetime positions.
    fn handle_with(
        &self,
        store: &mut TermStore,
        key: TermId,
        values: &[TermId],
        life: &[TermId],
    ) -> TermId {
        let mut items = values.to_vec();
        items.extend_from_slice(life);
        let tuple = store.tuple_ctor(items.len());
        let attrs = store.app(tuple, &items);
        store.app(self.handle, &[key, attrs])
    }

    /// The lifetime positions of a choice, as T and F.
    fn life_of(&self, mask: u32) -> Vec<TermId> {
        (0..self.tracked.len())
            .map(|j| if mask & (1 << j) != 0 { self.t } else { self.f })
            .collect()
    }

    /// The tracked attributes T among ground values, as a mask.
    fn mask_of(&self, values: &[TermId]) -> u32 {
        let mut mask = 0;
        for (j, &a) in self.tracked.iter().enumerate() {
            if values[a] == self.t {
                mask |= 1 << j;
            }
        }
        mask
    }

    /// The choices of `L` for an initial object with these values.
    fn initial_choices(&self, values: &[TermId]) -> Vec<u32> {
        let s = self.mask_of(values);
        if !self.independent(s) {
            return vec![self.full()];
        }
        self.maximal
            .iter()
            .copied()
            .filter(|m| m & s == s)
            .collect()
    }

    /// The choices of `L` for an object an output creates with `values`,
    /// each with the checks that make it apply only to states within it.
    fn output_choices(
        &self,
        store: &mut TermStore,
        values: &[TermId],
        checks: &[Check],
    ) -> Vec<(u32, Vec<Check>)> {
        let mut out = Vec::new();
        for &mask in &self.maximal {
            let mut extra = Vec::new();
            let mut fits = true;
            for (j, &a) in self.tracked.iter().enumerate() {
                if mask & (1 << j) != 0 {
                    continue;
                }
                let v = values[a];
                if v == self.t {
                    fits = false;
                    break;
                }
                if store.is_ground(v) {
                    continue;
                }
                let boolean = checks.iter().any(|c| {
                    matches!(c, Check::OneOf(x, list) if *x == v
                        && list.iter().all(|l| *l == self.t || *l == self.f))
                });
                extra.push(if boolean {
                    Check::Equal(v, self.f)
                } else {
                    Check::NotEqual(v, self.t)
                });
            }
            if fits {
                out.push((mask, extra));
            }
        }
        // A template the checks do not keep from making a pair both T.
        let both = {
            let c = store.tuple_ctor(2);
            store.app(c, &[self.t, self.t])
        };
        let guarded = |store: &mut TermStore, x: TermId, y: TermId| -> bool {
            if (store.is_ground(x) && x != self.t) || (store.is_ground(y) && y != self.t) {
                return true;
            }
            let c = store.tuple_ctor(2);
            let (xy, yx) = (store.app(c, &[x, y]), store.app(c, &[y, x]));
            checks.iter().any(
                |ch| matches!(ch, Check::NotEqual(p, q) if (*p == xy || *p == yx) && *q == both),
            )
        };
        let open = self.pairs.iter().any(|&(x, y)| {
            let (vx, vy) = (values[self.tracked[x]], values[self.tracked[y]]);
            !guarded(store, vx, vy)
        });
        if open {
            out.push((self.full(), Vec::new()));
        }
        out
    }
}

/// The maximal independent sets of `pairs` over `m` attributes, ascending.
fn maximal_sets(m: usize, pairs: &[(usize, usize)]) -> Vec<u32> {
    let independent = |mask: u32| {
        pairs
            .iter()
            .all(|&(x, y)| mask & (1 << x) == 0 || mask & (1 << y) == 0)
    };
    (0..1u32 << m)
        .filter(|&mask| independent(mask))
        .filter(|&mask| (0..m).all(|j| mask & (1 << j) != 0 || !independent(mask | (1 << j))))
        .collect()
}

/// Builds the lifetime model of a program (see the module doc).
pub fn build(program: &Program) -> Result<LifetimeModel, NotApplicable> {
    let model = program.objects.as_ref().ok_or(NotApplicable::NoObjects)?;
    let exclusive = exclusive_pairs(model);
    if exclusive.is_empty() {
        return Err(NotApplicable::NoExclusivePair);
    }
    let mut tracked: Vec<usize> = exclusive.iter().flat_map(|&(a, b)| [a, b]).collect();
    tracked.sort_unstable();
    tracked.dedup();
    if tracked.len() > MAX_TRACKED {
        return Err(NotApplicable::TooLarge(format!(
            "{} attributes in conflicting sticky pairs (at most {MAX_TRACKED})",
            tracked.len()
        )));
    }
    let index = |a: usize| tracked.iter().position(|&x| x == a).unwrap_or(0);
    let pairs: Vec<(usize, usize)> = exclusive
        .iter()
        .map(|&(a, b)| (index(a), index(b)))
        .collect();
    let shape = Shape {
        handle: model.handle,
        n: model.names.len(),
        t: model.t,
        f: model.f,
        maximal: maximal_sets(tracked.len(), &pairs),
        tracked,
        pairs,
    };
    let mut base = program.clone();
    base.objects = None;
    let store = &mut base.store;
    // The rules, each lifted (setters) or copied per choice (creators).
    let mut rules: Vec<Rule> = Vec::new();
    for rule in &program.rules {
        let shape_error = |what: String| {
            NotApplicable::Shape(format!(
                "{} holds a handle {what}, which the lifetime model does not cover",
                rule.name
            ))
        };
        if rule.kind == RuleKind::Deduction {
            let touches = rule
                .inputs
                .iter()
                .chain(&rule.outputs)
                .any(|t| shape.mentions(store, *t));
            if touches {
                return Err(shape_error("in a deduction".into()));
            }
            rules.push(rule.clone());
            continue;
        }
        let checks_touch = rule.checks.iter().any(|c| match c {
            Check::Equal(x, y) | Check::NotEqual(x, y) => {
                shape.mentions(store, *x) || shape.mentions(store, *y)
            }
            Check::OneOf(x, list) => {
                shape.mentions(store, *x) || list.iter().any(|l| shape.mentions(store, *l))
            }
        });
        if checks_touch {
            return Err(shape_error("in a check".into()));
        }
        let mut lifted = rule.clone();
        let m = shape.tracked.len();
        // Inputs: lifetime positions open (fresh variables).
        let mut input_life: Vec<(Vec<TermId>, Vec<TermId>)> = Vec::new();
        for (i, &p) in rule.inputs.iter().enumerate() {
            match shape.place(store, p) {
                Some(Place::Plain) => {}
                Some(Place::Handle(key, values)) => {
                    let life: Vec<TermId> = (0..m)
                        .map(|j| {
                            let v = lifted.var_names.len() as u32;
                            lifted.var_names.push(format!("_life{}_{}", i + 1, j + 1));
                            store.var(v)
                        })
                        .collect();
                    lifted.inputs[i] = shape.handle_with(store, key, &values, &life);
                    input_life.push((values, life));
                }
                None => return Err(shape_error(format!("in input {}", i + 1))),
            }
        }
        let setter = model.setters.contains(&rule.name);
        if setter {
            let ([(old, life)], [out]) = (input_life.as_slice(), rule.outputs.as_slice()) else {
                return Err(shape_error(
                    "in a `sets` function of an unexpected form".into(),
                ));
            };
            let Some(Place::Handle(key, values)) = shape.place(store, *out) else {
                return Err(shape_error("in the output of a `sets` function".into()));
            };
            for (j, &a) in shape.tracked.iter().enumerate() {
                let v = values[a];
                if v == shape.t {
                    lifted.checks.push(Check::Equal(life[j], shape.t));
                } else if v != shape.f && v != old[a] {
                    return Err(shape_error(
                        "in a `sets` function of an unexpected form".into(),
                    ));
                }
            }
            lifted.outputs[0] = shape.handle_with(store, key, &values, life);
            rules.push(lifted);
            continue;
        }
        // Outputs: one copy per choice for each object created.
        let mut copies: Vec<Rule> = vec![lifted];
        for (o, &t) in rule.outputs.iter().enumerate() {
            match shape.place(store, t) {
                Some(Place::Plain) => {}
                Some(Place::Handle(key, values)) => {
                    let choices = shape.output_choices(store, &values, &rule.checks);
                    if copies.len() * choices.len() > MAX_COPIES {
                        return Err(NotApplicable::TooLarge(format!(
                            "{} creates objects with more than {MAX_COPIES} choices of lifetime",
                            rule.name
                        )));
                    }
                    let mut next = Vec::new();
                    for copy in &copies {
                        for (mask, extra) in &choices {
                            let mut c = copy.clone();
                            let life = shape.life_of(*mask);
                            c.outputs[o] = shape.handle_with(store, key, &values, &life);
                            c.checks.extend(extra.iter().cloned());
                            next.push(c);
                        }
                    }
                    copies = next;
                }
                None => return Err(shape_error(format!("in output {}", o + 1))),
            }
        }
        rules.extend(copies);
    }
    for s in &program.secrets {
        if shape.mentions(store, s.term) {
            return Err(NotApplicable::Shape(format!(
                "secret {} holds a handle, which the lifetime model does not cover",
                s.label
            )));
        }
    }
    // The initial objects and their choices.
    let mut objects: Vec<(usize, TermId, Vec<TermId>, Vec<u32>)> = Vec::new();
    for (i, &t) in program.knowledge.iter().enumerate() {
        match shape.place(store, t) {
            Some(Place::Plain) => {}
            Some(Place::Handle(key, values)) => {
                let choices = shape.initial_choices(&values);
                objects.push((i, key, values, choices));
            }
            None => {
                return Err(NotApplicable::Shape(
                    "the initial knowledge holds a handle inside another term, which the lifetime model does not cover"
                        .into(),
                ))
            }
        }
    }
    let count = objects
        .iter()
        .try_fold(1usize, |n, o| n.checked_mul(o.3.len().max(1)))
        .filter(|n| *n <= MAX_CASES);
    let Some(count) = count else {
        return Err(NotApplicable::TooLarge(format!(
            "the initial objects' lifetimes give more than {MAX_CASES} cases"
        )));
    };
    base.rules = rules;
    let mut cases = Vec::with_capacity(count);
    for c in 0..count {
        let mut case = base.clone();
        let mut rest = c;
        for (i, key, values, choices) in &objects {
            let mask = choices[rest % choices.len()];
            rest /= choices.len();
            let life = shape.life_of(mask);
            case.knowledge[*i] = shape.handle_with(&mut case.store, *key, values, &life);
        }
        cases.push(case);
    }
    let pairs = exclusive
        .iter()
        .map(|&(a, b)| (model.names[a].clone(), model.names[b].clone()))
        .collect();
    Ok(LifetimeModel { pairs, cases })
}

/// What the lifetime model established about one goal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GoalResult {
    /// Not derivable in any case, each a proof.
    Proved,
    /// Derivable in this case (1-based).
    Derivable(usize),
    /// Not derivable, but some case only up to bounds (not a proof).
    UpTo,
    /// A limit of the run stopped it first.
    Stopped,
}

/// What the lifetime model established about the goals asked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Established {
    /// The exclusive pairs, by name.
    pub pairs: Vec<(String, String)>,
    /// Cases run (or to run, when stopped).
    pub cases: usize,
    /// Per goal, in the order asked.
    pub goals: Vec<GoalResult>,
}

/// Checks `goals` in every case of the lifetime model of `program`: each
/// case is saturated, and proof mode closes what bounds cut. A goal is
/// [`GoalResult::Proved`] only when every case proves it out of reach.
pub fn establish(
    program: &Program,
    goals: &[TermId],
    settings: Settings,
    budget: &Budget,
) -> Result<Established, NotApplicable> {
    let model = build(program)?;
    let mut results: Vec<Option<GoalResult>> = vec![None; goals.len()];
    for (c, case) in model.cases.iter().enumerate() {
        let open: Vec<usize> = (0..goals.len()).filter(|i| results[*i].is_none()).collect();
        if open.is_empty() {
            break;
        }
        if budget.exceeded().is_some() {
            for &i in &open {
                results[i] = Some(GoalResult::Stopped);
            }
            break;
        }
        let mut p = case.clone();
        let attacker = crate::analysis::verdict::attacker_term(&mut p);
        let compiled = compile(&mut p, attacker);
        let asked: Vec<TermId> = open.iter().map(|i| goals[*i]).collect();
        let sat = saturate(
            &mut p,
            &compiled.plans,
            &asked,
            settings.bounds,
            budget.limits_left(),
        );
        if sat.stop != StopReason::Saturated {
            for &i in &open {
                results[i] = Some(GoalResult::Stopped);
            }
            break;
        }
        let cut = !sat.cuts.is_empty() || !compiled.truncated.is_empty();
        let mut unproved: Vec<usize> = Vec::new();
        for &i in &open {
            if sat.derivable.contains(&goals[i]) {
                results[i] = Some(GoalResult::Derivable(c + 1));
            } else if cut {
                unproved.push(i);
            }
        }
        if unproved.is_empty() {
            continue;
        }
        let run =
            crate::analysis::prove::prove_within(&mut p, settings.bounds, settings.limits, budget);
        let terms: Vec<TermId> = unproved.iter().map(|i| goals[*i]).collect();
        let stopped = run.stop != StopReason::Saturated || budget.exceeded().is_some();
        let found = if stopped {
            vec![true; terms.len()]
        } else {
            crate::analysis::prove::derivable_all(&mut p, &run, &terms)
        };
        for (&i, derivable) in unproved.iter().zip(found) {
            if stopped {
                results[i] = Some(GoalResult::Stopped);
            } else if !run.is_exact() || derivable {
                results[i] = Some(GoalResult::UpTo);
            }
        }
    }
    Ok(Established {
        pairs: model.pairs,
        cases: model.cases.len(),
        goals: results
            .into_iter()
            .map(|r| r.unwrap_or(GoalResult::Proved))
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maximal_sets_of_one_pair_and_of_a_path() {
        assert_eq!(maximal_sets(2, &[(0, 1)]), vec![0b01, 0b10]);
        // a - b - c: {a, c} and {b}.
        assert_eq!(maximal_sets(3, &[(0, 1), (1, 2)]), vec![0b010, 0b101]);
        // No pair: everything.
        assert_eq!(maximal_sets(2, &[]), vec![0b11]);
    }
}

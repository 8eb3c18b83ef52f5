//! Saturation: the only module that uses ascent.
//!
//! The ascent program below is fixed when apisat is compiled; the API's
//! functions and the attacker's deductions arrive at run time as data, as
//! [`Plan`]s. Each rule of the Datalog program is written above its code in
//! Datalog notation. Relations:
//!
//! * `known(t)`: the attacker has obtained ground term `t`.
//! * `known_ctor(c, t)`, `known_arg(c, i, a, t)`: indexes of `known` by head
//!   constructor, and by head constructor, argument position and argument.
//! * `pm(p, s, b)`: plan `p` has run its first `s` steps under binding `b`.
//! * `fired(r, b)`: rule `r` fires under binding `b`; its outputs are known.
//! * `need(t)`, `derivable(t)`, `build(t, i)`: derivability on demand: a
//!   needed term is derivable when obtained, or when it is built with a
//!   public constructor (or XOR) from derivable children (`build(t, i)`:
//!   the first `i` children are derivable).
//! * `choice(t)`, `xatom(t)`, `xchoice(t)`: the values the attacker may
//!   choose for a free input variable, and for one used under XOR.
//!
//! Bindings are interned to `u32` ids; terms are `TermId`s of the program's
//! store, which the rule bodies reach through a `RefCell` and never borrow
//! across a call.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeSet, HashSet};

use rustc_hash::{FxHashMap, FxHashSet};
use std::time::{Duration, Instant};

use ascent::ascent_run;
use std::sync::Arc;

use crate::analysis::gf2::{Basis, Vector};
use crate::analysis::matching::{empty_binding, instantiate, match_term, Binding, UNBOUND};
use crate::analysis::plan::{KeyPos, Plan, Step};
use crate::front::program::{Check, Program, RuleId};
use crate::front::term::{CtorId, Term, TermId, TermStore};

/// The bounds that keep saturation finite. Each one that cuts a rule
/// instance is reported; a verdict resting on a cut is "secure up to".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bounds {
    /// No term deeper than this enters the knowledge set.
    pub max_depth: u16,
    /// The attacker's free choices are obtained terms up to this depth.
    pub input_depth: u16,
    /// The attacker's XOR choices combine at most this many obtained names.
    pub xor_width: usize,
}

impl Default for Bounds {
    fn default() -> Self {
        Bounds {
            max_depth: 6,
            input_depth: 0,
            xor_width: 3,
        }
    }
}

/// Resource limits; reaching one stops saturation early.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Most facts (obtained terms plus partial matches).
    pub max_facts: usize,
    /// Longest saturation time.
    pub timeout: Option<Duration>,
    /// Most bytes saturation may hold (counted by [`crate::memory`] where
    /// the binary installs its allocator; not counted elsewhere).
    pub max_memory: Option<usize>,
}

/// The share of `--timeout` saturation may use; the rest is for the round
/// in flight and the report.
const TIME_SHARE: f64 = 0.85;

/// The default memory limit: two checks side by side fit a 24 GB machine
/// with room to spare.
pub const DEFAULT_MAX_MEMORY: usize = 4 << 30;

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_facts: 5_000_000,
            timeout: None,
            max_memory: Some(DEFAULT_MAX_MEMORY),
        }
    }
}

/// The share of `--timeout` by which the stages after saturation (trace
/// extraction, replay, proof mode) stop; the rest is for the report.
const LATE_SHARE: f64 = 0.9;

/// The clock and memory count of one whole check, which the stages after
/// saturation (trace extraction, replay, proof mode) consult, so that the
/// run, not only its saturation, holds `--timeout` and `--max-memory`.
///
/// Saturation keeps its own checks (it stops at 85% of the time limit and
/// at half the memory limit); the later stages stop at 90% of the time
/// limit since the check started, and once the bytes this thread allocated
/// since then pass half the memory limit.
#[derive(Clone, Copy, Debug)]
pub struct Budget {
    start: Instant,
    memory_base: isize,
    limits: Limits,
}

impl Budget {
    /// Starts the clock and the memory count now.
    pub fn start(limits: Limits) -> Self {
        Budget {
            start: Instant::now(),
            memory_base: crate::memory::thread_allocated(),
            limits,
        }
    }

    /// A budget that never runs out.
    pub fn unlimited() -> Self {
        Budget::start(Limits {
            max_facts: usize::MAX,
            timeout: None,
            max_memory: None,
        })
    }

    /// The limit reached, if one is: the time limit (at 90% of it) or the
    /// memory limit (at half of it).
    pub fn exceeded(&self) -> Option<StopReason> {
        if let Some(limit) = self.limits.timeout {
            if self.start.elapsed() > limit.mul_f64(LATE_SHARE) {
                return Some(StopReason::TimeLimit(limit));
            }
        }
        if let Some(limit) = self.limits.max_memory {
            let used = crate::memory::thread_allocated() - self.memory_base;
            if used > (limit / 2) as isize {
                return Some(StopReason::MemoryLimit(limit));
            }
        }
        None
    }

    /// The limits with the time left: for a saturation that starts now
    /// and must end when this budget's clock does.
    pub fn limits_left(&self) -> Limits {
        Limits {
            timeout: self.limits.timeout.map(|t| {
                t.saturating_sub(self.start.elapsed())
                    .max(Duration::from_millis(1))
            }),
            ..self.limits
        }
    }
}

/// Why saturation stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopReason {
    /// A fixpoint was reached.
    Saturated,
    /// The fact limit was reached.
    FactLimit(usize),
    /// The time limit was reached.
    TimeLimit(Duration),
    /// The memory limit (bytes) was reached.
    MemoryLimit(usize),
}

/// Which bound cut rule instances.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CutKind {
    /// An output deeper than `max_depth` was dropped.
    MaxDepth,
    /// A free input ranged over obtained terms up to `input_depth` only.
    InputChoice,
    /// An input under XOR ranged over obtained terms and XORs of at most
    /// `xor_width` obtained names only.
    XorChoice,
    /// A rule had more ways to build its inputs than the planner keeps.
    PlanBudget,
}

/// One bound that cut, with the rule it cut (if it was a rule's).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Cut {
    /// Which bound.
    pub kind: CutKind,
    /// The rule whose instances it cut.
    pub rule: Option<RuleId>,
}

/// One rule instance that fired.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Firing {
    /// The rule.
    pub rule: RuleId,
    /// The values of its variables (shared with the engine's table of
    /// bindings: one allocation per distinct binding).
    pub binding: Arc<[TermId]>,
}

/// The result of saturation.
#[derive(Clone, Debug)]
pub struct Saturation {
    /// Every obtained term.
    pub known: Vec<TermId>,
    /// Every term found derivable on demand (goals and function inputs).
    pub derivable: HashSet<TermId>,
    /// Every rule instance that fired.
    pub firings: Vec<Firing>,
    /// Every bound that cut, once per rule.
    pub cuts: BTreeSet<Cut>,
    /// Why it stopped.
    pub stop: StopReason,
    /// How long it took.
    pub elapsed: Duration,
    /// In a stage with a cost bound ([`Stage`]): the least bound that
    /// would have let a refused API call fire, if one was refused.
    pub refused_below: Option<u32>,
}

/// Run-time state the rule bodies consult.
struct Ctx<'a> {
    store: RefCell<TermStore>,
    plans: &'a [Plan],
    program: &'a Program,
    bounds: Bounds,
    limits: Limits,
    binds: RefCell<BindTable>,
    seen: RefCell<FxHashSet<TermId>>,
    cuts: RefCell<BTreeSet<Cut>>,
    stop: Cell<StopReason>,
    ticks: Cell<u32>,
    start: Instant,
    xor: RefCell<XorState>,
    memory_base: isize,
    /// A staged run ([`Stage`]): the stage, and per plan whether it is an
    /// API call's.
    confined: Option<(&'a Stage<'a>, Vec<bool>)>,
    /// The least cost bound that would have let a refused call fire.
    refused_below: Cell<Option<u32>>,
    /// Terms known when the run started (for the progress line).
    initial_known: usize,
    /// Per constructor, the argument-of-argument places some plan looks
    /// obtained terms up by ([`crate::analysis::plan::KeyPos::Sub`]), as codes:
    /// only these are indexed beside every argument.
    sub_keys: FxHashMap<CtorId, Vec<KeyPos>>,
    /// The places (constructor, key code) of steps with two lookup keys,
    /// and per key instance at such a place how many obtained terms it
    /// indexes, so that the step looks up by the smaller bucket.
    counted: FxHashSet<(CtorId, u16)>,
    bucket_sizes: RefCell<FxHashMap<(CtorId, u16, TermId), u32>>,
}

/// One stage of a staged saturation with cost bound `bound`: the API
/// calls of this run take their matched inputs and free choices only from
/// `before` (the knowledge after the previous stage), and fire only when
/// one call plus a lower bound of their inputs' costs is within `bound`;
/// deductions, and terms the attacker builds, are unconfined.
///
/// A term's cost is the number of API calls on its cheapest derivation
/// tree. `costs` holds the cheapest cost over the previous stage's rule
/// instances: exact where at most `bound - 1` (the previous stage holds
/// every tree that cheap), and otherwise at least `bound`; so
/// `min(costs[t], bound)` is a lower bound, and 0 for a term not listed.
/// By induction on `bound`, the stage then holds every derivation tree
/// with at most `bound` calls, with all of its rule instances.
pub struct Stage<'a> {
    /// The knowledge after the previous stage: the run starts from it.
    pub before: &'a FxHashSet<TermId>,
    /// The same terms, in a fixed order (the run's initial facts).
    pub start: &'a [TermId],
    /// Calls on the cheapest derivation tree found so far, per term.
    pub costs: &'a FxHashMap<TermId, u32>,
    /// The most calls a derivation tree in this stage may have.
    pub bound: u32,
}

/// The attacker's XOR reasoning during saturation (see [`crate::analysis::gf2`];
/// atoms are `TermId`s).
///
/// Generators of the span: every obtained XOR term, and every derivable
/// atom that is an operand of an obtained or needed XOR term. An atom that
/// is an operand of an obtained XOR term and falls in the span is obtained;
/// a needed XOR term is derivable once its vector falls in the span. Both
/// happen when a generator is added, so no event is missed: the span only
/// grows when a generator arrives.
#[derive(Default)]
struct XorState {
    basis: Basis,
    /// Operands of obtained XOR terms: the atoms XOR analysis may obtain.
    analysed: FxHashSet<TermId>,
    /// Needed XOR terms not yet found in the span, with their vectors.
    pending: Vec<(TermId, Vector)>,
}

/// The GF(2) vector of a term's XOR operands.
fn vector(operands: &[TermId]) -> Vector {
    Vector::from_atoms(operands.iter().map(|t| t.0))
}

/// What a change to the XOR span gives: an atom obtained, or a needed term
/// found derivable.
const XOR_OBTAINED: u8 = 0;
const XOR_DERIVABLE: u8 = 1;

/// Interned bindings.
#[derive(Default)]
struct BindTable {
    ids: FxHashMap<Arc<[TermId]>, u32>,
    values: Vec<Arc<[TermId]>>,
}

impl BindTable {
    fn intern(&mut self, b: Binding) -> u32 {
        let b: Arc<[TermId]> = b.into();
        if let Some(&id) = self.ids.get(&b) {
            return id;
        }
        let id = self.values.len() as u32;
        self.values.push(b.clone());
        self.ids.insert(b, id);
        id
    }
}

impl<'a> Ctx<'a> {
    fn step(&self, p: u32, s: u16) -> Option<&'a Step> {
        self.plans[p as usize].steps.get(s as usize)
    }

    fn binding(&self, b: u32) -> Binding {
        self.binds.borrow().values[b as usize].to_vec()
    }

    fn intern(&self, b: Binding) -> u32 {
        self.binds.borrow_mut().intern(b)
    }

    fn empty(&self, p: u32) -> u32 {
        let rule = self.plans[p as usize].rule;
        let n = self.program.rule(rule).var_names.len();
        self.intern(empty_binding(n))
    }

    /// False once a limit is reached; checks the clock every 64 calls.
    fn running(&self) -> bool {
        if self.stop.get() != StopReason::Saturated {
            return false;
        }
        let facts = self.seen.borrow().len() + self.binds.borrow().values.len();
        if facts > self.limits.max_facts {
            self.stop.set(StopReason::FactLimit(self.limits.max_facts));
            return false;
        }
        let t = self.ticks.get().wrapping_add(1);
        self.ticks.set(t);
        if t.is_multiple_of(64) {
            let partial = self.binds.borrow().values.len();
            // Known terms: the initial knowledge and the outputs so far.
            let known = self.initial_known + self.seen.borrow().len();
            crate::progress::PROGRESS.saturating(known, partial);
            if let Some(limit) = self.limits.timeout {
                // Stop at 85% of the limit: the round in flight still has
                // to finish and the report to be written, and the whole
                // run must end within the limit the user gave.
                if self.start.elapsed() > limit.mul_f64(TIME_SHARE) {
                    self.stop.set(StopReason::TimeLimit(limit));
                    return false;
                }
            }
            if let Some(limit) = self.limits.max_memory {
                // Half the limit: a hash table that doubles holds its old
                // and new arrays at once, and the round in flight finishes.
                let used = crate::memory::thread_allocated() - self.memory_base;
                if used > (limit / 2) as isize {
                    self.stop.set(StopReason::MemoryLimit(limit));
                    return false;
                }
            }
        }
        true
    }

    /// False once a limit stopped saturation: the rules then join nothing
    /// more, so the run ends within one more round of the engine.
    fn live(&self) -> bool {
        self.stop.get() == StopReason::Saturated
    }

    fn by_ctor(&self, p: u32, s: u16) -> Option<CtorId> {
        match self.step(p, s)? {
            Step::KnownByCtor { ctor, .. } => Some(*ctor),
            _ => None,
        }
    }

    fn by_arg(&self, p: u32, s: u16, b: u32) -> Option<(CtorId, u16, TermId)> {
        match self.step(p, s)? {
            Step::KnownByArg {
                ctor,
                pos,
                arg,
                alt,
                ..
            } => {
                let binding = self.binding(b);
                let mut store = self.store.borrow_mut();
                let a = instantiate(&mut store, *arg, &binding)?;
                let Some((alt_pos, alt_arg)) = alt else {
                    return Some((*ctor, pos.code(), a));
                };
                let alt_a = instantiate(&mut store, *alt_arg, &binding)?;
                let sizes = self.bucket_sizes.borrow();
                let size =
                    |code: u16, key: TermId| sizes.get(&(*ctor, code, key)).copied().unwrap_or(0);
                if size(alt_pos.code(), alt_a) < size(pos.code(), a) {
                    Some((*ctor, alt_pos.code(), alt_a))
                } else {
                    Some((*ctor, pos.code(), a))
                }
            }
            _ => None,
        }
    }

    /// Whether plan `p` may take `t` as a matched input or a free choice:
    /// always, except for an API call's plan in a staged run, which takes
    /// only terms known before the stage.
    fn may_take(&self, p: u32, t: TermId) -> bool {
        match &self.confined {
            Some((stage, is_call)) => !is_call[p as usize] || stage.before.contains(&t),
            None => true,
        }
    }

    /// Whether an instance of plan `p` under binding `b` may fire: always,
    /// except for an API call in a staged run, which must fit the stage's
    /// cost bound (see [`Stage`]).
    fn within_cost(&self, p: u32, b: u32) -> bool {
        let Some((stage, is_call)) = &self.confined else {
            return true;
        };
        if !is_call[p as usize] {
            return true;
        }
        let rule = self.program.rule(self.plans[p as usize].rule);
        let binding = self.binding(b);
        let mut cost: u32 = 1;
        let mut store = self.store.borrow_mut();
        for &i in &rule.inputs {
            if let Some(t) = instantiate(&mut store, i, &binding) {
                let c = stage.costs.get(&t).copied().unwrap_or(0).min(stage.bound);
                cost = cost.saturating_add(c);
            }
        }
        if cost <= stage.bound {
            return true;
        }
        let least = self.refused_below.get().map_or(cost, |l| l.min(cost));
        self.refused_below.set(Some(least));
        false
    }

    /// Matches the step's pattern against an obtained term.
    fn match_known(&self, p: u32, s: u16, b: u32, t: TermId) -> Vec<u32> {
        if !self.running() || !self.may_take(p, t) {
            return Vec::new();
        }
        let pattern = match self.step(p, s) {
            Some(Step::KnownByCtor { pattern, .. }) | Some(Step::KnownByArg { pattern, .. }) => {
                *pattern
            }
            _ => return Vec::new(),
        };
        let binding = self.binding(b);
        let found = match_term(&mut self.store.borrow_mut(), pattern, t, &binding);
        found.into_iter().map(|nb| self.intern(nb)).collect()
    }

    fn derivable_goal(&self, p: u32, s: u16, b: u32) -> Option<TermId> {
        match self.step(p, s)? {
            Step::Derivable { pattern } => {
                let binding = self.binding(b);
                instantiate(&mut self.store.borrow_mut(), *pattern, &binding)
            }
            _ => None,
        }
    }

    fn choose_var(&self, p: u32, s: u16) -> Option<u32> {
        match self.step(p, s)? {
            Step::Choose { var } => Some(*var),
            _ => None,
        }
    }

    fn choose_xor(&self, p: u32, s: u16) -> Option<(u32, Option<TermId>)> {
        match self.step(p, s)? {
            Step::ChooseXor { var, offset } => Some((*var, *offset)),
            _ => None,
        }
    }

    fn bind(&self, b: u32, var: u32, t: TermId) -> Option<u32> {
        if !self.running() {
            return None;
        }
        let mut binding = self.binding(b);
        binding[var as usize] = t;
        Some(self.intern(binding))
    }

    fn bind_xor(&self, b: u32, var: u32, offset: Option<TermId>, t: TermId) -> Option<u32> {
        if !self.running() {
            return None;
        }
        let mut binding = self.binding(b);
        let value = match offset {
            Some(o) => {
                let mut store = self.store.borrow_mut();
                let o = instantiate(&mut store, o, &binding)?;
                store.xor(&[t, o])
            }
            None => t,
        };
        binding[var as usize] = value;
        Some(self.intern(binding))
    }

    /// Steps decided in Rust alone: enumerations, any-value and checks.
    fn local_step(&self, p: u32, s: u16, b: u32) -> Vec<u32> {
        let Some(step) = self.step(p, s) else {
            return Vec::new();
        };
        match step {
            Step::Enumerate { var, options } => {
                let binding = self.binding(b);
                options
                    .iter()
                    .map(|o| {
                        let mut nb = binding.clone();
                        nb[*var as usize] = *o;
                        self.intern(nb)
                    })
                    .collect()
            }
            Step::AnyValue { var, value } => {
                let mut nb = self.binding(b);
                nb[*var as usize] = *value;
                vec![self.intern(nb)]
            }
            Step::Check(check) => {
                let binding = self.binding(b);
                if holds(&mut self.store.borrow_mut(), check, &binding) {
                    vec![b]
                } else {
                    Vec::new()
                }
            }
            _ => Vec::new(),
        }
    }

    fn is_complete(&self, p: u32, s: u16) -> bool {
        s as usize == self.plans[p as usize].steps.len()
    }

    fn rule_of(&self, p: u32) -> u32 {
        self.plans[p as usize].rule.0
    }

    /// The outputs of a firing, minus those past the depth bound.
    fn outputs(&self, r: u32, b: u32) -> Vec<TermId> {
        if !self.running() {
            return Vec::new();
        }
        let rule = self.program.rule(RuleId(r));
        let binding = self.binding(b);
        let mut out = Vec::with_capacity(rule.outputs.len());
        let mut store = self.store.borrow_mut();
        for &o in &rule.outputs {
            let Some(t) = instantiate(&mut store, o, &binding) else {
                continue;
            };
            if store.depth(t) > self.bounds.max_depth {
                self.cuts.borrow_mut().insert(Cut {
                    kind: CutKind::MaxDepth,
                    rule: Some(RuleId(r)),
                });
                continue;
            }
            out.push(t);
        }
        drop(store);
        let mut seen = self.seen.borrow_mut();
        for t in &out {
            seen.insert(*t);
        }
        out
    }

    fn head(&self, t: TermId) -> Option<CtorId> {
        match self.store.borrow().get(t) {
            Term::App(c, _) => Some(*c),
            _ => None,
        }
    }

    /// The index keys of an obtained term: every argument (positions past
    /// 255 are never keys), and the argument-of-argument places plans look
    /// up by ([`Ctx::sub_keys`]).
    fn args(&self, t: TermId) -> Vec<(u16, TermId)> {
        let store = self.store.borrow();
        let Term::App(c, args) = store.get(t) else {
            return Vec::new();
        };
        let mut keys: Vec<(u16, TermId)> = args
            .iter()
            .take(256)
            .enumerate()
            .map(|(i, a)| (i as u16, *a))
            .collect();
        for &pos in self.sub_keys.get(c).map(Vec::as_slice).unwrap_or(&[]) {
            let KeyPos::Sub(i, j) = pos else { continue };
            if let Some(Term::App(_, sub)) = args.get(usize::from(i)).map(|a| store.get(*a)) {
                if let Some(b) = sub.get(usize::from(j)) {
                    keys.push((pos.code(), *b));
                }
            }
        }
        if !self.counted.is_empty() {
            let mut sizes = self.bucket_sizes.borrow_mut();
            for &(code, key) in &keys {
                if self.counted.contains(&(*c, code)) {
                    *sizes.entry((*c, code, key)).or_default() += 1;
                }
            }
        }
        keys
    }

    fn depth(&self, t: TermId) -> u16 {
        self.store.borrow().depth(t)
    }

    /// Obtained names: what the attacker's XOR choices combine.
    fn is_xor_atom(&self, t: TermId) -> bool {
        matches!(self.store.borrow().get(t), Term::Name(_))
    }

    fn xor_within(&self, a: TermId, b: TermId) -> Option<TermId> {
        if !self.running() {
            return None;
        }
        let mut store = self.store.borrow_mut();
        let x = store.xor(&[a, b]);
        (store.xor_operands(x).len() <= self.bounds.xor_width).then_some(x)
    }

    /// The children a needed term is built from, if the attacker can build
    /// it with a public constructor. (A needed XOR term's operands are
    /// needed through `xoperand`.)
    fn build_children(&self, t: TermId) -> Vec<TermId> {
        let store = self.store.borrow();
        match store.get(t) {
            Term::App(c, args) if store.ctor(*c).public => args.to_vec(),
            _ => Vec::new(),
        }
    }

    /// True when the attacker builds `t` from its children: a public
    /// constructor's application, or `0`. XOR terms are decided by the span.
    fn buildable(&self, t: TermId) -> bool {
        let store = self.store.borrow();
        match store.get(t) {
            Term::App(c, _) => store.ctor(*c).public,
            Term::Zero => true,
            _ => false,
        }
    }

    /// The operands of an XOR term (nothing for any other term).
    fn xor_operands(&self, t: TermId) -> Vec<TermId> {
        match self.store.borrow().get(t) {
            Term::Xor(args) => args.to_vec(),
            _ => Vec::new(),
        }
    }

    /// Adds the vector of a new generator to the span; returns what that
    /// gives. `obtained_xor` is an obtained XOR term (its operands become
    /// candidates for XOR analysis); otherwise `t` is a derivable atom.
    fn xor_add(&self, t: TermId, obtained_xor: bool) -> Vec<(u8, TermId)> {
        if !self.running() {
            return Vec::new();
        }
        let operands = if obtained_xor {
            self.xor_operands(t)
        } else {
            vec![t]
        };
        if operands.is_empty() {
            return Vec::new();
        }
        let mut xor = self.xor.borrow_mut();
        let xor = &mut *xor;
        let mut out = Vec::new();
        if obtained_xor {
            // An operand already in the span is obtained now.
            for &a in &operands {
                if xor.analysed.insert(a) && xor.basis.contains_atom(a.0) {
                    out.push((XOR_OBTAINED, a));
                }
            }
        }
        let (grew, units) = xor.basis.insert_with_units(&vector(&operands));
        for a in units.into_iter().map(TermId) {
            if xor.analysed.contains(&a) {
                out.push((XOR_OBTAINED, a));
            }
        }
        if grew.is_some() && !xor.pending.is_empty() {
            let basis = &xor.basis;
            xor.pending.retain(|(need, v)| {
                if basis.contains(v) {
                    out.push((XOR_DERIVABLE, *need));
                    false
                } else {
                    true
                }
            });
        }
        let mut seen = self.seen.borrow_mut();
        for (kind, a) in &out {
            if *kind == XOR_OBTAINED {
                seen.insert(*a);
            }
        }
        out
    }

    /// Registers a needed XOR term; true when it is in the span already.
    fn xor_need(&self, t: TermId) -> bool {
        let operands = self.xor_operands(t);
        if operands.is_empty() {
            return false;
        }
        let mut xor = self.xor.borrow_mut();
        let v = vector(&operands);
        if xor.basis.contains(&v) {
            return true;
        }
        xor.pending.push((t, v));
        false
    }

    fn child(&self, t: TermId, i: u16) -> Option<TermId> {
        match self.store.borrow().get(t) {
            Term::App(_, args) | Term::Xor(args) => args.get(i as usize).copied(),
            _ => None,
        }
    }

    fn built(&self, t: TermId, i: u16) -> bool {
        match self.store.borrow().get(t) {
            Term::App(_, args) | Term::Xor(args) => args.len() == i as usize,
            Term::Zero => true,
            _ => false,
        }
    }
}

/// True when the check holds under the binding. Checks on terms holding a
/// fresh (abstracted) name are relaxed: `!=` always holds there, since two
/// concrete instances of one abstract name may differ.
pub fn holds(store: &mut TermStore, check: &Check, binding: &[TermId]) -> bool {
    let mut inst = |t: TermId| instantiate(store, t, binding);
    match check {
        Check::Equal(a, b) => inst(*a).is_some() && inst(*a) == inst(*b),
        Check::NotEqual(a, b) => {
            let (Some(x), Some(y)) = (inst(*a), inst(*b)) else {
                return false;
            };
            x != y || mentions_fresh(store, x)
        }
        Check::OneOf(a, list) => {
            let Some(x) = inst(*a) else { return false };
            list.iter().any(|t| inst(*t) == Some(x))
        }
    }
}

/// True when the term contains a fresh name.
pub fn mentions_fresh(store: &TermStore, t: TermId) -> bool {
    match store.get(t) {
        Term::Name(n) => store.name(*n).kind == crate::front::term::NameKind::Fresh,
        Term::App(_, args) | Term::Xor(args) => args.iter().any(|a| mentions_fresh(store, *a)),
        _ => false,
    }
}

/// Saturates the attacker's knowledge under the program's rules.
///
/// `goals` are seeded as needed, so that whether each is derivable is
/// decided by the end. Terms interned during saturation are added to the
/// program's store.
pub fn saturate(
    program: &mut Program,
    plans: &[Plan],
    goals: &[TermId],
    bounds: Bounds,
    limits: Limits,
) -> Saturation {
    saturate_stage(program, plans, goals, bounds, limits, None)
}

/// The places of the steps with two lookup keys, both keys' (see
/// [`Ctx::counted`]).
fn counted_places(plans: &[Plan]) -> FxHashSet<(CtorId, u16)> {
    let mut places = FxHashSet::default();
    for step in plans.iter().flat_map(|p| &p.steps) {
        if let Step::KnownByArg {
            ctor,
            pos,
            alt: Some((alt, _)),
            ..
        } = step
        {
            places.insert((*ctor, pos.code()));
            places.insert((*ctor, alt.code()));
        }
    }
    places
}

/// The argument-of-argument lookup places the plans use, per constructor.
fn sub_keys(plans: &[Plan]) -> FxHashMap<CtorId, Vec<KeyPos>> {
    let mut keys: FxHashMap<CtorId, Vec<KeyPos>> = FxHashMap::default();
    for step in plans.iter().flat_map(|p| &p.steps) {
        let Step::KnownByArg { ctor, pos, alt, .. } = step else {
            continue;
        };
        for pos in std::iter::once(*pos).chain(alt.map(|(p, _)| p)) {
            if matches!(pos, KeyPos::Sub(..)) {
                let entry = keys.entry(*ctor).or_default();
                if !entry.contains(&pos) {
                    entry.push(pos);
                }
            }
        }
    }
    keys
}

/// [`saturate`], or one stage of a staged saturation (see [`Stage`]): the
/// run then starts from the stage's knowledge, and its firings are every
/// rule instance over that knowledge and what the stage adds.
pub fn saturate_stage(
    program: &mut Program,
    plans: &[Plan],
    goals: &[TermId],
    bounds: Bounds,
    limits: Limits,
    stage: Option<&Stage>,
) -> Saturation {
    let start = Instant::now();
    let confined = stage.map(|st| {
        let is_call = plans
            .iter()
            .map(|p| program.rule(p.rule).kind == crate::front::program::RuleKind::Call)
            .collect();
        (st, is_call)
    });
    let initial_terms: &[TermId] = match stage {
        Some(st) => st.start,
        None => &program.knowledge,
    };
    let initial: Vec<(TermId,)> = initial_terms.iter().map(|t| (*t,)).collect();
    let initial_known = initial.len();
    let store = std::mem::take(&mut program.store);
    let snapshot = program.clone();
    let ctx = Ctx {
        store: RefCell::new(store),
        plans,
        program: &snapshot,
        bounds,
        limits,
        binds: RefCell::new(BindTable::default()),
        seen: RefCell::new(FxHashSet::default()),
        cuts: RefCell::new(BTreeSet::new()),
        stop: Cell::new(StopReason::Saturated),
        ticks: Cell::new(0),
        start,
        xor: RefCell::new(XorState::default()),
        memory_base: crate::memory::thread_allocated(),
        confined,
        refused_below: Cell::new(None),
        initial_known,
        sub_keys: sub_keys(plans),
        counted: counted_places(plans),
        bucket_sizes: RefCell::new(FxHashMap::default()),
    };
    let starts: Vec<(u32,)> = (0..plans.len() as u32).map(|p| (p,)).collect();
    let goal_facts: Vec<(TermId,)> = goals.iter().map(|t| (*t,)).collect();
    let input_depth = bounds.input_depth;
    let uses_xor = program.uses_xor;
    // XOR choices (up to xor-width obtained names) only feed ChooseXor steps.
    let chooses_xor = plans
        .iter()
        .any(|p| p.steps.iter().any(|s| matches!(s, Step::ChooseXor { .. })));
    let ctx = &ctx;

    let result = ascent_run! {
        relation start(u32) = starts;
        relation known(TermId) = initial;
        relation goal(TermId) = goal_facts;
        relation pm(u32, u16, u32);
        relation fired(u32, u32);
        relation known_ctor(CtorId, TermId);
        relation known_arg(CtorId, u16, TermId, TermId);
        relation choice(TermId);
        relation xatom(TermId);
        relation xchoice(TermId);
        relation need(TermId);
        relation derivable(TermId);
        relation build(TermId, u16);
        relation xoperand(TermId);
        relation xdemand(bool);
        relation xnew(u8, TermId);

        // pm(p, 0, {}) :- start(p).
        pm(p, 0, e) <-- start(p), let e = ctx.empty(*p);

        // pm(p, s+1, b') :- pm(p, s, b), if ctx.live(), step s of p looks up f(..), known_ctor(f, t), b' = match(b, t).
        pm(p, s + 1, b2) <--
            pm(p, s, b), if ctx.live(), if !ctx.is_complete(*p, *s + 1), if let Some(c) = ctx.by_ctor(*p, *s), known_ctor(c, t),
            for b2 in ctx.match_known(*p, *s, *b, *t);
        // ... or, when that completes the plan, the instance fired.
        fired(ctx.rule_of(*p), b2) <--
            pm(p, s, b), if ctx.live(), if ctx.is_complete(*p, *s + 1), if let Some(c) = ctx.by_ctor(*p, *s), known_ctor(c, t),
            for b2 in ctx.match_known(*p, *s, *b, *t), if ctx.within_cost(*p, b2);

        // pm(p, s+1, b') :- pm(p, s, b), if ctx.live(), step s looks up f(.., a@i, ..), known_arg(f, i, a, t), b' = match(b, t).
        pm(p, s + 1, b2) <--
            pm(p, s, b), if ctx.live(), if !ctx.is_complete(*p, *s + 1), if let Some((c, i, a)) = ctx.by_arg(*p, *s, *b), known_arg(c, i, a, t),
            for b2 in ctx.match_known(*p, *s, *b, *t);
        // ... or, when that completes the plan, the instance fired.
        fired(ctx.rule_of(*p), b2) <--
            pm(p, s, b), if ctx.live(), if ctx.is_complete(*p, *s + 1), if let Some((c, i, a)) = ctx.by_arg(*p, *s, *b), known_arg(c, i, a, t),
            for b2 in ctx.match_known(*p, *s, *b, *t), if ctx.within_cost(*p, b2);

        // need(t) :- pm(p, s, b), if ctx.live(), step s needs the instance t derivable.
        need(t) <-- pm(p, s, b), if ctx.live(), if let Some(t) = ctx.derivable_goal(*p, *s, *b);

        // pm(p, s+1, b) :- pm(p, s, b), if ctx.live(), step s needs t derivable, derivable(t).
        pm(p, s + 1, b) <--
            pm(p, s, b), if ctx.live(), if !ctx.is_complete(*p, *s + 1), if let Some(t) = ctx.derivable_goal(*p, *s, *b), derivable(t);
        // ... or, when that completes the plan, the instance fired.
        fired(ctx.rule_of(*p), b) <--
            pm(p, s, b), if ctx.live(), if ctx.is_complete(*p, *s + 1), if let Some(t) = ctx.derivable_goal(*p, *s, *b), derivable(t), if ctx.within_cost(*p, *b);

        // pm(p, s+1, b[v := t]) :- pm(p, s, b), if ctx.live(), step s chooses v, choice(t).
        pm(p, s + 1, b2) <--
            pm(p, s, b), if ctx.live(), if !ctx.is_complete(*p, *s + 1), if let Some(v) = ctx.choose_var(*p, *s), choice(t), if ctx.may_take(*p, *t),
            if let Some(b2) = ctx.bind(*b, v, *t);
        // ... or, when that completes the plan, the instance fired.
        fired(ctx.rule_of(*p), b2) <--
            pm(p, s, b), if ctx.live(), if ctx.is_complete(*p, *s + 1), if let Some(v) = ctx.choose_var(*p, *s), choice(t), if ctx.may_take(*p, *t),
            if let Some(b2) = ctx.bind(*b, v, *t), if ctx.within_cost(*p, b2);

        // pm(p, s+1, b[v := t ⊕ offset]) :- pm(p, s, b), if ctx.live(), step s chooses v under XOR, choice(t) or xchoice(t).
        pm(p, s + 1, b2) <--
            pm(p, s, b), if ctx.live(), if !ctx.is_complete(*p, *s + 1), if let Some((v, off)) = ctx.choose_xor(*p, *s), choice(t), if ctx.may_take(*p, *t),
            if let Some(b2) = ctx.bind_xor(*b, v, off, *t);
        // ... or, when that completes the plan, the instance fired.
        fired(ctx.rule_of(*p), b2) <--
            pm(p, s, b), if ctx.live(), if ctx.is_complete(*p, *s + 1), if let Some((v, off)) = ctx.choose_xor(*p, *s), choice(t), if ctx.may_take(*p, *t),
            if let Some(b2) = ctx.bind_xor(*b, v, off, *t), if ctx.within_cost(*p, b2);
        pm(p, s + 1, b2) <--
            pm(p, s, b), if ctx.live(), if !ctx.is_complete(*p, *s + 1), if let Some((v, off)) = ctx.choose_xor(*p, *s), xchoice(t),
            if let Some(b2) = ctx.bind_xor(*b, v, off, *t);
        // ... or, when that completes the plan, the instance fired.
        fired(ctx.rule_of(*p), b2) <--
            pm(p, s, b), if ctx.live(), if ctx.is_complete(*p, *s + 1), if let Some((v, off)) = ctx.choose_xor(*p, *s), xchoice(t),
            if let Some(b2) = ctx.bind_xor(*b, v, off, *t), if ctx.within_cost(*p, b2);

        // pm(p, s+1, b') :- pm(p, s, b), if ctx.live(), step s enumerates, picks any value, or checks.
        pm(p, s + 1, b2) <-- pm(p, s, b), if ctx.live(), if !ctx.is_complete(*p, *s + 1), for b2 in ctx.local_step(*p, *s, *b);
        // ... or, when that completes the plan, the instance fired.
        fired(ctx.rule_of(*p), b2) <-- pm(p, s, b), if ctx.live(), if ctx.is_complete(*p, *s + 1), for b2 in ctx.local_step(*p, *s, *b), if ctx.within_cost(*p, b2);

        // fired(r, b) :- pm(p, |p|, b), r = rule(p) (a plan of no steps).
        fired(r, b) <-- pm(p, s, b), if ctx.live(), if ctx.is_complete(*p, *s), let r = ctx.rule_of(*p), if ctx.within_cost(*p, *b);

        // known(o) :- fired(r, b), o in outputs(r)[b], depth(o) <= max_depth.
        known(o) <-- fired(r, b), if ctx.live(), for o in ctx.outputs(*r, *b);

        // Indexes of known terms.
        known_ctor(c, t) <-- known(t), if let Some(c) = ctx.head(*t);
        known_arg(c, i, a, t) <-- known(t), if let Some(c) = ctx.head(*t), for (i, a) in ctx.args(*t);

        // choice(t) :- known(t), depth(t) <= input_depth.
        choice(t) <-- known(t), if ctx.depth(*t) <= input_depth;
        // xchoice: XORs of up to xor_width obtained names.
        // Only once some plan reaches a ChooseXor step (the choices are many).
        xdemand(true) <-- pm(p, s, _b), if chooses_xor && ctx.choose_xor(*p, *s).is_some();
        xatom(t) <-- xdemand(_d), known(t), if ctx.is_xor_atom(*t);
        xchoice(t) <-- xatom(t);
        xchoice(x) <-- xchoice(a), if ctx.live(), xatom(t), if let Some(x) = ctx.xor_within(*a, *t);

        // need(g) :- goal(g).
        need(t) <-- goal(t);
        // derivable(t) :- need(t), known(t).
        derivable(t) <-- need(t), known(t);
        // need(c) :- need(f(.., c, ..)), f public (or XOR).
        need(c) <-- need(t), for c in ctx.build_children(*t);
        // build(t, 0) :- need(t), t buildable.
        build(t, 0) <-- need(t), if ctx.buildable(*t);
        // build(t, i+1) :- build(t, i), derivable(child_i(t)).
        build(t, i + 1) <-- build(t, i), if let Some(c) = ctx.child(*t, *i), derivable(c);
        // derivable(t) :- build(t, |children(t)|).
        derivable(t) <-- build(t, i), if ctx.built(*t, *i);

        // XOR (see XorState). xoperand(a) :- known(t) or need(t), t an XOR, a an operand of t.
        xoperand(a) <-- known(t), if uses_xor, for a in ctx.xor_operands(*t);
        xoperand(a) <-- need(t), if uses_xor, for a in ctx.xor_operands(*t);
        need(a) <-- xoperand(a);
        // The span's generators: obtained XOR terms, derivable operands.
        xnew(k, a) <-- known(t), if uses_xor, for (k, a) in ctx.xor_add(*t, true);
        xnew(k, x) <-- xoperand(a), derivable(a), for (k, x) in ctx.xor_add(*a, false);
        // known(a) :- an operand a of an obtained XOR term lies in the span.
        known(a) <-- xnew(k, a), if *k == XOR_OBTAINED;
        // derivable(t) :- need(t), t an XOR term whose vector lies in the span.
        derivable(t) <-- xnew(k, t), if *k == XOR_DERIVABLE;
        derivable(t) <-- need(t), if uses_xor && ctx.xor_need(*t);
    };

    // Bounded choices that ran cut instances.
    let mut cuts = ctx.cuts.borrow().clone();
    for (p, s, _) in &result.pm {
        if let Some(step) = ctx.step(*p, *s) {
            let kind = match step {
                Step::Choose { .. } => CutKind::InputChoice,
                Step::ChooseXor { .. } => CutKind::XorChoice,
                _ => continue,
            };
            cuts.insert(Cut {
                kind,
                rule: Some(plans[*p as usize].rule),
            });
        }
    }
    let derivable: HashSet<TermId> = result.derivable.iter().map(|(t,)| *t).collect();
    let known: Vec<TermId> = result.known.iter().map(|(t,)| *t).collect();
    let binds = ctx.binds.take().values;
    let firings: Vec<Firing> = result
        .fired
        .iter()
        .map(|(r, b)| Firing {
            rule: RuleId(*r),
            binding: binds[*b as usize].clone(),
        })
        .collect();
    drop(binds);
    let store = ctx.store.replace(TermStore::new());
    program.store = store;
    debug_assert!(firings.iter().all(|f| !f.binding.contains(&UNBOUND)));
    Saturation {
        known,
        derivable,
        firings,
        cuts,
        stop: ctx.stop.get(),
        elapsed: start.elapsed(),
        refused_below: ctx.refused_below.get(),
    }
}

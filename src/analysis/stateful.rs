//! Bounded exhaustive search for attacks on a token with state.
//!
//! Saturation is monotone: a handle keeps every attribute set it ever had,
//! so an attack it finds may use one object in two states (set `decrypt`,
//! then `wrap`, on the same key, where the token's policy makes these
//! exclusive). When replay finds such a trace, this module searches for a
//! real one: breadth first over concrete token states, each state being
//! the token's objects (a key value and the current attribute values; the
//! attacker holds a handle to each, never the object itself), the terms the
//! attacker has obtained (closed under the deductions of the program) and
//! the fresh values generated so far. A call is one function applied to
//! objects and terms; a function with `sets` changes its object in place,
//! any other function's handle outputs are new objects.
//!
//! What the attacker passes for an argument that is not a handle: a term it
//! has obtained, or one it builds with public constructors from derivable
//! parts, the leaves it chooses freely being the names it knows (or the
//! values an `in [...]` check allows). This is the bounded search's
//! `--input-depth 0`; the search is exhaustive over these choices, so "no
//! attack within N calls" is exact for them. A search that exceeds its
//! budget of states says so and claims nothing.

use std::collections::{BTreeSet, HashMap, HashSet};

use crate::analysis::matching::{empty_binding, instantiate, match_term, Binding, UNBOUND};
use crate::front::program::{Check, ObjectModel, Program, Rule, RuleKind};
use crate::front::term::{NameKind, Term, TermId, TermStore};

/// The default bound on calls of the stateful search (`--state-calls`).
pub const DEFAULT_STATE_CALLS: usize = 8;

/// The most token states the search visits before it gives up.
pub const MAX_STATES: usize = 200_000;

/// One call of a stateful attack, printed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Call {
    /// The function called.
    pub function: String,
    /// Its arguments (handles as the object's state at the call).
    pub args: Vec<String>,
    /// Its results.
    pub results: Vec<String>,
}

/// What the stateful search established.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// A real attack on a token with state: the calls, in order.
    Attack(Vec<Call>),
    /// No attack within the bound on calls: every sequence was tried.
    NoneWithin(usize),
    /// The budget of states, or the run's time or memory limit, ran out
    /// first (at this many calls deep); nothing is claimed.
    GaveUp {
        /// The bound asked for.
        calls: usize,
        /// The depth fully searched.
        searched: usize,
        /// The run's limit that stopped it; `None` for the budget of states.
        limit: Option<crate::analysis::engine::StopReason>,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct State {
    /// (key, attributes) of each object, sorted.
    objects: Vec<(TermId, TermId)>,
    /// Terms obtained, closed under the deductions.
    known: BTreeSet<TermId>,
    /// Fresh values generated so far.
    fresh: u32,
}

struct Search<'a> {
    store: &'a mut TermStore,
    rules: &'a [Rule],
    model: &'a ObjectModel,
    calls: Vec<usize>,
    deductions: Vec<usize>,
    /// False once some argument's choices were cut at [`MAX_CHOICES`].
    complete: bool,
}

/// Searches for a stateful attack on `goal` of at most `max_calls` calls.
/// `None` when the program has no objects with attributes.
pub fn search(
    program: &mut Program,
    goal: TermId,
    max_calls: usize,
    budget: &crate::analysis::engine::Budget,
) -> Option<Outcome> {
    let model = program.objects.clone()?;
    let mut s = Search {
        store: &mut program.store,
        rules: &program.rules,
        model: &model,
        calls: Vec::new(),
        deductions: Vec::new(),
        complete: true,
    };
    for (i, r) in program.rules.iter().enumerate() {
        if r.kind == RuleKind::Call {
            s.calls.push(i);
        } else {
            s.deductions.push(i);
        }
    }
    let mut objects = Vec::new();
    let mut known = BTreeSet::new();
    for &t in &program.knowledge {
        match s.handle_parts(t) {
            Some(parts) => objects.push(parts),
            None => {
                known.insert(t);
            }
        }
    }
    objects.sort();
    let mut start = State {
        objects,
        known,
        fresh: 0,
    };
    s.close(&mut start.known);
    // Breadth first, parents kept to print the attack.
    let mut nodes: Vec<(State, Option<(usize, Call)>)> = vec![(start.clone(), None)];
    let mut seen: HashSet<State> = HashSet::new();
    seen.insert(start.clone());
    if s.reached(&start.known, goal) {
        return Some(Outcome::Attack(Vec::new()));
    }
    let mut level = vec![0usize];
    for depth in 1..=max_calls {
        let mut next = Vec::new();
        for &n in &level {
            let state = nodes[n].0.clone();
            for (succ, call) in s.successors(&state) {
                if seen.contains(&succ) {
                    continue;
                }
                let succ = s.canonical(succ);
                if seen.contains(&succ) {
                    continue;
                }
                let found = s.reached(&succ.known, goal);
                seen.insert(succ.clone());
                nodes.push((succ, Some((n, call))));
                let id = nodes.len() - 1;
                if found {
                    return Some(Outcome::Attack(path(&nodes, id)));
                }
                // The run's limits: looked at every 256 states (the
                // outcome then depends on the machine, and says so).
                let limit = if nodes.len().is_multiple_of(256) {
                    budget.exceeded()
                } else {
                    None
                };
                if nodes.len() > MAX_STATES || limit.is_some() {
                    return Some(Outcome::GaveUp {
                        calls: max_calls,
                        searched: depth - 1,
                        limit,
                    });
                }
                next.push(id);
            }
        }
        if next.is_empty() {
            break;
        }
        level = next;
    }
    if !s.complete {
        return Some(Outcome::GaveUp {
            calls: max_calls,
            searched: 0,
            limit: None,
        });
    }
    Some(Outcome::NoneWithin(max_calls))
}

fn path(nodes: &[(State, Option<(usize, Call)>)], mut id: usize) -> Vec<Call> {
    let mut out = Vec::new();
    while let Some((parent, call)) = &nodes[id].1 {
        out.push(call.clone());
        id = *parent;
    }
    out.reverse();
    out
}

/// The most assignments of free leaves tried for one argument.
const MAX_CHOICES: usize = 4096;

impl Search<'_> {
    /// True when the attacker can supply the goal, or, for a goal holding
    /// fresh names, an instance of it (`kg#3` for `kg`).
    fn reached(&mut self, known: &BTreeSet<TermId>, goal: TermId) -> bool {
        if self.derivable(known, goal) {
            return true;
        }
        if !crate::analysis::engine::mentions_fresh(self.store, goal) {
            return false;
        }
        known.iter().any(|&t| self.abstract_of(t) == goal)
    }

    /// The abstract term of a concrete one: `kg#3` back to `kg`.
    fn abstract_of(&mut self, t: TermId) -> TermId {
        self.store.rewrite(t, &mut |store, u| {
            let Term::Name(n) = store.get(u) else {
                return None;
            };
            let text = store.name(*n).text.clone();
            let base = store.find_name(text.split_once('#')?.0)?;
            Some(store.name_term(base))
        })
    }

    /// The state with its fresh values renumbered in order of first
    /// occurrence (objects, then known terms, each ordered by their
    /// abstract form): states that differ only in which fresh values were
    /// generated first become one. A renaming is a bijection, so merging
    /// only ever merges states with the same futures.
    fn canonical(&mut self, state: State) -> State {
        if state.fresh == 0 {
            return state;
        }
        let mut objects: Vec<((TermId, TermId), (TermId, TermId))> = state
            .objects
            .iter()
            .map(|&(k, a)| ((self.abstract_of(k), a), (k, a)))
            .collect();
        objects.sort();
        let mut known: Vec<(TermId, TermId)> = state
            .known
            .iter()
            .map(|&t| (self.abstract_of(t), t))
            .collect();
        known.sort();
        let mut order: Vec<crate::front::term::NameId> = Vec::new();
        let terms: Vec<TermId> = objects
            .iter()
            .flat_map(|(_, (k, a))| [*k, *a])
            .chain(known.iter().map(|(_, t)| *t))
            .collect();
        for t in terms {
            self.fresh_names(t, &mut order);
        }
        let mut map: HashMap<crate::front::term::NameId, TermId> = HashMap::new();
        let mut counts: HashMap<String, u32> = HashMap::new();
        for (i, n) in order.iter().enumerate() {
            let text = self.store.name(*n).text.clone();
            let base = text
                .split_once('#')
                .map_or(text.clone(), |(b, _)| b.to_string());
            let c = counts.entry(base.clone()).or_insert(0);
            *c += 1;
            let _ = i;
            let new = format!("{base}#{c}");
            let id = match self.store.find_name(&new) {
                Some(id) => id,
                None => self.store.declare_name(&new, NameKind::Fresh),
            };
            map.insert(*n, self.store.name_term(id));
        }
        let rename = |store: &mut TermStore, t: TermId| {
            store.rewrite(t, &mut |store, u| match store.get(u) {
                Term::Name(n) => map.get(n).copied(),
                _ => None,
            })
        };
        let mut objects: Vec<(TermId, TermId)> = state
            .objects
            .iter()
            .map(|&(k, a)| (rename(self.store, k), rename(self.store, a)))
            .collect();
        objects.sort();
        let known = state.known.iter().map(|&t| rename(self.store, t)).collect();
        State {
            objects,
            known,
            fresh: order.len() as u32,
        }
    }

    /// The fresh instance names (`kg#3`) in `t`, appended in order.
    fn fresh_names(&self, t: TermId, out: &mut Vec<crate::front::term::NameId>) {
        match self.store.get(t) {
            Term::Name(n) => {
                let info = self.store.name(*n);
                if info.kind == NameKind::Fresh && info.text.contains('#') && !out.contains(n) {
                    out.push(*n);
                }
            }
            Term::App(_, args) | Term::Xor(args) => {
                for a in args.iter() {
                    self.fresh_names(*a, out);
                }
            }
            _ => {}
        }
    }

    fn handle_parts(&self, t: TermId) -> Option<(TermId, TermId)> {
        match self.store.get(t) {
            Term::App(c, args) if *c == self.model.handle && args.len() == 2 => {
                Some((args[0], args[1]))
            }
            _ => None,
        }
    }

    /// Every state one call away, with the call.
    fn successors(&mut self, state: &State) -> Vec<(State, Call)> {
        let mut out = Vec::new();
        let rules = self.rules;
        for ri in self.calls.clone() {
            let rule = &rules[ri];
            let setter = self.model.setters.contains(&rule.name);
            // Handle inputs first (they bind keys), then the others in order.
            let mut order: Vec<usize> = (0..rule.inputs.len())
                .filter(|&i| self.is_handle_pattern(rule.inputs[i]))
                .collect();
            order.extend(
                (0..rule.inputs.len()).filter(|&i| !self.is_handle_pattern(rule.inputs[i])),
            );
            // Partial choices: binding and the object chosen for each handle input.
            let mut partial: Vec<(Binding, Vec<Option<usize>>)> = vec![(
                empty_binding(rule.var_names.len()),
                vec![None; rule.inputs.len()],
            )];
            for &i in &order {
                let p = rule.inputs[i];
                let mut next = Vec::new();
                for (b, objs) in &partial {
                    if self.is_handle_pattern(p) {
                        for (o, &(k, a)) in state.objects.iter().enumerate() {
                            let h = self.store.app(self.model.handle, &[k, a]);
                            for b2 in match_term(self.store, p, h, b) {
                                let mut objs = objs.clone();
                                objs[i] = Some(o);
                                next.push((b2, objs));
                            }
                        }
                    } else {
                        for b2 in self.candidates(p, b, &state.known, &rule.checks) {
                            next.push((b2, objs.clone()));
                        }
                    }
                }
                partial = next;
                if partial.is_empty() {
                    break;
                }
            }
            for (b, objs) in partial {
                if !rule.checks.iter().all(|c| holds(self.store, c, &b)) {
                    continue;
                }
                let Some(args) = rule
                    .inputs
                    .iter()
                    .map(|p| instantiate(self.store, *p, &b))
                    .collect::<Option<Vec<TermId>>>()
                else {
                    continue;
                };
                let mut succ = state.clone();
                let mut renamed: HashMap<crate::front::term::NameId, TermId> = HashMap::new();
                for &f in &rule.fresh {
                    succ.fresh += 1;
                    let text = format!("{}#{}", self.store.name(f).text, succ.fresh);
                    let id = self.store.declare_name(&text, NameKind::Fresh);
                    renamed.insert(f, self.store.name_term(id));
                }
                let mut results = Vec::new();
                for &o in &rule.outputs {
                    let Some(t) = instantiate(self.store, o, &b) else {
                        continue;
                    };
                    let t = self.store.rewrite(t, &mut |store, u| match store.get(u) {
                        Term::Name(n) => renamed.get(n).copied(),
                        _ => None,
                    });
                    results.push(t);
                }
                for &t in &results {
                    match self.handle_parts(t) {
                        Some((k, a)) => {
                            if setter {
                                if let Some(o) = objs.first().copied().flatten() {
                                    succ.objects[o] = (k, a);
                                }
                            } else {
                                succ.objects.push((k, a));
                            }
                        }
                        None => {
                            succ.known.insert(t);
                        }
                    }
                }
                succ.objects.sort();
                self.close(&mut succ.known);
                let call = Call {
                    function: rule.name.clone(),
                    args: args
                        .iter()
                        .map(|a| self.model.show(self.store, *a))
                        .collect(),
                    results: results
                        .iter()
                        .map(|r| self.model.show(self.store, *r))
                        .collect(),
                };
                out.push((succ, call));
            }
        }
        out
    }

    fn is_handle_pattern(&self, p: TermId) -> bool {
        matches!(self.store.get(p), Term::App(c, _) if *c == self.model.handle)
    }

    /// Bindings extending `b` under which the attacker can supply `p`: it
    /// obtained the instance, or builds it with public constructors, free
    /// leaves drawn from the names it knows (or an `in` list).
    fn candidates(
        &mut self,
        p: TermId,
        b: &Binding,
        known: &BTreeSet<TermId>,
        checks: &[Check],
    ) -> Vec<Binding> {
        let mut out: Vec<Binding> = Vec::new();
        if let Some(t) = instantiate(self.store, p, b) {
            if self.derivable(known, t) {
                out.push(b.clone());
            }
            return out;
        }
        for &t in known {
            for b2 in match_term(self.store, p, t, b) {
                if !out.contains(&b2) {
                    out.push(b2);
                }
            }
        }
        match self.store.get(p).clone() {
            Term::Var(v) => {
                let var = p;
                let listed = checks.iter().find_map(|c| match c {
                    Check::OneOf(a, list) if *a == var => Some(list.clone()),
                    _ => None,
                });
                let leaves: Vec<TermId> = match listed {
                    Some(list) => list,
                    None => known
                        .iter()
                        .copied()
                        .filter(|t| matches!(self.store.get(*t), Term::Name(_)))
                        .collect(),
                };
                for l in leaves {
                    if !self.derivable(known, l) {
                        continue;
                    }
                    let mut b2 = b.clone();
                    b2[v as usize] = l;
                    if !out.contains(&b2) {
                        out.push(b2);
                    }
                }
            }
            Term::App(c, args) if self.store.ctor(c).public => {
                // Built: each argument in turn.
                let mut partial = vec![b.clone()];
                for a in args.iter() {
                    let mut next = Vec::new();
                    for pb in &partial {
                        next.extend(self.candidates(*a, pb, known, checks));
                        if next.len() > MAX_CHOICES {
                            self.complete = false;
                            next.truncate(MAX_CHOICES);
                            break;
                        }
                    }
                    partial = next;
                }
                for b2 in partial {
                    if !out.contains(&b2) {
                        out.push(b2);
                    }
                }
            }
            _ => {}
        }
        out
    }

    /// True when the attacker can supply `t`: obtained, or built with
    /// public constructors (XOR from derivable operands) from derivable
    /// parts.
    fn derivable(&self, known: &BTreeSet<TermId>, t: TermId) -> bool {
        if known.contains(&t) {
            return true;
        }
        match self.store.get(t) {
            Term::App(c, args) => {
                self.store.ctor(*c).public && args.iter().all(|a| self.derivable(known, *a))
            }
            Term::Xor(args) => args.iter().all(|a| self.derivable(known, *a)),
            Term::Zero => true,
            _ => false,
        }
    }

    /// Closes the known terms under the deductions.
    fn close(&mut self, known: &mut BTreeSet<TermId>) {
        loop {
            let mut new = Vec::new();
            let rules = self.rules;
            for &di in &self.deductions.clone() {
                let rule = &rules[di];
                let Some(&first) = rule.inputs.first() else {
                    continue;
                };
                for &t in known.iter() {
                    for b in match_term(self.store, first, t, &empty_binding(rule.var_names.len()))
                    {
                        let rest_ok = rule.inputs[1..].iter().all(|p| {
                            instantiate(self.store, *p, &b)
                                .is_some_and(|x| self.derivable(known, x))
                        });
                        if !rest_ok || !rule.checks.iter().all(|c| holds(self.store, c, &b)) {
                            continue;
                        }
                        for &o in &rule.outputs {
                            if let Some(x) = instantiate(self.store, o, &b) {
                                if !known.contains(&x) && !new.contains(&x) {
                                    new.push(x);
                                }
                            }
                        }
                    }
                }
            }
            if new.is_empty() {
                return;
            }
            known.extend(new);
        }
    }
}

/// Checks on concrete values, exactly.
fn holds(store: &mut TermStore, check: &Check, b: &[TermId]) -> bool {
    let mut inst = |t: TermId| instantiate(store, t, b).filter(|x| *x != UNBOUND);
    match check {
        Check::Equal(x, y) => inst(*x).is_some() && inst(*x) == inst(*y),
        Check::NotEqual(x, y) => match (inst(*x), inst(*y)) {
            (Some(x), Some(y)) => x != y,
            _ => false,
        },
        Check::OneOf(x, list) => {
            let Some(v) = inst(*x) else { return false };
            list.iter().any(|l| inst(*l) == Some(v))
        }
    }
}

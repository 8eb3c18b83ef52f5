//! From the recorded rule instances to the shortest attack on each secret.
//!
//! Every rule instance that fired is a hyperedge from its inputs to its
//! outputs; every term the attacker builds with a public constructor (or
//! XOR) is an edge from its children. Knuth's generalisation of Dijkstra's
//! algorithm gives every term its cheapest derivation, where the cost of a
//! derivation tree is (API calls, steps, borrowed names), summed over the
//! tree and compared in that order. The attack printed is that tree with
//! shared subtrees emitted once, so it has at most as many calls as the cost
//! says.
//!
//! Borrowed names only break ties between derivations with as many calls
//! and steps: each use of a public name or tag (or `0`) as a step's input
//! counts one, a use of one of the attacker's own names nothing. Where the
//! attacker picks a value freely (encrypt's data, a key it makes), the
//! trace therefore shows its own name (`pk(attacker)`) rather than an
//! arbitrary public tag (`pk(T)`) whenever that gives an attack just as
//! short; what is derivable, and the number of calls, do not change.
//! Remaining ties are broken by term id, which saturation makes
//! deterministic.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet};

use crate::analysis::engine::{Budget, Firing, Saturation, StopReason};
use crate::analysis::gf2::{Basis, Vector};
use crate::analysis::matching::instantiate;
use crate::front::program::{Program, RuleId, RuleKind};
use crate::front::term::{NameKind, Term, TermId, TermStore};

/// How many steps of a loop run between two looks at the run's budget.
const CHECK_EVERY: usize = 256;

/// Cost of a derivation: API calls first, then all steps, then uses of
/// public names and tags (the tie-break that prefers the attacker's own
/// names).
pub type Cost = (u32, u32, u32);

/// One step of an attack.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TraceStep {
    /// An API call (or an attacker deduction, by `kind`), with its
    /// arguments in the function's input order and all its results.
    Apply {
        /// The rule applied.
        rule: RuleId,
        /// Call or deduction.
        kind: RuleKind,
        /// The arguments.
        args: Vec<TermId>,
        /// The results.
        results: Vec<TermId>,
        /// The variable binding (for replay).
        binding: Vec<TermId>,
    },
    /// The attacker builds `term` from `from` with a public constructor.
    Build {
        /// The term built.
        term: TermId,
        /// Its children.
        from: Vec<TermId>,
    },
    /// The attacker XORs the terms `from` and gets `term` (an XOR term, or
    /// an atom that the XOR leaves alone: `s` from `s ⊕ P` and `P`).
    Xor {
        /// The result.
        term: TermId,
        /// The operands of the XOR, each a term the attacker has.
        from: Vec<TermId>,
    },
}

/// The shortest derivation found for one term.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attack {
    /// The term derived.
    pub goal: TermId,
    /// The steps, each after the steps its arguments need.
    pub steps: Vec<TraceStep>,
    /// Number of API calls among the steps.
    pub calls: usize,
}

#[derive(Clone, Copy, Debug)]
enum EdgeKind {
    /// The rule instance with this index among the saturation's firings.
    Fire(u32),
    Build(TermId),
    /// The head is the XOR of the inputs.
    Xor(TermId),
}

/// The hyperedges, stored flat: a saturation can hold millions of rule
/// instances, and one small vector per edge and field tripled the memory
/// of the whole run.
#[derive(Default)]
struct Edges {
    kind: Vec<EdgeKind>,
    /// Inputs of edge `i`: `inputs[input_at[i]..input_at[i + 1]]`, sorted,
    /// without repeats.
    inputs: Vec<TermId>,
    input_at: Vec<u32>,
    /// Heads of edge `i`: `heads[head_at[i]..head_at[i + 1]]`.
    heads: Vec<TermId>,
    head_at: Vec<u32>,
    own: Vec<Cost>,
    /// Inputs not finalised yet.
    waiting: Vec<u32>,
}

impl Edges {
    fn new() -> Self {
        Edges {
            input_at: vec![0],
            head_at: vec![0],
            ..Edges::default()
        }
    }

    fn push(&mut self, kind: EdgeKind, inputs: &[TermId], heads: &[TermId], own: Cost) {
        self.kind.push(kind);
        self.inputs.extend_from_slice(inputs);
        self.input_at.push(self.inputs.len() as u32);
        self.heads.extend_from_slice(heads);
        self.head_at.push(self.heads.len() as u32);
        self.own.push(own);
        self.waiting.push(inputs.len() as u32);
    }

    fn len(&self) -> usize {
        self.kind.len()
    }

    fn inputs(&self, e: usize) -> &[TermId] {
        &self.inputs[self.input_at[e] as usize..self.input_at[e + 1] as usize]
    }

    fn heads(&self, e: usize) -> &[TermId] {
        &self.heads[self.head_at[e] as usize..self.head_at[e + 1] as usize]
    }
}

/// Cheapest derivations of every derivable term.
pub struct Derivations<'a> {
    edges: Edges,
    best: HashMap<TermId, (Cost, Option<usize>)>,
    initial: HashSet<TermId>,
    /// The arguments of firing `f`, in the function's input order:
    /// `args[args_at[f]..args_at[f + 1]]`.
    args: Vec<TermId>,
    args_at: Vec<u32>,
    firings: &'a [Firing],
}

fn add(a: Cost, b: Cost) -> Cost {
    (
        a.0.saturating_add(b.0),
        a.1.saturating_add(b.1),
        a.2.saturating_add(b.2),
    )
}

/// The cost of a term the attacker knows from the start: nothing, except
/// that a public name or tag, or `0`, counts one borrowed name, so that an
/// equally short derivation with the attacker's own name wins the tie.
fn initial_cost(store: &TermStore, t: TermId) -> Cost {
    let borrowed = match store.get(t) {
        Term::Name(n) => matches!(store.name(*n).kind, NameKind::Public | NameKind::Tag),
        Term::Zero => true,
        _ => false,
    };
    (0, 0, u32::from(borrowed))
}

impl<'a> Derivations<'a> {
    /// Computes cheapest derivations over a saturation's rule instances.
    pub fn compute(program: &mut Program, sat: &'a Saturation, goals: &[TermId]) -> Self {
        match Self::compute_within(program, sat, goals, &Budget::unlimited()) {
            Ok(d) => d,
            Err(_) => unreachable!("an unlimited budget never runs out"),
        }
    }

    /// [`Derivations::compute`], stopping with the limit reached when the
    /// run's budget runs out (checked every [`CHECK_EVERY`] steps of each
    /// loop).
    pub fn compute_within(
        program: &mut Program,
        sat: &'a Saturation,
        goals: &[TermId],
        budget: &Budget,
    ) -> Result<Self, StopReason> {
        let mut ticks: usize = 0;
        let mut tick = || -> Result<(), StopReason> {
            // The first step looks too, so a budget already spent stops
            // at once.
            ticks += 1;
            if ticks % CHECK_EVERY == 1 {
                if let Some(stop) = budget.exceeded() {
                    return Err(stop);
                }
            }
            Ok(())
        };
        let store = &mut program.store;
        let initial: HashSet<TermId> = program.knowledge.iter().copied().collect();
        let known: HashSet<TermId> = sat.known.iter().copied().collect();
        let mut edges = Edges::new();
        let mut args_flat: Vec<TermId> = Vec::new();
        let mut args_at: Vec<u32> = Vec::with_capacity(sat.firings.len() + 1);
        args_at.push(0);
        let mut built: HashSet<TermId> = HashSet::new();
        let mut to_build: Vec<TermId> = goals.to_vec();
        let mut inputs: Vec<TermId> = Vec::new();
        let mut heads: Vec<TermId> = Vec::new();
        for (i, f) in sat.firings.iter().enumerate() {
            tick()?;
            let rule = &program.rules[f.rule.0 as usize];
            let start = args_flat.len();
            for p in &rule.inputs {
                if let Some(a) = instantiate(store, *p, &f.binding) {
                    args_flat.push(a);
                }
            }
            args_at.push(args_flat.len() as u32);
            heads.clear();
            for o in &rule.outputs {
                if let Some(t) = instantiate(store, *o, &f.binding) {
                    if known.contains(&t) {
                        heads.push(t);
                    }
                }
            }
            inputs.clear();
            inputs.extend_from_slice(&args_flat[start..]);
            inputs.sort_unstable();
            inputs.dedup();
            to_build.extend(inputs.iter().copied());
            let own = (u32::from(rule.kind == RuleKind::Call), 1, 0);
            edges.push(EdgeKind::Fire(i as u32), &inputs, &heads, own);
        }
        // Build edges for every term the attacker may have built.
        // Atoms of obtained XOR terms may be obtained by XOR analysis; the
        // attacker may also build them.
        for &t in &sat.known {
            to_build.extend(store.xor_operands(t).into_iter().filter(|a| *a != t));
        }
        while let Some(t) = to_build.pop() {
            tick()?;
            if !built.insert(t) {
                continue;
            }
            if let Term::Xor(ops) = store.get(t) {
                // Reached through XorEdges; its operands are wanted too.
                to_build.extend(ops.iter().copied());
                continue;
            }
            if let Some(children) = build_children(store, t) {
                let mut inputs = children.clone();
                inputs.sort_unstable();
                inputs.dedup();
                to_build.extend(inputs.iter().copied());
                edges.push(EdgeKind::Build(t), &inputs, &[t], (0, 1, 0));
            }
        }
        // The edges waiting on each term: (term, edge) pairs sorted, so that
        // a term's edges are one run (in edge order, as before).
        let mut uses: Vec<(TermId, u32)> = Vec::with_capacity(edges.inputs.len());
        for e in 0..edges.len() {
            for t in edges.inputs(e) {
                uses.push((*t, e as u32));
            }
        }
        uses.sort_unstable();
        let mut best: HashMap<TermId, (Cost, Option<usize>)> = HashMap::new();
        let mut queue: BinaryHeap<Reverse<(Cost, TermId, usize)>> = BinaryHeap::new();
        for &t in &initial {
            let cost = initial_cost(store, t);
            best.insert(t, (cost, None));
            queue.push(Reverse((cost, t, usize::MAX)));
        }
        for i in 0..edges.len() {
            if edges.waiting[i] == 0 {
                let own = edges.own[i];
                for &h in edges.heads(i) {
                    if best.get(&h).is_none_or(|b| own < b.0) {
                        best.insert(h, (own, Some(i)));
                        queue.push(Reverse((own, h, i)));
                    }
                }
            }
        }
        let mut xor = XorEdges::new(store, &sat.known, &built);
        let mut done: HashSet<TermId> = HashSet::new();
        while let Some(Reverse((cost, t, _via))) = queue.pop() {
            tick()?;
            // Only improving costs are pushed, so a stale entry costs more.
            if done.contains(&t) || best.get(&t).is_some_and(|b| b.0 < cost) {
                continue;
            }
            done.insert(t);
            // XOR: a term the attacker now has may put XOR targets in reach.
            for (head, inputs) in xor.reached(store, t, &done) {
                let total = inputs.iter().fold((0, 1, 0), |acc, i| add(acc, best[i].0));
                if best.get(&head).is_none_or(|(c, _)| total < *c) {
                    best.insert(head, (total, Some(edges.len())));
                    queue.push(Reverse((total, head, edges.len())));
                }
                edges.push(EdgeKind::Xor(head), &inputs, &[head], (0, 1, 0));
                // An XOR edge waits on nothing: its inputs are finalised.
                *edges.waiting.last_mut().expect("just pushed") = 0;
            }
            let first = uses.partition_point(|(u, _)| *u < t);
            for &(u, e) in &uses[first..] {
                if u != t {
                    break;
                }
                let e = e as usize;
                edges.waiting[e] -= 1;
                if edges.waiting[e] == 0 {
                    let total = edges
                        .inputs(e)
                        .iter()
                        .fold(edges.own[e], |acc, i| add(acc, best[i].0));
                    for &h in edges.heads(e) {
                        if done.contains(&h) {
                            continue;
                        }
                        let improves = best.get(&h).is_none_or(|(c, _)| total < *c);
                        if improves {
                            best.insert(h, (total, Some(e)));
                            queue.push(Reverse((total, h, e)));
                        }
                    }
                }
            }
        }
        best.retain(|t, _| done.contains(t));
        Ok(Derivations {
            edges,
            best,
            initial,
            args: args_flat,
            args_at,
            firings: &sat.firings,
        })
    }

    /// The arguments of firing `f`, in the function's input order.
    fn args(&self, f: u32) -> Vec<TermId> {
        self.args[self.args_at[f as usize] as usize..self.args_at[f as usize + 1] as usize].to_vec()
    }

    /// The cost of the cheapest derivation of `goal`, if it has one: its
    /// API calls (counted over the derivation tree, so at least the calls
    /// of the attack printed), steps and borrowed names.
    pub fn cost(&self, goal: TermId) -> Option<Cost> {
        self.best.get(&goal).map(|b| b.0)
    }

    /// The shortest attack deriving `goal`, if it is derivable.
    pub fn attack(&self, program: &Program, goal: TermId) -> Option<Attack> {
        self.best.get(&goal)?;
        let mut steps = Vec::new();
        let mut emitted_edges: HashSet<usize> = HashSet::new();
        let mut have: HashSet<TermId> = self.initial.clone();
        self.emit(
            program,
            goal,
            goal,
            &mut steps,
            &mut emitted_edges,
            &mut have,
        );
        let calls = steps
            .iter()
            .filter(|s| {
                matches!(
                    s,
                    TraceStep::Apply {
                        kind: RuleKind::Call,
                        ..
                    }
                )
            })
            .count();
        Some(Attack { goal, steps, calls })
    }

    /// The last step of the cheapest derivation of `t`: `Some(None)` when
    /// the attacker knew `t` from the start, `Some(Some(step))` for the rule
    /// instance or construction that gives it (its inputs each have their
    /// own cheapest derivation), `None` when `t` is not derivable.
    pub fn producer(&self, program: &Program, t: TermId) -> Option<Option<TraceStep>> {
        let (_, edge) = self.best.get(&t)?;
        let Some(e) = edge else {
            return Some(None);
        };
        let e = *e;
        Some(Some(match self.edges.kind[e] {
            EdgeKind::Fire(f) => {
                let firing = &self.firings[f as usize];
                TraceStep::Apply {
                    rule: firing.rule,
                    kind: program.rule(firing.rule).kind,
                    args: self.args(f),
                    results: self.edges.heads(e).to_vec(),
                    binding: firing.binding.to_vec(),
                }
            }
            EdgeKind::Build(term) => TraceStep::Build {
                term,
                from: build_children(&program.store, term).unwrap_or_default(),
            },
            EdgeKind::Xor(term) => TraceStep::Xor {
                term,
                from: self.edges.inputs(e).to_vec(),
            },
        }))
    }

    fn emit(
        &self,
        program: &Program,
        goal: TermId,
        t: TermId,
        steps: &mut Vec<TraceStep>,
        emitted: &mut HashSet<usize>,
        have: &mut HashSet<TermId>,
    ) {
        if have.contains(&t) {
            return;
        }
        let Some((_, Some(e))) = self.best.get(&t) else {
            return;
        };
        if !emitted.insert(*e) {
            return;
        }
        let e = *e;
        for &i in self.edges.inputs(e) {
            self.emit(program, goal, i, steps, emitted, have);
        }
        match self.edges.kind[e] {
            EdgeKind::Fire(f) => {
                let firing = &self.firings[f as usize];
                let rule = program.rule(firing.rule);
                steps.push(TraceStep::Apply {
                    rule: firing.rule,
                    kind: rule.kind,
                    args: self.args(f),
                    results: self.edges.heads(e).to_vec(),
                    binding: firing.binding.to_vec(),
                });
                have.extend(self.edges.heads(e).iter().copied());
            }
            kind @ (EdgeKind::Build(term) | EdgeKind::Xor(term)) => {
                // A step the reader could not redo from what is shown.
                let shown = term == goal
                    || self
                        .edges
                        .inputs(e)
                        .iter()
                        .any(|c| !self.initial.contains(c) && !self.is_built(*c));
                if shown {
                    steps.push(match kind {
                        EdgeKind::Build(_) => TraceStep::Build {
                            term,
                            from: build_children(&program.store, term).unwrap_or_default(),
                        },
                        _ => TraceStep::Xor {
                            term,
                            from: self.edges.inputs(e).to_vec(),
                        },
                    });
                }
                have.insert(term);
            }
        }
    }

    fn is_built(&self, t: TermId) -> bool {
        matches!(
            self.best.get(&t),
            Some((_, Some(e)))
                if matches!(self.edges.kind[*e], EdgeKind::Build(_) | EdgeKind::Xor(_))
        )
    }
}

/// The children of a term the attacker can build with a public
/// constructor (or `0`, from nothing), if it can build it that way. XOR
/// terms are reached through [`XorEdges`].
fn build_children(store: &TermStore, t: TermId) -> Option<Vec<TermId>> {
    match store.get(t) {
        Term::App(c, args) if store.ctor(*c).public => Some(args.to_vec()),
        Term::Zero => Some(Vec::new()),
        _ => None,
    }
}

/// The GF(2) vector of XOR operands (atoms are `TermId`s).
fn operands_vector(ops: &[TermId]) -> Vector {
    Vector::from_atoms(ops.iter().map(|t| t.0))
}

/// XOR derivations found while Dijkstra finalises terms in cost order.
///
/// Generators are the obtained XOR terms and the atoms of obtained or
/// wanted XOR terms; targets are those atoms (XOR analysis may obtain
/// them) and the wanted XOR terms (goals, arguments, their children). Each
/// finalised generator joins a GF(2) basis that remembers which generators
/// make each row; when a target's vector falls in the span, the generators
/// that XOR to it, all finalised no later than now, make an edge. Since
/// generators join in cost order, a target is first reached from the
/// cheapest generators that span it; a later, cheaper combination is taken
/// too when one appears.
struct XorEdges {
    generators: HashSet<TermId>,
    /// Finalised generators that grew the span, by generator id.
    joined: Vec<TermId>,
    basis: Basis,
    targets: Vec<(TermId, Vector)>,
}

impl XorEdges {
    fn new(store: &TermStore, known: &[TermId], wanted: &HashSet<TermId>) -> Self {
        let mut generators = HashSet::new();
        let mut targets = Vec::new();
        let mut atoms: Vec<TermId> = Vec::new();
        for &t in known {
            if let Term::Xor(ops) = store.get(t) {
                generators.insert(t);
                atoms.extend(ops.iter().copied());
            }
        }
        let mut wanted: Vec<TermId> = wanted
            .iter()
            .copied()
            .filter(|t| matches!(store.get(*t), Term::Xor(_)))
            .collect();
        wanted.sort_unstable();
        for t in wanted {
            let ops = store.xor_operands(t);
            atoms.extend(ops.iter().copied());
            targets.push((t, operands_vector(&ops)));
        }
        atoms.sort_unstable();
        atoms.dedup();
        for a in atoms {
            generators.insert(a);
            targets.push((a, Vector::unit(a.0)));
        }
        XorEdges {
            generators,
            joined: Vec::new(),
            basis: Basis::new(),
            targets,
        }
    }

    /// `t` was just finalised: the XOR edges (head, inputs) it completes.
    fn reached(
        &mut self,
        store: &TermStore,
        t: TermId,
        done: &HashSet<TermId>,
    ) -> Vec<(TermId, Vec<TermId>)> {
        if !self.generators.contains(&t) {
            return Vec::new();
        }
        if self
            .basis
            .insert(&operands_vector(&store.xor_operands(t)))
            .is_none()
        {
            return Vec::new();
        }
        self.joined.push(t);
        let mut out = Vec::new();
        self.targets.retain(|(head, ops)| {
            if done.contains(head) {
                return false;
            }
            if let Some(combination) = self.basis.combination(ops) {
                let mut inputs: Vec<TermId> = combination
                    .iter()
                    .map(|i| self.joined[*i as usize])
                    .collect();
                inputs.sort_unstable();
                out.push((*head, inputs));
            }
            true
        });
        out
    }
}

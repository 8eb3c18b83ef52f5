//! Replaying an attack on a concrete HSM.
//!
//! Saturation abstracts every value a function generates fresh to one name
//! per generating function, so two calls of `GenerateKeyShare` return the
//! same abstract share `s`. An attack may therefore rest on an equality that
//! no real HSM would give (`s1 ⊕ s2 = 0`). Replay runs the attack's steps in
//! order on a concrete model: each call generates new instances (`s#1`,
//! `s#2`, ...), every argument is the concrete term the attacker actually
//! obtained or builds from those, inputs are matched and checks evaluated
//! on concrete values, and the goal must come out at the end.

use std::collections::HashMap;

use crate::analysis::engine::{holds, Budget, StopReason};
use crate::analysis::matching::{empty_binding, instantiate, match_term, xor_blocked};
use crate::analysis::trace::{Attack, TraceStep};
use crate::front::program::{ObjectModel, Program};
use crate::front::term::{NameId, NameKind, Term, TermId, TermStore};

/// The outcome of a replay.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Replay {
    /// The attack works on the concrete model; no fresh value was involved.
    ConfirmedExact,
    /// The attack works on the concrete model with distinct fresh values.
    Confirmed,
    /// The attack uses one object of the token in two attribute states,
    /// which a token holding one state per object cannot do.
    TwoStates {
        /// The step that uses the object in its old state (1-based).
        step: usize,
        /// The object, its two states, and the step that changed it.
        reason: String,
    },
    /// The attack fails on the concrete model: why, at which step (1-based).
    Failed {
        /// The step that failed.
        step: usize,
        /// Why.
        reason: String,
    },
    /// A limit of the run was reached before the replay finished: the
    /// attack is neither confirmed nor refuted.
    Stopped(StopReason),
}

/// Replays an attack on the concrete model.
pub fn replay(program: &mut Program, attack: &Attack) -> Replay {
    replay_within(program, attack, &Budget::unlimited())
}

/// [`replay`], stopping when the run's budget runs out (checked before
/// each step).
pub fn replay_within(program: &mut Program, attack: &Attack, budget: &Budget) -> Replay {
    let mut state = Concrete {
        conc: HashMap::new(),
        instances: HashMap::new(),
        fresh_used: false,
    };
    let mut objects = program
        .objects
        .clone()
        .map(|m| Objects::new(m, &program.knowledge, &program.store));
    let store = &mut program.store;
    for (i, step) in attack.steps.iter().enumerate() {
        if let Some(stop) = budget.exceeded() {
            return Replay::Stopped(stop);
        }
        match step {
            TraceStep::Apply {
                rule,
                args,
                results,
                ..
            } => {
                let rule = program.rules[rule.0 as usize].clone();
                let concrete_args: Vec<TermId> =
                    args.iter().map(|a| state.concretize(store, *a)).collect();
                // A token holds one state per object: every handle passed
                // must be its object's current state.
                let mut used = Vec::new();
                if let Some(objs) = &objects {
                    for a in &concrete_args {
                        match objs.object_of(store, *a) {
                            Ok(o) => used.push(o),
                            Err(reason) => {
                                return Replay::TwoStates {
                                    step: i + 1,
                                    reason: format!("{}: {reason}", rule.name),
                                }
                            }
                        }
                    }
                }
                // Match the inputs against the concrete arguments, each time
                // taking an input whose XOR nodes have at most one open
                // operand, as the planner does.
                let mut bindings = vec![empty_binding(rule.var_names.len())];
                let mut todo: Vec<(TermId, TermId)> = rule
                    .inputs
                    .iter()
                    .copied()
                    .zip(concrete_args.iter().copied())
                    .collect();
                while !todo.is_empty() && !bindings.is_empty() {
                    let next_input = todo
                        .iter()
                        .position(|(p, _)| !xor_blocked(store, *p, &bindings[0]))
                        .unwrap_or(0);
                    let (p, a) = todo.remove(next_input);
                    let mut next = Vec::new();
                    for b in &bindings {
                        next.extend(match_term(store, p, a, b));
                    }
                    bindings = next;
                }
                bindings.retain(|b| rule.checks.iter().all(|c| holds_concrete(store, c, b)));
                let Some(binding) = bindings.into_iter().next() else {
                    let shown: Vec<String> = concrete_args.iter().map(|a| store.show(*a)).collect();
                    return Replay::Failed {
                        step: i + 1,
                        reason: format!(
                            "{}({}) is rejected: its inputs do not match or a check fails",
                            rule.name,
                            shown.join(", ")
                        ),
                    };
                };
                // Fresh values: new instances for this call.
                let mut renamed: HashMap<NameId, TermId> = HashMap::new();
                for &f in &rule.fresh {
                    let n = state.instances.entry(f).or_insert(0);
                    *n += 1;
                    let text = format!("{}#{}", store.name(f).text, n);
                    let id = store.declare_name(&text, NameKind::Fresh);
                    renamed.insert(f, store.name_term(id));
                    state.fresh_used = true;
                }
                for (o, abstract_result) in rule.outputs.iter().zip(results) {
                    let Some(t) = instantiate(store, *o, &binding) else {
                        continue;
                    };
                    let t = rename(store, t, &renamed);
                    if let Some(objs) = &mut objects {
                        objs.output(store, &rule.name, i + 1, t, used.first().copied().flatten());
                    }
                    state.conc.entry(*abstract_result).or_insert(t);
                }
                // Results listed may skip outputs dropped by the depth
                // bound; map the remaining ones by value too.
                for r in results {
                    if !state.conc.contains_key(r) {
                        let t = state.concretize(store, *r);
                        state.conc.insert(*r, t);
                    }
                }
            }
            TraceStep::Build { term, .. } => {
                let t = state.concretize(store, *term);
                state.conc.insert(*term, t);
            }
            TraceStep::Xor { term, from } => {
                // The concrete result is the XOR of the concrete operands.
                let ops: Vec<TermId> = from.iter().map(|f| state.concretize(store, *f)).collect();
                let t = store.xor(&ops);
                state.conc.insert(*term, t);
            }
        }
    }
    let got = state.concretize(store, attack.goal);
    let goal_fresh = crate::analysis::engine::mentions_fresh(store, attack.goal);
    let ok = if goal_fresh {
        abstract_of(store, got) == attack.goal
    } else {
        got == attack.goal
    };
    if !ok {
        return Replay::Failed {
            step: attack.steps.len(),
            reason: format!(
                "the concrete run yields {} instead of {}",
                store.show(got),
                store.show(attack.goal)
            ),
        };
    }
    if state.fresh_used {
        Replay::Confirmed
    } else {
        Replay::ConfirmedExact
    }
}

/// One object during a replay: where it comes from, its current state (the
/// handle term), and the step (and function) that last changed it.
type ObjectState = (String, TermId, Option<(usize, String)>);

/// The token's objects during a replay: each handle the attacker holds
/// names one object, whose attributes change in place under `sets`.
struct Objects {
    model: ObjectModel,
    /// Per object: where it comes from, its current state (the handle term),
    /// and the step that last changed it.
    objects: Vec<ObjectState>,
    /// Handle term -> the objects it was a handle of.
    held: HashMap<TermId, Vec<usize>>,
}

impl Objects {
    fn new(model: ObjectModel, knowledge: &[TermId], store: &TermStore) -> Self {
        let mut o = Objects {
            model,
            objects: Vec::new(),
            held: HashMap::new(),
        };
        for &t in knowledge {
            if o.is_handle(store, t) {
                o.held.entry(t).or_default().push(o.objects.len());
                o.objects.push(("the initial knowledge".into(), t, None));
            }
        }
        o
    }

    fn is_handle(&self, store: &TermStore, t: TermId) -> bool {
        matches!(store.get(t), Term::App(c, _) if *c == self.model.handle)
    }

    /// The object a handle argument stands for (`None` for other
    /// arguments), or why no object is in that state any more.
    fn object_of(&self, store: &TermStore, t: TermId) -> Result<Option<usize>, String> {
        if !self.is_handle(store, t) {
            return Ok(None);
        }
        let Some(cands) = self.held.get(&t) else {
            return Ok(None);
        };
        if let Some(&o) = cands.iter().find(|&&o| self.objects[o].1 == t) {
            return Ok(Some(o));
        }
        let o = cands[0];
        let (origin, now, changed) = &self.objects[o];
        let (at, by) = changed.clone().unwrap_or((0, String::new()));
        Err(format!(
            "it passes the object {} from {origin} in state {}, but step {at} ({by}) changed that object to {}; a token holds one state per object",
            key_text(store, t),
            self.state_text(store, t),
            self.state_text(store, *now)
        ))
    }

    /// Records an output: a `sets` function's handle is its object's new
    /// state; any other handle is a new object.
    fn output(
        &mut self,
        store: &TermStore,
        rule: &str,
        step: usize,
        t: TermId,
        first: Option<usize>,
    ) {
        if !self.is_handle(store, t) {
            return;
        }
        let o = match first {
            Some(o) if self.model.setters.iter().any(|s| s == rule) => {
                self.objects[o].1 = t;
                self.objects[o].2 = Some((step, rule.to_string()));
                o
            }
            _ => {
                self.objects
                    .push((format!("step {step} ({rule})"), t, None));
                self.objects.len() - 1
            }
        };
        self.held.entry(t).or_default().push(o);
    }

    /// An object's state in words: the attributes that are T, `{wrap, decrypt}`.
    fn state_text(&self, store: &TermStore, t: TermId) -> String {
        let Term::App(_, args) = store.get(t) else {
            return store.show(t);
        };
        let attrs = args[1];
        let values: Vec<TermId> = if self.model.names.len() == 1 {
            vec![attrs]
        } else {
            match store.get(attrs) {
                Term::App(_, items) => items.to_vec(),
                _ => return store.show(attrs),
            }
        };
        let set: Vec<&str> = self
            .model
            .names
            .iter()
            .zip(&values)
            .filter(|(_, v)| **v == self.model.t)
            .map(|(n, _)| n.as_str())
            .collect();
        format!("{{{}}}", set.join(", "))
    }
}

/// `hdl(k1)`: a handle shown by its key.
fn key_text(store: &TermStore, t: TermId) -> String {
    match store.get(t) {
        Term::App(c, args) => format!("{}({})", store.ctor(*c).text, store.show(args[0])),
        _ => store.show(t),
    }
}

struct Concrete {
    /// Abstract term obtained -> the concrete term the attacker holds.
    conc: HashMap<TermId, TermId>,
    /// Instances generated so far per fresh name.
    instances: HashMap<NameId, u32>,
    fresh_used: bool,
}

impl Concrete {
    /// The concrete term the attacker supplies for an abstract one: what it
    /// obtained, or built from concrete children, or the term itself.
    fn concretize(&mut self, store: &mut TermStore, t: TermId) -> TermId {
        store.rewrite(t, &mut |_, u| self.conc.get(&u).copied())
    }
}

/// Checks hold on concrete values exactly (no fresh relaxation).
fn holds_concrete(
    store: &mut TermStore,
    check: &crate::front::program::Check,
    b: &[TermId],
) -> bool {
    use crate::front::program::Check;
    match check {
        Check::NotEqual(x, y) => {
            let (Some(x), Some(y)) = (instantiate(store, *x, b), instantiate(store, *y, b)) else {
                return false;
            };
            x != y
        }
        other => holds(store, other, b),
    }
}

fn rename(store: &mut TermStore, t: TermId, map: &HashMap<NameId, TermId>) -> TermId {
    store.rewrite(t, &mut |store, u| match store.get(u) {
        Term::Name(n) => map.get(n).copied(),
        _ => None,
    })
}

/// Maps concrete instances `s#i` back to their abstract name `s`.
fn abstract_of(store: &mut TermStore, t: TermId) -> TermId {
    store.rewrite(t, &mut |store, u| {
        let Term::Name(n) = store.get(u) else {
            return None;
        };
        let text = store.name(*n).text.clone();
        let base = store.find_name(text.split_once('#')?.0)?;
        Some(store.name_term(base))
    })
}

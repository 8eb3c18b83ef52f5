//! Compiling rules into join plans: the "compile to rules" stage.
//!
//! The attacker can supply a term to a function in two ways: it has
//! *obtained* the term (it is in the knowledge set), or it *builds* it by
//! applying a public constructor to terms it can supply. An input pattern
//! `senc(x, K)` therefore has two alternatives: match an obtained
//! `senc(_, K)`, or build one (supply some `x` and supply `K`). A plan is one
//! choice of alternative for every input, flattened into [`Step`]s and
//! ordered so that selective lookups come first and the attacker's free
//! choices last. A deduction takes its first input apart: that input must
//! be obtained (building it would teach nothing), and its other inputs, the
//! keys, only have to be derivable; so a deduction has one plan.
//!
//! Datalog reading of a plan with steps s1..sn for rule r:
//! `fired(r, b) :- pm(p, 0, {}), s1, ..., sn` where each step extends the
//! binding b.

use crate::front::program::{Check, Program, RuleId, RuleKind};
use crate::front::term::{CtorId, Term, TermId, TermStore};

/// One step of a plan; each extends or filters the binding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// Match `pattern`, an application of `ctor`, against every obtained
    /// term with that constructor.
    KnownByCtor {
        /// The pattern.
        pattern: TermId,
        /// Its head constructor.
        ctor: CtorId,
    },
    /// Match `pattern` against the obtained terms whose subterm at `pos`
    /// is the instance of `arg` (bound by earlier steps).
    KnownByArg {
        /// The pattern.
        pattern: TermId,
        /// Its head constructor.
        ctor: CtorId,
        /// The place used as lookup key: an argument, or an argument of an
        /// argument ([`KeyPos`]).
        pos: KeyPos,
        /// The argument pattern, bound when the step runs.
        arg: TermId,
        /// A second key, deeper in the pattern, for when it is expected to
        /// be shared by fewer obtained terms: the engine looks up by
        /// whichever of the two keys' instances indexes fewer terms when
        /// the step runs. Either key finds every match (the pattern is
        /// matched whole after the lookup), so the choice changes the work
        /// done, never the result.
        alt: Option<(KeyPos, TermId)>,
    },
    /// The instance of `pattern` (bound by now) must be derivable: obtained,
    /// or built from derivable terms with public constructors.
    Derivable {
        /// The pattern.
        pattern: TermId,
    },
    /// The attacker chooses the value of `var`: every obtained term up to
    /// the input-depth bound. A bound: other derivable values exist.
    Choose {
        /// The variable.
        var: u32,
    },
    /// The attacker chooses the value of `var`, which is used under XOR:
    /// every obtained term up to the input-depth bound and every XOR of up
    /// to xor-width obtained names, each XORed with the instance of
    /// `offset` when there is one. A bound, like `Choose`.
    ChooseXor {
        /// The variable.
        var: u32,
        /// The other operands of the XOR input the variable sits in.
        offset: Option<TermId>,
    },
    /// `var` takes each listed ground term (from a `var in [...]` check);
    /// exhaustive, so no bound.
    Enumerate {
        /// The variable.
        var: u32,
        /// The values.
        options: Vec<TermId>,
    },
    /// `var` occurs nowhere else, so any derivable value does: the
    /// attacker's own name. Exhaustive, so no bound.
    AnyValue {
        /// The variable.
        var: u32,
        /// The attacker's name.
        value: TermId,
    },
    /// A check of the rule, all of whose variables are bound by now.
    Check(Check),
}

/// One way to match all inputs of a rule.
#[derive(Clone, Debug)]
pub struct Plan {
    /// The rule it fires.
    pub rule: RuleId,
    /// The steps, in execution order.
    pub steps: Vec<Step>,
}

/// Most plans a rule may have; beyond it, building nested inputs is only
/// tried at the top level.
const MAX_PLANS_PER_RULE: usize = 64;

/// What an input requires before ordering.
#[derive(Clone, Debug)]
enum Need {
    /// An obtained term matching the pattern.
    Known(TermId),
    /// A derivable term matching the pattern (a variable, XOR or ground).
    Supply(TermId),
}

/// Plans for every rule, and the rules whose alternatives were cut short.
#[derive(Clone, Debug, Default)]
pub struct Compiled {
    /// The plans.
    pub plans: Vec<Plan>,
    /// Rules for which not every way of building their inputs got a plan
    /// (more than [`MAX_PLANS_PER_RULE`]): a bound on the search.
    pub truncated: Vec<RuleId>,
}

/// Compiles every rule of the program into plans.
pub fn compile(program: &mut Program, attacker: TermId) -> Compiled {
    let mut plans = Vec::new();
    let mut truncated = Vec::new();
    for r in 0..program.rules.len() {
        let rule = program.rules[r].clone();
        let store = &mut program.store;
        let build = rule.kind == RuleKind::Call;
        // Alternatives per input, then their cross product.
        let mut combos: Vec<Vec<Need>> = vec![Vec::new()];
        let mut cut_short = false;
        for (i, &input) in rule.inputs.iter().enumerate() {
            let budget = MAX_PLANS_PER_RULE / combos.len().max(1);
            // A deduction takes its first input apart: that one must be
            // obtained; the others (keys) only have to be derivable.
            let alts = if !build && i > 0 {
                vec![vec![Need::Supply(input)]]
            } else {
                alternatives(store, input, build, budget, &mut cut_short)
            };
            let mut next = Vec::new();
            for c in &combos {
                for a in &alts {
                    let mut v = c.clone();
                    v.extend(a.iter().cloned());
                    next.push(v);
                }
            }
            combos = next;
        }
        if cut_short {
            truncated.push(RuleId(r as u32));
        }
        let xor_vars = xor_vars(store, &rule.inputs, &rule.outputs, &rule.checks);
        let counts = occurrences(
            store,
            &rule.inputs,
            &rule.outputs,
            &rule.checks,
            rule.var_names.len(),
        );
        for needs in combos {
            let steps = order(
                store,
                needs,
                &rule.checks,
                &xor_vars,
                &counts,
                attacker,
                rule.var_names.len(),
            );
            plans.push(Plan {
                rule: RuleId(r as u32),
                steps,
            });
        }
    }
    Compiled { plans, truncated }
}

/// The ways an input pattern can be supplied; sets `cut_short` when the
/// budget left some out.
fn alternatives(
    store: &TermStore,
    p: TermId,
    build: bool,
    budget: usize,
    cut_short: &mut bool,
) -> Vec<Vec<Need>> {
    if store.is_ground(p) {
        return vec![vec![Need::Supply(p)]];
    }
    match store.get(p) {
        Term::App(c, args) => {
            let mut out = vec![vec![Need::Known(p)]];
            if build && store.ctor(*c).public && budget <= 1 {
                *cut_short = true;
            }
            if build && store.ctor(*c).public && budget > 1 {
                let mut combos: Vec<Vec<Need>> = vec![Vec::new()];
                for &a in args.iter() {
                    let alts = alternatives(store, a, build, budget / 2, cut_short);
                    let mut next = Vec::new();
                    for c in &combos {
                        for alt in &alts {
                            let mut v = c.clone();
                            v.extend(alt.iter().cloned());
                            next.push(v);
                        }
                    }
                    combos = next;
                    if combos.len() > budget {
                        combos.truncate(budget);
                        *cut_short = true;
                    }
                }
                out.extend(combos);
            }
            out
        }
        _ => vec![vec![Need::Supply(p)]],
    }
}

/// Variables that occur as an XOR operand anywhere in the rule.
fn xor_vars(
    store: &TermStore,
    inputs: &[TermId],
    outputs: &[TermId],
    checks: &[Check],
) -> Vec<u32> {
    fn walk(store: &TermStore, t: TermId, under_xor: bool, out: &mut Vec<u32>) {
        match store.get(t) {
            Term::Var(v) if under_xor && !out.contains(v) => out.push(*v),
            Term::App(_, args) => args.iter().for_each(|a| walk(store, *a, false, out)),
            Term::Xor(args) => args.iter().for_each(|a| walk(store, *a, true, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    for t in inputs
        .iter()
        .chain(outputs)
        .copied()
        .chain(check_terms(checks))
    {
        walk(store, t, false, &mut out);
    }
    out
}

fn check_terms(checks: &[Check]) -> Vec<TermId> {
    let mut out = Vec::new();
    for c in checks {
        match c {
            Check::Equal(a, b) | Check::NotEqual(a, b) => out.extend([*a, *b]),
            Check::OneOf(a, list) => {
                out.push(*a);
                out.extend(list.iter().copied());
            }
        }
    }
    out
}

/// How often each variable occurs in the rule.
fn occurrences(
    store: &TermStore,
    inputs: &[TermId],
    outputs: &[TermId],
    checks: &[Check],
    nvars: usize,
) -> Vec<usize> {
    fn walk(store: &TermStore, t: TermId, out: &mut [usize]) {
        match store.get(t) {
            Term::Var(v) => out[*v as usize] += 1,
            Term::App(_, args) | Term::Xor(args) => args.iter().for_each(|a| walk(store, *a, out)),
            _ => {}
        }
    }
    let mut out = vec![0; nvars];
    for t in inputs
        .iter()
        .chain(outputs)
        .copied()
        .chain(check_terms(checks))
    {
        walk(store, t, &mut out);
    }
    out
}

fn check_vars(store: &TermStore, c: &Check) -> Vec<u32> {
    let mut out = Vec::new();
    for t in check_terms(std::slice::from_ref(c)) {
        for v in store.vars(t) {
            if !out.contains(&v) {
                out.push(v);
            }
        }
    }
    out
}

/// XOR nodes of `p` with two or more operands still unbound: the variables
/// to choose before `p` can be matched.
fn open_xor_vars(store: &TermStore, p: TermId, bound: &[bool]) -> Vec<u32> {
    let mut out = Vec::new();
    fn walk(store: &TermStore, t: TermId, bound: &[bool], out: &mut Vec<u32>) {
        match store.get(t) {
            Term::App(_, args) => args.iter().for_each(|a| walk(store, *a, bound, out)),
            Term::Xor(args) => {
                let open: Vec<u32> = args
                    .iter()
                    .flat_map(|a| store.vars(*a))
                    .filter(|v| !bound[*v as usize])
                    .collect();
                if open.len() >= 2 {
                    out.extend(open[..open.len() - 1].iter().copied());
                }
            }
            _ => {}
        }
    }
    walk(store, p, bound, &mut out);
    out
}

fn all_bound(store: &TermStore, t: TermId, bound: &[bool]) -> bool {
    store.vars(t).iter().all(|v| bound[*v as usize])
}

/// Where a lookup key sits in a pattern `f(a0, ..)`: argument `ai`
/// (`Arg(i)`), or argument `j` of the application `ai`
/// (`Sub(i, j)`). Encoded in 16 bits for the engine's index of obtained
/// terms ([`KeyPos::code`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KeyPos {
    /// An argument of the pattern's head.
    Arg(u8),
    /// An argument of an argument (both positions below 128).
    Sub(u8, u8),
}

impl KeyPos {
    /// The 16-bit code the engine indexes by: `i` for `Arg(i)`, and
    /// `0x8000 | i << 8 | j` for `Sub(i, j)`.
    pub fn code(self) -> u16 {
        match self {
            KeyPos::Arg(i) => u16::from(i),
            KeyPos::Sub(i, j) => 0x8000 | u16::from(i) << 8 | u16::from(j),
        }
    }
}

/// The lookup keys of a pattern to be matched against obtained terms:
/// subterms whose variables are all bound, so that their instances are
/// known when the step runs. The first: the first bound argument (else a
/// bound argument of an argument, as for the second). The second, only
/// where every bound argument is ground: a bound argument of an argument,
/// one with a variable first, then the leftmost. A constant key such as the
/// `MK` of `{L1, k}MK` may be shared by every stored token, or by few terms
/// where the attacker encrypts under keys of its own; the tag `L1` inside
/// it the other way round; so the engine compares the two buckets when the
/// step runs. XOR terms are never keys below the top (an XOR argument of
/// an argument would need its own normal form there).
fn lookup_keys(store: &TermStore, p: TermId, bound: &[bool]) -> Option<LookupKeys> {
    let Term::App(_, args) = store.get(p) else {
        return None;
    };
    let top: Vec<(u8, TermId)> = args
        .iter()
        .enumerate()
        .take(256)
        .filter(|(_, a)| all_bound(store, **a, bound))
        .map(|(i, a)| (i as u8, *a))
        .collect();
    let first_top = top.first().map(|(i, a)| (KeyPos::Arg(*i), *a));
    if top.iter().any(|(_, a)| !store.is_ground(*a)) {
        return first_top.map(|k| (k, None));
    }
    let mut deeper: Option<(bool, KeyPos, TermId)> = None;
    for (i, &a) in args.iter().enumerate().take(128) {
        let Term::App(_, sub) = store.get(a) else {
            continue;
        };
        if all_bound(store, a, bound) {
            continue;
        }
        for (j, &b) in sub.iter().enumerate().take(128) {
            if matches!(store.get(b), Term::Xor(_)) || !all_bound(store, b, bound) {
                continue;
            }
            let has_var = !store.is_ground(b);
            if deeper.is_none_or(|(v, _, _)| has_var && !v) {
                deeper = Some((has_var, KeyPos::Sub(i as u8, j as u8), b));
            }
        }
    }
    let deeper = deeper.map(|(_, pos, b)| (pos, b));
    match (first_top, deeper) {
        (Some(top), deeper) => Some((top, deeper)),
        (None, Some(deeper)) => Some((deeper, None)),
        (None, None) => None,
    }
}

/// A step's lookup key and its alternative ([`Step::KnownByArg`]).
type LookupKeys = ((KeyPos, TermId), Option<(KeyPos, TermId)>);

/// Orders the needs of one plan into steps.
fn order(
    store: &mut TermStore,
    mut needs: Vec<Need>,
    checks: &[Check],
    xor_vars: &[u32],
    counts: &[usize],
    attacker: TermId,
    nvars: usize,
) -> Vec<Step> {
    let mut bound = vec![false; nvars];
    let mut steps = Vec::new();
    let mut pending_checks: Vec<Check> = checks.to_vec();
    let choose_var = |store: &mut TermStore,
                      v: u32,
                      offset: Option<TermId>,
                      checks: &[Check]|
     -> Step {
        let var_term = store.var(v);
        for c in checks {
            if let Check::OneOf(a, list) = c {
                if *a == var_term && list.iter().all(|t| store.is_ground(*t)) && offset.is_none() {
                    return Step::Enumerate {
                        var: v,
                        options: list.clone(),
                    };
                }
            }
        }
        if xor_vars.contains(&v) {
            Step::ChooseXor { var: v, offset }
        } else if counts[v as usize] <= 1 && offset.is_none() {
            Step::AnyValue {
                var: v,
                value: attacker,
            }
        } else {
            Step::Choose { var: v }
        }
    };
    // 0. Variables with a finite `in [...]` list: enumerating them first turns
    // lookups that mention them into keyed ones, and costs no bound.
    for c in checks {
        if let Check::OneOf(a, list) = c {
            if let Term::Var(v) = store.get(*a).clone() {
                if !bound[v as usize] && list.iter().all(|t| store.is_ground(*t)) {
                    steps.push(Step::Enumerate {
                        var: v,
                        options: list.clone(),
                    });
                    bound[v as usize] = true;
                }
            }
        }
    }
    loop {
        // 1. Anything fully bound: a derivability check, then checks.
        let mut progressed = false;
        let mut i = 0;
        while i < needs.len() {
            let p = match &needs[i] {
                Need::Known(p) | Need::Supply(p) => *p,
            };
            if all_bound(store, p, &bound) {
                steps.push(Step::Derivable { pattern: p });
                needs.remove(i);
                progressed = true;
            } else {
                i += 1;
            }
        }
        pending_checks.retain(|c| {
            if check_vars(store, c).iter().all(|v| bound[*v as usize]) {
                steps.push(Step::Check(c.clone()));
                false
            } else {
                true
            }
        });
        if needs.is_empty() {
            break;
        }
        if progressed {
            continue;
        }
        // 2. A lookup of an obtained term, by a bound subterm if possible.
        let mut best: Option<(usize, bool)> = None;
        for (i, n) in needs.iter().enumerate() {
            if let Need::Known(p) = n {
                if !open_xor_vars(store, *p, &bound).is_empty() {
                    continue;
                }
                // Which need comes next is decided by top-level keys alone
                // (the first need with a bound argument, else the first
                // need); the key within it may then be a deeper one. The
                // order of steps decides which partial matches a staged
                // run keeps, so it stays as it was before deeper keys.
                let top = lookup_keys(store, *p, &bound)
                    .is_some_and(|((pos, _), _)| matches!(pos, KeyPos::Arg(_)));
                if best.is_none() || (top && best.is_some_and(|b| !b.1)) {
                    best = Some((i, top));
                }
            }
        }
        if let Some((i, _)) = best {
            let Need::Known(p) = needs.remove(i) else {
                unreachable!("chosen from Known needs")
            };
            let keys = lookup_keys(store, p, &bound);
            let &Term::App(ctor, _) = store.get(p) else {
                unreachable!("a Known need is an application")
            };
            steps.push(match keys {
                Some(((pos, arg), alt)) => Step::KnownByArg {
                    pattern: p,
                    ctor,
                    pos,
                    arg,
                    alt,
                },
                None => Step::KnownByCtor { pattern: p, ctor },
            });
            for v in store.vars(p) {
                bound[v as usize] = true;
            }
            continue;
        }
        // 3. An attacker's choice: a bare variable or an XOR input.
        let supply = needs.iter().position(|n| matches!(n, Need::Supply(_)));
        if let Some(i) = supply {
            let Need::Supply(p) = needs[i] else {
                unreachable!("position found a Supply")
            };
            let open: Vec<u32> = store
                .vars(p)
                .into_iter()
                .filter(|v| !bound[*v as usize])
                .collect();
            match store.get(p).clone() {
                Term::Xor(ops) if open.len() == 1 => {
                    // u = v ⊕ rest: the attacker supplies u, so v = u ⊕ rest.
                    let v = open[0];
                    let vt = store.var(v);
                    let rest: Vec<TermId> = ops.iter().copied().filter(|o| *o != vt).collect();
                    let offset = if rest.len() == ops.len() {
                        None
                    } else {
                        Some(store.xor(&rest))
                    };
                    let step = choose_var(store, v, offset, checks);
                    steps.push(step);
                    bound[v as usize] = true;
                }
                _ => {
                    let v = open[0];
                    let step = choose_var(store, v, None, checks);
                    steps.push(step);
                    bound[v as usize] = true;
                }
            }
            continue;
        }
        // 4. Only lookups blocked by XOR nodes with several open operands.
        let mut chosen = false;
        for n in &needs {
            if let Need::Known(p) = n {
                if let Some(&v) = open_xor_vars(store, *p, &bound).first() {
                    steps.push(Step::ChooseXor {
                        var: v,
                        offset: None,
                    });
                    bound[v as usize] = true;
                    chosen = true;
                    break;
                }
            }
        }
        if !chosen {
            // Unreachable for lowered rules; bind the first open variable.
            let v = (0..nvars).find(|v| !bound[*v]).unwrap_or(0) as u32;
            steps.push(Step::Choose { var: v });
            bound[v as usize] = true;
        }
    }
    for c in pending_checks {
        steps.push(Step::Check(c));
    }
    steps
}

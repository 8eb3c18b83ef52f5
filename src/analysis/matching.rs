//! Matching patterns against ground terms modulo XOR, and instantiating
//! patterns under a binding.
//!
//! A [`Binding`] maps a rule's variables (by number) to ground terms. Match
//! results are all the bindings that extend the given one and make the
//! pattern's instance equal to the term. Equality is modulo XOR because XOR
//! terms are interned in normal form: an XOR pattern node is solved for the
//! one operand it leaves open (`kek ⊕ t` against `k1 ⊕ k2 ⊕ PIN`, with `kek`
//! bound to `k1 ⊕ k2`, gives `t = PIN`).

use crate::front::term::{Term, TermId, TermStore};

/// The value of an unbound variable in a [`Binding`].
pub const UNBOUND: TermId = TermId(u32::MAX);

/// Values of a rule's variables, indexed by variable number; [`UNBOUND`]
/// where none is bound yet.
pub type Binding = Vec<TermId>;

/// A binding with `n` unbound variables.
pub fn empty_binding(n: usize) -> Binding {
    vec![UNBOUND; n]
}

/// The instance of `pattern` under `binding`, in normal form, or `None`
/// when it holds an unbound variable.
pub fn instantiate(store: &mut TermStore, pattern: TermId, binding: &[TermId]) -> Option<TermId> {
    if store.is_ground(pattern) {
        return Some(pattern);
    }
    match store.get(pattern) {
        Term::Var(v) => binding.get(*v as usize).copied().filter(|t| *t != UNBOUND),
        &Term::App(c, ref args) if args.len() <= SMALL => {
            // No allocation unless the instance is new: the arguments'
            // instances go to a buffer on the stack.
            let n = args.len();
            let mut out = [UNBOUND; SMALL];
            for (i, slot) in out.iter_mut().enumerate().take(n) {
                let Term::App(_, args) = store.get(pattern) else {
                    unreachable!("the pattern is an application")
                };
                *slot = instantiate(store, args[i], binding)?;
            }
            Some(store.app(c, &out[..n]))
        }
        Term::App(c, args) => {
            let (c, args) = (*c, args.clone());
            let out = instantiate_each(store, &args, binding)?;
            Some(store.app(c, &out))
        }
        Term::Xor(args) => {
            let args = args.clone();
            let out = instantiate_each(store, &args, binding)?;
            Some(store.xor(&out))
        }
        Term::Name(_) | Term::Zero => Some(pattern),
    }
}

/// Applications with at most this many arguments are instantiated without
/// a heap buffer.
const SMALL: usize = 8;

/// The instances of `patterns`, or `None` if one holds an unbound variable.
fn instantiate_each(
    store: &mut TermStore,
    patterns: &[TermId],
    binding: &[TermId],
) -> Option<Vec<TermId>> {
    patterns
        .iter()
        .map(|p| instantiate(store, *p, binding))
        .collect()
}

/// True when every variable of `pattern` is bound.
pub fn is_bound(store: &TermStore, pattern: TermId, binding: &[TermId]) -> bool {
    store
        .vars(pattern)
        .iter()
        .all(|v| binding.get(*v as usize).is_some_and(|t| *t != UNBOUND))
}

/// True when some XOR node of `pattern` has two or more operands with
/// variables unbound in `binding`: matching it now would have to guess how
/// to split the XOR.
pub fn xor_blocked(store: &TermStore, pattern: TermId, binding: &[TermId]) -> bool {
    if store.is_ground(pattern) {
        return false;
    }
    match store.get(pattern) {
        Term::App(_, args) => args.iter().any(|a| xor_blocked(store, *a, binding)),
        Term::Xor(args) => {
            args.iter()
                .filter(|a| !is_bound(store, **a, binding))
                .count()
                >= 2
        }
        _ => false,
    }
}

/// Every extension of `binding` under which `pattern` equals `term`.
///
/// An XOR pattern node with two or more unbound operands is solved by
/// splitting the remaining operands between them (each operand to one
/// side); the planner avoids such nodes by binding all but one first.
pub fn match_term(
    store: &mut TermStore,
    pattern: TermId,
    term: TermId,
    binding: &[TermId],
) -> Vec<Binding> {
    let mut plain = binding.to_vec();
    match match_plain(store, pattern, term, &mut plain) {
        Some(true) => return vec![plain],
        Some(false) => return Vec::new(),
        None => {}
    }
    let mut out = Vec::new();
    match_into(store, pattern, term, binding.to_vec(), &mut out);
    out
}

/// Matching without XOR, in place: `Some(true)` with `binding` extended
/// when `pattern` matches `term` (at most one way: without XOR a match is
/// unique), `Some(false)` when it does not, `None` when the pattern has an
/// XOR node with a variable, which [`match_into`] must solve (`binding`
/// is then partly written, and the caller starts again from its copy).
fn match_plain(
    store: &TermStore,
    pattern: TermId,
    term: TermId,
    binding: &mut [TermId],
) -> Option<bool> {
    if store.is_ground(pattern) {
        return Some(pattern == term);
    }
    match store.get(pattern) {
        Term::Var(v) => {
            let slot = &mut binding[*v as usize];
            if *slot == UNBOUND {
                *slot = term;
                Some(true)
            } else {
                Some(*slot == term)
            }
        }
        Term::App(c, pargs) => {
            let Term::App(tc, targs) = store.get(term) else {
                return Some(false);
            };
            if tc != c {
                return Some(false);
            }
            for (p, t) in pargs.iter().zip(targs.iter()) {
                if !match_plain(store, *p, *t, binding)? {
                    return Some(false);
                }
            }
            Some(true)
        }
        Term::Xor(_) => None,
        Term::Name(_) | Term::Zero => Some(false),
    }
}

fn match_into(
    store: &mut TermStore,
    pattern: TermId,
    term: TermId,
    binding: Binding,
    out: &mut Vec<Binding>,
) {
    if store.is_ground(pattern) {
        if pattern == term {
            out.push(binding);
        }
        return;
    }
    match store.get(pattern).clone() {
        Term::Var(v) => {
            let slot = binding[v as usize];
            if slot == UNBOUND {
                let mut b = binding;
                b[v as usize] = term;
                out.push(b);
            } else if slot == term {
                out.push(binding);
            }
        }
        Term::App(c, pargs) => {
            let targs = match store.get(term) {
                Term::App(tc, targs) if *tc == c => targs.clone(),
                _ => return,
            };
            let mut partial = vec![binding];
            for (p, t) in pargs.iter().zip(targs.iter()) {
                let mut next = Vec::new();
                for b in partial {
                    match_into(store, *p, *t, b, &mut next);
                }
                if next.is_empty() {
                    return;
                }
                partial = next;
            }
            out.extend(partial);
        }
        Term::Xor(pargs) => match_xor(store, &pargs, term, binding, out),
        Term::Name(_) | Term::Zero => {}
    }
}

fn match_xor(
    store: &mut TermStore,
    pargs: &[TermId],
    term: TermId,
    binding: Binding,
    out: &mut Vec<Binding>,
) {
    // residual = term ⊕ (every operand already determined)
    let mut known = vec![term];
    let mut open = Vec::new();
    for &p in pargs {
        match instantiate(store, p, &binding) {
            Some(t) => known.push(t),
            None => open.push(p),
        }
    }
    let residual = store.xor(&known);
    match open.len() {
        0 => {
            if matches!(store.get(residual), Term::Zero) {
                out.push(binding);
            }
        }
        1 => match_into(store, open[0], residual, binding, out),
        _ => {
            // Split the residual's operands between the open operands: the
            // first takes a subset, the others share the rest.
            let ops = store.xor_operands(residual);
            if ops.len() > 12 {
                return;
            }
            let rest_pattern = store.xor(&open[1..]);
            for mask in 0u32..(1 << ops.len()) {
                let mine: Vec<TermId> = (0..ops.len())
                    .filter(|i| mask & (1 << i) != 0)
                    .map(|i| ops[i])
                    .collect();
                let theirs: Vec<TermId> = (0..ops.len())
                    .filter(|i| mask & (1 << i) == 0)
                    .map(|i| ops[i])
                    .collect();
                let mine = store.xor(&mine);
                let theirs = store.xor(&theirs);
                let mut first = Vec::new();
                match_into(store, open[0], mine, binding.clone(), &mut first);
                for b in first {
                    match_into(store, rest_pattern, theirs, b, out);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::front::term::NameKind;

    fn names(s: &mut TermStore, list: &[&str]) -> Vec<TermId> {
        list.iter()
            .map(|n| {
                let id = s.declare_name(n, NameKind::Public);
                s.name_term(id)
            })
            .collect()
    }

    #[test]
    fn solves_the_open_xor_operand() {
        let mut s = TermStore::new();
        let v = names(&mut s, &["k1", "k2", "PIN", "KM"]);
        let senc = s.declare_ctor("senc", 2, true);
        // pattern senc(k, kek ⊕ t), with kek = k1 ⊕ k2 bound
        let (k, kek, t) = (s.var(0), s.var(1), s.var(2));
        let key = s.xor(&[kek, t]);
        let pat = s.app(senc, &[k, key]);
        let real_key = s.xor(&[v[0], v[1], v[2]]);
        let term = s.app(senc, &[v[3], real_key]);
        let mut b = empty_binding(3);
        b[1] = s.xor(&[v[0], v[1]]);
        let got = match_term(&mut s, pat, term, &b);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0][0], v[3]);
        assert_eq!(got[0][2], v[2]);
    }

    #[test]
    fn repeated_variable_must_match_the_same_term() {
        let mut s = TermStore::new();
        let v = names(&mut s, &["a", "b"]);
        let pair = s.tuple_ctor(2);
        let x = s.var(0);
        let pat = s.app(pair, &[x, x]);
        let aa = s.app(pair, &[v[0], v[0]]);
        let ab = s.app(pair, &[v[0], v[1]]);
        assert_eq!(match_term(&mut s, pat, aa, &empty_binding(1)).len(), 1);
        assert!(match_term(&mut s, pat, ab, &empty_binding(1)).is_empty());
    }

    #[test]
    fn xor_of_a_share_with_itself_is_zero() {
        let mut s = TermStore::new();
        let v = names(&mut s, &["s"]);
        let (a, b) = (s.var(0), s.var(1));
        let pat = s.xor(&[a, b]);
        let mut bind = empty_binding(2);
        bind[0] = v[0];
        bind[1] = v[0];
        let zero = s.zero();
        assert_eq!(instantiate(&mut s, pat, &bind), Some(zero));
    }

    #[test]
    fn two_open_operands_split_the_residual() {
        let mut s = TermStore::new();
        let v = names(&mut s, &["a", "b"]);
        let (x, y) = (s.var(0), s.var(1));
        let pat = s.xor(&[x, y]);
        let term = s.xor(&[v[0], v[1]]);
        let got = match_term(&mut s, pat, term, &empty_binding(2));
        // {x,y} = {a⊕b,0}, {a,b}, {b,a}, {0,a⊕b}
        assert_eq!(got.len(), 4);
        for b in got {
            assert_eq!(instantiate(&mut s, pat, &b), Some(term));
        }
    }
}

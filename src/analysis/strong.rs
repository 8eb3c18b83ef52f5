//! Strong secrecy (`apisat check --strong`), as the spi-calculus paper
//! defines secrecy: the attacker cannot tell the system with the secret
//! `K` from the system with `K'`.
//!
//! **Definition.** For a secret name `K` of an API `S` (a fixed one, not
//! a fresh name, which takes a new value on every call): for all closed
//! terms `M`, `M'` (which the attacker may know), `S[M/K]` and `S[M'/K]`
//! are observationally equivalent: no attacker, doing Dolev-Yao
//! deductions, equality tests and calls, behaves differently with the one
//! than with the other. This is Abadi and Gordon's secrecy in the spi
//! calculus, and ProVerif's `noninterf K` (which `apisat export --strong`
//! writes). It is stronger than what `check` decides (that `K` is never
//! derivable): a key that is never derivable, but encrypts something the
//! attacker obtains, is not strongly secret (given `senc(t, K)`, decrypting
//! with `M` succeeds in `S[M/K]` and fails in `S[M'/K]`).
//!
//! apisat decides it only where it can argue the answer, per secret:
//!
//! * **holds** when the condition below is met;
//! * **does not hold** when `K` is derivable with a confirmed attack, or
//!   the attacker obtains `senc(t, K)` (or `aenc(t, pk(K))`) by a run that
//!   replays concretely: renaming `K` to a name `M` the attacker knows and
//!   uses nowhere, the same run gives it `senc(t', M)` in `S[M/K]`, which
//!   it decrypts with `M`, and `senc(t'', M')` in `S[M'/K]`, which `M`
//!   does not decrypt: a test that tells the two apart;
//! * **cannot decide** otherwise, with the reason.
//!
//! **The condition (stored under an unused key).** `K` is a secret name,
//! and
//!
//! 1. `K` occurs in no rule of the API file (no function's or deduction's
//!    inputs, checks or outputs): the HSM never handles `K` by name;
//! 2. every occurrence of `K` in the initial knowledge is inside the
//!    plaintext `p` of a subterm `senc(p, KK)`, `KK` a secret name other
//!    than `K` that occurs in no rule either, and in the knowledge only as
//!    the key of `senc` (never in a plaintext, never elsewhere);
//! 3. no input pattern of a function or file deduction has a subterm
//!    `senc(q, k)` whose key `k` holds a variable (so no pattern can match
//!    a ciphertext under `KK` and bind its parts, or `KK` itself);
//! 4. the plaintexts of the `KK`-ciphertexts in the knowledge hold no XOR,
//!    and no two of them unify with `K` read as a variable (no value of
//!    `K` makes two different `KK`-ciphertexts equal).
//!
//! **Why it is sound.** Fix `M`, `M'`. `KK` is never derivable in either
//! system: it occurs only as a key (keys are never taken out of a term),
//! no rule names it, and no pattern can bind a variable to a key under
//! which it could be output (3). So no step ever looks inside a
//! `KK`-ciphertext: the attacker cannot decrypt it; the HSM matches a
//! `senc` pattern only with a key without variables, which is not `KK`
//! (1, 3), so a `KK`-ciphertext matches only a variable or `_`, whole;
//! and no function or attacker step builds a new `KK`-ciphertext (it
//! would need `KK`). The only terms that depend on `K` are the knowledge
//! `KK`-ciphertexts `c_i[K]` (1, 2). Map every term of a run of `S[M/K]`
//! to the term with each `c_i[M]` replaced by `c_i[M']`. The map is
//! injective on the `KK`-ciphertexts (4: `c_i[M] = c_j[M]` iff `i = j`,
//! for every value; XOR-free, so syntactic unification decides it), and
//! no other term equals one of them (they are the only terms under
//! `KK`), so it is an isomorphism of the term algebra generated from the
//! run's atoms (free constructors; XOR over atoms, which it maps
//! injectively). It therefore preserves every equality test, every
//! destructor's success, every pattern match and check: each step of the
//! one system is a step of the other, with the same observations. The
//! systems are bisimilar, hence observationally equivalent.
//!
//! The condition is narrow by design: it fits a key archived under a
//! storage key the API never uses. A key the API uses to encrypt what the
//! attacker obtains fails strong secrecy, and is reported so.

use serde::Serialize;

use crate::analysis::verdict::{check_program, saturation, Report, SecretReport, Settings};
use crate::front::export::{has_xor, mentions, own_rules, rule_terms};
use crate::front::program::{Program, Secret};
use crate::front::term::{NameId, NameKind, Term, TermId, TermStore};

/// What `--strong` established for one secret.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StrongReport {
    /// `holds`, `does not hold` or `cannot decide`.
    pub result: String,
    /// Why, in a sentence.
    pub reason: String,
}

impl StrongReport {
    fn new(result: &str, reason: String) -> Self {
        StrongReport {
            result: result.to_string(),
            reason,
        }
    }
}

/// [`check_program`], and with `strong` each secret's strong secrecy
/// decided ([`annotate`]).
pub fn check(program: Program, settings: Settings, strong: bool) -> Report {
    if !strong {
        return check_program(program, settings);
    }
    let copy = program.clone();
    let mut report = check_program(program, settings);
    annotate(&mut report, &copy, settings);
    report
}

/// Decides strong secrecy of every secret of `report`, the report of
/// `program`, and records it in the report's secrets.
pub fn annotate(report: &mut Report, program: &Program, settings: Settings) {
    let mut witnesses: Option<Vec<TermId>> = None;
    let mut copy = program.clone();
    for (i, secret) in program.secrets.iter().enumerate() {
        let Some(sr) = report.secrets.get(i) else {
            continue;
        };
        let decided = decide(&mut copy, secret, sr, settings, &mut witnesses);
        report.secrets[i].strong = Some(decided);
    }
}

/// Strong secrecy of one secret.
fn decide(
    program: &mut Program,
    secret: &Secret,
    sr: &SecretReport,
    settings: Settings,
    known: &mut Option<Vec<TermId>>,
) -> StrongReport {
    let store = &program.store;
    let k = match store.get(secret.term) {
        Term::Name(n) if store.name(*n).kind == NameKind::Secret => *n,
        Term::Name(n) if store.name(*n).kind == NameKind::Fresh => {
            return StrongReport::new(
                "cannot decide",
                format!("`{}` is a fresh name, a new value on every call: strong secrecy is decided for the API's fixed secret names", store.name(*n).text),
            )
        }
        _ => {
            return StrongReport::new(
                "cannot decide",
                format!("strong secrecy is decided for secret names, and `{}` is not one", sr.term),
            )
        }
    };
    let name = store.name(k).text.clone();
    if sr.derivable == Some(true) {
        let confirmed = sr.replay.as_ref().is_some_and(|r| r.confirmed)
            || sr.stateful.as_ref().is_some_and(|s| s.result == "attack");
        return if confirmed {
            StrongReport::new("does not hold", format!("`{name}` is derivable (the attack above): with `{name}` replaced by a value the attacker knows, it derives that value and compares"))
        } else {
            StrongReport::new(
                "cannot decide",
                format!("`{name}` is derivable in the abstract model, by an attack not confirmed"),
            )
        };
    }
    let why_not = match stored_unused(program, k) {
        Ok(reason) => return StrongReport::new("holds", reason),
        Err(why) => why,
    };
    // A ciphertext under K the attacker obtains, by a run that replays.
    // (The saturation's terms are its own ids: the program it ran on
    // replaces the copy, once.)
    let known = known.get_or_insert_with(|| {
        let mut p = program.clone();
        let sat = saturation(&mut p, settings);
        *program = p;
        sat.known
    });
    let key = program.store.name_term(k);
    if let Some((w, calls)) = witness(program, known, key, settings) {
        let shown = program.store.show(w);
        let by = if calls == 0 {
            "it holds from the start".to_string()
        } else {
            format!(
                "by {calls} API call{}, confirmed by replay",
                if calls == 1 { "" } else { "s" }
            )
        };
        return StrongReport::new("does not hold", format!("the attacker obtains `{shown}` ({by}): with `{name}` replaced by a value it knows, decrypting it succeeds, and with another value it fails"));
    }
    StrongReport::new("cannot decide", why_not)
}

/// The smallest obtained term `senc(t, K)` or `aenc(t, pk(K))` whose
/// derivation replays concretely, with its number of calls.
fn witness(
    program: &Program,
    known: &[TermId],
    key: TermId,
    settings: Settings,
) -> Option<(TermId, usize)> {
    let store = &program.store;
    let mut candidates: Vec<(usize, String, TermId)> = known
        .iter()
        .filter(|t| keyed_by(store, **t, key))
        .map(|t| {
            let s = store.show(*t);
            (s.len(), s, *t)
        })
        .collect();
    candidates.sort();
    for (_, _, w) in candidates.into_iter().take(3) {
        let mut p = program.clone();
        p.secrets = vec![Secret {
            label: "witness".to_string(),
            term: w,
            span: Default::default(),
        }];
        let r = check_program(p, settings);
        let s = &r.secrets[0];
        let confirmed = s.derivable == Some(true)
            && (s.replay.as_ref().is_some_and(|r| r.confirmed)
                || s.stateful.as_ref().is_some_and(|st| st.result == "attack"));
        if confirmed {
            return Some((w, s.calls.unwrap_or(0)));
        }
    }
    None
}

/// Whether `t` is `senc(_, K)` or `aenc(_, pk(K))`, `key` being `K`.
fn keyed_by(store: &TermStore, t: TermId, key: TermId) -> bool {
    let Term::App(c, args) = store.get(t) else {
        return false;
    };
    match store.ctor(*c).text.as_str() {
        "senc" => args.get(1) == Some(&key),
        "aenc" => args.get(1).is_some_and(|pk| {
            matches!(store.get(*pk), Term::App(p, a) if store.ctor(*p).text == "pk" && a.first() == Some(&key))
        }),
        _ => false,
    }
}

/// The rule of the API file whose text names `n` (or that generates it),
/// if one does.
fn rule_naming(program: &Program, n: NameId) -> Option<String> {
    own_rules(program).into_iter().find_map(|r| {
        let named = r.fresh.contains(&n)
            || rule_terms(r)
                .iter()
                .any(|t| mentions(&program.store, *t, n));
        named.then(|| r.name.clone())
    })
}

/// The condition of the module documentation: `Ok` with the reason it
/// holds, or `Err` with the clause that fails.
fn stored_unused(program: &Program, k: NameId) -> Result<String, String> {
    let store = &program.store;
    let name = &store.name(k).text;
    if let Some(rule) = rule_naming(program, k) {
        return Err(format!("`{name}` is used by `{rule}`; apisat decides strong secrecy only for a name the API never handles (a key stored under a storage key no function uses)"));
    }
    // Clause 2: the wrapping keys.
    let mut wrappers: Vec<NameId> = Vec::new();
    for &t in &program.knowledge {
        wrapped(program, t, k, &mut wrappers)?;
    }
    if wrappers.is_empty() {
        return Ok(format!("`{name}` occurs in no function and nowhere in the initial knowledge: nothing the attacker sees depends on it"));
    }
    // Clause 3: no pattern takes a ciphertext apart by a key with variables.
    for r in own_rules(program) {
        for &input in &r.inputs {
            if let Some(bad) = variable_key(store, input) {
                return Err(format!("`{}` decrypts with a key it binds (`{}`): apisat cannot rule out that it opens the ciphertexts `{name}` is stored in", r.name, store.show(bad)));
            }
        }
    }
    // Clause 4: the ciphertexts under each wrapping key stay apart.
    for &kk in &wrappers {
        let mut ciphertexts: Vec<TermId> = Vec::new();
        for &t in &program.knowledge {
            under(store, t, kk, &mut ciphertexts);
        }
        ciphertexts.sort();
        ciphertexts.dedup();
        for (i, &a) in ciphertexts.iter().enumerate() {
            if has_xor(store, plaintext(store, a)) {
                return Err(format!(
                    "`{}` holds XOR, and apisat compares such plaintexts only without it",
                    store.show(a)
                ));
            }
            for &b in &ciphertexts[i + 1..] {
                let mut bind = None;
                if unify(
                    store,
                    plaintext(store, a),
                    plaintext(store, b),
                    k,
                    &mut bind,
                ) {
                    return Err(format!("`{}` and `{}` are equal for some value of `{name}`: comparing them may tell values apart", store.show(a), store.show(b)));
                }
            }
        }
    }
    let shown: Vec<String> = wrappers
        .iter()
        .map(|w| format!("`{}`", store.name(*w).text))
        .collect();
    Ok(format!("`{name}` occurs only inside initial tokens encrypted under {}, which no function uses and which occur only as keys: no run looks inside them (README: Strong secrecy)", shown.join(", ")))
}

/// Clause 2 on one knowledge term: every occurrence of `k` is in the
/// plaintext of a `senc(p, KK)` with an unused wrapping key `KK`
/// (collected in `wrappers`).
fn wrapped(
    program: &Program,
    t: TermId,
    k: NameId,
    wrappers: &mut Vec<NameId>,
) -> Result<(), String> {
    let store = &program.store;
    if !mentions(store, t, k) {
        return Ok(());
    }
    let name = &store.name(k).text;
    match store.get(t) {
        Term::App(c, args) if store.ctor(*c).text == "senc" => {
            if let Term::Name(kk) = store.get(args[1]) {
                if *kk != k && unused_wrapper(program, *kk) {
                    if !wrappers.contains(kk) {
                        wrappers.push(*kk);
                    }
                    return Ok(());
                }
            }
            for a in args.iter() {
                wrapped(program, *a, k, wrappers)?;
            }
            Ok(())
        }
        Term::App(_, args) | Term::Xor(args) => {
            for a in args.iter() {
                wrapped(program, *a, k, wrappers)?;
            }
            Ok(())
        }
        Term::Name(_) => Err(format!("the attacker holds a term with `{name}` outside any encryption under a key no function uses; apisat decides strong secrecy only for a key stored under such a key")),
        Term::Zero | Term::Var(_) => Ok(()),
    }
}

/// Whether `kk` is a secret name no rule names and that the knowledge
/// holds only as the key of `senc`.
fn unused_wrapper(program: &Program, kk: NameId) -> bool {
    let store = &program.store;
    if store.name(kk).kind != NameKind::Secret {
        return false;
    }
    if rule_naming(program, kk).is_some() {
        return false;
    }
    program.knowledge.iter().all(|t| only_as_key(store, *t, kk))
}

/// Whether every occurrence of `kk` in `t` is the key of a `senc`.
fn only_as_key(store: &TermStore, t: TermId, kk: NameId) -> bool {
    match store.get(t) {
        Term::Name(n) => *n != kk,
        Term::App(c, args) if store.ctor(*c).text == "senc" => {
            only_as_key(store, args[0], kk)
                && (matches!(store.get(args[1]), Term::Name(n) if *n == kk)
                    || only_as_key(store, args[1], kk))
        }
        Term::App(_, args) | Term::Xor(args) => args.iter().all(|a| only_as_key(store, *a, kk)),
        Term::Zero | Term::Var(_) => true,
    }
}

/// The `senc(_, kk)` subterms of `t`.
fn under(store: &TermStore, t: TermId, kk: NameId, out: &mut Vec<TermId>) {
    match store.get(t) {
        Term::App(c, args) => {
            if store.ctor(*c).text == "senc"
                && matches!(store.get(args[1]), Term::Name(n) if *n == kk)
            {
                out.push(t);
            }
            for a in args.iter() {
                under(store, *a, kk, out);
            }
        }
        Term::Xor(args) => args.iter().for_each(|a| under(store, *a, kk, out)),
        _ => {}
    }
}

fn plaintext(store: &TermStore, t: TermId) -> TermId {
    match store.get(t) {
        Term::App(_, args) => args[0],
        _ => t,
    }
}

/// A `senc(q, key)` subterm of a pattern whose key holds a variable.
fn variable_key(store: &TermStore, t: TermId) -> Option<TermId> {
    match store.get(t) {
        Term::App(c, args) => {
            if store.ctor(*c).text == "senc" && has_var(store, args[1]) {
                return Some(t);
            }
            args.iter().find_map(|a| variable_key(store, *a))
        }
        Term::Xor(args) => args.iter().find_map(|a| variable_key(store, *a)),
        _ => None,
    }
}

fn has_var(store: &TermStore, t: TermId) -> bool {
    match store.get(t) {
        Term::Var(_) => true,
        Term::App(_, args) | Term::Xor(args) => args.iter().any(|a| has_var(store, *a)),
        Term::Name(_) | Term::Zero => false,
    }
}

/// Whether `a` and `b` (XOR-free) are equal for some value of the name
/// `k`, read as the one variable; `bind` is its value so far.
fn unify(store: &TermStore, a: TermId, b: TermId, k: NameId, bind: &mut Option<TermId>) -> bool {
    let is_k = |t: TermId| matches!(store.get(t), Term::Name(n) if *n == k);
    let resolve = |t: TermId, bind: &Option<TermId>| if is_k(t) { bind.unwrap_or(t) } else { t };
    let (a, b) = (resolve(a, bind), resolve(b, bind));
    if a == b {
        return true;
    }
    if is_k(a) || is_k(b) {
        let other = if is_k(a) { b } else { a };
        if mentions(store, other, k) {
            return false;
        }
        *bind = Some(other);
        return true;
    }
    match (store.get(a), store.get(b)) {
        (Term::App(c1, x1), Term::App(c2, x2)) if c1 == c2 && x1.len() == x2.len() => {
            let pairs: Vec<(TermId, TermId)> = x1.iter().copied().zip(x2.iter().copied()).collect();
            pairs.into_iter().all(|(x, y)| unify(store, x, y, k, bind))
        }
        _ => false,
    }
}

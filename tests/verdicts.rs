//! What each verdict claims, on small APIs whose answer is reasoned here.

use apisat::engine::{Bounds, Limits};
use apisat::lower::load_source;
use apisat::verdict::{check_program, Proof, Report, Settings, Verdict};

fn check(src: &str, settings: Settings) -> Report {
    let loaded = load_source("test.yaml", src).unwrap_or_else(|d| panic!("{d:?}"));
    check_program(loaded.program, settings)
}

/// No function takes free data and nothing grows: the fixpoint is reached
/// without any bound cutting, so "not derivable" is a proof. K only ever
/// appears under MK or under the hash h, which has no inverse.
#[test]
fn secure_without_cuts_is_proved() {
    let r = check(
        r#"
names: { secret: [K, MK] }
knowledge: ["{K}MK"]
functions:
  - name: Fingerprint
    inputs: ["{k}MK"]
    outputs: ["h(k)"]
"#,
        Settings::default(),
    );
    assert_eq!(r.verdict, Verdict::Secure);
    assert_eq!(r.proof, Some(Proof::Proved));
    assert!(r.bounds.is_empty());
    assert_eq!(r.secrets[0].derivable, Some(false));
}

/// Free data flows to an output: the bounded search's input-depth bound
/// cuts, so only proof mode can prove it, which it does: `{x}K` for any x
/// never reveals K. With XOR in the key, too: `{x}(K ⊕ A)` is ⊕-linear,
/// and K ⊕ A is never a plaintext nor derivable (K is secret).
#[test]
fn free_data_is_proved_by_proof_mode() {
    let r = check(
        r#"
names: { secret: [K] }
functions:
  - name: Encrypt
    inputs: [x]
    outputs: ["{x}K"]
"#,
        Settings::default(),
    );
    assert_eq!(r.verdict, Verdict::Secure);
    assert_eq!(r.proof, Some(Proof::Proved));
    assert!(r.bounds.is_empty());
    let r = check(
        r#"
names: { public: [A], secret: [K] }
functions:
  - name: Encrypt
    inputs: [x]
    outputs: ["{x}(K xor A)"]
"#,
        Settings::default(),
    );
    assert_eq!(r.verdict, Verdict::Secure);
    assert_eq!(r.proof, Some(Proof::Proved));
    assert!(r.bounds.is_empty());
    assert_eq!(r.secrets[0].proof, Some(Proof::Proved));
}

/// An input `a ⊕ b` with neither variable bound elsewhere: the HSM's split
/// of the supplied value is not determined, which is outside the fragment
/// proof mode handles. The verdict stays "up to" the bound, and the proof
/// gap names the function and the input.
#[test]
fn xor_outside_the_fragment_is_the_located_proof_gap() {
    let r = check(
        r#"
names: { public: [A], secret: [K] }
functions:
  - name: Combine
    inputs: ["a xor b"]
    outputs: ["{a}K"]
"#,
        Settings::default(),
    );
    assert_eq!(r.verdict, Verdict::Secure);
    assert_eq!(r.proof, Some(Proof::UpTo));
    assert_eq!(r.secrets[0].proof, Some(Proof::UpTo));
    assert!(!r.bounds.is_empty());
    let gap = r.proof_gap.as_deref().expect("a proof gap");
    assert_eq!(
        gap,
        "proof mode did not reach an exact fixpoint: XOR is used outside the fragment it \
         handles (Combine: input 1 a ⊕ b has two variables under XOR that no other input binds)"
    );
    assert!(r.rests_on.ends_with(gap), "{}", r.rests_on);
}

/// `{s ⊕ P}K` with K secret, and an oracle encrypting anything under K:
/// the attacker knows P and any `{x}K`, never `s ⊕ P` or K, so s is proved
/// safe for every attacker (the bounded search alone is cut by the free
/// input). With `s ⊕ P` itself known, s is `(s ⊕ P) ⊕ P`: proof mode
/// derives it, so s is never proved safe (whether the bounded search finds
/// the attack depends on its XOR span search, not asserted here).
#[test]
fn xor_masked_secret_is_proved_or_found() {
    let src = r#"
names: { public: [P], secret: [s, K] }
knowledge: ["{s xor P}K"]
functions:
  - name: Encrypt
    inputs: [x]
    outputs: ["{x}K"]
secrets: [s]
"#;
    let r = check(src, Settings::default());
    assert_eq!(r.verdict, Verdict::Secure);
    assert_eq!(r.proof, Some(Proof::Proved));
    assert!(r.bounds.is_empty());
    let leaked = src.replace(r#"knowledge: ["{s xor P}K"]"#, r#"knowledge: ["s xor P"]"#);
    let r = check(&leaked, Settings::default());
    assert_ne!(r.proof, Some(Proof::Proved));
    assert_ne!(r.secrets[0].proof, Some(Proof::Proved));
    let (mut p, run) = proof_mode(&leaked);
    let secret = p.secrets[0].term;
    assert!(run.is_exact());
    assert!(apisat::prove::derivable(&mut p, &run, secret));
}

/// A function returning `c ⊕ x` for the attacker's choice x: with x = 0 it
/// returns c. The bounded search finds it; proof mode, which stores the
/// fact `c ⊕ x` as `c`, must never call c safe.
#[test]
fn c_xor_free_x_is_never_proved_safe() {
    let src = r#"
names: { secret: [c] }
functions:
  - name: Leak
    inputs: [x]
    outputs: ["c xor x"]
"#;
    let r = check(src, Settings::default());
    assert_eq!(r.verdict, Verdict::Attack);
    let (mut p, run) = proof_mode(src);
    let c = p.secrets[0].term;
    assert!(run.is_exact());
    assert!(apisat::prove::derivable(&mut p, &run, c));
}

/// Re-encrypting its own output grows terms without end; the depth bound
/// cuts and must be reported.
#[test]
fn growing_outputs_hit_max_depth() {
    let r = check(
        r#"
names: { public: [A], secret: [K] }
knowledge: ["{A}K"]
functions:
  - name: Rewrap
    inputs: ["{m}K"]
    outputs: ["{m, m}K"]
"#,
        Settings::default(),
    );
    assert_eq!(r.proof, Some(Proof::UpTo));
    assert!(r
        .bounds
        .iter()
        .any(|b| b.bound == "max-depth" && b.rules == ["Rewrap"]));
    // Proof mode grows the same way; the verdict says why it did not help.
    assert!(
        r.rests_on
            .contains("proof mode did not reach an exact fixpoint")
            && r.rests_on.contains("max-depth (Rewrap)"),
        "{}",
        r.rests_on
    );
}

/// Three inputs with nested tuples have more build alternatives than the
/// planner keeps: that must show as a bound, never as a proof. (G, whose
/// input `x ⊕ y` is outside proof mode's XOR fragment, keeps proof mode
/// from closing the gap, so the bounded search's verdict stands.)
#[test]
fn too_many_build_alternatives_is_a_bound() {
    let r = check(
        r#"
names: { public: [A], secret: [K] }
functions:
  - name: F
    inputs: ["((a, b), (c, d))", "((e, f), (g, i))", "((j, l), (m, n))"]
    outputs: ["{(a, e, j), (d, i, n)}(K xor A)"]
  - name: G
    inputs: ["x xor y"]
    outputs: ["{x}K"]
"#,
        Settings::default(),
    );
    assert!(r
        .bounds
        .iter()
        .any(|b| b.bound == "plan-budget" && b.rules == ["F"]));
    assert_ne!(r.proof, Some(Proof::Proved));
}

/// A fact limit reached before a fixpoint gives LIMIT, and a secret not
/// derivable by then is unknown, not safe.
#[test]
fn a_limit_never_claims_a_secret_safe() {
    let settings = Settings {
        bounds: Bounds::default(),
        limits: Limits {
            max_facts: 10,
            timeout: None,
        },
    };
    let r = check(
        r#"
names: { public: [A, B, C], secret: [K] }
functions:
  - name: Encrypt
    inputs: [x, y]
    outputs: ["{x, y}K"]
"#,
        settings,
    );
    assert_eq!(r.verdict, Verdict::Limit);
    assert_eq!(r.secrets[0].derivable, None);
    assert_eq!(r.limit.as_ref().map(|l| l.limit.as_str()), Some("facts"));
}

/// An attack found before a limit is still an attack: it is a real
/// derivation, replayed concretely.
#[test]
fn an_attack_found_before_a_limit_stands() {
    let r = check(
        r#"
names: { public: [A], secret: [K] }
knowledge: ["{K}A"]
"#,
        Settings::default(),
    );
    assert_eq!(r.verdict, Verdict::Attack);
    assert_eq!(r.secrets[0].derivable, Some(true));
}

/// The abstraction merges all of a function's fresh values into one name,
/// so abstractly two shares combine to `s ⊕ s = 0`, and the check `a != b`
/// is relaxed to "may differ" for fresh values. On a real HSM the check
/// forces two different shares, whose XOR is never 0: the attack must be
/// reported, and its replay must say it is not confirmed.
#[test]
fn attacks_resting_on_the_fresh_abstraction_are_not_confirmed() {
    let r = check(
        r#"
names: { public: [PAN], secret: [MK, P], fresh: [s] }
knowledge: ["{P}MK"]
functions:
  - name: GenerateShare
    fresh: [s]
    outputs: ["{s}MK"]
  - name: Combine
    inputs: ["{a}MK", "{b}MK"]
    checks: ["a != b"]
    outputs: ["{a xor b}MK"]
  - name: Send
    inputs: ["{p}MK", "{t}MK"]
    checks: ["p == P"]
    outputs: ["{p}t"]
secrets: [P]
"#,
        Settings::default(),
    );
    let p = &r.secrets[0];
    assert_eq!(p.derivable, Some(true), "abstractly, s xor s = 0");
    let replay = p.replay.as_ref().expect("replayed");
    assert!(!replay.confirmed, "{}", replay.detail);
}

fn proof_mode(src: &str) -> (apisat::program::Program, apisat::prove::ProofRun) {
    let mut program = load_source("test.yaml", src)
        .unwrap_or_else(|d| panic!("{d:?}"))
        .program;
    let run = apisat::prove::prove(&mut program, Bounds::default(), Limits::default());
    (program, run)
}

/// Regression (found by the soundness property test): a fact may bind a
/// variable to a term the attacker cannot derive (`y := s1` from the
/// obtained `senc(e0, s1)`), so building `senc(x, y)` from derivable `x`,
/// `y` does not cover matching the fact. Proof mode must find s1.
#[test]
fn proof_mode_matches_facts_even_when_the_input_could_be_built() {
    let (mut p, run) = proof_mode(
        r#"
names: { attacker: [e0], secret: [s1] }
knowledge: ["(e0, {e0}s1)"]
functions:
  - name: Open
    inputs: ["senc(x, y)"]
    outputs: ["(x, y)"]
"#,
    );
    let s1 = p.secrets[0].term;
    assert!(apisat::prove::derivable(&mut p, &run, s1));
}

/// Regression: resolution can descend forever (`h(x)` against the fact
/// `h((h(y), h(y)))` asks for `h(y')` again). The search is cut at a depth,
/// and a cut run must never be reported as a proof.
#[test]
fn proof_mode_cut_short_is_never_a_proof() {
    let src = r#"
names: { attacker: [e0], public: [p1], secret: [s3] }
functions:
  - name: f0
    inputs: [x, "(y, _)"]
    checks: ["h(y) in [x]"]
    outputs: ["h((x, x))"]
  - name: f1
    inputs: ["h(x)"]
    outputs: ["{s3}senc(x, x)"]
secrets: ["(e0, s3)"]
"#;
    let (mut p, run) = proof_mode(src);
    let secret = p.secrets[0].term;
    assert!(!run.is_exact() || apisat::prove::derivable(&mut p, &run, secret));
    let r = check(src, Settings::default());
    assert_eq!(
        r.verdict,
        Verdict::Attack,
        "f1(h(e0)) then decrypt with senc(e0, e0)"
    );
}

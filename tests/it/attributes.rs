//! Objects with named attributes (issue 11): records lower to the
//! positional handles, `sets` functions respect the token's policy, replay
//! tracks each object's state, and the stateful search finds the real
//! attack or says that there is none within its bound.

use apisat::lower::load_source;
use apisat::verdict::{check_program, Proof, Report, Settings, Verdict};

fn check(src: &str) -> Report {
    check_with(src, Settings::default())
}

fn check_with(src: &str, settings: Settings) -> Report {
    let loaded = load_source("test.yaml", src).unwrap_or_else(|d| panic!("{d:?}"));
    check_program(loaded.program, settings)
}

fn knowledge(src: &str) -> Vec<String> {
    check(src).knowledge
}

/// Clulow's token written with records and with positional tuples: the
/// same program, so the same knowledge set (printed positionally once the
/// attribute names are dropped; with them, by name), and the same attack
/// (its trace printed with named attributes).
#[test]
fn records_lower_to_the_positional_tuples() {
    let named = r#"
attributes: {names: [wrap, decrypt, extractable]}
names: {secret: [k1, k2]}
knowledge: ["hdl(k1, {wrap: T, decrypt: T})", "hdl(k2, {extractable: T})"]
functions:
  - {name: Wrap, inputs: ["hdl(kw, {wrap: T})", "hdl(k, {extractable: T})"], outputs: ["{k}kw"]}
  - {name: Decrypt, inputs: ["hdl(k, {decrypt: T})", "{m}k"], outputs: [m]}
secrets: [k2]
"#;
    let positional = r#"
constructors: [{name: hdl, arity: 2, private: true}]
names: {tags: [T, F], secret: [k1, k2]}
knowledge: ["hdl(k1, (T, T, F))", "hdl(k2, (F, F, T))"]
functions:
  - {name: Wrap, inputs: ["hdl(kw, (T, _, _))", "hdl(k, (_, _, T))"], outputs: ["{k}kw"]}
  - {name: Decrypt, inputs: ["hdl(k, (_, T, _))", "{m}k"], outputs: [m]}
secrets: [k2]
"#;
    let (a, b) = (check(named), check(positional));
    assert_eq!(a.verdict, Verdict::Attack);
    assert_eq!(b.verdict, Verdict::Attack);
    assert_eq!(a.secrets[0].calls, b.secrets[0].calls);
    let unnamed = {
        let mut p = load_source("test.yaml", named)
            .unwrap_or_else(|d| panic!("{d:?}"))
            .program;
        p.objects = None;
        check_program(p, Settings::default()).knowledge
    };
    assert_eq!(unnamed, knowledge(positional));
    let named_set = knowledge(named);
    assert!(
        named_set.contains(&"hdl(k1, {wrap: T, decrypt: T})".to_string()),
        "{named_set:?}"
    );
    assert_eq!(named_set.len(), unnamed.len());
    assert_eq!(
        a.secrets[0].trace[0].args[0],
        "hdl(k1, {wrap: T, decrypt: T})"
    );
    assert_eq!(b.secrets[0].trace[0].args[0], "hdl(k1, (T, T, F))");
}

/// A sticky-on attribute can never be unset: the handle of k2 stays
/// sensitive in every state, even in the monotone abstraction, so the
/// read-out function never applies: a proof.
#[test]
fn sticky_on_blocks_the_unset() {
    let src = r#"
attributes: {names: [sensitive, extractable], sticky_on: [sensitive]}
names: {secret: [k2]}
knowledge: ["hdl(k2, {sensitive: T, extractable: T})"]
functions:
  - {name: GetValue, inputs: ["hdl(k, {sensitive: F, extractable: T})"], outputs: [k]}
  - {name: UnsetSensitive, sets: {sensitive: F}}
"#;
    let r = check(src);
    assert_eq!(r.verdict, Verdict::Secure);
    assert_eq!(r.proof, Some(Proof::Proved));
    // Without the policy: UnsetSensitive then GetValue, a real attack.
    let r = check(&src.replace(", sticky_on: [sensitive]", ""));
    assert_eq!(r.verdict, Verdict::Attack);
    assert_eq!(r.secrets[0].calls, Some(2));
    assert!(r.secrets[0].replay.as_ref().is_some_and(|p| p.confirmed));
}

/// A conflicting pair: `sets` turns one on only while the other is off,
/// and a function's template may not have both.
#[test]
fn conflicts_hold_for_sets_and_for_created_objects() {
    let src = r#"
attributes: {names: [wrap, decrypt, extractable], conflicts: [[wrap, decrypt]]}
names: {secret: [k2]}
knowledge: ["hdl(k2, {extractable: T})"]
functions:
  - {name: Wrap, inputs: ["hdl(kw, {wrap: T})", "hdl(k, {extractable: T})"], outputs: ["{k}kw"]}
  - {name: Decrypt, inputs: ["hdl(k, {decrypt: T})", "{m}k"], outputs: [m]}
  - {name: Copy, inputs: ["hdl(k, {})", "(tw, td)"], outputs: ["hdl(k, {wrap: tw, decrypt: td, extractable: T})"]}
"#;
    // Copy makes two objects of k2, one wrapping, one decrypting: the
    // re-import attack, real (each object is conflict-free).
    let r = check(src);
    assert_eq!(r.verdict, Verdict::Attack);
    assert_eq!(r.secrets[0].calls, Some(4));
    assert!(r.secrets[0].replay.as_ref().is_some_and(|p| p.confirmed));
    assert!(
        !r.knowledge
            .iter()
            .any(|t| t.contains("wrap: T, decrypt: T")),
        "no object with both: {:?}",
        r.knowledge
    );
}

const SET_UNSET: &str = r#"
attributes:
  names: [wrap, decrypt, extractable]
  conflicts: [[wrap, decrypt]]
names: {secret: [k1, k2]}
knowledge: ["hdl(k1, {})", "hdl(k2, {extractable: T})"]
functions:
  - {name: Wrap, inputs: ["hdl(kw, {wrap: T})", "hdl(k, {extractable: T})"], outputs: ["{k}kw"]}
  - {name: Decrypt, inputs: ["hdl(k, {decrypt: T})", "{m}k"], outputs: [m]}
  - {name: SetWrap, sets: {wrap: T}}
  - {name: UnsetWrap, sets: {wrap: F}}
  - {name: SetDecrypt, sets: {decrypt: T}}
  - {name: UnsetDecrypt, sets: {decrypt: F}}
secrets: [k2]
"#;

/// The abstract trace applies SetDecrypt and SetWrap to k1's original
/// handle: replay names the object and both states, never "confirmed".
/// The real attack (Delaune, Kremer, Steel 2008) needs 5 calls: set wrap,
/// wrap, unset wrap, set decrypt, decrypt; the stateful search finds it.
#[test]
fn one_object_in_two_states_is_not_confirmed_and_the_real_attack_is_found() {
    let r = check(SET_UNSET);
    let s = &r.secrets[0];
    assert_eq!(s.calls, Some(4));
    let replay = s.replay.as_ref().expect("replayed");
    assert!(!replay.confirmed);
    assert!(replay.detail.contains("two states"), "{}", replay.detail);
    assert!(replay.detail.contains("hdl(k1)"), "{}", replay.detail);
    assert!(
        replay.detail.contains("{decrypt}") || replay.detail.contains("{wrap}"),
        "{}",
        replay.detail
    );
    let st = s.stateful.as_ref().expect("stateful search ran");
    assert_eq!(st.result, "attack");
    let calls: Vec<&str> = st.trace.iter().map(|c| c.call.as_str()).collect();
    assert_eq!(
        calls,
        ["SetWrap", "Wrap", "UnsetWrap", "SetDecrypt", "Decrypt"]
    );
    assert!(!r.unconfirmed());
}

/// With wrap and decrypt conflicting and both sticky, no object ever
/// holds both in one run: the lifetime model proves the fix (every case,
/// one per choice of lifetime for k1 and k2), and the stateful search is
/// not needed.
#[test]
fn the_sticky_fix_is_proved_with_lifetimes() {
    let src = SET_UNSET.replace(
        "  conflicts: [[wrap, decrypt]]",
        "  conflicts: [[wrap, decrypt]]\n  sticky_on: [wrap, decrypt]",
    );
    let r = check(&src);
    assert_eq!(r.verdict, Verdict::Secure, "{}", apisat::report::text(&r));
    assert_eq!(r.proof, Some(Proof::Proved));
    let s = &r.secrets[0];
    assert_eq!(s.derivable, Some(false));
    assert_eq!(s.proof, Some(Proof::Proved));
    assert!(s.stateful.is_none(), "no search once proved");
    let l = s.lifetime.as_ref().expect("the lifetime model was asked");
    assert_eq!(l.result, "proved");
    assert_eq!(l.cases, 4);
    let text = apisat::report::text(&r);
    assert!(text.contains("SECURE (proved)"), "{text}");
    assert!(text.contains("proved with lifetimes"), "{text}");
    // The same with the stateful search off: the proof does not rest on it.
    let r = check_with(
        &src,
        Settings {
            state_calls: 0,
            ..Settings::default()
        },
    );
    assert_eq!(r.proof, Some(Proof::Proved));
}

/// With only wrap sticky, one object may decrypt, drop decrypt, then wrap:
/// the lifetime model still derives k2 (it does not see the order that
/// makes the token safe), so the run says what the stateful search found,
/// within its bound, and claims neither an attack nor a proof.
#[test]
fn wrap_sticky_alone_has_no_stateful_attack_within_the_bound() {
    let src = SET_UNSET.replace(
        "  conflicts: [[wrap, decrypt]]",
        "  conflicts: [[wrap, decrypt]]\n  sticky_on: [wrap]",
    );
    let r = check(&src);
    let s = &r.secrets[0];
    assert_eq!(s.derivable, Some(true));
    assert!(s.no_stateful_attack());
    assert!(r.unconfirmed());
    // wrap alone is in no conflicting pair of sticky attributes: the
    // lifetime model adds nothing and is not asked.
    assert!(s.lifetime.is_none());
    let st = s.stateful.as_ref().expect("stateful search ran");
    assert_eq!(st.result, "none");
    assert_eq!(st.calls, 8);
    let text = apisat::report::text(&r);
    assert!(text.contains("ATTACK (not confirmed)"), "{text}");
    assert!(
        text.contains("no attack with state within 8 calls"),
        "{text}"
    );
    // A bound of 0 runs no search: the attack stays unconfirmed and is
    // not called "no stateful attack".
    let r = check_with(
        &src,
        Settings {
            state_calls: 0,
            ..Settings::default()
        },
    );
    assert!(r.secrets[0].stateful.is_none());
    assert!(!r.secrets[0].no_stateful_attack());
}

/// Fresh keys: every GenerateKey call makes a new value. With wrap and
/// decrypt conflicting and no copy, no value both wraps and decrypts
/// (Fröschle and Steel 2009's point about fresh data); the abstraction's
/// attack is not confirmed and the stateful search finds none. Without
/// the conflict one generated key does both: a real attack.
#[test]
fn fresh_keys_are_distinct_in_the_stateful_search() {
    let src = r#"
attributes: {names: [wrap, decrypt, extractable], conflicts: [[wrap, decrypt]]}
names: {fresh: [kg]}
functions:
  - {name: GenerateKey, inputs: ["(tw, td)"], fresh: [kg], outputs: ["hdl(kg, {wrap: tw, decrypt: td, extractable: T})"]}
  - {name: Wrap, inputs: ["hdl(kw, {wrap: T})", "hdl(k, {extractable: T})"], outputs: ["{k}kw"]}
  - {name: Decrypt, inputs: ["hdl(k, {decrypt: T})", "{m}k"], outputs: [m]}
secrets: [kg]
"#;
    let r = check_with(
        src,
        Settings {
            state_calls: 5,
            ..Settings::default()
        },
    );
    assert!(
        r.secrets[0].no_stateful_attack(),
        "{}",
        apisat::report::text(&r)
    );
    let r = check(&src.replace(", conflicts: [[wrap, decrypt]]", ""));
    assert_eq!(r.verdict, Verdict::Attack);
    assert!(!r.unconfirmed(), "{}", apisat::report::text(&r));
}

/// `no stateful attack` is an expectation `apisat test` checks.
#[test]
fn the_expectation_no_stateful_attack_is_read_and_checked() {
    let src = format!(
        "{}\nexpect:\n  k2: no stateful attack\n",
        SET_UNSET.replace(
            "  conflicts: [[wrap, decrypt]]",
            "  conflicts: [[wrap, decrypt]]\n  sticky_on: [wrap]",
        )
    );
    let loaded = load_source("test.yaml", &src).unwrap_or_else(|d| panic!("{d:?}"));
    let expect = loaded.expect.clone();
    let r = check_program(loaded.program, Settings::default());
    assert!(apisat::expect::failures(&expect, &r, "test.yaml").is_empty());
    // The attacked token does not meet it.
    let src = format!("{SET_UNSET}\nexpect:\n  k2: no stateful attack\n");
    let loaded = load_source("test.yaml", &src).unwrap_or_else(|d| panic!("{d:?}"));
    let expect = loaded.expect.clone();
    let r = check_program(loaded.program, Settings::default());
    let failures = apisat::expect::failures(&expect, &r, "test.yaml");
    assert_eq!(failures.len(), 1);
}

/// History attributes: `never extractable` is T at creation iff
/// extractable is F, and turns F for good once extractable is set.
#[test]
fn history_attributes_follow_their_attribute() {
    let src = r#"
attributes:
  names: [extractable, never_extractable]
  history: {never_extractable: never extractable}
names: {secret: [k1, k2]}
knowledge: ["hdl(k1, {})", "hdl(k2, {extractable: T})"]
functions:
  - {name: SetExtractable, sets: {extractable: T}}
  - {name: UnsetExtractable, sets: {extractable: F}}
  - {name: Leak, inputs: ["hdl(k, {never_extractable: T, extractable: T})"], outputs: [k]}
"#;
    // k1 starts never-extractable; setting extractable clears it, and
    // unsetting extractable does not bring it back: Leak never applies.
    let r = check(src);
    assert_eq!(r.verdict, Verdict::Secure, "{}", apisat::report::text(&r));
    // The initial state, after SetExtractable, after UnsetExtractable
    // (the knowledge set names the attributes that are T).
    for state in [
        "hdl(k1, {never_extractable: T})",
        "hdl(k1, {extractable: T})",
        "hdl(k1, {})",
    ] {
        assert!(
            r.knowledge.contains(&state.to_string()),
            "{state}: {:?}",
            r.knowledge
        );
    }
    assert!(!r
        .knowledge
        .contains(&"hdl(k1, {extractable: T, never_extractable: T})".to_string()));
}

/// The PKCS#11 catalogue meets every expectation it states.
#[test]
fn the_pkcs11_catalogue_meets_its_expectations() {
    let root = env!("CARGO_MANIFEST_DIR");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_apisat"))
        .args(["test", &format!("{root}/apis/pkcs11")])
        .output()
        .expect("apisat runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("0 failed; 0 errors"), "{text}");
}

/// `diff` tells the set/unset token (a real attack) from its fixes,
/// although all derive k2 in the monotone model with the same knowledge:
/// the sticky fix is proved (lifetimes), wrap sticky alone has no attack
/// with state within the bound.
#[test]
fn diff_tells_the_sticky_fix_from_the_attack() {
    let fixed = SET_UNSET.replace(
        "  conflicts: [[wrap, decrypt]]",
        "  conflicts: [[wrap, decrypt]]\n  sticky_on: [wrap, decrypt]",
    );
    let (a, b) = (check(SET_UNSET), check(&fixed));
    let d = apisat::diff::diff(&a, &b);
    assert_eq!(d.secrets.len(), 1, "{d:?}");
    assert_eq!(d.secrets[0].b, Some(apisat::fix::Outcome::Proved));
    let wrap_only = SET_UNSET.replace(
        "  conflicts: [[wrap, decrypt]]",
        "  conflicts: [[wrap, decrypt]]\n  sticky_on: [wrap]",
    );
    let d = apisat::diff::diff(&a, &check(&wrap_only));
    assert_eq!(d.secrets.len(), 1, "{d:?}");
    assert_eq!(
        d.secrets[0].b,
        Some(apisat::fix::Outcome::NoStatefulAttack {
            calls: Some(4),
            bound: 8
        })
    );
}

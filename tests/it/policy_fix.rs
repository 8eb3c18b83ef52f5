//! `apisat fix` on tokens with attributes: policy changes beside removing
//! functions (issue 11). The expected suggestions are argued beside each
//! test; every suggestion is re-checked here on the changed API, apart
//! from the search that found it.

use apisat::fix::{FixLimits, Outcome, Search};
use apisat::lower::load_file;
use apisat::policy_fix::{apply, candidates, policy_fixes, PolicyChange};
use apisat::verdict::{check_program, Proof, Settings, Verdict};

fn snapshot(name: &str, args: &[&str]) {
    let (code, out, err) = crate::apisat_bin(args);
    assert_eq!(code, 1, "the API as it is leaks: {err}");
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(concat!(env!("CARGO_MANIFEST_DIR"), "/snapshots/fix"));
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(|| insta::assert_snapshot!(name, out));
}

fn sticky_on(a: &str) -> PolicyChange {
    PolicyChange::StickyOn {
        attribute: a.into(),
    }
}

fn sticky_off(a: &str) -> PolicyChange {
    PolicyChange::StickyOff {
        attribute: a.into(),
    }
}

/// The spec of an API file, re-lowered with policy changes.
fn relower(path: &str, changes: &[PolicyChange]) -> Option<apisat::program::Program> {
    let source = std::fs::read_to_string(path).expect("readable");
    let node = apisat::yaml::parse(path, &source).expect("YAML");
    let (spec, diags) = apisat::spec::read(path, &node);
    apisat::lower::lower_spec(path, &apply(&spec, changes), &source, diags)
        .ok()
        .map(|l| l.program)
}

/// apis/pkcs11/set_unset.yaml (wrap and decrypt conflict, nothing sticky):
/// * `wrap` sticky_off: both objects start with wrap F, so SetWrap never
///   applies and nothing ever wraps: proved. Likewise `decrypt`.
/// * `wrap` and `decrypt` sticky_on: the published fix; no object holds
///   both in one run (lifetimes): proved. Neither alone suffices:
///   - `decrypt` sticky_on alone: set wrap, wrap, unset wrap, set decrypt,
///     decrypt is still a real attack;
///   - `wrap` sticky_on alone: no real attack (the order argument of
///     policies.yaml), but no proof either: not a fix, said as such.
/// * conflicts with `extractable` do not stop k1 wrapping and decrypting.
#[test]
fn set_unset_policy_fixes_are_the_argued_ones() {
    let path = "apis/pkcs11/set_unset.yaml";
    let program = load_file(path.as_ref()).expect("loads").program;
    assert_eq!(
        candidates(&program),
        vec![
            sticky_on("wrap"),
            sticky_on("decrypt"),
            sticky_off("wrap"),
            sticky_off("decrypt"),
            PolicyChange::Conflict {
                a: "wrap".into(),
                b: "extractable".into()
            },
            PolicyChange::Conflict {
                a: "decrypt".into(),
                b: "extractable".into()
            },
        ]
    );
    let relower_set_unset = |c: &[PolicyChange]| relower(path, c);
    let p = policy_fixes(
        &program,
        &relower_set_unset,
        Settings::default(),
        FixLimits::default(),
    );
    let fixes: Vec<Vec<PolicyChange>> = p.fixes.iter().map(|f| f.changes.clone()).collect();
    assert_eq!(
        fixes,
        vec![
            vec![sticky_off("wrap")],
            vec![sticky_off("decrypt")],
            vec![sticky_on("wrap"), sticky_on("decrypt")],
        ]
    );
    assert!(p.fixes.iter().all(|f| f.outcome == Outcome::Proved));
    assert_eq!(p.search, Search::Complete);
    let alone = |c: &PolicyChange| {
        p.alone
            .iter()
            .find(|t| &t.change == c)
            .and_then(|t| t.outcome.clone())
    };
    assert!(matches!(
        alone(&sticky_on("wrap")),
        Some(Outcome::NoStatefulAttack { bound: 8, .. })
    ));
    assert!(matches!(
        alone(&sticky_on("decrypt")),
        Some(Outcome::Derivable { .. })
    ));
    // Each suggestion, checked again on its own.
    for fix in &p.fixes {
        let r = check_program(
            relower(path, &fix.changes).expect("lowers"),
            Settings::default(),
        );
        assert_eq!((r.verdict, r.proof), (Verdict::Secure, Some(Proof::Proved)));
    }
}

/// A change the token cannot have is refused, not checked: declaring
/// `wrap` and `decrypt` conflicting on Clulow's token, whose k1 holds both.
#[test]
fn a_change_an_initial_object_breaks_is_refused() {
    let path = "apis/pkcs11/wrap_decrypt.yaml";
    assert!(relower(
        path,
        &[PolicyChange::Conflict {
            a: "wrap".into(),
            b: "decrypt".into()
        }]
    )
    .is_none());
    // And it is no candidate: an initial object holds both.
    let program = load_file(path.as_ref()).expect("loads").program;
    assert!(!candidates(&program).contains(&PolicyChange::Conflict {
        a: "wrap".into(),
        b: "decrypt".into()
    }));
}

/// An API without attributes has no policy to change.
#[test]
fn no_attributes_no_candidates() {
    let program = load_file("apis/vsm.yaml".as_ref()).expect("loads").program;
    assert!(candidates(&program).is_empty());
    let (_, out, _) = crate::apisat_bin(&["fix", "--format", "json", "apis/vsm.yaml"]);
    assert!(!out.contains("policy_changes"), "{out}");
}

/// The set/unset token: the three fixes argued above, the changes that
/// are no fix alone with what they leave, the search complete.
#[test]
fn snapshot_set_unset_policy() {
    snapshot("set_unset_policy", &["fix", "apis/pkcs11/set_unset.yaml"]);
}

/// sensitive_unset.yaml: `sensitive` sticky_on is the standard's fix
/// (PKCS#11 v2.20, table 15): proved; sticky_off on it or sticky_on on
/// `extractable` leave UnsetSensitive, GetValue.
#[test]
fn snapshot_sensitive_unset_policy() {
    snapshot(
        "sensitive_unset_policy",
        &["fix", "apis/pkcs11/sensitive_unset.yaml"],
    );
}

/// The family variant with only wrap sticky (no real attack within 8
/// calls, not proved): making decrypt sticky too is the sticky fix.
#[test]
fn snapshot_family_variant_policy() {
    snapshot(
        "policies_wrap_sticky_policy",
        &[
            "fix",
            "--variant",
            "conflict-wrap_sticky-decrypt_free",
            "apis/pkcs11/policies.yaml",
        ],
    );
}

/// JSON: `policy_changes` beside the two analyses, each change tagged by
/// kind.
#[test]
fn json_has_the_policy_changes() {
    let (code, out, _) = crate::apisat_bin(&[
        "fix",
        "--format",
        "json",
        "apis/pkcs11/sensitive_unset.yaml",
    ]);
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    let fixes = &v["policy_changes"]["fixes"];
    assert_eq!(fixes[0]["changes"][0]["kind"], "sticky-on");
    assert_eq!(fixes[0]["changes"][0]["attribute"], "sensitive");
    assert_eq!(fixes[0]["outcome"]["status"], "proved");
    assert!(v["necessary"].is_object() && v["removal_sets"].is_object());
}

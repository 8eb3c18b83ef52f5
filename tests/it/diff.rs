//! `apisat diff`: what the attacker learns under one API and not the other,
//! on the VSM and its fixed version, whose knowledge is reasoned in
//! apis/vsm.yaml and apis/vsm_fixed.yaml.

use std::path::Path;
use std::process::Command;

use apisat::diff::{diff, text, KnowledgeDiff};
use apisat::fix::Outcome;
use apisat::verdict::{Report, Settings};

fn check(path: &str) -> Report {
    apisat::check_file(Path::new(path), Settings::default())
        .unwrap_or_else(|f| panic!("{path} does not load: {:?}", f.diagnostics))
        .report
}

fn vsm_vs_fixed() -> KnowledgeDiff {
    diff(&check("apis/vsm.yaml"), &check("apis/vsm_fixed.yaml"))
}

fn canonical(terms: &[String]) -> bool {
    terms
        .windows(2)
        .all(|w| (w[0].chars().count(), &w[0]) < (w[1].chars().count(), &w[1]))
}

/// Learned under the VSM only:
/// * `senc(P, MK)`: the misfiled PIN-key token, initial knowledge there;
///   the fixed API keeps P only under MKP.
/// * `P` and `senc(PAN, P)`: the two attacks (XOR to null key, type
///   confusion); the fixed API is secure.
/// * `senc(0, MK)`: a token combined with itself; in the fixed API the only
///   combination is s1 xor s2, never 0.
///
/// Learned under the fixed API only: its position-bound share tokens
/// `senc((SHARE1, s1), MKS)`, `senc((SHARE2, s2), MKS)` and the combined
/// TMK `senc(s1 ⊕ s2, MK)`; the VSM has no MKS, no s1, no s2.
///
/// In both, so in neither list: `senc(TMK1, MK)` and `senc(P, MKP)` (both
/// files' initial knowledge) and the public `PAN`.
#[test]
fn vsm_against_fixed_terms() {
    let d = vsm_vs_fixed();
    for t in ["senc(P, MK)", "P", "senc(PAN, P)", "senc(0, MK)"] {
        assert!(d.only_a.iter().any(|x| x == t), "{t} not under A only");
        assert!(!d.only_b.iter().any(|x| x == t));
    }
    for t in [
        "senc((SHARE1, s1), MKS)",
        "senc((SHARE2, s2), MKS)",
        "senc(s1 ⊕ s2, MK)",
    ] {
        assert!(d.only_b.iter().any(|x| x == t), "{t} not under B only");
    }
    for t in ["senc(TMK1, MK)", "senc(P, MKP)", "PAN"] {
        assert!(!d.only_a.iter().chain(&d.only_b).any(|x| x == t), "{t}");
    }
    assert!(canonical(&d.only_a) && canonical(&d.only_b));
    // Both runs had the input-depth bound cut EncryptCommsKey's free input
    // (see their snapshots): the header must say so.
    assert!(d
        .a
        .cut
        .as_deref()
        .is_some_and(|c| c.contains("input-depth")));
    assert!(d
        .b
        .cut
        .as_deref()
        .is_some_and(|c| c.contains("input-depth")));
}

/// PIN and P: derivable under the VSM, not under the fixed API. TMK1 is
/// secure in both, so it is not listed. `s` is the VSM's share, `s1`, `s2`
/// the fixed API's: each listed by one side only.
#[test]
fn vsm_against_fixed_secrets() {
    let d = vsm_vs_fixed();
    let labels: Vec<&str> = d.secrets.iter().map(|c| c.label.as_str()).collect();
    assert_eq!(labels, ["PIN", "P", "s", "s1", "s2"]);
    for c in &d.secrets[..2] {
        assert!(matches!(c.a, Some(Outcome::Derivable { calls: Some(2) })));
        assert!(c.b.as_ref().is_some_and(Outcome::not_derivable));
    }
    assert!(d.secrets[2].b.is_none());
    assert!(d.secrets[3].a.is_none() && d.secrets[4].a.is_none());
}

/// Swapping the files swaps the two lists.
#[test]
fn diff_is_symmetric() {
    let a = check("apis/vsm.yaml");
    let b = check("apis/vsm_fixed.yaml");
    let ab = diff(&a, &b);
    let ba = diff(&b, &a);
    assert_eq!(ab.only_a, ba.only_b);
    assert_eq!(ab.only_b, ba.only_a);
}

/// A file against itself: same knowledge, same statuses.
#[test]
fn same_file_no_difference() {
    let a = check("apis/vsm.yaml");
    let d = diff(&a, &a);
    assert!(d.is_empty());
    assert!(text(&d).contains("no difference"));
}

fn apisat(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_apisat"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("apisat runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// Exit codes: 0 identical, 1 different, 2 bad input.
#[test]
fn exit_codes() {
    let (code, out) = apisat(&["diff", "apis/vsm.yaml", "apis/vsm.yaml"]);
    assert_eq!(code, 0, "{out}");
    let (code, out) = apisat(&["diff", "apis/vsm.yaml", "apis/vsm_fixed.yaml"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("  - senc(0, MK)\n"), "{out}");
    assert!(out.contains("  + senc(s1 ⊕ s2, MK)\n"), "{out}");
    let (code, _) = apisat(&["diff", "apis/vsm.yaml", "apis/no_such_file.yaml"]);
    assert_eq!(code, 2);
}

/// JSON carries the same lists.
#[test]
fn json_output() {
    let (code, out) = apisat(&[
        "diff",
        "--format",
        "json",
        "apis/vsm.yaml",
        "apis/vsm_fixed.yaml",
    ]);
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&out).expect("valid JSON");
    let only_a: Vec<&str> = v["only_a"]
        .as_array()
        .expect("only_a")
        .iter()
        .filter_map(|t| t.as_str())
        .collect();
    assert!(only_a.contains(&"senc(PAN, P)"));
    assert_eq!(v["secrets"][0]["label"], "PIN");
    assert_eq!(v["secrets"][0]["a"]["status"], "derivable");
}

#[test]
fn snapshot_vsm_against_fixed() {
    let text = text(&vsm_vs_fixed());
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(concat!(env!("CARGO_MANIFEST_DIR"), "/snapshots/diff"));
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(|| insta::assert_snapshot!("vsm_vs_vsm_fixed", text));
}

//! `apisat fix`: necessary functions and minimal removal sets, on APIs whose
//! answers are reasoned in the comments, and snapshots of the text output.

use std::path::Path;

use apisat::fix::{
    functions_in_trace, necessary_functions, removal_sets, FixLimits, Outcome, RemovalSets, Search,
};
use apisat::lower::{load_file, load_source};
use apisat::program::Program;
use apisat::verdict::{check_program, Settings};

fn load(path: &str) -> Program {
    load_file(Path::new(path))
        .unwrap_or_else(|d| panic!("{path} does not load: {d:?}"))
        .program
}

fn set_names(sets: &RemovalSets) -> Vec<Vec<&str>> {
    sets.sets
        .iter()
        .map(|s| s.functions.iter().map(String::as_str).collect())
        .collect()
}

fn snapshot(name: &str, path: &str) {
    let program = load(path);
    let necessary = necessary_functions(&program, Settings::default());
    let sets = removal_sets(&program, Settings::default(), FixLimits::default());
    let text = apisat::commands::fix::text(&necessary, &sets);
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(concat!(env!("CARGO_MANIFEST_DIR"), "/snapshots/fix"));
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(|| insta::assert_snapshot!(name, text));
}

/// apis/vsm.yaml, the secret P: its shortest attack is
/// CombineKeyShares({P}MK, {P}MK) -> {0}MK, SendPDKToTerminal({P}MKP, {0}MK)
/// -> {P}0. Both are necessary:
/// * without CombineKeyShares the plaintexts under MK are just P, TMK1 and
///   s, never a known key; TranslateCommsKeyToTMK and SendPDKToTerminal only
///   use them as keys, so {P}y is never openable and P never a plaintext.
/// * without SendPDKToTerminal no function outputs P under any key but MK
///   and MKP: TranslateCommsKeyToTMK re-encrypts only values under TCMK,
///   which the attacker chose itself.
///
/// The secret PIN = {PAN}P: its shortest attack is EncryptCommsKey(PAN),
/// TranslateCommsKeyToTMK({PAN}TCMK, {P}MK). Neither is necessary: without
/// either, the attacker still learns P (the attack above) and encrypts PAN
/// under P itself, with no further call, so PIN stays derivable (2 calls).
#[test]
fn vsm_necessary_functions() {
    let n = necessary_functions(&load("apis/vsm.yaml"), Settings::default());
    assert!(matches!(n.base, Outcome::Derivable { .. }));
    let labels: Vec<&str> = n.secrets.iter().map(|s| s.label.as_str()).collect();
    assert_eq!(labels, ["PIN", "P"], "TMK1 and s are not derivable");

    let pin = &n.secrets[0];
    assert_eq!(
        pin.trace_functions,
        ["EncryptCommsKey", "TranslateCommsKeyToTMK"]
    );
    assert!(pin.necessary.is_empty());
    for r in &pin.removals {
        assert_eq!(r.outcome, Outcome::Derivable { calls: Some(2) }, "{r:?}");
    }

    let p = &n.secrets[1];
    assert_eq!(p.trace_functions, ["CombineKeyShares", "SendPDKToTerminal"]);
    assert_eq!(p.necessary, ["CombineKeyShares", "SendPDKToTerminal"]);
    // Checks: the API as it is, then each of the four trace functions once.
    assert_eq!(n.checks, 5);
}

/// apis/vsm.yaml: a fixing set must stop P, so it holds CombineKeyShares
/// or SendPDKToTerminal (each is in every attack on P, above), and it must
/// stop the PIN attack EncryptCommsKey + TranslateCommsKeyToTMK, so it
/// holds one of those two. No single function does both, and each of the
/// four pairs fixes every secret:
/// * without EncryptCommsKey no {x}TCMK exists, so TranslateCommsKeyToTMK
///   never fires and {PAN}P is never made; P is stopped by the other one.
/// * without TranslateCommsKeyToTMK nothing encrypts a chosen value under an
///   MK-stored key, so {PAN}P needs P, which the other removal stops.
///
/// So the minimal removal sets are exactly these four pairs, in file order
/// (EncryptCommsKey, TranslateCommsKeyToTMK, GenerateKeyShare,
/// CombineKeyShares, SendPDKToTerminal). Every set the search reaches at
/// size 2 fixes, so nothing is left to extend: the search is complete.
#[test]
fn vsm_minimal_removal_sets() {
    let r = removal_sets(
        &load("apis/vsm.yaml"),
        Settings::default(),
        FixLimits::default(),
    );
    assert_eq!(
        set_names(&r),
        [
            ["EncryptCommsKey", "CombineKeyShares"],
            ["EncryptCommsKey", "SendPDKToTerminal"],
            ["TranslateCommsKeyToTMK", "CombineKeyShares"],
            ["TranslateCommsKeyToTMK", "SendPDKToTerminal"],
        ]
    );
    assert_eq!(r.search, Search::Complete);
    assert!(r.undecided.is_empty() && r.unfixable.is_empty());
    // Each verdict says what it rests on; none is a bare "secure".
    for s in &r.sets {
        assert!(s.outcome.not_derivable(), "{s:?}");
    }
    // The checks: {}, {Encrypt}, {Translate}, then the four pairs.
    assert_eq!(r.checks, 7);
}

/// With a budget of 3 checks the search checks {}, then the two size-1
/// sets of the PIN attack's trace, and stops before any pair: it must say
/// the budget cut it, with only sizes up to 1 searched in full.
#[test]
fn budget_is_reported() {
    let limits = FixLimits {
        max_size: 3,
        max_checks: 3,
    };
    let program = load("apis/vsm.yaml");
    let r = removal_sets(&program, Settings::default(), limits);
    assert_eq!(r.search, Search::Budget { size: 1 });
    assert!(r.sets.is_empty());
    assert_eq!(r.checks, 3);
    let text = apisat::commands::fix::text(&necessary_functions(&program, Settings::default()), &r);
    assert!(
        text.contains("stopped after 3 checks (--max-checks)"),
        "{text}"
    );
}

/// apis/pkcs11_wrap_decrypt.yaml, k2: the attack is Wrap then Decrypt.
/// * Without Wrap, no ciphertext under k1 or k2 ever exists: Encrypt needs
///   a handle with encrypt set (none: k1 and k2 have it unset), Unwrap one
///   with unwrap set (none, and only Unwrap makes handles; the attacker
///   cannot build `hdl`). So Decrypt has nothing to decrypt.
/// * Without Decrypt, nothing releases a plaintext: Wrap's {k2}k1 stays
///   closed, as k1 is never known (not extractable, never output).
///
/// So both are necessary, and {Wrap} and {Decrypt} are the minimal removal
/// sets: any other fixing set hits the attack's trace, so it holds one of
/// them. The base run has no bound cutting (its snapshot lists none), and a
/// variant without functions fires a subset of its rule instances, so no
/// bound cuts there either: both are proved.
#[test]
fn pkcs11_wrap_or_decrypt() {
    let program = load("apis/pkcs11_wrap_decrypt.yaml");
    let n = necessary_functions(&program, Settings::default());
    assert_eq!(n.secrets.len(), 1);
    assert_eq!(n.secrets[0].label, "k2");
    assert_eq!(n.secrets[0].necessary, ["Wrap", "Decrypt"]);
    for r in &n.secrets[0].removals {
        assert_eq!(r.outcome, Outcome::Proved, "{r:?}");
    }
    let r = removal_sets(&program, Settings::default(), FixLimits::default());
    assert_eq!(set_names(&r), [["Wrap"], ["Decrypt"]]);
    assert!(r.sets.iter().all(|s| s.outcome == Outcome::Proved));
    assert_eq!(r.search, Search::Complete);
}

/// A secure API (the fixed PKCS#11 token is proved secure, see its
/// snapshot) has nothing to fix: no derivable secret, no removal set, one
/// check.
#[test]
fn secure_api_has_nothing_to_fix() {
    let program = load("apis/pkcs11_wrap_decrypt_fixed.yaml");
    let n = necessary_functions(&program, Settings::default());
    assert!(n.secrets.is_empty());
    assert_eq!(n.base, Outcome::Proved);
    let r = removal_sets(&program, Settings::default(), FixLimits::default());
    assert_eq!(r.search, Search::NothingToFix);
    assert!(r.sets.is_empty());
    assert_eq!(r.checks, 1);
}

/// K leaks by Export then either of two decryption functions. Removing
/// Export stops both ways; otherwise both DecryptB and DecryptC must go.
/// Minimal removal sets: {Export} (size 1) and {DecryptB, DecryptC}
/// (size 2). Only Export is necessary for K.
const TWO_WAYS: &str = r#"
names: { secret: [K, W] }
functions:
  - name: Export
    inputs: []
    outputs: ["{K}W"]
  - name: DecryptB
    inputs: ["{x}W"]
    outputs: [x]
  - name: DecryptC
    inputs: ["{x}W"]
    outputs: [x]
secrets: [K]
"#;

fn two_ways() -> Program {
    load_source("two_ways.yaml", TWO_WAYS)
        .unwrap_or_else(|d| panic!("{d:?}"))
        .program
}

#[test]
fn two_ways_all_minimal_sets_up_to_max_size() {
    let program = two_ways();
    let n = necessary_functions(&program, Settings::default());
    assert_eq!(n.secrets[0].necessary, ["Export"]);
    let r = removal_sets(&program, Settings::default(), FixLimits::default());
    assert_eq!(
        set_names(&r),
        vec![vec!["Export"], vec!["DecryptB", "DecryptC"]]
    );
    assert_eq!(r.search, Search::Complete);
}

/// With --max-size 1 the search stops after size 1, where {Export} is
/// found, and must say that larger sets were not searched (the size-2 set
/// {DecryptB, DecryptC} was still waiting).
#[test]
fn max_size_stops_after_smallest_and_says_so() {
    let limits = FixLimits {
        max_size: 1,
        max_checks: 200,
    };
    let r = removal_sets(&two_ways(), Settings::default(), limits);
    assert_eq!(set_names(&r), vec![vec!["Export"]]);
    assert_eq!(r.search, Search::UpToSize { size: 1 });
}

/// The functions of a trace, once each, in the order first called: the
/// VSM's P attack calls CombineKeyShares then SendPDKToTerminal.
#[test]
fn functions_in_trace_in_call_order() {
    let report = check_program(load("apis/vsm.yaml"), Settings::default());
    let p = report
        .secrets
        .iter()
        .find(|s| s.label == "P")
        .expect("P is listed");
    assert_eq!(
        functions_in_trace(p),
        ["CombineKeyShares", "SendPDKToTerminal"]
    );
    let tmk1 = report
        .secrets
        .iter()
        .find(|s| s.label == "TMK1")
        .expect("TMK1 is listed");
    assert!(functions_in_trace(tmk1).is_empty(), "TMK1 is not derivable");
}

#[test]
fn snapshot_vsm() {
    snapshot("vsm", "apis/vsm.yaml");
}

#[test]
fn snapshot_pkcs11_wrap_decrypt() {
    snapshot("pkcs11_wrap_decrypt", "apis/pkcs11_wrap_decrypt.yaml");
}

#[test]
fn snapshot_secure_api() {
    snapshot(
        "pkcs11_wrap_decrypt_fixed",
        "apis/pkcs11_wrap_decrypt_fixed.yaml",
    );
}

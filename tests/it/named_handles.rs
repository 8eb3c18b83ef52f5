//! Knowledge sets and `diff` print handles of APIs with `attributes` by
//! name (`hdl(k1, {wrap: T})`), as traces do, in text and JSON; the
//! attributes that are F are left out, so `hdl(k1, {})` is an object with
//! none. APIs without `attributes` print as before.

fn snapshot(name: &str, args: &[&str], code: i32) {
    let (got, out, err) = crate::apisat_bin(args);
    assert_eq!(got, code, "{err}");
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/snapshots/apis/pkcs11"
    ));
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(|| insta::assert_snapshot!(name, out));
}

/// The set/unset token's knowledge set: k1 in its three states, k2 in its
/// three, by name.
#[test]
fn knowledge_text_names_the_attributes() {
    snapshot(
        "knowledge_set_unset",
        &["knowledge", "apis/pkcs11/set_unset.yaml"],
        1,
    );
}

/// The sticky fix's knowledge set as JSON: named handles, and `rests_on`
/// says the set is the monotone model's, holding k2, which the lifetime
/// model proves out of reach.
#[test]
fn knowledge_json_names_the_attributes_and_says_what_the_set_is() {
    snapshot(
        "knowledge_set_unset_sticky_json",
        &[
            "knowledge",
            "--format",
            "json",
            "apis/pkcs11/set_unset_sticky.yaml",
        ],
        0,
    );
}

/// `sensitive` not sticky against sticky: the handles only the first
/// derives, by name.
#[test]
fn diff_names_the_attributes() {
    snapshot(
        "diff_sensitive_unset_vs_sticky",
        &[
            "diff",
            "apis/pkcs11/sensitive_unset.yaml",
            "apis/pkcs11/sensitive_sticky.yaml",
        ],
        1,
    );
}

/// The set/unset token against its sticky fix: the same monotone
/// knowledge, k2's status changes, and B's header says its set holds
/// what no token run gives.
#[test]
fn diff_of_the_sticky_fix_says_what_its_set_is() {
    snapshot(
        "diff_set_unset_vs_sticky",
        &[
            "diff",
            "apis/pkcs11/set_unset.yaml",
            "apis/pkcs11/set_unset_sticky.yaml",
        ],
        1,
    );
    let (_, out, _) = crate::apisat_bin(&[
        "diff",
        "--format",
        "json",
        "apis/pkcs11/set_unset.yaml",
        "apis/pkcs11/set_unset_sticky.yaml",
    ]);
    let v: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!(v["b"]["beyond_token"][0], "k2");
    assert!(v["a"].get("beyond_token").is_none(), "absent when empty");
}

/// A family variant prints by name too; an API without `attributes` keeps
/// its positional handles.
#[test]
fn variants_by_name_and_positional_apis_unchanged() {
    let (_, out, _) = crate::apisat_bin(&[
        "knowledge",
        "--variant",
        "conflict-wrap_sticky-decrypt_sticky",
        "apis/pkcs11/policies.yaml",
    ]);
    assert!(out.lines().any(|l| l == "hdl(k1, {decrypt: T})"), "{out}");
    assert!(!out.contains("(F, "), "{out}");
    let (_, out, _) = crate::apisat_bin(&["knowledge", "apis/pkcs11_wrap_decrypt.yaml"]);
    assert!(
        out.lines().any(|l| l == "hdl(k1, (T, F, F, T, F))"),
        "{out}"
    );
}

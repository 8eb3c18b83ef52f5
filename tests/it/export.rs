//! `apisat export`: the ProVerif and Tamarin exports of every file in
//! apis/ and of family variants, snapshotted in `snapshots/export/`. A
//! file using XOR gives ProVerif's located error (rendered, snapshotted)
//! and a Tamarin theory with `builtins: xor`. Whether the exports agree
//! with apisat's verdicts is checked by `scripts/crosscheck.sh` with a
//! ProVerif binary, not here (no verifier on CI).

use std::path::Path;
use std::process::Command;

use apisat::export::{export, Target};
use apisat::inputs::{self, Input};
use apisat::lower::{self, Loaded};

/// The export of a loaded API, or its error rendered against `source`.
fn exported(loaded: &Loaded, target: Target) -> String {
    match export(loaded, target) {
        Ok(text) => text,
        Err(d) => format!("error (exit 2):\n{}", d.render(Some(&loaded.source))),
    }
}

/// Loads `apis/NAME` under the name it has in the repository.
fn load_api(path: &Path) -> (String, Loaded) {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let source = std::fs::read_to_string(path).expect("readable");
    let loaded = lower::load_source(&format!("apis/{name}"), &source)
        .unwrap_or_else(|_| panic!("{} does not load", path.display()));
    (name, loaded)
}

fn settings() -> insta::Settings {
    let root = env!("CARGO_MANIFEST_DIR");
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(format!("{root}/snapshots/export"));
    settings.set_prepend_module_to_snapshot(false);
    settings
}

#[test]
fn proverif() {
    settings().bind(|| {
        insta::glob!("../../apis", "*.yaml", |path| {
            let (_, loaded) = load_api(path);
            let text = exported(&loaded, Target::ProVerif);
            // XOR is the one feature ProVerif lacks.
            assert_eq!(
                text.starts_with("error"),
                loaded.program.uses_xor,
                "{}",
                path.display()
            );
            insta::assert_snapshot!(text);
        });
    });
}

#[test]
fn tamarin() {
    settings().bind(|| {
        insta::glob!("../../apis", "*.yaml", |path| {
            let (_, loaded) = load_api(path);
            let text = exported(&loaded, Target::Tamarin);
            assert!(text.starts_with("theory "), "{}", path.display());
            let builtins = text
                .lines()
                .find(|l| l.starts_with("builtins:"))
                .unwrap_or_default();
            assert_eq!(
                builtins.contains("xor"),
                loaded.program.uses_xor,
                "{}",
                path.display()
            );
            // One secrecy lemma per secret.
            assert_eq!(
                text.matches("\nlemma ").count(),
                loaded.program.secrets.len()
            );
            insta::assert_snapshot!(text);
        });
    });
}

/// Variant `name` of the family file at `path` (relative to the
/// repository, which is where cargo runs tests, so that the snapshots
/// name it so).
fn variant(path: &str, name: &str) -> Loaded {
    let Input::Family(family) = inputs::read(Path::new(path)) else {
        panic!("{path} is not a family");
    };
    let index = (0..family.len())
        .find(|i| family.variant_name(*i) == name)
        .unwrap_or_else(|| panic!("{path} has no variant {name}"));
    family.variant(index).loaded.expect("the variant loads")
}

#[test]
fn pkcs11_family_variant() {
    // Clulow's attack configured by the matrix: k1 wraps and decrypts, k2
    // is extractable.
    let loaded = variant(
        "apis/families/pkcs11.yaml",
        "w1=T,u1=F,e1=F,d1=T,x1=F,w2=F,u2=F,e2=F,d2=F,x2=T",
    );
    settings().bind(|| {
        insta::assert_snapshot!(
            "pkcs11_family_variant_proverif",
            exported(&loaded, Target::ProVerif)
        );
        insta::assert_snapshot!(
            "pkcs11_family_variant_tamarin",
            exported(&loaded, Target::Tamarin)
        );
    });
}

#[test]
fn vsm_family_variant_to_tamarin() {
    let loaded = variant("apis/families/vsm.yaml", "tagged-shares");
    let text = exported(&loaded, Target::Tamarin);
    assert!(text.contains("builtins: symmetric-encryption, xor"));
    settings().bind(|| insta::assert_snapshot!("vsm_family_tagged_shares_tamarin", text));
}

fn run(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_apisat"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("apisat runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn xor_to_proverif_is_a_located_error_with_exit_2() {
    let (code, out, err) = run(&["export", "--to", "proverif", "apis/vsm.yaml"]);
    assert_eq!(code, 2);
    assert!(out.is_empty());
    // CombineKeyShares's name, line 103.
    assert!(err.contains("--> apis/vsm.yaml:103:11"), "{err}");
    assert!(err.contains("ProVerif cannot express XOR"), "{err}");
}

#[test]
fn xor_error_in_a_family_variant_is_located_in_the_family_file() {
    // tagged-shares replaces CombineKeyShares in the family file itself.
    let (code, _, err) = run(&[
        "export",
        "--to",
        "proverif",
        "apis/families/vsm.yaml",
        "--variant",
        "tagged-shares",
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("--> apis/families/vsm.yaml:"), "{err}");
    assert!(err.contains("CombineKeyShares"), "{err}");
    // A variant that keeps the base's function is located in the base.
    let (code, _, err) = run(&[
        "export",
        "--to",
        "proverif",
        "apis/families/vsm.yaml",
        "--variant",
        "original",
    ]);
    assert_eq!(code, 2);
    assert!(
        err.contains("--> apis/families/../vsm.yaml:103:11")
            || err.contains("--> apis/vsm.yaml:103:11"),
        "{err}"
    );
}

#[test]
fn family_without_variant_and_bad_input_exit_2() {
    let (code, out, err) = run(&["export", "--to", "tamarin", "apis/families/vsm.yaml"]);
    assert_eq!(code, 2);
    assert!(out.is_empty());
    assert!(err.contains("--variant"), "{err}");
    let (code, _, err) = run(&["export", "--to", "proverif", "no/such/file.yaml"]);
    assert_eq!(code, 2);
    assert!(err.contains("no/such/file.yaml"), "{err}");
}

#[test]
fn exports_are_byte_identical_across_runs() {
    for to in ["proverif", "tamarin"] {
        let (code, first, _) = run(&["export", "--to", to, "apis/pkcs11_wrap_decrypt.yaml"]);
        assert_eq!(code, 0);
        let (_, second, _) = run(&["export", "--to", to, "apis/pkcs11_wrap_decrypt.yaml"]);
        assert_eq!(first, second);
    }
}

/// Fresh names, every kind of check, a private constructor, a user
/// deduction shaped like the built-in decryption (exported as a rule of
/// its own, not dropped), and identifiers that are keywords of the
/// targets (`c`, `new`, `let`, `rule`).
const CORNERS: &str = r#"
apisat: 1
name: export corners
constructors:
  - name: wrapk
    arity: 2
    private: true
  - name: box
    arity: 2
names:
  tags: [A, B, C]
  public: [new]
  secret: [MK, K, rule]
  fresh: [s]
knowledge:
  - "{A, K}MK"
  - "box(rule, K)"
functions:
  - name: Gen
    inputs: [let]
    checks: ["let in [A, B]"]
    fresh: [s]
    outputs: ["{let, s}MK", "wrapk(s, let)"]
  - name: Unwrap
    inputs: ["wrapk(x, t)", c]
    checks: ["t != c", "c == C"]
    outputs: ["{x}c"]
deductions:
  - name: unbox
    inputs: ["box(m, k)", k]
    outputs: [m]
secrets:
  - s
  - K
  - rule
  - term: "{new}s"
    label: new under s
"#;

#[test]
fn corners_of_both_exports() {
    let loaded = lower::load_source("corners.yaml", CORNERS).expect("loads");
    let pv = exported(&loaded, Target::ProVerif);
    // The fresh name is made by its function, and queried as such.
    assert!(pv.contains("new s: bitstring;"), "{pv}");
    assert!(pv.contains("(* s *) attacker(new s);"), "{pv}");
    // Checks: `in [..]` as a disjunction, `!=` and `==`.
    assert!(pv.contains("if (let_2 = A || let_2 = B) then"), "{pv}");
    assert!(pv.contains("if t <> c_2 && c_2 = C then"), "{pv}");
    // The user deduction is a process of its own.
    assert!(pv.contains("let unbox ="), "{pv}");
    // The channel keeps its name; the variable `c` does not take it.
    assert!(!pv.contains("in(c_2") && !pv.contains("out(c_2"), "{pv}");
    let tam = exported(&loaded, Target::Tamarin);
    assert!(tam.contains("Fr(~s)"), "{tam}");
    assert!(tam.contains("rule unbox:"), "{tam}");
    assert!(tam.contains("OneOf2("), "{tam}");
    assert!(tam.contains("Neq(") && tam.contains("Eq("), "{tam}");
    settings().bind(|| {
        insta::assert_snapshot!("corners_proverif", pv);
        insta::assert_snapshot!("corners_tamarin", tam);
    });
}

#[test]
fn a_secret_of_two_functions_fresh_names_is_a_located_tamarin_error() {
    let src = r#"
apisat: 1
names:
  secret: [MK]
  fresh: [s1, s2]
functions:
  - name: One
    inputs: []
    fresh: [s1]
    outputs: ["{s1}MK"]
  - name: Two
    inputs: []
    fresh: [s2]
    outputs: ["{s2}MK"]
secrets:
  - term: "(s1, s2)"
    label: both
"#;
    let loaded = lower::load_source("two.yaml", src).expect("loads");
    let d = export(&loaded, Target::Tamarin).expect_err("no one rule binds both");
    assert_eq!((d.file.as_str(), d.span.line), ("two.yaml", 16));
    assert!(d.message.contains("fresh names of several functions"));
    // ProVerif queries it with both names' `new`.
    let pv = exported(&loaded, Target::ProVerif);
    assert!(
        pv.contains("(* both *) attacker((new s1, new s2))."),
        "{pv}"
    );
}

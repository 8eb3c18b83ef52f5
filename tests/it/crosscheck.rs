//! `scripts/crosscheck.sh` (issue 12, item 4) with a stub ProVerif: a
//! shell script written under `CARGO_TARGET_TMPDIR` that prints canned
//! `RESULT` lines, so the script's comparison, its tables and its exit
//! code are tested without ProVerif, a network or any binary but the one
//! cargo builds. The real cross-check's results are in benches/README.md.
//!
//! The script needs bash, jq and coreutils' `timeout`; where one is
//! missing (CI has only the Rust toolchain) each test passes with a note.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Whether bash, jq and timeout can be run; prints why not.
fn tools() -> bool {
    let ok = Command::new("bash")
        .args(["-c", "command -v jq && command -v timeout"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        eprintln!("crosscheck tests skipped: bash, jq or timeout is not installed");
    }
    ok
}

/// A scratch folder for this process's stubs.
fn scratch() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("apisat-crosscheck-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// Writes an executable stub ProVerif that prints `results` (and a
/// version line for `-help`). A bash child writes it, so no file handle
/// of this multi-threaded test process is open on it when it runs (which
/// could fail with "text file busy").
fn stub(name: &str, results: &str) -> PathBuf {
    let path = scratch().join(name);
    let text = format!(
        "#!/bin/sh\nif [ \"$1\" = -help ]; then echo 'Proverif 2.05 (stub). Cryptographic protocol verifier'; exit 0; fi\ncat <<'EOF'\n{results}EOF\n"
    );
    let mut child = Command::new("bash")
        .args(["-c", "cat > \"$1\" && chmod 755 \"$1\"", "stub"])
        .arg(&path)
        .stdin(Stdio::piped())
        .spawn()
        .expect("bash runs");
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().expect("stdin is piped");
        stdin.write_all(text.as_bytes()).expect("write the stub");
    }
    assert!(child.wait().expect("bash runs").success());
    path
}

/// Runs the script with `options`, then the stub and the binary cargo
/// built; returns exit code and stdout.
fn crosscheck(options: &[&str], proverif: &Path) -> (i32, String) {
    let mut args: Vec<&str> = options.to_vec();
    args.push(proverif.to_str().expect("a UTF-8 path"));
    args.push(env!("CARGO_BIN_EXE_apisat"));
    let (code, out, err) = crosscheck_raw(&args);
    assert!(err.contains("ProVerif runs"), "{err}");
    (code, out)
}

/// The script with exactly `args`; exit code, stdout and stderr.
fn crosscheck_raw(args: &[&str]) -> (i32, String, String) {
    let root = env!("CARGO_MANIFEST_DIR");
    let out = Command::new("bash")
        .arg(format!("{root}/scripts/crosscheck.sh"))
        .args(args)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output()
        .expect("bash runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

const ONE_API: &[&str] = &["--only", "^apis/pkcs11_wrap_decrypt\\.yaml$"];

/// apisat: k2 derivable (Wrap then Decrypt), k1 proved. ProVerif saying
/// the same agrees, exit code 0; the summary counts it.
#[test]
fn agreeing_verdicts_exit_0() {
    if !tools() {
        return;
    }
    let pv = stub(
        "agree",
        "RESULT not attacker(k2[]) is false.\nRESULT not attacker(k1[]) is true.\n",
    );
    let (code, out) = crosscheck(ONE_API, &pv);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("vs Proverif 2.05 (stub)"), "{out}");
    assert!(
        out.contains("| apis/pkcs11_wrap_decrypt.yaml | 1 | 2 | 2 | 0 | 0 | 0 | 0 | 0 |  |"),
        "{out}"
    );
    assert!(
        out.contains(
            "| apis/pkcs11_wrap_decrypt.yaml |  | k2 | derivable | derivable | agree |  |"
        ),
        "{out}"
    );
    assert!(
        out.contains(
            "| apis/pkcs11_wrap_decrypt.yaml |  | k1 | proved | not derivable | agree |  |"
        ),
        "{out}"
    );
    // --only kept every other file out.
    assert!(!out.contains("apis/vsm"), "{out}");
}

/// ProVerif proving secure what apisat derives is a disagreement: exit
/// code 1, the row says DIFFER and why; "cannot be proved" is undecided,
/// not a disagreement.
#[test]
fn disagreement_exits_1_and_cannot_be_proved_is_undecided() {
    if !tools() {
        return;
    }
    let pv = stub(
        "differ",
        "RESULT not attacker(k2[]) is true.\nRESULT not attacker(k1[]) cannot be proved.\n",
    );
    let (code, out) = crosscheck(ONE_API, &pv);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("| apis/pkcs11_wrap_decrypt.yaml | 1 | 2 | 0 | 1 | 0 | 0 | 1 | 0 |  |"),
        "{out}"
    );
    assert!(
        out.contains(
            "| k2 | derivable | not derivable | DIFFER | apisat's attack is confirmed by replay; ProVerif proves the export secure |"
        ),
        "{out}"
    );
    assert!(
        out.contains("| k1 | proved | cannot be proved | undecided | ProVerif: cannot be proved"),
        "{out}"
    );
}

/// A family's variants are exported one by one; where apisat proved a
/// secret with lifetimes or found its attack needs an object in two
/// states, ProVerif's (stateless) attack is "not compared", not a
/// disagreement. The stub answers the same for all 8 policies.
#[test]
fn stateful_family_rows_are_not_compared() {
    if !tools() {
        return;
    }
    let pv = stub(
        "family",
        "RESULT not attacker(k2[]) is false.\nRESULT not attacker(k1[]) is true.\n",
    );
    let (code, out) = crosscheck(&["--only", "^apis/pkcs11/policies\\.yaml$"], &pv);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("| apis/pkcs11/policies.yaml | 8 | 16 | 14 | 0 | 0 | 2 | 0 | 0 |  |"),
        "{out}"
    );
    assert!(
        out.contains(
            "| apis/pkcs11/policies.yaml | conflict-wrap_sticky-decrypt_sticky | k2 | proved | derivable | not compared | export has no state: apisat proved it with lifetimes"
        ),
        "{out}"
    );
    assert!(
        out.contains(
            "| apis/pkcs11/policies.yaml | conflict-wrap_sticky-decrypt_free | k2 | no-stateful-attack | derivable | not compared | export has no state: apisat's attack needs one object in two states"
        ),
        "{out}"
    );
    // Agreeing rows of a family are counted, not listed.
    assert!(!out.contains("| none-wrap_free-decrypt_free |"), "{out}");
}

/// --strong: apisat's "does not hold" agrees with ProVerif's "cannot be
/// proved"; ProVerif proving noninterf where apisat says it does not hold
/// is a disagreement.
#[test]
fn strong_mode() {
    if !tools() {
        return;
    }
    let strong = ["--strong", "--only", "^apis/pkcs11_wrap_decrypt\\.yaml$"];
    let pv = stub(
        "strong-agree",
        "RESULT not attacker(k2[]) is false.\nRESULT not attacker(k1[]) is true.\n\
         RESULT Non-interference k2 cannot be proved.\nRESULT Non-interference k1 cannot be proved.\n",
    );
    let (code, out) = crosscheck(&strong, &pv);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("strong secrecy (noninterf)"), "{out}");
    assert!(
        out.contains("| k1 | does not hold | cannot be proved | agree |  |"),
        "{out}"
    );
    let pv = stub(
        "strong-differ",
        "RESULT not attacker(k2[]) is false.\nRESULT not attacker(k1[]) is true.\n\
         RESULT Non-interference k2 cannot be proved.\nRESULT Non-interference k1 is true.\n",
    );
    let (code, out) = crosscheck(&strong, &pv);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains(
            "| k1 | does not hold | true | DIFFER | apisat: does not hold; ProVerif proves noninterf |"
        ),
        "{out}"
    );
}

/// Without a ProVerif binary, or with no file matching --only: usage
/// error, exit code 2.
#[test]
fn usage_errors_exit_2() {
    if !tools() {
        return;
    }
    let apisat = env!("CARGO_BIN_EXE_apisat");
    let missing = scratch().join("no-such-proverif");
    let missing = missing.to_str().expect("a UTF-8 path");
    let (code, _, err) = crosscheck_raw(&[missing, apisat]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("no ProVerif binary"), "{err}");
    let pv = stub("none", "");
    let pv = pv.to_str().expect("a UTF-8 path");
    let (code, _, err) = crosscheck_raw(&["--only", "^nothing-matches$", pv, apisat]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("no file matches"), "{err}");
}

//! Colour: the binary colours verdicts (stdout) and diagnostics (stderr)
//! only when asked or on a terminal, never into a pipe by default, and
//! never with `NO_COLOR` set under `--color auto`.
//!
//! Every run here has stdout and stderr captured, so both are pipes, not
//! terminals. (That a terminal gets colour under `auto` is the pure
//! decision `Palette::choose`, unit-tested in `src/style.rs`.)

use std::process::{Command, Output};

const ESC: &str = "\x1b[";

/// `apisat ARGS` from the repository root, with `NO_COLOR` as given.
fn apisat(args: &[&str], no_color: Option<&str>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_apisat"));
    cmd.current_dir(env!("CARGO_MANIFEST_DIR")).args(args);
    match no_color {
        Some(v) => cmd.env("NO_COLOR", v),
        None => cmd.env_remove("NO_COLOR"),
    };
    cmd.output().expect("apisat runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

// apis/vsm.yaml has an attack (exit 1); tests/invalid/unknown_field.yaml has
// one error (exit 2); tests/warnings/public_secret.yaml loads with a
// warning, so its run writes both a report and a diagnostic.
const ATTACK: &str = "apis/vsm.yaml";
const INVALID: &str = "tests/invalid/unknown_field.yaml";
const WARNING: &str = "tests/warnings/public_secret.yaml";

#[test]
fn piped_output_is_plain_by_default() {
    for file in [ATTACK, INVALID, WARNING] {
        let out = apisat(&["check", file], None);
        assert!(!text(&out.stdout).contains(ESC), "{file}: stdout");
        assert!(!text(&out.stderr).contains(ESC), "{file}: stderr");
    }
    let out = apisat(&["check", ATTACK], None);
    assert!(text(&out.stdout).starts_with("apis/vsm.yaml (VSM): ATTACK\n"));
}

#[test]
fn color_always_paints_verdicts_and_diagnostics() {
    let out = apisat(&["check", "--color", "always", ATTACK], None);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1));
    // The verdict word, red and bold, in the header and the verdict line.
    assert!(
        stdout.starts_with("apis/vsm.yaml (VSM): \x1b[1;31mATTACK\x1b[0m\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains("verdict: \x1b[1;31mATTACK\x1b[0m ("),
        "{stdout}"
    );
    assert!(
        stdout.contains("\x1b[1;31mDERIVABLE\x1b[0m with"),
        "{stdout}"
    );

    let out = apisat(&["--color", "always", "check", INVALID], None);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr.starts_with("\x1b[1;31merror\x1b[0m: unknown field"),
        "{stderr}"
    );
    assert!(stderr.contains("\x1b[1;31m^^^^^^\x1b[0m"), "{stderr}");
    assert!(stderr.contains("= \x1b[36mhelp\x1b[0m: "), "{stderr}");

    let out = apisat(&["check", "--color", "always", WARNING], None);
    let stderr = text(&out.stderr);
    assert!(stderr.starts_with("\x1b[1;33mwarning\x1b[0m: "), "{stderr}");
}

#[test]
fn color_always_wins_over_no_color() {
    // no-color.org: a command-line flag overrides NO_COLOR.
    let out = apisat(&["check", "--color", "always", ATTACK], Some("1"));
    assert!(text(&out.stdout).contains(ESC));
}

#[test]
fn no_color_and_never_give_plain_text() {
    for (args, no_color) in [
        (vec!["check", "--color", "auto", ATTACK], Some("1")),
        (vec!["check", "--color", "auto", INVALID], Some("1")),
        (vec!["check", "--color", "never", ATTACK], None),
        (vec!["check", "--color", "never", INVALID], None),
    ] {
        let out = apisat(&args, no_color);
        assert!(!text(&out.stdout).contains(ESC), "{args:?}: stdout");
        assert!(!text(&out.stderr).contains(ESC), "{args:?}: stderr");
    }
}

#[test]
fn coloured_report_is_the_plain_one_painted() {
    let plain = text(&apisat(&["check", ATTACK], None).stdout);
    let painted = text(&apisat(&["check", "--color", "always", ATTACK], None).stdout);
    let stripped = painted
        .replace("\x1b[1;31m", "")
        .replace("\x1b[32m", "")
        .replace("\x1b[33m", "")
        .replace("\x1b[0m", "");
    assert_eq!(stripped, plain);
}

#[test]
fn json_is_never_coloured() {
    let out = apisat(
        &["check", "--format", "json", "--color", "always", ATTACK],
        None,
    );
    assert!(!text(&out.stdout).contains(ESC));
    let value: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(value[0]["verdict"], "attack");
}

#[test]
fn secure_is_green_when_proved_and_yellow_up_to_bounds() {
    // paper_typed_api.yaml is proved secure (see its snapshot in
    // snapshots/apis/); vsm_fixed.yaml with --max-depth 1 is secure only up
    // to bounds (its share tokens are deeper, so both the bounded search and
    // proof mode drop them).
    let proved = text(
        &apisat(
            &["check", "--color", "always", "apis/paper_typed_api.yaml"],
            None,
        )
        .stdout,
    );
    assert!(
        proved.contains(": \x1b[32mSECURE (proved)\x1b[0m\n"),
        "{proved}"
    );
    assert!(
        proved.contains("\x1b[32mnot derivable (proved)\x1b[0m"),
        "{proved}"
    );
    let bounded = text(
        &apisat(
            &[
                "check",
                "--color",
                "always",
                "--max-depth",
                "1",
                "apis/vsm_fixed.yaml",
            ],
            None,
        )
        .stdout,
    );
    assert!(
        bounded.contains(": \x1b[33mSECURE up to bounds\x1b[0m\n"),
        "{bounded}"
    );
    assert!(
        bounded.contains("\x1b[33mnot derivable within the bounds below\x1b[0m"),
        "{bounded}"
    );
}

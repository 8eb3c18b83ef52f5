//! The integration tests, as one binary: each module was a test crate of
//! its own, and linking the library into each took most of a fresh
//! `cargo test`. Fixtures stay in `tests/invalid/`, `tests/warnings/`,
//! `tests/invalid_families/`; the reference evaluators in `tests/naive/`;
//! snapshots in `snapshots/`.

mod apis;
mod attributes;
mod colour;
mod crosscheck;
mod diagnostics;
mod diff;
mod differential;
mod explain;
mod export;
mod families;
mod family_diagnostics;
mod family_schema;
mod first_day;
mod fix;
mod fuzz;
mod layers;
mod lifetime;
mod limits;
mod named_handles;
mod policy_fix;
mod reference_models;
mod schema;
mod spi;
mod staged;
mod strong;
mod verdicts;

/// Runs the binary from the repository's root, without colour; returns
/// its exit code, stdout and stderr.
fn apisat_bin(args: &[&str]) -> (i32, String, String) {
    apisat_bin_with_stdin(args, "")
}

/// [`apisat_bin`] with `stdin` as the binary's standard input.
fn apisat_bin_with_stdin(args: &[&str], stdin: &str) -> (i32, String, String) {
    use std::io::Write;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_apisat"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the binary runs");
    let mut input = child.stdin.take().expect("stdin is piped");
    let text = stdin.to_string();
    let writer = std::thread::spawn(move || {
        // A command that does not read stdin closes it: not an error.
        let _ = input.write_all(text.as_bytes());
    });
    let out = child.wait_with_output().expect("the binary runs");
    let _ = writer.join();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A fixture's file name and its path under `dir` relative to the
/// repository root (the file name diagnostics carry, so snapshots do not
/// depend on the machine).
fn fixture_path(path: &std::path::Path, dir: &str) -> (String, std::path::PathBuf) {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let rel = std::path::PathBuf::from(format!("{dir}/{name}"));
    (name, rel)
}

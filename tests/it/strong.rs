//! `apisat check --strong` and `apisat export --strong`: strong secrecy
//! decided per secret (holds, does not hold, cannot decide, each with its
//! reason), snapshotted in `snapshots/strong/`; without `--strong` nothing
//! changes.

use crate::apisat_bin;

fn settings() -> insta::Settings {
    let root = env!("CARGO_MANIFEST_DIR");
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(format!("{root}/snapshots/strong"));
    settings.set_prepend_module_to_snapshot(false);
    settings
}

/// Each file's `check --strong` report; the verdict and exit code are the
/// same as without `--strong`, and so is every other line.
#[test]
fn check_strong() {
    settings().bind(|| {
        for file in [
            "tests/strong/archived_key.yaml",
            "apis/paper_typed_api.spi",
            "apis/vsm.spi",
            "apis/cca_key_part_import.yaml",
        ] {
            let (code, out, err) = apisat_bin(&["check", "--strong", file]);
            let (plain_code, plain, _) = apisat_bin(&["check", file]);
            assert_eq!(code, plain_code, "{file}: {err}");
            let without: String = out
                .lines()
                .filter(|l| !l.starts_with("      strong secrecy: "))
                .map(|l| format!("{l}\n"))
                .collect();
            assert_eq!(without, plain, "{file}");
            let name = file.rsplit('/').next().unwrap_or(file);
            insta::assert_snapshot!(format!("check_strong@{name}"), out);
        }
    });
}

/// The archived key is the one case the sufficient condition proves; the
/// JSON output carries the same result per secret.
#[test]
fn archived_key_holds_and_json_says_so() {
    let (_, out, _) = apisat_bin(&[
        "check",
        "--strong",
        "--format",
        "json",
        "tests/strong/archived_key.yaml",
    ]);
    let json: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    let secrets = json[0]["secrets"].as_array().expect("secrets");
    let result = |label: &str| {
        secrets
            .iter()
            .find(|s| s["label"] == label)
            .and_then(|s| s["strong"]["result"].as_str())
            .map(str::to_string)
    };
    assert_eq!(result("Kold").as_deref(), Some("holds"));
    assert_eq!(result("Ki").as_deref(), Some("does not hold"));
    assert_eq!(result("Archive").as_deref(), Some("does not hold"));
    assert_eq!(result("K2").as_deref(), Some("cannot decide"));
    let (_, plain, _) = apisat_bin(&[
        "check",
        "--format",
        "json",
        "tests/strong/archived_key.yaml",
    ]);
    assert!(!plain.contains("\"strong\""), "{plain}");
}

/// `export --strong --to proverif` adds `noninterf` for secret names (a
/// comment for others); with Tamarin it is a usage error.
#[test]
fn export_strong() {
    settings().bind(|| {
        let (code, out, err) = apisat_bin(&[
            "export",
            "--strong",
            "--to",
            "proverif",
            "apis/paper_typed_api.spi",
        ]);
        assert_eq!(code, 0, "{err}");
        assert!(
            out.contains("noninterf Ki.\nnoninterf KEKj.\nnoninterf MK.\n"),
            "{out}"
        );
        insta::assert_snapshot!("export_strong@paper_typed_api.spi", out);
        let (code, out, _) = apisat_bin(&[
            "export",
            "--strong",
            "--to",
            "proverif",
            "tests/strong/archived_key.yaml",
        ]);
        assert_eq!(code, 0);
        insta::assert_snapshot!("export_strong@archived_key.yaml", out);
        let (code, _, err) = apisat_bin(&["export", "--strong", "--to", "tamarin", "apis/vsm.spi"]);
        assert_eq!(code, 2);
        assert!(err.contains("--strong"), "{err}");
        let (_, plain, _) = apisat_bin(&["export", "--to", "proverif", "apis/paper_typed_api.spi"]);
        assert!(!plain.contains("noninterf"));
    });
}

//! One snapshot per API file in apis/: verdict and trace, then the
//! knowledge set. A new file gets its snapshot without new code.
//!
//! It goes through exactly the library surface users have for their own
//! APIs (`apisat::snapshot`), so that surface is tested byte for byte.

use apisat::verdict::Settings;

#[test]
fn every_api_file() {
    let root = env!("CARGO_MANIFEST_DIR");
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(format!("{root}/snapshots/apis"));
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(|| {
        insta::glob!("../../apis", "*.yaml", |path| {
            // The file name, relative to the repository, not the machine.
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let report =
                apisat::snapshot::check_named(path, &format!("apis/{name}"), Settings::default())
                    .unwrap_or_else(|failure| {
                        panic!("{} does not load:\n{failure}", path.display())
                    });
            let text = report.snapshot().to_string();
            insta::assert_snapshot!(text);
        });
    });
}

/// The PKCS#11 catalogue (`apis/pkcs11/`), one snapshot per API file (its
/// family, `policies.yaml`, is checked by `apisat test` in `catalogue`).
#[test]
fn every_pkcs11_file() {
    let root = env!("CARGO_MANIFEST_DIR");
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(format!("{root}/snapshots/apis/pkcs11"));
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(|| {
        insta::glob!("../../apis/pkcs11", "*.yaml", |path| {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let source = std::fs::read_to_string(path).unwrap_or_default();
            if source.lines().any(|l| l.starts_with("family:")) {
                return;
            }
            let report = apisat::snapshot::check_named(
                path,
                &format!("apis/pkcs11/{name}"),
                Settings::default(),
            )
            .unwrap_or_else(|failure| panic!("{} does not load:\n{failure}", path.display()));
            let text = report.snapshot().to_string();
            insta::assert_snapshot!(text);
        });
    });
}

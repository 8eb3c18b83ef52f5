//! One snapshot per API file in apis/: verdict and trace, then the
//! knowledge set. A new file gets its snapshot without new code.

use apisat::verdict::Settings;

#[test]
fn every_api_file() {
    let root = env!("CARGO_MANIFEST_DIR");
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(format!("{root}/snapshots/apis"));
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(|| {
        insta::glob!("../apis", "*.yaml", |path| {
            let checked = apisat::check_file(path, Settings::default()).unwrap_or_else(|f| {
                panic!("{} does not load: {:?}", path.display(), f.diagnostics)
            });
            let mut report = checked.report;
            // The file name, relative to the repository, not the machine.
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            report.file = format!("apis/{name}");
            let text = format!(
                "{}\n--- knowledge ({} terms) ---\n{}",
                apisat::report::text(&report),
                report.knowledge.len(),
                apisat::report::knowledge(&report)
            );
            insta::assert_snapshot!(text);
        });
    });
}

//! Snapshot-testing your own API with apisat and insta.
//!
//! `cargo run --example snapshot_my_api` prints the report on
//! `examples/my_hsm.yaml`; `cargo test --example snapshot_my_api` (and
//! plain `cargo test`, as Cargo.toml sets `test = true` for this example)
//! checks it against the reviewed snapshots in `snapshots/examples/`. Change
//! the API file and the test fails with a diff of what the attacker now
//! learns.

use std::path::Path;

use apisat::verdict::{Report, Settings};

/// Checks the example API, named by its path in the repository so the
/// report does not depend on where the repository is checked out.
fn check() -> Report {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/my_hsm.yaml");
    apisat::snapshot::check_named(&path, "examples/my_hsm.yaml", Settings::default())
        .unwrap_or_else(|failure| panic!("{failure}"))
}

fn main() {
    print!("{}", check());
}

#[cfg(test)]
mod tests {
    use apisat::verdict::Verdict;

    /// The verdict and attacks, and the knowledge set, each a snapshot.
    /// The API's comment reasons the expected verdict: K and KEK leak in
    /// 3 calls, KM does not.
    #[test]
    fn my_hsm() {
        let report = super::check();
        assert_eq!(report.verdict, Verdict::Attack);
        let mut settings = insta::Settings::clone_current();
        settings.set_snapshot_path(concat!(env!("CARGO_MANIFEST_DIR"), "/snapshots/examples"));
        settings.set_prepend_module_to_snapshot(false);
        settings.bind(|| {
            insta::assert_snapshot!("my_hsm_attacks", report.attacks().to_string());
            insta::assert_snapshot!("my_hsm_knowledge", report.knowledge_set().to_string());
        });
    }
}

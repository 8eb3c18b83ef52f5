//! The path for large APIs (`apisat::staged`: proof mode first, then a
//! bounded search in cost stages that stops once every secret is decided)
//! against the classic saturation to a fixpoint, on APIs small enough for
//! both: the path is forced with `first_pass_facts: 0`.
//!
//! What must agree, secret by secret, is what the path claims to keep:
//! whether the secret is derivable, and for a derivable one the number of
//! calls of its attack; for one not derivable, whether it is proved. The
//! `rests on` sentence and the saturation sizes may differ, and so may the
//! attack's steps where attacks tie on calls:
//! * ties on calls, steps and borrowed names are broken by term id, and the
//!   stages intern terms in another order (`apis/pkcs11/reimport.yaml`: its
//!   second Wrap takes the initial handle of k2 instead of the unwrapped
//!   one, both 5 calls);
//! * on one random XOR program the staged attack was
//!   `f0(((e0, e0), h(e0)))`, built from the attacker's own e0, where the
//!   fixpoint's was `split(((p3, p3), e0))`, then `f0(((p3, p3), h(e0)))`:
//!   both one call. Why the fixpoint's tie-break did not pick the
//!   attacker's own name there is not yet understood (an open question
//!   about trace.rs, not about the stages).
//!
//! The random programs of the differential test get the same comparison in
//! `differential::staged_path_agrees_*`.

use apisat::verdict::{Report, Settings};

/// `base` with the path for large APIs forced on any API.
pub fn forced(base: Settings) -> Settings {
    Settings {
        stop_early: true,
        first_pass_facts: 0,
        ..base
    }
}

/// The differences between a classic report and a staged one, if any.
pub fn differences(classic: &Report, staged: &Report) -> Option<String> {
    let mut out = Vec::new();
    if classic.verdict != staged.verdict {
        out.push(format!(
            "verdict: classic {:?}, staged {:?}",
            classic.verdict, staged.verdict
        ));
    }
    for (c, s) in classic.secrets.iter().zip(&staged.secrets) {
        if c.derivable != s.derivable || c.calls != s.calls {
            out.push(format!(
                "secret {}: classic derivable {:?} calls {:?}, staged derivable {:?} calls {:?}{}",
                c.label,
                c.derivable,
                c.calls,
                s.derivable,
                s.calls,
                if c.trace != s.trace {
                    format!(
                        "; traces differ:\n  classic {:?}\n  staged  {:?}",
                        c.trace, s.trace
                    )
                } else {
                    String::new()
                }
            ));
        }
        if c.derivable == Some(false) && c.proof != s.proof {
            out.push(format!(
                "secret {}: classic proof {:?}, staged {:?}",
                c.label, c.proof, s.proof
            ));
        }
    }
    (!out.is_empty()).then(|| out.join("\n"))
}

fn api_files() -> Vec<std::path::PathBuf> {
    let root = env!("CARGO_MANIFEST_DIR");
    let mut files = Vec::new();
    for dir in ["apis", "apis/pkcs11"] {
        let Ok(entries) = std::fs::read_dir(format!("{root}/{dir}")) else {
            continue;
        };
        for e in entries.flatten() {
            let path = e.path();
            let source = std::fs::read_to_string(&path).unwrap_or_default();
            let is_family = source.lines().any(|l| l.starts_with("family:"));
            if path.extension().is_some_and(|x| x == "yaml") && !is_family {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

#[test]
fn staged_path_agrees_with_the_fixpoint_on_every_api_file() {
    let files = api_files();
    assert!(files.len() >= 20, "only {} API files found", files.len());
    let mut failures = Vec::new();
    let mut stopped = 0;
    for path in &files {
        let name = path.display().to_string();
        let classic = apisat::snapshot::check_named(path, &name, Settings::default())
            .unwrap_or_else(|f| panic!("{name} does not load:\n{f}"));
        let staged = apisat::snapshot::check_named(path, &name, forced(Settings::default()))
            .unwrap_or_else(|f| panic!("{name} does not load:\n{f}"));
        if staged.stats.extent != apisat::staged::Extent::Fixpoint {
            stopped += 1;
        }
        if let Some(why) = differences(&classic, &staged) {
            failures.push(format!("{name}:\n{why}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    // The comparison means something only if the path stopped early, or
    // skipped the search, on many of them.
    assert!(
        stopped * 2 >= files.len(),
        "the staged path stopped early on only {stopped} of {} files",
        files.len()
    );
}

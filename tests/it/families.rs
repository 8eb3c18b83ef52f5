//! Families, expectations, batch runs and shards, through the binary and
//! the library.
//!
//! Expected verdicts come from the reasoning in the files' headers
//! (`apis/families/*.yaml`) and, for the PKCS#11 family, from an abstract
//! token model written here independently of apisat (`pkcs11_leaks`).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use apisat::inputs;
use apisat::outcome::Outcome;
use apisat::runner::{self, Options};
use apisat::summary::{self, Layout};
use apisat::verdict::Settings;

/// The binary's allocator: the PKCS#11 family's 1,024 variants run here,
/// in the test process.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The API files of apis/ and the VSM family: every kind of verdict, and
/// quick (the 1,024-variant PKCS#11 family has its own test).
const SMALL_RUN: &[&str] = &[
    "apis/cca_key_part_import.yaml",
    "apis/cca_key_part_import_fixed.yaml",
    "apis/families/vsm.yaml",
    "apis/paper_typed_api.yaml",
    "apis/pkcs11_wrap_decrypt.yaml",
    "apis/pkcs11_wrap_decrypt_fixed.yaml",
    "apis/vsm.yaml",
    "apis/vsm_fixed.yaml",
];

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn apisat(args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_apisat"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("the apisat binary runs");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn with(args: &[&str], paths: &[&str]) -> Vec<String> {
    args.iter().chain(paths).map(|s| s.to_string()).collect()
}

fn run_strings(args: &[String]) -> Run {
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    apisat(&refs)
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("apisat-families-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// The outcomes without their timings, the one field that differs
/// between runs.
fn untimed(json_lines: &str) -> Vec<serde_json::Value> {
    json_lines
        .lines()
        .map(|l| {
            let mut v: serde_json::Value = serde_json::from_str(l).expect("each line is JSON");
            v["elapsed_ms"] = serde_json::Value::Null;
            v
        })
        .collect()
}

#[test]
fn batch_prints_a_table_and_exits_1_when_the_run_holds_attacks() {
    let run = run_strings(&with(&["batch", "--no-time"], SMALL_RUN));
    // vsm.yaml, cca_key_part_import.yaml and pkcs11_wrap_decrypt.yaml hold
    // published attacks: the worst exit code is 1.
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stdout.contains("apis/vsm.yaml: VSM"), "{}", run.stdout);
    assert!(run
        .stdout
        .contains("apis/families/vsm.yaml: family \"VSM fixes\", 4 variants"));
    // The table's header names each secret of the file.
    assert!(run
        .stdout
        .contains("  verdict  attack   PIN        P          TMK1    s\n  ATTACK   2 calls  leaks (2)  leaks (2)  proved  proved\n"));
    assert!(run.stdout.contains(
        "11 variants from 8 files: 6 attack, 5 secure (5 proved, 0 up to bounds), 0 limit, 0 errors"
    ));
    // Deterministic: the same bytes again, with one worker or two.
    let again = run_strings(&with(&["batch", "--no-time", "--jobs", "1"], SMALL_RUN));
    assert_eq!(run.stdout, again.stdout);
}

#[test]
fn batch_json_is_one_valid_object_per_variant_per_line() {
    let run = run_strings(&with(&["batch", "--format", "json"], SMALL_RUN));
    assert_eq!(run.code, 1);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 11, "7 API files and 4 VSM variants");
    for (i, line) in lines.iter().enumerate() {
        let v: serde_json::Value = serde_json::from_str(line).expect("valid JSON");
        assert_eq!(v["index"], i as u64);
        assert_eq!(v["total"], 11);
        assert!(v["verdict"].is_string() && v["secrets"].is_array());
    }
    let tagged: serde_json::Value = serde_json::from_str(lines[4]).expect("JSON");
    assert_eq!(tagged["variant"], "tagged-shares");
    assert_eq!(tagged["family"], "VSM fixes");
}

/// `--no-time` promises the same bytes for the same input: with
/// `--format json` the lines carry no `elapsed_ms` (issue 15), and merge
/// reads such lines back (and, asked for `--no-time`, leaves the field out
/// too).
#[test]
fn batch_json_no_time_prints_the_same_bytes_twice() {
    let args = with(
        &["batch", "--format", "json", "--no-time"],
        &["apis/families/vsm.yaml", "apis/vsm.yaml"],
    );
    let first = run_strings(&args);
    let second = run_strings(&args);
    assert_eq!(first.code, 1, "{}", first.stderr);
    assert_eq!(first.stdout.lines().count(), 5, "{}", first.stdout);
    assert!(!first.stdout.contains("elapsed_ms"), "{}", first.stdout);
    assert_eq!(
        first.stdout, second.stdout,
        "the same input, the same bytes"
    );
    // Timed, every line says how long its variant took.
    let timed = run_strings(&with(
        &["batch", "--format", "json"],
        &["apis/families/vsm.yaml", "apis/vsm.yaml"],
    ));
    for line in timed.stdout.lines() {
        let v: serde_json::Value = serde_json::from_str(line).expect("JSON");
        assert!(v["elapsed_ms"].is_number(), "{line}");
    }
    assert_eq!(untimed(&timed.stdout), untimed(&first.stdout));
    // Merge reads untimed lines, and keeps them untimed under --no-time.
    let dir = scratch("no-time");
    let file = dir.join("all.jsonl");
    std::fs::write(&file, &first.stdout).expect("write");
    let path = file.display().to_string();
    let merged = apisat(&["merge", "--format", "json", "--no-time", &path]);
    assert_eq!(merged.code, 1, "{}", merged.stderr);
    assert_eq!(merged.stdout, first.stdout);
    let table = apisat(&["merge", "--no-time", &path]);
    assert_eq!(table.code, 1, "{}", table.stderr);
    assert!(table.stdout.contains("original"), "{}", table.stdout);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_bad_file_is_reported_and_the_rest_go_on() {
    let run = apisat(&[
        "batch",
        "--no-time",
        "tests/invalid/unknown_name.yaml",
        "apis/vsm.yaml",
    ]);
    assert_eq!(run.code, 2, "an error outranks an attack");
    assert!(
        run.stderr.contains("tests/invalid/unknown_name.yaml:5:9"),
        "{}",
        run.stderr
    );
    assert!(run.stdout.contains("apis/vsm.yaml: VSM"));
    assert!(run
        .stdout
        .contains("tests/invalid/unknown_name.yaml: ERROR"));
}

#[test]
fn three_shards_merge_into_the_summary_of_one_run() {
    let dir = scratch("shards");
    let whole_text = run_strings(&with(&["batch", "--no-time"], SMALL_RUN));
    let whole_json = run_strings(&with(&["batch", "--format", "json"], SMALL_RUN));
    let mut shard_files = Vec::new();
    let mut indexes = BTreeSet::new();
    for i in 1..=3 {
        let shard = format!("{i}/3");
        let run = run_strings(&with(
            &["batch", "--format", "json", "--shard", &shard],
            SMALL_RUN,
        ));
        assert!(
            run.code == 0 || run.code == 1,
            "shard {shard}: {}",
            run.stderr
        );
        for line in run.stdout.lines() {
            let v: serde_json::Value = serde_json::from_str(line).expect("JSON");
            let index = v["index"].as_u64().expect("index");
            assert_eq!(index % 3, i - 1, "shard {shard} holds index {index}");
            assert!(indexes.insert(index), "index {index} in two shards");
        }
        let file = dir.join(format!("shard{i}.jsonl"));
        std::fs::write(&file, run.stdout).expect("write shard");
        shard_files.push(file.display().to_string());
    }
    assert_eq!(indexes.len(), 11, "the shards cover every variant once");
    // Merged in any order of files, the summary is the unsharded one.
    let mut args = vec!["merge".to_string(), "--no-time".to_string()];
    args.extend(shard_files.iter().rev().cloned());
    let merged = run_strings(&args);
    assert_eq!(merged.stdout, whole_text.stdout);
    assert_eq!(merged.code, whole_text.code);
    let mut args = vec![
        "merge".to_string(),
        "--format".to_string(),
        "json".to_string(),
    ];
    args.extend(shard_files.iter().cloned());
    let merged_json = run_strings(&args);
    assert_eq!(untimed(&merged_json.stdout), untimed(&whole_json.stdout));
    // Two shards of three are not a run: the missing variants are named.
    let partial = apisat(&["merge", "--no-time", &shard_files[0], &shard_files[1]]);
    assert_eq!(partial.code, 2);
    assert!(
        partial
            .stderr
            .contains("3 of 11 variants are missing (indexes 2, 5, 8)"),
        "{}",
        partial.stderr
    );
    // A shard given twice is caught too.
    let twice = apisat(&[
        "merge",
        &shard_files[0],
        &shard_files[0],
        &shard_files[1],
        &shard_files[2],
    ]);
    assert_eq!(twice.code, 2);
    assert!(twice.stderr.contains("appears twice"), "{}", twice.stderr);
}

#[test]
fn absurd_job_counts_are_refused() {
    for jobs in ["0", "100000"] {
        let run = apisat(&["batch", "--jobs", jobs, "apis/vsm.yaml"]);
        assert_eq!(run.code, 2, "--jobs {jobs}");
        assert!(run.stderr.contains("--jobs"), "{}", run.stderr);
    }
}

#[test]
fn shard_syntax_is_checked() {
    for bad in ["0/3", "4/3", "1/0", "x", "1/2/3", "1/99999999999999999999"] {
        let run = apisat(&["batch", "--shard", bad, "apis/vsm.yaml"]);
        assert_eq!(run.code, 2, "--shard {bad}");
        assert!(run.stderr.contains("shard"), "{}", run.stderr);
    }
}

#[test]
fn test_passes_on_the_bundled_apis() {
    let run = apisat(&["test", "apis/"]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    // 7 API files and the 4 VSM variants state expectations, and so do the
    // 13 API files and the 8 policies of the PKCS#11 catalogue
    // (apis/pkcs11/); the PKCS#11 family's 1,024 variants do not
    // (tests/it/families.rs checks them against the oracle instead) and are
    // skipped, not run.
    assert!(
        run.stdout
            .contains("test result: ok. 32 passed; 0 failed; 0 errors; 1024 without expectations"),
        "{}",
        run.stdout
    );
    assert!(run
        .stdout
        .contains("test apis/families/vsm.yaml :: tagged-shares ... ok"));
}

#[test]
fn a_changed_expectation_fails_with_a_readable_diff() {
    let dir = scratch("expect");
    let src = std::fs::read_to_string("apis/vsm.yaml").expect("vsm.yaml");
    let line = src
        .lines()
        .position(|l| l.starts_with("  PIN: within 2 calls"))
        .expect("the PIN expectation")
        + 1;
    // The type-confusion attack takes 2 calls; expecting PIN to be safe
    // must fail, and say what was found instead.
    let changed = src.replace("  PIN: within 2 calls", "  PIN: not derivable");
    let file = dir.join("vsm.yaml");
    std::fs::write(&file, changed).expect("write");
    let path = file.display().to_string();
    let run = apisat(&["test", &path]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    let expected = format!(
        "test {path} ... FAILED\n\nfailures:\n\n---- {path} ----\n{path}:{line}:8: secret `PIN`\n  - expected: not derivable\n  + got:      derivable with 2 API calls (EncryptCommsKey, TranslateCommsKeyToTMK)\n\ntest result: FAILED. 0 passed; 1 failed; 0 errors; 0 without expectations (4 expectations checked)\n"
    );
    assert_eq!(run.stdout, expected);
}

#[test]
fn a_family_variant_failing_its_expectation_is_named() {
    let dir = scratch("family-expect");
    let base = Path::new(env!("CARGO_MANIFEST_DIR")).join("apis/vsm.yaml");
    let family = format!(
        "apisat: 1\nfamily: one fix\nbase: {}\nvariants:\n  - name: separate-types\n    remove_knowledge: [\"{{P}}MK\"]\n    expect:\n      P: not derivable\n",
        base.display()
    );
    let file = dir.join("family.yaml");
    std::fs::write(&file, family).expect("write");
    let path = file.display().to_string();
    let run = apisat(&["test", &path]);
    // Removing the misfiled {P}MK leaves the XOR-to-null attack on P (the
    // header of apis/families/vsm.yaml): the expectation must fail.
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(run
        .stdout
        .contains(&format!("test {path} :: separate-types ... FAILED")));
    assert!(
        run.stdout.contains(&format!("{path}:8:10: secret `P`")),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains(
            "  + got:      derivable with 2 API calls (CombineKeyShares, SendPDKToTerminal)"
        ),
        "{}",
        run.stdout
    );
}

fn outcomes(path: &str) -> Vec<Outcome> {
    let inputs = inputs::collect(&[PathBuf::from(path)]);
    let options = Options {
        settings: Settings::default(),
        jobs: 2,
        shard: None,
        progress: false,
        expected_only: false,
        variants: None,
    };
    let mut all = Vec::new();
    runner::run(&inputs, options, |round| all.extend(round));
    all
}

fn snapshot(name: &str, text: &str) {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("../../snapshots/families");
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(|| insta::assert_snapshot!(name, text));
}

#[test]
fn vsm_family_summary() {
    let all = outcomes("apis/families/vsm.yaml");
    let names: Vec<&str> = all.iter().filter_map(|o| o.variant.as_deref()).collect();
    assert_eq!(
        names,
        ["original", "separate-types", "tagged-shares", "both-fixes"]
    );
    // Each variant meets the expectations argued in the family's header.
    for o in &all {
        assert!(o.failures.is_empty(), "{}: {:?}", o.title(), o.failures);
        assert!(o.expectations >= 4, "{} states its expectations", o.title());
    }
    assert_eq!(all[3].verdict, "secure", "both fixes together");
    snapshot("vsm_family", &summary::render(&all, Layout { time: false }));
}

/// The PKCS#11 policy family (apis/pkcs11/policies.yaml): the table of
/// safe and unsafe policies, with the one `ATTACK (not confirmed)` (only
/// wrap sticky) counted apart from the attacks in the totals, and left out
/// of what every attack has in common.
#[test]
fn pkcs11_policy_family_summary() {
    let all = outcomes("apis/pkcs11/policies.yaml");
    for o in &all {
        assert!(o.failures.is_empty(), "{}: {:?}", o.title(), o.failures);
    }
    let t = summary::Totals::of(&all);
    assert_eq!((t.attack, t.unconfirmed, t.proved), (6, 1, 1));
    let text = summary::render(&all, Layout { time: false });
    assert!(
        text.contains("6 attack, 1 not confirmed, 1 secure"),
        "{text}"
    );
    assert!(
        text.contains("in every attack on k2 (6 variants)"),
        "{text}"
    );
    snapshot("pkcs11_policies", &text);
}

/// Which of k1, k2 leak on the abstract token of apis/families/pkcs11.yaml
/// with attributes `a1`, `a2` (each a set of `w`, `u`, `e`, `d`, `x`): the
/// fixpoint of the five token and attacker steps its header lists. Values
/// are keys `k1`, `k2` and the public `T` (standing for every value the
/// attacker knows from the start); a handle is a key with its attributes.
fn pkcs11_leaks(a1: &str, a2: &str) -> BTreeSet<&'static str> {
    let every: Vec<String> = (0..32u32)
        .map(|m| {
            "wuedx"
                .chars()
                .enumerate()
                .filter(|(i, _)| m & (1 << i) != 0)
                .map(|(_, c)| c)
                .collect()
        })
        .collect();
    let mut handles: BTreeSet<(&str, String)> = BTreeSet::new();
    handles.insert(("k1", a1.to_string()));
    handles.insert(("k2", a2.to_string()));
    let mut ciphertexts: BTreeSet<(&str, &str)> = BTreeSet::new(); // (plain, key)
    let mut known: BTreeSet<&str> = BTreeSet::from(["T"]);
    loop {
        let before = (handles.len(), ciphertexts.len(), known.len());
        let hs: Vec<(&str, String)> = handles.iter().cloned().collect();
        for (kw, a) in &hs {
            for (k, b) in &hs {
                if a.contains('w') && b.contains('x') {
                    ciphertexts.insert((k, kw)); // Wrap
                }
            }
        }
        let cs: Vec<(&str, &str)> = ciphertexts.iter().copied().collect();
        for (k, a) in &hs {
            for &(plain, key) in &cs {
                if key == *k && a.contains('u') {
                    for t in &every {
                        handles.insert((plain, t.clone())); // Unwrap, any template
                    }
                }
                if key == *k && a.contains('d') {
                    known.insert(plain); // Decrypt
                }
            }
            if a.contains('e') {
                for m in known.clone() {
                    ciphertexts.insert((m, k)); // Encrypt
                }
            }
        }
        for &(plain, key) in &cs {
            if known.contains(key) {
                known.insert(plain); // the attacker decrypts
            }
        }
        for p in known.clone() {
            for k in known.clone() {
                ciphertexts.insert((p, k)); // the attacker encrypts
            }
        }
        if before == (handles.len(), ciphertexts.len(), known.len()) {
            break;
        }
    }
    known.into_iter().filter(|k| k.starts_with('k')).collect()
}

#[test]
fn pkcs11_oracle_knows_the_classic_cases() {
    // Clulow's attack: k1 wraps and decrypts, k2 is extractable.
    assert_eq!(pkcs11_leaks("wd", "x"), BTreeSet::from(["k2"]));
    // Nothing extractable: nothing is ever wrapped.
    assert!(
        pkcs11_leaks("wuedx", "wued").contains("k1"),
        "k1 wraps itself"
    );
    assert!(pkcs11_leaks("wued", "wued").is_empty());
    // Encrypt and unwrap on one key import a known key: every extractable
    // key leaks.
    assert_eq!(pkcs11_leaks("eu", "x"), BTreeSet::from(["k2"]));
}

#[test]
fn pkcs11_family_matches_the_token_oracle_and_its_summary() {
    let all = outcomes("apis/families/pkcs11.yaml");
    assert_eq!(all.len(), 1024);
    for o in &all {
        let attrs = |key: char| -> String {
            "wuedx"
                .chars()
                .filter(|a| {
                    o.params
                        .iter()
                        .any(|p| p.name == format!("{a}{key}") && p.value == "T")
                })
                .collect()
        };
        let expected = pkcs11_leaks(&attrs('1'), &attrs('2'));
        let got: BTreeSet<&str> = o
            .secrets
            .iter()
            .filter(|s| s.status == "derivable")
            .map(|s| s.label.as_str())
            .collect();
        assert_eq!(got, expected, "{}", o.title());
        // No variant stops at a limit; a secure one is proved (the family
        // is in proof mode's fragment).
        assert!(
            o.verdict == "attack" || o.proof.as_deref() == Some("proved"),
            "{}",
            o.title()
        );
    }
    snapshot(
        "pkcs11_family",
        &summary::render(&all, Layout { time: false }),
    );
}

#[test]
fn a_folder_without_api_files_is_an_error() {
    let dir = scratch("empty");
    let path = dir.display().to_string();
    for command in ["batch", "test"] {
        let run = apisat(&[command, &path]);
        assert_eq!(run.code, 2, "{command}: {}", run.stdout);
        assert!(
            run.stderr.contains("no API or family files here"),
            "{}",
            run.stderr
        );
    }
}

#[test]
fn variant_patterns_pick_variants_for_check_and_batch() {
    // One variant of the VSM family in full.
    let one = apisat(&[
        "check",
        "--variant",
        "separate-types",
        "apis/families/vsm.yaml",
    ]);
    assert_eq!(one.code, 1, "the XOR-to-null attack survives this fix");
    assert_eq!(
        one.stdout.matches("(VSM fixes / ").count(),
        1,
        "{}",
        one.stdout
    );
    assert!(one
        .stdout
        .starts_with("apis/families/vsm.yaml (VSM fixes / separate-types): ATTACK"));
    // Without a pattern, the 1,024-variant family is too many to report.
    let all = apisat(&["check", "apis/families/pkcs11.yaml"]);
    assert_eq!(all.code, 2);
    assert!(all.stderr.contains("--variant PATTERN"), "{}", all.stderr);
    // A pattern that matches nothing says how names look.
    let none = apisat(&["check", "--variant", "nope", "apis/families/vsm.yaml"]);
    assert_eq!(none.code, 2);
    assert!(none
        .stderr
        .contains("no variant of this family is named `nope`"));
    // k1 with every attribute set leaks in all 32 policies of k2 (it wraps
    // and decrypts itself): batch on the pattern runs exactly those, and
    // leaves out the API files of the folder.
    let batch = apisat(&[
        "batch",
        "--no-time",
        "--variant",
        "w1=T,u1=T,e1=T,d1=T,x1=T,*",
        "apis/",
    ]);
    assert_eq!(batch.code, 1);
    assert!(
        batch
            .stdout
            .contains("32 variants from 1 file: 32 attack, 0 secure"),
        "{}",
        batch.stdout
    );
}

#[test]
fn counts_of_one_are_singular() {
    // A one-call attack: the table says `1 call`, not `1 calls`, and the
    // totals `1 variant from 1 file`; `test` counts `1 expectation`.
    let dir = scratch("singular");
    let file = dir.join("one_call.yaml");
    std::fs::write(
        &file,
        "names: {secret: [K, S]}\nknowledge: [\"{S}K\"]\nfunctions:\n  - name: Decrypt\n    inputs: [\"{x}K\"]\n    outputs: [x]\nsecrets: [S]\nexpect: {S: within 1 call}\n",
    )
    .expect("scratch file");
    let path = file.display().to_string();
    let batch = apisat(&["batch", "--no-time", &path]);
    assert_eq!(batch.code, 1, "{}", batch.stderr);
    assert!(
        batch.stdout.contains("ATTACK   1 call "),
        "{}",
        batch.stdout
    );
    assert!(!batch.stdout.contains("1 calls"), "{}", batch.stdout);
    assert!(
        batch.stdout.contains("1 variant from 1 file: 1 attack"),
        "{}",
        batch.stdout
    );
    let check = apisat(&["check", &path]);
    assert!(
        check.stdout.contains("DERIVABLE with 1 API call\n"),
        "{}",
        check.stdout
    );
    assert!(
        check.stdout.contains("(1 of 1 secret derivable)"),
        "{}",
        check.stdout
    );
    assert!(
        check.stdout.contains("1 rule instance, 1 function\n"),
        "{}",
        check.stdout
    );
    let test = apisat(&["test", &path]);
    assert_eq!(test.code, 0, "{}", test.stdout);
    assert!(
        test.stdout.contains(
            "1 passed; 0 failed; 0 errors; 0 without expectations (1 expectation checked)"
        ),
        "{}",
        test.stdout
    );
}

#[test]
fn one_variant_for_explain_knowledge_fix_and_diff() {
    let family = "apis/families/vsm.yaml";
    // explain: both fixes together make P safe (up to bounds: XOR), the
    // original leaks it.
    let fixed = apisat(&["explain", "--variant", "both-fixes", family, "P"]);
    assert_eq!(fixed.code, 0, "{}", fixed.stderr);
    assert!(
        fixed
            .stdout
            .starts_with("apis/families/vsm.yaml (VSM fixes / both-fixes): P\nNOT DERIVABLE"),
        "{}",
        fixed.stdout
    );
    let original = apisat(&["explain", "--variant", "orig*", family, "P"]);
    assert_eq!(original.code, 1, "{}", original.stderr);
    assert!(original
        .stdout
        .contains("DERIVABLE; the cheapest derivation"));
    // A family needs a pattern that picks exactly one variant.
    let none = apisat(&["explain", family, "P"]);
    assert_eq!(none.code, 2);
    assert!(
        none.stderr
            .contains("this is a family file of 4 variants, and `apisat explain` takes one API"),
        "{}",
        none.stderr
    );
    assert!(
        none.stderr.contains("--> apis/families/vsm.yaml:38:1"),
        "{}",
        none.stderr
    );
    assert!(
        none.stderr.contains("pick one with `--variant PATTERN`"),
        "{}",
        none.stderr
    );
    let several = apisat(&["explain", "--variant", "*", family, "P"]);
    assert_eq!(several.code, 2);
    assert!(
        several.stderr.contains(
            "`*` matches 4 variants of this family (`original`, `separate-types`, `tagged-shares`, `both-fixes`)"
        ),
        "{}",
        several.stderr
    );
    let nothing = apisat(&["knowledge", "--variant", "nope", family]);
    assert_eq!(nothing.code, 2);
    assert!(
        nothing
            .stderr
            .contains("no variant of this family is named `nope`"),
        "{}",
        nothing.stderr
    );
    assert!(nothing.stderr.contains("its variants are `original`"));
    let api = apisat(&["knowledge", "--variant", "original", "apis/vsm.yaml"]);
    assert_eq!(api.code, 2);
    assert!(api.stderr.contains("this is an API file"), "{}", api.stderr);
    // knowledge: the tagged shares are known only in the variants that
    // add them; JSON names the variant.
    let shares = apisat(&["knowledge", "--variant", "tagged-shares", family]);
    assert_eq!(shares.code, 1);
    assert!(
        shares.stdout.lines().any(|l| l == "SHARE1"),
        "{}",
        shares.stdout
    );
    let base = apisat(&["knowledge", "--variant", "original", family]);
    assert!(
        !base.stdout.lines().any(|l| l == "SHARE1"),
        "{}",
        base.stdout
    );
    let json = apisat(&[
        "knowledge",
        "--format",
        "json",
        "--variant",
        "tagged-shares",
        family,
    ]);
    let v: serde_json::Value = serde_json::from_str(&json.stdout).expect("JSON");
    assert_eq!(v["api"], "VSM fixes / tagged-shares");
    let terms: Vec<&str> = v["knowledge"]
        .as_array()
        .expect("a list")
        .iter()
        .filter_map(|t| t.as_str())
        .collect();
    assert_eq!(terms, shares.stdout.lines().collect::<Vec<_>>());
    // fix: one variant's attacks, not the base's.
    let fix = apisat(&["fix", "--variant", "both-fixes", family]);
    assert_eq!(fix.code, 0, "{}", fix.stderr);
    assert!(
        fix.stdout
            .starts_with("apis/families/vsm.yaml (VSM fixes / both-fixes): no secret derivable"),
        "{}",
        fix.stdout
    );
    // diff: two variants of one family.
    let diff = apisat(&[
        "diff",
        "--variant",
        "original",
        "--variant-b",
        "both-fixes",
        family,
        family,
    ]);
    assert_eq!(diff.code, 1, "{}", diff.stderr);
    assert!(
        diff.stdout
            .starts_with("A: apis/families/vsm.yaml (VSM fixes / original): ATTACK"),
        "{}",
        diff.stdout
    );
    assert!(
        diff.stdout
            .contains("B: apis/families/vsm.yaml (VSM fixes / both-fixes): SECURE"),
        "{}",
        diff.stdout
    );
    // --variant applies to the family among A and B; with neither it is
    // an error.
    let same = apisat(&["diff", "--variant", "original", family, "apis/vsm.yaml"]);
    assert_eq!(
        same.code, 0,
        "the original variant is the base\n{}",
        same.stdout
    );
    let neither = apisat(&[
        "diff",
        "--variant",
        "original",
        "apis/vsm.yaml",
        "apis/vsm_fixed.yaml",
    ]);
    assert_eq!(neither.code, 2);
    assert!(neither.stderr.contains("neither"), "{}", neither.stderr);
}

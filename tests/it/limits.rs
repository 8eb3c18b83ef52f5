//! Limits that hold (issue 15): output proportional to the input, the
//! time and memory limits in every stage (saturation, trace extraction,
//! replay, proof mode), and the resource cases of the issue as regression
//! tests that run in seconds with small limits. No test depends on how
//! long a run takes: the stages after saturation are stopped with a
//! budget spent before they start, and the binary's runs assert verdicts.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use apisat::engine::{Budget, Limits, StopReason};
use apisat::lower::load_source;
use apisat::prove::prove_within;
use apisat::replay::{replay_within, Replay};
use apisat::trace::Derivations;
use apisat::verdict::{check_program, check_program_within, Proof, Settings, Verdict};

/// Runs the binary (whose allocator counts memory) on `yaml` written to a
/// temporary file: (exit code, stdout, stderr).
fn apisat_on(name: &str, yaml: &str, args: &[&str]) -> (i32, String, String) {
    let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    std::fs::write(&path, yaml).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_apisat"))
        .args(args)
        .arg(&path)
        .output()
        .expect("the binary runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `n` secret names, all in one knowledge term: a tuple of tuples of 100
/// (a flat tuple holds at most 256 terms).
fn secrets_in_one_tuple(n: usize) -> String {
    let names: Vec<String> = (0..n).map(|i| format!("s{i}")).collect();
    let leaves: Vec<String> = names
        .chunks(100)
        .map(|c| format!("({})", c.join(", ")))
        .collect();
    format!(
        "names: {{secret: [{}]}}\nknowledge: [\"({})\"]\n",
        names.join(", "),
        leaves.join(", ")
    )
}

fn settings() -> Settings {
    Settings::default()
}

/// A budget that has run out by the time anything looks at it.
fn spent() -> Budget {
    let b = Budget::start(Limits {
        timeout: Some(Duration::from_millis(1)),
        ..Limits::default()
    });
    std::thread::sleep(Duration::from_millis(5));
    b
}

fn load(path: &str) -> apisat::program::Program {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let src = std::fs::read_to_string(root.join(path)).unwrap();
    load_source(path, &src).expect("loads").program
}

// ----- output proportional to the input ---------------------------------

/// Issue 15: n secrets all leaked by one tuple printed the whole tuple and
/// all its components in every secret's trace (n = 4,000: 215 MB). Now the
/// tuple and the lists of components are printed once, as `@k`, and each
/// trace uses the names: at n = 2,000 the text is a few hundred KB (it was
/// 55 MB), the JSON a little more, and both grow linearly in n.
#[test]
fn n_secrets_out_of_one_tuple_print_in_linear_size() {
    let yaml = secrets_in_one_tuple(2000);
    let (code, out, _) = apisat_on("tuple2000.yaml", &yaml, &["check"]);
    assert_eq!(code, 1);
    assert!(out.len() < 500_000, "{} bytes of text", out.len());
    assert!(out.contains("  shared terms, each printed once and used below by name"));
    assert!(out.contains("\n    @1 = (s0, s1, s2, "), "{}", &out[..300]);
    assert_eq!(out.matches(": DERIVABLE with 0 API calls").count(), 2000);
    assert!(out.contains("verdict: ATTACK (2000 of 2000 secrets derivable)"));
    let (code, json, _) = apisat_on("tuple2000.yaml", &yaml, &["check", "--format", "json"]);
    assert_eq!(code, 1);
    assert!(json.len() < 2_000_000, "{} bytes of JSON", json.len());
    assert!(json.contains("\"shared\": ["), "the JSON carries the table");
}

/// The names are lossless: `--full-terms` (`Report::expanded`) prints
/// every term in place, exactly as without sharing; small reports name
/// nothing.
#[test]
fn full_terms_put_every_shared_term_back() {
    let yaml = secrets_in_one_tuple(300);
    let loaded = load_source("tuple300.yaml", &yaml).unwrap();
    let r = check_program(loaded.program, settings());
    assert!(!r.shared.is_empty());
    let text = apisat::report::text(&r);
    assert!(text.contains("attacker: split3(@4) -> @5"), "{text}");
    let full = r.expanded();
    assert!(full.shared.is_empty());
    let full_text = apisat::report::text(&full);
    assert!(!full_text.contains('@'));
    let leaf: Vec<String> = (0..100).map(|i| format!("s{i}")).collect();
    let leaf = format!("({})", leaf.join(", "));
    assert!(
        full_text.contains(&format!("attacker: split100({leaf}) -> s0, s1, s2,")),
        "{}",
        &full_text[..2000]
    );
    let (code, out, _) = apisat_on("tuple300.yaml", &yaml, &["check", "--full-terms"]);
    assert_eq!(code, 1);
    assert_eq!(
        out.replace(&format!("{}/", env!("CARGO_TARGET_TMPDIR")), ""),
        full_text
    );
    // The bundled APIs' reports name nothing.
    for f in [
        "apis/vsm.yaml",
        "apis/pkcs11_wrap_decrypt.yaml",
        "apis/cca_key_part_import.yaml",
    ] {
        assert!(check_program(load(f), settings()).shared.is_empty(), "{f}");
    }
}

// ----- limits in every stage --------------------------------------------

/// Proof mode stopped by a limit proves nothing: the bounded engine's
/// verdict stands, "SECURE up to bounds", and the gap names the limit.
/// (vsm_fixed is proved by proof mode when it runs to its fixpoint.)
#[test]
fn proof_mode_stopped_by_a_limit_leaves_the_bounded_verdict() {
    let proved = check_program(load("apis/vsm_fixed.yaml"), settings());
    assert_eq!(proved.proof, Some(Proof::Proved));
    let r = check_program_within(load("apis/vsm_fixed.yaml"), settings(), &spent());
    assert_eq!(r.verdict, Verdict::Secure);
    assert_eq!(r.proof, Some(Proof::UpTo));
    assert!(r.limit.is_none(), "saturation itself reached its fixpoint");
    let gap = r.proof_gap.as_deref().unwrap_or_default();
    assert!(gap.contains("it hit the time limit"), "{gap}");
    let text = apisat::report::text(&r);
    assert!(text.contains("SECURE up to bounds"), "{text}");
    assert!(!text.contains("(proved)"), "{text}");
    // And proof mode itself says so.
    let mut program = load("apis/vsm_fixed.yaml");
    let run = prove_within(
        &mut program,
        Default::default(),
        Limits::default(),
        &spent(),
    );
    assert!(!run.is_exact());
    assert!(matches!(run.stop, StopReason::TimeLimit(_)));
}

/// Trace extraction stopped by a limit: the secret is still derivable
/// (saturation established it), the verdict ATTACK, and the report says
/// the attack was not extracted instead of printing an empty trace.
#[test]
fn trace_extraction_stopped_by_a_limit_still_says_attack() {
    let r = check_program_within(load("apis/vsm.yaml"), settings(), &spent());
    assert_eq!(r.verdict, Verdict::Attack);
    let s = r
        .secrets
        .iter()
        .find(|s| s.derivable == Some(true))
        .unwrap();
    assert!(s.trace.is_empty());
    let note = s.unfinished.as_deref().unwrap_or_default();
    assert_eq!(
        note,
        "its attack was not extracted: the time limit of 0.001 s was reached first \
         (a smaller --max-facts stops saturation sooner, leaving time for it)"
    );
    let text = apisat::report::text(&r);
    assert!(text.contains(&format!(": DERIVABLE; {note}\n")), "{text}");
    // Without a limit the same check has no note (and JSON no field).
    let full = check_program(load("apis/vsm.yaml"), settings());
    assert!(full.secrets.iter().all(|s| s.unfinished.is_none()));
    assert!(!serde_json::to_string(&full).unwrap().contains("unfinished"));
}

/// Replay stopped by a limit neither confirms nor refutes the attack.
#[test]
fn replay_stopped_by_a_limit_confirms_nothing() {
    let mut program = load("apis/vsm.yaml");
    let r = check_program(program.clone(), settings());
    assert_eq!(r.verdict, Verdict::Attack);
    // Saturate as the check does, then replay with a spent budget.
    let mut p2 = program.clone();
    let secret = p2.secrets[0].term;
    let attacker = p2
        .store
        .names()
        .find(|(_, n)| n.kind == apisat::term::NameKind::Attacker)
        .map(|(id, _)| id);
    let attacker = match attacker {
        Some(id) => p2.store.name_term(id),
        None => {
            let id = p2
                .store
                .declare_name("attacker", apisat::term::NameKind::Attacker);
            let t = p2.store.name_term(id);
            p2.knowledge.push(t);
            t
        }
    };
    let compiled = apisat::plan::compile(&mut p2, attacker);
    let sat = apisat::engine::saturate(
        &mut p2,
        &compiled.plans,
        &[secret],
        Default::default(),
        Limits::default(),
    );
    assert!(sat.derivable.contains(&secret));
    let d = Derivations::compute(&mut p2, &sat, &[secret]);
    let attack = d.attack(&p2, secret).unwrap();
    assert!(!attack.steps.is_empty());
    assert!(matches!(
        replay_within(&mut p2, &attack, &spent()),
        Replay::Stopped(StopReason::TimeLimit(_))
    ));
    program.secrets.truncate(1);
}

// ----- the resource cases of the issue ----------------------------------

/// Issue 15's three-line file: one function with 60 free inputs. It
/// aborted with an allocation failure under a 4 GB cap; with a small
/// `--max-memory` the saturation to its fixpoint (`--exhaustive`) ends in
/// LIMIT (exit 3) at the memory limit. Without `--exhaustive`, proof mode
/// decides it: K is in no knowledge and no output (F only returns the
/// tuple of its own inputs, which the attacker chose from what it knows),
/// so K is not derivable, proved.
#[test]
fn sixty_free_inputs_end_at_the_memory_limit_not_an_abort() {
    let xs: Vec<String> = (0..60).map(|i| format!("x{i}")).collect();
    let yaml = format!(
        "names: {{public: [A, B, C], secret: [K]}}\nfunctions:\n  - {{name: F, inputs: [{}], outputs: [\"({})\"]}}\n",
        xs.join(", "),
        xs.join(", ")
    );
    let (code, out, err) = apisat_on(
        "wide60.yaml",
        &yaml,
        &["check", "--exhaustive", "--max-memory", "64M"],
    );
    assert_eq!(code, 3, "{out}{err}");
    assert!(
        out.contains("stopped by: the memory limit of 64 MiB"),
        "{out}"
    );
    assert!(
        out.contains("secret K: unknown (stopped at a limit)"),
        "{out}"
    );
    let (code, out, err) = apisat_on("wide60.yaml", &yaml, &["check", "--max-memory", "64M"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("secret K: not derivable (proved)"), "{out}");
    assert!(
        out.contains("saturation: not needed, proof mode decided every secret"),
        "{out}"
    );
}

/// The Pair blow-up with a secret it reaches: `--timeout 1` ends with the
/// attack (saturation found it before the limit), its trace extracted or
/// said not to be, exit 1; never a panic.
#[test]
fn the_pair_blow_up_with_an_attack_ends_in_attack_under_a_time_limit() {
    let yaml = "names: {public: [A], secret: [K, S]}\nknowledge: [\"{A}K\"]\nfunctions:\n  - {name: Pair, inputs: [\"{x}K\", \"{y}K\"], outputs: [\"{x, y}K\"]}\n  - {name: Reveal, inputs: [\"{(A, A), A}K\"], outputs: [S]}\nsecrets: [S]\n";
    let (code, out, err) = apisat_on("pair_attack.yaml", yaml, &["check", "--timeout", "1"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("secret S: DERIVABLE"), "{out}");
    assert!(out.contains("stopped by: the time limit of 1 s;"), "{out}");
}

/// The Pair blow-up from `{A}K` under a small fact limit and a small
/// memory limit: LIMIT, exit 3, whichever stops it.
#[test]
fn the_pair_blow_up_ends_at_a_fact_or_memory_limit() {
    let yaml = "names: {public: [A], secret: [K]}\nknowledge: [\"{A}K\"]\nfunctions:\n  - {name: Pair, inputs: [\"{x}K\", \"{y}K\"], outputs: [\"{x, y}K\"]}\n";
    let (code, out, _) = apisat_on("pair_facts.yaml", yaml, &["check", "--max-facts", "20000"]);
    assert_eq!(code, 3, "{out}");
    assert!(out.contains("stopped by: the fact limit of 20000"), "{out}");
    let (code, out, _) = apisat_on("pair_mem.yaml", yaml, &["check", "--max-memory", "16M"]);
    assert_eq!(code, 3, "{out}");
    assert!(out.contains("stopped by: the "), "{out}");
}

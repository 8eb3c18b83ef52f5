//! What each verdict claims, on small APIs whose answer is reasoned here.

use apisat::engine::{Bounds, Limits};
use apisat::lower::load_source;
use apisat::verdict::{check_program, Proof, Report, Settings, Verdict};

fn check(src: &str, settings: Settings) -> Report {
    let loaded = load_source("test.yaml", src).unwrap_or_else(|d| panic!("{d:?}"));
    check_program(loaded.program, settings)
}

/// No function takes free data and nothing grows: the fixpoint is reached
/// without any bound cutting, so "not derivable" is a proof. K only ever
/// appears under MK or under the hash h, which has no inverse.
#[test]
fn secure_without_cuts_is_proved() {
    let r = check(
        r#"
names: { secret: [K, MK] }
knowledge: ["{K}MK"]
functions:
  - name: Fingerprint
    inputs: ["{k}MK"]
    outputs: ["h(k)"]
"#,
        Settings::default(),
    );
    assert_eq!(r.verdict, Verdict::Secure);
    assert_eq!(r.proof, Some(Proof::Proved));
    assert!(r.bounds.is_empty());
    assert_eq!(r.secrets[0].derivable, Some(false));
}

/// Free data flows to an output: the bounded search's input-depth bound
/// cuts, so only proof mode can prove it, which it does: `{x}K` for any x
/// never reveals K. With XOR in the key, too: `{x}(K ⊕ A)` is ⊕-linear,
/// and K ⊕ A is never a plaintext nor derivable (K is secret).
#[test]
fn free_data_is_proved_by_proof_mode() {
    let r = check(
        r#"
names: { secret: [K] }
functions:
  - name: Encrypt
    inputs: [x]
    outputs: ["{x}K"]
"#,
        Settings::default(),
    );
    assert_eq!(r.verdict, Verdict::Secure);
    assert_eq!(r.proof, Some(Proof::Proved));
    assert!(r.bounds.is_empty());
    let r = check(
        r#"
names: { public: [A], secret: [K] }
functions:
  - name: Encrypt
    inputs: [x]
    outputs: ["{x}(K xor A)"]
"#,
        Settings::default(),
    );
    assert_eq!(r.verdict, Verdict::Secure);
    assert_eq!(r.proof, Some(Proof::Proved));
    assert!(r.bounds.is_empty());
    assert_eq!(r.secrets[0].proof, Some(Proof::Proved));
}

/// An input `a ⊕ b` with neither variable bound elsewhere: the HSM's split
/// of the supplied value is not determined, which is outside the fragment
/// proof mode handles. The verdict stays "up to" the bound, and the proof
/// gap names the function and the input.
#[test]
fn xor_outside_the_fragment_is_the_located_proof_gap() {
    let r = check(
        r#"
names: { public: [A], secret: [K] }
functions:
  - name: Combine
    inputs: ["a xor b"]
    outputs: ["{a}K"]
"#,
        Settings::default(),
    );
    assert_eq!(r.verdict, Verdict::Secure);
    assert_eq!(r.proof, Some(Proof::UpTo));
    assert_eq!(r.secrets[0].proof, Some(Proof::UpTo));
    assert!(!r.bounds.is_empty());
    let gap = r.proof_gap.as_deref().expect("a proof gap");
    assert_eq!(
        gap,
        "proof mode did not reach an exact fixpoint: XOR is used outside the fragment it \
         handles (Combine: input 1 a ⊕ b has two variables under XOR that no other input binds)"
    );
    assert!(r.rests_on.ends_with(gap), "{}", r.rests_on);
}

/// `{s ⊕ P}K` with K secret, and an oracle encrypting anything under K:
/// the attacker knows P and any `{x}K`, never `s ⊕ P` or K, so s is proved
/// safe for every attacker (the bounded search alone is cut by the free
/// input). With `s ⊕ P` itself known, s is `(s ⊕ P) ⊕ P`: proof mode
/// derives it, so s is never proved safe (whether the bounded search finds
/// the attack depends on its XOR span search, not asserted here).
#[test]
fn xor_masked_secret_is_proved_or_found() {
    let src = r#"
names: { public: [P], secret: [s, K] }
knowledge: ["{s xor P}K"]
functions:
  - name: Encrypt
    inputs: [x]
    outputs: ["{x}K"]
secrets: [s]
"#;
    let r = check(src, Settings::default());
    assert_eq!(r.verdict, Verdict::Secure);
    assert_eq!(r.proof, Some(Proof::Proved));
    assert!(r.bounds.is_empty());
    let leaked = src.replace(r#"knowledge: ["{s xor P}K"]"#, r#"knowledge: ["s xor P"]"#);
    let r = check(&leaked, Settings::default());
    assert_ne!(r.proof, Some(Proof::Proved));
    assert_ne!(r.secrets[0].proof, Some(Proof::Proved));
    let (mut p, run) = proof_mode(&leaked);
    let secret = p.secrets[0].term;
    assert!(run.is_exact());
    assert!(apisat::prove::derivable(&mut p, &run, secret));
}

/// A function returning `c ⊕ x` for the attacker's choice x: with x = 0 it
/// returns c. The bounded search finds it; proof mode, which stores the
/// fact `c ⊕ x` as `c`, must never call c safe.
#[test]
fn c_xor_free_x_is_never_proved_safe() {
    let src = r#"
names: { secret: [c] }
functions:
  - name: Leak
    inputs: [x]
    outputs: ["c xor x"]
"#;
    let r = check(src, Settings::default());
    assert_eq!(r.verdict, Verdict::Attack);
    let (mut p, run) = proof_mode(src);
    let c = p.secrets[0].term;
    assert!(run.is_exact());
    assert!(apisat::prove::derivable(&mut p, &run, c));
}

/// Re-encrypting its own output grows terms without end; the depth bound
/// cuts and must be reported.
#[test]
fn growing_outputs_hit_max_depth() {
    let r = check(
        r#"
names: { public: [A], secret: [K] }
knowledge: ["{A}K"]
functions:
  - name: Rewrap
    inputs: ["{m}K"]
    outputs: ["{m, m}K"]
"#,
        Settings::default(),
    );
    assert_eq!(r.proof, Some(Proof::UpTo));
    assert!(r
        .bounds
        .iter()
        .any(|b| b.bound == "max-depth" && b.rules == ["Rewrap"]));
    // Proof mode grows the same way; the verdict says why it did not help.
    assert!(
        r.rests_on
            .contains("proof mode did not reach an exact fixpoint")
            && r.rests_on.contains("max-depth (Rewrap)"),
        "{}",
        r.rests_on
    );
}

/// Three inputs with nested tuples have more build alternatives than the
/// planner keeps: that must show as a bound, never as a proof. (G, whose
/// input `x ⊕ y` is outside proof mode's XOR fragment, keeps proof mode
/// from closing the gap, so the bounded search's verdict stands.)
#[test]
fn too_many_build_alternatives_is_a_bound() {
    let r = check(
        r#"
names: { public: [A], secret: [K] }
functions:
  - name: F
    inputs: ["((a, b), (c, d))", "((e, f), (g, i))", "((j, l), (m, n))"]
    outputs: ["{(a, e, j), (d, i, n)}(K xor A)"]
  - name: G
    inputs: ["x xor y"]
    outputs: ["{x}K"]
"#,
        Settings::default(),
    );
    assert!(r
        .bounds
        .iter()
        .any(|b| b.bound == "plan-budget" && b.rules == ["F"]));
    assert_ne!(r.proof, Some(Proof::Proved));
}

/// A fact limit reached before a fixpoint gives LIMIT, and a secret not
/// derivable by then is unknown, not safe.
#[test]
fn a_limit_never_claims_a_secret_safe() {
    let settings = Settings {
        bounds: Bounds::default(),
        limits: Limits {
            max_facts: 10,
            timeout: None,
            max_memory: None,
        },
        ..Settings::default()
    };
    let r = check(
        r#"
names: { public: [A, B, C], secret: [K] }
functions:
  - name: Encrypt
    inputs: [x, y]
    outputs: ["{x, y}K"]
"#,
        settings,
    );
    assert_eq!(r.verdict, Verdict::Limit);
    assert_eq!(r.secrets[0].derivable, None);
    assert_eq!(r.limit.as_ref().map(|l| l.limit.as_str()), Some("facts"));
}

/// On the path for large APIs (forced here), proof mode runs before the
/// bounded search: a secret it proves stays proved when the search then
/// stops at a limit, and only the others are unknown. Here K is only ever
/// an encryption key of the HSM's (no function outputs it, nor anything it
/// could be read from), so no attacker learns it; S leaks after two calls,
/// but the attacker's own encryptions fill the fact limit first.
#[test]
fn a_secret_proof_mode_proved_stays_proved_past_a_limit() {
    let settings = Settings {
        bounds: Bounds::default(),
        limits: Limits {
            max_facts: 12,
            timeout: None,
            max_memory: None,
        },
        stop_early: true,
        first_pass_facts: 0,
        ..Settings::default()
    };
    let r = check(
        r#"
names: { public: [A, B, C], secret: [K, S] }
functions:
  - name: Encrypt
    inputs: [x, y]
    outputs: ["{x, y}K"]
  - name: Leak
    inputs: ["{{A, A}K, A}K"]
    outputs: [S]
"#,
        settings,
    );
    assert_eq!(r.verdict, Verdict::Limit, "{r:#?}");
    assert_eq!(r.limit.as_ref().map(|l| l.limit.as_str()), Some("facts"));
    assert_eq!(r.secrets[0].label, "K");
    assert_eq!(r.secrets[0].derivable, Some(false));
    assert_eq!(r.secrets[0].proof, Some(Proof::Proved));
    assert_eq!(r.secrets[1].label, "S");
    assert_eq!(r.secrets[1].derivable, None);
    assert!(
        r.rests_on.contains("proof mode") && r.rests_on.contains("proved K not derivable"),
        "{}",
        r.rests_on
    );
}

/// An attack found before a limit is still an attack: it is a real
/// derivation, replayed concretely.
#[test]
fn an_attack_found_before_a_limit_stands() {
    let r = check(
        r#"
names: { public: [A], secret: [K] }
knowledge: ["{K}A"]
"#,
        Settings::default(),
    );
    assert_eq!(r.verdict, Verdict::Attack);
    assert_eq!(r.secrets[0].derivable, Some(true));
}

/// The abstraction merges all of a function's fresh values into one name,
/// so abstractly two shares combine to `s ⊕ s = 0`, and the check `a != b`
/// is relaxed to "may differ" for fresh values. On a real HSM the check
/// forces two different shares, whose XOR is never 0: the attack must be
/// reported, and its replay must say it is not confirmed.
#[test]
fn attacks_resting_on_the_fresh_abstraction_are_not_confirmed() {
    let r = check(
        r#"
names: { public: [PAN], secret: [MK, P], fresh: [s] }
knowledge: ["{P}MK"]
functions:
  - name: GenerateShare
    fresh: [s]
    outputs: ["{s}MK"]
  - name: Combine
    inputs: ["{a}MK", "{b}MK"]
    checks: ["a != b"]
    outputs: ["{a xor b}MK"]
  - name: Send
    inputs: ["{p}MK", "{t}MK"]
    checks: ["p == P"]
    outputs: ["{p}t"]
secrets: [P]
"#,
        Settings::default(),
    );
    let p = &r.secrets[0];
    assert_eq!(p.derivable, Some(true), "abstractly, s xor s = 0");
    let replay = p.replay.as_ref().expect("replayed");
    assert!(!replay.confirmed, "{}", replay.detail);
}

fn proof_mode(src: &str) -> (apisat::program::Program, apisat::prove::ProofRun) {
    let mut program = load_source("test.yaml", src)
        .unwrap_or_else(|d| panic!("{d:?}"))
        .program;
    let run = apisat::prove::prove(&mut program, Bounds::default(), Limits::default());
    (program, run)
}

/// Regression (found by the soundness property test): a fact may bind a
/// variable to a term the attacker cannot derive (`y := s1` from the
/// obtained `senc(e0, s1)`), so building `senc(x, y)` from derivable `x`,
/// `y` does not cover matching the fact. Proof mode must find s1.
#[test]
fn proof_mode_matches_facts_even_when_the_input_could_be_built() {
    let (mut p, run) = proof_mode(
        r#"
names: { attacker: [e0], secret: [s1] }
knowledge: ["(e0, {e0}s1)"]
functions:
  - name: Open
    inputs: ["senc(x, y)"]
    outputs: ["(x, y)"]
"#,
    );
    let s1 = p.secrets[0].term;
    assert!(apisat::prove::derivable(&mut p, &run, s1));
}

/// Regression: resolution can descend forever (`h(x)` against the fact
/// `h((h(y), h(y)))` asks for `h(y')` again). The search is cut at a depth,
/// and a cut run must never be reported as a proof.
#[test]
fn proof_mode_cut_short_is_never_a_proof() {
    let src = r#"
names: { attacker: [e0], public: [p1], secret: [s3] }
functions:
  - name: f0
    inputs: [x, "(y, _)"]
    checks: ["h(y) in [x]"]
    outputs: ["h((x, x))"]
  - name: f1
    inputs: ["h(x)"]
    outputs: ["{s3}senc(x, x)"]
secrets: ["(e0, s3)"]
"#;
    let (mut p, run) = proof_mode(src);
    let secret = p.secrets[0].term;
    assert!(!run.is_exact() || apisat::prove::derivable(&mut p, &run, secret));
    let r = check(src, Settings::default());
    assert_eq!(
        r.verdict,
        Verdict::Attack,
        "f1(h(e0)) then decrypt with senc(e0, e0)"
    );
}

// ----- XOR: the attacker XORs everything it knows ---------------------------
//
// The definition (issue 9, SPEC "The attacker"): take every term that is not
// an XOR as an atom; the attacker derives every term whose vector of atoms
// lies in the GF(2) span of what it can derive, and takes apart what it so
// derives. Each case below is one step of that definition, reasoned by hand.

/// The one XOR step of an attack, as reported.
fn xor_step(r: &Report, secret: &str) -> apisat::verdict::StepReport {
    let s = r.secrets.iter().find(|s| s.label == secret).unwrap();
    s.trace
        .iter()
        .find(|t| t.kind == "xor")
        .unwrap_or_else(|| panic!("no XOR step in {:?}", s.trace))
        .clone()
}

fn confirmed(r: &Report, secret: &str) -> bool {
    let s = r.secrets.iter().find(|s| s.label == secret).unwrap();
    s.replay.as_ref().is_some_and(|rp| rp.confirmed)
}

/// `s ⊕ P` with `P` public: (s ⊕ P) ⊕ P = s, one call. Was "SECURE (proved)".
#[test]
fn xor_with_a_public_name_gives_the_secret() {
    let r = check(
        r#"
names: {public: [P], secret: [s]}
functions: [{name: Leak, inputs: [], outputs: ["s xor P"]}]
"#,
        Settings::default(),
    );
    assert_eq!(r.verdict, Verdict::Attack);
    assert_eq!(r.secrets[0].derivable, Some(true));
    assert_eq!(r.secrets[0].calls, Some(1));
    let step = xor_step(&r, "s");
    assert_eq!(step.args, vec!["P", "P ⊕ s"]);
    assert_eq!(step.result, vec!["s"]);
    assert!(confirmed(&r, "s"));
}

/// Knowledge `k ⊕ s` and `k`: s with no call at all.
#[test]
fn xor_of_two_known_terms_gives_the_secret() {
    let r = check(
        r#"
names: {secret: [s, k]}
knowledge: ["k xor s", "k"]
"#,
        Settings::default(),
    );
    assert_eq!(r.verdict, Verdict::Attack);
    let s = r.secrets.iter().find(|s| s.label == "s").unwrap();
    assert_eq!(s.derivable, Some(true));
    assert_eq!(s.calls, Some(0));
    assert_eq!(xor_step(&r, "s").args, vec!["k", "k ⊕ s"]);
    assert!(confirmed(&r, "s"));
}

/// An encryption oracle and `senc(N, K) ⊕ S`: Enc(N) gives senc(N, K), an
/// atom of the masked output, and XOR removes it: S in two calls. Was "not
/// derivable within the bounds" although no listed bound cut the attack.
#[test]
fn an_oracle_output_unmasks_a_secret() {
    let r = check(
        r#"
names: {public: [N], secret: [K, S]}
functions:
  - {name: Enc, inputs: [x], outputs: ["senc(x, K)"]}
  - {name: Mask, inputs: [], outputs: ["senc(N, K) xor S"]}
secrets: [S]
"#,
        Settings::default(),
    );
    assert_eq!(r.verdict, Verdict::Attack);
    assert_eq!(r.secrets[0].calls, Some(2));
    let step = xor_step(&r, "S");
    assert_eq!(step.args, vec!["senc(N, K)", "S ⊕ senc(N, K)"]);
    assert!(confirmed(&r, "S"));
}

/// `a ⊕ b` and `b ⊕ c` give `a ⊕ c` but no single name: a and c stay
/// secret (every vector in the span has an even number of atoms), and that
/// is a proof: nothing was cut. `a ⊕ c` itself is derivable.
#[test]
fn a_span_without_atoms_reveals_only_sums() {
    let src = r#"
names: {secret: [a, b, c]}
knowledge: ["a xor b", "b xor c"]
secrets: [a, b, c, {term: "a xor c", label: ac}]
"#;
    let r = check(src, Settings::default());
    let get = |l: &str| r.secrets.iter().find(|s| s.label == l).unwrap();
    for l in ["a", "b", "c"] {
        assert_eq!(get(l).derivable, Some(false), "{l}");
        assert_eq!(get(l).proof, Some(Proof::Proved), "{l}");
    }
    assert_eq!(get("ac").derivable, Some(true));
    assert_eq!(get("ac").calls, Some(0));
}

/// An atom obtained by XOR is taken apart like any obtained term: from
/// `senc(M, K) ⊕ A` and the public A the attacker obtains senc(M, K), and
/// with K (unmasked the same way from `K ⊕ A ⊕ B`, B public) decrypts M.
#[test]
fn an_atom_obtained_by_xor_is_decrypted() {
    let r = check(
        r#"
names: {public: [A, B], secret: [K, M]}
knowledge: ["senc(M, K) xor A", "K xor A xor B"]
secrets: [M]
"#,
        Settings::default(),
    );
    assert_eq!(r.verdict, Verdict::Attack);
    let m = &r.secrets[0];
    assert_eq!(m.derivable, Some(true));
    assert!(m
        .trace
        .iter()
        .any(|t| t.kind == "deduction" && t.call == "decrypt"));
    assert!(confirmed(&r, "M"));
}

/// A derivable atom that the attacker builds (h(A), A public) unmasks what
/// it is XORed with, although it was never obtained.
#[test]
fn a_built_atom_unmasks_too() {
    let r = check(
        r#"
names: {public: [A], secret: [S]}
knowledge: ["h(A) xor S"]
"#,
        Settings::default(),
    );
    assert_eq!(r.verdict, Verdict::Attack);
    assert_eq!(xor_step(&r, "S").args, vec!["h(A)", "S ⊕ h(A)"]);
}

/// An API input that is an XOR the attacker must assemble from the span:
/// Check takes `a ⊕ c` (not a single name's XOR: a, c are secret) and
/// releases the secret; `a ⊕ b`, `b ⊕ c` are known.
#[test]
fn an_xor_input_is_supplied_from_the_span() {
    let r = check(
        r#"
names: {secret: [a, b, c, S]}
knowledge: ["a xor b", "b xor c"]
functions:
  - {name: Release, inputs: ["a xor c"], outputs: [S]}
secrets: [S]
"#,
        Settings::default(),
    );
    assert_eq!(r.verdict, Verdict::Attack);
    assert_eq!(r.secrets[0].calls, Some(1));
    assert!(confirmed(&r, "S"));
}

// ----- limits that hold -------------------------------------------------------

/// Runs the binary (whose allocator counts memory) on `yaml` written to a
/// temporary file: (exit code, stdout).
fn apisat_on(name: &str, yaml: &str, args: &[&str]) -> (i32, String) {
    let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    std::fs::write(&path, yaml).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_apisat"))
        .args(args)
        .arg(&path)
        .output()
        .expect("the binary runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// A three-line file whose one function takes 14 free inputs: the attacker
/// has 5^14 ways to call it, so saturation grows until a limit stops it.
/// Before the memory limit it aborted with an allocation failure under a
/// 4 GB cap; now the saturation to its fixpoint (`--exhaustive`) ends in
/// LIMIT at the memory limit, exit code 3, and never calls the secret safe.
/// (Without `--exhaustive` proof mode proves K secret: see
/// `limits::sixty_free_inputs_end_at_the_memory_limit_not_an_abort`.)
#[test]
fn a_wide_free_input_ends_at_the_memory_limit() {
    let xs: Vec<String> = (0..14).map(|i| format!("x{i}")).collect();
    let yaml = format!(
        "names: {{public: [A, B, C], secret: [K]}}\nfunctions:\n  - {{name: F, inputs: [{}], outputs: [\"({})\"]}}\n",
        xs.join(", "),
        xs.join(", ")
    );
    let (code, out) = apisat_on(
        "wide_tuple.yaml",
        &yaml,
        &["check", "--exhaustive", "--max-memory", "64M"],
    );
    assert_eq!(code, 3, "{out}");
    assert!(
        out.contains("stopped by: the memory limit of 64 MiB"),
        "{out}"
    );
    assert!(out.contains("secret K: unknown"), "{out}");
}

/// Time limits print in the unit the user gave.
#[test]
fn a_time_limit_is_reported_in_seconds() {
    let yaml = "names: {public: [A], secret: [K]}\nknowledge: [\"{A}K\"]\nfunctions:\n  - {name: Pair, inputs: [\"{x}K\", \"{y}K\"], outputs: [\"{x, y}K\"]}\n";
    let (code, out) = apisat_on("pair_blowup.yaml", yaml, &["check", "--timeout", "1"]);
    assert_eq!(code, 3, "{out}");
    assert!(out.contains("stopped by: the time limit of 1 s;"), "{out}");
}

/// A single check has a default time limit, documented in its help, and no
/// progress line when stderr is not a terminal (here a pipe).
#[test]
fn checks_have_a_default_time_limit_and_no_progress_line_in_a_pipe() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_apisat"))
        .args(["check", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(help.contains("[default: 300]"), "{help}");
    let yaml = "names: {public: [A], secret: [K]}\nknowledge: [\"{A}K\"]\nfunctions:\n  - {name: Pair, inputs: [\"{x}K\", \"{y}K\"], outputs: [\"{x, y}K\"]}\n";
    let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("progress_pipe.yaml");
    std::fs::write(&path, yaml).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_apisat"))
        .args(["check", "--timeout", "1.5"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("time limit of 1.5 s"));
}

/// The attacker builds the secret tuple `(A ⊕ K, A)` from the call's
/// result `A ⊕ K` and the public `A`: the step is a tuple build, not an
/// XOR, in the text trace and the DOT graph alike (as the JSON's `build`
/// says). Issue 15: the text labelled it "XOR of" because the tuple holds an
/// XOR.
#[test]
fn trace_labels_a_tuple_build_holding_an_xor_as_a_build() {
    let r = check(
        r#"
names: {public: [A], secret: [K]}
functions:
  - {name: Mask, inputs: [x], outputs: ["x xor K"]}
secrets: ["(A xor K, A)"]
"#,
        Settings::default(),
    );
    assert_eq!(r.verdict, Verdict::Attack);
    let text = apisat::report::text(&r);
    assert!(
        text.contains("        attacker: (A ⊕ K, A) builds it from A ⊕ K, A\n"),
        "{text}"
    );
    assert!(!text.contains("XOR of"), "{text}");
    let dot = apisat::dot::graph(&r);
    assert!(dot.contains("label=\"attacker: build\""), "{dot}");
    assert!(!dot.contains("attacker: XOR"), "{dot}");
    // The label comes from the step's kind (`build`), not from its text.
    let step = r.secrets[0].trace.last().unwrap();
    assert_eq!(step.kind, "build");
}

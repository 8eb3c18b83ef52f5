//! The spi front end and `apisat convert`.
//!
//! * `tests/invalid_spi/*.spi`: one mistake per file (syntax, a shape
//!   with no API-function reading, scope), except `three_mistakes.spi`;
//!   each rendered in `snapshots/spi/`, its error positions pinned below,
//!   every diagnostic with a help line that names no YAML field;
//! * `apis/*.spi` compile to the same checked program as their YAML twin,
//!   with the same report and exports;
//! * `apisat convert`: the outputs for every `apis/*.spi` and every
//!   `apis/*.yaml` that converts, snapshotted; the round trips yaml -> spi
//!   -> yaml and spi -> yaml -> spi give the same program and report; what
//!   spi cannot say is a located error; `convert | check -` works.

use std::path::{Path, PathBuf};

use apisat::convert::{convert, Notation};
use apisat::diagnostic::{render_all, Diagnostic};
use apisat::export::{export, Target};
use apisat::lower::{load_file, load_source, Loaded};
use apisat::program::{Check, Program};
use apisat::verdict::{check_program, Settings};

use crate::{apisat_bin, apisat_bin_with_stdin};

/// Fixture in `tests/invalid_spi/` -> line and column of each error.
const INVALID: &[(&str, &[(u32, u32)])] = &[
    ("bad_expectation.spi", &[(3, 10)]),
    ("declared_and_restricted.spi", &[(3, 15)]),
    ("empty_file.spi", &[(1, 1)]),
    ("fresh_not_generated.spi", &[(2, 21)]),
    ("no_secret.spi", &[(1, 1)]),
    ("shape_binder_is_a_name.spi", &[(2, 8)]),
    ("shape_bound_twice.spi", &[(1, 11)]),
    ("shape_calls_a_process.spi", &[(2, 12)]),
    ("shape_case_on_compound.spi", &[(2, 20)]),
    ("shape_inline_function.spi", &[(1, 19)]),
    ("shape_never_answers.spi", &[(2, 1)]),
    ("shape_no_system.spi", &[(1, 1)]),
    ("shape_not_in_system.spi", &[(2, 1)]),
    ("shape_not_replicated.spi", &[(3, 1)]),
    ("shape_output_before_input.spi", &[(3, 22)]),
    ("shape_parallel_in_function.spi", &[(2, 16)]),
    ("shape_receive_after_answer.spi", &[(4, 29)]),
    ("shape_restricted_channel.spi", &[(1, 12)]),
    ("shape_restriction_in_composition.spi", &[(2, 23)]),
    ("shape_system_tests.spi", &[(2, 23)]),
    ("shape_taken_apart_twice.spi", &[(1, 36)]),
    ("shape_test_after_answer.spi", &[(4, 25)]),
    ("shape_twice_in_system.spi", &[(2, 24)]),
    ("shape_two_systems.spi", &[(3, 1)]),
    ("shape_undefined_process.spi", &[(2, 29)]),
    ("syntax_bad_character.spi", &[(3, 29)]),
    ("syntax_case_without_in.spi", &[(3, 38)]),
    ("syntax_polyadic_output.spi", &[(3, 20)]),
    ("syntax_unclosed_comment.spi", &[(4, 1)]),
    ("syntax_unclosed_output.spi", &[(3, 27)]),
    ("syntax_unknown_item.spi", &[(2, 1)]),
    ("three_mistakes.spi", &[(5, 48), (6, 49), (7, 29)]),
    ("unknown_name.spi", &[(2, 40)]),
    ("unknown_name_in_knowledge.spi", &[(2, 36)]),
    ("wrong_arity.spi", &[(4, 40)]),
];

/// Words of the YAML language that no diagnostic about a spi file says.
const YAML_WORDS: &[&str] = &[
    "names:",
    "`names",
    "names.",
    "`secrets",
    "`constructors`",
    "`functions`",
    "`inputs`",
    "`outputs`",
    "`fresh`",
];

fn settings(dir: &str) -> insta::Settings {
    let root = env!("CARGO_MANIFEST_DIR");
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(format!("{root}/snapshots/{dir}"));
    settings.set_prepend_module_to_snapshot(false);
    settings
}

#[test]
fn invalid_files() {
    settings("spi").bind(|| {
        insta::glob!("..", "invalid_spi/*.spi", |path| {
            let (name, rel) = crate::fixture_path(path, "tests/invalid_spi");
            let source = std::fs::read_to_string(&rel).expect("fixture is readable");
            let diags = match load_file(&rel) {
                Ok(_) => panic!("{name} loads, but it holds a mistake"),
                Err(diags) => diags,
            };
            let rendered = render_all(&diags, Some(&source));
            let at: Vec<(u32, u32)> = diags
                .iter()
                .filter(|d| d.is_error())
                .map(|d| (d.span.line, d.span.col))
                .collect();
            let expected = INVALID
                .iter()
                .find(|(n, _)| *n == name)
                .unwrap_or_else(|| panic!("{name}: add its errors to INVALID\n{rendered}"));
            assert_eq!(at, expected.1.to_vec(), "{name}\n{rendered}");
            for d in &diags {
                assert_eq!(d.file, rel.display().to_string());
                let help = d
                    .help
                    .as_deref()
                    .unwrap_or_else(|| panic!("{name}: no help\n{rendered}"));
                for w in YAML_WORDS {
                    assert!(
                        !help.contains(w) && !d.message.contains(w),
                        "{name}: says `{w}`\n{rendered}"
                    );
                }
            }
            insta::assert_snapshot!(rendered);
        });
    });
}

#[test]
fn every_fixture_is_in_the_table() {
    for (name, _) in INVALID {
        assert!(
            Path::new("tests/invalid_spi").join(name).exists(),
            "{name} is missing"
        );
    }
}

/// A checked program as text, for comparing two front ends: names with
/// their kinds, rules (variables by number and by name), knowledge and
/// secrets; not positions or the file name.
fn dump(p: &Program) -> String {
    let s = &p.store;
    let mut out = format!("name {}\n", p.name);
    for (_, n) in s.names() {
        out.push_str(&format!("{:?} {}\n", n.kind, n.text));
    }
    for r in &p.rules {
        let show = |ts: &[apisat::term::TermId]| {
            ts.iter().map(|t| s.show(*t)).collect::<Vec<_>>().join("; ")
        };
        let checks: Vec<String> = r
            .checks
            .iter()
            .map(|c| match c {
                Check::Equal(a, b) => format!("{} == {}", s.show(*a), s.show(*b)),
                Check::NotEqual(a, b) => format!("{} != {}", s.show(*a), s.show(*b)),
                Check::OneOf(a, items) => format!("{} in [{}]", s.show(*a), show(items)),
            })
            .collect();
        let fresh: Vec<&str> = r.fresh.iter().map(|n| s.name(*n).text.as_str()).collect();
        out.push_str(&format!(
            "{:?} {}({}) [{}] fresh {:?} -> {} vars {:?}\n",
            r.kind,
            r.name,
            show(&r.inputs),
            checks.join("; "),
            fresh,
            show(&r.outputs),
            r.var_names
        ));
    }
    for k in &p.knowledge {
        out.push_str(&format!("knows {}\n", s.show(*k)));
    }
    for sec in &p.secrets {
        out.push_str(&format!("secret {} = {}\n", sec.label, s.show(sec.term)));
    }
    out
}

/// The report of a program as text, its file name taken out.
fn report(loaded: &Loaded) -> String {
    let file = loaded.program.file.clone();
    let report = check_program(loaded.program.clone(), Settings::default());
    apisat::report::text(&report).replacen(&file, "FILE", 1)
}

/// What a file expects, by label.
fn expectations(l: &Loaded) -> Vec<(String, apisat::spec::Expected)> {
    l.expect
        .iter()
        .map(|e| (e.label.text.clone(), e.expected))
        .collect()
}

fn load(file: &str, text: &str) -> Loaded {
    load_source(file, text)
        .unwrap_or_else(|d| panic!("{file} does not load:\n{}", render_all(&d, Some(text))))
}

/// The `apis/*.EXT` files, sorted.
fn apis(ext: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir("apis")
        .map(|dir| dir.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    files.retain(|p| p.extension().is_some_and(|e| e == ext));
    files.sort();
    files
}

#[test]
fn spi_files_compile_to_their_yaml_twins_program() {
    let spi = apis("spi");
    assert!(spi.len() >= 2, "apis/*.spi");
    for path in spi {
        let twin = path.with_extension("yaml");
        let a = load_file(&path).unwrap_or_else(|d| panic!("{}: {d:?}", path.display()));
        let b = load_file(&twin).unwrap_or_else(|d| panic!("{}: {d:?}", twin.display()));
        assert!(
            a.warnings.is_empty(),
            "{}: {:?}",
            path.display(),
            a.warnings
        );
        assert_eq!(dump(&a.program), dump(&b.program), "{}", path.display());
        assert_eq!(report(&a), report(&b), "{}", path.display());
        assert_eq!(expectations(&a), expectations(&b), "{}", path.display());
        for target in [Target::ProVerif, Target::Tamarin] {
            let ea = export(&a, target).map_err(|d| d.message);
            let eb = export(&b, target).map_err(|d| d.message);
            let strip = |r: Result<String, String>, f: &str| r.map(|t| t.replacen(f, "FILE", 1));
            assert_eq!(
                strip(ea, &a.program.file),
                strip(eb, &b.program.file),
                "{}",
                path.display()
            );
        }
    }
}

/// The acceptance runs: the paper's typed API proved secure; the VSM's two
/// published attacks.
#[test]
fn acceptance_verdicts() {
    let (code, out, err) = apisat_bin(&["check", "apis/paper_typed_api.spi"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("verdict: SECURE (proved)"), "{out}");
    let (code, out, err) = apisat_bin(&["check", "apis/vsm.spi"]);
    assert_eq!(code, 1, "{out}{err}");
    let (_, yaml, _) = apisat_bin(&["check", "apis/vsm.yaml"]);
    assert_eq!(out.replacen("apis/vsm.spi", "apis/vsm.yaml", 1), yaml);
    let (code, out, err) = apisat_bin(&["test", "apis/vsm.spi", "apis/paper_typed_api.spi"]);
    assert_eq!(code, 0, "{out}{err}");
}

/// `apisat convert apis/vsm.spi --to yaml | apisat check -` reports what
/// `apisat check apis/vsm.yaml` does (the file name aside); a spi text on
/// stdin is read as spi.
#[test]
fn convert_then_check_stdin() {
    let (code, yaml, err) = apisat_bin(&["convert", "apis/vsm.spi", "--to", "yaml"]);
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = apisat_bin_with_stdin(&["check", "-"], &yaml);
    assert_eq!(code, 1, "{err}");
    let (_, direct, _) = apisat_bin(&["check", "apis/vsm.yaml"]);
    assert_eq!(out.replacen("- (VSM)", "apis/vsm.yaml (VSM)", 1), direct);
    let spi = std::fs::read_to_string("apis/vsm.spi").expect("readable");
    let (code, out, err) = apisat_bin_with_stdin(&["check", "-"], &spi);
    assert_eq!(code, 1, "{err}");
    assert_eq!(out.replacen("- (VSM)", "apis/vsm.yaml (VSM)", 1), direct);
    // The same bytes on every run.
    let (_, again, _) = apisat_bin(&["convert", "apis/vsm.spi", "--to", "yaml"]);
    assert_eq!(again, yaml);
}

/// The output of `convert` for a file, or its errors rendered.
fn converted(path: &Path, to: Notation) -> Result<String, String> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).expect("readable");
    convert(&file, &text, to).map_err(|d: Vec<Diagnostic>| render_all(&d, Some(&text)))
}

#[test]
fn convert_outputs() {
    settings("spi").bind(|| {
        for path in apis("spi") {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let yaml = converted(&path, Notation::Yaml).unwrap_or_else(|e| panic!("{e}"));
            insta::assert_snapshot!(format!("convert_to_yaml@{name}"), yaml);
        }
        for path in apis("yaml") {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if let Ok(spi) = converted(&path, Notation::Spi) {
                insta::assert_snapshot!(format!("convert_to_spi@{name}"), spi);
            }
        }
        let corners = converted(Path::new("tests/spi/corners.yaml"), Notation::Spi)
            .unwrap_or_else(|e| panic!("{e}"));
        insta::assert_snapshot!("convert_to_spi@corners.yaml", corners);
        // A feature spi cannot say: a located error naming it.
        let err = converted(Path::new("apis/pkcs11_wrap_decrypt.yaml"), Notation::Spi)
            .expect_err("attributes and private constructors have no spi spelling");
        insta::assert_snapshot!("convert_error@pkcs11_wrap_decrypt.yaml", err);
    });
}

/// yaml -> spi -> yaml and spi -> yaml -> spi: the same program, the same
/// report, and a second round gives the same text.
#[test]
fn round_trips() {
    let mut converted_yaml = 0;
    let mut yaml_files = apis("yaml");
    yaml_files.push(PathBuf::from("tests/spi/corners.yaml"));
    for path in yaml_files {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(&path).expect("readable");
        let Ok(spi) = convert(&file, &text, Notation::Spi) else {
            continue;
        };
        converted_yaml += 1;
        let original = load(&file, &text);
        let via_spi = load("round.spi", &spi);
        let yaml = convert("round.spi", &spi, Notation::Yaml).expect("spi converts to YAML");
        let back = load("round.yaml", &yaml);
        assert_eq!(
            dump(&original.program),
            dump(&via_spi.program),
            "{file} -> spi\n{spi}"
        );
        assert_eq!(
            dump(&via_spi.program),
            dump(&back.program),
            "{file} -> spi -> yaml\n{yaml}"
        );
        assert_eq!(report(&original), report(&via_spi), "{file}");
        assert_eq!(report(&original), report(&back), "{file}");
        assert_eq!(expectations(&original), expectations(&back), "{file}");
        let again = convert("again.yaml", &yaml, Notation::Spi).expect("converts again");
        // The same text, but for a YAML description, which spi writes as
        // a comment and so does not carry back.
        let uncommented = |t: &str| -> String {
            t.lines()
                .filter(|l| !l.starts_with('#'))
                .collect::<Vec<_>>()
                .join("\n")
                .trim()
                .to_string()
        };
        assert_eq!(
            uncommented(&again),
            uncommented(&spi),
            "{file}: spi -> yaml -> spi gives the same text"
        );
    }
    assert!(converted_yaml >= 6, "apis/ has YAML files that convert");
    for path in apis("spi") {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(&path).expect("readable");
        let original = load(&file, &text);
        let yaml = convert(&file, &text, Notation::Yaml).expect("converts");
        let via_yaml = load("round.yaml", &yaml);
        let spi = convert("round.yaml", &yaml, Notation::Spi).expect("converts back");
        let back = load("round.spi", &spi);
        assert_eq!(
            dump(&original.program),
            dump(&via_yaml.program),
            "{file}\n{yaml}"
        );
        assert_eq!(
            dump(&original.program),
            dump(&back.program),
            "{file}\n{spi}"
        );
        assert_eq!(report(&original), report(&back), "{file}");
        assert_eq!(expectations(&original), expectations(&back), "{file}");
    }
}

#[test]
fn exports_of_spi_files() {
    settings("spi").bind(|| {
        for path in apis("spi") {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let loaded = load_file(&path).expect("loads");
            for (target, tag) in [(Target::ProVerif, "proverif"), (Target::Tamarin, "tamarin")] {
                let text = match export(&loaded, target) {
                    Ok(t) => t,
                    Err(d) => format!("error (exit 2):\n{}", d.render(Some(&loaded.source))),
                };
                insta::assert_snapshot!(format!("export_{tag}@{name}"), text);
            }
        }
    });
}

/// Every command that takes an API file takes a spi file.
#[test]
fn every_command_reads_spi() {
    for args in [
        &["knowledge", "apis/paper_typed_api.spi"][..],
        &["explain", "apis/vsm.spi", "senc(PAN, P)"],
        &["fix", "apis/vsm.spi"],
        &["diff", "apis/vsm.spi", "apis/vsm.yaml"],
        &["export", "apis/paper_typed_api.spi", "--to", "proverif"],
        &["batch", "--no-time", "apis/vsm.spi"],
        &["test", "apis/vsm.spi"],
    ] {
        let (code, out, err) = apisat_bin(args);
        assert!(matches!(code, 0 | 1), "{args:?}: exit {code}\n{out}{err}");
        assert!(!out.is_empty(), "{args:?}");
        assert!(!err.contains("error"), "{args:?}: {err}");
    }
    let (_, diff, _) = apisat_bin(&["diff", "apis/vsm.spi", "apis/vsm.yaml"]);
    assert!(!diff.contains("only under"), "{diff}");
    // A spi file with a mistake: exit code 2, located.
    let (code, _, err) = apisat_bin(&["check", "tests/invalid_spi/three_mistakes.spi"]);
    assert_eq!(code, 2);
    assert_eq!(
        err.matches("--> tests/invalid_spi/three_mistakes.spi:")
            .count(),
        3,
        "{err}"
    );
}

/// A family's base may be a spi file: its variants are those of the same
/// family over the YAML twin.
#[test]
fn a_family_over_a_spi_base() {
    let root = env!("CARGO_MANIFEST_DIR");
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("spi-family");
    std::fs::create_dir_all(&dir).expect("tmp dir");
    let mut tables = Vec::new();
    for ext in ["spi", "yaml"] {
        let file = dir.join(format!("family_{ext}.yaml"));
        let text = format!(
            "family: vsm\nbase: {root}/apis/vsm.{ext}\nvariants:\n  - name: original\n  - name: no-combine\n    remove_functions: [CombineKeyShares]\n"
        );
        std::fs::write(&file, text).expect("written");
        let (code, out, err) = apisat_bin(&["batch", "--no-time", &file.display().to_string()]);
        assert_eq!(code, 1, "{err}");
        tables.push(out.replace(&format!("family_{ext}.yaml"), "FAMILY"));
    }
    assert_eq!(tables[0], tables[1]);
    assert!(tables[0].contains("no-combine  ATTACK"), "{}", tables[0]);
}

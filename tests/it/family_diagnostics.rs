//! Located errors in family files, one fixture per mistake.
//!
//! Every family file in `tests/invalid_families/` (all over `base.yaml`
//! there, a valid API, except `base_has_error.yaml`) holds one mistake. A
//! family that does not load gives its diagnostics at once; one that loads
//! is expanded variant by variant and the diagnostics of all its variants
//! are collected, each located message once, as `apisat batch` prints them.
//! The rendering is snapshotted in `snapshots/family_diagnostics/`; the
//! table below pins the file, line and column of every error.

use std::path::{Path, PathBuf};

use apisat::diagnostic::{render_all, Diagnostic};
use apisat::family::{EDIT_FIELDS, FAMILY_FIELDS, VARIANT_FIELDS};
use apisat::inputs::{self, Input};

const DIR: &str = "tests/invalid_families";

/// An error's file (relative to `tests/invalid_families/`, `""` for the
/// fixture), line and column.
type Place = (&'static str, u32, u32);

/// Fixture -> every error, as (file, line, column); the file is relative
/// to `tests/invalid_families/`, `""` for the fixture itself. Each place is
/// where the mistake is written (the comment says why).
const ERRORS: &[(&str, &[Place])] = &[
    // `encrypt` in the variant's `add_conflicts`: the base declares no such attribute.
    ("policy_unknown_attribute.yaml", &[("", 7, 28)]),
    // The key `add_sticky_on`: the base declares no `attributes`.
    ("policy_without_attributes.yaml", &[("", 7, 5)]),
    // `p41:`, the parameter at which 2^40 is passed (2^41 variants).
    ("absurd_matrix_size.yaml", &[("", 46, 3)]),
    // The string `"x !="` under `Encrypt:` (the check's end is past the
    // quotes, so the whole string is marked).
    ("add_checks_bad_syntax.yaml", &[("", 8, 17)]),
    // The added function's name, `Encrypt`.
    ("add_existing_function.yaml", &[("", 8, 15)]),
    // The second declaration of `K`, in the family's `add_names`.
    ("add_existing_name.yaml", &[("", 8, 16)]),
    // The value `maybe`.
    ("bad_expectation_value.yaml", &[("", 6, 6)]),
    // The mistake is in the base file: `outputz` in its function.
    ("base_has_error.yaml", &[("broken/base.yaml", 8, 5)]),
    // The value of `base:`, naming this very family file.
    ("base_is_family.yaml", &[("", 4, 7)]),
    // The value of `base:`, naming another family file.
    ("base_is_other_family.yaml", &[("", 4, 7)]),
    // The list after `base:`; no second "no base" error.
    ("base_not_a_string.yaml", &[("", 4, 7)]),
    // The value of `base:`, not line 1 of the missing file.
    ("base_not_found.yaml", &[("", 4, 7)]),
    // The second `K` of `[K, KM, K]`.
    ("duplicate_parameter_value.yaml", &[("", 8, 16)]),
    // The second `fixed`.
    ("duplicate_variant_name.yaml", &[("", 8, 11)]),
    // The `family:` key with no value: one error, not two.
    ("empty_family_name.yaml", &[("", 3, 1)]),
    // The label `PAN` under the variant's `expect`.
    ("expect_not_a_secret.yaml", &[("", 9, 7)]),
    // The string `"{K}K"` in the family-wide edits: once for 4 variants.
    ("family_wide_edit_error.yaml", &[("", 7, 22)]),
    // The key `wrap-key`.
    ("invalid_parameter_name.yaml", &[("", 6, 3)]),
    // The name `no decrypt/v2`.
    ("invalid_variant_name.yaml", &[("", 6, 11)]),
    // The list under `matrix:` (its `-`).
    ("matrix_not_a_mapping.yaml", &[("", 6, 3)]),
    // The `family:` key, the line that makes this a family file.
    ("missing_base.yaml", &[("", 3, 1)]),
    // The empty list `[]` of `key`.
    ("parameter_without_values.yaml", &[("", 6, 8)]),
    // The string `"k != K"`.
    ("remove_absent_check.yaml", &[("", 8, 17)]),
    // The string `"{KM}K"`.
    ("remove_absent_knowledge.yaml", &[("", 7, 24)]),
    // The list after `remove_checks:`.
    ("remove_checks_not_a_mapping.yaml", &[("", 7, 20)]),
    // The key `Encript`.
    ("remove_checks_unknown_function.yaml", &[("", 8, 7)]),
    // `PIN`, the removal that leaves no secret.
    ("remove_every_secret.yaml", &[("", 7, 29)]),
    // The whole string `"{$key}KM"` (substituted), for variant key=KM.
    ("remove_knowledge_after_substitution.yaml", &[("", 7, 22)]),
    // `Decript` in the list.
    ("remove_unknown_function.yaml", &[("", 7, 24)]),
    // `PINN` in the list.
    ("remove_unknown_secret.yaml", &[("", 7, 22)]),
    // The replacing function's name, `Unwrap`.
    ("replace_unknown_function.yaml", &[("", 8, 15)]),
    // The `w` of `"{k w"`, where `}` or `,` was expected: exact column,
    // in the family file, not the base.
    ("term_syntax_in_added_function.yaml", &[("", 10, 23)]),
    // `$key` substituted: the whole string `"{x}$key}"` is marked.
    ("term_syntax_with_parameter.yaml", &[("", 11, 19)]),
    // `$wrapkey` inside the string.
    ("undeclared_parameter.yaml", &[("", 6, 25)]),
    // The key `add_function` in the `lax` choice.
    ("unknown_choice_field.yaml", &[("", 9, 7)]),
    // The key `remove_function` in the variant.
    ("unknown_edit_field.yaml", &[("", 7, 5)]),
    // `KX` inside `"{PAN}KX"`, exact column.
    ("unknown_name_in_knowledge.yaml", &[("", 7, 27)]),
    // The whole string `"{PAN}$key"` (substituted), for variant key=KX.
    ("unknown_name_in_one_variant.yaml", &[("", 7, 19)]),
    // The key `varients`.
    ("unknown_top_level_field.yaml", &[("", 5, 1)]),
    // The bare string `original`.
    ("variant_is_a_string.yaml", &[("", 6, 5)]),
    // The nameless variant's mapping (its first key).
    ("variant_without_name.yaml", &[("", 7, 5)]),
    // The mapping under `variants:` (its first key).
    ("variants_not_a_list.yaml", &[("", 6, 3)]),
    // The key `within` in the mapping.
    ("within_not_derivable.yaml", &[("", 8, 31)]),
    // Where the YAML parser stopped: the end of the file (line 8).
    ("yaml_syntax.yaml", &[("", 8, 1)]),
];

fn settings() -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("../../snapshots/family_diagnostics");
    settings.set_prepend_module_to_snapshot(false);
    settings
}

/// The fixture's path relative to the repository root (the file name the
/// diagnostics carry, so snapshots do not depend on the machine).
fn fixture(name: &str) -> PathBuf {
    PathBuf::from(format!("{DIR}/{name}"))
}

/// Every diagnostic of a family file: its load errors, or the errors of
/// all its variants, each located message once (the first variant's).
fn diagnostics(path: &Path) -> Vec<Diagnostic> {
    let mut all = match inputs::read(path) {
        Input::Broken { diagnostics, .. } => diagnostics,
        Input::Family(family) => (0..family.len())
            .filter_map(|i| family.variant(i).loaded.err())
            .flatten()
            .collect(),
        Input::Api { file } => panic!("{} is not read as a family", file.display()),
    };
    // A stable sort: variants sharing a mistake stay in variant order, and
    // differ only in the variant their help names.
    all.sort_by(|a, b| (&a.file, a.span, &a.message).cmp(&(&b.file, b.span, &b.message)));
    all.dedup_by(|b, a| (&a.file, a.span, &a.message) == (&b.file, b.span, &b.message));
    all
}

/// Renders the diagnostics file by file, each against its own text.
fn render(diags: &[Diagnostic]) -> String {
    let mut files: Vec<&str> = diags.iter().map(|d| d.file.as_str()).collect();
    files.dedup();
    let mut out = String::new();
    for file in files {
        let mine: Vec<Diagnostic> = diags.iter().filter(|d| d.file == file).cloned().collect();
        let source = std::fs::read_to_string(file).ok();
        out.push_str(&render_all(&mine, source.as_deref()));
    }
    out
}

/// The `(file, line, column)` of every error, files relative to `DIR`.
fn places(name: &str, diags: &[Diagnostic]) -> Vec<(String, u32, u32)> {
    let own = fixture(name).display().to_string();
    diags
        .iter()
        .filter(|d| d.is_error())
        .map(|d| {
            let file = if d.file == own {
                String::new()
            } else {
                d.file
                    .strip_prefix(&format!("{DIR}/"))
                    .unwrap_or(&d.file)
                    .to_string()
            };
            (file, d.span.line, d.span.col)
        })
        .collect()
}

fn expected(name: &str) -> &'static [Place] {
    ERRORS
        .iter()
        .find(|(n, _)| *n == name)
        .unwrap_or_else(|| panic!("{name}: add its errors to ERRORS"))
        .1
}

#[test]
fn invalid_families() {
    settings().bind(|| {
        insta::glob!("..", "invalid_families/*.yaml", |path| {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            if name == "base.yaml" {
                return;
            }
            let diags = diagnostics(&fixture(&name));
            let rendered = render(&diags);
            let want: Vec<(String, u32, u32)> = expected(&name)
                .iter()
                .map(|(f, l, c)| (f.to_string(), *l, *c))
                .collect();
            assert_eq!(places(&name, &diags), want, "{name}\n{rendered}");
            for d in &diags {
                assert!(
                    d.help.is_some(),
                    "{name}: every diagnostic says how to fix it\n{rendered}"
                );
                assert!(
                    d.span.line >= 1 && d.span.col >= 1,
                    "{name}: a real place\n{rendered}"
                );
            }
            insta::assert_snapshot!(rendered);
        });
    });
}

#[test]
fn every_table_entry_has_a_fixture() {
    for (name, _) in ERRORS {
        assert!(
            fixture(name).is_file(),
            "{name} is in ERRORS but not in {DIR}"
        );
    }
}

#[test]
fn the_base_is_a_valid_api_file() {
    // So that every error above comes from the family file, not its base.
    let loaded = apisat::lower::load_file(&fixture("base.yaml"));
    assert!(loaded.is_ok(), "{:?}", loaded.err());
}

#[test]
fn unknown_fields_list_the_accepted_ones() {
    // In a variant: its edits and its own fields; in a matrix choice: the
    // edits; at the top level: the family's fields. Each with a suggestion.
    let cases: &[(&str, &str, Vec<&str>)] = &[
        (
            "unknown_edit_field.yaml",
            "did you mean `remove_functions`?",
            VARIANT_FIELDS.to_vec(),
        ),
        (
            "unknown_choice_field.yaml",
            "did you mean `add_functions`?",
            EDIT_FIELDS.to_vec(),
        ),
        (
            "unknown_top_level_field.yaml",
            "did you mean `variants`?",
            FAMILY_FIELDS.to_vec(),
        ),
    ];
    for (name, suggestion, fields) in cases {
        let diags = diagnostics(&fixture(name));
        let help = diags[0].help.clone().unwrap_or_default();
        assert!(help.starts_with(suggestion), "{name}: {help}");
        let listed = format!("accepted fields are: {}", fields.join(", "));
        assert!(help.ends_with(&listed), "{name}: {help}");
    }
}

#[test]
fn a_substituted_string_shows_what_it_reads() {
    // `"{x}$key}"` with key=K reads `{x}K}`: the columns no longer match
    // the file, so the help says what was parsed, in which variant.
    let diags = diagnostics(&fixture("term_syntax_with_parameter.yaml"));
    let help = diags[0].help.clone().unwrap_or_default();
    assert!(
        help.ends_with("in variant `seal/key=K` this string reads `{x}K}`"),
        "{help}"
    );
}

#[test]
fn a_mistake_in_one_variant_leaves_the_others_checkable() {
    // key=K adds `{PAN}K` (fine); key=KX names an undeclared name.
    let Input::Family(family) = inputs::read(&fixture("unknown_name_in_one_variant.yaml")) else {
        panic!("the family loads; its mistake is in one variant");
    };
    assert_eq!(family.len(), 2);
    assert!(family.variant(0).loaded.is_ok());
    let bad = family.variant(1);
    assert_eq!(bad.name, "key=KX");
    let diags = bad.loaded.err().unwrap_or_default();
    assert_eq!(diags.len(), 1);
    assert_eq!(diags[0].message, "unknown name `KX`");
}

#[test]
fn a_family_wide_mistake_fails_every_variant_at_one_place() {
    // The family's `edits` apply to all 2 x 2 variants.
    let Input::Family(family) = inputs::read(&fixture("family_wide_edit_error.yaml")) else {
        panic!("the family loads; its mistake shows when variants expand");
    };
    assert_eq!(family.len(), 4);
    for i in 0..4 {
        let diags = family.variant(i).loaded.err().unwrap_or_default();
        let at: Vec<(u32, u32)> = diags.iter().map(|d| (d.span.line, d.span.col)).collect();
        assert_eq!(at, vec![(7, 22)], "variant {i}");
    }
}

#[test]
fn line_references_name_the_other_file() {
    // `K` is first declared in base.yaml line 7; the error is in the family
    // file, so "line 7" alone would point into the wrong file.
    let diags = diagnostics(&fixture("add_existing_name.yaml"));
    assert_eq!(
        diags[0].message,
        "name `K` is declared twice; the first declaration is at line 7 of `tests/invalid_families/base.yaml`"
    );
}

#[test]
fn batch_reports_a_bad_family_and_goes_on() {
    // The bad family first (sorted by path, `add_existing...` < `base.yaml`
    // < `unknown_...`): the files after it are still checked. base.yaml
    // leaks PIN in 1 call (Encrypt({K}KM, PAN)), so an attack is reported;
    // the mistakes make the exit code 2.
    let (code, stdout, stderr) = crate::apisat_bin(&[
        "batch",
        "--no-time",
        "tests/invalid_families/add_existing_function.yaml",
        "tests/invalid_families/base.yaml",
        "tests/invalid_families/unknown_name_in_one_variant.yaml",
    ]);
    assert_eq!(code, 2, "{stdout}\n{stderr}");
    assert!(
        stderr.contains("--> tests/invalid_families/add_existing_function.yaml:8:15"),
        "{stderr}"
    );
    assert!(
        stderr.contains("--> tests/invalid_families/unknown_name_in_one_variant.yaml:7:19"),
        "{stderr}"
    );
    assert!(stderr.contains("cannot add `Encrypt`"), "{stderr}");
    assert!(
        stdout.contains("tests/invalid_families/base.yaml: Small base"),
        "{stdout}"
    );
    // key=K of the third file is checked (it adds `{PAN}K`: PIN known).
    assert!(stdout.contains("key=K    ATTACK"), "{stdout}");
    assert!(
        stdout.contains("4 variants from 3 files: 2 attack, 0 secure (0 proved, 0 up to bounds), 0 limit, 2 errors"),
        "{stdout}"
    );
}

#[test]
fn batch_on_the_folder_reports_every_fixture() {
    // Every family here has a mistake: each file gets a table, the run
    // does not stop at the first.
    let (code, stdout, stderr) = crate::apisat_bin(&["batch", "--no-time", DIR]);
    assert_eq!(code, 2, "{stderr}");
    for (name, _) in ERRORS {
        assert!(
            stdout.contains(&format!("{DIR}/{name}:")),
            "{name}\n{stdout}"
        );
    }
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn test_reports_a_bad_family_without_expectations() {
    // The variant has no expectations, so it is not checked; but its edit
    // is wrong, and that must be an error, not a silent pass. The good
    // file's missing expectations are counted.
    let (code, stdout, stderr) = crate::apisat_bin(&[
        "test",
        "tests/invalid_families/remove_unknown_function.yaml",
        "tests/invalid_families/base.yaml",
    ]);
    assert_eq!(code, 2, "{stdout}\n{stderr}");
    assert!(
        stderr.contains("--> tests/invalid_families/remove_unknown_function.yaml:7:24"),
        "{stderr}"
    );
    assert!(stderr.contains("did you mean `Decrypt`?"), "{stderr}");
    assert!(
        stdout.contains("1 error; 1 without expectations"),
        "{stdout}"
    );
}

#[test]
fn test_reports_a_family_that_does_not_load() {
    // A load-time mistake (an expectation value), with expectations.
    let (code, stdout, stderr) =
        crate::apisat_bin(&["test", "tests/invalid_families/bad_expectation_value.yaml"]);
    assert_eq!(code, 2, "{stdout}\n{stderr}");
    assert!(
        stderr.contains("--> tests/invalid_families/bad_expectation_value.yaml:6:6"),
        "{stderr}"
    );
    assert!(stdout.contains("ERROR"), "{stdout}");
}

/// Issue 15: edits are applied in time linear in the edits and the base,
/// and their help texts list a bounded number of items. A family removing
/// 20,000 functions (one of them absent) from a base of 20,000, and 20,000
/// absent knowledge terms, is checked in seconds, each mistake located.
#[test]
fn large_edit_lists_are_linear() {
    let n = 20_000;
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("apisat-family-edits-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let mut base = String::from("names: {public: [A], secret: [K]}\nknowledge: [A]\nfunctions:\n");
    for i in 0..n {
        base.push_str(&format!(
            "  - {{name: F{i}, inputs: [x], outputs: [h(x)]}}\n"
        ));
    }
    std::fs::write(dir.join("base.yaml"), base).expect("write base");
    let removed: Vec<String> = (1..n)
        .map(|i| format!("F{i}"))
        .chain(["Nope".into()])
        .collect();
    let absent: Vec<String> = (0..n).map(|i| format!("\"h(B{i})\"")).collect();
    let family = format!(
        "family: big\nbase: base.yaml\nvariants:\n  - name: v\n    remove_functions: [{}]\n    remove_knowledge: [{}]\n",
        removed.join(", "),
        absent.join(", ")
    );
    let path = dir.join("family.yaml");
    std::fs::write(&path, family).expect("write family");
    let shown = path.display().to_string();
    let (code, _, stderr) = crate::apisat_bin(&["batch", &shown]);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(code, 2, "{stderr:.3000}");
    assert!(
        stderr.contains("cannot remove `Nope`: the API has no such function"),
        "{stderr:.3000}"
    );
    assert!(stderr.contains("family.yaml:5:"), "{stderr:.3000}");
    assert!(
        stderr.contains("cannot remove `h(B0)`: it is not in the initial knowledge"),
        "{stderr:.3000}"
    );
    assert!(
        stderr.contains("note: 19901 more diagnostics not shown"),
        "{stderr:.3000}"
    );
    assert!(
        stderr.lines().all(|l| l.chars().count() < 1000),
        "a help line lists too much"
    );
}

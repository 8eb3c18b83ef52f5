//! The JSON Schema of family files (`schema/apisat-family.schema.json`):
//! generated from `src/front/family/mod.rs`'s tables, equal to the shipped file, its
//! fields exactly those the family reader accepts, accepting the families
//! in `apis/families/`, and rejecting the fixtures of
//! `tests/invalid_families/` whose mistake is one of shape.

use std::collections::BTreeSet;

use apisat::family;
use apisat::spec::{Shape, Table};
use serde_json::{json, Value};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn shipped() -> String {
    let path = format!("{ROOT}/schema/apisat-family.schema.json");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"))
}

fn validator() -> jsonschema::Validator {
    let schema: Value = serde_json::from_str(&shipped()).expect("JSON");
    jsonschema::draft7::new(&schema).expect("the shipped schema compiles")
}

fn doc(relative: &str) -> Value {
    let src = std::fs::read_to_string(format!("{ROOT}/{relative}"))
        .unwrap_or_else(|e| panic!("cannot read {relative}: {e}"));
    serde_yaml::from_str(&src).unwrap_or_else(|e| panic!("{relative} is not YAML: {e}"))
}

#[test]
fn shipped_family_schema_is_the_generated_one() {
    assert!(
        shipped() == apisat::schema::family_text(),
        "schema/apisat-family.schema.json is out of date; regenerate it with\n    cargo run -- schema --family > schema/apisat-family.schema.json"
    );
    let schema: Value = serde_json::from_str(&shipped()).expect("JSON");
    assert!(jsonschema::draft7::meta::is_valid(&schema));
}

/// Each mapping's properties are the fields the family reader accepts
/// there, and unknown keys are rejected, as the reader rejects them.
fn walk(node: &Value, table: &'static Table, reached: &mut BTreeSet<&'static str>) {
    reached.insert(table.id);
    let props = node["properties"].as_object().expect("properties");
    let in_schema: BTreeSet<&str> = props.keys().map(String::as_str).collect();
    let accepted: BTreeSet<&str> = table.accepted.iter().copied().collect();
    assert_eq!(in_schema, accepted, "table `{}`", table.id);
    let described: Vec<&str> = table.fields.iter().map(|f| f.name).collect();
    assert_eq!(
        described, table.accepted,
        "table `{}`: described fields",
        table.id
    );
    assert_eq!(
        node["additionalProperties"],
        json!(false),
        "table `{}`",
        table.id
    );
    for f in table.fields {
        let fs = &props[f.name];
        match f.shape {
            Shape::Map(t) => walk(fs, t, reached),
            Shape::Records(t) => walk(&fs["items"], t, reached),
            Shape::TextOrRecords(t) => walk(&fs["items"]["anyOf"][1], t, reached),
            Shape::Matrix(t) => walk(
                &fs["additionalProperties"]["anyOf"][1]["additionalProperties"],
                t,
                reached,
            ),
            _ => {}
        }
    }
}

#[test]
fn family_schema_fields_are_the_family_readers_fields() {
    let schema = apisat::schema::family_schema();
    let mut reached = BTreeSet::new();
    walk(&schema, &family::FAMILY_TABLE, &mut reached);
    for t in family::TABLES {
        assert!(reached.contains(t.id), "table `{}` is reachable", t.id);
    }
    // The reader's lists: a variant accepts every edit besides its own
    // fields.
    for edit in family::EDIT_FIELDS {
        assert!(
            family::VARIANT_FIELDS.contains(edit),
            "variant accepts `{edit}`"
        );
    }
}

#[test]
fn family_schema_accepts_the_bundled_families() {
    let v = validator();
    for f in ["apis/families/vsm.yaml", "apis/families/pkcs11.yaml"] {
        let errors: Vec<String> = v.iter_errors(&doc(f)).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{f}: {errors:?}");
    }
}

/// Fixtures of `tests/invalid_families/` whose mistake is one of shape.
const SHAPE_ERRORS: &[&str] = &[
    "bad_expectation_value.yaml",       // `maybe` is no expectation word
    "base_not_a_string.yaml",           // `base` is a list
    "empty_family_name.yaml",           // `family:` empty, and it is required
    "invalid_parameter_name.yaml",      // `wrap-key` is no parameter name
    "matrix_not_a_mapping.yaml",        // `matrix` is a list
    "missing_base.yaml",                // `base` is required
    "parameter_without_values.yaml",    // a parameter with no values
    "remove_checks_not_a_mapping.yaml", // a list where function -> checks is needed
    "unknown_choice_field.yaml",        // `add_function` in a matrix choice
    "unknown_edit_field.yaml",          // `remove_function` in a variant
    "unknown_top_level_field.yaml",     // `varients`
    "variant_is_a_string.yaml",         // a variant must be a mapping
    "variant_without_name.yaml",        // `name` is required
    "variants_not_a_list.yaml",         // `variants` is a mapping
];

/// Fixtures whose mistake is one of meaning (names, terms, what the base
/// holds, sizes, combinations): their shape is right, the schema accepts
/// them, and apisat reports them.
const SEMANTIC: &[&str] = &[
    "policy_unknown_attribute.yaml",
    "policy_without_attributes.yaml",
    "absurd_matrix_size.yaml",
    "add_checks_bad_syntax.yaml",
    "add_existing_function.yaml",
    "add_existing_name.yaml",
    "base_has_error.yaml",
    "base_is_family.yaml",
    "base_is_other_family.yaml",
    "base_not_found.yaml",
    "duplicate_parameter_value.yaml",
    "duplicate_variant_name.yaml",
    "expect_not_a_secret.yaml",
    "family_wide_edit_error.yaml",
    "invalid_variant_name.yaml",
    "remove_absent_check.yaml",
    "remove_absent_knowledge.yaml",
    "remove_checks_unknown_function.yaml",
    "remove_every_secret.yaml",
    "remove_knowledge_after_substitution.yaml",
    "remove_unknown_function.yaml",
    "remove_unknown_secret.yaml",
    "replace_unknown_function.yaml",
    "term_syntax_in_added_function.yaml",
    "term_syntax_with_parameter.yaml",
    "undeclared_parameter.yaml",
    "unknown_name_in_knowledge.yaml",
    "unknown_name_in_one_variant.yaml",
    "within_not_derivable.yaml",
];

/// Not family files: the base the others vary, and a file that is not
/// YAML at all.
const OTHER: &[&str] = &["base.yaml", "yaml_syntax.yaml"];

#[test]
fn family_schema_rejects_shape_errors_and_only_those() {
    let v = validator();
    for f in SHAPE_ERRORS {
        let d = doc(&format!("tests/invalid_families/{f}"));
        assert!(!v.is_valid(&d), "the schema accepts {f}");
    }
    for f in SEMANTIC {
        let d = doc(&format!("tests/invalid_families/{f}"));
        let errors: Vec<String> = v.iter_errors(&d).map(|e| e.to_string()).collect();
        assert!(
            errors.is_empty(),
            "{f} is a mistake of meaning, yet: {errors:?}"
        );
    }
    let listed: BTreeSet<&str> = SHAPE_ERRORS
        .iter()
        .chain(SEMANTIC)
        .chain(OTHER)
        .copied()
        .collect();
    let present: BTreeSet<String> = std::fs::read_dir(format!("{ROOT}/tests/invalid_families"))
        .expect("fixtures")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".yaml"))
        .collect();
    let present: BTreeSet<&str> = present.iter().map(String::as_str).collect();
    assert_eq!(present, listed, "every fixture is classified");
}

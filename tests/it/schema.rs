//! The JSON Schema of the API language (`schema/apisat.schema.json`).
//!
//! * the shipped file is the generated schema, byte for byte;
//! * its properties are exactly the fields the parser accepts, table by table;
//! * it agrees with the parser on the shape of every field, for a set of
//!   probe values (strings, numbers, lists, mappings, empty values...);
//! * it accepts every API file of the repository and rejects every fixture
//!   of `tests/invalid/` whose mistake is one of shape; the fixtures whose
//!   mistake is one of meaning (term syntax, unknown names, arities of
//!   applications, variables) are listed apart and pass the schema, since
//!   checking them is `apisat check`'s job.
//!
//! The other texts generated from apisat's own definitions are checked here
//! too: the shell completions and man pages (`apisat completions SHELL`,
//! `apisat man [COMMAND]`), generated from the clap definitions.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use apisat::lower::{self, VERSIONS};
use apisat::spec::{self, Shape, Table};
use serde_json::{json, Value};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn shipped() -> String {
    let path = format!("{ROOT}/schema/apisat.schema.json");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"))
}

/// A validator for the shipped schema: what editors use.
fn validator() -> jsonschema::Validator {
    let schema: Value = serde_json::from_str(&shipped()).expect("the shipped schema is JSON");
    jsonschema::draft7::new(&schema).expect("the shipped schema compiles")
}

/// A YAML file as the JSON value a YAML language server validates.
fn yaml_to_json(src: &str) -> Result<Value, serde_yaml::Error> {
    serde_yaml::from_str(src)
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

fn yaml_files(dir: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(format!("{ROOT}/{dir}"))
        .unwrap_or_else(|e| panic!("cannot list {dir}: {e}"))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    files
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

// ----- (a) the shipped file is the generated one ------------------------

#[test]
fn shipped_schema_is_the_generated_schema() {
    assert!(
        shipped() == apisat::schema::text(),
        "schema/apisat.schema.json is out of date; regenerate it with\n    cargo run -- schema > schema/apisat.schema.json"
    );
}

#[test]
fn schema_is_a_valid_draft_07_schema() {
    let schema: Value = serde_json::from_str(&shipped()).expect("JSON");
    assert_eq!(schema["$schema"], json!(apisat::schema::DIALECT));
    assert!(jsonschema::draft7::meta::is_valid(&schema));
}

// ----- (b) the schema's fields are the parser's fields ------------------

/// The schema node of a field's mapping value, and the table it holds.
fn nested(field_schema: &Value, shape: Shape) -> Option<(&Value, &'static Table)> {
    match shape {
        Shape::Map(t) => Some((field_schema, t)),
        Shape::Records(t) => Some((&field_schema["items"], t)),
        Shape::TextOrRecords(t) => Some((&field_schema["items"]["anyOf"][1], t)),
        _ => None,
    }
}

/// Walks the schema along the tables, from the top: checks that each
/// mapping's properties are the fields the parser accepts there, that it
/// rejects others, and returns the tables reached.
fn walk(node: &Value, table: &'static Table, reached: &mut Vec<&'static Table>) {
    reached.push(table);
    let props = node["properties"]
        .as_object()
        .unwrap_or_else(|| panic!("no properties for table `{}`", table.id));
    let in_schema: BTreeSet<&str> = props.keys().map(String::as_str).collect();
    let accepted: BTreeSet<&str> = table.accepted.iter().copied().collect();
    assert_eq!(
        in_schema, accepted,
        "schema properties of `{}` differ from the fields the parser accepts",
        table.id
    );
    assert_eq!(
        node["additionalProperties"],
        json!(false),
        "table `{}` must reject unknown fields, as the parser does",
        table.id
    );
    for f in table.fields {
        let fs = &props[f.name];
        assert!(
            fs["description"].as_str().is_some_and(|d| !d.is_empty()),
            "`{}.{}` has no description",
            table.id,
            f.name
        );
        if let Some((inner, t)) = nested(fs, f.shape) {
            walk(inner, t, reached);
        }
    }
}

#[test]
fn schema_fields_are_exactly_the_parser_fields() {
    // Every table describes exactly the fields its parser list accepts, in
    // the same order.
    for t in spec::TABLES {
        let described: Vec<&str> = t.fields.iter().map(|f| f.name).collect();
        assert_eq!(
            described, t.accepted,
            "table `{}`: the descriptions in spec.rs must name exactly the accepted fields",
            t.id
        );
    }
    // The tables are the parser's field lists, each once.
    let lists = [
        spec::TOP_FIELDS,
        spec::CTOR_FIELDS,
        spec::NAME_FIELDS,
        spec::FUNCTION_FIELDS,
        spec::DEDUCTION_FIELDS,
        spec::SECRET_FIELDS,
        spec::ATTRIBUTE_FIELDS,
    ];
    for list in lists {
        let n = spec::TABLES.iter().filter(|t| t.accepted == list).count();
        assert_eq!(n, 1, "the parser's field list {list:?} must have one table");
    }
    // Walking the schema from the top reaches every table, and each
    // mapping in it has exactly the accepted fields.
    let schema = apisat::schema::schema();
    let mut reached = Vec::new();
    walk(&schema, &spec::TOP_TABLE, &mut reached);
    let reached: BTreeSet<&str> = reached.iter().map(|t| t.id).collect();
    let all: BTreeSet<&str> = spec::TABLES.iter().map(|t| t.id).collect();
    assert_eq!(reached, all, "every table is reachable from the top level");
}

// ----- the schema agrees with the parser, field by field -----------------

/// A valid value of a shape, for required fields.
fn sample(shape: Shape) -> Value {
    match shape {
        Shape::Text => json!("sample"),
        Shape::Version => json!(VERSIONS[0]),
        Shape::Arity => json!(1),
        Shape::Bool => json!(false),
        Shape::List | Shape::Records(_) | Shape::TextOrRecords(_) | Shape::Pairs => json!([]),
        Shape::TextMap => json!({}),
        Shape::NonEmptyList => json!(["sample"]),
        Shape::Map(t) => base(t),
        Shape::Expectations | Shape::ChecksByFunction | Shape::Matrix(_) => json!({}),
    }
}

/// The smallest record of a table: its required fields.
fn base(t: &Table) -> Value {
    let mut record = serde_json::Map::new();
    for f in t.fields.iter().filter(|f| f.required) {
        record.insert(f.name.into(), sample(f.shape));
    }
    Value::Object(record)
}

/// Where a table sits: the fields leading to it from the top level.
type Path_ = Vec<(&'static Table, &'static str, Shape)>;

fn places() -> Vec<(&'static Table, Path_)> {
    fn go(t: &'static Table, path: Path_, out: &mut Vec<(&'static Table, Path_)>) {
        out.push((t, path.clone()));
        for f in t.fields {
            if let Shape::Map(inner) | Shape::Records(inner) | Shape::TextOrRecords(inner) = f.shape
            {
                let mut p = path.clone();
                p.push((t, f.name, f.shape));
                go(inner, p, out);
            }
        }
    }
    let mut out = Vec::new();
    go(&spec::TOP_TABLE, Vec::new(), &mut out);
    out
}

/// A whole document holding `record` at `path`, inside minimal parents.
fn wrap(path: &Path_, record: Value) -> Value {
    let mut value = record;
    for (parent, field, shape) in path.iter().rev() {
        let inner = match shape {
            Shape::Map(_) => value,
            _ => json!([value]),
        };
        let mut p = base(parent);
        p[*field] = inner;
        value = p;
    }
    value
}

/// Lowering errors that are rules of shape, so the schema states them too
/// (every other lowering error is about meaning and ignored here):
const LOWERING_SHAPE_RULES: &[&str] = &[
    // `apisat:` not one of lower::VERSIONS (lower.rs, `version`).
    "unsupported language version",
    // A constructor's arity outside 1..=lower::MAX_ARITY ("arity N is out
    // of range").
    "is out of range",
    // A function or deduction without outputs (lower.rs: "has no outputs").
    "has no outputs",
    // `attributes: names: []` (lower.rs, `declare_attributes`).
    "declares no attribute",
];

/// Whether apisat accepts the document's shape: the structure reader finds
/// nothing wrong, and lowering none of [`LOWERING_SHAPE_RULES`].
fn parser_accepts(doc: &Value) -> bool {
    let text = serde_yaml::to_string(doc).expect("a JSON value prints as YAML");
    let Ok(node) = apisat::yaml::parse("probe.yaml", &text) else {
        return false;
    };
    let (_, diags) = spec::read("probe.yaml", &node);
    if diags.iter().any(|d| d.is_error()) {
        return false;
    }
    match lower::load_source("probe.yaml", &text) {
        Ok(_) => true,
        Err(diags) => !diags
            .iter()
            .filter(|d| d.is_error())
            .any(|d| LOWERING_SHAPE_RULES.iter().any(|r| d.message.contains(r))),
    }
}

/// Values of every JSON kind to put in each field.
fn probes() -> Vec<Value> {
    vec![
        json!("sample"),
        json!("1"),
        json!("two"),
        json!(0),
        json!(1),
        json!(2),
        json!(16),
        json!(17),
        json!(100000),
        json!(-1),
        json!(2.5),
        json!(2.0),
        json!(1.0),
        json!(true),
        json!(null),
        json!([]),
        json!(["sample"]),
        json!([0, true]),
        json!([null]),
        json!([["sample"]]),
        json!([{ "sample": 1 }]),
        json!({}),
        json!({ "sample": "x" }),
    ]
}

/// Where the two differ, and why. JSON Schema compares numbers by value, so
/// `2.0` is an integer and `1.0` equals the enum's `1`; apisat reads YAML's
/// `2.0` as a fraction and rejects it (its text is `2.0`). An editor thus
/// misses these rare mistakes; `apisat check` reports them.
const KNOWN_DIFFERENCES: &[&str] = &[
    "api.apisat = 1.0",
    "constructor.arity = 2.0",
    "constructor.arity = 1.0",
];

#[test]
fn schema_agrees_with_the_parser_on_every_field_and_probe() {
    let v = validator();
    let mut disagreements = Vec::new();
    let mut known = Vec::new();
    let mut compared = 0;
    let mut compare = |what: String, doc: Value| {
        compared += 1;
        let parser = parser_accepts(&doc);
        let schema = v.is_valid(&doc);
        if parser != schema {
            if KNOWN_DIFFERENCES.contains(&what.as_str()) {
                known.push(what);
                return;
            }
            disagreements.push(format!(
                "{what}: parser {}, schema {}\n    {doc}",
                if parser { "accepts" } else { "rejects" },
                if schema { "accepts" } else { "rejects" },
            ));
        }
    };
    // Whole documents: an empty file is an empty API; a list or a string is
    // not an API file.
    for doc in [json!(null), json!({}), json!(["sample"]), json!("sample")] {
        compare(format!("document {doc}"), doc);
    }
    for (table, path) in places() {
        let record = base(table);
        compare(
            format!("{}: required fields only", table.id),
            wrap(&path, record.clone()),
        );
        let mut unknown = record.clone();
        unknown["bogus"] = json!(1);
        compare(format!("{}: unknown field", table.id), wrap(&path, unknown));
        for f in table.fields {
            // Left out: an error exactly when required.
            let mut without = record.clone();
            if let Value::Object(o) = &mut without {
                o.remove(f.name);
            }
            compare(
                format!("{}.{} left out", table.id, f.name),
                wrap(&path, without),
            );
            let mut values = probes();
            if let Some(t) = match f.shape {
                Shape::Map(t) | Shape::Records(t) | Shape::TextOrRecords(t) => Some(t),
                _ => None,
            } {
                let mut bad = base(t);
                bad["bogus"] = json!(1);
                values.extend([base(t), json!([base(t)]), bad.clone(), json!([bad])]);
            }
            for probe in values {
                let mut doc = record.clone();
                doc[f.name] = probe.clone();
                compare(
                    format!("{}.{} = {probe}", table.id, f.name),
                    wrap(&path, doc),
                );
            }
        }
    }
    assert!(compared > 500, "only {compared} probes");
    assert_eq!(
        known, KNOWN_DIFFERENCES,
        "the known differences still occur"
    );
    assert!(
        disagreements.is_empty(),
        "the schema and the parser disagree on {} of {compared} probes:\n{}",
        disagreements.len(),
        disagreements.join("\n")
    );
}

// ----- (c) the repository's files ----------------------------------------

#[test]
fn schema_accepts_every_api_file() {
    let v = validator();
    let mut files = yaml_files("apis");
    files.extend(yaml_files("tests/warnings"));
    // The attacker's rules are written in the API language too.
    files.push(PathBuf::from(format!("{ROOT}/{}", lower::BUILTIN_FILE)));
    assert!(files.len() >= 10, "{files:?}");
    for path in files {
        let doc = yaml_to_json(&read(&path))
            .unwrap_or_else(|e| panic!("{} is not YAML: {e}", path.display()));
        let errors: Vec<String> = v.iter_errors(&doc).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{}: {errors:?}", path.display());
    }
}

/// Fixtures whose mistake is one of shape: the schema rejects each.
const SHAPE_ERRORS: &[&str] = &[
    // `arity: 100000`: above the maximum arity (lowering's range, which the
    // schema states as `minimum`/`maximum`).
    "absurd_arity.yaml",
    // `arity: two`: a string where a whole number is required.
    "arity_not_a_number.yaml",
    // A function without `name`, which is required.
    "missing_function_name.yaml",
    // A function without `outputs`, which is required (at least one).
    "no_outputs.yaml",
    // Besides two mistakes of meaning, `lable:` is an unknown field of a
    // secret.
    "three_mistakes.yaml",
    // The top level is a list, not a mapping.
    "top_level_list.yaml",
    // `inputz:` is an unknown field of a function.
    "unknown_field.yaml",
    // `- {P}` unquoted is a flow mapping `{P: null}`, where a knowledge
    // entry must be a scalar.
    "unquoted_term_is_a_mapping.yaml",
    // `apisat: 2`: not one of the versions (the schema's enum).
    "unsupported_version.yaml",
    // `functions:` is a mapping (one function without `- `), not a list.
    "wrong_shape.yaml",
];

/// Fixtures that are not YAML at all: turning them into JSON fails, so no
/// schema sees them (an editor's YAML parser reports them itself).
const NOT_YAML: &[&str] = &[
    // `outputs: [{k}TCMK]`: a flow mapping followed by text.
    "yaml_syntax.yaml",
];

/// Fixtures whose mistake is lost when YAML becomes JSON, so no schema can
/// see it; YAML language servers report it themselves ("Map keys must be
/// unique"), and `apisat check` does.
const LOST_IN_CONVERSION: &[&str] = &[
    // `inputs:` twice in one function: the conversion keeps the last one.
    "duplicate_key.yaml",
];

/// Fixtures whose mistake is one of meaning, which the schema does not
/// check: their shape is right, so the schema accepts them.
const SEMANTIC: &[&str] = &[
    "bad_check_syntax.yaml",               // check grammar (`=` for `==`)
    "bad_term_syntax.yaml",                // term grammar (unbalanced brace)
    "builtin_constructor_redeclared.yaml", // a name clash with a built-in
    "duplicate_function.yaml",             // two functions with one name
    "fresh_generated_twice.yaml",          // a fresh name in two functions
    "fresh_not_generated.yaml",            // a fresh name used without generating it
    "invalid_name.yaml",                   // `master-key` is not an identifier
    "name_is_constructor.yaml",            // a name equal to a constructor
    "name_public_and_secret.yaml",         // one name with two kinds
    "private_ctor_in_deduction.yaml",      // a deduction builds a private constructor
    "private_ctor_taken_apart.yaml",       // a deduction opens a private constructor
    "unbound_check_variable.yaml",         // a check's variable no input binds
    "unbound_output_variable.yaml",        // an output's variable no input binds
    "undeclared_fresh.yaml",               // `fresh` lists an undeclared name
    "unknown_constructor.yaml",            // `hash(m)`: no such constructor
    "unknown_name.yaml",                   // `MKK`: no such name
    "wildcard_in_knowledge.yaml",          // `_` outside inputs
    "wildcard_in_output.yaml",             // `_` in outputs
    "wrong_arity.yaml",                    // `senc` applied to three terms
    "xor_cancels_variable.yaml",           // `x xor x`: no input binds x
    "zero_number.yaml",                    // `12` is not a term
    "attribute_conflict_initial.yaml",     // an initial object breaks the policy
    "attribute_conflict_output.yaml",      // a created object breaks the policy
    "attribute_conflicts_itself.yaml",     // a conflict of one attribute with itself
    "attribute_handle_public.yaml",        // the handle constructor is public
    "attribute_history_rule.yaml",         // `sometimes sensitive`: not a history rule
    "attribute_history_sticky.yaml",       // a history attribute in `sticky_on`
    "attribute_policy_undeclared.yaml",    // `sensitve`: no such attribute
    "attribute_record_misplaced.yaml",     // a record outside a handle
    "attribute_sets_conflict.yaml",        // `sets` turns on a conflicting pair
    "attribute_sets_history.yaml",         // `sets` on a history attribute
    "attribute_sets_outputs.yaml",         // `sets` and `outputs` together
    "attribute_sets_value.yaml",           // `sets` to `yes`
    "attribute_tuple_arity.yaml",          // a handle tuple of the wrong length
    "attribute_twice.yaml",                // an attribute twice in a record
    "attribute_unknown.yaml",              // `decrpyt`: no such attribute
    "empty_file.yaml",                     // nothing to check: no secret
    "no_secrets.yaml",                     // nothing to check: no secret
];

#[test]
fn every_invalid_fixture_is_classified() {
    let listed: BTreeSet<&str> = SHAPE_ERRORS
        .iter()
        .chain(NOT_YAML)
        .chain(LOST_IN_CONVERSION)
        .chain(SEMANTIC)
        .copied()
        .collect();
    assert_eq!(
        listed.len(),
        SHAPE_ERRORS.len() + NOT_YAML.len() + LOST_IN_CONVERSION.len() + SEMANTIC.len(),
        "a fixture is listed twice"
    );
    let present: BTreeSet<String> = yaml_files("tests/invalid")
        .iter()
        .map(|p| file_name(p))
        .collect();
    let present: BTreeSet<&str> = present.iter().map(String::as_str).collect();
    assert_eq!(listed, present, "classify every fixture of tests/invalid/");
}

#[test]
fn schema_rejects_every_shape_error() {
    let v = validator();
    for name in SHAPE_ERRORS {
        let path = PathBuf::from(format!("{ROOT}/tests/invalid/{name}"));
        let doc = yaml_to_json(&read(&path)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(!v.is_valid(&doc), "{name} passes the schema");
    }
}

#[test]
fn fixtures_that_are_not_yaml_never_reach_the_schema() {
    for name in NOT_YAML {
        let path = PathBuf::from(format!("{ROOT}/tests/invalid/{name}"));
        assert!(
            yaml_to_json(&read(&path)).is_err(),
            "{name} converts to JSON"
        );
    }
}

#[test]
fn duplicate_keys_are_lost_in_conversion() {
    let v = validator();
    for name in LOST_IN_CONVERSION {
        let path = PathBuf::from(format!("{ROOT}/tests/invalid/{name}"));
        let doc = yaml_to_json(&read(&path)).unwrap_or_else(|e| panic!("{name}: {e}"));
        // The function keeps one `inputs`, the last written, `[m]`; what is
        // left is well-shaped.
        assert_eq!(doc["functions"][0]["inputs"], json!(["m"]), "{name}");
        assert!(v.is_valid(&doc), "{name}");
    }
}

#[test]
fn schema_accepts_mistakes_of_meaning() {
    let v = validator();
    for name in SEMANTIC {
        let path = PathBuf::from(format!("{ROOT}/tests/invalid/{name}"));
        let doc = yaml_to_json(&read(&path)).unwrap_or_else(|e| panic!("{name}: {e}"));
        let errors: Vec<String> = v.iter_errors(&doc).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{name}: {errors:?}");
    }
}

#[test]
fn completions_are_generated_from_the_cli() {
    let (code, bash, _) = crate::apisat_bin(&["completions", "bash"]);
    assert_eq!(code, 0);
    // A bash completion function registered for apisat, knowing its
    // commands and their flags.
    assert!(bash.contains("_apisat()"), "{bash}");
    assert!(bash.contains("complete -F _apisat"), "{bash}");
    for word in [
        "check",
        "batch",
        "explain",
        "knowledge",
        "--variant",
        "--max-depth",
        "--format",
    ] {
        assert!(bash.contains(word), "bash completion lacks {word}");
    }
    let (code, zsh, _) = crate::apisat_bin(&["completions", "zsh"]);
    assert_eq!(code, 0);
    assert!(zsh.starts_with("#compdef apisat"), "{zsh}");
    let (code, fish, _) = crate::apisat_bin(&["completions", "fish"]);
    assert_eq!(code, 0);
    assert!(fish.contains("complete -c apisat"), "{fish}");
    let (code, _, err) = crate::apisat_bin(&["completions", "tcsh"]);
    assert_eq!(code, 2);
    assert!(err.contains("possible values"), "{err}");
}

#[test]
fn man_pages_are_generated_from_the_cli() {
    let (code, page, _) = crate::apisat_bin(&["man"]);
    assert_eq!(code, 0);
    // roff: a title line, the sections, every command listed.
    assert!(page.contains(".TH apisat 1"), "{page}");
    for section in [".SH NAME", ".SH SYNOPSIS", ".SH OPTIONS", ".SH SUBCOMMANDS"] {
        assert!(page.contains(section), "{section}\n{page}");
    }
    for command in ["check", "batch", "explain", "completions", "man"] {
        assert!(
            page.contains(&format!("apisat\\-{command}(1)")),
            "{command}\n{page}"
        );
    }
    // One command's page, with its own flags.
    let (code, page, _) = crate::apisat_bin(&["man", "check"]);
    assert_eq!(code, 0);
    assert!(page.contains(".TH apisat-check 1"), "{page}");
    assert!(page.contains("\\-\\-variant"), "{page}");
    let (code, _, err) = crate::apisat_bin(&["man", "chekc"]);
    assert_eq!(code, 2);
    assert!(err.contains("the commands are: check"), "{err}");
}

//! The JSON Schema of the API language, for editors with a YAML language
//! server: completion, hover text and validation of API files.
//!
//! It is generated from the parser's own field tables ([`spec::TABLES`]):
//! one property per accepted field, with its shape and description. It
//! checks shapes (which fields exist, lists, mappings, numbers, the version
//! and the arity range), not what strings mean: term and check syntax, names
//! and arities of applications are `apisat check`'s job. `apisat schema`
//! prints it; `schema/apisat.schema.json` is the shipped copy, which
//! `tests/it/schema.rs` keeps equal to it.

use serde_json::{json, Map, Value};

use crate::front::lower::{MAX_ARITY, VERSIONS};
use crate::front::spec::{self, Shape, Table};

/// The JSON Schema dialect: draft-07, the one YAML language servers read
/// best.
pub const DIALECT: &str = "http://json-schema.org/draft-07/schema#";

/// The schema of an API file.
pub fn schema() -> Value {
    let mut root = Map::new();
    root.insert("$schema".into(), json!(DIALECT));
    root.insert(
        "$comment".into(),
        json!("Generated from src/spec.rs by `apisat schema`; do not edit by hand."),
    );
    root.insert("title".into(), json!("apisat API file"));
    // An empty file is an empty API, so the top level may be null too.
    if let Value::Object(top) = mapping(&spec::TOP_TABLE, true) {
        root.extend(top);
    }
    Value::Object(root)
}

/// The schema of a family file (`apisat schema --family`).
pub fn family_schema() -> Value {
    let mut root = Map::new();
    root.insert("$schema".into(), json!(DIALECT));
    root.insert(
        "$comment".into(),
        json!("Generated from src/family/mod.rs by `apisat schema --family`; do not edit by hand."),
    );
    root.insert("title".into(), json!("apisat family file"));
    if let Value::Object(top) = mapping(&crate::front::family::FAMILY_TABLE, false) {
        root.extend(top);
    }
    Value::Object(root)
}

/// The schema as shipped: pretty JSON and a final newline.
pub fn text() -> String {
    let pretty = serde_json::to_string_pretty(&schema()).unwrap_or_default();
    format!("{pretty}\n")
}

/// The family-file schema as shipped.
pub fn family_text() -> String {
    let pretty = serde_json::to_string_pretty(&family_schema()).unwrap_or_default();
    format!("{pretty}\n")
}

/// A mapping with a table's fields; unknown keys are rejected, as the
/// parser rejects them.
fn mapping(table: &Table, nullable: bool) -> Value {
    let mut properties = Map::new();
    for f in table.fields {
        let mut value = shape(f.shape);
        if let Value::Object(o) = &mut value {
            o.insert("description".into(), json!(f.about));
        }
        properties.insert(f.name.into(), value);
    }
    let mut required: Vec<&str> = table
        .fields
        .iter()
        .filter(|f| f.required)
        .map(|f| f.name)
        .collect();
    // A function has `outputs`, or is a SetAttributeValue function (`sets`),
    // which returns the changed handle.
    let outputs_or_sets = std::ptr::eq(table, &spec::FUNCTION_TABLE);
    if outputs_or_sets {
        required.retain(|f| *f != "outputs");
    }
    let mut out = Map::new();
    out.insert("description".into(), json!(table.about));
    out.insert(
        "type".into(),
        if nullable {
            json!(["object", "null"])
        } else {
            json!("object")
        },
    );
    out.insert("properties".into(), Value::Object(properties));
    if !required.is_empty() {
        out.insert("required".into(), json!(required));
    }
    if outputs_or_sets {
        out.insert(
            "anyOf".into(),
            json!([{ "required": ["outputs"] }, { "required": ["sets"] }]),
        );
    }
    out.insert("additionalProperties".into(), json!(false));
    Value::Object(out)
}

/// A scalar: the parser reads strings, numbers and booleans as their text.
fn scalar() -> Value {
    json!({ "type": ["string", "number", "boolean"] })
}

/// A list, or an empty value (read as an empty list).
fn list_of(items: Value) -> Value {
    json!({ "type": ["array", "null"], "items": items })
}

/// The schema of one field's value.
fn shape(s: Shape) -> Value {
    match s {
        Shape::Text => scalar(),
        Shape::Version => {
            // `1` and `"1"` are both read as the text `1`.
            let mut accepted = Vec::new();
            for v in VERSIONS {
                if let Ok(n) = v.parse::<i64>() {
                    accepted.push(json!(n));
                }
                accepted.push(json!(v));
            }
            json!({ "enum": accepted })
        }
        Shape::Arity => {
            json!({ "type": "integer", "minimum": 1, "maximum": MAX_ARITY as i64 })
        }
        Shape::Bool => json!({ "type": "boolean" }),
        Shape::List => list_of(scalar()),
        Shape::NonEmptyList => json!({ "type": "array", "minItems": 1, "items": scalar() }),
        Shape::Map(t) => mapping(t, true),
        Shape::Records(t) => list_of(mapping(t, false)),
        Shape::TextOrRecords(t) => list_of(json!({ "anyOf": [scalar(), mapping(t, false)] })),
        Shape::Expectations => expectations(),
        Shape::ChecksByFunction => json!({
            "type": ["object", "null"],
            "additionalProperties": list_of(scalar())
        }),
        Shape::Pairs => {
            list_of(json!({ "type": "array", "minItems": 2, "maxItems": 2, "items": scalar() }))
        }
        Shape::TextMap => json!({
            "type": ["object", "null"],
            "additionalProperties": scalar()
        }),
        Shape::Matrix(t) => json!({
            "type": ["object", "null"],
            "propertyNames": { "pattern": "^[A-Za-z][A-Za-z0-9_]*$" },
            "additionalProperties": {
                "anyOf": [
                    { "type": "array", "minItems": 1, "items": scalar() },
                    { "type": "object", "minProperties": 1, "additionalProperties": mapping(t, true) }
                ]
            }
        }),
    }
}

/// `expect`: any secret label, each with a word form the parser reads
/// (`derivable`, `not derivable`, `not-derivable`, `proved`, `within N
/// calls`) or a mapping of `derivable`, `within` and `proved`.
fn expectations() -> Value {
    let words = r"^\s*(derivable|not\s+derivable|not-derivable|proved|no\s+stateful\s+attack|within\s+0*[1-9][0-9]*(\s+calls?)?)\s*$";
    let mut fields = Map::new();
    for f in spec::EXPECT_FIELDS {
        let value = match *f {
            "within" => json!({ "type": "integer", "minimum": 1, "maximum": u32::MAX }),
            _ => json!({ "type": "boolean" }),
        };
        fields.insert((*f).into(), value);
    }
    json!({
        "type": ["object", "null"],
        "additionalProperties": {
            "anyOf": [
                { "type": "string", "pattern": words },
                { "type": "object", "properties": fields, "additionalProperties": false, "minProperties": 1 }
            ]
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_level_rejects_unknown_fields_and_lists_every_field() {
        let s = schema();
        assert_eq!(s["additionalProperties"], json!(false));
        let props = s["properties"].as_object().expect("properties");
        assert_eq!(props.len(), spec::TOP_FIELDS.len());
        // A function requires `name` (the parser) and `outputs` (lowering),
        // or `sets` instead of `outputs`.
        let function = &props["functions"]["items"];
        assert_eq!(function["required"], json!(["name"]));
        assert_eq!(
            function["anyOf"],
            json!([{ "required": ["outputs"] }, { "required": ["sets"] }])
        );
        assert_eq!(props["apisat"]["enum"], json!([1, "1"]));
    }
}

//! Family files: a base API and its variants.
//!
//! A family file names a base API file and describes variants of it as
//! *edits* (functions removed, added or replaced; checks removed or added;
//! knowledge, names and secrets changed), by name under `variants`, and as
//! a parameter `matrix` whose cross product gives more. A matrix value can
//! be written into any edit's strings as `$param` or `${param}`.
//!
//! ```yaml
//! apisat: 1
//! family: VSM fixes
//! base: ../vsm.yaml
//! variants:
//!   - name: original
//!   - name: no-translate
//!     remove_functions: [TranslateCommsKeyToTMK]
//! matrix:
//!   k1_wrap: [T, F]          # values, substituted for $k1_wrap
//!   policy:                  # named choices, each a set of edits
//!     strict: {remove_functions: [Unwrap]}
//!     lax: {}
//! ```
//!
//! Variants are numbered in a fixed order (named variants outermost, the
//! last matrix parameter fastest) and expanded one at a time on demand, so
//! a family of millions costs nothing until a variant is checked, and a
//! shard can expand only its own. Every variant is lowered by the same code
//! as an API file; a mistake in an edit is reported at its place in the
//! family file.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use crate::diagnostic::{Diagnostic, Span};
use crate::lower::{self, Loaded};
use crate::spec::{
    self, field, required, ExpectDecl, Field, NameGroup, Reader, RuleDecl, SecretDecl, Shape, Spec,
    Table,
};
use crate::yaml::{self, Key, Node, NodeKind, Scalar};

/// Fields accepted at the top level of a family file.
pub const FAMILY_FIELDS: &[&str] = &[
    "apisat",
    "family",
    "description",
    "base",
    "edits",
    "variants",
    "matrix",
    "expect",
];
/// Edits: what a variant, a matrix choice or the family's `edits` change.
pub const EDIT_FIELDS: &[&str] = &[
    "remove_functions",
    "add_functions",
    "replace_functions",
    "remove_checks",
    "add_checks",
    "remove_knowledge",
    "add_knowledge",
    "add_names",
    "remove_secrets",
    "add_secrets",
];
/// Fields of a named variant: its name, description and expectations, and
/// every edit.
pub const VARIANT_FIELDS: &[&str] = &[
    "name",
    "description",
    "expect",
    "remove_functions",
    "add_functions",
    "replace_functions",
    "remove_checks",
    "add_checks",
    "remove_knowledge",
    "add_knowledge",
    "add_names",
    "remove_secrets",
    "add_secrets",
];

/// The top level of a family file, for the JSON Schema
/// ([`crate::schema`]) and `tests/schema.rs`.
pub const FAMILY_TABLE: Table = Table {
    id: "family",
    about: "An apisat family file: a base API and variants of it.",
    accepted: FAMILY_FIELDS,
    fields: &[
        field("apisat", Shape::Version, "The language version; `1` (optional)."),
        required("family", Shape::Text, "The family's name; a file with this field is a family file."),
        field("description", Shape::Text, "Free text."),
        required("base", Shape::Text, "The base API file, relative to this file's folder; not itself a family."),
        field("edits", Shape::Map(&EDITS_TABLE), "Edits applied to every variant, before the variant's own and its matrix choices'."),
        field("variants", Shape::Records(&VARIANT_TABLE), "Named variants, each a set of edits; without any, the family's variants are the matrix's (or the base alone)."),
        field("matrix", Shape::Matrix(&EDITS_TABLE), "Parameters whose cross product gives variants: a list of values (written into edits as `$name`), or a mapping of named choices, each a set of edits."),
        field("expect", Shape::Expectations, "Expectations for every variant (a variant's own override them label by label)."),
    ],
};

/// The edits of a matrix choice or of the family's `edits`.
pub const EDITS_TABLE: Table = Table {
    id: "edits",
    about: "Edits to the base API.",
    accepted: EDIT_FIELDS,
    fields: &EDIT_TABLE_FIELDS,
};

/// A named variant.
pub const VARIANT_TABLE: Table = Table {
    id: "variant",
    about: "A named variant: edits to the base API, and what it expects.",
    accepted: VARIANT_FIELDS,
    fields: &[
        required(
            "name",
            Shape::Text,
            "The variant's name: letters, digits, `-`, `_`, `.`, `+`; unique in the family.",
        ),
        field("description", Shape::Text, "Free text."),
        field(
            "expect",
            Shape::Expectations,
            "What `apisat test` checks of this variant, per secret label.",
        ),
        EDIT_TABLE_FIELDS[0],
        EDIT_TABLE_FIELDS[1],
        EDIT_TABLE_FIELDS[2],
        EDIT_TABLE_FIELDS[3],
        EDIT_TABLE_FIELDS[4],
        EDIT_TABLE_FIELDS[5],
        EDIT_TABLE_FIELDS[6],
        EDIT_TABLE_FIELDS[7],
        EDIT_TABLE_FIELDS[8],
        EDIT_TABLE_FIELDS[9],
    ],
};

const EDIT_TABLE_FIELDS: [Field; 10] = [
    field(
        "remove_functions",
        Shape::List,
        "Names of base functions to drop.",
    ),
    field(
        "add_functions",
        Shape::Records(&spec::FUNCTION_TABLE),
        "Functions to add (same fields as in an API file); a name the API already has is an error.",
    ),
    field(
        "replace_functions",
        Shape::Records(&spec::FUNCTION_TABLE),
        "Functions replacing the API's function of the same name.",
    ),
    field(
        "remove_checks",
        Shape::ChecksByFunction,
        "Checks to drop, by function: `{Decrypt: [\"k != K1\"]}` (spaces do not matter).",
    ),
    field(
        "add_checks",
        Shape::ChecksByFunction,
        "Checks to add, by function: `{Decrypt: [\"k != K1\"]}`.",
    ),
    field(
        "remove_knowledge",
        Shape::List,
        "Initial knowledge to drop, as written in the API file (spaces do not matter).",
    ),
    field(
        "add_knowledge",
        Shape::List,
        "Ground terms to add to the initial knowledge.",
    ),
    field(
        "add_names",
        Shape::Map(&spec::NAME_TABLE),
        "Names to declare, by kind, as under `names`.",
    ),
    field(
        "remove_secrets",
        Shape::List,
        "Labels of secrets not to ask about.",
    ),
    field(
        "add_secrets",
        Shape::TextOrRecords(&spec::SECRET_TABLE),
        "Secrets to ask about: a term string, or `{term, label}`.",
    ),
];

/// Every table of a family file.
pub const TABLES: &[&Table] = &[&FAMILY_TABLE, &EDITS_TABLE, &VARIANT_TABLE];
/// The most variants a family may expand to.
pub const MAX_VARIANTS: u64 = 1 << 40;

/// Spans of entries copied from the family file into a variant's spec are
/// moved this many lines down, so that diagnostics lowering reports on them
/// can be told apart and moved back to the family file.
const FAMILY_LINES: u32 = 1 << 30;

/// Whether a parsed YAML file is a family file (it has a `family` field).
pub fn is_family(root: &Node) -> bool {
    matches!(&root.kind, NodeKind::Map(entries) if entries.iter().any(|(k, _)| k.text == "family"))
}

/// What one variant, choice or the whole family changes in the base.
#[derive(Clone, Debug, Default)]
pub struct Edits {
    remove_functions: Vec<Scalar>,
    add_functions: Vec<RuleDecl>,
    replace_functions: Vec<RuleDecl>,
    remove_checks: Vec<(Key, Vec<Scalar>)>,
    add_checks: Vec<(Key, Vec<Scalar>)>,
    remove_knowledge: Vec<Scalar>,
    add_knowledge: Vec<Scalar>,
    add_names: Vec<NameGroup>,
    remove_secrets: Vec<Scalar>,
    add_secrets: Vec<SecretDecl>,
}

/// A named variant.
#[derive(Clone, Debug)]
struct VariantDecl {
    name: Scalar,
    edits: Edits,
    expect: Vec<ExpectDecl>,
}

/// One matrix parameter and its choices.
#[derive(Clone, Debug)]
struct Parameter {
    name: Key,
    choices: Vec<Choice>,
}

/// One value of a parameter, with the edits it makes (none for a plain
/// value).
#[derive(Clone, Debug)]
struct Choice {
    name: Scalar,
    edits: Edits,
}

/// A loaded family file: its base API and everything needed to expand any
/// variant.
#[derive(Clone, Debug)]
pub struct Family {
    /// The family's name (`family:`).
    pub name: String,
    /// The family file, as given.
    pub file: String,
    /// The family file's text.
    pub source: String,
    /// The base API file, as resolved from the family file's folder.
    pub base_file: String,
    /// The base API file's text.
    pub base_source: String,
    base: Spec,
    edits: Edits,
    variants: Vec<VariantDecl>,
    matrix: Vec<Parameter>,
    expect: Vec<ExpectDecl>,
}

/// One expanded variant: its name, the parameter values it picked, and
/// the checked program (or every mistake).
#[derive(Debug)]
pub struct Variant {
    /// The variant's stable name (`original`, `k1_wrap=T,k2_wrap=F`).
    pub name: String,
    /// The matrix values it picked, in parameter order.
    pub params: Vec<(String, String)>,
    /// The checked variant, or its diagnostics.
    pub loaded: Result<Loaded, Vec<Diagnostic>>,
}

/// Reads a family file and its base API. `root` is the family file's
/// parsed tree.
pub fn load(path: &Path, root: &Node, source: String) -> Result<Family, Vec<Diagnostic>> {
    let file = path.display().to_string();
    let mut r = Reader {
        file: &file,
        diags: Vec::new(),
    };
    let mut family = Family {
        name: String::new(),
        file: file.clone(),
        source,
        base_file: String::new(),
        base_source: String::new(),
        base: Spec::default(),
        edits: Edits::default(),
        variants: Vec::new(),
        matrix: Vec::new(),
        expect: Vec::new(),
    };
    let Some(fields) = r.fields(root, "the top level of a family file", FAMILY_FIELDS) else {
        return Err(r.diags);
    };
    let mut base_key: Option<(Scalar, Span)> = None;
    let mut has_base = false;
    let mut name_span: Option<Span> = None;
    let mut family_key = root.span;
    for (key, value) in fields {
        match key.text.as_str() {
            "apisat" => {
                if let Some(v) = r.scalar(value, "the language version, `1`") {
                    if !lower::VERSIONS.contains(&v.text.trim()) {
                        r.error(
                            v.span,
                            format!("unsupported language version `{}`", v.text),
                            format!("this build reads versions: {}", lower::VERSIONS.join(", ")),
                        );
                    }
                }
            }
            "family" => {
                family_key = key.span;
                // An empty value is reported once, below, as an empty name
                // (`remove the entry` would make this an API file).
                if value.kind != NodeKind::Null {
                    if let Some(n) = r.scalar(value, "the family's name") {
                        family.name = n.text.trim().to_string();
                        name_span = Some(n.span);
                    }
                } else {
                    name_span = Some(key.span);
                }
            }
            "description" => {
                r.scalar(value, "a description");
            }
            "base" => {
                has_base = true;
                base_key = r
                    .scalar(value, "the base API file's path")
                    .map(|s| (s, key.span))
            }
            "edits" => {
                family.edits = edits(&mut r, value, "`edits`", EDIT_FIELDS).unwrap_or_default()
            }
            "variants" => family.variants = variants(&mut r, key, value),
            "matrix" => family.matrix = matrix(&mut r, value),
            "expect" => family.expect = r.expectations(value),
            _ => {}
        }
    }
    if let (true, Some(span)) = (family.name.is_empty(), name_span) {
        r.error(
            span,
            "this family has an empty name".to_string(),
            "write `family: <name>`, e.g. `family: VSM fixes`; the name heads its table in reports",
        );
    }
    let Some((base, _)) = base_key else {
        // A `base` that is not a path is reported already.
        if !has_base {
            r.error(
                family_key,
                "this family file has no `base`".to_string(),
                "add `base: path/to/api.yaml`, the API file the variants change (relative to this file)",
            );
        }
        return Err(r.diags);
    };
    check_size(&mut r, &family);
    check_params(&mut r, &family);
    let mut diags = r.diags;
    let base_path = resolve(path, base.text.trim());
    family.base_file = base_path.display().to_string();
    match read_base(&file, &base_path, &base) {
        Ok((spec, src, base_diags)) => {
            family.base = spec;
            family.base_source = src;
            diags.extend(base_diags);
        }
        Err(d) => diags.extend(d),
    }
    if diags.iter().any(Diagnostic::is_error) {
        return Err(diags);
    }
    Ok(family)
}

/// The base file's path: relative to the family file's folder.
fn resolve(family: &Path, base: &str) -> PathBuf {
    let base = Path::new(base);
    if base.is_absolute() {
        return base.to_path_buf();
    }
    match family.parent() {
        Some(dir) => dir.join(base),
        None => base.to_path_buf(),
    }
}

/// Reads the base API's shape (lowering waits for each variant). A base
/// that cannot be read, or is a family, is reported at `base:` in the
/// family file; mistakes inside the base, in the base file.
fn read_base(
    family: &str,
    path: &Path,
    written: &Scalar,
) -> Result<(Spec, String, Vec<Diagnostic>), Vec<Diagnostic>> {
    let file = path.display().to_string();
    let at_base = |message: String, help: String| {
        vec![Diagnostic::error(family, written.span, message).with_help(help)]
    };
    let src = std::fs::read_to_string(path).map_err(|e| {
        let reason = match e.kind() {
            std::io::ErrorKind::NotFound => "there is no such file".to_string(),
            std::io::ErrorKind::InvalidData => "it is not UTF-8 text".to_string(),
            _ => e.to_string(),
        };
        at_base(
            format!("cannot read the base API `{file}`: {reason}"),
            "`base` is the path of an API file, relative to the family file's folder".to_string(),
        )
    })?;
    let node = yaml::parse(&file, &src)?;
    let same = |a: &str, b: &Path| {
        std::fs::canonicalize(a)
            .ok()
            .zip(std::fs::canonicalize(b).ok())
            .is_some_and(|(a, b)| a == b)
    };
    if is_family(&node) && same(family, path) {
        return Err(at_base(
            "the base of this family is the family file itself".to_string(),
            "`base` names the API file the variants change, relative to this file's folder"
                .to_string(),
        ));
    }
    if is_family(&node) {
        return Err(at_base(
            format!("the base `{file}` is itself a family file (it has a `family` field)"),
            "a family's `base` must be an API file; families do not nest: name the API file the other family is based on".to_string(),
        ));
    }
    let (spec, diags) = spec::read(&file, &node);
    Ok((spec, src, diags))
}

/// Reads edits from a mapping that accepts the fields `accepted` (the
/// edits, and for a variant its own fields, skipped here).
fn edits(r: &mut Reader, node: &Node, place: &str, accepted: &[&str]) -> Option<Edits> {
    if node.kind == NodeKind::Null {
        return Some(Edits::default());
    }
    let fields = r.fields(node, place, accepted)?;
    let mut e = Edits::default();
    for (key, value) in fields {
        match key.text.as_str() {
            "remove_functions" => e.remove_functions = r.scalars(key, value, "a function name"),
            "add_functions" => e.add_functions = rules(r, key, value),
            "replace_functions" => e.replace_functions = rules(r, key, value),
            "remove_checks" => e.remove_checks = checks(r, value),
            "add_checks" => e.add_checks = checks(r, value),
            "remove_knowledge" => e.remove_knowledge = r.scalars(key, value, "a term string"),
            "add_knowledge" => e.add_knowledge = r.scalars(key, value, "a term string"),
            "add_names" => e.add_names = r.names(value),
            "remove_secrets" => e.remove_secrets = r.scalars(key, value, "a secret's label"),
            "add_secrets" => {
                e.add_secrets = r
                    .list(key, value)
                    .iter()
                    .filter_map(|item| r.secret(item))
                    .collect()
            }
            _ => {}
        }
    }
    Some(e)
}

fn rules(r: &mut Reader, key: &Key, value: &Node) -> Vec<RuleDecl> {
    r.list(key, value)
        .iter()
        .filter_map(|item| r.rule(item, true))
        .collect()
}

/// `{Function: [check, ...]}`.
fn checks(r: &mut Reader, node: &Node) -> Vec<(Key, Vec<Scalar>)> {
    match &node.kind {
        NodeKind::Null => Vec::new(),
        NodeKind::Map(entries) => entries
            .iter()
            .map(|(k, v)| (k.clone(), r.scalars(k, v, "a check string")))
            .collect(),
        _ => {
            r.error(
                node.span,
                format!(
                    "expected a mapping from function names to checks, found {}",
                    node.describe()
                ),
                "write e.g. `remove_checks: {Decrypt: [\"k != K1\"]}`",
            );
            Vec::new()
        }
    }
}

fn variants(r: &mut Reader, key: &Key, node: &Node) -> Vec<VariantDecl> {
    let mut out: Vec<VariantDecl> = Vec::new();
    let mut seen = HashSet::new();
    for item in r.list(key, node) {
        if let NodeKind::Scalar(bare) = &item.kind {
            r.error(
                item.span,
                format!(
                    "a variant is a mapping with a `name`, found the string `{}`",
                    bare.text
                ),
                format!(
                    "write `- name: {}`, with the variant's edits under it",
                    bare.text.trim()
                ),
            );
            continue;
        }
        let Some(e) = edits(r, item, "a variant", VARIANT_FIELDS) else {
            continue;
        };
        let mut name = None;
        let mut expect = Vec::new();
        if let NodeKind::Map(entries) = &item.kind {
            for (k, v) in entries {
                match k.text.as_str() {
                    "name" => name = r.scalar(v, "the variant's name"),
                    "description" => {
                        r.scalar(v, "a description");
                    }
                    "expect" => expect = r.expectations(v),
                    _ => {}
                }
            }
        }
        let Some(name) = name else {
            r.error(
                item.span,
                "this variant has no `name`".to_string(),
                "add `name: ...`: letters, digits, `-`, `_`, `.` and `+`, unique in the family",
            );
            continue;
        };
        let text = name.text.trim();
        if text.is_empty()
            || !text
                .chars()
                .all(|c| c.is_alphanumeric() || "-_.+".contains(c))
        {
            r.error(
                name.span,
                format!("`{text}` is not a variant name"),
                "use letters, digits, `-`, `_`, `.` and `+`; the name appears in tables and in JSON output",
            );
            continue;
        }
        if !seen.insert(text.to_string()) {
            r.error(
                name.span,
                format!("variant `{text}` is named twice"),
                "give every variant a different name",
            );
            continue;
        }
        out.push(VariantDecl {
            name,
            edits: e,
            expect,
        });
    }
    out
}

fn matrix(r: &mut Reader, node: &Node) -> Vec<Parameter> {
    let NodeKind::Map(entries) = &node.kind else {
        if node.kind != NodeKind::Null {
            r.error(
                node.span,
                format!("expected a mapping for `matrix`, found {}", node.describe()),
                "write one parameter a line: `k1_wrap: [T, F]`, or `policy: {strict: {...}, lax: {...}}`",
            );
        }
        return Vec::new();
    };
    let mut out = Vec::new();
    for (key, value) in entries {
        if !is_identifier(&key.text) {
            r.error(
                key.span,
                format!("`{}` is not a parameter name", key.text),
                "use letters, digits and `_`, starting with a letter, so it can be written as `$name`",
            );
            continue;
        }
        let mut choices = Vec::new();
        match &value.kind {
            NodeKind::Seq(items) => {
                for item in items {
                    if let Some(s) = r.scalar(item, "a parameter value") {
                        choices.push(Choice {
                            name: s,
                            edits: Edits::default(),
                        });
                    }
                }
            }
            NodeKind::Map(named) => {
                for (k, v) in named {
                    if let Some(e) = edits(r, v, "a matrix choice", EDIT_FIELDS) {
                        choices.push(Choice {
                            name: Scalar {
                                text: k.text.clone(),
                                kind: yaml::ScalarKind::Str,
                                span: k.span,
                                content: Some(k.span),
                            },
                            edits: e,
                        });
                    }
                }
            }
            _ => r.error(
                value.span,
                format!("expected a list of values or a mapping of choices for `{}`, found {}", key.text, value.describe()),
                "write `k1_wrap: [T, F]`, or `policy: {strict: {remove_functions: [Wrap]}, lax: {}}`",
            ),
        }
        if choices.is_empty() {
            r.error(
                value.span,
                format!("parameter `{}` has no values", key.text),
                "give it at least one value; a parameter with one value is a constant",
            );
            continue;
        }
        let mut seen = HashSet::new();
        for c in &choices {
            if !seen.insert(c.name.text.trim().to_string()) {
                r.error(
                    c.name.span,
                    format!("`{}` is a value of `{}` twice", c.name.text, key.text),
                    "list each value once",
                );
            }
        }
        out.push(Parameter {
            name: key.clone(),
            choices,
        });
    }
    out
}

fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Rejects families too large to number.
fn check_size(r: &mut Reader, family: &Family) {
    let mut total: u64 = family.variants.len().max(1) as u64;
    for p in &family.matrix {
        match total.checked_mul(p.choices.len() as u64) {
            Some(t) if t <= MAX_VARIANTS => total = t,
            _ => {
                r.error(
                    p.name.span,
                    format!(
                        "the family expands to more than 2^40 ({MAX_VARIANTS}) variants from parameter `{}` on",
                        p.name.text
                    ),
                    "split the family into several files, or give some parameters fewer values",
                );
                return;
            }
        }
    }
}

/// Every `$param` in an edit names a matrix parameter.
fn check_params(r: &mut Reader, family: &Family) {
    let names: Vec<&str> = family.matrix.iter().map(|p| p.name.text.as_str()).collect();
    let mut all: Vec<&Edits> = vec![&family.edits];
    all.extend(family.variants.iter().map(|v| &v.edits));
    all.extend(
        family
            .matrix
            .iter()
            .flat_map(|p| p.choices.iter().map(|c| &c.edits)),
    );
    for e in all {
        for s in e.strings() {
            for (name, offset) in references(&s.text) {
                if !names.contains(&name.as_str()) {
                    let help = match spec::suggest(&name, names.iter().copied()) {
                        Some(n) => format!("did you mean `${n}`?"),
                        None if names.is_empty() => {
                            "this family has no `matrix`; declare the parameter there".to_string()
                        }
                        None => format!("the parameters are: {}", names.join(", ")),
                    };
                    r.error(
                        s.token_span(offset, name.len() + 1),
                        format!("`${name}` is not a matrix parameter"),
                        help,
                    );
                }
            }
        }
    }
}

/// The `$name` / `${name}` references in a string, with their offsets.
fn references(text: &str) -> Vec<(String, usize)> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if chars[i] == '$' {
            let braced = chars.get(i + 1) == Some(&'{');
            let start = if braced { i + 2 } else { i + 1 };
            let mut end = start;
            while end < chars.len() && (chars[end].is_ascii_alphanumeric() || chars[end] == '_') {
                end += 1;
            }
            if end > start {
                out.push((chars[start..end].iter().collect(), i));
                i = if braced && chars.get(end) == Some(&'}') {
                    end + 1
                } else {
                    end
                };
                continue;
            }
        }
        i += 1;
    }
    out
}

impl Edits {
    /// Every string of the edits that may hold `$param`.
    fn strings(&self) -> Vec<&Scalar> {
        let mut out: Vec<&Scalar> = Vec::new();
        out.extend(&self.remove_functions);
        for r in self.add_functions.iter().chain(&self.replace_functions) {
            out.push(&r.name);
            out.extend(&r.inputs);
            out.extend(&r.checks);
            out.extend(&r.fresh);
            out.extend(&r.outputs);
        }
        for (_, cs) in self.remove_checks.iter().chain(&self.add_checks) {
            out.extend(cs);
        }
        out.extend(&self.remove_knowledge);
        out.extend(&self.add_knowledge);
        for g in &self.add_names {
            out.extend(&g.names);
        }
        out.extend(&self.remove_secrets);
        for s in &self.add_secrets {
            out.push(&s.term);
            out.extend(&s.label);
        }
        out
    }

    /// A copy with `$param` substituted and every span moved into the
    /// family's line range.
    fn instantiate(&self, params: &[(String, String)]) -> Edits {
        let s = |x: &Scalar| substitute(x, params);
        let rule = |r: &RuleDecl| RuleDecl {
            name: s(&r.name),
            inputs: r.inputs.iter().map(s).collect(),
            checks: r.checks.iter().map(s).collect(),
            fresh: r.fresh.iter().map(s).collect(),
            outputs: r.outputs.iter().map(s).collect(),
            span: shift(r.span),
            intact: r.intact,
        };
        let checks = |cs: &Vec<(Key, Vec<Scalar>)>| {
            cs.iter()
                .map(|(k, v)| (shift_key(k), v.iter().map(s).collect()))
                .collect()
        };
        Edits {
            remove_functions: self.remove_functions.iter().map(s).collect(),
            add_functions: self.add_functions.iter().map(rule).collect(),
            replace_functions: self.replace_functions.iter().map(rule).collect(),
            remove_checks: checks(&self.remove_checks),
            add_checks: checks(&self.add_checks),
            remove_knowledge: self.remove_knowledge.iter().map(s).collect(),
            add_knowledge: self.add_knowledge.iter().map(s).collect(),
            add_names: self
                .add_names
                .iter()
                .map(|g| NameGroup {
                    kind: g.kind,
                    key: shift_key(&g.key),
                    names: g.names.iter().map(s).collect(),
                })
                .collect(),
            remove_secrets: self.remove_secrets.iter().map(s).collect(),
            add_secrets: self
                .add_secrets
                .iter()
                .map(|d| SecretDecl {
                    term: s(&d.term),
                    label: d.label.as_ref().map(s),
                    span: shift(d.span),
                })
                .collect(),
        }
    }
}

fn shift(span: Span) -> Span {
    Span {
        line: span.line.saturating_add(FAMILY_LINES),
        ..span
    }
}

fn shift_key(k: &Key) -> Key {
    Key {
        text: k.text.clone(),
        span: shift(k.span),
    }
}

/// `$param` replaced by its value; a changed string loses its exact
/// columns (diagnostics then mark the whole string).
fn substitute(s: &Scalar, params: &[(String, String)]) -> Scalar {
    let mut out = Scalar {
        text: s.text.clone(),
        kind: s.kind,
        span: shift(s.span),
        content: s.content.map(shift),
    };
    if !s.text.contains('$') {
        return out;
    }
    let mut text = s.text.clone();
    // Longest names first, so `$k1` never eats the start of `$k10`.
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort_by_key(|(n, _)| std::cmp::Reverse(n.len()));
    for (name, value) in sorted {
        text = text.replace(&format!("${{{name}}}"), value);
        text = text.replace(&format!("${name}"), value);
    }
    if text != s.text {
        out.text = text;
        out.content = None;
    }
    out
}

/// Whitespace does not matter when an edit names a term or check.
fn same_text(a: &str, b: &str) -> bool {
    a.split_whitespace().eq(b.split_whitespace())
        || a.chars()
            .filter(|c| !c.is_whitespace())
            .eq(b.chars().filter(|c| !c.is_whitespace()))
}

impl Family {
    /// How many variants the family expands to.
    pub fn len(&self) -> u64 {
        self.matrix
            .iter()
            .fold(self.variants.len().max(1) as u64, |n, p| {
                n * p.choices.len() as u64
            })
    }

    /// Whether the family has no variants (never: a family without
    /// `variants` or `matrix` is its base alone).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether variant `index` has expectations (the family's or its own).
    pub fn has_expectations(&self, index: u64) -> bool {
        !self.expect.is_empty() || self.pick(index).0.is_some_and(|v| !v.expect.is_empty())
    }

    /// The named variant and matrix choices of variant `index`.
    fn pick(&self, index: u64) -> (Option<&VariantDecl>, Vec<(&Parameter, &Choice)>) {
        let mut rest = index;
        let mut picks = Vec::new();
        for p in self.matrix.iter().rev() {
            let n = p.choices.len() as u64;
            picks.push((p, &p.choices[(rest % n) as usize]));
            rest /= n;
        }
        picks.reverse();
        (self.variants.get(rest as usize), picks)
    }

    /// Variant `index`'s name: the named variant, then `param=value`
    /// pairs, joined by `/`.
    pub fn variant_name(&self, index: u64) -> String {
        let (named, picks) = self.pick(index);
        let mut parts = Vec::new();
        if let Some(v) = named {
            parts.push(v.name.text.trim().to_string());
        }
        if !picks.is_empty() {
            let pairs: Vec<String> = picks
                .iter()
                .map(|(p, c)| format!("{}={}", p.name.text, c.name.text.trim()))
                .collect();
            parts.push(pairs.join(","));
        }
        if parts.is_empty() {
            "base".to_string()
        } else {
            parts.join("/")
        }
    }

    /// Expands and checks variant `index` (`index < len()`).
    pub fn variant(&self, index: u64) -> Variant {
        let (named, picks) = self.pick(index);
        let params: Vec<(String, String)> = picks
            .iter()
            .map(|(p, c)| (p.name.text.clone(), c.name.text.trim().to_string()))
            .collect();
        let name = self.variant_name(index);
        let mut spec = self.base.clone();
        let mut diags = Vec::new();
        let mut all = vec![&self.edits];
        all.extend(named.map(|v| &v.edits));
        all.extend(picks.iter().map(|(_, c)| &c.edits));
        for e in &all {
            apply(&mut spec, &e.instantiate(&params), &mut diags);
        }
        if spec.secrets.as_ref().is_some_and(Vec::is_empty) {
            // Only removals empty an explicit list.
            if let Some(last) = all.iter().flat_map(|e| &e.remove_secrets).last() {
                diags.push(
                    Diagnostic::error("", shift(last.span), "this variant has no secret left to check")
                        .with_help("the edits remove every secret of the base; keep one, or add one with `add_secrets`"),
                );
            }
        }
        let substituted = substitutions(&all, &params);
        // Family-wide expectations, overridden label by label by the
        // variant's own.
        let mut expect: Vec<ExpectDecl> = Vec::new();
        let own = named.map(|v| v.expect.as_slice()).unwrap_or(&[]);
        for e in self.expect.iter().chain(own) {
            let e = ExpectDecl {
                label: shift_key(&e.label),
                expected: e.expected,
                span: shift(e.span),
            };
            expect.retain(|x| x.label.text.trim() != e.label.text.trim());
            expect.push(e);
        }
        // The base file's own expectations describe the base, not its
        // variants.
        spec.expect = expect;
        let loaded = lower::lower_spec(&self.base_file, &spec, &self.base_source, diags)
            .map(|mut l| {
                l.program.name = format!("{} / {name}", self.name);
                l.program.file = self.file.clone();
                l.warnings = self.relocate(l.warnings, &name, &substituted);
                l.expect = l
                    .expect
                    .into_iter()
                    .map(|mut e| {
                        e.span = unshift(e.span);
                        e.label.span = unshift(e.label.span);
                        e
                    })
                    .collect();
                l
            })
            .map_err(|d| self.relocate(d, &name, &substituted));
        Variant {
            name,
            params,
            loaded,
        }
    }

    /// Diagnostics on entries from the family file are moved back to it;
    /// one that marks a whole string `$param` substitution changed says
    /// what the string reads in this variant (`variant`).
    fn relocate(
        &self,
        diags: Vec<Diagnostic>,
        variant: &str,
        substituted: &[(Span, String)],
    ) -> Vec<Diagnostic> {
        let mut out: Vec<Diagnostic> = diags
            .into_iter()
            .map(|mut d| {
                d.message = self.cross_file_lines(&d.message, d.span.line >= FAMILY_LINES);
                if d.span.line >= FAMILY_LINES {
                    d.span = unshift(d.span);
                    d.file = self.file.clone();
                    if let Some((_, text)) = substituted.iter().find(|(s, _)| *s == d.span) {
                        let note = format!("in variant `{variant}` this string reads `{text}`");
                        d.help = Some(match d.help.take() {
                            Some(h) => format!("{h}; {note}"),
                            None => note,
                        });
                    }
                }
                d
            })
            .collect();
        out.sort_by(|a, b| (&a.file, a.span).cmp(&(&b.file, b.span)));
        out.dedup();
        out
    }

    /// `message` with each `line N` it names made right: a line of the
    /// family file is moved back, and a line of another file than the one
    /// the diagnostic is in (the family file when `in_family`) names its
    /// file.
    fn cross_file_lines(&self, message: &str, in_family: bool) -> String {
        let mut out = String::new();
        let mut rest = message;
        while let Some(at) = rest.find("line ") {
            let (before, after) = rest.split_at(at + "line ".len());
            out.push_str(before);
            let digits: String = after.chars().take_while(char::is_ascii_digit).collect();
            rest = &after[digits.len()..];
            let Ok(line) = digits.parse::<u64>() else {
                out.push_str(&digits);
                continue;
            };
            let family_line = line >= u64::from(FAMILY_LINES);
            let line = if family_line {
                line - u64::from(FAMILY_LINES)
            } else {
                line
            };
            out.push_str(&line.to_string());
            match (family_line, in_family) {
                (true, false) => out.push_str(&format!(" of `{}`", self.file)),
                (false, true) => out.push_str(&format!(" of `{}`", self.base_file)),
                _ => {}
            }
        }
        out.push_str(rest);
        out
    }

    /// The text of a file a diagnostic of this family may point into.
    pub fn source_of(&self, file: &str) -> Option<&str> {
        if file == self.file {
            Some(&self.source)
        } else if file == self.base_file {
            Some(&self.base_source)
        } else {
            None
        }
    }

    /// The names of the base API's functions, in file order.
    pub fn base_functions(&self) -> Vec<String> {
        self.base
            .functions
            .iter()
            .map(|f| f.name.text.trim().to_string())
            .collect()
    }
}

/// The strings of `edits` that `$param` substitution changes, by their
/// place in the family file, with their text under `params`.
fn substitutions(edits: &[&Edits], params: &[(String, String)]) -> Vec<(Span, String)> {
    edits
        .iter()
        .flat_map(|e| e.strings())
        .filter_map(|s| {
            let after = substitute(s, params);
            (after.text != s.text).then_some((s.span, after.text))
        })
        .collect()
}

fn unshift(span: Span) -> Span {
    if span.line >= FAMILY_LINES {
        Span {
            line: span.line - FAMILY_LINES,
            ..span
        }
    } else {
        span
    }
}

/// Applies edits to a spec; a mistake (removing what is not there, adding
/// what is) becomes a diagnostic at the edit, in the family's line range.
fn apply(spec: &mut Spec, e: &Edits, diags: &mut Vec<Diagnostic>) {
    let err = |diags: &mut Vec<Diagnostic>, span: Span, message: String, help: String| {
        // The file is filled in by `relocate` (every edit is in the family
        // file's line range).
        diags.push(Diagnostic::error("", span, message).with_help(help));
    };
    let function_names = |spec: &Spec| -> Vec<String> {
        spec.functions
            .iter()
            .map(|f| f.name.text.trim().to_string())
            .collect()
    };
    let missing_function = |spec: &Spec, name: &str| {
        let names = function_names(spec);
        match spec::suggest(name, names.iter().map(String::as_str)) {
            Some(s) => format!("did you mean `{s}`?"),
            None => format!("the functions here are: {}", names.join(", ")),
        }
    };
    for name in &e.remove_functions {
        let text = name.text.trim();
        match spec
            .functions
            .iter()
            .position(|f| f.name.text.trim() == text)
        {
            Some(i) => {
                spec.functions.remove(i);
            }
            None => {
                let help = missing_function(spec, text);
                err(
                    diags,
                    name.span,
                    format!("cannot remove `{text}`: the API has no such function"),
                    help,
                )
            }
        }
    }
    for f in &e.replace_functions {
        let text = f.name.text.trim();
        match spec
            .functions
            .iter()
            .position(|g| g.name.text.trim() == text)
        {
            Some(i) => spec.functions[i] = f.clone(),
            None => {
                let help = format!(
                    "{} (use `add_functions` for a new one)",
                    missing_function(spec, text)
                );
                err(
                    diags,
                    f.name.span,
                    format!("cannot replace `{text}`: the API has no such function"),
                    help,
                )
            }
        }
    }
    for f in &e.add_functions {
        let text = f.name.text.trim();
        if spec.functions.iter().any(|g| g.name.text.trim() == text) {
            err(
                diags,
                f.name.span,
                format!("cannot add `{text}`: the API already has a function of that name"),
                "use `replace_functions` to change it, or give the new function another name"
                    .to_string(),
            );
        } else {
            spec.functions.push(f.clone());
        }
    }
    for (function, checks) in &e.remove_checks {
        let text = function.text.trim();
        let Some(f) = spec
            .functions
            .iter_mut()
            .find(|g| g.name.text.trim() == text)
        else {
            let help = missing_function(spec, text);
            err(
                diags,
                function.span,
                format!("`{text}` is not a function of the API"),
                help,
            );
            continue;
        };
        for c in checks {
            match f.checks.iter().position(|x| same_text(&x.text, &c.text)) {
                Some(i) => {
                    f.checks.remove(i);
                }
                None => {
                    let have: Vec<String> =
                        f.checks.iter().map(|x| format!("`{}`", x.text)).collect();
                    let help = if have.is_empty() {
                        format!("`{text}` has no checks")
                    } else {
                        format!("its checks are: {}", have.join(", "))
                    };
                    err(
                        diags,
                        c.span,
                        format!("`{text}` has no check `{}`", c.text),
                        help,
                    )
                }
            }
        }
    }
    for (function, checks) in &e.add_checks {
        let text = function.text.trim();
        match spec
            .functions
            .iter_mut()
            .find(|g| g.name.text.trim() == text)
        {
            Some(f) => f.checks.extend(checks.iter().cloned()),
            None => {
                let help = missing_function(spec, text);
                err(
                    diags,
                    function.span,
                    format!("`{text}` is not a function of the API"),
                    help,
                )
            }
        }
    }
    for k in &e.remove_knowledge {
        match spec
            .knowledge
            .iter()
            .position(|x| same_text(&x.text, &k.text))
        {
            Some(i) => {
                spec.knowledge.remove(i);
            }
            None => {
                let have: Vec<String> = spec
                    .knowledge
                    .iter()
                    .map(|x| format!("`{}`", x.text))
                    .collect();
                let help = if have.is_empty() {
                    "the initial knowledge is empty".to_string()
                } else {
                    format!(
                        "write the term as `knowledge` does (spaces do not matter); it holds: {}",
                        have.join(", ")
                    )
                };
                err(
                    diags,
                    k.span,
                    format!(
                        "cannot remove `{}`: it is not in the initial knowledge",
                        k.text
                    ),
                    help,
                )
            }
        }
    }
    spec.knowledge.extend(e.add_knowledge.iter().cloned());
    spec.names.extend(e.add_names.iter().cloned());
    if e.remove_secrets.is_empty() && e.add_secrets.is_empty() {
        return;
    }
    let implicit = spec.secrets.is_none();
    let secrets = spec.secrets.get_or_insert_with(Vec::new);
    if implicit {
        // No `secrets` list: every secret name is one; make that explicit
        // before changing it.
        for g in spec
            .names
            .iter()
            .filter(|g| g.kind == crate::term::NameKind::Secret)
        {
            for n in &g.names {
                secrets.push(SecretDecl {
                    term: n.clone(),
                    label: None,
                    span: n.span,
                });
            }
        }
    }
    for label in &e.remove_secrets {
        let text = label.text.trim();
        let label_of = |s: &SecretDecl| s.label.as_ref().unwrap_or(&s.term).text.trim().to_string();
        match secrets.iter().position(|s| label_of(s) == text) {
            Some(i) => {
                secrets.remove(i);
            }
            None => {
                let labels: Vec<String> = secrets.iter().map(label_of).collect();
                err(
                    diags,
                    label.span,
                    format!("cannot remove secret `{text}`: the API has no secret of that label"),
                    format!("the secrets are: {}", labels.join(", ")),
                )
            }
        }
    }
    secrets.extend(e.add_secrets.iter().cloned());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn family() -> Family {
        Family {
            name: "F".to_string(),
            file: "f.yaml".to_string(),
            source: String::new(),
            base_file: "b.yaml".to_string(),
            base_source: String::new(),
            base: Spec::default(),
            edits: Edits::default(),
            variants: Vec::new(),
            matrix: Vec::new(),
            expect: Vec::new(),
        }
    }

    #[test]
    fn line_references_name_their_file() {
        let f = family();
        let in_family = FAMILY_LINES + 9;
        // A family line, named in a diagnostic in the family: moved back.
        assert_eq!(
            f.cross_file_lines(&format!("first at line {in_family}"), true),
            "first at line 9"
        );
        // ... in a diagnostic in the base file: the family file is named.
        assert_eq!(
            f.cross_file_lines(&format!("a name (line {in_family}), not"), false),
            "a name (line 9 of `f.yaml`), not"
        );
        // A base line, in a diagnostic in the family: the base is named.
        assert_eq!(
            f.cross_file_lines("first at line 7", true),
            "first at line 7 of `b.yaml`"
        );
        assert_eq!(
            f.cross_file_lines("first at line 7", false),
            "first at line 7"
        );
        assert_eq!(f.cross_file_lines("a line x", true), "a line x");
    }
}

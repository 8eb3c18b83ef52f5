//! Reading a family file: its fields, variants, matrix and edits, with
//! every shape mistake located; then its base API's shape.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use super::{
    is_family, Choice, Edits, Family, Parameter, VariantDecl, EDIT_FIELDS, FAMILY_FIELDS,
    MAX_VARIANTS, VARIANT_FIELDS,
};
use crate::front::diagnostic::{Diagnostic, Span};
use crate::front::lower;
use crate::front::spec::{self, Reader, RuleDecl, Spec};
use crate::front::yaml::{self, Key, Node, NodeKind, Scalar};

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
    let src = lower::read_source(path).map_err(|e| {
        let reason = match e {
            lower::ReadError::Io(e) if e.kind() == std::io::ErrorKind::NotFound => {
                "there is no such file".to_string()
            }
            lower::ReadError::Io(e) => e.to_string(),
            lower::ReadError::NotUtf8 => "it is not UTF-8 text".to_string(),
            lower::ReadError::TooLarge(bytes) => {
                return vec![yaml::too_large(&file, Span::new(1, 1, 1), bytes)];
            }
        };
        at_base(
            format!("cannot read the base API `{file}`: {reason}"),
            "`base` is the path of an API file, relative to the family file's folder".to_string(),
        )
    })?;
    if lower::is_spi_source(&file, &src) {
        // A base in the spi notation: always an API, never a family.
        let (spec, diags) = crate::front::spi::read(&file, &src);
        return Ok((spec, src, diags));
    }
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
            "add_sticky_on" => {
                e.policy_at.get_or_insert(key.span);
                e.add_sticky_on = r.scalars(key, value, "an attribute name");
            }
            "add_sticky_off" => {
                e.policy_at.get_or_insert(key.span);
                e.add_sticky_off = r.scalars(key, value, "an attribute name");
            }
            "add_conflicts" => {
                e.policy_at.get_or_insert(key.span);
                e.add_conflicts = r.pairs(key, value);
            }
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
                                map: None,
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

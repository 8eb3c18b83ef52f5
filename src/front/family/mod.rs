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

/// Applying edits to a spec.
mod edits;
/// Reading a family file's shape.
mod read;

pub use read::load;

use edits::{apply, substitute};

use crate::front::diagnostic::{Diagnostic, Span};
use crate::front::lower::{self, Loaded};
use crate::front::spec::{
    self, field, required, ExpectDecl, Field, NameGroup, RuleDecl, SecretDecl, Shape, Spec, Table,
};
use crate::front::yaml::{Key, Node, NodeKind, Scalar};

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
/// The edit fields, after the given fields: one list for
/// [`EDIT_FIELDS`] and [`VARIANT_FIELDS`].
macro_rules! with_edit_fields {
    ($($field:literal),*) => {
        &[
            $($field,)*
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
            "add_sticky_on",
            "add_sticky_off",
            "add_conflicts",
        ]
    };
}
/// Edits: what a variant, a matrix choice or the family's `edits` change.
pub const EDIT_FIELDS: &[&str] = with_edit_fields!();
/// Fields of a named variant: its name, description and expectations, and
/// every edit.
pub const VARIANT_FIELDS: &[&str] = with_edit_fields!("name", "description", "expect");

/// The top level of a family file, for the JSON Schema
/// ([`crate::front::schema`]) and `tests/it/schema.rs`.
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
        EDIT_TABLE_FIELDS[10],
        EDIT_TABLE_FIELDS[11],
        EDIT_TABLE_FIELDS[12],
    ],
};

const EDIT_TABLE_FIELDS: [Field; 13] = [
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
    field(
        "add_sticky_on",
        Shape::List,
        "Attributes to make sticky on (the base must declare `attributes`).",
    ),
    field(
        "add_sticky_off",
        Shape::List,
        "Attributes to make sticky off (the base must declare `attributes`).",
    ),
    field(
        "add_conflicts",
        Shape::Pairs,
        "Conflicting pairs of attributes to add: `[[wrap, decrypt]]` (the base must declare `attributes`).",
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
    add_sticky_on: Vec<Scalar>,
    add_sticky_off: Vec<Scalar>,
    add_conflicts: Vec<(Scalar, Scalar)>,
    /// Where the first attribute-policy edit is written.
    policy_at: Option<Span>,
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

/// A variant expanded: the spec and what lowering and relocation need.
struct Expanded {
    spec: Spec,
    diags: Vec<Diagnostic>,
    params: Vec<(String, String)>,
    substituted: Vec<(Span, String)>,
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

    /// The spec of variant `index` (`index < len()`): the base with the
    /// variant's edits applied, and the mistakes applying them (located in
    /// the family file's shifted line range, as lowering expects them).
    /// What `apisat fix` re-lowers with policy changes.
    pub fn variant_spec(&self, index: u64) -> (Spec, Vec<Diagnostic>) {
        let e = self.expand(index);
        (e.spec, e.diags)
    }

    /// Variant `index` expanded: its spec, the mistakes applying its
    /// edits, its matrix values, and the strings `$param` substitution
    /// changed.
    fn expand(&self, index: u64) -> Expanded {
        let (named, picks) = self.pick(index);
        let params: Vec<(String, String)> = picks
            .iter()
            .map(|(p, c)| (p.name.text.clone(), c.name.text.trim().to_string()))
            .collect();
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
        Expanded {
            spec,
            diags,
            params,
            substituted,
        }
    }

    /// Expands and checks variant `index` (`index < len()`).
    pub fn variant(&self, index: u64) -> Variant {
        let name = self.variant_name(index);
        let (named, _) = self.pick(index);
        let Expanded {
            mut spec,
            diags,
            params,
            substituted,
        } = self.expand(index);
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

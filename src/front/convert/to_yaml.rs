//! A spec printed as an API file in YAML: every field the YAML reader
//! reads, in the order of the language's documentation, so that reading
//! the output back gives the same spec (up to positions and comments).

use crate::front::spec::{self, RuleDecl, Spec};
use crate::front::syntax;
use crate::front::term::NameKind;
use crate::front::yaml::Scalar;

/// A text as a YAML scalar: plain when it is an identifier YAML reads as
/// a string, else double-quoted (JSON escapes are YAML's too).
pub fn text(s: &str) -> String {
    const WORDS: &[&str] = &["true", "false", "yes", "no", "on", "off", "null", "y", "n"];
    if syntax::is_identifier(s) && !WORDS.contains(&s.to_ascii_lowercase().as_str()) {
        s.to_string()
    } else {
        serde_json::to_string(s).unwrap_or_default()
    }
}

/// A flow list of scalars: `[a, "{m}k"]`.
fn list(items: &[Scalar]) -> String {
    let shown: Vec<String> = items.iter().map(|s| text(s.text.trim())).collect();
    format!("[{}]", shown.join(", "))
}

/// The YAML field name of a kind of name.
fn kind_field(kind: NameKind) -> &'static str {
    match kind {
        NameKind::Public => "public",
        NameKind::Tag => "tags",
        NameKind::Secret => "secret",
        NameKind::Fresh => "fresh",
        NameKind::Attacker => "attacker",
    }
}

/// Prints a spec as a YAML API file.
pub fn print(spec: &Spec) -> String {
    let mut out = String::from("apisat: 1\n");
    if let Some(n) = &spec.name {
        out.push_str(&format!("name: {}\n", text(n.text.trim())));
    }
    if let Some(d) = &spec.description {
        out.push_str(&format!("description: {}\n", text(&d.text)));
    }
    if !spec.constructors.is_empty() {
        out.push_str("constructors:\n");
        for c in &spec.constructors {
            let private = if c.private { ", private: true" } else { "" };
            out.push_str(&format!(
                "  - {{name: {}, arity: {}{private}}}\n",
                text(&c.name.text),
                c.arity.value
            ));
        }
    }
    // One field per kind, in the order each kind first appears; several
    // groups of one kind (the spi notation allows them) are joined.
    let mut kinds: Vec<NameKind> = Vec::new();
    for g in &spec.names {
        if !kinds.contains(&g.kind) {
            kinds.push(g.kind);
        }
    }
    if !kinds.is_empty() {
        out.push_str("names:\n");
        for kind in kinds {
            let names: Vec<Scalar> = spec
                .names
                .iter()
                .filter(|g| g.kind == kind)
                .flat_map(|g| g.names.iter().cloned())
                .collect();
            out.push_str(&format!("  {}: {}\n", kind_field(kind), list(&names)));
        }
    }
    if let Some(a) = &spec.attributes {
        out.push_str("attributes:\n");
        out.push_str(&format!("  names: {}\n", list(&a.names)));
        if let Some(h) = &a.handle {
            out.push_str(&format!("  handle: {}\n", text(&h.text)));
        }
        if !a.sticky_on.is_empty() {
            out.push_str(&format!("  sticky_on: {}\n", list(&a.sticky_on)));
        }
        if !a.sticky_off.is_empty() {
            out.push_str(&format!("  sticky_off: {}\n", list(&a.sticky_off)));
        }
        if !a.conflicts.is_empty() {
            let pairs: Vec<String> = a
                .conflicts
                .iter()
                .map(|(x, y)| format!("[{}, {}]", text(&x.text), text(&y.text)))
                .collect();
            out.push_str(&format!("  conflicts: [{}]\n", pairs.join(", ")));
        }
        if !a.history.is_empty() {
            let entries: Vec<String> = a
                .history
                .iter()
                .map(|(k, v)| format!("{}: {}", text(&k.text), text(&v.text)))
                .collect();
            out.push_str(&format!("  history: {{{}}}\n", entries.join(", ")));
        }
    }
    if !spec.knowledge.is_empty() {
        out.push_str("knowledge:\n");
        for k in &spec.knowledge {
            out.push_str(&format!("  - {}\n", text(k.text.trim())));
        }
    }
    rules(&mut out, "functions", &spec.functions);
    rules(&mut out, "deductions", &spec.deductions);
    if let Some(secrets) = &spec.secrets {
        out.push_str("secrets:\n");
        for s in secrets {
            match &s.label {
                Some(l) => out.push_str(&format!(
                    "  - term: {}\n    label: {}\n",
                    text(s.term.text.trim()),
                    text(l.text.trim())
                )),
                None => out.push_str(&format!("  - {}\n", text(s.term.text.trim()))),
            }
        }
    }
    if !spec.expect.is_empty() {
        out.push_str("expect:\n");
        for e in &spec.expect {
            out.push_str(&format!(
                "  {}: {}\n",
                text(e.label.text.trim()),
                spec::expectation_words(e.expected)
            ));
        }
    }
    out
}

/// `functions:` or `deductions:`.
fn rules(out: &mut String, field: &str, rules: &[RuleDecl]) {
    if rules.is_empty() {
        return;
    }
    out.push_str(&format!("{field}:\n"));
    for r in rules {
        out.push_str(&format!("  - name: {}\n", text(r.name.text.trim())));
        for (key, items) in [
            ("inputs", &r.inputs),
            ("checks", &r.checks),
            ("fresh", &r.fresh),
        ] {
            if !items.is_empty() {
                out.push_str(&format!("    {key}: {}\n", list(items)));
            }
        }
        if !r.sets.is_empty() {
            let entries: Vec<String> = r
                .sets
                .iter()
                .map(|(k, v)| format!("{}: {}", text(&k.text), text(&v.text)))
                .collect();
            out.push_str(&format!("    sets: {{{}}}\n", entries.join(", ")));
        }
        if !r.outputs.is_empty() {
            out.push_str(&format!("    outputs: {}\n", list(&r.outputs)));
        }
    }
}

//! A spec printed in the spi notation ([`crate::front::spi`]), such that reading
//! the output back gives the same checked program.
//!
//! Each function becomes `Name = !cName(b1, ..., bn). ... cuser<M>`: an
//! input pattern that is a variable is bound by the input itself; any
//! other is bound to a new variable and taken apart in the order the
//! spi calculus allows, each step once what it needs is bound:
//!
//! * `{f1, ..., fk}K`, once `K`'s variables are bound: `case b of
//!   {x1, ..., xk}K in`, each field a variable (or `_`), or a new one taken
//!   apart in turn;
//! * `(p1, ..., pk)`: `let (x1, ..., xk) = b in`;
//! * a pattern whose variables are all bound (a constant, `h(k)`, `x`):
//!   the match `[b is p]`, which reading refines back into the pattern.
//!
//! Checks are written `[a == b]`, `[a != b]`, `[t in [A, B]]` (kept as
//! checks when read back), fresh names `(new s)`, outputs `cuser<M>`. The
//! public names are declared, the secret names restricted by the system,
//! whose outputs are the initial knowledge.
//!
//! What the notation cannot say is a located error naming the feature:
//! constructors of one's own and deductions, attributes and `sets`, a
//! pattern that binds a variable only inside an XOR or an application (the
//! spi calculus binds by input, decryption with a known key, and tuple
//! splitting), a fresh name no function generates, names that are spi
//! keywords, function names that are not identifiers.

use std::collections::HashSet;

use crate::front::diagnostic::{Diagnostic, Span};
use crate::front::spec::{self, RuleDecl, Spec};
use crate::front::spi::parser::{DECLARATIONS, KEYWORDS};
use crate::front::syntax::{self, CheckKind, Term, TermKind};
use crate::front::term::NameKind;
use crate::front::yaml::Scalar;

/// The channel every function answers on, and the system sends the
/// initial knowledge on.
pub const OUT: &str = "cuser";

/// Prints a spec in the spi notation; every feature it cannot express is
/// an error located in `file`.
pub fn print(file: &str, spec: &Spec) -> Result<String, Vec<Diagnostic>> {
    let mut p = Printer {
        file,
        diags: Vec::new(),
        names: spec
            .names
            .iter()
            .flat_map(|g| g.names.iter().map(|n| n.text.trim().to_string()))
            .collect(),
    };
    if !spec.names.iter().any(|g| g.kind == NameKind::Attacker) {
        p.names.insert("attacker".to_string());
    }
    let out = p.spec(spec);
    if p.diags.is_empty() {
        Ok(out)
    } else {
        p.diags.sort_by_key(|d| d.span);
        Err(p.diags)
    }
}

struct Printer<'a> {
    file: &'a str,
    diags: Vec<Diagnostic>,
    /// Every declared name.
    names: HashSet<String>,
}

/// A term or check string, parsed; `None` when it does not parse (lowering
/// reported that, and convert only prints files that load).
fn parsed(s: &Scalar) -> Option<Term> {
    syntax::parse_term(&s.text).ok()
}

impl Printer<'_> {
    fn error(&mut self, span: Span, feature: &str, help: impl Into<String>) {
        self.diags.push(
            Diagnostic::error(self.file, span, format!("{feature} has no spi spelling"))
                .with_help(help),
        );
    }

    /// An identifier written in the output: a name, variable or label.
    fn word(&mut self, s: &Scalar, what: &str) -> String {
        let text = s.text.trim();
        if KEYWORDS.contains(&text) {
            self.error(
                s.span,
                &format!("the {what} `{text}`, a keyword of the spi notation,"),
                "rename it: `case`, `of`, `in`, `let`, `new` and `is` are keywords",
            );
        }
        text.to_string()
    }

    fn spec(&mut self, spec: &Spec) -> String {
        let mut out = String::new();
        if let Some(d) = &spec.description {
            for line in d.text.lines() {
                out.push_str(format!("# {line}").trim_end());
                out.push('\n');
            }
            out.push('\n');
        }
        if let Some(n) = &spec.name {
            out.push_str(&format!("name {}\n\n", string(n.text.trim())));
        }
        for c in &spec.constructors {
            self.error(
                c.span,
                "a constructor of your own",
                "the spi notation has the built-in constructors only; keep this API in YAML",
            );
        }
        for d in &spec.deductions {
            self.error(
                d.span,
                "an attacker deduction",
                "the spi notation has the built-in deductions only; keep this API in YAML",
            );
        }
        if let Some(a) = &spec.attributes {
            self.error(
                a.key,
                "`attributes` (objects with named attributes)",
                "the spi notation has no attribute records; keep this API in YAML",
            );
        }
        let mut declared = false;
        for g in &spec.names {
            let word = match g.kind {
                NameKind::Public => "public",
                NameKind::Tag => "tags",
                NameKind::Attacker => "attacker",
                NameKind::Secret | NameKind::Fresh => continue,
            };
            let names: Vec<String> = g.names.iter().map(|n| self.word(n, "name")).collect();
            if !names.is_empty() {
                out.push_str(&format!("{word} {}\n", names.join(", ")));
                declared = true;
            }
        }
        if declared {
            out.push('\n');
        }
        let mut generated: HashSet<String> = HashSet::new();
        for f in &spec.functions {
            generated.extend(f.fresh.iter().map(|s| s.text.trim().to_string()));
            if let Some(text) = self.function(f) {
                out.push_str(&text);
                out.push('\n');
            }
        }
        for g in spec.names.iter().filter(|g| g.kind == NameKind::Fresh) {
            for n in g
                .names
                .iter()
                .filter(|n| !generated.contains(n.text.trim()))
            {
                self.error(n.span, &format!("the fresh name `{}`, which no function generates,", n.text.trim()), "the spi notation declares a fresh name by generating it, `(new s)` in a function: remove the declaration or generate it");
            }
        }
        out.push_str(&self.system(spec));
        if let Some(secrets) = &spec.secrets {
            out.push('\n');
            for s in secrets {
                let Some(t) = parsed(&s.term) else { continue };
                self.names_in(&t, &s.term);
                let printed = show(&t);
                // Unlabelled, a secret is named by its term as written;
                // keep that name when it differs from the printed term.
                let label = match &s.label {
                    Some(l) => Some(l.text.trim().to_string()),
                    None if s.term.text.trim() != printed => Some(s.term.text.trim().to_string()),
                    None => None,
                };
                match label {
                    Some(l) => out.push_str(&format!("secret {} = {printed}\n", label_text(&l))),
                    None => out.push_str(&format!("secret {printed}\n")),
                }
            }
        }
        if !spec.expect.is_empty() {
            out.push('\n');
            for e in &spec.expect {
                out.push_str(&format!(
                    "expect {} {}\n",
                    label_text(e.label.text.trim()),
                    spec::expectation_words(e.expected)
                ));
            }
        }
        out
    }

    /// Checks that no name or variable of `t` is a keyword.
    fn names_in(&mut self, t: &Term, at: &Scalar) {
        let mut bad = Vec::new();
        each_ident(t, &mut |s, offset| {
            if KEYWORDS.contains(&s) {
                bad.push((s.to_string(), offset));
            }
        });
        for (s, offset) in bad {
            let span = at.token_span(offset, s.len());
            self.error(
                span,
                &format!("the name `{s}`, a keyword of the spi notation,"),
                "rename it: `case`, `of`, `in`, `let`, `new` and `is` are keywords",
            );
        }
    }

    /// The system: restrictions, the initial knowledge, the functions.
    fn system(&mut self, spec: &Spec) -> String {
        let secret: Vec<String> = spec
            .names
            .iter()
            .filter(|g| g.kind == NameKind::Secret)
            .flat_map(|g| g.names.iter().map(|n| n.text.trim().to_string()))
            .collect();
        let mut parts: Vec<String> = Vec::new();
        for k in &spec.knowledge {
            if let Some(t) = parsed(k) {
                self.names_in(&t, k);
                parts.push(format!("{OUT}<{}>", show(&t)));
            }
        }
        parts.extend(
            spec.functions
                .iter()
                .map(|f| f.name.text.trim().to_string()),
        );
        let mut out = String::from("system =");
        if !secret.is_empty() {
            out.push_str(&format!(" (new {})", secret.join(", ")));
        }
        match parts.len() {
            0 => out.push_str(" 0\n"),
            _ => {
                out.push_str(&format!("\n    ( {}", parts[0]));
                for p in &parts[1..] {
                    out.push_str(&format!("\n    | {p}"));
                }
                out.push_str(" )\n");
            }
        }
        out
    }

    /// One function as a definition; `None` (reported) when it has no
    /// spi spelling.
    fn function(&mut self, f: &RuleDecl) -> Option<String> {
        let before = self.diags.len();
        let name = f.name.text.trim();
        if !syntax::is_identifier(name) || KEYWORDS.contains(&name) || name == "system" {
            self.error(f.name.span, &format!("the function name `{name}`"), "a spi process is named by an identifier (letters, digits and `_`) other than a keyword and `system`: rename the function");
        }
        if !f.sets.is_empty() {
            self.error(
                f.span,
                "a function with `sets` (SetAttributeValue)",
                "the spi notation has no attribute records; keep this API in YAML",
            );
        }
        let inputs: Vec<Term> = f.inputs.iter().filter_map(parsed).collect();
        let checks: Vec<syntax::Check> = f
            .checks
            .iter()
            .filter_map(|c| syntax::parse_check(&c.text).ok())
            .collect();
        let outputs: Vec<Term> = f.outputs.iter().filter_map(parsed).collect();
        if inputs.len() != f.inputs.len()
            || checks.len() != f.checks.len()
            || outputs.len() != f.outputs.len()
        {
            return None;
        }
        for (t, s) in inputs
            .iter()
            .zip(&f.inputs)
            .chain(outputs.iter().zip(&f.outputs))
        {
            self.names_in(t, s);
        }
        // Identifiers of the function: new variables avoid them.
        let mut taken: HashSet<String> = self.names.clone();
        for t in inputs.iter().chain(&outputs) {
            each_ident(t, &mut |s, _| {
                taken.insert(s.to_string());
            });
        }
        let fresh_var = |taken: &mut HashSet<String>| {
            let mut i = 1;
            while taken.contains(&format!("v{i}")) {
                i += 1;
            }
            let v = format!("v{i}");
            taken.insert(v.clone());
            v
        };
        let mut bound: HashSet<String> = HashSet::new();
        let mut binders = Vec::new();
        // (variable, pattern it must be taken apart into, the input).
        let mut work: Vec<(String, Term, usize)> = Vec::new();
        for (i, p) in inputs.iter().enumerate() {
            match &p.kind {
                TermKind::Wildcard => binders.push("_".to_string()),
                TermKind::Ident(v) if !self.names.contains(v) && !bound.contains(v) => {
                    bound.insert(v.clone());
                    binders.push(v.clone());
                }
                _ => {
                    let v = fresh_var(&mut taken);
                    binders.push(v.clone());
                    work.push((v, p.clone(), i));
                }
            }
        }
        let mut steps: Vec<String> = Vec::new();
        let fresh: Vec<String> = f.fresh.iter().map(|s| s.text.trim().to_string()).collect();
        if !fresh.is_empty() {
            steps.push(format!("(new {})", fresh.join(", ")));
        }
        while !work.is_empty() {
            let ready = work.iter().position(|(_, p, _)| self.ready(p, &bound));
            let Some(at) = ready else {
                let (_, p, i) = &work[0];
                let stuck = self.unbound(p, &bound);
                self.error(f.inputs[*i].span, &format!("the input pattern `{}` of `{name}`", f.inputs[*i].text.trim()), format!("the spi calculus binds a variable only by an input, a `case` (decryption with a key bound before) or a `let` (a tuple), and {stuck}"));
                return None;
            };
            let (var, p, i) = work.remove(at);
            let parts = |items: &[Term],
                         bound: &mut HashSet<String>,
                         work: &mut Vec<(String, Term, usize)>,
                         taken: &mut HashSet<String>|
             -> Vec<String> {
                items
                    .iter()
                    .map(|item| match &item.kind {
                        TermKind::Wildcard => "_".to_string(),
                        TermKind::Ident(v) if !self.names.contains(v) && !bound.contains(v) => {
                            bound.insert(v.clone());
                            v.clone()
                        }
                        _ => {
                            let v = fresh_var(taken);
                            work.push((v.clone(), item.clone(), i));
                            v
                        }
                    })
                    .collect()
            };
            match &p.kind {
                TermKind::Enc(fields, key) if !self.all_bound(&p, &bound) => {
                    let fields = parts(fields, &mut bound, &mut work, &mut taken);
                    steps.push(format!(
                        "case {var} of {{{}}}{} in",
                        fields.join(", "),
                        operand(key)
                    ));
                }
                TermKind::Tuple(items) if !self.all_bound(&p, &bound) => {
                    let items = parts(items, &mut bound, &mut work, &mut taken);
                    steps.push(format!("let ({}) = {var} in", items.join(", ")));
                }
                _ => steps.push(format!("[{var} is {}]", show(&p))),
            }
        }
        for c in &checks {
            steps.push(format!("[{}]", show_check(c)));
        }
        for o in &outputs {
            steps.push(format!("{OUT}<{}>", show(o)));
        }
        if self.diags.len() > before {
            return None;
        }
        let head = format!("{name} = !c{name}({}).", binders.join(", "));
        let steps: Vec<String> = steps
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let more = i + 1 < steps.len() && s.starts_with(OUT);
                if more {
                    format!("{s}.")
                } else {
                    s.clone()
                }
            })
            .collect();
        // One line when it fits, else one step a line.
        let one_line = format!("{head} {}", steps.join(" "));
        let mut text = if one_line.chars().count() <= 78 {
            one_line
        } else {
            format!("{head}\n    {}", steps.join("\n    "))
        };
        text.push('\n');
        Some(text)
    }

    /// Whether a pattern can be written now: a term whose variables are
    /// all bound, or an encryption whose key's are, or a tuple.
    fn ready(&self, p: &Term, bound: &HashSet<String>) -> bool {
        match &p.kind {
            TermKind::Enc(_, key) => self.all_bound(key, bound),
            TermKind::Tuple(_) => true,
            _ => self.all_bound(p, bound),
        }
    }

    /// Whether every identifier of `t` is a name or a bound variable, and
    /// it has no `_`.
    fn all_bound(&self, t: &Term, bound: &HashSet<String>) -> bool {
        let mut ok = true;
        each_ident(t, &mut |s, _| {
            ok &= self.names.contains(s) || bound.contains(s)
        });
        ok && !has_wildcard(t)
    }

    /// Why a pattern cannot be written: the variables it would bind where
    /// the spi calculus binds nothing.
    fn unbound(&self, p: &Term, bound: &HashSet<String>) -> String {
        let mut vars: Vec<String> = Vec::new();
        each_ident(p, &mut |s, _| {
            if !self.names.contains(s) && !bound.contains(s) && !vars.iter().any(|v| v == s) {
                vars.push(s.to_string());
            }
        });
        let where_ = match &p.kind {
            TermKind::Enc(..) => "the key of an encryption (a decryption needs the key first)",
            TermKind::Xor(_) => "an XOR",
            TermKind::App(..) => "a constructor's arguments",
            _ => "this pattern",
        };
        if vars.is_empty() {
            return format!("`_` stands inside {where_}");
        }
        let shown: Vec<String> = vars.iter().map(|v| format!("`{v}`")).collect();
        format!("{} would be bound inside {where_}", shown.join(", "))
    }
}

/// A string as the spi notation writes it.
fn string(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// A label: bare when it is an identifier, else a string.
fn label_text(s: &str) -> String {
    if syntax::is_identifier(s) && !KEYWORDS.contains(&s) && !DECLARATIONS.contains(&s) && s != "_"
    {
        s.to_string()
    } else {
        string(s)
    }
}

/// Calls `f` on every identifier of `t` (names and variables, not
/// constructors), with its offset in the term string.
fn each_ident<'t>(t: &'t Term, f: &mut dyn FnMut(&'t str, usize)) {
    match &t.kind {
        TermKind::Ident(s) => f(s, t.offset),
        TermKind::Wildcard | TermKind::Zero => {}
        TermKind::App(_, items) | TermKind::Tuple(items) | TermKind::Xor(items) => {
            items.iter().for_each(|i| each_ident(i, f))
        }
        TermKind::Enc(fields, key) => {
            fields.iter().for_each(|i| each_ident(i, f));
            each_ident(key, f);
        }
        TermKind::Record(fields) => fields.iter().for_each(|r| each_ident(&r.value, f)),
    }
}

fn has_wildcard(t: &Term) -> bool {
    match &t.kind {
        TermKind::Wildcard => true,
        TermKind::Ident(_) | TermKind::Zero => false,
        TermKind::App(_, items) | TermKind::Tuple(items) | TermKind::Xor(items) => {
            items.iter().any(has_wildcard)
        }
        TermKind::Enc(fields, key) => fields.iter().any(has_wildcard) || has_wildcard(key),
        TermKind::Record(fields) => fields.iter().any(|r| has_wildcard(&r.value)),
    }
}

/// A term as the spi notation (and the YAML term strings) write it.
pub fn show(t: &Term) -> String {
    match &t.kind {
        TermKind::Ident(s) => s.clone(),
        TermKind::Wildcard => "_".to_string(),
        TermKind::Zero => "0".to_string(),
        TermKind::App(f, args) => format!("{f}({})", list(args)),
        TermKind::Tuple(items) => format!("({})", list(items)),
        TermKind::Enc(fields, key) => format!("{{{}}}{}", list(fields), operand(key)),
        TermKind::Xor(ops) => ops.iter().map(operand).collect::<Vec<_>>().join(" xor "),
        TermKind::Record(fields) => {
            let shown: Vec<String> = fields
                .iter()
                .map(|r| format!("{}: {}", r.name, show(&r.value)))
                .collect();
            format!("{{{}}}", shown.join(", "))
        }
    }
}

fn list(items: &[Term]) -> String {
    items.iter().map(show).collect::<Vec<_>>().join(", ")
}

/// A term where an operand stands: an XOR in parentheses.
fn operand(t: &Term) -> String {
    match t.kind {
        TermKind::Xor(_) => format!("({})", show(t)),
        _ => show(t),
    }
}

fn show_check(c: &syntax::Check) -> String {
    match &c.kind {
        CheckKind::Equal(a, b) => format!("{} == {}", show(a), show(b)),
        CheckKind::NotEqual(a, b) => format!("{} != {}", show(a), show(b)),
        CheckKind::OneOf(t, items) => format!("{} in [{}]", show(t), list(items)),
    }
}

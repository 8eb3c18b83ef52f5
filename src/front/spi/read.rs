//! The syntax tree read as an API: the [`Spec`] the YAML reader would give
//! for the same API, so that lowering, and everything after it, is shared.
//!
//! * `public`, `tags`, `attacker` declare names of those kinds;
//! * the system's restrictions `(new K)` are the `secret` names; its
//!   outputs `c<M>` are the attacker's initial knowledge; its other
//!   components name the API functions (`F` or `!F`);
//! * each definition is a function ([`super::function`]), in file order;
//!   a name a function restricts, `(new s)`, is a `fresh` name;
//! * `secret` lists the secrets (default: every restricted name), `expect`
//!   the expectations, `name` the API's name.
//!
//! Names are resolved here, with spi's scoping: an identifier a process
//! does not bind must be declared, or it is an error (and it is then
//! declared for lowering's sake, so that nothing else is reported about
//! it).

use std::collections::{BTreeMap, HashMap, HashSet};

use super::ast::{ExpectEntry, Ident, Item, ProcKind, Process, SecretEntry, Term};
use super::{function, print};
use crate::front::diagnostic::{Diagnostic, Span};
use crate::front::spec::{self, ExpectDecl, NameGroup, SecretDecl, Spec, SuggestBudget};
use crate::front::term::NameKind;
use crate::front::yaml::{Key, Scalar};

/// The names a spi file declares, and the mistakes found so far.
pub struct Scope<'a> {
    file: &'a str,
    diags: Vec<Diagnostic>,
    /// Every declared name and where: declarations, restrictions of the
    /// system, restrictions in functions (fresh names). Ordered, so that
    /// suggestions (the first of equally close names) are the same on
    /// every run.
    declared: BTreeMap<String, Span>,
    /// The system's restricted names.
    restricted: HashSet<String>,
    /// Names used without a declaration, in order (reported unless
    /// `lenient`).
    undeclared: Vec<Ident>,
    /// True when the system is missing or broken: its restrictions are
    /// unknown, so an undeclared name is not reported.
    lenient: bool,
    budget: SuggestBudget,
}

impl Scope<'_> {
    /// Reports a mistake.
    pub fn error(&mut self, span: Span, message: String, help: impl Into<String>) {
        self.diags
            .push(Diagnostic::error(self.file, span, message).with_help(help));
    }

    /// Whether `name` is declared (of any kind).
    pub fn is_declared(&self, name: &str) -> bool {
        self.declared.contains_key(name)
    }

    /// A name used where nothing binds it: an error unless declared. In a
    /// function, `function` names it.
    pub fn name_used(&mut self, name: &str, span: Span, function: Option<&str>) {
        if self.is_declared(name) {
            return;
        }
        if self.lenient {
            if !self.undeclared.iter().any(|i| i.text == name) {
                self.undeclared.push(Ident {
                    text: name.to_string(),
                    span,
                });
            }
            return;
        }
        let suggestion =
            spec::suggest_within(name, self.declared.keys().map(String::as_str), &self.budget)
                .map(|s| format!("did you mean `{s}`? "))
                .unwrap_or_default();
        let message = match function {
            Some(f) => format!("unknown name `{name}`: `{f}` does not bind it before this point, and it is not declared"),
            None => format!("unknown name `{name}`"),
        };
        let help = match function {
            Some(_) => format!("{suggestion}bind it earlier (in the input, a `case` or a `let`), or declare it: `public {name}`, or `(new {name})` in the system"),
            None => format!("{suggestion}declare it: `public {name}` (or `tags`, `attacker`), or restrict it in the system, `(new {name})`"),
        };
        self.error(span, message, help);
        if !self.undeclared.iter().any(|i| i.text == name) {
            self.undeclared.push(Ident {
                text: name.to_string(),
                span,
            });
        }
    }

    /// A channel a process uses: a restricted one hides the process from
    /// the attacker, and has no API reading.
    pub fn channel(&mut self, chan: &Ident, verb: &str) {
        if self.restricted.contains(&chan.text) {
            self.error(
                chan.span,
                format!("this process {verb} `{}`, a channel the system restricts", chan.text),
                "the attacker is the host: it calls the API on public channels and reads every answer; use a channel that is not restricted",
            );
        }
    }
}

/// A label or name as a scalar with exact columns (strings: the whole
/// string).
fn scalar(i: &Ident) -> Scalar {
    let mut s = print::ident(i);
    if s.text.chars().count() != i.span.len as usize {
        s.content = None;
    }
    s
}

/// Reads the items of a spi file into a spec; returns it with every
/// mistake found.
pub fn spec(file: &str, items: &[Item], start: Span) -> (Spec, Vec<Diagnostic>) {
    let mut scope = Scope {
        file,
        diags: Vec::new(),
        declared: BTreeMap::new(),
        restricted: HashSet::new(),
        undeclared: Vec::new(),
        lenient: false,
        budget: SuggestBudget::new(),
    };
    let mut spec = Spec {
        start,
        empty: items.is_empty(),
        ..Spec::default()
    };
    let broken = |word: &str| {
        items
            .iter()
            .any(|i| matches!(i, Item::Broken(w) if w.text == word))
    };
    let systems: Vec<(Span, &Process)> = items
        .iter()
        .filter_map(|i| match i {
            Item::System(at, p) => Some((*at, p)),
            _ => None,
        })
        .collect();
    for (at, _) in systems.iter().skip(1) {
        let line = systems[0].0.line;
        scope.error(
            *at,
            format!("a second `system` (the first is at line {line})"),
            "a file describes one system: compose everything in one `system = ...`",
        );
    }
    let defs: Vec<(&Ident, &Process)> = items
        .iter()
        .filter_map(|i| match i {
            Item::Def(n, p) => Some((n, p)),
            _ => None,
        })
        .collect();

    // Declarations, then the system's restrictions, then fresh names.
    for item in items {
        match item {
            Item::Names(kind, keyword, names) => {
                for n in names {
                    scope.declared.entry(n.text.clone()).or_insert(n.span);
                }
                spec.names_key.get_or_insert(keyword.span);
                spec.names.push(NameGroup {
                    kind: *kind,
                    key: Key {
                        text: keyword.text.clone(),
                        span: keyword.span,
                    },
                    names: names.iter().map(print::ident).collect(),
                });
            }
            Item::Name(n) => {
                if spec.name.is_some() {
                    scope.error(
                        n.span,
                        "the API is named twice".to_string(),
                        "keep one `name`",
                    );
                }
                spec.name = Some(scalar(n));
            }
            _ => {}
        }
    }
    let system = systems.first().map(|(_, p)| *p);
    scope.lenient = system.is_none() && (!defs.is_empty() || broken("system"));
    let mut restricted = Vec::new();
    let mut components = Vec::new();
    if let Some(p) = system {
        let mut p = p;
        while let ProcKind::New(names, next) = &p.kind {
            restricted.extend(names.iter().cloned());
            p = next;
        }
        flatten(p, &mut components);
    }
    for n in &restricted {
        if let Some(first) = scope.declared.get(&n.text) {
            let first = function::at_text(*first);
            scope.error(
                n.span,
                format!("`{}` is declared at {first} and restricted here", n.text),
                "a restricted name is secret, a declared one public: keep one",
            );
            continue;
        }
        scope.declared.insert(n.text.clone(), n.span);
        scope.restricted.insert(n.text.clone());
    }
    if let Some(first) = restricted.first() {
        spec.names_key.get_or_insert(first.span);
        spec.names.push(NameGroup {
            kind: NameKind::Secret,
            key: Key {
                text: "secret".to_string(),
                span: first.span,
            },
            names: restricted
                .iter()
                .filter(|n| scope.restricted.contains(&n.text))
                .map(print::ident)
                .collect(),
        });
    }
    let mut fresh: Vec<Ident> = Vec::new();
    for (_, body) in &defs {
        restrictions(body, &mut fresh);
    }
    fresh.retain(|n| !restricted.iter().any(|r| r.text == n.text));
    let mut seen = HashSet::new();
    fresh.retain(|n| seen.insert(n.text.clone()));
    for n in &fresh {
        scope.declared.entry(n.text.clone()).or_insert(n.span);
    }
    if let Some(first) = fresh.first() {
        spec.names.push(NameGroup {
            kind: NameKind::Fresh,
            key: Key {
                text: "fresh".to_string(),
                span: first.span,
            },
            names: fresh.iter().map(print::ident).collect(),
        });
    }
    if !spec.names.iter().any(|g| g.kind == NameKind::Attacker) {
        scope
            .declared
            .entry("attacker".to_string())
            .or_insert(Span::new(1, 1, 1));
    }

    // The system's components: the knowledge, and the functions it runs.
    let mut runs: HashMap<String, (Span, bool)> = HashMap::new();
    for c in &components {
        component(&mut scope, c, &mut spec.knowledge, &mut runs);
    }

    // The definitions, as functions.
    let mut defined: BTreeMap<&str, Span> = BTreeMap::new();
    for (name, body) in &defs {
        if let Some(first) = defined.get(name.text.as_str()) {
            let first = function::at_text(*first);
            scope.error(
                name.span,
                format!("`{}` is defined twice (first at {first})", name.text),
                "give each process its own name",
            );
            continue;
        }
        defined.insert(&name.text, name.span);
        let replicated = matches!(body.kind, ProcKind::Repl(_));
        match runs.get(&name.text) {
            None if system.is_some() => {
                scope.error(
                    name.span,
                    format!("`{}` is defined but not part of the system", name.text),
                    format!(
                        "put it in the system, `system = ... | {}`, or remove it",
                        name.text
                    ),
                );
            }
            Some((_, false)) | None if !replicated && !broken("system") => {
                scope.error(name.span, format!("`{}` is not replicated: it would answer one call only", name.text), format!("the attacker may call an API function any number of times: write `{0} = !c(x). ...`, or `!{0}` in the system", name.text));
            }
            _ => {}
        }
        if let Some(rule) = function::read(&mut scope, name, body) {
            spec.functions.push(rule);
        }
    }
    let mut refs: Vec<(&String, &(Span, bool))> = runs.iter().collect();
    refs.sort_by_key(|(_, (at, _))| *at);
    for (name, (at, _)) in refs {
        if !defined.contains_key(name.as_str()) && !broken(name) {
            let names: Vec<&str> = defined.keys().copied().collect();
            let help = match spec::suggest(name, names.iter().copied()) {
                Some(s) => format!("did you mean `{s}`? the system runs defined processes"),
                None => format!("define it: `{name} = !c(x). ...`"),
            };
            scope.error(*at, format!("`{name}` is not defined"), help);
        }
    }
    if system.is_none() && !defs.is_empty() && !broken("system") {
        let (name, _) = defs[0];
        scope.error(name.span, "no `system`: the API's functions are never run".to_string(), format!("add the system, e.g. `system = (new K) (cuser<M> | {0})`: its restrictions are the secret names, its outputs what the attacker holds at the start, and it runs the functions", name.text));
    }

    // Secrets and expectations.
    let secret_items: Vec<(&Span, &Vec<SecretEntry>)> = items
        .iter()
        .filter_map(|i| match i {
            Item::Secrets(at, e) => Some((at, e)),
            _ => None,
        })
        .collect();
    if let Some((at, _)) = secret_items.first() {
        spec.secrets_key = Some(**at);
        let mut list = Vec::new();
        for (_, entries) in &secret_items {
            for e in entries.iter() {
                each_name(&mut scope, &e.term);
                list.push(SecretDecl {
                    term: print::term(&e.term, e.term.span),
                    label: e.label.as_ref().map(scalar),
                    span: e.label.as_ref().map_or(e.term.span, |l| l.span),
                });
            }
        }
        spec.secrets = (!list.is_empty() || !broken("secret")).then_some(list);
    }
    if !broken("secret") {
        for item in items {
            if let Item::Expect(_, entries) = item {
                for e in entries {
                    expectation(&mut scope, e, &mut spec.expect);
                }
            }
        }
    }
    if !scope.undeclared.is_empty() {
        // Already reported (or, without a system, most likely restricted
        // there): declared so that lowering says nothing more.
        let (kind, word) = if scope.lenient {
            (NameKind::Secret, "secret")
        } else {
            (NameKind::Public, "public")
        };
        spec.names.push(NameGroup {
            kind,
            key: Key {
                text: word.to_string(),
                span: scope.undeclared[0].span,
            },
            names: scope.undeclared.iter().map(print::ident).collect(),
        });
    }
    (spec, scope.diags)
}

/// Checks the names of a ground term (knowledge, secrets).
fn each_name(scope: &mut Scope, t: &Term) {
    let mut used = Vec::new();
    function::each_name(t, &mut |n, span| used.push((n.to_string(), span)));
    for (n, span) in used {
        scope.name_used(&n, span, None);
    }
}

/// The parts of a parallel composition.
fn flatten<'p>(p: &'p Process, out: &mut Vec<&'p Process>) {
    match &p.kind {
        ProcKind::Par(parts) => parts.iter().for_each(|q| flatten(q, out)),
        ProcKind::Nil => {}
        _ => out.push(p),
    }
}

/// Every name a process restricts (a function's fresh names).
fn restrictions(p: &Process, out: &mut Vec<Ident>) {
    let mut p = p;
    loop {
        let next = match &p.kind {
            ProcKind::New(names, next) => {
                out.extend(names.iter().cloned());
                next
            }
            ProcKind::Repl(next)
            | ProcKind::Input(_, _, next)
            | ProcKind::Case(_, _, _, _, next)
            | ProcKind::Let(_, _, _, next)
            | ProcKind::Match(_, _, next)
            | ProcKind::Check(_, _, next)
            | ProcKind::Output(_, _, Some(next)) => next,
            ProcKind::Par(parts) => {
                parts.iter().for_each(|q| restrictions(q, out));
                return;
            }
            ProcKind::Nil | ProcKind::Ref(_) | ProcKind::Output(_, _, None) => return,
        };
        p = next;
    }
}

/// One component of the system: outputs (knowledge), or a function run.
fn component(
    scope: &mut Scope,
    c: &Process,
    knowledge: &mut Vec<Scalar>,
    runs: &mut HashMap<String, (Span, bool)>,
) {
    let mut p = c;
    let mut replicated = false;
    while let ProcKind::Repl(inner) = &p.kind {
        replicated = true;
        p = inner;
    }
    match &p.kind {
        ProcKind::Ref(name) => {
            if let Some((first, _)) = runs.get(&name.text) {
                let first = function::at_text(*first);
                scope.error(
                    name.span,
                    format!("`{}` is in the system twice (first at {first})", name.text),
                    "a replicated process beside itself is the same process: write it once",
                );
                return;
            }
            runs.insert(name.text.clone(), (name.span, replicated));
        }
        ProcKind::Output(..) => {
            let mut q = p;
            loop {
                let ProcKind::Output(chan, message, next) = &q.kind else {
                    return system_shape(scope, q);
                };
                scope.channel(chan, "sends on");
                each_name(scope, message);
                knowledge.push(print::term(message, message.span));
                match next.as_deref() {
                    None => return,
                    Some(Process {
                        kind: ProcKind::Nil,
                        ..
                    }) => return,
                    Some(n) => q = n,
                }
            }
        }
        ProcKind::Nil => {}
        ProcKind::Par(_) if replicated => {
            let mut parts = Vec::new();
            flatten(p, &mut parts);
            for q in parts {
                component(scope, q, knowledge, runs);
            }
        }
        _ if replicated && matches!(p.kind, ProcKind::Input(..) | ProcKind::New(..)) => {
            scope.error(
                c.span,
                "an API function written inside the system has no name".to_string(),
                "define it, `F = !c(x). ...`, and put `F` in the system",
            );
        }
        _ => system_shape(scope, p),
    }
}

/// The error for a system component with no reading.
fn system_shape(scope: &mut Scope, p: &Process) {
    let (message, help) = match &p.kind {
        ProcKind::New(..) => (
            "a restriction inside the system's composition",
            "restrict every secret name at the start of the system: `system = (new K1, K2) (...)`; the functions share them",
        ),
        ProcKind::Input(..) => (
            "the system receives: a process that receives is an API function",
            "define it, `F = !c(x). ...`, and put `F` in the system",
        ),
        _ => (
            "the system tests or takes apart a value",
            "the system only restricts names, sends the attacker's initial knowledge `c<M>`, and runs functions; put tests in a function",
        ),
    };
    scope.error(p.span, message.to_string(), help);
}

/// One `expect` entry.
fn expectation(scope: &mut Scope, e: &ExpectEntry, out: &mut Vec<ExpectDecl>) {
    let words: Vec<&str> = e.words.iter().map(String::as_str).collect();
    match spec::expected_words(&words) {
        Some(expected) => out.push(ExpectDecl {
            label: Key {
                text: e.label.text.clone(),
                span: e.label.span,
            },
            expected,
            span: e.span,
        }),
        None => scope.error(e.span, format!("`{}` is not an expectation for `{}`", e.words.join(" "), e.label.text), "write `derivable`, `within 3 calls`, `not derivable`, `proved` or `no stateful attack`"),
    }
}

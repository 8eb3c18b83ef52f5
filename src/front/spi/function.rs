//! One process definition read as an API function.
//!
//! A definition has an API-function reading when, after its replication,
//! it is one sequence: inputs, then `case`, `let`, matches and checks,
//! then outputs, with restrictions `(new n)` anywhere. Its function:
//!
//! * the inputs are the input's variables, in order (several inputs before
//!   the first output are one input of all their variables);
//! * `case y of {x1, ..., xk}N in P` refines the pattern of the variable
//!   `y` to `{x1, ..., xk}N` (the HSM decrypts `y` with `N`, whose
//!   variables are bound before); `let (x1, ..., xk) = y in P` refines it
//!   to the tuple `(x1, ..., xk)`;
//! * a match `[x is M]`, `x` a variable bound and not yet refined,
//!   refines `x` to `M` (so `case y of {t, k}MK in [t is DataKey]` reads as
//!   the pattern `{DataKey, k}MK`, exactly as the YAML writes it); a
//!   match of two terms neither of which is such a variable is the check
//!   `M == N`;
//! * `[a == b]`, `[a != b]`, `[t in [A, B]]` are checks, kept as checks;
//! * `(new n)` makes `n` one of the function's fresh names;
//! * every output `c<M>` is one output.
//!
//! Refining substitutes the pattern for the variable everywhere, so the
//! function's inputs, checks and outputs are what the YAML reader would
//! give for the same function. Shapes with no such reading (an input
//! after an output, a test after an output, a parallel composition or a
//! replication inside a function, a call of another process, a `case` on
//! something that is not a variable) are located errors saying why.

use std::collections::HashMap;

use super::ast::{Binder, Cond, Ident, ProcKind, Process, Term, TermKind};
use super::print;
use super::read::Scope;
use crate::front::diagnostic::Span;
use crate::front::spec::RuleDecl;
use crate::front::syntax;

/// How a variable of the function was bound.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Binding {
    /// By an input, a `case` or a `let`: a pattern variable.
    Var,
    /// By `(new n)`: a fresh name.
    Fresh,
}

/// Reads one definition; `None` when it has no API-function reading
/// (every reason reported).
pub fn read(scope: &mut Scope, name: &Ident, body: &Process) -> Option<RuleDecl> {
    let mut f = Function {
        scope,
        name,
        bound: HashMap::new(),
        subst: HashMap::new(),
        inputs: Vec::new(),
        checks: Vec::new(),
        fresh: Vec::new(),
        outputs: Vec::new(),
        answered: None,
        broken_after_answer: false,
        broken: false,
    };
    let mut p = body;
    while let ProcKind::Repl(inner) = &p.kind {
        p = inner;
    }
    f.walk(p);
    if f.outputs.is_empty() && !f.broken {
        f.error(
            name.span,
            format!("`{}` never answers: it has no output `c<M>`", name.text),
            "an API function returns at least one term: end it with `cuser<M>`",
        );
    }
    let mut applied: Vec<Term> = f.outputs.clone();
    for (c, _) in &f.checks {
        match c {
            Cond::Equal(a, b) | Cond::NotEqual(a, b) => applied.extend([a.clone(), b.clone()]),
            Cond::OneOf(t, items) => {
                applied.push(t.clone());
                applied.extend(items.iter().cloned());
            }
        }
    }
    for t in &applied {
        f.within_size(t, t.span);
    }
    if f.broken {
        return None;
    }
    let inputs = f
        .inputs
        .iter()
        .map(|b| {
            let t = match b {
                Binder::Var(v) => f.apply(&Term {
                    kind: TermKind::Name(v.text.clone()),
                    span: v.span,
                }),
                Binder::Wild(s) => Term {
                    kind: TermKind::Wild,
                    span: *s,
                },
            };
            print::term(&t, b.span())
        })
        .collect();
    let checks = f
        .checks
        .iter()
        .map(|(c, op)| print::check(&f.apply_cond(c), *op))
        .collect();
    let outputs = f
        .outputs
        .iter()
        .map(|t| print::term(&f.apply(t), t.span))
        .collect();
    Some(RuleDecl {
        name: print::ident(name),
        inputs,
        checks,
        fresh: f.fresh.iter().map(print::ident).collect(),
        outputs,
        sets: Vec::new(),
        span: name.span,
        intact: true,
    })
}

struct Function<'s, 'a> {
    scope: &'s mut Scope<'a>,
    name: &'s Ident,
    /// Every identifier the process binds: how, and where.
    bound: HashMap<String, (Binding, Span)>,
    /// Pattern variables refined so far, each to a term in which every
    /// earlier refinement is already substituted.
    subst: HashMap<String, (Term, Span)>,
    inputs: Vec<Binder>,
    checks: Vec<(Cond, Span)>,
    fresh: Vec<Ident>,
    outputs: Vec<Term>,
    /// The first output, once the function has answered.
    answered: Option<Span>,
    /// True once something after the answer was reported (once is enough).
    broken_after_answer: bool,
    broken: bool,
}

impl Function<'_, '_> {
    fn error(&mut self, span: Span, message: String, help: impl Into<String>) {
        self.broken = true;
        self.scope.error(span, message, help);
    }

    /// An error for a construct that comes after the function answered.
    fn after_answer(&mut self, span: Span, what: &str) {
        if self.broken_after_answer {
            return;
        }
        self.broken_after_answer = true;
        let line = self.answered.map_or(0, |s| s.line);
        self.error(
            span,
            format!("{what} after the function has answered (its first output is at line {line})"),
            "an API function takes all its arguments, tests them, then answers; a process that goes on after an output keeps state between calls, which API functions do not: split it into two functions",
        );
    }

    fn walk(&mut self, mut p: &Process) {
        loop {
            match &p.kind {
                ProcKind::Nil => return,
                ProcKind::Repl(_) => {
                    return self.error(
                        p.span,
                        "a replication inside a function".to_string(),
                        "replicate the whole function once: `F = !c(x). ...`",
                    )
                }
                ProcKind::Par(_) => {
                    return self.error(
                        p.span,
                        "a parallel composition inside a function".to_string(),
                        "an API function is one sequence of prefixes; answer with several outputs one after another, `c<M>. c<N>`, and compose functions in the system",
                    )
                }
                ProcKind::Ref(r) => {
                    return self.error(
                        r.span,
                        format!("`{}` runs another process inside `{}`", r.text, self.name.text),
                        "an API function cannot call another process; put both in the system, `system = ... | F | G`",
                    )
                }
                ProcKind::New(names, next) => {
                    for n in names {
                        self.bind_fresh(n);
                    }
                    p = next;
                }
                ProcKind::Input(chan, binders, next) => {
                    if self.answered.is_some() {
                        self.after_answer(chan.span, &format!("`{}(...)` receives", chan.text));
                    }
                    self.scope.channel(chan, "receives on");
                    for b in binders {
                        if let Binder::Var(v) = b {
                            self.bind_var(v);
                        }
                        self.inputs.push(b.clone());
                    }
                    p = next;
                }
                ProcKind::Output(chan, message, next) => {
                    self.scope.channel(chan, "answers on");
                    self.resolve(message);
                    self.answered.get_or_insert(p.span);
                    self.outputs.push(message.clone());
                    match next {
                        Some(next) => p = next,
                        None => return,
                    }
                }
                ProcKind::Case(subject, fields, key, at, next) => {
                    if self.answered.is_some() {
                        self.after_answer(p.span, "a `case`");
                    }
                    self.resolve(key);
                    let pattern = Term {
                        kind: TermKind::Enc(
                            fields.iter().map(binder_term).collect(),
                            Box::new(key.clone()),
                        ),
                        span: *at,
                    };
                    self.take_apart(subject, "case", pattern, fields);
                    p = next;
                }
                ProcKind::Let(binders, at, subject, next) => {
                    if self.answered.is_some() {
                        self.after_answer(p.span, "a `let`");
                    }
                    if binders.len() < 2 {
                        self.error(
                            p.span,
                            "a `let` splits a tuple of at least two parts".to_string(),
                            "write `let (x, y) = M in P`; to name a value, match it: `[x is M]`",
                        );
                    }
                    let pattern = Term {
                        kind: TermKind::Tuple(binders.iter().map(binder_term).collect()),
                        span: *at,
                    };
                    self.take_apart(subject, "let", pattern, binders);
                    p = next;
                }
                ProcKind::Match(left, right, next) => {
                    if self.answered.is_some() {
                        self.after_answer(p.span, "a match");
                    }
                    self.resolve(left);
                    self.resolve(right);
                    let (l, r) = (self.apply(left), self.apply(right));
                    if let Some(v) = self.open_var(&l).filter(|v| !mentions(&r, v)) {
                        self.refine(&v, r, left.span);
                    } else if let Some(v) = self.open_var(&r).filter(|v| !mentions(&l, v)) {
                        self.refine(&v, l, right.span);
                    } else {
                        self.checks.push((Cond::Equal(left.clone(), right.clone()), left.span));
                    }
                    p = next;
                }
                ProcKind::Check(cond, op, next) => {
                    if self.answered.is_some() {
                        self.after_answer(p.span, "a check");
                    }
                    match cond {
                        Cond::Equal(a, b) | Cond::NotEqual(a, b) => {
                            self.resolve(a);
                            self.resolve(b);
                        }
                        Cond::OneOf(t, items) => {
                            self.resolve(t);
                            for i in items {
                                self.resolve(i);
                            }
                        }
                    }
                    self.checks.push((cond.clone(), *op));
                    p = next;
                }
            }
        }
    }

    /// `case subject of ...` / `let (...) = subject`: binds the binders and
    /// refines the subject, which must be a variable not yet refined.
    fn take_apart(&mut self, subject: &Term, what: &str, pattern: Term, binders: &[Binder]) {
        self.resolve(subject);
        let var = match &subject.kind {
            TermKind::Name(v) => Some(v.clone()),
            _ => None,
        };
        for b in binders {
            if let Binder::Var(v) = b {
                self.bind_var(v);
            }
        }
        let Some(v) = var else {
            return self.error(
                subject.span,
                format!("a `{what}` takes apart a variable, and this is a compound term"),
                format!("`{what}` works on a variable bound by the input (or by an earlier `case` or `let`): bind the value first"),
            );
        };
        match self.bound.get(&v).copied() {
            Some((Binding::Var, _)) => {}
            _ => {
                return self.error(
                    subject.span,
                    format!("`{v}` is not a variable of this function, and a `{what}` takes apart a variable"),
                    "take apart what the function received: a variable of its input, or of an earlier `case` or `let`",
                )
            }
        }
        if let Some((_, at)) = self.subst.get(&v) {
            let at = at_text(*at);
            return self.error(
                subject.span,
                format!("`{v}` is already taken apart or matched (at {at})"),
                "each variable has one pattern: take apart the parts the first `case` or `let` bound",
            );
        }
        self.refine(&v, pattern, subject.span);
    }

    /// The size `t` has once refinements are substituted, in symbols.
    fn applied_size(&self, t: &Term) -> usize {
        let mut size = 0usize;
        each_node(t, &mut |n| {
            size = size.saturating_add(match &n.kind {
                TermKind::Name(v) => self.subst.get(v).map_or(1, |(value, _)| symbols(value)),
                _ => 1,
            })
        });
        size
    }

    /// Whether `t`, refinements substituted, stays within the symbols a
    /// term may have; reports it at `at` if not. (Matches such as `[x is
    /// (y, y)] [y is (z, z)] ...` double a pattern at each step.)
    fn within_size(&mut self, t: &Term, at: Span) -> bool {
        if self.applied_size(t) <= syntax::MAX_SYMBOLS {
            return true;
        }
        self.error(
            at,
            format!("this pattern grows past {} symbols once its variables are refined", syntax::MAX_SYMBOLS),
            "a term holds at most 10,000 symbols (README: Input limits); match fewer copies of each variable",
        );
        false
    }

    /// `v` is now `t` everywhere.
    fn refine(&mut self, v: &str, t: Term, at: Span) {
        if !self.within_size(&t, at) {
            return;
        }
        let t = self.apply(&t);
        let grown = symbols(&t).saturating_sub(1);
        let too_large = self.subst.values().any(|(value, _)| {
            let mut uses = 0usize;
            each_node(value, &mut |n| {
                uses += usize::from(matches!(&n.kind, TermKind::Name(x) if x == v))
            });
            symbols(value).saturating_add(uses.saturating_mul(grown)) > syntax::MAX_SYMBOLS
        });
        if too_large {
            self.error(
                at,
                format!("a pattern grows past {} symbols once `{v}` is refined here", syntax::MAX_SYMBOLS),
                "a term holds at most 10,000 symbols (README: Input limits); match fewer copies of each variable",
            );
            return;
        }
        for (value, _) in self.subst.values_mut() {
            *value = substitute(value, v, &t);
        }
        self.subst.insert(v.to_string(), (t, at));
    }

    /// The variable `t` is, when it is a pattern variable not yet refined.
    fn open_var(&self, t: &Term) -> Option<String> {
        let TermKind::Name(v) = &t.kind else {
            return None;
        };
        let var = matches!(self.bound.get(v), Some((Binding::Var, _)));
        (var && !self.subst.contains_key(v)).then(|| v.clone())
    }

    /// `t` with every refinement substituted.
    fn apply(&self, t: &Term) -> Term {
        map_names(t, &|name, _| {
            self.subst.get(name).map(|(value, _)| value.clone())
        })
    }

    fn apply_cond(&self, c: &Cond) -> Cond {
        match c {
            Cond::Equal(a, b) => Cond::Equal(self.apply(a), self.apply(b)),
            Cond::NotEqual(a, b) => Cond::NotEqual(self.apply(a), self.apply(b)),
            Cond::OneOf(t, items) => {
                Cond::OneOf(self.apply(t), items.iter().map(|i| self.apply(i)).collect())
            }
        }
    }

    /// Checks that every name in `t` is bound here or declared.
    fn resolve(&mut self, t: &Term) {
        let bound = &self.bound;
        let mut unknown = Vec::new();
        each_name(t, &mut |name, span| {
            if !bound.contains_key(name) {
                unknown.push((name.to_string(), span));
            }
        });
        for (name, span) in unknown {
            self.scope.name_used(&name, span, Some(&self.name.text));
        }
    }

    fn binding_clash(&mut self, v: &Ident) -> bool {
        if let Some((_, first)) = self.bound.get(&v.text) {
            let first = at_text(*first);
            self.error(
                v.span,
                format!(
                    "`{}` is bound twice in `{}` (first at {first})",
                    v.text, self.name.text
                ),
                "a function has one scope: give the second variable another name",
            );
            return true;
        }
        false
    }

    fn bind_var(&mut self, v: &Ident) {
        if self.binding_clash(v) {
            return;
        }
        if self.scope.is_declared(&v.text) {
            self.error(
                v.span,
                format!("`{}` is a declared name, and a variable bound here would hide it", v.text),
                format!("give the variable another name; to require exactly `{0}`, bind a variable and match it: `[x is {0}]`", v.text),
            );
            return;
        }
        self.bound.insert(v.text.clone(), (Binding::Var, v.span));
    }

    fn bind_fresh(&mut self, n: &Ident) {
        if self.binding_clash(n) {
            return;
        }
        self.bound.insert(n.text.clone(), (Binding::Fresh, n.span));
        self.fresh.push(n.clone());
    }
}

/// A place in the file, in words: "line 3, column 7".
pub fn at_text(s: Span) -> String {
    format!("line {}, column {}", s.line, s.col)
}

/// The term a binder stands for in a pattern.
fn binder_term(b: &Binder) -> Term {
    match b {
        Binder::Var(v) => Term {
            kind: TermKind::Name(v.text.clone()),
            span: v.span,
        },
        Binder::Wild(s) => Term {
            kind: TermKind::Wild,
            span: *s,
        },
    }
}

/// Calls `f` on every name of `t` (not on constructors).
pub fn each_name(t: &Term, f: &mut dyn FnMut(&str, Span)) {
    match &t.kind {
        TermKind::Name(s) => f(s, t.span),
        TermKind::Zero | TermKind::Wild => {}
        TermKind::App(_, items) | TermKind::Tuple(items) | TermKind::Xor(items) => {
            items.iter().for_each(|i| each_name(i, f))
        }
        TermKind::Enc(fields, key) => {
            fields.iter().for_each(|i| each_name(i, f));
            each_name(key, f);
        }
    }
}

/// Calls `f` on every node of `t`.
fn each_node(t: &Term, f: &mut dyn FnMut(&Term)) {
    f(t);
    match &t.kind {
        TermKind::Name(_) | TermKind::Zero | TermKind::Wild => {}
        TermKind::App(_, items) | TermKind::Tuple(items) | TermKind::Xor(items) => {
            items.iter().for_each(|i| each_node(i, f))
        }
        TermKind::Enc(fields, key) => {
            fields.iter().for_each(|i| each_node(i, f));
            each_node(key, f);
        }
    }
}

/// The symbols of a term (its nodes).
fn symbols(t: &Term) -> usize {
    let mut n = 0usize;
    each_node(t, &mut |_| n += 1);
    n
}

/// Whether the name `v` occurs in `t`.
fn mentions(t: &Term, v: &str) -> bool {
    let mut found = false;
    each_name(t, &mut |n, _| found |= n == v);
    found
}

/// `t` with the name `v` replaced by `by`.
fn substitute(t: &Term, v: &str, by: &Term) -> Term {
    map_names(t, &|name, _| (name == v).then(|| by.clone()))
}

/// `t` with each name for which `f` gives a term replaced by it.
fn map_names(t: &Term, f: &dyn Fn(&str, Span) -> Option<Term>) -> Term {
    let kind = match &t.kind {
        TermKind::Name(s) => return f(s, t.span).unwrap_or_else(|| t.clone()),
        TermKind::Zero | TermKind::Wild => return t.clone(),
        TermKind::App(c, items) => {
            TermKind::App(c.clone(), items.iter().map(|i| map_names(i, f)).collect())
        }
        TermKind::Tuple(items) => TermKind::Tuple(items.iter().map(|i| map_names(i, f)).collect()),
        TermKind::Xor(items) => TermKind::Xor(items.iter().map(|i| map_names(i, f)).collect()),
        TermKind::Enc(fields, key) => TermKind::Enc(
            fields.iter().map(|i| map_names(i, f)).collect(),
            Box::new(map_names(key, f)),
        ),
    };
    Term { kind, span: t.span }
}

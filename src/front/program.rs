//! The checked program: what lowering produces and the engine consumes.
//!
//! All names are resolved and interned; every pattern is a term in the
//! program's [`TermStore`] whose variables are numbered per rule. The engine
//! never sees a string except to print one.

use crate::front::diagnostic::Span;
use crate::front::term::{CtorId, NameId, TermId, TermStore};

/// Index of a rule in [`Program::rules`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RuleId(pub u32);

/// Where a rule comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RuleKind {
    /// A function of the HSM's API: each firing is one call.
    Call,
    /// A deduction of the Dolev-Yao attacker (from `rules/` or the API
    /// file): taking a term apart. Free of charge in the attack length.
    Deduction,
}

/// A condition between bound values, checked by the HSM before it answers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Check {
    /// Both sides equal (modulo XOR).
    Equal(TermId, TermId),
    /// The sides differ.
    NotEqual(TermId, TermId),
    /// The left side equals one of the listed terms.
    OneOf(TermId, Vec<TermId>),
}

/// A Horn rule: when every input pattern matches a term the attacker can
/// supply and every check holds, the attacker learns every output.
///
/// Input patterns may contain variables (`Term::Var`, numbered
/// `0..var_names.len()`); outputs only contain variables bound by inputs.
/// Fresh values are already replaced by their abstract names in outputs.
#[derive(Clone, Debug)]
pub struct Rule {
    /// The function's or deduction's name.
    pub name: String,
    /// Call or deduction.
    pub kind: RuleKind,
    /// Input patterns, in the order the API file lists them.
    pub inputs: Vec<TermId>,
    /// Checks on bound variables.
    pub checks: Vec<Check>,
    /// Output terms (patterns over the input variables).
    pub outputs: Vec<TermId>,
    /// Names of the variables, indexed by `Term::Var` number; anonymous
    /// wildcards are named `_1`, `_2`, ...
    pub var_names: Vec<String>,
    /// Fresh names this rule generates (one per call site).
    pub fresh: Vec<NameId>,
    /// Where the rule is defined.
    pub span: Span,
}

/// A term whose derivability is the question.
#[derive(Clone, Debug)]
pub struct Secret {
    /// How the report names it: its label, or its term as written.
    pub label: String,
    /// The ground term.
    pub term: TermId,
    /// Where it is listed (or where the name is declared, when implied).
    pub span: Span,
}

/// A checked API: symbols and patterns in one store, rules, the attacker's
/// initial knowledge and the secrets.
#[derive(Clone, Debug)]
pub struct Program {
    /// The API's name (from the file, else the file stem).
    pub name: String,
    /// The file it was read from.
    pub file: String,
    /// Every name, constructor and pattern.
    pub store: TermStore,
    /// API functions followed by attacker deductions.
    pub rules: Vec<Rule>,
    /// Ground terms the attacker knows at the start: the initial knowledge,
    /// every public name and tag, the attacker's own names, and `0` when the
    /// API uses XOR.
    pub knowledge: Vec<TermId>,
    /// Secrets, in the order listed.
    pub secrets: Vec<Secret>,
    /// True when some term or pattern uses XOR.
    pub uses_xor: bool,
    /// The token's objects with named attributes, when the file declares
    /// `attributes` (replay then tracks each object's state).
    pub objects: Option<ObjectModel>,
}

/// Objects with named attributes (`attributes:`), lowered to positional
/// handles `handle(key, (a1, ..., an))`; what replay with state needs.
#[derive(Clone, Debug)]
pub struct ObjectModel {
    /// The handle constructor.
    pub handle: CtorId,
    /// The attribute names, in positional order.
    pub names: Vec<String>,
    /// The value T.
    pub t: TermId,
    /// The value F.
    pub f: TermId,
    /// Functions with `sets`: they change the object of their first
    /// input (a handle) instead of creating one.
    pub setters: Vec<String>,
    /// The token's policy, by attribute position: `sticky_on`.
    pub sticky_on: Vec<bool>,
    /// `sticky_off`, by position.
    pub sticky_off: Vec<bool>,
    /// Conflicting pairs (positions), as declared.
    pub conflicts: Vec<(usize, usize)>,
    /// True for history attributes (maintained by the token), by position.
    pub history: Vec<bool>,
}

impl Program {
    /// The rule with this id.
    pub fn rule(&self, id: RuleId) -> &Rule {
        &self.rules[id.0 as usize]
    }
}

impl ObjectModel {
    /// A ground term printed with every handle's attributes named:
    /// `hdl(k1, {wrap: T, decrypt: T})` (attributes that are F are left
    /// out) instead of the positional `hdl(k1, (T, F, F, T, F))`.
    pub fn show(&self, store: &TermStore, t: TermId) -> String {
        let mut handles = Vec::new();
        self.handles(store, t, &mut handles);
        let mut text = store.show(t);
        // Innermost first would not matter: a handle holds no handle.
        for h in handles {
            let crate::front::term::Term::App(c, args) = store.get(h) else {
                continue;
            };
            let values: Vec<TermId> = if self.names.len() == 1 {
                vec![args[1]]
            } else {
                match store.get(args[1]) {
                    crate::front::term::Term::App(_, items) if items.len() == self.names.len() => {
                        items.to_vec()
                    }
                    _ => continue,
                }
            };
            let fields: Vec<String> = self
                .names
                .iter()
                .zip(&values)
                .filter(|(_, v)| **v != self.f)
                .map(|(n, v)| format!("{n}: {}", store.show(*v)))
                .collect();
            let named = format!(
                "{}({}, {{{}}})",
                store.ctor(*c).text,
                store.show(args[0]),
                fields.join(", ")
            );
            text = text.replace(&store.show(h), &named);
        }
        text
    }

    fn handles(&self, store: &TermStore, t: TermId, out: &mut Vec<TermId>) {
        match store.get(t) {
            crate::front::term::Term::App(c, _) if *c == self.handle && !out.contains(&t) => {
                out.push(t);
            }
            crate::front::term::Term::App(c, _) if *c == self.handle => {}
            crate::front::term::Term::App(_, args) | crate::front::term::Term::Xor(args) => {
                for a in args.iter() {
                    self.handles(store, *a, out);
                }
            }
            _ => {}
        }
    }
}

impl Program {
    /// A ground term as reports print it: handles with named attributes
    /// when the API declares `attributes`.
    pub fn show(&self, t: TermId) -> String {
        match &self.objects {
            Some(m) => m.show(&self.store, t),
            None => self.store.show(t),
        }
    }
}

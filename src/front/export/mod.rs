//! Exports of a checked [`Program`] to other verifiers' languages:
//! ProVerif's typed pi calculus ([`proverif`]) and Tamarin's multiset
//! rewriting ([`tamarin`]), so that a verdict can be checked with a tool
//! people already trust.
//!
//! Both writers share what this module holds: which deductions are the
//! built-in Dolev-Yao ones (the target's own theory covers them: `sdec`,
//! `adec`, projections), which symbols a program uses, where a fresh name
//! is generated, and a [`Namer`] that turns apisat's identifiers into the
//! target's (keywords and clashes get a suffix). Output is deterministic:
//! everything is written in the program's own order (rules as listed,
//! symbols by id), never in a hash map's.
//!
//! What a target cannot express stops the export with one located
//! [`Diagnostic`] naming the feature (ProVerif has no XOR). Its span is
//! the program's: for a family variant, a span at or beyond
//! [`FAMILY_LINES`] is in the family file (see `family/mod.rs`), which
//! `commands/export.rs` moves back.

pub mod proverif;
pub mod tamarin;

use std::collections::{BTreeSet, HashMap, HashSet};

use crate::front::diagnostic::{Diagnostic, Span};
use crate::front::lower::Loaded;
use crate::front::program::{Check, Program, Rule, RuleKind};
use crate::front::term::{CtorId, NameId, NameKind, Term, TermId, TermStore};

/// The line offset `family/mod.rs` gives spans of a family file's own
/// entries (its `FAMILY_LINES`): a span at or beyond it is in the family
/// file, at `line - FAMILY_LINES`; below it, in the base API file.
pub const FAMILY_LINES: u32 = 1 << 30;

/// The verifier an export is written for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// ProVerif 2.x, typed pi calculus (`.pv`).
    ProVerif,
    /// Tamarin prover (`.spthy`).
    Tamarin,
}

impl Target {
    /// The target's name as messages print it.
    pub fn name(self) -> &'static str {
        match self {
            Target::ProVerif => "ProVerif",
            Target::Tamarin => "Tamarin",
        }
    }
}

/// Writes a checked API in the target's language, or says (located) what
/// the target cannot express.
pub fn export(loaded: &Loaded, target: Target) -> Result<String, Diagnostic> {
    match target {
        Target::ProVerif => proverif::write(&loaded.program, &loaded.source),
        Target::Tamarin => tamarin::write(&loaded.program),
    }
}

/// [`export`] to ProVerif with `noninterf` declarations for the secret
/// names (`apisat export --strong`): ProVerif's strong secrecy.
pub fn export_strong(loaded: &Loaded) -> Result<String, Diagnostic> {
    proverif::write_with(&loaded.program, &loaded.source, true)
}

/// Which built-in Dolev-Yao deduction a rule is, when it is one: the
/// targets have these in their own theories.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Builtin {
    /// `senc(m, k), k |- m`.
    Decrypt,
    /// `aenc(m, pk(k)), k |- m`.
    DecryptAsym,
    /// `sign(m, k) |- m`.
    ReadSigned,
    /// `(x1, ..., xn) |- x1, ..., xn`.
    Split,
}

/// The built-in deduction `rule` is, judged by its shape (not its name, so
/// a user deduction is never mistaken for one).
pub(crate) fn builtin(program: &Program, rule: &Rule) -> Option<Builtin> {
    if rule.kind != RuleKind::Deduction || !rule.checks.is_empty() || !rule.fresh.is_empty() {
        return None;
    }
    let s = &program.store;
    let app = |t: TermId| match s.get(t) {
        Term::App(c, args) => Some((s.ctor(*c), args.clone())),
        _ => None,
    };
    let var = |t: TermId| matches!(s.get(t), Term::Var(_));
    match (rule.inputs.as_slice(), rule.outputs.as_slice()) {
        ([single], outs) => {
            let (ctor, args) = app(*single)?;
            if ctor.tuple {
                let distinct: HashSet<TermId> = args.iter().copied().collect();
                return (args.iter().all(|a| var(*a))
                    && distinct.len() == args.len()
                    && args.as_ref() == outs)
                    .then_some(Builtin::Split);
            }
            (ctor.text == "sign"
                && args.len() == 2
                && var(args[0])
                && var(args[1])
                && args[0] != args[1]
                && outs == [args[0]])
            .then_some(Builtin::ReadSigned)
        }
        ([c, k], [m]) => {
            let (ctor, args) = app(*c)?;
            if !var(*k) || !var(*m) || *m == *k || args.len() != 2 || args[0] != *m {
                return None;
            }
            if ctor.text == "senc" && args[1] == *k {
                return Some(Builtin::Decrypt);
            }
            let (pk, inner) = app(args[1])?;
            (ctor.text == "aenc" && pk.text == "pk" && inner.as_ref() == [*k])
                .then_some(Builtin::DecryptAsym)
        }
        _ => None,
    }
}

/// The rules an export writes as processes or rules of its own: API
/// functions and user deductions, in program order.
pub(crate) fn own_rules(program: &Program) -> Vec<&Rule> {
    program
        .rules
        .iter()
        .filter(|r| builtin(program, r).is_none())
        .collect()
}

/// The terms of a rule: its input patterns, outputs and both sides of its
/// checks.
pub(crate) fn rule_terms(r: &Rule) -> Vec<TermId> {
    let mut terms: Vec<TermId> = r.inputs.iter().chain(&r.outputs).copied().collect();
    for c in &r.checks {
        match c {
            Check::Equal(a, b) | Check::NotEqual(a, b) => terms.extend([a, b]),
            Check::OneOf(a, list) => {
                terms.push(*a);
                terms.extend(list);
            }
        }
    }
    terms
}

/// Every term an export writes: the patterns, checks and outputs of its
/// own rules, the knowledge and the secrets.
fn all_terms(program: &Program) -> Vec<TermId> {
    let mut terms = Vec::new();
    for r in own_rules(program) {
        terms.extend(rule_terms(r));
    }
    terms.extend(&program.knowledge);
    terms.extend(program.secrets.iter().map(|s| s.term));
    terms
}

/// The symbols a program's terms use: constructors (tuples apart) and
/// names, each sorted by id (the order lowering declared them in).
#[derive(Clone, Debug, Default)]
pub(crate) struct Used {
    /// Constructors other than tuples.
    pub ctors: BTreeSet<CtorId>,
    /// Names.
    pub names: BTreeSet<NameId>,
}

/// The symbols the exported terms use.
pub(crate) fn used(program: &Program) -> Used {
    let mut used = Used::default();
    let mut seen = HashSet::new();
    let mut stack = all_terms(program);
    while let Some(t) = stack.pop() {
        if !seen.insert(t) {
            continue;
        }
        match program.store.get(t) {
            Term::Name(n) => {
                used.names.insert(*n);
            }
            Term::App(c, args) => {
                if !program.store.ctor(*c).tuple {
                    used.ctors.insert(*c);
                }
                stack.extend(args.iter());
            }
            Term::Xor(args) => stack.extend(args.iter()),
            Term::Zero | Term::Var(_) => {}
        }
    }
    used
}

/// True when `t` holds an XOR or `0`.
pub(crate) fn has_xor(store: &TermStore, t: TermId) -> bool {
    match store.get(t) {
        Term::Xor(_) | Term::Zero => true,
        Term::App(_, args) => args.iter().any(|a| has_xor(store, *a)),
        Term::Name(_) | Term::Var(_) => false,
    }
}

/// True when `t` contains name `n`.
pub(crate) fn mentions(store: &TermStore, t: TermId, n: NameId) -> bool {
    match store.get(t) {
        Term::Name(m) => *m == n,
        Term::App(_, args) | Term::Xor(args) => args.iter().any(|a| mentions(store, *a, n)),
        Term::Zero | Term::Var(_) => false,
    }
}

/// Where a program uses XOR first, for a located error: the first rule
/// (its name), else the first secret, else the `knowledge:` key of the
/// source (knowledge entries carry no span in the program).
pub(crate) fn xor_site(program: &Program, source: &str) -> Option<(Span, String)> {
    let store = &program.store;
    for r in own_rules(program) {
        let mut terms: Vec<TermId> = r.inputs.iter().chain(&r.outputs).copied().collect();
        for c in &r.checks {
            match c {
                Check::Equal(a, b) | Check::NotEqual(a, b) => terms.extend([*a, *b]),
                Check::OneOf(a, list) => {
                    terms.push(*a);
                    terms.extend(list);
                }
            }
        }
        if let Some(t) = terms.iter().find(|t| has_xor(store, **t)) {
            let what = if r.kind == RuleKind::Call {
                "function"
            } else {
                "deduction"
            };
            return Some((
                r.span,
                format!(
                    "{what} `{}` uses XOR (`{}`)",
                    r.name,
                    store.display(*t, &r.var_names)
                ),
            ));
        }
    }
    for s in &program.secrets {
        if has_xor(store, s.term) {
            return Some((
                s.span,
                format!("secret `{}` uses XOR (`{}`)", s.label, store.show(s.term)),
            ));
        }
    }
    let k = program.knowledge.iter().find(|t| has_xor(store, **t))?;
    let line = source
        .lines()
        .position(|l| l.starts_with("knowledge:"))
        .map_or(1, |i| i as u32 + 1);
    Some((
        Span::new(line, 1, 9),
        format!("the initial knowledge uses XOR (`{}`)", store.show(*k)),
    ))
}

/// Where each fresh name is generated: its one generating function, when
/// the name is used nowhere else than in that function's rule and in
/// secrets. Fresh names used in the knowledge or in other rules are left
/// out: the exports then write them as one fixed secret value, apisat's
/// own abstraction.
pub(crate) fn fresh_sites(program: &Program) -> HashMap<NameId, usize> {
    let rules = own_rules(program);
    let mut sites = HashMap::new();
    for (i, r) in rules.iter().enumerate() {
        for &n in &r.fresh {
            let elsewhere = rules.iter().enumerate().any(|(j, o)| {
                j != i
                    && o.inputs
                        .iter()
                        .chain(&o.outputs)
                        .any(|t| mentions(&program.store, *t, n))
            }) || program
                .knowledge
                .iter()
                .any(|t| mentions(&program.store, *t, n));
            if !elsewhere {
                sites.insert(n, i);
            }
        }
    }
    sites
}

/// True when the name is a constant the attacker does not know at the
/// start and no export's rule generates: secret names and fresh names
/// written as fixed values.
pub(crate) fn is_fixed_secret(
    program: &Program,
    fresh: &HashMap<NameId, usize>,
    n: NameId,
) -> bool {
    match program.store.name(n).kind {
        NameKind::Secret => true,
        NameKind::Fresh => !fresh.contains_key(&n),
        _ => false,
    }
}

/// Turns apisat identifiers into a target's: an identifier that is valid,
/// not reserved and not yet taken stays as it is; otherwise invalid
/// characters become `_`, a leading character the target refuses gets a
/// prefix, and a clash a numeric suffix.
#[derive(Clone, Debug)]
pub(crate) struct Namer {
    taken: HashSet<String>,
    /// What a name must start with when its first character is refused.
    prefix: &'static str,
}

impl Namer {
    /// A namer with the target's reserved words taken.
    pub fn new(reserved: &[&str], prefix: &'static str) -> Self {
        Namer {
            taken: reserved.iter().map(|s| s.to_string()).collect(),
            prefix,
        }
    }

    /// Marks `name` as taken (a name the writer itself uses).
    pub fn reserve(&mut self, name: &str) {
        self.taken.insert(name.to_string());
    }

    /// A new identifier for `text`.
    pub fn fresh(&mut self, text: &str) -> String {
        let mut base: String = text
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        if !base.starts_with(|c: char| c.is_ascii_alphabetic()) {
            base = format!("{}{base}", self.prefix);
        }
        let mut name = base.clone();
        let mut i = 2;
        while self.taken.contains(&name) {
            name = format!("{base}_{i}");
            i += 1;
        }
        self.taken.insert(name.clone());
        name
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namer_keeps_valid_names_and_mangles_the_rest() {
        let mut n = Namer::new(&["in", "c"], "n");
        assert_eq!(n.fresh("MK"), "MK");
        assert_eq!(n.fresh("in"), "in_2");
        assert_eq!(n.fresh("_1"), "n_1");
        assert_eq!(n.fresh("a-b"), "a_b");
        assert_eq!(n.fresh("MK"), "MK_2");
        n.reserve("x");
        assert_eq!(n.fresh("x"), "x_2");
    }

    #[test]
    fn builtin_deductions_are_recognised_by_shape_only() {
        let loaded = crate::front::lower::load_source(
            "t.yaml",
            "apisat: 1\nconstructors:\n  - name: box\n    arity: 2\nnames:\n  secret: [K]\ndeductions:\n  - name: unbox\n    inputs: [\"box(m, k)\", k]\n    outputs: [m]\nsecrets: [K]\n",
        )
        .expect("loads");
        let p = &loaded.program;
        let kinds: Vec<(&str, Option<Builtin>)> = p
            .rules
            .iter()
            .map(|r| (r.name.as_str(), builtin(p, r)))
            .collect();
        assert!(kinds.contains(&("decrypt", Some(Builtin::Decrypt))));
        assert!(kinds.contains(&("decrypt-asym", Some(Builtin::DecryptAsym))));
        assert!(kinds.contains(&("read-signed", Some(Builtin::ReadSigned))));
        assert!(kinds.contains(&("unbox", None)));
        assert_eq!(own_rules(p).len(), 1);
    }
}

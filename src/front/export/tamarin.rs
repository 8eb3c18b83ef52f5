//! The Tamarin export: a checked program as a multiset rewriting theory
//! (`.spthy`).
//!
//! * Builtins for the constructors the program uses: `senc` with
//!   `symmetric-encryption` (`sdec`), `aenc`/`pk` with
//!   `asymmetric-encryption` (`adec`), `h` with `hashing`, and `xor` when
//!   the API uses XOR (`XOR`, `zero`). `sign` is declared with the
//!   equation `getmess(sign(m, k)) = m` (apisat's signatures reveal their
//!   message), `mac` and user constructors as `functions:`, private ones
//!   `[private]`. Tuples are Tamarin's pairs: `(a, b, c)` is `<a, b, c>`,
//!   which Tamarin reads as `<a, <b, c>>` (apisat's flat tuples of
//!   different arities are distinct; here they may coincide).
//! * Public names, tags and the attacker's own are public constants
//!   (`'PAN'`); secret names are fresh values `~MK` made once by a `Setup`
//!   rule (a restriction allows one) and kept in the persistent fact
//!   `!HSM(...)`, which every rule that uses one reads. `Setup` also
//!   outputs the initial knowledge.
//! * Each API function (and each user deduction, an attacker rule) is one
//!   rule: `[ In(p1), ..., In(pn), !HSM(...), Fr(~s) ] --[ checks ]->
//!   [ Out(o1), ... ]`, the input patterns matched by Tamarin (modulo its
//!   equational theory, XOR included), the checks as action facts bound by
//!   restrictions (`Eq`, `Neq`, `OneOfN`).
//! * One secrecy lemma per secret: the action `Secret_L(s)` (on `Setup`,
//!   or on the rule that generates the secret's fresh name) and
//!   `All x #i. Secret_L(x) @ #i ==> not (Ex #j. K(x) @ #j)`.
//!
//! A secret built from fresh names of two different functions has no one
//! rule to bind it: a located error.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;

use super::{fresh_sites, is_fixed_secret, mentions, own_rules, used, Namer};
use crate::front::diagnostic::Diagnostic;
use crate::front::program::{Check, Program, RuleKind};
use crate::front::term::{CtorId, NameId, Term, TermId, TermStore};

/// Tamarin's keywords, builtin function symbols and the identifiers the
/// export itself declares.
const RESERVED: &[&str] = &[
    "theory",
    "begin",
    "end",
    "builtins",
    "functions",
    "equations",
    "rule",
    "lemma",
    "restriction",
    "let",
    "in",
    "All",
    "Ex",
    "not",
    "true",
    "false",
    "F",
    "T",
    "K",
    "KU",
    "KD",
    "In",
    "Out",
    "Fr",
    "senc",
    "sdec",
    "aenc",
    "adec",
    "pk",
    "h",
    "sign",
    "verify",
    "fst",
    "snd",
    "pair",
    "zero",
    "XOR",
    "getmess",
    "mac",
    "inv",
    "one",
    "diff",
    "exists-trace",
    "all-traces",
    "Setup",
    "HSM",
    "Eq",
    "Neq",
    "private",
    "heuristic",
    "tactic",
    "process",
];

/// The Tamarin theory of `program`.
pub fn write(program: &Program) -> Result<String, Diagnostic> {
    Writer::new(program).theory()
}

struct Writer<'a> {
    program: &'a Program,
    store: &'a TermStore,
    namer: Namer,
    names: HashMap<NameId, String>,
    ctors: HashMap<CtorId, String>,
    fresh: HashMap<NameId, usize>,
    /// Secret names made by `Setup`, in id order.
    fixed: Vec<NameId>,
}

impl<'a> Writer<'a> {
    fn new(program: &'a Program) -> Self {
        let store = &program.store;
        let used = used(program);
        let mut namer = Namer::new(RESERVED, "n");
        let fresh = fresh_sites(program);
        let mut names = HashMap::new();
        let mut fixed = Vec::new();
        for &n in &used.names {
            let info = store.name(n);
            let id = if info.kind.is_public() {
                // Public constants are quoted: any identifier will do.
                format!("'{}'", info.text)
            } else {
                if is_fixed_secret(program, &fresh, n) {
                    fixed.push(n);
                }
                format!("~{}", namer.fresh(&info.text))
            };
            names.insert(n, id);
        }
        let mut ctors = HashMap::new();
        for &c in &used.ctors {
            let info = store.ctor(c);
            let builtin = matches!(
                (info.text.as_str(), info.arity, info.public),
                ("senc" | "aenc" | "sign" | "mac", 2, true) | ("pk" | "h", 1, true)
            );
            let id = if builtin {
                info.text.clone()
            } else {
                namer.fresh(&info.text)
            };
            ctors.insert(c, id);
        }
        Writer {
            program,
            store,
            namer,
            names,
            ctors,
            fresh,
            fixed,
        }
    }

    fn theory(mut self) -> Result<String, Diagnostic> {
        let p = self.program;
        let rules = own_rules(p);
        let mut out = String::new();
        let theory = self.namer.fresh(&p.name);
        let _ = writeln!(out, "theory {theory}\nbegin\n");
        let _ = writeln!(
            out,
            "/* apisat export of `{}` ({}) to Tamarin. */\n",
            comment(&p.name),
            comment(&p.file)
        );

        // Signature.
        let mut builtins = Vec::new();
        let mut functions = Vec::new();
        let mut equations = Vec::new();
        let mut ctors: Vec<&CtorId> = self.ctors.keys().collect();
        ctors.sort();
        let has = |t: &str| ctors.iter().any(|c| self.ctors[*c] == t);
        if has("senc") {
            builtins.push("symmetric-encryption");
        }
        if has("aenc") || has("pk") {
            builtins.push("asymmetric-encryption");
        }
        if has("h") {
            builtins.push("hashing");
        }
        if p.uses_xor {
            builtins.push("xor");
        }
        if has("sign") {
            functions.push("sign/2".to_string());
            functions.push("getmess/1".to_string());
            equations.push("getmess(sign(m, k)) = m");
        }
        if has("mac") {
            functions.push("mac/2".to_string());
        }
        for c in &ctors {
            let info = self.store.ctor(**c);
            let id = &self.ctors[*c];
            if ["senc", "aenc", "pk", "h", "sign", "mac"].contains(&id.as_str()) {
                continue;
            }
            let private = if info.public { "" } else { " [private]" };
            functions.push(format!("{id}/{}{private}", info.arity));
        }
        if !builtins.is_empty() {
            let _ = writeln!(out, "builtins: {}", builtins.join(", "));
        }
        if !functions.is_empty() {
            let _ = writeln!(out, "functions: {}", functions.join(", "));
        }
        if !equations.is_empty() {
            let _ = writeln!(out, "equations: {}", equations.join(", "));
        }
        out.push('\n');

        // Where each secret is bound, and its action's name.
        let mut facts = Namer::new(RESERVED, "S");
        let mut setup_actions = Vec::new();
        let mut rule_actions: BTreeMap<usize, Vec<String>> = BTreeMap::new();
        let mut lemmas = Vec::new();
        for s in &p.secrets {
            let action = facts.fresh(&format!("Secret_{}", s.label));
            let sites: BTreeSet<usize> = self
                .fresh
                .iter()
                .filter(|(n, _)| mentions(self.store, s.term, **n))
                .map(|(_, i)| *i)
                .collect();
            let fact = format!("{action}({})", self.term(s.term, &[]));
            match sites.len() {
                0 => setup_actions.push(fact),
                1 => rule_actions
                    .entry(*sites.iter().next().unwrap_or(&0))
                    .or_default()
                    .push(fact),
                _ => {
                    return Err(Diagnostic::error(
                        &p.file,
                        s.span,
                        format!(
                            "Tamarin export: secret `{}` holds fresh names of several functions, and no one rule can bind it for a lemma",
                            s.label
                        ),
                    )
                    .with_help("list each fresh name as a secret of its own"))
                }
            }
            lemmas.push((
                self.namer.fresh(&format!("secret_{}", s.label)),
                action,
                s.label.clone(),
            ));
        }

        // Setup: the HSM's secrets, made once, and the initial knowledge.
        let hsm: Vec<String> = self.fixed.iter().map(|n| self.names[n].clone()).collect();
        let premises: Vec<String> = hsm.iter().map(|n| format!("Fr({n})")).collect();
        let mut actions = vec!["Setup()".to_string()];
        actions.extend(setup_actions);
        let mut conclusions = Vec::new();
        if !hsm.is_empty() {
            conclusions.push(format!("!HSM({})", hsm.join(", ")));
        }
        for &t in &p.knowledge {
            match self.store.get(t) {
                Term::Name(n) if self.store.name(*n).kind.is_public() => continue,
                // `zero` is a public constant of Tamarin's XOR.
                Term::Zero => continue,
                _ => {}
            }
            conclusions.push(format!("Out({})", self.term(t, &[])));
        }
        out.push_str("/* The HSM's secrets, made once; the initial knowledge. */\n");
        out.push_str(&rule_text("Setup", &premises, &actions, &conclusions));
        out.push_str(
            "restriction setup_once:\n  \"All #i #j. Setup() @ #i & Setup() @ #j ==> #i = #j\"\n\n",
        );

        // The API's rules.
        let mut restrictions: BTreeSet<String> = BTreeSet::new();
        for (i, r) in rules.iter().enumerate() {
            let mut local = self.namer.clone();
            let vars: Vec<String> = r.var_names.iter().map(|v| local.fresh(v)).collect();
            let mut premises: Vec<String> = r
                .inputs
                .iter()
                .map(|t| format!("In({})", self.term(*t, &vars)))
                .collect();
            let mut actions = Vec::new();
            for c in &r.checks {
                match c {
                    Check::Equal(a, b) => {
                        restrictions.insert("equal".into());
                        actions.push(format!(
                            "Eq({}, {})",
                            self.term(*a, &vars),
                            self.term(*b, &vars)
                        ));
                    }
                    Check::NotEqual(a, b) => {
                        restrictions.insert("not_equal".into());
                        actions.push(format!(
                            "Neq({}, {})",
                            self.term(*a, &vars),
                            self.term(*b, &vars)
                        ));
                    }
                    Check::OneOf(a, list) => {
                        restrictions.insert(format!("one_of_{}", list.len()));
                        let mut args = vec![self.term(*a, &vars)];
                        args.extend(list.iter().map(|b| self.term(*b, &vars)));
                        actions.push(format!("OneOf{}({})", list.len(), args.join(", ")));
                    }
                }
            }
            actions.extend(rule_actions.remove(&i).unwrap_or_default());
            let conclusions: Vec<String> = r
                .outputs
                .iter()
                .map(|t| format!("Out({})", self.term(*t, &vars)))
                .collect();
            let uses_hsm = self.fixed.iter().any(|n| {
                premises
                    .iter()
                    .chain(&actions)
                    .chain(&conclusions)
                    .any(|text| mentions_id(text, &self.names[n]))
            });
            if uses_hsm {
                premises.push(format!("!HSM({})", hsm.join(", ")));
            }
            for n in &r.fresh {
                if self.fresh.get(n) == Some(&i) {
                    premises.push(format!("Fr({})", self.names[n]));
                }
            }
            let what = if r.kind == RuleKind::Call {
                "API function"
            } else {
                "deduction of the API file (an attacker rule)"
            };
            let _ = writeln!(out, "/* {what} `{}` */", comment(&r.name));
            let name = self.namer.fresh(&r.name);
            out.push_str(&rule_text(&name, &premises, &actions, &conclusions));
        }

        for r in &restrictions {
            if r == "equal" {
                out.push_str("restriction equal:\n  \"All x y #i. Eq(x, y) @ #i ==> x = y\"\n\n");
            } else if r == "not_equal" {
                out.push_str(
                    "restriction not_equal:\n  \"All x y #i. Neq(x, y) @ #i ==> not (x = y)\"\n\n",
                );
            } else if let Some(n) = r.strip_prefix("one_of_") {
                let n: usize = n.parse().unwrap_or(1);
                let ys: Vec<String> = (1..=n).map(|i| format!("y{i}")).collect();
                let alts: Vec<String> = ys.iter().map(|y| format!("x = {y}")).collect();
                let _ = write!(
                    out,
                    "restriction {r}:\n  \"All x {} #i. OneOf{n}(x, {}) @ #i ==> ({})\"\n\n",
                    ys.join(" "),
                    ys.join(", "),
                    alts.join(" | ")
                );
            }
        }

        for (lemma, action, label) in &lemmas {
            let _ = write!(
                out,
                "/* {} */\nlemma {lemma}:\n  \"All x #i. {action}(x) @ #i ==> not (Ex #j. K(x) @ #j)\"\n\n",
                comment(label)
            );
        }
        out.push_str("end\n");
        Ok(out)
    }

    /// A term in Tamarin's syntax; `vars` names the rule's variables.
    fn term(&self, t: TermId, vars: &[String]) -> String {
        match self.store.get(t) {
            Term::Name(n) => self.names[n].clone(),
            Term::Var(v) => vars[*v as usize].clone(),
            Term::Zero => "zero".to_string(),
            Term::Xor(args) => {
                let parts: Vec<String> = args.iter().map(|a| self.term(*a, vars)).collect();
                format!("({})", parts.join(" XOR "))
            }
            Term::App(c, args) => {
                let args: Vec<String> = args.iter().map(|a| self.term(*a, vars)).collect();
                if self.store.ctor(*c).tuple {
                    format!("<{}>", args.join(", "))
                } else {
                    format!("{}({})", self.ctors[c], args.join(", "))
                }
            }
        }
    }
}

/// True when `text` uses the identifier `id` (a `~name`), not as part of
/// a longer one.
fn mentions_id(text: &str, id: &str) -> bool {
    let mut rest = text;
    while let Some(at) = rest.find(id) {
        let after = &rest[at + id.len()..];
        if !after.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_') {
            return true;
        }
        rest = after;
    }
    false
}

/// One rule, laid out.
fn rule_text(
    name: &str,
    premises: &[String],
    actions: &[String],
    conclusions: &[String],
) -> String {
    let arrow = if actions.is_empty() {
        "-->".to_string()
    } else {
        format!("--[ {} ]->", actions.join(", "))
    };
    format!(
        "rule {name}:\n    [ {} ]\n  {arrow}\n    [ {} ]\n\n",
        premises.join(", "),
        conclusions.join(", ")
    )
}

/// Text safe inside a Tamarin comment.
fn comment(text: &str) -> String {
    text.replace("*/", "* /")
}

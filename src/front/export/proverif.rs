//! The ProVerif export: a checked program as a typed pi calculus model
//! (`.pv`), every term a `bitstring`.
//!
//! * One public channel `c`: the attacker's.
//! * Names: public names, tags and the attacker's own as `free N:
//!   bitstring.`; secret names as `free N: bitstring [private].`; a fresh
//!   name as `new` in the one process that generates it (ProVerif then
//!   distinguishes the calls, which apisat abstracts to one name).
//! * Constructors: `fun f(...): bitstring.`, private ones `[private]`;
//!   tuples are ProVerif's own (distinct per arity, as apisat's are).
//! * The built-in deductions of `rules/dolev_yao.yaml` as destructors:
//!   `sdec(senc(m, k), k) = m`, `adec(aenc(m, pk(k)), k) = m`,
//!   `getmess(sign(m, k)) = m`; projections are ProVerif's own.
//! * Each API function (and each user deduction, an attacker rule) is one
//!   replicated process: it receives its inputs as one tuple on `c`,
//!   matches each against its pattern (ciphertexts under a key already
//!   known to the process with `sdec`/`adec`, any other constructor with a
//!   private destructor `open_f(f(x1, ..., xn)) = (x1, ..., xn)`, which only
//!   the HSM may apply), tests its checks with `if`, makes its fresh names
//!   with `new`, and outputs its outputs as one tuple on `c`.
//! * The initial knowledge is output on `c`; one `query` declaration with
//!   `attacker(S)` for every secret, in the program's order, each after a
//!   comment with its label (ProVerif saturates once per declaration, and
//!   prints one `RESULT` per secret in this order).
//!
//! ProVerif has no XOR: a program that uses it is a located error.

use std::collections::{BTreeSet, HashMap};
use std::fmt::Write as _;

use super::{fresh_sites, is_fixed_secret, own_rules, used, xor_site, Namer};
use crate::front::diagnostic::Diagnostic;
use crate::front::program::{Check, Program, Rule, RuleKind};
use crate::front::term::{CtorId, NameId, NameKind, Term, TermId, TermStore};

/// ProVerif's keywords and the identifiers the export itself declares.
const RESERVED: &[&str] = &[
    "among",
    "axiom",
    "barrier",
    "bitstring",
    "bool",
    "channel",
    "choice",
    "clauses",
    "const",
    "def",
    "diff",
    "do",
    "elimtrue",
    "else",
    "equation",
    "equivalence",
    "event",
    "expand",
    "fail",
    "false",
    "forall",
    "foreach",
    "free",
    "fun",
    "get",
    "if",
    "implementation",
    "in",
    "inj",
    "insert",
    "is_nat",
    "lemma",
    "let",
    "letfun",
    "letproba",
    "new",
    "noninterf",
    "not",
    "nounif",
    "or",
    "otherwise",
    "out",
    "param",
    "phase",
    "pred",
    "proba",
    "process",
    "proof",
    "public_vars",
    "putbegin",
    "query",
    "reduc",
    "restriction",
    "secret",
    "select",
    "set",
    "suchthat",
    "sync",
    "table",
    "then",
    "true",
    "type",
    "weaksecret",
    "yield",
    "nat",
    "time",
    "attacker",
    "mess",
    "c",
    "sdec",
    "adec",
    "getmess",
    "main",
];

/// The ProVerif model of `program`; `source` is the API file's text (to
/// locate an XOR error in the knowledge).
pub fn write(program: &Program, source: &str) -> Result<String, Diagnostic> {
    write_with(program, source, false)
}

/// [`write`]; with `strong`, also a `noninterf` declaration for each
/// secret that is a free secret name (ProVerif's strong secrecy: the
/// attacker cannot tell runs with different values of the name apart),
/// and a comment for each secret it does not apply to.
pub fn write_with(program: &Program, source: &str, strong: bool) -> Result<String, Diagnostic> {
    if program.uses_xor {
        if let Some((span, what)) = xor_site(program, source) {
            return Err(Diagnostic::error(
                &program.file,
                span,
                format!("ProVerif cannot express XOR: {what}"),
            )
            .with_help("ProVerif has no XOR theory; export to Tamarin instead (`--to tamarin`, `builtins: xor`)"));
        }
    }
    let mut w = Writer::new(program);
    w.strong = strong;
    Ok(w.model())
}

struct Writer<'a> {
    program: &'a Program,
    store: &'a TermStore,
    namer: Namer,
    names: HashMap<NameId, String>,
    ctors: HashMap<CtorId, String>,
    /// Private destructors `open_f` the processes need, by constructor.
    openers: BTreeSet<CtorId>,
    /// Fresh names a process generates with `new`, by rule index.
    fresh: HashMap<NameId, usize>,
    /// Whether to write `noninterf` for the secret names.
    strong: bool,
}

impl<'a> Writer<'a> {
    fn new(program: &'a Program) -> Self {
        let store = &program.store;
        let used = used(program);
        let mut namer = Namer::new(RESERVED, "n");
        let mut names = HashMap::new();
        for &n in &used.names {
            names.insert(n, namer.fresh(&store.name(n).text));
        }
        let mut ctors = HashMap::new();
        for &c in &used.ctors {
            ctors.insert(c, namer.fresh(&store.ctor(c).text));
        }
        for c in ctors.values() {
            namer.reserve(&format!("open_{c}"));
        }
        Writer {
            program,
            store,
            namer,
            names,
            ctors,
            openers: BTreeSet::new(),
            fresh: fresh_sites(program),
            strong: false,
        }
    }

    fn model(mut self) -> String {
        let p = self.program;
        let rules = own_rules(p);
        // Processes first (they decide which openers are needed), then the
        // declarations in front of them.
        let mut processes = String::new();
        let process_names: Vec<String> = rules.iter().map(|r| self.namer.fresh(&r.name)).collect();
        for (i, r) in rules.iter().enumerate() {
            let name = &process_names[i];
            let body = self.process(i, r);
            let what = if r.kind == RuleKind::Call {
                "API function"
            } else {
                "deduction of the API file (an attacker rule)"
            };
            let _ = writeln!(processes, "(* {what} `{}` *)", r.name);
            let _ = writeln!(processes, "let {name} =\n{body}.\n");
        }

        let mut out = String::new();
        let _ = writeln!(
            out,
            "(* apisat export of `{}` ({}) to ProVerif.",
            comment(&p.name),
            comment(&p.file)
        );
        out.push_str("   Every term is a bitstring; the attacker owns channel c. *)\n\n");
        out.push_str("free c: channel.\n\n");

        out.push_str("(* Names *)\n");
        let mut names: Vec<&NameId> = self.names.keys().collect();
        names.sort();
        for n in names {
            let info = self.store.name(*n);
            let id = &self.names[n];
            match info.kind {
                NameKind::Public => {
                    let _ = writeln!(out, "free {id}: bitstring.");
                }
                NameKind::Tag => {
                    let _ = writeln!(out, "free {id}: bitstring. (* tag *)");
                }
                NameKind::Attacker => {
                    let _ = writeln!(out, "free {id}: bitstring. (* the attacker's own *)");
                }
                NameKind::Secret => {
                    let _ = writeln!(out, "free {id}: bitstring [private].");
                }
                NameKind::Fresh if is_fixed_secret(p, &self.fresh, *n) => {
                    let _ = writeln!(
                        out,
                        "free {id}: bitstring [private]. (* fresh, one value for every call as in apisat *)"
                    );
                }
                NameKind::Fresh => {}
            }
        }
        out.push('\n');

        let mut ctors: Vec<&CtorId> = self.ctors.keys().collect();
        ctors.sort();
        if !ctors.is_empty() {
            out.push_str("(* Constructors *)\n");
        }
        for c in &ctors {
            let info = self.store.ctor(**c);
            let args = vec!["bitstring"; info.arity].join(", ");
            let private = if info.public { "" } else { " [private]" };
            let _ = writeln!(out, "fun {}({args}): bitstring{private}.", self.ctors[*c]);
        }
        if !ctors.is_empty() {
            out.push('\n');
        }

        let by_text = |t: &str| {
            ctors
                .iter()
                .find(|c| self.store.ctor(***c).text == t)
                .map(|c| self.ctors[*c].clone())
        };
        let mut deductions = String::new();
        if let Some(senc) = by_text("senc") {
            let _ = writeln!(
                deductions,
                "reduc forall m: bitstring, k: bitstring; sdec({senc}(m, k), k) = m."
            );
        }
        if let (Some(aenc), Some(pk)) = (by_text("aenc"), by_text("pk")) {
            let _ = writeln!(
                deductions,
                "reduc forall m: bitstring, k: bitstring; adec({aenc}(m, {pk}(k)), k) = m."
            );
        }
        if let Some(sign) = by_text("sign") {
            let _ = writeln!(
                deductions,
                "reduc forall m: bitstring, k: bitstring; getmess({sign}(m, k)) = m."
            );
        }
        if !deductions.is_empty() {
            out.push_str(
                "(* The attacker's deductions (rules/dolev_yao.yaml); tuples are ProVerif's *)\n",
            );
            out.push_str(&deductions);
            out.push('\n');
        }
        if !self.openers.is_empty() {
            out.push_str("(* Taking a term apart inside the HSM, which only the HSM may do *)\n");
        }
        for c in &self.openers {
            let info = self.store.ctor(*c);
            let xs: Vec<String> = (1..=info.arity).map(|i| format!("x{i}")).collect();
            let typed: Vec<String> = xs.iter().map(|x| format!("{x}: bitstring")).collect();
            let result = if xs.len() == 1 {
                xs[0].clone()
            } else {
                format!("({})", xs.join(", "))
            };
            let _ = writeln!(
                out,
                "reduc forall {}; open_{}({}({})) = {result} [private].",
                typed.join(", "),
                self.ctors[c],
                self.ctors[c],
                xs.join(", ")
            );
        }
        if !self.openers.is_empty() {
            out.push('\n');
        }

        // One declaration for all secrets: ProVerif saturates once per
        // `query` declaration (51 declarations took 46 times as long as
        // one on the 5x10 hierarchy), and prints the results in order.
        out.push_str("(* Secrets, one result each, in this order *)\nquery\n");
        let queries: Vec<String> = p
            .secrets
            .iter()
            .map(|s| {
                format!(
                    "  (* {} *) attacker({})",
                    comment(&s.label),
                    self.query_term(s.term)
                )
            })
            .collect();
        let _ = writeln!(out, "{}.\n", queries.join(";\n"));
        if self.strong {
            out.push_str(&self.noninterf());
        }

        out.push_str(&processes);

        out.push_str("process\n");
        let mut parts: Vec<String> = Vec::new();
        for &t in &p.knowledge {
            if let Term::Name(n) = self.store.get(t) {
                if self.store.name(*n).kind.is_public() {
                    continue;
                }
            }
            parts.push(format!("out(c, {})", self.expr(t, &[])));
        }
        parts.extend(process_names.iter().map(|n| format!("!{n}")));
        if parts.is_empty() {
            out.push_str("  0\n");
        } else {
            let _ = writeln!(out, "    {}", parts.join("\n  | "));
        }
        out
    }

    /// A ground or pattern term as a ProVerif term; `vars` names the
    /// rule's variables.
    fn expr(&self, t: TermId, vars: &[String]) -> String {
        match self.store.get(t) {
            Term::Name(n) => self.names[n].clone(),
            Term::Var(v) => vars[*v as usize].clone(),
            Term::App(c, args) => {
                let args: Vec<String> = args.iter().map(|a| self.expr(*a, vars)).collect();
                if self.store.ctor(*c).tuple {
                    format!("({})", args.join(", "))
                } else {
                    format!("{}({})", self.ctors[c], args.join(", "))
                }
            }
            // Refused before writing starts.
            Term::Xor(_) | Term::Zero => "XOR".to_string(),
        }
    }

    /// `noninterf N.` for each secret that is a free secret name, one
    /// declaration each (jointly they would say less about each); a
    /// comment for the others.
    fn noninterf(&self) -> String {
        let mut out = String::from(
            "(* Strong secrecy (apisat export --strong): for each secret name, the attacker\n   cannot distinguish runs in which it takes different values *)\n",
        );
        for s in &self.program.secrets {
            match self.store.get(s.term) {
                Term::Name(n) if self.fresh.contains_key(n) => {
                    let _ = writeln!(out, "(* {}: generated by `new` in a process; noninterf applies to free names *)", comment(&s.label));
                }
                Term::Name(n) if !self.store.name(*n).kind.is_public() => {
                    let _ = writeln!(out, "noninterf {}.", self.names[n]);
                }
                _ => {
                    let _ = writeln!(
                        out,
                        "(* {}: not a secret name; noninterf applies to names *)",
                        comment(&s.label)
                    );
                }
            }
        }
        out.push('\n');
        out
    }

    /// A secret as a query term: names a process generates are `new n`.
    fn query_term(&self, t: TermId) -> String {
        match self.store.get(t) {
            Term::Name(n) if self.fresh.contains_key(n) => format!("new {}", self.names[n]),
            Term::App(c, args) => {
                let args: Vec<String> = args.iter().map(|a| self.query_term(*a)).collect();
                if self.store.ctor(*c).tuple {
                    format!("({})", args.join(", "))
                } else {
                    format!("{}({})", self.ctors[c], args.join(", "))
                }
            }
            _ => self.expr(t, &[]),
        }
    }

    /// The body of rule `index`'s process.
    fn process(&mut self, index: usize, rule: &Rule) -> String {
        let mut local = self.namer.clone();
        let vars: Vec<String> = rule.var_names.iter().map(|v| local.fresh(v)).collect();
        let mut m = Matcher {
            w: self,
            vars: &vars,
            bound: vec![false; vars.len()],
            local,
            queue: Vec::new(),
            lines: Vec::new(),
        };
        // The inputs, as one tuple: a variable seen first is bound there,
        // any other pattern goes to a placeholder matched after.
        let mut received = Vec::new();
        for &p in &rule.inputs {
            received.push(m.pattern(p));
        }
        match received.len() {
            0 => {}
            1 => m.lines.insert(0, format!("in(c, {});", received[0])),
            _ => m
                .lines
                .insert(0, format!("in(c, ({}));", received.join(", "))),
        }
        m.drain();
        let mut conds = Vec::new();
        for c in &rule.checks {
            conds.push(match c {
                Check::Equal(a, b) => format!("{} = {}", m.w.expr(*a, &vars), m.w.expr(*b, &vars)),
                Check::NotEqual(a, b) => {
                    format!("{} <> {}", m.w.expr(*a, &vars), m.w.expr(*b, &vars))
                }
                Check::OneOf(a, list) => {
                    let a = m.w.expr(*a, &vars);
                    let alts: Vec<String> = list
                        .iter()
                        .map(|b| format!("{a} = {}", m.w.expr(*b, &vars)))
                        .collect();
                    if alts.len() == 1 {
                        alts[0].clone()
                    } else {
                        format!("({})", alts.join(" || "))
                    }
                }
            });
        }
        if !conds.is_empty() {
            m.lines.push(format!("if {} then", conds.join(" && ")));
        }
        let mut lines = std::mem::take(&mut m.lines);
        for n in &rule.fresh {
            if self.fresh.get(n) == Some(&index) {
                lines.push(format!("new {}: bitstring;", self.names[n]));
            }
        }
        let outs: Vec<String> = rule.outputs.iter().map(|o| self.expr(*o, &vars)).collect();
        lines.push(match outs.len() {
            0 => "0".to_string(),
            1 => format!("out(c, {})", outs[0]),
            _ => format!("out(c, ({}))", outs.join(", ")),
        });
        let body: Vec<String> = lines.iter().map(|l| format!("  {l}")).collect();
        body.join("\n")
    }
}

/// Pattern matching of one rule's inputs, as ProVerif patterns and `let`s.
struct Matcher<'w, 'a> {
    w: &'w mut Writer<'a>,
    vars: &'w [String],
    bound: Vec<bool>,
    local: Namer,
    /// Placeholders still to take apart: (placeholder, constructor term).
    queue: Vec<(String, TermId)>,
    lines: Vec<String>,
}

impl Matcher<'_, '_> {
    /// True when every variable of `t` is bound.
    fn known(&self, t: TermId) -> bool {
        self.w.store.vars(t).iter().all(|v| self.bound[*v as usize])
    }

    /// `t` as a ProVerif pattern: new variables bound, known subterms
    /// `=M`, tuples taken apart, other constructors left to placeholders.
    fn pattern(&mut self, t: TermId) -> String {
        if self.known(t) {
            return format!("={}", self.w.expr(t, self.vars));
        }
        match self.w.store.get(t).clone() {
            Term::Var(v) => {
                self.bound[v as usize] = true;
                format!("{}: bitstring", self.vars[v as usize])
            }
            Term::App(c, args) if self.w.store.ctor(c).tuple => {
                let parts: Vec<String> = args.iter().map(|a| self.pattern(*a)).collect();
                format!("({})", parts.join(", "))
            }
            _ => {
                let y = self.local.fresh("y");
                self.queue.push((y.clone(), t));
                format!("{y}: bitstring")
            }
        }
    }

    /// Takes every placeholder apart: ciphertexts whose key is known first
    /// (with the attacker's own `sdec`/`adec`), then the others with
    /// private openers.
    fn drain(&mut self) {
        while !self.queue.is_empty() {
            let pick = self
                .queue
                .iter()
                .position(|(_, t)| self.key_of(*t).is_some())
                .unwrap_or(0);
            let (y, t) = self.queue.remove(pick);
            if self.known(t) {
                let e = self.w.expr(t, self.vars);
                self.lines.push(format!("if {y} = {e} then"));
                continue;
            }
            let Term::App(c, args) = self.w.store.get(t).clone() else {
                continue;
            };
            let (target, call) = match self.key_of(t) {
                Some((dec, key)) => (args[0], format!("{dec}({y}, {key})")),
                None => {
                    self.w.openers.insert(c);
                    let opener = format!("open_{}({y})", self.w.ctors[&c]);
                    let pattern = if args.len() == 1 {
                        self.pattern(args[0])
                    } else {
                        let parts: Vec<String> = args.iter().map(|a| self.pattern(*a)).collect();
                        format!("({})", parts.join(", "))
                    };
                    self.let_line(pattern, opener);
                    continue;
                }
            };
            let pattern = self.pattern(target);
            self.let_line(pattern, call);
        }
    }

    fn let_line(&mut self, pattern: String, value: String) {
        if let Some(eq) = pattern.strip_prefix('=') {
            self.lines.push(format!("if {value} = {eq} then"));
        } else {
            self.lines.push(format!("let {pattern} = {value} in"));
        }
    }

    /// For a ciphertext pattern whose key the process already knows: the
    /// destructor to open it and the key.
    fn key_of(&self, t: TermId) -> Option<(&'static str, String)> {
        let s = self.w.store;
        let Term::App(c, args) = s.get(t) else {
            return None;
        };
        match s.ctor(*c).text.as_str() {
            "senc" if args.len() == 2 && self.known(args[1]) => {
                Some(("sdec", self.w.expr(args[1], self.vars)))
            }
            "aenc" if args.len() == 2 => {
                let Term::App(pk, inner) = s.get(args[1]) else {
                    return None;
                };
                (s.ctor(*pk).text == "pk" && inner.len() == 1 && self.known(inner[0]))
                    .then(|| ("adec", self.w.expr(inner[0], self.vars)))
            }
            _ => None,
        }
    }
}

/// Text safe inside a ProVerif comment.
fn comment(text: &str) -> String {
    text.replace("*)", "* )").replace("(*", "( *")
}

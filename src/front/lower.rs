//! Checking an API file into a [`Program`].
//!
//! The built-in rules (`rules/dolev_yao.yaml`, embedded) are read first,
//! by the same code, then the user's file. Names, constructors, terms,
//! rules, knowledge and secrets are resolved and interned into one
//! [`TermStore`]; every mistake becomes a located [`Diagnostic`], and all
//! of them are reported together.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::Path;

use crate::front::diagnostic::{Diagnostic, Span};
use crate::front::program::{Check, ObjectModel, Program, Rule, RuleKind, Secret};
use crate::front::spec::{self, RuleDecl, Spec};
use crate::front::syntax::{self, CheckKind, RecordField, SyntaxError, TermKind};
use crate::front::term::{CtorId, NameId, NameKind, Term, TermId, TermStore};
use crate::front::yaml::{self, Scalar};

/// The file name the built-in rules are reported under.
pub const BUILTIN_FILE: &str = "rules/dolev_yao.yaml";
/// The built-in rules, embedded at build time.
pub const BUILTIN_RULES: &str = include_str!("../../rules/dolev_yao.yaml");
/// The language versions this build reads.
pub const VERSIONS: &[&str] = &["1"];
/// The largest arity of a user constructor.
pub const MAX_ARITY: i128 = 16;

/// A checked API file.
#[derive(Clone, Debug)]
pub struct Loaded {
    /// The program the engine runs.
    pub program: Program,
    /// Warnings: accepted, but probably not what was meant.
    pub warnings: Vec<Diagnostic>,
    /// The file's text, for rendering diagnostics.
    pub source: String,
    /// What the file expects of its secrets (`expect`), labels checked.
    pub expect: Vec<spec::ExpectDecl>,
}

/// Why a file's text could not be read.
#[derive(Debug)]
pub enum ReadError {
    /// The system could not read it (missing, a folder, no permission...).
    Io(std::io::Error),
    /// It is not UTF-8 text.
    NotUtf8,
    /// It is larger than [`yaml::MAX_FILE_BYTES`]: its size, or a lower
    /// bound of it.
    TooLarge(u64),
}

impl ReadError {
    /// The error as a diagnostic at `at` in `file`.
    pub fn diagnostic(&self, file: &str, at: Span) -> Diagnostic {
        match self {
            ReadError::TooLarge(bytes) => yaml::too_large(file, at, *bytes),
            ReadError::NotUtf8 => {
                Diagnostic::error(file, at, "cannot read the file: it is not UTF-8 text")
                    .with_help("save the API file as UTF-8")
            }
            ReadError::Io(e) => Diagnostic::error(file, at, format!("cannot read the file: {e}"))
                .with_help("check the path and the file's permissions"),
        }
    }
}

/// Reads a file's text, refusing one larger than [`yaml::MAX_FILE_BYTES`]
/// without reading more than that (a file that grows, a device or a pipe
/// included).
///
/// The path `-` ([`STDIN`]) is standard input, read once and kept, so that
/// the several readings of one command see the same text.
pub fn read_source(path: &Path) -> Result<String, ReadError> {
    use std::io::Read;
    let cap = yaml::MAX_FILE_BYTES as u64;
    if path.as_os_str() == STDIN {
        // Kept as text or the error's kind: io::Error is not Clone.
        static STDIN_TEXT: std::sync::OnceLock<Result<String, (u8, String)>> =
            std::sync::OnceLock::new();
        let read = STDIN_TEXT.get_or_init(|| {
            let mut bytes = Vec::new();
            let stdin = std::io::stdin().lock();
            stdin
                .take(cap + 1)
                .read_to_end(&mut bytes)
                .map_err(|e| (0, e.to_string()))?;
            if bytes.len() as u64 > cap {
                return Err((1, String::new()));
            }
            String::from_utf8(bytes).map_err(|_| (2, String::new()))
        });
        return match read {
            Ok(text) => Ok(text.clone()),
            Err((1, _)) => Err(ReadError::TooLarge(cap + 1)),
            Err((2, _)) => Err(ReadError::NotUtf8),
            Err((_, e)) => Err(ReadError::Io(std::io::Error::other(e.clone()))),
        };
    }
    let file = std::fs::File::open(path).map_err(ReadError::Io)?;
    if let Ok(meta) = file.metadata() {
        if meta.len() > cap {
            return Err(ReadError::TooLarge(meta.len()));
        }
    }
    let mut bytes = Vec::new();
    file.take(cap + 1)
        .read_to_end(&mut bytes)
        .map_err(ReadError::Io)?;
    if bytes.len() as u64 > cap {
        return Err(ReadError::TooLarge(bytes.len() as u64));
    }
    String::from_utf8(bytes).map_err(|_| ReadError::NotUtf8)
}

/// Reads and checks an API file. An unreadable file is a diagnostic too.
pub fn load_file(path: &Path) -> Result<Loaded, Vec<Diagnostic>> {
    let file = path.display().to_string();
    match read_source(path) {
        Ok(src) => load_source(&file, &src),
        Err(e) => Err(vec![e.diagnostic(&file, Span::new(1, 1, 1))]),
    }
}

/// Checks an API file given as text; `file` names it in diagnostics, and
/// its extension says how to read it (`.spi`: the spi notation, else
/// YAML; see [`is_spi_source`]).
pub fn load_source(file: &str, src: &str) -> Result<Loaded, Vec<Diagnostic>> {
    let (spec, diags) = read_spec(file, src)?;
    let loaded = lower_spec(file, &spec, src, diags);
    if !is_spi_source(file, src) {
        return loaded;
    }
    match loaded {
        Ok(mut l) => {
            crate::front::spi::vocabulary::translate(&mut l.warnings);
            Ok(l)
        }
        Err(mut diags) => {
            crate::front::spi::vocabulary::translate(&mut diags);
            Err(diags)
        }
    }
}

/// The file name standing for standard input.
pub const STDIN: &str = "-";

/// Whether an API source is in the spi notation: a file named `*.spi`;
/// for standard input ([`STDIN`]), a text whose first line that is not
/// blank or a comment does not start like YAML (`key:`, `---`, a flow
/// collection, a list item, a quoted key).
pub fn is_spi_source(file: &str, src: &str) -> bool {
    if file != STDIN {
        return crate::front::spi::is_spi(file);
    }
    let Some(first) = src
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'))
    else {
        return false;
    };
    let key = first
        .split(':')
        .next()
        .filter(|k| first.contains(':') && syntax::is_identifier(k.trim()));
    let yaml_start = ["---", "{", "[", "- ", "\"", "'"];
    !(key.is_some() || first == "-" || yaml_start.iter().any(|p| first.starts_with(p)))
}

/// An API file's structure, read from YAML or the spi notation
/// ([`is_spi_source`]): the spec and the shape mistakes found in it, or
/// the errors that stopped reading (YAML syntax; a family file).
pub fn read_spec(file: &str, src: &str) -> Result<(Spec, Vec<Diagnostic>), Vec<Diagnostic>> {
    if is_spi_source(file, src) {
        return Ok(crate::front::spi::read(file, src));
    }
    let node = yaml::parse(file, src)?;
    if let yaml::NodeKind::Map(entries) = &node.kind {
        if let Some((key, _)) = entries.iter().find(|(k, _)| k.text == "family") {
            return Err(vec![Diagnostic::error(
                file,
                key.span,
                "this is a family file, not an API file",
            )
            .with_help(
                "`apisat check`, `apisat batch` and `apisat test` take family files; give this command the family's base API (its `base:`)",
            )]);
        }
    }
    Ok(spec::read(file, &node))
}

/// The built-in rules, read once per process.
fn builtin_spec() -> &'static Result<Spec, Vec<Diagnostic>> {
    static BUILTIN: std::sync::OnceLock<Result<Spec, Vec<Diagnostic>>> = std::sync::OnceLock::new();
    BUILTIN.get_or_init(|| {
        let node = yaml::parse(BUILTIN_FILE, BUILTIN_RULES)?;
        let (spec, diags) = spec::read(BUILTIN_FILE, &node);
        if diags.is_empty() {
            Ok(spec)
        } else {
            Err(diags)
        }
    })
}

/// Checks an already read spec (with the shape mistakes `diags` found
/// reading it) into a program; `src` is kept for rendering diagnostics.
pub fn lower_spec(
    file: &str,
    spec: &Spec,
    src: &str,
    diags: Vec<Diagnostic>,
) -> Result<Loaded, Vec<Diagnostic>> {
    let mut lw = Lowerer::new();
    match builtin_spec() {
        Ok(builtin) => lw.unit(BUILTIN_FILE, true, builtin),
        Err(errors) => lw.diags.extend(errors.iter().cloned()),
    }
    lw.diags.extend(diags);
    lw.unit(file, false, spec);
    lw.finish(file, spec, src)
}

/// Diagnostics in file and position order.
fn sorted(mut diags: Vec<Diagnostic>) -> Vec<Diagnostic> {
    diags.sort_by(|a, b| (&a.file, a.span).cmp(&(&b.file, b.span)));
    diags
}

/// A declared name.
#[derive(Clone, Debug)]
struct NameDecl {
    id: NameId,
    kind: NameKind,
    span: Span,
}

/// A declared constructor (tuples excluded).
#[derive(Clone, Debug)]
struct CtorDecl {
    id: CtorId,
    arity: usize,
    public: bool,
    builtin: bool,
    span: Span,
}

/// Where a rule name was first used.
#[derive(Clone, Debug)]
struct RuleSite {
    file: String,
    span: Span,
    function: bool,
}

/// How identifiers in a term are read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    /// Knowledge and secrets: names only.
    Ground,
    /// A rule's input: unknown identifiers are variables.
    Input,
    /// A rule's check: variables must be bound by inputs.
    Check,
    /// A rule's output: variables must be bound by inputs.
    Output,
}

/// The variables and fresh names of the rule being lowered.
#[derive(Debug, Default)]
struct RuleScope {
    deduction: bool,
    /// Variable names, indexed by number.
    vars: Vec<String>,
    index: HashMap<String, u32>,
    /// Occurrences and first position of each named variable.
    uses: Vec<(u32, Span)>,
    wildcards: u32,
    fresh: Vec<NameId>,
    /// True when an input or a field could not be read: unbound-variable
    /// errors may then only be consequences, and are not reported.
    incomplete: bool,
    /// Entries of `fresh` already reported as undeclared.
    bad_fresh: HashSet<String>,
    /// Objects an output creates from an attribute record: the attribute
    /// values by position, and where the record is written (the policy's
    /// checks are added for them).
    created: Vec<(Vec<TermId>, Span)>,
}

/// The state of lowering: one store, all declarations, all rules.
struct Lowerer {
    store: TermStore,
    diags: Vec<Diagnostic>,
    /// The file being lowered.
    file: String,
    builtin: bool,
    /// Names of the file being lowered, and their declaration order.
    names: HashMap<String, NameDecl>,
    name_order: Vec<String>,
    ctors: HashMap<String, CtorDecl>,
    ctor_order: Vec<String>,
    rule_sites: HashMap<String, RuleSite>,
    tuple_arities: BTreeSet<usize>,
    uses_xor: bool,
    fresh_owner: HashMap<NameId, (String, Span)>,
    calls: Vec<Rule>,
    deductions: Vec<Rule>,
    knowledge: Vec<TermId>,
    secrets: Vec<Secret>,
    /// Labels of secrets whose term could not be read (each has its error).
    unreadable_secrets: Vec<String>,
    /// What "did you mean" suggestions may still cost in this file.
    suggestions: spec::SuggestBudget,
    /// The file's named attributes and policy (`attributes:`), if any.
    attrs: Option<AttrModel>,
    /// [`misspelt_name`]'s answers per variable name, valid while
    /// `name_order` has the length kept beside them (it only grows within
    /// a file; `unit` clears both). Generated APIs reuse a few variable
    /// names in thousands of functions: without it, lowering 1,000
    /// functions beside 900 names spent 0.2 s comparing them.
    misspelt_memo: (usize, HashMap<String, Option<String>>),
}

/// How the token maintains a history attribute.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum History {
    /// T iff the attribute has always been T (`always sensitive`).
    Always(usize),
    /// T iff the attribute has never been T (`never extractable`).
    Never(usize),
}

/// `attributes:`, resolved: names by position, and the token's policy.
#[derive(Clone, Debug)]
struct AttrModel {
    handle: String,
    names: Vec<String>,
    index: HashMap<String, usize>,
    sticky_on: Vec<bool>,
    sticky_off: Vec<bool>,
    conflicts: Vec<(usize, usize)>,
    history: Vec<Option<History>>,
    t: TermId,
    f: TermId,
    setters: Vec<String>,
}

impl AttrModel {
    /// The attributes that conflict with `a`.
    fn partners(&self, a: usize) -> Vec<usize> {
        self.conflicts
            .iter()
            .filter_map(|&(x, y)| {
                if x == a {
                    Some(y)
                } else if y == a {
                    Some(x)
                } else {
                    None
                }
            })
            .collect()
    }
}

/// How a name kind is called in messages.
fn kind_word(kind: NameKind) -> &'static str {
    match kind {
        NameKind::Public => "public",
        NameKind::Tag => "a tag",
        NameKind::Secret => "secret",
        NameKind::Attacker => "an attacker name",
        NameKind::Fresh => "fresh",
    }
}

/// `f(x1, x2)` for a constructor of arity n, for help texts.
fn application_example(name: &str, arity: usize) -> String {
    let args: Vec<String> = (1..=arity).map(|i| format!("x{i}")).collect();
    format!("{name}({})", args.join(", "))
}

/// The declared name that a variable's name looks like a misspelling of:
/// the same letters in another case (`TDATA` for `TData`), or, for a
/// variable of 3 characters or more, within edit distance 1 ignoring case
/// (2 when either has more than 4 characters) and nearer than the shorter
/// one's length. The usual
/// convention of naming a variable after the key it holds is no
/// misspelling: an all-lower-case variable is compared only with
/// all-lower-case names (`tmk` beside `TMK1`, `kek` beside `KEK`, `k`
/// beside `K` are fine), and then only when they differ in more than a
/// number at the end (`kek` beside `kek2` is fine too). Two-letter
/// variables are too close to everything to judge (`kw` beside `k1`).
/// Numbered names are told apart by their numbers (see [`numbered_apart`]:
/// `a10` beside `s10`, `TMK2` beside `TMK1` are fine). The closest name
/// wins; ties go to the earliest declared.
fn misspelt_name<'a>(var: &str, names: &'a [String]) -> Option<&'a str> {
    let lower = |s: &str| !s.chars().any(char::is_uppercase);
    let var_len = var.chars().count();
    let folded = var.to_lowercase();
    let mut best: Option<(usize, &str)> = None;
    for name in names {
        if name == var {
            continue;
        }
        let len = name.chars().count();
        let stem = |s: &str| s.trim_end_matches(|c: char| c.is_ascii_digit()).to_string();
        if lower(var) && (!lower(name) || stem(var) == stem(name)) {
            continue;
        }
        if numbered_apart(var, name) {
            continue;
        }
        let d = spec::edit_distance(&folded, &name.to_lowercase());
        let limit = if var_len.max(len) > 4 { 2 } else { 1 };
        let close = d == 0 || (d <= limit && var_len >= 3 && d < var_len.min(len));
        if close && best.is_none_or(|(b, _)| d < b) {
            best = Some((d, name));
        }
    }
    best.map(|(_, n)| n)
}

/// True when `var` and `name` both end in a number and the numbers tell
/// them apart as different things rather than one misspelt: the numbers
/// differ (`TMK2` beside `TMK1`: another index, not a typo), or they are
/// equal and what comes before is another word, not a near miss of it
/// (`a10` beside `s10`: the one-letter stems differ wholly; generated
/// APIs name variables `a1..aN` beside fresh names `s1..sN`). `SHAER10`
/// beside `SHARE10` is a near miss, so not apart.
fn numbered_apart(var: &str, name: &str) -> bool {
    let split = |s: &str| {
        let stem = s.trim_end_matches(|c: char| c.is_ascii_digit());
        (stem.to_lowercase(), s[stem.len()..].to_string())
    };
    let (var_stem, var_number) = split(var);
    let (name_stem, name_number) = split(name);
    if var_number.is_empty() || name_number.is_empty() {
        return false;
    }
    if var_number != name_number {
        return true;
    }
    let d = spec::edit_distance(&var_stem, &name_stem);
    d > 0 && d >= var_stem.chars().count().min(name_stem.chars().count())
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("{n} {word}")
    } else {
        format!("{n} {word}s")
    }
}

impl Lowerer {
    fn new() -> Self {
        Lowerer {
            store: TermStore::new(),
            diags: Vec::new(),
            file: String::new(),
            builtin: false,
            names: HashMap::new(),
            name_order: Vec::new(),
            ctors: HashMap::new(),
            ctor_order: Vec::new(),
            rule_sites: HashMap::new(),
            tuple_arities: BTreeSet::new(),
            uses_xor: false,
            fresh_owner: HashMap::new(),
            calls: Vec::new(),
            deductions: Vec::new(),
            knowledge: Vec::new(),
            secrets: Vec::new(),
            unreadable_secrets: Vec::new(),
            suggestions: spec::SuggestBudget::new(),
            attrs: None,
            misspelt_memo: (0, HashMap::new()),
        }
    }

    fn error(&mut self, span: Span, message: impl Into<String>, help: impl Into<String>) {
        self.diags
            .push(Diagnostic::error(&self.file, span, message).with_help(help));
    }

    fn warning(&mut self, span: Span, message: impl Into<String>, help: impl Into<String>) {
        if !self.builtin {
            self.diags
                .push(Diagnostic::warning(&self.file, span, message).with_help(help));
        }
    }

    fn error_count(&self) -> usize {
        self.diags.iter().filter(|d| d.is_error()).count()
    }

    /// Lowers one file's declarations into the shared state.
    fn unit(&mut self, file: &str, builtin: bool, spec: &Spec) {
        self.file = file.to_string();
        self.builtin = builtin;
        self.names.clear();
        self.name_order.clear();
        self.misspelt_memo = (0, HashMap::new());
        self.version(spec);
        self.declare_names(spec);
        self.declare_ctors(spec);
        self.attrs = None;
        if let Some(a) = &spec.attributes {
            self.declare_attributes(a);
        }
        for k in &spec.knowledge {
            if let Some(t) = self.ground(k) {
                self.knowledge.push(t);
            }
        }
        for f in &spec.functions {
            if let Some(rule) = self.rule(f, RuleKind::Call) {
                self.calls.push(rule);
            }
        }
        for d in &spec.deductions {
            if let Some(rule) = self.rule(d, RuleKind::Deduction) {
                self.deductions.push(rule);
            }
        }
        if !builtin {
            self.unused_fresh(spec);
            self.lower_secrets(spec);
            self.expected_labels(spec);
        }
    }

    fn version(&mut self, spec: &Spec) {
        let Some(v) = &spec.apisat else { return };
        if !VERSIONS.contains(&v.text.trim()) {
            self.error(
                v.span,
                format!("unsupported language version `{}`", v.text),
                format!(
                    "this apisat reads version {}: write `apisat: 1`, or leave the field out",
                    VERSIONS.join(", ")
                ),
            );
        }
    }

    // ----- declarations ------------------------------------------------

    /// Checks that `s` may name a name or constructor; reports why not.
    fn valid_symbol(&mut self, s: &Scalar, what: &str) -> bool {
        let text = s.text.as_str();
        let problem = match text {
            "_" => Some(format!("`_` is the wildcard and cannot be a {what}")),
            "0" => Some(format!(
                "`0` is the built-in zero constant and cannot be a {what}"
            )),
            "xor" => Some(format!("`xor` is the XOR operator and cannot be a {what}")),
            _ if !syntax::is_identifier(text) => Some(format!("`{text}` is not a valid {what}")),
            _ => None,
        };
        match problem {
            Some(message) => {
                self.error(
                    s.span,
                    message,
                    format!("a {what} is letters, digits and `_`, starting with a letter or `_`, e.g. `K_1`"),
                );
                false
            }
            None => true,
        }
    }

    fn declare_names(&mut self, spec: &Spec) {
        for group in &spec.names {
            for s in &group.names {
                self.declare_name(s, group.kind);
            }
        }
        let has_attacker = self.names.values().any(|n| n.kind == NameKind::Attacker);
        if !self.builtin && !has_attacker {
            let mut text = "attacker".to_string();
            let mut i = 1;
            while self.names.contains_key(&text) || self.store.find_name(&text).is_some() {
                text = format!("attacker{i}");
                i += 1;
            }
            let id = self.store.declare_name(&text, NameKind::Attacker);
            let decl = NameDecl {
                id,
                kind: NameKind::Attacker,
                span: Span::new(1, 1, 1),
            };
            self.names.insert(text.clone(), decl);
            self.name_order.push(text);
        }
    }

    fn declare_name(&mut self, s: &Scalar, kind: NameKind) {
        if !self.valid_symbol(s, "name") {
            return;
        }
        let text = s.text.clone();
        if let Some(first) = self.names.get(&text).cloned() {
            let message = if first.kind == kind {
                format!(
                    "name `{text}` is declared twice; the first declaration is at line {}",
                    first.span.line
                )
            } else {
                format!(
                    "name `{text}` is declared {} here and {} at line {}",
                    kind_word(kind),
                    kind_word(first.kind),
                    first.span.line
                )
            };
            self.error(
                s.span,
                message,
                "a name has exactly one kind: keep one declaration",
            );
            return;
        }
        if let Some(c) = self.ctors.get(&text) {
            let at = if c.builtin {
                "a built-in constructor".to_string()
            } else {
                format!("a constructor declared at line {}", c.span.line)
            };
            self.error(
                s.span,
                format!("`{text}` is {at} and cannot also be a name"),
                format!("rename the name, e.g. `{text}_1`"),
            );
            return;
        }
        if self.store.find_name(&text).is_some() {
            self.error(
                s.span,
                format!("`{text}` is a name of the built-in rules"),
                format!("rename it, e.g. `{text}_1`"),
            );
            return;
        }
        let id = self.store.declare_name(&text, kind);
        self.names.insert(
            text.clone(),
            NameDecl {
                id,
                kind,
                span: s.span,
            },
        );
        self.name_order.push(text);
    }

    fn declare_ctors(&mut self, spec: &Spec) {
        for c in &spec.constructors {
            let ok = self.valid_symbol(&c.name, "constructor name");
            let text = c.name.text.clone();
            if ok
                && text.starts_with("tuple")
                && text[5..].chars().all(|ch| ch.is_ascii_digit())
                && text.len() > 5
            {
                self.error(
                    c.name.span,
                    format!("`{text}` is reserved for tuples"),
                    "write tuples as `(a, b)`; give your constructor another name",
                );
                continue;
            }
            if ok {
                if let Some(first) = self.ctors.get(&text) {
                    let (message, help) = if first.builtin && !self.builtin {
                        (
                            format!("`{text}` is a built-in constructor"),
                            format!("the built-in `{text}` takes {}; use it as it is, or name yours differently", plural(first.arity, "argument")),
                        )
                    } else {
                        (
                            format!("constructor `{text}` is declared twice; the first declaration is at line {}", first.span.line),
                            "keep one declaration".to_string(),
                        )
                    };
                    self.error(c.name.span, message, help);
                    continue;
                }
                if let Some(n) = self.names.get(&text) {
                    let line = n.span.line;
                    self.error(
                        c.name.span,
                        format!("`{text}` is already declared as a name at line {line}"),
                        format!("a constructor and a name cannot share a name; rename one, e.g. `{text}_f`"),
                    );
                    continue;
                }
            }
            let arity = c.arity.value;
            if !(1..=MAX_ARITY).contains(&arity) {
                self.error(
                    c.arity.span,
                    format!("arity {arity} is out of range"),
                    format!("a constructor takes from 1 to {MAX_ARITY} arguments; group more as a tuple `(a, b, ...)`"),
                );
                continue;
            }
            if !ok {
                continue;
            }
            let arity = arity as usize;
            let id = self.store.declare_ctor(&text, arity, !c.private);
            let decl = CtorDecl {
                id,
                arity,
                public: !c.private,
                builtin: self.builtin,
                span: c.name.span,
            };
            self.ctors.insert(text.clone(), decl);
            self.ctor_order.push(text);
        }
    }

    // ----- terms -------------------------------------------------------

    fn syntax_error(&mut self, s: &Scalar, e: SyntaxError) {
        let span = s.token_span(e.offset, e.len);
        let mut d = Diagnostic::error(&self.file, span, e.message);
        if let Some(h) = e.help {
            d = d.with_help(h);
        }
        self.diags.push(d);
    }

    /// A ground term (knowledge, secret).
    fn ground(&mut self, s: &Scalar) -> Option<TermId> {
        match syntax::parse_term(&s.text) {
            Ok(ast) => {
                let mut scope = RuleScope::default();
                self.term(s, &ast, Mode::Ground, &mut scope)
            }
            Err(e) => {
                self.syntax_error(s, e);
                None
            }
        }
    }

    /// Lowers a parsed term; reports every mistake in it.
    fn term(
        &mut self,
        s: &Scalar,
        t: &syntax::Term,
        mode: Mode,
        scope: &mut RuleScope,
    ) -> Option<TermId> {
        let span = s.token_span(t.offset, t.len);
        match &t.kind {
            TermKind::Ident(w) => self.ident(w, span, mode, scope),
            TermKind::Wildcard => {
                if mode == Mode::Input {
                    scope.wildcards += 1;
                    let n = scope.vars.len() as u32;
                    scope.vars.push(format!("_{}", scope.wildcards));
                    return Some(self.store.var(n));
                }
                let help = match mode {
                    Mode::Ground => "knowledge and secrets are ground terms: write a name or a term",
                    _ => "`_` matches anything, but only in inputs; here, name the value with a variable bound in an input",
                };
                let place = match mode {
                    Mode::Ground => "a ground term",
                    Mode::Check => "a check",
                    _ => "an output",
                };
                self.error(span, format!("`_` cannot appear in {place}"), help);
                None
            }
            TermKind::Zero => {
                self.uses_xor = true;
                Some(self.store.zero())
            }
            TermKind::Xor(ops) => {
                self.uses_xor = true;
                let ids: Vec<Option<TermId>> =
                    ops.iter().map(|o| self.term(s, o, mode, scope)).collect();
                let ids: Option<Vec<TermId>> = ids.into_iter().collect();
                Some(self.store.xor(&ids?))
            }
            TermKind::Tuple(items) => {
                let ids: Vec<Option<TermId>> =
                    items.iter().map(|i| self.term(s, i, mode, scope)).collect();
                let ids: Option<Vec<TermId>> = ids.into_iter().collect();
                let ids = ids?;
                self.tuple_arities.insert(ids.len());
                let ctor = self.store.tuple_ctor(ids.len());
                Some(self.store.app(ctor, &ids))
            }
            TermKind::Enc(fields, key) => {
                let f: Vec<Option<TermId>> = fields
                    .iter()
                    .map(|i| self.term(s, i, mode, scope))
                    .collect();
                let k = self.term(s, key, mode, scope);
                let f: Option<Vec<TermId>> = f.into_iter().collect();
                let (f, k) = (f?, k?);
                let Some(senc) = self.ctors.get("senc").map(|c| c.id) else {
                    self.error(
                        span,
                        "`{m}k` needs the built-in constructor `senc`, which is not declared",
                        "this is a bug in the built-in rules",
                    );
                    return None;
                };
                let plain = if f.len() == 1 {
                    f[0]
                } else {
                    self.tuple_arities.insert(f.len());
                    let ctor = self.store.tuple_ctor(f.len());
                    self.store.app(ctor, &f)
                };
                Some(self.store.app(senc, &[plain, k]))
            }
            TermKind::Record(_) => {
                let help = match &self.attrs {
                    Some(a) => format!(
                        "an attribute record `{{wrap: T}}` is written only as a handle's attributes: `{}(k, {{...}})`",
                        a.handle
                    ),
                    None => "declare the attribute names under `attributes: names: [...]` and write records as a handle's attributes, `hdl(k, {wrap: T})`; for encryption write `{m}k`".to_string(),
                };
                self.error(span, "an attribute record is not a term here", help);
                None
            }
            TermKind::App(f, args) => {
                let name_span = s.token_span(t.offset, f.chars().count());
                let is_handle = self
                    .attrs
                    .as_ref()
                    .is_some_and(|a| &a.handle == f && args.len() == 2);
                let mut ids: Vec<Option<TermId>> = Vec::new();
                for (i, a) in args.iter().enumerate() {
                    ids.push(if is_handle && i == 1 {
                        self.attribute_arg(s, a, mode, scope)
                    } else {
                        self.term(s, a, mode, scope)
                    });
                }
                let Some(ctor) = self.ctors.get(f).cloned() else {
                    let known = spec::listing(&self.ctor_order);
                    let help = match spec::suggest_within(
                        f,
                        self.ctor_order.iter().map(String::as_str),
                        &self.suggestions,
                    ) {
                        Some(c) => format!("did you mean `{c}`? the constructors are: {known}"),
                        None => format!(
                            "the constructors are: {known}; declare your own under `constructors`"
                        ),
                    };
                    let message = if self.names.contains_key(f) {
                        format!("`{f}` is a name, not a constructor: it cannot be applied")
                    } else {
                        format!("unknown constructor `{f}`")
                    };
                    self.error(name_span, message, help);
                    return None;
                };
                if ctor.arity != args.len() {
                    self.error(
                        name_span,
                        format!(
                            "`{f}` takes {}, found {}",
                            plural(ctor.arity, "argument"),
                            args.len()
                        ),
                        if args.len() > ctor.arity {
                            format!(
                                "write `{}`; group several values as one tuple argument `(a, b)`",
                                application_example(f, ctor.arity)
                            )
                        } else {
                            format!("write `{}`", application_example(f, ctor.arity))
                        },
                    );
                    return None;
                }
                if scope.deduction && !ctor.public {
                    match mode {
                        Mode::Output => self.error(
                            name_span,
                            "the attacker cannot build a private constructor",
                            format!("`{f}` is declared `private: true`: only the HSM's functions build it; remove this output, or make `{f}` public"),
                        ),
                        Mode::Input => self.error(
                            name_span,
                            "the attacker cannot take a private constructor apart",
                            format!("`{f}` is declared `private: true`: only the HSM's functions open it; move this rule under `functions`, or make `{f}` public"),
                        ),
                        _ => {}
                    }
                }
                let ids: Option<Vec<TermId>> = ids.into_iter().collect();
                Some(self.store.app(ctor.id, &ids?))
            }
        }
    }

    /// The attributes of a handle: a record, expanded to the positional
    /// tuple (unnamed attributes are `_` in inputs, F elsewhere, history
    /// attributes as the token sets them at creation), or a tuple of every
    /// attribute.
    fn attribute_arg(
        &mut self,
        s: &Scalar,
        a: &syntax::Term,
        mode: Mode,
        scope: &mut RuleScope,
    ) -> Option<TermId> {
        let model = self.attrs.clone()?;
        let n = model.names.len();
        let span = s.token_span(a.offset, a.len);
        let values: Vec<TermId> = match &a.kind {
            TermKind::Record(fields) => self.record(s, fields, span, &model, mode, scope)?,
            TermKind::Tuple(items) if items.len() != n => {
                self.error(
                    span,
                    format!(
                        "`{}` holds {} attributes ({}), found a tuple of {}",
                        model.handle,
                        n,
                        model.names.join(", "),
                        items.len()
                    ),
                    format!(
                        "name them instead: `{}(k, {{{}: T}})`",
                        model.handle, model.names[0]
                    ),
                );
                return None;
            }
            _ => {
                let id = self.term(s, a, mode, scope)?;
                if mode == Mode::Ground {
                    if let Term::App(_, items) = self.store.get(id).clone() {
                        if items.len() == n {
                            self.conflict_free(&items, span, &model, "this initial object")?;
                        }
                    }
                }
                return Some(id);
            }
        };
        if mode == Mode::Ground {
            self.conflict_free(&values, span, &model, "this initial object")?;
        }
        if mode == Mode::Output {
            scope.created.push((values.clone(), span));
        }
        Some(self.attribute_tuple(&values))
    }

    /// The positional attribute tuple (a single value for one attribute).
    fn attribute_tuple(&mut self, values: &[TermId]) -> TermId {
        if values.len() == 1 {
            return values[0];
        }
        let ctor = self.store.tuple_ctor(values.len());
        self.store.app(ctor, values)
    }

    /// Reports a conflicting pair both T among ground values.
    fn conflict_free(
        &mut self,
        values: &[TermId],
        span: Span,
        model: &AttrModel,
        what: &str,
    ) -> Option<()> {
        for &(x, y) in &model.conflicts {
            if values[x] == model.t && values[y] == model.t {
                self.error(
                    span,
                    format!(
                        "{what} has both `{}` and `{}`, which conflict",
                        model.names[x], model.names[y]
                    ),
                    format!(
                        "the token's policy (`attributes: conflicts`) refuses such an object: set at most one of `{}` and `{}`",
                        model.names[x], model.names[y]
                    ),
                );
                return None;
            }
        }
        Some(())
    }

    /// An attribute record's values by position.
    fn record(
        &mut self,
        s: &Scalar,
        fields: &[RecordField],
        span: Span,
        model: &AttrModel,
        mode: Mode,
        scope: &mut RuleScope,
    ) -> Option<Vec<TermId>> {
        let n = model.names.len();
        let mut values: Vec<Option<TermId>> = vec![None; n];
        let mut given: Vec<Option<Span>> = vec![None; n];
        let mut ok = true;
        for field in fields {
            let at = s.token_span(field.offset, field.len);
            let Some(&i) = model.index.get(&field.name) else {
                let help = match spec::suggest(&field.name, model.names.iter().map(String::as_str))
                {
                    Some(c) => format!(
                        "did you mean `{c}`? the attributes are: {}",
                        spec::listing(&model.names)
                    ),
                    None => format!(
                        "the attributes are: {}; declare more under `attributes: names`",
                        spec::listing(&model.names)
                    ),
                };
                self.error(at, format!("unknown attribute `{}`", field.name), help);
                ok = false;
                continue;
            };
            if let Some(first) = given[i] {
                self.error(
                    at,
                    format!(
                        "attribute `{}` is given twice in this record (first at column {})",
                        field.name, first.col
                    ),
                    "give each attribute once",
                );
                ok = false;
                continue;
            }
            given[i] = Some(at);
            match self.term(s, &field.value, mode, scope) {
                Some(v) => values[i] = Some(v),
                None => ok = false,
            }
        }
        if !ok {
            return None;
        }
        let mut out = Vec::with_capacity(n);
        for i in 0..n {
            if let Some(v) = values[i] {
                out.push(v);
                continue;
            }
            let v = match (mode, model.history[i]) {
                (Mode::Input, _) => {
                    scope.wildcards += 1;
                    let k = scope.vars.len() as u32;
                    scope.vars.push(format!("_{}", scope.wildcards));
                    self.store.var(k)
                }
                (_, Some(History::Always(a))) => values[a].unwrap_or(model.f),
                (_, Some(History::Never(a))) => match values[a] {
                    None => model.t,
                    Some(v) if v == model.f => model.t,
                    Some(v) if v == model.t => model.f,
                    Some(_) => {
                        self.error(
                            span,
                            format!(
                                "`{}` cannot be computed here: the token sets it to the opposite of `{}`, which is not T or F in this record",
                                model.names[i], model.names[a]
                            ),
                            format!(
                                "write `{}: T` or `{}: F` in this record (or give `{}` a value T or F)",
                                model.names[i], model.names[i], model.names[a]
                            ),
                        );
                        return None;
                    }
                },
                _ => model.f,
            };
            out.push(v);
        }
        Some(out)
    }

    /// `attributes:`: names, handle constructor, values T and F, policy.
    fn declare_attributes(&mut self, decl: &spec::AttributesDecl) {
        let mut names = Vec::new();
        let mut index = HashMap::new();
        let mut spans = Vec::new();
        for s in &decl.names {
            if !self.valid_symbol(s, "attribute name") {
                continue;
            }
            if let Some(&i) = index.get(&s.text) {
                let first: &Span = &spans[i];
                self.error(
                    s.span,
                    format!(
                        "attribute `{}` is declared twice; the first declaration is at line {}",
                        s.text, first.line
                    ),
                    "list each attribute once",
                );
                continue;
            }
            index.insert(s.text.clone(), names.len());
            names.push(s.text.clone());
            spans.push(s.span);
        }
        if names.is_empty() {
            self.error(
                decl.key,
                "`attributes` declares no attribute",
                "list the attribute names, e.g. `names: [wrap, decrypt, extractable]`",
            );
            return;
        }
        // The handle constructor: declared private of arity 2, or declared here.
        let handle = decl
            .handle
            .as_ref()
            .map_or_else(|| "hdl".to_string(), |h| h.text.trim().to_string());
        let at = decl.handle.as_ref().map_or(decl.key, |h| h.span);
        match self.ctors.get(&handle).cloned() {
            Some(c) if c.builtin || c.public || c.arity != 2 => {
                let at = if decl.handle.is_some() || c.builtin {
                    at
                } else {
                    c.span
                };
                self.error(
                    at,
                    format!("`{handle}` cannot hold attributes: it is {}", if c.builtin { "a built-in constructor".to_string() } else if c.public { format!("public (line {})", c.span.line) } else { format!("of arity {} (line {})", c.arity, c.span.line) }),
                    format!("the handle constructor is private with arity 2, `{handle}(key, attributes)`: declare it so, or name another under `attributes: handle`"),
                );
                return;
            }
            Some(_) => {}
            None => {
                if let Some(n) = self.names.get(&handle) {
                    let line = n.span.line;
                    self.error(
                        at,
                        format!("`{handle}` is declared as a name at line {line}, so it cannot be the handle constructor"),
                        "rename the name, or name another handle constructor under `attributes: handle`",
                    );
                    return;
                }
                if !self.valid_symbol(
                    &Scalar {
                        text: handle.clone(),
                        kind: crate::front::yaml::ScalarKind::Str,
                        span: at,
                        content: None,
                        map: None,
                    },
                    "constructor name",
                ) {
                    return;
                }
                let id = self.store.declare_ctor(&handle, 2, false);
                self.ctors.insert(
                    handle.clone(),
                    CtorDecl {
                        id,
                        arity: 2,
                        public: false,
                        builtin: false,
                        span: at,
                    },
                );
                self.ctor_order.push(handle.clone());
            }
        }
        // The values T and F: public names, declared here when absent.
        let value = |lw: &mut Lowerer, text: &str| -> Option<TermId> {
            match lw.names.get(text).cloned() {
                Some(d) if d.kind.is_public() => Some(lw.store.name_term(d.id)),
                Some(d) => {
                    lw.error(
                        d.span,
                        format!("`{text}` is an attribute value, but is declared {}", kind_word(d.kind)),
                        format!("attribute values T and F are public: declare `{text}` under `tags`, or leave it out (`attributes` declares T and F)"),
                    );
                    None
                }
                None => {
                    let id = lw.store.declare_name(text, NameKind::Tag);
                    lw.names.insert(
                        text.to_string(),
                        NameDecl {
                            id,
                            kind: NameKind::Tag,
                            span: decl.key,
                        },
                    );
                    lw.name_order.push(text.to_string());
                    Some(lw.store.name_term(id))
                }
            }
        };
        let (t, f) = (value(self, "T"), value(self, "F"));
        let (Some(t), Some(f)) = (t, f) else { return };
        let n = names.len();
        let mut model = AttrModel {
            handle,
            names,
            index,
            sticky_on: vec![false; n],
            sticky_off: vec![false; n],
            conflicts: Vec::new(),
            history: vec![None; n],
            t,
            f,
            setters: Vec::new(),
        };
        // History attributes first: the policy may not name them.
        for (key, rule) in &decl.history {
            let Some(h) = self.attribute(&model, &key.text, key.span, "`history`") else {
                continue;
            };
            let words: Vec<&str> = rule.text.split_whitespace().collect();
            let parsed = match words.as_slice() {
                [w @ ("always" | "never"), a] => Some((*w, *a)),
                _ => None,
            };
            let Some((w, a)) = parsed else {
                self.error(
                    rule.span,
                    format!("`{}` is not a history rule", rule.text),
                    format!("write `{}: always <attribute>` (T while the attribute has always been T) or `{}: never <attribute>` (T while it has never been T), e.g. `always sensitive`", key.text, key.text),
                );
                continue;
            };
            let Some(a) = self.attribute(&model, a, rule.span, "`history`") else {
                continue;
            };
            if a == h || model.history[a].is_some() {
                self.error(
                    rule.span,
                    format!(
                        "history attribute `{}` must follow an ordinary attribute, not `{}`",
                        key.text, model.names[a]
                    ),
                    "name an attribute the functions set, e.g. `always sensitive`",
                );
                continue;
            }
            model.history[h] = Some(if w == "always" {
                History::Always(a)
            } else {
                History::Never(a)
            });
        }
        let maintained = |lw: &mut Lowerer,
                          model: &AttrModel,
                          i: usize,
                          span: Span,
                          field: &str|
         -> bool {
            if model.history[i].is_some() {
                lw.error(
                    span,
                    format!("`{}` is a history attribute, maintained by the token; it cannot be in `{field}`", model.names[i]),
                    format!("name the attribute it follows instead, or remove `{}` from `{field}`", model.names[i]),
                );
                return true;
            }
            false
        };
        for (list, on) in [(&decl.sticky_on, true), (&decl.sticky_off, false)] {
            let field = if on { "sticky_on" } else { "sticky_off" };
            for s in list {
                let Some(i) = self.attribute(&model, &s.text, s.span, &format!("`{field}`")) else {
                    continue;
                };
                if maintained(self, &model, i, s.span, field) {
                    continue;
                }
                if on {
                    model.sticky_on[i] = true;
                } else {
                    model.sticky_off[i] = true;
                }
            }
        }
        for (a, b) in &decl.conflicts {
            let x = self.attribute(&model, &a.text, a.span, "`conflicts`");
            let y = self.attribute(&model, &b.text, b.span, "`conflicts`");
            let (Some(x), Some(y)) = (x, y) else { continue };
            if maintained(self, &model, x, a.span, "conflicts")
                || maintained(self, &model, y, b.span, "conflicts")
            {
                continue;
            }
            if x == y {
                self.error(
                    b.span,
                    format!("`{}` conflicts with itself: no object could ever have it", a.text),
                    "a conflict names two different attributes; to forbid one, leave it out of every template",
                );
                continue;
            }
            if model.conflicts.contains(&(x, y)) || model.conflicts.contains(&(y, x)) {
                self.error(
                    a.span,
                    format!(
                        "the conflict of `{}` and `{}` is listed twice",
                        a.text, b.text
                    ),
                    "list each conflicting pair once",
                );
                continue;
            }
            model.conflicts.push((x, y));
        }
        self.attrs = Some(model);
    }

    /// A declared attribute's position, or an error at `span`.
    fn attribute(
        &mut self,
        model: &AttrModel,
        name: &str,
        span: Span,
        field: &str,
    ) -> Option<usize> {
        if let Some(&i) = model.index.get(name.trim()) {
            return Some(i);
        }
        let help = match spec::suggest(name, model.names.iter().map(String::as_str)) {
            Some(c) => format!(
                "did you mean `{c}`? the attributes are: {}",
                spec::listing(&model.names)
            ),
            None => format!(
                "the attributes are: {}; declare it under `attributes: names`",
                spec::listing(&model.names)
            ),
        };
        self.error(
            span,
            format!("{field} names `{name}`, which is not a declared attribute"),
            help,
        );
        None
    }

    /// The policy's checks on the objects a function creates from records:
    /// each attribute value T or F, no conflicting pair both T.
    fn creation_checks(&mut self, scope: &RuleScope, checks: &mut Vec<Check>) {
        let Some(model) = self.attrs.clone() else {
            return;
        };
        let both = {
            let c = self.store.tuple_ctor(2);
            self.store.app(c, &[model.t, model.t])
        };
        for (values, span) in &scope.created {
            for &v in values {
                if !self.store.is_ground(v) {
                    let c = Check::OneOf(v, vec![model.t, model.f]);
                    if !checks.contains(&c) {
                        checks.push(c);
                    }
                }
            }
            if self
                .conflict_free(values, *span, &model, "the object this output creates")
                .is_none()
            {
                continue;
            }
            for &(x, y) in &model.conflicts {
                let (vx, vy) = (values[x], values[y]);
                if vx == model.f || vy == model.f {
                    continue;
                }
                let c = self.store.tuple_ctor(2);
                let pair = self.store.app(c, &[vx, vy]);
                checks.push(Check::NotEqual(pair, both));
            }
        }
    }

    /// A function with `sets` (SetAttributeValue): its input handle, the
    /// policy's checks, and the changed handle as its one output.
    fn setter(
        &mut self,
        decl: &RuleDecl,
        name: &str,
        scope: &mut RuleScope,
    ) -> Option<(TermId, Vec<Check>, TermId)> {
        let Some(model) = self.attrs.clone() else {
            self.error(
                decl.sets[0].0.span,
                format!("function `{name}` sets attributes, but the file declares none"),
                "declare them under `attributes: names: [...]`",
            );
            return None;
        };
        if let Some(o) = decl.outputs.first() {
            self.error(
                o.span,
                format!("function `{name}` has `sets` and `outputs`"),
                "a function with `sets` returns the changed handle itself: remove `outputs`",
            );
            return None;
        }
        if let Some(extra) = decl.inputs.get(1) {
            self.error(
                extra.span,
                format!("function `{name}` has `sets` and more than one input"),
                format!("a function with `sets` takes one handle, e.g. `inputs: [\"{}(k, {{modifiable: T}})\"]`", model.handle),
            );
            return None;
        }
        let default = Scalar {
            text: format!("{}(k, {{}})", model.handle),
            kind: crate::front::yaml::ScalarKind::Str,
            span: decl.name.span,
            content: None,
            map: None,
        };
        let input_text = decl.inputs.first().unwrap_or(&default);
        let input = match syntax::parse_term(&input_text.text) {
            Ok(ast) => self.term(input_text, &ast, Mode::Input, scope)?,
            Err(e) => {
                self.syntax_error(input_text, e);
                return None;
            }
        };
        let handle = self.ctors.get(&model.handle).map(|c| c.id)?;
        let n = model.names.len();
        let (key, old) = match self.store.get(input).clone() {
            Term::App(c, args) if c == handle => {
                let old: Vec<TermId> = if n == 1 {
                    vec![args[1]]
                } else {
                    match self.store.get(args[1]).clone() {
                        Term::App(_, items) if items.len() == n => items.to_vec(),
                        _ => Vec::new(),
                    }
                };
                (args[0], old)
            }
            _ => (input, Vec::new()),
        };
        if old.len() != n {
            self.error(
                input_text.span,
                format!("the input of `{name}` is not a handle with its attributes"),
                format!(
                    "a function with `sets` takes one handle, `{}(k, {{...}})`",
                    model.handle
                ),
            );
            return None;
        }
        let mut set: Vec<Option<TermId>> = vec![None; n];
        let mut ok = true;
        for (k, v) in &decl.sets {
            let Some(i) = self.attribute(&model, &k.text, k.span, "`sets`") else {
                ok = false;
                continue;
            };
            if model.history[i].is_some() {
                self.error(
                    k.span,
                    format!(
                        "`{}` is a history attribute, maintained by the token",
                        k.text
                    ),
                    "no function sets it; set the attribute it follows",
                );
                ok = false;
                continue;
            }
            if set[i].is_some() {
                self.error(
                    k.span,
                    format!("`sets` gives `{}` twice", k.text),
                    "give each attribute once",
                );
                ok = false;
                continue;
            }
            let value = match v.text.trim() {
                "T" => model.t,
                "F" => model.f,
                other => {
                    self.error(
                        v.span,
                        format!("`sets` gives `{}` the value `{other}`", k.text),
                        format!("an attribute is set to `T` or `F`, e.g. `{}: T`", k.text),
                    );
                    ok = false;
                    continue;
                }
            };
            set[i] = Some(value);
        }
        if !ok {
            return None;
        }
        for &(x, y) in &model.conflicts {
            if set[x] == Some(model.t) && set[y] == Some(model.t) {
                self.error(
                    decl.sets[0].0.span,
                    format!(
                        "`{name}` sets both `{}` and `{}`, which conflict",
                        model.names[x], model.names[y]
                    ),
                    "the token refuses such a change; set one of them",
                );
                return None;
            }
        }
        let mut checks = Vec::new();
        let mut new = old.clone();
        for i in 0..n {
            let Some(v) = set[i] else { continue };
            new[i] = v;
            if v == model.f && model.sticky_on[i] {
                checks.push(Check::Equal(old[i], model.f));
            }
            if v == model.t && model.sticky_off[i] {
                checks.push(Check::Equal(old[i], model.t));
            }
            if v == model.t {
                for p in model.partners(i) {
                    if set[p].is_none() {
                        checks.push(Check::Equal(old[p], model.f));
                    }
                }
            }
        }
        for (value, history) in new.iter_mut().zip(&model.history) {
            let leaves = match history {
                Some(History::Always(a)) => set[*a] == Some(model.f),
                Some(History::Never(a)) => set[*a] == Some(model.t),
                None => false,
            };
            if leaves {
                *value = model.f;
            }
        }
        let attrs = self.attribute_tuple(&new);
        let output = self.store.app(handle, &[key, attrs]);
        if let Some(m) = self.attrs.as_mut() {
            m.setters.push(name.to_string());
        }
        Some((input, checks, output))
    }

    /// Resolves an identifier: a name, else (by mode) a variable.
    fn ident(&mut self, w: &str, span: Span, mode: Mode, scope: &mut RuleScope) -> Option<TermId> {
        if let Some(decl) = self.names.get(w).cloned() {
            if mode == Mode::Output
                && decl.kind == NameKind::Fresh
                && !scope.fresh.contains(&decl.id)
            {
                let help = if scope.deduction {
                    "a deduction generates nothing; only a function's `fresh` values are new"
                        .to_string()
                } else {
                    match self.fresh_owner.get(&decl.id) {
                        Some((owner, _)) => format!("`{w}` is generated by `{owner}`; declare another fresh name for this function, or take the value from an input"),
                        None => format!("list `{w}` under this function's `fresh`"),
                    }
                };
                self.error(
                    span,
                    format!(
                        "fresh name `{w}` is not generated by this {}",
                        if scope.deduction {
                            "deduction"
                        } else {
                            "function"
                        }
                    ),
                    help,
                );
                return None;
            }
            return Some(self.store.name_term(decl.id));
        }
        if let Some(c) = self.ctors.get(w) {
            let example = application_example(w, c.arity);
            self.error(
                span,
                format!("`{w}` is a constructor, not a name"),
                format!("apply it to its arguments: `{example}`"),
            );
            return None;
        }
        match mode {
            Mode::Ground => {
                let help = match spec::suggest_within(
                    w,
                    self.name_order.iter().map(String::as_str),
                    &self.suggestions,
                ) {
                    Some(n) => format!("did you mean `{n}`? otherwise declare `{w}` under `names`"),
                    None => format!(
                        "declare `{w}` under `names` (public, tags, secret, fresh or attacker)"
                    ),
                };
                self.error(span, format!("unknown name `{w}`"), help);
                None
            }
            Mode::Input => {
                let n = match scope.index.get(w) {
                    Some(&n) => {
                        scope.uses[n as usize].0 += 1;
                        n
                    }
                    None => {
                        let n = scope.vars.len() as u32;
                        scope.vars.push(w.to_string());
                        scope.index.insert(w.to_string(), n);
                        scope.uses.resize(scope.vars.len(), (0, span));
                        scope.uses[n as usize] = (1, span);
                        n
                    }
                };
                Some(self.store.var(n))
            }
            Mode::Check | Mode::Output => {
                if let Some(&n) = scope.index.get(w) {
                    scope.uses[n as usize].0 += 1;
                    return Some(self.store.var(n));
                }
                if !scope.incomplete && !scope.bad_fresh.contains(w) {
                    let place = if mode == Mode::Check {
                        "check"
                    } else {
                        "output"
                    };
                    let mut bound: Vec<&str> = scope.index.keys().map(String::as_str).collect();
                    bound.sort_unstable();
                    let candidates = self
                        .name_order
                        .iter()
                        .map(String::as_str)
                        .chain(bound.iter().copied());
                    let hint = match spec::suggest_within(w, candidates, &self.suggestions) {
                        Some(c) => format!("did you mean `{c}`? otherwise "),
                        None => String::new(),
                    };
                    let fresh = if mode == Mode::Output && !scope.deduction {
                        ", or, if the HSM generates it, declare it under `names.fresh` and list it under this function's `fresh`".to_string()
                    } else {
                        String::new()
                    };
                    self.error(
                        span,
                        format!("variable `{w}` in {place} is bound by no input"),
                        format!("{hint}bind `{w}` in an input, or declare it as a name under `names`{fresh}"),
                    );
                }
                None
            }
        }
    }

    // ----- rules -------------------------------------------------------

    fn rule(&mut self, decl: &RuleDecl, kind: RuleKind) -> Option<Rule> {
        let errors = self.error_count();
        let what = if kind == RuleKind::Call {
            "function"
        } else {
            "deduction"
        };
        let name = decl.name.text.trim().to_string();
        if name.is_empty() {
            self.error(
                decl.name.span,
                format!("the {what}'s name is empty"),
                "write a name unique in the file",
            );
        } else if let Some(first) = self.rule_sites.get(&name).cloned() {
            let first_what = if first.function {
                "function"
            } else {
                "deduction"
            };
            let message = if first.file == self.file {
                format!(
                    "duplicate name `{name}`: a {first_what} of that name is defined at line {}",
                    first.span.line
                )
            } else {
                format!(
                    "`{name}` is already the name of a built-in {first_what} ({}:{})",
                    first.file, first.span.line
                )
            };
            self.error(
                decl.name.span,
                message,
                "give every function and deduction its own name",
            );
        } else {
            let site = RuleSite {
                file: self.file.clone(),
                span: decl.name.span,
                function: kind == RuleKind::Call,
            };
            self.rule_sites.insert(name.clone(), site);
        }
        let lists = [
            (&decl.inputs, "inputs"),
            (&decl.checks, "checks"),
            (&decl.fresh, "fresh names"),
            (&decl.outputs, "outputs"),
        ];
        let mut too_long = false;
        for (list, field) in lists {
            if let Some(s) = list.get(syntax::MAX_ARITY) {
                self.error(
                    s.span,
                    format!(
                        "{what} `{name}` has {} {field}, more than {}",
                        list.len(),
                        syntax::MAX_ARITY
                    ),
                    format!(
                        "a function or deduction has at most {} inputs, checks, fresh names and outputs (README: Limits); group values into tuples",
                        syntax::MAX_ARITY
                    ),
                );
                too_long = true;
            }
        }
        if too_long {
            return None;
        }
        let mut scope = RuleScope {
            deduction: kind == RuleKind::Deduction,
            incomplete: !decl.intact,
            ..RuleScope::default()
        };
        self.fresh(decl, &name, &mut scope);
        if !decl.sets.is_empty() && kind == RuleKind::Call {
            let (input, mut checks, output) = self.setter(decl, &name, &mut scope)?;
            for s in &decl.checks {
                if let Some(c) = self.check(s, &mut scope) {
                    checks.push(c);
                }
            }
            if self.error_count() > errors {
                return None;
            }
            return Some(Rule {
                name,
                kind,
                inputs: vec![input],
                checks,
                outputs: vec![output],
                var_names: scope.vars,
                fresh: scope.fresh,
                span: decl.name.span,
            });
        }
        let mut inputs = Vec::new();
        for s in &decl.inputs {
            match syntax::parse_term(&s.text) {
                Ok(ast) => match self.term(s, &ast, Mode::Input, &mut scope) {
                    Some(t) => inputs.push(t),
                    None => scope.incomplete = true,
                },
                Err(e) => {
                    self.syntax_error(s, e);
                    scope.incomplete = true;
                }
            }
        }
        let mut checks = Vec::new();
        for s in &decl.checks {
            if let Some(c) = self.check(s, &mut scope) {
                checks.push(c);
            }
        }
        let mut outputs = Vec::new();
        for s in &decl.outputs {
            match syntax::parse_term(&s.text) {
                Ok(ast) => outputs.extend(self.term(s, &ast, Mode::Output, &mut scope)),
                Err(e) => self.syntax_error(s, e),
            }
        }
        self.creation_checks(&scope, &mut checks);
        if decl.outputs.is_empty() && decl.intact {
            self.error(
                decl.name.span,
                format!("{what} `{name}` has no outputs"),
                format!("list what the {what} returns under `outputs`"),
            );
        }
        if self.error_count() == errors {
            self.cancelled_variables(decl, &inputs, &checks, &outputs, &scope);
        }
        if self.error_count() > errors {
            return None;
        }
        self.single_uses(&scope);
        Some(Rule {
            name,
            kind,
            inputs,
            checks,
            outputs,
            var_names: scope.vars,
            fresh: scope.fresh,
            span: decl.name.span,
        })
    }

    /// A variable written in an input can vanish from it under XOR (`x xor
    /// x xor A` is `A`): then no input binds it, and an output or check
    /// that uses it has no value. Reported at the input that cancels it.
    fn cancelled_variables(
        &mut self,
        decl: &RuleDecl,
        inputs: &[TermId],
        checks: &[Check],
        outputs: &[TermId],
        scope: &RuleScope,
    ) {
        let bound: Vec<u32> = inputs.iter().flat_map(|t| self.store.vars(*t)).collect();
        let mut used: Vec<u32> = Vec::new();
        let check_terms = checks.iter().flat_map(|c| match c {
            Check::Equal(a, b) | Check::NotEqual(a, b) => vec![*a, *b],
            Check::OneOf(a, list) => std::iter::once(*a).chain(list.iter().copied()).collect(),
        });
        for t in outputs.iter().copied().chain(check_terms) {
            for v in self.store.vars(t) {
                if !bound.contains(&v) && !used.contains(&v) {
                    used.push(v);
                }
            }
        }
        for v in used {
            let Some(var) = scope.vars.get(v as usize).cloned() else {
                continue;
            };
            let at = decl
                .inputs
                .iter()
                .find(|s| s.text.contains(var.as_str()))
                .map_or(decl.name.span, |s| s.span);
            self.error(
                at,
                format!("variable `{var}` cancels out of the inputs under XOR (`{var} xor {var}` is 0), so no input binds it"),
                format!("write `{var}` once in the XOR, or bind it in another input, before using it in an output or check"),
            );
        }
    }

    fn fresh(&mut self, decl: &RuleDecl, function: &str, scope: &mut RuleScope) {
        for s in &decl.fresh {
            let w = s.text.as_str();
            let Some(name) = self.names.get(w).cloned() else {
                let help = match spec::suggest_within(
                    w,
                    self.name_order.iter().map(String::as_str),
                    &self.suggestions,
                ) {
                    Some(n) => {
                        format!("did you mean `{n}`? otherwise add `{w}` under `names: fresh:`")
                    }
                    None => format!("add it under `names`, e.g. `fresh: [{w}]`"),
                };
                self.error(
                    s.span,
                    format!("`{w}` is not declared under `names.fresh`"),
                    help,
                );
                scope.bad_fresh.insert(w.to_string());
                continue;
            };
            if name.kind != NameKind::Fresh {
                self.error(
                    s.span,
                    format!(
                        "`{w}` is {} (line {}), not a fresh name",
                        kind_word(name.kind),
                        name.span.line
                    ),
                    "a function's `fresh` lists names declared under `names.fresh`",
                );
                continue;
            }
            if scope.fresh.contains(&name.id) {
                self.error(
                    s.span,
                    format!("`{w}` is listed twice in `fresh`"),
                    "list it once",
                );
                continue;
            }
            if let Some((owner, _)) = self.fresh_owner.get(&name.id) {
                let owner = owner.clone();
                self.error(
                    s.span,
                    format!("fresh name `{w}` is already generated by function `{owner}`"),
                    "a fresh name stands for the values one function generates: declare another fresh name for this function",
                );
                scope.fresh.push(name.id);
                continue;
            }
            self.fresh_owner
                .insert(name.id, (function.to_string(), s.span));
            scope.fresh.push(name.id);
        }
    }

    fn check(&mut self, s: &Scalar, scope: &mut RuleScope) -> Option<Check> {
        let c = match syntax::parse_check(&s.text) {
            Ok(c) => c,
            Err(e) => {
                self.syntax_error(s, e);
                return None;
            }
        };
        match &c.kind {
            CheckKind::Equal(a, b) | CheckKind::NotEqual(a, b) => {
                let a = self.term(s, a, Mode::Check, scope);
                let b = self.term(s, b, Mode::Check, scope);
                let (a, b) = (a?, b?);
                Some(if matches!(c.kind, CheckKind::Equal(..)) {
                    Check::Equal(a, b)
                } else {
                    Check::NotEqual(a, b)
                })
            }
            CheckKind::OneOf(t, items) => {
                let t = self.term(s, t, Mode::Check, scope);
                let items: Vec<Option<TermId>> = items
                    .iter()
                    .map(|i| self.term(s, i, Mode::Check, scope))
                    .collect();
                let items: Option<Vec<TermId>> = items.into_iter().collect();
                Some(Check::OneOf(t?, items?))
            }
        }
    }

    /// Warns about named variables used once in a rule, and about those
    /// that look like a declared name misspelt (a misspelt tag in an input
    /// becomes a variable, which matches any value), however often they
    /// occur.
    fn single_uses(&mut self, scope: &RuleScope) {
        for (n, (count, span)) in scope.uses.iter().enumerate() {
            let name = &scope.vars[n];
            if name.starts_with('_') {
                continue;
            }
            let misspelt = self.misspelt(name);
            if *count == 1 {
                let suggestion = spec::suggest_within(
                    name,
                    self.name_order.iter().map(String::as_str),
                    &self.suggestions,
                )
                .filter(|c| !numbered_apart(name, c))
                .map(str::to_string)
                .or(misspelt);
                let help = match suggestion {
                    Some(c) => format!("did you mean the name `{c}`?"),
                    None => format!("a variable matches any value; if `{name}` is meant to be a constant, declare it under `names`"),
                };
                self.warning(
                    *span,
                    format!("variable `{name}` occurs once; use `_` if any value will do"),
                    help,
                );
            } else if let Some(c) = misspelt {
                self.warning(
                    *span,
                    format!(
                        "variable `{name}` looks like the name `{c}` misspelt; as a variable it matches any value"
                    ),
                    format!(
                        "did you mean `{c}`? if `{name}` is meant to be a variable, give it a name less like `{c}`"
                    ),
                );
            }
        }
    }

    /// [`misspelt_name`] against the declared names, remembered.
    fn misspelt(&mut self, var: &str) -> Option<String> {
        let (names, memo) = &mut self.misspelt_memo;
        if *names != self.name_order.len() {
            *names = self.name_order.len();
            memo.clear();
        }
        if let Some(found) = memo.get(var) {
            return found.clone();
        }
        let found = misspelt_name(var, &self.name_order).map(str::to_string);
        memo.insert(var.to_string(), found.clone());
        found
    }

    fn unused_fresh(&mut self, spec: &Spec) {
        for group in spec.names.iter().filter(|g| g.kind == NameKind::Fresh) {
            for s in &group.names {
                let generated = self.names.get(&s.text).is_some_and(|d| {
                    d.kind != NameKind::Fresh || self.fresh_owner.contains_key(&d.id)
                });
                if !generated && self.names.contains_key(&s.text) {
                    self.warning(
                        s.span,
                        format!("fresh name `{}` is generated by no function", s.text),
                        "list it under the `fresh` of the function that generates it",
                    );
                }
            }
        }
    }

    // ----- secrets and the program ---------------------------------------

    fn lower_secrets(&mut self, spec: &Spec) {
        match &spec.secrets {
            Some(list) => {
                for decl in list {
                    let label = match &decl.label {
                        Some(l) => l.text.trim().to_string(),
                        None => decl.term.text.trim().to_string(),
                    };
                    let Some(term) = self.ground(&decl.term) else {
                        self.unreadable_secrets.push(label);
                        continue;
                    };
                    self.public_secret(term, decl.term.span);
                    self.secrets.push(Secret {
                        label,
                        term,
                        span: decl.span,
                    });
                }
            }
            None => {
                for text in self.name_order.clone() {
                    let Some(decl) = self.names.get(&text).cloned() else {
                        continue;
                    };
                    if decl.kind == NameKind::Secret {
                        let term = self.store.name_term(decl.id);
                        self.secrets.push(Secret {
                            label: text,
                            term,
                            span: decl.span,
                        });
                    }
                }
            }
        }
    }

    /// The error for a file with no secret to check: at its `secrets:`
    /// key if written empty, else at `names:`, else where the file starts.
    fn no_secrets(&mut self, spec: &Spec) {
        let message = if spec.empty {
            "nothing to check: the file is empty".to_string()
        } else if spec.secrets_key.is_some() {
            "nothing to check: `secrets` is empty and no name is declared `secret`".to_string()
        } else {
            "nothing to check: the API declares no secret".to_string()
        };
        let span = spec
            .secrets_key
            .or(spec.names_key)
            .unwrap_or(if spec.empty {
                Span::new(1, 1, 1)
            } else {
                spec.start
            });
        self.error(
            span,
            message,
            "no secrets: declare `secrets:` or a `secret` name, e.g. `names: {secret: [K]}`; a file with nothing to check would pass as SECURE",
        );
    }

    /// Every expectation names a secret, once. An expectation of a secret
    /// whose term could not be read is not an error of its own: the
    /// secret's error is reported.
    fn expected_labels(&mut self, spec: &Spec) {
        let labels: Vec<String> = self.secrets.iter().map(|s| s.label.clone()).collect();
        let unreadable = self.unreadable_secrets.clone();
        let known: HashSet<&str> = labels
            .iter()
            .chain(&unreadable)
            .map(String::as_str)
            .collect();
        let mut seen = HashSet::new();
        for e in &spec.expect {
            let label = e.label.text.trim();
            if !seen.insert(label.to_string()) {
                self.error(
                    e.label.span,
                    format!("`{label}` is expected twice"),
                    "keep one expectation per secret",
                );
            } else if !known.contains(label) {
                let every = labels.iter().chain(&unreadable).map(String::as_str);
                let help = match spec::suggest_within(label, every, &self.suggestions) {
                    Some(s) if unreadable.iter().any(|u| u == s) => format!(
                        "did you mean `{s}`? that secret's term could not be read (see its error); expectations name secrets by their label"
                    ),
                    Some(s) => {
                        format!("did you mean `{s}`? expectations name secrets by their label")
                    }
                    None if labels.is_empty() && !unreadable.is_empty() => format!(
                        "expectations name secrets by their label, and no secret of this API could be read: fix the {} under `secrets` first",
                        if unreadable.len() == 1 { "error" } else { "errors" }
                    ),
                    None if labels.is_empty() => "expectations name secrets by their label, and this API has none: list the terms to protect under `secrets`, or declare `secret` names".to_string(),
                    None if !unreadable.is_empty() => format!(
                        "expectations name secrets by their label; the secrets read are: {} ({} more could not be read: see {} under `secrets`)",
                        labels.join(", "),
                        unreadable.len(),
                        if unreadable.len() == 1 { "its error" } else { "their errors" }
                    ),
                    None => format!(
                        "expectations name secrets by their label; the secrets are: {}",
                        spec::listing(&labels)
                    ),
                };
                self.error(
                    e.label.span,
                    format!("`{label}` is not a secret of this API"),
                    help,
                );
            }
        }
    }

    /// Warns when a secret is known from the start.
    fn public_secret(&mut self, term: TermId, span: Span) {
        let known = match self.store.get(term) {
            Term::Name(n) => self.store.name(*n).kind.is_public(),
            Term::Zero => true,
            _ => false,
        };
        if known {
            self.warning(
                span,
                format!(
                    "secret `{}` is public: the attacker knows it from the start",
                    self.store.show(term)
                ),
                "remove it from `secrets`, or declare it under `names: secret:`",
            );
        }
    }

    /// Adds tuple projections, assembles the program, or returns every
    /// error.
    fn finish(mut self, file: &str, spec: &Spec, src: &str) -> Result<Loaded, Vec<Diagnostic>> {
        // With nothing to check, every run would end "SECURE (proved)": an
        // empty or truncated file must not pass. Other errors may be why no
        // secret was read (a misspelt `secrets`, a list at the top level),
        // so this is said only when there is no other.
        if self.error_count() == 0 && self.secrets.is_empty() {
            self.no_secrets(spec);
        }
        if self.error_count() > 0 {
            return Err(sorted(self.diags));
        }
        for n in self.tuple_arities.clone() {
            let rule = self.split_rule(n);
            self.deductions.push(rule);
        }
        let mut seen = HashSet::new();
        let mut knowledge = Vec::new();
        let public: Vec<NameId> = self
            .store
            .names()
            .filter(|(_, n)| n.kind.is_public())
            .map(|(id, _)| id)
            .collect();
        let mut initial = self.knowledge.clone();
        initial.extend(public.into_iter().map(|id| self.store.name_term(id)));
        if self.uses_xor {
            initial.push(self.store.zero());
        }
        for t in initial {
            if seen.insert(t) {
                knowledge.push(t);
            }
        }
        let name = spec
            .name
            .as_ref()
            .map(|n| n.text.trim().to_string())
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| {
                Path::new(file)
                    .file_stem()
                    .map_or_else(|| file.to_string(), |s| s.to_string_lossy().into_owned())
            });
        let program_handle = match &self.attrs {
            Some(a) => self.ctors.get(&a.handle).map(|c| c.id),
            None => None,
        };
        let program_handle = match program_handle {
            Some(h) => h,
            None => self.store.tuple_ctor(2),
        };
        let mut rules = self.calls;
        rules.extend(self.deductions);
        let program = Program {
            name,
            file: file.to_string(),
            store: self.store,
            rules,
            knowledge,
            secrets: self.secrets,
            uses_xor: self.uses_xor,
            objects: self.attrs.as_ref().map(|a| ObjectModel {
                handle: program_handle,
                names: a.names.clone(),
                t: a.t,
                f: a.f,
                setters: a.setters.clone(),
                sticky_on: a.sticky_on.clone(),
                sticky_off: a.sticky_off.clone(),
                conflicts: a.conflicts.clone(),
                history: a.history.iter().map(Option::is_some).collect(),
            }),
        };
        Ok(Loaded {
            program,
            warnings: sorted(self.diags),
            source: src.to_string(),
            expect: spec.expect.clone(),
        })
    }

    /// The projection deduction `(x1, ..., xn) |- x1, ..., xn`.
    fn split_rule(&mut self, n: usize) -> Rule {
        let mut name = if n == 2 {
            "split".to_string()
        } else {
            format!("split{n}")
        };
        while self.rule_sites.contains_key(&name) {
            name.push('_');
        }
        self.rule_sites.insert(
            name.clone(),
            RuleSite {
                file: BUILTIN_FILE.to_string(),
                span: Span::default(),
                function: false,
            },
        );
        let vars: Vec<TermId> = (0..n as u32).map(|i| self.store.var(i)).collect();
        let ctor = self.store.tuple_ctor(n);
        let tuple = self.store.app(ctor, &vars);
        Rule {
            name,
            kind: RuleKind::Deduction,
            inputs: vec![tuple],
            checks: Vec::new(),
            outputs: vars,
            var_names: (1..=n).map(|i| format!("x{i}")).collect(),
            fresh: Vec::new(),
            span: Span::default(),
        }
    }
}

/// The file name diagnostics about a term given on the command line carry.
pub const TERM_FILE: &str = "TERM";

/// Reads a ground term written in the API language (`senc(PAN, P)`,
/// `{k2}k1`, `Ki`) against a checked API, with the syntax and name
/// resolution of the file's `knowledge` and `secrets`: names and
/// constructors only, no variables. Errors are located in `text` itself
/// (line 1, the column within `text`) under the file name [`TERM_FILE`];
/// an unknown name suggests the closest declared one.
///
/// As listing the term under `secrets` would, a term using XOR makes the
/// program use XOR (and gives the attacker `0`). A tuple of an arity the
/// API never uses needs no projection rule: only the attacker builds one.
pub fn parse_ground_term(loaded: &mut Loaded, text: &str) -> Result<TermId, Vec<Diagnostic>> {
    let program = &mut loaded.program;
    let mut lw = Lowerer::new();
    lw.file = TERM_FILE.to_string();
    // Constructors in declaration order, as the files list them; their
    // ids, arities and visibility from the program's store.
    let files = [
        (BUILTIN_FILE, BUILTIN_RULES, true),
        (program.file.as_str(), loaded.source.as_str(), false),
    ];
    for (file, src, builtin) in files {
        let Ok(node) = yaml::parse(file, src) else {
            continue;
        };
        let (spec, _) = spec::read(file, &node);
        for c in &spec.constructors {
            let name = c.name.text.clone();
            let Some(id) = program.store.find_ctor(&name) else {
                continue;
            };
            if lw.ctors.contains_key(&name) {
                continue;
            }
            let info = program.store.ctor(id);
            let decl = CtorDecl {
                id,
                arity: info.arity,
                public: info.public,
                builtin,
                span: c.name.span,
            };
            lw.ctors.insert(name.clone(), decl);
            lw.ctor_order.push(name);
        }
    }
    for (id, info) in program.store.names() {
        let decl = NameDecl {
            id,
            kind: info.kind,
            span: Span::default(),
        };
        lw.names.insert(info.text.clone(), decl);
        lw.name_order.push(info.text.clone());
    }
    let chars = text.chars().count() as u32;
    let one_line = !text.contains(['\n', '\r']);
    let scalar = Scalar {
        text: text.to_string(),
        kind: yaml::ScalarKind::Str,
        span: Span::new(1, 1, chars.max(1)),
        content: one_line.then(|| Span::new(1, 1, chars)),
        map: None,
    };
    lw.store = std::mem::take(&mut program.store);
    let term = lw.ground(&scalar);
    program.store = std::mem::take(&mut lw.store);
    match term {
        Some(t) if lw.error_count() == 0 => {
            if lw.uses_xor && !program.uses_xor {
                program.uses_xor = true;
                let zero = program.store.zero();
                if !program.knowledge.contains(&zero) {
                    program.knowledge.push(zero);
                }
            }
            Ok(t)
        }
        _ => {
            // A TERM cannot declare anything: list the names it may use.
            let names = spec::listing(&lw.name_order);
            let mut diags = sorted(lw.diags);
            for d in &mut diags {
                let Some(w) = d.message.strip_prefix("unknown name `") else {
                    continue;
                };
                let w = w.trim_end_matches('`');
                d.help = Some(
                    match spec::suggest(w, lw.name_order.iter().map(String::as_str)) {
                        Some(n) => {
                            format!("did you mean `{n}`? the names of this API are: {names}")
                        }
                        None => format!("the names of this API are: {names}"),
                    },
                );
            }
            Err(diags)
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn standard_input_is_spi_unless_it_starts_like_yaml() {
        for yaml in [
            "names: {}",
            "# c\n\napisat: 1",
            "---\nname: x",
            "- a",
            "{a: 1}",
            "\"k\": v",
            "",
        ] {
            assert!(!is_spi_source(STDIN, yaml), "{yaml:?}");
        }
        for spi in ["name \"a: b\"", "# c\n(* x *)\nF = !c(x). d<x>", "public A"] {
            assert!(is_spi_source(STDIN, spi), "{spi:?}");
        }
        assert!(is_spi_source("x.spi", "names: {}"));
        assert!(!is_spi_source("x.yaml", "public A"));
    }

    use super::*;

    fn load(src: &str) -> Loaded {
        match load_source("t.yaml", src) {
            Ok(l) => l,
            Err(d) => panic!("{}", crate::front::diagnostic::render_all(&d, Some(src))),
        }
    }

    fn errors(src: &str) -> Vec<Diagnostic> {
        match load_source("t.yaml", src) {
            Ok(_) => panic!("expected errors"),
            Err(d) => d.into_iter().filter(|d| d.is_error()).collect(),
        }
    }

    fn rule<'a>(p: &'a Program, name: &str) -> &'a Rule {
        p.rules.iter().find(|r| r.name == name).expect("rule")
    }

    #[test]
    fn builtin_rules_lower_cleanly() {
        // The smallest file with something to check.
        let loaded = load("names: {secret: [K]}\n");
        assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
        let p = &loaded.program;
        for (name, arity) in [
            ("senc", 2),
            ("aenc", 2),
            ("pk", 1),
            ("sign", 2),
            ("h", 1),
            ("mac", 2),
        ] {
            let id = p.store.find_ctor(name).expect("ctor");
            assert_eq!(p.store.ctor(id).arity, arity);
            assert!(p.store.ctor(id).public);
        }
        let decrypt = rule(p, "decrypt");
        assert_eq!(decrypt.kind, RuleKind::Deduction);
        assert_eq!(decrypt.var_names, vec!["m", "k"]);
        assert_eq!(
            p.store.display(decrypt.inputs[0], &decrypt.var_names),
            "senc(m, k)"
        );
        assert!(p.rules.iter().any(|r| r.name == "decrypt-asym"));
        assert!(p.rules.iter().any(|r| r.name == "read-signed"));
        assert_eq!(p.name, "t");
        let attacker = p.store.find_name("attacker").expect("default attacker");
        assert_eq!(p.store.name(attacker).kind, NameKind::Attacker);
        assert!(!p.uses_xor);
    }

    const VSM: &str = r#"
name: VSM type confusion
names:
  public: [PAN]
  secret: [MK, TCMK, P, TMK1]
knowledge: ["{P}MK", "{TMK1}MK"]
functions:
  - name: EncryptCommsKey
    inputs: [k]
    outputs: ["{k}TCMK"]
  - name: TranslateCommsKeyToTMK
    inputs: ["{tck}TCMK", "{tmk}MK"]
    outputs: ["{tck}tmk"]
secrets:
  - term: "{PAN}P"
    label: PIN
  - P
"#;

    #[test]
    fn vsm_lowers() {
        let loaded = load(VSM);
        assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
        let p = &loaded.program;
        assert_eq!(p.name, "VSM type confusion");
        assert_eq!(p.rules[0].name, "EncryptCommsKey");
        assert_eq!(p.rules[0].kind, RuleKind::Call);
        let t = rule(p, "TranslateCommsKeyToTMK");
        assert_eq!(t.var_names, vec!["tck", "tmk"]);
        assert_eq!(
            p.store.display(t.outputs[0], &t.var_names),
            "senc(tck, tmk)"
        );
        let shown: Vec<String> = p.knowledge.iter().map(|&k| p.store.show(k)).collect();
        assert_eq!(
            shown,
            vec!["senc(P, MK)", "senc(TMK1, MK)", "PAN", "attacker"]
        );
        let secrets: Vec<(&str, String)> = p
            .secrets
            .iter()
            .map(|s| (s.label.as_str(), p.store.show(s.term)))
            .collect();
        assert_eq!(
            secrets,
            vec![("PIN", "senc(PAN, P)".to_string()), ("P", "P".to_string())]
        );
        assert!(!p.rules.iter().any(|r| r.name.starts_with("split")));
    }

    #[test]
    fn xor_tuples_wildcards_fresh_and_checks() {
        let src = r#"
names:
  secret: [KM]
  tags: [DATA, PIN]
  fresh: [n]
  attacker: [E]
functions:
  - name: Combine
    inputs: ["{a}KM", "{b}KM", "(t, _, _)"]
    checks: ["t in [DATA, PIN]", "a != b"]
    fresh: [n]
    outputs: ["{a xor b, n}KM", "(a, b, t)"]
"#;
        let loaded = load(src);
        let p = &loaded.program;
        assert!(p.uses_xor);
        let r = rule(p, "Combine");
        assert_eq!(r.var_names, vec!["a", "b", "t", "_1", "_2"]);
        assert_eq!(r.checks.len(), 2);
        assert_eq!(r.fresh.len(), 1);
        assert_eq!(
            p.store.display(r.outputs[0], &r.var_names),
            "senc((a ⊕ b, n), KM)"
        );
        let split = rule(p, "split");
        assert_eq!(split.outputs.len(), 2);
        let split3 = rule(p, "split3");
        assert_eq!(
            p.store.display(split3.inputs[0], &split3.var_names),
            "(x1, x2, x3)"
        );
        let shown: Vec<String> = p.knowledge.iter().map(|&k| p.store.show(k)).collect();
        assert_eq!(shown, vec!["DATA", "PIN", "E", "0"]);
        assert!(p.store.find_name("attacker").is_none());
        let labels: Vec<&str> = p.secrets.iter().map(|s| s.label.as_str()).collect();
        assert_eq!(labels, vec!["KM"]);
    }

    #[test]
    fn user_variables_do_not_clash_with_builtin_rules() {
        let loaded = load("names:\n  secret: [k, m]\n");
        let d = rule(&loaded.program, "decrypt");
        assert_eq!(d.var_names, vec!["m", "k"]);
    }

    #[test]
    fn mistakes_are_all_reported_with_positions() {
        let src = "names:\n  secret: [K, K]\n  public: [P, senc]\nfunctions:\n  - name: F\n    inputs: [\"{x}K\"]\n    outputs: [\"senc(x, y, K)\", \"{x}Q\"]\n  - name: F\n    inputs: [_]\n    outputs: [_]\n";
        let d = errors(src);
        let got: Vec<(u32, u32, &str)> = d
            .iter()
            .map(|d| (d.span.line, d.span.col, d.message.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                (
                    2,
                    15,
                    "name `K` is declared twice; the first declaration is at line 2"
                ),
                (
                    3,
                    15,
                    "`senc` is a built-in constructor and cannot also be a name"
                ),
                (7, 16, "`senc` takes 2 arguments, found 3"),
                (7, 24, "variable `y` in output is bound by no input"),
                (7, 36, "variable `Q` in output is bound by no input"),
                (
                    8,
                    11,
                    "duplicate name `F`: a function of that name is defined at line 5"
                ),
                (10, 15, "`_` cannot appear in an output"),
            ]
        );
    }

    #[test]
    fn single_use_variable_warns_with_suggestion() {
        let src = "names:\n  secret: [TCMK]\nfunctions:\n  - name: F\n    inputs: [\"{k}TCMKK\"]\n    outputs: [k]\n";
        let loaded = load(src);
        assert_eq!(loaded.warnings.len(), 1);
        let w = &loaded.warnings[0];
        assert_eq!((w.span.line, w.span.col), (5, 18));
        assert_eq!(
            w.message,
            "variable `TCMKK` occurs once; use `_` if any value will do"
        );
        assert_eq!(w.help.as_deref(), Some("did you mean the name `TCMK`?"));
    }

    #[test]
    fn expectations_of_unreadable_secrets_say_so() {
        // Every secret fails to read: the help never ends in an empty list.
        let src = "names:\n  secret: [MK, P]\nsecrets:\n  - term: \"{PAN}P\"\n    label: PIN\n  - \"{Q}MK\"\nexpect:\n  PINN: not derivable\n  K: proved\n  PIN: proved\n";
        let d = errors(src);
        let expect: Vec<&Diagnostic> = d.iter().filter(|d| d.span.line >= 8).collect();
        // `PIN` names the secret that failed: its own error is enough.
        assert_eq!(expect.len(), 2, "{d:?}");
        assert_eq!(expect[0].message, "`PINN` is not a secret of this API");
        assert_eq!(
            expect[0].help.as_deref(),
            Some("did you mean `PIN`? that secret's term could not be read (see its error); expectations name secrets by their label")
        );
        assert_eq!(
            expect[1].help.as_deref(),
            Some("expectations name secrets by their label, and no secret of this API could be read: fix the errors under `secrets` first")
        );
        // Some secrets read: they are listed, and the others counted.
        let src = "names:\n  public: [PAN]\n  secret: [MK, P]\nsecrets:\n  - term: \"{PAN}P\"\n    label: PIN\n  - \"{Q}MK\"\nexpect:\n  K: proved\n";
        let d = errors(src);
        assert_eq!(
            d.last().and_then(|d| d.help.as_deref()),
            Some("expectations name secrets by their label; the secrets read are: PIN (1 more could not be read: see its error under `secrets`)")
        );
        // No secret at all.
        let src = "names:\n  public: [PAN]\nexpect:\n  K: proved\n";
        let d = errors(src);
        assert_eq!(
            d[0].help.as_deref(),
            Some("expectations name secrets by their label, and this API has none: list the terms to protect under `secrets`, or declare `secret` names")
        );
    }

    #[test]
    fn misspelt_names_are_told_from_variables_named_after_keys() {
        let names: Vec<String> = [
            "TData", "TKey", "KM", "K", "TMK1", "k1", "kek2", "PIN", "nonce",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let m = |v: &str| misspelt_name(v, &names);
        // Misspellings: case, a swap, a letter more or less.
        assert_eq!(m("TDATA"), Some("TData"));
        assert_eq!(m("TDtaa"), Some("TData"));
        assert_eq!(m("TKye"), Some("TKey"));
        assert_eq!(m("PINN"), Some("PIN"));
        assert_eq!(m("KMM"), Some("KM"));
        assert_eq!(m("nocne"), Some("nonce"));
        // Variables named after keys, and short or unrelated ones.
        for v in [
            "tmk", "k", "km", "kek", "kek3", "pin", "tdata", "kw", "x", "data", "Kx", "Other",
        ] {
            assert_eq!(m(v), None, "{v}");
        }
        assert_eq!(m("Km"), Some("KM"));
    }

    #[test]
    fn numbered_names_are_told_apart_by_their_numbers() {
        let names: Vec<String> = ["s10", "s100", "TMK1", "SHARE10", "Key10"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let m = |v: &str| misspelt_name(v, &names);
        // The same number after another word, or another number.
        for v in ["a10", "a100", "TMK2", "TMK10", "SHARE1"] {
            assert_eq!(m(v), None, "{v}");
        }
        // Near misses of the word before the same number.
        assert_eq!(m("SHAER10"), Some("SHARE10"));
        assert_eq!(m("KEy10"), Some("Key10"));
        assert_eq!(m("Kes10"), Some("Key10"));
        assert_eq!(m("Tmk1"), Some("TMK1"));
        assert!(numbered_apart("a10", "s10"));
        assert!(!numbered_apart("SHAER10", "SHARE10"));
        assert!(!numbered_apart("TDATA", "TData"));
    }

    #[test]
    fn a_misspelt_tag_used_twice_warns() {
        // `TDtaa` in the input and the output: two occurrences, so no
        // single-use warning, but it is `TData` misspelt.
        let src = "names:\n  tags: [TData]\n  secret: [K]\nfunctions:\n  - name: F\n    inputs: [\"{TDtaa, x}K\"]\n    outputs: [\"{TDtaa, x}x\"]\n";
        let loaded = load(src);
        assert_eq!(loaded.warnings.len(), 1, "{:?}", loaded.warnings);
        let w = &loaded.warnings[0];
        assert_eq!((w.span.line, w.span.col), (6, 16));
        assert_eq!(
            w.message,
            "variable `TDtaa` looks like the name `TData` misspelt; as a variable it matches any value"
        );
        assert!(w
            .help
            .as_deref()
            .is_some_and(|h| h.starts_with("did you mean `TData`?")));
    }

    #[test]
    fn private_constructors_and_fresh_names() {
        let src = "constructors:\n  - {name: hdl, arity: 2, private: true}\nnames:\n  fresh: [n]\n  secret: [S]\nfunctions:\n  - name: G\n    fresh: [n, S, z]\n    outputs: [\"hdl(n, S)\"]\n  - name: H\n    fresh: [n]\n    outputs: [n]\ndeductions:\n  - name: open\n    inputs: [\"hdl(k, a)\"]\n    outputs: [\"hdl(k, k)\"]\n";
        let d = errors(src);
        let got: Vec<(u32, u32)> = d.iter().map(|d| (d.span.line, d.span.col)).collect();
        assert_eq!(got, vec![(8, 16), (8, 19), (11, 13), (15, 15), (16, 16)]);
        assert_eq!(
            d[4].message,
            "the attacker cannot build a private constructor"
        );
    }

    #[test]
    fn mutated_files_never_panic_and_stay_in_the_file() {
        let chars: Vec<char> = VSM.chars().collect();
        for i in 0..chars.len() {
            for insert in [
                None,
                Some('\n'),
                Some('{'),
                Some('"'),
                Some(':'),
                Some('-'),
                Some(' '),
            ] {
                let mut text = chars.clone();
                match insert {
                    None => {
                        text.remove(i);
                    }
                    Some(c) => text.insert(i, c),
                }
                let text: String = text.into_iter().collect();
                let lines = text.split('\n').count() as u32;
                let diags = match load_source("t.yaml", &text) {
                    Ok(loaded) => loaded.warnings,
                    Err(diags) => diags,
                };
                for d in diags {
                    assert!(d.span.line >= 1 && d.span.line <= lines, "{text}\n{d:?}");
                }
            }
        }
    }

    #[test]
    fn missing_file_is_a_diagnostic() {
        let d = load_file(Path::new("no/such/file.yaml")).unwrap_err();
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].file, "no/such/file.yaml");
        assert!(d[0].message.starts_with("cannot read the file"));
    }
}

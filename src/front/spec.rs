//! The API file's structure, typed from a [`yaml::Node`](crate::front::yaml::Node)
//! tree with positions.
//!
//! This module checks shapes only: which fields exist, which are lists,
//! mappings or strings. What the strings mean (names, terms, checks) is
//! [`lower`](crate::front::lower)'s business. Every mistake is collected; a
//! malformed entry is left out of the [`Spec`] and reported.

use crate::front::diagnostic::{Diagnostic, Span};
use crate::front::term::NameKind;
use crate::front::yaml::{Key, Node, NodeKind, Scalar, ScalarKind};

/// Fields accepted at the top level of an API file.
pub const TOP_FIELDS: &[&str] = &[
    "apisat",
    "name",
    "description",
    "constructors",
    "names",
    "knowledge",
    "functions",
    "deductions",
    "secrets",
    "expect",
    "attributes",
];
/// Fields accepted under `attributes`.
pub const ATTRIBUTE_FIELDS: &[&str] = &[
    "names",
    "handle",
    "sticky_on",
    "sticky_off",
    "conflicts",
    "history",
];
/// Fields accepted in an expectation written as a mapping.
pub const EXPECT_FIELDS: &[&str] = &["derivable", "within", "proved"];
/// Fields accepted in a constructor.
pub const CTOR_FIELDS: &[&str] = &["name", "arity", "private"];
/// Fields accepted under `names`.
pub const NAME_FIELDS: &[&str] = &["public", "tags", "secret", "fresh", "attacker"];
/// Fields accepted in a function.
pub const FUNCTION_FIELDS: &[&str] = &["name", "inputs", "checks", "fresh", "outputs", "sets"];
/// Fields accepted in a deduction.
pub const DEDUCTION_FIELDS: &[&str] = &["name", "inputs", "checks", "outputs"];
/// Fields accepted in a secret written as a mapping.
pub const SECRET_FIELDS: &[&str] = &["term", "label"];

/// How a field's value is written: the shape [`read`] accepts for it (and,
/// for [`Shape::Version`], [`Shape::Arity`] and [`Shape::NonEmptyList`], the
/// range lowering accepts). The JSON Schema (`crate::front::schema`) is generated
/// from these; `tests/it/schema.rs` probes every field to keep them honest.
#[derive(Clone, Copy, Debug)]
pub enum Shape {
    /// One scalar, read as its text: a string, or a number or boolean as
    /// YAML prints it (`0` is a term). Not empty.
    Text,
    /// The language version: one of [`crate::front::lower::VERSIONS`].
    Version,
    /// A constructor's arity: a whole number from 1 to
    /// [`crate::front::lower::MAX_ARITY`].
    Arity,
    /// `true` or `false`.
    Bool,
    /// A list of scalars; an empty value is an empty list.
    List,
    /// A list of at least one scalar (lowering rejects an empty one).
    NonEmptyList,
    /// A mapping with the table's fields; an empty value is an empty mapping.
    Map(&'static Table),
    /// A list of mappings with the table's fields; an empty value is an
    /// empty list.
    Records(&'static Table),
    /// A list whose entries are a scalar or a mapping with the table's
    /// fields; an empty value is an empty list.
    TextOrRecords(&'static Table),
    /// `expect`: a mapping from secret labels to expectations, each
    /// `derivable`, `not derivable`, `proved`, `within N calls`, or a
    /// mapping with the [`EXPECT_FIELDS`].
    Expectations,
    /// `remove_checks` / `add_checks` of a family: a mapping from function
    /// names to lists of check strings.
    ChecksByFunction,
    /// A family's `matrix`: a mapping from parameter names to a list of
    /// values, or to a mapping of named choices, each a mapping with the
    /// table's fields (edits).
    Matrix(&'static Table),
    /// A list of pairs, each a list of two scalars: `[[wrap, decrypt]]`.
    Pairs,
    /// A mapping from identifiers to one scalar each: `{wrap: T}`.
    TextMap,
}

/// One accepted field: its shape and what it means (an editor's hover text).
#[derive(Clone, Copy, Debug)]
pub struct Field {
    /// The key.
    pub name: &'static str,
    /// How its value is written.
    pub shape: Shape,
    /// True when leaving it out is an error.
    pub required: bool,
    /// What it means, in a sentence or two.
    pub about: &'static str,
}

/// A kind of mapping in an API file: the fields the parser accepts in it
/// (one of the `*_FIELDS` lists above) and their descriptions.
#[derive(Clone, Copy, Debug)]
pub struct Table {
    /// A short identifier (`function`), for the schema and tests.
    pub id: &'static str,
    /// What such a mapping is.
    pub about: &'static str,
    /// The fields the parser accepts, as it checks them.
    pub accepted: &'static [&'static str],
    /// Every accepted field, described; same names as `accepted`.
    pub fields: &'static [Field],
}

/// An optional field.
pub(crate) const fn field(name: &'static str, shape: Shape, about: &'static str) -> Field {
    Field {
        name,
        shape,
        required: false,
        about,
    }
}

/// A required field.
pub(crate) const fn required(name: &'static str, shape: Shape, about: &'static str) -> Field {
    Field {
        name,
        shape,
        required: true,
        about,
    }
}

/// The top level of an API file.
pub const TOP_TABLE: Table = Table {
    id: "api",
    about: "An apisat API file: an HSM's API (constants, functions, extra attacker deductions) and the secrets to protect.",
    accepted: TOP_FIELDS,
    fields: &[
        field("apisat", Shape::Version, "The language version; `1` (optional)."),
        field("name", Shape::Text, "The API's name in reports; defaults to the file name without `.yaml`."),
        field("description", Shape::Text, "Free text."),
        field("constructors", Shape::Records(&CTOR_TABLE), "Constructors of your own, beside the built-in senc, aenc, pk, sign, h, mac."),
        field("names", Shape::Map(&NAME_TABLE), "The constants, by kind: public, tags, secret, fresh, attacker."),
        field("knowledge", Shape::List, "Ground terms the attacker holds at the start (tokens stored outside the HSM), as term strings such as \"{P}MK\". Term syntax is checked by `apisat check`, not by this schema."),
        field("functions", Shape::Records(&FUNCTION_TABLE), "The API's functions."),
        field("deductions", Shape::Records(&DEDUCTION_TABLE), "Extra attacker deductions, for constructors of your own (same fields as a function, without `fresh`)."),
        field("secrets", Shape::TextOrRecords(&SECRET_TABLE), "The terms to protect: a term string, or a mapping with `term` and `label`. Default: every `secret` name."),
        field("expect", Shape::Expectations, "What `apisat test` checks, per secret label: `derivable`, `within 3 calls`, `not derivable` (proved or up to bounds), `proved`, `no stateful attack`, or a mapping `{derivable: true, within: 3}` / `{derivable: false, proved: true}`."),
        field("attributes", Shape::Map(&ATTRIBUTE_TABLE), "Objects with named boolean attributes (PKCS#11): the attribute names of the handle constructor and the token's policy (sticky, conflicting and history attributes). Handles are then written `hdl(k, {wrap: T, decrypt: F})`."),
    ],
};

/// The `attributes` mapping.
pub const ATTRIBUTE_TABLE: Table = Table {
    id: "attributes",
    about: "The named boolean attributes of the token's objects and the token's attribute policy.",
    accepted: ATTRIBUTE_FIELDS,
    fields: &[
        required("names", Shape::NonEmptyList, "The attribute names, in the order of the positional tuple they stand for: `hdl(k, {wrap: T})` is `hdl(k, (T, ...))`."),
        field("handle", Shape::Text, "The private constructor of arity 2 whose second argument holds the attributes; default `hdl` (declared for you when absent)."),
        field("sticky_on", Shape::List, "Attributes that, once T, a function with `sets` can never make F again (PKCS#11's sensitive)."),
        field("sticky_off", Shape::List, "Attributes that, once F, a function with `sets` can never make T again (PKCS#11's extractable)."),
        field("conflicts", Shape::Pairs, "Pairs of attributes no object may have both T: `[[wrap, decrypt]]`. Enforced on initial objects, on objects a function creates, and by `sets`."),
        field("history", Shape::TextMap, "Attributes the token maintains: `{always_sensitive: always sensitive, never_extractable: never extractable}`. Set at creation from the attribute named; `sets` turns them F once that attribute leaves the value."),
    ],
};

/// A constructor declaration.
pub const CTOR_TABLE: Table = Table {
    id: "constructor",
    about: "A constructor of your own.",
    accepted: CTOR_FIELDS,
    fields: &[
        required("name", Shape::Text, "The constructor's name: an identifier not used by a name or another constructor."),
        required("arity", Shape::Arity, "Its number of arguments; group more than the maximum as one tuple argument `(a, b, ...)`."),
        field("private", Shape::Bool, "True: the attacker can hold and pass one, never build or open one; only the HSM's functions do."),
    ],
};

/// The `names` mapping.
pub const NAME_TABLE: Table = Table {
    id: "names",
    about: "The constants, by kind. A name has one kind.",
    accepted: NAME_FIELDS,
    fields: &[
        field("public", Shape::List, "Constants the attacker knows (account numbers, public parameters)."),
        field("tags", Shape::List, "Type tags and control vectors; public, listed apart for readability."),
        field("secret", Shape::List, "Constants the attacker does not know at the start (master keys, key values)."),
        field("fresh", Shape::List, "Values the HSM generates on each call of a function that lists them under its own `fresh`."),
        field("attacker", Shape::List, "Names of the attacker's own (keys and data it makes); traces show them where the attacker picks a value freely. Default one name, `attacker`."),
    ],
};

/// A function.
pub const FUNCTION_TABLE: Table = Table {
    id: "function",
    about: "An API function the attacker may call any number of times, with any inputs it can build.",
    accepted: FUNCTION_FIELDS,
    fields: &[
        required("name", Shape::Text, "The function's name, unique in the file."),
        field("inputs", Shape::List, "Patterns, one per argument, as term strings: variables are bound by matching, `_` matches anything, names must match exactly; matching is modulo XOR. Term syntax is checked by `apisat check`."),
        field("checks", Shape::List, "Conditions on bound variables: `a == b`, `a != b`, `t in [DATA, PIN]`. Checked by `apisat check`."),
        field("fresh", Shape::List, "Names (declared under `names.fresh`) the function generates anew on each call."),
        required("outputs", Shape::NonEmptyList, "Terms returned to the host; every variable in them is bound by an input, or is fresh. At least one (none with `sets`)."),
        field("sets", Shape::TextMap, "SetAttributeValue: `{wrap: T}`. The function takes one handle (the first input, default `hdl(k, {})`) and returns it with these attributes changed, as the `attributes` policy allows; no `outputs`."),
    ],
};

/// A deduction.
pub const DEDUCTION_TABLE: Table = Table {
    id: "deduction",
    about: "An extra attacker deduction: its first input is the term taken apart, which the attacker must have obtained; its other inputs need only be derivable.",
    accepted: DEDUCTION_FIELDS,
    fields: &[
        required("name", Shape::Text, "The deduction's name, unique in the file."),
        field("inputs", Shape::List, "Patterns, as term strings; the first is the term taken apart. Term syntax is checked by `apisat check`."),
        field("checks", Shape::List, "Conditions on bound variables: `a == b`, `a != b`, `t in [DATA, PIN]`."),
        required("outputs", Shape::NonEmptyList, "What the attacker learns, as term strings. At least one."),
    ],
};

/// A secret written as a mapping.
pub const SECRET_TABLE: Table = Table {
    id: "secret",
    about: "A secret with a label for reports.",
    accepted: SECRET_FIELDS,
    fields: &[
        required(
            "term",
            Shape::Text,
            "The term to protect, as a term string such as \"{PAN}P\".",
        ),
        field(
            "label",
            Shape::Text,
            "The secret's name in reports, e.g. PIN.",
        ),
    ],
};

/// Every kind of mapping the parser reads, top level first.
pub const TABLES: &[&Table] = &[
    &TOP_TABLE,
    &CTOR_TABLE,
    &NAME_TABLE,
    &FUNCTION_TABLE,
    &DEDUCTION_TABLE,
    &SECRET_TABLE,
    &ATTRIBUTE_TABLE,
];

/// A value with the place it is written.
#[derive(Clone, Debug, PartialEq)]
pub struct Spanned<T> {
    /// The value.
    pub value: T,
    /// Where it is written.
    pub span: Span,
}

/// An API file, field by field.
#[derive(Clone, Debug, Default)]
pub struct Spec {
    /// `apisat:`, the language version, as written.
    pub apisat: Option<Scalar>,
    /// `name:`.
    pub name: Option<Scalar>,
    /// `description:`.
    pub description: Option<Scalar>,
    /// `constructors:`.
    pub constructors: Vec<CtorDecl>,
    /// `names:`, one group per kind, in file order.
    pub names: Vec<NameGroup>,
    /// `knowledge:`, term strings.
    pub knowledge: Vec<Scalar>,
    /// `functions:`.
    pub functions: Vec<RuleDecl>,
    /// `deductions:` (their `fresh` is always empty).
    pub deductions: Vec<RuleDecl>,
    /// `secrets:`; `None` when the field is absent or empty.
    pub secrets: Option<Vec<SecretDecl>>,
    /// What the author expects of each secret (`expect`), for `apisat test`.
    pub expect: Vec<ExpectDecl>,
    /// Where the top level starts (its first key; 1:1 for an empty file).
    pub start: Span,
    /// True when the document holds nothing: an empty or comment-only
    /// file, `null`, `~` or a bare `---`.
    pub empty: bool,
    /// The `names:` key, when written.
    pub names_key: Option<Span>,
    /// The `secrets:` key, when written (even with an empty list).
    pub secrets_key: Option<Span>,
    /// `attributes:`, when written.
    pub attributes: Option<AttributesDecl>,
}

/// `attributes:`: the objects' named attributes and the token's policy.
#[derive(Clone, Debug, Default)]
pub struct AttributesDecl {
    /// The attribute names, in positional order.
    pub names: Vec<Scalar>,
    /// The handle constructor, when given.
    pub handle: Option<Scalar>,
    /// Attributes that stay T once T.
    pub sticky_on: Vec<Scalar>,
    /// Attributes that stay F once F.
    pub sticky_off: Vec<Scalar>,
    /// Pairs that may not both be T.
    pub conflicts: Vec<(Scalar, Scalar)>,
    /// History attributes: the attribute, and its rule as written (`always a`, `never a`).
    pub history: Vec<(Key, Scalar)>,
    /// The `attributes:` key.
    pub key: Span,
}

/// A constructor declaration.
#[derive(Clone, Debug)]
pub struct CtorDecl {
    /// Its name.
    pub name: Scalar,
    /// Its arity, as written (range checked by lowering).
    pub arity: Spanned<i128>,
    /// `private: true`.
    pub private: bool,
    /// Where the declaration starts.
    pub span: Span,
}

/// The names of one kind under `names`.
#[derive(Clone, Debug)]
pub struct NameGroup {
    /// Their kind.
    pub kind: NameKind,
    /// The field (`public`, `secret`, ...).
    pub key: Key,
    /// The names as written.
    pub names: Vec<Scalar>,
}

/// A function or a deduction.
#[derive(Clone, Debug)]
pub struct RuleDecl {
    /// Its name.
    pub name: Scalar,
    /// Input patterns.
    pub inputs: Vec<Scalar>,
    /// Check strings.
    pub checks: Vec<Scalar>,
    /// Fresh names it generates.
    pub fresh: Vec<Scalar>,
    /// Output terms.
    pub outputs: Vec<Scalar>,
    /// `sets:`: attribute changes of a SetAttributeValue function, as written.
    pub sets: Vec<(Key, Scalar)>,
    /// Where the declaration starts.
    pub span: Span,
    /// False when a field of it was unknown or malformed (already
    /// reported): lowering then skips errors that may only follow from it,
    /// such as an output variable no input binds.
    pub intact: bool,
}

/// An entry of `secrets`.
#[derive(Clone, Debug)]
pub struct SecretDecl {
    /// The term string.
    pub term: Scalar,
    /// The label, if given.
    pub label: Option<Scalar>,
    /// Where the entry is written.
    pub span: Span,
}

/// What the author expects of one secret.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expected {
    /// Derivable; `within`: by an attack of at most that many API calls.
    Derivable {
        /// The most API calls the shortest attack may take.
        within: Option<u64>,
    },
    /// Not derivable; `proved`: and proved so, not only within bounds.
    NotDerivable {
        /// Whether proof mode must have proved it.
        proved: bool,
    },
    /// `no stateful attack`: derivable in the abstract model, but the
    /// attack needs an object in two states and the stateful search found
    /// no real attack within its bound on calls.
    NoStatefulAttack,
}

/// One expectation: `label: derivable` under `expect`.
#[derive(Clone, Debug, PartialEq)]
pub struct ExpectDecl {
    /// The secret's label (or its term as written when it has none).
    pub label: Key,
    /// What is expected.
    pub expected: Expected,
    /// Where the expectation is written (its value).
    pub span: Span,
}

/// An expectation in words: `derivable`, `not derivable`, `proved`,
/// `no stateful attack`, `within N calls`; `None` for anything else.
pub fn expected_words(words: &[&str]) -> Option<Expected> {
    match words {
        ["derivable"] => Some(Expected::Derivable { within: None }),
        ["not", "derivable"] | ["not-derivable"] => Some(Expected::NotDerivable { proved: false }),
        ["proved"] => Some(Expected::NotDerivable { proved: true }),
        ["no", "stateful", "attack"] => Some(Expected::NoStatefulAttack),
        ["within", n] | ["within", n, "call" | "calls"] => n
            .parse::<u64>()
            .ok()
            .filter(|n| *n > 0)
            .map(|n| Expected::Derivable { within: Some(n) }),
        _ => None,
    }
}

/// An expectation as words, the way [`expected_words`] reads it back.
pub fn expectation_words(e: Expected) -> String {
    match e {
        Expected::Derivable { within: None } => "derivable".to_string(),
        Expected::Derivable { within: Some(1) } => "within 1 call".to_string(),
        Expected::Derivable { within: Some(n) } => format!("within {n} calls"),
        Expected::NotDerivable { proved: false } => "not derivable".to_string(),
        Expected::NotDerivable { proved: true } => "proved".to_string(),
        Expected::NoStatefulAttack => "no stateful attack".to_string(),
    }
}

/// Reads an API file's structure. Returns what could be read and every
/// shape mistake found.
pub fn read(file: &str, root: &Node) -> (Spec, Vec<Diagnostic>) {
    let mut r = Reader {
        file,
        diags: Vec::new(),
    };
    let spec = r.spec(root);
    (spec, r.diags)
}

/// The candidate closest to `word` by edit distance, when it is close
/// enough to be a likely misspelling (ties: the earliest candidate).
pub fn suggest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    suggest_within(word, candidates, &SuggestBudget::new())
}

/// The work suggestions may do for one file: a file of a million unknown
/// names among a million declared ones would otherwise cost a million
/// edit distances a name (issue 15: 10k unknown among 10k names took a
/// minute). Once spent, mistakes are reported without a suggestion.
#[derive(Debug)]
pub struct SuggestBudget(std::cell::Cell<usize>);

impl SuggestBudget {
    /// The budget of one file: [`SUGGEST_WORK`] steps.
    pub fn new() -> Self {
        SuggestBudget(std::cell::Cell::new(SUGGEST_WORK))
    }

    /// Takes `cost` steps; false (and nothing left) when there are fewer.
    fn spend(&self, cost: usize) -> bool {
        let left = self.0.get();
        self.0.set(left.saturating_sub(cost));
        left >= cost
    }
}

impl Default for SuggestBudget {
    fn default() -> Self {
        SuggestBudget::new()
    }
}

/// Steps (candidates looked at, plus edit-distance cells) that the
/// suggestions for one file may take: some tens of milliseconds.
pub const SUGGEST_WORK: usize = 20_000_000;

/// [`suggest`], spending `budget`: each candidate costs a step, each edit
/// distance its table's size; with the budget spent, `None`.
pub fn suggest_within<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
    budget: &SuggestBudget,
) -> Option<&'a str> {
    let n = word.chars().count();
    // Nobody misspells a name this long, and the edit distance would cost
    // its length squared per candidate.
    if n > MAX_SUGGESTED {
        return None;
    }
    let limit = (n / 3).max(1);
    let lower = word.to_lowercase();
    let mut best: Option<(usize, &str)> = None;
    for c in candidates {
        if !budget.spend(1) {
            return None;
        }
        if c == word {
            continue;
        }
        // Lengths further apart than the limit are further apart in edits.
        let m = c.chars().count();
        if m.abs_diff(n) > limit {
            continue;
        }
        if !budget.spend((n + 1) * (m + 1)) {
            return None;
        }
        // Same letters in another case is the closest; otherwise case counts.
        let d = if lower == c.to_lowercase() {
            0
        } else {
            edit_distance(word, c)
        };
        let shortest = n.min(m);
        if d <= limit && d < shortest && best.is_none_or(|(b, _)| d < b) {
            best = Some((d, c));
        }
    }
    best.map(|(_, c)| c)
}

/// The most items a help text lists (the names of an API, its functions,
/// its knowledge...); the rest are counted, so that a thousand mistakes in
/// a file of a thousand names do not print a million.
pub const MAX_LISTED: usize = 50;

/// `items` joined with commas: the first [`MAX_LISTED`], then how many
/// more there are.
pub fn listing<S: AsRef<str>>(items: &[S]) -> String {
    listing_of(items.iter().map(AsRef::as_ref), items.len())
}

/// [`listing`] of the first items of an iterator of `total` items (only
/// the first [`MAX_LISTED`] are taken from it).
pub fn listing_of<'a>(items: impl IntoIterator<Item = &'a str>, total: usize) -> String {
    let shown: Vec<&str> = items.into_iter().take(MAX_LISTED).collect();
    let mut out = shown.join(", ");
    if total > MAX_LISTED {
        out.push_str(&format!(", and {} more", total - MAX_LISTED));
    }
    out
}

/// The longest word [`suggest`] looks for a spelling of.
const MAX_SUGGESTED: usize = 64;

/// Edit distance in characters: insertions, deletions, substitutions and
/// swaps of two neighbours each cost 1.
pub(crate) fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j - 1] + cost)
                .min(d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[a.len()][b.len()]
}

/// Help text that lists accepted fields, with a suggestion first.
fn fields_help(word: &str, accepted: &[&str]) -> String {
    let list = accepted.join(", ");
    match suggest(word, accepted.iter().copied()) {
        Some(s) => format!("did you mean `{s}`? accepted fields are: {list}"),
        None => format!("accepted fields are: {list}"),
    }
}

/// Reads shapes out of a node tree, collecting every mistake; shared with
/// the family-file reader.
pub(crate) struct Reader<'a> {
    /// The file, for diagnostics.
    pub file: &'a str,
    /// Mistakes found so far.
    pub diags: Vec<Diagnostic>,
}

impl Reader<'_> {
    /// Reports a shape mistake.
    pub fn error(&mut self, span: Span, message: String, help: impl Into<String>) {
        self.diags
            .push(Diagnostic::error(self.file, span, message).with_help(help));
    }

    /// The accepted fields of a mapping; unknown ones are reported.
    /// `None` when the node is not a mapping (reported too).
    pub fn fields<'n>(
        &mut self,
        node: &'n Node,
        place: &str,
        accepted: &[&str],
    ) -> Option<Vec<(&'n Key, &'n Node)>> {
        let entries = match &node.kind {
            NodeKind::Map(entries) => entries,
            _ => {
                self.error(
                    node.span,
                    format!("expected a mapping for {place}, found {}", node.describe()),
                    format!(
                        "write `field: value` lines; accepted fields are: {}",
                        accepted.join(", ")
                    ),
                );
                return None;
            }
        };
        let mut out = Vec::new();
        for (key, value) in entries {
            if accepted.contains(&key.text.as_str()) {
                out.push((key, value));
            } else {
                self.error(
                    key.span,
                    format!("unknown field `{}` in {place}", key.text),
                    fields_help(&key.text, accepted),
                );
            }
        }
        Some(out)
    }

    /// The items of a list field; an empty value is an empty list.
    pub fn list<'n>(&mut self, key: &Key, node: &'n Node) -> &'n [Node] {
        match &node.kind {
            NodeKind::Seq(items) => items,
            NodeKind::Null => &[],
            _ => {
                self.error(
                    node.span,
                    format!("`{}` must be a list, found {}", key.text, node.describe()),
                    if matches!(node.kind, NodeKind::Map(_)) {
                        format!(
                            "make `{}` a list: start each entry with `- `, as in `- name: ...`",
                            key.text
                        )
                    } else {
                        format!(
                            "write `{0}: [a, b]`, or one `- item` per line under `{0}:`",
                            key.text
                        )
                    },
                );
                &[]
            }
        }
    }

    /// A scalar; `what` names what was expected ("a term", "a name").
    pub fn scalar(&mut self, node: &Node, what: &str) -> Option<Scalar> {
        match &node.kind {
            NodeKind::Scalar(s) => Some(s.clone()),
            NodeKind::Map(_) | NodeKind::Seq(_) => {
                let help = if what.contains("term") || what.contains("check") {
                    "quote a term that contains `{`, `[`, `:` or `,`, e.g. \"{k}K\"; in YAML an unquoted `{` or `[` starts a mapping or a list"
                } else {
                    "write a single value here"
                };
                self.error(
                    node.span,
                    format!("expected {what}, found {}", node.describe()),
                    help,
                );
                None
            }
            NodeKind::Null => {
                self.error(
                    node.span,
                    format!("expected {what}, found an empty value"),
                    format!("write {what} here, or remove the entry"),
                );
                None
            }
        }
    }

    /// A list of scalars.
    pub fn scalars(&mut self, key: &Key, node: &Node, what: &str) -> Vec<Scalar> {
        self.list(key, node)
            .iter()
            .filter_map(|item| self.scalar(item, what))
            .collect()
    }

    fn spec(&mut self, root: &Node) -> Spec {
        let mut spec = Spec {
            start: root.span,
            ..Spec::default()
        };
        if root.kind == NodeKind::Null {
            spec.empty = true;
            return spec;
        }
        let Some(fields) = self.fields(root, "the top level of an API file", TOP_FIELDS) else {
            return spec;
        };
        for (key, value) in fields {
            match key.text.as_str() {
                "apisat" => spec.apisat = self.scalar(value, "the language version, `1`"),
                "name" => spec.name = self.scalar(value, "the API's name"),
                "description" => spec.description = self.scalar(value, "a description"),
                "constructors" => {
                    for item in self.list(key, value) {
                        if let Some(c) = self.ctor(item) {
                            spec.constructors.push(c);
                        }
                    }
                }
                "names" => {
                    spec.names_key = Some(key.span);
                    spec.names = self.names(value);
                }
                "knowledge" => spec.knowledge = self.scalars(key, value, "a term string"),
                "functions" => {
                    for item in self.list(key, value) {
                        if let Some(f) = self.rule(item, true) {
                            spec.functions.push(f);
                        }
                    }
                }
                "deductions" => {
                    for item in self.list(key, value) {
                        if let Some(d) = self.rule(item, false) {
                            spec.deductions.push(d);
                        }
                    }
                }
                "expect" => spec.expect = self.expectations(value),
                "attributes" => spec.attributes = self.attributes(key, value),
                "secrets" => {
                    spec.secrets_key = Some(key.span);
                    let secrets: Vec<SecretDecl> = self
                        .list(key, value)
                        .iter()
                        .filter_map(|item| self.secret(item))
                        .collect();
                    if !secrets.is_empty() {
                        spec.secrets = Some(secrets);
                    }
                }
                _ => {}
            }
        }
        spec
    }

    fn ctor(&mut self, node: &Node) -> Option<CtorDecl> {
        let fields = self.fields(node, "a constructor", CTOR_FIELDS)?;
        let (mut name, mut arity, mut private) = (None, None, false);
        for (key, value) in fields {
            match key.text.as_str() {
                "name" => name = self.scalar(value, "the constructor's name"),
                "arity" => arity = self.whole_number(value),
                "private" => private = self.boolean(key, value).unwrap_or(false),
                _ => {}
            }
        }
        let missing = |field: &str| format!("this constructor has no `{field}`");
        match (name, arity) {
            (Some(name), Some(arity)) => Some(CtorDecl {
                name,
                arity,
                private,
                span: node.span,
            }),
            (None, _) => {
                self.error(
                    node.span,
                    missing("name"),
                    "add `name: f`, the constructor's name",
                );
                None
            }
            (Some(name), None) => {
                let has_arity = matches!(&node.kind, NodeKind::Map(e) if e.iter().any(|(k, _)| k.text == "arity"));
                if !has_arity {
                    self.error(
                        name.span,
                        missing("arity"),
                        "add `arity: n`, its number of arguments (1 to 16)",
                    );
                }
                None
            }
        }
    }

    fn whole_number(&mut self, node: &Node) -> Option<Spanned<i128>> {
        if let NodeKind::Scalar(Scalar {
            kind: ScalarKind::Int(n),
            span,
            ..
        }) = &node.kind
        {
            return Some(Spanned {
                value: *n,
                span: *span,
            });
        }
        let found = match &node.kind {
            NodeKind::Scalar(s) => format!("`{}`", s.text),
            _ => node.describe().to_string(),
        };
        self.error(
            node.span,
            format!("`arity` must be a whole number, found {found}"),
            "write the number of arguments, from 1 to 16, e.g. `arity: 2`",
        );
        None
    }

    pub fn boolean(&mut self, key: &Key, node: &Node) -> Option<bool> {
        if let NodeKind::Scalar(Scalar {
            kind: ScalarKind::Bool(b),
            ..
        }) = &node.kind
        {
            return Some(*b);
        }
        let found = match &node.kind {
            NodeKind::Scalar(s) => format!("`{}`", s.text),
            _ => node.describe().to_string(),
        };
        self.error(
            node.span,
            format!("`{}` must be true or false, found {found}", key.text),
            format!("write `{}: true` or `{}: false`", key.text, key.text),
        );
        None
    }

    pub fn names(&mut self, node: &Node) -> Vec<NameGroup> {
        if node.kind == NodeKind::Null {
            return Vec::new();
        }
        let Some(fields) = self.fields(node, "`names`", NAME_FIELDS) else {
            return Vec::new();
        };
        let mut groups = Vec::new();
        for (key, value) in fields {
            let kind = match key.text.as_str() {
                "public" => NameKind::Public,
                "tags" => NameKind::Tag,
                "secret" => NameKind::Secret,
                "fresh" => NameKind::Fresh,
                _ => NameKind::Attacker,
            };
            let names = self.scalars(key, value, "a name");
            groups.push(NameGroup {
                kind,
                key: key.clone(),
                names,
            });
        }
        groups
    }

    pub fn rule(&mut self, node: &Node, function: bool) -> Option<RuleDecl> {
        let (place, accepted) = if function {
            ("a function", FUNCTION_FIELDS)
        } else {
            ("a deduction", DEDUCTION_FIELDS)
        };
        let before = self.diags.len();
        let fields = self.fields(node, place, accepted)?;
        let mut rule = RuleDecl {
            name: Scalar {
                text: String::new(),
                kind: ScalarKind::Str,
                span: node.span,
                content: None,
                map: None,
            },
            inputs: Vec::new(),
            checks: Vec::new(),
            fresh: Vec::new(),
            outputs: Vec::new(),
            sets: Vec::new(),
            span: node.span,
            intact: true,
        };
        let mut named = false;
        for (key, value) in fields {
            match key.text.as_str() {
                "name" => {
                    if let Some(name) = self.scalar(value, "the function's name") {
                        rule.name = name;
                        named = true;
                    }
                }
                "inputs" => rule.inputs = self.scalars(key, value, "an input term string"),
                "checks" => rule.checks = self.scalars(key, value, "a check string"),
                "fresh" => rule.fresh = self.scalars(key, value, "a fresh name"),
                "outputs" => rule.outputs = self.scalars(key, value, "an output term string"),
                "sets" => rule.sets = self.text_map(key, value, "an attribute value, T or F"),
                _ => {}
            }
        }
        let has_name_field =
            matches!(&node.kind, NodeKind::Map(e) if e.iter().any(|(k, _)| k.text == "name"));
        if !named {
            if !has_name_field {
                let what = if function { "function" } else { "deduction" };
                self.error(
                    node.span,
                    format!("this {what} has no `name`"),
                    format!("add `name: ...`, a name unique in the file, to every {what}"),
                );
            }
            return None;
        }
        rule.intact = self.diags.len() == before;
        Some(rule)
    }

    /// A mapping from keys to one scalar each (`sets`, `history`).
    pub fn text_map(&mut self, key: &Key, node: &Node, what: &str) -> Vec<(Key, Scalar)> {
        match &node.kind {
            NodeKind::Null => Vec::new(),
            NodeKind::Map(entries) => entries
                .iter()
                .filter_map(|(k, v)| Some((k.clone(), self.scalar(v, what)?)))
                .collect(),
            _ => {
                self.error(
                    node.span,
                    format!(
                        "`{}` must be a mapping, found {}",
                        key.text,
                        node.describe()
                    ),
                    format!("write `{}: {{name: value}}`", key.text),
                );
                Vec::new()
            }
        }
    }

    /// A list of pairs of attribute names: `[[wrap, decrypt]]`.
    pub fn pairs(&mut self, key: &Key, node: &Node) -> Vec<(Scalar, Scalar)> {
        let mut out = Vec::new();
        for item in self.list(key, node) {
            let pair = match &item.kind {
                NodeKind::Seq(two) if two.len() == 2 => {
                    let a = self.scalar(&two[0], "an attribute name");
                    let b = self.scalar(&two[1], "an attribute name");
                    a.zip(b)
                }
                _ => {
                    self.error(
                        item.span,
                        format!("expected a pair of attribute names, found {}", item.describe()),
                        format!("write each conflicting pair as a list of two names, e.g. `{}: [[wrap, decrypt]]`", key.text),
                    );
                    None
                }
            };
            out.extend(pair);
        }
        out
    }

    /// `attributes:`.
    fn attributes(&mut self, key: &Key, node: &Node) -> Option<AttributesDecl> {
        if node.kind == NodeKind::Null {
            return None;
        }
        let fields = self.fields(node, "`attributes`", ATTRIBUTE_FIELDS)?;
        let mut decl = AttributesDecl {
            key: key.span,
            ..AttributesDecl::default()
        };
        let mut has_names = false;
        for (k, v) in fields {
            match k.text.as_str() {
                "names" => {
                    has_names = true;
                    decl.names = self.scalars(k, v, "an attribute name");
                }
                "handle" => decl.handle = self.scalar(v, "the handle constructor's name"),
                "sticky_on" => decl.sticky_on = self.scalars(k, v, "an attribute name"),
                "sticky_off" => decl.sticky_off = self.scalars(k, v, "an attribute name"),
                "conflicts" => decl.conflicts = self.pairs(k, v),
                _ => {
                    decl.history =
                        self.text_map(k, v, "`always <attribute>` or `never <attribute>`")
                }
            }
        }
        if !has_names {
            self.error(
                key.span,
                "`attributes` has no `names`".to_string(),
                "list the attribute names, e.g. `names: [wrap, unwrap, encrypt, decrypt, extractable]`",
            );
            return None;
        }
        Some(decl)
    }

    /// `expect:`, a mapping from secret labels to expectations.
    pub fn expectations(&mut self, node: &Node) -> Vec<ExpectDecl> {
        if node.kind == NodeKind::Null {
            return Vec::new();
        }
        let NodeKind::Map(entries) = &node.kind else {
            self.error(
                node.span,
                format!("expected a mapping for `expect`, found {}", node.describe()),
                "write one `label: expectation` line per secret, e.g. `PIN: derivable`",
            );
            return Vec::new();
        };
        entries
            .iter()
            .filter_map(|(key, value)| {
                let expected = self.expected(key, value)?;
                Some(ExpectDecl {
                    label: key.clone(),
                    expected,
                    span: value.span,
                })
            })
            .collect()
    }

    /// One expectation: `derivable`, `not derivable`, `proved`,
    /// `within N calls`, or a mapping `{derivable, within, proved}`.
    fn expected(&mut self, key: &Key, node: &Node) -> Option<Expected> {
        const FORMS: &str = "write `derivable`, `within 3 calls`, `not derivable`, `proved`, `no stateful attack`, or a mapping such as `{derivable: true, within: 3}` or `{derivable: false, proved: true}`";
        match &node.kind {
            NodeKind::Scalar(s) => {
                let words: Vec<&str> = s.text.split_whitespace().collect();
                let parsed = expected_words(&words);
                if parsed.is_none() {
                    self.error(
                        s.span,
                        format!("`{}` is not an expectation for `{}`", s.text, key.text),
                        FORMS,
                    );
                }
                parsed
            }
            NodeKind::Map(_) => {
                let fields = self.fields(node, "an expectation", EXPECT_FIELDS)?;
                let (mut derivable, mut within, mut proved) = (None, None, None);
                for (k, v) in fields {
                    match k.text.as_str() {
                        "derivable" => derivable = Some(self.boolean(k, v)?),
                        "proved" => proved = Some((self.boolean(k, v)?, k.span)),
                        _ => match &v.kind {
                            NodeKind::Scalar(Scalar {
                                kind: ScalarKind::Int(n),
                                ..
                            }) if *n > 0 && *n <= i128::from(u32::MAX) => {
                                within = Some((*n as u64, k.span))
                            }
                            _ => {
                                self.error(
                                    v.span,
                                    format!(
                                        "`within` must be a positive whole number of API calls, found {}",
                                        v.describe()
                                    ),
                                    "write e.g. `within: 3`",
                                );
                                return None;
                            }
                        },
                    }
                }
                let proved_true = proved.filter(|p| p.0);
                if let (Some(false) | None, Some((_, span))) = (derivable, within) {
                    if derivable == Some(false) || proved_true.is_some() {
                        self.error(
                            span,
                            "`within` bounds an attack, but this expectation says there is none"
                                .to_string(),
                            "drop `within`, or expect `derivable: true`",
                        );
                        return None;
                    }
                }
                if let (Some(true), Some((_, span))) = (derivable, proved_true) {
                    self.error(
                        span,
                        "`proved` means proved not derivable, but this expectation says derivable"
                            .to_string(),
                        "drop `proved`, or expect `derivable: false`",
                    );
                    return None;
                }
                match (derivable, within, proved_true) {
                    (Some(true), w, _) | (None, w @ Some(_), None) => Some(Expected::Derivable {
                        within: w.map(|w| w.0),
                    }),
                    (Some(false), _, p) | (None, None, p @ Some(_)) => {
                        Some(Expected::NotDerivable {
                            proved: p.is_some(),
                        })
                    }
                    _ => {
                        self.error(
                            node.span,
                            format!("the expectation for `{}` says nothing", key.text),
                            FORMS,
                        );
                        None
                    }
                }
            }
            _ => {
                self.error(
                    node.span,
                    format!(
                        "expected an expectation for `{}`, found {}",
                        key.text,
                        node.describe()
                    ),
                    FORMS,
                );
                None
            }
        }
    }

    /// A secret: a term string, or `{term, label}`.
    pub fn secret(&mut self, node: &Node) -> Option<SecretDecl> {
        if let NodeKind::Scalar(term) = &node.kind {
            return Some(SecretDecl {
                term: term.clone(),
                label: None,
                span: node.span,
            });
        }
        if !matches!(node.kind, NodeKind::Map(_)) {
            self.scalar(
                node,
                "a secret term string, or a mapping with `term` and `label`",
            );
            return None;
        }
        let fields = self.fields(node, "a secret", SECRET_FIELDS)?;
        let (mut term, mut label, mut has_term) = (None, None, false);
        for (key, value) in fields {
            match key.text.as_str() {
                "term" => {
                    has_term = true;
                    term = self.scalar(value, "a term string");
                }
                _ => label = self.scalar(value, "a label"),
            }
        }
        if !has_term {
            self.error(
                node.span,
                "this secret has no `term`".to_string(),
                "write `term: \"{PAN}P\"` (and optionally `label: PIN`), or just the term string",
            );
        }
        Some(SecretDecl {
            term: term?,
            label,
            span: node.span,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::front::yaml;

    fn read_src(src: &str) -> (Spec, Vec<Diagnostic>) {
        let node = yaml::parse("t.yaml", src).expect("valid YAML");
        read("t.yaml", &node)
    }

    #[test]
    fn reads_every_field() {
        let src = "apisat: 1\nname: X\ndescription: d\nconstructors:\n  - {name: hdl, arity: 2, private: true}\nnames:\n  public: [PAN]\n  secret: [K]\nknowledge: [\"{K}K\"]\nfunctions:\n  - name: F\n    inputs: [x]\n    checks: [\"x != PAN\"]\n    fresh: [n]\n    outputs: [\"{x}K\"]\ndeductions:\n  - {name: D, inputs: [x], outputs: [x]}\nsecrets:\n  - K\n  - {term: \"{PAN}K\", label: PIN}\n";
        let (spec, diags) = read_src(src);
        assert!(diags.is_empty(), "{diags:?}");
        assert_eq!(spec.constructors[0].arity.value, 2);
        assert!(spec.constructors[0].private);
        assert_eq!(spec.names.len(), 2);
        assert_eq!(spec.names[1].kind, NameKind::Secret);
        assert_eq!(spec.functions[0].fresh[0].text, "n");
        assert_eq!(spec.deductions[0].name.text, "D");
        let secrets = spec.secrets.expect("secrets");
        assert_eq!(
            secrets[1].label.as_ref().map(|l| l.text.as_str()),
            Some("PIN")
        );
    }

    #[test]
    fn collects_every_shape_error() {
        let src = "functons: []\nnames:\n  public: PAN\n  secrit: [K]\nfunctions:\n  - name: F\n    inputs: [{k}]\n    outputz: [k]\n  - inputs: [x]\nconstructors:\n  - name: c\n    arity: two\n    private: yes\n";
        let (_, mut diags) = read_src(src);
        diags.sort_by_key(|d| d.span);
        let got: Vec<_> = diags.iter().map(|d| (d.span.line, d.span.col)).collect();
        assert_eq!(
            got,
            vec![
                (1, 1),
                (3, 11),
                (4, 3),
                (7, 14),
                (8, 5),
                (9, 5),
                (12, 12),
                (13, 14)
            ]
        );
        assert!(diags[0]
            .help
            .as_deref()
            .unwrap_or("")
            .starts_with("did you mean `functions`?"));
        assert!(diags[1].message.contains("must be a list, found a string"));
        assert!(diags[3]
            .message
            .contains("expected an input term string, found a mapping"));
    }

    #[test]
    fn suggestions_are_close_only() {
        let names = ["TCMK", "MK", "PAN"];
        assert_eq!(suggest("TCMKK", names), Some("TCMK"));
        assert_eq!(suggest("tcmk", names), Some("TCMK"));
        assert_eq!(suggest("XYZ", names), None);
        assert_eq!(suggest("M", names), None);
        assert_eq!(suggest("tmk", names), None);
        assert_eq!(suggest("lable", ["term", "label"]), Some("label"));
    }
}

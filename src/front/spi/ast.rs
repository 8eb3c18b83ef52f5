//! The spi notation's syntax tree, as written: terms, processes and the
//! file's items, each with its source position. What a process means as
//! an API function is [`super::read`]'s business.

use crate::front::diagnostic::Span;
use crate::front::term::NameKind;

/// An identifier and where it is written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ident {
    /// Its text.
    pub text: String,
    /// Where it is written.
    pub span: Span,
}

/// A term: a message of the spi calculus.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Term {
    /// What the term is.
    pub kind: TermKind,
    /// Its first token, and its length when it is on one line.
    pub span: Span,
}

/// The shape of a term (the same as the YAML term strings', without
/// attribute records and wildcards).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TermKind {
    /// A name, or a variable bound by the process.
    Name(String),
    /// `0`, the zero constant of XOR.
    Zero,
    /// `f(t1, ..., tn)`.
    App(Ident, Vec<Term>),
    /// `(t1, ..., tn)`, n ≥ 2.
    Tuple(Vec<Term>),
    /// `{m1, ..., mk}key`.
    Enc(Vec<Term>, Box<Term>),
    /// `t1 xor ... xor tn`, n ≥ 2.
    Xor(Vec<Term>),
    /// `_`: never written as a term; a pattern holds it where a `_`
    /// binder stood (`case y of {_, k}K`).
    Wild,
}

/// What an input, a `case` or a `let` binds in one place: a variable, or
/// `_` (bound to nothing).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Binder {
    /// A variable.
    Var(Ident),
    /// `_`.
    Wild(Span),
}

impl Binder {
    /// Where the binder is written.
    pub fn span(&self) -> Span {
        match self {
            Binder::Var(v) => v.span,
            Binder::Wild(s) => *s,
        }
    }
}

/// A condition in brackets, other than a match `[M is N]`: apisat's
/// checks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cond {
    /// `[a == b]`.
    Equal(Term, Term),
    /// `[a != b]`.
    NotEqual(Term, Term),
    /// `[t in [A, B]]`.
    OneOf(Term, Vec<Term>),
}

/// A process, with the position of its first token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Process {
    /// What the process is.
    pub kind: ProcKind,
    /// Where it starts.
    pub span: Span,
}

/// The shape of a process.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProcKind {
    /// `0`, the stopped process (also an empty continuation).
    Nil,
    /// `P | Q | ...`.
    Par(Vec<Process>),
    /// `!P`.
    Repl(Box<Process>),
    /// `(new n1, ..., nk) P` or `(ν n) P`.
    New(Vec<Ident>, Box<Process>),
    /// `c(x1, ..., xk). P`.
    Input(Ident, Vec<Binder>, Box<Process>),
    /// `c<M>. P`; `P` is `None` when nothing follows.
    Output(Ident, Term, Option<Box<Process>>),
    /// `case L of {x1, ..., xk}N in P`: L, the fields, N, where
    /// `{x1, ..., xk}N` is written, and P.
    Case(Term, Vec<Binder>, Term, Span, Box<Process>),
    /// `let (x1, ..., xk) = M in P`: the binders, where `(x1, ..., xk)` is
    /// written, M and P.
    Let(Vec<Binder>, Span, Term, Box<Process>),
    /// `[M is N] P`.
    Match(Term, Term, Box<Process>),
    /// `[a == b] P`, `[a != b] P`, `[t in [A, B]] P`.
    Check(Cond, Span, Box<Process>),
    /// A defined process, by its name.
    Ref(Ident),
}

/// One `secret` entry: a term to keep secret, with an optional label.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecretEntry {
    /// `PIN =` or `"customer PIN" =`.
    pub label: Option<Ident>,
    /// The term.
    pub term: Term,
}

/// One `expect` entry: a secret's label and the words of the expectation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExpectEntry {
    /// The label.
    pub label: Ident,
    /// The words (`within`, `2`, `calls`), as written.
    pub words: Vec<String>,
    /// Where the words are.
    pub span: Span,
}

/// A top-level item of a spi file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Item {
    /// `name "VSM"`: the API's name in reports.
    Name(Ident),
    /// `public A, B`, `tags T`, `attacker E`: names by kind.
    Names(NameKind, Ident, Vec<Ident>),
    /// `secret PIN = {PAN}P, P`: the secrets to check.
    Secrets(Span, Vec<SecretEntry>),
    /// `expect PIN within 2 calls, P proved`.
    Expect(Span, Vec<ExpectEntry>),
    /// `system = P`: the keyword, and the process.
    System(Span, Process),
    /// `Name = P`: a process definition (an API function).
    Def(Ident, Process),
    /// An item with a syntax error (already reported), by the word that
    /// starts it (a definition's name, `system`, `secret`, ...), so that
    /// what depends on it is not reported again.
    Broken(Ident),
}

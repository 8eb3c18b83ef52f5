//! Tokens to the syntax tree: a recursive-descent parser of the grammar
//! in [`super`]'s documentation.
//!
//! A mistake ends the item it is in: the parser reports it and resumes at
//! the next line that starts an item (a declaration keyword, or
//! `Name =`), so every broken item of a file is reported at once.
//! Nesting is capped (terms at [`syntax::MAX_NESTING`], processes at
//! [`MAX_PROCESS_DEPTH`]) and lists at [`syntax::MAX_ARITY`], so that no
//! input overflows the stack.

use super::ast::{
    Binder, Cond, ExpectEntry, Ident, Item, ProcKind, Process, SecretEntry, Term, TermKind,
};
use super::lexer::{symbol, Tok, Token};
use crate::front::diagnostic::{Diagnostic, Span};
use crate::front::syntax;
use crate::front::term::NameKind;

/// Deepest nesting of process constructs (prefixes, parentheses,
/// replications) accepted: an API function needs a few dozen.
pub const MAX_PROCESS_DEPTH: usize = 256;

/// Words that start a declaration at the beginning of an item.
pub const DECLARATIONS: &[&str] = &["name", "public", "tags", "attacker", "secret", "expect"];

/// Words of the process syntax that are never names.
pub const KEYWORDS: &[&str] = &["case", "of", "in", "let", "new", "is"];

/// The help line naming what may start an item.
const ITEM_HELP: &str = "an item is a definition `Name = !c(x). ...`, the system `system = ...`, or a declaration: `name`, `public`, `tags`, `attacker`, `secret`, `expect`";

/// Parses tokens into items; returns the items read and every mistake.
pub fn parse(file: &str, tokens: &[Token]) -> (Vec<Item>, Vec<Diagnostic>) {
    let mut p = Parser {
        file,
        tokens,
        pos: 0,
        diags: Vec::new(),
        partial: None,
    };
    let mut items = Vec::new();
    while p.pos < tokens.len() {
        let start = p.pos;
        match p.item() {
            Ok(item) => {
                items.push(item);
                if p.pos < tokens.len() && !p.item_start(p.pos) {
                    let t = &tokens[p.pos];
                    let help = if t.line_start {
                        ITEM_HELP.to_string()
                    } else {
                        "join processes with `|`, continue one with `.`, separate list entries with `,`; or start the next item on a new line".to_string()
                    };
                    let d = p.diag(
                        t.span,
                        format!("unexpected {} after the item", t.describe()),
                        help,
                    );
                    p.diags.push(d);
                    p.recover();
                }
            }
            Err(d) => {
                p.diags.push(d);
                if let Some(Token {
                    tok: Tok::Ident(word),
                    span,
                    ..
                }) = tokens.get(start)
                {
                    items.push(Item::Broken(Ident {
                        text: word.clone(),
                        span: *span,
                    }));
                }
                items.extend(p.partial.take());
                p.recover();
            }
        }
    }
    (items, p.diags)
}

struct Parser<'a> {
    file: &'a str,
    tokens: &'a [Token],
    pos: usize,
    diags: Vec<Diagnostic>,
    /// What a list item read before its mistake (names, secrets), kept.
    partial: Option<Item>,
}

type Parsed<T> = Result<T, Diagnostic>;

impl Parser<'_> {
    fn diag(&self, span: Span, message: impl Into<String>, help: impl Into<String>) -> Diagnostic {
        Diagnostic::error(self.file, span, message).with_help(help)
    }

    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn peek_at(&self, i: usize) -> Option<&Token> {
        self.tokens.get(self.pos + i)
    }

    fn is(&self, tok: &Tok) -> bool {
        self.peek().is_some_and(|t| t.tok == *tok)
    }

    fn is_word(&self, word: &str) -> bool {
        self.peek().and_then(Token::ident) == Some(word)
    }

    /// Where the next token is, or just after the last one at the end.
    fn here(&self) -> Span {
        match self.peek() {
            Some(t) => t.span,
            None => self.tokens.last().map_or(Span::new(1, 1, 1), |t| {
                Span::new(t.span.line, t.span.col + t.span.len, 1)
            }),
        }
    }

    fn found(&self) -> String {
        self.peek()
            .map_or("the end of the file".to_string(), Token::describe)
    }

    /// An error at the next token: "expected WHAT, found ...".
    fn expected(&self, what: &str, help: impl Into<String>) -> Diagnostic {
        self.diag(
            self.here(),
            format!("expected {what}, found {}", self.found()),
            help,
        )
    }

    fn eat(&mut self, tok: &Tok) -> bool {
        if self.is(tok) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, tok: &Tok, help: &str) -> Parsed<Span> {
        match self.peek().map(|t| (t.tok == *tok, t.span)) {
            Some((true, span)) => {
                self.pos += 1;
                Ok(span)
            }
            _ => Err(self.expected(&format!("`{}`", symbol(tok)), help)),
        }
    }

    fn expect_word(&mut self, word: &str, help: &str) -> Parsed<Span> {
        if self.is_word(word) {
            self.pos += 1;
            return Ok(self.tokens[self.pos - 1].span);
        }
        Err(self.expected(&format!("`{word}`"), help))
    }

    /// The span from `start` to the end of the last token taken, when on
    /// one line; else `start`.
    fn since(&self, start: Span) -> Span {
        let Some(last) = self.pos.checked_sub(1).and_then(|i| self.tokens.get(i)) else {
            return start;
        };
        if last.span.line == start.line && last.span.col >= start.col {
            Span::new(
                start.line,
                start.col,
                last.span.col + last.span.len - start.col,
            )
        } else {
            start
        }
    }

    /// True when the token at `i` starts an item.
    fn item_start(&self, i: usize) -> bool {
        let Some(word) = self.tokens.get(i).and_then(Token::ident) else {
            return false;
        };
        let eq = self.tokens.get(i + 1).is_some_and(|t| t.tok == Tok::Eq);
        eq || DECLARATIONS.contains(&word)
    }

    /// Skips to the next token that starts a line and an item.
    fn recover(&mut self) {
        self.pos += 1;
        while self.pos < self.tokens.len()
            && !(self.tokens[self.pos].line_start && self.item_start(self.pos))
        {
            self.pos += 1;
        }
    }

    // ----- items -------------------------------------------------------

    fn item(&mut self) -> Parsed<Item> {
        let Some(t) = self.peek().cloned() else {
            return Err(self.expected("an item", ITEM_HELP));
        };
        let Some(word) = t.ident().map(str::to_string) else {
            return Err(self.diag(
                t.span,
                format!("expected an item, found {}", t.describe()),
                ITEM_HELP,
            ));
        };
        let defines = self.peek_at(1).is_some_and(|n| n.tok == Tok::Eq);
        if defines {
            self.pos += 2;
            let body = self.process(0)?;
            if word == "system" {
                return Ok(Item::System(t.span, body));
            }
            if KEYWORDS.contains(&word.as_str()) {
                return Err(self.diag(
                    t.span,
                    format!("`{word}` is a keyword and cannot name a process"),
                    "name the process differently, e.g. `Encrypt`",
                ));
            }
            return Ok(Item::Def(
                Ident {
                    text: word,
                    span: t.span,
                },
                body,
            ));
        }
        self.pos += 1;
        let kind = match word.as_str() {
            "name" => {
                let Some(n) = self.peek().cloned() else {
                    return Err(self.expected("the API's name", "write `name \"My API\"`"));
                };
                let text = match n.tok {
                    Tok::Str(s) => s,
                    Tok::Ident(s) => s,
                    _ => {
                        return Err(
                            self.expected("the API's name, a string", "write `name \"My API\"`")
                        )
                    }
                };
                self.pos += 1;
                return Ok(Item::Name(Ident { text, span: n.span }));
            }
            "public" => NameKind::Public,
            "tags" => NameKind::Tag,
            "attacker" => NameKind::Attacker,
            "secret" => return self.secrets(t.span),
            "expect" => return self.expectations(t.span),
            "system" => {
                return Err(self.expected(
                    "`=` after `system`",
                    "write `system = (new K) (c<{A}K> | F | G)`",
                ));
            }
            _ => {
                let help = if self.is(&Tok::LParen) || self.is(&Tok::LAngle) || self.is(&Tok::Dot) {
                    format!("a process stands in a definition: write `{word}Fn = !{word}(...). ...` and put it in the system")
                } else {
                    match crate::front::spec::suggest(&word, DECLARATIONS.iter().copied()) {
                        Some(s) => format!("did you mean `{s}`? {ITEM_HELP}"),
                        None => ITEM_HELP.to_string(),
                    }
                };
                return Err(self.diag(t.span, format!("expected an item, found `{word}`"), help));
            }
        };
        let keyword = Ident {
            text: word,
            span: t.span,
        };
        let mut names = Vec::new();
        loop {
            let next = if names.len() == syntax::MAX_ARITY {
                Err(self.diag(
                    self.here(),
                    format!(
                        "too many names in one declaration: more than {}",
                        syntax::MAX_ARITY
                    ),
                    "split the declaration over several lines",
                ))
            } else {
                self.name_ident()
            };
            match next {
                Ok(n) => names.push(n),
                Err(d) => {
                    self.partial = Some(Item::Names(kind, keyword, names));
                    return Err(d);
                }
            }
            if !self.eat(&Tok::Comma) {
                return Ok(Item::Names(kind, keyword, names));
            }
        }
    }

    /// A declared name: an identifier that is not a keyword.
    fn name_ident(&mut self) -> Parsed<Ident> {
        match self.peek().cloned() {
            Some(Token { tok: Tok::Ident(s), span, .. }) if !KEYWORDS.contains(&s.as_str()) => {
                self.pos += 1;
                Ok(Ident { text: s, span })
            }
            _ => Err(self.expected("a name", "names are letters, digits and `_`, starting with a letter or `_`; separate them with `,`")),
        }
    }

    /// `secret PIN = {PAN}P, P`.
    fn secrets(&mut self, keyword: Span) -> Parsed<Item> {
        let mut entries = Vec::new();
        loop {
            let labelled = self.peek_at(1).is_some_and(|t| t.tok == Tok::Eq);
            let label = match self.peek().cloned() {
                Some(Token {
                    tok: Tok::Str(s) | Tok::Ident(s),
                    span,
                    ..
                }) if labelled => {
                    self.pos += 2;
                    Some(Ident { text: s, span })
                }
                _ => None,
            };
            let term = match self.term(0) {
                Ok(t) if entries.len() == syntax::MAX_ARITY => Err(self.diag(
                    t.span,
                    format!(
                        "too many secrets in one declaration: more than {}",
                        syntax::MAX_ARITY
                    ),
                    "split the declaration over several lines",
                )),
                other => other,
            };
            let term = match term {
                Ok(t) => t,
                Err(d) => {
                    self.partial = Some(Item::Secrets(keyword, entries));
                    return Err(d);
                }
            };
            entries.push(SecretEntry { label, term });
            if !self.eat(&Tok::Comma) {
                return Ok(Item::Secrets(keyword, entries));
            }
        }
    }

    /// `expect PIN within 2 calls, P proved`.
    fn expectations(&mut self, keyword: Span) -> Parsed<Item> {
        const FORMS: &str = "write `expect LABEL derivable`, `within 3 calls`, `not derivable`, `proved` or `no stateful attack`";
        let mut entries = Vec::new();
        loop {
            let label = match self.peek().cloned() {
                Some(Token {
                    tok: Tok::Str(s) | Tok::Ident(s),
                    span,
                    ..
                }) => {
                    self.pos += 1;
                    Ident { text: s, span }
                }
                _ => return Err(self.expected("a secret's label", FORMS)),
            };
            let start = self.here();
            let word = |p: &mut Self| -> Option<String> {
                let t = p.peek()?;
                let w = match &t.tok {
                    Tok::Ident(s) | Tok::Number(s) => s.clone(),
                    _ => return None,
                };
                p.pos += 1;
                Some(w)
            };
            let mut words = vec![word(self).ok_or_else(|| self.expected("an expectation", FORMS))?];
            let more: &[&str] = match words[0].as_str() {
                "not" => &["derivable"],
                "no" => &["stateful", "attack"],
                "within" => &["N"],
                _ => &[],
            };
            for w in more {
                match word(self) {
                    Some(got) => words.push(got),
                    None => return Err(self.expected(&format!("`{w}`"), FORMS)),
                }
            }
            if words[0] == "within" && (self.is_word("call") || self.is_word("calls")) {
                words.extend(word(self));
            }
            let span = self.since(start);
            if entries.len() == syntax::MAX_ARITY {
                return Err(self.diag(
                    span,
                    format!(
                        "too many expectations in one declaration: more than {}",
                        syntax::MAX_ARITY
                    ),
                    "split the declaration over several lines",
                ));
            }
            entries.push(ExpectEntry { label, words, span });
            if !self.eat(&Tok::Comma) {
                return Ok(Item::Expect(keyword, entries));
            }
        }
    }

    // ----- processes ---------------------------------------------------

    fn too_deep(&self) -> Diagnostic {
        self.diag(
            self.here(),
            format!("process nested too deeply (more than {MAX_PROCESS_DEPTH} levels)"),
            "an API function is a few prefixes long; check for a runaway definition",
        )
    }

    /// `process := prefixed ('|' prefixed)*`.
    fn process(&mut self, depth: usize) -> Parsed<Process> {
        let first = self.prefixed(depth)?;
        if !self.is(&Tok::Bar) {
            return Ok(first);
        }
        let span = first.span;
        let mut parts = vec![first];
        while self.eat(&Tok::Bar) {
            if parts.len() == syntax::MAX_ARITY * 16 {
                return Err(self.diag(
                    self.here(),
                    "too many processes in one parallel composition",
                    "an API has a few dozen functions and tokens",
                ));
            }
            parts.push(self.prefixed(depth)?);
        }
        Ok(Process {
            kind: ProcKind::Par(parts),
            span,
        })
    }

    /// One process without a top-level `|`.
    fn prefixed(&mut self, depth: usize) -> Parsed<Process> {
        if depth > MAX_PROCESS_DEPTH {
            return Err(self.too_deep());
        }
        let d = depth + 1;
        let span = self.here();
        let Some(t) = self.peek().cloned() else {
            return Err(self.expected("a process", "a process is `0`, `!P`, `(new n) P`, `c(x). P`, `c<M>. P`, `case ...`, `let ...`, `[M is N] P`, `P | Q`, or a defined process's name"));
        };
        let kind = match &t.tok {
            Tok::Bang => {
                self.pos += 1;
                ProcKind::Repl(Box::new(self.prefixed(d)?))
            }
            Tok::Nu => {
                return Err(self.diag(
                    t.span,
                    "write the restriction in parentheses, `(ν n) P`",
                    "the restriction is `(new n) P`, or `(ν n) P`",
                ));
            }
            Tok::LParen => {
                let restricts = self
                    .peek_at(1)
                    .is_some_and(|n| n.tok == Tok::Nu || n.ident() == Some("new"));
                self.pos += 1;
                if restricts {
                    self.pos += 1;
                    let mut names = vec![self.name_ident()?];
                    while self.eat(&Tok::Comma) {
                        if names.len() == syntax::MAX_ARITY {
                            return Err(self.diag(
                                self.here(),
                                "too many names in one restriction",
                                "split it: `(new a) (new b) P`",
                            ));
                        }
                        names.push(self.name_ident()?);
                    }
                    self.expect(&Tok::RParen, "close the restriction: `(new n) P`")?;
                    ProcKind::New(names, Box::new(self.prefixed(d)?))
                } else {
                    let inner = self.process(d)?;
                    self.expect(
                        &Tok::RParen,
                        "close the parenthesis opened before the process",
                    )?;
                    return Ok(inner);
                }
            }
            Tok::Number(n) if n == "0" => {
                self.pos += 1;
                ProcKind::Nil
            }
            Tok::LBracket => {
                self.pos += 1;
                self.condition(d)?
            }
            Tok::Ident(w) if w == "case" => {
                self.pos += 1;
                let subject = self.term(0)?;
                self.expect_word("of", "write `case y of {x1, x2}K in P`")?;
                let open = self.expect(
                    &Tok::LBrace,
                    "a `case` decrypts: `case y of {x1, x2}K in P`",
                )?;
                let fields = self.binders(&Tok::RBrace)?;
                let key = self.operand(0)?;
                let pattern = self.since(open);
                self.expect_word("in", "write `case y of {x1, x2}K in P`")?;
                ProcKind::Case(subject, fields, key, pattern, Box::new(self.prefixed(d)?))
            }
            Tok::Ident(w) if w == "let" => {
                self.pos += 1;
                let open = self.expect(
                    &Tok::LParen,
                    "a `let` splits a tuple: `let (x, y) = M in P`",
                )?;
                let binders = self.binders(&Tok::RParen)?;
                let pattern = self.since(open);
                self.expect(&Tok::Eq, "write `let (x, y) = M in P`")?;
                let subject = self.term(0)?;
                self.expect_word("in", "write `let (x, y) = M in P`")?;
                ProcKind::Let(binders, pattern, subject, Box::new(self.prefixed(d)?))
            }
            Tok::Ident(w) if KEYWORDS.contains(&w.as_str()) => {
                return Err(self.diag(t.span, format!("expected a process, found the keyword `{w}`"), "a process starts with `!`, `(new n)`, `c(x).`, `c<M>`, `case`, `let`, `[` or a defined process's name"));
            }
            Tok::Ident(w) => {
                self.pos += 1;
                let chan = Ident {
                    text: w.clone(),
                    span: t.span,
                };
                if self.eat(&Tok::LParen) {
                    let binders = if self.eat(&Tok::RParen) {
                        Vec::new()
                    } else {
                        self.binders(&Tok::RParen)?
                    };
                    self.expect(
                        &Tok::Dot,
                        "an input is followed by what the process does next: `c(x). P`",
                    )?;
                    ProcKind::Input(chan, binders, Box::new(self.prefixed(d)?))
                } else if self.eat(&Tok::LAngle) {
                    let message = self.term(0)?;
                    if self.is(&Tok::Comma) {
                        return Err(self.diag(self.here(), "an output sends one term", "send several terms one after another, `c<M>. c<N>`, or as a tuple, `c<(M, N)>`"));
                    }
                    self.expect(&Tok::RAngle, "close the output: `c<M>`")?;
                    let then = if self.eat(&Tok::Dot) {
                        Some(Box::new(self.prefixed(d)?))
                    } else {
                        None
                    };
                    ProcKind::Output(chan, message, then)
                } else {
                    ProcKind::Ref(chan)
                }
            }
            _ => {
                return Err(self.expected("a process", "a process is `0`, `!P`, `(new n) P`, `c(x). P`, `c<M>. P`, `case ...`, `let ...`, `[M is N] P`, `P | Q`, or a defined process's name"));
            }
        };
        Ok(Process { kind, span })
    }

    /// After `[`: a match `[M is N] P` or a check.
    fn condition(&mut self, depth: usize) -> Parsed<ProcKind> {
        const HELP: &str =
            "in brackets: a match `[M is N]`, or a check `[a == b]`, `[a != b]`, `[t in [A, B]]`";
        let left = self.term(0)?;
        let op = self.here();
        let cond = if self.is_word("is") {
            self.pos += 1;
            let right = self.term(0)?;
            self.expect(&Tok::RBracket, HELP)?;
            return Ok(ProcKind::Match(
                left,
                right,
                Box::new(self.prefixed(depth)?),
            ));
        } else if self.eat(&Tok::EqEq) {
            Cond::Equal(left, self.term(0)?)
        } else if self.eat(&Tok::NotEq) {
            Cond::NotEqual(left, self.term(0)?)
        } else if self.is_word("in") {
            self.pos += 1;
            self.expect(&Tok::LBracket, "write `[t in [A, B]]`")?;
            let mut items = vec![self.term(0)?];
            while self.eat(&Tok::Comma) {
                if items.len() == syntax::MAX_ARITY {
                    return Err(self.diag(
                        self.here(),
                        format!(
                            "too many terms: more than {} in one `in [...]` list",
                            syntax::MAX_ARITY
                        ),
                        "an `in [...]` list holds at most 256 terms",
                    ));
                }
                items.push(self.term(0)?);
            }
            self.expect(&Tok::RBracket, "close the list: `[t in [A, B]]`")?;
            Cond::OneOf(left, items)
        } else if self.is(&Tok::Eq) {
            return Err(self.diag(
                self.here(),
                "unexpected `=` in a condition",
                "a match is `[M is N]`; a check compares with `==` or `!=`",
            ));
        } else {
            return Err(self.expected("`is`, `==`, `!=` or `in`", HELP));
        };
        self.expect(&Tok::RBracket, HELP)?;
        Ok(ProcKind::Check(cond, op, Box::new(self.prefixed(depth)?)))
    }

    /// `binder (',' binder)* close`.
    fn binders(&mut self, close: &Tok) -> Parsed<Vec<Binder>> {
        let mut out = Vec::new();
        loop {
            let b = match self.peek().cloned() {
                Some(Token { tok: Tok::Ident(s), span, .. }) if s == "_" => Binder::Wild(span),
                Some(Token { tok: Tok::Ident(s), span, .. }) if !KEYWORDS.contains(&s.as_str()) => {
                    Binder::Var(Ident { text: s, span })
                }
                _ => return Err(self.expected("a variable", "an input, a `case` and a `let` bind variables (or `_`): `c(x, y)`, `{t, k}K`, `(a, b)`")),
            };
            self.pos += 1;
            if out.len() == syntax::MAX_ARITY {
                return Err(self.diag(
                    b.span(),
                    format!(
                        "too many variables: more than {} in one list",
                        syntax::MAX_ARITY
                    ),
                    "group values as tuples",
                ));
            }
            out.push(b);
            if self.eat(close) {
                return Ok(out);
            }
            self.expect(
                &Tok::Comma,
                &format!(
                    "separate variables with `,` and close the list with `{}`",
                    symbol(close)
                ),
            )?;
        }
    }

    // ----- terms -------------------------------------------------------

    /// `term := operand (XOR operand)*`.
    fn term(&mut self, depth: usize) -> Parsed<Term> {
        let first = self.operand(depth)?;
        if !self.is(&Tok::Xor) {
            return Ok(first);
        }
        let start = first.span;
        let mut ops = vec![first];
        while self.eat(&Tok::Xor) {
            let op = self.operand(depth)?;
            if ops.len() == syntax::MAX_ARITY {
                return Err(self.diag(
                    op.span,
                    format!("too many terms: more than {} in one XOR", syntax::MAX_ARITY),
                    "group the operands",
                ));
            }
            ops.push(op);
        }
        Ok(Term {
            kind: TermKind::Xor(ops),
            span: self.since(start),
        })
    }

    /// Terms separated by commas up to `close`.
    fn terms(&mut self, close: &Tok, depth: usize, what: &str) -> Parsed<Vec<Term>> {
        let mut items = vec![self.term(depth + 1)?];
        loop {
            if self.eat(close) {
                return Ok(items);
            }
            if !self.eat(&Tok::Comma) {
                return Err(self.expected(
                    &format!("`{}` or `,`", symbol(close)),
                    format!(
                        "separate terms with `,` and close them with `{}`",
                        symbol(close)
                    ),
                ));
            }
            let item = self.term(depth + 1)?;
            if items.len() == syntax::MAX_ARITY {
                return Err(self.diag(
                    item.span,
                    format!(
                        "too many terms: more than {} in one {what}",
                        syntax::MAX_ARITY
                    ),
                    "group them into nested tuples",
                ));
            }
            items.push(item);
        }
    }

    /// One operand: a name, `0`, an application, a tuple or grouping, an
    /// encryption.
    fn operand(&mut self, depth: usize) -> Parsed<Term> {
        if depth > syntax::MAX_NESTING {
            return Err(self.diag(
                self.here(),
                format!(
                    "term nested too deeply (more than {} levels)",
                    syntax::MAX_NESTING
                ),
                "split the term, or check for unbalanced brackets",
            ));
        }
        let Some(t) = self.peek().cloned() else {
            return Err(self.expected("a term", "write a term such as `K`, `{m}K` or `h(m)`"));
        };
        let start = t.span;
        self.pos += 1;
        let kind = match t.tok {
            Tok::Number(n) if n == "0" => TermKind::Zero,
            Tok::Ident(s) if s == "_" => {
                return Err(self.diag(
                    t.span,
                    "`_` binds nothing and is not a term",
                    "write `_` only where a value is bound: `c(_)`, `{_, k}K`, `let (_, x) = y`",
                ));
            }
            Tok::Ident(s) if KEYWORDS.contains(&s.as_str()) => {
                return Err(self.diag(
                    t.span,
                    format!("expected a term, found the keyword `{s}`"),
                    "keywords (case, of, in, let, new, is) cannot be names",
                ));
            }
            Tok::Ident(s) => {
                if self.eat(&Tok::LParen) {
                    let args = self.terms(&Tok::RParen, depth, "application")?;
                    TermKind::App(
                        Ident {
                            text: s,
                            span: t.span,
                        },
                        args,
                    )
                } else {
                    TermKind::Name(s)
                }
            }
            Tok::LParen => {
                let items = self.terms(&Tok::RParen, depth, "tuple")?;
                if items.len() == 1 {
                    let mut inner = items.into_iter().next().expect("one item");
                    inner.span = self.since(start);
                    return Ok(inner);
                }
                TermKind::Tuple(items)
            }
            Tok::LBrace => {
                let fields = self.terms(&Tok::RBrace, depth, "encryption's fields `{...}`")?;
                let key = self.operand(depth + 1)?;
                TermKind::Enc(fields, Box::new(key))
            }
            _ => {
                self.pos -= 1;
                return Err(self.expected(
                    "a term",
                    "terms are names, `0`, `f(...)`, `(a, b)`, `{m}k` and `xor` (or `⊕`, `^`)",
                ));
            }
        };
        Ok(Term {
            kind,
            span: self.since(start),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::front::spi::lexer::lex;

    fn parse_src(src: &str) -> (Vec<Item>, Vec<Diagnostic>) {
        let (tokens, mut diags) = lex("t.spi", src);
        let (items, more) = parse("t.spi", &tokens);
        diags.extend(more);
        (items, diags)
    }

    #[test]
    fn the_papers_function_parses() {
        let (items, d) = parse_src(
            "Enc = !cenc(x, y). case y of {t, k}MK in [t is DataKey] cuser<{TData, x}k>\n",
        );
        assert!(d.is_empty(), "{d:?}");
        let Item::Def(name, body) = &items[0] else {
            panic!("{items:?}")
        };
        assert_eq!(name.text, "Enc");
        let ProcKind::Repl(inner) = &body.kind else {
            panic!("{body:?}")
        };
        let ProcKind::Input(c, b, next) = &inner.kind else {
            panic!()
        };
        assert_eq!((c.text.as_str(), b.len()), ("cenc", 2));
        assert!(matches!(next.kind, ProcKind::Case(..)));
    }

    #[test]
    fn items_and_recovery() {
        let src = "name \"X\"\npublic A, B\nF = !c(x). d<{x}>\nsecret P = {A}K, K\nG = c(x. 0\nsystem = (new K) (d<A> | F | G)\n";
        let (items, d) = parse_src(src);
        let at: Vec<_> = d.iter().map(|d| (d.span.line, d.span.col)).collect();
        assert_eq!(at, vec![(3, 17), (5, 8)], "{d:?}");
        // The broken definitions stay as `Broken`, so that the system's
        // references to them are not reported again.
        assert_eq!(items.len(), 6);
        assert!(matches!(&items[2], Item::Broken(w) if w.text == "F"));
        assert!(matches!(items[5], Item::System(..)));
    }
}

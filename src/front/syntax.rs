//! The syntax of term strings and check strings.
//!
//! ```text
//! term    := operand (XOR operand)*          XOR is `xor`, `⊕` or `^`
//! operand := IDENT | IDENT '(' terms ')' | '_' | '0'
//!          | '(' term ')' | '(' term (',' term)+ ')'
//!          | '{' terms '}' operand            {m}k, {m1, ..., mk}k
//!          | '{' (IDENT ':' term (',' IDENT ':' term)*)? '}'
//!                                             an attribute record {wrap: T}
//! check   := term '==' term | term '!=' term | term 'in' '[' terms ']'
//! ```
//!
//! Every node carries its character offset and length within the string,
//! so that a diagnostic can point at the token.

use std::fmt;

/// Deepest nesting of parentheses and braces accepted in one term.
pub const MAX_NESTING: usize = 128;

/// The most symbols (names, `0`, `_`, operators, brackets, commas) in one
/// term or check string; lexing stops at the first one past it, so a huge
/// string costs no more than this.
pub const MAX_SYMBOLS: usize = 10_000;

/// The most terms in one list: a tuple's components, an application's
/// arguments, the fields of `{...}`, the operands of one XOR, the
/// alternatives of `in [...]`.
pub const MAX_ARITY: usize = 256;

/// A parsed term with its place in the string.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Term {
    /// What the term is.
    pub kind: TermKind,
    /// Offset of its first character, in characters.
    pub offset: usize,
    /// Its length in characters.
    pub len: usize,
}

/// The shape of a parsed term.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TermKind {
    /// An identifier: a name, or in inputs a variable.
    Ident(String),
    /// `_`: anything.
    Wildcard,
    /// `0`.
    Zero,
    /// `f(t1, ..., tn)`; the constructor's name is at the term's offset.
    App(String, Vec<Term>),
    /// `(t1, ..., tn)` with n ≥ 2.
    Tuple(Vec<Term>),
    /// `{m1, ..., mk}key`: the fields and the key.
    Enc(Vec<Term>, Box<Term>),
    /// `t1 xor ... xor tn` with n ≥ 2, in written order.
    Xor(Vec<Term>),
    /// `{a1: t1, ..., an: tn}`, n ≥ 0: an object's named attributes, only
    /// meaningful as a handle's attributes (lowering checks where).
    Record(Vec<RecordField>),
}

/// One `name: value` of an attribute record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordField {
    /// The attribute's name.
    pub name: String,
    /// Offset of the name, in characters.
    pub offset: usize,
    /// Length of the name, in characters.
    pub len: usize,
    /// The value.
    pub value: Term,
}

/// A parsed check with its place in the string.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Check {
    /// What is compared.
    pub kind: CheckKind,
    /// Offset of the comparison operator, in characters.
    pub op_offset: usize,
    /// Length of the operator, in characters.
    pub op_len: usize,
}

/// The comparison of a check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CheckKind {
    /// `a == b`.
    Equal(Term, Term),
    /// `a != b`.
    NotEqual(Term, Term),
    /// `t in [a, b, ...]`.
    OneOf(Term, Vec<Term>),
}

/// A syntax error at a place in the string.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyntaxError {
    /// Offset of the offending token, in characters.
    pub offset: usize,
    /// Length of the offending token, in characters (at least 1).
    pub len: usize,
    /// What is wrong.
    pub message: String,
    /// What would be accepted.
    pub help: Option<String>,
}

impl fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "column {}: {}", self.offset + 1, self.message)
    }
}

/// Parses a term string.
pub fn parse_term(text: &str) -> Result<Term, SyntaxError> {
    let mut p = Parser::new(text)?;
    if p.peek().is_none() {
        return Err(p.error_here(
            "empty term",
            Some("write a term such as `K`, `{m}K` or `senc(m, K)`"),
        ));
    }
    let term = p.term(0)?;
    p.expect_end("after the term")?;
    Ok(term)
}

/// Parses a check string.
pub fn parse_check(text: &str) -> Result<Check, SyntaxError> {
    let mut p = Parser::new(text)?;
    let check_help = Some("a check is `a == b`, `a != b` or `t in [A, B]`");
    if p.peek().is_none() {
        return Err(p.error_here("empty check", check_help));
    }
    let left = p.term(0)?;
    let Some(op) = p.peek().cloned() else {
        return Err(p.error_here(
            "expected `==`, `!=` or `in` after the term, found end of check",
            check_help,
        ));
    };
    let kind = match &op.tok {
        Tok::EqEq | Tok::NotEq => {
            p.pos += 1;
            if p.peek().is_none() {
                let what = if op.tok == Tok::EqEq { "==" } else { "!=" };
                return Err(p.error_here(
                    &format!("expected a term after `{what}`, found end of check"),
                    check_help,
                ));
            }
            let right = p.term(0)?;
            if op.tok == Tok::EqEq {
                CheckKind::Equal(left, right)
            } else {
                CheckKind::NotEqual(left, right)
            }
        }
        Tok::Ident(word) if word == "in" => {
            p.pos += 1;
            p.expect(&Tok::LBracket, "`[` after `in`", check_help)?;
            let items = p.list(&Tok::RBracket, "]", 0)?;
            CheckKind::OneOf(left, items)
        }
        _ => {
            return Err(p.error_here(
                &format!(
                    "expected `==`, `!=` or `in` after the term, found {}",
                    describe(&op)
                ),
                check_help,
            ))
        }
    };
    p.expect_end("after the check")?;
    Ok(Check {
        kind,
        op_offset: op.offset,
        op_len: op.len,
    })
}

/// True when `text` is an identifier: `[A-Za-z_][A-Za-z0-9_]*`.
pub fn is_identifier(text: &str) -> bool {
    let mut chars = text.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

// ----- tokens ----------------------------------------------------------

#[derive(Clone, Debug, PartialEq, Eq)]
enum Tok {
    Ident(String),
    Number(String),
    Xor(String),
    LParen,
    RParen,
    LBrace,
    RBrace,
    LBracket,
    RBracket,
    Comma,
    Colon,
    EqEq,
    NotEq,
}

#[derive(Clone, Debug)]
struct Token {
    tok: Tok,
    offset: usize,
    len: usize,
}

/// How a token is named in messages.
fn describe(t: &Token) -> String {
    match &t.tok {
        Tok::Ident(s) | Tok::Number(s) | Tok::Xor(s) => format!("`{s}`"),
        Tok::LParen => "`(`".into(),
        Tok::RParen => "`)`".into(),
        Tok::LBrace => "`{`".into(),
        Tok::RBrace => "`}`".into(),
        Tok::LBracket => "`[`".into(),
        Tok::RBracket => "`]`".into(),
        Tok::Comma => "`,`".into(),
        Tok::Colon => "`:`".into(),
        Tok::EqEq => "`==`".into(),
        Tok::NotEq => "`!=`".into(),
    }
}

fn lex(text: &str) -> Result<(Vec<Token>, usize), SyntaxError> {
    let mut chars = text.chars().peekable();
    let mut tokens = Vec::new();
    // Offset of the next character, in characters.
    let mut i = 0;
    while let Some(c) = chars.next() {
        let start = i;
        i += 1;
        if c.is_whitespace() {
            continue;
        }
        if tokens.len() >= MAX_SYMBOLS {
            return Err(SyntaxError {
                offset: start,
                len: 1,
                message: format!("term too large: more than {MAX_SYMBOLS} symbols"),
                help: Some(format!(
                    "a term or check holds at most {MAX_SYMBOLS} names, operators, brackets and commas (README: Limits); split it, or give the parts names"
                )),
            });
        }
        let single = |tok| Token {
            tok,
            offset: start,
            len: 1,
        };
        match c {
            'A'..='Z' | 'a'..='z' | '_' => {
                let mut word = String::from(c);
                while let Some(&d) = chars.peek() {
                    if !(d.is_ascii_alphanumeric() || d == '_') {
                        break;
                    }
                    word.push(d);
                    chars.next();
                    i += 1;
                }
                let len = i - start;
                let tok = if word == "xor" { Tok::Xor(word) } else { Tok::Ident(word) };
                tokens.push(Token { tok, offset: start, len });
            }
            '0'..='9' => {
                let mut word = String::from(c);
                while let Some(&d) = chars.peek() {
                    if !d.is_ascii_alphanumeric() {
                        break;
                    }
                    word.push(d);
                    chars.next();
                    i += 1;
                }
                tokens.push(Token { tok: Tok::Number(word), offset: start, len: i - start });
            }
            '⊕' | '^' => tokens.push(single(Tok::Xor(c.to_string()))),
            '(' => tokens.push(single(Tok::LParen)),
            ')' => tokens.push(single(Tok::RParen)),
            '{' => tokens.push(single(Tok::LBrace)),
            '}' => tokens.push(single(Tok::RBrace)),
            '[' => tokens.push(single(Tok::LBracket)),
            ']' => tokens.push(single(Tok::RBracket)),
            ',' => tokens.push(single(Tok::Comma)),
            ':' => tokens.push(single(Tok::Colon)),
            '=' | '!' if chars.peek() == Some(&'=') => {
                chars.next();
                i += 1;
                let tok = if c == '=' { Tok::EqEq } else { Tok::NotEq };
                tokens.push(Token { tok, offset: start, len: 2 });
            }
            '=' => {
                return Err(SyntaxError {
                    offset: start,
                    len: 1,
                    message: "unexpected `=`".into(),
                    help: Some("compare with `==` or `!=`".into()),
                })
            }
            _ => {
                return Err(SyntaxError {
                    offset: start,
                    len: 1,
                    message: format!("unexpected character `{c}`"),
                    help: Some(
                        "terms are made of names, `_`, `0`, `f(...)`, `(a, b)`, `{m}k` and `xor` (or `⊕`, `^`)"
                            .into(),
                    ),
                })
            }
        }
    }
    Ok((tokens, i))
}

/// The error for a list of more than [`MAX_ARITY`] terms, at the first
/// term past it.
fn too_many(at: &Term, what: &str) -> SyntaxError {
    SyntaxError {
        offset: at.offset,
        len: at.len.max(1),
        message: format!("too many terms: more than {MAX_ARITY} in one {what}"),
        help: Some(format!(
            "a tuple, an application, the fields of `{{...}}`, an XOR and an `in [...]` list each hold at most {MAX_ARITY} terms (README: Limits); group them into nested tuples"
        )),
    }
}

// ----- parser ----------------------------------------------------------

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
    end: usize,
}

impl Parser {
    fn new(text: &str) -> Result<Self, SyntaxError> {
        let (tokens, end) = lex(text)?;
        Ok(Parser {
            tokens,
            pos: 0,
            end,
        })
    }

    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn found(&self) -> String {
        self.peek().map_or("end of term".to_string(), describe)
    }

    fn error_here(&self, message: &str, help: Option<&str>) -> SyntaxError {
        let (offset, len) = match self.peek() {
            Some(t) => (t.offset, t.len),
            None => (self.end, 1),
        };
        SyntaxError {
            offset,
            len: len.max(1),
            message: message.to_string(),
            help: help.map(str::to_string),
        }
    }

    fn expect(&mut self, tok: &Tok, what: &str, help: Option<&str>) -> Result<Token, SyntaxError> {
        match self.peek() {
            Some(t) if t.tok == *tok => {
                let t = t.clone();
                self.pos += 1;
                Ok(t)
            }
            _ => Err(self.error_here(&format!("expected {what}, found {}", self.found()), help)),
        }
    }

    fn expect_end(&self, context: &str) -> Result<(), SyntaxError> {
        match self.peek() {
            None => Ok(()),
            Some(t) => {
                let help = match t.tok {
                    Tok::RParen | Tok::RBrace | Tok::RBracket => {
                        "this bracket closes nothing; remove it or open it earlier"
                    }
                    _ => "combine terms with `xor`, or list several as a tuple `(a, b)`",
                };
                Err(self.error_here(&format!("unexpected {} {context}", describe(t)), Some(help)))
            }
        }
    }

    /// `term := operand (XOR operand)*`.
    fn term(&mut self, depth: usize) -> Result<Term, SyntaxError> {
        let first = self.operand(depth)?;
        if !matches!(
            self.peek(),
            Some(Token {
                tok: Tok::Xor(_),
                ..
            })
        ) {
            return Ok(first);
        }
        let offset = first.offset;
        let mut operands = vec![first];
        while let Some(Token {
            tok: Tok::Xor(op), ..
        }) = self.peek()
        {
            let op = op.clone();
            self.pos += 1;
            if self.peek().is_none() {
                return Err(self.error_here(
                    &format!("expected a term after `{op}`, found end of term"),
                    Some("XOR needs a term on each side: `a xor b`"),
                ));
            }
            let operand = self.operand(depth)?;
            if operands.len() == MAX_ARITY {
                return Err(too_many(&operand, "XOR"));
            }
            operands.push(operand);
        }
        let last = operands.last().map_or(offset, |t| t.offset + t.len);
        Ok(Term {
            kind: TermKind::Xor(operands),
            offset,
            len: last - offset,
        })
    }

    /// Terms separated by commas up to the closing token (already past the
    /// opening one).
    fn list(
        &mut self,
        close: &Tok,
        close_text: &str,
        depth: usize,
    ) -> Result<Vec<Term>, SyntaxError> {
        let closes = |t: &Token| t.tok == *close;
        if self.peek().is_none_or(closes) {
            return Err(self.error_here(
                &format!("expected a term, found {}", self.found()),
                Some("write at least one term between the brackets"),
            ));
        }
        let mut items = vec![self.term(depth + 1)?];
        loop {
            match self.peek() {
                Some(t) if closes(t) => {
                    self.pos += 1;
                    return Ok(items);
                }
                Some(Token {
                    tok: Tok::Comma, ..
                }) => {
                    self.pos += 1;
                    if self.peek().is_none_or(closes) {
                        return Err(self.error_here(
                            &format!("expected a term after `,`, found {}", self.found()),
                            Some("remove the trailing `,` or add a term"),
                        ));
                    }
                    let item = self.term(depth + 1)?;
                    if items.len() == MAX_ARITY {
                        let what = match close_text {
                            ")" => "tuple",
                            "}" => "encryption's fields `{...}`",
                            _ => "`in [...]` list",
                        };
                        return Err(too_many(&item, what));
                    }
                    items.push(item);
                }
                _ => {
                    return Err(self.error_here(
                        &format!(
                            "expected `{close_text}` or `,` after term, found {}",
                            self.found()
                        ),
                        Some(&format!(
                            "separate terms with `,` and close them with `{close_text}`"
                        )),
                    ))
                }
            }
        }
    }

    /// One operand: a name, application, tuple, grouping or encryption.
    fn operand(&mut self, depth: usize) -> Result<Term, SyntaxError> {
        if depth > MAX_NESTING {
            return Err(self.error_here(
                &format!("term nested too deeply (more than {MAX_NESTING} levels)"),
                Some("split the term, or check for unbalanced brackets"),
            ));
        }
        let Some(tok) = self.peek().cloned() else {
            return Err(self.error_here(
                "expected a term, found end of term",
                Some("write a term such as `K`, `{m}K` or `senc(m, K)`"),
            ));
        };
        self.pos += 1;
        let at = |kind, end: usize| Term {
            kind,
            offset: tok.offset,
            len: end - tok.offset,
        };
        match &tok.tok {
            Tok::Ident(word) if word == "_" => Ok(at(TermKind::Wildcard, tok.offset + 1)),
            Tok::Ident(word) => {
                if !matches!(
                    self.peek(),
                    Some(Token {
                        tok: Tok::LParen,
                        ..
                    })
                ) {
                    return Ok(at(TermKind::Ident(word.clone()), tok.offset + tok.len));
                }
                self.pos += 1;
                if let Some(t) = self.peek().filter(|t| t.tok == Tok::RParen) {
                    let end = t.offset + 1;
                    self.pos += 1;
                    return Ok(at(TermKind::App(word.clone(), Vec::new()), end));
                }
                let args = self.args(depth)?;
                Ok(at(TermKind::App(word.clone(), args), self.prev_end()))
            }
            Tok::Number(n) if n == "0" => Ok(at(TermKind::Zero, tok.offset + 1)),
            Tok::Number(n) => Err(SyntaxError {
                offset: tok.offset,
                len: tok.len,
                message: format!("unexpected number `{n}`"),
                help: Some(
                    "the only number in a term is `0`; a name starts with a letter or `_`".into(),
                ),
            }),
            Tok::LParen => {
                if self.peek().is_some_and(|t| t.tok == Tok::RParen) {
                    return Err(self.error_here(
                        "expected a term after `(`, found `)`",
                        Some("a tuple has at least two terms: `(a, b)`"),
                    ));
                }
                let mut items = self.list(&Tok::RParen, ")", depth)?;
                let end = self.prev_end();
                if items.len() == 1 {
                    let mut inner = items.remove(0);
                    inner.offset = tok.offset;
                    inner.len = end - tok.offset;
                    return Ok(inner);
                }
                Ok(at(TermKind::Tuple(items), end))
            }
            Tok::LBrace if self.record_ahead() => self.record(tok.offset, depth),
            Tok::LBrace => {
                let fields = self.list(&Tok::RBrace, "}", depth)?;
                if self.peek().is_none()
                    || self.peek().is_some_and(|t| {
                        matches!(
                            t.tok,
                            Tok::Comma
                                | Tok::RParen
                                | Tok::RBrace
                                | Tok::RBracket
                                | Tok::Xor(_)
                                | Tok::EqEq
                                | Tok::NotEq
                        )
                    })
                {
                    return Err(self.error_here(
                        &format!("expected the key after `}}`, found {}", self.found()),
                        Some("`{m}k` encrypts m under the key k: a name, an application or a parenthesised term, e.g. `{m}K` or `{m}(K xor T)`"),
                    ));
                }
                let key = self.operand(depth + 1)?;
                let end = key.offset + key.len;
                Ok(at(TermKind::Enc(fields, Box::new(key)), end))
            }
            Tok::Xor(op) => Err(SyntaxError {
                offset: tok.offset,
                len: tok.len,
                message: format!("expected a term before `{op}`"),
                help: Some("XOR needs a term on each side: `a xor b`".into()),
            }),
            _ => Err(SyntaxError {
                offset: tok.offset,
                len: tok.len,
                message: format!("expected a term, found {}", describe(&tok)),
                help: Some("write a term such as `K`, `{m}K` or `senc(m, K)`".into()),
            }),
        }
    }

    /// True after a `{` that opens an attribute record: `{}` or `{name:`.
    fn record_ahead(&self) -> bool {
        let next = |i: usize| self.tokens.get(self.pos + i).map(|t| &t.tok);
        // `{}` followed by a key is an empty encryption (an error there).
        let key_follows = matches!(next(1), Some(Tok::Ident(_) | Tok::LParen | Tok::LBrace));
        (matches!(next(0), Some(Tok::RBrace)) && !key_follows)
            || (matches!(next(0), Some(Tok::Ident(_))) && matches!(next(1), Some(Tok::Colon)))
    }

    /// An attribute record, after its `{` (at `start`).
    fn record(&mut self, start: usize, depth: usize) -> Result<Term, SyntaxError> {
        let help = Some(
            "an attribute record is `{wrap: T, decrypt: F}`: attribute names, each with a value",
        );
        let mut fields = Vec::new();
        loop {
            match self.peek().cloned() {
                Some(Token {
                    tok: Tok::RBrace, ..
                }) => {
                    self.pos += 1;
                    return Ok(Term {
                        kind: TermKind::Record(fields),
                        offset: start,
                        len: self.prev_end() - start,
                    });
                }
                Some(Token {
                    tok: Tok::Ident(name),
                    offset,
                    len,
                }) => {
                    self.pos += 1;
                    self.expect(&Tok::Colon, "`:` after the attribute name", help)?;
                    if self
                        .peek()
                        .is_none_or(|t| matches!(t.tok, Tok::Comma | Tok::RBrace))
                    {
                        return Err(self.error_here(
                            &format!("expected a value for `{name}`, found {}", self.found()),
                            help,
                        ));
                    }
                    let value = self.term(depth + 1)?;
                    if fields.len() == MAX_ARITY {
                        return Err(too_many(&value, "attribute record"));
                    }
                    fields.push(RecordField {
                        name,
                        offset,
                        len,
                        value,
                    });
                    match self.peek() {
                        Some(Token {
                            tok: Tok::Comma, ..
                        }) => self.pos += 1,
                        Some(Token {
                            tok: Tok::RBrace, ..
                        }) => {}
                        _ => {
                            return Err(self.error_here(
                                &format!(
                                    "expected `,` or `}}` after an attribute's value, found {}",
                                    self.found()
                                ),
                                help,
                            ))
                        }
                    }
                }
                _ => {
                    return Err(self.error_here(
                        &format!("expected an attribute name, found {}", self.found()),
                        help,
                    ))
                }
            }
        }
    }

    /// Arguments of an application, after its `(`.
    fn args(&mut self, depth: usize) -> Result<Vec<Term>, SyntaxError> {
        let mut args = Vec::new();
        loop {
            let arg = self.term(depth + 1)?;
            if args.len() == MAX_ARITY {
                return Err(too_many(&arg, "application's arguments"));
            }
            args.push(arg);
            match self.peek() {
                Some(Token {
                    tok: Tok::RParen, ..
                }) => {
                    self.pos += 1;
                    return Ok(args);
                }
                Some(Token {
                    tok: Tok::Comma, ..
                }) => {
                    self.pos += 1;
                    if self.peek().is_none_or(|t| t.tok == Tok::RParen) {
                        return Err(self.error_here(
                            &format!("expected an argument after `,`, found {}", self.found()),
                            Some("remove the trailing `,` or add an argument"),
                        ));
                    }
                }
                _ => {
                    return Err(self.error_here(
                        &format!("expected `)` or `,` after argument, found {}", self.found()),
                        Some("separate arguments with `,` and close them with `)`: `f(a, b)`"),
                    ))
                }
            }
        }
    }

    /// The end offset of the token just consumed.
    fn prev_end(&self) -> usize {
        self.pos
            .checked_sub(1)
            .and_then(|i| self.tokens.get(i))
            .map_or(0, |t| t.offset + t.len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Prints a term fully bracketed, to check structure.
    fn show(t: &Term) -> String {
        let join = |ts: &[Term]| ts.iter().map(show).collect::<Vec<_>>().join(", ");
        match &t.kind {
            TermKind::Ident(s) => s.clone(),
            TermKind::Wildcard => "_".into(),
            TermKind::Zero => "0".into(),
            TermKind::App(f, args) => format!("{f}({})", join(args)),
            TermKind::Tuple(ts) => format!("<{}>", join(ts)),
            TermKind::Enc(fs, k) => format!("senc[{}]{}", join(fs), show(k)),
            TermKind::Xor(ts) => format!("X({})", join(ts)),
            TermKind::Record(fs) => {
                let fields: Vec<String> = fs
                    .iter()
                    .map(|f| format!("{}={}", f.name, show(&f.value)))
                    .collect();
                format!("R{{{}}}", fields.join(", "))
            }
        }
    }

    #[test]
    fn attribute_records() {
        assert_eq!(
            ok("hdl(k, {wrap: T, decrypt: x})"),
            "hdl(k, R{wrap=T, decrypt=x})"
        );
        assert_eq!(ok("hdl(k, {})"), "hdl(k, R{})");
        assert_eq!(ok("{wrap}k"), "senc[wrap]k");
        assert_eq!(
            err("hdl(k, {wrap: })").1,
            "expected a value for `wrap`, found `}`"
        );
        assert_eq!(err("hdl(k, {wrap: T decrypt: F})").0, 17);
        let t = parse_term("hdl(k, {wrap: T})").expect("parses");
        let TermKind::App(_, args) = &t.kind else {
            panic!("app")
        };
        let TermKind::Record(fields) = &args[1].kind else {
            panic!("record")
        };
        assert_eq!((fields[0].offset, fields[0].len), (8, 4));
    }

    fn ok(s: &str) -> String {
        show(&parse_term(s).unwrap_or_else(|e| panic!("{s}: {e}")))
    }

    fn err(s: &str) -> (usize, String) {
        let e = parse_term(s).expect_err(s);
        (e.offset + 1, e.message)
    }

    #[test]
    fn precedence_and_structure() {
        assert_eq!(ok("a xor b ⊕ c ^ d"), "X(a, b, c, d)");
        assert_eq!(ok("{k}TCMK"), "senc[k]TCMK");
        assert_eq!(ok("{a, b}k"), "senc[a, b]k");
        assert_eq!(ok("{a}k xor b"), "X(senc[a]k, b)");
        assert_eq!(ok("{k}(kek xor t)"), "senc[k]X(kek, t)");
        assert_eq!(ok("{m}pk(k)"), "senc[m]pk(k)");
        assert_eq!(ok("(a, (b, c))"), "<a, <b, c>>");
        assert_eq!(ok("(a xor b) xor c"), "X(X(a, b), c)");
        assert_eq!(ok("senc(m xor 0, _)"), "senc(X(m, 0), _)");
        assert_eq!(ok("((a))"), "a");
        assert_eq!(ok("h()"), "h()");
        assert_eq!(ok("{{a}b}c"), "senc[senc[a]b]c");
        assert_eq!(ok("  x_1  "), "x_1");
    }

    #[test]
    fn offsets_are_in_characters() {
        let t = parse_term("a ⊕ {m}k").expect("parses");
        let TermKind::Xor(ops) = &t.kind else {
            panic!("xor")
        };
        assert_eq!((ops[1].offset, ops[1].len), (4, 4));
        let TermKind::Enc(fields, key) = &ops[1].kind else {
            panic!("enc")
        };
        assert_eq!((fields[0].offset, key.offset), (5, 7));
        let t = parse_term("senc(m, k)").expect("parses");
        assert_eq!((t.offset, t.len), (0, 10));
        let TermKind::App(_, args) = &t.kind else {
            panic!("app")
        };
        assert_eq!(args[1].offset, 8);
        let t = parse_term("(a, b)").expect("parses");
        assert_eq!(t.len, 6);
    }

    #[test]
    fn errors_name_the_token_and_column() {
        assert_eq!(
            err("senc(m, k}"),
            (10, "expected `)` or `,` after argument, found `}`".into())
        );
        assert_eq!(
            err("senc(m"),
            (
                7,
                "expected `)` or `,` after argument, found end of term".into()
            )
        );
        assert_eq!(
            err("{m}"),
            (4, "expected the key after `}`, found end of term".into())
        );
        assert_eq!(err("{m}k)"), (5, "unexpected `)` after the term".into()));
        assert_eq!(
            err("a xor"),
            (6, "expected a term after `xor`, found end of term".into())
        );
        assert_eq!(err("xor a"), (1, "expected a term before `xor`".into()));
        assert_eq!(err("a b"), (3, "unexpected `b` after the term".into()));
        assert_eq!(err("k % 2"), (3, "unexpected character `%`".into()));
        assert_eq!(err("12"), (1, "unexpected number `12`".into()));
        assert_eq!(
            err("()"),
            (2, "expected a term after `(`, found `)`".into())
        );
        assert_eq!(err("{}k"), (2, "expected a term, found `}`".into()));
        assert_eq!(
            err("(a,)"),
            (4, "expected a term after `,`, found `)`".into())
        );
        assert_eq!(err(""), (1, "empty term".into()));
        assert_eq!(
            err("(a b)"),
            (4, "expected `)` or `,` after term, found `b`".into())
        );
        assert_eq!(
            err("(a, b c)"),
            (7, "expected `)` or `,` after term, found `c`".into())
        );
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let deep = format!("{}a{}", "(".repeat(4_000), ")".repeat(4_000));
        let e = parse_term(&deep).unwrap_err();
        assert!(e.message.contains("nested too deeply"), "{e}");
        assert_eq!(e.offset, MAX_NESTING + 1);
        let deep = format!("{}a", "{".repeat(50_000));
        assert!(parse_term(&deep).is_err());
        // Deeper than the symbol cap: lexing stops there.
        let deep = format!("{}a{}", "(".repeat(100_000), ")".repeat(100_000));
        let e = parse_term(&deep).unwrap_err();
        assert!(e.message.contains("term too large"), "{e}");
    }

    /// Issue 15: the caps on one string hold, each a located error, and
    /// one past a cap costs no more than the cap (the 1M-element tuple took
    /// minutes before).
    #[test]
    fn size_and_arity_caps_are_located_errors() {
        let list = |n: usize| vec!["A"; n].join(", ");
        // At the caps, fine.
        assert!(parse_term(&format!("({})", list(MAX_ARITY))).is_ok());
        assert!(parse_term(&format!("f({})", list(MAX_ARITY))).is_ok());
        assert!(parse_term(&format!("{{{}}}K", list(MAX_ARITY))).is_ok());
        assert!(parse_term(&vec!["A"; MAX_ARITY].join(" xor ")).is_ok());
        assert!(parse_check(&format!("t in [{}]", list(MAX_ARITY))).is_ok());
        // One past: the error is at the first term too many.
        let past = MAX_ARITY * 3 + 1; // offset of term 257 in "(A, A, ..."
        for (text, what) in [
            (format!("({})", list(MAX_ARITY + 1)), "tuple"),
            (format!("f({})", list(MAX_ARITY + 1)), "application"),
            (format!("{{{}}}K", list(MAX_ARITY + 1)), "encryption"),
        ] {
            let e = parse_term(&text).unwrap_err();
            assert!(
                e.message.contains("too many terms") && e.message.contains(what),
                "{e}"
            );
            assert_eq!(
                e.offset,
                past + usize::from(what == "application"),
                "{text:.20}: {e}"
            );
            assert_eq!(e.len, 1);
        }
        let e = parse_term(&vec!["A"; MAX_ARITY + 1].join(" xor ")).unwrap_err();
        assert!(e.message.contains("XOR"), "{e}");
        assert_eq!(e.offset, MAX_ARITY * 6);
        let e = parse_check(&format!("t in [{}]", list(MAX_ARITY + 1))).unwrap_err();
        assert!(e.message.contains("`in [...]`"), "{e}");
        // Symbols: the first one past the cap is marked.
        let big = format!("({})", list(MAX_SYMBOLS));
        let e = parse_term(&big).unwrap_err();
        assert!(e.message.contains("term too large"), "{e}");
        // A million-element tuple is refused at once.
        let huge = format!("({})", list(1_000_000));
        let t = std::time::Instant::now();
        assert!(parse_term(&huge).is_err());
        assert!(t.elapsed().as_secs_f64() < 5.0, "{:?}", t.elapsed());
        // A long name is one symbol.
        assert!(parse_term(&"A".repeat(100_000)).is_ok());
    }

    #[test]
    fn checks() {
        let c = parse_check("t in [DATA, PIN]").expect("parses");
        let CheckKind::OneOf(t, items) = &c.kind else {
            panic!("one of")
        };
        assert_eq!((show(t), items.len(), c.op_offset), ("t".to_string(), 2, 2));
        assert!(matches!(
            parse_check("a == b").expect("parses").kind,
            CheckKind::Equal(..)
        ));
        assert!(matches!(
            parse_check("a != {b}k").expect("parses").kind,
            CheckKind::NotEqual(..)
        ));
        let e = parse_check("a = b").unwrap_err();
        assert_eq!((e.offset, e.message.as_str()), (2, "unexpected `=`"));
        let e = parse_check("a b").unwrap_err();
        assert_eq!(
            e.message,
            "expected `==`, `!=` or `in` after the term, found `b`"
        );
        let e = parse_check("t in [A,").unwrap_err();
        assert_eq!(e.offset, 8);
        let e = parse_check("t in []").unwrap_err();
        assert_eq!(e.message, "expected a term, found `]`");
        assert!(parse_check("a").is_err());
        assert!(parse_check("a ==").is_err());
    }

    #[test]
    fn random_token_soup_never_panics() {
        let alphabet = [
            "a", "K", "_", "0", "7", "f", "(", ")", "{", "}", "[", "]", ",", " xor ", "⊕", "^",
            "==", "!=", "=", " in ", "senc", "%", " ",
        ];
        let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
        for _ in 0..20_000 {
            let mut text = String::new();
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            for i in 0..(seed % 12) {
                let k = (seed >> (i * 5)) as usize % alphabet.len();
                text.push_str(alphabet[k]);
            }
            let chars = text.chars().count();
            let errors = [parse_term(&text).err(), parse_check(&text).err()];
            for e in errors.into_iter().flatten() {
                assert!(e.offset <= chars && e.len >= 1, "{text:?}: {e:?}");
            }
        }
    }

    #[test]
    fn identifiers() {
        assert!(is_identifier("k_1") && is_identifier("_x") && is_identifier("P"));
        assert!(!is_identifier("1k") && !is_identifier("a-b") && !is_identifier(""));
    }
}

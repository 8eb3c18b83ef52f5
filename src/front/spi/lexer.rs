//! The spi notation's tokens, with their source positions.
//!
//! Lexing never stops at a mistake: an unexpected character, an
//! unterminated string or comment is a diagnostic, and lexing goes on
//! after it, so that every mistake of a file is reported at once.

use crate::front::diagnostic::{Diagnostic, Span};

/// What a token is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Tok {
    /// An identifier `[A-Za-z_][A-Za-z0-9_]*` (keywords included; a
    /// combining overline after it, the paper's output bar, is skipped).
    Ident(String),
    /// A whole number: `0` (the zero constant, or the stopped process),
    /// or a count in `expect ... within 2 calls`.
    Number(String),
    /// A double-quoted string, its escapes (`\"`, `\\`) resolved.
    Str(String),
    /// `xor`, `⊕` or `^`.
    Xor,
    /// `ν`, the restriction's Greek spelling.
    Nu,
    /// `(`.
    LParen,
    /// `)`.
    RParen,
    /// `{`.
    LBrace,
    /// `}`.
    RBrace,
    /// `[`.
    LBracket,
    /// `]`.
    RBracket,
    /// `<` or `⟨`: an output's message opens.
    LAngle,
    /// `>` or `⟩`.
    RAngle,
    /// `,`.
    Comma,
    /// `.`.
    Dot,
    /// `|`.
    Bar,
    /// `!`.
    Bang,
    /// `=`.
    Eq,
    /// `==`.
    EqEq,
    /// `!=`.
    NotEq,
}

/// A token and where it is written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Token {
    /// What it is.
    pub tok: Tok,
    /// Where: line, column and length in characters.
    pub span: Span,
    /// True when it is the first token on its line (error recovery
    /// resumes at such tokens).
    pub line_start: bool,
}

impl Token {
    /// How the token is named in messages: "`case`", "`(`", "a string".
    pub fn describe(&self) -> String {
        match &self.tok {
            Tok::Ident(s) | Tok::Number(s) => format!("`{s}`"),
            Tok::Str(_) => "a string".to_string(),
            other => format!("`{}`", symbol(other)),
        }
    }

    /// The identifier's text, if it is one.
    pub fn ident(&self) -> Option<&str> {
        match &self.tok {
            Tok::Ident(s) => Some(s),
            _ => None,
        }
    }
}

/// The ASCII spelling of a punctuation token.
pub fn symbol(tok: &Tok) -> &'static str {
    match tok {
        Tok::Xor => "xor",
        Tok::Nu => "ν",
        Tok::LParen => "(",
        Tok::RParen => ")",
        Tok::LBrace => "{",
        Tok::RBrace => "}",
        Tok::LBracket => "[",
        Tok::RBracket => "]",
        Tok::LAngle => "<",
        Tok::RAngle => ">",
        Tok::Comma => ",",
        Tok::Dot => ".",
        Tok::Bar => "|",
        Tok::Bang => "!",
        Tok::Eq => "=",
        Tok::EqEq => "==",
        Tok::NotEq => "!=",
        Tok::Ident(_) | Tok::Number(_) | Tok::Str(_) => "",
    }
}

/// A cursor over the characters of the source, counting lines and
/// columns the way diagnostics do (`\n`, `\r\n` and a lone `\r` end a
/// line; a byte-order mark is skipped).
struct Cursor<'a> {
    chars: std::iter::Peekable<std::str::Chars<'a>>,
    line: u32,
    col: u32,
}

impl Cursor<'_> {
    fn peek(&mut self) -> Option<char> {
        self.chars.peek().copied()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.chars.next()?;
        match c {
            '\n' => {
                self.line += 1;
                self.col = 1;
            }
            '\r' => {
                if self.chars.peek() == Some(&'\n') {
                    self.chars.next();
                }
                self.line += 1;
                self.col = 1;
            }
            _ => self.col += 1,
        }
        Some(c)
    }

    fn at(&self, len: u32) -> Span {
        Span::new(self.line, self.col, len)
    }
}

/// Combining overlines: `c̄⟨M⟩` is the paper's output on `c`.
fn is_overline(c: char) -> bool {
    matches!(c, '\u{0304}' | '\u{0305}')
}

/// Splits a spi source into tokens; returns them with every lexical
/// mistake.
pub fn lex(file: &str, src: &str) -> (Vec<Token>, Vec<Diagnostic>) {
    let src = src.strip_prefix('\u{feff}').unwrap_or(src);
    let mut cur = Cursor {
        chars: src.chars().peekable(),
        line: 1,
        col: 1,
    };
    let mut tokens: Vec<Token> = Vec::new();
    let mut diags = Vec::new();
    let mut last_line = 0;
    while let Some(c) = cur.peek() {
        let start = cur.at(1);
        if c.is_whitespace() {
            cur.bump();
            continue;
        }
        if c == '#' {
            while cur.peek().is_some_and(|c| c != '\n' && c != '\r') {
                cur.bump();
            }
            continue;
        }
        let mut push = |tok: Tok, span: Span, tokens: &mut Vec<Token>| {
            tokens.push(Token {
                tok,
                span,
                line_start: span.line != last_line,
            });
            last_line = span.line;
        };
        cur.bump();
        let single = match c {
            '(' if cur.peek() == Some('*') => {
                cur.bump();
                if !comment(&mut cur) {
                    diags.push(
                        Diagnostic::error(file, start.sub(0, 2), "this comment is never closed")
                            .with_help("close it with `*)`; comments do not nest"),
                    );
                }
                continue;
            }
            '(' => Some(Tok::LParen),
            ')' => Some(Tok::RParen),
            '{' => Some(Tok::LBrace),
            '}' => Some(Tok::RBrace),
            '[' => Some(Tok::LBracket),
            ']' => Some(Tok::RBracket),
            '<' | '⟨' => Some(Tok::LAngle),
            '>' | '⟩' => Some(Tok::RAngle),
            ',' => Some(Tok::Comma),
            '.' => Some(Tok::Dot),
            '|' => Some(Tok::Bar),
            '⊕' | '^' => Some(Tok::Xor),
            'ν' => Some(Tok::Nu),
            '=' | '!' if cur.peek() == Some('=') => {
                cur.bump();
                let tok = if c == '=' { Tok::EqEq } else { Tok::NotEq };
                push(tok, start.sub(0, 2), &mut tokens);
                continue;
            }
            '=' => Some(Tok::Eq),
            '!' => Some(Tok::Bang),
            _ => None,
        };
        if let Some(tok) = single {
            push(tok, start, &mut tokens);
            continue;
        }
        match c {
            'A'..='Z' | 'a'..='z' | '_' => {
                let mut word = String::from(c);
                while let Some(d) = cur.peek().filter(|d| d.is_ascii_alphanumeric() || *d == '_') {
                    word.push(d);
                    cur.bump();
                }
                let len = word.chars().count() as u32;
                while cur.peek().is_some_and(is_overline) {
                    cur.bump();
                }
                let tok = if word == "xor" {
                    Tok::Xor
                } else {
                    Tok::Ident(word)
                };
                push(tok, start.sub(0, len), &mut tokens);
            }
            '0'..='9' => {
                let mut word = String::from(c);
                while let Some(d) = cur.peek().filter(|d| d.is_ascii_alphanumeric()) {
                    word.push(d);
                    cur.bump();
                }
                let len = word.chars().count() as u32;
                push(Tok::Number(word), start.sub(0, len), &mut tokens);
            }
            '"' => match string(&mut cur) {
                Some((text, len)) => push(Tok::Str(text), start.sub(0, len), &mut tokens),
                None => diags.push(
                    Diagnostic::error(file, start, "this string is never closed")
                        .with_help("close it with `\"` on the same line"),
                ),
            },
            _ => diags.push(
                Diagnostic::error(file, start, format!("unexpected character `{c}`"))
                    .with_help("spi files are made of names, terms, processes (`!`, `(new n)`, `c(x).`, `c<M>`, `case`, `let`, `[M is N]`, `|`) and `#` or `(* *)` comments"),
            ),
        }
    }
    (tokens, diags)
}

/// Skips a `(* ... *)` comment after its opening; false when it is never
/// closed.
fn comment(cur: &mut Cursor) -> bool {
    while let Some(c) = cur.bump() {
        if c == '*' && cur.peek() == Some(')') {
            cur.bump();
            return true;
        }
    }
    false
}

/// A string after its opening quote: its text and its length in source
/// characters (quotes included); `None` when the line ends first.
fn string(cur: &mut Cursor) -> Option<(String, u32)> {
    let mut text = String::new();
    let mut len = 1;
    loop {
        let c = cur.peek()?;
        if c == '\n' || c == '\r' {
            return None;
        }
        cur.bump();
        len += 1;
        match c {
            '"' => return Some((text, len)),
            '\\' if matches!(cur.peek(), Some('"' | '\\')) => {
                text.extend(cur.bump());
                len += 1;
            }
            _ => text.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(src: &str) -> Vec<Tok> {
        let (t, d) = lex("t.spi", src);
        assert!(d.is_empty(), "{d:?}");
        t.into_iter().map(|t| t.tok).collect()
    }

    #[test]
    fn tokens_and_positions() {
        let (t, d) = lex(
            "t.spi",
            "F = !c(x).\r\n  c̄⟨{x}K⟩ # out\n(* a\n b *) x != y ⊕ 0",
        );
        assert!(d.is_empty(), "{d:?}");
        assert_eq!(t[0].span, Span::new(1, 1, 1));
        assert_eq!(t[0].tok, Tok::Ident("F".into()));
        let c = &t[8];
        assert_eq!(
            (c.tok.clone(), c.span, c.line_start),
            (Tok::Ident("c".into()), Span::new(2, 3, 1), true)
        );
        assert_eq!(t[9].tok, Tok::LAngle);
        assert_eq!(t[9].span, Span::new(2, 5, 1));
        let ne = t.iter().find(|t| t.tok == Tok::NotEq).expect("!=");
        assert_eq!(ne.span, Span::new(4, 9, 2));
        assert_eq!(
            toks("a xor b ^ c"),
            vec![
                Tok::Ident("a".into()),
                Tok::Xor,
                Tok::Ident("b".into()),
                Tok::Xor,
                Tok::Ident("c".into())
            ]
        );
        assert_eq!(toks(r#"name "a \"b\"""#)[1], Tok::Str("a \"b\"".into()));
    }

    #[test]
    fn every_mistake_is_reported() {
        let (_, d) = lex("t.spi", "a @ b\n\"open\nc $ (* never");
        let at: Vec<_> = d.iter().map(|d| (d.span.line, d.span.col)).collect();
        assert_eq!(at, vec![(1, 3), (2, 1), (3, 3), (3, 5)]);
    }
}

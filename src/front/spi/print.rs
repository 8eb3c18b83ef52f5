//! Terms of the spi syntax tree printed as the term and check strings the
//! YAML reader produces, each a [`Scalar`] whose [`SourceMap`] points every
//! name and subterm back at where the spi file writes it, so that
//! lowering's diagnostics land on the right column even in a pattern put
//! together from a `case` and a later match.

use std::sync::Arc;

use super::ast::{Cond, Ident, Term, TermKind};
use crate::front::diagnostic::{SourceMap, Span};
use crate::front::yaml::{Scalar, ScalarKind};

/// A text being printed, with where its pieces come from.
#[derive(Default)]
struct Printer {
    text: String,
    chars: usize,
    map: SourceMap,
}

impl Printer {
    fn push(&mut self, s: &str) {
        self.text.push_str(s);
        self.chars += s.chars().count();
    }

    /// Prints `s`, one character per source column of `at`.
    fn push_at(&mut self, s: &str, at: Span) {
        let start = self.chars;
        self.push(s);
        self.map.push(start, self.chars - start, at);
    }

    fn term(&mut self, t: &Term) {
        let start = self.chars;
        match &t.kind {
            TermKind::Name(s) => self.push(s),
            TermKind::Zero => self.push("0"),
            TermKind::Wild => self.push("_"),
            TermKind::App(f, args) => {
                self.push_at(&f.text, f.span);
                self.push("(");
                self.list(args);
                self.push(")");
            }
            TermKind::Tuple(items) => {
                self.push("(");
                self.list(items);
                self.push(")");
            }
            TermKind::Enc(fields, key) => {
                self.push("{");
                self.list(fields);
                self.push("}");
                self.operand(key);
            }
            TermKind::Xor(ops) => {
                for (i, op) in ops.iter().enumerate() {
                    if i > 0 {
                        self.push(" xor ");
                    }
                    self.operand(op);
                }
            }
        }
        self.map.push(start, self.chars - start, t.span);
    }

    /// A term where an operand stands: an XOR in parentheses.
    fn operand(&mut self, t: &Term) {
        if matches!(t.kind, TermKind::Xor(_)) {
            self.push("(");
            self.term(t);
            self.push(")");
        } else {
            self.term(t);
        }
    }

    fn list(&mut self, items: &[Term]) {
        for (i, t) in items.iter().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            self.term(t);
        }
    }

    fn scalar(self, span: Span) -> Scalar {
        Scalar {
            text: self.text,
            kind: ScalarKind::Str,
            span,
            content: None,
            map: Some(Arc::new(self.map)),
        }
    }
}

/// A term as a term string; `span` is where the scalar is said to be
/// (the place a diagnostic about the whole of it points at).
pub fn term(t: &Term, span: Span) -> Scalar {
    let mut p = Printer::default();
    p.term(t);
    p.scalar(span)
}

/// A check as a check string: `a == b`, `a != b`, `t in [A, B]`; `op` is
/// where its operator is written.
pub fn check(cond: &Cond, op: Span) -> Scalar {
    let mut p = Printer::default();
    match cond {
        Cond::Equal(a, b) | Cond::NotEqual(a, b) => {
            p.term(a);
            let sym = if matches!(cond, Cond::Equal(..)) {
                " == "
            } else {
                " != "
            };
            p.push(" ");
            p.push_at(sym.trim(), op);
            p.push(" ");
            p.term(b);
        }
        Cond::OneOf(t, items) => {
            p.term(t);
            p.push(" ");
            p.push_at("in", op);
            p.push(" [");
            p.list(items);
            p.push("]");
        }
    }
    p.scalar(op)
}

/// An identifier as a scalar with exact columns.
pub fn ident(i: &Ident) -> Scalar {
    Scalar {
        text: i.text.clone(),
        kind: ScalarKind::Str,
        span: i.span,
        content: Some(i.span),
        map: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(s: &str, line: u32, col: u32) -> Term {
        Term {
            kind: TermKind::Name(s.into()),
            span: Span::new(line, col, s.len() as u32),
        }
    }

    #[test]
    fn pieces_point_back_at_their_tokens() {
        // {DataKey, k}MK, put together from `case y of {t, k}MK` on line 1
        // (columns 11-18) and `[t is DataKey]` on line 2.
        let t = Term {
            kind: TermKind::Enc(
                vec![name("DataKey", 2, 7), name("k", 1, 15)],
                Box::new(name("MK", 1, 17)),
            ),
            span: Span::new(1, 11, 8),
        };
        let s = term(&t, Span::new(1, 5, 1));
        assert_eq!(s.text, "{DataKey, k}MK");
        assert_eq!(s.token_span(1, 7), Span::new(2, 7, 7));
        assert_eq!(s.token_span(2, 2), Span::new(2, 8, 2));
        assert_eq!(s.token_span(10, 1), Span::new(1, 15, 1));
        assert_eq!(s.token_span(12, 2), Span::new(1, 17, 2));
        assert_eq!(s.token_span(0, 14), Span::new(1, 11, 8));
    }
}

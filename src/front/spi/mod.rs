//! The spi front end: an API written as spi-calculus processes, as in the
//! paper "Security API analysis with the spi-calculus", read into the same
//! [`Spec`] the YAML reader gives, so that lowering, diagnostics and every
//! command are shared. Files ending in `.spi` are read with it.
//!
//! ```text
//! file     := item*
//! item     := 'name' (STRING | IDENT)              the API's name in reports
//!           | 'public' names | 'tags' names       names the attacker knows
//!           | 'attacker' names                    the attacker's own names
//!           | 'secret' secret (',' secret)*       the secrets to check
//!           | 'expect' expect (',' expect)*       what `apisat test` checks
//!           | 'system' '=' process                the system
//!           | IDENT '=' process                   an API function
//! names    := IDENT (',' IDENT)*
//! secret   := ((IDENT | STRING) '=')? term        an optional label
//! expect   := (IDENT | STRING) ('derivable' | 'not' 'derivable' | 'proved'
//!             | 'no' 'stateful' 'attack' | 'within' NUMBER ['call' | 'calls'])
//! process  := prefixed ('|' prefixed)*
//! prefixed := '0' | '!' prefixed | '(' process ')'
//!           | '(' ('new' | 'ν') IDENT (',' IDENT)* ')' prefixed
//!           | IDENT '(' [binder (',' binder)*] ')' '.' prefixed       input
//!           | IDENT '<' term '>' ['.' prefixed]                       output
//!           | 'case' term 'of' '{' binders '}' operand 'in' prefixed  decryption
//!           | 'let' '(' binders ')' '=' term 'in' prefixed            tuple split
//!           | '[' term 'is' term ']' prefixed                         match
//!           | '[' term ('==' | '!=') term ']' prefixed                check
//!           | '[' term 'in' '[' term (',' term)* ']' ']' prefixed     check
//!           | IDENT                                                   a defined process
//! binders  := binder (',' binder)*        binder := IDENT | '_'
//! term     := operand (('xor' | '⊕' | '^') operand)*
//! operand  := IDENT | IDENT '(' terms ')' | '0' | '(' term ')'
//!           | '(' term (',' term)+ ')' | '{' terms '}' operand
//! ```
//!
//! `c<M>` is the ASCII spelling of the paper's output c̄⟨M⟩ (which is
//! accepted too), `(new n)` of its restriction (νn). Comments run from `#`
//! to the end of the line, or between `(*` and `*)`. Keywords (`case`,
//! `of`, `in`, `let`, `new`, `is`, `xor`) are not names; the declaration
//! words are keywords only where an item starts.
//!
//! The system is `system = (new K1, ...) (c<M1> | ... | F | !G | ...)`: its
//! restrictions are the secret names, its outputs the attacker's initial
//! knowledge, the processes it runs the API functions, each defined by
//! name and replicated (in its definition or in the system). How a
//! definition reads as a function is in [`function`]'s documentation.
//!
//! One job a module: [`lexer`] (tokens), [`parser`] (syntax tree,
//! [`ast`]), [`read`] (the tree as a [`Spec`]; one function each in
//! [`function`]), [`print`] (terms as the term strings lowering reads,
//! with their positions), [`vocabulary`] (lowering's help lines in spi
//! words).

pub mod ast;
pub mod function;
pub mod lexer;
pub mod parser;
pub mod print;
pub mod read;
pub mod vocabulary;

use crate::front::diagnostic::{Diagnostic, Span};
use crate::front::spec::Spec;

/// The file extension of spi files.
pub const EXTENSION: &str = "spi";

/// Whether `file` names a spi file (by its extension).
pub fn is_spi(file: &str) -> bool {
    std::path::Path::new(file)
        .extension()
        .is_some_and(|e| e == EXTENSION)
}

/// Reads a spi source into a spec; returns it with every mistake found
/// (lexical, syntactic, and of shape or scope), all located.
pub fn read(file: &str, src: &str) -> (Spec, Vec<Diagnostic>) {
    let (tokens, mut diags) = lexer::lex(file, src);
    let (items, more) = parser::parse(file, &tokens);
    // A character the lexer dropped usually leaves a parse error right
    // after it on its line: that one says nothing new.
    let lexical: Vec<Span> = diags.iter().map(|d| d.span).collect();
    diags.extend(more.into_iter().filter(|d| {
        !lexical
            .iter()
            .any(|l| l.line == d.span.line && l.col <= d.span.col)
    }));
    let start = tokens.first().map_or(Span::new(1, 1, 1), |t| t.span);
    let (spec, more) = read::spec(file, &items, start);
    diags.extend(more);
    (spec, diags)
}

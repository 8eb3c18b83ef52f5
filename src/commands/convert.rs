//! `apisat convert FILE --to yaml|spi`: the API in the other notation on
//! stdout; the file's mistakes, or what the target cannot express, as
//! located errors on stderr (exit code 2).

use std::path::Path;

use super::ExitCode;
use crate::cli::emit;
use crate::front::convert::{convert, Notation};
use crate::front::diagnostic::{render_all_styled, Span};
use crate::style::Palette;

/// Runs `apisat convert`; returns the exit code (0 written, 2 not).
pub fn run(file: &Path, to: Notation) -> ExitCode {
    let name = file.display().to_string();
    let palette = Palette::for_stderr();
    let src = match crate::front::lower::read_source(file) {
        Ok(src) => src,
        Err(e) => {
            let d = e.diagnostic(&name, Span::new(1, 1, 1));
            eprint!("{}", render_all_styled(&[d], None, palette));
            return ExitCode::BAD_INPUT;
        }
    };
    match convert(&name, &src, to) {
        Ok(text) => {
            emit(&text);
            ExitCode(0)
        }
        Err(diags) => {
            eprint!("{}", render_all_styled(&diags, Some(&src), palette));
            ExitCode::BAD_INPUT
        }
    }
}

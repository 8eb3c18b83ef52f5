//! `apisat export FILE --to proverif|tamarin [--variant PATTERN]`: the
//! checked API (or one family variant) as a ProVerif model or a Tamarin
//! theory on stdout. Bad input and what the target cannot express are
//! located errors on stderr, exit code 2.

use std::path::Path;

use super::{load_input, render_in, ExitCode};
use crate::batch::inputs::{Input, VariantPattern};
use crate::cli::{emit, ExportTarget};
use crate::front::diagnostic::{render_all_styled, Diagnostic};
use crate::front::export::{export, export_strong, Target, FAMILY_LINES};
use crate::style::Palette;

/// Runs `apisat export`; returns the exit code (0 written, 2 not). With
/// `strong`, the ProVerif model also asks `noninterf` of the secret names.
pub fn run(
    file: &Path,
    to: ExportTarget,
    variant: Option<&VariantPattern>,
    strong: bool,
) -> ExitCode {
    let target = match to {
        ExportTarget::Proverif => Target::ProVerif,
        ExportTarget::Tamarin => Target::Tamarin,
    };
    if strong && target == Target::Tamarin {
        eprintln!(
            "{}: `--strong` writes ProVerif's `noninterf`; Tamarin's observational equivalence needs a diff theory, which apisat does not write: use `--to proverif`",
            Palette::for_stderr().paint(crate::style::Role::Error, "error")
        );
        return ExitCode::BAD_INPUT;
    }
    let input = crate::batch::inputs::read(file);
    // Where a family's diagnostics go: (family file, its text, base file,
    // its text).
    let family = match &input {
        Input::Family(f) => Some((
            f.file.clone(),
            f.source.clone(),
            f.base_file.clone(),
            f.base_source.clone(),
        )),
        _ => None,
    };
    let Some(loaded) = load_input(input, file, variant, "export") else {
        return ExitCode::BAD_INPUT;
    };
    let written = if strong {
        export_strong(&loaded)
    } else {
        export(&loaded, target)
    };
    match written {
        Ok(text) => {
            emit(&text);
            ExitCode(0)
        }
        Err(d) => {
            let palette = Palette::for_stderr();
            match family {
                Some((ffile, fsource, bfile, bsource)) => {
                    let d = relocate(d, &ffile, &bfile);
                    eprint!(
                        "{}",
                        render_in(&[d], &[(ffile, fsource), (bfile, bsource)], palette)
                    );
                }
                None => eprint!("{}", render_all_styled(&[d], Some(&loaded.source), palette)),
            }
            ExitCode::BAD_INPUT
        }
    }
}

/// A diagnostic on a family variant's program, moved into the file its
/// span is in: the family file for its own entries, else the base.
fn relocate(mut d: Diagnostic, family_file: &str, base_file: &str) -> Diagnostic {
    if d.span.line >= FAMILY_LINES {
        d.span.line -= FAMILY_LINES;
        d.file = family_file.to_string();
    } else {
        d.file = base_file.to_string();
    }
    d
}

//! `apisat knowledge FILE`: the saturated knowledge set, one term a line.

use std::path::Path;

use super::ExitCode;
use crate::cli::emit;
use crate::diagnostic::render_all_styled;
use crate::style::Palette;
use crate::verdict::Settings;
use crate::{check_file, report};

/// Prints the knowledge set of one file.
pub fn run(file: &Path, settings: Settings) -> ExitCode {
    match check_file(file, settings) {
        Ok(checked) => {
            emit(&report::knowledge(&checked.report));
            ExitCode::of(checked.report.verdict)
        }
        Err(failed) => {
            eprint!(
                "{}",
                render_all_styled(
                    &failed.diagnostics,
                    failed.source.as_deref(),
                    Palette::for_stderr()
                )
            );
            ExitCode::BAD_INPUT
        }
    }
}

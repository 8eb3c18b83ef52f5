//! `apisat check FILE...`: a verdict per file, text or JSON.

use std::path::PathBuf;

use super::ExitCode;
use crate::cli::{emit, Format};
use crate::diagnostic::render_all_styled;
use crate::style::Palette;
use crate::verdict::Settings;
use crate::{check_file, report};

/// Checks every file; prints reports to stdout and diagnostics to stderr.
pub fn run(files: &[PathBuf], format: Format, settings: Settings) -> ExitCode {
    let mut worst = ExitCode::default();
    let mut json = Vec::new();
    let (out, err) = (Palette::for_stdout(), Palette::for_stderr());
    for (i, file) in files.iter().enumerate() {
        match check_file(file, settings) {
            Ok(checked) => {
                if !checked.warnings.is_empty() {
                    eprint!(
                        "{}",
                        render_all_styled(&checked.warnings, Some(&checked.source), err)
                    );
                }
                worst.note(ExitCode::of(checked.report.verdict));
                match format {
                    Format::Text => {
                        if i > 0 {
                            emit("\n");
                        }
                        emit(&report::text_styled(&checked.report, out));
                    }
                    Format::Json => json.push(report::json(&checked.report)),
                    Format::Dot => emit(&crate::dot::graph(&checked.report)),
                }
            }
            Err(failed) => {
                eprint!(
                    "{}",
                    render_all_styled(&failed.diagnostics, failed.source.as_deref(), err)
                );
                worst.note(ExitCode::BAD_INPUT);
                if format == Format::Json {
                    json.push(report::json_errors(
                        &file.display().to_string(),
                        &failed.diagnostics,
                    ));
                }
            }
        }
    }
    if format == Format::Json {
        let text = serde_json::to_string_pretty(&json).unwrap_or_default();
        emit(&format!("{text}\n"));
    }
    worst
}

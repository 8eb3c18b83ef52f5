//! `apisat check FILE...`: a verdict per file, text or JSON.

use std::path::PathBuf;

use super::ExitCode;
use crate::cli::{emit, Format};
use crate::diagnostic::render_all;
use crate::verdict::Settings;
use crate::{check_file, report};

/// Checks every file; prints reports to stdout and diagnostics to stderr.
pub fn run(files: &[PathBuf], format: Format, settings: Settings) -> ExitCode {
    let mut worst = ExitCode::default();
    let mut json = Vec::new();
    for (i, file) in files.iter().enumerate() {
        match check_file(file, settings) {
            Ok(checked) => {
                if !checked.warnings.is_empty() {
                    eprint!("{}", render_all(&checked.warnings, Some(&checked.source)));
                }
                worst.note(ExitCode::of(checked.report.verdict));
                match format {
                    Format::Text => {
                        if i > 0 {
                            emit("\n");
                        }
                        emit(&report::text(&checked.report));
                    }
                    Format::Json => json.push(report::json(&checked.report)),
                    Format::Dot => emit(&crate::dot::graph(&checked.report)),
                }
            }
            Err(failed) => {
                eprint!(
                    "{}",
                    render_all(&failed.diagnostics, failed.source.as_deref())
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

//! The `apisat` binary: parses arguments, calls the library, and maps the
//! outcome to an exit code (0 secure, 1 attack, 2 bad input, 3 limit).

use std::process::ExitCode;

use apisat::cli::emit;
use clap::Parser;

use apisat::cli::{Cli, Command, Format};
use apisat::diagnostic::render_all;
use apisat::verdict::Verdict;
use apisat::{check_file, report};

/// Exit codes, ranked so that the worst of several files wins.
fn rank(code: u8) -> u8 {
    match code {
        2 => 3,
        1 => 2,
        3 => 1,
        _ => 0,
    }
}

fn code_of(v: Verdict) -> u8 {
    match v {
        Verdict::Secure => 0,
        Verdict::Attack => 1,
        Verdict::Limit => 3,
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    let mut worst = 0u8;
    let mut note = |code: u8| {
        if rank(code) > rank(worst) {
            worst = code;
        }
    };
    match cli.command {
        Command::Check {
            files,
            format,
            search,
        } => {
            let mut json = Vec::new();
            for (i, file) in files.iter().enumerate() {
                match check_file(file, search.settings()) {
                    Ok(checked) => {
                        if !checked.warnings.is_empty() {
                            eprint!("{}", render_all(&checked.warnings, Some(&checked.source)));
                        }
                        note(code_of(checked.report.verdict));
                        match format {
                            Format::Text => {
                                if i > 0 {
                                    emit("\n");
                                }
                                emit(&report::text(&checked.report));
                            }
                            Format::Json => json.push(report::json(&checked.report)),
                        }
                    }
                    Err(failed) => {
                        eprint!(
                            "{}",
                            render_all(&failed.diagnostics, failed.source.as_deref())
                        );
                        note(2);
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
        }
        Command::Knowledge { file, search } => match check_file(&file, search.settings()) {
            Ok(checked) => {
                note(code_of(checked.report.verdict));
                emit(&report::knowledge(&checked.report));
            }
            Err(failed) => {
                eprint!(
                    "{}",
                    render_all(&failed.diagnostics, failed.source.as_deref())
                );
                note(2);
            }
        },
    }
    ExitCode::from(worst)
}

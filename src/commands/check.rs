//! `apisat check FILE...`: a verdict per file (per variant of a family
//! file), as text, JSON (one array) or DOT (one graph).

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use super::ExitCode;
use crate::analysis::check_file_with;
use crate::analysis::verdict::Settings;
use crate::batch::inputs::{self, Input, VariantPattern};
use crate::cli::{emit, Format};
use crate::front::diagnostic::{Diagnostic, Span};
use crate::progress::Ticker;
use crate::report;
use crate::report::JsonEntry;
use crate::style::Palette;

/// The maximum number of variants `check` reports one by one; larger
/// families belong to `apisat batch`.
pub const MAX_FAMILY_VARIANTS: u64 = 64;

/// One report to print, or the errors of what could not be checked.
enum Item {
    Checked {
        report: Box<crate::analysis::verdict::Report>,
        warnings: Vec<Diagnostic>,
    },
    Failed {
        file: String,
        diagnostics: Vec<Diagnostic>,
    },
}

/// The reports of one file: one for an API file, one per variant for a
/// family file; with the texts of the files their diagnostics point into.
fn items(
    file: &Path,
    variants: Option<&VariantPattern>,
    settings: Settings,
    strong: bool,
) -> (Vec<Item>, Vec<(String, String)>) {
    let name = file.display().to_string();
    match inputs::read(file) {
        Input::Family(family) => {
            let sources = vec![
                (family.file.clone(), family.source.clone()),
                (family.base_file.clone(), family.base_source.clone()),
            ];
            let chosen: Vec<u64> = match variants {
                Some(p) => (0..family.len())
                    .filter(|i| p.matches(&family.variant_name(*i)))
                    .take(MAX_FAMILY_VARIANTS as usize + 1)
                    .collect(),
                None => (0..family.len().min(MAX_FAMILY_VARIANTS + 1)).collect(),
            };
            if let (Some(p), true) = (variants, chosen.is_empty()) {
                let diagnostic = Diagnostic::error(
                    &family.file,
                    Span::new(1, 1, 1),
                    format!("no variant of this family is named `{}`", p.0),
                )
                .with_help(format!(
                    "its variants are named like `{}`; `*` matches any characters",
                    family.variant_name(0)
                ));
                return (
                    vec![Item::Failed {
                        file: name,
                        diagnostics: vec![diagnostic],
                    }],
                    sources,
                );
            }
            if chosen.len() as u64 > MAX_FAMILY_VARIANTS {
                let diagnostic = Diagnostic::error(
                    &family.file,
                    Span::new(1, 1, 1),
                    format!(
                        "{} more than {MAX_FAMILY_VARIANTS} variants; `apisat check` prints a full report for each, and takes at most {MAX_FAMILY_VARIANTS}",
                        if variants.is_some() { "the pattern selects" } else { "this family has" }
                    ),
                )
                .with_help(format!(
                    "pick variants with `--variant PATTERN`, or run `apisat batch {}` for a table of every variant",
                    family.file
                ));
                return (
                    vec![Item::Failed {
                        file: name,
                        diagnostics: vec![diagnostic],
                    }],
                    sources,
                );
            }
            let items = chosen
                .into_iter()
                .map(|i| match family.variant(i).loaded {
                    Ok(loaded) => Item::Checked {
                        report: Box::new(crate::analysis::strong::check(
                            loaded.program,
                            settings,
                            strong,
                        )),
                        warnings: loaded.warnings,
                    },
                    Err(diagnostics) => Item::Failed {
                        file: format!("{} :: {}", family.file, family.variant_name(i)),
                        diagnostics,
                    },
                })
                .collect();
            (items, sources)
        }
        Input::Broken {
            diagnostics,
            source,
            ..
        } => {
            let sources = source.map(|s| vec![(name.clone(), s)]).unwrap_or_default();
            (
                vec![Item::Failed {
                    file: name,
                    diagnostics,
                }],
                sources,
            )
        }
        Input::Api { .. } => match check_file_with(file, settings, strong) {
            Ok(checked) => (
                vec![Item::Checked {
                    report: Box::new(checked.report),
                    warnings: checked.warnings,
                }],
                vec![(name, checked.source)],
            ),
            Err(failed) => {
                let sources = failed
                    .source
                    .map(|s| vec![(name.clone(), s)])
                    .unwrap_or_default();
                (
                    vec![Item::Failed {
                        file: name,
                        diagnostics: failed.diagnostics,
                    }],
                    sources,
                )
            }
        },
    }
}

/// Renders diagnostics that may point into several files.
fn render(diagnostics: &[Diagnostic], sources: &[(String, String)], palette: Palette) -> String {
    super::render_in(diagnostics, sources, palette)
}

/// Checks every file (every variant of a family file); prints reports to
/// stdout and diagnostics to stderr; with `full_terms`, every shared term
/// in place (`Report::expanded`); with `strong`, each secret's strong
/// secrecy ([`crate::analysis::strong`]).
pub fn run(
    files: &[PathBuf],
    format: Format,
    variants: Option<VariantPattern>,
    settings: Settings,
    full_terms: bool,
    strong: bool,
) -> ExitCode {
    let mut worst = ExitCode::default();
    let mut json: Vec<JsonEntry> = Vec::new();
    // Every report goes into one DOT graph, printed at the end: several
    // digraphs in one stream would make `dot -Tsvg` write several SVG
    // documents into one file.
    let mut dot: Vec<crate::analysis::verdict::Report> = Vec::new();
    let (out, err) = (Palette::for_stdout(), Palette::for_stderr());
    let mut first = true;
    for file in files {
        let ticker = Ticker::start(std::io::stderr().is_terminal());
        let (items, sources) = items(file, variants.as_ref(), settings, strong);
        drop(ticker);
        // A family's variants share the base's warnings: each is shown once.
        let mut warned: Vec<Diagnostic> = Vec::new();
        for item in items {
            match item {
                Item::Checked { report, warnings } => {
                    let report = if full_terms {
                        Box::new(report.expanded())
                    } else {
                        report
                    };
                    let fresh: Vec<Diagnostic> = warnings
                        .into_iter()
                        .filter(|w| !warned.contains(w))
                        .collect();
                    if !fresh.is_empty() {
                        eprint!("{}", render(&fresh, &sources, err));
                        warned.extend(fresh);
                    }
                    worst.note(ExitCode::of(report.verdict));
                    match format {
                        Format::Text => {
                            if !first {
                                emit("\n");
                            }
                            emit(&report::text_styled(&report, out));
                        }
                        Format::Json => json.push(JsonEntry::Report(report)),
                        Format::Dot => dot.push(*report),
                    }
                }
                Item::Failed { file, diagnostics } => {
                    eprint!("{}", render(&diagnostics, &sources, err));
                    worst.note(ExitCode::BAD_INPUT);
                    if format == Format::Json {
                        json.push(JsonEntry::Errors(report::json_errors(&file, &diagnostics)));
                    }
                }
            }
            first = false;
        }
    }
    if format == Format::Json {
        let text = serde_json::to_string_pretty(&json).unwrap_or_default();
        emit(&format!("{text}\n"));
    }
    if !dot.is_empty() {
        let reports: Vec<&crate::analysis::verdict::Report> = dot.iter().collect();
        emit(&crate::report::dot::graphs(&reports));
    }
    worst
}

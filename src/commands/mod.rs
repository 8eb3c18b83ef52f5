//! One module per `apisat` command; each returns its exit code.
//!
//! The top of the layout: takes the parsed command line
//! ([`crate::cli`]), runs the stages below (front end, analysis, then
//! report or batch), prints, and gives the exit code. No module below
//! names this one, nor `cli` (ARCHITECTURE.md, "Layout").
//!
//! Exit codes: 0 secure, 1 a secret derivable, 2 bad input or usage,
//! 3 a resource limit stopped saturation. With several inputs the worst
//! wins, in the order 2, 1, 3, 0 ([`ExitCode`]).

/// `apisat batch`.
pub mod batch;
/// `apisat check`.
pub mod check;
/// `apisat completions` and `apisat man`.
pub mod completions;
/// `apisat convert`.
pub mod convert;
/// `apisat diff`.
pub mod diff;
/// `apisat explain`.
pub mod explain;
/// `apisat export`.
pub mod export;
/// `apisat fix`.
pub mod fix;
/// `apisat knowledge`.
pub mod knowledge;
/// `apisat merge`.
pub mod merge;
/// `apisat schema`.
pub mod schema;
/// `apisat test`.
pub mod test;

use std::path::Path;

use crate::analysis::verdict::Verdict;
use crate::batch::inputs::{Input, VariantPattern};
use crate::batch::outcome::Outcome;
use crate::cli::Command;
use crate::front::diagnostic::{render_all, render_all_styled, Diagnostic, Span};
use crate::style::Palette;

/// The worst exit code seen so far across several inputs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ExitCode(pub u8);

impl ExitCode {
    /// Bad input or usage.
    pub const BAD_INPUT: ExitCode = ExitCode(2);
    /// A secret is derivable (or a test failed).
    pub const ATTACK: ExitCode = ExitCode(1);

    /// The exit code of a verdict.
    pub fn of(v: Verdict) -> ExitCode {
        ExitCode(match v {
            Verdict::Secure => 0,
            Verdict::Attack => 1,
            Verdict::Limit => 3,
        })
    }

    fn rank(self) -> u8 {
        match self.0 {
            2 => 3,
            1 => 2,
            3 => 1,
            _ => 0,
        }
    }

    /// The exit code of a batch outcome.
    pub fn of_outcome(o: &Outcome) -> ExitCode {
        ExitCode(o.exit_code())
    }

    /// Keeps the worse of the two codes.
    pub fn note(&mut self, other: ExitCode) {
        if other.rank() > self.rank() {
            *self = other;
        }
    }
}

/// Runs a parsed command line; returns the exit code.
pub fn run(command: Command) -> ExitCode {
    match command {
        Command::Check {
            files,
            format,
            variant,
            full_terms,
            strong,
            search,
        } => check::run(
            &files,
            format,
            variant.map(VariantPattern),
            search.verdict_settings(),
            full_terms,
            strong,
        ),
        Command::Knowledge {
            file,
            format,
            variant,
            search,
        } => knowledge::run(
            &file,
            format,
            variant.map(VariantPattern).as_ref(),
            search.settings(),
        ),
        Command::Schema { family } => schema::run(family),
        Command::Convert { file, to } => convert::run(
            &file,
            match to {
                crate::cli::Notation::Yaml => crate::front::convert::Notation::Yaml,
                crate::cli::Notation::Spi => crate::front::convert::Notation::Spi,
            },
        ),
        Command::Export {
            file,
            to,
            variant,
            strong,
        } => export::run(&file, to, variant.map(VariantPattern).as_ref(), strong),
        Command::Fix {
            file,
            format,
            variant,
            max_size,
            max_checks,
            search,
        } => fix::run(
            &file,
            format,
            variant.map(VariantPattern).as_ref(),
            search.settings(),
            crate::analysis::fix::FixLimits {
                max_size: max_size as usize,
                max_checks: max_checks as usize,
            },
        ),
        Command::Diff {
            a,
            b,
            format,
            variant,
            variant_b,
            search,
        } => diff::run(
            &a,
            &b,
            format,
            variant.map(VariantPattern).as_ref(),
            variant_b.map(VariantPattern).as_ref(),
            search.settings(),
        ),
        Command::Explain {
            file,
            term,
            format,
            variant,
            full_terms,
            search,
        } => explain::run(
            &file,
            &term,
            format,
            variant.map(VariantPattern).as_ref(),
            search.settings(),
            full_terms,
        ),
        Command::Batch {
            paths,
            format,
            jobs,
            shard,
            no_time,
            variant,
            search,
        } => batch::run(
            &paths,
            format,
            jobs,
            shard,
            no_time,
            variant.map(VariantPattern),
            search.verdict_settings(),
        ),
        Command::Test {
            paths,
            jobs,
            variant,
            search,
        } => test::run(
            &paths,
            jobs,
            variant.map(VariantPattern),
            search.verdict_settings(),
        ),
        Command::Completions { shell } => completions::completions(shell),
        Command::Man { command } => completions::man(command.as_deref()),
        Command::Merge {
            files,
            format,
            no_time,
        } => merge::run(&files, format, no_time),
    }
}

/// Loads an API file for a command that takes one; prints its diagnostics
/// (errors, or warnings) to stderr. `None` means exit code 2.
pub fn load_api(file: &std::path::Path) -> Option<crate::front::lower::Loaded> {
    match crate::front::lower::load_file(file) {
        Ok(loaded) => {
            if !loaded.warnings.is_empty() {
                eprint!(
                    "{}",
                    render_all_styled(
                        &loaded.warnings,
                        Some(&loaded.source),
                        Palette::for_stderr()
                    )
                );
            }
            Some(loaded)
        }
        Err(diagnostics) => {
            let source = crate::front::lower::read_source(file).ok();
            eprint!(
                "{}",
                render_all_styled(&diagnostics, source.as_deref(), Palette::for_stderr())
            );
            None
        }
    }
}

/// Loads the one API a command works on (explain, knowledge, fix, diff):
/// an API file, or the variant of a family file that `variant` picks (a
/// family of one variant needs none). Prints warnings, or every error, to
/// stderr; `None` means exit code 2.
pub fn load_one(
    file: &Path,
    variant: Option<&VariantPattern>,
    command: &str,
) -> Option<crate::front::lower::Loaded> {
    load_input(crate::batch::inputs::read(file), file, variant, command)
}

/// [`load_one`] on a file already read.
pub fn load_input(
    input: Input,
    file: &Path,
    variant: Option<&VariantPattern>,
    command: &str,
) -> Option<crate::front::lower::Loaded> {
    let palette = Palette::for_stderr();
    match input {
        Input::Api { .. } => match variant {
            Some(p) => {
                let name = file.display().to_string();
                let d = Diagnostic::error(
                    &name,
                    Span::new(1, 1, 1),
                    format!(
                        "`--variant {}` picks a variant of a family file, and this is an API file",
                        p.0
                    ),
                )
                .with_help("leave out `--variant`, or give the family file");
                let source = std::fs::read_to_string(file).ok();
                eprint!("{}", render_all_styled(&[d], source.as_deref(), palette));
                None
            }
            None => load_api(file),
        },
        Input::Broken {
            diagnostics,
            source,
            ..
        } => {
            eprint!(
                "{}",
                render_all_styled(&diagnostics, source.as_deref(), palette)
            );
            None
        }
        Input::Family(family) => {
            let sources = vec![
                (family.file.clone(), family.source.clone()),
                (family.base_file.clone(), family.base_source.clone()),
            ];
            let index = match pick_variant(&family, variant, command) {
                Ok(i) => i,
                Err(d) => {
                    eprint!("{}", render_in(&[d], &sources, palette));
                    return None;
                }
            };
            match family.variant(index).loaded {
                Ok(loaded) => {
                    if !loaded.warnings.is_empty() {
                        eprint!("{}", render_in(&loaded.warnings, &sources, palette));
                    }
                    Some(loaded)
                }
                Err(diagnostics) => {
                    eprint!("{}", render_in(&diagnostics, &sources, palette));
                    None
                }
            }
        }
    }
}

/// The spec of the one API a command works on, where it came from, and
/// the mistakes reading it: what re-lowers that API with a changed spec
/// (`apisat fix`'s policy changes).
#[derive(Clone, Debug)]
pub struct SpecSource {
    /// The spec (a family variant's: its base with its edits applied).
    pub spec: crate::front::spec::Spec,
    /// The file lowering names (the base API file, for a variant).
    pub file: String,
    /// That file's text.
    pub source: String,
    /// Mistakes found reading the spec or applying edits.
    pub diags: Vec<Diagnostic>,
}

impl SpecSource {
    /// The program of the spec after `change`; `None` when it does not
    /// lower (the change makes the file wrong).
    pub fn lower_with(
        &self,
        change: impl FnOnce(&crate::front::spec::Spec) -> crate::front::spec::Spec,
    ) -> Option<crate::front::program::Program> {
        let spec = change(&self.spec);
        crate::front::lower::lower_spec(&self.file, &spec, &self.source, self.diags.clone())
            .ok()
            .map(|l| l.program)
    }
}

/// The spec of the API [`load_one`] loads from `file` (and `variant`);
/// `None` when it cannot be read (call [`load_one`] first: it prints why).
pub fn load_spec(file: &Path, variant: Option<&VariantPattern>) -> Option<SpecSource> {
    match crate::batch::inputs::read(file) {
        Input::Api { .. } => {
            let name = file.display().to_string();
            let source = crate::front::lower::read_source(file).ok()?;
            let node = crate::front::yaml::parse(&name, &source).ok()?;
            let (spec, diags) = crate::front::spec::read(&name, &node);
            Some(SpecSource {
                spec,
                file: name,
                source,
                diags,
            })
        }
        Input::Family(family) => {
            let index = pick_variant(&family, variant, "fix").ok()?;
            let (spec, diags) = family.variant_spec(index);
            Some(SpecSource {
                spec,
                file: family.base_file.clone(),
                source: family.base_source.clone(),
                diags,
            })
        }
        Input::Broken { .. } => None,
    }
}

/// How many matching variants [`pick_variant`] looks for before it stops:
/// enough to name a few when a pattern matches several.
const VARIANTS_SHOWN: usize = 5;

/// The index of the one variant `pattern` picks, or why there is none.
fn pick_variant(
    family: &crate::front::family::Family,
    pattern: Option<&VariantPattern>,
    command: &str,
) -> Result<u64, Diagnostic> {
    let names = |n: u64| -> String {
        let shown: Vec<String> = (0..family.len().min(n))
            .map(|i| format!("`{}`", family.variant_name(i)))
            .collect();
        let more = if family.len() > n { ", ..." } else { "" };
        format!("{}{more}", shown.join(", "))
    };
    // Located at the `family:` key.
    let line = family
        .source
        .lines()
        .position(|l| l.starts_with("family:"))
        .map_or(1, |i| i as u32 + 1);
    let error = |message: String, help: String| {
        Diagnostic::error(&family.file, Span::new(line, 1, 6), message).with_help(help)
    };
    let Some(pattern) = pattern else {
        if family.len() == 1 {
            return Ok(0);
        }
        return Err(error(
            format!(
                "this is a family file of {} variants, and `apisat {command}` takes one API",
                family.len()
            ),
            format!(
                "pick one with `--variant PATTERN` (`*` matches any characters); its variants are {}",
                names(VARIANTS_SHOWN as u64)
            ),
        ));
    };
    let mut matched: Vec<u64> = Vec::new();
    for i in 0..family.len() {
        if pattern.matches(&family.variant_name(i)) {
            matched.push(i);
            if matched.len() > VARIANTS_SHOWN {
                break;
            }
        }
    }
    match matched.as_slice() {
        [one] => Ok(*one),
        [] => Err(error(
            format!("no variant of this family is named `{}`", pattern.0),
            format!(
                "its variants are {}; `*` matches any characters",
                names(VARIANTS_SHOWN as u64)
            ),
        )),
        several => {
            let shown: Vec<String> = several
                .iter()
                .take(VARIANTS_SHOWN)
                .map(|i| format!("`{}`", family.variant_name(*i)))
                .collect();
            let count = if several.len() > VARIANTS_SHOWN {
                format!("more than {VARIANTS_SHOWN} variants")
            } else {
                format!("{} variants", several.len())
            };
            Err(error(
                format!(
                    "`{}` matches {count} of this family ({}{}), and `apisat {command}` takes one",
                    pattern.0,
                    shown.join(", "),
                    if several.len() > VARIANTS_SHOWN { ", ..." } else { "" }
                ),
                "make the pattern match one variant name; `apisat check --variant` and `apisat batch --variant` take several".to_string(),
            ))
        }
    }
}

/// Renders diagnostics that may point into several files (a family file
/// and its base), each group against its file's text.
pub fn render_in(
    diagnostics: &[Diagnostic],
    sources: &[(String, String)],
    palette: Palette,
) -> String {
    let mut files: Vec<&str> = diagnostics.iter().map(|d| d.file.as_str()).collect();
    files.dedup();
    let mut out = String::new();
    let mut done: Vec<&str> = Vec::new();
    for f in files {
        if done.contains(&f) {
            continue;
        }
        done.push(f);
        let group: Vec<Diagnostic> = diagnostics
            .iter()
            .filter(|d| d.file == f)
            .cloned()
            .collect();
        let source = sources
            .iter()
            .find(|(n, _)| n == f)
            .map(|(_, s)| s.as_str());
        out.push_str(&render_all_styled(&group, source, palette));
    }
    out
}

/// Worker threads: as asked, else one per core.
pub fn jobs(asked: Option<u64>) -> usize {
    asked
        .filter(|j| *j > 0)
        .map(|j| j as usize)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// Prints the errors of failed outcomes to stderr, each located error
/// once (a family's variants often share one), with its source line.
pub fn print_errors(outcomes: &[Outcome]) {
    let mut seen = std::collections::HashSet::new();
    let mut by_file: Vec<(String, Vec<Diagnostic>)> = Vec::new();
    for o in outcomes {
        for e in &o.errors {
            if !seen.insert((e.file.clone(), e.line, e.column, e.message.clone())) {
                continue;
            }
            let mut d = Diagnostic::error(
                &e.file,
                Span::new(e.line, e.column, e.length.max(1)),
                e.message.clone(),
            );
            d.help = e.help.clone();
            match by_file.iter_mut().find(|(f, _)| *f == e.file) {
                Some((_, list)) => list.push(d),
                None => by_file.push((e.file.clone(), vec![d])),
            }
        }
    }
    for (file, diags) in by_file {
        let source = crate::front::lower::read_source(std::path::Path::new(&file)).ok();
        eprint!("{}", render_all(&diags, source.as_deref()));
    }
}

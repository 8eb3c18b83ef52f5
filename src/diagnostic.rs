//! Located errors: file, line and column, what is wrong, how to fix it.
//!
//! Every mistake in an input file becomes one [`Diagnostic`]; the front end
//! collects all of them before giving up, and `main` maps any to exit code 2.

use std::fmt;

use crate::style::{Palette, Role};

/// A place in a source file: 1-based line and column (in characters), and
/// the length of the marked text in characters (at least 1 when rendered).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Span {
    /// 1-based line.
    pub line: u32,
    /// 1-based column, counted in characters.
    pub col: u32,
    /// Length of the marked text, in characters.
    pub len: u32,
}

impl Span {
    /// A span at `line:col` of `len` characters.
    pub fn new(line: u32, col: u32, len: u32) -> Self {
        Span { line, col, len }
    }

    /// The span `offset` characters into this one, `len` long, for a token
    /// inside a one-line scalar.
    pub fn sub(self, offset: u32, len: u32) -> Self {
        Span {
            line: self.line,
            col: self.col + offset,
            len,
        }
    }
}

/// How bad a diagnostic is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Severity {
    /// The input is rejected.
    Error,
    /// The input is accepted, but probably not what was meant.
    Warning,
}

/// One located message about an input file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// The file, as given on the command line.
    pub file: String,
    /// Where in the file.
    pub span: Span,
    /// What is wrong, in one sentence.
    pub message: String,
    /// How to fix it, or what would be accepted.
    pub help: Option<String>,
}

impl Diagnostic {
    /// An error at `span` of `file`.
    pub fn error(file: &str, span: Span, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            file: file.to_string(),
            span,
            message: message.into(),
            help: None,
        }
    }

    /// A warning at `span` of `file`.
    pub fn warning(file: &str, span: Span, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(file, span, message)
        }
    }

    /// Adds a help line.
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// True for errors (not warnings).
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// Renders the diagnostic with the offending source line underlined:
    ///
    /// ```text
    /// error: unknown field `inputz`
    ///   --> apis/x.yaml:12:5
    ///    |
    /// 12 |     inputz: [x]
    ///    |     ^^^^^^
    ///    = help: accepted fields are: name, inputs, checks, fresh, outputs
    /// ```
    pub fn render(&self, source: Option<&str>) -> String {
        self.render_styled(source, Palette::PLAIN)
    }

    /// Renders like [`Diagnostic::render`], with the label, the marker and
    /// `help` painted with `p`.
    pub fn render_styled(&self, source: Option<&str>, p: Palette) -> String {
        let mut out = String::new();
        let (label, role) = match self.severity {
            Severity::Error => ("error", Role::Error),
            Severity::Warning => ("warning", Role::Warning),
        };
        out.push_str(&format!("{}: {}\n", p.paint(role, label), self.message));
        let line_no = self.span.line.to_string();
        let pad = " ".repeat(line_no.len());
        out.push_str(&format!(
            "{pad}--> {}:{}:{}\n",
            self.file, self.span.line, self.span.col
        ));
        let text = source.and_then(|s| {
            s.lines()
                .nth((self.span.line as usize).saturating_sub(1))
                .filter(|_| self.span.line > 0)
        });
        if let Some(text) = text {
            let text = text.trim_end_matches('\r');
            let width = self.span.len.max(1) as usize;
            let col = (self.span.col.max(1) - 1) as usize;
            let indent: String = text
                .chars()
                .take(col)
                .map(|c| if c == '\t' { '\t' } else { ' ' })
                .collect();
            out.push_str(&format!("{pad} |\n"));
            out.push_str(&format!("{line_no} | {text}\n"));
            let marker = p.paint(role, &"^".repeat(width));
            out.push_str(&format!("{pad} | {indent}{marker}\n"));
        }
        if let Some(help) = &self.help {
            out.push_str(&format!(
                "{pad} = {}: {help}\n",
                p.paint(Role::Help, "help")
            ));
        }
        out
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.render(None))
    }
}

/// Renders diagnostics in order (sorted by position), with a closing count.
pub fn render_all(diagnostics: &[Diagnostic], source: Option<&str>) -> String {
    render_all_styled(diagnostics, source, Palette::PLAIN)
}

/// Renders like [`render_all`], painted with `p`.
pub fn render_all_styled(diagnostics: &[Diagnostic], source: Option<&str>, p: Palette) -> String {
    let mut sorted: Vec<&Diagnostic> = diagnostics.iter().collect();
    sorted.sort_by(|a, b| (&a.file, a.span).cmp(&(&b.file, b.span)));
    let mut out = String::new();
    for d in &sorted {
        out.push_str(&d.render_styled(source, p));
        out.push('\n');
    }
    let errors = diagnostics.iter().filter(|d| d.is_error()).count();
    if errors > 0 {
        let file = &sorted[0].file;
        let s = if errors == 1 { "" } else { "s" };
        out.push_str(&format!(
            "{}: {file}: {errors} error{s}; nothing was checked\n",
            p.paint(Role::Error, "error")
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_source_line_with_caret() {
        let src = "functions:\n  - name: F\n    inputz: [x]\n";
        let d = Diagnostic::error("x.yaml", Span::new(3, 5, 6), "unknown field `inputz`")
            .with_help("accepted fields are: name, inputs");
        let r = d.render(Some(src));
        assert!(r.contains("--> x.yaml:3:5"), "{r}");
        assert!(r.contains("3 |     inputz: [x]"), "{r}");
        assert!(r.contains("  |     ^^^^^^\n"), "{r}");
        assert!(r.contains("= help: accepted fields are"), "{r}");
    }

    #[test]
    fn styled_render_paints_label_marker_and_help_only() {
        let src = "functions:\n  - name: F\n    inputz: [x]\n";
        let d = Diagnostic::error("x.yaml", Span::new(3, 5, 6), "unknown field `inputz`")
            .with_help("accepted fields are: name, inputs");
        let r = d.render_styled(Some(src), Palette::ANSI);
        assert!(
            r.starts_with("\x1b[1;31merror\x1b[0m: unknown field"),
            "{r}"
        );
        assert!(r.contains("  |     \x1b[1;31m^^^^^^\x1b[0m\n"), "{r}");
        assert!(r.contains("= \x1b[36mhelp\x1b[0m: accepted"), "{r}");
        // Without the escapes it is the plain rendering.
        let stripped = r
            .replace("\x1b[1;31m", "")
            .replace("\x1b[36m", "")
            .replace("\x1b[0m", "");
        assert_eq!(stripped, d.render(Some(src)));
        let w = Diagnostic::warning("x.yaml", Span::new(3, 5, 6), "w");
        assert!(w
            .render_styled(Some(src), Palette::ANSI)
            .starts_with("\x1b[1;33mwarning\x1b[0m: w"));
    }
}

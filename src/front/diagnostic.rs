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

/// Where the characters of an assembled text come from: a text printed
/// from tokens that sit in several places of a source file (the spi front
/// end prints a pattern such as `{DataKey, k}MK` from a `case` and a later
/// match `[t is DataKey]`). Each piece is a run of the text and the source
/// span it was printed from; pieces may nest (a whole subterm, and the
/// names inside it).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SourceMap {
    /// (start, length) in characters of the text, and the source span.
    pieces: Vec<(usize, usize, Span)>,
}

impl SourceMap {
    /// Records that the characters `start..start + len` of the text were
    /// printed from `at`.
    pub fn push(&mut self, start: usize, len: usize, at: Span) {
        self.pieces.push((start, len, at));
    }

    /// The source span of the characters `offset..offset + len`: the
    /// smallest piece holding them; inside a piece printed one character a
    /// source column (a name), the exact columns.
    pub fn locate(&self, offset: usize, len: usize) -> Option<Span> {
        let end = offset + len.max(1);
        let (start, plen, at) = self
            .pieces
            .iter()
            .filter(|(s, l, _)| *s <= offset && end <= s + l.max(&1))
            .min_by_key(|(_, l, _)| *l)?;
        if *plen == at.len as usize && (offset, len) != (*start, *plen) {
            return Some(at.sub((offset - start) as u32, len.max(1) as u32));
        }
        Some(*at)
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
        let lines = source.map(source_lines);
        self.render_lines(lines.as_deref(), p)
    }

    /// Renders with the source already split in lines (see
    /// [`source_lines`]), so that many diagnostics cost one split.
    fn render_lines(&self, lines: Option<&[&str]>, p: Palette) -> String {
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
        let text = lines.and_then(|l| {
            l.get((self.span.line as usize).saturating_sub(1))
                .filter(|_| self.span.line > 0)
        });
        if let Some(text) = text {
            let col = (self.span.col.max(1) - 1) as usize;
            let (shown, col, width) = clip(text, col, self.span.len.max(1) as usize);
            let indent: String = shown
                .chars()
                .take(col)
                .map(|c| if c == '\t' { '\t' } else { ' ' })
                .collect();
            out.push_str(&format!("{pad} |\n"));
            out.push_str(&format!("{line_no} | {shown}\n"));
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

/// The widest source line shown whole; a longer one is cut to a window
/// around the marked column, so that a diagnostic on a huge one-line file
/// stays a few lines long.
pub const MAX_SHOWN_LINE: usize = 160;

/// The most diagnostics [`render_all`] prints for one file; the rest are
/// counted (JSON output lists every one).
pub const MAX_RENDERED: usize = 100;

/// The line as shown, the marker's column in it, and the marker's width:
/// the whole line when it is short, else a window of it with `…` where it
/// was cut.
fn clip(text: &str, col: usize, width: usize) -> (String, usize, usize) {
    let n = text.chars().count();
    if n <= MAX_SHOWN_LINE {
        return (text.to_string(), col, width);
    }
    let before = MAX_SHOWN_LINE / 3;
    let start = col
        .saturating_sub(before)
        .min(n.saturating_sub(MAX_SHOWN_LINE));
    let end = (start + MAX_SHOWN_LINE).min(n);
    let mut shown = String::new();
    if start > 0 {
        shown.push('…');
    }
    shown.extend(text.chars().skip(start).take(end - start));
    if end < n {
        shown.push('…');
    }
    let lead = usize::from(start > 0);
    let col_in = col.saturating_sub(start) + lead;
    let width = width.min((end + lead).saturating_sub(col_in).max(1));
    (shown, col_in, width)
}

/// A source text in lines, as positions count them: a line ends at `\n`,
/// `\r\n` or a lone `\r` (old Mac files), and a UTF-8 byte-order mark
/// before the first line is not part of it.
pub fn source_lines(source: &str) -> Vec<&str> {
    let source = source.strip_prefix('\u{feff}').unwrap_or(source);
    let mut lines = Vec::new();
    let bytes = source.as_bytes();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\n' => {
                lines.push(&source[start..i]);
                start = i + 1;
            }
            b'\r' => {
                lines.push(&source[start..i]);
                if bytes.get(i + 1) == Some(&b'\n') {
                    i += 1;
                }
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    if start < bytes.len() {
        lines.push(&source[start..]);
    }
    lines
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

/// Renders like [`render_all`], painted with `p`. At most
/// [`MAX_RENDERED`] are printed; a note counts the others.
pub fn render_all_styled(diagnostics: &[Diagnostic], source: Option<&str>, p: Palette) -> String {
    let mut sorted: Vec<&Diagnostic> = diagnostics.iter().collect();
    sorted.sort_by(|a, b| (&a.file, a.span).cmp(&(&b.file, b.span)));
    let lines = source.map(source_lines);
    let mut out = String::new();
    for d in sorted.iter().take(MAX_RENDERED) {
        out.push_str(&d.render_lines(lines.as_deref(), p));
        out.push('\n');
    }
    if sorted.len() > MAX_RENDERED {
        let hidden = sorted.len() - MAX_RENDERED;
        let s = if hidden == 1 { "" } else { "s" };
        out.push_str(&format!(
            "note: {hidden} more diagnostic{s} not shown; fix the ones above and run again (`--format json` lists every one)\n"
        ));
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
    fn source_lines_end_at_every_kind_of_line_break() {
        assert_eq!(source_lines("a\nb\r\nc\rd"), vec!["a", "b", "c", "d"]);
        assert_eq!(source_lines("\u{feff}a\n\n"), vec!["a", ""]);
        assert_eq!(source_lines("a\r\r\nb\n"), vec!["a", "", "b"]);
        let d = Diagnostic::error("x.yaml", Span::new(3, 3, 1), "m");
        assert!(d.render(Some("a\rb\rc Z\r")).contains("3 | c Z\n  |   ^\n"));
    }

    /// A diagnostic on a huge line shows a window of it; many diagnostics
    /// show the first [`MAX_RENDERED`] and count the rest (issue 15: 20k
    /// errors on a 200 KB line rendered 4 GB).
    #[test]
    fn long_lines_are_cut_and_many_diagnostics_counted() {
        let line = format!("k: [{}Z]", "A, ".repeat(100_000));
        let col = line.chars().count() as u32 - 1;
        let d = Diagnostic::error("x.yaml", Span::new(1, col, 1), "unknown name `Z`");
        let r = d.render(Some(&line));
        assert!(
            r.lines().all(|l| l.chars().count() < MAX_SHOWN_LINE + 20),
            "{r}"
        );
        assert!(r.contains("A, Z]\n"), "{r}");
        let shown: Vec<char> = r.lines().nth(3).expect("source line").chars().collect();
        let marker = r.lines().nth(4).expect("marker line");
        let caret = marker.chars().position(|c| c == '^').expect("caret");
        assert_eq!(shown[caret], 'Z', "{r}");
        let many: Vec<Diagnostic> = (0..1000)
            .map(|i| Diagnostic::error("x.yaml", Span::new(1, 1 + i, 1), "m").with_help("h"))
            .collect();
        let r = render_all(&many, Some(&line));
        assert_eq!(r.matches("error: m").count(), MAX_RENDERED);
        assert!(
            r.contains("note: 900 more diagnostics not shown"),
            "{r:.300}"
        );
        assert!(r.ends_with("error: x.yaml: 1000 errors; nothing was checked\n"));
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

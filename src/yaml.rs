//! YAML with source positions; the only module that names `serde_yaml`.
//!
//! serde_yaml parses the text (so the YAML semantics are libyaml's), but it
//! gives no node positions. A small scanner of the source text finds where
//! each mapping, key, list item and scalar starts (block and flow style,
//! plain, single- and double-quoted scalars, block scalars, comments), and
//! [`parse`] pairs serde_yaml's value tree with those positions. Where the
//! two disagree, a node gets the position of its enclosing node, never a
//! made-up one.

use crate::diagnostic::{Diagnostic, SourceMap, Span};
use serde_yaml::Value;

/// A YAML node with the position where it starts.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    /// What the node is.
    pub kind: NodeKind,
    /// Where it starts: the first key of a mapping, the first `-` of a
    /// list, the scalar itself (quotes included); for an empty value, its
    /// key.
    pub span: Span,
}

/// The shape of a node.
#[derive(Clone, Debug, PartialEq)]
pub enum NodeKind {
    /// A mapping, in file order.
    Map(Vec<(Key, Node)>),
    /// A list.
    Seq(Vec<Node>),
    /// A string, number or boolean.
    Scalar(Scalar),
    /// An empty value (`key:` with nothing after it, `~`, `null`).
    Null,
}

/// A mapping key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Key {
    /// The key's text.
    pub text: String,
    /// Where the key is written.
    pub span: Span,
}

/// What kind of value a scalar is, as YAML reads it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ScalarKind {
    /// A string.
    Str,
    /// `true` or `false`.
    Bool(bool),
    /// A whole number.
    Int(i128),
    /// A number with a fraction or exponent (or infinity / NaN).
    Float,
}

/// A scalar with its text and position.
#[derive(Clone, Debug, PartialEq)]
pub struct Scalar {
    /// The value as text (numbers and booleans as YAML prints them).
    pub text: String,
    /// What YAML read it as.
    pub kind: ScalarKind,
    /// Where the scalar is written, quotes included.
    pub span: Span,
    /// Where its text is, when every character of `text` is one source
    /// column on one line (plain or quoted, no escapes); `None` otherwise.
    pub content: Option<Span>,
    /// Where the pieces of `text` come from, when it was printed from
    /// tokens in several places (the spi front end); `None` for YAML.
    pub map: Option<std::sync::Arc<SourceMap>>,
}

impl Scalar {
    /// The span of the characters `offset..offset + len` of `text`: exact
    /// when the text maps 1:1 to source columns, else the whole scalar.
    pub fn token_span(&self, offset: usize, len: usize) -> Span {
        match (&self.content, &self.map) {
            (Some(c), _) if offset + len <= c.len as usize => {
                c.sub(offset as u32, len.max(1) as u32)
            }
            (None, Some(map)) => map.locate(offset, len).unwrap_or(self.span),
            _ => self.span,
        }
    }
}

impl Node {
    /// How the node's shape is called in messages: "a mapping", "a list",
    /// "a string", "a number", "true/false", "an empty value".
    pub fn describe(&self) -> &'static str {
        match &self.kind {
            NodeKind::Map(_) => "a mapping",
            NodeKind::Seq(_) => "a list",
            NodeKind::Null => "an empty value",
            NodeKind::Scalar(s) => match s.kind {
                ScalarKind::Str => "a string",
                ScalarKind::Bool(_) => "true/false",
                ScalarKind::Int(_) | ScalarKind::Float => "a number",
            },
        }
    }
}

/// The largest file apisat reads, in bytes (16 MiB). API and family files
/// are a few KiB; anything near this is generated or not an API file, and
/// is refused before it is parsed.
pub const MAX_FILE_BYTES: usize = 16 << 20;

/// The deepest nesting of lists and mappings accepted (block or flow
/// style); API and family files need fewer than 10 levels.
pub const MAX_NESTING: usize = 64;

/// Parses a YAML document into a [`Node`] tree with positions. A syntax
/// error is one diagnostic at serde_yaml's location; duplicate mapping keys
/// are one diagnostic each, at the second key.
///
/// A UTF-8 byte-order mark is skipped, and `\r\n` or a lone `\r` ends a
/// line like `\n`. Work and memory are linear in the text: files larger
/// than [`MAX_FILE_BYTES`] and nesting deeper than [`MAX_NESTING`] are
/// refused (before serde_yaml sees deep flow nesting, which it handles in
/// quadratic time).
pub fn parse(file: &str, src: &str) -> Result<Node, Vec<Diagnostic>> {
    if src.len() > MAX_FILE_BYTES {
        return Err(vec![too_large(file, Span::new(1, 1, 1), src.len() as u64)]);
    }
    let src = normalise(src);
    let src = src.as_ref();
    if let Some((line, col)) = deep_flow(src, MAX_NESTING) {
        return Err(vec![too_deep(file, span(line, col, 1))]);
    }
    let scanner = Scanner::new(src);
    match serde_yaml::from_str::<Value>(src) {
        Ok(value) => {
            let positions = scanner.root();
            let node = build(&value, Some(&positions), Span::new(1, 1, 1));
            match deepest(&node, 1) {
                Some(at) => Err(vec![too_deep(file, at)]),
                None => Ok(node),
            }
        }
        Err(err) => {
            let text = err.to_string();
            if text.contains("duplicate entry") {
                let mut diags = Vec::new();
                duplicates(file, &scanner.root(), &mut diags);
                if !diags.is_empty() {
                    return Err(diags);
                }
            }
            if text.contains("recursion limit exceeded") {
                let at = err.location().map_or(Span::new(1, 1, 1), |l| {
                    Span::new(l.line() as u32, l.column() as u32, 1)
                });
                return Err(vec![too_deep(file, at)]);
            }
            Err(vec![syntax_error(file, &err)])
        }
    }
}

/// The diagnostic for a file larger than [`MAX_FILE_BYTES`]; `bytes` is
/// its size (or a lower bound of it).
pub fn too_large(file: &str, at: Span, bytes: u64) -> Diagnostic {
    let mib = |b: u64| b as f64 / (1u64 << 20) as f64;
    Diagnostic::error(
        file,
        at,
        format!(
            "absurd size: the file is {:.1} MiB, and apisat reads files of at most {} MiB",
            mib(bytes),
            MAX_FILE_BYTES >> 20
        ),
    )
    .with_help(format!(
        "API and family files are a few KiB; check that this is the file you meant, or split a generated API into smaller ones (the {} MiB cap keeps a stray file from exhausting the machine; README: Limits)",
        MAX_FILE_BYTES >> 20
    ))
}

/// The diagnostic for nesting deeper than [`MAX_NESTING`], at the first
/// collection too deep.
fn too_deep(file: &str, at: Span) -> Diagnostic {
    Diagnostic::error(
        file,
        at,
        format!("lists and mappings nested too deeply: more than {MAX_NESTING} levels"),
    )
    .with_help(format!(
        "API files need a few levels; check for unbalanced `[` or `{{`, e.g. an unquoted term (apisat reads at most {MAX_NESTING} levels; README: Limits)"
    ))
}

/// The text with a byte-order mark removed and every line break made
/// `\n` (`\r\n` and a lone `\r` each end one line): what both serde_yaml
/// and the position scanner read, so that they count the same lines.
/// Columns do not move, since only line ends change.
fn normalise(src: &str) -> std::borrow::Cow<'_, str> {
    let src = src.strip_prefix('\u{feff}').unwrap_or(src);
    if !src.contains('\r') {
        return std::borrow::Cow::Borrowed(src);
    }
    let mut out = String::with_capacity(src.len());
    let mut chars = src.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\r' {
            if chars.peek() == Some(&'\n') {
                chars.next();
            }
            out.push('\n');
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

/// The first node (in file order) nested deeper than [`MAX_NESTING`]
/// lists and mappings, `depth` counting `node` itself.
fn deepest(node: &Node, depth: usize) -> Option<Span> {
    let children: Box<dyn Iterator<Item = &Node>> = match &node.kind {
        NodeKind::Map(entries) => Box::new(entries.iter().map(|(_, v)| v)),
        NodeKind::Seq(items) => Box::new(items.iter()),
        _ => return None,
    };
    if depth > MAX_NESTING {
        return Some(node.span);
    }
    for child in children {
        if let Some(at) = deepest(child, depth + 1) {
            return Some(at);
        }
    }
    None
}

/// Where the first flow collection (`[` or `{`) nested more than `max`
/// levels opens (0-based line and character column), in one pass over the
/// text. A linear guard before serde_yaml, whose scanner takes time
/// quadratic in the depth of flow nesting (100k nested `[` took a minute):
/// it follows quotes, comments, block scalars and where a node may start,
/// well enough that brackets in plain text are not counted, and never
/// counts more levels than there are ([`deepest`] then checks the exact
/// nesting, block style included).
fn deep_flow(src: &str, max: usize) -> Option<(usize, usize)> {
    let b = src.as_bytes();
    let n = b.len();
    let is_blank = |i: usize| i >= n || matches!(b[i], b' ' | b'\t' | b'\n');
    let mut depth = 0usize;
    let mut node_start = true;
    let mut line = 0usize;
    let mut line_start = 0usize;
    let mut line_indent = 0usize;
    let mut begin = true;
    // The indentation of the line holding a block scalar's `|` or `>`:
    // deeper lines (and blank ones) are its text.
    let mut block_scalar: Option<usize> = None;
    let mut i = 0;
    let to_eol = |mut i: usize| {
        while i < n && b[i] != b'\n' {
            i += 1;
        }
        i
    };
    while i < n {
        if begin {
            begin = false;
            let mut j = i;
            while j < n && b[j] == b' ' {
                j += 1;
            }
            let indent = j - i;
            let blank = {
                let mut k = j;
                while k < n && b[k] == b'\t' {
                    k += 1;
                }
                k >= n || b[k] == b'\n'
            };
            if let Some(bi) = block_scalar {
                if blank || indent > bi {
                    i = to_eol(j);
                    continue;
                }
                block_scalar = None;
            }
            line_indent = indent;
            if depth == 0 {
                node_start = true;
                // `--- ` may be followed by the document's first node.
                if indent == 0 && b[j..].starts_with(b"---") && is_blank(j + 3) {
                    j += 3;
                }
            }
            i = j;
            continue;
        }
        let c = b[i];
        match c {
            b'\n' => {
                line += 1;
                line_start = i + 1;
                begin = true;
                i += 1;
            }
            b' ' | b'\t' => i += 1,
            b'#' if i == line_start || matches!(b[i - 1], b' ' | b'\t') => i = to_eol(i),
            b'"' | b'\'' if node_start => {
                let mut j = i + 1;
                while j < n {
                    if c == b'"' && b[j] == b'\\' {
                        if j + 1 < n && b[j + 1] == b'\n' {
                            line += 1;
                            line_start = j + 2;
                        }
                        j += 2;
                        continue;
                    }
                    if b[j] == c {
                        if c == b'\'' && j + 1 < n && b[j + 1] == b'\'' {
                            j += 2;
                            continue;
                        }
                        j += 1;
                        break;
                    }
                    if b[j] == b'\n' {
                        line += 1;
                        line_start = j + 1;
                    }
                    j += 1;
                }
                i = j;
                node_start = false;
            }
            b'[' | b'{' if depth > 0 || node_start => {
                depth += 1;
                if depth > max {
                    let col = src[line_start..i].chars().count();
                    return Some((line, col));
                }
                node_start = true;
                i += 1;
            }
            b']' | b'}' if depth > 0 => {
                depth -= 1;
                node_start = false;
                i += 1;
            }
            b',' if depth > 0 => {
                node_start = true;
                i += 1;
            }
            b':' if is_blank(i + 1)
                || (depth > 0 && matches!(b[i + 1], b',' | b'[' | b']' | b'{' | b'}')) =>
            {
                node_start = true;
                i += 1;
            }
            b'-' | b'?' if node_start && is_blank(i + 1) => i += 1,
            b'|' | b'>' if depth == 0 && node_start => {
                block_scalar = Some(line_indent);
                i = to_eol(i);
            }
            b'&' | b'!' if node_start => {
                while i < n
                    && !is_blank(i)
                    && !(depth > 0 && matches!(b[i], b',' | b'[' | b']' | b'{' | b'}'))
                {
                    i += 1;
                }
            }
            _ => {
                node_start = false;
                i += 1;
            }
        }
    }
    None
}

/// Turns a serde_yaml error into a located diagnostic.
fn syntax_error(file: &str, err: &serde_yaml::Error) -> Diagnostic {
    let span = err
        .location()
        .map(|l| Span::new(l.line() as u32, l.column() as u32, 1))
        .unwrap_or(Span::new(1, 1, 1));
    let raw = strip_locations(&err.to_string());
    let (problem, context) = match raw.split_once(", while ") {
        Some((p, c)) => (p.to_string(), Some(format!("while {c}"))),
        None => (raw, None),
    };
    let mut help = String::from(
        "quote a term that contains `{`, `[`, `:`, `,` or `#`, e.g. \"{k}K\", and check the indentation",
    );
    if let Some(c) = context {
        help = format!("{help} (the YAML parser stopped {c})");
    }
    Diagnostic::error(file, span, format!("invalid YAML: {problem}")).with_help(help)
}

/// Removes serde_yaml's " at line N column M" and " at position N".
fn strip_locations(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find(" at ") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 4..];
        let skip = location_len(after);
        if skip == 0 {
            out.push_str(" at ");
        }
        rest = &after[skip..];
    }
    out.push_str(rest);
    out.trim().to_string()
}

/// Length of a leading "line N column M" or "position N", else 0.
fn location_len(s: &str) -> usize {
    let digits = |t: &str| t.bytes().take_while(|b| b.is_ascii_digit()).count();
    if let Some(t) = s.strip_prefix("line ") {
        let d = digits(t);
        if d > 0 {
            if let Some(u) = t[d..].strip_prefix(" column ") {
                let e = digits(u);
                if e > 0 {
                    return s.len() - u.len() + e;
                }
            }
        }
    } else if let Some(t) = s.strip_prefix("position ") {
        let d = digits(t);
        if d > 0 {
            return s.len() - t.len() + d;
        }
    }
    0
}

/// Reports every duplicate key in the scanned tree, at its second use.
fn duplicates(file: &str, node: &PNode, out: &mut Vec<Diagnostic>) {
    match &node.kind {
        PKind::Map(entries) => {
            // The first use of each key: one pass, however many keys.
            let mut first_use: std::collections::HashMap<&str, &PKey> =
                std::collections::HashMap::with_capacity(entries.len());
            for (key, value) in entries {
                if let Some(first) = first_use.get(key.text.as_str()).copied() {
                    out.push(
                        Diagnostic::error(
                            file,
                            key.span,
                            format!(
                                "duplicate key `{}`; it is already used at line {}",
                                key.text, first.span.line
                            ),
                        )
                        .with_help("a key may appear once in a mapping: merge the two entries or remove one"),
                    );
                } else {
                    first_use.insert(key.text.as_str(), key);
                }
                duplicates(file, value, out);
            }
        }
        PKind::Seq(items) => items.iter().for_each(|n| duplicates(file, n, out)),
        _ => {}
    }
}

// ----- pairing values with positions -----------------------------------

/// Builds a [`Node`] from a value and the scanned node at the same place
/// (if the scanner found one), else at `fallback`.
fn build(value: &Value, pos: Option<&PNode>, fallback: Span) -> Node {
    let span = pos.map_or(fallback, |p| p.span);
    let kind = match value {
        Value::Tagged(tagged) => return build(&tagged.value, pos, fallback),
        Value::Null => NodeKind::Null,
        Value::Bool(b) => scalar(b.to_string(), ScalarKind::Bool(*b), span, pos),
        Value::Number(n) => {
            let kind = match (n.as_i64(), n.as_u64()) {
                (Some(i), _) => ScalarKind::Int(i as i128),
                (None, Some(u)) => ScalarKind::Int(u as i128),
                _ => ScalarKind::Float,
            };
            scalar(n.to_string(), kind, span, pos)
        }
        Value::String(s) => scalar(s.clone(), ScalarKind::Str, span, pos),
        Value::Sequence(items) => {
            let scanned: &[PNode] = match pos.map(|p| &p.kind) {
                Some(PKind::Seq(items)) => items,
                _ => &[],
            };
            NodeKind::Seq(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, v)| build(v, scanned.get(i), span))
                    .collect(),
            )
        }
        Value::Mapping(map) => {
            let scanned: &[(PKey, PNode)] = match pos.map(|p| &p.kind) {
                Some(PKind::Map(entries)) => entries,
                _ => &[],
            };
            let mut used = vec![false; scanned.len()];
            let mut entries = Vec::with_capacity(map.len());
            // Where each key text was scanned, built on the first entry
            // that is not where expected (so a mapping costs one pass).
            let mut by_text: Option<std::collections::HashMap<&str, Vec<usize>>> = None;
            for (i, (k, v)) in map.iter().enumerate() {
                let text = key_text(k);
                let same_place = scanned.get(i).is_some_and(|(pk, _)| pk.text == text) && !used[i];
                let found = if same_place {
                    Some(i)
                } else {
                    let index = by_text.get_or_insert_with(|| {
                        let mut index: std::collections::HashMap<&str, Vec<usize>> =
                            std::collections::HashMap::new();
                        for (j, (pk, _)) in scanned.iter().enumerate().rev() {
                            index.entry(pk.text.as_str()).or_default().push(j);
                        }
                        index
                    });
                    // Each list holds its indexes last first: pop the
                    // earliest not yet used.
                    index.get_mut(text.as_str()).and_then(|js| {
                        while let Some(j) = js.pop() {
                            if !used[j] {
                                return Some(j);
                            }
                        }
                        None
                    })
                };
                let entry = match found {
                    Some(j) => {
                        used[j] = true;
                        let (pk, pv) = &scanned[j];
                        (
                            Key {
                                text,
                                span: pk.span,
                            },
                            build(v, Some(pv), pk.span),
                        )
                    }
                    None => (Key { text, span }, build(v, None, span)),
                };
                entries.push(entry);
            }
            NodeKind::Map(entries)
        }
    };
    Node { kind, span }
}

/// A scalar node; exact columns when the scanned text equals the value.
fn scalar(text: String, kind: ScalarKind, span: Span, pos: Option<&PNode>) -> NodeKind {
    let content = match pos.map(|p| &p.kind) {
        Some(PKind::Scalar(Some((raw, at)))) if *raw == text => Some(*at),
        _ => None,
    };
    NodeKind::Scalar(Scalar {
        text,
        kind,
        span,
        content,
        map: None,
    })
}

/// The text of a mapping key as the scanner would see it.
fn key_text(key: &Value) -> String {
    match key {
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::Null => "null".to_string(),
        Value::Tagged(t) => key_text(&t.value),
        Value::Sequence(_) | Value::Mapping(_) => "<complex key>".to_string(),
    }
}

// ----- the position scanner --------------------------------------------

/// Deepest nesting the scanner follows; deeper nodes keep their parent's
/// position (serde_yaml refuses such documents anyway).
const MAX_DEPTH: usize = 200;

/// A node as the scanner sees it: where it starts and its shape.
#[derive(Debug)]
struct PNode {
    span: Span,
    kind: PKind,
}

/// The scanned shape of a node.
#[derive(Debug)]
enum PKind {
    Map(Vec<(PKey, PNode)>),
    Seq(Vec<PNode>),
    /// A scalar; with its text and the text's span when it is on one line
    /// without escapes.
    Scalar(Option<(String, Span)>),
    /// Nothing written (`key:` alone, `-` alone).
    Empty,
    /// Something the scanner does not take apart (alias, complex key,
    /// malformed flow collection).
    Other,
}

/// A scanned mapping key.
#[derive(Debug)]
struct PKey {
    text: String,
    span: Span,
}

/// A quoted scalar's extent.
struct Quoted {
    /// Line and column just after the closing quote.
    end: (usize, usize),
    /// The text between the quotes when it is on one line.
    inner: Option<String>,
    /// True when it holds an escape (`\` or `''`).
    escaped: bool,
}

/// The source split in lines of characters: one array of every line's
/// characters (line breaks left out) and where each line starts, so that a
/// file of millions of short lines costs a few bytes a line.
struct Scanner {
    chars: Vec<char>,
    /// `starts[l]..starts[l + 1]` are line `l`'s characters.
    starts: Vec<u32>,
}

fn is_ws(c: char) -> bool {
    c == ' ' || c == '\t'
}

fn span(l: usize, c: usize, len: usize) -> Span {
    Span::new(l as u32 + 1, c as u32 + 1, len as u32)
}

impl Scanner {
    /// The scanner of a normalised source (see [`normalise`]: no
    /// byte-order mark, every line break `\n`).
    fn new(src: &str) -> Self {
        let mut chars = Vec::with_capacity(src.len());
        let mut starts = vec![0u32];
        for c in src.chars() {
            if c == '\n' {
                starts.push(chars.len() as u32);
            } else {
                chars.push(c);
            }
        }
        starts.push(chars.len() as u32);
        Scanner { chars, starts }
    }

    /// How many lines there are.
    fn nlines(&self) -> usize {
        self.starts.len() - 1
    }

    /// Line `l`'s characters, if there is such a line.
    fn line_opt(&self, l: usize) -> Option<&[char]> {
        let start = *self.starts.get(l)? as usize;
        let end = *self.starts.get(l + 1)? as usize;
        Some(&self.chars[start..end])
    }

    /// Line `l`'s characters (none past the last line).
    fn line(&self, l: usize) -> &[char] {
        self.line_opt(l).unwrap_or(&[])
    }

    fn ch(&self, l: usize, c: usize) -> Option<char> {
        self.line_opt(l).and_then(|line| line.get(c)).copied()
    }

    fn len(&self, l: usize) -> usize {
        self.line_opt(l).map_or(0, |line| line.len())
    }

    /// True when `c` is past the end of line `l` or a blank.
    fn ws_or_eol(&self, l: usize, c: usize) -> bool {
        self.ch(l, c).is_none_or(is_ws)
    }

    /// The first column at or after `c` that is not a blank.
    fn skip_ws(&self, l: usize, mut c: usize) -> usize {
        while self.ch(l, c).is_some_and(is_ws) {
            c += 1;
        }
        c
    }

    /// True when nothing but blanks and a comment follows column `c`.
    fn rest_blank(&self, l: usize, c: usize) -> bool {
        let c = self.skip_ws(l, c);
        matches!(self.ch(l, c), None | Some('#'))
    }

    /// Indentation of a line with content; `None` for blank and comment
    /// lines.
    fn indent(&self, l: usize) -> Option<usize> {
        let c = self.skip_ws(l, 0);
        if l >= self.nlines() || self.rest_blank(l, c) {
            None
        } else {
            Some(self.line(l).iter().take_while(|&&ch| ch == ' ').count())
        }
    }

    /// The first line at or after `l` with content.
    fn next_content(&self, l: usize) -> Option<usize> {
        (l..self.nlines()).find(|&i| self.indent(i).is_some())
    }

    /// True when `-` at `(l, c)` starts a list item.
    fn is_dash(&self, l: usize, c: usize) -> bool {
        self.ch(l, c) == Some('-') && self.ws_or_eol(l, c + 1)
    }

    /// The first content line after `l` indented no deeper than `parent`.
    fn skip_block(&self, l: usize, parent: isize) -> usize {
        let mut n = l + 1;
        while let Some(i) = self.next_content(n) {
            if self.indent(i).unwrap_or(0) as isize <= parent {
                return i;
            }
            n = i + 1;
        }
        self.nlines()
    }

    /// The root node.
    fn root(&self) -> PNode {
        let mut l = 0;
        let start = loop {
            match self.next_content(l) {
                None => {
                    return PNode {
                        span: span(0, 0, 1),
                        kind: PKind::Empty,
                    }
                }
                Some(i) if self.ch(i, 0) == Some('%') => l = i + 1,
                Some(i) => break i,
            }
        };
        let mut c = self.indent(start).unwrap_or(0);
        let marker =
            c == 0 && self.line(start).starts_with(&['-', '-', '-']) && self.ws_or_eol(start, 3);
        if !marker {
            return self.block_node(start, c, -1, 0).0;
        }
        c = self.skip_ws(start, 3);
        if !self.rest_blank(start, c) {
            return self.block_node(start, c, -1, 0).0;
        }
        match self.next_content(start + 1) {
            Some(i) => self.block_node(i, self.indent(i).unwrap_or(0), -1, 0).0,
            None => PNode {
                span: span(start, 0, 3),
                kind: PKind::Empty,
            },
        }
    }

    /// The block node whose first character is at `(l, c)`, inside a
    /// collection indented `parent` (-1 at the root); returns it and the
    /// line after it.
    fn block_node(&self, l: usize, c: usize, parent: isize, depth: usize) -> (PNode, usize) {
        let other = |len| PNode {
            span: span(l, c, len),
            kind: PKind::Other,
        };
        if depth > MAX_DEPTH {
            return (other(1), self.skip_block(l, parent));
        }
        match self.ch(l, c) {
            None => (
                PNode {
                    span: span(l, c, 1),
                    kind: PKind::Empty,
                },
                l + 1,
            ),
            Some('-') if self.ws_or_eol(l, c + 1) => self.block_seq(l, c, depth),
            Some('[') | Some('{') => match self.flow_node(l, c, depth) {
                Some((node, end_line, _)) => (node, end_line + 1),
                None => (other(1), self.flow_end_line(l, c) + 1),
            },
            Some('|') | Some('>') => self.block_scalar(l, c, parent),
            Some('&') | Some('!') => {
                let end = self.token_end(l, c);
                let next = self.skip_ws(l, end);
                if !self.rest_blank(l, next) {
                    return self.block_node(l, next, parent, depth + 1);
                }
                match self.next_content(l + 1) {
                    Some(i) if self.indent(i).unwrap_or(0) as isize > parent => {
                        self.block_node(i, self.indent(i).unwrap_or(0), parent, depth + 1)
                    }
                    _ => (
                        PNode {
                            span: span(l, c, end - c),
                            kind: PKind::Empty,
                        },
                        l + 1,
                    ),
                }
            }
            Some('*') => (other(self.token_end(l, c) - c), l + 1),
            Some('?') if self.ws_or_eol(l, c + 1) => (other(1), self.skip_block(l, parent)),
            Some(_) => {
                if self.map_key(l, c).is_some() {
                    self.block_map(l, c, depth)
                } else {
                    self.block_scalar_line(l, c, parent)
                }
            }
        }
    }

    /// The column after a token (anchor, tag, alias) starting at `c`.
    fn token_end(&self, l: usize, mut c: usize) -> usize {
        while self.ch(l, c).is_some_and(|ch| !is_ws(ch)) {
            c += 1;
        }
        c
    }

    /// A block mapping key at `(l, c)`: the key and the column after `:`.
    fn map_key(&self, l: usize, c: usize) -> Option<(PKey, usize)> {
        match self.ch(l, c)? {
            q @ ('"' | '\'') => {
                let quoted = self.quoted(l, c, q);
                if quoted.end.0 != l {
                    return None;
                }
                let colon = self.skip_ws(l, quoted.end.1);
                if self.ch(l, colon) != Some(':') || !self.ws_or_eol(l, colon + 1) {
                    return None;
                }
                let raw: String = self.line(l)[c + 1..quoted.end.1 - 1].iter().collect();
                let text = match (q, quoted.inner) {
                    (_, Some(inner)) if !quoted.escaped => inner,
                    ('\'', _) => raw.replace("''", "'"),
                    _ => raw,
                };
                let key = PKey {
                    text,
                    span: span(l, c, quoted.end.1 - c),
                };
                Some((key, colon + 1))
            }
            _ => {
                let line = self.line(l);
                let mut i = c;
                while i < line.len() {
                    if line[i] == ':' && self.ws_or_eol(l, i + 1) {
                        let text: String = line[c..i].iter().collect();
                        let text = text.trim_end().to_string();
                        let len = text.chars().count();
                        return Some((
                            PKey {
                                text,
                                span: span(l, c, len),
                            },
                            i + 1,
                        ));
                    }
                    if line[i] == '#' && i > c && is_ws(line[i - 1]) {
                        return None;
                    }
                    i += 1;
                }
                None
            }
        }
    }

    /// A block mapping whose first key is at `(l, c)`.
    fn block_map(&self, l: usize, c: usize, depth: usize) -> (PNode, usize) {
        let mut entries = Vec::new();
        let mut line = l;
        let mut next = l + 1;
        while let Some((key, after)) = self.map_key(line, c) {
            let vc = self.skip_ws(line, after);
            let (value, after_value) = if self.rest_blank(line, vc) {
                match self.next_content(line + 1) {
                    Some(n) if self.indent(n).is_some_and(|i| i > c) => {
                        self.block_node(n, self.indent(n).unwrap_or(0), c as isize, depth + 1)
                    }
                    Some(n) if self.indent(n) == Some(c) && self.is_dash(n, c) => {
                        self.block_seq(n, c, depth + 1)
                    }
                    _ => (
                        PNode {
                            span: key.span,
                            kind: PKind::Empty,
                        },
                        line + 1,
                    ),
                }
            } else {
                self.block_node(line, vc, c as isize, depth + 1)
            };
            entries.push((key, value));
            next = after_value;
            match self.next_content(after_value) {
                Some(n) if self.indent(n) == Some(c) && !self.is_dash(n, c) => line = n,
                _ => break,
            }
        }
        let first = entries.first().map_or(span(l, c, 1), |(k, _)| k.span);
        (
            PNode {
                span: first,
                kind: PKind::Map(entries),
            },
            next,
        )
    }

    /// A block list whose first `-` is at `(l, c)`.
    fn block_seq(&self, l: usize, c: usize, depth: usize) -> (PNode, usize) {
        let mut items = Vec::new();
        let mut line = l;
        loop {
            let vc = self.skip_ws(line, c + 1);
            let (item, after_item) = if self.rest_blank(line, vc) {
                match self.next_content(line + 1) {
                    Some(n) if self.indent(n).is_some_and(|i| i > c) => {
                        self.block_node(n, self.indent(n).unwrap_or(0), c as isize, depth + 1)
                    }
                    _ => (
                        PNode {
                            span: span(line, c, 1),
                            kind: PKind::Empty,
                        },
                        line + 1,
                    ),
                }
            } else {
                self.block_node(line, vc, c as isize, depth + 1)
            };
            items.push(item);
            match self.next_content(after_item) {
                Some(n) if self.indent(n) == Some(c) && self.is_dash(n, c) => line = n,
                _ => {
                    return (
                        PNode {
                            span: span(l, c, 1),
                            kind: PKind::Seq(items),
                        },
                        after_item,
                    )
                }
            }
        }
    }

    /// A block scalar (`|` or `>`) whose indicator is at `(l, c)`.
    fn block_scalar(&self, l: usize, c: usize, parent: isize) -> (PNode, usize) {
        let mut n = l + 1;
        let mut content_indent: Option<usize> = None;
        while n < self.nlines() {
            let line = self.line(n);
            let lead = line.iter().take_while(|&&ch| ch == ' ').count();
            if line[lead..].iter().all(|&ch| is_ws(ch)) {
                n += 1;
                continue;
            }
            match content_indent {
                None if lead as isize > parent => content_indent = Some(lead),
                Some(ci) if lead >= ci => {}
                _ => break,
            }
            n += 1;
        }
        (
            PNode {
                span: span(l, c, 1),
                kind: PKind::Scalar(None),
            },
            n,
        )
    }

    /// A plain or quoted scalar starting at `(l, c)` in block context.
    fn block_scalar_line(&self, l: usize, c: usize, parent: isize) -> (PNode, usize) {
        if let Some(q @ ('"' | '\'')) = self.ch(l, c) {
            let quoted = self.quoted(l, c, q);
            let (end_line, end_col) = quoted.end;
            if end_line == l {
                let len = end_col - c;
                let content = match quoted.inner {
                    Some(inner) if !quoted.escaped => {
                        let n = inner.chars().count();
                        Some((inner, span(l, c + 1, n)))
                    }
                    _ => None,
                };
                return (
                    PNode {
                        span: span(l, c, len),
                        kind: PKind::Scalar(content),
                    },
                    l + 1,
                );
            }
            let len = self.len(l).saturating_sub(c).max(1);
            return (
                PNode {
                    span: span(l, c, len),
                    kind: PKind::Scalar(None),
                },
                end_line + 1,
            );
        }
        let line = self.line(l);
        let mut end = c;
        while end < line.len() && !(line[end] == '#' && end > c && is_ws(line[end - 1])) {
            end += 1;
        }
        let text: String = line[c..end].iter().collect();
        let text = text.trim_end().to_string();
        let len = text.chars().count();
        let mut next = l + 1;
        let mut multi = false;
        while let Some(n) = self.next_content(next) {
            if self.indent(n).is_some_and(|i| i as isize > parent) {
                multi = true;
                next = n + 1;
            } else {
                break;
            }
        }
        let at = span(l, c, len.max(1));
        let content = if multi { None } else { Some((text, at)) };
        (
            PNode {
                span: at,
                kind: PKind::Scalar(content),
            },
            next,
        )
    }

    /// A quoted scalar whose opening quote `q` is at `(l, c)`.
    fn quoted(&self, l: usize, c: usize, q: char) -> Quoted {
        let (mut line, mut i) = (l, c + 1);
        let mut escaped = false;
        loop {
            if line >= self.nlines() {
                let last = self.nlines().saturating_sub(1);
                return Quoted {
                    end: (last, self.len(last)),
                    inner: None,
                    escaped,
                };
            }
            let Some(ch) = self.ch(line, i) else {
                line += 1;
                i = 0;
                continue;
            };
            let doubled = ch == q && q == '\'' && self.ch(line, i + 1) == Some('\'');
            if (q == '"' && ch == '\\') || doubled {
                escaped = true;
                i += 2;
            } else if ch == q {
                let inner = (line == l).then(|| self.line(l)[c + 1..i].iter().collect());
                return Quoted {
                    end: (line, i + 1),
                    inner,
                    escaped,
                };
            } else {
                i += 1;
            }
        }
    }

    // ----- flow style --------------------------------------------------

    /// Skips blanks, line ends and comments in flow context.
    fn flow_skip(&self, mut l: usize, mut c: usize) -> (usize, usize) {
        while l < self.nlines() {
            match self.ch(l, c) {
                None => {
                    l += 1;
                    c = 0;
                }
                Some(ch) if is_ws(ch) => c += 1,
                Some('#') if c == 0 || self.ch(l, c - 1).is_some_and(is_ws) => {
                    l += 1;
                    c = 0;
                }
                Some(_) => break,
            }
        }
        (l, c)
    }

    /// A flow node at or after `(l, c)`: the node and the line and column
    /// after it; `None` when the scanner cannot follow it.
    fn flow_node(&self, l: usize, c: usize, depth: usize) -> Option<(PNode, usize, usize)> {
        if depth > MAX_DEPTH {
            return None;
        }
        let (l, c) = self.flow_skip(l, c);
        match self.ch(l, c)? {
            '[' => {
                let mut items = Vec::new();
                let (mut line, mut col) = self.flow_skip(l, c + 1);
                if self.ch(line, col) == Some(']') {
                    return Some((
                        PNode {
                            span: span(l, c, 1),
                            kind: PKind::Seq(items),
                        },
                        line,
                        col + 1,
                    ));
                }
                loop {
                    let (item, l2, c2) = self.flow_seq_item(line, col, depth + 1)?;
                    items.push(item);
                    let (l3, c3) = self.flow_skip(l2, c2);
                    match self.ch(l3, c3)? {
                        ',' => {
                            (line, col) = self.flow_skip(l3, c3 + 1);
                            if self.ch(line, col) == Some(']') {
                                let node = PNode {
                                    span: span(l, c, 1),
                                    kind: PKind::Seq(items),
                                };
                                return Some((node, line, col + 1));
                            }
                        }
                        ']' => {
                            let node = PNode {
                                span: span(l, c, 1),
                                kind: PKind::Seq(items),
                            };
                            return Some((node, l3, c3 + 1));
                        }
                        _ => return None,
                    }
                }
            }
            '{' => {
                let mut entries = Vec::new();
                let (mut line, mut col) = (l, c + 1);
                loop {
                    (line, col) = self.flow_skip(line, col);
                    if self.ch(line, col)? == '}' {
                        let node = PNode {
                            span: span(l, c, 1),
                            kind: PKind::Map(entries),
                        };
                        return Some((node, line, col + 1));
                    }
                    let (key, l2, c2) = self.flow_key(line, col)?;
                    let (l3, c3) = self.flow_skip(l2, c2);
                    let (value, l4, c4) = if self.ch(l3, c3) == Some(':') {
                        let (l5, c5) = self.flow_skip(l3, c3 + 1);
                        if matches!(self.ch(l5, c5)?, ',' | '}') {
                            (
                                PNode {
                                    span: key.span,
                                    kind: PKind::Empty,
                                },
                                l5,
                                c5,
                            )
                        } else {
                            self.flow_node(l5, c5, depth + 1)?
                        }
                    } else {
                        (
                            PNode {
                                span: key.span,
                                kind: PKind::Empty,
                            },
                            l3,
                            c3,
                        )
                    };
                    entries.push((key, value));
                    let (l6, c6) = self.flow_skip(l4, c4);
                    match self.ch(l6, c6)? {
                        ',' => (line, col) = (l6, c6 + 1),
                        '}' => (line, col) = (l6, c6),
                        _ => return None,
                    }
                }
            }
            q @ ('"' | '\'') => {
                let quoted = self.quoted(l, c, q);
                let (end_line, end_col) = quoted.end;
                let node = if end_line == l {
                    let content = match quoted.inner {
                        Some(inner) if !quoted.escaped => {
                            let n = inner.chars().count();
                            Some((inner, span(l, c + 1, n)))
                        }
                        _ => None,
                    };
                    PNode {
                        span: span(l, c, end_col - c),
                        kind: PKind::Scalar(content),
                    }
                } else {
                    let len = self.len(l).saturating_sub(c).max(1);
                    PNode {
                        span: span(l, c, len),
                        kind: PKind::Scalar(None),
                    }
                };
                Some((node, end_line, end_col))
            }
            '&' | '!' => {
                let end = self.token_end(l, c);
                self.flow_node(l, end, depth + 1)
            }
            '*' => {
                let mut end = c;
                while self
                    .ch(l, end)
                    .is_some_and(|ch| !is_ws(ch) && !",[]{}".contains(ch))
                {
                    end += 1;
                }
                Some((
                    PNode {
                        span: span(l, c, end - c),
                        kind: PKind::Other,
                    },
                    l,
                    end,
                ))
            }
            _ => {
                let (text, end) = self.flow_plain(l, c);
                if text.is_empty() {
                    return None;
                }
                let at = span(l, c, text.chars().count());
                let (end_line, end_col) = self.flow_plain_continued(l, end);
                let content = (end_line == l).then_some((text, at));
                let node = PNode {
                    span: at,
                    kind: PKind::Scalar(content),
                };
                Some((node, end_line, end_col))
            }
        }
    }

    /// Where a plain scalar in flow context that ends at `(l, end)` really
    /// ends: it continues on the next lines until a flow indicator.
    fn flow_plain_continued(&self, l: usize, end: usize) -> (usize, usize) {
        let (mut line, mut col) = (l, end);
        loop {
            if !self.rest_blank(line, col) || self.ch(line, self.skip_ws(line, col)) == Some('#') {
                return (line, col);
            }
            let (nl, nc) = self.flow_skip(line, col);
            match self.ch(nl, nc) {
                Some(ch) if nl > line && !",[]{}:#".contains(ch) => {
                    let (text, e) = self.flow_plain(nl, nc);
                    if text.is_empty() {
                        return (line, col);
                    }
                    (line, col) = (nl, e);
                }
                _ => return (line, col),
            }
        }
    }

    /// The line where the flow collection opened at `(l, c)` closes, by
    /// counting brackets outside quotes and comments; the last line if it
    /// never closes.
    fn flow_end_line(&self, l: usize, c: usize) -> usize {
        let mut depth = 0usize;
        let (mut line, mut i) = (l, c);
        while line < self.nlines() {
            let Some(ch) = self.ch(line, i) else {
                line += 1;
                i = 0;
                continue;
            };
            match ch {
                '[' | '{' => depth += 1,
                ']' | '}' => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        return line;
                    }
                }
                '"' | '\'' => {
                    let q = self.quoted(line, i, ch);
                    (line, i) = q.end;
                    continue;
                }
                '#' if i == 0 || self.ch(line, i - 1).is_some_and(is_ws) => {
                    line += 1;
                    i = 0;
                    continue;
                }
                _ => {}
            }
            i += 1;
        }
        self.nlines().saturating_sub(1)
    }

    /// A list item in flow context; `key: value` makes a one-pair mapping.
    fn flow_seq_item(&self, l: usize, c: usize, depth: usize) -> Option<(PNode, usize, usize)> {
        let (node, l2, c2) = self.flow_node(l, c, depth)?;
        let (l3, c3) = self.flow_skip(l2, c2);
        if self.ch(l3, c3) != Some(':') {
            return Some((node, l2, c2));
        }
        let text = match &node.kind {
            PKind::Scalar(Some((text, _))) => text.clone(),
            _ => return None,
        };
        let key = PKey {
            text,
            span: node.span,
        };
        let (l4, c4) = self.flow_skip(l3, c3 + 1);
        let (value, l5, c5) = if matches!(self.ch(l4, c4)?, ',' | ']') {
            (
                PNode {
                    span: key.span,
                    kind: PKind::Empty,
                },
                l4,
                c4,
            )
        } else {
            self.flow_node(l4, c4, depth + 1)?
        };
        let span = key.span;
        Some((
            PNode {
                span,
                kind: PKind::Map(vec![(key, value)]),
            },
            l5,
            c5,
        ))
    }

    /// A key in a flow mapping.
    fn flow_key(&self, l: usize, c: usize) -> Option<(PKey, usize, usize)> {
        match self.ch(l, c)? {
            q @ ('"' | '\'') => {
                let quoted = self.quoted(l, c, q);
                if quoted.end.0 != l {
                    return None;
                }
                let text = quoted.inner.unwrap_or_default();
                let text = if q == '\'' {
                    text.replace("''", "'")
                } else {
                    text
                };
                let key = PKey {
                    text,
                    span: span(l, c, quoted.end.1 - c),
                };
                Some((key, l, quoted.end.1))
            }
            _ => {
                let (text, end) = self.flow_plain(l, c);
                if text.is_empty() {
                    return None;
                }
                let n = text.chars().count();
                Some((
                    PKey {
                        text,
                        span: span(l, c, n),
                    },
                    l,
                    end,
                ))
            }
        }
    }

    /// A plain scalar in flow context: its text and the column after it.
    fn flow_plain(&self, l: usize, c: usize) -> (String, usize) {
        let line = self.line(l.min(self.nlines().saturating_sub(1)));
        let mut i = c;
        while i < line.len() {
            let ch = line[i];
            if ",[]{}".contains(ch) {
                break;
            }
            if ch == ':'
                && line
                    .get(i + 1)
                    .is_none_or(|&n| is_ws(n) || ",[]{}".contains(n))
            {
                break;
            }
            if ch == '#' && i > c && is_ws(line[i - 1]) {
                break;
            }
            i += 1;
        }
        let text: String = line[c.min(i)..i].iter().collect();
        let text = text.trim_end().to_string();
        let end = c + text.chars().count();
        (text, end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_ok(src: &str) -> Node {
        match parse("t.yaml", src) {
            Ok(n) => n,
            Err(d) => panic!("unexpected errors: {d:?}"),
        }
    }

    fn get<'a>(node: &'a Node, key: &str) -> &'a Node {
        match &node.kind {
            NodeKind::Map(entries) => &entries.iter().find(|(k, _)| k.text == key).expect("key").1,
            _ => panic!("not a map"),
        }
    }

    fn key_span(node: &Node, key: &str) -> Span {
        match &node.kind {
            NodeKind::Map(entries) => {
                entries
                    .iter()
                    .find(|(k, _)| k.text == key)
                    .expect("key")
                    .0
                    .span
            }
            _ => panic!("not a map"),
        }
    }

    fn item(node: &Node, i: usize) -> &Node {
        match &node.kind {
            NodeKind::Seq(items) => &items[i],
            _ => panic!("not a list"),
        }
    }

    fn sc(node: &Node) -> &Scalar {
        match &node.kind {
            NodeKind::Scalar(s) => s,
            other => panic!("not a scalar: {other:?}"),
        }
    }

    fn at(node: &Node) -> (u32, u32) {
        (node.span.line, node.span.col)
    }

    #[test]
    fn block_mapping_and_list_positions() {
        let src = "# comment\nname: VSM   # trailing\nnames:\n  public: [PAN]\n  secret:\n    - MK\n    - TCMK\nknowledge:\n- \"{P}MK\"\n- '{TMK1}MK'\n";
        let root = parse_ok(src);
        assert_eq!(key_span(&root, "name"), Span::new(2, 1, 4));
        let name = sc(get(&root, "name"));
        assert_eq!(name.text, "VSM");
        assert_eq!(name.span, Span::new(2, 7, 3));
        let names = get(&root, "names");
        assert_eq!(key_span(names, "public"), Span::new(4, 3, 6));
        let public = get(names, "public");
        assert_eq!(at(public), (4, 11));
        assert_eq!(at(item(public, 0)), (4, 12));
        let secret = get(names, "secret");
        assert_eq!(at(item(secret, 0)), (6, 7));
        assert_eq!(at(item(secret, 1)), (7, 7));
        let knowledge = get(&root, "knowledge");
        let first = sc(item(knowledge, 0));
        assert_eq!(first.span, Span::new(9, 3, 7));
        assert_eq!(first.content, Some(Span::new(9, 4, 5)));
        assert_eq!(first.token_span(3, 2), Span::new(9, 7, 2));
        let second = sc(item(knowledge, 1));
        assert_eq!(second.text, "{TMK1}MK");
        assert_eq!(second.content, Some(Span::new(10, 4, 8)));
    }

    #[test]
    fn nested_lists_of_maps() {
        let src = "functions:\n  - name: F\n    inputs: [k, \"{x}K\"]\n    outputs:\n      - \"{k}TCMK\"\n  - name: G\n    inputs:\n    - - a\n      - b\n";
        let root = parse_ok(src);
        let fns = get(&root, "functions");
        let f = item(fns, 0);
        assert_eq!(at(f), (2, 5));
        assert_eq!(sc(get(f, "name")).span, Span::new(2, 11, 1));
        let inputs = get(f, "inputs");
        assert_eq!(at(item(inputs, 0)), (3, 14));
        assert_eq!(sc(item(inputs, 1)).content, Some(Span::new(3, 18, 4)));
        assert_eq!(at(item(get(f, "outputs"), 0)), (5, 9));
        let g = item(fns, 1);
        assert_eq!(key_span(g, "name"), Span::new(6, 5, 4));
        let nested = item(get(g, "inputs"), 0);
        assert_eq!(at(item(nested, 0)), (8, 9));
        assert_eq!(at(item(nested, 1)), (9, 9));
    }

    #[test]
    fn flow_mappings_and_multiline_flow() {
        let src = "secrets: [{term: \"{PAN}P\", label: PIN}, P]\nlist: [a,\n  b, c]\n";
        let root = parse_ok(src);
        let secrets = get(&root, "secrets");
        let first = item(secrets, 0);
        assert_eq!(key_span(first, "term"), Span::new(1, 12, 4));
        assert_eq!(sc(get(first, "term")).content, Some(Span::new(1, 19, 6)));
        assert_eq!(sc(get(first, "label")).span, Span::new(1, 35, 3));
        assert_eq!(at(item(secrets, 1)), (1, 41));
        let wrapped = parse_ok("a: [P\n  AN, B]\nb: c\n");
        assert_eq!(sc(item(get(&wrapped, "a"), 0)).content, None);
        assert_eq!(at(item(get(&wrapped, "a"), 1)), (2, 7));
        assert_eq!(key_span(&wrapped, "b"), Span::new(3, 1, 1));
        let list = get(&root, "list");
        assert_eq!(at(item(list, 1)), (3, 3));
        assert_eq!(at(item(list, 2)), (3, 6));
    }

    #[test]
    fn empty_values_block_scalars_and_escapes() {
        let src = "a:\nb: |\n  text\n  more\nc: \"x\\ty\"\nd: ~\ne: 'it''s'\nf: 2\n";
        let root = parse_ok(src);
        assert_eq!(get(&root, "a").kind, NodeKind::Null);
        assert_eq!(get(&root, "a").span, Span::new(1, 1, 1));
        let b = sc(get(&root, "b"));
        assert_eq!((b.span.line, b.span.col, b.content), (2, 4, None));
        let c = sc(get(&root, "c"));
        assert_eq!((c.text.as_str(), c.content, c.span.line), ("x\ty", None, 5));
        assert_eq!(at(get(&root, "d")), (6, 4));
        let e = sc(get(&root, "e"));
        assert_eq!((e.text.as_str(), e.content), ("it's", None));
        let f = sc(get(&root, "f"));
        assert_eq!((f.kind, f.span), (ScalarKind::Int(2), Span::new(8, 4, 1)));
    }

    #[test]
    fn multiline_plain_scalar_is_not_exact() {
        let src = "description: one\n  two\nname: x\n";
        let root = parse_ok(src);
        let d = sc(get(&root, "description"));
        assert_eq!((d.text.as_str(), d.content), ("one two", None));
        assert_eq!(d.span.line, 1);
        assert_eq!(key_span(&root, "name"), Span::new(3, 1, 4));
    }

    #[test]
    fn document_marker_and_unicode_columns() {
        let src = "---\nk: \"a ⊕ b\"\nz: é\n";
        let root = parse_ok(src);
        let k = sc(get(&root, "k"));
        assert_eq!(k.content, Some(Span::new(2, 5, 5)));
        assert_eq!(k.token_span(4, 1), Span::new(2, 9, 1));
        assert_eq!(at(get(&root, "z")), (3, 4));
    }

    #[test]
    fn syntax_error_is_located() {
        let err = parse("t.yaml", "a: [x, {k}K]\n").unwrap_err();
        assert_eq!(err.len(), 1);
        assert_eq!(err[0].span.line, 1);
        assert!(!err[0].message.contains("line 1"), "{}", err[0].message);
    }

    #[test]
    fn duplicate_keys_are_each_located() {
        let src = "name: a\nfunctions:\n  - name: F\n    name: G\nname: b\n";
        let err = parse("t.yaml", src).unwrap_err();
        let at: Vec<_> = err.iter().map(|d| (d.span.line, d.span.col)).collect();
        assert_eq!(at, vec![(4, 5), (5, 1)]);
        assert!(err[0].message.contains("line 3"), "{}", err[0].message);
        assert!(err[1].message.contains("line 1"), "{}", err[1].message);
    }

    /// Issue 15: a byte-order mark before a mapping of two keys read as
    /// "more than one document"; it is skipped, and columns do not count it.
    #[test]
    fn byte_order_mark_is_skipped() {
        let root = parse_ok("\u{feff}name: X\nsecrets: [K]\n");
        assert_eq!(key_span(&root, "name"), Span::new(1, 1, 4));
        assert_eq!(sc(get(&root, "name")).span, Span::new(1, 7, 1));
        assert_eq!(at(item(get(&root, "secrets"), 0)), (2, 11));
        let with = parse("t.yaml", "\u{feff}a: [x, {k}K]\nb: c\n").unwrap_err();
        let without = parse("t.yaml", "a: [x, {k}K]\nb: c\n").unwrap_err();
        assert_eq!(with, without);
    }

    /// Issue 15: with CR-only line ends everything was on "line 1"; `\r`,
    /// `\r\n` and `\n` each end a line, for positions and YAML errors.
    #[test]
    fn cr_and_crlf_line_ends_count_lines() {
        for nl in ["\r", "\r\n", "\n"] {
            let src = [
                "names:",
                "  public: [A]",
                "  secret: [K]",
                "knowledge: [Z, \"{A}K\"]",
                "",
            ]
            .join(nl);
            let root = parse_ok(&src);
            let k = get(&root, "knowledge");
            assert_eq!(key_span(&root, "knowledge"), Span::new(4, 1, 9), "{nl:?}");
            assert_eq!(at(item(k, 0)), (4, 13), "{nl:?}");
            assert_eq!(sc(item(k, 1)).content, Some(Span::new(4, 17, 4)), "{nl:?}");
            let bad = ["a: b", "c: d", "e: f", "g: [x, {k}K]", ""].join(nl);
            let err = parse("t.yaml", &bad).unwrap_err();
            assert_eq!(err[0].span.line, 4, "{nl:?}: {err:?}");
        }
    }

    /// Issue 15: deep flow nesting took serde_yaml quadratic time (100k
    /// `[` over a minute); it is refused in one pass, at the first
    /// bracket too deep.
    #[test]
    fn deep_nesting_is_refused_at_once_and_located() {
        let t = std::time::Instant::now();
        for (open, close) in [("[", "]"), ("{a: ", "}")] {
            let src = format!("k: {}x{}\n", open.repeat(100_000), close.repeat(100_000));
            let err = parse("t.yaml", &src).unwrap_err();
            assert_eq!(err.len(), 1);
            assert!(err[0].message.contains("nested too deeply"), "{:?}", err[0]);
            let col = 4 + MAX_NESTING * open.chars().count();
            assert_eq!(
                (err[0].span.line, err[0].span.col as usize),
                (1, col),
                "{open}"
            );
        }
        // Block style, more than serde_yaml's own limit.
        let dashes = format!("k:\n  {}x\n", "- ".repeat(100_000));
        let err = parse("t.yaml", &dashes).unwrap_err();
        assert!(err[0].message.contains("nested too deeply"), "{:?}", err[0]);
        assert!(t.elapsed().as_secs_f64() < 5.0, "{:?}", t.elapsed());
        // At the cap, fine; one deeper, in block and flow style mixed, is
        // refused at the first node too deep.
        let nested = |levels: usize| {
            // The top mapping, block - 2 mappings under it, the mapping
            // of `z`, then flow lists: `levels` in all.
            let block = levels / 2;
            let mut src = String::from("k:\n");
            for i in 0..block - 2 {
                src.push_str(&format!("{}a{i}:\n", " ".repeat(2 * (i + 1))));
            }
            let flow = levels - block;
            src.push_str(&format!(
                "{}z: {}x{}\n",
                " ".repeat(2 * block),
                "[".repeat(flow),
                "]".repeat(flow)
            ));
            src
        };
        assert!(parse("t.yaml", &nested(MAX_NESTING)).is_ok());
        let err = parse("t.yaml", &nested(MAX_NESTING + 1)).unwrap_err();
        assert!(
            err[0].message.contains("more than 64 levels"),
            "{:?}",
            err[0]
        );
        // The innermost list, on the line of `z`.
        assert_eq!(
            err[0].span.line as usize,
            MAX_NESTING.div_ceil(2),
            "{:?}",
            err[0]
        );
    }

    /// Brackets in quotes, comments, block scalars and plain text are not
    /// nesting: only collections are counted.
    #[test]
    fn brackets_in_text_are_not_nesting() {
        let many = "[".repeat(200);
        let src = format!(
            "a: \"{many}\"\nb: '{many}'\n# {many}\nc: |\n  {many}\n  {many}\nd: text {many}\ne: [x, \"{many}\", y]\n"
        );
        let root = parse_ok(&src);
        assert_eq!(sc(get(&root, "d")).text, format!("text {many}"));
        assert_eq!(at(item(get(&root, "e"), 2)), (8, 212));
    }

    /// A mapping of many keys with duplicates is reported in one pass (it
    /// took seconds for 40k keys), each duplicate at its second use.
    #[test]
    fn many_duplicate_keys_are_linear() {
        let n = 50_000;
        let mut src: String = (0..n).map(|i| format!("k{i}: 1\n")).collect();
        src.push_str("k0: 2\nk1: 3\n");
        let t = std::time::Instant::now();
        let err = parse("t.yaml", &src).unwrap_err();
        assert!(t.elapsed().as_secs_f64() < 5.0, "{:?}", t.elapsed());
        let at: Vec<_> = err.iter().map(|d| d.span.line as usize).collect();
        assert_eq!(at, vec![n + 1, n + 2]);
    }

    #[test]
    fn files_over_the_size_cap_are_refused() {
        let big = format!("a: b\n{}", "#\n".repeat(MAX_FILE_BYTES / 2));
        let err = parse("t.yaml", &big).unwrap_err();
        assert_eq!((err[0].span.line, err[0].span.col), (1, 1));
        assert!(
            err[0]
                .message
                .starts_with("absurd size: the file is 16.0 MiB"),
            "{}",
            err[0].message
        );
        assert!(err[0].help.as_deref().unwrap_or("").contains("16 MiB"));
    }

    #[test]
    fn odd_inputs_do_not_panic() {
        for src in [
            "",
            "\n\n# only a comment\n",
            "x",
            "[",
            "{a: [b, {c: d}], e: *f}",
            "a: &x [1]\nb: *x\n",
            "? complex\n: value\n",
            "- - - a\n  - b\n",
            "a: !tag b\n",
            "a: \"unterminated\n",
            "\u{feff}a: b\n",
            "a:\n  - \"x\n    y\"\n  - z\n",
            "a: >-\n  folded\n\n  text\nb: c\n",
            "%YAML 1.2\n---\na: b\n",
            "a: [b, c\n    d]\n",
        ] {
            let _ = parse("t.yaml", src);
        }
        let deep = "[".repeat(5000);
        assert!(parse("t.yaml", &deep).is_err());
        let deep_block: String = (0..300)
            .map(|i| format!("{}- \n", " ".repeat(i * 2)))
            .collect();
        let _ = parse("t.yaml", &deep_block);
    }
}

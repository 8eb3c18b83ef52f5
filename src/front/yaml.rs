//! YAML with source positions; the only module that names `serde_yaml`
//! and `saphyr_parser`.
//!
//! serde_yaml decides what a file means (its value tree, its errors; the
//! YAML semantics are libyaml's), but it gives no node positions.
//! saphyr-parser's event stream, whose events carry spans, gives where
//! each mapping, key, list item and scalar starts, and [`parse`] pairs
//! serde_yaml's value tree with those positions. Where the two disagree
//! (or saphyr stops at an error serde_yaml does not see), a node gets the
//! position of its enclosing node, never a made-up one.

use crate::front::diagnostic::{Diagnostic, SourceMap, Span};
use saphyr_parser::{Event, Marker, Parser, ScalarStyle, Span as SaphyrSpan};
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
        return Err(vec![too_deep(
            file,
            Span::new(line as u32 + 1, col as u32 + 1, 1),
        )]);
    }
    match serde_yaml::from_str::<Value>(src) {
        Ok(value) => {
            let positions = positions(src);
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
                duplicates(file, &positions(src), &mut diags);
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
/// and saphyr-parser read, so that they count the same lines.
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
/// (if saphyr-parser gave one), else at `fallback`.
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

/// The text of a mapping key, to find it among the positioned keys.
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

// ----- positions from saphyr-parser --------------------------------------

/// Deepest nesting whose nodes get their own positions; a deeper
/// collection is one node at its start (serde_yaml refuses such documents
/// anyway, and the tree stays shallow enough to walk recursively).
const MAX_DEPTH: usize = 200;

/// A node as the position parser sees it: where it starts and its shape.
#[derive(Debug)]
struct PNode {
    span: Span,
    kind: PKind,
}

/// The shape of a positioned node.
#[derive(Debug)]
enum PKind {
    Map(Vec<(PKey, PNode)>),
    Seq(Vec<PNode>),
    /// A scalar; with its text and the text's span when it is on one line
    /// and every character is one source column (no escapes).
    Scalar(Option<(String, Span)>),
    /// Nothing written (`key:` alone, `-` alone).
    Empty,
    /// Something not taken apart (an alias, a collection nested deeper
    /// than [`MAX_DEPTH`]).
    Other,
}

/// A positioned mapping key.
#[derive(Debug)]
struct PKey {
    text: String,
    span: Span,
}

/// A place in the source: character index, line (from 1) and character
/// column (from 0), as saphyr's [`Marker`] counts them.
#[derive(Clone, Copy, Debug)]
struct Pos {
    index: usize,
    line: usize,
    col: usize,
}

impl From<Marker> for Pos {
    fn from(m: Marker) -> Self {
        Pos {
            index: m.index(),
            line: m.line(),
            col: m.col(),
        }
    }
}

/// The span of `len` characters (at least 1) from `p`.
fn span_at(p: Pos, len: usize) -> Span {
    Span::new(p.line as u32, p.col as u32 + 1, len.max(1) as u32)
}

/// True for the blanks that separate YAML tokens on a line.
fn is_blank(c: char) -> bool {
    c == ' ' || c == '\t'
}

/// A collection being read: its items so far.
enum Frame {
    Seq {
        span: Span,
        items: Vec<PNode>,
    },
    Map {
        /// The `{` of a flow mapping; `None` for a block mapping (or a
        /// one-pair mapping in a flow list), which starts at its first key.
        brace: Option<Span>,
        /// Where the mapping starts if it has no key.
        start: Span,
        entries: Vec<(PKey, PNode)>,
        /// A key read, its value not yet.
        key: Option<PKey>,
    },
}

/// A node read from the events, before it is put in its collection: an
/// empty value's span depends on where it is (the key of a mapping value,
/// the `-` of a list item).
enum Read {
    /// A node, with its text if it is a scalar (a mapping key's text).
    Node(PNode, Option<String>),
    /// Nothing written.
    Empty {
        /// Where the parser put the empty value.
        at: Pos,
        /// Its first anchor or tag, if it has one.
        props: Option<Span>,
    },
}

/// Reads node positions from saphyr-parser's events: the first
/// document's tree, or as much of it as the parser read before an error
/// (serde_yaml, not this parser, decides whether the text is valid).
struct Positions {
    /// The source's characters: saphyr's markers count characters.
    chars: Vec<char>,
    /// What saphyr read in place of each byte-order mark, if any.
    stand_in: Option<char>,
    stack: Vec<Frame>,
    root: Option<PNode>,
    /// The `---` that opened the document, if one did.
    doc_start: Option<Pos>,
    /// Where the previous event ended.
    prev_end: Pos,
    /// How many collections deeper than [`MAX_DEPTH`] are open, and where
    /// the outermost of them starts.
    skipping: (usize, Span),
}

/// Node positions in a normalised source (see [`normalise`]).
fn positions(src: &str) -> PNode {
    // libyaml reads a byte-order mark inside the text as a character;
    // saphyr stops there. It gets a stand-in for each (one character for
    // one, so positions do not move), one the text does not use, and
    // scalar values get the mark back.
    let stand_in = src
        .contains('\u{feff}')
        .then(|| unused_private_char(src))
        .flatten();
    let text = match stand_in {
        Some(c) => std::borrow::Cow::Owned(src.replace('\u{feff}', c.encode_utf8(&mut [0; 4]))),
        None => std::borrow::Cow::Borrowed(src),
    };
    let mut p = Positions {
        chars: src.chars().collect(),
        stand_in,
        stack: Vec::new(),
        root: None,
        doc_start: None,
        prev_end: Pos {
            index: 0,
            line: 1,
            col: 0,
        },
        skipping: (0, Span::new(1, 1, 1)),
    };
    for item in Parser::new_from_str(&text) {
        let Ok((event, span)) = item else { break };
        if p.event(event, span) {
            break;
        }
        p.prev_end = span.end.into();
    }
    p.finish()
}

/// A character of the Unicode private use area (U+E000 to U+F8FF) that
/// `src` does not contain, found in one pass.
fn unused_private_char(src: &str) -> Option<char> {
    const FIRST: u32 = 0xE000;
    let mut used = vec![false; 0x1900];
    for c in src.chars() {
        if let Some(slot) = (c as u32)
            .checked_sub(FIRST)
            .and_then(|i| used.get_mut(i as usize))
        {
            *slot = true;
        }
    }
    let free = used.iter().position(|&u| !u)?;
    char::from_u32(FIRST + free as u32)
}

impl Positions {
    fn ch(&self, i: usize) -> Option<char> {
        self.chars.get(i).copied()
    }

    /// The place one character after `p`.
    fn step(&self, p: Pos) -> Pos {
        if self.ch(p.index) == Some('\n') {
            Pos {
                index: p.index + 1,
                line: p.line + 1,
                col: 0,
            }
        } else {
            Pos {
                index: p.index + 1,
                col: p.col + 1,
                ..p
            }
        }
    }

    /// The place at column `col` of `p`'s line.
    fn on_line(p: Pos, col: usize) -> Pos {
        Pos {
            index: p.index + col - p.col,
            col,
            ..p
        }
    }

    /// True when a `#` at `p` starts a comment.
    fn comment_at(&self, p: Pos) -> bool {
        self.ch(p.index) == Some('#') && (p.col == 0 || self.ch(p.index - 1).is_some_and(is_blank))
    }

    /// `p` moved past blanks, line breaks and comments, not beyond `limit`.
    fn skip_space(&self, mut p: Pos, limit: usize) -> Pos {
        while p.index < limit {
            match self.ch(p.index) {
                Some(c) if is_blank(c) || c == '\n' => p = self.step(p),
                Some('#') if self.comment_at(p) => {
                    while p.index < limit && self.ch(p.index).is_some_and(|c| c != '\n') {
                        p = self.step(p);
                    }
                }
                _ => break,
            }
        }
        p
    }

    /// Where a node's content starts, past its anchor and tag (which
    /// saphyr's spans include), not beyond `limit`.
    fn skip_props(&self, mut p: Pos, limit: usize) -> Pos {
        while p.index < limit && matches!(self.ch(p.index), Some('&' | '!')) {
            while p.index < limit && self.ch(p.index).is_some_and(|c| !is_blank(c) && c != '\n') {
                p = self.step(p);
            }
            p = self.skip_space(p, limit);
        }
        p
    }

    /// The span of the first property token (anchor or tag) at `p`.
    fn props_span(&self, p: Pos, limit: usize) -> Span {
        let mut end = p.index;
        while end < limit && self.ch(end).is_some_and(|c| !is_blank(c) && c != '\n') {
            end += 1;
        }
        span_at(p, end.saturating_sub(p.index))
    }

    /// The `-` of the list item whose content (or line end) is at `p`: the
    /// last `-` before `p` on its line, outside the comment that may follow
    /// it.
    fn dash_before(&self, p: Pos) -> Pos {
        let start = p.index - p.col;
        let mut dash = None;
        for i in start..p.index {
            match self.ch(i) {
                Some('#') if i == start || self.ch(i - 1).is_some_and(is_blank) => break,
                Some('-') if self.ch(i + 1).is_none_or(|c| is_blank(c) || c == '\n') => {
                    dash = Some(i)
                }
                _ => {}
            }
        }
        dash.map_or(p, |i| Self::on_line(p, i - start))
    }

    /// The `|` or `>` of a block scalar whose text starts at `text`: the
    /// first one after the previous event, outside comments (saphyr's
    /// span of a block scalar starts at its text).
    fn block_indicator(&self, text: Pos) -> Pos {
        let mut p = self.prev_end;
        while p.index <= text.index {
            match self.ch(p.index) {
                Some('|' | '>') => return p,
                Some('#') if self.comment_at(p) => {
                    p = self.step(p);
                    while p.index < text.index && self.ch(p.index).is_some_and(|c| c != '\n') {
                        p = self.step(p);
                    }
                }
                Some(_) => p = self.step(p),
                None => break,
            }
        }
        text
    }

    /// The index of the quote that closes the one at `open`, before
    /// `limit` (saphyr's span of a quoted scalar runs on over the blanks
    /// and comment after it); `limit - 1` if none does.
    fn closing_quote(&self, open: Pos, limit: usize) -> usize {
        let quote = self.ch(open.index);
        let mut i = open.index + 1;
        while i < limit {
            match self.ch(i) {
                Some('\\') if quote == Some('"') => i += 2,
                Some('\'') if quote == Some('\'') && self.ch(i + 1) == Some('\'') => i += 2,
                c if c == quote => return i,
                _ => i += 1,
            }
        }
        limit.saturating_sub(1).max(open.index)
    }

    /// The characters from `p` to the end of its line.
    fn rest_of_line(&self, p: Pos) -> String {
        self.chars[p.index.min(self.chars.len())..]
            .iter()
            .take_while(|&&c| c != '\n')
            .collect()
    }

    /// A scalar with its value, style and saphyr's span (which starts at
    /// its anchor or tag, if any).
    fn scalar(&self, value: &str, style: ScalarStyle, span: SaphyrSpan, props: bool) -> PNode {
        let (start, end) = (Pos::from(span.start), Pos::from(span.end));
        let at = if props {
            self.skip_props(start, end.index)
        } else {
            start
        };
        let one_line = at.line == end.line;
        let kind_span = match style {
            ScalarStyle::Literal | ScalarStyle::Folded => {
                let indicator = if props { at } else { self.block_indicator(at) };
                (PKind::Scalar(None), span_at(indicator, 1))
            }
            ScalarStyle::Plain if one_line => {
                let at = span_at(at, end.index.saturating_sub(at.index));
                (PKind::Scalar(Some((value.to_string(), at))), at)
            }
            ScalarStyle::Plain => {
                let first = self.rest_of_line(at);
                let len = first.trim_end().chars().count();
                (PKind::Scalar(None), span_at(at, len))
            }
            ScalarStyle::SingleQuoted | ScalarStyle::DoubleQuoted if one_line => {
                let close = self.closing_quote(at, end.index);
                let whole = span_at(at, close + 1 - at.index);
                let inner = (at.index + 1..close)
                    .filter_map(|i| self.ch(i))
                    .collect::<String>();
                let content = (inner == value).then(|| {
                    // Exact, even when empty (`""` has no characters).
                    let n = inner.chars().count() as u32;
                    (inner, Span::new(at.line as u32, at.col as u32 + 2, n))
                });
                (PKind::Scalar(content), whole)
            }
            ScalarStyle::SingleQuoted | ScalarStyle::DoubleQuoted => {
                let len = self.rest_of_line(at).chars().count();
                (PKind::Scalar(None), span_at(at, len))
            }
        };
        PNode {
            span: kind_span.1,
            kind: kind_span.0,
        }
    }

    /// Handles one event; true once the first document's root is read.
    fn event(&mut self, event: Event<'_>, span: SaphyrSpan) -> bool {
        let (start, end) = (Pos::from(span.start), Pos::from(span.end));
        if self.skipping.0 > 0 {
            match event {
                Event::SequenceStart(..) | Event::MappingStart(..) => self.skipping.0 += 1,
                Event::SequenceEnd | Event::MappingEnd => {
                    self.skipping.0 -= 1;
                    if self.skipping.0 == 0 {
                        let node = PNode {
                            span: self.skipping.1,
                            kind: PKind::Other,
                        };
                        return self.put(Read::Node(node, None));
                    }
                }
                _ => {}
            }
            return false;
        }
        match event {
            Event::DocumentStart(true) => {
                self.doc_start = Some(start);
                false
            }
            Event::Scalar(value, style, anchor, tag) => {
                let props = anchor > 0 || tag.is_some();
                if style == ScalarStyle::Plain && value.is_empty() {
                    let props = props.then(|| self.props_span(start, end.index));
                    self.put(Read::Empty { at: start, props })
                } else {
                    let value = match self.stand_in {
                        Some(c) => value.replace(c, "\u{feff}"),
                        None => value.into_owned(),
                    };
                    let node = self.scalar(&value, style, span, props);
                    self.put(Read::Node(node, Some(value)))
                }
            }
            Event::Alias(_) => {
                let mut len = 1;
                while self.ch(start.index + len).is_some_and(|c| {
                    !is_blank(c) && c != '\n' && !matches!(c, ',' | '[' | ']' | '{' | '}')
                }) {
                    len += 1;
                }
                let node = PNode {
                    span: span_at(start, len),
                    kind: PKind::Other,
                };
                self.put(Read::Node(node, None))
            }
            Event::SequenceStart(anchor, ref tag) | Event::MappingStart(anchor, ref tag) => {
                // A flow collection's event starts at its bracket (after
                // its anchor and tag, if any); a block one's is empty (but
                // for an anchor or tag) and ends at its first `-` or key,
                // or for a list not indented under its key, after the `- `.
                let at = if anchor > 0 || tag.is_some() {
                    self.skip_props(start, end.index)
                } else {
                    start
                };
                let bracket = (end.index > at.index
                    && matches!(self.ch(at.index), Some('[' | '{')))
                .then(|| span_at(at, 1));
                if self.stack.len() >= MAX_DEPTH {
                    let at = bracket.unwrap_or(span_at(end, 1));
                    self.skipping = (1, at);
                    return false;
                }
                let frame = if let Event::SequenceStart(..) = event {
                    let span = bracket.unwrap_or_else(|| span_at(self.block_dash(end), 1));
                    Frame::Seq {
                        span,
                        items: Vec::new(),
                    }
                } else {
                    Frame::Map {
                        brace: bracket,
                        start: span_at(end, 1),
                        entries: Vec::new(),
                        key: None,
                    }
                };
                self.stack.push(frame);
                false
            }
            Event::SequenceEnd | Event::MappingEnd => match self.stack.pop() {
                Some(frame) => {
                    let node = Self::close(frame);
                    self.put(Read::Node(node, None))
                }
                None => false,
            },
            _ => false,
        }
    }

    /// The first `-` of a block list whose sequence-start event ends at
    /// `end`: there for an indented list, before it for a list not
    /// indented under its mapping key (the event then follows the `- `).
    fn block_dash(&self, end: Pos) -> Pos {
        if let Some(Frame::Map { key: Some(key), .. }) = self.stack.last() {
            let key_col = key.span.col as usize - 1;
            if end.col >= key_col && self.ch(Self::on_line(end, key_col).index) == Some('-') {
                return self.dash_before(end);
            }
        }
        if self.ch(end.index) == Some('-') {
            end
        } else {
            self.dash_before(end)
        }
    }

    /// The node of a finished collection.
    fn close(frame: Frame) -> PNode {
        match frame {
            Frame::Seq { span, items } => PNode {
                span,
                kind: PKind::Seq(items),
            },
            Frame::Map {
                brace,
                start,
                mut entries,
                key,
            } => {
                if let Some(key) = key {
                    let value = PNode {
                        span: key.span,
                        kind: PKind::Empty,
                    };
                    entries.push((key, value));
                }
                let span = brace.unwrap_or_else(|| entries.first().map_or(start, |(k, _)| k.span));
                PNode {
                    span,
                    kind: PKind::Map(entries),
                }
            }
        }
    }

    /// Puts a node read in its collection; true when it is the root.
    fn put(&mut self, read: Read) -> bool {
        let (node, text) = match read {
            Read::Node(node, text) => (node, text),
            Read::Empty { at, props } => {
                let span = props.unwrap_or_else(|| match self.stack.last() {
                    None => self.doc_start.map_or(Span::new(1, 1, 1), |d| span_at(d, 3)),
                    Some(Frame::Seq { .. }) => span_at(self.dash_before(at), 1),
                    Some(Frame::Map { key: Some(k), .. }) => k.span,
                    Some(Frame::Map { key: None, .. }) => span_at(at, 1),
                });
                let kind = PKind::Empty;
                (PNode { span, kind }, Some(String::new()))
            }
        };
        match self.stack.last_mut() {
            None => {
                self.root = Some(node);
                return true;
            }
            Some(Frame::Seq { items, .. }) => items.push(node),
            Some(Frame::Map { entries, key, .. }) => match key.take() {
                Some(k) => entries.push((k, node)),
                None => {
                    let text = text.unwrap_or_else(|| match node.kind {
                        PKind::Map(_) | PKind::Seq(_) => "<complex key>".to_string(),
                        _ => String::new(),
                    });
                    *key = Some(PKey {
                        text,
                        span: node.span,
                    });
                }
            },
        }
        false
    }

    /// The root, once the events are read or the parser stopped at an
    /// error (open collections are closed where it stopped).
    fn finish(mut self) -> PNode {
        while let Some(frame) = self.stack.pop() {
            let node = Self::close(frame);
            if self.put(Read::Node(node, None)) {
                break;
            }
        }
        self.root.unwrap_or(PNode {
            span: Span::new(1, 1, 1),
            kind: PKind::Empty,
        })
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

    /// saphyr's spans of `{`, `[` and quoted scalars run on over the
    /// blanks (and a comment) after them; a node's span is its bracket or
    /// its quotes.
    #[test]
    fn spans_stop_at_the_bracket_and_the_closing_quote() {
        let src = "f:\n  - { name: F, inputs: [ \"{k}KM\" , x ] }   # c\nk: 'a'   # 'b'\n";
        let root = parse_ok(src);
        let f = item(get(&root, "f"), 0);
        assert_eq!(f.span, Span::new(2, 5, 1));
        assert_eq!(key_span(f, "name"), Span::new(2, 7, 4));
        let inputs = get(f, "inputs");
        assert_eq!(inputs.span, Span::new(2, 24, 1));
        let first = sc(item(inputs, 0));
        assert_eq!(
            (first.span, first.content),
            (Span::new(2, 26, 7), Some(Span::new(2, 27, 5)))
        );
        assert_eq!(at(item(inputs, 1)), (2, 36));
        assert_eq!(sc(get(&root, "k")).span, Span::new(3, 4, 3));
        let empty = parse_ok("k: [\"\"]\n");
        let empty = sc(item(get(&empty, "k"), 0));
        assert_eq!(empty.content, Some(Span::new(1, 6, 0)));
    }

    /// A list not indented under its key starts at its `-`, and so does an
    /// empty item (a comment after it or not); a block scalar is at its
    /// `|` or `>`, past a comment.
    #[test]
    fn dashes_and_block_scalar_indicators() {
        let src = "k:\n- a\n-   # c - d\n- - x\n  -\nm: # c |\n  >-\n  t\nl:\n  - |\n    u\n";
        let root = parse_ok(src);
        let k = get(&root, "k");
        assert_eq!(k.span, Span::new(2, 1, 1));
        assert_eq!(at(item(k, 1)), (3, 1));
        let nested = item(k, 2);
        assert_eq!(at(nested), (4, 3));
        assert_eq!(at(item(nested, 1)), (5, 3));
        assert_eq!(get(&root, "m").span, Span::new(7, 3, 1));
        assert_eq!(item(get(&root, "l"), 0).span, Span::new(10, 5, 1));
    }

    /// Anchors and tags are skipped: a node is where its content starts.
    #[test]
    fn anchors_and_tags_are_skipped() {
        let root = parse_ok("a: &x !!str v\nb: &y\n  - w\nc: *x\n&k d: [&z e]\n");
        assert_eq!(at(get(&root, "a")), (1, 13));
        assert_eq!(at(get(&root, "b")), (3, 3));
        assert_eq!(key_span(&root, "d"), Span::new(5, 4, 1));
        assert_eq!(at(item(get(&root, "d"), 0)), (5, 11));
    }

    /// A byte-order mark inside the text (files pasted together) is a
    /// character to libyaml; positions after it are still found.
    #[test]
    fn byte_order_mark_inside_the_text_keeps_positions() {
        let root = parse_ok("# a\u{feff}\na: x\u{feff}y\nb: [c]\n");
        assert_eq!(sc(get(&root, "a")).content, Some(Span::new(2, 4, 3)));
        assert_eq!(at(item(get(&root, "b"), 0)), (3, 5));
        let err = parse("t.yaml", "a\u{feff}b: 1\na\u{feff}b: 2\n").unwrap_err();
        assert_eq!((err[0].span.line, err[0].span.col), (2, 1));
        assert!(
            err[0].message.starts_with("duplicate key"),
            "{}",
            err[0].message
        );
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

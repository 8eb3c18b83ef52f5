//! The source layout's rule (ARCHITECTURE.md, "Layout"): the stage
//! folders of `src/` import one way, front -> analysis -> {report, batch}
//! -> commands. A module names (`crate::...`) modules of its own folder,
//! of folders of lower rank, and the root's leaves (`style`, `memory`,
//! `progress`), which name nothing in the crate. Inside `src/`, a module
//! is named by its folder (`crate::front::yaml`, not the root re-export
//! `crate::yaml`, which is for library users), so the rule can be read
//! off the paths. Comments are not imports and are skipped.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The stage folders, each with its rank: a module may name its own
/// folder and folders of lower rank. `report` and `batch` share a rank,
/// so neither names the other.
const LAYERS: &[(&str, u32)] = &[
    ("front", 0),
    ("analysis", 1),
    ("report", 2),
    ("batch", 2),
    ("commands", TOP_RANK),
];

/// Root modules every folder may name; they name nothing in the crate.
const LEAVES: &[&str] = &["memory", "progress", "style"];

/// Root modules at the top, beside `commands` (which uses them).
const TOP: &[(&str, u32)] = &[("cli", TOP_RANK)];

/// What a file may be, by its place under `src/`.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Place {
    /// In a stage folder, or a top module, of this rank.
    Rank(u32),
    /// A root leaf.
    Leaf,
    /// `lib.rs` or `main.rs`: the crate root and the binary name anything.
    Root,
}

/// The rank of a module a path names (`crate::NAME`), if it is a folder
/// or a top module.
fn rank_of(name: &str) -> Option<u32> {
    LAYERS
        .iter()
        .chain(TOP)
        .find(|(n, _)| *n == name)
        .map(|(_, r)| *r)
}

/// Where `file` (relative to `src/`) sits, or `None` for a file the rule
/// does not know (a new root module or folder: give it a place here).
fn place(file: &Path) -> Option<Place> {
    let mut parts = file.components();
    let first = parts.next()?.as_os_str().to_str()?;
    if parts.next().is_some() {
        return rank_of(first).map(Place::Rank);
    }
    let stem = first.strip_suffix(".rs")?;
    match stem {
        "lib" | "main" => Some(Place::Root),
        _ if LEAVES.contains(&stem) => Some(Place::Leaf),
        _ => TOP
            .iter()
            .find(|(n, _)| *n == stem)
            .map(|(_, r)| Place::Rank(*r)),
    }
}

/// The text with line comments blanked (doc comments included), so that
/// a path in prose is not taken for an import; line numbers are kept.
fn code(text: &str) -> String {
    text.lines()
        .map(|line| match line.find("//") {
            Some(i) => &line[..i],
            None => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Each `crate::NAME` in the code, with its 1-based line: the first
/// segment after `crate::`, and each item's first segment in a group
/// (`crate::{a, b::c}`).
fn crate_paths(text: &str) -> Vec<(usize, String)> {
    let code = code(text);
    let bytes = code.as_bytes();
    let ident = |from: usize| -> String {
        code[from..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    let line_at = |i: usize| code[..i].matches('\n').count() + 1;
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(found) = code[from..].find("crate::") {
        let at = from + found;
        let start = at + "crate::".len();
        from = start;
        // `$crate::`, or an identifier ending in `crate` (`apisat_crate::`).
        if at > 0 && (bytes[at - 1].is_ascii_alphanumeric() || matches!(bytes[at - 1], b'_' | b'$'))
        {
            continue;
        }
        if bytes.get(start) == Some(&b'{') {
            let mut depth = 0;
            let mut item_start = true;
            for (i, c) in code[start..].char_indices() {
                match c {
                    '{' => {
                        depth += 1;
                        item_start = depth == 1;
                    }
                    '}' => {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    ',' if depth == 1 => item_start = true,
                    c if item_start && (c.is_ascii_alphabetic() || c == '_') => {
                        out.push((line_at(start + i), ident(start + i)));
                        item_start = false;
                    }
                    _ => {}
                }
            }
        } else {
            out.push((line_at(at), ident(start)));
        }
    }
    out
}

/// The rank of `commands` and `cli`: they may name each other.
const TOP_RANK: u32 = 3;

/// Why a file at `place` may not name `crate::name` (not its own folder),
/// if it may not. `homes` gives each folder's modules their folder.
fn violation(place: Place, name: &str, homes: &HashMap<String, String>) -> Option<String> {
    let rank = match place {
        Place::Root => return None,
        Place::Leaf => return Some("a root leaf names nothing in the crate".to_string()),
        Place::Rank(rank) => rank,
    };
    if LEAVES.contains(&name) {
        return None;
    }
    match rank_of(name) {
        Some(r) if r < rank || (r == rank && rank == TOP_RANK) => None,
        Some(r) if r == rank => Some(format!(
            "`{name}` is a sibling stage (report and batch do not name each other)"
        )),
        Some(_) => Some(format!("`{name}` is a later stage")),
        None => Some(match homes.get(name) {
            Some(folder) => {
                format!("a root re-export (for library users): write `crate::{folder}::{name}`")
            }
            None => format!("names no stage folder: give `{name}` a place in tests/it/layers.rs"),
        }),
    }
}

/// The violations in one file's text (`file` relative to `src/`), each
/// `src/FILE:LINE: ...`.
fn check_text(file: &Path, text: &str, homes: &HashMap<String, String>) -> Vec<String> {
    let Some(place) = place(file) else {
        return vec![format!(
            "src/{}: not in a stage folder, nor a root leaf or top module known to tests/it/layers.rs",
            file.display()
        )];
    };
    let own = match place {
        Place::Rank(_) => file
            .components()
            .next()
            .and_then(|c| c.as_os_str().to_str())
            .filter(|first| rank_of(first).is_some() && file.components().count() > 1),
        _ => None,
    };
    crate_paths(text)
        .into_iter()
        .filter(|(_, name)| Some(name.as_str()) != own)
        .filter_map(|(line, name)| {
            violation(place, &name, homes)
                .map(|why| format!("src/{}:{line}: `crate::{name}`: {why}", file.display()))
        })
        .collect()
}

/// Each module of a stage folder below `commands` (`yaml`, `spi`) and its
/// folder (`front`): what the root re-exports.
fn homes(files: &[PathBuf]) -> HashMap<String, String> {
    let mut homes = HashMap::new();
    for f in files {
        let parts: Vec<&str> = f.iter().filter_map(|p| p.to_str()).collect();
        if parts.len() >= 2 && rank_of(parts[0]).is_some_and(|r| r < TOP_RANK) {
            let module = parts[1].strip_suffix(".rs").unwrap_or(parts[1]);
            if module != "mod" {
                homes.insert(module.to_string(), parts[0].to_string());
            }
        }
    }
    homes
}

/// The `.rs` files under `dir`, sorted.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

#[test]
fn stage_folders_import_one_way() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    assert!(files.len() > 50, "src/ read: {} files", files.len());
    let rel: Vec<PathBuf> = files
        .iter()
        .map(|f| f.strip_prefix(&src).unwrap().to_path_buf())
        .collect();
    let homes = homes(&rel);
    let mut report = String::new();
    for (path, rel) in files.iter().zip(&rel) {
        let text = std::fs::read_to_string(path).unwrap();
        for v in check_text(rel, &text, &homes) {
            let _ = writeln!(report, "{v}");
        }
    }
    assert!(
        report.is_empty(),
        "imports against the layout (ARCHITECTURE.md, \"Layout\"):\n{report}"
    );
}

/// The checker finds what it is for: a wrong-way import, a sibling, a
/// root re-export, a leaf that imports, a grouped import, an unknown
/// file; and passes the allowed ones and prose.
#[test]
fn the_layer_check_catches_wrong_way_imports() {
    let homes = homes(&[
        PathBuf::from("front/yaml.rs"),
        PathBuf::from("analysis/engine.rs"),
    ]);
    let check = |file: &str, text: &str| check_text(Path::new(file), text, &homes);
    let allowed = "use crate::front::term::TermId;\nuse crate::analysis::plan;\n\
                   use crate::memory;\n/// see [`crate::commands`]\n";
    assert!(check("analysis/engine.rs", allowed).is_empty());
    let v = check(
        "front/lower.rs",
        "use crate::front::yaml;\n\nuse crate::analysis::verdict::Report;\n",
    );
    assert_eq!(v.len(), 1, "{v:?}");
    assert!(
        v[0].starts_with("src/front/lower.rs:3: `crate::analysis`"),
        "{v:?}"
    );
    let v = check("analysis/plan.rs", "use crate::yaml::Node;");
    assert!(v[0].ends_with("write `crate::front::yaml`"), "{v:?}");
    for (file, text) in [
        ("report/dot.rs", "use crate::batch::summary;"),
        ("batch/runner.rs", "use crate::report;"),
        ("report/dot.rs", "use crate::verdict::Report;"),
        ("analysis/fix.rs", "let x = crate::cli::Cli;"),
        ("style.rs", "use crate::front::diagnostic;"),
        (
            "front/spec.rs",
            "use crate::{\n    front::yaml,\n    commands::run,\n};",
        ),
        ("engine2.rs", ""),
    ] {
        assert_eq!(check(file, text).len(), 1, "{file}: {text}");
    }
    assert!(check(
        "commands/check.rs",
        "use crate::{cli, report, batch::runner};"
    )
    .is_empty());
    assert!(check("lib.rs", "use crate::commands;").is_empty());
}

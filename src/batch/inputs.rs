//! The inputs of a batch run: API files and family files found under the
//! paths given, in a canonical order, and the variants they expand to.
//!
//! Folders are walked recursively for `*.yaml` and `*.yml` files (hidden
//! entries skipped); files are sorted by path, so the variants of a run are
//! numbered the same way on every machine, which sharding relies on. A
//! file given by name may also be a spi file (`*.spi`, always one API),
//! and `-` is standard input.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::front::diagnostic::{Diagnostic, Span};
use crate::front::family::{self, Family};
use crate::front::yaml;

/// One input file.
#[derive(Clone, Debug)]
pub enum Input {
    /// An API file: one variant.
    Api {
        /// The file.
        file: PathBuf,
    },
    /// A family file: its variants.
    Family(Arc<Family>),
    /// A file that could not be read or is not valid: one failed entry.
    Broken {
        /// The file.
        file: String,
        /// What is wrong.
        diagnostics: Vec<Diagnostic>,
        /// The file's text, for rendering.
        source: Option<String>,
    },
}

impl Input {
    /// How many variants it expands to.
    pub fn len(&self) -> u64 {
        match self {
            Input::Family(f) => f.len(),
            _ => 1,
        }
    }

    /// Whether it expands to nothing (never).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The file, as given.
    pub fn file(&self) -> String {
        match self {
            Input::Api { file } => file.display().to_string(),
            Input::Family(f) => f.file.clone(),
            Input::Broken { file, .. } => file.clone(),
        }
    }
}

/// The files under `paths`, sorted, each read as an API or family file.
pub fn collect(paths: &[PathBuf]) -> Vec<Input> {
    let mut files = Vec::new();
    let mut missing = Vec::new();
    for p in paths {
        if p.is_dir() {
            walk(p, &mut files);
        } else if p.exists() || p.as_os_str() == crate::front::lower::STDIN {
            files.push(p.clone());
        } else {
            missing.push(p.clone());
        }
    }
    files.sort();
    files.dedup();
    if files.is_empty() && missing.is_empty() {
        let shown: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
        let file = shown.join(", ");
        return vec![Input::Broken {
            diagnostics: vec![Diagnostic::error(
                &file,
                Span::new(1, 1, 1),
                "no API or family files here: no *.yaml or *.yml file".to_string(),
            )
            .with_help("give API files, family files, or folders holding them")],
            file,
            source: None,
        }];
    }
    let mut inputs: Vec<Input> = files.iter().map(|f| read(f)).collect();
    for m in missing {
        let file = m.display().to_string();
        inputs.push(Input::Broken {
            diagnostics: vec![Diagnostic::error(
                &file,
                Span::new(1, 1, 1),
                "no such file or folder".to_string(),
            )
            .with_help("give API files, family files, or folders holding them")],
            file,
            source: None,
        });
    }
    inputs
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let hidden = entry.file_name().to_string_lossy().starts_with('.');
        if hidden {
            continue;
        }
        if path.is_dir() {
            walk(&path, out);
        } else if matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("yaml" | "yml")
        ) {
            out.push(path);
        }
    }
}

/// Reads one file far enough to know whether it is a family.
pub fn read(path: &Path) -> Input {
    let file = path.display().to_string();
    let source = match crate::front::lower::read_source(path) {
        Ok(s) => s,
        Err(_) => {
            let diagnostics = crate::front::lower::load_file(path)
                .err()
                .unwrap_or_default();
            return Input::Broken {
                file,
                diagnostics,
                source: None,
            };
        }
    };
    if crate::front::lower::is_spi_source(&file, &source) {
        return Input::Api {
            file: path.to_path_buf(),
        };
    }
    let root = match yaml::parse(&file, &source) {
        Ok(root) => root,
        Err(diagnostics) => {
            return Input::Broken {
                file,
                diagnostics,
                source: Some(source),
            }
        }
    };
    if !family::is_family(&root) {
        return Input::Api {
            file: path.to_path_buf(),
        };
    }
    match family::load(path, &root, source.clone()) {
        Ok(f) => Input::Family(Arc::new(f)),
        Err(diagnostics) => Input::Broken {
            file,
            diagnostics,
            source: Some(source),
        },
    }
}

/// A pattern on variant names (`--variant`): `*` matches any run of
/// characters, everything else itself; `w1=T,*` picks every variant whose
/// first parameter is T.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VariantPattern(pub String);

impl VariantPattern {
    /// Whether a variant name matches.
    pub fn matches(&self, name: &str) -> bool {
        glob(self.0.as_bytes(), name.as_bytes())
    }

    /// Whether an input's variant `v` is selected: API files (which have
    /// no variants) never are.
    pub fn selects(&self, input: &Input, v: u64) -> bool {
        match input {
            Input::Family(f) => self.matches(&f.variant_name(v)),
            _ => false,
        }
    }
}

/// `*`-only glob matching, iterative with one backtrack point.
fn glob(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() && pattern[p] == b'*' {
            star = Some((p, t));
            p += 1;
        } else if p < pattern.len() && pattern[p] == text[t] {
            p += 1;
            t += 1;
        } else if let Some((sp, st)) = star {
            p = sp + 1;
            t = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|c| *c == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_with_stars_only() {
        let p = |s: &str| VariantPattern(s.to_string());
        assert!(p("original").matches("original"));
        assert!(!p("original").matches("original2"));
        assert!(p("w1=T,*").matches("w1=T,u1=F"));
        assert!(!p("w1=T,*").matches("w1=F,u1=T"));
        assert!(p("*d1=T*x2=T").matches("w1=T,d1=T,x2=T"));
        assert!(p("*").matches(""));
        assert!(!p("a*b").matches("acbd"));
    }
}

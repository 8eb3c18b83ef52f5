//! Lowering's help lines, said in the spi notation's words.
//!
//! Lowering is shared with YAML, and a few of its help lines name YAML
//! fields (`names: secret:`, `constructors`). For a spi file those lines
//! are rewritten here; `tests/it/spi.rs` checks that no diagnostic of a
//! spi fixture names a YAML field.

use crate::front::diagnostic::Diagnostic;

/// (a help line's YAML wording, the spi wording), matched as substrings.
const WORDINGS: &[(&str, &str)] = &[
    (
        "no secrets: declare `secrets:` or a `secret` name, e.g. `names: {secret: [K]}`",
        "no secrets: restrict a name in the system, `system = (new K) (...)`, or list the terms to protect with `secret`",
    ),
    (
        "declare your own under `constructors`",
        "the spi notation has no constructors of your own (a YAML API file declares them)",
    ),
    (
        "a function's `fresh` lists names declared under `names.fresh`",
        "`(new n)` in a function makes `n` a fresh name; a name the system restricts is a secret: restrict each name in one place",
    ),
    (
        "remove it from `secrets`, or declare it under `names: secret:`",
        "remove it from `secret`, or restrict it in the system: `(new ...)`",
    ),
    (
        "is meant to be a constant, declare it under `names`",
        "is meant to be a constant, match it against a declared name: `[v is NAME]`",
    ),
    (
        "list it under the `fresh` of the function that generates it",
        "generate it with `(new ...)` in a function",
    ),
];

/// Rewrites the help lines of diagnostics about a spi file.
pub fn translate(diags: &mut [Diagnostic]) {
    for d in diags {
        if let Some(help) = &mut d.help {
            for (yaml, spi) in WORDINGS {
                if help.contains(yaml) {
                    *help = help.replace(yaml, spi);
                }
            }
        }
    }
}

//! Colour on terminals: a [`Palette`] paints verdict words and diagnostic
//! labels with ANSI escapes, or leaves text plain.
//!
//! Renderers take a palette and library callers pass [`Palette::PLAIN`], so
//! snapshots and JSON never hold escapes. The command layer picks one per
//! stream ([`Palette::for_stdout`], [`Palette::for_stderr`]): with
//! `--color auto` (the default), colour only when the stream is a terminal
//! and `NO_COLOR` is unset or empty (<https://no-color.org>); `--color
//! always` and `--color never` override both.
//!
//! Also [`plural`], the wording helper verdicts, reports and summaries
//! share. Like the root's other leaves (`memory`, `progress`), this module
//! names nothing in the crate, so every stage may use it.

use std::io::IsTerminal;
use std::sync::OnceLock;

/// When to colour output (`--color`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorChoice {
    /// On terminals, unless `NO_COLOR` is set to a non-empty value.
    #[default]
    Auto,
    /// Always, even into a pipe or with `NO_COLOR` set.
    Always,
    /// Never.
    Never,
}

/// What a painted piece of text says, which decides its colour.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// An attack, a derivable secret (red, bold).
    Attack,
    /// A proof, a secret shown not derivable (green).
    Secure,
    /// A verdict that holds only up to bounds, or a limit (yellow).
    Bounded,
    /// `error:` and the marker under an error (red, bold).
    Error,
    /// `warning:` and the marker under a warning (yellow, bold).
    Warning,
    /// `help:` (cyan).
    Help,
}

impl Role {
    /// The ANSI select-graphic-rendition sequence of the role.
    fn sgr(self) -> &'static str {
        match self {
            Role::Attack | Role::Error => "\x1b[1;31m",
            Role::Secure => "\x1b[32m",
            Role::Bounded => "\x1b[33m",
            Role::Warning => "\x1b[1;33m",
            Role::Help => "\x1b[36m",
        }
    }
}

/// Resets colour and weight.
const RESET: &str = "\x1b[0m";

/// Plain text or ANSI colours.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Palette {
    colour: bool,
}

/// The `--color` choice of this run, set once by `main`.
static CHOICE: OnceLock<ColorChoice> = OnceLock::new();

/// Records the `--color` choice for [`Palette::for_stdout`] and
/// [`Palette::for_stderr`]; later calls are ignored. Unset means `auto`.
pub fn set_choice(choice: ColorChoice) {
    let _ = CHOICE.set(choice);
}

impl Palette {
    /// No escapes: what libraries, snapshots and pipes get.
    pub const PLAIN: Palette = Palette { colour: false };
    /// ANSI colours.
    pub const ANSI: Palette = Palette { colour: true };

    /// The palette for a stream: `is_terminal` says whether it is one,
    /// `no_color` is the value of `NO_COLOR` (if set).
    pub fn choose(choice: ColorChoice, is_terminal: bool, no_color: Option<&str>) -> Palette {
        let colour = match choice {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => is_terminal && no_color.is_none_or(str::is_empty),
        };
        Palette { colour }
    }

    /// The palette for standard output (reports).
    pub fn for_stdout() -> Palette {
        Palette::for_stream(std::io::stdout().is_terminal())
    }

    /// The palette for standard error (diagnostics).
    pub fn for_stderr() -> Palette {
        Palette::for_stream(std::io::stderr().is_terminal())
    }

    fn for_stream(is_terminal: bool) -> Palette {
        let no_color = std::env::var_os("NO_COLOR");
        // A value that is not Unicode is still set and not empty.
        let no_color = no_color.map(|v| v.to_str().unwrap_or("set").to_string());
        let choice = CHOICE.get().copied().unwrap_or_default();
        Palette::choose(choice, is_terminal, no_color.as_deref())
    }

    /// True when this palette colours.
    pub fn is_colour(self) -> bool {
        self.colour
    }

    /// `text` in the role's colour, or as it is.
    pub fn paint(self, role: Role, text: &str) -> String {
        if self.colour && !text.is_empty() {
            format!("{}{text}{RESET}", role.sgr())
        } else {
            text.to_string()
        }
    }
}

/// `1 call`, `2 calls`: a count and its noun, singular or plural (the
/// plural adds `s`).
pub fn plural(n: u64, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_palette_leaves_text_alone() {
        assert_eq!(Palette::PLAIN.paint(Role::Attack, "ATTACK"), "ATTACK");
        assert_eq!(
            Palette::ANSI.paint(Role::Attack, "ATTACK"),
            "\x1b[1;31mATTACK\x1b[0m"
        );
    }

    #[test]
    fn auto_colours_terminals_unless_no_color_is_set() {
        use ColorChoice::*;
        // A terminal, NO_COLOR unset or empty: colour (no-color.org: an
        // empty value does not count).
        assert!(Palette::choose(Auto, true, None).is_colour());
        assert!(Palette::choose(Auto, true, Some("")).is_colour());
        // NO_COLOR set to anything non-empty: plain, even on a terminal.
        assert!(!Palette::choose(Auto, true, Some("1")).is_colour());
        assert!(!Palette::choose(Auto, true, Some("0")).is_colour());
        // Not a terminal: plain.
        assert!(!Palette::choose(Auto, false, None).is_colour());
        // The flag overrides both (no-color.org: command-line arguments
        // override NO_COLOR).
        assert!(Palette::choose(Always, false, Some("1")).is_colour());
        assert!(!Palette::choose(Never, true, None).is_colour());
    }
}

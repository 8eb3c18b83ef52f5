//! `apisat convert`: an API file written in the other notation, YAML to
//! spi or spi to YAML (or the same one, normalised).
//!
//! A file is converted only when it loads (every mistake is reported as
//! by `check`); the output is printed from the file's spec, so that
//! reading it back gives the same checked program: [`to_yaml`] prints
//! every field, [`to_spi`] says where the spi notation cannot express a
//! feature. Output is deterministic; comments are not carried over (a
//! YAML `description` becomes a comment in spi).

pub mod to_spi;
pub mod to_yaml;

use crate::front::diagnostic::Diagnostic;

/// The notation to write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Notation {
    /// The YAML API language.
    Yaml,
    /// The spi-calculus notation ([`crate::front::spi`]).
    Spi,
}

/// Converts an API file's text (`file` names it, and its extension says
/// how to read it) into `to`; the file's errors, or what `to` cannot
/// express, as located diagnostics.
pub fn convert(file: &str, src: &str, to: Notation) -> Result<String, Vec<Diagnostic>> {
    crate::front::lower::load_source(file, src)?;
    let (spec, _) = crate::front::lower::read_spec(file, src)?;
    match to {
        Notation::Yaml => Ok(to_yaml::print(&spec)),
        Notation::Spi => to_spi::print(file, &spec),
    }
}

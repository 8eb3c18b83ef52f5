//! `apisat schema [--family]`: prints the JSON Schema of API files (or of
//! family files).

use super::ExitCode;
use crate::cli::emit;

/// Prints the schema (regenerate the shipped copies with
/// `cargo run -- schema > schema/apisat.schema.json` and
/// `cargo run -- schema --family > schema/apisat-family.schema.json`).
pub fn run(family: bool) -> ExitCode {
    if family {
        emit(&crate::front::schema::family_text());
    } else {
        emit(&crate::front::schema::text());
    }
    ExitCode::default()
}

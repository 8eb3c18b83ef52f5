//! `apisat schema`: prints the JSON Schema of the API language.

use super::ExitCode;
use crate::cli::emit;

/// Prints the schema (regenerate the shipped copy with
/// `cargo run -- schema > schema/apisat.schema.json`).
pub fn run() -> ExitCode {
    emit(&crate::schema::text());
    ExitCode::default()
}

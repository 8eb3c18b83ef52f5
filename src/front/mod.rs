//! The front end: reading and checking API files.

/// Converting API files between YAML and the spi notation.
pub mod convert;
/// Located error messages.
pub mod diagnostic;
/// Exports to ProVerif and Tamarin.
pub mod export;
/// Family files: a base API and its variants.
pub mod family;
/// Checking a spec into a program.
pub mod lower;
/// The checked program the engine runs.
pub mod program;
/// The JSON Schema of the API language, generated from the field tables.
pub mod schema;
/// The API file's structure, typed from YAML.
pub mod spec;
/// The spi-calculus front end: `.spi` files read into the same spec.
pub mod spi;
/// Term and check string syntax.
pub mod syntax;
/// Terms, symbols and the interning store.
pub mod term;
/// YAML with source positions (the only module naming serde_yaml).
pub mod yaml;

//! The front end: an API file in, a checked program out.
//!
//! Takes the text of an API file, YAML ([`yaml`] gives nodes with
//! positions, [`spec`] the typed fields, [`syntax`] the term and check
//! strings) or the spi notation ([`spi`]), or a family file and a variant
//! number ([`family`]), and gives a checked [`program::Program`] ([`lower`]):
//! every name resolved and interned as a [`term`], arities, variables and
//! policies checked; or every mistake found, each a located
//! [`diagnostic::Diagnostic`]. The program is what the analysis takes; no
//! later stage reads a file or compares a name.
//!
//! Here too, as they need nothing beyond a spec or a program: the JSON
//! Schemas of API and family files ([`schema`]), and the API written in
//! another notation, YAML or spi from a spec ([`convert`]), ProVerif or
//! Tamarin from a program ([`export`]).
//!
//! The lowest stage: names its own modules and the root's leaf `style`
//! only (ARCHITECTURE.md, "Layout").

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

//! The analysis: saturation, proofs, traces and verdicts.

/// Saturation with ascent.
pub mod engine;
/// Why one term is or is not derivable: derivation trees, closest misses.
pub mod explain;
/// What to fix: necessary functions and minimal removal sets.
pub mod fix;
/// Linear algebra over GF(2): spans of XOR terms.
pub mod gf2;
/// Lifetime histories: the refinement that proves sticky/conflict fixes.
pub mod lifetime;
/// Matching patterns against terms modulo XOR.
pub mod matching;
/// Compiling rules into join plans.
pub mod plan;
/// What to fix in an attribute policy: minimal sets of policy changes.
pub mod policy_fix;
/// Proof mode: saturation over facts with variables.
pub mod prove;
/// Concrete replay of attacks.
pub mod replay;
/// Printing a report's terms with large shared parts named once.
pub mod shared;
/// Saturation for large APIs: proof mode first, then the bounded search in
/// call stages, stopping once every secret is decided.
pub mod staged;
/// Bounded exhaustive search for attacks on a token with state.
pub mod stateful;
/// Strong secrecy (`check --strong`): where it can be argued.
pub mod strong;
/// Shortest derivations and attacks.
pub mod trace;
/// Verdicts and what they rest on.
pub mod verdict;

//! Command-line interface: commands and flags (clap derive).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::analysis::engine::{Bounds, Limits};
use crate::analysis::verdict::Settings;
use crate::batch::runner::Shard;
use crate::style::ColorChoice;

/// Finds API attacks on hardware security modules, or proves there are none.
///
/// Exit codes: 0 no secret derivable, 1 a secret derivable, 2 bad input or
/// usage, 3 a resource limit stopped saturation. With several files the
/// worst wins, in the order 2, 1, 3, 0.
#[derive(Debug, Parser)]
#[command(name = "apisat", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
    /// When to colour output: auto (on terminals, unless NO_COLOR is set),
    /// always, never.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check API files: verdict per secret, the shortest attack, what the
    /// verdict rests on.
    Check {
        /// API files: YAML, or the spi notation (`*.spi`); `-` reads
        /// standard input (spi when it does not start like YAML).
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        /// Only the family variants whose name matches (`*` matches any
        /// characters, e.g. 'w1=T,*'); API files are then left out.
        #[arg(long, value_name = "PATTERN")]
        variant: Option<String>,
        /// Print every term in full where it is used. By default a term or
        /// list of terms longer than 80 characters that a report would
        /// print more than once is printed once, as `@1 = ...`, and
        /// written `@1` where used; this flag can make the output far
        /// larger than the input (n secrets out of one n-tuple: n² terms).
        #[arg(long)]
        full_terms: bool,
        /// Also decide each secret's strong secrecy, as the spi-calculus
        /// paper defines secrecy: the attacker cannot tell the API with
        /// the secret name from the API with any other value in its place
        /// (ProVerif's noninterf). Reported as holds, does not hold (with
        /// the test that tells values apart), or cannot decide (with the
        /// reason); the verdict and exit code stay those of derivability.
        #[arg(long)]
        strong: bool,
        /// Bounds and limits.
        #[command(flatten)]
        search: SearchArgs,
    },
    /// Print the saturated knowledge set of an API, one term a line, in a
    /// canonical order.
    Knowledge {
        /// API file (YAML or `*.spi`), or a family file with --variant.
        file: PathBuf,
        /// `text`: one term a line; `json`: the set and what it rests on.
        #[arg(long, value_enum, default_value_t = TextOrJson::Text)]
        format: TextOrJson,
        /// For a family file: the one variant whose name matches (`*`
        /// matches any characters); an error if it matches none or several.
        #[arg(long, value_name = "PATTERN")]
        variant: Option<String>,
        /// Bounds and limits.
        #[command(flatten)]
        search: SearchArgs,
    },
    /// Explain one term: its cheapest derivation as a tree, or, when it is
    /// not derivable, what that rests on and the closest misses.
    Explain {
        /// API file (YAML or `*.spi`), or a family file with --variant.
        file: PathBuf,
        /// A ground term in the API language, e.g. 'senc(PAN, P)', '{k2}k1', Ki.
        term: String,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        /// Print every term of the tree in full where it is used (by
        /// default a term or list longer than 80 characters printed more
        /// than once is printed once, as `where @1 = ...`).
        #[arg(long)]
        full_terms: bool,
        /// For a family file: the one variant whose name matches (`*`
        /// matches any characters); an error if it matches none or several.
        #[arg(long, value_name = "PATTERN")]
        variant: Option<String>,
        /// Bounds and limits.
        #[command(flatten)]
        search: SearchArgs,
    },
    /// What to fix: per derivable secret, the functions whose removal alone
    /// makes it not derivable; and the smallest sets of functions whose
    /// removal makes the API secure.
    Fix {
        /// API file (YAML or `*.spi`), or a family file (its base API, or
        /// with --variant one variant).
        file: PathBuf,
        /// Output format.
        #[arg(long, value_enum, default_value_t = TextOrJson::Text)]
        format: TextOrJson,
        /// For a family file: the one variant whose name matches (`*`
        /// matches any characters); an error if it matches none or several.
        #[arg(long, value_name = "PATTERN")]
        variant: Option<String>,
        /// Search removal sets up to this size, even after smaller ones fix
        /// the API.
        #[arg(long, default_value_t = crate::analysis::fix::FixLimits::default().max_size as u64, value_parser = clap::value_parser!(u64).range(1..=64))]
        max_size: u64,
        /// Stop the removal-set search after this many checks.
        #[arg(long, default_value_t = crate::analysis::fix::FixLimits::default().max_checks as u64, value_parser = clap::value_parser!(u64).range(1..=100_000))]
        max_checks: u64,
        /// Bounds and limits.
        #[command(flatten)]
        search: SearchArgs,
    },
    /// Compare two APIs: terms the attacker learns under one and not the
    /// other (compared as printed), and secrets whose status differs.
    Diff {
        /// The first API file (A; YAML or `*.spi`), or a family file with
        /// --variant.
        a: PathBuf,
        /// The second API file (B), or a family file with --variant or
        /// --variant-b.
        b: PathBuf,
        /// Output format.
        #[arg(long, value_enum, default_value_t = TextOrJson::Text)]
        format: TextOrJson,
        /// For each of A and B that is a family file: the one variant whose
        /// name matches (`*` matches any characters).
        #[arg(long, value_name = "PATTERN")]
        variant: Option<String>,
        /// B's variant, when it differs from A's (two variants of one
        /// family: `--variant original --variant-b both-fixes F F`).
        #[arg(long, value_name = "PATTERN")]
        variant_b: Option<String>,
        /// Bounds and limits.
        #[command(flatten)]
        search: SearchArgs,
    },
    /// Write an API as a ProVerif model or a Tamarin theory, to check its
    /// verdicts with another tool; what the target cannot express (XOR in
    /// ProVerif) is a located error.
    Export {
        /// API file (YAML or `*.spi`), or a family file with --variant.
        file: PathBuf,
        /// The target: `proverif` (typed pi calculus, .pv) or `tamarin`
        /// (multiset rewriting, .spthy).
        #[arg(long, value_enum)]
        to: ExportTarget,
        /// With `--to proverif`: also a `noninterf` declaration for each
        /// secret name, ProVerif's strong secrecy (the attacker cannot tell
        /// runs with different values of the name apart).
        #[arg(long)]
        strong: bool,
        /// For a family file: the one variant whose name matches (`*`
        /// matches any characters); an error if it matches none or several.
        #[arg(long, value_name = "PATTERN")]
        variant: Option<String>,
    },
    /// Write an API file in the other notation: YAML to the spi calculus
    /// (as in the paper "Security API analysis with the spi-calculus") or
    /// back; reading the output gives the same checked program. What the
    /// target cannot express (attributes, constructors of your own in spi)
    /// is a located error.
    Convert {
        /// API file: YAML, or spi (`*.spi`); `-` reads standard input.
        file: PathBuf,
        /// The notation to write: `yaml` or `spi`.
        #[arg(long, value_enum)]
        to: Notation,
    },
    /// Print the JSON Schema of the API language, for editors (see the
    /// README: "Editor support").
    Schema {
        /// The schema of family files instead of API files.
        #[arg(long)]
        family: bool,
    },
    /// Check every API file and every variant of every family file under
    /// the paths, in parallel; print a summary table (or JSON Lines).
    Batch {
        /// API files, family files, or folders holding them (walked for
        /// *.yaml and *.yml; a spi file is taken when named).
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// `text`: a summary table; `json`: one JSON object per variant per
        /// line, in a fixed order (the input of `apisat merge`).
        #[arg(long, value_enum, default_value_t = TextOrJson::Text)]
        format: TextOrJson,
        /// Worker threads, 1 to 1024 (default: all cores).
        #[arg(long, short = 'j', value_parser = clap::value_parser!(u64).range(1..=1024))]
        jobs: Option<u64>,
        /// Run only shard I of N (1-based), a deterministic round-robin
        /// slice of the variants; join the shards' JSON Lines with
        /// `apisat merge`.
        #[arg(long, value_name = "I/N")]
        shard: Option<Shard>,
        /// Leave out the time column (with `--format json`, the
        /// `elapsed_ms` field), so that the same input prints the same bytes.
        #[arg(long)]
        no_time: bool,
        /// Only the family variants whose name matches (`*` matches any
        /// characters, e.g. 'w1=T,*'); API files are then left out.
        #[arg(long, value_name = "PATTERN")]
        variant: Option<String>,
        /// Bounds and limits.
        #[command(flatten)]
        search: SearchArgs,
    },
    /// Check the expectations (`expect:`) of every API file and family
    /// variant under the paths, like a test runner; exit 1 on any mismatch.
    Test {
        /// API files, family files, or folders holding them.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Worker threads, 1 to 1024 (default: all cores).
        #[arg(long, short = 'j', value_parser = clap::value_parser!(u64).range(1..=1024))]
        jobs: Option<u64>,
        /// Only the family variants whose name matches (`*` matches any
        /// characters, e.g. 'w1=T,*'); API files are then left out.
        #[arg(long, value_name = "PATTERN")]
        variant: Option<String>,
        /// Bounds and limits.
        #[command(flatten)]
        search: SearchArgs,
    },
    /// Print a shell completion script, generated from these commands and
    /// flags (e.g. `apisat completions bash > ~/.local/share/bash-completion/completions/apisat`).
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff), generated from these commands and flags
    /// (e.g. `apisat man | man -l -`); with COMMAND, that command's page.
    Man {
        /// A command (`check`, `batch`, ...): its own page, apisat-COMMAND(1).
        command: Option<String>,
    },
    /// Join the JSON Lines of `apisat batch --format json --shard I/N` runs
    /// into the summary of one unsharded run.
    Merge {
        /// JSON Lines files written by the shards (`-` for stdin).
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// `text`: the summary table; `json`: the joined JSON Lines, in order.
        #[arg(long, value_enum, default_value_t = TextOrJson::Text)]
        format: TextOrJson,
        /// Leave out the time column (with `--format json`, the
        /// `elapsed_ms` field).
        #[arg(long)]
        no_time: bool,
    },
}

/// The notations `apisat convert` writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Notation {
    /// The YAML API language.
    Yaml,
    /// The spi-calculus notation (`.spi` files).
    Spi,
}

/// The verifiers `apisat export` writes for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ExportTarget {
    /// ProVerif 2.x (typed pi calculus).
    Proverif,
    /// The Tamarin prover (multiset rewriting).
    Tamarin,
}

/// Output formats of the commands that draw no graph (batch, merge, fix,
/// diff).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum TextOrJson {
    /// For people (for batch and merge: a summary table).
    Text,
    /// JSON (for batch and merge: one object per variant per line).
    Json,
}

/// Output formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// For people.
    Text,
    /// One JSON array of reports (schema in the README).
    Json,
    /// Graphviz DOT: one digraph per file, one cluster per attack.
    Dot,
}

/// Bounds on what the attacker builds, and resource limits.
#[derive(Clone, Copy, Debug, Args)]
pub struct SearchArgs {
    /// Drop results deeper than this (term depth; names have depth 0).
    #[arg(long, default_value_t = Bounds::default().max_depth, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub max_depth: u16,
    /// Inputs the attacker chooses freely range over obtained terms up to this depth.
    #[arg(long, default_value_t = Bounds::default().input_depth, value_parser = clap::value_parser!(u16).range(0..=64))]
    pub input_depth: u16,
    /// Inputs under XOR range over XORs of at most this many obtained names.
    #[arg(long, default_value_t = Bounds::default().xor_width as u64, value_parser = clap::value_parser!(u64).range(1..=8))]
    pub xor_width: u64,
    /// Stop after this many facts (known terms plus partial matches).
    #[arg(long, default_value_t = Limits::default().max_facts as u64, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_facts: u64,
    /// Stop the check after this many seconds (0: no time limit):
    /// saturation, trace extraction, replay and proof mode all stop in
    /// time. The default keeps a run that would never end from hanging a
    /// terminal or a CI job; a saturation stopped ends in LIMIT, exit code
    /// 3; a later stage stopped says what it left undone.
    #[arg(long, default_value_t = DEFAULT_TIMEOUT_SECS)]
    pub timeout: f64,
    /// Stop once the check holds this much memory (e.g. 4G, 512M; K, M,
    /// G, T are powers of 1024). Saturation, trace extraction, replay and
    /// proof mode stop at half of it, leaving room for the tables that are
    /// growing and for the report.
    #[arg(long, default_value = "4G", value_parser = crate::memory::parse_size)]
    pub max_memory: usize,
    /// Saturate to the fixpoint even where it is not needed for the
    /// verdict. Without it, an API too large for a quick saturation is
    /// decided by proof mode first and a bounded search that stops once
    /// every secret is decided (same verdicts and attack lengths; the
    /// saturation line says how far it went).
    #[arg(long)]
    pub exhaustive: bool,
    /// When an attack needs one object of the token in two attribute
    /// states (replay: not confirmed), search every sequence of up to N
    /// calls on a token with state for a real attack; 0: no search.
    #[arg(long, default_value_t = crate::analysis::stateful::DEFAULT_STATE_CALLS, value_name = "N")]
    pub state_calls: usize,
}

/// The default `--timeout`: five minutes of saturation.
pub const DEFAULT_TIMEOUT_SECS: f64 = 300.0;

impl SearchArgs {
    /// The engine settings these flags ask for.
    pub fn settings(&self) -> Settings {
        Settings {
            bounds: Bounds {
                max_depth: self.max_depth,
                input_depth: self.input_depth,
                xor_width: self.xor_width as usize,
            },
            limits: Limits {
                max_facts: self.max_facts as usize,
                timeout: (self.timeout.is_finite() && self.timeout > 0.0)
                    .then(|| std::time::Duration::from_secs_f64(self.timeout)),
                max_memory: Some(self.max_memory),
            },
            state_calls: self.state_calls,
            stop_early: false,
            first_pass_facts: crate::analysis::staged::FIRST_PASS_FACTS,
        }
    }

    /// [`SearchArgs::settings`] for a command that reports verdicts only
    /// (not the knowledge set): large APIs are decided as cheaply as the
    /// verdict allows (see [`crate::analysis::staged`]).
    pub fn verdict_settings(&self) -> Settings {
        Settings {
            stop_early: !self.exhaustive,
            ..self.settings()
        }
    }
}

/// Writes to stdout; a closed pipe (`apisat ... | head`) ends the program
/// quietly, as it is not an error.
pub fn emit(text: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    if out
        .write_all(text.as_bytes())
        .and_then(|_| out.flush())
        .is_err()
    {
        std::process::exit(0);
    }
}

//! `bench`: apisat's benchmark harness.
//!
//! ```sh
//! cargo run --release --bin bench                          # every case, text table
//! cargo run --release --bin bench -- --family pkcs11 --sizes 10,30 --reps 5
//! cargo run --release --bin bench -- --emit-yaml /tmp/apis --no-run
//! ```
//!
//! Each case is an API of a parameterised family, generated as YAML text in
//! memory (so the generators double as examples of the API language; see
//! `--emit-yaml`), loaded with [`lower::load_source`] and checked with
//! [`verdict::check_program`], exactly as `apisat check` would.
//!
//! Every run of a case happens in a fresh child process (this binary, with
//! `--one CASE`), which prints one JSON line. The parent collects those
//! lines, takes the median over `--reps` runs, and prints one row per case.
//! A child of its own is what makes the peak RSS honest: `VmHWM` in
//! `/proc/self/status` never decreases, so in a shared process every case
//! would report the largest peak seen so far.
//!
//! Families (`benches/README.md` explains the models and their expected
//! verdicts):
//!
//! * `hierarchy` (sizes `DxW`): a typed key hierarchy of depth D and width W.
//! * `pkcs11` (sizes `N`): a PKCS#11 token with N wrapping keys and N data
//!   keys, configured securely.
//! * `pkcs11-clulow` (sizes `N`): the same token with one wrapping key that
//!   may also decrypt (Clulow's wrap/decrypt attack).
//!
//! `--families` measures batch throughput instead: it writes a 20-function
//! base API and family files of 32 and 1,024 variants over it
//! ([`families`]), runs `apisat batch --format json --jobs J` on each in a
//! child process, and reports variants per second ([`throughput`]).

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use clap::{Parser, ValueEnum};
use serde::{Deserialize, Serialize};

use apisat::cli::emit;
use apisat::diagnostic::render_all;
use apisat::engine::{Bounds, Limits};
use apisat::lower;
use apisat::verdict::{self, Proof, Report, Settings, Verdict};

mod families;
mod proverif;
mod throughput;
mod wide;
mod xor;

/// Saturation time limit per case when `--timeout` is not given, so that a
/// slow case ends with an honest LIMIT instead of stalling the whole run.
const DEFAULT_TIMEOUT_SECS: f64 = 60.0;

/// Benchmarks apisat on generated API families: one table row per case.
#[derive(Debug, Parser)]
#[command(name = "bench", about, long_about = None)]
struct Args {
    /// Families to run, comma-separated (default: all).
    #[arg(long, value_enum, value_delimiter = ',')]
    family: Vec<Family>,
    /// Sizes, comma-separated: `DxW` for hierarchy (e.g. 5x10), `N` for the
    /// PKCS#11 families (e.g. 30). Each selected family runs the sizes of its
    /// shape (default: each family's standard sizes).
    #[arg(long, value_delimiter = ',')]
    sizes: Vec<String>,
    /// Runs per case; times and peak RSS are the median over the runs.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    reps: u32,
    /// Output: a text table, or one JSON object per case and line.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Write every selected case's YAML to this directory (created if
    /// needed), named `<family>_<params>.yaml`.
    #[arg(long, value_name = "DIR")]
    emit_yaml: Option<PathBuf>,
    /// Only write the YAML (with --emit-yaml); do not run the cases.
    #[arg(long)]
    no_run: bool,
    /// Saturation time limit per case in seconds; 0 for none. A case that
    /// reaches it reports LIMIT.
    #[arg(long, default_value_t = DEFAULT_TIMEOUT_SECS)]
    timeout: f64,
    /// Drop results deeper than this (apisat's --max-depth).
    #[arg(long, default_value_t = Bounds::default().max_depth)]
    max_depth: u16,
    /// Free inputs range over obtained terms up to this depth (apisat's --input-depth).
    #[arg(long, default_value_t = Bounds::default().input_depth)]
    input_depth: u16,
    /// XOR choices combine at most this many obtained terms (apisat's --xor-width).
    #[arg(long, default_value_t = Bounds::default().xor_width)]
    xor_width: usize,
    /// Stop after this many facts (apisat's --max-facts).
    #[arg(long, default_value_t = Limits::default().max_facts)]
    max_facts: usize,
    /// Measure batch throughput on generated families instead (`--sizes`
    /// then counts variants: powers of two from 2 to 1024, default 32,1024).
    #[arg(long, conflicts_with = "family")]
    families: bool,
    /// With --families: worker counts to run each family with
    /// (`apisat batch --jobs`), comma-separated.
    #[arg(long, value_delimiter = ',', default_values_t = [1, 2], value_parser = clap::value_parser!(u32).range(1..))]
    jobs: Vec<u32>,
    /// With --families: the apisat binary (default: `apisat` next to this
    /// executable; build both with `cargo build --release --bins`).
    #[arg(long, value_name = "PATH")]
    apisat: Option<PathBuf>,
    /// Also write each case as a ProVerif model (`apisat export --to
    /// proverif`) and run this ProVerif binary on it: a side-by-side table
    /// of both verdicts, CPU times and peak memories (benches/README.md).
    #[arg(long, value_name = "PATH", conflicts_with = "families")]
    proverif: Option<PathBuf>,
    /// With --proverif: kill ProVerif once it has used this many seconds
    /// of CPU time (or ten times as many of wall clock).
    #[arg(long, default_value_t = 120.0, value_name = "SECS")]
    proverif_timeout: f64,
    /// Internal: run one case (e.g. `hierarchy:5x10`) in this process and
    /// print its result as one JSON line.
    #[arg(long, value_name = "CASE", hide = true)]
    one: Option<String>,
}

impl Args {
    fn settings(&self) -> Settings {
        Settings {
            bounds: Bounds {
                max_depth: self.max_depth,
                input_depth: self.input_depth,
                xor_width: self.xor_width,
            },
            limits: Limits {
                max_facts: self.max_facts,
                timeout: (self.timeout.is_finite() && self.timeout > 0.0)
                    .then(|| Duration::from_secs_f64(self.timeout)),
                ..Limits::default()
            },
            // As `apisat check` runs: large APIs decided by proof mode
            // first and a bounded search that stops once every secret is
            // decided (the known and firings columns are then partial).
            stop_early: true,
            ..Settings::default()
        }
    }

    /// The flags a child needs to run a case with the same settings.
    fn child_flags(&self) -> Vec<String> {
        vec![
            format!("--timeout={}", self.timeout),
            format!("--max-depth={}", self.max_depth),
            format!("--input-depth={}", self.input_depth),
            format!("--xor-width={}", self.xor_width),
            format!("--max-facts={}", self.max_facts),
        ]
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Format {
    Text,
    Json,
}

/// The API families.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Family {
    /// Typed key hierarchy of depth D and width W (sizes `DxW`).
    Hierarchy,
    /// PKCS#11 token, N wrapping and N data keys, secure roles (sizes `N`).
    Pkcs11,
    /// The same token, one wrapping key may also decrypt (sizes `N`).
    #[value(name = "pkcs11-clulow")]
    Pkcs11Clulow,
    /// N secret masks linked by XOR, none derivable (sizes `N`).
    #[value(name = "xor-chain")]
    XorChain,
    /// The same, plus one output that unmasks the last (sizes `N`).
    #[value(name = "xor-chain-leak")]
    XorChainLeak,
    /// A terminal master key entered as N XORed shares (sizes `N`).
    #[value(name = "xor-shares")]
    XorShares,
    /// The hierarchy with one function that leaks level-0 keys (sizes `DxW`).
    #[value(name = "hierarchy-leaky")]
    HierarchyLeaky,
    /// N independent 10-function sub-APIs sharing a master key (sizes `N`).
    #[value(name = "sub-apis")]
    SubApis,
}

const FAMILIES: [Family; 8] = [
    Family::Hierarchy,
    Family::HierarchyLeaky,
    Family::Pkcs11,
    Family::Pkcs11Clulow,
    Family::XorChain,
    Family::XorChainLeak,
    Family::XorShares,
    Family::SubApis,
];

impl Family {
    fn name(self) -> &'static str {
        match self {
            Family::Hierarchy => "hierarchy",
            Family::HierarchyLeaky => "hierarchy-leaky",
            Family::Pkcs11 => "pkcs11",
            Family::Pkcs11Clulow => "pkcs11-clulow",
            Family::XorChain => "xor-chain",
            Family::XorChainLeak => "xor-chain-leak",
            Family::XorShares => "xor-shares",
            Family::SubApis => "sub-apis",
        }
    }

    fn from_name(s: &str) -> Option<Family> {
        FAMILIES.into_iter().find(|f| f.name() == s)
    }

    fn default_sizes(self) -> Vec<Size> {
        match self {
            Family::Hierarchy => [(2, 3), (5, 10), (10, 10), (10, 30)]
                .into_iter()
                .map(|(d, w)| Size::DepthWidth(d, w))
                .collect(),
            Family::HierarchyLeaky => [(2, 3), (5, 10), (10, 10)]
                .into_iter()
                .map(|(d, w)| Size::DepthWidth(d, w))
                .collect(),
            Family::Pkcs11 | Family::Pkcs11Clulow => {
                [10, 30, 100].into_iter().map(Size::Keys).collect()
            }
            Family::XorChain | Family::XorChainLeak | Family::XorShares => {
                [10, 30, 100].into_iter().map(Size::Keys).collect()
            }
            Family::SubApis => [10, 100].into_iter().map(Size::Keys).collect(),
        }
    }

    /// Whether a size has the shape this family takes.
    fn accepts(self, size: Size) -> bool {
        matches!(
            (self, size),
            (
                Family::Hierarchy | Family::HierarchyLeaky,
                Size::DepthWidth(..)
            ) | (
                Family::Pkcs11
                    | Family::Pkcs11Clulow
                    | Family::XorChain
                    | Family::XorChainLeak
                    | Family::XorShares
                    | Family::SubApis,
                Size::Keys(_)
            )
        )
    }
}

/// A family's parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Size {
    /// Depth and width of a key hierarchy.
    DepthWidth(usize, usize),
    /// Keys of each role in a token.
    Keys(usize),
}

impl Size {
    fn parse(s: &str) -> Result<Size, String> {
        let s = s.trim();
        let num = |t: &str| -> Result<usize, String> {
            match t.trim().parse::<usize>() {
                Ok(n) if n >= 1 => Ok(n),
                _ => Err(format!(
                    "bad size `{s}`: expected `DxW` (e.g. 5x10) or `N` (e.g. 30), each at least 1"
                )),
            }
        };
        match s.split_once(['x', 'X']) {
            Some((d, w)) => Ok(Size::DepthWidth(num(d)?, num(w)?)),
            None => Ok(Size::Keys(num(s)?)),
        }
    }

    /// `5x10` or `30`: the form `--sizes` and `--one` take.
    fn id(self) -> String {
        match self {
            Size::DepthWidth(d, w) => format!("{d}x{w}"),
            Size::Keys(n) => n.to_string(),
        }
    }

    /// `d=5 w=10` or `n=30`: the form the table prints.
    fn params(self) -> String {
        match self {
            Size::DepthWidth(d, w) => format!("d={d} w={w}"),
            Size::Keys(n) => format!("n={n}"),
        }
    }

    /// `d5_w10` or `n30`: the form file names take.
    fn file_part(self) -> String {
        match self {
            Size::DepthWidth(d, w) => format!("d{d}_w{w}"),
            Size::Keys(n) => format!("n{n}"),
        }
    }
}

/// One benchmark case.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Case {
    family: Family,
    size: Size,
}

impl Case {
    /// `hierarchy:5x10`: how the parent names the case to a child.
    fn id(self) -> String {
        format!("{}:{}", self.family.name(), self.size.id())
    }

    fn parse(s: &str) -> Result<Case, String> {
        let (f, z) = s
            .split_once(':')
            .ok_or_else(|| format!("bad case `{s}`: expected FAMILY:SIZE"))?;
        let family = Family::from_name(f).ok_or_else(|| format!("unknown family `{f}`"))?;
        let size = Size::parse(z)?;
        if !family.accepts(size) {
            return Err(format!("family {f} does not take size `{z}`"));
        }
        Ok(Case { family, size })
    }

    fn file_name(self) -> String {
        format!("{}_{}.yaml", self.family.name(), self.size.file_part())
    }

    fn generate(self) -> Generated {
        match (self.family, self.size) {
            (Family::Hierarchy, Size::DepthWidth(d, w)) => hierarchy(d, w),
            (Family::HierarchyLeaky, Size::DepthWidth(d, w)) => hierarchy_leaky(d, w),
            (Family::Pkcs11, Size::Keys(n)) => pkcs11(n, false),
            (Family::Pkcs11Clulow, Size::Keys(n)) => pkcs11(n, true),
            (Family::XorChain, Size::Keys(n)) => xor::chain(n, false),
            (Family::XorChainLeak, Size::Keys(n)) => xor::chain(n, true),
            (Family::XorShares, Size::Keys(n)) => xor::shares(n),
            (Family::SubApis, Size::Keys(n)) => wide::sub_apis(n),
            _ => unreachable!("Case::parse and case selection check the size's shape"),
        }
    }
}

/// A generated API with the verdict it should get.
struct Generated {
    yaml: String,
    expect: Expect,
}

/// The expected outcome: the overall verdict, and exactly which secrets
/// (by label) are derivable.
struct Expect {
    verdict: Verdict,
    derivable: Vec<String>,
}

// ---------------------------------------------------------------------------
// Generators
// ---------------------------------------------------------------------------

/// Name of the key at `level` in column `col` of the hierarchy.
fn hkey(level: usize, col: usize) -> String {
    format!("k{level}_{col}")
}

/// The typed key hierarchy of depth `d` and width `w`.
///
/// Design:
///
/// * `d * w` secret keys `k<level>_<col>`, levels `0..d`, columns `0..w`,
///   plus the master key `MK`. The parent of `k<i+1>_<j>` is `k<i>_<j>`:
///   the hierarchy is `w` chains of depth `d`.
/// * One public type tag per level, `L0 .. L<d-1>`; the last level holds the
///   leaf (data) keys. `TData` tags data ciphertexts.
/// * Initial knowledge: level-0 keys stored under MK, `{L0, k0_j}MK`, and
///   every deeper key wrapped under its parent, `{L<i+1>, k<i+1>_j}k<i>_j`:
///   a key tree as it would arrive from another HSM, before import. The
///   wrapped tokens are given rather than produced by functions so that the
///   import direction is exercised from the start and the initial knowledge
///   grows with `d * w`.
/// * For each level `i >= 1`, `Export<i>` moves a level-`i` key from storage
///   under MK to wrapping under any level-`(i-1)` key, and `Import<i>` moves
///   it back. The tag travels with the key and both functions check it, so
///   only level-`i` keys move under level-`(i-1)` keys.
/// * `Encrypt` and `Decrypt` use leaf keys only (`{L<d-1>, k}MK`), and
///   `Decrypt` releases only `TData`-tagged plaintexts.
///
/// Expected: no key is derivable (see benches/README.md for the argument);
/// the free data input of `Encrypt` makes the verdict "secure up to the
/// input bound".
fn hierarchy(d: usize, w: usize) -> Generated {
    let leaf = format!("L{}", d - 1);
    let mut y = String::new();
    let _ = writeln!(
        y,
        "# Typed key hierarchy, depth {d}, width {w} (generated by apisat's `bench`)."
    );
    let _ = writeln!(y, "#");
    let _ = writeln!(
        y,
        "# {} secret keys k<level>_<column>; the parent of k<i+1>_j is k<i>_j.",
        d * w
    );
    let _ = writeln!(
        y,
        "# Every key carries its level's tag (L0 .. L{}); {leaf} keys are leaf",
        d - 1
    );
    let _ = writeln!(
        y,
        "# (data) keys. Level-0 keys are stored under the master key MK; every"
    );
    let _ = writeln!(
        y,
        "# deeper key arrives wrapped under its parent. Export<i>/Import<i> move a"
    );
    let _ = writeln!(
        y,
        "# level-i key between storage under MK and wrapping under a level-(i-1)"
    );
    let _ = writeln!(
        y,
        "# key; the tag travels with the key and is checked, so no key ever moves"
    );
    let _ = writeln!(
        y,
        "# out of its level. Only leaf keys encrypt data, tagged TData, and Decrypt"
    );
    let _ = writeln!(
        y,
        "# releases only TData plaintexts. Expected: SECURE, no key derivable."
    );
    let _ = writeln!(y, "apisat: 1");
    let _ = writeln!(y, "name: typed key hierarchy d={d} w={w}");
    let _ = writeln!(y);
    let _ = writeln!(y, "names:");
    let tags: Vec<String> = (0..d)
        .map(|i| format!("L{i}"))
        .chain(["TData".to_string()])
        .collect();
    let _ = writeln!(y, "  tags: [{}]", tags.join(", "));
    let _ = writeln!(y, "  secret:");
    let _ = writeln!(y, "    - MK");
    for i in 0..d {
        let keys: Vec<String> = (0..w).map(|j| hkey(i, j)).collect();
        let _ = writeln!(y, "    # level {i}");
        for k in keys {
            let _ = writeln!(y, "    - {k}");
        }
    }
    let _ = writeln!(y);
    let _ = writeln!(y, "knowledge:");
    let _ = writeln!(y, "  # level 0: tokens stored under the master key");
    for j in 0..w {
        let _ = writeln!(y, "  - \"{{L0, {}}}MK\"", hkey(0, j));
    }
    for i in 1..d {
        let _ = writeln!(
            y,
            "  # level {i}: each key wrapped under its parent at level {}",
            i - 1
        );
        for j in 0..w {
            let _ = writeln!(y, "  - \"{{L{i}, {}}}{}\"", hkey(i, j), hkey(i - 1, j));
        }
    }
    let _ = writeln!(y);
    let _ = writeln!(y, "functions:");
    for i in 1..d {
        let p = i - 1;
        let _ = writeln!(y, "  # Level {i}: export a stored level-{i} key under a level-{p} key, and import it back.");
        let _ = writeln!(y, "  - name: Export{i}");
        let _ = writeln!(y, "    inputs: [\"{{L{i}, k}}MK\", \"{{L{p}, p}}MK\"]");
        let _ = writeln!(y, "    outputs: [\"{{L{i}, k}}p\"]");
        let _ = writeln!(y, "  - name: Import{i}");
        let _ = writeln!(y, "    inputs: [\"{{L{i}, k}}p\", \"{{L{p}, p}}MK\"]");
        let _ = writeln!(y, "    outputs: [\"{{L{i}, k}}MK\"]");
    }
    let _ = writeln!(
        y,
        "  # Data encryption with a leaf key; the ciphertext is tagged TData."
    );
    let _ = writeln!(y, "  - name: Encrypt");
    let _ = writeln!(y, "    inputs: [x, \"{{{leaf}, k}}MK\"]");
    let _ = writeln!(y, "    outputs: [\"{{TData, x}}k\"]");
    let _ = writeln!(
        y,
        "  # Decryption with a leaf key releases only TData-tagged plaintexts."
    );
    let _ = writeln!(y, "  - name: Decrypt");
    let _ = writeln!(y, "    inputs: [\"{{TData, x}}k\", \"{{{leaf}, k}}MK\"]");
    let _ = writeln!(y, "    outputs: [x]");
    let _ = writeln!(y);
    let _ = writeln!(
        y,
        "# secrets: every secret name (the default): MK and every key."
    );
    Generated {
        yaml: y,
        expect: Expect {
            verdict: Verdict::Secure,
            derivable: Vec::new(),
        },
    }
}

/// The hierarchy of [`hierarchy`] plus `WrapTopAsData({L0, k}MK, {L<D-1>,
/// d}MK) -> {TData, k}d`: a level-0 key wrapped under a leaf key as if it
/// were data, which Decrypt then opens. Every level-0 key falls, and with it
/// every key below (each is wrapped under its parent in the initial
/// knowledge): every key `k<i>_<j>` is derivable. MK stays secret: it is
/// only ever the key of a token, never a plaintext, and no function
/// releases a plaintext found under MK except through Decrypt's TData
/// tag, which no MK-token carries. Expected: ATTACK on every key but MK.
fn hierarchy_leaky(d: usize, w: usize) -> Generated {
    let base = hierarchy(d, w);
    let leaf = format!("L{}", d - 1);
    let marker = "\n# secrets:";
    let at = base.yaml.find(marker).unwrap_or(base.yaml.len());
    let mut y = base.yaml[..at].to_string();
    y = y.replace(
        &format!("name: typed key hierarchy d={d} w={w}"),
        &format!("name: leaky key hierarchy d={d} w={w}"),
    );
    let _ = writeln!(
        y,
        "  # The leak: a stored level-0 key wrapped under a leaf key as data."
    );
    let _ = writeln!(y, "  - name: WrapTopAsData");
    let _ = writeln!(y, "    inputs: [\"{{L0, k}}MK\", \"{{{leaf}, d}}MK\"]");
    let _ = writeln!(y, "    outputs: [\"{{TData, k}}d\"]");
    y.push_str(&base.yaml[at..]);
    let derivable = (0..d)
        .flat_map(|i| (0..w).map(move |j| hkey(i, j)))
        .collect();
    Generated {
        yaml: y,
        expect: Expect {
            verdict: Verdict::Attack,
            derivable,
        },
    }
}

/// A PKCS#11 token with `n` wrapping keys `wk<i>` and `n` data keys `dk<i>`.
///
/// Every key is a handle `hdl(key, (wrap, unwrap, encrypt, decrypt,
/// extractable))` of the private constructor `hdl`, the attributes public
/// constants T/F. The functions are those of
/// `shared/models/pkcs11_wrap_decrypt.md`, except that Unwrap's template
/// is fixed: an unwrapped key always gets data-key attributes.
///
/// * Secure (`clulow == false`): wrapping keys have wrap + unwrap only, data
///   keys encrypt + decrypt + extractable. No key is derivable.
/// * Misconfigured (`clulow == true`): `wk1` also has decrypt. Wrap a data
///   key under it, decrypt the result: every data key leaks (each is
///   extractable); the wrapping keys stay secret.
fn pkcs11(n: usize, clulow: bool) -> Generated {
    let wk = |i: usize| format!("wk{i}");
    let dk = |i: usize| format!("dk{i}");
    let mut y = String::new();
    let config = if clulow {
        "misconfigured: wk1 may also decrypt"
    } else {
        "secure roles"
    };
    let _ = writeln!(
        y,
        "# PKCS#11 token, {n} wrapping keys and {n} data keys, {config}"
    );
    let _ = writeln!(y, "# (generated by apisat's `bench`).");
    let _ = writeln!(y, "#");
    let _ = writeln!(
        y,
        "# A key is a handle hdl(key, (wrap, unwrap, encrypt, decrypt, extractable)),"
    );
    let _ = writeln!(
        y,
        "# each attribute the public constant T or F; hdl is private, so the attacker"
    );
    let _ = writeln!(
        y,
        "# can pass the handles it holds but never build or open one. Functions as in"
    );
    let _ = writeln!(
        y,
        "# shared/models/pkcs11_wrap_decrypt.md, with Unwrap's template fixed to a"
    );
    let _ = writeln!(y, "# data key's attributes.");
    if clulow {
        let _ = writeln!(
            y,
            "# Expected: ATTACK on every data key (Clulow): Wrap(hdl(wk1, ..), hdl(dkI, ..))"
        );
        let _ = writeln!(
            y,
            "# -> {{dkI}}wk1, then Decrypt(hdl(wk1, ..), {{dkI}}wk1) -> dkI. The wrapping"
        );
        let _ = writeln!(y, "# keys stay secret: none is extractable.");
    } else {
        let _ = writeln!(
            y,
            "# Expected: SECURE. Wrapping keys are not extractable and never encrypt or"
        );
        let _ = writeln!(
            y,
            "# decrypt; data keys are only ever wrapped under wrapping keys, which no"
        );
        let _ = writeln!(y, "# function decrypts with.");
    }
    let _ = writeln!(y, "apisat: 1");
    let _ = writeln!(
        y,
        "name: PKCS#11 token n={n} ({})",
        if clulow {
            "Clulow misconfiguration"
        } else {
            "secure"
        }
    );
    let _ = writeln!(y);
    let _ = writeln!(y, "constructors:");
    let _ = writeln!(
        y,
        "  - name: hdl          # a key handle hdl(key, attributes)"
    );
    let _ = writeln!(y, "    arity: 2");
    let _ = writeln!(y, "    private: true");
    let _ = writeln!(y);
    let _ = writeln!(y, "names:");
    let _ = writeln!(y, "  tags: [T, F]         # attribute values: set / unset");
    let _ = writeln!(y, "  secret:             # key values inside the token");
    for i in 1..=n {
        let _ = writeln!(y, "    - {}", wk(i));
    }
    for i in 1..=n {
        let _ = writeln!(y, "    - {}", dk(i));
    }
    let _ = writeln!(y);
    let _ = writeln!(y, "knowledge:");
    let _ = writeln!(
        y,
        "  #        key  (wrap, unwrap, encrypt, decrypt, extractable)"
    );
    for i in 1..=n {
        if clulow && i == 1 {
            let _ = writeln!(
                y,
                "  - \"hdl({}, (T, T, F, T, F))\"   # wrapping key that may also decrypt",
                wk(i)
            );
        } else {
            let _ = writeln!(
                y,
                "  - \"hdl({}, (T, T, F, F, F))\"   # wrapping key",
                wk(i)
            );
        }
    }
    for i in 1..=n {
        let _ = writeln!(y, "  - \"hdl({}, (F, F, T, T, T))\"   # data key", dk(i));
    }
    let _ = writeln!(y);
    let _ = writeln!(y, "functions:");
    let _ = writeln!(
        y,
        "  # Wrap (export) an extractable key under a key with the wrap attribute."
    );
    let _ = writeln!(y, "  - name: Wrap");
    let _ = writeln!(
        y,
        "    inputs: [\"hdl(kw, (T, _, _, _, _))\", \"hdl(k, (_, _, _, _, T))\"]"
    );
    let _ = writeln!(y, "    outputs: [\"{{k}}kw\"]");
    let _ = writeln!(
        y,
        "  # Unwrap (import) under a key with the unwrap attribute; the template is"
    );
    let _ = writeln!(y, "  # fixed: the new handle is a data key.");
    let _ = writeln!(y, "  - name: Unwrap");
    let _ = writeln!(y, "    inputs: [\"hdl(ku, (_, T, _, _, _))\", \"{{k}}ku\"]");
    let _ = writeln!(y, "    outputs: [\"hdl(k, (F, F, T, T, T))\"]");
    let _ = writeln!(y, "  - name: Encrypt");
    let _ = writeln!(y, "    inputs: [\"hdl(k, (_, _, T, _, _))\", m]");
    let _ = writeln!(y, "    outputs: [\"{{m}}k\"]");
    let _ = writeln!(y, "  # Decrypt does not care what the plaintext is.");
    let _ = writeln!(y, "  - name: Decrypt");
    let _ = writeln!(y, "    inputs: [\"hdl(k, (_, _, _, T, _))\", \"{{m}}k\"]");
    let _ = writeln!(y, "    outputs: [m]");
    let _ = writeln!(y);
    let _ = writeln!(
        y,
        "# secrets: every secret name (the default): all {} key values.",
        2 * n
    );
    Generated {
        yaml: y,
        expect: Expect {
            verdict: if clulow {
                Verdict::Attack
            } else {
                Verdict::Secure
            },
            derivable: if clulow {
                (1..=n).map(dk).collect()
            } else {
                Vec::new()
            },
        },
    }
}

// ---------------------------------------------------------------------------
// One case, in a child process
// ---------------------------------------------------------------------------

/// What one run of one case measured: the child's JSON line.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct Row {
    /// `hierarchy:5x10`.
    case: String,
    family: String,
    params: String,
    /// API functions.
    functions: usize,
    /// Initial knowledge (given terms, public names, the attacker's name).
    initial: usize,
    /// Secrets asked about, and how many were derivable.
    secrets: usize,
    derivable: usize,
    /// `attack`, `secure` or `limit`.
    verdict: String,
    /// For secure: `proved` or `up-to`.
    proof: Option<String>,
    /// The bounds that cut rule instances (`input-depth=1`, ...).
    bounds: Vec<String>,
    /// The limit that stopped saturation (`time=60000ms`, `facts=5000000`).
    limit: Option<String>,
    /// Terms in the knowledge set, and rule instances that fired.
    known: usize,
    firings: usize,
    /// The expected verdict (`secure`, `attack on 10 secrets`).
    expected: String,
    /// `ok`, `MISMATCH` or `limit` (stopped before the answer was known).
    check: String,
    /// What differs, when `check` is `MISMATCH`.
    mismatch: Option<String>,
    /// YAML size in bytes, and generation time (not in `total_ms`).
    yaml_bytes: usize,
    gen_ms: f64,
    /// Lowering, saturation (`Report::elapsed`), and load plus check.
    load_ms: f64,
    sat_ms: f64,
    total_ms: f64,
    /// VmHWM before loading and after checking, in KiB.
    base_rss_kb: u64,
    peak_rss_kb: u64,
    /// Runs the figures are the median of (filled in by the parent).
    reps: u32,
    /// Why the case produced no figures, if it did not.
    error: Option<String>,
    /// The derivable secrets' labels (for `--proverif`'s comparison).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    derivable_labels: Vec<String>,
    /// CPU time (user + system) of loading and checking, in ms: measured
    /// by the child from its threads' schedstat, else by the parent from
    /// the reaped child's ticks (which include start-up and generation).
    #[serde(default)]
    cpu_ms: f64,
    /// With `--proverif`: ProVerif's side.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    proverif: Option<ProVerifCells>,
}

/// ProVerif's side of a row (`--proverif`).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct ProVerifCells {
    /// `ATTACK n/m`, `SECURE`, or why there is none (`n/a (XOR)`, `timeout (>120 s CPU)`).
    verdict: String,
    /// CPU time (user + system), median over the runs, in ms.
    cpu_ms: f64,
    /// Peak RSS, median over the runs, in KiB.
    peak_rss_kb: u64,
    /// apisat's CPU time over ProVerif's.
    cpu_ratio: Option<f64>,
    /// `yes`, `no (...)`, `?`, or why there is no comparison.
    agree: String,
}

/// The process's peak resident set size (`VmHWM`) in KiB; 0 if unknown.
fn peak_rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Runs one case in this process and returns its row.
fn run_one(case: Case, settings: Settings) -> Row {
    let mut row = Row {
        case: case.id(),
        family: case.family.name().into(),
        params: case.size.params(),
        reps: 1,
        ..Row::default()
    };
    let t0 = Instant::now();
    let generated = case.generate();
    row.gen_ms = ms(t0.elapsed());
    row.yaml_bytes = generated.yaml.len();
    row.expected = match generated.expect.verdict {
        Verdict::Attack => format!("attack on {}", generated.expect.derivable.len()),
        Verdict::Secure => "secure".into(),
        Verdict::Limit => "limit".into(),
    };
    row.base_rss_kb = peak_rss_kb();

    let file = case.file_name();
    let cpu_start = proverif::self_cpu_ns();
    let start = Instant::now();
    let loaded = match lower::load_source(&file, &generated.yaml) {
        Ok(loaded) => loaded,
        Err(diagnostics) => {
            eprint!("{}", render_all(&diagnostics, Some(&generated.yaml)));
            row.error = Some(format!(
                "the generated YAML does not load ({} diagnostics)",
                diagnostics.len()
            ));
            return row;
        }
    };
    row.load_ms = ms(start.elapsed());
    if !loaded.warnings.is_empty() {
        eprint!("{}", render_all(&loaded.warnings, Some(&loaded.source)));
    }
    row.initial = loaded.program.knowledge.len();
    let report = verdict::check_program(loaded.program, settings);
    row.total_ms = ms(start.elapsed());
    if let (Some(a), Some(b)) = (cpu_start, proverif::self_cpu_ns()) {
        row.cpu_ms = b.saturating_sub(a) as f64 / 1e6;
    }
    row.peak_rss_kb = peak_rss_kb();
    fill(&mut row, &report, &generated.expect);
    row
}

/// Copies a report's figures into a row and compares it with the expectation.
fn fill(row: &mut Row, report: &Report, expect: &Expect) {
    row.functions = report.stats.functions;
    row.known = report.stats.known;
    row.firings = report.stats.firings;
    row.sat_ms = ms(report.elapsed);
    row.secrets = report.secrets.len();
    let derivable: Vec<&str> = report
        .secrets
        .iter()
        .filter(|s| s.derivable == Some(true))
        .map(|s| s.label.as_str())
        .collect();
    row.derivable = derivable.len();
    row.derivable_labels = derivable.iter().map(|l| l.to_string()).collect();
    row.verdict = match report.verdict {
        Verdict::Attack => "attack",
        Verdict::Secure => "secure",
        Verdict::Limit => "limit",
    }
    .into();
    row.proof = report.proof.map(|p| {
        match p {
            Proof::Proved => "proved",
            Proof::UpTo => "up-to",
        }
        .to_string()
    });
    row.bounds = report
        .bounds
        .iter()
        .map(|b| match b.value {
            Some(v) => format!("{}={v}", b.bound),
            None => b.bound.clone(),
        })
        .collect();
    row.limit = report.limit.as_ref().map(|l| match l.limit.as_str() {
        "time" => format!("time={}ms", l.value),
        other => format!("{other}={}", l.value),
    });

    // Compare: the verdict, and exactly which secrets are derivable. When a
    // limit stopped saturation, only what was found can be compared.
    let unexpected: Vec<&str> = derivable
        .iter()
        .copied()
        .filter(|l| !expect.derivable.iter().any(|e| e == l))
        .collect();
    let missing: Vec<&str> = expect
        .derivable
        .iter()
        .map(String::as_str)
        .filter(|e| !derivable.contains(e))
        .collect();
    let stopped = report.limit.is_some();
    let mut problems = Vec::new();
    if !unexpected.is_empty() {
        problems.push(format!(
            "derivable but expected secret: {}",
            sample(&unexpected)
        ));
    }
    if !stopped {
        if !missing.is_empty() {
            problems.push(format!("expected derivable but not: {}", sample(&missing)));
        }
        if report.verdict != expect.verdict {
            problems.push(format!(
                "verdict {:?}, expected {:?}",
                report.verdict, expect.verdict
            ));
        }
    }
    row.check = if !problems.is_empty() {
        row.mismatch = Some(problems.join("; "));
        "MISMATCH".into()
    } else if stopped && !missing.is_empty() {
        "limit".into()
    } else {
        "ok".into()
    };
}

/// The first few of a list of labels, with a count of the rest.
fn sample(labels: &[&str]) -> String {
    let shown: Vec<&str> = labels.iter().take(5).copied().collect();
    let more = labels.len().saturating_sub(shown.len());
    if more > 0 {
        format!("{} (+{more} more)", shown.join(", "))
    } else {
        shown.join(", ")
    }
}

// ---------------------------------------------------------------------------
// The parent: children, medians, the table
// ---------------------------------------------------------------------------

/// Runs one case in a fresh child process and returns its row. The child
/// is killed if it outlives the saturation timeout by far (lowering, attack
/// extraction and replay are not under the engine's clock).
fn run_child(case: Case, args: &Args) -> Row {
    let failed = |error: String| Row {
        case: case.id(),
        family: case.family.name().into(),
        params: case.size.params(),
        check: "error".into(),
        error: Some(error),
        ..Row::default()
    };
    let exe = match std::env::current_exe() {
        Ok(exe) => exe,
        Err(e) => return failed(format!("cannot find this executable: {e}")),
    };
    let cpu_before = proverif::children_cpu_ms();
    let mut child = match Command::new(exe)
        .arg(format!("--one={}", case.id()))
        .args(args.child_flags())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
    {
        Ok(child) => child,
        Err(e) => return failed(format!("cannot start a child process: {e}")),
    };
    let deadline = args
        .settings()
        .limits
        .timeout
        .map(|t| t * 3 + Duration::from_secs(60));
    let start = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) => {}
            Err(e) => return failed(format!("waiting for the child: {e}")),
        }
        if deadline.is_some_and(|d| start.elapsed() > d) {
            // Our own child, by its handle.
            let _ = child.kill();
            let _ = child.wait();
            return failed(format!(
                "killed after {:.0} s (the saturation timeout does not cover lowering, attack \
                 extraction and replay)",
                start.elapsed().as_secs_f64()
            ));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let output = match child.wait_with_output() {
        Ok(output) => output,
        Err(e) => return failed(format!("reading the child's output: {e}")),
    };
    // The child is reaped: its CPU time is in our children's times.
    let cpu_ms = match (cpu_before, proverif::children_cpu_ms()) {
        (Some(a), Some(b)) => b - a,
        _ => 0.0,
    };
    let stdout = String::from_utf8_lossy(&output.stdout);
    match stdout.lines().rev().find(|l| l.starts_with('{')) {
        Some(line) => serde_json::from_str(line)
            // The child's own figure (ns resolution) unless it had none.
            .map(|row: Row| Row {
                cpu_ms: if row.cpu_ms > 0.0 { row.cpu_ms } else { cpu_ms },
                ..row
            })
            .unwrap_or_else(|e| failed(format!("bad result line from the child: {e}"))),
        None => failed(format!("the child printed no result ({})", output.status)),
    }
}

fn median_f(xs: &mut [f64]) -> f64 {
    xs.sort_by(|a, b| a.total_cmp(b));
    let n = xs.len();
    if n == 0 {
        0.0
    } else if n % 2 == 1 {
        xs[n / 2]
    } else {
        (xs[n / 2 - 1] + xs[n / 2]) / 2.0
    }
}

fn median_u(xs: &mut [u64]) -> u64 {
    xs.sort_unstable();
    let n = xs.len();
    if n == 0 {
        0
    } else if n % 2 == 1 {
        xs[n / 2]
    } else {
        (xs[n / 2 - 1] + xs[n / 2]) / 2
    }
}

/// Runs a case `reps` times and folds the runs into one row: the first run's
/// verdict and counts (they are deterministic; a run that disagrees is an
/// error), the median of the times and of the peak RSS.
fn run_case(case: Case, args: &Args) -> Row {
    let runs: Vec<Row> = (0..args.reps).map(|_| run_child(case, args)).collect();
    if let Some(bad) = runs.iter().find(|r| r.error.is_some()) {
        return bad.clone();
    }
    let mut row = runs[0].clone();
    let differs = runs.iter().any(|r| {
        (r.verdict.as_str(), r.known, r.firings, r.derivable)
            != (row.verdict.as_str(), row.known, row.firings, row.derivable)
    });
    if differs && row.limit.is_none() {
        row.error = Some("runs disagree on the verdict or the counts".into());
    }
    let f = |get: fn(&Row) -> f64| median_f(&mut runs.iter().map(get).collect::<Vec<_>>());
    row.gen_ms = f(|r| r.gen_ms);
    row.load_ms = f(|r| r.load_ms);
    row.sat_ms = f(|r| r.sat_ms);
    row.total_ms = f(|r| r.total_ms);
    row.cpu_ms = f(|r| r.cpu_ms);
    row.peak_rss_kb = median_u(&mut runs.iter().map(|r| r.peak_rss_kb).collect::<Vec<_>>());
    row.base_rss_kb = median_u(&mut runs.iter().map(|r| r.base_rss_kb).collect::<Vec<_>>());
    row.reps = args.reps;
    row
}

/// `SECURE up-to (input-depth=1)`, `ATTACK 10/20`, `LIMIT time=60000ms`.
fn verdict_cell(r: &Row) -> String {
    if r.error.is_some() {
        return "ERROR".into();
    }
    match r.verdict.as_str() {
        "attack" => {
            let mut s = format!("ATTACK {}/{}", r.derivable, r.secrets);
            if let Some(l) = &r.limit {
                let _ = write!(s, " ({l})");
            }
            s
        }
        "secure" => match r.proof.as_deref() {
            Some("proved") => "SECURE proved".into(),
            _ => format!("SECURE up-to ({})", r.bounds.join(", ")),
        },
        _ => format!("LIMIT {}", r.limit.as_deref().unwrap_or("?")),
    }
}

fn duration_cell(ms: f64) -> String {
    if ms < 1.0 {
        format!("{:.2} ms", ms)
    } else if ms < 1000.0 {
        format!("{:.0} ms", ms)
    } else {
        format!("{:.2} s", ms / 1e3)
    }
}

fn rss_cell(kb: u64) -> String {
    if kb == 0 {
        "?".into()
    } else if kb < 10 * 1024 {
        format!("{:.1} MB", kb as f64 / 1024.0)
    } else {
        format!("{} MB", kb / 1024)
    }
}

/// Thousands separators: 1234567 -> 1,234,567.
fn count_cell(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

const HEADER: [&str; 11] = [
    "family", "params", "fns", "init", "verdict", "check", "known", "firings", "saturate", "total",
    "peak RSS",
];
const WIDTHS: [usize; 11] = [13, 10, 4, 6, 32, 8, 10, 10, 9, 9, 9];
/// Columns aligned right (numbers).
const RIGHT: [bool; 11] = [
    false, false, true, true, false, false, true, true, true, true, true,
];

fn table_line(cells: &[String]) -> String {
    aligned_line(cells, &WIDTHS, &RIGHT)
}

/// One table line: cells padded to `widths`, numbers (`right`) aligned
/// right, two spaces between columns.
fn aligned_line(cells: &[String], widths: &[usize], right: &[bool]) -> String {
    let mut line = String::new();
    for (i, cell) in cells.iter().enumerate() {
        if i > 0 {
            line.push_str("  ");
        }
        if right[i] {
            let _ = write!(line, "{cell:>w$}", w = widths[i]);
        } else {
            let _ = write!(line, "{cell:<w$}", w = widths[i]);
        }
    }
    line.trim_end().to_string() + "\n"
}

fn text_row(r: &Row) -> String {
    if let Some(e) = &r.error {
        let mut cells: Vec<String> = vec![r.family.clone(), r.params.clone()];
        cells.extend(std::iter::repeat_n(String::new(), 2));
        cells.push("ERROR".into());
        let mut line = table_line(&cells);
        let _ = writeln!(line, "    error: {e}");
        return line;
    }
    let cells = vec![
        r.family.clone(),
        r.params.clone(),
        r.functions.to_string(),
        count_cell(r.initial),
        verdict_cell(r),
        r.check.clone(),
        count_cell(r.known),
        count_cell(r.firings),
        duration_cell(r.sat_ms),
        duration_cell(r.total_ms),
        rss_cell(r.peak_rss_kb),
    ];
    let mut line = table_line(&cells);
    if let Some(m) = &r.mismatch {
        let _ = writeln!(line, "    mismatch (expected {}): {m}", r.expected);
    }
    line
}

const SIDE_HEADER: [&str; 10] = [
    "family", "params", "apisat", "CPU", "peak RSS", "ProVerif", "PV CPU", "PV RSS", "ratio",
    "agree",
];
const SIDE_WIDTHS: [usize; 10] = [15, 8, 24, 9, 9, 16, 9, 9, 7, 4];
const SIDE_RIGHT: [bool; 10] = [
    false, false, false, true, true, false, true, true, true, false,
];

/// A `--proverif` row: apisat's verdict, CPU and peak memory beside
/// ProVerif's, the CPU ratio, and whether the verdicts agree.
fn side_row(r: &Row) -> String {
    let pv = r.proverif.clone().unwrap_or_default();
    let measured = !pv.verdict.starts_with("n/a") && !pv.verdict.starts_with("export");
    let cells = vec![
        r.family.clone(),
        r.params.clone(),
        verdict_cell(r),
        duration_cell(r.cpu_ms),
        rss_cell(r.peak_rss_kb),
        pv.verdict.clone(),
        if measured {
            duration_cell(pv.cpu_ms)
        } else {
            String::new()
        },
        if measured {
            rss_cell(pv.peak_rss_kb)
        } else {
            String::new()
        },
        pv.cpu_ratio.map_or(String::new(), |x| format!("{x:.3}")),
        pv.agree.clone(),
    ];
    let mut line = aligned_line(&cells, &SIDE_WIDTHS, &SIDE_RIGHT);
    if let Some(e) = &r.error {
        let _ = writeln!(line, "    error: {e}");
    }
    if let Some(m) = &r.mismatch {
        let _ = writeln!(line, "    mismatch (expected {}): {m}", r.expected);
    }
    line
}

/// Runs ProVerif on a case `reps` times (`--proverif`) and fills the row's
/// ProVerif side: the first run's verdict, the median CPU and peak RSS.
fn run_proverif(
    case: Case,
    row: &mut Row,
    args: &Args,
    binary: &std::path::Path,
    dir: &std::path::Path,
) {
    let generated = case.generate();
    let timeout = Duration::from_secs_f64(args.proverif_timeout.max(0.001));
    let runs: Vec<proverif::Outcome> = (0..args.reps)
        .map(|_| proverif::run(&case.file_name(), &generated.yaml, binary, dir, timeout))
        .collect();
    let first = &runs[0];
    let cpu = median_f(&mut runs.iter().map(|o| o.cpu_ms).collect::<Vec<_>>());
    let rss = median_u(&mut runs.iter().map(|o| o.peak_rss_kb).collect::<Vec<_>>());
    let decided = first.problem.is_none();
    row.proverif = Some(ProVerifCells {
        verdict: proverif::verdict(first),
        cpu_ms: cpu,
        peak_rss_kb: rss,
        cpu_ratio: (decided && cpu > 0.0).then(|| row.cpu_ms / cpu),
        agree: if first
            .problem
            .as_deref()
            .is_some_and(|p| p.starts_with("n/a"))
        {
            "n/a (XOR)".into()
        } else if row.error.is_some() {
            "? (apisat error)".into()
        } else {
            proverif::agree(first, &row.derivable_labels, row.limit.is_some())
        },
    });
}

/// The cases `--family` and `--sizes` select, in table order.
fn select(args: &Args) -> Result<Vec<Case>, String> {
    let families: Vec<Family> = if args.family.is_empty() {
        FAMILIES.to_vec()
    } else {
        FAMILIES
            .into_iter()
            .filter(|f| args.family.contains(f))
            .collect()
    };
    let sizes: Vec<Size> = args
        .sizes
        .iter()
        .map(|s| Size::parse(s))
        .collect::<Result<_, _>>()?;
    for s in &sizes {
        if !families.iter().any(|f| f.accepts(*s)) {
            let names: Vec<&str> = families.iter().map(|f| f.name()).collect();
            return Err(format!(
                "size `{}` fits none of the selected families ({}): hierarchy takes DxW, \
                 pkcs11 and pkcs11-clulow take N",
                s.id(),
                names.join(", ")
            ));
        }
    }
    let mut cases = Vec::new();
    for f in families {
        let mine: Vec<Size> = if sizes.is_empty() {
            f.default_sizes()
        } else {
            sizes.iter().copied().filter(|s| f.accepts(*s)).collect()
        };
        cases.extend(mine.into_iter().map(|size| Case { family: f, size }));
    }
    Ok(cases)
}

/// `--families`: writes the base API and the family files (to
/// `--emit-yaml DIR`, else a temporary folder removed afterwards), then
/// runs `apisat batch` on each family with each `--jobs` value.
fn run_families(args: &Args) -> ExitCode {
    let mut params = Vec::new();
    let sizes: Vec<String> = if args.sizes.is_empty() {
        vec!["32".into(), "1024".into()]
    } else {
        args.sizes.clone()
    };
    for s in &sizes {
        match s.trim().parse::<usize>() {
            Ok(n) if n.is_power_of_two() && (2..=1 << families::MAX_PARAMS).contains(&n) => {
                params.push(n.trailing_zeros() as usize)
            }
            _ => {
                eprintln!(
                    "bench: with --families, a size is a number of variants: a power of two \
                     from 2 to {}, not `{s}`",
                    1 << families::MAX_PARAMS
                );
                return ExitCode::from(2);
            }
        }
    }
    let (dir, temporary) = match &args.emit_yaml {
        Some(dir) => (dir.clone(), false),
        None => (
            std::env::temp_dir().join(format!("apisat-bench-families-{}", std::process::id())),
            true,
        ),
    };
    let mut files = vec![(
        families::BASE_FILE.to_string(),
        hierarchy(families::DEPTH, 1).yaml,
    )];
    files.extend(
        params
            .iter()
            .map(|&p| (families::family_file(p), families::family_yaml(p))),
    );
    if let Err(e) = std::fs::create_dir_all(&dir) {
        eprintln!("bench: cannot create {}: {e}", dir.display());
        return ExitCode::from(2);
    }
    for (name, text) in &files {
        let path = dir.join(name);
        if let Err(e) = std::fs::write(&path, text) {
            eprintln!("bench: cannot write {}: {e}", path.display());
            return ExitCode::from(2);
        }
        if !temporary {
            eprintln!("bench: wrote {}", path.display());
        }
    }
    if args.no_run {
        return ExitCode::SUCCESS;
    }
    let code = match apisat_binary(args) {
        Ok(apisat) => {
            let plan = throughput::Plan {
                params,
                jobs: args.jobs.iter().map(|&j| j as usize).collect(),
                reps: args.reps,
                apisat,
                dir: dir.clone(),
                search: search_flags(args),
            };
            if args.format == Format::Text {
                let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
                emit(&format!(
                    "# apisat batch throughput: {} run(s) per row, one `apisat batch --format json` \
                     process per run\n# {cores} cores, load average {:.2} at the start\n",
                    args.reps,
                    throughput::load_average()
                ));
                emit(&throughput::header());
            }
            let rows = throughput::run(&plan, |row| match args.format {
                Format::Text => emit(&throughput::text_row(row)),
                Format::Json => emit(&format!(
                    "{}\n",
                    serde_json::to_string(row).unwrap_or_default()
                )),
            });
            if rows.iter().any(|r| r.mismatches > 0 || r.problem.is_some()) {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            }
        }
        Err(e) => {
            eprintln!("bench: {e}");
            ExitCode::from(2)
        }
    };
    if temporary {
        // Our own folder, named by our process id.
        let _ = std::fs::remove_dir_all(&dir);
    }
    code
}

/// The apisat binary `--families` runs: `--apisat`, else `apisat` next to
/// this executable.
fn apisat_binary(args: &Args) -> Result<PathBuf, String> {
    let path = match &args.apisat {
        Some(p) => p.clone(),
        None => std::env::current_exe()
            .map_err(|e| format!("cannot find this executable: {e}"))?
            .with_file_name("apisat"),
    };
    if !path.is_file() {
        return Err(format!(
            "no apisat binary at {}: build it with `cargo build --release --bins` (`cargo run \
             --bin bench` builds only bench), or name one with --apisat",
            path.display()
        ));
    }
    Ok(path)
}

/// The bounds and limits, as `apisat batch` flags.
fn search_flags(args: &Args) -> Vec<String> {
    let mut flags = vec![
        format!("--max-depth={}", args.max_depth),
        format!("--input-depth={}", args.input_depth),
        format!("--xor-width={}", args.xor_width),
        format!("--max-facts={}", args.max_facts),
    ];
    if args.timeout.is_finite() && args.timeout > 0.0 {
        flags.push(format!("--timeout={}", args.timeout));
    }
    flags
}

fn main() -> ExitCode {
    let args = Args::parse();
    if args.families {
        return run_families(&args);
    }

    if let Some(one) = &args.one {
        let case = match Case::parse(one) {
            Ok(case) => case,
            Err(e) => {
                eprintln!("bench: {e}");
                return ExitCode::from(2);
            }
        };
        let row = run_one(case, args.settings());
        emit(&format!(
            "{}\n",
            serde_json::to_string(&row).unwrap_or_default()
        ));
        return ExitCode::SUCCESS;
    }

    let cases = match select(&args) {
        Ok(cases) => cases,
        Err(e) => {
            eprintln!("bench: {e}");
            return ExitCode::from(2);
        }
    };

    if let Some(dir) = &args.emit_yaml {
        if let Err(e) = std::fs::create_dir_all(dir) {
            eprintln!("bench: cannot create {}: {e}", dir.display());
            return ExitCode::from(2);
        }
        for case in &cases {
            let path = dir.join(case.file_name());
            if let Err(e) = std::fs::write(&path, case.generate().yaml) {
                eprintln!("bench: cannot write {}: {e}", path.display());
                return ExitCode::from(2);
            }
            eprintln!("bench: wrote {}", path.display());
        }
    }
    if args.no_run {
        return ExitCode::SUCCESS;
    }

    if args.format == Format::Text {
        let s = args.settings();
        let timeout = match s.limits.timeout {
            Some(t) => format!("{} s", t.as_secs_f64()),
            None => "none".into(),
        };
        emit(&format!(
            "# apisat bench: {} case(s), median of {} run(s) each, one child process per run\n\
             # bounds: max-depth {}, input-depth {}, xor-width {}; limits: max-facts {}, timeout {}\n",
            cases.len(),
            args.reps,
            s.bounds.max_depth,
            s.bounds.input_depth,
            s.bounds.xor_width,
            s.limits.max_facts,
            timeout
        ));
        if let Some(pv) = &args.proverif {
            emit(&format!(
                "# side by side with {} (killed after {} s of CPU time); CPU = user + system of the \
                 child process, ratio = apisat CPU / ProVerif CPU\n# {} cores, load average {:.2} at the start\n",
                pv.display(),
                args.proverif_timeout,
                std::thread::available_parallelism().map_or(0, |n| n.get()),
                throughput::load_average()
            ));
            let header: Vec<String> = SIDE_HEADER.iter().map(|h| h.to_string()).collect();
            emit(&aligned_line(&header, &SIDE_WIDTHS, &SIDE_RIGHT));
        } else {
            let header: Vec<String> = HEADER.iter().map(|h| h.to_string()).collect();
            emit(&table_line(&header));
        }
    }
    // Where the ProVerif models go: --emit-yaml's folder, else a temporary
    // one of our own, removed at the end.
    let pv_dir = args.proverif.as_ref().map(|_| match &args.emit_yaml {
        Some(dir) => (dir.clone(), false),
        None => (
            std::env::temp_dir().join(format!("apisat-bench-proverif-{}", std::process::id())),
            true,
        ),
    });
    if let Some((dir, _)) = &pv_dir {
        if let Err(e) = std::fs::create_dir_all(dir) {
            eprintln!("bench: cannot create {}: {e}", dir.display());
            return ExitCode::from(2);
        }
    }
    let mut bad = false;
    for case in cases {
        let mut row = run_case(case, &args);
        if let (Some(binary), Some((dir, _))) = (&args.proverif, &pv_dir) {
            run_proverif(case, &mut row, &args, binary, dir);
            bad |= row
                .proverif
                .as_ref()
                .is_some_and(|p| p.agree.starts_with("no"));
        }
        bad |= row.error.is_some() || row.check == "MISMATCH";
        match args.format {
            Format::Text if args.proverif.is_some() => emit(&side_row(&row)),
            Format::Text => emit(&text_row(&row)),
            Format::Json => emit(&format!(
                "{}\n",
                serde_json::to_string(&row).unwrap_or_default()
            )),
        }
    }
    if let Some((dir, true)) = &pv_dir {
        // Our own folder, named by our process id.
        let _ = std::fs::remove_dir_all(dir);
    }
    if bad {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

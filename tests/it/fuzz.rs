//! Fuzzing the front end and the limits: mutated API files and generated
//! term strings, each loaded and checked with small limits.
//!
//! Inputs: the bundled `apis/*.yaml` and `tests/invalid/*.yaml`, mutated
//! (byte flips, deletions, duplications, splices of two files, deep
//! nesting, huge numbers, odd Unicode: BOM, NUL, CR, right-to-left marks,
//! combining marks, invalid UTF-8), and term strings generated at random
//! (constructors, tuples, `{m}k`, XOR, `in [...]`, junk) put into an API
//! file's knowledge and given to `explain`'s term parser. Each input is
//! loaded and checked in-process inside `catch_unwind`, and every
//! [`BINARY_EVERY`]th through the `apisat` binary (whose allocator counts
//! memory, so `--max-memory` holds there). Asserted: no panic; every error
//! located (line and column from 1; the binary's exit code 2 with a
//! `-->` location); the binary's exit code one of 0, 1, 2, 3; a report
//! within the fact limit. Time is measured but never asserted (tests do
//! not fail on timing): runs over the time limit are counted and printed.
//! `fuzz_spi_front_end` does the same for the spi front end, from
//! `apis/*.spi` and `tests/invalid_spi/*.spi`, with pieces of the spi
//! notation among the insertions.
//!
//! The default budget is small (a few seconds, fixed seed). A long run:
//!
//! ```text
//! APISAT_FUZZ_CASES=100000000 APISAT_FUZZ_SECS=1800 \
//!     cargo test --release --test it fuzz_front_end -- --nocapture
//! ```
//!
//! (`APISAT_FUZZ_SEED` picks another seed; `APISAT_FUZZ_BIN` another
//! `apisat` binary for the runs through the binary.) It prints inputs tried, panics,
//! errors without a location, and runs over their limits; an input that
//! fails is written to `$CARGO_TARGET_TMPDIR/fuzz-failure.yaml`.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use apisat::engine::{Bounds, Limits};
use apisat::lower::{load_source, parse_ground_term};
use apisat::verdict::{check_program, Settings};

/// Every this many inputs, one is run through the binary too.
const BINARY_EVERY: u64 = 25;

/// The time limit of each in-process check.
const TIMEOUT: Duration = Duration::from_millis(500);

/// The fact limit of each check.
const MAX_FACTS: usize = 20_000;

/// splitmix64: small, seeded, and the same on every platform.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number below `n` (`n` > 0).
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn chance(&mut self, one_in: usize) -> bool {
        self.below(one_in) == 0
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// The seed corpus: bundled APIs, then the invalid fixtures; and how
/// many of the files are bundled APIs.
fn corpus() -> (Vec<Vec<u8>>, usize) {
    corpus_of(["apis", "tests/invalid"], "yaml")
}

/// [`corpus`] of the files ending in `.EXT` in `dirs` (the first: valid
/// APIs).
fn corpus_of(dirs: [&str; 2], ext: &str) -> (Vec<Vec<u8>>, usize) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut out = Vec::new();
    let mut apis = 0;
    for dir in dirs {
        let mut files: Vec<PathBuf> = std::fs::read_dir(root.join(dir))
            .map(|entries| {
                entries
                    .flatten()
                    .map(|e| e.path())
                    .filter(|p| p.extension().is_some_and(|e| e == ext))
                    .collect()
            })
            .unwrap_or_default();
        files.sort();
        out.extend(files.iter().filter_map(|p| std::fs::read(p).ok()));
        if dir == dirs[0] {
            apis = out.len();
        }
    }
    (out, apis)
}

/// Odd pieces of text to insert.
const ODD: &[&str] = &[
    "\u{feff}",
    "\0",
    "\r",
    "\r\n",
    "\u{202e}",
    "e\u{301}\u{301}\u{301}",
    "\u{1F512}",
    "𝕂",
    "\t",
    "99999999999999999999999999999",
    "-1",
    "1e308",
    "0x7fffffff",
    "~",
    "&a ",
    "*a",
    "!!str ",
    "? ",
    ": ",
    "- ",
    "---\n",
    "...\n",
    "#",
    "\"",
    "'",
    "{",
    "}",
    "[",
    "]",
    ",",
    " xor ",
    "⊕",
    "_",
    "@1",
];

/// A random term string: mostly well formed, sometimes broken.
fn term(rng: &mut Rng, depth: usize) -> String {
    const ATOMS: &[&str] = &["A", "B", "K", "KM", "0", "PAN", "k1", "A", "B", "K"];
    const CTORS: &[&str] = &["senc", "h", "pair", "enc", "hdl", "wrap", "f"];
    if depth == 0 || rng.chance(3) {
        return rng.pick(ATOMS).to_string();
    }
    match rng.below(8) {
        0 | 1 => {
            let n = 1 + rng.below(3);
            let args: Vec<String> = (0..n).map(|_| term(rng, depth - 1)).collect();
            format!("{}({})", rng.pick(CTORS), args.join(", "))
        }
        2 => {
            let n = 2 + rng.below(3);
            let args: Vec<String> = (0..n).map(|_| term(rng, depth - 1)).collect();
            format!("({})", args.join(", "))
        }
        3 => format!("{{{}}}{}", term(rng, depth - 1), rng.pick(ATOMS)),
        4 => format!("{} xor {}", term(rng, depth - 1), term(rng, depth - 1)),
        5 => format!("{} ⊕ {}", term(rng, depth - 1), term(rng, depth - 1)),
        6 => {
            // Deep nesting, past the caps now and then.
            let deep = rng.chance(4);
            let k = 1 + rng.below(if deep { 200 } else { 10 });
            format!("{}{}{}", "h(".repeat(k), term(rng, 0), ")".repeat(k))
        }
        _ => {
            // Junk: a well-formed term cut or with a piece inserted.
            let mut t = term(rng, depth - 1);
            let at = rng.below(t.len() + 1);
            if t.is_char_boundary(at) {
                let odd = *rng.pick(ODD);
                t.insert_str(at, odd);
            }
            t
        }
    }
}

/// An API file around generated term strings.
fn term_file(rng: &mut Rng) -> String {
    let terms: Vec<String> = (0..2 + rng.below(3)).map(|_| term(rng, 4)).collect();
    let quoted: Vec<String> = terms
        .iter()
        .map(|t| format!("\"{}\"", t.replace('\\', "\\\\").replace('"', "\\\"")))
        .collect();
    format!(
        "names: {{public: [A, B, PAN], secret: [K, KM, k1]}}\n\
         constructors: {{senc: 2, h: 1, pair: 2, enc: {{arity: 2, public: false}}}}\n\
         knowledge: [{}]\n\
         functions:\n  - {{name: F, inputs: [\"senc(x, KM)\", y], outputs: [\"(x, y)\"]}}\n  \
         - {{name: G, inputs: [{}], outputs: [K]}}\n\
         secrets: [K, {}]\n",
        quoted[1..].join(", "),
        quoted[0],
        quoted[quoted.len() - 1]
    )
}

/// One mutation of `input` (`other`: a second corpus file, for splices).
fn mutate(rng: &mut Rng, input: &mut Vec<u8>, other: &[u8]) {
    let len = input.len();
    let at = rng.below(len + 1);
    match rng.below(9) {
        0 if len > 0 => {
            let i = rng.below(len);
            input[i] ^= 1 << rng.below(8);
        }
        1 if len > 0 => {
            let n = 1 + rng.below(16.min(len - at.min(len - 1)));
            let end = (at + n).min(len);
            input.drain(at.min(len)..end);
        }
        2 if len > 0 => {
            let start = rng.below(len);
            let end = (start + 1 + rng.below(64)).min(len);
            let piece: Vec<u8> = input[start..end].to_vec();
            let many = rng.chance(8);
            let times = 1 + rng.below(if many { 500 } else { 3 });
            for _ in 0..times {
                input.splice(at..at, piece.iter().copied());
            }
        }
        3 if !other.is_empty() => {
            let start = rng.below(other.len());
            let end = (start + rng.below(400)).min(other.len());
            input.truncate(at);
            input.extend_from_slice(&other[start..end]);
        }
        4 => {
            let deep = rng.chance(3);
            let k = 1 + rng.below(if deep { 5000 } else { 80 });
            let (open, close) = *rng.pick(&[("[", "]"), ("{a: ", "}"), ("- ", ""), ("h(", ")")]);
            let mut piece = open.repeat(k);
            piece.push('1');
            piece.push_str(&close.repeat(k));
            input.splice(at..at, piece.into_bytes());
        }
        5 => {
            let odd = rng.pick(ODD).as_bytes().to_vec();
            input.splice(at..at, odd);
        }
        6 => {
            const BAD: [&[u8]; 3] = [&[0xff], &[0xc3], &[0xed, 0xa0, 0x80]];
            let bytes: &[u8] = BAD[rng.below(BAD.len())];
            input.splice(at..at, bytes.iter().copied());
        }
        7 => {
            let n = format!("{}", rng.next());
            input.splice(at..at, n.into_bytes());
        }
        _ => {
            // Truncate.
            input.truncate(at);
        }
    }
}

/// What one input did.
#[derive(Default)]
struct Tally {
    inputs: u64,
    loaded: u64,
    errors: u64,
    binary_runs: u64,
    panics: u64,
    unlocated: u64,
    over_limit: u64,
    slowest: Duration,
    failures: Vec<String>,
}

fn settings() -> Settings {
    Settings {
        bounds: Bounds::default(),
        limits: Limits {
            max_facts: MAX_FACTS,
            timeout: Some(TIMEOUT),
            max_memory: Some(256 << 20),
        },
        state_calls: apisat::stateful::DEFAULT_STATE_CALLS,
        ..Settings::default()
    }
}

/// Loads and checks one input in-process as the file `file` (its
/// extension picks the reader); records what went wrong.
fn run_in_process(file: &str, text: &str, term_text: Option<&str>, tally: &mut Tally) {
    let start = Instant::now();
    let outcome = catch_unwind(AssertUnwindSafe(|| -> Result<(), String> {
        match load_source(file, text) {
            Ok(mut loaded) => {
                if let Some(t) = term_text {
                    if let Err(ds) = parse_ground_term(&mut loaded, t) {
                        for d in ds.iter().filter(|d| d.is_error()) {
                            if d.span.line == 0 || d.span.col == 0 {
                                return Err(format!(
                                    "term error without a location: {}",
                                    d.message
                                ));
                            }
                        }
                    }
                }
                let report = check_program(loaded.program, settings());
                if report.stats.known > MAX_FACTS + 1 {
                    return Err(format!(
                        "{} known terms, past the fact limit {MAX_FACTS}",
                        report.stats.known
                    ));
                }
                Ok(())
            }
            Err(ds) => {
                if !ds.iter().any(|d| d.is_error()) {
                    return Err("refused without an error".into());
                }
                for d in ds.iter().filter(|d| d.is_error()) {
                    if d.span.line == 0 || d.span.col == 0 {
                        return Err(format!("error without a location: {}", d.message));
                    }
                }
                Err(String::new())
            }
        }
    }));
    let took = start.elapsed();
    tally.slowest = tally.slowest.max(took);
    // The check stops itself within the limit; lowering is linear.
    if took > TIMEOUT.mul_f64(1.1) + Duration::from_millis(100) {
        tally.over_limit += 1;
        keep_slow(text.as_bytes(), took, tally.over_limit);
    }
    match outcome {
        Ok(Ok(())) => tally.loaded += 1,
        Ok(Err(e)) if e.is_empty() => tally.errors += 1,
        Ok(Err(e)) => {
            tally.unlocated += 1;
            tally.failures.push(e);
        }
        Err(_) => {
            tally.panics += 1;
            tally.failures.push("panic".into());
        }
    }
}

/// Runs the binary on one input, written to a file ending in `.EXT`;
/// records what went wrong.
fn run_binary(ext: &str, bytes: &[u8], tally: &mut Tally) {
    let path = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("fuzz-{:?}.{ext}", std::thread::current().id()));
    std::fs::write(&path, bytes).unwrap();
    let start = Instant::now();
    // `APISAT_FUZZ_BIN`: a copy of the binary, for a long run while the
    // build directory changes.
    let bin = std::env::var("APISAT_FUZZ_BIN")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_apisat").to_string());
    let out = Command::new(bin)
        .args([
            "check",
            "--timeout",
            "1",
            "--max-facts",
            "50000",
            "--max-memory",
            "256M",
        ])
        .arg(&path)
        .output()
        .expect("the binary runs");
    let took = start.elapsed();
    tally.binary_runs += 1;
    if took > Duration::from_millis(1200) {
        tally.over_limit += 1;
        keep_slow(bytes, took, tally.over_limit);
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    let code = out.status.code();
    if stderr.contains("panicked") || code == Some(101) || code.is_none() {
        tally.panics += 1;
        tally
            .failures
            .push(format!("binary: exit {code:?}: {stderr}"));
    } else if !matches!(code, Some(0..=3)) {
        tally.failures.push(format!("binary: exit {code:?}"));
    } else if code == Some(2) && !stderr.contains("-->") {
        tally.unlocated += 1;
        tally
            .failures
            .push(format!("binary: an error without a location: {stderr}"));
    }
}

/// Writes an input that ran over its time limit (wall clock, so possibly
/// a loaded machine) to `$CARGO_TARGET_TMPDIR/fuzz-slow-N.yaml`, the
/// first 20, to be run again by hand.
fn keep_slow(bytes: &[u8], took: Duration, n: u64) {
    if n <= 20 {
        let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("fuzz-slow-{n}.yaml"));
        let _ = std::fs::write(&path, bytes);
        eprintln!(
            "fuzz: an input took {} ms, written to {}",
            took.as_millis(),
            path.display()
        );
    }
}

/// Runs one input read as a `.EXT` file in-process (and every
/// [`BINARY_EVERY`]th through the binary); false when it failed, after
/// writing it to `$CARGO_TARGET_TMPDIR/fuzz-failure.EXT`.
fn run_one(ext: &str, bytes: &[u8], term_text: Option<&str>, tally: &mut Tally) -> bool {
    let before = tally.failures.len();
    // The file reader's job: bytes that are not UTF-8 are refused with
    // a location by the binary; in-process, the lossy text is checked.
    let text = String::from_utf8_lossy(bytes).into_owned();
    run_in_process(&format!("fuzz.{ext}"), &text, term_text, tally);
    if tally.inputs.is_multiple_of(BINARY_EVERY) {
        run_binary(ext, bytes, tally);
    }
    if tally.failures.len() == before {
        return true;
    }
    let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("fuzz-failure.{ext}"));
    let _ = std::fs::write(&path, bytes);
    eprintln!(
        "fuzz: {ext} input {} failed ({}), written to {}",
        tally.inputs,
        tally.failures.last().unwrap(),
        path.display()
    );
    false
}

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Mutated API files and generated terms: no panic, every error located,
/// every report within its limits (module doc; the long-run command there).
#[test]
fn fuzz_front_end() {
    let cases = env_number("APISAT_FUZZ_CASES", 1500);
    let secs = env_number("APISAT_FUZZ_SECS", 3);
    let seed = env_number("APISAT_FUZZ_SEED", 15);
    let (corpus, apis) = corpus();
    assert!(corpus.len() > 20 && apis > 4, "the corpus is read");
    let mut rng = Rng(seed);
    let mut tally = Tally::default();
    let start = Instant::now();
    let mut last_report = Instant::now();
    while tally.inputs < cases && start.elapsed() < Duration::from_secs(secs) {
        tally.inputs += 1;
        let (bytes, term_text) = if rng.chance(4) {
            let text = term_file(&mut rng);
            let t = term(&mut rng, 5);
            (text.into_bytes(), Some(t))
        } else {
            // Half the time a bundled API (they load), else any file.
            let valid = &corpus[..apis];
            let mut input = if rng.chance(2) {
                rng.pick(valid).clone()
            } else {
                rng.pick(&corpus).clone()
            };
            let other = rng.pick(&corpus).clone();
            // Mostly one mutation, so that many inputs still load and are
            // checked; sometimes several.
            let rounds = if rng.chance(3) { 1 + rng.below(4) } else { 1 };
            for _ in 0..rounds {
                mutate(&mut rng, &mut input, &other);
            }
            (input, None)
        };
        if !run_one("yaml", &bytes, term_text.as_deref(), &mut tally) {
            break;
        }
        if last_report.elapsed() > Duration::from_secs(60) {
            last_report = Instant::now();
            eprintln!(
                "fuzz: {} inputs, {} panics, {} unlocated, {} over a limit, {:.0} s",
                tally.inputs,
                tally.panics,
                tally.unlocated,
                tally.over_limit,
                start.elapsed().as_secs_f64()
            );
        }
    }
    eprintln!(
        "fuzz: seed {seed}: {} inputs tried ({} checked, {} refused with located errors, {} also through the binary) in {:.1} s; panics {}, errors without a location {}, runs over their time limit {} (slowest in-process {} ms)",
        tally.inputs,
        tally.loaded,
        tally.errors,
        tally.binary_runs,
        start.elapsed().as_secs_f64(),
        tally.panics,
        tally.unlocated,
        tally.over_limit,
        tally.slowest.as_millis()
    );
    assert!(tally.failures.is_empty(), "{:?}", tally.failures);
}

/// Pieces of the spi notation to insert into spi inputs.
const SPI_ODD: &[&str] = &[
    "!",
    "|",
    ".",
    "(new K)",
    "(ν n) ",
    "c(x). ",
    "cuser<",
    ">",
    "⟨",
    "⟩",
    "case ",
    " of ",
    " in ",
    "let (a, b) = ",
    "[x is ",
    "]",
    "[a == b]",
    "[t in [A, B]]",
    "system = ",
    "F = ",
    "secret ",
    "expect ",
    "(*",
    "*)",
    "\"",
    "0",
    "_",
    "\u{0305}",
];

/// The spi front end under the same mutations (and pieces of its own
/// notation): no panic, every error located, through the library and
/// the binary (`APISAT_FUZZ_CASES`, `APISAT_FUZZ_SECS`, `APISAT_FUZZ_SEED`
/// as for [`fuzz_front_end`]).
#[test]
fn fuzz_spi_front_end() {
    let cases = env_number("APISAT_FUZZ_CASES", 1500);
    let secs = env_number("APISAT_FUZZ_SECS", 3);
    let seed = env_number("APISAT_FUZZ_SEED", 15);
    let (corpus, apis) = corpus_of(["apis", "tests/invalid_spi"], "spi");
    assert!(corpus.len() > 20 && apis >= 2, "the spi corpus is read");
    let mut rng = Rng(seed);
    let mut tally = Tally::default();
    let start = Instant::now();
    while tally.inputs < cases && start.elapsed() < Duration::from_secs(secs) {
        tally.inputs += 1;
        let mut input = if rng.chance(2) {
            rng.pick(&corpus[..apis]).clone()
        } else {
            rng.pick(&corpus).clone()
        };
        let other = rng.pick(&corpus).clone();
        let rounds = if rng.chance(3) { 1 + rng.below(4) } else { 1 };
        for _ in 0..rounds {
            if rng.chance(2) {
                let at = rng.below(input.len() + 1);
                let piece = rng.pick(SPI_ODD).as_bytes().to_vec();
                input.splice(at..at, piece);
            } else {
                mutate(&mut rng, &mut input, &other);
            }
        }
        if !run_one("spi", &input, None, &mut tally) {
            break;
        }
    }
    eprintln!(
        "fuzz: spi, seed {seed}: {} inputs tried ({} checked, {} refused with located errors, {} also through the binary) in {:.1} s; panics {}, errors without a location {}, runs over their time limit {}",
        tally.inputs,
        tally.loaded,
        tally.errors,
        tally.binary_runs,
        start.elapsed().as_secs_f64(),
        tally.panics,
        tally.unlocated,
        tally.over_limit,
    );
    assert!(tally.failures.is_empty(), "{:?}", tally.failures);
}

//! `bench --families`: batch throughput. Runs `apisat batch --format json
//! --jobs J` (the release binary, a child process per run) on the family
//! files of [`super::families`] and reports variants per second, per-variant
//! times, peak RSS and the verdict mix, checked variant by variant against
//! [`families::expected`].

use std::fmt::Write as _;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;

use apisat::outcome::Outcome;

use super::families;

/// How often the parent samples the child's `VmHWM`.
const SAMPLE_EVERY: Duration = Duration::from_millis(2);

/// What to run.
pub struct Plan {
    /// Families, by parameter count (`2^p` variants each).
    pub params: Vec<usize>,
    /// Worker counts to run each family with.
    pub jobs: Vec<usize>,
    /// Runs per (family, jobs).
    pub reps: u32,
    /// The apisat binary.
    pub apisat: PathBuf,
    /// Where the base and family files are.
    pub dir: PathBuf,
    /// Bounds and limits, as apisat flags.
    pub search: Vec<String>,
}

/// One (family, jobs) row: the figures over `reps` runs.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Row {
    /// The family's name (`leaf-key-1024`).
    pub family: String,
    /// Variants in the family.
    pub variants: usize,
    /// `apisat batch --jobs`.
    pub jobs: usize,
    /// Runs the figures are taken over.
    pub reps: u32,
    /// Wall clock of the whole `apisat batch` process (start to exit),
    /// best and median over the runs.
    pub wall_ms_best: f64,
    /// See `wall_ms_best`.
    pub wall_ms_median: f64,
    /// Variants per second of wall clock, from the best and the median run.
    pub per_sec_best: f64,
    /// See `per_sec_best`.
    pub per_sec_median: f64,
    /// Median and 95th percentile of the variants' `elapsed_ms` (expansion,
    /// lowering, checking, outcome), over every variant of every run.
    pub variant_ms_median: f64,
    /// See `variant_ms_median`.
    pub variant_ms_p95: f64,
    /// The child's CPU time (user + system), median over the runs, in
    /// milliseconds; from this process's `cutime + cstime` in
    /// `/proc/self/stat` before and after the run (10 ms ticks).
    pub cpu_ms_median: f64,
    /// Variants per CPU second (`variants / cpu_ms_median`): the rate on
    /// one idle core, less sensitive to other processes than wall clock.
    pub per_cpu_sec: f64,
    /// Sum of the variants' `elapsed_ms` in the median run: the work the
    /// workers did, against `wall_ms_median`.
    pub variant_ms_sum: f64,
    /// Median over the runs of the child's peak RSS (`VmHWM`, sampled every
    /// 2 ms while it runs, so a lower bound), in KiB.
    pub peak_rss_kb: u64,
    /// Verdict counts (of the first run; every run must agree).
    pub secure_proved: usize,
    /// Secure up to bounds.
    pub secure_up_to: usize,
    /// Attacks.
    pub attack: usize,
    /// Limits and errors.
    pub other: usize,
    /// Variants whose verdict, derivable secrets or attack length differ
    /// from the expectation (over every run).
    pub mismatches: usize,
    /// The first mismatch, or why the run failed.
    pub problem: Option<String>,
    /// The 1-minute load average when the row started.
    pub load: f64,
}

/// One run of `apisat batch`.
struct Run {
    wall: Duration,
    cpu: Duration,
    peak_rss_kb: u64,
    outcomes: Vec<Outcome>,
}

/// Runs every (family, jobs) of the plan and hands each row to `sink`.
pub fn run(plan: &Plan, mut sink: impl FnMut(&Row)) -> Vec<Row> {
    let mut rows = Vec::new();
    for &p in &plan.params {
        let file = plan.dir.join(families::family_file(p));
        for &jobs in &plan.jobs {
            let row = measure(plan, p, &file, jobs);
            sink(&row);
            rows.push(row);
        }
    }
    rows
}

/// `reps` runs of one family with `jobs` workers, folded into a row.
fn measure(plan: &Plan, p: usize, file: &Path, jobs: usize) -> Row {
    let mut row = Row {
        family: families::family_name(p),
        variants: 1 << p,
        jobs,
        reps: plan.reps,
        load: load_average(),
        ..Row::default()
    };
    let mut runs = Vec::new();
    for _ in 0..plan.reps {
        match run_batch(plan, file, jobs) {
            Ok(r) => runs.push(r),
            Err(e) => {
                row.problem = Some(e);
                return row;
            }
        }
    }
    for r in &runs {
        if r.outcomes.len() != row.variants {
            row.problem = Some(format!(
                "apisat printed {} outcomes for {} variants",
                r.outcomes.len(),
                row.variants
            ));
            return row;
        }
        for o in &r.outcomes {
            if let Some(m) = mismatch(o) {
                row.mismatches += 1;
                row.problem.get_or_insert(m);
            }
        }
    }
    for o in &runs[0].outcomes {
        match (o.verdict.as_str(), o.proof.as_deref()) {
            ("secure", Some("proved")) => row.secure_proved += 1,
            ("secure", _) => row.secure_up_to += 1,
            ("attack", _) => row.attack += 1,
            _ => row.other += 1,
        }
    }
    let mut walls: Vec<f64> = runs.iter().map(|r| ms(r.wall)).collect();
    walls.sort_by(f64::total_cmp);
    row.wall_ms_best = walls[0];
    row.wall_ms_median = median(&walls);
    row.per_sec_best = row.variants as f64 / (row.wall_ms_best / 1e3);
    row.per_sec_median = row.variants as f64 / (row.wall_ms_median / 1e3);
    let mut each: Vec<f64> = runs
        .iter()
        .flat_map(|r| r.outcomes.iter().filter_map(|o| o.elapsed_ms))
        .collect();
    each.sort_by(f64::total_cmp);
    row.variant_ms_median = median(&each);
    row.variant_ms_p95 = percentile(&each, 0.95);
    let mut sums: Vec<f64> = runs
        .iter()
        .map(|r| r.outcomes.iter().filter_map(|o| o.elapsed_ms).sum())
        .collect();
    sums.sort_by(f64::total_cmp);
    row.variant_ms_sum = median(&sums);
    let mut cpu: Vec<f64> = runs.iter().map(|r| ms(r.cpu)).collect();
    cpu.sort_by(f64::total_cmp);
    row.cpu_ms_median = median(&cpu);
    if row.cpu_ms_median > 0.0 {
        row.per_cpu_sec = row.variants as f64 / (row.cpu_ms_median / 1e3);
    }
    let mut rss: Vec<u64> = runs.iter().map(|r| r.peak_rss_kb).collect();
    rss.sort_unstable();
    row.peak_rss_kb = rss[rss.len() / 2];
    row
}

/// How an outcome differs from its variant's expectation, if it does.
fn mismatch(o: &Outcome) -> Option<String> {
    let values: Vec<(String, String)> = o
        .params
        .iter()
        .map(|p| (p.name.clone(), p.value.clone()))
        .collect();
    let want = families::expected(&values);
    let got: Vec<(String, usize)> = o
        .secrets
        .iter()
        .filter(|s| s.status == "derivable")
        .map(|s| (s.label.clone(), s.calls.unwrap_or(0)))
        .collect();
    if o.verdict == want.verdict && got == want.derivable {
        return None;
    }
    let variant = o.variant.as_deref().unwrap_or("?");
    Some(format!(
        "{variant}: got {} {got:?}, expected {} {:?}",
        o.verdict, want.verdict, want.derivable
    ))
}

/// One `apisat batch --format json --jobs J FILE` in a child process: its
/// wall clock (spawn to exit), its sampled peak RSS and its outcomes.
fn run_batch(plan: &Plan, file: &Path, jobs: usize) -> Result<Run, String> {
    // Runs are one at a time, so the children's CPU time this process
    // gains during the run is this child's.
    let cpu_before = children_cpu();
    let start = Instant::now();
    let mut child = Command::new(&plan.apisat)
        .arg("batch")
        .arg("--format=json")
        .arg(format!("--jobs={jobs}"))
        .args(&plan.search)
        .arg(file)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", plan.apisat.display()))?;
    let pid = child.id();
    let mut stdout = child
        .stdout
        .take()
        .ok_or_else(|| "no pipe from the child".to_string())?;
    // The output (about 1 KB a variant) is read while the child runs, so
    // that a full pipe never blocks it.
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        stdout.read_to_string(&mut text).map(|_| text)
    });
    // A waiter thread owns the child, so the exit time is exact; this
    // thread samples VmHWM until the waiter says the child is gone.
    let done = Arc::new(AtomicBool::new(false));
    let exit_ns = Arc::new(AtomicU64::new(0));
    let waiter = {
        let done = Arc::clone(&done);
        let exit_ns = Arc::clone(&exit_ns);
        std::thread::spawn(move || {
            let status = child.wait();
            exit_ns.store(start.elapsed().as_nanos() as u64, Ordering::SeqCst);
            done.store(true, Ordering::SeqCst);
            status
        })
    };
    let mut peak = 0;
    while !done.load(Ordering::SeqCst) {
        peak = peak.max(vm_hwm_kb(pid));
        std::thread::sleep(SAMPLE_EVERY);
    }
    let status = waiter
        .join()
        .map_err(|_| "the waiter thread panicked".to_string())?
        .map_err(|e| format!("waiting for apisat: {e}"))?;
    let wall = Duration::from_nanos(exit_ns.load(Ordering::SeqCst));
    let cpu = children_cpu().saturating_sub(cpu_before);
    let text = reader
        .join()
        .map_err(|_| "the reader thread panicked".to_string())?
        .map_err(|e| format!("reading apisat's output: {e}"))?;
    // Exit codes 0 (all secure), 1 (an attack) and 3 (a limit) are
    // verdicts; anything else is a failure.
    if !matches!(status.code(), Some(0 | 1 | 3)) {
        return Err(format!("apisat batch failed ({status})"));
    }
    let outcomes = text
        .lines()
        .map(|l| serde_json::from_str::<Outcome>(l).map_err(|e| format!("bad JSON line: {e}")))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Run {
        wall,
        cpu,
        peak_rss_kb: peak,
        outcomes,
    })
}

/// A process's `VmHWM` in KiB; 0 once it is gone.
fn vm_hwm_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// CPU time (user + system) of this process's reaped children:
/// `cutime + cstime` of `/proc/self/stat`, in ticks of 1/100 s (Linux
/// reports them in USER_HZ, 100 on every mainstream architecture); zero if
/// unknown.
fn children_cpu() -> Duration {
    let ticks = std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            // Fields after the command name, which is in parentheses and
            // may hold spaces: state is field 3, cutime 16, cstime 17.
            let rest = s.rsplit_once(')')?.1;
            let fields: Vec<&str> = rest.split_whitespace().collect();
            let cutime: u64 = fields.get(13)?.parse().ok()?;
            let cstime: u64 = fields.get(14)?.parse().ok()?;
            Some(cutime + cstime)
        })
        .unwrap_or(0);
    Duration::from_millis(ticks * 10)
}

/// The 1-minute load average; 0 if unknown.
pub fn load_average() -> f64 {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|v| v.parse().ok()))
        .unwrap_or(0.0)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// The median of sorted values.
fn median(sorted: &[f64]) -> f64 {
    let n = sorted.len();
    match n {
        0 => 0.0,
        _ if n % 2 == 1 => sorted[n / 2],
        _ => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

/// The nearest-rank percentile `q` (0..1] of sorted values.
fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

// ---------------------------------------------------------------------------
// The table
// ---------------------------------------------------------------------------

const HEADER: [&str; 14] = [
    "family",
    "variants",
    "jobs",
    "verdicts",
    "check",
    "wall best",
    "wall med",
    "var/s best",
    "var/s med",
    "cpu med",
    "var/cpu-s",
    "var med",
    "var p95",
    "peak RSS",
];
const WIDTHS: [usize; 14] = [14, 8, 4, 24, 5, 9, 9, 10, 9, 9, 9, 8, 8, 8];
/// Columns aligned left (text); the rest are numbers.
const LEFT: [bool; 14] = [
    true, false, false, true, true, false, false, false, false, false, false, false, false, false,
];

/// The table's header line.
pub fn header() -> String {
    line(&HEADER.map(String::from))
}

fn line(cells: &[String]) -> String {
    let right = LEFT.map(|left| !left);
    super::aligned_line(cells, &WIDTHS, &right)
}

/// One row of the table, with a note line for a mismatch or a failure.
pub fn text_row(r: &Row) -> String {
    let mix = [
        ("proved", r.secure_proved),
        ("up-to", r.secure_up_to),
        ("attack", r.attack),
        ("other", r.other),
    ];
    let verdicts: Vec<String> = mix
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(k, n)| format!("{n} {k}"))
        .collect();
    let failed = r.wall_ms_best == 0.0;
    let check = if failed {
        "ERROR".to_string()
    } else if r.mismatches > 0 {
        format!("{} WRONG", r.mismatches)
    } else {
        "ok".to_string()
    };
    let cells = [
        r.family.clone(),
        r.variants.to_string(),
        r.jobs.to_string(),
        verdicts.join(", "),
        check,
        duration(r.wall_ms_best),
        duration(r.wall_ms_median),
        format!("{:.0}", r.per_sec_best),
        format!("{:.0}", r.per_sec_median),
        // Under one 10 ms tick, the CPU time is unknown.
        if r.cpu_ms_median > 0.0 {
            duration(r.cpu_ms_median)
        } else {
            "<10 ms".to_string()
        },
        if r.per_cpu_sec > 0.0 {
            format!("{:.0}", r.per_cpu_sec)
        } else {
            "?".to_string()
        },
        duration(r.variant_ms_median),
        duration(r.variant_ms_p95),
        format!("{:.1} MB", r.peak_rss_kb as f64 / 1024.0),
    ];
    let mut out = line(&cells);
    if let Some(p) = &r.problem {
        let _ = writeln!(out, "    {p}");
    }
    out
}

fn duration(ms: f64) -> String {
    if ms < 10.0 {
        format!("{ms:.2} ms")
    } else if ms < 1000.0 {
        format!("{ms:.0} ms")
    } else {
        format!("{:.2} s", ms / 1e3)
    }
}

//! `bench --proverif PATH`: each case also written as a ProVerif model
//! (the library's [`apisat::export`], as `apisat export --to proverif`
//! writes it) and run by the given ProVerif binary, for side-by-side
//! columns: ProVerif's verdict, CPU time and peak memory, apisat's CPU
//! over ProVerif's, and whether the verdicts agree secret by secret.
//!
//! How the figures are taken, without `libc` or `/usr/bin/time`:
//!
//! * CPU time (user + system) of a child is the kernel's own accounting
//!   of reaped children: fields `cutime` and `cstime` of
//!   `/proc/self/stat` grow by exactly the child's times when it is
//!   waited for (what `getrusage(RUSAGE_CHILDREN)` reports). The bench
//!   runs one child at a time, so the difference before and after one
//!   child is that child's. Resolution: one clock tick (10 ms at Linux's
//!   USER_HZ of 100).
//! * apisat's own CPU time is taken inside its child (`self_cpu_ns`, from
//!   `/proc/self/task/*/schedstat`, in ns) around loading and checking,
//!   because small cases take less than one tick; the tick count of the
//!   reaped child is the fallback.
//! * Peak memory: `VmHWM` of `/proc/<pid>/status`, the child's resident
//!   high-water mark, read every 10 ms while it runs (a zombie has no
//!   memory left to report). The mark never decreases, so only growth in
//!   the last 10 ms before exit can be missed.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use apisat::export::{export, Target};
use apisat::lower;

/// Clock ticks per second of `/proc` CPU times (Linux's USER_HZ).
const TICKS_PER_SEC: f64 = 100.0;

/// What ProVerif said about one case.
#[derive(Clone, Debug, Default)]
pub struct Outcome {
    /// Per secret, in the program's order: `Some(true)` derivable
    /// ("is false"), `Some(false)` proved underivable ("is true"), `None`
    /// "cannot be proved" or missing.
    pub derivable: Vec<Option<bool>>,
    /// The secrets' labels, in the same order.
    pub labels: Vec<String>,
    /// CPU time in ms (user + system).
    pub cpu_ms: f64,
    /// Peak resident set in KiB (sampled; 0 if never read).
    pub peak_rss_kb: u64,
    /// Why there is no verdict: `n/a (XOR)`, `timeout (>120 s CPU)`, an error.
    pub problem: Option<String>,
}

/// Our reaped children's CPU time so far, in ms (`cutime + cstime` of
/// `/proc/self/stat`); `None` if unreadable.
pub fn children_cpu_ms() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The command name may hold spaces; fields restart after its `)`.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // Field 16 (cutime) and 17 (cstime) of proc(5), counted from 1 with
    // pid and comm as 1 and 2: indexes 13 and 14 after the `)`.
    let cutime: f64 = fields.get(13)?.parse().ok()?;
    let cstime: f64 = fields.get(14)?.parse().ok()?;
    Some((cutime + cstime) / TICKS_PER_SEC * 1e3)
}

/// This process's CPU time so far in ns: the sum over its live threads of
/// the first field of `/proc/self/task/*/schedstat` (time on a CPU, in ns,
/// unlike the 10 ms ticks of `/proc/*/stat`); `None` if unreadable.
/// Threads that already exited are not counted.
pub fn self_cpu_ns() -> Option<u64> {
    // The kernel brings the running thread's figure up to date at a tick
    // or a reschedule; a yield is one (CFS's yield updates the runtime).
    std::thread::yield_now();
    let mut total = 0;
    for entry in std::fs::read_dir("/proc/self/task").ok()? {
        let path = entry.ok()?.path().join("schedstat");
        let text = std::fs::read_to_string(path).ok()?;
        total += text.split_whitespace().next()?.parse::<u64>().ok()?;
    }
    Some(total)
}

/// The child's `VmHWM` in KiB, if it still has memory to report.
fn vm_hwm_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
}

/// A running child's CPU time so far in ms (`utime + stime` of
/// `/proc/<pid>/stat`, in ticks); `None` once it is gone.
fn running_cpu_ms(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // Fields 14 (utime) and 15 (stime) of proc(5): indexes 11 and 12
    // after the `)`.
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / TICKS_PER_SEC * 1e3)
}

/// Waits for `child`, sampling its peak RSS; kills it once it has used
/// `timeout` of CPU time (so that a busy shared machine, which slows the
/// wall clock, does not make a case time out), or ten times that of wall
/// clock. Returns (finished, CPU ms, peak RSS KiB).
pub fn measure(mut child: Child, timeout: Duration) -> (bool, f64, u64) {
    let before = children_cpu_ms().unwrap_or(0.0);
    let start = Instant::now();
    let limit_ms = timeout.as_secs_f64() * 1e3;
    let mut peak = 0;
    let mut finished = true;
    loop {
        if let Some(kb) = vm_hwm_kb(child.id()) {
            peak = peak.max(kb);
        }
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) => {}
            Err(_) => break,
        }
        let cpu = running_cpu_ms(child.id()).unwrap_or(0.0);
        if cpu > limit_ms || start.elapsed() > timeout * 10 {
            // Our own child, by its handle.
            let _ = child.kill();
            let _ = child.wait();
            finished = false;
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let after = children_cpu_ms().unwrap_or(before);
    (finished, after - before, peak)
}

/// Exports the case's YAML to ProVerif, runs `proverif` on it in `dir`
/// (killed after `timeout` of CPU time) and reads its verdicts.
pub fn run(file: &str, yaml: &str, proverif: &Path, dir: &Path, timeout: Duration) -> Outcome {
    let mut out = Outcome::default();
    let loaded = match lower::load_source(file, yaml) {
        Ok(l) => l,
        Err(_) => {
            out.problem = Some("the generated YAML does not load".into());
            return out;
        }
    };
    out.labels = loaded
        .program
        .secrets
        .iter()
        .map(|s| s.label.clone())
        .collect();
    let model = match export(&loaded, Target::ProVerif) {
        Ok(m) => m,
        Err(_) if loaded.program.uses_xor => {
            out.problem = Some("n/a (XOR)".into());
            return out;
        }
        Err(d) => {
            out.problem = Some(format!("export: {}", d.message));
            return out;
        }
    };
    let path = dir.join(file.replace(".yaml", ".pv"));
    if let Err(e) = std::fs::write(&path, model) {
        out.problem = Some(format!("cannot write {}: {e}", path.display()));
        return out;
    }
    let log = dir.join(file.replace(".yaml", ".pv.out"));
    let stdout = match std::fs::File::create(&log) {
        Ok(f) => f,
        Err(e) => {
            out.problem = Some(format!("cannot write {}: {e}", log.display()));
            return out;
        }
    };
    let child = match Command::new(proverif)
        .arg(&path)
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(Stdio::null())
        .spawn()
    {
        Ok(c) => c,
        Err(e) => {
            out.problem = Some(format!("cannot run {}: {e}", proverif.display()));
            return out;
        }
    };
    let (finished, cpu_ms, peak) = measure(child, timeout);
    out.cpu_ms = cpu_ms;
    out.peak_rss_kb = peak;
    if !finished {
        out.problem = Some(format!("timeout (>{:.0} s CPU)", timeout.as_secs_f64()));
        return out;
    }
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    out.derivable = results(&text);
    if out.derivable.len() != out.labels.len() {
        out.problem = Some(format!(
            "ProVerif gave {} results for {} secrets (see {})",
            out.derivable.len(),
            out.labels.len(),
            log.display()
        ));
    }
    out
}

/// ProVerif's `RESULT` lines, in query order: `is false` (derivable),
/// `is true` (not), `cannot be proved` (unknown).
pub fn results(text: &str) -> Vec<Option<bool>> {
    text.lines()
        .filter(|l| l.starts_with("RESULT "))
        .map(|l| {
            if l.ends_with(" is false.") {
                Some(true)
            } else if l.ends_with(" is true.") {
                Some(false)
            } else {
                None
            }
        })
        .collect()
}

/// `yes` when every secret got the same answer from both (apisat's
/// derivable set given by label), `no (...)` naming the first
/// difference, `?` when ProVerif could not decide one.
pub fn agree(pv: &Outcome, apisat_derivable: &[String], apisat_limit: bool) -> String {
    if let Some(p) = &pv.problem {
        return p.clone();
    }
    if apisat_limit {
        return "? (apisat LIMIT)".into();
    }
    let mut unknown = 0;
    for (label, d) in pv.labels.iter().zip(&pv.derivable) {
        let ours = apisat_derivable.iter().any(|l| l == label);
        match d {
            Some(theirs) if *theirs != ours => {
                return format!(
                    "no ({label}: apisat {}, ProVerif {})",
                    if ours { "derivable" } else { "not" },
                    if *theirs { "derivable" } else { "not" }
                )
            }
            Some(_) => {}
            None => unknown += 1,
        }
    }
    if unknown > 0 {
        format!("? ({unknown} cannot be proved)")
    } else {
        "yes".into()
    }
}

/// ProVerif's verdict in the bench's words: `ATTACK n/m`, `SECURE`.
pub fn verdict(pv: &Outcome) -> String {
    if let Some(p) = &pv.problem {
        return p.clone();
    }
    let attacks = pv.derivable.iter().filter(|d| **d == Some(true)).count();
    let unknown = pv.derivable.iter().filter(|d| d.is_none()).count();
    if attacks > 0 {
        format!("ATTACK {attacks}/{}", pv.derivable.len())
    } else if unknown > 0 {
        format!("? {unknown} cannot be proved")
    } else {
        "SECURE".into()
    }
}

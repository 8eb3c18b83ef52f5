//! A progress line on stderr for long single checks.
//!
//! The engine publishes its counters in [`PROGRESS`] as it runs (a few
//! relaxed atomic stores every 64 steps); a [`Ticker`], started by a
//! command when stderr is a terminal, prints them once a second as one line
//! that it rewrites in place, and erases it when dropped. Runs shorter than
//! a second print nothing. Batch runs have their own progress bar and do
//! not start a ticker (their variants' counters would interleave).

use std::io::Write as _;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The engine's counters, as last published.
#[derive(Debug, Default)]
pub struct Progress {
    known: AtomicUsize,
    partial: AtomicUsize,
    proving: AtomicBool,
}

/// The counters of the saturation running now (single checks only).
pub static PROGRESS: Progress = Progress {
    known: AtomicUsize::new(0),
    partial: AtomicUsize::new(0),
    proving: AtomicBool::new(false),
};

impl Progress {
    /// Publishes the bounded engine's counters: obtained terms and partial
    /// rule matches.
    pub fn saturating(&self, known: usize, partial: usize) {
        self.known.store(known, Ordering::Relaxed);
        self.partial.store(partial, Ordering::Relaxed);
        self.proving.store(false, Ordering::Relaxed);
    }

    /// Publishes proof mode's counter: facts with variables.
    pub fn proving(&self, facts: usize) {
        self.known.store(facts, Ordering::Relaxed);
        self.partial.store(0, Ordering::Relaxed);
        self.proving.store(true, Ordering::Relaxed);
    }

    /// The line a ticker prints: counters, rate since the previous line,
    /// elapsed time.
    pub fn line(&self, elapsed: Duration, rate: f64) -> String {
        let known = self.known.load(Ordering::Relaxed);
        let secs = elapsed.as_secs_f64();
        if self.proving.load(Ordering::Relaxed) {
            return format!("apisat: proof mode: {known} facts, {secs:.0} s");
        }
        let partial = self.partial.load(Ordering::Relaxed);
        format!(
            "apisat: saturating: {known} known terms, {partial} partial matches, {}/s, {secs:.0} s",
            human(rate)
        )
    }
}

fn human(rate: f64) -> String {
    if rate >= 1e6 {
        format!("{:.1}M", rate / 1e6)
    } else if rate >= 1e3 {
        format!("{:.1}k", rate / 1e3)
    } else {
        format!("{rate:.0}")
    }
}

/// Prints [`PROGRESS`] on stderr once a second until dropped.
pub struct Ticker {
    stop: Arc<(Mutex<bool>, Condvar)>,
    handle: Option<JoinHandle<()>>,
}

impl Ticker {
    /// Starts a ticker when `enabled` (the caller checks that stderr is a
    /// terminal); a disabled ticker does nothing.
    pub fn start(enabled: bool) -> Ticker {
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        if !enabled {
            return Ticker { stop, handle: None };
        }
        let shared = Arc::clone(&stop);
        let handle = std::thread::spawn(move || {
            let start = Instant::now();
            let (lock, cvar) = &*shared;
            let mut last = (Instant::now(), PROGRESS.partial.load(Ordering::Relaxed));
            let mut printed = false;
            let mut done = lock.lock().unwrap_or_else(|e| e.into_inner());
            loop {
                let (guard, _) = cvar
                    .wait_timeout(done, Duration::from_secs(1))
                    .unwrap_or_else(|e| e.into_inner());
                done = guard;
                if *done {
                    break;
                }
                let now = Instant::now();
                let count = PROGRESS.partial.load(Ordering::Relaxed)
                    + PROGRESS.known.load(Ordering::Relaxed);
                let rate = count.saturating_sub(last.1) as f64
                    / now.duration_since(last.0).as_secs_f64().max(1e-3);
                last = (now, count);
                let mut err = std::io::stderr().lock();
                let _ = write!(err, "\r\x1b[2K{}", PROGRESS.line(start.elapsed(), rate));
                let _ = err.flush();
                printed = true;
            }
            if printed {
                let mut err = std::io::stderr().lock();
                let _ = write!(err, "\r\x1b[2K");
                let _ = err.flush();
            }
        });
        Ticker {
            stop,
            handle: Some(handle),
        }
    }
}

impl Drop for Ticker {
    fn drop(&mut self) {
        let (lock, cvar) = &*self.stop;
        *lock.lock().unwrap_or_else(|e| e.into_inner()) = true;
        cvar.notify_all();
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_names_the_counters_and_the_rate() {
        let p = Progress::default();
        p.saturating(47_124, 282_309);
        assert_eq!(
            p.line(Duration::from_secs(4), 23_400.0),
            "apisat: saturating: 47124 known terms, 282309 partial matches, 23.4k/s, 4 s"
        );
        p.proving(12);
        assert_eq!(
            p.line(Duration::from_secs(61), 0.0),
            "apisat: proof mode: 12 facts, 61 s"
        );
    }

    #[test]
    fn a_disabled_ticker_prints_nothing_and_stops() {
        let t = Ticker::start(false);
        drop(t);
    }
}

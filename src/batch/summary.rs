//! The summary of a batch run: one table per file (a row per variant: the
//! verdict, the shortest attack, each secret's status, the time), what
//! every attack of a family has in common, and the totals.
//!
//! The summary is computed from [`Outcome`]s only, so `apisat merge` prints
//! the same summary from the JSON Lines of several shards as one run does.

use std::fmt::Write as _;

use crate::batch::outcome::Outcome;
/// Where it was before it moved down to `style` (verdicts and reports
/// use it too); kept for the library's users.
pub use crate::style::plural;

/// What the summary shows.
#[derive(Clone, Copy, Debug, Default)]
pub struct Layout {
    /// Show each variant's wall time (the only column that differs between
    /// runs of the same input).
    pub time: bool,
}

/// Totals over a run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Totals {
    /// Variants in all.
    pub variants: usize,
    /// With a derivable secret whose attack is established (confirmed by
    /// replay or the stateful search, or needing no confirmation).
    pub attack: usize,
    /// `ATTACK (not confirmed)`: derivable in the abstract model only, no
    /// attack confirmed on a token with state (not counted in `attack`).
    pub unconfirmed: usize,
    /// Secure, proved.
    pub proved: usize,
    /// Secure up to bounds.
    pub up_to: usize,
    /// Stopped at a limit with no attack found.
    pub limit: usize,
    /// Attacks found before a limit stopped the run: some secret is
    /// unknown (counted among `attack` too).
    pub attack_at_limit: usize,
    /// Could not be checked.
    pub error: usize,
}

impl Totals {
    /// Counts the outcomes.
    pub fn of(outcomes: &[Outcome]) -> Totals {
        let mut t = Totals {
            variants: outcomes.len(),
            ..Totals::default()
        };
        for o in outcomes {
            match (o.verdict.as_str(), o.proof.as_deref()) {
                ("attack", Some("unconfirmed")) => t.unconfirmed += 1,
                ("attack", _) => {
                    t.attack += 1;
                    if o.secrets.iter().any(|s| s.status == "unknown") {
                        t.attack_at_limit += 1;
                    }
                }
                ("secure", Some("proved")) => t.proved += 1,
                ("secure", _) => t.up_to += 1,
                ("limit", _) => t.limit += 1,
                _ => t.error += 1,
            }
        }
        t
    }
}

/// The whole summary: a table per file, then the totals.
pub fn render(outcomes: &[Outcome], layout: Layout) -> String {
    let mut out = String::new();
    let mut start = 0;
    while start < outcomes.len() {
        let file = &outcomes[start].file;
        let end = start
            + outcomes[start..]
                .iter()
                .take_while(|o| &o.file == file)
                .count();
        if start > 0 {
            out.push('\n');
        }
        table(&mut out, &outcomes[start..end], layout);
        start = end;
    }
    let t = Totals::of(outcomes);
    let files = {
        let mut f: Vec<&str> = outcomes.iter().map(|o| o.file.as_str()).collect();
        f.dedup();
        f.len()
    };
    if !outcomes.is_empty() {
        out.push('\n');
    }
    // A variant stopped by a limit after an attack was found is an attack,
    // but its unknown secrets are the limit's doing: say so beside it.
    let attack = if t.attack_at_limit > 0 {
        format!(
            "{} attack ({} stopped at a limit)",
            t.attack, t.attack_at_limit
        )
    } else {
        format!("{} attack", t.attack)
    };
    // Shown only when some variant has one, so that totals without any
    // read as they always did.
    let attack = if t.unconfirmed > 0 {
        format!("{attack}, {} not confirmed", t.unconfirmed)
    } else {
        attack
    };
    let _ = writeln!(
        out,
        "{} from {}: {}, {} secure ({} proved, {} up to bounds), {} limit, {} error{}",
        plural(t.variants as u64, "variant"),
        plural(files as u64, "file"),
        attack,
        t.proved + t.up_to,
        t.proved,
        t.up_to,
        t.limit,
        t.error,
        if t.error == 1 { "" } else { "s" }
    );
    if layout.time {
        let ms: f64 = outcomes
            .iter()
            .filter_map(|o| o.elapsed_ms)
            .fold(0.0, |a, b| a + b);
        let _ = writeln!(
            out,
            "checking time: {} (summed over variants)",
            duration(ms)
        );
    }
    out
}

fn duration(ms: f64) -> String {
    if ms < 1.0 {
        format!("{:.2} ms", ms)
    } else if ms < 1000.0 {
        format!("{:.0} ms", ms)
    } else {
        format!("{:.1} s", ms / 1000.0)
    }
}

/// One file's table: its variants (or the API file alone).
fn table(out: &mut String, rows: &[Outcome], layout: Layout) {
    let first = &rows[0];
    match &first.family {
        Some(family) => {
            let _ = writeln!(
                out,
                "{}: family \"{family}\", {}",
                first.file,
                plural(rows.len() as u64, "variant")
            );
        }
        None if first.verdict == "error" => {
            let _ = writeln!(out, "{}: ERROR", first.file);
        }
        None => {
            let _ = writeln!(out, "{}: {}", first.file, first.api);
        }
    }
    let mut labels: Vec<&str> = Vec::new();
    for o in rows {
        for s in &o.secrets {
            if !labels.contains(&s.label.as_str()) {
                labels.push(&s.label);
            }
        }
    }
    // An API file is one row: no variant column.
    let family = first.family.is_some();
    let mut header: Vec<String> = vec!["variant".into(), "verdict".into(), "attack".into()];
    header.extend(labels.iter().map(|l| l.to_string()));
    if layout.time {
        header.push("time".into());
    }
    let mut lines: Vec<Vec<String>> = vec![header];
    let mut notes: Vec<String> = Vec::new();
    for o in rows {
        let mut cells = vec![o.variant.clone().unwrap_or_else(|| "-".to_string())];
        cells.push(verdict_cell(o));
        cells.push(
            o.shortest_attack()
                .map_or("-".to_string(), |n| plural(n as u64, "call")),
        );
        for l in &labels {
            cells.push(match o.secrets.iter().find(|s| s.label == *l) {
                Some(s) => match (s.status.as_str(), s.calls) {
                    ("derivable", Some(n)) => format!("leaks ({n})"),
                    ("no-stateful-attack", Some(n)) => format!("abstract ({n}), no stateful"),
                    ("not-derivable", _) => "safe".to_string(),
                    (status, _) => status.to_string(),
                },
                None if o.verdict == "error" => String::new(),
                None => "·".to_string(),
            });
        }
        if layout.time {
            cells.push(o.elapsed_ms.map_or_else(|| "-".to_string(), duration));
        }
        if let Some(e) = o.errors.first() {
            let place = if family {
                format!("error in {}: ", cells[0])
            } else {
                "error: ".to_string()
            };
            notes.push(format!(
                "{place}{}:{}:{}: {}",
                e.file, e.line, e.column, e.message
            ));
        }
        lines.push(cells);
    }
    if !family {
        for l in &mut lines {
            l.remove(0);
        }
    }
    let columns = lines[0].len();
    let widths: Vec<usize> = (0..columns)
        .map(|c| {
            lines
                .iter()
                .map(|l| l[c].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    for l in &lines {
        let mut row = String::from(" ");
        for (c, cell) in l.iter().enumerate() {
            row.push(' ');
            row.push_str(cell);
            if c + 1 < columns {
                row.push_str(&" ".repeat(widths[c] - cell.chars().count() + 1));
            }
        }
        let _ = writeln!(out, "{}", row.trim_end());
    }
    for n in notes {
        let _ = writeln!(out, "  {n}");
    }
    if first.family.is_some() {
        common_ground(out, rows);
    }
}

fn verdict_cell(o: &Outcome) -> String {
    match (o.verdict.as_str(), o.proof.as_deref()) {
        ("attack", Some("unconfirmed")) => "ATTACK not confirmed".to_string(),
        ("attack", _) => "ATTACK".to_string(),
        ("secure", Some("proved")) => "SECURE proved".to_string(),
        ("secure", _) => "SECURE up-to".to_string(),
        ("limit", _) => "LIMIT".to_string(),
        _ => "ERROR".to_string(),
    }
}

/// What every established attack in a family has in common: per secret, the
/// functions every shortest attack on it calls (removing one of them from
/// every variant removes every attack found), and the matrix values every
/// attacked variant picked while some secure variant did not.
fn common_ground(out: &mut String, rows: &[Outcome]) {
    // Established attacks only: an `ATTACK (not confirmed)` variant's
    // abstract trace is no attack on a token.
    let attacked: Vec<&Outcome> = rows
        .iter()
        .filter(|o| o.verdict == "attack" && o.proof.as_deref() != Some("unconfirmed"))
        .collect();
    if attacked.is_empty() {
        return;
    }
    let mut labels: Vec<&str> = Vec::new();
    for o in &attacked {
        for s in o.secrets.iter().filter(|s| s.calls.is_some()) {
            if !labels.contains(&s.label.as_str()) {
                labels.push(&s.label);
            }
        }
    }
    for label in labels {
        let attacks: Vec<&Vec<String>> = attacked
            .iter()
            .flat_map(|o| o.secrets.iter())
            .filter(|s| s.label == label && s.calls.is_some())
            .map(|s| &s.functions)
            .collect();
        let mut every: Vec<&str> = attacks[0].iter().map(String::as_str).collect();
        every.retain(|f| attacks.iter().all(|a| a.iter().any(|g| g == f)));
        let _ = writeln!(
            out,
            "  in every attack on {label} ({}): {}",
            plural(attacks.len() as u64, "variant"),
            if every.is_empty() {
                "no common function".to_string()
            } else {
                every.join(", ")
            }
        );
    }
    let secure: Vec<&Outcome> = rows.iter().filter(|o| o.verdict == "secure").collect();
    if attacked[0].params.is_empty() {
        return;
    }
    let mut shared: Vec<String> = Vec::new();
    for p in &attacked[0].params {
        let has = |o: &&Outcome| o.params.iter().any(|q| q == p);
        if attacked.iter().all(has) && secure.iter().any(|o| !has(o)) {
            shared.push(format!("{}={}", p.name, p.value));
        }
    }
    let _ = writeln!(
        out,
        "  matrix values every attacked variant has: {}",
        if shared.is_empty() {
            "none".to_string()
        } else {
            shared.join(", ")
        }
    );
}

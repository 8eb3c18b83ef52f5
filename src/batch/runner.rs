//! Running many variants in parallel: every input's variants, or one
//! shard's slice of them, each checked on a worker thread, the outcomes
//! handed back in the run's canonical order.

use std::io::IsTerminal;
use std::time::Instant;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rayon::prelude::*;

use crate::analysis::verdict::{self, Settings};
use crate::batch::expect;
use crate::batch::inputs::{Input, VariantPattern};
use crate::batch::outcome::{Outcome, Place};
use crate::front::lower;

/// A deterministic slice of a run: the variants whose index `i` has
/// `i % count == index - 1` (round robin, so slow and fast variants of a
/// family spread over all shards).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    /// 1-based shard number.
    pub index: u64,
    /// How many shards.
    pub count: u64,
}

impl std::str::FromStr for Shard {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("`{s}` is not a shard: write I/N, e.g. 2/8 for the second of eight");
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let index: u64 = i.trim().parse().map_err(|_| bad())?;
        let count: u64 = n.trim().parse().map_err(|_| bad())?;
        if count == 0 || index == 0 || index > count {
            return Err(format!(
                "shard `{s}`: the shard number must be between 1 and the number of shards"
            ));
        }
        Ok(Shard { index, count })
    }
}

/// How to run.
#[derive(Clone, Copy, Debug)]
pub struct Options<'a> {
    /// Bounds and limits for every variant.
    pub settings: Settings,
    /// Worker threads (at least 1).
    pub jobs: usize,
    /// Only this slice of the run, if any.
    pub shard: Option<Shard>,
    /// Show a progress bar on stderr (only drawn on a terminal).
    pub progress: bool,
    /// Check only variants with expectations (`apisat test`); the others
    /// get an `unchecked` outcome.
    pub expected_only: bool,
    /// Only the family variants whose name matches, if any.
    pub variants: Option<&'a VariantPattern>,
}

/// Variants checked per parallel round; outcomes are handed back after
/// each round, so memory stays flat for families of millions.
const ROUND: usize = 4096;

/// Checks the variants of `inputs` (of the shard, if any) and hands their
/// outcomes to `sink` in index order, a round at a time.
pub fn run(inputs: &[Input], options: Options, mut sink: impl FnMut(Vec<Outcome>)) {
    let selected = |input: &Input, v: u64| options.variants.is_none_or(|p| p.selects(input, v));
    let total: u64 = match options.variants {
        None => inputs.iter().map(Input::len).sum(),
        Some(_) => inputs
            .iter()
            .map(|input| (0..input.len()).filter(|v| selected(input, *v)).count() as u64)
            .sum(),
    };
    let mine = |i: u64| match options.shard {
        Some(s) => i % s.count == s.index - 1,
        None => true,
    };
    // How many indexes `i < total` have `i % count == index - 1`.
    let count = match options.shard {
        Some(s) => ((total as u128 + s.count as u128 - s.index as u128) / s.count as u128) as u64,
        None => total,
    };
    let bar = progress_bar(count, options.progress);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(options.jobs.max(1))
        .build();
    let mut round: Vec<(u64, usize, u64)> = Vec::with_capacity(ROUND);
    let flush = |round: &mut Vec<(u64, usize, u64)>, sink: &mut dyn FnMut(Vec<Outcome>)| {
        let work = |&(index, input, variant): &(u64, usize, u64)| {
            let outcome = check_one(&inputs[input], variant, index, total, options);
            bar.inc(1);
            outcome
        };
        let outcomes: Vec<Outcome> = match &pool {
            Ok(pool) => pool.install(|| round.par_iter().map(work).collect()),
            Err(_) => round.iter().map(work).collect(),
        };
        round.clear();
        sink(outcomes);
    };
    let mut index = 0u64;
    for (n, input) in inputs.iter().enumerate() {
        for v in 0..input.len() {
            if !selected(input, v) {
                continue;
            }
            if mine(index) {
                round.push((index, n, v));
                if round.len() == ROUND {
                    flush(&mut round, &mut sink);
                }
            }
            index += 1;
        }
    }
    if !round.is_empty() {
        flush(&mut round, &mut sink);
    }
    bar.finish_and_clear();
}

fn progress_bar(len: u64, wanted: bool) -> ProgressBar {
    if !wanted || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
    if let Ok(style) =
        ProgressStyle::with_template("{bar:40} {pos}/{len} variants, {per_sec}, eta {eta}")
    {
        bar.set_style(style);
    }
    bar
}

/// Checks variant `variant` of one input.
fn check_one(input: &Input, variant: u64, index: u64, total: u64, options: Options) -> Outcome {
    let settings = options.settings;
    let start = Instant::now();
    let mut place = Place {
        index,
        total,
        file: input.file(),
        ..Place::default()
    };
    let mut outcome = match input {
        Input::Broken { diagnostics, .. } => Outcome::failed(place, diagnostics),
        Input::Api { file } => match lower::load_file(file) {
            Ok(loaded) if options.expected_only && loaded.expect.is_empty() => {
                Outcome::unchecked(place, &loaded.program.name)
            }
            Ok(loaded) => {
                let report = verdict::check_program(loaded.program, settings);
                let failures = expect::failures(&loaded.expect, &report, &place.file);
                Outcome::checked(place, &report, loaded.expect.len(), failures)
            }
            Err(diagnostics) => Outcome::failed(place, &diagnostics),
        },
        Input::Family(family) if options.expected_only && !family.has_expectations(variant) => {
            place.family = Some(family.name.clone());
            place.variant = Some(family.variant_name(variant));
            // Expanded all the same, as an API file without expectations
            // is loaded: a mistake in its edits is an error, not a pass.
            match family.variant(variant).loaded {
                Ok(_) => Outcome::unchecked(place, &family.name),
                Err(diagnostics) => Outcome::failed(place, &diagnostics),
            }
        }
        Input::Family(family) => {
            let v = family.variant(variant);
            place.family = Some(family.name.clone());
            place.variant = Some(v.name);
            place.params = v.params;
            match v.loaded {
                Ok(loaded) => {
                    let report = verdict::check_program(loaded.program, settings);
                    let failures = expect::failures(&loaded.expect, &report, &family.file);
                    Outcome::checked(place, &report, loaded.expect.len(), failures)
                }
                Err(diagnostics) => Outcome::failed(place, &diagnostics),
            }
        }
    };
    outcome.elapsed_ms = Some(start.elapsed().as_secs_f64() * 1000.0);
    outcome
}

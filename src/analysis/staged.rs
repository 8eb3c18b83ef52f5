//! Saturation for large APIs: proof mode first, then the bounded search in
//! stages of one more API call, stopping once every secret is decided.
//!
//! `check` first runs the classic bounded saturation to a fixpoint; every
//! API small enough to saturate within [`FIRST_PASS_FACTS`] facts gets
//! exactly that, and the same report as always. A larger one takes this
//! path instead:
//!
//! 1. **Proof mode** ([`crate::analysis::prove`]) runs on every secret. A secret it
//!    proves not derivable (an exact fixpoint, no cut) is decided: proof
//!    mode is sound without the bounded search.
//! 2. If every secret is decided, the bounded search is not run at all
//!    ([`Extent::NotRun`]).
//! 3. Otherwise the bounded search runs in **stages** with a cost bound
//!    ([`crate::analysis::engine::Stage`]). A term's cost is the number of API calls
//!    on its cheapest derivation tree. Stage `n` lets API calls take only
//!    what the previous stage knew, and fire only when one call plus a lower
//!    bound of their inputs' costs is at most `n`; by induction it holds
//!    every derivation tree with at most `n` calls, with all of its rule
//!    instances. After each stage the cheapest derivation of every
//!    undecided secret is computed; once every one is derived and the most
//!    expensive takes at most `n` calls, no cheaper derivation can lie
//!    beyond the stage, so the search stops there ([`Extent::Stopped`]) and
//!    the fewest-calls guarantee holds. A stage that adds no term and
//!    refuses no call is the fixpoint itself ([`Extent::Fixpoint`]): the
//!    same knowledge and rule instances as the classic run. A stage that
//!    adds no term but refused calls skips to the least bound that lets one
//!    fire.
//! 4. Once one stage produces more than [`STAGE_WORK`] facts, or the
//!    stages together more than [`TOTAL_STAGE_WORK`] (or after
//!    [`MAX_STAGES`] stages), without a decision, the classic saturation
//!    runs to its fixpoint, as it would have without this path.
//!
//! A secret proof mode proved is still reported derivable, with its attack,
//! if a stage derives it: a derivation beats a proof (and would be a bug in
//! proof mode, which the differential tests look for).

use rustc_hash::{FxHashMap, FxHashSet};

use crate::analysis::engine::{
    saturate, saturate_stage, Bounds, Budget, Saturation, Stage, StopReason,
};
use crate::analysis::plan::Plan;
use crate::analysis::prove::{self, ProofRun};
use crate::analysis::trace::Derivations;
use crate::front::program::Program;
use crate::front::term::TermId;

/// Facts (known terms plus partial matches) the classic saturation may
/// reach before `check` turns to this path. The API files, the reference
/// models and the snapshots all saturate in far fewer, so their reports are
/// unchanged.
pub const FIRST_PASS_FACTS: usize = 20_000;

/// Known terms plus rule instances one stage may produce before the
/// classic saturation runs to its fixpoint instead. Staging pays while
/// stages are small (many calls through a small API: the leaky hierarchy's
/// cheapest attacks have 20 calls on their trees at 10 levels, 40 at 20)
/// and not when the knowledge explodes early.
pub const STAGE_WORK: usize = 2_000_000;

/// Known terms plus rule instances all stages together may produce. Each
/// stage redoes the work of the stages before it, so many middling stages
/// cost as much as one large one: the leaky hierarchy of 20 levels of 100
/// keys takes 21 stages of up to 0.2 M each (its classic saturation passes
/// 5 M facts without reaching its fixpoint).
pub const TOTAL_STAGE_WORK: usize = 20_000_000;

/// Most stages tried.
pub const MAX_STAGES: u16 = 64;

/// How much of the bounded search a report rests on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Extent {
    /// The bounded search reached its fixpoint.
    Fixpoint,
    /// Stopped at this cost bound: every secret was derived with at most
    /// that many calls, or proved by proof mode.
    Stopped {
        /// The stage's bound: the most calls on a derivation tree explored.
        calls: u32,
    },
    /// Not run: proof mode proved every secret.
    NotRun,
}

/// The result of the path for large APIs.
pub struct Staged {
    /// The bounded search's result (possibly partial: see `extent`).
    pub sat: Saturation,
    /// How far it went.
    pub extent: Extent,
    /// Proof mode's run, and per secret whether it proved the secret not
    /// derivable.
    pub proof: (ProofRun, Vec<bool>),
}

/// Runs the path for large APIs (see the module documentation). `goals`
/// are the secrets' terms, in order.
pub fn decide(
    program: &mut Program,
    plans: &[Plan],
    goals: &[TermId],
    bounds: Bounds,
    budget: &Budget,
) -> Staged {
    let run = prove::prove_within(program, bounds, budget.limits_left(), budget);
    let proved: Vec<bool> = if run.is_exact() && budget.exceeded().is_none() {
        prove::derivable_all(program, &run, goals)
            .into_iter()
            .map(|d| !d)
            .collect()
    } else {
        vec![false; goals.len()]
    };
    let open: Vec<TermId> = goals
        .iter()
        .zip(&proved)
        .filter(|(_, p)| !**p)
        .map(|(g, _)| *g)
        .collect();
    if open.is_empty() {
        let sat = Saturation {
            known: program.knowledge.clone(),
            derivable: Default::default(),
            firings: Vec::new(),
            cuts: Default::default(),
            stop: StopReason::Saturated,
            elapsed: Default::default(),
            refused_below: None,
        };
        return Staged {
            sat,
            extent: Extent::NotRun,
            proof: (run, proved),
        };
    }
    let (sat, extent) = stages(program, plans, goals, &open, bounds, budget);
    Staged {
        sat,
        extent,
        proof: (run, proved),
    }
}

/// The staged bounded search for the `open` goals (see the module
/// documentation).
fn stages(
    program: &mut Program,
    plans: &[Plan],
    goals: &[TermId],
    open: &[TermId],
    bounds: Bounds,
    budget: &Budget,
) -> (Saturation, Extent) {
    let mut start: Vec<TermId> = program.knowledge.clone();
    let mut before: FxHashSet<TermId> = start.iter().copied().collect();
    let mut costs: FxHashMap<TermId, u32> = FxHashMap::default();
    let mut bound: u32 = 1;
    let mut work = 0usize;
    for _ in 0..MAX_STAGES {
        let stage = Stage {
            before: &before,
            start: &start,
            costs: &costs,
            bound,
        };
        let sat = saturate_stage(
            program,
            plans,
            goals,
            bounds,
            budget.limits_left(),
            Some(&stage),
        );
        if sat.stop != StopReason::Saturated {
            // A limit: the report says so, whatever the extent.
            return (sat, Extent::Fixpoint);
        }
        let grew = sat.known.len() > before.len();
        if !grew && sat.refused_below.is_none() {
            // Nothing new and nothing refused: the fixpoint itself.
            return (sat, Extent::Fixpoint);
        }
        let Ok(derivations) = Derivations::compute_within(program, &sat, open, budget) else {
            // The budget is spent: the classic run below stops at once.
            break;
        };
        let cheapest = open
            .iter()
            .map(|g| derivations.cost(*g).map_or(u32::MAX, |c| c.0))
            .max()
            .unwrap_or(0);
        if cheapest <= bound {
            drop(derivations);
            return (sat, Extent::Stopped { calls: bound });
        }
        let stage_work = sat.known.len() + sat.firings.len();
        work += stage_work;
        if stage_work > STAGE_WORK || work > TOTAL_STAGE_WORK {
            break;
        }
        costs = sat
            .known
            .iter()
            .filter_map(|t| derivations.cost(*t).map(|c| (*t, c.0)))
            .collect();
        drop(derivations);
        // A stage that added nothing can skip to the least bound that lets
        // a refused call fire.
        bound = if grew {
            bound + 1
        } else {
            sat.refused_below.unwrap_or(bound + 1).max(bound + 1)
        };
        start = sat.known.clone();
        before = start.iter().copied().collect();
    }
    let sat = saturate(program, plans, goals, bounds, budget.limits_left());
    (sat, Extent::Fixpoint)
}

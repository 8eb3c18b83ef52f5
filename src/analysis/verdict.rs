//! Verdicts: what a saturation established about each secret, and what the
//! verdict rests on.
//!
//! [`check_program`] runs the pipeline after lowering (plan, saturate,
//! derive, replay) and returns a [`Report`]: plain data with every term
//! already printed, so that it renders the same bytes whatever the
//! interning order, and can be serialised or snapshotted as is.

use std::time::Duration;

use serde::Serialize;

use crate::analysis::engine::{saturate, Bounds, Budget, Cut, CutKind, Limits, StopReason};
use crate::analysis::plan::compile;
use crate::analysis::prove;
use crate::analysis::replay::{replay_within, Replay};
use crate::analysis::shared::Namer;
use crate::analysis::staged::{Extent, FIRST_PASS_FACTS};
use crate::analysis::trace::{Derivations, TraceStep};
use crate::front::program::{Program, RuleKind};
use crate::front::term::TermId;

/// The overall verdict on an API.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Some secret is derivable.
    Attack,
    /// No secret is derivable in the fixpoint.
    Secure,
    /// A resource limit stopped saturation before a fixpoint, and no secret
    /// was derivable by then.
    Limit,
}

/// What a `Secure` verdict rests on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Proof {
    /// No bound cut any rule instance: a proof within the Dolev-Yao model
    /// and the fresh-value abstraction.
    Proved,
    /// Some bound cut rule instances: secure up to those bounds.
    UpTo,
}

/// One bound that cut rule instances, for the report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BoundReport {
    /// The bound's flag name (`max-depth`, `input-depth`, `xor-width`,
    /// `plan-budget`).
    pub bound: String,
    /// Its value, when it has one.
    pub value: Option<u64>,
    /// The rules it cut, in program order.
    pub rules: Vec<String>,
    /// What was cut, in a sentence.
    pub meaning: String,
}

impl BoundReport {
    /// The bound, its value, the rules it cut and what it means:
    /// `input-depth 0 [Encrypt]: inputs the attacker chooses freely ...`.
    pub fn describe(&self) -> String {
        let value = self.value.map(|v| format!(" {v}")).unwrap_or_default();
        let rules = if self.rules.is_empty() {
            String::new()
        } else {
            format!(" [{}]", self.rules.join(", "))
        };
        format!("{}{value}{rules}: {}", self.bound, self.meaning)
    }

    /// The bound and its value, as tables print it: `input-depth 0`.
    pub fn label(&self) -> String {
        match self.value {
            Some(v) => format!("{} {v}", self.bound),
            None => self.bound.clone(),
        }
    }
}

/// One step of an attack, printed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StepReport {
    /// `call`, `deduction`, `build` (a public constructor applied) or `xor`
    /// (the XOR of the arguments, which may leave an atom: `s` from `s ⊕ P`
    /// and `P`).
    pub kind: String,
    /// The function or deduction called (`build` or `xor` for the
    /// attacker's own steps).
    pub call: String,
    /// The arguments.
    pub args: Vec<String>,
    /// The results.
    pub result: Vec<String>,
}

/// How a replay went, for the report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ReplayReport {
    /// True when the attack works on the concrete model.
    pub confirmed: bool,
    /// In words.
    pub detail: String,
}

/// What the stateful search (`--state-calls`) established.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StatefulReport {
    /// The bound on calls.
    pub calls: usize,
    /// `attack` (a real attack on a token with state), `none` (no attack
    /// within the bound) or `gave-up` (the search's budget ran out first).
    pub result: String,
    /// The real attack's calls, for `attack`.
    pub trace: Vec<StepReport>,
    /// In words.
    pub detail: String,
}

/// What the lifetime model (`crate::analysis::lifetime`) established about a
/// secret the monotone model derives with an attack replay cannot confirm.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LifetimeReport {
    /// `proved` (no case derives it), `derivable` (some case does),
    /// `up-to` (not derivable, but only within bounds), `stopped` (a limit
    /// came first) or `not-applicable` (the API's handles are outside what
    /// the construction covers).
    pub result: String,
    /// Cases (one per choice of lifetime for the initial objects).
    pub cases: usize,
    /// In words.
    pub detail: String,
}

impl Report {
    /// True for an ATTACK none of whose derivable secrets has a confirmed
    /// attack: each needs an object in two states and the stateful search
    /// found no real one.
    pub fn unconfirmed(&self) -> bool {
        let mut derivable = self
            .secrets
            .iter()
            .filter(|s| s.derivable == Some(true))
            .peekable();
        derivable.peek().is_some() && derivable.all(SecretReport::unconfirmed)
    }
}

impl SecretReport {
    /// True when the secret is derivable in the abstraction but its attack
    /// is not confirmed and no stateful attack was found: the run
    /// establishes neither an attack nor security.
    pub fn unconfirmed(&self) -> bool {
        self.derivable == Some(true)
            && self.replay.as_ref().is_some_and(|r| !r.confirmed)
            && self.stateful.as_ref().is_some_and(|s| s.result != "attack")
    }

    /// True when the stateful search found no attack within its bound.
    pub fn no_stateful_attack(&self) -> bool {
        self.unconfirmed() && self.stateful.as_ref().is_some_and(|s| s.result == "none")
    }
}

/// What is known about one secret.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SecretReport {
    /// The secret's label.
    pub label: String,
    /// The secret term.
    pub term: String,
    /// Derivable, not derivable, or unknown (`null`) when a limit stopped
    /// saturation first.
    pub derivable: Option<bool>,
    /// API calls in the attack, when derivable.
    pub calls: Option<usize>,
    /// The attack's steps, when derivable.
    pub trace: Vec<StepReport>,
    /// The concrete replay of the attack, when derivable.
    pub replay: Option<ReplayReport>,
    /// The stateful search, when the attack needs an object of the token
    /// in two states (replay then fails): its bound and what it found.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stateful: Option<StatefulReport>,
    /// For a secret not derivable: `proved` (for every attacker), or
    /// `up-to` the bounds listed.
    pub proof: Option<Proof>,
    /// The lifetime model (`crate::analysis::lifetime`), when it was asked about an
    /// attack replay could not confirm and applies to the API: `proved`
    /// makes the secret not derivable (proved).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lifetime: Option<LifetimeReport>,
    /// What a limit of the run left undone for this derivable secret: its
    /// attack not extracted (absent when nothing was left undone).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unfinished: Option<String>,
    /// Strong secrecy, when asked for (`check --strong`, [`crate::analysis::strong`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub strong: Option<crate::analysis::strong::StrongReport>,
}

/// The resource limit that stopped saturation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LimitReport {
    /// `facts`, `time` or `memory`.
    pub limit: String,
    /// Its value (facts, milliseconds, or bytes).
    pub value: u64,
}

impl LimitReport {
    /// The limit in words, in the unit the user gave it: `time limit of
    /// 20 s` (or `of 1500 ms`), `fact limit of 5000000`, `memory limit of
    /// 4 GiB`.
    pub fn describe(&self) -> String {
        match self.limit.as_str() {
            // `--timeout` is given in seconds: 1500 ms is "1.5 s".
            "time" => {
                let whole = self.value / 1000;
                let frac = format!("{:03}", self.value % 1000);
                let frac = frac.trim_end_matches('0');
                if frac.is_empty() {
                    format!("time limit of {whole} s")
                } else {
                    format!("time limit of {whole}.{frac} s")
                }
            }
            "memory" => format!(
                "memory limit of {}",
                crate::memory::show_size(self.value as usize)
            ),
            _ => format!("fact limit of {}", self.value),
        }
    }
}

/// Size of the saturation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Stats {
    /// How far the bounded search went (absent from JSON when it reached
    /// its fixpoint).
    #[serde(skip_serializing_if = "is_fixpoint")]
    pub extent: Extent,
    /// Terms in the knowledge set.
    pub known: usize,
    /// Rule instances that fired.
    pub firings: usize,
    /// API functions.
    pub functions: usize,
}

fn is_fixpoint(e: &Extent) -> bool {
    *e == Extent::Fixpoint
}

/// The result of checking one API.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Report {
    /// The file checked.
    pub file: String,
    /// The API's name.
    pub api: String,
    /// The overall verdict.
    pub verdict: Verdict,
    /// For `secure`: proved, or up to bounds.
    pub proof: Option<Proof>,
    /// What the verdict rests on, in a sentence.
    pub rests_on: String,
    /// Bounds that cut rule instances.
    pub bounds: Vec<BoundReport>,
    /// The limit that stopped saturation, if one did.
    pub limit: Option<LimitReport>,
    /// Terms and lists of terms printed once and used by name (`@1`) in
    /// the secrets below: those longer than 80 characters that the report
    /// would print more than once (`crate::analysis::shared`). Absent when empty.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub shared: Vec<crate::analysis::shared::SharedTerm>,
    /// Per secret.
    pub secrets: Vec<SecretReport>,
    /// When a secret is "not derivable" only up to bounds: why proof mode
    /// did not prove it (XOR outside the fragment it handles, located by
    /// function and input; another cut; a limit; or a derivation it cannot
    /// rule out).
    pub proof_gap: Option<String>,
    /// Sizes.
    pub stats: Stats,
    /// The knowledge set, in canonical order (one printed term each).
    #[serde(skip)]
    pub knowledge: Vec<String>,
    /// The bounds that cut rule instances in the bounded saturation the
    /// knowledge set comes from (`flag value`, as `input-depth 0`), even
    /// when proof mode then proved the verdict and `bounds` is empty: the
    /// knowledge set is then still what the bounded run obtained.
    #[serde(skip)]
    pub knowledge_cuts: Vec<String>,
    /// Saturation time (not printed in deterministic output).
    #[serde(skip)]
    pub elapsed: Duration,
}

impl Report {
    /// The report with every shared name (`@1`) put back in place and no
    /// shared-term table: what `--full-terms` prints. Its size may be far
    /// beyond the report's (each use prints the whole term).
    pub fn expanded(&self) -> Report {
        if self.shared.is_empty() {
            return self.clone();
        }
        let e = crate::analysis::shared::expansions(&self.shared);
        let mut r = self.clone();
        r.shared.clear();
        for s in &mut r.secrets {
            s.term = crate::analysis::shared::expand_text(&s.term, &e);
            for step in &mut s.trace {
                step.args = crate::analysis::shared::expand_list(&step.args, &e);
                step.result = crate::analysis::shared::expand_list(&step.result, &e);
            }
        }
        r
    }
}

/// Settings for a check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Settings {
    /// Bounds on what the attacker builds.
    pub bounds: Bounds,
    /// Resource limits.
    pub limits: Limits,
    /// The bound on calls of the stateful search, run when an attack needs
    /// one object in two states; 0: no search.
    pub state_calls: usize,
    /// Decide each secret as cheaply as the verdict allows: an API too
    /// large to saturate within [`crate::analysis::staged::FIRST_PASS_FACTS`] facts
    /// is decided by proof mode first and a bounded search that stops once
    /// every secret is decided ([`crate::analysis::staged`]). The report's knowledge
    /// set is then partial, so commands that print or compare it leave
    /// this off.
    pub stop_early: bool,
    /// With `stop_early`: the facts the classic saturation may reach before
    /// the path for large APIs takes over (tests set it low to compare the
    /// two paths on small APIs).
    pub first_pass_facts: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            bounds: Bounds::default(),
            limits: Limits::default(),
            state_calls: crate::analysis::stateful::DEFAULT_STATE_CALLS,
            stop_early: false,
            first_pass_facts: FIRST_PASS_FACTS,
        }
    }
}

/// The attacker's own name as a term: the program's, or `attacker`,
/// declared and added to the knowledge when the file names none.
pub fn attacker_term(program: &mut Program) -> TermId {
    let attacker = program
        .store
        .names()
        .find(|(_, n)| n.kind == crate::front::term::NameKind::Attacker)
        .map(|(id, _)| id);
    match attacker {
        Some(id) => program.store.name_term(id),
        None => {
            let id = program
                .store
                .declare_name("attacker", crate::front::term::NameKind::Attacker);
            let t = program.store.name_term(id);
            program.knowledge.push(t);
            t
        }
    }
}

/// Checks a lowered program: saturate, find the shortest attack on every
/// derivable secret, replay it, and say what the verdict rests on.
pub fn check_program(program: Program, settings: Settings) -> Report {
    check_program_within(program, settings, &Budget::start(settings.limits))
}

/// The bounded saturation of a program alone (what [`check_program`]
/// starts with): every term the attacker obtains within the bounds, for
/// analyses that need the terms themselves (`crate::analysis::strong`).
pub fn saturation(
    program: &mut Program,
    settings: Settings,
) -> crate::analysis::engine::Saturation {
    let attacker = attacker_term(program);
    let compiled = compile(program, attacker);
    let goals: Vec<_> = program.secrets.iter().map(|s| s.term).collect();
    saturate(
        program,
        &compiled.plans,
        &goals,
        settings.bounds,
        settings.limits,
    )
}

/// [`check_program`] on a clock and memory count started earlier
/// (`budget`): every stage after saturation stops when it runs out, and
/// the report then says what was left undone.
pub fn check_program_within(mut program: Program, settings: Settings, budget: &Budget) -> Report {
    let attacker = attacker_term(&mut program);
    let compiled = compile(&mut program, attacker);
    let goals: Vec<_> = program.secrets.iter().map(|s| s.term).collect();
    let first_limits = if settings.stop_early {
        Limits {
            max_facts: settings.limits.max_facts.min(settings.first_pass_facts),
            ..settings.limits
        }
    } else {
        settings.limits
    };
    let mut sat = saturate(
        &mut program,
        &compiled.plans,
        &goals,
        settings.bounds,
        first_limits,
    );
    // Too large for the classic run: proof mode first, then a bounded
    // search that stops once every secret is decided.
    let mut extent = Extent::Fixpoint;
    let mut first_proof = None;
    if settings.stop_early
        && settings.limits.max_facts > settings.first_pass_facts
        && sat.stop == StopReason::FactLimit(settings.first_pass_facts)
    {
        drop(sat);
        let staged = crate::analysis::staged::decide(
            &mut program,
            &compiled.plans,
            &goals,
            settings.bounds,
            budget,
        );
        sat = staged.sat;
        // The stages ran on what was left of the limits: report the limit
        // the user gave.
        if let (StopReason::TimeLimit(_), Some(limit)) = (sat.stop, settings.limits.timeout) {
            sat.stop = StopReason::TimeLimit(limit);
        }
        extent = staged.extent;
        first_proof = Some(staged.proof);
    }
    for rule in &compiled.truncated {
        sat.cuts.insert(Cut {
            kind: CutKind::PlanBudget,
            rule: Some(*rule),
        });
    }
    // Shortest derivations are only needed when some secret is derivable.
    let derived: Vec<_> = goals
        .iter()
        .copied()
        .filter(|g| sat.derivable.contains(g))
        .collect();
    let derivations = (!derived.is_empty())
        .then(|| Derivations::compute_within(&mut program, &sat, &derived, budget));
    let saturated = sat.stop == StopReason::Saturated;

    // Each secret's attack and replay first; then every term the report
    // prints, at once, so that large shared parts are named once.
    struct Found {
        derivable: bool,
        attack: Option<crate::analysis::trace::Attack>,
        replay: Option<ReplayReport>,
        stateful: Option<StatefulReport>,
        lifetime: Option<LifetimeReport>,
        unfinished: Option<String>,
        /// Replay could not confirm the attack (and was not stopped): the
        /// lifetime model and the stateful search are asked.
        unconfirmed: bool,
    }
    let mut found: Vec<Found> = Vec::new();
    for secret in program.secrets.clone() {
        let derivable = sat.derivable.contains(&secret.term);
        let mut f = Found {
            derivable,
            attack: None,
            replay: None,
            stateful: None,
            lifetime: None,
            unfinished: None,
            unconfirmed: false,
        };
        if derivable {
            match &derivations {
                Some(Ok(d)) => {
                    if let Some(attack) = d.attack(&program, secret.term) {
                        let outcome = replay_within(&mut program, &attack, budget);
                        f.replay = Some(replay_report(&outcome));
                        let confirmed =
                            matches!(outcome, Replay::Confirmed | Replay::ConfirmedExact);
                        let stopped = matches!(outcome, Replay::Stopped(_));
                        f.unconfirmed = !confirmed && !stopped;
                        f.attack = Some(attack);
                    }
                }
                Some(Err(stop)) => {
                    f.unfinished = Some(format!(
                        "its attack was not extracted: the {} was reached first \
                         (a smaller --max-facts stops saturation sooner, leaving time for it)",
                        limit_report(*stop)
                            .map(|l| l.describe())
                            .unwrap_or_default()
                    ));
                }
                None => {}
            }
        }
        found.push(f);
    }
    // Attacks replay cannot confirm on a token with objects: first the
    // lifetime model, which may prove the secret out of reach (the attack
    // then needs one object in two states no run gives it); failing that,
    // the stateful search for a real attack (longer, or with distinct
    // fresh keys).
    let asked: Vec<usize> = (0..found.len()).filter(|i| found[*i].unconfirmed).collect();
    if !asked.is_empty() && program.objects.is_some() {
        let goals: Vec<TermId> = asked.iter().map(|i| program.secrets[*i].term).collect();
        let calls: Vec<usize> = asked
            .iter()
            .map(|i| found[*i].attack.as_ref().map_or(0, |a| a.calls))
            .collect();
        if let Some(reports) = lifetime_reports(&program, &goals, &calls, settings, budget) {
            for (&i, report) in asked.iter().zip(reports) {
                if report.result == "proved" {
                    let f = &mut found[i];
                    f.derivable = false;
                    f.attack = None;
                    f.replay = None;
                    f.unconfirmed = false;
                }
                found[i].lifetime = Some(report);
            }
        }
    }
    if settings.state_calls > 0 {
        for (i, secret) in program.secrets.clone().iter().enumerate() {
            if found[i].unconfirmed {
                found[i].stateful =
                    stateful_report(&mut program, secret.term, settings.state_calls, budget);
            }
        }
    }
    let namer = {
        let roots: Vec<TermId> = program.secrets.iter().map(|s| s.term).collect();
        let mut lists: Vec<Vec<TermId>> = Vec::new();
        for f in &found {
            for step in f.attack.iter().flat_map(|a| a.steps.iter()) {
                let (args, results) = step_lists(step);
                lists.push(args);
                lists.push(results);
            }
        }
        Namer::new(&program.store, &roots, &lists)
    };
    // Secrets proof mode proved before the bounded search (crate::analysis::staged):
    // proved whatever became of the search, a limit included.
    let no_proof = vec![false; program.secrets.len()];
    let proved_first: &[bool] = match &first_proof {
        Some((run, proved)) if run.is_exact() => proved,
        _ => &no_proof,
    };
    let mut secrets = Vec::new();
    for ((secret, f), first) in program.secrets.iter().zip(found).zip(proved_first) {
        let mut report = SecretReport {
            label: secret.label.clone(),
            term: namer.term(&program.store, secret.term),
            derivable: if f.derivable || saturated || *first {
                Some(f.derivable)
            } else {
                None
            },
            calls: None,
            trace: Vec::new(),
            replay: f.replay,
            stateful: f.stateful,
            proof: f
                .lifetime
                .as_ref()
                .filter(|l| l.result == "proved")
                .map(|_| Proof::Proved)
                .or((!saturated && *first && !f.derivable).then_some(Proof::Proved)),
            lifetime: f.lifetime,
            unfinished: f.unfinished,
            strong: None,
        };
        if let Some(attack) = &f.attack {
            report.calls = Some(attack.calls);
            report.trace = attack
                .steps
                .iter()
                .map(|s| step_report(&program, &namer, s))
                .collect();
        }
        secrets.push(report);
    }
    let shared = namer.into_table();

    let any = secrets.iter().any(|s| s.derivable == Some(true));
    let mut bounds = bound_reports(&program, &sat, settings.bounds);
    let knowledge_cuts: Vec<String> = bounds.iter().map(BoundReport::label).collect();
    // Secrets not derivable: proved when no bound cut the bounded search;
    // else ask proof mode, which needs no bound on what the attacker builds.
    // (Secrets the lifetime model proved are settled already.)
    let open: Vec<usize> = (0..secrets.len())
        .filter(|i| secrets[*i].derivable == Some(false) && secrets[*i].lifetime.is_none())
        .collect();
    let by_lifetime: Vec<String> = secrets
        .iter()
        .filter(|s| s.derivable == Some(false) && s.lifetime.is_some())
        .map(|s| s.label.clone())
        .collect();
    let mut by_proof_mode = false;
    // Why proof mode could not close the gap, when it could not.
    let mut proof_gap: Option<String> = None;
    if saturated && !open.is_empty() {
        if bounds.is_empty() && extent == Extent::Fixpoint {
            for &i in &open {
                secrets[i].proof = Some(Proof::Proved);
            }
        } else {
            let (run, found) = match first_proof.take() {
                // Proof mode ran first (crate::analysis::staged): the same run.
                Some((run, proved)) => {
                    let found: Vec<bool> = open.iter().map(|i| !proved[*i]).collect();
                    (run, found)
                }
                None => {
                    let mut run =
                        prove::prove_within(&mut program, settings.bounds, settings.limits, budget);
                    let terms: Vec<_> = open.iter().map(|i| program.secrets[*i].term).collect();
                    // Judging the secrets against the facts takes time too:
                    // with the budget spent, the run proves nothing (every
                    // secret up to).
                    let found = match (run.stop, budget.exceeded()) {
                        (StopReason::Saturated, Some(stop)) => {
                            run.stop = stop;
                            vec![true; terms.len()]
                        }
                        (StopReason::Saturated, None) => {
                            prove::derivable_all(&mut program, &run, &terms)
                        }
                        _ => vec![true; terms.len()],
                    };
                    (run, found)
                }
            };
            for (&i, derivable) in open.iter().zip(found) {
                let proved = run.is_exact() && !derivable;
                secrets[i].proof = Some(if proved { Proof::Proved } else { Proof::UpTo });
            }
            by_proof_mode = open
                .iter()
                .all(|i| secrets[*i].proof == Some(Proof::Proved));
            if by_proof_mode {
                bounds.clear();
            } else if !run.is_exact() {
                proof_gap = Some(format!(
                    "proof mode did not reach an exact fixpoint: {}",
                    proof_cuts(&run)
                ));
            } else {
                proof_gap = Some(
                    "proof mode, which needs no bounds, finds a derivation it cannot rule out \
                     (possibly an attack beyond the bounds)"
                        .to_string(),
                );
            }
        }
    }
    let limit = limit_report(sat.stop);
    let unconfirmed = secrets
        .iter()
        .filter(|s| s.derivable == Some(true))
        .all(SecretReport::unconfirmed);
    let (verdict, proof, rests_on) = if any && unconfirmed {
        (
            Verdict::Attack,
            None,
            "a derivation in the abstract model only (a handle keeps every attribute \
             set it ever had): no attack was confirmed on a token with state, and the \
             stateful search found none (within its bound of calls, or before a limit \
             stopped it, as each secret says); neither an attack nor \
             security is established"
                .to_string(),
        )
    } else if any {
        (
            Verdict::Attack,
            None,
            "a derivation of the secret from the attacker's knowledge with legal calls; \
             each attack is replayed on a concrete model"
                .to_string(),
        )
    } else if !saturated {
        let proved: Vec<&str> = secrets
            .iter()
            .filter(|s| s.derivable == Some(false))
            .map(|s| s.label.as_str())
            .collect();
        (
            Verdict::Limit,
            None,
            if proved.is_empty() {
                "nothing: saturation stopped at a resource limit before a fixpoint; \
                 no secret was derivable by then"
                    .to_string()
            } else {
                format!(
                    "saturation stopped at a resource limit before a fixpoint, and no \
                     secret was derivable by then; proof mode (saturation over facts with \
                     variables, no bound cutting) proved {} not derivable, the others are \
                     undecided",
                    proved.join(", ")
                )
            },
        )
    } else if !by_lifetime.is_empty() && (open.is_empty() || by_proof_mode || bounds.is_empty()) {
        let others = if open.is_empty() {
            String::new()
        } else if by_proof_mode {
            "proof mode (saturation over facts with variables, no bound cutting) derives \
             none of the other secrets in the monotone model; "
                .to_string()
        } else {
            "the monotone model's fixpoint holds none of the other secrets and no bound cut \
             any rule instance; "
                .to_string()
        };
        bounds.clear();
        (
            Verdict::Secure,
            Some(Proof::Proved),
            format!(
                "{others}{} {} derived by the monotone model only with one object in two \
                 states, and no case of the lifetime model derives {} (each object carries the \
                 attributes it holds at any time of the run, and never both attributes of a \
                 conflicting sticky-on pair; one case per choice for the initial objects, each \
                 proved): a proof for every attacker and any number of calls, within the \
                 Dolev-Yao model and the fresh-value abstraction",
                by_lifetime.join(", "),
                if by_lifetime.len() == 1 { "is" } else { "are" },
                if by_lifetime.len() == 1 { "it" } else { "them" },
            ),
        )
    } else if by_proof_mode {
        (
            Verdict::Secure,
            Some(Proof::Proved),
            "proof mode: saturation over facts with variables (each standing for every \
             term the attacker can derive in its variables) reached a fixpoint with no \
             bound cutting, and no secret is derivable from it: a proof for every attacker \
             and any number of calls, within the Dolev-Yao model and the fresh-value \
             abstraction"
                .to_string(),
        )
    } else if bounds.is_empty() {
        (
            Verdict::Secure,
            Some(Proof::Proved),
            "the fixpoint holds no secret and no bound cut any rule instance: a proof for \
             every attacker and any number of calls, within the Dolev-Yao model and the \
             fresh-value abstraction"
                .to_string(),
        )
    } else {
        (
            Verdict::Secure,
            Some(Proof::UpTo),
            format!(
                "the fixpoint holds no secret, but the bounds listed cut rule instances: \
                 secure up to those bounds, not proved{}",
                proof_gap
                    .as_ref()
                    .map(|g| format!("; {g}"))
                    .unwrap_or_default()
            ),
        )
    };
    // The gap matters only while some secret is "not derivable" up to bounds.
    let proof_gap = proof_gap.filter(|_| {
        secrets
            .iter()
            .any(|s| s.derivable == Some(false) && s.proof == Some(Proof::UpTo))
    });
    // Sorted by (length in characters, text), each length counted once.
    let mut keyed: Vec<(usize, String)> = sat
        .known
        .iter()
        .map(|t| {
            let s = program.show(*t);
            (s.chars().count(), s)
        })
        .collect();
    keyed.sort_unstable();
    let mut knowledge: Vec<String> = keyed.into_iter().map(|(_, s)| s).collect();
    knowledge.dedup();
    Report {
        file: program.file.clone(),
        api: program.name.clone(),
        verdict,
        proof,
        rests_on,
        bounds,
        limit,
        shared,
        secrets,
        stats: Stats {
            extent,
            known: knowledge.len(),
            firings: sat.firings.len(),
            functions: program
                .rules
                .iter()
                .filter(|r| r.kind == RuleKind::Call)
                .count(),
        },
        knowledge,
        knowledge_cuts,
        proof_gap,
        elapsed: sat.elapsed,
    }
}

/// What cut a proof run short, in words: the XOR uses outside the fragment
/// proof mode handles (at most three, then how many more), the rules whose
/// facts or search were cut, and the limit.
fn proof_cuts(run: &prove::ProofRun) -> String {
    const SHOWN: usize = 3;
    let mut why: Vec<String> = Vec::new();
    let xor = run.xor_gaps();
    if !xor.is_empty() {
        let mut list = xor[..xor.len().min(SHOWN)].join("; ");
        if xor.len() > SHOWN {
            list.push_str(&format!("; and {} more", xor.len() - SHOWN));
        }
        why.push(format!(
            "XOR is used outside the fragment it handles ({list})"
        ));
    }
    for c in &run.cuts {
        match c {
            prove::ProofCut::MaxDepth(r) => {
                why.push(format!("it dropped facts deeper than max-depth ({r})"))
            }
            prove::ProofCut::SearchSteps(r) => why.push(format!("its search for {r} was cut")),
            prove::ProofCut::Xor(_) => {}
        }
    }
    match run.stop {
        StopReason::Saturated => {}
        StopReason::FactLimit(_) => why.push("it hit the fact limit".to_string()),
        StopReason::TimeLimit(_) => why.push("it hit the time limit".to_string()),
        StopReason::MemoryLimit(_) => why.push("it hit the memory limit".to_string()),
    }
    why.join(", ")
}

/// A step's arguments and results, as its report prints them (a build or
/// XOR: its inputs and the one term it gives).
fn step_lists(step: &TraceStep) -> (Vec<TermId>, Vec<TermId>) {
    match step {
        TraceStep::Apply { args, results, .. } => (args.clone(), results.clone()),
        TraceStep::Build { term, from } | TraceStep::Xor { term, from } => {
            (from.clone(), vec![*term])
        }
    }
}

fn step_report(program: &Program, namer: &Namer, step: &TraceStep) -> StepReport {
    let (args, results) = step_lists(step);
    // Handles of a token with named attributes print with their names
    // (`hdl(k1, {wrap: T})`); such APIs are small, so nothing is named.
    let show = |l: &[TermId]| -> Vec<String> {
        if program.objects.is_some() {
            l.iter().map(|t| program.show(*t)).collect()
        } else {
            namer.list(&program.store, l)
        }
    };
    let args = show(&args);
    let result = show(&results);
    match step {
        TraceStep::Apply { rule, kind, .. } => StepReport {
            kind: match kind {
                RuleKind::Call => "call".into(),
                RuleKind::Deduction => "deduction".into(),
            },
            call: program.rule(*rule).name.clone(),
            args,
            result,
        },
        TraceStep::Build { .. } => StepReport {
            kind: "build".into(),
            call: "build".into(),
            args,
            result,
        },
        TraceStep::Xor { .. } => StepReport {
            kind: "xor".into(),
            call: "xor".into(),
            args,
            result,
        },
    }
}

/// The limit a stop reason names, for the report (`None` at a fixpoint).
fn limit_report(stop: StopReason) -> Option<LimitReport> {
    match stop {
        StopReason::Saturated => None,
        StopReason::FactLimit(n) => Some(LimitReport {
            limit: "facts".into(),
            value: n as u64,
        }),
        StopReason::TimeLimit(d) => Some(LimitReport {
            limit: "time".into(),
            value: d.as_millis() as u64,
        }),
        StopReason::MemoryLimit(bytes) => Some(LimitReport {
            limit: "memory".into(),
            value: bytes as u64,
        }),
    }
}

/// Asks the lifetime model about `goals` (each derivable in the monotone
/// model with an attack of `calls` calls that replay could not confirm).
/// `None` when lifetimes add nothing (no objects, no conflicting pair of
/// sticky-on attributes): nothing is reported then.
fn lifetime_reports(
    program: &Program,
    goals: &[TermId],
    calls: &[usize],
    settings: Settings,
    budget: &Budget,
) -> Option<Vec<LifetimeReport>> {
    use crate::analysis::lifetime::{establish, GoalResult, NotApplicable};
    let e = match establish(program, goals, settings, budget) {
        Ok(e) => e,
        Err(NotApplicable::NoObjects | NotApplicable::NoExclusivePair) => return None,
        Err(other) => {
            let report = LifetimeReport {
                result: "not-applicable".into(),
                cases: 0,
                detail: format!("not applied: {}", other.describe()),
            };
            return Some(vec![report; goals.len()]);
        }
    };
    let pairs: Vec<String> = e
        .pairs
        .iter()
        .map(|(a, b)| format!("{a} and {b}"))
        .collect();
    let pairs = pairs.join("; ");
    let cases = crate::style::plural(e.cases as u64, "case");
    Some(
        e.goals
            .iter()
            .zip(calls)
            .map(|(g, n)| {
                let (result, detail) = match g {
                    GoalResult::Proved => (
                        "proved",
                        format!(
                            "the monotone model derives it with {} only by using one object \
                             in two states; with lifetimes (an object never holds both {pairs}, \
                             which conflict and are sticky on, at any times of one run) no case \
                             derives it ({cases}, each proved)",
                            crate::style::plural(*n as u64, "API call")
                        ),
                    ),
                    GoalResult::Derivable(c) => (
                        "derivable",
                        format!(
                            "still derivable with lifetimes (an object never holds both {pairs} \
                             in one run), in case {c} of {}",
                            e.cases
                        ),
                    ),
                    GoalResult::UpTo => (
                        "up-to",
                        format!(
                            "with lifetimes, not derivable within the bounds only ({cases}): not proved"
                        ),
                    ),
                    GoalResult::Stopped => (
                        "stopped",
                        "with lifetimes: a limit stopped it first; nothing is claimed".to_string(),
                    ),
                };
                LifetimeReport {
                    result: result.into(),
                    cases: e.cases,
                    detail,
                }
            })
            .collect(),
    )
}

/// Runs the stateful search for `goal` and says what it established.
fn stateful_report(
    program: &mut Program,
    goal: TermId,
    calls: usize,
    budget: &Budget,
) -> Option<StatefulReport> {
    use crate::analysis::stateful::Outcome;
    let outcome = crate::analysis::stateful::search(program, goal, calls, budget)?;
    Some(match outcome {
        Outcome::Attack(steps) => StatefulReport {
            calls,
            result: "attack".into(),
            detail: format!(
                "a real attack on a token with state, {} call{}",
                steps.len(),
                if steps.len() == 1 { "" } else { "s" }
            ),
            trace: steps
                .into_iter()
                .map(|c| StepReport {
                    kind: "call".into(),
                    call: c.function,
                    args: c.args,
                    result: c.results,
                })
                .collect(),
        },
        Outcome::NoneWithin(n) => StatefulReport {
            calls,
            result: "none".into(),
            detail: format!(
                "no attack with state within {n} calls (every sequence of calls on a token whose objects change state; arguments: terms obtained, or built from the names known)"
            ),
            trace: Vec::new(),
        },
        Outcome::GaveUp {
            searched, limit, ..
        } => StatefulReport {
            calls,
            result: "gave-up".into(),
            detail: format!(
                "the stateful search stopped at {} (searched {searched} calls deep, no attack found there); nothing is claimed",
                match limit.and_then(limit_report) {
                    Some(l) => format!("the {}", l.describe()),
                    None => format!("its budget of {} states", crate::analysis::stateful::MAX_STATES),
                }
            ),
            trace: Vec::new(),
        },
    })
}

fn replay_report(r: &Replay) -> ReplayReport {
    match r {
        Replay::ConfirmedExact => ReplayReport {
            confirmed: true,
            detail: "confirmed: no abstraction is involved".into(),
        },
        Replay::Confirmed => ReplayReport {
            confirmed: true,
            detail: "confirmed on a concrete HSM with distinct fresh values".into(),
        },
        Replay::Stopped(stop) => ReplayReport {
            confirmed: false,
            detail: format!(
                "not replayed: the {} was reached first",
                limit_report(*stop)
                    .map(|l| l.describe())
                    .unwrap_or_default()
            ),
        },
        Replay::TwoStates { step, reason } => ReplayReport {
            confirmed: false,
            detail: format!(
                "not confirmed: step {step} needs an object in two states ({reason}); \
                 the abstract model lets a handle keep every attribute set it had"
            ),
        },
        Replay::Failed { step, reason } => ReplayReport {
            confirmed: false,
            detail: format!(
                "not confirmed: step {step} fails on a concrete HSM ({reason}); \
                 the attack may be an artefact of the fresh-value abstraction"
            ),
        },
    }
}

fn bound_reports(
    program: &Program,
    sat: &crate::analysis::engine::Saturation,
    b: Bounds,
) -> Vec<BoundReport> {
    let kinds = [
        CutKind::MaxDepth,
        CutKind::InputChoice,
        CutKind::XorChoice,
        CutKind::PlanBudget,
    ];
    let mut out = Vec::new();
    for kind in kinds {
        let cuts: Vec<_> = sat.cuts.iter().filter(|c| c.kind == kind).collect();
        if cuts.is_empty() {
            continue;
        }
        let rules: Vec<String> = cuts
            .iter()
            .filter_map(|c| c.rule)
            .map(|r| program.rule(r).name.clone())
            .collect();
        let (bound, value, meaning) = match kind {
            CutKind::MaxDepth => (
                "max-depth",
                Some(b.max_depth as u64),
                format!("results deeper than {} were dropped", b.max_depth),
            ),
            CutKind::InputChoice => (
                "input-depth",
                Some(b.input_depth as u64),
                if b.input_depth == 0 {
                    "inputs the attacker chooses freely were drawn only from the names it knew"
                        .to_string()
                } else {
                    format!(
                        "inputs the attacker chooses freely were drawn only from terms it had \
                         obtained, up to depth {}",
                        b.input_depth
                    )
                },
            ),
            CutKind::XorChoice => (
                "xor-width",
                Some(b.xor_width as u64),
                format!(
                    "inputs under XOR were drawn only from obtained terms and XORs of at most {} \
                     obtained names",
                    b.xor_width
                ),
            ),
            CutKind::PlanBudget => (
                "plan-budget",
                None,
                "not every way the attacker could build these rules' inputs was tried \
                 (too many combinations)"
                    .to_string(),
            ),
        };
        out.push(BoundReport {
            bound: bound.to_string(),
            value,
            rules,
            meaning,
        });
    }
    out
}

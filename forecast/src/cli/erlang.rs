//! `tenet erlang`: metrics for a given agent count, or the staffing that meets targets.

use clap::{Args, ValueEnum};
use serde::Serialize;

use crate::erlang::{
    ErlangError, HandleTime, MaxOccupancy, Model, ParamError, Patience, Probability, Queue,
    ServiceLevelBasis, ServiceLevelTarget, Shrinkage, Targets, Traffic, WaitLimit,
};

/// Queueing model on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ModelArg {
    /// Erlang B: blocked contacts are lost.
    B,
    /// Erlang C: callers wait forever.
    C,
    /// Erlang A: callers abandon after an exponential patience (needs --patience-sec).
    A,
}

/// Erlang A service-level basis on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum SlBasisArg {
    /// Answered within T / all arrivals (abandons count against the service level).
    #[default]
    Arrivals,
    /// Answered within T / answered.
    Answered,
}

impl From<SlBasisArg> for ServiceLevelBasis {
    fn from(value: SlBasisArg) -> Self {
        match value {
            SlBasisArg::Arrivals => Self::Arrivals,
            SlBasisArg::Answered => Self::Answered,
        }
    }
}

/// Arguments of `tenet erlang`.
#[derive(Debug, Clone, Args)]
pub struct ErlangArgs {
    /// Queueing model.
    #[arg(long, value_enum)]
    pub model: ModelArg,
    /// Contacts offered in the interval.
    #[arg(long)]
    pub calls: f64,
    /// Interval length in minutes.
    #[arg(long)]
    pub interval_min: f64,
    /// Average handling time in seconds.
    #[arg(long)]
    pub aht_sec: HandleTime,
    /// T of the service level: answered within this many seconds (with --agents alone it
    /// reports the service level at T).
    #[arg(long)]
    pub target_answer_sec: Option<WaitLimit>,
    /// X of the service level: share answered within T (0.8 or 80%).
    #[arg(long, requires = "target_answer_sec")]
    pub target_sl: Option<Probability>,
    /// Highest acceptable occupancy (0.85 or 85%).
    #[arg(long)]
    pub max_occupancy: Option<MaxOccupancy>,
    /// Shrinkage: scheduled = ceil(agents / (1 − shrinkage)).
    #[arg(long)]
    pub shrinkage: Option<Shrinkage>,
    /// Mean caller patience in seconds (Erlang A).
    #[arg(long)]
    pub patience_sec: Option<Patience>,
    /// Highest acceptable abandon rate (Erlang A) or blocking rate (Erlang B).
    #[arg(long)]
    pub max_abandon: Option<Probability>,
    /// Highest acceptable average speed of answer in seconds.
    #[arg(long)]
    pub max_asa_sec: Option<WaitLimit>,
    /// Service-level basis for Erlang A.
    #[arg(long, value_enum, default_value_t = SlBasisArg::Arrivals)]
    pub sl_basis: SlBasisArg,
    /// Evaluate this many agents instead of solving for the targets (at most 2,000,000).
    #[arg(long, value_parser = clap::value_parser!(u32).range(0..=2_000_000))]
    pub agents: Option<u32>,
}

/// Why `tenet erlang` failed.
#[derive(Debug, thiserror::Error)]
pub enum ErlangCliError {
    /// An input out of range.
    #[error(transparent)]
    Param(#[from] ParamError),
    /// The queueing question has no answer.
    #[error(transparent)]
    Erlang(#[from] ErlangError),
    /// Erlang A without a patience.
    #[error("--model a needs --patience-sec")]
    MissingPatience,
    /// The inputs lie where the model has no finite answer (a traffic too small to carry,
    /// say).
    #[error("the {0} of these inputs is not a finite number; check the volume, AHT and interval")]
    NotFinite(&'static str),
}

/// The JSON object `tenet erlang` prints; `null` where the model does not define a figure.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ErlangReport {
    /// Offered traffic A in Erlangs.
    pub traffic_erlangs: f64,
    /// Agents on the phones.
    pub agents: u32,
    /// Agents to schedule after shrinkage.
    pub agents_with_shrinkage: u32,
    /// Probability of waiting.
    pub prob_wait: Option<f64>,
    /// Service level at the target answer time.
    pub service_level: Option<f64>,
    /// Average speed of answer in seconds.
    pub asa_sec: Option<f64>,
    /// Occupancy.
    pub occupancy: f64,
    /// Abandon (Erlang A) or blocking (Erlang B) probability.
    pub abandon_prob: Option<f64>,
    /// Erlang B blocking probability B(N, A).
    pub erlang_b: f64,
}

/// Computes the report of `tenet erlang`.
///
/// # Errors
///
/// [`ErlangCliError`] for inputs out of range, Erlang A without patience, an unstable
/// Erlang C agent count, targets the model cannot measure, or no target when solving.
pub fn erlang_report(args: &ErlangArgs) -> Result<ErlangReport, ErlangCliError> {
    let traffic = Traffic::from_volume(args.calls, args.interval_min * 60.0, args.aht_sec)?;
    let model = match args.model {
        ModelArg::B => Model::ErlangB,
        ModelArg::C => Model::ErlangC,
        ModelArg::A => Model::ErlangA {
            patience: args.patience_sec.ok_or(ErlangCliError::MissingPatience)?,
            basis: args.sl_basis.into(),
        },
    };
    let queue = Queue {
        traffic,
        aht: args.aht_sec,
        model,
    };
    let service_level = args
        .target_sl
        .zip(args.target_answer_sec)
        .map(|(share, within)| ServiceLevelTarget::new(share, within));
    let metrics = match args.agents {
        Some(agents) => queue.metrics(agents, args.target_answer_sec)?,
        None => {
            let targets = Targets {
                service_level,
                max_asa: args.max_asa_sec,
                max_abandon: args.max_abandon,
                max_occupancy: args.max_occupancy,
            };
            queue.staff(&targets)?.metrics
        }
    };
    let shrinkage = args.shrinkage.unwrap_or(Shrinkage::NONE);
    let figures = [
        ("traffic", Some(metrics.traffic_erlangs)),
        ("probability of waiting", metrics.prob_wait),
        ("service level", metrics.service_level),
        ("ASA", metrics.asa_sec),
        ("occupancy", Some(metrics.occupancy)),
        ("abandon probability", metrics.abandon_prob),
        ("Erlang B", Some(metrics.erlang_b)),
    ];
    if let Some((name, _)) = figures
        .iter()
        .find(|(_, value)| value.is_some_and(|value| !value.is_finite()))
    {
        return Err(ErlangCliError::NotFinite(name));
    }
    Ok(ErlangReport {
        traffic_erlangs: metrics.traffic_erlangs,
        agents: metrics.agents,
        agents_with_shrinkage: shrinkage.scheduled(metrics.agents),
        prob_wait: metrics.prob_wait,
        service_level: metrics.service_level,
        asa_sec: metrics.asa_sec,
        occupancy: metrics.occupancy,
        abandon_prob: metrics.abandon_prob,
        erlang_b: metrics.erlang_b,
    })
}

/// Runs `tenet erlang` and returns the JSON object to print.
///
/// # Errors
///
/// As [`erlang_report`].
pub fn run_erlang(args: &ErlangArgs) -> Result<serde_json::Value, ErlangCliError> {
    let report = erlang_report(args)?;
    Ok(serde_json::to_value(report).expect("the report holds only numbers"))
}

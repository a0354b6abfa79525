//! `tenet forecast plan`: forecast each queue's history, staff every interval with Erlang C
//! or A, add shrinkage by category, and write the plan with its explanations.

use std::fs::File;
use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};
use serde_json::json;

use super::SlBasisArg;
use super::forecast::{ForecastCliError, ForecastModelArg, load};
use crate::erlang::{
    HandleTime, MaxOccupancy, Model, Patience, Probability, ServiceLevelTarget, Shrinkage, Targets,
    WaitLimit,
};
use crate::plan::{PlanError, QueueDemand, ShrinkageByCategory, plan};
use crate::volume::forecast_with;

/// Queueing model of the plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum PlanErlangArg {
    /// Erlang C: callers wait forever.
    #[default]
    C,
    /// Erlang A: callers abandon after an exponential patience (needs --patience-sec).
    A,
}

/// Arguments of `tenet forecast plan`.
#[derive(Debug, Clone, Args)]
pub struct PlanArgs {
    /// History CSV with `interval_start,contacts[,aht_sec]`, as `FILE` or `QUEUE=FILE`;
    /// repeat for several queues (the queue is named after the file without `QUEUE=`).
    #[arg(long, required = true)]
    pub history: Vec<String>,
    /// Days to plan after the last day of the histories.
    #[arg(long)]
    pub horizon_days: usize,
    /// X of the service level: share answered within T (0.8 or 80%).
    #[arg(long, requires = "target_answer_sec")]
    pub target_sl: Option<Probability>,
    /// T of the service level in seconds.
    #[arg(long, requires = "target_sl")]
    pub target_answer_sec: Option<WaitLimit>,
    /// Highest acceptable average speed of answer in seconds.
    #[arg(long)]
    pub max_asa_sec: Option<WaitLimit>,
    /// Highest acceptable occupancy (0.85 or 85%).
    #[arg(long)]
    pub max_occupancy: Option<MaxOccupancy>,
    /// Highest acceptable abandon rate (Erlang A).
    #[arg(long)]
    pub max_abandon: Option<Probability>,
    /// AHT in seconds for intervals without a forecast AHT (required when a history has no
    /// `aht_sec` column).
    #[arg(long)]
    pub aht_sec: Option<HandleTime>,
    /// Queueing model.
    #[arg(long, value_enum, default_value_t = PlanErlangArg::C)]
    pub erlang: PlanErlangArg,
    /// Mean caller patience in seconds (Erlang A).
    #[arg(long)]
    pub patience_sec: Option<Patience>,
    /// Service-level basis for Erlang A.
    #[arg(long, value_enum, default_value_t = SlBasisArg::Arrivals)]
    pub sl_basis: SlBasisArg,
    /// Breaks and lunch, share of worked hours.
    #[arg(long)]
    pub shrinkage_breaks: Option<Shrinkage>,
    /// Training and coaching, share of worked hours.
    #[arg(long)]
    pub shrinkage_training: Option<Shrinkage>,
    /// Meetings, share of worked hours.
    #[arg(long)]
    pub shrinkage_meetings: Option<Shrinkage>,
    /// Absence, share of scheduled agents.
    #[arg(long)]
    pub shrinkage_absence: Option<Shrinkage>,
    /// Forecasting model.
    #[arg(long, value_enum, default_value_t = ForecastModelArg::Auto)]
    pub model: ForecastModelArg,
    /// Weeks of the moving average.
    #[arg(long, default_value_t = 4)]
    pub ma_weeks: usize,
    /// Special days CSV with `date,kind` (kind `closed` or `holiday`).
    #[arg(long)]
    pub special_days: Option<PathBuf>,
    /// Output: `.json` for the whole plan, `.csv` for one row per queue and interval.
    #[arg(long)]
    pub out: PathBuf,
}

/// Why `tenet forecast plan` failed.
#[derive(Debug, thiserror::Error)]
pub enum PlanCliError {
    /// Reading or forecasting a history failed.
    #[error(transparent)]
    Forecast(#[from] ForecastCliError),
    /// The plan could not be made.
    #[error(transparent)]
    Plan(#[from] PlanError),
    /// A queue without handling times and no --aht-sec.
    #[error("queue `{0}`: its history has no `aht_sec` column; give --aht-sec")]
    MissingAht(String),
    /// Erlang A without a patience.
    #[error("--erlang a needs --patience-sec")]
    MissingPatience,
    /// No target to staff for.
    #[error(
        "give at least one target: --target-sl with --target-answer-sec, --max-asa-sec, \
         --max-occupancy or --max-abandon"
    )]
    NoTarget,
    /// Two histories with the same queue name.
    #[error("queue `{0}` is given twice")]
    DuplicateQueue(String),
    /// An output that is neither `.json` nor `.csv`.
    #[error("{0}: the output must end in .json or .csv")]
    OutFormat(PathBuf),
    /// Writing the output failed.
    #[error("{path}: {message}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The cause.
        message: String,
    },
}

fn queue_and_path(spec: &str) -> (String, PathBuf) {
    match spec.split_once('=') {
        Some((name, path)) if !name.is_empty() => (name.to_owned(), PathBuf::from(path)),
        _ => {
            let path = PathBuf::from(spec);
            let name = path
                .file_stem()
                .map_or_else(|| spec.to_owned(), |s| s.to_string_lossy().into_owned());
            (name, path)
        }
    }
}

/// Runs `tenet forecast plan`: writes the plan and returns a JSON summary to print.
///
/// # Errors
///
/// [`PlanCliError`] for unreadable histories, missing AHT or targets, targets that cannot be
/// met, or an output that cannot be written.
pub fn run_plan(args: &PlanArgs) -> Result<serde_json::Value, PlanCliError> {
    let format = match args.out.extension().and_then(|e| e.to_str()) {
        Some("json") => "json",
        Some("csv") => "csv",
        _ => return Err(PlanCliError::OutFormat(args.out.clone())),
    };
    let model = match args.erlang {
        PlanErlangArg::C => Model::ErlangC,
        PlanErlangArg::A => Model::ErlangA {
            patience: args.patience_sec.ok_or(PlanCliError::MissingPatience)?,
            basis: args.sl_basis.into(),
        },
    };
    let targets = Targets {
        service_level: args
            .target_sl
            .zip(args.target_answer_sec)
            .map(|(share, within)| ServiceLevelTarget::new(share, within)),
        max_asa: args.max_asa_sec,
        max_abandon: args.max_abandon,
        max_occupancy: args.max_occupancy,
    };
    if targets == Targets::default() {
        return Err(PlanCliError::NoTarget);
    }
    let shrinkage = ShrinkageByCategory {
        breaks: args.shrinkage_breaks,
        training: args.shrinkage_training,
        meetings: args.shrinkage_meetings,
        absence: args.shrinkage_absence,
    };
    let mut demands: Vec<QueueDemand> = Vec::new();
    let mut models = serde_json::Map::new();
    for spec in &args.history {
        let (name, path) = queue_and_path(spec);
        if demands.iter().any(|d| d.name == name) {
            return Err(PlanCliError::DuplicateQueue(name));
        }
        let (history, special) = load(&path, args.special_days.as_deref())?;
        let (used, forecast) = forecast_with(
            args.model.choice(args.ma_weeks),
            &history,
            &special,
            args.horizon_days,
        )
        .map_err(ForecastCliError::from)?;
        let aht = match (args.aht_sec, forecast.aht_sec.is_some()) {
            (Some(aht), _) => aht,
            // Every interval has a forecast AHT; the default is never read.
            (None, true) => HandleTime::from_secs(1.0).expect("1 s is a valid AHT"),
            (None, false) => return Err(PlanCliError::MissingAht(name)),
        };
        models.insert(name.clone(), json!(used.name()));
        demands.push(QueueDemand {
            name,
            forecast,
            aht,
            model,
            targets,
        });
    }
    let staffing = plan(&demands, &shrinkage)?;
    write_plan(&staffing, &args.out, format)?;
    let peak = staffing.totals.iter().max_by_key(|t| t.scheduled);
    Ok(json!({
        "queues": models,
        "first_day": demands.first().map(|d| d.forecast.first_day.to_string()),
        "days": args.horizon_days,
        "intervals": staffing.totals.len(),
        "shrinkage": staffing.shrinkage,
        "contacts": staffing.contacts,
        "agent_hours": staffing.agent_hours,
        "scheduled_hours": staffing.scheduled_hours,
        "peak": peak.map(|p| json!({
            "interval_start": p.start.format("%Y-%m-%dT%H:%M:%S").to_string(),
            "agents": p.agents,
            "scheduled": p.scheduled,
        })),
        "out": args.out,
    }))
}

fn write_plan(
    staffing: &crate::plan::StaffingPlan,
    out: &Path,
    format: &str,
) -> Result<(), PlanCliError> {
    let failed = |message: String| PlanCliError::Write {
        path: out.to_owned(),
        message,
    };
    let file = File::create(out).map_err(|e| failed(e.to_string()))?;
    if format == "json" {
        serde_json::to_writer_pretty(std::io::BufWriter::new(file), staffing)
            .map_err(|e| failed(e.to_string()))
    } else {
        staffing
            .write_csv(std::io::BufWriter::new(file))
            .map_err(|e| failed(e.to_string()))
    }
}

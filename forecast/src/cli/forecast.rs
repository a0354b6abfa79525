//! `tenet forecast`: forecast contacts per interval from a CSV history, and backtest models.

use std::fs::File;
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand, ValueEnum};
use serde_json::json;

use super::plan::{PlanArgs, PlanCliError, run_plan};
use crate::volume::{
    BacktestPlan, ForecastError, History, HistoryError, ModelChoice, ModelKind, SpecialDays,
    SpecialDaysError, backtest, forecast_with,
};

/// Model on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ForecastModelArg {
    /// Every candidate weighted by 1 / WAPE² in a backtest on the recent history.
    Auto,
    /// Same slot one week earlier.
    SeasonalNaive,
    /// Mean of the same weekday and slot over the last --ma-weeks weeks.
    MovingAverage,
    /// Daily volume by ridge regression (linfa) on calendar and level features × profile.
    Ridge,
    /// Recency-weighted same-weekday level with day-of-month factors × profile.
    ProfileLevel,
    /// Mean of ridge, profile-level and the 4-week moving average.
    Ensemble,
    /// Exponentially weighted level of every recent day × weekday and day-of-month factors
    /// × profile.
    LocalLevel,
}

impl ForecastModelArg {
    pub(crate) fn choice(self, ma_weeks: usize) -> ModelChoice {
        match self {
            Self::Auto => ModelChoice::Auto,
            Self::SeasonalNaive => ModelChoice::Fixed(ModelKind::SeasonalNaive),
            Self::MovingAverage => ModelChoice::Fixed(ModelKind::MovingAverage { weeks: ma_weeks }),
            Self::Ridge => ModelChoice::Fixed(ModelKind::Ridge),
            Self::ProfileLevel => ModelChoice::Fixed(ModelKind::ProfileLevel),
            Self::Ensemble => ModelChoice::Fixed(ModelKind::Ensemble),
            Self::LocalLevel => ModelChoice::Fixed(ModelKind::LocalLevel),
        }
    }
}

/// Arguments of `tenet forecast` (forecast to a CSV) and its subcommands.
#[derive(Debug, Clone, Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct ForecastArgs {
    /// A subcommand instead of a forecast.
    #[command(subcommand)]
    pub command: Option<ForecastCommand>,
    /// History CSV with `interval_start,contacts`.
    #[arg(long, required = true)]
    pub history: Option<PathBuf>,
    /// Days to forecast after the last day of the history.
    #[arg(long, required = true)]
    pub horizon_days: Option<usize>,
    /// Output CSV with `interval_start,contacts`.
    #[arg(long, required = true)]
    pub out: Option<PathBuf>,
    /// Model.
    #[arg(long, value_enum, default_value_t = ForecastModelArg::Auto)]
    pub model: ForecastModelArg,
    /// Weeks of the moving average.
    #[arg(long, default_value_t = 4)]
    pub ma_weeks: usize,
    /// Special days CSV with `date,kind` (kind `closed` or `holiday`).
    #[arg(long)]
    pub special_days: Option<PathBuf>,
}

/// Subcommands of `tenet forecast`.
#[derive(Debug, Clone, Subcommand)]
pub enum ForecastCommand {
    /// Rolling-origin backtest: WAPE and MAPE per model and origin.
    Backtest(BacktestArgs),
    /// Staffing plan: forecast × Erlang per interval and queue, with shrinkage and the
    /// reason for every agent count.
    Plan(PlanArgs),
    /// Write a tenant's call history per interval from the lake as the CSV `--history`
    /// reads: calls offered and their AHT, days without calls as closed days.
    History(LakeHistoryArgs),
}

/// Arguments of `tenet forecast history`, which the `tenet` binary runs against the lake of
/// its data directory.
#[derive(Debug, Clone, Args)]
pub struct LakeHistoryArgs {
    /// The tenant.
    #[arg(long)]
    pub tenant: String,
    /// First local day or time included: 2026-01-01 or 2026-01-01T08:00.
    #[arg(long)]
    pub from: String,
    /// First local day or time excluded.
    #[arg(long)]
    pub to: String,
    /// Time zone of the intervals: an IANA name or an offset like +02:00.
    #[arg(long, default_value = "UTC")]
    pub tz: String,
    /// Interval length: 15min, 30min or 60min.
    #[arg(long, default_value = "30min")]
    pub granularity: String,
    /// Only calls to these queues (repeatable).
    #[arg(long)]
    pub queue: Vec<String>,
    /// Only calls of these projects (repeatable).
    #[arg(long)]
    pub project: Vec<String>,
    /// Output CSV with `interval_start,contacts,aht_sec`.
    #[arg(long)]
    pub out: PathBuf,
}

impl LakeHistoryArgs {
    /// The parameters of the history, as `name=value` pairs.
    pub fn params(&self) -> Vec<(String, String)> {
        let mut pairs = vec![
            ("from".to_owned(), self.from.clone()),
            ("to".to_owned(), self.to.clone()),
            ("tz".to_owned(), self.tz.clone()),
            ("granularity".to_owned(), self.granularity.clone()),
        ];
        pairs.extend(self.queue.iter().map(|q| ("queue".to_owned(), q.clone())));
        pairs.extend(
            self.project
                .iter()
                .map(|p| ("project".to_owned(), p.clone())),
        );
        pairs
    }
}

/// Arguments of `tenet forecast backtest`.
#[derive(Debug, Clone, Args)]
pub struct BacktestArgs {
    /// History CSV with `interval_start,contacts`.
    #[arg(long)]
    pub history: PathBuf,
    /// Number of origins.
    #[arg(long, default_value_t = 8)]
    pub origins: usize,
    /// Days forecast from each origin.
    #[arg(long, default_value_t = 7)]
    pub horizon_days: usize,
    /// Days between origins.
    #[arg(long, default_value_t = 7)]
    pub step_days: usize,
    /// Models to compare (default: auto and every model).
    #[arg(long, value_enum, value_delimiter = ',')]
    pub models: Vec<ForecastModelArg>,
    /// Weeks of the moving average.
    #[arg(long, default_value_t = 4)]
    pub ma_weeks: usize,
    /// Special days CSV with `date,kind`.
    #[arg(long)]
    pub special_days: Option<PathBuf>,
}

/// Why `tenet forecast` failed.
#[derive(Debug, thiserror::Error)]
pub enum ForecastCliError {
    /// A file could not be opened or created.
    #[error("{path}: {source}")]
    File {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The history is not valid.
    #[error("{path}: {source}")]
    History {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: HistoryError,
    },
    /// The special days are not valid.
    #[error("{path}: {source}")]
    SpecialDays {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: SpecialDaysError,
    },
    /// The forecast failed.
    #[error(transparent)]
    Forecast(#[from] ForecastError),
    /// The staffing plan failed.
    #[error(transparent)]
    Plan(Box<PlanCliError>),
    /// A subcommand that needs the lake, which this crate does not read.
    #[error("`tenet forecast history` reads the lake: run it with the tenet binary")]
    NeedsLake,
    /// Writing the forecast failed.
    #[error("{path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: HistoryError,
    },
}

fn open(path: &Path) -> Result<File, ForecastCliError> {
    File::open(path).map_err(|source| ForecastCliError::File {
        path: path.to_owned(),
        source,
    })
}

pub(crate) fn load(
    history: &Path,
    special: Option<&Path>,
) -> Result<(History, SpecialDays), ForecastCliError> {
    let h = History::from_csv(open(history)?).map_err(|source| ForecastCliError::History {
        path: history.to_owned(),
        source,
    })?;
    let s = match special {
        Some(path) => {
            SpecialDays::from_csv(open(path)?).map_err(|source| ForecastCliError::SpecialDays {
                path: path.to_owned(),
                source,
            })?
        }
        None => SpecialDays::default(),
    };
    Ok((h, s))
}

/// Runs `tenet forecast` (writes the forecast CSV), `tenet forecast backtest` or `tenet
/// forecast plan`, and returns the JSON object to print: a summary of the forecast, the
/// backtest scores, or a summary of the plan.
///
/// # Errors
///
/// [`ForecastCliError`] for unreadable or invalid files and failed forecasts.
///
/// # Panics
///
/// When called without a subcommand and without `history`, `horizon_days` or `out`, which
/// clap requires.
pub fn run_forecast(args: &ForecastArgs) -> Result<serde_json::Value, ForecastCliError> {
    if let Some(ForecastCommand::History(_)) = &args.command {
        return Err(ForecastCliError::NeedsLake);
    }
    if let Some(ForecastCommand::Plan(p)) = &args.command {
        return run_plan(p).map_err(|e| ForecastCliError::Plan(Box::new(e)));
    }
    if let Some(ForecastCommand::Backtest(b)) = &args.command {
        let (history, special) = load(&b.history, b.special_days.as_deref())?;
        let models: Vec<ModelChoice> = if b.models.is_empty() {
            vec![
                ModelChoice::Auto,
                ModelChoice::Fixed(ModelKind::SeasonalNaive),
                ModelChoice::Fixed(ModelKind::MovingAverage { weeks: b.ma_weeks }),
                ModelChoice::Fixed(ModelKind::Ridge),
                ModelChoice::Fixed(ModelKind::ProfileLevel),
                ModelChoice::Fixed(ModelKind::Ensemble),
                ModelChoice::Fixed(ModelKind::LocalLevel),
            ]
        } else {
            b.models.iter().map(|m| m.choice(b.ma_weeks)).collect()
        };
        let plan = BacktestPlan {
            origins: b.origins,
            horizon_days: b.horizon_days,
            step_days: b.step_days,
        };
        let report = backtest(&history, &special, &models, plan)?;
        return Ok(serde_json::to_value(report).expect("scores and names serialise"));
    }
    let (Some(history_path), Some(horizon), Some(out)) =
        (&args.history, args.horizon_days, &args.out)
    else {
        panic!("clap requires --history, --horizon-days and --out without a subcommand");
    };
    let (history, special) = load(history_path, args.special_days.as_deref())?;
    let (used, forecast) = forecast_with(
        args.model.choice(args.ma_weeks),
        &history,
        &special,
        horizon,
    )?;
    let file = File::create(out).map_err(|source| ForecastCliError::File {
        path: out.clone(),
        source,
    })?;
    forecast
        .write_csv(file)
        .map_err(|source| ForecastCliError::Write {
            path: out.clone(),
            source,
        })?;
    let contacts: f64 = forecast.days.iter().flatten().sum();
    Ok(json!({
        "model": used.name(),
        "first_day": forecast.first_day.to_string(),
        "days": forecast.days.len(),
        "interval_min": forecast.interval_min,
        "intervals": forecast.days.iter().map(Vec::len).sum::<usize>(),
        "contacts": contacts,
        "out": out,
    }))
}

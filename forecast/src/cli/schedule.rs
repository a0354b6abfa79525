//! `tenet schedule …`: shift cover and weekly schedules from JSON files.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use crate::schedule::cover::{CoverError, CoverInput, CoverProblem};
use crate::schedule::weekly::{WeeklyError, WeeklyProblem};

/// Subcommands of `tenet schedule`.
#[derive(Debug, Clone, Subcommand)]
pub enum ScheduleCommand {
    /// Minimum-cost shift cover of a per-period requirement.
    Cover(CoverArgs),
    /// A weekly schedule from shift templates with breaks (JSON `WeeklyProblem`).
    Week(WeekArgs),
}

/// Arguments of `tenet schedule week`.
#[derive(Debug, Clone, Args)]
pub struct WeekArgs {
    /// JSON file with `interval_min`, `required` (one list per day), `templates`,
    /// `operators`, `max_days_per_operator`, `max_weekly_hours`, `understaffing_penalty`
    /// and optionally `mip_gap` and `time_limit_sec`.
    #[arg(long)]
    pub input: PathBuf,
}

/// Arguments of `tenet schedule cover`.
#[derive(Debug, Clone, Args)]
pub struct CoverArgs {
    /// JSON file `{"required": [...], "shifts": [{"name", "cover", "cost"}]}`.
    #[arg(long)]
    pub input: PathBuf,
}

/// Why `tenet schedule` failed.
#[derive(Debug, thiserror::Error)]
pub enum ScheduleCliError {
    /// The input file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The input is not the expected JSON.
    #[error("{path} is not a valid problem: {source}")]
    Json {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: serde_json::Error,
    },
    /// The cover problem was refused or the solver failed.
    #[error(transparent)]
    Cover(#[from] CoverError),
    /// The weekly problem was refused or the solver failed.
    #[error(transparent)]
    Week(#[from] WeeklyError),
}

fn read_json<T: serde::de::DeserializeOwned>(path: &PathBuf) -> Result<T, ScheduleCliError> {
    let text = std::fs::read_to_string(path).map_err(|source| ScheduleCliError::Read {
        path: path.clone(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|source| ScheduleCliError::Json {
        path: path.clone(),
        source,
    })
}

/// Runs a `tenet schedule` subcommand and returns the JSON object to print.
///
/// # Errors
///
/// [`ScheduleCliError`] when the input cannot be read or parsed, is inconsistent, or the
/// solver fails. An infeasible cover is a result with `"status": "infeasible"`.
pub fn run_schedule(command: &ScheduleCommand) -> Result<serde_json::Value, ScheduleCliError> {
    match command {
        ScheduleCommand::Cover(args) => {
            let input: CoverInput = read_json(&args.input)?;
            let solution = CoverProblem::try_from(input)?.solve()?;
            Ok(serde_json::to_value(solution).expect("the solution holds only numbers and names"))
        }
        ScheduleCommand::Week(args) => {
            let problem: WeeklyProblem = read_json(&args.input)?;
            let week = problem.solve()?;
            Ok(serde_json::to_value(week).expect("the schedule holds only numbers and names"))
        }
    }
}

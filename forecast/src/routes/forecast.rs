//! `POST /api/v1/wfm/forecast`: contacts (and AHT when the history has it) per interval for
//! the days after a history given as JSON rows.
//!
//! ```json
//! {"history": [{"interval_start": "1999-12-01T08:00:00", "contacts": 41, "aht_sec": 190}],
//!  "horizon_days": 7, "model": "auto", "special_days": [{"date": "1999-12-25", "kind": "closed"}]}
//! ```

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use clap::ValueEnum;
use serde::{Deserialize, Serialize};

use super::error::{ApiError, json_body};
use crate::cli::ForecastModelArg;
use crate::volume::history::parse_time;
use crate::volume::{
    Forecast, History, HistoryError, HistoryRow, ModelChoice, SpecialDays, SpecialKind, UsedModel,
    forecast_with,
};

/// Most days one request may forecast.
pub const MAX_HORIZON_DAYS: u32 = 62;
/// Most calendar days a history may span (three years).
pub const MAX_HISTORY_DAYS: i64 = 1096;
/// Shortest interval accepted, minutes.
pub const MIN_INTERVAL_MIN: u32 = 5;

/// One interval of history.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HistoryRowBody {
    /// ISO 8601 local time.
    pub interval_start: String,
    /// Contacts offered.
    pub contacts: f64,
    /// Average handling time of the interval's contacts, seconds.
    #[serde(default)]
    pub aht_sec: Option<f64>,
}

/// A special day.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpecialDayBody {
    /// `YYYY-MM-DD`.
    pub date: String,
    /// `closed` or `holiday`.
    pub kind: SpecialKind,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ForecastBody {
    history: Vec<HistoryRowBody>,
    horizon_days: u32,
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    ma_weeks: Option<usize>,
    #[serde(default)]
    special_days: Vec<SpecialDayBody>,
}

/// One forecast interval.
#[derive(Debug, Clone, Serialize)]
pub struct IntervalForecast {
    /// ISO 8601 local time.
    pub interval_start: String,
    /// Contacts expected.
    pub contacts: f64,
    /// AHT expected, seconds, when the history had handling times.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aht_sec: Option<f64>,
}

/// The forecast answer.
#[derive(Debug, Clone, Serialize)]
pub struct ForecastResponse {
    /// The model used (the automatic choice names what it chose).
    pub model: String,
    /// First forecast day.
    pub first_day: NaiveDate,
    /// Interval length, minutes.
    pub interval_min: u32,
    /// Every interval of the forecast days.
    pub intervals: Vec<IntervalForecast>,
}

impl ForecastResponse {
    fn new(model: &UsedModel, forecast: &Forecast) -> Self {
        let mut intervals = Vec::new();
        for (d, day) in forecast.days.iter().enumerate() {
            for (s, contacts) in day.iter().enumerate() {
                intervals.push(IntervalForecast {
                    interval_start: forecast
                        .interval_start(d, s)
                        .format("%Y-%m-%dT%H:%M:%S")
                        .to_string(),
                    contacts: contacts.max(0.0),
                    aht_sec: forecast.aht_sec.as_ref().map(|a| a[d][s]),
                });
            }
        }
        Self {
            model: model.name(),
            first_day: forecast.first_day,
            interval_min: forecast.interval_min,
            intervals,
        }
    }
}

/// Checks history rows into a [`History`]; errors name `{field}[i].…`.
///
/// # Errors
///
/// [`ApiError`] 422 for a bad time, count or AHT, a duplicate interval, an interval grid
/// that does not divide a day or is finer than [`MIN_INTERVAL_MIN`], or a span beyond
/// [`MAX_HISTORY_DAYS`].
pub fn parse_history(rows: &[HistoryRowBody], field: &str) -> Result<History, ApiError> {
    if rows.is_empty() {
        return Err(ApiError::invalid(field, "the history has no rows"));
    }
    let mut checked = Vec::with_capacity(rows.len());
    for (i, row) in rows.iter().enumerate() {
        let start = parse_time(&row.interval_start).ok_or_else(|| {
            ApiError::invalid(
                format!("{field}[{i}].interval_start"),
                format!(
                    "`{}` is not an ISO 8601 local time such as 1999-12-01T08:30:00",
                    row.interval_start
                ),
            )
        })?;
        if !(row.contacts.is_finite() && row.contacts >= 0.0) {
            return Err(ApiError::invalid(
                format!("{field}[{i}].contacts"),
                format!("{} is not a non-negative number of contacts", row.contacts),
            ));
        }
        if let Some(aht) = row.aht_sec
            && !(aht.is_finite() && aht > 0.0)
        {
            return Err(ApiError::invalid(
                format!("{field}[{i}].aht_sec"),
                format!("{aht} is not a positive number of seconds"),
            ));
        }
        checked.push(HistoryRow {
            start,
            contacts: row.contacts,
            aht_sec: row.aht_sec,
        });
    }
    let (first, last) = checked
        .iter()
        .fold((checked[0].start, checked[0].start), |(lo, hi), r| {
            (lo.min(r.start), hi.max(r.start))
        });
    let span = (last.date() - first.date()).num_days() + 1;
    if span > MAX_HISTORY_DAYS {
        return Err(ApiError::invalid(
            field,
            format!("the history spans {span} days; at most {MAX_HISTORY_DAYS} are accepted"),
        ));
    }
    let with_aht = checked.iter().any(|r| r.aht_sec.is_some());
    let history = History::from_rows(checked, with_aht).map_err(|e| match e {
        HistoryError::Duplicate(t) => ApiError::invalid(
            field,
            format!("interval {} appears twice", t.format("%Y-%m-%dT%H:%M:%S")),
        ),
        other => ApiError::invalid(field, other.to_string()),
    })?;
    if history.interval_min() < MIN_INTERVAL_MIN {
        return Err(ApiError::invalid(
            field,
            format!(
                "interval starts lie {} min apart; intervals of at least {MIN_INTERVAL_MIN} min are accepted",
                history.interval_min()
            ),
        ));
    }
    Ok(history)
}

/// Checks special days; errors name `{field}[i].date`.
///
/// # Errors
///
/// [`ApiError`] 422 for a date that is not `YYYY-MM-DD`.
pub fn parse_special_days(days: &[SpecialDayBody], field: &str) -> Result<SpecialDays, ApiError> {
    let mut special = SpecialDays::default();
    for (i, day) in days.iter().enumerate() {
        let date = NaiveDate::parse_from_str(day.date.trim(), "%Y-%m-%d").map_err(|_| {
            ApiError::invalid(
                format!("{field}[{i}].date"),
                format!("`{}` is not a date YYYY-MM-DD", day.date),
            )
        })?;
        special.insert(date, day.kind);
    }
    Ok(special)
}

/// Checks a model name and moving-average weeks.
///
/// # Errors
///
/// [`ApiError`] 422 naming `model` or `ma_weeks`.
pub fn parse_model(model: Option<&str>, ma_weeks: Option<usize>) -> Result<ModelChoice, ApiError> {
    let weeks = ma_weeks.unwrap_or(4);
    if !(1..=52).contains(&weeks) {
        return Err(ApiError::invalid("ma_weeks", "between 1 and 52 weeks"));
    }
    let arg = match model {
        None => ForecastModelArg::Auto,
        Some(name) => ForecastModelArg::from_str(name, false).map_err(|_| {
            let names: Vec<String> = ForecastModelArg::value_variants()
                .iter()
                .filter_map(|v| v.to_possible_value())
                .map(|v| v.get_name().to_owned())
                .collect();
            ApiError::invalid(
                "model",
                format!("unknown model `{name}`; one of {}", names.join(", ")),
            )
        })?,
    };
    Ok(arg.choice(weeks))
}

/// Checks a horizon.
///
/// # Errors
///
/// [`ApiError`] 422 naming `horizon_days`.
pub fn parse_horizon(days: u32) -> Result<usize, ApiError> {
    if (1..=MAX_HORIZON_DAYS).contains(&days) {
        Ok(days as usize)
    } else {
        Err(ApiError::invalid(
            "horizon_days",
            format!("{days} days; between 1 and {MAX_HORIZON_DAYS} are accepted"),
        ))
    }
}

/// Runs CPU-bound work off the async workers.
pub async fn blocking<T: Send + 'static, E: Send + 'static>(
    work: impl FnOnce() -> Result<T, E> + Send + 'static,
) -> Result<T, E> {
    tokio::task::spawn_blocking(work)
        .await
        .unwrap_or_else(|join| std::panic::resume_unwind(join.into_panic()))
}

pub(super) async fn forecast(headers: HeaderMap, body: Result<Bytes, BytesRejection>) -> Response {
    match run(&headers, body).await {
        Ok(answer) => Json(answer).into_response(),
        Err(error) => error.into_response(),
    }
}

async fn run(
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<ForecastResponse, ApiError> {
    let body: ForecastBody = json_body(headers, body)?;
    let horizon = parse_horizon(body.horizon_days)?;
    let choice = parse_model(body.model.as_deref(), body.ma_weeks)?;
    let special = parse_special_days(&body.special_days, "special_days")?;
    let history = parse_history(&body.history, "history")?;
    blocking(move || {
        let (used, forecast) = forecast_with(choice, &history, &special, horizon)
            .map_err(|e| ApiError::invalid("history", e.to_string()))?;
        Ok(ForecastResponse::new(&used, &forecast))
    })
    .await
}

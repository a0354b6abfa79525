//! `POST /api/v1/wfm/reforecast`: the rest of today from today's actuals.
//!
//! ```json
//! {"forecast": [{"interval_start": "2026-02-02T08:00:00", "contacts": 40}, …],
//!  "actuals": [{"interval_start": "2026-02-02T08:00:00", "contacts": 52}]}
//! ```
//!
//! `forecast` is one day's intervals (as `POST /forecast` answers them); `actuals` the
//! contacts counted so far (as `GET /history` answers them for today). Every forecast
//! interval up to the latest actual has elapsed, those without an actual row had no
//! contacts; the rest of the day is the forecast scaled by how the elapsed intervals
//! compare (`volume::reforecast`).

use std::collections::BTreeMap;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};

use super::error::{ApiError, json_body};
use crate::volume::history::parse_time;
use crate::volume::reforecast::{day_factor, reforecast_day};

/// Most intervals of a day (one a minute).
pub const MAX_INTERVALS: usize = 1440;

/// An interval's contacts.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CountBody {
    /// ISO 8601 local time.
    pub interval_start: String,
    /// Contacts.
    pub contacts: f64,
    /// Average handling time, seconds; accepted so that forecast and history rows can be
    /// sent as they are, and not used.
    #[serde(default)]
    pub aht_sec: Option<f64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReforecastBody {
    forecast: Vec<CountBody>,
    actuals: Vec<CountBody>,
}

/// One interval of the reforecast day.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReforecastInterval {
    /// ISO 8601 local time.
    pub interval_start: String,
    /// Contacts: counted for elapsed intervals, expected for the rest.
    pub contacts: f64,
    /// Whether the interval has elapsed (its contacts are actuals).
    pub elapsed: bool,
}

/// The answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReforecastResponse {
    /// What the remaining intervals were multiplied by.
    pub factor: f64,
    /// Contacts the day was forecast to have.
    pub forecast_total: f64,
    /// Contacts the day is now expected to have.
    pub reforecast_total: f64,
    /// Every interval of the day.
    pub intervals: Vec<ReforecastInterval>,
}

fn rows(rows: &[CountBody], field: &str) -> Result<Vec<(NaiveDateTime, f64)>, ApiError> {
    if rows.len() > MAX_INTERVALS {
        return Err(ApiError::invalid(
            field,
            format!("at most {MAX_INTERVALS} intervals (one day) are accepted"),
        ));
    }
    rows.iter()
        .enumerate()
        .map(|(i, row)| {
            let start = parse_time(&row.interval_start).ok_or_else(|| {
                ApiError::invalid(
                    format!("{field}[{i}].interval_start"),
                    format!("`{}` is not an ISO 8601 local time", row.interval_start),
                )
            })?;
            if !(row.contacts.is_finite() && row.contacts >= 0.0) {
                return Err(ApiError::invalid(
                    format!("{field}[{i}].contacts"),
                    format!("{} is not a non-negative number of contacts", row.contacts),
                ));
            }
            Ok((start, row.contacts))
        })
        .collect()
}

/// Reforecasts one day.
///
/// # Errors
///
/// [`ApiError`] 422 naming the field: an empty forecast, one spanning more than a day or
/// listing an interval twice, an actual outside the forecast's intervals, a bad time or count.
pub fn reforecast(
    forecast: &[CountBody],
    actuals: &[CountBody],
) -> Result<ReforecastResponse, ApiError> {
    let mut planned = rows(forecast, "forecast")?;
    if planned.is_empty() {
        return Err(ApiError::invalid(
            "forecast",
            "the forecast has no intervals",
        ));
    }
    planned.sort_by_key(|&(start, _)| start);
    if let Some(pair) = planned.windows(2).find(|pair| pair[0].0 == pair[1].0) {
        return Err(ApiError::invalid(
            "forecast",
            format!(
                "interval {} appears twice",
                pair[0].0.format("%Y-%m-%dT%H:%M:%S")
            ),
        ));
    }
    let (first, last) = (planned[0].0, planned[planned.len() - 1].0);
    if last - first >= chrono::Duration::days(1) {
        return Err(ApiError::invalid(
            "forecast",
            "the forecast spans more than one day; send today's intervals",
        ));
    }
    let index: BTreeMap<NaiveDateTime, usize> = planned
        .iter()
        .enumerate()
        .map(|(i, &(start, _))| (start, i))
        .collect();
    let mut counted = vec![0.0; planned.len()];
    let mut elapsed = 0;
    for (i, (start, contacts)) in rows(actuals, "actuals")?.into_iter().enumerate() {
        let at = *index.get(&start).ok_or_else(|| {
            ApiError::invalid(
                format!("actuals[{i}].interval_start"),
                format!(
                    "{} is not an interval of the forecast",
                    start.format("%Y-%m-%dT%H:%M:%S")
                ),
            )
        })?;
        counted[at] += contacts;
        elapsed = elapsed.max(at + 1);
    }
    let expected: Vec<f64> = planned.iter().map(|&(_, contacts)| contacts).collect();
    let day = reforecast_day(&expected, &counted[..elapsed]);
    Ok(ReforecastResponse {
        factor: day_factor(&expected, &counted[..elapsed]),
        forecast_total: expected.iter().sum(),
        reforecast_total: day.iter().sum(),
        intervals: planned
            .iter()
            .zip(day)
            .enumerate()
            .map(|(i, (&(start, _), contacts))| ReforecastInterval {
                interval_start: start.format("%Y-%m-%dT%H:%M:%S").to_string(),
                contacts,
                elapsed: i < elapsed,
            })
            .collect(),
    })
}

pub(super) async fn handler(headers: HeaderMap, body: Result<Bytes, BytesRejection>) -> Response {
    let answer = json_body::<ReforecastBody>(&headers, body)
        .and_then(|body| reforecast(&body.forecast, &body.actuals));
    match answer {
        Ok(answer) => Json(answer).into_response(),
        Err(error) => error.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(start: &str, contacts: f64) -> CountBody {
        CountBody {
            interval_start: start.into(),
            contacts,
            aht_sec: None,
        }
    }

    #[test]
    fn a_busy_morning_raises_the_rest_of_the_day_and_quiet_intervals_count_as_zero() {
        let forecast: Vec<CountBody> = (8..12)
            .map(|h| count(&format!("2026-02-02T{h:02}:00:00"), 10.0))
            .collect();
        // 09:00 had no contacts: it has no row, but it elapsed before 10:00's count.
        let actuals = [
            count("2026-02-02T08:00:00", 20.0),
            count("2026-02-02T10:00:00", 22.0),
        ];
        let answer = reforecast(&forecast, &actuals).unwrap();
        let elapsed: Vec<bool> = answer.intervals.iter().map(|i| i.elapsed).collect();
        assert_eq!(elapsed, [true, true, true, false]);
        // (42 + 8) / (30 + 8): the prior is a fifth of the day's 40.
        assert!((answer.factor - 50.0 / 38.0).abs() < 1e-12);
        let contacts: Vec<f64> = answer.intervals.iter().map(|i| i.contacts).collect();
        assert_eq!(&contacts[..3], &[20.0, 0.0, 22.0]);
        assert!((contacts[3] - 10.0 * 50.0 / 38.0).abs() < 1e-12);
        assert!((answer.reforecast_total - (42.0 + 500.0 / 38.0)).abs() < 1e-9);
        assert_eq!(answer.forecast_total, 40.0);
    }

    #[test]
    fn refusals_name_the_field() {
        let day = [
            count("2026-02-02T08:00:00", 1.0),
            count("2026-02-03T08:00:00", 1.0),
        ];
        assert_eq!(
            reforecast(&day, &[]).unwrap_err(),
            ApiError::invalid(
                "forecast",
                "the forecast spans more than one day; send today's intervals"
            )
        );
        let one = [count("2026-02-02T08:00:00", 1.0)];
        let error = reforecast(&one, &[count("2026-02-02T08:30:00", 1.0)]).unwrap_err();
        assert_eq!(
            error,
            ApiError::invalid(
                "actuals[0].interval_start",
                "2026-02-02T08:30:00 is not an interval of the forecast"
            )
        );
        let error = reforecast(&one, &[count("2026-02-02T08:00:00", -1.0)]).unwrap_err();
        assert_eq!(
            error,
            ApiError::invalid(
                "actuals[0].contacts",
                "-1 is not a non-negative number of contacts"
            )
        );
        assert_eq!(
            reforecast(&[], &[]).unwrap_err(),
            ApiError::invalid("forecast", "the forecast has no intervals")
        );
    }
}

//! Contact history for forecasting, read from the lake: calls offered and their AHT per
//! interval, as the `call_intervals` report counts them (arrival at the queue, IVR hang-ups
//! left out), in the shape the forecaster reads (`interval_start,contacts,aht_sec`).
//!
//! Every day from the first to the last with a call is *present*: an interval without calls
//! had none, and a day without a single call gets one zero row so that the models read it as
//! a closed day, not a missing one. Days before the first call and after the last are left
//! out: the lake does not know them.
//!
//! `GET /api/v1/wfm/history?from=&to=&tz=&granularity=&queue=&project=` answers the rows in
//! the `history` shape of `POST /api/v1/wfm/forecast`; `tenet forecast history` writes them as
//! the CSV `tenet forecast --history` reads.

use std::collections::BTreeSet;
use std::sync::Arc;

use anyhow::Context as _;
use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Json, Router};
use chrono::{DateTime, NaiveDate, NaiveDateTime};
use futures::StreamExt as _;
use serde::Serialize;
use tenet_events::{Actor, TenantId};
use tenet_lakehouse::deltalake::arrow::array::{Array, AsArray, RecordBatch};
use tenet_lakehouse::deltalake::arrow::compute::cast;
use tenet_lakehouse::deltalake::arrow::datatypes::{DataType, Float64Type, TimeUnit};
use tenet_lakehouse::deltalake::datafusion::error::DataFusionError;
use tenet_lakehouse::reports::{self, ParamError, Params};
use tenet_lakehouse::routes::ReportError;
use tenet_lakehouse::{Lake, LakeReader, ReadError, ReaderConfig, Scope, ScopedSession};
use tenet_ops_api::Database;
use tenet_ops_api::rbac::Action;

/// The parameters the history takes; `granularity` is one of [`GRANULARITIES`].
pub const PARAMS: [&str; 6] = ["from", "to", "tz", "granularity", "queue", "project"];
/// The interval lengths a forecast works on.
pub const GRANULARITIES: [&str; 3] = ["15min", "30min", "60min"];

/// One interval of history.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HistoryRow {
    /// Local start, `YYYY-MM-DDTHH:MM:SS`.
    pub interval_start: String,
    /// Calls offered.
    pub contacts: f64,
    /// Their average handling time, seconds; absent when none was answered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aht_sec: Option<f64>,
}

/// The history answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct History {
    /// Interval length, minutes.
    pub interval_min: u32,
    /// The rows, in time order.
    pub history: Vec<HistoryRow>,
}

/// Why the history could not be read.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    /// A parameter is missing, malformed or unknown.
    #[error(transparent)]
    Param(#[from] ParamError),
    /// The lake could not be read.
    #[error(transparent)]
    Read(#[from] ReadError),
}

impl From<DataFusionError> for HistoryError {
    fn from(error: DataFusionError) -> Self {
        Self::Read(ReadError::Query(error))
    }
}

impl From<HistoryError> for ReportError {
    fn from(error: HistoryError) -> Self {
        match error {
            HistoryError::Param(error) => error.into(),
            HistoryError::Read(error) => error.into(),
        }
    }
}

/// Checks `pairs` (query parameters) for the history.
///
/// # Errors
/// [`ParamError`] for a parameter the history does not take or a granularity it cannot
/// forecast on; the report checks the rest.
pub fn params(pairs: Vec<(String, String)>) -> Result<(Params, u32), ParamError> {
    let mut minutes = 30;
    for (name, value) in &pairs {
        if !PARAMS.contains(&name.as_str()) {
            return Err(ParamError {
                field: name.clone(),
                message: format!("unknown parameter; the history takes {}", PARAMS.join(", ")),
            });
        }
        if name == "granularity" {
            let at = GRANULARITIES
                .iter()
                .position(|g| g == value)
                .ok_or_else(|| ParamError {
                    field: name.clone(),
                    message: format!(
                        "`{value}`: a forecast works on {} intervals",
                        GRANULARITIES.join(", ")
                    ),
                })?;
            minutes = [15, 30, 60][at];
        }
    }
    Ok((Params::from_pairs(pairs), minutes))
}

/// The history of `params` in `session`.
///
/// # Errors
/// [`HistoryError`] for a bad parameter or a lake that cannot be read.
pub async fn read(
    session: &ScopedSession,
    params: Params,
    interval_min: u32,
) -> Result<History, HistoryError> {
    let report = reports::find("call_intervals").expect("call_intervals is in the catalog");
    let rows = reports::run(session, report.plan(params)?).await?;
    let mut counted: Vec<(NaiveDateTime, f64, Option<f64>)> = Vec::new();
    let mut stream = rows.stream;
    while let Some(batch) = stream.next().await {
        read_batch(&batch?, &mut counted)?;
    }
    Ok(History {
        interval_min,
        history: with_closed_days(counted),
    })
}

fn read_batch(
    batch: &RecordBatch,
    into: &mut Vec<(NaiveDateTime, f64, Option<f64>)>,
) -> Result<(), DataFusionError> {
    let column = |name: &str, to: &DataType| -> Result<_, DataFusionError> {
        let index = batch.schema().index_of(name)?;
        Ok(cast(batch.column(index), to)?)
    };
    let starts = column(
        "interval_start",
        &DataType::Timestamp(TimeUnit::Microsecond, None),
    )?;
    let starts = starts
        .as_primitive::<tenet_lakehouse::deltalake::arrow::datatypes::TimestampMicrosecondType>();
    let offered = column("offered", &DataType::Float64)?;
    let offered = offered.as_primitive::<Float64Type>();
    let aht = column("aht_sec", &DataType::Float64)?;
    let aht = aht.as_primitive::<Float64Type>();
    for row in 0..batch.num_rows() {
        if starts.is_null(row) {
            continue;
        }
        let Some(start) = DateTime::from_timestamp_micros(starts.value(row)) else {
            continue;
        };
        let contacts = if offered.is_null(row) {
            0.0
        } else {
            offered.value(row)
        };
        let handle = (!aht.is_null(row) && aht.value(row) > 0.0).then(|| aht.value(row));
        into.push((start.naive_utc(), contacts, handle));
    }
    Ok(())
}

/// The rows in time order, with a zero row at midnight of every day between the first and
/// the last that has none.
fn with_closed_days(mut counted: Vec<(NaiveDateTime, f64, Option<f64>)>) -> Vec<HistoryRow> {
    counted.sort_by_key(|&(start, _, _)| start);
    let days: BTreeSet<NaiveDate> = counted.iter().map(|(start, _, _)| start.date()).collect();
    if let (Some(&first), Some(&last)) = (days.first(), days.last()) {
        for day in first.iter_days().take_while(|day| *day <= last) {
            if !days.contains(&day) {
                counted.push((day.and_time(chrono::NaiveTime::MIN), 0.0, None));
            }
        }
        counted.sort_by_key(|&(start, _, _)| start);
    }
    counted
        .into_iter()
        .map(|(start, contacts, aht_sec)| HistoryRow {
            interval_start: start.format("%Y-%m-%dT%H:%M:%S").to_string(),
            contacts,
            aht_sec,
        })
        .collect()
}

/// What the route needs.
#[derive(Clone)]
pub struct HistoryState {
    /// The calls.
    pub reader: Arc<LakeReader>,
    /// Project memberships.
    pub database: Database,
}

/// The `/history` route, relative to `/api/v1/wfm`; it expects an authenticated [`Actor`]
/// allowed to plan the workforce, who reads the calls of the tenant, or of their projects
/// when their role plans for projects.
pub fn router(state: HistoryState) -> Router {
    Router::new()
        .route("/history", get(history))
        .with_state(state)
}

async fn history(
    State(state): State<HistoryState>,
    Extension(actor): Extension<Actor>,
    RawQuery(query): RawQuery,
) -> Response {
    let scope = match crate::reports::scope_of(&state.database, &actor, Action::WorkforcePlan).await
    {
        Ok(scope) => scope,
        Err(error) => return error.into_response(),
    };
    let answer = async {
        let pairs = url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
            .into_owned()
            .collect();
        let (params, minutes) = params(pairs)?;
        let session = state.reader.session(&scope).await?;
        Ok::<_, ReportError>(Json(read(&session, params, minutes).await?))
    };
    match answer.await {
        Ok(history) => history.into_response(),
        Err(error) => error.into_response(),
    }
}

/// `tenet forecast history`: writes the history of `tenant` in `lake` to `out` as the CSV
/// `tenet forecast --history` reads. Returns the number of rows written.
///
/// # Errors
/// A bad parameter (named), a lake that cannot be read, or an output that cannot be written.
pub async fn export_csv(
    lake: Lake,
    tenant: TenantId,
    pairs: Vec<(String, String)>,
    out: &std::path::Path,
) -> anyhow::Result<usize> {
    let (params, minutes) = params(pairs)?;
    let reader = LakeReader::new(lake, ReaderConfig::default())?;
    let session = reader.session(&Scope::tenant(tenant)).await?;
    let history = read(&session, params, minutes).await?;
    let file =
        std::fs::File::create(out).with_context(|| format!("cannot create {}", out.display()))?;
    let mut csv = csv::Writer::from_writer(std::io::BufWriter::new(file));
    let mut write = || -> Result<(), csv::Error> {
        csv.write_record(["interval_start", "contacts", "aht_sec"])?;
        for row in &history.history {
            let aht = row.aht_sec.map(|a| format!("{a:.3}")).unwrap_or_default();
            csv.write_record([row.interval_start.as_str(), &row.contacts.to_string(), &aht])?;
        }
        csv.flush()?;
        Ok(())
    };
    write().with_context(|| format!("cannot write {}", out.display()))?;
    Ok(history.history.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M").unwrap()
    }

    #[test]
    fn a_day_without_calls_between_two_with_calls_is_a_closed_day() {
        let rows = with_closed_days(vec![
            (at("2026-02-03T09:00"), 4.0, Some(200.0)),
            (at("2026-02-01T08:30"), 2.0, None),
        ]);
        let starts: Vec<&str> = rows.iter().map(|r| r.interval_start.as_str()).collect();
        assert_eq!(
            starts,
            [
                "2026-02-01T08:30:00",
                "2026-02-02T00:00:00",
                "2026-02-03T09:00:00"
            ]
        );
        assert_eq!(rows[1].contacts, 0.0);
        assert_eq!(rows[2].aht_sec, Some(200.0));
        assert!(with_closed_days(Vec::new()).is_empty());
    }

    #[test]
    fn only_forecastable_granularities_and_known_parameters_pass() {
        let pairs = |p: &[(&str, &str)]| {
            p.iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect::<Vec<_>>()
        };
        let (_, minutes) =
            params(pairs(&[("from", "2026-01-01"), ("granularity", "15min")])).unwrap();
        assert_eq!(minutes, 15);
        assert_eq!(params(pairs(&[("from", "2026-01-01")])).unwrap().1, 30);
        let error = params(pairs(&[("granularity", "day")])).unwrap_err();
        assert_eq!(error.field, "granularity");
        let error = params(pairs(&[("by", "agent")])).unwrap_err();
        assert_eq!(error.field, "by");
    }
}

//! The query a report plans: SQL text whose every caller-supplied value is a placeholder,
//! and how its rows link to the detail report behind them.

use std::collections::BTreeSet;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use datafusion::arrow::array::{Array, AsArray as _, RecordBatch};
use datafusion::arrow::datatypes::{DataType, TimeUnit};
use datafusion::common::ScalarValue;
use datafusion::error::DataFusionError;

use super::params::{Dimension, Granularity, Period, TimeZone};

/// A filter value that stands for "no value" (a contact without a queue, say), so that a
/// drill-down from a row whose dimension is empty still selects exactly its contacts.
pub const NONE_VALUE: &str = "(none)";

/// One planned report query.
#[derive(Debug, Clone)]
pub struct Query {
    /// The SQL, with `$1`, `$2`… (each cast to its type) for every caller-supplied value.
    pub sql: String,
    /// The placeholders' values, in order.
    pub values: Vec<ScalarValue>,
    /// How each row links to the detail rows behind it (aggregated reports only).
    pub drill: Option<DrillDown>,
}

/// Collects placeholder values while a report writes its SQL.
#[derive(Debug, Default)]
pub(crate) struct Sql {
    values: Vec<ScalarValue>,
}

impl Sql {
    /// A placeholder for `value`, cast to `sql_type` so that its type never depends on what
    /// DataFusion infers from the other side of a comparison.
    fn value(&mut self, value: ScalarValue, sql_type: &str) -> String {
        self.values.push(value);
        format!("cast(${} as {sql_type})", self.values.len())
    }

    pub(crate) fn text(&mut self, text: &str) -> String {
        self.value(ScalarValue::Utf8(Some(text.to_owned())), "varchar")
    }

    pub(crate) fn int(&mut self, value: i64) -> String {
        self.value(ScalarValue::Int64(Some(value)), "bigint")
    }

    pub(crate) fn local_time(&mut self, at: NaiveDateTime) -> String {
        let micros = at.and_utc().timestamp_micros();
        self.value(
            ScalarValue::TimestampMicrosecond(Some(micros), None),
            "timestamp",
        )
    }

    /// An instant, as a UTC timestamp like the tables' `occurred_at`.
    pub(crate) fn utc_time(&mut self, at: DateTime<Utc>) -> String {
        self.value(
            ScalarValue::TimestampMicrosecond(Some(at.timestamp_micros()), Some("UTC".into())),
            "timestamp",
        )
    }

    pub(crate) fn date(&mut self, date: NaiveDate) -> String {
        let days = (date - NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch")).num_days();
        self.value(
            ScalarValue::Date32(Some(
                i32::try_from(days).expect("a report date fits 32-bit days"),
            )),
            "date",
        )
    }

    /// `column` is one of `values` (`(none)` meaning null); `true` for an empty set.
    pub(crate) fn one_of(&mut self, column: &str, values: &BTreeSet<String>) -> String {
        if values.is_empty() {
            return "true".to_owned();
        }
        let mut terms = Vec::new();
        let listed: Vec<String> = values
            .iter()
            .filter(|value| value.as_str() != NONE_VALUE)
            .map(|value| self.text(value))
            .collect();
        if !listed.is_empty() {
            terms.push(format!("{column} in ({})", listed.join(", ")));
        }
        if values.contains(NONE_VALUE) {
            terms.push(format!("{column} is null"));
        }
        format!("({})", terms.join(" or "))
    }

    /// The query of an interval report over `source` (a relation with `interval_start` and
    /// the breakdown columns): `columns` aggregated per `group`, each row linked to `detail`.
    pub(crate) fn finish_per_interval(
        self,
        with: &str,
        columns: &str,
        source: &str,
        group: &str,
        drill: DrillDown,
    ) -> Query {
        let sql = format!(
            "{with}
select {columns}
from {source} as bucketed
group by {group}
order by {group}"
        );
        self.finish(sql, Some(drill))
    }

    pub(crate) fn finish(self, sql: String, drill: Option<DrillDown>) -> Query {
        Query {
            sql,
            values: self.values,
            drill,
        }
    }
}

/// The current instant as a UTC timestamp like the tables' `occurred_at`.
pub(crate) const NOW_UTC: &str = "arrow_cast(now(), 'Timestamp(Microsecond, \"UTC\")')";

/// The microseconds since the epoch of a timestamp expression, as a 64-bit integer. The cast
/// goes through UTC, which keeps the instant; a cast to a zone-less timestamp would look a
/// zone's offset up for every row.
pub(crate) fn micros_sql(expr: &str) -> String {
    format!("arrow_cast(arrow_cast({expr}, 'Timestamp(Microsecond, \"UTC\")'), 'Int64')")
}

/// The SQL for the local wall-clock time in `tz` of the UTC timestamp `column`.
///
/// A zone with a fixed offset (UTC, `+02:00`) shifts the microseconds by a constant; only a
/// zone with daylight saving or a history of changes looks its offset up for every row.
pub(crate) fn local_time_sql(column: &str, tz: &TimeZone) -> String {
    if let Some(seconds) = tz.fixed_offset_seconds() {
        let micros = micros_sql(column);
        let shifted = if seconds == 0 {
            micros
        } else {
            format!("({micros} + {})", i64::from(seconds) * 1_000_000)
        };
        return format!("arrow_cast({shifted}, 'Timestamp(Microsecond, None)')");
    }
    // `TimeZone` only admits characters that cannot leave the string literal.
    format!(
        "to_local_time(arrow_cast({column}, 'Timestamp(Microsecond, \"{}\")'))",
        tz.as_str()
    )
}

/// How the rows of an aggregated report link to the detail report behind them.
#[derive(Debug, Clone)]
pub struct DrillDown {
    /// The detail report.
    pub report: &'static str,
    /// The period of the aggregated report; a row's link never reaches outside it.
    pub period: Period,
    /// When set, the row's `interval_start` column and this granularity narrow the period
    /// to the row's interval.
    pub interval: Option<Granularity>,
    /// Columns whose row value becomes a filter: (column, parameter).
    pub dimensions: Vec<(&'static str, &'static str)>,
    /// Parameters carried over unchanged (filters and metric options).
    pub carry: Vec<(String, String)>,
}

impl DrillDown {
    /// The links of an interval report cut by `granularity` and broken down by
    /// `dimensions`: each row's interval and dimension values narrow the detail report.
    pub(crate) fn per_interval(
        report: &'static str,
        period: Period,
        granularity: Granularity,
        dimensions: &[Dimension],
        carry: Vec<(String, String)>,
    ) -> Self {
        Self {
            report,
            period,
            interval: Some(granularity),
            dimensions: dimensions
                .iter()
                .map(|dimension| (dimension.column(), dimension.as_str()))
                .collect(),
            carry,
        }
    }

    /// The link of row `row` of `batch`: a URL path and query, relative to the API root.
    ///
    /// # Errors
    ///
    /// When a column the link needs is missing or has an unexpected type.
    pub fn link(&self, batch: &RecordBatch, row: usize) -> Result<String, DataFusionError> {
        let (mut from, mut to) = (self.period.from, self.period.to);
        if let Some(granularity) = self.interval {
            let start = timestamp_at(batch, "interval_start", row)?;
            from = from.max(start);
            to = to.min(granularity.end_of(start));
        }
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        query.append_pair("from", &from.format("%Y-%m-%dT%H:%M:%S").to_string());
        query.append_pair("to", &to.format("%Y-%m-%dT%H:%M:%S").to_string());
        query.append_pair("tz", self.period.tz.as_str());
        for (column, param) in &self.dimensions {
            let value = text_at(batch, column, row)?;
            query.append_pair(param, value.as_deref().unwrap_or(NONE_VALUE));
        }
        for (name, value) in &self.carry {
            query.append_pair(name, value);
        }
        Ok(format!(
            "/api/v1/reports/{}?{}",
            self.report,
            query.finish()
        ))
    }
}

fn column<'a>(batch: &'a RecordBatch, name: &str) -> Result<&'a dyn Array, DataFusionError> {
    batch
        .column_by_name(name)
        .map(|column| column.as_ref())
        .ok_or_else(|| DataFusionError::Internal(format!("drill-down needs column {name}")))
}

fn timestamp_at(
    batch: &RecordBatch,
    name: &str,
    row: usize,
) -> Result<NaiveDateTime, DataFusionError> {
    let array = column(batch, name)?;
    if !matches!(array.data_type(), DataType::Timestamp(_, None)) {
        return Err(DataFusionError::Internal(format!(
            "drill-down column {name} is {}, not a local timestamp",
            array.data_type()
        )));
    }
    let micros = datafusion::arrow::compute::cast(
        &array.slice(row, 1),
        &DataType::Timestamp(TimeUnit::Microsecond, None),
    )?
    .as_primitive::<datafusion::arrow::datatypes::TimestampMicrosecondType>()
    .value(0);
    chrono::DateTime::from_timestamp_micros(micros)
        .map(|at| at.naive_utc())
        .ok_or_else(|| DataFusionError::Internal(format!("{name} out of range")))
}

fn text_at(batch: &RecordBatch, name: &str, row: usize) -> Result<Option<String>, DataFusionError> {
    let array = column(batch, name)?;
    if array.is_null(row) {
        return Ok(None);
    }
    let value = match array.data_type() {
        DataType::Utf8 => array.as_string::<i32>().value(row).to_owned(),
        DataType::LargeUtf8 => array.as_string::<i64>().value(row).to_owned(),
        DataType::Utf8View => array.as_string_view().value(row).to_owned(),
        other => {
            return Err(DataFusionError::Internal(format!(
                "drill-down column {name} is {other}, not text"
            )));
        }
    };
    Ok(Some(value))
}

#[cfg(test)]
mod tests {
    use datafusion::arrow::array::TimestampMicrosecondArray;
    use datafusion::prelude::SessionContext;

    use super::*;

    /// Each zone's local times, the way the reports compute them and by `to_local_time`.
    async fn local_times(tz: &str) -> (Vec<Option<i64>>, Vec<Option<i64>>) {
        let tz: TimeZone = tz.parse().unwrap();
        let ctx = SessionContext::new();
        // Around a daylight-saving change in Europe, a leap day, the epoch and a null.
        let instants = "(arrow_cast(column1, 'Timestamp(Microsecond, \"UTC\")'))";
        let rows =
            "values (timestamp '2026-03-29 00:59:59.999999'), (timestamp '2026-03-29 01:00:00'),
                    (timestamp '2028-02-29 23:30:00.5'), (timestamp '1970-01-01 00:00:00'),
                    (timestamp '1969-12-31 23:59:59'), (null)";
        let sql = format!(
            "select {} as local, to_local_time(arrow_cast(at, 'Timestamp(Microsecond, \"{}\")')) as converted
             from (select {instants} as at from ({rows}))",
            local_time_sql("at", &tz),
            tz.as_str()
        );
        let batches = ctx.sql(&sql).await.unwrap().collect().await.unwrap();
        let column = |index: usize| -> Vec<Option<i64>> {
            batches
                .iter()
                .flat_map(|batch| {
                    let array = batch.column(index);
                    assert_eq!(
                        array.data_type(),
                        &DataType::Timestamp(TimeUnit::Microsecond, None)
                    );
                    let array = array
                        .as_any()
                        .downcast_ref::<TimestampMicrosecondArray>()
                        .unwrap();
                    array.iter().collect::<Vec<_>>()
                })
                .collect()
        };
        (column(0), column(1))
    }

    #[tokio::test]
    async fn fixed_offsets_shift_exactly_as_to_local_time_converts() {
        for tz in [
            "UTC", "Etc/UTC", "+00:00", "+05:30", "-0330", "+05", "-12:00",
        ] {
            let (shifted, converted) = local_times(tz).await;
            assert_eq!(shifted, converted, "{tz}");
            assert_eq!(shifted.len(), 6, "{tz}");
            assert_eq!(shifted[5], None, "{tz}");
        }
    }

    #[tokio::test]
    async fn zones_with_daylight_saving_keep_their_per_row_lookup() {
        let (local, converted) = local_times("Europe/Berlin").await;
        assert_eq!(local, converted);
        // One microsecond before 01:00 UTC it is 01:59:59.999999 CET; at 01:00 UTC, 03:00 CEST.
        let hour = 3_600_000_000_i64;
        assert_eq!(local[1].unwrap() - local[0].unwrap(), hour + 1);
    }
}

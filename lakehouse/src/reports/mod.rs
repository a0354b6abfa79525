//! The catalog of named reports.
//!
//! A report is data: a [`Definition`] (name, what it answers, its parameters and the meaning
//! of every output column) and a planner that turns validated [`Params`] into one SQL query
//! over the tenant-scoped tables of a [`ScopedSession`]. Aggregated reports name the detail
//! report behind them, and every row they return carries a `drill_down` link to the
//! contact-level rows it was computed from (one row per contact).
//!
//! The metric definitions follow ARCHITECTURE §7 and are stated once, in the column docs of
//! each definition, which the catalog endpoint serves.

pub mod adherence;
pub mod agents;
pub mod calls;
pub mod params;
pub mod qa;
mod query;
pub mod surveys;
pub mod tickets;

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, RecordBatch, StringBuilder};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::error::DataFusionError;
use datafusion::execution::SendableRecordBatchStream;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use futures::StreamExt as _;
use serde::Serialize;

pub use params::{
    CallMetricOptions, Dimension, Granularity, ParamError, Params, Period, ServiceLevelFormula,
    TimeZone,
};
pub use query::{DrillDown, Query};

use crate::session::{ReadError, ScopedSession, Workload};

/// Whether a report aggregates or lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Grain {
    /// Rows aggregate many contacts and link to them.
    Aggregate,
    /// One row per contact (or per ticket, per agent state).
    Detail,
}

/// A parameter a report takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ParamDoc {
    /// Its name in the query string.
    pub name: &'static str,
    /// What it does, with its format.
    pub description: &'static str,
    /// Its default, when it has one.
    pub default: Option<&'static str>,
    /// Whether it must be given.
    pub required: bool,
}

/// The parameters every report takes first: the local period and its time zone.
pub(crate) const PERIOD_PARAMS: [ParamDoc; 3] = [
    ParamDoc {
        name: "from",
        description: "First local time included: a date (2026-02-01) or a local time (2026-02-01T08:30).",
        default: None,
        required: true,
    },
    ParamDoc {
        name: "to",
        description: "First local time excluded, in the same formats.",
        default: None,
        required: true,
    },
    ParamDoc {
        name: "tz",
        description: "Time zone of from, to and every time in the rows: an IANA name or an offset like +02:00.",
        default: Some("UTC"),
        required: false,
    },
];

/// The names of `docs`, for [`Params::finish`].
pub(crate) fn accepted(docs: &[ParamDoc]) -> Vec<&'static str> {
    docs.iter().map(|doc| doc.name).collect()
}

/// An output column of a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ColumnDoc {
    /// Its name.
    pub name: &'static str,
    /// What it holds: the metric's definition.
    pub description: &'static str,
}

/// What a report is, for the catalog.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Definition {
    /// The report's name in URLs.
    pub name: &'static str,
    /// A short title.
    pub title: &'static str,
    /// What question it answers.
    pub description: &'static str,
    /// Whether it aggregates or lists.
    pub grain: Grain,
    /// The detail report an aggregated row drills down to.
    pub drill_down: Option<&'static str>,
    /// Its parameters.
    pub parameters: &'static [ParamDoc],
    /// Its output columns, in order.
    pub columns: &'static [ColumnDoc],
}

impl Definition {
    /// How the report's queries share memory: aggregated reports as
    /// [`Workload::Aggregate`], detail listings, which can be as long as the data, as
    /// [`Workload::Listing`].
    pub fn workload(&self) -> Workload {
        match self.grain {
            Grain::Aggregate => Workload::Aggregate,
            Grain::Detail => Workload::Listing,
        }
    }
}

/// A named report.
pub trait Report: Send + Sync {
    /// Its definition.
    fn definition(&self) -> &'static Definition;

    /// The query for `params`.
    ///
    /// # Errors
    ///
    /// [`ParamError`] naming the first parameter that is missing, malformed or unknown.
    fn plan(&self, params: Params) -> Result<Query, ParamError>;
}

/// Every report, in catalog order.
pub fn catalog() -> &'static [&'static dyn Report] {
    &[
        &calls::CallIntervals,
        &calls::Calls,
        &agents::AgentPerformance,
        &agents::AgentStates,
        &adherence::AgentAdherence,
        &tickets::TicketIntervals,
        &tickets::Tickets,
        &surveys::SurveyIntervals,
        &surveys::SurveyAnswers,
        &qa::QaIntervals,
        &qa::QaEvaluations,
    ]
}

/// The report named `name`.
pub fn find(name: &str) -> Option<&'static dyn Report> {
    catalog()
        .iter()
        .copied()
        .find(|report| report.definition().name == name)
}

/// The name of the column that links an aggregated row to its contacts.
pub const DRILL_DOWN_COLUMN: &str = "drill_down";

/// A report's rows as they are computed.
pub struct ReportRows {
    /// The columns.
    pub schema: SchemaRef,
    /// The rows, batch by batch.
    pub stream: SendableRecordBatchStream,
}

impl std::fmt::Debug for ReportRows {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReportRows")
            .field("schema", &self.schema)
            .finish_non_exhaustive()
    }
}

/// Runs `query` in `session`.
///
/// # Errors
///
/// [`ReadError::Query`] when DataFusion fails to plan or start it.
pub async fn run(session: &ScopedSession, query: Query) -> Result<ReportRows, ReadError> {
    let Query { sql, values, drill } = query;
    let frame = session
        .context()
        .sql(&sql)
        .await?
        .with_param_values(values)?;
    let stream = frame.execute_stream().await?;
    let Some(drill) = drill else {
        let schema = stream.schema();
        return Ok(ReportRows { schema, stream });
    };
    let input = stream.schema();
    let mut fields: Vec<Field> = input.fields().iter().map(|f| f.as_ref().clone()).collect();
    fields.push(Field::new(DRILL_DOWN_COLUMN, DataType::Utf8, false));
    let schema: SchemaRef = Arc::new(Schema::new(fields));
    let output = schema.clone();
    let linked = stream.map(move |batch| {
        let batch = batch?;
        let links = drill_links(&drill, &batch)?;
        let mut columns: Vec<ArrayRef> = batch.columns().to_vec();
        columns.push(links);
        RecordBatch::try_new(output.clone(), columns).map_err(DataFusionError::from)
    });
    Ok(ReportRows {
        schema: schema.clone(),
        stream: Box::pin(RecordBatchStreamAdapter::new(schema, linked)),
    })
}

fn drill_links(drill: &DrillDown, batch: &RecordBatch) -> Result<ArrayRef, DataFusionError> {
    let mut links = StringBuilder::with_capacity(batch.num_rows(), batch.num_rows() * 160);
    for row in 0..batch.num_rows() {
        links.append_value(drill.link(batch, row)?);
    }
    Ok(Arc::new(links.finish()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_names_are_unique_and_drill_downs_exist() {
        let mut names: Vec<_> = catalog().iter().map(|r| r.definition().name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), catalog().len());
        for report in catalog() {
            let definition = report.definition();
            if let Some(target) = definition.drill_down {
                assert_eq!(definition.grain, Grain::Aggregate, "{}", definition.name);
                let target = find(target).expect("drill-down target in the catalog");
                assert_eq!(target.definition().grain, Grain::Detail);
            }
        }
    }

    #[test]
    fn every_report_refuses_an_unknown_parameter_by_name() {
        for report in catalog() {
            let params =
                Params::from_pairs([("from", "2026-02-01"), ("to", "2026-02-02"), ("bogus", "1")]);
            let error = report.plan(params).unwrap_err();
            assert_eq!(error.field, "bogus", "{}", report.definition().name);
        }
    }

    #[test]
    fn every_documented_parameter_is_accepted() {
        for report in catalog() {
            let definition = report.definition();
            for param in definition.parameters {
                let mut pairs = vec![("from", "2026-02-01"), ("to", "2026-02-02")];
                let example = match param.name {
                    "from" | "to" => continue,
                    "tz" => "Europe/Berlin",
                    "granularity" => "day",
                    "by" if matches!(definition.name, "survey_intervals" | "qa_intervals") => {
                        "agent"
                    }
                    "by" => "queue",
                    "sl_formula" => "offered",
                    "exclude_short_abandons" => "true",
                    "queue_sl_threshold_sec" => "billing:30",
                    "sl_threshold_sec"
                    | "short_abandon_sec"
                    | "fcr_window_days"
                    | "sla_first_response_min"
                    | "sla_resolution_min"
                    | "pass_score_pct" => "10",
                    _ => "x",
                };
                pairs.push((param.name, example));
                report
                    .plan(Params::from_pairs(pairs))
                    .unwrap_or_else(|error| {
                        panic!("{} refuses {}: {error}", definition.name, param.name)
                    });
            }
        }
    }
}

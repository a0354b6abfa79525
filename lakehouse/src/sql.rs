//! Ad-hoc SQL for a tenant's admins and analysts: read-only, tenant-scoped, limited in rows,
//! time and memory.
//!
//! The query runs in a [`ScopedSession`], so the only tables it can name are the tenant's
//! scoped views of the lake; DDL, DML and statements (`CREATE`, `COPY`, `INSERT`, `SET`…)
//! are refused before planning, as is anything but one `SELECT`-like query. A query that
//! runs past its time limit stops with an error instead of a truncated answer.

use std::time::Duration;

use datafusion::error::DataFusionError;
use datafusion::execution::context::SQLOptions;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use futures::StreamExt as _;

use crate::reports::ReportRows;
use crate::session::ScopedSession;

/// The limits of one ad-hoc query.
#[derive(Debug, Clone, Copy)]
pub struct SqlLimits {
    /// The longest query text accepted, in bytes.
    pub max_text_bytes: usize,
    /// At most this many rows are returned; more is an error, not a silent cut.
    pub max_rows: usize,
    /// The query is stopped after this long.
    pub timeout: Duration,
}

impl Default for SqlLimits {
    fn default() -> Self {
        Self {
            max_text_bytes: 20_000,
            max_rows: 1_000_000,
            timeout: Duration::from_secs(30),
        }
    }
}

/// Why an ad-hoc query was refused or failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SqlError {
    /// The text is empty or too long.
    #[error("{0}")]
    Text(String),
    /// The statement is not a read-only query, or does not parse or plan.
    #[error("{0}")]
    Refused(String),
    /// The query failed while running.
    #[error(transparent)]
    Query(#[from] DataFusionError),
}

/// Plans `text` in `session` and returns its rows as they are computed.
///
/// # Errors
///
/// [`SqlError::Text`] for an empty or too long text; [`SqlError::Refused`] for anything but
/// one read-only query, with DataFusion's explanation (an unknown table or column, a syntax
/// error).
pub async fn query(
    session: &ScopedSession,
    text: &str,
    limits: SqlLimits,
) -> Result<ReportRows, SqlError> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(SqlError::Text("the query is empty".into()));
    }
    if trimmed.len() > limits.max_text_bytes {
        return Err(SqlError::Text(format!(
            "the query is longer than {} bytes",
            limits.max_text_bytes
        )));
    }
    let options = SQLOptions::new()
        .with_allow_ddl(false)
        .with_allow_dml(false)
        .with_allow_statements(false);
    let frame = session
        .context()
        .sql_with_options(trimmed, options)
        .await
        .map_err(|error| SqlError::Refused(refusal(error)))?;
    // One row more than allowed tells "exactly at the limit" from "over it".
    let frame = frame.limit(0, Some(limits.max_rows + 1))?;
    let stream = frame.execute_stream().await?;
    let schema = stream.schema();
    let max_rows = limits.max_rows;
    let deadline = tokio::time::Instant::now() + limits.timeout;
    let timeout = limits.timeout;
    let limited = futures::stream::unfold(
        (stream, 0usize, false),
        move |(mut stream, seen, stopped)| async move {
            if stopped {
                return None;
            }
            match tokio::time::timeout_at(deadline, stream.next()).await {
                Ok(Some(Ok(batch))) => {
                    let seen = seen + batch.num_rows();
                    if seen > max_rows {
                        let error = DataFusionError::ResourcesExhausted(format!(
                            "the query returns more than {max_rows} rows; aggregate or filter it"
                        ));
                        return Some((Err(error), (stream, seen, true)));
                    }
                    Some((Ok(batch), (stream, seen, false)))
                }
                Ok(Some(Err(error))) => Some((Err(error), (stream, seen, true))),
                Ok(None) => None,
                Err(_) => {
                    let error = DataFusionError::ResourcesExhausted(format!(
                        "the query ran longer than its limit of {} s",
                        timeout.as_secs()
                    ));
                    Some((Err(error), (stream, seen, true)))
                }
            }
        },
    );
    Ok(ReportRows {
        schema: schema.clone(),
        stream: Box::pin(RecordBatchStreamAdapter::new(schema, limited)),
    })
}

/// DataFusion's error without its internal prefixes, for the person who wrote the query.
fn refusal(error: DataFusionError) -> String {
    let message = error.strip_backtrace();
    let message = message
        .strip_prefix("Error during planning: ")
        .or_else(|| message.strip_prefix("SQL error: "))
        .unwrap_or(&message);
    if message.contains("DDL not supported")
        || message.contains("DML not supported")
        || message.contains("Statement not supported")
    {
        return format!("only read-only queries are allowed: {message}");
    }
    message.to_owned()
}

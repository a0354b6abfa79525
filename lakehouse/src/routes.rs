//! The HTTP API of reports (mounted under `/api/v1`):
//!
//! - `GET /reports`: the catalog, with every report's parameters and column definitions;
//! - `GET /reports/{name}?from=&to=&…&format=json|csv|xlsx|parquet`: a report's rows,
//!   streamed as they are computed; aggregated rows carry a `drill_down` link;
//! - `POST /reports/sql` with `{"sql": "select …", "format": "json"}`: ad-hoc read-only SQL.
//!
//! Who may call them is decided by the application around these routers: it puts the
//! caller's [`Scope`] into the request's extensions after authenticating and authorizing, and
//! every query here runs in a session built from that scope alone.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use futures::StreamExt as _;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::export::{ExportError, Format, encode};
use crate::reports::{self, Definition, ParamError, Params, ReportRows};
use crate::scope::Scope;
use crate::session::{LakeReader, ReadError};
use crate::sql::{self, SqlError, SqlLimits};

/// What the report routes share.
#[derive(Clone)]
struct ReportsState {
    reader: Arc<LakeReader>,
    limits: SqlLimits,
}

/// `GET /reports` and `GET /reports/{name}`.
pub fn reports_router(reader: Arc<LakeReader>) -> Router {
    Router::new()
        .route("/reports", get(list))
        .route("/reports/{name}", get(run))
        .with_state(ReportsState {
            reader,
            limits: SqlLimits::default(),
        })
}

/// `POST /reports/sql`.
pub fn sql_router(reader: Arc<LakeReader>, limits: SqlLimits) -> Router {
    Router::new()
        .route("/reports/sql", post(run_sql))
        .with_state(ReportsState { reader, limits })
}

/// An error answered as `{ "error": { "code", "message", "details" } }`, with the error
/// codes of the whole API (`invalid_request`, `not_found`, `unavailable`, …).
#[derive(Debug)]
pub struct ReportError {
    status: StatusCode,
    code: &'static str,
    message: String,
    details: serde_json::Value,
}

impl ReportError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            details: serde_json::Value::Null,
        }
    }

    fn with_field(mut self, field: &str) -> Self {
        self.details = json!({ "field": field });
        self
    }
}

impl From<ParamError> for ReportError {
    fn from(error: ParamError) -> Self {
        ReportError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request",
            error.to_string(),
        )
        .with_field(&error.field)
    }
}

impl From<ReadError> for ReportError {
    fn from(error: ReadError) -> Self {
        match error {
            ReadError::Query(query) => query_error(query),
            other => {
                tracing::error!(error = %other, "the lake could not be read");
                ReportError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "the lake could not be read; try again shortly",
                )
            }
        }
    }
}

fn query_error(error: datafusion::error::DataFusionError) -> ReportError {
    use datafusion::error::DataFusionError as E;
    match error.find_root() {
        E::ResourcesExhausted(message) => ReportError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request",
            message.clone(),
        ),
        _ => {
            tracing::error!(error = %error, "a report query failed");
            ReportError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "the report could not be computed",
            )
        }
    }
}

impl IntoResponse for ReportError {
    fn into_response(self) -> Response {
        let body = json!({
            "error": { "code": self.code, "message": self.message, "details": self.details }
        });
        (self.status, Json(body)).into_response()
    }
}

#[derive(Serialize)]
struct Catalog {
    reports: Vec<&'static Definition>,
    formats: Vec<&'static str>,
}

async fn list() -> Json<Catalog> {
    Json(Catalog {
        reports: reports::catalog()
            .iter()
            .map(|report| report.definition())
            .collect(),
        formats: Format::ALL.iter().map(Format::as_str).collect(),
    })
}

async fn run(
    State(state): State<ReportsState>,
    scope: Option<Extension<Scope>>,
    Path(name): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, ReportError> {
    let Extension(scope) = scope.ok_or_else(unauthenticated)?;
    let report = reports::find(&name).ok_or_else(|| {
        ReportError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no report named `{name}`; GET /api/v1/reports lists them"),
        )
    })?;
    let mut params = Params::from_pairs(
        url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()).into_owned(),
    );
    let format = params.take_parsed("format", Format::Json)?;
    let planned = report.plan(params)?;
    let session = state
        .reader
        .session_for(&scope, report.definition().workload())
        .await?;
    let rows = reports::run(&session, planned).await?;
    stream_rows(rows, format, report.definition().name).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SqlRequest {
    sql: String,
    #[serde(default)]
    format: Option<String>,
}

async fn run_sql(
    State(state): State<ReportsState>,
    scope: Option<Extension<Scope>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ReportError> {
    let Extension(scope) = scope.ok_or_else(unauthenticated)?;
    let json_body = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/json"));
    if !json_body {
        return Err(ReportError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "invalid_request",
            "send the query as application/json: {\"sql\": \"select …\"}",
        ));
    }
    let request: SqlRequest = serde_json::from_slice(&body).map_err(|error| {
        ReportError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request",
            format!("the body is not {{\"sql\": \"…\", \"format\": \"json\"}}: {error}"),
        )
    })?;
    let format = match request.format.as_deref() {
        None => Format::Json,
        Some(text) => text.parse().map_err(|message: String| {
            ReportError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_request", message)
                .with_field("format")
        })?,
    };
    let session = state.reader.session(&scope).await?;
    let rows = sql::query(&session, &request.sql, state.limits)
        .await
        .map_err(|error| match error {
            SqlError::Text(message) | SqlError::Refused(message) => {
                ReportError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_request", message)
                    .with_field("sql")
            }
            SqlError::Query(query) => query_error(query),
        })?;
    stream_rows(rows, format, "query").await
}

fn unauthenticated() -> ReportError {
    ReportError::new(StatusCode::UNAUTHORIZED, "unauthenticated", "no credential")
}

/// The rows as a streamed response.
///
/// The first chunk is computed before the status is sent, so a query that fails at once
/// (most do: planning, limits, a bad cast) gets a proper error answer. An error after the
/// first bytes were sent can only cut the response short; it is logged, and the client sees
/// an incomplete body, never a complete-looking wrong one.
async fn stream_rows(
    rows: ReportRows,
    format: Format,
    name: &str,
) -> Result<Response, ReportError> {
    let mut chunks = encode(rows, format).boxed();
    let first = match chunks.next().await {
        None => Vec::new(),
        Some(Ok(chunk)) => chunk,
        Some(Err(ExportError::Query(error))) => return Err(query_error(error)),
        Some(Err(error @ ExportError::TooManyRows { .. })) => {
            return Err(ReportError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_request",
                error.to_string(),
            ));
        }
        Some(Err(error)) => {
            tracing::error!(%error, "export failed");
            return Err(ReportError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "the export could not be encoded",
            ));
        }
    };
    let rest = chunks.map(|chunk| {
        chunk.map_err(|error| {
            tracing::error!(%error, "export stopped after it started");
            std::io::Error::other(error.to_string())
        })
    });
    let body =
        futures::stream::once(std::future::ready(Ok::<_, std::io::Error>(first))).chain(rest);
    let mut response = Body::from_stream(body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(format.content_type()),
    );
    if format != Format::Json {
        let disposition = format!("attachment; filename=\"{name}.{}\"", format.as_str());
        if let Ok(value) = HeaderValue::from_str(&disposition) {
            headers.insert(header::CONTENT_DISPOSITION, value);
        }
    }
    Ok(response)
}

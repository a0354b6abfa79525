//! The HTTP gateway for outside producers: `POST /api/v1/events`.
//!
//! A producer (a PBX adapter, a CRM, a script) posts a JSON array of events in the wire format
//! of [`Envelope`]. Every event is decoded strictly and must belong to the caller's tenant; a
//! batch with any bad event is refused whole with 422 naming each offending index and field,
//! so a producer never has to guess which half of a batch was taken. A valid batch is
//! answered 202 only once the log has made every event durable.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Extension, Json, Router};
use serde::Serialize;
use serde_json::{Value, json};
use tenet_events::{Actor, Envelope, TraceContext};

use crate::log::{EventLog, Header, Record, TopicName};

/// The most events one request may carry.
pub const MAX_BATCH: usize = 10_000;

/// What the gateway needs.
#[derive(Clone)]
pub struct Gateway {
    log: Arc<dyn EventLog>,
}

impl Gateway {
    /// A gateway appending to `log`.
    pub fn new(log: Arc<dyn EventLog>) -> Self {
        Self { log }
    }

    /// The gateway's routes, to be nested under `/api/v1` behind authentication (the caller's
    /// [`Actor`] must be in the request's extensions).
    pub fn router(self) -> Router {
        Router::new()
            .route("/events", post(post_events))
            .with_state(self)
    }
}

#[derive(Serialize)]
struct Accepted {
    accepted: usize,
}

#[derive(Serialize)]
struct Refusal {
    index: usize,
    code: &'static str,
    field: Option<String>,
    message: String,
}

fn refuse(status: StatusCode, message: String, details: Value) -> Response {
    let body =
        json!({ "error": { "code": "invalid_request", "message": message, "details": details } });
    (status, Json(body)).into_response()
}

async fn post_events(
    State(gateway): State<Gateway>,
    Extension(actor): Extension<Actor>,
    trace: Option<Extension<TraceContext>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| {
            value
                .split(';')
                .next()
                .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/json"))
        });
    if !is_json {
        return refuse(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "the body must be a JSON array of events (Content-Type: application/json)".into(),
            Value::Null,
        );
    }
    let items: Vec<Value> = match serde_json::from_slice(&body) {
        Ok(Value::Array(items)) => items,
        Ok(_) => {
            return refuse(
                StatusCode::UNPROCESSABLE_ENTITY,
                "the body must be a JSON array of events".into(),
                Value::Null,
            );
        }
        Err(error) => {
            return refuse(
                StatusCode::BAD_REQUEST,
                format!("the body is not JSON: {error}"),
                Value::Null,
            );
        }
    };
    if items.is_empty() || items.len() > MAX_BATCH {
        return refuse(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("a batch holds 1 to {MAX_BATCH} events, got {}", items.len()),
            Value::Null,
        );
    }

    let mut refusals = Vec::new();
    let mut by_topic: BTreeMap<&'static str, Vec<Record>> = BTreeMap::new();
    let trace_headers: Vec<Header> = trace
        .as_ref()
        .map(|Extension(trace)| {
            trace
                .child()
                .headers()
                .iter()
                .map(|(name, value)| Header {
                    name: (*name).to_owned(),
                    value: value.as_bytes().to_vec(),
                })
                .collect()
        })
        .unwrap_or_default();
    for (index, item) in items.into_iter().enumerate() {
        match Envelope::from_json_value(item) {
            Ok(envelope) if envelope.tenant_id != actor.tenant_id => refusals.push(Refusal {
                index,
                code: "wrong_tenant",
                field: Some("tenant_id".into()),
                message: "the event belongs to another tenant than the credential".into(),
            }),
            Ok(envelope) => {
                let mut record = Record::of_event(&envelope);
                record.headers.clone_from(&trace_headers);
                by_topic.entry(envelope.topic()).or_default().push(record);
            }
            Err(error) => refusals.push(Refusal {
                index,
                code: error.code(),
                field: error.field().map(str::to_owned),
                message: error.to_string(),
            }),
        }
    }
    if !refusals.is_empty() {
        let count = refusals.len();
        return refuse(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("{count} event(s) refused; nothing from this batch was stored"),
            json!({ "events": refusals }),
        );
    }

    let mut accepted = 0;
    for (topic, records) in by_topic {
        let count = records.len();
        let topic = TopicName::parse(topic).expect("event families have legal topic names");
        if let Err(error) = gateway.log.append(&topic, records).await {
            tracing::error!(error = %error, topic = %topic, "the event log refused a batch");
            metrics::counter!("tenet_gateway_append_errors_total").increment(1);
            return refuse(
                StatusCode::SERVICE_UNAVAILABLE,
                format!(
                    "the event log is unavailable; {accepted} event(s) were stored, retry the batch (event ids make retries safe)"
                ),
                Value::Null,
            );
        }
        accepted += count;
    }
    metrics::counter!("tenet_gateway_events_accepted_total").increment(accepted as u64);
    (StatusCode::ACCEPTED, Json(Accepted { accepted })).into_response()
}

/// Describes the gateway's metrics to the process's recorder.
pub fn describe_metrics() {
    metrics::describe_counter!(
        "tenet_gateway_events_accepted_total",
        "Events the gateway accepted and made durable in the log."
    );
    metrics::describe_counter!(
        "tenet_gateway_append_errors_total",
        "Batches the gateway could not append to the log."
    );
}

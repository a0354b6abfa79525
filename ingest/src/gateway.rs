//! The HTTP gateway for outside producers.
//!
//! - `POST /api/v1/events`: a JSON array of events in the wire format of [`Envelope`], from a
//!   PBX adapter, a CRM or a script.
//! - `POST /api/v1/telephony/asterisk/queue-log`: Asterisk `queue_log` lines as text (see
//!   [`asterisk`](crate::asterisk)).
//! - `POST /api/v1/access-control/events`: badge swipes from turnstiles and door readers.
//!
//! Every event is validated and must belong to the caller's tenant; a batch with anything bad
//! in it is refused whole with 422 naming each offending index or line and field, so a
//! producer never has to guess which half of a batch was taken. A valid batch is answered 202
//! only once the log has made every event durable. Event ids of queue_log lines and badge
//! swipes are derived from their content, so re-posting a batch adds nothing downstream.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Extension, Json, Router};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tenet_events::attendance::{BadgeSwiped, Direction};
use tenet_events::ids::{BadgeId, DeviceId, EmployeeId};
use tenet_events::{Actor, Envelope, OccurredAt, TraceContext};

use crate::asterisk;
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
            .route("/telephony/asterisk/queue-log", post(post_queue_log))
            .route("/access-control/events", post(post_badge_swipes))
            .with_state(self)
    }
}

#[derive(Serialize)]
struct Refusal {
    index: usize,
    code: &'static str,
    field: Option<String>,
    message: String,
}

/// The body as a JSON array of 1 to [`MAX_BATCH`] items, or the response refusing it.
fn json_array(headers: &HeaderMap, body: &[u8]) -> Result<Vec<Value>, Box<Response>> {
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/json"));
    if !is_json {
        return Err(Box::new(refuse(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "the body must be a JSON array (Content-Type: application/json)".into(),
            Value::Null,
        )));
    }
    let items = match serde_json::from_slice(body) {
        Ok(Value::Array(items)) => items,
        Ok(_) => {
            return Err(Box::new(refuse(
                StatusCode::UNPROCESSABLE_ENTITY,
                "the body must be a JSON array".into(),
                Value::Null,
            )));
        }
        Err(error) => {
            return Err(Box::new(refuse(
                StatusCode::BAD_REQUEST,
                format!("the body is not JSON: {error}"),
                Value::Null,
            )));
        }
    };
    if items.is_empty() || items.len() > MAX_BATCH {
        return Err(Box::new(refuse(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("a batch holds 1 to {MAX_BATCH} items, got {}", items.len()),
            Value::Null,
        )));
    }
    Ok(items)
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
    let items = match json_array(&headers, &body) {
        Ok(items) => items,
        Err(response) => return *response,
    };
    let mut refusals = Vec::new();
    let mut envelopes = Vec::new();
    for (index, item) in items.into_iter().enumerate() {
        match Envelope::from_json_value(item) {
            Ok(envelope) if envelope.tenant_id != actor.tenant_id => refusals.push(Refusal {
                index,
                code: "wrong_tenant",
                field: Some("tenant_id".into()),
                message: "the event belongs to another tenant than the credential".into(),
            }),
            Ok(envelope) => envelopes.push(envelope),
            Err(error) => refusals.push(Refusal {
                index,
                code: error.code(),
                field: error.field().map(str::to_owned),
                message: error.to_string(),
            }),
        }
    }
    gateway
        .accept_all(
            envelopes,
            refusals,
            "event(s)",
            trace.as_ref().map(|Extension(trace)| trace),
        )
        .await
}

impl Gateway {
    /// Answers a batch of JSON items: 422 listing every refusal when there is any (nothing is
    /// stored then), otherwise 202 once every event is durable.
    async fn accept_all(
        &self,
        envelopes: Vec<Envelope>,
        refusals: Vec<Refusal>,
        noun: &str,
        trace: Option<&TraceContext>,
    ) -> Response {
        if !refusals.is_empty() {
            let count = refusals.len();
            return refuse(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("{count} {noun} refused; nothing from this batch was stored"),
                json!({ "events": refusals }),
            );
        }
        match self.append(&envelopes, trace).await {
            Ok(accepted) => {
                (StatusCode::ACCEPTED, Json(json!({ "accepted": accepted }))).into_response()
            }
            Err(response) => response,
        }
    }

    /// Appends `envelopes` to their topics, carrying the request's trace; answers the count,
    /// or the 503 to send when the log fails.
    async fn append(
        &self,
        envelopes: &[Envelope],
        trace: Option<&TraceContext>,
    ) -> Result<usize, Response> {
        let trace_headers: Vec<Header> = trace
            .map(|trace| {
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
        let mut by_topic: BTreeMap<&'static str, Vec<Record>> = BTreeMap::new();
        for envelope in envelopes {
            let mut record = Record::of_event(envelope);
            record.headers.clone_from(&trace_headers);
            by_topic.entry(envelope.topic()).or_default().push(record);
        }
        let mut accepted = 0;
        for (topic, records) in by_topic {
            let count = records.len();
            let topic = TopicName::parse(topic).expect("event families have legal topic names");
            if let Err(error) = self.log.append(&topic, records).await {
                tracing::error!(error = %error, topic = %topic, "the event log refused a batch");
                metrics::counter!("tenet_gateway_append_errors_total").increment(1);
                return Err(refuse(
                    StatusCode::SERVICE_UNAVAILABLE,
                    format!(
                        "the event log is unavailable; {accepted} event(s) were stored, retry the batch (event ids make retries safe)"
                    ),
                    Value::Null,
                ));
            }
            accepted += count;
        }
        metrics::counter!("tenet_gateway_events_accepted_total").increment(accepted as u64);
        Ok(accepted)
    }
}

async fn post_queue_log(
    State(gateway): State<Gateway>,
    Extension(actor): Extension<Actor>,
    trace: Option<Extension<TraceContext>>,
    body: Bytes,
) -> Response {
    let Ok(text) = std::str::from_utf8(&body) else {
        return refuse(
            StatusCode::BAD_REQUEST,
            "the queue_log body must be UTF-8 text".into(),
            Value::Null,
        );
    };
    let parsed = match asterisk::parse(actor.tenant_id, text) {
        Ok(parsed) => parsed,
        Err(errors) => {
            let count = errors.len();
            let lines: Vec<Value> = errors
                .iter()
                .map(|error| json!({ "line": error.line, "message": error.reason }))
                .collect();
            return refuse(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("{count} line(s) refused; nothing from this batch was stored"),
                json!({ "lines": lines }),
            );
        }
    };
    if parsed.lines == 0 {
        return refuse(
            StatusCode::UNPROCESSABLE_ENTITY,
            "the body holds no queue_log lines".into(),
            Value::Null,
        );
    }
    match gateway
        .append(&parsed.events, trace.as_ref().map(|Extension(trace)| trace))
        .await
    {
        Ok(accepted) => (
            StatusCode::ACCEPTED,
            Json(json!({ "accepted": accepted, "lines": parsed.lines, "skipped": parsed.skipped })),
        )
            .into_response(),
        Err(response) => response,
    }
}

/// One swipe as an access-control adapter reports it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Swipe {
    badge_id: BadgeId,
    device_id: DeviceId,
    direction: Direction,
    at: DateTime<Utc>,
    #[serde(default)]
    employee_id: Option<EmployeeId>,
}

async fn post_badge_swipes(
    State(gateway): State<Gateway>,
    Extension(actor): Extension<Actor>,
    trace: Option<Extension<TraceContext>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let items = match json_array(&headers, &body) {
        Ok(items) => items,
        Err(response) => return *response,
    };
    let mut refusals = Vec::new();
    let mut envelopes = Vec::new();
    for (index, item) in items.into_iter().enumerate() {
        let swipe = serde_path_to_error::deserialize::<_, Swipe>(item).map_err(|error| {
            let field = error.path().to_string();
            (field, error.into_inner().to_string())
        });
        match swipe.and_then(|swipe| {
            OccurredAt::from_datetime(swipe.at)
                .map(|at| (swipe, at))
                .map_err(|error| ("at".to_owned(), error.to_string()))
        }) {
            Ok((swipe, at)) => {
                let at_text = swipe.at.to_rfc3339();
                let source = [
                    swipe.device_id.as_str(),
                    swipe.badge_id.as_str(),
                    swipe.direction.as_str(),
                    at_text.as_str(),
                ];
                envelopes.push(Envelope::derived(
                    actor.tenant_id,
                    at,
                    &source,
                    BadgeSwiped {
                        badge_id: swipe.badge_id.clone(),
                        device_id: swipe.device_id.clone(),
                        direction: swipe.direction,
                        employee_id: swipe.employee_id.clone(),
                    },
                ));
            }
            Err((field, message)) => refusals.push(Refusal {
                index,
                code: "invalid_field",
                field: (field != "." && !field.is_empty()).then_some(field),
                message,
            }),
        }
    }
    gateway
        .accept_all(
            envelopes,
            refusals,
            "swipe(s)",
            trace.as_ref().map(|Extension(trace)| trace),
        )
        .await
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

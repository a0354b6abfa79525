//! A customer's calls, for the customer 360: the calls the telephony attributed to the
//! customer (or to a duplicate since merged into them), read from the lake with the outcome of
//! each, newest first. Tickets come from the ops API; calls live in the lake.

use std::sync::Arc;

use axum::extract::State;
use axum::{Extension, Json, Router, routing::get};
use chrono::{DateTime, Utc};
use serde::Serialize;
use tenet_events::Actor;
use tenet_lakehouse::LakeReader;
use tenet_lakehouse::deltalake::arrow::array::{Array, AsArray};
use tenet_lakehouse::deltalake::arrow::compute::cast;
use tenet_lakehouse::deltalake::arrow::datatypes::{DataType, TimestampMicrosecondType};
use tenet_ops_api::audit::{self, Subject};
use tenet_ops_api::customers;
use tenet_ops_api::extract::PathId;
use tenet_ops_api::rbac::{Action, authorize};
use tenet_ops_api::{ApiError, Database};
use uuid::Uuid;

/// The most calls one answer lists.
pub const MAX_CALLS: usize = 200;

/// What the route needs.
#[derive(Clone)]
pub struct ContactsState {
    /// The customers.
    pub database: Database,
    /// The calls.
    pub reader: Arc<LakeReader>,
}

/// The `/customers/{id}/calls` route, relative to `/api/v1`; it expects an authenticated
/// [`Actor`].
pub fn router(state: ContactsState) -> Router {
    Router::new()
        .route("/customers/{id}/calls", get(calls))
        .with_state(state)
}

/// One call of a customer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CustomerCall {
    /// The call.
    pub call_id: String,
    /// When it was offered to a queue.
    pub offered_at: DateTime<Utc>,
    /// The queue.
    pub queue_id: Option<String>,
    /// The agent who answered.
    pub agent_id: Option<String>,
    /// Seconds the caller waited for an answer.
    pub wait_seconds: Option<i64>,
    /// How it ended: answered, abandoned, flowed_out, short_abandon; `null` while it lasts.
    pub outcome: Option<String>,
    /// Seconds of talk.
    pub talk_seconds: Option<i64>,
}

/// `GET /api/v1/customers/{id}/calls`: the customer's latest calls (at most 200), newest
/// first. The read is recorded in the audit log.
async fn calls(
    State(state): State<ContactsState>,
    Extension(actor): Extension<Actor>,
    PathId(id): PathId,
) -> Result<Json<Vec<CustomerCall>>, ApiError> {
    authorize(&actor, Action::CustomerRead)?;
    let customer = customers::get(&state.database, actor.tenant_id, id)
        .await?
        .ok_or_else(|| ApiError::NotFound("no such customer".into()))?;
    let mut ids = vec![customer.id];
    ids.extend(customers::merged_into(&state.database, actor.tenant_id, customer.id).await?);
    let calls = read_calls(&state.reader, &actor, &ids).await?;
    audit::record_reads(
        &state.database,
        &actor,
        Subject::Customer,
        &[customer.id],
        "calls",
    )
    .await?;
    Ok(Json(calls))
}

async fn read_calls(
    reader: &LakeReader,
    actor: &Actor,
    customers: &[Uuid],
) -> Result<Vec<CustomerCall>, ApiError> {
    let unavailable = |error: &dyn std::fmt::Display| {
        ApiError::Unavailable(format!("the calls cannot be read: {error}"))
    };
    // The ids are parsed UUIDs, never request text.
    let ids = customers
        .iter()
        .map(|id| format!("'{id}'"))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "with mine as (
            select call_id, min(occurred_at) as offered_at, max(queue_id) as queue_id
            from calls where event_type = 'call.offered' and customer_id in ({ids})
            group by call_id
         )
         select m.call_id, m.offered_at, m.queue_id,
            max(case when c.event_type = 'call.answered' then c.agent_id end) as agent_id,
            max(case when c.event_type = 'call.answered' then c.wait_seconds end) as wait_seconds,
            max(case when c.event_type = 'call.ended' then c.outcome end) as outcome,
            max(case when c.event_type = 'call.ended' then c.talk_seconds end) as talk_seconds
         from mine m left join calls c on c.call_id = m.call_id
         group by m.call_id, m.offered_at, m.queue_id
         order by m.offered_at desc
         limit {MAX_CALLS}"
    );
    let batches = crate::reports::tenant_rows(reader, actor.tenant_id, &sql, "the calls").await?;
    let mut calls = Vec::new();
    for batch in batches {
        let column = |index: usize, to: &DataType| {
            cast(batch.column(index), to).map_err(|error| unavailable(&error))
        };
        let (call_ids, queues, agents, outcomes) = (
            column(0, &DataType::Utf8)?,
            column(2, &DataType::Utf8)?,
            column(3, &DataType::Utf8)?,
            column(5, &DataType::Utf8)?,
        );
        let (waits, talks) = (column(4, &DataType::Int64)?, column(6, &DataType::Int64)?);
        let text = |array: &Arc<dyn Array>, row: usize| {
            let array = array.as_string::<i32>();
            (!array.is_null(row)).then(|| array.value(row).to_owned())
        };
        let number = |array: &Arc<dyn Array>, row: usize| {
            let array =
                array.as_primitive::<tenet_lakehouse::deltalake::arrow::datatypes::Int64Type>();
            (!array.is_null(row)).then(|| array.value(row))
        };
        let offered = batch.column(1).as_primitive::<TimestampMicrosecondType>();
        for row in 0..batch.num_rows() {
            let (Some(call_id), Some(offered_at)) = (
                text(&call_ids, row),
                DateTime::<Utc>::from_timestamp_micros(offered.value(row)),
            ) else {
                continue;
            };
            calls.push(CustomerCall {
                call_id,
                offered_at,
                queue_id: text(&queues, row),
                agent_id: text(&agents, row),
                wait_seconds: number(&waits, row),
                outcome: text(&outcomes, row),
                talk_seconds: number(&talks, row),
            });
        }
    }
    Ok(calls)
}

//! The transactional outbox.
//!
//! A state change and the event that describes it are written in the same database
//! transaction ([`enqueue!`](crate::enqueue)); a relay later publishes pending events to the
//! log and marks them published. An event is never lost when the log is down and never
//! invented when the transaction rolls back; a relay that crashes between publishing and
//! marking publishes again, and the lake drops the duplicate by event id.

use chrono::{DateTime, Utc};
use tenet_events::{Envelope, TraceContext};
use uuid::Uuid;

use crate::db::Database;
use crate::on_backend;

/// An event ready to be written to the outbox.
#[derive(Debug, Clone)]
pub struct OutboxRecord {
    /// The event's id.
    pub event_id: Uuid,
    /// Its tenant.
    pub tenant_id: Uuid,
    /// The topic it goes to.
    pub topic: &'static str,
    /// Its partition key (the tenant).
    pub partition_key: String,
    /// Its JSON wire form.
    pub payload: String,
    /// The trace context that travels with it, as JSON.
    pub headers: String,
    /// When it was enqueued.
    pub created_at: DateTime<Utc>,
}

impl OutboxRecord {
    /// The record of `event`, which `actor`'s request (traced by `trace`) made happen at `at`
    /// in their tenant.
    pub fn of(
        actor: &tenet_events::Actor,
        at: DateTime<Utc>,
        trace: Option<&TraceContext>,
        event: impl Into<tenet_events::Event>,
    ) -> Self {
        let occurred_at = tenet_events::OccurredAt::from_datetime(at)
            .unwrap_or_else(|_| tenet_events::OccurredAt::now());
        Self::new(&Envelope::new(actor.tenant_id, occurred_at, event), trace)
    }

    /// The record for `envelope`, carrying the trace of the request that caused it.
    pub fn new(envelope: &Envelope, trace: Option<&TraceContext>) -> Self {
        let headers = trace.map_or_else(
            || "{}".to_owned(),
            |trace| serde_json::to_string(&trace.child()).unwrap_or_else(|_| "{}".to_owned()),
        );
        Self {
            event_id: envelope.event_id.as_uuid(),
            tenant_id: envelope.tenant_id.as_uuid(),
            topic: envelope.topic(),
            partition_key: envelope.key(),
            payload: String::from_utf8(envelope.to_json()).unwrap_or_default(),
            headers,
            created_at: Utc::now(),
        }
    }
}

/// Writes an [`OutboxRecord`] with the given executor (the open transaction of the change).
#[macro_export]
macro_rules! enqueue {
    ($executor:expr, $record:expr) => {{
        let record: &$crate::outbox::OutboxRecord = $record;
        sqlx::query(
            "insert into outbox (event_id, tenant_id, topic, partition_key, payload, headers, created_at) \
             values ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(record.event_id)
        .bind(record.tenant_id)
        .bind(record.topic)
        .bind(&record.partition_key)
        .bind(&record.payload)
        .bind(&record.headers)
        .bind(record.created_at)
        .execute($executor)
        .await
    }};
}

/// An event waiting in the outbox.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PendingEvent {
    /// Its position in the outbox.
    pub id: i64,
    /// Its id.
    pub event_id: Uuid,
    /// The topic it goes to.
    pub topic: String,
    /// Its partition key.
    pub partition_key: String,
    /// Its JSON wire form.
    pub payload: String,
    /// The trace context, as JSON.
    pub headers: String,
}

/// Up to `limit` unpublished events, oldest first.
///
/// # Errors
/// Database errors.
pub async fn pending(db: &Database, limit: i64) -> Result<Vec<PendingEvent>, sqlx::Error> {
    Ok(on_backend!(db, |pool| {
        sqlx::query_as(
            "select id, event_id, topic, partition_key, payload, headers from outbox \
             where published_at is null order by id limit $1",
        )
        .bind(limit)
        .fetch_all(pool)
        .await?
    }))
}

/// Marks events published, once the log has acknowledged them.
///
/// # Errors
/// Database errors.
pub async fn mark_published(db: &Database, ids: &[i64]) -> Result<(), sqlx::Error> {
    let now = Utc::now();
    for chunk in ids.chunks(500) {
        let placeholders: Vec<String> = (0..chunk.len()).map(|i| format!("${}", i + 2)).collect();
        let sql = format!(
            "update outbox set published_at = $1 where id in ({})",
            placeholders.join(", ")
        );
        on_backend!(db, |pool| {
            let mut query = sqlx::query(&sql).bind(now);
            for id in chunk {
                query = query.bind(id);
            }
            query.execute(pool).await?;
        });
    }
    Ok(())
}

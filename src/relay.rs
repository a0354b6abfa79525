//! The outbox relay: publishes the ops API's outbox to the event log.
//!
//! It reads unpublished events in outbox order, appends them to their topics, and marks them
//! published only after the log has acknowledged them as durable. A crash between the two
//! publishes some events again on restart; the lake keeps one row per event id, so the
//! stream stays exactly-once downstream.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use tenet_events::TraceContext;
use tenet_ingest::{EventLog, Header, Record, TopicName};
use tenet_ops_api::Database;
use tenet_ops_api::outbox::{self, PendingEvent};

/// How the relay paces itself.
#[derive(Debug, Clone, Copy)]
pub struct RelaySettings {
    /// Events read from the outbox per round.
    pub batch: i64,
    /// Pause when the outbox is empty.
    pub idle: Duration,
    /// Pause after a failure (database or log down) before trying again.
    pub backoff: Duration,
}

impl Default for RelaySettings {
    fn default() -> Self {
        Self {
            batch: 500,
            idle: Duration::from_millis(200),
            backoff: Duration::from_secs(1),
        }
    }
}

/// Why a round of the relay failed.
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    /// The outbox could not be read or updated.
    #[error("outbox: {0}")]
    Outbox(#[from] sqlx::Error),
    /// The log refused the events.
    #[error("event log: {0}")]
    Log(#[from] tenet_ingest::LogError),
    /// An outbox row names a topic the log cannot have.
    #[error("outbox event {event_id} names an invalid topic `{topic}`")]
    Topic {
        /// The event.
        event_id: uuid::Uuid,
        /// Its topic.
        topic: String,
    },
}

/// Publishes one batch; returns how many events it published.
///
/// # Errors
/// [`RelayError`] when the outbox or the log fails; nothing is marked published then.
pub async fn relay_once(
    db: &Database,
    log: &dyn EventLog,
    batch: i64,
) -> Result<usize, RelayError> {
    let pending = outbox::pending(db, batch).await?;
    if pending.is_empty() {
        return Ok(0);
    }
    let mut by_topic: BTreeMap<String, Vec<&PendingEvent>> = BTreeMap::new();
    for event in &pending {
        by_topic.entry(event.topic.clone()).or_default().push(event);
    }
    for (topic, events) in &by_topic {
        let name = TopicName::parse(topic.clone()).map_err(|_| RelayError::Topic {
            event_id: events[0].event_id,
            topic: topic.clone(),
        })?;
        let records = events.iter().map(|event| record(event)).collect();
        log.append(&name, records).await?;
    }
    let ids: Vec<i64> = pending.iter().map(|event| event.id).collect();
    outbox::mark_published(db, &ids).await?;
    metrics::counter!("tenet_outbox_published_total").increment(ids.len() as u64);
    Ok(ids.len())
}

fn record(event: &PendingEvent) -> Record {
    let mut record = Record::new(event.partition_key.clone(), event.payload.clone());
    // An event enqueued outside a request has no trace (`{}`) and travels without headers.
    if let Ok(trace) = serde_json::from_str::<TraceContext>(&event.headers) {
        record.headers = trace
            .headers()
            .iter()
            .map(|(name, value)| Header {
                name: (*name).to_owned(),
                value: value.as_bytes().to_vec(),
            })
            .collect();
    }
    record
}

/// Relays until the task is dropped.
pub async fn run(db: Database, log: Arc<dyn EventLog>, settings: RelaySettings) {
    loop {
        match relay_once(&db, log.as_ref(), settings.batch).await {
            Ok(published) if published as i64 >= settings.batch => {}
            Ok(_) => tokio::time::sleep(settings.idle).await,
            Err(error) => {
                metrics::counter!("tenet_outbox_relay_errors_total").increment(1);
                tracing::warn!(error = %error, "outbox relay failed; retrying");
                tokio::time::sleep(settings.backoff).await;
            }
        }
    }
}

/// Describes the relay's metrics to the process's recorder.
pub fn describe_metrics() {
    metrics::describe_counter!(
        "tenet_outbox_published_total",
        "Outbox events published to the event log."
    );
    metrics::describe_counter!(
        "tenet_outbox_relay_errors_total",
        "Relay rounds that failed (database or log unavailable) and were retried."
    );
}

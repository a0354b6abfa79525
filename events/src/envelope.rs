//! The envelope: what every event carries besides its payload, and its wire encoding.
//!
//! On the wire an event is one JSON object:
//!
//! ```json
//! {
//!   "event_id": "0196f0c2-1a2b-7c3d-8e4f-5a6b7c8d9e0f",
//!   "tenant_id": "0196f0c0-0000-7000-8000-000000000001",
//!   "occurred_at": "2026-04-12T23:20:50.520Z",
//!   "type": "call.answered",
//!   "schema_version": 1,
//!   "data": { "call_id": "1712345678.42", "queue_id": "support", "agent_id": "1001", "wait_seconds": 17 }
//! }
//! ```
//!
//! In the log an event is keyed by its tenant, so one tenant's events stay in order within a
//! partition, and published to its family's topic.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::decode::{DecodeError, decode, decode_value};
use crate::event::{Event, EventType};
use crate::ids::{EventId, OccurredAt};
use crate::row::{Date32, HeaderColumns, Row, TimestampMicros};
use crate::{EventFamily, TenantId};

/// One event with its identity, owner and time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    /// The event's id; the lake keeps one row per id.
    pub event_id: EventId,
    /// The tenant the event belongs to.
    pub tenant_id: TenantId,
    /// When it happened (not when it was received).
    pub occurred_at: OccurredAt,
    /// What happened.
    pub event: Event,
}

impl Envelope {
    /// An event with a fresh id.
    pub fn new(tenant_id: TenantId, occurred_at: OccurredAt, event: impl Into<Event>) -> Self {
        Self {
            event_id: EventId::generate(),
            tenant_id,
            occurred_at,
            event: event.into(),
        }
    }

    /// An event whose id is derived from its source record (see [`EventId::derive`]), so that
    /// importing the same record twice produces the same event.
    pub fn derived(
        tenant_id: TenantId,
        occurred_at: OccurredAt,
        source_key: &[&str],
        event: impl Into<Event>,
    ) -> Self {
        let event = event.into();
        let event_id = EventId::derive(
            tenant_id,
            event.event_type().as_str(),
            occurred_at,
            source_key,
        );
        Self {
            event_id,
            tenant_id,
            occurred_at,
            event,
        }
    }

    /// The event's type.
    pub fn event_type(&self) -> EventType {
        self.event.event_type()
    }

    /// The event's family.
    pub fn family(&self) -> EventFamily {
        self.event.family()
    }

    /// The topic the event is published to.
    pub fn topic(&self) -> &'static str {
        self.family().topic()
    }

    /// The log key: the tenant id in canonical text form, so that a tenant's events share a
    /// partition and keep their order.
    pub fn key(&self) -> String {
        self.tenant_id.to_string()
    }

    /// The JSON encoding, as published to the log.
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("events serialize to JSON without failure")
    }

    /// Decodes the JSON encoding strictly.
    ///
    /// # Errors
    ///
    /// A [`DecodeError`] naming the offending field; see [`decode`].
    pub fn from_json(bytes: &[u8]) -> Result<Self, DecodeError> {
        decode(bytes)
    }

    /// Decodes an already parsed JSON value strictly (an element of a batch).
    ///
    /// # Errors
    ///
    /// A [`DecodeError`] naming the offending field; see [`decode_value`].
    pub fn from_json_value(value: serde_json::Value) -> Result<Self, DecodeError> {
        decode_value(value)
    }

    /// The event flattened into a row of its family's table (see
    /// [`EventFamily::arrow_schema`]), leaving the event as it is.
    pub fn to_row(&self) -> Row {
        self.clone().into_row()
    }

    /// The event flattened into a row of its family's table, its text moved into the row
    /// rather than copied: what the lake writer does with every event it lands.
    pub fn into_row(self) -> Row {
        let family = self.family();
        let event_type = self.event_type();
        let mut cells = Vec::with_capacity(family.arrow_schema().fields().len());
        HeaderColumns {
            event_id: self.event_id.to_string(),
            tenant_id: self.tenant_id.to_string(),
            event_type: event_type.as_str().to_owned(),
            schema_version: event_type.schema_version().into(),
            occurred_at: TimestampMicros(self.occurred_at.unix_micros()),
            event_date: Date32(self.occurred_at.unix_days()),
        }
        .push_cells(&mut cells);
        self.event.push_cells(&mut cells);
        Row::new(family, cells)
    }
}

#[derive(Serialize)]
struct WireEnvelope<'a> {
    event_id: EventId,
    tenant_id: TenantId,
    occurred_at: OccurredAt,
    #[serde(rename = "type")]
    event_type: &'static str,
    schema_version: u16,
    data: &'a Event,
}

impl Serialize for Envelope {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let event_type = self.event_type();
        WireEnvelope {
            event_id: self.event_id,
            tenant_id: self.tenant_id,
            occurred_at: self.occurred_at,
            event_type: event_type.as_str(),
            schema_version: event_type.schema_version(),
            data: &self.event,
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Envelope {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = serde_json::Value::deserialize(deserializer)?;
        decode_value(value).map_err(serde::de::Error::custom)
    }
}

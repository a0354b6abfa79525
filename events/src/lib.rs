//! The event contract shared by every Tenet component.
//!
//! Operational services (the ops API, the ingest gateway, telephony and access-control
//! adapters) describe what happened as events; the log carries them and the lake writer lands
//! them in Delta tables. This crate holds the types both sides agree on and performs no I/O.
//!
//! - [`identity`]: who an event or a request belongs to and who acted: [`TenantId`], [`Role`],
//!   [`Actor`].
//! - [`Envelope`]: one event with its [`EventId`] (UUID v7), tenant, [`OccurredAt`] time and
//!   payload ([`Event`]); its JSON encoding is the wire format of every topic, and
//!   [`Envelope::from_json`] decodes it strictly, returning a [`DecodeError`] that names the
//!   offending field (what the gateway answers and the dead-letter table records).
//! - [`EventType`] and [`EventFamily`]: the catalog of event types, each with a schema version,
//!   grouped into families; a family is one topic ([`EventFamily::topic`]) and one lake table
//!   ([`EventFamily::arrow_schema`]).
//! - The payloads, one module per family: [`calls`], [`tickets`], [`agent_state`],
//!   [`attendance`], [`surveys`], [`qa`], [`customers`], [`hr`], [`schedules`],
//!   [`admin`].
//! - [`trace`]: the request, operation and phase ids that travel with HTTP requests and log
//!   records between components.
//! - [`row`]: an event flattened into its table's columns ([`Envelope::to_row`]).
//!
//! `docs/events.md` documents every event type with a JSON example; a test decodes each.

pub mod admin;
pub mod agent_state;
pub mod attendance;
pub mod calls;
pub mod customers;
pub mod decode;
pub mod envelope;
pub mod event;
pub mod family;
pub mod hr;
pub mod identity;
pub mod ids;
pub mod qa;
pub mod row;
pub mod schedules;
pub mod surveys;
pub mod tickets;
pub mod trace;

pub use decode::{DecodeError, MAX_EVENT_BYTES};
pub use envelope::Envelope;
pub use event::{Event, EventType};
pub use family::EventFamily;
pub use identity::{Actor, Role, TenantId};
pub use ids::{EventId, OccurredAt};
pub use row::{Cell, Row};
pub use trace::TraceContext;

//! Ingestion: how events get from their producers into the lake.
//!
//! Outside systems (telephony, access control, messengers) post to the gateway; the ops API's
//! outbox relay publishes state changes. Both write to the event log (Kafka in the distributed
//! mode, a durable local log on a single box). The lake writer consumes the log and lands each
//! event exactly once in the Delta tables that [`tenet_lakehouse`](../tenet_lakehouse) reads;
//! events that cannot be decoded or validated go to a dead-letter table with their raw payload.
//!
//! - [`log`]: the [`EventLog`] trait every log implements (append a batch durably, read from an
//!   offset, commit a consumer group's offset) and its types.
//! - [`embedded`]: [`EmbeddedLog`], the durable local log of `tenet up`: segment files with
//!   CRC-framed records, group commit, crash recovery, retention.
//! - [`kafka`]: [`KafkaLog`], the log of the distributed mode: an idempotent producer, readers
//!   positioned by offset, and consumer-group membership that splits partitions among lake
//!   writers.
//! - [`writer`]: [`LakeWriter`], which lands a family's topic in its Delta table exactly once
//!   (source offsets committed inside the Delta commit) and sends what cannot be decoded to
//!   the dead-letter table ([`dead_letter`]); in the background, it checkpoints the tables'
//!   Delta logs and compacts their small files.
//! - [`gateway`]: the HTTP endpoints where outside producers (integrations, Asterisk, access
//!   control) hand batches of events to the log; answered only once they are durable.
//! - [`import`]: per-call history records turned into call events, for `tenet import calls`.
//! - [`asterisk`]: Asterisk `queue_log` lines turned into call and agent-state events.

pub mod asterisk;
pub mod dead_letter;
pub mod embedded;
pub mod gateway;
pub mod import;
pub mod kafka;
pub mod log;
pub mod writer;

pub use embedded::{EmbeddedLog, EmbeddedLogConfig, RetentionPolicy};
pub use kafka::{KafkaConfig, KafkaLog, KafkaSetupError};
pub use log::{
    EventLog, GroupId, Header, LogError, Offset, OffsetRange, ReadLimits, Record, RecordPosition,
    StoredRecord, TopicName, TopicPartition, partition_for_key,
};
pub use writer::{
    FlushPolicy, FlushReason, FlushSummary, LakeWriter, LakeWriterConfig, LakeWriters,
    MaintenancePolicy, WriterError,
};

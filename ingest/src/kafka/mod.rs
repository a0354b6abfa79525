//! The event log of the distributed mode: Kafka through librdkafka (rdkafka).
//!
//! Pure parts first: [`config`] (the librdkafka properties each client needs, and refusing
//! extras that would weaken a guarantee), [`reader`]'s [`ReadCursor`](reader::ReadCursor)
//! (when a read continues and when it repositions), [`group`]'s
//! [`Assignment`](group::Assignment) (what a consumer-group member holds). Then the I/O
//! shell: [`log`] ([`KafkaLog`], the [`EventLog`](crate::log::EventLog) implementation) and
//! [`group`]'s [`GroupMember`](group::GroupMember).

pub mod config;
pub mod group;
pub mod log;
pub mod reader;

pub use config::{FixedProperty, KafkaConfig};
pub use group::{Assignment, GroupMember};
pub use log::{KafkaLog, KafkaSetupError};

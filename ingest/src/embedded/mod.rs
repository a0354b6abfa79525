//! The embedded durable event log: Kafka's guarantees on one machine, without a broker.
//!
//! Pure parts first: [`frame`] (record framing with length and CRC-32), [`index`] (sparse
//! offset index), [`segment`] (scanning a segment and finding a torn tail), [`retention`]
//! (which segments to delete), [`offsets`] (committed offsets of consumer groups). Then the
//! I/O shell: [`partition`] (one partition's files) and [`store`] ([`EmbeddedLog`], the
//! group-commit writer and the [`EventLog`](crate::log::EventLog) implementation).

pub mod frame;
pub mod index;
pub mod offsets;
pub mod partition;
pub mod retention;
pub mod segment;
pub mod store;

pub use retention::RetentionPolicy;
pub use store::{EmbeddedLog, EmbeddedLogConfig, LogStats};

//! The event log contract: what producers and the lake writer need from Kafka or from the
//! embedded log.
//!
//! A log holds topics split into partitions. A record goes to the partition its key maps to
//! (events are keyed by tenant), gets the next offset there, and is read back in offset
//! order. The guarantees both implementations give, and the lake writer relies on:
//!
//! - **Durable acknowledgement.** [`EventLog::append`] returns only once its records survive
//!   a crash (broker acknowledgement, or fsync of the embedded log). An error means some of
//!   the records may or may not be stored: retrying gives at-least-once delivery, and the lake
//!   drops the duplicates by event id.
//! - **Order per partition.** Offsets within a partition are dense and monotonic; records
//!   appended in one call to one partition are contiguous and in call order.
//! - **Only durable records are read.** A reader never sees a record that a crash could take
//!   away, so an offset the lake writer has committed always names the same record.
//! - **Committed offsets** ([`EventLog::commit`]) are per consumer group and partition, and
//!   durable once the call returns.

use std::collections::BTreeSet;
use std::fmt;
use std::time::Duration;

use async_trait::async_trait;

/// A position within one partition. The first record of a partition has offset 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Offset(pub u64);

impl Offset {
    /// The offset after this one.
    pub fn next(self) -> Offset {
        Offset(self.0 + 1)
    }
}

impl fmt::Display for Offset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The error returned for a topic or consumer-group name that is not safe to use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {kind} `{name}`: use 1 to {max} characters from a-z, A-Z, 0-9, `.`, `_`, `-`")]
pub struct InvalidName {
    kind: &'static str,
    name: String,
    max: usize,
}

fn check_name(kind: &'static str, name: &str, max: usize) -> Result<(), InvalidName> {
    let legal = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
    if name.is_empty()
        || name.len() > max
        || name == "."
        || name == ".."
        || !name.chars().all(legal)
    {
        return Err(InvalidName {
            kind,
            name: name.chars().take(max).collect(),
            max,
        });
    }
    Ok(())
}

/// A topic name, restricted to Kafka's legal characters (which are also safe as a directory
/// name).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TopicName(String);

impl TopicName {
    /// Kafka's limit on topic names.
    pub const MAX_LEN: usize = 249;

    /// Parses a topic name.
    ///
    /// # Errors
    ///
    /// [`InvalidName`] for an empty, too long or otherwise illegal name.
    pub fn parse(name: impl Into<String>) -> Result<Self, InvalidName> {
        let name = name.into();
        check_name("topic", &name, Self::MAX_LEN)?;
        Ok(Self(name))
    }

    /// The topic of an event family (`tenet.calls.v1`, ...).
    pub fn of_family(family: tenet_events::EventFamily) -> Self {
        Self(family.topic().to_owned())
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TopicName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A consumer group's name (the lake writers share one).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GroupId(String);

impl GroupId {
    /// The longest group name accepted.
    pub const MAX_LEN: usize = 200;

    /// Parses a group name.
    ///
    /// # Errors
    ///
    /// [`InvalidName`] for an empty, too long or otherwise illegal name.
    pub fn parse(name: impl Into<String>) -> Result<Self, InvalidName> {
        let name = name.into();
        check_name("consumer group", &name, Self::MAX_LEN)?;
        Ok(Self(name))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for GroupId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One partition of one topic.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TopicPartition {
    /// The topic.
    pub topic: TopicName,
    /// The partition number, from 0.
    pub partition: u32,
}

impl TopicPartition {
    /// A topic partition.
    pub fn new(topic: TopicName, partition: u32) -> Self {
        Self { topic, partition }
    }
}

impl fmt::Display for TopicPartition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.topic, self.partition)
    }
}

/// A record header: metadata that travels beside the value (request and operation ids).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// The header's name.
    pub name: String,
    /// The header's value.
    pub value: Vec<u8>,
}

/// A record to append.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// The partitioning key (for events: the tenant id).
    pub key: Vec<u8>,
    /// The payload (for events: their JSON encoding).
    pub value: Vec<u8>,
    /// Metadata headers.
    pub headers: Vec<Header>,
}

impl Record {
    /// A record without headers.
    pub fn new(key: impl Into<Vec<u8>>, value: impl Into<Vec<u8>>) -> Self {
        Self {
            key: key.into(),
            value: value.into(),
            headers: Vec::new(),
        }
    }

    /// The record of an event: keyed by its tenant, valued by its JSON encoding.
    pub fn of_event(envelope: &tenet_events::Envelope) -> Self {
        Self::new(envelope.key(), envelope.to_json())
    }
}

/// Where an appended record was stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordPosition {
    /// The partition.
    pub partition: u32,
    /// The offset within it.
    pub offset: Offset,
}

/// A record read back from the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRecord {
    /// Its offset within the partition.
    pub offset: Offset,
    /// When the log stored it, in milliseconds since the Unix epoch.
    pub timestamp_ms: i64,
    /// The partitioning key.
    pub key: Vec<u8>,
    /// The payload.
    pub value: Vec<u8>,
    /// Metadata headers.
    pub headers: Vec<Header>,
}

/// The offsets a partition holds: `start` is the oldest retained record, `end` the offset the
/// next record will get (the high watermark). Empty when equal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OffsetRange {
    /// The oldest retained offset.
    pub start: Offset,
    /// One past the newest durable offset.
    pub end: Offset,
}

/// How much one read may return and how long it may wait for new records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadLimits {
    /// At most this many records.
    pub max_records: usize,
    /// About this many bytes of payload; at least one record is returned when one is
    /// available, however large.
    pub max_bytes: usize,
    /// When nothing is available at the requested offset, wait this long for records to
    /// arrive before returning an empty batch.
    pub max_wait: Duration,
}

impl Default for ReadLimits {
    fn default() -> Self {
        Self {
            max_records: 10_000,
            max_bytes: 4 * 1024 * 1024,
            max_wait: Duration::ZERO,
        }
    }
}

/// Why a log operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LogError {
    /// Nothing was ever appended to the topic.
    #[error("unknown topic `{0}`")]
    UnknownTopic(TopicName),
    /// The topic has fewer partitions.
    #[error("topic `{topic}` has {count} partitions, no partition {partition}")]
    UnknownPartition {
        /// The topic.
        topic: TopicName,
        /// The partition asked for.
        partition: u32,
        /// How many it has.
        count: u32,
    },
    /// The offset is before the oldest retained record or after the newest.
    #[error("offset {requested} is outside {partition}'s range {}..{}", range.start, range.end)]
    OffsetOutOfRange {
        /// The partition.
        partition: TopicPartition,
        /// The offset asked for.
        requested: Offset,
        /// What the partition holds.
        range: OffsetRange,
    },
    /// A record larger than the log accepts.
    #[error("record of {size} bytes exceeds the limit of {limit} bytes")]
    RecordTooLarge {
        /// Its encoded size.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// Stored data is damaged where a crash cannot have torn it; refusing to guess.
    #[error("corrupt log data in {path} at byte {position}: {reason}")]
    Corrupt {
        /// The file.
        path: String,
        /// Where the damage starts.
        position: u64,
        /// What is wrong.
        reason: String,
    },
    /// Another process has the log's directory open.
    #[error("the log directory {0} is in use by another process")]
    Locked(String),
    /// The partition failed to write or sync earlier; it accepts nothing until the log is
    /// reopened (and recovered), because the state of unsynced data is unknown.
    #[error("partition {0} is unavailable after an earlier write failure; reopen the log")]
    PartitionFailed(TopicPartition),
    /// The log was closed.
    #[error("the log is closed")]
    Closed,
    /// The Kafka client or broker failed (unreachable, timed out, refused the request).
    #[error("kafka: {context}: {source}")]
    Broker {
        /// What was being done.
        context: String,
        /// The client's error.
        #[source]
        source: rdkafka::error::KafkaError,
    },
    /// An I/O error.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

impl LogError {
    pub(crate) fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> LogError {
        let context = context.into();
        move |source| LogError::Io { context, source }
    }
}

/// The partition a key maps to among `count`: CRC-32 of the key, modulo the count. Stable
/// across versions and platforms, so a tenant's events always share a partition.
///
/// # Panics
///
/// When `count` is zero.
pub fn partition_for_key(key: &[u8], count: u32) -> u32 {
    assert!(count > 0, "a topic has at least one partition");
    crc32fast::hash(key) % count
}

/// An event log: Kafka in the distributed mode, the embedded log on a single box.
#[async_trait]
pub trait EventLog: Send + Sync {
    /// Appends records to `topic`, each to the partition its key maps to, and returns their
    /// positions (in the order given) once all are durable.
    ///
    /// # Errors
    ///
    /// [`LogError::RecordTooLarge`], I/O and broker errors. On error some records may have
    /// been stored; a retry may duplicate them (at-least-once).
    async fn append(
        &self,
        topic: &TopicName,
        records: Vec<Record>,
    ) -> Result<Vec<RecordPosition>, LogError>;

    /// How many partitions `topic` has.
    ///
    /// # Errors
    ///
    /// [`LogError::UnknownTopic`] if it does not exist.
    async fn partition_count(&self, topic: &TopicName) -> Result<u32, LogError>;

    /// The retained, durable offsets of a partition.
    ///
    /// # Errors
    ///
    /// [`LogError::UnknownTopic`], [`LogError::UnknownPartition`].
    async fn offset_range(&self, partition: &TopicPartition) -> Result<OffsetRange, LogError>;

    /// Reads durable records of one partition starting at `from`, in offset order.
    ///
    /// Returns an empty batch when `from` is the end and nothing arrives within
    /// `limits.max_wait`.
    ///
    /// # Errors
    ///
    /// [`LogError::OffsetOutOfRange`] when `from` is before the oldest retained record or
    /// past the end; unknown topic or partition; I/O.
    async fn read(
        &self,
        partition: &TopicPartition,
        from: Offset,
        limits: ReadLimits,
    ) -> Result<Vec<StoredRecord>, LogError>;

    /// Records durably that `group` has processed `partition` up to (excluding) `next`.
    ///
    /// # Errors
    ///
    /// [`LogError::OffsetOutOfRange`] when `next` is past the partition's end; I/O.
    async fn commit(
        &self,
        group: &GroupId,
        partition: &TopicPartition,
        next: Offset,
    ) -> Result<(), LogError>;

    /// The offset `group` committed for `partition`, if any.
    ///
    /// # Errors
    ///
    /// I/O and broker errors.
    async fn committed(
        &self,
        group: &GroupId,
        partition: &TopicPartition,
    ) -> Result<Option<Offset>, LogError>;

    /// The partitions of `topic` this process should consume for `group`, when the log
    /// splits a topic among the members of a consumer group (Kafka with a joined group);
    /// `None` when this process consumes every partition (the embedded log, or a group this
    /// process has not joined).
    ///
    /// An assignment is advice, not a lock: two processes may briefly both hold a partition
    /// during a rebalance. The lake writer stays exactly-once regardless, because its
    /// offsets live in the Delta commit and a stale writer's commit is fenced.
    ///
    /// # Errors
    ///
    /// The group's membership failed for good (the member must be recreated).
    async fn assigned(
        &self,
        group: &GroupId,
        topic: &TopicName,
    ) -> Result<Option<BTreeSet<u32>>, LogError> {
        let _ = (group, topic);
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_limited_to_kafkas_legal_characters() {
        assert!(TopicName::parse("tenet.calls.v1").is_ok());
        assert!(TopicName::parse("").is_err());
        assert!(TopicName::parse("..").is_err());
        assert!(TopicName::parse("a/b").is_err());
        assert!(TopicName::parse("x".repeat(250)).is_err());
        assert!(GroupId::parse("lake-writer").is_ok());
        assert!(GroupId::parse("lake writer").is_err());
    }

    #[test]
    fn a_key_always_maps_to_the_same_partition() {
        let key = b"0196f0c0-0000-7000-8000-00000000a11e";
        let first = partition_for_key(key, 8);
        assert!(first < 8);
        assert_eq!(partition_for_key(key, 8), first);
        assert_eq!(partition_for_key(key, 1), 0);
    }

    #[test]
    fn keys_spread_over_partitions() {
        let mut seen = [0_u32; 4];
        for tenant in 0..400 {
            seen[partition_for_key(format!("tenant-{tenant}").as_bytes(), 4) as usize] += 1;
        }
        assert!(seen.iter().all(|&count| count > 50), "{seen:?}");
    }
}

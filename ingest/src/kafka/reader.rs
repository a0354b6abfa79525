//! Reading one partition from a given offset: a consumer assigned to that partition alone
//! and positioned by the caller, never by the group.
//!
//! Sequential reads keep the consumer's prefetch flowing; a read from anywhere else
//! re-assigns it at the new offset. [`ReadCursor`] is the bookkeeping that decides which,
//! and holds back a record fetched beyond a read's byte limit for the next read, so none is
//! skipped.

use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::error::KafkaError;
use rdkafka::message::{BorrowedMessage, Headers, Message};
use rdkafka::topic_partition_list::TopicPartitionList;

use crate::log::{Header, Offset, ReadLimits, StoredRecord, TopicPartition};

/// Where a partition reader stands, and what it fetched but has not returned yet.
#[derive(Debug, Default)]
pub struct ReadCursor {
    position: Option<Offset>,
    held: Option<StoredRecord>,
}

impl ReadCursor {
    /// Whether a read from `from` can continue the consumer's current fetch; otherwise the
    /// consumer must be positioned at `from` first (and what is held back is dropped).
    pub fn continues(&self, from: Offset) -> bool {
        self.position == Some(from)
    }

    /// Notes that the consumer was positioned at `from`.
    pub fn positioned(&mut self, from: Offset) {
        self.position = Some(from);
        self.held = None;
    }

    /// Forgets the position, so the next read positions the consumer again.
    pub fn reset(&mut self) {
        self.position = None;
        self.held = None;
    }

    /// The record held back by the previous read, if any.
    pub fn take_held(&mut self) -> Option<StoredRecord> {
        self.held.take()
    }

    /// Decides whether `record` joins `batch` (which holds `bytes` payload bytes), and notes
    /// the position after it. A record that does not fit is held back for the next read;
    /// returns `false` then, and the batch is complete. A record before the position, fetched
    /// before the consumer was repositioned, is dropped.
    pub fn offer(
        &mut self,
        batch: &mut Vec<StoredRecord>,
        bytes: &mut usize,
        record: StoredRecord,
        limits: &ReadLimits,
    ) -> bool {
        if self
            .position
            .is_some_and(|position| record.offset < position)
        {
            return true;
        }
        let size = record.value.len();
        if !batch.is_empty()
            && (batch.len() >= limits.max_records || *bytes + size > limits.max_bytes)
        {
            self.held = Some(record);
            return false;
        }
        self.position = Some(record.offset.next());
        *bytes += size;
        batch.push(record);
        batch.len() < limits.max_records && *bytes < limits.max_bytes
    }
}

/// A consumer of one partition.
pub(crate) struct PartitionReader {
    pub(crate) consumer: StreamConsumer,
    pub(crate) cursor: tokio::sync::Mutex<ReadCursor>,
}

impl PartitionReader {
    pub(crate) fn new(consumer: StreamConsumer) -> Self {
        Self {
            consumer,
            cursor: tokio::sync::Mutex::new(ReadCursor::default()),
        }
    }

    /// Assigns the consumer to `partition`, starting at `from`.
    pub(crate) fn position(
        &self,
        partition: &TopicPartition,
        from: Offset,
    ) -> Result<(), KafkaError> {
        let mut list = TopicPartitionList::new();
        let offset = i64::try_from(from.0).map_err(|_| {
            KafkaError::Seek(format!("offset {from} is beyond what Kafka can address"))
        })?;
        list.add_partition_offset(
            partition.topic.as_str(),
            partition_index(partition.partition),
            rdkafka::Offset::Offset(offset),
        )?;
        self.consumer.assign(&list)
    }
}

/// A partition number as librdkafka takes it.
pub(crate) fn partition_index(partition: u32) -> i32 {
    i32::try_from(partition).expect("Kafka partition numbers fit in an i32")
}

/// Copies a fetched message out of the consumer's buffer.
pub(crate) fn stored_record(message: &BorrowedMessage<'_>) -> StoredRecord {
    let headers = message
        .headers()
        .map(|headers| {
            headers
                .iter()
                .map(|header| Header {
                    name: header.key.to_owned(),
                    value: header.value.unwrap_or_default().to_vec(),
                })
                .collect()
        })
        .unwrap_or_default();
    StoredRecord {
        offset: Offset(u64::try_from(message.offset()).unwrap_or_default()),
        timestamp_ms: message.timestamp().to_millis().unwrap_or_default(),
        key: message.key().unwrap_or_default().to_vec(),
        value: message.payload().unwrap_or_default().to_vec(),
        headers,
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn record(offset: u64, bytes: usize) -> StoredRecord {
        StoredRecord {
            offset: Offset(offset),
            timestamp_ms: 0,
            key: Vec::new(),
            value: vec![b'x'; bytes],
            headers: Vec::new(),
        }
    }

    fn limits(max_records: usize, max_bytes: usize) -> ReadLimits {
        ReadLimits {
            max_records,
            max_bytes,
            max_wait: Duration::ZERO,
        }
    }

    #[test]
    fn a_sequential_read_continues_and_a_jump_repositions() {
        let mut cursor = ReadCursor::default();
        assert!(
            !cursor.continues(Offset(0)),
            "a new reader is positioned first"
        );

        cursor.positioned(Offset(10));
        let (mut batch, mut bytes) = (Vec::new(), 0);
        cursor.offer(&mut batch, &mut bytes, record(10, 1), &limits(10, 100));

        assert!(cursor.continues(Offset(11)));
        assert!(
            !cursor.continues(Offset(10)),
            "re-reading means seeking back"
        );
    }

    #[test]
    fn a_record_beyond_the_byte_limit_is_held_for_the_next_read() {
        let mut cursor = ReadCursor::default();
        cursor.positioned(Offset(0));
        let (mut batch, mut bytes) = (Vec::new(), 0);
        let limits = limits(10, 100);

        assert!(cursor.offer(&mut batch, &mut bytes, record(0, 60), &limits));
        assert!(!cursor.offer(&mut batch, &mut bytes, record(1, 60), &limits));

        assert_eq!(batch.len(), 1);
        assert!(cursor.continues(Offset(1)));
        assert_eq!(cursor.take_held().map(|held| held.offset), Some(Offset(1)));
        assert!(cursor.take_held().is_none());
    }

    #[test]
    fn one_record_is_returned_however_large() {
        let mut cursor = ReadCursor::default();
        cursor.positioned(Offset(0));
        let (mut batch, mut bytes) = (Vec::new(), 0);

        let more = cursor.offer(&mut batch, &mut bytes, record(0, 500), &limits(10, 100));

        assert!(!more);
        assert_eq!(batch.len(), 1);
        assert!(cursor.take_held().is_none());
    }

    #[test]
    fn the_record_limit_completes_a_batch() {
        let mut cursor = ReadCursor::default();
        cursor.positioned(Offset(0));
        let (mut batch, mut bytes) = (Vec::new(), 0);
        let limits = limits(2, 1000);

        assert!(cursor.offer(&mut batch, &mut bytes, record(0, 1), &limits));
        assert!(!cursor.offer(&mut batch, &mut bytes, record(1, 1), &limits));

        assert_eq!(batch.len(), 2);
        assert!(cursor.continues(Offset(2)));
    }

    #[test]
    fn a_record_fetched_before_a_reposition_is_dropped() {
        let mut cursor = ReadCursor::default();
        cursor.positioned(Offset(50));
        let (mut batch, mut bytes) = (Vec::new(), 0);

        assert!(cursor.offer(&mut batch, &mut bytes, record(12, 1), &limits(10, 100)));
        cursor.offer(&mut batch, &mut bytes, record(50, 1), &limits(10, 100));

        assert_eq!(
            batch.iter().map(|r| r.offset).collect::<Vec<_>>(),
            [Offset(50)]
        );
    }

    #[test]
    fn repositioning_drops_what_was_held() {
        let mut cursor = ReadCursor::default();
        cursor.positioned(Offset(0));
        let (mut batch, mut bytes) = (Vec::new(), 0);
        cursor.offer(&mut batch, &mut bytes, record(0, 90), &limits(10, 100));
        cursor.offer(&mut batch, &mut bytes, record(1, 90), &limits(10, 100));

        cursor.positioned(Offset(0));

        assert!(cursor.take_held().is_none());
    }
}

//! Dead letters: records the lake writer could not land as events, kept with their raw
//! payload, the reason and where they came from, so nothing is dropped silently and an
//! operator can fix and replay them.

use tenet_events::{Cell, DecodeError, EventFamily};
use tenet_lakehouse::LakeTable;
use tenet_lakehouse::deltalake::arrow::array::RecordBatch;

use crate::log::{StoredRecord, TopicPartition};
use crate::writer::batch::{BatchError, Value, build_batch};

const MILLIS_PER_DAY: i64 = 86_400_000;

/// A record that failed decoding or validation, with its source position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter {
    /// The payload as read from the log.
    pub payload: Vec<u8>,
    /// The record's key.
    pub key: Vec<u8>,
    /// A stable machine-readable error code (`malformed_json`, `wrong_topic`, ...).
    pub error_code: String,
    /// The human-readable error.
    pub error_message: String,
    /// The offending field's path, when there is one.
    pub error_field: Option<String>,
    /// Where the record was read from.
    pub source: TopicPartition,
    /// Its offset there.
    pub offset: u64,
    /// When the log stored it, in milliseconds since the Unix epoch.
    pub received_at_ms: i64,
}

impl DeadLetter {
    /// The dead letter of a record whose payload is not a valid event.
    pub fn undecodable(
        source: &TopicPartition,
        record: &StoredRecord,
        error: &DecodeError,
    ) -> Self {
        Self::new(
            source,
            record,
            error.code(),
            error.to_string(),
            error.field().map(str::to_owned),
        )
    }

    /// The dead letter of a valid event published to another family's topic.
    pub fn wrong_topic(source: &TopicPartition, record: &StoredRecord, found: EventFamily) -> Self {
        Self::new(
            source,
            record,
            "wrong_topic",
            format!(
                "a {found} event does not belong on topic `{}`",
                source.topic
            ),
            Some("type".to_owned()),
        )
    }

    fn new(
        source: &TopicPartition,
        record: &StoredRecord,
        code: &str,
        message: String,
        field: Option<String>,
    ) -> Self {
        Self {
            payload: record.value.clone(),
            key: record.key.clone(),
            error_code: code.to_owned(),
            error_message: message,
            error_field: field,
            source: source.clone(),
            offset: record.offset.0,
            received_at_ms: record.timestamp_ms,
        }
    }

    /// The values of this dead letter's row, in the dead-letter table's column order.
    fn values(&self) -> Vec<Value> {
        let text = |bytes: &[u8]| {
            std::str::from_utf8(bytes).map_or(Cell::Null, |text| Cell::Utf8(text.to_owned()))
        };
        let days = self.received_at_ms.div_euclid(MILLIS_PER_DAY);
        vec![
            Value::Binary(self.payload.clone()),
            text(&self.payload).into(),
            text(&self.key).into(),
            Cell::Utf8(self.error_code.clone()).into(),
            Cell::Utf8(self.error_message.clone()).into(),
            self.error_field
                .clone()
                .map_or(Cell::Null, Cell::Utf8)
                .into(),
            Cell::Utf8(self.source.topic.as_str().to_owned()).into(),
            Cell::Int32(i32::try_from(self.source.partition).unwrap_or(i32::MAX)).into(),
            Cell::Int64(i64::try_from(self.offset).unwrap_or(i64::MAX)).into(),
            Cell::TimestampMicros(self.received_at_ms.saturating_mul(1000)).into(),
            Cell::Date32(i32::try_from(days).unwrap_or(i32::MAX)).into(),
        ]
    }
}

/// The dead letters as one batch of the dead-letter table.
///
/// # Errors
///
/// [`BatchError`] only if the table definition and [`DeadLetter`] drift apart (a bug).
pub fn dead_letter_batch(letters: &[DeadLetter]) -> Result<RecordBatch, BatchError> {
    let rows: Vec<Vec<Value>> = letters.iter().map(DeadLetter::values).collect();
    build_batch(
        &LakeTable::DeadLetters.arrow_schema(),
        rows.iter().map(Vec::as_slice),
    )
}

#[cfg(test)]
mod tests {
    use tenet_lakehouse::deltalake::arrow::array::AsArray;
    use tenet_lakehouse::deltalake::arrow::datatypes::{Date32Type, Int64Type};

    use super::*;
    use crate::log::{Offset, TopicName};

    #[test]
    fn a_dead_letter_keeps_the_payload_the_error_and_the_source_position() {
        let source = TopicPartition::new(TopicName::parse("tenet.calls.v1").unwrap(), 2);
        let record = StoredRecord {
            offset: Offset(17),
            timestamp_ms: 86_400_000 + 5,
            key: b"tenant".to_vec(),
            value: b"{not json".to_vec(),
            headers: Vec::new(),
        };
        let error = tenet_events::Envelope::from_json(&record.value).unwrap_err();

        let batch =
            dead_letter_batch(&[DeadLetter::undecodable(&source, &record, &error)]).unwrap();

        let schema = batch.schema();
        let column = |name: &str| batch.column(schema.index_of(name).unwrap()).clone();
        assert_eq!(column("payload").as_binary::<i32>().value(0), b"{not json");
        assert_eq!(
            column("payload_text").as_string::<i32>().value(0),
            "{not json"
        );
        assert_eq!(
            column("error_code").as_string::<i32>().value(0),
            "malformed_json"
        );
        assert_eq!(
            column("source_offset").as_primitive::<Int64Type>().value(0),
            17
        );
        assert_eq!(
            column("event_date").as_primitive::<Date32Type>().value(0),
            1
        );
    }
}

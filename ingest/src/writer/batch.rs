//! Turning buffered rows into Arrow record batches for the Parquet files.

use std::sync::Arc;

use tenet_events::row::{CellSink, HeaderColumns};
use tenet_events::{Cell, Envelope};
use tenet_lakehouse::deltalake::arrow::array::{
    ArrayBuilder, ArrayRef, BinaryBuilder, BooleanBuilder, Date32Builder, Int16Builder,
    Int32Builder, Int64Builder, ListBuilder, RecordBatch, StringBuilder,
    TimestampMicrosecondBuilder, UInt32Array,
};
use tenet_lakehouse::deltalake::arrow::compute::take_record_batch;
use tenet_lakehouse::deltalake::arrow::datatypes::{DataType, FieldRef, SchemaRef, TimeUnit};
use tenet_lakehouse::deltalake::arrow::error::ArrowError;

/// A value for one column; [`Cell`] plus the binary payloads only dead letters have.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A value of the event contract.
    Cell(Cell),
    /// `Binary`.
    Binary(Vec<u8>),
}

impl From<Cell> for Value {
    fn from(cell: Cell) -> Self {
        Value::Cell(cell)
    }
}

/// Why rows could not be turned into a batch: a row that does not fit its schema, which is
/// a bug in the event contract rather than bad input.
#[derive(Debug, thiserror::Error)]
pub enum BatchError {
    /// A row has more or fewer values than the schema has columns.
    #[error("a row has {found} values for {expected} columns")]
    Width {
        /// Columns in the schema.
        expected: usize,
        /// Values in the row.
        found: usize,
    },
    /// A value does not fit its column.
    #[error("column `{column}` of type {data_type} cannot hold {value}")]
    Type {
        /// The column.
        column: String,
        /// Its type.
        data_type: DataType,
        /// The offending value.
        value: String,
    },
    /// Arrow refused the arrays.
    #[error(transparent)]
    Arrow(#[from] ArrowError),
}

/// The events a writer read since its last commit, already in Arrow builders.
///
/// Each event goes into the builders as it is decoded: its header straight from the typed
/// ids (no text made for them but the column's own), its payload as the cells of the family's
/// columns, with no row in between. The lake stores rows sorted by tenant, then by time, so
/// Parquet row-group statistics prune a tenant's scan; the buffer keeps each event's
/// (tenant, time) key and puts the batch in that order once, when it is taken.
pub struct EventBuffer {
    schema: SchemaRef,
    header: HeaderBuilders,
    payload: Vec<ColumnBuilder>,
    keys: Vec<(u128, i64)>,
    error: Option<BatchError>,
}

impl std::fmt::Debug for EventBuffer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventBuffer")
            .field("events", &self.keys.len())
            .finish_non_exhaustive()
    }
}

/// The columns of the header every event table starts with (see [`HeaderColumns`]).
const HEADER_COLUMNS: usize = 6;

struct HeaderBuilders {
    event_id: StringBuilder,
    tenant_id: StringBuilder,
    event_type: StringBuilder,
    schema_version: Int32Builder,
    occurred_at: TimestampMicrosecondBuilder,
    event_date: Date32Builder,
}

impl HeaderBuilders {
    fn new() -> Self {
        Self {
            event_id: StringBuilder::new(),
            tenant_id: StringBuilder::new(),
            event_type: StringBuilder::new(),
            schema_version: Int32Builder::new(),
            occurred_at: TimestampMicrosecondBuilder::new().with_timezone("UTC"),
            event_date: Date32Builder::new(),
        }
    }

    fn push(&mut self, envelope: &Envelope) {
        // Ids write their text form (as `to_string` would) into the column's buffer.
        write_text(&mut self.event_id, &envelope.event_id);
        write_text(&mut self.tenant_id, &envelope.tenant_id);
        let event_type = envelope.event_type();
        self.event_type.append_value(event_type.as_str());
        self.schema_version
            .append_value(event_type.schema_version().into());
        self.occurred_at
            .append_value(envelope.occurred_at.unix_micros());
        self.event_date
            .append_value(envelope.occurred_at.unix_days());
    }

    fn finish(&mut self) -> [ArrayRef; HEADER_COLUMNS] {
        [
            Arc::new(self.event_id.finish()),
            Arc::new(self.tenant_id.finish()),
            Arc::new(self.event_type.finish()),
            Arc::new(self.schema_version.finish()),
            Arc::new(self.occurred_at.finish()),
            Arc::new(self.event_date.finish()),
        ]
    }
}

fn write_text(builder: &mut StringBuilder, value: &impl std::fmt::Display) {
    use std::fmt::Write as _;
    // Writing into a string builder cannot fail; the value ends at `append_value`.
    let _ = write!(builder, "{value}");
    builder.append_value("");
}

/// The payload builders of one event, taking its cells in column order.
struct PayloadSink<'a> {
    builders: &'a mut [ColumnBuilder],
    fields: &'a [FieldRef],
    next: usize,
    error: &'a mut Option<BatchError>,
}

impl CellSink for PayloadSink<'_> {
    fn push_cell(&mut self, cell: Cell) {
        let pushed = match (self.builders.get_mut(self.next), self.fields.get(self.next)) {
            (Some(builder), Some(field)) => builder.push(field, ValueRef::Cell(&cell)),
            _ => Err(BatchError::Width {
                expected: HEADER_COLUMNS + self.fields.len(),
                found: HEADER_COLUMNS + self.next + 1,
            }),
        };
        if let Err(error) = pushed {
            self.error.get_or_insert(error);
        }
        self.next += 1;
    }
}

impl EventBuffer {
    /// An empty buffer for the table of `schema`, an event family's.
    ///
    /// # Errors
    ///
    /// [`BatchError::Type`] when the schema does not start with the event header or has a
    /// column type the writer cannot build.
    pub fn new(schema: SchemaRef) -> Result<Self, BatchError> {
        let header = HeaderColumns::fields();
        debug_assert_eq!(header.len(), HEADER_COLUMNS);
        for (index, expected) in header.iter().enumerate() {
            match schema.fields().get(index) {
                Some(field) if field.as_ref() == expected => {}
                found => {
                    return Err(BatchError::Type {
                        column: expected.name().clone(),
                        data_type: expected.data_type().clone(),
                        value: format!("the column at its place: {found:?}"),
                    });
                }
            }
        }
        let payload = schema.fields()[HEADER_COLUMNS..]
            .iter()
            .map(|field| ColumnBuilder::new(field, 0))
            .collect::<Result<_, _>>()?;
        Ok(Self {
            schema,
            header: HeaderBuilders::new(),
            payload,
            keys: Vec::new(),
            error: None,
        })
    }

    /// The events buffered.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether no event is buffered.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Appends `envelope`, an event of the buffer's family. A value that does not fit its
    /// column (a defect of the event contract, not of the input) is reported by
    /// [`EventBuffer::take_batch`].
    pub fn push(&mut self, envelope: Envelope) {
        self.keys.push((
            envelope.tenant_id.as_uuid().as_u128(),
            envelope.occurred_at.unix_micros(),
        ));
        self.header.push(&envelope);
        let fields = &self.schema.fields()[HEADER_COLUMNS..];
        let mut sink = PayloadSink {
            builders: &mut self.payload,
            fields,
            next: 0,
            error: &mut self.error,
        };
        envelope.event.push_cells(&mut sink);
        let pushed = sink.next;
        if pushed != fields.len() && self.error.is_none() {
            self.error = Some(BatchError::Width {
                expected: HEADER_COLUMNS + fields.len(),
                found: HEADER_COLUMNS + pushed,
            });
        }
    }

    /// Drops every buffered event (and a value that did not fit), leaving the buffer empty.
    pub fn clear(&mut self) {
        self.header.finish();
        self.payload.iter_mut().for_each(|builder| {
            builder.finish();
        });
        self.keys.clear();
        self.error = None;
    }

    /// The buffered events as one batch sorted by tenant, then by time (events with the same
    /// key stay in the order they were read), leaving the buffer empty. `None` when it was.
    ///
    /// # Errors
    ///
    /// [`BatchError`] when an event did not fit the schema; the buffer must then be dropped.
    pub fn take_batch(&mut self) -> Result<Option<RecordBatch>, BatchError> {
        if let Some(error) = self.error.take() {
            return Err(error);
        }
        if self.keys.is_empty() {
            return Ok(None);
        }
        let mut columns: Vec<ArrayRef> = self.header.finish().into();
        columns.extend(self.payload.iter_mut().map(ColumnBuilder::finish));
        let batch = RecordBatch::try_new(self.schema.clone(), columns)?;
        // Tenant ids are written lower-case at fixed places, so their text sorts as their bits;
        // the row number breaks ties in the order the events were read.
        let mut keyed: Vec<(u128, i64, u32)> = self
            .keys
            .drain(..)
            .zip(0..)
            .map(|((tenant, at), row)| (tenant, at, row))
            .collect();
        if keyed.is_sorted() {
            return Ok(Some(batch));
        }
        keyed.sort_unstable();
        let order: UInt32Array = keyed.into_iter().map(|(_, _, row)| row).collect();
        Ok(Some(take_record_batch(&batch, &order)?))
    }
}

/// Builds a record batch of `schema` from rows of values in column order.
///
/// # Errors
///
/// [`BatchError`] when a row does not fit the schema.
pub fn build_batch<'a, I, V>(schema: &SchemaRef, rows: I) -> Result<RecordBatch, BatchError>
where
    I: IntoIterator<Item = &'a [V]>,
    V: AsValue + 'a,
{
    let rows = rows.into_iter();
    let capacity = rows.size_hint().0;
    let mut builders: Vec<ColumnBuilder> = schema
        .fields()
        .iter()
        .map(|field| ColumnBuilder::new(field, capacity))
        .collect::<Result<_, _>>()?;
    for values in rows {
        if values.len() != builders.len() {
            return Err(BatchError::Width {
                expected: builders.len(),
                found: values.len(),
            });
        }
        for ((builder, field), value) in builders.iter_mut().zip(schema.fields()).zip(values) {
            builder.push(field, value.as_value())?;
        }
    }
    let columns: Vec<ArrayRef> = builders.iter_mut().map(ColumnBuilder::finish).collect();
    Ok(RecordBatch::try_new(schema.clone(), columns)?)
}

/// A borrowed view of a value, so rows of [`Cell`]s and of [`Value`]s build alike.
pub enum ValueRef<'a> {
    /// A contract value.
    Cell(&'a Cell),
    /// Binary.
    Binary(&'a [u8]),
}

/// Something that can be stored in a column.
pub trait AsValue {
    /// The value, borrowed.
    fn as_value(&self) -> ValueRef<'_>;
}

impl AsValue for Cell {
    fn as_value(&self) -> ValueRef<'_> {
        ValueRef::Cell(self)
    }
}

impl AsValue for Value {
    fn as_value(&self) -> ValueRef<'_> {
        match self {
            Value::Cell(cell) => ValueRef::Cell(cell),
            Value::Binary(bytes) => ValueRef::Binary(bytes),
        }
    }
}

enum ColumnBuilder {
    Boolean(BooleanBuilder),
    Int16(Int16Builder),
    Int32(Int32Builder),
    Int64(Int64Builder),
    Utf8(StringBuilder),
    Binary(BinaryBuilder),
    TimestampMicros(TimestampMicrosecondBuilder),
    Date32(Date32Builder),
    Utf8List(ListBuilder<StringBuilder>),
}

impl ColumnBuilder {
    fn new(field: &FieldRef, capacity: usize) -> Result<Self, BatchError> {
        Ok(match field.data_type() {
            DataType::Boolean => Self::Boolean(BooleanBuilder::with_capacity(capacity)),
            DataType::Int16 => Self::Int16(Int16Builder::with_capacity(capacity)),
            DataType::Int32 => Self::Int32(Int32Builder::with_capacity(capacity)),
            DataType::Int64 => Self::Int64(Int64Builder::with_capacity(capacity)),
            DataType::Utf8 => Self::Utf8(StringBuilder::with_capacity(capacity, capacity * 16)),
            DataType::Binary => Self::Binary(BinaryBuilder::with_capacity(capacity, capacity * 64)),
            DataType::Timestamp(TimeUnit::Microsecond, timezone) => Self::TimestampMicros(
                TimestampMicrosecondBuilder::with_capacity(capacity)
                    .with_timezone_opt(timezone.clone()),
            ),
            DataType::Date32 => Self::Date32(Date32Builder::with_capacity(capacity)),
            DataType::List(element) if element.data_type() == &DataType::Utf8 => Self::Utf8List(
                ListBuilder::with_capacity(StringBuilder::new(), capacity)
                    .with_field(element.clone()),
            ),
            other => {
                return Err(BatchError::Type {
                    column: field.name().clone(),
                    data_type: other.clone(),
                    value: "any value (unsupported column type)".to_owned(),
                });
            }
        })
    }

    fn push(&mut self, field: &FieldRef, value: ValueRef<'_>) -> Result<(), BatchError> {
        let mismatch = |value: String| BatchError::Type {
            column: field.name().clone(),
            data_type: field.data_type().clone(),
            value,
        };
        if matches!(value, ValueRef::Cell(Cell::Null)) && !field.is_nullable() {
            return Err(mismatch("null".to_owned()));
        }
        match (self, value) {
            (Self::Boolean(b), ValueRef::Cell(Cell::Boolean(v))) => b.append_value(*v),
            (Self::Int16(b), ValueRef::Cell(Cell::Int16(v))) => b.append_value(*v),
            (Self::Int32(b), ValueRef::Cell(Cell::Int32(v))) => b.append_value(*v),
            (Self::Int64(b), ValueRef::Cell(Cell::Int64(v))) => b.append_value(*v),
            (Self::Utf8(b), ValueRef::Cell(Cell::Utf8(v))) => b.append_value(v),
            (Self::Binary(b), ValueRef::Binary(v)) => b.append_value(v),
            (Self::TimestampMicros(b), ValueRef::Cell(Cell::TimestampMicros(v))) => {
                b.append_value(*v)
            }
            (Self::Date32(b), ValueRef::Cell(Cell::Date32(v))) => b.append_value(*v),
            (Self::Utf8List(b), ValueRef::Cell(Cell::Utf8List(v))) => {
                for item in v {
                    b.values().append_value(item);
                }
                b.append(true);
            }
            (builder, ValueRef::Cell(Cell::Null)) => builder.append_null(),
            (_, ValueRef::Cell(cell)) => return Err(mismatch(format!("{cell:?}"))),
            (_, ValueRef::Binary(bytes)) => {
                return Err(mismatch(format!("{} binary bytes", bytes.len())));
            }
        }
        Ok(())
    }

    fn append_null(&mut self) {
        match self {
            Self::Boolean(b) => b.append_null(),
            Self::Int16(b) => b.append_null(),
            Self::Int32(b) => b.append_null(),
            Self::Int64(b) => b.append_null(),
            Self::Utf8(b) => b.append_null(),
            Self::Binary(b) => b.append_null(),
            Self::TimestampMicros(b) => b.append_null(),
            Self::Date32(b) => b.append_null(),
            Self::Utf8List(b) => b.append(false),
        }
    }

    fn finish(&mut self) -> ArrayRef {
        match self {
            Self::Boolean(b) => Arc::new(b.finish()),
            Self::Int16(b) => Arc::new(b.finish()),
            Self::Int32(b) => Arc::new(b.finish()),
            Self::Int64(b) => Arc::new(b.finish()),
            Self::Utf8(b) => Arc::new(b.finish()),
            Self::Binary(b) => Arc::new(b.finish()),
            Self::TimestampMicros(b) => Arc::new(b.finish()),
            Self::Date32(b) => Arc::new(b.finish()),
            Self::Utf8List(b) => ArrayBuilder::finish(b),
        }
    }
}

#[cfg(test)]
mod tests {
    use tenet_events::{EventFamily, EventId, Row, TenantId};
    use tenet_lakehouse::deltalake::arrow::array::{Array, AsArray};
    use tenet_lakehouse::deltalake::arrow::datatypes::{Field, Int64Type, Schema};

    use super::*;

    fn schema() -> SchemaRef {
        Arc::new(Schema::new(vec![
            Field::new("tenant_id", DataType::Utf8, false),
            Field::new(
                "occurred_at",
                DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
                false,
            ),
            Field::new("wait", DataType::Int64, true),
            Field::new(
                "tags",
                DataType::List(Arc::new(Field::new("element", DataType::Utf8, false))),
                true,
            ),
        ]))
    }

    fn row(tenant: &str, at: i64, wait: Option<i64>) -> Vec<Cell> {
        vec![
            Cell::Utf8(tenant.to_owned()),
            Cell::TimestampMicros(at),
            wait.map_or(Cell::Null, Cell::Int64),
            Cell::Utf8List(vec!["a".to_owned()]),
        ]
    }

    /// Every documented event of `family`, many times over: under 40 tenants made in one
    /// millisecond (they share their leading digits and differ further on), at times that
    /// repeat, so the sort's ties and its tenant order both matter.
    fn documented_events(family: EventFamily) -> Vec<Envelope> {
        let tenants: Vec<TenantId> = (0..40).map(|_| TenantId::generate()).collect();
        let examples: Vec<serde_json::Value> = include_str!("../../../docs/events.md")
            .split("```json\n")
            .skip(1)
            .map(|rest| serde_json::from_str(rest.split("\n```").next().unwrap()).unwrap())
            .filter(|example: &serde_json::Value| {
                Envelope::from_json(example.to_string().as_bytes())
                    .unwrap()
                    .family()
                    == family
            })
            .collect();
        assert!(!examples.is_empty(), "{family:?} has documented events");
        (0..300_usize)
            .map(|n| {
                let mut event = examples[n % examples.len()].clone();
                event["event_id"] = EventId::generate().to_string().into();
                event["tenant_id"] = tenants[(n * 17) % tenants.len()].to_string().into();
                event["occurred_at"] =
                    format!("2026-04-12T09:{:02}:{:02}Z", (n * 7) % 60, (n * 13) % 5).into();
                Envelope::from_json(event.to_string().as_bytes()).unwrap()
            })
            .collect()
    }

    #[test]
    fn buffered_events_equal_their_rows_sorted_by_tenant_text_then_time() {
        for family in EventFamily::ALL {
            let events = documented_events(family);
            let schema = family.arrow_schema();
            let mut rows: Vec<Row> = events.iter().map(Envelope::to_row).collect();
            let (tenant, time) = (
                schema.index_of("tenant_id").unwrap(),
                schema.index_of("occurred_at").unwrap(),
            );
            // The order the lake promises, by the ids' text: a stable sort keeps ties in the
            // order the events were read.
            rows.sort_by_key(|row| match (&row.cells()[tenant], &row.cells()[time]) {
                (Cell::Utf8(tenant), Cell::TimestampMicros(at)) => (tenant.clone(), *at),
                other => panic!("{other:?}"),
            });
            let expected = build_batch(&schema, rows.iter().map(Row::cells)).unwrap();

            let mut buffer = EventBuffer::new(schema.clone()).unwrap();
            for event in events {
                buffer.push(event);
            }
            assert_eq!(buffer.len(), 300);
            let batch = buffer.take_batch().unwrap().unwrap();

            assert_eq!(batch, expected, "{family:?}");
            assert!(buffer.is_empty());
            assert!(buffer.take_batch().unwrap().is_none());
        }
    }

    #[test]
    fn a_buffer_refuses_a_schema_without_the_event_header() {
        let error = EventBuffer::new(schema()).unwrap_err();
        assert!(matches!(error, BatchError::Type { ref column, .. } if column == "event_id"));
    }

    #[test]
    fn rows_become_columns_with_nulls_where_a_field_is_absent() {
        let rows = [row("t1", 1, Some(30)), row("t2", 2, None)];

        let batch = build_batch(&schema(), rows.iter().map(Vec::as_slice)).unwrap();

        assert_eq!(batch.num_rows(), 2);
        let wait = batch.column(2).as_primitive::<Int64Type>();
        assert_eq!(wait.value(0), 30);
        assert!(wait.is_null(1));
        assert_eq!(batch.column(3).as_list::<i32>().value(0).len(), 1);
    }

    #[test]
    fn a_null_in_a_required_column_is_refused() {
        let rows = [vec![
            Cell::Null,
            Cell::TimestampMicros(1),
            Cell::Null,
            Cell::Null,
        ]];
        let error = build_batch(&schema(), rows.iter().map(Vec::as_slice)).unwrap_err();
        assert!(matches!(error, BatchError::Type { ref column, .. } if column == "tenant_id"));
    }

    #[test]
    fn a_value_of_the_wrong_type_is_refused() {
        let rows = [vec![
            Cell::Utf8("t".into()),
            Cell::Int64(1),
            Cell::Null,
            Cell::Null,
        ]];
        assert!(build_batch(&schema(), rows.iter().map(Vec::as_slice)).is_err());
    }

    #[test]
    fn binary_values_fill_binary_columns() {
        let schema = Arc::new(Schema::new(vec![Field::new(
            "payload",
            DataType::Binary,
            false,
        )]));
        let rows = [vec![Value::Binary(b"{oops".to_vec())]];
        let batch = build_batch(&schema, rows.iter().map(Vec::as_slice)).unwrap();
        assert_eq!(batch.column(0).as_binary::<i32>().value(0), b"{oops");
    }
}

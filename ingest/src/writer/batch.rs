//! Turning buffered rows into Arrow record batches for the Parquet files.

use std::sync::Arc;

use tenet_events::{Cell, Row, TenantId};
use tenet_lakehouse::deltalake::arrow::array::{
    ArrayBuilder, ArrayRef, BinaryBuilder, BooleanBuilder, Date32Builder, Int16Builder,
    Int32Builder, Int64Builder, ListBuilder, RecordBatch, StringBuilder,
    TimestampMicrosecondBuilder,
};
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

/// Sorts event rows the way the lake stores them: by tenant, then by time, so Parquet
/// row-group statistics prune a tenant's scan.
///
/// # Panics
///
/// When the schema has no `tenant_id` or `occurred_at` column (every event table has both).
pub fn sort_by_tenant(schema: &SchemaRef, rows: &mut [Row]) {
    let tenant = schema
        .index_of("tenant_id")
        .expect("event tables have tenant_id");
    let time = schema
        .index_of("occurred_at")
        .expect("event tables have occurred_at");
    // Each row's key is computed once, not at every comparison.
    rows.sort_by_cached_key(|row| {
        let time = match &row.cells()[time] {
            Cell::TimestampMicros(micros) => *micros,
            _ => i64::MIN,
        };
        (TenantKey::of(&row.cells()[tenant]), time)
    });
}

/// A tenant id as it sorts: the id's text orders as its 128 bits do (lower-case hex digits at
/// fixed places), so the bits stand in for it; text that is no id sorts after every id.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
enum TenantKey {
    Id(u128),
    Text(String),
    Missing,
}

impl TenantKey {
    fn of(cell: &Cell) -> Self {
        match cell {
            // Rows carry ids as `TenantId` writes them: lower-case and hyphenated.
            Cell::Utf8(text) => match text.parse::<TenantId>() {
                Ok(id) => Self::Id(id.as_uuid().as_u128()),
                Err(_) => Self::Text(text.clone()),
            },
            _ => Self::Missing,
        }
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
    let columns: Vec<ArrayRef> = builders.into_iter().map(ColumnBuilder::finish).collect();
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

    fn finish(self) -> ArrayRef {
        match self {
            Self::Boolean(mut b) => Arc::new(b.finish()),
            Self::Int16(mut b) => Arc::new(b.finish()),
            Self::Int32(mut b) => Arc::new(b.finish()),
            Self::Int64(mut b) => Arc::new(b.finish()),
            Self::Utf8(mut b) => Arc::new(b.finish()),
            Self::Binary(mut b) => Arc::new(b.finish()),
            Self::TimestampMicros(mut b) => Arc::new(b.finish()),
            Self::Date32(mut b) => Arc::new(b.finish()),
            Self::Utf8List(mut b) => ArrayBuilder::finish(&mut b),
        }
    }
}

#[cfg(test)]
mod tests {
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

    #[test]
    fn event_rows_sort_by_the_text_of_their_tenant_then_by_time() {
        use tenet_events::calls::CallHeld;
        use tenet_events::ids::{AgentId, CallId};
        use tenet_events::{Envelope, EventFamily, OccurredAt};

        // Ids made in one millisecond share their leading digits and differ further on.
        let tenants: Vec<TenantId> = (0..40).map(|_| TenantId::generate()).collect();
        let mut rows: Vec<Row> = (0..400_usize)
            .map(|n| {
                let at = format!("2026-04-12T09:{:02}:{:02}Z", (n * 7) % 60, (n * 13) % 60);
                Envelope::new(
                    tenants[(n * 17) % tenants.len()],
                    OccurredAt::parse(&at).unwrap(),
                    CallHeld {
                        call_id: CallId::parse(format!("1712945010.{n}")).unwrap(),
                        agent_id: AgentId::parse("1001").unwrap(),
                    },
                )
                .to_row()
            })
            .collect();
        let schema = EventFamily::Calls.arrow_schema();
        let (tenant, time) = (
            schema.index_of("tenant_id").unwrap(),
            schema.index_of("occurred_at").unwrap(),
        );
        let key = |row: &Row| match (&row.cells()[tenant], &row.cells()[time]) {
            (Cell::Utf8(tenant), Cell::TimestampMicros(at)) => (tenant.clone(), *at),
            other => panic!("{other:?}"),
        };
        let mut expected: Vec<(String, i64)> = rows.iter().map(key).collect();
        expected.sort();

        sort_by_tenant(&schema, &mut rows);

        assert_eq!(rows.iter().map(key).collect::<Vec<_>>(), expected);
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

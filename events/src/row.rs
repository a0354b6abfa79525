//! Flattening events into rows of their family's lake table.
//!
//! Each [`EventFamily`] lands in one Delta table whose columns are the common header (who,
//! what, when) followed by the union of the family's event fields; a field an event type does
//! not have is null. The Arrow schema and the row are generated from one declaration per
//! family (the `columns!` macro below), so a column's name, type, nullability and position
//! cannot drift apart. Only types Delta Lake supports are used: strings, signed integers,
//! booleans, `timestamp` (microseconds, UTC), `date` and arrays of strings.
//!
//! The lake writer builds Arrow arrays from [`Row::cells`], which are in schema order.

use std::sync::{Arc, LazyLock};

use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};

use crate::EventFamily;

/// The name of the partition column of every event table: the UTC date of `occurred_at`.
pub const PARTITION_COLUMN: &str = "event_date";

/// The name of an array column's element field, as the Delta protocol's Arrow mapping names it.
pub const LIST_ELEMENT: &str = "element";

/// One value of a row, typed as its column.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// A null in a nullable column.
    Null,
    /// `Boolean`.
    Boolean(bool),
    /// `Int16`.
    Int16(i16),
    /// `Int32`.
    Int32(i32),
    /// `Int64`.
    Int64(i64),
    /// `Utf8`.
    Utf8(String),
    /// `Timestamp(Microsecond, "UTC")`: microseconds since the Unix epoch.
    TimestampMicros(i64),
    /// `Date32`: days since the Unix epoch.
    Date32(i32),
    /// `List<Utf8>` with non-null elements.
    Utf8List(Vec<String>),
}

impl Cell {
    /// Whether this value may be stored in a column of `data_type` with `nullable`.
    pub fn fits(&self, data_type: &DataType, nullable: bool) -> bool {
        match (self, data_type) {
            (Cell::Null, _) => nullable,
            (Cell::Boolean(_), DataType::Boolean)
            | (Cell::Int16(_), DataType::Int16)
            | (Cell::Int32(_), DataType::Int32)
            | (Cell::Int64(_), DataType::Int64)
            | (Cell::Utf8(_), DataType::Utf8)
            | (Cell::Date32(_), DataType::Date32) => true,
            (Cell::TimestampMicros(_), DataType::Timestamp(TimeUnit::Microsecond, Some(tz))) => {
                tz.as_ref() == "UTC"
            }
            (Cell::Utf8List(_), DataType::List(element)) => element.data_type() == &DataType::Utf8,
            _ => false,
        }
    }
}

/// Microseconds since the Unix epoch, stored as a UTC timestamp column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TimestampMicros(pub i64);

/// Days since the Unix epoch, stored as a date column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Date32(pub i32);

/// A Rust type that maps to one lake column type.
pub trait ColumnValue {
    /// Whether the column admits nulls.
    const NULLABLE: bool;
    /// The column's Arrow type.
    fn data_type() -> DataType;
    /// The value as a [`Cell`].
    fn into_cell(self) -> Cell;
}

macro_rules! column_value {
    ($ty:ty, $data_type:expr, $cell:ident) => {
        impl ColumnValue for $ty {
            const NULLABLE: bool = false;
            fn data_type() -> DataType {
                $data_type
            }
            fn into_cell(self) -> Cell {
                Cell::$cell(self)
            }
        }
    };
}

column_value!(bool, DataType::Boolean, Boolean);
column_value!(i16, DataType::Int16, Int16);
column_value!(i32, DataType::Int32, Int32);
column_value!(i64, DataType::Int64, Int64);
column_value!(String, DataType::Utf8, Utf8);
column_value!(
    Vec<String>,
    DataType::List(Arc::new(Field::new(LIST_ELEMENT, DataType::Utf8, false))),
    Utf8List
);

impl ColumnValue for TimestampMicros {
    const NULLABLE: bool = false;
    fn data_type() -> DataType {
        DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
    }
    fn into_cell(self) -> Cell {
        Cell::TimestampMicros(self.0)
    }
}

impl ColumnValue for Date32 {
    const NULLABLE: bool = false;
    fn data_type() -> DataType {
        DataType::Date32
    }
    fn into_cell(self) -> Cell {
        Cell::Date32(self.0)
    }
}

impl<T: ColumnValue> ColumnValue for Option<T> {
    const NULLABLE: bool = true;
    fn data_type() -> DataType {
        T::data_type()
    }
    fn into_cell(self) -> Cell {
        self.map_or(Cell::Null, T::into_cell)
    }
}

/// Where a row's values go, one after the other in schema order: a `Vec<Cell>` for a
/// [`Row`], or the lake writer's column builders, which take each value without a row
/// between them.
pub trait CellSink {
    /// Takes the next value.
    fn push_cell(&mut self, cell: Cell);
}

impl CellSink for Vec<Cell> {
    fn push_cell(&mut self, cell: Cell) {
        self.push(cell);
    }
}

/// Declares a struct whose fields are lake columns, with `fields()` giving their Arrow fields
/// and `push_cells()` their values, both in declaration order.
macro_rules! columns {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $( $(#[$field_meta:meta])* pub $field:ident : $ty:ty, )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Default)]
        pub struct $name {
            $( $(#[$field_meta])* pub $field: $ty, )*
        }

        impl $name {
            /// The Arrow fields of these columns, in row order.
            pub fn fields() -> Vec<::arrow_schema::Field> {
                vec![$(
                    ::arrow_schema::Field::new(
                        stringify!($field),
                        <$ty as $crate::row::ColumnValue>::data_type(),
                        <$ty as $crate::row::ColumnValue>::NULLABLE,
                    ),
                )*]
            }

            /// Hands the values of these columns to `cells`, in row order.
            pub fn push_cells(self, cells: &mut impl $crate::row::CellSink) {
                $( cells.push_cell($crate::row::ColumnValue::into_cell(self.$field)); )*
            }
        }
    };
}
pub(crate) use columns;

columns! {
    /// The columns every event table starts with.
    pub struct HeaderColumns {
        /// The event id (UUID v7, text), the key the lake deduplicates on.
        pub event_id: String,
        /// The tenant (UUID, text); files are clustered by it.
        pub tenant_id: String,
        /// The event type, e.g. `call.ended`.
        pub event_type: String,
        /// The schema version the row was written with.
        pub schema_version: i32,
        /// When the event happened.
        pub occurred_at: TimestampMicros,
        /// The UTC date of `occurred_at`: the partition column.
        pub event_date: Date32,
    }
}

/// One event flattened for its family's table: the values in schema order.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    family: EventFamily,
    cells: Vec<Cell>,
}

impl Row {
    pub(crate) fn new(family: EventFamily, cells: Vec<Cell>) -> Self {
        Self { family, cells }
    }

    /// The family whose table this row belongs to.
    pub fn family(&self) -> EventFamily {
        self.family
    }

    /// The values, one per column of [`EventFamily::arrow_schema`], in order.
    pub fn cells(&self) -> &[Cell] {
        &self.cells
    }

    /// Takes the values out.
    pub fn into_cells(self) -> Vec<Cell> {
        self.cells
    }

    /// The value of the named column, if the family's table has one by that name.
    pub fn get(&self, column: &str) -> Option<&Cell> {
        let index = self.family.arrow_schema().index_of(column).ok()?;
        self.cells.get(index)
    }
}

pub(crate) fn family_schema(fields: Vec<Field>) -> SchemaRef {
    let mut all = HeaderColumns::fields();
    all.extend(fields);
    Arc::new(Schema::new(all))
}

pub(crate) type LazySchema = LazyLock<SchemaRef>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_columns_lead_with_the_dedup_key_and_end_with_the_partition() {
        let fields = HeaderColumns::fields();
        assert_eq!(fields[0].name(), "event_id");
        assert_eq!(fields.last().unwrap().name(), PARTITION_COLUMN);
        assert!(fields.iter().all(|field| !field.is_nullable()));
    }

    #[test]
    fn null_fits_only_nullable_columns() {
        assert!(Cell::Null.fits(&DataType::Utf8, true));
        assert!(!Cell::Null.fits(&DataType::Utf8, false));
        assert!(!Cell::Int32(1).fits(&DataType::Int64, false));
        assert!(Cell::TimestampMicros(0).fits(&TimestampMicros::data_type(), false));
    }
}

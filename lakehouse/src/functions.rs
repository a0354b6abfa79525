//! Aggregate functions of the lake's sessions beyond DataFusion's own.
//!
//! `arg_min(value, key)` and `arg_max(value, key)` (also spelled `min_by` and `max_by`) give,
//! per group, `value` on the row with the least (greatest) `key`: a call's queue on its first
//! event, its outcome on its last. DataFusion's `first_value(value order by key)` answers the
//! same, but keeps every group's ordering as a vector of scalar values; with the hundreds of
//! thousands of calls of a month, that bookkeeping was most of a report's time. Here a
//! group's key is one `i64`, numbers are kept in plain vectors and text end to end in one
//! buffer.
//!
//! - The key is an integer, date, time or timestamp; rows whose key is null are skipped.
//! - The value may be of any type, and null: a null on the winning row is the answer. Text
//!   and fixed-width values, and structs of them, take the fast path above; others (booleans,
//!   lists, …) are kept as scalar values per group.
//! - Several values of one row are won together as one struct,
//!   `arg_max(named_struct('outcome', outcome, 'wait', wait_seconds), occurred_at)`: the key
//!   is compared once a row for all of them, instead of once a value with an `arg_max` each.
//! - Among rows with the same key, the first one seen wins. Every `arg_min`/`arg_max` of one
//!   aggregation sees the rows in the same order, so those with the same key and filter take
//!   their values from the same row.

use std::fmt::Debug;
use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayAccessor, ArrayRef, ArrowPrimitiveType, AsArray as _, BooleanArray, Int64Array,
    LargeStringArray, StringArray, StringViewArray, StructArray,
};
use datafusion::arrow::buffer::NullBuffer;
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{
    DataType, Date32Type, Date64Type, Field, FieldRef, Fields, Float32Type, Float64Type, Int8Type,
    Int16Type, Int32Type, Int64Type, TimeUnit, TimestampMicrosecondType, TimestampMillisecondType,
    TimestampNanosecondType, TimestampSecondType, UInt8Type, UInt16Type, UInt32Type, UInt64Type,
};
use datafusion::common::{DataFusionError, Result, ScalarValue, internal_err, plan_err};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::utils::{AggregateOrderSensitivity, format_state_name};
use datafusion::logical_expr::{
    Accumulator, AggregateUDF, AggregateUDFImpl, EmitTo, GroupsAccumulator, Signature, Volatility,
};
use datafusion::prelude::SessionContext;

/// Registers `arg_min` and `arg_max` in `ctx`.
pub(crate) fn register(ctx: &SessionContext) {
    ctx.register_udaf(arg_min());
    ctx.register_udaf(arg_max());
}

/// `arg_min(value, key)`: `value` on the row with the least `key`.
pub fn arg_min() -> AggregateUDF {
    AggregateUDF::from(ArgExtreme::new(Extreme::Least))
}

/// `arg_max(value, key)`: `value` on the row with the greatest `key`.
pub fn arg_max() -> AggregateUDF {
    AggregateUDF::from(ArgExtreme::new(Extreme::Greatest))
}

/// Which row of a group gives the value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Extreme {
    Least,
    Greatest,
}

impl Extreme {
    /// Whether `key` replaces the group's current `best`.
    fn beats(self, key: i64, best: Option<i64>) -> bool {
        match (self, best) {
            (_, None) => true,
            (Self::Least, Some(best)) => key < best,
            (Self::Greatest, Some(best)) => key > best,
        }
    }
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct ArgExtreme {
    extreme: Extreme,
    signature: Signature,
    aliases: Vec<String>,
}

impl ArgExtreme {
    fn new(extreme: Extreme) -> Self {
        let alias = match extreme {
            Extreme::Least => "min_by",
            Extreme::Greatest => "max_by",
        };
        Self {
            extreme,
            signature: Signature::any(2, Volatility::Immutable),
            aliases: vec![alias.to_owned()],
        }
    }
}

impl AggregateUDFImpl for ArgExtreme {
    fn name(&self) -> &str {
        match self.extreme {
            Extreme::Least => "arg_min",
            Extreme::Greatest => "arg_max",
        }
    }

    fn aliases(&self) -> &[String] {
        &self.aliases
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        let [value, key] = arg_types else {
            return plan_err!("{} takes two arguments: a value and a key", self.name());
        };
        if !is_key_type(key) {
            return plan_err!(
                "{}: the key (second argument) orders the rows and must be an integer, date, \
                 time or timestamp, not {key}",
                self.name()
            );
        }
        Ok(value.clone())
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        Ok(vec![
            Arc::new(Field::new(
                format_state_name(args.name, "value"),
                args.return_type().clone(),
                true,
            )),
            Arc::new(Field::new(
                format_state_name(args.name, "key"),
                DataType::Int64,
                true,
            )),
        ])
    }

    fn accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        Ok(Box::new(ArgRow {
            extreme: self.extreme,
            data_type: args.return_field.data_type().clone(),
            best: None,
        }))
    }

    fn groups_accumulator_supported(&self, args: AccumulatorArgs) -> bool {
        group_values(args.return_field.data_type()).is_some()
    }

    fn create_groups_accumulator(
        &self,
        args: AccumulatorArgs,
    ) -> Result<Box<dyn GroupsAccumulator>> {
        let data_type = args.return_field.data_type();
        let Some(values) = group_values(data_type) else {
            return internal_err!("{} has no group accumulator for {data_type}", self.name());
        };
        Ok(Box::new(ArgGroups {
            extreme: self.extreme,
            keys: Vec::new(),
            values,
            winners: Vec::new(),
        }))
    }

    fn order_sensitivity(&self) -> AggregateOrderSensitivity {
        AggregateOrderSensitivity::Insensitive
    }
}

fn is_key_type(data_type: &DataType) -> bool {
    matches!(
        data_type,
        DataType::Int8
            | DataType::Int16
            | DataType::Int32
            | DataType::Int64
            | DataType::UInt8
            | DataType::UInt16
            | DataType::UInt32
            | DataType::Date32
            | DataType::Date64
            | DataType::Time32(_)
            | DataType::Time64(_)
            | DataType::Timestamp(_, _)
            | DataType::Null
    )
}

/// The two arrays of a batch or of states: the values and their keys.
fn value_and_key(values: &[ArrayRef]) -> Result<(&ArrayRef, &ArrayRef)> {
    match values {
        [value, key] => Ok((value, key)),
        _ => internal_err!("arg_min/arg_max take two arrays, not {}", values.len()),
    }
}

/// The keys of a batch as `i64` (a timestamp's or date's own number).
fn keys_of(array: &ArrayRef) -> Result<Int64Array> {
    let keys = cast(array, &DataType::Int64)?;
    Ok(keys.as_primitive::<Int64Type>().clone())
}

/// The winning rows per group, over all batches seen.
#[derive(Debug)]
struct ArgGroups {
    extreme: Extreme,
    /// Per group, the key of the row its value came from (`None`: no row yet).
    keys: Vec<Option<i64>>,
    values: Box<dyn GroupValues>,
    /// (group, row) of the rows of the current batch that won, in order; reused.
    winners: Vec<(usize, usize)>,
}

impl GroupsAccumulator for ArgGroups {
    fn update_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        opt_filter: Option<&BooleanArray>,
        total_num_groups: usize,
    ) -> Result<()> {
        let (value, key) = value_and_key(values)?;
        let keys = keys_of(key)?;
        self.keys.resize(total_num_groups, None);
        self.values.resize(total_num_groups);
        self.winners.clear();
        for (row, &group) in group_indices.iter().enumerate() {
            if keys.is_null(row) || opt_filter.is_some_and(|f| !f.is_valid(row) || !f.value(row)) {
                continue;
            }
            let key = keys.value(row);
            if self.extreme.beats(key, self.keys[group]) {
                self.keys[group] = Some(key);
                self.winners.push((group, row));
            }
        }
        self.values.set(value, &self.winners)
    }

    fn evaluate(&mut self, emit_to: EmitTo) -> Result<ArrayRef> {
        emit_to.take_needed(&mut self.keys);
        self.values.take(emit_to)
    }

    fn state(&mut self, emit_to: EmitTo) -> Result<Vec<ArrayRef>> {
        let keys = Int64Array::from(emit_to.take_needed(&mut self.keys));
        Ok(vec![self.values.take(emit_to)?, Arc::new(keys)])
    }

    fn merge_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        total_num_groups: usize,
    ) -> Result<()> {
        // A state is a (value, key) pair, a group without a row having a null key: merging is
        // updating with the states as rows.
        self.update_batch(values, group_indices, None, total_num_groups)
    }

    fn convert_to_state(
        &self,
        values: &[ArrayRef],
        opt_filter: Option<&BooleanArray>,
    ) -> Result<Vec<ArrayRef>> {
        let (value, key) = value_and_key(values)?;
        let keys = keys_of(key)?;
        // A row the filter leaves out (false or null) becomes a state without a row.
        let keys = match opt_filter {
            Some(filter) => {
                let kept = match filter.nulls() {
                    Some(nulls) => filter.values() & nulls.inner(),
                    None => filter.values().clone(),
                };
                let nulls = NullBuffer::union(keys.nulls(), Some(&NullBuffer::new(kept)));
                Int64Array::new(keys.values().clone(), nulls)
            }
            None => keys,
        };
        Ok(vec![Arc::clone(value), Arc::new(keys)])
    }

    fn size(&self) -> usize {
        self.keys.capacity() * size_of::<Option<i64>>()
            + self.winners.capacity() * size_of::<(usize, usize)>()
            + self.values.size()
    }
}

/// The values of the groups, of one type.
trait GroupValues: Debug + Send + Sync {
    /// Makes room for `groups` groups; new ones hold null.
    fn resize(&mut self, groups: usize);
    /// Gives each `(group, row)` of `winners`, in order, the value on `row` of `array`.
    fn set(&mut self, array: &ArrayRef, winners: &[(usize, usize)]) -> Result<()>;
    /// Hands out the values of the groups `emit_to` names and forgets them.
    fn take(&mut self, emit_to: EmitTo) -> Result<ArrayRef>;
    /// Bytes held.
    fn size(&self) -> usize;
}

/// A fast store for values of `data_type`, when there is one.
fn group_values(data_type: &DataType) -> Option<Box<dyn GroupValues>> {
    fn fixed<T: ArrowPrimitiveType>(data_type: &DataType) -> Option<Box<dyn GroupValues>> {
        Some(Box::new(FixedValues::<T> {
            data_type: data_type.clone(),
            values: Vec::new(),
            valid: Vec::new(),
        }))
    }
    match data_type {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => Some(Box::new(TextValues {
            data_type: data_type.clone(),
            bytes: Vec::new(),
            spans: Vec::new(),
            wasted: 0,
        })),
        DataType::Int8 => fixed::<Int8Type>(data_type),
        DataType::Int16 => fixed::<Int16Type>(data_type),
        DataType::Int32 => fixed::<Int32Type>(data_type),
        DataType::Int64 => fixed::<Int64Type>(data_type),
        DataType::UInt8 => fixed::<UInt8Type>(data_type),
        DataType::UInt16 => fixed::<UInt16Type>(data_type),
        DataType::UInt32 => fixed::<UInt32Type>(data_type),
        DataType::UInt64 => fixed::<UInt64Type>(data_type),
        DataType::Float32 => fixed::<Float32Type>(data_type),
        DataType::Float64 => fixed::<Float64Type>(data_type),
        DataType::Date32 => fixed::<Date32Type>(data_type),
        DataType::Date64 => fixed::<Date64Type>(data_type),
        DataType::Timestamp(TimeUnit::Second, _) => fixed::<TimestampSecondType>(data_type),
        DataType::Timestamp(TimeUnit::Millisecond, _) => {
            fixed::<TimestampMillisecondType>(data_type)
        }
        DataType::Timestamp(TimeUnit::Microsecond, _) => {
            fixed::<TimestampMicrosecondType>(data_type)
        }
        DataType::Timestamp(TimeUnit::Nanosecond, _) => fixed::<TimestampNanosecondType>(data_type),
        DataType::Struct(fields) => {
            let children = fields
                .iter()
                .map(|field| group_values(field.data_type()))
                .collect::<Option<Vec<_>>>()?;
            Some(Box::new(StructValues {
                fields: fields.clone(),
                children,
                valid: Vec::new(),
            }))
        }
        _ => None,
    }
}

/// Structs as one store per field, with the structs' own validity.
#[derive(Debug)]
struct StructValues {
    fields: Fields,
    children: Vec<Box<dyn GroupValues>>,
    valid: Vec<bool>,
}

impl GroupValues for StructValues {
    fn resize(&mut self, groups: usize) {
        for child in &mut self.children {
            child.resize(groups);
        }
        self.valid.resize(groups, false);
    }

    fn set(&mut self, array: &ArrayRef, winners: &[(usize, usize)]) -> Result<()> {
        let Some(array) = array.as_struct_opt() else {
            return internal_err!("expected structs, got {}", array.data_type());
        };
        if array.num_columns() != self.children.len() {
            return internal_err!(
                "expected structs of {} fields, got {}",
                self.children.len(),
                array.num_columns()
            );
        }
        for (child, column) in self.children.iter_mut().zip(array.columns()) {
            child.set(column, winners)?;
        }
        for &(group, row) in winners {
            self.valid[group] = array.is_valid(row);
        }
        Ok(())
    }

    fn take(&mut self, emit_to: EmitTo) -> Result<ArrayRef> {
        let columns = self
            .children
            .iter_mut()
            .map(|child| child.take(emit_to))
            .collect::<Result<Vec<_>>>()?;
        let valid = NullBuffer::from(emit_to.take_needed(&mut self.valid));
        Ok(Arc::new(StructArray::try_new(
            self.fields.clone(),
            columns,
            Some(valid),
        )?))
    }

    fn size(&self) -> usize {
        self.children
            .iter()
            .map(|child| child.size())
            .sum::<usize>()
            + self.valid.capacity()
    }
}

/// Fixed-width values in a vector, with their validity.
struct FixedValues<T: ArrowPrimitiveType> {
    data_type: DataType,
    values: Vec<T::Native>,
    valid: Vec<bool>,
}

impl<T: ArrowPrimitiveType> Debug for FixedValues<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FixedValues")
            .field("data_type", &self.data_type)
            .field("groups", &self.values.len())
            .finish()
    }
}

impl<T: ArrowPrimitiveType> GroupValues for FixedValues<T> {
    fn resize(&mut self, groups: usize) {
        self.values.resize(groups, T::Native::default());
        self.valid.resize(groups, false);
    }

    fn set(&mut self, array: &ArrayRef, winners: &[(usize, usize)]) -> Result<()> {
        let Some(array) = array.as_primitive_opt::<T>() else {
            return internal_err!(
                "expected values of {}, got {}",
                T::DATA_TYPE,
                array.data_type()
            );
        };
        for &(group, row) in winners {
            self.values[group] = array.value(row);
            self.valid[group] = array.is_valid(row);
        }
        Ok(())
    }

    fn take(&mut self, emit_to: EmitTo) -> Result<ArrayRef> {
        let values = emit_to.take_needed(&mut self.values);
        let valid = NullBuffer::from(emit_to.take_needed(&mut self.valid));
        let array =
            datafusion::arrow::array::PrimitiveArray::<T>::try_new(values.into(), Some(valid))?
                .with_data_type(self.data_type.clone());
        Ok(Arc::new(array))
    }

    fn size(&self) -> usize {
        self.values.capacity() * size_of::<T::Native>() + self.valid.capacity()
    }
}

/// Text values end to end in one buffer.
#[derive(Debug)]
struct TextValues {
    data_type: DataType,
    bytes: Vec<u8>,
    /// Per group, where its value lies in `bytes` (`None`: null).
    spans: Vec<Option<(usize, usize)>>,
    /// Bytes no group refers to any more, left behind by values that were replaced.
    wasted: usize,
}

impl TextValues {
    fn set_from<'a>(
        &mut self,
        array: impl ArrayAccessor<Item = &'a str>,
        winners: &[(usize, usize)],
    ) {
        for &(group, row) in winners {
            if let Some((start, end)) = self.spans[group] {
                self.wasted += end - start;
            }
            self.spans[group] = array.is_valid(row).then(|| {
                let start = self.bytes.len();
                self.bytes.extend_from_slice(array.value(row).as_bytes());
                (start, self.bytes.len())
            });
        }
    }

    /// Copies the live values into a new buffer once most of it is waste.
    fn compact_when_wasteful(&mut self) {
        if self.wasted < (1 << 16) || self.wasted * 2 < self.bytes.len() {
            return;
        }
        let mut bytes = Vec::with_capacity(self.bytes.len() - self.wasted);
        for span in self.spans.iter_mut().flatten() {
            let start = bytes.len();
            bytes.extend_from_slice(&self.bytes[span.0..span.1]);
            *span = (start, bytes.len());
        }
        self.bytes = bytes;
        self.wasted = 0;
    }
}

impl GroupValues for TextValues {
    fn resize(&mut self, groups: usize) {
        self.spans.resize(groups, None);
    }

    fn set(&mut self, array: &ArrayRef, winners: &[(usize, usize)]) -> Result<()> {
        match array.data_type() {
            DataType::Utf8 => self.set_from(array.as_string::<i32>(), winners),
            DataType::LargeUtf8 => self.set_from(array.as_string::<i64>(), winners),
            DataType::Utf8View => self.set_from(array.as_string_view(), winners),
            other => return internal_err!("expected text values, got {other}"),
        }
        self.compact_when_wasteful();
        Ok(())
    }

    fn take(&mut self, emit_to: EmitTo) -> Result<ArrayRef> {
        let spans = emit_to.take_needed(&mut self.spans);
        let texts = spans
            .iter()
            .map(|span| {
                span.map(|(start, end)| std::str::from_utf8(&self.bytes[start..end]))
                    .transpose()
            })
            .collect::<Result<Vec<Option<&str>>, _>>()
            .map_err(|error| DataFusionError::Internal(format!("arg_min/arg_max: {error}")))?;
        let array: ArrayRef = match self.data_type {
            DataType::Utf8 => Arc::new(StringArray::from(texts)),
            DataType::LargeUtf8 => Arc::new(LargeStringArray::from(texts)),
            _ => Arc::new(StringViewArray::from(texts)),
        };
        let handed_out: usize = spans.iter().flatten().map(|(start, end)| end - start).sum();
        if self.spans.is_empty() {
            self.bytes.clear();
            self.wasted = 0;
        } else {
            self.wasted += handed_out;
            self.compact_when_wasteful();
        }
        Ok(array)
    }

    fn size(&self) -> usize {
        self.bytes.capacity() + self.spans.capacity() * size_of::<Option<(usize, usize)>>()
    }
}

/// The accumulator without groups (or for values without a fast store): the winning key and
/// value as scalars.
#[derive(Debug)]
struct ArgRow {
    extreme: Extreme,
    data_type: DataType,
    best: Option<(i64, ScalarValue)>,
}

impl Accumulator for ArgRow {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let (value, key) = value_and_key(values)?;
        let keys = keys_of(key)?;
        for row in 0..keys.len() {
            if keys.is_null(row) {
                continue;
            }
            let key = keys.value(row);
            if self
                .extreme
                .beats(key, self.best.as_ref().map(|(best, _)| *best))
            {
                self.best = Some((key, ScalarValue::try_from_array(value, row)?));
            }
        }
        Ok(())
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        match &self.best {
            Some((_, value)) => Ok(value.clone()),
            None => ScalarValue::try_from(&self.data_type),
        }
    }

    fn size(&self) -> usize {
        size_of::<Self>() + self.best.as_ref().map_or(0, |(_, value)| value.size())
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        Ok(vec![
            self.evaluate()?,
            ScalarValue::Int64(self.best.as_ref().map(|(key, _)| *key)),
        ])
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        self.update_batch(states)
    }
}

#[cfg(test)]
mod tests {
    use datafusion::arrow::array::{
        BooleanArray, Int32Array, RecordBatch, TimestampMicrosecondArray,
    };
    use datafusion::arrow::datatypes::Schema;
    use datafusion::arrow::util::pretty::pretty_format_batches;
    use datafusion::datasource::MemTable;
    use datafusion::prelude::SessionConfig;

    use super::*;

    /// A session over `events(grp, at, val, txt, flag)` split into `batches` batches over
    /// `partitions` partitions, the rows given as (group, key, value).
    fn session(rows: &[(i32, Option<i64>, Option<i32>)], partitions: usize) -> SessionContext {
        let schema = Arc::new(Schema::new(vec![
            Field::new("grp", DataType::Int32, false),
            Field::new(
                "at",
                DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
                true,
            ),
            Field::new("val", DataType::Int32, true),
            Field::new("txt", DataType::Utf8, true),
            Field::new("view", DataType::Utf8View, true),
            Field::new("flag", DataType::Boolean, true),
        ]));
        let batch = |rows: &[(i32, Option<i64>, Option<i32>)]| {
            let text: Vec<Option<String>> = rows
                .iter()
                .map(|(_, _, value)| value.map(|value| format!("v{value}")))
                .collect();
            RecordBatch::try_new(
                Arc::clone(&schema),
                vec![
                    Arc::new(Int32Array::from_iter_values(rows.iter().map(|row| row.0))),
                    Arc::new(
                        TimestampMicrosecondArray::from(
                            rows.iter().map(|row| row.1).collect::<Vec<_>>(),
                        )
                        .with_timezone("UTC"),
                    ),
                    Arc::new(Int32Array::from(
                        rows.iter().map(|row| row.2).collect::<Vec<_>>(),
                    )),
                    Arc::new(StringArray::from(text.clone())),
                    Arc::new(StringViewArray::from(text)),
                    Arc::new(BooleanArray::from(
                        rows.iter()
                            .map(|row| row.2.map(|value| value % 2 == 0))
                            .collect::<Vec<_>>(),
                    )),
                ],
            )
            .expect("batch")
        };
        let chunk = rows.len().div_ceil(partitions * 3).max(1);
        let mut parts = vec![Vec::new(); partitions];
        for (index, rows) in rows.chunks(chunk).enumerate() {
            parts[index % partitions].push(batch(rows));
        }
        let config = SessionConfig::new()
            .with_target_partitions(partitions)
            .with_batch_size(7);
        let ctx = SessionContext::new_with_config(config);
        register(&ctx);
        ctx.register_table(
            "events",
            Arc::new(MemTable::try_new(schema, parts).expect("table")),
        )
        .expect("register");
        ctx
    }

    async fn rows(ctx: &SessionContext, sql: &str) -> String {
        let batches = ctx.sql(sql).await.expect(sql).collect().await.expect(sql);
        pretty_format_batches(&batches).expect("format").to_string()
    }

    /// The values of each row of a printed table, without the headers (which differ between
    /// equivalent queries) and the padding that follows their widths.
    fn cells(table: &str) -> Vec<Vec<String>> {
        table
            .lines()
            .skip(3)
            .filter(|line| line.starts_with('|'))
            .map(|line| line.split('|').map(|cell| cell.trim().to_owned()).collect())
            .collect()
    }

    /// Makes the partial aggregation give up after its first row (`skip`) or never.
    async fn skip_partial_aggregation(ctx: &SessionContext, skip: bool) {
        let threshold = if skip { "0.0" } else { "0.8" };
        for setting in [
            format!(
                "set datafusion.execution.skip_partial_aggregation_probe_ratio_threshold = {threshold}"
            ),
            "set datafusion.execution.skip_partial_aggregation_probe_rows_threshold = 1".to_owned(),
        ] {
            ctx.sql(&setting).await.expect("set");
        }
    }

    /// Rows with pseudo-random groups, keys and values; keys unique within a group.
    fn generated(count: usize) -> Vec<(i32, Option<i64>, Option<i32>)> {
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        (0..count)
            .map(|index| {
                let random = next();
                let group = (random % 97) as i32;
                let key = (random % 11 != 0)
                    .then_some(((random >> 8) % 1_000_000) as i64 * 10_000 + index as i64);
                let value = (random % 13 != 0).then_some(((random >> 32) % 1000) as i32);
                (group, key, value)
            })
            .collect()
    }

    /// Runs `ours` and `theirs` over the same rows in one and in four partitions, with and
    /// without partial aggregation, asserts they give the same values, one row per group, and
    /// returns those values.
    async fn agree(ours: &str, theirs: &str) -> Vec<Vec<String>> {
        let data = generated(5_000);
        let mut answer = Vec::new();
        for partitions in [1, 4] {
            let ctx = session(&data, partitions);
            for skip_partial in [false, true] {
                skip_partial_aggregation(&ctx, skip_partial).await;
                let ours = cells(&rows(&ctx, ours).await);
                assert_eq!(
                    ours,
                    cells(&rows(&ctx, theirs).await),
                    "partitions {partitions}, skip {skip_partial}"
                );
                assert_eq!(ours.len(), 97, "one row per group");
                answer = ours;
            }
        }
        answer
    }

    #[tokio::test]
    async fn agree_with_ordered_first_value_over_many_batches_and_partitions() {
        agree(
            "select grp,
                            arg_min(val, at), arg_max(val, at), arg_min(txt, at), arg_max(view, at),
                            max_by(flag, at), min_by(at, at),
                            arg_max(val, at) filter (where val > 500), arg_min(txt, at) filter (where val < 300),
                            arg_max(view, at) filter (where grp > 40)
                     from events group by grp order by grp",
            "select grp,
                            first_value(val order by at) filter (where at is not null),
                            first_value(val order by at desc) filter (where at is not null),
                            first_value(txt order by at) filter (where at is not null),
                            first_value(view order by at desc) filter (where at is not null),
                            first_value(flag order by at desc) filter (where at is not null),
                            min(at),
                            first_value(val order by at desc) filter (where val > 500 and at is not null),
                            first_value(txt order by at) filter (where val < 300 and at is not null),
                            first_value(view order by at desc) filter (where grp > 40 and at is not null)
                     from events group by grp order by grp",
        )
        .await;
    }

    #[tokio::test]
    async fn a_struct_takes_every_field_from_the_winning_row() {
        let answer = agree(
            "select grp, s['at'], s['val'], s['txt'], s['view'], f is null,
                            f['val'], f['txt']
                     from (
                         select grp,
                                arg_max(named_struct('at', at, 'val', val, 'txt', txt, 'view', view), at) as s,
                                arg_min(named_struct('val', val, 'txt', txt), at) filter (where grp % 3 = 0) as f
                         from events group by grp
                     ) order by grp",
            "select grp, max(at), arg_max(val, at), arg_max(txt, at), arg_max(view, at),
                            grp % 3 <> 0,
                            arg_min(val, at) filter (where grp % 3 = 0),
                            arg_min(txt, at) filter (where grp % 3 = 0)
                     from events group by grp order by grp",
        )
        .await;
        // Groups without a row in the filter have a null struct, the others a value.
        let nulls = answer.iter().filter(|row| row[6] == "true").count();
        assert_eq!(nulls, (0..97).filter(|grp| grp % 3 != 0).count());
    }

    #[tokio::test]
    async fn skip_null_keys_keep_null_values_and_answer_without_groups() {
        let data = [
            (1, Some(30), Some(3)),
            (1, None, Some(99)),
            (1, Some(10), None),
            (1, Some(20), Some(2)),
            (2, None, Some(5)),
        ];
        let ctx = session(&data, 1);
        let table = rows(
            &ctx,
            "select grp, arg_min(val, at) as first, arg_max(txt, at) as last,
                    arg_max(val, at) filter (where val < 3) as filtered
             from events group by grp order by grp",
        )
        .await;
        assert_eq!(
            table,
            "+-----+-------+------+----------+
| grp | first | last | filtered |
+-----+-------+------+----------+
| 1   |       | v3   | 2        |
| 2   |       |      |          |
+-----+-------+------+----------+"
        );
        let whole = rows(
            &ctx,
            "select arg_min(txt, at) as first, arg_max(val, at) as last from events",
        )
        .await;
        assert_eq!(
            whole,
            "+-------+------+
| first | last |
+-------+------+
|       | 3    |
+-------+------+"
        );
    }

    #[tokio::test]
    async fn ties_go_to_the_first_row_for_every_function() {
        let data = [
            (1, Some(5), Some(1)),
            (1, Some(5), Some(2)),
            (1, Some(4), Some(3)),
        ];
        let ctx = session(&data, 1);
        let table = rows(
            &ctx,
            "select arg_max(val, at) as val, arg_max(txt, at) as txt from events group by grp",
        )
        .await;
        assert_eq!(
            table,
            "+-----+-----+
| val | txt |
+-----+-----+
| 1   | v1  |
+-----+-----+"
        );
    }

    #[tokio::test]
    async fn refuse_a_key_that_does_not_order_rows() {
        let ctx = session(&[(1, Some(1), Some(1))], 1);
        let error = ctx
            .sql("select arg_max(val, txt) from events")
            .await
            .expect_err("text key");
        assert!(
            error.to_string().contains("arg_max: the key (second argument) orders the rows and must be an integer, date, time or timestamp, not Utf8"),
            "{error}"
        );
    }

    #[test]
    fn emit_the_first_groups_and_keep_the_rest() {
        let udaf = ArgExtreme::new(Extreme::Greatest);
        let schema = Schema::new(vec![Field::new("txt", DataType::Utf8, true)]);
        let field = Arc::new(Field::new("out", DataType::Utf8, true));
        let args = AccumulatorArgs {
            return_field: field,
            schema: &schema,
            ignore_nulls: false,
            order_bys: &[],
            is_reversed: false,
            name: "arg_max(txt, at)",
            is_distinct: false,
            exprs: &[],
            expr_fields: &[],
        };
        let mut groups = udaf.create_groups_accumulator(args).expect("groups");
        let text: ArrayRef = Arc::new(StringArray::from(vec![
            Some("a"),
            Some("b"),
            None,
            Some("d"),
            Some("e"),
        ]));
        let keys: ArrayRef = Arc::new(Int64Array::from(vec![1, 2, 3, 4, 5]));
        groups
            .update_batch(&[text, keys], &[0, 1, 2, 0, 3], None, 4)
            .expect("update");
        let first = groups.evaluate(EmitTo::First(2)).expect("first two");
        assert_eq!(
            first.as_string::<i32>().iter().collect::<Vec<_>>(),
            [Some("d"), Some("b")]
        );
        let text: ArrayRef = Arc::new(StringArray::from(vec![Some("f"), Some("g")]));
        let keys: ArrayRef = Arc::new(Int64Array::from(vec![0, 9]));
        groups
            .update_batch(&[text, keys], &[0, 1], None, 2)
            .expect("update after emit");
        let rest = groups.evaluate(EmitTo::All).expect("rest");
        assert_eq!(
            rest.as_string::<i32>().iter().collect::<Vec<_>>(),
            [None, Some("g")],
            "the key 0 does not beat the null's 3; 9 beats e's 5"
        );
    }
}

//! Merging sources that are each sorted by the same columns into one sorted stream of batches.
//!
//! Every file the lake writer commits is sorted by the table's sort columns, and so is every
//! file a compaction writes; merging them k ways keeps the merged file sorted while holding
//! only one batch per source in memory, however many rows the files hold together.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use deltalake::arrow::array::RecordBatch;
use deltalake::arrow::compute::interleave_record_batch;
use deltalake::arrow::error::ArrowError;
use deltalake::arrow::row::{OwnedRow, RowConverter, Rows, SortField};

/// Record batches from one source, in its order.
pub type BatchResult = Result<RecordBatch, ArrowError>;

struct Source<I> {
    batches: I,
    /// The batch being consumed and its sort keys; `None` once the source is exhausted.
    current: Option<(RecordBatch, Rows)>,
    /// The next row of `current`.
    row: usize,
}

/// The rows of several sorted sources, in sort order, as batches of about `batch_size` rows.
///
/// Without sort columns the sources are simply concatenated, in the order given. Sources
/// must share their columns; rows that compare equal keep the order of their sources.
pub struct SortedMerge<I> {
    sort_columns: Vec<String>,
    converter: Option<RowConverter>,
    sources: Vec<Source<I>>,
    heap: BinaryHeap<Reverse<(OwnedRow, usize)>>,
    batch_size: usize,
    started: bool,
    /// The next source to concatenate when there are no sort columns.
    next_source: usize,
}

impl<I: Iterator<Item = BatchResult>> SortedMerge<I> {
    /// Merges `sources` by `sort_columns` (compared in that order, ascending, nulls first).
    pub fn new(sources: Vec<I>, sort_columns: &[&str], batch_size: usize) -> Self {
        Self {
            sort_columns: sort_columns
                .iter()
                .map(|&column| column.to_owned())
                .collect(),
            converter: None,
            sources: sources
                .into_iter()
                .map(|batches| Source {
                    batches,
                    current: None,
                    row: 0,
                })
                .collect(),
            heap: BinaryHeap::new(),
            batch_size: batch_size.max(1),
            started: false,
            next_source: 0,
        }
    }

    /// Moves `source` to its next non-empty batch and queues its first row.
    fn load(&mut self, source: usize) -> Result<(), ArrowError> {
        self.sources[source].current = None;
        self.sources[source].row = 0;
        loop {
            let Some(batch) = self.sources[source].batches.next().transpose()? else {
                return Ok(());
            };
            if batch.num_rows() == 0 {
                continue;
            }
            let keys = self
                .sort_columns
                .iter()
                .map(|column| {
                    let index = batch.schema().index_of(column)?;
                    Ok(batch.column(index).clone())
                })
                .collect::<Result<Vec<_>, ArrowError>>()?;
            if self.converter.is_none() {
                let fields = keys
                    .iter()
                    .map(|key| SortField::new(key.data_type().clone()))
                    .collect();
                self.converter = Some(RowConverter::new(fields)?);
            }
            let converter = self.converter.as_ref().expect("created above");
            let rows = converter.convert_columns(&keys)?;
            self.heap.push(Reverse((rows.row(0).owned(), source)));
            self.sources[source].current = Some((batch, rows));
            return Ok(());
        }
    }

    fn next_sorted(&mut self) -> Result<Option<RecordBatch>, ArrowError> {
        if !self.started {
            self.started = true;
            for source in 0..self.sources.len() {
                self.load(source)?;
            }
        }
        // The batches the output rows come from, and where each source's current batch sits
        // among them.
        let mut batches: Vec<RecordBatch> = Vec::new();
        let mut slots: Vec<Option<usize>> = vec![None; self.sources.len()];
        let mut indices: Vec<(usize, usize)> = Vec::with_capacity(self.batch_size);
        while indices.len() < self.batch_size {
            let Some(Reverse((_, source))) = self.heap.pop() else {
                break;
            };
            let row = self.sources[source].row;
            let (batch, rows) = self.sources[source]
                .current
                .as_ref()
                .expect("a queued source has a batch");
            let slot = *slots[source].get_or_insert_with(|| {
                batches.push(batch.clone());
                batches.len() - 1
            });
            let next_key = (row + 1 < batch.num_rows()).then(|| rows.row(row + 1).owned());
            indices.push((slot, row));
            match next_key {
                Some(key) => {
                    self.heap.push(Reverse((key, source)));
                    self.sources[source].row = row + 1;
                }
                None => {
                    slots[source] = None;
                    self.load(source)?;
                }
            }
        }
        if indices.is_empty() {
            return Ok(None);
        }
        let batches: Vec<&RecordBatch> = batches.iter().collect();
        interleave_record_batch(&batches, &indices).map(Some)
    }

    fn next_concatenated(&mut self) -> Result<Option<RecordBatch>, ArrowError> {
        while let Some(source) = self.sources.get_mut(self.next_source) {
            match source.batches.next().transpose()? {
                Some(batch) if batch.num_rows() > 0 => return Ok(Some(batch)),
                Some(_) => {}
                None => self.next_source += 1,
            }
        }
        Ok(None)
    }
}

impl<I: Iterator<Item = BatchResult>> Iterator for SortedMerge<I> {
    type Item = BatchResult;

    fn next(&mut self) -> Option<Self::Item> {
        let next = if self.sort_columns.is_empty() {
            self.next_concatenated()
        } else {
            self.next_sorted()
        };
        next.transpose()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use deltalake::arrow::array::{AsArray, Int64Array, StringArray};
    use deltalake::arrow::datatypes::{DataType, Field, Int64Type, Schema, SchemaRef};

    use super::*;

    fn schema() -> SchemaRef {
        Arc::new(Schema::new(vec![
            Field::new("tenant_id", DataType::Utf8, false),
            Field::new("at", DataType::Int64, false),
            Field::new("n", DataType::Int64, false),
        ]))
    }

    /// One batch of `(tenant, at, n)` rows.
    fn batch(rows: &[(&str, i64, i64)]) -> RecordBatch {
        RecordBatch::try_new(
            schema(),
            vec![
                Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.0))),
                Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.1))),
                Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.2))),
            ],
        )
        .unwrap()
    }

    fn source(batches: Vec<RecordBatch>) -> std::vec::IntoIter<BatchResult> {
        batches.into_iter().map(Ok).collect::<Vec<_>>().into_iter()
    }

    fn rows(batches: &[RecordBatch]) -> Vec<(String, i64, i64)> {
        let mut rows = Vec::new();
        for batch in batches {
            let tenants = batch.column(0).as_string::<i32>();
            let at = batch.column(1).as_primitive::<Int64Type>();
            let n = batch.column(2).as_primitive::<Int64Type>();
            for i in 0..batch.num_rows() {
                rows.push((tenants.value(i).to_owned(), at.value(i), n.value(i)));
            }
        }
        rows
    }

    #[test]
    fn sorted_sources_merge_into_one_sorted_stream_in_batches_of_the_given_size() {
        let sources = vec![
            source(vec![
                batch(&[("a", 1, 1), ("a", 5, 2)]),
                batch(&[]),
                batch(&[("c", 1, 3)]),
            ]),
            source(vec![batch(&[("a", 3, 4), ("b", 1, 5), ("c", 0, 6)])]),
            source(vec![]),
            source(vec![
                batch(&[("b", 0, 7)]),
                batch(&[("b", 2, 8), ("d", 9, 9)]),
            ]),
        ];

        let merged: Vec<RecordBatch> = SortedMerge::new(sources, &["tenant_id", "at"], 4)
            .collect::<Result<_, _>>()
            .unwrap();

        assert_eq!(
            merged.iter().map(RecordBatch::num_rows).collect::<Vec<_>>(),
            [4, 4, 1]
        );
        let order: Vec<i64> = rows(&merged).iter().map(|row| row.2).collect();
        assert_eq!(order, [1, 4, 2, 7, 5, 8, 6, 3, 9]);
    }

    #[test]
    fn rows_with_equal_keys_keep_the_order_of_their_sources() {
        let sources = vec![
            source(vec![batch(&[("a", 1, 1)])]),
            source(vec![batch(&[("a", 1, 2)])]),
        ];

        let merged: Vec<RecordBatch> = SortedMerge::new(sources, &["tenant_id", "at"], 10)
            .collect::<Result<_, _>>()
            .unwrap();

        assert_eq!(
            rows(&merged).iter().map(|row| row.2).collect::<Vec<_>>(),
            [1, 2]
        );
    }

    #[test]
    fn without_sort_columns_the_sources_are_concatenated() {
        let sources = vec![
            source(vec![batch(&[("z", 1, 1)]), batch(&[("a", 1, 2)])]),
            source(vec![batch(&[])]),
            source(vec![batch(&[("m", 1, 3)])]),
        ];

        let merged: Vec<RecordBatch> = SortedMerge::new(sources, &[], 10)
            .collect::<Result<_, _>>()
            .unwrap();

        assert_eq!(
            rows(&merged).iter().map(|row| row.2).collect::<Vec<_>>(),
            [1, 2, 3]
        );
    }

    #[test]
    fn a_missing_sort_column_is_an_error() {
        let sources = vec![source(vec![batch(&[("a", 1, 1)])])];

        let mut merge = SortedMerge::new(sources, &["occurred_at"], 10);

        assert!(merge.next().unwrap().is_err());
    }

    #[test]
    fn a_failing_source_fails_the_merge() {
        let failing = vec![Err(ArrowError::ComputeError("torn file".to_owned()))].into_iter();
        let mut merge = SortedMerge::new(vec![failing], &["tenant_id"], 10);

        assert!(merge.next().unwrap().is_err());
    }
}

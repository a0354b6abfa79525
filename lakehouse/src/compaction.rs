//! Compaction: rewriting a table's small files into fewer, larger ones, without changing its
//! rows or the source offsets committed with them.
//!
//! The lake writer adds a file to every date partition it writes at each flush, so a partition
//! fed at the default freshness gains a file every few seconds, and every scan of it opens them
//! all. A compaction reads the live files, lets [`plan`] pick the partitions that have gathered
//! [`CompactionPolicy::min_files`] small files, merges each bin of them into one file with
//! [`merge::SortedMerge`] (the files are sorted by tenant and time, and so is the merged one, so
//! Parquet statistics keep pruning a tenant's scans), and commits, in one Delta commit, the
//! removal of the old files and the addition of the new ones, both marked `dataChange: false`.
//!
//! Two things make this safe beside the lake writers:
//!
//! - **Offsets.** The writers store each source partition's next offset as a Delta `txn`
//!   action. A `txn` stays in the table's state (and in every checkpoint) until a later one
//!   with the same app id replaces it, so a compaction commit, which carries no writer's app
//!   id, leaves the offsets where they were; a writer's concurrent commit does not conflict
//!   with it either, since it only appends.
//! - **Concurrent compactions.** deltalake's conflict checker only treats the removal of the
//!   same file by two commits as a conflict when the removals change data, which a
//!   compaction's do not: two writer processes compacting the same files at once would both
//!   commit, and the rows would be there twice. Every compaction commit therefore carries a
//!   `txn` of its own app id, [`COMPACTION_APP_ID`]; a commit whose app id was updated by a
//!   commit it did not see fails as a concurrent transaction, so of two overlapping
//!   compactions only the first commits.
//!
//! Removed files stay on storage, as Delta requires for readers of older versions, until
//! [`vacuum`](crate::vacuum) deletes them once its retention period has passed.

pub mod merge;
pub mod plan;

use std::collections::HashMap;

use chrono::NaiveDate;
use deltalake::arrow::array::{Date32Array, RecordBatch};
use deltalake::arrow::datatypes::{DataType, Field, Schema};
use deltalake::arrow::error::ArrowError;
use deltalake::kernel::transaction::{CommitBuilder, CommitProperties, TransactionError};
use deltalake::kernel::{Action, LogicalFileView, Transaction};
use deltalake::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use deltalake::protocol::DeltaOperation;
use deltalake::table::state::DeltaTableState;
use deltalake::writer::{DeltaWriter as _, RecordBatchWriter};
use deltalake::{DeltaTable, DeltaTableError, ObjectStore as _};
use futures::TryStreamExt as _;
use tenet_events::row::PARTITION_COLUMN;
use tracing::debug;

use crate::LakeTable;
use merge::SortedMerge;
pub use plan::{Bin, CompactionPolicy, FileSize, plan};

/// The app id of the `txn` action every compaction commit carries, so that two compactions
/// of the same table never both commit (see the [module docs](self)).
pub const COMPACTION_APP_ID: &str = "tenet-lake-compaction";

/// Rows per batch read from the old files and written to the new one.
const BATCH_ROWS: usize = 8192;

/// Why a compaction did not commit.
#[derive(Debug, thiserror::Error)]
#[error("compacting table `{table}`: {source}")]
pub struct CompactionError {
    table: &'static str,
    #[source]
    source: Box<DeltaTableError>,
}

impl CompactionError {
    fn new(table: LakeTable) -> impl FnOnce(DeltaTableError) -> Self {
        move |source| Self {
            table: table.name(),
            source: Box::new(source),
        }
    }

    /// Whether another commit got in the way: a concurrent compaction of the same table, or
    /// a change to the table's metadata. Nothing is lost; the files it wrote are left
    /// unreferenced, and the next compaction starts from the new state.
    pub fn is_conflict(&self) -> bool {
        matches!(
            self.source.as_ref(),
            DeltaTableError::Transaction {
                source: TransactionError::CommitConflict(_)
            }
        )
    }
}

/// What a compaction rewrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CompactionSummary {
    /// Partitions that had files merged.
    pub partitions: usize,
    /// Files removed from the table.
    pub files_removed: usize,
    /// Their total size in bytes.
    pub bytes_removed: u64,
    /// Files added in their place.
    pub files_added: usize,
    /// Their total size in bytes.
    pub bytes_added: u64,
    /// The table version of the compaction commit; `None` when nothing needed compacting.
    pub version: Option<u64>,
}

/// A compaction whose new files are written but not committed yet.
pub struct PreparedCompaction {
    which: LakeTable,
    read: DeltaTableState,
    actions: Vec<Action>,
    target_file_size: u64,
    summary: CompactionSummary,
}

impl std::fmt::Debug for PreparedCompaction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PreparedCompaction")
            .field("table", &self.which.name())
            .field("read_version", &self.read.version())
            .field("summary", &self.summary)
            .finish_non_exhaustive()
    }
}

impl PreparedCompaction {
    /// What the compaction rewrites.
    pub fn summary(&self) -> &CompactionSummary {
        &self.summary
    }

    /// Commits the removal of the old files and the addition of the new ones, and brings
    /// `table` up to date.
    ///
    /// # Errors
    ///
    /// [`CompactionError`] when the commit fails, notably when another compaction of the same
    /// table committed since this one read it ([`CompactionError::is_conflict`]).
    pub async fn commit(
        self,
        table: &mut DeltaTable,
    ) -> Result<CompactionSummary, CompactionError> {
        let error = CompactionError::new(self.which);
        let read_version = i64::try_from(self.read.version()).unwrap_or(i64::MAX);
        let properties = CommitProperties::default()
            .with_application_transactions(vec![Transaction::new(COMPACTION_APP_ID, read_version)])
            // Checkpoints and log cleanup are scheduled by the caller, not run inline.
            .with_create_checkpoint(false)
            .with_cleanup_expired_logs(Some(false));
        let operation = DeltaOperation::Optimize {
            predicate: None,
            target_size: i64::try_from(self.target_file_size).unwrap_or(i64::MAX),
        };
        let committed = CommitBuilder::from(properties)
            .with_actions(self.actions)
            .build(Some(&self.read), table.log_store(), operation)
            .await
            .map_err(error)?;
        let version = committed.version();
        table
            .update_state()
            .await
            .map_err(CompactionError::new(self.which))?;
        Ok(CompactionSummary {
            version: Some(version),
            ..self.summary
        })
    }
}

/// Refreshes `table`, then compacts it according to `policy` and commits.
///
/// # Errors
///
/// [`CompactionError`] when a file cannot be read or written, or the commit fails.
pub async fn compact(
    table: &mut DeltaTable,
    which: LakeTable,
    policy: &CompactionPolicy,
) -> Result<CompactionSummary, CompactionError> {
    table
        .update_state()
        .await
        .map_err(CompactionError::new(which))?;
    match prepare(table, which, policy).await? {
        Some(prepared) => prepared.commit(table).await,
        None => Ok(CompactionSummary::default()),
    }
}

/// Plans a compaction of `table` as it is loaded, and writes the merged files. Returns
/// `None` when no partition has enough small files.
///
/// # Errors
///
/// [`CompactionError`] when a file cannot be read or written.
pub async fn prepare(
    table: &DeltaTable,
    which: LakeTable,
    policy: &CompactionPolicy,
) -> Result<Option<PreparedCompaction>, CompactionError> {
    let error = CompactionError::new(which);
    let read = table.snapshot().map_err(error)?.clone();
    let views: Vec<LogicalFileView> = table
        .get_active_add_actions_by_partitions(&[])
        .try_collect()
        .await
        .map_err(CompactionError::new(which))?;
    let partitions: Vec<HashMap<String, Option<String>>> = views
        .iter()
        .map(LogicalFileView::partition_values_map)
        .collect();
    let sizes: Vec<FileSize> = views
        .iter()
        .zip(&partitions)
        .map(|(view, values)| FileSize {
            partition: partition_key(values),
            bytes: u64::try_from(view.size()).unwrap_or_default(),
        })
        .collect();
    let bins = plan(&sizes, policy);
    if bins.is_empty() {
        return Ok(None);
    }
    let mut actions = Vec::new();
    let mut summary = CompactionSummary {
        partitions: bins
            .iter()
            .map(|bin| &bin.partition)
            .collect::<std::collections::BTreeSet<_>>()
            .len(),
        ..CompactionSummary::default()
    };
    for bin in &bins {
        let date = partitions[bin.files[0]]
            .get(PARTITION_COLUMN)
            .cloned()
            .flatten()
            .ok_or_else(|| {
                CompactionError::new(which)(DeltaTableError::generic(format!(
                    "a file of partition `{}` has no {PARTITION_COLUMN}",
                    bin.partition
                )))
            })?;
        let files: Vec<&LogicalFileView> = bin.files.iter().map(|&index| &views[index]).collect();
        let adds = rewrite(table, which, &files, &date, policy)
            .await
            .map_err(CompactionError::new(which))?;
        summary.files_removed += files.len();
        summary.bytes_removed += bin.bytes;
        summary.files_added += adds.len();
        summary.bytes_added += adds
            .iter()
            .map(|add| u64::try_from(add.size).unwrap_or_default())
            .sum::<u64>();
        actions.extend(
            files
                .iter()
                .map(|file| Action::Remove(file.remove_action(false))),
        );
        actions.extend(adds.into_iter().map(|mut add| {
            add.data_change = false;
            Action::Add(add)
        }));
        debug!(table = which.name(), partition = %bin.partition, files = files.len(), "merged");
    }
    Ok(Some(PreparedCompaction {
        which,
        read,
        actions,
        target_file_size: policy.target_file_size,
        summary,
    }))
}

/// A stable key of a file's partition values.
fn partition_key(values: &HashMap<String, Option<String>>) -> String {
    let mut pairs: Vec<String> = values
        .iter()
        .map(|(column, value)| format!("{column}={}", value.as_deref().unwrap_or("")))
        .collect();
    pairs.sort();
    pairs.join("/")
}

/// Merges `files` (all of the partition whose date is `date`) into new files, written but
/// not committed, and returns their add actions.
async fn rewrite(
    table: &DeltaTable,
    which: LakeTable,
    files: &[&LogicalFileView],
    date: &str,
    policy: &CompactionPolicy,
) -> Result<Vec<deltalake::kernel::Add>, DeltaTableError> {
    let store = table.object_store();
    let mut sources = Vec::with_capacity(files.len());
    for file in files {
        let bytes = store
            .get_opts(&file.object_store_path(), Default::default())
            .await?
            .bytes()
            .await?;
        let reader = ParquetRecordBatchReaderBuilder::try_new(bytes)?
            .with_batch_size(BATCH_ROWS)
            .build()?;
        sources.push(reader);
    }
    let days = days_since_epoch(date)?;
    let mut writer = RecordBatchWriter::for_table(table)?
        .with_target_file_size(policy.target_file_size)
        .with_writer_properties(crate::tables::writer_properties());
    for batch in SortedMerge::new(sources, which.sort_columns(), BATCH_ROWS) {
        let batch = with_partition_column(batch?, days)?;
        writer.write(batch).await?;
    }
    writer.flush().await
}

/// The days since 1970-01-01 of a partition value written as `YYYY-MM-DD`.
fn days_since_epoch(date: &str) -> Result<i32, DeltaTableError> {
    let parsed = NaiveDate::parse_from_str(date, "%Y-%m-%d")
        .map_err(|error| DeltaTableError::generic(format!("partition date `{date}`: {error}")))?;
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).expect("the epoch is a date");
    i32::try_from((parsed - epoch).num_days())
        .map_err(|_| DeltaTableError::generic(format!("partition date `{date}` is out of range")))
}

/// Data files hold every column but the partition column; the writer wants it back.
fn with_partition_column(batch: RecordBatch, days: i32) -> Result<RecordBatch, ArrowError> {
    let mut fields: Vec<Field> = batch
        .schema()
        .fields()
        .iter()
        .map(|field| field.as_ref().clone())
        .collect();
    fields.push(Field::new(PARTITION_COLUMN, DataType::Date32, false));
    let mut columns = batch.columns().to_vec();
    columns.push(std::sync::Arc::new(Date32Array::from(vec![
        days;
        batch.num_rows()
    ])));
    RecordBatch::try_new(std::sync::Arc::new(Schema::new(fields)), columns)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partition_dates_count_days_from_the_epoch() {
        assert_eq!(days_since_epoch("1970-01-02").unwrap(), 1);
        assert_eq!(days_since_epoch("2026-04-12").unwrap(), 20_555);
        assert!(days_since_epoch("12/04/2026").is_err());
    }

    #[test]
    fn partition_keys_do_not_depend_on_map_order() {
        let a: HashMap<String, Option<String>> = [
            ("b".to_owned(), Some("2".to_owned())),
            ("a".to_owned(), None),
        ]
        .into();
        assert_eq!(partition_key(&a), "a=/b=2");
    }
}

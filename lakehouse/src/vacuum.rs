//! Vacuum: deleting the data files a table no longer references, once no reader can still
//! need them.
//!
//! A compaction commit removes a partition's small files from the table and adds the merged
//! file, but leaves the removed files on storage: a reader of an earlier version (a query
//! that planned before the commit, a notebook reading a pinned version) still opens them.
//! [`vacuum`] runs deltalake's own vacuum, in its full mode, with a retention period `R`:
//!
//! - a file the table removed (a `remove` action, a "tombstone") is deleted once it was
//!   removed more than `R` ago, so every version committed within `R` keeps its files;
//! - a file the log never referenced (written by a compaction or a flush whose commit lost
//!   a race) is deleted once it was last modified more than `R` ago, so a writer's file that
//!   is about to be committed is never touched;
//! - live files, and everything under `_delta_log`, are never deleted.
//!
//! Delta checkpoints keep a tombstone only for the table's deleted-file retention
//! (`delta.deletedFileRetentionDuration`, 7 days by default); after that a removed file
//! looks like one the log never referenced. A retention longer than the table's would let
//! such a file go by its age rather than by its removal, so it is refused
//! ([`VacuumError::RetentionTooLong`]). Within that bound the full mode also deletes the
//! removed files whose tombstones a checkpoint has already dropped.
//!
//! A vacuum commits two entries to the log (start and end, as every Delta vacuum does) that
//! carry no files and no `txn` action: the writers' source offsets stay as they were, and a
//! writer's or a compaction's concurrent commit does not conflict with them. Two vacuums of
//! the same table at once delete the same files; a file already gone counts as deleted.

use std::collections::HashMap;
use std::time::Duration;

use deltalake::kernel::transaction::CommitProperties;
use deltalake::logstore::object_store::ObjectStoreExt as _;
use deltalake::operations::vacuum::VacuumMode;
use deltalake::table::config::TablePropertiesExt as _;
use deltalake::{DeltaTable, DeltaTableError, Path};
use futures::{StreamExt as _, TryStreamExt as _};

use crate::LakeTable;

/// Concurrent size look-ups of the files a vacuum is about to delete.
const SIZE_LOOKUPS: usize = 16;

/// Why a vacuum did not complete.
#[derive(Debug, thiserror::Error)]
pub enum VacuumError {
    /// The table could not be opened.
    #[error(transparent)]
    Table(#[from] crate::TableError),
    /// The retention is longer than the table keeps the record of a removed file.
    #[error(
        "vacuuming table `{table}`: a retention of {retention:?} exceeds the table's deleted-file retention of {table_retention:?}"
    )]
    RetentionTooLong {
        /// The table.
        table: &'static str,
        /// The retention asked for.
        retention: Duration,
        /// The table's `delta.deletedFileRetentionDuration`.
        table_retention: Duration,
    },
    /// Delta Lake failed to read the table, list or delete its files, or commit.
    #[error("vacuuming table `{table}`: {source}")]
    Delta {
        /// The table.
        table: &'static str,
        /// The cause.
        #[source]
        source: Box<DeltaTableError>,
    },
}

impl VacuumError {
    fn delta(table: LakeTable) -> impl FnOnce(DeltaTableError) -> Self {
        move |source| Self::Delta {
            table: table.name(),
            source: Box::new(source),
        }
    }
}

/// What a vacuum deleted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VacuumSummary {
    /// Files deleted from storage.
    pub files_deleted: usize,
    /// Their total size in bytes, as listed just before the deletion.
    pub bytes_deleted: u64,
}

/// Refreshes `table`, then deletes the files it no longer references that were removed (or,
/// never referenced, last modified) more than `retention` ago, and brings `table` up to date.
///
/// # Errors
///
/// [`VacuumError::RetentionTooLong`] when `retention` exceeds the table's deleted-file
/// retention; [`VacuumError::Delta`] when the table cannot be read, its files listed or
/// deleted, or the vacuum's log entries committed.
pub async fn vacuum(
    table: &mut DeltaTable,
    which: LakeTable,
    retention: Duration,
) -> Result<VacuumSummary, VacuumError> {
    table
        .update_state()
        .await
        .map_err(VacuumError::delta(which))?;
    let table_retention = table
        .snapshot()
        .map_err(VacuumError::delta(which))?
        .table_config()
        .deleted_file_retention_duration();
    if retention > table_retention {
        return Err(VacuumError::RetentionTooLong {
            table: which.name(),
            retention,
            table_retention,
        });
    }
    let retention_period = chrono::Duration::from_std(retention)
        .expect("a retention within the table's deleted-file retention fits chrono");
    let builder = |table: DeltaTable| {
        table
            .vacuum()
            .with_mode(VacuumMode::Full)
            .with_retention_period(retention_period)
            // The bound that matters, the table's deleted-file retention, is checked above
            // as a ceiling; deltalake's own check would make it a floor.
            .with_enforce_retention_duration(false)
    };

    // A dry run first, to size the files before they are gone.
    let (_, planned) = builder(table.clone())
        .with_dry_run(true)
        .await
        .map_err(VacuumError::delta(which))?;
    if planned.files_deleted.is_empty() {
        return Ok(VacuumSummary::default());
    }
    let store = table.object_store();
    let sizes: HashMap<String, u64> = futures::stream::iter(planned.files_deleted)
        .map(|path| {
            let store = store.clone();
            async move {
                let location = Path::parse(&path).unwrap_or_else(|_| Path::from(path.as_str()));
                match store.head(&location).await {
                    Ok(meta) => Ok(Some((path, meta.size))),
                    Err(deltalake::ObjectStoreError::NotFound { .. }) => Ok(None),
                    Err(error) => Err(DeltaTableError::from(error)),
                }
            }
        })
        .buffer_unordered(SIZE_LOOKUPS)
        .try_filter_map(|sized| async move { Ok(sized) })
        .try_collect()
        .await
        .map_err(VacuumError::delta(which))?;

    // Checkpoints and log cleanup are scheduled by the caller, not run inline.
    let properties = CommitProperties::default()
        .with_create_checkpoint(false)
        .with_cleanup_expired_logs(Some(false));
    let (vacuumed, metrics) = builder(table.clone())
        .with_commit_properties(properties)
        .await
        .map_err(VacuumError::delta(which))?;
    *table = vacuumed;
    let bytes_deleted = metrics
        .files_deleted
        .iter()
        .filter_map(|path| sizes.get(path))
        .sum();
    Ok(VacuumSummary {
        files_deleted: metrics.files_deleted.len(),
        bytes_deleted,
    })
}

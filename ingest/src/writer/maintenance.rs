//! Keeping the tables quick to read while the writers fill them: checkpoints of the Delta log,
//! compaction of small files and vacuum of the files compaction replaced, in the background.
//!
//! Every flush adds a commit to a table's Delta log and a file to each date partition it
//! writes. A reader replays the log from its latest checkpoint, and a scan opens every file of
//! the partitions it reads, so both would grow slower by the hour without upkeep:
//!
//! - **Checkpoints.** The writers announce each version they commit on the table's
//!   [`CommitFeed`]; once the versions cross a multiple of
//!   [`MaintenancePolicy::checkpoint_every`] ([`CheckpointSchedule`]), a checkpoint of the
//!   announced version is written, then the log files older than the table's log retention
//!   (30 days by default) that a checkpoint makes redundant are deleted. The writers' own
//!   commits skip deltalake's inline checkpoint, so a slow checkpoint never delays a flush and
//!   a failed one never fails a commit that already landed.
//! - **Compaction.** Every [`MaintenancePolicy::compact_every`], the partitions that gathered
//!   enough small files are merged ([`tenet_lakehouse::compaction`]).
//! - **Vacuum.** Every [`MaintenancePolicy::vacuum_every`], the files the table no longer
//!   references (those compaction replaced, and those of commits that lost a race) are
//!   deleted from storage once they have been unreferenced for
//!   [`MaintenancePolicy::vacuum_retention`] ([`tenet_lakehouse::vacuum`]): a reader of any
//!   version committed within the retention still finds every file it needs.
//!
//! None moves a row or an offset. A checkpoint holds the latest `txn` action of every app
//! id (the tables set no `delta.setTransactionRetentionDuration`, so none expires), a
//! compaction commit carries only its own app id, and a vacuum's commits carry none: the
//! writers read the same source offsets back, and fence each other with them, before and
//! after any of them.

use std::num::NonZeroU64;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tenet_lakehouse::compaction::{self, CompactionPolicy, CompactionSummary};
use tenet_lakehouse::deltalake::DeltaTableError;
use tenet_lakehouse::deltalake::checkpoints::create_checkpoint_from_table_url_and_cleanup;
use tenet_lakehouse::vacuum::{VacuumError, VacuumSummary};
use tenet_lakehouse::{Lake, LakeTable};
use tokio::sync::watch;
use tracing::{debug, info, warn};

/// How the lake writers look after the tables they write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MaintenancePolicy {
    /// Write a checkpoint of a table's Delta log each time its version crosses a multiple of
    /// this; `None`: never.
    pub checkpoint_every: Option<NonZeroU64>,
    /// How often each table is looked at for small files to compact; `None`: never.
    pub compact_every: Option<Duration>,
    /// What compaction rewrites.
    pub compaction: CompactionPolicy,
    /// How often each table's unreferenced files are looked for and deleted; `None`: never.
    pub vacuum_every: Option<Duration>,
    /// How long a file stays on storage after the table stopped referencing it (at most the
    /// tables' deleted-file retention, [`MAX_VACUUM_RETENTION`]).
    pub vacuum_retention: Duration,
}

/// The longest vacuum retention: the deleted-file retention of the lake's tables (Delta's
/// default, 7 days), for which their checkpoints remember a removed file.
pub const MAX_VACUUM_RETENTION: Duration = Duration::from_secs(7 * 24 * 3600);

/// The shortest vacuum retention a deployment may configure: longer than any query, any
/// reader's cached table state and any writer's file awaiting its commit.
pub const MIN_VACUUM_RETENTION: Duration = Duration::from_secs(3600);

impl Default for MaintenancePolicy {
    fn default() -> Self {
        Self {
            checkpoint_every: NonZeroU64::new(100),
            compact_every: Some(Duration::from_secs(600)),
            compaction: CompactionPolicy::default(),
            vacuum_every: Some(Duration::from_secs(3600)),
            vacuum_retention: MAX_VACUUM_RETENTION,
        }
    }
}

impl MaintenancePolicy {
    /// No checkpoints, no compaction and no vacuum.
    pub fn none() -> Self {
        Self {
            checkpoint_every: None,
            compact_every: None,
            compaction: CompactionPolicy::default(),
            vacuum_every: None,
            vacuum_retention: MAX_VACUUM_RETENTION,
        }
    }
}

/// When a checkpoint is due: each time the committed versions cross a multiple of `every`.
///
/// Counting from absolute multiples rather than from the last checkpoint this process wrote
/// keeps the schedule free of state: a writer restarted often still checkpoints once every
/// `every` versions, and several writer processes sharing a table checkpoint the same few
/// versions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckpointSchedule {
    every: NonZeroU64,
    last: Option<u64>,
}

impl CheckpointSchedule {
    /// A schedule that has seen no version yet.
    pub fn new(every: NonZeroU64) -> Self {
        Self { every, last: None }
    }

    /// Notes that the table reached `version`; returns whether a checkpoint of it is due.
    /// The first version seen only sets the starting point.
    pub fn observe(&mut self, version: u64) -> bool {
        let every = self.every.get();
        let due = match self.last {
            Some(last) if version > last => version / every > last / every,
            Some(_) => return false,
            None => false,
        };
        self.last = Some(version);
        due
    }
}

/// The versions committed to one table, announced by every writer that commits to it and
/// watched by the table's maintenance.
#[derive(Debug, Clone)]
pub struct CommitFeed(Arc<watch::Sender<Option<u64>>>);

impl Default for CommitFeed {
    fn default() -> Self {
        Self(Arc::new(watch::channel(None).0))
    }
}

impl CommitFeed {
    /// Announces that `version` was committed; an older version than one announced before
    /// is ignored.
    pub fn announce(&self, version: u64) {
        self.0.send_if_modified(|latest| {
            if latest.is_some_and(|latest| latest >= version) {
                false
            } else {
                *latest = Some(version);
                true
            }
        });
    }

    /// The latest version announced, and every later announcement.
    pub fn subscribe(&self) -> watch::Receiver<Option<u64>> {
        self.0.subscribe()
    }
}

/// Looks after one table until `stop` turns true: checkpoints as versions are announced on
/// `feed`, compaction and vacuum at the policy's intervals. Failures are logged and retried at the next
/// occasion; nothing they leave behind is visible to readers.
pub(crate) async fn maintain(
    lake: Lake,
    which: LakeTable,
    policy: MaintenancePolicy,
    feed: CommitFeed,
    mut stop: watch::Receiver<bool>,
) {
    let mut commits = feed.subscribe();
    let mut schedule = policy.checkpoint_every.map(CheckpointSchedule::new);
    let mut compactions = policy.compact_every.map(every);
    let mut vacuums = policy.vacuum_every.map(every);
    loop {
        tokio::select! {
            biased;
            () = stopped(&mut stop) => return,
            changed = commits.changed() => {
                if changed.is_err() {
                    return;
                }
                let version = *commits.borrow_and_update();
                if let (Some(schedule), Some(version)) = (schedule.as_mut(), version)
                    && schedule.observe(version)
                {
                    tokio::select! {
                        () = stopped(&mut stop) => return,
                        () = checkpoint_in_background(&lake, which, version) => {}
                    }
                }
            }
            () = tick(compactions.as_mut()) => {
                tokio::select! {
                    () = stopped(&mut stop) => return,
                    () = compact(&lake, which, &policy.compaction, &feed) => {}
                }
            }
            () = tick(vacuums.as_mut()) => {
                tokio::select! {
                    () = stopped(&mut stop) => return,
                    () = vacuum_in_background(&lake, which, policy.vacuum_retention) => {}
                }
            }
        }
    }
}

/// Ticks every `period`, the first time one `period` from now.
fn every(period: Duration) -> tokio::time::Interval {
    let mut interval = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    interval
}

/// Completes once `stop` turns true (or its sender is gone).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|&stop| stop).await;
}

/// The next tick of `interval`, or never.
async fn tick(interval: Option<&mut tokio::time::Interval>) {
    match interval {
        Some(interval) => {
            interval.tick().await;
        }
        None => std::future::pending().await,
    }
}

/// Writes a checkpoint of `which` at `version`, then deletes the log files that the table's
/// log retention (30 days by default) has expired and a checkpoint makes redundant.
///
/// # Errors
///
/// When the table cannot be loaded at `version` or the checkpoint cannot be written.
pub async fn checkpoint(
    lake: &Lake,
    which: LakeTable,
    version: u64,
) -> Result<(), DeltaTableError> {
    create_checkpoint_from_table_url_and_cleanup(lake.table_url(which), version, None, None).await
}

async fn checkpoint_in_background(lake: &Lake, which: LakeTable, version: u64) {
    let started = Instant::now();
    let outcome = checkpoint(lake, which, version).await;
    let status = match &outcome {
        Ok(()) => "ok",
        Err(_) => "error",
    };
    metrics::counter!("tenet_lake_checkpoints_total", "table" => which.name(), "status" => status)
        .increment(1);
    match outcome {
        Ok(()) => {
            metrics::histogram!("tenet_lake_checkpoint_duration_seconds", "table" => which.name())
                .record(started.elapsed().as_secs_f64());
            debug!(table = which.name(), version, "checkpointed the Delta log");
        }
        Err(error) => {
            warn!(table = which.name(), version, %error, "could not checkpoint the Delta log; the next checkpoint is due after more commits");
        }
    }
}

/// Deletes the files of `which` that the table stopped referencing more than `retention`
/// ago ([`tenet_lakehouse::vacuum::vacuum`]).
///
/// # Errors
///
/// When the table cannot be opened, `retention` exceeds the table's deleted-file retention,
/// or the vacuum fails.
pub async fn vacuum(
    lake: &Lake,
    which: LakeTable,
    retention: Duration,
) -> Result<VacuumSummary, VacuumError> {
    let mut table = lake.open_or_create(which).await?;
    tenet_lakehouse::vacuum::vacuum(&mut table, which, retention).await
}

async fn vacuum_in_background(lake: &Lake, which: LakeTable, retention: Duration) {
    let started = Instant::now();
    match vacuum(lake, which, retention).await {
        Ok(summary) => {
            metrics::counter!("tenet_lake_vacuums_total", "table" => which.name(), "status" => "ok")
                .increment(1);
            metrics::counter!("tenet_lake_vacuumed_files_total", "table" => which.name())
                .increment(summary.files_deleted as u64);
            metrics::counter!("tenet_lake_vacuumed_bytes_total", "table" => which.name())
                .increment(summary.bytes_deleted);
            metrics::histogram!("tenet_lake_vacuum_duration_seconds", "table" => which.name())
                .record(started.elapsed().as_secs_f64());
            if summary.files_deleted > 0 {
                info!(
                    table = which.name(),
                    files_deleted = summary.files_deleted,
                    bytes_deleted = summary.bytes_deleted,
                    "vacuumed files the table no longer references"
                );
            }
        }
        Err(error) => {
            metrics::counter!("tenet_lake_vacuums_total", "table" => which.name(), "status" => "error")
                .increment(1);
            // A failed vacuum loses nothing: the files it did not delete wait for the next.
            warn!(table = which.name(), %error, "could not vacuum; retrying at the next interval");
        }
    }
}

async fn compact(lake: &Lake, which: LakeTable, policy: &CompactionPolicy, feed: &CommitFeed) {
    let started = Instant::now();
    // Opened afresh each time rather than kept: the writer already holds the table's state,
    // and compaction runs seldom enough to afford loading it from the last checkpoint.
    let mut table = match lake.open_or_create(which).await {
        Ok(table) => table,
        Err(error) => {
            warn!(table = which.name(), %error, "could not open the table to compact it");
            return;
        }
    };
    let outcome = compaction::compact(&mut table, which, policy).await;
    match outcome {
        Ok(CompactionSummary { version: None, .. }) => {}
        Ok(summary) => {
            metrics::counter!("tenet_lake_compactions_total", "table" => which.name(), "status" => "ok")
                .increment(1);
            metrics::counter!("tenet_lake_compacted_files_total", "table" => which.name())
                .increment(summary.files_removed as u64);
            metrics::histogram!("tenet_lake_compaction_duration_seconds", "table" => which.name())
                .record(started.elapsed().as_secs_f64());
            if let Some(version) = summary.version {
                feed.announce(version);
            }
            info!(
                table = which.name(),
                version = summary.version,
                partitions = summary.partitions,
                files_removed = summary.files_removed,
                files_added = summary.files_added,
                bytes_removed = summary.bytes_removed,
                bytes_added = summary.bytes_added,
                "compacted small files"
            );
        }
        Err(error) => {
            let status = if error.is_conflict() {
                "conflict"
            } else {
                "error"
            };
            metrics::counter!("tenet_lake_compactions_total", "table" => which.name(), "status" => status)
                .increment(1);
            // A failed compaction loses nothing: its files were never committed.
            if error.is_conflict() {
                info!(table = which.name(), %error, "another compaction of the table committed first");
            } else {
                warn!(table = which.name(), %error, "could not compact; retrying at the next interval");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn every(n: u64) -> CheckpointSchedule {
        CheckpointSchedule::new(NonZeroU64::new(n).unwrap())
    }

    #[test]
    fn a_checkpoint_is_due_each_time_the_versions_cross_a_multiple() {
        let mut schedule = every(10);
        assert!(!schedule.observe(7), "the first version sets the start");
        assert!(!schedule.observe(9));
        assert!(schedule.observe(10));
        assert!(!schedule.observe(11));
        assert!(!schedule.observe(19));
        assert!(schedule.observe(23), "a skipped multiple still counts");
        assert!(schedule.observe(40));
        assert!(!schedule.observe(41));
    }

    #[test]
    fn versions_seen_out_of_order_are_ignored() {
        let mut schedule = every(10);
        schedule.observe(12);
        assert!(!schedule.observe(8));
        assert!(schedule.observe(20));
        assert!(!schedule.observe(20));
    }

    #[test]
    fn a_restart_on_a_multiple_waits_for_the_next_one() {
        let mut schedule = every(5);
        assert!(!schedule.observe(10));
        assert!(!schedule.observe(14));
        assert!(schedule.observe(15));
    }

    #[test]
    fn the_feed_keeps_the_latest_version() {
        let feed = CommitFeed::default();
        let watcher = feed.subscribe();
        feed.announce(4);
        feed.announce(3);
        assert_eq!(*watcher.borrow(), Some(4));
        feed.announce(9);
        assert_eq!(*watcher.borrow(), Some(9));
    }
}

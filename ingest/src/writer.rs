//! The lake writer: consumes one event family's topic and lands every record exactly once,
//! as a row of the family's Delta table or as a dead letter.
//!
//! The shape follows delta-io/kafka-delta-ingest. The writer reads every partition of the
//! topic, decodes each record, and buffers rows until the [`FlushPolicy`] says to flush
//! (rows, bytes or latency). A flush writes the Parquet files (rows sorted by tenant) and
//! commits them in one Delta commit together with an app-transaction (`txn`) action per
//! source partition whose version is the partition's next offset. On start the writer reads
//! those versions back and resumes from them, so a crash at any point neither loses nor
//! duplicates rows. The log's own consumer-group offset is committed afterwards and only
//! serves lag tooling. See [`offsets`] for how dead letters, which live in a second table,
//! keep the same guarantee, and how a stale writer is fenced off.
//!
//! With Kafka, several writer processes share a topic through a consumer group: each reads
//! only the partitions the group assigned to it ([`EventLog::assigned`]), still positioned by
//! the versions in the lake, and [`assignment`] decides what happens to its buffer when
//! partitions move.
//!
//! [`LakeWriters`], the writers a process runs, also look after the tables they fill:
//! [`maintenance`] checkpoints the Delta logs, compacts small files and vacuums the files
//! compaction replaced, in the background.
//!
//! The decisions are in the pure core ([`flush`], [`offsets`], [`batch`], [`assignment`],
//! [`maintenance`]'s schedule); this module is the I/O around them.

pub mod assignment;
pub mod batch;
pub mod flush;
pub mod maintenance;
pub mod offsets;

use std::collections::BTreeSet;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tenet_events::{Envelope, EventFamily};
use tenet_lakehouse::deltalake::arrow::array::RecordBatch;
use tenet_lakehouse::deltalake::kernel::Transaction;
use tenet_lakehouse::deltalake::kernel::transaction::CommitProperties;
use tenet_lakehouse::deltalake::writer::{DeltaWriter as _, RecordBatchWriter};
use tenet_lakehouse::deltalake::{DeltaTable, DeltaTableError};
use tenet_lakehouse::{Lake, LakeTable, TableError};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::{debug, error, info, instrument, warn};

pub use flush::{FlushPolicy, FlushReason, FlushWindow};
pub use maintenance::{CheckpointSchedule, CommitFeed, MaintenancePolicy};
pub use offsets::{OffsetBook, PartitionCursor, Route, TxnVersion, app_id};

use crate::dead_letter::{DeadLetter, dead_letter_batch};
use crate::log::{
    EventLog, GroupId, LogError, Offset, ReadLimits, StoredRecord, TopicName, TopicPartition,
};
use assignment::{Rebalance, plan};
use batch::{BatchError, EventBuffer};
use offsets::{offset_of_version, version_of_offset};

/// The consumer group the lake writers commit their log offsets under (for lag only).
pub const DEFAULT_GROUP: &str = "tenet-lake-writer";

/// How one lake writer runs.
#[derive(Debug, Clone)]
pub struct LakeWriterConfig {
    /// The family whose topic this writer consumes and whose table it writes.
    pub family: EventFamily,
    /// The topic it consumes: the family's own ([`TopicName::of_family`]) unless a
    /// deployment names its topics differently (a shared cluster with one prefix per
    /// environment).
    pub topic: TopicName,
    /// The consumer group the log offsets are committed under, after each Delta commit.
    pub group: GroupId,
    /// When to flush.
    pub flush: FlushPolicy,
    /// At most this many records per read of one partition.
    pub read_max_records: usize,
    /// About this many payload bytes per read of one partition.
    pub read_max_bytes: usize,
    /// How long to sleep when every partition is caught up.
    pub idle_wait: Duration,
}

impl LakeWriterConfig {
    /// The defaults for a family: its own topic, group [`DEFAULT_GROUP`], the default
    /// [`FlushPolicy`].
    pub fn new(family: EventFamily) -> Self {
        Self {
            family,
            topic: TopicName::of_family(family),
            group: GroupId::parse(DEFAULT_GROUP).expect("the default group name is legal"),
            flush: FlushPolicy::default(),
            read_max_records: 10_000,
            read_max_bytes: 4 * 1024 * 1024,
            idle_wait: Duration::from_millis(100),
        }
    }
}

/// Why the lake writer stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WriterError {
    /// A table could not be opened or created.
    #[error(transparent)]
    Table(Box<TableError>),
    /// The event log failed.
    #[error("event log: {0}")]
    Log(#[from] LogError),
    /// Delta Lake failed to write or commit.
    #[error("table `{table}`: {source}")]
    Delta {
        /// The table.
        table: &'static str,
        /// The cause.
        #[source]
        source: Box<DeltaTableError>,
    },
    /// Buffered rows did not fit the table (a bug in the event contract).
    #[error(transparent)]
    Batch(#[from] BatchError),
    /// Another writer committed this partition since this one last did: this writer is
    /// stale and must stop (a restart resumes from the table).
    #[error(
        "fenced: table `{table}` holds version {found:?} for {partition}, this writer expected {expected:?}"
    )]
    Fenced {
        /// The table.
        table: &'static str,
        /// The source partition.
        partition: TopicPartition,
        /// The version this writer last saw.
        expected: Option<Offset>,
        /// The version in the table.
        found: Option<Offset>,
    },
    /// An earlier commit failed; what is buffered is no longer known to match the tables.
    /// Reopen the writer, which resumes from the tables.
    #[error("an earlier commit failed; reopen the writer")]
    Poisoned,
}

impl From<TableError> for WriterError {
    fn from(error: TableError) -> Self {
        WriterError::Table(Box::new(error))
    }
}

/// What one flush committed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlushSummary {
    /// Why it flushed.
    pub reason: FlushReason,
    /// Event rows landed.
    pub rows: usize,
    /// Dead letters landed.
    pub dead_letters: usize,
    /// The events table's version after the commit.
    pub events_version: i64,
    /// The committed next offset of each partition that advanced.
    pub offsets: Vec<(u32, Offset)>,
}

/// The lake writer of one event family. See the [module docs](self).
pub struct LakeWriter<L: EventLog + ?Sized> {
    log: Arc<L>,
    config: LakeWriterConfig,
    topic: TopicName,
    events: DeltaTable,
    dead_letters: DeltaTable,
    book: OffsetBook,
    buffer: EventBuffer,
    letters: Vec<DeadLetter>,
    window: FlushWindow,
    log_commits: Vec<(u32, Offset)>,
    poisoned: bool,
    feeds: Option<TableFeeds>,
}

/// Where a writer announces the versions it commits to its two tables.
#[derive(Debug, Clone, Default)]
struct TableFeeds {
    events: CommitFeed,
    dead_letters: CommitFeed,
}

impl<L: EventLog + ?Sized> std::fmt::Debug for LakeWriter<L> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LakeWriter")
            .field("topic", &self.topic)
            .field("book", &self.book)
            .field("window", &self.window)
            .finish_non_exhaustive()
    }
}

impl<L: EventLog + ?Sized> LakeWriter<L> {
    /// Opens the family's table and the dead-letter table under `lake` (creating them when
    /// missing) and resumes every partition of the topic from the offsets stored in them.
    ///
    /// # Errors
    ///
    /// [`WriterError::Table`] when a table cannot be opened or created; log errors.
    #[instrument(skip_all, fields(family = %config.family))]
    pub async fn open(
        log: Arc<L>,
        lake: &Lake,
        config: LakeWriterConfig,
    ) -> Result<Self, WriterError> {
        let events = lake
            .open_or_create(LakeTable::Events(config.family))
            .await?;
        let dead_letters = lake.open_or_create(LakeTable::DeadLetters).await?;
        let mut writer = Self {
            log,
            topic: config.topic.clone(),
            buffer: EventBuffer::new(config.family.arrow_schema())?,
            config,
            events,
            dead_letters,
            book: OffsetBook::default(),
            letters: Vec::new(),
            window: FlushWindow::default(),
            log_commits: Vec::new(),
            poisoned: false,
            feeds: None,
        };
        writer.discover_partitions().await?;
        Ok(writer)
    }

    /// Announces every version this writer commits on `events` (its family's table) and
    /// `dead_letters`, for the tables' maintenance to checkpoint in time.
    pub fn with_commit_feeds(mut self, events: CommitFeed, dead_letters: CommitFeed) -> Self {
        self.feeds = Some(TableFeeds {
            events,
            dead_letters,
        });
        self
    }

    /// The topic this writer consumes.
    pub fn topic(&self) -> &TopicName {
        &self.topic
    }

    /// The offsets of every partition this writer consumes.
    pub fn offsets(&self) -> &OffsetBook {
        &self.book
    }

    /// Runs until `shutdown` completes, then flushes what is buffered and returns.
    ///
    /// # Errors
    ///
    /// The first [`WriterError`]; the caller restarts the writer (after a pause), which
    /// resumes from the tables.
    pub async fn run(mut self, shutdown: impl Future<Output = ()>) -> Result<(), WriterError> {
        let mut shutdown = std::pin::pin!(shutdown);
        loop {
            let read = self.poll().await?;
            let wait = if read == 0 {
                let now = Instant::now();
                let until_due = self
                    .window
                    .deadline(&self.config.flush)
                    .map_or(self.config.idle_wait, |deadline| {
                        deadline.saturating_duration_since(now)
                    });
                self.config.idle_wait.min(until_due)
            } else {
                Duration::ZERO
            };
            tokio::select! {
                biased;
                () = &mut shutdown => break,
                () = tokio::time::sleep(wait) => {}
            }
        }
        self.flush(FlushReason::Requested).await?;
        info!(topic = %self.topic, "lake writer stopped");
        Ok(())
    }

    /// Reads once from every partition (without waiting), routes the records, and flushes
    /// when the policy says so. Returns how many records were read.
    ///
    /// # Errors
    ///
    /// Log and lake errors; [`WriterError::Fenced`] when another writer took over.
    pub async fn poll(&mut self) -> Result<usize, WriterError> {
        self.check_poisoned()?;
        self.discover_partitions().await?;
        let limits = ReadLimits {
            max_records: self.config.read_max_records,
            max_bytes: self.config.read_max_bytes,
            max_wait: Duration::ZERO,
        };
        let partitions: Vec<(u32, Offset)> = self
            .book
            .iter()
            .map(|(partition, cursor)| (partition, cursor.next_read()))
            .collect();
        let mut read = 0;
        for (partition, from) in partitions {
            let source = TopicPartition::new(self.topic.clone(), partition);
            let records = self.log.read(&source, from, limits).await?;
            read += records.len();
            let now = Instant::now();
            for record in records {
                self.route(&source, record, now);
            }
        }
        if let Some(reason) = self.window.due(&self.config.flush, Instant::now()) {
            self.flush(reason).await?;
        }
        Ok(read)
    }

    /// Commits what is buffered to the lake, then the log offsets (for lag).
    ///
    /// # Errors
    ///
    /// Lake errors (the writer is then poisoned and must be reopened);
    /// [`WriterError::Fenced`].
    pub async fn flush(
        &mut self,
        reason: FlushReason,
    ) -> Result<Option<FlushSummary>, WriterError> {
        let summary = self.commit_lake(reason).await?;
        self.commit_log_offsets().await;
        Ok(summary)
    }

    /// Commits what is buffered to the lake: dead letters first, then the events with every
    /// advanced partition's next offset, in one Delta commit per table. The log offsets are
    /// left for [`LakeWriter::commit_log_offsets`]. Returns `None` when nothing was read
    /// since the last commit.
    ///
    /// # Errors
    ///
    /// Lake errors (the writer is then poisoned and must be reopened);
    /// [`WriterError::Fenced`].
    #[instrument(skip_all, fields(topic = %self.topic, reason = reason.as_str()))]
    pub async fn commit_lake(
        &mut self,
        reason: FlushReason,
    ) -> Result<Option<FlushSummary>, WriterError> {
        self.check_poisoned()?;
        let dead_txns = self.book.dead_letter_txns();
        let event_txns = self.book.event_txns();
        if dead_txns.is_empty() && event_txns.is_empty() {
            self.window.reset();
            return Ok(None);
        }
        self.poisoned = true;

        let dead_letters = self.letters.len();
        if !self.letters.is_empty() {
            let batch = dead_letter_batch(&self.letters)?;
            let version = commit(
                &self.topic,
                &mut self.dead_letters,
                LakeTable::DeadLetters,
                Some(batch),
                &dead_txns,
            )
            .await?;
            self.book.dead_letters_committed(&dead_txns);
            if let Some(feeds) = &self.feeds {
                feeds.dead_letters.announce(version);
            }
            metrics::counter!("tenet_lake_dead_letters_total", "topic" => self.topic.to_string())
                .increment(dead_letters as u64);
            warn!(topic = %self.topic, dead_letters, "records landed in the dead-letter table");
        }

        let rows = self.buffer.len();
        let batch = self.buffer.take_batch()?;
        let table = LakeTable::Events(self.config.family);
        let version = commit(&self.topic, &mut self.events, table, batch, &event_txns).await?;
        self.book.events_committed(&event_txns);
        if let Some(feeds) = &self.feeds {
            feeds.events.announce(version);
        }
        let events_version = i64::try_from(version).map_err(|_| WriterError::Delta {
            table: table.name(),
            source: Box::new(DeltaTableError::generic("table version overflow")),
        })?;

        self.letters.clear();
        self.window.reset();
        self.poisoned = false;
        let offsets: Vec<(u32, Offset)> = event_txns
            .iter()
            .map(|txn| (txn.partition, txn.next))
            .collect();
        self.log_commits.clone_from(&offsets);
        debug!(rows, dead_letters, events_version, "landed");
        Ok(Some(FlushSummary {
            reason,
            rows,
            dead_letters,
            events_version,
            offsets,
        }))
    }

    /// Commits the offsets of the last lake commit to the log's consumer group and updates
    /// the lag gauge. Failures are logged, not returned: these offsets only feed lag tooling,
    /// the lake holds the ones that matter.
    pub async fn commit_log_offsets(&mut self) {
        for (partition, next) in std::mem::take(&mut self.log_commits) {
            let source = TopicPartition::new(self.topic.clone(), partition);
            if let Err(error) = self.log.commit(&self.config.group, &source, next).await {
                warn!(%source, %error, "could not commit the lake writer's log offset");
            }
            if let Ok(range) = self.log.offset_range(&source).await {
                let lag = range.end.0.saturating_sub(next.0);
                metrics::gauge!(
                    "tenet_lake_consumer_lag",
                    "topic" => self.topic.to_string(),
                    "partition" => partition.to_string()
                )
                .set(lag as f64);
            }
        }
    }

    fn check_poisoned(&self) -> Result<(), WriterError> {
        if self.poisoned {
            Err(WriterError::Poisoned)
        } else {
            Ok(())
        }
    }

    fn route(&mut self, source: &TopicPartition, record: StoredRecord, now: Instant) {
        let Some(cursor) = self.book.get_mut(source.partition) else {
            return;
        };
        let offset = record.offset;
        let (bytes, dead_letter) = match Envelope::from_json(&record.value) {
            Ok(envelope) if envelope.family() == self.config.family => {
                match cursor.route_event(offset) {
                    Route::Land => {
                        self.buffer.push(envelope);
                        (record.value.len(), false)
                    }
                    Route::AlreadyLanded => (0, false),
                }
            }
            decoded => match cursor.route_dead_letter(offset) {
                Route::Land => {
                    let letter = match decoded {
                        Ok(envelope) => DeadLetter::wrong_topic(source, &record, envelope.family()),
                        Err(error) => DeadLetter::undecodable(source, &record, &error),
                    };
                    self.letters.push(letter);
                    (record.value.len(), true)
                }
                Route::AlreadyLanded => (0, false),
            },
        };
        cursor.advance(offset, dead_letter);
        // Records already landed still count, so their offsets get committed in time.
        self.window.record(bytes, now);
    }

    /// Follows the partitions this writer should consume: every partition of the topic, or
    /// those the consumer group assigned to this process (see [`assignment`]). Partitions
    /// gained resume from the versions stored in the tables.
    async fn discover_partitions(&mut self) -> Result<(), WriterError> {
        let count = match self.log.partition_count(&self.topic).await {
            Ok(count) => count,
            Err(LogError::UnknownTopic(_)) => 0,
            Err(error) => return Err(error.into()),
        };
        let owned: BTreeSet<u32> = match self.log.assigned(&self.config.group, &self.topic).await? {
            None => (0..count).collect(),
            Some(assigned) => assigned.into_iter().filter(|&p| p < count).collect(),
        };
        let held: BTreeSet<u32> = self.book.iter().map(|(partition, _)| partition).collect();
        let resume = match plan(&held, &owned) {
            Rebalance::Keep => return Ok(()),
            Rebalance::Resume(gained) => gained,
            Rebalance::Reset(owned) => {
                info!(
                    topic = %self.topic,
                    lost = ?held.difference(&owned).collect::<Vec<_>>(),
                    "partitions moved to another writer; dropping the buffer and resuming from the lake"
                );
                self.book = OffsetBook::default();
                self.buffer.clear();
                self.letters.clear();
                self.window.reset();
                self.log_commits.clear();
                owned
            }
        };
        refresh(&mut self.events, LakeTable::Events(self.config.family)).await?;
        refresh(&mut self.dead_letters, LakeTable::DeadLetters).await?;
        for partition in resume {
            let source = TopicPartition::new(self.topic.clone(), partition);
            let app = app_id(&self.topic, partition);
            let events =
                stored_version(&self.events, LakeTable::Events(self.config.family), &app).await?;
            let dead = stored_version(&self.dead_letters, LakeTable::DeadLetters, &app).await?;
            let range = self.log.offset_range(&source).await?;
            let cursor = PartitionCursor::resume(events, dead, range.start);
            if cursor.skipped_by_retention() > 0 {
                error!(
                    %source,
                    lost = cursor.skipped_by_retention(),
                    "log retention removed records before they landed in the lake"
                );
            }
            info!(%source, from = %cursor.next_read(), "lake writer resumes partition");
            self.book.insert(partition, cursor);
        }
        Ok(())
    }
}

/// The lake writers of several families running as tasks, each reopened (resuming from the
/// lake) after a failure, and the [`maintenance`] of the tables they write, until
/// [`LakeWriters::shutdown`].
///
/// ```no_run
/// # async fn wire(log: std::sync::Arc<tenet_ingest::EmbeddedLog>, lake: tenet_lakehouse::Lake) {
/// use tenet_events::EventFamily;
/// use tenet_ingest::{LakeWriterConfig, LakeWriters, MaintenancePolicy};
///
/// let configs = EventFamily::ALL.into_iter().map(LakeWriterConfig::new).collect();
/// let writers = LakeWriters::spawn(log, lake, configs, MaintenancePolicy::default());
/// // ... serve until asked to stop ...
/// writers.shutdown().await; // flushes what is buffered
/// # }
/// ```
#[derive(Debug)]
pub struct LakeWriters {
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl LakeWriters {
    /// Starts one writer per config on the current Tokio runtime, and the maintenance of
    /// each table they write (their families' tables and the dead-letter table) under
    /// `policy`.
    pub fn spawn<L: EventLog + 'static>(
        log: Arc<L>,
        lake: Lake,
        configs: Vec<LakeWriterConfig>,
        policy: MaintenancePolicy,
    ) -> Self {
        let (stop, stopped) = watch::channel(false);
        let dead_letters = CommitFeed::default();
        let mut tasks = Vec::with_capacity(2 * configs.len() + 1);
        tasks.push(tokio::spawn(maintenance::maintain(
            lake.clone(),
            LakeTable::DeadLetters,
            policy,
            dead_letters.clone(),
            stopped.clone(),
        )));
        for config in configs {
            let feeds = TableFeeds {
                events: CommitFeed::default(),
                dead_letters: dead_letters.clone(),
            };
            tasks.push(tokio::spawn(maintenance::maintain(
                lake.clone(),
                LakeTable::Events(config.family),
                policy,
                feeds.events.clone(),
                stopped.clone(),
            )));
            tasks.push(tokio::spawn(supervise(
                log.clone(),
                lake.clone(),
                config,
                feeds,
                stopped.clone(),
            )));
        }
        Self { stop, tasks }
    }

    /// Asks every writer to stop, and waits while each flushes what it buffered.
    pub async fn shutdown(self) {
        self.stop.send_replace(true);
        for task in self.tasks {
            if let Err(error) = task.await {
                error!(%error, "a lake writer task panicked");
            }
        }
    }
}

/// Runs one family's writer until `stop` turns true, reopening it after failures with a
/// capped exponential backoff.
async fn supervise<L: EventLog + 'static>(
    log: Arc<L>,
    lake: Lake,
    config: LakeWriterConfig,
    feeds: TableFeeds,
    mut stop: watch::Receiver<bool>,
) {
    const FIRST_BACKOFF: Duration = Duration::from_millis(500);
    const MAX_BACKOFF: Duration = Duration::from_secs(30);
    let mut backoff = FIRST_BACKOFF;
    loop {
        if *stop.borrow() {
            return;
        }
        let started = Instant::now();
        let outcome = match LakeWriter::open(log.clone(), &lake, config.clone()).await {
            Ok(writer) => {
                let mut stopped = stop.clone();
                writer
                    .with_commit_feeds(feeds.events.clone(), feeds.dead_letters.clone())
                    .run(async move {
                        let _ = stopped.wait_for(|&stop| stop).await;
                    })
                    .await
            }
            Err(error) => Err(error),
        };
        let Err(error) = outcome else {
            return;
        };
        if started.elapsed() > MAX_BACKOFF {
            backoff = FIRST_BACKOFF;
        }
        error!(family = %config.family, %error, retry_in = ?backoff, "lake writer failed; it resumes from the lake");
        tokio::select! {
            _ = stop.wait_for(|&stop| stop) => return,
            () = tokio::time::sleep(backoff) => {}
        }
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

async fn refresh(table: &mut DeltaTable, which: LakeTable) -> Result<(), WriterError> {
    table
        .update_state()
        .await
        .map_err(|source| WriterError::Delta {
            table: which.name(),
            source: Box::new(source),
        })
}

async fn stored_version(
    table: &DeltaTable,
    which: LakeTable,
    app: &str,
) -> Result<Option<Offset>, WriterError> {
    let delta = |source: DeltaTableError| WriterError::Delta {
        table: which.name(),
        source: Box::new(source),
    };
    let version = table
        .snapshot()
        .map_err(delta)?
        .transaction_version(table.log_store().as_ref(), app)
        .await
        .map_err(delta)?;
    Ok(version.and_then(offset_of_version))
}

/// Commits `batch` (when there is one) to `table` with the app-transactions `txns`, after
/// checking that no other writer moved them.
async fn commit(
    topic: &TopicName,
    table: &mut DeltaTable,
    which: LakeTable,
    batch: Option<RecordBatch>,
    txns: &[TxnVersion],
) -> Result<u64, WriterError> {
    let started = Instant::now();
    let delta = |source: DeltaTableError| WriterError::Delta {
        table: which.name(),
        source: Box::new(source),
    };
    refresh(table, which).await?;
    for txn in txns {
        let found = stored_version(table, which, &app_id(topic, txn.partition)).await?;
        if found != txn.expected {
            let partition = TopicPartition::new(topic.clone(), txn.partition);
            error!(%partition, ?found, expected = ?txn.expected, table = which.name(), "fenced");
            return Err(WriterError::Fenced {
                table: which.name(),
                partition,
                expected: txn.expected,
                found,
            });
        }
    }
    let actions = txns
        .iter()
        .map(|txn| Transaction::new(app_id(topic, txn.partition), version_of_offset(txn.next)))
        .collect();
    // Checkpoints and log cleanup are the maintenance task's, off the flush path.
    let properties = CommitProperties::default()
        .with_application_transactions(actions)
        .with_create_checkpoint(false)
        .with_cleanup_expired_logs(Some(false));
    let mut writer = RecordBatchWriter::for_table(table)
        .map_err(delta)?
        .with_writer_properties(tenet_lakehouse::tables::writer_properties())
        .with_commit_properties(properties);
    let rows = batch.as_ref().map_or(0, RecordBatch::num_rows);
    if let Some(batch) = batch {
        writer.write(batch).await.map_err(delta)?;
    }
    let bytes = writer.buffer_len();
    let version = writer.flush_and_commit(table).await.map_err(delta)?;
    metrics::histogram!("tenet_lake_commit_duration_seconds", "table" => which.name())
        .record(started.elapsed().as_secs_f64());
    metrics::counter!("tenet_lake_rows_landed_total", "table" => which.name())
        .increment(rows as u64);
    metrics::counter!("tenet_lake_bytes_landed_total", "table" => which.name())
        .increment(bytes as u64);
    Ok(version)
}

/// Describes the lake writer's metrics to the process's recorder.
pub fn describe_metrics() {
    metrics::describe_counter!(
        "tenet_lake_rows_landed_total",
        "Rows committed to a lake table, by table."
    );
    metrics::describe_counter!(
        "tenet_lake_bytes_landed_total",
        metrics::Unit::Bytes,
        "Parquet bytes committed to a lake table, by table."
    );
    metrics::describe_histogram!(
        "tenet_lake_commit_duration_seconds",
        metrics::Unit::Seconds,
        "Time a Delta commit took, by table."
    );
    metrics::describe_counter!(
        "tenet_lake_dead_letters_total",
        "Records that could not be decoded and went to the dead-letter table, by topic."
    );
    metrics::describe_gauge!(
        "tenet_lake_consumer_lag",
        "Events in the log not yet landed in the lake, by topic and partition."
    );
    metrics::describe_counter!(
        "tenet_lake_checkpoints_total",
        "Checkpoints of a table's Delta log written in the background, by table and status (ok, error)."
    );
    metrics::describe_histogram!(
        "tenet_lake_checkpoint_duration_seconds",
        metrics::Unit::Seconds,
        "Time a checkpoint of a table's Delta log took, by table."
    );
    metrics::describe_counter!(
        "tenet_lake_compactions_total",
        "Compactions of small files that committed or failed, by table and status (ok, conflict, error)."
    );
    metrics::describe_counter!(
        "tenet_lake_compacted_files_total",
        "Small files that compaction merged into larger ones, by table."
    );
    metrics::describe_histogram!(
        "tenet_lake_compaction_duration_seconds",
        metrics::Unit::Seconds,
        "Time a committed compaction took, by table."
    );
    metrics::describe_counter!(
        "tenet_lake_vacuums_total",
        "Vacuums of files a table no longer references, by table and status (ok, error)."
    );
    metrics::describe_counter!(
        "tenet_lake_vacuumed_files_total",
        "Files a vacuum deleted after the table stopped referencing them, by table."
    );
    metrics::describe_counter!(
        "tenet_lake_vacuumed_bytes_total",
        metrics::Unit::Bytes,
        "Bytes of the files a vacuum deleted, by table."
    );
    metrics::describe_histogram!(
        "tenet_lake_vacuum_duration_seconds",
        metrics::Unit::Seconds,
        "Time a vacuum took, by table."
    );
}

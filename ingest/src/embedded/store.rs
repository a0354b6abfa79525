//! [`EmbeddedLog`]: the durable local log `tenet up` uses instead of Kafka.
//!
//! Layout of the log directory:
//!
//! ```text
//! <dir>/lock                                   held exclusively while the log is open
//! <dir>/consumer_offsets.json                  committed offsets of every group
//! <dir>/topics/<topic>/<partition>/<base>.log  segment files
//! ```
//!
//! One writer thread owns all appends and performs group commit: it takes every append
//! request that is waiting, writes them all, syncs each touched partition once, and only then
//! acknowledges them. Concurrent producers therefore share fsyncs instead of queueing behind
//! one each, and no producer is acknowledged before its records are on disk.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock, mpsc};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use tokio::sync::{oneshot, watch};

use super::frame;
use super::offsets::{CommittedOffsets, OffsetFile};
use super::partition::{Layout, PartitionState, SyncTicket, read_spans};
use super::retention::RetentionPolicy;
use super::segment::sync_dir;
use crate::log::{
    EventLog, GroupId, LogError, Offset, OffsetRange, ReadLimits, Record, RecordPosition,
    StoredRecord, TopicName, TopicPartition, partition_for_key,
};

/// Settings of the embedded log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EmbeddedLogConfig {
    /// Partitions of a topic created by this log. An existing topic keeps the count it was
    /// created with, since changing it would move tenants between partitions.
    pub partitions: u32,
    /// Roll to a new segment file at this size.
    pub segment_bytes: u64,
    /// What to delete, and when.
    pub retention: RetentionPolicy,
    /// The largest record (key, headers and value) accepted.
    pub max_record_bytes: usize,
    /// Bytes between entries of the in-memory offset index.
    pub index_interval_bytes: u64,
    /// At most this many append requests share one group commit.
    pub max_batch_requests: usize,
}

impl Default for EmbeddedLogConfig {
    fn default() -> Self {
        Self {
            partitions: 4,
            segment_bytes: 128 * 1024 * 1024,
            retention: RetentionPolicy {
                max_age: Some(Duration::from_secs(7 * 24 * 3600)),
                max_bytes: None,
            },
            max_record_bytes: 1024 * 1024,
            index_interval_bytes: 4096,
            max_batch_requests: 1024,
        }
    }
}

/// Counters of the log's work, for metrics and for checking that group commit batches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LogStats {
    /// Append requests acknowledged or refused.
    pub append_requests: u64,
    /// Records made durable.
    pub records: u64,
    /// Group commits performed (each syncs every partition it touched).
    pub group_commits: u64,
    /// Partition file syncs.
    pub syncs: u64,
}

#[derive(Default)]
struct Counters {
    append_requests: AtomicU64,
    records: AtomicU64,
    group_commits: AtomicU64,
    syncs: AtomicU64,
}

struct Partition {
    state: Mutex<PartitionState>,
    /// The durable end offset, for readers waiting for new records.
    end: watch::Sender<u64>,
}

struct Shared {
    dir: PathBuf,
    config: EmbeddedLogConfig,
    layout: Layout,
    topics: RwLock<BTreeMap<TopicName, Partitions>>,
    offsets: Mutex<CommittedOffsets>,
    offset_file: OffsetFile,
    counters: Counters,
    _lock: File,
}

type AppendReply = oneshot::Sender<Result<Vec<RecordPosition>, LogError>>;

/// A topic's partitions, by number.
type Partitions = Arc<Vec<Arc<Partition>>>;

/// Records of a group commit as (request index, record index within the request).
type Members = Vec<(usize, usize)>;

struct AppendRequest {
    topic: TopicName,
    records: Vec<Record>,
    reply: AppendReply,
}

/// The embedded durable event log. Cheap to share behind an `Arc`; closing (dropping) it
/// finishes the appends already requested.
pub struct EmbeddedLog {
    shared: Arc<Shared>,
    requests: Mutex<Option<mpsc::Sender<AppendRequest>>>,
    writer: Mutex<Option<JoinHandle<()>>>,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic while holding a partition lock cannot leave acknowledged data inconsistent:
    // durability is tracked by the sync tickets, so keep serving.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn now_ms() -> i64 {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
}

impl EmbeddedLog {
    /// Opens (creating if needed) the log in `dir`, recovering every partition: a torn tail
    /// left by a crash is truncated, so the log holds exactly the acknowledged records (and
    /// possibly some that were written but not yet acknowledged).
    ///
    /// # Errors
    ///
    /// [`LogError::Locked`] if another process has it open, [`LogError::Corrupt`] for damage a
    /// crash cannot explain, I/O errors.
    pub fn open(dir: impl Into<PathBuf>, config: EmbeddedLogConfig) -> Result<Self, LogError> {
        let dir = dir.into();
        let topics_dir = dir.join("topics");
        fs::create_dir_all(&topics_dir)
            .map_err(LogError::io(format!("creating {}", topics_dir.display())))?;
        let lock_path = dir.join("lock");
        let lock_file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(LogError::io(format!("opening {}", lock_path.display())))?;
        if lock_file.try_lock().is_err() {
            return Err(LogError::Locked(dir.display().to_string()));
        }
        let layout = Layout {
            segment_bytes: config.segment_bytes,
            index_interval_bytes: config.index_interval_bytes,
            max_frame_body: config.max_record_bytes + 1024,
        };
        let offset_file = OffsetFile::new(&dir);
        let offsets = offset_file.load()?;
        let topics = recover_topics(&topics_dir, layout)?;
        let shared = Arc::new(Shared {
            dir,
            config,
            layout,
            topics: RwLock::new(topics),
            offsets: Mutex::new(offsets),
            offset_file,
            counters: Counters::default(),
            _lock: lock_file,
        });
        let (sender, receiver) = mpsc::channel();
        let writer_shared = Arc::clone(&shared);
        let writer = std::thread::Builder::new()
            .name("tenet-log-writer".to_owned())
            .spawn(move || run_writer(&writer_shared, &receiver))
            .map_err(LogError::io("starting the log writer thread"))?;
        Ok(Self {
            shared,
            requests: Mutex::new(Some(sender)),
            writer: Mutex::new(Some(writer)),
        })
    }

    /// The directory the log lives in.
    pub fn dir(&self) -> &Path {
        &self.shared.dir
    }

    /// Counters of the work done since opening.
    pub fn stats(&self) -> LogStats {
        let counters = &self.shared.counters;
        LogStats {
            append_requests: counters.append_requests.load(Ordering::Relaxed),
            records: counters.records.load(Ordering::Relaxed),
            group_commits: counters.group_commits.load(Ordering::Relaxed),
            syncs: counters.syncs.load(Ordering::Relaxed),
        }
    }

    /// Deletes old segments by the retention policy, keeping what any consumer group has not
    /// committed past. Returns the number of segments deleted. The log also runs this after
    /// every segment roll.
    ///
    /// # Errors
    ///
    /// I/O errors deleting files.
    pub fn enforce_retention(&self) -> Result<usize, LogError> {
        enforce_retention(&self.shared)
    }

    fn partition(&self, id: &TopicPartition) -> Result<Arc<Partition>, LogError> {
        let topics = self
            .shared
            .topics
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        let partitions = topics
            .get(&id.topic)
            .ok_or_else(|| LogError::UnknownTopic(id.topic.clone()))?;
        partitions
            .get(id.partition as usize)
            .cloned()
            .ok_or_else(|| LogError::UnknownPartition {
                topic: id.topic.clone(),
                partition: id.partition,
                count: partitions.len() as u32,
            })
    }
}

impl Drop for EmbeddedLog {
    fn drop(&mut self) {
        // Closing the channel lets the writer finish what is queued and exit.
        lock(&self.requests).take();
        if let Some(writer) = lock(&self.writer).take() {
            let _ = writer.join();
        }
    }
}

fn recover_topics(
    topics_dir: &Path,
    layout: Layout,
) -> Result<BTreeMap<TopicName, Partitions>, LogError> {
    let mut topics = BTreeMap::new();
    let entries = fs::read_dir(topics_dir)
        .map_err(LogError::io(format!("listing {}", topics_dir.display())))?;
    for entry in entries {
        let entry = entry.map_err(LogError::io(format!("listing {}", topics_dir.display())))?;
        let Some(topic) = entry
            .file_name()
            .to_str()
            .and_then(|name| TopicName::parse(name).ok())
        else {
            continue;
        };
        let topic_dir = entry.path();
        let mut numbers: Vec<u32> = fs::read_dir(&topic_dir)
            .map_err(LogError::io(format!("listing {}", topic_dir.display())))?
            .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse().ok())
            .collect();
        numbers.sort_unstable();
        if numbers.is_empty() || numbers.iter().enumerate().any(|(i, &n)| n as usize != i) {
            return Err(LogError::Corrupt {
                path: topic_dir.display().to_string(),
                position: 0,
                reason: format!("partition directories {numbers:?} are not 0..n"),
            });
        }
        let partitions = numbers
            .into_iter()
            .map(|number| {
                let id = TopicPartition::new(topic.clone(), number);
                let state =
                    PartitionState::recover(id, topic_dir.join(number.to_string()), layout)?;
                Ok(new_partition(state))
            })
            .collect::<Result<Vec<_>, LogError>>()?;
        topics.insert(topic, Arc::new(partitions));
    }
    Ok(topics)
}

fn new_partition(state: PartitionState) -> Arc<Partition> {
    let (end, _) = watch::channel(state.range().end.0);
    Arc::new(Partition {
        state: Mutex::new(state),
        end,
    })
}

fn topic_partitions(shared: &Shared, topic: &TopicName) -> Result<Partitions, LogError> {
    if let Some(existing) = shared
        .topics
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .get(topic)
    {
        return Ok(Arc::clone(existing));
    }
    // Only the writer thread creates topics, so nobody races us between the check and here.
    let topics_dir = shared.dir.join("topics");
    let topic_dir = topics_dir.join(topic.as_str());
    let partitions = (0..shared.config.partitions.max(1))
        .map(|number| {
            let id = TopicPartition::new(topic.clone(), number);
            let state =
                PartitionState::create(id, topic_dir.join(number.to_string()), shared.layout)?;
            Ok(new_partition(state))
        })
        .collect::<Result<Vec<_>, LogError>>()?;
    sync_dir(&topic_dir)
        .and_then(|()| sync_dir(&topics_dir))
        .map_err(LogError::io(format!("creating topic {topic}")))?;
    let partitions = Arc::new(partitions);
    shared
        .topics
        .write()
        .unwrap_or_else(PoisonError::into_inner)
        .insert(topic.clone(), Arc::clone(&partitions));
    Ok(partitions)
}

/// Takes `first` and whatever else is already waiting, up to `max` requests: the batch of one
/// group commit.
fn drain_batch<T>(first: T, waiting: &mpsc::Receiver<T>, max: usize) -> Vec<T> {
    let mut batch = vec![first];
    while batch.len() < max {
        match waiting.try_recv() {
            Ok(next) => batch.push(next),
            Err(_) => break,
        }
    }
    batch
}

fn run_writer(shared: &Shared, requests: &mpsc::Receiver<AppendRequest>) {
    while let Ok(first) = requests.recv() {
        let batch = drain_batch(first, requests, shared.config.max_batch_requests.max(1));
        group_commit(shared, batch);
    }
}

/// One request's progress through a group commit.
struct Pending {
    reply: AppendReply,
    positions: Vec<Option<RecordPosition>>,
    error: Option<LogError>,
}

fn copy_error(err: &LogError) -> LogError {
    match err {
        LogError::PartitionFailed(id) => LogError::PartitionFailed(id.clone()),
        other => LogError::Io {
            context: "group commit".to_owned(),
            source: std::io::Error::other(other.to_string()),
        },
    }
}

fn group_commit(shared: &Shared, batch: Vec<AppendRequest>) {
    let timestamp_ms = now_ms();
    let mut pending = Vec::with_capacity(batch.len());
    // Per touched partition: the partition and (request, record) pairs in request order.
    let mut work: BTreeMap<TopicPartition, (Arc<Partition>, Members)> = BTreeMap::new();
    let mut requests = Vec::with_capacity(batch.len());
    for (index, request) in batch.into_iter().enumerate() {
        let mut entry = Pending {
            reply: request.reply,
            positions: vec![None; request.records.len()],
            error: None,
        };
        let checked = check_sizes(&request.records, shared.config.max_record_bytes)
            .and_then(|()| topic_partitions(shared, &request.topic));
        match checked {
            Ok(partitions) => {
                let count = partitions.len() as u32;
                for (position, record) in request.records.iter().enumerate() {
                    let number = partition_for_key(&record.key, count);
                    let partition = &partitions[number as usize];
                    work.entry(TopicPartition::new(request.topic.clone(), number))
                        .or_insert_with(|| (Arc::clone(partition), Vec::new()))
                        .1
                        .push((index, position));
                }
            }
            Err(err) => entry.error = Some(err),
        }
        pending.push(entry);
        requests.push(request.records);
    }

    let mut rolled = false;
    let mut tickets: Vec<(Arc<Partition>, SyncTicket, Members)> = Vec::new();
    for (_, (partition, members)) in work {
        let records: Vec<&Record> = members.iter().map(|&(r, p)| &requests[r][p]).collect();
        let mut state = lock(&partition.state);
        let segments_before = state.segment_count();
        match state.append(&records, timestamp_ms) {
            Ok((offsets, ticket)) => {
                rolled |= state.segment_count() > segments_before;
                let number = state.id().partition;
                for (&(request, position), offset) in members.iter().zip(offsets) {
                    pending[request].positions[position] = Some(RecordPosition {
                        partition: number,
                        offset,
                    });
                }
                drop(state);
                tickets.push((partition, ticket, members));
            }
            Err(err) => {
                drop(state);
                for &(request, _) in &members {
                    pending[request]
                        .error
                        .get_or_insert_with(|| copy_error(&err));
                }
            }
        }
    }

    // The fsyncs happen outside the partition locks, so readers keep reading durable data.
    for (partition, ticket, members) in tickets {
        shared.counters.syncs.fetch_add(1, Ordering::Relaxed);
        match ticket.sync() {
            Ok(()) => {
                let end = lock(&partition.state).mark_durable(&ticket);
                partition.end.send_replace(end.0);
            }
            Err(source) => {
                let mut state = lock(&partition.state);
                // After a failed fsync the kernel may have dropped the dirty pages: the only
                // safe state is the one recovery finds on disk, so refuse further appends.
                state.fail();
                tracing::error!(partition = %state.id(), error = %source, "log sync failed; records refused");
                for &(request, _) in &members {
                    pending[request].error.get_or_insert_with(|| LogError::Io {
                        context: format!("syncing {}", state.id()),
                        source: std::io::Error::new(source.kind(), source.to_string()),
                    });
                }
            }
        }
    }
    shared
        .counters
        .group_commits
        .fetch_add(1, Ordering::Relaxed);

    for entry in pending {
        shared
            .counters
            .append_requests
            .fetch_add(1, Ordering::Relaxed);
        let result = match entry.error {
            Some(err) => Err(err),
            None => {
                let positions: Vec<RecordPosition> = entry
                    .positions
                    .into_iter()
                    .map(|p| p.expect("every record was placed"))
                    .collect();
                shared
                    .counters
                    .records
                    .fetch_add(positions.len() as u64, Ordering::Relaxed);
                Ok(positions)
            }
        };
        // A producer that gave up waiting does not need the answer.
        let _ = entry.reply.send(result);
    }

    if rolled && let Err(err) = enforce_retention(shared) {
        tracing::warn!(error = %err, "log retention failed; will retry after the next roll");
    }
}

fn check_sizes(records: &[Record], limit: usize) -> Result<(), LogError> {
    for record in records {
        match frame::encoded_len(&record.key, &record.headers, &record.value) {
            Some(size) if size <= limit => {}
            Some(size) => return Err(LogError::RecordTooLarge { size, limit }),
            None => {
                return Err(LogError::RecordTooLarge {
                    size: usize::MAX,
                    limit,
                });
            }
        }
    }
    Ok(())
}

fn enforce_retention(shared: &Shared) -> Result<usize, LogError> {
    let partitions: Vec<Arc<Partition>> = shared
        .topics
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .values()
        .flat_map(|partitions| partitions.iter().cloned())
        .collect();
    let now = now_ms();
    let mut deleted = 0;
    for partition in partitions {
        let mut state = lock(&partition.state);
        let protect_from = lock(&shared.offsets).lowest(state.id());
        deleted += state.apply_retention(&shared.config.retention, now, protect_from)?;
    }
    Ok(deleted)
}

#[async_trait]
impl EventLog for EmbeddedLog {
    async fn append(
        &self,
        topic: &TopicName,
        records: Vec<Record>,
    ) -> Result<Vec<RecordPosition>, LogError> {
        if records.is_empty() {
            return Ok(Vec::new());
        }
        let (reply, answer) = oneshot::channel();
        let request = AppendRequest {
            topic: topic.clone(),
            records,
            reply,
        };
        lock(&self.requests)
            .as_ref()
            .ok_or(LogError::Closed)?
            .send(request)
            .map_err(|_| LogError::Closed)?;
        answer.await.map_err(|_| LogError::Closed)?
    }

    async fn partition_count(&self, topic: &TopicName) -> Result<u32, LogError> {
        let topics = self
            .shared
            .topics
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        topics
            .get(topic)
            .map(|partitions| partitions.len() as u32)
            .ok_or_else(|| LogError::UnknownTopic(topic.clone()))
    }

    async fn offset_range(&self, partition: &TopicPartition) -> Result<OffsetRange, LogError> {
        let partition = self.partition(partition)?;
        let range = lock(&partition.state).range();
        Ok(range)
    }

    async fn read(
        &self,
        id: &TopicPartition,
        from: Offset,
        limits: ReadLimits,
    ) -> Result<Vec<StoredRecord>, LogError> {
        let partition = self.partition(id)?;
        if !limits.max_wait.is_zero() {
            let mut end = partition.end.subscribe();
            // Timing out just means an empty batch.
            let _ = tokio::time::timeout(limits.max_wait, end.wait_for(|&end| end > from.0)).await;
        }
        let spans = lock(&partition.state).read_spans(from)?;
        let max_frame_body = self.shared.layout.max_frame_body;
        tokio::task::spawn_blocking(move || {
            read_spans(
                &spans,
                from,
                limits.max_records,
                limits.max_bytes,
                max_frame_body,
            )
        })
        .await
        .map_err(|err| LogError::Io {
            context: "reading the log".to_owned(),
            source: std::io::Error::other(err),
        })?
    }

    async fn commit(
        &self,
        group: &GroupId,
        id: &TopicPartition,
        next: Offset,
    ) -> Result<(), LogError> {
        let partition = self.partition(id)?;
        let range = lock(&partition.state).range();
        if next > range.end {
            return Err(LogError::OffsetOutOfRange {
                partition: id.clone(),
                requested: next,
                range,
            });
        }
        let shared = Arc::clone(&self.shared);
        let (group, id) = (group.clone(), id.clone());
        tokio::task::spawn_blocking(move || {
            let mut offsets = lock(&shared.offsets);
            let mut updated = offsets.clone();
            updated.set(&group, &id, next);
            shared.offset_file.store(&updated)?;
            *offsets = updated;
            Ok(())
        })
        .await
        .map_err(|err| LogError::Io {
            context: "committing an offset".to_owned(),
            source: std::io::Error::other(err),
        })?
    }

    async fn committed(
        &self,
        group: &GroupId,
        id: &TopicPartition,
    ) -> Result<Option<Offset>, LogError> {
        Ok(lock(&self.shared.offsets).get(group, id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_group_commit_takes_every_request_already_waiting() {
        let (sender, receiver) = mpsc::channel();
        for request in 1..=5 {
            sender.send(request).unwrap();
        }
        let first = receiver.recv().unwrap();
        assert_eq!(drain_batch(first, &receiver, 100), vec![1, 2, 3, 4, 5]);
    }

    #[test]
    fn a_group_commit_is_capped_and_leaves_the_rest_for_the_next() {
        let (sender, receiver) = mpsc::channel();
        for request in 1..=5 {
            sender.send(request).unwrap();
        }
        let first = receiver.recv().unwrap();
        assert_eq!(drain_batch(first, &receiver, 3), vec![1, 2, 3]);
        let next = receiver.recv().unwrap();
        assert_eq!(drain_batch(next, &receiver, 3), vec![4, 5]);
    }
}

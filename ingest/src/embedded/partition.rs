//! One partition of the embedded log: its segments, what is written and what is durable.
//!
//! Writes go to the newest segment's page cache ([`PartitionState::append`]); the group-commit
//! writer then syncs the file and moves the durable end forward
//! ([`PartitionState::mark_durable`]). Reads only ever see records below the durable end, so
//! a record a reader has seen can never be taken away by a crash.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::frame::{self, FrameRead, FrameReader};
use super::index::SparseIndex;
use super::retention::{RetentionPolicy, SegmentSummary};
use super::segment::{self, sync_dir};
use crate::log::{LogError, Offset, OffsetRange, Record, StoredRecord, TopicPartition};

/// Sizes that shape a partition's files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    /// Roll to a new segment once the active one reaches this many bytes.
    pub segment_bytes: u64,
    /// Bytes between entries of the sparse index.
    pub index_interval_bytes: u64,
    /// The largest frame body accepted; larger lengths read back as corruption.
    pub max_frame_body: usize,
}

#[derive(Debug)]
struct Segment {
    base: Offset,
    path: PathBuf,
    file: Arc<File>,
    /// Bytes written (some possibly not yet synced).
    len: u64,
    /// Bytes known to be on disk.
    durable_len: u64,
    next_offset: Offset,
    index: SparseIndex,
    max_timestamp_ms: i64,
}

impl Segment {
    fn summary(&self) -> SegmentSummary {
        SegmentSummary {
            next_offset: self.next_offset,
            bytes: self.len,
            max_timestamp_ms: self.max_timestamp_ms,
        }
    }
}

/// A sync the writer must perform outside the lock: after it, [`PartitionState::mark_durable`]
/// with the same ticket.
#[derive(Debug)]
pub struct SyncTicket {
    file: Arc<File>,
    base: Offset,
    len: u64,
    next_offset: Offset,
}

impl SyncTicket {
    /// Syncs the data written so far to disk.
    ///
    /// # Errors
    ///
    /// The I/O error of the sync.
    pub fn sync(&self) -> std::io::Result<()> {
        self.file.sync_data()
    }
}

/// The state of one partition.
#[derive(Debug)]
pub struct PartitionState {
    id: TopicPartition,
    dir: PathBuf,
    layout: Layout,
    /// Oldest first; the last one is active. Never empty.
    segments: Vec<Segment>,
    durable_end: Offset,
    failed: bool,
}

/// Where a read continues in one segment.
#[derive(Debug)]
pub struct ReadSpan {
    file: Arc<File>,
    start: u64,
    end: u64,
}

fn open_segment_file(path: &Path, create: bool) -> std::io::Result<File> {
    OpenOptions::new()
        .read(true)
        .append(true)
        .create_new(create)
        .open(path)
}

impl PartitionState {
    /// Creates an empty partition in `dir` (which must not exist yet).
    ///
    /// # Errors
    ///
    /// I/O errors creating the directory or the first segment.
    pub fn create(id: TopicPartition, dir: PathBuf, layout: Layout) -> Result<Self, LogError> {
        let context = format!("creating partition {id} in {}", dir.display());
        fs::create_dir_all(&dir).map_err(LogError::io(&context))?;
        let mut state = Self {
            id,
            dir,
            layout,
            segments: Vec::new(),
            durable_end: Offset(0),
            failed: false,
        };
        state
            .new_segment(Offset(0))
            .map_err(LogError::io(context))?;
        Ok(state)
    }

    /// Opens an existing partition, checking every segment and truncating a torn tail of the
    /// newest one (records that were never acknowledged).
    ///
    /// # Errors
    ///
    /// [`LogError::Corrupt`] when a sealed segment is damaged or the segments do not follow
    /// each other; I/O errors.
    pub fn recover(id: TopicPartition, dir: PathBuf, layout: Layout) -> Result<Self, LogError> {
        let listed =
            segment::list(&dir).map_err(LogError::io(format!("listing {}", dir.display())))?;
        if listed.is_empty() {
            return Self::create(id, dir, layout);
        }
        let mut segments: Vec<Segment> = Vec::with_capacity(listed.len());
        let last = listed.len() - 1;
        for (position, (base, path)) in listed.into_iter().enumerate() {
            let context = format!("recovering {}", path.display());
            let corrupt = |at: u64, reason: String| LogError::Corrupt {
                path: path.display().to_string(),
                position: at,
                reason,
            };
            if let Some(previous) = segments.last()
                && previous.next_offset != base
            {
                return Err(corrupt(
                    0,
                    format!(
                        "segment starts at offset {base} but the previous one ends at {}",
                        previous.next_offset
                    ),
                ));
            }
            let file = open_segment_file(&path, false).map_err(LogError::io(&context))?;
            let scan = segment::scan(
                &file,
                base,
                layout.index_interval_bytes,
                layout.max_frame_body,
            )
            .map_err(LogError::io(&context))?;
            if let Some(damage) = &scan.damage {
                if position != last {
                    // Sealed segments were synced before their successor was created: damage
                    // here is not a torn write but lost data. Refuse rather than guess.
                    return Err(corrupt(damage.position, damage.reason.clone()));
                }
                let file_len = file.metadata().map_err(LogError::io(&context))?.len();
                tracing::warn!(
                    partition = %id,
                    segment = %path.display(),
                    kept_bytes = scan.valid_len,
                    dropped_bytes = file_len - scan.valid_len,
                    reason = %damage.reason,
                    "truncating the unacknowledged tail of the log after a crash"
                );
                file.set_len(scan.valid_len)
                    .map_err(LogError::io(&context))?;
                file.sync_all().map_err(LogError::io(&context))?;
            }
            segments.push(Segment {
                base,
                path,
                file: Arc::new(file),
                len: scan.valid_len,
                durable_len: scan.valid_len,
                next_offset: scan.next_offset,
                index: scan.index,
                max_timestamp_ms: scan.max_timestamp_ms,
            });
        }
        let durable_end = segments.last().expect("at least one segment").next_offset;
        Ok(Self {
            id,
            dir,
            layout,
            segments,
            durable_end,
            failed: false,
        })
    }

    fn new_segment(&mut self, base: Offset) -> std::io::Result<()> {
        let path = self.dir.join(segment::file_name(base));
        let file = open_segment_file(&path, true)?;
        sync_dir(&self.dir)?;
        self.segments.push(Segment {
            base,
            path,
            file: Arc::new(file),
            len: 0,
            durable_len: 0,
            next_offset: base,
            index: SparseIndex::new(self.layout.index_interval_bytes),
            max_timestamp_ms: i64::MIN,
        });
        Ok(())
    }

    fn active(&mut self) -> &mut Segment {
        self.segments
            .last_mut()
            .expect("a partition always has a segment")
    }

    /// The partition's id.
    pub fn id(&self) -> &TopicPartition {
        &self.id
    }

    /// How many segment files the partition has.
    pub fn segment_count(&self) -> usize {
        self.segments.len()
    }

    /// Whether an earlier write or sync failed (the partition then refuses appends).
    pub fn is_failed(&self) -> bool {
        self.failed
    }

    /// Marks the partition failed after a sync error.
    pub fn fail(&mut self) {
        self.failed = true;
    }

    /// Writes records to the active segment (rolling to new segments as they fill) and
    /// returns their offsets. They are not durable until the returned ticket is synced and
    /// [`mark_durable`](Self::mark_durable) is called.
    ///
    /// # Errors
    ///
    /// [`LogError::PartitionFailed`] if an earlier write failed; I/O errors, after which the
    /// partition is failed.
    pub fn append(
        &mut self,
        records: &[&Record],
        timestamp_ms: i64,
    ) -> Result<(Vec<Offset>, SyncTicket), LogError> {
        if self.failed {
            return Err(LogError::PartitionFailed(self.id.clone()));
        }
        match self.write(records, timestamp_ms) {
            Ok(offsets) => {
                let active = self.active();
                let ticket = SyncTicket {
                    file: Arc::clone(&active.file),
                    base: active.base,
                    len: active.len,
                    next_offset: active.next_offset,
                };
                Ok((offsets, ticket))
            }
            Err(err) => {
                self.failed = true;
                Err(LogError::io(format!("appending to {}", self.id))(err))
            }
        }
    }

    fn write(&mut self, records: &[&Record], timestamp_ms: i64) -> std::io::Result<Vec<Offset>> {
        let mut offsets = Vec::with_capacity(records.len());
        let mut buffer = Vec::new();
        // Index entries for the buffered frames: (offset, position in the segment).
        let mut noted = Vec::new();
        for record in records {
            let frame_len = frame::encoded_len(&record.key, &record.headers, &record.value)
                .expect("the log checks record sizes before appending")
                as u64;
            let active = self.active();
            let pending = active.len + buffer.len() as u64;
            if pending > 0 && pending + frame_len > self.layout.segment_bytes {
                self.flush(&mut buffer, &mut noted, timestamp_ms)?;
                self.roll()?;
            }
            let active = self.active();
            let offset = Offset(active.next_offset.0 + noted.len() as u64);
            noted.push((offset, active.len + buffer.len() as u64));
            frame::encode(
                offset,
                timestamp_ms,
                &record.key,
                &record.headers,
                &record.value,
                &mut buffer,
            );
            offsets.push(offset);
        }
        self.flush(&mut buffer, &mut noted, timestamp_ms)?;
        Ok(offsets)
    }

    fn flush(
        &mut self,
        buffer: &mut Vec<u8>,
        noted: &mut Vec<(Offset, u64)>,
        timestamp_ms: i64,
    ) -> std::io::Result<()> {
        if buffer.is_empty() {
            return Ok(());
        }
        let active = self.active();
        (&*active.file).write_all(buffer)?;
        active.len += buffer.len() as u64;
        for &(offset, position) in noted.iter() {
            active.index.note(offset, position);
        }
        active.next_offset = Offset(active.next_offset.0 + noted.len() as u64);
        active.max_timestamp_ms = active.max_timestamp_ms.max(timestamp_ms);
        buffer.clear();
        noted.clear();
        Ok(())
    }

    /// Seals the active segment (synced, so that only the newest segment can ever be torn) and
    /// starts a new one.
    fn roll(&mut self) -> std::io::Result<()> {
        let active = self.active();
        active.file.sync_data()?;
        active.durable_len = active.len;
        let next = active.next_offset;
        self.durable_end = next;
        self.new_segment(next)
    }

    /// Records that the data of `ticket` is on disk; returns the new durable end.
    pub fn mark_durable(&mut self, ticket: &SyncTicket) -> Offset {
        if let Some(segment) = self.segments.iter_mut().find(|s| s.base == ticket.base) {
            segment.durable_len = segment.durable_len.max(ticket.len);
        }
        self.durable_end = self.durable_end.max(ticket.next_offset);
        self.durable_end
    }

    /// The retained, durable offsets.
    pub fn range(&self) -> OffsetRange {
        OffsetRange {
            start: self.segments[0].base,
            end: self.durable_end,
        }
    }

    /// The spans to read for records from `from` on, up to the durable end.
    ///
    /// # Errors
    ///
    /// [`LogError::OffsetOutOfRange`] when `from` is outside [`range`](Self::range).
    pub fn read_spans(&self, from: Offset) -> Result<Vec<ReadSpan>, LogError> {
        let range = self.range();
        if from < range.start || from > range.end {
            return Err(LogError::OffsetOutOfRange {
                partition: self.id.clone(),
                requested: from,
                range,
            });
        }
        let first = self
            .segments
            .partition_point(|s| s.base <= from)
            .saturating_sub(1);
        Ok(self.segments[first..]
            .iter()
            .filter(|segment| segment.durable_len > 0)
            .enumerate()
            .map(|(i, segment)| ReadSpan {
                file: Arc::clone(&segment.file),
                start: if i == 0 { segment.index.floor(from) } else { 0 },
                end: segment.durable_len,
            })
            .collect())
    }

    /// Deletes the oldest sealed segments that `policy` lets go; returns how many.
    ///
    /// # Errors
    ///
    /// I/O errors deleting files (the segments are dropped from the partition first, so a
    /// failed delete leaves an orphan file, never a gap).
    pub fn apply_retention(
        &mut self,
        policy: &RetentionPolicy,
        now_ms: i64,
        protect_from: Option<Offset>,
    ) -> Result<usize, LogError> {
        let sealed: Vec<SegmentSummary> = self.segments[..self.segments.len() - 1]
            .iter()
            .map(Segment::summary)
            .collect();
        let total = self.segments.iter().map(|s| s.len).sum();
        let count = policy.segments_to_delete(&sealed, total, now_ms, protect_from);
        for segment in self.segments.drain(..count) {
            fs::remove_file(&segment.path)
                .map_err(LogError::io(format!("deleting {}", segment.path.display())))?;
        }
        if count > 0 {
            sync_dir(&self.dir).map_err(LogError::io(format!("syncing {}", self.dir.display())))?;
        }
        Ok(count)
    }
}

/// Reads records of offsets `from` and later out of `spans`, within the limits.
///
/// # Errors
///
/// I/O errors, and [`LogError::Corrupt`] for damage inside durable data.
pub fn read_spans(
    spans: &[ReadSpan],
    from: Offset,
    max_records: usize,
    max_bytes: usize,
    max_frame_body: usize,
) -> Result<Vec<StoredRecord>, LogError> {
    let mut records = Vec::new();
    let mut bytes = 0_usize;
    for span in spans {
        let reader = SpanReader {
            file: &span.file,
            position: span.start,
            end: span.end,
        };
        let mut frames = FrameReader::new(
            std::io::BufReader::with_capacity(256 * 1024, reader),
            max_frame_body,
        );
        loop {
            if records.len() >= max_records || (bytes >= max_bytes && !records.is_empty()) {
                return Ok(records);
            }
            match frames
                .next_frame()
                .map_err(LogError::io("reading a segment"))?
            {
                FrameRead::End => break,
                FrameRead::Record { record, .. } => {
                    if record.offset >= from {
                        bytes += record.value.len() + record.key.len();
                        records.push(record);
                    }
                }
                FrameRead::Torn | FrameRead::Corrupt(_) => {
                    return Err(LogError::Corrupt {
                        path: "segment".to_owned(),
                        position: span.start,
                        reason: "damaged frame inside synced data".to_owned(),
                    });
                }
            }
        }
    }
    Ok(records)
}

/// Reads a byte range of a file with positioned reads, so readers never move the writer's
/// file position.
struct SpanReader<'a> {
    file: &'a File,
    position: u64,
    end: u64,
}

impl std::io::Read for SpanReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let left = self.end.saturating_sub(self.position);
        let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        if want == 0 {
            return Ok(0);
        }
        let read = self.file.read_at(&mut buf[..want], self.position)?;
        self.position += read as u64;
        Ok(read)
    }
}

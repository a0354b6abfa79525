//! Segment files: scanning one at open, and the file-system steps that make changes durable.
//!
//! A partition's records live in segment files named after the offset of their first record
//! (`00000000000000000000.log`). Only the newest segment is written to; before a new one is
//! created the old one is synced, so every sealed segment is complete on disk and only the
//! newest can end in a write that a crash cut short.

use std::fs::{self, File};
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};

use super::frame::{FrameRead, FrameReader};
use super::index::SparseIndex;
use crate::log::Offset;

const SUFFIX: &str = ".log";

/// The file name of the segment starting at `base`.
pub fn file_name(base: Offset) -> String {
    format!("{:020}{SUFFIX}", base.0)
}

/// The base offset named by a segment file name, if it is one.
pub fn parse_file_name(name: &str) -> Option<Offset> {
    let digits = name.strip_suffix(SUFFIX)?;
    if digits.len() != 20 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok().map(Offset)
}

/// Segment files of a partition directory, oldest first.
///
/// # Errors
///
/// I/O errors listing the directory.
pub fn list(dir: &Path) -> io::Result<Vec<(Offset, PathBuf)>> {
    let mut segments = Vec::new();
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        if let Some(base) = entry.file_name().to_str().and_then(parse_file_name) {
            segments.push((base, entry.path()));
        }
    }
    segments.sort();
    Ok(segments)
}

/// Makes a directory's entries (created, renamed, deleted files) durable.
///
/// # Errors
///
/// I/O errors opening or syncing the directory.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Where a scan stopped early, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Damage {
    /// The byte where the intact prefix ends.
    pub position: u64,
    /// What was found there.
    pub reason: String,
}

/// What a segment holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scan {
    /// The offset after the last intact record (the base when empty).
    pub next_offset: Offset,
    /// Bytes of intact records from the start.
    pub valid_len: u64,
    /// The newest intact record's timestamp (`i64::MIN` when empty).
    pub max_timestamp_ms: i64,
    /// The index of the intact records.
    pub index: SparseIndex,
    /// Set when bytes follow the intact prefix: a torn or damaged frame, or a record whose
    /// offset breaks the sequence.
    pub damage: Option<Damage>,
}

/// Reads a segment's frames from the start, checking that their offsets run from `base`
/// without gaps, and stops at the first frame that is torn, damaged or out of sequence.
///
/// # Errors
///
/// I/O errors of `reader`; damage is reported in [`Scan::damage`].
pub fn scan(
    reader: impl Read,
    base: Offset,
    index_interval: u64,
    max_body: usize,
) -> io::Result<Scan> {
    let mut frames = FrameReader::new(BufReader::with_capacity(1 << 20, reader), max_body);
    let mut scan = Scan {
        next_offset: base,
        valid_len: 0,
        max_timestamp_ms: i64::MIN,
        index: SparseIndex::new(index_interval),
        damage: None,
    };
    loop {
        let reason = match frames.next_frame()? {
            FrameRead::End => return Ok(scan),
            FrameRead::Torn => "torn frame (write cut short)".to_owned(),
            FrameRead::Corrupt(reason) => reason,
            FrameRead::Record { record, len } => {
                if record.offset != scan.next_offset {
                    format!(
                        "record has offset {} where {} was expected",
                        record.offset, scan.next_offset
                    )
                } else {
                    scan.index.note(record.offset, scan.valid_len);
                    scan.max_timestamp_ms = scan.max_timestamp_ms.max(record.timestamp_ms);
                    scan.next_offset = record.offset.next();
                    scan.valid_len += len;
                    continue;
                }
            }
        };
        scan.damage = Some(Damage {
            position: scan.valid_len,
            reason,
        });
        return Ok(scan);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::embedded::frame::encode;

    fn frames(offsets: impl IntoIterator<Item = u64>) -> Vec<u8> {
        let mut out = Vec::new();
        for offset in offsets {
            encode(
                Offset(offset),
                offset as i64 * 10,
                b"k",
                &[],
                b"value",
                &mut out,
            );
        }
        out
    }

    #[test]
    fn file_names_sort_by_base_offset_and_parse_back() {
        assert_eq!(file_name(Offset(42)), "00000000000000000042.log");
        assert_eq!(parse_file_name(&file_name(Offset(42))), Some(Offset(42)));
        assert_eq!(parse_file_name("42.log"), None);
        assert_eq!(parse_file_name("00000000000000000042.tmp"), None);
    }

    #[test]
    fn a_clean_segment_scans_to_its_end() {
        let bytes = frames(5..9);
        let scan = scan(&bytes[..], Offset(5), 1, 1 << 20).unwrap();
        assert_eq!(scan.next_offset, Offset(9));
        assert_eq!(scan.valid_len, bytes.len() as u64);
        assert_eq!(scan.max_timestamp_ms, 80);
        assert_eq!(scan.index.len(), 4);
        assert_eq!(scan.damage, None);
    }

    #[test]
    fn a_torn_tail_stops_the_scan_at_the_last_whole_record() {
        let whole = frames(0..3);
        let two = frames(0..2).len();
        let torn = &whole[..whole.len() - 3];
        let scan = scan(torn, Offset(0), 4096, 1 << 20).unwrap();
        assert_eq!(scan.next_offset, Offset(2));
        assert_eq!(scan.valid_len, two as u64);
        assert_eq!(scan.damage.unwrap().position, two as u64);
    }

    #[test]
    fn an_offset_gap_counts_as_damage() {
        let mut bytes = frames(0..2);
        let good = bytes.len() as u64;
        bytes.extend(frames([5]));
        let scan = scan(&bytes[..], Offset(0), 4096, 1 << 20).unwrap();
        assert_eq!(scan.next_offset, Offset(2));
        let damage = scan.damage.unwrap();
        assert_eq!(damage.position, good);
        assert!(damage.reason.contains("offset 5"), "{}", damage.reason);
    }
}

//! The sparse offset index of a segment: where to start reading for a given offset.
//!
//! Keeping one entry per record would cost memory proportional to the log; one entry every
//! few kilobytes bounds both the memory and the bytes a read must skip.

use crate::log::Offset;

/// Offsets and their byte positions in one segment, at most one entry per `interval` bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SparseIndex {
    entries: Vec<(Offset, u64)>,
    interval: u64,
}

impl SparseIndex {
    /// An empty index taking an entry at least every `interval` bytes.
    pub fn new(interval: u64) -> Self {
        Self {
            entries: Vec::new(),
            interval: interval.max(1),
        }
    }

    /// Notes that the record at `offset` starts at byte `position`. Records must be noted in
    /// offset order; the first one is always indexed.
    pub fn note(&mut self, offset: Offset, position: u64) {
        let due = self
            .entries
            .last()
            .is_none_or(|&(_, last)| position >= last + self.interval);
        if due {
            self.entries.push((offset, position));
        }
    }

    /// The position of the last indexed record at or before `offset`: reading from there
    /// and skipping lower offsets reaches `offset`. Zero when nothing precedes it.
    pub fn floor(&self, offset: Offset) -> u64 {
        let after = self
            .entries
            .partition_point(|&(indexed, _)| indexed <= offset);
        after
            .checked_sub(1)
            .map_or(0, |index| self.entries[index].1)
    }

    /// How many entries the index holds.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the index is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floor_finds_the_nearest_indexed_record_at_or_before() {
        let mut index = SparseIndex::new(100);
        // Records of 40 bytes each at offsets 10.. starting at byte 0.
        for i in 0..10_u64 {
            index.note(Offset(10 + i), i * 40);
        }
        // Indexed: offset 10 @0, 13 @120, 16 @240, 19 @360.
        assert_eq!(index.len(), 4);
        assert_eq!(index.floor(Offset(10)), 0);
        assert_eq!(index.floor(Offset(12)), 0);
        assert_eq!(index.floor(Offset(13)), 120);
        assert_eq!(index.floor(Offset(18)), 240);
        assert_eq!(index.floor(Offset(99)), 360);
    }

    #[test]
    fn an_offset_before_the_first_entry_reads_from_the_start() {
        let mut index = SparseIndex::new(4096);
        index.note(Offset(500), 0);
        assert_eq!(index.floor(Offset(3)), 0);
        assert_eq!(SparseIndex::new(4096).floor(Offset(0)), 0);
    }
}

//! Which source offsets the lake already holds, and which records still have to land.
//!
//! The lake writer commits, with every Delta commit, the next offset of each source
//! partition as a Delta app-transaction (`txn`) action named by [`app_id`]. Those versions
//! are the truth about progress: on start the writer reads them back and resumes there, so a
//! crash between a Delta commit and the log's own group commit neither loses nor repeats
//! rows. A record lands in one of two tables: its family's table, or the dead-letter table.
//! The two are separate Delta tables, so each carries its own `txn` per source partition and
//! a flush commits the dead letters first, then the events:
//!
//! - the events table's version `E` says every record below `E` is landed in whichever table
//!   it belongs to (its dead letters were committed before it);
//! - the dead-letter table's version `D` says every bad record below `D` is landed there. A
//!   crash between the two commits leaves `D > E`: the writer re-reads from `E` and skips the
//!   bad records below `D`.
//!
//! Before committing, the writer checks that the versions in the table are still the ones it
//! last saw; a different value means another writer took the partition over, and this one
//! is fenced off.

use std::collections::BTreeMap;

use crate::log::{Offset, TopicName};

/// The Delta app-transaction id under which a source partition's next offset is stored.
pub fn app_id(topic: &TopicName, partition: u32) -> String {
    format!("tenet-lake-writer/{topic}/{partition}")
}

/// Converts a stored app-transaction version back to an offset; negative versions are not
/// offsets this writer wrote.
pub fn offset_of_version(version: i64) -> Option<Offset> {
    u64::try_from(version).ok().map(Offset)
}

/// Converts an offset to an app-transaction version.
///
/// # Panics
///
/// Beyond `i64::MAX`, which no log reaches.
pub fn version_of_offset(offset: Offset) -> i64 {
    i64::try_from(offset.0).expect("an offset fits in an i64")
}

/// Where one record goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// Buffer it for the next commit.
    Land,
    /// An earlier run already committed it; skip it.
    AlreadyLanded,
}

/// The progress of one source partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartitionCursor {
    /// The events table's stored version (`None`: never committed).
    events_txn: Option<Offset>,
    /// The dead-letter table's stored version (`None`: never committed).
    dead_letters_txn: Option<Offset>,
    /// The next offset to read.
    next_read: Offset,
    /// Whether a dead letter of this partition is buffered.
    dead_letters_pending: bool,
}

impl PartitionCursor {
    /// A cursor resuming from the versions stored in the two tables, for a partition whose
    /// oldest retained record is `log_start`.
    ///
    /// Records below the events version are landed. When retention already removed records
    /// the lake never got (`events < log_start`), reading starts at `log_start`; those
    /// records are gone, which [`PartitionCursor::skipped_by_retention`] reports.
    pub fn resume(events: Option<Offset>, dead_letters: Option<Offset>, log_start: Offset) -> Self {
        let landed = events.unwrap_or(Offset(0));
        Self {
            events_txn: events,
            dead_letters_txn: dead_letters,
            next_read: landed.max(log_start),
            dead_letters_pending: false,
        }
    }

    /// How many records retention removed before they landed.
    pub fn skipped_by_retention(&self) -> u64 {
        let landed = self.events_txn.unwrap_or(Offset(0));
        self.next_read.0.saturating_sub(landed.0)
    }

    /// The next offset to read.
    pub fn next_read(&self) -> Offset {
        self.next_read
    }

    /// The events table's version this writer expects to find when it commits.
    pub fn events_txn(&self) -> Option<Offset> {
        self.events_txn
    }

    /// The dead-letter table's version this writer expects to find when it commits.
    pub fn dead_letters_txn(&self) -> Option<Offset> {
        self.dead_letters_txn
    }

    /// Routes a record that decoded into an event.
    pub fn route_event(&self, offset: Offset) -> Route {
        if self.events_txn.is_some_and(|landed| offset < landed) {
            Route::AlreadyLanded
        } else {
            Route::Land
        }
    }

    /// Routes a record that failed decoding.
    pub fn route_dead_letter(&self, offset: Offset) -> Route {
        let landed = |txn: Option<Offset>| txn.is_some_and(|landed| offset < landed);
        if landed(self.events_txn) || landed(self.dead_letters_txn) {
            Route::AlreadyLanded
        } else {
            Route::Land
        }
    }

    /// Notes that the record at `offset` was read (and routed).
    ///
    /// # Panics
    ///
    /// When `offset` is before the next offset to read: the log returned records out of order.
    pub fn advance(&mut self, offset: Offset, buffered_dead_letter: bool) {
        assert!(
            offset >= self.next_read,
            "offset {offset} read after {}",
            self.next_read
        );
        self.next_read = offset.next();
        self.dead_letters_pending |= buffered_dead_letter;
    }

    /// Whether records were read since the events table was last committed.
    pub fn has_progress(&self) -> bool {
        self.next_read > self.events_txn.unwrap_or(Offset(0))
    }

    /// Whether a dead letter of this partition waits for the next commit.
    pub fn has_pending_dead_letters(&self) -> bool {
        self.dead_letters_pending
    }

    /// Notes that the dead-letter table now holds version `next`.
    pub fn dead_letters_committed(&mut self, next: Offset) {
        self.dead_letters_txn = Some(next);
        self.dead_letters_pending = false;
    }

    /// Notes that the events table now holds version `next`.
    pub fn events_committed(&mut self, next: Offset) {
        self.events_txn = Some(next);
    }
}

/// The cursors of every partition of one topic that this writer consumes.
#[derive(Debug, Clone, Default)]
pub struct OffsetBook {
    cursors: BTreeMap<u32, PartitionCursor>,
}

/// One app-transaction to commit: the partition and its next offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TxnVersion {
    /// The source partition.
    pub partition: u32,
    /// The version the table had, as this writer last saw it.
    pub expected: Option<Offset>,
    /// The version to commit: the next offset to read.
    pub next: Offset,
}

impl OffsetBook {
    /// Adds a partition's cursor.
    pub fn insert(&mut self, partition: u32, cursor: PartitionCursor) {
        self.cursors.insert(partition, cursor);
    }

    /// Whether the partition has a cursor.
    pub fn contains(&self, partition: u32) -> bool {
        self.cursors.contains_key(&partition)
    }

    /// A partition's cursor.
    pub fn get(&self, partition: u32) -> Option<&PartitionCursor> {
        self.cursors.get(&partition)
    }

    /// A partition's cursor, to route and advance.
    pub fn get_mut(&mut self, partition: u32) -> Option<&mut PartitionCursor> {
        self.cursors.get_mut(&partition)
    }

    /// The partitions and their cursors, in partition order.
    pub fn iter(&self) -> impl Iterator<Item = (u32, &PartitionCursor)> {
        self.cursors
            .iter()
            .map(|(partition, cursor)| (*partition, cursor))
    }

    /// The versions the dead-letter table gets with the next commit: every partition with a
    /// buffered dead letter.
    pub fn dead_letter_txns(&self) -> Vec<TxnVersion> {
        self.cursors
            .iter()
            .filter(|(_, cursor)| cursor.has_pending_dead_letters())
            .map(|(&partition, cursor)| TxnVersion {
                partition,
                expected: cursor.dead_letters_txn,
                next: cursor.next_read,
            })
            .collect()
    }

    /// The versions the events table gets with the next commit: every partition read past
    /// its stored version.
    pub fn event_txns(&self) -> Vec<TxnVersion> {
        self.cursors
            .iter()
            .filter(|(_, cursor)| cursor.has_progress())
            .map(|(&partition, cursor)| TxnVersion {
                partition,
                expected: cursor.events_txn,
                next: cursor.next_read,
            })
            .collect()
    }

    /// Notes a committed dead-letter table version.
    pub fn dead_letters_committed(&mut self, txns: &[TxnVersion]) {
        for txn in txns {
            if let Some(cursor) = self.cursors.get_mut(&txn.partition) {
                cursor.dead_letters_committed(txn.next);
            }
        }
    }

    /// Notes a committed events table version.
    pub fn events_committed(&mut self, txns: &[TxnVersion]) {
        for txn in txns {
            if let Some(cursor) = self.cursors.get_mut(&txn.partition) {
                cursor.events_committed(txn.next);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn app_ids_name_the_topic_and_partition() {
        let topic = TopicName::parse("tenet.calls.v1").unwrap();
        assert_eq!(app_id(&topic, 3), "tenet-lake-writer/tenet.calls.v1/3");
    }

    #[test]
    fn versions_round_trip_and_negative_ones_are_not_offsets() {
        assert_eq!(
            offset_of_version(version_of_offset(Offset(42))),
            Some(Offset(42))
        );
        assert_eq!(offset_of_version(-1), None);
    }

    #[test]
    fn a_fresh_partition_starts_at_the_oldest_retained_record() {
        let cursor = PartitionCursor::resume(None, None, Offset(0));
        assert_eq!(cursor.next_read(), Offset(0));
        assert!(!cursor.has_progress());
        assert_eq!(cursor.route_event(Offset(0)), Route::Land);
        assert_eq!(cursor.route_dead_letter(Offset(0)), Route::Land);
    }

    #[test]
    fn resuming_starts_after_the_committed_events() {
        let cursor = PartitionCursor::resume(Some(Offset(100)), Some(Offset(40)), Offset(0));
        assert_eq!(cursor.next_read(), Offset(100));
        assert_eq!(cursor.skipped_by_retention(), 0);
    }

    #[test]
    fn dead_letters_committed_before_a_crash_are_not_landed_twice() {
        // The dead letters up to 120 were committed, the events commit for the same flush
        // was not.
        let cursor = PartitionCursor::resume(Some(Offset(100)), Some(Offset(120)), Offset(0));
        assert_eq!(cursor.next_read(), Offset(100));
        assert_eq!(cursor.route_dead_letter(Offset(110)), Route::AlreadyLanded);
        assert_eq!(cursor.route_event(Offset(110)), Route::Land);
        assert_eq!(cursor.route_dead_letter(Offset(120)), Route::Land);
    }

    #[test]
    fn retention_past_the_lake_is_reported() {
        let cursor = PartitionCursor::resume(Some(Offset(10)), None, Offset(25));
        assert_eq!(cursor.next_read(), Offset(25));
        assert_eq!(cursor.skipped_by_retention(), 15);
    }

    #[test]
    fn a_flush_commits_dead_letters_only_for_partitions_that_have_them() {
        let mut book = OffsetBook::default();
        book.insert(0, PartitionCursor::resume(None, None, Offset(0)));
        book.insert(1, PartitionCursor::resume(Some(Offset(5)), None, Offset(0)));
        book.insert(2, PartitionCursor::resume(Some(Offset(7)), None, Offset(0)));
        book.get_mut(0).unwrap().advance(Offset(0), false);
        book.get_mut(0).unwrap().advance(Offset(1), true);
        book.get_mut(1).unwrap().advance(Offset(5), false);

        let dead = book.dead_letter_txns();
        let events = book.event_txns();

        assert_eq!(
            dead,
            vec![TxnVersion {
                partition: 0,
                expected: None,
                next: Offset(2)
            }]
        );
        assert_eq!(
            events,
            vec![
                TxnVersion {
                    partition: 0,
                    expected: None,
                    next: Offset(2)
                },
                TxnVersion {
                    partition: 1,
                    expected: Some(Offset(5)),
                    next: Offset(6)
                },
            ]
        );
    }

    #[test]
    fn committing_clears_progress_and_moves_the_expected_versions() {
        let mut book = OffsetBook::default();
        book.insert(0, PartitionCursor::resume(None, None, Offset(0)));
        book.get_mut(0).unwrap().advance(Offset(0), true);
        let dead = book.dead_letter_txns();
        let events = book.event_txns();

        book.dead_letters_committed(&dead);
        book.events_committed(&events);

        let cursor = book.get(0).unwrap();
        assert!(!cursor.has_progress());
        assert!(!cursor.has_pending_dead_letters());
        assert_eq!(cursor.events_txn(), Some(Offset(1)));
        assert_eq!(cursor.dead_letters_txn(), Some(Offset(1)));
        assert!(book.event_txns().is_empty());
    }

    #[test]
    #[should_panic(expected = "read after")]
    fn reading_backwards_is_a_bug() {
        let mut cursor = PartitionCursor::resume(Some(Offset(10)), None, Offset(0));
        cursor.advance(Offset(9), false);
    }
}

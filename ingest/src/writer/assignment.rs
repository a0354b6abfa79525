//! What a lake writer does when the partitions it should consume change.
//!
//! In the embedded mode a writer consumes every partition of its topic; with Kafka, the
//! consumer group splits them among writer processes and moves them when a process joins or
//! leaves. Gaining a partition is simple: resume it from the version stored in the lake.
//! Losing one is the case to get right. The writer's buffer mixes rows of every partition it
//! holds, so it drops the whole buffer and resumes every partition it still holds from the
//! lake, as kafka-delta-ingest does on a rebalance: nothing it dropped was committed, so the
//! rows are read again, by this writer or by the partition's new owner, and land once.

use std::collections::BTreeSet;

/// The change a writer makes to the partitions it consumes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rebalance {
    /// Nothing moved.
    Keep,
    /// Partitions were added: resume these from the lake, keep the rest as they are.
    Resume(BTreeSet<u32>),
    /// A partition was taken away: drop everything buffered and resume all of these (every
    /// partition still held) from the lake.
    Reset(BTreeSet<u32>),
}

/// Decides the change from the partitions the writer `held` to the ones it now `owns`.
pub fn plan(held: &BTreeSet<u32>, owned: &BTreeSet<u32>) -> Rebalance {
    if !held.is_subset(owned) {
        Rebalance::Reset(owned.clone())
    } else if held.len() < owned.len() {
        Rebalance::Resume(owned.difference(held).copied().collect())
    } else {
        Rebalance::Keep
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(partitions: &[u32]) -> BTreeSet<u32> {
        partitions.iter().copied().collect()
    }

    #[test]
    fn an_unchanged_assignment_keeps_the_buffer() {
        assert_eq!(plan(&set(&[0, 1]), &set(&[0, 1])), Rebalance::Keep);
        assert_eq!(plan(&set(&[]), &set(&[])), Rebalance::Keep);
    }

    #[test]
    fn gained_partitions_resume_from_the_lake_and_the_rest_keep_their_buffer() {
        assert_eq!(
            plan(&set(&[0]), &set(&[0, 2, 3])),
            Rebalance::Resume(set(&[2, 3]))
        );
    }

    #[test]
    fn a_lost_partition_resets_every_partition_still_held() {
        assert_eq!(
            plan(&set(&[0, 1, 2]), &set(&[0, 2])),
            Rebalance::Reset(set(&[0, 2]))
        );
    }

    #[test]
    fn losing_one_partition_while_gaining_another_is_a_reset() {
        assert_eq!(
            plan(&set(&[0, 1]), &set(&[0, 3])),
            Rebalance::Reset(set(&[0, 3]))
        );
    }

    #[test]
    fn losing_everything_empties_the_writer() {
        assert_eq!(plan(&set(&[0, 1]), &set(&[])), Rebalance::Reset(set(&[])));
    }
}

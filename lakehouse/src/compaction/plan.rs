//! Which files a compaction rewrites, decided from their sizes and partitions alone.

use std::collections::BTreeMap;

/// What compaction rewrites, and into what.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CompactionPolicy {
    /// A partition is compacted once it holds at least this many small files (2 at least:
    /// one file has nothing to merge with).
    pub min_files: usize,
    /// Files smaller than this are small. Compaction packs a partition's small files into
    /// files of at most about this size.
    pub target_file_size: u64,
}

impl Default for CompactionPolicy {
    fn default() -> Self {
        Self {
            min_files: 16,
            target_file_size: 128 * 1024 * 1024,
        }
    }
}

/// A live file of a table, as the planner sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileSize {
    /// The file's partition (its partition values, as a path or any other stable key).
    pub partition: String,
    /// Its size in bytes.
    pub bytes: u64,
}

/// Files of one partition to merge into one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bin {
    /// The partition.
    pub partition: String,
    /// Indexes of the files in the planner's input, at least two.
    pub files: Vec<usize>,
    /// Their total size in bytes.
    pub bytes: u64,
}

/// The bins to merge: in every partition with at least [`CompactionPolicy::min_files`] small
/// files, those files packed, smallest first, into bins of at most
/// [`CompactionPolicy::target_file_size`] bytes. A bin that would hold one file is left out.
///
/// Packing the smallest first lets a partition's fresh files join the file an earlier
/// compaction made of its older ones until that file reaches the target size; from then on
/// it is no longer small and is never rewritten again.
pub fn plan(files: &[FileSize], policy: &CompactionPolicy) -> Vec<Bin> {
    let mut small: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (index, file) in files.iter().enumerate() {
        if file.bytes < policy.target_file_size {
            small.entry(&file.partition).or_default().push(index);
        }
    }
    let min_files = policy.min_files.max(2);
    let mut bins = Vec::new();
    for (partition, mut indexes) in small {
        if indexes.len() < min_files {
            continue;
        }
        indexes.sort_by_key(|&index| (files[index].bytes, index));
        let empty = || Bin {
            partition: partition.to_owned(),
            files: Vec::new(),
            bytes: 0,
        };
        let mut bin = empty();
        for index in indexes {
            let bytes = files[index].bytes;
            if !bin.files.is_empty() && bin.bytes + bytes > policy.target_file_size {
                bins.push(std::mem::replace(&mut bin, empty()));
            }
            bin.files.push(index);
            bin.bytes += bytes;
        }
        bins.push(bin);
    }
    bins.retain(|bin| bin.files.len() > 1);
    bins
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(partition: &str, bytes: u64) -> FileSize {
        FileSize {
            partition: partition.to_owned(),
            bytes,
        }
    }

    fn policy(min_files: usize, target_file_size: u64) -> CompactionPolicy {
        CompactionPolicy {
            min_files,
            target_file_size,
        }
    }

    #[test]
    fn a_partition_with_enough_small_files_is_merged_into_one() {
        let files = [file("d=1", 10), file("d=1", 30), file("d=1", 20)];

        let bins = plan(&files, &policy(3, 100));

        assert_eq!(
            bins,
            [Bin {
                partition: "d=1".to_owned(),
                files: vec![0, 2, 1],
                bytes: 60
            }]
        );
    }

    #[test]
    fn a_partition_below_the_file_threshold_is_left_alone() {
        let files = [file("d=1", 10), file("d=1", 10), file("d=2", 10)];

        assert!(plan(&files, &policy(3, 100)).is_empty());
        assert_eq!(plan(&files, &policy(2, 100)).len(), 1);
    }

    #[test]
    fn files_at_the_target_size_are_neither_counted_nor_rewritten() {
        let files = [
            file("d=1", 100),
            file("d=1", 150),
            file("d=1", 10),
            file("d=1", 20),
        ];

        assert!(plan(&files, &policy(3, 100)).is_empty());
        let bins = plan(&files, &policy(2, 100));
        assert_eq!(bins.len(), 1);
        assert_eq!(bins[0].files, [2, 3]);
    }

    #[test]
    fn bins_stay_within_the_target_size_and_a_lone_leftover_is_dropped() {
        let files = [
            file("d=1", 40),
            file("d=1", 40),
            file("d=1", 40),
            file("d=1", 40),
            file("d=1", 90),
        ];

        let bins = plan(&files, &policy(2, 100));

        assert_eq!(bins.len(), 2);
        assert_eq!(bins[0].files, [0, 1]);
        assert_eq!(bins[1].files, [2, 3]);
        assert!(bins.iter().all(|bin| bin.bytes <= 100));
    }

    #[test]
    fn each_partition_is_planned_on_its_own() {
        let files = [
            file("d=2", 5),
            file("d=1", 5),
            file("d=2", 5),
            file("d=1", 5),
        ];

        let bins = plan(&files, &policy(2, 100));

        assert_eq!(bins.len(), 2);
        assert_eq!(
            (bins[0].partition.as_str(), &bins[0].files[..]),
            ("d=1", &[1, 3][..])
        );
        assert_eq!(
            (bins[1].partition.as_str(), &bins[1].files[..]),
            ("d=2", &[0, 2][..])
        );
    }

    #[test]
    fn a_threshold_below_two_still_needs_two_files() {
        assert!(plan(&[file("d=1", 5)], &policy(0, 100)).is_empty());
    }
}

//! Consumer groups' committed offsets, kept in one file replaced atomically on every commit.
//!
//! A commit writes the whole table to a temporary file, syncs it, renames it over the old one
//! and syncs the directory: after a crash the file is either the old table or the new one,
//! never a mix. The table is small (groups × partitions), so rewriting it is cheap next to
//! the fsync every durable commit needs anyway.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::segment::sync_dir;
use crate::log::{GroupId, LogError, Offset, TopicName, TopicPartition};

/// Committed offsets of every consumer group, by partition.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CommittedOffsets {
    entries: BTreeMap<(GroupId, TopicPartition), Offset>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileFormat {
    format: u32,
    offsets: Vec<Entry>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    group: String,
    topic: String,
    partition: u32,
    offset: u64,
}

impl CommittedOffsets {
    /// The offset `group` committed for `partition`.
    pub fn get(&self, group: &GroupId, partition: &TopicPartition) -> Option<Offset> {
        self.entries
            .get(&(group.clone(), partition.clone()))
            .copied()
    }

    /// Records a commit (later commits replace earlier ones, also backwards: a group may
    /// rewind).
    pub fn set(&mut self, group: &GroupId, partition: &TopicPartition, next: Offset) {
        self.entries
            .insert((group.clone(), partition.clone()), next);
    }

    /// The lowest offset any group committed for `partition`: records from there on are
    /// still needed by someone.
    pub fn lowest(&self, partition: &TopicPartition) -> Option<Offset> {
        self.entries
            .iter()
            .filter(|((_, committed), _)| committed == partition)
            .map(|(_, offset)| *offset)
            .min()
    }

    /// The file encoding.
    pub fn to_bytes(&self) -> Vec<u8> {
        let file = FileFormat {
            format: 1,
            offsets: self
                .entries
                .iter()
                .map(|((group, partition), offset)| Entry {
                    group: group.as_str().to_owned(),
                    topic: partition.topic.as_str().to_owned(),
                    partition: partition.partition,
                    offset: offset.0,
                })
                .collect(),
        };
        serde_json::to_vec_pretty(&file).expect("offsets serialize to JSON")
    }

    /// Decodes the file encoding.
    ///
    /// # Errors
    ///
    /// A message saying what is wrong with the file.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, String> {
        let file: FileFormat = serde_json::from_slice(bytes).map_err(|err| err.to_string())?;
        if file.format != 1 {
            return Err(format!("unknown offsets file format {}", file.format));
        }
        let mut offsets = Self::default();
        for entry in file.offsets {
            let group = GroupId::parse(entry.group).map_err(|err| err.to_string())?;
            let topic = TopicName::parse(entry.topic).map_err(|err| err.to_string())?;
            offsets.set(
                &group,
                &TopicPartition::new(topic, entry.partition),
                Offset(entry.offset),
            );
        }
        Ok(offsets)
    }
}

/// The committed-offsets file of a log directory.
#[derive(Debug)]
pub struct OffsetFile {
    path: PathBuf,
}

impl OffsetFile {
    /// The file inside `dir`.
    pub fn new(dir: &Path) -> Self {
        Self {
            path: dir.join("consumer_offsets.json"),
        }
    }

    /// Loads the table (empty when the file does not exist yet).
    ///
    /// # Errors
    ///
    /// I/O errors, and [`LogError::Corrupt`] for a file that does not decode.
    pub fn load(&self) -> Result<CommittedOffsets, LogError> {
        match fs::read(&self.path) {
            Ok(bytes) => CommittedOffsets::from_bytes(&bytes).map_err(|reason| LogError::Corrupt {
                path: self.path.display().to_string(),
                position: 0,
                reason,
            }),
            Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(CommittedOffsets::default()),
            Err(err) => Err(LogError::io(format!("reading {}", self.path.display()))(
                err,
            )),
        }
    }

    /// Replaces the file with `offsets`, durably.
    ///
    /// # Errors
    ///
    /// I/O errors; the old file is then still intact.
    pub fn store(&self, offsets: &CommittedOffsets) -> Result<(), LogError> {
        let tmp = self.path.with_extension("json.tmp");
        let write = || -> io::Result<()> {
            let mut file = File::create(&tmp)?;
            file.write_all(&offsets.to_bytes())?;
            file.sync_all()?;
            fs::rename(&tmp, &self.path)?;
            sync_dir(
                self.path
                    .parent()
                    .expect("the offsets file is inside the log directory"),
            )
        };
        write().map_err(LogError::io(format!("writing {}", self.path.display())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tp(topic: &str, partition: u32) -> TopicPartition {
        TopicPartition::new(TopicName::parse(topic).unwrap(), partition)
    }

    #[test]
    fn commits_are_kept_per_group_and_partition() {
        let writer = GroupId::parse("lake-writer").unwrap();
        let audit = GroupId::parse("audit").unwrap();
        let mut offsets = CommittedOffsets::default();
        offsets.set(&writer, &tp("tenet.calls.v1", 0), Offset(40));
        offsets.set(&audit, &tp("tenet.calls.v1", 0), Offset(12));
        offsets.set(&writer, &tp("tenet.calls.v1", 1), Offset(7));
        assert_eq!(
            offsets.get(&writer, &tp("tenet.calls.v1", 0)),
            Some(Offset(40))
        );
        assert_eq!(offsets.get(&writer, &tp("tenet.qa.v1", 0)), None);
        assert_eq!(offsets.lowest(&tp("tenet.calls.v1", 0)), Some(Offset(12)));
        assert_eq!(offsets.lowest(&tp("tenet.calls.v1", 2)), None);
    }

    #[test]
    fn the_table_round_trips_through_its_file_encoding() {
        let mut offsets = CommittedOffsets::default();
        offsets.set(
            &GroupId::parse("lake-writer").unwrap(),
            &tp("tenet.calls.v1", 3),
            Offset(99),
        );
        let decoded = CommittedOffsets::from_bytes(&offsets.to_bytes()).unwrap();
        assert_eq!(decoded, offsets);
        assert!(CommittedOffsets::from_bytes(b"{\"format\":2,\"offsets\":[]}").is_err());
    }

    #[test]
    fn a_stored_table_survives_reopening_and_replaces_the_old_one() {
        let dir = tempfile::tempdir().unwrap();
        let file = OffsetFile::new(dir.path());
        assert_eq!(file.load().unwrap(), CommittedOffsets::default());
        let group = GroupId::parse("lake-writer").unwrap();
        let mut offsets = CommittedOffsets::default();
        offsets.set(&group, &tp("tenet.calls.v1", 0), Offset(5));
        file.store(&offsets).unwrap();
        offsets.set(&group, &tp("tenet.calls.v1", 0), Offset(9));
        file.store(&offsets).unwrap();
        let reloaded = OffsetFile::new(dir.path()).load().unwrap();
        assert_eq!(
            reloaded.get(&group, &tp("tenet.calls.v1", 0)),
            Some(Offset(9))
        );
    }
}

//! The Delta tables of the lake: one per event family and one for dead letters.
//!
//! Every table lives under one root URL (`file:///…/lake` on a single box, `s3://…` later),
//! in a directory named after the table, and is partitioned by [`PARTITION_COLUMN`], the UTC
//! date of the event (or, for dead letters, of its arrival). Never by tenant: a hundred
//! thousand tenants would make millions of tiny files; the writer sorts rows by tenant
//! inside each file instead, so Parquet row-group statistics prune a tenant's scan.
//!
//! The event tables take their columns from [`EventFamily::arrow_schema`], so the event
//! contract is the one place a column is declared.

use std::sync::{Arc, LazyLock};

use deltalake::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use deltalake::kernel::StructType;
use deltalake::kernel::engine::arrow_conversion::TryIntoKernel as _;
use deltalake::parquet::basic::Compression;
use deltalake::parquet::file::properties::{EnabledStatistics, WriterProperties};
use deltalake::{DeltaTable, DeltaTableError};
use tenet_events::EventFamily;
use tenet_events::row::PARTITION_COLUMN;
use url::Url;

/// A table of the lake.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LakeTable {
    /// The events of one family, one row per event.
    Events(EventFamily),
    /// Records that could not be decoded or validated: raw payload, error, source position.
    DeadLetters,
}

/// The name of the dead-letter table.
pub const DEAD_LETTERS: &str = "dead_letters";

/// Columns of the dead-letter table.
pub mod dead_letter_columns {
    /// The record's payload exactly as it was read from the log.
    pub const PAYLOAD: &str = "payload";
    /// The payload as text when it is valid UTF-8 (null otherwise), for people to read.
    pub const PAYLOAD_TEXT: &str = "payload_text";
    /// The record's partitioning key as text when it is valid UTF-8.
    pub const RECORD_KEY: &str = "record_key";
    /// A stable machine-readable error code, e.g. `malformed_json`.
    pub const ERROR_CODE: &str = "error_code";
    /// The human-readable error.
    pub const ERROR_MESSAGE: &str = "error_message";
    /// The offending field's path, when the error names one.
    pub const ERROR_FIELD: &str = "error_field";
    /// The log topic the record was read from.
    pub const SOURCE_TOPIC: &str = "source_topic";
    /// The partition of that topic.
    pub const SOURCE_PARTITION: &str = "source_partition";
    /// The record's offset within the partition.
    pub const SOURCE_OFFSET: &str = "source_offset";
    /// When the log stored the record (UTC).
    pub const RECEIVED_AT: &str = "received_at";
}

static DEAD_LETTER_SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| {
    use dead_letter_columns::*;
    let utc_micros = DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()));
    Arc::new(Schema::new(vec![
        Field::new(PAYLOAD, DataType::Binary, false),
        Field::new(PAYLOAD_TEXT, DataType::Utf8, true),
        Field::new(RECORD_KEY, DataType::Utf8, true),
        Field::new(ERROR_CODE, DataType::Utf8, false),
        Field::new(ERROR_MESSAGE, DataType::Utf8, false),
        Field::new(ERROR_FIELD, DataType::Utf8, true),
        Field::new(SOURCE_TOPIC, DataType::Utf8, false),
        Field::new(SOURCE_PARTITION, DataType::Int32, false),
        Field::new(SOURCE_OFFSET, DataType::Int64, false),
        Field::new(RECEIVED_AT, utc_micros, false),
        Field::new(PARTITION_COLUMN, DataType::Date32, false),
    ]))
});

impl LakeTable {
    /// Every table of the lake.
    pub fn all() -> impl Iterator<Item = LakeTable> {
        EventFamily::ALL
            .into_iter()
            .map(LakeTable::Events)
            .chain([LakeTable::DeadLetters])
    }

    /// The table's name, also its directory under the lake root.
    pub fn name(&self) -> &'static str {
        match self {
            LakeTable::Events(family) => family.as_str(),
            LakeTable::DeadLetters => DEAD_LETTERS,
        }
    }

    /// The table's columns as an Arrow schema, partition column included.
    pub fn arrow_schema(&self) -> SchemaRef {
        match self {
            LakeTable::Events(family) => family.arrow_schema(),
            LakeTable::DeadLetters => DEAD_LETTER_SCHEMA.clone(),
        }
    }

    /// The columns the table is partitioned by.
    pub fn partition_columns(&self) -> [&'static str; 1] {
        [PARTITION_COLUMN]
    }

    /// The order of the rows inside each of the table's files: tenant then time for event
    /// tables, so that a tenant's rows are contiguous and Parquet statistics prune its scans;
    /// none for dead letters, which are read whole.
    pub fn sort_columns(&self) -> &'static [&'static str] {
        match self {
            LakeTable::Events(_) => &["tenant_id", "occurred_at"],
            LakeTable::DeadLetters => &[],
        }
    }
}

/// The most rows of one Parquet row group in the lake's files.
///
/// A day's file holds many tenants sorted by tenant; row groups of this size put a tenant's
/// rows of the day in one or two of them, which a tenant-scoped scan keeps while row-group
/// statistics let it skip the rest. Parquet's default of 1,048,576 rows would make a scan of
/// one tenant read the rows of hundreds of others.
pub const ROW_GROUP_ROWS: usize = 65_536;

/// How every file of the lake is written: Snappy pages, min/max statistics per page (the
/// page index, for pruning inside a row group) and row groups of [`ROW_GROUP_ROWS`].
pub fn writer_properties() -> WriterProperties {
    WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_statistics_enabled(EnabledStatistics::Page)
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
        .build()
}

/// Why a lake table could not be opened or created.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TableError {
    /// The lake root is not a URL a table can live under.
    #[error("invalid lake location `{location}`: {reason}")]
    InvalidLocation {
        /// What was given.
        location: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The table's Arrow schema has a type the Delta protocol cannot store.
    #[error("table `{table}` has a column type Delta Lake cannot store: {source}")]
    Schema {
        /// The table.
        table: &'static str,
        /// The cause.
        #[source]
        source: Box<DeltaTableError>,
    },
    /// An existing table's columns differ from the definition.
    #[error("table `{table}` at {url} has columns that differ from its definition")]
    SchemaMismatch {
        /// The table.
        table: &'static str,
        /// Where it is.
        url: Url,
    },
    /// Delta Lake or its object store failed.
    #[error("table `{table}` at {url}: {source}")]
    Delta {
        /// The table.
        table: &'static str,
        /// Where it is.
        url: Url,
        /// The cause.
        #[source]
        source: Box<DeltaTableError>,
    },
}

/// Where the lake's tables live: a root URL with one directory per table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lake {
    root: Url,
}

impl Lake {
    /// A lake under `root` (`file:///var/lib/tenet/lake/`, `s3://bucket/lake/`).
    ///
    /// # Errors
    ///
    /// [`TableError::InvalidLocation`] for a URL that cannot be a base (e.g. `mailto:`).
    pub fn new(root: Url) -> Result<Self, TableError> {
        if root.cannot_be_a_base() {
            return Err(TableError::InvalidLocation {
                location: root.to_string(),
                reason: "not a hierarchical URL".to_owned(),
            });
        }
        let mut root = root;
        if !root.path().ends_with('/') {
            let path = format!("{}/", root.path());
            root.set_path(&path);
        }
        Ok(Self { root })
    }

    /// A lake in a local directory, created if missing.
    ///
    /// # Errors
    ///
    /// [`TableError::InvalidLocation`] when the directory cannot be created or is not an
    /// absolute path once resolved.
    pub fn in_dir(dir: &std::path::Path) -> Result<Self, TableError> {
        let invalid = |reason: String| TableError::InvalidLocation {
            location: dir.display().to_string(),
            reason,
        };
        std::fs::create_dir_all(dir).map_err(|error| invalid(error.to_string()))?;
        let absolute = dir
            .canonicalize()
            .map_err(|error| invalid(error.to_string()))?;
        let root = Url::from_directory_path(&absolute)
            .map_err(|()| invalid("not an absolute path".to_owned()))?;
        Self::new(root)
    }

    /// The lake's root URL, ending in `/`.
    pub fn root(&self) -> &Url {
        &self.root
    }

    /// The URL of a table's directory.
    pub fn table_url(&self, table: LakeTable) -> Url {
        self.root
            .join(&format!("{}/", table.name()))
            .expect("a table name is a valid relative URL path")
    }

    /// Opens a table, creating it (and, on a local disk, its directory) when it does not
    /// exist yet.
    ///
    /// Creating is safe when several writers start at once: the Delta log's first commit
    /// is written with put-if-absent, so one creates the table and the others open it.
    ///
    /// # Errors
    ///
    /// [`TableError::SchemaMismatch`] when an existing table's columns differ from the
    /// definition; [`TableError::Delta`] for storage failures.
    pub async fn open_or_create(&self, table: LakeTable) -> Result<DeltaTable, TableError> {
        let url = self.table_url(table);
        let delta = |source: DeltaTableError| TableError::Delta {
            table: table.name(),
            url: url.clone(),
            source: Box::new(source),
        };
        if url.scheme() == "file"
            && let Ok(path) = url.to_file_path()
        {
            std::fs::create_dir_all(&path)
                .map_err(|error| delta(DeltaTableError::generic(error.to_string())))?;
        }
        let opened = DeltaTable::try_from_url(url.clone()).await.map_err(delta)?;
        if opened.version().is_some() {
            return self.upgrade(table, opened).await;
        }
        let columns = delta_schema(table)?;
        let created = opened
            .create()
            .with_table_name(table.name())
            .with_columns(columns.fields().cloned())
            .with_partition_columns(table.partition_columns())
            .await;
        match created {
            Ok(created) => Ok(created),
            // Another writer created it between our load and our create.
            Err(_) => {
                let reopened = DeltaTable::try_from_url(url.clone()).await.map_err(delta)?;
                if reopened.version().is_none() {
                    return Err(delta(DeltaTableError::NotATable(url.to_string())));
                }
                self.upgrade(table, reopened).await
            }
        }
    }

    /// Brings an existing table up to its definition: a table written before its family
    /// gained columns gets them, nullable and at the end, in one schema-only commit; its
    /// files are untouched and read the new columns as null. Any other difference is a
    /// mismatch.
    async fn upgrade(
        &self,
        table: LakeTable,
        opened: DeltaTable,
    ) -> Result<DeltaTable, TableError> {
        let url = self.table_url(table);
        let delta = |source: DeltaTableError| TableError::Delta {
            table: table.name(),
            url: url.clone(),
            source: Box::new(source),
        };
        let expected = delta_schema(table)?;
        let actual = opened.snapshot().map_err(delta)?.schema();
        if actual.as_ref() == &expected {
            return Ok(opened);
        }
        let mismatch = || TableError::SchemaMismatch {
            table: table.name(),
            url: url.clone(),
        };
        let (actual, expected) = (
            actual.fields().collect::<Vec<_>>(),
            expected.fields().collect::<Vec<_>>(),
        );
        let added = expected.get(actual.len()..).unwrap_or_default();
        if expected[..actual.len().min(expected.len())] != actual[..]
            || added.is_empty()
            || added.iter().any(|field| !field.is_nullable())
        {
            return Err(mismatch());
        }
        let added: Vec<_> = added.iter().map(|field| (*field).clone()).collect();
        match opened.add_columns().with_fields(added).await {
            Ok(upgraded) => Ok(upgraded),
            // Another writer upgraded it first: the table must now be as defined.
            Err(_) => {
                let reopened = DeltaTable::try_from_url(url.clone()).await.map_err(delta)?;
                if reopened.snapshot().map_err(delta)?.schema().as_ref() == &delta_schema(table)? {
                    Ok(reopened)
                } else {
                    Err(mismatch())
                }
            }
        }
    }
}

/// The table's columns as a Delta schema.
///
/// # Errors
///
/// [`TableError::Schema`] when a column's Arrow type has no Delta equivalent.
pub fn delta_schema(table: LakeTable) -> Result<StructType, TableError> {
    table
        .arrow_schema()
        .as_ref()
        .try_into_kernel()
        .map_err(|error| TableError::Schema {
            table: table.name(),
            source: Box::new(DeltaTableError::from(error)),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_table_is_partitioned_by_event_date_and_has_that_column() {
        for table in LakeTable::all() {
            let schema = table.arrow_schema();
            for column in table.partition_columns() {
                assert_eq!(
                    schema.field_with_name(column).unwrap().data_type(),
                    &DataType::Date32,
                    "{}",
                    table.name()
                );
            }
        }
    }

    #[test]
    fn every_table_schema_converts_to_delta() {
        for table in LakeTable::all() {
            let schema = delta_schema(table).unwrap();
            assert_eq!(schema.fields().count(), table.arrow_schema().fields().len());
        }
    }

    #[test]
    fn tables_live_in_their_own_directory_under_the_root() {
        let lake = Lake::new(Url::parse("s3://bucket/lake").unwrap()).unwrap();
        assert_eq!(
            lake.table_url(LakeTable::Events(EventFamily::Calls))
                .as_str(),
            "s3://bucket/lake/calls/"
        );
        assert_eq!(
            lake.table_url(LakeTable::DeadLetters).as_str(),
            "s3://bucket/lake/dead_letters/"
        );
    }

    #[test]
    fn table_names_are_unique() {
        let mut names: Vec<_> = LakeTable::all().map(|table| table.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), EventFamily::ALL.len() + 1);
    }

    #[tokio::test]
    async fn a_missing_table_is_created_and_reopened_with_the_same_schema() {
        let dir = tempfile::tempdir().unwrap();
        let lake = Lake::in_dir(&dir.path().join("lake")).unwrap();

        let created = lake
            .open_or_create(LakeTable::Events(EventFamily::Tickets))
            .await
            .unwrap();
        let reopened = lake
            .open_or_create(LakeTable::Events(EventFamily::Tickets))
            .await
            .unwrap();

        assert_eq!(created.version(), Some(0));
        assert_eq!(reopened.version(), Some(0));
        let metadata = reopened.snapshot().unwrap().metadata().clone();
        let partitions: Vec<&str> = metadata
            .partition_columns()
            .iter()
            .map(String::as_str)
            .collect();
        assert_eq!(partitions, vec![PARTITION_COLUMN]);
        assert!(dir.path().join("lake/tickets/_delta_log").is_dir());
    }
}

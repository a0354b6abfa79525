//! A Delta table read as plain Parquet files, from its snapshot's list of files.
//!
//! The lake's tables use the first Delta reader protocol: no deletion vectors, no column
//! mapping, no row tracking. Reading such a table is reading its live Parquet files, with the
//! partition column's value taken from the log. [`SnapshotTable`] does just that: it prunes
//! the snapshot's files by their partition values and the statistics in the log, and hands
//! the rest to DataFusion's own Parquet scan, with `event_date` as a DataFusion partition
//! column. Delta Lake's general scan instead passes every batch through a per-file transform
//! that puts the partition value in and adapts the schema: on the benchmark's all-tenant
//! month that was 8 % of the query's CPU.
//!
//! A table that needs more of the protocol is read through Delta Lake's scan instead
//! ([`SnapshotTable::try_new`] says which).

use std::collections::HashSet;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{TimeZone as _, Utc};
use datafusion::arrow::array::{Array, ArrayRef, AsArray as _, BooleanArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{
    DataType, Field, FieldRef, Schema, SchemaRef, TimeUnit, TimestampMicrosecondType,
};
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::stats::Precision;
use datafusion::common::{
    Column, ColumnStatistics, DFSchema, DataFusionError, Result as DfResult, ScalarValue,
    Statistics, project_schema,
};
use datafusion::datasource::listing::PartitionedFile;
use datafusion::datasource::physical_plan::parquet::CachedParquetFileReaderFactory;
use datafusion::datasource::physical_plan::{FileGroup, FileScanConfigBuilder, ParquetSource};
use datafusion::datasource::source::DataSourceExec;
use datafusion::datasource::table_schema::TableSchema;
use datafusion::execution::object_store::ObjectStoreUrl;
use datafusion::logical_expr::utils::conjunction;
use datafusion::logical_expr::{Expr, TableProviderFilterPushDown, TableType};
use datafusion::physical_optimizer::pruning::{PruningPredicateBuilder, PruningStatistics};
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::empty::EmptyExec;
use deltalake::delta_datafusion::engine::AsObjectStoreUrl as _;
use deltalake::kernel::{EagerSnapshot, LogDataHandler};
use deltalake::{DeltaTable, ObjectMeta, Path};

/// A Delta table of the first reader protocol, scanned as Parquet files.
#[derive(Debug)]
pub(crate) struct SnapshotTable {
    snapshot: EagerSnapshot,
    store: ObjectStoreUrl,
    /// The table's columns in the log's order, strings as views (as DataFusion reads them).
    schema: SchemaRef,
    /// The columns in the files and the partition columns after them: the scan's order.
    scan_schema: TableSchema,
    /// For each of the table's columns, its place in `scan_schema`.
    scan_index: Vec<usize>,
    /// Each live file, in the log's order, as DataFusion reads it.
    files: Vec<PartitionedFile>,
}

impl SnapshotTable {
    /// `table`'s current snapshot as a Parquet scan, or `None` when reading it needs more than
    /// the first reader protocol (or a file lives outside the table's directory), which only
    /// Delta Lake's own scan handles.
    ///
    /// # Errors
    ///
    /// When the table has no snapshot loaded or its log holds a value it cannot parse.
    pub(crate) fn try_new(table: &DeltaTable) -> DfResult<Option<Self>> {
        let state = table.snapshot()?;
        let protocol = serde_json::to_value(state.protocol())
            .map_err(|error| DataFusionError::External(Box::new(error)))?;
        if protocol
            .get("minReaderVersion")
            .and_then(serde_json::Value::as_i64)
            != Some(1)
        {
            return Ok(None);
        }
        let snapshot = state.snapshot().clone();
        let partitions = state.metadata().partition_columns().to_vec();
        let logical = snapshot.arrow_schema();
        let schema = Arc::new(Schema::new_with_metadata(
            logical.fields().iter().map(as_view).collect::<Vec<_>>(),
            logical.metadata().clone(),
        ));
        let (file_fields, partition_fields): (Vec<FieldRef>, Vec<FieldRef>) = schema
            .fields()
            .iter()
            .cloned()
            .partition(|field| !partitions.contains(field.name()));
        let scan_names: Vec<&String> = file_fields
            .iter()
            .chain(&partition_fields)
            .map(|field| field.name())
            .collect();
        let scan_index = schema
            .fields()
            .iter()
            .map(|field| {
                scan_names
                    .iter()
                    .position(|name| *name == field.name())
                    .expect("every column is a file or a partition column")
            })
            .collect();
        let partition_types: Vec<(String, DataType)> = partition_fields
            .iter()
            .map(|field| (field.name().clone(), field.data_type().clone()))
            .collect();
        let scan_schema = TableSchema::builder(Arc::new(Schema::new(file_fields.clone())))
            .with_table_partition_cols(partition_fields)
            .build();

        // The store `DeltaTable::update_datafusion_session` registers for the table.
        let log_store = table.log_store();
        let root = log_store.root_url();
        let store = root.as_object_store_url();
        let root_path = Path::from_url_path(root.path())
            .map_err(|error| DataFusionError::External(Box::new(error)))?;
        let mut files = Vec::new();
        for file in snapshot.try_log_data()?.iter() {
            let relative = file.path();
            if relative.contains("://") {
                return Ok(None);
            }
            let location = Path::from_iter(
                root_path
                    .parts()
                    .chain(Path::from(relative.as_ref()).parts()),
            );
            let values = file.partition_values_map();
            let partition_values = partition_types
                .iter()
                .map(
                    |(name, data_type)| match values.get(name).cloned().flatten() {
                        Some(value) => ScalarValue::try_from_string(value, data_type),
                        None => ScalarValue::try_from(data_type),
                    },
                )
                .collect::<DfResult<Vec<_>>>()?;
            let mut scanned = PartitionedFile::new_from_meta(ObjectMeta {
                location,
                last_modified: Utc
                    .timestamp_millis_opt(file.modification_time())
                    .single()
                    .unwrap_or_default(),
                size: u64::try_from(file.size()).unwrap_or_default(),
                e_tag: None,
                version: None,
            });
            scanned.partition_values = partition_values;
            let num_rows = match file.num_records() {
                Some(rows) => Precision::Exact(rows),
                None => Precision::Absent,
            };
            files.push(scanned.with_statistics(Arc::new(Statistics {
                num_rows,
                total_byte_size: Precision::Inexact(usize::try_from(file.size()).unwrap_or(0)),
                column_statistics: vec![ColumnStatistics::new_unknown(); file_fields.len()],
            })));
        }
        Ok(Some(Self {
            snapshot,
            store,
            schema,
            scan_schema,
            scan_index,
            files,
        }))
    }

    /// The files `filters` may keep, by their partition values and the log's statistics.
    fn pruned(&self, state: &dyn Session, filters: &[Expr]) -> DfResult<Vec<PartitionedFile>> {
        let Some(predicate) = conjunction(filters.iter().cloned()) else {
            return Ok(self.files.clone());
        };
        let logical = DFSchema::try_from(Arc::clone(&self.schema))?;
        let predicate = state.create_physical_expr(predicate, &logical)?;
        let pruning = PruningPredicateBuilder::new()
            .with_file_schema(Arc::clone(&self.schema))
            .with_max_in_list_size(state.config_options().execution.parquet.max_in_list_size)
            .try_build(predicate)?;
        let keep = pruning.prune(&LogStatistics {
            log: self.snapshot.try_log_data()?,
            schema: &self.schema,
        })?;
        Ok(self
            .files
            .iter()
            .zip(keep)
            .filter(|(_, keep)| *keep)
            .map(|(file, _)| file.clone())
            .collect())
    }
}

/// `field` with its strings and binaries as views, at any depth: what DataFusion reads Parquet
/// as, and what Delta Lake's own scan gives.
fn as_view(field: &FieldRef) -> FieldRef {
    let data_type = match field.data_type() {
        DataType::Utf8 | DataType::LargeUtf8 => DataType::Utf8View,
        DataType::Binary | DataType::LargeBinary => DataType::BinaryView,
        DataType::Struct(fields) => DataType::Struct(fields.iter().map(as_view).collect()),
        DataType::List(inner) => DataType::List(as_view(inner)),
        DataType::LargeList(inner) => DataType::LargeList(as_view(inner)),
        _ => return Arc::clone(field),
    };
    Arc::new(Field::clone(field).with_data_type(data_type))
}

#[async_trait]
impl TableProvider for SnapshotTable {
    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> DfResult<Vec<TableProviderFilterPushDown>> {
        // Every filter prunes files, and DataFusion pushes it into the Parquet scan, which
        // prunes row groups and pages by it and applies it to the rows.
        Ok(vec![TableProviderFilterPushDown::Inexact; filters.len()])
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        let files = self.pruned(state, filters)?;
        if files.is_empty() {
            return Ok(Arc::new(EmptyExec::new(project_schema(
                &self.schema,
                projection,
            )?)));
        }
        let columns = match projection {
            Some(projection) => projection.iter().map(|&i| self.scan_index[i]).collect(),
            None => self.scan_index.clone(),
        };
        let runtime = state.runtime_env();
        let readers = CachedParquetFileReaderFactory::new(
            runtime.object_store(&self.store)?,
            runtime.cache_manager.get_file_metadata_cache(),
        );
        let source = ParquetSource::new(self.scan_schema.clone())
            .with_table_parquet_options(state.table_options().parquet.clone())
            .with_parquet_file_reader_factory(Arc::new(readers));
        let statistics = Statistics::try_merge_iter(
            files.iter().filter_map(|file| file.statistics.as_deref()),
            self.scan_schema.table_schema(),
        )?;
        let group = FileGroup::new(files).with_statistics(Arc::new(statistics.clone()));
        let config = FileScanConfigBuilder::new(self.store.clone(), Arc::new(source))
            .with_file_groups(vec![group])
            .with_statistics(statistics)
            .with_projection_indices(Some(columns))?
            .with_limit(limit)
            .build();
        Ok(DataSourceExec::from_data_source(config))
    }
}

/// The log's statistics of each file, in the types of the table's schema.
struct LogStatistics<'a> {
    log: LogDataHandler<'a>,
    schema: &'a SchemaRef,
}

impl LogStatistics<'_> {
    /// The log's `values` of `column` in the column's type. The log keeps times to the
    /// millisecond, cut toward zero, so a time is widened by 999 µs toward `widen`'s side: a
    /// file's latest event may lie up to 999 µs past its recorded maximum.
    fn typed(&self, column: &Column, values: Option<ArrayRef>, widen: i64) -> Option<ArrayRef> {
        let field = self.schema.field_with_name(&column.name).ok()?;
        let values = values?;
        let values = if values.data_type() == field.data_type() {
            values
        } else {
            cast(&values, field.data_type()).ok()?
        };
        match values.data_type() {
            DataType::Timestamp(TimeUnit::Microsecond, zone) => {
                let zone = zone.clone();
                let widened = values
                    .as_primitive::<TimestampMicrosecondType>()
                    .unary::<_, TimestampMicrosecondType>(|micros| micros.saturating_add(widen))
                    .with_timezone_opt(zone);
                Some(Arc::new(widened))
            }
            DataType::Timestamp(..) => None,
            _ => Some(values),
        }
    }
}

impl PruningStatistics for LogStatistics<'_> {
    fn min_values(&self, column: &Column) -> Option<ArrayRef> {
        self.typed(column, self.log.min_values(column), -999)
    }

    fn max_values(&self, column: &Column) -> Option<ArrayRef> {
        self.typed(column, self.log.max_values(column), 999)
    }

    fn num_containers(&self) -> usize {
        self.log.num_containers()
    }

    fn null_counts(&self, column: &Column) -> Option<ArrayRef> {
        self.log.null_counts(column)
    }

    fn row_counts(&self) -> Option<ArrayRef> {
        self.log.row_counts()
    }

    fn contained(&self, _column: &Column, _values: &HashSet<ScalarValue>) -> Option<BooleanArray> {
        None
    }
}

//! Lake tables: upgraded in place when their family gains columns, and read by the lake's
//! reader with the columns Delta Lake gives them.

use std::sync::Arc;

use datafusion::arrow::array::{Array, RecordBatch, StringArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Schema};
use datafusion::physical_plan::displayable;
use datafusion::prelude::SessionContext;
use tenet_events::EventFamily;
use tenet_lakehouse::deltalake::arrow::json::ReaderBuilder;
use tenet_lakehouse::deltalake::kernel::{DataType as KernelType, StructField};
use tenet_lakehouse::deltalake::writer::{DeltaWriter as _, RecordBatchWriter};
use tenet_lakehouse::deltalake::{DeltaTable, TableProperty};
use tenet_lakehouse::tables::{TableError, delta_schema};
use tenet_lakehouse::{Lake, LakeReader, LakeTable, ReaderConfig};

const TICKETS: LakeTable = LakeTable::Events(EventFamily::Tickets);

/// A `ticket.status_changed` row of `schema`, with workflow statuses when it has them.
fn status_changed(schema: Arc<Schema>, event: u8, workflow: bool) -> RecordBatch {
    let mut row = serde_json::json!({
        "event_id": format!("0196f0c2-000a-7000-8000-0000000000{event:02x}"),
        "tenant_id": "0196f0c0-0000-7000-8000-00000000a11e",
        "event_type": "ticket.status_changed",
        "schema_version": 2,
        "occurred_at": "2026-04-12T09:12:31Z",
        "event_date": "2026-04-12",
        "ticket_id": "T-1",
        "status_from": "new",
        "status_to": "open",
    });
    if workflow {
        row["workflow_status_from"] = "received".into();
        row["workflow_status_to"] = "in_progress".into();
    }
    let mut reader = ReaderBuilder::new(schema)
        .build(std::io::Cursor::new(row.to_string()))
        .unwrap();
    reader.next().unwrap().unwrap()
}

async fn write(table: &mut DeltaTable, batch: RecordBatch) {
    let mut writer = RecordBatchWriter::for_table(table).unwrap();
    writer.write(batch).await.unwrap();
    writer.flush_and_commit(table).await.unwrap();
}

/// Creates the tickets table as it was before its last `dropped` columns were added.
async fn create_older(lake: &Lake, dropped: usize) -> Arc<Schema> {
    let url = lake.table_url(TICKETS);
    std::fs::create_dir_all(url.to_file_path().unwrap()).unwrap();
    let current = TICKETS.arrow_schema();
    let older = Arc::new(Schema::new(
        current.fields()[..current.fields().len() - dropped].to_vec(),
    ));
    let columns: Vec<_> = delta_schema(TICKETS).unwrap().fields().cloned().collect();
    let mut table = DeltaTable::try_from_url(url)
        .await
        .unwrap()
        .create()
        .with_columns(columns[..columns.len() - dropped].to_vec())
        .with_partition_columns(TICKETS.partition_columns())
        .await
        .unwrap();
    write(&mut table, status_changed(older.clone(), 1, false)).await;
    older
}

#[tokio::test]
async fn a_table_from_before_new_columns_gains_them_and_keeps_its_rows() {
    let dir = tempfile::tempdir().unwrap();
    let lake = Lake::in_dir(dir.path()).unwrap();
    create_older(&lake, 2).await;

    let mut table = lake.open_or_create(TICKETS).await.unwrap();
    assert_eq!(
        table.snapshot().unwrap().schema().as_ref(),
        &delta_schema(TICKETS).unwrap()
    );
    write(&mut table, status_changed(TICKETS.arrow_schema(), 2, true)).await;

    // Opening again changes nothing.
    let version = table.version();
    let table = lake.open_or_create(TICKETS).await.unwrap();
    assert_eq!(table.version(), version);

    // Delta Lake's own reader and the lake's reader both see the old file's row without
    // the new columns.
    let expected = [None, Some("in_progress".to_owned())];
    let context = SessionContext::new();
    context
        .register_table("tickets", table.table_provider().await.unwrap())
        .unwrap();
    assert_eq!(workflow_statuses(&context).await, expected);
    let reader = LakeReader::new(lake, ReaderConfig::default()).unwrap();
    let platform = reader.platform_session().await.unwrap();
    assert_eq!(workflow_statuses(&platform).await, expected);
}

async fn workflow_statuses(context: &SessionContext) -> Vec<Option<String>> {
    let batches = context
        .sql("select workflow_status_to from tickets order by event_id")
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    batches
        .iter()
        .flat_map(|batch| {
            let column = cast(batch.column(0), &DataType::Utf8).unwrap();
            let column = column
                .as_any()
                .downcast_ref::<StringArray>()
                .unwrap()
                .clone();
            (0..column.len()).map(move |i| column.is_valid(i).then(|| column.value(i).to_owned()))
        })
        .collect()
}

#[tokio::test]
async fn a_table_that_needs_more_of_the_delta_protocol_is_read_through_delta_lakes_scan() {
    // Deletion vectors need the third reader protocol, which only Delta Lake's scan reads.
    let dir = tempfile::tempdir().unwrap();
    let lake = Lake::in_dir(dir.path()).unwrap();
    let url = lake.table_url(TICKETS);
    std::fs::create_dir_all(url.to_file_path().unwrap()).unwrap();
    let columns: Vec<_> = delta_schema(TICKETS).unwrap().fields().cloned().collect();
    let mut table = DeltaTable::try_from_url(url)
        .await
        .unwrap()
        .create()
        .with_columns(columns)
        .with_partition_columns(TICKETS.partition_columns())
        .with_configuration_property(TableProperty::EnableDeletionVectors, Some("true"))
        .await
        .unwrap();
    write(&mut table, status_changed(TICKETS.arrow_schema(), 1, true)).await;

    let reader = LakeReader::new(lake, ReaderConfig::default()).unwrap();
    let platform = reader.platform_session().await.unwrap();
    let plan = platform
        .sql("select workflow_status_to from tickets")
        .await
        .unwrap()
        .create_physical_plan()
        .await
        .unwrap();
    let text = displayable(plan.as_ref()).indent(true).to_string();
    assert!(text.contains("DeltaScan"), "{text}");
    assert_eq!(
        workflow_statuses(&platform).await,
        [Some("in_progress".to_owned())]
    );
}

#[tokio::test]
async fn the_reader_gives_each_table_the_columns_and_types_delta_lake_gives() {
    let dir = tempfile::tempdir().unwrap();
    let lake = Lake::in_dir(dir.path()).unwrap();
    let mut delta = Vec::new();
    for family in EventFamily::ALL {
        let table = lake
            .open_or_create(LakeTable::Events(family))
            .await
            .unwrap();
        delta.push((family, table.table_provider().await.unwrap().schema()));
    }
    let reader = LakeReader::new(lake, ReaderConfig::default()).unwrap();
    let platform = reader.platform_session().await.unwrap();
    for (family, expected) in delta {
        let provider = platform.table_provider(family.as_str()).await.unwrap();
        assert_eq!(provider.schema(), expected, "{}", family.as_str());
    }
}

#[tokio::test]
async fn a_table_with_other_columns_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let lake = Lake::in_dir(dir.path()).unwrap();
    let url = lake.table_url(TICKETS);
    std::fs::create_dir_all(url.to_file_path().unwrap()).unwrap();
    let mut columns: Vec<_> = delta_schema(TICKETS).unwrap().fields().cloned().collect();
    // The same columns, but one holds numbers where the definition has text.
    let name = columns[1].name().clone();
    columns[1] = StructField::new(name, KernelType::LONG, true);
    DeltaTable::try_from_url(url)
        .await
        .unwrap()
        .create()
        .with_columns(columns)
        .with_partition_columns(TICKETS.partition_columns())
        .await
        .unwrap();

    let error = lake.open_or_create(TICKETS).await.unwrap_err();
    assert!(
        matches!(
            error,
            TableError::SchemaMismatch {
                table: "tickets",
                ..
            }
        ),
        "{error}"
    );
}

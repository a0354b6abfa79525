//! Listings far larger than their memory: the `calls` detail report of a month of a busy
//! tenant, run with a small memory limit, spills to disk and still streams every call once,
//! in order.

use datafusion::arrow::array::{ArrayRef, AsArray as _, RecordBatch};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, TimestampMicrosecondType};
use futures::StreamExt as _;
use tenet_events::{EventFamily, TenantId};
use tenet_lakehouse::deltalake::arrow::json::ReaderBuilder;
use tenet_lakehouse::deltalake::writer::{DeltaWriter as _, RecordBatchWriter};
use tenet_lakehouse::reports::{self, Params};
use tenet_lakehouse::{Lake, LakeReader, LakeTable, ReaderConfig, Scope, Workload};
use uuid::Uuid;

/// Calls of the tenant; two events each.
const CALLS: u64 = 600_000;
/// The listing pool: a small fraction of what the per-call aggregation and the sort of
/// 600,000 calls hold when they run in memory.
const LISTING_MEMORY: usize = 96 << 20;
/// Calls written per batch.
const CHUNK: u64 = 50_000;

fn tenant() -> TenantId {
    TenantId::from_uuid(Uuid::from_u128(0x7e7e_0000_0000_7000_8000_0000_0000_0001))
}

/// The JSON lines of call `n`: offered at its arrival, ended after its wait and talk. The
/// arrivals are spread over February 2026, and every tenth call shares its second with the
/// one before, so the order's tie-break on the call id matters.
fn call_lines(tenant: &str, n: u64, out: &mut String) {
    let february = chrono::DateTime::parse_from_rfc3339("2026-02-01T00:00:00Z")
        .unwrap()
        .to_utc();
    let step = 28 * 86_400 / CALLS as i64;
    let arrived = february + chrono::Duration::seconds((n as i64 - (n % 10 == 1) as i64) * step);
    let wait = (n * 7) % 90;
    let talk = 60 + (n * 13) % 600;
    let ended = arrived + chrono::Duration::seconds((wait + talk + 30) as i64);
    let answered = !n.is_multiple_of(9);
    let call = format!("call-{n:07}");
    let queue = format!("q{}", n % 4);
    for (kind, at, fields) in [
        (
            "call.offered",
            arrived,
            serde_json::json!({"call_id": call, "queue_id": queue, "project_id": "p1"}),
        ),
        (
            "call.ended",
            ended,
            serde_json::json!({
                "call_id": call, "queue_id": queue, "project_id": "p1",
                "outcome": if answered { "answered" } else { "abandoned" },
                "agent_id": if answered { Some(format!("a{}", n % 40)) } else { None },
                "wait_seconds": wait,
                "talk_seconds": if answered { talk } else { 0 },
                "hold_seconds": 0,
                "after_call_work_seconds": if answered { 30 } else { 0 },
            }),
        ),
    ] {
        let mut fields = fields;
        let object = fields.as_object_mut().unwrap();
        let sequence = n * 2 + u64::from(kind == "call.ended");
        object.insert(
            "event_id".into(),
            Uuid::from_u128(u128::from(sequence)).to_string().into(),
        );
        object.insert("tenant_id".into(), tenant.into());
        object.insert("event_type".into(), kind.into());
        object.insert("schema_version".into(), 1.into());
        let at_text = at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string();
        object.insert("event_date".into(), at_text[..10].into());
        object.insert("occurred_at".into(), at_text.into());
        out.push_str(&fields.to_string());
        out.push('\n');
    }
}

async fn busy_month(lake: &Lake) {
    let schema = LakeTable::Events(EventFamily::Calls).arrow_schema();
    let mut table = lake
        .open_or_create(LakeTable::Events(EventFamily::Calls))
        .await
        .unwrap();
    let mut writer = RecordBatchWriter::for_table(&table)
        .unwrap()
        .with_writer_properties(tenet_lakehouse::tables::writer_properties());
    let tenant = tenant().to_string();
    for first in (0..CALLS).step_by(CHUNK as usize) {
        let mut text = String::new();
        for n in first..(first + CHUNK).min(CALLS) {
            call_lines(&tenant, n, &mut text);
        }
        let batches: Vec<RecordBatch> = ReaderBuilder::new(schema.clone())
            .with_batch_size(16_384)
            .build(std::io::Cursor::new(text))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        for batch in batches {
            writer.write(batch).await.unwrap();
        }
    }
    writer.flush_and_commit(&mut table).await.unwrap();
}

/// A text column as `Utf8`, whichever string type the plan produced.
fn text(batch: &RecordBatch, column: &str) -> ArrayRef {
    cast(batch.column_by_name(column).unwrap(), &DataType::Utf8).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listing_larger_than_its_memory_spills_and_streams_every_call_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let lake = Lake::in_dir(&dir.path().join("lake")).unwrap();
    busy_month(&lake).await;
    let reader = LakeReader::new(
        lake,
        ReaderConfig {
            listing_memory_limit_bytes: LISTING_MEMORY,
            target_partitions: 2,
            ..ReaderConfig::default()
        },
    )
    .unwrap();
    let report = reports::find("calls").unwrap();
    assert_eq!(report.definition().workload(), Workload::Listing);
    let planned = report
        .plan(Params::from_pairs([
            ("from".to_owned(), "2026-02-01".to_owned()),
            ("to".to_owned(), "2026-03-01".to_owned()),
        ]))
        .unwrap();
    let session = reader
        .session_for(&Scope::tenant(tenant()), report.definition().workload())
        .await
        .unwrap();
    let runtime = session.context().runtime_env();
    let mut rows = reports::run(&session, planned).await.unwrap().stream;

    let mut seen = 0u64;
    let mut answered = 0u64;
    let mut last: Option<(i64, String)> = None;
    let mut most_spill_files = 0usize;
    let mut most_spilled_bytes = 0u64;
    while let Some(batch) = rows.next().await {
        let batch = batch.unwrap();
        let spilling = runtime.disk_manager.spilling_progress();
        most_spill_files = most_spill_files.max(spilling.active_files_count);
        most_spilled_bytes = most_spilled_bytes.max(spilling.current_bytes);
        let ids = text(&batch, "call_id");
        let ids = ids.as_string::<i32>();
        let arrived = batch
            .column_by_name("arrived_at")
            .unwrap()
            .as_primitive::<TimestampMicrosecondType>();
        let outcomes = text(&batch, "outcome");
        let outcomes = outcomes.as_string::<i32>();
        for row in 0..batch.num_rows() {
            let key = (arrived.value(row), ids.value(row).to_owned());
            if let Some(previous) = &last {
                assert!(
                    *previous < key,
                    "{key:?} came after {previous:?}: not in order, or twice"
                );
            }
            answered += u64::from(outcomes.value(row) == "answered");
            last = Some(key);
        }
        seen += batch.num_rows() as u64;
    }

    println!(
        "{seen} calls listed with {} MiB; while streaming: up to {most_spill_files} spill \
         files, {} MiB",
        LISTING_MEMORY >> 20,
        most_spilled_bytes >> 20
    );
    // Every call once (the order check refuses a repeat), and the right ones.
    assert_eq!(seen, CALLS);
    assert_eq!(answered, CALLS - CALLS.div_ceil(9));
    assert_eq!(last.unwrap().1, format!("call-{:07}", CALLS - 1));
    // The rows did not fit: the sort handed them out of files on disk.
    assert!(most_spill_files > 0, "nothing was spilled");
    // The pool held the query to about its limit, and the query used it. A spilling operator
    // that starts late gets its share while the others spill down to theirs, so the pool may
    // pass its size by a share for a moment (see `ListingPool`); a quarter is more than one.
    let peak = reader.listing_peak_bytes();
    println!("peak of the listing pool: {} KiB", peak >> 10);
    assert!(peak <= LISTING_MEMORY + LISTING_MEMORY / 4, "peak {peak}");
    assert!(peak > LISTING_MEMORY / 2, "peak {peak}");
    // The spill files are gone with the query.
    drop(rows);
    assert_eq!(
        runtime.disk_manager.spilling_progress().active_files_count,
        0
    );
}

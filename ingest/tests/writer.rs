//! The lake writer against a real embedded log and real Delta tables on disk: every good
//! event lands once, every bad record becomes a dead letter, and crashes at the awkward
//! moments neither lose nor duplicate rows.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tenet_events::calls::CallHeld;
use tenet_events::ids::{AgentId, CallId};
use tenet_events::{Envelope, EventFamily, OccurredAt, TenantId};
use tenet_ingest::writer::app_id;
use tenet_ingest::{
    EmbeddedLog, EmbeddedLogConfig, EventLog, FlushPolicy, FlushReason, GroupId, LakeWriter,
    LakeWriterConfig, Offset, Record, TopicName, TopicPartition, WriterError,
};
use tenet_lakehouse::deltalake::arrow::array::{Array, AsArray, RecordBatch};
use tenet_lakehouse::deltalake::arrow::datatypes::Int64Type;
use tenet_lakehouse::deltalake::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use tenet_lakehouse::deltalake::{DeltaTable, open_table};
use tenet_lakehouse::{Lake, LakeTable};

fn topic() -> TopicName {
    TopicName::of_family(EventFamily::Calls)
}

fn call_event(tenant: TenantId, at: &str, n: usize) -> Envelope {
    Envelope::new(
        tenant,
        OccurredAt::parse(at).unwrap(),
        CallHeld {
            call_id: CallId::parse(format!("1712945010.{n}")).unwrap(),
            agent_id: AgentId::parse("1001").unwrap(),
        },
    )
}

/// `count` call events over three tenants and two days.
fn call_events(count: usize) -> Vec<Envelope> {
    let tenants = [
        TenantId::generate(),
        TenantId::generate(),
        TenantId::generate(),
    ];
    let days = ["2026-04-12T23:20:50.520Z", "2026-04-13T08:00:00.000Z"];
    (0..count)
        .map(|n| call_event(tenants[n % 3], days[n % 2], n))
        .collect()
}

/// Payloads that must each become a dead letter, with the error code they must carry.
fn bad_payloads() -> Vec<(Vec<u8>, &'static str)> {
    let ticket = serde_json::json!({
        "event_id": "0196f0c0-0000-7000-8000-000000000001",
        "tenant_id": "0196f0c0-0000-7000-8000-00000000a11e",
        "type": "no.such_event",
        "occurred_at": "2026-04-12T23:20:50.520Z",
        "schema_version": 1,
        "data": {}
    });
    let valid = || {
        serde_json::to_value(call_event(
            TenantId::generate(),
            "2026-04-12T23:20:50.520Z",
            7,
        ))
        .unwrap()
    };
    let mut no_tenant = valid();
    no_tenant.as_object_mut().unwrap().remove("tenant_id");
    let mut wrong_type = valid();
    wrong_type["data"]["call_id"] = serde_json::json!(1_712_945_010);
    let mut oversized = valid();
    oversized["data"]["agent_id"] = "1".repeat(70 * 1024).into();
    vec![
        (b"{not json".to_vec(), "malformed_json"),
        (b"[1, 2]".to_vec(), "not_an_object"),
        (vec![0xff, 0xfe, 0x00], "malformed_json"),
        (serde_json::to_vec(&ticket).unwrap(), "unknown_type"),
        (b"{}".to_vec(), "missing_field"),
        (serde_json::to_vec(&no_tenant).unwrap(), "missing_field"),
        (serde_json::to_vec(&wrong_type).unwrap(), "invalid_field"),
        (serde_json::to_vec(&oversized).unwrap(), "too_large"),
    ]
}

fn config(max_rows: usize) -> LakeWriterConfig {
    LakeWriterConfig {
        flush: FlushPolicy {
            max_rows,
            max_bytes: 64 * 1024 * 1024,
            max_latency: Duration::from_secs(3600),
        },
        read_max_records: 40,
        ..LakeWriterConfig::new(EventFamily::Calls)
    }
}

async fn append_events(log: &EmbeddedLog, events: &[Envelope]) {
    let records = events.iter().map(Record::of_event).collect();
    log.append(&topic(), records).await.unwrap();
}

async fn append_raw(log: &EmbeddedLog, payloads: &[(Vec<u8>, &'static str)]) {
    let records = payloads
        .iter()
        .map(|(payload, _)| Record::new(b"some-tenant".to_vec(), payload.clone()))
        .collect();
    log.append(&topic(), records).await.unwrap();
}

/// Polls until every partition is caught up.
async fn drain<L: EventLog>(writer: &mut LakeWriter<L>) {
    while writer.poll().await.unwrap() > 0 {}
}

async fn table(lake: &Lake, which: LakeTable) -> DeltaTable {
    open_table(lake.table_url(which)).await.unwrap()
}

/// Every data file of the table's current version, read whole, one list of batches per file.
fn batches_per_file(table: &DeltaTable) -> Vec<Vec<RecordBatch>> {
    let mut files = Vec::new();
    for uri in table.get_file_uris().unwrap() {
        // Local tables list plain paths; anything else would be a URL.
        let path = match url::Url::parse(&uri) {
            Ok(url) => url.to_file_path().unwrap(),
            Err(_) => std::path::PathBuf::from(&uri),
        };
        let reader = ParquetRecordBatchReaderBuilder::try_new(File::open(&path).unwrap())
            .unwrap()
            .build()
            .unwrap();
        files.push(reader.map(Result::unwrap).collect());
    }
    files
}

/// Every data file of the table's current version, read whole.
fn read_files(table: &DeltaTable) -> Vec<RecordBatch> {
    batches_per_file(table).into_iter().flatten().collect()
}

fn strings(batches: &[RecordBatch], column: &str) -> Vec<String> {
    let mut values = Vec::new();
    for batch in batches {
        let array = batch.column(batch.schema().index_of(column).unwrap());
        let array = array.as_string::<i32>();
        values.extend((0..array.len()).map(|i| array.value(i).to_owned()));
    }
    values
}

fn event_id_counts(batches: &[RecordBatch]) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for id in strings(batches, "event_id") {
        *counts.entry(id).or_default() += 1;
    }
    counts
}

fn expected_ids(events: &[Envelope]) -> BTreeSet<String> {
    events
        .iter()
        .map(|event| event.to_row().cells()[0].clone())
        .map(|cell| match cell {
            tenet_events::Cell::Utf8(id) => id,
            other => panic!("event_id is text, got {other:?}"),
        })
        .collect()
}

fn open_log(dir: &Path) -> Arc<EmbeddedLog> {
    let config = EmbeddedLogConfig {
        partitions: 3,
        ..EmbeddedLogConfig::default()
    };
    Arc::new(EmbeddedLog::open(dir, config).unwrap())
}

#[tokio::test]
async fn every_good_event_lands_once_and_every_bad_record_becomes_a_dead_letter() {
    // Arrange
    let dir = tempfile::tempdir().unwrap();
    let log = open_log(&dir.path().join("log"));
    let lake = Lake::in_dir(&dir.path().join("lake")).unwrap();
    let events = call_events(300);
    let bad = bad_payloads();
    append_events(&log, &events[..150]).await;
    append_raw(&log, &bad).await;
    append_events(&log, &events[150..]).await;

    // Act
    let mut writer = LakeWriter::open(log.clone(), &lake, config(100))
        .await
        .unwrap();
    drain(&mut writer).await;
    writer.flush(FlushReason::Requested).await.unwrap();

    // Assert: the events, each once.
    let calls = read_files(&table(&lake, LakeTable::Events(EventFamily::Calls)).await);
    let counts = event_id_counts(&calls);
    assert_eq!(
        counts.keys().cloned().collect::<BTreeSet<_>>(),
        expected_ids(&events)
    );
    assert!(
        counts.values().all(|&count| count == 1),
        "duplicates: {counts:?}"
    );

    // Assert: within every file, rows are sorted by tenant.
    for batch in &calls {
        let tenants = strings(std::slice::from_ref(batch), "tenant_id");
        assert!(tenants.is_sorted(), "a file is not sorted by tenant");
    }

    // Assert: the bad records, each once, with their error and source position.
    let dead = read_files(&table(&lake, LakeTable::DeadLetters).await);
    let mut codes = strings(&dead, "error_code");
    codes.sort();
    let mut expected_codes: Vec<String> = bad.iter().map(|(_, code)| (*code).to_owned()).collect();
    expected_codes.sort();
    assert_eq!(codes, expected_codes);
    assert!(
        strings(&dead, "source_topic")
            .iter()
            .all(|t| t == topic().as_str())
    );
    let offsets: usize = dead
        .iter()
        .map(|batch| {
            let column = batch.column(batch.schema().index_of("source_offset").unwrap());
            column.as_primitive::<Int64Type>().len()
        })
        .sum();
    assert_eq!(offsets, bad.len());

    // Assert: the log's group offsets caught up (for lag tooling).
    let group = GroupId::parse("tenet-lake-writer").unwrap();
    for partition in 0..3 {
        let source = TopicPartition::new(topic(), partition);
        let end = log.offset_range(&source).await.unwrap().end;
        // A partition that received nothing has nothing to commit.
        let expected = (end > Offset(0)).then_some(end);
        assert_eq!(log.committed(&group, &source).await.unwrap(), expected);
    }
}

#[tokio::test]
async fn the_offsets_are_committed_inside_the_delta_commit() {
    let dir = tempfile::tempdir().unwrap();
    let log = open_log(&dir.path().join("log"));
    let lake = Lake::in_dir(&dir.path().join("lake")).unwrap();
    append_events(&log, &call_events(30)).await;

    let mut writer = LakeWriter::open(log.clone(), &lake, config(1000))
        .await
        .unwrap();
    drain(&mut writer).await;
    let summary = writer
        .commit_lake(FlushReason::Requested)
        .await
        .unwrap()
        .unwrap();

    let calls = table(&lake, LakeTable::Events(EventFamily::Calls)).await;
    let snapshot = calls.snapshot().unwrap();
    for (partition, next) in summary.offsets {
        let stored = snapshot
            .transaction_version(calls.log_store().as_ref(), app_id(&topic(), partition))
            .await
            .unwrap();
        let end = log
            .offset_range(&TopicPartition::new(topic(), partition))
            .await
            .unwrap()
            .end;
        assert_eq!(stored, Some(next.0 as i64));
        assert_eq!(next, end);
    }
    assert_eq!(summary.rows, 30);
}

#[tokio::test]
async fn a_crash_after_the_lake_commit_but_before_the_log_commit_duplicates_nothing() {
    // Arrange: a first writer lands 120 events in the lake and dies before committing the
    // log's group offsets; it has also read 60 more that it never committed anywhere.
    let dir = tempfile::tempdir().unwrap();
    let log = open_log(&dir.path().join("log"));
    let lake = Lake::in_dir(&dir.path().join("lake")).unwrap();
    let events = call_events(240);
    append_events(&log, &events[..120]).await;
    let mut first = LakeWriter::open(log.clone(), &lake, config(100_000))
        .await
        .unwrap();
    drain(&mut first).await;
    first.commit_lake(FlushReason::Requested).await.unwrap();
    append_events(&log, &events[120..180]).await;
    drain(&mut first).await;
    drop(first);
    let group = GroupId::parse("tenet-lake-writer").unwrap();
    assert_eq!(
        log.committed(&group, &TopicPartition::new(topic(), 0))
            .await
            .unwrap(),
        None,
        "the crash came before the log commit"
    );
    append_events(&log, &events[180..]).await;

    // Act: a new writer starts from what the lake says.
    let mut second = LakeWriter::open(log.clone(), &lake, config(100_000))
        .await
        .unwrap();
    drain(&mut second).await;
    second.flush(FlushReason::Requested).await.unwrap();

    // Assert
    let calls = read_files(&table(&lake, LakeTable::Events(EventFamily::Calls)).await);
    let counts = event_id_counts(&calls);
    assert_eq!(counts.len(), 240);
    assert!(
        counts.values().all(|&count| count == 1),
        "duplicates: {counts:?}"
    );
    assert_eq!(
        counts.keys().cloned().collect::<BTreeSet<_>>(),
        expected_ids(&events)
    );
}

#[tokio::test]
async fn dead_letters_are_not_landed_twice_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let log = open_log(&dir.path().join("log"));
    let lake = Lake::in_dir(&dir.path().join("lake")).unwrap();
    let bad = bad_payloads();
    append_raw(&log, &bad).await;

    let mut first = LakeWriter::open(log.clone(), &lake, config(100_000))
        .await
        .unwrap();
    drain(&mut first).await;
    first.commit_lake(FlushReason::Requested).await.unwrap();
    drop(first);
    let mut second = LakeWriter::open(log.clone(), &lake, config(100_000))
        .await
        .unwrap();
    drain(&mut second).await;
    let summary = second.flush(FlushReason::Requested).await.unwrap();

    assert_eq!(summary, None, "nothing new to land");
    let dead = read_files(&table(&lake, LakeTable::DeadLetters).await);
    assert_eq!(strings(&dead, "error_code").len(), bad.len());
}

#[tokio::test]
async fn a_stale_writer_is_fenced_off() {
    // Arrange: two writers on the same partitions, as after a rebalance that the old owner
    // has not noticed.
    let dir = tempfile::tempdir().unwrap();
    let log = open_log(&dir.path().join("log"));
    let lake = Lake::in_dir(&dir.path().join("lake")).unwrap();
    let events = call_events(90);
    append_events(&log, &events).await;
    let mut stale = LakeWriter::open(log.clone(), &lake, config(100_000))
        .await
        .unwrap();
    let mut current = LakeWriter::open(log.clone(), &lake, config(100_000))
        .await
        .unwrap();

    // Act
    drain(&mut current).await;
    current.flush(FlushReason::Requested).await.unwrap();
    drain(&mut stale).await;
    let outcome = stale.flush(FlushReason::Requested).await;

    // Assert
    assert!(
        matches!(outcome, Err(WriterError::Fenced { .. })),
        "{outcome:?}"
    );
    let calls = read_files(&table(&lake, LakeTable::Events(EventFamily::Calls)).await);
    assert_eq!(event_id_counts(&calls).len(), 90);
    assert_eq!(strings(&calls, "event_id").len(), 90);
}

#[tokio::test]
async fn a_running_writer_lands_events_within_its_latency_and_flushes_on_shutdown() {
    let dir = tempfile::tempdir().unwrap();
    let log = open_log(&dir.path().join("log"));
    let lake = Lake::in_dir(&dir.path().join("lake")).unwrap();
    let config = LakeWriterConfig {
        flush: FlushPolicy {
            max_latency: Duration::from_millis(200),
            ..FlushPolicy::default()
        },
        idle_wait: Duration::from_millis(20),
        ..LakeWriterConfig::new(EventFamily::Calls)
    };
    let writer = LakeWriter::open(log.clone(), &lake, config).await.unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(writer.run(async {
        let _ = stopped.await;
    }));

    let events = call_events(25);
    append_events(&log, &events).await;
    let mut landed = 0;
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let calls = table(&lake, LakeTable::Events(EventFamily::Calls)).await;
        landed = read_files(&calls).iter().map(RecordBatch::num_rows).sum();
        if landed == events.len() {
            break;
        }
    }
    stop.send(()).unwrap();
    running.await.unwrap().unwrap();

    assert_eq!(landed, events.len());
    let group = GroupId::parse("tenet-lake-writer").unwrap();
    let committed: u64 = {
        let mut total = 0;
        for partition in 0..3 {
            let source = TopicPartition::new(topic(), partition);
            total += log
                .committed(&group, &source)
                .await
                .unwrap()
                .unwrap_or(Offset(0))
                .0;
        }
        total
    };
    assert_eq!(committed, 25);
}

/// Reads a table with the Python `deltalake` package (delta-rs's own binding, a separate
/// build; `deploy/ci/test.sh` installs it) and returns its event ids.
fn python_event_ids(table_dir: &Path) -> Vec<String> {
    // The package's threads can abort the interpreter while it shuts down, after the answer
    // is printed: leave with os._exit once the output is flushed.
    const SCRIPT: &str = r#"
import json, os, sys
from deltalake import DeltaTable
table = DeltaTable(sys.argv[1])
ids = table.to_pyarrow_table(columns=["event_id"]).column("event_id").to_pylist()
print(json.dumps(ids))
sys.stdout.flush()
os._exit(0)
"#;
    let output = std::process::Command::new("python3")
        .args(["-c", SCRIPT])
        .arg(table_dir)
        .output()
        .expect("python3 runs");
    assert!(
        output.status.success(),
        "reading the lake with the Python deltalake package (pip install deltalake pyarrow) failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

#[tokio::test]
async fn an_outside_reader_sees_the_same_rows() {
    let dir = tempfile::tempdir().unwrap();
    let log = open_log(&dir.path().join("log"));
    let lake_dir = dir.path().join("lake");
    let lake = Lake::in_dir(&lake_dir).unwrap();
    let events = call_events(120);
    append_events(&log, &events[..60]).await;
    let mut writer = LakeWriter::open(log.clone(), &lake, config(50))
        .await
        .unwrap();
    drain(&mut writer).await;
    append_events(&log, &events[60..]).await;
    drain(&mut writer).await;
    writer.flush(FlushReason::Requested).await.unwrap();

    let mut ids = python_event_ids(&lake_dir.join("calls"));

    ids.sort();
    let expected: Vec<String> = expected_ids(&events).into_iter().collect();
    assert_eq!(ids, expected);
}

#[tokio::test]
async fn dead_letters_committed_just_before_a_crash_are_not_repeated() {
    // Arrange: a flush committed its dead letters (with their offsets) and crashed before
    // committing the events of the same flush, which is what the dead-letter table and
    // the empty events table say here.
    use tenet_ingest::dead_letter::{DeadLetter, dead_letter_batch};
    use tenet_lakehouse::deltalake::kernel::Transaction;
    use tenet_lakehouse::deltalake::kernel::transaction::CommitProperties;
    use tenet_lakehouse::deltalake::writer::{DeltaWriter, RecordBatchWriter};

    let dir = tempfile::tempdir().unwrap();
    let log = Arc::new(
        EmbeddedLog::open(
            dir.path().join("log"),
            EmbeddedLogConfig {
                partitions: 1,
                ..EmbeddedLogConfig::default()
            },
        )
        .unwrap(),
    );
    let lake = Lake::in_dir(&dir.path().join("lake")).unwrap();
    let events = call_events(20);
    let bad = bad_payloads();
    append_events(&log, &events[..10]).await;
    append_raw(&log, &bad).await;
    append_events(&log, &events[10..]).await;
    let source = TopicPartition::new(topic(), 0);
    let end = log.offset_range(&source).await.unwrap().end;
    let records = log
        .read(&source, Offset(0), tenet_ingest::ReadLimits::default())
        .await
        .unwrap();
    let letters: Vec<DeadLetter> = records
        .iter()
        .filter_map(|record| {
            let error = Envelope::from_json(&record.value).err()?;
            Some(DeadLetter::undecodable(&source, record, &error))
        })
        .collect();
    assert_eq!(letters.len(), bad.len());
    let mut dead_table = lake.open_or_create(LakeTable::DeadLetters).await.unwrap();
    let txn = Transaction::new(app_id(&topic(), 0), end.0 as i64);
    let mut crashed = RecordBatchWriter::for_table(&dead_table)
        .unwrap()
        .with_commit_properties(
            CommitProperties::default().with_application_transactions(vec![txn]),
        );
    crashed
        .write(dead_letter_batch(&letters).unwrap())
        .await
        .unwrap();
    crashed.flush_and_commit(&mut dead_table).await.unwrap();

    // Act
    let mut writer = LakeWriter::open(log.clone(), &lake, config(100_000))
        .await
        .unwrap();
    drain(&mut writer).await;
    let summary = writer.flush(FlushReason::Requested).await.unwrap().unwrap();

    // Assert
    assert_eq!(summary.rows, 20);
    assert_eq!(summary.dead_letters, 0);
    let calls = read_files(&table(&lake, LakeTable::Events(EventFamily::Calls)).await);
    assert_eq!(event_id_counts(&calls).len(), 20);
    assert_eq!(strings(&calls, "event_id").len(), 20);
    let dead = read_files(&table(&lake, LakeTable::DeadLetters).await);
    assert_eq!(strings(&dead, "error_code").len(), bad.len());
}

#[tokio::test]
async fn supervised_writers_share_the_dead_letter_table_and_stop_cleanly() {
    use tenet_ingest::LakeWriters;

    let dir = tempfile::tempdir().unwrap();
    let log = open_log(&dir.path().join("log"));
    let lake = Lake::in_dir(&dir.path().join("lake")).unwrap();
    let configs = EventFamily::ALL
        .into_iter()
        .map(|family| LakeWriterConfig {
            flush: FlushPolicy {
                max_latency: Duration::from_millis(100),
                ..FlushPolicy::default()
            },
            idle_wait: Duration::from_millis(20),
            ..LakeWriterConfig::new(family)
        })
        .collect();
    let writers = LakeWriters::spawn(
        log.clone(),
        lake.clone(),
        configs,
        tenet_ingest::MaintenancePolicy::default(),
    );
    let events = call_events(40);
    append_events(&log, &events).await;
    append_raw(&log, &bad_payloads()).await;
    // Dead letters of another family: two writers commit to the dead-letter table at once.
    let tickets = TopicName::of_family(EventFamily::Tickets);
    let garbage = (0..7)
        .map(|n| Record::new(format!("tenant-{n}"), format!("{{garbage {n}")))
        .collect();
    log.append(&tickets, garbage).await.unwrap();
    let expected_dead = bad_payloads().len() + 7;
    for _ in 0..600 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let calls = read_files(&table(&lake, LakeTable::Events(EventFamily::Calls)).await);
        let dead = read_files(&table(&lake, LakeTable::DeadLetters).await);
        if calls.iter().map(RecordBatch::num_rows).sum::<usize>() == 40
            && dead.iter().map(RecordBatch::num_rows).sum::<usize>() == expected_dead
        {
            break;
        }
    }

    writers.shutdown().await;

    let calls = read_files(&table(&lake, LakeTable::Events(EventFamily::Calls)).await);
    assert_eq!(event_id_counts(&calls).len(), 40);
    assert_eq!(strings(&calls, "event_id").len(), 40);
    let dead = read_files(&table(&lake, LakeTable::DeadLetters).await);
    let topics = strings(&dead, "source_topic");
    let from = |topic: &TopicName| topics.iter().filter(|t| *t == topic.as_str()).count();
    assert_eq!(from(&topic()), bad_payloads().len());
    assert_eq!(from(&tickets), 7);
    for family in EventFamily::ALL {
        assert!(
            lake.table_url(LakeTable::Events(family))
                .to_file_path()
                .unwrap()
                .join("_delta_log")
                .is_dir()
        );
    }
}

/// Lands `events` in commits of `per_commit` events each, as a writer fed slowly does: many
/// small files.
async fn land_in_small_commits(
    log: &Arc<EmbeddedLog>,
    lake: &Lake,
    events: &[Envelope],
    per_commit: usize,
) {
    let mut writer = LakeWriter::open(log.clone(), lake, config(100_000))
        .await
        .unwrap();
    for chunk in events.chunks(per_commit) {
        append_events(log, chunk).await;
        drain(&mut writer).await;
        writer.flush(FlushReason::Requested).await.unwrap();
    }
}

/// The next offset the calls table stores for each partition of the log.
async fn stored_offsets(lake: &Lake) -> Vec<Option<i64>> {
    let calls = table(lake, LakeTable::Events(EventFamily::Calls)).await;
    let snapshot = calls.snapshot().unwrap();
    let mut stored = Vec::new();
    for partition in 0..3 {
        let app = app_id(&topic(), partition);
        stored.push(
            snapshot
                .transaction_version(calls.log_store().as_ref(), app)
                .await
                .unwrap(),
        );
    }
    stored
}

/// The end of each partition of the log, as the writer stores it once caught up.
async fn log_ends(log: &EmbeddedLog) -> Vec<Option<i64>> {
    let mut ends = Vec::new();
    for partition in 0..3 {
        let source = TopicPartition::new(topic(), partition);
        let end = log.offset_range(&source).await.unwrap().end;
        ends.push((end > Offset(0)).then_some(end.0 as i64));
    }
    ends
}

/// Whether the rows of every live file are sorted by tenant, then time.
fn every_file_sorted(table: &DeltaTable) -> bool {
    use tenet_lakehouse::deltalake::arrow::datatypes::TimestampMicrosecondType;
    batches_per_file(table).iter().all(|batches| {
        let mut keys = Vec::new();
        for batch in batches {
            let tenants = batch.column(batch.schema().index_of("tenant_id").unwrap());
            let tenants = tenants.as_string::<i32>();
            let times = batch.column(batch.schema().index_of("occurred_at").unwrap());
            let times = times.as_primitive::<TimestampMicrosecondType>();
            keys.extend(
                (0..batch.num_rows()).map(|i| (tenants.value(i).to_owned(), times.value(i))),
            );
        }
        keys.is_sorted()
    })
}

fn assert_each_once(lake_rows: &[RecordBatch], expected: &BTreeSet<String>) {
    let counts = event_id_counts(lake_rows);
    assert_eq!(&counts.keys().cloned().collect::<BTreeSet<_>>(), expected);
    assert!(
        counts.values().all(|&count| count == 1),
        "duplicates: {:?}",
        counts
            .iter()
            .filter(|(_, count)| **count > 1)
            .collect::<Vec<_>>()
    );
}

fn compaction_policy() -> tenet_lakehouse::compaction::CompactionPolicy {
    tenet_lakehouse::compaction::CompactionPolicy {
        min_files: 4,
        target_file_size: 64 * 1024 * 1024,
    }
}

#[tokio::test]
async fn compaction_merges_small_files_into_sorted_ones_with_the_same_rows_and_offsets() {
    use tenet_lakehouse::compaction;

    // Arrange: 30 commits of 10 events over two days, a file per day each.
    let dir = tempfile::tempdir().unwrap();
    let log = open_log(&dir.path().join("log"));
    let lake = Lake::in_dir(&dir.path().join("lake")).unwrap();
    let events = call_events(300);
    land_in_small_commits(&log, &lake, &events, 10).await;
    let mut calls = table(&lake, LakeTable::Events(EventFamily::Calls)).await;
    let files_before = calls.get_file_uris().unwrap().count();
    let offsets = stored_offsets(&lake).await;

    // Act
    let summary = compaction::compact(
        &mut calls,
        LakeTable::Events(EventFamily::Calls),
        &compaction_policy(),
    )
    .await
    .unwrap();

    // Assert: one file per day, the same rows once each, sorted; the same offsets.
    assert_eq!(files_before, 60);
    assert_eq!(
        (
            summary.partitions,
            summary.files_removed,
            summary.files_added
        ),
        (2, 60, 2)
    );
    let calls = table(&lake, LakeTable::Events(EventFamily::Calls)).await;
    assert_eq!(calls.get_file_uris().unwrap().count(), 2);
    assert_each_once(&read_files(&calls), &expected_ids(&events));
    assert!(every_file_sorted(&calls), "a compacted file is not sorted");
    assert_eq!(stored_offsets(&lake).await, offsets);
    assert_eq!(offsets, log_ends(&log).await);
    let mut again = table(&lake, LakeTable::Events(EventFamily::Calls)).await;
    let nothing = compaction::compact(
        &mut again,
        LakeTable::Events(EventFamily::Calls),
        &compaction_policy(),
    )
    .await
    .unwrap();
    assert_eq!(nothing.version, None, "a compacted partition is left alone");

    // Act: events keep coming; a restarted writer resumes from the stored offsets.
    let more = call_events(60);
    append_events(&log, &more).await;
    let mut writer = LakeWriter::open(log.clone(), &lake, config(100_000))
        .await
        .unwrap();
    drain(&mut writer).await;
    writer.flush(FlushReason::Requested).await.unwrap();

    // Assert
    let calls = table(&lake, LakeTable::Events(EventFamily::Calls)).await;
    let mut all = expected_ids(&events);
    all.extend(expected_ids(&more));
    assert_each_once(&read_files(&calls), &all);
    assert_eq!(stored_offsets(&lake).await, log_ends(&log).await);
}

#[tokio::test]
async fn a_compaction_commits_beside_a_writers_appends_but_not_beside_another_compaction() {
    use tenet_lakehouse::compaction;

    // Arrange: small files, and two compactions planned on the same version of the table,
    // as two writer processes sharing the table would.
    let dir = tempfile::tempdir().unwrap();
    let log = open_log(&dir.path().join("log"));
    let lake = Lake::in_dir(&dir.path().join("lake")).unwrap();
    let events = call_events(120);
    land_in_small_commits(&log, &lake, &events[..100], 10).await;
    let which = LakeTable::Events(EventFamily::Calls);
    let mut first = table(&lake, which).await;
    let mut second = table(&lake, which).await;
    let policy = compaction_policy();
    let planned = compaction::prepare(&first, which, &policy)
        .await
        .unwrap()
        .expect("enough small files");
    let competing = compaction::prepare(&second, which, &policy)
        .await
        .unwrap()
        .expect("enough small files");

    // Act: the writer appends meanwhile, then both compactions try to commit.
    land_in_small_commits(&log, &lake, &events[100..], 20).await;
    let committed = planned.commit(&mut first).await;
    let refused = competing.commit(&mut second).await;

    // Assert
    let summary = committed.unwrap();
    assert_eq!(summary.files_removed, 20);
    let error = refused.unwrap_err();
    assert!(error.is_conflict(), "{error}");
    let calls = table(&lake, which).await;
    let rows = read_files(&calls);
    assert_eq!(strings(&rows, "event_id").len(), 120);
    assert_each_once(&rows, &expected_ids(&events));
    assert_eq!(stored_offsets(&lake).await, log_ends(&log).await);
}

#[tokio::test]
async fn a_checkpoint_keeps_rows_and_offsets_once_the_commits_before_it_are_gone() {
    use tenet_ingest::writer::maintenance;

    // Arrange
    let dir = tempfile::tempdir().unwrap();
    let log = open_log(&dir.path().join("log"));
    let lake = Lake::in_dir(&dir.path().join("lake")).unwrap();
    let which = LakeTable::Events(EventFamily::Calls);
    let events = call_events(200);
    land_in_small_commits(&log, &lake, &events, 10).await;
    let version = table(&lake, which).await.version().unwrap();
    let offsets = stored_offsets(&lake).await;

    // Act: checkpoint, then delete the commits it replaces, as log cleanup does once they
    // are older than the log retention.
    maintenance::checkpoint(&lake, which, version)
        .await
        .unwrap();
    let log_dir = lake
        .table_url(which)
        .to_file_path()
        .unwrap()
        .join("_delta_log");
    assert!(
        log_dir
            .join(format!("{version:020}.checkpoint.parquet"))
            .is_file()
    );
    for older in 0..version {
        std::fs::remove_file(log_dir.join(format!("{older:020}.json"))).unwrap();
    }

    // Assert: the table reads the same rows and offsets from the checkpoint alone.
    assert_each_once(
        &read_files(&table(&lake, which).await),
        &expected_ids(&events),
    );
    assert_eq!(stored_offsets(&lake).await, offsets);
    assert_eq!(offsets, log_ends(&log).await);

    // Act and assert: a restarted writer resumes at those offsets.
    let more = call_events(40);
    land_in_small_commits(&log, &lake, &more, 40).await;
    let mut all = expected_ids(&events);
    all.extend(expected_ids(&more));
    assert_each_once(&read_files(&table(&lake, which).await), &all);
    assert_eq!(stored_offsets(&lake).await, log_ends(&log).await);
}

#[tokio::test]
async fn running_writers_checkpoint_compact_and_vacuum_their_tables_in_the_background() {
    use std::num::NonZeroU64;

    use tenet_ingest::{LakeWriters, MaintenancePolicy};
    use tenet_lakehouse::compaction::COMPACTION_APP_ID;

    // Arrange: a writer that commits within 50 ms of an event, checkpointing every 5
    // versions, compacting every 300 ms and vacuuming every 300 ms what compaction replaced
    // more than three seconds ago.
    let dir = tempfile::tempdir().unwrap();
    let log = open_log(&dir.path().join("log"));
    let lake = Lake::in_dir(&dir.path().join("lake")).unwrap();
    let which = LakeTable::Events(EventFamily::Calls);
    let config = LakeWriterConfig {
        flush: FlushPolicy {
            max_latency: Duration::from_millis(50),
            ..FlushPolicy::default()
        },
        idle_wait: Duration::from_millis(10),
        ..LakeWriterConfig::new(EventFamily::Calls)
    };
    let policy = MaintenancePolicy {
        checkpoint_every: NonZeroU64::new(5),
        compact_every: Some(Duration::from_millis(300)),
        compaction: compaction_policy(),
        vacuum_every: Some(Duration::from_millis(300)),
        // Longer than a writer's file waits for its commit, as the configured minimum is.
        vacuum_retention: Duration::from_secs(3),
    };
    let writers = LakeWriters::spawn(log.clone(), lake.clone(), vec![config], policy);

    // Act: events trickle in, a commit or so for every few.
    let events = call_events(240);
    for chunk in events.chunks(12) {
        append_events(&log, chunk).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let log_dir = lake
        .table_url(which)
        .to_file_path()
        .unwrap()
        .join("_delta_log");
    let checkpointed = || {
        std::fs::read_dir(&log_dir).unwrap().any(|entry| {
            entry
                .unwrap()
                .file_name()
                .to_string_lossy()
                .contains(".checkpoint.")
        })
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let compacted = loop {
        let calls = table(&lake, which).await;
        let compacted = calls
            .snapshot()
            .unwrap()
            .transaction_version(calls.log_store().as_ref(), COMPACTION_APP_ID)
            .await
            .unwrap()
            .is_some();
        let landed = read_files(&calls)
            .iter()
            .map(RecordBatch::num_rows)
            .sum::<usize>();
        let vacuumed = vacuum_committed(&lake, which);
        if compacted && checkpointed() && vacuumed && landed == events.len() {
            break calls;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "after 60 s: compacted {compacted}, checkpointed {}, vacuumed {vacuumed}, landed {landed}",
            checkpointed()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    writers.shutdown().await;

    // Assert: fewer files than commits, every row once, the offsets where the log ends.
    let commits = compacted.version().unwrap();
    let files = compacted.get_file_uris().unwrap().count();
    assert!(
        (files as u64) < commits,
        "{files} files after {commits} commits"
    );
    let calls = table(&lake, which).await;
    assert_each_once(&read_files(&calls), &expected_ids(&events));
    assert!(every_file_sorted(&calls));
    assert_eq!(stored_offsets(&lake).await, log_ends(&log).await);
}

/// Whether a vacuum committed to the table (it only commits when it deletes files).
fn vacuum_committed(lake: &Lake, which: LakeTable) -> bool {
    let log_dir = lake
        .table_url(which)
        .to_file_path()
        .unwrap()
        .join("_delta_log");
    std::fs::read_dir(log_dir).unwrap().any(|entry| {
        let path = entry.unwrap().path();
        path.extension().is_some_and(|ext| ext == "json")
            && std::fs::read_to_string(&path)
                .unwrap_or_default()
                .contains("\"VACUUM END\"")
    })
}

/// The table's data files on disk, as paths relative to its root.
fn files_on_disk(lake: &Lake, which: LakeTable) -> BTreeSet<String> {
    let root = lake.table_url(which).to_file_path().unwrap();
    let mut files = BTreeSet::new();
    for partition in std::fs::read_dir(&root).unwrap() {
        let partition = partition.unwrap();
        let name = partition.file_name().to_string_lossy().into_owned();
        if name.starts_with('_') || !partition.file_type().unwrap().is_dir() {
            continue;
        }
        for file in std::fs::read_dir(partition.path()).unwrap() {
            let file = file.unwrap().file_name().to_string_lossy().into_owned();
            files.insert(format!("{name}/{file}"));
        }
    }
    files
}

/// The data files the table's current version references, relative to its root.
fn live_files(lake: &Lake, which: LakeTable, table: &DeltaTable) -> BTreeSet<String> {
    let root = lake.table_url(which).to_file_path().unwrap();
    table
        .get_file_uris()
        .unwrap()
        .map(|uri| {
            let path = match url::Url::parse(&uri) {
                Ok(url) => url.to_file_path().unwrap(),
                Err(_) => std::path::PathBuf::from(&uri),
            };
            path.strip_prefix(&root)
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect()
}

#[tokio::test]
async fn a_vacuum_deletes_what_compaction_replaced_once_its_retention_has_passed() {
    use tenet_ingest::writer::maintenance::{self, MAX_VACUUM_RETENTION};
    use tenet_lakehouse::compaction;

    // Arrange: 60 small files over two days, compacted into two.
    let dir = tempfile::tempdir().unwrap();
    let log = open_log(&dir.path().join("log"));
    let lake = Lake::in_dir(&dir.path().join("lake")).unwrap();
    let which = LakeTable::Events(EventFamily::Calls);
    let events = call_events(300);
    land_in_small_commits(&log, &lake, &events, 10).await;
    let small = live_files(&lake, which, &table(&lake, which).await);
    let mut calls = table(&lake, which).await;
    compaction::compact(&mut calls, which, &compaction_policy())
        .await
        .unwrap();
    let merged = live_files(&lake, which, &table(&lake, which).await);
    let offsets = stored_offsets(&lake).await;
    let version = table(&lake, which).await.version().unwrap();
    assert_eq!((small.len(), merged.len()), (60, 2));
    assert_eq!(files_on_disk(&lake, which).len(), 62);
    let small_bytes: u64 = small
        .iter()
        .map(|file| {
            let root = lake.table_url(which).to_file_path().unwrap();
            std::fs::metadata(root.join(file)).unwrap().len()
        })
        .sum();

    // Act: a vacuum with the longest retention.
    let kept = maintenance::vacuum(&lake, which, MAX_VACUUM_RETENTION)
        .await
        .unwrap();

    // Assert: nothing deleted, nothing committed.
    assert_eq!(kept.files_deleted, 0);
    assert_eq!(files_on_disk(&lake, which).len(), 62);
    assert_eq!(table(&lake, which).await.version(), Some(version));

    // Arrange: a file a writer has just written and not committed yet.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let root = lake.table_url(which).to_file_path().unwrap();
    let merged_file = merged.iter().next().unwrap();
    let pending = merged_file.replace(".parquet", "-pending.parquet");
    std::fs::copy(root.join(merged_file), root.join(&pending)).unwrap();

    // Act: a vacuum with a retention shorter than the time since the compaction.
    let vacuumed = maintenance::vacuum(&lake, which, Duration::from_secs(1))
        .await
        .unwrap();

    // Assert: the replaced files are gone, the live and the pending one are not; every row
    // reads once and the offsets are where they were.
    assert_eq!(vacuumed.files_deleted, 60);
    assert_eq!(vacuumed.bytes_deleted, small_bytes);
    let mut expected_on_disk = merged.clone();
    expected_on_disk.insert(pending);
    assert_eq!(files_on_disk(&lake, which), expected_on_disk);
    let calls = table(&lake, which).await;
    assert_eq!(live_files(&lake, which, &calls), merged);
    assert_each_once(&read_files(&calls), &expected_ids(&events));
    assert_eq!(stored_offsets(&lake).await, offsets);
    assert_eq!(offsets, log_ends(&log).await);

    // Act: events keep coming; a restarted writer resumes from the stored offsets.
    let more = call_events(60);
    land_in_small_commits(&log, &lake, &more, 20).await;

    // Assert
    let mut all = expected_ids(&events);
    all.extend(expected_ids(&more));
    assert_each_once(&read_files(&table(&lake, which).await), &all);
    assert_eq!(stored_offsets(&lake).await, log_ends(&log).await);
}

#[tokio::test]
async fn a_writer_that_read_the_table_before_a_vacuum_commits_after_it() {
    use tenet_ingest::writer::maintenance;
    use tenet_lakehouse::compaction;

    // Arrange: a compacted table, and a writer opened on it before the vacuum.
    let dir = tempfile::tempdir().unwrap();
    let log = open_log(&dir.path().join("log"));
    let lake = Lake::in_dir(&dir.path().join("lake")).unwrap();
    let which = LakeTable::Events(EventFamily::Calls);
    let events = call_events(100);
    land_in_small_commits(&log, &lake, &events, 10).await;
    let mut calls = table(&lake, which).await;
    compaction::compact(&mut calls, which, &compaction_policy())
        .await
        .unwrap();
    let mut writer = LakeWriter::open(log.clone(), &lake, config(100_000))
        .await
        .unwrap();
    let more = call_events(30);
    append_events(&log, &more).await;
    drain(&mut writer).await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    // Act: the vacuum commits between the writer's read and its commit.
    let vacuumed = maintenance::vacuum(&lake, which, Duration::from_millis(200))
        .await
        .unwrap();
    writer.flush(FlushReason::Requested).await.unwrap();

    // Assert
    assert_eq!(vacuumed.files_deleted, 20);
    let mut all = expected_ids(&events);
    all.extend(expected_ids(&more));
    assert_each_once(&read_files(&table(&lake, which).await), &all);
    assert_eq!(stored_offsets(&lake).await, log_ends(&log).await);
}

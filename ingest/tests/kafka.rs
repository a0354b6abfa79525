//! The Kafka event log against real brokers: tansu (a Kafka-protocol broker on a SQLite
//! store, at `TENET_TEST_KAFKA_BROKERS`) for the log's contract and the lake writer end to
//! end, and librdkafka's in-process mock cluster for consumer-group rebalances between two
//! lake writers.
//!
//! `deploy/ci/test.sh` starts tansu and sets `TENET_TEST_KAFKA_BROKERS`; when the variable
//! is set the tansu tests fail if the broker does not answer. A local `cargo test` without
//! it skips them and says so.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rdkafka::mocking::MockCluster;
use tenet_events::calls::CallHeld;
use tenet_events::ids::{AgentId, CallId};
use tenet_events::{Cell, Envelope, EventFamily, OccurredAt, TenantId};
use tenet_ingest::writer::app_id;
use tenet_ingest::{
    EventLog, FlushPolicy, FlushReason, GroupId, Header, KafkaConfig, KafkaLog, LakeWriter,
    LakeWriterConfig, LogError, Offset, ReadLimits, Record, StoredRecord, TopicName,
    TopicPartition, WriterError, partition_for_key,
};
use tenet_lakehouse::deltalake::arrow::array::{Array, AsArray, RecordBatch};
use tenet_lakehouse::deltalake::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use tenet_lakehouse::deltalake::{DeltaTable, open_table};
use tenet_lakehouse::{Lake, LakeTable};

/// The tansu broker of this run, or `None` (with a message) when none was configured.
fn tansu() -> Option<String> {
    match std::env::var("TENET_TEST_KAFKA_BROKERS") {
        Ok(brokers) if !brokers.is_empty() => Some(brokers),
        _ => {
            eprintln!(
                "skipped: TENET_TEST_KAFKA_BROKERS is not set (deploy/ci/test.sh starts tansu \
                 and sets it; locally: tansu broker on 127.0.0.1:9092, then \
                 TENET_TEST_KAFKA_BROKERS=127.0.0.1:9092)"
            );
            None
        }
    }
}

/// A topic name no other test or earlier run used: tansu keeps its data across runs.
fn unique_topic(name: &str) -> TopicName {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    TopicName::parse(format!("test.{name}.{nanos}")).unwrap()
}

fn kafka_config(brokers: &str, partitions: u32) -> KafkaConfig {
    let mut config = KafkaConfig::new(brokers);
    config.topic_partitions = partitions;
    config.request_timeout = Duration::from_secs(10);
    config
}

/// A log on tansu with a fresh topic of `partitions` partitions.
async fn tansu_log(brokers: &str, name: &str, partitions: u32) -> (Arc<KafkaLog>, TopicName) {
    let log = KafkaLog::new(kafka_config(brokers, partitions)).unwrap();
    let topic = unique_topic(name);
    log.ensure_topics(std::slice::from_ref(&topic))
        .await
        .unwrap_or_else(|error| panic!("tansu at {brokers} must answer: {error}"));
    (Arc::new(log), topic)
}

fn call_event(tenant: TenantId, n: usize) -> Envelope {
    let days = ["2026-04-12T23:20:50.520Z", "2026-04-13T08:00:00.000Z"];
    Envelope::new(
        tenant,
        OccurredAt::parse(days[n % 2]).unwrap(),
        CallHeld {
            call_id: CallId::parse(format!("1712945010.{n}")).unwrap(),
            agent_id: AgentId::parse("1001").unwrap(),
        },
    )
}

/// `count` call events of forty tenants, so that every partition of a small topic gets some.
fn call_events(count: usize) -> Vec<Envelope> {
    let tenants: Vec<TenantId> = (0..40).map(|_| TenantId::generate()).collect();
    (0..count)
        .map(|n| call_event(tenants[n % tenants.len()], n))
        .collect()
}

fn event_id(event: &Envelope) -> String {
    match &event.to_row().cells()[0] {
        Cell::Utf8(id) => id.clone(),
        other => panic!("event_id is text, got {other:?}"),
    }
}

async fn append_events(log: &KafkaLog, topic: &TopicName, events: &[Envelope]) {
    let records = events.iter().map(Record::of_event).collect();
    log.append(topic, records).await.unwrap();
}

fn writer_config(topic: &TopicName, group: &GroupId, max_rows: usize) -> LakeWriterConfig {
    LakeWriterConfig {
        topic: topic.clone(),
        group: group.clone(),
        flush: FlushPolicy {
            max_rows,
            max_bytes: 64 * 1024 * 1024,
            max_latency: Duration::from_secs(3600),
        },
        read_max_records: 50,
        ..LakeWriterConfig::new(EventFamily::Calls)
    }
}

/// Polls until the writer has read every partition it holds up to the end of the log.
async fn drain(writer: &mut LakeWriter<KafkaLog>, log: &KafkaLog) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        writer.poll().await.unwrap();
        let mut behind = false;
        let held: Vec<(u32, Offset)> = writer
            .offsets()
            .iter()
            .map(|(partition, cursor)| (partition, cursor.next_read()))
            .collect();
        for (partition, next) in held {
            let source = TopicPartition::new(writer.topic().clone(), partition);
            behind |= log.offset_range(&source).await.unwrap().end > next;
        }
        if !behind {
            return;
        }
        assert!(Instant::now() < deadline, "the writer did not catch up");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits until `log`'s member of `group` holds partitions of `topic` that satisfy `done`.
async fn wait_for_assignment(
    log: &KafkaLog,
    group: &GroupId,
    topic: &TopicName,
    done: impl Fn(&BTreeSet<u32>) -> bool,
) -> BTreeSet<u32> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let held = log.assigned(group, topic).await.unwrap().unwrap();
        if done(&held) {
            return held;
        }
        assert!(
            Instant::now() < deadline,
            "assignment stuck at {held:?} for {topic}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn calls_table(lake: &Lake) -> DeltaTable {
    open_table(lake.table_url(LakeTable::Events(EventFamily::Calls)))
        .await
        .unwrap()
}

/// Every data file of the table's current version, read whole.
fn read_files(table: &DeltaTable) -> Vec<RecordBatch> {
    let mut batches = Vec::new();
    for uri in table.get_file_uris().unwrap() {
        let path = match url::Url::parse(&uri) {
            Ok(url) => url.to_file_path().unwrap(),
            Err(_) => std::path::PathBuf::from(&uri),
        };
        let reader = ParquetRecordBatchReaderBuilder::try_new(File::open(&path).unwrap())
            .unwrap()
            .build()
            .unwrap();
        batches.extend(reader.map(Result::unwrap));
    }
    batches
}

/// How many rows of the calls table carry each event id.
async fn landed_event_ids(lake: &Lake) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for batch in read_files(&calls_table(lake).await) {
        let array = batch.column(batch.schema().index_of("event_id").unwrap());
        let array = array.as_string::<i32>();
        for i in 0..array.len() {
            *counts.entry(array.value(i).to_owned()).or_default() += 1;
        }
    }
    counts
}

/// Asserts that the lake holds exactly `events`, each once.
async fn assert_landed_once(lake: &Lake, events: &[Envelope]) {
    let counts = landed_event_ids(lake).await;
    let duplicated: Vec<_> = counts.iter().filter(|(_, n)| **n > 1).collect();
    assert!(duplicated.is_empty(), "landed twice: {duplicated:?}");
    let expected: BTreeSet<String> = events.iter().map(event_id).collect();
    let landed: BTreeSet<String> = counts.into_keys().collect();
    assert_eq!(
        landed.len(),
        expected.len(),
        "missing {} events",
        expected.difference(&landed).count()
    );
    assert_eq!(landed, expected);
}

/// The offsets stored in the calls table's Delta log, per partition.
async fn stored_versions(lake: &Lake, topic: &TopicName, partitions: u32) -> Vec<Option<i64>> {
    let table = calls_table(lake).await;
    let snapshot = table.snapshot().unwrap();
    let mut versions = Vec::new();
    for partition in 0..partitions {
        versions.push(
            snapshot
                .transaction_version(table.log_store().as_ref(), &app_id(topic, partition))
                .await
                .unwrap(),
        );
    }
    versions
}

async fn read_all(log: &KafkaLog, partition: &TopicPartition) -> Vec<StoredRecord> {
    let end = log.offset_range(partition).await.unwrap().end;
    let mut records: Vec<StoredRecord> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while records.last().map_or(Offset(0), |last| last.offset.next()) < end {
        let from = records.last().map_or(Offset(0), |last| last.offset.next());
        let limits = ReadLimits {
            max_wait: Duration::from_millis(500),
            ..ReadLimits::default()
        };
        records.extend(log.read(partition, from, limits).await.unwrap());
        assert!(Instant::now() < deadline, "{partition} did not reach {end}");
    }
    records
}

// ---- tansu: the log's contract ----

#[tokio::test]
async fn appends_are_acknowledged_keyed_by_tenant_and_read_back_with_their_headers() {
    let Some(brokers) = tansu() else { return };
    let (log, topic) = tansu_log(&brokers, "append", 3).await;
    let tenants: Vec<String> = (0..6).map(|n| format!("tenant-{n}")).collect();
    let records: Vec<Record> = (0..60)
        .map(|n| {
            let mut record = Record::new(tenants[n % 6].clone(), format!("event {n}"));
            record.headers = vec![
                Header {
                    name: "x-request-id".to_owned(),
                    value: format!("req-{n}").into_bytes(),
                },
                Header {
                    name: "x-operation-id".to_owned(),
                    value: b"op-1".to_vec(),
                },
            ];
            record
        })
        .collect();

    let positions = log.append(&topic, records.clone()).await.unwrap();

    assert_eq!(positions.len(), 60);
    for (record, position) in records.iter().zip(&positions) {
        assert_eq!(position.partition, partition_for_key(&record.key, 3));
    }
    let mut read = 0;
    for partition in 0..3 {
        let source = TopicPartition::new(topic.clone(), partition);
        let stored = read_all(&log, &source).await;
        let sent: Vec<&Record> = records
            .iter()
            .filter(|record| partition_for_key(&record.key, 3) == partition)
            .collect();
        assert_eq!(stored.len(), sent.len(), "{source}");
        for (offset, (stored, sent)) in stored.iter().zip(&sent).enumerate() {
            assert_eq!(stored.offset, Offset(offset as u64));
            assert_eq!(stored.key, sent.key);
            assert_eq!(stored.value, sent.value, "order within {source}");
            assert_eq!(stored.headers, sent.headers);
            assert!(stored.timestamp_ms > 0);
        }
        read += stored.len();
    }
    assert_eq!(read, 60);
}

#[tokio::test]
async fn reads_start_at_any_offset_and_refuse_offsets_past_the_end() {
    let Some(brokers) = tansu() else { return };
    let (log, topic) = tansu_log(&brokers, "seek", 1).await;
    let records: Vec<Record> = (0..100)
        .map(|n| Record::new("one-tenant", format!("{n}")))
        .collect();
    // Several appends, so that a seek lands inside a producer batch.
    for chunk in records.chunks(30) {
        log.append(&topic, chunk.to_vec()).await.unwrap();
    }
    let source = TopicPartition::new(topic.clone(), 0);
    let limits = ReadLimits {
        max_records: 5,
        max_wait: Duration::from_secs(5),
        ..ReadLimits::default()
    };

    let middle = log.read(&source, Offset(47), limits).await.unwrap();
    let back = log.read(&source, Offset(3), limits).await.unwrap();
    let past = log.read(&source, Offset(101), limits).await.unwrap_err();

    let values = |records: &[StoredRecord]| -> Vec<String> {
        records
            .iter()
            .map(|record| String::from_utf8(record.value.clone()).unwrap())
            .collect()
    };
    assert_eq!(values(&middle), ["47", "48", "49", "50", "51"]);
    assert_eq!(middle[0].offset, Offset(47));
    assert_eq!(values(&back), ["3", "4", "5", "6", "7"]);
    assert!(
        matches!(past, LogError::OffsetOutOfRange { requested: Offset(101), range, .. } if range.end == Offset(100)),
        "{past}"
    );
    let range = log.offset_range(&source).await.unwrap();
    assert_eq!((range.start, range.end), (Offset(0), Offset(100)));
}

#[tokio::test]
async fn a_read_at_the_end_waits_for_the_next_append() {
    let Some(brokers) = tansu() else { return };
    let (log, topic) = tansu_log(&brokers, "tail", 1).await;
    log.append(&topic, vec![Record::new("t", "first")])
        .await
        .unwrap();
    let source = TopicPartition::new(topic.clone(), 0);
    let limits = ReadLimits {
        max_wait: Duration::from_secs(10),
        ..ReadLimits::default()
    };
    let first = log.read(&source, Offset(0), limits).await.unwrap();
    assert_eq!(first.len(), 1);

    let appender = {
        let (log, topic) = (log.clone(), topic.clone());
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(300)).await;
            log.append(&topic, vec![Record::new("t", "second")])
                .await
                .unwrap();
        })
    };
    let next = log.read(&source, Offset(1), limits).await.unwrap();
    appender.await.unwrap();

    assert_eq!(next.len(), 1);
    assert_eq!(next[0].value, b"second");
    assert_eq!(next[0].offset, Offset(1));
}

#[tokio::test]
async fn group_offsets_are_committed_and_read_back() {
    let Some(brokers) = tansu() else { return };
    let (log, topic) = tansu_log(&brokers, "commit", 2).await;
    append_events(&log, &topic, &call_events(20)).await;
    let group = GroupId::parse(format!("{topic}.group")).unwrap();
    let source = TopicPartition::new(topic.clone(), 1);
    let end = log.offset_range(&source).await.unwrap().end;
    assert!(end.0 > 2);

    let before = log.committed(&group, &source).await.unwrap();
    log.commit(&group, &source, Offset(2)).await.unwrap();
    let after = log.committed(&group, &source).await.unwrap();
    let past_end = log.commit(&group, &source, end.next()).await.unwrap_err();

    assert_eq!(before, None);
    assert_eq!(after, Some(Offset(2)));
    assert!(
        matches!(past_end, LogError::OffsetOutOfRange { .. }),
        "{past_end}"
    );
}

#[tokio::test]
async fn unknown_topics_and_oversized_records_are_refused_precisely() {
    let Some(brokers) = tansu() else { return };
    let (log, topic) = tansu_log(&brokers, "refusals", 1).await;
    let missing = unique_topic("never-created");

    let unknown = log
        .append(&missing, vec![Record::new("t", "x")])
        .await
        .unwrap_err();
    let too_large = log
        .append(&topic, vec![Record::new("t", vec![b'x'; 2_000_000])])
        .await
        .unwrap_err();

    assert!(
        matches!(unknown, LogError::UnknownTopic(ref t) if *t == missing),
        "{unknown}"
    );
    assert!(
        matches!(
            too_large,
            LogError::RecordTooLarge {
                limit: 1_000_000,
                ..
            }
        ),
        "{too_large}"
    );
    let range = log
        .offset_range(&TopicPartition::new(topic.clone(), 0))
        .await
        .unwrap();
    assert_eq!(
        range.end,
        Offset(0),
        "nothing of a refused append is stored"
    );
}

#[tokio::test]
async fn the_broker_check_names_an_unreachable_broker() {
    let mut config = KafkaConfig::new("127.0.0.1:1");
    config.request_timeout = Duration::from_millis(500);
    let log = KafkaLog::new(config).unwrap();

    let error = log.check().await.unwrap_err();

    assert!(matches!(error, LogError::Broker { .. }), "{error}");
}

#[test]
fn a_property_that_weakens_the_producer_is_refused_at_creation() {
    let mut config = KafkaConfig::new("127.0.0.1:9092");
    config
        .properties
        .insert("enable.idempotence".to_owned(), "false".to_owned());

    let error = KafkaLog::new(config).unwrap_err();

    assert!(error.to_string().contains("enable.idempotence"), "{error}");
}

// ---- tansu: the lake writer end to end ----

#[tokio::test]
async fn the_lake_writer_lands_kafka_events_exactly_once_across_a_restart() {
    let Some(brokers) = tansu() else { return };
    let (log, topic) = tansu_log(&brokers, "lake", 3).await;
    let group = GroupId::parse(format!("{topic}.writers")).unwrap();
    log.join_group(&group, std::slice::from_ref(&topic))
        .unwrap();
    wait_for_assignment(&log, &group, &topic, |held| held.len() == 3).await;
    let dir = tempfile::tempdir().unwrap();
    let lake = Lake::in_dir(dir.path()).unwrap();
    let first = call_events(500);
    append_events(&log, &topic, &first).await;

    // A writer that flushes every 120 rows reads everything and is killed, typically with
    // rows buffered past its last commit.
    let mut writer = LakeWriter::open(log.clone(), &lake, writer_config(&topic, &group, 120))
        .await
        .unwrap();
    drain(&mut writer, &log).await;
    drop(writer);
    let partial = landed_event_ids(&lake).await.len();
    assert!(
        partial >= 120,
        "the writer landed {partial} rows before the crash"
    );

    // More events arrive; a new process (new clients) takes over.
    let second = call_events(300);
    append_events(&log, &topic, &second).await;
    log.leave_group(&group).await;
    let log = Arc::new(KafkaLog::new(kafka_config(&brokers, 3)).unwrap());
    log.join_group(&group, std::slice::from_ref(&topic))
        .unwrap();
    wait_for_assignment(&log, &group, &topic, |held| held.len() == 3).await;
    let mut writer = LakeWriter::open(log.clone(), &lake, writer_config(&topic, &group, 120))
        .await
        .unwrap();
    drain(&mut writer, &log).await;
    writer.flush(FlushReason::Requested).await.unwrap();

    let all: Vec<Envelope> = first.into_iter().chain(second).collect();
    assert_landed_once(&lake, &all).await;
    let mut ends = Vec::new();
    for partition in 0..3 {
        let source = TopicPartition::new(topic.clone(), partition);
        ends.push(Some(log.offset_range(&source).await.unwrap().end.0 as i64));
    }
    assert_eq!(stored_versions(&lake, &topic, 3).await, ends);
    // The group's offsets follow the lake's, for lag tooling.
    for partition in 0..3 {
        let source = TopicPartition::new(topic.clone(), partition);
        let committed = log.committed(&group, &source).await.unwrap();
        assert_eq!(
            committed.map(|offset| offset.0 as i64),
            ends[partition as usize]
        );
    }
    log.leave_group(&group).await;
}

// ---- librdkafka's mock cluster: rebalances between writers ----

fn mock_config(bootstrap: &str) -> KafkaConfig {
    let mut config = kafka_config(bootstrap, 4);
    // Notice departures and joins within seconds, not the default 45 s.
    for (key, value) in [
        ("session.timeout.ms", "6000"),
        ("heartbeat.interval.ms", "300"),
        ("topic.metadata.refresh.interval.ms", "1000"),
    ] {
        config.properties.insert(key.to_owned(), value.to_owned());
    }
    config
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partition_moving_between_two_writers_lands_every_event_once_and_fences_the_stale_one() {
    // Arrange: one writer holds all four partitions and has buffered every event without
    // committing, when a second writer joins the group.
    let cluster = MockCluster::new(3).unwrap();
    let topic = TopicName::parse("tenet.calls.v1").unwrap();
    cluster.create_topic(topic.as_str(), 4, 1).unwrap();
    let bootstrap = cluster.bootstrap_servers();
    let group = GroupId::parse("lake-writers").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let lake = Lake::in_dir(dir.path()).unwrap();

    let first = Arc::new(KafkaLog::new(mock_config(&bootstrap)).unwrap());
    first
        .join_group(&group, std::slice::from_ref(&topic))
        .unwrap();
    wait_for_assignment(&first, &group, &topic, |held| held.len() == 4).await;
    let before = call_events(400);
    append_events(&first, &topic, &before).await;
    let mut stale = LakeWriter::open(first.clone(), &lake, writer_config(&topic, &group, 100_000))
        .await
        .unwrap();
    drain(&mut stale, &first).await;

    // Act 1: the second writer joins; cooperative-sticky moves some partitions to it.
    let second = Arc::new(KafkaLog::new(mock_config(&bootstrap)).unwrap());
    second
        .join_group(&group, std::slice::from_ref(&topic))
        .unwrap();
    let moved = wait_for_assignment(&second, &group, &topic, |held| !held.is_empty()).await;
    let kept = wait_for_assignment(&first, &group, &topic, |held| {
        held.len() + moved.len() == 4 && held.is_disjoint(&moved)
    })
    .await;
    let mut newcomer = LakeWriter::open(
        second.clone(),
        &lake,
        writer_config(&topic, &group, 100_000),
    )
    .await
    .unwrap();
    drain(&mut newcomer, &second).await;
    newcomer.flush(FlushReason::Requested).await.unwrap();
    // The first writer commits its buffer before it notices the rebalance.
    let fenced = stale.flush(FlushReason::Requested).await;

    // Assert 1: its commit names a partition that moved, and nothing of it landed.
    match fenced {
        Err(WriterError::Fenced { partition, .. }) => {
            assert!(moved.contains(&partition.partition), "{partition}")
        }
        other => panic!("the stale writer must be fenced, got {other:?}"),
    }
    let landed = landed_event_ids(&lake).await;
    assert!(landed.values().all(|&n| n == 1));
    assert!(
        landed.len() < before.len(),
        "only the moved partitions landed"
    );

    // Act 2: the fenced writer is reopened (as its supervisor does), both keep writing while
    // more events arrive, then the second writer leaves and the first takes everything back.
    let mut reopened =
        LakeWriter::open(first.clone(), &lake, writer_config(&topic, &group, 100_000))
            .await
            .unwrap();
    assert_eq!(
        reopened
            .offsets()
            .iter()
            .map(|(partition, _)| partition)
            .collect::<BTreeSet<_>>(),
        kept
    );
    let during = call_events(300);
    append_events(&first, &topic, &during).await;
    drain(&mut reopened, &first).await;
    drain(&mut newcomer, &second).await;
    reopened.flush(FlushReason::Requested).await.unwrap();
    // The newcomer is stopped with rows buffered: they are read again by the next owner.
    drop(newcomer);
    second.leave_group(&group).await;
    wait_for_assignment(&first, &group, &topic, |held| held.len() == 4).await;
    let after = call_events(200);
    append_events(&first, &topic, &after).await;
    drain(&mut reopened, &first).await;
    reopened.flush(FlushReason::Requested).await.unwrap();

    // Assert 2: every event exactly once, and the lake's offsets are the partitions' ends.
    let all: Vec<Envelope> = before.into_iter().chain(during).chain(after).collect();
    assert_landed_once(&lake, &all).await;
    let mut ends = Vec::new();
    for partition in 0..4 {
        let source = TopicPartition::new(topic.clone(), partition);
        ends.push(Some(
            first.offset_range(&source).await.unwrap().end.0 as i64,
        ));
    }
    assert_eq!(stored_versions(&lake, &topic, 4).await, ends);
    first.leave_group(&group).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_writer_that_loses_a_partition_drops_its_buffer_and_resumes_from_the_lake() {
    // Arrange: a writer holding all partitions has landed some events and buffered more.
    let cluster = MockCluster::new(1).unwrap();
    let topic = TopicName::parse("tenet.calls.v1").unwrap();
    cluster.create_topic(topic.as_str(), 4, 1).unwrap();
    let bootstrap = cluster.bootstrap_servers();
    let group = GroupId::parse("lake-writers").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let lake = Lake::in_dir(dir.path()).unwrap();
    let first = Arc::new(KafkaLog::new(mock_config(&bootstrap)).unwrap());
    first
        .join_group(&group, std::slice::from_ref(&topic))
        .unwrap();
    wait_for_assignment(&first, &group, &topic, |held| held.len() == 4).await;
    let landed_early = call_events(100);
    append_events(&first, &topic, &landed_early).await;
    let mut writer = LakeWriter::open(first.clone(), &lake, writer_config(&topic, &group, 100_000))
        .await
        .unwrap();
    drain(&mut writer, &first).await;
    writer.flush(FlushReason::Requested).await.unwrap();
    let buffered = call_events(100);
    append_events(&first, &topic, &buffered).await;
    drain(&mut writer, &first).await;

    // Act: a second member takes some partitions; the writer polls and notices.
    let second = Arc::new(KafkaLog::new(mock_config(&bootstrap)).unwrap());
    second
        .join_group(&group, std::slice::from_ref(&topic))
        .unwrap();
    let moved = wait_for_assignment(&second, &group, &topic, |held| !held.is_empty()).await;
    wait_for_assignment(&first, &group, &topic, |held| held.is_disjoint(&moved)).await;
    drain(&mut writer, &first).await;
    writer.flush(FlushReason::Requested).await.unwrap();

    // Assert: it consumes only what it kept, and what it landed is each event once.
    let held: BTreeSet<u32> = writer.offsets().iter().map(|(p, _)| p).collect();
    assert!(held.is_disjoint(&moved), "{held:?} vs {moved:?}");
    assert_eq!(held.len() + moved.len(), 4);
    let counts = landed_event_ids(&lake).await;
    assert!(counts.values().all(|&n| n == 1));
    let kept_events = buffered
        .iter()
        .filter(|event| {
            let key = Record::of_event(event).key;
            held.contains(&partition_for_key(&key, 4))
        })
        .count();
    assert_eq!(counts.len(), landed_early.len() + kept_events);
    second.leave_group(&group).await;
    first.leave_group(&group).await;
}

//! The embedded log through its public API, on real files: durability across reopening and
//! simulated crashes, order and density of offsets under concurrent producers, reads from any
//! offset, retention, committed offsets.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tenet_events::calls::CallHeld;
use tenet_events::ids::{AgentId, CallId};
use tenet_events::{Envelope, EventFamily, OccurredAt, TenantId};
use tenet_ingest::embedded::frame;
use tenet_ingest::{
    EmbeddedLog, EmbeddedLogConfig, EventLog, GroupId, Header, LogError, Offset, ReadLimits,
    Record, RetentionPolicy, TopicName, TopicPartition,
};

fn topic() -> TopicName {
    TopicName::parse("tenet.calls.v1").unwrap()
}

fn tp(partition: u32) -> TopicPartition {
    TopicPartition::new(topic(), partition)
}

fn single_partition() -> EmbeddedLogConfig {
    EmbeddedLogConfig {
        partitions: 1,
        ..EmbeddedLogConfig::default()
    }
}

fn records(key: &str, values: impl IntoIterator<Item = String>) -> Vec<Record> {
    values
        .into_iter()
        .map(|value| Record::new(key.as_bytes(), value.into_bytes()))
        .collect()
}

async fn read_all(log: &EmbeddedLog, partition: &TopicPartition) -> Vec<String> {
    let range = log.offset_range(partition).await.unwrap();
    let mut values = Vec::new();
    let mut next = range.start;
    while next < range.end {
        let batch = log
            .read(partition, next, ReadLimits::default())
            .await
            .unwrap();
        assert!(!batch.is_empty());
        for record in batch {
            assert_eq!(record.offset, next, "offsets are dense and in order");
            next = record.offset.next();
            values.push(String::from_utf8(record.value).unwrap());
        }
    }
    values
}

fn active_segment(dir: &Path, partition: u32) -> PathBuf {
    let partition_dir = dir
        .join("topics/tenet.calls.v1")
        .join(partition.to_string());
    let mut files: Vec<PathBuf> = std::fs::read_dir(partition_dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "log"))
        .collect();
    files.sort();
    files.pop().unwrap()
}

fn segment_count(dir: &Path, partition: u32) -> usize {
    std::fs::read_dir(
        dir.join("topics/tenet.calls.v1")
            .join(partition.to_string()),
    )
    .unwrap()
    .count()
}

#[tokio::test]
async fn appended_records_read_back_in_order_with_keys_and_headers() {
    let dir = tempfile::tempdir().unwrap();
    let log = EmbeddedLog::open(dir.path(), single_partition()).unwrap();
    let mut record = Record::new("tenant-a", "first");
    record.headers.push(Header {
        name: "x-request-id".into(),
        value: b"req-7".to_vec(),
    });

    let positions = log
        .append(&topic(), vec![record, Record::new("tenant-a", "second")])
        .await
        .unwrap();

    assert_eq!(positions[0].offset, Offset(0));
    assert_eq!(positions[1].offset, Offset(1));
    let read = log
        .read(&tp(0), Offset(0), ReadLimits::default())
        .await
        .unwrap();
    assert_eq!(read.len(), 2);
    assert_eq!(read[0].key, b"tenant-a");
    assert_eq!(read[0].headers[0].value, b"req-7");
    assert_eq!(read[1].value, b"second");
    assert!(read[0].timestamp_ms > 1_700_000_000_000);
}

#[tokio::test]
async fn an_event_survives_the_log_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let log = EmbeddedLog::open(dir.path(), EmbeddedLogConfig::default()).unwrap();
    let envelope = Envelope::new(
        TenantId::generate(),
        OccurredAt::now(),
        CallHeld {
            call_id: CallId::parse("1712945010.42").unwrap(),
            agent_id: AgentId::parse("1001").unwrap(),
        },
    );
    let topic = TopicName::of_family(EventFamily::Calls);

    let position = log
        .append(&topic, vec![Record::of_event(&envelope)])
        .await
        .unwrap()[0];

    let partition = TopicPartition::new(topic, position.partition);
    let read = log
        .read(&partition, position.offset, ReadLimits::default())
        .await
        .unwrap();
    assert_eq!(Envelope::from_json(&read[0].value).unwrap(), envelope);
}

#[tokio::test]
async fn one_tenants_records_share_a_partition_in_append_order() {
    let dir = tempfile::tempdir().unwrap();
    let log = EmbeddedLog::open(dir.path(), EmbeddedLogConfig::default()).unwrap();
    let mut expected: BTreeMap<u32, Vec<String>> = BTreeMap::new();
    for round in 0..5 {
        for tenant in ["alpha", "beta", "gamma", "delta"] {
            let values: Vec<String> = (0..3).map(|i| format!("{tenant}-{round}-{i}")).collect();
            let positions = log
                .append(&topic(), records(tenant, values.clone()))
                .await
                .unwrap();
            assert!(
                positions
                    .iter()
                    .all(|p| p.partition == positions[0].partition)
            );
            expected
                .entry(positions[0].partition)
                .or_default()
                .extend(values);
        }
    }
    assert_eq!(log.partition_count(&topic()).await.unwrap(), 4);
    for (partition, values) in expected {
        assert_eq!(read_all(&log, &tp(partition)).await, values);
    }
}

#[tokio::test]
async fn acknowledged_records_survive_reopening() {
    let dir = tempfile::tempdir().unwrap();
    {
        let log = EmbeddedLog::open(dir.path(), single_partition()).unwrap();
        log.append(&topic(), records("t", (0..10).map(|i| i.to_string())))
            .await
            .unwrap();
    }
    let log = EmbeddedLog::open(dir.path(), single_partition()).unwrap();
    let values = read_all(&log, &tp(0)).await;
    assert_eq!(values, (0..10).map(|i| i.to_string()).collect::<Vec<_>>());
    let next = log
        .append(&topic(), records("t", ["10".to_owned()]))
        .await
        .unwrap();
    assert_eq!(next[0].offset, Offset(10));
}

/// Appends a frame for `offset` to the active segment as the writer would have just before a
/// crash, cut to `keep` bytes (None: whole).
fn write_unacknowledged_frame(dir: &Path, offset: u64, keep: Option<usize>) {
    let mut bytes = Vec::new();
    frame::encode(
        Offset(offset),
        0,
        b"t",
        &[],
        b"never acknowledged",
        &mut bytes,
    );
    let keep = keep.unwrap_or(bytes.len());
    let mut file = OpenOptions::new()
        .append(true)
        .open(active_segment(dir, 0))
        .unwrap();
    file.write_all(&bytes[..keep]).unwrap();
}

#[tokio::test]
async fn a_torn_tail_after_a_crash_is_dropped_and_acknowledged_records_remain() {
    let dir = tempfile::tempdir().unwrap();
    let acknowledged: Vec<String> = (0..25).map(|i| format!("event-{i}")).collect();
    {
        let log = EmbeddedLog::open(dir.path(), single_partition()).unwrap();
        for chunk in acknowledged.chunks(5) {
            log.append(&topic(), records("t", chunk.to_vec()))
                .await
                .unwrap();
        }
    }
    // The crash: a record was being written (never acknowledged) and the write was cut.
    let segment = active_segment(dir.path(), 0);
    let clean_len = std::fs::metadata(&segment).unwrap().len();
    write_unacknowledged_frame(dir.path(), 25, Some(17));

    let log = EmbeddedLog::open(dir.path(), single_partition()).unwrap();

    assert_eq!(std::fs::metadata(&segment).unwrap().len(), clean_len);
    assert_eq!(read_all(&log, &tp(0)).await, acknowledged);
    let after = log
        .append(&topic(), records("t", ["after".to_owned()]))
        .await
        .unwrap();
    assert_eq!(after[0].offset, Offset(25));
    assert_eq!(read_all(&log, &tp(0)).await.last().unwrap(), "after");
}

#[tokio::test]
async fn a_scrambled_last_record_is_dropped_at_recovery() {
    let dir = tempfile::tempdir().unwrap();
    {
        let log = EmbeddedLog::open(dir.path(), single_partition()).unwrap();
        log.append(&topic(), records("t", ["kept".to_owned()]))
            .await
            .unwrap();
    }
    write_unacknowledged_frame(dir.path(), 1, None);
    let segment = active_segment(dir.path(), 0);
    let mut bytes = std::fs::read(&segment).unwrap();
    let last = bytes.len() - 2;
    bytes[last] ^= 0xff;
    std::fs::write(&segment, bytes).unwrap();

    let log = EmbeddedLog::open(dir.path(), single_partition()).unwrap();

    assert_eq!(read_all(&log, &tp(0)).await, vec!["kept".to_owned()]);
}

#[tokio::test]
async fn damage_inside_a_sealed_segment_refuses_to_open() {
    let dir = tempfile::tempdir().unwrap();
    let config = EmbeddedLogConfig {
        segment_bytes: 256,
        ..single_partition()
    };
    {
        let log = EmbeddedLog::open(dir.path(), config).unwrap();
        log.append(&topic(), records("t", (0..20).map(|i| format!("{i:040}"))))
            .await
            .unwrap();
    }
    let partition_dir = dir.path().join("topics/tenet.calls.v1/0");
    let mut segments: Vec<_> = std::fs::read_dir(&partition_dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    segments.sort();
    assert!(segments.len() > 2);
    let sealed = &segments[0];
    let mut bytes = std::fs::read(sealed).unwrap();
    bytes[20] ^= 0xff;
    std::fs::write(sealed, bytes).unwrap();

    let err = EmbeddedLog::open(dir.path(), config).err().unwrap();

    assert!(matches!(err, LogError::Corrupt { .. }), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_producers_get_dense_offsets_and_keep_their_own_order() {
    let dir = tempfile::tempdir().unwrap();
    let log = Arc::new(EmbeddedLog::open(dir.path(), single_partition()).unwrap());
    let producers = 8;
    let appends = 40;
    let per_append = 5;

    let tasks: Vec<_> = (0..producers)
        .map(|producer| {
            let log = Arc::clone(&log);
            tokio::spawn(async move {
                let mut offsets = Vec::new();
                for append in 0..appends {
                    let values = (0..per_append)
                        .map(|i| format!("p{producer}-{:04}", append * per_append + i));
                    let positions = log.append(&topic(), records("t", values)).await.unwrap();
                    offsets.extend(positions.into_iter().map(|p| p.offset));
                }
                offsets
            })
        })
        .collect();
    let mut all_offsets = BTreeSet::new();
    for task in tasks {
        let offsets = task.await.unwrap();
        assert!(
            offsets.windows(2).all(|w| w[0] < w[1]),
            "a producer's records keep their order"
        );
        all_offsets.extend(offsets);
    }

    let total = producers * appends * per_append;
    assert_eq!(all_offsets.len(), total);
    assert_eq!(all_offsets.last(), Some(&Offset(total as u64 - 1)));
    let values = read_all(&log, &tp(0)).await;
    assert_eq!(values.len(), total);
    for producer in 0..producers {
        let own: Vec<&String> = values
            .iter()
            .filter(|v| v.starts_with(&format!("p{producer}-")))
            .collect();
        assert_eq!(own.len(), appends * per_append);
        assert!(own.windows(2).all(|w| w[0] < w[1]));
    }
    let stats = log.stats();
    assert_eq!(stats.append_requests, (producers * appends) as u64);
    assert_eq!(stats.records, total as u64);
    assert!(stats.group_commits <= stats.append_requests);
}

#[tokio::test]
async fn reads_start_at_any_offset_across_segment_rolls() {
    let dir = tempfile::tempdir().unwrap();
    let config = EmbeddedLogConfig {
        segment_bytes: 1024,
        index_interval_bytes: 200,
        ..single_partition()
    };
    let log = EmbeddedLog::open(dir.path(), config).unwrap();
    log.append(
        &topic(),
        records("t", (0..150).map(|i| format!("value-{i:03}"))),
    )
    .await
    .unwrap();
    assert!(segment_count(dir.path(), 0) > 3);

    for from in [0_u64, 1, 37, 38, 99, 149] {
        let read = log
            .read(
                &tp(0),
                Offset(from),
                ReadLimits {
                    max_records: 3,
                    ..ReadLimits::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(read[0].offset, Offset(from));
        assert_eq!(read[0].value, format!("value-{from:03}").into_bytes());
        assert!(read.len() <= 3);
    }
    drop(log);
    let reopened = EmbeddedLog::open(dir.path(), config).unwrap();
    assert_eq!(read_all(&reopened, &tp(0)).await.len(), 150);
}

#[tokio::test]
async fn reading_past_the_end_is_out_of_range_and_at_the_end_waits_for_records() {
    let dir = tempfile::tempdir().unwrap();
    let log = Arc::new(EmbeddedLog::open(dir.path(), single_partition()).unwrap());
    log.append(&topic(), records("t", ["0".to_owned()]))
        .await
        .unwrap();

    let err = log
        .read(&tp(0), Offset(5), ReadLimits::default())
        .await
        .unwrap_err();
    assert!(matches!(err, LogError::OffsetOutOfRange { .. }), "{err}");
    let empty = log
        .read(&tp(0), Offset(1), ReadLimits::default())
        .await
        .unwrap();
    assert!(empty.is_empty());

    let producer = Arc::clone(&log);
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(50)).await;
        producer
            .append(&topic(), records("t", ["1".to_owned()]))
            .await
            .unwrap();
    });
    let waited = log
        .read(
            &tp(0),
            Offset(1),
            ReadLimits {
                max_wait: Duration::from_secs(10),
                ..ReadLimits::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(waited.len(), 1);
    assert_eq!(waited[0].value, b"1");
}

#[tokio::test]
async fn committed_offsets_are_durable_and_bounded_by_the_end() {
    let dir = tempfile::tempdir().unwrap();
    let group = GroupId::parse("lake-writer").unwrap();
    {
        let log = EmbeddedLog::open(dir.path(), single_partition()).unwrap();
        log.append(&topic(), records("t", (0..4).map(|i| i.to_string())))
            .await
            .unwrap();
        assert_eq!(log.committed(&group, &tp(0)).await.unwrap(), None);
        log.commit(&group, &tp(0), Offset(3)).await.unwrap();
        let err = log.commit(&group, &tp(0), Offset(5)).await.unwrap_err();
        assert!(matches!(err, LogError::OffsetOutOfRange { .. }), "{err}");
    }
    let log = EmbeddedLog::open(dir.path(), single_partition()).unwrap();
    assert_eq!(
        log.committed(&group, &tp(0)).await.unwrap(),
        Some(Offset(3))
    );
}

#[tokio::test]
async fn retention_deletes_old_segments_but_keeps_what_consumers_still_need() {
    let dir = tempfile::tempdir().unwrap();
    let config = EmbeddedLogConfig {
        segment_bytes: 512,
        retention: RetentionPolicy {
            max_age: None,
            max_bytes: Some(1024),
        },
        ..single_partition()
    };
    let log = EmbeddedLog::open(dir.path(), config).unwrap();
    let group = GroupId::parse("lake-writer").unwrap();
    log.append(&topic(), records("t", ["first".to_owned()]))
        .await
        .unwrap();
    log.commit(&group, &tp(0), Offset(0)).await.unwrap();
    for _ in 0..10 {
        log.append(&topic(), records("t", (0..10).map(|i| format!("{i:030}"))))
            .await
            .unwrap();
    }
    // The group has consumed nothing: everything is kept.
    assert_eq!(log.enforce_retention().unwrap(), 0);
    assert_eq!(log.offset_range(&tp(0)).await.unwrap().start, Offset(0));

    log.commit(&group, &tp(0), Offset(80)).await.unwrap();
    // The writer also enforces retention after each segment roll, in the background; it may
    // already have deleted what this call would, so the partition's start tells what is gone.
    log.enforce_retention().unwrap();

    let range = log.offset_range(&tp(0)).await.unwrap();
    assert!(
        range.start > Offset(0) && range.start <= Offset(80),
        "{range:?}"
    );
    let err = log
        .read(&tp(0), Offset(0), ReadLimits::default())
        .await
        .unwrap_err();
    assert!(matches!(err, LogError::OffsetOutOfRange { .. }));
    let kept = log
        .read(&tp(0), range.start, ReadLimits::default())
        .await
        .unwrap();
    assert_eq!(kept[0].offset, range.start);
}

#[tokio::test]
async fn a_second_process_cannot_open_the_same_log() {
    let dir = tempfile::tempdir().unwrap();
    let _log = EmbeddedLog::open(dir.path(), single_partition()).unwrap();
    let err = EmbeddedLog::open(dir.path(), single_partition())
        .err()
        .unwrap();
    assert!(matches!(err, LogError::Locked(_)), "{err}");
}

#[tokio::test]
async fn an_oversized_record_is_refused_without_affecting_others() {
    let dir = tempfile::tempdir().unwrap();
    let config = EmbeddedLogConfig {
        max_record_bytes: 1000,
        ..single_partition()
    };
    let log = EmbeddedLog::open(dir.path(), config).unwrap();
    let err = log
        .append(&topic(), vec![Record::new("t", vec![b'x'; 2000])])
        .await
        .unwrap_err();
    assert!(
        matches!(err, LogError::RecordTooLarge { limit: 1000, .. }),
        "{err}"
    );
    let ok = log
        .append(&topic(), records("t", ["fits".to_owned()]))
        .await
        .unwrap();
    assert_eq!(ok[0].offset, Offset(0));
}

#[tokio::test]
async fn unknown_topics_and_partitions_are_named_in_errors() {
    let dir = tempfile::tempdir().unwrap();
    let log = EmbeddedLog::open(dir.path(), single_partition()).unwrap();
    let err = log.offset_range(&tp(0)).await.unwrap_err();
    assert!(matches!(err, LogError::UnknownTopic(_)), "{err}");
    log.append(&topic(), records("t", ["x".to_owned()]))
        .await
        .unwrap();
    let err = log.offset_range(&tp(3)).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "topic `tenet.calls.v1` has 1 partitions, no partition 3"
    );
}

const CRASH_CHILD_DIR: &str = "TENET_TEST_LOG_CRASH_CHILD_DIR";

/// The child half of the crash test: producers append forever and print every acknowledgement.
fn produce_until_killed(dir: &str) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let log = Arc::new(
            EmbeddedLog::open(
                dir,
                EmbeddedLogConfig {
                    segment_bytes: 16 * 1024,
                    ..EmbeddedLogConfig::default()
                },
            )
            .unwrap(),
        );
        let producers: Vec<_> = (0..4)
            .map(|producer| {
                let log = Arc::clone(&log);
                tokio::spawn(async move {
                    for append in 0.. {
                        let values = (0..3).map(|i| format!("p{producer}-{append}-{i}"));
                        let key = format!("tenant-{producer}");
                        let positions = log.append(&topic(), records(&key, values)).await.unwrap();
                        let mut out = std::io::stdout().lock();
                        for (i, position) in positions.iter().enumerate() {
                            writeln!(
                                out,
                                "acked p{producer}-{append}-{i} {} {}",
                                position.partition, position.offset
                            )
                            .unwrap();
                        }
                        out.flush().unwrap();
                    }
                })
            })
            .collect();
        for producer in producers {
            producer.await.unwrap();
        }
    });
}

#[test]
fn a_producer_killed_mid_stream_loses_no_acknowledged_record() {
    use std::io::BufRead;
    use std::process::{Command, Stdio};

    if let Ok(dir) = std::env::var(CRASH_CHILD_DIR) {
        produce_until_killed(&dir);
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut acknowledged = Vec::new();
    for _crash in 0..3 {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "a_producer_killed_mid_stream_loses_no_acknowledged_record",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CRASH_CHILD_DIR, dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = std::io::BufReader::new(child.stdout.take().unwrap());
        let before = acknowledged.len();
        for line in stdout.lines() {
            let line = line.unwrap();
            let Some(ack) = line.strip_prefix("acked ") else {
                continue;
            };
            let fields: Vec<&str> = ack.split(' ').collect();
            acknowledged.push((
                fields[0].to_owned(),
                fields[1].parse::<u32>().unwrap(),
                fields[2].parse::<u64>().unwrap(),
            ));
            if acknowledged.len() - before >= 3_000 {
                break;
            }
        }
        // SIGKILL: no destructors, no clean shutdown, appends in flight.
        child.kill().unwrap();
        child.wait().unwrap();
    }

    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let log = EmbeddedLog::open(dir.path(), EmbeddedLogConfig::default()).unwrap();
        let mut stored: BTreeMap<(u32, u64), String> = BTreeMap::new();
        for partition in 0..log.partition_count(&topic()).await.unwrap() {
            let range = log.offset_range(&tp(partition)).await.unwrap();
            let mut next = range.start;
            while next < range.end {
                for record in log
                    .read(&tp(partition), next, ReadLimits::default())
                    .await
                    .unwrap()
                {
                    next = record.offset.next();
                    stored.insert(
                        (partition, record.offset.0),
                        String::from_utf8(record.value).unwrap(),
                    );
                }
            }
        }
        assert!(acknowledged.len() >= 9_000);
        for (value, partition, offset) in &acknowledged {
            assert_eq!(
                stored.get(&(*partition, *offset)),
                Some(value),
                "acknowledged record {value} at {partition}/{offset}"
            );
        }
    });
}

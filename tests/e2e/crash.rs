//! No loss and no duplicates when the lake writer crashes: a million call events in Kafka,
//! `tenet serve --targets writer` as a separate process killed with SIGKILL five times while
//! it writes and commits, restarted each time; afterwards the lake holds every event sent,
//! each once, by event id.
//!
//! The broker is librdkafka's mock cluster, which listens on real sockets of this machine,
//! so the writer process talks to it like to any broker. With `TENET_TEST_KAFKA_BROKERS` set,
//! a shorter stream also goes through a tansu broker of its own.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone as _, Utc};
use rand::rngs::StdRng;
use rand::{Rng as _, SeedableRng as _};
use rdkafka::ClientConfig;
use rdkafka::ClientContext;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer as _};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{BaseProducer, BaseRecord, DeliveryResult, Producer as _, ProducerContext};
use tenet_events::calls::{CallAnswered, CallOffered};
use tenet_events::ids::{AgentId, CallId, QueueId};
use tenet_events::{Envelope, EventFamily, OccurredAt, TenantId};
use tenet_ingest::partition_for_key;
use uuid::Uuid;

use crate::harness::{
    OwnBroker, TestDatabase, UpProcess, landed_ids, landed_offsets, tenet, test_brokers,
};

/// Times the writer is killed.
const KILLS: usize = 5;
/// Partitions of the calls topic. The mock cluster keeps only the last 5 MB of each
/// partition: with the producer's gzip, a million events fit in 16 partitions (about 2 MB
/// each).
const PARTITIONS: u32 = 16;
/// Tenants the events belong to; keyed by tenant, they spread over every partition.
const TENANTS: u128 = 160;
/// The writers' group session: a killed member holds its partitions until it expires, so keep
/// it short.
const SESSION_TIMEOUT: Duration = Duration::from_secs(6);

/// The stream, and how much of it the writer lands per flush.
#[derive(Debug, Clone, Copy)]
struct Run {
    /// Events in the stream.
    events: usize,
    /// The writer's `max_rows`.
    max_rows: usize,
    /// The writer's `read_max_records`: it reads this many records from each of the
    /// `PARTITIONS` partitions before deciding to flush, so flushes hold
    /// `max_rows.max(PARTITIONS * read_max_records)` events, and each writer lands a few
    /// flushes before it is killed: a small share of the stream.
    read_max_records: usize,
}

/// A million events, landed 40,000 at a time.
const MILLION: Run = Run {
    events: 1_000_000,
    max_rows: 40_000,
    read_max_records: 2_500,
};

/// Counts the records the broker refused.
#[derive(Default)]
struct Deliveries {
    failed: AtomicUsize,
}

impl ClientContext for Deliveries {}

impl ProducerContext for Deliveries {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &DeliveryResult<'_>, (): ()) {
        if result.is_err() {
            self.failed.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Call events of `TENANTS` tenants over three days, offered then answered, in the wire
/// format of the event contract.
fn call_event(n: usize) -> Envelope {
    let tenant = TenantId::from_uuid(Uuid::from_u128(
        0x0196_f0c0_0000_7000_8000_0000_0000_0000 | (n as u128 % TENANTS),
    ));
    let start: DateTime<Utc> = Utc.with_ymd_and_hms(2026, 4, 12, 0, 0, 0).unwrap();
    let at = start + chrono::Duration::milliseconds(n as i64 * 250);
    let occurred_at = OccurredAt::from_datetime(at).unwrap();
    let call_id = CallId::parse(format!("1712945010.{}", n / 2)).unwrap();
    let queue_id = QueueId::parse("support-en").unwrap();
    if n.is_multiple_of(2) {
        Envelope::new(
            tenant,
            occurred_at,
            CallOffered {
                call_id,
                queue_id,
                ivr_path: Vec::new(),
                project_id: None,
                customer_id: None,
                priority: None,
            },
        )
    } else {
        Envelope::new(
            tenant,
            occurred_at,
            CallAnswered {
                call_id,
                queue_id,
                agent_id: AgentId::parse(format!("{}", 1000 + n % 50)).unwrap(),
                wait_seconds: (n % 90) as u32,
            },
        )
    }
}

/// Produces `count` call events to the calls topic at `brokers`, each to the partition of its
/// tenant as Tenet's producers choose it, and returns their event ids once the broker has
/// acknowledged all of them.
fn produce(brokers: &str, count: usize) -> Vec<Uuid> {
    let producer: BaseProducer<Deliveries> = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("enable.idempotence", "true")
        .set("acks", "all")
        .set("compression.type", "gzip")
        .set("linger.ms", "20")
        .set("batch.num.messages", "10000")
        .set("batch.size", "1000000")
        .set("queue.buffering.max.messages", "200000")
        .set("queue.buffering.max.kbytes", "1048576")
        .set("message.timeout.ms", "300000")
        .create_with_context(Deliveries::default())
        .expect("producer");
    let topic = EventFamily::Calls.topic();
    let mut ids = Vec::with_capacity(count);
    for n in 0..count {
        let event = call_event(n);
        let key = event.key();
        let payload = event.to_json();
        let partition = partition_for_key(key.as_bytes(), PARTITIONS) as i32;
        let mut record = BaseRecord::to(topic)
            .key(&key)
            .payload(&payload)
            .partition(partition);
        loop {
            match producer.send(record) {
                Ok(()) => break,
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                    record = back;
                    producer.poll(Duration::from_millis(10));
                }
                Err((error, _)) => panic!("produce: {error}"),
            }
        }
        ids.push(event.event_id.as_uuid());
        if n % 1000 == 0 {
            producer.poll(Duration::ZERO);
        }
    }
    producer
        .flush(Duration::from_secs(300))
        .expect("every event is acknowledged");
    assert_eq!(producer.context().failed.load(Ordering::Relaxed), 0);
    ids
}

/// The end offset of every partition of the calls topic, which must still hold every record
/// from offset 0.
fn end_offsets(brokers: &str) -> Vec<u64> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", "tenet-e2e-watermarks")
        .create()
        .expect("consumer");
    (0..PARTITIONS)
        .map(|partition| {
            let (low, high) = consumer
                .fetch_watermarks(
                    EventFamily::Calls.topic(),
                    partition as i32,
                    Duration::from_secs(30),
                )
                .expect("watermarks");
            assert_eq!(
                low, 0,
                "the broker dropped the start of partition {partition}"
            );
            u64::try_from(high).unwrap()
        })
        .collect()
}

fn table_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("lake").join("calls")
}

/// The commits of the calls table that the writer made when flushing (they carry its source
/// offsets), as opposed to its creation and its compactions.
fn flushes(data_dir: &Path) -> usize {
    std::fs::read_dir(table_dir(data_dir).join("_delta_log")).map_or(0, |entries| {
        entries
            .filter_map(Result::ok)
            .filter(|entry| {
                let name = entry.file_name().to_string_lossy().into_owned();
                name.ends_with(".json")
                    && !name.starts_with('_')
                    && std::fs::read_to_string(entry.path())
                        .is_ok_and(|actions| actions.contains("tenet-lake-writer/"))
            })
            .count()
    })
}

/// The entries of the calls table's date partitions: its data files, and those being
/// written (the local object store writes `NAME#N`, then renames it once complete).
fn data_files(data_dir: &Path) -> BTreeSet<PathBuf> {
    std::fs::read_dir(table_dir(data_dir))
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .filter(|entry| entry.file_name().to_string_lossy().contains("event_date="))
        .flat_map(|partition| std::fs::read_dir(partition.path()).into_iter().flatten())
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .collect()
}

/// What the calls table's Delta log holds: commits, those of them that compacted files, and
/// checkpoints.
fn history(data_dir: &Path) -> (usize, usize, usize) {
    let log = table_dir(data_dir).join("_delta_log");
    let (mut commits, mut compactions, mut checkpoints) = (0, 0, 0);
    for entry in std::fs::read_dir(log).unwrap().filter_map(Result::ok) {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.contains(".checkpoint.") {
            checkpoints += 1;
        } else if name.ends_with(".json") && !name.starts_with('_') {
            commits += 1;
            let actions = std::fs::read_to_string(entry.path()).unwrap();
            if actions.contains(r#""operation":"OPTIMIZE""#) {
                compactions += 1;
            }
        }
    }
    (commits, compactions, checkpoints)
}

/// A `tenet serve --targets writer` process consuming `brokers`, flushing as `run` says,
/// checkpointing every 2 commits and compacting every 2 s.
async fn start_writer(run: Run, brokers: &str, database_url: &str, data_dir: &Path) -> UpProcess {
    let mut command = tenet();
    command
        .args(["serve", "--targets", "writer", "--http", "127.0.0.1:0"])
        .env("TENET_DATABASE__URL", database_url)
        .env("TENET_DATA__DIR", data_dir)
        .env("TENET_KAFKA__BROKERS", brokers)
        .env("TENET_KAFKA__GROUP", "tenet-e2e-crash")
        .env(
            "TENET_KAFKA__PROPERTIES__SESSION_TIMEOUT_MS",
            SESSION_TIMEOUT.as_millis().to_string(),
        )
        .env("TENET_KAFKA__PROPERTIES__HEARTBEAT_INTERVAL_MS", "1000")
        .env("TENET_WRITER__MAX_ROWS", run.max_rows.to_string())
        .env(
            "TENET_WRITER__READ_MAX_RECORDS",
            run.read_max_records.to_string(),
        )
        .env("TENET_WRITER__MAX_LATENCY", "2s")
        .env("TENET_WRITER__CHECKPOINT_INTERVAL", "2")
        .env("TENET_WRITER__COMPACTION_INTERVAL", "2s")
        .env("TENET_WRITER__COMPACTION_MIN_FILES", "2")
        // Each commit is logged, to explain a failure.
        .env(
            "TENET_LOG__LEVEL",
            "info,tenet_ingest::writer=debug,deltalake_core=warn,buoyant_kernel=off",
        );
    UpProcess::spawn(command).await
}

/// When the next writer starts after a kill.
#[derive(Debug, Clone, Copy)]
enum Restart {
    /// At once: the new member joins while the killed one still holds every partition, and
    /// gets them in the rebalance that follows the killed member's expiry.
    AtOnce,
    /// Once the killed member's session has expired: the new member joins a group whose
    /// coordinator has already dropped the killed one.
    AfterSession,
}

/// When a kill comes.
#[derive(Debug, Clone, Copy)]
enum Moment {
    /// As soon as a new file appears in the table's partitions: while the writer (or a
    /// compaction) writes Parquet files.
    WhileWriting,
    /// As soon as the new files are complete: while the writer commits them, or just after.
    FilesWritten,
    /// After a random pause: anywhere between reading, buffering, writing and committing.
    Random(Duration),
}

/// Waits for `writer` to flush at least once more than the `flushed` flushes the table
/// holds, then kills it with SIGKILL at `moment`; returns once it has died.
async fn kill_while_working(
    writer: &mut UpProcess,
    data_dir: &Path,
    flushed: usize,
    moment: Moment,
) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while flushes(data_dir) <= flushed {
        assert!(
            Instant::now() < deadline,
            "the writer flushed nothing within 120 s of its start:\n{}",
            tail(writer)
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    match moment {
        Moment::WhileWriting | Moment::FilesWritten => {
            let seen = data_files(data_dir);
            let new = loop {
                let new: Vec<PathBuf> = data_files(data_dir).difference(&seen).cloned().collect();
                if !new.is_empty() {
                    break new;
                }
                assert!(
                    Instant::now() < deadline,
                    "the writer wrote nothing more within 120 s:\n{}",
                    tail(writer)
                );
                tokio::time::sleep(Duration::from_millis(2)).await;
            };
            if let Moment::FilesWritten = moment {
                // A file being written is `NAME#N` until it is complete.
                let staged: Vec<PathBuf> = new
                    .into_iter()
                    .filter(|path| path.to_string_lossy().contains('#'))
                    .collect();
                while staged.iter().any(|path| path.exists()) && Instant::now() < deadline {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
            }
        }
        Moment::Random(pause) => tokio::time::sleep(pause).await,
    }
    writer.child.start_kill().expect("SIGKILL");
    let status = writer
        .child
        .wait()
        .await
        .expect("the killed writer is reaped");
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(9),
        "the writer died of SIGKILL, not before: {status}\n{}",
        tail(writer)
    );
}

/// The last lines the writer logged, to explain a failure.
fn tail(writer: &UpProcess) -> String {
    let lines = writer.lines.lock().unwrap();
    lines[lines.len().saturating_sub(40)..].join("\n")
}

/// Kills the writer `KILLS` times while it lands `ids` from `brokers`, restarting it as
/// `restart` says, then lets a last one finish, and checks the lake against what was sent.
async fn crash_and_check(run: Run, restart: Restart, brokers: &str, ids: &[Uuid]) {
    let ends = end_offsets(brokers);
    assert_eq!(ends.iter().sum::<u64>(), ids.len() as u64);
    assert!(
        ends.iter().all(|&end| end > 0),
        "every partition is used: {ends:?}"
    );
    let database = TestDatabase::create().await;
    let data = tempfile::tempdir().unwrap();
    let seed: u64 = rand::random();
    eprintln!("kill moments drawn with seed {seed}");
    let mut rng = StdRng::seed_from_u64(seed);
    let started = Instant::now();

    for kill in 0..KILLS {
        let flushed = flushes(data.path());
        let mut writer = start_writer(run, brokers, &database.url(), data.path()).await;
        let moment = match kill % 3 {
            0 => Moment::WhileWriting,
            1 => Moment::Random(Duration::from_millis(rng.random_range(0..2000))),
            _ => Moment::FilesWritten,
        };
        kill_while_working(&mut writer, data.path(), flushed, moment).await;
        let landed = landed_offsets(data.path(), EventFamily::Calls, PARTITIONS).await;
        eprintln!(
            "kill {}: {moment:?} at {:?}; the lake holds {} flushes, offsets {landed:?} of {ends:?}",
            kill + 1,
            started.elapsed(),
            flushes(data.path()),
        );
        restart_pause(restart).await;
    }

    let writer = start_writer(run, brokers, &database.url(), data.path()).await;
    let expected: Vec<Option<u64>> = ends.iter().copied().map(Some).collect();
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        let landed = landed_offsets(data.path(), EventFamily::Calls, PARTITIONS).await;
        if landed == expected {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "after the last restart the lake stopped at {landed:?} of {ends:?}:\n{}",
            tail(&writer)
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let (exit, _) = writer.terminate().await;
    assert_eq!(exit, Some(0), "the last writer stops cleanly on SIGTERM");
    let (commits, compactions, checkpoints) = history(data.path());
    eprintln!(
        "all landed {:?} after the first start: {commits} commits ({compactions} of them \
         compactions), {checkpoints} checkpoints",
        started.elapsed()
    );
    assert!(
        compactions > 0,
        "the writers compacted small files meanwhile"
    );
    assert!(
        checkpoints > 0,
        "the writers checkpointed the log meanwhile"
    );

    let landed: BTreeMap<String, usize> = landed_ids(data.path(), EventFamily::Calls).await;
    let repeated: Vec<(&String, &usize)> = landed.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        repeated.is_empty(),
        "{} events landed more than once, e.g. {:?}",
        repeated.len(),
        &repeated[..repeated.len().min(5)]
    );
    let missing: Vec<&Uuid> = ids
        .iter()
        .filter(|id| !landed.contains_key(&id.to_string()))
        .collect();
    assert!(
        missing.is_empty(),
        "{} events never landed, e.g. {:?}",
        missing.len(),
        &missing[..missing.len().min(5)]
    );
    assert_eq!(
        landed.len(),
        ids.len(),
        "the lake holds only the events sent"
    );
}

/// Waits, after a kill, for the moment `restart` starts the next writer.
async fn restart_pause(restart: Restart) {
    if let Restart::AfterSession = restart {
        // The killed member's last contact with the broker came before the kill; a second more
        // is margin.
        tokio::time::sleep(SESSION_TIMEOUT + Duration::from_secs(1)).await;
    }
}

/// The partitions of each family's topic: `PARTITIONS` for calls, one for the others.
fn partitions_of(family: EventFamily) -> i32 {
    if family == EventFamily::Calls {
        PARTITIONS as i32
    } else {
        1
    }
}

/// Produces the stream of `run` to `brokers` and waits for the acknowledgement of every
/// event.
async fn produce_stream(run: Run, brokers: &str) -> Vec<Uuid> {
    let produced = Instant::now();
    let brokers = brokers.to_owned();
    let ids = tokio::task::spawn_blocking(move || produce(&brokers, run.events))
        .await
        .unwrap();
    eprintln!("produced {} events in {:?}", ids.len(), produced.elapsed());
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_writer_killed_five_times_lands_a_million_events_each_exactly_once() {
    // Arrange: the stream, acknowledged by the broker before the writer first starts.
    let cluster = rdkafka::mocking::MockCluster::new(1).unwrap();
    for family in EventFamily::ALL {
        cluster
            .create_topic(family.topic(), partitions_of(family), 1)
            .unwrap();
    }
    let brokers = cluster.bootstrap_servers();
    let ids = produce_stream(MILLION, &brokers).await;

    // Act and assert
    crash_and_check(MILLION, Restart::AtOnce, &brokers, &ids).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_writer_killed_five_times_lands_a_stream_from_tansu_each_exactly_once() {
    // A debug build of the writer lands some 10,000 events a second from tansu; 300,000 keep
    // the run near two minutes (the million goes through the mock cluster above).
    const RUN: Run = Run {
        events: 300_000,
        max_rows: 10_000,
        read_max_records: 625,
    };
    // Arrange: a tansu of this test alone, so that its topics hold only this stream.
    let Some(_) = test_brokers() else { return };
    let broker = OwnBroker::start().await;
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", broker.address())
        .create()
        .unwrap();
    let topics: Vec<NewTopic<'_>> = EventFamily::ALL
        .into_iter()
        .map(|family| {
            NewTopic::new(
                family.topic(),
                partitions_of(family),
                TopicReplication::Fixed(1),
            )
        })
        .collect();
    for created in admin
        .create_topics(&topics, &AdminOptions::new())
        .await
        .unwrap()
    {
        created.unwrap();
    }
    let ids = produce_stream(RUN, &broker.address()).await;

    // Act and assert
    // tansu 0.6.0's coordinator ends a rebalance on the SyncGroup of a follower when the
    // leader's session expires between that follower's JoinGroup and its SyncGroup: the group
    // then stands with the follower's empty assignment, and no rebalance follows. A writer
    // started within the session of the killed one, which led the group, joins as such a
    // follower, and tansu holds a follower's JoinGroup for 3 s before answering, so the
    // expiry often falls in between (a writer started 3 s after the kill got no partitions).
    // Here each writer starts once the last one's session is over; the restart at once, and
    // its rebalance, run on the mock cluster above.
    crash_and_check(RUN, Restart::AfterSession, &broker.address(), &ids).await;
}

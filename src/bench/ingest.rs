//! `tenet bench ingest`: how fast the lake writer lands a Kafka topic in Delta Lake exactly
//! once, side by side with a raw consumer of the same topic, and how fresh the lake is.
//!
//! It runs against a real broker (`--brokers`) in three phases:
//!
//! 1. **Produce** `events` call events (offered, answered, ended: a realistic mix of a month's
//!    traffic for many tenants) to a new topic, keyed by tenant like Tenet's own producers.
//! 2. **Throughput**, `runs` times, alternating: a raw librdkafka consumer with the lake
//!    writer's own reader properties reads every record of every partition and does nothing
//!    with it; then the lake writer, at its default flush policy, lands the same topic in a new
//!    lake (decode, Arrow, Parquet, Delta commits with the offsets inside). Each run is timed
//!    on the wall clock and in CPU time of this process, so that the rate per core holds on a
//!    shared machine. After each writer run, the lake is read back: every event id exactly
//!    once, nothing else.
//! 3. **Freshness**: a producer sends `freshness_rate` events per second for
//!    `freshness_secs` seconds, each stamped with the time it was sent, while a lake writer
//!    runs at its defaults; a reader watches the table and, for every row that becomes
//!    visible, records how long after its event it did. The figures are percentiles of that
//!    delay over every event.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use chrono::{DateTime, TimeZone as _, Utc};
use cpu_time::ProcessTime;
use rand::rngs::StdRng;
use rand::{Rng as _, SeedableRng as _};
use rdkafka::TopicPartitionList;
use rdkafka::consumer::{BaseConsumer, Consumer as _};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer as _};
use serde::Serialize;
use tenet_events::calls::{CallAnswered, CallEnded, CallOffered, CallOutcome, CallRingNoAnswer};
use tenet_events::ids::{AgentId, CallId, QueueId};
use tenet_events::{Envelope, EventFamily, OccurredAt, TenantId};
use tenet_ingest::kafka::config::{ClientRole, client_config};
use tenet_ingest::{
    FlushReason, KafkaConfig, KafkaLog, LakeWriter, LakeWriterConfig, TopicName, partition_for_key,
};
use tenet_lakehouse::deltalake::DeltaTable;
use tenet_lakehouse::deltalake::arrow::array::{Array as _, AsArray as _};
use tenet_lakehouse::deltalake::arrow::datatypes::TimestampMicrosecondType;
use tenet_lakehouse::deltalake::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use tenet_lakehouse::{Lake, LakeTable};
use tokio::sync::watch;
use uuid::Uuid;

use super::median;

/// What `tenet bench ingest` runs.
#[derive(Debug, Clone)]
pub struct IngestBench {
    /// The Kafka bootstrap servers.
    pub brokers: String,
    /// Events produced for the throughput runs.
    pub events: usize,
    /// Partitions of the benchmark topics.
    pub partitions: u32,
    /// Tenants the events are spread over.
    pub tenants: u32,
    /// Alternating raw-consumer and lake-writer runs over the same topic.
    pub runs: usize,
    /// Events per second sent during the freshness phase (0 skips it).
    pub freshness_rate: u32,
    /// How long the freshness phase sends.
    pub freshness_secs: u64,
    /// Where the lakes are written (one per run, removed afterwards).
    pub dir: PathBuf,
}

/// One timed pass over the topic.
#[derive(Debug, Clone, Serialize)]
pub struct Pass {
    /// Wall-clock seconds.
    pub secs: f64,
    /// CPU seconds of this process (every thread, user and system).
    pub cpu_secs: f64,
    /// Events per wall-clock second.
    pub events_per_sec: f64,
    /// Events per CPU second: the rate one core sustains.
    pub events_per_core_sec: f64,
}

impl Pass {
    fn of(events: usize, wall: Duration, cpu: Duration) -> Self {
        let per = |d: Duration| events as f64 / d.as_secs_f64().max(f64::EPSILON);
        Self {
            secs: wall.as_secs_f64(),
            cpu_secs: cpu.as_secs_f64(),
            events_per_sec: per(wall),
            events_per_core_sec: per(cpu),
        }
    }
}

/// The figures `tenet bench ingest` prints.
#[derive(Debug, Clone, Serialize)]
pub struct IngestFigures {
    /// The broker the topics live on.
    pub brokers: String,
    /// Events in the throughput topic.
    pub events: usize,
    /// Partitions per topic.
    pub partitions: u32,
    /// Tenants.
    pub tenants: u32,
    /// Mean payload size of an event on the wire.
    pub mean_event_bytes: f64,
    /// Producing the throughput topic (not part of the comparison).
    pub produce: Pass,
    /// Every raw-consumer run.
    pub raw_consumer_runs: Vec<Pass>,
    /// Every lake-writer run.
    pub lake_writer_runs: Vec<Pass>,
    /// Medians of the raw consumer.
    pub raw_consumer: Medians,
    /// Medians of the lake writer.
    pub lake_writer: Medians,
    /// Lake writer ÷ raw consumer, events per wall-clock second (medians).
    pub ratio_wall: f64,
    /// Lake writer ÷ raw consumer, events per CPU second (medians).
    pub ratio_per_core: f64,
    /// Delta commits and data files of the last writer run.
    pub commits: u64,
    /// Data files of the last writer run.
    pub files: usize,
    /// End-to-end freshness, when measured.
    pub freshness: Option<Freshness>,
}

/// Medians over runs.
#[derive(Debug, Clone, Serialize)]
pub struct Medians {
    /// Events per wall-clock second.
    pub events_per_sec: f64,
    /// Events per CPU second.
    pub events_per_core_sec: f64,
}

impl Medians {
    fn of(passes: &[Pass]) -> Self {
        Self {
            events_per_sec: median(passes.iter().map(|p| p.events_per_sec).collect()),
            events_per_core_sec: median(passes.iter().map(|p| p.events_per_core_sec).collect()),
        }
    }
}

/// Delay from an event's creation to its row being readable in the lake.
#[derive(Debug, Clone, Serialize)]
pub struct Freshness {
    /// Events per second sent.
    pub rate: u32,
    /// Seconds of sending.
    pub secs: u64,
    /// Events whose delay was measured (every event sent).
    pub events: usize,
    /// Median delay, milliseconds.
    pub p50_ms: f64,
    /// 99th percentile, milliseconds.
    pub p99_ms: f64,
    /// Longest delay, milliseconds.
    pub max_ms: f64,
}

/// Runs the benchmark.
///
/// # Errors
///
/// A broker that does not answer, a lake that cannot be written, or a lake that does not
/// hold exactly the events sent.
pub async fn run(bench: IngestBench) -> anyhow::Result<IngestFigures> {
    anyhow::ensure!(bench.events > 0, "--events must be positive");
    anyhow::ensure!(bench.partitions > 0, "--partitions must be positive");
    anyhow::ensure!(bench.tenants > 0, "--tenants must be positive");
    std::fs::create_dir_all(&bench.dir)
        .with_context(|| format!("cannot create {}", bench.dir.display()))?;
    let mut config = KafkaConfig::new(bench.brokers.clone());
    config.topic_partitions = bench.partitions;
    let log = Arc::new(KafkaLog::new(config.clone())?);
    log.check().await.context("the broker does not answer")?;

    let topic = bench_topic("throughput")?;
    log.ensure_topics(std::slice::from_ref(&topic)).await?;
    eprintln!("producing {} events to {topic}", bench.events);
    let generator = Generator::new(bench.tenants);
    let (produce, bytes) = {
        let (config, topic, bench) = (config.clone(), topic.clone(), bench.clone());
        tokio::task::spawn_blocking(move || {
            let started = (Instant::now(), ProcessTime::now());
            let bytes = produce_all(&config, &topic, bench.partitions, bench.events, |n| {
                generator.event(n)
            })?;
            Ok::<_, anyhow::Error>((
                Pass::of(bench.events, started.0.elapsed(), started.1.elapsed()),
                bytes,
            ))
        })
        .await??
    };

    let mut raw_runs = Vec::new();
    let mut writer_runs = Vec::new();
    let mut last = (0, 0);
    for run in 0..bench.runs.max(1) {
        let raw = {
            let (config, topic, bench) = (config.clone(), topic.clone(), bench.clone());
            tokio::task::spawn_blocking(move || raw_consume(&config, &topic, &bench)).await??
        };
        eprintln!("run {run}: raw consumer {:.0} events/s", raw.events_per_sec);
        raw_runs.push(raw);
        let dir = bench.dir.join(format!("lake-{run}"));
        let (pass, commits, files) = land(log.clone(), &topic, &bench, &dir).await?;
        eprintln!(
            "run {run}: lake writer {:.0} events/s, {commits} commits, {files} files",
            pass.events_per_sec
        );
        writer_runs.push(pass);
        last = (commits, files);
        std::fs::remove_dir_all(&dir).ok();
    }

    let freshness = if bench.freshness_rate > 0 && bench.freshness_secs > 0 {
        Some(freshness(log, &config, &bench).await?)
    } else {
        None
    };

    let raw_consumer = Medians::of(&raw_runs);
    let lake_writer = Medians::of(&writer_runs);
    Ok(IngestFigures {
        brokers: bench.brokers,
        events: bench.events,
        partitions: bench.partitions,
        tenants: bench.tenants,
        mean_event_bytes: bytes as f64 / bench.events as f64,
        produce,
        ratio_wall: lake_writer.events_per_sec / raw_consumer.events_per_sec,
        ratio_per_core: lake_writer.events_per_core_sec / raw_consumer.events_per_core_sec,
        raw_consumer,
        lake_writer,
        raw_consumer_runs: raw_runs,
        lake_writer_runs: writer_runs,
        commits: last.0,
        files: last.1,
        freshness,
    })
}

/// A topic of its own for each phase of each benchmark run.
fn bench_topic(phase: &str) -> anyhow::Result<TopicName> {
    Ok(TopicName::parse(format!(
        "tenet.bench.{phase}.{}",
        Uuid::now_v7().simple()
    ))?)
}

/// Call events shaped like a contact center's month: every call is offered, then answered
/// (85 %) and ended with its talk, hold and after-call work, or rung at an agent who did not
/// answer and abandoned.
struct Generator {
    tenants: Vec<TenantId>,
    queues: Vec<QueueId>,
    month: DateTime<Utc>,
}

impl Generator {
    fn new(tenants: u32) -> Self {
        Self {
            tenants: (0..tenants)
                .map(|n| {
                    TenantId::from_uuid(Uuid::from_u128(
                        0x0197_0000_0000_7000_8000_0000_0000_0000 | u128::from(n),
                    ))
                })
                .collect(),
            queues: ["support", "sales", "billing", "retention"]
                .into_iter()
                .map(|q| QueueId::parse(q).expect("a legal queue id"))
                .collect(),
            month: Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap(),
        }
    }

    /// The `n`-th event of the stream, the same on every call.
    fn event(&self, n: usize) -> Envelope {
        let call = n / 3;
        let mut rng = StdRng::seed_from_u64(call as u64);
        let tenant = self.tenants[rng.random_range(0..self.tenants.len())];
        let queue = self.queues[rng.random_range(0..self.queues.len())].clone();
        let arrival = self.month + chrono::Duration::seconds(rng.random_range(0..30 * 86_400));
        let answered = rng.random_bool(0.85);
        let wait = rng.random_range(0..if answered { 120 } else { 300 });
        let talk = rng.random_range(30..900);
        let agent = AgentId::parse(format!("{}", 1000 + rng.random_range(0..200)))
            .expect("a legal agent id");
        let call_id = CallId::parse(format!("{}.{call}", 1_761_955_200 + call / 1000))
            .expect("a legal call id");
        let at = |seconds: u32| {
            OccurredAt::from_datetime(arrival + chrono::Duration::seconds(i64::from(seconds)))
                .expect("a time within range")
        };
        match (n % 3, answered) {
            (0, _) => Envelope::new(
                tenant,
                at(0),
                CallOffered {
                    call_id,
                    queue_id: queue,
                    ivr_path: Vec::new(),
                    project_id: None,
                    customer_id: None,
                    priority: None,
                },
            ),
            (1, true) => Envelope::new(
                tenant,
                at(wait),
                CallAnswered {
                    call_id,
                    queue_id: queue,
                    agent_id: agent,
                    wait_seconds: wait,
                },
            ),
            (1, false) => Envelope::new(
                tenant,
                at(wait / 2),
                CallRingNoAnswer {
                    call_id,
                    queue_id: queue,
                    agent_id: agent,
                    ring_ms: rng.random_range(5_000..20_000),
                },
            ),
            (2, false) => Envelope::new(
                tenant,
                at(wait),
                CallEnded {
                    call_id,
                    outcome: CallOutcome::Abandoned,
                    queue_id: Some(queue),
                    project_id: None,
                    agent_id: None,
                    wait_seconds: wait,
                    talk_seconds: 0,
                    hold_seconds: 0,
                    after_call_work_seconds: 0,
                },
            ),
            _ => Envelope::new(
                tenant,
                at(wait + talk),
                CallEnded {
                    call_id,
                    outcome: CallOutcome::Answered,
                    queue_id: Some(queue),
                    project_id: None,
                    agent_id: Some(agent),
                    wait_seconds: wait,
                    talk_seconds: talk,
                    hold_seconds: rng.random_range(0..60),
                    after_call_work_seconds: rng.random_range(0..120),
                },
            ),
        }
    }
}

/// A producer with Tenet's own producer properties (idempotent, acks=all), batching for
/// throughput.
fn producer(config: &KafkaConfig) -> anyhow::Result<BaseProducer> {
    let mut client = client_config(config, ClientRole::Producer)?;
    client
        .set("linger.ms", "20")
        .set("batch.num.messages", "10000")
        .set("batch.size", "1000000")
        .set("queue.buffering.max.messages", "500000")
        .set("queue.buffering.max.kbytes", "1048576")
        .set("message.timeout.ms", "300000");
    Ok(client.create()?)
}

/// Sends one event, waiting while the producer's queue is full.
fn send(
    producer: &BaseProducer,
    topic: &TopicName,
    partitions: u32,
    event: &Envelope,
) -> anyhow::Result<usize> {
    let key = event.key();
    let payload = event.to_json();
    let partition = i32::try_from(partition_for_key(key.as_bytes(), partitions))?;
    let mut record = BaseRecord::to(topic.as_str())
        .key(&key)
        .payload(&payload)
        .partition(partition);
    loop {
        match producer.send(record) {
            Ok(()) => return Ok(payload.len()),
            Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                record = back;
                producer.poll(Duration::from_millis(5));
            }
            Err((error, _)) => return Err(error).context("produce"),
        }
    }
}

/// Produces events `0..count` and waits until the broker acknowledged them all. Returns the
/// payload bytes sent.
fn produce_all(
    config: &KafkaConfig,
    topic: &TopicName,
    partitions: u32,
    count: usize,
    event: impl Fn(usize) -> Envelope,
) -> anyhow::Result<usize> {
    let producer = producer(config)?;
    let mut bytes = 0;
    for n in 0..count {
        bytes += send(&producer, topic, partitions, &event(n))?;
        if n % 1000 == 0 {
            producer.poll(Duration::ZERO);
        }
    }
    producer
        .flush(Duration::from_secs(300))
        .context("the broker did not acknowledge every event")?;
    Ok(bytes)
}

/// Reads every record of every partition once, doing nothing with them.
fn raw_consume(
    config: &KafkaConfig,
    topic: &TopicName,
    bench: &IngestBench,
) -> anyhow::Result<Pass> {
    let consumer: BaseConsumer = client_config(config, ClientRole::Reader)?.create()?;
    let mut assignment = TopicPartitionList::new();
    for partition in 0..bench.partitions {
        assignment.add_partition_offset(
            topic.as_str(),
            i32::try_from(partition)?,
            rdkafka::Offset::Beginning,
        )?;
    }
    let started = (Instant::now(), ProcessTime::now());
    consumer.assign(&assignment)?;
    let mut read = 0;
    while read < bench.events {
        match consumer.poll(Duration::from_secs(30)) {
            Some(Ok(_)) => read += 1,
            Some(Err(error)) => return Err(error).context("raw consumer"),
            None => anyhow::bail!("the raw consumer got nothing for 30 s after {read} records"),
        }
    }
    Ok(Pass::of(read, started.0.elapsed(), started.1.elapsed()))
}

/// Lands the whole topic in a new lake at `dir` with the lake writer at its default flush
/// policy, then checks that the lake holds every event exactly once. Returns the pass, the
/// Delta commits and the data files.
async fn land(
    log: Arc<KafkaLog>,
    topic: &TopicName,
    bench: &IngestBench,
    dir: &Path,
) -> anyhow::Result<(Pass, u64, usize)> {
    let lake = Lake::in_dir(dir)?;
    let config = LakeWriterConfig {
        topic: topic.clone(),
        ..LakeWriterConfig::new(EventFamily::Calls)
    };
    let started = (Instant::now(), ProcessTime::now());
    let mut writer = LakeWriter::open(log, &lake, config).await?;
    loop {
        let read = writer.poll().await?;
        let done: u64 = writer.offsets().iter().map(|(_, c)| c.next_read().0).sum();
        if done >= bench.events as u64 {
            break;
        }
        if read == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    writer.flush(FlushReason::Requested).await?;
    let pass = Pass::of(bench.events, started.0.elapsed(), started.1.elapsed());
    drop(writer);

    let table = lake
        .open_or_create(LakeTable::Events(EventFamily::Calls))
        .await?;
    let commits = table.version().unwrap_or(0);
    let files = file_paths(&table)?;
    let mut ids = HashSet::with_capacity(bench.events);
    let mut rows = 0;
    for path in &files {
        for batch in
            ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(path)?)?.build()?
        {
            let batch = batch?;
            let column = batch
                .column(batch.schema().index_of("event_id")?)
                .as_string::<i32>()
                .clone();
            for i in 0..column.len() {
                rows += 1;
                ids.insert(column.value(i).to_owned());
            }
        }
    }
    anyhow::ensure!(
        rows == bench.events && ids.len() == bench.events,
        "the lake holds {rows} rows with {} distinct event ids, not the {} events sent",
        ids.len(),
        bench.events
    );
    Ok((pass, commits, files.len()))
}

/// The local paths of the table's data files at its loaded version.
fn file_paths(table: &DeltaTable) -> anyhow::Result<Vec<PathBuf>> {
    Ok(table
        .get_file_uris()?
        .map(|uri| PathBuf::from(uri.strip_prefix("file://").unwrap_or(&uri)))
        .collect())
}

/// Sends events stamped with their sending time at a steady rate while a lake writer runs
/// at its defaults, and measures when each becomes readable in the lake.
async fn freshness(
    log: Arc<KafkaLog>,
    config: &KafkaConfig,
    bench: &IngestBench,
) -> anyhow::Result<Freshness> {
    let topic = bench_topic("freshness")?;
    log.ensure_topics(std::slice::from_ref(&topic)).await?;
    let dir = bench.dir.join("lake-freshness");
    let lake = Lake::in_dir(&dir)?;
    let writer = LakeWriter::open(
        log,
        &lake,
        LakeWriterConfig {
            topic: topic.clone(),
            ..LakeWriterConfig::new(EventFamily::Calls)
        },
    )
    .await?;
    let (stop, stopped) = watch::channel(false);
    let writing = tokio::spawn(writer.run(async move {
        let mut stopped = stopped;
        let _ = stopped.wait_for(|stop| *stop).await;
    }));

    let total = usize::try_from(u64::from(bench.freshness_rate) * bench.freshness_secs)?;
    eprintln!(
        "freshness: {} events/s for {} s through the lake writer's defaults",
        bench.freshness_rate, bench.freshness_secs
    );
    let sending = {
        let (config, topic, bench) = (config.clone(), topic.clone(), bench.clone());
        tokio::task::spawn_blocking(move || send_steadily(&config, &topic, &bench, total))
    };

    let mut table = lake
        .open_or_create(LakeTable::Events(EventFamily::Calls))
        .await?;
    let mut seen: HashSet<PathBuf> = HashSet::new();
    let mut delays_ms: Vec<f64> = Vec::with_capacity(total);
    let deadline = Instant::now() + Duration::from_secs(bench.freshness_secs + 120);
    while delays_ms.len() < total {
        anyhow::ensure!(
            Instant::now() < deadline,
            "only {} of {total} events became visible in time",
            delays_ms.len()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
        let before = table.version();
        table.update_incremental(None).await?;
        if table.version() == before {
            continue;
        }
        let visible = Utc::now();
        for path in file_paths(&table)? {
            if !seen.insert(path.clone()) {
                continue;
            }
            for batch in
                ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(&path)?)?.build()?
            {
                let batch = batch?;
                let occurred = batch
                    .column(batch.schema().index_of("occurred_at")?)
                    .as_primitive::<TimestampMicrosecondType>()
                    .clone();
                for i in 0..occurred.len() {
                    let micros = visible.timestamp_micros() - occurred.value(i);
                    delays_ms.push(micros as f64 / 1000.0);
                }
            }
        }
    }
    sending.await??;
    stop.send(true).ok();
    writing.await??;
    std::fs::remove_dir_all(&dir).ok();

    delays_ms.sort_by(f64::total_cmp);
    let at = |q: f64| delays_ms[((delays_ms.len() - 1) as f64 * q).round() as usize];
    Ok(Freshness {
        rate: bench.freshness_rate,
        secs: bench.freshness_secs,
        events: delays_ms.len(),
        p50_ms: at(0.50),
        p99_ms: at(0.99),
        max_ms: at(1.0),
    })
}

/// Sends `total` events at the bench's freshness rate, in ticks of 10 ms, each stamped with
/// the moment it is sent.
fn send_steadily(
    config: &KafkaConfig,
    topic: &TopicName,
    bench: &IngestBench,
    total: usize,
) -> anyhow::Result<()> {
    let producer = producer(config)?;
    let generator = Generator::new(bench.tenants);
    let started = Instant::now();
    let per_tick = f64::from(bench.freshness_rate) / 100.0;
    let mut sent = 0;
    let mut tick = 0u32;
    while sent < total {
        tick += 1;
        let due = ((f64::from(tick) * per_tick) as usize).min(total);
        while sent < due {
            let mut event = generator.event(sent);
            event.occurred_at = OccurredAt::now();
            send(&producer, topic, bench.partitions, &event)?;
            sent += 1;
        }
        producer.poll(Duration::ZERO);
        let next = started + Duration::from_millis(10) * tick;
        if let Some(wait) = next.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
    }
    producer
        .flush(Duration::from_secs(60))
        .context("the broker did not acknowledge every event")?;
    Ok(())
}

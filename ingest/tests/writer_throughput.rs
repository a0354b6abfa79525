//! A rough throughput figure for the lake writer on the embedded log, beside a raw reader of
//! the same partitions that does nothing per record. Ignored by default; run with
//! `cargo test -p tenet-ingest --release --test writer_throughput -- --ignored --nocapture`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tenet_events::calls::CallHeld;
use tenet_events::ids::{AgentId, CallId};
use tenet_events::{Envelope, EventFamily, OccurredAt, TenantId};
use tenet_ingest::{
    EmbeddedLog, EmbeddedLogConfig, EventLog, FlushPolicy, FlushReason, LakeWriter,
    LakeWriterConfig, Offset, ReadLimits, Record, TopicName, TopicPartition,
};
use tenet_lakehouse::Lake;

const EVENTS: usize = 200_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
#[ignore = "a benchmark: prints figures"]
async fn lake_writer_throughput_beside_a_raw_reader() {
    let dir = tempfile::tempdir().unwrap();
    let log = Arc::new(
        EmbeddedLog::open(
            dir.path().join("log"),
            EmbeddedLogConfig {
                partitions: 4,
                ..EmbeddedLogConfig::default()
            },
        )
        .unwrap(),
    );
    let topic = TopicName::of_family(EventFamily::Calls);
    let tenants: Vec<TenantId> = (0..50).map(|_| TenantId::generate()).collect();
    for chunk in (0..EVENTS).collect::<Vec<_>>().chunks(10_000) {
        let records = chunk
            .iter()
            .map(|&n| {
                Record::of_event(&Envelope::new(
                    tenants[n % tenants.len()],
                    OccurredAt::now(),
                    CallHeld {
                        call_id: CallId::parse(format!("1712945010.{n}")).unwrap(),
                        agent_id: AgentId::parse("1001").unwrap(),
                    },
                ))
            })
            .collect();
        log.append(&topic, records).await.unwrap();
    }

    // The raw reader: every record of every partition, nothing done per record.
    let started = Instant::now();
    let mut raw = 0;
    for partition in 0..4 {
        let source = TopicPartition::new(topic.clone(), partition);
        let mut next = Offset(0);
        loop {
            let batch = log
                .read(&source, next, ReadLimits::default())
                .await
                .unwrap();
            let Some(last) = batch.last() else { break };
            next = last.offset.next();
            raw += batch.len();
        }
    }
    let raw_elapsed = started.elapsed();
    assert_eq!(raw, EVENTS);

    // What decoding alone costs: read, decode strictly, flatten to a row.
    let started = Instant::now();
    let mut decoded = 0;
    for partition in 0..4 {
        let source = TopicPartition::new(topic.clone(), partition);
        let mut next = Offset(0);
        loop {
            let batch = log
                .read(&source, next, ReadLimits::default())
                .await
                .unwrap();
            let Some(last) = batch.last() else { break };
            next = last.offset.next();
            for record in &batch {
                decoded += Envelope::from_json(&record.value)
                    .unwrap()
                    .to_row()
                    .cells()
                    .len();
            }
        }
    }
    let decode_elapsed = started.elapsed();
    assert!(decoded > 0);

    // The lake writer, exactly-once, at its default flush thresholds except latency.
    let lake = Lake::in_dir(&dir.path().join("lake")).unwrap();
    let config = LakeWriterConfig {
        flush: FlushPolicy {
            max_latency: Duration::from_secs(3600),
            ..FlushPolicy::default()
        },
        ..LakeWriterConfig::new(EventFamily::Calls)
    };
    let started = Instant::now();
    let mut writer = LakeWriter::open(log.clone(), &lake, config).await.unwrap();
    while writer.poll().await.unwrap() > 0 {}
    writer.flush(FlushReason::Requested).await.unwrap();
    let lake_elapsed = started.elapsed();

    let rate = |elapsed: Duration| EVENTS as f64 / elapsed.as_secs_f64();
    println!(
        "raw reader: {:.0} events/s; read+decode: {:.0} events/s; lake writer: {:.0} events/s ({:.2} of raw); {EVENTS} events",
        rate(raw_elapsed),
        rate(decode_elapsed),
        rate(lake_elapsed),
        rate(lake_elapsed) / rate(raw_elapsed),
    );
}

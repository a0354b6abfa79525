//! The distributed mode on a real Kafka-protocol broker (tansu at `TENET_TEST_KAFKA_BROKERS`)
//! and on librdkafka's in-process mock cluster: `tenet serve --targets api,ingest,relay,writer`
//! takes gateway batches and outbox events through Kafka into the lake, readiness reports the
//! broker, and a 30 s broker outage delays events without losing or repeating one.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::Connection;
use tenet_events::{EventFamily, TenantId};
use uuid::Uuid;

use crate::harness::{
    OwnBroker, RunningApp, TestDatabase, call_answered, create_hotline, landed_ids, settings,
    test_brokers,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn served_targets_carry_gateway_batches_through_kafka_into_the_lake_once() {
    let Some(brokers) = test_brokers() else {
        return;
    };
    let database = TestDatabase::create().await;
    let data = tempfile::tempdir().unwrap();
    let mut settings = settings(Some(database.url()), data.path());
    settings.kafka.brokers = brokers;
    // A group of its own: this test's writer consumes every partition.
    settings.kafka.group = format!("tenet-e2e-{}", Uuid::new_v4().simple());
    let app = RunningApp::serve_all(settings).await;
    let (tenant, token) = app.tenant_admin("pbx").await;
    let client = reqwest::Client::new();

    let ready = client
        .get(format!("{}/health/ready", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), StatusCode::OK);
    let body: Value = ready.json().await.unwrap();
    assert!(
        body["dependencies"]
            .as_array()
            .unwrap()
            .iter()
            .any(|dependency| dependency["name"] == "broker" && dependency["status"] == "up"),
        "{body}"
    );

    let batch: Vec<Value> = (0..20)
        .map(|n| call_answered(tenant, &format!("c-{n}"), 27))
        .collect();
    let response = client
        .post(format!("{}/api/v1/events", app.base))
        .bearer_auth(&token)
        .json(&batch)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);

    // The writer's default freshness is 10 s.
    let sent: Vec<String> = batch
        .iter()
        .map(|event| event["event_id"].as_str().unwrap().to_owned())
        .collect();
    let deadline = Instant::now() + Duration::from_secs(60);
    let landed = loop {
        let landed = landed_ids(data.path(), EventFamily::Calls).await;
        if sent.iter().all(|id| landed.contains_key(id)) {
            break landed;
        }
        assert!(
            Instant::now() < deadline,
            "the batch did not land within 60 s"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    for id in &sent {
        assert_eq!(landed[id], 1, "{id} landed more than once");
    }
    app.stop().await;
}

/// A broker the outage test can stop and bring back.
trait Outage {
    fn address(&self) -> String;
    async fn stop(&mut self);
    async fn resume(&mut self);
    fn log(&self) -> String;
}

impl Outage for OwnBroker {
    fn address(&self) -> String {
        OwnBroker::address(self)
    }
    async fn stop(&mut self) {
        OwnBroker::stop(self).await;
    }
    async fn resume(&mut self) {
        OwnBroker::resume(self).await;
    }
    fn log(&self) -> String {
        OwnBroker::log(self)
    }
}

/// librdkafka's in-process mock cluster of one broker, whose broker goes down and up.
struct MockBroker(
    rdkafka::mocking::MockCluster<'static, rdkafka::producer::DefaultProducerContext>,
);

impl MockBroker {
    fn start() -> Self {
        let cluster = rdkafka::mocking::MockCluster::new(1).unwrap();
        for family in EventFamily::ALL {
            cluster.create_topic(family.topic(), 2, 1).unwrap();
        }
        Self(cluster)
    }
}

impl Outage for MockBroker {
    fn address(&self) -> String {
        self.0.bootstrap_servers()
    }
    async fn stop(&mut self) {
        self.0.broker_down(1).unwrap();
    }
    async fn resume(&mut self) {
        self.0.broker_up(1).unwrap();
    }
    fn log(&self) -> String {
        "(the mock cluster keeps no log)".to_owned()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "tansu 0.6's SQLite store panics on produce after a restart with idempotent \
            producers connected (tansu-storage lite.rs: `more or less than one row`), so the \
            restarted broker never accepts the held events; run with --run-ignored on a fixed tansu"]
async fn a_tansu_outage_delays_events_but_loses_and_repeats_none() {
    let Some(_) = test_brokers() else { return };
    broker_outage(OwnBroker::start().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_broker_outage_delays_events_but_loses_and_repeats_none() {
    broker_outage(MockBroker::start()).await;
}

/// For 30 s the broker is down while the API keeps creating tickets and the gateway keeps
/// receiving; readiness says so; once it is back, everything lands, nothing twice.
async fn broker_outage(mut broker: impl Outage) {
    let database = TestDatabase::create().await;
    let data = tempfile::tempdir().unwrap();
    let mut settings = settings(Some(database.url()), data.path());
    settings.kafka.brokers = broker.address();
    settings.kafka.topic_partitions = 2;
    settings.kafka.delivery_timeout = Duration::from_secs(5);
    let app = RunningApp::serve_all(settings).await;
    let (tenant, token) = app.tenant_admin("ops").await;
    let client = reqwest::Client::new();
    let project = create_hotline(&client, &app.base, &token).await;

    // Tickets (through the outbox and the relay) and gateway batches keep coming: before,
    // during 30 s without a broker, and after.
    let mut tickets = 0;
    let mut accepted: Vec<String> = Vec::new();
    let mut refused = 0;
    let mut saw_not_ready = false;
    let mut round = 0;
    let started = Instant::now();
    broker_phase(&client, &app.base, &token, &project, tenant, &mut round, 5)
        .await
        .tally(&mut tickets, &mut accepted, &mut refused);
    broker.stop().await;
    let outage = Instant::now();
    while outage.elapsed() < Duration::from_secs(30) {
        broker_phase(&client, &app.base, &token, &project, tenant, &mut round, 1)
            .await
            .tally(&mut tickets, &mut accepted, &mut refused);
        let ready = client
            .get(format!("{}/health/ready", app.base))
            .send()
            .await
            .unwrap();
        if ready.status() == StatusCode::SERVICE_UNAVAILABLE {
            let body: Value = ready.json().await.unwrap();
            assert!(
                body["failing"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|name| name == "broker"),
                "{body}"
            );
            saw_not_ready = true;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    broker.resume().await;
    broker_phase(&client, &app.base, &token, &project, tenant, &mut round, 5)
        .await
        .tally(&mut tickets, &mut accepted, &mut refused);

    assert!(saw_not_ready, "readiness never reported the broker down");
    assert!(
        refused > 0,
        "the gateway must refuse what it cannot make durable"
    );
    // Every outbox event is published once the broker is back.
    let mut connection = sqlx::PgConnection::connect(&database.url()).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    let outbox: Vec<String> = loop {
        let pending: i64 =
            sqlx::query_scalar("select count(*) from outbox where published_at is null")
                .fetch_one(&mut connection)
                .await
                .unwrap();
        if pending == 0 {
            break sqlx::query_scalar("select event_id::text from outbox")
                .fetch_all(&mut connection)
                .await
                .unwrap();
        }
        assert!(
            Instant::now() < deadline,
            "{pending} outbox events never published; the broker printed:\n{}",
            broker.log()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    assert!(
        outbox.len() >= tickets,
        "{} outbox events for {tickets} tickets",
        outbox.len()
    );
    // Everything the gateway accepted and everything the outbox held lands, each once.
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let calls = landed_ids(data.path(), EventFamily::Calls).await;
        // The outbox holds the tickets' events and the administration events of the setup.
        let mut outbox_rows = landed_ids(data.path(), EventFamily::Tickets).await;
        outbox_rows.extend(landed_ids(data.path(), EventFamily::Admin).await);
        let calls_done = accepted.iter().all(|id| calls.contains_key(id));
        let outbox_done = outbox.iter().all(|id| outbox_rows.contains_key(id));
        if calls_done && outbox_done {
            assert!(calls.values().all(|&n| n == 1), "a call event landed twice");
            assert!(
                outbox_rows.values().all(|&n| n == 1),
                "an outbox event landed twice"
            );
            assert_eq!(outbox_rows.len(), outbox.len(), "only the outbox's events");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "not everything landed {:?} after the outage began",
            started.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    app.stop().await;
}

/// What one phase of traffic achieved.
struct Traffic {
    tickets: usize,
    accepted: Vec<String>,
    refused: usize,
}

impl Traffic {
    fn tally(self, tickets: &mut usize, accepted: &mut Vec<String>, refused: &mut usize) {
        *tickets += self.tickets;
        accepted.extend(self.accepted);
        *refused += self.refused;
    }
}

/// Creates `rounds` tickets and posts `rounds` gateway batches of three call events.
async fn broker_phase(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    project: &str,
    tenant: TenantId,
    round: &mut usize,
    rounds: usize,
) -> Traffic {
    let mut traffic = Traffic {
        tickets: 0,
        accepted: Vec::new(),
        refused: 0,
    };
    for _ in 0..rounds {
        *round += 1;
        let created = client
            .post(format!("{base}/api/v1/tickets"))
            .bearer_auth(token)
            .json(&json!({"project_id": project, "subject": format!("outage {round}"), "channel": "voice"}))
            .send()
            .await
            .unwrap();
        assert_eq!(
            created.status(),
            StatusCode::CREATED,
            "the API works without a broker"
        );
        traffic.tickets += 1;
        let batch: Vec<Value> = (0..3)
            .map(|n| call_answered(tenant, &format!("o-{round}-{n}"), 3))
            .collect();
        let response = client
            .post(format!("{base}/api/v1/events"))
            .bearer_auth(token)
            .json(&batch)
            .send()
            .await
            .unwrap();
        if response.status() == StatusCode::ACCEPTED {
            traffic.accepted.extend(
                batch
                    .iter()
                    .map(|event| event["event_id"].as_str().unwrap().to_owned()),
            );
        } else {
            assert!(response.status().is_server_error(), "{}", response.status());
            traffic.refused += 1;
        }
    }
    traffic
}

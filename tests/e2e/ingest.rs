//! The embedded event log of `tenet up`: the gateway takes outside events, the relay takes the
//! ops API's outbox, and both land in the log durably.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use tenet::admin;
use tenet_events::{Envelope, Role, TenantId};
use tenet_ingest::{EventLog, ReadLimits, TopicName, TopicPartition};

use crate::harness::{RunningApp, call_answered, create_hotline, settings};

fn answered(tenant: TenantId, call: &str) -> Value {
    call_answered(tenant, call, 27)
}

async fn all_records(log: &dyn EventLog, topic: &str) -> Vec<(Envelope, Vec<(String, String)>)> {
    let topic = TopicName::parse(topic).unwrap();
    let Ok(partitions) = log.partition_count(&topic).await else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for partition in 0..partitions {
        let partition = TopicPartition::new(topic.clone(), partition);
        let range = log.offset_range(&partition).await.unwrap();
        if range.start == range.end {
            continue;
        }
        for record in log
            .read(&partition, range.start, ReadLimits::default())
            .await
            .unwrap()
        {
            let headers = record
                .headers
                .iter()
                .map(|h| {
                    (
                        h.name.clone(),
                        String::from_utf8_lossy(&h.value).into_owned(),
                    )
                })
                .collect();
            found.push((Envelope::from_json(&record.value).unwrap(), headers));
        }
    }
    found
}

async fn setup() -> (tempfile::TempDir, RunningApp, TenantId, String) {
    let data = tempfile::tempdir().unwrap();
    let app = RunningApp::start(settings(None, data.path()), tenet::app::Mode::Embedded).await;
    let tenant = admin::create_tenant(&app.database, "Acme").await.unwrap();
    let token = admin::create_token(&app.database, tenant.id, Role::Admin, None, "pbx")
        .await
        .unwrap();
    (
        data,
        app,
        tenant.id,
        token.secret.expose_secret().to_owned(),
    )
}

#[tokio::test]
async fn gateway_stores_a_valid_batch_durably_before_answering() {
    let (_data, app, tenant, token) = setup().await;
    let batch = json!([answered(tenant, "c-1"), answered(tenant, "c-2")]);

    let response = reqwest::Client::new()
        .post(format!("{}/api/v1/events", app.base))
        .bearer_auth(&token)
        .header("x-request-id", "pbx-batch-9")
        .json(&batch)
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["accepted"], 2);
    let stored = all_records(app.log.as_deref().unwrap(), "tenet.calls.v1").await;
    let ids: Vec<String> = stored
        .iter()
        .map(|(e, _)| e.event_id.as_uuid().to_string())
        .collect();
    assert_eq!(ids.len(), 2);
    for event in batch.as_array().unwrap() {
        assert!(ids.contains(&event["event_id"].as_str().unwrap().to_owned()));
    }
    assert!(
        stored[0]
            .1
            .contains(&("x-request-id".to_owned(), "pbx-batch-9".to_owned())),
        "{:?}",
        stored[0].1
    );
    app.stop().await;
}

#[tokio::test]
async fn gateway_refuses_a_batch_with_any_bad_event_naming_each_and_stores_none() {
    let (_data, app, tenant, token) = setup().await;
    let mut wrong_type = answered(tenant, "c-3");
    wrong_type["data"]["wait_seconds"] = json!("long");
    let mut unknown = answered(tenant, "c-4");
    unknown["type"] = json!("call.teleported");
    let batch = json!([
        answered(tenant, "c-1"),
        answered(TenantId::generate(), "c-2"),
        wrong_type,
        unknown,
        {"tenant_id": tenant},
    ]);

    let response = reqwest::Client::new()
        .post(format!("{}/api/v1/events", app.base))
        .bearer_auth(&token)
        .json(&batch)
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = response.json().await.unwrap();
    let refused = body["error"]["details"]["events"].as_array().unwrap();
    let indexes: Vec<u64> = refused
        .iter()
        .map(|r| r["index"].as_u64().unwrap())
        .collect();
    assert_eq!(indexes, [1, 2, 3, 4]);
    assert_eq!(refused[0]["field"], "tenant_id");
    assert_eq!(refused[1]["field"], "data.wait_seconds");
    assert_eq!(refused[2]["code"], "unknown_type");
    assert!(
        all_records(app.log.as_deref().unwrap(), "tenet.calls.v1")
            .await
            .is_empty()
    );

    for (body, status) in [
        ("not json", StatusCode::BAD_REQUEST),
        ("{}", StatusCode::UNPROCESSABLE_ENTITY),
        ("[]", StatusCode::UNPROCESSABLE_ENTITY),
    ] {
        let response = reqwest::Client::new()
            .post(format!("{}/api/v1/events", app.base))
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), status, "{body}");
    }
    let operator = admin::create_token(&app.database, tenant, Role::Operator, None, "")
        .await
        .unwrap();
    let forbidden = reqwest::Client::new()
        .post(format!("{}/api/v1/events", app.base))
        .bearer_auth(operator.secret.expose_secret())
        .json(&json!([answered(tenant, "c-5")]))
        .send()
        .await
        .unwrap();
    assert_eq!(forbidden.status(), StatusCode::FORBIDDEN);
    app.stop().await;
}

#[tokio::test]
async fn relay_publishes_each_outbox_event_to_the_log_once_with_its_trace() {
    let (_data, app, _tenant, token) = setup().await;
    let client = reqwest::Client::new();
    let project = create_hotline(&client, &app.base, &token).await;
    let created = client
        .post(format!("{}/api/v1/tickets", app.base))
        .bearer_auth(&token)
        .header("x-request-id", "create-ticket-1")
        .json(&json!({"project_id": project, "subject": "No power", "channel": "voice"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let ticket: Value = created.json().await.unwrap();

    let deadline = Instant::now() + Duration::from_secs(10);
    let stored = loop {
        let stored = all_records(app.log.as_deref().unwrap(), "tenet.tickets.v1").await;
        if !stored.is_empty() || Instant::now() > deadline {
            break stored;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(stored.len(), 1, "exactly one event in the log");
    let (event, headers) = &stored[0];
    assert_eq!(event.event_type().as_str(), "ticket.created");
    let wire: Value = serde_json::from_slice(&event.to_json()).unwrap();
    assert_eq!(wire["data"]["ticket_id"], ticket["id"]);
    assert!(
        headers.contains(&("x-request-id".to_owned(), "create-ticket-1".to_owned())),
        "{headers:?}"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        tenet_ops_api::outbox::pending(&app.database, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        all_records(app.log.as_deref().unwrap(), "tenet.tickets.v1")
            .await
            .len(),
        1,
        "not published twice"
    );
    app.stop().await;
}

#[tokio::test]
async fn asterisk_queue_log_lines_land_as_call_events_and_reposting_adds_nothing_new() {
    let (_data, app, _tenant, token) = setup().await;
    let lines = "1712912400|NONE|NONE|NONE|QUEUESTART\n\
                 1712912410|1712912401.7|support|NONE|ENTERQUEUE||+15551234|1\n\
                 1712912437|1712912401.7|support|SIP/1002|CONNECT|27|1712912437.9|4\n\
                 1712912600|1712912401.7|support|SIP/1002|COMPLETECALLER|27|163|1\n";
    let post = |body: &'static str| {
        reqwest::Client::new()
            .post(format!("{}/api/v1/telephony/asterisk/queue-log", app.base))
            .bearer_auth(&token)
            .header("content-type", "text/plain")
            .body(body)
            .send()
    };

    let first = post(lines).await.unwrap();
    assert_eq!(first.status(), StatusCode::ACCEPTED);
    let first: Value = first.json().await.unwrap();
    assert_eq!(first, json!({"accepted": 3, "lines": 4, "skipped": 1}));
    post(lines).await.unwrap();
    let stored = all_records(app.log.as_deref().unwrap(), "tenet.calls.v1").await;
    let distinct: std::collections::BTreeSet<_> = stored.iter().map(|(e, _)| e.event_id).collect();
    assert_eq!(stored.len(), 6, "the log is at-least-once");
    assert_eq!(
        distinct.len(),
        3,
        "a re-post repeats the same event ids, which the lake keeps once"
    );

    let garbage = post("1712912437|1.1|support|SIP/1|CONNECT|soon\nnot a queue_log line\n")
        .await
        .unwrap();
    assert_eq!(garbage.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let garbage: Value = garbage.json().await.unwrap();
    assert_eq!(garbage["error"]["details"]["lines"][0]["line"], 1);
    assert_eq!(garbage["error"]["details"]["lines"][1]["line"], 2);
    assert_eq!(
        all_records(app.log.as_deref().unwrap(), "tenet.calls.v1")
            .await
            .len(),
        6
    );
    app.stop().await;
}

#[tokio::test]
async fn badge_swipes_land_as_attendance_events_and_bad_ones_are_named() {
    let (_data, app, _tenant, token) = setup().await;
    let client = reqwest::Client::new();
    let swipes = json!([
        {"badge_id": "B-17", "device_id": "turnstile-1", "direction": "in", "at": "2026-04-13T08:58:12Z", "employee_id": "E-17"},
        {"badge_id": "B-17", "device_id": "turnstile-1", "direction": "out", "at": "2026-04-13T17:02:40Z"},
    ]);

    let accepted = client
        .post(format!("{}/api/v1/access-control/events", app.base))
        .bearer_auth(&token)
        .json(&swipes)
        .send()
        .await
        .unwrap();
    let refused = client
        .post(format!("{}/api/v1/access-control/events", app.base))
        .bearer_auth(&token)
        .json(&json!([{"badge_id": "B-1", "device_id": "t", "direction": "sideways", "at": "2026-04-13T08:58:12Z"}, {"badge_id": "B-1"}]))
        .send()
        .await
        .unwrap();

    assert_eq!(accepted.status(), StatusCode::ACCEPTED);
    let stored = all_records(app.log.as_deref().unwrap(), "tenet.attendance.v1").await;
    assert_eq!(stored.len(), 2);
    assert!(
        stored
            .iter()
            .all(|(e, _)| e.event_type().as_str() == "attendance.badge_swiped")
    );
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let refused: Value = refused.json().await.unwrap();
    assert_eq!(
        refused["error"]["details"]["events"][0]["field"],
        "direction"
    );
    assert_eq!(refused["error"]["details"]["events"][1]["index"], 1);
    assert_eq!(
        all_records(app.log.as_deref().unwrap(), "tenet.attendance.v1")
            .await
            .len(),
        2
    );
    app.stop().await;
}

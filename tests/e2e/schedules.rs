//! Published weekly schedules: planners publish weeks through the ops API on PostgreSQL and
//! SQLite, later versions supersede earlier ones, operators read their own shifts, and the
//! published schedule and the agents' states sent to the gateway give adherence and
//! conformance in the reports of a running `tenet up`.

use std::path::Path;
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tenet_events::{Envelope, Event, Role};

use crate::harness::{UpProcess, tenet_ok};
use crate::tickets::{World, on_both};

impl World {
    /// `GET path` with the session of the user `email`.
    async fn as_user(&self, email: &str, path: &str) -> (StatusCode, Value) {
        let session = self.session(email).await;
        self.as_session(&session, Method::GET, path, None).await
    }
}

fn schedule_events(events: &[Envelope]) -> Vec<&Event> {
    events
        .iter()
        .map(|envelope| &envelope.event)
        .filter(|event| matches!(event, Event::Schedules(_)))
        .collect()
}

#[tokio::test]
async fn planners_publish_weeks_that_supersede_earlier_versions_and_operators_read_their_own() {
    on_both(async |world: World| {
        // Arrange: a planner, and Anna (the world's operator) working as agent 1001.
        let planner = world.role_token(Role::ProjectGroupManager).await;
        let first = json!({
            "week_start": "2026-02-02", "time_zone": "Europe/Berlin",
            "shifts": [
                {"agent_id": "1001", "user_id": world.operator_id, "start": "2026-02-02T10:00", "end": "2026-02-02T14:00",
                 "activities": [{"kind": "lunch", "start": "2026-02-02T12:00", "end": "2026-02-02T12:30"}]},
                {"agent_id": "1002", "start": "2026-02-02T10:00", "end": "2026-02-02T12:00"},
            ],
        });

        // Act: publish the week, then publish it again without agent 1002.
        let (status, v1) = world.call(Method::POST, "/wfm/schedules", &planner, Some(first)).await;
        assert_eq!(status, StatusCode::CREATED, "{v1}");
        let second = json!({
            "week_start": "2026-02-02", "time_zone": "Europe/Berlin",
            "shifts": [
                {"agent_id": "1001", "user_id": world.operator_id, "start": "2026-02-02T10:00", "end": "2026-02-02T12:00",
                 "activities": [{"kind": "break", "start": "2026-02-02T11:00", "end": "2026-02-02T11:15"}]},
            ],
        });
        let (status, v2) = world.call(Method::POST, "/wfm/schedules", &planner, Some(second)).await;
        assert_eq!(status, StatusCode::CREATED, "{v2}");

        // Assert: numbered versions, the second superseding the first.
        assert_eq!((v1["version"].as_i64(), v1["agents"].as_i64(), v1["activities"].as_i64()), (Some(1), Some(2), Some(4)), "{v1}");
        assert_eq!(v2["version"], 2, "{v2}");
        assert_eq!(v2["supersedes"], v1["id"], "{v2}");
        assert_eq!(v2["shifts"][0]["start"], "2026-02-02T09:00:00Z", "local times in the week's zone: {v2}");
        assert_eq!(v2["shifts"][0]["activities"], json!([{"kind": "break", "start": "2026-02-02T10:00:00Z", "end": "2026-02-02T10:15:00Z"}]));
        let (status, current) = world.call(Method::GET, "/wfm/schedules", &planner, None).await;
        assert_eq!(status, StatusCode::OK, "{current}");
        let ids: Vec<&Value> = current.as_array().unwrap().iter().map(|s| &s["id"]).collect();
        assert_eq!(ids, [&v2["id"]], "only the current version by default: {current}");
        let (_, all) = world.call(Method::GET, "/wfm/schedules?week_start=2026-02-02&include_superseded=true", &planner, None).await;
        let versions: Vec<(i64, bool)> = all.as_array().unwrap().iter().map(|s| (s["version"].as_i64().unwrap(), s["current"].as_bool().unwrap())).collect();
        assert_eq!(versions, [(2, true), (1, false)], "{all}");
        let (status, old) = world.call(Method::GET, &format!("/wfm/schedules/{}", v1["id"].as_str().unwrap()), &planner, None).await;
        assert_eq!(status, StatusCode::OK, "{old}");
        assert_eq!((old["current"].as_bool(), old["shifts"].as_array().unwrap().len()), (Some(false), 2), "{old}");

        // The outbox holds each version's activities, each closed by its schedule.published.
        let events = world.outbox_events().await;
        let events = schedule_events(&events);
        let wire: Vec<Value> = events.iter().map(|event| serde_json::to_value(event).unwrap()).collect();
        let kinds: Vec<(&str, i64)> = wire
            .iter()
            .map(|event| (event["activity"].as_str().unwrap_or("published"), event["version"].as_i64().unwrap()))
            .collect();
        assert_eq!(
            kinds,
            [("work", 1), ("lunch", 1), ("work", 1), ("work", 1), ("published", 1), ("work", 2), ("break", 2), ("work", 2), ("published", 2)]
        );
        assert_eq!(wire[5]["agent_id"], "1001");
        assert_eq!((&wire[5]["starts_at"], &wire[5]["ends_at"]), (&json!("2026-02-02T09:00:00Z"), &json!("2026-02-02T10:00:00Z")));
        assert_eq!(wire[8]["supersedes"], v1["id"]);
        assert_eq!(wire[8]["time_zone"], "Europe/Berlin");

        // Who may do what: planners publish; managers read; operators read only their own.
        let manager = world.role_token(Role::ProjectManager).await;
        let operator = world.role_token(Role::Operator).await;
        let executor = world.role_token(Role::Executor).await;
        let empty = json!({"week_start": "2026-02-09", "time_zone": "UTC", "shifts": []});
        for token in [&manager, &operator] {
            let (status, _) = world.call(Method::POST, "/wfm/schedules", token, Some(empty.clone())).await;
            assert_eq!(status, StatusCode::FORBIDDEN);
        }
        let (status, _) = world.call(Method::POST, "/wfm/schedules", &world.admin, Some(empty)).await;
        assert_eq!(status, StatusCode::CREATED);
        let (status, read) = world.call(Method::GET, &format!("/wfm/schedules/{}", v1["id"].as_str().unwrap()), &manager, None).await;
        assert_eq!((status, read["shifts"].as_array().map(Vec::len)), (StatusCode::OK, Some(2)));
        let (status, _) = world.call(Method::GET, "/wfm/schedules", &executor, None).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, mine) = world.as_user("anna@acme.test", &format!("/wfm/schedules/{}", v1["id"].as_str().unwrap())).await;
        assert_eq!(status, StatusCode::OK, "{mine}");
        let agents: Vec<&str> = mine["shifts"].as_array().unwrap().iter().map(|s| s["agent_id"].as_str().unwrap()).collect();
        assert_eq!(agents, ["1001"], "Anna sees only her own shift: {mine}");
        let (_, listed) = world.as_user("anna@acme.test", "/wfm/schedules").await;
        assert_eq!(listed.as_array().unwrap().len(), 1, "the empty week has no shift of hers: {listed}");
        world.user("boris@acme.test", "operator").await;
        let (status, _) = world.as_user("boris@acme.test", &format!("/wfm/schedules/{}", v2["id"].as_str().unwrap())).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, listed) = world.call(Method::GET, "/wfm/schedules", &operator, None).await;
        assert_eq!((status, listed), (StatusCode::OK, json!([])), "an operator's API token has no shifts");

        world.app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_week_published_by_several_planners_at_once_gets_consecutive_versions() {
    on_both(async |world: World| {
        let planner = world.role_token(Role::ProjectGroupManager).await;
        let week = |n: usize| {
            json!({
                "week_start": "2026-03-02", "time_zone": "Europe/Berlin",
                "shifts": [{"agent_id": format!("{}", 2000 + n), "start": "2026-03-02T08:00", "end": "2026-03-02T16:00"}],
            })
        };
        // Each publication reads the week's latest version, then writes the next one.
        let publications = (0..6).map(|n| world.call(Method::POST, "/wfm/schedules", &planner, Some(week(n))));
        let answers = futures::future::join_all(publications).await;

        let mut versions: Vec<i64> = Vec::new();
        for (status, body) in &answers {
            match *status {
                StatusCode::CREATED => versions.push(body["version"].as_i64().unwrap()),
                // Two publications that read the same latest version: one of them is told so.
                StatusCode::CONFLICT => assert_eq!(body["error"]["code"], "conflict", "{body}"),
                other => panic!("a publication answered {other}: {body}"),
            }
        }
        versions.sort_unstable();
        assert_eq!(versions, (1..=versions.len() as i64).collect::<Vec<_>>(), "{answers:?}");
        if world.app.database.backend() == tenet_ops_api::db::Backend::Sqlite {
            // SQLite has one writer at a time: every publication waits its turn and lands.
            assert_eq!(versions.len(), 6, "{answers:?}");
        }
    })
    .await;
}

#[tokio::test]
async fn invalid_schedules_are_refused_naming_the_field() {
    on_both(async |world: World| {
        let planner = world.role_token(Role::ProjectGroupManager).await;
        let shift = |start: &str, end: &str| json!({"agent_id": "1001", "start": start, "end": end});
        let week = |time_zone: &str, shifts: Value| json!({"week_start": "2026-02-02", "time_zone": time_zone, "shifts": shifts});
        for (body, field) in [
            (week("Mars/Olympus", json!([])), "time_zone"),
            (week("UTC", json!([shift("2026-02-02T12:00", "2026-02-02T08:00")])), "shifts[0].end"),
            (week("UTC", json!([shift("2026-02-09T08:00", "2026-02-09T12:00")])), "shifts[0].start"),
            (
                week("UTC", json!([shift("2026-02-02T08:00", "2026-02-02T16:00"), shift("2026-02-02T12:00", "2026-02-02T18:00")])),
                "shifts[1].start",
            ),
            (
                week("UTC", json!([{"agent_id": "1001", "start": "2026-02-02T08:00", "end": "2026-02-02T16:00",
                    "activities": [{"kind": "nap", "start": "2026-02-02T12:00", "end": "2026-02-02T12:30"}]}])),
                "shifts[0].activities[0].kind",
            ),
            (
                week("UTC", json!([{"agent_id": "1001", "start": "2026-02-02T08:00", "end": "2026-02-02T16:00",
                    "activities": [{"kind": "lunch", "start": "2026-02-02T15:45", "end": "2026-02-02T16:15"}]}])),
                "shifts[0].activities[0].end",
            ),
            (
                week("UTC", json!([{"agent_id": "1001", "user_id": "00000000-0000-0000-0000-000000000000",
                    "start": "2026-02-02T08:00", "end": "2026-02-02T16:00"}])),
                "shifts[0].user_id",
            ),
            (json!({"week_start": "2026-02-31", "time_zone": "UTC", "shifts": []}), "week_start"),
        ] {
            let (status, refused) = world.call(Method::POST, "/wfm/schedules", &planner, Some(body.clone())).await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {refused}");
            assert_eq!(refused["error"]["details"]["field"], field, "{body}: {refused}");
        }
        let (_, listed) = world.call(Method::GET, "/wfm/schedules?include_superseded=true", &planner, None).await;
        assert_eq!(listed, json!([]), "nothing refused was stored");
        assert!(schedule_events(&world.outbox_events().await).is_empty());
        world.app.stop().await;
    })
    .await;
}

async fn admin(dir: &Path, args: &[&str]) -> String {
    let mut all = vec!["admin"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--data-dir", dir.to_str().unwrap()]);
    tenet_ok(all).await
}

#[tokio::test]
async fn adherence_comes_from_the_published_schedule_and_the_agent_states_sent_in() {
    // Arrange: a tenant with a planner and an integration, on a running `tenet up`.
    let data = tempfile::tempdir().unwrap();
    let dir = data.path();
    let tenant = admin(dir, &["tenant", "create", "Acme"]).await;
    let planner = admin(
        dir,
        &[
            "token",
            "create",
            "--tenant",
            tenant.as_str(),
            "--role",
            "project_group_manager",
        ],
    )
    .await;
    let integration = admin(
        dir,
        &[
            "token",
            "create",
            "--tenant",
            tenant.as_str(),
            "--role",
            "admin",
        ],
    )
    .await;
    let up = UpProcess::start(dir).await;
    let http = reqwest::Client::new();
    let api = |path: &str| format!("{}/api/v1{path}", up.base);

    // Act: publish the week twice (the second version drops agent 1002 and adds a break),
    // then send agent 1001's day (UTC; Berlin is UTC+1 in February).
    for shifts in [
        json!([
            {"agent_id": "1001", "start": "2026-02-02T10:00", "end": "2026-02-02T14:00"},
            {"agent_id": "1002", "start": "2026-02-02T10:00", "end": "2026-02-02T12:00"},
        ]),
        json!([
            {"agent_id": "1001", "start": "2026-02-02T10:00", "end": "2026-02-02T12:00",
             "activities": [{"kind": "break", "start": "2026-02-02T11:00", "end": "2026-02-02T11:15"}]},
        ]),
    ] {
        let response = http
            .post(api("/wfm/schedules"))
            .bearer_auth(&planner)
            .json(&json!({"week_start": "2026-02-02", "time_zone": "Europe/Berlin", "shifts": shifts}))
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            StatusCode::CREATED,
            "{}",
            response.text().await.unwrap()
        );
    }
    let state = |event_type: &str, at: &str, reason: Option<&str>| {
        let mut data = json!({"agent_id": "1001"});
        if let Some(reason) = reason {
            data["reason"] = reason.into();
        }
        json!({
            "event_id": uuid::Uuid::now_v7(), "tenant_id": tenant, "occurred_at": at,
            "type": event_type, "schema_version": 1, "data": data,
        })
    };
    let response = http
        .post(api("/events"))
        .bearer_auth(&integration)
        .json(&json!([
            state("agent.logged_in", "2026-02-02T09:00:00Z", None),
            state("agent.ready", "2026-02-02T09:00:00Z", None),
            state("agent.not_ready", "2026-02-02T10:00:00Z", Some("break")),
            state("agent.ready", "2026-02-02T10:10:00Z", None),
            state("agent.logged_out", "2026-02-02T10:50:00Z", None),
        ]))
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        StatusCode::ACCEPTED,
        "{}",
        response.text().await.unwrap()
    );

    // Assert: once both have landed, 1001's day against version 2 (09:00–11:00 UTC):
    // ready while scheduled to work 09:00–10:00 and 10:15–10:50 (in, 5700 s), not ready for
    // the first 10 minutes of the break (in, 600 s), back to ready 5 minutes early (out,
    // 300 s) and logged out 10 minutes early (out, 600 s); logged in until 10:50.
    let path = "/reports/agent_adherence?from=2026-02-02&to=2026-02-03&tz=Europe/Berlin";
    let deadline = Instant::now() + Duration::from_secs(90);
    let rows = loop {
        let response = http
            .get(api(path))
            .bearer_auth(&planner)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let body: Value = response.json().await.unwrap();
        let rows = body["rows"].as_array().unwrap().clone();
        if rows.len() == 1 && rows[0]["worked_sec"] == 6600.0 {
            break rows;
        }
        assert!(
            Instant::now() < deadline,
            "schedule and states did not land: {body}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let row = &rows[0];
    assert_eq!(row["agent_id"], "1001", "{row}");
    assert_eq!(row["scheduled_sec"], 7200.0, "{row}");
    assert_eq!(row["scheduled_work_sec"], 6300.0, "{row}");
    assert_eq!(row["in_adherence_sec"], 6300.0, "{row}");
    assert_eq!(row["out_of_adherence_sec"], 900.0, "{row}");
    assert_eq!(row["adherence"], 0.875, "{row}");
    assert_eq!(row["conformance"], 6600.0 / 7200.0, "{row}");
    let link = row["drill_down"].as_str().unwrap();
    let response = http
        .get(format!("{}{link}", up.base))
        .bearer_auth(&planner)
        .send()
        .await
        .unwrap();
    let spans: Value = response.json().await.unwrap();
    assert_eq!(spans["rows"].as_array().unwrap().len(), 4, "{spans}");
}

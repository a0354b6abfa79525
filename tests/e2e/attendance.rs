//! Working-time compliance end to end: badge swipes through the access-control gateway into
//! the lake, against an employee's contract and approved absences, day by day and as a
//! monthly timesheet.

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tenet_events::Role;

use crate::harness::{RunningApp, settings};
use crate::tickets::World;

#[tokio::test]
async fn swipes_against_the_work_pattern_show_late_arrivals_early_leaves_and_absences() {
    let data = tempfile::tempdir().unwrap();
    let world = World::new(
        RunningApp::start(settings(None, data.path()), tenet::app::Mode::Embedded).await,
    )
    .await;
    let hr = world.role_token(Role::Hr).await;
    let (status, anna) = world
        .call(Method::POST, "/hr/employees", &hr, Some(json!({"full_name": "Anna Petrova", "user_id": world.operator_id, "badge_id": "B-1001", "hired_on": "2026-01-01"})))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{anna}");
    let id = anna["id"].as_str().unwrap();
    let day = json!([{"from": "09:00", "to": "18:00"}]);
    let (status, contract) = world
        .call(Method::POST, &format!("/hr/employees/{id}/contracts"), &hr, Some(json!({"valid_from": "2026-01-01", "hours_per_week": 40, "work_pattern": {"mon": day, "tue": day, "wed": day, "thu": day, "fri": day}})))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{contract}");
    let (_, sick) = world
        .call(
            Method::POST,
            &format!("/hr/employees/{id}/absences"),
            &hr,
            Some(json!({"kind": "sick_leave", "starts_on": "2026-11-19", "ends_on": "2026-11-19"})),
        )
        .await;
    let (status, _) = world
        .call(
            Method::PATCH,
            &format!("/hr/absences/{}", sick["id"].as_str().unwrap()),
            &hr,
            Some(json!({"version": 1, "status": "approved"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);

    // Moscow is UTC+3: 05:58Z is 08:58 there.
    let swipe = |at: &str, direction: &str| json!({"badge_id": "B-1001", "device_id": "turnstile-1", "direction": direction, "at": at});
    let swipes = json!([
        swipe("2026-11-16T05:58:00Z", "in"),
        swipe("2026-11-16T15:01:00Z", "out"),
        swipe("2026-11-17T06:25:00Z", "in"),
        swipe("2026-11-17T15:00:00Z", "out"),
        swipe("2026-11-20T06:00:00Z", "in"),
        swipe("2026-11-20T13:30:00Z", "out"),
        swipe("2026-11-21T07:00:00Z", "in"),
        swipe("2026-11-21T09:00:00Z", "out"),
    ]);
    let response = world
        .client
        .post(format!("{}/api/v1/access-control/events", world.app.base))
        .bearer_auth(&world.admin)
        .json(&swipes)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);

    let week = "/hr/attendance?from=2026-11-16&to=2026-11-22&tz=Europe/Moscow";
    let deadline = Instant::now() + Duration::from_secs(90);
    let days = loop {
        let (status, days) = world.call(Method::GET, week, &hr, None).await;
        assert_eq!(status, StatusCode::OK, "{days}");
        if days[0]["status"] == "present" {
            break days;
        }
        assert!(Instant::now() < deadline, "the swipes did not land: {days}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let statuses: Vec<&str> = days
        .as_array()
        .unwrap()
        .iter()
        .map(|day| day["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        statuses,
        [
            "present",
            "late",
            "absent_without_reason",
            "on_absence",
            "left_early",
            "worked_unscheduled",
            "not_scheduled"
        ]
    );
    assert_eq!(
        (&days[0]["first_in"], &days[0]["last_out"]),
        (&json!("08:58"), &json!("18:01"))
    );
    assert_eq!(days[0]["present_minutes"], 543);
    assert_eq!(days[0]["scheduled_minutes"], 540);
    assert_eq!(days[1]["late_minutes"], 25);
    assert_eq!(days[3]["absence"], "sick_leave");
    assert_eq!(days[4]["early_leave_minutes"], 90);
    assert_eq!(days[5]["present_minutes"], 120);

    // November: 21 working days; present on three of them, sick on one.
    let (status, sheet) = world
        .call(
            Method::GET,
            "/hr/timesheet?month=2026-11&tz=Europe/Moscow",
            &hr,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{sheet}");
    let row = &sheet[0];
    assert_eq!(row["scheduled_days"], 21);
    assert_eq!(row["present_days"], 4);
    assert_eq!(row["late_days"], 1);
    assert_eq!(row["early_leave_days"], 1);
    assert_eq!(row["absent_without_reason_days"], 17);
    assert_eq!(row["absences"], "sick_leave: 1");
    assert_eq!(row["scheduled_hours"], 189.0);
    let csv = world
        .client
        .get(format!(
            "{}/api/v1/hr/timesheet?month=2026-11&tz=Europe/Moscow&format=csv",
            world.app.base
        ))
        .bearer_auth(&hr)
        .send()
        .await
        .unwrap();
    assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
    let csv = csv.text().await.unwrap();
    assert!(
        csv.starts_with("employee_id,full_name,month,scheduled_days"),
        "{csv}"
    );
    assert!(csv.contains("Anna Petrova,2026-11,21,189.0,4,"), "{csv}");

    for (query, field) in [
        ("/hr/attendance?from=2026-11-22&to=2026-11-16", "to"),
        ("/hr/attendance?from=2026-01-01&to=2026-12-31", "to"),
        ("/hr/attendance?from=2026-11-16", "to"),
        (
            "/hr/attendance?from=2026-11-16&to=2026-11-22&tz=Mars/Olympus",
            "tz",
        ),
        (
            "/hr/attendance?from=2026-11-16&to=2026-11-22&format=xml",
            "format",
        ),
        ("/hr/timesheet?month=2026-13", "month"),
        ("/hr/timesheet?month=2026-11&colour=red", "colour"),
    ] {
        let (status, refused) = world.call(Method::GET, query, &hr, None).await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{query}: {refused}"
        );
        assert_eq!(refused["error"]["details"]["field"], field, "{query}");
    }
    let operator = world.role_token(Role::Operator).await;
    let (status, _) = world.call(Method::GET, week, &operator, None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Another tenant's HR sees none of these swipes or people.
    let intruder = world.intruder(Role::Hr).await;
    let (status, theirs) = world.call(Method::GET, week, &intruder, None).await;
    assert_eq!((status, theirs), (StatusCode::OK, Value::Array(Vec::new())));
    world.app.stop().await;
}

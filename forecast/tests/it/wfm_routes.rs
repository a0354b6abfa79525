//! The `/api/v1/wfm` routes, driven through the router with tower's `oneshot`.

use axum::body::{Body, to_bytes};
use axum::http::{Request, StatusCode, header};
use serde_json::{Value, json};
use tower::ServiceExt;

use tenet_forecast::routes::{MAX_BODY_BYTES, router};

async fn call(
    method: &str,
    uri: &str,
    content_type: Option<&str>,
    body: Vec<u8>,
) -> (StatusCode, Value) {
    let mut request = Request::builder().method(method).uri(uri);
    if let Some(content_type) = content_type {
        request = request.header(header::CONTENT_TYPE, content_type);
    }
    let response = router()
        .oneshot(request.body(Body::from(body)).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let bytes = to_bytes(response.into_body(), usize::MAX).await.unwrap();
    let value = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| panic!("{status}: not JSON: {}", String::from_utf8_lossy(&bytes)));
    (status, value)
}

async fn post(uri: &str, body: &Value) -> (StatusCode, Value) {
    call(
        "POST",
        uri,
        Some("application/json"),
        body.to_string().into_bytes(),
    )
    .await
}

fn field(answer: &Value) -> &str {
    answer["error"]["details"]["field"]
        .as_str()
        .unwrap_or_default()
}

/// Five weeks of hourly rows, open 08:00–17:00 every day: 10 contacts at 200 s per hour,
/// 30 at 300 s on Mondays at 10:00.
fn history(with_aht: bool) -> Vec<Value> {
    let first = chrono::NaiveDate::from_ymd_opt(2024, 1, 1).unwrap(); // a Monday
    let mut rows = Vec::new();
    for day in 0..35 {
        let date = first + chrono::Duration::days(day);
        for hour in 8..17 {
            let peak = day % 7 == 0 && hour == 10;
            let mut row = json!({
                "interval_start": format!("{date}T{hour:02}:00:00"),
                "contacts": if peak { 30 } else { 10 },
            });
            if with_aht {
                row["aht_sec"] = json!(if peak { 300 } else { 200 });
            }
            rows.push(row);
        }
    }
    rows
}

#[tokio::test]
async fn forecast_answers_every_interval_with_its_aht() {
    let body = json!({"history": history(true), "horizon_days": 7, "model": "moving-average"});

    let (status, answer) = post("/forecast", &body).await;

    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["model"], "moving-average-4w");
    assert_eq!(answer["first_day"], "2024-02-05");
    assert_eq!(answer["interval_min"], 60);
    let intervals = answer["intervals"].as_array().unwrap();
    assert_eq!(intervals.len(), 7 * 24);
    let monday_ten = &intervals[10];
    assert_eq!(monday_ten["interval_start"], "2024-02-05T10:00:00");
    assert_eq!(monday_ten["contacts"], 30.0);
    let aht = monday_ten["aht_sec"].as_f64().unwrap();
    assert!(
        aht > 250.0 && aht < 300.0,
        "busy Monday 10:00 keeps most of its 300 s: {aht}"
    );
    assert_eq!(
        intervals[3]["contacts"], 0.0,
        "closed hours are forecast as 0"
    );
}

#[tokio::test]
async fn a_bad_history_row_is_named_by_its_index_and_field() {
    let mut rows = history(false);
    rows[3]["contacts"] = json!(-2);
    let (status, answer) = post("/forecast", &json!({"history": rows, "horizon_days": 7})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(field(&answer), "history[3].contacts");

    let mut rows = history(false);
    rows[5]["interval_start"] = json!("yesterday");
    let (status, answer) = post("/forecast", &json!({"history": rows, "horizon_days": 7})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(field(&answer), "history[5].interval_start");

    let mut rows = history(false);
    rows[1]["contacts"] = json!("many");
    let (status, answer) = post("/forecast", &json!({"history": rows, "horizon_days": 7})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(field(&answer), "history[1].contacts");
    assert_eq!(answer["error"]["code"], "invalid_request");
}

#[tokio::test]
async fn duplicate_intervals_horizon_and_model_are_checked() {
    let mut rows = history(false);
    rows.push(rows[0].clone());
    let (status, answer) = post("/forecast", &json!({"history": rows, "horizon_days": 7})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(field(&answer), "history");
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("appears twice")
    );

    let (status, answer) = post(
        "/forecast",
        &json!({"history": history(false), "horizon_days": 0}),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(field(&answer), "horizon_days");

    let body = json!({"history": history(false), "horizon_days": 7, "model": "crystal-ball"});
    let (status, answer) = post("/forecast", &body).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(field(&answer), "model");
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("ensemble")
    );

    let body = json!({"history": history(false), "horizon_days": 7, "colour": "blue"});
    let (status, answer) = post("/forecast", &body).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("colour")
    );
}

#[tokio::test]
async fn malformed_json_wrong_type_and_oversize_bodies_are_refused_as_json() {
    let (status, answer) = call(
        "POST",
        "/forecast",
        Some("application/json"),
        b"{\"history\": [".to_vec(),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(answer["error"]["code"], "invalid_request");

    let (status, answer) = call("POST", "/forecast", Some("text/plain"), b"{}".to_vec()).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(answer["error"]["code"], "invalid_request");

    let huge = vec![b' '; MAX_BODY_BYTES + 1];
    let (status, answer) = call("POST", "/forecast", Some("application/json"), huge).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(answer["error"]["code"], "invalid_request");
}

fn plan_body() -> Value {
    json!({
        "horizon_days": 7,
        "model": "moving-average",
        "shrinkage": {"breaks": 0.10, "training": 0.05, "meetings": 0.05, "absence": 0.10},
        "queues": [
            {"name": "retail", "history": history(true),
             "targets": {"service_level": 0.8, "answer_sec": 20}},
            {"name": "business", "history": history(false), "aht_sec": 240,
             "erlang": "a", "patience_sec": 120,
             "targets": {"service_level": 0.8, "answer_sec": 20, "max_occupancy": 0.85}}
        ]
    })
}

#[tokio::test]
async fn plan_staffs_every_queue_and_totals_them_with_reasons() {
    let (status, answer) = post("/plan", &plan_body()).await;

    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["models"]["retail"], "moving-average-4w");
    assert!((answer["shrinkage"].as_f64().unwrap() - 0.28).abs() < 1e-12);
    let retail = &answer["queues"][0]["intervals"][10];
    let business = &answer["queues"][1]["intervals"][10];
    assert_eq!(retail["start"], "2024-02-05T10:00:00");
    assert!(
        retail["aht_sec"].as_f64().unwrap() > 250.0,
        "the forecast AHT is used"
    );
    assert_eq!(
        business["aht_sec"], 240.0,
        "the queue's AHT without history AHT"
    );
    let total = &answer["totals"][10];
    assert_eq!(
        total["agents"].as_u64().unwrap(),
        retail["agents"].as_u64().unwrap() + business["agents"].as_u64().unwrap()
    );
    assert_eq!(
        total["scheduled"].as_u64().unwrap(),
        retail["scheduled"].as_u64().unwrap() + business["scheduled"].as_u64().unwrap()
    );
    let why = retail["why"].as_str().unwrap();
    assert!(
        why.contains("agents meet the service level target of 80.0 %"),
        "{why}"
    );
    assert!(why.contains("28.0 % shrinkage"), "{why}");
    assert!(business["why"].as_str().unwrap().contains("Erlang A"));
}

#[tokio::test]
async fn plan_input_errors_name_the_queue_field() {
    let mut body = plan_body();
    body["queues"][1].as_object_mut().unwrap().remove("aht_sec");
    let (status, answer) = post("/plan", &body).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(field(&answer), "queues[1].aht_sec");

    let mut body = plan_body();
    body["queues"][0]["targets"] = json!({"service_level": 0.8});
    let (status, answer) = post("/plan", &body).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(field(&answer), "queues[0].targets.answer_sec");

    let mut body = plan_body();
    body["queues"][1]
        .as_object_mut()
        .unwrap()
        .remove("patience_sec");
    let (status, answer) = post("/plan", &body).await;
    assert_eq!(field(&answer), "queues[1].patience_sec");
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    let mut body = plan_body();
    body["shrinkage"]["breaks"] = json!(1.5);
    let (status, answer) = post("/plan", &body).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(field(&answer), "shrinkage.breaks");

    let mut body = plan_body();
    body["queues"][1]["targets"] = json!({"max_occupancy": 0.0});
    let (status, answer) = post("/plan", &body).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(field(&answer), "queues[1].targets.max_occupancy");
}

#[tokio::test]
async fn shift_cover_reaches_the_published_optimum() {
    let input: Value =
        serde_json::from_str(include_str!("../fixtures/mtpa_shift_cover.json")).unwrap();

    let (status, answer) = post("/schedule/cover", &input).await;

    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["status"], "optimal");
    assert_eq!(answer["cost"], 6336.0);
}

#[tokio::test]
async fn shift_cover_refuses_a_bad_mask_naming_the_shifts() {
    let input =
        json!({"required": [1, 2, 1], "shifts": [{"name": "x", "cover": [1, 2, 0], "cost": 1}]});
    let (status, answer) = post("/schedule/cover", &input).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(field(&answer), "shifts");
}

fn week_body() -> Value {
    let mut day = vec![0; 24];
    for need in &mut day[8..16] {
        *need = 2;
    }
    json!({
        "interval_min": 60,
        "required": [day.clone(), day],
        "templates": [{"name": "8h", "earliest_start_min": 420, "latest_start_min": 600,
                       "start_step_min": 60, "length_min": 480, "cost_per_hour": 10.0,
                       "breaks": [{"length_min": 60, "earliest_after_min": 180,
                                   "latest_after_min": 300}]}],
        "operators": 10,
        "max_days_per_operator": 5,
        "max_weekly_hours": 40.0,
        "understaffing_penalty": 100.0,
        "mip_gap": 0.0
    })
}

#[tokio::test]
async fn weekly_schedule_covers_the_requirement() {
    let (status, answer) = post("/schedule/week", &week_body()).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let coverage = answer["coverage"].as_array().unwrap();
    assert_eq!(coverage.len(), 2);
    let monday = coverage[0].as_array().unwrap();
    for (hour, agents) in monday.iter().enumerate().take(16).skip(8) {
        assert!(agents.as_u64().unwrap() >= 2, "hour {hour}: {answer}");
    }
    assert_eq!(answer["understaffed_intervals"], 0);
}

#[tokio::test]
async fn weekly_schedule_refuses_bad_fields_by_name() {
    let mut body = week_body();
    body["interval_min"] = json!(7);
    let (status, answer) = post("/schedule/week", &body).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(field(&answer), "interval_min");

    let mut body = week_body();
    body["time_limit_sec"] = json!(3600);
    let (status, answer) = post("/schedule/week", &body).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(field(&answer), "time_limit_sec");

    let mut body = week_body();
    body["templates"][0]["length_min"] = json!(90);
    let (status, answer) = post("/schedule/week", &body).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(field(&answer), "templates");

    let mut body = week_body();
    body["operators"] = json!(-1);
    let (status, answer) = post("/schedule/week", &body).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(field(&answer), "operators");
}

#[tokio::test]
async fn erlang_query_still_answers_the_classic_case() {
    let (status, answer) = call(
        "GET",
        "/erlang?model=c&calls=100&interval_min=30&aht_sec=180&target_answer_sec=20&target_sl=0.8",
        None,
        Vec::new(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(answer["agents"], 14);
}

#[tokio::test]
async fn todays_forecast_is_reforecast_from_the_forecast_routes_own_rows() {
    // Arrange: a forecast of the day after five weeks of history, as the client gets it.
    let (status, forecast) = post(
        "/forecast",
        &json!({"history": history(false), "horizon_days": 1, "model": "moving-average"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{forecast}");
    let intervals = forecast["intervals"].as_array().unwrap().clone();
    let opening = intervals
        .iter()
        .position(|i| i["contacts"].as_f64().unwrap() > 0.0)
        .unwrap();
    // The first two open hours brought twice the contacts expected.
    let actuals: Vec<Value> = intervals[opening..opening + 2]
        .iter()
        .map(|i| json!({"interval_start": i["interval_start"], "contacts": 2.0 * i["contacts"].as_f64().unwrap()}))
        .collect();

    // Act
    let (status, day) = post(
        "/reforecast",
        &json!({"forecast": intervals, "actuals": actuals}),
    )
    .await;

    // Assert: actuals kept, the rest raised by the factor, nothing lowered.
    assert_eq!(status, StatusCode::OK, "{day}");
    let factor = day["factor"].as_f64().unwrap();
    assert!(factor > 1.0, "{day}");
    let rows = day["intervals"].as_array().unwrap();
    assert_eq!(rows.len(), intervals.len());
    for (position, (row, planned)) in rows.iter().zip(&intervals).enumerate() {
        let (got, expected) = (
            row["contacts"].as_f64().unwrap(),
            planned["contacts"].as_f64().unwrap(),
        );
        if position < opening + 2 {
            assert_eq!(row["elapsed"], true);
            // Closed hours before the opening elapsed without contacts.
            let actual = if position >= opening {
                2.0 * expected
            } else {
                0.0
            };
            assert_eq!(got, actual, "{row}");
        } else {
            assert_eq!(row["elapsed"], false);
            assert!((got - expected * factor).abs() < 1e-9, "{row}");
        }
    }
    assert!(day["reforecast_total"].as_f64().unwrap() > day["forecast_total"].as_f64().unwrap());

    // An actual outside the day is named.
    let (status, refused) = post(
        "/reforecast",
        &json!({"forecast": intervals, "actuals": [{"interval_start": "1999-01-01T08:00:00", "contacts": 1}]}),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    assert_eq!(field(&refused), "actuals[0].interval_start");
}

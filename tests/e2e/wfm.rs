//! Workforce planning through the binary: `tenet forecast plan` on the bank's real
//! half-hourly counts, checked against `tenet erlang` and the plan's own promises; and the
//! forecast's history read from the lake, by `tenet forecast history` and over HTTP.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::{UpProcess, tenet_ok};
use crate::reports::{FIXTURE, offered_in, token, two_tenants};

const BANK_COUNTS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../shared/data/anonymous_bank_1999_30min_counts.csv"
);

#[tokio::test]
async fn a_week_plan_of_the_bank_staffs_every_interval_to_its_target_and_no_further() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("plan.csv");
    let summary = tenet_ok([
        "forecast",
        "plan",
        "--history",
        &format!("bank={BANK_COUNTS}"),
        "--aht-sec",
        "200",
        "--horizon-days",
        "7",
        "--target-sl",
        "80%",
        "--target-answer-sec",
        "20",
        "--model",
        "moving-average",
        "--shrinkage-breaks",
        "0.1",
        "--out",
        out.to_str().unwrap(),
    ])
    .await;
    let summary: Value = serde_json::from_str(&summary).unwrap();
    assert_eq!(summary["days"], 7);
    assert_eq!(summary["intervals"], 7 * 48, "{summary}");

    let mut reader = csv::Reader::from_path(&out).unwrap();
    let all: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let header = reader.headers().unwrap().clone();
    // One row per queue and interval, then one `total` row per interval across queues: with
    // one queue, the totals repeat it.
    let (rows, totals): (Vec<_>, Vec<_>) = all.into_iter().partition(|row| &row[0] == "bank");
    assert_eq!(rows.len(), 7 * 48);
    assert_eq!(totals.len(), 7 * 48);
    for (row, total) in rows.iter().zip(&totals) {
        assert_eq!(&total[0], "total");
        assert_eq!(
            (&row[1], &row[5], &row[6]),
            (&total[1], &total[5], &total[6])
        );
    }
    let column = |name: &str| header.iter().position(|h| h == name).unwrap();
    let (contacts, agents, scheduled, service_level, why) = (
        column("contacts"),
        column("agents"),
        column("scheduled"),
        column("service_level"),
        column("why"),
    );

    let mut total_contacts = 0.0;
    let mut peak = 0;
    let mut checked = 0;
    for row in &rows {
        let offered: f64 = row[contacts].parse().unwrap();
        let staffed: u32 = row[agents].parse().unwrap();
        total_contacts += offered;
        peak = peak.max(staffed);
        assert!(!row[why].is_empty(), "every interval says why: {row:?}");
        // Scheduled agents cover 10 % shrinkage: ceil(agents / 0.9).
        let expected_scheduled = (f64::from(staffed) / 0.9 - 1e-9).ceil() as u32;
        assert_eq!(
            row[scheduled].parse::<u32>().unwrap(),
            expected_scheduled,
            "{row:?}"
        );
        if offered == 0.0 {
            assert_eq!(staffed, 0, "{row:?}");
            continue;
        }
        assert!(row[service_level].parse::<f64>().unwrap() >= 0.8, "{row:?}");
        // The busiest intervals, checked against `tenet erlang`: the same count, and one
        // agent fewer misses the target.
        if offered >= 40.0 && checked < 6 {
            checked += 1;
            let solve = |extra: &[&str]| {
                let calls = offered.to_string();
                let mut args = vec![
                    "erlang",
                    "--model",
                    "c",
                    "--calls",
                    &calls,
                    "--interval-min",
                    "30",
                    "--aht-sec",
                    "200",
                    "--target-answer-sec",
                    "20",
                ];
                args.extend_from_slice(extra);
                let args: Vec<String> = args.into_iter().map(str::to_owned).collect();
                async move { serde_json::from_str::<Value>(&tenet_ok(args).await).unwrap() }
            };
            let solved = solve(&["--target-sl", "0.8"]).await;
            assert_eq!(solved["agents"], staffed, "{row:?}");
            let fewer = (staffed - 1).to_string();
            let short = solve(&["--agents", &fewer]).await;
            assert!(
                short["service_level"].as_f64().is_none_or(|sl| sl < 0.8),
                "{staffed} - 1 agents would do: {short}"
            );
        }
    }
    assert_eq!(checked, 6, "the week has busy intervals");
    let expected_contacts = summary["contacts"].as_f64().unwrap();
    assert!((total_contacts - expected_contacts).abs() < 0.01 * 336.0);
    assert_eq!(summary["peak"]["agents"], peak);
}

/// The rows of a history CSV: (interval start, contacts, AHT text).
fn history_csv(path: &std::path::Path) -> Vec<(String, f64, String)> {
    let mut reader = csv::Reader::from_path(path).unwrap();
    assert_eq!(
        reader.headers().unwrap(),
        vec!["interval_start", "contacts", "aht_sec"]
    );
    reader
        .records()
        .map(|row| {
            let row = row.unwrap();
            (
                row[0].to_owned(),
                row[1].parse().unwrap(),
                row[2].to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn the_forecast_reads_each_tenants_history_from_the_lake() {
    // Arrange: tenant A holds the 300-call fixture (1–4 February 1999), tenant B its first
    // 120 calls.
    let data = tempfile::tempdir().unwrap();
    let dir = data.path();
    let (a, b, smaller) = two_tenants(dir).await;

    // Act: the history on the command line.
    let out = dir.join("history.csv");
    let summary = tenet_ok([
        "forecast",
        "history",
        "--tenant",
        &a,
        "--from",
        "1999-01-25",
        "--to",
        "1999-02-08",
        "--tz",
        "+02:00",
        "--out",
        out.to_str().unwrap(),
        "--data-dir",
        dir.to_str().unwrap(),
    ])
    .await;

    // Assert: every offered call of the file, half-hour by half-hour, on the four days that
    // had calls and no other.
    let rows = history_csv(&out);
    let summary: Value = serde_json::from_str(&summary).unwrap();
    assert_eq!(summary["rows"], rows.len(), "{summary}");
    let total: f64 = rows.iter().map(|r| r.1).sum();
    assert_eq!(total, offered_in(FIXTURE) as f64);
    let mut days: Vec<&str> = rows.iter().map(|r| &r.0[..10]).collect();
    days.dedup();
    assert_eq!(
        days,
        ["1999-02-01", "1999-02-02", "1999-02-03", "1999-02-04"]
    );
    assert!(rows.windows(2).all(|w| w[0].0 < w[1].0), "in time order");
    assert!(
        rows.iter()
            .all(|r| r.0.ends_with(":00:00") || r.0.ends_with(":30:00")),
        "{rows:?}"
    );
    assert!(
        rows.iter().any(|r| !r.2.is_empty()),
        "answered calls carry their AHT"
    );

    // The CSV is what `tenet forecast --history` reads.
    let forecast = dir.join("forecast.csv");
    let summary = tenet_ok([
        "forecast",
        "--history",
        out.to_str().unwrap(),
        "--horizon-days",
        "7",
        "--model",
        "moving-average",
        "--ma-weeks",
        "1",
        "--out",
        forecast.to_str().unwrap(),
    ])
    .await;
    let summary: Value = serde_json::from_str(&summary).unwrap();
    assert_eq!(
        (summary["first_day"].as_str(), summary["days"].as_u64()),
        (Some("1999-02-05"), Some(7)),
        "{summary}"
    );
    assert!(summary["contacts"].as_f64().unwrap() > 0.0, "{summary}");

    // Over HTTP: the same rows for A, B's own for B, refusals by name.
    let (a_planner, b_planner) = (
        token(dir, &a, "project_group_manager").await,
        token(dir, &b, "project_group_manager").await,
    );
    let operator = token(dir, &a, "operator").await;
    let up = UpProcess::start(dir).await;
    let client = reqwest::Client::new();
    let get = async |token: &str, query: &str| {
        let response = client
            .get(format!("{}/api/v1/wfm/history?{query}", up.base))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        (response.status(), response.json::<Value>().await.unwrap())
    };
    let period = "from=1999-01-25&to=1999-02-08&tz=%2B02:00";
    let (status, history) = get(&a_planner, period).await;
    assert_eq!(status, StatusCode::OK, "{history}");
    assert_eq!(history["interval_min"], 30);
    let served: Vec<(String, f64)> = history["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["interval_start"].as_str().unwrap().to_owned(),
                r["contacts"].as_f64().unwrap(),
            )
        })
        .collect();
    let written: Vec<(String, f64)> = rows.iter().map(|r| (r.0.clone(), r.1)).collect();
    assert_eq!(served, written);
    let (_, theirs) = get(&b_planner, period).await;
    let theirs: f64 = theirs["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["contacts"].as_f64().unwrap())
        .sum();
    assert_eq!(theirs, offered_in(smaller.to_str().unwrap()) as f64);
    let (_, hourly) = get(&a_planner, &format!("{period}&granularity=60min")).await;
    assert_eq!(hourly["interval_min"], 60);
    let hourly: f64 = hourly["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["contacts"].as_f64().unwrap())
        .sum();
    assert_eq!(hourly, total);
    for (query, field) in [
        (format!("{period}&granularity=day"), "granularity"),
        (format!("{period}&by=agent"), "by"),
        ("to=1999-02-08".to_owned(), "from"),
    ] {
        let (status, error) = get(&a_planner, &query).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{query}: {error}");
        assert_eq!(error["error"]["details"]["field"], field, "{error}");
    }
    let (status, _) = get(&operator, period).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // The answer's rows are the forecast endpoint's history as they are.
    let response = client
        .post(format!("{}/api/v1/wfm/forecast", up.base))
        .bearer_auth(&a_planner)
        .json(&json!({"history": history["history"], "horizon_days": 7, "model": "moving-average", "ma_weeks": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let forecast: Value = response.json().await.unwrap();
    assert_eq!(forecast["first_day"], "1999-02-05", "{forecast}");
    assert_eq!(forecast["intervals"].as_array().unwrap().len(), 7 * 48);
}

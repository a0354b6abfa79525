//! `tenet forecast` and `tenet forecast backtest` on a generated CSV history.

use std::fmt::Write as _;

use clap::Parser;
use tenet_forecast::cli::{ForecastArgs, run_forecast};

#[derive(Debug, Parser)]
struct Cli {
    #[command(flatten)]
    args: ForecastArgs,
}

/// Six weeks of half-hourly contacts, open 08:00–18:00 on weekdays only (closed hours and
/// weekends have no rows), with a missing Wednesday in week three.
fn history_csv() -> String {
    let mut csv = String::from("interval_start,contacts\n");
    let first = chrono::NaiveDate::from_ymd_opt(2024, 1, 1).unwrap(); // a Monday
    for day in 0..42 {
        let date = first + chrono::Duration::days(day);
        if day % 7 >= 5 || day == 16 {
            continue;
        }
        for slot in 16..36 {
            let contacts = 10 + (slot % 5) + (day % 7) as u32;
            let time = date.and_hms_opt(0, 0, 0).unwrap()
                + chrono::Duration::minutes(30 * i64::from(slot));
            writeln!(csv, "{},{contacts}", time.format("%Y-%m-%dT%H:%M:%S")).unwrap();
        }
    }
    csv
}

#[test]
fn forecast_writes_every_interval_of_the_following_days() {
    let dir = tempfile::tempdir().unwrap();
    let history = dir.path().join("history.csv");
    let out = dir.path().join("forecast.csv");
    std::fs::write(&history, history_csv()).unwrap();
    let cli = Cli::try_parse_from([
        "forecast",
        "--history",
        history.to_str().unwrap(),
        "--horizon-days",
        "3",
        "--out",
        out.to_str().unwrap(),
        "--model",
        "moving-average",
    ])
    .unwrap();

    let summary = run_forecast(&cli.args).unwrap();

    assert_eq!(summary["model"], "moving-average-4w");
    assert_eq!(summary["first_day"], "2024-02-10");
    let text = std::fs::read_to_string(&out).unwrap();
    let rows: Vec<&str> = text.lines().collect();
    assert_eq!(rows[0], "interval_start,contacts");
    assert_eq!(rows.len(), 1 + 3 * 48, "every half hour of three days");
    assert_eq!(rows[1], "2024-02-10T00:00:00,0.000", "Saturday: closed");
    // Monday 12 Feb 08:00: the four previous Mondays had 10 + 16 % 5 + 0 = 11 contacts.
    let monday_8am = rows
        .iter()
        .find(|r| r.starts_with("2024-02-12T08:00:00"))
        .unwrap();
    assert_eq!(*monday_8am, "2024-02-12T08:00:00,11.000");
}

#[test]
fn backtest_reports_every_model_and_origin() {
    let dir = tempfile::tempdir().unwrap();
    let history = dir.path().join("history.csv");
    std::fs::write(&history, history_csv()).unwrap();
    let cli = Cli::try_parse_from([
        "forecast",
        "backtest",
        "--history",
        history.to_str().unwrap(),
        "--origins",
        "2",
        "--models",
        "seasonal-naive,moving-average",
    ])
    .unwrap();

    let report = run_forecast(&cli.args).unwrap();

    let rows = report["per_origin"].as_array().unwrap();
    assert_eq!(rows.len(), 4);
    // The pattern repeats exactly every week, so both baselines are perfect.
    for row in rows {
        assert_eq!(row["wape"].as_f64(), Some(0.0), "{row}");
    }
    assert_eq!(report["overall"].as_array().unwrap().len(), 2);
}

/// The same weeks with an `aht_sec` column: 200 s, 260 s on Mondays.
fn history_with_aht_csv() -> String {
    let mut csv = String::from("interval_start,contacts,aht_sec\n");
    for line in history_csv().lines().skip(1) {
        let date = chrono::NaiveDate::parse_from_str(&line[..10], "%Y-%m-%d").unwrap();
        let aht = if chrono::Datelike::weekday(&date) == chrono::Weekday::Mon {
            260
        } else {
            200
        };
        writeln!(csv, "{line},{aht}").unwrap();
    }
    csv
}

#[test]
fn plan_writes_a_csv_per_queue_and_interval_with_totals_and_reasons() {
    let dir = tempfile::tempdir().unwrap();
    let sales = dir.path().join("sales.csv");
    let support = dir.path().join("support.csv");
    let out = dir.path().join("plan.csv");
    std::fs::write(&sales, history_with_aht_csv()).unwrap();
    std::fs::write(&support, history_csv()).unwrap();
    let cli = Cli::try_parse_from([
        "forecast",
        "plan",
        "--history",
        sales.to_str().unwrap(),
        "--history",
        &format!("care={}", support.to_str().unwrap()),
        "--aht-sec",
        "180",
        "--horizon-days",
        "3",
        "--target-sl",
        "80%",
        "--target-answer-sec",
        "20",
        "--model",
        "moving-average",
        "--shrinkage-breaks",
        "0.1",
        "--shrinkage-absence",
        "0.1",
        "--out",
        out.to_str().unwrap(),
    ])
    .unwrap();

    let summary = run_forecast(&cli.args).unwrap();

    assert_eq!(summary["queues"]["sales"], "moving-average-4w");
    assert_eq!(summary["queues"]["care"], "moving-average-4w");
    assert!((summary["shrinkage"].as_f64().unwrap() - 0.19).abs() < 1e-12);
    let text = std::fs::read_to_string(&out).unwrap();
    let mut csv = csv::Reader::from_reader(text.as_bytes());
    let rows: Vec<csv::StringRecord> = csv.records().map(Result::unwrap).collect();
    assert_eq!(
        rows.len(),
        3 * 3 * 48,
        "two queues and the total, three days of half hours"
    );
    // Monday 12 Feb 08:00 (the third day): sales uses its Monday AHT, care the default.
    let at = |queue: &str| {
        rows.iter()
            .find(|r| &r[0] == queue && &r[1] == "2024-02-12T08:00:00")
            .unwrap()
            .clone()
    };
    let (sales, care, total) = (at("sales"), at("care"), at("total"));
    assert_eq!(&sales[2], "11.000");
    let sales_aht: f64 = sales[3].parse().unwrap();
    assert!(sales_aht > 230.0 && sales_aht <= 260.0, "{sales_aht}");
    assert_eq!(&care[3], "180.0");
    let agents = |r: &csv::StringRecord| r[5].parse::<u32>().unwrap();
    assert_eq!(agents(&total), agents(&sales) + agents(&care));
    assert!(sales[12].contains("agents meet the service level target of 80.0 %"));
}

#[test]
fn plan_without_aht_anywhere_names_the_queue() {
    let dir = tempfile::tempdir().unwrap();
    let history = dir.path().join("care.csv");
    std::fs::write(&history, history_csv()).unwrap();
    let out = dir.path().join("plan.json");
    let cli = Cli::try_parse_from([
        "forecast",
        "plan",
        "--history",
        history.to_str().unwrap(),
        "--horizon-days",
        "1",
        "--target-sl",
        "0.8",
        "--target-answer-sec",
        "20",
        "--out",
        out.to_str().unwrap(),
    ])
    .unwrap();

    let error = run_forecast(&cli.args).unwrap_err().to_string();

    assert!(
        error.contains("queue `care`") && error.contains("--aht-sec"),
        "{error}"
    );
}

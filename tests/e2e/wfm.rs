//! Workforce planning through the binary: `tenet forecast plan` on the bank's real
//! half-hourly counts, checked against `tenet erlang` and the plan's own promises.

use serde_json::Value;

use crate::harness::tenet_ok;

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

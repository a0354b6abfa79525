//! Volume and AHT per interval from the Anonymous Bank's February 1999 calls, a backtest of
//! the AHT profile against a flat AHT, and a staffing plan for the week after.
//!
//! Offered = answered (`AGENT`) + abandoned (`HANG` after entering the queue) at their
//! `vru_exit` time; AHT = mean `ser_time` of the answered calls (the data has no after-call
//! work); `PHANTOM` calls are left out (ARCHITECTURE §7, `../shared/data/README.md`).
//!
//! `cargo run --release -p tenet-forecast --example plan_bank [-- FILE.tsv]`

use std::collections::BTreeMap;

use chrono::{NaiveDate, NaiveDateTime, NaiveTime, Timelike};
use tenet_forecast::erlang::{HandleTime, Model, Shrinkage, Targets};
use tenet_forecast::plan::{QueueDemand, ShrinkageByCategory, plan};
use tenet_forecast::volume::{
    BacktestPlan, History, HistoryRow, ModelChoice, ModelKind, SpecialDays, backtest, forecast_with,
};

const INTERVAL_MIN: u32 = 30;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args().nth(1).unwrap_or_else(|| {
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../shared/data/anonymous_bank_feb1999_calls.tsv"
        )
        .to_owned()
    });
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(b'\t')
        .from_path(&path)?;
    let header = reader.headers()?.clone();
    let col = |name: &str| {
        header
            .iter()
            .position(|h| h == name)
            .ok_or_else(|| format!("{path}: no `{name}` column"))
    };
    let (date_col, exit_col, q_start_col, outcome_col, ser_col) = (
        col("date")?,
        col("vru_exit")?,
        col("q_start")?,
        col("outcome")?,
        col("ser_time")?,
    );
    // (offered, answered, talk seconds) per interval start.
    let mut intervals: BTreeMap<NaiveDateTime, (f64, f64, f64)> = BTreeMap::new();
    for record in reader.records() {
        let record = record?;
        let date = NaiveDate::parse_from_str(&record[date_col], "%y%m%d")?;
        let time = NaiveTime::parse_from_str(&record[exit_col], "%H:%M:%S")?;
        let slot_min = (time.hour() * 60 + time.minute()) / INTERVAL_MIN * INTERVAL_MIN;
        let start = date
            .and_hms_opt(slot_min / 60, slot_min % 60, 0)
            .expect("valid");
        let entry = intervals.entry(start).or_default();
        match &record[outcome_col] {
            "AGENT" => {
                entry.0 += 1.0;
                entry.1 += 1.0;
                entry.2 += record[ser_col].parse::<f64>()?;
            }
            "HANG" if &record[q_start_col] != "0:00:00" => entry.0 += 1.0,
            _ => {}
        }
    }
    let rows: Vec<HistoryRow> = intervals
        .iter()
        .map(|(start, (offered, answered, talk))| HistoryRow {
            start: *start,
            contacts: *offered,
            aht_sec: (*answered > 0.0).then(|| talk / answered),
        })
        .collect();
    let answered: f64 = intervals.values().map(|v| v.1).sum();
    let flat_aht = intervals.values().map(|v| v.2).sum::<f64>() / answered;
    let history = History::from_rows(rows, true)?;
    println!(
        "{} days, {} intervals with calls, {answered} answered, overall AHT {flat_aht:.1} s",
        history.len_days(),
        intervals.len()
    );

    // Two weekly origins: the forecast of weeks 3 and 4 from the weeks before them.
    let two_weeks = BacktestPlan {
        origins: 2,
        horizon_days: 7,
        step_days: 7,
    };
    let special = SpecialDays::default();
    let report = backtest(
        &history,
        &special,
        &[
            ModelChoice::Fixed(ModelKind::SeasonalNaive),
            ModelChoice::Fixed(ModelKind::MovingAverage { weeks: 2 }),
        ],
        two_weeks,
    )?;
    for m in &report.overall {
        println!(
            "{:<20} volume WAPE {:.4}  MAPE {:.4}  AHT WAPE {:.4}",
            m.model,
            m.wape,
            m.mape,
            m.aht_wape.unwrap_or(f64::NAN)
        );
    }
    // The flat alternative: each origin's mean AHT of everything before it, every interval.
    let (mut abs_error, mut handle) = (0.0, 0.0);
    for origin in two_weeks.origin_days(history.len_days()) {
        let (mut c, mut h) = (0.0, 0.0);
        for d in 0..origin {
            for s in history.handled(d).unwrap_or_default() {
                c += s.contacts;
                h += s.handle_sec;
            }
        }
        let flat = h / c;
        for d in origin..origin + 7 {
            for s in history.handled(d).unwrap_or_default() {
                if s.contacts > 0.0 {
                    abs_error += (s.handle_sec - s.contacts * flat).abs();
                    handle += s.handle_sec;
                }
            }
        }
    }
    println!("flat AHT            AHT WAPE {:.4}", abs_error / handle);

    let (used, forecast) = forecast_with(
        ModelChoice::Fixed(ModelKind::MovingAverage { weeks: 4 }),
        &history,
        &special,
        7,
    )?;
    let demand = QueueDemand {
        name: "bank".into(),
        forecast,
        aht: HandleTime::from_secs(flat_aht)?,
        model: Model::ErlangC,
        targets: Targets {
            service_level: Some("80/20".parse()?),
            ..Targets::default()
        },
    };
    let shrinkage = ShrinkageByCategory {
        breaks: Some(Shrinkage::new(0.10)?),
        training: Some(Shrinkage::new(0.04)?),
        meetings: Some(Shrinkage::new(0.03)?),
        absence: Some(Shrinkage::new(0.08)?),
    };
    let staffing = plan(&[demand], &shrinkage)?;
    println!(
        "\nplan for the week from {} ({}, 80 % in 20 s, {:.1} % shrinkage): {:.0} agent-hours, {:.0} scheduled",
        staffing.totals[0].start.date(),
        used.name(),
        100.0 * staffing.shrinkage,
        staffing.agent_hours,
        staffing.scheduled_hours
    );
    let busiest = staffing.queues[0]
        .intervals
        .iter()
        .max_by_key(|i| i.scheduled)
        .expect("a week of intervals");
    println!("busiest interval {}: {}", busiest.start, busiest.why);
    Ok(())
}

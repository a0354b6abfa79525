//! `tenet schedule cover` on the published Anonymous Bank shift-cover exercise.

use std::path::PathBuf;
use std::time::Instant;

use tenet_forecast::cli::{CoverArgs, ScheduleCommand, run_schedule};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

#[test]
fn anonymous_bank_shift_cover_reaches_the_published_optimum() {
    let command = ScheduleCommand::Cover(CoverArgs {
        input: fixture("mtpa_shift_cover.json"),
    });

    let started = Instant::now();
    let out = run_schedule(&command).unwrap();
    eprintln!("mtpa shift cover solved in {:?}", started.elapsed());

    assert_eq!(out["status"], "optimal");
    assert_eq!(out["cost"].as_f64(), Some(6336.0));
    let required: Vec<u64> = serde_json::from_str::<serde_json::Value>(
        &std::fs::read_to_string(fixture("mtpa_shift_cover.json")).unwrap(),
    )
    .unwrap()["required"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    let coverage = out["coverage"].as_array().unwrap();
    assert_eq!(coverage.len(), 24);
    for (hour, (have, need)) in coverage.iter().zip(&required).enumerate() {
        assert!(have.as_u64().unwrap() >= *need, "hour {hour} under-covered");
    }
    let counts = out["counts"].as_object().unwrap();
    assert_eq!(counts.len(), 8);
}

#[test]
fn unreadable_input_names_the_file() {
    let command = ScheduleCommand::Cover(CoverArgs {
        input: fixture("does_not_exist.json"),
    });
    let err = run_schedule(&command).unwrap_err().to_string();
    assert!(err.contains("does_not_exist.json"), "{err}");
}

#[test]
fn weekly_schedule_is_solved_from_a_json_file() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("week.json");
    let mut day = vec![0u32; 24];
    for need in &mut day[9..17] {
        *need = 2;
    }
    let problem = serde_json::json!({
        "interval_min": 60,
        "required": [day.clone(), day],
        "templates": [{
            "name": "8h", "earliest_start_min": 480, "latest_start_min": 600,
            "start_step_min": 60, "length_min": 480, "cost_per_hour": 10.0,
            "breaks": []
        }],
        "operators": 5,
        "max_days_per_operator": 5,
        "max_weekly_hours": 40.0,
        "understaffing_penalty": 100.0,
        "mip_gap": 0.0
    });
    std::fs::write(&input, problem.to_string()).unwrap();

    let out = run_schedule(&ScheduleCommand::Week(tenet_forecast::cli::WeekArgs {
        input,
    }))
    .unwrap();

    assert_eq!(out["status"], "optimal");
    assert_eq!(out["understaffed_intervals"], 0);
    // Two 8-hour shifts starting at 09:00 on each of the two days.
    assert_eq!(out["shift_cost"].as_f64(), Some(4.0 * 8.0 * 10.0));
    for shift in out["shifts"].as_array().unwrap() {
        assert_eq!(shift["start_min"], 540);
        assert_eq!(shift["count"], 2);
    }
}

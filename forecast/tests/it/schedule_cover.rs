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

//! Every row of the published Erlang reference table, reproduced through `tenet erlang`'s
//! argument parsing and run function: counts exactly, probabilities and times to 1e-6
//! relative.

use clap::Parser;
use serde::Deserialize;
use tenet_forecast::cli::{ErlangArgs, ErlangReport, erlang_report};

const REFERENCE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/erlang_reference_public.csv"
);

#[derive(Debug, Parser)]
struct Cli {
    #[command(flatten)]
    args: ErlangArgs,
}

#[derive(Debug, Deserialize)]
struct Row {
    kind: String,
    case_id: String,
    calls: Option<f64>,
    interval_min: Option<f64>,
    aht_sec: Option<f64>,
    target_answer_sec: Option<f64>,
    target_sl: Option<f64>,
    max_occupancy: Option<f64>,
    shrinkage: Option<f64>,
    patience_sec: Option<f64>,
    traffic_erlangs: f64,
    agents: u32,
    agents_with_shrinkage: Option<u32>,
    prob_wait: Option<f64>,
    service_level: Option<f64>,
    asa_sec: Option<f64>,
    occupancy: Option<f64>,
    abandon_prob: Option<f64>,
    erlang_b: Option<f64>,
}

impl Row {
    fn command_line(&self) -> Vec<String> {
        let model = &self.kind[..1];
        let mut argv: Vec<String> = vec!["erlang".into(), "--model".into(), model.to_lowercase()];
        let mut push = |flag: &str, value: Option<String>| {
            if let Some(v) = value {
                argv.push(format!("--{flag}"));
                argv.push(v);
            }
        };
        match (self.calls, self.interval_min, self.aht_sec) {
            (Some(calls), Some(interval), Some(aht)) => {
                push("calls", Some(calls.to_string()));
                push("interval-min", Some(interval.to_string()));
                push("aht-sec", Some(aht.to_string()));
            }
            // Erlang B rows give the traffic only: offer A calls of one hour in an hour.
            _ => {
                push("calls", Some(self.traffic_erlangs.to_string()));
                push("interval-min", Some("60".into()));
                push("aht-sec", Some("3600".into()));
            }
        }
        push(
            "target-answer-sec",
            self.target_answer_sec.map(|v| v.to_string()),
        );
        push("target-sl", self.target_sl.map(|v| v.to_string()));
        push("max-occupancy", self.max_occupancy.map(|v| v.to_string()));
        push("shrinkage", self.shrinkage.map(|v| v.to_string()));
        push("patience-sec", self.patience_sec.map(|v| v.to_string()));
        if self.kind.ends_with("_metrics") {
            push("agents", Some(self.agents.to_string()));
        }
        argv
    }
}

fn assert_close(case: &str, field: &str, got: Option<f64>, want: Option<f64>) {
    let Some(want) = want else { return };
    let got = got.unwrap_or_else(|| panic!("{case}: {field} missing, want {want}"));
    let rel = (got - want).abs() / want.abs().max(f64::MIN_POSITIVE);
    assert!(
        rel <= 1e-6,
        "{case}: {field} = {got}, reference {want} (relative error {rel:e})"
    );
}

fn check(row: &Row, report: &ErlangReport) {
    let case = row.case_id.as_str();
    assert_eq!(report.agents, row.agents, "{case}: agents");
    if let Some(scheduled) = row.agents_with_shrinkage {
        assert_eq!(
            report.agents_with_shrinkage, scheduled,
            "{case}: agents_with_shrinkage"
        );
    }
    let fields = [
        (
            "traffic_erlangs",
            Some(report.traffic_erlangs),
            Some(row.traffic_erlangs),
        ),
        ("prob_wait", report.prob_wait, row.prob_wait),
        ("service_level", report.service_level, row.service_level),
        ("asa_sec", report.asa_sec, row.asa_sec),
        ("occupancy", Some(report.occupancy), row.occupancy),
        ("abandon_prob", report.abandon_prob, row.abandon_prob),
        ("erlang_b", Some(report.erlang_b), row.erlang_b),
    ];
    for (field, got, want) in fields {
        assert_close(case, field, got, want);
    }
}

#[test]
fn every_published_erlang_reference_row_is_reproduced() {
    let mut reader = csv::Reader::from_path(REFERENCE).expect("reference fixture");
    let rows: Vec<Row> = reader
        .deserialize()
        .collect::<Result<_, _>>()
        .expect("reference rows parse");
    assert_eq!(rows.len(), 11, "the fixture holds 11 cases");
    for row in &rows {
        let cli = Cli::try_parse_from(row.command_line())
            .unwrap_or_else(|e| panic!("{}: {e}", row.case_id));
        let report = erlang_report(&cli.args).unwrap_or_else(|e| panic!("{}: {e}", row.case_id));
        check(row, &report);
    }
}

#[test]
fn unstable_erlang_c_is_reported_as_an_error() {
    let cli = Cli::try_parse_from([
        "erlang",
        "--model",
        "c",
        "--calls",
        "100",
        "--interval-min",
        "30",
        "--aht-sec",
        "180",
        "--agents",
        "10",
    ])
    .unwrap();
    let err = erlang_report(&cli.args).unwrap_err().to_string();
    assert!(
        err.contains("unstable") && err.contains("at least 11 agents"),
        "{err}"
    );
}

#[test]
fn service_level_target_needs_both_parts_on_the_command_line() {
    let parsed = Cli::try_parse_from([
        "erlang",
        "--model",
        "c",
        "--calls",
        "100",
        "--interval-min",
        "30",
        "--aht-sec",
        "180",
        "--target-sl",
        "0.8",
    ]);
    assert!(parsed.is_err());
}

#[test]
fn json_report_has_nulls_where_the_model_has_no_figure() {
    let cli = Cli::try_parse_from([
        "erlang",
        "--model",
        "b",
        "--calls",
        "5",
        "--interval-min",
        "60",
        "--aht-sec",
        "3600",
        "--agents",
        "10",
    ])
    .unwrap();
    let json = tenet_forecast::cli::run_erlang(&cli.args).unwrap();
    assert!(json["prob_wait"].is_null());
    assert!(json["asa_sec"].is_null());
    assert_eq!(json["agents"], 10);
    let keys: Vec<&str> = json
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    for key in [
        "traffic_erlangs",
        "agents",
        "agents_with_shrinkage",
        "prob_wait",
        "service_level",
        "asa_sec",
        "occupancy",
        "abandon_prob",
        "erlang_b",
    ] {
        assert!(keys.contains(&key), "missing {key}");
    }
}

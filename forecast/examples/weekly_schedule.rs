//! Benchmark: a week for 200 operators at 15-minute intervals with three shift lengths and
//! breaks. The requirement comes from Erlang C (80/20, AHT 240 s) on a two-peaked intraday
//! profile, lighter on Friday and Saturday. Prints the solve time and the schedule's figures.
//!
//! Shifts start on a 30-minute grid; breaks and coverage are on the 15-minute grid.
//!
//! `cargo run --release -p tenet-forecast --example weekly_schedule`

use std::time::Instant;

use tenet_forecast::erlang::{HandleTime, Model, Queue, Targets, Traffic};
use tenet_forecast::schedule::weekly::{BreakRule, ShiftTemplate, WeeklyProblem};

fn calls_per_quarter_hour(day: usize, slot: usize) -> f64 {
    let hour = slot as f64 / 4.0;
    if !(7.0..22.0).contains(&hour) {
        return 0.0;
    }
    let bump = |centre: f64, width: f64| (-((hour - centre) / width).powi(2)).exp();
    let shape = 0.35 + bump(10.5, 2.0) + 0.8 * bump(15.5, 2.2);
    let day_factor = [1.0, 0.95, 0.95, 0.9, 0.85, 0.55, 0.35][day];
    180.0 * shape * day_factor
}

fn brk(length_min: u32, from: u32, to: u32, paid: bool) -> BreakRule {
    BreakRule {
        length_min,
        earliest_after_min: from,
        latest_after_min: to,
        paid,
    }
}

fn main() {
    let aht = HandleTime::from_secs(240.0).expect("valid AHT");
    let targets = Targets {
        service_level: Some("80/20".parse().expect("valid target")),
        ..Targets::default()
    };
    let required: Vec<Vec<u32>> = (0..7)
        .map(|day| {
            (0..96)
                .map(|slot| {
                    let traffic =
                        Traffic::from_volume(calls_per_quarter_hour(day, slot), 900.0, aht)
                            .expect("valid traffic");
                    let queue = Queue {
                        traffic,
                        aht,
                        model: Model::ErlangC,
                    };
                    queue.staff(&targets).expect("staffable").agents()
                })
                .collect()
        })
        .collect();
    let templates = vec![
        ShiftTemplate {
            name: "8h".into(),
            earliest_start_min: 6 * 60,
            latest_start_min: 14 * 60,
            start_step_min: 30,
            length_min: 8 * 60 + 30,
            breaks: vec![
                brk(15, 90, 150, true),
                brk(30, 210, 300, false),
                brk(15, 330, 420, true),
            ],
            cost_per_hour: 20.0,
        },
        ShiftTemplate {
            name: "6h".into(),
            earliest_start_min: 7 * 60,
            latest_start_min: 16 * 60,
            start_step_min: 30,
            length_min: 6 * 60,
            breaks: vec![brk(15, 90, 150, true), brk(15, 210, 270, true)],
            cost_per_hour: 21.0,
        },
        ShiftTemplate {
            name: "4h".into(),
            earliest_start_min: 8 * 60,
            latest_start_min: 18 * 60,
            start_step_min: 30,
            length_min: 4 * 60,
            breaks: vec![brk(15, 90, 150, true)],
            cost_per_hour: 22.0,
        },
    ];
    let problem = WeeklyProblem {
        interval_min: 15,
        required,
        templates,
        operators: 200,
        max_days_per_operator: 5,
        max_weekly_hours: 40.0,
        understaffing_penalty: 50.0,
        mip_gap: 0.02,
        time_limit_sec: Some(25.0),
    };
    let peak = problem
        .required
        .iter()
        .flatten()
        .max()
        .copied()
        .unwrap_or(0);
    let agent_hours: f64 = problem
        .required
        .iter()
        .flatten()
        .map(|&n| f64::from(n) / 4.0)
        .sum();
    println!("requirement: peak {peak} agents, {agent_hours:.0} agent-hours in the week");

    let started = Instant::now();
    let week = problem.solve().expect("solvable week");
    let elapsed = started.elapsed();

    let shifts: u32 = week.shifts.iter().map(|s| s.count).sum();
    let paid: f64 = week
        .shifts
        .iter()
        .map(|s| s.paid_hours * f64::from(s.count))
        .sum();
    println!(
        "solved in {:.2} s ({:?}): {shifts} shifts ({paid:.0} paid hours, cost {:.0}) for 200 operators, \
         {} agent-intervals short",
        elapsed.as_secs_f64(),
        week.status,
        week.shift_cost,
        week.understaffed_intervals
    );
}

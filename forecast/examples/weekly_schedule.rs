//! Benchmark: a week for 200 operators at 15-minute intervals with three shift lengths and
//! breaks. The requirement comes from Erlang C (80/20, AHT 240 s) on a two-peaked intraday
//! profile, lighter on Friday and Saturday. Prints the solve time and the schedule's figures,
//! then assigns 200 named operators (two days off each, some on vacation, 40 h contracts,
//! template preferences, 11 hours of rest between shifts) and prints that solve time too.
//!
//! Shifts and breaks start on a 30-minute grid; breaks are 15 or 30 minutes long and
//! coverage is counted per 15-minute interval.
//!
//! `cargo run --release -p tenet-forecast --example weekly_schedule`

use std::time::Instant;

use tenet_forecast::erlang::{HandleTime, Model, Queue, Targets, Traffic};
use tenet_forecast::schedule::assign::{Operator, assign};
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
        step_min: Some(30),
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
        understaffing_penalty: 200.0,
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

    let operators: Vec<Operator> = (0..200)
        .map(|i| Operator {
            name: format!("operator-{i:03}"),
            // Two consecutive days off, rotating; every 25th operator is on vacation for
            // the first three days as well.
            unavailable_days: {
                let mut off = vec![i % 7, (i + 1) % 7];
                if i % 25 == 0 {
                    off.extend([0, 1, 2]);
                }
                off
            },
            max_days: 5,
            max_hours: 40.0,
            min_hours: 0.0,
            preferred_templates: vec![["8h", "6h", "4h"][i % 3].to_owned()],
            min_rest_hours: 11.0,
        })
        .collect();
    let started = Instant::now();
    let assignment = assign(&week, &operators).expect("assignable week");
    let elapsed = started.elapsed();
    let working = assignment
        .operators
        .iter()
        .filter(|o| !o.shifts.is_empty())
        .count();
    let max_hours = assignment
        .operators
        .iter()
        .map(|o| o.paid_hours)
        .fold(0.0, f64::max);
    println!(
        "assigned in {:.2} s: {working} operators working, at most {max_hours:.1} paid hours each, \
         {} seats unfilled",
        elapsed.as_secs_f64(),
        assignment.unfilled.len()
    );
}

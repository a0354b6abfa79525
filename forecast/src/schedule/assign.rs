//! Assignment of named operators to the shifts of a weekly schedule, as an integer program:
//! every shift seat gets one operator, nobody works twice a day or on a day they are not
//! available (days off, vacation, sick leave), everybody rests at least their minimum between
//! the end of one shift and the start of the next, each operator stays within their working
//! days and weekly hours, minimum hours are met where possible, and preferred templates are
//! honoured where they cost nothing else.

use std::collections::HashMap;

use good_lp::solvers::highs::highs;
use good_lp::{Expression, ProblemVariables, ResolutionError, Solution, SolverModel, variable};
use serde::{Deserialize, Serialize};

use super::weekly::WeeklySchedule;

/// An operator's contract and availability for the week.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Operator {
    /// Name.
    pub name: String,
    /// Days (0-based, in the schedule's week) the operator cannot work: days off, vacation,
    /// sick leave.
    #[serde(default)]
    pub unavailable_days: Vec<usize>,
    /// Most days worked in the week.
    pub max_days: u32,
    /// Most paid hours in the week.
    pub max_hours: f64,
    /// Fewest paid hours in the week (soft: shortfalls are minimised, not forbidden).
    #[serde(default)]
    pub min_hours: f64,
    /// Templates the operator prefers.
    #[serde(default)]
    pub preferred_templates: Vec<String>,
    /// Fewest hours between the end of one shift and the start of the next (0: no rule).
    #[serde(default)]
    pub min_rest_hours: f64,
}

/// One operator's shift.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AssignedShift {
    /// Day, 0-based.
    pub day: usize,
    /// Template.
    pub template: String,
    /// Start, minutes after midnight.
    pub start_min: u32,
    /// Length, minutes.
    pub length_min: u32,
    /// Break starts, minutes after midnight, one per break rule.
    pub break_starts_min: Vec<u32>,
}

/// One operator's week.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OperatorWeek {
    /// Name.
    pub name: String,
    /// Shifts in day order.
    pub shifts: Vec<AssignedShift>,
    /// Paid hours.
    pub paid_hours: f64,
}

/// The assignment.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Assignment {
    /// Per operator.
    pub operators: Vec<OperatorWeek>,
    /// Shift seats nobody could take: (day, template, start).
    pub unfilled: Vec<AssignedShift>,
}

/// Penalty of a seat left empty, in preference units.
const UNFILLED_PENALTY: f64 = 1000.0;
/// Penalty of an hour under an operator's minimum.
const MIN_HOURS_PENALTY: f64 = 10.0;
/// Reward for a shift of a preferred template.
const PREFERENCE_REWARD: f64 = 1.0;

/// Assigns `operators` to the seats of `schedule`.
///
/// # Errors
///
/// [`ResolutionError`] when the solver fails (the model is always feasible: unfilled seats
/// are allowed at a penalty).
pub fn assign(
    schedule: &WeeklySchedule,
    operators: &[Operator],
) -> Result<Assignment, ResolutionError> {
    let mut vars = ProblemVariables::new();
    let mut objective = Expression::default();
    // y[o][j]: operator o takes one seat of shift kind j.
    let mut y: Vec<Vec<Option<good_lp::Variable>>> = Vec::with_capacity(operators.len());
    for op in operators {
        let row = schedule
            .shifts
            .iter()
            .map(|s| {
                (!op.unavailable_days.contains(&s.day)).then(|| {
                    let v = vars.add(variable().binary());
                    if op.preferred_templates.contains(&s.template) {
                        objective.add_mul(-PREFERENCE_REWARD, v);
                    }
                    v
                })
            })
            .collect();
        y.push(row);
    }
    let unfilled: Vec<good_lp::Variable> = schedule
        .shifts
        .iter()
        .map(|s| vars.add(variable().integer().min(0).max(f64::from(s.count))))
        .collect();
    for &u in &unfilled {
        objective.add_mul(UNFILLED_PENALTY, u);
    }
    let short: Vec<good_lp::Variable> = operators
        .iter()
        .map(|_| vars.add(variable().min(0)))
        .collect();
    for &s in &short {
        objective.add_mul(MIN_HOURS_PENALTY, s);
    }
    let mut model = vars.minimise(objective).using(highs);
    model.set_verbose(false);
    for (j, shift) in schedule.shifts.iter().enumerate() {
        let mut seats: Expression = unfilled[j].into();
        for row in &y {
            if let Some(v) = row[j] {
                seats.add_mul(1.0, v);
            }
        }
        model = model.with(seats.eq(f64::from(shift.count)));
    }
    let days = schedule.coverage.len();
    let mut cliques_by_rest: HashMap<i64, Vec<Vec<usize>>> = HashMap::new();
    for ((op, row), &s) in operators.iter().zip(&y).zip(&short) {
        let mut worked = Expression::default();
        let mut hours = Expression::default();
        let mut per_day = vec![Expression::default(); days];
        for (shift, v) in schedule.shifts.iter().zip(row) {
            if let Some(v) = *v {
                worked.add_mul(1.0, v);
                hours.add_mul(shift.paid_hours, v);
                per_day[shift.day].add_mul(1.0, v);
            }
        }
        for day in per_day {
            model = model.with(day.leq(1.0));
        }
        if op.min_rest_hours > 0.0 {
            let rest_min = (op.min_rest_hours * 60.0).round() as i64;
            let cliques = cliques_by_rest
                .entry(rest_min)
                .or_insert_with(|| rest_cliques(schedule, rest_min));
            for clique in cliques.iter() {
                let vars: Vec<good_lp::Variable> = clique.iter().filter_map(|&j| row[j]).collect();
                if vars.len() > 1 {
                    let together: Expression = vars.into_iter().sum();
                    model = model.with(together.leq(1.0));
                }
            }
        }
        model = model.with(worked.leq(f64::from(op.max_days)));
        model = model.with(hours.clone().leq(op.max_hours));
        model = model.with((hours + s).geq(op.min_hours));
    }
    let solution = model.solve()?;

    let mut next_seat = vec![0usize; schedule.shifts.len()];
    let mut weeks = Vec::with_capacity(operators.len());
    for (op, row) in operators.iter().zip(&y) {
        let mut shifts = Vec::new();
        let mut paid_hours = 0.0;
        for (j, v) in row.iter().enumerate() {
            if v.is_some_and(|v| solution.value(v) > 0.5) {
                let seat = next_seat[j];
                next_seat[j] += 1;
                paid_hours += schedule.shifts[j].paid_hours;
                shifts.push(seat_of(schedule, j, seat));
            }
        }
        shifts.sort_by_key(|s| (s.day, s.start_min));
        weeks.push(OperatorWeek {
            name: op.name.clone(),
            shifts,
            paid_hours,
        });
    }
    let mut open = Vec::new();
    for (j, shift) in schedule.shifts.iter().enumerate() {
        for seat in next_seat[j]..shift.count as usize {
            open.push(seat_of(schedule, j, seat));
        }
    }
    Ok(Assignment {
        operators: weeks,
        unfilled: open,
    })
}

/// Absolute start and end of shift `j` in minutes from the start of the week.
fn span_of(schedule: &WeeklySchedule, j: usize) -> (i64, i64) {
    let s = &schedule.shifts[j];
    let start = s.day as i64 * 1440 + i64::from(s.start_min);
    (start, start + i64::from(s.length_min))
}

/// Sets of shifts (indices into the schedule) of which one operator may work at most one,
/// because any two of them leave less than `rest_min` minutes between them.
///
/// For each day `d` and each end time `t` of a shift on `d`, the shifts of `d` that end at or
/// after `t` and the shifts of a later day that start before `t + rest` pairwise conflict
/// (shifts of one day already exclude each other), and every conflicting pair lies in the set
/// built from the earlier shift's end: these cliques state the rule exactly and more tightly
/// than one constraint per pair.
fn rest_cliques(schedule: &WeeklySchedule, rest_min: i64) -> Vec<Vec<usize>> {
    let days = schedule.shifts.iter().map(|s| s.day + 1).max().unwrap_or(0);
    let on_day =
        |day: usize| (0..schedule.shifts.len()).filter(move |&j| schedule.shifts[j].day == day);
    let mut cliques = Vec::new();
    for day in 0..days {
        let mut ends: Vec<i64> = on_day(day).map(|j| span_of(schedule, j).1).collect();
        ends.sort_unstable();
        ends.dedup();
        let Some(&latest_end) = ends.last() else {
            continue;
        };
        for later in day + 1..days {
            if later as i64 * 1440 >= latest_end + rest_min {
                break;
            }
            // From the earliest end up, the shifts of `d` ending at or after `t` shrink and
            // the later shifts starting before `t + rest` grow: a set with the same later
            // shifts as the one before it is contained in it.
            let mut previous: Option<Vec<usize>> = None;
            for &t in &ends {
                let next: Vec<usize> = on_day(later)
                    .filter(|&k| span_of(schedule, k).0 < t + rest_min)
                    .collect();
                if next.is_empty() || previous.as_ref() == Some(&next) {
                    continue;
                }
                let mut clique: Vec<usize> = on_day(day)
                    .filter(|&j| span_of(schedule, j).1 >= t)
                    .collect();
                clique.extend(&next);
                cliques.push(clique);
                previous = Some(next);
            }
        }
    }
    cliques
}

fn seat_of(schedule: &WeeklySchedule, j: usize, seat: usize) -> AssignedShift {
    let s = &schedule.shifts[j];
    AssignedShift {
        day: s.day,
        template: s.template.clone(),
        start_min: s.start_min,
        length_min: s.length_min,
        break_starts_min: s
            .break_starts_min
            .iter()
            .filter_map(|rule| rule.get(seat).copied())
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schedule::weekly::{ScheduledShift, WeeklyStatus};

    fn shift(day: usize, template: &str, start_min: u32, count: u32) -> ScheduledShift {
        ScheduledShift {
            day,
            template: template.into(),
            start_min,
            length_min: 480,
            paid_hours: 8.0,
            count,
            break_starts_min: vec![(0..count).map(|i| start_min + 120 + 15 * i).collect()],
        }
    }

    fn schedule(shifts: Vec<ScheduledShift>) -> WeeklySchedule {
        WeeklySchedule {
            status: WeeklyStatus::Optimal,
            shifts,
            coverage: vec![vec![0; 24]; 3],
            understaffed: vec![vec![0; 24]; 3],
            shift_cost: 0.0,
            understaffed_intervals: 0,
        }
    }

    fn operator(name: &str, unavailable: Vec<usize>, max_days: u32) -> Operator {
        Operator {
            name: name.into(),
            unavailable_days: unavailable,
            max_days,
            max_hours: 40.0,
            min_hours: 0.0,
            preferred_templates: vec![],
            min_rest_hours: 0.0,
        }
    }

    #[test]
    fn every_seat_is_filled_by_an_available_operator() {
        let week = schedule(vec![shift(0, "early", 480, 2), shift(1, "early", 480, 1)]);
        let ops = [operator("ann", vec![1], 5), operator("bob", vec![], 5)];
        let result = assign(&week, &ops).unwrap();
        assert!(result.unfilled.is_empty());
        let ann = &result.operators[0];
        assert_eq!(ann.shifts.len(), 1, "ann is off on day 1");
        assert_eq!(ann.shifts[0].day, 0);
        let bob = &result.operators[1];
        assert_eq!(
            bob.shifts.iter().map(|s| s.day).collect::<Vec<_>>(),
            vec![0, 1]
        );
        // The two seats of day 0 keep their distinct break plans.
        let day0_breaks: Vec<u32> = result
            .operators
            .iter()
            .flat_map(|o| o.shifts.iter().filter(|s| s.day == 0))
            .map(|s| s.break_starts_min[0])
            .collect();
        assert_eq!(day0_breaks.len(), 2);
        assert_ne!(day0_breaks[0], day0_breaks[1]);
    }

    #[test]
    fn nobody_works_beyond_their_days_and_missing_seats_are_reported() {
        let week = schedule(vec![
            shift(0, "a", 480, 1),
            shift(1, "a", 480, 1),
            shift(2, "a", 480, 1),
        ]);
        let ops = [operator("solo", vec![], 2)];
        let result = assign(&week, &ops).unwrap();
        assert_eq!(result.operators[0].shifts.len(), 2);
        assert_eq!(result.unfilled.len(), 1);
    }

    #[test]
    fn preferences_decide_between_equal_choices() {
        let week = schedule(vec![shift(0, "early", 420, 1), shift(0, "late", 720, 1)]);
        let mut late_lover = operator("lou", vec![], 5);
        late_lover.preferred_templates = vec!["late".into()];
        let ops = [operator("eve", vec![], 5), late_lover];
        let result = assign(&week, &ops).unwrap();
        assert_eq!(result.operators[1].shifts[0].template, "late");
        assert_eq!(result.operators[0].shifts[0].template, "early");
    }

    #[test]
    fn a_late_shift_is_not_followed_by_an_early_one_within_the_rest() {
        // 14:00–22:00 on day 0, then 06:00 or 09:00 on day 1: 8 or 11 hours apart.
        let week = schedule(vec![
            shift(0, "late", 840, 1),
            shift(1, "early", 360, 1),
            shift(1, "mid", 540, 1),
        ]);
        let mut rested = operator("ria", vec![], 5);
        rested.min_rest_hours = 11.0;
        let result = assign(&week, &[rested.clone()]).unwrap();
        let worked: Vec<(usize, &str)> = result.operators[0]
            .shifts
            .iter()
            .map(|s| (s.day, s.template.as_str()))
            .collect();
        assert_eq!(worked, vec![(0, "late"), (1, "mid")]);
        assert_eq!(result.unfilled.len(), 1);
        assert_eq!(result.unfilled[0].template, "early");

        // Without the rule the early seat of day 1 is as good as the mid one, and with a
        // second operator every seat is filled, the late one never before the early one.
        let mut other = operator("oli", vec![], 5);
        other.min_rest_hours = 11.0;
        let result = assign(&week, &[rested, other]).unwrap();
        assert!(result.unfilled.is_empty());
        for week in &result.operators {
            let late = week.shifts.iter().any(|s| s.template == "late");
            let early = week.shifts.iter().any(|s| s.template == "early");
            assert!(!(late && early), "{} rests 8 hours", week.name);
        }
    }

    #[test]
    fn rest_cliques_hold_exactly_the_conflicting_pairs() {
        let week = schedule(vec![
            shift(0, "a", 600, 1), // ends 18:00
            shift(0, "b", 840, 1), // ends 22:00
            shift(1, "c", 360, 1), // 06:00
            shift(1, "d", 420, 1), // 07:00
            shift(1, "e", 600, 1), // 10:00
            shift(2, "f", 360, 1), // 06:00
        ]);
        let cliques = rest_cliques(&week, 11 * 60);
        let conflict =
            |j: usize, k: usize| cliques.iter().any(|c| c.contains(&j) && c.contains(&k));
        // 18:00 → 06:00 is 12 h; 22:00 → 06:00 and 07:00 are 8 and 9 h; 22:00 → 10:00 is 12 h.
        assert!(!conflict(0, 2) && !conflict(0, 3) && !conflict(0, 4));
        assert!(conflict(1, 2) && conflict(1, 3));
        assert!(!conflict(1, 4));
        // Day 1's shifts end 14:00 to 18:00: all rest 12 h or more before 06:00 on day 2.
        assert!((2..5).all(|j| !conflict(j, 5)));
        // Every clique is a set of pairwise conflicting shifts (or shifts of one day).
        for clique in &cliques {
            for &j in clique {
                for &k in clique {
                    let (a, b) = (&week.shifts[j], &week.shifts[k]);
                    if a.day < b.day {
                        assert!(span_of(&week, k).0 - span_of(&week, j).1 < 11 * 60);
                    }
                }
            }
        }
    }
}

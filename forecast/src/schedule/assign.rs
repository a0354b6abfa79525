//! Assignment of named operators to the shifts of a weekly schedule, as an integer program:
//! every shift seat gets one operator, nobody works twice a day or on a day they are not
//! available (days off, vacation, sick leave), each operator stays within their working
//! days and weekly hours, minimum hours are met where possible, and preferred templates are
//! honoured where they cost nothing else.

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
}

//! A weekly schedule from shift templates: which shifts start when on each day, and where
//! their breaks go, so that agents present cover the requirement per interval at minimum
//! cost plus a penalty per missing agent-interval.
//!
//! The model is the implicit-break formulation of set covering (Aykin 1996): an integer
//! count per day, template and start time, and per break rule an integer count per allowed
//! break start whose sum equals the shift count. Coverage of an interval is the shifts
//! working it minus the breaks taken in it. Shifts that run past midnight continue into the
//! next day, and Sunday night wraps into Monday, so the week is a cycle. Headcount limits
//! the shifts per day, days off limit the shifts per week, and weekly hours limit paid time.

use good_lp::solvers::highs::highs;
use good_lp::{
    Expression, ProblemVariables, ResolutionError, Solution, SolutionStatus, SolverModel,
    WithInitialSolution, WithTimeLimit, variable,
};
use serde::{Deserialize, Serialize};

/// A break inside a shift, placed by the solver within its window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BreakRule {
    /// Break length in minutes.
    pub length_min: u32,
    /// Earliest break start, minutes after the shift start.
    pub earliest_after_min: u32,
    /// Latest break start, minutes after the shift start.
    pub latest_after_min: u32,
    /// Whether the break is paid (counts towards paid hours).
    #[serde(default)]
    pub paid: bool,
    /// Distance between allowed break starts, minutes (default: one interval).
    #[serde(default)]
    pub step_min: Option<u32>,
}

/// A family of shifts: the same length and breaks, starting anywhere in a window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShiftTemplate {
    /// Name, e.g. `"8h"`.
    pub name: String,
    /// Earliest start, minutes after midnight.
    pub earliest_start_min: u32,
    /// Latest start, minutes after midnight.
    pub latest_start_min: u32,
    /// Distance between allowed starts, minutes.
    pub start_step_min: u32,
    /// Length including breaks, minutes.
    pub length_min: u32,
    /// Breaks to place.
    #[serde(default)]
    pub breaks: Vec<BreakRule>,
    /// Cost of one paid hour.
    pub cost_per_hour: f64,
}

/// A weekly scheduling problem.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WeeklyProblem {
    /// Interval length in minutes (15, 30, 60).
    pub interval_min: u32,
    /// Agents required per interval, one list per day of the week.
    pub required: Vec<Vec<u32>>,
    /// Shift templates.
    pub templates: Vec<ShiftTemplate>,
    /// Operators who can be scheduled.
    pub operators: u32,
    /// Working days per operator and week (7 − days off).
    pub max_days_per_operator: u32,
    /// Paid hours per operator and week.
    pub max_weekly_hours: f64,
    /// Cost of one missing agent in one interval (soft coverage).
    pub understaffing_penalty: f64,
    /// Relative MIP gap at which the solver stops (0.0 = prove optimality).
    #[serde(default = "default_gap")]
    pub mip_gap: f64,
    /// Wall-clock limit of the solve in seconds; the best schedule found by then is
    /// returned with status `time_limit`.
    #[serde(default)]
    pub time_limit_sec: Option<f64>,
}

fn default_gap() -> f64 {
    0.005
}

/// Why a weekly problem was refused or not solved.
#[derive(Debug, thiserror::Error)]
pub enum WeeklyError {
    /// The interval length does not divide a day.
    #[error("interval of {0} min does not divide a day")]
    Interval(u32),
    /// Days of different lengths.
    #[error("day {day} has {got} intervals, expected {expected}")]
    DayLength {
        /// 1-based day.
        day: usize,
        /// Intervals given.
        got: usize,
        /// Intervals per day.
        expected: usize,
    },
    /// A template whose times are not on the interval grid or whose breaks do not fit.
    #[error("template `{name}`: {why}")]
    Template {
        /// Template name.
        name: String,
        /// What is wrong.
        why: &'static str,
    },
    /// The solver failed.
    #[error("solver error: {0}")]
    Solver(#[from] ResolutionError),
}

/// One staffed shift kind on one day, with how many agents take each break placement.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScheduledShift {
    /// Day index, 0-based.
    pub day: usize,
    /// Template name.
    pub template: String,
    /// Start, minutes after midnight.
    pub start_min: u32,
    /// Length, minutes.
    pub length_min: u32,
    /// Paid hours of one such shift.
    pub paid_hours: f64,
    /// Agents working it.
    pub count: u32,
    /// Per break rule, the break starts (minutes after midnight, possibly ≥ 1440 for the
    /// next day) of the `count` agents, one entry per agent.
    pub break_starts_min: Vec<Vec<u32>>,
}

/// How the solver stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WeeklyStatus {
    /// Proven optimal.
    Optimal,
    /// Within the requested MIP gap of the optimum.
    WithinGap,
    /// Best schedule found when the time limit ran out.
    TimeLimit,
}

/// The solved week.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WeeklySchedule {
    /// How the solver stopped.
    pub status: WeeklyStatus,
    /// Shifts with their counts.
    pub shifts: Vec<ScheduledShift>,
    /// Agents on the phones per interval, per day.
    pub coverage: Vec<Vec<u32>>,
    /// Missing agents per interval, per day.
    pub understaffed: Vec<Vec<u32>>,
    /// Paid cost of the shifts.
    pub shift_cost: f64,
    /// Agent-intervals missing in total.
    pub understaffed_intervals: u32,
}

struct Candidate {
    day: usize,
    template: usize,
    start: usize,
    length: usize,
    paid_hours: f64,
    cost: f64,
    /// Per break rule: (break length, allowed start offsets from the shift start).
    breaks: Vec<(usize, Vec<usize>)>,
}

struct Formulation {
    model: good_lp::solvers::highs::HighsProblem,
    handles: Handles,
}

/// The variables and coverage expressions of a formulation, to read a solution with.
struct Handles {
    coverage: Vec<Expression>,
    shift_vars: Vec<good_lp::Variable>,
    break_vars: Vec<Vec<Vec<good_lp::Variable>>>,
    short: Vec<good_lp::Variable>,
}

impl Handles {
    /// Rounds an LP solution up to integer shift counts, then places every break, one agent
    /// at a time, where the coverage left above the requirement is largest, and sets the
    /// shortfall variables to what remains uncovered.
    fn round_up(
        &self,
        lp: &impl Solution,
        candidates: &[Candidate],
        required: &[u32],
    ) -> Vec<(good_lp::Variable, f64)> {
        let horizon = required.len();
        let per_day = horizon / candidates.iter().map(|c| c.day + 1).max().unwrap_or(1);
        let mut values = Vec::new();
        let mut surplus: Vec<i64> = required.iter().map(|&r| -i64::from(r)).collect();
        let counts: Vec<i64> = self
            .shift_vars
            .iter()
            .map(|&x| (lp.value(x) - 1e-6).ceil().max(0.0) as i64)
            .collect();
        for ((c, &x), &count) in candidates.iter().zip(&self.shift_vars).zip(&counts) {
            values.push((x, count as f64));
            let origin = c.day * per_day + c.start;
            for s in 0..c.length {
                surplus[(origin + s) % horizon] += count;
            }
        }
        for ((c, rules), &count) in candidates.iter().zip(&self.break_vars).zip(&counts) {
            let origin = c.day * per_day + c.start;
            for (bs, (len, offsets)) in rules.iter().zip(&c.breaks) {
                let mut placed = vec![0i64; bs.len()];
                for _ in 0..count {
                    let room = |off: usize| {
                        (0..*len)
                            .map(|s| surplus[(origin + off + s) % horizon])
                            .min()
                            .unwrap_or(0)
                    };
                    let best = (0..offsets.len())
                        .max_by_key(|&i| (room(offsets[i]), std::cmp::Reverse(i)))
                        .unwrap_or(0);
                    placed[best] += 1;
                    for s in 0..*len {
                        surplus[(origin + offsets[best] + s) % horizon] -= 1;
                    }
                }
                values.extend(bs.iter().zip(&placed).map(|(&b, &n)| (b, n as f64)));
            }
        }
        for (&u, &left) in self.short.iter().zip(&surplus) {
            values.push((u, (-left).max(0) as f64));
        }
        values
    }
}

impl WeeklyProblem {
    fn formulate(
        &self,
        candidates: &[Candidate],
        days: usize,
        per_day: usize,
        required: &[u32],
        integer: bool,
        warm_start: Option<Vec<(good_lp::Variable, f64)>>,
    ) -> Formulation {
        let horizon = days * per_day;
        let count = || {
            if integer {
                variable().integer().min(0)
            } else {
                variable().min(0)
            }
        };
        let mut vars = ProblemVariables::new();
        let mut objective = Expression::default();
        let mut coverage: Vec<Expression> = vec![Expression::default(); horizon];
        let mut per_day_shifts: Vec<Expression> = vec![Expression::default(); days];
        let mut week_shifts = Expression::default();
        let mut paid_hours = Expression::default();
        let mut shift_vars = Vec::with_capacity(candidates.len());
        let mut break_vars: Vec<Vec<Vec<good_lp::Variable>>> = Vec::with_capacity(candidates.len());
        let mut links = Vec::new();
        for c in candidates {
            let x = vars.add(count());
            objective.add_mul(c.cost, x);
            per_day_shifts[c.day].add_mul(1.0, x);
            week_shifts.add_mul(1.0, x);
            paid_hours.add_mul(c.paid_hours, x);
            let origin = c.day * per_day + c.start;
            for s in 0..c.length {
                coverage[(origin + s) % horizon].add_mul(1.0, x);
            }
            let mut rules = Vec::with_capacity(c.breaks.len());
            for (len, offsets) in &c.breaks {
                let bs = vars.add_vector(count(), offsets.len());
                let mut sum = Expression::default();
                for (&b, &off) in bs.iter().zip(offsets) {
                    sum.add_mul(1.0, b);
                    for s in 0..*len {
                        coverage[(origin + off + s) % horizon].add_mul(-1.0, b);
                    }
                }
                links.push(sum.eq(x));
                rules.push(bs);
            }
            shift_vars.push(x);
            break_vars.push(rules);
        }
        let short: Vec<good_lp::Variable> = vars.add_vector(variable().min(0), horizon);
        for &u in &short {
            objective.add_mul(self.understaffing_penalty, u);
        }
        let mut model = vars.minimise(objective).using(highs);
        model.set_verbose(std::env::var_os("TENET_SOLVER_LOG").is_some());
        if integer {
            // Good incumbents, not bounds, are what takes time: more effort on heuristics.
            model = model
                .set_option("mip_heuristic_effort", 0.3)
                .set_option("mip_rel_gap", self.mip_gap);
            if let Some(limit) = self.time_limit_sec {
                model = model.with_time_limit(limit);
            }
            if let Some(values) = warm_start {
                model = model.with_initial_solution(values);
            }
        }
        for link in links {
            model = model.with(link);
        }
        for ((expr, &u), &need) in coverage.iter().zip(&short).zip(required) {
            model = model.with((expr.clone() + u).geq(f64::from(need)));
        }
        let headcount = f64::from(self.operators);
        for day in per_day_shifts {
            model = model.with(day.leq(headcount));
        }
        model = model.with(week_shifts.leq(headcount * f64::from(self.max_days_per_operator)));
        model = model.with(paid_hours.leq(headcount * self.max_weekly_hours));
        Formulation {
            model,
            handles: Handles {
                coverage,
                shift_vars,
                break_vars,
                short,
            },
        }
    }

    fn slots(&self, minutes: u32, name: &str, why: &'static str) -> Result<usize, WeeklyError> {
        if minutes.is_multiple_of(self.interval_min) {
            Ok((minutes / self.interval_min) as usize)
        } else {
            Err(WeeklyError::Template {
                name: name.to_owned(),
                why,
            })
        }
    }

    fn candidates(&self, per_day: usize) -> Result<Vec<Candidate>, WeeklyError> {
        let mut out = Vec::new();
        for (ti, t) in self.templates.iter().enumerate() {
            let first = self.slots(t.earliest_start_min, &t.name, "start off the interval grid")?;
            let last = self.slots(t.latest_start_min, &t.name, "start off the interval grid")?;
            let step = self
                .slots(
                    t.start_step_min,
                    &t.name,
                    "start step off the interval grid",
                )?
                .max(1);
            let length = self.slots(t.length_min, &t.name, "length off the interval grid")?;
            if last < first || last >= per_day || length == 0 {
                return Err(WeeklyError::Template {
                    name: t.name.clone(),
                    why: "empty start window or zero length",
                });
            }
            let mut breaks = Vec::with_capacity(t.breaks.len());
            let mut unpaid_min = 0;
            for b in &t.breaks {
                let len = self.slots(b.length_min, &t.name, "break off the interval grid")?;
                let lo = self.slots(b.earliest_after_min, &t.name, "break off the grid")?;
                let hi = self.slots(b.latest_after_min, &t.name, "break off the grid")?;
                if hi < lo || hi + len > length {
                    return Err(WeeklyError::Template {
                        name: t.name.clone(),
                        why: "break window does not fit inside the shift",
                    });
                }
                if !b.paid {
                    unpaid_min += b.length_min;
                }
                let step = match b.step_min {
                    Some(m) => self.slots(m, &t.name, "break step off the interval grid")?,
                    None => 1,
                };
                breaks.push((len, (lo..=hi).step_by(step.max(1)).collect()));
            }
            let paid_hours = f64::from(t.length_min - unpaid_min) / 60.0;
            for day in 0..self.required.len() {
                for start in (first..=last).step_by(step) {
                    out.push(Candidate {
                        day,
                        template: ti,
                        start,
                        length,
                        paid_hours,
                        cost: paid_hours * t.cost_per_hour,
                        breaks: breaks.clone(),
                    });
                }
            }
        }
        Ok(out)
    }

    /// Solves the week.
    ///
    /// # Errors
    ///
    /// [`WeeklyError`] for an inconsistent problem or a solver failure.
    pub fn solve(&self) -> Result<WeeklySchedule, WeeklyError> {
        if self.interval_min == 0 || 1440 % self.interval_min != 0 {
            return Err(WeeklyError::Interval(self.interval_min));
        }
        let per_day = (1440 / self.interval_min) as usize;
        if let Some((i, d)) = self
            .required
            .iter()
            .enumerate()
            .find(|(_, d)| d.len() != per_day)
        {
            return Err(WeeklyError::DayLength {
                day: i + 1,
                got: d.len(),
                expected: per_day,
            });
        }
        let days = self.required.len();
        let candidates = self.candidates(per_day)?;
        let required: Vec<u32> = self.required.concat();

        // The LP relaxation is tight (about 1 % under the optimum) and solves in a second or
        // two; its rounding-up is a feasible schedule (short intervals are paid for by the
        // penalty) that starts the MILP search from a good incumbent.
        let relaxed = self.formulate(&candidates, days, per_day, &required, false, None);
        let lp = relaxed.model.solve()?;
        let warm_start = relaxed.handles.round_up(&lp, &candidates, &required);
        let exact = self.formulate(
            &candidates,
            days,
            per_day,
            &required,
            true,
            Some(warm_start),
        );
        let Formulation {
            model,
            handles:
                Handles {
                    coverage,
                    shift_vars,
                    break_vars,
                    ..
                },
        } = exact;
        let solution = model.solve()?;

        let value = |v: good_lp::Variable| solution.value(v).round().max(0.0) as u32;
        let mut shifts = Vec::new();
        let mut shift_cost = 0.0;
        for ((c, &x), rules) in candidates.iter().zip(&shift_vars).zip(&break_vars) {
            let count = value(x);
            if count == 0 {
                continue;
            }
            shift_cost += c.cost * f64::from(count);
            let start_min = c.start as u32 * self.interval_min;
            let break_starts_min = rules
                .iter()
                .zip(&c.breaks)
                .map(|(bs, (_, offsets))| {
                    bs.iter()
                        .zip(offsets)
                        .flat_map(|(&b, &off)| {
                            let at = start_min + off as u32 * self.interval_min;
                            std::iter::repeat_n(at, value(b) as usize)
                        })
                        .collect()
                })
                .collect();
            shifts.push(ScheduledShift {
                day: c.day,
                template: self.templates[c.template].name.clone(),
                start_min,
                length_min: c.length as u32 * self.interval_min,
                paid_hours: c.paid_hours,
                count,
                break_starts_min,
            });
        }
        let covered: Vec<u32> = coverage
            .iter()
            .map(|e| solution.eval(e).round().max(0.0) as u32)
            .collect();
        let missing: Vec<u32> = covered
            .iter()
            .zip(&required)
            .map(|(&have, &need)| need.saturating_sub(have))
            .collect();
        let status = match solution.status() {
            SolutionStatus::Optimal if self.mip_gap == 0.0 => WeeklyStatus::Optimal,
            SolutionStatus::Optimal | SolutionStatus::GapLimit => WeeklyStatus::WithinGap,
            SolutionStatus::TimeLimit => WeeklyStatus::TimeLimit,
        };
        Ok(WeeklySchedule {
            status,
            understaffed_intervals: missing.iter().sum(),
            shifts,
            coverage: covered.chunks(per_day).map(<[u32]>::to_vec).collect(),
            understaffed: missing.chunks(per_day).map(<[u32]>::to_vec).collect(),
            shift_cost,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn template(
        name: &str,
        start: (u32, u32),
        length_min: u32,
        breaks: Vec<BreakRule>,
    ) -> ShiftTemplate {
        ShiftTemplate {
            name: name.into(),
            earliest_start_min: start.0,
            latest_start_min: start.1,
            start_step_min: 60,
            length_min,
            breaks,
            cost_per_hour: 10.0,
        }
    }

    #[test]
    fn break_is_placed_where_it_does_not_hurt_coverage() {
        // Hourly grid, one day: 2 agents needed 08–12, 1 agent at 12–13.
        let mut day = vec![0; 24];
        for need in &mut day[8..12] {
            *need = 2;
        }
        day[12] = 1;
        let problem = WeeklyProblem {
            interval_min: 60,
            required: vec![day],
            templates: vec![template(
                "5h",
                (480, 480),
                300,
                vec![BreakRule {
                    length_min: 60,
                    earliest_after_min: 60,
                    latest_after_min: 240,
                    paid: false,
                    step_min: None,
                }],
            )],
            operators: 10,
            max_days_per_operator: 5,
            max_weekly_hours: 40.0,
            understaffing_penalty: 1000.0,
            mip_gap: 0.0,
            time_limit_sec: None,
        };
        let week = problem.solve().unwrap();
        assert_eq!(week.understaffed_intervals, 0);
        // Two 5-hour shifts from 08:00; exactly one agent breaks at 12:00 and the second
        // cannot break earlier without a gap, so three shifts are needed.
        let total: u32 = week.shifts.iter().map(|s| s.count).sum();
        assert_eq!(total, 3);
        assert!(
            week.coverage[0][8..13]
                .iter()
                .zip([2, 2, 2, 2, 1])
                .all(|(&c, n)| c >= n)
        );
    }

    #[test]
    fn headcount_limit_leaves_understaffing_instead_of_failing() {
        let problem = WeeklyProblem {
            interval_min: 60,
            required: vec![vec![3; 24]],
            templates: vec![template("8h", (0, 960), 480, vec![])],
            operators: 1,
            max_days_per_operator: 5,
            max_weekly_hours: 40.0,
            understaffing_penalty: 100.0,
            mip_gap: 0.0,
            time_limit_sec: None,
        };
        let week = problem.solve().unwrap();
        assert_eq!(week.shifts.iter().map(|s| s.count).sum::<u32>(), 1);
        assert_eq!(week.understaffed_intervals, 3 * 24 - 8);
    }

    #[test]
    fn night_shift_wraps_into_the_next_day() {
        let mut monday = vec![0; 24];
        let mut tuesday = vec![0; 24];
        monday[23] = 1;
        tuesday[0] = 1;
        let problem = WeeklyProblem {
            interval_min: 60,
            required: vec![monday, tuesday],
            templates: vec![template("2h", (1380, 1380), 120, vec![])],
            operators: 5,
            max_days_per_operator: 5,
            max_weekly_hours: 40.0,
            understaffing_penalty: 100.0,
            mip_gap: 0.0,
            time_limit_sec: None,
        };
        let week = problem.solve().unwrap();
        assert_eq!(week.understaffed_intervals, 0);
        assert_eq!(week.shifts.len(), 1);
        assert_eq!(week.shifts[0].day, 0);
    }
}

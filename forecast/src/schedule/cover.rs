//! Shift cover: how many of each shift pattern to staff so that every period is covered at
//! minimum cost, as an integer program solved by HiGHS through `good_lp`.
//!
//! Input: a requirement per period, either one list (`[0, 0, 1, 4, …]`) or one list per day
//! (`[[…day 1…], […day 2…]]`), and shift patterns, each with a 0/1 cover mask and a cost.
//! A mask as long as the whole horizon is one pattern; a mask as long as one day is repeated
//! on every day, with a count per day.

use std::collections::BTreeMap;

use good_lp::solvers::highs::highs;
use good_lp::{
    Expression, ProblemVariables, ResolutionError, Solution, SolutionStatus, SolverModel, variable,
};
use serde::{Deserialize, Serialize};

/// Why a shift-cover problem was refused or could not be solved.
#[derive(Debug, thiserror::Error)]
pub enum CoverError {
    /// No periods to cover.
    #[error("the requirement has no periods")]
    EmptyRequirement,
    /// Days of different lengths in a per-day requirement.
    #[error("day {day} has {got} periods, day 1 has {expected}")]
    RaggedDays {
        /// 1-based day.
        day: usize,
        /// Its periods.
        got: usize,
        /// Periods of day 1.
        expected: usize,
    },
    /// A pattern whose mask fits neither one day nor the whole horizon.
    #[error(
        "shift `{name}` covers {got} periods; expected {per_day} (one day) or {total} (the horizon)"
    )]
    MaskLength {
        /// Shift name.
        name: String,
        /// Mask length.
        got: usize,
        /// Periods per day.
        per_day: usize,
        /// Periods in the horizon.
        total: usize,
    },
    /// A mask value other than 0 or 1.
    #[error("shift `{name}`: cover values must be 0 or 1, found {value}")]
    MaskValue {
        /// Shift name.
        name: String,
        /// The bad value.
        value: u8,
    },
    /// A negative or non-finite cost.
    #[error("shift `{name}`: cost {cost} must be a finite number ≥ 0")]
    Cost {
        /// Shift name.
        name: String,
        /// The bad cost.
        cost: f64,
    },
    /// Two patterns with one name.
    #[error("shift name `{0}` is used twice")]
    DuplicateName(String),
    /// The solver failed for a reason other than infeasibility.
    #[error("solver error: {0}")]
    Solver(#[from] ResolutionError),
}

/// The requirement as given: one list, or one list per day.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Requirement {
    /// One requirement per period.
    Flat(Vec<u32>),
    /// One list of periods per day.
    Daily(Vec<Vec<u32>>),
}

/// A shift pattern as given in the input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShiftInput {
    /// Unique name.
    pub name: String,
    /// 1 where the shift works, per period.
    pub cover: Vec<u8>,
    /// Cost of staffing one such shift.
    pub cost: f64,
}

/// The JSON input of `tenet schedule cover`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CoverInput {
    /// Agents required per period.
    pub required: Requirement,
    /// Shift patterns to choose from.
    pub shifts: Vec<ShiftInput>,
}

/// A validated shift-cover problem.
#[derive(Debug, Clone, PartialEq)]
pub struct CoverProblem {
    required: Vec<u32>,
    days: usize,
    per_day: usize,
    daily_shape: bool,
    shifts: Vec<Pattern>,
}

#[derive(Debug, Clone, PartialEq)]
struct Pattern {
    name: String,
    cost: f64,
    /// Periods worked, relative to the start of the horizon or of each day.
    periods: Vec<usize>,
    repeats_daily: bool,
}

impl TryFrom<CoverInput> for CoverProblem {
    type Error = CoverError;

    fn try_from(input: CoverInput) -> Result<Self, CoverError> {
        let (required, days, per_day, daily_shape) = match input.required {
            Requirement::Flat(v) => {
                let n = v.len();
                (v, 1, n, false)
            }
            Requirement::Daily(days) => {
                let per_day = days.first().map_or(0, Vec::len);
                if let Some((i, d)) = days.iter().enumerate().find(|(_, d)| d.len() != per_day) {
                    return Err(CoverError::RaggedDays {
                        day: i + 1,
                        got: d.len(),
                        expected: per_day,
                    });
                }
                let n = days.len();
                (days.concat(), n, per_day, true)
            }
        };
        if required.is_empty() {
            return Err(CoverError::EmptyRequirement);
        }
        let total = required.len();
        let mut seen = std::collections::HashSet::new();
        let mut shifts = Vec::with_capacity(input.shifts.len());
        for s in input.shifts {
            if !seen.insert(s.name.clone()) {
                return Err(CoverError::DuplicateName(s.name));
            }
            if !(s.cost.is_finite() && s.cost >= 0.0) {
                return Err(CoverError::Cost {
                    name: s.name,
                    cost: s.cost,
                });
            }
            if let Some(&value) = s.cover.iter().find(|&&v| v > 1) {
                return Err(CoverError::MaskValue {
                    name: s.name,
                    value,
                });
            }
            let repeats_daily = if s.cover.len() == total {
                false
            } else if s.cover.len() == per_day {
                true
            } else {
                return Err(CoverError::MaskLength {
                    name: s.name,
                    got: s.cover.len(),
                    per_day,
                    total,
                });
            };
            let periods = s
                .cover
                .iter()
                .enumerate()
                .filter(|(_, v)| **v == 1)
                .map(|(i, _)| i)
                .collect();
            shifts.push(Pattern {
                name: s.name,
                cost: s.cost,
                periods,
                repeats_daily: repeats_daily && days > 1,
            });
        }
        Ok(Self {
            required,
            days,
            per_day,
            daily_shape,
            shifts,
        })
    }
}

/// Outcome of a cover solve.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CoverStatus {
    /// Proven minimum cost.
    Optimal,
    /// Some period with a requirement is covered by no pattern.
    Infeasible,
}

/// The JSON output of `tenet schedule cover`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CoverSolution {
    /// Whether an optimum was found.
    pub status: CoverStatus,
    /// Total cost of the chosen shifts.
    pub cost: Option<f64>,
    /// Shifts staffed per pattern (summed over days for daily patterns).
    pub counts: BTreeMap<String, u32>,
    /// Shifts per pattern and day, for patterns that repeat daily.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub counts_by_day: BTreeMap<String, Vec<u32>>,
    /// Agents present per period, in the shape of the requirement.
    pub coverage: Requirement,
}

impl CoverProblem {
    /// Solves for the minimum-cost integer cover.
    ///
    /// # Errors
    ///
    /// [`CoverError::Solver`] when HiGHS fails; an infeasible problem is a
    /// [`CoverStatus::Infeasible`] solution, not an error.
    pub fn solve(&self) -> Result<CoverSolution, CoverError> {
        let mut vars = ProblemVariables::new();
        // One integer count per pattern, or per pattern and day when it repeats daily.
        let columns: Vec<Vec<good_lp::Variable>> = self
            .shifts
            .iter()
            .map(|s| {
                let copies = if s.repeats_daily { self.days } else { 1 };
                vars.add_vector(variable().integer().min(0), copies)
            })
            .collect();
        let mut objective = Expression::with_capacity(columns.len());
        let mut covering: Vec<Expression> = vec![Expression::default(); self.required.len()];
        for (shift, copies) in self.shifts.iter().zip(&columns) {
            for (day, &x) in copies.iter().enumerate() {
                objective.add_mul(shift.cost, x);
                let offset = if shift.repeats_daily {
                    day * self.per_day
                } else {
                    0
                };
                for &p in &shift.periods {
                    covering[offset + p].add_mul(1.0, x);
                }
            }
        }
        let mut model = vars.minimise(objective.clone()).using(highs);
        model.set_verbose(false);
        for (need, expr) in self.required.iter().zip(covering.iter()) {
            if *need > 0 {
                model = model.with(expr.clone().geq(f64::from(*need)));
            }
        }
        let solution = match model.solve() {
            Ok(s) => s,
            Err(ResolutionError::Infeasible) => return Ok(self.infeasible()),
            Err(e) => return Err(e.into()),
        };
        debug_assert!(matches!(solution.status(), SolutionStatus::Optimal));
        let mut counts = BTreeMap::new();
        let mut counts_by_day = BTreeMap::new();
        for (shift, copies) in self.shifts.iter().zip(&columns) {
            let values: Vec<u32> = copies
                .iter()
                .map(|&x| solution.value(x).round() as u32)
                .collect();
            counts.insert(shift.name.clone(), values.iter().sum());
            if shift.repeats_daily {
                counts_by_day.insert(shift.name.clone(), values);
            }
        }
        let coverage: Vec<u32> = covering
            .iter()
            .map(|e| solution.eval(e).round() as u32)
            .collect();
        Ok(CoverSolution {
            status: CoverStatus::Optimal,
            cost: Some(solution.eval(&objective)),
            counts,
            counts_by_day,
            coverage: self.shaped(coverage),
        })
    }

    fn infeasible(&self) -> CoverSolution {
        CoverSolution {
            status: CoverStatus::Infeasible,
            cost: None,
            counts: BTreeMap::new(),
            counts_by_day: BTreeMap::new(),
            coverage: self.shaped(vec![0; self.required.len()]),
        }
    }

    fn shaped(&self, flat: Vec<u32>) -> Requirement {
        if self.daily_shape {
            Requirement::Daily(flat.chunks(self.per_day).map(<[u32]>::to_vec).collect())
        } else {
            Requirement::Flat(flat)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shift(name: &str, cover: &[u8], cost: f64) -> ShiftInput {
        ShiftInput {
            name: name.into(),
            cover: cover.to_vec(),
            cost,
        }
    }

    #[test]
    fn cheapest_cover_prefers_the_long_shift_when_it_is_cheaper() {
        let input = CoverInput {
            required: Requirement::Flat(vec![2, 2, 2]),
            shifts: vec![
                shift("long", &[1, 1, 1], 5.0),
                shift("early", &[1, 1, 0], 3.0),
                shift("late", &[0, 0, 1], 3.0),
            ],
        };
        let solution = CoverProblem::try_from(input).unwrap().solve().unwrap();
        assert_eq!(solution.status, CoverStatus::Optimal);
        assert_eq!(solution.cost, Some(10.0));
        assert_eq!(solution.counts["long"], 2);
        assert_eq!(solution.coverage, Requirement::Flat(vec![2, 2, 2]));
    }

    #[test]
    fn uncovered_period_is_infeasible() {
        let input = CoverInput {
            required: Requirement::Flat(vec![1, 1]),
            shifts: vec![shift("first", &[1, 0], 1.0)],
        };
        let solution = CoverProblem::try_from(input).unwrap().solve().unwrap();
        assert_eq!(solution.status, CoverStatus::Infeasible);
        assert_eq!(solution.cost, None);
    }

    #[test]
    fn daily_patterns_are_counted_per_day() {
        let input = CoverInput {
            required: Requirement::Daily(vec![vec![1, 0], vec![3, 2]]),
            shifts: vec![shift("morning", &[1, 1], 1.0)],
        };
        let solution = CoverProblem::try_from(input).unwrap().solve().unwrap();
        assert_eq!(solution.counts_by_day["morning"], vec![1, 3]);
        assert_eq!(solution.counts["morning"], 4);
        assert_eq!(
            solution.coverage,
            Requirement::Daily(vec![vec![1, 1], vec![3, 3]])
        );
    }

    #[test]
    fn mask_of_wrong_length_is_refused() {
        let input = CoverInput {
            required: Requirement::Flat(vec![1, 1, 1]),
            shifts: vec![shift("short", &[1, 1], 1.0)],
        };
        assert!(matches!(
            CoverProblem::try_from(input),
            Err(CoverError::MaskLength { .. })
        ));
    }
}

//! `POST /api/v1/wfm/schedule/cover` (the JSON of `tenet schedule cover`) and
//! `POST /api/v1/wfm/schedule/week` (the JSON of `tenet schedule week`). Both solve a MILP
//! with HiGHS off the async workers; the weekly solve is held to [`MAX_WEEK_SOLVE_SEC`].

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};

use super::error::{ApiError, json_body};
use super::forecast::blocking;
use crate::schedule::cover::{CoverError, CoverInput, CoverProblem};
use crate::schedule::weekly::{WeeklyError, WeeklyProblem};

/// Most periods a cover requirement may have.
pub const MAX_COVER_PERIODS: usize = 10_080;
/// Most shift patterns of a cover problem.
pub const MAX_COVER_SHIFTS: usize = 1_000;
/// Longest weekly solve, seconds (also the default when the request sets none).
pub const MAX_WEEK_SOLVE_SEC: f64 = 60.0;
/// Most templates of a weekly problem.
pub const MAX_TEMPLATES: usize = 50;
/// Most operators of a weekly problem.
pub const MAX_OPERATORS: u32 = 10_000;

pub(super) async fn cover(headers: HeaderMap, body: Result<Bytes, BytesRejection>) -> Response {
    let answer = async {
        let input: CoverInput = json_body(&headers, body)?;
        if input.shifts.len() > MAX_COVER_SHIFTS {
            return Err(ApiError::invalid(
                "shifts",
                format!("at most {MAX_COVER_SHIFTS} shift patterns are accepted"),
            ));
        }
        let periods = match &input.required {
            crate::schedule::cover::Requirement::Flat(p) => p.len(),
            crate::schedule::cover::Requirement::Daily(d) => d.iter().map(Vec::len).sum(),
        };
        if periods > MAX_COVER_PERIODS {
            return Err(ApiError::invalid(
                "required",
                format!("{periods} periods; at most {MAX_COVER_PERIODS} are accepted"),
            ));
        }
        let problem = CoverProblem::try_from(input).map_err(cover_error)?;
        blocking(move || {
            let solution = problem.solve().map_err(cover_error)?;
            Ok(serde_json::to_value(solution).expect("the solution holds numbers and names"))
        })
        .await
    }
    .await;
    match answer {
        Ok(value) => Json(value).into_response(),
        Err(error) => error.into_response(),
    }
}

fn cover_error(error: CoverError) -> ApiError {
    let field = match &error {
        CoverError::EmptyRequirement | CoverError::RaggedDays { .. } => "required",
        CoverError::MaskLength { .. }
        | CoverError::MaskValue { .. }
        | CoverError::Cost { .. }
        | CoverError::DuplicateName(_) => "shifts",
        CoverError::Solver(_) => return ApiError::unsolvable(None, error.to_string()),
    };
    ApiError::invalid(field, error.to_string())
}

/// Checks a weekly problem against the limits of the API and sets the default time limit.
///
/// # Errors
///
/// [`ApiError`] 422 naming the first field out of range.
pub fn check_week(problem: &mut WeeklyProblem) -> Result<(), ApiError> {
    if problem.interval_min < 5 || 1440 % problem.interval_min != 0 {
        return Err(ApiError::invalid(
            "interval_min",
            format!(
                "{} min: the interval must divide a day and last at least 5 min",
                problem.interval_min
            ),
        ));
    }
    if problem.required.is_empty() || problem.required.len() > 7 {
        return Err(ApiError::invalid(
            "required",
            "one list of agents per interval for each of 1 to 7 days",
        ));
    }
    if problem.templates.is_empty() || problem.templates.len() > MAX_TEMPLATES {
        return Err(ApiError::invalid(
            "templates",
            format!("between 1 and {MAX_TEMPLATES} shift templates are accepted"),
        ));
    }
    for (i, t) in problem.templates.iter().enumerate() {
        if !(t.cost_per_hour.is_finite() && t.cost_per_hour >= 0.0) {
            return Err(ApiError::invalid(
                format!("templates[{i}].cost_per_hour"),
                "a finite cost ≥ 0",
            ));
        }
        if t.start_step_min == 0 {
            return Err(ApiError::invalid(
                format!("templates[{i}].start_step_min"),
                "the start step must be positive",
            ));
        }
    }
    if problem.operators == 0 || problem.operators > MAX_OPERATORS {
        return Err(ApiError::invalid(
            "operators",
            format!("between 1 and {MAX_OPERATORS} operators are accepted"),
        ));
    }
    if !(1..=7).contains(&problem.max_days_per_operator) {
        return Err(ApiError::invalid(
            "max_days_per_operator",
            "between 1 and 7 days",
        ));
    }
    if !(problem.max_weekly_hours.is_finite()
        && problem.max_weekly_hours > 0.0
        && problem.max_weekly_hours <= 168.0)
    {
        return Err(ApiError::invalid("max_weekly_hours", "hours in (0, 168]"));
    }
    if !(problem.understaffing_penalty.is_finite() && problem.understaffing_penalty >= 0.0) {
        return Err(ApiError::invalid(
            "understaffing_penalty",
            "a finite cost ≥ 0",
        ));
    }
    if !(0.0..=1.0).contains(&problem.mip_gap) {
        return Err(ApiError::invalid("mip_gap", "a relative gap in [0, 1]"));
    }
    match problem.time_limit_sec {
        Some(t) if !(t.is_finite() && t > 0.0) => {
            return Err(ApiError::invalid(
                "time_limit_sec",
                "a positive number of seconds",
            ));
        }
        Some(t) if t > MAX_WEEK_SOLVE_SEC => {
            return Err(ApiError::invalid(
                "time_limit_sec",
                format!("at most {MAX_WEEK_SOLVE_SEC} s"),
            ));
        }
        Some(_) => {}
        None => problem.time_limit_sec = Some(MAX_WEEK_SOLVE_SEC),
    }
    Ok(())
}

/// The refusal of a weekly problem the solver rejects or cannot solve.
pub fn week_error(error: WeeklyError) -> ApiError {
    let field = match &error {
        WeeklyError::Interval(_) => Some("interval_min"),
        WeeklyError::DayLength { .. } => Some("required"),
        WeeklyError::Template { .. } => Some("templates"),
        WeeklyError::Solver(_) => None,
    };
    match field {
        Some(field) => ApiError::invalid(field, error.to_string()),
        None => ApiError::unsolvable(None, error.to_string()),
    }
}

pub(super) async fn week(headers: HeaderMap, body: Result<Bytes, BytesRejection>) -> Response {
    let answer = async {
        let mut problem: WeeklyProblem = json_body(&headers, body)?;
        check_week(&mut problem)?;
        blocking(move || {
            let week = problem.solve().map_err(week_error)?;
            Ok::<_, ApiError>(
                serde_json::to_value(week).expect("the schedule holds numbers and names"),
            )
        })
        .await
    }
    .await;
    match answer {
        Ok(value) => Json(value).into_response(),
        Err(error) => error.into_response(),
    }
}

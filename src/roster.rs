//! `POST /api/v1/wfm/schedule/roster`: a week of shifts staffed with the tenant's employees,
//! ready to publish.
//!
//! The planner sends the weekly problem of `POST /wfm/schedule/week` with the week's first
//! day and time zone. Tenet solves how many shifts of each template start when and where
//! their breaks go, then assigns the employees HR knows: each works only on days they are
//! employed, under a contract, present in its work pattern and not on approved absence; at
//! most as many days as the pattern has and as many hours as the contract says (the contract
//! hours are also the soft minimum, less the days of absence); with at least
//! `min_rest_hours` (11 by default) between the end of one shift and the start of the next;
//! on preferred templates where that costs nothing else.
//!
//! The answer holds the solved week (coverage against the requirement per interval), every
//! employee's shifts with their breaks and the days they cannot work and why, the seats
//! nobody could take, and under `publish` the body `POST /api/v1/wfm/schedules` takes to publish
//! the roster as it is.

use std::collections::{BTreeMap, BTreeSet};

use axum::body::Bytes;
use axum::extract::DefaultBodyLimit;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Extension, Json, Router};
use chrono::{Datelike as _, Duration, NaiveDate, NaiveDateTime, Weekday};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use tenet_events::Actor;
use tenet_events::schedules::ActivityKind;
use tenet_forecast::routes::ApiError as WfmError;
use tenet_forecast::routes::error::json_body;
use tenet_forecast::routes::forecast::blocking;
use tenet_forecast::routes::schedule::{MAX_OPERATORS, check_week, week_error};
use tenet_forecast::schedule::assign::{AssignedShift, Operator, assign};
use tenet_forecast::schedule::weekly::{ShiftTemplate, WeeklyProblem, WeeklySchedule};
use tenet_ops_api::Database;
use tenet_ops_api::hr::Employee;
use tenet_ops_api::rbac::{Action, authorize};
use uuid::Uuid;

use crate::staff::{Staff, absence_kind, pattern_day};

/// Rest between shifts unless the request says otherwise, hours (the EU working-time rule).
pub const DEFAULT_MIN_REST_HOURS: f64 = 11.0;
/// Most characters of an agent id.
const MAX_AGENT_ID: usize = 100;
const WEEKDAYS: [Weekday; 7] = [
    Weekday::Mon,
    Weekday::Tue,
    Weekday::Wed,
    Weekday::Thu,
    Weekday::Fri,
    Weekday::Sat,
    Weekday::Sun,
];

/// The `/schedule/roster` route, relative to `/api/v1/wfm`; it expects an authenticated
/// [`Actor`] allowed to plan the workforce.
pub fn router(database: Database) -> Router {
    Router::new()
        .route("/schedule/roster", post(roster))
        .layer(DefaultBodyLimit::max(
            tenet_forecast::routes::MAX_BODY_BYTES,
        ))
        .with_state(database)
}

/// An employee to staff the week with, and how.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RosterEmployee {
    /// The employee.
    pub employee_id: Uuid,
    /// How the agent-state events name them (a PBX login); by default their user id, or
    /// their employee id when they have no user.
    #[serde(default)]
    pub agent_id: Option<String>,
    /// Templates they prefer.
    #[serde(default)]
    pub preferred_templates: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RosterBody {
    week_start: NaiveDate,
    time_zone: String,
    problem: WeeklyProblem,
    #[serde(default)]
    employees: Option<Vec<RosterEmployee>>,
    #[serde(default)]
    department_id: Option<Uuid>,
    #[serde(default)]
    min_rest_hours: Option<f64>,
}

/// A break, lunch or other activity inside a shift, in local times.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RosterActivity {
    /// `break` or `lunch` (an unpaid break of 30 minutes or more).
    pub kind: ActivityKind,
    /// Local start, `YYYY-MM-DDTHH:MM`.
    pub start: String,
    /// Local end.
    pub end: String,
}

/// One shift, in local times.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RosterShift {
    /// The day it starts on.
    pub date: NaiveDate,
    /// Its template.
    pub template: String,
    /// Local start, `YYYY-MM-DDTHH:MM`.
    pub start: String,
    /// Local end.
    pub end: String,
    /// Its breaks.
    pub activities: Vec<RosterActivity>,
}

/// A day an employee cannot work, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Unavailable {
    /// The day.
    pub date: NaiveDate,
    /// `not_employed`, `no_contract`, `not_in_work_pattern`, or the approved absence's kind
    /// (`vacation`, `sick_leave`, `day_off`, `unpaid_leave`).
    pub reason: String,
}

/// One employee's week.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EmployeeWeek {
    /// The employee.
    pub employee_id: Uuid,
    /// Their name.
    pub full_name: String,
    /// Their agent id in the published schedule.
    pub agent_id: String,
    /// The user they sign in as.
    pub user_id: Option<Uuid>,
    /// Their contract's hours a week.
    pub contract_hours: f64,
    /// Paid hours rostered.
    pub paid_hours: f64,
    /// Their shifts, in order.
    pub shifts: Vec<RosterShift>,
    /// The days they cannot work.
    pub unavailable: Vec<Unavailable>,
}

/// A shift of the publish body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PublishShift {
    /// The agent.
    pub agent_id: String,
    /// Their user.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_id: Option<Uuid>,
    /// Local start.
    pub start: String,
    /// Local end.
    pub end: String,
    /// Breaks and lunches.
    pub activities: Vec<PublishActivity>,
}

/// An activity of the publish body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PublishActivity {
    /// Its kind.
    pub kind: ActivityKind,
    /// Local start.
    pub start: String,
    /// Local end.
    pub end: String,
}

/// The body of `POST /api/v1/wfm/schedules` for the roster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PublishBody {
    /// The week's first day.
    pub week_start: NaiveDate,
    /// Its time zone.
    pub time_zone: String,
    /// Every rostered shift.
    pub shifts: Vec<PublishShift>,
}

/// The answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Roster {
    /// The solved week: shift counts, coverage and shortfall per interval.
    pub week: WeeklySchedule,
    /// Every employee considered, with their shifts.
    pub employees: Vec<EmployeeWeek>,
    /// Seats of the week nobody could take.
    pub unfilled: Vec<RosterShift>,
    /// What `POST /api/v1/wfm/schedules` takes to publish the roster.
    pub publish: PublishBody,
}

async fn roster(
    State(database): State<Database>,
    Extension(actor): Extension<Actor>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    // Contracts and absences are HR records: planning needs the right to read them.
    if let Err(error) = authorize(&actor, Action::HrRead) {
        return error.into_response();
    }
    let body: RosterBody = match json_body(&headers, body) {
        Ok(body) => body,
        Err(error) => return error.into_response(),
    };
    let request = match Request::check(body) {
        Ok(request) => request,
        Err(error) => return error.into_response(),
    };
    let last = request.week_start + Duration::days(request.problem.required.len() as i64 - 1);
    let staff = match Staff::load(&database, actor.tenant_id, request.week_start, last, None).await
    {
        Ok(staff) => staff,
        Err(error) => return tenet_ops_api::ApiError::from(error).into_response(),
    };
    match staff_week(request, &staff).await {
        Ok(roster) => Json(roster).into_response(),
        Err(error) => error.into_response(),
    }
}

/// A checked request.
struct Request {
    week_start: NaiveDate,
    time_zone: String,
    problem: WeeklyProblem,
    employees: Option<Vec<RosterEmployee>>,
    department_id: Option<Uuid>,
    min_rest_hours: f64,
}

impl Request {
    fn check(body: RosterBody) -> Result<Self, WfmError> {
        let mut problem = body.problem;
        check_week(&mut problem).map_err(|error| error.within("problem"))?;
        if body.time_zone.parse::<Tz>().is_err() {
            return Err(WfmError::invalid(
                "time_zone",
                format!(
                    "`{}` is not an IANA time zone such as Europe/Berlin",
                    body.time_zone
                ),
            ));
        }
        let min_rest_hours = body.min_rest_hours.unwrap_or(DEFAULT_MIN_REST_HOURS);
        if !(0.0..=48.0).contains(&min_rest_hours) {
            return Err(WfmError::invalid(
                "min_rest_hours",
                "hours of rest between 0 and 48",
            ));
        }
        if let Some(employees) = &body.employees {
            if employees.is_empty() || employees.len() > MAX_OPERATORS as usize {
                return Err(WfmError::invalid(
                    "employees",
                    format!("between 1 and {MAX_OPERATORS} employees, or none to take everyone"),
                ));
            }
            let templates: BTreeSet<&str> =
                problem.templates.iter().map(|t| t.name.as_str()).collect();
            let mut seen = BTreeSet::new();
            for (i, employee) in employees.iter().enumerate() {
                if !seen.insert(employee.employee_id) {
                    return Err(WfmError::invalid(
                        format!("employees[{i}].employee_id"),
                        "the employee is listed twice",
                    ));
                }
                if let Some(agent) = &employee.agent_id
                    && (agent.trim().is_empty()
                        || agent.chars().count() > MAX_AGENT_ID
                        || agent.chars().any(char::is_control))
                {
                    return Err(WfmError::invalid(
                        format!("employees[{i}].agent_id"),
                        format!("1 to {MAX_AGENT_ID} printable characters"),
                    ));
                }
                if let Some(t) = employee
                    .preferred_templates
                    .iter()
                    .position(|name| !templates.contains(name.as_str()))
                {
                    return Err(WfmError::invalid(
                        format!("employees[{i}].preferred_templates[{t}]"),
                        format!(
                            "`{}` is not a template of the problem",
                            employee.preferred_templates[t]
                        ),
                    ));
                }
            }
        }
        Ok(Self {
            week_start: body.week_start,
            time_zone: body.time_zone,
            problem,
            employees: body.employees,
            department_id: body.department_id,
            min_rest_hours,
        })
    }
}

/// One employee as the assignment sees them.
struct Candidate<'a> {
    employee: &'a Employee,
    agent_id: String,
    contract_hours: f64,
    unavailable: Vec<Unavailable>,
    operator: Operator,
}

/// The employees who can be staffed, in the order asked (or by id).
fn candidates<'a>(request: &Request, staff: &'a Staff) -> Result<Vec<Candidate<'a>>, WfmError> {
    let days = request.problem.required.len();
    let dates: Vec<NaiveDate> = (0..days)
        .map(|d| request.week_start + Duration::days(d as i64))
        .collect();
    let by_id: BTreeMap<Uuid, &Employee> = staff.employees.iter().map(|e| (e.id, e)).collect();
    let chosen: Vec<(&Employee, Option<&RosterEmployee>)> = match &request.employees {
        Some(listed) => listed
            .iter()
            .enumerate()
            .map(|(i, wanted)| {
                by_id
                    .get(&wanted.employee_id)
                    .map(|&employee| (employee, Some(wanted)))
                    .ok_or_else(|| {
                        WfmError::invalid(
                            format!("employees[{i}].employee_id"),
                            "no such employee in this tenant",
                        )
                    })
            })
            .collect::<Result<_, _>>()?,
        None => staff
            .employees
            .iter()
            .filter(|e| {
                request
                    .department_id
                    .is_none_or(|d| e.department_id == Some(d))
            })
            .filter(|e| {
                dates
                    .iter()
                    .any(|&date| Staff::employed(e, date) && staff.contract(e.id, date).is_some())
            })
            .map(|e| (e, None))
            .collect(),
    };
    let mut candidates = Vec::with_capacity(chosen.len());
    for (employee, wanted) in chosen {
        let mut unavailable = Vec::new();
        let mut contract_hours = None;
        let mut pattern_days = None;
        for &date in &dates {
            let reason = if !Staff::employed(employee, date) {
                Some("not_employed".to_owned())
            } else if let Some(contract) = staff.contract(employee.id, date) {
                contract_hours.get_or_insert(contract.hours_per_week);
                let pattern = &contract.work_pattern;
                let worked = WEEKDAYS
                    .iter()
                    .filter(|&&w| !pattern_day(pattern, w).is_empty())
                    .count() as u32;
                pattern_days.get_or_insert(worked);
                if worked > 0 && pattern_day(pattern, date.weekday()).is_empty() {
                    Some("not_in_work_pattern".to_owned())
                } else {
                    staff
                        .absence(employee.id, date)
                        .map(|absence| absence_kind(absence.kind))
                }
            } else {
                Some("no_contract".to_owned())
            };
            if let Some(reason) = reason {
                unavailable.push(Unavailable { date, reason });
            }
        }
        let contract_hours = contract_hours.unwrap_or(0.0);
        let max_days = match pattern_days {
            Some(worked) if worked > 0 => worked,
            _ => request.problem.max_days_per_operator,
        };
        let available = (days - unavailable.len()) as u32;
        // The contract's hours are owed on the pattern's days: absences lower the minimum.
        let min_hours =
            contract_hours * f64::from(available.min(max_days)) / f64::from(max_days.max(1));
        let agent_id = wanted
            .and_then(|w| w.agent_id.clone())
            .or_else(|| employee.user_id.map(|u| u.to_string()))
            .unwrap_or_else(|| employee.id.to_string());
        let unavailable_days = unavailable
            .iter()
            .map(|u| (u.date - request.week_start).num_days() as usize)
            .collect();
        candidates.push(Candidate {
            employee,
            operator: Operator {
                name: agent_id.clone(),
                unavailable_days,
                max_days,
                max_hours: contract_hours,
                min_hours,
                preferred_templates: wanted
                    .map(|w| w.preferred_templates.clone())
                    .unwrap_or_default(),
                min_rest_hours: request.min_rest_hours,
            },
            agent_id,
            contract_hours,
            unavailable,
        });
    }
    Ok(candidates)
}

async fn staff_week(request: Request, staff: &Staff) -> Result<Roster, WfmError> {
    let candidates = candidates(&request, staff)?;
    if candidates
        .iter()
        .all(|c| c.unavailable.len() == request.problem.required.len())
    {
        return Err(WfmError::unsolvable(
            Some("employees"),
            "no employee can work this week: nobody is employed under a contract on any of its days",
        ));
    }
    let mut problem = request.problem.clone();
    problem.operators = problem.operators.min(candidates.len() as u32);
    let operators: Vec<Operator> = candidates.iter().map(|c| c.operator.clone()).collect();
    let (week, assignment) = blocking(move || {
        let week = problem
            .solve()
            .map_err(|error| week_error(error).within("problem"))?;
        let assignment = assign(&week, &operators)
            .map_err(|error| WfmError::unsolvable(None, error.to_string()))?;
        Ok::<_, WfmError>((week, assignment))
    })
    .await?;
    let local = Local {
        week_start: request.week_start,
        templates: &request.problem.templates,
    };
    let mut employees = Vec::with_capacity(candidates.len());
    let mut publish = Vec::new();
    for (candidate, worked) in candidates.into_iter().zip(assignment.operators) {
        let shifts: Vec<RosterShift> = worked.shifts.iter().map(|s| local.shift(s)).collect();
        for shift in &shifts {
            publish.push(PublishShift {
                agent_id: candidate.agent_id.clone(),
                user_id: candidate.employee.user_id,
                start: shift.start.clone(),
                end: shift.end.clone(),
                activities: shift
                    .activities
                    .iter()
                    .map(|a| PublishActivity {
                        kind: a.kind,
                        start: a.start.clone(),
                        end: a.end.clone(),
                    })
                    .collect(),
            });
        }
        employees.push(EmployeeWeek {
            employee_id: candidate.employee.id,
            full_name: candidate.employee.full_name.clone(),
            agent_id: candidate.agent_id,
            user_id: candidate.employee.user_id,
            contract_hours: candidate.contract_hours,
            paid_hours: worked.paid_hours,
            shifts,
            unavailable: candidate.unavailable,
        });
    }
    let unfilled = assignment.unfilled.iter().map(|s| local.shift(s)).collect();
    Ok(Roster {
        week,
        employees,
        unfilled,
        publish: PublishBody {
            week_start: request.week_start,
            time_zone: request.time_zone,
            shifts: publish,
        },
    })
}

/// Turns week-relative minutes into local times.
struct Local<'a> {
    week_start: NaiveDate,
    templates: &'a [ShiftTemplate],
}

impl Local<'_> {
    fn at(&self, day: usize, minutes: u32) -> NaiveDateTime {
        self.week_start.and_time(chrono::NaiveTime::MIN)
            + Duration::days(day as i64)
            + Duration::minutes(i64::from(minutes))
    }

    fn text(at: NaiveDateTime) -> String {
        at.format("%Y-%m-%dT%H:%M").to_string()
    }

    fn shift(&self, shift: &AssignedShift) -> RosterShift {
        let start = self.at(shift.day, shift.start_min);
        let rules = self
            .templates
            .iter()
            .find(|t| t.name == shift.template)
            .map_or(&[][..], |t| t.breaks.as_slice());
        let mut activities: Vec<RosterActivity> = rules
            .iter()
            .zip(&shift.break_starts_min)
            .map(|(rule, &at)| {
                let begins = self.at(shift.day, at);
                RosterActivity {
                    kind: if !rule.paid && rule.length_min >= 30 {
                        ActivityKind::Lunch
                    } else {
                        ActivityKind::Break
                    },
                    start: Self::text(begins),
                    end: Self::text(begins + Duration::minutes(i64::from(rule.length_min))),
                }
            })
            .collect();
        activities.sort_by(|a, b| a.start.cmp(&b.start));
        RosterShift {
            date: start.date(),
            template: shift.template.clone(),
            start: Self::text(start),
            end: Self::text(start + Duration::minutes(i64::from(shift.length_min))),
            activities,
        }
    }
}

//! Working-time compliance: each employee's scheduled presence (their contract's weekly work
//! pattern, less approved absences) against their actual presence (badge swipes from access
//! control, read from the lake), day by day, and the monthly timesheet that totals it.
//!
//! A day's status says what HR needs to act on: `present`, `late`, `left_early`,
//! `late_and_left_early`, `absent_without_reason` (scheduled, no approved absence, no swipe),
//! `on_absence` (approved vacation, sick leave...), `not_scheduled`, or `worked_unscheduled`
//! (swipes on a day without scheduled hours). Presence is the sum of in → out pairs; a late
//! arrival or early leave counts beyond a grace period (5 minutes by default).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use crate::staff::{Staff, absence_kind};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json, Router, routing::get};
use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde::Serialize;
use tenet_events::Actor;
use tenet_lakehouse::LakeReader;
use tenet_lakehouse::deltalake::arrow::array::{Array, AsArray};
use tenet_lakehouse::deltalake::arrow::compute::cast;
use tenet_lakehouse::deltalake::arrow::datatypes::{DataType, TimestampMicrosecondType};
use tenet_ops_api::rbac::{Action, authorize};
use tenet_ops_api::routes::query::{date, known_params, uuid};
use tenet_ops_api::{ApiError, Database};
use uuid::Uuid;

/// The longest period one attendance request covers, in days.
pub const MAX_DAYS: i64 = 62;

/// What the routes need.
#[derive(Clone)]
pub struct AttendanceState {
    /// The HR records.
    pub database: Database,
    /// The badge swipes.
    pub reader: Arc<LakeReader>,
}

/// The `/hr/attendance` and `/hr/timesheet` routes, relative to `/api/v1`; they expect an
/// authenticated [`Actor`].
pub fn router(state: AttendanceState) -> Router {
    Router::new()
        .route("/hr/attendance", get(attendance))
        .route("/hr/timesheet", get(timesheet))
        .with_state(state)
}

/// In or out of the premises.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Entering.
    In,
    /// Leaving.
    Out,
}

/// A badge swipe at a local time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Swipe {
    /// When, local.
    pub at: NaiveDateTime,
    /// Which way.
    pub direction: Direction,
}

/// What one employee was to do on one day.
#[derive(Debug, Clone, Default)]
pub struct DayPlan {
    /// Scheduled intervals, minutes from local midnight, sorted.
    pub scheduled: Vec<(u32, u32)>,
    /// The kind of an approved absence covering the day.
    pub absence: Option<String>,
}

/// One employee's day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Day {
    /// The employee.
    pub employee_id: Uuid,
    /// Their name.
    pub full_name: String,
    /// The local date.
    pub date: NaiveDate,
    /// Scheduled start, `HH:MM`.
    pub scheduled_from: Option<String>,
    /// Scheduled end, `HH:MM`.
    pub scheduled_to: Option<String>,
    /// Scheduled minutes.
    pub scheduled_minutes: i64,
    /// The approved absence of the day.
    pub absence: Option<String>,
    /// First entry, `HH:MM`.
    pub first_in: Option<String>,
    /// Last exit, `HH:MM`.
    pub last_out: Option<String>,
    /// Minutes present (in → out pairs).
    pub present_minutes: i64,
    /// Minutes late beyond the grace period.
    pub late_minutes: i64,
    /// Minutes left early beyond the grace period.
    pub early_leave_minutes: i64,
    /// What the day comes to.
    pub status: &'static str,
}

fn hhmm(minutes: u32) -> String {
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

fn minute_of(at: NaiveDateTime) -> i64 {
    use chrono::Timelike;
    i64::from(at.hour() * 60 + at.minute())
}

/// What a day's swipes come to against its plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assessment {
    /// First entry, `HH:MM`.
    pub first_in: Option<String>,
    /// Last exit, `HH:MM`.
    pub last_out: Option<String>,
    /// Minutes present.
    pub present: i64,
    /// Minutes late beyond the grace period.
    pub late: i64,
    /// Minutes left early beyond the grace period.
    pub early: i64,
    /// The day's status.
    pub status: &'static str,
}

/// Compares `plan` with the day's `swipes` (local, sorted), counting lateness and early
/// leave beyond `grace` minutes.
pub fn assess(plan: &DayPlan, swipes: &[Swipe], grace: i64) -> Assessment {
    let first_in = swipes
        .iter()
        .find(|s| s.direction == Direction::In)
        .map(|s| s.at);
    let last_out = swipes
        .iter()
        .rev()
        .find(|s| s.direction == Direction::Out)
        .map(|s| s.at);
    let mut present = 0;
    let mut entered: Option<NaiveDateTime> = None;
    for swipe in swipes {
        match (swipe.direction, entered) {
            (Direction::In, None) => entered = Some(swipe.at),
            (Direction::Out, Some(since)) => {
                present += (swipe.at - since).num_minutes();
                entered = None;
            }
            // A second entry without an exit, or an exit without an entry: the reader missed
            // one; the pair around it is not counted.
            (Direction::In, Some(_)) => entered = Some(swipe.at),
            (Direction::Out, None) => {}
        }
    }
    let start = plan.scheduled.first().map(|&(from, _)| i64::from(from));
    let end = plan.scheduled.last().map(|&(_, to)| i64::from(to));
    let late = match (start, first_in) {
        (Some(start), Some(first)) if minute_of(first) - start > grace => minute_of(first) - start,
        _ => 0,
    };
    let early = match (end, last_out) {
        (Some(end), Some(last)) if end - minute_of(last) > grace => end - minute_of(last),
        _ => 0,
    };
    let status = match (&plan.absence, plan.scheduled.is_empty(), swipes.is_empty()) {
        (Some(_), _, _) => "on_absence",
        (None, true, true) => "not_scheduled",
        (None, true, false) => "worked_unscheduled",
        (None, false, true) => "absent_without_reason",
        (None, false, false) => match (late > 0, early > 0) {
            (false, false) => "present",
            (true, false) => "late",
            (false, true) => "left_early",
            (true, true) => "late_and_left_early",
        },
    };
    let time = |at: Option<NaiveDateTime>| at.map(|at| at.format("%H:%M").to_string());
    Assessment {
        first_in: time(first_in),
        last_out: time(last_out),
        present,
        late,
        early,
        status,
    }
}

/// The request's period, zone and options.
struct Period {
    first: NaiveDate,
    last: NaiveDate,
    zone: Tz,
    employee: Option<Uuid>,
    grace: i64,
    csv: bool,
}

fn options(
    params: &HashMap<String, String>,
    first: NaiveDate,
    last: NaiveDate,
) -> Result<Period, ApiError> {
    if last < first {
        return Err(ApiError::invalid_field("to", "to must not be before from"));
    }
    if (last - first).num_days() >= MAX_DAYS {
        return Err(ApiError::invalid_field(
            "to",
            format!("a request covers at most {MAX_DAYS} days"),
        ));
    }
    let zone = match params.get("tz") {
        None => Tz::UTC,
        Some(name) => name.parse::<Tz>().map_err(|_| {
            ApiError::invalid_field("tz", "tz must be an IANA time zone such as Europe/Moscow")
        })?,
    };
    let employee = uuid(params, "employee_id")?;
    let grace = match params.get("grace_min") {
        None => 5,
        Some(value) => value
            .parse::<i64>()
            .ok()
            .filter(|grace| (0..=120).contains(grace))
            .ok_or_else(|| ApiError::invalid_field("grace_min", "grace_min must be 0 to 120"))?,
    };
    let csv = match params.get("format").map(String::as_str) {
        None | Some("json") => false,
        Some("csv") => true,
        Some(_) => {
            return Err(ApiError::invalid_field(
                "format",
                "format must be json or csv",
            ));
        }
    };
    Ok(Period {
        first,
        last,
        zone,
        employee,
        grace,
        csv,
    })
}

/// Every employee's days of `period`.
async fn days(
    state: &AttendanceState,
    actor: &Actor,
    period: &Period,
) -> Result<Vec<Day>, ApiError> {
    let staff = Staff::load(
        &state.database,
        actor.tenant_id,
        period.first,
        period.last,
        period.employee,
    )
    .await?;
    let swipes = swipes(state, actor, period).await?;
    let mut days = Vec::new();
    for employee in &staff.employees {
        let own: Vec<Swipe> = employee
            .badge_id
            .as_ref()
            .and_then(|badge| swipes.get(badge))
            .cloned()
            .unwrap_or_default();
        let mut date = period.first;
        while date <= period.last {
            let plan = DayPlan {
                scheduled: staff.scheduled(employee, date),
                absence: staff
                    .absence(employee.id, date)
                    .map(|absence| absence_kind(absence.kind)),
            };
            let today: Vec<Swipe> = own
                .iter()
                .copied()
                .filter(|s| s.at.date() == date)
                .collect();
            let assessment = assess(&plan, &today, period.grace);
            days.push(Day {
                employee_id: employee.id,
                full_name: employee.full_name.clone(),
                date,
                scheduled_from: plan.scheduled.first().map(|&(from, _)| hhmm(from)),
                scheduled_to: plan.scheduled.last().map(|&(_, to)| hhmm(to)),
                scheduled_minutes: plan
                    .scheduled
                    .iter()
                    .map(|&(from, to)| i64::from(to - from))
                    .sum(),
                absence: plan.absence,
                first_in: assessment.first_in,
                last_out: assessment.last_out,
                present_minutes: assessment.present,
                late_minutes: assessment.late,
                early_leave_minutes: assessment.early,
                status: assessment.status,
            });
            date = date.succ_opt().unwrap_or(date + Duration::days(1));
        }
    }
    Ok(days)
}

/// The tenant's badge swipes of `period`, by badge, in local time, sorted.
async fn swipes(
    state: &AttendanceState,
    actor: &Actor,
    period: &Period,
) -> Result<HashMap<String, Vec<Swipe>>, ApiError> {
    let unavailable = |error: &dyn std::fmt::Display| {
        ApiError::Unavailable(format!("the attendance records cannot be read: {error}"))
    };
    // A day before and after: local days of far-off zones straddle UTC dates. The dates are
    // formatted from parsed values, never from request text.
    let sql = format!(
        "select badge_id, direction, occurred_at from attendance \
         where event_date >= date '{}' and event_date <= date '{}'",
        period.first - Duration::days(1),
        period.last + Duration::days(1)
    );
    let batches = crate::reports::tenant_rows(
        &state.reader,
        actor.tenant_id,
        &sql,
        "the attendance records",
    )
    .await?;
    let mut by_badge: HashMap<String, Vec<Swipe>> = HashMap::new();
    for batch in batches {
        let text = |index: usize| {
            cast(batch.column(index), &DataType::Utf8).map_err(|error| unavailable(&error))
        };
        let badges = text(0)?;
        let directions = text(1)?;
        let (badges, directions) = (badges.as_string::<i32>(), directions.as_string::<i32>());
        let times = batch.column(2).as_primitive::<TimestampMicrosecondType>();
        for row in 0..batch.num_rows() {
            if badges.is_null(row) || times.is_null(row) {
                continue;
            }
            let Some(at) = DateTime::<Utc>::from_timestamp_micros(times.value(row)) else {
                continue;
            };
            let direction = if directions.value(row) == "in" {
                Direction::In
            } else {
                Direction::Out
            };
            by_badge
                .entry(badges.value(row).to_owned())
                .or_default()
                .push(Swipe {
                    at: period.zone.from_utc_datetime(&at.naive_utc()).naive_local(),
                    direction,
                });
        }
    }
    for swipes in by_badge.values_mut() {
        swipes.sort_by_key(|swipe| swipe.at);
    }
    Ok(by_badge)
}

fn csv_response<T: Serialize>(name: &str, rows: &[T]) -> Result<Response, ApiError> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    for row in rows {
        writer.serialize(row).map_err(ApiError::internal)?;
    }
    let body = writer
        .into_inner()
        .map_err(|error| ApiError::internal(error.to_string()))?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}.csv\""),
            ),
        ],
        body,
    )
        .into_response())
}

/// `GET /api/v1/hr/attendance?from=&to=[&tz=&employee_id=&grace_min=&format=json|csv]`:
/// every employee's days, scheduled against actual presence.
async fn attendance(
    State(state): State<AttendanceState>,
    Extension(actor): Extension<Actor>,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Response, ApiError> {
    let params = known_params(
        query,
        &["from", "to", "tz", "employee_id", "grace_min", "format"],
    )?;
    authorize(&actor, Action::HrRead)?;
    let first = date(&params, "from")?
        .ok_or_else(|| ApiError::invalid_field("from", "from is required"))?;
    let last =
        date(&params, "to")?.ok_or_else(|| ApiError::invalid_field("to", "to is required"))?;
    let period = options(&params, first, last)?;
    let days = days(&state, &actor, &period).await?;
    if period.csv {
        return csv_response(&format!("attendance-{first}-{last}"), &days);
    }
    Ok(Json(days).into_response())
}

/// One employee's month.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TimesheetRow {
    /// The employee.
    pub employee_id: Uuid,
    /// Their name.
    pub full_name: String,
    /// The month, `YYYY-MM`.
    pub month: String,
    /// Days with scheduled hours.
    pub scheduled_days: i64,
    /// Scheduled hours.
    pub scheduled_hours: f64,
    /// Days with presence.
    pub present_days: i64,
    /// Hours present.
    pub worked_hours: f64,
    /// Days late.
    pub late_days: i64,
    /// Days left early.
    pub early_leave_days: i64,
    /// Scheduled days without presence or approved absence.
    pub absent_without_reason_days: i64,
    /// Days of approved absence, by kind (`vacation: 5; sick_leave: 2`).
    pub absences: String,
}

/// Totals `days` (of one month) per employee, by name.
pub fn total_month(month: &str, days: &[Day]) -> Vec<TimesheetRow> {
    let mut rows: BTreeMap<(String, Uuid), (TimesheetRow, BTreeMap<String, i64>)> = BTreeMap::new();
    for day in days {
        let (row, absences) = rows
            .entry((day.full_name.clone(), day.employee_id))
            .or_insert_with(|| {
                (
                    TimesheetRow {
                        employee_id: day.employee_id,
                        full_name: day.full_name.clone(),
                        month: month.to_owned(),
                        scheduled_days: 0,
                        scheduled_hours: 0.0,
                        present_days: 0,
                        worked_hours: 0.0,
                        late_days: 0,
                        early_leave_days: 0,
                        absent_without_reason_days: 0,
                        absences: String::new(),
                    },
                    BTreeMap::new(),
                )
            });
        if day.scheduled_minutes > 0 {
            row.scheduled_days += 1;
            row.scheduled_hours += day.scheduled_minutes as f64 / 60.0;
        }
        if day.present_minutes > 0 {
            row.present_days += 1;
            row.worked_hours += day.present_minutes as f64 / 60.0;
        }
        row.late_days += i64::from(day.late_minutes > 0);
        row.early_leave_days += i64::from(day.early_leave_minutes > 0);
        row.absent_without_reason_days += i64::from(day.status == "absent_without_reason");
        if let Some(kind) = &day.absence {
            *absences.entry(kind.clone()).or_default() += 1;
        }
    }
    rows.into_values()
        .map(|(mut row, absences)| {
            row.scheduled_hours = (row.scheduled_hours * 100.0).round() / 100.0;
            row.worked_hours = (row.worked_hours * 100.0).round() / 100.0;
            row.absences = absences
                .iter()
                .map(|(kind, days)| format!("{kind}: {days}"))
                .collect::<Vec<_>>()
                .join("; ");
            row
        })
        .collect()
}

/// `GET /api/v1/hr/timesheet?month=YYYY-MM[&tz=&employee_id=&grace_min=&format=json|csv]`:
/// each employee's month totalled, for payroll.
async fn timesheet(
    State(state): State<AttendanceState>,
    Extension(actor): Extension<Actor>,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Response, ApiError> {
    let params = known_params(
        query,
        &["month", "tz", "employee_id", "grace_min", "format"],
    )?;
    authorize(&actor, Action::HrRead)?;
    let month = params
        .get("month")
        .ok_or_else(|| ApiError::invalid_field("month", "month is required (YYYY-MM)"))?;
    let first = NaiveDate::parse_from_str(&format!("{month}-01"), "%Y-%m-%d")
        .ok()
        .filter(|_| month.len() == 7)
        .ok_or_else(|| ApiError::invalid_field("month", "month must be YYYY-MM"))?;
    let last = first
        .checked_add_months(chrono::Months::new(1))
        .and_then(|next| next.pred_opt())
        .ok_or_else(|| ApiError::invalid_field("month", "month is out of range"))?;
    let period = options(&params, first, last)?;
    let rows = total_month(month, &days(&state, &actor, &period).await?);
    if period.csv {
        return csv_response(&format!("timesheet-{month}"), &rows);
    }
    Ok(Json(rows).into_response())
}

#[cfg(test)]
mod tests {
    use chrono::NaiveTime;

    use super::*;

    fn at(date: NaiveDate, time: &str, direction: Direction) -> Swipe {
        Swipe {
            at: date.and_time(NaiveTime::parse_from_str(time, "%H:%M").unwrap()),
            direction,
        }
    }

    fn nine_to_six() -> DayPlan {
        DayPlan {
            scheduled: vec![(9 * 60, 13 * 60), (14 * 60, 18 * 60)],
            absence: None,
        }
    }

    #[test]
    fn a_day_is_judged_by_its_first_entry_last_exit_and_the_pairs_between() {
        let day = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
        let on_time = [
            at(day, "08:55", Direction::In),
            at(day, "13:00", Direction::Out),
            at(day, "13:50", Direction::In),
            at(day, "18:02", Direction::Out),
        ];
        let judged = assess(&nine_to_six(), &on_time, 5);
        assert_eq!(judged.status, "present");
        assert_eq!(judged.present, 245 + 252);
        assert_eq!(judged.first_in.as_deref(), Some("08:55"));
        assert_eq!(judged.last_out.as_deref(), Some("18:02"));

        let late = [
            at(day, "09:04", Direction::In),
            at(day, "18:00", Direction::Out),
        ];
        assert_eq!(
            assess(&nine_to_six(), &late, 5).status,
            "present",
            "within grace"
        );
        let late = [
            at(day, "09:20", Direction::In),
            at(day, "17:30", Direction::Out),
        ];
        let judged = assess(&nine_to_six(), &late, 5);
        assert_eq!(
            (judged.status, judged.late, judged.early),
            ("late_and_left_early", 20, 30)
        );
        let early = [
            at(day, "09:00", Direction::In),
            at(day, "16:00", Direction::Out),
        ];
        assert_eq!(assess(&nine_to_six(), &early, 5).status, "left_early");
        // A missed exit leaves the open entry uncounted.
        let missed = [
            at(day, "09:00", Direction::In),
            at(day, "12:00", Direction::In),
            at(day, "13:00", Direction::Out),
        ];
        assert_eq!(assess(&nine_to_six(), &missed, 5).present, 60);
    }

    #[test]
    fn absences_and_unscheduled_days_say_so() {
        let day = NaiveDate::from_ymd_opt(2026, 11, 28).unwrap();
        assert_eq!(
            assess(&nine_to_six(), &[], 5).status,
            "absent_without_reason"
        );
        let away = DayPlan {
            absence: Some("vacation".into()),
            ..nine_to_six()
        };
        assert_eq!(assess(&away, &[], 5).status, "on_absence");
        let weekend = DayPlan::default();
        assert_eq!(assess(&weekend, &[], 5).status, "not_scheduled");
        let came = [
            at(day, "10:00", Direction::In),
            at(day, "12:00", Direction::Out),
        ];
        let judged = assess(&weekend, &came, 5);
        assert_eq!((judged.status, judged.present), ("worked_unscheduled", 120));
    }

    #[test]
    fn a_month_totals_each_employee() {
        let employee = Uuid::now_v7();
        let day = |date: u32,
                   scheduled: i64,
                   present: i64,
                   late: i64,
                   status: &'static str,
                   absence: Option<&str>| Day {
            employee_id: employee,
            full_name: "Anna".into(),
            date: NaiveDate::from_ymd_opt(2026, 11, date).unwrap(),
            scheduled_from: None,
            scheduled_to: None,
            scheduled_minutes: scheduled,
            absence: absence.map(str::to_owned),
            first_in: None,
            last_out: None,
            present_minutes: present,
            late_minutes: late,
            early_leave_minutes: 0,
            status,
        };
        let rows = total_month(
            "2026-11",
            &[
                day(2, 480, 490, 0, "present", None),
                day(3, 480, 450, 15, "late", None),
                day(4, 480, 0, 0, "absent_without_reason", None),
                day(5, 480, 0, 0, "on_absence", Some("sick_leave")),
                day(7, 0, 0, 0, "not_scheduled", None),
            ],
        );
        assert_eq!(rows.len(), 1);
        let row = &rows[0];
        assert_eq!(
            (row.scheduled_days, row.present_days, row.late_days),
            (4, 2, 1)
        );
        assert_eq!((row.scheduled_hours, row.worked_hours), (32.0, 15.67));
        assert_eq!(row.absent_without_reason_days, 1);
        assert_eq!(row.absences, "sick_leave: 1");
    }
}

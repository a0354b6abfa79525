//! HR events: employees joining and changing, their contracts, and their absences from request
//! to decision.
//!
//! The ops API keeps the HR records and the personal data; these events carry what workforce
//! planning and reports need (who works where from when, who is away when) and nothing
//! personal: no names, birth dates, phones or notes.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::ids::{AbsenceId, DepartmentId, EmployeeId, PositionId};
use crate::row::{Date32, columns};

/// What kind of absence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AbsenceKind {
    /// Paid vacation.
    Vacation,
    /// Sick leave.
    SickLeave,
    /// A day off (in lieu of overtime, a personal day).
    DayOff,
    /// Unpaid leave.
    UnpaidLeave,
}

/// Where an absence is in its approval.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AbsenceStatus {
    /// Waiting for HR.
    Requested,
    /// Approved by HR.
    Approved,
    /// Refused by HR.
    Rejected,
    /// Withdrawn.
    Cancelled,
}

/// The wire and lake name of a unit variant.
fn wire<T: Serialize>(value: T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|value| value.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// An employee joined.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmployeeAdded {
    /// The employee.
    pub employee_id: EmployeeId,
    /// Their department.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department_id: Option<DepartmentId>,
    /// Their position.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position_id: Option<PositionId>,
    /// First working day.
    pub hired_on: NaiveDate,
}

/// An employee's department, position or dates changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmployeeChanged {
    /// The employee.
    pub employee_id: EmployeeId,
    /// Their department now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department_id: Option<DepartmentId>,
    /// Their position now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position_id: Option<PositionId>,
    /// First working day.
    pub hired_on: NaiveDate,
    /// Last working day, once they leave.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub left_on: Option<NaiveDate>,
}

/// A contract of an employee takes effect on a day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContractAdded {
    /// The employee.
    pub employee_id: EmployeeId,
    /// The day it takes effect.
    pub valid_from: NaiveDate,
    /// Contracted minutes a week.
    pub minutes_per_week: u32,
}

/// An absence as HR events carry it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Absence {
    /// The employee.
    pub employee_id: EmployeeId,
    /// The absence.
    pub absence_id: AbsenceId,
    /// What kind.
    pub kind: AbsenceKind,
    /// First day away.
    pub starts_on: NaiveDate,
    /// Last day away.
    pub ends_on: NaiveDate,
    /// Where it is in its approval now.
    pub status: AbsenceStatus,
}

/// An absence was requested.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AbsenceRequested(pub Absence);

/// An absence was approved, rejected or cancelled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AbsenceDecided(pub Absence);

/// Every HR event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum HrEvent {
    /// `hr.employee_added`.
    EmployeeAdded(EmployeeAdded),
    /// `hr.employee_changed`.
    EmployeeChanged(EmployeeChanged),
    /// `hr.contract_added`.
    ContractAdded(ContractAdded),
    /// `hr.absence_requested`.
    AbsenceRequested(AbsenceRequested),
    /// `hr.absence_decided`.
    AbsenceDecided(AbsenceDecided),
}

fn days(date: NaiveDate) -> Date32 {
    Date32(
        i32::try_from((date - NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or(date)).num_days())
            .unwrap_or_default(),
    )
}

columns! {
    /// The `hr` table's own columns (after the header).
    pub struct HrColumns {
        /// The employee.
        pub employee_id: String,
        /// Their department.
        pub department_id: Option<String>,
        /// Their position.
        pub position_id: Option<String>,
        /// First working day.
        pub hired_on: Option<Date32>,
        /// Last working day.
        pub left_on: Option<Date32>,
        /// The day a contract takes effect.
        pub valid_from: Option<Date32>,
        /// Contracted minutes a week.
        pub minutes_per_week: Option<i32>,
        /// The absence.
        pub absence_id: Option<String>,
        /// Its kind.
        pub absence_kind: Option<String>,
        /// Its first day.
        pub starts_on: Option<Date32>,
        /// Its last day.
        pub ends_on: Option<Date32>,
        /// Its status.
        pub absence_status: Option<String>,
    }
}

impl HrEvent {
    /// The event's values for the `hr` table, its text moved
    /// into them rather than copied.
    pub fn into_columns(self) -> HrColumns {
        let absence = |a: Absence| HrColumns {
            employee_id: a.employee_id.to_string(),
            absence_id: Some(a.absence_id.to_string()),
            absence_kind: Some(wire(a.kind)),
            starts_on: Some(days(a.starts_on)),
            ends_on: Some(days(a.ends_on)),
            absence_status: Some(wire(a.status)),
            ..HrColumns::default()
        };
        match self {
            HrEvent::EmployeeAdded(e) => HrColumns {
                employee_id: String::from(e.employee_id),
                department_id: e.department_id.map(String::from),
                position_id: e.position_id.map(String::from),
                hired_on: Some(days(e.hired_on)),
                ..HrColumns::default()
            },
            HrEvent::EmployeeChanged(e) => HrColumns {
                employee_id: String::from(e.employee_id),
                department_id: e.department_id.map(String::from),
                position_id: e.position_id.map(String::from),
                hired_on: Some(days(e.hired_on)),
                left_on: e.left_on.map(days),
                ..HrColumns::default()
            },
            HrEvent::ContractAdded(e) => HrColumns {
                employee_id: String::from(e.employee_id),
                valid_from: Some(days(e.valid_from)),
                minutes_per_week: Some(i32::try_from(e.minutes_per_week).unwrap_or(i32::MAX)),
                ..HrColumns::default()
            },
            HrEvent::AbsenceRequested(AbsenceRequested(a))
            | HrEvent::AbsenceDecided(AbsenceDecided(a)) => absence(a),
        }
    }
}

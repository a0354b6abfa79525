//! The HR side of a period, read once for the whole tenant: who is employed, under which
//! contract, when their contract's work pattern has them present and which approved absences
//! they have. Attendance compares it with badge swipes; the roster staffs shifts with it.

use std::collections::BTreeMap;

use chrono::{Datelike as _, NaiveDate, NaiveTime, Timelike as _, Weekday};
use tenet_events::TenantId;
use tenet_events::hr::AbsenceKind;
use tenet_ops_api::Database;
use tenet_ops_api::hr::{self, Absence, Contract, Employee};
use tenet_ops_api::sla::{Opening, WeeklyHours};
use uuid::Uuid;

/// Employees read per page.
const PAGE: i64 = 500;

/// The tenant's employees with their contracts and the approved absences of a period.
#[derive(Debug, Clone, Default)]
pub struct Staff {
    /// The employees, by id.
    pub employees: Vec<Employee>,
    contracts: BTreeMap<Uuid, Vec<Contract>>,
    absences: BTreeMap<Uuid, Vec<Absence>>,
}

impl Staff {
    /// Reads the employees (every one, or only `employee`), their contracts and their approved
    /// absences that share a day with `first..=last`.
    ///
    /// # Errors
    /// Database errors.
    pub async fn load(
        db: &Database,
        tenant: TenantId,
        first: NaiveDate,
        last: NaiveDate,
        employee: Option<Uuid>,
    ) -> Result<Self, sqlx::Error> {
        let mut employees = Vec::new();
        let mut after = None;
        loop {
            let page = hr::employees(db, tenant, None, after, PAGE).await?;
            after = page.last().map(|employee| employee.id);
            let done = page.len() < PAGE as usize;
            employees.extend(
                page.into_iter()
                    .filter(|found| employee.is_none_or(|id| id == found.id)),
            );
            if done {
                break;
            }
        }
        let contracts = hr::tenant_contracts(db, tenant).await?;
        let mut absences: BTreeMap<Uuid, Vec<Absence>> = BTreeMap::new();
        for absence in hr::approved_absences(db, tenant, first, last).await? {
            absences
                .entry(absence.employee_id)
                .or_default()
                .push(absence);
        }
        Ok(Self {
            employees,
            contracts,
            absences,
        })
    }

    /// Whether `employee` is employed on `date`.
    pub fn employed(employee: &Employee, date: NaiveDate) -> bool {
        date >= employee.hired_on && employee.left_on.is_none_or(|left| date <= left)
    }

    /// The contract of `employee` in effect on `date`.
    pub fn contract(&self, employee: Uuid, date: NaiveDate) -> Option<&Contract> {
        self.contracts
            .get(&employee)?
            .iter()
            .rev()
            .find(|contract| contract.valid_from <= date)
    }

    /// The intervals (minutes from local midnight, sorted) the contract of `employee` has them
    /// present on `date`; none when they are not employed or have no contract then.
    pub fn scheduled(&self, employee: &Employee, date: NaiveDate) -> Vec<(u32, u32)> {
        if !Self::employed(employee, date) {
            return Vec::new();
        }
        self.contract(employee.id, date)
            .map(|contract| pattern_minutes(&contract.work_pattern, date.weekday()))
            .unwrap_or_default()
    }

    /// The approved absence of `employee` covering `date`.
    pub fn absence(&self, employee: Uuid, date: NaiveDate) -> Option<&Absence> {
        self.absences
            .get(&employee)?
            .iter()
            .find(|absence| absence.starts_on <= date && date <= absence.ends_on)
    }
}

/// The openings of `weekday` in `pattern`.
pub fn pattern_day(pattern: &WeeklyHours, weekday: Weekday) -> &[Opening] {
    match weekday {
        Weekday::Mon => &pattern.mon,
        Weekday::Tue => &pattern.tue,
        Weekday::Wed => &pattern.wed,
        Weekday::Thu => &pattern.thu,
        Weekday::Fri => &pattern.fri,
        Weekday::Sat => &pattern.sat,
        Weekday::Sun => &pattern.sun,
    }
}

/// The openings of `weekday` in `pattern` as sorted minute ranges from local midnight.
pub fn pattern_minutes(pattern: &WeeklyHours, weekday: Weekday) -> Vec<(u32, u32)> {
    let minutes = |text: &str| {
        if text == "24:00" {
            return 24 * 60;
        }
        NaiveTime::parse_from_str(text, "%H:%M")
            .map(|time| time.hour() * 60 + time.minute())
            .unwrap_or(0)
    };
    let mut intervals: Vec<(u32, u32)> = pattern_day(pattern, weekday)
        .iter()
        .map(|opening| (minutes(&opening.from), minutes(&opening.to)))
        .collect();
    intervals.sort_unstable();
    intervals
}

/// The wire name of an absence kind (`sick_leave`).
pub fn absence_kind(kind: AbsenceKind) -> String {
    serde_json::to_value(kind)
        .ok()
        .and_then(|value| value.as_str().map(str::to_owned))
        .unwrap_or_default()
}

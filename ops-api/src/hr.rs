//! HR records: departments and positions, employees (linked to the users they sign in as),
//! their contracts, absences with approval, and personal data.
//!
//! The directory (name, department, position, badge, dates) is for HR and managers; personal
//! data (birth date, phones, address) is kept apart and shown only to HR and the person
//! themselves, and every read of it is audit-logged. A contract takes effect on a date; a new
//! contract from a later date supersedes it, so the history of working conditions is kept.
//! Absences are requested (by the person or HR) and approved or rejected by HR; two absences of
//! one person that are not rejected or cancelled never overlap.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use tenet_events::hr::{
    AbsenceDecided, AbsenceRequested, ContractAdded, EmployeeAdded, EmployeeChanged,
};
pub use tenet_events::hr::{AbsenceKind, AbsenceStatus};
use tenet_events::identity::Principal;
use tenet_events::ids::{AbsenceId, DepartmentId, EmployeeId, PositionId};
use tenet_events::{Actor, TenantId, TraceContext};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::db::{BeginWrite, Database, now, principal_json, stored};
use crate::outbox::OutboxRecord;
use crate::sla::WeeklyHours;
use crate::{enqueue, on_backend};

fn id<T>(parse: impl Fn(String) -> Result<T, tenet_events::ids::InvalidId>, id: Uuid) -> T {
    parse(id.to_string()).expect("a UUID is a valid id")
}

fn absence_event(absence: &Absence) -> tenet_events::hr::Absence {
    tenet_events::hr::Absence {
        employee_id: id(EmployeeId::parse, absence.employee_id),
        absence_id: id(AbsenceId::parse, absence.id),
        kind: absence.kind,
        starts_on: absence.starts_on,
        ends_on: absence.ends_on,
        status: absence.status,
    }
}

fn decode<T: serde::de::DeserializeOwned>(
    column: &'static str,
    json: &str,
) -> Result<T, sqlx::Error> {
    serde_json::from_str(json).map_err(|error| sqlx::Error::ColumnDecode {
        index: column.into(),
        source: Box::new(error),
    })
}

/// A department or a position: a named entry of one of the tenant's HR lists.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, ToSchema)]
pub struct Unit {
    /// Its id.
    pub id: Uuid,
    /// Its name, unique in the list.
    pub name: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

/// One of the tenant's HR lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum List {
    /// Departments.
    Departments,
    /// Positions.
    Positions,
}

impl List {
    fn table(self) -> &'static str {
        match self {
            List::Departments => "hr_departments",
            List::Positions => "hr_positions",
        }
    }
}

/// Adds `name` to `list`.
///
/// # Errors
/// A unique violation when the name is taken; database errors.
pub async fn add_unit(
    db: &Database,
    tenant: TenantId,
    list: List,
    name: String,
) -> Result<Unit, sqlx::Error> {
    let unit = Unit {
        id: Uuid::now_v7(),
        name,
        created_at: now(),
    };
    let sql = format!(
        "insert into {} (id, tenant_id, name, created_at) values ($1, $2, $3, $4)",
        list.table()
    );
    on_backend!(db, |pool| {
        sqlx::query(&sql)
            .bind(unit.id)
            .bind(tenant.as_uuid())
            .bind(&unit.name)
            .bind(unit.created_at)
            .execute(pool)
            .await?;
    });
    Ok(unit)
}

/// The entries of `list`, by name.
///
/// # Errors
/// Database errors.
pub async fn units(db: &Database, tenant: TenantId, list: List) -> Result<Vec<Unit>, sqlx::Error> {
    let sql = format!(
        "select id, name, created_at from {} where tenant_id = $1 order by name",
        list.table()
    );
    Ok(on_backend!(db, |pool| {
        sqlx::query_as(&sql)
            .bind(tenant.as_uuid())
            .fetch_all(pool)
            .await?
    }))
}

/// Whether `id` is an entry of `list`.
///
/// # Errors
/// Database errors.
pub async fn unit_exists(
    db: &Database,
    tenant: TenantId,
    list: List,
    id: Uuid,
) -> Result<bool, sqlx::Error> {
    let sql = format!(
        "select count(*) from {} where tenant_id = $1 and id = $2",
        list.table()
    );
    let count: i64 = on_backend!(db, |pool| {
        sqlx::query_scalar(&sql)
            .bind(tenant.as_uuid())
            .bind(id)
            .fetch_one(pool)
            .await?
    });
    Ok(count > 0)
}

/// Personal data of an employee: for HR and the person only.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PersonalData {
    /// Date of birth.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub birth_date: Option<NaiveDate>,
    /// Phone numbers in international format (E.164), up to 5.
    #[serde(default)]
    #[schema(max_items = 5)]
    pub phones: Vec<String>,
    /// Home address, up to 500 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 500)]
    pub address: Option<String>,
}

/// An employee as the directory shows them (no personal data).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Employee {
    /// Its id.
    pub id: Uuid,
    /// The user they sign in as; absent when they have none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_id: Option<Uuid>,
    /// Their full name.
    pub full_name: String,
    /// Their department.
    pub department_id: Option<Uuid>,
    /// Their position.
    pub position_id: Option<Uuid>,
    /// Their access-control badge.
    pub badge_id: Option<String>,
    /// First working day.
    pub hired_on: NaiveDate,
    /// Last working day, once they left.
    pub left_on: Option<NaiveDate>,
    /// When the record was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// Its version: send it back with a change.
    pub version: i64,
    #[serde(skip)]
    personal: String,
}

impl Employee {
    /// Their personal data.
    ///
    /// # Errors
    /// A stored value that does not decode.
    pub fn personal_data(&self) -> Result<PersonalData, sqlx::Error> {
        decode("personal", &self.personal)
    }
}

#[derive(sqlx::FromRow)]
struct EmployeeRow {
    id: Uuid,
    user_id: Option<Uuid>,
    full_name: String,
    department_id: Option<Uuid>,
    position_id: Option<Uuid>,
    badge_id: Option<String>,
    hired_on: NaiveDate,
    left_on: Option<NaiveDate>,
    personal: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    version: i64,
}

impl From<EmployeeRow> for Employee {
    fn from(row: EmployeeRow) -> Self {
        Employee {
            id: row.id,
            user_id: row.user_id,
            full_name: row.full_name,
            department_id: row.department_id,
            position_id: row.position_id,
            badge_id: row.badge_id,
            hired_on: row.hired_on,
            left_on: row.left_on,
            created_at: row.created_at,
            updated_at: row.updated_at,
            version: row.version,
            personal: row.personal,
        }
    }
}

const EMPLOYEE_COLUMNS: &str = "id, user_id, full_name, department_id, position_id, badge_id, \
                                hired_on, left_on, personal, created_at, updated_at, version";

/// The directory fields of an employee, already validated.
#[derive(Debug, Clone)]
pub struct EmployeeFields {
    /// The user they sign in as.
    pub user_id: Option<Uuid>,
    /// Full name.
    pub full_name: String,
    /// Department.
    pub department_id: Option<Uuid>,
    /// Position.
    pub position_id: Option<Uuid>,
    /// Badge.
    pub badge_id: Option<String>,
    /// First working day.
    pub hired_on: NaiveDate,
    /// Last working day.
    pub left_on: Option<NaiveDate>,
}

/// What goes wrong with an HR record.
#[derive(Debug, thiserror::Error)]
pub enum HrError {
    /// No such record in the tenant.
    #[error("no such {0}")]
    NotFound(&'static str),
    /// The record changed since the version the caller based the change on.
    #[error(
        "the {what} was changed by someone else (now at version {current}); reload it and retry"
    )]
    VersionConflict {
        /// What changed.
        what: &'static str,
        /// The version now stored.
        current: i64,
    },
    /// A value taken by another record, or overlapping another absence.
    #[error("{message}")]
    Taken {
        /// The request field at fault.
        field: &'static str,
        /// What it collides with.
        message: String,
    },
    /// A status change the approval flow does not allow.
    #[error("an absence cannot go from {from} to {to}")]
    InvalidTransition {
        /// The status now.
        from: String,
        /// The status asked for.
        to: String,
    },
    /// The database failed.
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

fn taken(error: sqlx::Error, field: &'static str, message: &str) -> HrError {
    match &error {
        sqlx::Error::Database(db) if db.is_unique_violation() => HrError::Taken {
            field,
            message: message.to_owned(),
        },
        _ => HrError::Database(error),
    }
}

/// Which of an employee's unique fields a unique violation names: the badge or the user.
fn employee_taken(error: sqlx::Error) -> HrError {
    let badge = matches!(&error, sqlx::Error::Database(db) if db.message().contains("badge"));
    if badge {
        taken(error, "badge_id", "the badge belongs to another employee")
    } else {
        taken(error, "user_id", "the user is another employee already")
    }
}

/// Creates an employee.
///
/// # Errors
/// [`HrError::Taken`] when the user or badge belongs to another employee; database errors.
pub async fn create_employee(
    db: &Database,
    actor: &Actor,
    trace: Option<&TraceContext>,
    fields: EmployeeFields,
    personal: &PersonalData,
) -> Result<Employee, HrError> {
    let at = now();
    let employee = Employee {
        id: Uuid::now_v7(),
        user_id: fields.user_id,
        full_name: fields.full_name,
        department_id: fields.department_id,
        position_id: fields.position_id,
        badge_id: fields.badge_id,
        hired_on: fields.hired_on,
        left_on: fields.left_on,
        created_at: at,
        updated_at: at,
        version: 1,
        personal: serde_json::to_string(personal).unwrap_or_else(|_| "{}".into()),
    };
    let event = OutboxRecord::of(
        actor,
        at,
        trace,
        EmployeeAdded {
            employee_id: id(EmployeeId::parse, employee.id),
            department_id: employee
                .department_id
                .map(|unit| id(DepartmentId::parse, unit)),
            position_id: employee.position_id.map(|unit| id(PositionId::parse, unit)),
            hired_on: employee.hired_on,
        },
    );
    on_backend!(db, |pool| {
        let mut tx = pool.begin_write().await?;
        sqlx::query(
            "insert into employees (id, tenant_id, user_id, full_name, department_id, position_id, \
             badge_id, hired_on, left_on, personal, created_at, updated_at) \
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11)",
        )
        .bind(employee.id)
        .bind(actor.tenant_id.as_uuid())
        .bind(employee.user_id)
        .bind(&employee.full_name)
        .bind(employee.department_id)
        .bind(employee.position_id)
        .bind(&employee.badge_id)
        .bind(employee.hired_on)
        .bind(employee.left_on)
        .bind(&employee.personal)
        .bind(at)
        .execute(&mut *tx)
        .await
        .map_err(employee_taken)?;
        enqueue!(&mut *tx, &event)?;
        tx.commit().await?;
    });
    Ok(employee)
}

/// One employee of the tenant.
///
/// # Errors
/// Database errors.
pub async fn employee(
    db: &Database,
    tenant: TenantId,
    id: Uuid,
) -> Result<Option<Employee>, sqlx::Error> {
    let row: Option<EmployeeRow> = on_backend!(db, |pool| {
        sqlx::query_as(&format!(
            "select {EMPLOYEE_COLUMNS} from employees where tenant_id = $1 and id = $2"
        ))
        .bind(tenant.as_uuid())
        .bind(id)
        .fetch_optional(pool)
        .await?
    });
    Ok(row.map(Employee::from))
}

/// The employees of the tenant, by id, a page at a time, optionally of one department.
///
/// # Errors
/// Database errors.
pub async fn employees(
    db: &Database,
    tenant: TenantId,
    department: Option<Uuid>,
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<Employee>, sqlx::Error> {
    let rows: Vec<EmployeeRow> = on_backend!(db, |pool| {
        sqlx::query_as(&format!(
            "select {EMPLOYEE_COLUMNS} from employees where tenant_id = $1 \
             and ($2 is null or department_id = $2) and ($3 is null or id > $3) order by id limit $4"
        ))
        .bind(tenant.as_uuid())
        .bind(department)
        .bind(after)
        .bind(limit)
        .fetch_all(pool)
        .await?
    });
    Ok(rows.into_iter().map(Employee::from).collect())
}

/// Writes `fields` and `personal` over `employee` if it is still at `expected_version`.
///
/// # Errors
/// [`HrError::VersionConflict`], [`HrError::Taken`]; database errors.
pub async fn update_employee(
    db: &Database,
    actor: &Actor,
    trace: Option<&TraceContext>,
    employee: &Employee,
    expected_version: i64,
    fields: EmployeeFields,
    personal: &PersonalData,
) -> Result<Employee, HrError> {
    if employee.version != expected_version {
        return Err(HrError::VersionConflict {
            what: "employee",
            current: employee.version,
        });
    }
    let at = now();
    let next = Employee {
        user_id: fields.user_id,
        full_name: fields.full_name,
        department_id: fields.department_id,
        position_id: fields.position_id,
        badge_id: fields.badge_id,
        hired_on: fields.hired_on,
        left_on: fields.left_on,
        updated_at: at,
        version: employee.version + 1,
        personal: serde_json::to_string(personal).unwrap_or_else(|_| "{}".into()),
        ..employee.clone()
    };
    // Personal data changes are not events: only what planning and reports use travels.
    let directory_changed = (
        next.department_id,
        next.position_id,
        next.hired_on,
        next.left_on,
    ) != (
        employee.department_id,
        employee.position_id,
        employee.hired_on,
        employee.left_on,
    );
    let event = directory_changed.then(|| {
        OutboxRecord::of(
            actor,
            at,
            trace,
            EmployeeChanged {
                employee_id: id(EmployeeId::parse, employee.id),
                department_id: next.department_id.map(|unit| id(DepartmentId::parse, unit)),
                position_id: next.position_id.map(|unit| id(PositionId::parse, unit)),
                hired_on: next.hired_on,
                left_on: next.left_on,
            },
        )
    });
    let updated = on_backend!(db, |pool| {
        let mut tx = pool.begin_write().await?;
        let updated = sqlx::query(
            "update employees set user_id = $1, full_name = $2, department_id = $3, position_id = $4, \
             badge_id = $5, hired_on = $6, left_on = $7, personal = $8, updated_at = $9, \
             version = version + 1 where tenant_id = $10 and id = $11 and version = $12",
        )
        .bind(next.user_id)
        .bind(&next.full_name)
        .bind(next.department_id)
        .bind(next.position_id)
        .bind(&next.badge_id)
        .bind(next.hired_on)
        .bind(next.left_on)
        .bind(&next.personal)
        .bind(at)
        .bind(actor.tenant_id.as_uuid())
        .bind(employee.id)
        .bind(expected_version)
        .execute(&mut *tx)
        .await
        .map_err(employee_taken)?
        .rows_affected();
        if updated == 1
            && let Some(event) = &event
        {
            enqueue!(&mut *tx, event)?;
        }
        tx.commit().await?;
        updated
    });
    if updated == 0 {
        let current = self::employee(db, actor.tenant_id, employee.id)
            .await?
            .ok_or(HrError::NotFound("employee"))?;
        return Err(HrError::VersionConflict {
            what: "employee",
            current: current.version,
        });
    }
    Ok(next)
}

/// The employee record of the signed-in user `user`, if they have one.
///
/// # Errors
/// Database errors.
pub async fn employee_of_user(
    db: &Database,
    tenant: TenantId,
    user: Uuid,
) -> Result<Option<Employee>, sqlx::Error> {
    let row: Option<EmployeeRow> = on_backend!(db, |pool| {
        sqlx::query_as(&format!(
            "select {EMPLOYEE_COLUMNS} from employees where tenant_id = $1 and user_id = $2"
        ))
        .bind(tenant.as_uuid())
        .bind(user)
        .fetch_optional(pool)
        .await?
    });
    Ok(row.map(Employee::from))
}

/// A contract: from a date on, how many hours a week and in which weekly pattern.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Contract {
    /// Its id.
    pub id: Uuid,
    /// The employee.
    pub employee_id: Uuid,
    /// The day it takes effect; it holds until the next contract's.
    pub valid_from: NaiveDate,
    /// Contracted hours a week.
    pub hours_per_week: f64,
    /// The weekly work pattern: when the employee is scheduled to be present.
    pub work_pattern: WeeklyHours,
    /// When it was recorded.
    pub created_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct ContractRow {
    id: Uuid,
    employee_id: Uuid,
    valid_from: NaiveDate,
    hours_per_week: f64,
    work_pattern: String,
    created_at: DateTime<Utc>,
}

impl TryFrom<ContractRow> for Contract {
    type Error = sqlx::Error;

    fn try_from(row: ContractRow) -> Result<Self, Self::Error> {
        Ok(Contract {
            id: row.id,
            employee_id: row.employee_id,
            valid_from: row.valid_from,
            hours_per_week: row.hours_per_week,
            work_pattern: decode("work_pattern", &row.work_pattern)?,
            created_at: row.created_at,
        })
    }
}

const CONTRACT_COLUMNS: &str =
    "id, employee_id, valid_from, hours_per_week, work_pattern, created_at";

/// Records a contract of `employee` from `valid_from`.
///
/// # Errors
/// [`HrError::Taken`] when the employee has a contract from that day already; database errors.
pub async fn add_contract(
    db: &Database,
    actor: &Actor,
    trace: Option<&TraceContext>,
    employee: Uuid,
    valid_from: NaiveDate,
    hours_per_week: f64,
    work_pattern: WeeklyHours,
) -> Result<Contract, HrError> {
    let contract = Contract {
        id: Uuid::now_v7(),
        employee_id: employee,
        valid_from,
        hours_per_week,
        work_pattern,
        created_at: now(),
    };
    let pattern = serde_json::to_string(&contract.work_pattern).unwrap_or_else(|_| "{}".into());
    let event = OutboxRecord::of(
        actor,
        contract.created_at,
        trace,
        ContractAdded {
            employee_id: id(EmployeeId::parse, employee),
            valid_from,
            // At most 80 hours a week: the route checks it.
            minutes_per_week: (hours_per_week * 60.0).round() as u32,
        },
    );
    on_backend!(db, |pool| {
        let mut tx = pool.begin_write().await?;
        sqlx::query(
            "insert into employee_contracts (id, tenant_id, employee_id, valid_from, hours_per_week, \
             work_pattern, created_at) values ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(contract.id)
        .bind(actor.tenant_id.as_uuid())
        .bind(employee)
        .bind(valid_from)
        .bind(hours_per_week)
        .bind(&pattern)
        .bind(contract.created_at)
        .execute(&mut *tx)
        .await
        .map_err(|error| taken(error, "valid_from", "the employee has a contract from that day already"))?;
        enqueue!(&mut *tx, &event)?;
        tx.commit().await?;
    });
    Ok(contract)
}

/// The contracts of `employee`, in the order they took effect.
///
/// # Errors
/// Database errors.
pub async fn contracts(
    db: &Database,
    tenant: TenantId,
    employee: Uuid,
) -> Result<Vec<Contract>, sqlx::Error> {
    let rows: Vec<ContractRow> = on_backend!(db, |pool| {
        sqlx::query_as(&format!(
            "select {CONTRACT_COLUMNS} from employee_contracts \
             where tenant_id = $1 and employee_id = $2 order by valid_from"
        ))
        .bind(tenant.as_uuid())
        .bind(employee)
        .fetch_all(pool)
        .await?
    });
    rows.into_iter().map(Contract::try_from).collect()
}

/// The contracts of every employee of the tenant, by employee and then in the order they
/// took effect.
///
/// # Errors
/// Database errors.
pub async fn tenant_contracts(
    db: &Database,
    tenant: TenantId,
) -> Result<BTreeMap<Uuid, Vec<Contract>>, sqlx::Error> {
    let rows: Vec<ContractRow> = on_backend!(db, |pool| {
        sqlx::query_as(&format!(
            "select {CONTRACT_COLUMNS} from employee_contracts \
             where tenant_id = $1 order by employee_id, valid_from"
        ))
        .bind(tenant.as_uuid())
        .fetch_all(pool)
        .await?
    });
    let mut by_employee: BTreeMap<Uuid, Vec<Contract>> = BTreeMap::new();
    for row in rows {
        let contract = Contract::try_from(row)?;
        by_employee
            .entry(contract.employee_id)
            .or_default()
            .push(contract);
    }
    Ok(by_employee)
}

fn wire<T: Serialize>(value: T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|value| value.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// Whether the approval flow allows an absence to go from `from` to `to`.
pub fn transition_allowed(from: AbsenceStatus, to: AbsenceStatus) -> bool {
    use AbsenceStatus::*;
    matches!(
        (from, to),
        (Requested, Approved | Rejected | Cancelled) | (Approved, Cancelled)
    )
}

/// An absence of an employee.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Absence {
    /// Its id.
    pub id: Uuid,
    /// The employee.
    pub employee_id: Uuid,
    /// What kind.
    #[schema(value_type = crate::openapi::AbsenceKindSchema)]
    pub kind: AbsenceKind,
    /// First day away.
    pub starts_on: NaiveDate,
    /// Last day away.
    pub ends_on: NaiveDate,
    /// Where it is in its approval.
    #[schema(value_type = crate::openapi::AbsenceStatusSchema)]
    pub status: AbsenceStatus,
    /// What the request says.
    pub note: String,
    /// Who requested it.
    #[schema(value_type = crate::openapi::PrincipalSchema)]
    pub requested_by: Principal,
    /// Who approved, rejected or cancelled it.
    #[schema(value_type = Option<crate::openapi::PrincipalSchema>)]
    pub decided_by: Option<Principal>,
    /// When.
    pub decided_at: Option<DateTime<Utc>>,
    /// Why.
    pub decision_note: Option<String>,
    /// When it was requested.
    pub created_at: DateTime<Utc>,
    /// Its version: send it back with a change.
    pub version: i64,
}

#[derive(sqlx::FromRow)]
struct AbsenceRow {
    id: Uuid,
    employee_id: Uuid,
    kind: String,
    starts_on: NaiveDate,
    ends_on: NaiveDate,
    status: String,
    note: String,
    requested_by: String,
    decided_by: Option<String>,
    decided_at: Option<DateTime<Utc>>,
    decision_note: Option<String>,
    created_at: DateTime<Utc>,
    version: i64,
}

impl TryFrom<AbsenceRow> for Absence {
    type Error = sqlx::Error;

    fn try_from(row: AbsenceRow) -> Result<Self, Self::Error> {
        let principal = |json: &str| serde_json::from_str(json).unwrap_or(Principal::System);
        Ok(Absence {
            id: row.id,
            employee_id: row.employee_id,
            kind: stored("kind", &row.kind)?,
            starts_on: row.starts_on,
            ends_on: row.ends_on,
            status: stored("status", &row.status)?,
            note: row.note,
            requested_by: principal(&row.requested_by),
            decided_by: row.decided_by.as_deref().map(principal),
            decided_at: row.decided_at,
            decision_note: row.decision_note,
            created_at: row.created_at,
            version: row.version,
        })
    }
}

const ABSENCE_COLUMNS: &str = "id, employee_id, kind, starts_on, ends_on, status, note, requested_by, \
                               decided_by, decided_at, decision_note, created_at, version";

/// The first absence of employee `$2` of tenant `$1` that is not rejected or cancelled and
/// shares a day with `$3`..=`$4`.
const OVERLAPPING: &str = "select id from absences where tenant_id = $1 and employee_id = $2 \
                           and status in ('requested', 'approved') and starts_on <= $4 and ends_on >= $3 \
                           limit 1";

/// Touches the employee's row so that, on PostgreSQL, two transactions adding absences for
/// one person run one after the other (SQLite's writer lock already does so), and the second
/// sees the first's absence when it checks for overlaps.
const LOCK_EMPLOYEE: &str = "update employees set id = id where tenant_id = $1 and id = $2";

/// An absence to request, already validated.
#[derive(Debug, Clone)]
pub struct NewAbsence {
    /// What kind.
    pub kind: AbsenceKind,
    /// First day away.
    pub starts_on: NaiveDate,
    /// Last day away, not before the first.
    pub ends_on: NaiveDate,
    /// What the request says.
    pub note: String,
}

/// Requests an absence of `employee`.
///
/// # Errors
/// [`HrError::Taken`] when it overlaps another requested or approved absence; database errors.
pub async fn request_absence(
    db: &Database,
    actor: &Actor,
    trace: Option<&TraceContext>,
    employee: Uuid,
    new: NewAbsence,
) -> Result<Absence, HrError> {
    let NewAbsence {
        kind,
        starts_on,
        ends_on,
        note,
    } = new;
    let absence = Absence {
        id: Uuid::now_v7(),
        employee_id: employee,
        kind,
        starts_on,
        ends_on,
        status: AbsenceStatus::Requested,
        note,
        requested_by: actor.principal.clone(),
        decided_by: None,
        decided_at: None,
        decision_note: None,
        created_at: now(),
        version: 1,
    };
    let event = OutboxRecord::of(
        actor,
        absence.created_at,
        trace,
        AbsenceRequested(absence_event(&absence)),
    );
    on_backend!(db, |pool| {
        let mut tx = pool.begin_write().await?;
        sqlx::query(LOCK_EMPLOYEE)
            .bind(actor.tenant_id.as_uuid())
            .bind(employee)
            .execute(&mut *tx)
            .await?;
        let other: Option<Uuid> = sqlx::query_scalar(OVERLAPPING)
            .bind(actor.tenant_id.as_uuid())
            .bind(employee)
            .bind(starts_on)
            .bind(ends_on)
            .fetch_optional(&mut *tx)
            .await?;
        if let Some(other) = other {
            tx.rollback().await?;
            return Err(HrError::Taken {
                field: "starts_on",
                message: format!(
                    "the employee is away on some of these days already (absence {other})"
                ),
            });
        }
        sqlx::query(
            "insert into absences (id, tenant_id, employee_id, kind, starts_on, ends_on, status, note, \
             requested_by, created_at) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(absence.id)
        .bind(actor.tenant_id.as_uuid())
        .bind(employee)
        .bind(wire(kind))
        .bind(starts_on)
        .bind(ends_on)
        .bind(wire(absence.status))
        .bind(&absence.note)
        .bind(principal_json(actor))
        .bind(absence.created_at)
        .execute(&mut *tx)
        .await?;
        enqueue!(&mut *tx, &event)?;
        tx.commit().await?;
    });
    Ok(absence)
}

/// One absence of the tenant.
///
/// # Errors
/// Database errors.
pub async fn absence(
    db: &Database,
    tenant: TenantId,
    id: Uuid,
) -> Result<Option<Absence>, sqlx::Error> {
    let row: Option<AbsenceRow> = on_backend!(db, |pool| {
        sqlx::query_as(&format!(
            "select {ABSENCE_COLUMNS} from absences where tenant_id = $1 and id = $2"
        ))
        .bind(tenant.as_uuid())
        .bind(id)
        .fetch_optional(pool)
        .await?
    });
    row.map(Absence::try_from).transpose()
}

/// The absences of the tenant (or of one employee), optionally in one status and sharing a day
/// with `from`..=`to`, by first day.
///
/// # Errors
/// Database errors.
pub async fn absences(
    db: &Database,
    tenant: TenantId,
    employee: Option<Uuid>,
    status: Option<AbsenceStatus>,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
) -> Result<Vec<Absence>, sqlx::Error> {
    let rows: Vec<AbsenceRow> = on_backend!(db, |pool| {
        sqlx::query_as(&format!(
            "select {ABSENCE_COLUMNS} from absences where tenant_id = $1 \
             and ($2 is null or employee_id = $2) and ($3 is null or status = $3) \
             and ($4 is null or ends_on >= $4) and ($5 is null or starts_on <= $5) \
             order by starts_on, id limit 1000"
        ))
        .bind(tenant.as_uuid())
        .bind(employee)
        .bind(status.map(wire))
        .bind(from)
        .bind(to)
        .fetch_all(pool)
        .await?
    });
    rows.into_iter().map(Absence::try_from).collect()
}

/// Every approved absence of the tenant sharing a day with `from`..=`to`, all of them (a
/// period's absences are bounded by its employees and days), by employee and first day.
///
/// # Errors
/// Database errors.
pub async fn approved_absences(
    db: &Database,
    tenant: TenantId,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<Absence>, sqlx::Error> {
    let rows: Vec<AbsenceRow> = on_backend!(db, |pool| {
        sqlx::query_as(&format!(
            "select {ABSENCE_COLUMNS} from absences where tenant_id = $1 and status = $2 \
             and ends_on >= $3 and starts_on <= $4 order by employee_id, starts_on, id"
        ))
        .bind(tenant.as_uuid())
        .bind(wire(AbsenceStatus::Approved))
        .bind(from)
        .bind(to)
        .fetch_all(pool)
        .await?
    });
    rows.into_iter().map(Absence::try_from).collect()
}

/// Moves `absence` (still at `expected_version`) to `status`, with `note`.
///
/// # Errors
/// [`HrError::InvalidTransition`], [`HrError::VersionConflict`]; database errors.
pub async fn decide_absence(
    db: &Database,
    actor: &Actor,
    trace: Option<&TraceContext>,
    absence: &Absence,
    expected_version: i64,
    status: AbsenceStatus,
    note: Option<String>,
) -> Result<Absence, HrError> {
    if !transition_allowed(absence.status, status) {
        return Err(HrError::InvalidTransition {
            from: wire(absence.status),
            to: wire(status),
        });
    }
    if absence.version != expected_version {
        return Err(HrError::VersionConflict {
            what: "absence",
            current: absence.version,
        });
    }
    let at = now();
    let decided = Absence {
        status,
        decided_by: Some(actor.principal.clone()),
        decided_at: Some(at),
        decision_note: note,
        version: absence.version + 1,
        ..absence.clone()
    };
    let event = OutboxRecord::of(actor, at, trace, AbsenceDecided(absence_event(&decided)));
    let updated = on_backend!(db, |pool| {
        let mut tx = pool.begin_write().await?;
        let updated = sqlx::query(
            "update absences set status = $1, decided_by = $2, decided_at = $3, decision_note = $4, \
             version = version + 1 where tenant_id = $5 and id = $6 and version = $7",
        )
        .bind(wire(status))
        .bind(principal_json(actor))
        .bind(at)
        .bind(&decided.decision_note)
        .bind(actor.tenant_id.as_uuid())
        .bind(absence.id)
        .bind(expected_version)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if updated == 1 {
            enqueue!(&mut *tx, &event)?;
        }
        tx.commit().await?;
        updated
    });
    if updated == 0 {
        return Err(HrError::VersionConflict {
            what: "absence",
            current: expected_version + 1,
        });
    }
    Ok(decided)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absences_are_approved_or_rejected_once_and_cancelled_before_they_end() {
        use AbsenceStatus::*;
        assert!(transition_allowed(Requested, Approved));
        assert!(transition_allowed(Requested, Rejected));
        assert!(transition_allowed(Requested, Cancelled));
        assert!(transition_allowed(Approved, Cancelled));
        for to in [Requested, Approved, Rejected, Cancelled] {
            assert!(!transition_allowed(Rejected, to), "{to:?}");
            assert!(!transition_allowed(Cancelled, to), "{to:?}");
        }
        assert!(!transition_allowed(Approved, Rejected));
    }
}

//! `/api/v1/hr`: departments, positions, employees, contracts, absences and personal data.
//!
//! HR keeps the records (`hr_manage`); HR and managers read the directory (`hr_read`); only HR
//! and the person read personal data (`personal_data_read`), and each read is audit-logged.
//! Everyone requests and cancels their own absences; HR approves or rejects them.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::{Extension, Json};
use chrono::{NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use tenet_events::customers::IdentityKind;
use tenet_events::{Actor, TraceContext};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::query::{date, known_params, limit, page, uuid};
use super::tickets::{text, trace};
use super::{OpsState, user_of};
use crate::audit::{self, Subject};
use crate::customers;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, PathId, object, parse_json};
use crate::hr::{
    self, Absence, AbsenceKind, AbsenceStatus, Contract, Employee, EmployeeFields, HrError, List,
    NewAbsence, PersonalData, Unit,
};
use crate::idempotency;
use crate::rbac::{Action, Scope, authorize};
use crate::sla::{Calendar, PolicyDefinition, PriorityTargets, WeeklyHours};
use crate::users;

/// The longest name accepted.
const MAX_NAME: usize = 200;
/// The longest absence note or decision accepted.
const MAX_NOTE: usize = 2_000;
/// The longest absence accepted, in days.
const MAX_ABSENCE_DAYS: i64 = 366;

impl From<HrError> for ApiError {
    fn from(error: HrError) -> Self {
        match error {
            HrError::NotFound(_) => ApiError::NotFound(error.to_string()),
            HrError::VersionConflict { .. } => ApiError::Conflict(error.to_string()),
            HrError::Taken { field, ref message } => ApiError::Invalid {
                status: StatusCode::CONFLICT,
                field: Some(field.to_owned()),
                message: message.clone(),
            },
            HrError::InvalidTransition { .. } => {
                ApiError::invalid_field("status", error.to_string())
            }
            HrError::Database(error) => ApiError::from(error),
        }
    }
}

fn is_self(actor: &Actor, employee: &Employee) -> bool {
    user_of(actor).is_some_and(|user| employee.user_id == Some(user))
}

async fn found(state: &OpsState, actor: &Actor, id: Uuid) -> Result<Employee, ApiError> {
    hr::employee(&state.db, actor.tenant_id, id)
        .await?
        .ok_or_else(|| HrError::NotFound("employee").into())
}

/// The employee `id` if the caller may do `action` to anyone, or it is the caller themselves;
/// 403 when the table denies `action` and it is not, 404 when it does not exist or is hidden.
async fn employee_for(
    state: &OpsState,
    actor: &Actor,
    action: Action,
    id: Uuid,
) -> Result<Employee, ApiError> {
    let scope = authorize(actor, action);
    let employee = hr::employee(&state.db, actor.tenant_id, id).await?;
    match (scope, employee) {
        (Ok(Scope::Tenant), Some(employee)) => Ok(employee),
        (_, Some(employee)) if is_self(actor, &employee) => Ok(employee),
        (Err(denied), _) => Err(denied),
        _ => Err(HrError::NotFound("employee").into()),
    }
}

/// A new department or position.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUnit {
    /// Its name, unique in the list: 1 to 200 characters after trimming.
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    name: String,
}

async fn add_unit(
    state: &OpsState,
    actor: &Actor,
    list: List,
    body: NewUnit,
) -> Result<(StatusCode, Json<Unit>), ApiError> {
    authorize(actor, Action::HrManage)?;
    let name = text("name", &body.name, 1, MAX_NAME)?;
    let unit = hr::add_unit(&state.db, actor.tenant_id, list, name)
        .await
        .map_err(|error| match &error {
            sqlx::Error::Database(db) if db.is_unique_violation() => ApiError::Invalid {
                status: StatusCode::CONFLICT,
                field: Some("name".into()),
                message: "the name is taken".into(),
            },
            _ => error.into(),
        })?;
    Ok((StatusCode::CREATED, Json(unit)))
}

/// Add a department
#[utoipa::path(
    post,
    path = "/api/v1/hr/departments",
    tag = "hr",
    request_body = NewUnit,
    responses(
        (status = 201, description = "The department was added.", body = Unit),
        (status = 409, description = "The name is taken.", body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = [], "csrf" = []))
)]
pub async fn add_department(
    State(state): State<OpsState>,
    Extension(actor): Extension<Actor>,
    ApiJson(body): ApiJson<NewUnit>,
) -> Result<(StatusCode, Json<Unit>), ApiError> {
    add_unit(&state, &actor, List::Departments, body).await
}

/// List departments
#[utoipa::path(
    get,
    path = "/api/v1/hr/departments",
    tag = "hr",
    responses((status = 200, description = "The departments, by name.", body = Vec<Unit>)),
    security(("bearer" = []), ("session" = []))
)]
pub async fn departments(
    State(state): State<OpsState>,
    Extension(actor): Extension<Actor>,
) -> Result<Json<Vec<Unit>>, ApiError> {
    authorize(&actor, Action::HrRead)?;
    Ok(Json(
        hr::units(&state.db, actor.tenant_id, List::Departments).await?,
    ))
}

/// Add a position
#[utoipa::path(
    post,
    path = "/api/v1/hr/positions",
    tag = "hr",
    request_body = NewUnit,
    responses(
        (status = 201, description = "The position was added.", body = Unit),
        (status = 409, description = "The name is taken.", body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = [], "csrf" = []))
)]
pub async fn add_position(
    State(state): State<OpsState>,
    Extension(actor): Extension<Actor>,
    ApiJson(body): ApiJson<NewUnit>,
) -> Result<(StatusCode, Json<Unit>), ApiError> {
    add_unit(&state, &actor, List::Positions, body).await
}

/// List positions
#[utoipa::path(
    get,
    path = "/api/v1/hr/positions",
    tag = "hr",
    responses((status = 200, description = "The positions, by name.", body = Vec<Unit>)),
    security(("bearer" = []), ("session" = []))
)]
pub async fn positions(
    State(state): State<OpsState>,
    Extension(actor): Extension<Actor>,
) -> Result<Json<Vec<Unit>>, ApiError> {
    authorize(&actor, Action::HrRead)?;
    Ok(Json(
        hr::units(&state.db, actor.tenant_id, List::Positions).await?,
    ))
}

fn checked_personal(personal: PersonalData) -> Result<PersonalData, ApiError> {
    if let Some(birth) = personal.birth_date
        && (birth > Utc::now().date_naive()
            || birth < NaiveDate::from_ymd_opt(1900, 1, 1).unwrap_or(birth))
    {
        return Err(ApiError::invalid_field(
            "birth_date",
            "birth_date must be between 1900-01-01 and today",
        ));
    }
    if personal.phones.len() > 5 {
        return Err(ApiError::invalid_field("phones", "at most 5 phone numbers"));
    }
    let phones = personal
        .phones
        .iter()
        .enumerate()
        .map(|(i, phone)| {
            customers::normalize(IdentityKind::Phone, phone)
                .map_err(|message| ApiError::invalid_field(format!("phones[{i}]"), message))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let address = personal
        .address
        .map(|address| text("address", &address, 1, 500))
        .transpose()?;
    Ok(PersonalData {
        birth_date: personal.birth_date,
        phones,
        address,
    })
}

/// The directory fields of an employee.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmployeeBody {
    /// Full name: 1 to 200 characters after trimming.
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    full_name: String,
    /// The user they sign in as: a user of the tenant, at most one employee each.
    #[serde(default)]
    user_id: Option<Uuid>,
    /// Their department.
    #[serde(default)]
    department_id: Option<Uuid>,
    /// Their position.
    #[serde(default)]
    position_id: Option<Uuid>,
    /// Their access-control badge: 1 to 64 visible characters, one employee each.
    #[serde(default)]
    #[schema(min_length = 1, max_length = 64, pattern = "^[!-~]+$")]
    badge_id: Option<String>,
    /// First working day.
    hired_on: NaiveDate,
    /// Last working day, not before `hired_on`.
    #[serde(default)]
    left_on: Option<NaiveDate>,
}

async fn checked_fields(
    state: &OpsState,
    actor: &Actor,
    body: EmployeeBody,
) -> Result<EmployeeFields, ApiError> {
    let full_name = text("full_name", &body.full_name, 1, MAX_NAME)?;
    if let Some(user) = body.user_id
        && users::get(&state.db, actor.tenant_id, user)
            .await?
            .is_none()
    {
        return Err(ApiError::invalid_field(
            "user_id",
            "no such user in this tenant",
        ));
    }
    for (field, list, id) in [
        ("department_id", List::Departments, body.department_id),
        ("position_id", List::Positions, body.position_id),
    ] {
        if let Some(id) = id
            && !hr::unit_exists(&state.db, actor.tenant_id, list, id).await?
        {
            return Err(ApiError::invalid_field(
                field,
                format!("no such {}", &field[..field.len() - 3]),
            ));
        }
    }
    if body.badge_id.as_ref().is_some_and(|badge| {
        !(1..=64).contains(&badge.len()) || !badge.bytes().all(|b| b.is_ascii_graphic())
    }) {
        return Err(ApiError::invalid_field(
            "badge_id",
            "badge_id must be 1 to 64 visible ASCII characters",
        ));
    }
    if body.left_on.is_some_and(|left| left < body.hired_on) {
        return Err(ApiError::invalid_field(
            "left_on",
            "left_on must not be before hired_on",
        ));
    }
    Ok(EmployeeFields {
        user_id: body.user_id,
        full_name,
        department_id: body.department_id,
        position_id: body.position_id,
        badge_id: body.badge_id,
        hired_on: body.hired_on,
        left_on: body.left_on,
    })
}

/// Add an employee
///
/// With an `Idempotency-Key` header, a retry of the same request answers the first result.
#[utoipa::path(
    post,
    path = "/api/v1/hr/employees",
    tag = "hr",
    request_body = EmployeeBody,
    params(
        ("Idempotency-Key" = Option<String>, Header, pattern = "^[ \\t]*[!-~]([ -~]*[!-~])?[ \\t]*$",
         description = "1 to 200 visible ASCII characters (spaces inside allowed; surrounding whitespace is not part of it) naming this creation; reused only for the same body."),
    ),
    responses(
        (status = 201, description = "The employee was added.", body = Employee),
        (status = 409, description = "The user or badge belongs to another employee.", body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = [], "csrf" = []))
)]
pub async fn create_employee(
    State(state): State<OpsState>,
    Extension(actor): Extension<Actor>,
    context: Option<Extension<TraceContext>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    authorize(&actor, Action::HrManage)?;
    let request: EmployeeBody = parse_json(&headers, &body)?;
    let fields = checked_fields(&state, &actor, request).await?;
    idempotency::create_once(&state.db, actor.tenant_id, &headers, &body, async || {
        hr::create_employee(
            &state.db,
            &actor,
            trace(&context),
            fields,
            &PersonalData::default(),
        )
        .await
    })
    .await
}

/// One page of employees.
#[derive(Serialize, ToSchema)]
pub struct EmployeePage {
    /// The employees.
    items: Vec<Employee>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    next_cursor: Option<Uuid>,
}

/// The query parameters of `GET /api/v1/hr/employees`.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct ListEmployees {
    /// Only this department's.
    department_id: Option<Uuid>,
    /// The `next_cursor` of the previous page.
    cursor: Option<Uuid>,
    /// At most this many, 1 to 500 (default 100).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<i64>,
}

/// List employees
///
/// The directory: no personal data.
#[utoipa::path(
    get,
    path = "/api/v1/hr/employees",
    tag = "hr",
    params(ListEmployees),
    responses(
        (status = 200, description = "A page of employees.", body = EmployeePage),
        (status = 400, description = "The query string is malformed.", body = ErrorBody),
        (status = 422, description = "A parameter is unknown or invalid; `details.field` names it.", body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = []))
)]
pub async fn employees(
    State(state): State<OpsState>,
    Extension(actor): Extension<Actor>,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Json<EmployeePage>, ApiError> {
    let params = known_params(query, &["department_id", "cursor", "limit"])?;
    authorize(&actor, Action::HrRead)?;
    let limit = limit(&params, 100, 500)?;
    let mut items = hr::employees(
        &state.db,
        actor.tenant_id,
        uuid(&params, "department_id")?,
        uuid(&params, "cursor")?,
        limit + 1,
    )
    .await?;
    let next_cursor = page(&mut items, limit, |employee| employee.id);
    Ok(Json(EmployeePage { items, next_cursor }))
}

/// Read an employee
///
/// The directory record (no personal data), for HR, managers and the person.
#[utoipa::path(
    get,
    path = "/api/v1/hr/employees/{id}",
    tag = "hr",
    params(("id" = uuid::Uuid, Path, description = "The employee's id.")),
    responses(
        (status = 200, description = "The employee.", body = Employee),
        (status = 404, description = "No such employee.", body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = []))
)]
pub async fn employee(
    State(state): State<OpsState>,
    Extension(actor): Extension<Actor>,
    PathId(id): PathId,
) -> Result<Json<Employee>, ApiError> {
    Ok(Json(
        employee_for(&state, &actor, Action::HrRead, id).await?,
    ))
}

/// A change to an employee's directory record, based on the version the caller saw; it
/// replaces every directory field.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateEmployee {
    /// The employee's `version` the change is based on.
    version: i64,
    /// Full name: 1 to 200 characters after trimming.
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    full_name: String,
    /// The user they sign in as: a user of the tenant, at most one employee each.
    #[serde(default)]
    user_id: Option<Uuid>,
    /// Their department.
    #[serde(default)]
    department_id: Option<Uuid>,
    /// Their position.
    #[serde(default)]
    position_id: Option<Uuid>,
    /// Their access-control badge: 1 to 64 visible characters, one employee each.
    #[serde(default)]
    #[schema(min_length = 1, max_length = 64, pattern = "^[!-~]+$")]
    badge_id: Option<String>,
    /// First working day.
    hired_on: NaiveDate,
    /// Last working day, not before `hired_on`.
    #[serde(default)]
    left_on: Option<NaiveDate>,
}

/// Change an employee
#[utoipa::path(
    put,
    path = "/api/v1/hr/employees/{id}",
    tag = "hr",
    params(("id" = uuid::Uuid, Path, description = "The employee's id.")),
    request_body = UpdateEmployee,
    responses(
        (status = 200, description = "The changed employee.", body = Employee),
        (status = 404, description = "No such employee.", body = ErrorBody),
        (status = 409, description = "Someone changed the employee since `version`, or the user or badge is taken.", body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = [], "csrf" = []))
)]
pub async fn update_employee(
    State(state): State<OpsState>,
    Extension(actor): Extension<Actor>,
    context: Option<Extension<TraceContext>>,
    PathId(id): PathId,
    ApiJson(body): ApiJson<UpdateEmployee>,
) -> Result<Json<Employee>, ApiError> {
    authorize(&actor, Action::HrManage)?;
    let employee = found(&state, &actor, id).await?;
    let version = body.version;
    let fields = checked_fields(
        &state,
        &actor,
        EmployeeBody {
            full_name: body.full_name,
            user_id: body.user_id,
            department_id: body.department_id,
            position_id: body.position_id,
            badge_id: body.badge_id,
            hired_on: body.hired_on,
            left_on: body.left_on,
        },
    )
    .await?;
    let personal = employee.personal_data()?;
    Ok(Json(
        hr::update_employee(
            &state.db,
            &actor,
            trace(&context),
            &employee,
            version,
            fields,
            &personal,
        )
        .await?,
    ))
}

/// An employee's personal data, with the version of their record.
#[derive(Serialize, ToSchema)]
pub struct PersonalDataView {
    /// The employee's `version`: send it back with a change.
    version: i64,
    /// The data.
    #[serde(flatten)]
    data: PersonalData,
}

/// Read an employee's personal data
///
/// For HR and the person themselves; every read is recorded in the audit log.
#[utoipa::path(
    get,
    path = "/api/v1/hr/employees/{id}/personal-data",
    tag = "hr",
    params(("id" = uuid::Uuid, Path, description = "The employee's id.")),
    responses(
        (status = 200, description = "The personal data.", body = PersonalDataView),
        (status = 404, description = "No such employee.", body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = []))
)]
pub async fn personal_data(
    State(state): State<OpsState>,
    Extension(actor): Extension<Actor>,
    PathId(id): PathId,
) -> Result<Json<PersonalDataView>, ApiError> {
    let employee = employee_for(&state, &actor, Action::PersonalDataRead, id).await?;
    let data = employee.personal_data()?;
    audit::record_reads(&state.db, &actor, Subject::Employee, &[employee.id], "read").await?;
    Ok(Json(PersonalDataView {
        version: employee.version,
        data,
    }))
}

/// New personal data of an employee, replacing the old.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PutPersonalData {
    /// The employee's `version` the change is based on.
    version: i64,
    /// Date of birth.
    #[serde(default)]
    birth_date: Option<NaiveDate>,
    /// Phone numbers in international format, up to 5.
    #[serde(default)]
    #[schema(max_items = 5)]
    phones: Vec<String>,
    /// Home address, up to 500 characters.
    #[serde(default)]
    #[schema(max_length = 500)]
    address: Option<String>,
}

/// Change an employee's personal data
///
/// For HR and the person themselves.
#[utoipa::path(
    put,
    path = "/api/v1/hr/employees/{id}/personal-data",
    tag = "hr",
    params(("id" = uuid::Uuid, Path, description = "The employee's id.")),
    request_body = PutPersonalData,
    responses(
        (status = 200, description = "The stored personal data.", body = PersonalDataView),
        (status = 404, description = "No such employee.", body = ErrorBody),
        (status = 409, description = "Someone changed the employee since `version`.", body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = [], "csrf" = []))
)]
pub async fn put_personal_data(
    State(state): State<OpsState>,
    Extension(actor): Extension<Actor>,
    context: Option<Extension<TraceContext>>,
    PathId(id): PathId,
    ApiJson(body): ApiJson<PutPersonalData>,
) -> Result<Json<PersonalDataView>, ApiError> {
    let employee = employee_for(&state, &actor, Action::PersonalDataRead, id).await?;
    let data = checked_personal(PersonalData {
        birth_date: body.birth_date,
        phones: body.phones,
        address: body.address,
    })?;
    let fields = EmployeeFields {
        user_id: employee.user_id,
        full_name: employee.full_name.clone(),
        department_id: employee.department_id,
        position_id: employee.position_id,
        badge_id: employee.badge_id.clone(),
        hired_on: employee.hired_on,
        left_on: employee.left_on,
    };
    let updated = hr::update_employee(
        &state.db,
        &actor,
        trace(&context),
        &employee,
        body.version,
        fields,
        &data,
    )
    .await?;
    Ok(Json(PersonalDataView {
        version: updated.version,
        data,
    }))
}

/// A new contract.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewContract {
    /// The day it takes effect.
    valid_from: NaiveDate,
    /// Contracted hours a week: more than 0, at most 80.
    #[schema(exclusive_minimum = 0, maximum = 80)]
    hours_per_week: f64,
    /// When the employee is scheduled to be present, by weekday (`HH:MM` intervals).
    #[serde(deserialize_with = "object::required")]
    work_pattern: WeeklyHours,
}

fn checked_pattern(pattern: &WeeklyHours) -> Result<Calendar, ApiError> {
    PolicyDefinition {
        time_zone: "UTC".into(),
        always_open: false,
        business_hours: pattern.clone(),
        holidays: Default::default(),
        targets: PriorityTargets::default(),
    }
    .calendar()
    .map_err(|(field, message)| {
        ApiError::invalid_field(field.replacen("business_hours", "work_pattern", 1), message)
    })
}

/// Add a contract
///
/// Takes effect on `valid_from` and holds until the next contract's day.
#[utoipa::path(
    post,
    path = "/api/v1/hr/employees/{id}/contracts",
    tag = "hr",
    params(("id" = uuid::Uuid, Path, description = "The employee's id.")),
    request_body = NewContract,
    responses(
        (status = 201, description = "The contract was recorded.", body = Contract),
        (status = 404, description = "No such employee.", body = ErrorBody),
        (status = 409, description = "A contract from that day exists.", body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = [], "csrf" = []))
)]
pub async fn add_contract(
    State(state): State<OpsState>,
    Extension(actor): Extension<Actor>,
    context: Option<Extension<TraceContext>>,
    PathId(id): PathId,
    ApiJson(body): ApiJson<NewContract>,
) -> Result<(StatusCode, Json<Contract>), ApiError> {
    authorize(&actor, Action::HrManage)?;
    let employee = found(&state, &actor, id).await?;
    if !(body.hours_per_week > 0.0 && body.hours_per_week <= 80.0) {
        return Err(ApiError::invalid_field(
            "hours_per_week",
            "hours_per_week must be more than 0 and at most 80",
        ));
    }
    checked_pattern(&body.work_pattern)?;
    let contract = hr::add_contract(
        &state.db,
        &actor,
        trace(&context),
        employee.id,
        body.valid_from,
        body.hours_per_week,
        body.work_pattern,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(contract)))
}

/// List an employee's contracts
#[utoipa::path(
    get,
    path = "/api/v1/hr/employees/{id}/contracts",
    tag = "hr",
    params(("id" = uuid::Uuid, Path, description = "The employee's id.")),
    responses(
        (status = 200, description = "The contracts, in the order they took effect.", body = Vec<Contract>),
        (status = 404, description = "No such employee.", body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = []))
)]
pub async fn contracts(
    State(state): State<OpsState>,
    Extension(actor): Extension<Actor>,
    PathId(id): PathId,
) -> Result<Json<Vec<Contract>>, ApiError> {
    let employee = employee_for(&state, &actor, Action::HrRead, id).await?;
    Ok(Json(
        hr::contracts(&state.db, actor.tenant_id, employee.id).await?,
    ))
}

/// An absence request.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RequestAbsence {
    /// What kind.
    #[schema(value_type = crate::openapi::AbsenceKindSchema)]
    kind: AbsenceKind,
    /// First day away.
    starts_on: NaiveDate,
    /// Last day away: not before `starts_on`, at most 366 days later.
    ends_on: NaiveDate,
    /// What the request says, up to 2,000 characters.
    #[serde(default)]
    #[schema(max_length = 2000)]
    note: String,
}

/// Request an absence
///
/// The person for themselves, HR for anyone; it waits for HR's decision.
#[utoipa::path(
    post,
    path = "/api/v1/hr/employees/{id}/absences",
    tag = "hr",
    params(("id" = uuid::Uuid, Path, description = "The employee's id.")),
    request_body = RequestAbsence,
    responses(
        (status = 201, description = "The absence was requested.", body = Absence),
        (status = 404, description = "No such employee, or not the caller.", body = ErrorBody),
        (status = 409, description = "It overlaps another requested or approved absence.", body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = [], "csrf" = []))
)]
pub async fn request_absence(
    State(state): State<OpsState>,
    Extension(actor): Extension<Actor>,
    context: Option<Extension<TraceContext>>,
    PathId(id): PathId,
    ApiJson(body): ApiJson<RequestAbsence>,
) -> Result<(StatusCode, Json<Absence>), ApiError> {
    let employee = employee_for(&state, &actor, Action::AbsenceRequest, id).await?;
    if body.ends_on < body.starts_on {
        return Err(ApiError::invalid_field(
            "ends_on",
            "ends_on must not be before starts_on",
        ));
    }
    if (body.ends_on - body.starts_on).num_days() >= MAX_ABSENCE_DAYS {
        return Err(ApiError::invalid_field(
            "ends_on",
            format!("an absence lasts at most {MAX_ABSENCE_DAYS} days"),
        ));
    }
    let note = text("note", &body.note, 0, MAX_NOTE)?;
    let absence = hr::request_absence(
        &state.db,
        &actor,
        trace(&context),
        employee.id,
        NewAbsence {
            kind: body.kind,
            starts_on: body.starts_on,
            ends_on: body.ends_on,
            note,
        },
    )
    .await?;
    Ok((StatusCode::CREATED, Json(absence)))
}

/// The query parameters of `GET /api/v1/hr/absences`.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct ListAbsences {
    /// Only this employee's.
    employee_id: Option<Uuid>,
    /// Only in this status.
    #[param(value_type = Option<crate::openapi::AbsenceStatusSchema>)]
    status: Option<String>,
    /// Only absences that last until this day or later.
    from: Option<NaiveDate>,
    /// Only absences that start on this day or earlier.
    to: Option<NaiveDate>,
}

/// List absences
///
/// HR and managers see everyone's; others see their own. At most 1,000, by first day.
#[utoipa::path(
    get,
    path = "/api/v1/hr/absences",
    tag = "hr",
    params(ListAbsences),
    responses(
        (status = 200, description = "The absences.", body = Vec<Absence>),
        (status = 400, description = "The query string is malformed.", body = ErrorBody),
        (status = 422, description = "A parameter is unknown or invalid; `details.field` names it.", body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = []))
)]
pub async fn absences(
    State(state): State<OpsState>,
    Extension(actor): Extension<Actor>,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Json<Vec<Absence>>, ApiError> {
    let params = known_params(query, &["employee_id", "status", "from", "to"])?;
    let status = params
        .get("status")
        .map(|value| {
            serde_json::from_value::<AbsenceStatus>(serde_json::Value::String(value.clone()))
                .map_err(|_| {
                    ApiError::invalid_field(
                        "status",
                        "status must be requested, approved, rejected or cancelled",
                    )
                })
        })
        .transpose()?;
    let (from, to) = (date(&params, "from")?, date(&params, "to")?);
    let mut employee = uuid(&params, "employee_id")?;
    if authorize(&actor, Action::HrRead).is_err() {
        // Everyone else sees their own absences only.
        authorize(&actor, Action::AbsenceRequest)?;
        let own = match user_of(&actor) {
            Some(user) => hr::employee_of_user(&state.db, actor.tenant_id, user).await?,
            None => None,
        };
        match (own, employee) {
            (Some(own), None) => employee = Some(own.id),
            (Some(own), Some(asked)) if asked == own.id => {}
            _ => return Ok(Json(Vec::new())),
        }
    }
    Ok(Json(
        hr::absences(&state.db, actor.tenant_id, employee, status, from, to).await?,
    ))
}

/// A decision on an absence.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecideAbsence {
    /// The absence's `version` the decision is based on.
    version: i64,
    /// `approved` or `rejected` (HR), or `cancelled` (HR, or the person for their own).
    #[schema(value_type = crate::openapi::AbsenceStatusSchema)]
    status: AbsenceStatus,
    /// Why, up to 2,000 characters.
    #[serde(default)]
    #[schema(max_length = 2000)]
    note: Option<String>,
}

/// Approve, reject or cancel an absence
#[utoipa::path(
    patch,
    path = "/api/v1/hr/absences/{id}",
    tag = "hr",
    params(("id" = uuid::Uuid, Path, description = "The absence's id.")),
    request_body = DecideAbsence,
    responses(
        (status = 200, description = "The absence after the decision.", body = Absence),
        (status = 404, description = "No such absence, or not one the caller may decide.", body = ErrorBody),
        (status = 409, description = "Someone changed the absence since `version`.", body = ErrorBody),
        (status = 422, description = "A status the approval flow does not allow.", body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = [], "csrf" = []))
)]
pub async fn decide_absence(
    State(state): State<OpsState>,
    Extension(actor): Extension<Actor>,
    context: Option<Extension<TraceContext>>,
    PathId(id): PathId,
    ApiJson(body): ApiJson<DecideAbsence>,
) -> Result<Json<Absence>, ApiError> {
    let absence = hr::absence(&state.db, actor.tenant_id, id)
        .await?
        .ok_or(HrError::NotFound("absence"))?;
    let hr_decides = authorize(&actor, Action::HrManage).is_ok();
    if !hr_decides {
        let employee = found(&state, &actor, absence.employee_id).await?;
        if !is_self(&actor, &employee) {
            return Err(HrError::NotFound("absence").into());
        }
        if body.status != AbsenceStatus::Cancelled {
            return Err(ApiError::Forbidden(
                "only HR approves or rejects absences".into(),
            ));
        }
    }
    let note = body
        .note
        .map(|note| text("note", &note, 0, MAX_NOTE))
        .transpose()?;
    Ok(Json(
        hr::decide_absence(
            &state.db,
            &actor,
            trace(&context),
            &absence,
            body.version,
            body.status,
            note,
        )
        .await?,
    ))
}

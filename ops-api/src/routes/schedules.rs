//! `/api/v1/wfm/schedules`: publishing weekly schedules and reading them back.
//!
//! Planners (`schedule_publish`) publish a week; each publication of a week is a new version
//! that supersedes the earlier ones. Managers read every schedule (`schedule_read`); operators
//! read only their own shifts.

use std::collections::HashMap;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use tenet_events::{Actor, TraceContext};
use utoipa::IntoParams;

use super::query::{date, known_params, limit};
use super::tickets::trace;
use super::{OpsState, user_of};
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, PathId};
use crate::rbac::{Action, Scope, authorize};
use crate::schedules::{
    self, InvalidSchedule, ListFilter, NewSchedule, Reader, Schedule, ScheduleError,
    ScheduleSummary, Week,
};
use crate::users;

impl From<InvalidSchedule> for ApiError {
    fn from(error: InvalidSchedule) -> Self {
        ApiError::invalid_field(error.field, error.message)
    }
}

impl From<ScheduleError> for ApiError {
    fn from(error: ScheduleError) -> Self {
        match error {
            ScheduleError::Concurrent(_) => ApiError::Conflict(error.to_string()),
            ScheduleError::Database(error) => ApiError::from(error),
        }
    }
}

/// Whose shifts the caller reads: everyone's for tenant scope, their own for assigned scope
/// (an API token of an operator has no shifts).
fn reader(actor: &Actor) -> Result<Option<Reader>, ApiError> {
    Ok(match authorize(actor, Action::ScheduleRead)? {
        Scope::Assigned | Scope::Projects => user_of(actor).map(Reader::Own),
        Scope::Tenant => Some(Reader::Everyone),
        Scope::Denied => None,
    })
}

/// Publish a week's schedule
///
/// Stores the week as its next version (1 for a week never published) and writes one
/// `schedule.activity_scheduled` event per activity of every shift and a closing
/// `schedule.published` event in the same transaction. The new version supersedes every
/// earlier version of the same `week_start`.
#[utoipa::path(
    post,
    path = "/api/v1/wfm/schedules",
    tag = "schedules",
    request_body = NewSchedule,
    responses(
        (status = 201, description = "The week was published as its next version.", body = Schedule),
        (status = 409, description = "Another publication of the same week committed first; publish again.", body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = [], "csrf" = []))
)]
pub async fn publish(
    State(state): State<OpsState>,
    Extension(actor): Extension<Actor>,
    context: Option<Extension<TraceContext>>,
    ApiJson(body): ApiJson<NewSchedule>,
) -> Result<(StatusCode, Json<Schedule>), ApiError> {
    authorize(&actor, Action::SchedulePublish)?;
    let week = Week::parse(body)?;
    let mut known = HashMap::new();
    for (i, user) in week.users() {
        let exists = match known.get(&user) {
            Some(exists) => *exists,
            None => {
                let exists = users::get(&state.db, actor.tenant_id, user)
                    .await?
                    .is_some();
                known.insert(user, exists);
                exists
            }
        };
        if !exists {
            return Err(ApiError::invalid_field(
                format!("shifts[{i}].user_id"),
                "no such user in the tenant",
            ));
        }
    }
    let schedule = schedules::publish(&state.db, &actor, trace(&context), &week).await?;
    Ok((StatusCode::CREATED, Json(schedule)))
}

/// Which schedules to list.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct ListParams {
    /// Only the versions of the week starting on this day (YYYY-MM-DD).
    week_start: Option<chrono::NaiveDate>,
    /// `true` to list superseded versions too; by default only each week's current one.
    include_superseded: Option<bool>,
    /// At most this many, 1 to 500 (default 50).
    limit: Option<i64>,
}

/// List published schedules
///
/// Newest week first, then newest version. Operators see the versions that hold a shift of
/// theirs.
#[utoipa::path(
    get,
    path = "/api/v1/wfm/schedules",
    tag = "schedules",
    params(ListParams),
    responses(
        (status = 200, description = "The versions, without their shifts.", body = Vec<ScheduleSummary>),
        (status = 422, description = "A parameter is invalid: `week_start` not a date, `include_superseded` not a boolean, `limit` outside 1 to 500.", body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = []))
)]
pub async fn list(
    State(state): State<OpsState>,
    Extension(actor): Extension<Actor>,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Json<Vec<ScheduleSummary>>, ApiError> {
    let reader = reader(&actor)?;
    let params = known_params(query, &["week_start", "include_superseded", "limit"])?;
    let filter = ListFilter {
        week_start: date(&params, "week_start")?,
        include_superseded: match params.get("include_superseded").map(String::as_str) {
            None | Some("false") => false,
            Some("true") => true,
            Some(_) => {
                return Err(ApiError::invalid_field(
                    "include_superseded",
                    "include_superseded must be true or false",
                ));
            }
        },
    };
    let limit = limit(&params, 50, 500)?;
    let Some(reader) = reader else {
        return Ok(Json(Vec::new()));
    };
    Ok(Json(
        schedules::list(&state.db, actor.tenant_id, reader, filter, limit).await?,
    ))
}

/// Get a published schedule
///
/// The version with its shifts, by agent and start; operators get only their own shifts, and
/// 404 for a version without any.
#[utoipa::path(
    get,
    path = "/api/v1/wfm/schedules/{id}",
    tag = "schedules",
    params(("id" = uuid::Uuid, Path, description = "The version's id.")),
    responses(
        (status = 200, description = "The version and its shifts.", body = Schedule),
        (status = 404, description = "No such version, or none of the caller's shifts in it.", body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = []))
)]
pub async fn get(
    State(state): State<OpsState>,
    Extension(actor): Extension<Actor>,
    PathId(id): PathId,
) -> Result<Json<Schedule>, ApiError> {
    let not_found = || ApiError::NotFound("no such schedule".into());
    let reader = reader(&actor)?.ok_or_else(not_found)?;
    schedules::get(&state.db, actor.tenant_id, reader, id)
        .await?
        .map(Json)
        .ok_or_else(not_found)
}

//! `/api/v1/tickets/{id}/tasks` and `/api/v1/tickets/{id}/time-entries`: follow-up tasks on a
//! ticket, and the time spent working it.
//!
//! Both are the work of those who may change the ticket (`ticket_update`): an executor on
//! the tickets assigned to them, operators and managers on their projects' tickets.

use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};
use chrono::{DateTime, SubsecRound, Utc};
use serde::{Deserialize, Deserializer, Serialize};
use tenet_events::Actor;
use utoipa::ToSchema;
use uuid::Uuid;

use super::OpsState;
use super::tickets::{text, visible};
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, ChildPath, PathId};
use crate::rbac::Action;
use crate::tasks::{self, Task, TaskChange, TaskError, TimeEntry};

/// The longest task title accepted.
const MAX_TITLE: usize = 300;
/// The longest time-entry note accepted.
const MAX_NOTE: usize = 2_000;
/// The most minutes one entry may log: a day.
const MAX_MINUTES: i32 = 1_440;

impl From<TaskError> for ApiError {
    fn from(error: TaskError) -> Self {
        match error {
            TaskError::NotFound => ApiError::NotFound(error.to_string()),
            TaskError::VersionConflict { .. } => ApiError::Conflict(error.to_string()),
            TaskError::UnknownAssignee(_) => {
                ApiError::invalid_field("assignee_id", error.to_string())
            }
            TaskError::NoChange => ApiError::invalid_field("body", error.to_string()),
            TaskError::Database(error) => ApiError::from(error),
        }
    }
}

/// A new task.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTask {
    /// What is to be done: 1 to 300 characters after trimming.
    #[schema(min_length = 1, max_length = 300, pattern = r"\S")]
    title: String,
    /// Who should do it: an active user of the tenant.
    #[serde(default)]
    assignee_id: Option<Uuid>,
    /// When it should be done by.
    #[serde(default)]
    due_at: Option<DateTime<Utc>>,
}

/// Add a task to a ticket
#[utoipa::path(
    post,
    path = "/api/v1/tickets/{id}/tasks",
    tag = "tickets",
    params(("id" = uuid::Uuid, Path, description = "The ticket's id.")),
    request_body = CreateTask,
    responses(
        (status = 201, description = "The task was created, open.", body = Task),
        (status = 404, description = "No such ticket, or not one the caller may work.", body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = [], "csrf" = []))
)]
pub async fn create(
    State(state): State<OpsState>,
    Extension(actor): Extension<Actor>,
    PathId(id): PathId,
    ApiJson(body): ApiJson<CreateTask>,
) -> Result<(StatusCode, Json<Task>), ApiError> {
    let ticket = visible(&state, &actor, Action::TicketUpdate, id).await?;
    let title = text("title", &body.title, 1, MAX_TITLE)?;
    let task = tasks::create(
        &state.db,
        &actor,
        &ticket,
        title,
        body.assignee_id,
        body.due_at.map(|due| due.trunc_subsecs(6)),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(task)))
}

/// List a ticket's tasks
///
/// Open and closed, oldest first.
#[utoipa::path(
    get,
    path = "/api/v1/tickets/{id}/tasks",
    tag = "tickets",
    params(("id" = uuid::Uuid, Path, description = "The ticket's id.")),
    responses(
        (status = 200, description = "The tasks.", body = Vec<Task>),
        (status = 404, description = "No such ticket, or not one the caller may work.", body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = []))
)]
pub async fn list(
    State(state): State<OpsState>,
    Extension(actor): Extension<Actor>,
    PathId(id): PathId,
) -> Result<Json<Vec<Task>>, ApiError> {
    let ticket = visible(&state, &actor, Action::TicketUpdate, id).await?;
    Ok(Json(tasks::list(&state.db, &actor, ticket.id).await?))
}

fn present<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// A change to a task, based on the version the caller saw.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateTask {
    /// The task's `version` the change is based on.
    version: i64,
    /// The new title: 1 to 300 characters after trimming.
    #[serde(default)]
    #[schema(min_length = 1, max_length = 300, pattern = r"\S")]
    title: Option<String>,
    /// The new assignee, an active user of the tenant; `null` unassigns.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<uuid::Uuid>)]
    assignee_id: Option<Option<Uuid>>,
    /// The new due time; `null` clears it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<DateTime<Utc>>)]
    due_at: Option<Option<DateTime<Utc>>>,
    /// `true` closes the task, `false` reopens it.
    #[serde(default)]
    done: Option<bool>,
}

/// Change a task
///
/// Rename, reassign, reschedule, close or reopen a task if it is still at `version`.
#[utoipa::path(
    patch,
    path = "/api/v1/tickets/{id}/tasks/{task_id}",
    tag = "tickets",
    params(
        ("id" = uuid::Uuid, Path, description = "The ticket's id."),
        ("task_id" = uuid::Uuid, Path, description = "The task's id."),
    ),
    request_body = UpdateTask,
    responses(
        (status = 200, description = "The changed task.", body = Task),
        (status = 404, description = "No such ticket or task, or not one the caller may work.", body = ErrorBody),
        (status = 409, description = "Someone changed the task since `version`; reload and retry.", body = ErrorBody),
        (status = 422, description = "An unknown assignee, or no change at all; `details.field` names it.", body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = [], "csrf" = []))
)]
pub async fn update(
    State(state): State<OpsState>,
    Extension(actor): Extension<Actor>,
    path: ChildPath,
    ApiJson(body): ApiJson<UpdateTask>,
) -> Result<Json<Task>, ApiError> {
    let ticket = visible(&state, &actor, Action::TicketUpdate, path.parent).await?;
    let task = tasks::get(&state.db, &actor, ticket.id, path.child)
        .await?
        .ok_or(TaskError::NotFound)?;
    let title = body
        .title
        .map(|title| text("title", &title, 1, MAX_TITLE))
        .transpose()?;
    let change = TaskChange {
        title,
        assignee_id: body.assignee_id,
        due_at: body.due_at.map(|due| due.map(|due| due.trunc_subsecs(6))),
        done: body.done,
    };
    Ok(Json(
        tasks::update(&state.db, &actor, &task, body.version, change).await?,
    ))
}

/// Time spent on a ticket.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LogTime {
    /// Minutes spent: 1 to 1,440.
    #[schema(minimum = 1, maximum = 1440)]
    minutes: i32,
    /// What was done, up to 2,000 characters.
    #[serde(default)]
    #[schema(max_length = 2000)]
    note: String,
    /// When the work was done; now when left out. Not in the future.
    #[serde(default)]
    worked_at: Option<DateTime<Utc>>,
}

/// Log time spent on a ticket
#[utoipa::path(
    post,
    path = "/api/v1/tickets/{id}/time-entries",
    tag = "tickets",
    params(("id" = uuid::Uuid, Path, description = "The ticket's id.")),
    request_body = LogTime,
    responses(
        (status = 201, description = "The time was logged.", body = TimeEntry),
        (status = 404, description = "No such ticket, or not one the caller may work.", body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = [], "csrf" = []))
)]
pub async fn log_time(
    State(state): State<OpsState>,
    Extension(actor): Extension<Actor>,
    PathId(id): PathId,
    ApiJson(body): ApiJson<LogTime>,
) -> Result<(StatusCode, Json<TimeEntry>), ApiError> {
    let ticket = visible(&state, &actor, Action::TicketUpdate, id).await?;
    if !(1..=MAX_MINUTES).contains(&body.minutes) {
        return Err(ApiError::invalid_field(
            "minutes",
            format!("minutes must be 1 to {MAX_MINUTES}"),
        ));
    }
    let note = text("note", &body.note, 0, MAX_NOTE)?;
    let now = Utc::now();
    // Microseconds, as PostgreSQL stores them.
    let worked_at = body.worked_at.unwrap_or(now).trunc_subsecs(6);
    if worked_at > now + chrono::Duration::minutes(5) {
        return Err(ApiError::invalid_field(
            "worked_at",
            "worked_at must not be in the future",
        ));
    }
    let entry = tasks::log_time(&state.db, &actor, &ticket, body.minutes, note, worked_at).await?;
    Ok((StatusCode::CREATED, Json(entry)))
}

/// The time logged on a ticket.
#[derive(Serialize, ToSchema)]
pub struct TimeSpent {
    /// Every entry, in the order the work was done.
    entries: Vec<TimeEntry>,
    /// The sum of their minutes.
    total_minutes: i64,
}

/// Read the time spent on a ticket
#[utoipa::path(
    get,
    path = "/api/v1/tickets/{id}/time-entries",
    tag = "tickets",
    params(("id" = uuid::Uuid, Path, description = "The ticket's id.")),
    responses(
        (status = 200, description = "The entries and their total.", body = TimeSpent),
        (status = 404, description = "No such ticket, or not one the caller may work.", body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = []))
)]
pub async fn time_spent(
    State(state): State<OpsState>,
    Extension(actor): Extension<Actor>,
    PathId(id): PathId,
) -> Result<Json<TimeSpent>, ApiError> {
    let ticket = visible(&state, &actor, Action::TicketUpdate, id).await?;
    let entries = tasks::time_entries(&state.db, &actor, ticket.id).await?;
    let total_minutes = entries.iter().map(|entry| i64::from(entry.minutes)).sum();
    Ok(Json(TimeSpent {
        entries,
        total_minutes,
    }))
}

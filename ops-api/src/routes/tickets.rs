//! `/api/v1/tickets`: create, list, read and work tickets.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::{Deserialize, Deserializer, Serialize};
use tenet_events::identity::Principal;
use tenet_events::tickets::{Channel, TicketPriority, TicketStatus};
use tenet_events::{Actor, Role, TraceContext};
use uuid::Uuid;

use super::OpsState;
use crate::error::ApiError;
use crate::extract::{ApiJson, parse_json};
use crate::idempotency::{self, Claim};
use crate::projects;
use crate::rbac::{Action, Scope, authorize};
use crate::tickets::{
    self, Comment, HistoryEntry, NewTicket, Ticket, TicketChange, TicketError, TicketFilter,
    Visibility,
};

/// The longest subject accepted.
const MAX_SUBJECT: usize = 300;
/// The longest description or comment accepted.
const MAX_TEXT: usize = 100_000;

impl From<TicketError> for ApiError {
    fn from(error: TicketError) -> Self {
        match error {
            TicketError::NotFound => ApiError::NotFound("no such ticket".into()),
            TicketError::VersionConflict { .. } => ApiError::Conflict(error.to_string()),
            TicketError::InvalidTransition { .. } => {
                ApiError::invalid_field("status", error.to_string())
            }
            TicketError::UnknownAssignee(_) => {
                ApiError::invalid_field("assignee_id", error.to_string())
            }
            TicketError::NoChange => ApiError::invalid_field("body", error.to_string()),
            TicketError::Database(error) => ApiError::from(error),
        }
    }
}

fn trace(context: &Option<Extension<TraceContext>>) -> Option<&TraceContext> {
    context.as_ref().map(|Extension(trace)| trace)
}

fn text(field: &str, value: &str, min: usize, max: usize) -> Result<String, ApiError> {
    let trimmed = value.trim();
    let length = trimmed.chars().count();
    if length < min || length > max {
        return Err(ApiError::invalid_field(
            field,
            format!("{field} must be {min} to {max} characters"),
        ));
    }
    Ok(trimmed.to_owned())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateTicket {
    project_id: Uuid,
    subject: String,
    #[serde(default)]
    description: String,
    channel: Channel,
    #[serde(default = "normal")]
    priority: TicketPriority,
    #[serde(default)]
    assignee_id: Option<Uuid>,
}

fn normal() -> TicketPriority {
    TicketPriority::Normal
}

async fn project_visible(
    state: &OpsState,
    actor: &Actor,
    scope: Scope,
    project: Uuid,
) -> Result<bool, ApiError> {
    if projects::get(&state.db, actor.tenant_id, project)
        .await?
        .is_none()
    {
        return Ok(false);
    }
    Ok(match (scope, Visibility::of(actor, scope).user) {
        (Scope::Tenant, _) => true,
        (Scope::Projects, Some(user)) => {
            projects::is_member(&state.db, actor.tenant_id, project, user).await?
        }
        _ => false,
    })
}

pub async fn create(
    State(state): State<OpsState>,
    Extension(actor): Extension<Actor>,
    context: Option<Extension<TraceContext>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let scope = authorize(&actor, Action::TicketCreate)?;
    let request: CreateTicket = parse_json(&headers, &body)?;
    let subject = text("subject", &request.subject, 1, MAX_SUBJECT)?;
    let description = text("description", &request.description, 0, MAX_TEXT)?;
    if !project_visible(&state, &actor, scope, request.project_id).await? {
        return Err(ApiError::invalid_field(
            "project_id",
            "no such project, or not one of yours",
        ));
    }
    let claim = idempotency::claim(&state.db, actor.tenant_id, &headers, &body).await?;
    let key = match claim {
        Some(Claim::Replay(status, body)) => {
            return Ok((
                status,
                [(axum::http::header::CONTENT_TYPE, "application/json")],
                body,
            )
                .into_response());
        }
        Some(Claim::Fresh(key)) => Some(key),
        None => None,
    };
    let created = tickets::create(
        &state.db,
        &actor,
        trace(&context),
        NewTicket {
            project_id: request.project_id,
            subject,
            description,
            channel: request.channel,
            priority: request.priority,
            assignee_id: request.assignee_id,
        },
    )
    .await;
    match (created, key) {
        (Ok(ticket), key) => {
            let json = serde_json::to_string(&ticket).map_err(ApiError::internal)?;
            if let Some(key) = key {
                idempotency::finish(&state.db, actor.tenant_id, &key, StatusCode::CREATED, &json)
                    .await?;
            }
            Ok((
                StatusCode::CREATED,
                [(axum::http::header::CONTENT_TYPE, "application/json")],
                json,
            )
                .into_response())
        }
        (Err(error), key) => {
            if let Some(key) = key {
                idempotency::release(&state.db, actor.tenant_id, &key).await?;
            }
            Err(error.into())
        }
    }
}

#[derive(Serialize)]
pub struct Page {
    items: Vec<Ticket>,
    next_cursor: Option<Uuid>,
}

fn query_uuid(params: &HashMap<String, String>, name: &str) -> Result<Option<Uuid>, ApiError> {
    params
        .get(name)
        .map(|value| {
            Uuid::parse_str(value)
                .map_err(|_| ApiError::invalid_field(name, format!("{name} must be a UUID")))
        })
        .transpose()
}

pub async fn list(
    State(state): State<OpsState>,
    Extension(actor): Extension<Actor>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Json<Page>, ApiError> {
    const KNOWN: [&str; 5] = ["project_id", "status", "assignee", "cursor", "limit"];
    if let Some(unknown) = params.keys().find(|key| !KNOWN.contains(&key.as_str())) {
        return Err(ApiError::invalid_field(
            unknown.clone(),
            format!("unknown parameter; known: {}", KNOWN.join(", ")),
        ));
    }
    let scope = authorize(&actor, Action::TicketRead)?;
    let visibility = Visibility::of(&actor, scope);
    let status = params
        .get("status")
        .map(|value| {
            serde_json::from_value::<TicketStatus>(serde_json::Value::String(value.clone()))
                .map_err(|_| {
                    ApiError::invalid_field(
                        "status",
                        "status must be new, open, pending, on_hold, solved or closed",
                    )
                })
        })
        .transpose()?;
    let assignee_id = match params.get("assignee").map(String::as_str) {
        None => None,
        Some("me") => Some(visibility.user.ok_or_else(|| {
            ApiError::invalid_field("assignee", "`me` needs a signed-in user, not an API token")
        })?),
        Some(_) => query_uuid(&params, "assignee")?,
    };
    let limit = match params.get("limit") {
        None => 50,
        Some(value) => value
            .parse::<i64>()
            .ok()
            .filter(|limit| (1..=200).contains(limit))
            .ok_or_else(|| ApiError::invalid_field("limit", "limit must be 1 to 200"))?,
    };
    let filter = TicketFilter {
        project_id: query_uuid(&params, "project_id")?,
        status,
        assignee_id,
        after: query_uuid(&params, "cursor")?,
        limit: limit + 1,
    };
    let mut items = tickets::list(&state.db, &actor, visibility, &filter).await?;
    let next_cursor = if items.len() as i64 > limit {
        items.truncate(limit as usize);
        items.last().map(|ticket| ticket.id)
    } else {
        None
    };
    Ok(Json(Page { items, next_cursor }))
}

async fn visible(
    state: &OpsState,
    actor: &Actor,
    action: Action,
    id: Uuid,
) -> Result<Ticket, ApiError> {
    let scope = authorize(actor, action)?;
    tickets::get(&state.db, actor, Visibility::of(actor, scope), id)
        .await?
        .ok_or_else(|| ApiError::NotFound("no such ticket".into()))
}

pub async fn get(
    State(state): State<OpsState>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<Uuid>,
) -> Result<Json<Ticket>, ApiError> {
    Ok(Json(visible(&state, &actor, Action::TicketRead, id).await?))
}

fn present<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Option<Uuid>>, D::Error> {
    Option::<Uuid>::deserialize(deserializer).map(Some)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateTicket {
    version: i64,
    #[serde(default)]
    status: Option<TicketStatus>,
    #[serde(default)]
    priority: Option<TicketPriority>,
    #[serde(default, deserialize_with = "present")]
    assignee_id: Option<Option<Uuid>>,
}

pub async fn update(
    State(state): State<OpsState>,
    Extension(actor): Extension<Actor>,
    context: Option<Extension<TraceContext>>,
    Path(id): Path<Uuid>,
    ApiJson(body): ApiJson<UpdateTicket>,
) -> Result<Json<Ticket>, ApiError> {
    let ticket = visible(&state, &actor, Action::TicketUpdate, id).await?;
    let change = TicketChange {
        status: body.status,
        priority: body.priority,
        assignee_id: body.assignee_id,
    };
    Ok(Json(
        tickets::update(
            &state.db,
            &actor,
            trace(&context),
            &ticket,
            body.version,
            change,
        )
        .await?,
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateComment {
    body: String,
    #[serde(default)]
    public: Option<bool>,
}

pub async fn comment(
    State(state): State<OpsState>,
    Extension(actor): Extension<Actor>,
    context: Option<Extension<TraceContext>>,
    Path(id): Path<Uuid>,
    ApiJson(request): ApiJson<CreateComment>,
) -> Result<(StatusCode, Json<Comment>), ApiError> {
    let ticket = visible(&state, &actor, Action::TicketComment, id).await?;
    let body = text("body", &request.body, 1, MAX_TEXT)?;
    let public = match (actor.role, request.public) {
        (Role::Customer, Some(false)) => {
            return Err(ApiError::invalid_field(
                "public",
                "customers write public comments only",
            ));
        }
        (Role::Customer, _) => true,
        (_, public) => public.unwrap_or(false),
    };
    let comment =
        tickets::comment(&state.db, &actor, trace(&context), &ticket, body, public).await?;
    Ok((StatusCode::CREATED, Json(comment)))
}

pub async fn comments(
    State(state): State<OpsState>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<Uuid>,
) -> Result<Json<Vec<Comment>>, ApiError> {
    let ticket = visible(&state, &actor, Action::TicketRead, id).await?;
    let internal = actor.role != Role::Customer;
    Ok(Json(
        tickets::comments(&state.db, &actor, ticket.id, internal).await?,
    ))
}

#[derive(Serialize)]
pub struct HistoryView {
    #[serde(flatten)]
    entry: HistoryEntry,
    actor: Principal,
}

pub async fn history(
    State(state): State<OpsState>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<Uuid>,
) -> Result<Json<Vec<HistoryView>>, ApiError> {
    let ticket = visible(&state, &actor, Action::TicketRead, id).await?;
    let entries = tickets::history(&state.db, &actor, ticket.id).await?;
    Ok(Json(
        entries
            .into_iter()
            .map(|entry| HistoryView {
                actor: serde_json::from_str(&entry.actor).unwrap_or(Principal::System),
                entry,
            })
            .collect(),
    ))
}

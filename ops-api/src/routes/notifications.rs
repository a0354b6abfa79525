//! `/api/v1/projects/{id}/notification-rules` and `/api/v1/me/notifications`: who hears of
//! what happens to a project's tickets, and each user's inbox.

use std::collections::{BTreeSet, HashMap};

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use tenet_events::{Actor, TraceContext};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::projects::visible_project;
use super::query::{known_params, limit, page, uuid};
use super::tickets::trace;
use super::{OpsState, user_of};
use crate::admin_events::Change;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, ChildPath, PathId};
use crate::notifications::{self, Notification, Rule, RuleDefinition};
use crate::rbac::Action;
use crate::{users, workflows};

async fn checked(
    state: &OpsState,
    actor: &Actor,
    project: Uuid,
    definition: RuleDefinition,
) -> Result<RuleDefinition, ApiError> {
    let workflow = workflows::current(&state.db, actor, project).await?;
    let mut known = BTreeSet::new();
    for user in &definition.users {
        if users::get(&state.db, actor.tenant_id, *user)
            .await?
            .is_some()
        {
            known.insert(*user);
        }
        if known.len() > notifications::MAX_USERS {
            break;
        }
    }
    definition
        .check(&workflow, &known)
        .map_err(|(field, message)| ApiError::invalid_field(field, message))
}

/// Add a notification rule to a project
///
/// The rule notifies its recipients of what happens to the project's tickets, in the same
/// transaction as the change. Its statuses are checked against the project's current workflow
/// and its users against the tenant's.
#[utoipa::path(
    post,
    path = "/api/v1/projects/{id}/notification-rules",
    tag = "projects",
    params(("id" = uuid::Uuid, Path, description = "The project's id.")),
    request_body = RuleDefinition,
    responses(
        (status = 201, description = "The rule was added.", body = Rule),
        (status = 404, description = "No such project.", body = ErrorBody),
        (status = 422, description = "An invalid name, status, recipient or user; `details.field` names it.", body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = [], "csrf" = []))
)]
pub async fn add_rule(
    State(state): State<OpsState>,
    Extension(actor): Extension<Actor>,
    context: Option<Extension<TraceContext>>,
    PathId(id): PathId,
    ApiJson(body): ApiJson<RuleDefinition>,
) -> Result<(StatusCode, Json<Rule>), ApiError> {
    let project = visible_project(&state, &actor, Action::ProjectManage, id).await?;
    let definition = checked(&state, &actor, project.id, body).await?;
    let rule = notifications::add_rule(
        &state.db,
        Change::now(&actor, trace(&context)),
        project.id,
        definition,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(rule)))
}

/// List a project's notification rules
#[utoipa::path(
    get,
    path = "/api/v1/projects/{id}/notification-rules",
    tag = "projects",
    params(("id" = uuid::Uuid, Path, description = "The project's id.")),
    responses(
        (status = 200, description = "The project's rules, oldest first, retired ones included.", body = Vec<Rule>),
        (status = 404, description = "No such project.", body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = []))
)]
pub async fn rules(
    State(state): State<OpsState>,
    Extension(actor): Extension<Actor>,
    PathId(id): PathId,
) -> Result<Json<Vec<Rule>>, ApiError> {
    let project = visible_project(&state, &actor, Action::ProjectManage, id).await?;
    Ok(Json(
        notifications::rules(&state.db, actor.tenant_id, project.id, false).await?,
    ))
}

/// A change to a notification rule, based on the version the caller saw.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateRule {
    /// The rule's `version` the change is based on.
    version: i64,
    /// Its whole new definition; the current one when left out.
    #[serde(default)]
    definition: Option<RuleDefinition>,
    /// Retire (`false`) or bring back (`true`).
    #[serde(default)]
    active: Option<bool>,
}

/// Change a notification rule
///
/// Replaces what it listens for and whom it notifies, retires it or brings it back.
#[utoipa::path(
    patch,
    path = "/api/v1/projects/{id}/notification-rules/{rule_id}",
    tag = "projects",
    params(
        ("id" = uuid::Uuid, Path, description = "The project's id."),
        ("rule_id" = uuid::Uuid, Path, description = "The rule's id."),
    ),
    request_body = UpdateRule,
    responses(
        (status = 200, description = "The changed rule.", body = Rule),
        (status = 404, description = "No such project or rule.", body = ErrorBody),
        (status = 409, description = "Someone changed the rule since `version`.", body = ErrorBody),
        (status = 422, description = "An invalid definition, or no change; `details.field` names it.", body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = [], "csrf" = []))
)]
pub async fn update_rule(
    State(state): State<OpsState>,
    Extension(actor): Extension<Actor>,
    context: Option<Extension<TraceContext>>,
    path: ChildPath,
    ApiJson(body): ApiJson<UpdateRule>,
) -> Result<Json<Rule>, ApiError> {
    let project = visible_project(&state, &actor, Action::ProjectManage, path.parent).await?;
    let rule = notifications::rules(&state.db, actor.tenant_id, project.id, false)
        .await?
        .into_iter()
        .find(|rule| rule.id == path.child)
        .ok_or_else(|| ApiError::NotFound("no such notification rule in this project".into()))?;
    let stale = || {
        ApiError::Conflict("the rule was changed by someone else; reload it and retry".to_owned())
    };
    if rule.version != body.version {
        return Err(stale());
    }
    if body.definition.is_none() && body.active.is_none() {
        return Err(ApiError::invalid_field(
            "definition",
            "give a new `definition`, `active`, or both",
        ));
    }
    let definition = match body.definition {
        Some(definition) => checked(&state, &actor, project.id, definition).await?,
        None => rule.definition.clone(),
    };
    let active = body.active.unwrap_or(rule.active);
    notifications::update_rule(
        &state.db,
        Change::now(&actor, trace(&context)),
        project.id,
        &rule,
        definition,
        active,
    )
    .await?
    .map(Json)
    .ok_or_else(stale)
}

/// One page of a user's notifications.
#[derive(Serialize, ToSchema)]
pub struct NotificationPage {
    /// The notifications, newest first.
    items: Vec<Notification>,
    /// Pass as `cursor` for the next (older) page; `null` on the last page.
    next_cursor: Option<Uuid>,
}

/// The query parameters of `GET /api/v1/me/notifications`.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct ListNotifications {
    /// `true`: only unread notifications.
    unread: Option<bool>,
    /// The `next_cursor` of the previous page.
    cursor: Option<Uuid>,
    /// At most this many notifications, 1 to 500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<i64>,
}

fn signed_in(actor: &Actor) -> Result<Uuid, ApiError> {
    user_of(actor).ok_or_else(|| {
        ApiError::Forbidden("notifications belong to signed-in users, not API tokens".into())
    })
}

/// Read my notifications
///
/// What the rules of the caller's projects told them, newest first.
#[utoipa::path(
    get,
    path = "/api/v1/me/notifications",
    tag = "me",
    params(ListNotifications),
    responses(
        (status = 200, description = "A page of the caller's notifications.", body = NotificationPage),
        (status = 400, description = "The query string is malformed.", body = ErrorBody),
        (status = 403, description = "The caller is an API token, which has no inbox.", body = ErrorBody),
        (status = 422, description = "A parameter is unknown or invalid; `details.field` names it.", body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = []))
)]
pub async fn inbox(
    State(state): State<OpsState>,
    Extension(actor): Extension<Actor>,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Json<NotificationPage>, ApiError> {
    let params = known_params(query, &["unread", "cursor", "limit"])?;
    let user = signed_in(&actor)?;
    let unread = match params.get("unread").map(String::as_str) {
        None | Some("false") => false,
        Some("true") => true,
        Some(_) => {
            return Err(ApiError::invalid_field(
                "unread",
                "unread must be `true` or `false`",
            ));
        }
    };
    let limit = limit(&params, 50, 500)?;
    let mut items = notifications::inbox(
        &state.db,
        actor.tenant_id,
        user,
        unread,
        uuid(&params, "cursor")?,
        limit + 1,
    )
    .await?;
    let next_cursor = page(&mut items, limit, |notification| notification.id);
    Ok(Json(NotificationPage { items, next_cursor }))
}

/// Mark a notification read
#[utoipa::path(
    post,
    path = "/api/v1/me/notifications/{id}/read",
    tag = "me",
    params(("id" = uuid::Uuid, Path, description = "The notification's id.")),
    responses(
        (status = 204, description = "It is read (reading it again keeps the first time)."),
        (status = 403, description = "The caller is an API token, which has no inbox.", body = ErrorBody),
        (status = 404, description = "The caller has no such notification.", body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = [], "csrf" = []))
)]
pub async fn mark_read(
    State(state): State<OpsState>,
    Extension(actor): Extension<Actor>,
    PathId(id): PathId,
) -> Result<StatusCode, ApiError> {
    let user = signed_in(&actor)?;
    if notifications::mark_read(&state.db, actor.tenant_id, user, id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound("no such notification".into()))
    }
}

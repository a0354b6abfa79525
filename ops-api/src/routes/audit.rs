//! `/api/v1/audit`: for admins, who read whose personal data and who redacted what, when.

use std::collections::HashMap;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::{Extension, Json};
use serde::Serialize;
use tenet_events::Actor;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::OpsState;
use super::query::{known_params, limit, page, uuid};
use crate::audit::{self, AuditEntry};
use crate::error::{ApiError, ErrorBody};
use crate::rbac::{Action, authorize};

/// One page of the audit log.
#[derive(Serialize, ToSchema)]
#[schema(as = AuditPage)]
pub struct AuditPage {
    /// The entries, oldest first.
    items: Vec<AuditEntry>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    next_cursor: Option<Uuid>,
}

/// The query parameters of `GET /api/v1/audit`.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct ListAudit {
    /// Only reads of this record.
    subject_id: Option<Uuid>,
    /// The `next_cursor` of the previous page.
    cursor: Option<Uuid>,
    /// At most this many entries, 1 to 500 (default 100).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<i64>,
}

/// Read the audit log
///
/// Who read whose personal data, when; for admins.
#[utoipa::path(
    get,
    path = "/api/v1/audit",
    tag = "audit",
    params(ListAudit),
    responses(
        (status = 200, description = "A page of the audit log.", body = AuditPage),
        (status = 400, description = "The query string is malformed.", body = ErrorBody),
        (status = 422, description = "A parameter is unknown or invalid; `details.field` names it.", body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = []))
)]
pub async fn audit_log(
    State(state): State<OpsState>,
    Extension(actor): Extension<Actor>,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Json<AuditPage>, ApiError> {
    let params = known_params(query, &["subject_id", "cursor", "limit"])?;
    authorize(&actor, Action::AuditRead)?;
    let limit = limit(&params, 100, 500)?;
    let mut items = audit::list(
        &state.db,
        &actor,
        uuid(&params, "subject_id")?,
        uuid(&params, "cursor")?,
        limit + 1,
    )
    .await?;
    let next_cursor = page(&mut items, limit, |entry| entry.id);
    Ok(Json(AuditPage { items, next_cursor }))
}

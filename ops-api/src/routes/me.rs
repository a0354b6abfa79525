//! `GET /api/v1/me`: who the caller is.

use axum::extract::State;
use axum::{Extension, Json};
use serde::Serialize;
use tenet_events::identity::Principal;
use tenet_events::{Actor, Role, TenantId};
use utoipa::ToSchema;

use super::OpsState;
use crate::error::{ApiError, ErrorBody};
use crate::users::User;
use crate::{tenants, users};

/// The caller: their tenant, role and credential.
#[derive(Serialize, ToSchema)]
pub struct Me {
    /// The caller's tenant.
    #[schema(value_type = uuid::Uuid)]
    tenant_id: TenantId,
    /// The tenant's name.
    tenant_name: String,
    /// The role the caller acts under.
    #[schema(value_type = crate::openapi::RoleSchema)]
    role: Role,
    /// The user or API token behind the credential.
    #[schema(value_type = crate::openapi::PrincipalSchema)]
    principal: Principal,
    /// The signed-in user; absent for an API token.
    #[serde(skip_serializing_if = "Option::is_none")]
    user: Option<User>,
}

/// Who am I
#[utoipa::path(
    get,
    path = "/api/v1/me",
    tag = "me",
    responses(
        (status = 200, description = "The caller.", body = Me),
        (status = 404, description = "The credential's tenant no longer exists.", body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = []))
)]
pub async fn get(
    State(state): State<OpsState>,
    Extension(actor): Extension<Actor>,
) -> Result<Json<Me>, ApiError> {
    let tenant = tenants::find(&state.db, actor.tenant_id)
        .await?
        .ok_or_else(|| ApiError::NotFound("the credential's tenant no longer exists".into()))?;
    let user = match actor.principal {
        Principal::User(id) => users::get(&state.db, actor.tenant_id, id).await?,
        _ => None,
    };
    Ok(Json(Me {
        tenant_id: tenant.id,
        tenant_name: tenant.name,
        role: actor.role,
        principal: actor.principal,
        user,
    }))
}

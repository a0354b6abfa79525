//! `GET /api/v1/me`: who the caller is.

use axum::extract::State;
use axum::{Extension, Json};
use serde::Serialize;
use tenet_events::identity::Principal;
use tenet_events::{Actor, Role, TenantId};

use super::OpsState;
use crate::error::ApiError;
use crate::users::User;
use crate::{tenants, users};

#[derive(Serialize)]
pub struct Me {
    tenant_id: TenantId,
    tenant_name: String,
    role: Role,
    principal: Principal,
    #[serde(skip_serializing_if = "Option::is_none")]
    user: Option<User>,
}

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

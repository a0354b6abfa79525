//! `GET /api/v1/me`: who the caller is.

use axum::extract::State;
use axum::{Extension, Json};
use serde::Serialize;
use tenet_events::identity::Principal;
use tenet_events::{Actor, Role, TenantId};

use crate::db::Database;
use crate::error::ApiError;
use crate::tenants;

#[derive(Serialize)]
pub struct Me {
    tenant_id: TenantId,
    tenant_name: String,
    role: Role,
    principal: Principal,
}

pub async fn get(
    State(db): State<Database>,
    Extension(actor): Extension<Actor>,
) -> Result<Json<Me>, ApiError> {
    let tenant = tenants::find(&db, actor.tenant_id)
        .await?
        .ok_or_else(|| ApiError::NotFound("the token's tenant no longer exists".into()))?;
    Ok(Json(Me {
        tenant_id: tenant.id,
        tenant_name: tenant.name,
        role: actor.role,
        principal: actor.principal,
    }))
}

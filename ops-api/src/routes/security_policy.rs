//! `/api/v1/security-policy`: the tenant's security policy, read and set by its admins.

use axum::extract::State;
use axum::{Extension, Json};
use serde::Deserialize;
use tenet_events::{Actor, TraceContext};
use utoipa::ToSchema;

use super::OpsState;
use super::tickets::trace;
use crate::admin_events::Change;
use crate::auth::ClientAddress;
use crate::error::{ApiError, ErrorBody};
use crate::extract::ApiJson;
use crate::rbac::{Action, authorize};
use crate::security_policy::{self, InvalidPolicy, PasswordRules, SecurityPolicy};

impl From<InvalidPolicy> for ApiError {
    fn from(error: InvalidPolicy) -> Self {
        ApiError::invalid_field(error.field, error.message)
    }
}

/// Read the tenant's security policy
///
/// The stored policy, or the defaults (version 0) while the tenant has not set one.
#[utoipa::path(
    get,
    path = "/api/v1/security-policy",
    tag = "security",
    responses((status = 200, description = "The policy in force.", body = SecurityPolicy)),
    security(("bearer" = []), ("session" = []))
)]
pub async fn get(
    State(state): State<OpsState>,
    Extension(actor): Extension<Actor>,
) -> Result<Json<SecurityPolicy>, ApiError> {
    authorize(&actor, Action::SecurityPolicyManage)?;
    Ok(Json(
        security_policy::get(&state.db, actor.tenant_id, &state.auth).await?,
    ))
}

/// A new security policy, based on the version the admin saw.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateSecurityPolicy {
    /// The `version` of the policy this change is based on (0 for the defaults).
    #[schema(minimum = 0)]
    version: i64,
    /// Rules for new passwords.
    password: PasswordRules,
    /// How long a browser session lasts after sign-in, in minutes.
    #[schema(minimum = 5, maximum = 43200)]
    session_lifetime_minutes: u32,
    /// Failed sign-ins in a row after which the account is locked.
    #[schema(minimum = 1, maximum = 100)]
    max_failed_logins: u32,
    /// How long a locked account stays locked, in minutes.
    #[schema(minimum = 1, maximum = 1440)]
    lockout_minutes: u32,
    /// Addresses (`192.0.2.7`) and CIDR blocks (`10.0.0.0/8`, `2001:db8::/32`) that may sign
    /// in and call the API; empty allows any. It must admit the address making the change.
    #[schema(max_items = 100)]
    ip_allowlist: Vec<String>,
}

/// Set the tenant's security policy
///
/// Replaces the whole policy if it is still at `version`. Password rules apply to passwords
/// set from now on, the session lifetime to sessions opened from now on; the lockout settings
/// and the allow-list apply at once.
#[utoipa::path(
    put,
    path = "/api/v1/security-policy",
    tag = "security",
    request_body = UpdateSecurityPolicy,
    responses(
        (status = 200, description = "The policy now in force.", body = SecurityPolicy),
        (status = 409, description = "Someone changed the policy since `version`; reload and retry.", body = ErrorBody),
        (status = 422, description = "A setting is out of bounds, an allow-list entry is not an address or CIDR block, or the allow-list would lock out the address making the change; `details.field` names it.", body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = [], "csrf" = []))
)]
pub async fn put(
    State(state): State<OpsState>,
    Extension(actor): Extension<Actor>,
    context: Option<Extension<TraceContext>>,
    ClientAddress(address): ClientAddress,
    ApiJson(body): ApiJson<UpdateSecurityPolicy>,
) -> Result<Json<SecurityPolicy>, ApiError> {
    authorize(&actor, Action::SecurityPolicyManage)?;
    let policy = SecurityPolicy {
        password: body.password,
        session_lifetime_minutes: body.session_lifetime_minutes,
        max_failed_logins: body.max_failed_logins,
        lockout_minutes: body.lockout_minutes,
        ip_allowlist: security_policy::parse_allowlist(&body.ip_allowlist)?,
        version: body.version,
        updated_at: None,
    };
    policy.validate()?;
    if !policy.admits(address) {
        return Err(ApiError::invalid_field(
            "ip_allowlist",
            "the allow-list must admit the address making this change, or it would lock it out",
        ));
    }
    let conflict = |current: i64| {
        ApiError::Conflict(format!(
            "the security policy was changed by someone else (now at version {current}); reload it and retry"
        ))
    };
    let current = security_policy::get(&state.db, actor.tenant_id, &state.auth).await?;
    if current.version != body.version {
        return Err(conflict(current.version));
    }
    match security_policy::put(
        &state.db,
        Change::now(&actor, trace(&context)),
        &policy,
        body.version,
    )
    .await?
    {
        Some(stored) => Ok(Json(stored)),
        None => {
            let current = security_policy::get(&state.db, actor.tenant_id, &state.auth).await?;
            Err(conflict(current.version))
        }
    }
}

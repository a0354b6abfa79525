//! Tenants and actors.
//!
//! Every event and every request belongs to exactly one tenant (a client company of the
//! platform). An [`Actor`] names who caused a change: the tenant, the role the action was
//! authorised under, and the principal (a user or an API token).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The identifier of a tenant (a company using the platform).
///
/// Constructed from a UUID, so a malformed identifier never gets past parsing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TenantId(Uuid);

impl TenantId {
    /// A fresh, time-ordered tenant identifier.
    pub fn generate() -> Self {
        Self(Uuid::now_v7())
    }

    /// Wraps an existing UUID.
    pub fn from_uuid(id: Uuid) -> Self {
        Self(id)
    }

    /// The underlying UUID.
    pub fn as_uuid(&self) -> Uuid {
        self.0
    }
}

impl fmt::Display for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The error returned when a tenant identifier is not a UUID.
#[derive(Debug, thiserror::Error)]
#[error("tenant id `{0}` is not a UUID")]
pub struct InvalidTenantId(String);

impl FromStr for TenantId {
    type Err = InvalidTenantId;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Uuid::parse_str(s.trim())
            .map(Self)
            .map_err(|_| InvalidTenantId(s.to_owned()))
    }
}

/// The roles of the product brief. A user holds one role within a tenant; what the role may
/// do is decided by the ops API's permission table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Works tasks and tickets, handles calls, sees own KPIs and schedule.
    Operator,
    /// Configures projects, edits tickets, monitors, assigns operators.
    ProjectManager,
    /// Monitors across projects, operator schedules, workforce management.
    ProjectGroupManager,
    /// A client company's user: sees its own projects, statistics, recordings, billing.
    Customer,
    /// A specialist who works the tickets routed to them.
    Executor,
    /// Selects calls and tickets and fills evaluation cards.
    QaEvaluator,
    /// Configures evaluation cards and controls evaluations.
    QaLead,
    /// Sick leave, vacations, days off, personal data, working-time compliance.
    Hr,
    /// System settings and access for the main users.
    Admin,
}

impl Role {
    /// Every role, in the order of the product brief.
    pub const ALL: [Role; 9] = [
        Role::Operator,
        Role::ProjectManager,
        Role::ProjectGroupManager,
        Role::Customer,
        Role::Executor,
        Role::QaEvaluator,
        Role::QaLead,
        Role::Hr,
        Role::Admin,
    ];

    /// The role's wire name, as used in the API, the CLI and events.
    pub fn as_str(&self) -> &'static str {
        match self {
            Role::Operator => "operator",
            Role::ProjectManager => "project_manager",
            Role::ProjectGroupManager => "project_group_manager",
            Role::Customer => "customer",
            Role::Executor => "executor",
            Role::QaEvaluator => "qa_evaluator",
            Role::QaLead => "qa_lead",
            Role::Hr => "hr",
            Role::Admin => "admin",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error returned for a role name that is not one of [`Role::ALL`].
#[derive(Debug, thiserror::Error)]
#[error(
    "unknown role `{0}`; expected one of operator, project_manager, project_group_manager, customer, executor, qa_evaluator, qa_lead, hr, admin"
)]
pub struct UnknownRole(String);

impl FromStr for Role {
    type Err = UnknownRole;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|role| role.as_str() == s)
            .ok_or_else(|| UnknownRole(s.to_owned()))
    }
}

/// Who caused a change: recorded on every event and audit entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    /// The tenant the action was performed in.
    pub tenant_id: TenantId,
    /// The role the action was authorised under.
    pub role: Role,
    /// The user or API token that acted.
    pub principal: Principal,
}

/// The kind of credential behind an [`Actor`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum Principal {
    /// An interactive user.
    User(Uuid),
    /// An integration's API token.
    ApiToken(Uuid),
    /// The platform itself (imports, scheduled jobs).
    System,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_role_round_trips_through_its_wire_name() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>().unwrap(), role);
            let json = serde_json::to_string(&role).unwrap();
            assert_eq!(json, format!("\"{}\"", role.as_str()));
        }
    }

    #[test]
    fn unknown_role_is_refused_with_the_choices() {
        let err = "supervisor".parse::<Role>().unwrap_err().to_string();
        assert!(err.contains("`supervisor`"), "{err}");
        assert!(err.contains("qa_lead"), "{err}");
    }

    #[test]
    fn tenant_id_must_be_a_uuid() {
        assert!("acme".parse::<TenantId>().is_err());
        let id = TenantId::generate();
        assert_eq!(id.to_string().parse::<TenantId>().unwrap(), id);
    }
}

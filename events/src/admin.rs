//! Administration events: users, projects and the configuration of projects and tenants.
//!
//! The ops API writes one of these in the same transaction as every change an administrator or
//! a project manager makes to how the tenant works: a user or project created, a member added,
//! a project setting (request type, field, workflow, SLA policy, dictionary, client view,
//! operation, notification rule) created, changed or retired, the security policy changed, an
//! API token issued or revoked. Together they answer "who changed the configuration, and when"
//! across the tenant's history.
//!
//! They carry identifiers, versions and roles, never personal data or secrets: no e-mail
//! addresses, names, passwords or token values. Each carries who made the change (`by`).

use serde::{Deserialize, Serialize};

use crate::OccurredAt;
use crate::identity::{Principal, Role};
use crate::ids::{ProjectId, UserId};
use crate::row::{TimestampMicros, columns};

/// A project setting that is versioned or retired rather than edited in place.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Setting {
    /// A request type and its routing to specialists.
    RequestType,
    /// A custom field of the project's tickets.
    Field,
    /// The statuses and allowed transitions of the project's tickets.
    Workflow,
    /// The SLA targets and business calendar.
    SlaPolicy,
    /// A shared dictionary of choices.
    Dictionary,
    /// What the client company's users may see.
    ClientView,
    /// A named operation operators run on tickets.
    Operation,
    /// A rule that notifies people of ticket events.
    NotificationRule,
}

/// What happened to a setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SettingChange {
    /// It was added.
    Created,
    /// A new version of it replaced the previous one.
    Changed,
    /// It was retired: kept for the tickets that use it, offered for no new ones.
    Retired,
}

impl SettingChange {
    /// What an update of an existing setting is: [`SettingChange::Retired`] when it retires
    /// the setting, [`SettingChange::Changed`] otherwise.
    pub fn of_update(retiring: bool) -> Self {
        if retiring {
            SettingChange::Retired
        } else {
            SettingChange::Changed
        }
    }
}

/// The wire and lake name of a unit variant.
fn wire<T: Serialize>(value: T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|value| value.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// A user was created.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserCreated {
    /// The new user.
    pub user_id: UserId,
    /// Their role.
    pub role: Role,
    /// Who created them.
    pub by: Principal,
}

/// A project was created.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProjectCreated {
    /// The new project.
    pub project_id: ProjectId,
    /// Its short key (`SUPPORT`).
    pub key: String,
    /// Who created it.
    pub by: Principal,
}

/// A user became a member of a project.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemberAdded {
    /// The project.
    pub project_id: ProjectId,
    /// The new member.
    pub user_id: UserId,
    /// Who added them.
    pub by: Principal,
}

/// A project setting was created, changed or retired.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProjectConfigured {
    /// The project.
    pub project_id: ProjectId,
    /// Which kind of setting.
    pub setting: Setting,
    /// The setting's id, for settings a project has many of (request types, fields,
    /// dictionaries, operations, notification rules); absent for the project's one workflow,
    /// SLA policy and client view.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub setting_id: Option<String>,
    /// The setting's version after the change (1 for a new one).
    pub version: u32,
    /// What happened to it.
    pub change: SettingChange,
    /// Who changed it.
    pub by: Principal,
}

/// The tenant's security policy (password rules, session lifetime, IP allow-list) changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecurityPolicyChanged {
    /// The policy's version after the change.
    pub version: u32,
    /// Who changed it.
    pub by: Principal,
}

/// An API token was issued for an integration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenIssued {
    /// The token's id (never its secret).
    pub token_id: String,
    /// The role it acts under.
    pub role: Role,
    /// When it stops working, if ever.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<OccurredAt>,
    /// Who issued it.
    pub by: Principal,
}

/// An API token was revoked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenRevoked {
    /// The token's id.
    pub token_id: String,
    /// Who revoked it.
    pub by: Principal,
}

/// Every administration event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum AdminEvent {
    /// `admin.user_created`.
    UserCreated(UserCreated),
    /// `admin.project_created`.
    ProjectCreated(ProjectCreated),
    /// `admin.member_added`.
    MemberAdded(MemberAdded),
    /// `admin.project_configured`.
    ProjectConfigured(ProjectConfigured),
    /// `admin.security_policy_changed`.
    SecurityPolicyChanged(SecurityPolicyChanged),
    /// `admin.token_issued`.
    TokenIssued(TokenIssued),
    /// `admin.token_revoked`.
    TokenRevoked(TokenRevoked),
}

columns! {
    /// The `admin` table's own columns (after the header).
    pub struct AdminColumns {
        /// Who made the change: `user`, `api_token` or `system`.
        pub by_kind: String,
        /// The user's or token's id; null for the system.
        pub by_id: Option<String>,
        /// The user created or added to a project.
        pub user_id: Option<String>,
        /// The role of a new user or token.
        pub role: Option<String>,
        /// The project.
        pub project_id: Option<String>,
        /// The key of a new project.
        pub project_key: Option<String>,
        /// The kind of project setting.
        pub setting: Option<String>,
        /// The setting's id.
        pub setting_id: Option<String>,
        /// The setting's or the security policy's version after the change.
        pub version: Option<i32>,
        /// What happened to the setting: `created`, `changed`, `retired`.
        pub change: Option<String>,
        /// The API token.
        pub token_id: Option<String>,
        /// When the token expires.
        pub expires_at: Option<TimestampMicros>,
    }
}

fn by(principal: &Principal) -> AdminColumns {
    let (kind, id) = match principal {
        Principal::User(id) => ("user", Some(id.to_string())),
        Principal::ApiToken(id) => ("api_token", Some(id.to_string())),
        Principal::System => ("system", None),
    };
    AdminColumns {
        by_kind: kind.to_owned(),
        by_id: id,
        ..AdminColumns::default()
    }
}

fn version(version: u32) -> Option<i32> {
    Some(i32::try_from(version).unwrap_or(i32::MAX))
}

impl AdminEvent {
    /// The event's values for the `admin` table, its text moved
    /// into them rather than copied.
    pub fn into_columns(self) -> AdminColumns {
        match self {
            AdminEvent::UserCreated(e) => AdminColumns {
                user_id: Some(String::from(e.user_id)),
                role: Some(e.role.as_str().to_owned()),
                ..by(&e.by)
            },
            AdminEvent::ProjectCreated(e) => AdminColumns {
                project_id: Some(String::from(e.project_id)),
                project_key: Some(e.key),
                ..by(&e.by)
            },
            AdminEvent::MemberAdded(e) => AdminColumns {
                project_id: Some(String::from(e.project_id)),
                user_id: Some(String::from(e.user_id)),
                ..by(&e.by)
            },
            AdminEvent::ProjectConfigured(e) => AdminColumns {
                project_id: Some(String::from(e.project_id)),
                setting: Some(wire(e.setting)),
                setting_id: e.setting_id,
                version: version(e.version),
                change: Some(wire(e.change)),
                ..by(&e.by)
            },
            AdminEvent::SecurityPolicyChanged(e) => AdminColumns {
                version: version(e.version),
                ..by(&e.by)
            },
            AdminEvent::TokenIssued(e) => AdminColumns {
                token_id: Some(e.token_id),
                role: Some(e.role.as_str().to_owned()),
                expires_at: e.expires_at.map(|at| TimestampMicros(at.unix_micros())),
                ..by(&e.by)
            },
            AdminEvent::TokenRevoked(e) => AdminColumns {
                token_id: Some(e.token_id),
                ..by(&e.by)
            },
        }
    }
}

//! The administration events written with every configuration change: who created a user or
//! a project, added a member, changed a project setting or the security policy, issued or
//! revoked an API token ([`tenet_events::admin`]).

use chrono::{DateTime, Utc};
use tenet_events::admin::{
    MemberAdded, ProjectConfigured, ProjectCreated, SecurityPolicyChanged, Setting, SettingChange,
    TokenIssued, TokenRevoked, UserCreated,
};
use tenet_events::identity::Principal;
use tenet_events::ids::{ProjectId, UserId};
use tenet_events::{Actor, OccurredAt, Role, TenantId, TraceContext};
use uuid::Uuid;

use crate::outbox::OutboxRecord;

/// The actor of changes made from the command line on the server itself.
pub fn system(tenant_id: TenantId) -> Actor {
    Actor {
        tenant_id,
        role: Role::Admin,
        principal: Principal::System,
    }
}

fn user_id(id: Uuid) -> UserId {
    UserId::parse(id.to_string()).expect("a UUID is a valid id")
}

fn project_id(id: Uuid) -> ProjectId {
    ProjectId::parse(id.to_string()).expect("a UUID is a valid id")
}

fn version(version: i64) -> u32 {
    u32::try_from(version).unwrap_or(u32::MAX)
}

/// Who changes the configuration, and the request that carries the change.
#[derive(Debug, Clone, Copy)]
pub struct Change<'a> {
    /// Who.
    pub actor: &'a Actor,
    /// The trace of their request, when there is one.
    pub trace: Option<&'a TraceContext>,
    /// When.
    pub at: DateTime<Utc>,
}

impl<'a> Change<'a> {
    /// A change `actor` makes now in a request traced by `trace`.
    pub fn now(actor: &'a Actor, trace: Option<&'a TraceContext>) -> Self {
        Self {
            actor,
            trace,
            at: Utc::now(),
        }
    }

    fn record(&self, event: impl Into<tenet_events::Event>) -> OutboxRecord {
        OutboxRecord::of(self.actor, self.at, self.trace, event)
    }

    fn by(&self) -> Principal {
        self.actor.principal.clone()
    }

    /// `admin.user_created`.
    pub(crate) fn user_created(&self, user: Uuid, role: Role) -> OutboxRecord {
        self.record(UserCreated {
            user_id: user_id(user),
            role,
            by: self.by(),
        })
    }

    /// `admin.project_created`.
    pub(crate) fn project_created(&self, project: Uuid, key: &str) -> OutboxRecord {
        self.record(ProjectCreated {
            project_id: project_id(project),
            key: key.to_owned(),
            by: self.by(),
        })
    }

    /// `admin.member_added`.
    pub(crate) fn member_added(&self, project: Uuid, user: Uuid) -> OutboxRecord {
        self.record(MemberAdded {
            project_id: project_id(project),
            user_id: user_id(user),
            by: self.by(),
        })
    }

    /// `admin.project_configured` for a setting a project has many of.
    pub(crate) fn configured(
        &self,
        project: Uuid,
        setting: Setting,
        id: Uuid,
        new_version: i64,
        change: SettingChange,
    ) -> OutboxRecord {
        self.record(ProjectConfigured {
            project_id: project_id(project),
            setting,
            setting_id: Some(id.to_string()),
            version: version(new_version),
            change,
            by: self.by(),
        })
    }

    /// `admin.project_configured` for a setting a project has one of (its workflow, SLA
    /// policy, client view): created at version 1, changed after.
    pub(crate) fn configured_one(
        &self,
        project: Uuid,
        setting: Setting,
        new_version: i64,
    ) -> OutboxRecord {
        self.record(ProjectConfigured {
            project_id: project_id(project),
            setting,
            setting_id: None,
            version: version(new_version),
            change: if new_version <= 1 {
                SettingChange::Created
            } else {
                SettingChange::Changed
            },
            by: self.by(),
        })
    }

    /// `admin.security_policy_changed`.
    pub(crate) fn security_policy_changed(&self, new_version: i64) -> OutboxRecord {
        self.record(SecurityPolicyChanged {
            version: version(new_version),
            by: self.by(),
        })
    }

    /// `admin.token_issued`.
    pub(crate) fn token_issued(
        &self,
        token: Uuid,
        role: Role,
        expires_at: Option<DateTime<Utc>>,
    ) -> OutboxRecord {
        self.record(TokenIssued {
            token_id: token.to_string(),
            role,
            expires_at: expires_at.and_then(|at| OccurredAt::from_datetime(at).ok()),
            by: self.by(),
        })
    }

    /// `admin.token_revoked`.
    pub(crate) fn token_revoked(&self, token: Uuid) -> OutboxRecord {
        self.record(TokenRevoked {
            token_id: token.to_string(),
            by: self.by(),
        })
    }
}

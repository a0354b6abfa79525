//! Role-based access control: one table of role × action → scope.
//!
//! Every handler asks [`authorize`] before it touches data; the scope it gets back is applied
//! in the repository query, so a caller only ever sees rows of their tenant, and within it
//! what the scope allows. The whole matrix is walked by a test against the live API.

use serde::Serialize;
use tenet_events::{Actor, Role};

use crate::error::ApiError;

/// Something a caller may want to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Read tickets, their comments and history.
    TicketRead,
    /// Create tickets.
    TicketCreate,
    /// Change a ticket's status, priority or assignee.
    TicketUpdate,
    /// Comment on tickets.
    TicketComment,
    /// Redact values in a ticket's history and the text of its comments.
    TicketRedact,
    /// See projects.
    ProjectRead,
    /// Create projects and manage their members.
    ProjectManage,
    /// See the users of the tenant.
    UserRead,
    /// Create and change users.
    UserManage,
    /// Hand events to the ingest gateway (integrations).
    EventIngest,
    /// Workforce planning: staffing calculations, forecasts, schedules.
    WorkforcePlan,
    /// Read and change the tenant's security policy.
    SecurityPolicyManage,
    /// Read statistics: the report catalog, reports, drill-downs and exports.
    ReportRead,
    /// Run ad-hoc read-only SQL over the lake.
    ReportQuery,
    /// Find and read customers: their identities, preferences, flags and history.
    CustomerRead,
    /// Create, change, merge and split customers; raise and resolve their flags.
    CustomerManage,
    /// Read the audit log of personal-data reads.
    AuditRead,
    /// Read the HR directory: employees, departments, positions, contracts, absences.
    HrRead,
    /// Keep HR records: employees, departments, positions, contracts; decide absences.
    HrManage,
    /// Read and change employees' personal data (everyone may for themselves).
    PersonalDataRead,
    /// Request absences (their own, or anyone's for tenant-wide scope).
    AbsenceRequest,
    /// Publish weekly schedules (planners).
    SchedulePublish,
    /// Read published schedules (their own shifts for assigned scope).
    ScheduleRead,
}

impl Action {
    /// Every action.
    pub const ALL: [Action; 23] = [
        Action::TicketRead,
        Action::TicketCreate,
        Action::TicketUpdate,
        Action::TicketComment,
        Action::TicketRedact,
        Action::ProjectRead,
        Action::ProjectManage,
        Action::UserRead,
        Action::UserManage,
        Action::EventIngest,
        Action::WorkforcePlan,
        Action::SecurityPolicyManage,
        Action::ReportRead,
        Action::ReportQuery,
        Action::CustomerRead,
        Action::CustomerManage,
        Action::AuditRead,
        Action::HrRead,
        Action::HrManage,
        Action::PersonalDataRead,
        Action::AbsenceRequest,
        Action::SchedulePublish,
        Action::ScheduleRead,
    ];
}

/// How far an allowed action reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// Not allowed.
    Denied,
    /// Only tickets assigned to the caller.
    Assigned,
    /// Only the projects the caller is a member of.
    Projects,
    /// The whole tenant.
    Tenant,
}

/// The permission table.
pub fn scope(role: Role, action: Action) -> Scope {
    use Action::*;
    use Scope::*;
    match (role, action) {
        // Personal data is for HR and the person alone, not even for admins.
        (Role::Admin, PersonalDataRead) => Denied,
        (Role::Admin, _) => Tenant,
        (Role::Hr, HrRead | HrManage | PersonalDataRead | AbsenceRequest) => Tenant,
        (_, HrManage | PersonalDataRead) => Denied,
        (Role::ProjectGroupManager | Role::ProjectManager, HrRead) => Tenant,
        (_, HrRead) => Denied,
        (_, AbsenceRequest) => Assigned,
        // Planners publish schedules; managers read them; operators read their own shifts.
        (Role::ProjectGroupManager, SchedulePublish | ScheduleRead) => Tenant,
        (_, SchedulePublish) => Denied,
        (Role::ProjectManager, ScheduleRead) => Tenant,
        (Role::Operator, ScheduleRead) => Assigned,
        (_, ScheduleRead) => Denied,
        (_, EventIngest | SecurityPolicyManage | AuditRead) => Denied,
        // Customers are the tenant's, whichever project they call about: those who answer
        // them find and keep them; executors, QA, HR and client companies do not.
        (
            Role::ProjectGroupManager | Role::ProjectManager | Role::Operator,
            CustomerRead | CustomerManage,
        ) => Tenant,
        (_, CustomerRead | CustomerManage) => Denied,

        (Role::ProjectGroupManager, UserManage) => Denied,
        (Role::ProjectGroupManager, _) => Tenant,

        (Role::ProjectManager, UserRead) => Tenant,
        (Role::ProjectManager, UserManage) => Denied,
        (Role::ProjectManager, _) => Projects,

        (Role::Operator, UserRead) => Tenant,
        (
            Role::Operator,
            ProjectManage | UserManage | WorkforcePlan | ReportQuery | TicketRedact,
        ) => Denied,
        (Role::Operator, _) => Projects,

        (Role::Executor, TicketRead | TicketUpdate | TicketComment) => Assigned,
        (Role::Executor, ProjectRead) => Projects,
        (Role::Executor, UserRead) => Tenant,
        (Role::Executor, _) => Denied,

        (Role::Customer, TicketRead | TicketCreate | TicketComment | ProjectRead | ReportRead) => {
            Projects
        }
        (Role::Customer, _) => Denied,

        (Role::QaEvaluator | Role::QaLead, TicketRead | ProjectRead | UserRead | ReportRead) => {
            Tenant
        }
        (Role::QaEvaluator | Role::QaLead, _) => Denied,

        (Role::Hr, UserRead) => Tenant,
        (Role::Hr, _) => Denied,
    }
}

/// The scope `actor` has for `action`.
///
/// # Errors
/// [`ApiError::Forbidden`] when the table denies it.
pub fn authorize(actor: &Actor, action: Action) -> Result<Scope, ApiError> {
    match scope(actor.role, action) {
        Scope::Denied => Err(ApiError::Forbidden(format!(
            "role {} may not {}",
            actor.role,
            serde_json::to_value(action)
                .ok()
                .and_then(|value| value.as_str().map(str::to_owned))
                .unwrap_or_default()
                .replace('_', " ")
        ))),
        scope => Ok(scope),
    }
}

/// Middleware refusing with 403 a request whose [`Actor`] may not do `action`. It runs after
/// [`require_actor`](crate::auth::require_actor), for routes whose whole purpose is one action.
pub async fn require_permission(
    axum::extract::State(action): axum::extract::State<Action>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Result<axum::response::Response, ApiError> {
    let actor = request
        .extensions()
        .get::<Actor>()
        .ok_or_else(|| ApiError::Unauthenticated("no credential".into()))?;
    authorize(actor, action)?;
    Ok(next.run(request).await)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admin_reaches_the_whole_tenant_for_everything_but_personal_data() {
        for action in Action::ALL {
            let expected = if action == Action::PersonalDataRead {
                Scope::Denied
            } else {
                Scope::Tenant
            };
            assert_eq!(scope(Role::Admin, action), expected, "{action:?}");
        }
    }

    #[test]
    fn only_hr_reads_personal_data_and_everyone_requests_their_own_absences() {
        for role in Role::ALL {
            let personal = scope(role, Action::PersonalDataRead);
            assert_eq!(personal == Scope::Denied, role != Role::Hr, "{role}");
            let absences = scope(role, Action::AbsenceRequest);
            let expected = if matches!(role, Role::Hr | Role::Admin) {
                Scope::Tenant
            } else {
                Scope::Assigned
            };
            assert_eq!(absences, expected, "{role}");
        }
    }

    #[test]
    fn only_admins_manage_users() {
        for role in Role::ALL {
            let expected = if role == Role::Admin {
                Scope::Tenant
            } else {
                Scope::Denied
            };
            assert_eq!(scope(role, Action::UserManage), expected, "{role}");
        }
    }

    #[test]
    fn only_admins_read_the_audit_log() {
        for role in Role::ALL {
            assert_eq!(
                scope(role, Action::AuditRead) == Scope::Denied,
                role != Role::Admin,
                "{role}"
            );
        }
    }

    #[test]
    fn customer_records_are_for_those_who_serve_customers() {
        for role in [Role::Customer, Role::Executor, Role::QaEvaluator, Role::Hr] {
            assert_eq!(scope(role, Action::CustomerRead), Scope::Denied, "{role}");
        }
        assert_eq!(scope(Role::Operator, Action::CustomerManage), Scope::Tenant);
    }

    #[test]
    fn only_managers_redact_ticket_history() {
        for role in Role::ALL {
            let expected = match role {
                Role::Admin | Role::ProjectGroupManager => Scope::Tenant,
                Role::ProjectManager => Scope::Projects,
                _ => Scope::Denied,
            };
            assert_eq!(scope(role, Action::TicketRedact), expected, "{role}");
        }
    }

    #[test]
    fn planners_publish_schedules_and_operators_read_only_their_own() {
        for role in Role::ALL {
            let (publish, read) = match role {
                Role::Admin | Role::ProjectGroupManager => (Scope::Tenant, Scope::Tenant),
                Role::ProjectManager => (Scope::Denied, Scope::Tenant),
                Role::Operator => (Scope::Denied, Scope::Assigned),
                _ => (Scope::Denied, Scope::Denied),
            };
            assert_eq!(scope(role, Action::SchedulePublish), publish, "{role}");
            assert_eq!(scope(role, Action::ScheduleRead), read, "{role}");
        }
    }

    #[test]
    fn customers_never_change_tickets() {
        assert_eq!(scope(Role::Customer, Action::TicketUpdate), Scope::Denied);
        assert_eq!(scope(Role::Customer, Action::TicketRead), Scope::Projects);
    }
}

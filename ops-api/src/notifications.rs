//! Notification rules and the notifications they deliver.
//!
//! A project's rules say who hears of what happens to its tickets: a ticket created, moved to
//! a status, assigned, commented on, or past one of its SLA targets; optionally only for some
//! statuses, priorities or SLA clocks, or only public comments. Recipients are named by their relation to the ticket (its assignee, the
//! project's managers, its members, the client company's users) or by user id. The
//! notifications are written in the same transaction as the ticket change that triggers them,
//! so none is lost or invented, and land in each recipient's inbox (`/me/notifications`).
//! Whoever made the change is not notified of it.
//!
//! SLA breaches are noticed by a sweep rather than by a change ([`crate::breaches`]): it writes
//! their notifications in the transaction that marks the ticket's clock as noticed.
//!
//! The client company's users hear only of what they may see: new tickets, status changes and
//! public comments, never assignments, internal comments or SLA breaches.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tenet_events::tickets::TicketPriority;
use tenet_events::{Actor, Role, TenantId};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::admin_events::Change;
use crate::db::{Database, now};
use crate::on_backend;
use crate::retirable::{self, Retirable, Stored};
use crate::tickets::Ticket;
use crate::workflows::Workflow;

/// The longest rule name.
pub const MAX_NAME: usize = 200;
/// The most users a rule may name.
pub const MAX_USERS: usize = 100;

/// What happens to a ticket that a rule listens for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    /// A ticket was created.
    TicketCreated,
    /// A ticket moved to another status of its workflow.
    StatusChanged,
    /// A ticket was assigned to someone.
    Assigned,
    /// A ticket was commented on.
    Commented,
    /// A ticket's first-response or resolution target passed while its clock still ran.
    SlaBreached,
}

impl Trigger {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::TicketCreated => "ticket_created",
            Trigger::StatusChanged => "status_changed",
            Trigger::Assigned => "assigned",
            Trigger::Commented => "commented",
            Trigger::SlaBreached => "sla_breached",
        }
    }
}

/// One of a ticket's SLA clocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SlaClock {
    /// Until the center's first public reply.
    FirstResponse,
    /// Until the ticket is solved or closed.
    Resolution,
}

impl SlaClock {
    /// Both clocks.
    pub const ALL: [SlaClock; 2] = [SlaClock::FirstResponse, SlaClock::Resolution];
}

/// Who a rule notifies, by their relation to the ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Recipient {
    /// The ticket's assignee.
    Assignee,
    /// The project's members with a manager role (project manager, project group manager).
    ProjectManagers,
    /// Every member of the project but the client company's users.
    ProjectMembers,
    /// The client company's users of the project (role `customer`).
    ClientUsers,
}

/// What a rule listens for and whom it notifies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleDefinition {
    /// What managers see: 1 to 200 characters; it opens every notification's message.
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub name: String,
    /// What it listens for.
    pub on: Trigger,
    /// With `status_changed`: only moves into these workflow statuses (by key); any when empty.
    #[serde(default)]
    pub statuses: Vec<String>,
    /// Only tickets of these priorities; any when empty.
    #[serde(default)]
    #[schema(value_type = Vec<crate::openapi::TicketPrioritySchema>)]
    pub priorities: Vec<TicketPriority>,
    /// With `commented`: only public comments.
    #[serde(default)]
    pub public_only: bool,
    /// With `sla_breached`: only breaches of these clocks; both when empty.
    #[serde(default)]
    pub clocks: Vec<SlaClock>,
    /// Whom it notifies, by relation to the ticket.
    #[serde(default)]
    pub recipients: Vec<Recipient>,
    /// Users it notifies besides, by id: at most 100 users of the tenant.
    #[serde(default)]
    #[schema(max_items = 100)]
    pub users: Vec<Uuid>,
}

impl RuleDefinition {
    /// Checks the definition against the project's current `workflow`, tidying its name;
    /// `known_users` says which of its `users` exist in the tenant. Returns the field at fault
    /// and what is wrong.
    ///
    /// # Errors
    /// `(field, message)` of the first problem.
    pub fn check(
        mut self,
        workflow: &Workflow,
        known_users: &BTreeSet<Uuid>,
    ) -> Result<Self, (String, String)> {
        let invalid = |field: &str, message: String| Err((field.to_owned(), message));
        self.name = self.name.trim().to_owned();
        if self.name.is_empty()
            || self.name.chars().count() > MAX_NAME
            || self.name.chars().any(char::is_control)
        {
            return invalid(
                "name",
                format!("name must be 1 to {MAX_NAME} characters without control characters"),
            );
        }
        if !self.statuses.is_empty() && self.on != Trigger::StatusChanged {
            return invalid(
                "statuses",
                "statuses apply to `status_changed` rules only".into(),
            );
        }
        for (index, key) in self.statuses.iter().enumerate() {
            if workflow.status(key).is_none() {
                return invalid(
                    &format!("statuses.{index}"),
                    format!("the project's workflow has no status `{key}`"),
                );
            }
        }
        if self.public_only && self.on != Trigger::Commented {
            return invalid(
                "public_only",
                "public_only applies to `commented` rules only".into(),
            );
        }
        if !self.clocks.is_empty() && self.on != Trigger::SlaBreached {
            return invalid("clocks", "clocks apply to `sla_breached` rules only".into());
        }
        if self.recipients.is_empty() && self.users.is_empty() {
            return invalid(
                "recipients",
                "a rule must notify someone: give recipients, users or both".into(),
            );
        }
        if self.recipients.contains(&Recipient::ClientUsers) {
            match self.on {
                Trigger::Assigned => {
                    return invalid(
                        "recipients",
                        "the client company's users are not told of assignments".into(),
                    );
                }
                Trigger::SlaBreached => {
                    return invalid(
                        "recipients",
                        "the client company's users are not told of SLA breaches".into(),
                    );
                }
                Trigger::Commented if !self.public_only => {
                    return invalid(
                        "recipients",
                        "the client company's users hear of public comments only: set public_only"
                            .into(),
                    );
                }
                _ => {}
            }
        }
        if self.users.len() > MAX_USERS {
            return invalid("users", format!("a rule names at most {MAX_USERS} users"));
        }
        for (index, user) in self.users.iter().enumerate() {
            if !known_users.contains(user) {
                return invalid(
                    &format!("users.{index}"),
                    format!("no user {user} in this tenant"),
                );
            }
        }
        self.recipients.sort_by_key(|recipient| *recipient as u8);
        self.recipients.dedup();
        self.clocks.sort();
        self.clocks.dedup();
        self.users.sort();
        self.users.dedup();
        Ok(self)
    }

    /// Whether the rule listens for `happening` to `ticket`.
    fn matches(&self, happening: &Happening, ticket: &Ticket) -> bool {
        if !self.priorities.is_empty() && !self.priorities.contains(&ticket.priority) {
            return false;
        }
        match (self.on, happening) {
            (Trigger::TicketCreated, Happening::Created)
            | (Trigger::Assigned, Happening::Assigned) => true,
            (Trigger::StatusChanged, Happening::StatusChanged { to }) => {
                self.statuses.is_empty() || self.statuses.contains(to)
            }
            (Trigger::Commented, Happening::Commented { public }) => *public || !self.public_only,
            (Trigger::SlaBreached, Happening::SlaBreached { clock }) => {
                self.clocks.is_empty() || self.clocks.contains(clock)
            }
            _ => false,
        }
    }
}

/// Something that happened to a ticket, which rules may listen for.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Happening {
    /// It was created.
    Created,
    /// It moved to workflow status `to`.
    StatusChanged {
        /// The status it moved to.
        to: String,
    },
    /// It was assigned (to its current assignee).
    Assigned,
    /// It was commented on.
    Commented {
        /// Whether the comment is public.
        public: bool,
    },
    /// Its `clock` ran past its due time.
    SlaBreached {
        /// The clock.
        clock: SlaClock,
    },
}

impl Happening {
    fn trigger(&self) -> Trigger {
        match self {
            Happening::Created => Trigger::TicketCreated,
            Happening::StatusChanged { .. } => Trigger::StatusChanged,
            Happening::Assigned => Trigger::Assigned,
            Happening::Commented { .. } => Trigger::Commented,
            Happening::SlaBreached { .. } => Trigger::SlaBreached,
        }
    }

    fn describe(&self, ticket: &Ticket) -> String {
        let subject = &ticket.subject;
        match self {
            Happening::Created => format!("new ticket “{subject}”"),
            Happening::StatusChanged { to } => format!("ticket “{subject}” moved to {to}"),
            Happening::Assigned => format!("ticket “{subject}” was assigned"),
            Happening::Commented { public: true } => format!("reply on ticket “{subject}”"),
            Happening::Commented { public: false } => {
                format!("internal comment on ticket “{subject}”")
            }
            Happening::SlaBreached {
                clock: SlaClock::FirstResponse,
            } => format!("ticket “{subject}” is past its first-response target"),
            Happening::SlaBreached {
                clock: SlaClock::Resolution,
            } => format!("ticket “{subject}” is past its resolution target"),
        }
    }

    /// Whether the client company's users may hear of it.
    fn for_clients(&self) -> bool {
        matches!(
            self,
            Happening::Created
                | Happening::StatusChanged { .. }
                | Happening::Commented { public: true }
        )
    }
}

/// A notification rule of a project.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Rule {
    /// Its id.
    pub id: Uuid,
    /// What it listens for and whom it notifies.
    pub definition: RuleDefinition,
    /// Whether it is in force; retired rules are kept.
    pub active: bool,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// Its version; changes must name it.
    pub version: i64,
}

impl From<Stored<RuleDefinition>> for Rule {
    fn from(stored: Stored<RuleDefinition>) -> Self {
        Rule {
            id: stored.id,
            definition: stored.definition,
            active: stored.active,
            created_at: stored.created_at,
            updated_at: stored.updated_at,
            version: stored.version,
        }
    }
}

impl From<&Rule> for Stored<RuleDefinition> {
    fn from(rule: &Rule) -> Self {
        Stored {
            id: rule.id,
            key: None,
            definition: rule.definition.clone(),
            active: rule.active,
            created_at: rule.created_at,
            updated_at: rule.updated_at,
            version: rule.version,
        }
    }
}

/// Adds a rule to `project`, with its `admin.project_configured` event.
///
/// # Errors
/// Database errors.
pub async fn add_rule(
    db: &Database,
    change: Change<'_>,
    project: Uuid,
    definition: RuleDefinition,
) -> Result<Rule, sqlx::Error> {
    let stored = Stored::new(None, definition);
    retirable::insert(db, Retirable::NotificationRules, change, project, &stored).await?;
    Ok(Rule::from(stored))
}

/// The rules of `project`, oldest first; only those in force when `active_only`.
///
/// # Errors
/// Database errors, or a stored definition this build cannot read.
pub async fn rules(
    db: &Database,
    tenant: TenantId,
    project: Uuid,
    active_only: bool,
) -> Result<Vec<Rule>, sqlx::Error> {
    let stored = retirable::list(
        db,
        Retirable::NotificationRules,
        tenant,
        project,
        active_only,
        None,
    )
    .await?;
    Ok(stored.into_iter().map(Rule::from).collect())
}

/// Replaces the definition of `rule` and sets whether it is `active`, if it is still at its
/// version, with its `admin.project_configured` event; `None` when it is not.
///
/// # Errors
/// Database errors.
pub async fn update_rule(
    db: &Database,
    change: Change<'_>,
    project: Uuid,
    rule: &Rule,
    definition: RuleDefinition,
    active: bool,
) -> Result<Option<Rule>, sqlx::Error> {
    let current = Stored::from(rule);
    let updated = retirable::update(
        db,
        Retirable::NotificationRules,
        change,
        project,
        &current,
        definition,
        active,
    )
    .await?;
    Ok(updated.map(Rule::from))
}

/// A notification to write: one recipient, one rule, one happening.
#[derive(Debug, Clone)]
pub(crate) struct Pending {
    pub(crate) id: Uuid,
    pub(crate) user: Uuid,
    pub(crate) rule: Uuid,
    pub(crate) trigger: Trigger,
    pub(crate) message: String,
}

/// The notifications the project's rules in force call for when `happenings` happen to
/// `ticket` (as it is after the change) at the hands of `actor`. Reads the rules and, when a
/// rule names them, the project's members; writes nothing.
///
/// # Errors
/// Database errors.
pub(crate) async fn plan(
    db: &Database,
    actor: &Actor,
    ticket: &Ticket,
    happenings: &[Happening],
) -> Result<Vec<Pending>, sqlx::Error> {
    if happenings.is_empty() {
        return Ok(Vec::new());
    }
    let rules = rules(db, actor.tenant_id, ticket.project_id, true).await?;
    let fired: Vec<(&Rule, &Happening)> = rules
        .iter()
        .flat_map(|rule| {
            happenings
                .iter()
                .filter(|happening| rule.definition.matches(happening, ticket))
                .map(move |happening| (rule, happening))
        })
        .collect();
    if fired.is_empty() {
        return Ok(Vec::new());
    }
    let needs_members = fired.iter().any(|(rule, _)| {
        rule.definition
            .recipients
            .iter()
            .any(|recipient| *recipient != Recipient::Assignee)
    });
    let members = if needs_members {
        members(db, actor.tenant_id, ticket.project_id).await?
    } else {
        Vec::new()
    };
    let acting = crate::routes::user_of(actor);
    let mut seen = BTreeSet::new();
    let mut pending = Vec::new();
    for (rule, happening) in fired {
        let mut users: Vec<Uuid> = rule.definition.users.clone();
        for recipient in &rule.definition.recipients {
            match recipient {
                Recipient::Assignee => users.extend(ticket.assignee_id),
                Recipient::ProjectManagers => users.extend(
                    members
                        .iter()
                        .filter(|(_, role)| {
                            matches!(role, Role::ProjectManager | Role::ProjectGroupManager)
                        })
                        .map(|(user, _)| *user),
                ),
                Recipient::ProjectMembers => users.extend(
                    members
                        .iter()
                        .filter(|(_, role)| *role != Role::Customer)
                        .map(|(user, _)| *user),
                ),
                Recipient::ClientUsers if happening.for_clients() => users.extend(
                    members
                        .iter()
                        .filter(|(_, role)| *role == Role::Customer)
                        .map(|(user, _)| *user),
                ),
                Recipient::ClientUsers => {}
            }
        }
        let message = format!("{}: {}", rule.definition.name, happening.describe(ticket));
        for user in users {
            // One notice per person and happening, however many rules name them.
            if Some(user) == acting || !seen.insert((user, happening)) {
                continue;
            }
            pending.push(Pending {
                id: Uuid::now_v7(),
                user,
                rule: rule.id,
                trigger: happening.trigger(),
                message: message.clone(),
            });
        }
    }
    Ok(pending)
}

/// The active members of `project` and their roles.
async fn members(
    db: &Database,
    tenant: TenantId,
    project: Uuid,
) -> Result<Vec<(Uuid, Role)>, sqlx::Error> {
    let rows: Vec<(Uuid, String)> = on_backend!(db, |pool| {
        sqlx::query_as(
            "select u.id, u.role from project_members m join users u on u.id = m.user_id \
             where m.tenant_id = $1 and m.project_id = $2 and u.tenant_id = $1 and u.active",
        )
        .bind(tenant.as_uuid())
        .bind(project)
        .fetch_all(pool)
        .await?
    });
    Ok(rows
        .into_iter()
        .filter_map(|(id, role)| role.parse().ok().map(|role| (id, role)))
        .collect())
}

/// Writes [`Pending`] notifications of ticket `$ticket` (a [`Ticket`]) in tenant `$tenant`
/// with the open transaction `$tx`, at `$at`.
macro_rules! deliver {
    ($tx:expr, $tenant:expr, $ticket:expr, $pending:expr, $at:expr) => {{
        let tx = $tx;
        let ticket: &$crate::tickets::Ticket = $ticket;
        for notification in $pending {
            sqlx::query(
                "insert into notifications (id, tenant_id, user_id, project_id, ticket_id, rule_id, \
                 trigger, message, created_at) values ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(notification.id)
            .bind($tenant)
            .bind(notification.user)
            .bind(ticket.project_id)
            .bind(ticket.id)
            .bind(notification.rule)
            .bind(notification.trigger.as_str())
            .bind(&notification.message)
            .bind($at)
            .execute(&mut **tx)
            .await?;
        }
    }};
}
pub(crate) use deliver;

/// A notification in a user's inbox.
#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct Notification {
    /// Its id.
    pub id: Uuid,
    /// The ticket it is about.
    pub ticket_id: Uuid,
    /// The ticket's project.
    pub project_id: Uuid,
    /// The rule that sent it.
    pub rule_id: Uuid,
    /// What happened.
    #[schema(value_type = Trigger)]
    pub trigger: String,
    /// What to tell the user: the rule's name, then what happened to which ticket.
    pub message: String,
    /// When it was sent.
    pub created_at: DateTime<Utc>,
    /// When the user read it; `null` while unread.
    pub read_at: Option<DateTime<Utc>>,
}

/// Up to `limit` notifications of `user` older than notification `before` (from the newest
/// when `None`), newest first; only unread ones when `unread_only`.
///
/// # Errors
/// Database errors.
pub async fn inbox(
    db: &Database,
    tenant: TenantId,
    user: Uuid,
    unread_only: bool,
    before: Option<Uuid>,
    limit: i64,
) -> Result<Vec<Notification>, sqlx::Error> {
    Ok(on_backend!(db, |pool| {
        sqlx::query_as(
            "select id, ticket_id, project_id, rule_id, trigger, message, created_at, read_at \
             from notifications where tenant_id = $1 and user_id = $2 \
             and (read_at is null or not $3) and ($4 is null or id < $4) \
             order by id desc limit $5",
        )
        .bind(tenant.as_uuid())
        .bind(user)
        .bind(unread_only)
        .bind(before)
        .bind(limit)
        .fetch_all(pool)
        .await?
    }))
}

/// Marks notification `id` of `user` read (keeping the first time); `false` when the user has
/// no such notification.
///
/// # Errors
/// Database errors.
pub async fn mark_read(
    db: &Database,
    tenant: TenantId,
    user: Uuid,
    id: Uuid,
) -> Result<bool, sqlx::Error> {
    let found = on_backend!(db, |pool| {
        sqlx::query(
            "update notifications set read_at = coalesce(read_at, $4) \
             where tenant_id = $1 and user_id = $2 and id = $3",
        )
        .bind(tenant.as_uuid())
        .bind(user)
        .bind(id)
        .bind(now())
        .execute(pool)
        .await?
        .rows_affected()
    });
    Ok(found == 1)
}

#[cfg(test)]
mod tests {
    use tenet_events::tickets::{Channel, TicketStatus};

    use super::*;

    fn rule(on: Trigger) -> RuleDefinition {
        RuleDefinition {
            name: "Heads up".into(),
            on,
            statuses: Vec::new(),
            priorities: Vec::new(),
            public_only: false,
            clocks: Vec::new(),
            recipients: vec![Recipient::Assignee],
            users: Vec::new(),
        }
    }

    fn ticket(priority: TicketPriority) -> Ticket {
        let at = Utc::now();
        Ticket {
            id: Uuid::now_v7(),
            project_id: Uuid::now_v7(),
            number: 1,
            subject: "No heating".into(),
            description: String::new(),
            channel: Channel::Voice,
            status: TicketStatus::Open,
            workflow_status: "open".into(),
            workflow_version: 0,
            priority,
            assignee_id: None,
            customer_id: None,
            request_type: None,
            fields: Default::default(),
            sla: None,
            created_at: at,
            updated_at: at,
            version: 1,
            clocks: Default::default(),
        }
    }

    #[test]
    fn rules_match_their_trigger_statuses_priorities_and_visibility() {
        let normal = ticket(TicketPriority::Normal);
        let solved = Happening::StatusChanged {
            to: "solved".into(),
        };
        let into_solved = RuleDefinition {
            statuses: vec!["solved".into()],
            ..rule(Trigger::StatusChanged)
        };
        assert!(into_solved.matches(&solved, &normal));
        assert!(!into_solved.matches(&Happening::StatusChanged { to: "open".into() }, &normal));
        assert!(!into_solved.matches(&Happening::Created, &normal));
        let public = RuleDefinition {
            public_only: true,
            ..rule(Trigger::Commented)
        };
        assert!(public.matches(&Happening::Commented { public: true }, &normal));
        assert!(!public.matches(&Happening::Commented { public: false }, &normal));
        let urgent = RuleDefinition {
            priorities: vec![TicketPriority::Urgent],
            ..rule(Trigger::TicketCreated)
        };
        assert!(!urgent.matches(&Happening::Created, &normal));
        assert!(urgent.matches(&Happening::Created, &ticket(TicketPriority::Urgent)));
        let breach = |clock| Happening::SlaBreached { clock };
        let resolution_only = RuleDefinition {
            clocks: vec![SlaClock::Resolution],
            ..rule(Trigger::SlaBreached)
        };
        assert!(resolution_only.matches(&breach(SlaClock::Resolution), &normal));
        assert!(!resolution_only.matches(&breach(SlaClock::FirstResponse), &normal));
        assert!(rule(Trigger::SlaBreached).matches(&breach(SlaClock::FirstResponse), &normal));
        assert!(!rule(Trigger::SlaBreached).matches(&Happening::Created, &normal));
        assert!(!breach(SlaClock::Resolution).for_clients());
        assert!(!Happening::Assigned.for_clients());
        assert!(!Happening::Commented { public: false }.for_clients());
        assert!(solved.for_clients());
    }

    #[test]
    fn clients_are_never_told_of_what_they_may_not_see() {
        let workflow = Workflow::built_in(Uuid::nil());
        let none = BTreeSet::new();
        let to_clients = |on| RuleDefinition {
            recipients: vec![Recipient::ClientUsers],
            ..rule(on)
        };
        let (field, _) = to_clients(Trigger::Assigned)
            .check(&workflow, &none)
            .unwrap_err();
        assert_eq!(field, "recipients");
        let (field, message) = to_clients(Trigger::Commented)
            .check(&workflow, &none)
            .unwrap_err();
        assert_eq!(field, "recipients");
        assert!(message.contains("public_only"), "{message}");
        let public = RuleDefinition {
            public_only: true,
            ..to_clients(Trigger::Commented)
        };
        assert!(public.check(&workflow, &none).is_ok());
        let (field, _) = to_clients(Trigger::SlaBreached)
            .check(&workflow, &none)
            .unwrap_err();
        assert_eq!(field, "recipients");
        let misplaced_clocks = RuleDefinition {
            clocks: vec![SlaClock::Resolution],
            ..rule(Trigger::StatusChanged)
        };
        let (field, _) = misplaced_clocks.check(&workflow, &none).unwrap_err();
        assert_eq!(field, "clocks");
    }

    #[test]
    fn named_users_must_exist_and_are_kept_once() {
        let workflow = Workflow::built_in(Uuid::nil());
        let (known, stranger) = (Uuid::now_v7(), Uuid::now_v7());
        let named = RuleDefinition {
            recipients: vec![Recipient::Assignee, Recipient::Assignee],
            users: vec![known, known],
            ..rule(Trigger::TicketCreated)
        };
        let checked = named
            .clone()
            .check(&workflow, &BTreeSet::from([known]))
            .unwrap();
        assert_eq!(checked.users, [known]);
        assert_eq!(checked.recipients, [Recipient::Assignee]);
        let with_stranger = RuleDefinition {
            users: vec![known, stranger],
            ..named
        };
        let (field, _) = with_stranger
            .check(&workflow, &BTreeSet::from([known]))
            .unwrap_err();
        assert_eq!(field, "users.1");
    }
}

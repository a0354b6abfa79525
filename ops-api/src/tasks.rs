//! Tasks on tickets: the follow-ups an operator creates, assigns and closes ("call the
//! customer back on Monday"), and the time spent working a ticket.
//!
//! Each change is one transaction that also appends to the ticket's history, so that the
//! history says who created, reassigned or closed a task and who logged time.

use chrono::{DateTime, Utc};
use serde::Serialize;
use tenet_events::Actor;
use tenet_events::identity::Principal;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::db::{BeginWrite, Database, now, principal_json};
use crate::on_backend;
use crate::tickets::Ticket;

/// A task on a ticket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Task {
    /// Its id.
    pub id: Uuid,
    /// The ticket it belongs to.
    pub ticket_id: Uuid,
    /// What is to be done.
    pub title: String,
    /// Who should do it.
    pub assignee_id: Option<Uuid>,
    /// When it should be done by.
    pub due_at: Option<DateTime<Utc>>,
    /// When it was closed; `null` while it is open.
    pub done_at: Option<DateTime<Utc>>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// Its version: send it back with a change.
    pub version: i64,
}

#[derive(sqlx::FromRow)]
struct TaskRow {
    id: Uuid,
    ticket_id: Uuid,
    title: String,
    assignee_id: Option<Uuid>,
    due_at: Option<DateTime<Utc>>,
    done_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    version: i64,
}

impl From<TaskRow> for Task {
    fn from(row: TaskRow) -> Self {
        Task {
            id: row.id,
            ticket_id: row.ticket_id,
            title: row.title,
            assignee_id: row.assignee_id,
            due_at: row.due_at,
            done_at: row.done_at,
            created_at: row.created_at,
            updated_at: row.updated_at,
            version: row.version,
        }
    }
}

const TASK_COLUMNS: &str =
    "id, ticket_id, title, assignee_id, due_at, done_at, created_at, updated_at, version";

/// What goes wrong with a task.
#[derive(Debug, thiserror::Error)]
pub enum TaskError {
    /// No such task on the ticket.
    #[error("no such task on this ticket")]
    NotFound,
    /// The task changed since the version the caller based the change on.
    #[error("the task was changed by someone else (now at version {current}); reload it and retry")]
    VersionConflict {
        /// The version now stored.
        current: i64,
    },
    /// The assignee is not an active user of the tenant.
    #[error("assignee {0} is not an active user of this tenant")]
    UnknownAssignee(Uuid),
    /// The change changes nothing.
    #[error("the change has no effect")]
    NoChange,
    /// The database failed.
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// A change to a task; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct TaskChange {
    /// The new title.
    pub title: Option<String>,
    /// The new assignee (`Some(None)` unassigns).
    pub assignee_id: Option<Option<Uuid>>,
    /// The new due time (`Some(None)` clears it).
    pub due_at: Option<Option<DateTime<Utc>>>,
    /// Close (`true`) or reopen (`false`).
    pub done: Option<bool>,
}

async fn ensure_assignee(db: &Database, actor: &Actor, assignee: Uuid) -> Result<(), TaskError> {
    match crate::users::get(db, actor.tenant_id, assignee).await? {
        Some(user) if user.active => Ok(()),
        _ => Err(TaskError::UnknownAssignee(assignee)),
    }
}

const HISTORY: &str = "insert into ticket_history (id, tenant_id, ticket_id, actor, field, old_value, new_value, at) \
                       values ($1, $2, $3, $4, $5, $6, $7, $8)";

/// Creates a task on `ticket`.
///
/// # Errors
/// [`TaskError::UnknownAssignee`]; database errors.
pub async fn create(
    db: &Database,
    actor: &Actor,
    ticket: &Ticket,
    title: String,
    assignee_id: Option<Uuid>,
    due_at: Option<DateTime<Utc>>,
) -> Result<Task, TaskError> {
    if let Some(assignee) = assignee_id {
        ensure_assignee(db, actor, assignee).await?;
    }
    let now = now();
    let task = Task {
        id: Uuid::now_v7(),
        ticket_id: ticket.id,
        title,
        assignee_id,
        due_at,
        done_at: None,
        created_at: now,
        updated_at: now,
        version: 1,
    };
    let tenant = actor.tenant_id.as_uuid();
    on_backend!(db, |pool| {
        let mut tx = pool.begin_write().await?;
        sqlx::query(
            "insert into ticket_tasks (id, tenant_id, ticket_id, title, assignee_id, due_at, created_by, created_at, updated_at) \
             values ($1, $2, $3, $4, $5, $6, $7, $8, $8)",
        )
        .bind(task.id)
        .bind(tenant)
        .bind(ticket.id)
        .bind(&task.title)
        .bind(task.assignee_id)
        .bind(task.due_at)
        .bind(principal_json(actor))
        .bind(now)
        .execute(&mut *tx)
        .await?;
        sqlx::query(HISTORY)
            .bind(Uuid::now_v7())
            .bind(tenant)
            .bind(ticket.id)
            .bind(principal_json(actor))
            .bind("task")
            .bind(Option::<String>::None)
            .bind(format!("created: {}", task.title))
            .bind(now)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
    });
    Ok(task)
}

/// The tasks of `ticket`, oldest first.
///
/// # Errors
/// Database errors.
pub async fn list(db: &Database, actor: &Actor, ticket: Uuid) -> Result<Vec<Task>, sqlx::Error> {
    let rows: Vec<TaskRow> = on_backend!(db, |pool| {
        sqlx::query_as(&format!(
            "select {TASK_COLUMNS} from ticket_tasks where tenant_id = $1 and ticket_id = $2 order by id"
        ))
        .bind(actor.tenant_id.as_uuid())
        .bind(ticket)
        .fetch_all(pool)
        .await?
    });
    Ok(rows.into_iter().map(Task::from).collect())
}

/// One task of `ticket`.
///
/// # Errors
/// Database errors.
pub async fn get(
    db: &Database,
    actor: &Actor,
    ticket: Uuid,
    id: Uuid,
) -> Result<Option<Task>, sqlx::Error> {
    let row: Option<TaskRow> = on_backend!(db, |pool| {
        sqlx::query_as(&format!(
            "select {TASK_COLUMNS} from ticket_tasks where tenant_id = $1 and ticket_id = $2 and id = $3"
        ))
        .bind(actor.tenant_id.as_uuid())
        .bind(ticket)
        .bind(id)
        .fetch_optional(pool)
        .await?
    });
    Ok(row.map(Task::from))
}

/// Applies `change` to `task` if it is still at `expected_version`.
///
/// # Errors
/// [`TaskError::VersionConflict`], [`TaskError::UnknownAssignee`], [`TaskError::NoChange`];
/// database errors.
pub async fn update(
    db: &Database,
    actor: &Actor,
    task: &Task,
    expected_version: i64,
    change: TaskChange,
) -> Result<Task, TaskError> {
    if task.version != expected_version {
        return Err(TaskError::VersionConflict {
            current: task.version,
        });
    }
    let now = now();
    let mut next = task.clone();
    let mut history: Vec<String> = Vec::new();
    if let Some(title) = change.title.filter(|title| *title != task.title) {
        history.push(format!("renamed: {title}"));
        next.title = title;
    }
    if let Some(assignee) = change.assignee_id.filter(|a| *a != task.assignee_id) {
        if let Some(user) = assignee {
            ensure_assignee(db, actor, user).await?;
        }
        history.push(match assignee {
            Some(user) => format!("assigned to {user}: {}", next.title),
            None => format!("unassigned: {}", next.title),
        });
        next.assignee_id = assignee;
    }
    if let Some(due_at) = change.due_at.filter(|due| *due != task.due_at) {
        history.push(match due_at {
            Some(due) => format!("due {}: {}", due.to_rfc3339(), next.title),
            None => format!("no due time: {}", next.title),
        });
        next.due_at = due_at;
    }
    if let Some(done) = change.done.filter(|done| *done != task.done_at.is_some()) {
        history.push(format!(
            "{}: {}",
            if done { "done" } else { "reopened" },
            next.title
        ));
        next.done_at = done.then_some(now);
    }
    if history.is_empty() {
        return Err(TaskError::NoChange);
    }
    next.version = task.version + 1;
    next.updated_at = now;
    let tenant = actor.tenant_id.as_uuid();
    let author = principal_json(actor);
    let updated = on_backend!(db, |pool| {
        let mut tx = pool.begin_write().await?;
        let result = sqlx::query(
            "update ticket_tasks set title = $1, assignee_id = $2, due_at = $3, done_at = $4, \
             updated_at = $5, version = version + 1 \
             where tenant_id = $6 and id = $7 and version = $8",
        )
        .bind(&next.title)
        .bind(next.assignee_id)
        .bind(next.due_at)
        .bind(next.done_at)
        .bind(now)
        .bind(tenant)
        .bind(task.id)
        .bind(expected_version)
        .execute(&mut *tx)
        .await?;
        if result.rows_affected() == 1 {
            for line in &history {
                sqlx::query(HISTORY)
                    .bind(Uuid::now_v7())
                    .bind(tenant)
                    .bind(task.ticket_id)
                    .bind(&author)
                    .bind("task")
                    .bind(Option::<String>::None)
                    .bind(line)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            true
        } else {
            tx.rollback().await?;
            false
        }
    });
    if !updated {
        let current = get(db, actor, task.ticket_id, task.id)
            .await?
            .ok_or(TaskError::NotFound)?;
        return Err(TaskError::VersionConflict {
            current: current.version,
        });
    }
    Ok(next)
}

/// Time someone spent working a ticket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct TimeEntry {
    /// Its id.
    pub id: Uuid,
    /// The ticket worked.
    pub ticket_id: Uuid,
    /// Who logged it.
    #[schema(value_type = crate::openapi::PrincipalSchema)]
    pub author: Principal,
    /// Minutes spent.
    pub minutes: i32,
    /// What was done.
    pub note: String,
    /// When the work was done.
    pub worked_at: DateTime<Utc>,
    /// When it was logged.
    pub created_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct TimeRow {
    id: Uuid,
    ticket_id: Uuid,
    author: String,
    minutes: i32,
    note: String,
    worked_at: DateTime<Utc>,
    created_at: DateTime<Utc>,
}

/// Logs `minutes` of work on `ticket`.
///
/// # Errors
/// Database errors.
pub async fn log_time(
    db: &Database,
    actor: &Actor,
    ticket: &Ticket,
    minutes: i32,
    note: String,
    worked_at: DateTime<Utc>,
) -> Result<TimeEntry, sqlx::Error> {
    let now = now();
    let entry = TimeEntry {
        id: Uuid::now_v7(),
        ticket_id: ticket.id,
        author: actor.principal.clone(),
        minutes,
        note,
        worked_at,
        created_at: now,
    };
    let tenant = actor.tenant_id.as_uuid();
    on_backend!(db, |pool| {
        let mut tx = pool.begin_write().await?;
        sqlx::query(
            "insert into ticket_time_entries (id, tenant_id, ticket_id, author, minutes, note, worked_at, created_at) \
             values ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(entry.id)
        .bind(tenant)
        .bind(ticket.id)
        .bind(principal_json(actor))
        .bind(minutes)
        .bind(&entry.note)
        .bind(worked_at)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        sqlx::query(HISTORY)
            .bind(Uuid::now_v7())
            .bind(tenant)
            .bind(ticket.id)
            .bind(principal_json(actor))
            .bind("time_spent")
            .bind(Option::<String>::None)
            .bind(format!("{minutes} min"))
            .bind(now)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
    });
    Ok(entry)
}

/// The time logged on `ticket`, in the order it was worked.
///
/// # Errors
/// Database errors.
pub async fn time_entries(
    db: &Database,
    actor: &Actor,
    ticket: Uuid,
) -> Result<Vec<TimeEntry>, sqlx::Error> {
    let rows: Vec<TimeRow> = on_backend!(db, |pool| {
        sqlx::query_as(
            "select id, ticket_id, author, minutes, note, worked_at, created_at from ticket_time_entries \
             where tenant_id = $1 and ticket_id = $2 order by id",
        )
        .bind(actor.tenant_id.as_uuid())
        .bind(ticket)
        .fetch_all(pool)
        .await?
    });
    let mut entries: Vec<TimeEntry> = rows
        .into_iter()
        .map(|row| TimeEntry {
            id: row.id,
            ticket_id: row.ticket_id,
            author: serde_json::from_str(&row.author).unwrap_or(Principal::System),
            minutes: row.minutes,
            note: row.note,
            worked_at: row.worked_at,
            created_at: row.created_at,
        })
        .collect();
    // Sorted here, not in SQL: SQLite keeps timestamps as text.
    entries.sort_by_key(|entry| entry.worked_at);
    Ok(entries)
}

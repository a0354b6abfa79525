//! What a project's client company sees: the users with the customer role.
//!
//! Clients always see their projects' tickets, the public comments and public attachments on
//! them, never the internal ones, nor the center's tasks and time spent. Beyond that each
//! project decides: which custom fields stay internal, whether clients see who works a ticket,
//! its SLA clocks, its history of changes, and the project's statistics (reports and exports).
//! A project that has not decided shows all of these. What a client may not see of a ticket
//! is left out of its history too.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tenet_events::TenantId;
use tenet_events::admin::Setting;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::admin_events::Change;
use crate::db::{BeginWrite, Database, now};
use crate::tickets::{HistoryEntry, Ticket};
use crate::{enqueue, on_backend};

/// The most fields a project may keep from its clients.
pub const MAX_HIDDEN_FIELDS: usize = 200;

/// What clients see of a project.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ClientView {
    /// Custom fields (by key) that clients do not see on tickets.
    pub hidden_fields: Vec<String>,
    /// Whether clients see who works a ticket (`assignee_id`).
    pub assignee: bool,
    /// Whether clients see a ticket's SLA clocks.
    pub sla: bool,
    /// Whether clients read a ticket's history of changes.
    pub history: bool,
    /// Whether clients read and export the project's statistics.
    pub statistics: bool,
    /// Its version: 0 until the project first sets it; send it back with a change.
    pub version: i64,
    /// When it last changed; `null` until the project first sets it.
    pub updated_at: Option<DateTime<Utc>>,
}

impl ClientView {
    /// What a project shows until it decides otherwise: everything but internal comments
    /// and attachments.
    pub fn open() -> Self {
        Self {
            hidden_fields: Vec::new(),
            assignee: true,
            sla: true,
            history: true,
            statistics: true,
            version: 0,
            updated_at: None,
        }
    }

    /// `ticket` as its project's clients see it.
    pub fn apply(&self, mut ticket: Ticket) -> Ticket {
        ticket
            .fields
            .retain(|key, _| !self.hidden_fields.contains(key));
        if !self.assignee {
            ticket.assignee_id = None;
        }
        if !self.sla {
            ticket.sla = None;
        }
        ticket
    }

    /// Whether a client sees `entry` of a ticket's history, given the names of the ticket's
    /// public attachments.
    pub fn shows(&self, entry: &HistoryEntry, public_files: &[String]) -> bool {
        let names_hidden_field = |value: &Option<String>| {
            value.as_deref().is_some_and(|value| {
                self.hidden_fields.iter().any(|key| {
                    value
                        .strip_prefix(key.as_str())
                        .is_some_and(|rest| rest.starts_with(": "))
                })
            })
        };
        match entry.field.as_str() {
            "fields" => {
                !names_hidden_field(&entry.old_value) && !names_hidden_field(&entry.new_value)
            }
            "assignee_id" => self.assignee,
            "attachment" => entry
                .new_value
                .as_ref()
                .is_some_and(|name| public_files.contains(name)),
            // The center's own working steps: tasks, time and the operations run.
            "task" | "time_spent" | "operation" => false,
            _ => true,
        }
    }
}

#[derive(sqlx::FromRow)]
struct ViewRow {
    definition: String,
    version: i64,
    updated_at: DateTime<Utc>,
}

/// What is stored of a view: everything but its version and time.
#[derive(Serialize, Deserialize)]
struct Stored {
    hidden_fields: Vec<String>,
    assignee: bool,
    sla: bool,
    history: bool,
    statistics: bool,
}

/// What `project` shows its clients.
///
/// # Errors
/// Database errors.
pub async fn get(
    db: &Database,
    tenant: TenantId,
    project: Uuid,
) -> Result<ClientView, sqlx::Error> {
    let row: Option<ViewRow> = on_backend!(db, |pool| {
        sqlx::query_as(
            "select definition, version, updated_at from project_client_views \
             where tenant_id = $1 and project_id = $2",
        )
        .bind(tenant.as_uuid())
        .bind(project)
        .fetch_optional(pool)
        .await?
    });
    let Some(row) = row else {
        return Ok(ClientView::open());
    };
    let stored: Stored =
        serde_json::from_str(&row.definition).map_err(|error| sqlx::Error::ColumnDecode {
            index: "definition".into(),
            source: Box::new(error),
        })?;
    Ok(ClientView {
        hidden_fields: stored.hidden_fields,
        assignee: stored.assignee,
        sla: stored.sla,
        history: stored.history,
        statistics: stored.statistics,
        version: row.version,
        updated_at: Some(row.updated_at),
    })
}

/// Sets what `project` shows its clients if its view is still at `expected_version`; `None`
/// when it is not.
///
/// # Errors
/// Database errors.
pub async fn put(
    db: &Database,
    change: Change<'_>,
    project: Uuid,
    expected_version: i64,
    view: &ClientView,
) -> Result<Option<ClientView>, sqlx::Error> {
    let definition = serde_json::to_string(&Stored {
        hidden_fields: view.hidden_fields.clone(),
        assignee: view.assignee,
        sla: view.sla,
        history: view.history,
        statistics: view.statistics,
    })
    .map_err(|error| sqlx::Error::Encode(Box::new(error)))?;
    let at = now();
    let event = change.configured_one(
        project,
        Setting::ClientView,
        expected_version.saturating_add(1),
    );
    let tenant = change.actor.tenant_id;
    let written = on_backend!(db, |pool| {
        let mut tx = pool.begin_write().await?;
        let written = if expected_version == 0 {
            sqlx::query(
                "insert into project_client_views (tenant_id, project_id, definition, version, updated_at) \
                 values ($1, $2, $3, 1, $4) on conflict (project_id) do nothing",
            )
            .bind(tenant.as_uuid())
            .bind(project)
            .bind(&definition)
            .bind(at)
            .execute(&mut *tx)
            .await?
            .rows_affected()
        } else {
            sqlx::query(
                "update project_client_views set definition = $3, version = version + 1, updated_at = $4 \
                 where tenant_id = $1 and project_id = $2 and version = $5",
            )
            .bind(tenant.as_uuid())
            .bind(project)
            .bind(&definition)
            .bind(at)
            .bind(expected_version)
            .execute(&mut *tx)
            .await?
            .rows_affected()
        };
        if written == 1 {
            enqueue!(&mut *tx, &event)?;
        }
        tx.commit().await?;
        written
    });
    Ok((written == 1).then(|| ClientView {
        version: expected_version + 1,
        updated_at: Some(at),
        ..view.clone()
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(field: &str, new_value: &str) -> HistoryEntry {
        HistoryEntry {
            id: Uuid::now_v7(),
            field: field.into(),
            old_value: None,
            new_value: Some(new_value.into()),
            at: Utc::now(),
            redacted_at: None,
            redaction_reason: None,
            actor: String::new(),
        }
    }

    #[test]
    fn clients_see_what_changed_but_not_the_centers_working_steps() {
        let view = ClientView {
            hidden_fields: vec!["account".into()],
            assignee: false,
            ..ClientView::open()
        };
        assert!(view.shows(&entry("status", "solved"), &[]));
        assert!(view.shows(&entry("fields", "district: north"), &[]));
        assert!(!view.shows(&entry("fields", "account: A-1"), &[]));
        assert!(!view.shows(&entry("assignee_id", "anna"), &[]));
        for internal in ["operation", "task", "time_spent"] {
            assert!(!view.shows(&entry(internal, "x"), &[]), "{internal}");
        }
        assert!(view.shows(&entry("attachment", "bill.pdf"), &["bill.pdf".into()]));
        assert!(!view.shows(&entry("attachment", "notes.txt"), &["bill.pdf".into()]));
    }
}

//! Project settings kept as numbered versions that are never edited: SLA policies and ticket
//! workflows. Each version is a JSON definition in a table of the same shape (`id`,
//! `tenant_id`, `project_id`, `version`, `definition`, `created_by`, `created_at`, unique per
//! project and version); tickets name the version they were created under.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tenet_events::Actor;
use tenet_events::admin::Setting;
use uuid::Uuid;

use crate::admin_events::Change;
use crate::db::{BeginWrite, Database, principal_json};
use crate::{enqueue, on_backend};

/// A table of versioned project settings.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Versioned {
    /// `sla_policies`.
    SlaPolicies,
    /// `project_workflows`.
    Workflows,
}

impl Versioned {
    fn setting(self) -> Setting {
        match self {
            Versioned::SlaPolicies => Setting::SlaPolicy,
            Versioned::Workflows => Setting::Workflow,
        }
    }

    fn table(self) -> &'static str {
        match self {
            Versioned::SlaPolicies => "sla_policies",
            Versioned::Workflows => "project_workflows",
        }
    }
}

/// One stored version with its definition decoded.
#[derive(Debug, Clone)]
pub(crate) struct Stored<D> {
    pub(crate) id: Uuid,
    pub(crate) project_id: Uuid,
    pub(crate) version: i64,
    pub(crate) definition: D,
    pub(crate) created_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct Row {
    id: Uuid,
    project_id: Uuid,
    version: i64,
    definition: String,
    created_at: DateTime<Utc>,
}

impl Row {
    fn decode<D: DeserializeOwned>(self) -> Result<Stored<D>, sqlx::Error> {
        Ok(Stored {
            id: self.id,
            project_id: self.project_id,
            version: self.version,
            definition: serde_json::from_str(&self.definition).map_err(|error| {
                sqlx::Error::ColumnDecode {
                    index: "definition".into(),
                    source: Box::new(error),
                }
            })?,
            created_at: self.created_at,
        })
    }
}

/// The latest version of `project`'s settings in `table`, or the version `version`.
///
/// # Errors
/// Database errors, or a definition that does not decode.
pub(crate) async fn get<D: DeserializeOwned>(
    db: &Database,
    table: Versioned,
    actor: &Actor,
    project: Uuid,
    version: Option<i64>,
) -> Result<Option<Stored<D>>, sqlx::Error> {
    let sql = format!(
        "select id, project_id, version, definition, created_at from {} \
         where tenant_id = $1 and project_id = $2 and ($3 is null or version = $3) \
         order by version desc limit 1",
        table.table()
    );
    let row: Option<Row> = on_backend!(db, |pool| {
        sqlx::query_as(&sql)
            .bind(actor.tenant_id.as_uuid())
            .bind(project)
            .bind(version)
            .fetch_optional(pool)
            .await?
    });
    row.map(Row::decode).transpose()
}

/// Stores `stored` as the next version of `project`'s settings in `table`, with its
/// `admin.project_configured` event; `false` when someone stored that version first.
///
/// # Errors
/// Database errors.
pub(crate) async fn insert<D: Serialize>(
    db: &Database,
    table: Versioned,
    change: Change<'_>,
    stored: &Stored<D>,
) -> Result<bool, sqlx::Error> {
    let actor = change.actor;
    let event = change.configured_one(stored.project_id, table.setting(), stored.version);
    let definition = serde_json::to_string(&stored.definition)
        .map_err(|error| sqlx::Error::Encode(Box::new(error)))?;
    let sql = format!(
        "insert into {} (id, tenant_id, project_id, version, definition, created_by, created_at) \
         values ($1, $2, $3, $4, $5, $6, $7) on conflict (project_id, version) do nothing",
        table.table()
    );
    let inserted = on_backend!(db, |pool| {
        let mut tx = pool.begin_write().await?;
        let inserted = sqlx::query(&sql)
            .bind(stored.id)
            .bind(actor.tenant_id.as_uuid())
            .bind(stored.project_id)
            .bind(stored.version)
            .bind(&definition)
            .bind(principal_json(actor))
            .bind(stored.created_at)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if inserted == 1 {
            enqueue!(&mut *tx, &event)?;
        }
        tx.commit().await?;
        inserted
    });
    Ok(inserted == 1)
}

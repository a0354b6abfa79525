//! Project settings that a project has many of, each a JSON definition changed in place under
//! a version and retired rather than deleted: operations and notification rules. Each lives
//! in a table of the same shape (`id`, `tenant_id`, `project_id`, `definition`, `active`,
//! `created_at`, `updated_at`, `version`; operations also have a `key` unique in the project),
//! and every change writes its `admin.project_configured` event in the same transaction.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tenet_events::TenantId;
use tenet_events::admin::{Setting, SettingChange};
use uuid::Uuid;

use crate::admin_events::Change;
use crate::db::{BeginWrite, Database, now};
use crate::{enqueue, on_backend};

/// A table of retirable project settings.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Retirable {
    /// `project_operations`, keyed.
    Operations,
    /// `project_notification_rules`.
    NotificationRules,
}

impl Retirable {
    fn table(self) -> &'static str {
        match self {
            Retirable::Operations => "project_operations",
            Retirable::NotificationRules => "project_notification_rules",
        }
    }

    fn setting(self) -> Setting {
        match self {
            Retirable::Operations => Setting::Operation,
            Retirable::NotificationRules => Setting::NotificationRule,
        }
    }

    /// The columns read back, in [`Row`]'s order; a keyless table reads a null key.
    fn columns(self) -> &'static str {
        match self {
            Retirable::Operations => "id, key, definition, active, created_at, updated_at, version",
            Retirable::NotificationRules => {
                "id, cast(null as text) as key, definition, active, created_at, updated_at, version"
            }
        }
    }

    /// How a project's settings are listed: operations by key, rules oldest first.
    fn order(self) -> &'static str {
        match self {
            Retirable::Operations => "key",
            Retirable::NotificationRules => "id",
        }
    }
}

/// One stored setting with its definition decoded.
#[derive(Debug, Clone)]
pub(crate) struct Stored<D> {
    pub(crate) id: Uuid,
    /// The key, for the tables that have one.
    pub(crate) key: Option<String>,
    pub(crate) definition: D,
    pub(crate) active: bool,
    pub(crate) created_at: DateTime<Utc>,
    pub(crate) updated_at: DateTime<Utc>,
    pub(crate) version: i64,
}

impl<D> Stored<D> {
    /// A new, active setting at version 1.
    pub(crate) fn new(key: Option<String>, definition: D) -> Self {
        let at = now();
        Self {
            id: Uuid::now_v7(),
            key,
            definition,
            active: true,
            created_at: at,
            updated_at: at,
            version: 1,
        }
    }
}

#[derive(sqlx::FromRow)]
struct Row {
    id: Uuid,
    key: Option<String>,
    definition: String,
    active: bool,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    version: i64,
}

impl Row {
    fn decode<D: DeserializeOwned>(self) -> Result<Stored<D>, sqlx::Error> {
        Ok(Stored {
            id: self.id,
            key: self.key,
            definition: serde_json::from_str(&self.definition).map_err(|error| {
                sqlx::Error::ColumnDecode {
                    index: "definition".into(),
                    source: Box::new(error),
                }
            })?,
            active: self.active,
            created_at: self.created_at,
            updated_at: self.updated_at,
            version: self.version,
        })
    }
}

fn encode<D: Serialize>(definition: &D) -> Result<String, sqlx::Error> {
    serde_json::to_string(definition).map_err(|error| sqlx::Error::Encode(Box::new(error)))
}

/// Stores the new setting `stored` of `project` in `table`, with its event.
///
/// # Errors
/// A unique violation when a keyed table has the key already; database errors.
pub(crate) async fn insert<D: Serialize>(
    db: &Database,
    table: Retirable,
    change: Change<'_>,
    project: Uuid,
    stored: &Stored<D>,
) -> Result<(), sqlx::Error> {
    let definition = encode(&stored.definition)?;
    let event = change.configured(
        project,
        table.setting(),
        stored.id,
        stored.version,
        SettingChange::Created,
    );
    let sql = match table {
        Retirable::Operations => {
            "insert into project_operations (id, tenant_id, project_id, key, definition, \
             created_at, updated_at) values ($1, $2, $3, $4, $5, $6, $6)"
        }
        Retirable::NotificationRules => {
            "insert into project_notification_rules (id, tenant_id, project_id, definition, \
             created_at, updated_at) values ($1, $2, $3, $4, $5, $5)"
        }
    };
    on_backend!(db, |pool| {
        let mut tx = pool.begin_write().await?;
        let mut query = sqlx::query(sql)
            .bind(stored.id)
            .bind(change.actor.tenant_id.as_uuid())
            .bind(project);
        // Values bind in order; only keyed tables have a key among them.
        if let Some(key) = &stored.key {
            query = query.bind(key);
        }
        query
            .bind(&definition)
            .bind(stored.created_at)
            .execute(&mut *tx)
            .await?;
        enqueue!(&mut *tx, &event)?;
        tx.commit().await?;
    });
    Ok(())
}

/// The settings of `project` in `table`; only those in force when `active_only`; with `key`,
/// only the one of that key.
///
/// # Errors
/// Database errors, or a stored definition this build cannot read.
pub(crate) async fn list<D: DeserializeOwned>(
    db: &Database,
    table: Retirable,
    tenant: TenantId,
    project: Uuid,
    active_only: bool,
    key: Option<&str>,
) -> Result<Vec<Stored<D>>, sqlx::Error> {
    let sql = format!(
        "select {} from {} where tenant_id = $1 and project_id = $2 and (active or not $3) \
         {} order by {}",
        table.columns(),
        table.table(),
        if key.is_some() { "and key = $4" } else { "" },
        table.order(),
    );
    let rows: Vec<Row> = on_backend!(db, |pool| {
        let mut query = sqlx::query_as(&sql)
            .bind(tenant.as_uuid())
            .bind(project)
            .bind(active_only);
        if let Some(key) = key {
            query = query.bind(key);
        }
        query.fetch_all(pool).await?
    });
    rows.into_iter().map(Row::decode).collect()
}

/// Replaces the definition of `current` and sets whether it is `active`, if it is still at its
/// version, with its event (`retired` when the change retires it); `None` when someone changed
/// it meanwhile.
///
/// # Errors
/// Database errors.
pub(crate) async fn update<D: Serialize + Clone>(
    db: &Database,
    table: Retirable,
    change: Change<'_>,
    project: Uuid,
    current: &Stored<D>,
    definition: D,
    active: bool,
) -> Result<Option<Stored<D>>, sqlx::Error> {
    let next = Stored {
        definition,
        active,
        updated_at: now(),
        version: current.version + 1,
        ..current.clone()
    };
    let definition = encode(&next.definition)?;
    let event = change.configured(
        project,
        table.setting(),
        current.id,
        next.version,
        SettingChange::of_update(current.active && !next.active),
    );
    let sql = format!(
        "update {} set definition = $1, active = $2, updated_at = $3, version = version + 1 \
         where tenant_id = $4 and project_id = $5 and id = $6 and version = $7",
        table.table()
    );
    let updated = on_backend!(db, |pool| {
        let mut tx = pool.begin_write().await?;
        let updated = sqlx::query(&sql)
            .bind(&definition)
            .bind(next.active)
            .bind(next.updated_at)
            .bind(change.actor.tenant_id.as_uuid())
            .bind(project)
            .bind(current.id)
            .bind(current.version)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if updated == 1 {
            enqueue!(&mut *tx, &event)?;
        }
        tx.commit().await?;
        updated
    });
    Ok((updated == 1).then_some(next))
}

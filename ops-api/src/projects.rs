//! Projects: a client engagement of the tenant (a hotline, a campaign) that tickets belong
//! to and operators are assigned to.

use chrono::{DateTime, Utc};
use serde::Serialize;
use tenet_events::TenantId;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::admin_events::Change;
use crate::db::{BeginWrite, Database};
use crate::rbac::Scope;
use crate::{enqueue, on_backend};

/// A project's short key: 2 to 16 upper-case letters, digits or `-`, starting with a letter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectKey(String);

/// Why a project key was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error(
    "project key `{0}` must be 2 to 16 upper-case letters, digits or `-`, starting with a letter"
)]
pub struct InvalidProjectKey(String);

impl ProjectKey {
    /// Parses a key.
    ///
    /// # Errors
    /// [`InvalidProjectKey`] when it breaks the rule.
    pub fn parse(raw: &str) -> Result<Self, InvalidProjectKey> {
        let valid = (2..=16).contains(&raw.len())
            && raw.starts_with(|c: char| c.is_ascii_uppercase())
            && raw
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '-');
        if valid {
            Ok(Self(raw.to_owned()))
        } else {
            Err(InvalidProjectKey(raw.to_owned()))
        }
    }

    /// The key.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A stored project.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, ToSchema)]
pub struct Project {
    /// Its id.
    pub id: Uuid,
    /// Its key.
    pub key: String,
    /// Its name.
    pub name: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// Its version.
    pub version: i64,
}

/// Creates a project in the tenant of the change, with its `admin.project_created` event.
///
/// # Errors
/// A unique violation when the key is taken in the tenant; other database errors.
pub async fn create(
    db: &Database,
    change: Change<'_>,
    key: &ProjectKey,
    name: &str,
) -> Result<Project, sqlx::Error> {
    let project = Project {
        id: Uuid::now_v7(),
        key: key.as_str().to_owned(),
        name: name.to_owned(),
        created_at: change.at,
        version: 1,
    };
    let event = change.project_created(project.id, &project.key);
    on_backend!(db, |pool| {
        let mut tx = pool.begin_write().await?;
        sqlx::query("insert into projects (id, tenant_id, key, name, created_at) values ($1, $2, $3, $4, $5)")
            .bind(project.id)
            .bind(change.actor.tenant_id.as_uuid())
            .bind(&project.key)
            .bind(&project.name)
            .bind(project.created_at)
            .execute(&mut *tx)
            .await?;
        enqueue!(&mut *tx, &event)?;
        tx.commit().await?;
    });
    Ok(project)
}

/// The projects `user` may see with `scope`, by key.
///
/// # Errors
/// Database errors.
pub async fn list(
    db: &Database,
    tenant_id: TenantId,
    scope: Scope,
    user: Option<Uuid>,
) -> Result<Vec<Project>, sqlx::Error> {
    let all = scope == Scope::Tenant;
    Ok(on_backend!(db, |pool| {
        sqlx::query_as(
            "select id, key, name, created_at, version from projects p where tenant_id = $1 \
             and ($2 or exists (select 1 from project_members m \
                  where m.tenant_id = p.tenant_id and m.project_id = p.id and m.user_id = $3)) \
             order by key",
        )
        .bind(tenant_id.as_uuid())
        .bind(all)
        .bind(user)
        .fetch_all(pool)
        .await?
    }))
}

/// One project of the tenant.
///
/// # Errors
/// Database errors.
pub async fn get(
    db: &Database,
    tenant_id: TenantId,
    id: Uuid,
) -> Result<Option<Project>, sqlx::Error> {
    Ok(on_backend!(db, |pool| {
        sqlx::query_as("select id, key, name, created_at, version from projects where tenant_id = $1 and id = $2")
            .bind(tenant_id.as_uuid())
            .bind(id)
            .fetch_optional(pool)
            .await?
    }))
}

/// Whether `user` is a member of `project`.
///
/// # Errors
/// Database errors.
pub async fn is_member(
    db: &Database,
    tenant_id: TenantId,
    project: Uuid,
    user: Uuid,
) -> Result<bool, sqlx::Error> {
    let found: Option<i32> = on_backend!(db, |pool| {
        sqlx::query_scalar(
            "select 1 from project_members where tenant_id = $1 and project_id = $2 and user_id = $3",
        )
        .bind(tenant_id.as_uuid())
        .bind(project)
        .bind(user)
        .fetch_optional(pool)
        .await?
    });
    Ok(found.is_some())
}

/// Adds `user` to `project`, with its `admin.member_added` event; adding a member twice is
/// not an error and changes nothing.
///
/// # Errors
/// Database errors (a foreign-key violation when either does not exist).
pub async fn add_member(
    db: &Database,
    change: Change<'_>,
    project: Uuid,
    user: Uuid,
) -> Result<(), sqlx::Error> {
    let event = change.member_added(project, user);
    on_backend!(db, |pool| {
        let mut tx = pool.begin_write().await?;
        let added = sqlx::query(
            "insert into project_members (tenant_id, project_id, user_id) values ($1, $2, $3) \
             on conflict (project_id, user_id) do nothing",
        )
        .bind(change.actor.tenant_id.as_uuid())
        .bind(project)
        .bind(user)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if added == 1 {
            enqueue!(&mut *tx, &event)?;
        }
        tx.commit().await?;
    });
    Ok(())
}

//! One-shot administration: migrations, tenants and API tokens.
//!
//! Each command opens the configured database (`database.url`, or the embedded SQLite file
//! in the data directory), applies pending migrations, and does one thing.

use anyhow::Context;
use chrono::Duration;
use tenet_events::{Role, TenantId};
use tenet_ops_api::Database;
use tenet_ops_api::admin_events::{self, Change};
use tenet_ops_api::tenants::{self, Tenant, TenantName};
use tenet_ops_api::tokens::{self, ApiToken, IssuedToken};
use uuid::Uuid;

use crate::app::open_database;
use crate::config::Settings;

/// Opens the configured database and brings its schema up to date.
///
/// # Errors
/// When the database cannot be reached or a migration fails.
pub async fn migrated_database(settings: &Settings) -> anyhow::Result<Database> {
    let database = open_database(&settings.database, &settings.data.dir).await?;
    database
        .migrate()
        .await
        .context("cannot apply migrations")?;
    Ok(database)
}

/// `tenet admin tenant create NAME`.
///
/// # Errors
/// When the name is invalid or the insert fails.
pub async fn create_tenant(database: &Database, name: &str) -> anyhow::Result<Tenant> {
    let name = TenantName::parse(name)?;
    Ok(tenants::create(database, &name).await?)
}

/// `tenet admin token create --tenant ID --role ROLE [--expires-in DAYS] [--label TEXT]`.
///
/// # Errors
/// When the tenant does not exist, the lifetime is not positive, or the insert fails.
pub async fn create_token(
    database: &Database,
    tenant: TenantId,
    role: Role,
    expires_in_days: Option<u32>,
    label: &str,
) -> anyhow::Result<IssuedToken> {
    let lifetime = match expires_in_days {
        Some(0) => anyhow::bail!("--expires-in must be at least 1 day"),
        Some(days) => Some(Duration::days(i64::from(days))),
        None => None,
    };
    let actor = admin_events::system(tenant);
    Ok(tokens::issue(database, Change::now(&actor, None), role, label, lifetime).await?)
}

/// `tenet admin token revoke ID`.
///
/// # Errors
/// When no such token exists or the update fails.
pub async fn revoke_token(database: &Database, id: Uuid) -> anyhow::Result<ApiToken> {
    Ok(tokens::revoke(database, id).await?)
}

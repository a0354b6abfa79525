//! Tenants: the companies using the platform.

use chrono::{DateTime, Utc};
use serde::Serialize;
use tenet_events::TenantId;
use uuid::Uuid;

use crate::db::Database;
use crate::on_backend;

/// A tenant's display name: 1 to 200 characters, no control characters, trimmed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct TenantName(String);

/// Why a tenant name was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum InvalidTenantName {
    /// Empty after trimming.
    #[error("tenant name must not be empty")]
    Empty,
    /// Longer than 200 characters.
    #[error("tenant name must be at most 200 characters, got {0}")]
    TooLong(usize),
    /// Holds a control character such as a newline.
    #[error("tenant name must not contain control characters")]
    ControlCharacter,
}

impl TenantName {
    /// Parses a display name.
    ///
    /// # Errors
    /// [`InvalidTenantName`] says which rule the name breaks.
    pub fn parse(raw: &str) -> Result<Self, InvalidTenantName> {
        let name = raw.trim();
        let length = name.chars().count();
        if length == 0 {
            return Err(InvalidTenantName::Empty);
        }
        if length > 200 {
            return Err(InvalidTenantName::TooLong(length));
        }
        if name.chars().any(char::is_control) {
            return Err(InvalidTenantName::ControlCharacter);
        }
        Ok(Self(name.to_owned()))
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A stored tenant.
#[derive(Debug, Clone, Serialize)]
pub struct Tenant {
    /// Its identifier.
    pub id: TenantId,
    /// Its display name.
    pub name: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct TenantRow {
    id: Uuid,
    name: String,
    created_at: DateTime<Utc>,
}

impl From<TenantRow> for Tenant {
    fn from(row: TenantRow) -> Self {
        Tenant {
            id: TenantId::from_uuid(row.id),
            name: row.name,
            created_at: row.created_at,
        }
    }
}

/// Creates a tenant.
///
/// # Errors
/// The database's error when the insert fails.
pub async fn create(db: &Database, name: &TenantName) -> Result<Tenant, sqlx::Error> {
    let tenant = Tenant {
        id: TenantId::generate(),
        name: name.as_str().to_owned(),
        created_at: Utc::now(),
    };
    on_backend!(db, |pool| {
        sqlx::query("insert into tenants (id, name, created_at) values ($1, $2, $3)")
            .bind(tenant.id.as_uuid())
            .bind(&tenant.name)
            .bind(tenant.created_at)
            .execute(pool)
            .await?;
    });
    Ok(tenant)
}

/// Looks a tenant up by id.
///
/// # Errors
/// The database's error when the query fails.
pub async fn find(db: &Database, id: TenantId) -> Result<Option<Tenant>, sqlx::Error> {
    let row: Option<TenantRow> = on_backend!(db, |pool| {
        sqlx::query_as("select id, name, created_at from tenants where id = $1")
            .bind(id.as_uuid())
            .fetch_optional(pool)
            .await?
    });
    Ok(row.map(Tenant::from))
}

/// Whether any tenant exists: false only on a new installation.
///
/// # Errors
/// The database's error when the query fails.
pub async fn any(db: &Database) -> Result<bool, sqlx::Error> {
    let found: Option<i32> = on_backend!(db, |pool| {
        sqlx::query_scalar("select 1 from tenants limit 1")
            .fetch_optional(pool)
            .await?
    });
    Ok(found.is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_name_is_trimmed() {
        assert_eq!(
            TenantName::parse("  Acme Utilities ").unwrap().as_str(),
            "Acme Utilities"
        );
    }

    #[test]
    fn blank_long_and_multiline_names_are_refused() {
        assert_eq!(TenantName::parse("   "), Err(InvalidTenantName::Empty));
        assert_eq!(
            TenantName::parse(&"x".repeat(201)),
            Err(InvalidTenantName::TooLong(201))
        );
        assert_eq!(
            TenantName::parse("a\nb"),
            Err(InvalidTenantName::ControlCharacter)
        );
    }
}

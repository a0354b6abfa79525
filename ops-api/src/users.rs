//! Users: the people who sign in, each with one role in one tenant.

use chrono::{DateTime, Utc};
use serde::Serialize;
use tenet_events::{Role, TenantId};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::admin_events::Change;
use crate::db::{BeginWrite, Database};
use crate::passwords::NewPassword;
use crate::{enqueue, on_backend};

/// An e-mail address, trimmed and lower-cased: the login name within a tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

/// Why an e-mail address was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("`{0}` is not an e-mail address")]
pub struct InvalidEmail(String);

impl Email {
    /// Parses an address of the form `local@domain`.
    ///
    /// # Errors
    /// [`InvalidEmail`] when it is not one.
    pub fn parse(raw: &str) -> Result<Self, InvalidEmail> {
        let email = raw.trim().to_lowercase();
        let valid = email.len() <= 254
            && email.split_once('@').is_some_and(|(local, domain)| {
                !local.is_empty()
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
            })
            && email.matches('@').count() == 1
            && !email.chars().any(|c| c.is_whitespace() || c.is_control());
        if valid {
            Ok(Self(email))
        } else {
            Err(InvalidEmail(raw.to_owned()))
        }
    }

    /// The address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A stored user, without the password hash.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct User {
    /// Its id.
    pub id: Uuid,
    /// Its tenant.
    #[schema(value_type = Uuid)]
    pub tenant_id: TenantId,
    /// Its login e-mail.
    pub email: String,
    /// Its name as shown to others.
    pub display_name: String,
    /// Its role.
    #[schema(value_type = crate::openapi::RoleSchema)]
    pub role: Role,
    /// Whether it may sign in.
    pub active: bool,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// Its version, for optimistic concurrency.
    pub version: i64,
}

/// A user as the login needs it: with the hash and the lockout state.
#[derive(Debug, Clone)]
pub struct Credentials {
    /// The user.
    pub user: User,
    /// The argon2id hash.
    pub password_hash: String,
    /// Failed sign-ins since the last success.
    pub failed_logins: i32,
    /// Until when sign-in is refused after too many failures.
    pub locked_until: Option<DateTime<Utc>>,
}

#[derive(sqlx::FromRow)]
struct UserRow {
    id: Uuid,
    tenant_id: Uuid,
    email: String,
    display_name: String,
    role: String,
    active: bool,
    created_at: DateTime<Utc>,
    version: i64,
    password_hash: String,
    failed_logins: i32,
    locked_until: Option<DateTime<Utc>>,
}

const COLUMNS: &str = "id, tenant_id, email, display_name, role, active, created_at, version, \
                       password_hash, failed_logins, locked_until";

impl TryFrom<UserRow> for Credentials {
    type Error = sqlx::Error;

    fn try_from(row: UserRow) -> Result<Self, Self::Error> {
        let role = row
            .role
            .parse()
            .map_err(|error| sqlx::Error::ColumnDecode {
                index: "role".into(),
                source: Box::new(error),
            })?;
        Ok(Credentials {
            user: User {
                id: row.id,
                tenant_id: TenantId::from_uuid(row.tenant_id),
                email: row.email,
                display_name: row.display_name,
                role,
                active: row.active,
                created_at: row.created_at,
                version: row.version,
            },
            password_hash: row.password_hash,
            failed_logins: row.failed_logins,
            locked_until: row.locked_until,
        })
    }
}

/// What it takes to create a user.
pub struct NewUser {
    /// Login e-mail, unique within the tenant.
    pub email: Email,
    /// Name shown to others.
    pub display_name: String,
    /// Role.
    pub role: Role,
    /// Initial password.
    pub password: NewPassword,
}

/// Creates a user in the tenant of the change, with its `admin.user_created` event.
///
/// # Errors
/// A unique violation when the e-mail is taken in the tenant; other database errors.
pub async fn create(db: &Database, change: Change<'_>, new: NewUser) -> Result<User, sqlx::Error> {
    let tenant_id = change.actor.tenant_id;
    let user = User {
        id: Uuid::now_v7(),
        tenant_id,
        email: new.email.as_str().to_owned(),
        display_name: new.display_name,
        role: new.role,
        active: true,
        created_at: change.at,
        version: 1,
    };
    let hash = new.password.hash();
    let event = change.user_created(user.id, user.role);
    on_backend!(db, |pool| {
        let mut tx = pool.begin_write().await?;
        sqlx::query(
            "insert into users (id, tenant_id, email, display_name, role, password_hash, created_at, updated_at) \
             values ($1, $2, $3, $4, $5, $6, $7, $7)",
        )
        .bind(user.id)
        .bind(tenant_id.as_uuid())
        .bind(&user.email)
        .bind(&user.display_name)
        .bind(user.role.as_str())
        .bind(hash)
        .bind(change.at)
        .execute(&mut *tx)
        .await?;
        enqueue!(&mut *tx, &event)?;
        tx.commit().await?;
    });
    Ok(user)
}

/// The users of a tenant, oldest first.
///
/// # Errors
/// Database errors.
pub async fn list(db: &Database, tenant_id: TenantId) -> Result<Vec<User>, sqlx::Error> {
    let rows: Vec<UserRow> = on_backend!(db, |pool| {
        sqlx::query_as(&format!(
            "select {COLUMNS} from users where tenant_id = $1 order by id"
        ))
        .bind(tenant_id.as_uuid())
        .fetch_all(pool)
        .await?
    });
    rows.into_iter()
        .map(|row| Credentials::try_from(row).map(|c| c.user))
        .collect()
}

/// One user of a tenant.
///
/// # Errors
/// Database errors.
pub async fn get(
    db: &Database,
    tenant_id: TenantId,
    id: Uuid,
) -> Result<Option<User>, sqlx::Error> {
    let row: Option<UserRow> = on_backend!(db, |pool| {
        sqlx::query_as(&format!(
            "select {COLUMNS} from users where tenant_id = $1 and id = $2"
        ))
        .bind(tenant_id.as_uuid())
        .bind(id)
        .fetch_optional(pool)
        .await?
    });
    row.map(|row| Credentials::try_from(row).map(|c| c.user))
        .transpose()
}

/// A user's credentials by e-mail, for sign-in.
///
/// # Errors
/// Database errors.
pub async fn credentials(
    db: &Database,
    tenant_id: TenantId,
    email: &Email,
) -> Result<Option<Credentials>, sqlx::Error> {
    let row: Option<UserRow> = on_backend!(db, |pool| {
        sqlx::query_as(&format!(
            "select {COLUMNS} from users where tenant_id = $1 and email = $2"
        ))
        .bind(tenant_id.as_uuid())
        .bind(email.as_str())
        .fetch_optional(pool)
        .await?
    });
    row.map(Credentials::try_from).transpose()
}

/// Records a failed sign-in; after `max_failures` in a row, locks sign-in until `lock_until`.
///
/// # Errors
/// Database errors.
pub async fn record_failed_login(
    db: &Database,
    user_id: Uuid,
    max_failures: i32,
    lock_until: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    on_backend!(db, |pool| {
        sqlx::query(
            "update users set failed_logins = failed_logins + 1, \
             locked_until = case when failed_logins + 1 >= $2 then $3 else locked_until end \
             where id = $1",
        )
        .bind(user_id)
        .bind(max_failures)
        .bind(lock_until)
        .execute(pool)
        .await?;
    });
    Ok(())
}

/// Clears the failure count after a successful sign-in.
///
/// # Errors
/// Database errors.
pub async fn record_successful_login(db: &Database, user_id: Uuid) -> Result<(), sqlx::Error> {
    on_backend!(db, |pool| {
        sqlx::query("update users set failed_logins = 0, locked_until = null where id = $1")
            .bind(user_id)
            .execute(pool)
            .await?;
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(
            Email::parse(" Anna@Example.COM ").unwrap().as_str(),
            "anna@example.com"
        );
        for bad in [
            "",
            "anna",
            "anna@",
            "@example.com",
            "anna@example",
            "a b@example.com",
            "a@@example.com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }
}

//! The ops API load test's fixture: many tenants and users seeded straight into PostgreSQL,
//! and the sign-in list of the operators the load tool plays.
//!
//! Every tenant gets one project (`HOT`) and its share of the users: an admin, a project
//! manager and operators, all members of the project. Rows go in with `COPY` in batches, so a
//! million users take minutes, not hours. Every user has the same password, hashed once with
//! the production parameters: signing in costs what it costs in production. The fixture is a
//! benchmark's, not a tenant's history: no events are written for it.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use chrono::Utc;
use secrecy::SecretString;
use serde::Serialize;
use sqlx::PgPool;
use sqlx::postgres::PgPoolCopyExt;
use tenet_ops_api::Database;
use tenet_ops_api::passwords::NewPassword;
use uuid::Uuid;

/// The password of every seeded user.
pub const PASSWORD: &str = "load test password 1";

/// Rows sent per `COPY`.
const BATCH: usize = 20_000;

/// What to seed.
#[derive(Debug, Clone)]
pub struct SeedOps {
    /// Tenants (companies).
    pub tenants: u32,
    /// Users over all tenants (at least three per tenant: admin, manager, operator).
    pub users: u64,
    /// Operators to list for the load tool, one per tenant, spread over the tenants.
    pub logins: u32,
    /// Where the sign-in list goes (CSV: `tenant_id,email,password,project_id`).
    pub out: PathBuf,
}

/// What seeding took.
#[derive(Debug, Serialize)]
pub struct SeedFigures {
    /// Tenants written.
    pub tenants: u64,
    /// Users written.
    pub users: u64,
    /// Projects written.
    pub projects: u64,
    /// Project memberships written.
    pub members: u64,
    /// Seconds it took.
    pub seconds: f64,
    /// Operators in the sign-in list.
    pub logins: u32,
}

/// One tenant's ids.
struct Tenant {
    id: Uuid,
    project: Uuid,
}

fn users_of(tenant: u64, tenants: u64, users: u64) -> u64 {
    users / tenants + u64::from(tenant < users % tenants)
}

fn role_of(index: u64) -> &'static str {
    match index {
        0 => "admin",
        1 => "project_manager",
        _ => "operator",
    }
}

fn email(tenant: u64, user: u64) -> String {
    format!("user{user}@tenant{tenant}.test")
}

async fn copy(pool: &PgPool, statement: &str, rows: &str) -> anyhow::Result<u64> {
    let mut copy = pool
        .copy_in_raw(statement)
        .await
        .with_context(|| format!("cannot start {statement}"))?;
    copy.send(rows.as_bytes()).await?;
    Ok(copy.finish().await?)
}

/// Seeds the tenants, projects, users and memberships into `database` and writes the sign-in
/// list.
///
/// # Errors
/// When the database is not PostgreSQL, there are fewer than three users a tenant, a `COPY`
/// fails (the seed must go into an empty database: ids and keys would collide otherwise), or
/// the list cannot be written.
pub async fn seed(database: &Database, plan: &SeedOps) -> anyhow::Result<SeedFigures> {
    let Database::Postgres(pool) = database else {
        anyhow::bail!(
            "the ops load test runs on PostgreSQL: set database.url to a postgres:// URL"
        );
    };
    let tenants = u64::from(plan.tenants);
    anyhow::ensure!(tenants > 0, "--tenants must be at least 1");
    anyhow::ensure!(
        plan.users >= 3 * tenants,
        "--users must be at least three per tenant (an admin, a manager, an operator)"
    );
    let started = Instant::now();
    let hash = NewPassword::parse(SecretString::from(PASSWORD))
        .map_err(|error| anyhow::anyhow!("{error}"))?
        .hash();
    let now = Utc::now().to_rfc3339();
    let mut figures = SeedFigures {
        tenants: 0,
        users: 0,
        projects: 0,
        members: 0,
        seconds: 0.0,
        logins: 0,
    };
    let stride = (tenants / u64::from(plan.logins.max(1))).max(1);
    let mut logins = String::from("tenant_id,email,password,project_id\n");
    let mut first = 0;
    while first < tenants {
        let last = (first + (BATCH as u64) / 10).min(tenants);
        let batch: Vec<Tenant> = (first..last)
            .map(|_| Tenant {
                id: Uuid::now_v7(),
                project: Uuid::now_v7(),
            })
            .collect();
        let (mut tenant_rows, mut project_rows) = (String::new(), String::new());
        let (mut user_rows, mut member_rows) = (String::new(), String::new());
        for (offset, tenant) in batch.iter().enumerate() {
            let number = first + offset as u64;
            writeln!(tenant_rows, "{}\tTenant {number}\t{now}", tenant.id)?;
            writeln!(
                project_rows,
                "{}\t{}\tHOT\tHotline\t{now}",
                tenant.project, tenant.id
            )?;
            for user in 0..users_of(number, tenants, plan.users) {
                let id = Uuid::now_v7();
                let email = email(number, user);
                writeln!(
                    user_rows,
                    "{id}\t{}\t{email}\tUser {user}\t{}\t{hash}\t{now}\t{now}",
                    tenant.id,
                    role_of(user)
                )?;
                if user > 0 {
                    writeln!(member_rows, "{}\t{}\t{id}", tenant.id, tenant.project)?;
                }
                if user == 2 && number.is_multiple_of(stride) && figures.logins < plan.logins {
                    writeln!(
                        logins,
                        "{},{email},{PASSWORD},{}",
                        tenant.id, tenant.project
                    )?;
                    figures.logins += 1;
                }
            }
        }
        figures.tenants += copy(
            pool,
            "copy tenants (id, name, created_at) from stdin",
            &tenant_rows,
        )
        .await?;
        figures.projects += copy(
            pool,
            "copy projects (id, tenant_id, key, name, created_at) from stdin",
            &project_rows,
        )
        .await?;
        figures.users += copy(
            pool,
            "copy users (id, tenant_id, email, display_name, role, password_hash, created_at, updated_at) from stdin",
            &user_rows,
        )
        .await?;
        figures.members += copy(
            pool,
            "copy project_members (tenant_id, project_id, user_id) from stdin",
            &member_rows,
        )
        .await?;
        first = last;
        tracing::info!(
            tenants = figures.tenants,
            users = figures.users,
            "seeded {:.0} s",
            started.elapsed().as_secs_f64()
        );
    }
    sqlx::query("analyze").execute(pool).await?;
    std::fs::write(&plan.out, logins)
        .with_context(|| format!("cannot write {}", plan.out.display()))?;
    figures.seconds = started.elapsed().as_secs_f64();
    Ok(figures)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_are_shared_out_evenly_and_every_tenant_has_its_three_roles() {
        let shares: Vec<u64> = (0..4).map(|tenant| users_of(tenant, 4, 14)).collect();
        assert_eq!(shares, [4, 4, 3, 3]);
        assert_eq!(shares.iter().sum::<u64>(), 14);
        let roles: Vec<&str> = (0..4).map(role_of).collect();
        assert_eq!(roles, ["admin", "project_manager", "operator", "operator"]);
    }
}

//! SLA breach notices.
//!
//! A ticket's SLA clocks run out without anyone touching the ticket, so no change can announce
//! it. A sweep, run periodically by the API servers, looks for tickets whose first-response or
//! resolution clock passed its due time while still running, and for each one, in a single
//! transaction, marks the clock as noticed and writes the notifications the project's
//! `sla_breached` rules call for. Each breach is announced once, however many servers sweep:
//! the mark is taken only where no one took it before.
//!
//! Finished tickets (solved or closed) raise no notice: a late first response on a ticket
//! already solved is a figure for the reports, not news for anyone.

use chrono::{DateTime, Utc};
use tenet_events::TenantId;
use uuid::Uuid;

use crate::db::{BeginWrite, Database};
use crate::notifications::{self, Happening, SlaClock};
use crate::on_backend;
use crate::rbac::Scope;
use crate::tickets::{self, Visibility};

/// What one sweep did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Swept {
    /// Breaches noticed: one per ticket and clock.
    pub breaches: usize,
    /// Notifications written for them.
    pub notifications: usize,
}

/// The ticket columns of a clock: its due time, what stops it, and its notice.
struct Columns {
    due: &'static str,
    running: &'static str,
    noticed: &'static str,
}

fn columns(clock: SlaClock) -> Columns {
    match clock {
        SlaClock::FirstResponse => Columns {
            due: "first_response_due_at",
            running: "first_responded_at is null and resolved_at is null",
            noticed: "first_response_breach_noticed_at",
        },
        SlaClock::Resolution => Columns {
            due: "resolution_due_at",
            running: "resolved_at is null",
            noticed: "resolution_breach_noticed_at",
        },
    }
}

/// Notices up to `limit` breaches of each clock that are due before `now` and not yet
/// noticed, oldest first, with their notifications.
///
/// On SQLite the due times are compared as the RFC 3339 UTC text sqlx writes, which sorts in
/// time order. The mark is taken with the same conditions as the search, so a ticket answered
/// or solved in between is left alone.
///
/// # Errors
/// Database errors; the breaches noticed before the error stay noticed.
pub async fn sweep(db: &Database, now: DateTime<Utc>, limit: i64) -> Result<Swept, sqlx::Error> {
    let mut swept = Swept::default();
    for clock in SlaClock::ALL {
        let Columns {
            due,
            running,
            noticed,
        } = columns(clock);
        let candidates: Vec<(Uuid, Uuid)> = on_backend!(db, |pool| {
            sqlx::query_as(&format!(
                "select tenant_id, id from tickets \
                 where {due} < $1 and {running} and {noticed} is null \
                 order by {due} limit $2"
            ))
            .bind(now)
            .bind(limit)
            .fetch_all(pool)
            .await?
        });
        for (tenant, id) in candidates {
            let actor = crate::admin_events::system(TenantId::from_uuid(tenant));
            let visibility = Visibility {
                scope: Scope::Tenant,
                user: None,
            };
            let Some(ticket) = tickets::get(db, &actor, visibility, id).await? else {
                continue;
            };
            let pending =
                notifications::plan(db, &actor, &ticket, &[Happening::SlaBreached { clock }])
                    .await?;
            let marked = on_backend!(db, |pool| {
                let mut tx = pool.begin_write().await?;
                let marked = sqlx::query(&format!(
                    "update tickets set {noticed} = $1 \
                     where tenant_id = $2 and id = $3 and {due} < $1 and {running} \
                     and {noticed} is null"
                ))
                .bind(now)
                .bind(tenant)
                .bind(id)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                    == 1;
                // Another server noticed it first, or the clock stopped meanwhile.
                if marked {
                    notifications::deliver!(&mut tx, tenant, &ticket, &pending, now);
                    tx.commit().await?;
                }
                marked
            });
            if marked {
                swept.breaches += 1;
                swept.notifications += pending.len();
            }
        }
    }
    Ok(swept)
}

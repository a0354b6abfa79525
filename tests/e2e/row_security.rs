//! Row-level security on PostgreSQL: the database's own wall behind the tenant filter of
//! every query. Inside a tenant's scope, even a query without a tenant filter sees and writes
//! only that tenant's rows; every table holding tenants' rows has the policy.

use reqwest::{Method, StatusCode};
use serde_json::json;
use sqlx::Row as _;
use tenet::admin;
use tenet_events::{Role, TenantId};
use tenet_ops_api::db::scoped;
use tenet_ops_api::on_backend;

use crate::harness::{RunningApp, TestDatabase, settings};
use crate::tickets::{World, token};

/// Counts the tickets a query without any tenant filter finds.
async fn tickets_seen(world: &World) -> i64 {
    on_backend!(&world.app.database, |pool| {
        sqlx::query_scalar("select count(*) from tickets")
            .fetch_one(pool)
            .await
            .unwrap()
    })
}

#[tokio::test]
async fn a_tenants_scope_sees_and_writes_only_its_own_rows_whatever_the_query_says() {
    // Arrange: two tenants with tickets, on PostgreSQL.
    let database = TestDatabase::create().await;
    let data = tempfile::tempdir().unwrap();
    let world =
        World::new(RunningApp::serve_api(settings(Some(database.url()), data.path())).await).await;
    for subject in ["No heating", "No hot water"] {
        world.ticket(subject, "voice").await;
    }
    let other = admin::create_tenant(&world.app.database, "Globex")
        .await
        .unwrap();
    let other_admin = token(&world.app.database, other.id, Role::Admin).await;
    let (status, project) = world
        .call(
            Method::POST,
            "/projects",
            &other_admin,
            Some(json!({"key": "GLX", "name": "Globex line"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{project}");
    let (status, ticket) = world
        .call(
            Method::POST,
            "/tickets",
            &other_admin,
            Some(json!({"project_id": project["id"], "subject": "Gas smell", "channel": "email"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{ticket}");
    let ours: TenantId = world.tenant.parse().unwrap();

    // Act and assert: outside any scope (the platform's own jobs) every row shows.
    assert_eq!(tickets_seen(&world).await, 3);
    // Inside a tenant's scope, only that tenant's.
    assert_eq!(scoped(ours, tickets_seen(&world)).await, 2);
    assert_eq!(scoped(other.id, tickets_seen(&world)).await, 1);
    let (role, tenants): (String, i64) = scoped(ours, async {
        on_backend!(&world.app.database, |pool| {
            let row = sqlx::query(
                "select current_user::text as role, (select count(*) from tenants) as tenants",
            )
            .fetch_one(pool)
            .await
            .unwrap();
            (row.get("role"), row.get("tenants"))
        })
    })
    .await;
    assert_eq!((role.as_str(), tenants), ("tenet_scoped", 1));

    // An unfiltered update touches only the scope's rows.
    let updated = scoped(ours, async {
        on_backend!(&world.app.database, |pool| {
            sqlx::query("update tickets set subject = 'Renamed'")
                .execute(pool)
                .await
                .unwrap()
                .rows_affected()
        })
    })
    .await;
    assert_eq!(updated, 2);
    let (status, theirs) = world
        .call(
            Method::GET,
            &format!("/tickets/{}", ticket["id"].as_str().unwrap()),
            &other_admin,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        theirs["subject"], "Gas smell",
        "the other tenant's ticket is untouched"
    );

    // A write of another tenant's row is refused by the database.
    let refused = scoped(ours, async {
        on_backend!(&world.app.database, |pool| {
            sqlx::query("update tenants set name = 'Taken over' where id = $1")
                .bind(other.id.as_uuid())
                .execute(pool)
                .await
                .unwrap()
                .rows_affected()
        })
    })
    .await;
    assert_eq!(refused, 0, "another tenant's row is out of sight");
    let inserted = scoped(ours, async {
        on_backend!(&world.app.database, |pool| {
            sqlx::query(
                "insert into project_members (tenant_id, project_id, user_id) \
                 values ($1, $2, $3)",
            )
            .bind(other.id.as_uuid())
            .bind(uuid::Uuid::parse_str(project["id"].as_str().unwrap()).unwrap())
            .bind(uuid::Uuid::parse_str(&world.operator_id).unwrap())
            .execute(pool)
            .await
            .map(|done| done.rows_affected())
        })
    })
    .await;
    let error = inserted.expect_err("a row of another tenant cannot be written");
    assert!(error.to_string().contains("row-level security"), "{error}");

    // Every table that holds tenants' rows has row security and its policy.
    let unguarded: Vec<String> = on_backend!(&world.app.database, |pool| {
        sqlx::query_scalar(
            "select c.relname::text from pg_class c \
             join pg_namespace n on n.oid = c.relnamespace \
             where n.nspname = current_schema() and c.relkind = 'r' \
               and (exists (select from pg_attribute a where a.attrelid = c.oid \
                            and a.attname = 'tenant_id' and not a.attisdropped) \
                    or c.relname = 'tenants') \
               and not (c.relrowsecurity and exists (select from pg_policy p \
                        where p.polrelid = c.oid and p.polname = 'tenant_isolation')) \
             order by 1",
        )
        .fetch_all(pool)
        .await
        .unwrap()
    });
    assert!(
        unguarded.is_empty(),
        "tables without the policy: {unguarded:?}"
    );
}

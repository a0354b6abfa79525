//! Migrations: applied at start and by `tenet migrate`, exactly once under concurrency.

use sqlx::{Connection, PgConnection, Row};

use crate::harness::{TestDatabase, tenet};

#[tokio::test]
async fn two_concurrent_migrate_runs_apply_each_migration_exactly_once() {
    let database = TestDatabase::create().await;
    let url = database.url();
    let run = || {
        let mut command = tenet();
        command.arg("migrate").env("TENET_DATABASE__URL", &url);
        command.output()
    };

    let (first, second) = tokio::join!(run(), run());

    let (first, second) = (first.unwrap(), second.unwrap());
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    assert!(
        second.status.success(),
        "{}",
        String::from_utf8_lossy(&second.stderr)
    );
    let migration_files =
        std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/postgres"))
            .unwrap()
            .filter(|entry| {
                entry
                    .as_ref()
                    .unwrap()
                    .path()
                    .extension()
                    .is_some_and(|ext| ext == "sql")
            })
            .count();
    let mut connection = PgConnection::connect(&url).await.unwrap();
    let rows =
        sqlx::query("select version, count(*) as times from _sqlx_migrations group by version")
            .fetch_all(&mut connection)
            .await
            .unwrap();
    assert_eq!(rows.len(), migration_files, "every migration is recorded");
    for row in rows {
        assert_eq!(
            row.get::<i64, _>("times"),
            1,
            "version {} applied once",
            row.get::<i64, _>("version")
        );
    }
    let tables: i64 = sqlx::query_scalar(
        "select count(*) from information_schema.tables where table_name in ('tenants', 'api_tokens')",
    )
    .fetch_one(&mut connection)
    .await
    .unwrap();
    assert_eq!(tables, 2);
}

#[tokio::test]
async fn concurrent_application_starts_share_one_migration_run() {
    let database = TestDatabase::create().await;
    let data = tempfile::tempdir().unwrap();
    let settings = || crate::harness::settings(Some(database.url()), data.path());

    let (first, second, third) = tokio::join!(
        crate::harness::RunningApp::serve_api(settings()),
        crate::harness::RunningApp::serve_api(settings()),
        crate::harness::RunningApp::serve_api(settings()),
    );

    let mut connection = PgConnection::connect(&database.url()).await.unwrap();
    let duplicates: i64 = sqlx::query_scalar(
        "select count(*) from (select version from _sqlx_migrations group by version having count(*) > 1) d",
    )
    .fetch_one(&mut connection)
    .await
    .unwrap();
    assert_eq!(duplicates, 0);
    for app in [first, second, third] {
        let ready = reqwest::get(format!("{}/health/ready", app.base))
            .await
            .unwrap();
        assert_eq!(ready.status(), 200);
        app.stop().await;
    }
}

#[tokio::test]
async fn migrate_brings_a_new_sqlite_data_dir_up_to_date() {
    let data = tempfile::tempdir().unwrap();

    let output = tenet()
        .arg("migrate")
        .arg("--data-dir")
        .arg(data.path())
        .output()
        .await
        .unwrap();

    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains("database is up to date"));
    let mut connection = sqlx::SqliteConnection::connect(&format!(
        "sqlite://{}",
        data.path().join("tenet.db").display()
    ))
    .await
    .unwrap();
    let applied: i64 = sqlx::query_scalar("select count(*) from _sqlx_migrations where success")
        .fetch_one(&mut connection)
        .await
        .unwrap();
    let files = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/sqlite"))
        .unwrap()
        .count();
    assert_eq!(applied as usize, files);
}

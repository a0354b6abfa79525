//! API tokens on PostgreSQL and SQLite: every `/api/v1` route needs one, the tenant comes
//! from it, and revoked or expired tokens stop working.

use chrono::Duration;
use secrecy::ExposeSecret;
use serde_json::Value;
use tenet::admin;
use tenet_events::Role;
use tenet_ops_api::admin_events::{self, Change};
use tenet_ops_api::tokens;

use crate::harness::{RunningApp, TestDatabase, settings, tenet_ok};

async fn me(app: &RunningApp, token: Option<&str>) -> (u16, Value) {
    let mut request = reqwest::Client::new().get(format!("{}/api/v1/me", app.base));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

async fn token_lifecycle(app: RunningApp) {
    let acme = admin::create_tenant(&app.database, "Acme Utilities")
        .await
        .unwrap();
    let globex = admin::create_tenant(&app.database, "Globex Social")
        .await
        .unwrap();
    let acme_token = admin::create_token(&app.database, acme.id, Role::ProjectManager, None, "crm")
        .await
        .unwrap();
    let globex_token = admin::create_token(&app.database, globex.id, Role::Operator, Some(30), "")
        .await
        .unwrap();

    let (status, body) = me(&app, Some(acme_token.secret.expose_secret())).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["tenant_id"], acme.id.to_string());
    assert_eq!(body["tenant_name"], "Acme Utilities");
    assert_eq!(body["role"], "project_manager");
    assert_eq!(body["principal"]["kind"], "api_token");

    let (status, body) = me(&app, Some(globex_token.secret.expose_secret())).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["tenant_id"], globex.id.to_string());
    assert_eq!(body["role"], "operator");

    let (status, body) = me(&app, None).await;
    assert_eq!(status, 401);
    assert_eq!(body["error"]["code"], "unauthenticated");
    let (status, _) = me(&app, Some("tnt_not-a-real-token")).await;
    assert_eq!(status, 401);
    let (status, _) = me(&app, Some("garbage")).await;
    assert_eq!(status, 401);

    admin::revoke_token(&app.database, acme_token.token.id)
        .await
        .unwrap();
    let (status, body) = me(&app, Some(acme_token.secret.expose_secret())).await;
    assert_eq!(status, 401);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("revoked"),
        "{body}"
    );

    let system = admin_events::system(acme.id);
    let expired = tokens::issue(
        &app.database,
        Change::now(&system, None),
        Role::Admin,
        "",
        Some(Duration::seconds(-1)),
    )
    .await
    .unwrap();
    let (status, body) = me(&app, Some(expired.secret.expose_secret())).await;
    assert_eq!(status, 401);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("expired"),
        "{body}"
    );

    let unknown_tenant = admin::create_token(
        &app.database,
        tenet_events::TenantId::generate(),
        Role::Admin,
        None,
        "",
    )
    .await;
    assert!(
        unknown_tenant
            .unwrap_err()
            .to_string()
            .contains("does not exist")
    );
    app.stop().await;
}

#[tokio::test]
async fn token_lifecycle_on_postgres() {
    let database = TestDatabase::create().await;
    let data = tempfile::tempdir().unwrap();
    token_lifecycle(RunningApp::serve_api(settings(Some(database.url()), data.path())).await).await;
}

#[tokio::test]
async fn token_lifecycle_on_sqlite() {
    let data = tempfile::tempdir().unwrap();
    token_lifecycle(
        RunningApp::start(settings(None, data.path()), tenet::app::Mode::Embedded).await,
    )
    .await;
}

#[tokio::test]
async fn token_created_on_the_command_line_authenticates_and_revoke_stops_it() {
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().to_str().unwrap();
    let tenant = tenet_ok(["admin", "tenant", "create", "Initech", "--data-dir", dir]).await;
    let created = crate::harness::tenet()
        .args([
            "admin", "token", "create", "--tenant", &tenant, "--role", "qa_lead",
        ])
        .args(["--expires-in", "7", "--data-dir", dir])
        .output()
        .await
        .unwrap();
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    let token = String::from_utf8(created.stdout).unwrap().trim().to_owned();
    let details = String::from_utf8(created.stderr).unwrap();
    assert!(token.starts_with("tnt_"), "{token}");
    let token_id = details
        .split_whitespace()
        .nth(2)
        .expect("stderr names the token id")
        .to_owned();

    let app = RunningApp::start(settings(None, data.path()), tenet::app::Mode::Embedded).await;
    let (status, body) = me(&app, Some(&token)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["role"], "qa_lead");
    assert_eq!(body["principal"]["id"], token_id.as_str());

    tenet_ok(["admin", "token", "revoke", &token_id, "--data-dir", dir]).await;
    let (status, _) = me(&app, Some(&token)).await;
    assert_eq!(status, 401);
    app.stop().await;

    let bad_role = crate::harness::tenet()
        .args([
            "admin",
            "token",
            "create",
            "--tenant",
            &tenant,
            "--role",
            "boss",
            "--data-dir",
            dir,
        ])
        .output()
        .await
        .unwrap();
    assert!(!bad_role.status.success());
    assert!(String::from_utf8_lossy(&bad_role.stderr).contains("unknown role `boss`"));
}

#[tokio::test]
async fn operators_seeded_for_the_load_test_sign_in_to_their_projects() {
    let database = TestDatabase::create().await;
    let data = tempfile::tempdir().unwrap();
    let app = RunningApp::serve_api(settings(Some(database.url()), data.path())).await;
    let out = data.path().join("logins.csv");
    let plan = tenet::bench::ops::SeedOps {
        tenants: 5,
        users: 23,
        logins: 3,
        out: out.clone(),
    };
    let figures = tenet::bench::ops::seed(&app.database, &plan).await.unwrap();
    assert_eq!(
        (
            figures.tenants,
            figures.users,
            figures.projects,
            figures.members
        ),
        (5, 23, 5, 18),
        "every user but each tenant's admin is a member of its project"
    );
    let list = std::fs::read_to_string(&out).unwrap();
    let logins: Vec<Vec<&str>> = list
        .lines()
        .skip(1)
        .map(|line| line.split(',').collect())
        .collect();
    assert_eq!(logins.len(), 3, "{list}");
    let client = reqwest::Client::new();
    for login in &logins {
        let answer = client
            .post(format!("{}/api/v1/auth/login", app.base))
            .json(&serde_json::json!({"tenant_id": login[0], "email": login[1], "password": login[2]}))
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 200, "{login:?}");
        let body: Value = answer.json().await.unwrap();
        assert_eq!(body["user"]["role"], "operator", "{body}");
    }
}

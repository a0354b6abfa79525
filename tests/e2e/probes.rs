//! Liveness, readiness and metrics.

use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::io::AsyncWriteExt;

use crate::harness::{Proxy, RunningApp, TestDatabase, postgres_addr, settings};

async fn ready(base: &str) -> (u16, Value) {
    let response = reqwest::get(format!("{base}/health/ready")).await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

#[tokio::test]
async fn readiness_turns_503_while_postgres_is_unreachable_and_200_when_it_returns() {
    let database = TestDatabase::create().await;
    let proxy = Proxy::start(postgres_addr()).await;
    let data = tempfile::tempdir().unwrap();
    let app = RunningApp::serve_api(settings(
        Some(database.url_via(Some(proxy.addr))),
        data.path(),
    ))
    .await;

    let (status, body) = ready(&app.base).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "ready");

    proxy.cut();
    let (status, body) = ready(&app.base).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["status"], "unavailable");
    assert_eq!(body["failing"], serde_json::json!(["database"]));
    assert_eq!(body["dependencies"][0]["name"], "database");
    assert_eq!(body["dependencies"][0]["status"], "down");
    assert!(
        body["dependencies"][0]["error"]
            .as_str()
            .is_some_and(|e| !e.is_empty())
    );
    let live = reqwest::get(format!("{}/health/live", app.base))
        .await
        .unwrap();
    assert_eq!(live.status(), 200, "the process itself is still live");
    let metrics = reqwest::get(format!("{}/metrics", app.base))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("tenet_dependency_up{dependency=\"database\"} 0"),
        "{metrics}"
    );

    proxy.restore();
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let (status, body) = ready(&app.base).await;
        if status == 200 {
            assert_eq!(body["failing"], serde_json::json!([]));
            break;
        }
        assert!(
            Instant::now() < deadline,
            "still not ready 15 s after the database returned: {body}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let metrics = reqwest::get(format!("{}/metrics", app.base))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("tenet_dependency_up{dependency=\"database\"} 1"),
        "{metrics}"
    );
    app.stop().await;
}

#[tokio::test]
async fn embedded_mode_is_ready_with_sqlite() {
    let data = tempfile::tempdir().unwrap();
    let app = RunningApp::start(settings(None, data.path()), tenet::app::Mode::Embedded).await;

    let (status, body) = ready(&app.base).await;

    assert_eq!(status, 200, "{body}");
    assert_eq!(body["dependencies"][0]["name"], "database");
    assert_eq!(body["dependencies"][0]["status"], "up");
    app.stop().await;
}

#[tokio::test]
async fn metrics_pass_promtool_and_count_requests_per_route_and_status() {
    let data = tempfile::tempdir().unwrap();
    let app = RunningApp::start(settings(None, data.path()), tenet::app::Mode::Embedded).await;
    let client = reqwest::Client::new();
    for _ in 0..3 {
        client
            .get(format!("{}/health/live", app.base))
            .send()
            .await
            .unwrap();
    }
    client
        .get(format!("{}/api/v1/me", app.base))
        .send()
        .await
        .unwrap();
    client
        .get(format!("{}/health/ready", app.base))
        .send()
        .await
        .unwrap();

    let response = client
        .get(format!("{}/metrics", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = response.text().await.unwrap();

    assert!(
        text.contains("# TYPE http_requests_total counter"),
        "{text}"
    );
    assert!(
        text.contains("# TYPE http_request_duration_seconds histogram"),
        "{text}"
    );
    assert!(
        text.contains(r#"http_requests_total{method="GET",route="/api/v1/me",status="401"}"#),
        "{text}"
    );
    assert!(
        text.contains(r#"route="/health/live",status="200""#),
        "{text}"
    );
    assert!(
        text.contains(r#"tenet_dependency_up{dependency="database"} 1"#),
        "{text}"
    );

    let mut promtool = tokio::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("promtool is installed (Debian package `prometheus`)");
    let mut stdin = promtool.stdin.take().unwrap();
    stdin.write_all(text.as_bytes()).await.unwrap();
    drop(stdin);
    let output = promtool.wait_with_output().await.unwrap();
    assert!(
        output.status.success(),
        "promtool check metrics failed:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    app.stop().await;
}

#[tokio::test]
async fn oversized_body_is_refused_with_413() {
    let data = tempfile::tempdir().unwrap();
    let mut settings = settings(None, data.path());
    settings.http.body_limit_bytes = 1024;
    let app = RunningApp::start(settings, tenet::app::Mode::Embedded).await;

    let response = reqwest::Client::new()
        .post(format!("{}/api/v1/me", app.base))
        .body(vec![b'x'; 4096])
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 413);
    app.stop().await;
}

#[tokio::test]
async fn erlang_over_http_answers_what_the_command_line_does() {
    let data = tempfile::tempdir().unwrap();
    let app = RunningApp::start(settings(None, data.path()), tenet::app::Mode::Embedded).await;
    let tenant = tenet::admin::create_tenant(&app.database, "Planner Co")
        .await
        .unwrap();
    let token = tenet::admin::create_token(
        &app.database,
        tenant.id,
        tenet_events::Role::ProjectGroupManager,
        None,
        "",
    )
    .await
    .unwrap();
    let get = |query: &'static str| {
        let token = secrecy::ExposeSecret::expose_secret(&token.secret).to_owned();
        let base = app.base.clone();
        async move {
            let response = reqwest::Client::new()
                .get(format!("{base}/api/v1/wfm/erlang?{query}"))
                .bearer_auth(token)
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            (status, response.json::<Value>().await.unwrap())
        }
    };

    let (status, staffed) =
        get("model=c&calls=100&interval_min=30&aht_sec=180&target_answer_sec=20&target_sl=0.8&shrinkage=0.3").await;
    let cli = crate::harness::tenet()
        .args([
            "erlang",
            "--model",
            "c",
            "--calls",
            "100",
            "--interval-min",
            "30",
            "--aht-sec",
            "180",
        ])
        .args([
            "--target-answer-sec",
            "20",
            "--target-sl",
            "0.8",
            "--shrinkage",
            "0.3",
        ])
        .output()
        .await
        .unwrap();

    assert_eq!(status, 200, "{staffed}");
    assert_eq!(staffed["agents"], 14);
    assert_eq!(staffed["agents_with_shrinkage"], 20);
    assert_eq!(
        staffed,
        serde_json::from_slice::<Value>(&cli.stdout).unwrap()
    );
    for (query, named) in [
        ("model=c&calls=100&interval_min=30", "aht_sec"),
        (
            "model=c&calls=100&interval_min=30&aht_sec=180&colour=red",
            "colour",
        ),
        (
            "model=a&calls=100&interval_min=30&aht_sec=180&agents=12",
            "patience",
        ),
    ] {
        let (status, error) = get(query).await;
        assert_eq!(status, 422, "{error}");
        let message = error["error"]["message"].as_str().unwrap();
        assert!(message.contains(named), "{query}: {error}");
    }
    app.stop().await;
}

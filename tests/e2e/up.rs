//! `tenet up`: the embedded mode starts fast on an empty data directory and stops cleanly.

use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::harness::{tenet, tenet_ok};

#[tokio::test]
async fn up_serves_on_an_empty_data_dir_and_exits_zero_on_sigterm() {
    let data = tempfile::tempdir().unwrap();
    let data_dir = data.path().join("fresh");
    let port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().port()
    };
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::builder()
        .timeout(Duration::from_millis(500))
        .build()
        .unwrap();

    let started = Instant::now();
    let mut child = tenet()
        .args(["up", "--http", &format!("127.0.0.1:{port}"), "--data-dir"])
        .arg(&data_dir)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let serving_after = loop {
        if let Ok(response) = client.get(format!("{base}/health/ready")).send().await
            && response.status() == 200
        {
            break started.elapsed();
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "not serving after 30 s"
        );
        if let Ok(Some(status)) = child.try_wait() {
            panic!("tenet up exited early with {status}");
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    println!("tenet up on an empty data dir: ready after {serving_after:?}");

    assert!(
        data_dir.join("tenet.db").is_file(),
        "the SQLite database is created"
    );
    let pid = child.id().unwrap().to_string();
    std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    let status = tokio::time::timeout(Duration::from_secs(30), child.wait())
        .await
        .expect("exits within 30 s")
        .unwrap();
    assert_eq!(status.code(), Some(0), "SIGTERM is a clean stop");
    assert!(
        client
            .get(format!("{base}/health/live"))
            .send()
            .await
            .is_err(),
        "the port is released"
    );
}

#[tokio::test]
async fn second_start_on_the_same_data_dir_keeps_its_data() {
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().to_str().unwrap();
    let tenant = tenet_ok(["admin", "tenant", "create", "Keeps Data", "--data-dir", dir]).await;
    let token = tenet_ok([
        "admin",
        "token",
        "create",
        "--tenant",
        &tenant,
        "--role",
        "admin",
        "--data-dir",
        dir,
    ])
    .await;

    let up = crate::harness::UpProcess::start(data.path()).await;
    let me: serde_json::Value = reqwest::Client::new()
        .get(format!("{}/api/v1/me", up.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let (code, _) = up.terminate().await;

    assert_eq!(me["tenant_id"], tenant.as_str());
    assert_eq!(me["tenant_name"], "Keeps Data");
    assert_eq!(code, Some(0));
}

#[tokio::test]
async fn demo_seeds_a_real_month_once_and_its_token_works() {
    let data = tempfile::tempdir().unwrap();

    let up = crate::harness::UpProcess::start_with(data.path(), &["--demo"]).await;
    let token = std::fs::read_to_string(data.path().join("demo-token.txt")).unwrap();
    let me: serde_json::Value = reqwest::Client::new()
        .get(format!("{}/api/v1/me", up.base))
        .bearer_auth(token.trim())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let (code, lines) = up.terminate().await;

    assert_eq!(code, Some(0));
    assert_eq!(me["tenant_name"], "Anonymous Bank (demo)");
    assert_eq!(me["role"], "admin");
    let seeded: Vec<serde_json::Value> = lines
        .iter()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|line| {
            line["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("demo tenant created"))
        })
        .collect();
    assert_eq!(seeded.len(), 1);
    assert_eq!(
        seeded[0]["events"], 91_353,
        "33,344 calls less 278 phantoms, as events"
    );

    let again = crate::harness::UpProcess::start_with(data.path(), &["--demo"]).await;
    let (_, lines) = again.terminate().await;
    assert!(
        !lines
            .iter()
            .any(|line| line.contains("demo tenant created")),
        "a second start does not seed again"
    );
}

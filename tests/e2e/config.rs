//! Configuration precedence through the real binary: defaults, file, environment.

use std::collections::HashMap;

use crate::harness::tenet;

async fn show(args: &[&str], env: &[(&str, &str)]) -> (bool, HashMap<String, String>, String) {
    let mut command = tenet();
    command.args(args).args(["config", "show"]);
    for (key, value) in env {
        command.env(key, value);
    }
    let output = command.output().await.expect("run tenet config show");
    let settings = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .filter_map(|line| line.split_once(" = "))
        .map(|(key, value)| (key.to_owned(), value.to_owned()))
        .collect();
    (
        output.status.success(),
        settings,
        String::from_utf8(output.stderr).unwrap(),
    )
}

#[tokio::test]
async fn environment_wins_over_file_and_file_over_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("tenet.toml");
    std::fs::write(
        &file,
        "[http]\naddr = \"127.0.0.1:9000\"\nrequest_timeout = \"45s\"\n\n[log]\nlevel = \"debug\"\n",
    )
    .unwrap();
    let file = file.to_str().unwrap();

    let (ok, settings, stderr) = show(
        &["--config", file],
        &[
            ("TENET_HTTP__ADDR", "127.0.0.1:9100"),
            ("TENET_DATABASE__MAX_CONNECTIONS", "4"),
        ],
    )
    .await;

    assert!(ok, "{stderr}");
    assert_eq!(
        settings["http.addr"], "\"127.0.0.1:9100\"",
        "environment beats file"
    );
    assert_eq!(
        settings["http.request_timeout"], "\"45s\"",
        "file beats default"
    );
    assert_eq!(settings["log.level"], "\"debug\"", "file beats default");
    assert_eq!(
        settings["database.max_connections"], "4",
        "environment beats default"
    );
    assert_eq!(
        settings["http.body_limit_bytes"], "2097152",
        "default stays"
    );
}

#[tokio::test]
async fn config_file_can_come_from_tenet_config() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("tenet.toml");
    std::fs::write(&file, "[data]\ndir = \"/srv/tenet\"\n").unwrap();

    let (ok, settings, stderr) = show(&[], &[("TENET_CONFIG", file.to_str().unwrap())]).await;

    assert!(ok, "{stderr}");
    assert_eq!(settings["data.dir"], "\"/srv/tenet\"");
}

#[tokio::test]
async fn command_line_flag_wins_over_environment() {
    let (ok, settings, stderr) = show(
        &["--data-dir", "/from/flag"],
        &[("TENET_DATA__DIR", "/from/env")],
    )
    .await;

    assert!(ok, "{stderr}");
    assert_eq!(settings["data.dir"], "\"/from/flag\"");
}

#[tokio::test]
async fn unknown_key_in_file_is_refused_naming_key_and_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("tenet.toml");
    std::fs::write(&file, "[http]\nadress = \"127.0.0.1:1\"\n").unwrap();

    let (ok, _, stderr) = show(&["--config", file.to_str().unwrap()], &[]).await;

    assert!(!ok, "an unknown key must fail");
    assert!(stderr.contains("http.adress: unknown key"), "{stderr}");
    assert!(stderr.contains(&file.display().to_string()), "{stderr}");
}

#[tokio::test]
async fn unknown_section_in_environment_is_refused_naming_the_variable() {
    let (ok, _, stderr) = show(&[], &[("TENET_DATABSE__URL", "postgres://x")]).await;

    assert!(!ok, "an unknown key must fail");
    assert!(
        stderr.contains("environment variable TENET_DATABSE"),
        "{stderr}"
    );
}

#[tokio::test]
async fn wrongly_typed_value_is_refused_naming_key() {
    let (ok, _, stderr) = show(&[], &[("TENET_HTTP__REQUEST_TIMEOUT", "soon")]).await;

    assert!(!ok);
    assert!(stderr.contains("http.request_timeout"), "{stderr}");
    assert!(stderr.contains("TENET_HTTP__REQUEST_TIMEOUT"), "{stderr}");
}

#[tokio::test]
async fn missing_config_file_is_an_error() {
    let (ok, _, stderr) = show(&["--config", "/nonexistent/tenet.toml"], &[]).await;

    assert!(!ok);
    assert!(
        stderr.contains("/nonexistent/tenet.toml does not exist"),
        "{stderr}"
    );
}

#[tokio::test]
async fn database_password_is_redacted() {
    let (ok, settings, stderr) = show(
        &[],
        &[(
            "TENET_DATABASE__URL",
            "postgres://tenet:s3cret@db:5432/tenet",
        )],
    )
    .await;

    assert!(ok, "{stderr}");
    assert_eq!(settings["database.url"], "\"[redacted]\"");
    assert!(!settings.values().any(|value| value.contains("s3cret")));
}

//! The shape of log lines written by the real binary.

use chrono::DateTime;
use serde_json::Value;

use crate::harness::UpProcess;

#[tokio::test]
async fn every_line_is_one_json_object_and_request_lines_carry_the_trace_fields() {
    let data = tempfile::tempdir().unwrap();
    let up = UpProcess::start(data.path()).await;
    let client = reqwest::Client::new();

    let response = client
        .get(format!("{}/api/v1/me", up.base))
        .header("x-request-id", "req-from-client-1")
        .header("x-operation-id", "op-42")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    assert_eq!(response.headers()["x-request-id"], "req-from-client-1");
    assert_eq!(response.headers()["x-operation-id"], "op-42");
    let phase = response.headers()["x-operation-phase-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let generated = client
        .post(format!("{}/nowhere", up.base))
        .body("twelve bytes")
        .send()
        .await
        .unwrap();
    let generated_id = generated.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();

    let (code, lines) = up.terminate().await;
    assert_eq!(code, Some(0));

    let objects: Vec<Value> = lines
        .iter()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}")))
        .collect();
    assert!(objects.len() >= 4, "{lines:?}");
    for object in &objects {
        let timestamp = object["timestamp"].as_str().expect("timestamp is a string");
        assert!(
            DateTime::parse_from_rfc3339(timestamp).is_ok(),
            "{timestamp}"
        );
        assert!(timestamp.ends_with('Z'), "UTC: {timestamp}");
        let fraction = timestamp.split('.').nth(1).expect("has milliseconds");
        assert_eq!(fraction.len(), 4, "three digits and Z: {timestamp}");
        assert!(
            ["trace", "debug", "info", "warn", "error"]
                .contains(&object["level"].as_str().unwrap())
        );
        assert!(object["type"].is_string());
        assert_eq!(object["service"], "tenet");
        assert!(object["message"].is_string());
    }
    let request = objects
        .iter()
        .find(|object| object["type"] == "request" && object["request_id"] == "req-from-client-1")
        .expect("a request line for the client's request id");
    assert_eq!(request["ip"], "127.0.0.1");
    assert_eq!(request["operation_id"], "op-42");
    assert_eq!(request["operation_phase_id"], phase.as_str());
    assert_eq!(request["status"], 401);
    assert_eq!(request["request_length"], 0);
    assert_eq!(request["route"], "/api/v1/me");
    let unmatched = objects
        .iter()
        .find(|object| object["type"] == "request" && object["request_id"] == generated_id.as_str())
        .expect("a generated request id is logged too");
    assert_eq!(unmatched["status"], 404);
    assert_eq!(unmatched["request_length"], 12);
    assert_eq!(unmatched["route"], "unmatched");
}

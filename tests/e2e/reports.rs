//! Reports end to end: real call history imported into the lake, reports read over HTTP and
//! exported with `tenet export`, checked against DuckDB over the raw file and across tenants.

use std::path::Path;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::{UpProcess, tenet_ok};

const BANK_MONTH: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../shared/data/anonymous_bank_feb1999_calls.tsv"
);
pub(crate) const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/anonymous_bank_300_calls.tsv"
);
const CHECK_SCRIPT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/scripts/bank_call_intervals.py"
);

async fn import(dir: &Path, file: &str, tenant: &str) {
    tenet_ok([
        "import",
        "calls",
        file,
        "--tenant",
        tenant,
        "--utc-offset",
        "+02:00",
        "--wait",
        "--data-dir",
        dir.to_str().unwrap(),
    ])
    .await;
}

async fn tenant(dir: &Path, name: &str) -> String {
    tenet_ok([
        "admin",
        "tenant",
        "create",
        name,
        "--data-dir",
        dir.to_str().unwrap(),
    ])
    .await
}

pub(crate) async fn token(dir: &Path, tenant: &str, role: &str) -> String {
    tenet_ok([
        "admin",
        "token",
        "create",
        "--tenant",
        tenant,
        "--role",
        role,
        "--data-dir",
        dir.to_str().unwrap(),
    ])
    .await
}

#[tokio::test]
async fn the_bank_months_interval_report_equals_duckdb_over_the_raw_file() {
    let data = tempfile::tempdir().unwrap();
    let dir = data.path();
    let bank = tenant(dir, "Anonymous Bank").await;
    import(dir, BANK_MONTH, &bank).await;
    let out = dir.join("intervals.csv");

    tenet_ok([
        "export",
        "call_intervals",
        "--tenant",
        &bank,
        "--from",
        "1999-02-01",
        "--to",
        "1999-03-01",
        "--tz",
        "+02:00",
        "--param",
        "granularity=30min",
        "--format",
        "csv",
        "--out",
        out.to_str().unwrap(),
        "--data-dir",
        dir.to_str().unwrap(),
    ])
    .await;

    // The independent computation: DuckDB over the raw file, with the data's own definitions.
    let output = tokio::process::Command::new("python3")
        .args([CHECK_SCRIPT, BANK_MONTH, out.to_str().unwrap()])
        .output()
        .await
        .expect("python3 runs (deploy/ci/test.sh installs duckdb)");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let summary: Value = serde_json::from_slice(&output.stdout).unwrap();
    println!("bank month vs DuckDB: {summary}");
    assert_eq!(summary["mismatch_count"], 0, "{summary}");
    assert_eq!(summary["tenet_only"], json!([]), "{summary}");
    // Every offered call of the file, in the half hours of 28 days of 15 to 18 open hours.
    assert_eq!(summary["offered"], offered_in(BANK_MONTH), "{summary}");
    let intervals = summary["intervals"].as_u64().unwrap();
    assert!((28 * 30..=28 * 36).contains(&intervals), "{summary}");
}

/// The calls of `file` the reports count as offered (answered or abandoned in the queue).
pub(crate) fn offered_in(file: &str) -> u64 {
    std::fs::read_to_string(file)
        .unwrap()
        .lines()
        .skip(1)
        .filter(|line| {
            let fields: Vec<&str> = line.split('\t').collect();
            fields[12] == "AGENT" || (fields[12] == "HANG" && fields[9] != "0:00:00")
        })
        .count() as u64
}

struct Client {
    http: reqwest::Client,
    base: String,
}

impl Client {
    async fn get(
        &self,
        token: &str,
        path: &str,
    ) -> (StatusCode, reqwest::header::HeaderMap, Vec<u8>) {
        let response = self
            .http
            .get(format!("{}/api/v1{path}", self.base))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        (status, headers, response.bytes().await.unwrap().to_vec())
    }

    async fn json(&self, token: &str, path: &str) -> (StatusCode, Value) {
        let (status, _, body) = self.get(token, path).await;
        let value = serde_json::from_slice(&body)
            .unwrap_or_else(|_| panic!("{path}: {}", String::from_utf8_lossy(&body)));
        (status, value)
    }

    async fn post_events(&self, token: &str, events: Value) {
        let response = self
            .http
            .post(format!("{}/api/v1/events", self.base))
            .bearer_auth(token)
            .json(&events)
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            StatusCode::ACCEPTED,
            "{}",
            response.text().await.unwrap()
        );
    }

    async fn sql(&self, token: &str, sql: &str) -> (StatusCode, Value) {
        let response = self
            .http
            .post(format!("{}/api/v1/reports/sql", self.base))
            .bearer_auth(token)
            .json(&json!({ "sql": sql }))
            .send()
            .await
            .unwrap();
        (response.status(), response.json().await.unwrap())
    }
}

fn total(rows: &Value, column: &str) -> u64 {
    rows["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row[column].as_u64().unwrap())
        .sum()
}

/// Two tenants in the lake of `dir`: A with the 300-call fixture (1–4 February 1999), B with
/// its first 120 calls, so their totals differ. Returns their ids and B's file.
pub(crate) async fn two_tenants(dir: &Path) -> (String, String, std::path::PathBuf) {
    let fixture = std::fs::read_to_string(FIXTURE).unwrap();
    let smaller = dir.join("smaller.tsv");
    std::fs::write(
        &smaller,
        fixture.lines().take(121).collect::<Vec<_>>().join("\n") + "\n",
    )
    .unwrap();
    let (a, b) = (tenant(dir, "A").await, tenant(dir, "B").await);
    import(dir, FIXTURE, &a).await;
    import(dir, smaller.to_str().unwrap(), &b).await;
    (a, b, smaller)
}

#[tokio::test]
async fn reports_over_http_answer_each_tenant_with_its_own_rows_only() {
    let data = tempfile::tempdir().unwrap();
    let dir = data.path();
    let (a, b, smaller) = two_tenants(dir).await;
    let (a_admin, b_admin) = (token(dir, &a, "admin").await, token(dir, &b, "admin").await);
    let a_customer = token(dir, &a, "customer").await;
    let a_executor = token(dir, &a, "executor").await;
    let up = UpProcess::start(dir).await;
    let client = Client {
        http: reqwest::Client::new(),
        base: up.base.clone(),
    };
    let month = "from=1999-02-01&to=1999-03-01&tz=%2B02:00";

    // The catalog.
    let (status, catalog) = client.json(&a_admin, "/reports").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        catalog["reports"].as_array().unwrap().len(),
        11,
        "{catalog}"
    );

    // Each tenant's month adds up to its own file.
    let (status, a_rows) = client
        .json(
            &a_admin,
            &format!("/reports/call_intervals?{month}&granularity=day"),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{a_rows}");
    let (_, b_rows) = client
        .json(
            &b_admin,
            &format!("/reports/call_intervals?{month}&granularity=day"),
        )
        .await;
    assert_eq!(total(&a_rows, "offered"), offered_in(FIXTURE));
    assert_eq!(
        total(&b_rows, "offered"),
        offered_in(smaller.to_str().unwrap())
    );
    assert_ne!(total(&a_rows, "offered"), total(&b_rows, "offered"));

    // Drill-downs list exactly the calls behind each row, and only the tenant's.
    let mut drilled = 0;
    for row in a_rows["rows"].as_array().unwrap() {
        let link = row["drill_down"].as_str().unwrap();
        let path = link.strip_prefix("/api/v1").unwrap();
        let (status, calls) = client.json(&a_admin, path).await;
        assert_eq!(status, StatusCode::OK, "{calls}");
        let listed = calls["rows"].as_array().unwrap();
        let offered = listed
            .iter()
            .filter(|call| call["outcome"] != "ivr_hangup")
            .count() as u64;
        assert_eq!(offered, row["offered"].as_u64().unwrap(), "{link}");
        drilled += listed.len();
        // B's token on A's link sees B's own calls of that day, never A's extra ones.
        let (_, b_view) = client.json(&b_admin, path).await;
        assert!(b_view["rows"].as_array().unwrap().len() <= listed.len());
    }
    assert!(drilled > 0);

    // QA evaluations of each tenant: each reads its own, drill-downs included.
    let evaluation = |tenant: &str, id: &str, agent: &str, points: u32| {
        json!({
            "event_id": uuid::Uuid::now_v7(), "tenant_id": tenant,
            "occurred_at": "1999-02-10T10:00:00Z", "type": "qa.evaluated", "schema_version": 1,
            "data": {
                "evaluation_id": id, "scorecard_id": "voice",
                "subject": {"kind": "call", "id": "c-1"}, "agent_id": agent,
                "evaluator_id": "qa-1", "score": {"points": points, "max_points": 50},
                "critical_failure": false
            }
        })
    };
    client
        .post_events(
            &a_admin,
            json!([
                evaluation(&a, "ev-1", "ann", 45),
                evaluation(&a, "ev-2", "ann", 30)
            ]),
        )
        .await;
    client
        .post_events(&b_admin, json!([evaluation(&b, "ev-1", "eve", 10)]))
        .await;
    let qa_month = format!("/reports/qa_intervals?{month}&granularity=month");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let (a_qa, b_qa) = loop {
        let (status, a_qa) = client.json(&a_admin, &qa_month).await;
        assert_eq!(status, StatusCode::OK, "{a_qa}");
        let (_, b_qa) = client.json(&b_admin, &qa_month).await;
        if a_qa["rows"].as_array().unwrap().len() == 1
            && b_qa["rows"].as_array().unwrap().len() == 1
            && total(&a_qa, "evaluations") == 2
        {
            break (a_qa, b_qa);
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the evaluations did not land: {a_qa} {b_qa}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    };
    let (a_row, b_row) = (&a_qa["rows"][0], &b_qa["rows"][0]);
    assert_eq!(a_row["score_pct_mean"], 75.0, "{a_qa}");
    assert_eq!(a_row["passed"], 1, "{a_qa}");
    assert_eq!(b_row["evaluations"], 1, "{b_qa}");
    assert_eq!(b_row["score_pct_mean"], 20.0, "{b_qa}");
    let link = a_row["drill_down"].as_str().unwrap();
    let path = link.strip_prefix("/api/v1").unwrap();
    let (status, a_evaluations) = client.json(&a_admin, path).await;
    assert_eq!(status, StatusCode::OK, "{a_evaluations}");
    let agents: Vec<&str> = a_evaluations["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row["agent_id"].as_str().unwrap())
        .collect();
    assert_eq!(agents, ["ann", "ann"], "{a_evaluations}");
    let (_, b_view) = client.json(&b_admin, path).await;
    assert_eq!(b_view["rows"][0]["agent_id"], "eve", "{b_view}");
    assert_eq!(b_view["rows"].as_array().unwrap().len(), 1, "{b_view}");
    let (_, customer_qa) = client.json(&a_customer, &qa_month).await;
    assert_eq!(
        customer_qa["rows"],
        json!([]),
        "evaluations belong to no project"
    );
    let (_, qa_sql) = client
        .sql(
            &a_admin,
            &format!("select count(*) as n from qa where tenant_id = '{b}'"),
        )
        .await;
    assert_eq!(qa_sql["rows"][0]["n"], 0, "{qa_sql}");

    // SQL names the other tenant in vain.
    for sql in [
        format!("select count(*) as n from calls where tenant_id = '{b}'"),
        format!(
            "select count(*) as n from calls where tenant_id in ('{a}', '{b}') and tenant_id <> '{a}'"
        ),
    ] {
        let (status, answer) = client.sql(&a_admin, &sql).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        assert_eq!(answer["rows"][0]["n"], 0, "{sql}: {answer}");
    }
    let (_, tenants) = client
        .sql(&a_admin, "select count(distinct tenant_id) as n from calls")
        .await;
    assert_eq!(tenants["rows"][0]["n"], 1, "{tenants}");

    // The other formats stream the same rows as files.
    for (format, content_type, magic) in [
        ("csv", "text/csv; charset=utf-8", &b"interval_start,"[..]),
        (
            "xlsx",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            &b"PK"[..],
        ),
        ("parquet", "application/vnd.apache.parquet", &b"PAR1"[..]),
    ] {
        let (status, headers, body) = client
            .get(
                &a_admin,
                &format!("/reports/call_intervals?{month}&granularity=day&format={format}"),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{format}");
        assert_eq!(headers["content-type"], content_type);
        assert!(
            headers["content-disposition"]
                .to_str()
                .unwrap()
                .contains(&format!("call_intervals.{format}"))
        );
        assert!(body.starts_with(magic), "{format}");
    }
    let (_, _, csv) = client
        .get(&a_admin, &format!("/reports/calls?{month}&format=csv"))
        .await;
    let csv_rows = String::from_utf8(csv).unwrap().lines().count() - 1;
    assert_eq!(csv_rows, drilled, "one CSV line per call");

    // A customer token is a member of no project: it reads nothing. An executor may not read.
    let (status, customer) = client
        .json(&a_customer, &format!("/reports/call_intervals?{month}"))
        .await;
    assert_eq!(status, StatusCode::OK, "{customer}");
    assert_eq!(customer["rows"], json!([]));
    let (status, _) = client.sql(&a_customer, "select 1").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = client.json(&a_executor, "/reports").await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Clear errors for bad requests.
    let (status, error) = client
        .json(&a_admin, "/reports/nonsense?from=1999-02-01&to=1999-02-02")
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{error}");
    let (status, error) = client
        .json(
            &a_admin,
            "/reports/call_intervals?from=1999-02-01&to=1999-02-02&granularity=7min",
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error["error"]["details"]["field"], "granularity", "{error}");
    let (status, error) = client.json(&a_admin, "/reports/calls?to=1999-02-02").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error["error"]["details"]["field"], "from", "{error}");
    assert_eq!(error["error"]["code"], "invalid_request", "{error}");
    let (status, error) = client.sql(&a_admin, "drop table calls").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{error}");
    assert_eq!(error["error"]["details"]["field"], "sql");
    let (status, error) = client.sql(&a_admin, "select nonsense from calls").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{error}");
    let (status, _, _) = client.get("not-a-token", "/reports").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let (code, _) = up.terminate().await;
    assert_eq!(code, Some(0));
}

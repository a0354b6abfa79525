//! The OpenAPI document: valid OpenAPI 3.1, describing exactly the routes the server mounts,
//! and holding up against schemathesis fuzzing a running server with an authenticated user.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Stdio;

use reqwest::{Client, Method, StatusCode};
use serde_json::Value;
use tenet::app::{Application, Mode, Target};

use crate::harness::{TestDatabase, UpProcess, settings, tenet_ok};

const METHODS: [Method; 5] = [
    Method::GET,
    Method::POST,
    Method::PUT,
    Method::PATCH,
    Method::DELETE,
];

/// Checks `document` with the `openapi-spec-validator` package (PyPI), the reference
/// validator of OpenAPI documents; deploy/ci/test.sh installs it with schemathesis.
fn assert_valid_openapi(document: &Value, dir: &Path) {
    let file = dir.join("openapi.json");
    std::fs::write(&file, serde_json::to_vec(document).unwrap()).unwrap();
    let output = std::process::Command::new("python3")
        .args([
            "-c",
            "import json, sys\n\
             from openapi_spec_validator import validate\n\
             from openapi_spec_validator.validation import OpenAPIV31SpecValidator\n\
             validate(json.load(open(sys.argv[1])), cls=OpenAPIV31SpecValidator)",
        ])
        .arg(&file)
        .output()
        .expect("python3 runs (deploy/ci/test.sh installs openapi-spec-validator)");
    assert!(
        output.status.success(),
        "the document is not valid OpenAPI 3.1: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Builds the application of `mode`, reads its routes, serves it and holds its document
/// against them: every mounted `/api/v1` path is documented, every documented path is
/// mounted, and each path serves exactly the documented methods (axum answers 405 to others).
async fn document_matches_routes(
    settings: tenet::config::Settings,
    mode: Mode,
    dir: &Path,
) -> Value {
    let app = Application::build(settings, mode)
        .await
        .expect("application builds");
    // Undocumented methods are tried as a tenant's admin, so that no credential or permission
    // check stands between the request and the router's 405.
    let tenant = tenet::admin::create_tenant(app.database(), "Acme")
        .await
        .unwrap();
    let admin = tenet::admin::create_token(
        app.database(),
        tenant.id,
        tenet_events::Role::Admin,
        None,
        "routes",
    )
    .await
    .unwrap();
    let admin = secrecy::ExposeSecret::expose_secret(&admin.secret).to_owned();
    let mounted: BTreeSet<String> = app
        .route_paths()
        .into_iter()
        .filter(|path| path.starts_with("/api/v1/"))
        .collect();
    assert!(mounted.len() >= 10, "routes found: {mounted:?}");
    let base = format!("http://{}", app.local_addr());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(app.run_until(async move {
        let _ = stopped.await;
    }));

    let client = Client::new();
    let response = client
        .get(format!("{base}/api/v1/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["content-type"].to_str().unwrap(),
        "application/json"
    );
    let document: Value = response.json().await.unwrap();
    assert_eq!(document["openapi"], "3.1.0");
    assert_valid_openapi(&document, dir);

    let paths = document["paths"].as_object().unwrap();
    let documented: BTreeSet<String> = paths.keys().cloned().collect();
    assert_eq!(
        mounted.difference(&documented).collect::<Vec<_>>(),
        Vec::<&String>::new(),
        "mounted but not documented"
    );
    assert_eq!(
        documented.difference(&mounted).collect::<Vec<_>>(),
        Vec::<&String>::new(),
        "documented but not mounted"
    );
    for (path, item) in paths {
        // Every path parameter gets a value of the right form that names nothing.
        let concrete: Vec<&str> = path
            .split('/')
            .map(|segment| {
                if segment.starts_with('{') {
                    "00000000-0000-0000-0000-000000000000"
                } else {
                    segment
                }
            })
            .collect();
        let concrete = concrete.join("/");
        for method in METHODS {
            let name = method.as_str().to_lowercase();
            let is_documented = item.get(&name).is_some();
            let mut request = client.request(method.clone(), format!("{base}{concrete}"));
            if !is_documented {
                request = request.bearer_auth(&admin);
            }
            let status = request.send().await.unwrap().status();
            if is_documented {
                assert!(
                    status != StatusCode::METHOD_NOT_ALLOWED && status != StatusCode::NOT_FOUND,
                    "{method} {path} is documented but answers {status}"
                );
                let operation = &item[&name];
                for (code, response) in operation["responses"].as_object().unwrap() {
                    if code.starts_with('4') || code.starts_with('5') {
                        assert_eq!(
                            response["content"]["application/json"]["schema"]["$ref"],
                            "#/components/schemas/ErrorBody",
                            "{method} {path} {code}"
                        );
                    }
                }
            } else {
                assert_eq!(
                    status,
                    StatusCode::METHOD_NOT_ALLOWED,
                    "{method} {path} is not documented but is served"
                );
            }
        }
    }
    let _ = stop.send(());
    task.await.unwrap().unwrap();
    document
}

#[tokio::test]
async fn openapi_document_is_valid_and_describes_every_route_of_tenet_up() {
    let data = tempfile::tempdir().unwrap();
    let document =
        document_matches_routes(settings(None, data.path()), Mode::Embedded, data.path()).await;
    assert!(document["paths"]["/api/v1/events"]["post"].is_object());
    assert!(document["paths"]["/api/v1/access-control/events"]["post"].is_object());
}

#[tokio::test]
async fn openapi_document_is_valid_and_describes_every_route_of_serve_api() {
    let database = TestDatabase::create().await;
    let data = tempfile::tempdir().unwrap();
    let document = document_matches_routes(
        settings(Some(database.url()), data.path()),
        Mode::Serve(vec![Target::Api]),
        data.path(),
    )
    .await;
    assert!(
        document["paths"].get("/api/v1/events").is_none(),
        "the gateway does not run in `serve --targets api`"
    );
    let schemes = &document["components"]["securitySchemes"];
    assert_eq!(schemes["bearer"]["scheme"], "bearer");
    assert_eq!(schemes["session"]["in"], "cookie");
    assert_eq!(schemes["csrf"]["name"], "x-csrf-token");
    let create = &document["paths"]["/api/v1/tickets"]["post"];
    assert_eq!(
        create["security"],
        serde_json::json!([{"bearer": []}, {"session": [], "csrf": []}])
    );
    for status in [
        "201", "400", "401", "403", "409", "413", "415", "422", "500", "503",
    ] {
        assert!(create["responses"][status].is_object(), "{status}");
    }
}

/// What a schemathesis run found.
struct Fuzzed {
    generated: u64,
    output: String,
}

/// Runs schemathesis against the document of `base` as `token`, with every check.
async fn schemathesis(base: &str, token: &str, dir: &Path) -> Fuzzed {
    let report = dir.join("schemathesis.xml");
    // CPython 3.11 can crash Hypothesis mid-run (SystemError: AST constructor recursion depth
    // mismatch); deploy/ci/test.sh names a newer interpreter when the machine has one.
    let python = std::env::var("TENET_TEST_FUZZ_PYTHON").unwrap_or_else(|_| "python3".to_owned());
    let output = tokio::process::Command::new(python)
        .args(["-m", "schemathesis.cli", "--config-file"])
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/e2e/schemathesis.toml"
        ))
        .arg("run")
        .arg(format!("{base}/api/v1/openapi.json"))
        .args(["--url", base])
        .args(["-H", &format!("Authorization: Bearer {token}")])
        .args(["--checks", "all"])
        .args(["--max-examples", "30"])
        .args(["--seed", "20261126"])
        .args(["--workers", "2"])
        .args(["--report", "junit", "--report-junit-path"])
        .arg(&report)
        .args(["--no-color"])
        .env("SCHEMATHESIS_TELEMETRY", "false")
        // Its cache and crash files go to the test's directory, not the source tree.
        .current_dir(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .await
        .expect("schemathesis runs (deploy/ci/test.sh installs it)");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.status.success(),
        "schemathesis found failures:\n{text}"
    );
    // The summary line: `2620 generated, 2620 passed, 71 skipped`.
    let generated = text
        .lines()
        .find_map(|line| {
            line.split_whitespace()
                .zip(line.split_whitespace().skip(1))
                .find(|(_, next)| *next == "generated,")
                .and_then(|(count, _)| count.parse().ok())
        })
        .unwrap_or_else(|| panic!("schemathesis reports how many cases it generated:\n{text}"));
    Fuzzed {
        generated,
        output: text,
    }
}

#[tokio::test]
async fn schemathesis_finds_no_server_errors_or_schema_violations_on_postgres() {
    let database = TestDatabase::create().await;
    let url = database.url();
    let tenant = admin(&url, &["tenant", "create", "Fuzz Co"]).await;
    let token = admin(
        &url,
        &["token", "create", "--tenant", &tenant, "--role", "admin"],
    )
    .await;
    let server = UpProcess::serve_api(&url).await;
    let dir = tempfile::tempdir().unwrap();
    let fuzzed = schemathesis(&server.base, &token, dir.path()).await;
    println!(
        "schemathesis on PostgreSQL: {} generated test cases\n{}",
        fuzzed.generated, fuzzed.output
    );
    assert!(fuzzed.generated >= 200, "{}", fuzzed.output);
    let (code, _) = server.terminate().await;
    assert_eq!(code, Some(0));
}

#[tokio::test]
async fn schemathesis_finds_no_server_errors_or_schema_violations_on_sqlite() {
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().to_str().unwrap();
    let tenant = tenet_ok(["admin", "tenant", "create", "Fuzz Co", "--data-dir", dir]).await;
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
    let server = UpProcess::start(data.path()).await;
    let fuzzed = schemathesis(&server.base, &token, data.path()).await;
    println!(
        "schemathesis on SQLite: {} generated test cases\n{}",
        fuzzed.generated, fuzzed.output
    );
    assert!(fuzzed.generated >= 200, "{}", fuzzed.output);
    let (code, _) = server.terminate().await;
    assert_eq!(code, Some(0));
}

/// Runs `tenet admin ARGS` against the PostgreSQL database at `url`.
async fn admin(url: &str, args: &[&str]) -> String {
    let output = crate::harness::tenet()
        .arg("admin")
        .args(args)
        .env("TENET_DATABASE__URL", url)
        .output()
        .await
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

//! What the tests share: fresh databases, the binary, a cuttable TCP proxy, readers of the
//! lake.

use std::collections::BTreeMap;
use std::fs::File;
use std::net::SocketAddr;
use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use sqlx::{Connection, Executor, PgConnection};
use tenet::app::{Application, Mode, Target};
use tenet::config::{Secret, Settings};
use tenet_events::EventFamily;
use tenet_ingest::TopicName;
use tenet_ingest::writer::app_id;
use tenet_lakehouse::deltalake::arrow::array::{Array, AsArray};
use tenet_lakehouse::deltalake::open_table;
use tenet_lakehouse::deltalake::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use tenet_lakehouse::{Lake, LakeTable};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::process::{Child, Command};
use tokio::task::AbortHandle;

/// The server every test database is created on.
pub fn postgres_admin_url() -> String {
    std::env::var("TENET_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// A database created for one test.
pub struct TestDatabase {
    pub name: String,
}

impl TestDatabase {
    /// Creates an empty database with a unique name.
    pub async fn create() -> Self {
        let name = format!("tenet_test_{}", uuid::Uuid::new_v4().simple());
        let mut admin = PgConnection::connect(&postgres_admin_url())
            .await
            .expect("PostgreSQL is reachable at TENET_TEST_POSTGRES_URL");
        admin
            .execute(format!(r#"create database "{name}""#).as_str())
            .await
            .expect("create the test database");
        Self { name }
    }

    /// The URL of this database, optionally through another host and port.
    pub fn url_via(&self, addr: Option<SocketAddr>) -> String {
        let admin = postgres_admin_url();
        let (base, _) = admin.rsplit_once('/').expect("the URL names a database");
        let base = match addr {
            Some(addr) => {
                let (scheme_user, _) = base.rsplit_once('@').expect("the URL has user@host");
                format!("{scheme_user}@{addr}")
            }
            None => base.to_owned(),
        };
        format!("{base}/{}", self.name)
    }

    pub fn url(&self) -> String {
        self.url_via(None)
    }
}

/// Settings for an in-process application on a free port.
pub fn settings(database_url: Option<String>, data_dir: &Path) -> Settings {
    let mut settings = Settings::default();
    settings.http.addr = "127.0.0.1:0".parse().unwrap();
    settings.data.dir = data_dir.to_owned();
    settings.database.url = Secret::from(database_url.unwrap_or_default());
    settings.database.acquire_timeout = Duration::from_secs(1);
    settings.health.check_timeout = Duration::from_secs(1);
    // Small enough for a test to pass it, larger than the API's body limit.
    settings.attachments.max_bytes = 8 * 1024 * 1024;
    settings
}

/// A running in-process application and its base URL.
pub struct RunningApp {
    pub base: String,
    /// Its data directory.
    pub data_dir: std::path::PathBuf,
    pub database: tenet_ops_api::Database,
    pub log: Option<std::sync::Arc<dyn tenet_ingest::EventLog>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl RunningApp {
    pub async fn start(settings: Settings, mode: Mode) -> Self {
        // The application's log, shown with a failing test (RUST_LOG narrows or widens it).
        let filter = tracing_subscriber::EnvFilter::try_from_default_env()
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_test_writer()
            .try_init();
        let data_dir = settings.data.dir.clone();
        let app = Application::build(settings, mode)
            .await
            .expect("application builds");
        let base = format!("http://{}", app.local_addr());
        let database = app.database().clone();
        let log = app.event_log();
        let (stop, stopped) = tokio::sync::oneshot::channel();
        let task = tokio::spawn(app.run_until(async move {
            let _ = stopped.await;
        }));
        Self {
            base,
            data_dir,
            database,
            log,
            stop: Some(stop),
            task,
        }
    }

    pub async fn serve_api(settings: Settings) -> Self {
        Self::start(settings, Mode::Serve(vec![Target::Api])).await
    }

    /// Every target of the distributed mode in one process: API, gateway, relay, writer.
    pub async fn serve_all(settings: Settings) -> Self {
        let targets = vec![Target::Api, Target::Ingest, Target::Relay, Target::Writer];
        Self::start(settings, Mode::Serve(targets)).await
    }

    /// A new tenant and a bearer token of its admin, named `name`.
    pub async fn tenant_admin(&self, name: &str) -> (tenet_events::TenantId, String) {
        let tenant = tenet::admin::create_tenant(&self.database, "Acme")
            .await
            .expect("tenant");
        let token = tenet::admin::create_token(
            &self.database,
            tenant.id,
            tenet_events::Role::Admin,
            None,
            name,
        )
        .await
        .expect("token");
        (
            tenant.id,
            secrecy::ExposeSecret::expose_secret(&token.secret).to_owned(),
        )
    }

    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        (&mut self.task)
            .await
            .expect("server task")
            .expect("server ends cleanly");
    }
}

/// A `call.answered` event of `tenant` in the wire format, with a fresh event id.
pub fn call_answered(tenant: tenet_events::TenantId, call: &str, wait_seconds: u32) -> Value {
    serde_json::json!({
        "event_id": uuid::Uuid::now_v7(),
        "tenant_id": tenant,
        "occurred_at": "2026-04-12T09:03:57.480Z",
        "type": "call.answered",
        "schema_version": 1,
        "data": {"call_id": call, "queue_id": "support-en", "agent_id": "1001", "wait_seconds": wait_seconds}
    })
}

/// Creates the project HOT ("Hotline") with `token` and returns its id.
pub async fn create_hotline(client: &reqwest::Client, base: &str, token: &str) -> String {
    let project: Value = client
        .post(format!("{base}/api/v1/projects"))
        .bearer_auth(token)
        .json(&serde_json::json!({"key": "HOT", "name": "Hotline"}))
        .send()
        .await
        .expect("project request")
        .json()
        .await
        .expect("project body");
    project["id"].as_str().expect("project id").to_owned()
}

/// The `tenet` binary under test.
pub fn tenet() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tenet"));
    command.env_clear();
    if let Ok(path) = std::env::var("PATH") {
        command.env("PATH", path);
    }
    command.kill_on_drop(true);
    command
}

/// Runs the binary with `args`, asserts it succeeded, and returns its trimmed stdout.
pub async fn tenet_ok<I, S>(args: I) -> String
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let output = tenet().args(args).output().await.expect("run tenet");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

/// A `tenet up` process whose stdout (the JSON log) is collected line by line.
pub struct UpProcess {
    pub child: Child,
    pub base: String,
    pub lines: Arc<Mutex<Vec<String>>>,
}

impl UpProcess {
    /// Starts `tenet up` on a free port and waits for its "serving HTTP" line.
    pub async fn start(data_dir: &Path) -> Self {
        Self::start_with(data_dir, &[]).await
    }

    /// Starts `tenet up` with extra arguments.
    pub async fn start_with(data_dir: &Path, extra: &[&str]) -> Self {
        let mut command = tenet();
        command
            .args(["up", "--http", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir)
            .args(extra);
        Self::spawn(command).await
    }

    /// Starts `tenet serve --targets api` on a free port against `database_url`.
    pub async fn serve_api(database_url: &str) -> Self {
        let mut command = tenet();
        command
            .args(["serve", "--targets", "api", "--http", "127.0.0.1:0"])
            .env("TENET_DATABASE__URL", database_url);
        Self::spawn(command).await
    }

    /// Spawns a serving `tenet` command and waits for its "serving HTTP" line.
    pub async fn spawn(mut command: Command) -> Self {
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn tenet");
        let stdout = child.stdout.take().unwrap();
        let lines = Arc::new(Mutex::new(Vec::new()));
        let (addr_tx, addr_rx) = tokio::sync::oneshot::channel();
        let collected = lines.clone();
        tokio::spawn(async move {
            let mut addr_tx = Some(addr_tx);
            let mut reader = BufReader::new(stdout).lines();
            while let Ok(Some(line)) = reader.next_line().await {
                if let Ok(value) = serde_json::from_str::<serde_json::Value>(&line)
                    && value["message"] == "serving HTTP"
                    && let Some(tx) = addr_tx.take()
                {
                    let _ = tx.send(value["addr"].as_str().unwrap_or_default().to_owned());
                }
                collected.lock().unwrap().push(line);
            }
        });
        let addr = tokio::time::timeout(Duration::from_secs(30), addr_rx)
            .await
            .expect("tenet logs `serving HTTP` within 30 s")
            .expect("tenet is running");
        Self {
            child,
            base: format!("http://{addr}"),
            lines,
        }
    }

    /// Sends SIGTERM and waits for the exit code.
    pub async fn terminate(mut self) -> (Option<i32>, Vec<String>) {
        let pid = self.child.id().expect("running").to_string();
        let status = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill");
        assert!(status.success());
        let exit = tokio::time::timeout(Duration::from_secs(30), self.child.wait())
            .await
            .expect("tenet exits within 30 s of SIGTERM")
            .expect("wait");
        tokio::time::sleep(Duration::from_millis(100)).await;
        let lines = self.lines.lock().unwrap().clone();
        (exit.code(), lines)
    }
}

/// A TCP proxy in front of a real server whose link can be cut and restored, to make a
/// dependency unreachable without stopping it.
pub struct Proxy {
    pub addr: SocketAddr,
    state: Arc<Mutex<ProxyState>>,
}

struct ProxyState {
    up: bool,
    connections: Vec<AbortHandle>,
}

impl Proxy {
    pub async fn start(upstream: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(Mutex::new(ProxyState {
            up: true,
            connections: Vec::new(),
        }));
        let shared = state.clone();
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if !shared.lock().unwrap().up {
                    drop(inbound);
                    continue;
                }
                let task = tokio::spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                shared.lock().unwrap().connections.push(task.abort_handle());
            }
        });
        Self { addr, state }
    }

    /// Drops every open connection and refuses new ones.
    pub fn cut(&self) {
        let mut state = self.state.lock().unwrap();
        state.up = false;
        for connection in state.connections.drain(..) {
            connection.abort();
        }
    }

    /// Accepts connections again.
    pub fn restore(&self) {
        self.state.lock().unwrap().up = true;
    }
}

/// The Kafka-protocol broker of the test suite, from `TENET_TEST_KAFKA_BROKERS`; `None`
/// (and a note on stderr) when it is not set, for tests to skip.
pub fn test_brokers() -> Option<String> {
    match std::env::var("TENET_TEST_KAFKA_BROKERS") {
        Ok(brokers) if !brokers.is_empty() => Some(brokers),
        _ => {
            eprintln!(
                "skipped: TENET_TEST_KAFKA_BROKERS is not set (deploy/ci/test.sh starts tansu \
                 and sets it)"
            );
            None
        }
    }
}

/// The `tansu` binary: on the `PATH`, or where `cargo install` puts it.
fn tansu_binary() -> std::path::PathBuf {
    let installed = std::env::var_os("HOME")
        .map(|home| Path::new(&home).join(".cargo/bin/tansu"))
        .filter(|path| path.is_file());
    installed.unwrap_or_else(|| "tansu".into())
}

/// A tansu broker of this test alone, so stopping it disturbs no other test.
pub struct OwnBroker {
    dir: tempfile::TempDir,
    port: u16,
    process: Option<tokio::process::Child>,
}

impl OwnBroker {
    pub async fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut broker = Self {
            dir: tempfile::tempdir().unwrap(),
            port,
            process: None,
        };
        broker.resume().await;
        broker
    }

    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Starts the broker on its port and store, and waits until it accepts connections.
    pub async fn resume(&mut self) {
        let url = format!("tcp://{}", self.address());
        let process = tokio::process::Command::new(tansu_binary())
            .current_dir(self.dir.path())
            .args([
                "broker",
                "--listener-url",
                &url,
                "--advertised-listener-url",
                &url,
            ])
            .args(["--storage-engine", "sqlite://tansu.db"])
            .stdout(self.log_file())
            .stderr(self.log_file())
            .kill_on_drop(true)
            .spawn()
            .expect("tansu is installed (deploy/ci/test.sh installs it)");
        self.process = Some(process);
        let deadline = Instant::now() + Duration::from_secs(30);
        while tokio::net::TcpStream::connect(self.address())
            .await
            .is_err()
        {
            assert!(Instant::now() < deadline, "tansu did not start");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn log_file(&self) -> std::fs::File {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join("tansu.log"))
            .unwrap()
    }

    /// What the broker printed, to explain a failure.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("tansu.log")).unwrap_or_default()
    }

    /// Stops the broker as an operator would (SIGTERM) and waits until it has exited.
    pub async fn stop(&mut self) {
        if let Some(mut process) = self.process.take() {
            let pid = process.id().expect("the broker runs");
            let status = tokio::process::Command::new("kill")
                .args(["-TERM", &pid.to_string()])
                .status()
                .await
                .unwrap();
            assert!(status.success(), "kill -TERM {pid}");
            if tokio::time::timeout(Duration::from_secs(10), process.wait())
                .await
                .is_err()
            {
                process.kill().await.unwrap();
            }
        }
    }
}

/// The host and port of the test PostgreSQL server.
pub fn postgres_addr() -> SocketAddr {
    let url = postgres_admin_url();
    let after_at = url.rsplit_once('@').map_or(url.as_str(), |(_, rest)| rest);
    let host_port = after_at.split('/').next().unwrap();
    let host_port = if host_port.contains(':') {
        host_port.to_owned()
    } else {
        format!("{host_port}:5432")
    };
    std::net::ToSocketAddrs::to_socket_addrs(&host_port)
        .unwrap()
        .next()
        .unwrap()
}

/// How many rows of the lake's table of `family` (in `data_dir/lake`) carry each event id.
pub async fn landed_ids(data_dir: &Path, family: EventFamily) -> BTreeMap<String, usize> {
    let lake = Lake::in_dir(&data_dir.join("lake")).unwrap();
    let Ok(table) = open_table(lake.table_url(LakeTable::Events(family))).await else {
        return BTreeMap::new();
    };
    let mut counts = BTreeMap::new();
    for uri in table.get_file_uris().unwrap() {
        // Local tables list plain paths or `file://` URLs.
        let path = std::path::PathBuf::from(uri.strip_prefix("file://").unwrap_or(&uri));
        let reader = ParquetRecordBatchReaderBuilder::try_new(File::open(&path).unwrap())
            .unwrap()
            .build()
            .unwrap();
        for batch in reader {
            let batch = batch.unwrap();
            let ids = batch.column(batch.schema().index_of("event_id").unwrap());
            let ids = ids.as_string::<i32>();
            for i in 0..ids.len() {
                *counts.entry(ids.value(i).to_owned()).or_default() += 1;
            }
        }
    }
    counts
}

/// The next source offset that the lake's table of `family` (in `data_dir/lake`) holds for
/// each of the first `partitions` partitions of the family's topic: where a restarted
/// writer resumes. `None` for a partition nothing landed from.
pub async fn landed_offsets(
    data_dir: &Path,
    family: EventFamily,
    partitions: u32,
) -> Vec<Option<u64>> {
    let lake = Lake::in_dir(&data_dir.join("lake")).unwrap();
    let Ok(table) = open_table(lake.table_url(LakeTable::Events(family))).await else {
        return vec![None; partitions as usize];
    };
    let snapshot = table.snapshot().unwrap();
    let topic = TopicName::of_family(family);
    let mut offsets = Vec::new();
    for partition in 0..partitions {
        let version = snapshot
            .transaction_version(table.log_store().as_ref(), app_id(&topic, partition))
            .await
            .unwrap();
        offsets.push(version.and_then(|version| u64::try_from(version).ok()));
    }
    offsets
}

//! The application: one HTTP listener serving the targets this process runs.
//!
//! [`Application::build`] connects to the dependencies, applies migrations, binds the
//! listener (port 0 picks a free one, which tests use) and returns a handle;
//! [`Application::run_until`] serves until the given shutdown future completes, lets
//! in-flight requests finish within `http.shutdown_grace`, then closes the pools.

use std::fmt;
use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;

use anyhow::Context;
use axum::Router;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use tenet_events::EventFamily;
use tenet_ingest::gateway::Gateway;
use tenet_ingest::{
    EmbeddedLog, EmbeddedLogConfig, EventLog, GroupId, KafkaConfig, KafkaLog, LakeWriterConfig,
    LakeWriters, TopicName,
};
use tenet_lakehouse::Lake;
use tenet_ops_api::attachments::AttachmentStore;
use tenet_ops_api::auth::{AuthSettings, require_actor};
use tenet_ops_api::rbac::{Action, require_permission};
use tenet_ops_api::{ApiError, Database, DatabaseOptions};
use tokio::net::TcpListener;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::timeout::TimeoutLayer;

use crate::config::{DatabaseSettings, KafkaSettings, Settings, WriterSettings};
use crate::http::context::{self, ClientAddress};
use crate::http::health::{self, Dependency, Health};
use crate::http::metrics;
use crate::relay::{self, RelaySettings};

/// How the process is deployed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// `tenet up`: everything in one process on one box, data in the data directory.
    Embedded,
    /// `tenet serve`: the named targets, against shared infrastructure.
    Serve(Vec<Target>),
}

/// A component that `tenet serve --targets` can run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// The ops API under `/api/v1`.
    Api,
    /// The gateway for outside producers, publishing to Kafka.
    Ingest,
    /// The outbox relay, publishing the ops database's outbox to Kafka.
    Relay,
    /// The lake writers: Kafka into Delta, partitions split by the consumer group.
    Writer,
}

impl Target {
    /// Every target, for help texts and errors.
    pub const ALL: [Target; 4] = [Target::Api, Target::Ingest, Target::Relay, Target::Writer];

    fn as_str(self) -> &'static str {
        match self {
            Target::Api => "api",
            Target::Ingest => "ingest",
            Target::Relay => "relay",
            Target::Writer => "writer",
        }
    }

    /// Whether the target publishes to or consumes from Kafka.
    fn uses_kafka(self) -> bool {
        matches!(self, Target::Ingest | Target::Relay | Target::Writer)
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Target {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Target::ALL
            .into_iter()
            .find(|target| target.as_str() == s)
            .ok_or_else(|| {
                let known: Vec<_> = Target::ALL.iter().map(|t| t.as_str()).collect();
                format!("unknown target `{s}`; known targets: {}", known.join(", "))
            })
    }
}

/// Opens the ops database named by the settings: `database.url` when set, otherwise (the
/// embedded mode) `tenet.db` in the data directory, which is created if needed.
///
/// # Errors
/// When the data directory cannot be created or the database cannot be reached.
pub async fn open_database(
    database: &DatabaseSettings,
    data_dir: &Path,
) -> anyhow::Result<Database> {
    let url = if database.url.is_empty() {
        std::fs::create_dir_all(data_dir)
            .with_context(|| format!("cannot create data directory {}", data_dir.display()))?;
        format!("sqlite://{}", data_dir.join("tenet.db").display())
    } else {
        database.url.expose().to_owned()
    };
    let options = DatabaseOptions {
        url: url.into(),
        max_connections: database.max_connections,
        acquire_timeout: database.acquire_timeout,
    };
    Ok(Database::connect(&options).await?)
}

/// Opens the embedded event log in `data_dir/log`.
///
/// # Errors
/// When the log cannot be opened, in particular when another process (a running `tenet up`)
/// holds it.
pub async fn open_event_log(data_dir: &Path) -> anyhow::Result<Arc<EmbeddedLog>> {
    let dir = data_dir.join("log");
    let shown = dir.display().to_string();
    let log = tokio::task::spawn_blocking(move || {
        EmbeddedLog::open(dir, EmbeddedLogConfig::default())
    })
    .await?
    .with_context(|| {
        format!(
            "cannot open the event log in {shown} (is `tenet up` running on this data directory?)"
        )
    })?;
    Ok(Arc::new(log))
}

/// Opens the store of ticket attachments: `[attachments] url`, or `data_dir/attachments`.
///
/// # Errors
/// When the URL is not a store or the directory cannot be created.
pub fn open_attachments(
    settings: &crate::config::AttachmentSettings,
    data_dir: &Path,
) -> anyhow::Result<AttachmentStore> {
    let url = if settings.url.is_empty() {
        let dir = std::path::absolute(data_dir.join("attachments"))
            .context("cannot resolve the attachments directory")?;
        url::Url::from_directory_path(&dir)
            .map_err(|()| anyhow::anyhow!("{} is not a directory path", dir.display()))?
    } else {
        url::Url::parse(&settings.url).context("invalid attachments.url")?
    };
    Ok(AttachmentStore::open(&url, settings.max_bytes)?)
}

/// Opens the embedded lake in `data_dir/lake`.
///
/// # Errors
/// When the directory cannot be created.
pub fn open_lake(data_dir: &Path) -> anyhow::Result<Lake> {
    Ok(Lake::in_dir(&data_dir.join("lake"))?)
}

/// The Kafka log described by `[kafka]`, with every event family's topic created when
/// missing.
///
/// # Errors
/// When `kafka.brokers` is empty, a property is refused, or the topics cannot be created
/// (the broker is unreachable).
pub async fn open_kafka_log(kafka: &KafkaSettings) -> anyhow::Result<Arc<KafkaLog>> {
    if kafka.brokers.is_empty() {
        anyhow::bail!(
            "the ingest, relay and writer targets need kafka.brokers (TENET_KAFKA__BROKERS)"
        );
    }
    let config = KafkaConfig {
        brokers: kafka.brokers.clone(),
        client_id: kafka.client_id.clone(),
        properties: kafka.properties.to_librdkafka(),
        request_timeout: kafka.request_timeout,
        delivery_timeout: kafka.delivery_timeout,
        metadata_max_age: kafka.metadata_max_age,
        topic_partitions: kafka.topic_partitions,
        replication_factor: kafka.replication_factor,
    };
    let log = KafkaLog::new(config).context("invalid [kafka] settings")?;
    let topics: Vec<TopicName> = EventFamily::ALL
        .into_iter()
        .map(TopicName::of_family)
        .collect();
    log.ensure_topics(&topics)
        .await
        .with_context(|| format!("cannot create the event topics on {}", kafka.brokers))?;
    Ok(Arc::new(log))
}

/// The Kafka side of `tenet serve`: the log and which targets use it.
struct KafkaTargets {
    log: Arc<KafkaLog>,
    relay: bool,
    /// The lake and the group of the writer target.
    writer: Option<(Lake, GroupId)>,
}

/// One lake writer per event family, flushing as `[writer]` says.
pub fn lake_writer_configs(writer: &WriterSettings) -> Vec<LakeWriterConfig> {
    EventFamily::ALL
        .into_iter()
        .map(|family| LakeWriterConfig {
            flush: writer.flush_policy(),
            read_max_records: writer.read_max_records,
            ..LakeWriterConfig::new(family)
        })
        .collect()
}

/// A built application, bound to its port and ready to serve.
pub struct Application {
    listener: TcpListener,
    router: Router,
    database: Database,
    log: Option<Arc<EmbeddedLog>>,
    lake: Option<Lake>,
    kafka: Option<KafkaTargets>,
    health: Health,
    settings: Settings,
    /// Whether this server watches tickets' SLA clocks: it serves the ops API.
    watches_sla: bool,
}

impl Application {
    /// Connects to the dependencies of `mode`, migrates and binds `http.addr`.
    ///
    /// # Errors
    /// When a dependency cannot be reached at start, a migration fails, or the address
    /// cannot be bound.
    pub async fn build(settings: Settings, mode: Mode) -> anyhow::Result<Self> {
        if let Mode::Serve(_) = &mode
            && settings.database.url.is_empty()
        {
            anyhow::bail!(
                "`tenet serve` needs database.url (TENET_DATABASE__URL); `tenet up` runs without one"
            );
        }
        let database = open_database(&settings.database, &settings.data.dir).await?;
        if settings.database.migrate_on_start {
            database
                .migrate()
                .await
                .context("cannot apply migrations")?;
        }
        let (log, lake) = match &mode {
            Mode::Embedded => (
                Some(open_event_log(&settings.data.dir).await?),
                Some(open_lake(&settings.data.dir)?),
            ),
            Mode::Serve(_) => (None, None),
        };
        let kafka = match &mode {
            Mode::Serve(targets) if targets.iter().any(|target| target.uses_kafka()) => {
                let log = open_kafka_log(&settings.kafka).await?;
                let writer = if targets.contains(&Target::Writer) {
                    let group = GroupId::parse(settings.kafka.group.clone())
                        .context("invalid kafka.group")?;
                    let topics: Vec<TopicName> = EventFamily::ALL
                        .into_iter()
                        .map(TopicName::of_family)
                        .collect();
                    log.join_group(&group, &topics)
                        .context("cannot join the lake writers' consumer group")?;
                    Some((open_lake(&settings.data.dir)?, group))
                } else {
                    None
                };
                Some(KafkaTargets {
                    log,
                    relay: targets.contains(&Target::Relay),
                    writer,
                })
            }
            Mode::Embedded | Mode::Serve(_) => None,
        };
        let attachments = open_attachments(&settings.attachments, &settings.data.dir)?;
        let mut dependencies: Vec<Arc<dyn Dependency>> =
            vec![Arc::new(database.clone()), Arc::new(attachments.clone())];
        if let Some(kafka) = &kafka {
            dependencies.push(kafka.log.clone());
        }
        let health = Health::new(dependencies, settings.health.check_timeout);

        let gateway_log: Option<Arc<dyn EventLog>> = match (&mode, &kafka) {
            (Mode::Serve(targets), Some(kafka)) if targets.contains(&Target::Ingest) => {
                Some(kafka.log.clone() as Arc<dyn EventLog>)
            }
            _ => None,
        };
        let shared: Option<Arc<dyn EventLog>> = log
            .clone()
            .map(|log| log as Arc<dyn EventLog>)
            .or(gateway_log);
        let reader = crate::reports::reader(open_lake(&settings.data.dir)?, &settings.reports)?;
        let router = router(
            &settings,
            &database,
            attachments,
            shared,
            reader,
            health.clone(),
        );
        let listener = TcpListener::bind(settings.http.addr)
            .await
            .with_context(|| format!("cannot listen on {}", settings.http.addr))?;
        let watches_sla = match &mode {
            Mode::Embedded => true,
            Mode::Serve(targets) => targets.contains(&Target::Api),
        } && !settings.sla.sweep_interval.is_zero();
        Ok(Self {
            listener,
            router,
            database,
            log,
            lake,
            kafka,
            health,
            settings,
            watches_sla,
        })
    }

    /// The address the listener is bound to.
    ///
    /// # Panics
    /// If the socket has no local address, which a bound TCP listener always has.
    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    /// The event log: the embedded one, or Kafka when a target of `tenet serve` uses it.
    pub fn event_log(&self) -> Option<Arc<dyn EventLog>> {
        self.log
            .clone()
            .map(|log| log as Arc<dyn EventLog>)
            .or_else(|| {
                self.kafka
                    .as_ref()
                    .map(|kafka| kafka.log.clone() as Arc<dyn EventLog>)
            })
    }

    /// The ops database this application uses.
    pub fn database(&self) -> &Database {
        &self.database
    }

    /// The path of every route this application serves, to hold the OpenAPI document
    /// against.
    pub fn route_paths(&self) -> Vec<String> {
        crate::openapi::route_paths(&self.router)
    }

    /// Serves until `shutdown` completes, then stops accepting, waits up to
    /// `http.shutdown_grace` for in-flight requests and closes the database pool.
    ///
    /// # Errors
    /// When the server fails while serving.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let Self {
            listener,
            router,
            database,
            log,
            lake,
            kafka,
            health,
            settings,
            watches_sla,
        } = self;
        let addr = listener.local_addr()?;
        tracing::info!(addr = %addr, "serving HTTP");
        let watcher = tokio::spawn(health.watch(settings.health.interval));
        let upkeep = tokio::spawn(metrics::upkeep(metrics::handle()));
        let relay_log: Option<Arc<dyn EventLog>> = match (&log, &kafka) {
            (Some(log), _) => Some(log.clone() as Arc<dyn EventLog>),
            (None, Some(kafka)) if kafka.relay => Some(kafka.log.clone() as Arc<dyn EventLog>),
            _ => None,
        };
        let relay = relay_log
            .map(|log| tokio::spawn(relay::run(database.clone(), log, RelaySettings::default())));
        let sla_watch = watches_sla.then(|| {
            tokio::spawn(crate::sla_watch::run(
                database.clone(),
                settings.sla.sweep_interval,
            ))
        });
        let maintenance = settings.writer.maintenance_policy();
        let mut writers = log.zip(lake).map(|(log, lake)| {
            LakeWriters::spawn(
                log,
                lake,
                lake_writer_configs(&settings.writer),
                maintenance,
            )
        });
        let mut kafka_group = None;
        if let Some(kafka) = &kafka
            && let Some((lake, group)) = &kafka.writer
        {
            let configs = lake_writer_configs(&settings.writer)
                .into_iter()
                .map(|config| LakeWriterConfig {
                    group: group.clone(),
                    ..config
                })
                .collect();
            writers = Some(LakeWriters::spawn(
                kafka.log.clone(),
                lake.clone(),
                configs,
                maintenance,
            ));
            kafka_group = Some((kafka.log.clone(), group.clone()));
        }

        let (stopping_tx, stopping_rx) = tokio::sync::oneshot::channel::<()>();
        let server = axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async move {
            shutdown.await;
            tracing::info!("shutting down: no new connections, finishing in-flight requests");
            let _ = stopping_tx.send(());
        })
        .into_future();
        tokio::pin!(server);
        let grace = settings.http.shutdown_grace;
        let outcome = tokio::select! {
            outcome = &mut server => outcome.map_err(anyhow::Error::from),
            () = async {
                if stopping_rx.await.is_ok() {
                    tokio::time::sleep(grace).await;
                } else {
                    std::future::pending::<()>().await;
                }
            } => {
                tracing::warn!(grace = ?grace, "in-flight requests did not finish within the grace period");
                Ok(())
            }
        };
        watcher.abort();
        upkeep.abort();
        if let Some(relay) = relay {
            relay.abort();
        }
        if let Some(sla_watch) = sla_watch {
            sla_watch.abort();
        }
        if let Some(writers) = writers {
            writers.shutdown().await;
        }
        if let Some((log, group)) = kafka_group {
            log.leave_group(&group).await;
        }
        database.close().await;
        tracing::info!("stopped");
        outcome
    }
}

fn router(
    settings: &Settings,
    database: &Database,
    attachments: AttachmentStore,
    log: Option<Arc<dyn EventLog>>,
    reader: Arc<tenet_lakehouse::LakeReader>,
    health: Health,
) -> Router {
    let auth = AuthSettings {
        session_lifetime: settings.auth.session_lifetime,
        secure_cookies: settings.auth.secure_cookies,
        max_failed_logins: settings.auth.max_failed_logins,
        lockout: settings.auth.lockout,
    };
    let wfm = tenet_forecast::routes::router()
        .merge(crate::roster::router(database.clone()))
        .merge(crate::history::router(crate::history::HistoryState {
            reader: reader.clone(),
            database: database.clone(),
        }))
        .route_layer(axum::middleware::from_fn_with_state(
            Action::WorkforcePlan,
            require_permission,
        ))
        .route_layer(axum::middleware::from_fn_with_state(
            database.clone(),
            require_actor,
        ));
    let mut api = tenet_ops_api::routes::router(database.clone(), auth, attachments.clone())
        .nest("/wfm", wfm);
    let gateway_mounted = log.is_some();
    if let Some(log) = log {
        let gateway = Gateway::new(log)
            .router()
            .route_layer(axum::middleware::from_fn_with_state(
                Action::EventIngest,
                require_permission,
            ))
            .route_layer(axum::middleware::from_fn_with_state(
                database.clone(),
                require_actor,
            ));
        api = api.merge(gateway);
    }
    let scoped = |action| {
        axum::middleware::from_fn_with_state(
            crate::reports::ScopeState {
                database: database.clone(),
                action,
            },
            crate::reports::require_scope,
        )
    };
    let reports = tenet_lakehouse::routes::reports_router(reader.clone())
        .route_layer(scoped(Action::ReportRead))
        .route_layer(axum::middleware::from_fn_with_state(
            database.clone(),
            require_actor,
        ));
    let sql = tenet_lakehouse::routes::sql_router(
        reader.clone(),
        tenet_lakehouse::sql::SqlLimits::default(),
    )
    .route_layer(scoped(Action::ReportQuery))
    .route_layer(axum::middleware::from_fn_with_state(
        database.clone(),
        require_actor,
    ));
    let attendance = crate::attendance::router(crate::attendance::AttendanceState {
        database: database.clone(),
        reader: reader.clone(),
    })
    .route_layer(axum::middleware::from_fn_with_state(
        database.clone(),
        require_actor,
    ));
    let contacts = crate::contacts::router(crate::contacts::ContactsState {
        database: database.clone(),
        reader: reader.clone(),
    })
    .route_layer(axum::middleware::from_fn_with_state(
        database.clone(),
        require_actor,
    ));
    api = api
        .merge(reports)
        .merge(sql)
        .merge(attendance)
        .merge(contacts);
    let probes = Router::new()
        .route("/health/live", get(health::live))
        .route("/health/ready", get(health::ready))
        .with_state(health)
        .route("/metrics", get(metrics::render));
    Router::new()
        .nest("/api/v1", api)
        .merge(crate::openapi::router(gateway_mounted))
        .merge(probes)
        .fallback(not_found)
        // Layers wrap those added before them: the request context is outermost so the
        // access log and metrics also see timeouts, oversized bodies and panics.
        .layer(CatchPanicLayer::custom(|_| {
            ApiError::internal("a request handler panicked").into_response()
        }))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            settings.http.request_timeout,
        ))
        .layer(axum::middleware::from_fn_with_state(
            BodyLimits {
                api: settings.http.body_limit_bytes,
                uploads: usize::try_from(attachments.max_bytes()).unwrap_or(usize::MAX),
            },
            limit_body,
        ))
        .layer(axum::middleware::map_response(json_body_limit))
        .layer(axum::middleware::from_fn_with_state(
            ClientAddress {
                trust_forwarded_for: settings.http.trust_forwarded_for,
            },
            context::track,
        ))
}

/// The largest request bodies accepted.
#[derive(Clone, Copy)]
struct BodyLimits {
    /// Any API request.
    api: usize,
    /// An attachment upload, which streams to the object store.
    uploads: usize,
}

/// Refuses a body larger than its route accepts: 413 at once when `Content-Length` says so,
/// and an error from the body as soon as it passes the limit otherwise.
async fn limit_body(
    axum::extract::State(limits): axum::extract::State<BodyLimits>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let limit = if tenet_ops_api::routes::is_upload(request.method(), request.uri().path()) {
        limits.uploads
    } else {
        limits.api
    };
    let declared = request
        .headers()
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<usize>().ok());
    if declared.is_some_and(|length| length > limit) {
        return ApiError::Invalid {
            status: StatusCode::PAYLOAD_TOO_LARGE,
            message: format!(
                "the request body is larger than the {limit} bytes this route accepts"
            ),
            field: Some("body".into()),
        }
        .into_response();
    }
    let request =
        request.map(|body| axum::body::Body::new(http_body_util::Limited::new(body, limit)));
    next.run(request).await
}

/// The body limit answers an oversized body in plain text; the API answers every error in its
/// JSON shape.
async fn json_body_limit(response: axum::response::Response) -> axum::response::Response {
    let json = response
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .is_some_and(|kind| kind.as_bytes().starts_with(b"application/json"));
    if response.status() != StatusCode::PAYLOAD_TOO_LARGE || json {
        return response;
    }
    ApiError::Invalid {
        status: StatusCode::PAYLOAD_TOO_LARGE,
        message: "the request body is larger than the server accepts".into(),
        field: None,
    }
    .into_response()
}

async fn not_found() -> ApiError {
    ApiError::NotFound("no such route".into())
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => tracing::info!("received SIGINT"),
        () = terminate => tracing::info!("received SIGTERM"),
    }
}

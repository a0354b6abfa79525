//! Liveness and readiness probes, and the dependency health gauges.
//!
//! `GET /health/live` answers 200 while the process serves requests at all.
//! `GET /health/ready` checks every dependency the running targets need (database, broker,
//! object store), each within `health.check_timeout`, and answers 200 only when all of them
//! answer; otherwise 503 with a JSON body naming each failing dependency and why.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use futures::future::{BoxFuture, join_all};
use serde::Serialize;
use tenet_ops_api::Database;

/// Something a target needs in order to serve: checked by readiness.
pub trait Dependency: Send + Sync {
    /// A short, stable name used in the readiness body and as a metric label.
    fn name(&self) -> &'static str;

    /// Succeeds when the dependency answers; otherwise says why not.
    fn check(&self) -> BoxFuture<'_, Result<(), String>>;
}

impl Dependency for Database {
    fn name(&self) -> &'static str {
        "database"
    }

    fn check(&self) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(async move { self.ping().await.map_err(|error| error.to_string()) })
    }
}

impl Dependency for tenet_ops_api::attachments::AttachmentStore {
    fn name(&self) -> &'static str {
        "object_store"
    }

    fn check(&self) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(async move { self.ping().await.map_err(|error| error.to_string()) })
    }
}

impl Dependency for tenet_ingest::KafkaLog {
    fn name(&self) -> &'static str {
        "broker"
    }

    fn check(&self) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(async move {
            tenet_ingest::KafkaLog::check(self)
                .await
                .map_err(|error| error.to_string())
        })
    }
}

/// The dependencies of this process and how long each may take to answer.
#[derive(Clone)]
pub struct Health {
    dependencies: Arc<Vec<Arc<dyn Dependency>>>,
    timeout: Duration,
}

/// The state of one dependency at one check.
#[derive(Debug, Clone, Serialize)]
pub struct DependencyStatus {
    /// The dependency's name.
    pub name: &'static str,
    /// `up` or `down`.
    pub status: &'static str,
    /// How long the check took.
    pub latency_ms: f64,
    /// Why it is down.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Serialize)]
struct Readiness {
    status: &'static str,
    failing: Vec<&'static str>,
    dependencies: Vec<DependencyStatus>,
}

impl Health {
    /// Checks `dependencies`, each allowed `timeout` to answer.
    pub fn new(dependencies: Vec<Arc<dyn Dependency>>, timeout: Duration) -> Self {
        Self {
            dependencies: Arc::new(dependencies),
            timeout,
        }
    }

    /// Checks every dependency concurrently and updates the health gauges.
    pub async fn check_all(&self) -> Vec<DependencyStatus> {
        join_all(self.dependencies.iter().map(|dependency| async move {
            let started = Instant::now();
            let outcome = match tokio::time::timeout(self.timeout, dependency.check()).await {
                Ok(outcome) => outcome,
                Err(_) => Err(format!("no answer within {:?}", self.timeout)),
            };
            let elapsed = started.elapsed();
            let name = dependency.name();
            metrics::gauge!("tenet_dependency_up", "dependency" => name).set(if outcome.is_ok() {
                1.0
            } else {
                0.0
            });
            metrics::histogram!("tenet_dependency_check_duration_seconds", "dependency" => name)
                .record(elapsed.as_secs_f64());
            if outcome.is_err() {
                metrics::counter!("tenet_dependency_check_failures_total", "dependency" => name)
                    .increment(1);
            }
            DependencyStatus {
                name,
                status: if outcome.is_ok() { "up" } else { "down" },
                latency_ms: elapsed.as_secs_f64() * 1000.0,
                error: outcome.err(),
            }
        }))
        .await
    }

    /// Re-checks every `interval` so the gauges stay current without a prober.
    pub async fn watch(self, interval: Duration) {
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            for status in self.check_all().await {
                if let Some(error) = status.error {
                    tracing::warn!(dependency = status.name, error, "dependency is down");
                }
            }
        }
    }
}

/// `GET /health/live`.
pub async fn live() -> impl IntoResponse {
    Json(serde_json::json!({ "status": "live" }))
}

/// `GET /health/ready`.
pub async fn ready(State(health): State<Health>) -> impl IntoResponse {
    let dependencies = health.check_all().await;
    let failing: Vec<_> = dependencies
        .iter()
        .filter(|status| status.error.is_some())
        .map(|status| status.name)
        .collect();
    let status = if failing.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = Readiness {
        status: if failing.is_empty() {
            "ready"
        } else {
            "unavailable"
        },
        failing,
        dependencies,
    };
    (status, Json(body))
}

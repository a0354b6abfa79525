//! `GET /metrics`: Prometheus text exposition of the process's metrics.
//!
//! Components record through the `metrics` facade with low-cardinality labels (route, status,
//! dependency; never a tenant or ticket id). The recorder is process-wide and installed once.

use std::sync::OnceLock;
use std::time::Duration;

use axum::http::header;
use axum::response::IntoResponse;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Latency buckets in seconds, from 1 ms to 30 s.
const SECONDS_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// Installs the process-wide recorder on first use and returns its handle.
///
/// # Panics
/// If another `metrics` recorder was installed by something else first.
pub fn handle() -> PrometheusHandle {
    HANDLE
        .get_or_init(|| {
            let handle = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".to_owned()), SECONDS_BUCKETS)
                .expect("bucket list is not empty")
                .install_recorder()
                .expect("no other metrics recorder is installed");
            describe();
            tenet_ingest::gateway::describe_metrics();
            tenet_ingest::writer::describe_metrics();
            tenet_ingest::kafka::log::describe_metrics();
            crate::relay::describe_metrics();
            crate::sla_watch::describe_metrics();
            handle
        })
        .clone()
}

fn describe() {
    metrics::describe_counter!(
        "http_requests_total",
        "HTTP requests served, by method, route and status."
    );
    metrics::describe_histogram!(
        "http_request_duration_seconds",
        metrics::Unit::Seconds,
        "Time to serve an HTTP request, by method, route and status."
    );
    metrics::describe_gauge!(
        "tenet_dependency_up",
        "1 when the dependency answered its last health check, 0 otherwise."
    );
    metrics::describe_histogram!(
        "tenet_dependency_check_duration_seconds",
        metrics::Unit::Seconds,
        "Time a dependency took to answer its health check."
    );
    metrics::describe_counter!(
        "tenet_dependency_check_failures_total",
        "Failed dependency health checks."
    );
}

/// Drains histogram samples into their buckets regularly, bounding the recorder's memory.
pub async fn upkeep(handle: PrometheusHandle) {
    let mut ticker = tokio::time::interval(Duration::from_secs(5));
    loop {
        ticker.tick().await;
        handle.run_upkeep();
    }
}

/// `GET /metrics`.
pub async fn render() -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        handle().render(),
    )
}

//! The request context middleware: ids, the request span, the access log line and the
//! per-route request metrics.

use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use tenet_events::TraceContext;
use tenet_events::trace::{OPERATION_ID_HEADER, OPERATION_PHASE_ID_HEADER, REQUEST_ID_HEADER};
use tracing::Instrument;

/// How the client address is found.
#[derive(Debug, Clone, Copy)]
pub struct ClientAddress {
    /// Believe the first address of `X-Forwarded-For` (only behind a trusted proxy).
    pub trust_forwarded_for: bool,
}

/// Opens the request span, stores the [`TraceContext`] in the request's extensions, echoes
/// the ids in the response, writes the access log line and records the request metrics.
pub async fn track(
    State(client_address): State<ClientAddress>,
    mut request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let headers = request.headers();
    let context = TraceContext::continue_from(
        header_str(headers, REQUEST_ID_HEADER),
        header_str(headers, OPERATION_ID_HEADER),
        header_str(headers, OPERATION_PHASE_ID_HEADER),
    );
    let ip = client_ip(&request, client_address);
    let request_length = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok()?.parse::<u64>().ok())
        .unwrap_or(0);
    let method = request.method().clone();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str)
        .to_owned();
    let path = request.uri().path().to_owned();

    // An ERROR-level span is enabled whenever anything is logged at all, so even a
    // warning-only configuration keeps the request ids on every line it writes.
    let span = tracing::error_span!(
        "request",
        ip = ip.map(tracing::field::display),
        request_id = %context.request_id,
        operation_id = %context.operation_id,
        operation_phase_id = %context.operation_phase_id,
        parent_phase_id = context.parent_phase_id.as_deref(),
        tenant_id = tracing::field::Empty,
    );
    request.extensions_mut().insert(context.clone());
    if let Some(ip) = ip {
        // The ops API checks it against the tenant's IP allow-list.
        request
            .extensions_mut()
            .insert(tenet_ops_api::auth::ClientIp(ip));
    }
    let mut response = next.run(request).instrument(span.clone()).await;

    let status = response.status().as_u16();
    let elapsed = started.elapsed();
    let labels = [
        ("method", method.to_string()),
        ("route", route.clone()),
        ("status", status.to_string()),
    ];
    metrics::counter!("http_requests_total", &labels).increment(1);
    metrics::histogram!("http_request_duration_seconds", &labels).record(elapsed.as_secs_f64());

    let _entered = span.enter();
    let quiet = route.starts_with("/health/") || route == "/metrics";
    let latency_ms = elapsed.as_secs_f64() * 1000.0;
    if quiet {
        tracing::debug!(log_type = "request", status, request_length, latency_ms, method = %method, route, path, "request completed");
    } else {
        tracing::info!(log_type = "request", status, request_length, latency_ms, method = %method, route, path, "request completed");
    }
    drop(_entered);

    for (name, value) in context.headers() {
        if let Ok(value) = HeaderValue::from_str(value) {
            response
                .headers_mut()
                .insert(HeaderName::from_static(name), value);
        }
    }
    response
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name)?.to_str().ok()
}

fn client_ip(request: &Request, client_address: ClientAddress) -> Option<IpAddr> {
    if client_address.trust_forwarded_for
        && let Some(forwarded) = header_str(request.headers(), "x-forwarded-for")
        && let Some(first) = forwarded.split(',').next()
        && let Ok(ip) = first.trim().parse()
    {
        return Some(ip);
    }
    request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(peer)| peer.ip())
}

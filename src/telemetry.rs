//! Logging: one JSON object per line on stdout.
//!
//! Every line has `timestamp` (RFC 3339, UTC, milliseconds), `level`, `type`, `service`,
//! `message` and `target`. Fields of the spans the event happened in are flattened into the
//! line, so everything logged while serving a request carries the request's `ip`,
//! `request_id`, `operation_id` and `operation_phase_id`; the line that closes a request
//! (`type` = `request`) adds `status` and `request_length`. An event sets its `type` with a
//! `log_type` field; it defaults to `app`.

use std::fmt;

use chrono::{SecondsFormat, Utc};
use serde_json::{Map, Value};
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::{JsonFields, Writer};
use tracing_subscriber::fmt::writer::BoxMakeWriter;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, FormattedFields};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;

use crate::config::{LogFormat, LogSettings};

/// The field an event uses to set the line's `type`.
pub const LOG_TYPE_FIELD: &str = "log_type";

/// Where log lines go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    /// Standard output: the servers.
    Stdout,
    /// Standard error: one-shot commands whose standard output is their result.
    Stderr,
}

impl Output {
    fn writer(self) -> BoxMakeWriter {
        match self {
            Output::Stdout => BoxMakeWriter::new(std::io::stdout),
            Output::Stderr => BoxMakeWriter::new(std::io::stderr),
        }
    }
}

/// Installs the global subscriber described by `settings`, writing to `output`.
///
/// # Errors
/// When the filter does not parse or a subscriber is already installed.
pub fn init(settings: &LogSettings, output: Output) -> anyhow::Result<()> {
    let filter = EnvFilter::try_new(&settings.level)
        .map_err(|error| anyhow::anyhow!("log.level `{}` is invalid: {error}", settings.level))?;
    let registry = tracing_subscriber::registry().with(filter);
    match settings.format {
        LogFormat::Json => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .fmt_fields(JsonFields::new())
                    .event_format(JsonLines::new(&settings.service))
                    .with_writer(output.writer()),
            )
            .try_init()?,
        LogFormat::Text => registry
            .with(tracing_subscriber::fmt::layer().with_writer(output.writer()))
            .try_init()?,
    }
    Ok(())
}

/// The JSON line format described in the module documentation.
#[derive(Debug, Clone)]
pub struct JsonLines {
    service: String,
}

impl JsonLines {
    /// A formatter stamping `service` on every line.
    pub fn new(service: &str) -> Self {
        Self {
            service: service.to_owned(),
        }
    }
}

impl<S, N> FormatEvent<S, N> for JsonLines
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let mut fields = Map::new();
        if let Some(scope) = ctx.event_scope() {
            for span in scope.from_root() {
                let extensions = span.extensions();
                if let Some(stored) = extensions.get::<FormattedFields<N>>()
                    && let Ok(Value::Object(span_fields)) =
                        serde_json::from_str::<Value>(stored.as_str())
                {
                    fields.extend(span_fields);
                }
            }
        }
        event.record(&mut JsonVisitor(&mut fields));

        let message = match fields.remove("message") {
            Some(Value::String(message)) => message,
            Some(other) => other.to_string(),
            None => String::new(),
        };
        let log_type = match fields.remove(LOG_TYPE_FIELD) {
            Some(Value::String(log_type)) => log_type,
            _ => "app".to_owned(),
        };
        let metadata = event.metadata();
        let mut line = Map::new();
        line.insert(
            "timestamp".into(),
            Utc::now()
                .to_rfc3339_opts(SecondsFormat::Millis, true)
                .into(),
        );
        line.insert(
            "level".into(),
            metadata.level().as_str().to_ascii_lowercase().into(),
        );
        line.insert("type".into(), log_type.into());
        line.insert("service".into(), self.service.clone().into());
        line.insert("message".into(), message.into());
        line.insert("target".into(), metadata.target().into());
        for (key, value) in fields {
            line.entry(key).or_insert(value);
        }
        let text = serde_json::to_string(&Value::Object(line)).map_err(|_| fmt::Error)?;
        writeln!(writer, "{text}")
    }
}

struct JsonVisitor<'a>(&'a mut Map<String, Value>);

impl Visit for JsonVisitor<'_> {
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.0.insert(field.name().into(), value.into());
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().into(), value.into());
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().into(), value.into());
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().into(), value.into());
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().into(), value.into());
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        let mut chain = value.to_string();
        let mut source = value.source();
        while let Some(next) = source {
            chain.push_str(": ");
            chain.push_str(&next.to_string());
            source = next.source();
        }
        self.0.insert(field.name().into(), chain.into());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0
            .insert(field.name().into(), format!("{value:?}").into());
    }
}

//! Settings: one typed struct per component, loaded once at start.
//!
//! Sources, the later winning: built-in defaults (enough for a single box), a TOML file
//! (`--config PATH` or `TENET_CONFIG`), then environment variables `TENET_<SECTION>__<KEY>`,
//! then command-line flags such as `--http`. Unknown keys are refused with the key and where
//! it came from (`TENET_CONFIG` and the test suite's `TENET_TEST_*` are not settings). Every key is documented in `docs/configuration.md`.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use figment::Figment;
use figment::error::Kind;
use figment::providers::{Env, Format, Serialized, Toml};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize, Serializer};

/// The prefix of every environment variable Tenet reads.
pub const ENV_PREFIX: &str = "TENET_";

/// Every setting of the platform.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    /// The HTTP listener.
    pub http: HttpSettings,
    /// The ops database.
    pub database: DatabaseSettings,
    /// Local data (embedded mode).
    pub data: DataSettings,
    /// Logging.
    pub log: LogSettings,
    /// Dependency health checks.
    pub health: HealthSettings,
    /// Sign-in and sessions.
    pub auth: AuthSettings,
    /// The Kafka broker of the distributed mode.
    pub kafka: KafkaSettings,
    /// The lake writers and the upkeep of the tables they write.
    pub writer: WriterSettings,
    /// Files attached to tickets.
    pub attachments: AttachmentSettings,
    /// The watch on tickets' SLA clocks.
    pub sla: SlaSettings,
    /// Reports, exports and ad-hoc SQL over the lake.
    pub reports: ReportSettings,
}

/// `[http]`: the listener every HTTP target serves on.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpSettings {
    /// Address and port to listen on.
    pub addr: SocketAddr,
    /// Largest accepted request body, in bytes.
    pub body_limit_bytes: usize,
    /// A request still running after this long is answered 408.
    #[serde(with = "humantime_serde")]
    pub request_timeout: Duration,
    /// On SIGTERM/SIGINT, how long in-flight requests may take to finish.
    #[serde(with = "humantime_serde")]
    pub shutdown_grace: Duration,
    /// Take the client address from `X-Forwarded-For` (only behind a trusted proxy).
    pub trust_forwarded_for: bool,
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
            body_limit_bytes: 2 * 1024 * 1024,
            request_timeout: Duration::from_secs(30),
            shutdown_grace: Duration::from_secs(30),
            trust_forwarded_for: false,
        }
    }
}

/// `[database]`: the ops database.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseSettings {
    /// `postgres://…` or `sqlite://…`. Empty: a SQLite file in the data directory, which is
    /// what `tenet up` uses; `tenet serve` requires a URL.
    pub url: Secret,
    /// Upper bound on pooled connections per process.
    pub max_connections: u32,
    /// How long a query waits for a connection before failing.
    #[serde(with = "humantime_serde")]
    pub acquire_timeout: Duration,
    /// Apply pending migrations when a process starts.
    pub migrate_on_start: bool,
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        Self {
            url: Secret::default(),
            max_connections: 16,
            acquire_timeout: Duration::from_secs(5),
            migrate_on_start: true,
        }
    }
}

/// `[data]`: where the embedded mode keeps its files.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct DataSettings {
    /// The data directory: SQLite database, event log and lake.
    pub dir: PathBuf,
}

impl Default for DataSettings {
    fn default() -> Self {
        Self {
            dir: PathBuf::from("./tenet-data"),
        }
    }
}

/// `[attachments]`: where files attached to tickets are stored.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct AttachmentSettings {
    /// The object store: `file:///dir` or `s3://bucket/prefix` (configured by the `AWS_*`
    /// environment variables). Empty: `attachments/` in the data directory.
    pub url: String,
    /// The largest file accepted, in bytes.
    pub max_bytes: u64,
}

impl Default for AttachmentSettings {
    fn default() -> Self {
        Self {
            url: String::new(),
            max_bytes: 100 * 1024 * 1024,
        }
    }
}

/// `[sla]`: the watch on tickets' SLA clocks.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct SlaSettings {
    /// How often the API servers look for tickets past an SLA target, to notify whom the
    /// projects' `sla_breached` rules name; `0s` turns the watch off on this server.
    #[serde(with = "humantime_serde")]
    pub sweep_interval: Duration,
}

impl Default for SlaSettings {
    fn default() -> Self {
        Self {
            sweep_interval: Duration::from_secs(30),
        }
    }
}

/// `[reports]`: the memory of reports, exports and ad-hoc SQL over the lake.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReportSettings {
    /// The memory the aggregated reports and ad-hoc queries running at once may hold
    /// together; a query that needs more fails with an error naming the largest consumers.
    pub memory_limit_bytes: usize,
    /// The memory the listings running at once (detail reports and exports with a row per
    /// contact) may hold together; their sorts and aggregations spill to temporary files
    /// past their share of it.
    pub listing_memory_limit_bytes: usize,
}

impl Default for ReportSettings {
    fn default() -> Self {
        let reader = tenet_lakehouse::ReaderConfig::default();
        Self {
            memory_limit_bytes: reader.memory_limit_bytes,
            listing_memory_limit_bytes: reader.listing_memory_limit_bytes,
        }
    }
}

impl ReportSettings {
    /// How the lake is read with these limits.
    pub fn reader_config(&self) -> tenet_lakehouse::ReaderConfig {
        tenet_lakehouse::ReaderConfig {
            memory_limit_bytes: self.memory_limit_bytes,
            listing_memory_limit_bytes: self.listing_memory_limit_bytes,
            ..tenet_lakehouse::ReaderConfig::default()
        }
    }
}

/// `[log]`: what is logged and how.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogSettings {
    /// A filter in `tracing` syntax, e.g. `info` or `info,tenet_ops_api=debug`.
    pub level: String,
    /// `json` (one object per line, the default) or `text` (for a terminal).
    pub format: LogFormat,
    /// The `service` field of every line.
    pub service: String,
}

impl Default for LogSettings {
    fn default() -> Self {
        Self {
            level: "info,sqlx=warn,deltalake_core=warn,buoyant_kernel=off".to_owned(),
            format: LogFormat::Json,
            service: "tenet".to_owned(),
        }
    }
}

/// The shape of log lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// One JSON object per line.
    Json,
    /// Human-readable lines.
    Text,
}

/// `[health]`: dependency checks behind `/health/ready` and the health gauges.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct HealthSettings {
    /// A dependency that does not answer within this time counts as down.
    #[serde(with = "humantime_serde")]
    pub check_timeout: Duration,
    /// How often dependencies are checked in the background for the metrics.
    #[serde(with = "humantime_serde")]
    pub interval: Duration,
}

impl Default for HealthSettings {
    fn default() -> Self {
        Self {
            check_timeout: Duration::from_secs(2),
            interval: Duration::from_secs(10),
        }
    }
}

/// `[auth]`: sign-in and browser sessions.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthSettings {
    /// How long a browser session lasts after sign-in.
    #[serde(with = "humantime_serde")]
    pub session_lifetime: Duration,
    /// Mark the session cookie `Secure`: set it when users reach Tenet over HTTPS.
    pub secure_cookies: bool,
    /// Failed sign-ins in a row after which the account is locked.
    pub max_failed_logins: u32,
    /// How long a locked account stays locked.
    #[serde(with = "humantime_serde")]
    pub lockout: Duration,
}

impl Default for AuthSettings {
    fn default() -> Self {
        Self {
            session_lifetime: Duration::from_secs(12 * 3600),
            secure_cookies: false,
            max_failed_logins: 5,
            lockout: Duration::from_secs(15 * 60),
        }
    }
}

/// `[kafka]`: the broker that `tenet serve` targets `ingest`, `relay` and `writer` use.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct KafkaSettings {
    /// `bootstrap.servers`: comma-separated `host:port`. Required by the Kafka targets.
    pub brokers: String,
    /// Prefix of each client's `client.id` (shows in broker logs and quotas).
    pub client_id: String,
    /// The consumer group the lake writers share.
    pub group: String,
    /// Metadata, watermark, offset and admin requests fail after this long.
    #[serde(with = "humantime_serde")]
    pub request_timeout: Duration,
    /// How long an append waits for the broker's acknowledgement before failing.
    #[serde(with = "humantime_serde")]
    pub delivery_timeout: Duration,
    /// How long a topic's partition count is cached.
    #[serde(with = "humantime_serde")]
    pub metadata_max_age: Duration,
    /// Partitions of each event topic created at start when missing.
    pub topic_partitions: u32,
    /// Replication factor of the topics created at start.
    pub replication_factor: u16,
    /// Extra librdkafka properties for every client (security, tuning).
    pub properties: KafkaProperties,
}

impl Default for KafkaSettings {
    fn default() -> Self {
        Self {
            brokers: String::new(),
            client_id: "tenet".to_owned(),
            group: "tenet-lake-writer".to_owned(),
            request_timeout: Duration::from_secs(10),
            delivery_timeout: Duration::from_secs(20),
            metadata_max_age: Duration::from_secs(10),
            topic_partitions: 6,
            replication_factor: 1,
            properties: KafkaProperties::default(),
        }
    }
}

/// `[writer]`: the lake writers (in `tenet up`, and in `tenet serve` with the `writer`
/// target): when they flush, and how they look after the tables they write.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct WriterSettings {
    /// Flush once this many records are buffered.
    pub max_rows: usize,
    /// Flush once about this many payload bytes are buffered.
    pub max_bytes: usize,
    /// Flush once the oldest buffered record has waited this long.
    #[serde(with = "humantime_serde")]
    pub max_latency: Duration,
    /// At most this many records per read of one partition. A writer reads once from each of
    /// its partitions before it decides to flush.
    pub read_max_records: usize,
    /// Checkpoint a table's Delta log each time its version crosses a multiple of this; 0:
    /// never.
    pub checkpoint_interval: u64,
    /// How often each table is looked at for small files to compact; `0s`: never.
    #[serde(with = "humantime_serde")]
    pub compaction_interval: Duration,
    /// A date partition is compacted once it holds this many small files.
    pub compaction_min_files: usize,
    /// Files smaller than this, in bytes, are small; compaction merges them into files of
    /// about this size.
    pub compaction_target_file_size: u64,
    /// How often each table's files that it no longer references are looked for and
    /// deleted; `0s`: never.
    #[serde(with = "humantime_serde")]
    pub vacuum_interval: Duration,
    /// How long a data file stays on storage after the table stopped referencing it (the
    /// oldest table version a reader can still open): from 1 hour to 7 days.
    #[serde(with = "vacuum_retention")]
    pub vacuum_retention: Duration,
}

/// `writer.vacuum_retention`, a duration refused outside its bounds at load.
mod vacuum_retention {
    use std::time::Duration;

    use serde::de::Error as _;
    use serde::{Deserializer, Serializer};
    use tenet_ingest::writer::maintenance::{MAX_VACUUM_RETENTION, MIN_VACUUM_RETENTION};

    pub fn serialize<S: Serializer>(
        retention: &Duration,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        humantime_serde::serialize(retention, serializer)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
        let retention: Duration = humantime_serde::deserialize(deserializer)?;
        if !(MIN_VACUUM_RETENTION..=MAX_VACUUM_RETENTION).contains(&retention) {
            // Shorter could delete a file a running query or a writer's pending commit
            // needs; longer than the tables' deleted-file retention, their checkpoints no
            // longer tell a removed file from an orphan.
            return Err(D::Error::custom(
                "must be from 1h to 7days: the oldest table version readers may still open",
            ));
        }
        Ok(retention)
    }
}

impl Default for WriterSettings {
    fn default() -> Self {
        let flush = tenet_ingest::FlushPolicy::default();
        let maintenance = tenet_ingest::MaintenancePolicy::default();
        let family = tenet_ingest::LakeWriterConfig::new(tenet_events::EventFamily::Calls);
        Self {
            max_rows: flush.max_rows,
            max_bytes: flush.max_bytes,
            max_latency: flush.max_latency,
            read_max_records: family.read_max_records,
            checkpoint_interval: maintenance.checkpoint_every.map_or(0, |every| every.get()),
            compaction_interval: maintenance.compact_every.unwrap_or_default(),
            compaction_min_files: maintenance.compaction.min_files,
            compaction_target_file_size: maintenance.compaction.target_file_size,
            vacuum_interval: maintenance.vacuum_every.unwrap_or_default(),
            vacuum_retention: maintenance.vacuum_retention,
        }
    }
}

impl WriterSettings {
    /// When the writers flush.
    pub fn flush_policy(&self) -> tenet_ingest::FlushPolicy {
        tenet_ingest::FlushPolicy {
            max_rows: self.max_rows,
            max_bytes: self.max_bytes,
            max_latency: self.max_latency,
        }
    }

    /// How the writers look after their tables.
    pub fn maintenance_policy(&self) -> tenet_ingest::MaintenancePolicy {
        tenet_ingest::MaintenancePolicy {
            checkpoint_every: std::num::NonZeroU64::new(self.checkpoint_interval),
            compact_every: Some(self.compaction_interval).filter(|every| !every.is_zero()),
            compaction: tenet_lakehouse::compaction::CompactionPolicy {
                min_files: self.compaction_min_files,
                target_file_size: self.compaction_target_file_size,
            },
            vacuum_every: Some(self.vacuum_interval).filter(|every| !every.is_zero()),
            vacuum_retention: self.vacuum_retention,
        }
    }
}

/// Extra librdkafka properties. `_` in a key stands for `.`, so that environment variables
/// can name them (`TENET_KAFKA__PROPERTIES__SECURITY_PROTOCOL`); values of keys that hold
/// credentials are redacted when shown.
#[derive(Clone, Default, Deserialize)]
#[serde(transparent)]
pub struct KafkaProperties(BTreeMap<String, PropertyValue>);

/// A property value: librdkafka takes strings, the TOML file and the environment may give
/// numbers and booleans.
#[derive(Clone, Deserialize)]
#[serde(untagged)]
pub enum PropertyValue {
    /// A string.
    Text(String),
    /// An integer.
    Integer(i64),
    /// A fraction.
    Float(f64),
    /// A boolean.
    Flag(bool),
}

impl fmt::Display for PropertyValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PropertyValue::Text(text) => f.write_str(text),
            PropertyValue::Integer(value) => value.fmt(f),
            PropertyValue::Float(value) => value.fmt(f),
            PropertyValue::Flag(value) => value.fmt(f),
        }
    }
}

impl KafkaProperties {
    /// The properties as librdkafka names them (`.` for `_`), with their values.
    pub fn to_librdkafka(&self) -> BTreeMap<String, String> {
        self.0
            .iter()
            .map(|(key, value)| (key.replace('_', "."), value.to_string()))
            .collect()
    }

    fn is_secret(key: &str) -> bool {
        let key = key.replace('_', ".");
        key.contains("password")
            || key.contains("secret")
            || key.ends_with(".pem")
            || key.starts_with("sasl.jaas")
            || key == "sasl.oauthbearer.config"
    }

    fn shown(&self) -> BTreeMap<String, String> {
        self.to_librdkafka()
            .into_iter()
            .map(|(key, value)| {
                let value = if Self::is_secret(&key) {
                    "[redacted]".to_owned()
                } else {
                    value
                };
                (key, value)
            })
            .collect()
    }
}

impl fmt::Debug for KafkaProperties {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.shown().fmt(f)
    }
}

impl Serialize for KafkaProperties {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.shown().serialize(serializer)
    }
}

/// A secret setting: never printed, serialized as `[redacted]` unless empty.
#[derive(Clone, Default, Deserialize)]
#[serde(transparent)]
pub struct Secret(SecretString);

impl Secret {
    /// The secret, for the one place that needs it.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }

    /// Whether no value was set.
    pub fn is_empty(&self) -> bool {
        self.expose().is_empty()
    }

    /// The value as a [`SecretString`].
    pub fn to_secret_string(&self) -> SecretString {
        self.0.clone()
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self(SecretString::from(value))
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.is_empty() {
            "\"\""
        } else {
            "[redacted]"
        })
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(if self.is_empty() { "" } else { "[redacted]" })
    }
}

/// Command-line flags that override a setting (the flag wins over file and environment).
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    /// `--http ADDR`.
    pub http_addr: Option<SocketAddr>,
    /// `--data-dir DIR`.
    pub data_dir: Option<PathBuf>,
}

/// Why the settings could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The configuration file named by `--config` or `TENET_CONFIG` does not exist.
    #[error("configuration file {0} does not exist")]
    MissingFile(PathBuf),
    /// One or more settings are unknown or invalid; each line names the key and its source.
    #[error("invalid configuration:\n{0}")]
    Invalid(String),
}

impl Settings {
    /// Loads the settings from the defaults, `file`, the process environment and `overrides`.
    ///
    /// # Errors
    /// [`ConfigError::MissingFile`] when `file` does not exist, [`ConfigError::Invalid`] for
    /// unknown keys and values of the wrong type.
    pub fn load(file: Option<&Path>, overrides: &Overrides) -> Result<Self, ConfigError> {
        let mut figment = Figment::new();
        if let Some(file) = file {
            if !file.is_file() {
                return Err(ConfigError::MissingFile(file.to_owned()));
            }
            figment = figment.merge(Toml::file_exact(file));
        }
        // `TENET_CONFIG` names the file; `TENET_TEST_*` belongs to the test suite.
        let settings_env = Env::prefixed(ENV_PREFIX)
            .filter(|key| *key != "config" && !key.starts_with("test_"))
            .split("__");
        figment = figment.merge(settings_env);
        if let Some(addr) = overrides.http_addr {
            figment = figment.merge(Serialized::default("http.addr", addr.to_string()));
        }
        if let Some(dir) = &overrides.data_dir {
            figment = figment.merge(Serialized::default("data.dir", dir));
        }
        figment
            .extract()
            .map_err(|error| ConfigError::Invalid(describe(error)))
    }

    /// The effective settings as `section.key = value` lines, secrets redacted.
    pub fn show(&self) -> String {
        let table = toml::Table::try_from(self).expect("settings serialize to a TOML table");
        let mut lines = Vec::new();
        for (section, values) in &table {
            match values {
                toml::Value::Table(values) => {
                    for (key, value) in values {
                        lines.push(format!("{section}.{key} = {value}"));
                    }
                }
                value => lines.push(format!("{section} = {value}")),
            }
        }
        lines.join("\n")
    }
}

/// One line per error: the dotted key, what is wrong, and the source (file or variable).
fn describe(error: figment::Error) -> String {
    error
        .into_iter()
        .map(|error| {
            let path = &error.path;
            let problem = match &error.kind {
                Kind::UnknownField(_, expected) => {
                    format!("unknown key (expected one of: {})", expected.join(", "))
                }
                other => other.to_string(),
            };
            let key = path.join(".");
            let source = match &error.metadata {
                Some(metadata) if metadata.name.contains("environment") => format!(
                    "environment variable {ENV_PREFIX}{}",
                    path.iter()
                        .map(|part| part.to_ascii_uppercase())
                        .collect::<Vec<_>>()
                        .join("__")
                ),
                Some(metadata) => match &metadata.source {
                    Some(figment::Source::File(file)) => format!("file {}", file.display()),
                    _ => metadata.name.to_string(),
                },
                None => "defaults".to_owned(),
            };
            format!("  {key}: {problem} (from {source})")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_redacted_when_shown() {
        let mut settings = Settings::default();
        settings.database.url = Secret::from("postgres://app:hunter2@db/tenet".to_owned());
        let shown = settings.show();
        assert!(shown.contains("database.url = \"[redacted]\""), "{shown}");
        assert!(!shown.contains("hunter2"));
        assert!(!format!("{settings:?}").contains("hunter2"));
    }

    #[test]
    fn show_lists_every_key_with_its_section() {
        let shown = Settings::default().show();
        for key in [
            "http.addr = \"127.0.0.1:8080\"",
            "http.request_timeout = \"30s\"",
            "database.max_connections = 16",
            "data.dir = \"./tenet-data\"",
            "log.format = \"json\"",
            "health.check_timeout = \"2s\"",
            "kafka.group = \"tenet-lake-writer\"",
            "kafka.delivery_timeout = \"20s\"",
            "writer.max_latency = \"5s\"",
            "writer.checkpoint_interval = 100",
            "writer.compaction_interval = \"10m\"",
            "writer.vacuum_interval = \"1h\"",
            "writer.vacuum_retention = \"7days\"",
        ] {
            assert!(
                shown.lines().any(|line| line == key),
                "missing {key} in\n{shown}"
            );
        }
    }

    #[test]
    fn writer_settings_become_the_flush_and_maintenance_policies() {
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(
            file.path(),
            "[writer]\nmax_rows = 500\nmax_latency = \"1s\"\ncheckpoint_interval = 0\ncompaction_interval = \"30s\"\ncompaction_min_files = 4\nvacuum_interval = \"0s\"\nvacuum_retention = \"2days\"\n",
        )
        .unwrap();

        let settings = Settings::load(Some(file.path()), &Overrides::default()).unwrap();

        let flush = settings.writer.flush_policy();
        assert_eq!(flush.max_rows, 500);
        assert_eq!(flush.max_latency, Duration::from_secs(1));
        let maintenance = settings.writer.maintenance_policy();
        assert_eq!(
            maintenance.checkpoint_every, None,
            "0 turns checkpoints off"
        );
        assert_eq!(maintenance.compact_every, Some(Duration::from_secs(30)));
        assert_eq!(maintenance.compaction.min_files, 4);
        assert_eq!(maintenance.vacuum_every, None, "0s turns vacuum off");
        assert_eq!(
            maintenance.vacuum_retention,
            Duration::from_secs(2 * 24 * 3600)
        );
        let defaults = WriterSettings::default().maintenance_policy();
        assert_eq!(defaults, tenet_ingest::MaintenancePolicy::default());
    }

    #[test]
    fn a_vacuum_retention_outside_its_bounds_is_refused_by_name() {
        for retention in ["10m", "30days"] {
            let file = tempfile::NamedTempFile::new().unwrap();
            std::fs::write(
                file.path(),
                format!("[writer]\nvacuum_retention = \"{retention}\"\n"),
            )
            .unwrap();

            let error = Settings::load(Some(file.path()), &Overrides::default())
                .unwrap_err()
                .to_string();

            assert!(error.contains("writer.vacuum_retention"), "{error}");
            assert!(error.contains("from 1h to 7days"), "{error}");
        }
    }

    #[test]
    fn kafka_properties_use_librdkafka_names_and_hide_credentials() {
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(
            file.path(),
            "[kafka.properties]\nsecurity_protocol = \"SASL_SSL\"\n\"sasl.password\" = \"hunter2\"\n\"linger.ms\" = 10\n",
        )
        .unwrap();

        let settings = Settings::load(Some(file.path()), &Overrides::default()).unwrap();

        let properties = settings.kafka.properties.to_librdkafka();
        assert_eq!(properties["security.protocol"], "SASL_SSL");
        assert_eq!(properties["sasl.password"], "hunter2");
        assert_eq!(properties["linger.ms"], "10");
        let shown = settings.show();
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("[redacted]"), "{shown}");
        assert!(!format!("{settings:?}").contains("hunter2"));
    }
}

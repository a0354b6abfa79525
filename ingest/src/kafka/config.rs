//! How Tenet talks to Kafka: the settings it takes and the librdkafka properties it derives.
//!
//! Some properties are what the event log's guarantees rest on (an idempotent producer
//! acknowledged by every in-sync replica; readers that never jump over records they were
//! asked for; no offsets committed behind the lake writer's back). Those are fixed here, and
//! an extra property that contradicts one is refused at start with its name, rather than
//! quietly weakening a guarantee.

use std::collections::BTreeMap;
use std::time::Duration;

use rdkafka::ClientConfig;

/// The settings of a [`KafkaLog`](super::KafkaLog).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KafkaConfig {
    /// `bootstrap.servers`: comma-separated `host:port` list.
    pub brokers: String,
    /// `client.id` prefix; each client adds its role (`-producer`, `-reader`, ...).
    pub client_id: String,
    /// Extra librdkafka properties (security, tuning), applied to every client.
    pub properties: BTreeMap<String, String>,
    /// Metadata, watermark, offset-commit and admin requests fail after this long.
    pub request_timeout: Duration,
    /// `message.timeout.ms`: how long an append waits for the broker's acknowledgement
    /// (retries included) before it fails.
    pub delivery_timeout: Duration,
    /// How long a topic's partition count is cached before it is fetched again.
    pub metadata_max_age: Duration,
    /// Partitions of each topic that [`KafkaLog::ensure_topics`](super::KafkaLog::ensure_topics)
    /// creates.
    pub topic_partitions: u32,
    /// Replication factor of the topics it creates.
    pub replication_factor: u16,
}

impl KafkaConfig {
    /// The defaults for the given brokers.
    pub fn new(brokers: impl Into<String>) -> Self {
        Self {
            brokers: brokers.into(),
            client_id: "tenet".to_owned(),
            properties: BTreeMap::new(),
            request_timeout: Duration::from_secs(10),
            delivery_timeout: Duration::from_secs(20),
            metadata_max_age: Duration::from_secs(10),
            topic_partitions: 6,
            replication_factor: 1,
        }
    }
}

/// An extra property that contradicts what the log relies on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("kafka property `{key}` = `{given}` is not allowed: {role} needs `{required}`")]
pub struct FixedProperty {
    /// The property.
    pub key: String,
    /// What was configured.
    pub given: String,
    /// What the log needs.
    pub required: String,
    /// Which client needs it.
    pub role: &'static str,
}

/// The kind of client a configuration is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientRole {
    /// The producer behind `append`.
    Producer,
    /// A consumer assigned to one partition and positioned by offset (lake writer reads).
    Reader,
    /// The consumer-group member that only receives partition assignments.
    GroupMember,
    /// A consumer that commits and reads a group's offsets without joining it.
    Committer,
    /// Topic administration and metadata.
    Admin,
}

impl ClientRole {
    fn name(self) -> &'static str {
        match self {
            ClientRole::Producer => "the producer",
            ClientRole::Reader => "the partition reader",
            ClientRole::GroupMember => "the consumer-group member",
            ClientRole::Committer => "the offset committer",
            ClientRole::Admin => "the admin client",
        }
    }

    fn suffix(self) -> &'static str {
        match self {
            ClientRole::Producer => "producer",
            ClientRole::Reader => "reader",
            ClientRole::GroupMember => "member",
            ClientRole::Committer => "committer",
            ClientRole::Admin => "admin",
        }
    }

    /// The properties this role cannot work without.
    fn fixed(self) -> &'static [(&'static str, &'static str)] {
        match self {
            // Idempotence with acks=all: a retried send is never stored twice or out of
            // order, and an acknowledged record survives the loss of the leader.
            ClientRole::Producer => &[
                ("enable.idempotence", "true"),
                ("acks", "all"),
                // Topics come from `ensure_topics` with the configured partition count, never
                // from a broker default because a metadata request named a missing topic.
                ("allow.auto.create.topics", "false"),
            ],
            // A reader is told where to start; it must fail rather than jump elsewhere, and
            // must not commit: the lake's Delta log holds the offsets that count.
            ClientRole::Reader => &[
                ("enable.auto.commit", "false"),
                ("enable.auto.offset.store", "false"),
                ("auto.offset.reset", "error"),
                ("allow.auto.create.topics", "false"),
            ],
            // Cooperative-sticky moves only the partitions that must move, so a writer that
            // keeps a partition keeps its buffered rows across a rebalance.
            ClientRole::GroupMember => &[
                ("partition.assignment.strategy", "cooperative-sticky"),
                ("enable.auto.commit", "false"),
                ("enable.auto.offset.store", "false"),
                ("allow.auto.create.topics", "false"),
            ],
            ClientRole::Committer => &[
                ("enable.auto.commit", "false"),
                ("enable.auto.offset.store", "false"),
            ],
            ClientRole::Admin => &[],
        }
    }
}

/// The librdkafka properties of a client of `role`: the fixed ones, then the configured
/// extras, then the settings-derived ones.
///
/// # Errors
///
/// [`FixedProperty`] when an extra property contradicts one the role needs.
pub fn client_properties(
    config: &KafkaConfig,
    role: ClientRole,
) -> Result<BTreeMap<String, String>, FixedProperty> {
    let mut properties = BTreeMap::new();
    properties.insert("bootstrap.servers".to_owned(), config.brokers.clone());
    properties.insert(
        "client.id".to_owned(),
        format!("{}-{}", config.client_id, role.suffix()),
    );
    let millis = |duration: Duration| duration.as_millis().max(1).to_string();
    match role {
        ClientRole::Producer => {
            properties.insert(
                "message.timeout.ms".to_owned(),
                millis(config.delivery_timeout),
            );
            // Appends are acknowledged batches: linger a little so concurrent appends share
            // a produce request.
            properties.insert("linger.ms".to_owned(), "5".to_owned());
        }
        ClientRole::Reader => {
            // librdkafka only assigns partitions to a consumer with a group. This one is never
            // joined and never committed to: it just makes `assign` legal.
            properties.insert(
                "group.id".to_owned(),
                format!("{}-readers", config.client_id),
            );
            // A caught-up reader should see a new record within a tenth of a second, not the
            // default half second, to keep the lake fresh.
            properties.insert("fetch.wait.max.ms".to_owned(), "100".to_owned());
            // One reader per partition: bound the prefetch so idle ones stay small.
            properties.insert("queued.max.messages.kbytes".to_owned(), "16384".to_owned());
            properties.insert("enable.partition.eof".to_owned(), "false".to_owned());
        }
        ClientRole::GroupMember | ClientRole::Committer | ClientRole::Admin => {}
    }
    for (key, value) in &config.properties {
        properties.insert(key.clone(), value.clone());
    }
    for (key, required) in role.fixed() {
        if let Some(given) = config.properties.get(*key)
            && !given.eq_ignore_ascii_case(required)
            && !(*key == "acks" && given == "-1")
        {
            return Err(FixedProperty {
                key: (*key).to_owned(),
                given: given.clone(),
                required: (*required).to_owned(),
                role: role.name(),
            });
        }
        properties.insert((*key).to_owned(), (*required).to_owned());
    }
    Ok(properties)
}

/// A librdkafka configuration for a client of `role`.
///
/// # Errors
///
/// [`FixedProperty`], see [`client_properties`].
pub fn client_config(
    config: &KafkaConfig,
    role: ClientRole,
) -> Result<ClientConfig, FixedProperty> {
    let mut client = ClientConfig::new();
    for (key, value) in client_properties(config, role)? {
        client.set(key, value);
    }
    Ok(client)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_producer_is_idempotent_and_waits_for_every_replica() {
        let config = KafkaConfig::new("127.0.0.1:9092");

        let properties = client_properties(&config, ClientRole::Producer).unwrap();

        assert_eq!(properties["enable.idempotence"], "true");
        assert_eq!(properties["acks"], "all");
        assert_eq!(properties["message.timeout.ms"], "20000");
        assert_eq!(properties["bootstrap.servers"], "127.0.0.1:9092");
        assert_eq!(properties["client.id"], "tenet-producer");
    }

    #[test]
    fn extra_properties_reach_every_client() {
        let mut config = KafkaConfig::new("b:9092");
        config
            .properties
            .insert("security.protocol".to_owned(), "SASL_SSL".to_owned());
        config
            .properties
            .insert("fetch.wait.max.ms".to_owned(), "50".to_owned());

        let reader = client_properties(&config, ClientRole::Reader).unwrap();
        let admin = client_properties(&config, ClientRole::Admin).unwrap();

        assert_eq!(reader["security.protocol"], "SASL_SSL");
        assert_eq!(
            reader["fetch.wait.max.ms"], "50",
            "tuning overrides a default"
        );
        assert_eq!(admin["security.protocol"], "SASL_SSL");
    }

    #[test]
    fn a_property_that_weakens_a_guarantee_is_refused_by_name() {
        let mut config = KafkaConfig::new("b:9092");
        config.properties.insert("acks".to_owned(), "1".to_owned());

        let error = client_properties(&config, ClientRole::Producer).unwrap_err();

        assert_eq!(error.key, "acks");
        assert_eq!(error.given, "1");
        assert_eq!(error.required, "all");
        assert!(error.to_string().contains("the producer"), "{error}");
    }

    #[test]
    fn restating_a_fixed_property_is_accepted() {
        let mut config = KafkaConfig::new("b:9092");
        config.properties.insert("acks".to_owned(), "-1".to_owned());
        config
            .properties
            .insert("enable.idempotence".to_owned(), "TRUE".to_owned());

        let properties = client_properties(&config, ClientRole::Producer).unwrap();

        assert_eq!(properties["acks"], "all");
    }

    #[test]
    fn group_members_use_cooperative_sticky_assignment_and_readers_never_reset() {
        let config = KafkaConfig::new("b:9092");

        let member = client_properties(&config, ClientRole::GroupMember).unwrap();
        let reader = client_properties(&config, ClientRole::Reader).unwrap();

        assert_eq!(
            member["partition.assignment.strategy"],
            "cooperative-sticky"
        );
        assert_eq!(reader["auto.offset.reset"], "error");
        assert_eq!(reader["enable.auto.commit"], "false");

        let mut config = KafkaConfig::new("b:9092");
        config.properties.insert(
            "partition.assignment.strategy".to_owned(),
            "range".to_owned(),
        );
        // The producer does not care; the group member refuses.
        assert!(client_properties(&config, ClientRole::Producer).is_ok());
        assert!(client_properties(&config, ClientRole::GroupMember).is_err());
    }
}

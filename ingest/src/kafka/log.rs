//! [`KafkaLog`]: the [`EventLog`] of the distributed mode, on a Kafka-protocol broker.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use futures::FutureExt as _;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header as KafkaHeader, OwnedHeaders};
use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord, Producer};
use rdkafka::topic_partition_list::TopicPartitionList;
use tracing::{info, instrument};

use super::config::{ClientRole, FixedProperty, KafkaConfig, client_config};
use super::group::GroupMember;
use super::reader::{PartitionReader, partition_index, stored_record};
use crate::log::{
    EventLog, GroupId, LogError, Offset, OffsetRange, ReadLimits, Record, RecordPosition,
    StoredRecord, TopicName, TopicPartition, partition_for_key,
};

/// librdkafka's default `message.max.bytes`.
const DEFAULT_MAX_MESSAGE_BYTES: usize = 1_000_000;

/// Why a [`KafkaLog`] could not be created.
#[derive(Debug, thiserror::Error)]
pub enum KafkaSetupError {
    /// An extra property contradicts a guarantee.
    #[error(transparent)]
    Property(#[from] FixedProperty),
    /// librdkafka refused the configuration.
    #[error("kafka client configuration: {0}")]
    Client(#[from] KafkaError),
}

/// The event log on Kafka: one topic per event family, records keyed by tenant.
///
/// - **Append** goes through one idempotent producer (`acks=all`) and returns once the
///   broker acknowledged every record, so the gateway's 2xx and the relay's "published" mean
///   durable. A record goes to partition [`partition_for_key`] of its key, the same choice
///   the embedded log makes, so a tenant's events keep their order in either mode.
/// - **Read** uses one consumer per partition, assigned (not subscribed) and positioned at
///   the offset the caller asks for: the lake writer's positions come from its Delta log.
/// - **Commit** writes consumer-group offsets for lag tooling, through the process's group
///   member when it joined the group ([`KafkaLog::join_group`]) so the commit carries its
///   generation, otherwise through a standalone committer.
pub struct KafkaLog {
    config: KafkaConfig,
    /// Replaced when librdkafka reports a fatal error, after which a producer accepts
    /// nothing more.
    producer: Mutex<FutureProducer>,
    admin: AdminClient<DefaultClientContext>,
    max_message_bytes: usize,
    partition_counts: Mutex<HashMap<TopicName, (u32, Instant)>>,
    readers: Mutex<HashMap<TopicPartition, Arc<PartitionReader>>>,
    members: Mutex<HashMap<GroupId, Arc<GroupMember>>>,
    committers: Mutex<HashMap<GroupId, Arc<BaseConsumer>>>,
}

impl std::fmt::Debug for KafkaLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KafkaLog")
            .field("brokers", &self.config.brokers)
            .finish_non_exhaustive()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn broker(context: impl Into<String>) -> impl FnOnce(KafkaError) -> LogError {
    let context = context.into();
    move |source| LogError::Broker { context, source }
}

/// Runs a blocking librdkafka call (metadata, watermarks, commits) off the async workers.
async fn blocking<T: Send + 'static>(
    context: &str,
    work: impl FnOnce() -> Result<T, KafkaError> + Send + 'static,
) -> Result<T, LogError> {
    match tokio::task::spawn_blocking(work).await {
        Ok(outcome) => outcome.map_err(broker(context)),
        Err(_) => Err(LogError::Broker {
            context: context.to_owned(),
            source: KafkaError::Canceled,
        }),
    }
}

/// Waits for the broker's acknowledgement of one record.
async fn acknowledged(
    topic: &TopicName,
    delivery: DeliveryFuture,
) -> Result<RecordPosition, LogError> {
    match delivery.await {
        Ok(Ok(delivery)) => Ok(RecordPosition {
            partition: u32::try_from(delivery.partition).unwrap_or_default(),
            offset: Offset(u64::try_from(delivery.offset).unwrap_or_default()),
        }),
        Ok(Err((error, _))) => Err(broker(format!("produce to `{topic}`"))(error)),
        Err(_) => Err(LogError::Closed),
    }
}

impl KafkaLog {
    /// Creates the producer and admin clients. Nothing is sent to the brokers yet:
    /// connecting happens in the background, and an unreachable broker shows in
    /// [`KafkaLog::check`] and in failing appends.
    ///
    /// # Errors
    ///
    /// [`KafkaSetupError`] for a property that contradicts a guarantee or that librdkafka
    /// does not accept.
    pub fn new(config: KafkaConfig) -> Result<Self, KafkaSetupError> {
        let producer: FutureProducer = client_config(&config, ClientRole::Producer)?.create()?;
        let admin: AdminClient<DefaultClientContext> =
            client_config(&config, ClientRole::Admin)?.create()?;
        // Check the other roles' properties now, not on the first read.
        for role in [
            ClientRole::Reader,
            ClientRole::GroupMember,
            ClientRole::Committer,
        ] {
            client_config(&config, role)?;
        }
        let max_message_bytes = config
            .properties
            .get("message.max.bytes")
            .and_then(|value| value.parse().ok())
            .unwrap_or(DEFAULT_MAX_MESSAGE_BYTES);
        Ok(Self {
            config,
            producer: Mutex::new(producer),
            admin,
            max_message_bytes,
            partition_counts: Mutex::new(HashMap::new()),
            readers: Mutex::new(HashMap::new()),
            members: Mutex::new(HashMap::new()),
            committers: Mutex::new(HashMap::new()),
        })
    }

    /// The settings this log runs with.
    pub fn config(&self) -> &KafkaConfig {
        &self.config
    }

    /// Succeeds when a broker answers a metadata request within the request timeout: the
    /// readiness check of every target that uses Kafka.
    ///
    /// # Errors
    ///
    /// [`LogError::Broker`] naming why no broker answered.
    pub async fn check(&self) -> Result<(), LogError> {
        let producer = self.producer();
        let timeout = self.config.request_timeout;
        blocking("metadata", move || {
            producer.client().fetch_metadata(None, timeout).map(|_| ())
        })
        .await
    }

    /// Creates the topics that do not exist yet, with the configured partition count and
    /// replication factor; existing topics are left as they are.
    ///
    /// # Errors
    ///
    /// [`LogError::Broker`] when the broker refuses or does not answer.
    #[instrument(skip_all)]
    pub async fn ensure_topics(&self, topics: &[TopicName]) -> Result<(), LogError> {
        // Only the missing ones: a cluster may refuse topic creation to applications (or not
        // implement it) while the topics exist.
        let producer = self.producer();
        let timeout = self.config.request_timeout;
        let metadata = blocking("metadata", move || {
            producer.client().fetch_metadata(None, timeout)
        })
        .await?;
        let existing: std::collections::HashSet<String> = metadata
            .topics()
            .iter()
            .filter(|found| found.error().is_none() && !found.partitions().is_empty())
            .map(|found| found.name().to_owned())
            .collect();
        let partitions = i32::try_from(self.config.topic_partitions).unwrap_or(i32::MAX);
        let replication = i32::from(self.config.replication_factor);
        let new: Vec<NewTopic<'_>> = topics
            .iter()
            .filter(|topic| !existing.contains(topic.as_str()))
            .map(|topic| {
                NewTopic::new(
                    topic.as_str(),
                    partitions,
                    TopicReplication::Fixed(replication),
                )
            })
            .collect();
        if new.is_empty() {
            return Ok(());
        }
        let options = AdminOptions::new().operation_timeout(Some(self.config.request_timeout));
        let results = self
            .admin
            .create_topics(&new, &options)
            .await
            .map_err(broker("create topics"))?;
        for result in results {
            match result {
                Ok(topic) => info!(%topic, partitions, "created topic"),
                Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
                Err((topic, code)) => {
                    return Err(LogError::Broker {
                        context: format!("create topic `{topic}`"),
                        source: KafkaError::AdminOp(code),
                    });
                }
            }
        }
        Ok(())
    }

    /// Joins consumer group `group` for `topics` with the cooperative-sticky assignor; from
    /// then on [`EventLog::assigned`] reports the partitions this process holds, and commits
    /// for the group go through the member. Joining a group already joined does nothing.
    ///
    /// # Errors
    ///
    /// [`LogError::Broker`] when the consumer cannot be created or subscribed.
    pub fn join_group(&self, group: &GroupId, topics: &[TopicName]) -> Result<(), LogError> {
        let mut members = lock(&self.members);
        if members.contains_key(group) {
            return Ok(());
        }
        let config = self.role_config(ClientRole::GroupMember);
        let member = GroupMember::join(config, group, topics)
            .map_err(broker(format!("join consumer group `{group}`")))?;
        members.insert(group.clone(), Arc::new(member));
        Ok(())
    }

    /// Leaves `group`: its partitions go to the other members at once, without waiting
    /// for the session to time out.
    pub async fn leave_group(&self, group: &GroupId) {
        let member = lock(&self.members).remove(group);
        if let Some(member) = member {
            // Closing the consumer waits for the group to acknowledge; keep it off the
            // async workers.
            let _ = tokio::task::spawn_blocking(move || drop(member)).await;
        }
    }

    fn producer(&self) -> FutureProducer {
        lock(&self.producer).clone()
    }

    /// After a fatal producer error (an idempotence sequence the broker can no longer
    /// accept) the producer refuses every record; a new one starts a new producer id, and
    /// the records of the failed append are retried by the caller (at-least-once, with
    /// duplicates dropped by event id in the lake).
    fn replace_producer_after_fatal_error(&self) {
        let mut producer = lock(&self.producer);
        let Some((code, reason)) = producer.client().fatal_error() else {
            return;
        };
        match self.role_config(ClientRole::Producer).create() {
            Ok(fresh) => {
                tracing::error!(?code, %reason, "the Kafka producer failed fatally; replaced it");
                *producer = fresh;
            }
            Err(error) => {
                tracing::error!(?code, %reason, %error, "the Kafka producer failed fatally and cannot be replaced");
            }
        }
    }

    fn role_config(&self, role: ClientRole) -> rdkafka::ClientConfig {
        client_config(&self.config, role)
            .expect("every role's properties were checked when the log was created")
    }

    async fn fetch_partition_count(&self, topic: &TopicName) -> Result<u32, LogError> {
        let producer = self.producer();
        let timeout = self.config.request_timeout;
        let name = topic.clone();
        let metadata = blocking("metadata", move || {
            producer
                .client()
                .fetch_metadata(Some(name.as_str()), timeout)
        })
        .await?;
        let Some(found) = metadata
            .topics()
            .iter()
            .find(|found| found.name() == topic.as_str())
        else {
            return Err(LogError::UnknownTopic(topic.clone()));
        };
        if found.error().is_some() || found.partitions().is_empty() {
            return Err(LogError::UnknownTopic(topic.clone()));
        }
        Ok(u32::try_from(found.partitions().len()).unwrap_or(u32::MAX))
    }

    fn reader(&self, partition: &TopicPartition) -> Result<Arc<PartitionReader>, LogError> {
        let mut readers = lock(&self.readers);
        if let Some(reader) = readers.get(partition) {
            return Ok(reader.clone());
        }
        let consumer = self
            .role_config(ClientRole::Reader)
            .create()
            .map_err(broker(format!("reader of {partition}")))?;
        let reader = Arc::new(PartitionReader::new(consumer));
        readers.insert(partition.clone(), reader.clone());
        Ok(reader)
    }

    fn committer(&self, group: &GroupId) -> Result<CommitThrough, LogError> {
        if let Some(member) = lock(&self.members).get(group) {
            return Ok(CommitThrough::Member(member.consumer()));
        }
        let mut committers = lock(&self.committers);
        if let Some(consumer) = committers.get(group) {
            return Ok(CommitThrough::Standalone(consumer.clone()));
        }
        let mut config = self.role_config(ClientRole::Committer);
        config.set("group.id", group.as_str());
        let consumer: Arc<BaseConsumer> = Arc::new(
            config
                .create()
                .map_err(broker(format!("committer of group `{group}`")))?,
        );
        committers.insert(group.clone(), consumer.clone());
        Ok(CommitThrough::Standalone(consumer))
    }

    /// Queues every record, then waits for every acknowledgement, so one append costs about
    /// one round trip however many records it holds.
    async fn deliver(
        &self,
        topic: &TopicName,
        records: &[Record],
        count: u32,
    ) -> Result<Vec<RecordPosition>, LogError> {
        let producer = self.producer();
        let mut in_flight: VecDeque<DeliveryFuture> = VecDeque::with_capacity(records.len());
        let mut positions = Vec::with_capacity(records.len());
        for record in records {
            let size = record.key.len()
                + record.value.len()
                + record
                    .headers
                    .iter()
                    .map(|header| header.name.len() + header.value.len())
                    .sum::<usize>();
            if size > self.max_message_bytes {
                return Err(LogError::RecordTooLarge {
                    size,
                    limit: self.max_message_bytes,
                });
            }
            let headers = record.headers.iter().fold(
                OwnedHeaders::new_with_capacity(record.headers.len()),
                |headers, header| {
                    headers.insert(KafkaHeader {
                        key: &header.name,
                        value: Some(&header.value),
                    })
                },
            );
            let mut pending = FutureRecord::to(topic.as_str())
                .key(&record.key)
                .payload(&record.value)
                .partition(partition_index(partition_for_key(&record.key, count)))
                .headers(headers);
            loop {
                match producer.send_result(pending) {
                    Ok(delivery) => {
                        in_flight.push_back(delivery);
                        break;
                    }
                    Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                        // The producer's queue is full: wait for the oldest send to finish.
                        pending = back;
                        match in_flight.pop_front() {
                            Some(oldest) => positions.push(acknowledged(topic, oldest).await?),
                            None => tokio::time::sleep(Duration::from_millis(5)).await,
                        }
                    }
                    Err((
                        KafkaError::MessageProduction(RDKafkaErrorCode::MessageSizeTooLarge),
                        _,
                    )) => {
                        return Err(LogError::RecordTooLarge {
                            size,
                            limit: self.max_message_bytes,
                        });
                    }
                    Err((error, _)) => {
                        return Err(broker(format!("produce to `{topic}`"))(error));
                    }
                }
            }
        }
        while let Some(delivery) = in_flight.pop_front() {
            positions.push(acknowledged(topic, delivery).await?);
        }
        Ok(positions)
    }

    /// The range of a partition, from the broker's watermarks.
    async fn watermarks(&self, partition: &TopicPartition) -> Result<OffsetRange, LogError> {
        let count = self.partition_count(&partition.topic).await?;
        if partition.partition >= count {
            return Err(LogError::UnknownPartition {
                topic: partition.topic.clone(),
                partition: partition.partition,
                count,
            });
        }
        let producer = self.producer();
        let timeout = self.config.request_timeout;
        let topic = partition.topic.clone();
        let index = partition_index(partition.partition);
        let (low, high) = blocking("watermarks", move || {
            producer
                .client()
                .fetch_watermarks(topic.as_str(), index, timeout)
        })
        .await?;
        let offset = |raw: i64| Offset(u64::try_from(raw).unwrap_or_default());
        Ok(OffsetRange {
            start: offset(low),
            end: offset(high),
        })
    }

    async fn out_of_range(&self, partition: &TopicPartition, requested: Offset) -> LogError {
        match self.watermarks(partition).await {
            Ok(range) => LogError::OffsetOutOfRange {
                partition: partition.clone(),
                requested,
                range,
            },
            Err(error) => error,
        }
    }
}

#[async_trait]
impl EventLog for KafkaLog {
    #[instrument(skip_all, fields(topic = %topic, records = records.len()))]
    async fn append(
        &self,
        topic: &TopicName,
        records: Vec<Record>,
    ) -> Result<Vec<RecordPosition>, LogError> {
        if records.is_empty() {
            return Ok(Vec::new());
        }
        let count = self.partition_count(topic).await?;
        let started = Instant::now();
        let outcome = self.deliver(topic, &records, count).await;
        if outcome.is_err() {
            self.replace_producer_after_fatal_error();
        }
        let status = if outcome.is_ok() { "ok" } else { "error" };
        metrics::histogram!("tenet_kafka_append_duration_seconds", "status" => status)
            .record(started.elapsed().as_secs_f64());
        metrics::counter!("tenet_kafka_appended_records_total", "status" => status)
            .increment(records.len() as u64);
        outcome
    }

    async fn partition_count(&self, topic: &TopicName) -> Result<u32, LogError> {
        if let Some(&(count, fetched)) = lock(&self.partition_counts).get(topic)
            && fetched.elapsed() < self.config.metadata_max_age
        {
            return Ok(count);
        }
        let count = self.fetch_partition_count(topic).await?;
        lock(&self.partition_counts).insert(topic.clone(), (count, Instant::now()));
        Ok(count)
    }

    async fn offset_range(&self, partition: &TopicPartition) -> Result<OffsetRange, LogError> {
        self.watermarks(partition).await
    }

    async fn read(
        &self,
        partition: &TopicPartition,
        from: Offset,
        limits: ReadLimits,
    ) -> Result<Vec<StoredRecord>, LogError> {
        let reader = self.reader(partition)?;
        let mut cursor = reader.cursor.lock().await;
        if !cursor.continues(from) {
            let range = self.watermarks(partition).await?;
            if from < range.start || from > range.end {
                return Err(LogError::OffsetOutOfRange {
                    partition: partition.clone(),
                    requested: from,
                    range,
                });
            }
            reader
                .position(partition, from)
                .map_err(broker(format!("assign {partition} at {from}")))?;
            cursor.positioned(from);
        }
        let mut batch = Vec::new();
        let mut bytes = 0;
        if let Some(held) = cursor.take_held()
            && !cursor.offer(&mut batch, &mut bytes, held, &limits)
        {
            return Ok(batch);
        }
        let deadline = tokio::time::Instant::now() + limits.max_wait;
        loop {
            // Wait for the first record up to `max_wait`; after that, take only what the
            // consumer has already fetched, without a timer or a clock reading per record.
            let received = if batch.is_empty() {
                tokio::time::timeout_at(deadline, reader.consumer.recv())
                    .await
                    .ok()
            } else {
                reader.consumer.recv().now_or_never()
            };
            let message = match received {
                None => break,
                Some(Ok(message)) => stored_record(&message),
                Some(Err(KafkaError::MessageConsumption(
                    RDKafkaErrorCode::OffsetOutOfRange | RDKafkaErrorCode::AutoOffsetReset,
                ))) => {
                    cursor.reset();
                    return Err(self.out_of_range(partition, from).await);
                }
                Some(Err(error)) => {
                    cursor.reset();
                    return Err(broker(format!("read {partition}"))(error));
                }
            };
            if !cursor.offer(&mut batch, &mut bytes, message, &limits) {
                break;
            }
        }
        Ok(batch)
    }

    async fn commit(
        &self,
        group: &GroupId,
        partition: &TopicPartition,
        next: Offset,
    ) -> Result<(), LogError> {
        let range = self.watermarks(partition).await?;
        if next > range.end {
            return Err(LogError::OffsetOutOfRange {
                partition: partition.clone(),
                requested: next,
                range,
            });
        }
        let through = self.committer(group)?;
        let list = offset_list(partition, Some(next))?;
        blocking("commit offsets", move || through.commit(&list)).await
    }

    async fn committed(
        &self,
        group: &GroupId,
        partition: &TopicPartition,
    ) -> Result<Option<Offset>, LogError> {
        let through = self.committer(group)?;
        let list = offset_list(partition, None)?;
        let timeout = self.config.request_timeout;
        let committed = blocking("committed offsets", move || {
            through.committed(list, timeout)
        })
        .await?;
        let offset = committed
            .find_partition(
                partition.topic.as_str(),
                partition_index(partition.partition),
            )
            .and_then(|element| element.offset().to_raw())
            .and_then(|raw| u64::try_from(raw).ok())
            .map(Offset);
        Ok(offset)
    }

    async fn assigned(
        &self,
        group: &GroupId,
        topic: &TopicName,
    ) -> Result<Option<BTreeSet<u32>>, LogError> {
        let member = lock(&self.members).get(group).cloned();
        let Some(member) = member else {
            return Ok(None);
        };
        let held = member.assignment().of_topic(topic.as_str());
        // Readers of partitions that moved elsewhere would keep prefetching for nothing.
        lock(&self.readers).retain(|partition, _| {
            partition.topic != *topic || held.contains(&partition.partition)
        });
        Ok(Some(held))
    }
}

/// A one-partition list, with `next` as the offset when given.
fn offset_list(
    partition: &TopicPartition,
    next: Option<Offset>,
) -> Result<TopicPartitionList, LogError> {
    let mut list = TopicPartitionList::new();
    let index = partition_index(partition.partition);
    match next {
        Some(next) => {
            let raw = i64::try_from(next.0).unwrap_or(i64::MAX);
            list.add_partition_offset(
                partition.topic.as_str(),
                index,
                rdkafka::Offset::Offset(raw),
            )
            .map_err(broker("offset list"))?;
        }
        None => {
            list.add_partition(partition.topic.as_str(), index);
        }
    }
    Ok(list)
}

enum CommitThrough {
    Member(Arc<BaseConsumer<super::group::MemberContext>>),
    Standalone(Arc<BaseConsumer>),
}

impl CommitThrough {
    fn commit(&self, list: &TopicPartitionList) -> Result<(), KafkaError> {
        match self {
            CommitThrough::Member(consumer) => consumer.commit(list, CommitMode::Sync),
            CommitThrough::Standalone(consumer) => consumer.commit(list, CommitMode::Sync),
        }
    }

    fn committed(
        &self,
        list: TopicPartitionList,
        timeout: Duration,
    ) -> Result<TopicPartitionList, KafkaError> {
        match self {
            CommitThrough::Member(consumer) => consumer.committed_offsets(list, timeout),
            CommitThrough::Standalone(consumer) => consumer.committed_offsets(list, timeout),
        }
    }
}

/// Describes the Kafka log's metrics to the process's recorder.
pub fn describe_metrics() {
    metrics::describe_histogram!(
        "tenet_kafka_append_duration_seconds",
        metrics::Unit::Seconds,
        "Time from an append to the broker's acknowledgement of all its records, by status."
    );
    metrics::describe_counter!(
        "tenet_kafka_appended_records_total",
        "Records appended to Kafka, by status (ok: acknowledged; error: the append failed)."
    );
}

//! Consumer-group membership for lake writers: Kafka decides which process writes which
//! partition; the lake decides where each partition resumes.
//!
//! This follows delta-io/kafka-delta-ingest. A [`GroupMember`] joins the group with the
//! cooperative-sticky assignor and keeps the partitions it is given *paused*: it never
//! fetches, it only learns its [`Assignment`]. The lake writer reads each assigned partition
//! through an assign-and-seek reader, starting at the offset stored in the Delta log as an
//! app-transaction version. Kafka's committed group offsets are never used to position a
//! reader; they are written after each Delta commit for lag tooling only.
//!
//! Group membership is advice. During a rebalance, or when a member stalls past its session
//! timeout, two writers may believe they own a partition. Exactly-once does not depend on the
//! group: the writer's Delta commit checks that the partition's stored version is still the
//! one it started from, so the second of two competing commits is fenced.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use rdkafka::client::ClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext, Rebalance};
use rdkafka::error::KafkaError;
use rdkafka::topic_partition_list::TopicPartitionList;
use tracing::{info, warn};

use crate::log::{GroupId, TopicName};

/// The partitions a group member holds, per topic, as the rebalance callbacks report them.
///
/// With the cooperative protocol an assignment arrives in increments: a rebalance adds some
/// partitions and revokes others, and the rest stay put. `generation` counts the changes so
/// a reader can tell that something moved.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Assignment {
    partitions: BTreeMap<String, BTreeSet<u32>>,
    generation: u64,
}

impl Assignment {
    /// Adds partitions given to this member.
    pub fn assign<'a>(&mut self, added: impl IntoIterator<Item = (&'a str, u32)>) {
        for (topic, partition) in added {
            self.partitions
                .entry(topic.to_owned())
                .or_default()
                .insert(partition);
        }
        self.generation += 1;
    }

    /// Removes partitions taken from this member (revoked, or lost with the session).
    pub fn revoke<'a>(&mut self, removed: impl IntoIterator<Item = (&'a str, u32)>) {
        for (topic, partition) in removed {
            if let Some(held) = self.partitions.get_mut(topic) {
                held.remove(&partition);
            }
        }
        self.generation += 1;
    }

    /// The partitions of `topic` this member holds.
    pub fn of_topic(&self, topic: &str) -> BTreeSet<u32> {
        self.partitions.get(topic).cloned().unwrap_or_default()
    }

    /// How many times the assignment changed.
    pub fn generation(&self) -> u64 {
        self.generation
    }
}

fn partitions_of(list: &TopicPartitionList) -> Vec<(String, u32)> {
    list.elements()
        .iter()
        .filter_map(|element| {
            u32::try_from(element.partition())
                .ok()
                .map(|partition| (element.topic().to_owned(), partition))
        })
        .collect()
}

/// Records rebalances into the shared [`Assignment`] and pauses what it is given.
pub(crate) struct MemberContext {
    group: GroupId,
    assignment: Arc<Mutex<Assignment>>,
}

impl ClientContext for MemberContext {}

impl ConsumerContext for MemberContext {
    fn post_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        let mut assignment = self
            .assignment
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        match rebalance {
            Rebalance::Assign(list) => {
                // The member only learns its partitions; the lake writer reads them from the
                // offsets in the lake, so this consumer must not fetch.
                if let Err(error) = consumer.pause(list) {
                    warn!(group = %self.group, %error, "could not pause assigned partitions");
                }
                let added = partitions_of(list);
                assignment.assign(added.iter().map(|(topic, p)| (topic.as_str(), *p)));
                info!(group = %self.group, partitions = ?added, "partitions assigned");
            }
            Rebalance::Revoke(list) => {
                let removed = partitions_of(list);
                assignment.revoke(removed.iter().map(|(topic, p)| (topic.as_str(), *p)));
                info!(group = %self.group, partitions = ?removed, "partitions revoked");
            }
            Rebalance::Error(error) => {
                warn!(group = %self.group, %error, "rebalance failed");
            }
        }
    }
}

/// A member of a consumer group: joined on creation, left on drop.
///
/// A background thread polls the consumer, which serves the group protocol (heartbeats,
/// rebalances) and nothing else, since every assigned partition is paused.
pub struct GroupMember {
    consumer: Arc<BaseConsumer<MemberContext>>,
    assignment: Arc<Mutex<Assignment>>,
    stop: Arc<AtomicBool>,
    poller: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for GroupMember {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GroupMember")
            .field("assignment", &self.assignment())
            .finish_non_exhaustive()
    }
}

impl GroupMember {
    /// Joins `group`, subscribed to `topics`, with a consumer built from `config` (which
    /// must name the group and the cooperative-sticky assignor).
    pub(crate) fn join(
        mut config: rdkafka::ClientConfig,
        group: &GroupId,
        topics: &[TopicName],
    ) -> Result<Self, KafkaError> {
        config.set("group.id", group.as_str());
        let assignment = Arc::new(Mutex::new(Assignment::default()));
        let context = MemberContext {
            group: group.clone(),
            assignment: assignment.clone(),
        };
        let consumer: Arc<BaseConsumer<MemberContext>> =
            Arc::new(config.create_with_context(context)?);
        let names: Vec<&str> = topics.iter().map(TopicName::as_str).collect();
        consumer.subscribe(&names)?;
        let stop = Arc::new(AtomicBool::new(false));
        let poller = {
            let consumer = consumer.clone();
            let stop = stop.clone();
            let group = group.clone();
            std::thread::Builder::new()
                .name("tenet-kafka-group".to_owned())
                .spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        if let Some(Err(error)) = consumer.poll(Duration::from_millis(100)) {
                            warn!(%group, %error, "consumer group member");
                        }
                    }
                })
                .map_err(|error| {
                    KafkaError::ClientCreation(format!("cannot start the group thread: {error}"))
                })?
        };
        Ok(Self {
            consumer,
            assignment,
            stop,
            poller: Some(poller),
        })
    }

    /// The partitions this member holds now.
    pub fn assignment(&self) -> Assignment {
        self.assignment
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The member's consumer, which commits the group's offsets with its generation.
    pub(crate) fn consumer(&self) -> Arc<BaseConsumer<MemberContext>> {
        self.consumer.clone()
    }
}

impl Drop for GroupMember {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(poller) = self.poller.take() {
            let _ = poller.join();
        }
        // The last handle closes the consumer, which revokes its partitions and leaves the
        // group, so the others take them over without waiting for a session timeout.
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cooperative_increments_add_and_remove_only_what_moved() {
        let mut assignment = Assignment::default();
        assignment.assign([("calls", 0), ("calls", 1), ("calls", 2), ("tickets", 0)]);

        assignment.revoke([("calls", 1)]);
        assignment.assign([("calls", 3)]);

        assert_eq!(assignment.of_topic("calls"), BTreeSet::from([0, 2, 3]));
        assert_eq!(assignment.of_topic("tickets"), BTreeSet::from([0]));
        assert_eq!(assignment.generation(), 3);
    }

    #[test]
    fn a_topic_never_assigned_holds_nothing() {
        let mut assignment = Assignment::default();
        assignment.revoke([("calls", 0)]);
        assert!(assignment.of_topic("calls").is_empty());
    }
}

//! Call events: a call's path through the IVR, a queue and the agents who handled it.
//!
//! A call produces `call.offered` when it enters a queue, `call.ring_no_answer` for each agent
//! who let it ring, `call.answered` when an agent picks it up, hold/unhold and transfers while
//! it is handled, and exactly one `call.ended` that carries the totals the KPIs are computed
//! from (ARCHITECTURE §7). Durations are whole seconds except the ringing time, which
//! telephony reports in milliseconds.

use serde::{Deserialize, Serialize};

use crate::ids::{AgentId, CallId, CustomerId, DialTarget, IvrNode, ProjectId, QueueId};
use crate::row::columns;

/// A call entered a queue (after its IVR path) and is offered to the queue's agents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallOffered {
    /// The call.
    pub call_id: CallId,
    /// The queue it entered.
    pub queue_id: QueueId,
    /// The IVR menu nodes the caller went through, in order (may be empty).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ivr_path: Vec<IvrNode>,
    /// The project the queue serves, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project_id: Option<ProjectId>,
    /// The caller, when identified.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_id: Option<CustomerId>,
    /// The queue priority the call was given (higher is served first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<u8>,
}

/// An agent answered a queued call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallAnswered {
    /// The call.
    pub call_id: CallId,
    /// The queue it was answered from.
    pub queue_id: QueueId,
    /// The agent who answered.
    pub agent_id: AgentId,
    /// Seconds the caller waited in the queue.
    pub wait_seconds: u32,
}

/// The agent put the caller on hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallHeld {
    /// The call.
    pub call_id: CallId,
    /// The agent handling it.
    pub agent_id: AgentId,
}

/// The agent took the caller off hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallUnheld {
    /// The call.
    pub call_id: CallId,
    /// The agent handling it.
    pub agent_id: AgentId,
    /// Seconds this hold lasted.
    pub hold_seconds: u32,
}

/// Where a call was transferred to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    tag = "kind",
    content = "id",
    rename_all = "snake_case",
    deny_unknown_fields
)]
pub enum TransferTarget {
    /// Another queue.
    Queue(QueueId),
    /// A specific agent.
    Agent(AgentId),
    /// A number or extension outside the contact center's queues.
    External(DialTarget),
}

impl TransferTarget {
    /// The target's kind as stored in the lake: `queue`, `agent` or `external`.
    pub fn kind(&self) -> &'static str {
        match self {
            TransferTarget::Queue(_) => "queue",
            TransferTarget::Agent(_) => "agent",
            TransferTarget::External(_) => "external",
        }
    }

    /// The target's identifier text.
    pub fn id(&self) -> &str {
        match self {
            TransferTarget::Queue(id) => id.as_str(),
            TransferTarget::Agent(id) => id.as_str(),
            TransferTarget::External(id) => id.as_str(),
        }
    }
}

/// How a transfer was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TransferMode {
    /// Handed over without the agent talking to the target first.
    Blind,
    /// The agent talked to the target before handing over.
    Attended,
}

impl TransferMode {
    /// The wire and lake name.
    pub fn as_str(&self) -> &'static str {
        match self {
            TransferMode::Blind => "blind",
            TransferMode::Attended => "attended",
        }
    }
}

/// A call was transferred.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallTransferred {
    /// The call.
    pub call_id: CallId,
    /// The agent who transferred it (absent when the IVR or a rule did).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<AgentId>,
    /// Where it went.
    pub target: TransferTarget,
    /// Blind or attended.
    pub mode: TransferMode,
}

/// An agent was rung for a queued call and did not answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallRingNoAnswer {
    /// The call.
    pub call_id: CallId,
    /// The queue the call waited in.
    pub queue_id: QueueId,
    /// The agent who did not answer.
    pub agent_id: AgentId,
    /// Milliseconds the agent's phone rang.
    pub ring_ms: u32,
}

/// How a call ended, from the queue's point of view.
///
/// `short_abandon` is the producer's classification with the tenant's threshold at the time
/// (default: abandoned after waiting less than 5 s); reports may reclassify from
/// `wait_seconds` when the threshold changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallOutcome {
    /// An agent answered.
    Answered,
    /// The caller hung up while waiting in the queue.
    Abandoned,
    /// The call left the queue unanswered by rule (timeout, key press, empty queue).
    FlowedOut,
    /// Abandoned after waiting less than the short-abandon threshold.
    ShortAbandon,
    /// The caller hung up in the IVR; the call was never offered to a queue.
    IvrHangup,
}

impl CallOutcome {
    /// The wire and lake name.
    pub fn as_str(&self) -> &'static str {
        match self {
            CallOutcome::Answered => "answered",
            CallOutcome::Abandoned => "abandoned",
            CallOutcome::FlowedOut => "flowed_out",
            CallOutcome::ShortAbandon => "short_abandon",
            CallOutcome::IvrHangup => "ivr_hangup",
        }
    }
}

/// A call ended. One per call; it carries the totals that KPIs are computed from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallEnded {
    /// The call.
    pub call_id: CallId,
    /// How it ended.
    pub outcome: CallOutcome,
    /// The queue it was offered to (absent for `ivr_hangup`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_id: Option<QueueId>,
    /// The project the queue serves, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project_id: Option<ProjectId>,
    /// The agent who handled it last (absent unless answered).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<AgentId>,
    /// Seconds waited in the queue before being answered or giving up.
    pub wait_seconds: u32,
    /// Seconds of conversation with agents.
    pub talk_seconds: u32,
    /// Seconds on hold.
    pub hold_seconds: u32,
    /// Seconds of after-call work the agent spent on it.
    pub after_call_work_seconds: u32,
}

/// Every call event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum CallEvent {
    /// `call.offered`.
    Offered(CallOffered),
    /// `call.answered`.
    Answered(CallAnswered),
    /// `call.held`.
    Held(CallHeld),
    /// `call.unheld`.
    Unheld(CallUnheld),
    /// `call.transferred`.
    Transferred(CallTransferred),
    /// `call.ring_no_answer`.
    RingNoAnswer(CallRingNoAnswer),
    /// `call.ended`.
    Ended(CallEnded),
}

columns! {
    /// The `calls` table's own columns (after the header). `agent_id` is the agent the event
    /// is about: who answered, held, transferred, let it ring or handled it last.
    pub struct CallColumns {
        /// The call.
        pub call_id: String,
        /// The queue.
        pub queue_id: Option<String>,
        /// The project.
        pub project_id: Option<String>,
        /// The agent the event is about.
        pub agent_id: Option<String>,
        /// The caller.
        pub customer_id: Option<String>,
        /// IVR nodes passed (`call.offered`).
        pub ivr_path: Option<Vec<String>>,
        /// Queue priority (`call.offered`).
        pub priority: Option<i16>,
        /// Outcome (`call.ended`).
        pub outcome: Option<String>,
        /// Wait in queue (`call.answered`, `call.ended`).
        pub wait_seconds: Option<i64>,
        /// Talk time (`call.ended`).
        pub talk_seconds: Option<i64>,
        /// Hold time (`call.unheld`: this hold; `call.ended`: total).
        pub hold_seconds: Option<i64>,
        /// After-call work (`call.ended`).
        pub after_call_work_seconds: Option<i64>,
        /// Ringing time (`call.ring_no_answer`).
        pub ring_ms: Option<i64>,
        /// `queue`, `agent` or `external` (`call.transferred`).
        pub transfer_target_kind: Option<String>,
        /// The transfer target's id (`call.transferred`).
        pub transfer_target_id: Option<String>,
        /// `blind` or `attended` (`call.transferred`).
        pub transfer_mode: Option<String>,
    }
}

impl CallEvent {
    /// The event's values for the `calls` table, its text moved
    /// into them rather than copied.
    pub fn into_columns(self) -> CallColumns {
        match self {
            CallEvent::Offered(e) => CallColumns {
                call_id: String::from(e.call_id),
                queue_id: Some(String::from(e.queue_id)),
                project_id: e.project_id.map(String::from),
                customer_id: e.customer_id.map(String::from),
                ivr_path: Some(e.ivr_path.iter().map(ToString::to_string).collect()),
                priority: e.priority.map(i16::from),
                ..CallColumns::default()
            },
            CallEvent::Answered(e) => CallColumns {
                call_id: String::from(e.call_id),
                queue_id: Some(String::from(e.queue_id)),
                agent_id: Some(String::from(e.agent_id)),
                wait_seconds: Some(e.wait_seconds.into()),
                ..CallColumns::default()
            },
            CallEvent::Held(e) => CallColumns {
                call_id: String::from(e.call_id),
                agent_id: Some(String::from(e.agent_id)),
                ..CallColumns::default()
            },
            CallEvent::Unheld(e) => CallColumns {
                call_id: String::from(e.call_id),
                agent_id: Some(String::from(e.agent_id)),
                hold_seconds: Some(e.hold_seconds.into()),
                ..CallColumns::default()
            },
            CallEvent::Transferred(e) => CallColumns {
                call_id: String::from(e.call_id),
                agent_id: e.agent_id.map(String::from),
                transfer_target_kind: Some(e.target.kind().to_owned()),
                transfer_target_id: Some(e.target.id().to_owned()),
                transfer_mode: Some(e.mode.as_str().to_owned()),
                ..CallColumns::default()
            },
            CallEvent::RingNoAnswer(e) => CallColumns {
                call_id: String::from(e.call_id),
                queue_id: Some(String::from(e.queue_id)),
                agent_id: Some(String::from(e.agent_id)),
                ring_ms: Some(e.ring_ms.into()),
                ..CallColumns::default()
            },
            CallEvent::Ended(e) => CallColumns {
                call_id: String::from(e.call_id),
                queue_id: e.queue_id.map(String::from),
                project_id: e.project_id.map(String::from),
                agent_id: e.agent_id.map(String::from),
                outcome: Some(e.outcome.as_str().to_owned()),
                wait_seconds: Some(e.wait_seconds.into()),
                talk_seconds: Some(e.talk_seconds.into()),
                hold_seconds: Some(e.hold_seconds.into()),
                after_call_work_seconds: Some(e.after_call_work_seconds.into()),
                ..CallColumns::default()
            },
        }
    }
}

//! Agent-state events: when agents are logged in and whether they can take contacts.
//!
//! Occupancy and adherence (ARCHITECTURE §7) are computed from the intervals between these
//! events. `queue_id` is set when the change applies to one queue only (Asterisk pauses and
//! queue memberships are per queue); absent, it applies to all the agent's queues.

use serde::{Deserialize, Serialize};

use crate::ids::{AgentId, QueueId, ReasonCode};
use crate::row::columns;

/// An agent logged in (joined a queue, or all their queues).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentLoggedIn {
    /// The agent.
    pub agent_id: AgentId,
    /// The queue joined, when only one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_id: Option<QueueId>,
}

/// An agent became ready to take contacts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentReady {
    /// The agent.
    pub agent_id: AgentId,
    /// The queue, when only one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_id: Option<QueueId>,
}

/// An agent stopped taking contacts while staying logged in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentNotReady {
    /// The agent.
    pub agent_id: AgentId,
    /// The queue, when only one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_id: Option<QueueId>,
    /// The not-ready reason (break, lunch, training, ...), when the source gives one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<ReasonCode>,
}

/// An agent logged out (left a queue, or all their queues).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentLoggedOut {
    /// The agent.
    pub agent_id: AgentId,
    /// The queue left, when only one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_id: Option<QueueId>,
}

/// Every agent-state event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum AgentStateEvent {
    /// `agent.logged_in`.
    LoggedIn(AgentLoggedIn),
    /// `agent.ready`.
    Ready(AgentReady),
    /// `agent.not_ready`.
    NotReady(AgentNotReady),
    /// `agent.logged_out`.
    LoggedOut(AgentLoggedOut),
}

columns! {
    /// The `agent_state` table's own columns (after the header).
    pub struct AgentStateColumns {
        /// The agent.
        pub agent_id: String,
        /// The queue the change applies to (null: all the agent's queues).
        pub queue_id: Option<String>,
        /// Not-ready reason (`agent.not_ready`).
        pub reason: Option<String>,
    }
}

impl AgentStateEvent {
    /// The event's values for the `agent_state` table, its text moved
    /// into them rather than copied.
    pub fn into_columns(self) -> AgentStateColumns {
        let (agent_id, queue_id, reason) = match self {
            AgentStateEvent::LoggedIn(e) => (e.agent_id, e.queue_id, None),
            AgentStateEvent::Ready(e) => (e.agent_id, e.queue_id, None),
            AgentStateEvent::NotReady(e) => (e.agent_id, e.queue_id, e.reason),
            AgentStateEvent::LoggedOut(e) => (e.agent_id, e.queue_id, None),
        };
        AgentStateColumns {
            agent_id: agent_id.into(),
            queue_id: queue_id.map(String::from),
            reason: reason.map(String::from),
        }
    }
}

//! Schedule events: the weekly schedules planners publish, activity by activity.
//!
//! The ops API stores each published version of a week's schedule and, in the same
//! transaction, writes one `schedule.activity_scheduled` per contiguous activity of every
//! agent's shifts (work, break, lunch, meeting, training), then one `schedule.published` that
//! closes the version. Both carry the week (`week_start`, a local date) and the version number;
//! a later version of the same week supersedes every earlier one, so readers take, per week,
//! the activities of the highest version that has its `schedule.published`. Because a tenant's
//! events keep their order in the log, the closing event lands after the activities it closes.
//!
//! Agents are the same [`AgentId`]s the agent-state events carry, so adherence can be computed
//! by comparing the two.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::OccurredAt;
use crate::ids::{AgentId, ScheduleId};
use crate::row::{Date32, TimestampMicros, columns};

/// What an agent is scheduled to do during an activity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActivityKind {
    /// Taking contacts: the shift's time outside its other activities.
    Work,
    /// A short break.
    Break,
    /// A meal break.
    Lunch,
    /// A team meeting, off the phones.
    Meeting,
    /// Training, off the phones.
    Training,
}

impl ActivityKind {
    /// The wire and lake name (`work`, `break`…).
    pub fn as_str(&self) -> &'static str {
        match self {
            ActivityKind::Work => "work",
            ActivityKind::Break => "break",
            ActivityKind::Lunch => "lunch",
            ActivityKind::Meeting => "meeting",
            ActivityKind::Training => "training",
        }
    }

    /// Whether the agent is expected to take contacts (only during [`ActivityKind::Work`]).
    pub fn takes_contacts(&self) -> bool {
        matches!(self, ActivityKind::Work)
    }
}

/// One activity of one agent in a published schedule version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActivityScheduled {
    /// The published version this activity belongs to.
    pub schedule_id: ScheduleId,
    /// The first day of the week the schedule covers, in its time zone.
    pub week_start: NaiveDate,
    /// The version's number within its week: 1, 2, 3… in publication order.
    pub version: u32,
    /// The agent, as agent-state events name them.
    pub agent_id: AgentId,
    /// What the agent is scheduled to do.
    pub activity: ActivityKind,
    /// When it starts.
    pub starts_at: OccurredAt,
    /// When it ends (after `starts_at`).
    pub ends_at: OccurredAt,
}

/// A schedule version was published: it closes the version's activities and supersedes every
/// earlier version of its week.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SchedulePublished {
    /// The published version.
    pub schedule_id: ScheduleId,
    /// The first day of the week it covers.
    pub week_start: NaiveDate,
    /// Its number within its week.
    pub version: u32,
    /// The IANA time zone its week and days are in.
    pub time_zone: String,
    /// How many agents it schedules.
    pub agents: u32,
    /// How many `schedule.activity_scheduled` events it consists of.
    pub activities: u32,
    /// The version it replaces, when the week was published before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supersedes: Option<ScheduleId>,
}

/// Every schedule event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum ScheduleEvent {
    /// `schedule.activity_scheduled`.
    ActivityScheduled(ActivityScheduled),
    /// `schedule.published`.
    Published(SchedulePublished),
}

fn days(date: NaiveDate) -> Date32 {
    Date32(
        i32::try_from((date - NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or(date)).num_days())
            .unwrap_or_default(),
    )
}

fn version(version: u32) -> i32 {
    i32::try_from(version).unwrap_or(i32::MAX)
}

columns! {
    /// The `schedules` table's own columns (after the header).
    pub struct ScheduleColumns {
        /// The published version.
        pub schedule_id: String,
        /// The first day of its week.
        pub week_start: Date32,
        /// Its number within the week.
        pub version: i32,
        /// The agent (`schedule.activity_scheduled`).
        pub agent_id: Option<String>,
        /// What the agent is scheduled to do.
        pub activity: Option<String>,
        /// When the activity starts.
        pub starts_at: Option<TimestampMicros>,
        /// When it ends.
        pub ends_at: Option<TimestampMicros>,
        /// The schedule's time zone (`schedule.published`).
        pub time_zone: Option<String>,
        /// How many agents the version schedules.
        pub agents: Option<i32>,
        /// How many activities it consists of.
        pub activities: Option<i32>,
        /// The version it replaces.
        pub supersedes: Option<String>,
    }
}

impl ScheduleEvent {
    /// The event's values for the `schedules` table, its text moved
    /// into them rather than copied.
    pub fn into_columns(self) -> ScheduleColumns {
        match self {
            ScheduleEvent::ActivityScheduled(e) => ScheduleColumns {
                schedule_id: String::from(e.schedule_id),
                week_start: days(e.week_start),
                version: version(e.version),
                agent_id: Some(String::from(e.agent_id)),
                activity: Some(e.activity.as_str().to_owned()),
                starts_at: Some(TimestampMicros(e.starts_at.unix_micros())),
                ends_at: Some(TimestampMicros(e.ends_at.unix_micros())),
                ..ScheduleColumns::default()
            },
            ScheduleEvent::Published(e) => ScheduleColumns {
                schedule_id: String::from(e.schedule_id),
                week_start: days(e.week_start),
                version: version(e.version),
                time_zone: Some(e.time_zone),
                agents: Some(i32::try_from(e.agents).unwrap_or(i32::MAX)),
                activities: Some(i32::try_from(e.activities).unwrap_or(i32::MAX)),
                supersedes: e.supersedes.map(String::from),
                ..ScheduleColumns::default()
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_work_takes_contacts_and_names_round_trip() {
        for kind in [
            ActivityKind::Work,
            ActivityKind::Break,
            ActivityKind::Lunch,
            ActivityKind::Meeting,
            ActivityKind::Training,
        ] {
            let wire = serde_json::to_value(kind).unwrap();
            assert_eq!(wire, kind.as_str());
            assert_eq!(kind.takes_contacts(), kind == ActivityKind::Work);
        }
    }
}

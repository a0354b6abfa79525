//! Event families: the unit of a topic and of a lake table.
//!
//! Every event type belongs to one family. A family is one log topic (keyed by tenant, so a
//! tenant's events stay in order within a partition) and one Delta table. The topic name
//! carries a generation suffix (`.v1`) that changes only for an incompatible change of the
//! whole family; single event types evolve through their own schema version.

use std::fmt;
use std::str::FromStr;
use std::sync::LazyLock;

use arrow_schema::SchemaRef;

use crate::admin::AdminColumns;
use crate::agent_state::AgentStateColumns;
use crate::attendance::AttendanceColumns;
use crate::calls::CallColumns;
use crate::customers::CustomerColumns;
use crate::hr::HrColumns;
use crate::qa::QaColumns;
use crate::row::{LazySchema, family_schema};
use crate::schedules::ScheduleColumns;
use crate::surveys::SurveyColumns;
use crate::tickets::TicketColumns;

/// A family of events: one topic, one lake table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EventFamily {
    /// Calls through queues: offered, answered, held, transferred, ended.
    Calls,
    /// Tickets (contacts in every channel): created, assigned, commented, closed.
    Tickets,
    /// Agents' presence: logged in, ready, not ready, logged out.
    AgentState,
    /// Badge swipes from access control.
    Attendance,
    /// Customers' survey answers.
    Surveys,
    /// Quality evaluations of calls and tickets.
    Qa,
    /// Customer records: created, changed, merged, flagged.
    Customers,
    /// HR records: employees, contracts, absences.
    Hr,
    /// Published weekly schedules: every agent's scheduled activities.
    Schedules,
    /// Administration: users, projects, project settings, security policy, API tokens.
    Admin,
}

static CALLS_SCHEMA: LazySchema = LazyLock::new(|| family_schema(CallColumns::fields()));
static TICKETS_SCHEMA: LazySchema = LazyLock::new(|| family_schema(TicketColumns::fields()));
static AGENT_STATE_SCHEMA: LazySchema =
    LazyLock::new(|| family_schema(AgentStateColumns::fields()));
static ATTENDANCE_SCHEMA: LazySchema = LazyLock::new(|| family_schema(AttendanceColumns::fields()));
static SURVEYS_SCHEMA: LazySchema = LazyLock::new(|| family_schema(SurveyColumns::fields()));
static QA_SCHEMA: LazySchema = LazyLock::new(|| family_schema(QaColumns::fields()));
static CUSTOMERS_SCHEMA: LazySchema = LazyLock::new(|| family_schema(CustomerColumns::fields()));
static HR_SCHEMA: LazySchema = LazyLock::new(|| family_schema(HrColumns::fields()));
static SCHEDULES_SCHEMA: LazySchema = LazyLock::new(|| family_schema(ScheduleColumns::fields()));
static ADMIN_SCHEMA: LazySchema = LazyLock::new(|| family_schema(AdminColumns::fields()));

impl EventFamily {
    /// Every family.
    pub const ALL: [EventFamily; 10] = [
        EventFamily::Calls,
        EventFamily::Tickets,
        EventFamily::AgentState,
        EventFamily::Attendance,
        EventFamily::Surveys,
        EventFamily::Qa,
        EventFamily::Customers,
        EventFamily::Hr,
        EventFamily::Schedules,
        EventFamily::Admin,
    ];

    /// The family's short name, also the lake table's name.
    pub fn as_str(&self) -> &'static str {
        match self {
            EventFamily::Calls => "calls",
            EventFamily::Tickets => "tickets",
            EventFamily::AgentState => "agent_state",
            EventFamily::Attendance => "attendance",
            EventFamily::Surveys => "surveys",
            EventFamily::Qa => "qa",
            EventFamily::Customers => "customers",
            EventFamily::Hr => "hr",
            EventFamily::Schedules => "schedules",
            EventFamily::Admin => "admin",
        }
    }

    /// The log topic the family's events are published to, e.g. `tenet.calls.v1`.
    pub fn topic(&self) -> &'static str {
        match self {
            EventFamily::Calls => "tenet.calls.v1",
            EventFamily::Tickets => "tenet.tickets.v1",
            EventFamily::AgentState => "tenet.agent_state.v1",
            EventFamily::Attendance => "tenet.attendance.v1",
            EventFamily::Surveys => "tenet.surveys.v1",
            EventFamily::Qa => "tenet.qa.v1",
            EventFamily::Customers => "tenet.customers.v1",
            EventFamily::Hr => "tenet.hr.v1",
            EventFamily::Schedules => "tenet.schedules.v1",
            EventFamily::Admin => "tenet.admin.v1",
        }
    }

    /// The family whose topic is `topic`, if any.
    pub fn from_topic(topic: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|family| family.topic() == topic)
    }

    /// The Arrow schema of the family's lake table: the header columns, then the family's
    /// own columns. Built once and shared.
    pub fn arrow_schema(&self) -> SchemaRef {
        let schema = match self {
            EventFamily::Calls => &CALLS_SCHEMA,
            EventFamily::Tickets => &TICKETS_SCHEMA,
            EventFamily::AgentState => &AGENT_STATE_SCHEMA,
            EventFamily::Attendance => &ATTENDANCE_SCHEMA,
            EventFamily::Surveys => &SURVEYS_SCHEMA,
            EventFamily::Qa => &QA_SCHEMA,
            EventFamily::Customers => &CUSTOMERS_SCHEMA,
            EventFamily::Hr => &HR_SCHEMA,
            EventFamily::Schedules => &SCHEDULES_SCHEMA,
            EventFamily::Admin => &ADMIN_SCHEMA,
        };
        SchemaRef::clone(schema)
    }
}

impl fmt::Display for EventFamily {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error returned for a family name that is not one of [`EventFamily::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown event family `{0}`; expected one of calls, tickets, agent_state, attendance, surveys, qa, customers, hr, schedules, admin"
)]
pub struct UnknownFamily(String);

impl FromStr for EventFamily {
    type Err = UnknownFamily;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|family| family.as_str() == s)
            .ok_or_else(|| UnknownFamily(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_family_has_a_distinct_versioned_topic() {
        let mut topics: Vec<_> = EventFamily::ALL.iter().map(EventFamily::topic).collect();
        topics.sort_unstable();
        topics.dedup();
        assert_eq!(topics.len(), EventFamily::ALL.len());
        for family in EventFamily::ALL {
            assert_eq!(family.topic(), format!("tenet.{family}.v1"));
            assert_eq!(EventFamily::from_topic(family.topic()), Some(family));
            assert_eq!(family.as_str().parse::<EventFamily>().unwrap(), family);
        }
    }

    #[test]
    fn family_schemas_have_unique_column_names() {
        for family in EventFamily::ALL {
            let schema = family.arrow_schema();
            let mut names: Vec<_> = schema.fields().iter().map(|f| f.name().clone()).collect();
            let count = names.len();
            names.sort_unstable();
            names.dedup();
            assert_eq!(names.len(), count, "{family} repeats a column");
        }
    }
}

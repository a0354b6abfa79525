//! Agent reports: performance per agent (`agent_performance`) and the state spans behind it
//! (`agent_states`).
//!
//! An agent's state events (`agent.logged_in`, `agent.ready`, `agent.not_ready` with a
//! reason, `agent.logged_out`) cut their time into spans: each state lasts until the agent's
//! next state event, a state still open lasts until the end of the period (or now, when that
//! is earlier), and spans are clipped to the period. Handling comes from the calls the agent
//! handled last, counted in the period by arrival like every call report.
//!
//! Definitions: handled = answered calls; AHT = mean talk + hold + after-call work of those;
//! occupancy = handling time / (handling time + idle time), where idle time is ready time not
//! spent handling (ready time minus handling time, never below zero), ARCHITECTURE §7.

use super::calls::CallSelection;
use super::params::{ParamError, Params, Period};
use super::query::{DrillDown, NOW_UTC, Query, Sql, local_time_sql, micros_sql};
use super::{ColumnDoc, Definition, Grain, PERIOD_PARAMS, ParamDoc, Report, accepted};

const PARAMS: [ParamDoc; 4] = [
    PERIOD_PARAMS[0],
    PERIOD_PARAMS[1],
    PERIOD_PARAMS[2],
    ParamDoc {
        name: "agent",
        description: "Only these agents (comma-separated or repeated).",
        default: None,
        required: false,
    },
];

const PERFORMANCE_COLUMNS: [ColumnDoc; 16] = [
    ColumnDoc {
        name: "agent_id",
        description: "The agent.",
    },
    ColumnDoc {
        name: "first_login",
        description: "Local time of the first login in the period.",
    },
    ColumnDoc {
        name: "last_logout",
        description: "Local time of the last logout in the period.",
    },
    ColumnDoc {
        name: "logged_in_sec",
        description: "Seconds between login and logout (every state but logged out).",
    },
    ColumnDoc {
        name: "ready_sec",
        description: "Seconds available for contacts (handling included).",
    },
    ColumnDoc {
        name: "not_ready_sec",
        description: "Seconds in not-ready states (breaks, training, wrap-up…); see agent_states for reasons.",
    },
    ColumnDoc {
        name: "handled",
        description: "Calls answered that the agent handled last.",
    },
    ColumnDoc {
        name: "talk_sec",
        description: "Total talk time of those calls.",
    },
    ColumnDoc {
        name: "hold_sec",
        description: "Total hold time.",
    },
    ColumnDoc {
        name: "acw_sec",
        description: "Total after-call work.",
    },
    ColumnDoc {
        name: "handle_sec",
        description: "talk + hold + after-call work.",
    },
    ColumnDoc {
        name: "aht_sec",
        description: "handle_sec / handled.",
    },
    ColumnDoc {
        name: "idle_sec",
        description: "Ready time not spent handling: max(ready − handling, 0).",
    },
    ColumnDoc {
        name: "occupancy",
        description: "handle_sec / (handle_sec + idle_sec).",
    },
    ColumnDoc {
        name: "transfers",
        description: "Transfers of the calls the agent handled.",
    },
    ColumnDoc {
        name: "drill_down",
        description: "Link to the agent's calls (report `calls`).",
    },
];

const STATE_COLUMNS: [ColumnDoc; 6] = [
    ColumnDoc {
        name: "agent_id",
        description: "The agent.",
    },
    ColumnDoc {
        name: "state",
        description: "logged_in, ready or not_ready.",
    },
    ColumnDoc {
        name: "reason",
        description: "The not-ready reason, when given.",
    },
    ColumnDoc {
        name: "started_at",
        description: "Local start of the span (clipped to the period).",
    },
    ColumnDoc {
        name: "ended_at",
        description: "Local end of the span (clipped to the period, or now).",
    },
    ColumnDoc {
        name: "duration_sec",
        description: "Seconds in the state.",
    },
];

static PERFORMANCE_DEFINITION: Definition = Definition {
    name: "agent_performance",
    title: "Agent performance",
    description: "Per agent: login and logout, time ready and not ready, handled calls, AHT and occupancy.",
    grain: Grain::Aggregate,
    drill_down: Some("calls"),
    parameters: &PARAMS,
    columns: &PERFORMANCE_COLUMNS,
};

static STATES_DEFINITION: Definition = Definition {
    name: "agent_states",
    title: "Agent state spans",
    description: "One row per span an agent spent in one state, with the not-ready reason.",
    grain: Grain::Detail,
    drill_down: None,
    parameters: &PARAMS,
    columns: &STATE_COLUMNS,
};

/// `with …` defining `spans`: the agents' state spans clipped to the period.
pub(super) fn spans_sql(
    sql: &mut Sql,
    period: &Period,
    agents: &std::collections::BTreeSet<String>,
) -> String {
    let (first_day, last_day) = period.partition_dates(0);
    let first = sql.date(first_day);
    let last = sql.date(last_day);
    let (from, to) = period.utc_bounds();
    let (from, to) = (sql.utc_time(from), sql.utc_time(to));
    let agents = sql.one_of("agent_id", agents);
    let started_local = local_time_sql("started_utc", &period.tz);
    let ended_local = local_time_sql("ended_utc", &period.tz);
    let seconds = format!(
        "cast(greatest({} - {}, 0) as double) / 1000000.0",
        micros_sql("ended_utc"),
        micros_sql("started_utc")
    );
    // Spans are cut and measured in UTC, so a shift across a clock change counts the time
    // really worked; they are shown in local time.
    format!(
        "with states as (
    select agent_id,
           event_type,
           reason,
           occurred_at as started_utc,
           lead(occurred_at) over (partition by agent_id order by occurred_at, event_id) as next_utc
    from agent_state
    where event_date >= {first} and event_date <= {last} and {agents}
),
spans as (
    select agent_id,
           replace(event_type, 'agent.', '') as state,
           reason,
           greatest(started_utc, {from}) as started_utc,
           least(coalesce(next_utc, least({to}, {NOW_UTC})), {to}) as ended_utc
    from states
    where event_type <> 'agent.logged_out'
      and started_utc < {to}
      and coalesce(next_utc, {to}) > {from}
),
state_spans as (
    select agent_id, state, reason,
           {started_local} as started_at,
           {ended_local} as ended_at,
           started_utc,
           ended_utc,
           {seconds} as duration_sec
    from spans
)"
    )
}

/// `agent_performance`: one row per agent.
#[derive(Debug, Clone, Copy)]
pub struct AgentPerformance;

impl Report for AgentPerformance {
    fn definition(&self) -> &'static Definition {
        &PERFORMANCE_DEFINITION
    }

    fn plan(&self, mut params: Params) -> Result<Query, ParamError> {
        let period = Period::take(&mut params)?;
        let agents = params.take_list("agent")?;
        params.finish(&accepted(&PARAMS))?;
        let selection = CallSelection {
            period: period.clone(),
            queues: Default::default(),
            projects: Default::default(),
            agents: agents.clone(),
            options: Default::default(),
        };
        let mut sql = Sql::default();
        let facts = selection.facts_sql(&mut sql);
        let spans = spans_sql(&mut sql, &period, &agents);
        // Both parts start with `with`; the second continues the first's list.
        let spans = spans.trim_start_matches("with ");
        let from = sql.local_time(period.from);
        let to = sql.local_time(period.to);
        let local = local_time_sql("occurred_at", &period.tz);
        let (first_day, last_day) = period.partition_dates(0);
        let first = sql.date(first_day);
        let last = sql.date(last_day);
        let text = format!(
            "{facts},
{spans},
handling as (
    select agent_id,
           count(*) as handled,
           sum(talk_sec) as talk_sec,
           sum(hold_sec) as hold_sec,
           sum(acw_sec) as acw_sec,
           sum(transfers) as transfers
    from call_facts
    where outcome = 'answered' and agent_id is not null
    group by agent_id
),
time_in_state as (
    select agent_id,
           sum(duration_sec) as logged_in_sec,
           coalesce(sum(duration_sec) filter (where state = 'ready'), 0) as ready_sec,
           coalesce(sum(duration_sec) filter (where state = 'not_ready'), 0) as not_ready_sec
    from state_spans
    group by agent_id
),
sessions as (
    select agent_id,
           min({local}) filter (where event_type = 'agent.logged_in') as first_login,
           max({local}) filter (where event_type = 'agent.logged_out') as last_logout
    from agent_state
    where event_date >= {first} and event_date <= {last}
      and {local} >= {from} and {local} < {to}
    group by agent_id
),
agents as (
    select agent_id from handling
    union
    select agent_id from time_in_state
    union
    select agent_id from sessions
)
select a.agent_id,
       s.first_login,
       s.last_logout,
       coalesce(t.logged_in_sec, 0) as logged_in_sec,
       coalesce(t.ready_sec, 0) as ready_sec,
       coalesce(t.not_ready_sec, 0) as not_ready_sec,
       coalesce(h.handled, 0) as handled,
       coalesce(h.talk_sec, 0) as talk_sec,
       coalesce(h.hold_sec, 0) as hold_sec,
       coalesce(h.acw_sec, 0) as acw_sec,
       coalesce(h.talk_sec + h.hold_sec + h.acw_sec, 0) as handle_sec,
       cast(h.talk_sec + h.hold_sec + h.acw_sec as double) / nullif(h.handled, 0) as aht_sec,
       greatest(coalesce(t.ready_sec, 0) - cast(coalesce(h.talk_sec + h.hold_sec + h.acw_sec, 0) as double), 0) as idle_sec,
       cast(coalesce(h.talk_sec + h.hold_sec + h.acw_sec, 0) as double)
           / nullif(cast(coalesce(h.talk_sec + h.hold_sec + h.acw_sec, 0) as double)
                    + greatest(coalesce(t.ready_sec, 0) - cast(coalesce(h.talk_sec + h.hold_sec + h.acw_sec, 0) as double), 0), 0) as occupancy,
       coalesce(h.transfers, 0) as transfers
from agents a
left join handling h on h.agent_id = a.agent_id
left join time_in_state t on t.agent_id = a.agent_id
left join sessions s on s.agent_id = a.agent_id
order by a.agent_id"
        );
        let drill = DrillDown {
            report: "calls",
            period,
            interval: None,
            dimensions: vec![("agent_id", "agent")],
            carry: Vec::new(),
        };
        Ok(sql.finish(text, Some(drill)))
    }
}

/// `agent_states`: one row per state span.
#[derive(Debug, Clone, Copy)]
pub struct AgentStates;

impl Report for AgentStates {
    fn definition(&self) -> &'static Definition {
        &STATES_DEFINITION
    }

    fn plan(&self, mut params: Params) -> Result<Query, ParamError> {
        let period = Period::take(&mut params)?;
        let agents = params.take_list("agent")?;
        params.finish(&accepted(&PARAMS))?;
        let mut sql = Sql::default();
        let spans = spans_sql(&mut sql, &period, &agents);
        let text = format!(
            "{spans}
select agent_id, state, reason, started_at, ended_at, duration_sec
from state_spans
order by agent_id, started_at"
        );
        Ok(sql.finish(text, None))
    }
}

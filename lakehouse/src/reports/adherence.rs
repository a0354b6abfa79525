//! Schedule adherence and conformance per agent (`agent_adherence`), from the latest published
//! schedule version of each week and the agents' state spans and calls.
//!
//! The schedule: for every week (`week_start`), the highest `version` that has its
//! `schedule.published` event is in force, and its `schedule.activity_scheduled` events say
//! what each agent is scheduled to do when (`work`, or off the phones: `break`, `lunch`,
//! `meeting`, `training`). Scheduled time is clipped to the period and to now: the future is
//! not yet out of adherence.
//!
//! What the agent did: their state spans, exactly as `agent_states` cuts them (each state
//! lasts until the agent's next state event), and their calls, from `call.answered` by the
//! agent until the call's next `call.answered` (a transfer) or its `call.ended`.
//!
//! Definitions (ARCHITECTURE §7), over the agent's scheduled time in the period:
//! - **working**: on a call, or in the `ready` state;
//! - **logged in**: on a call, or in any state but logged out (`logged_in`, `ready`,
//!   `not_ready`);
//! - **in adherence**: scheduled to work and working, or scheduled off the phones and not
//!   working (not ready, logged in without being ready yet, or logged out);
//! - **out of adherence** = scheduled − in adherence;
//! - **adherence** = 1 − out-of-adherence time / scheduled time;
//! - **worked** = logged-in time within the scheduled time (breaks included);
//! - **conformance** = worked time / scheduled time.
//!
//! Agents without scheduled time in the period are not listed. Time is cut and summed in UTC,
//! so on the night a clock change skips or repeats an hour, a scheduled night shift counts the
//! hours it really lasts.

use super::params::{ParamError, Params};
use super::query::{DrillDown, NOW_UTC, Query, Sql};
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

const COLUMNS: [ColumnDoc; 9] = [
    ColumnDoc {
        name: "agent_id",
        description: "The agent.",
    },
    ColumnDoc {
        name: "scheduled_sec",
        description: "Seconds of the agent's shifts in the period up to now, in the latest published version of each week (breaks included).",
    },
    ColumnDoc {
        name: "scheduled_work_sec",
        description: "Of those, seconds scheduled to work (the rest is break, lunch, meeting, training).",
    },
    ColumnDoc {
        name: "in_adherence_sec",
        description: "Scheduled seconds spent as scheduled: working (ready or on a call) when scheduled to work, not working (not ready, or logged out) when scheduled off the phones.",
    },
    ColumnDoc {
        name: "out_of_adherence_sec",
        description: "scheduled_sec − in_adherence_sec.",
    },
    ColumnDoc {
        name: "worked_sec",
        description: "Scheduled seconds the agent was logged in (any state but logged out, or on a call).",
    },
    ColumnDoc {
        name: "adherence",
        description: "1 − out_of_adherence_sec / scheduled_sec.",
    },
    ColumnDoc {
        name: "conformance",
        description: "worked_sec / scheduled_sec.",
    },
    ColumnDoc {
        name: "drill_down",
        description: "Link to the agent's state spans (report `agent_states`).",
    },
];

static DEFINITION: Definition = Definition {
    name: "agent_adherence",
    title: "Schedule adherence and conformance",
    description: "Per agent: scheduled time from the latest published schedule, time in and out of adherence, adherence and conformance.",
    grain: Grain::Aggregate,
    drill_down: Some("agent_states"),
    parameters: &PARAMS,
    columns: &COLUMNS,
};

/// `expr` as a local timestamp in microseconds, so that every time compared or subtracted
/// below has one type.
fn micros(expr: &str) -> String {
    format!("arrow_cast({expr}, 'Timestamp(Microsecond, None)')")
}

/// `agent_adherence`: one row per scheduled agent.
#[derive(Debug, Clone, Copy)]
pub struct AgentAdherence;

impl Report for AgentAdherence {
    fn definition(&self) -> &'static Definition {
        &DEFINITION
    }

    fn plan(&self, mut params: Params) -> Result<Query, ParamError> {
        let period = super::params::Period::take(&mut params)?;
        let agents = params.take_list("agent")?;
        params.finish(&accepted(&PARAMS))?;
        let mut sql = Sql::default();
        let spans = super::agents::spans_sql(&mut sql, &period, &agents);
        // Everything is cut and measured in UTC: an hour skipped or repeated by a clock
        // change is not an hour scheduled or worked.
        let (from, to) = period.utc_bounds();
        let from = micros(&sql.utc_time(from));
        let to = micros(&sql.utc_time(to));
        let now = micros(NOW_UTC);
        // A call answered in the period may end up to a day after it.
        let (first_day, last_day) = period.partition_dates(1);
        let first = sql.date(first_day);
        let last = sql.date(last_day);
        let call_at = micros("occurred_at");
        let call_agents = sql.one_of("agent_id", &agents);
        let scheduled_agents = sql.one_of("s.agent_id", &agents);
        let starts = micros("s.starts_at");
        let ends = micros("s.ends_at");
        let seconds = |end: &str, start: &str| {
            format!(
                "cast(cast({end} as bigint) - cast({start} as bigint) as double) / 1000000.0",
                end = micros(end),
                start = micros(start)
            )
        };
        let piece_seconds = seconds("ends_at", "starts_at");
        let text = format!(
            "{spans},
call_events as (
    select agent_id,
           event_type,
           {call_at} as at,
           lead({call_at}) over (partition by call_id order by occurred_at, event_id) as next_at
    from calls
    where event_date >= {first} and event_date <= {last}
      and event_type in ('call.answered', 'call.ended')
),
presence as (
    select agent_id, state, {started} as started_at, {ended} as ended_at
    from state_spans
    union all
    select agent_id,
           'on_call' as state,
           greatest(at, {from}) as started_at,
           least(coalesce(next_at, least({to}, {now})), {to}) as ended_at
    from call_events
    where event_type = 'call.answered' and {call_agents}
      and at < {to} and coalesce(next_at, {to}) > {from}
),
versions as (
    select week_start, max(version) as version
    from schedules
    where event_type = 'schedule.published'
    group by week_start
),
activities as (
    select s.agent_id,
           s.activity,
           greatest({starts}, {from}) as starts_at,
           least({ends}, {to}, {now}) as ends_at
    from schedules s
    join versions v on s.week_start = v.week_start and s.version = v.version
    where s.event_type = 'schedule.activity_scheduled' and {scheduled_agents}
      and {starts} < least({to}, {now}) and {ends} > {from}
),
bounds as (
    select agent_id, starts_at as at from activities
    union
    select agent_id, ends_at as at from activities
    union
    select agent_id, started_at as at from presence
    where agent_id in (select agent_id from activities)
    union
    select agent_id, ended_at as at from presence
    where agent_id in (select agent_id from activities)
),
pieces as (
    select agent_id, at as starts_at, lead(at) over (partition by agent_id order by at) as ends_at
    from bounds
),
scheduled as (
    select p.agent_id, a.activity, p.starts_at, p.ends_at
    from pieces p
    join activities a on a.agent_id = p.agent_id
        and p.starts_at >= a.starts_at and p.ends_at <= a.ends_at
    where p.ends_at > p.starts_at
),
classified as (
    select sc.agent_id,
           sc.activity,
           sc.starts_at,
           sc.ends_at,
           coalesce(bool_or(pr.state in ('ready', 'on_call')), false) as working,
           count(pr.state) > 0 as logged_in
    from scheduled sc
    left join presence pr on pr.agent_id = sc.agent_id
        and pr.started_at < sc.ends_at and pr.ended_at > sc.starts_at
    group by sc.agent_id, sc.activity, sc.starts_at, sc.ends_at
),
per_agent as (
    select agent_id,
           sum({piece_seconds}) as scheduled_sec,
           coalesce(sum({piece_seconds}) filter (where activity = 'work'), 0) as scheduled_work_sec,
           coalesce(sum({piece_seconds}) filter (where (activity = 'work') = working), 0) as in_adherence_sec,
           coalesce(sum({piece_seconds}) filter (where logged_in), 0) as worked_sec
    from classified
    group by agent_id
)
select agent_id,
       scheduled_sec,
       scheduled_work_sec,
       in_adherence_sec,
       scheduled_sec - in_adherence_sec as out_of_adherence_sec,
       worked_sec,
       1.0 - (scheduled_sec - in_adherence_sec) / nullif(scheduled_sec, 0) as adherence,
       worked_sec / nullif(scheduled_sec, 0) as conformance
from per_agent
order by agent_id",
            started = micros("started_utc"),
            ended = micros("ended_utc"),
        );
        let drill = DrillDown {
            report: "agent_states",
            period,
            interval: None,
            dimensions: vec![("agent_id", "agent")],
            carry: Vec::new(),
        };
        Ok(sql.finish(text, Some(drill)))
    }
}

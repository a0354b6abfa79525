//! Call reports: interval KPIs (`call_intervals`) and the calls behind them (`calls`).
//!
//! Both start from one row per call, built from the call's events: its arrival is the
//! `call.offered` time (when it asked for an agent; for a caller who hung up in the IVR, the
//! `call.ended` time) and its outcome, wait and handling times come from `call.ended`. A call
//! is counted in the interval of its arrival, in the report's time zone. Grouping the events
//! by call also makes the reports indifferent to an event landing twice.
//!
//! Definitions (ARCHITECTURE §7):
//! - offered = answered + abandoned + flowed out (short abandons left out when
//!   `exclude_short_abandons`); IVR hang-ups are never offered;
//! - a short abandon is an abandon after waiting less than `short_abandon_sec` (default 5);
//! - service level = answered within T / the `sl_formula` denominator (default answered +
//!   abandoned), T = `sl_threshold_sec` (default 20) or the queue's own T;
//! - ASA = mean wait of answered calls; AHT = mean (talk + hold + after-call work) of answered
//!   calls; abandon rate = abandoned / offered; transfer rate = transfers / answered.

use std::collections::BTreeSet;

use super::params::{CallMetricOptions, Dimension, Granularity, ParamError, Params, Period};
use super::query::{DrillDown, Query, Sql, local_time_sql};
use super::{ColumnDoc, Definition, Grain, PERIOD_PARAMS, ParamDoc, Report, accepted};

const FILTER_PARAMS: [ParamDoc; 3] = [
    ParamDoc {
        name: "queue",
        description: "Only these queues (comma-separated or repeated; (none) for calls without one).",
        default: None,
        required: false,
    },
    ParamDoc {
        name: "project",
        description: "Only these projects.",
        default: None,
        required: false,
    },
    ParamDoc {
        name: "agent",
        description: "Only calls last handled by these agents.",
        default: None,
        required: false,
    },
];

const OPTION_PARAMS: [ParamDoc; 5] = [
    ParamDoc {
        name: "sl_threshold_sec",
        description: "T of service level: answered within T seconds.",
        default: Some("20"),
        required: false,
    },
    ParamDoc {
        name: "queue_sl_threshold_sec",
        description: "T per queue, as queue:seconds pairs (billing:30,sales:15).",
        default: None,
        required: false,
    },
    ParamDoc {
        name: "sl_formula",
        description: "Service-level denominator: answered_and_abandoned, offered (flowed-out included) or answered.",
        default: Some("answered_and_abandoned"),
        required: false,
    },
    ParamDoc {
        name: "short_abandon_sec",
        description: "Abandons after waiting less than this many seconds are short abandons.",
        default: Some("5"),
        required: false,
    },
    ParamDoc {
        name: "exclude_short_abandons",
        description: "Leave short abandons out of offered, abandoned and service level.",
        default: Some("false"),
        required: false,
    },
];

const INTERVAL_PARAMS: [ParamDoc; 13] = [
    PERIOD_PARAMS[0],
    PERIOD_PARAMS[1],
    PERIOD_PARAMS[2],
    ParamDoc {
        name: "granularity",
        description: "Interval length: 15min, 30min, 60min, day, week (from Monday) or month.",
        default: Some("30min"),
        required: false,
    },
    ParamDoc {
        name: "by",
        description: "Break each interval down by queue, project and/or agent (comma-separated).",
        default: None,
        required: false,
    },
    FILTER_PARAMS[0],
    FILTER_PARAMS[1],
    FILTER_PARAMS[2],
    OPTION_PARAMS[0],
    OPTION_PARAMS[1],
    OPTION_PARAMS[2],
    OPTION_PARAMS[3],
    OPTION_PARAMS[4],
];

const DETAIL_PARAMS: [ParamDoc; 11] = [
    PERIOD_PARAMS[0],
    PERIOD_PARAMS[1],
    PERIOD_PARAMS[2],
    FILTER_PARAMS[0],
    FILTER_PARAMS[1],
    FILTER_PARAMS[2],
    OPTION_PARAMS[0],
    OPTION_PARAMS[1],
    OPTION_PARAMS[2],
    OPTION_PARAMS[3],
    OPTION_PARAMS[4],
];

const INTERVAL_COLUMNS: [ColumnDoc; 20] = [
    ColumnDoc {
        name: "interval_start",
        description: "Local start of the interval the calls arrived in.",
    },
    ColumnDoc {
        name: "interval_end",
        description: "Local end of the interval (excluded).",
    },
    ColumnDoc {
        name: "queue_id / project_id / agent_id",
        description: "The breakdown asked for with `by`, in that order (absent otherwise).",
    },
    ColumnDoc {
        name: "offered",
        description: "Answered + abandoned + flowed out (short abandons out when excluded).",
    },
    ColumnDoc {
        name: "answered",
        description: "Calls an agent answered.",
    },
    ColumnDoc {
        name: "abandoned",
        description: "Callers who hung up while waiting (short abandons included unless excluded).",
    },
    ColumnDoc {
        name: "short_abandoned",
        description: "Abandons after waiting less than short_abandon_sec.",
    },
    ColumnDoc {
        name: "flowed_out",
        description: "Calls that left the queue unanswered by rule (timeout, key press, empty queue).",
    },
    ColumnDoc {
        name: "ivr_hangups",
        description: "Callers who hung up in the IVR, never offered to agents (not in offered).",
    },
    ColumnDoc {
        name: "answered_within_threshold",
        description: "Answered calls that waited at most T seconds.",
    },
    ColumnDoc {
        name: "service_level",
        description: "answered_within_threshold / the sl_formula denominator (null when it is 0).",
    },
    ColumnDoc {
        name: "abandon_rate",
        description: "abandoned / offered.",
    },
    ColumnDoc {
        name: "asa_sec",
        description: "Average speed of answer: mean wait of answered calls, in seconds.",
    },
    ColumnDoc {
        name: "aht_sec",
        description: "Average handling time: mean talk + hold + after-call work of answered calls.",
    },
    ColumnDoc {
        name: "avg_talk_sec",
        description: "Mean talk time of answered calls.",
    },
    ColumnDoc {
        name: "avg_hold_sec",
        description: "Mean hold time of answered calls.",
    },
    ColumnDoc {
        name: "avg_acw_sec",
        description: "Mean after-call work of answered calls.",
    },
    ColumnDoc {
        name: "longest_wait_sec",
        description: "The longest wait of any offered call.",
    },
    ColumnDoc {
        name: "transfer_rate",
        description: "Transfers of answered calls / answered.",
    },
    ColumnDoc {
        name: "drill_down",
        description: "Link to the calls behind the row (report `calls`).",
    },
];

const DETAIL_COLUMNS: [ColumnDoc; 16] = [
    ColumnDoc {
        name: "call_id",
        description: "The call.",
    },
    ColumnDoc {
        name: "arrived_at",
        description: "Local time it asked for an agent (IVR hang-ups: when they hung up).",
    },
    ColumnDoc {
        name: "ended_at",
        description: "Local time it ended.",
    },
    ColumnDoc {
        name: "queue_id",
        description: "The queue it was offered to.",
    },
    ColumnDoc {
        name: "project_id",
        description: "The project the queue serves.",
    },
    ColumnDoc {
        name: "agent_id",
        description: "The agent who handled it last.",
    },
    ColumnDoc {
        name: "customer_id",
        description: "The caller, when identified.",
    },
    ColumnDoc {
        name: "outcome",
        description: "answered, abandoned, short_abandon, flowed_out or ivr_hangup (short abandons reclassified with short_abandon_sec).",
    },
    ColumnDoc {
        name: "wait_sec",
        description: "Seconds waited in the queue.",
    },
    ColumnDoc {
        name: "talk_sec",
        description: "Seconds of conversation.",
    },
    ColumnDoc {
        name: "hold_sec",
        description: "Seconds on hold.",
    },
    ColumnDoc {
        name: "acw_sec",
        description: "Seconds of after-call work.",
    },
    ColumnDoc {
        name: "handle_sec",
        description: "talk + hold + after-call work.",
    },
    ColumnDoc {
        name: "sl_threshold_sec",
        description: "The T that applies to its queue.",
    },
    ColumnDoc {
        name: "answered_within_threshold",
        description: "Answered after waiting at most T.",
    },
    ColumnDoc {
        name: "transfers",
        description: "How often it was transferred.",
    },
];

static INTERVALS_DEFINITION: Definition = Definition {
    name: "call_intervals",
    title: "Call interval KPIs",
    description: "Offered, answered, abandoned, service level, ASA, AHT and more per interval, optionally per queue, project or agent.",
    grain: Grain::Aggregate,
    drill_down: Some("calls"),
    parameters: &INTERVAL_PARAMS,
    columns: &INTERVAL_COLUMNS,
};

static CALLS_DEFINITION: Definition = Definition {
    name: "calls",
    title: "Calls",
    description: "One row per call, with its arrival, outcome, wait and handling times.",
    grain: Grain::Detail,
    drill_down: None,
    parameters: &DETAIL_PARAMS,
    columns: &DETAIL_COLUMNS,
};

/// Which calls a call report covers and how their metrics are defined.
#[derive(Debug, Clone)]
pub(crate) struct CallSelection {
    pub(crate) period: Period,
    pub(crate) queues: BTreeSet<String>,
    pub(crate) projects: BTreeSet<String>,
    pub(crate) agents: BTreeSet<String>,
    pub(crate) options: CallMetricOptions,
}

impl CallSelection {
    pub(crate) fn take(params: &mut Params) -> Result<Self, ParamError> {
        Ok(Self {
            period: Period::take(params)?,
            queues: params.take_list("queue")?,
            projects: params.take_list("project")?,
            agents: params.take_list("agent")?,
            options: CallMetricOptions::take(params)?,
        })
    }

    /// The parameters that select the same calls with the same definitions, for links.
    pub(crate) fn carry(&self) -> Vec<(String, String)> {
        let mut carry = Vec::new();
        for (name, values) in [
            ("queue", &self.queues),
            ("project", &self.projects),
            ("agent", &self.agents),
        ] {
            if !values.is_empty() {
                let joined: Vec<&str> = values.iter().map(String::as_str).collect();
                carry.push((name.to_owned(), joined.join(",")));
            }
        }
        let options = &self.options;
        let defaults = CallMetricOptions::default();
        if options.sl_threshold_sec != defaults.sl_threshold_sec {
            carry.push((
                "sl_threshold_sec".into(),
                options.sl_threshold_sec.to_string(),
            ));
        }
        if !options.queue_sl_threshold_sec.is_empty() {
            let pairs: Vec<String> = options
                .queue_sl_threshold_sec
                .iter()
                .map(|(queue, seconds)| format!("{queue}:{seconds}"))
                .collect();
            carry.push(("queue_sl_threshold_sec".into(), pairs.join(",")));
        }
        if options.sl_formula != defaults.sl_formula {
            let formula = serde_json::to_value(options.sl_formula)
                .ok()
                .and_then(|value| value.as_str().map(str::to_owned))
                .unwrap_or_default();
            carry.push(("sl_formula".into(), formula));
        }
        if options.short_abandon_sec != defaults.short_abandon_sec {
            carry.push((
                "short_abandon_sec".into(),
                options.short_abandon_sec.to_string(),
            ));
        }
        if options.exclude_short_abandons {
            carry.push(("exclude_short_abandons".into(), "true".into()));
        }
        carry
    }

    /// `with …` defining `call_facts`: one row per selected call.
    pub(crate) fn facts_sql(&self, sql: &mut Sql) -> String {
        let tz = &self.period.tz;
        let (first_day, last_day) = self.period.partition_dates(0);
        let first = sql.date(first_day);
        let last = sql.date(last_day);
        let last_end = sql.date(last_day + chrono::Duration::days(1));
        let short = sql.int(i64::from(self.options.short_abandon_sec));
        let from = sql.local_time(self.period.from);
        let to = sql.local_time(self.period.to);
        let arrived = local_time_sql("coalesce(e.offered_at, e.ended_at)", tz);
        let ended = local_time_sql("e.ended_at", tz);
        // Each queue's own T, else the default.
        let mut threshold = String::new();
        for (queue, seconds) in &self.options.queue_sl_threshold_sec {
            let queue = sql.text(queue);
            let seconds = sql.int(i64::from(*seconds));
            threshold.push_str(&format!("when queue_id = {queue} then {seconds} "));
        }
        let default_threshold = sql.int(i64::from(self.options.sl_threshold_sec));
        let threshold = if threshold.is_empty() {
            default_threshold
        } else {
            format!("case {threshold}else {default_threshold} end")
        };
        // One pass over the call events: a call's offer (on the period's days) and its end (up
        // to a day later) are aggregated side by side instead of scanned twice and joined. What
        // every call report reads of the end is taken from its row as one struct; the queue,
        // project and agent stay apart, so that a report without them drops their aggregates.
        let offered = format!("event_type = 'call.offered' and event_date <= {last}");
        let ended_event = "event_type = 'call.ended'";
        let queues = sql.one_of("queue_id", &self.queues);
        let projects = sql.one_of("project_id", &self.projects);
        let agents = sql.one_of("agent_id", &self.agents);
        format!(
            "with per_call_rows as (
    select call_id,
           min(occurred_at) filter (where {offered}) as offered_at,
           arg_min(queue_id, occurred_at) filter (where {offered}) as offered_queue_id,
           arg_min(project_id, occurred_at) filter (where {offered}) as offered_project_id,
           arg_min(customer_id, occurred_at) filter (where {offered}) as customer_id,
           arg_max(named_struct('at', occurred_at, 'outcome', outcome,
                                'wait_sec', wait_seconds, 'talk_sec', talk_seconds,
                                'hold_sec', hold_seconds, 'acw_sec', after_call_work_seconds),
                   occurred_at) filter (where {ended_event}) as ending,
           arg_max(queue_id, occurred_at) filter (where {ended_event}) as queue_id,
           arg_max(project_id, occurred_at) filter (where {ended_event}) as project_id,
           arg_max(agent_id, occurred_at) filter (where {ended_event}) as agent_id
    from calls
    where event_type in ('call.offered', 'call.ended')
      and event_date >= {first} and event_date <= {last_end}
    group by call_id
),
per_call as (
    select call_id, offered_at, offered_queue_id, offered_project_id, customer_id,
           ending['at'] as ended_at,
           ending['outcome'] as outcome,
           queue_id, project_id, agent_id,
           ending['wait_sec'] as wait_sec,
           ending['talk_sec'] as talk_sec,
           ending['hold_sec'] as hold_sec,
           ending['acw_sec'] as acw_sec
    from per_call_rows
),
transfers as (
    select call_id, count(distinct event_id) as transfers
    from calls
    where event_type = 'call.transferred' and event_date >= {first} and event_date <= {last_end}
    group by call_id
),
facts as (
    select e.call_id,
           {arrived} as arrived_at,
           {ended} as ended_at,
           coalesce(e.queue_id, e.offered_queue_id) as queue_id,
           coalesce(e.project_id, e.offered_project_id) as project_id,
           e.agent_id,
           e.customer_id,
           case
               when e.outcome in ('abandoned', 'short_abandon') and e.wait_sec < {short}
                   then 'short_abandon'
               when e.outcome in ('abandoned', 'short_abandon') then 'abandoned'
               else e.outcome
           end as outcome,
           e.wait_sec,
           e.talk_sec,
           e.hold_sec,
           e.acw_sec,
           coalesce(t.transfers, 0) as transfers
    from per_call e
    left join transfers t on t.call_id = e.call_id
    where e.ended_at is not null
),
call_facts as (
    select *, {threshold} as sl_threshold_sec
    from facts
    where arrived_at >= {from} and arrived_at < {to}
      and {queues} and {projects} and {agents}
)"
        )
    }
}

/// `call_intervals`: the interval KPIs of calls.
#[derive(Debug, Clone, Copy)]
pub struct CallIntervals;

impl Report for CallIntervals {
    fn definition(&self) -> &'static Definition {
        &INTERVALS_DEFINITION
    }

    fn plan(&self, mut params: Params) -> Result<Query, ParamError> {
        let selection = CallSelection::take(&mut params)?;
        let granularity = params.take_parsed("granularity", Granularity::Minutes30)?;
        let dimensions =
            params.take_breakdown(&[Dimension::Queue, Dimension::Project, Dimension::Agent])?;
        params.finish(&accepted(&INTERVAL_PARAMS))?;

        let mut sql = Sql::default();
        let facts = selection.facts_sql(&mut sql);
        let options = &selection.options;
        let counted_abandons = if options.exclude_short_abandons {
            "'abandoned'"
        } else {
            "'abandoned', 'short_abandon'"
        };
        let offered = format!("outcome in ('answered', 'flowed_out', {counted_abandons})");
        let abandoned = format!("outcome in ({counted_abandons})");
        let denominator = match options.sl_formula {
            super::ServiceLevelFormula::AnsweredAndAbandoned => {
                format!("outcome in ('answered', {counted_abandons})")
            }
            super::ServiceLevelFormula::Offered => offered.clone(),
            super::ServiceLevelFormula::Answered => "outcome = 'answered'".to_owned(),
        };
        let bucket = granularity.bucket_sql("arrived_at");
        let end = granularity.end_sql("interval_start");
        let columns: Vec<&str> = dimensions.iter().map(Dimension::column).collect();
        let group = std::iter::once("interval_start")
            .chain(columns.iter().copied())
            .collect::<Vec<_>>()
            .join(", ");
        let dimension_select: String = columns.iter().map(|c| format!("{c}, ")).collect();
        let aggregates = format!(
            "interval_start,
       {end} as interval_end,
       {dimension_select}count(*) filter (where {offered}) as offered,
       count(*) filter (where outcome = 'answered') as answered,
       count(*) filter (where {abandoned}) as abandoned,
       count(*) filter (where outcome = 'short_abandon') as short_abandoned,
       count(*) filter (where outcome = 'flowed_out') as flowed_out,
       count(*) filter (where outcome = 'ivr_hangup') as ivr_hangups,
       count(*) filter (where outcome = 'answered' and wait_sec <= sl_threshold_sec) as answered_within_threshold,
       cast(count(*) filter (where outcome = 'answered' and wait_sec <= sl_threshold_sec) as double)
           / nullif(count(*) filter (where {denominator}), 0) as service_level,
       cast(count(*) filter (where {abandoned}) as double)
           / nullif(count(*) filter (where {offered}), 0) as abandon_rate,
       avg(cast(wait_sec as double)) filter (where outcome = 'answered') as asa_sec,
       avg(cast(talk_sec + hold_sec + acw_sec as double)) filter (where outcome = 'answered') as aht_sec,
       avg(cast(talk_sec as double)) filter (where outcome = 'answered') as avg_talk_sec,
       avg(cast(hold_sec as double)) filter (where outcome = 'answered') as avg_hold_sec,
       avg(cast(acw_sec as double)) filter (where outcome = 'answered') as avg_acw_sec,
       max(wait_sec) filter (where {offered}) as longest_wait_sec,
       cast(sum(transfers) filter (where outcome = 'answered') as double)
           / nullif(count(*) filter (where outcome = 'answered'), 0) as transfer_rate"
        );
        let drill = DrillDown::per_interval(
            "calls",
            selection.period.clone(),
            granularity,
            &dimensions,
            selection.carry(),
        );
        let source = format!("(select {bucket} as interval_start, * from call_facts)");
        Ok(sql.finish_per_interval(&facts, &aggregates, &source, &group, drill))
    }
}

/// `calls`: one row per call.
#[derive(Debug, Clone, Copy)]
pub struct Calls;

impl Report for Calls {
    fn definition(&self) -> &'static Definition {
        &CALLS_DEFINITION
    }

    fn plan(&self, mut params: Params) -> Result<Query, ParamError> {
        let selection = CallSelection::take(&mut params)?;
        params.finish(&accepted(&DETAIL_PARAMS))?;
        let mut sql = Sql::default();
        let facts = selection.facts_sql(&mut sql);
        let text = format!(
            "{facts}
select call_id, arrived_at, ended_at, queue_id, project_id, agent_id, customer_id, outcome,
       wait_sec, talk_sec, hold_sec, acw_sec,
       talk_sec + hold_sec + acw_sec as handle_sec,
       sl_threshold_sec,
       outcome = 'answered' and wait_sec <= sl_threshold_sec as answered_within_threshold,
       transfers
from call_facts
order by arrived_at, call_id"
        );
        Ok(sql.finish(text, None))
    }
}

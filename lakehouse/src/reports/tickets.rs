//! Ticket reports: flow and quality per interval (`ticket_intervals`) and the tickets behind
//! them (`tickets`).
//!
//! A ticket's state events cut its life into open and resolved phases: `ticket.created` and
//! `ticket.reopened` open it, `ticket.closed` or a status change to `solved` or `closed`
//! resolves it, another status change keeps it open. Only a change of phase counts: solving
//! and then closing a ticket is one resolution.
//!
//! Per interval (in the report's time zone):
//! - flow: `created`, `resolved` and `reopened` count the phase changes in the interval;
//!   `backlog` is the number of open tickets at the interval's end, over all history;
//! - quality, for the tickets created in the interval (their cohort): mean first-response
//!   time (first public comment by an agent), mean resolution time (creation to the final
//!   resolution), the share that met the first-response and resolution targets
//!   (`sla_first_response_min`, `sla_resolution_min`, in wall-clock minutes), the reopen rate
//!   (resolved tickets reopened at least once / resolved) and FCR: a resolved, never reopened
//!   ticket whose customer opened no other ticket in the same queue within
//!   `fcr_window_days` after it (default 7), over resolved tickets with a known customer.

use std::collections::BTreeSet;

use super::params::{Dimension, Granularity, ParamError, Params, Period};
use super::query::{DrillDown, Query, Sql, local_time_sql};
use super::{ColumnDoc, Definition, Grain, PERIOD_PARAMS, ParamDoc, Report, accepted};

const BASE_PARAMS: [ParamDoc; 9] = [
    PERIOD_PARAMS[0],
    PERIOD_PARAMS[1],
    PERIOD_PARAMS[2],
    ParamDoc {
        name: "channel",
        description: "Only tickets that arrived by these channels (phone, email, sms, chat, messenger, web…).",
        default: None,
        required: false,
    },
    ParamDoc {
        name: "project",
        description: "Only these projects ((none) for tickets without one).",
        default: None,
        required: false,
    },
    ParamDoc {
        name: "queue",
        description: "Only these queues.",
        default: None,
        required: false,
    },
    ParamDoc {
        name: "sla_first_response_min",
        description: "First-response target in minutes.",
        default: Some("60"),
        required: false,
    },
    ParamDoc {
        name: "sla_resolution_min",
        description: "Resolution target in minutes.",
        default: Some("1440"),
        required: false,
    },
    ParamDoc {
        name: "fcr_window_days",
        description: "A new ticket of the same customer in the same queue within this many days means the first was not resolved at first contact.",
        default: Some("7"),
        required: false,
    },
];

const INTERVAL_PARAMS: [ParamDoc; 11] = [
    BASE_PARAMS[0],
    BASE_PARAMS[1],
    BASE_PARAMS[2],
    ParamDoc {
        name: "granularity",
        description: "Interval length: 15min, 30min, 60min, day, week (from Monday) or month.",
        default: Some("day"),
        required: false,
    },
    ParamDoc {
        name: "by",
        description: "Break each interval down by channel, project and/or queue.",
        default: None,
        required: false,
    },
    BASE_PARAMS[3],
    BASE_PARAMS[4],
    BASE_PARAMS[5],
    BASE_PARAMS[6],
    BASE_PARAMS[7],
    BASE_PARAMS[8],
];

const INTERVAL_COLUMNS: [ColumnDoc; 15] = [
    ColumnDoc {
        name: "interval_start",
        description: "Local start of the interval.",
    },
    ColumnDoc {
        name: "interval_end",
        description: "Local end of the interval (excluded).",
    },
    ColumnDoc {
        name: "channel / project_id / queue_id",
        description: "The breakdown asked for with `by`, in that order (absent otherwise).",
    },
    ColumnDoc {
        name: "created",
        description: "Tickets created in the interval.",
    },
    ColumnDoc {
        name: "resolved",
        description: "Resolutions in the interval (solved or closed from an open phase).",
    },
    ColumnDoc {
        name: "reopened",
        description: "Reopenings in the interval.",
    },
    ColumnDoc {
        name: "backlog",
        description: "Open tickets at the interval's end (all history counted).",
    },
    ColumnDoc {
        name: "avg_first_response_min",
        description: "Mean minutes from creation to the first public agent comment, for the tickets created in the interval.",
    },
    ColumnDoc {
        name: "avg_resolution_min",
        description: "Mean minutes from creation to the final resolution, same cohort.",
    },
    ColumnDoc {
        name: "first_response_sla_met",
        description: "Share of the cohort answered within sla_first_response_min (unanswered tickets older than the target count as missed).",
    },
    ColumnDoc {
        name: "resolution_sla_met",
        description: "Share of the cohort resolved within sla_resolution_min (same rule).",
    },
    ColumnDoc {
        name: "fcr_rate",
        description: "Resolved, never reopened, no repeat ticket of the customer in the queue within the window / resolved with a known customer.",
    },
    ColumnDoc {
        name: "reopen_rate",
        description: "Resolved tickets of the cohort reopened at least once / resolved.",
    },
    ColumnDoc {
        name: "open_now",
        description: "Tickets of the cohort still open.",
    },
    ColumnDoc {
        name: "drill_down",
        description: "Link to the tickets created in the interval (report `tickets`).",
    },
];

const DETAIL_COLUMNS: [ColumnDoc; 13] = [
    ColumnDoc {
        name: "ticket_id",
        description: "The ticket.",
    },
    ColumnDoc {
        name: "created_at",
        description: "Local creation time.",
    },
    ColumnDoc {
        name: "channel",
        description: "The channel it arrived by.",
    },
    ColumnDoc {
        name: "project_id",
        description: "Its project.",
    },
    ColumnDoc {
        name: "queue_id",
        description: "Its queue.",
    },
    ColumnDoc {
        name: "customer_id",
        description: "Its customer, when known.",
    },
    ColumnDoc {
        name: "priority",
        description: "Its priority at creation.",
    },
    ColumnDoc {
        name: "first_response_at",
        description: "Local time of the first public agent comment.",
    },
    ColumnDoc {
        name: "resolved_at",
        description: "Local time of the final resolution (null while open).",
    },
    ColumnDoc {
        name: "first_response_min",
        description: "Minutes to the first response.",
    },
    ColumnDoc {
        name: "resolution_min",
        description: "Minutes to the final resolution.",
    },
    ColumnDoc {
        name: "reopens",
        description: "How often it was reopened.",
    },
    ColumnDoc {
        name: "first_contact_resolution",
        description: "Resolved, never reopened and no repeat ticket within the window (null without a customer or while open).",
    },
];

static INTERVALS_DEFINITION: Definition = Definition {
    name: "ticket_intervals",
    title: "Ticket flow and quality",
    description: "Created, resolved, reopened and backlog per interval, with first-response and resolution times, SLA met, FCR and reopen rate.",
    grain: Grain::Aggregate,
    drill_down: Some("tickets"),
    parameters: &INTERVAL_PARAMS,
    columns: &INTERVAL_COLUMNS,
};

static TICKETS_DEFINITION: Definition = Definition {
    name: "tickets",
    title: "Tickets",
    description: "One row per ticket created in the period, with its response and resolution times.",
    grain: Grain::Detail,
    drill_down: None,
    parameters: &BASE_PARAMS,
    columns: &DETAIL_COLUMNS,
};

struct TicketSelection {
    period: Period,
    channels: BTreeSet<String>,
    projects: BTreeSet<String>,
    queues: BTreeSet<String>,
    sla_first_response_min: u32,
    sla_resolution_min: u32,
    fcr_window_days: u32,
}

impl TicketSelection {
    fn take(params: &mut Params) -> Result<Self, ParamError> {
        let period = Period::take(params)?;
        let minutes = |params: &mut Params, name: &str, default: u32| {
            let value: u32 = params.take_parsed(name, default)?;
            if value == 0 || value > 525_600 {
                return Err(ParamError::new(name, "between 1 and 525600 minutes"));
            }
            Ok(value)
        };
        let sla_first_response_min = minutes(params, "sla_first_response_min", 60)?;
        let sla_resolution_min = minutes(params, "sla_resolution_min", 1440)?;
        let fcr_window_days: u32 = params.take_parsed("fcr_window_days", 7)?;
        if fcr_window_days > 365 {
            return Err(ParamError::new("fcr_window_days", "at most 365 days"));
        }
        Ok(Self {
            period,
            channels: params.take_list("channel")?,
            projects: params.take_list("project")?,
            queues: params.take_list("queue")?,
            sla_first_response_min,
            sla_resolution_min,
            fcr_window_days,
        })
    }

    fn carry(&self) -> Vec<(String, String)> {
        let mut carry = Vec::new();
        for (name, values) in [
            ("channel", &self.channels),
            ("project", &self.projects),
            ("queue", &self.queues),
        ] {
            if !values.is_empty() {
                let joined: Vec<&str> = values.iter().map(String::as_str).collect();
                carry.push((name.to_owned(), joined.join(",")));
            }
        }
        carry.push((
            "sla_first_response_min".into(),
            self.sla_first_response_min.to_string(),
        ));
        carry.push((
            "sla_resolution_min".into(),
            self.sla_resolution_min.to_string(),
        ));
        carry.push(("fcr_window_days".into(), self.fcr_window_days.to_string()));
        carry
    }

    /// `with …` defining `ticket_facts` (every ticket matching the filters, whenever it was
    /// created) and `transitions` (their phase changes).
    fn facts_sql(&self, sql: &mut Sql) -> String {
        let tz = &self.period.tz;
        let created_local = local_time_sql("c.created_utc", tz);
        let response_local = local_time_sql("a.first_response_utc", tz);
        let resolved_local = local_time_sql("r.resolved_utc", tz);
        let at_local = local_time_sql("occurred_at", tz);
        let channels = sql.one_of("channel", &self.channels);
        let projects = sql.one_of("project_id", &self.projects);
        let queues = sql.one_of("queue_id", &self.queues);
        let window = sql.int(i64::from(self.fcr_window_days) * 86_400_000_000);
        format!(
            "with created as (
    select ticket_id,
           min(occurred_at) as created_utc,
           arg_min(channel, occurred_at) as channel,
           arg_min(project_id, occurred_at) as project_id,
           arg_min(queue_id, occurred_at) as queue_id,
           arg_min(customer_id, occurred_at) as customer_id,
           arg_min(priority, occurred_at) as priority
    from tickets
    where event_type = 'ticket.created'
    group by ticket_id
),
selected as (
    select * from created where {channels} and {projects} and {queues}
),
phase_events as (
    select distinct event_id, ticket_id, occurred_at,
           case
               when event_type = 'ticket.closed' then 'resolved'
               when event_type = 'ticket.status_changed' and status_to in ('solved', 'closed') then 'resolved'
               else 'open'
           end as phase
    from tickets
    where event_type in ('ticket.created', 'ticket.reopened', 'ticket.closed', 'ticket.status_changed')
      and ticket_id in (select ticket_id from selected)
),
transitions as (
    select ticket_id, occurred_at, {at_local} as at, phase,
           lag(phase) over (partition by ticket_id order by occurred_at, event_id) as previous,
           row_number() over (partition by ticket_id order by occurred_at desc, event_id desc) as from_last
    from phase_events
),
changes as (
    select ticket_id, occurred_at, at,
           case
               when phase = 'open' and previous is null then 'created'
               when phase = 'open' and previous = 'resolved' then 'reopened'
               when phase = 'resolved' and coalesce(previous, 'open') = 'open' then 'resolved'
           end as change,
           phase,
           from_last
    from transitions
),
resolutions as (
    select ticket_id,
           max(occurred_at) filter (where change = 'resolved') as resolved_utc,
           max(phase) filter (where from_last = 1) as final_phase,
           count(*) filter (where change = 'reopened') as reopens
    from changes
    group by ticket_id
),
responses as (
    select ticket_id, min(occurred_at) as first_response_utc
    from tickets
    where event_type = 'ticket.commented' and author_kind = 'agent' and public
    group by ticket_id
),
facts as (
    select c.ticket_id,
           {created_local} as created_at,
           c.created_utc,
           c.channel, c.project_id, c.queue_id, c.customer_id, c.priority,
           {response_local} as first_response_at,
           case when r.final_phase = 'resolved' then {resolved_local} end as resolved_at,
           cast(cast(a.first_response_utc as bigint) - cast(c.created_utc as bigint) as double) / 60000000.0 as first_response_min,
           case when r.final_phase = 'resolved'
                then cast(cast(r.resolved_utc as bigint) - cast(c.created_utc as bigint) as double) / 60000000.0
           end as resolution_min,
           coalesce(r.reopens, 0) as reopens
    from selected c
    left join responses a on a.ticket_id = c.ticket_id
    left join resolutions r on r.ticket_id = c.ticket_id
),
repeats as (
    select distinct t.ticket_id
    from facts t
    join facts n
      on n.customer_id = t.customer_id
     and coalesce(n.queue_id, '') = coalesce(t.queue_id, '')
     and n.ticket_id <> t.ticket_id
     and cast(n.created_utc as bigint) > cast(t.created_utc as bigint)
     and cast(n.created_utc as bigint) <= cast(t.created_utc as bigint) + {window}
    where t.customer_id is not null
),
ticket_facts as (
    select f.*,
           case
               when f.customer_id is null or f.resolved_at is null then null
               else f.reopens = 0 and p.ticket_id is null
           end as first_contact_resolution
    from facts f
    left join repeats p on p.ticket_id = f.ticket_id
)"
        )
    }
}

/// `ticket_intervals`: flow and quality of tickets per interval.
#[derive(Debug, Clone, Copy)]
pub struct TicketIntervals;

impl Report for TicketIntervals {
    fn definition(&self) -> &'static Definition {
        &INTERVALS_DEFINITION
    }

    fn plan(&self, mut params: Params) -> Result<Query, ParamError> {
        let selection = TicketSelection::take(&mut params)?;
        let granularity = params.take_parsed("granularity", Granularity::Day)?;
        let dimensions =
            params.take_breakdown(&[Dimension::Channel, Dimension::Project, Dimension::Queue])?;
        params.finish(&accepted(&INTERVAL_PARAMS))?;

        let mut sql = Sql::default();
        let facts = selection.facts_sql(&mut sql);
        let from = sql.local_time(selection.period.from);
        let to = sql.local_time(selection.period.to);
        let response_target = sql.int(i64::from(selection.sla_first_response_min));
        let resolution_target = sql.int(i64::from(selection.sla_resolution_min));
        let now = local_time_sql("now()", &selection.period.tz);
        let columns: Vec<&str> = dimensions.iter().map(Dimension::column).collect();
        let dims_select: String = columns.iter().map(|c| format!("{c}, ")).collect();
        let dims_group: String = columns.iter().map(|c| format!(", {c}")).collect();
        let dims_join: String = columns
            .iter()
            .map(|c| format!(" and g.{c} is not distinct from x.{c}"))
            .collect();
        let dims_g: String = columns.iter().map(|c| format!("g.{c}, ")).collect();
        let bucket_at = granularity.bucket_sql("at");
        let bucket_created = granularity.bucket_sql("created_at");
        let interval_end = granularity.end_sql("g.interval_start");
        let text = format!(
            "{facts},
flow as (
    select {bucket_at} as interval_start, {dims_select}
           count(*) filter (where change = 'created') as created,
           count(*) filter (where change = 'resolved') as resolved,
           count(*) filter (where change = 'reopened') as reopened,
           sum(case when change in ('created', 'reopened') then 1 when change = 'resolved' then -1 else 0 end) as delta
    from changes ch
    join ticket_facts tf on tf.ticket_id = ch.ticket_id
    where ch.change is not null and ch.at >= {from} and ch.at < {to}
    group by {bucket_at}{dims_group}
),
before as (
    select {dims_select}
           sum(case when change in ('created', 'reopened') then 1 when change = 'resolved' then -1 else 0 end) as opening
    from changes ch
    join ticket_facts tf on tf.ticket_id = ch.ticket_id
    where ch.change is not null and ch.at < {from}
    {group_before}
),
cohort as (
    select {bucket_created} as interval_start, {dims_select}
           avg(first_response_min) as avg_first_response_min,
           avg(resolution_min) as avg_resolution_min,
           cast(count(*) filter (where first_response_min <= {response_target}) as double)
               / nullif(count(*) filter (where first_response_min is not null
                   or cast({now} as bigint) - cast(created_at as bigint) > {response_target} * 60000000), 0)
               as first_response_sla_met,
           cast(count(*) filter (where resolution_min <= {resolution_target}) as double)
               / nullif(count(*) filter (where resolution_min is not null
                   or cast({now} as bigint) - cast(created_at as bigint) > {resolution_target} * 60000000), 0)
               as resolution_sla_met,
           cast(count(*) filter (where first_contact_resolution) as double)
               / nullif(count(*) filter (where first_contact_resolution is not null), 0) as fcr_rate,
           cast(count(*) filter (where resolved_at is not null and reopens > 0) as double)
               / nullif(count(*) filter (where resolved_at is not null), 0) as reopen_rate,
           count(*) filter (where resolved_at is null) as open_now
    from ticket_facts
    where created_at >= {from} and created_at < {to}
    group by {bucket_created}{dims_group}
),
grid as (
    select interval_start, {dims_select}created, resolved, reopened, delta
    from flow
)
select g.interval_start,
       {interval_end} as interval_end,
       {dims_g}g.created,
       g.resolved,
       g.reopened,
       coalesce(o.opening, 0) + sum(g.delta) over ({partition}order by g.interval_start
           rows between unbounded preceding and current row) as backlog,
       x.avg_first_response_min,
       x.avg_resolution_min,
       x.first_response_sla_met,
       x.resolution_sla_met,
       x.fcr_rate,
       x.reopen_rate,
       coalesce(x.open_now, 0) as open_now
from grid g
left join cohort x on x.interval_start = g.interval_start{dims_join}
left join before o on true{dims_before_join}
order by g.interval_start{dims_order}",
            group_before = if columns.is_empty() {
                String::new()
            } else {
                format!("group by {}", columns.join(", "))
            },
            partition = if columns.is_empty() {
                String::new()
            } else {
                let columns: Vec<String> = columns.iter().map(|c| format!("g.{c}")).collect();
                format!("partition by {} ", columns.join(", "))
            },
            dims_before_join = columns
                .iter()
                .map(|c| format!(" and o.{c} is not distinct from g.{c}"))
                .collect::<String>(),
            dims_order = columns
                .iter()
                .map(|c| format!(", g.{c}"))
                .collect::<String>(),
        );
        let drill = DrillDown::per_interval(
            "tickets",
            selection.period.clone(),
            granularity,
            &dimensions,
            selection.carry(),
        );
        Ok(sql.finish(text, Some(drill)))
    }
}

/// `tickets`: one row per ticket created in the period.
#[derive(Debug, Clone, Copy)]
pub struct Tickets;

impl Report for Tickets {
    fn definition(&self) -> &'static Definition {
        &TICKETS_DEFINITION
    }

    fn plan(&self, mut params: Params) -> Result<Query, ParamError> {
        let selection = TicketSelection::take(&mut params)?;
        params.finish(&accepted(&BASE_PARAMS))?;
        let mut sql = Sql::default();
        let facts = selection.facts_sql(&mut sql);
        let from = sql.local_time(selection.period.from);
        let to = sql.local_time(selection.period.to);
        let text = format!(
            "{facts}
select ticket_id, created_at, channel, project_id, queue_id, customer_id, priority,
       first_response_at, resolved_at, first_response_min, resolution_min, reopens,
       first_contact_resolution
from ticket_facts
where created_at >= {from} and created_at < {to}
order by created_at, ticket_id"
        );
        Ok(sql.finish(text, None))
    }
}

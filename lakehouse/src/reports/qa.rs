//! QA reports: evaluation scores per interval (`qa_intervals`) and the evaluations behind
//! them (`qa_evaluations`).
//!
//! Every `qa.evaluated` event scores one call or ticket of one agent against a scorecard.
//! An evaluation that is scored again (another event with the same `evaluation_id`, after a
//! dispute say) counts once, with its latest score, in the interval of its latest scoring; an
//! event landing twice counts once. Evaluations are counted in the interval they were scored
//! in, in the report's time zone.
//!
//! Definitions:
//! - score % = 100 × points / max points of one evaluation, so scorecards of different sizes
//!   weigh the same;
//! - mean, lowest and highest score % are taken over the evaluations;
//! - an evaluation **passes** when its score % reaches `pass_score_pct` (default 80) and no
//!   critical criterion failed: a critical failure fails it whatever the points;
//! - pass rate = passed / evaluations; critical-failure rate = critical failures / evaluations.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use super::params::{Dimension, Granularity, ParamError, Params, Period};
use super::query::{DrillDown, Query, Sql, local_time_sql};
use super::{ColumnDoc, Definition, Grain, PERIOD_PARAMS, ParamDoc, Report, accepted};

/// The score an evaluation must reach to pass, in whole percent of its scorecard's maximum.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PassScore(u32);

impl PassScore {
    /// The default threshold: 80 %.
    pub const DEFAULT: PassScore = PassScore(80);

    /// The threshold in percent, 0 to 100.
    pub fn percent(&self) -> u32 {
        self.0
    }
}

impl FromStr for PassScore {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.parse::<u32>() {
            Ok(percent) if percent <= 100 => Ok(Self(percent)),
            _ => Err(format!("`{text}` is not a whole percentage from 0 to 100")),
        }
    }
}

impl fmt::Display for PassScore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

const FILTER_PARAMS: [ParamDoc; 4] = [
    ParamDoc {
        name: "agent",
        description: "Only evaluations of these agents (comma-separated or repeated).",
        default: None,
        required: false,
    },
    ParamDoc {
        name: "scorecard",
        description: "Only evaluations against these scorecards.",
        default: None,
        required: false,
    },
    ParamDoc {
        name: "evaluator",
        description: "Only evaluations by these evaluators.",
        default: None,
        required: false,
    },
    ParamDoc {
        name: "pass_score_pct",
        description: "Score an evaluation must reach to pass, in whole percent of the scorecard's maximum (0–100); a critical failure fails it whatever the score.",
        default: Some("80"),
        required: false,
    },
];

const INTERVAL_PARAMS: [ParamDoc; 9] = [
    PERIOD_PARAMS[0],
    PERIOD_PARAMS[1],
    PERIOD_PARAMS[2],
    ParamDoc {
        name: "granularity",
        description: "Interval length: 15min, 30min, 60min, day, week (from Monday) or month.",
        default: Some("day"),
        required: false,
    },
    ParamDoc {
        name: "by",
        description: "Break each interval down by agent, scorecard and/or evaluator (comma-separated).",
        default: None,
        required: false,
    },
    FILTER_PARAMS[0],
    FILTER_PARAMS[1],
    FILTER_PARAMS[2],
    FILTER_PARAMS[3],
];

const DETAIL_PARAMS: [ParamDoc; 7] = [
    PERIOD_PARAMS[0],
    PERIOD_PARAMS[1],
    PERIOD_PARAMS[2],
    FILTER_PARAMS[0],
    FILTER_PARAMS[1],
    FILTER_PARAMS[2],
    FILTER_PARAMS[3],
];

const INTERVAL_COLUMNS: [ColumnDoc; 19] = [
    ColumnDoc {
        name: "interval_start",
        description: "Local start of the interval the evaluations were scored in.",
    },
    ColumnDoc {
        name: "interval_end",
        description: "Local end of the interval (excluded).",
    },
    ColumnDoc {
        name: "agent_id",
        description: "The agent evaluated, with by=agent (absent otherwise).",
    },
    ColumnDoc {
        name: "scorecard_id",
        description: "The scorecard, with by=scorecard (absent otherwise).",
    },
    ColumnDoc {
        name: "evaluator_id",
        description: "The evaluator, with by=evaluator (absent otherwise).",
    },
    ColumnDoc {
        name: "evaluations",
        description: "Evaluations scored in the interval, each once with its latest score.",
    },
    ColumnDoc {
        name: "agents_evaluated",
        description: "Distinct agents evaluated.",
    },
    ColumnDoc {
        name: "call_evaluations",
        description: "Evaluations of calls.",
    },
    ColumnDoc {
        name: "ticket_evaluations",
        description: "Evaluations of tickets.",
    },
    ColumnDoc {
        name: "score_pct_mean",
        description: "Mean score % (100 × points / max points of each evaluation).",
    },
    ColumnDoc {
        name: "score_pct_min",
        description: "Lowest score %.",
    },
    ColumnDoc {
        name: "score_pct_max",
        description: "Highest score %.",
    },
    ColumnDoc {
        name: "points",
        description: "Points obtained, summed over the evaluations.",
    },
    ColumnDoc {
        name: "max_points",
        description: "Points possible, summed over the evaluations.",
    },
    ColumnDoc {
        name: "passed",
        description: "Evaluations with a score % of at least pass_score_pct and no critical failure.",
    },
    ColumnDoc {
        name: "pass_rate",
        description: "passed / evaluations.",
    },
    ColumnDoc {
        name: "critical_failures",
        description: "Evaluations in which a critical criterion failed.",
    },
    ColumnDoc {
        name: "critical_failure_rate",
        description: "critical_failures / evaluations.",
    },
    ColumnDoc {
        name: "drill_down",
        description: "Link to the evaluations behind the row (report `qa_evaluations`).",
    },
];

const DETAIL_COLUMNS: [ColumnDoc; 12] = [
    ColumnDoc {
        name: "evaluated_at",
        description: "Local time of the (latest) scoring.",
    },
    ColumnDoc {
        name: "evaluation_id",
        description: "The evaluation.",
    },
    ColumnDoc {
        name: "scorecard_id",
        description: "The scorecard it was scored against.",
    },
    ColumnDoc {
        name: "subject_kind",
        description: "call or ticket: what was evaluated.",
    },
    ColumnDoc {
        name: "subject_id",
        description: "The call or ticket.",
    },
    ColumnDoc {
        name: "agent_id",
        description: "The agent evaluated.",
    },
    ColumnDoc {
        name: "evaluator_id",
        description: "The evaluator.",
    },
    ColumnDoc {
        name: "points",
        description: "Points obtained.",
    },
    ColumnDoc {
        name: "max_points",
        description: "Points possible on the scorecard.",
    },
    ColumnDoc {
        name: "score_pct",
        description: "100 × points / max_points.",
    },
    ColumnDoc {
        name: "critical_failure",
        description: "Whether a critical criterion failed.",
    },
    ColumnDoc {
        name: "passed",
        description: "score_pct of at least pass_score_pct and no critical failure.",
    },
];

static INTERVALS_DEFINITION: Definition = Definition {
    name: "qa_intervals",
    title: "Quality evaluations",
    description: "QA evaluation scores, pass rate and critical failures per interval, optionally per agent, scorecard and evaluator.",
    grain: Grain::Aggregate,
    drill_down: Some("qa_evaluations"),
    parameters: &INTERVAL_PARAMS,
    columns: &INTERVAL_COLUMNS,
};

static EVALUATIONS_DEFINITION: Definition = Definition {
    name: "qa_evaluations",
    title: "QA evaluations",
    description: "One row per evaluation of a call or ticket, with its score and whether it passed.",
    grain: Grain::Detail,
    drill_down: None,
    parameters: &DETAIL_PARAMS,
    columns: &DETAIL_COLUMNS,
};

/// The breakdowns of `qa_intervals`, in the order of their columns.
const DIMENSIONS: [Dimension; 3] = [Dimension::Agent, Dimension::Scorecard, Dimension::Evaluator];

/// Which evaluations a QA report covers, and when they pass.
struct EvaluationSelection {
    period: Period,
    agents: BTreeSet<String>,
    scorecards: BTreeSet<String>,
    evaluators: BTreeSet<String>,
    pass_score: PassScore,
}

impl EvaluationSelection {
    fn take(params: &mut Params) -> Result<Self, ParamError> {
        Ok(Self {
            period: Period::take(params)?,
            agents: params.take_list("agent")?,
            scorecards: params.take_list("scorecard")?,
            evaluators: params.take_list("evaluator")?,
            pass_score: params.take_parsed("pass_score_pct", PassScore::DEFAULT)?,
        })
    }

    fn carry(&self) -> Vec<(String, String)> {
        let mut carry: Vec<(String, String)> = [
            ("agent", &self.agents),
            ("scorecard", &self.scorecards),
            ("evaluator", &self.evaluators),
        ]
        .into_iter()
        .filter(|(_, values)| !values.is_empty())
        .map(|(name, values)| {
            let joined: Vec<&str> = values.iter().map(String::as_str).collect();
            (name.to_owned(), joined.join(","))
        })
        .collect();
        if self.pass_score != PassScore::DEFAULT {
            carry.push(("pass_score_pct".to_owned(), self.pass_score.to_string()));
        }
        carry
    }

    /// `with …` defining `selected`: one row per selected evaluation, with its latest score.
    fn evaluations_sql(&self, sql: &mut Sql) -> String {
        // Only a lower bound on the partitions: a later scoring of an evaluation replaces
        // the one in the period, so it must be seen to leave the period's count.
        let (first_day, _) = self.period.partition_dates(0);
        let first = sql.date(first_day);
        let from = sql.local_time(self.period.from);
        let to = sql.local_time(self.period.to);
        let pass = sql.int(i64::from(self.pass_score.percent()));
        let local = local_time_sql("scored_at", &self.period.tz);
        let agents = sql.one_of("agent_id", &self.agents);
        let scorecards = sql.one_of("scorecard_id", &self.scorecards);
        let evaluators = sql.one_of("evaluator_id", &self.evaluators);
        let latest = |column: &str| {
            format!("first_value({column} order by occurred_at desc, event_id desc) as {column}")
        };
        let columns = [
            "scorecard_id",
            "subject_kind",
            "subject_id",
            "agent_id",
            "evaluator_id",
            "points",
            "max_points",
            "critical_failure",
        ]
        .map(latest)
        .join(",\n           ");
        format!(
            "with evaluations as (
    select evaluation_id,
           max(occurred_at) as scored_at,
           {columns}
    from qa
    where event_type = 'qa.evaluated' and event_date >= {first}
    group by evaluation_id
),
scored as (
    select {local} as evaluated_at, evaluation_id, scorecard_id, subject_kind, subject_id,
           agent_id, evaluator_id, points, max_points,
           100.0 * cast(points as double) / cast(max_points as double) as score_pct,
           critical_failure,
           not critical_failure and points * 100 >= {pass} * max_points as passed
    from evaluations
),
selected as (
    select * from scored
    where evaluated_at >= {from} and evaluated_at < {to}
      and {agents} and {scorecards} and {evaluators}
)"
        )
    }
}

/// `qa_intervals`: evaluation scores per interval.
#[derive(Debug, Clone, Copy)]
pub struct QaIntervals;

impl Report for QaIntervals {
    fn definition(&self) -> &'static Definition {
        &INTERVALS_DEFINITION
    }

    fn plan(&self, mut params: Params) -> Result<Query, ParamError> {
        let selection = EvaluationSelection::take(&mut params)?;
        let granularity = params.take_parsed("granularity", Granularity::Day)?;
        let dimensions = params.take_breakdown(&DIMENSIONS)?;
        params.finish(&accepted(&INTERVAL_PARAMS))?;

        let mut sql = Sql::default();
        let evaluations = selection.evaluations_sql(&mut sql);
        let bucket = granularity.bucket_sql("evaluated_at");
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
       {dimension_select}count(*) as evaluations,
       count(distinct agent_id) as agents_evaluated,
       count(*) filter (where subject_kind = 'call') as call_evaluations,
       count(*) filter (where subject_kind = 'ticket') as ticket_evaluations,
       avg(score_pct) as score_pct_mean,
       min(score_pct) as score_pct_min,
       max(score_pct) as score_pct_max,
       sum(points) as points,
       sum(max_points) as max_points,
       count(*) filter (where passed) as passed,
       cast(count(*) filter (where passed) as double) / count(*) as pass_rate,
       count(*) filter (where critical_failure) as critical_failures,
       cast(count(*) filter (where critical_failure) as double) / count(*) as critical_failure_rate"
        );
        let drill = DrillDown::per_interval(
            "qa_evaluations",
            selection.period.clone(),
            granularity,
            &dimensions,
            selection.carry(),
        );
        let source = format!("(select {bucket} as interval_start, * from selected)");
        Ok(sql.finish_per_interval(&evaluations, &aggregates, &source, &group, drill))
    }
}

/// `qa_evaluations`: one row per evaluation.
#[derive(Debug, Clone, Copy)]
pub struct QaEvaluations;

impl Report for QaEvaluations {
    fn definition(&self) -> &'static Definition {
        &EVALUATIONS_DEFINITION
    }

    fn plan(&self, mut params: Params) -> Result<Query, ParamError> {
        let selection = EvaluationSelection::take(&mut params)?;
        params.finish(&accepted(&DETAIL_PARAMS))?;
        let mut sql = Sql::default();
        let evaluations = selection.evaluations_sql(&mut sql);
        let text = format!(
            "{evaluations}
select evaluated_at, evaluation_id, scorecard_id, subject_kind, subject_id, agent_id,
       evaluator_id, points, max_points, score_pct, critical_failure, passed
from selected
order by evaluated_at, evaluation_id"
        );
        Ok(sql.finish(text, None))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pass_score_is_a_whole_percentage() {
        assert_eq!("0".parse::<PassScore>().unwrap().percent(), 0);
        assert_eq!("100".parse::<PassScore>().unwrap().percent(), 100);
        for bad in ["101", "-1", "80.5", "high", ""] {
            assert!(bad.parse::<PassScore>().is_err(), "{bad}");
        }
    }

    #[test]
    fn an_unknown_breakdown_is_refused_by_name() {
        let params = Params::from_pairs([
            ("from", "2026-02-01"),
            ("to", "2026-02-02"),
            ("by", "queue"),
        ]);
        assert_eq!(QaIntervals.plan(params).unwrap_err().field, "by");
        let params = Params::from_pairs([
            ("from", "2026-02-01"),
            ("to", "2026-02-02"),
            ("pass_score_pct", "120"),
        ]);
        assert_eq!(
            QaEvaluations.plan(params).unwrap_err().field,
            "pass_score_pct"
        );
    }
}

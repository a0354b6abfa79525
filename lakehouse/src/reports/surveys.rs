//! Survey reports: customer feedback per interval (`survey_intervals`) and the answers behind
//! it (`survey_answers`).
//!
//! Every `survey.answered` event is one answer on its scale; an answer landing twice counts
//! once. Answers are counted in the interval they were given, in the report's time zone.
//!
//! Definitions:
//! - CSAT = answers of 4 or 5 on the 1–5 scale / CSAT answers (the "top two boxes");
//! - NPS = % promoters (9–10) − % detractors (0–6) of the 0–10 answers, from −100 to 100;
//! - CES = mean of the 1–7 effort answers (lower is easier);
//! - responses = distinct respondents' answer sets.

use super::params::{Dimension, Granularity, ParamError, Params, Period};
use super::query::{DrillDown, Query, Sql, local_time_sql};
use super::{ColumnDoc, Definition, Grain, PERIOD_PARAMS, ParamDoc, Report, accepted};

const FILTER_PARAMS: [ParamDoc; 2] = [
    ParamDoc {
        name: "agent",
        description: "Only answers about contacts these agents handled (comma-separated or repeated; (none) for answers without one).",
        default: None,
        required: false,
    },
    ParamDoc {
        name: "survey",
        description: "Only these surveys.",
        default: None,
        required: false,
    },
];

const INTERVAL_PARAMS: [ParamDoc; 7] = [
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
        description: "Break each interval down by agent.",
        default: None,
        required: false,
    },
    FILTER_PARAMS[0],
    FILTER_PARAMS[1],
];

const DETAIL_PARAMS: [ParamDoc; 5] = [
    PERIOD_PARAMS[0],
    PERIOD_PARAMS[1],
    PERIOD_PARAMS[2],
    FILTER_PARAMS[0],
    FILTER_PARAMS[1],
];

const INTERVAL_COLUMNS: [ColumnDoc; 11] = [
    ColumnDoc {
        name: "interval_start",
        description: "Local start of the interval the answers were given in.",
    },
    ColumnDoc {
        name: "interval_end",
        description: "Local end of the interval (excluded).",
    },
    ColumnDoc {
        name: "agent_id",
        description: "The agent, with by=agent (absent otherwise).",
    },
    ColumnDoc {
        name: "responses",
        description: "Distinct respondents' answer sets.",
    },
    ColumnDoc {
        name: "csat_answers",
        description: "Answers on the 1–5 satisfaction scale.",
    },
    ColumnDoc {
        name: "csat",
        description: "Share of satisfaction answers that are 4 or 5 (null without any).",
    },
    ColumnDoc {
        name: "csat_mean",
        description: "Mean satisfaction answer, 1 to 5.",
    },
    ColumnDoc {
        name: "nps_answers",
        description: "Answers on the 0–10 recommendation scale.",
    },
    ColumnDoc {
        name: "nps",
        description: "Net promoter score: % of 9–10 answers minus % of 0–6 answers, −100 to 100.",
    },
    ColumnDoc {
        name: "ces_mean",
        description: "Mean effort answer, 1 (very easy) to 7 (very hard).",
    },
    ColumnDoc {
        name: "drill_down",
        description: "Link to the answers behind the row (report `survey_answers`).",
    },
];

const DETAIL_COLUMNS: [ColumnDoc; 10] = [
    ColumnDoc {
        name: "answered_at",
        description: "Local time of the answer.",
    },
    ColumnDoc {
        name: "survey_id",
        description: "The survey.",
    },
    ColumnDoc {
        name: "response_id",
        description: "The respondent's answer set.",
    },
    ColumnDoc {
        name: "question_id",
        description: "The question.",
    },
    ColumnDoc {
        name: "scale",
        description: "csat, nps, ces or yes_no.",
    },
    ColumnDoc {
        name: "score",
        description: "The answer (yes = 1, no = 0).",
    },
    ColumnDoc {
        name: "subject_kind",
        description: "call or ticket: what the survey is about.",
    },
    ColumnDoc {
        name: "subject_id",
        description: "The call or ticket.",
    },
    ColumnDoc {
        name: "agent_id",
        description: "The agent who handled it.",
    },
    ColumnDoc {
        name: "customer_id",
        description: "The respondent.",
    },
];

static INTERVALS_DEFINITION: Definition = Definition {
    name: "survey_intervals",
    title: "Customer feedback",
    description: "CSAT, NPS and customer effort per interval, optionally per agent.",
    grain: Grain::Aggregate,
    drill_down: Some("survey_answers"),
    parameters: &INTERVAL_PARAMS,
    columns: &INTERVAL_COLUMNS,
};

static ANSWERS_DEFINITION: Definition = Definition {
    name: "survey_answers",
    title: "Survey answers",
    description: "One row per answer a customer gave, with the contact and agent it is about.",
    grain: Grain::Detail,
    drill_down: None,
    parameters: &DETAIL_PARAMS,
    columns: &DETAIL_COLUMNS,
};

/// Which answers a survey report covers.
struct AnswerSelection {
    period: Period,
    agents: std::collections::BTreeSet<String>,
    surveys: std::collections::BTreeSet<String>,
}

impl AnswerSelection {
    fn take(params: &mut Params) -> Result<Self, ParamError> {
        Ok(Self {
            period: Period::take(params)?,
            agents: params.take_list("agent")?,
            surveys: params.take_list("survey")?,
        })
    }

    fn carry(&self) -> Vec<(String, String)> {
        [("agent", &self.agents), ("survey", &self.surveys)]
            .into_iter()
            .filter(|(_, values)| !values.is_empty())
            .map(|(name, values)| {
                let joined: Vec<&str> = values.iter().map(String::as_str).collect();
                (name.to_owned(), joined.join(","))
            })
            .collect()
    }

    /// `with …` defining `answers`: one row per selected answer.
    fn answers_sql(&self, sql: &mut Sql) -> String {
        let (first_day, last_day) = self.period.partition_dates(0);
        let first = sql.date(first_day);
        let last = sql.date(last_day);
        let from = sql.local_time(self.period.from);
        let to = sql.local_time(self.period.to);
        let local = local_time_sql("occurred_at", &self.period.tz);
        let agents = sql.one_of("agent_id", &self.agents);
        let surveys = sql.one_of("survey_id", &self.surveys);
        format!(
            "with answers as (
    select distinct event_id, {local} as answered_at, survey_id, response_id, question_id,
           scale, score, subject_kind, subject_id, agent_id, customer_id
    from surveys
    where event_type = 'survey.answered' and event_date >= {first} and event_date <= {last}
      and {agents} and {surveys}
),
selected as (
    select * from answers where answered_at >= {from} and answered_at < {to}
)"
        )
    }
}

/// `survey_intervals`: feedback scores per interval.
#[derive(Debug, Clone, Copy)]
pub struct SurveyIntervals;

impl Report for SurveyIntervals {
    fn definition(&self) -> &'static Definition {
        &INTERVALS_DEFINITION
    }

    fn plan(&self, mut params: Params) -> Result<Query, ParamError> {
        let selection = AnswerSelection::take(&mut params)?;
        let granularity = params.take_parsed("granularity", Granularity::Day)?;
        let dimensions = params.take_breakdown(&[Dimension::Agent])?;
        params.finish(&accepted(&INTERVAL_PARAMS))?;

        let mut sql = Sql::default();
        let answers = selection.answers_sql(&mut sql);
        let bucket = granularity.bucket_sql("answered_at");
        let end = granularity.end_sql("interval_start");
        let (select_agent, group) = if dimensions.is_empty() {
            ("", "interval_start")
        } else {
            ("agent_id, ", "interval_start, agent_id")
        };
        let aggregates = format!(
            "interval_start,
       {end} as interval_end,
       {select_agent}count(distinct response_id) as responses,
       count(*) filter (where scale = 'csat') as csat_answers,
       cast(count(*) filter (where scale = 'csat' and score >= 4) as double)
           / nullif(count(*) filter (where scale = 'csat'), 0) as csat,
       avg(cast(score as double)) filter (where scale = 'csat') as csat_mean,
       count(*) filter (where scale = 'nps') as nps_answers,
       100.0 * cast(count(*) filter (where scale = 'nps' and score >= 9)
                    - count(*) filter (where scale = 'nps' and score <= 6) as double)
           / nullif(count(*) filter (where scale = 'nps'), 0) as nps,
       avg(cast(score as double)) filter (where scale = 'ces') as ces_mean"
        );
        let drill = DrillDown::per_interval(
            "survey_answers",
            selection.period.clone(),
            granularity,
            &dimensions,
            selection.carry(),
        );
        let source = format!("(select {bucket} as interval_start, * from selected)");
        Ok(sql.finish_per_interval(&answers, &aggregates, &source, group, drill))
    }
}

/// `survey_answers`: one row per answer.
#[derive(Debug, Clone, Copy)]
pub struct SurveyAnswers;

impl Report for SurveyAnswers {
    fn definition(&self) -> &'static Definition {
        &ANSWERS_DEFINITION
    }

    fn plan(&self, mut params: Params) -> Result<Query, ParamError> {
        let selection = AnswerSelection::take(&mut params)?;
        params.finish(&accepted(&DETAIL_PARAMS))?;
        let mut sql = Sql::default();
        let answers = selection.answers_sql(&mut sql);
        let text = format!(
            "{answers}
select answered_at, survey_id, response_id, question_id, scale, score, subject_kind,
       subject_id, agent_id, customer_id
from selected
order by answered_at, response_id, question_id"
        );
        Ok(sql.finish(text, None))
    }
}

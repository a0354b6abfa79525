//! Report parameters: parsed once at the edge into typed values, with an error that names the
//! parameter.
//!
//! Times are local wall-clock times in the report's time zone (`tz`, an IANA name such as
//! `Europe/Berlin` or a fixed offset such as `+02:00`; UTC by default), because a contact
//! center plans and reads its day in its own time. `from` is inclusive and `to` exclusive;
//! either is a date (`2026-02-01`, midnight) or a date and time (`2026-02-01T08:30`).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeZone as _, Utc};
use datafusion::arrow::array::timezone::Tz;
use serde::Serialize;

/// A parameter that could not be accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
#[error("parameter `{field}`: {message}")]
pub struct ParamError {
    /// The parameter's name.
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

impl ParamError {
    pub(crate) fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// The longest span one report may cover.
pub const MAX_SPAN_DAYS: i64 = 400;

/// A report's time zone: an IANA name or a fixed UTC offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeZone(String);

impl TimeZone {
    /// UTC.
    pub fn utc() -> Self {
        Self("UTC".to_owned())
    }

    /// The zone's name as Arrow spells it in a timestamp type.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The zone's offset east of UTC in seconds when it never changes: UTC itself, or an
    /// offset such as `+02:00`, `-0330` or `+05` (the forms Arrow reads as fixed offsets).
    /// `None` for IANA zones, whose offset is looked up per instant.
    pub fn fixed_offset_seconds(&self) -> Option<i32> {
        if matches!(self.0.as_str(), "UTC" | "Etc/UTC") {
            return Some(0);
        }
        let bytes = self.0.as_bytes();
        let digits = match bytes {
            [_, h1, h2, b':', m1, m2] | [_, h1, h2, m1, m2] => [*h1, *h2, *m1, *m2],
            [_, h1, h2] => [*h1, *h2, b'0', b'0'],
            _ => return None,
        };
        if !digits.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let [h1, h2, m1, m2] = digits.map(|digit| i32::from(digit - b'0'));
        let seconds = (h1 * 10 + h2) * 3600 + (m1 * 10 + m2) * 60;
        match bytes[0] {
            b'+' => Some(seconds),
            b'-' => Some(-seconds),
            _ => None,
        }
    }
}

impl FromStr for TimeZone {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        // Only what Arrow itself accepts, and nothing that could leave a SQL string literal.
        let plain = text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '_' | '+' | '-' | ':'));
        if !plain || text.is_empty() || text.len() > 64 {
            return Err(format!("`{text}` is not a time zone"));
        }
        Tz::from_str(text).map_err(|_| {
            format!("`{text}` is not a time zone (use an IANA name such as Europe/Berlin or an offset such as +02:00)")
        })?;
        Ok(Self(text.to_owned()))
    }
}

/// How finely a report's time axis is cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Granularity {
    /// 15-minute intervals.
    #[serde(rename = "15min")]
    Minutes15,
    /// 30-minute intervals.
    #[serde(rename = "30min")]
    Minutes30,
    /// Hours.
    #[serde(rename = "60min")]
    Minutes60,
    /// Days.
    #[serde(rename = "day")]
    Day,
    /// ISO weeks, starting on Monday.
    #[serde(rename = "week")]
    Week,
    /// Calendar months.
    #[serde(rename = "month")]
    Month,
}

impl Granularity {
    /// Every granularity, in the order the catalog lists them.
    pub const ALL: [Granularity; 6] = [
        Granularity::Minutes15,
        Granularity::Minutes30,
        Granularity::Minutes60,
        Granularity::Day,
        Granularity::Week,
        Granularity::Month,
    ];

    /// The parameter value.
    pub fn as_str(&self) -> &'static str {
        match self {
            Granularity::Minutes15 => "15min",
            Granularity::Minutes30 => "30min",
            Granularity::Minutes60 => "60min",
            Granularity::Day => "day",
            Granularity::Week => "week",
            Granularity::Month => "month",
        }
    }

    /// The SQL expression of the interval a local timestamp expression falls in.
    pub(crate) fn bucket_sql(&self, local: &str) -> String {
        let bin = |minutes: u32| {
            format!(
                "date_bin(interval '{minutes} minutes', {local}, timestamp '2000-01-03T00:00:00')"
            )
        };
        match self {
            Granularity::Minutes15 => bin(15),
            Granularity::Minutes30 => bin(30),
            Granularity::Minutes60 => bin(60),
            Granularity::Day => format!("date_trunc('day', {local})"),
            Granularity::Week => format!("date_trunc('week', {local})"),
            Granularity::Month => format!("date_trunc('month', {local})"),
        }
    }

    /// The SQL expression of the end of the interval that starts at `start`.
    pub(crate) fn end_sql(&self, start: &str) -> String {
        let length = match self {
            Granularity::Minutes15 => "15 minutes",
            Granularity::Minutes30 => "30 minutes",
            Granularity::Minutes60 => "1 hour",
            Granularity::Day => "1 day",
            Granularity::Week => "7 days",
            Granularity::Month => "1 month",
        };
        format!("{start} + interval '{length}'")
    }

    /// The end of the interval that starts at `start`.
    pub fn end_of(&self, start: NaiveDateTime) -> NaiveDateTime {
        match self {
            Granularity::Minutes15 => start + chrono::Duration::minutes(15),
            Granularity::Minutes30 => start + chrono::Duration::minutes(30),
            Granularity::Minutes60 => start + chrono::Duration::hours(1),
            Granularity::Day => start + chrono::Duration::days(1),
            Granularity::Week => start + chrono::Duration::days(7),
            Granularity::Month => start
                .checked_add_months(chrono::Months::new(1))
                .unwrap_or(start),
        }
    }
}

impl FromStr for Granularity {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|granularity| granularity.as_str() == text)
            .ok_or_else(|| {
                let known: Vec<_> = Self::ALL.iter().map(Granularity::as_str).collect();
                format!("`{text}` is not one of {}", known.join(", "))
            })
    }
}

impl fmt::Display for Granularity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A dimension a report can be broken down by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Dimension {
    /// The queue (service type) a contact was offered to.
    Queue,
    /// The project a contact belongs to.
    Project,
    /// The agent who handled a contact.
    Agent,
    /// The channel a contact arrived by.
    Channel,
    /// The QA scorecard an evaluation was scored against.
    Scorecard,
    /// The QA evaluator who scored an evaluation.
    Evaluator,
}

impl Dimension {
    /// The parameter value, also the filter parameter's name.
    pub fn as_str(&self) -> &'static str {
        match self {
            Dimension::Queue => "queue",
            Dimension::Project => "project",
            Dimension::Agent => "agent",
            Dimension::Channel => "channel",
            Dimension::Scorecard => "scorecard",
            Dimension::Evaluator => "evaluator",
        }
    }

    /// The output column holding the dimension.
    pub fn column(&self) -> &'static str {
        match self {
            Dimension::Queue => "queue_id",
            Dimension::Project => "project_id",
            Dimension::Agent => "agent_id",
            Dimension::Channel => "channel",
            Dimension::Scorecard => "scorecard_id",
            Dimension::Evaluator => "evaluator_id",
        }
    }
}

/// How service level is computed (ARCHITECTURE §7): answered within T divided by …
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ServiceLevelFormula {
    /// … answered + abandoned (short abandons excluded when they are excluded from offered).
    AnsweredAndAbandoned,
    /// … everything offered, flowed-out contacts included.
    Offered,
    /// … answered only (abandons ignored).
    Answered,
}

impl FromStr for ServiceLevelFormula {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "answered_and_abandoned" => Ok(Self::AnsweredAndAbandoned),
            "offered" => Ok(Self::Offered),
            "answered" => Ok(Self::Answered),
            _ => Err(format!(
                "`{text}` is not one of answered_and_abandoned, offered, answered"
            )),
        }
    }
}

/// The query parameters of one report request, by name. Every parameter must be consumed
/// by the report; anything left over is refused by [`Params::finish`].
#[derive(Debug, Clone, Default)]
pub struct Params {
    values: BTreeMap<String, Vec<String>>,
}

impl Params {
    /// Parameters from `(name, value)` pairs, e.g. a URL's query.
    pub fn from_pairs<K: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        let mut values: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (name, value) in pairs {
            values.entry(name.into()).or_default().push(value.into());
        }
        Self { values }
    }

    /// The single value of `name`, if given.
    ///
    /// # Errors
    ///
    /// When the parameter is repeated.
    pub fn take_one(&mut self, name: &str) -> Result<Option<String>, ParamError> {
        match self.values.remove(name) {
            None => Ok(None),
            Some(mut values) if values.len() == 1 => Ok(values.pop()),
            Some(_) => Err(ParamError::new(name, "given more than once")),
        }
    }

    /// The value of `name` parsed, or `default` when absent.
    ///
    /// # Errors
    ///
    /// When the value does not parse.
    pub fn take_parsed<T: FromStr>(&mut self, name: &str, default: T) -> Result<T, ParamError>
    where
        T::Err: fmt::Display,
    {
        match self.take_one(name)? {
            None => Ok(default),
            Some(text) => text
                .parse()
                .map_err(|error: T::Err| ParamError::new(name, error.to_string())),
        }
    }

    /// Every value of `name`, repeated or comma-separated, without duplicates.
    ///
    /// # Errors
    ///
    /// When a value is empty or too long to be an identifier.
    pub fn take_list(&mut self, name: &str) -> Result<BTreeSet<String>, ParamError> {
        let mut list = BTreeSet::new();
        for value in self.values.remove(name).unwrap_or_default() {
            for item in value.split(',') {
                let item = item.trim();
                if item.is_empty() || item.len() > 200 {
                    return Err(ParamError::new(
                        name,
                        "expected a comma-separated list of identifiers",
                    ));
                }
                list.insert(item.to_owned());
            }
        }
        Ok(list)
    }

    /// The breakdown asked for with `by` (comma-separated or repeated), each one of
    /// `allowed`, in the order of `allowed`.
    ///
    /// # Errors
    ///
    /// Naming `by` when a value is not one of `allowed`.
    pub fn take_breakdown(&mut self, allowed: &[Dimension]) -> Result<Vec<Dimension>, ParamError> {
        let mut dimensions = Vec::new();
        for name in self.take_list("by")? {
            let dimension = allowed
                .iter()
                .copied()
                .find(|dimension| dimension.as_str() == name)
                .ok_or_else(|| {
                    let names: Vec<&str> = allowed.iter().map(Dimension::as_str).collect();
                    ParamError::new("by", format!("`{name}` is not one of {}", names.join(", ")))
                })?;
            dimensions.push(dimension);
        }
        dimensions.sort_by_key(|dimension| allowed.iter().position(|a| a == dimension));
        Ok(dimensions)
    }

    /// Refuses parameters the report did not consume.
    ///
    /// # Errors
    ///
    /// Naming the first unknown parameter and the ones the report takes.
    pub fn finish(self, accepted: &[&str]) -> Result<(), ParamError> {
        match self.values.into_keys().next() {
            None => Ok(()),
            Some(name) => Err(ParamError::new(
                name,
                format!(
                    "not a parameter of this report (it takes {})",
                    accepted.join(", ")
                ),
            )),
        }
    }
}

/// The period a report covers, in local time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Period {
    /// The first instant included.
    pub from: NaiveDateTime,
    /// The first instant excluded.
    pub to: NaiveDateTime,
    /// The zone the two are read in.
    pub tz: TimeZone,
}

impl Period {
    /// Takes `from`, `to` and `tz` from `params`.
    ///
    /// # Errors
    ///
    /// When `from` or `to` is missing or malformed, `to` is not after `from`, the span is
    /// longer than [`MAX_SPAN_DAYS`], or `tz` is unknown.
    pub fn take(params: &mut Params) -> Result<Self, ParamError> {
        let from = local_time(params, "from")?;
        let to = local_time(params, "to")?;
        let tz = params.take_parsed("tz", TimeZone::utc())?;
        if to <= from {
            return Err(ParamError::new("to", "must be after `from`"));
        }
        if (to - from).num_days() > MAX_SPAN_DAYS {
            return Err(ParamError::new(
                "to",
                format!("a report covers at most {MAX_SPAN_DAYS} days"),
            ));
        }
        Ok(Self { from, to, tz })
    }

    /// The period's bounds as instants, for arithmetic that must count real time across a
    /// clock change: a local time the change skips is read as the first one after the gap, a
    /// local time it repeats as its first occurrence.
    pub fn utc_bounds(&self) -> (DateTime<Utc>, DateTime<Utc>) {
        let tz = Tz::from_str(self.tz.as_str()).ok();
        let instant = |local: NaiveDateTime| match tz {
            None => local.and_utc(),
            Some(tz) => match tz.from_local_datetime(&local) {
                LocalResult::Single(at) | LocalResult::Ambiguous(at, _) => at.with_timezone(&Utc),
                LocalResult::None => (1..=180)
                    .find_map(|minutes| {
                        tz.from_local_datetime(&(local + chrono::Duration::minutes(minutes)))
                            .earliest()
                    })
                    .map_or_else(|| local.and_utc(), |at| at.with_timezone(&Utc)),
            },
        };
        (instant(self.from), instant(self.to))
    }

    /// The UTC dates that can hold events of this local period: a day of margin on each
    /// side covers every offset from UTC, `extra_days_after` more covers events that close
    /// something that started inside it (a call that ends after midnight).
    pub fn partition_dates(&self, extra_days_after: i64) -> (NaiveDate, NaiveDate) {
        let first = self.from.date() - chrono::Duration::days(1);
        let last = self.to.date() + chrono::Duration::days(1 + extra_days_after);
        (first, last)
    }
}

fn local_time(params: &mut Params, name: &str) -> Result<NaiveDateTime, ParamError> {
    let text = params.take_one(name)?.ok_or_else(|| {
        ParamError::new(
            name,
            "required (a date like 2026-02-01 or a local time like 2026-02-01T08:30)",
        )
    })?;
    parse_local_time(&text).ok_or_else(|| {
        ParamError::new(
            name,
            format!("`{text}` is not a date (2026-02-01) or local time (2026-02-01T08:30[:00])"),
        )
    })
}

/// Parses `2026-02-01`, `2026-02-01T08:30` or `2026-02-01T08:30:15` (a space may replace the
/// `T`).
pub fn parse_local_time(text: &str) -> Option<NaiveDateTime> {
    if let Ok(date) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Some(date.and_time(NaiveTime::MIN));
    }
    [
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%d %H:%M",
    ]
    .iter()
    .find_map(|format| NaiveDateTime::parse_from_str(text, format).ok())
}

/// Service-level and abandonment options of the call reports (ARCHITECTURE §7).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallMetricOptions {
    /// T of "answered within T" in seconds, for queues without their own.
    pub sl_threshold_sec: u32,
    /// T per queue.
    pub queue_sl_threshold_sec: BTreeMap<String, u32>,
    /// The denominator of service level.
    pub sl_formula: ServiceLevelFormula,
    /// An abandon after waiting less than this is a short abandon.
    pub short_abandon_sec: u32,
    /// Whether short abandons are left out of offered, abandoned and service level.
    pub exclude_short_abandons: bool,
}

impl CallMetricOptions {
    /// The names of the parameters [`CallMetricOptions::take`] reads.
    pub const PARAMS: [&'static str; 5] = [
        "sl_threshold_sec",
        "queue_sl_threshold_sec",
        "sl_formula",
        "short_abandon_sec",
        "exclude_short_abandons",
    ];

    /// Takes the options from `params`, with the defaults T = 20 s, answered + abandoned,
    /// short abandons under 5 s counted.
    ///
    /// # Errors
    ///
    /// When a value is malformed or out of range (T and the short-abandon threshold are at
    /// most one hour).
    pub fn take(params: &mut Params) -> Result<Self, ParamError> {
        let seconds = |params: &mut Params, name: &str, default: u32| {
            let value: u32 = params.take_parsed(name, default)?;
            if value > 3600 {
                return Err(ParamError::new(name, "at most 3600 seconds"));
            }
            Ok(value)
        };
        let sl_threshold_sec = seconds(params, "sl_threshold_sec", 20)?;
        let short_abandon_sec = seconds(params, "short_abandon_sec", 5)?;
        let sl_formula =
            params.take_parsed("sl_formula", ServiceLevelFormula::AnsweredAndAbandoned)?;
        let exclude_short_abandons = params.take_parsed("exclude_short_abandons", false)?;
        let mut queue_sl_threshold_sec = BTreeMap::new();
        for item in params.take_list("queue_sl_threshold_sec")? {
            let invalid = || {
                ParamError::new(
                    "queue_sl_threshold_sec",
                    format!("`{item}` is not queue:seconds (e.g. billing:30)"),
                )
            };
            let (queue, value) = item.rsplit_once(':').ok_or_else(invalid)?;
            let value: u32 = value.parse().map_err(|_| invalid())?;
            if queue.is_empty() || value > 3600 {
                return Err(invalid());
            }
            queue_sl_threshold_sec.insert(queue.to_owned(), value);
        }
        Ok(Self {
            sl_threshold_sec,
            queue_sl_threshold_sec,
            sl_formula,
            short_abandon_sec,
            exclude_short_abandons,
        })
    }
}

impl Default for CallMetricOptions {
    fn default() -> Self {
        Self {
            sl_threshold_sec: 20,
            queue_sl_threshold_sec: BTreeMap::new(),
            sl_formula: ServiceLevelFormula::AnsweredAndAbandoned,
            short_abandon_sec: 5,
            exclude_short_abandons: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_utc_and_offsets_are_fixed_zones() {
        let offset = |text: &str| text.parse::<TimeZone>().unwrap().fixed_offset_seconds();
        assert_eq!(offset("UTC"), Some(0));
        assert_eq!(offset("+02:00"), Some(7_200));
        assert_eq!(offset("-0330"), Some(-12_600));
        assert_eq!(offset("+05"), Some(18_000));
        assert_eq!(offset("Europe/Berlin"), None);
        assert_eq!(offset("America/Sao_Paulo"), None);
    }

    fn params(pairs: &[(&str, &str)]) -> Params {
        Params::from_pairs(pairs.iter().copied())
    }

    #[test]
    fn a_period_reads_dates_and_local_times() {
        let mut given = params(&[
            ("from", "2026-02-01"),
            ("to", "2026-02-01T12:30"),
            ("tz", "Asia/Jerusalem"),
        ]);
        let period = Period::take(&mut given).unwrap();
        assert_eq!(period.from.to_string(), "2026-02-01 00:00:00");
        assert_eq!(period.to.to_string(), "2026-02-01 12:30:00");
        assert_eq!(period.tz.as_str(), "Asia/Jerusalem");
        given.finish(&[]).unwrap();
    }

    #[test]
    fn a_period_names_what_is_wrong() {
        let cases = [
            (vec![("to", "2026-02-02")], "from"),
            (vec![("from", "2026-02-02"), ("to", "2026-02-01")], "to"),
            (vec![("from", "yesterday"), ("to", "2026-02-01")], "from"),
            (
                vec![
                    ("from", "2026-02-01"),
                    ("to", "2026-02-02"),
                    ("tz", "Mars/Olympus"),
                ],
                "tz",
            ),
            (
                vec![
                    ("from", "2026-02-01"),
                    ("to", "2026-02-02"),
                    ("tz", "UTC'; drop"),
                ],
                "tz",
            ),
            (vec![("from", "2020-01-01"), ("to", "2026-02-02")], "to"),
        ];
        for (pairs, field) in cases {
            let error = Period::take(&mut params(&pairs)).unwrap_err();
            assert_eq!(error.field, field, "{pairs:?}: {error}");
        }
    }

    #[test]
    fn unknown_parameters_are_refused_by_name() {
        let mut given = params(&[("granularity", "30min"), ("colour", "red")]);
        let _: Granularity = given.take_parsed("granularity", Granularity::Day).unwrap();
        let error = given.finish(&["granularity"]).unwrap_err();
        assert_eq!(error.field, "colour");
    }

    #[test]
    fn lists_split_on_commas_and_repeat() {
        let mut given = params(&[("queue", "a,b"), ("queue", "c"), ("queue", "a")]);
        let list: Vec<_> = given.take_list("queue").unwrap().into_iter().collect();
        assert_eq!(list, ["a", "b", "c"]);
    }

    #[test]
    fn per_queue_thresholds_parse_and_refuse_nonsense() {
        let mut given = params(&[("queue_sl_threshold_sec", "billing:30,sales:15")]);
        let options = CallMetricOptions::take(&mut given).unwrap();
        assert_eq!(options.queue_sl_threshold_sec["billing"], 30);
        assert_eq!(options.queue_sl_threshold_sec["sales"], 15);
        let mut bad = params(&[("queue_sl_threshold_sec", "billing")]);
        assert_eq!(
            CallMetricOptions::take(&mut bad).unwrap_err().field,
            "queue_sl_threshold_sec"
        );
    }

    #[test]
    fn interval_ends_follow_the_calendar() {
        let start = parse_local_time("2026-01-01").unwrap();
        assert_eq!(
            Granularity::Month.end_of(start).to_string(),
            "2026-02-01 00:00:00"
        );
        assert_eq!(
            Granularity::Minutes15.end_of(start).to_string(),
            "2026-01-01 00:15:00"
        );
    }
}

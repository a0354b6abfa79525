//! Service-level agreements of projects: targets for the first response and the resolution of
//! a ticket, per priority, counted in business time of the project's calendar (its time zone,
//! weekly opening hours and holidays).
//!
//! A project's policy is kept as numbered versions; a ticket records the version it was
//! created under and its due times, so a later change of the policy does not change the
//! meaning of existing tickets. A ticket's clocks stop when it is first answered (a public
//! reply from the center) and when it is solved or closed; reopening restarts the resolution
//! clock against the same due time.

use std::collections::BTreeSet;
use std::str::FromStr;

use chrono::{
    DateTime, Datelike, Duration, NaiveDate, NaiveTime, SubsecRound, TimeZone, Timelike, Utc,
};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use tenet_events::tickets::TicketPriority;
use tenet_events::{Actor, TraceContext};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::admin_events::Change;
use crate::db::Database;
use crate::extract::object;
use crate::project_versions::{self, Stored, Versioned};

/// The longest target accepted: a year of business minutes.
pub const MAX_TARGET_MINUTES: u32 = 525_600;
/// The most holidays one calendar may list.
pub const MAX_HOLIDAYS: usize = 1_000;

/// One opening interval of a day, local time, `from` < `to` (`24:00` closes at midnight).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Opening {
    /// Opening time, `HH:MM`.
    #[schema(pattern = "^([01][0-9]|2[0-3]):[0-5][0-9]$")]
    pub from: String,
    /// Closing time, `HH:MM`, or `24:00`.
    #[schema(pattern = "^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$")]
    pub to: String,
}

/// The weekly opening hours: the intervals of each weekday, none on a closed day.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WeeklyHours {
    /// Monday.
    #[serde(default, deserialize_with = "object::list")]
    pub mon: Vec<Opening>,
    /// Tuesday.
    #[serde(default, deserialize_with = "object::list")]
    pub tue: Vec<Opening>,
    /// Wednesday.
    #[serde(default, deserialize_with = "object::list")]
    pub wed: Vec<Opening>,
    /// Thursday.
    #[serde(default, deserialize_with = "object::list")]
    pub thu: Vec<Opening>,
    /// Friday.
    #[serde(default, deserialize_with = "object::list")]
    pub fri: Vec<Opening>,
    /// Saturday.
    #[serde(default, deserialize_with = "object::list")]
    pub sat: Vec<Opening>,
    /// Sunday.
    #[serde(default, deserialize_with = "object::list")]
    pub sun: Vec<Opening>,
}

impl WeeklyHours {
    fn days(&self) -> [(&'static str, &[Opening]); 7] {
        [
            ("mon", &self.mon),
            ("tue", &self.tue),
            ("wed", &self.wed),
            ("thu", &self.thu),
            ("fri", &self.fri),
            ("sat", &self.sat),
            ("sun", &self.sun),
        ]
    }
}

/// The targets for tickets of one priority, in business minutes; a missing one is not
/// measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Targets {
    /// Minutes from creation to the first public reply.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1, maximum = 525600)]
    pub first_response_min: Option<u32>,
    /// Minutes from creation to solved or closed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1, maximum = 525600)]
    pub resolution_min: Option<u32>,
}

/// The targets of each priority.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PriorityTargets {
    /// Low priority.
    #[serde(default, deserialize_with = "object::required")]
    pub low: Targets,
    /// Normal priority.
    #[serde(default, deserialize_with = "object::required")]
    pub normal: Targets,
    /// High priority.
    #[serde(default, deserialize_with = "object::required")]
    pub high: Targets,
    /// Urgent priority.
    #[serde(default, deserialize_with = "object::required")]
    pub urgent: Targets,
}

impl PriorityTargets {
    /// The targets of `priority`.
    pub fn of(&self, priority: TicketPriority) -> Targets {
        match priority {
            TicketPriority::Low => self.low,
            TicketPriority::Normal => self.normal,
            TicketPriority::High => self.high,
            TicketPriority::Urgent => self.urgent,
        }
    }
}

/// A project's SLA policy as the API shows and takes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyDefinition {
    /// The IANA time zone of the opening hours and holidays, e.g. `Europe/Moscow`.
    #[schema(min_length = 1, max_length = 64)]
    pub time_zone: String,
    /// Open around the clock (`business_hours` must then be empty).
    #[serde(default)]
    pub always_open: bool,
    /// The weekly opening hours.
    #[serde(default, deserialize_with = "object::required")]
    pub business_hours: WeeklyHours,
    /// Closed days (`YYYY-MM-DD`, local), up to 1,000.
    #[serde(default)]
    #[schema(max_items = 1000)]
    pub holidays: BTreeSet<NaiveDate>,
    /// The targets per priority.
    #[serde(deserialize_with = "object::required")]
    pub targets: PriorityTargets,
}

/// A project's business calendar, checked and ready to count business time.
#[derive(Debug, Clone)]
pub struct Calendar {
    zone: Tz,
    always_open: bool,
    /// Monday first; each day's intervals as minutes from local midnight, sorted, disjoint.
    week: [Vec<(u32, u32)>; 7],
    holidays: BTreeSet<NaiveDate>,
}

fn minutes(field: &str, text: &str, closing: bool) -> Result<u32, (String, String)> {
    if closing && text == "24:00" {
        return Ok(24 * 60);
    }
    NaiveTime::parse_from_str(text, "%H:%M")
        .ok()
        .filter(|_| text.len() == 5)
        .map(|time| time.hour() * 60 + time.minute())
        .ok_or_else(|| {
            (
                field.to_owned(),
                format!("`{text}` is not a time of day (HH:MM)"),
            )
        })
}

impl PolicyDefinition {
    /// The calendar of this policy, or the first problem with it as (field, message).
    ///
    /// # Errors
    /// The field at fault and what is wrong with it.
    pub fn calendar(&self) -> Result<Calendar, (String, String)> {
        let zone = Tz::from_str(&self.time_zone).map_err(|_| {
            (
                "time_zone".to_owned(),
                format!(
                    "`{}` is not an IANA time zone such as Europe/Moscow",
                    self.time_zone
                ),
            )
        })?;
        let mut week: [Vec<(u32, u32)>; 7] = Default::default();
        for (day, (name, openings)) in self.business_hours.days().into_iter().enumerate() {
            for (i, opening) in openings.iter().enumerate() {
                let field = format!("business_hours.{name}[{i}]");
                let from = minutes(&format!("{field}.from"), &opening.from, false)?;
                let to = minutes(&format!("{field}.to"), &opening.to, true)?;
                if from >= to {
                    return Err((format!("{field}.to"), "`to` must be after `from`".into()));
                }
                week[day].push((from, to));
            }
            week[day].sort_unstable();
            if week[day].windows(2).any(|pair| pair[0].1 > pair[1].0) {
                return Err((
                    format!("business_hours.{name}"),
                    "opening intervals of a day must not overlap".into(),
                ));
            }
        }
        let open_hours = week.iter().any(|day| !day.is_empty());
        if self.always_open && open_hours {
            return Err((
                "business_hours".into(),
                "a calendar open around the clock has no business_hours".into(),
            ));
        }
        if !self.always_open && !open_hours {
            return Err((
                "business_hours".into(),
                "give the opening hours of at least one weekday, or always_open".into(),
            ));
        }
        if self.holidays.len() > MAX_HOLIDAYS {
            return Err((
                "holidays".into(),
                format!("at most {MAX_HOLIDAYS} holidays"),
            ));
        }
        for (name, targets) in [
            ("low", self.targets.low),
            ("normal", self.targets.normal),
            ("high", self.targets.high),
            ("urgent", self.targets.urgent),
        ] {
            for (target, value) in [
                ("first_response_min", targets.first_response_min),
                ("resolution_min", targets.resolution_min),
            ] {
                if value.is_some_and(|value| !(1..=MAX_TARGET_MINUTES).contains(&value)) {
                    return Err((
                        format!("targets.{name}.{target}"),
                        format!("{target} must be 1 to {MAX_TARGET_MINUTES} minutes"),
                    ));
                }
            }
        }
        Ok(Calendar {
            zone,
            always_open: self.always_open,
            week,
            holidays: self.holidays.clone(),
        })
    }
}

impl Calendar {
    /// The instant `minutes` business minutes after `start`: counting only the opening hours
    /// of working days, in the calendar's time zone (a local time that a daylight-saving
    /// change skips counts as the first instant after the gap).
    pub fn add_business_minutes(&self, start: DateTime<Utc>, minutes: u32) -> DateTime<Utc> {
        let total = Duration::minutes(i64::from(minutes));
        if self.always_open {
            return start + total;
        }
        let mut left = total;
        let mut date = start.with_timezone(&self.zone).date_naive();
        // `calendar` requires an open weekday and caps holidays at 1,000 days, so the walk
        // ends within a few years; it is bounded regardless.
        for _ in 0..(366 * 4) {
            if !self.holidays.contains(&date) {
                let weekday = date.weekday().num_days_from_monday() as usize;
                for &(from, to) in &self.week[weekday] {
                    let opens = self.instant(date, from).max(start);
                    let closes = self.instant(date, to);
                    if closes <= opens {
                        continue;
                    }
                    if left <= closes - opens {
                        return opens + left;
                    }
                    left -= closes - opens;
                }
            }
            date = date.succ_opt().unwrap_or(date);
        }
        start + total
    }

    /// The UTC instant of `minute` minutes after local midnight of `date`.
    fn instant(&self, date: NaiveDate, minute: u32) -> DateTime<Utc> {
        let midnight = date.and_time(NaiveTime::MIN);
        let local = midnight + Duration::minutes(i64::from(minute));
        match self.zone.from_local_datetime(&local) {
            chrono::LocalResult::Single(at) => at.with_timezone(&Utc),
            chrono::LocalResult::Ambiguous(first, _) => first.with_timezone(&Utc),
            // In a gap a daylight-saving change skips: the first instant after it.
            chrono::LocalResult::None => (1..=180)
                .find_map(|step| {
                    self.zone
                        .from_local_datetime(&(local + Duration::minutes(step)))
                        .earliest()
                })
                .map_or_else(|| local.and_utc(), |at| at.with_timezone(&Utc)),
        }
    }
}

/// A stored version of a project's policy.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Policy {
    /// Its id.
    pub id: Uuid,
    /// The project.
    pub project_id: Uuid,
    /// Its number: 1 for the first policy of the project, then 2, 3...
    pub version: i64,
    /// What it says.
    #[serde(flatten)]
    pub definition: PolicyDefinition,
    /// When it took effect.
    pub created_at: DateTime<Utc>,
}

impl From<Stored<PolicyDefinition>> for Policy {
    fn from(stored: Stored<PolicyDefinition>) -> Self {
        Policy {
            id: stored.id,
            project_id: stored.project_id,
            version: stored.version,
            definition: stored.definition,
            created_at: stored.created_at,
        }
    }
}

/// The current policy of `project`, if it has one.
///
/// # Errors
/// Database errors.
pub async fn current(
    db: &Database,
    actor: &Actor,
    project: Uuid,
) -> Result<Option<Policy>, sqlx::Error> {
    Ok(
        project_versions::get(db, Versioned::SlaPolicies, actor, project, None)
            .await?
            .map(Policy::from),
    )
}

/// Version `version` of the policy of `project`.
///
/// # Errors
/// Database errors.
pub async fn version(
    db: &Database,
    actor: &Actor,
    project: Uuid,
    version: i64,
) -> Result<Option<Policy>, sqlx::Error> {
    Ok(
        project_versions::get(db, Versioned::SlaPolicies, actor, project, Some(version))
            .await?
            .map(Policy::from),
    )
}

/// What goes wrong when setting a policy.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// The policy changed since the version the caller based the change on.
    #[error(
        "the SLA policy was changed by someone else (now at version {current}); reload it and retry"
    )]
    VersionConflict {
        /// The version now in effect (0: none).
        current: i64,
    },
    /// The database failed.
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// Puts `definition` in effect for `project` as the version after `expected_version` (0 when
/// the project has none yet). Tickets created before keep the version they were created under.
///
/// # Errors
/// [`PolicyError::VersionConflict`]; database errors.
pub async fn put(
    db: &Database,
    actor: &Actor,
    trace: Option<&TraceContext>,
    project: Uuid,
    expected_version: i64,
    definition: PolicyDefinition,
) -> Result<Policy, PolicyError> {
    let current_version = |policy: Option<Policy>| policy.map_or(0, |policy| policy.version);
    let now_in_effect = current_version(current(db, actor, project).await?);
    if now_in_effect != expected_version {
        return Err(PolicyError::VersionConflict {
            current: now_in_effect,
        });
    }
    let stored = Stored {
        id: Uuid::now_v7(),
        project_id: project,
        version: expected_version + 1,
        definition,
        created_at: crate::db::now(),
    };
    if !project_versions::insert(
        db,
        Versioned::SlaPolicies,
        Change {
            actor,
            trace,
            at: stored.created_at,
        },
        &stored,
    )
    .await?
    {
        // Someone else put the same version first.
        return Err(PolicyError::VersionConflict {
            current: current_version(current(db, actor, project).await?),
        });
    }
    Ok(Policy::from(stored))
}

/// One SLA clock of a ticket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Clock {
    /// When the target falls due.
    pub due_at: DateTime<Utc>,
    /// When it was reached (first reply; solved or closed); `null` while running.
    pub achieved_at: Option<DateTime<Utc>>,
    /// Whether it was reached late, or is past due and still running.
    pub breached: bool,
}

impl Clock {
    /// The clock due at `due_at`, reached at `achieved_at`, as of `now`.
    pub fn at(
        due_at: DateTime<Utc>,
        achieved_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Self {
        Clock {
            due_at,
            achieved_at,
            breached: achieved_at.unwrap_or(now) > due_at,
        }
    }
}

/// A ticket's SLA: the policy version it is measured by, and its clocks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct TicketSla {
    /// The project's policy version the ticket was created under.
    pub policy_version: i64,
    /// The first-response clock; `null` when the priority has no such target.
    pub first_response: Option<Clock>,
    /// The resolution clock; `null` when the priority has no such target.
    pub resolution: Option<Clock>,
}

/// The due times of a ticket of `priority` created at `created_at` under `policy`.
pub fn due_times(
    policy: &Policy,
    priority: TicketPriority,
    created_at: DateTime<Utc>,
) -> (Option<DateTime<Utc>>, Option<DateTime<Utc>>) {
    let Ok(calendar) = policy.definition.calendar() else {
        // Stored policies were checked when they were put.
        return (None, None);
    };
    let targets = policy.definition.targets.of(priority);
    let due = |minutes: Option<u32>| {
        minutes.map(|minutes| {
            calendar
                .add_business_minutes(created_at, minutes)
                .trunc_subsecs(6)
        })
    };
    (due(targets.first_response_min), due(targets.resolution_min))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn weekdays_9_to_18(zone: &str) -> PolicyDefinition {
        let day = || {
            vec![Opening {
                from: "09:00".into(),
                to: "18:00".into(),
            }]
        };
        PolicyDefinition {
            time_zone: zone.into(),
            always_open: false,
            business_hours: WeeklyHours {
                mon: day(),
                tue: day(),
                wed: day(),
                thu: day(),
                fri: day(),
                ..WeeklyHours::default()
            },
            holidays: BTreeSet::new(),
            targets: PriorityTargets::default(),
        }
    }

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn business_time_skips_nights_weekends_and_holidays() {
        let mut definition = weekdays_9_to_18("Europe/Moscow");
        let calendar = definition.calendar().unwrap();
        // Friday 2026-11-27 17:30 in Moscow (UTC+3): 30 minutes today, 30 on Monday.
        assert_eq!(
            calendar.add_business_minutes(utc("2026-11-27T14:30:00Z"), 60),
            utc("2026-11-30T06:30:00Z")
        );
        // Created at night: the clock starts at opening.
        assert_eq!(
            calendar.add_business_minutes(utc("2026-11-24T23:00:00Z"), 15),
            utc("2026-11-25T06:15:00Z")
        );
        // Exactly at closing: due at closing.
        assert_eq!(
            calendar.add_business_minutes(utc("2026-11-24T14:00:00Z"), 60),
            utc("2026-11-24T15:00:00Z")
        );
        definition
            .holidays
            .insert(NaiveDate::from_ymd_opt(2026, 11, 30).unwrap());
        let calendar = definition.calendar().unwrap();
        assert_eq!(
            calendar.add_business_minutes(utc("2026-11-27T14:30:00Z"), 60),
            utc("2026-12-01T06:30:00Z"),
            "Monday is a holiday"
        );
        // Two full days (18 hours of business) from Tuesday opening: Wednesday closing.
        assert_eq!(
            calendar.add_business_minutes(utc("2026-12-01T06:00:00Z"), 18 * 60),
            utc("2026-12-02T15:00:00Z")
        );
    }

    #[test]
    fn business_time_follows_daylight_saving_changes() {
        let calendar = weekdays_9_to_18("Europe/Berlin").calendar().unwrap();
        // Friday 2026-03-27 17:00 CET (UTC+1); Monday 2026-03-30 is CEST (UTC+2).
        assert_eq!(
            calendar.add_business_minutes(utc("2026-03-27T16:00:00Z"), 120),
            utc("2026-03-30T08:00:00Z")
        );
        let mut night = weekdays_9_to_18("Europe/Berlin");
        night.business_hours.sun = vec![Opening {
            from: "02:00".into(),
            to: "04:00".into(),
        }];
        // Sunday 2026-03-29 02:00-03:00 does not exist in Berlin: that day has one open hour.
        let calendar = night.calendar().unwrap();
        assert_eq!(
            calendar.add_business_minutes(utc("2026-03-29T00:00:00Z"), 60),
            utc("2026-03-29T02:00:00Z")
        );
    }

    #[test]
    fn around_the_clock_calendars_count_plain_minutes() {
        let mut definition = weekdays_9_to_18("UTC");
        definition.business_hours = WeeklyHours::default();
        definition.always_open = true;
        let calendar = definition.calendar().unwrap();
        assert_eq!(
            calendar.add_business_minutes(utc("2026-11-28T23:50:00Z"), 30),
            utc("2026-11-29T00:20:00Z")
        );
    }

    #[test]
    fn bad_calendars_name_the_field_at_fault() {
        let field = |definition: PolicyDefinition| definition.calendar().unwrap_err().0;
        let mut definition = weekdays_9_to_18("Mars/Olympus");
        assert_eq!(field(definition.clone()), "time_zone");
        definition.time_zone = "UTC".into();
        definition.business_hours.tue[0].to = "08:00".into();
        assert_eq!(field(definition.clone()), "business_hours.tue[0].to");
        definition.business_hours.tue[0].to = "9am".into();
        assert_eq!(field(definition.clone()), "business_hours.tue[0].to");
        definition.business_hours.tue = vec![
            Opening {
                from: "09:00".into(),
                to: "13:00".into(),
            },
            Opening {
                from: "12:00".into(),
                to: "18:00".into(),
            },
        ];
        assert_eq!(field(definition.clone()), "business_hours.tue");
        definition.business_hours = WeeklyHours::default();
        assert_eq!(field(definition.clone()), "business_hours");
        definition.always_open = true;
        definition.targets.urgent.first_response_min = Some(0);
        assert_eq!(field(definition), "targets.urgent.first_response_min");
    }

    #[test]
    fn a_clock_is_breached_when_reached_late_or_overdue() {
        let due = utc("2026-11-27T12:00:00Z");
        let before = utc("2026-11-27T11:00:00Z");
        let after = utc("2026-11-27T13:00:00Z");
        assert!(!Clock::at(due, Some(before), after).breached);
        assert!(Clock::at(due, Some(after), after).breached);
        assert!(!Clock::at(due, None, before).breached);
        assert!(Clock::at(due, None, after).breached);
    }
}

//! Published weekly schedules: who works when, with their breaks, lunches, meetings and
//! training, as planners publish them for adherence and for the operators themselves.
//!
//! A planner publishes a whole week at once: its first day, its time zone and every agent's
//! shifts. Each publication of a week is stored as a new **version** numbered 1, 2, 3… within
//! that week, and the highest version of a week supersedes every earlier one (they are kept,
//! read-only, for the record). The same transaction writes the version's events to the outbox:
//! one `schedule.activity_scheduled` per contiguous activity of each shift (the time outside the
//! shift's activities is `work`), then one `schedule.published` that closes the version, so the
//! lake sees a version only once all of it has landed.
//!
//! [`Week::parse`] turns a request into a week that is valid by construction: a known time
//! zone, shifts that start inside the week and end after they start (at most 24 hours later),
//! activities inside their shift that do not overlap, and no two shifts of one agent that
//! overlap. Refusals name the field at fault (`shifts[3].activities[1].end`).

use std::collections::BTreeMap;
use std::str::FromStr;

use chrono::{
    DateTime, Datelike as _, Duration, LocalResult, NaiveDate, NaiveDateTime, TimeZone as _, Utc,
};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use tenet_events::ids::{AgentId, ScheduleId};
use tenet_events::schedules::{ActivityKind, ActivityScheduled, SchedulePublished};
use tenet_events::{Actor, OccurredAt, TenantId, TraceContext};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::db::{BeginWrite, Database, now, principal_json};
use crate::outbox::OutboxRecord;
use crate::{enqueue, on_backend};

/// The most shifts one week may hold: a shift a day for 200 agents.
pub const MAX_SHIFTS: usize = 1_400;
/// The most activities one shift may hold.
pub const MAX_ACTIVITIES: usize = 24;
/// The longest shift.
const MAX_SHIFT: Duration = Duration::hours(24);

/// A week's schedule as a planner sends it.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSchedule {
    /// The first day of the week (any weekday), in `time_zone`.
    pub week_start: NaiveDate,
    /// The IANA time zone of the week and of local times (`Europe/Berlin`).
    pub time_zone: String,
    /// Every shift of the week, at most 1,400 (200 agents, a shift a day), so that any valid
    /// week fits the request body limit.
    #[schema(max_items = 1400)]
    pub shifts: Vec<NewShift>,
}

/// One shift of one agent.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewShift {
    /// The agent, as the agent-state events name them (a PBX login, a user id).
    pub agent_id: String,
    /// The user who works the shift, so that they can read their own schedule.
    #[serde(default)]
    pub user_id: Option<Uuid>,
    /// Its start: a local time in the week's time zone (`2026-04-13T08:00`) or an RFC 3339
    /// time with an offset. It must fall inside the week.
    pub start: String,
    /// Its end, after the start and at most 24 hours later.
    pub end: String,
    /// Breaks, lunches, meetings and training inside the shift, at most 24; the rest is work.
    #[serde(default)]
    #[schema(max_items = 24)]
    pub activities: Vec<NewActivity>,
}

/// An activity inside a shift.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewActivity {
    /// `break`, `lunch`, `meeting` or `training` (`work` is the shift's remaining time).
    #[schema(value_type = crate::openapi::ActivityKindSchema)]
    pub kind: ActivityKind,
    /// Its start, in the shift's formats.
    pub start: String,
    /// Its end.
    pub end: String,
}

/// A refused field of a schedule: its path and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct InvalidSchedule {
    /// The field's path in the request (`shifts[2].end`).
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

fn invalid(field: impl Into<String>, message: impl Into<String>) -> InvalidSchedule {
    InvalidSchedule {
        field: field.into(),
        message: message.into(),
    }
}

/// An activity of a shift, in UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Activity {
    /// What the agent does.
    #[schema(value_type = crate::openapi::ActivityKindSchema)]
    pub kind: ActivityKind,
    /// When it starts.
    pub start: DateTime<Utc>,
    /// When it ends.
    pub end: DateTime<Utc>,
}

/// A shift of a valid week: inside the week, with ordered non-overlapping activities.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Shift {
    /// The agent.
    #[schema(value_type = String)]
    pub agent_id: AgentId,
    /// The user who works it, when named.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_id: Option<Uuid>,
    /// Its start.
    pub start: DateTime<Utc>,
    /// Its end.
    pub end: DateTime<Utc>,
    /// Its activities other than work, by start.
    pub activities: Vec<Activity>,
}

impl Shift {
    /// The shift cut into contiguous activities from start to end: its own activities, and
    /// `work` in every gap between them.
    pub fn timeline(&self) -> Vec<Activity> {
        let mut timeline = Vec::with_capacity(self.activities.len() * 2 + 1);
        let mut at = self.start;
        for activity in &self.activities {
            if activity.start > at {
                timeline.push(Activity {
                    kind: ActivityKind::Work,
                    start: at,
                    end: activity.start,
                });
            }
            timeline.push(*activity);
            at = activity.end;
        }
        if self.end > at {
            timeline.push(Activity {
                kind: ActivityKind::Work,
                start: at,
                end: self.end,
            });
        }
        timeline
    }
}

/// A week's schedule, valid by construction (see the module documentation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Week {
    /// Its first day.
    pub week_start: NaiveDate,
    /// Its time zone.
    pub time_zone: Tz,
    /// Its shifts, in request order.
    pub shifts: Vec<Shift>,
}

/// The UTC instant of `text`: an RFC 3339 time with an offset, or a local time in `zone`
/// (`2026-04-13T08:00` or with seconds). A local time that the clocks skip is refused; one
/// they pass twice is the earlier.
fn instant(field: &str, text: &str, zone: Tz) -> Result<DateTime<Utc>, InvalidSchedule> {
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Ok(at.with_timezone(&Utc));
    }
    let local = NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S")
        .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M"))
        .map_err(|_| {
            invalid(
                field,
                "must be a local time (2026-04-13T08:00) or an RFC 3339 time with an offset",
            )
        })?;
    match zone.from_local_datetime(&local) {
        LocalResult::Single(at) | LocalResult::Ambiguous(at, _) => Ok(at.with_timezone(&Utc)),
        LocalResult::None => Err(invalid(
            field,
            format!("{text} does not exist in {zone}: the clocks skip it"),
        )),
    }
}

/// The UTC instant of local midnight starting `day` in `zone` (the first instant of the day
/// when the clocks skip midnight).
fn midnight(day: NaiveDate, zone: Tz) -> DateTime<Utc> {
    let mut local = day.and_hms_opt(0, 0, 0).expect("midnight exists");
    loop {
        match zone.from_local_datetime(&local) {
            LocalResult::Single(at) | LocalResult::Ambiguous(at, _) => {
                return at.with_timezone(&Utc);
            }
            LocalResult::None => local += Duration::minutes(15),
        }
    }
}

impl Week {
    /// The week `request` describes.
    ///
    /// # Errors
    /// [`InvalidSchedule`] naming the first field at fault.
    pub fn parse(request: NewSchedule) -> Result<Self, InvalidSchedule> {
        let zone = Tz::from_str(&request.time_zone).map_err(|_| {
            invalid(
                "time_zone",
                format!(
                    "unknown time zone `{}`; use an IANA name like Europe/Berlin",
                    request.time_zone
                ),
            )
        })?;
        if request.week_start.year() < 1971 {
            return Err(invalid("week_start", "weeks start in 1971 or later"));
        }
        if request.shifts.len() > MAX_SHIFTS {
            return Err(invalid(
                "shifts",
                format!("a week holds at most {MAX_SHIFTS} shifts"),
            ));
        }
        let week_end_day = request
            .week_start
            .checked_add_days(chrono::Days::new(7))
            .ok_or_else(|| invalid("week_start", "the week ends after the last supported date"))?;
        let (week_from, week_to) = (
            midnight(request.week_start, zone),
            midnight(week_end_day, zone),
        );
        let mut shifts = Vec::with_capacity(request.shifts.len());
        for (i, shift) in request.shifts.into_iter().enumerate() {
            let path = format!("shifts[{i}]");
            let agent_id = AgentId::parse(shift.agent_id)
                .map_err(|error| invalid(format!("{path}.agent_id"), error.to_string()))?;
            let start = instant(&format!("{path}.start"), &shift.start, zone)?;
            let end = instant(&format!("{path}.end"), &shift.end, zone)?;
            if start < week_from || start >= week_to {
                return Err(invalid(
                    format!("{path}.start"),
                    format!(
                        "the shift starts outside the week of {} in {zone}",
                        request.week_start
                    ),
                ));
            }
            if end <= start {
                return Err(invalid(
                    format!("{path}.end"),
                    "the shift ends before it starts",
                ));
            }
            if end - start > MAX_SHIFT {
                return Err(invalid(
                    format!("{path}.end"),
                    "a shift lasts at most 24 hours",
                ));
            }
            if shift.activities.len() > MAX_ACTIVITIES {
                return Err(invalid(
                    format!("{path}.activities"),
                    format!("a shift holds at most {MAX_ACTIVITIES} activities"),
                ));
            }
            let mut activities: Vec<(usize, Activity)> = Vec::new();
            for (j, activity) in shift.activities.into_iter().enumerate() {
                let path = format!("{path}.activities[{j}]");
                if activity.kind == ActivityKind::Work {
                    return Err(invalid(
                        format!("{path}.kind"),
                        "work is the shift's time outside its activities; list breaks, lunches, meetings and training",
                    ));
                }
                let a_start = instant(&format!("{path}.start"), &activity.start, zone)?;
                let a_end = instant(&format!("{path}.end"), &activity.end, zone)?;
                if a_end <= a_start {
                    return Err(invalid(
                        format!("{path}.end"),
                        "the activity ends before it starts",
                    ));
                }
                if a_start < start || a_end > end {
                    let field = if a_start < start { "start" } else { "end" };
                    return Err(invalid(
                        format!("{path}.{field}"),
                        "the activity lies outside its shift",
                    ));
                }
                activities.push((
                    j,
                    Activity {
                        kind: activity.kind,
                        start: a_start,
                        end: a_end,
                    },
                ));
            }
            activities.sort_by_key(|(j, activity)| (activity.start, *j));
            for pair in activities.windows(2) {
                let ((earlier, first), (later, second)) = (pair[0], pair[1]);
                if second.start < first.end {
                    return Err(invalid(
                        format!("{path}.activities[{later}].start"),
                        format!("the activity overlaps {path}.activities[{earlier}]"),
                    ));
                }
            }
            shifts.push(Shift {
                agent_id,
                user_id: shift.user_id,
                start,
                end,
                activities: activities.into_iter().map(|(_, a)| a).collect(),
            });
        }
        let mut by_agent: BTreeMap<&AgentId, Vec<usize>> = BTreeMap::new();
        for (i, shift) in shifts.iter().enumerate() {
            by_agent.entry(&shift.agent_id).or_default().push(i);
        }
        for indices in by_agent.values_mut() {
            indices.sort_by_key(|&i| (shifts[i].start, i));
            for pair in indices.windows(2) {
                let (earlier, later) = (pair[0], pair[1]);
                if shifts[later].start < shifts[earlier].end {
                    return Err(invalid(
                        format!("shifts[{later}].start"),
                        format!(
                            "the shift overlaps shifts[{earlier}] of agent {}",
                            shifts[later].agent_id
                        ),
                    ));
                }
            }
        }
        Ok(Self {
            week_start: request.week_start,
            time_zone: zone,
            shifts,
        })
    }

    /// The users the week names, for the caller to check that they exist.
    pub fn users(&self) -> impl Iterator<Item = (usize, Uuid)> + '_ {
        self.shifts
            .iter()
            .enumerate()
            .filter_map(|(i, shift)| shift.user_id.map(|user| (i, user)))
    }

    fn agents(&self) -> usize {
        let mut agents: Vec<&AgentId> = self.shifts.iter().map(|shift| &shift.agent_id).collect();
        agents.sort_unstable();
        agents.dedup();
        agents.len()
    }
}

/// A published version of a week, without its shifts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ScheduleSummary {
    /// The version's id.
    pub id: Uuid,
    /// The first day of its week.
    pub week_start: NaiveDate,
    /// Its number within the week: 1, 2, 3… in publication order.
    pub version: i64,
    /// Whether it is the week's highest version, the one in force; the others are superseded.
    pub current: bool,
    /// The IANA time zone of the week.
    pub time_zone: String,
    /// How many agents it schedules.
    pub agents: i64,
    /// How many activities (work included) its shifts are cut into.
    pub activities: i64,
    /// The version it replaced.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub supersedes: Option<Uuid>,
    /// Who published it.
    #[schema(value_type = crate::openapi::PrincipalSchema)]
    pub published_by: serde_json::Value,
    /// When.
    pub published_at: DateTime<Utc>,
}

/// A published version with its shifts (for an operator, only their own).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Schedule {
    /// The version.
    #[serde(flatten)]
    pub summary: ScheduleSummary,
    /// Its shifts, by agent and start.
    pub shifts: Vec<Shift>,
}

/// What can go wrong publishing or reading schedules.
#[derive(Debug, thiserror::Error)]
pub enum ScheduleError {
    /// Another publication of the same week committed first; publishing again makes the
    /// next version.
    #[error("the week of {0} was published by someone else at the same time; publish again")]
    Concurrent(NaiveDate),
    /// The database failed.
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

#[derive(sqlx::FromRow)]
struct SummaryRow {
    id: Uuid,
    week_start: NaiveDate,
    version: i64,
    time_zone: String,
    agents: i64,
    activities: i64,
    supersedes: Option<Uuid>,
    published_by: String,
    published_at: DateTime<Utc>,
    latest: i64,
}

impl From<SummaryRow> for ScheduleSummary {
    fn from(row: SummaryRow) -> Self {
        Self {
            id: row.id,
            week_start: row.week_start,
            version: row.version,
            current: row.version == row.latest,
            time_zone: row.time_zone,
            agents: row.agents,
            activities: row.activities,
            supersedes: row.supersedes,
            published_by: serde_json::from_str(&row.published_by)
                .unwrap_or(serde_json::Value::Null),
            published_at: row.published_at,
        }
    }
}

#[derive(sqlx::FromRow)]
struct ShiftRow {
    agent_id: String,
    user_id: Option<Uuid>,
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
    activities: String,
}

impl TryFrom<ShiftRow> for Shift {
    type Error = sqlx::Error;

    fn try_from(row: ShiftRow) -> Result<Self, Self::Error> {
        let decode = |column: &'static str, error: Box<dyn std::error::Error + Send + Sync>| {
            sqlx::Error::ColumnDecode {
                index: column.into(),
                source: error,
            }
        };
        Ok(Shift {
            agent_id: AgentId::parse(row.agent_id).map_err(|e| decode("agent_id", Box::new(e)))?,
            user_id: row.user_id,
            start: row.starts_at,
            end: row.ends_at,
            activities: serde_json::from_str(&row.activities)
                .map_err(|e| decode("activities", Box::new(e)))?,
        })
    }
}

/// Which shifts a reader sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reader {
    /// Every shift of the tenant.
    Everyone,
    /// Only the shifts of this user: those naming them as `user_id`, or whose agent id is
    /// their user id.
    Own(Uuid),
}

const SUMMARY_COLUMNS: &str = "s.id, s.week_start, cast(s.version as bigint) as version, s.time_zone, \
     cast(s.agents as bigint) as agents, cast(s.activities as bigint) as activities, s.supersedes, \
     s.published_by, s.published_at, \
     (select cast(max(l.version) as bigint) from schedules l \
      where l.tenant_id = s.tenant_id and l.week_start = s.week_start) as latest";

/// Publishes `week` as the next version of its week, with its events, in one transaction.
///
/// # Errors
/// [`ScheduleError::Concurrent`] when another publication of the week won the version
/// number; database errors.
pub async fn publish(
    db: &Database,
    actor: &Actor,
    trace: Option<&TraceContext>,
    week: &Week,
) -> Result<Schedule, ScheduleError> {
    let tenant = actor.tenant_id.as_uuid();
    let id = Uuid::now_v7();
    let published_at = now();
    let schedule_id = ScheduleId::parse(id.to_string()).expect("a UUID is a valid id");
    let at = |instant: DateTime<Utc>| {
        OccurredAt::from_datetime(instant).expect("a shift inside a week after 1970")
    };
    let agents = week.agents();
    let mut shifts: Vec<Shift> = week.shifts.clone();
    shifts.sort_by(|a, b| (&a.agent_id, a.start).cmp(&(&b.agent_id, b.start)));
    let timelines: Vec<Vec<Activity>> = shifts.iter().map(Shift::timeline).collect();
    let activities: usize = timelines.iter().map(Vec::len).sum();
    let week_start = week.week_start;
    let time_zone = week.time_zone.name().to_owned();
    let published_by = principal_json(actor);
    let summary = on_backend!(db, |pool| {
        let mut tx = pool.begin_write().await?;
        let previous: Option<(Uuid, i64)> = sqlx::query_as(
            "select id, cast(version as bigint) from schedules \
             where tenant_id = $1 and week_start = $2 order by version desc limit 1",
        )
        .bind(tenant)
        .bind(week_start)
        .fetch_optional(&mut *tx)
        .await?;
        let version = previous.map_or(1, |(_, version)| version + 1);
        let supersedes = previous.map(|(id, _)| id);
        sqlx::query(
            "insert into schedules (id, tenant_id, week_start, version, time_zone, agents, \
             activities, supersedes, published_by, published_at) \
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(id)
        .bind(tenant)
        .bind(week_start)
        .bind(version)
        .bind(&time_zone)
        .bind(i64::try_from(agents).unwrap_or(i64::MAX))
        .bind(i64::try_from(activities).unwrap_or(i64::MAX))
        .bind(supersedes)
        .bind(&published_by)
        .bind(published_at)
        .execute(&mut *tx)
        .await
        .map_err(|error| match &error {
            sqlx::Error::Database(db) if db.is_unique_violation() => {
                ScheduleError::Concurrent(week_start)
            }
            _ => ScheduleError::Database(error),
        })?;
        let wire_version = u32::try_from(version).unwrap_or(u32::MAX);
        for (shift, timeline) in shifts.iter().zip(&timelines) {
            let stored: Vec<&Activity> = timeline
                .iter()
                .filter(|activity| activity.kind != ActivityKind::Work)
                .collect();
            sqlx::query(
                "insert into schedule_shifts (id, tenant_id, schedule_id, agent_id, user_id, \
                 starts_at, ends_at, activities) values ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(Uuid::now_v7())
            .bind(tenant)
            .bind(id)
            .bind(shift.agent_id.as_str())
            .bind(shift.user_id)
            .bind(shift.start)
            .bind(shift.end)
            .bind(serde_json::to_string(&stored).unwrap_or_else(|_| "[]".into()))
            .execute(&mut *tx)
            .await?;
            for activity in timeline {
                let event = ActivityScheduled {
                    schedule_id: schedule_id.clone(),
                    week_start,
                    version: wire_version,
                    agent_id: shift.agent_id.clone(),
                    activity: activity.kind,
                    starts_at: at(activity.start),
                    ends_at: at(activity.end),
                };
                enqueue!(
                    &mut *tx,
                    &OutboxRecord::of(actor, published_at, trace, event)
                )?;
            }
        }
        let closing = SchedulePublished {
            schedule_id: schedule_id.clone(),
            week_start,
            version: wire_version,
            time_zone: time_zone.clone(),
            agents: u32::try_from(agents).unwrap_or(u32::MAX),
            activities: u32::try_from(activities).unwrap_or(u32::MAX),
            supersedes: supersedes
                .map(|id| ScheduleId::parse(id.to_string()).expect("a UUID is a valid id")),
        };
        enqueue!(
            &mut *tx,
            &OutboxRecord::of(actor, published_at, trace, closing)
        )?;
        tx.commit().await?;
        ScheduleSummary {
            id,
            week_start,
            version,
            current: true,
            time_zone: time_zone.clone(),
            agents: i64::try_from(agents).unwrap_or(i64::MAX),
            activities: i64::try_from(activities).unwrap_or(i64::MAX),
            supersedes,
            published_by: serde_json::from_str(&published_by).unwrap_or_default(),
            published_at,
        }
    });
    Ok(Schedule { summary, shifts })
}

/// Which versions to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ListFilter {
    /// Only this week.
    pub week_start: Option<NaiveDate>,
    /// Superseded versions too, not only the current ones.
    pub include_superseded: bool,
}

fn own_shift_sql(column_prefix: &str) -> String {
    format!("({column_prefix}user_id = $2 or {column_prefix}agent_id = $3)")
}

/// The published versions `reader` may see, newest week first, then newest version first;
/// an operator sees the versions that hold a shift of theirs.
///
/// # Errors
/// Database errors.
pub async fn list(
    db: &Database,
    tenant: TenantId,
    reader: Reader,
    filter: ListFilter,
    limit: i64,
) -> Result<Vec<ScheduleSummary>, sqlx::Error> {
    let (user, user_text) = match reader {
        Reader::Everyone => (None, String::new()),
        Reader::Own(user) => (Some(user), user.to_string()),
    };
    let own = if user.is_some() {
        format!(
            "and exists (select 1 from schedule_shifts h where h.tenant_id = s.tenant_id \
             and h.schedule_id = s.id and {})",
            own_shift_sql("h.")
        )
    } else {
        "and ($2 is null or $3 = '')".to_owned()
    };
    let sql = format!(
        "select * from (select {SUMMARY_COLUMNS} from schedules s \
         where s.tenant_id = $1 {own} and ($4 is null or s.week_start = $4)) listed \
         where $5 or version = latest \
         order by week_start desc, version desc limit $6"
    );
    let rows: Vec<SummaryRow> = on_backend!(db, |pool| {
        sqlx::query_as(&sql)
            .bind(tenant.as_uuid())
            .bind(user)
            .bind(&user_text)
            .bind(filter.week_start)
            .bind(filter.include_superseded)
            .bind(limit)
            .fetch_all(pool)
            .await?
    });
    Ok(rows.into_iter().map(ScheduleSummary::from).collect())
}

/// The version `id` with the shifts `reader` may see; `None` when it does not exist, or an
/// operator has no shift in it.
///
/// # Errors
/// Database errors.
pub async fn get(
    db: &Database,
    tenant: TenantId,
    reader: Reader,
    id: Uuid,
) -> Result<Option<Schedule>, sqlx::Error> {
    let (user, user_text) = match reader {
        Reader::Everyone => (None, String::new()),
        Reader::Own(user) => (Some(user), user.to_string()),
    };
    let summary_sql =
        format!("select {SUMMARY_COLUMNS} from schedules s where s.tenant_id = $1 and s.id = $2");
    let own = if user.is_some() {
        own_shift_sql("")
    } else {
        "($2 is null or $3 = '')".to_owned()
    };
    let shifts_sql = format!(
        "select agent_id, user_id, starts_at, ends_at, activities from schedule_shifts \
         where tenant_id = $1 and {own} and schedule_id = $4 order by agent_id, starts_at"
    );
    let (summary, shifts): (Option<SummaryRow>, Vec<ShiftRow>) = on_backend!(db, |pool| {
        let summary = sqlx::query_as(&summary_sql)
            .bind(tenant.as_uuid())
            .bind(id)
            .fetch_optional(pool)
            .await?;
        let shifts = sqlx::query_as(&shifts_sql)
            .bind(tenant.as_uuid())
            .bind(user)
            .bind(&user_text)
            .bind(id)
            .fetch_all(pool)
            .await?;
        (summary, shifts)
    });
    let Some(summary) = summary else {
        return Ok(None);
    };
    if user.is_some() && shifts.is_empty() {
        return Ok(None);
    }
    Ok(Some(Schedule {
        summary: summary.into(),
        shifts: shifts
            .into_iter()
            .map(Shift::try_from)
            .collect::<Result<_, _>>()?,
    }))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn week(shifts: serde_json::Value) -> Result<Week, InvalidSchedule> {
        let request: NewSchedule = serde_json::from_value(json!({
            "week_start": "2026-03-23", "time_zone": "Europe/Berlin", "shifts": shifts,
        }))
        .unwrap();
        Week::parse(request)
    }

    fn refused(shifts: serde_json::Value) -> String {
        week(shifts).unwrap_err().field
    }

    #[test]
    fn local_times_are_read_in_the_week_time_zone_across_the_clock_change() {
        // Berlin moves from UTC+1 to UTC+2 at 02:00 on Sunday 29 March 2026.
        let parsed = week(json!([
            {"agent_id": "1001", "start": "2026-03-23T08:00", "end": "2026-03-23T16:00",
             "activities": [{"kind": "lunch", "start": "2026-03-23T12:00", "end": "2026-03-23T12:30"}]},
            {"agent_id": "1001", "start": "2026-03-29T08:00", "end": "2026-03-29T12:00:00Z"},
        ]))
        .unwrap();
        assert_eq!(
            parsed.shifts[0].start.to_rfc3339(),
            "2026-03-23T07:00:00+00:00"
        );
        assert_eq!(
            parsed.shifts[1].start.to_rfc3339(),
            "2026-03-29T06:00:00+00:00"
        );
        assert_eq!(
            parsed.shifts[1].end.to_rfc3339(),
            "2026-03-29T12:00:00+00:00"
        );
    }

    #[test]
    fn a_shift_is_cut_into_work_around_its_activities() {
        let parsed = week(json!([
            {"agent_id": "1001", "start": "2026-03-23T08:00", "end": "2026-03-23T12:00",
             "activities": [
                {"kind": "lunch", "start": "2026-03-23T10:00", "end": "2026-03-23T10:30"},
                {"kind": "break", "start": "2026-03-23T08:00", "end": "2026-03-23T08:15"},
                {"kind": "meeting", "start": "2026-03-23T11:30", "end": "2026-03-23T12:00"}
             ]},
        ]))
        .unwrap();
        let timeline: Vec<(&str, String, String)> = parsed.shifts[0]
            .timeline()
            .iter()
            .map(|a| {
                (
                    a.kind.as_str(),
                    a.start.format("%H:%M").to_string(),
                    a.end.format("%H:%M").to_string(),
                )
            })
            .collect();
        let expected = [
            ("break", "07:00", "07:15"),
            ("work", "07:15", "09:00"),
            ("lunch", "09:00", "09:30"),
            ("work", "09:30", "10:30"),
            ("meeting", "10:30", "11:00"),
        ];
        let expected: Vec<(&str, String, String)> = expected
            .iter()
            .map(|(k, s, e)| (*k, (*s).to_owned(), (*e).to_owned()))
            .collect();
        assert_eq!(timeline, expected);
    }

    #[test]
    fn invalid_weeks_are_refused_naming_the_field() {
        let shift =
            |start: &str, end: &str| json!({"agent_id": "1001", "start": start, "end": end});
        assert_eq!(
            refused(json!([shift("2026-03-23T16:00", "2026-03-23T08:00")])),
            "shifts[0].end"
        );
        assert_eq!(
            refused(json!([shift("2026-03-22T08:00", "2026-03-22T16:00")])),
            "shifts[0].start"
        );
        assert_eq!(
            refused(json!([shift("2026-03-30T00:00", "2026-03-30T08:00")])),
            "shifts[0].start"
        );
        assert_eq!(
            refused(json!([shift("2026-03-23T08:00", "2026-03-24T09:00")])),
            "shifts[0].end"
        );
        assert_eq!(
            refused(json!([shift("monday 8", "2026-03-23T09:00")])),
            "shifts[0].start"
        );
        // 02:30 on 29 March does not exist in Berlin.
        assert_eq!(
            refused(json!([shift("2026-03-29T02:30", "2026-03-29T09:00")])),
            "shifts[0].start"
        );
        assert_eq!(
            refused(json!([
                shift("2026-03-23T08:00", "2026-03-23T16:00"),
                shift("2026-03-23T15:00", "2026-03-23T20:00")
            ])),
            "shifts[1].start"
        );
        assert_eq!(
            refused(
                json!([{"agent_id": " 1001", "start": "2026-03-23T08:00", "end": "2026-03-23T09:00"}])
            ),
            "shifts[0].agent_id"
        );
        let with = |activities: serde_json::Value| json!([{"agent_id": "1001", "start": "2026-03-23T08:00", "end": "2026-03-23T16:00", "activities": activities}]);
        assert_eq!(
            refused(with(
                json!([{"kind": "break", "start": "2026-03-23T07:50", "end": "2026-03-23T08:10"}])
            )),
            "shifts[0].activities[0].start"
        );
        assert_eq!(
            refused(with(
                json!([{"kind": "break", "start": "2026-03-23T15:50", "end": "2026-03-23T16:10"}])
            )),
            "shifts[0].activities[0].end"
        );
        assert_eq!(
            refused(with(
                json!([{"kind": "break", "start": "2026-03-23T10:10", "end": "2026-03-23T10:00"}])
            )),
            "shifts[0].activities[0].end"
        );
        assert_eq!(
            refused(with(json!([
                {"kind": "lunch", "start": "2026-03-23T12:00", "end": "2026-03-23T12:30"},
                {"kind": "break", "start": "2026-03-23T12:15", "end": "2026-03-23T12:45"}
            ]))),
            "shifts[0].activities[1].start"
        );
        assert_eq!(
            refused(with(
                json!([{"kind": "work", "start": "2026-03-23T10:00", "end": "2026-03-23T11:00"}])
            )),
            "shifts[0].activities[0].kind"
        );
        let unknown_zone: NewSchedule = serde_json::from_value(
            json!({"week_start": "2026-03-23", "time_zone": "Mars/Olympus", "shifts": []}),
        )
        .unwrap();
        assert_eq!(Week::parse(unknown_zone).unwrap_err().field, "time_zone");
        let before_1971: NewSchedule = serde_json::from_value(
            json!({"week_start": "1900-01-01", "time_zone": "UTC", "shifts": []}),
        )
        .unwrap();
        assert_eq!(Week::parse(before_1971).unwrap_err().field, "week_start");
    }

    #[test]
    fn shifts_of_different_agents_may_overlap_and_back_to_back_shifts_do_not() {
        let parsed = week(json!([
            {"agent_id": "1001", "start": "2026-03-23T08:00", "end": "2026-03-23T12:00"},
            {"agent_id": "1002", "start": "2026-03-23T08:00", "end": "2026-03-23T12:00"},
            {"agent_id": "1001", "start": "2026-03-23T12:00", "end": "2026-03-23T14:00"},
        ]))
        .unwrap();
        assert_eq!(parsed.agents(), 2);
    }
}

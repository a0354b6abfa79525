//! Identifiers and timestamps carried by events.
//!
//! [`EventId`] is a UUID v7: time-ordered, so ids sort roughly by occurrence and land close
//! together in indexes. Imports derive it from the source record ([`EventId::derive`]) so that
//! loading the same file twice yields the same ids and the lake writer's deduplication drops
//! the second copy. [`OccurredAt`] is a UTC instant at microsecond precision, the precision of
//! the lake's timestamp columns, so an event survives a round trip through the lake unchanged.
//!
//! Identifiers that come from outside systems (a PBX's call id, a queue name, an agent's
//! login) are opaque strings; each gets its own newtype so that a queue can never be passed
//! where an agent is expected.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::{Builder, Uuid};

use crate::TenantId;

/// The identifier of one event: a UUID v7.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "Uuid", into = "Uuid")]
pub struct EventId(Uuid);

/// The error returned when an event id is not a UUID v7.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidEventId {
    /// The text is not a UUID at all.
    #[error("`{0}` is not a UUID")]
    NotAUuid(String),
    /// A UUID of another version (event ids must be time-ordered v7).
    #[error("event id must be a UUID v7, got version {0}")]
    WrongVersion(usize),
}

impl EventId {
    /// A fresh id for an event that happens now (random low bits).
    pub fn generate() -> Self {
        Self(Uuid::now_v7())
    }

    /// A deterministic id for an event derived from a source record, for idempotent imports.
    ///
    /// The timestamp bits are `occurred_at` (so derived ids keep v7's time ordering) and the
    /// remaining 74 bits come from a SHA-256 of the tenant, the event type and the parts of
    /// `source_key` (each length-prefixed, so `["ab", "c"]` and `["a", "bc"]` differ). The
    /// same tenant, type, key and instant always give the same id. `source_key` should name
    /// the source system and the record within it, e.g. `["bank-1999", "AA0101", "33116"]`.
    pub fn derive(
        tenant_id: TenantId,
        event_type: &str,
        occurred_at: OccurredAt,
        source_key: &[&str],
    ) -> Self {
        let mut hasher = Sha256::new();
        hasher.update(b"tenet.event_id.v1");
        hasher.update(tenant_id.as_uuid().as_bytes());
        for part in std::iter::once(event_type).chain(source_key.iter().copied()) {
            hasher.update((part.len() as u64).to_le_bytes());
            hasher.update(part.as_bytes());
        }
        let digest = hasher.finalize();
        let mut random = [0_u8; 10];
        random.copy_from_slice(&digest[..10]);
        Self(Builder::from_unix_timestamp_millis(occurred_at.unix_millis(), &random).into_uuid())
    }

    /// Wraps a UUID.
    ///
    /// # Errors
    ///
    /// [`InvalidEventId::WrongVersion`] unless the UUID is version 7.
    pub fn from_uuid(id: Uuid) -> Result<Self, InvalidEventId> {
        match id.get_version_num() {
            7 => Ok(Self(id)),
            other => Err(InvalidEventId::WrongVersion(other)),
        }
    }

    /// The underlying UUID.
    pub fn as_uuid(&self) -> Uuid {
        self.0
    }
}

impl TryFrom<Uuid> for EventId {
    type Error = InvalidEventId;

    fn try_from(id: Uuid) -> Result<Self, Self::Error> {
        Self::from_uuid(id)
    }
}

impl From<EventId> for Uuid {
    fn from(id: EventId) -> Self {
        id.0
    }
}

impl FromStr for EventId {
    type Err = InvalidEventId;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let id = Uuid::parse_str(s).map_err(|_| InvalidEventId::NotAUuid(s.to_owned()))?;
        Self::from_uuid(id)
    }
}

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// When an event happened: a UTC instant at microsecond precision, not before 1970.
///
/// On the wire it is an RFC 3339 timestamp with an explicit offset (`2026-04-12T23:20:50.520Z`);
/// other offsets are converted to UTC, a timestamp without an offset is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct OccurredAt(DateTime<Utc>);

/// The error returned for a timestamp that cannot be an [`OccurredAt`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidTimestamp {
    /// Not RFC 3339 with an offset.
    #[error("`{0}` is not an RFC 3339 timestamp with an offset (e.g. 2026-04-12T23:20:50.520Z)")]
    NotRfc3339(String),
    /// Earlier than the Unix epoch, which UUID v7 ids cannot encode.
    #[error("`{0}` is before 1970-01-01T00:00:00Z")]
    BeforeEpoch(String),
}

impl OccurredAt {
    /// The current instant.
    pub fn now() -> Self {
        Self::truncate(Utc::now())
    }

    /// Converts a UTC instant, dropping sub-microsecond precision.
    ///
    /// # Errors
    ///
    /// [`InvalidTimestamp::BeforeEpoch`] for instants before 1970.
    pub fn from_datetime(at: DateTime<Utc>) -> Result<Self, InvalidTimestamp> {
        if at.timestamp() < 0 {
            return Err(InvalidTimestamp::BeforeEpoch(at.to_rfc3339()));
        }
        Ok(Self::truncate(at))
    }

    /// Parses an RFC 3339 timestamp with an offset.
    ///
    /// # Errors
    ///
    /// [`InvalidTimestamp`] when the text is not RFC 3339 with an offset, or is before 1970.
    pub fn parse(text: &str) -> Result<Self, InvalidTimestamp> {
        let at = DateTime::parse_from_rfc3339(text)
            .map_err(|_| InvalidTimestamp::NotRfc3339(text.to_owned()))?;
        Self::from_datetime(at.with_timezone(&Utc))
            .map_err(|_| InvalidTimestamp::BeforeEpoch(text.to_owned()))
    }

    fn truncate(at: DateTime<Utc>) -> Self {
        let micros = at.timestamp_micros();
        Self(DateTime::from_timestamp_micros(micros).expect("a chrono instant has valid micros"))
    }

    /// The instant as a chrono value.
    pub fn as_datetime(&self) -> DateTime<Utc> {
        self.0
    }

    /// Microseconds since the Unix epoch (the lake's `occurred_at` column).
    pub fn unix_micros(&self) -> i64 {
        self.0.timestamp_micros()
    }

    /// Milliseconds since the Unix epoch (the time bits of a UUID v7).
    pub fn unix_millis(&self) -> u64 {
        u64::try_from(self.0.timestamp_millis()).expect("OccurredAt is never before the epoch")
    }

    /// Days since the Unix epoch of the UTC date (the lake's `event_date` partition column).
    pub fn unix_days(&self) -> i32 {
        let days = self.0.timestamp().div_euclid(86_400);
        i32::try_from(days).expect("chrono's year range fits in i32 days")
    }
}

impl TryFrom<String> for OccurredAt {
    type Error = InvalidTimestamp;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        Self::parse(&text)
    }
}

impl From<OccurredAt> for String {
    fn from(at: OccurredAt) -> Self {
        at.to_string()
    }
}

impl fmt::Display for OccurredAt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.to_rfc3339_opts(SecondsFormat::AutoSi, true))
    }
}

/// The longest identifier from an outside system that events accept, in bytes.
pub const MAX_ID_LEN: usize = 128;

/// The error returned for an outside identifier that is empty, too long, padded with spaces
/// or contains control characters.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {kind} `{value}`: {reason}")]
pub struct InvalidId {
    kind: &'static str,
    value: String,
    reason: &'static str,
}

fn check_id(kind: &'static str, value: &str) -> Result<(), InvalidId> {
    let reason = if value.is_empty() {
        "must not be empty"
    } else if value.len() > MAX_ID_LEN {
        "is longer than 128 bytes"
    } else if value.trim() != value {
        "has leading or trailing whitespace"
    } else if value.chars().any(char::is_control) {
        "contains control characters"
    } else {
        return Ok(());
    };
    Err(InvalidId {
        kind,
        value: value.chars().take(MAX_ID_LEN).collect(),
        reason,
    })
}

macro_rules! external_id {
    ($(#[$meta:meta])* $name:ident, $kind:literal) => {
        $(#[$meta])*
        ///
        /// Non-empty, at most [`MAX_ID_LEN`] bytes, no surrounding whitespace or control
        /// characters.
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// Parses an identifier.
            ///
            /// # Errors
            ///
            /// [`InvalidId`] when the text breaks the rules above.
            pub fn parse(value: impl Into<String>) -> Result<Self, InvalidId> {
                let value = value.into();
                check_id($kind, &value)?;
                Ok(Self(value))
            }

            /// The identifier's text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = InvalidId;

            fn try_from(value: String) -> Result<Self, Self::Error> {
                Self::parse(value)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> Self {
                id.0
            }
        }

        impl FromStr for $name {
            type Err = InvalidId;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

external_id!(
    /// A call as the telephony system names it (Asterisk's `uniqueid`, a PBX call id).
    CallId,
    "call id"
);
external_id!(
    /// A queue (skill group, hunt group) calls and tickets wait in.
    QueueId,
    "queue id"
);
external_id!(
    /// A person who handles contacts: an operator, an executor, an evaluator.
    AgentId,
    "agent id"
);
external_id!(
    /// A ticket (a contact in a non-voice channel, or the case behind a call).
    TicketId,
    "ticket id"
);
external_id!(
    /// A customer of the tenant (the caller, the ticket's requester).
    CustomerId,
    "customer id"
);
external_id!(
    /// A project of the tenant (a client engagement the contact belongs to).
    ProjectId,
    "project id"
);
external_id!(
    /// A node of an IVR menu tree.
    IvrNode,
    "IVR node"
);
external_id!(
    /// A short code naming a reason: not-ready reasons, ticket resolutions, reopen reasons.
    ReasonCode,
    "reason code"
);
external_id!(
    /// An access-control badge.
    BadgeId,
    "badge id"
);
external_id!(
    /// An access-control device (a door reader, a turnstile).
    DeviceId,
    "device id"
);
external_id!(
    /// An employee as HR knows them.
    EmployeeId,
    "employee id"
);
external_id!(
    /// A comment on a ticket.
    CommentId,
    "comment id"
);
external_id!(
    /// A file attached to a ticket (a document, a recording).
    AttachmentId,
    "attachment id"
);
external_id!(
    /// A flag on a customer (a conflict, a broken commitment).
    FlagId,
    "flag id"
);
external_id!(
    /// An absence of an employee (vacation, sick leave...).
    AbsenceId,
    "absence id"
);
external_id!(
    /// A department of the tenant's HR records.
    DepartmentId,
    "department id"
);
external_id!(
    /// A position of the tenant's HR records.
    PositionId,
    "position id"
);
external_id!(
    /// A user of the tenant (an operator, a manager, an administrator…): the ops API's user id.
    UserId,
    "user id"
);
external_id!(
    /// A published version of a weekly schedule.
    ScheduleId,
    "schedule id"
);
external_id!(
    /// A survey definition.
    SurveyId,
    "survey id"
);
external_id!(
    /// One respondent's answers to one survey.
    ResponseId,
    "response id"
);
external_id!(
    /// A question within a survey.
    QuestionId,
    "question id"
);
external_id!(
    /// A QA scorecard (an evaluation form).
    ScorecardId,
    "scorecard id"
);
external_id!(
    /// One QA evaluation.
    EvaluationId,
    "evaluation id"
);

external_id!(
    /// Where a call was transferred outside the queues and agents (a number, an extension).
    DialTarget,
    "dial target"
);

/// The contact a survey answer or an evaluation is about.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(
    tag = "kind",
    content = "id",
    rename_all = "snake_case",
    deny_unknown_fields
)]
pub enum Subject {
    /// A call.
    Call(CallId),
    /// A ticket.
    Ticket(TicketId),
}

impl Subject {
    /// The subject's kind as stored in the lake: `call` or `ticket`.
    pub fn kind(&self) -> &'static str {
        match self {
            Subject::Call(_) => "call",
            Subject::Ticket(_) => "ticket",
        }
    }

    /// The subject's identifier text.
    pub fn id(&self) -> &str {
        match self {
            Subject::Call(id) => id.as_str(),
            Subject::Ticket(id) => id.as_str(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> OccurredAt {
        OccurredAt::parse(text).unwrap()
    }

    #[test]
    fn derived_event_id_is_stable_for_the_same_source_record() {
        let tenant = TenantId::generate();
        let when = at("1999-02-01T07:00:05Z");
        let first = EventId::derive(tenant, "call.offered", when, &["bank", "AA0101", "33116"]);
        let again = EventId::derive(tenant, "call.offered", when, &["bank", "AA0101", "33116"]);
        assert_eq!(first, again);
        assert_eq!(first.as_uuid().get_version_num(), 7);
    }

    #[test]
    fn derived_event_id_differs_by_tenant_type_and_key_boundaries() {
        let tenant = TenantId::generate();
        let when = at("1999-02-01T07:00:05Z");
        let base = EventId::derive(tenant, "call.offered", when, &["ab", "c"]);
        assert_ne!(
            base,
            EventId::derive(tenant, "call.offered", when, &["a", "bc"])
        );
        assert_ne!(
            base,
            EventId::derive(tenant, "call.ended", when, &["ab", "c"])
        );
        assert_ne!(
            base,
            EventId::derive(TenantId::generate(), "call.offered", when, &["ab", "c"])
        );
    }

    #[test]
    fn derived_event_ids_sort_by_occurrence() {
        let tenant = TenantId::generate();
        let earlier = EventId::derive(tenant, "t", at("2026-01-01T00:00:00Z"), &["z"]);
        let later = EventId::derive(tenant, "t", at("2026-01-01T00:00:01Z"), &["a"]);
        assert!(earlier < later);
    }

    #[test]
    fn event_id_must_be_version_7() {
        let v4 = "2f1a5b0c-3d4e-4f60-8a7b-9c0d1e2f3a4b";
        assert_eq!(
            v4.parse::<EventId>().unwrap_err(),
            InvalidEventId::WrongVersion(4)
        );
        let id = EventId::generate();
        assert_eq!(id.to_string().parse::<EventId>().unwrap(), id);
    }

    #[test]
    fn occurred_at_is_normalised_to_utc_microseconds() {
        let parsed = at("2026-04-13T01:20:50.520123456+02:00");
        assert_eq!(parsed.to_string(), "2026-04-12T23:20:50.520123Z");
        assert_eq!(parsed.unix_days(), 20_555);
    }

    #[test]
    fn occurred_at_refuses_local_times_and_pre_epoch_instants() {
        assert!(matches!(
            OccurredAt::parse("2026-04-12T23:20:50"),
            Err(InvalidTimestamp::NotRfc3339(_))
        ));
        assert!(matches!(
            OccurredAt::parse("1969-12-31T23:59:59Z"),
            Err(InvalidTimestamp::BeforeEpoch(_))
        ));
    }

    #[test]
    fn outside_ids_refuse_empty_padded_and_oversized_text() {
        assert!(QueueId::parse("support-en").is_ok());
        assert!(QueueId::parse("").is_err());
        assert!(QueueId::parse(" support").is_err());
        assert!(QueueId::parse("a\nb").is_err());
        assert!(QueueId::parse("x".repeat(MAX_ID_LEN + 1)).is_err());
        let err = AgentId::parse("").unwrap_err().to_string();
        assert!(err.contains("agent id"), "{err}");
    }
}

//! Attendance events: badge swipes from access control.
//!
//! Worked time for HR and conformance (ARCHITECTURE §7) is derived from pairs of swipes in and
//! out. The badge is what the reader saw; `employee_id` is filled when the adapter can map the
//! badge to a person, otherwise the lake joins it later.

use serde::{Deserialize, Serialize};

use crate::ids::{BadgeId, DeviceId, EmployeeId};
use crate::row::columns;

/// Whether a swipe entered or left the premises.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Entering.
    In,
    /// Leaving.
    Out,
}

impl Direction {
    /// The wire and lake name.
    pub fn as_str(&self) -> &'static str {
        match self {
            Direction::In => "in",
            Direction::Out => "out",
        }
    }
}

/// A badge was swiped at an access-control device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BadgeSwiped {
    /// The badge.
    pub badge_id: BadgeId,
    /// The device (door reader, turnstile).
    pub device_id: DeviceId,
    /// In or out.
    pub direction: Direction,
    /// The employee holding the badge, when the adapter knows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub employee_id: Option<EmployeeId>,
}

/// Every attendance event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum AttendanceEvent {
    /// `attendance.badge_swiped`.
    BadgeSwiped(BadgeSwiped),
}

columns! {
    /// The `attendance` table's own columns (after the header).
    pub struct AttendanceColumns {
        /// The badge.
        pub badge_id: String,
        /// The device.
        pub device_id: String,
        /// `in` or `out`.
        pub direction: String,
        /// The employee, when known.
        pub employee_id: Option<String>,
    }
}

impl AttendanceEvent {
    /// The event's values for the `attendance` table, its text moved
    /// into them rather than copied.
    pub fn into_columns(self) -> AttendanceColumns {
        match self {
            AttendanceEvent::BadgeSwiped(e) => AttendanceColumns {
                badge_id: String::from(e.badge_id),
                device_id: String::from(e.device_id),
                direction: e.direction.as_str().to_owned(),
                employee_id: e.employee_id.map(String::from),
            },
        }
    }
}

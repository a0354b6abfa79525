//! The catalog of event types: every type's wire name, family and current schema version.
//!
//! The catalog is declared once (the `catalog!` invocation below) and generates [`Event`],
//! [`EventType`] and the per-type payload decoder, so adding an event type is one line here
//! plus its payload struct in its family's module.

use std::fmt;

use serde::Serialize;

use crate::EventFamily;
use crate::admin::{
    AdminEvent, MemberAdded, ProjectConfigured, ProjectCreated, SecurityPolicyChanged, TokenIssued,
    TokenRevoked, UserCreated,
};
use crate::agent_state::{
    AgentLoggedIn, AgentLoggedOut, AgentNotReady, AgentReady, AgentStateEvent,
};
use crate::attendance::{AttendanceEvent, BadgeSwiped};
use crate::calls::{
    CallAnswered, CallEnded, CallEvent, CallHeld, CallOffered, CallRingNoAnswer, CallTransferred,
    CallUnheld,
};
use crate::customers::{
    CustomerCreated, CustomerEvent, CustomerFlagResolved, CustomerFlagged, CustomerIdentityAdded,
    CustomerIdentityRemoved, CustomerMerged, CustomerUpdated,
};
use crate::hr::{
    AbsenceDecided, AbsenceRequested, ContractAdded, EmployeeAdded, EmployeeChanged, HrEvent,
};
use crate::qa::{QaEvaluated, QaEvent};
use crate::row::CellSink;
use crate::schedules::{ActivityScheduled, ScheduleEvent, SchedulePublished};
use crate::surveys::{SurveyAnswered, SurveyEvent};
use crate::tickets::{
    TicketAssigned, TicketAttachmentAdded, TicketClosed, TicketCommented, TicketCreated,
    TicketEvent, TicketReopened, TicketStatusChanged,
};

macro_rules! catalog {
    ($(
        $family:ident($family_enum:ident) {
            $( $variant:ident($payload:ident) = $name:literal @ $version:literal, )*
        }
    )*) => {
        /// What happened: one payload of one event type. On the wire this is the envelope's
        /// `data` object; the type travels beside it in the envelope's `type`.
        #[derive(Debug, Clone, PartialEq, Eq, Serialize)]
        #[serde(untagged)]
        pub enum Event {
            $(
                #[doc = concat!("An event of the `", stringify!($family), "` family.")]
                $family($family_enum),
            )*
        }

        /// Every event type, named as on the wire (`call.offered`, `ticket.closed`, ...).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum EventType {
            $( $(
                #[doc = concat!("`", $name, "`.")]
                $payload,
            )* )*
        }

        impl EventType {
            /// Every event type, grouped by family.
            pub const ALL: &'static [EventType] = &[$( $( EventType::$payload, )* )*];

            /// The wire name, e.g. `call.ended`.
            pub fn as_str(&self) -> &'static str {
                match self {
                    $( $( EventType::$payload => $name, )* )*
                }
            }

            /// The family (topic and lake table) the type belongs to.
            pub fn family(&self) -> EventFamily {
                match self {
                    $( $( EventType::$payload => EventFamily::$family, )* )*
                }
            }

            /// The schema version producers write today.
            pub fn schema_version(&self) -> u16 {
                match self {
                    $( $( EventType::$payload => $version, )* )*
                }
            }

            /// The type named `name` on the wire, if there is one.
            pub fn from_wire_name(name: &str) -> Option<Self> {
                match name {
                    $( $( $name => Some(EventType::$payload), )* )*
                    _ => None,
                }
            }
        }

        impl Event {
            /// The event's type.
            pub fn event_type(&self) -> EventType {
                match self {
                    $( $( Event::$family($family_enum::$variant(_)) => EventType::$payload, )* )*
                }
            }
        }

        $( $(
            impl From<$payload> for Event {
                fn from(payload: $payload) -> Self {
                    Event::$family($family_enum::$variant(payload))
                }
            }
        )* )*

        /// Decodes the `data` object of an event of `event_type` straight from its JSON text,
        /// without the path of a failing field (see [`decode_payload`] for that).
        pub(crate) fn decode_payload_text(
            event_type: EventType,
            data: &str,
        ) -> Result<Event, serde_json::Error> {
            match event_type {
                $( $(
                    EventType::$payload => serde_json::from_str::<$payload>(data).map(Event::from),
                )* )*
            }
        }

        /// Decodes the `data` object of an event of `event_type` at its current version.
        pub(crate) fn decode_payload(
            event_type: EventType,
            data: serde_json::Value,
        ) -> Result<Event, serde_path_to_error::Error<serde_json::Error>> {
            match event_type {
                $( $(
                    EventType::$payload => {
                        serde_path_to_error::deserialize::<_, $payload>(data).map(Event::from)
                    }
                )* )*
            }
        }
    };
}

catalog! {
    Calls(CallEvent) {
        Offered(CallOffered) = "call.offered" @ 1,
        Answered(CallAnswered) = "call.answered" @ 1,
        Held(CallHeld) = "call.held" @ 1,
        Unheld(CallUnheld) = "call.unheld" @ 1,
        Transferred(CallTransferred) = "call.transferred" @ 1,
        RingNoAnswer(CallRingNoAnswer) = "call.ring_no_answer" @ 1,
        Ended(CallEnded) = "call.ended" @ 1,
    }
    Tickets(TicketEvent) {
        Created(TicketCreated) = "ticket.created" @ 1,
        StatusChanged(TicketStatusChanged) = "ticket.status_changed" @ 3,
        Assigned(TicketAssigned) = "ticket.assigned" @ 2,
        Commented(TicketCommented) = "ticket.commented" @ 2,
        AttachmentAdded(TicketAttachmentAdded) = "ticket.attachment_added" @ 1,
        Closed(TicketClosed) = "ticket.closed" @ 2,
        Reopened(TicketReopened) = "ticket.reopened" @ 2,
    }
    AgentState(AgentStateEvent) {
        LoggedIn(AgentLoggedIn) = "agent.logged_in" @ 1,
        Ready(AgentReady) = "agent.ready" @ 1,
        NotReady(AgentNotReady) = "agent.not_ready" @ 1,
        LoggedOut(AgentLoggedOut) = "agent.logged_out" @ 1,
    }
    Attendance(AttendanceEvent) {
        BadgeSwiped(BadgeSwiped) = "attendance.badge_swiped" @ 1,
    }
    Surveys(SurveyEvent) {
        Answered(SurveyAnswered) = "survey.answered" @ 1,
    }
    Qa(QaEvent) {
        Evaluated(QaEvaluated) = "qa.evaluated" @ 1,
    }
    Customers(CustomerEvent) {
        Created(CustomerCreated) = "customer.created" @ 1,
        Updated(CustomerUpdated) = "customer.updated" @ 1,
        Merged(CustomerMerged) = "customer.merged" @ 1,
        IdentityAdded(CustomerIdentityAdded) = "customer.identity_added" @ 1,
        IdentityRemoved(CustomerIdentityRemoved) = "customer.identity_removed" @ 1,
        Flagged(CustomerFlagged) = "customer.flagged" @ 1,
        FlagResolved(CustomerFlagResolved) = "customer.flag_resolved" @ 1,
    }
    Hr(HrEvent) {
        EmployeeAdded(EmployeeAdded) = "hr.employee_added" @ 1,
        EmployeeChanged(EmployeeChanged) = "hr.employee_changed" @ 1,
        ContractAdded(ContractAdded) = "hr.contract_added" @ 1,
        AbsenceRequested(AbsenceRequested) = "hr.absence_requested" @ 1,
        AbsenceDecided(AbsenceDecided) = "hr.absence_decided" @ 1,
    }
    Schedules(ScheduleEvent) {
        ActivityScheduled(ActivityScheduled) = "schedule.activity_scheduled" @ 1,
        Published(SchedulePublished) = "schedule.published" @ 1,
    }
    Admin(AdminEvent) {
        UserCreated(UserCreated) = "admin.user_created" @ 1,
        ProjectCreated(ProjectCreated) = "admin.project_created" @ 1,
        MemberAdded(MemberAdded) = "admin.member_added" @ 1,
        ProjectConfigured(ProjectConfigured) = "admin.project_configured" @ 1,
        SecurityPolicyChanged(SecurityPolicyChanged) = "admin.security_policy_changed" @ 1,
        TokenIssued(TokenIssued) = "admin.token_issued" @ 1,
        TokenRevoked(TokenRevoked) = "admin.token_revoked" @ 1,
    }
}

impl Event {
    /// The family (topic and lake table) the event belongs to.
    pub fn family(&self) -> EventFamily {
        self.event_type().family()
    }

    /// Hands the values of the family's payload columns (those after the header every event
    /// table starts with) to `cells`, in schema order, moving the event's text into them.
    pub fn push_cells(self, cells: &mut impl CellSink) {
        match self {
            Event::Calls(event) => event.into_columns().push_cells(cells),
            Event::Tickets(event) => event.into_columns().push_cells(cells),
            Event::AgentState(event) => event.into_columns().push_cells(cells),
            Event::Attendance(event) => event.into_columns().push_cells(cells),
            Event::Surveys(event) => event.into_columns().push_cells(cells),
            Event::Qa(event) => event.into_columns().push_cells(cells),
            Event::Customers(event) => event.into_columns().push_cells(cells),
            Event::Hr(event) => event.into_columns().push_cells(cells),
            Event::Schedules(event) => event.into_columns().push_cells(cells),
            Event::Admin(event) => event.into_columns().push_cells(cells),
        }
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_is_named_after_its_family_prefix_and_round_trips() {
        let prefixes = [
            (EventFamily::Calls, "call."),
            (EventFamily::Tickets, "ticket."),
            (EventFamily::AgentState, "agent."),
            (EventFamily::Attendance, "attendance."),
            (EventFamily::Surveys, "survey."),
            (EventFamily::Qa, "qa."),
            (EventFamily::Customers, "customer."),
            (EventFamily::Hr, "hr."),
            (EventFamily::Schedules, "schedule."),
            (EventFamily::Admin, "admin."),
        ];
        for event_type in EventType::ALL {
            let (_, prefix) = prefixes
                .iter()
                .find(|(family, _)| *family == event_type.family())
                .unwrap();
            assert!(event_type.as_str().starts_with(prefix), "{event_type}");
            assert_eq!(
                EventType::from_wire_name(event_type.as_str()),
                Some(*event_type)
            );
        }
        assert_eq!(EventType::ALL.len(), 42);
        assert_eq!(EventType::from_wire_name("call.teleported"), None);
    }
}

//! Trace context: the ids that follow one operation across components.
//!
//! A client's request gets a `request_id` (kept from its `x-request-id` header or generated).
//! An operation (everything caused by one user action, across HTTP calls and the log) carries
//! one `operation_id`; each component's part of it gets its own `operation_phase_id`, with the
//! caller's phase as its parent. The same names travel as HTTP headers and as Kafka headers.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Header carrying the request id, in HTTP and on log records.
pub const REQUEST_ID_HEADER: &str = "x-request-id";
/// Header carrying the operation id.
pub const OPERATION_ID_HEADER: &str = "x-operation-id";
/// Header carrying the sender's phase id; the receiver records it as its parent phase.
pub const OPERATION_PHASE_ID_HEADER: &str = "x-operation-phase-id";

/// The longest id accepted from outside; longer ones are replaced.
pub const MAX_ID_LENGTH: usize = 128;

/// The ids of one phase of an operation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TraceContext {
    /// The request this phase serves.
    pub request_id: String,
    /// The operation this phase belongs to.
    pub operation_id: String,
    /// This phase.
    pub operation_phase_id: String,
    /// The phase that caused this one, if it came from another component.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_phase_id: Option<String>,
}

impl TraceContext {
    /// Continues the ids received from a caller, generating whatever is missing or invalid,
    /// and opens a new phase.
    pub fn continue_from(
        request_id: Option<&str>,
        operation_id: Option<&str>,
        parent_phase_id: Option<&str>,
    ) -> Self {
        let request_id = request_id
            .and_then(accept)
            .unwrap_or_else(|| Uuid::now_v7().to_string());
        let operation_id = operation_id
            .and_then(accept)
            .unwrap_or_else(|| Uuid::now_v7().to_string());
        Self {
            request_id,
            operation_id,
            operation_phase_id: new_phase_id(),
            parent_phase_id: parent_phase_id.and_then(accept),
        }
    }

    /// The context for the next component: same request and operation, this phase as parent.
    pub fn child(&self) -> Self {
        Self {
            request_id: self.request_id.clone(),
            operation_id: self.operation_id.clone(),
            operation_phase_id: new_phase_id(),
            parent_phase_id: Some(self.operation_phase_id.clone()),
        }
    }

    /// The headers to send to the next component, as `(name, value)` pairs.
    pub fn headers(&self) -> [(&'static str, &str); 3] {
        [
            (REQUEST_ID_HEADER, &self.request_id),
            (OPERATION_ID_HEADER, &self.operation_id),
            (OPERATION_PHASE_ID_HEADER, &self.operation_phase_id),
        ]
    }
}

/// Accepts an id from outside if it is 1 to [`MAX_ID_LENGTH`] visible ASCII characters, so
/// it can be echoed in a header and a log line unchanged.
fn accept(id: &str) -> Option<String> {
    let valid = !id.is_empty()
        && id.len() <= MAX_ID_LENGTH
        && id.bytes().all(|byte| byte.is_ascii_graphic());
    valid.then(|| id.to_owned())
}

fn new_phase_id() -> String {
    let id = Uuid::new_v4().simple().to_string();
    id[..16].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_callers_ids_are_kept_and_a_new_phase_opens() {
        let context = TraceContext::continue_from(Some("req-1"), Some("op-1"), Some("phase-0"));
        assert_eq!(context.request_id, "req-1");
        assert_eq!(context.operation_id, "op-1");
        assert_eq!(context.parent_phase_id.as_deref(), Some("phase-0"));
        assert_eq!(context.operation_phase_id.len(), 16);
        assert_ne!(context.operation_phase_id, "phase-0");
    }

    #[test]
    fn missing_or_unsafe_ids_are_replaced() {
        let long = "x".repeat(MAX_ID_LENGTH + 1);
        for bad in [
            None,
            Some(""),
            Some("two words"),
            Some("line\nbreak"),
            Some(long.as_str()),
        ] {
            let context = TraceContext::continue_from(bad, bad, bad);
            assert!(Uuid::parse_str(&context.request_id).is_ok(), "{bad:?}");
            assert!(Uuid::parse_str(&context.operation_id).is_ok(), "{bad:?}");
            assert_eq!(context.parent_phase_id, None);
        }
    }

    #[test]
    fn a_child_phase_keeps_the_operation_and_points_at_its_parent() {
        let parent = TraceContext::continue_from(None, None, None);
        let child = parent.child();
        assert_eq!(child.request_id, parent.request_id);
        assert_eq!(child.operation_id, parent.operation_id);
        assert_eq!(
            child.parent_phase_id.as_ref(),
            Some(&parent.operation_phase_id)
        );
    }
}

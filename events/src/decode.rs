//! Strict decoding of events from JSON, with errors that name the offending field.
//!
//! Whatever arrives from outside (gateway requests, log records) is decoded here. A payload
//! that is not exactly one known event is refused with a [`DecodeError`] that says which field
//! is wrong and how; the gateway answers it as a 4xx and the lake writer records it in the
//! dead-letter table beside the raw bytes. Unknown fields are refused rather than ignored: a
//! misspelt optional field would otherwise vanish silently.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::event::{EventType, decode_payload, decode_payload_text};
use crate::ids::{EventId, OccurredAt};
use crate::{Envelope, TenantId};

/// The largest encoded event accepted, in bytes. Events carry identifiers and numbers, never
/// free text, so anything near this size is not an event.
pub const MAX_EVENT_BYTES: usize = 64 * 1024;

/// The envelope's field names, in wire order.
pub const ENVELOPE_FIELDS: [&str; 6] = [
    "event_id",
    "tenant_id",
    "occurred_at",
    "type",
    "schema_version",
    "data",
];

/// Why a payload is not a valid event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The payload is larger than [`MAX_EVENT_BYTES`].
    #[error("event of {size} bytes exceeds the limit of {limit} bytes")]
    TooLarge {
        /// The payload's size.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// The payload is not JSON.
    #[error("malformed JSON at line {line} column {column}: {reason}")]
    Malformed {
        /// 1-based line of the error.
        line: usize,
        /// 1-based column of the error.
        column: usize,
        /// The parser's message.
        reason: String,
    },
    /// The payload is JSON but not an object.
    #[error("an event must be a JSON object, got {found}")]
    NotAnObject {
        /// What it is instead (`array`, `string`, ...).
        found: &'static str,
    },
    /// A required field is absent or null.
    #[error("missing field `{field}`")]
    MissingField {
        /// The field's path, e.g. `tenant_id` or `data.agent_id`.
        field: String,
    },
    /// A field the event type does not have.
    #[error("unknown field `{field}`")]
    UnknownField {
        /// The field's path.
        field: String,
    },
    /// A field of the wrong type or with an invalid value.
    #[error("invalid field `{field}`: {reason}")]
    InvalidField {
        /// The field's path.
        field: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The `type` names no known event type.
    #[error("unknown event type `{event_type}`")]
    UnknownType {
        /// The type as received.
        event_type: String,
    },
    /// The event type is known but not at this schema version.
    #[error("event type `{event_type}` has no schema version {version} (current: {current})")]
    UnsupportedVersion {
        /// The event type.
        event_type: EventType,
        /// The version received.
        version: u64,
        /// The newest version this build understands.
        current: u16,
    },
}

impl DecodeError {
    /// A stable, machine-readable code for the dead-letter table and API error bodies.
    pub fn code(&self) -> &'static str {
        match self {
            DecodeError::TooLarge { .. } => "too_large",
            DecodeError::Malformed { .. } => "malformed_json",
            DecodeError::NotAnObject { .. } => "not_an_object",
            DecodeError::MissingField { .. } => "missing_field",
            DecodeError::UnknownField { .. } => "unknown_field",
            DecodeError::InvalidField { .. } => "invalid_field",
            DecodeError::UnknownType { .. } => "unknown_type",
            DecodeError::UnsupportedVersion { .. } => "unsupported_version",
        }
    }

    /// The path of the offending field, when the error is about one field.
    pub fn field(&self) -> Option<&str> {
        match self {
            DecodeError::MissingField { field }
            | DecodeError::UnknownField { field }
            | DecodeError::InvalidField { field, .. } => Some(field),
            DecodeError::UnknownType { .. } => Some("type"),
            DecodeError::UnsupportedVersion { .. } => Some("schema_version"),
            DecodeError::TooLarge { .. }
            | DecodeError::Malformed { .. }
            | DecodeError::NotAnObject { .. } => None,
        }
    }
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn missing(field: &str) -> DecodeError {
    DecodeError::MissingField {
        field: field.to_owned(),
    }
}

fn invalid(field: &str, reason: impl ToString) -> DecodeError {
    DecodeError::InvalidField {
        field: field.to_owned(),
        reason: reason.to_string(),
    }
}

/// Takes a required field out of the envelope object; JSON `null` counts as missing.
fn take(object: &mut Map<String, Value>, field: &str) -> Result<Value, DecodeError> {
    match object.remove(field) {
        None | Some(Value::Null) => Err(missing(field)),
        Some(value) => Ok(value),
    }
}

fn take_str(object: &mut Map<String, Value>, field: &str) -> Result<String, DecodeError> {
    match take(object, field)? {
        Value::String(text) => Ok(text),
        other => Err(invalid(
            field,
            format!("expected a string, got {}", kind_of(&other)),
        )),
    }
}

/// Decodes one event from its JSON encoding.
///
/// A valid event is decoded in one pass into its typed payload. Anything else is parsed
/// again as a JSON tree and checked field by field, so that the error names what is wrong.
///
/// # Errors
///
/// A [`DecodeError`] naming the first problem found: size, syntax, the envelope's fields in
/// wire order, then the payload's fields.
pub fn decode(bytes: &[u8]) -> Result<Envelope, DecodeError> {
    if bytes.len() > MAX_EVENT_BYTES {
        return Err(DecodeError::TooLarge {
            size: bytes.len(),
            limit: MAX_EVENT_BYTES,
        });
    }
    match decode_valid(bytes) {
        Some(envelope) => Ok(envelope),
        None => decode_tree(bytes),
    }
}

/// The envelope of [`ENVELOPE_FIELDS`], borrowed from the encoded event where no escape
/// forces a copy, with its payload left as text until its type is known.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WireFields<'a> {
    #[serde(borrow)]
    event_id: Cow<'a, str>,
    #[serde(borrow)]
    tenant_id: Cow<'a, str>,
    #[serde(borrow)]
    occurred_at: Cow<'a, str>,
    #[serde(rename = "type", borrow)]
    event_type: Cow<'a, str>,
    schema_version: u64,
    #[serde(borrow)]
    data: &'a RawValue,
}

/// The event `bytes` encode, when they are a valid one; `None` for anything [`decode_tree`]
/// would refuse (and for some events it accepts, such as one with a field given twice).
fn decode_valid(bytes: &[u8]) -> Option<Envelope> {
    let wire: WireFields<'_> = serde_json::from_slice(bytes).ok()?;
    let event_id = wire.event_id.parse::<EventId>().ok()?;
    let tenant_id = wire.tenant_id.parse::<TenantId>().ok()?;
    let occurred_at = OccurredAt::parse(&wire.occurred_at).ok()?;
    let event_type = EventType::from_wire_name(&wire.event_type)?;
    let version = wire.schema_version;
    if version == 0 || version > u64::from(event_type.schema_version()) {
        return None;
    }
    // Serde takes a struct from an array too; the payload must be an object.
    if !wire.data.get().starts_with('{') {
        return None;
    }
    let event = decode_payload_text(event_type, wire.data.get()).ok()?;
    Some(Envelope {
        event_id,
        tenant_id,
        occurred_at,
        event,
    })
}

/// [`decode`] through a JSON tree, field by field.
fn decode_tree(bytes: &[u8]) -> Result<Envelope, DecodeError> {
    let value: Value = serde_json::from_slice(bytes).map_err(|err| DecodeError::Malformed {
        line: err.line(),
        column: err.column(),
        reason: err.to_string(),
    })?;
    decode_value(value)
}

/// Decodes one event from an already parsed JSON value (an element of a batch).
///
/// # Errors
///
/// As [`decode`], except for size and syntax, which the caller has checked.
pub fn decode_value(value: Value) -> Result<Envelope, DecodeError> {
    let Value::Object(mut object) = value else {
        return Err(DecodeError::NotAnObject {
            found: kind_of(&value),
        });
    };
    if let Some(unknown) = object
        .keys()
        .find(|key| !ENVELOPE_FIELDS.contains(&key.as_str()))
    {
        return Err(DecodeError::UnknownField {
            field: unknown.clone(),
        });
    }

    let event_id = take_str(&mut object, "event_id")?
        .parse::<EventId>()
        .map_err(|err| invalid("event_id", err))?;
    let tenant_id = take_str(&mut object, "tenant_id")?
        .parse::<TenantId>()
        .map_err(|err| invalid("tenant_id", err))?;
    let occurred_at = OccurredAt::parse(&take_str(&mut object, "occurred_at")?)
        .map_err(|err| invalid("occurred_at", err))?;
    let type_name = take_str(&mut object, "type")?;
    let event_type = EventType::from_wire_name(&type_name).ok_or(DecodeError::UnknownType {
        event_type: type_name,
    })?;
    let version = match take(&mut object, "schema_version")? {
        Value::Number(number) => number.as_u64().ok_or_else(|| {
            invalid(
                "schema_version",
                format!("expected a positive integer, got {number}"),
            )
        })?,
        other => {
            return Err(invalid(
                "schema_version",
                format!("expected a positive integer, got {}", kind_of(&other)),
            ));
        }
    };
    // Every version bump so far only added optional fields (version 2 of the ticket events
    // after creation added `project_id`), so an older payload is a valid current one. A bump
    // that changes a field's meaning must add its upgrade arm here.
    if version == 0 || version > u64::from(event_type.schema_version()) {
        return Err(DecodeError::UnsupportedVersion {
            event_type,
            version,
            current: event_type.schema_version(),
        });
    }
    let data = take(&mut object, "data")?;
    if !data.is_object() {
        return Err(invalid(
            "data",
            format!("expected an object, got {}", kind_of(&data)),
        ));
    }
    let event = decode_payload(event_type, data).map_err(payload_error)?;
    Ok(Envelope {
        event_id,
        tenant_id,
        occurred_at,
        event,
    })
}

/// Turns serde's error for the `data` object into a [`DecodeError`] naming the field.
///
/// serde reports missing and unknown fields only as messages (``missing field `x` ``), so the
/// field name is taken from the message.
fn payload_error(err: serde_path_to_error::Error<serde_json::Error>) -> DecodeError {
    let path = err.path().to_string();
    let at = if path == "." {
        "data".to_owned()
    } else {
        format!("data.{path}")
    };
    let message = err.into_inner().to_string();
    let quoted = |prefix: &str| {
        message
            .strip_prefix(prefix)
            .and_then(|rest| rest.split('`').next())
            .map(|name| {
                // An unknown key is already the last segment of the path; a missing one is not.
                if at.ends_with(&format!(".{name}")) {
                    at.clone()
                } else {
                    format!("{at}.{name}")
                }
            })
    };
    if let Some(field) = quoted("missing field `") {
        DecodeError::MissingField { field }
    } else if let Some(field) = quoted("unknown field `") {
        DecodeError::UnknownField { field }
    } else {
        DecodeError::InvalidField {
            field: at,
            reason: message,
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::{decode, decode_tree, decode_valid};

    /// The ```json blocks of `docs/events.md`: one example of every event type.
    fn examples() -> Vec<Value> {
        include_str!("../../docs/events.md")
            .split("```json\n")
            .skip(1)
            .map(|rest| rest.split("\n```").next().expect("a closed code block"))
            .map(|text| serde_json::from_str(text).expect("an example is JSON"))
            .collect()
    }

    /// Each example as sent, and changed in the ways producers get events wrong (or
    /// unusually right).
    fn variants(example: &Value) -> Vec<String> {
        let text = example.to_string();
        let mut variants = vec![text.clone(), serde_json::to_string_pretty(example).unwrap()];
        // Escapes in the envelope's strings: the borrowed fields must copy.
        let event_type = example["type"].as_str().unwrap();
        let event_id = example["event_id"].as_str().unwrap();
        variants.push(text.replace(
            &format!("\"{event_type}\""),
            &format!("\"{}\"", event_type.replace('.', "\\u002e")),
        ));
        variants.push(text.replace(event_id, &event_id.replacen('-', "\\u002d", 1)));
        let mut changed = |change: &dyn Fn(&mut Value)| {
            let mut value = example.clone();
            change(&mut value);
            variants.push(value.to_string());
        };
        changed(&|v| v["schema_version"] = json!(0));
        changed(&|v| v["schema_version"] = json!(99));
        changed(&|v| v["schema_version"] = json!(1.0));
        changed(&|v| v["schema_version"] = json!("1"));
        changed(&|v| v["event_id"] = Value::Null);
        changed(&|v| v["tenant_id"] = json!("acme"));
        changed(&|v| v["occurred_at"] = json!("2026-04-12T09:03:57"));
        changed(&|v| v["type"] = json!("call.teleported"));
        changed(&|v| v["colour"] = json!("red"));
        changed(&|v| v["data"]["colour"] = json!("red"));
        changed(&|v| v["data"] = json!([]));
        changed(&|v| v["data"] = Value::Null);
        changed(&|v| {
            let fields: Vec<Value> = v["data"].as_object().unwrap().values().cloned().collect();
            v["data"] = Value::Array(fields);
        });
        changed(&|v| {
            v.as_object_mut().unwrap().remove("data");
        });
        // A field given twice: the tree keeps the last.
        variants.push(text.replacen('{', "{\"type\":\"call.teleported\",", 1));
        variants
    }

    #[test]
    fn the_one_pass_decoding_agrees_with_the_tree_on_every_example_and_variant() {
        let mut one_pass = 0;
        for example in examples() {
            for variant in variants(&example) {
                let bytes = variant.as_bytes();
                if let Some(envelope) = decode_valid(bytes) {
                    one_pass += 1;
                    assert_eq!(Ok(envelope), decode_tree(bytes), "{variant}");
                }
                assert_eq!(decode(bytes), decode_tree(bytes), "{variant}");
            }
        }
        // Every example, pretty or escaped, takes the one pass.
        assert!(one_pass >= 4 * examples().len(), "{one_pass}");
    }
}

//! The event contract as outside producers and the lake writer see it: the documented
//! examples decode, encodings round-trip, rows fit their table's schema, and bad payloads are
//! refused with the offending field named.

use std::collections::BTreeSet;

use serde_json::{Value, json};
use tenet_events::calls::{CallEnded, CallOutcome};
use tenet_events::ids::{CallId, QueueId};
use tenet_events::{
    Cell, DecodeError, Envelope, EventFamily, EventType, MAX_EVENT_BYTES, OccurredAt, TenantId,
};

const EVENTS_DOC: &str = include_str!("../../docs/events.md");

/// The ```json blocks of `docs/events.md`.
fn documented_examples() -> Vec<&'static str> {
    EVENTS_DOC
        .split("```json\n")
        .skip(1)
        .map(|rest| rest.split("\n```").next().expect("a closed code block"))
        .collect()
}

fn example(event_type: &str) -> Value {
    documented_examples()
        .into_iter()
        .map(|text| serde_json::from_str::<Value>(text).unwrap())
        .find(|value| value["type"] == event_type)
        .unwrap_or_else(|| panic!("no documented example of {event_type}"))
}

fn decode(value: &Value) -> Result<Envelope, DecodeError> {
    Envelope::from_json(&serde_json::to_vec(value).unwrap())
}

#[test]
fn every_documented_example_decodes() {
    for text in documented_examples() {
        let envelope = Envelope::from_json(text.as_bytes())
            .unwrap_or_else(|err| panic!("{err} in documented example:\n{text}"));
        let wire: Value = serde_json::from_str(text).unwrap();
        assert_eq!(wire["type"], envelope.event_type().as_str());
    }
}

#[test]
fn every_event_type_is_documented_with_an_example() {
    let documented: BTreeSet<String> = documented_examples()
        .into_iter()
        .map(|text| serde_json::from_str::<Value>(text).unwrap()["type"].to_string())
        .collect();
    for event_type in EventType::ALL {
        assert!(
            documented.contains(&format!("\"{event_type}\"")),
            "{event_type} has no example in docs/events.md"
        );
    }
}

#[test]
fn encoding_round_trips_to_the_same_json_and_event() {
    for text in documented_examples() {
        let wire: Value = serde_json::from_str(text).unwrap();
        let envelope = Envelope::from_json(text.as_bytes()).unwrap();
        let encoded = envelope.to_json();
        let re_encoded: Value = serde_json::from_slice(&encoded).unwrap();
        assert_eq!(
            normalise_time(re_encoded),
            normalise_time(wire),
            "{}",
            envelope.event_type()
        );
        assert_eq!(Envelope::from_json(&encoded).unwrap(), envelope);
    }
}

/// `2026-04-12T09:05:10Z` and `2026-04-12T09:05:10.000Z` are the same instant.
fn normalise_time(mut value: Value) -> Value {
    let at = OccurredAt::parse(value["occurred_at"].as_str().unwrap()).unwrap();
    value["occurred_at"] = Value::String(at.to_string());
    value
}

#[test]
fn every_row_fits_its_family_schema_column_by_column() {
    for text in documented_examples() {
        let envelope = Envelope::from_json(text.as_bytes()).unwrap();
        let row = envelope.to_row();
        let schema = envelope.family().arrow_schema();
        assert_eq!(row.family(), envelope.family());
        assert_eq!(row.cells().len(), schema.fields().len());
        for (cell, field) in row.cells().iter().zip(schema.fields()) {
            assert!(
                cell.fits(field.data_type(), field.is_nullable()),
                "{}: column {} ({}) cannot hold {cell:?}",
                envelope.event_type(),
                field.name(),
                field.data_type()
            );
        }
    }
}

#[test]
fn row_header_carries_identity_time_and_partition_date() {
    let envelope = decode(&example("call.ended")).unwrap();
    let row = envelope.to_row();
    assert_eq!(
        row.get("event_id"),
        Some(&Cell::Utf8(envelope.event_id.to_string()))
    );
    assert_eq!(
        row.get("tenant_id"),
        Some(&Cell::Utf8("0196f0c0-0000-7000-8000-00000000a11e".into()))
    );
    assert_eq!(
        row.get("event_type"),
        Some(&Cell::Utf8("call.ended".into()))
    );
    assert_eq!(row.get("schema_version"), Some(&Cell::Int32(1)));
    // 2026-04-12T09:08:16.900Z
    assert_eq!(
        row.get("occurred_at"),
        Some(&Cell::TimestampMicros(1_775_984_896_900_000))
    );
    assert_eq!(row.get("event_date"), Some(&Cell::Date32(20_555)));
}

#[test]
fn call_rows_put_each_field_in_its_named_column() {
    let ended = decode(&example("call.ended")).unwrap().to_row();
    assert_eq!(ended.get("outcome"), Some(&Cell::Utf8("answered".into())));
    assert_eq!(ended.get("wait_seconds"), Some(&Cell::Int64(27)));
    assert_eq!(ended.get("talk_seconds"), Some(&Cell::Int64(184)));
    assert_eq!(ended.get("hold_seconds"), Some(&Cell::Int64(45)));
    assert_eq!(ended.get("after_call_work_seconds"), Some(&Cell::Int64(30)));
    assert_eq!(ended.get("ring_ms"), Some(&Cell::Null));

    let offered = decode(&example("call.offered")).unwrap().to_row();
    assert_eq!(
        offered.get("ivr_path"),
        Some(&Cell::Utf8List(vec![
            "main".into(),
            "billing".into(),
            "agent".into()
        ]))
    );
    assert_eq!(offered.get("priority"), Some(&Cell::Int16(1)));

    let transferred = decode(&example("call.transferred")).unwrap().to_row();
    assert_eq!(
        transferred.get("transfer_target_kind"),
        Some(&Cell::Utf8("queue".into()))
    );
    assert_eq!(
        transferred.get("transfer_target_id"),
        Some(&Cell::Utf8("billing-l2".into()))
    );
    assert_eq!(
        transferred.get("transfer_mode"),
        Some(&Cell::Utf8("attended".into()))
    );
}

#[test]
fn nested_payload_objects_are_flattened_into_columns() {
    let survey = decode(&example("survey.answered")).unwrap().to_row();
    assert_eq!(survey.get("scale"), Some(&Cell::Utf8("csat".into())));
    assert_eq!(survey.get("score"), Some(&Cell::Int16(4)));
    assert_eq!(survey.get("subject_kind"), Some(&Cell::Utf8("call".into())));

    let qa = decode(&example("qa.evaluated")).unwrap().to_row();
    assert_eq!(qa.get("points"), Some(&Cell::Int64(42)));
    assert_eq!(qa.get("max_points"), Some(&Cell::Int64(50)));
    assert_eq!(qa.get("critical_failure"), Some(&Cell::Boolean(false)));

    let comment = decode(&example("ticket.commented")).unwrap().to_row();
    assert_eq!(
        comment.get("author_kind"),
        Some(&Cell::Utf8("agent".into()))
    );
    assert_eq!(comment.get("author_id"), Some(&Cell::Utf8("2044".into())));
    assert_eq!(comment.get("public"), Some(&Cell::Boolean(true)));
}

#[test]
fn schedule_activities_land_with_their_week_version_and_utc_times() {
    let activity = decode(&example("schedule.activity_scheduled"))
        .unwrap()
        .to_row();
    // 2026-04-13 is day 20556 since the epoch; 10:00Z that day in microseconds.
    assert_eq!(activity.get("week_start"), Some(&Cell::Date32(20_556)));
    assert_eq!(activity.get("version"), Some(&Cell::Int32(2)));
    assert_eq!(activity.get("activity"), Some(&Cell::Utf8("lunch".into())));
    assert_eq!(
        activity.get("starts_at"),
        Some(&Cell::TimestampMicros(1_776_074_400_000_000))
    );
    assert_eq!(activity.get("time_zone"), Some(&Cell::Null));

    let published = decode(&example("schedule.published")).unwrap();
    assert_eq!(published.topic(), "tenet.schedules.v1");
    let published = published.to_row();
    assert_eq!(published.get("agent_id"), Some(&Cell::Null));
    assert_eq!(published.get("activities"), Some(&Cell::Int32(410)));
    assert_eq!(
        published.get("time_zone"),
        Some(&Cell::Utf8("Europe/Berlin".into()))
    );
}

#[test]
fn administration_events_land_with_who_made_the_change() {
    let configured = decode(&example("admin.project_configured")).unwrap();
    assert_eq!(configured.topic(), "tenet.admin.v1");
    let row = configured.to_row();
    assert_eq!(row.get("setting"), Some(&Cell::Utf8("workflow".into())));
    assert_eq!(row.get("change"), Some(&Cell::Utf8("changed".into())));
    assert_eq!(row.get("version"), Some(&Cell::Int32(3)));
    assert_eq!(row.get("setting_id"), Some(&Cell::Null));
    assert_eq!(row.get("by_kind"), Some(&Cell::Utf8("user".into())));
    assert_eq!(
        row.get("by_id"),
        Some(&Cell::Utf8("0196f0c1-0000-7000-8000-0000000000ad".into()))
    );

    let issued = decode(&example("admin.token_issued")).unwrap().to_row();
    assert_eq!(issued.get("role"), Some(&Cell::Utf8("admin".into())));
    // 2027-04-10T00:00:00Z in microseconds.
    assert_eq!(
        issued.get("expires_at"),
        Some(&Cell::TimestampMicros(1_807_315_200_000_000))
    );

    let mut by_the_system = example("admin.user_created");
    by_the_system["data"]["by"] = json!({"kind": "system"});
    let row = decode(&by_the_system).unwrap().to_row();
    assert_eq!(row.get("by_kind"), Some(&Cell::Utf8("system".into())));
    assert_eq!(row.get("by_id"), Some(&Cell::Null));

    let mut unknown_setting = example("admin.project_configured");
    unknown_setting["data"]["setting"] = json!("colour_scheme");
    let err = decode(&unknown_setting).unwrap_err().to_string();
    assert!(err.contains("colour_scheme"), "{err}");
}

#[test]
fn each_family_lands_in_its_own_topic_keyed_by_tenant() {
    let envelope = decode(&example("agent.not_ready")).unwrap();
    assert_eq!(envelope.family(), EventFamily::AgentState);
    assert_eq!(envelope.topic(), "tenet.agent_state.v1");
    assert_eq!(envelope.key(), envelope.tenant_id.to_string());
}

#[test]
fn unknown_type_is_refused_by_name() {
    let mut event = example("call.answered");
    event["type"] = json!("call.teleported");
    let err = decode(&event).unwrap_err();
    assert_eq!(
        err,
        DecodeError::UnknownType {
            event_type: "call.teleported".into()
        }
    );
    assert_eq!(err.code(), "unknown_type");
    assert_eq!(err.field(), Some("type"));
}

#[test]
fn missing_or_null_tenant_is_refused_naming_tenant_id() {
    let mut absent = example("ticket.created");
    absent.as_object_mut().unwrap().remove("tenant_id");
    let mut null = example("ticket.created");
    null["tenant_id"] = Value::Null;
    for event in [absent, null] {
        let err = decode(&event).unwrap_err();
        assert_eq!(
            err,
            DecodeError::MissingField {
                field: "tenant_id".into()
            }
        );
        assert_eq!(err.to_string(), "missing field `tenant_id`");
    }
}

#[test]
fn malformed_tenant_is_refused_as_invalid() {
    let mut event = example("ticket.created");
    event["tenant_id"] = json!("acme");
    let err = decode(&event).unwrap_err();
    assert_eq!(err.code(), "invalid_field");
    assert_eq!(err.field(), Some("tenant_id"));
}

#[test]
fn wrong_field_type_in_the_payload_names_the_field_path() {
    let mut event = example("call.answered");
    event["data"]["wait_seconds"] = json!("27");
    let err = decode(&event).unwrap_err();
    assert_eq!(err.field(), Some("data.wait_seconds"));
    assert!(
        err.to_string().contains("invalid type: string \"27\""),
        "{err}"
    );

    let mut negative = example("call.answered");
    negative["data"]["wait_seconds"] = json!(-3);
    assert_eq!(
        decode(&negative).unwrap_err().field(),
        Some("data.wait_seconds")
    );
}

#[test]
fn missing_payload_field_is_named_with_its_path() {
    let mut event = example("call.answered");
    event["data"].as_object_mut().unwrap().remove("agent_id");
    assert_eq!(
        decode(&event).unwrap_err(),
        DecodeError::MissingField {
            field: "data.agent_id".into()
        }
    );
}

#[test]
fn misspelt_payload_field_is_refused_not_dropped() {
    let mut event = example("agent.not_ready");
    let data = event["data"].as_object_mut().unwrap();
    let reason = data.remove("reason").unwrap();
    data.insert("reasn".into(), reason);
    assert_eq!(
        decode(&event).unwrap_err(),
        DecodeError::UnknownField {
            field: "data.reasn".into()
        }
    );
}

#[test]
fn unknown_envelope_field_is_refused() {
    let mut event = example("agent.ready");
    event["source"] = json!("pbx-1");
    assert_eq!(
        decode(&event).unwrap_err(),
        DecodeError::UnknownField {
            field: "source".into()
        }
    );
}

#[test]
fn invalid_values_inside_nested_objects_are_refused_with_their_path() {
    let mut survey = example("survey.answered");
    survey["data"]["answer"]["score"] = json!(9);
    let err = decode(&survey).unwrap_err();
    assert_eq!(err.code(), "invalid_field");
    assert!(err.to_string().contains("csat scale"), "{err}");

    let mut qa = example("qa.evaluated");
    qa["data"]["score"]["points"] = json!(51);
    let err = decode(&qa).unwrap_err();
    assert_eq!(err.field(), Some("data.score"));

    let mut channel = example("ticket.created");
    channel["data"]["channel"] = json!("fax");
    let err = decode(&channel).unwrap_err();
    assert_eq!(err.field(), Some("data.channel"));
    assert!(err.to_string().contains("unknown variant `fax`"), "{err}");

    let mut ivr = example("call.offered");
    ivr["data"]["ivr_path"][1] = json!("");
    assert_eq!(decode(&ivr).unwrap_err().field(), Some("data.ivr_path[1]"));
}

#[test]
fn event_id_must_be_a_uuid_v7() {
    let mut event = example("call.held");
    event["event_id"] = json!("2f1a5b0c-3d4e-4f60-8a7b-9c0d1e2f3a4b");
    let err = decode(&event).unwrap_err();
    assert_eq!(err.field(), Some("event_id"));
    assert!(err.to_string().contains("v7"), "{err}");
}

#[test]
fn occurred_at_without_offset_is_refused() {
    let mut event = example("call.held");
    event["occurred_at"] = json!("2026-04-12 09:05:10");
    assert_eq!(decode(&event).unwrap_err().field(), Some("occurred_at"));
}

#[test]
fn future_schema_version_is_refused_not_guessed() {
    let mut event = example("call.held");
    event["schema_version"] = json!(2);
    let err = decode(&event).unwrap_err();
    assert_eq!(
        err,
        DecodeError::UnsupportedVersion {
            event_type: EventType::from_wire_name("call.held").unwrap(),
            version: 2,
            current: 1
        }
    );
    event["schema_version"] = json!("1");
    assert_eq!(decode(&event).unwrap_err().field(), Some("schema_version"));
}

#[test]
fn an_older_schema_version_of_a_type_still_decodes() {
    // Version 1 of ticket.closed had no project_id; version 2 added it as optional.
    let mut event = example("ticket.closed");
    event["schema_version"] = json!(1);
    event["data"].as_object_mut().unwrap().remove("project_id");
    let decoded = decode(&event).unwrap();
    assert_eq!(decoded.event_type().schema_version(), 2);
    event["schema_version"] = json!(0);
    assert_eq!(decode(&event).unwrap_err().field(), Some("schema_version"));
}

#[test]
fn malformed_json_reports_its_position() {
    let err = Envelope::from_json(b"{\"event_id\": \n  oops}").unwrap_err();
    assert!(
        matches!(err, DecodeError::Malformed { line: 2, .. }),
        "{err:?}"
    );
    assert_eq!(err.code(), "malformed_json");
}

#[test]
fn non_object_payloads_are_refused() {
    assert_eq!(
        Envelope::from_json(b"[1, 2]").unwrap_err(),
        DecodeError::NotAnObject { found: "an array" }
    );
    let mut event = example("call.held");
    event["data"] = json!([]);
    assert_eq!(decode(&event).unwrap_err().field(), Some("data"));
}

#[test]
fn oversized_payload_is_refused_before_parsing() {
    let huge = vec![b' '; MAX_EVENT_BYTES + 1];
    assert_eq!(
        Envelope::from_json(&huge).unwrap_err(),
        DecodeError::TooLarge {
            size: MAX_EVENT_BYTES + 1,
            limit: MAX_EVENT_BYTES
        }
    );
}

#[test]
fn importing_the_same_record_twice_yields_the_same_event() {
    let tenant = TenantId::generate();
    let at = OccurredAt::parse("1999-02-01T07:02:13+02:00").unwrap();
    let record = || CallEnded {
        call_id: CallId::parse("33116").unwrap(),
        outcome: CallOutcome::Answered,
        queue_id: Some(QueueId::parse("PS").unwrap()),
        project_id: None,
        agent_id: None,
        wait_seconds: 12,
        talk_seconds: 160,
        hold_seconds: 0,
        after_call_work_seconds: 0,
    };
    let first = Envelope::derived(tenant, at, &["anonymous-bank", "AA0101", "33116"], record());
    let second = Envelope::derived(tenant, at, &["anonymous-bank", "AA0101", "33116"], record());
    assert_eq!(first.event_id, second.event_id);
    assert_eq!(first.to_json(), second.to_json());
    let other_line =
        Envelope::derived(tenant, at, &["anonymous-bank", "AA0102", "33116"], record());
    assert_ne!(first.event_id, other_line.event_id);
}

#[test]
fn batch_elements_decode_through_serde_with_the_same_strictness() {
    let batch = json!([example("call.held"), example("qa.evaluated")]);
    let events: Vec<Envelope> = serde_json::from_value(batch).unwrap();
    assert_eq!(events.len(), 2);
    let mut bad = example("call.held");
    bad["data"]["agnet_id"] = json!("1");
    let err = serde_json::from_value::<Vec<Envelope>>(json!([bad])).unwrap_err();
    assert!(err.to_string().contains("data.agnet_id"), "{err}");
}

//! The project constructor on PostgreSQL and SQLite: request types and custom fields defined
//! per project, ticket values checked against them, and retired definitions that keep old
//! tickets' meaning.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::tickets::{World, on_both};

#[tokio::test]
async fn tickets_carry_the_request_types_and_fields_their_project_defines() {
    on_both(async |world: World| {
        let project = format!("/projects/{}", world.project);
        let types = format!("{project}/request-types");
        let (status, meter) = world.call(Method::POST, &types, &world.admin, Some(json!({"key": "meter_reading", "name": "Meter reading"}))).await;
        assert_eq!(status, StatusCode::CREATED, "{meter}");
        let (status, taken) = world.call(Method::POST, &types, &world.admin, Some(json!({"key": "meter_reading", "name": "Again"}))).await;
        assert_eq!(status, StatusCode::CONFLICT, "{taken}");
        assert_eq!(taken["error"]["details"]["field"], "key");
        let (status, refused) = world.call(Method::POST, &types, &world.admin, Some(json!({"key": "Meter Reading", "name": "x"}))).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");

        let fields = format!("{project}/fields");
        for body in [
            json!({"key": "account", "label": "Account", "kind": "text", "required": true}),
            json!({"key": "district", "label": "District", "kind": "choice", "choices": ["north", "south"]}),
            json!({"key": "visit_on", "label": "Visit", "kind": "date"}),
            json!({"key": "amount", "label": "Amount", "kind": "number"}),
        ] {
            let (status, field) = world.call(Method::POST, &fields, &world.admin, Some(body)).await;
            assert_eq!(status, StatusCode::CREATED, "{field}");
        }
        for (body, field) in [
            (json!({"key": "zone", "label": "Zone", "kind": "choice"}), "choices"),
            (json!({"key": "note", "label": "Note", "kind": "text", "choices": ["a"]}), "choices"),
            (json!({"key": "zone", "label": "Zone", "kind": "choice", "choices": ["a", "a"]}), "choices[1]"),
            (json!({"key": "zone", "label": "Zone", "kind": "colour"}), "kind"),
        ] {
            let (status, refused) = world.call(Method::POST, &fields, &world.admin, Some(body.clone())).await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {refused}");
            assert_eq!(refused["error"]["details"]["field"], field, "{body}");
        }

        let new = |extra: Value| {
            let mut body = json!({"project_id": world.project, "subject": "Reading", "channel": "web_form"});
            for (key, value) in extra.as_object().unwrap() {
                body[key] = value.clone();
            }
            body
        };
        for (extra, field) in [
            (json!({}), "fields.account"),
            (json!({"fields": {"account": "A-1", "district": "east"}}), "fields.district"),
            (json!({"fields": {"account": "A-1", "visit_on": "tomorrow"}}), "fields.visit_on"),
            (json!({"fields": {"account": "A-1", "amount": "12"}}), "fields.amount"),
            (json!({"fields": {"account": "A-1", "colour": "red"}}), "fields.colour"),
            (json!({"fields": {"account": "A-1"}, "request_type": "outage"}), "request_type"),
        ] {
            let (status, refused) = world.call(Method::POST, "/tickets", &world.admin, Some(new(extra.clone()))).await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{extra}: {refused}");
            assert_eq!(refused["error"]["details"]["field"], field, "{extra}");
        }
        let (status, ticket) = world
            .call(Method::POST, "/tickets", &world.admin, Some(new(json!({"request_type": "meter_reading", "fields": {"account": "A-1", "district": "north", "amount": 120.5}}))))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{ticket}");
        assert_eq!(ticket["request_type"], "meter_reading");
        assert_eq!(ticket["fields"], json!({"account": "A-1", "district": "north", "amount": 120.5}));
        let path = format!("/tickets/{}", ticket["id"].as_str().unwrap());

        let (status, changed) = world
            .call(Method::PATCH, &path, &world.admin, Some(json!({"version": 1, "fields": {"district": "south", "amount": null}})))
            .await;
        assert_eq!(status, StatusCode::OK, "{changed}");
        assert_eq!(changed["fields"], json!({"account": "A-1", "district": "south"}));
        let (status, refused) = world
            .call(Method::PATCH, &path, &world.admin, Some(json!({"version": 2, "fields": {"account": null}})))
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
        assert_eq!(refused["error"]["details"]["field"], "fields.account");
        let (_, history) = world.call(Method::GET, &format!("{path}/history"), &world.admin, None).await;
        let changes: Vec<(Value, Value)> = history
            .as_array()
            .unwrap()
            .iter()
            .filter(|entry| entry["field"] == "fields")
            .map(|entry| (entry["old_value"].clone(), entry["new_value"].clone()))
            .collect();
        assert_eq!(
            changes,
            [
                (json!("amount: 120.5"), Value::Null),
                (json!("district: \"north\""), json!("district: \"south\"")),
            ]
        );

        // Retiring a field keeps old tickets' values and refuses new ones.
        let (_, defined) = world.call(Method::GET, &fields, &world.admin, None).await;
        let district = defined.as_array().unwrap().iter().find(|f| f["key"] == "district").unwrap().clone();
        let field_path = format!("{fields}/{}", district["id"].as_str().unwrap());
        let (status, stale) = world.call(Method::PATCH, &field_path, &world.admin, Some(json!({"version": 7, "active": false}))).await;
        assert_eq!(status, StatusCode::CONFLICT, "{stale}");
        let (status, widened) = world.call(Method::PATCH, &field_path, &world.admin, Some(json!({"version": 1, "add_choices": ["east", "north"]}))).await;
        assert_eq!(status, StatusCode::OK, "{widened}");
        assert_eq!(widened["choices"], json!(["north", "south", "east"]));
        let (status, retired) = world.call(Method::PATCH, &field_path, &world.admin, Some(json!({"version": 2, "active": false}))).await;
        assert_eq!(status, StatusCode::OK, "{retired}");
        let (status, refused) = world
            .call(Method::POST, "/tickets", &world.admin, Some(new(json!({"fields": {"account": "A-2", "district": "east"}}))))
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
        let (_, kept) = world.call(Method::GET, &path, &world.admin, None).await;
        assert_eq!(kept["fields"]["district"], "south");
        world.app.stop().await;
    })
    .await;
}

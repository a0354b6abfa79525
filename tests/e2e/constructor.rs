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

#[tokio::test]
async fn new_tickets_of_a_request_type_go_to_its_least_loaded_specialist() {
    on_both(async |world: World| {
        // Arrange: an outage type routed to two executors, Ivan first.
        let ivan = world.user("ivan@acme.test", "executor").await;
        let olga = world.user("olga@acme.test", "executor").await;
        let types = format!("/projects/{}/request-types", world.project);
        let (status, outage) = world
            .call(Method::POST, &types, &world.admin, Some(json!({"key": "outage", "name": "Outage", "specialists": [ivan, olga]})))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{outage}");
        assert_eq!(outage["specialists"], json!([ivan, olga]));
        let create = async |request_type: Option<&str>, assignee: Option<&str>| {
            let mut body = json!({"project_id": world.project, "subject": "No power", "channel": "voice"});
            if let Some(kind) = request_type {
                body["request_type"] = kind.into();
            }
            if let Some(user) = assignee {
                body["assignee_id"] = user.into();
            }
            let (status, ticket) = world.call(Method::POST, "/tickets", &world.admin, Some(body)).await;
            assert_eq!(status, StatusCode::CREATED, "{ticket}");
            ticket
        };

        // Act: four outages, one of them assigned by hand, and one ticket of no type.
        let first = create(Some("outage"), None).await;
        let second = create(Some("outage"), None).await;
        let by_hand = create(Some("outage"), Some(&olga)).await;
        let untyped = create(None, None).await;
        let fourth = create(Some("outage"), None).await;

        // Assert: equal loads go to the first listed, then to whoever has fewer open tickets.
        assert_eq!(first["assignee_id"], ivan.as_str());
        assert_eq!(second["assignee_id"], olga.as_str());
        assert_eq!(by_hand["assignee_id"], olga.as_str(), "an explicit assignee stands");
        assert_eq!(untyped["assignee_id"], Value::Null);
        assert_eq!(fourth["assignee_id"], ivan.as_str(), "olga has two open, ivan one: {fourth}");

        // Each assignment at creation is published after its ticket.created.
        let events: Vec<Value> = world
            .outbox_events()
            .await
            .iter()
            .map(|envelope| serde_json::to_value(envelope).unwrap())
            .collect();
        let assigned: Vec<(&str, &str)> = events
            .iter()
            .filter(|e| e["type"] == "ticket.assigned")
            .map(|e| (e["data"]["ticket_id"].as_str().unwrap(), e["data"]["assignee_id"].as_str().unwrap()))
            .collect();
        let id = |t: &Value| t["id"].as_str().unwrap().to_owned();
        assert_eq!(
            assigned,
            [(id(&first).as_str(), ivan.as_str()), (id(&second).as_str(), olga.as_str()), (id(&by_hand).as_str(), olga.as_str()), (id(&fourth).as_str(), ivan.as_str())]
        );

        // Changing the specialists is versioned; a stale version is refused.
        let path = format!("{types}/{}", outage["id"].as_str().unwrap());
        let (status, changed) = world.call(Method::PATCH, &path, &world.admin, Some(json!({"version": 1, "specialists": [olga]}))).await;
        assert_eq!(status, StatusCode::OK, "{changed}");
        assert_eq!((changed["version"].as_i64(), &changed["specialists"]), (Some(2), &json!([olga])));
        let (status, stale) = world.call(Method::PATCH, &path, &world.admin, Some(json!({"version": 1, "specialists": []}))).await;
        assert_eq!(status, StatusCode::CONFLICT, "{stale}");
        assert_eq!(create(Some("outage"), None).await["assignee_id"], olga.as_str());

        // Refusals name the specialist at fault; operators do not configure projects.
        for (body, field) in [
            (json!({"key": "leak", "name": "Leak", "specialists": [ivan, ivan]}), "specialists[1]"),
            (json!({"key": "leak", "name": "Leak", "specialists": ["0190b3a4-0000-7000-8000-000000000000"]}), "specialists[0]"),
        ] {
            let (status, refused) = world.call(Method::POST, &types, &world.admin, Some(body)).await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
            assert_eq!(refused["error"]["details"]["field"], field, "{refused}");
        }
        let operator = world.role_token(tenet_events::Role::Operator).await;
        let (status, _) = world.call(Method::PATCH, &path, &operator, Some(json!({"version": 2, "active": false}))).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let intruder = world.intruder(tenet_events::Role::Admin).await;
        let (status, _) = world.call(Method::PATCH, &path, &intruder, Some(json!({"version": 2, "active": false}))).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    })
    .await;
}

#[tokio::test]
async fn choice_fields_draw_on_a_shared_dictionary_whose_values_are_retired_never_lost() {
    on_both(async |world: World| {
        let project = format!("/projects/{}", world.project);
        let dictionaries = format!("{project}/dictionaries");
        let districts = json!({"key": "districts", "name": "Districts", "entries": [
            {"value": "north", "label": "North district"}, {"value": "south"}
        ]});
        let (status, dictionary) = world.call(Method::POST, &dictionaries, &world.admin, Some(districts.clone())).await;
        assert_eq!(status, StatusCode::CREATED, "{dictionary}");
        assert_eq!(dictionary["entries"][1], json!({"value": "south", "label": "south", "active": true}));
        let (status, taken) = world.call(Method::POST, &dictionaries, &world.admin, Some(districts)).await;
        assert_eq!(status, StatusCode::CONFLICT, "{taken}");
        for (body, field) in [
            (json!({"key": "zones", "name": "Zones", "entries": []}), "entries"),
            (json!({"key": "zones", "name": "Zones", "entries": [{"value": "a"}, {"value": "a"}]}), "entries[1].value"),
            (json!({"key": "Zones", "name": "Zones", "entries": [{"value": "a"}]}), "key"),
        ] {
            let (status, refused) = world.call(Method::POST, &dictionaries, &world.admin, Some(body.clone())).await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {refused}");
            assert_eq!(refused["error"]["details"]["field"], field, "{body}");
        }

        // Two fields share it; a field names a dictionary or lists choices, never both.
        let fields = format!("{project}/fields");
        for key in ["home_district", "visit_district"] {
            let body = json!({"key": key, "label": key, "kind": "choice", "dictionary": "districts"});
            let (status, field) = world.call(Method::POST, &fields, &world.admin, Some(body)).await;
            assert_eq!(status, StatusCode::CREATED, "{field}");
            assert_eq!((field["dictionary"].as_str(), field["choices"].clone()), (Some("districts"), json!(["north", "south"])));
        }
        for (body, field) in [
            (json!({"key": "zone", "label": "Zone", "kind": "choice", "dictionary": "zones"}), "dictionary"),
            (json!({"key": "zone", "label": "Zone", "kind": "text", "dictionary": "districts"}), "dictionary"),
            (json!({"key": "zone", "label": "Zone", "kind": "choice", "dictionary": "districts", "choices": ["x"]}), "choices"),
        ] {
            let (status, refused) = world.call(Method::POST, &fields, &world.admin, Some(body.clone())).await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {refused}");
            assert_eq!(refused["error"]["details"]["field"], field, "{body}");
        }

        let create = |district: &str| {
            json!({"project_id": world.project, "subject": "Street light out", "channel": "web_form",
                   "fields": {"home_district": district, "visit_district": district}})
        };
        let (status, ticket) = world.call(Method::POST, "/tickets", &world.admin, Some(create("south"))).await;
        assert_eq!(status, StatusCode::CREATED, "{ticket}");

        // Retiring `south` and adding `east`: new tickets take east, not south; the ticket keeps south.
        let path = format!("{dictionaries}/{}", dictionary["id"].as_str().unwrap());
        let change = json!({"version": 1, "entries": [
            {"value": "north", "label": "North district"}, {"value": "south", "active": false}, {"value": "east"}
        ]});
        let (status, changed) = world.call(Method::PATCH, &path, &world.admin, Some(change.clone())).await;
        assert_eq!(status, StatusCode::OK, "{changed}");
        assert_eq!(changed["version"], 2);
        let (status, stale) = world.call(Method::PATCH, &path, &world.admin, Some(change)).await;
        assert_eq!(status, StatusCode::CONFLICT, "{stale}");
        let (status, refused) = world
            .call(Method::PATCH, &path, &world.admin, Some(json!({"version": 2, "entries": [{"value": "north"}, {"value": "east"}]})))
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
        assert_eq!(refused["error"]["details"]["field"], "entries");
        assert!(refused["error"]["message"].as_str().unwrap().contains("`south`"), "{refused}");

        let (status, refused) = world.call(Method::POST, "/tickets", &world.admin, Some(create("south"))).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
        assert_eq!(refused["error"]["details"]["field"], "fields.home_district");
        let (status, east) = world.call(Method::POST, "/tickets", &world.admin, Some(create("east"))).await;
        assert_eq!(status, StatusCode::CREATED, "{east}");
        let (_, kept) = world.call(Method::GET, &format!("/tickets/{}", ticket["id"].as_str().unwrap()), &world.admin, None).await;
        assert_eq!(kept["fields"]["home_district"], "south");
        let (_, listed) = world.call(Method::GET, &fields, &world.admin, None).await;
        let home = listed.as_array().unwrap().iter().find(|f| f["key"] == "home_district").unwrap().clone();
        assert_eq!(home["choices"], json!(["north", "east"]));
        let (status, refused) = world
            .call(Method::PATCH, &format!("{fields}/{}", home["id"].as_str().unwrap()), &world.admin, Some(json!({"version": 1, "add_choices": ["west"]})))
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
        assert_eq!(refused["error"]["details"]["field"], "add_choices");

        // Operators read but do not change dictionaries; another tenant sees none of them.
        let operator = world.role_token(tenet_events::Role::Operator).await;
        let (status, _) = world.call(Method::PATCH, &path, &operator, Some(json!({"version": 2, "name": "x"}))).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let intruder = world.intruder(tenet_events::Role::Admin).await;
        let (status, _) = world.call(Method::GET, &dictionaries, &intruder, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, _) = world.call(Method::PATCH, &path, &intruder, Some(json!({"version": 2, "name": "x"}))).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    })
    .await;
}

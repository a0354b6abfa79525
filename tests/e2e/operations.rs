//! Project operations on PostgreSQL and SQLite: defined by managers, offered by ticket status,
//! run by operators in one step that moves, assigns, sets fields and comments at once.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tenet_events::Role;

use crate::tickets::{World, on_both};
use crate::workflows::meters;

fn admin_events(events: &[Value], setting: &str) -> Vec<(String, i64)> {
    events
        .iter()
        .filter(|e| e["type"] == "admin.project_configured" && e["data"]["setting"] == setting)
        .map(|e| {
            (
                e["data"]["change"].as_str().unwrap().to_owned(),
                e["data"]["version"].as_i64().unwrap(),
            )
        })
        .collect()
}

#[tokio::test]
async fn an_operation_moves_assigns_sets_and_comments_in_one_step() {
    on_both(async |world: World| {
        // Arrange: the meter workflow, a choice field, and an operator signed in.
        let project = format!("/projects/{}", world.project);
        let mut workflow = meters();
        workflow["version"] = 0.into();
        let (status, body) = world.call(Method::PUT, &format!("{project}/workflow"), &world.admin, Some(workflow)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let field = json!({"key": "reading_by", "label": "Reading by", "kind": "choice", "choices": ["sms", "photo"]});
        let (status, body) = world.call(Method::POST, &format!("{project}/fields"), &world.admin, Some(field)).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let operations = format!("{project}/operations");
        let take = json!({"key": "take", "definition": {
            "name": "Take it", "from_statuses": ["received"], "to_status": "in_progress", "assign": "me"
        }});
        let request_reading = json!({"key": "request_reading", "definition": {
            "name": "Ask for a meter reading",
            "from_statuses": ["in_progress"],
            "to_status": "awaiting_reading",
            "assign": "nobody",
            "priority": "high",
            "fields": {"reading_by": "sms"},
            "comment": {"body": "  Please send us your meter reading by SMS.  ", "public": true},
            "note_required": true
        }});

        // Flawed operations are refused, naming the field.
        for (mut body, field) in [
            (request_reading.clone(), "key"),
            (request_reading.clone(), "to_status"),
            (request_reading.clone(), "from_statuses.0"),
            (request_reading.clone(), "fields.reading_by"),
            (request_reading.clone(), "fields.colour"),
            (request_reading.clone(), "comment.body"),
            (json!({"key": "noop", "definition": {"name": "Nothing"}}), "to_status"),
        ] {
            match field {
                "key" => body["key"] = "Request Reading".into(),
                "to_status" if body["key"] != "noop" => body["definition"]["to_status"] = "limbo".into(),
                "from_statuses.0" => body["definition"]["from_statuses"] = json!(["nowhere"]),
                "fields.reading_by" => body["definition"]["fields"] = json!({"reading_by": "pigeon"}),
                "fields.colour" => body["definition"]["fields"] = json!({"colour": "red"}),
                "comment.body" => body["definition"]["comment"]["body"] = "   ".into(),
                _ => {}
            }
            let (status, error) = world.call(Method::POST, &operations, &world.admin, Some(body)).await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{field}: {error}");
            assert_eq!(error["error"]["details"]["field"], field, "{error}");
        }
        let operator = world.role_token(Role::Operator).await;
        let (status, _) = world.call(Method::POST, &operations, &operator, Some(take.clone())).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let intruder = world.intruder(Role::Admin).await;
        let (status, _) = world.call(Method::POST, &operations, &intruder, Some(take.clone())).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "another tenant's project");

        for body in [&take, &request_reading] {
            let (status, created) = world.call(Method::POST, &operations, &world.admin, Some(body.clone())).await;
            assert_eq!(status, StatusCode::CREATED, "{created}");
            assert_eq!(created["version"], 1);
        }
        let (status, taken) = world.call(Method::POST, &operations, &world.admin, Some(take.clone())).await;
        assert_eq!(status, StatusCode::CONFLICT, "{taken}");
        let (_, listed) = world.call(Method::GET, &operations, &world.admin, None).await;
        let keys: Vec<&str> = listed.as_array().unwrap().iter().map(|o| o["key"].as_str().unwrap()).collect();
        assert_eq!(keys, ["request_reading", "take"]);
        assert_eq!(listed[0]["definition"]["comment"]["body"], "Please send us your meter reading by SMS.");

        // Act: the operator takes a new ticket, then asks the customer for a reading.
        let id = world.ticket("Meter stuck", "voice").await;
        let ticket = format!("/tickets/{id}");
        let anna = world.session("anna@acme.test").await;
        let (_, offered) = world.as_session(&anna, Method::GET, &format!("{ticket}/operations"), None).await;
        let offered: Vec<&str> = offered.as_array().unwrap().iter().map(|o| o["key"].as_str().unwrap()).collect();
        assert_eq!(offered, ["take"], "only what the ticket's status allows");
        let run = |key: &str| format!("{ticket}/operations/{key}");
        for (method, path, body) in [
            (Method::GET, format!("{ticket}/operations"), None),
            (Method::POST, run("take"), Some(json!({"version": 1}))),
            (Method::PATCH, format!("{operations}/{}", listed[1]["id"].as_str().unwrap()), Some(json!({"version": 1, "active": false}))),
        ] {
            let (status, body) = world.call(method, &path, &intruder, body).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{path} from another tenant: {body}");
        }
        let (status, refused) = world.call(Method::POST, &run("take"), &world.admin, Some(json!({"version": 1}))).await;
        assert_eq!(status, StatusCode::CONFLICT, "an API token is nobody to assign to: {refused}");
        let (status, mine) = world.as_session(&anna, Method::POST, &run("take"), Some(json!({"version": 1}))).await;
        assert_eq!(status, StatusCode::OK, "{mine}");
        assert_eq!((mine["workflow_status"].as_str(), mine["assignee_id"].as_str(), mine["version"].as_i64()), (Some("in_progress"), Some(world.operator_id.as_str()), Some(2)));

        let (status, no_note) = world.as_session(&anna, Method::POST, &run("request_reading"), Some(json!({"version": 2}))).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{no_note}");
        assert_eq!(no_note["error"]["details"]["field"], "note");
        let (status, stale) = world.as_session(&anna, Method::POST, &run("request_reading"), Some(json!({"version": 1, "note": "x"}))).await;
        assert_eq!(status, StatusCode::CONFLICT, "{stale}");
        let (status, unknown) = world.as_session(&anna, Method::POST, &run("teleport"), Some(json!({"version": 2}))).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{unknown}");
        let (status, asked) = world
            .as_session(&anna, Method::POST, &run("request_reading"), Some(json!({"version": 2, "note": "Customer prefers SMS after 6 pm"})))
            .await;

        // Assert: one new version with every effect, the comment, and the history.
        assert_eq!(status, StatusCode::OK, "{asked}");
        assert_eq!(asked["version"], 3, "one step, one version");
        assert_eq!(asked["workflow_status"], "awaiting_reading");
        assert_eq!(asked["status"], "pending");
        assert_eq!(asked["assignee_id"], Value::Null);
        assert_eq!(asked["priority"], "high");
        assert_eq!(asked["fields"], json!({"reading_by": "sms"}));
        let (_, comments) = world.call(Method::GET, &format!("{ticket}/comments"), &world.admin, None).await;
        assert_eq!(comments.as_array().unwrap().len(), 1, "{comments}");
        assert_eq!(comments[0]["body"], "Please send us your meter reading by SMS.\n\nCustomer prefers SMS after 6 pm");
        assert_eq!(comments[0]["public"], true);
        let (_, history) = world.call(Method::GET, &format!("{ticket}/history"), &world.admin, None).await;
        let operations_run: Vec<&str> = history
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["field"] == "operation")
            .map(|e| e["new_value"].as_str().unwrap())
            .collect();
        assert_eq!(operations_run, ["take", "request_reading"]);
        let (status, again) = world
            .as_session(&anna, Method::POST, &run("request_reading"), Some(json!({"version": 3, "note": "again"})))
            .await;
        assert_eq!(status, StatusCode::CONFLICT, "not offered while awaiting the reading: {again}");
        let events: Vec<Value> = world.outbox_events().await.iter().map(|e| serde_json::to_value(e).unwrap()).collect();
        let of_ticket: Vec<&str> = events
            .iter()
            .filter(|e| e["data"]["ticket_id"] == id.as_str())
            .map(|e| e["type"].as_str().unwrap())
            .collect();
        assert_eq!(
            of_ticket,
            ["ticket.created", "ticket.status_changed", "ticket.assigned", "ticket.status_changed", "ticket.commented"]
        );

        // Retiring an operation keeps it listed and stops it from running.
        let take_id = listed[1]["id"].as_str().unwrap();
        let (status, retired) = world
            .call(Method::PATCH, &format!("{operations}/{take_id}"), &world.admin, Some(json!({"version": 1, "active": false})))
            .await;
        assert_eq!(status, StatusCode::OK, "{retired}");
        assert_eq!((retired["active"].as_bool(), retired["version"].as_i64()), (Some(false), Some(2)));
        let other = world.ticket("Meter broken", "email").await;
        let (status, refused) = world
            .as_session(&anna, Method::POST, &format!("/tickets/{other}/operations/take"), Some(json!({"version": 1})))
            .await;
        assert_eq!(status, StatusCode::CONFLICT, "{refused}");
        assert!(refused["error"]["message"].as_str().unwrap().contains("retired"), "{refused}");
        assert_eq!(
            admin_events(&events_now(&world).await, "operation"),
            [("created".into(), 1), ("created".into(), 1), ("retired".into(), 2)]
        );
    })
    .await;
}

async fn events_now(world: &World) -> Vec<Value> {
    world
        .outbox_events()
        .await
        .iter()
        .map(|e| serde_json::to_value(e).unwrap())
        .collect()
}

#[tokio::test]
async fn every_configuration_change_is_an_administration_event() {
    on_both(async |world: World| {
        let project = format!("/projects/{}", world.project);
        let manager = world.user("maria@acme.test", "project_manager").await;
        let (status, _) = world.call(Method::POST, &format!("{project}/members"), &world.admin, Some(json!({"user_id": manager}))).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        let (status, _) = world.call(Method::POST, &format!("{project}/members"), &world.admin, Some(json!({"user_id": manager}))).await;
        assert_eq!(status, StatusCode::NO_CONTENT, "adding a member twice changes nothing");
        let mut workflow = meters();
        workflow["version"] = 0.into();
        let client_view = |version: i64| json!({"version": version, "hidden_fields": ["account"], "assignee": false, "sla": true, "history": false, "statistics": true});
        let policy = json!({
            "version": 0,
            "password": {"min_length": 12, "require_digit": true, "require_symbol": false, "require_mixed_case": false},
            "session_lifetime_minutes": 480, "max_failed_logins": 5, "lockout_minutes": 15, "ip_allowlist": []
        });
        for (method, path, body) in [
            (Method::PUT, format!("{project}/workflow"), workflow),
            (Method::POST, format!("{project}/request-types"), json!({"key": "outage", "name": "Outage"})),
            (Method::POST, format!("{project}/fields"), json!({"key": "account", "label": "Account", "kind": "text"})),
            (Method::POST, format!("{project}/dictionaries"), json!({"key": "districts", "name": "Districts", "entries": [{"value": "north"}]})),
            (Method::PUT, format!("{project}/client-view"), client_view(0)),
            (Method::PUT, "/security-policy".to_owned(), policy),
        ] {
            let (status, body) = world.call(method, &path, &world.admin, Some(body)).await;
            assert!(status.is_success(), "{path}: {status} {body}");
        }
        let (status, refused) = world.call(Method::PUT, &format!("{project}/client-view"), &world.admin, Some(client_view(0))).await;
        assert_eq!(status, StatusCode::CONFLICT, "a refused change writes no event: {refused}");
        let (status, refused) = world.call(Method::PUT, &format!("{project}/client-view"), &world.admin, Some(client_view(i64::MAX))).await;
        assert_eq!(status, StatusCode::CONFLICT, "no version follows the last one: {refused}");

        let events = events_now(&world).await;
        let admin: Vec<&Value> = events.iter().filter(|e| e["type"].as_str().unwrap().starts_with("admin.")).collect();
        let summary: Vec<(&str, &str)> = admin
            .iter()
            .map(|e| (e["type"].as_str().unwrap(), e["data"]["setting"].as_str().unwrap_or("")))
            .collect();
        assert_eq!(
            summary,
            [
                ("admin.token_issued", ""),
                ("admin.project_created", ""),
                ("admin.user_created", ""),
                ("admin.member_added", ""),
                ("admin.user_created", ""),
                ("admin.member_added", ""),
                ("admin.project_configured", "workflow"),
                ("admin.project_configured", "request_type"),
                ("admin.project_configured", "field"),
                ("admin.project_configured", "dictionary"),
                ("admin.project_configured", "client_view"),
                ("admin.security_policy_changed", ""),
            ]
        );
        // The token was issued from the command line; the rest by the admin's token.
        assert_eq!(admin[0]["data"]["by"], json!({"kind": "system"}));
        assert!(admin[1..].iter().all(|e| e["data"]["by"]["kind"] == "api_token"), "{admin:?}");
        assert_eq!(admin[4]["data"]["role"], "project_manager");
        assert_eq!(admin[5]["data"]["user_id"], manager.as_str());
        // No personal data: neither e-mail addresses nor names travel.
        let text = serde_json::to_string(&admin).unwrap();
        assert!(!text.contains("acme.test"), "{text}");
    })
    .await;
}

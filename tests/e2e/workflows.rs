//! Project workflows on PostgreSQL and SQLite: a project's own statuses and transitions, in
//! versions that tickets created under them keep following.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tenet_events::Role;

use crate::tickets::{World, on_both};

/// A utility's meter workflow.
pub(crate) fn meters() -> Value {
    json!({
        "statuses": [
            {"key": "received", "name": "Received", "category": "new"},
            {"key": "in_progress", "name": "In progress", "category": "open"},
            {"key": "awaiting_reading", "name": "Awaiting a meter reading", "category": "pending"},
            {"key": "technician_sent", "name": "Technician sent", "category": "open"},
            {"key": "done", "name": "Done", "category": "solved"},
            {"key": "closed", "name": "Closed", "category": "closed"}
        ],
        "initial": "received",
        "transitions": [
            {"from": "received", "to": "in_progress"},
            {"from": "in_progress", "to": "awaiting_reading"},
            {"from": "awaiting_reading", "to": "in_progress"},
            {"from": "in_progress", "to": "technician_sent"},
            {"from": "technician_sent", "to": "done"},
            {"from": "in_progress", "to": "done"},
            {"from": "done", "to": "closed"},
            {"from": "done", "to": "in_progress"},
            {"from": "closed", "to": "in_progress"}
        ]
    })
}

fn with_version(mut body: Value, version: i64) -> Value {
    body["version"] = version.into();
    body
}

#[tokio::test]
async fn tickets_move_along_their_projects_workflow_version() {
    on_both(async |world: World| {
        let path = format!("/projects/{}/workflow", world.project);
        let (status, built_in) = world.call(Method::GET, &path, &world.admin, None).await;
        assert_eq!(status, StatusCode::OK, "{built_in}");
        assert_eq!(built_in["version"], 0);
        assert_eq!(built_in["initial"], "new");
        let keys: Vec<&str> = built_in["statuses"].as_array().unwrap().iter().map(|s| s["key"].as_str().unwrap()).collect();
        assert_eq!(keys, ["new", "open", "pending", "on_hold", "solved", "closed"]);
        assert!(built_in["created_at"].is_null());
        let (_, old) = world.call(Method::POST, "/tickets", &world.admin, Some(json!({"project_id": world.project, "subject": "Bill too high", "channel": "email"}))).await;
        assert_eq!((old["workflow_status"].as_str(), old["workflow_version"].as_i64()), (Some("new"), Some(0)), "{old}");

        // Flawed workflows are refused, naming the field; nothing is put in effect.
        let mut refusals = Vec::new();
        let mut dangling = meters();
        dangling["transitions"][2]["to"] = "in_progres".into();
        refusals.push((dangling, "transitions[2].to"));
        let mut start = meters();
        start["initial"] = "in_progress".into();
        refusals.push((start, "initial"));
        let mut recategorised = meters();
        recategorised["statuses"][2]["key"] = "open".into();
        refusals.push((recategorised, "statuses[2].category"));
        let mut dead_end = meters();
        dead_end["transitions"].as_array_mut().unwrap().retain(|t| t["from"] != "technician_sent");
        refusals.push((dead_end, "statuses[3]"));
        let mut unknown_category = meters();
        unknown_category["statuses"][1]["category"] = "working".into();
        refusals.push((unknown_category, "statuses[1].category"));
        for (body, field) in refusals {
            let (status, error) = world.call(Method::PUT, &path, &world.admin, Some(with_version(body, 0))).await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{field}: {error}");
            assert_eq!(error["error"]["details"]["field"], field, "{error}");
        }
        let operator = world.role_token(Role::Operator).await;
        let (status, _) = world.call(Method::PUT, &path, &operator, Some(with_version(meters(), 0))).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let intruder = world.intruder(Role::Admin).await;
        for (method, body) in [(Method::GET, None), (Method::PUT, Some(with_version(meters(), 0)))] {
            let (status, _) = world.call(method, &path, &intruder, body).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "another tenant's project");
        }

        let (status, first) = world.call(Method::PUT, &path, &world.admin, Some(with_version(meters(), 0))).await;
        assert_eq!(status, StatusCode::OK, "{first}");
        assert_eq!(first["version"], 1);
        let (status, stale) = world.call(Method::PUT, &path, &world.admin, Some(with_version(meters(), 0))).await;
        assert_eq!(status, StatusCode::CONFLICT, "{stale}");

        // A new ticket starts in the initial status of the version in effect.
        let (status, ticket) = world.call(Method::POST, "/tickets", &world.admin, Some(json!({"project_id": world.project, "subject": "Meter stuck", "channel": "voice"}))).await;
        assert_eq!(status, StatusCode::CREATED, "{ticket}");
        assert_eq!((ticket["status"].as_str(), ticket["workflow_status"].as_str(), ticket["workflow_version"].as_i64()), (Some("new"), Some("received"), Some(1)));
        let ticket_path = format!("/tickets/{}", ticket["id"].as_str().unwrap());
        let mut version = 1;
        let mut change = async |body: Value| {
            let mut body = body;
            body["version"] = version.into();
            let (status, answer) = world.call(Method::PATCH, &ticket_path, &world.admin, Some(body)).await;
            if status == StatusCode::OK {
                version += 1;
            }
            (status, answer)
        };
        let (status, refused) = change(json!({"workflow_status": "done"})).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
        assert_eq!(refused["error"]["details"]["field"], "workflow_status");
        assert!(refused["error"]["message"].as_str().unwrap().contains("from received to done"), "{refused}");
        for (body, workflow_status, lifecycle) in [
            (json!({"workflow_status": "in_progress"}), "in_progress", "open"),
            (json!({"workflow_status": "awaiting_reading"}), "awaiting_reading", "pending"),
            // A lifecycle status takes the first allowed workflow status of its category.
            (json!({"status": "open"}), "in_progress", "open"),
            (json!({"workflow_status": "technician_sent"}), "technician_sent", "open"),
            (json!({"status": "solved"}), "done", "solved"),
            (json!({"status": "closed"}), "closed", "closed"),
        ] {
            let (status, moved) = change(body.clone()).await;
            assert_eq!(status, StatusCode::OK, "{body}: {moved}");
            assert_eq!((moved["workflow_status"].as_str(), moved["status"].as_str()), (Some(workflow_status), Some(lifecycle)), "{body}");
        }
        for (body, field) in [
            (json!({"status": "pending"}), "status"),
            (json!({"workflow_status": "new"}), "workflow_status"),
            (json!({"workflow_status": "in_progress", "status": "open"}), "workflow_status"),
        ] {
            let (status, refused) = change(body.clone()).await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {refused}");
            assert_eq!(refused["error"]["details"]["field"], field, "{body}");
        }

        // The ticket from before keeps the built-in workflow.
        let old_path = format!("/tickets/{}", old["id"].as_str().unwrap());
        let (status, refused) = world.call(Method::PATCH, &old_path, &world.admin, Some(json!({"version": 1, "workflow_status": "in_progress"}))).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
        assert!(refused["error"]["message"].as_str().unwrap().contains("version 0"), "{refused}");
        let (status, opened) = world.call(Method::PATCH, &old_path, &world.admin, Some(json!({"version": 1, "status": "open"}))).await;
        assert_eq!(status, StatusCode::OK, "{opened}");
        assert_eq!((opened["workflow_status"].as_str(), opened["workflow_version"].as_i64()), (Some("open"), Some(0)));

        // Queues filter by workflow status.
        let queue = async |key: &str| {
            let path = format!("/tickets?project_id={}&workflow_status={key}", world.project);
            world.call(Method::GET, &path, &world.admin, None).await
        };
        let (status, closed) = queue("closed").await;
        assert_eq!(status, StatusCode::OK, "{closed}");
        let ids: Vec<&str> = closed["items"].as_array().unwrap().iter().map(|t| t["id"].as_str().unwrap()).collect();
        assert_eq!(ids, [ticket["id"].as_str().unwrap()]);
        let (_, open) = queue("open").await;
        assert_eq!(open["items"][0]["id"], old["id"], "{open}");
        assert_eq!(open["items"].as_array().unwrap().len(), 1, "{open}");
        let (status, refused) = queue("Awaiting%20reading").await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
        assert_eq!(refused["error"]["details"]["field"], "workflow_status");

        // Each version stays readable for the tickets that follow it.
        let (status, zero) = world.call(Method::GET, &format!("{path}?version=0"), &world.admin, None).await;
        assert_eq!((status, zero["initial"].as_str()), (StatusCode::OK, Some("new")));
        let (status, one) = world.call(Method::GET, &format!("{path}?version=1"), &world.admin, None).await;
        assert_eq!((status, one["initial"].as_str()), (StatusCode::OK, Some("received")));
        let (status, _) = world.call(Method::GET, &format!("{path}?version=9"), &world.admin, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        for query in ["version=-1", "version=one", "draft=1"] {
            let (status, error) = world.call(Method::GET, &format!("{path}?{query}"), &world.admin, None).await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{query}: {error}");
        }

        // The history speaks the project's words; the events carry both.
        let (_, history) = world.call(Method::GET, &format!("{ticket_path}/history"), &world.admin, None).await;
        let moves: Vec<(&str, &str)> = history
            .as_array()
            .unwrap()
            .iter()
            .filter(|entry| entry["field"] == "status")
            .map(|entry| (entry["old_value"].as_str().unwrap(), entry["new_value"].as_str().unwrap()))
            .collect();
        assert_eq!(moves, [
            ("received", "in_progress"),
            ("in_progress", "awaiting_reading"),
            ("awaiting_reading", "in_progress"),
            ("in_progress", "technician_sent"),
            ("technician_sent", "done"),
            ("done", "closed"),
        ]);
        let id = ticket["id"].as_str().unwrap();
        let events: Vec<Value> = world
            .outbox_events()
            .await
            .iter()
            .map(|event| serde_json::to_value(event).unwrap())
            .filter(|event| event["data"]["ticket_id"] == id)
            .collect();
        let summary: Vec<String> = events
            .iter()
            .map(|e| format!("{} {}>{} {}>{}", e["type"].as_str().unwrap(), e["data"]["from"].as_str().unwrap_or("-"), e["data"]["to"].as_str().unwrap_or("-"), e["data"]["from_workflow_status"].as_str().unwrap_or("-"), e["data"]["to_workflow_status"].as_str().unwrap_or("-")))
            .collect();
        assert_eq!(summary, [
            "ticket.created ->- ->-",
            "ticket.status_changed new>open received>in_progress",
            "ticket.status_changed open>pending in_progress>awaiting_reading",
            "ticket.status_changed pending>open awaiting_reading>in_progress",
            "ticket.status_changed open>open in_progress>technician_sent",
            "ticket.status_changed open>solved technician_sent>done",
            "ticket.closed ->- ->-",
        ]);
        assert!(events.iter().filter(|e| e["type"] == "ticket.status_changed").all(|e| e["schema_version"] == 3));
    })
    .await;
}

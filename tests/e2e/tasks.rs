//! Tasks on tickets and the time spent working them, on PostgreSQL and SQLite.

use reqwest::{Method, StatusCode};
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use tenet::admin;
use tenet_events::Role;

use crate::tickets::{World, on_both};

#[tokio::test]
async fn operators_create_assign_and_close_tasks_on_a_ticket() {
    on_both(async |world: World| {
        let ticket = world.ticket("Boiler broken", "voice").await;
        let tasks = format!("/tickets/{ticket}/tasks");
        let (status, task) = world
            .call(Method::POST, &tasks, &world.admin, Some(json!({"title": "  Call back on Monday ", "assignee_id": world.operator_id, "due_at": "2026-11-30T09:00:00Z"})))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{task}");
        assert_eq!(task["title"], "Call back on Monday");
        assert_eq!(task["assignee_id"], world.operator_id.as_str());
        assert_eq!(task["due_at"], "2026-11-30T09:00:00Z");
        assert_eq!(task["done_at"], Value::Null);
        assert_eq!(task["version"], 1);
        let id = task["id"].as_str().unwrap().to_owned();

        for (body, field) in [
            (json!({"title": "   "}), "title"),
            (json!({"title": "x", "assignee_id": "00000000-0000-0000-0000-000000000001"}), "assignee_id"),
            (json!({"title": "x", "due_at": "Monday"}), "due_at"),
        ] {
            let (status, refused) = world.call(Method::POST, &tasks, &world.admin, Some(body.clone())).await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {refused}");
            assert_eq!(refused["error"]["details"]["field"], field, "{body}: {refused}");
        }

        let task_path = format!("{tasks}/{id}");
        let (status, done) = world.call(Method::PATCH, &task_path, &world.admin, Some(json!({"version": 1, "done": true}))).await;
        assert_eq!(status, StatusCode::OK, "{done}");
        assert!(done["done_at"].is_string());
        assert_eq!(done["version"], 2);
        let (status, stale) = world.call(Method::PATCH, &task_path, &world.admin, Some(json!({"version": 1, "done": false}))).await;
        assert_eq!(status, StatusCode::CONFLICT, "{stale}");
        let (status, nothing) = world.call(Method::PATCH, &task_path, &world.admin, Some(json!({"version": 2, "done": true}))).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{nothing}");
        let (status, reopened) = world
            .call(Method::PATCH, &task_path, &world.admin, Some(json!({"version": 2, "done": false, "assignee_id": null, "title": "Call back Tuesday"})))
            .await;
        assert_eq!(status, StatusCode::OK, "{reopened}");
        assert_eq!(reopened["done_at"], Value::Null);
        assert_eq!(reopened["assignee_id"], Value::Null);
        assert_eq!(reopened["title"], "Call back Tuesday");
        assert_eq!(reopened["version"], 3);

        let (status, malformed) = world.call(Method::PATCH, &format!("{tasks}/nope"), &world.admin, Some(json!({"version": 3}))).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(malformed["error"]["details"]["field"], "task_id");
        let (status, _) = world
            .call(Method::PATCH, &format!("{tasks}/00000000-0000-0000-0000-000000000000"), &world.admin, Some(json!({"version": 1, "done": true})))
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND);

        let (status, listed) = world.call(Method::GET, &tasks, &world.admin, None).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(listed, json!([reopened]));

        let history = world.call(Method::GET, &format!("/tickets/{ticket}/history"), &world.admin, None).await.1;
        let task_lines: Vec<&str> = history
            .as_array()
            .unwrap()
            .iter()
            .filter(|entry| entry["field"] == "task")
            .map(|entry| entry["new_value"].as_str().unwrap())
            .collect();
        assert_eq!(task_lines[0], "created: Call back on Monday");
        assert!(task_lines.contains(&"done: Call back on Monday"), "{task_lines:?}");
        assert!(task_lines.contains(&"reopened: Call back Tuesday"), "{task_lines:?}");
        world.app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn time_spent_on_a_ticket_is_logged_and_summed() {
    on_both(async |world: World| {
        let ticket = world.ticket("Meter reading", "email").await;
        let time = format!("/tickets/{ticket}/time-entries");
        let (status, first) = world
            .call(
                Method::POST,
                &time,
                &world.admin,
                Some(json!({"minutes": 25, "note": "Called the customer"})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{first}");
        assert_eq!(first["minutes"], 25);
        assert_eq!(first["author"]["kind"], "api_token");
        let (status, earlier) = world
            .call(
                Method::POST,
                &time,
                &world.admin,
                Some(json!({"minutes": 35, "worked_at": "2026-11-20T10:00:00Z"})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{earlier}");

        for (body, field) in [
            (json!({"minutes": 0}), "minutes"),
            (json!({"minutes": 1441}), "minutes"),
            (
                json!({"minutes": 10, "worked_at": "2999-01-01T00:00:00Z"}),
                "worked_at",
            ),
            (json!({"minutes": "ten"}), "minutes"),
        ] {
            let (status, refused) = world
                .call(Method::POST, &time, &world.admin, Some(body.clone()))
                .await;
            assert_eq!(
                status,
                StatusCode::UNPROCESSABLE_ENTITY,
                "{body}: {refused}"
            );
            assert_eq!(
                refused["error"]["details"]["field"], field,
                "{body}: {refused}"
            );
        }

        let (status, spent) = world.call(Method::GET, &time, &world.admin, None).await;
        assert_eq!(status, StatusCode::OK, "{spent}");
        assert_eq!(spent["total_minutes"], 60);
        assert_eq!(
            spent["entries"][0], earlier,
            "ordered by when the work was done"
        );
        assert_eq!(spent["entries"][1], first);

        let tenant = world.tenant.parse().unwrap();
        let customer = admin::create_token(&world.app.database, tenant, Role::Customer, None, "")
            .await
            .unwrap()
            .secret
            .expose_secret()
            .to_owned();
        let (status, _) = world.call(Method::GET, &time, &customer, None).await;
        assert_eq!(
            status,
            StatusCode::FORBIDDEN,
            "time records are the operators' work"
        );
        let other = admin::create_tenant(&world.app.database, "Globex")
            .await
            .unwrap();
        let outsider = admin::create_token(&world.app.database, other.id, Role::Admin, None, "")
            .await
            .unwrap()
            .secret
            .expose_secret()
            .to_owned();
        for path in [time.clone(), format!("/tickets/{ticket}/tasks")] {
            let (status, _) = world.call(Method::GET, &path, &outsider, None).await;
            assert_eq!(
                status,
                StatusCode::NOT_FOUND,
                "{path} is invisible to another tenant"
            );
            let (status, _) = world
                .call(
                    Method::POST,
                    &path,
                    &outsider,
                    Some(json!({"minutes": 5, "title": "x"})),
                )
                .await;
            assert!(
                status == StatusCode::NOT_FOUND || status == StatusCode::UNPROCESSABLE_ENTITY,
                "{path}: {status}"
            );
        }
        let (status, _) = world
            .call(Method::POST, &time, &outsider, Some(json!({"minutes": 5})))
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        world.app.stop().await;
    })
    .await;
}

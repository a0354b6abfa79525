//! Notification rules on PostgreSQL and SQLite: who hears of what happens to a project's
//! tickets, written with the change itself, and each user's inbox.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tenet_events::Role;

use crate::tickets::{Session, World, on_both};

async fn inbox(world: &World, session: &Session, query: &str) -> Vec<(String, String)> {
    let (status, page) = world
        .as_session(
            session,
            Method::GET,
            &format!("/me/notifications{query}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            (
                n["trigger"].as_str().unwrap().to_owned(),
                n["message"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn triggers(notices: &[(String, String)]) -> Vec<&str> {
    notices
        .iter()
        .map(|(trigger, _)| trigger.as_str())
        .collect()
}

#[tokio::test]
async fn rules_notify_the_right_people_of_what_they_may_see() {
    on_both(async |world: World| {
        // Arrange: a manager, a client user and an outsider besides the operator Anna.
        let project = format!("/projects/{}", world.project);
        let mut members = Vec::new();
        for (email, role) in [("maria@acme.test", "project_manager"), ("carl@client.test", "customer")] {
            let id = world.user(email, role).await;
            let (status, _) = world.call(Method::POST, &format!("{project}/members"), &world.admin, Some(json!({"user_id": id}))).await;
            assert_eq!(status, StatusCode::NO_CONTENT);
            members.push(id);
        }
        world.user("olga@acme.test", "operator").await;
        let rules = format!("{project}/notification-rules");

        // Flawed rules are refused, naming the field.
        for (body, field) in [
            (json!({"name": "x", "on": "assigned", "recipients": ["client_users"]}), "recipients"),
            (json!({"name": "x", "on": "commented", "recipients": ["client_users"]}), "recipients"),
            (json!({"name": "x", "on": "ticket_created", "statuses": ["open"], "recipients": ["assignee"]}), "statuses"),
            (json!({"name": "x", "on": "status_changed", "statuses": ["limbo"], "recipients": ["assignee"]}), "statuses.0"),
            (json!({"name": "x", "on": "ticket_created", "users": [uuid::Uuid::now_v7()]}), "users.0"),
            (json!({"name": "x", "on": "ticket_created"}), "recipients"),
            (json!({"name": " ", "on": "ticket_created", "recipients": ["assignee"]}), "name"),
        ] {
            let (status, error) = world.call(Method::POST, &rules, &world.admin, Some(body)).await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{field}: {error}");
            assert_eq!(error["error"]["details"]["field"], field, "{error}");
        }
        let operator = world.role_token(Role::Operator).await;
        let (status, _) = world.call(Method::GET, &rules, &operator, None).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let intruder = world.intruder(Role::Admin).await;
        let (status, _) = world.call(Method::GET, &rules, &intruder, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "another tenant's project");

        let mut ids = Vec::new();
        for body in [
            json!({"name": "New request", "on": "ticket_created", "recipients": ["project_managers", "client_users"]}),
            json!({"name": "Yours", "on": "assigned", "recipients": ["assignee"]}),
            json!({"name": "Discussion", "on": "commented", "recipients": ["project_members"]}),
            json!({"name": "Solved", "on": "status_changed", "statuses": ["solved"], "recipients": ["client_users"]}),
            json!({"name": "Urgent", "on": "ticket_created", "priorities": ["urgent"], "users": [members[0]]}),
        ] {
            let (status, rule) = world.call(Method::POST, &rules, &world.admin, Some(body)).await;
            assert_eq!(status, StatusCode::CREATED, "{rule}");
            ids.push(rule["id"].as_str().unwrap().to_owned());
        }
        let anna = world.session("anna@acme.test").await;
        let maria = world.session("maria@acme.test").await;
        let carl = world.session("carl@client.test").await;
        let olga = world.session("olga@acme.test").await;

        // Act: the admin opens a ticket for Anna; Anna comments inside; the admin solves it.
        let (status, ticket) = world
            .call(Method::POST, "/tickets", &world.admin, Some(json!({"project_id": world.project, "subject": "No heating", "channel": "voice", "assignee_id": world.operator_id})))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{ticket}");
        let id = ticket["id"].as_str().unwrap();
        let (status, _) = world.as_session(&anna, Method::POST, &format!("/tickets/{id}/comments"), Some(json!({"body": "Boiler pressure is low"}))).await;
        assert_eq!(status, StatusCode::CREATED);
        let (status, solved) = world.call(Method::PATCH, &format!("/tickets/{id}"), &world.admin, Some(json!({"version": 1, "status": "solved"}))).await;
        assert_eq!(status, StatusCode::OK, "{solved}");

        // Assert: each hears of what concerns them, never of their own doing.
        let anna_notices = inbox(&world, &anna, "").await;
        assert_eq!(triggers(&anna_notices), ["assigned"]);
        assert_eq!(anna_notices[0].1, "Yours: ticket “No heating” was assigned");
        assert_eq!(triggers(&inbox(&world, &maria, "").await), ["commented", "ticket_created"]);
        let carl_notices = inbox(&world, &carl, "").await;
        assert_eq!(triggers(&carl_notices), ["status_changed", "ticket_created"], "no internal comment, no assignment");
        assert_eq!(carl_notices[0].1, "Solved: ticket “No heating” moved to solved");
        assert!(inbox(&world, &olga, "").await.is_empty(), "not a member");

        // The inbox pages, filters unread, and marks read.
        let (_, page) = world.as_session(&maria, Method::GET, "/me/notifications?limit=1", None).await;
        assert_eq!(page["items"].as_array().unwrap().len(), 1);
        let cursor = page["next_cursor"].as_str().unwrap();
        let (_, older) = world.as_session(&maria, Method::GET, &format!("/me/notifications?limit=1&cursor={cursor}"), None).await;
        assert_eq!(older["items"][0]["trigger"], "ticket_created");
        assert_eq!(older["next_cursor"], Value::Null);
        let first = page["items"][0]["id"].as_str().unwrap();
        let (status, _) = world.as_session(&carl, Method::POST, &format!("/me/notifications/{first}/read"), None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "another user's notification");
        for _ in 0..2 {
            let (status, _) = world.as_session(&maria, Method::POST, &format!("/me/notifications/{first}/read"), None).await;
            assert_eq!(status, StatusCode::NO_CONTENT);
        }
        assert_eq!(triggers(&inbox(&world, &maria, "?unread=true").await), ["ticket_created"]);
        let (status, error) = world.as_session(&maria, Method::GET, "/me/notifications?unread=maybe", None).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{error}");
        let (status, _) = world
            .call(Method::PATCH, &format!("{rules}/{}", ids[0]), &intruder, Some(json!({"version": 1, "active": false})))
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "another tenant's rule");
        let (status, _) = world.call(Method::GET, "/me/notifications", &world.admin, None).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "an API token has no inbox");

        // Priority filters, and retired rules are silent.
        let (status, retired) = world
            .call(Method::PATCH, &format!("{rules}/{}", ids[0]), &world.admin, Some(json!({"version": 1, "active": false})))
            .await;
        assert_eq!(status, StatusCode::OK, "{retired}");
        let (status, _) = world
            .call(Method::POST, "/tickets", &world.admin, Some(json!({"project_id": world.project, "subject": "Gas smell", "channel": "voice", "priority": "urgent"})))
            .await;
        assert_eq!(status, StatusCode::CREATED);
        let maria_notices = inbox(&world, &maria, "").await;
        assert_eq!(triggers(&maria_notices), ["ticket_created", "commented", "ticket_created"]);
        assert_eq!(maria_notices[0].1, "Urgent: new ticket “Gas smell”");
        assert_eq!(triggers(&inbox(&world, &carl, "").await), ["status_changed", "ticket_created"]);
    })
    .await;
}

//! Notification rules on PostgreSQL and SQLite: who hears of what happens to a project's
//! tickets, written with the change itself, and each user's inbox.

use chrono::{DateTime, Duration, Utc};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tenet_events::Role;
use tenet_ops_api::breaches::{self, Swept};

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

#[tokio::test]
async fn each_sla_breach_is_announced_once_to_whom_the_rules_name() {
    on_both(async |world: World| {
        // Arrange: a manager; urgent tickets owe a reply in 15 minutes and a solution in 60.
        let project = format!("/projects/{}", world.project);
        let maria_id = world.user("maria@acme.test", "project_manager").await;
        let (status, _) = world.call(Method::POST, &format!("{project}/members"), &world.admin, Some(json!({"user_id": maria_id}))).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        let policy = json!({
            "version": 0, "time_zone": "Europe/Moscow", "always_open": true,
            "targets": {"urgent": {"first_response_min": 15, "resolution_min": 60}},
        });
        let (status, body) = world.call(Method::PUT, &format!("{project}/sla"), &world.admin, Some(policy)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let rules = format!("{project}/notification-rules");
        for (body, field) in [
            (json!({"name": "x", "on": "sla_breached", "recipients": ["client_users"]}), "recipients"),
            (json!({"name": "x", "on": "ticket_created", "clocks": ["resolution"], "recipients": ["assignee"]}), "clocks"),
        ] {
            let (status, error) = world.call(Method::POST, &rules, &world.admin, Some(body)).await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{field}: {error}");
            assert_eq!(error["error"]["details"]["field"], field, "{error}");
        }
        for body in [
            json!({"name": "Late reply", "on": "sla_breached", "clocks": ["first_response"], "recipients": ["project_managers"]}),
            json!({"name": "Overdue", "on": "sla_breached", "recipients": ["assignee", "project_managers"]}),
        ] {
            let (status, rule) = world.call(Method::POST, &rules, &world.admin, Some(body)).await;
            assert_eq!(status, StatusCode::CREATED, "{rule}");
        }
        let mut tickets = Vec::new();
        for (subject, assignee) in [("Gas smell", Some(&world.operator_id)), ("No power", None), ("Meter reading", None)] {
            let (status, ticket) = world
                .call(Method::POST, "/tickets", &world.admin, Some(json!({"project_id": world.project, "subject": subject, "channel": "voice", "priority": "urgent", "assignee_id": assignee})))
                .await;
            assert_eq!(status, StatusCode::CREATED, "{ticket}");
            tickets.push(ticket);
        }
        let created = DateTime::parse_from_rfc3339(tickets[0]["created_at"].as_str().unwrap()).unwrap().with_timezone(&Utc);
        // "No power" gets its reply in time; "Meter reading" is solved in time.
        let no_power = tickets[1]["id"].as_str().unwrap();
        let (status, _) = world.call(Method::POST, &format!("/tickets/{no_power}/comments"), &world.admin, Some(json!({"body": "A crew is on its way", "public": true}))).await;
        assert_eq!(status, StatusCode::CREATED);
        let meter = tickets[2]["id"].as_str().unwrap();
        let (status, body) = world.call(Method::PATCH, &format!("/tickets/{meter}"), &world.admin, Some(json!({"version": 1, "status": "solved"}))).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let sweep = async |minutes: i64| {
            breaches::sweep(&world.app.database, created + Duration::minutes(minutes) + Duration::seconds(30), 100)
                .await
                .unwrap()
        };

        // Act and assert: nothing is due yet.
        assert_eq!(sweep(5).await, Swept::default());
        // "Gas smell" misses its reply: Maria hears of it once although both rules name her,
        // and Anna as its assignee.
        assert_eq!(sweep(15).await, Swept { breaches: 1, notifications: 2 });
        assert_eq!(sweep(16).await, Swept::default(), "announced once");
        // Both open tickets miss their solution; nobody is assigned "No power".
        assert_eq!(sweep(60).await, Swept { breaches: 2, notifications: 3 });
        assert_eq!(sweep(600).await, Swept::default());

        let maria = world.session("maria@acme.test").await;
        let anna = world.session("anna@acme.test").await;
        let maria_notices = inbox(&world, &maria, "").await;
        assert_eq!(triggers(&maria_notices), ["sla_breached"; 3]);
        let mut messages: Vec<&str> = maria_notices.iter().map(|(_, message)| message.as_str()).collect();
        messages.sort_unstable();
        assert_eq!(
            messages,
            [
                "Late reply: ticket “Gas smell” is past its first-response target",
                "Overdue: ticket “Gas smell” is past its resolution target",
                "Overdue: ticket “No power” is past its resolution target",
            ]
        );
        let anna_notices = inbox(&world, &anna, "").await;
        assert_eq!(
            anna_notices.iter().map(|(_, message)| message.as_str()).collect::<Vec<_>>(),
            [
                "Overdue: ticket “Gas smell” is past its resolution target",
                "Overdue: ticket “Gas smell” is past its first-response target",
            ]
        );
    })
    .await;
}

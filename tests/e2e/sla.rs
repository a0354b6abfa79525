//! Service-level agreements on PostgreSQL and SQLite: a project's versioned policy, the due
//! times each ticket gets from it, the clocks its first reply and resolution stop, and breach
//! flags.

use chrono::{DateTime, Duration, Utc};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tenet_events::Role;

use crate::tickets::{World, on_both};

fn at(value: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(
        value
            .as_str()
            .unwrap_or_else(|| panic!("{value} is no time")),
    )
    .unwrap()
    .with_timezone(&Utc)
}

fn policy(version: i64, normal_first_response: u32) -> Value {
    json!({
        "version": version,
        "time_zone": "Europe/Moscow",
        "always_open": true,
        "holidays": ["2026-12-31"],
        "targets": {
            "normal": {"first_response_min": normal_first_response, "resolution_min": 480},
            "urgent": {"first_response_min": 15, "resolution_min": 240},
        },
    })
}

impl World {
    async fn create_ticket(&self, priority: &str) -> Value {
        let (status, ticket) = self
            .call(
                Method::POST,
                "/tickets",
                &self.admin,
                Some(json!({"project_id": self.project, "subject": "Heating", "channel": "email", "priority": priority})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{ticket}");
        ticket
    }
}

#[tokio::test]
async fn tickets_are_measured_by_the_policy_they_were_created_under() {
    on_both(async |world: World| {
        let before = world.create_ticket("normal").await;
        assert_eq!(before["sla"], Value::Null, "no policy yet");
        let sla = format!("/projects/{}/sla", world.project);
        let (status, _) = world.call(Method::GET, &sla, &world.admin, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND);

        let (status, first) = world
            .call(Method::PUT, &sla, &world.admin, Some(policy(0, 60)))
            .await;
        assert_eq!(status, StatusCode::OK, "{first}");
        assert_eq!(first["version"], 1);
        let (status, stale) = world
            .call(Method::PUT, &sla, &world.admin, Some(policy(0, 60)))
            .await;
        assert_eq!(status, StatusCode::CONFLICT, "{stale}");
        let (_, read) = world.call(Method::GET, &sla, &world.admin, None).await;
        assert_eq!(
            read["targets"]["urgent"],
            json!({"first_response_min": 15, "resolution_min": 240})
        );
        assert_eq!(read["holidays"], json!(["2026-12-31"]));

        // A new ticket's clocks start at creation.
        let ticket = world.create_ticket("normal").await;
        let created = at(&ticket["created_at"]);
        assert_eq!(ticket["sla"]["policy_version"], 1);
        assert_eq!(
            at(&ticket["sla"]["first_response"]["due_at"]),
            created + Duration::minutes(60)
        );
        assert_eq!(
            at(&ticket["sla"]["resolution"]["due_at"]),
            created + Duration::minutes(480)
        );
        assert_eq!(ticket["sla"]["first_response"]["breached"], false);
        let id = ticket["id"].as_str().unwrap();
        let path = format!("/tickets/{id}");

        // Raising the priority brings the due times forward, from creation.
        let (status, urgent) = world
            .call(
                Method::PATCH,
                &path,
                &world.admin,
                Some(json!({"version": 1, "priority": "urgent"})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{urgent}");
        assert_eq!(
            at(&urgent["sla"]["first_response"]["due_at"]),
            created + Duration::minutes(15)
        );
        assert_eq!(
            at(&urgent["sla"]["resolution"]["due_at"]),
            created + Duration::minutes(240)
        );

        // An internal note is no reply; a public one is, and stops the first-response clock.
        let comments = format!("{path}/comments");
        world
            .call(
                Method::POST,
                &comments,
                &world.admin,
                Some(json!({"body": "checking the boiler log"})),
            )
            .await;
        let (_, read) = world.call(Method::GET, &path, &world.admin, None).await;
        assert_eq!(read["sla"]["first_response"]["achieved_at"], Value::Null);
        world
            .call(
                Method::POST,
                &comments,
                &world.admin,
                Some(json!({"body": "An engineer is on the way", "public": true})),
            )
            .await;
        let (_, read) = world.call(Method::GET, &path, &world.admin, None).await;
        let answered = at(&read["sla"]["first_response"]["achieved_at"]);
        assert!(answered >= created && answered < created + Duration::minutes(15));
        assert_eq!(read["sla"]["first_response"]["breached"], false);

        // Solving stops the resolution clock; reopening starts it again.
        let (_, solved) = world
            .call(
                Method::PATCH,
                &path,
                &world.admin,
                Some(json!({"version": 2, "status": "solved"})),
            )
            .await;
        assert!(
            solved["sla"]["resolution"]["achieved_at"].is_string(),
            "{solved}"
        );
        let (_, reopened) = world
            .call(
                Method::PATCH,
                &path,
                &world.admin,
                Some(json!({"version": 3, "status": "open"})),
            )
            .await;
        assert_eq!(
            reopened["sla"]["resolution"]["achieved_at"],
            Value::Null,
            "{reopened}"
        );
        assert_eq!(reopened["sla"]["resolution"]["breached"], false);

        // A new version applies to new tickets only.
        let (status, second) = world
            .call(Method::PUT, &sla, &world.admin, Some(policy(1, 5)))
            .await;
        assert_eq!(status, StatusCode::OK, "{second}");
        assert_eq!(second["version"], 2);
        let newer = world.create_ticket("normal").await;
        assert_eq!(newer["sla"]["policy_version"], 2);
        assert_eq!(
            at(&newer["sla"]["first_response"]["due_at"]),
            at(&newer["created_at"]) + Duration::minutes(5)
        );
        let (_, older) = world.call(Method::GET, &path, &world.admin, None).await;
        assert_eq!(older["sla"]["policy_version"], 1);
        assert_eq!(
            older["sla"]["resolution"]["due_at"],
            reopened["sla"]["resolution"]["due_at"]
        );
        // Priority changes of the older ticket still follow its own version.
        let (_, lowered) = world
            .call(
                Method::PATCH,
                &path,
                &world.admin,
                Some(json!({"version": 4, "priority": "normal"})),
            )
            .await;
        assert_eq!(
            at(&lowered["sla"]["first_response"]["due_at"]),
            created + Duration::minutes(60)
        );

        // Time passes: an unanswered ticket past its due time is breached.
        let newer_id: uuid::Uuid = newer["id"].as_str().unwrap().parse().unwrap();
        let past = Utc::now() - Duration::hours(1);
        tenet_ops_api::on_backend!(&world.app.database, |pool| {
            sqlx::query("update tickets set first_response_due_at = $1 where id = $2")
                .bind(past)
                .bind(newer_id)
                .execute(pool)
                .await
                .unwrap();
        });
        let (_, overdue) = world
            .call(
                Method::GET,
                &format!("/tickets/{newer_id}"),
                &world.admin,
                None,
            )
            .await;
        assert_eq!(
            overdue["sla"]["first_response"]["breached"], true,
            "{overdue}"
        );
        assert_eq!(overdue["sla"]["resolution"]["breached"], false);
        let (_, listed) = world
            .call(Method::GET, "/tickets", &world.admin, None)
            .await;
        let listed = listed["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["id"] == newer["id"])
            .unwrap()
            .clone();
        assert_eq!(listed["sla"]["first_response"]["breached"], true);
        world.app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn bad_policies_are_refused_naming_the_field_and_only_managers_set_them() {
    on_both(async |world: World| {
        let sla = format!("/projects/{}/sla", world.project);
        let mut hours = policy(0, 60);
        hours["always_open"] = json!(false);
        hours["business_hours"] = json!({"mon": [{"from": "09:00", "to": "18:00"}]});
        let mut cases = Vec::new();
        for (path, value, field) in [
            ("time_zone", json!("Mars/Olympus"), "time_zone"),
            (
                "targets",
                json!({"urgent": {"first_response_min": 0}}),
                "targets.urgent.first_response_min",
            ),
            (
                "business_hours",
                json!({"mon": [{"from": "18:00", "to": "09:00"}]}),
                "business_hours.mon[0].to",
            ),
            (
                "business_hours",
                json!({"sun": [{"from": "9", "to": "18:00"}]}),
                "business_hours.sun[0].from",
            ),
            ("holidays", json!(["31.12.2026"]), "holidays[0]"),
        ] {
            let mut body = hours.clone();
            body[path] = value;
            cases.push((body, field));
        }
        let mut both = policy(0, 60);
        both["business_hours"] = json!({"mon": [{"from": "09:00", "to": "18:00"}]});
        cases.push((both, "business_hours"));
        let mut closed = hours.clone();
        closed["business_hours"] = json!({});
        cases.push((closed, "business_hours"));
        for (body, field) in cases {
            let (status, refused) = world
                .call(Method::PUT, &sla, &world.admin, Some(body.clone()))
                .await;
            assert_eq!(
                status,
                StatusCode::UNPROCESSABLE_ENTITY,
                "{body}: {refused}"
            );
            let named = refused["error"]["details"]["field"]
                .as_str()
                .unwrap_or_default();
            assert!(named.starts_with(field), "{body}: {refused}");
        }
        let (status, weekly) = world
            .call(Method::PUT, &sla, &world.admin, Some(hours))
            .await;
        assert_eq!(status, StatusCode::OK, "{weekly}");

        for role in [Role::Operator, Role::Customer, Role::Executor] {
            let token = world.role_token(role).await;
            let (status, _) = world
                .call(Method::PUT, &sla, &token, Some(policy(1, 60)))
                .await;
            assert!(
                status == StatusCode::FORBIDDEN || status == StatusCode::NOT_FOUND,
                "{role}: {status}"
            );
        }
        let intruder = world.intruder(Role::Admin).await;
        for method in [Method::GET, Method::PUT] {
            let body = (method == Method::PUT).then(|| policy(1, 60));
            let (status, _) = world.call(method.clone(), &sla, &intruder, body).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{method}");
        }
        let (_, unchanged) = world.call(Method::GET, &sla, &world.admin, None).await;
        assert_eq!(unchanged["version"], 1);
        world.app.stop().await;
    })
    .await;
}

//! Redaction of a ticket's history and comments on PostgreSQL and SQLite: the values go, the
//! trail stays, and the audit log says who redacted what and why.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tenet_events::Role;

use crate::tickets::{World, on_both};

#[tokio::test]
async fn managers_redact_history_values_and_comment_text_leaving_an_audit_entry() {
    on_both(async |world: World| {
        let ticket = world.ticket("Card payment failed", "email").await;
        let (status, _) = world
            .call(
                Method::PATCH,
                &format!("/tickets/{ticket}"),
                &world.admin,
                Some(json!({"version": 1, "status": "open"})),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        let (status, comment) = world
            .call(
                Method::POST,
                &format!("/tickets/{ticket}/comments"),
                &world.admin,
                Some(json!({"body": "Card 4276 1234 5678 9012, exp 11/28", "public": true})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{comment}");
        let comment_id = comment["id"].as_str().unwrap();
        assert_eq!(comment["redacted_at"], Value::Null);
        let (_, history) = world
            .call(
                Method::GET,
                &format!("/tickets/{ticket}/history"),
                &world.admin,
                None,
            )
            .await;
        let entry = history
            .as_array()
            .unwrap()
            .iter()
            .find(|entry| entry["field"] == "status")
            .unwrap()
            .clone();
        let entry_id = entry["id"].as_str().unwrap();
        assert_eq!(entry["new_value"], "open");

        let redact_entry = format!("/tickets/{ticket}/history/{entry_id}/redact");
        let redact_comment = format!("/tickets/{ticket}/comments/{comment_id}/redact");
        for token_role in [Role::Operator, Role::Executor, Role::Customer, Role::QaLead] {
            let token = world.role_token(token_role).await;
            let (status, _) = world
                .call(
                    Method::POST,
                    &redact_comment,
                    &token,
                    Some(json!({"reason": "card number"})),
                )
                .await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{token_role}");
        }
        let (status, refused) = world
            .call(
                Method::POST,
                &redact_comment,
                &world.admin,
                Some(json!({"reason": "  "})),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
        assert_eq!(refused["error"]["details"]["field"], "reason");

        let (status, body) = world
            .call(
                Method::POST,
                &redact_comment,
                &world.admin,
                Some(json!({"reason": "card number in a comment"})),
            )
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
        let (status, body) = world
            .call(
                Method::POST,
                &redact_entry,
                &world.admin,
                Some(json!({"reason": "entered by mistake"})),
            )
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
        let (status, again) = world
            .call(
                Method::POST,
                &redact_comment,
                &world.admin,
                Some(json!({"reason": "again"})),
            )
            .await;
        assert_eq!(status, StatusCode::CONFLICT, "{again}");
        let (status, missing) = world
            .call(
                Method::POST,
                &format!("/tickets/{ticket}/history/00000000-0000-0000-0000-000000000000/redact"),
                &world.admin,
                Some(json!({"reason": "x"})),
            )
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{missing}");
        let other = world.ticket("Another", "voice").await;
        let (status, _) = world
            .call(
                Method::POST,
                &format!("/tickets/{other}/comments/{comment_id}/redact"),
                &world.admin,
                Some(json!({"reason": "x"})),
            )
            .await;
        assert_eq!(
            status,
            StatusCode::NOT_FOUND,
            "a comment is redacted through its own ticket only"
        );

        let (_, comments) = world
            .call(
                Method::GET,
                &format!("/tickets/{ticket}/comments"),
                &world.admin,
                None,
            )
            .await;
        assert_eq!(comments[0]["body"], "");
        assert_eq!(comments[0]["redaction_reason"], "card number in a comment");
        assert!(comments[0]["redacted_at"].is_string());
        let (_, history) = world
            .call(
                Method::GET,
                &format!("/tickets/{ticket}/history"),
                &world.admin,
                None,
            )
            .await;
        let redacted = history
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["id"] == entry_id)
            .unwrap();
        assert_eq!(
            redacted["field"], "status",
            "what changed, who and when stay"
        );
        assert_eq!(
            (&redacted["old_value"], &redacted["new_value"]),
            (&Value::Null, &Value::Null)
        );
        assert_eq!(redacted["at"], entry["at"]);
        assert_eq!(redacted["actor"], entry["actor"]);
        assert_eq!(redacted["redaction_reason"], "entered by mistake");

        for (subject, reason) in [
            (comment_id, "card number in a comment"),
            (entry_id, "entered by mistake"),
        ] {
            let (_, audit) = world
                .call(
                    Method::GET,
                    &format!("/audit?subject_id={subject}"),
                    &world.admin,
                    None,
                )
                .await;
            let items = audit["items"].as_array().unwrap();
            assert_eq!(items.len(), 1, "{audit}");
            assert_eq!(items[0]["action"], "redact");
            assert_eq!(items[0]["detail"], reason);
        }

        let intruder = world.intruder(Role::Admin).await;
        let (status, _) = world
            .call(
                Method::POST,
                &format!("/tickets/{other}/history/{entry_id}/redact"),
                &intruder,
                Some(json!({"reason": "x"})),
            )
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        world.app.stop().await;
    })
    .await;
}

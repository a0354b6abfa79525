//! What a project shows its client company, on PostgreSQL and SQLite: hidden fields, the
//! assignee, SLA clocks, history and statistics, each as the project decides.

use reqwest::{Method, StatusCode};
use serde_json::json;
use tenet_events::identity::Principal;
use tenet_events::{Actor, Role, TenantId};
use tenet_ops_api::rbac::Action;

use crate::tickets::{World, on_both};

#[tokio::test]
async fn clients_see_what_their_project_shows_them() {
    on_both(async |world: World| {
        // Globex's user is a client of the hotline project.
        let client_id = world.user("buyer@globex.test", "customer").await;
        let members = format!("/projects/{}/members", world.project);
        let (status, _) = world.call(Method::POST, &members, &world.admin, Some(json!({"user_id": client_id}))).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        let session = world.session("buyer@globex.test").await;

        let fields = format!("/projects/{}/fields", world.project);
        for key in ["account", "internal_note"] {
            let (status, _) = world.call(Method::POST, &fields, &world.admin, Some(json!({"key": key, "label": key, "kind": "text"}))).await;
            assert_eq!(status, StatusCode::CREATED);
        }
        let (status, ticket) = world
            .call(
                Method::POST,
                "/tickets",
                &world.admin,
                Some(json!({"project_id": world.project, "subject": "Invoice twice", "channel": "email",
                            "assignee_id": world.operator_id,
                            "fields": {"account": "GX-1", "internal_note": "client disputes every invoice"}})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{ticket}");
        let path = format!("/tickets/{}", ticket["id"].as_str().unwrap());

        // Until the project decides, clients see everything but internal comments.
        let view = format!("/projects/{}/client-view", world.project);
        let (status, open) = world.as_session(&session, Method::GET, &view, None).await;
        assert_eq!(status, StatusCode::OK, "{open}");
        assert_eq!((open["version"].as_i64(), open["history"].as_bool()), (Some(0), Some(true)));
        let (_, seen) = world.as_session(&session, Method::GET, &path, None).await;
        assert_eq!(seen["fields"]["internal_note"], "client disputes every invoice", "{seen}");
        assert_eq!(seen["assignee_id"], world.operator_id.as_str());

        let closed = json!({"version": 0, "hidden_fields": ["internal_note"], "assignee": false, "sla": false, "history": false, "statistics": false});
        let (status, set) = world.call(Method::PUT, &view, &world.admin, Some(closed.clone())).await;
        assert_eq!(status, StatusCode::OK, "{set}");
        assert_eq!(set["version"], 1);
        let (status, _) = world.call(Method::PUT, &view, &world.admin, Some(closed.clone())).await;
        assert_eq!(status, StatusCode::CONFLICT, "a change based on an old version");
        let mut bad = closed.clone();
        bad["version"] = 1.into();
        bad["hidden_fields"] = json!(["account", "Internal Note"]);
        let (status, refused) = world.call(Method::PUT, &view, &world.admin, Some(bad)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
        assert_eq!(refused["error"]["details"]["field"], "hidden_fields[1]");
        let (status, _) = world.as_session(&session, Method::PUT, &view, Some(json!({"version": 1, "hidden_fields": [], "assignee": true, "sla": true, "history": true, "statistics": true}))).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "clients do not decide what they see");

        // The client now sees the ticket without the internal field, the assignee or the clocks.
        let (status, seen) = world.as_session(&session, Method::GET, &path, None).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(seen["fields"], json!({"account": "GX-1"}), "{seen}");
        assert!(seen["assignee_id"].is_null() && seen["sla"].is_null(), "{seen}");
        let (_, page) = world.as_session(&session, Method::GET, &format!("/tickets?project_id={}", world.project), None).await;
        let listed = &page["items"].as_array().unwrap()[0];
        assert_eq!(listed["fields"], json!({"account": "GX-1"}), "{page}");
        assert!(listed["assignee_id"].is_null());
        let (status, _) = world.as_session(&session, Method::GET, &format!("{path}/history"), None).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, created) = world.as_session(&session, Method::POST, "/tickets", Some(json!({"project_id": world.project, "subject": "Second invoice", "channel": "web_form"}))).await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        assert!(created["sla"].is_null() && created["assignee_id"].is_null(), "{created}");

        // The center's own staff still see everything.
        let (_, full) = world.call(Method::GET, &path, &world.admin, None).await;
        assert_eq!(full["fields"]["internal_note"], "client disputes every invoice");
        assert_eq!(full["assignee_id"], world.operator_id.as_str());
        let (status, _) = world.call(Method::GET, &format!("{path}/history"), &world.admin, None).await;
        assert_eq!(status, StatusCode::OK);

        // Statistics: the project drops out of the client's report scope, not the staff's.
        let tenant: TenantId = world.tenant.parse().unwrap();
        let client = Actor { tenant_id: tenant, role: Role::Customer, principal: Principal::User(client_id.parse().unwrap()) };
        let scope = tenet::reports::scope_of(&world.app.database, &client, Action::ReportRead).await.unwrap();
        assert_eq!(scope.project_ids().map(|ids| ids.len()), Some(0), "{scope:?}");
        let mut reopened = closed;
        reopened["version"] = 1.into();
        reopened["statistics"] = true.into();
        reopened["history"] = true.into();
        let (status, _) = world.call(Method::PUT, &view, &world.admin, Some(reopened)).await;
        assert_eq!(status, StatusCode::OK);
        let scope = tenet::reports::scope_of(&world.app.database, &client, Action::ReportRead).await.unwrap();
        assert!(scope.project_ids().is_some_and(|ids| ids.contains(&world.project)), "{scope:?}");

        // With history shown, what the client may not see stays out of it.
        let (status, _) = world
            .call(Method::PATCH, &path, &world.admin, Some(json!({"version": 1, "fields": {"account": "GX-2", "internal_note": "escalate"}, "assignee_id": null})))
            .await;
        assert_eq!(status, StatusCode::OK);
        for (name, public) in [("notes.txt", false), ("invoice.pdf", true)] {
            let response = world
                .client
                .post(format!("{}/api/v1{path}/attachments?filename={name}&public={public}", world.app.base))
                .bearer_auth(&world.admin)
                .header("content-type", "application/octet-stream")
                .body("contents")
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), StatusCode::CREATED);
        }
        let (status, history) = world.as_session(&session, Method::GET, &format!("{path}/history"), None).await;
        assert_eq!(status, StatusCode::OK, "{history}");
        let shown: Vec<String> = history
            .as_array()
            .unwrap()
            .iter()
            .map(|e| format!("{} {}", e["field"].as_str().unwrap(), e["new_value"].as_str().unwrap_or("-")))
            .collect();
        assert_eq!(shown, ["created Invoice twice", "fields account: \"GX-2\"", "attachment invoice.pdf"]);
        let (_, full) = world.call(Method::GET, &format!("{path}/history"), &world.admin, None).await;
        assert_eq!(full.as_array().unwrap().len(), 6, "{full}");

        let intruder = world.intruder(Role::Admin).await;
        let (status, _) = world.call(Method::GET, &view, &intruder, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    })
    .await;
}

//! Customers 360 on PostgreSQL and SQLite: one customer across phone numbers, e-mails and
//! messenger ids, found by any of them; their tickets as the caller may see them; merge and
//! split; flags and history; the audit log of who read whose personal data; isolation.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tenet_events::Role;
use tenet_events::tickets::TicketEvent;
use tenet_events::{Envelope, Event};

use crate::tickets::{PASSWORD, World, on_both};

impl World {
    /// Creates a customer as the admin and returns it.
    async fn customer(&self, body: Value) -> Value {
        let (status, customer) = self
            .call(Method::POST, "/customers", &self.admin, Some(body))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{customer}");
        customer
    }

    /// Creates a ticket of `customer` in `project` as the admin and returns its id.
    async fn ticket_of(&self, customer: &str, project: &str, subject: &str) -> String {
        let (status, ticket) = self
            .call(
                Method::POST,
                "/tickets",
                &self.admin,
                Some(json!({"project_id": project, "subject": subject, "channel": "voice", "customer_id": customer})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{ticket}");
        assert_eq!(ticket["customer_id"], customer);
        ticket["id"].as_str().unwrap().to_owned()
    }

    /// GET `path` with the session cookie of the operator, a member of the world's project.
    async fn as_operator(&self, path: &str) -> (StatusCode, Value) {
        let response = self.login("anna@acme.test", PASSWORD).await;
        assert_eq!(response.status(), StatusCode::OK);
        let cookie = response.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .to_owned();
        let session = cookie.split(';').next().unwrap().to_owned();
        let response = self
            .client
            .get(format!("{}/api/v1{path}", self.app.base))
            .header("cookie", session)
            .send()
            .await
            .unwrap();
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }
}

fn ids(page: &Value) -> Vec<&str> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["id"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn a_caller_is_found_by_any_identity_and_seen_whole() {
    on_both(async |world: World| {
        let anna = world
            .customer(json!({
                "display_name": "  Анна Петрова ",
                "identities": [
                    {"kind": "phone", "value": "+7 (999) 123-45-67"},
                    {"kind": "email", "value": "Anna.Petrova@Example.RU"},
                    {"kind": "telegram", "value": "@AnnaP"},
                ],
                "vip": true,
                "preferences": {"preferred_channel": "messenger", "language": "ru", "contact_hours": "after 18:00", "campaigns_consent": true},
                "lifetime_value": {"amount_minor": 1_250_000, "currency": "RUB"},
            }))
            .await;
        assert_eq!(anna["display_name"], "Анна Петрова");
        assert_eq!(anna["version"], 1);
        assert_eq!(anna["merged_into"], Value::Null);
        let values: Vec<&str> = anna["identities"]
            .as_array()
            .unwrap()
            .iter()
            .map(|identity| identity["value"].as_str().unwrap())
            .collect();
        assert_eq!(values, ["+79991234567", "anna.petrova@example.ru", "annap"]);
        let id = anna["id"].as_str().unwrap();
        let boris = world
            .customer(json!({"display_name": "Boris", "identities": [{"kind": "phone", "value": "+7 999 765 43 21"}]}))
            .await;

        // An incoming call's number in any common spelling finds the customer.
        for query in [
            "identity_kind=phone&identity=%2B79991234567",
            "identity_kind=phone&identity=%2B7%20999%20123-45-67",
            "identity_kind=email&identity=ANNA.PETROVA%40example.ru",
            "identity_kind=telegram&identity=annap",
            "name=%D0%B0%D0%BD%D0%BD%D0%B0", // "анна": case-insensitive, Cyrillic too
            "vip=true",
        ] {
            let (status, page) = world
                .call(Method::GET, &format!("/customers?{query}"), &world.admin, None)
                .await;
            assert_eq!(status, StatusCode::OK, "{query}: {page}");
            assert_eq!(ids(&page), [id], "{query}");
        }
        let (_, nobody) = world
            .call(Method::GET, "/customers?identity_kind=phone&identity=%2B10000000000", &world.admin, None)
            .await;
        assert_eq!(nobody["items"], json!([]));
        let (_, first) = world.call(Method::GET, "/customers?limit=1", &world.admin, None).await;
        assert_eq!(ids(&first), [id]);
        let cursor = first["next_cursor"].as_str().unwrap();
        let (_, second) = world
            .call(Method::GET, &format!("/customers?limit=1&cursor={cursor}"), &world.admin, None)
            .await;
        assert_eq!(ids(&second), [boris["id"].as_str().unwrap()]);
        assert_eq!(second["next_cursor"], Value::Null);

        // Tickets carry the customer, in the row and in the event.
        let first_ticket = world.ticket_of(id, &world.project, "No hot water").await;
        let second_ticket = world.ticket_of(id, &world.project, "Meter reading").await;
        let (status, project) = world
            .call(Method::POST, "/projects", &world.admin, Some(json!({"key": "GAS", "name": "Gas"})))
            .await;
        assert_eq!(status, StatusCode::CREATED);
        let elsewhere = world.ticket_of(id, project["id"].as_str().unwrap(), "Gas smell").await;
        let created: Vec<Envelope> = world.outbox_events().await;
        let customer_of = |ticket: &str| {
            created.iter().find_map(|envelope| match &envelope.event {
                Event::Tickets(TicketEvent::Created(event)) if event.ticket_id.to_string() == ticket => {
                    Some(event.customer_id.as_ref().map(ToString::to_string))
                }
                _ => None,
            })
        };
        assert_eq!(customer_of(&first_ticket), Some(Some(id.to_owned())));
        let (_, solved) = world
            .call(Method::PATCH, &format!("/tickets/{first_ticket}"), &world.admin, Some(json!({"version": 1, "status": "solved"})))
            .await;
        assert_eq!(solved["status"], "solved");
        // A ticket opened before the caller was identified is linked afterwards.
        let unknown = world.ticket("Caller did not say", "voice").await;
        let (status, linked) = world
            .call(Method::PATCH, &format!("/tickets/{unknown}"), &world.admin, Some(json!({"version": 1, "customer_id": boris["id"]})))
            .await;
        assert_eq!(status, StatusCode::OK, "{linked}");
        assert_eq!(linked["customer_id"], boris["id"]);
        let (status, refused) = world
            .call(Method::PATCH, &format!("/tickets/{unknown}"), &world.admin, Some(json!({"version": 2, "customer_id": "00000000-0000-0000-0000-000000000000"})))
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
        assert_eq!(refused["error"]["details"]["field"], "customer_id");
        let (status, unlinked) = world
            .call(Method::PATCH, &format!("/tickets/{unknown}"), &world.admin, Some(json!({"version": 2, "customer_id": null})))
            .await;
        assert_eq!(status, StatusCode::OK, "{unlinked}");
        assert_eq!(unlinked["customer_id"], Value::Null);
        let (_, listed) = world
            .call(Method::GET, &format!("/tickets?customer_id={id}"), &world.admin, None)
            .await;
        assert_eq!(ids(&listed), [first_ticket.as_str(), &second_ticket, &elsewhere]);

        // The 360: the admin sees every ticket, newest first; the operator only their project's.
        let (status, whole) = world.call(Method::GET, &format!("/customers/{id}"), &world.admin, None).await;
        assert_eq!(status, StatusCode::OK, "{whole}");
        assert_eq!(whole["tickets"]["total"], 3);
        assert_eq!(whole["tickets"]["open"], 2);
        let recent: Vec<&str> = whole["tickets"]["recent"].as_array().unwrap().iter().map(|t| t["id"].as_str().unwrap()).collect();
        assert_eq!(recent, [elsewhere.as_str(), &second_ticket, &first_ticket]);
        assert_eq!(whole["tickets"]["last_contact_at"], whole["tickets"]["recent"][0]["created_at"]);
        assert_eq!(whole["tickets"]["first_contact_at"], whole["tickets"]["recent"][2]["created_at"]);
        assert_eq!(whole["preferences"]["language"], "ru");
        assert_eq!(whole["lifetime_value"], json!({"amount_minor": 1_250_000, "currency": "RUB"}));
        let (status, seen_by_operator) = world.as_operator(&format!("/customers/{id}")).await;
        assert_eq!(status, StatusCode::OK, "{seen_by_operator}");
        assert_eq!(seen_by_operator["tickets"]["total"], 2, "not the other project's ticket");
        assert_eq!(seen_by_operator["identities"].as_array().unwrap().len(), 3);

        // Each read of personal data is in the audit log, which only admins read.
        let (status, audit) = world
            .call(Method::GET, &format!("/audit?subject_id={id}&limit=500"), &world.admin, None)
            .await;
        assert_eq!(status, StatusCode::OK, "{audit}");
        let entries = audit["items"].as_array().unwrap();
        let searches = entries.iter().filter(|entry| entry["detail"] == "search").count();
        assert_eq!(searches, 7, "six lookups and the first page: {audit}");
        let reads: Vec<&Value> = entries.iter().filter(|entry| entry["detail"] == "read").collect();
        assert_eq!(reads.len(), 2);
        assert_eq!(reads[1]["actor"], json!({"kind": "user", "id": world.operator_id}), "{audit}");
        assert!(entries.iter().all(|entry| entry["subject_id"] == id && entry["action"] == "read"));
        let operator = world.role_token(Role::Operator).await;
        let (status, _) = world.call(Method::GET, "/audit", &operator, None).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        for role in [Role::Executor, Role::Customer, Role::Hr, Role::QaEvaluator] {
            let token = world.role_token(role).await;
            let (status, _) = world.call(Method::GET, &format!("/customers/{id}"), &token, None).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{role}");
        }
        world.app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn bad_customer_input_is_answered_with_the_field_at_fault() {
    on_both(async |world: World| {
        let anna = world
            .customer(json!({"display_name": "Anna", "identities": [{"kind": "phone", "value": "+79991234567"}]}))
            .await;
        let id = anna["id"].as_str().unwrap();
        for (body, status, field) in [
            (json!({"display_name": "Anna 2", "identities": [{"kind": "phone", "value": "+7 999 123 45 67"}]}), StatusCode::CONFLICT, "identities[0].value"),
            (json!({"display_name": "Twice", "identities": [{"kind": "email", "value": "a@b.ru"}, {"kind": "email", "value": "A@B.ru"}]}), StatusCode::UNPROCESSABLE_ENTITY, "identities[1].value"),
            (json!({"display_name": "Local", "identities": [{"kind": "phone", "value": "8 999 123-45-67"}]}), StatusCode::UNPROCESSABLE_ENTITY, "identities[0].value"),
            (json!({"display_name": "Mail", "identities": [{"kind": "email", "value": "not-an-address"}]}), StatusCode::UNPROCESSABLE_ENTITY, "identities[0].value"),
            (json!({"display_name": "Fax", "identities": [{"kind": "fax", "value": "1"}]}), StatusCode::UNPROCESSABLE_ENTITY, "identities[0]"),
            (json!({"display_name": "Row", "identities": [["phone", "+79990000000"]]}), StatusCode::UNPROCESSABLE_ENTITY, "identities[0]"),
            (json!({"display_name": "Row", "preferences": [null, null, null, false]}), StatusCode::UNPROCESSABLE_ENTITY, "preferences"),
            (json!({"display_name": "   "}), StatusCode::UNPROCESSABLE_ENTITY, "display_name"),
            (json!({"display_name": "Lang", "preferences": {"language": "english please"}}), StatusCode::UNPROCESSABLE_ENTITY, "preferences.language"),
            (json!({"display_name": "Money", "lifetime_value": {"amount_minor": 5, "currency": "rub"}}), StatusCode::UNPROCESSABLE_ENTITY, "lifetime_value.currency"),
            (json!({"display_name": "Debt", "lifetime_value": {"amount_minor": -5, "currency": "RUB"}}), StatusCode::UNPROCESSABLE_ENTITY, "lifetime_value.amount_minor"),
            (json!({"display_name": "Extra", "age": 40}), StatusCode::UNPROCESSABLE_ENTITY, "age"),
        ] {
            let (answered, refused) = world.call(Method::POST, "/customers", &world.admin, Some(body.clone())).await;
            assert_eq!(answered, status, "{body}: {refused}");
            // An unknown field is named in the message (serde names no path for it).
            let named = refused["error"]["details"]["field"].as_str().map(str::to_owned)
                .unwrap_or_else(|| refused["error"]["message"].as_str().unwrap().to_owned());
            assert!(named == field || (field == "age" && named.contains("`age`")), "{body}: {refused}");
        }
        for (query, field) in [
            ("identity_kind=phone", "identity"),
            ("identity=%2B79991234567", "identity_kind"),
            ("identity_kind=fax&identity=1", "identity_kind"),
            ("identity_kind=phone&identity=123", "identity"),
            ("vip=yes", "vip"),
            ("limit=0", "limit"),
            ("cursor=nope", "cursor"),
            ("sort=name", "sort"),
        ] {
            let (status, refused) = world.call(Method::GET, &format!("/customers?{query}"), &world.admin, None).await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{query}: {refused}");
            assert_eq!(refused["error"]["details"]["field"], field, "{query}");
        }
        let (status, refused) = world
            .call(Method::POST, "/tickets", &world.admin, Some(json!({"project_id": world.project, "subject": "x", "channel": "voice", "customer_id": "00000000-0000-0000-0000-000000000000"})))
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
        assert_eq!(refused["error"]["details"]["field"], "customer_id");

        // Profile changes name the version they are based on.
        let path = format!("/customers/{id}");
        let (status, changed) = world
            .call(Method::PATCH, &path, &world.admin, Some(json!({"version": 1, "vip": true, "lifetime_value": {"amount_minor": 100, "currency": "EUR"}})))
            .await;
        assert_eq!(status, StatusCode::OK, "{changed}");
        assert_eq!(changed["version"], 2);
        assert_eq!(changed["vip"], true);
        let (status, stale) = world.call(Method::PATCH, &path, &world.admin, Some(json!({"version": 1, "vip": false}))).await;
        assert_eq!(status, StatusCode::CONFLICT, "{stale}");
        let (status, nothing) = world.call(Method::PATCH, &path, &world.admin, Some(json!({"version": 2, "vip": true}))).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{nothing}");
        let (status, cleared) = world.call(Method::PATCH, &path, &world.admin, Some(json!({"version": 2, "lifetime_value": null}))).await;
        assert_eq!(status, StatusCode::OK, "{cleared}");
        assert_eq!(cleared["lifetime_value"], Value::Null);
        let (status, missing) = world
            .call(Method::GET, "/customers/00000000-0000-0000-0000-000000000000", &world.admin, None)
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{missing}");
        let (status, malformed) = world.call(Method::GET, "/customers/nope", &world.admin, None).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(malformed["error"]["details"]["field"], "id");
        let (status, malformed) = world
            .call(Method::DELETE, &format!("{path}/identities/nope"), &world.admin, None)
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(malformed["error"]["details"]["field"], "identity_id");
        world.app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn duplicates_merge_into_one_customer_and_wrong_joins_split_apart() {
    on_both(async |world: World| {
        let kept = world
            .customer(json!({"display_name": "Anna Petrova", "identities": [{"kind": "phone", "value": "+79991234567"}], "preferences": {"language": "ru"}, "lifetime_value": {"amount_minor": 1000, "currency": "RUB"}}))
            .await;
        let duplicate = world
            .customer(json!({"display_name": "A. Petrova", "vip": true, "identities": [{"kind": "email", "value": "anna@example.ru"}, {"kind": "phone", "value": "+79990000001"}], "preferences": {"contact_hours": "evenings"}, "lifetime_value": {"amount_minor": 500, "currency": "RUB"}}))
            .await;
        let (kept_id, duplicate_id) = (kept["id"].as_str().unwrap(), duplicate["id"].as_str().unwrap());
        let kept_ticket = world.ticket_of(kept_id, &world.project, "Bill").await;
        let moved_ticket = world.ticket_of(duplicate_id, &world.project, "Callback").await;
        let (status, flag) = world
            .call(Method::POST, &format!("/customers/{duplicate_id}/flags"), &world.admin, Some(json!({"kind": "broken_commitment", "note": "Promised a call-back on Friday"})))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{flag}");

        let merge = format!("/customers/{kept_id}/merge");
        let (status, stale) = world.call(Method::POST, &merge, &world.admin, Some(json!({"version": 7, "duplicate_id": duplicate_id}))).await;
        assert_eq!(status, StatusCode::CONFLICT, "{stale}");
        let (status, itself) = world.call(Method::POST, &merge, &world.admin, Some(json!({"version": 1, "duplicate_id": kept_id}))).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{itself}");
        assert_eq!(itself["error"]["details"]["field"], "duplicate_id");
        let (status, merged) = world.call(Method::POST, &merge, &world.admin, Some(json!({"version": 1, "duplicate_id": duplicate_id}))).await;
        assert_eq!(status, StatusCode::OK, "{merged}");
        assert_eq!(merged["version"], 2);
        assert_eq!(merged["vip"], true);
        assert_eq!(merged["lifetime_value"], json!({"amount_minor": 1500, "currency": "RUB"}));
        assert_eq!(merged["preferences"], json!({"language": "ru", "contact_hours": "evenings", "campaigns_consent": false}));
        assert_eq!(merged["identities"].as_array().unwrap().len(), 3);

        let (_, whole) = world.call(Method::GET, &format!("/customers/{kept_id}"), &world.admin, None).await;
        assert_eq!(whole["tickets"]["total"], 2);
        assert_eq!(whole["flags"][0]["kind"], "broken_commitment");
        let (_, found) = world.call(Method::GET, "/customers?identity_kind=email&identity=anna%40example.ru", &world.admin, None).await;
        assert_eq!(ids(&found), [kept_id]);
        let (_, tombstone) = world.call(Method::GET, &format!("/customers/{duplicate_id}"), &world.admin, None).await;
        assert_eq!(tombstone["merged_into"], kept_id);
        assert_eq!(tombstone["identities"], json!([]));
        let (_, history) = world.call(Method::GET, &format!("/tickets/{moved_ticket}/history"), &world.admin, None).await;
        let moved = history.as_array().unwrap().iter().find(|entry| entry["field"] == "customer_id").expect("the move is in the ticket's history");
        assert_eq!((moved["old_value"].as_str(), moved["new_value"].as_str()), (Some(duplicate_id), Some(kept_id)));
        let (status, again) = world.call(Method::POST, &merge, &world.admin, Some(json!({"version": 2, "duplicate_id": duplicate_id}))).await;
        assert_eq!(status, StatusCode::CONFLICT, "a merged customer merges no more: {again}");
        let (status, refused) = world
            .call(Method::POST, "/tickets", &world.admin, Some(json!({"project_id": world.project, "subject": "x", "channel": "voice", "customer_id": duplicate_id})))
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
        assert!(refused["error"]["message"].as_str().unwrap().contains(kept_id), "{refused}");

        let euro = world
            .customer(json!({"display_name": "Euro", "lifetime_value": {"amount_minor": 9, "currency": "EUR"}}))
            .await;
        let (status, refused) = world.call(Method::POST, &merge, &world.admin, Some(json!({"version": 2, "duplicate_id": euro["id"]}))).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");

        // The second phone was the husband's: split it off with his ticket.
        let husband_phone = merged["identities"].as_array().unwrap().iter().find(|i| i["value"] == "+79990000001").unwrap()["id"].clone();
        let split = format!("/customers/{kept_id}/split");
        let (status, refused) = world
            .call(Method::POST, &split, &world.admin, Some(json!({"version": 2, "display name": "x"})))
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
        let (status, refused) = world
            .call(Method::POST, &split, &world.admin, Some(json!({"version": 2, "display_name": "Ivan Petrov", "identity_ids": [husband_phone], "ticket_ids": [kept_ticket, euro["id"]]})))
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
        assert_eq!(refused["error"]["details"]["field"], "ticket_ids[1]");
        let (status, ivan) = world
            .call(Method::POST, &split, &world.admin, Some(json!({"version": 2, "display_name": "Ivan Petrov", "identity_ids": [husband_phone], "ticket_ids": [moved_ticket]})))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{ivan}");
        let ivan_id = ivan["id"].as_str().unwrap();
        assert_eq!(ivan["identities"][0]["value"], "+79990000001");
        let (_, found) = world.call(Method::GET, "/customers?identity_kind=phone&identity=%2B79990000001", &world.admin, None).await;
        assert_eq!(ids(&found), [ivan_id]);
        let (_, ticket) = world.call(Method::GET, &format!("/tickets/{moved_ticket}"), &world.admin, None).await;
        assert_eq!(ticket["customer_id"], ivan_id);
        let (_, whole) = world.call(Method::GET, &format!("/customers/{kept_id}"), &world.admin, None).await;
        assert_eq!(whole["version"], 3);
        assert_eq!(whole["tickets"]["total"], 1);
        assert_eq!(whole["identities"].as_array().unwrap().len(), 2);

        let (_, history) = world.call(Method::GET, &format!("/customers/{kept_id}/history"), &world.admin, None).await;
        let changes: Vec<&str> = history.as_array().unwrap().iter().map(|entry| entry["change"].as_str().unwrap()).collect();
        assert_eq!(changes, ["created", "merged", "split"]);
        world.app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn flags_identities_and_history_of_a_customer() {
    on_both(async |world: World| {
        let anna = world.customer(json!({"display_name": "Anna"})).await;
        let id = anna["id"].as_str().unwrap();
        let identities = format!("/customers/{id}/identities");
        let (status, phone) = world
            .call(
                Method::POST,
                &identities,
                &world.admin,
                Some(json!({"kind": "phone", "value": "+44 20 7946 0958"})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{phone}");
        assert_eq!(phone["value"], "+442079460958");
        let other = world.customer(json!({"display_name": "Other"})).await;
        let (status, taken) = world
            .call(
                Method::POST,
                &format!("/customers/{}/identities", other["id"].as_str().unwrap()),
                &world.admin,
                Some(json!({"kind": "phone", "value": "+442079460958"})),
            )
            .await;
        assert_eq!(status, StatusCode::CONFLICT, "{taken}");
        assert_eq!(taken["error"]["details"]["field"], "value");
        assert!(taken["error"]["message"].as_str().unwrap().contains(id));
        let phone_id = phone["id"].as_str().unwrap();
        let (status, _) = world
            .call(
                Method::DELETE,
                &format!("{identities}/{phone_id}"),
                &world.admin,
                None,
            )
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        let (status, gone) = world
            .call(
                Method::DELETE,
                &format!("{identities}/{phone_id}"),
                &world.admin,
                None,
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{gone}");

        let (status, flag) = world
            .call(
                Method::POST,
                &format!("/customers/{id}/flags"),
                &world.admin,
                Some(json!({"kind": "conflict", "note": "Shouted at the operator"})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{flag}");
        assert_eq!(flag["raised_by"]["kind"], "api_token");
        assert_eq!(flag["resolved_at"], Value::Null);
        let flag_path = format!("/customers/{id}/flags/{}", flag["id"].as_str().unwrap());
        let (status, refused) = world
            .call(
                Method::PATCH,
                &flag_path,
                &world.admin,
                Some(json!({"version": 1, "resolution": " "})),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
        let (status, resolved) = world
            .call(
                Method::PATCH,
                &flag_path,
                &world.admin,
                Some(json!({"version": 1, "resolution": "Apologised; bill corrected"})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{resolved}");
        assert_eq!(resolved["version"], 2);
        assert!(resolved["resolved_at"].is_string());
        let (status, again) = world
            .call(
                Method::PATCH,
                &flag_path,
                &world.admin,
                Some(json!({"version": 2, "resolution": "again"})),
            )
            .await;
        assert_eq!(status, StatusCode::CONFLICT, "{again}");
        let (status, bad_kind) = world
            .call(
                Method::POST,
                &format!("/customers/{id}/flags"),
                &world.admin,
                Some(json!({"kind": "rude", "note": "x"})),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad_kind}");
        assert_eq!(bad_kind["error"]["details"]["field"], "kind");

        let (_, history) = world
            .call(
                Method::GET,
                &format!("/customers/{id}/history"),
                &world.admin,
                None,
            )
            .await;
        let changes: Vec<(&str, &str)> = history
            .as_array()
            .unwrap()
            .iter()
            .map(|entry| {
                (
                    entry["change"].as_str().unwrap(),
                    entry["detail"].as_str().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            changes,
            [
                ("created", "Anna"),
                ("identity_added", "phone +442079460958"),
                ("identity_removed", "phone +442079460958"),
                ("flag_raised", "conflict"),
                ("flag_resolved", "conflict"),
            ]
        );

        // Each change enqueued its event in the same transaction; refused ones enqueued none.
        let other_id = other["id"].as_str().unwrap();
        let events: Vec<(String, String, Option<String>)> = world
            .outbox_events()
            .await
            .into_iter()
            .filter_map(|envelope| match &envelope.event {
                Event::Customers(event) => {
                    let columns = event.clone().into_columns();
                    Some((
                        envelope.event.event_type().as_str().to_owned(),
                        columns.customer_id,
                        columns.identity_kind.or(columns.flag_kind),
                    ))
                }
                _ => None,
            })
            .collect();
        let expected = [
            ("customer.created", id, None),
            ("customer.identity_added", id, Some("phone")),
            ("customer.created", other_id, None),
            ("customer.identity_removed", id, Some("phone")),
            ("customer.flagged", id, Some("conflict")),
            ("customer.flag_resolved", id, Some("conflict")),
        ];
        assert_eq!(
            events,
            expected.map(|(kind, customer, detail)| (
                kind.to_owned(),
                customer.to_owned(),
                detail.map(str::to_owned)
            ))
        );
        world.app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn another_tenant_cannot_find_read_or_change_a_tenants_customers() {
    on_both(async |world: World| {
        let anna = world
            .customer(json!({"display_name": "Anna", "identities": [{"kind": "phone", "value": "+79991234567"}]}))
            .await;
        let id = anna["id"].as_str().unwrap();
        let identity = anna["identities"][0]["id"].as_str().unwrap();
        let ticket = world.ticket_of(id, &world.project, "Private").await;
        let (_, flag) = world
            .call(Method::POST, &format!("/customers/{id}/flags"), &world.admin, Some(json!({"kind": "conflict", "note": "x"})))
            .await;
        let flag = flag["id"].as_str().unwrap();
        let intruder = world.intruder(Role::Admin).await;
        let (status, theirs) = world
            .call(Method::POST, "/customers", &intruder, Some(json!({"display_name": "Globex Anna", "identities": [{"kind": "phone", "value": "+79991234567"}]})))
            .await;
        assert_eq!(status, StatusCode::CREATED, "the same number may be a customer of each tenant: {theirs}");
        let theirs = theirs["id"].as_str().unwrap();

        for (method, path, body) in [
            (Method::GET, format!("/customers/{id}"), None),
            (Method::PATCH, format!("/customers/{id}"), Some(json!({"version": 1, "vip": true}))),
            (Method::GET, format!("/customers/{id}/history"), None),
            (Method::POST, format!("/customers/{id}/identities"), Some(json!({"kind": "email", "value": "x@y.ru"}))),
            (Method::DELETE, format!("/customers/{id}/identities/{identity}"), None),
            (Method::POST, format!("/customers/{id}/flags"), Some(json!({"kind": "conflict", "note": "x"}))),
            (Method::PATCH, format!("/customers/{id}/flags/{flag}"), Some(json!({"version": 1, "resolution": "x"}))),
            (Method::POST, format!("/customers/{id}/merge"), Some(json!({"version": 1, "duplicate_id": theirs}))),
            (Method::POST, format!("/customers/{id}/split"), Some(json!({"version": 1, "display_name": "x", "identity_ids": [identity]}))),
        ] {
            let (status, body) = world.call(method.clone(), &path, &intruder, body).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{method} {path}: {body}");
        }
        for (path, body) in [
            (format!("/customers/{theirs}/merge"), json!({"version": 1, "duplicate_id": id})),
            (format!("/customers/{theirs}/split"), json!({"version": 1, "display_name": "x", "ticket_ids": [ticket]})),
            ("/tickets".to_owned(), json!({"project_id": world.project, "subject": "x", "channel": "voice", "customer_id": id})),
        ] {
            let (status, body) = world.call(Method::POST, &path, &intruder, Some(body)).await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{path}: {body}");
        }
        for query in ["identity_kind=phone&identity=%2B79991234567", "name=anna", ""] {
            let (_, page) = world.call(Method::GET, &format!("/customers?{query}"), &intruder, None).await;
            assert_eq!(ids(&page), [theirs], "{query}");
        }
        let (_, tickets) = world.call(Method::GET, &format!("/tickets?customer_id={id}"), &intruder, None).await;
        assert_eq!(tickets["items"], json!([]));
        let (_, audit) = world.call(Method::GET, &format!("/audit?subject_id={id}"), &intruder, None).await;
        assert_eq!(audit["items"], json!([]));

        // Nothing of the tenant's changed.
        let (_, unchanged) = world.call(Method::GET, &format!("/customers/{id}"), &world.admin, None).await;
        assert_eq!(unchanged["version"], 1);
        assert_eq!(unchanged["identities"].as_array().unwrap().len(), 1);
        assert_eq!(unchanged["flags"][0]["resolved_at"], Value::Null);
        assert_eq!(unchanged["tickets"]["total"], 1);
        world.app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_customers_calls_come_from_the_lake_merged_duplicates_included() {
    let data = tempfile::tempdir().unwrap();
    let world = World::new(
        crate::harness::RunningApp::start(
            crate::harness::settings(None, data.path()),
            tenet::app::Mode::Embedded,
        )
        .await,
    )
    .await;
    let anna = world.customer(json!({"display_name": "Anna"})).await;
    let duplicate = world.customer(json!({"display_name": "A. Petrova"})).await;
    let boris = world.customer(json!({"display_name": "Boris"})).await;
    let tenant = world.tenant.as_str();
    let event = |kind: &str, at: &str, data: Value| json!({"event_id": uuid::Uuid::now_v7(), "tenant_id": tenant, "occurred_at": at, "type": kind, "schema_version": 1, "data": data});
    let offered = |call: &str, at: &str, customer: &Value| {
        event(
            "call.offered",
            at,
            json!({"call_id": call, "queue_id": "billing", "ivr_path": [], "customer_id": customer["id"]}),
        )
    };
    let events = json!([
        offered("c-1", "2026-11-20T09:00:00Z", &anna),
        event(
            "call.answered",
            "2026-11-20T09:00:30Z",
            json!({"call_id": "c-1", "queue_id": "billing", "agent_id": "1001", "wait_seconds": 30})
        ),
        event(
            "call.ended",
            "2026-11-20T09:04:30Z",
            json!({"call_id": "c-1", "outcome": "answered", "queue_id": "billing", "agent_id": "1001", "wait_seconds": 30, "talk_seconds": 240, "hold_seconds": 0, "after_call_work_seconds": 20})
        ),
        offered("c-2", "2026-11-21T10:00:00Z", &duplicate),
        event(
            "call.ended",
            "2026-11-21T10:01:10Z",
            json!({"call_id": "c-2", "outcome": "abandoned", "queue_id": "billing", "wait_seconds": 70, "talk_seconds": 0, "hold_seconds": 0, "after_call_work_seconds": 0})
        ),
        offered("c-3", "2026-11-22T11:00:00Z", &boris),
    ]);
    let response = world
        .client
        .post(format!("{}/api/v1/events", world.app.base))
        .bearer_auth(&world.admin)
        .json(&events)
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        StatusCode::ACCEPTED,
        "{}",
        response.text().await.unwrap()
    );
    let (status, merged) = world
        .call(
            Method::POST,
            &format!("/customers/{}/merge", anna["id"].as_str().unwrap()),
            &world.admin,
            Some(json!({"version": 1, "duplicate_id": duplicate["id"]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{merged}");

    let path = format!("/customers/{}/calls", anna["id"].as_str().unwrap());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(90);
    let calls = loop {
        let (status, calls) = world.call(Method::GET, &path, &world.admin, None).await;
        assert_eq!(status, StatusCode::OK, "{calls}");
        if calls
            .as_array()
            .is_some_and(|calls| calls.len() == 2 && calls[1]["outcome"] == "answered")
        {
            break calls;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the calls did not land: {calls}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    };
    assert_eq!(
        calls[0]["call_id"], "c-2",
        "newest first, the merged duplicate's included"
    );
    assert_eq!(calls[0]["outcome"], "abandoned");
    assert_eq!(calls[0]["agent_id"], Value::Null);
    assert_eq!(calls[1]["call_id"], "c-1");
    assert_eq!(calls[1]["agent_id"], "1001");
    assert_eq!(calls[1]["wait_seconds"], 30);
    assert_eq!(calls[1]["talk_seconds"], 240);
    assert_eq!(calls[1]["offered_at"], "2026-11-20T09:00:00Z");

    let intruder = world.intruder(Role::Admin).await;
    let (status, _) = world.call(Method::GET, &path, &intruder, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let executor = world.role_token(Role::Executor).await;
    let (status, _) = world.call(Method::GET, &path, &executor, None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    world.app.stop().await;
}

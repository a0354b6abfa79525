//! HR records on PostgreSQL and SQLite: departments, positions, employees, contracts,
//! absences with approval, and personal data only HR and the person see, every read audited.

use reqwest::{Method, StatusCode};
use serde_json::json;
use tenet_events::Role;

use crate::tickets::{World, on_both};

#[tokio::test]
async fn hr_keeps_employees_contracts_and_absences_and_guards_personal_data() {
    on_both(async |world: World| {
        let hr = world.role_token(Role::Hr).await;
        let (status, support) = world.call(Method::POST, "/hr/departments", &hr, Some(json!({"name": "Support"}))).await;
        assert_eq!(status, StatusCode::CREATED, "{support}");
        let (status, taken) = world.call(Method::POST, "/hr/departments", &hr, Some(json!({"name": "Support"}))).await;
        assert_eq!(status, StatusCode::CONFLICT, "{taken}");
        assert_eq!(taken["error"]["details"]["field"], "name");
        let (_, position) = world.call(Method::POST, "/hr/positions", &hr, Some(json!({"name": "Senior operator"}))).await;

        let new_anna = json!({
            "full_name": "Anna Petrova", "user_id": world.operator_id, "department_id": support["id"],
            "position_id": position["id"], "badge_id": "B-1001", "hired_on": "2025-03-01",
        });
        let (status, anna) = world.call(Method::POST, "/hr/employees", &hr, Some(new_anna)).await;
        assert_eq!(status, StatusCode::CREATED, "{anna}");
        let id = anna["id"].as_str().unwrap().to_owned();
        for (body, status, field) in [
            (json!({"full_name": "Boris", "badge_id": "B-1001", "hired_on": "2025-03-01"}), StatusCode::CONFLICT, "badge_id"),
            (json!({"full_name": "Boris", "user_id": world.operator_id, "hired_on": "2025-03-01"}), StatusCode::CONFLICT, "user_id"),
            (json!({"full_name": "Boris", "user_id": "00000000-0000-0000-0000-000000000000", "hired_on": "2025-03-01"}), StatusCode::UNPROCESSABLE_ENTITY, "user_id"),
            (json!({"full_name": "Boris", "department_id": "00000000-0000-0000-0000-000000000000", "hired_on": "2025-03-01"}), StatusCode::UNPROCESSABLE_ENTITY, "department_id"),
            (json!({"full_name": "Boris", "hired_on": "2025-03-01", "left_on": "2025-02-01"}), StatusCode::UNPROCESSABLE_ENTITY, "left_on"),
            (json!({"full_name": "Boris", "hired_on": "yesterday"}), StatusCode::UNPROCESSABLE_ENTITY, "hired_on"),
        ] {
            let (answered, refused) = world.call(Method::POST, "/hr/employees", &hr, Some(body.clone())).await;
            assert_eq!(answered, status, "{body}: {refused}");
            assert_eq!(refused["error"]["details"]["field"], field, "{body}: {refused}");
        }

        // The directory is for HR and managers, and for Anna her own record.
        let manager = world.role_token(Role::ProjectManager).await;
        let operator = world.role_token(Role::Operator).await;
        let (status, page) = world.call(Method::GET, "/hr/employees", &manager, None).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(page["items"][0]["full_name"], "Anna Petrova");
        assert!(page["items"][0].get("personal").is_none(), "no personal data in the directory");
        let (status, _) = world.call(Method::GET, "/hr/employees", &operator, None).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let session = world.session("anna@acme.test").await;
        let (status, own) = world.as_session(&session, Method::GET, &format!("/hr/employees/{id}"), None).await;
        assert_eq!(status, StatusCode::OK, "{own}");

        // Personal data: HR and Anna, not even the admin; every read is audited.
        let personal = format!("/hr/employees/{id}/personal-data");
        let (status, stored) = world
            .call(Method::PUT, &personal, &hr, Some(json!({"version": 1, "birth_date": "1990-05-17", "phones": ["+7 (999) 123-45-67"], "address": "Moscow, Tverskaya 1"})))
            .await;
        assert_eq!(status, StatusCode::OK, "{stored}");
        assert_eq!(stored["phones"], json!(["+79991234567"]));
        assert_eq!(stored["version"], 2);
        let (status, refused) = world.call(Method::PUT, &personal, &hr, Some(json!({"version": 2, "phones": ["8 999"]}))).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
        assert_eq!(refused["error"]["details"]["field"], "phones[0]");
        let (status, stale) = world.call(Method::PUT, &personal, &hr, Some(json!({"version": 1}))).await;
        assert_eq!(status, StatusCode::CONFLICT, "{stale}");
        let (status, _) = world.call(Method::GET, &personal, &world.admin, None).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "admins do not read personal data");
        let (status, _) = world.call(Method::GET, &personal, &manager, None).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, read) = world.call(Method::GET, &personal, &hr, None).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(read["birth_date"], "1990-05-17");
        let (status, mine) = world.as_session(&session, Method::GET, &personal, None).await;
        assert_eq!(status, StatusCode::OK, "{mine}");
        assert_eq!(mine["address"], "Moscow, Tverskaya 1");
        let (_, audit) = world.call(Method::GET, &format!("/audit?subject_id={id}"), &world.admin, None).await;
        let readers: Vec<&str> = audit["items"].as_array().unwrap().iter().map(|entry| entry["actor"]["kind"].as_str().unwrap()).collect();
        assert_eq!(readers, ["api_token", "user"], "{audit}");

        // Contracts take effect by date.
        let contracts = format!("/hr/employees/{id}/contracts");
        let weekdays = json!({"mon": [{"from": "09:00", "to": "18:00"}], "tue": [{"from": "09:00", "to": "18:00"}], "wed": [{"from": "09:00", "to": "18:00"}], "thu": [{"from": "09:00", "to": "18:00"}], "fri": [{"from": "09:00", "to": "17:00"}]});
        let (status, contract) = world
            .call(Method::POST, &contracts, &hr, Some(json!({"valid_from": "2025-03-01", "hours_per_week": 40, "work_pattern": weekdays})))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{contract}");
        for (body, status, field) in [
            (json!({"valid_from": "2025-03-01", "hours_per_week": 40, "work_pattern": weekdays}), StatusCode::CONFLICT, "valid_from"),
            (json!({"valid_from": "2026-01-01", "hours_per_week": 0, "work_pattern": weekdays}), StatusCode::UNPROCESSABLE_ENTITY, "hours_per_week"),
            (json!({"valid_from": "2026-01-01", "hours_per_week": 20, "work_pattern": {"mon": [{"from": "09:00", "to": "13:00"}, {"from": "12:00", "to": "14:00"}]}}), StatusCode::UNPROCESSABLE_ENTITY, "work_pattern.mon"),
        ] {
            let (answered, refused) = world.call(Method::POST, &contracts, &hr, Some(body.clone())).await;
            assert_eq!(answered, status, "{body}: {refused}");
            assert_eq!(refused["error"]["details"]["field"], field, "{body}: {refused}");
        }
        let (status, part_time) = world
            .call(Method::POST, &contracts, &hr, Some(json!({"valid_from": "2026-01-01", "hours_per_week": 20, "work_pattern": {"mon": [{"from": "09:00", "to": "13:00"}]}})))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{part_time}");
        let (_, listed) = world.as_session(&session, Method::GET, &contracts, None).await;
        let from: Vec<&str> = listed.as_array().unwrap().iter().map(|c| c["valid_from"].as_str().unwrap()).collect();
        assert_eq!(from, ["2025-03-01", "2026-01-01"]);

        // Anna asks for a vacation; HR approves; she may cancel but not approve.
        let absences = format!("/hr/employees/{id}/absences");
        let vacation = json!({"kind": "vacation", "starts_on": "2026-12-01", "ends_on": "2026-12-05", "note": "Family trip"});
        let (status, asked) = world.as_session(&session, Method::POST, &absences, Some(vacation)).await;
        assert_eq!(status, StatusCode::CREATED, "{asked}");
        assert_eq!(asked["status"], "requested");
        let (status, overlap) = world
            .as_session(&session, Method::POST, &absences, Some(json!({"kind": "day_off", "starts_on": "2026-12-05", "ends_on": "2026-12-05"})))
            .await;
        assert_eq!(status, StatusCode::CONFLICT, "{overlap}");
        let (status, backwards) = world
            .as_session(&session, Method::POST, &absences, Some(json!({"kind": "day_off", "starts_on": "2026-12-09", "ends_on": "2026-12-08"})))
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{backwards}");
        assert_eq!(backwards["error"]["details"]["field"], "ends_on");
        let (status, _) = world
            .call(Method::POST, &absences, &operator, Some(json!({"kind": "day_off", "starts_on": "2026-12-10", "ends_on": "2026-12-10"})))
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "an operator token is nobody's employee record");
        let absence = format!("/hr/absences/{}", asked["id"].as_str().unwrap());
        let (status, refused) = world.as_session(&session, Method::PATCH, &absence, Some(json!({"version": 1, "status": "approved"}))).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{refused}");
        let (status, approved) = world.call(Method::PATCH, &absence, &hr, Some(json!({"version": 1, "status": "approved", "note": "Enjoy"}))).await;
        assert_eq!(status, StatusCode::OK, "{approved}");
        assert_eq!(approved["decided_by"]["kind"], "api_token");
        let (status, cancelled) = world.as_session(&session, Method::PATCH, &absence, Some(json!({"version": 2, "status": "cancelled"}))).await;
        assert_eq!(status, StatusCode::OK, "{cancelled}");
        let (status, refused) = world.call(Method::PATCH, &absence, &hr, Some(json!({"version": 3, "status": "approved"}))).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
        assert_eq!(refused["error"]["details"]["field"], "status");

        let (_, all) = world.call(Method::GET, "/hr/absences?status=cancelled&from=2026-12-01&to=2026-12-31", &hr, None).await;
        assert_eq!(all.as_array().unwrap().len(), 1, "{all}");
        let (_, own) = world.as_session(&session, Method::GET, "/hr/absences", None).await;
        assert_eq!(own.as_array().unwrap().len(), 1);
        let (status, nobody) = world.call(Method::GET, "/hr/absences", &operator, None).await;
        assert_eq!((status, nobody), (StatusCode::OK, json!([])));
        let (status, refused) = world.call(Method::GET, "/hr/absences?from=01.12.2026", &hr, None).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(refused["error"]["details"]["field"], "from");

        // Each change enqueued its event, without personal data; refused ones enqueued none.
        let events: Vec<(String, Option<String>)> = world
            .outbox_events()
            .await
            .into_iter()
            .filter_map(|envelope| match &envelope.event {
                tenet_events::Event::Hr(event) => Some((
                    envelope.event.event_type().as_str().to_owned(),
                    event.clone().into_columns().absence_status,
                )),
                _ => None,
            })
            .collect();
        let expected = [
            ("hr.employee_added", None),
            ("hr.contract_added", None),
            ("hr.contract_added", None),
            ("hr.absence_requested", Some("requested")),
            ("hr.absence_decided", Some("approved")),
            ("hr.absence_decided", Some("cancelled")),
        ];
        assert_eq!(
            events,
            expected.map(|(kind, status)| (kind.to_owned(), status.map(str::to_owned)))
        );

        // Another tenant's HR sees none of it.
        let intruder = world.intruder(Role::Hr).await;
        for (method, path, body) in [
            (Method::GET, format!("/hr/employees/{id}"), None),
            (Method::GET, personal.clone(), None),
            (Method::PUT, personal.clone(), Some(json!({"version": 2}))),
            (Method::GET, contracts.clone(), None),
            (Method::POST, absences.clone(), Some(json!({"kind": "day_off", "starts_on": "2027-01-10", "ends_on": "2027-01-10"}))),
            (Method::PATCH, absence.clone(), Some(json!({"version": 3, "status": "cancelled"}))),
        ] {
            let (status, body) = world.call(method.clone(), &path, &intruder, body).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{method} {path}: {body}");
        }
        let (_, theirs) = world.call(Method::GET, "/hr/employees", &intruder, None).await;
        assert_eq!(theirs["items"], json!([]));
        let (_, theirs) = world.call(Method::GET, "/hr/absences", &intruder, None).await;
        assert_eq!(theirs, json!([]));
        world.app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn overlapping_absences_requested_at_once_are_granted_once() {
    on_both(async |world: World| {
        let hr = world.role_token(Role::Hr).await;
        let (status, boris) = world
            .call(Method::POST, "/hr/employees", &hr, Some(json!({"full_name": "Boris Ivanov", "hired_on": "2025-03-01"})))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{boris}");
        let absences = format!("/hr/employees/{}/absences", boris["id"].as_str().unwrap());
        // Eight requests for overlapping weeks of December, sent together.
        let requests = (0..8).map(|n| {
            let body = json!({"kind": "vacation", "starts_on": format!("2026-12-{:02}", 7 + n), "ends_on": format!("2026-12-{:02}", 14 + n)});
            world.call(Method::POST, &absences, &hr, Some(body))
        });
        let answers = futures::future::join_all(requests).await;
        let granted = answers.iter().filter(|(status, _)| *status == StatusCode::CREATED).count();
        assert_eq!(granted, 1, "{answers:?}");
        for (status, body) in answers.iter().filter(|(status, _)| *status != StatusCode::CREATED) {
            assert_eq!(*status, StatusCode::CONFLICT, "{body}");
            assert_eq!(body["error"]["details"]["field"], "starts_on", "{body}");
        }
        let (_, listed) = world.call(Method::GET, "/hr/absences", &hr, None).await;
        assert_eq!(listed.as_array().map(Vec::len), Some(1), "{listed}");
    })
    .await;
}

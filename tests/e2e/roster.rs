//! Rostering a week with the tenant's employees on PostgreSQL and SQLite: the week is solved,
//! HR's contracts, work patterns and approved absences decide who may work when, everybody
//! rests 11 hours between shifts, and the answer publishes as it is.

use std::collections::BTreeMap;

use chrono::NaiveDateTime;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tenet_events::Role;

use crate::tickets::{World, on_both};

/// 2026-03-02 is a Monday; Berlin keeps winter time all week.
const WEEK: &str = "2026-03-02";

/// Three days at 30-minute intervals: two agents 08:00–16:00 each day, and on Monday one
/// more 16:00–22:00, which only the late shift covers. A missing agent costs less than a third
/// shift to cover lunches, so each day needs two or three people. A late Monday (14:00–22:00) leaves ten
/// hours before Tuesday's 08:00 start: not enough rest.
fn problem() -> Value {
    let day = |evening: bool| -> Vec<u32> {
        (0..48)
            .map(|slot| match slot {
                16..32 => 2,
                32..44 if evening => 1,
                _ => 0,
            })
            .collect()
    };
    let lunch = json!([{"length_min": 30, "earliest_after_min": 180, "latest_after_min": 270, "paid": false, "step_min": 30}]);
    json!({
        "interval_min": 30,
        "required": [day(true), day(false), day(false)],
        "templates": [
            {"name": "day", "earliest_start_min": 480, "latest_start_min": 480, "start_step_min": 30, "length_min": 510, "breaks": lunch, "cost_per_hour": 20},
            {"name": "late", "earliest_start_min": 840, "latest_start_min": 840, "start_step_min": 30, "length_min": 480, "breaks": lunch, "cost_per_hour": 20}
        ],
        "operators": 10,
        "max_days_per_operator": 5,
        "max_weekly_hours": 40,
        "understaffing_penalty": 50,
        "mip_gap": 0,
        "time_limit_sec": 20
    })
}

impl World {
    /// An employee hired on `hired_on`, with a contract from then of `hours` a week on
    /// `days` (09:00–18:00) unless `days` is empty; returns their id.
    async fn employee(
        &self,
        hr: &str,
        name: &str,
        hired_on: &str,
        hours: u32,
        days: &[&str],
    ) -> String {
        let (status, employee) = self
            .call(
                Method::POST,
                "/hr/employees",
                hr,
                Some(json!({"full_name": name, "hired_on": hired_on})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{employee}");
        let id = employee["id"].as_str().unwrap().to_owned();
        if !days.is_empty() {
            let pattern: serde_json::Map<String, Value> = days
                .iter()
                .map(|day| ((*day).to_owned(), json!([{"from": "08:00", "to": "22:00"}])))
                .collect();
            let (status, contract) = self
                .call(
                    Method::POST,
                    &format!("/hr/employees/{id}/contracts"),
                    hr,
                    Some(json!({"valid_from": hired_on, "hours_per_week": hours, "work_pattern": pattern})),
                )
                .await;
            assert_eq!(status, StatusCode::CREATED, "{contract}");
        }
        id
    }
}

fn local(text: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M").unwrap()
}

#[tokio::test]
async fn a_week_is_rostered_within_contracts_absences_and_rest_and_publishes_as_it_is() {
    on_both(async |world: World| {
        // Arrange: five employees under contract and one without.
        let hr = world.role_token(Role::Hr).await;
        let weekdays = ["mon", "tue", "wed", "thu", "fri"];
        let ann = world.employee(&hr, "Ann", "2025-01-01", 40, &weekdays).await;
        let ben = world.employee(&hr, "Ben", "2025-01-01", 40, &weekdays).await;
        world.employee(&hr, "Cy", "2025-01-01", 40, &weekdays).await;
        let dee = world.employee(&hr, "Dee", "2025-01-01", 16, &["mon", "wed"]).await;
        let eve = world.employee(&hr, "Eve", "2026-03-03", 40, &weekdays).await;
        world.employee(&hr, "Fay", "2025-01-01", 40, &[]).await;
        let (_, sick) = world
            .call(Method::POST, &format!("/hr/employees/{ben}/absences"), &hr, Some(json!({"kind": "sick_leave", "starts_on": "2026-03-03", "ends_on": "2026-03-03"})))
            .await;
        let (status, _) = world
            .call(Method::PATCH, &format!("/hr/absences/{}", sick["id"].as_str().unwrap()), &hr, Some(json!({"version": 1, "status": "approved"})))
            .await;
        assert_eq!(status, StatusCode::OK);
        let planner = world.role_token(Role::ProjectGroupManager).await;

        // Act
        let body = json!({"week_start": WEEK, "time_zone": "Europe/Berlin", "problem": problem()});
        let (status, roster) = world.call(Method::POST, "/wfm/schedule/roster", &planner, Some(body)).await;

        // Assert: everyone under contract, nobody without one.
        assert_eq!(status, StatusCode::OK, "{roster}");
        let employees = roster["employees"].as_array().unwrap();
        let mut names: Vec<&str> = employees.iter().map(|e| e["full_name"].as_str().unwrap()).collect();
        names.sort_unstable();
        assert_eq!(names, ["Ann", "Ben", "Cy", "Dee", "Eve"], "{roster}");
        let by_id: BTreeMap<&str, &Value> = employees.iter().map(|e| (e["employee_id"].as_str().unwrap(), e)).collect();
        let unavailable = |id: &str| -> Vec<(String, String)> {
            by_id[id]["unavailable"]
                .as_array()
                .unwrap()
                .iter()
                .map(|u| (u["date"].as_str().unwrap().to_owned(), u["reason"].as_str().unwrap().to_owned()))
                .collect()
        };
        let pair = |date: &str, reason: &str| (date.to_owned(), reason.to_owned());
        assert_eq!(unavailable(&ben), [pair("2026-03-03", "sick_leave")]);
        assert_eq!(unavailable(&dee), [pair("2026-03-03", "not_in_work_pattern")]);
        assert_eq!(unavailable(&eve), [pair("2026-03-02", "not_employed")]);
        assert!(unavailable(&ann).is_empty());

        let mut late_monday = 0;
        let mut rostered = 0;
        for employee in employees {
            let shifts = employee["shifts"].as_array().unwrap();
            rostered += shifts.len();
            let off: Vec<String> = employee["unavailable"].as_array().unwrap().iter().map(|u| u["date"].as_str().unwrap().to_owned()).collect();
            let mut paid = 0.0;
            for shift in shifts {
                let date = shift["date"].as_str().unwrap();
                assert!(!off.iter().any(|d| d == date), "{} works on a day off: {employee}", employee["full_name"]);
                let (start, end) = (local(shift["start"].as_str().unwrap()), local(shift["end"].as_str().unwrap()));
                let lunch = &shift["activities"][0];
                assert_eq!(lunch["kind"], "lunch", "{shift}");
                let (from, to) = (local(lunch["start"].as_str().unwrap()), local(lunch["end"].as_str().unwrap()));
                assert!(start <= from && to <= end && (to - from).num_minutes() == 30, "{shift}");
                paid += ((end - start).num_minutes() - 30) as f64 / 60.0;
                if shift["template"] == "late" && date == WEEK {
                    late_monday += 1;
                }
            }
            for pair in shifts.windows(2) {
                let rest = local(pair[1]["start"].as_str().unwrap()) - local(pair[0]["end"].as_str().unwrap());
                assert!(rest.num_hours() >= 11, "{} rests {rest}: {employee}", employee["full_name"]);
            }
            assert!((employee["paid_hours"].as_f64().unwrap() - paid).abs() < 1e-9, "{employee}");
            assert!(paid <= employee["contract_hours"].as_f64().unwrap() + 1e-9, "{employee}");
        }
        assert!(late_monday >= 1, "Monday evening needs the late shift: {roster}");
        assert!(roster["unfilled"].as_array().unwrap().is_empty(), "everyone available fills the days: {roster}");
        assert_eq!(roster["week"]["status"], "optimal", "{roster}");

        // The publish body is what the schedules endpoint takes.
        let publish = roster["publish"].clone();
        assert_eq!(publish["shifts"].as_array().unwrap().len(), rostered);
        let (status, published) = world.call(Method::POST, "/wfm/schedules", &planner, Some(publish)).await;
        assert_eq!(status, StatusCode::CREATED, "{published}");
        assert_eq!(published["shifts"].as_array().unwrap().len(), rostered, "{published}");

        // Chosen employees, with their agent ids and preferences.
        let body = json!({
            "week_start": WEEK, "time_zone": "Europe/Berlin", "problem": problem(),
            "employees": [
                {"employee_id": ann, "agent_id": "1001", "preferred_templates": ["late"]},
                {"employee_id": ben, "agent_id": "1002"},
                {"employee_id": dee, "agent_id": "1004"}
            ]
        });
        let (status, chosen) = world.call(Method::POST, "/wfm/schedule/roster", &planner, Some(body)).await;
        assert_eq!(status, StatusCode::OK, "{chosen}");
        let agents: Vec<&str> = chosen["employees"].as_array().unwrap().iter().map(|e| e["agent_id"].as_str().unwrap()).collect();
        assert_eq!(agents, ["1001", "1002", "1004"]);
        assert!(chosen["publish"]["shifts"].as_array().unwrap().iter().all(|s| ["1001", "1002", "1004"].contains(&s["agent_id"].as_str().unwrap())));
        assert!(!chosen["unfilled"].as_array().unwrap().is_empty(), "three people cannot fill it: {chosen}");

        // Refusals name the field.
        let refused = [
            (json!({"week_start": WEEK, "time_zone": "Mars/Olympus", "problem": problem()}), "time_zone"),
            (json!({"week_start": WEEK, "time_zone": "UTC", "problem": problem(), "min_rest_hours": 100}), "min_rest_hours"),
            (json!({"week_start": WEEK, "time_zone": "UTC", "problem": problem(), "employees": [{"employee_id": "0190b3a4-0000-7000-8000-000000000000"}]}), "employees[0].employee_id"),
            (json!({"week_start": WEEK, "time_zone": "UTC", "problem": problem(), "employees": [{"employee_id": ann, "preferred_templates": ["night"]}]}), "employees[0].preferred_templates[0]"),
            (json!({"week_start": WEEK, "time_zone": "UTC", "problem": problem(), "employees": [{"employee_id": ann}, {"employee_id": ann}]}), "employees[1].employee_id"),
        ];
        for (body, field) in refused {
            let (status, error) = world.call(Method::POST, "/wfm/schedule/roster", &planner, Some(body)).await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{error}");
            assert_eq!(error["error"]["details"]["field"], field, "{error}");
        }
        let mut bad = problem();
        bad["templates"][0]["cost_per_hour"] = json!(-1);
        let (status, error) = world
            .call(Method::POST, "/wfm/schedule/roster", &planner, Some(json!({"week_start": WEEK, "time_zone": "UTC", "problem": bad})))
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{error}");
        assert_eq!(error["error"]["details"]["field"], "problem.templates[0].cost_per_hour", "{error}");

        // Operators do not plan; another tenant's planner cannot staff with these employees.
        let operator = world.role_token(Role::Operator).await;
        let body = json!({"week_start": WEEK, "time_zone": "UTC", "problem": problem()});
        let (status, _) = world.call(Method::POST, "/wfm/schedule/roster", &operator, Some(body)).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let intruder = world.intruder(Role::ProjectGroupManager).await;
        let body = json!({"week_start": WEEK, "time_zone": "UTC", "problem": problem(), "employees": [{"employee_id": ann}]});
        let (status, error) = world.call(Method::POST, "/wfm/schedule/roster", &intruder, Some(body)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{error}");
        assert_eq!(error["error"]["details"]["field"], "employees[0].employee_id");
        let body = json!({"week_start": WEEK, "time_zone": "UTC", "problem": problem()});
        let (status, error) = world.call(Method::POST, "/wfm/schedule/roster", &intruder, Some(body)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "a tenant without employees: {error}");
        assert_eq!(error["error"]["code"], "unsolvable", "{error}");
    })
    .await;
}

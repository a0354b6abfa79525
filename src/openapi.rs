//! The OpenAPI 3.1 document of everything this process serves under `/api/v1`, at
//! `GET /api/v1/openapi.json`.
//!
//! The ops API's part is generated from its handlers ([`tenet_ops_api::openapi::document`]).
//! The event gateway (`tenet-ingest`) and workforce management (`tenet-forecast`) crates carry
//! no OpenAPI dependency, so their routes are described here, beside the code that mounts
//! them, and receive the same shared security and error responses as the ops API's. The
//! document lists exactly the routes this process mounts: the gateway only where it runs (the
//! embedded mode). A test holds the document against the router's own list of routes, so a
//! route added without a description fails it.

use std::sync::Arc;

use axum::Router;
use axum::http::header;
use axum::routing::get;
use serde_json::{Value, json};
use tenet_ops_api::openapi::{BEARER, CSRF, SESSION, add_shared_responses, operations};
use utoipa::openapi::path::PathItem;
use utoipa::openapi::schema::Schema;
use utoipa::openapi::{OpenApi, RefOr, Server};

/// The path the document is served at.
pub const PATH: &str = "/api/v1/openapi.json";

/// The document of the routes mounted when the gateway does (`gateway`) or does not run.
///
/// # Panics
/// If a hand-written description below does not deserialize into OpenAPI types, which the
/// unit tests rule out.
pub fn document(gateway: bool) -> OpenApi {
    let mut document = tenet_ops_api::openapi::document();
    document.info.version = env!("CARGO_PKG_VERSION").to_owned();
    document.servers = Some(vec![Server::new("/")]);
    let mut items: Vec<(&str, Value)> = vec![
        (PATH, openapi_item()),
        ("/api/v1/wfm/erlang", erlang_item()),
        ("/api/v1/wfm/history", history_item()),
    ];
    items.extend(wfm_items());
    items.extend(report_items());
    items.extend(attendance_items());
    items.push(("/api/v1/customers/{id}/calls", customer_calls_item()));
    let mut schemas: Vec<(&str, Value)> = vec![
        ("ErlangReport", erlang_report_schema()),
        ("ReportRows", report_rows_schema()),
        ("AttendanceDay", attendance_day_schema()),
        ("TimesheetRow", timesheet_row_schema()),
    ];
    if gateway {
        items.extend(gateway_items());
        schemas.extend(gateway_schemas());
    }
    let components = document.components.get_or_insert_with(Default::default);
    for (name, schema) in schemas {
        let schema: Schema = serde_json::from_value(schema)
            .unwrap_or_else(|error| panic!("schema {name} is valid: {error}"));
        components.schemas.insert(name.to_owned(), RefOr::T(schema));
    }
    for (path, item) in items {
        let mut item: PathItem = serde_json::from_value(item)
            .unwrap_or_else(|error| panic!("path item {path} is valid: {error}"));
        for (_, operation) in operations(&mut item) {
            add_shared_responses(operation);
        }
        document.paths.paths.insert(path.to_owned(), item);
    }
    let tags = document.tags.get_or_insert_with(Vec::new);
    for (name, description) in [
        ("wfm", "Workforce management: Erlang staffing."),
        (
            "reports",
            "Contact-center KPIs from the lake, drill-downs, exports and ad-hoc SQL.",
        ),
        (
            "events",
            "Events from outside producers (PBX, access control, scripts).",
        ),
        ("openapi", "This document."),
    ] {
        if gateway || name != "events" {
            tags.push(
                utoipa::openapi::tag::TagBuilder::new()
                    .name(name)
                    .description(Some(description))
                    .build(),
            );
        }
    }
    document
}

/// A router serving [`document`] at [`PATH`], to be merged at the root.
///
/// # Panics
/// If the document does not serialize, which the unit tests rule out.
pub fn router(gateway: bool) -> Router {
    let json: Arc<str> = document(gateway)
        .to_json()
        .expect("the OpenAPI document serializes")
        .into();
    Router::new().route(
        PATH,
        get(move || {
            let json = json.clone();
            async move {
                (
                    [(header::CONTENT_TYPE, "application/json")],
                    json.to_string(),
                )
            }
        }),
    )
}

/// The path of every route of `router`, as axum writes them (`/api/v1/tickets/{id}`).
///
/// axum keeps no public list of its routes; its `Debug` output of a router names every path
/// (nested routers are flattened into it). The methods of each path are not read from there:
/// the test asks the running server, which answers 405 for a method a path does not serve.
pub fn route_paths(router: &Router) -> Vec<String> {
    let description = format!("{router:?}");
    let mut paths: Vec<String> = description
        .split("RouteId(")
        .filter_map(|part| {
            let (_, rest) = part.split_once("): \"")?;
            let (path, _) = rest.split_once('"')?;
            path.starts_with('/').then(|| path.to_owned())
        })
        .collect();
    paths.sort();
    paths.dedup();
    paths
}

fn secured(unsafe_method: bool) -> Value {
    if unsafe_method {
        json!([{ BEARER: [] }, { SESSION: [], CSRF: [] }])
    } else {
        json!([{ BEARER: [] }, { SESSION: [] }])
    }
}

fn error(description: &str) -> Value {
    json!({
        "description": description,
        "content": { "application/json": { "schema": { "$ref": "#/components/schemas/ErrorBody" } } }
    })
}

fn openapi_item() -> Value {
    json!({
        "get": {
            "tags": ["openapi"],
            "summary": "This OpenAPI document",
            "description": "The OpenAPI 3.1 description of every route this server mounts under /api/v1. Needs no credential.",
            "operationId": "openapi",
            "responses": {
                "200": {
                    "description": "The document.",
                    "content": { "application/json": { "schema": { "type": "object", "required": ["openapi", "info", "paths"] } } }
                }
            }
        }
    })
}

fn erlang_item() -> Value {
    let number = |description: &str, constraints: Value| {
        let mut schema = json!({ "type": "number" });
        schema
            .as_object_mut()
            .expect("an object")
            .extend(constraints.as_object().cloned().unwrap_or_default());
        (description.to_owned(), schema)
    };
    let parameters: Vec<(&str, bool, (String, Value))> = vec![
        ("model", true, ("Queueing model: b (blocked calls lost), c (callers wait), a (callers abandon; needs patience_sec).".to_owned(), json!({ "type": "string", "enum": ["b", "c", "a"] }))),
        ("calls", true, number("Contacts offered in the interval.", json!({ "minimum": 0 }))),
        ("interval_min", true, number("Interval length in minutes.", json!({ "exclusiveMinimum": 0 }))),
        ("aht_sec", true, number("Average handling time in seconds.", json!({ "exclusiveMinimum": 0 }))),
        ("target_answer_sec", false, number("T of the service level: answered within this many seconds.", json!({ "minimum": 0 }))),
        ("target_sl", false, number("X of the service level: share answered within T (needs target_answer_sec).", json!({ "minimum": 0, "maximum": 1 }))),
        ("max_occupancy", false, number("Highest acceptable occupancy.", json!({ "exclusiveMinimum": 0, "maximum": 1 }))),
        ("shrinkage", false, number("Shrinkage: scheduled = ceil(agents / (1 - shrinkage)).", json!({ "minimum": 0, "exclusiveMaximum": 1 }))),
        ("patience_sec", false, number("Mean caller patience in seconds (Erlang A).", json!({ "exclusiveMinimum": 0 }))),
        ("max_abandon", false, number("Highest acceptable abandon (Erlang A) or blocking (Erlang B) rate.", json!({ "minimum": 0, "maximum": 1 }))),
        ("max_asa_sec", false, number("Highest acceptable average speed of answer in seconds.", json!({ "minimum": 0 }))),
        ("sl_basis", false, ("Service-level basis for Erlang A.".to_owned(), json!({ "type": "string", "enum": ["arrivals", "answered"], "default": "arrivals" }))),
        ("agents", false, ("Evaluate this many agents instead of solving for the targets.".to_owned(), json!({ "type": "integer", "minimum": 0, "maximum": u32::MAX }))),
    ];
    let parameters: Vec<Value> = parameters
        .into_iter()
        .map(|(name, required, (description, schema))| {
            json!({ "name": name, "in": "query", "required": required, "description": description, "schema": schema })
        })
        .collect();
    json!({
        "get": {
            "tags": ["wfm"],
            "summary": "Erlang B, C or A staffing",
            "description": "The metrics for a given agent count, or the fewest agents meeting the targets; the options of `tenet erlang` with `_` for `-`. Needs the workforce planning permission.",
            "operationId": "wfm_erlang",
            "parameters": parameters,
            "responses": {
                "200": {
                    "description": "The staffing figures; null where the model does not define one.",
                    "content": { "application/json": { "schema": { "$ref": "#/components/schemas/ErlangReport" } } }
                },
                "400": error("The query string is malformed."),
                "422": error("An option is unknown, missing or out of range, or the targets cannot be met.")
            },
            "security": secured(false)
        }
    })
}

fn history_item() -> Value {
    let query = |name: &str, description: &str, required: bool, schema: Value| json!({ "name": name, "in": "query", "required": required, "description": description, "schema": schema });
    let local_time = json!({ "type": "string", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9]{2}:[0-9]{2}(:[0-9]{2})?)?$" });
    let list = json!({ "type": "array", "items": { "type": "string" } });
    json!({
        "get": {
            "tags": ["wfm"],
            "summary": "Contact history from the lake, for forecasting",
            "description": "Calls offered and their AHT per interval, as the call_intervals report counts them, in the `history` shape of `POST /api/v1/wfm/forecast`. Days between the first and last call without any get one zero row (a closed day). Needs the workforce planning permission; reads the calls of the tenant, or of their own projects for project managers.",
            "operationId": "wfm_history",
            "parameters": [
                query("from", "First local day or time included.", true, local_time.clone()),
                query("to", "First local day or time excluded.", true, local_time),
                query("tz", "Time zone of the intervals: an IANA name or an offset like +02:00.", false, json!({ "type": "string", "default": "UTC" })),
                query("granularity", "Interval length.", false, json!({ "type": "string", "enum": ["15min", "30min", "60min"], "default": "30min" })),
                query("queue", "Only calls to these queues.", false, list.clone()),
                query("project", "Only calls of these projects.", false, list)
            ],
            "responses": {
                "200": {
                    "description": "The history.",
                    "content": { "application/json": { "schema": {
                        "type": "object",
                        "required": ["interval_min", "history"],
                        "properties": {
                            "interval_min": { "type": "integer", "enum": [15, 30, 60] },
                            "history": { "type": "array", "items": {
                                "type": "object",
                                "required": ["interval_start", "contacts"],
                                "properties": {
                                    "interval_start": { "type": "string" },
                                    "contacts": { "type": "number", "minimum": 0 },
                                    "aht_sec": { "type": "number", "exclusiveMinimum": 0 }
                                }
                            } }
                        }
                    } } }
                },
                "422": error("A parameter is missing, malformed or unknown (`details.field` names it)."),
                "503": error("The lake could not be read; retry shortly.")
            },
            "security": secured(false)
        }
    })
}

/// The JSON-bodied workforce routes: each takes the options of its `tenet` subcommand as a
/// JSON object and answers what the subcommand prints.
fn wfm_items() -> Vec<(&'static str, Value)> {
    [
        (
            "/api/v1/wfm/forecast",
            "Forecast contacts and AHT per interval",
            "From history rows (`interval_start`, `contacts`, optional `aht_sec`), special days and a model choice, the forecast of every interval of the horizon, as `tenet forecast` computes it.",
            "wfm_forecast",
        ),
        (
            "/api/v1/wfm/reforecast",
            "Reforecast the rest of today from today's actuals",
            "From one day's forecast intervals (`forecast`, as `/wfm/forecast` answers them) and the contacts counted so far (`actuals`, as `/wfm/history` answers them), every interval of the day: actuals for those up to the latest actual (without a row: none came), the forecast scaled by how the elapsed intervals compare for the rest; with the factor and the day's totals before and after.",
            "wfm_reforecast",
        ),
        (
            "/api/v1/wfm/plan",
            "Plan staffing across queues",
            "A staffing plan per queue and interval from forecasts, targets and shrinkage, with the reason for every count, as `tenet plan` computes it.",
            "wfm_plan",
        ),
        (
            "/api/v1/wfm/schedule/cover",
            "Cover the staffing need with shifts",
            "The minimum-cost set of shifts covering the required agents per interval, as `tenet schedule cover` computes it.",
            "wfm_schedule_cover",
        ),
        (
            "/api/v1/wfm/schedule/week",
            "Schedule a week with breaks",
            "A weekly schedule of named operators with breaks meeting the need per interval, as `tenet schedule week` computes it.",
            "wfm_schedule_week",
        ),
        (
            "/api/v1/wfm/schedule/roster",
            "Roster a week with the tenant's employees",
            "Solves `problem` (what `/wfm/schedule/week` takes) for the week from `week_start` in `time_zone`, then assigns the employees HR knows (everyone under a contract, those of `department_id`, or those listed in `employees` with their agent ids and preferred templates) within their contracts, work patterns and approved absences, with `min_rest_hours` (default 11) between shifts. Answers the week, every employee's shifts and unavailable days, the seats nobody could take, and under `publish` the body of `POST /api/v1/wfm/schedules`. Needs the HR read permission too.",
            "wfm_schedule_roster",
        ),
    ]
    .into_iter()
    .map(|(path, summary, description, operation_id)| {
        let item = json!({
            "post": {
                "tags": ["wfm"],
                "summary": summary,
                "description": format!("{description} Needs the workforce planning permission; bodies up to 8 MiB."),
                "operationId": operation_id,
                "requestBody": {
                    "required": true,
                    "content": { "application/json": { "schema": { "type": "object" } } }
                },
                "responses": {
                    "200": {
                        "description": "The result, as the command line prints it.",
                        "content": { "application/json": { "schema": { "type": "object" } } }
                    },
                    "400": error("The body is not JSON."),
                    "413": error("The body is larger than 8 MiB."),
                    "415": error("The body is not declared as JSON."),
                    "422": error("The request is invalid (`details.field` names the field, e.g. `queues[0].history[12].contacts`), or valid but without an answer (`unsolvable`).")
                },
                "security": secured(true)
            }
        });
        (path, item)
    })
    .collect()
}

/// The responses of a route that streams rows in the format asked for.
fn rows_responses(errors: Value) -> Value {
    let mut responses = json!({
        "200": {
            "description": "The rows, streamed as they are computed. JSON: `columns` (name and type of each) and `rows` (one object per row); aggregated reports add a `drill_down` link to every row.",
            "content": {
                "application/json": { "schema": { "$ref": "#/components/schemas/ReportRows" } },
                "text/csv; charset=utf-8": { "schema": { "type": "string" } },
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": { "schema": { "type": "string", "contentEncoding": "binary" } },
                "application/vnd.apache.parquet": { "schema": { "type": "string", "contentEncoding": "binary" } }
            }
        },
        "503": error("The lake could not be read; retry shortly.")
    });
    if let (Some(responses), Value::Object(errors)) = (responses.as_object_mut(), errors) {
        responses.extend(errors);
    }
    responses
}

fn report_items() -> Vec<(&'static str, Value)> {
    let query = |name: &str, description: &str, required: bool, schema: Value| json!({ "name": name, "in": "query", "required": required, "description": description, "schema": schema });
    let local_time = json!({
        "type": "string",
        "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9]{2}:[0-9]{2}(:[0-9]{2})?)?$"
    });
    let format = query(
        "format",
        "The format of the rows.",
        false,
        json!({ "type": "string", "enum": ["json", "csv", "xlsx", "parquet"], "default": "json" }),
    );
    vec![
        (
            "/api/v1/reports",
            json!({
                "get": {
                    "tags": ["reports"],
                    "summary": "List the reports",
                    "description": "Every named report with what it answers, its parameters and the definition of each output column. Needs the report read permission.",
                    "operationId": "reports_catalog",
                    "responses": {
                        "200": {
                            "description": "The catalog.",
                            "content": { "application/json": { "schema": {
                                "type": "object",
                                "required": ["reports", "formats"],
                                "properties": {
                                    "reports": { "type": "array", "items": { "type": "object", "required": ["name", "title", "description", "grain", "parameters", "columns"] } },
                                    "formats": { "type": "array", "items": { "type": "string" } }
                                }
                            } } }
                        }
                    },
                    "security": secured(false)
                }
            }),
        ),
        (
            "/api/v1/reports/{name}",
            json!({
                "get": {
                    "tags": ["reports"],
                    "summary": "Run a report",
                    "description": "The rows of one report of the caller's tenant (a customer's own projects only) over a local period. Every report takes `from`, `to` and `tz`; the catalog lists the rest (granularity, breakdowns, filters, service-level options). Needs the report read permission.",
                    "operationId": "reports_run",
                    "parameters": [
                        { "name": "name", "in": "path", "required": true, "description": "The report, as the catalog names it.", "schema": { "type": "string" } },
                        query("from", "First local time included: 2026-02-01 or 2026-02-01T08:30.", true, local_time.clone()),
                        query("to", "First local time excluded, in the same formats.", true, local_time),
                        query("tz", "Time zone of from, to and the rows: an IANA name or an offset like +02:00.", false, json!({ "type": "string", "default": "UTC" })),
                        query("granularity", "Interval length of interval reports: 15min, 30min, 60min, day, week or month.", false, json!({ "type": "string" })),
                        format
                    ],
                    "responses": rows_responses(json!({
                        "404": error("No report has this name."),
                        "422": error("A parameter is missing, malformed or not one of the report's (`details.field` names it), or the rows exceed what the format holds or a query may use.")
                    })),
                    "security": secured(false)
                }
            }),
        ),
        (
            "/api/v1/reports/sql",
            json!({
                "post": {
                    "tags": ["reports"],
                    "summary": "Run read-only SQL",
                    "description": "One read-only SELECT over the caller's tenant's tables (calls, tickets, agent_state, attendance, surveys, qa, customers, hr, schedules, admin), limited in time, memory and rows. Needs the report query permission (admins and analysts).",
                    "operationId": "reports_sql",
                    "requestBody": {
                        "required": true,
                        "content": { "application/json": { "schema": {
                            "type": "object",
                            "required": ["sql"],
                            "additionalProperties": false,
                            "properties": {
                                "sql": { "type": "string", "description": "One SELECT statement." },
                                "format": { "type": "string", "enum": ["json", "csv", "xlsx", "parquet"], "default": "json" }
                            }
                        } } }
                    },
                    "responses": rows_responses(json!({
                        "415": error("The body is not declared as JSON."),
                        "422": error("The body is not the expected object, or the SQL is not one read-only query, refers to something unknown or exceeds a limit (`details.field` is `sql`).")
                    })),
                    "security": secured(true)
                }
            }),
        ),
    ]
}

fn attendance_items() -> Vec<(&'static str, Value)> {
    let query = |name: &str, description: &str, required: bool, schema: Value| json!({ "name": name, "in": "query", "required": required, "description": description, "schema": schema });
    let date = json!({ "type": "string", "format": "date" });
    let shared = || {
        vec![
            query(
                "tz",
                "Time zone of the work patterns and swipes: an IANA name.",
                false,
                json!({ "type": "string", "default": "UTC" }),
            ),
            query(
                "employee_id",
                "Only this employee.",
                false,
                json!({ "type": "string", "format": "uuid" }),
            ),
            query(
                "grace_min",
                "Minutes of lateness or early leave tolerated, 0 to 120.",
                false,
                json!({ "type": "integer", "minimum": 0, "maximum": 120, "default": 5 }),
            ),
            query(
                "format",
                "json or csv (a download).",
                false,
                json!({ "type": "string", "enum": ["json", "csv"], "default": "json" }),
            ),
        ]
    };
    let rows = |schema: &str, description: &str| {
        json!({
            "200": {
                "description": description,
                "content": {
                    "application/json": { "schema": { "type": "array", "items": { "$ref": format!("#/components/schemas/{schema}") } } },
                    "text/csv; charset=utf-8": { "schema": { "type": "string" } }
                }
            },
            "400": error("The query string is malformed."),
            "422": error("A parameter is missing, unknown or invalid; `details.field` names it."),
            "503": error("The attendance records could not be read; retry shortly.")
        })
    };
    let mut attendance = vec![
        query("from", "First day, local.", true, date.clone()),
        query(
            "to",
            "Last day, local; at most 62 days after from.",
            true,
            date,
        ),
    ];
    attendance.extend(shared());
    let mut timesheet = vec![query(
        "month",
        "The month, YYYY-MM.",
        true,
        json!({ "type": "string", "pattern": "^[0-9]{4}-[0-9]{2}$" }),
    )];
    timesheet.extend(shared());
    vec![
        (
            "/api/v1/hr/attendance",
            json!({
                "get": {
                    "tags": ["hr"],
                    "summary": "Working-time compliance by day",
                    "description": "For every employee and day: the scheduled hours of their contract's work pattern, an approved absence, the first entry and last exit from access-control swipes, minutes present, late and left early, and the day's status (present, late, left_early, late_and_left_early, absent_without_reason, on_absence, not_scheduled, worked_unscheduled). For HR and managers.",
                    "operationId": "get_hr_attendance",
                    "parameters": attendance,
                    "responses": rows("AttendanceDay", "One row per employee and day."),
                    "security": secured(false)
                }
            }),
        ),
        (
            "/api/v1/hr/timesheet",
            json!({
                "get": {
                    "tags": ["hr"],
                    "summary": "Monthly timesheet",
                    "description": "Each employee's month totalled from the days of the compliance report: scheduled and worked days and hours, late and early-leave days, absences without reason, approved absences by kind. For HR and managers; `format=csv` downloads it for payroll.",
                    "operationId": "get_hr_timesheet",
                    "parameters": timesheet,
                    "responses": rows("TimesheetRow", "One row per employee."),
                    "security": secured(false)
                }
            }),
        ),
    ]
}

fn customer_calls_item() -> Value {
    let text = json!({ "type": ["string", "null"] });
    let seconds = json!({ "type": ["integer", "null"] });
    json!({
        "get": {
            "tags": ["customers"],
            "summary": "Read a customer's calls",
            "description": "The calls the telephony attributed to the customer (or to a duplicate since merged into them), newest first, at most 200, with the queue, the agent who answered, the wait, the outcome and the talk time. Read from the lake; recorded in the audit log. Needs the customer read permission.",
            "operationId": "get_customers_id_calls",
            "parameters": [
                { "name": "id", "in": "path", "required": true, "description": "The customer's id.", "schema": { "type": "string", "format": "uuid" } }
            ],
            "responses": {
                "200": {
                    "description": "The calls.",
                    "content": { "application/json": { "schema": { "type": "array", "items": {
                        "type": "object",
                        "required": ["call_id", "offered_at"],
                        "properties": {
                            "call_id": { "type": "string" },
                            "offered_at": { "type": "string", "format": "date-time" },
                            "queue_id": text, "agent_id": text, "outcome": text,
                            "wait_seconds": seconds, "talk_seconds": seconds
                        }
                    } } } }
                },
                "400": error("The id is not a UUID."),
                "404": error("No such customer."),
                "503": error("The calls could not be read; retry shortly.")
            },
            "security": secured(false)
        }
    })
}

fn attendance_day_schema() -> Value {
    let text = json!({ "type": ["string", "null"] });
    json!({
        "type": "object",
        "required": ["employee_id", "full_name", "date", "scheduled_minutes", "present_minutes", "late_minutes", "early_leave_minutes", "status"],
        "properties": {
            "employee_id": { "type": "string", "format": "uuid" },
            "full_name": { "type": "string" },
            "date": { "type": "string", "format": "date" },
            "scheduled_from": text, "scheduled_to": text, "absence": text, "first_in": text, "last_out": text,
            "scheduled_minutes": { "type": "integer" },
            "present_minutes": { "type": "integer" },
            "late_minutes": { "type": "integer" },
            "early_leave_minutes": { "type": "integer" },
            "status": { "type": "string", "enum": ["present", "late", "left_early", "late_and_left_early", "absent_without_reason", "on_absence", "not_scheduled", "worked_unscheduled"] }
        }
    })
}

fn timesheet_row_schema() -> Value {
    let count = json!({ "type": "integer" });
    let hours = json!({ "type": "number" });
    json!({
        "type": "object",
        "required": ["employee_id", "full_name", "month", "scheduled_days", "scheduled_hours", "present_days", "worked_hours", "late_days", "early_leave_days", "absent_without_reason_days", "absences"],
        "properties": {
            "employee_id": { "type": "string", "format": "uuid" },
            "full_name": { "type": "string" },
            "month": { "type": "string" },
            "scheduled_days": count, "present_days": count, "late_days": count, "early_leave_days": count, "absent_without_reason_days": count,
            "scheduled_hours": hours, "worked_hours": hours,
            "absences": { "type": "string", "description": "Days of approved absence by kind: `vacation: 5; sick_leave: 2`." }
        }
    })
}

fn report_rows_schema() -> Value {
    json!({
        "type": "object",
        "required": ["columns", "rows"],
        "properties": {
            "columns": { "type": "array", "items": {
                "type": "object",
                "required": ["name", "type"],
                "properties": { "name": { "type": "string" }, "type": { "type": "string" } }
            } },
            "rows": { "type": "array", "items": { "type": "object" } }
        }
    })
}

fn erlang_report_schema() -> Value {
    let nullable =
        |description: &str| json!({ "type": ["number", "null"], "description": description });
    json!({
        "type": "object",
        "description": "Staffing figures for one interval.",
        "required": ["traffic_erlangs", "agents", "agents_with_shrinkage", "prob_wait", "service_level", "asa_sec", "occupancy", "abandon_prob", "erlang_b"],
        "properties": {
            "traffic_erlangs": { "type": "number", "description": "Offered traffic A in Erlangs." },
            "agents": { "type": "integer", "minimum": 0, "description": "Agents on the phones." },
            "agents_with_shrinkage": { "type": "integer", "minimum": 0, "description": "Agents to schedule after shrinkage." },
            "prob_wait": nullable("Probability of waiting."),
            "service_level": nullable("Service level at the target answer time."),
            "asa_sec": nullable("Average speed of answer in seconds."),
            "occupancy": { "type": "number", "description": "Occupancy." },
            "abandon_prob": nullable("Abandon (Erlang A) or blocking (Erlang B) probability."),
            "erlang_b": { "type": "number", "description": "Erlang B blocking probability B(N, A)." }
        }
    })
}

fn batch_item(
    summary: &str,
    description: &str,
    operation_id: &str,
    request: Value,
    accepted: Value,
) -> Value {
    json!({
        "post": {
            "tags": ["events"],
            "summary": summary,
            "description": format!("{description} A batch with anything invalid is refused whole with 422 listing every refusal in `details`; a valid one is answered 202 once every event is durable. Needs the event ingest permission."),
            "operationId": operation_id,
            "requestBody": { "required": true, "content": request },
            "responses": {
                "202": {
                    "description": "Every event of the batch is durable in the event log.",
                    "content": { "application/json": { "schema": accepted } }
                },
                "400": error("The body is not JSON (or not UTF-8 text)."),
                "415": error("The body is not declared as JSON."),
                "422": error("Something in the batch is invalid; nothing was stored. `details` lists each refused item or line."),
                "503": error("The event log is unavailable; retry the batch (event ids make retries safe).")
            },
            "security": secured(true)
        }
    })
}

fn accepted_count() -> Value {
    json!({
        "type": "object",
        "required": ["accepted"],
        "properties": { "accepted": { "type": "integer", "minimum": 0, "description": "Events stored." } }
    })
}

fn gateway_items() -> Vec<(&'static str, Value)> {
    vec![
        (
            "/api/v1/events",
            batch_item(
                "Hand in events",
                "A JSON array of 1 to 10,000 events in the wire format of the event contract, each of the caller's tenant.",
                "ingest_events",
                json!({ "application/json": { "schema": {
                    "type": "array", "minItems": 1, "maxItems": 10000,
                    "items": { "$ref": "#/components/schemas/EventEnvelope" }
                } } }),
                accepted_count(),
            ),
        ),
        (
            "/api/v1/telephony/asterisk/queue-log",
            batch_item(
                "Hand in Asterisk queue_log lines",
                "Asterisk `queue_log` lines as UTF-8 text, one event per line (`time|callid|queue|agent|event|data...`).",
                "ingest_asterisk_queue_log",
                json!({ "text/plain": { "schema": { "type": "string", "minLength": 1 } } }),
                json!({
                    "type": "object",
                    "required": ["accepted", "lines", "skipped"],
                    "properties": {
                        "accepted": { "type": "integer", "minimum": 0, "description": "Events stored." },
                        "lines": { "type": "integer", "minimum": 0, "description": "Lines read." },
                        "skipped": { "type": "integer", "minimum": 0, "description": "Lines of events that analytics does not use." }
                    }
                }),
            ),
        ),
        (
            "/api/v1/access-control/events",
            batch_item(
                "Hand in badge swipes",
                "A JSON array of 1 to 10,000 swipes from turnstiles and door readers.",
                "ingest_badge_swipes",
                json!({ "application/json": { "schema": {
                    "type": "array", "minItems": 1, "maxItems": 10000,
                    "items": { "$ref": "#/components/schemas/BadgeSwipe" }
                } } }),
                accepted_count(),
            ),
        ),
    ]
}

fn gateway_schemas() -> Vec<(&'static str, Value)> {
    vec![
        (
            "EventEnvelope",
            json!({
                "type": "object",
                "description": "One event: its id, tenant, time, type with schema version, and the type's data.",
                "required": ["event_id", "tenant_id", "occurred_at", "type", "schema_version", "data"],
                "properties": {
                    "event_id": { "type": "string", "format": "uuid" },
                    "tenant_id": { "type": "string", "format": "uuid" },
                    "occurred_at": { "type": "string", "format": "date-time" },
                    "type": { "type": "string", "description": "The event type, e.g. `call.answered`." },
                    "schema_version": { "type": "integer", "minimum": 1 },
                    "data": { "type": "object", "description": "The event type's fields." }
                }
            }),
        ),
        (
            "BadgeSwipe",
            json!({
                "type": "object",
                "additionalProperties": false,
                "description": "One swipe of a badge at a reader.",
                "required": ["badge_id", "device_id", "direction", "at"],
                "properties": {
                    "badge_id": { "type": "string", "minLength": 1 },
                    "device_id": { "type": "string", "minLength": 1 },
                    "direction": { "type": "string", "enum": ["in", "out"] },
                    "at": { "type": "string", "format": "date-time" },
                    "employee_id": { "type": ["string", "null"], "minLength": 1 }
                }
            }),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_the_gateway_only_where_it_runs() {
        let embedded = serde_json::to_value(document(true)).unwrap();
        let served = serde_json::to_value(document(false)).unwrap();
        assert_eq!(embedded["openapi"], "3.1.0");
        assert!(embedded["paths"]["/api/v1/events"]["post"].is_object());
        assert!(served["paths"].get("/api/v1/events").is_none());
        for document in [&embedded, &served] {
            assert!(document["paths"]["/api/v1/tickets"]["get"].is_object());
            assert!(document["paths"]["/api/v1/wfm/erlang"]["get"].is_object());
            assert!(document["components"]["securitySchemes"][BEARER].is_object());
        }
        let erlang = &embedded["paths"]["/api/v1/wfm/erlang"]["get"]["responses"];
        for status in ["200", "400", "401", "403", "422", "500", "503"] {
            assert!(erlang[status].is_object(), "{status}");
        }
    }
}

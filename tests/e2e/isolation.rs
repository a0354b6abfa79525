//! Tenant isolation over the whole API, on PostgreSQL and SQLite.
//!
//! Two tenants build the same world through every operation of the OpenAPI document, each
//! with its own users. Before each of its own requests the second tenant sends the same
//! request with the first tenant's ids: all of them at once, and one at a time in an
//! otherwise valid request of its own (its own ticket with the other tenant's customer, its
//! own project with the other tenant's user). Every such request is refused, no answer of the
//! second tenant carries anything of the first, and the first tenant reads back exactly what
//! it read before.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tenet_events::Role;

use crate::tickets::{PASSWORD, Session, World, on_both, token};

/// Who sends a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum By {
    /// An API token of the role.
    Token(Role),
    /// Anna, an operator, signed in with a session cookie (for what is her own).
    Anna,
    /// Nobody: a request without credentials.
    Nobody,
}

/// What a request carries.
#[derive(Clone, Debug)]
enum Payload {
    Empty,
    Json(Value),
    /// A body of the content type.
    Raw(&'static str, String),
}

/// What another tenant gets when the request names the owner's ids.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Foreign {
    /// A client error.
    Refused,
    /// An answer of its own (a list filtered by a foreign id, a query naming one), or a
    /// client error.
    Answered,
}

/// One request of the walk.
#[derive(Clone, Debug)]
struct Step {
    by: By,
    method: Method,
    /// Under `/api/v1`, with `{name}` for what an earlier step saved; a query may follow.
    path: String,
    payload: Payload,
    /// Saves the JSON pointer of the answer under the name.
    saves: Vec<(&'static str, &'static str)>,
    foreign: Foreign,
}

fn step(by: By, method: Method, path: &str) -> Step {
    Step {
        by,
        method,
        path: path.to_owned(),
        payload: Payload::Empty,
        saves: Vec::new(),
        foreign: Foreign::Refused,
    }
}

impl Step {
    fn json(mut self, body: Value) -> Self {
        self.payload = Payload::Json(body);
        self
    }

    fn raw(mut self, content_type: &'static str, body: &str) -> Self {
        self.payload = Payload::Raw(content_type, body.to_owned());
        self
    }

    fn saves(mut self, name: &'static str, pointer: &'static str) -> Self {
        self.saves.push((name, pointer));
        self
    }

    fn answered(mut self) -> Self {
        self.foreign = Foreign::Answered;
        self
    }

    /// This request as `METHOD /api/v1/...` with every `{...}` segment as `{}`.
    fn operation(&self) -> String {
        let path = self.path.split('?').next().unwrap_or_default();
        format!("{} {}", self.method, template(&format!("/api/v1{path}")))
    }

    /// The names this request refers to by id, in the path and elsewhere.
    fn refs(&self) -> (BTreeSet<String>, BTreeSet<String>) {
        let (path, query) = self.path.split_once('?').unwrap_or((&self.path, ""));
        let mut rest = placeholders(query);
        match &self.payload {
            Payload::Empty => {}
            Payload::Json(body) => rest.extend(placeholders(&body.to_string())),
            Payload::Raw(_, body) => rest.extend(placeholders(body)),
        }
        let is_id = |name: &String| !is_own(name);
        (
            placeholders(path).into_iter().filter(is_id).collect(),
            rest.into_iter().filter(is_id).collect(),
        )
    }
}

/// Whether the documented operation `documented` (`METHOD /path` with `{}` segments) is the
/// one `operation` is an instance of.
fn instance_of(operation: &str, documented: &str) -> bool {
    let split = |text: &str| {
        text.split(['/', ' '])
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    let (operation, documented) = (split(operation), split(documented));
    operation.len() == documented.len()
        && operation
            .iter()
            .zip(&documented)
            .all(|(segment, pattern)| segment == pattern || pattern == "{}")
}

/// `/a/{x}/b` as `/a/{}/b`.
fn template(path: &str) -> String {
    path.split('/')
        .map(|segment| {
            if segment.starts_with('{') {
                "{}"
            } else {
                segment
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Names always bound to the sender's own values: its marker, and versions it read.
fn is_own(name: &str) -> bool {
    name == "who" || name.starts_with("v_")
}

/// The `{name}` placeholders of `text`.
fn placeholders(text: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut rest = text;
    while let Some(start) = rest.find('{') {
        rest = &rest[start + 1..];
        if let Some(end) = rest.find('}') {
            let name = &rest[..end];
            if !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            {
                names.insert(name.to_owned());
            }
        }
    }
    names
}

/// What a tenant knows of its world: saved values by name.
type Ids = BTreeMap<String, Value>;

/// Binds each placeholder: the names in `foreign` to the first tenant's values, the rest to
/// the sender's own.
struct Binding<'a> {
    own: &'a Ids,
    other: &'a Ids,
    foreign: BTreeSet<String>,
}

impl<'a> Binding<'a> {
    /// Every placeholder bound to the sender's own values.
    fn own(ids: &'a Ids) -> Self {
        Self {
            own: ids,
            other: ids,
            foreign: BTreeSet::new(),
        }
    }

    fn value(&self, name: &str) -> &Value {
        let ids = if self.foreign.contains(name) {
            self.other
        } else {
            self.own
        };
        ids.get(name)
            .unwrap_or_else(|| panic!("nothing saved as {name}"))
    }

    fn text(&self, template: &str) -> String {
        let mut filled = template.to_owned();
        for name in placeholders(template) {
            let value = match self.value(&name) {
                Value::String(text) => text.clone(),
                other => other.to_string(),
            };
            filled = filled.replace(&format!("{{{name}}}"), &value);
        }
        filled
    }

    fn json(&self, template: &Value) -> Value {
        match template {
            Value::String(text) => {
                let names = placeholders(text);
                match names.iter().next() {
                    Some(name) if names.len() == 1 && *text == format!("{{{name}}}") => {
                        self.value(name).clone()
                    }
                    _ => Value::String(self.text(text)),
                }
            }
            Value::Array(items) => Value::Array(items.iter().map(|item| self.json(item)).collect()),
            Value::Object(fields) => Value::Object(
                fields
                    .iter()
                    .map(|(key, value)| (key.clone(), self.json(value)))
                    .collect(),
            ),
            other => other.clone(),
        }
    }
}

/// One tenant of the walk.
struct Tenant {
    tokens: HashMap<Role, String>,
    anna: Option<Session>,
    ids: Ids,
}

impl Tenant {
    async fn new(world: &World, name: &str, who: &str) -> Self {
        let tenant = tenet::admin::create_tenant(&world.app.database, name)
            .await
            .unwrap();
        let mut tokens = HashMap::new();
        for role in [Role::Admin, Role::Hr, Role::ProjectGroupManager] {
            tokens.insert(role, token(&world.app.database, tenant.id, role).await);
        }
        let mut ids = Ids::new();
        ids.insert("who".into(), json!(who));
        ids.insert("tenant".into(), json!(tenant.id.to_string()));
        // Its queue, a name rather than an id, which another tenant may still try.
        ids.insert("queue".into(), json!(format!("{who}-support")));
        // An event of the tenant's own, sent through the gateway by id.
        ids.insert("v_event".into(), json!(uuid::Uuid::now_v7().to_string()));
        Self {
            tokens,
            anna: None,
            ids,
        }
    }
}

/// An answer: its status, text and the session cookie it set, if any.
struct Answer {
    status: StatusCode,
    text: String,
    cookie: Option<String>,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or(Value::Null)
    }
}

/// Sends `step` as `sender`, with placeholders bound by `binding`; answers and the request's
/// own text (path and body), to tell echoes from leaks.
async fn send(
    world: &World,
    sender: &Tenant,
    step: &Step,
    binding: &Binding<'_>,
) -> (Answer, String) {
    let path = binding.text(&step.path);
    let mut request = world.client.request(
        step.method.clone(),
        format!("{}/api/v1{path}", world.app.base),
    );
    match step.by {
        By::Token(role) => request = request.bearer_auth(&sender.tokens[&role]),
        By::Anna => {
            let session = sender.anna.as_ref().expect("Anna signed in");
            request = request
                .header("cookie", &session.cookie)
                .header("x-csrf-token", &session.csrf);
        }
        By::Nobody => {}
    }
    let mut sent = path.clone();
    match &step.payload {
        Payload::Empty => {}
        Payload::Json(template) => {
            let body = binding.json(template);
            sent.push_str(&body.to_string());
            request = request.json(&body);
        }
        Payload::Raw(content_type, template) => {
            let body = binding.text(template);
            sent.push_str(&body);
            request = request.header("content-type", *content_type).body(body);
        }
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let cookie = response
        .headers()
        .get("set-cookie")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .map(str::to_owned);
    let text = response.text().await.unwrap();
    (
        Answer {
            status,
            text,
            cookie,
        },
        sent,
    )
}

/// Runs `step` as its owner with its own ids; it must succeed. Saves what the step names.
async fn run_own(world: &World, tenant: &mut Tenant, step: &Step) -> Answer {
    let binding = Binding::own(&tenant.ids);
    let (answer, _) = send(world, tenant, step, &binding).await;
    assert!(
        answer.status.is_success(),
        "{} {} answered {}: {}",
        step.method,
        step.path,
        answer.status,
        answer.text
    );
    let body = answer.json();
    for (name, pointer) in &step.saves {
        let value = body
            .pointer(pointer)
            .unwrap_or_else(|| panic!("{} {}: no {pointer} in {body}", step.method, step.path))
            .clone();
        tenant.ids.insert((*name).to_owned(), value);
    }
    if step.path == "/auth/login" {
        // Anna's session, for the steps that are hers.
        tenant.anna = Some(Session {
            cookie: answer.cookie.clone().expect("a session cookie"),
            csrf: body["csrf_token"]
                .as_str()
                .expect("a CSRF token")
                .to_owned(),
        });
    }
    answer
}

/// What of `owner` must never reach anyone else: its ids and its marker.
fn secrets(owner: &Tenant) -> Vec<String> {
    let mut secrets: Vec<String> = owner
        .ids
        .iter()
        .filter(|(name, _)| !is_own(name))
        .filter_map(|(_, value)| value.as_str().map(str::to_owned))
        .filter(|value| uuid::Uuid::parse_str(value).is_ok())
        .collect();
    secrets.push(owner.ids["who"].as_str().unwrap().to_owned());
    secrets
}

/// Fails when `answer` carries a secret other than in words of the request it echoes.
fn assert_no_leak(secrets: &[String], answer: &Answer, sent: &str, what: &str) {
    // Case aside: the marker is also in names such as the tenant's own.
    let sent = sent.to_lowercase();
    for secret in secrets {
        let secret = secret.to_lowercase();
        let mut text = answer.text.to_lowercase();
        let echoed = sent
            .split(|c: char| !(c.is_alphanumeric() || "-_.@:".contains(c)))
            .filter(|word| word.contains(secret.as_str()));
        for word in echoed {
            text = text.replace(word, "");
        }
        assert!(
            !text.contains(secret.as_str()),
            "{what} answered {} with {secret} of the other tenant: {}",
            answer.status,
            answer.text
        );
    }
}

/// The walk: one request or more for every documented operation, in an order that builds
/// a tenant's world from nothing; `{who}` marks every text it writes.
fn walk(documented: &BTreeSet<String>) -> Vec<Step> {
    use By::{Anna, Nobody, Token};
    let admin = Token(Role::Admin);
    let hr = Token(Role::Hr);
    let planner = Token(Role::ProjectGroupManager);
    let (get, post, put, patch, delete) = (
        Method::GET,
        Method::POST,
        Method::PUT,
        Method::PATCH,
        Method::DELETE,
    );
    let hours = |from: &str, to: &str| json!([{"from": from, "to": to}]);
    let week = json!({
        "mon": hours("09:00", "18:00"), "tue": hours("09:00", "18:00"), "wed": hours("09:00", "18:00"),
        "thu": hours("09:00", "18:00"), "fri": hours("09:00", "18:00")
    });
    let mut day = vec![0; 24];
    for need in &mut day[9..17] {
        *need = 1;
    }
    let problem = json!({
        "interval_min": 60,
        "required": [day.clone(), day.clone(), day.clone(), day.clone(), day.clone(), vec![0; 24], vec![0; 24]],
        "templates": [{"name": "day", "earliest_start_min": 540, "latest_start_min": 540, "start_step_min": 60,
                       "length_min": 480, "cost_per_hour": 10.0, "breaks": []}],
        "operators": 2, "max_days_per_operator": 5, "max_weekly_hours": 40.0,
        "understaffing_penalty": 100.0, "mip_gap": 0.0, "time_limit_sec": 20
    });
    let history: Vec<Value> = (0..14)
        .flat_map(|day| {
            let date = chrono::NaiveDate::from_ymd_opt(2026, 1, 5).unwrap() + chrono::Duration::days(day);
            (9..17).map(move |hour| json!({"interval_start": format!("{date}T{hour:02}:00:00"), "contacts": 10, "aht_sec": 200}))
        })
        .collect();
    let queue_log = "1712912400|NONE|NONE|NONE|QUEUESTART\n\
                     1712912410|1712912401.7|{who}-support|NONE|ENTERQUEUE||+15551234|1\n\
                     1712912437|1712912401.7|{who}-support|SIP/1002|CONNECT|27|1712912437.9|4\n\
                     1712912600|1712912401.7|{who}-support|SIP/1002|COMPLETECALLER|27|163|1\n";

    let steps = vec![
        // Users and sign-in.
        step(admin, post.clone(), "/users")
            .json(json!({"email": "anna-{who}@acme.test", "display_name": "Anna {who}", "role": "operator", "password": PASSWORD}))
            .saves("anna", "/id"),
        step(admin, post.clone(), "/users")
            .json(json!({"email": "boris-{who}@acme.test", "display_name": "Boris {who}", "role": "executor", "password": PASSWORD}))
            .saves("boris", "/id"),
        step(admin, get.clone(), "/users"),
        step(admin, get.clone(), "/users/{anna}"),
        step(Nobody, post.clone(), "/auth/login")
            .json(json!({"tenant_id": "{tenant}", "email": "anna-{who}@acme.test", "password": PASSWORD})),
        // Projects and their constructor.
        step(admin, post.clone(), "/projects")
            .json(json!({"key": "HOT", "name": "Hotline {who}"}))
            .saves("project", "/id"),
        step(admin, get.clone(), "/projects"),
        step(admin, get.clone(), "/projects/{project}"),
        step(admin, post.clone(), "/projects/{project}/members").json(json!({"user_id": "{anna}"})),
        step(admin, post.clone(), "/projects/{project}/members").json(json!({"user_id": "{boris}"})),
        step(admin, post.clone(), "/projects/{project}/request-types")
            .json(json!({"key": "outage", "name": "Outage {who}", "specialists": ["{boris}"]}))
            .saves("request_type", "/id"),
        step(admin, get.clone(), "/projects/{project}/request-types"),
        step(admin, patch.clone(), "/projects/{project}/request-types/{request_type}")
            .json(json!({"version": 1, "name": "Power outage {who}", "specialists": ["{boris}"]})),
        step(admin, post.clone(), "/projects/{project}/dictionaries")
            .json(json!({"key": "districts", "name": "Districts {who}", "entries": [{"value": "north", "label": "North {who}"}]}))
            .saves("dictionary", "/id"),
        step(admin, get.clone(), "/projects/{project}/dictionaries"),
        step(admin, patch.clone(), "/projects/{project}/dictionaries/{dictionary}")
            .json(json!({"version": 1, "name": "City districts {who}"})),
        step(admin, post.clone(), "/projects/{project}/fields")
            .json(json!({"key": "account", "label": "Account {who}", "kind": "text"}))
            .saves("field", "/id"),
        step(admin, get.clone(), "/projects/{project}/fields"),
        step(admin, patch.clone(), "/projects/{project}/fields/{field}")
            .json(json!({"version": 1, "label": "Account number {who}"})),
        step(admin, post.clone(), "/projects/{project}/operations")
            .json(json!({"key": "escalate", "definition": {"name": "Escalate {who}", "priority": "high"}}))
            .saves("operation", "/id"),
        step(admin, get.clone(), "/projects/{project}/operations"),
        step(admin, patch.clone(), "/projects/{project}/operations/{operation}")
            .json(json!({"version": 1, "definition": {"name": "Escalate now {who}", "priority": "high"}})),
        step(admin, post.clone(), "/projects/{project}/notification-rules")
            .json(json!({"name": "New request {who}", "on": "ticket_created", "users": ["{anna}"]}))
            .saves("rule", "/id"),
        step(admin, get.clone(), "/projects/{project}/notification-rules"),
        step(admin, patch.clone(), "/projects/{project}/notification-rules/{rule}")
            .json(json!({"version": 1, "definition": {"name": "Every new request {who}", "on": "ticket_created", "users": ["{anna}"]}})),
        step(admin, get.clone(), "/projects/{project}/client-view").saves("v_client_view", "/version"),
        step(admin, put.clone(), "/projects/{project}/client-view").json(json!({
            "version": "{v_client_view}", "hidden_fields": ["account"], "assignee": false, "sla": true, "history": false, "statistics": true
        })),
        step(admin, put.clone(), "/projects/{project}/sla").json(json!({
            "version": 0, "time_zone": "Europe/Moscow", "always_open": false, "business_hours": week.clone(),
            "holidays": ["2026-12-31"], "targets": {"normal": {"first_response_min": 600, "resolution_min": 6000}}
        })),
        step(admin, get.clone(), "/projects/{project}/sla"),
        // Customers.
        step(admin, post.clone(), "/customers")
            .json(json!({"display_name": "Vera {who}", "identities": [{"kind": "email", "value": "vera-{who}@mail.test"}]}))
            .saves("customer", "/id")
            .saves("identity", "/identities/0/id"),
        step(admin, post.clone(), "/customers")
            .json(json!({"display_name": "Vera again {who}", "identities": [{"kind": "email", "value": "vera.v-{who}@mail.test"}]}))
            .saves("duplicate", "/id"),
        step(admin, get.clone(), "/customers"),
        step(admin, get.clone(), "/customers/{customer}"),
        step(admin, patch.clone(), "/customers/{customer}").json(json!({"version": 1, "vip": true})),
        step(admin, post.clone(), "/customers/{customer}/identities")
            .json(json!({"kind": "telegram", "value": "vera_{who}"})),
        step(admin, post.clone(), "/customers/{customer}/flags")
            .json(json!({"kind": "conflict", "note": "Raised her voice {who}"}))
            .saves("flag", "/id"),
        step(admin, patch.clone(), "/customers/{customer}/flags/{flag}")
            .json(json!({"version": 1, "resolution": "Apologised {who}"})),
        // Tickets.
        step(admin, post.clone(), "/tickets")
            .json(json!({"project_id": "{project}", "subject": "No hot water {who}", "channel": "voice",
                         "assignee_id": "{anna}", "customer_id": "{customer}", "request_type": "outage",
                         "fields": {"account": "A-{who}"}}))
            .saves("ticket", "/id"),
        step(admin, get.clone(), "/tickets"),
        step(admin, get.clone(), "/tickets?project_id={project}&customer_id={customer}&assignee={anna}").answered(),
        step(admin, get.clone(), "/tickets?cursor={ticket}").answered(),
        step(admin, get.clone(), "/tickets/{ticket}"),
        step(admin, patch.clone(), "/tickets/{ticket}")
            .json(json!({"version": 1, "status": "open", "assignee_id": "{anna}", "customer_id": "{customer}"}))
            .saves("v_ticket", "/version"),
        step(admin, get.clone(), "/tickets/{ticket}/operations"),
        step(admin, post.clone(), "/tickets/{ticket}/operations/escalate")
            .json(json!({"version": "{v_ticket}", "note": "Escalated {who}"})),
        step(admin, post.clone(), "/tickets/{ticket}/comments")
            .json(json!({"body": "Boiler pressure is low {who}", "public": true}))
            .saves("comment", "/id"),
        step(admin, get.clone(), "/tickets/{ticket}/comments"),
        step(admin, get.clone(), "/tickets/{ticket}/history").saves("history_entry", "/0/id"),
        step(admin, post.clone(), "/tickets/{ticket}/comments/{comment}/redact")
            .json(json!({"reason": "Personal data {who}"})),
        step(admin, post.clone(), "/tickets/{ticket}/history/{history_entry}/redact")
            .json(json!({"reason": "Personal data {who}"})),
        step(admin, post.clone(), "/tickets/{ticket}/tasks")
            .json(json!({"title": "Call back {who}", "assignee_id": "{anna}", "due_at": "2026-11-30T09:00:00Z"}))
            .saves("task", "/id"),
        step(admin, get.clone(), "/tickets/{ticket}/tasks"),
        step(admin, patch.clone(), "/tickets/{ticket}/tasks/{task}")
            .json(json!({"version": 1, "done": true, "assignee_id": "{anna}"})),
        step(admin, post.clone(), "/tickets/{ticket}/time-entries")
            .json(json!({"minutes": 25, "note": "Called the customer {who}"})),
        step(admin, get.clone(), "/tickets/{ticket}/time-entries"),
        step(admin, post.clone(), "/tickets/{ticket}/attachments?filename={who}.txt")
            .raw("application/octet-stream", "a recording of {who}")
            .saves("attachment", "/id"),
        step(admin, get.clone(), "/tickets/{ticket}/attachments"),
        step(admin, get.clone(), "/tickets/{ticket}/attachments/{attachment}"),
        // The customer's history, merge and split, now that a ticket is theirs.
        step(admin, get.clone(), "/customers/{customer}/history"),
        step(admin, get.clone(), "/customers/{customer}/calls"),
        step(admin, get.clone(), "/customers/{customer}").saves("v_customer", "/version"),
        step(admin, post.clone(), "/customers/{customer}/merge")
            .json(json!({"version": "{v_customer}", "duplicate_id": "{duplicate}"}))
            .saves("v_customer", "/version"),
        step(admin, post.clone(), "/customers/{customer}/split")
            .json(json!({"version": "{v_customer}", "display_name": "Vera split {who}", "identity_ids": ["{identity}"], "ticket_ids": ["{ticket}"]}))
            .saves("split", "/id"),
        step(admin, get.clone(), "/customers/{split}").saves("split_identity", "/identities/0/id"),
        step(admin, post.clone(), "/customers/{split}/identities")
            .json(json!({"kind": "phone", "value": "+79001112233"})),
        step(admin, delete.clone(), "/customers/{split}/identities/{split_identity}"),
        // HR.
        step(hr, post.clone(), "/hr/departments").json(json!({"name": "Support {who}"})).saves("department", "/id"),
        step(hr, get.clone(), "/hr/departments"),
        step(hr, post.clone(), "/hr/positions").json(json!({"name": "Senior operator {who}"})).saves("position", "/id"),
        step(hr, get.clone(), "/hr/positions"),
        step(hr, post.clone(), "/hr/employees")
            .json(json!({"full_name": "Anna {who}", "user_id": "{anna}", "department_id": "{department}",
                         "position_id": "{position}", "badge_id": "B-{who}", "hired_on": "2026-01-01"}))
            .saves("employee", "/id"),
        step(hr, get.clone(), "/hr/employees"),
        step(hr, get.clone(), "/hr/employees?department_id={department}").answered(),
        step(hr, get.clone(), "/hr/employees/{employee}"),
        step(hr, put.clone(), "/hr/employees/{employee}")
            .json(json!({"version": 1, "full_name": "Anna Petrova {who}", "user_id": "{anna}", "department_id": "{department}",
                         "position_id": "{position}", "badge_id": "B-{who}", "hired_on": "2026-01-01"})),
        step(hr, get.clone(), "/hr/employees/{employee}/personal-data").saves("v_personal", "/version"),
        step(hr, put.clone(), "/hr/employees/{employee}/personal-data")
            .json(json!({"version": "{v_personal}", "birth_date": "1990-05-17", "phones": ["+79005556677"], "address": "Lenina 1, {who}"})),
        step(hr, post.clone(), "/hr/employees/{employee}/contracts")
            .json(json!({"valid_from": "2026-01-01", "hours_per_week": 40, "work_pattern": week.clone()})),
        step(hr, get.clone(), "/hr/employees/{employee}/contracts"),
        step(hr, post.clone(), "/hr/employees/{employee}/absences")
            .json(json!({"kind": "vacation", "starts_on": "2026-11-19", "ends_on": "2026-11-19", "note": "Family {who}"}))
            .saves("absence", "/id"),
        step(hr, get.clone(), "/hr/absences"),
        step(hr, get.clone(), "/hr/absences?employee_id={employee}").answered(),
        step(hr, patch.clone(), "/hr/absences/{absence}").json(json!({"version": 1, "status": "approved", "note": "Enjoy {who}"})),
        // Attendance: swipes through the gateway, then the days and the timesheet.
        step(admin, post.clone(), "/access-control/events").json(json!([
            {"badge_id": "B-{who}", "device_id": "turnstile-{who}", "direction": "in", "at": "2026-11-16T05:58:00Z"},
            {"badge_id": "B-{who}", "device_id": "turnstile-{who}", "direction": "out", "at": "2026-11-16T15:01:00Z"}
        ])),
        step(hr, get.clone(), "/hr/attendance?from=2026-11-16&to=2026-11-22&employee_id={employee}").answered(),
        step(hr, get.clone(), "/hr/timesheet?month=2026-11&employee_id={employee}").answered(),
        // Workforce management.
        step(planner, post.clone(), "/wfm/schedules")
            .json(json!({"week_start": "2026-02-02", "time_zone": "Europe/Berlin", "shifts": [
                {"agent_id": "1001", "user_id": "{anna}", "start": "2026-02-02T10:00", "end": "2026-02-02T14:00",
                 "activities": [{"kind": "lunch", "start": "2026-02-02T12:00", "end": "2026-02-02T12:30"}]}
            ]}))
            .saves("schedule", "/id"),
        step(planner, get.clone(), "/wfm/schedules"),
        step(planner, get.clone(), "/wfm/schedules/{schedule}"),
        step(planner, post.clone(), "/wfm/schedule/roster")
            .json(json!({"week_start": "2026-11-16", "time_zone": "UTC", "problem": problem.clone(), "department_id": "{department}"})),
        step(planner, post.clone(), "/wfm/schedule/roster")
            .json(json!({"week_start": "2026-11-16", "time_zone": "UTC", "problem": problem.clone(), "employees": [{"employee_id": "{employee}"}]})),
        step(planner, get.clone(), "/wfm/erlang?model=c&calls=100&interval_min=30&aht_sec=180&target_answer_sec=20&target_sl=0.8"),
        step(planner, get.clone(), "/wfm/history?from=2024-04-01&to=2024-05-01"),
        step(planner, post.clone(), "/wfm/forecast")
            .json(json!({"history": history.clone(), "horizon_days": 1, "model": "moving-average", "ma_weeks": 1}))
            .saves("v_forecast", "/intervals"),
        step(planner, post.clone(), "/wfm/reforecast").json(json!({"forecast": "{v_forecast}", "actuals": []})),
        step(planner, post.clone(), "/wfm/plan").json(json!({
            "horizon_days": 1, "model": "moving-average", "ma_weeks": 1,
            "queues": [{"name": "{who}", "history": history.clone(), "targets": {"service_level": 0.8, "answer_sec": 20}}]
        })),
        step(planner, post.clone(), "/wfm/schedule/cover")
            .json(json!({"required": [1, 2, 1], "shifts": [{"name": "{who}", "cover": [1, 1, 1], "cost": 1}]})),
        step(planner, post.clone(), "/wfm/schedule/week").json(problem.clone()),
        // Contact events through the gateway, and the reports over them.
        step(admin, post.clone(), "/events").json(json!([{
            "event_id": "{v_event}", "tenant_id": "{tenant}", "occurred_at": "2024-04-12T09:03:57.480Z",
            "type": "call.answered", "schema_version": 1,
            "data": {"call_id": "{who}-call", "queue_id": "{who}-support", "agent_id": "1001", "wait_seconds": 12}
        }])),
        step(admin, post.clone(), "/telephony/asterisk/queue-log").raw("text/plain", queue_log),
        step(admin, get.clone(), "/reports"),
        step(admin, get.clone(), "/reports/calls?from=2024-04-01&to=2024-05-01"),
        step(admin, get.clone(), "/reports/calls?from=2024-04-01&to=2024-05-01&queue={queue}").answered(),
        step(admin, get.clone(), "/reports/call_intervals?from=2024-04-01&to=2024-05-01&granularity=day"),
        step(admin, get.clone(), "/reports/call_intervals?from=2024-04-01&to=2024-05-01&granularity=day&by=queue&format=csv"),
        step(admin, get.clone(), "/reports/agent_performance?from=2024-04-01&to=2024-05-01"),
        step(admin, get.clone(), "/reports/tickets?from=2026-01-01&to=2027-01-01"),
        step(admin, get.clone(), "/reports/tickets?from=2026-01-01&to=2027-01-01&project={project}").answered(),
        step(admin, get.clone(), "/reports/ticket_intervals?from=2026-01-01&to=2027-01-01&granularity=month"),
        step(admin, post.clone(), "/reports/sql").json(json!({"sql": "select * from calls"})),
        step(admin, post.clone(), "/reports/sql")
            .json(json!({"sql": "select * from tickets where tenant_id = '{tenant}' or project_id = '{project}'"}))
            .answered(),
        // Anna's own: herself, her notifications, her session.
        step(Anna, get.clone(), "/me"),
        step(Anna, get.clone(), "/me/notifications").saves("notification", "/items/0/id"),
        step(Anna, post.clone(), "/me/notifications/{notification}/read"),
        // The tenant's security policy and audit log.
        step(admin, get.clone(), "/security-policy").saves("v_policy", "/version"),
        step(admin, put.clone(), "/security-policy").json(json!({
            "version": "{v_policy}", "password": {"min_length": 12, "require_digit": true, "require_symbol": false, "require_mixed_case": false},
            "session_lifetime_minutes": 480, "max_failed_logins": 5, "lockout_minutes": 15, "ip_allowlist": []
        })),
        step(admin, get.clone(), "/audit"),
        step(admin, get.clone(), "/audit?subject_id={employee}").answered(),
        // The project's workflow, changed last: the tickets above keep theirs.
        step(admin, get.clone(), "/projects/{project}/workflow").saves("v_workflow", "/version"),
        step(admin, put.clone(), "/projects/{project}/workflow").json(json!({
            "version": "{v_workflow}",
            "statuses": [
                {"key": "received", "name": "Received {who}", "category": "new"},
                {"key": "in_progress", "name": "In progress", "category": "open"},
                {"key": "done", "name": "Done", "category": "solved"},
                {"key": "closed", "name": "Closed", "category": "closed"}
            ],
            "initial": "received",
            "transitions": [
                {"from": "received", "to": "in_progress"}, {"from": "in_progress", "to": "done"},
                {"from": "done", "to": "closed"}, {"from": "closed", "to": "in_progress"}
            ]
        })),
        step(admin, get.clone(), "/projects/{project}/workflow?version={v_workflow}"),
        step(Anna, post.clone(), "/auth/logout"),
    ];
    // Only what this server documents (the gateway and the lake's routes run where an event
    // log does).
    steps
        .into_iter()
        .filter(|step| {
            documented
                .iter()
                .any(|operation| instance_of(&step.operation(), operation))
        })
        .collect()
}

/// Every documented operation, as [`Step::operation`] names them.
async fn documented(world: &World) -> BTreeSet<String> {
    let document: Value = world
        .client
        .get(format!("{}/api/v1/openapi.json", world.app.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut operations = BTreeSet::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            if ["get", "post", "put", "patch", "delete"].contains(&method.as_str()) {
                operations.insert(format!("{} {}", method.to_uppercase(), template(path)));
            }
        }
    }
    operations
}

/// What the owner reads through every read of the walk.
async fn read_back(world: &World, owner: &Tenant, steps: &[Step]) -> BTreeMap<String, String> {
    let binding = Binding::own(&owner.ids);
    let mut reads = BTreeMap::new();
    for step in steps.iter().filter(|step| step.method == Method::GET) {
        let (answer, sent) = send(world, owner, step, &binding).await;
        assert_eq!(answer.status, StatusCode::OK, "{sent}: {}", answer.text);
        reads.insert(sent, answer.text);
    }
    reads
}

/// Waits until the owner's calls, tickets and swipes are in the lake, so that the other
/// tenant's reports and queries could find them there.
async fn wait_for_lake(world: &World, owner: &Tenant) {
    let sql = "select (select count(*) from calls) as calls, (select count(*) from tickets) as tickets, \
               (select count(*) from attendance) as attendance";
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let (_, answer) = world
            .call(
                Method::POST,
                "/reports/sql",
                &owner.tokens[&Role::Admin],
                Some(json!({"sql": sql})),
            )
            .await;
        let row = &answer["rows"][0];
        let landed = ["calls", "tickets", "attendance"]
            .iter()
            .all(|table| row[table].as_i64().is_some_and(|count| count > 0));
        if landed {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the lake holds too little: {answer}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test]
async fn a_second_tenant_reaches_nothing_of_the_first_through_any_operation() {
    on_both(async |world: World| {
        // Arrange: every documented operation is walked; the first tenant builds its world.
        let documented = documented(&world).await;
        let steps = walk(&documented);
        // The document itself is public and carries no tenant's data.
        let missing: Vec<&String> = documented
            .iter()
            .filter(|documented| *documented != "GET /api/v1/openapi.json")
            .filter(|documented| {
                !steps
                    .iter()
                    .any(|step| instance_of(&step.operation(), documented))
            })
            .collect();
        assert!(
            missing.is_empty(),
            "operations the walk does not try: {missing:?}"
        );
        let mut alfa = Tenant::new(&world, "Alfa Utilities", "alfa").await;
        for step in &steps {
            run_own(&world, &mut alfa, step).await;
        }
        // Where the server lands events itself (embedded), the other tenant's reports and
        // queries run over the owner's rows in the lake.
        if documented.contains("POST /api/v1/events") {
            wait_for_lake(&world, &alfa).await;
        }
        let sign_in = steps
            .iter()
            .find(|step| step.path == "/auth/login")
            .expect("the walk signs in");
        run_own(&world, &mut alfa, sign_in).await;
        let before = read_back(&world, &alfa, &steps).await;
        let secrets = secrets(&alfa);

        // Act and assert: the second tenant tries each request with the first one's ids
        // before sending it with its own.
        let mut bravo = Tenant::new(&world, "Bravo Gas", "bravo").await;
        let mut probes = 0;
        for step in &steps {
            let (in_path, elsewhere) = step.refs();
            let named: BTreeSet<String> = in_path.union(&elsewhere).cloned().collect();
            let mut tries = vec![named.clone()];
            if named.len() > 1 {
                tries.extend(named.iter().map(|name| BTreeSet::from([name.clone()])));
            }
            for foreign in tries.into_iter().filter(|foreign| !foreign.is_empty()) {
                let what = format!(
                    "{} {} with the first tenant's {foreign:?}",
                    step.method, step.path
                );
                let binding = Binding {
                    own: &bravo.ids,
                    other: &alfa.ids,
                    foreign,
                };
                let (answer, sent) = send(&world, &bravo, step, &binding).await;
                let refused = answer.status.is_client_error()
                    && ![405, 413, 415].contains(&answer.status.as_u16());
                let answered = step.foreign == Foreign::Answered && answer.status.is_success();
                assert!(
                    refused || answered,
                    "{what} answered {}: {}",
                    answer.status,
                    answer.text
                );
                assert_no_leak(&secrets, &answer, &sent, &what);
                probes += 1;
            }
            let answer = run_own(&world, &mut bravo, step).await;
            assert_no_leak(
                &secrets,
                &answer,
                "",
                &format!("{} {}", step.method, step.path),
            );
        }
        assert!(probes > steps.len(), "{probes} requests with foreign ids");
        println!(
            "{} operations, {} requests of each tenant, {probes} with the other tenant's ids",
            documented.len(),
            steps.len()
        );

        // Nothing of the first tenant changed.
        let after = read_back(&world, &alfa, &steps).await;
        for (read, answer) in &before {
            if read.starts_with("/audit") {
                // The owner's reads of personal data add to its audit log, and nothing else.
                let entries = |text: &str| -> Vec<Value> {
                    let page: Value = serde_json::from_str(text).unwrap();
                    page["items"].as_array().unwrap().clone()
                };
                let (earlier, later) = (entries(answer), entries(&after[read]));
                let actors: BTreeSet<String> = earlier
                    .iter()
                    .map(|entry| entry["actor"].to_string())
                    .collect();
                for entry in later.iter().filter(|entry| !earlier.contains(entry)) {
                    assert!(
                        entry["action"] == "read" && actors.contains(&entry["actor"].to_string()),
                        "{read}: {entry} is new after the second tenant's walk"
                    );
                }
                continue;
            }
            assert_eq!(
                &after[read], answer,
                "{read} reads otherwise after the second tenant's walk"
            );
        }
        world.app.stop().await;
    })
    .await;
}

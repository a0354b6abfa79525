//! The `/api/v1` routes of the ops API, relative to `/api/v1`.

pub(crate) mod attachments;
pub(crate) mod audit;
pub(crate) mod auth;
pub(crate) mod customers;
pub(crate) mod hr;
pub(crate) mod me;
pub(crate) mod notifications;
pub(crate) mod operations;
pub(crate) mod projects;
pub mod query;
pub(crate) mod schedules;
pub(crate) mod security_policy;
pub(crate) mod tasks;
pub(crate) mod tickets;
pub(crate) mod users;

use std::sync::Arc;

use axum::Router;
use axum::routing::{delete, get, patch, post};

use crate::attachments::AttachmentStore;
use crate::auth::{AuthSettings, require_actor};
use crate::db::Database;
use crate::throttle::SignInThrottle;

/// The signed-in user behind `actor`, if it is one (not an API token).
pub(crate) fn user_of(actor: &tenet_events::Actor) -> Option<uuid::Uuid> {
    match actor.principal {
        tenet_events::identity::Principal::User(id) => Some(id),
        _ => None,
    }
}

/// What the handlers share.
#[derive(Clone)]
pub(crate) struct OpsState {
    pub(crate) db: Database,
    pub(crate) auth: Arc<AuthSettings>,
    pub(crate) sign_ins: Arc<SignInThrottle>,
    pub(crate) attachments: AttachmentStore,
}

/// The path of the one route whose body may be larger than the API's body limit: an
/// attachment upload, limited by the attachments store instead.
pub fn is_upload(method: &axum::http::Method, path: &str) -> bool {
    method == axum::http::Method::POST
        && path
            .strip_prefix("/api/v1/tickets/")
            .and_then(|rest| rest.strip_suffix("/attachments"))
            .is_some_and(|id| !id.is_empty() && !id.contains('/'))
}

/// The ops API's routes, to be nested under `/api/v1`. Sign-in is open; everything else is
/// behind [`require_actor`].
pub fn router(db: Database, auth: AuthSettings, attachments: AttachmentStore) -> Router {
    let state = OpsState {
        db: db.clone(),
        auth: Arc::new(auth),
        sign_ins: Arc::new(SignInThrottle::default()),
        attachments,
    };
    let protected = Router::new()
        .route("/auth/logout", post(auth::logout))
        .route("/me", get(me::get))
        .route("/me/notifications", get(notifications::inbox))
        .route(
            "/me/notifications/{id}/read",
            post(notifications::mark_read),
        )
        .route("/users", get(users::list).post(users::create))
        .route("/users/{id}", get(users::get))
        .route("/projects", get(projects::list).post(projects::create))
        .route("/projects/{id}", get(projects::get))
        .route("/projects/{id}/members", post(projects::add_member))
        .route(
            "/projects/{id}/request-types",
            get(projects::request_types).post(projects::add_request_type),
        )
        .route(
            "/projects/{id}/request-types/{type_id}",
            patch(projects::update_request_type),
        )
        .route(
            "/projects/{id}/fields",
            get(projects::fields).post(projects::add_field),
        )
        .route(
            "/projects/{id}/fields/{field_id}",
            patch(projects::update_field),
        )
        .route(
            "/projects/{id}/sla",
            get(projects::sla_policy).put(projects::put_sla_policy),
        )
        .route(
            "/projects/{id}/client-view",
            get(projects::client_view).put(projects::put_client_view),
        )
        .route(
            "/projects/{id}/dictionaries",
            get(projects::dictionaries).post(projects::add_dictionary),
        )
        .route(
            "/projects/{id}/dictionaries/{dictionary_id}",
            patch(projects::update_dictionary),
        )
        .route(
            "/projects/{id}/workflow",
            get(projects::workflow).put(projects::put_workflow),
        )
        .route(
            "/projects/{id}/operations",
            get(operations::list).post(operations::add),
        )
        .route(
            "/projects/{id}/operations/{operation_id}",
            patch(operations::update),
        )
        .route(
            "/projects/{id}/notification-rules",
            get(notifications::rules).post(notifications::add_rule),
        )
        .route(
            "/projects/{id}/notification-rules/{rule_id}",
            patch(notifications::update_rule),
        )
        .route("/tickets", get(tickets::list).post(tickets::create))
        .route("/tickets/{id}", get(tickets::get).patch(tickets::update))
        .route(
            "/tickets/{id}/comments",
            get(tickets::comments).post(tickets::comment),
        )
        .route("/tickets/{id}/history", get(tickets::history))
        .route("/tickets/{id}/operations", get(operations::offered))
        .route("/tickets/{id}/operations/{key}", post(operations::run))
        .route(
            "/tickets/{id}/attachments",
            get(attachments::list).post(attachments::upload),
        )
        .route(
            "/tickets/{id}/attachments/{attachment_id}",
            get(attachments::download),
        )
        .route(
            "/tickets/{id}/history/{entry_id}/redact",
            post(tickets::redact_history),
        )
        .route(
            "/tickets/{id}/comments/{comment_id}/redact",
            post(tickets::redact_comment),
        )
        .route("/tickets/{id}/tasks", get(tasks::list).post(tasks::create))
        .route("/tickets/{id}/tasks/{task_id}", patch(tasks::update))
        .route(
            "/tickets/{id}/time-entries",
            get(tasks::time_spent).post(tasks::log_time),
        )
        .route("/customers", get(customers::list).post(customers::create))
        .route(
            "/customers/{id}",
            get(customers::get).patch(customers::update),
        )
        .route("/customers/{id}/identities", post(customers::add_identity))
        .route(
            "/customers/{id}/identities/{identity_id}",
            delete(customers::remove_identity),
        )
        .route("/customers/{id}/merge", post(customers::merge))
        .route("/customers/{id}/split", post(customers::split))
        .route("/customers/{id}/flags", post(customers::raise_flag))
        .route(
            "/customers/{id}/flags/{flag_id}",
            patch(customers::resolve_flag),
        )
        .route("/customers/{id}/history", get(customers::history))
        .route("/audit", get(audit::audit_log))
        .route(
            "/hr/departments",
            get(hr::departments).post(hr::add_department),
        )
        .route("/hr/positions", get(hr::positions).post(hr::add_position))
        .route(
            "/hr/employees",
            get(hr::employees).post(hr::create_employee),
        )
        .route(
            "/hr/employees/{id}",
            get(hr::employee).put(hr::update_employee),
        )
        .route(
            "/hr/employees/{id}/personal-data",
            get(hr::personal_data).put(hr::put_personal_data),
        )
        .route(
            "/hr/employees/{id}/contracts",
            get(hr::contracts).post(hr::add_contract),
        )
        .route("/hr/employees/{id}/absences", post(hr::request_absence))
        .route("/hr/absences", get(hr::absences))
        .route("/hr/absences/{id}", patch(hr::decide_absence))
        .route(
            "/wfm/schedules",
            get(schedules::list).post(schedules::publish),
        )
        .route("/wfm/schedules/{id}", get(schedules::get))
        .route(
            "/security-policy",
            get(security_policy::get).put(security_policy::put),
        )
        .route_layer(axum::middleware::from_fn_with_state(db, require_actor));
    Router::new()
        .route("/auth/login", post(auth::login))
        .merge(protected)
        .with_state(state)
}

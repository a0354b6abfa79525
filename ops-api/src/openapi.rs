//! The OpenAPI 3.1 description of the ops API, generated from the handlers and their types.
//!
//! Each handler carries a `#[utoipa::path]` attribute naming its request, parameters and the
//! responses particular to it; [`document`] collects them and then adds what every operation
//! shares, so that it cannot be forgotten on one of them: the security requirements' schemes
//! (bearer API token, session cookie with its CSRF header), and the error responses that the
//! authentication middleware, the JSON body extractor and the database can answer, all with
//! the shared [`ErrorBody`].
//!
//! Types of the event contract (roles, channels, statuses...) come from `tenet-events`, which
//! has no OpenAPI dependency; they are described here by mirror enums whose wire names are
//! checked against the real types by the tests below.

use serde::{Deserialize, Serialize};
use utoipa::openapi::path::ParameterIn;
use utoipa::openapi::path::{HttpMethod, Operation};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::tag::TagBuilder;
use utoipa::openapi::{Content, OpenApi as Document, RefOr, Response, ResponseBuilder, Tag};
use utoipa::{Modify, OpenApi, ToSchema};
use uuid::Uuid;

use crate::error::ErrorBody;
use crate::routes;
use crate::sessions;

/// The security scheme of an `Authorization: Bearer` API token.
pub const BEARER: &str = "bearer";
/// The security scheme of the browser session cookie.
pub const SESSION: &str = "session";
/// The security scheme of the CSRF header that a cookie-authenticated unsafe request carries.
pub const CSRF: &str = "csrf";

/// A user's role within the tenant (wire names of `tenet_events::Role`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = Role)]
pub enum RoleSchema {
    /// Works tasks and tickets, handles calls.
    Operator,
    /// Configures projects, edits tickets, assigns operators.
    ProjectManager,
    /// Monitors across projects; workforce management.
    ProjectGroupManager,
    /// A client company's user: sees its own projects.
    Customer,
    /// A specialist who works the tickets routed to them.
    Executor,
    /// Evaluates calls and tickets.
    QaEvaluator,
    /// Configures and controls evaluations.
    QaLead,
    /// Absences, personal data, working-time compliance.
    Hr,
    /// Settings and access for the tenant.
    Admin,
}

/// The channel a ticket came in through (wire names of `tenet_events::tickets::Channel`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = Channel)]
pub enum ChannelSchema {
    /// A phone call.
    Voice,
    /// E-mail.
    Email,
    /// Web chat.
    Chat,
    /// A messenger.
    Messenger,
    /// Text message.
    Sms,
    /// A form on a web site.
    WebForm,
    /// A social network.
    Social,
}

/// Where a ticket is in its workflow (wire names of `tenet_events::tickets::TicketStatus`).
///
/// Nothing goes back to `new`; `closed` only reopens to `open`; `solved` goes to `open` or
/// `closed`; the others move freely.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = TicketStatus)]
pub enum TicketStatusSchema {
    /// Created, nobody has worked on it yet.
    New,
    /// Being worked on.
    Open,
    /// Waiting for the customer.
    Pending,
    /// Waiting for a third party.
    OnHold,
    /// Answered.
    Solved,
    /// Finished.
    Closed,
}

/// How urgent a ticket is (wire names of `tenet_events::tickets::TicketPriority`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = TicketPriority)]
pub enum TicketPrioritySchema {
    /// Low.
    Low,
    /// Normal.
    Normal,
    /// High.
    High,
    /// Urgent.
    Urgent,
}

/// How a customer reaches the center (wire names of `tenet_events::customers::IdentityKind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = IdentityKind)]
pub enum IdentityKindSchema {
    /// A phone number in international format (E.164), e.g. `+79991234567`.
    Phone,
    /// An e-mail address.
    Email,
    /// A Telegram user name or numeric id.
    Telegram,
    /// A WhatsApp id.
    Whatsapp,
    /// A Viber id.
    Viber,
    /// A VK id.
    Vk,
    /// A web-chat visitor id.
    WebChat,
}

/// What a flag on a customer says (wire names of `tenet_events::customers::FlagKind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = FlagKind)]
pub enum FlagKindSchema {
    /// A conflict with the customer (a dispute, an escalated complaint, abuse).
    Conflict,
    /// A commitment to the customer that was not kept (a promised call-back, a visit).
    BrokenCommitment,
}

/// What kind of absence (wire names of `tenet_events::hr::AbsenceKind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = AbsenceKind)]
pub enum AbsenceKindSchema {
    /// Paid vacation.
    Vacation,
    /// Sick leave.
    SickLeave,
    /// A day off (in lieu of overtime, a personal day).
    DayOff,
    /// Unpaid leave.
    UnpaidLeave,
}

/// Where an absence is in its approval (wire names of `tenet_events::hr::AbsenceStatus`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = AbsenceStatus)]
pub enum AbsenceStatusSchema {
    /// Waiting for HR.
    Requested,
    /// Approved by HR.
    Approved,
    /// Refused by HR.
    Rejected,
    /// Withdrawn.
    Cancelled,
}

/// What an agent is scheduled to do (wire names of `tenet_events::schedules::ActivityKind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = ActivityKind)]
pub enum ActivityKindSchema {
    /// Taking contacts: the shift's time outside its other activities.
    Work,
    /// A short break.
    Break,
    /// A meal break.
    Lunch,
    /// A team meeting, off the phones.
    Meeting,
    /// Training, off the phones.
    Training,
}

/// Who acted: a user, an API token or the platform itself (`tenet_events::identity::Principal`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
#[schema(as = Principal)]
pub enum PrincipalSchema {
    /// An interactive user, by id.
    User(Uuid),
    /// An integration's API token, by id.
    ApiToken(Uuid),
    /// The platform itself (imports, scheduled jobs).
    System,
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Tenet API",
        description = "The REST JSON API of Tenet, a contact-center platform. Every request \
                       except sign-in carries a credential: an `Authorization: Bearer` API \
                       token, or the session cookie of a signed-in browser, which must also \
                       echo the session's CSRF token in `x-csrf-token` on every request that \
                       is not GET, HEAD or OPTIONS. The tenant always comes from the \
                       credential. Errors answer `{\"error\": {\"code\", \"message\", \
                       \"details\"}}`, with `details.field` naming the field at fault."
    ),
    paths(
        routes::auth::login,
        routes::auth::logout,
        routes::me::get,
        routes::users::list,
        routes::users::create,
        routes::users::get,
        routes::projects::list,
        routes::projects::create,
        routes::projects::get,
        routes::projects::add_member,
        routes::projects::request_types,
        routes::projects::update_request_type,
        routes::projects::add_request_type,
        routes::projects::fields,
        routes::projects::add_field,
        routes::projects::update_field,
        routes::projects::sla_policy,
        routes::projects::put_sla_policy,
        routes::projects::client_view,
        routes::projects::put_client_view,
        routes::projects::dictionaries,
        routes::projects::add_dictionary,
        routes::projects::update_dictionary,
        routes::projects::workflow,
        routes::projects::put_workflow,
        routes::operations::list,
        routes::operations::add,
        routes::operations::update,
        routes::operations::offered,
        routes::operations::run,
        routes::notifications::rules,
        routes::notifications::add_rule,
        routes::notifications::update_rule,
        routes::notifications::inbox,
        routes::notifications::mark_read,
        routes::tickets::list,
        routes::tickets::create,
        routes::tickets::get,
        routes::tickets::update,
        routes::tickets::comments,
        routes::tickets::comment,
        routes::tickets::history,
        routes::tickets::redact_history,
        routes::tickets::redact_comment,
        routes::attachments::upload,
        routes::attachments::list,
        routes::attachments::download,
        routes::tasks::list,
        routes::tasks::create,
        routes::tasks::update,
        routes::tasks::time_spent,
        routes::tasks::log_time,
        routes::security_policy::get,
        routes::security_policy::put,
        routes::customers::list,
        routes::customers::create,
        routes::customers::get,
        routes::customers::update,
        routes::customers::add_identity,
        routes::customers::remove_identity,
        routes::customers::merge,
        routes::customers::split,
        routes::customers::raise_flag,
        routes::customers::resolve_flag,
        routes::customers::history,
        routes::audit::audit_log,
        routes::hr::add_department,
        routes::hr::departments,
        routes::hr::add_position,
        routes::hr::positions,
        routes::hr::create_employee,
        routes::hr::employees,
        routes::hr::employee,
        routes::hr::update_employee,
        routes::hr::personal_data,
        routes::hr::put_personal_data,
        routes::hr::add_contract,
        routes::hr::contracts,
        routes::hr::request_absence,
        routes::hr::absences,
        routes::hr::decide_absence,
        routes::schedules::publish,
        routes::schedules::list,
        routes::schedules::get,
    ),
    components(schemas(ErrorBody)),
    modifiers(&Shared)
)]
struct OpsApi;

/// The OpenAPI document of the ops API's routes, with their full paths under `/api/v1`.
///
/// The `tenet` binary merges it with the descriptions of the routes other crates mount.
pub fn document() -> Document {
    OpsApi::openapi()
}

/// Adds what every operation of the ops API shares; see the module's documentation.
struct Shared;

impl Modify for Shared {
    fn modify(&self, openapi: &mut Document) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            BEARER,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "An API token (`tnt_...`) issued by `tenet token create`; scoped to one \
                         tenant and role, expiring and revocable.",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            SESSION,
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                sessions::COOKIE,
                "The HttpOnly session cookie set by `POST /api/v1/auth/login`.",
            ))),
        );
        components.add_security_scheme(
            CSRF,
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                sessions::CSRF_HEADER,
                "The session's CSRF token from the sign-in answer; required with the session \
                 cookie on every request that is not GET, HEAD or OPTIONS.",
            ))),
        );
        for (path, item) in openapi.paths.paths.iter_mut() {
            for (method, operation) in operations(item) {
                // Handler names repeat across modules (`get`, `list`); the method and the
                // path make each operation's id unique, as OpenAPI requires.
                operation.operation_id = Some(operation_id(&method, path));
                add_shared_responses(operation);
            }
        }
        openapi.tags = Some(tags());
    }
}

fn tags() -> Vec<Tag> {
    [
        ("auth", "Sign-in and sign-out of browser sessions."),
        ("me", "The caller."),
        ("users", "The people of the tenant."),
        ("projects", "Client engagements and who works on them."),
        (
            "tickets",
            "Tickets from every channel, their comments and history.",
        ),
        ("security", "The tenant's security policy."),
        (
            "customers",
            "One customer across phone numbers, e-mails and messengers: the customer 360.",
        ),
        (
            "audit",
            "Who read whose personal data, and who redacted what.",
        ),
        (
            "hr",
            "Employees, departments, positions, contracts, absences and personal data.",
        ),
        (
            "schedules",
            "Published weekly schedules: every agent's shifts, breaks and other activities.",
        ),
    ]
    .into_iter()
    .map(|(name, description)| {
        TagBuilder::new()
            .name(name)
            .description(Some(description))
            .build()
    })
    .collect()
}

/// A unique id for the operation at `method` and `path`: `get_tickets_id_history`.
pub fn operation_id(method: &HttpMethod, path: &str) -> String {
    let method = match method {
        HttpMethod::Get => "get",
        HttpMethod::Put => "put",
        HttpMethod::Post => "post",
        HttpMethod::Delete => "delete",
        HttpMethod::Options => "options",
        HttpMethod::Head => "head",
        HttpMethod::Patch => "patch",
        HttpMethod::Trace => "trace",
    };
    let resource: String = path
        .trim_start_matches("/api/v1/")
        .chars()
        .filter(|c| !matches!(c, '{' | '}'))
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    format!("{method}_{resource}")
}

/// The operations of a path item, with their methods.
pub fn operations(
    item: &mut utoipa::openapi::PathItem,
) -> impl Iterator<Item = (HttpMethod, &mut Operation)> {
    [
        (HttpMethod::Get, item.get.as_mut()),
        (HttpMethod::Put, item.put.as_mut()),
        (HttpMethod::Post, item.post.as_mut()),
        (HttpMethod::Delete, item.delete.as_mut()),
        (HttpMethod::Options, item.options.as_mut()),
        (HttpMethod::Head, item.head.as_mut()),
        (HttpMethod::Patch, item.patch.as_mut()),
        (HttpMethod::Trace, item.trace.as_mut()),
    ]
    .into_iter()
    .filter_map(|(method, operation)| operation.map(|operation| (method, operation)))
}

/// A response with the shared error body.
pub fn error_response(description: &str) -> Response {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            Content::new(Some(RefOr::Ref(utoipa::openapi::Ref::from_schema_name(
                "ErrorBody",
            )))),
        )
        .build()
}

/// Adds the error responses every operation can give: 401 and 403 when it needs a credential,
/// 400/413/415/422 when it reads a body, 500 and 503 always. Responses the operation
/// describes itself are kept; a shared description is appended to them.
pub fn add_shared_responses(operation: &mut Operation) {
    let secured = operation
        .security
        .as_ref()
        .is_some_and(|requirements| !requirements.is_empty());
    let has_body = operation.request_body.is_some();
    let has_path_id = operation.parameters.as_ref().is_some_and(|parameters| {
        parameters.iter().any(|parameter| {
            matches!(parameter, RefOr::T(parameter) if parameter.parameter_in == ParameterIn::Path)
        })
    });
    let mut shared: Vec<(&str, String)> = Vec::new();
    let mut malformed = Vec::new();
    if has_path_id {
        malformed.push("an id in the path is not a UUID");
    }
    if has_body {
        malformed.push("the body is not well-formed JSON");
    }
    if !malformed.is_empty() {
        shared.push((
            "400",
            format!("Malformed request: {}.", malformed.join("; ")),
        ));
    }
    if secured {
        shared.push((
            "401",
            "No credential, or one that is unknown, expired or revoked; a locked or \
             deactivated account."
                .to_owned(),
        ));
        shared.push((
            "403",
            "The caller's role may not do this, or a cookie-authenticated request lacks the \
             session's CSRF token."
                .to_owned(),
        ));
    }
    if has_body {
        shared.push((
            "413",
            "The body is larger than the server accepts.".to_owned(),
        ));
        shared.push((
            "415",
            "The body is not declared as JSON (`Content-Type: application/json`).".to_owned(),
        ));
        shared.push((
            "422",
            "The JSON has the wrong shape or a field is invalid; `details.field` names it."
                .to_owned(),
        ));
    }
    shared.push((
        "500",
        "The server failed; the cause is logged, never sent.".to_owned(),
    ));
    shared.push((
        "503",
        "The database is unavailable; retry later.".to_owned(),
    ));
    for (status, description) in shared {
        match operation.responses.responses.get_mut(status) {
            Some(RefOr::T(existing)) => {
                if !existing.description.contains(&description) {
                    existing.description = format!("{} {description}", existing.description);
                }
            }
            Some(RefOr::Ref(_)) => {}
            None => {
                operation
                    .responses
                    .responses
                    .insert(status.to_owned(), RefOr::T(error_response(&description)));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde::Serialize;
    use serde::de::DeserializeOwned;
    use tenet_events::Role;
    use tenet_events::customers::{FlagKind, IdentityKind};
    use tenet_events::hr::{AbsenceKind, AbsenceStatus};
    use tenet_events::identity::Principal;
    use tenet_events::schedules::ActivityKind;
    use tenet_events::tickets::{Channel, TicketPriority, TicketStatus};

    use super::*;

    /// Every value of the real type serializes to a value of the mirror and back, and the
    /// mirror has exactly as many variants.
    fn mirrors<Real, Mirror>(real: &[Real], mirror_count: usize)
    where
        Real: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug,
        Mirror: Serialize + DeserializeOwned,
    {
        for value in real {
            let json = serde_json::to_value(value).unwrap();
            let mirrored: Mirror = serde_json::from_value(json.clone())
                .unwrap_or_else(|error| panic!("{json} has no mirror: {error}"));
            let back: Real =
                serde_json::from_value(serde_json::to_value(mirrored).unwrap()).unwrap();
            assert_eq!(&back, value);
        }
        assert_eq!(real.len(), mirror_count);
    }

    // The exhaustive matches make a new variant of a real type a compile error here.
    fn channels() -> Vec<Channel> {
        let all = vec![
            Channel::Voice,
            Channel::Email,
            Channel::Chat,
            Channel::Messenger,
            Channel::Sms,
            Channel::WebForm,
            Channel::Social,
        ];
        for channel in &all {
            match channel {
                Channel::Voice
                | Channel::Email
                | Channel::Chat
                | Channel::Messenger
                | Channel::Sms
                | Channel::WebForm
                | Channel::Social => {}
            }
        }
        all
    }

    fn statuses() -> Vec<TicketStatus> {
        use TicketStatus::*;
        let all = vec![New, Open, Pending, OnHold, Solved, Closed];
        for status in &all {
            match status {
                New | Open | Pending | OnHold | Solved | Closed => {}
            }
        }
        all
    }

    fn priorities() -> Vec<TicketPriority> {
        use TicketPriority::*;
        let all = vec![Low, Normal, High, Urgent];
        for priority in &all {
            match priority {
                Low | Normal | High | Urgent => {}
            }
        }
        all
    }

    fn principals() -> Vec<Principal> {
        let all = vec![
            Principal::User(Uuid::now_v7()),
            Principal::ApiToken(Uuid::now_v7()),
            Principal::System,
        ];
        for principal in &all {
            match principal {
                Principal::User(_) | Principal::ApiToken(_) | Principal::System => {}
            }
        }
        all
    }

    fn flag_kinds() -> Vec<FlagKind> {
        let all = vec![FlagKind::Conflict, FlagKind::BrokenCommitment];
        for kind in &all {
            match kind {
                FlagKind::Conflict | FlagKind::BrokenCommitment => {}
            }
        }
        all
    }

    fn absence_kinds() -> Vec<AbsenceKind> {
        use AbsenceKind::*;
        let all = vec![Vacation, SickLeave, DayOff, UnpaidLeave];
        for kind in &all {
            match kind {
                Vacation | SickLeave | DayOff | UnpaidLeave => {}
            }
        }
        all
    }

    fn absence_statuses() -> Vec<AbsenceStatus> {
        use AbsenceStatus::*;
        let all = vec![Requested, Approved, Rejected, Cancelled];
        for status in &all {
            match status {
                Requested | Approved | Rejected | Cancelled => {}
            }
        }
        all
    }

    fn activity_kinds() -> Vec<ActivityKind> {
        use ActivityKind::*;
        let all = vec![Work, Break, Lunch, Meeting, Training];
        for kind in &all {
            match kind {
                Work | Break | Lunch | Meeting | Training => {}
            }
        }
        all
    }

    #[test]
    fn mirror_enums_carry_the_wire_names_of_the_event_contract() {
        mirrors::<AbsenceKind, AbsenceKindSchema>(&absence_kinds(), 4);
        mirrors::<AbsenceStatus, AbsenceStatusSchema>(&absence_statuses(), 4);
        mirrors::<IdentityKind, IdentityKindSchema>(&IdentityKind::ALL, 7);
        mirrors::<FlagKind, FlagKindSchema>(&flag_kinds(), 2);
        mirrors::<Role, RoleSchema>(&Role::ALL, 9);
        mirrors::<Channel, ChannelSchema>(&channels(), 7);
        mirrors::<TicketStatus, TicketStatusSchema>(&statuses(), 6);
        mirrors::<TicketPriority, TicketPrioritySchema>(&priorities(), 4);
        mirrors::<Principal, PrincipalSchema>(&principals(), 3);
        mirrors::<ActivityKind, ActivityKindSchema>(&activity_kinds(), 5);
    }

    #[test]
    fn every_operation_answers_errors_with_the_shared_body() {
        let document = document();
        let json = serde_json::to_value(&document).unwrap();
        assert_eq!(json["openapi"], "3.1.0");
        let paths = json["paths"].as_object().unwrap();
        assert!(paths.len() >= 10, "{paths:?}");
        for (path, item) in paths {
            for (method, operation) in item.as_object().unwrap() {
                let responses = operation["responses"].as_object().unwrap();
                for status in ["500", "503"] {
                    assert!(responses.contains_key(status), "{method} {path} {status}");
                }
                for (status, response) in responses {
                    if status.starts_with('4') || status.starts_with('5') {
                        assert_eq!(
                            response["content"]["application/json"]["schema"]["$ref"],
                            "#/components/schemas/ErrorBody",
                            "{method} {path} {status}"
                        );
                    }
                }
                let secured = operation.get("security").is_some();
                assert_eq!(secured, path != "/api/v1/auth/login", "{method} {path}");
                if secured {
                    assert!(responses.contains_key("401"), "{method} {path}");
                }
            }
        }
    }
}

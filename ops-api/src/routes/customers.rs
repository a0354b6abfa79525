//! `/api/v1/customers`: find a caller by phone, e-mail or messenger id, see everything about
//! them in one answer (the customer 360), keep their profile, merge duplicates, split wrongly
//! joined records, flag conflicts and broken commitments.
//!
//! Customers are the tenant's (`customer_read` / `customer_manage`); their tickets in the 360
//! are those the caller may see. Every answer carrying a customer's identities is written to the
//! audit log first.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use tenet_events::{Actor, TraceContext};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::OpsState;
use super::query::{known_params, limit, page, uuid};
use super::tickets::{text, trace};
use crate::audit::{self, Subject};
use crate::customers::{
    self, Customer, CustomerChange, CustomerError, CustomerFilter, Flag, FlagKind, HistoryEntry,
    Identity, IdentityKind, LifetimeValue, NewCustomer, Preferences, Split,
};
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, ChildPath, PathId, object, parse_json};
use crate::idempotency;
use crate::rbac::{Action, authorize};
use crate::tickets::{self, CustomerTickets, Visibility};

/// The longest display name accepted.
const MAX_NAME: usize = 200;
/// The longest flag note or resolution accepted.
const MAX_NOTE: usize = 2_000;
/// The most identities one request may carry.
const MAX_IDENTITIES: usize = 50;

impl From<CustomerError> for ApiError {
    fn from(error: CustomerError) -> Self {
        match error {
            CustomerError::NotFound => ApiError::NotFound(error.to_string()),
            CustomerError::FlagNotFound => ApiError::NotFound(error.to_string()),
            CustomerError::Merged { .. }
            | CustomerError::VersionConflict { .. }
            | CustomerError::FlagResolved => ApiError::Conflict(error.to_string()),
            CustomerError::IdentityTaken { ref field, .. } => ApiError::Invalid {
                status: StatusCode::CONFLICT,
                field: Some(field.clone()),
                message: error.to_string(),
            },
            CustomerError::RepeatedIdentity { ref field, .. }
            | CustomerError::UnknownIdentity { ref field, .. }
            | CustomerError::UnknownTicket { ref field, .. } => {
                ApiError::invalid_field(field.clone(), error.to_string())
            }
            CustomerError::SameCustomer => {
                ApiError::invalid_field("duplicate_id", error.to_string())
            }
            CustomerError::CurrencyMismatch(..) => {
                ApiError::invalid_field("duplicate_id", error.to_string())
            }
            CustomerError::NoChange => ApiError::invalid_field("body", error.to_string()),
            CustomerError::Database(error) => ApiError::from(error),
        }
    }
}

/// A phone number, e-mail address or messenger id.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewIdentity {
    /// Phone, e-mail or a messenger.
    #[schema(value_type = crate::openapi::IdentityKindSchema)]
    kind: IdentityKind,
    /// The number, address or id: a phone number in international format (`+7 999 123-45-67`),
    /// stored normalised (`+79991234567`).
    #[schema(min_length = 1, max_length = 254)]
    value: String,
}

fn name(field: &str, value: &str) -> Result<String, ApiError> {
    text(field, value, 1, MAX_NAME)
}

fn normalized(
    field: String,
    identity: &NewIdentity,
) -> Result<(String, IdentityKind, String), ApiError> {
    customers::normalize(identity.kind, &identity.value)
        .map(|value| (field.clone(), identity.kind, value))
        .map_err(|message| ApiError::invalid_field(field, message))
}

fn checked_preferences(preferences: Preferences) -> Result<Preferences, ApiError> {
    match preferences.problem() {
        Some((field, message)) => Err(ApiError::invalid_field(field, message)),
        None => Ok(preferences),
    }
}

fn checked_value(value: Option<LifetimeValue>) -> Result<Option<LifetimeValue>, ApiError> {
    match value.as_ref().and_then(LifetimeValue::problem) {
        Some((field, message)) => Err(ApiError::invalid_field(field, message)),
        None => Ok(value),
    }
}

/// A new customer.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateCustomer {
    /// The name operators see: 1 to 200 characters after trimming.
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    display_name: String,
    /// How to reach them; each may belong to one customer only (up to 50).
    #[serde(default, deserialize_with = "object::list")]
    #[schema(max_items = 50)]
    identities: Vec<NewIdentity>,
    /// VIP service; `false` when left out.
    #[serde(default)]
    vip: bool,
    /// How they prefer to be served.
    #[serde(default, deserialize_with = "object::required")]
    preferences: Preferences,
    /// What they have brought in.
    #[serde(default, deserialize_with = "object::optional")]
    lifetime_value: Option<LifetimeValue>,
}

/// Create a customer
///
/// With an `Idempotency-Key` header, a retry of the same request answers the first result
/// again instead of creating a second customer.
#[utoipa::path(
    post,
    path = "/api/v1/customers",
    tag = "customers",
    request_body = CreateCustomer,
    params(
        ("Idempotency-Key" = Option<String>, Header, pattern = "^[ \\t]*[!-~]([ -~]*[!-~])?[ \\t]*$",
         description = "1 to 200 visible ASCII characters (spaces inside allowed; surrounding whitespace is not part of it) naming this creation; reused only for the same body."),
    ),
    responses(
        (status = 201, description = "The customer was created (or, for a repeated Idempotency-Key, had been).", body = Customer),
        (status = 409, description = "An identity belongs to another customer (`details.field` names it), or a request with the same Idempotency-Key is in progress.", body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = [], "csrf" = []))
)]
pub async fn create(
    State(state): State<OpsState>,
    Extension(actor): Extension<Actor>,
    context: Option<Extension<TraceContext>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    authorize(&actor, Action::CustomerManage)?;
    let request: CreateCustomer = parse_json(&headers, &body)?;
    let display_name = name("display_name", &request.display_name)?;
    if request.identities.len() > MAX_IDENTITIES {
        return Err(ApiError::invalid_field(
            "identities",
            format!("at most {MAX_IDENTITIES} identities at once"),
        ));
    }
    let identities = request
        .identities
        .iter()
        .enumerate()
        .map(|(i, identity)| normalized(format!("identities[{i}].value"), identity))
        .collect::<Result<Vec<_>, _>>()?;
    let new = NewCustomer {
        display_name,
        vip: request.vip,
        preferences: checked_preferences(request.preferences)?,
        lifetime_value: checked_value(request.lifetime_value)?,
        identities,
    };
    idempotency::create_once(&state.db, actor.tenant_id, &headers, &body, async || {
        customers::create(&state.db, &actor, trace(&context), new).await
    })
    .await
}

/// One page of customers.
#[derive(Serialize, ToSchema)]
#[schema(as = CustomerPage)]
pub struct Page {
    /// The customers, oldest first.
    items: Vec<Customer>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    next_cursor: Option<Uuid>,
}

/// The query parameters of `GET /api/v1/customers`; the handler reads them by these names and
/// refuses any other.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct ListCustomers {
    /// With `identity`: the kind of identity to look up.
    #[param(value_type = Option<crate::openapi::IdentityKindSchema>)]
    identity_kind: Option<IdentityKind>,
    /// With `identity_kind`: the number, address or id to look up (any common spelling; it is
    /// normalised as on creation).
    #[param(min_length = 1, max_length = 254)]
    identity: Option<String>,
    /// Only customers whose name contains this, ignoring case.
    #[param(min_length = 1, max_length = 200)]
    name: Option<String>,
    /// Only VIPs (`true`) or only others (`false`).
    vip: Option<bool>,
    /// The `next_cursor` of the previous page.
    cursor: Option<Uuid>,
    /// At most this many customers, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<i64>,
}

/// Find customers
///
/// By identity (the caller's number on an incoming call), by name, by VIP status; merged
/// customers are left out. Each customer returned is recorded in the audit log.
#[utoipa::path(
    get,
    path = "/api/v1/customers",
    tag = "customers",
    params(ListCustomers),
    responses(
        (status = 200, description = "A page of customers.", body = Page),
        (status = 400, description = "The query string is malformed.", body = ErrorBody),
        (status = 422, description = "A parameter is unknown or invalid; `details.field` names it.", body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = []))
)]
pub async fn list(
    State(state): State<OpsState>,
    Extension(actor): Extension<Actor>,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Json<Page>, ApiError> {
    let params = known_params(
        query,
        &[
            "identity_kind",
            "identity",
            "name",
            "vip",
            "cursor",
            "limit",
        ],
    )?;
    authorize(&actor, Action::CustomerRead)?;
    let identity = match (params.get("identity_kind"), params.get("identity")) {
        (None, None) => None,
        (Some(kind), Some(value)) => {
            let kind = IdentityKind::parse(kind).ok_or_else(|| {
                ApiError::invalid_field(
                    "identity_kind",
                    "identity_kind must be phone, email, telegram, whatsapp, viber, vk or web_chat",
                )
            })?;
            let value = customers::normalize(kind, value)
                .map_err(|message| ApiError::invalid_field("identity", message))?;
            Some((kind, value))
        }
        (Some(_), None) => {
            return Err(ApiError::invalid_field(
                "identity",
                "identity_kind needs identity, the value to look up",
            ));
        }
        (None, Some(_)) => {
            return Err(ApiError::invalid_field(
                "identity_kind",
                "identity needs identity_kind (phone, email, ...)",
            ));
        }
    };
    let name = params
        .get("name")
        .map(|value| match text("name", value, 1, MAX_NAME) {
            Ok(name) if name.chars().any(char::is_control) => Err(ApiError::invalid_field(
                "name",
                "name must not contain control characters",
            )),
            other => other,
        })
        .transpose()?;
    let vip = params
        .get("vip")
        .map(|value| match value.as_str() {
            "true" => Ok(true),
            "false" => Ok(false),
            _ => Err(ApiError::invalid_field("vip", "vip must be true or false")),
        })
        .transpose()?;
    let limit = limit(&params, 50, 200)?;
    let filter = CustomerFilter {
        identity,
        name,
        vip,
        after: uuid(&params, "cursor")?,
        limit: limit + 1,
    };
    let mut items = customers::search(&state.db, actor.tenant_id, &filter).await?;
    let next_cursor = page(&mut items, limit, |customer| customer.id);
    let read: Vec<Uuid> = items.iter().map(|customer| customer.id).collect();
    audit::record_reads(&state.db, &actor, Subject::Customer, &read, "search").await?;
    Ok(Json(Page { items, next_cursor }))
}

/// Everything about a customer in one answer.
#[derive(Serialize, ToSchema)]
pub struct CustomerView {
    /// The customer, with its identities.
    #[serde(flatten)]
    customer: Customer,
    /// Its flags, open and resolved, oldest first.
    flags: Vec<Flag>,
    /// Its tickets, as far as the caller may see them.
    tickets: CustomerTickets,
}

async fn found(state: &OpsState, actor: &Actor, id: Uuid) -> Result<Customer, ApiError> {
    customers::get(&state.db, actor.tenant_id, id)
        .await?
        .ok_or_else(|| CustomerError::NotFound.into())
}

async fn view(
    state: &OpsState,
    actor: &Actor,
    customer: Customer,
) -> Result<CustomerView, ApiError> {
    let flags = customers::flags(&state.db, actor.tenant_id, customer.id).await?;
    let tickets = match authorize(actor, Action::TicketRead) {
        Ok(scope) => {
            tickets::of_customer(&state.db, actor, Visibility::of(actor, scope), customer.id)
                .await?
        }
        Err(_) => CustomerTickets {
            total: 0,
            open: 0,
            first_contact_at: None,
            last_contact_at: None,
            recent: Vec::new(),
        },
    };
    audit::record_reads(&state.db, actor, Subject::Customer, &[customer.id], "read").await?;
    Ok(CustomerView {
        customer,
        flags,
        tickets,
    })
}

/// Read a customer (the customer 360)
///
/// The profile with every identity, the flags, and the tickets the caller may see: counts,
/// first and latest contact, the latest twenty. A merged customer answers with `merged_into`
/// naming the one it lives on as. The read is recorded in the audit log.
#[utoipa::path(
    get,
    path = "/api/v1/customers/{id}",
    tag = "customers",
    params(("id" = uuid::Uuid, Path, description = "The customer's id.")),
    responses(
        (status = 200, description = "The customer 360.", body = CustomerView),
        (status = 404, description = "No such customer.", body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = []))
)]
pub async fn get(
    State(state): State<OpsState>,
    Extension(actor): Extension<Actor>,
    PathId(id): PathId,
) -> Result<Json<CustomerView>, ApiError> {
    authorize(&actor, Action::CustomerRead)?;
    let customer = found(&state, &actor, id).await?;
    Ok(Json(view(&state, &actor, customer).await?))
}

/// A change to a customer's profile, based on the version the caller saw.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateCustomer {
    /// The customer's `version` the change is based on.
    version: i64,
    /// The new name: 1 to 200 characters after trimming.
    #[serde(default)]
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    display_name: Option<String>,
    /// VIP service or not.
    #[serde(default)]
    vip: Option<bool>,
    /// The new preferences, replacing the old ones whole.
    #[serde(default, deserialize_with = "object::optional")]
    preferences: Option<Preferences>,
    /// The new lifetime value; `null` clears it.
    #[serde(default, deserialize_with = "object::present")]
    #[schema(value_type = Option<LifetimeValue>)]
    lifetime_value: Option<Option<LifetimeValue>>,
}

/// Change a customer
///
/// Name, VIP status, preferences or lifetime value, if the customer is still at `version`.
#[utoipa::path(
    patch,
    path = "/api/v1/customers/{id}",
    tag = "customers",
    params(("id" = uuid::Uuid, Path, description = "The customer's id.")),
    request_body = UpdateCustomer,
    responses(
        (status = 200, description = "The changed customer.", body = Customer),
        (status = 404, description = "No such customer.", body = ErrorBody),
        (status = 409, description = "Someone changed the customer since `version`, or it was merged into another.", body = ErrorBody),
        (status = 422, description = "An invalid field, or no change at all; `details.field` names it.", body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = [], "csrf" = []))
)]
pub async fn update(
    State(state): State<OpsState>,
    Extension(actor): Extension<Actor>,
    context: Option<Extension<TraceContext>>,
    PathId(id): PathId,
    ApiJson(body): ApiJson<UpdateCustomer>,
) -> Result<Json<Customer>, ApiError> {
    authorize(&actor, Action::CustomerManage)?;
    let customer = found(&state, &actor, id).await?;
    let change = CustomerChange {
        display_name: body
            .display_name
            .map(|value| name("display_name", &value))
            .transpose()?,
        vip: body.vip,
        preferences: body.preferences.map(checked_preferences).transpose()?,
        lifetime_value: body.lifetime_value.map(checked_value).transpose()?,
    };
    Ok(Json(
        customers::update(
            &state.db,
            &actor,
            trace(&context),
            &customer,
            body.version,
            change,
        )
        .await?,
    ))
}

/// Add an identity to a customer
#[utoipa::path(
    post,
    path = "/api/v1/customers/{id}/identities",
    tag = "customers",
    params(("id" = uuid::Uuid, Path, description = "The customer's id.")),
    request_body = NewIdentity,
    responses(
        (status = 201, description = "The identity was added.", body = Identity),
        (status = 404, description = "No such customer.", body = ErrorBody),
        (status = 409, description = "The identity belongs to a customer already, or this one was merged.", body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = [], "csrf" = []))
)]
pub async fn add_identity(
    State(state): State<OpsState>,
    Extension(actor): Extension<Actor>,
    context: Option<Extension<TraceContext>>,
    PathId(id): PathId,
    ApiJson(body): ApiJson<NewIdentity>,
) -> Result<(StatusCode, Json<Identity>), ApiError> {
    authorize(&actor, Action::CustomerManage)?;
    let customer = found(&state, &actor, id).await?;
    let (_, kind, value) = normalized("value".into(), &body)?;
    let identity =
        customers::add_identity(&state.db, &actor, trace(&context), &customer, kind, value).await?;
    Ok((StatusCode::CREATED, Json(identity)))
}

/// Remove an identity from a customer
#[utoipa::path(
    delete,
    path = "/api/v1/customers/{id}/identities/{identity_id}",
    tag = "customers",
    params(
        ("id" = uuid::Uuid, Path, description = "The customer's id."),
        ("identity_id" = uuid::Uuid, Path, description = "The identity's id."),
    ),
    responses(
        (status = 204, description = "The identity was removed."),
        (status = 404, description = "No such customer.", body = ErrorBody),
        (status = 422, description = "The identity is not the customer's.", body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = [], "csrf" = []))
)]
pub async fn remove_identity(
    State(state): State<OpsState>,
    Extension(actor): Extension<Actor>,
    context: Option<Extension<TraceContext>>,
    path: ChildPath,
) -> Result<StatusCode, ApiError> {
    authorize(&actor, Action::CustomerManage)?;
    let customer = found(&state, &actor, path.parent).await?;
    customers::remove_identity(&state.db, &actor, trace(&context), &customer, path.child).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A duplicate to merge into the customer.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MergeCustomer {
    /// The kept customer's `version` the merge is based on.
    version: i64,
    /// The duplicate, whose identities, tickets and flags move over.
    duplicate_id: Uuid,
}

/// Merge a duplicate into a customer
///
/// The duplicate's identities, tickets and flags move to this customer; it becomes VIP if
/// either was, its lifetime value is the sum (in one currency), its unset preferences come from
/// the duplicate. The duplicate stays readable with `merged_into` set.
#[utoipa::path(
    post,
    path = "/api/v1/customers/{id}/merge",
    tag = "customers",
    params(("id" = uuid::Uuid, Path, description = "The customer kept.")),
    request_body = MergeCustomer,
    responses(
        (status = 200, description = "The customer with everything of the duplicate.", body = Customer),
        (status = 404, description = "No such customer.", body = ErrorBody),
        (status = 409, description = "Either changed since read, or was merged already.", body = ErrorBody),
        (status = 422, description = "The duplicate is unknown, the customer itself, or values in two currencies.", body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = [], "csrf" = []))
)]
pub async fn merge(
    State(state): State<OpsState>,
    Extension(actor): Extension<Actor>,
    context: Option<Extension<TraceContext>>,
    PathId(id): PathId,
    ApiJson(body): ApiJson<MergeCustomer>,
) -> Result<Json<Customer>, ApiError> {
    authorize(&actor, Action::CustomerManage)?;
    let target = found(&state, &actor, id).await?;
    let duplicate = customers::get(&state.db, actor.tenant_id, body.duplicate_id)
        .await?
        .ok_or_else(|| ApiError::invalid_field("duplicate_id", "no such customer"))?;
    Ok(Json(
        customers::merge(
            &state.db,
            &actor,
            trace(&context),
            &target,
            body.version,
            &duplicate,
        )
        .await?,
    ))
}

/// What to split off a customer into a new one.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SplitCustomer {
    /// The customer's `version` the split is based on.
    version: i64,
    /// The new customer's name: 1 to 200 characters after trimming.
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    display_name: String,
    /// The identities that belong to the new customer (up to 50).
    #[serde(default)]
    #[schema(max_items = 50)]
    identity_ids: Vec<Uuid>,
    /// The tickets that belong to the new customer (up to 1,000).
    #[serde(default)]
    #[schema(max_items = 1000)]
    ticket_ids: Vec<Uuid>,
}

/// Split a customer in two
///
/// Moves the named identities and tickets out into a new customer, for records that were
/// wrongly joined (a shared family phone, a merge by mistake).
#[utoipa::path(
    post,
    path = "/api/v1/customers/{id}/split",
    tag = "customers",
    params(("id" = uuid::Uuid, Path, description = "The customer split.")),
    request_body = SplitCustomer,
    responses(
        (status = 201, description = "The new customer.", body = Customer),
        (status = 404, description = "No such customer.", body = ErrorBody),
        (status = 409, description = "The customer changed since `version`, or was merged.", body = ErrorBody),
        (status = 422, description = "An identity or ticket is not the customer's; `details.field` names it.", body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = [], "csrf" = []))
)]
pub async fn split(
    State(state): State<OpsState>,
    Extension(actor): Extension<Actor>,
    context: Option<Extension<TraceContext>>,
    PathId(id): PathId,
    ApiJson(body): ApiJson<SplitCustomer>,
) -> Result<(StatusCode, Json<Customer>), ApiError> {
    authorize(&actor, Action::CustomerManage)?;
    let customer = found(&state, &actor, id).await?;
    let display_name = name("display_name", &body.display_name)?;
    if body.identity_ids.len() > MAX_IDENTITIES {
        return Err(ApiError::invalid_field(
            "identity_ids",
            format!("at most {MAX_IDENTITIES} identities at once"),
        ));
    }
    if body.ticket_ids.len() > 1_000 {
        return Err(ApiError::invalid_field(
            "ticket_ids",
            "at most 1,000 tickets at once",
        ));
    }
    if body.identity_ids.is_empty() && body.ticket_ids.is_empty() {
        return Err(ApiError::invalid_field(
            "identity_ids",
            "name the identities or tickets that move to the new customer",
        ));
    }
    let named = |field: &str, ids: &[Uuid]| -> Vec<(String, Uuid)> {
        let mut seen = std::collections::HashSet::new();
        ids.iter()
            .enumerate()
            .filter(|(_, id)| seen.insert(**id))
            .map(|(i, id)| (format!("{field}[{i}]"), *id))
            .collect()
    };
    let split = Split {
        display_name,
        identities: named("identity_ids", &body.identity_ids),
        tickets: named("ticket_ids", &body.ticket_ids),
    };
    let created = customers::split(
        &state.db,
        &actor,
        trace(&context),
        &customer,
        body.version,
        split,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// A new flag.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RaiseFlag {
    /// What it is about.
    #[schema(value_type = crate::openapi::FlagKindSchema)]
    kind: FlagKind,
    /// What happened: 1 to 2,000 characters after trimming.
    #[schema(min_length = 1, max_length = 2000, pattern = r"\S")]
    note: String,
}

/// Flag a conflict or a broken commitment
#[utoipa::path(
    post,
    path = "/api/v1/customers/{id}/flags",
    tag = "customers",
    params(("id" = uuid::Uuid, Path, description = "The customer's id.")),
    request_body = RaiseFlag,
    responses(
        (status = 201, description = "The flag was raised.", body = Flag),
        (status = 404, description = "No such customer.", body = ErrorBody),
        (status = 409, description = "The customer was merged into another.", body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = [], "csrf" = []))
)]
pub async fn raise_flag(
    State(state): State<OpsState>,
    Extension(actor): Extension<Actor>,
    context: Option<Extension<TraceContext>>,
    PathId(id): PathId,
    ApiJson(body): ApiJson<RaiseFlag>,
) -> Result<(StatusCode, Json<Flag>), ApiError> {
    authorize(&actor, Action::CustomerManage)?;
    let customer = found(&state, &actor, id).await?;
    let note = text("note", &body.note, 1, MAX_NOTE)?;
    let flag = customers::raise_flag(
        &state.db,
        &actor,
        trace(&context),
        &customer,
        body.kind,
        note,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(flag)))
}

/// The resolution of a flag.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResolveFlag {
    /// The flag's `version` the resolution is based on.
    version: i64,
    /// How it was resolved: 1 to 2,000 characters after trimming.
    #[schema(min_length = 1, max_length = 2000, pattern = r"\S")]
    resolution: String,
}

/// Resolve a flag
#[utoipa::path(
    patch,
    path = "/api/v1/customers/{id}/flags/{flag_id}",
    tag = "customers",
    params(
        ("id" = uuid::Uuid, Path, description = "The customer's id."),
        ("flag_id" = uuid::Uuid, Path, description = "The flag's id."),
    ),
    request_body = ResolveFlag,
    responses(
        (status = 200, description = "The resolved flag.", body = Flag),
        (status = 404, description = "No such customer or flag.", body = ErrorBody),
        (status = 409, description = "The flag changed since `version` or was resolved already.", body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = [], "csrf" = []))
)]
pub async fn resolve_flag(
    State(state): State<OpsState>,
    Extension(actor): Extension<Actor>,
    context: Option<Extension<TraceContext>>,
    path: ChildPath,
    ApiJson(body): ApiJson<ResolveFlag>,
) -> Result<Json<Flag>, ApiError> {
    authorize(&actor, Action::CustomerManage)?;
    let customer = found(&state, &actor, path.parent).await?;
    let resolution = text("resolution", &body.resolution, 1, MAX_NOTE)?;
    Ok(Json(
        customers::resolve_flag(
            &state.db,
            &actor,
            trace(&context),
            &customer,
            path.child,
            body.version,
            resolution,
        )
        .await?,
    ))
}

/// Read a customer's history
///
/// Every change, oldest first: profile changes, identities added and removed, merges, splits,
/// flags raised and resolved; who made each and when.
#[utoipa::path(
    get,
    path = "/api/v1/customers/{id}/history",
    tag = "customers",
    params(("id" = uuid::Uuid, Path, description = "The customer's id.")),
    responses(
        (status = 200, description = "The history.", body = Vec<HistoryEntry>),
        (status = 404, description = "No such customer.", body = ErrorBody),
    ),
    security(("bearer" = []), ("session" = []))
)]
pub async fn history(
    State(state): State<OpsState>,
    Extension(actor): Extension<Actor>,
    PathId(id): PathId,
) -> Result<Json<Vec<HistoryEntry>>, ApiError> {
    authorize(&actor, Action::CustomerRead)?;
    let customer = found(&state, &actor, id).await?;
    Ok(Json(
        customers::history(&state.db, actor.tenant_id, customer.id).await?,
    ))
}

//! Customers 360: one customer identity across phone numbers, e-mail addresses and messenger
//! ids, with preferences, lifetime value, VIP status, flags (conflicts, broken commitments) and
//! a history of every change, merges and splits included.
//!
//! An identity (a normalised phone number, address or messenger id) belongs to at most one
//! customer of the tenant, so a caller's number finds exactly one customer. Merging moves the
//! identities, tickets and flags of a duplicate into the customer kept and leaves the duplicate
//! as a tombstone pointing at it (`merged_into`); splitting moves chosen identities and tickets
//! out into a new customer. Every change is one transaction with its history entry.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tenet_events::customers::{
    CustomerCreated, CustomerFlagResolved, CustomerFlagged, CustomerIdentityAdded,
    CustomerIdentityRemoved, CustomerMerged, CustomerUpdated,
};
pub use tenet_events::customers::{FlagKind, IdentityKind};
use tenet_events::identity::Principal;
use tenet_events::ids::{CustomerId, FlagId};
use tenet_events::tickets::Channel;
use tenet_events::{Actor, TenantId, TraceContext};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::db::{BeginWrite, Database, now, principal_json, stored};
use crate::outbox::OutboxRecord;
use crate::{enqueue, on_backend};

/// `value` in the form it is stored and looked up in: a phone number as `+` and its digits
/// (spaces, dashes, dots and parentheses dropped), an e-mail address lower-cased, a Telegram
/// name without its `@` and lower-cased, other ids trimmed.
///
/// # Errors
/// What is wrong with `value`, for a person.
pub fn normalize(kind: IdentityKind, value: &str) -> Result<String, String> {
    let value = value.trim();
    match kind {
        IdentityKind::Phone => {
            let compact: String = value
                .chars()
                .filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')'))
                .collect();
            let digits = compact.strip_prefix('+').ok_or_else(|| {
                "a phone number must be in international format, starting with + and the \
                 country code (e.g. +7 999 123-45-67)"
                    .to_owned()
            })?;
            if !(8..=15).contains(&digits.len())
                || !digits.bytes().all(|b| b.is_ascii_digit())
                || digits.starts_with('0')
            {
                return Err(
                    "a phone number must be + and 8 to 15 digits, not starting with 0 (E.164)"
                        .to_owned(),
                );
            }
            Ok(format!("+{digits}"))
        }
        IdentityKind::Email => {
            let address = value.to_lowercase();
            let valid = address.len() <= 254
                && !address.chars().any(|c| c.is_whitespace() || c.is_control())
                && match address.split_once('@') {
                    Some((local, domain)) => {
                        (1..=64).contains(&local.len())
                            && !domain.contains('@')
                            && domain.contains('.')
                            && !domain.starts_with('.')
                            && !domain.ends_with('.')
                            && !domain.contains("..")
                    }
                    None => false,
                };
            if valid {
                Ok(address)
            } else {
                Err("not an e-mail address (local@domain.tld)".to_owned())
            }
        }
        IdentityKind::Telegram
        | IdentityKind::Whatsapp
        | IdentityKind::Viber
        | IdentityKind::Vk
        | IdentityKind::WebChat => {
            let id = if kind == IdentityKind::Telegram {
                value.trim_start_matches('@').to_lowercase()
            } else {
                value.to_owned()
            };
            if id.is_empty()
                || id.chars().count() > 200
                || id.chars().any(|c| c.is_whitespace() || c.is_control())
            {
                return Err(format!(
                    "a {} id must be 1 to 200 characters without spaces",
                    kind.as_str()
                ));
            }
            Ok(id)
        }
    }
}

/// How a customer prefers to be served.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Preferences {
    /// The channel to reach them through.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<crate::openapi::ChannelSchema>)]
    pub preferred_channel: Option<Channel>,
    /// Their language, as a BCP 47 tag (`ru`, `en-GB`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(
        min_length = 2,
        max_length = 35,
        pattern = "^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$"
    )]
    pub language: Option<String>,
    /// When they may be contacted, in words ("weekdays after 18:00").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 200)]
    pub contact_hours: Option<String>,
    /// Whether they agreed to outbound campaigns and surveys.
    #[serde(default)]
    pub campaigns_consent: bool,
}

impl Preferences {
    /// The first problem with these preferences, as (field, message).
    pub fn problem(&self) -> Option<(&'static str, String)> {
        if let Some(language) = &self.language {
            let mut parts = language.split('-');
            let primary = parts.next().unwrap_or_default();
            let valid = (2..=35).contains(&language.len())
                && (2..=8).contains(&primary.len())
                && primary.chars().all(|c| c.is_ascii_alphabetic())
                && parts.all(|part| {
                    (1..=8).contains(&part.len()) && part.chars().all(|c| c.is_ascii_alphanumeric())
                });
            if !valid {
                return Some((
                    "preferences.language",
                    "language must be a BCP 47 tag such as ru or en-GB".into(),
                ));
            }
        }
        if let Some(hours) = &self.contact_hours
            && (hours.chars().count() > 200 || hours.chars().any(char::is_control))
        {
            return Some((
                "preferences.contact_hours",
                "contact_hours must be at most 200 characters on one line".into(),
            ));
        }
        None
    }

    /// These preferences with what they leave unset taken from `other`.
    fn or(self, other: Preferences) -> Preferences {
        Preferences {
            preferred_channel: self.preferred_channel.or(other.preferred_channel),
            language: self.language.or(other.language),
            contact_hours: self.contact_hours.or(other.contact_hours),
            campaigns_consent: self.campaigns_consent,
        }
    }
}

/// What a customer has brought in, in minor units of a currency (kopecks, cents).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LifetimeValue {
    /// The amount in minor units, 0 or more.
    #[schema(minimum = 0)]
    pub amount_minor: i64,
    /// The ISO 4217 currency code, e.g. `RUB`.
    #[schema(pattern = "^[A-Z]{3}$")]
    pub currency: String,
}

impl LifetimeValue {
    /// What is wrong with this value, if anything.
    pub fn problem(&self) -> Option<(&'static str, String)> {
        if self.amount_minor < 0 {
            return Some((
                "lifetime_value.amount_minor",
                "amount_minor must not be negative".into(),
            ));
        }
        if self.currency.len() != 3 || !self.currency.bytes().all(|b| b.is_ascii_uppercase()) {
            return Some((
                "lifetime_value.currency",
                "currency must be an ISO 4217 code such as RUB".into(),
            ));
        }
        None
    }
}

/// One way to reach a customer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Identity {
    /// Its id.
    pub id: Uuid,
    /// Phone, e-mail or a messenger.
    #[schema(value_type = crate::openapi::IdentityKindSchema)]
    pub kind: IdentityKind,
    /// The normalised value.
    pub value: String,
    /// When it was added.
    pub created_at: DateTime<Utc>,
}

/// A customer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Customer {
    /// Its id.
    pub id: Uuid,
    /// Its name as shown to operators.
    pub display_name: String,
    /// Whether it gets VIP service.
    pub vip: bool,
    /// How it prefers to be served.
    pub preferences: Preferences,
    /// What it has brought in, when known.
    pub lifetime_value: Option<LifetimeValue>,
    /// The customer it was merged into; such a customer has no identities of its own.
    pub merged_into: Option<Uuid>,
    /// Its phone numbers, e-mail addresses and messenger ids.
    pub identities: Vec<Identity>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When its profile last changed.
    pub updated_at: DateTime<Utc>,
    /// Its version: send it back with a change.
    pub version: i64,
}

#[derive(sqlx::FromRow)]
struct CustomerRow {
    id: Uuid,
    display_name: String,
    vip: bool,
    preferences: String,
    lifetime_value_minor: Option<i64>,
    currency: Option<String>,
    merged_into: Option<Uuid>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    version: i64,
}

const COLUMNS: &str = "id, display_name, vip, preferences, lifetime_value_minor, currency, \
                       merged_into, created_at, updated_at, version";

#[derive(sqlx::FromRow)]
struct IdentityRow {
    id: Uuid,
    customer_id: Uuid,
    kind: String,
    value: String,
    created_at: DateTime<Utc>,
}

impl CustomerRow {
    fn into_customer(self, identities: Vec<Identity>) -> Result<Customer, sqlx::Error> {
        let preferences =
            serde_json::from_str(&self.preferences).map_err(|error| sqlx::Error::ColumnDecode {
                index: "preferences".into(),
                source: Box::new(error),
            })?;
        Ok(Customer {
            id: self.id,
            display_name: self.display_name,
            vip: self.vip,
            preferences,
            lifetime_value: self.lifetime_value_minor.zip(self.currency).map(
                |(amount_minor, currency)| LifetimeValue {
                    amount_minor,
                    currency,
                },
            ),
            merged_into: self.merged_into,
            identities,
            created_at: self.created_at,
            updated_at: self.updated_at,
            version: self.version,
        })
    }
}

/// What goes wrong with a customer operation.
#[derive(Debug, thiserror::Error)]
pub enum CustomerError {
    /// No such customer in the tenant.
    #[error("no such customer")]
    NotFound,
    /// The customer was merged into another and changes no more.
    #[error("the customer was merged into {into}; use that one")]
    Merged {
        /// The customer it lives on as.
        into: Uuid,
    },
    /// An identity already belongs to a customer.
    #[error("{kind} {value} already belongs to customer {owner}")]
    IdentityTaken {
        /// The request field naming the identity.
        field: String,
        /// Its kind.
        kind: &'static str,
        /// Its normalised value.
        value: String,
        /// The customer it belongs to.
        owner: Uuid,
    },
    /// The same identity is given twice.
    #[error("{kind} {value} is given twice")]
    RepeatedIdentity {
        /// The request field of the second one.
        field: String,
        /// Its kind.
        kind: &'static str,
        /// Its normalised value.
        value: String,
    },
    /// The customer changed since the version the caller based the change on.
    #[error(
        "the customer was changed by someone else (now at version {current}); reload it and retry"
    )]
    VersionConflict {
        /// The version now stored.
        current: i64,
    },
    /// A customer cannot be merged into itself.
    #[error("a customer cannot be merged into itself")]
    SameCustomer,
    /// The two lifetime values are in different currencies.
    #[error("the lifetime values are in different currencies ({0} and {1}); convert one first")]
    CurrencyMismatch(String, String),
    /// A named identity is not one of the customer's.
    #[error("identity {id} is not one of this customer's")]
    UnknownIdentity {
        /// The request field naming it.
        field: String,
        /// The id given.
        id: Uuid,
    },
    /// A named ticket is not one of the customer's.
    #[error("ticket {id} is not one of this customer's")]
    UnknownTicket {
        /// The request field naming it.
        field: String,
        /// The id given.
        id: Uuid,
    },
    /// No such flag on the customer.
    #[error("no such flag on this customer")]
    FlagNotFound,
    /// The flag was resolved already.
    #[error("the flag was resolved already")]
    FlagResolved,
    /// The change changes nothing.
    #[error("the change has no effect")]
    NoChange,
    /// The database failed.
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

fn customer_id(id: Uuid) -> CustomerId {
    CustomerId::parse(id.to_string()).expect("a UUID is a valid customer id")
}

fn flag_id(id: Uuid) -> FlagId {
    FlagId::parse(id.to_string()).expect("a UUID is a valid flag id")
}

/// Appends a history entry of a customer inside the running transaction.
macro_rules! record {
    ($tx:expr, $tenant:expr, $customer:expr, $actor:expr, $change:expr, $detail:expr, $at:expr) => {
        sqlx::query(
            "insert into customer_history (id, tenant_id, customer_id, actor, change, detail, at) \
             values ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(Uuid::now_v7())
        .bind($tenant)
        .bind($customer)
        .bind($actor)
        .bind($change)
        .bind($detail)
        .bind($at)
        .execute($tx)
        .await
    };
}

/// Moves a ticket to another customer inside the running transaction, with a line in the
/// ticket's history.
macro_rules! move_ticket {
    ($tx:expr, $tenant:expr, $ticket:expr, $from:expr, $to:expr, $actor:expr, $at:expr) => {{
        sqlx::query("update tickets set customer_id = $1 where tenant_id = $2 and id = $3")
            .bind($to)
            .bind($tenant)
            .bind($ticket)
            .execute(&mut *$tx)
            .await?;
        sqlx::query(
            "insert into ticket_history (id, tenant_id, ticket_id, actor, field, old_value, new_value, at) \
             values ($1, $2, $3, $4, 'customer_id', $5, $6, $7)",
        )
        .bind(Uuid::now_v7())
        .bind($tenant)
        .bind($ticket)
        .bind($actor)
        .bind($from.to_string())
        .bind($to.to_string())
        .bind($at)
        .execute(&mut *$tx)
        .await?;
    }};
}

/// A new customer.
#[derive(Debug, Clone)]
pub struct NewCustomer {
    /// Its name, already validated.
    pub display_name: String,
    /// Whether it gets VIP service.
    pub vip: bool,
    /// Its preferences, already validated.
    pub preferences: Preferences,
    /// Its lifetime value, already validated.
    pub lifetime_value: Option<LifetimeValue>,
    /// Its identities, normalised, each with the request field it came from.
    pub identities: Vec<(String, IdentityKind, String)>,
}

async fn identity_owner(
    db: &Database,
    tenant: TenantId,
    kind: IdentityKind,
    value: &str,
) -> Result<Option<Uuid>, sqlx::Error> {
    on_backend!(db, |pool| {
        sqlx::query_scalar(
            "select customer_id from customer_identities where tenant_id = $1 and kind = $2 and value = $3",
        )
        .bind(tenant.as_uuid())
        .bind(kind.as_str())
        .bind(value)
        .fetch_optional(pool)
        .await
    })
}

async fn ensure_free(
    db: &Database,
    tenant: TenantId,
    identities: &[(String, IdentityKind, String)],
) -> Result<(), CustomerError> {
    let mut seen = BTreeMap::new();
    for (field, kind, value) in identities {
        if seen.insert((*kind, value.clone()), field).is_some() {
            return Err(CustomerError::RepeatedIdentity {
                field: field.clone(),
                kind: kind.as_str(),
                value: value.clone(),
            });
        }
        if let Some(owner) = identity_owner(db, tenant, *kind, value).await? {
            return Err(CustomerError::IdentityTaken {
                field: field.clone(),
                kind: kind.as_str(),
                value: value.clone(),
                owner,
            });
        }
    }
    Ok(())
}

/// Creates a customer with its identities.
///
/// # Errors
/// [`CustomerError::IdentityTaken`] when an identity belongs to a customer already,
/// [`CustomerError::RepeatedIdentity`] when it is given twice; database errors.
pub async fn create(
    db: &Database,
    actor: &Actor,
    trace: Option<&TraceContext>,
    new: NewCustomer,
) -> Result<Customer, CustomerError> {
    ensure_free(db, actor.tenant_id, &new.identities).await?;
    let now = now();
    let id = Uuid::now_v7();
    let tenant = actor.tenant_id.as_uuid();
    let identities: Vec<Identity> = new
        .identities
        .iter()
        .map(|(_, kind, value)| Identity {
            id: Uuid::now_v7(),
            kind: *kind,
            value: value.clone(),
            created_at: now,
        })
        .collect();
    let preferences = serde_json::to_string(&new.preferences).unwrap_or_else(|_| "{}".into());
    let mut records = vec![OutboxRecord::of(
        actor,
        now,
        trace,
        CustomerCreated {
            customer_id: customer_id(id),
            vip: new.vip,
            split_from: None,
        },
    )];
    records.extend(identities.iter().map(|identity| {
        OutboxRecord::of(
            actor,
            now,
            trace,
            CustomerIdentityAdded {
                customer_id: customer_id(id),
                identity_kind: identity.kind,
            },
        )
    }));
    on_backend!(db, |pool| {
        let mut tx = pool.begin_write().await?;
        sqlx::query(
            "insert into customers (id, tenant_id, display_name, search_name, vip, preferences, \
             lifetime_value_minor, currency, created_at, updated_at) \
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)",
        )
        .bind(id)
        .bind(tenant)
        .bind(&new.display_name)
        .bind(new.display_name.to_lowercase())
        .bind(new.vip)
        .bind(&preferences)
        .bind(new.lifetime_value.as_ref().map(|value| value.amount_minor))
        .bind(
            new.lifetime_value
                .as_ref()
                .map(|value| value.currency.as_str()),
        )
        .bind(now)
        .execute(&mut *tx)
        .await?;
        for identity in &identities {
            sqlx::query(
                "insert into customer_identities (id, tenant_id, customer_id, kind, value, created_at) \
                 values ($1, $2, $3, $4, $5, $6)",
            )
            .bind(identity.id)
            .bind(tenant)
            .bind(id)
            .bind(identity.kind.as_str())
            .bind(&identity.value)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        record!(
            &mut *tx,
            tenant,
            id,
            principal_json(actor),
            "created",
            &new.display_name,
            now
        )?;
        for record in &records {
            enqueue!(&mut *tx, record)?;
        }
        tx.commit().await?;
    });
    Ok(Customer {
        id,
        display_name: new.display_name,
        vip: new.vip,
        preferences: new.preferences,
        lifetime_value: new.lifetime_value,
        merged_into: None,
        identities,
        created_at: now,
        updated_at: now,
        version: 1,
    })
}

async fn identities_of(
    db: &Database,
    tenant: TenantId,
    customers: &[Uuid],
) -> Result<BTreeMap<Uuid, Vec<Identity>>, sqlx::Error> {
    let mut by_customer: BTreeMap<Uuid, Vec<Identity>> = BTreeMap::new();
    if customers.is_empty() {
        return Ok(by_customer);
    }
    // One query per page of customers: ids as a JSON-free list of placeholders.
    let placeholders: Vec<String> = (0..customers.len())
        .map(|i| format!("${}", i + 2))
        .collect();
    let sql = format!(
        "select id, customer_id, kind, value, created_at from customer_identities \
         where tenant_id = $1 and customer_id in ({}) order by id",
        placeholders.join(", ")
    );
    let rows: Vec<IdentityRow> = on_backend!(db, |pool| {
        let mut query = sqlx::query_as(&sql).bind(tenant.as_uuid());
        for customer in customers {
            query = query.bind(*customer);
        }
        query.fetch_all(pool).await?
    });
    for row in rows {
        let kind = IdentityKind::parse(&row.kind).ok_or_else(|| sqlx::Error::ColumnDecode {
            index: "kind".into(),
            source: format!("unknown identity kind {}", row.kind).into(),
        })?;
        by_customer
            .entry(row.customer_id)
            .or_default()
            .push(Identity {
                id: row.id,
                kind,
                value: row.value,
                created_at: row.created_at,
            });
    }
    Ok(by_customer)
}

async fn with_identities(
    db: &Database,
    tenant: TenantId,
    rows: Vec<CustomerRow>,
) -> Result<Vec<Customer>, sqlx::Error> {
    let ids: Vec<Uuid> = rows.iter().map(|row| row.id).collect();
    let mut identities = identities_of(db, tenant, &ids).await?;
    rows.into_iter()
        .map(|row| {
            let own = identities.remove(&row.id).unwrap_or_default();
            row.into_customer(own)
        })
        .collect()
}

/// One customer of the tenant, merged ones included.
///
/// # Errors
/// Database errors.
pub async fn get(
    db: &Database,
    tenant: TenantId,
    id: Uuid,
) -> Result<Option<Customer>, sqlx::Error> {
    let row: Option<CustomerRow> = on_backend!(db, |pool| {
        sqlx::query_as(&format!(
            "select {COLUMNS} from customers where tenant_id = $1 and id = $2"
        ))
        .bind(tenant.as_uuid())
        .bind(id)
        .fetch_optional(pool)
        .await?
    });
    match row {
        Some(row) => Ok(with_identities(db, tenant, vec![row]).await?.pop()),
        None => Ok(None),
    }
}

/// The customer `id` if it exists and was not merged into another.
///
/// # Errors
/// [`CustomerError::NotFound`], [`CustomerError::Merged`]; database errors.
pub async fn current(db: &Database, tenant: TenantId, id: Uuid) -> Result<Customer, CustomerError> {
    let customer = get(db, tenant, id).await?.ok_or(CustomerError::NotFound)?;
    match customer.merged_into {
        Some(into) => Err(CustomerError::Merged { into }),
        None => Ok(customer),
    }
}

/// Checks that `id` is a current customer of the tenant, as a ticket's customer must be.
///
/// # Errors
/// As [`current`].
pub async fn ensure_current(
    db: &Database,
    tenant: TenantId,
    id: Uuid,
) -> Result<(), CustomerError> {
    current(db, tenant, id).await.map(|_| ())
}

/// The customers merged into `id`, whose calls and contacts are now `id`'s.
///
/// # Errors
/// Database errors.
pub async fn merged_into(
    db: &Database,
    tenant: TenantId,
    id: Uuid,
) -> Result<Vec<Uuid>, sqlx::Error> {
    Ok(on_backend!(db, |pool| {
        sqlx::query_scalar("select id from customers where tenant_id = $1 and merged_into = $2")
            .bind(tenant.as_uuid())
            .bind(id)
            .fetch_all(pool)
            .await?
    }))
}

/// How to find customers.
#[derive(Debug, Clone, Default)]
pub struct CustomerFilter {
    /// The customer with this identity (normalised).
    pub identity: Option<(IdentityKind, String)>,
    /// Customers whose name contains this, ignoring case.
    pub name: Option<String>,
    /// Only VIPs (`true`) or only others (`false`).
    pub vip: Option<bool>,
    /// Only customers after this one (the previous page's `next_cursor`).
    pub after: Option<Uuid>,
    /// At most this many.
    pub limit: i64,
}

/// The current (not merged) customers matching `filter`, oldest first.
///
/// # Errors
/// Database errors.
pub async fn search(
    db: &Database,
    tenant: TenantId,
    filter: &CustomerFilter,
) -> Result<Vec<Customer>, sqlx::Error> {
    let name = filter.name.as_deref().map(crate::db::contains_pattern);
    let sql = format!(
        "select {COLUMNS} from customers c where c.tenant_id = $1 and c.merged_into is null \
         and ($2 is null or c.id in (select i.customer_id from customer_identities i \
              where i.tenant_id = c.tenant_id and i.kind = $2 and i.value = $3)) \
         and ($4 is null or c.search_name like $4 escape '\\') \
         and ($5 is null or c.vip = $5) and ($6 is null or c.id > $6) \
         order by c.id limit $7"
    );
    let rows: Vec<CustomerRow> = on_backend!(db, |pool| {
        sqlx::query_as(&sql)
            .bind(tenant.as_uuid())
            .bind(filter.identity.as_ref().map(|(kind, _)| kind.as_str()))
            .bind(filter.identity.as_ref().map(|(_, value)| value.as_str()))
            .bind(name.as_deref())
            .bind(filter.vip)
            .bind(filter.after)
            .bind(filter.limit)
            .fetch_all(pool)
            .await?
    });
    with_identities(db, tenant, rows).await
}

/// A change to a customer's profile; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct CustomerChange {
    /// The new name.
    pub display_name: Option<String>,
    /// VIP or not.
    pub vip: Option<bool>,
    /// The new preferences (replacing the old ones).
    pub preferences: Option<Preferences>,
    /// The new lifetime value (`Some(None)` clears it).
    pub lifetime_value: Option<Option<LifetimeValue>>,
}

/// Writes `next`'s profile over the stored one if that is still at `expected_version`, with
/// one history entry per line of `changes`. Returns whether it was still at that version.
async fn save_profile(
    db: &Database,
    actor: &Actor,
    next: &Customer,
    expected_version: i64,
    changes: &[(&'static str, String)],
    record: &OutboxRecord,
) -> Result<bool, sqlx::Error> {
    let tenant = actor.tenant_id.as_uuid();
    let preferences = serde_json::to_string(&next.preferences).unwrap_or_else(|_| "{}".into());
    Ok(on_backend!(db, |pool| {
        let mut tx = pool.begin_write().await?;
        let updated = sqlx::query(
            "update customers set display_name = $1, search_name = $2, vip = $3, preferences = $4, \
             lifetime_value_minor = $5, currency = $6, updated_at = $7, version = version + 1 \
             where tenant_id = $8 and id = $9 and version = $10 and merged_into is null",
        )
        .bind(&next.display_name)
        .bind(next.display_name.to_lowercase())
        .bind(next.vip)
        .bind(&preferences)
        .bind(next.lifetime_value.as_ref().map(|value| value.amount_minor))
        .bind(
            next.lifetime_value
                .as_ref()
                .map(|value| value.currency.as_str()),
        )
        .bind(next.updated_at)
        .bind(tenant)
        .bind(next.id)
        .bind(expected_version)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if updated {
            for (change, detail) in changes {
                record!(
                    &mut *tx,
                    tenant,
                    next.id,
                    principal_json(actor),
                    *change,
                    detail,
                    next.updated_at
                )?;
            }
            enqueue!(&mut *tx, record)?;
            tx.commit().await?;
        } else {
            tx.rollback().await?;
        }
        updated
    }))
}

async fn conflict(db: &Database, tenant: TenantId, id: Uuid) -> CustomerError {
    match get(db, tenant, id).await {
        Ok(Some(customer)) => match customer.merged_into {
            Some(into) => CustomerError::Merged { into },
            None => CustomerError::VersionConflict {
                current: customer.version,
            },
        },
        Ok(None) => CustomerError::NotFound,
        Err(error) => error.into(),
    }
}

/// Applies `change` to `customer` if it is still at `expected_version`.
///
/// # Errors
/// [`CustomerError::VersionConflict`], [`CustomerError::Merged`], [`CustomerError::NoChange`];
/// database errors.
pub async fn update(
    db: &Database,
    actor: &Actor,
    trace: Option<&TraceContext>,
    customer: &Customer,
    expected_version: i64,
    change: CustomerChange,
) -> Result<Customer, CustomerError> {
    if let Some(into) = customer.merged_into {
        return Err(CustomerError::Merged { into });
    }
    if customer.version != expected_version {
        return Err(CustomerError::VersionConflict {
            current: customer.version,
        });
    }
    let mut next = customer.clone();
    let mut changes: Vec<(&'static str, String)> = Vec::new();
    if let Some(name) = change
        .display_name
        .filter(|name| *name != customer.display_name)
    {
        changes.push(("display_name", name.clone()));
        next.display_name = name;
    }
    if let Some(vip) = change.vip.filter(|vip| *vip != customer.vip) {
        changes.push(("vip", vip.to_string()));
        next.vip = vip;
    }
    if let Some(preferences) = change
        .preferences
        .filter(|preferences| *preferences != customer.preferences)
    {
        changes.push((
            "preferences",
            serde_json::to_string(&preferences).unwrap_or_default(),
        ));
        next.preferences = preferences;
    }
    if let Some(value) = change
        .lifetime_value
        .filter(|value| *value != customer.lifetime_value)
    {
        changes.push((
            "lifetime_value",
            value
                .as_ref()
                .map(|value| format!("{} {}", value.amount_minor, value.currency))
                .unwrap_or_else(|| "unknown".into()),
        ));
        next.lifetime_value = value;
    }
    if changes.is_empty() {
        return Err(CustomerError::NoChange);
    }
    next.updated_at = now();
    next.version = customer.version + 1;
    let record = OutboxRecord::of(
        actor,
        next.updated_at,
        trace,
        CustomerUpdated {
            customer_id: customer_id(next.id),
            vip: next.vip,
        },
    );
    if !save_profile(db, actor, &next, expected_version, &changes, &record).await? {
        return Err(conflict(db, actor.tenant_id, customer.id).await);
    }
    Ok(next)
}

/// Adds an identity to `customer`.
///
/// # Errors
/// [`CustomerError::IdentityTaken`], [`CustomerError::Merged`]; database errors.
pub async fn add_identity(
    db: &Database,
    actor: &Actor,
    trace: Option<&TraceContext>,
    customer: &Customer,
    kind: IdentityKind,
    value: String,
) -> Result<Identity, CustomerError> {
    if let Some(into) = customer.merged_into {
        return Err(CustomerError::Merged { into });
    }
    ensure_free(
        db,
        actor.tenant_id,
        &[("value".into(), kind, value.clone())],
    )
    .await?;
    let identity = Identity {
        id: Uuid::now_v7(),
        kind,
        value,
        created_at: now(),
    };
    let tenant = actor.tenant_id.as_uuid();
    let record = OutboxRecord::of(
        actor,
        identity.created_at,
        trace,
        CustomerIdentityAdded {
            customer_id: customer_id(customer.id),
            identity_kind: kind,
        },
    );
    on_backend!(db, |pool| {
        let mut tx = pool.begin_write().await?;
        sqlx::query(
            "insert into customer_identities (id, tenant_id, customer_id, kind, value, created_at) \
             values ($1, $2, $3, $4, $5, $6)",
        )
        .bind(identity.id)
        .bind(tenant)
        .bind(customer.id)
        .bind(kind.as_str())
        .bind(&identity.value)
        .bind(identity.created_at)
        .execute(&mut *tx)
        .await?;
        let detail = format!("{} {}", kind.as_str(), identity.value);
        record!(
            &mut *tx,
            tenant,
            customer.id,
            principal_json(actor),
            "identity_added",
            &detail,
            identity.created_at
        )?;
        enqueue!(&mut *tx, &record)?;
        tx.commit().await?;
    });
    Ok(identity)
}

/// Removes the identity `id` from `customer`.
///
/// # Errors
/// [`CustomerError::UnknownIdentity`] when it is not the customer's; database errors.
pub async fn remove_identity(
    db: &Database,
    actor: &Actor,
    trace: Option<&TraceContext>,
    customer: &Customer,
    id: Uuid,
) -> Result<(), CustomerError> {
    let identity = customer
        .identities
        .iter()
        .find(|identity| identity.id == id)
        .ok_or(CustomerError::UnknownIdentity {
            field: "identity_id".into(),
            id,
        })?;
    let tenant = actor.tenant_id.as_uuid();
    let detail = format!("{} {}", identity.kind.as_str(), identity.value);
    let at = now();
    let record = OutboxRecord::of(
        actor,
        at,
        trace,
        CustomerIdentityRemoved {
            customer_id: customer_id(customer.id),
            identity_kind: identity.kind,
        },
    );
    let removed = on_backend!(db, |pool| {
        let mut tx = pool.begin_write().await?;
        let removed = sqlx::query(
            "delete from customer_identities where tenant_id = $1 and customer_id = $2 and id = $3",
        )
        .bind(tenant)
        .bind(customer.id)
        .bind(id)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if removed {
            record!(
                &mut *tx,
                tenant,
                customer.id,
                principal_json(actor),
                "identity_removed",
                &detail,
                at
            )?;
            enqueue!(&mut *tx, &record)?;
        }
        tx.commit().await?;
        removed
    });
    if removed {
        Ok(())
    } else {
        Err(CustomerError::UnknownIdentity {
            field: "identity_id".into(),
            id,
        })
    }
}

/// Merges `source` into `target`: the source's identities, tickets and flags move to the
/// target, the target becomes VIP if either was, its lifetime value is the sum, its unset
/// preferences come from the source, and the source is left pointing at the target. Both must
/// still be at the versions given.
///
/// # Errors
/// [`CustomerError::SameCustomer`], [`CustomerError::Merged`],
/// [`CustomerError::CurrencyMismatch`], [`CustomerError::VersionConflict`]; database errors.
pub async fn merge(
    db: &Database,
    actor: &Actor,
    trace: Option<&TraceContext>,
    target: &Customer,
    expected_version: i64,
    source: &Customer,
) -> Result<Customer, CustomerError> {
    if target.id == source.id {
        return Err(CustomerError::SameCustomer);
    }
    for customer in [target, source] {
        if let Some(into) = customer.merged_into {
            return Err(CustomerError::Merged { into });
        }
    }
    if target.version != expected_version {
        return Err(CustomerError::VersionConflict {
            current: target.version,
        });
    }
    let lifetime_value = match (&target.lifetime_value, &source.lifetime_value) {
        (Some(a), Some(b)) if a.currency != b.currency => {
            return Err(CustomerError::CurrencyMismatch(
                a.currency.clone(),
                b.currency.clone(),
            ));
        }
        (Some(a), Some(b)) => Some(LifetimeValue {
            amount_minor: a.amount_minor.saturating_add(b.amount_minor),
            currency: a.currency.clone(),
        }),
        (a, b) => a.clone().or_else(|| b.clone()),
    };
    let at = now();
    let mut next = target.clone();
    next.vip = target.vip || source.vip;
    next.preferences = target.preferences.clone().or(source.preferences.clone());
    next.lifetime_value = lifetime_value;
    next.identities.extend(source.identities.iter().cloned());
    next.updated_at = at;
    next.version = target.version + 1;
    let tenant = actor.tenant_id.as_uuid();
    let author = principal_json(actor);
    let preferences = serde_json::to_string(&next.preferences).unwrap_or_else(|_| "{}".into());
    let record = OutboxRecord::of(
        actor,
        at,
        trace,
        CustomerMerged {
            customer_id: customer_id(target.id),
            duplicate_id: customer_id(source.id),
            vip: next.vip,
        },
    );
    let merged = on_backend!(db, |pool| {
        let mut tx = pool.begin_write().await?;
        let target_updated = sqlx::query(
            "update customers set vip = $1, preferences = $2, lifetime_value_minor = $3, currency = $4, \
             updated_at = $5, version = version + 1 \
             where tenant_id = $6 and id = $7 and version = $8 and merged_into is null",
        )
        .bind(next.vip)
        .bind(&preferences)
        .bind(next.lifetime_value.as_ref().map(|value| value.amount_minor))
        .bind(next.lifetime_value.as_ref().map(|value| value.currency.as_str()))
        .bind(at)
        .bind(tenant)
        .bind(target.id)
        .bind(expected_version)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        let source_updated = sqlx::query(
            "update customers set merged_into = $1, updated_at = $2, version = version + 1 \
             where tenant_id = $3 and id = $4 and version = $5 and merged_into is null",
        )
        .bind(target.id)
        .bind(at)
        .bind(tenant)
        .bind(source.id)
        .bind(source.version)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if target_updated && source_updated {
            sqlx::query(
                "update customer_identities set customer_id = $1 where tenant_id = $2 and customer_id = $3",
            )
            .bind(target.id)
            .bind(tenant)
            .bind(source.id)
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "update customer_flags set customer_id = $1 where tenant_id = $2 and customer_id = $3",
            )
            .bind(target.id)
            .bind(tenant)
            .bind(source.id)
            .execute(&mut *tx)
            .await?;
            let tickets: Vec<Uuid> = sqlx::query_scalar(
                "select id from tickets where tenant_id = $1 and customer_id = $2",
            )
            .bind(tenant)
            .bind(source.id)
            .fetch_all(&mut *tx)
            .await?;
            for ticket in tickets {
                move_ticket!(tx, tenant, ticket, source.id, target.id, &author, at);
            }
            record!(
                &mut *tx,
                tenant,
                target.id,
                &author,
                "merged",
                format!("absorbed {}", source.id),
                at
            )?;
            record!(
                &mut *tx,
                tenant,
                source.id,
                &author,
                "merged",
                format!("into {}", target.id),
                at
            )?;
            enqueue!(&mut *tx, &record)?;
            tx.commit().await?;
        } else {
            tx.rollback().await?;
        }
        (target_updated, source_updated)
    });
    match merged {
        (true, true) => {
            next.identities.sort_by_key(|identity| identity.id);
            Ok(next)
        }
        (false, _) => Err(conflict(db, actor.tenant_id, target.id).await),
        // The duplicate changed between reading and merging; the caller retries with both.
        (true, false) => Err(conflict(db, actor.tenant_id, source.id).await),
    }
}

/// What moves out of a customer into a new one.
#[derive(Debug, Clone)]
pub struct Split {
    /// The new customer's name, already validated.
    pub display_name: String,
    /// The identities that move, each with the request field naming it.
    pub identities: Vec<(String, Uuid)>,
    /// The tickets that move, each with the request field naming it.
    pub tickets: Vec<(String, Uuid)>,
}

/// Splits `split` out of `customer` (still at `expected_version`) into a new customer, which
/// it returns.
///
/// # Errors
/// [`CustomerError::UnknownIdentity`], [`CustomerError::UnknownTicket`],
/// [`CustomerError::Merged`], [`CustomerError::VersionConflict`]; database errors.
pub async fn split(
    db: &Database,
    actor: &Actor,
    trace: Option<&TraceContext>,
    customer: &Customer,
    expected_version: i64,
    split: Split,
) -> Result<Customer, CustomerError> {
    if let Some(into) = customer.merged_into {
        return Err(CustomerError::Merged { into });
    }
    if customer.version != expected_version {
        return Err(CustomerError::VersionConflict {
            current: customer.version,
        });
    }
    let mut moving = Vec::new();
    for (field, id) in &split.identities {
        let identity = customer
            .identities
            .iter()
            .find(|identity| identity.id == *id)
            .ok_or_else(|| CustomerError::UnknownIdentity {
                field: field.clone(),
                id: *id,
            })?;
        moving.push(identity.clone());
    }
    let tenant = actor.tenant_id.as_uuid();
    let own_tickets: Vec<Uuid> = on_backend!(db, |pool| {
        sqlx::query_scalar("select id from tickets where tenant_id = $1 and customer_id = $2")
            .bind(tenant)
            .bind(customer.id)
            .fetch_all(pool)
            .await?
    });
    if let Some((field, id)) = split
        .tickets
        .iter()
        .find(|(_, id)| !own_tickets.contains(id))
    {
        return Err(CustomerError::UnknownTicket {
            field: field.clone(),
            id: *id,
        });
    }
    let at = now();
    let new_id = Uuid::now_v7();
    let author = principal_json(actor);
    let mut records = vec![OutboxRecord::of(
        actor,
        at,
        trace,
        CustomerCreated {
            customer_id: customer_id(new_id),
            vip: false,
            split_from: Some(customer_id(customer.id)),
        },
    )];
    for identity in &moving {
        records.push(OutboxRecord::of(
            actor,
            at,
            trace,
            CustomerIdentityRemoved {
                customer_id: customer_id(customer.id),
                identity_kind: identity.kind,
            },
        ));
        records.push(OutboxRecord::of(
            actor,
            at,
            trace,
            CustomerIdentityAdded {
                customer_id: customer_id(new_id),
                identity_kind: identity.kind,
            },
        ));
    }
    let split_off = on_backend!(db, |pool| {
        let mut tx = pool.begin_write().await?;
        let updated = sqlx::query(
            "update customers set updated_at = $1, version = version + 1 \
             where tenant_id = $2 and id = $3 and version = $4 and merged_into is null",
        )
        .bind(at)
        .bind(tenant)
        .bind(customer.id)
        .bind(expected_version)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if updated {
            sqlx::query(
                "insert into customers (id, tenant_id, display_name, search_name, vip, preferences, \
                 created_at, updated_at) values ($1, $2, $3, $4, false, '{}', $5, $5)",
            )
            .bind(new_id)
            .bind(tenant)
            .bind(&split.display_name)
            .bind(split.display_name.to_lowercase())
            .bind(at)
            .execute(&mut *tx)
            .await?;
            for identity in &moving {
                sqlx::query(
                    "update customer_identities set customer_id = $1 where tenant_id = $2 and id = $3",
                )
                .bind(new_id)
                .bind(tenant)
                .bind(identity.id)
                .execute(&mut *tx)
                .await?;
            }
            for (_, ticket) in &split.tickets {
                move_ticket!(tx, tenant, *ticket, customer.id, new_id, &author, at);
            }
            let detail = format!(
                "{} identities and {} tickets split off into {new_id}",
                moving.len(),
                split.tickets.len()
            );
            record!(&mut *tx, tenant, customer.id, &author, "split", &detail, at)?;
            let origin = format!("split off from {}", customer.id);
            record!(&mut *tx, tenant, new_id, &author, "created", &origin, at)?;
            for record in &records {
                enqueue!(&mut *tx, record)?;
            }
            tx.commit().await?;
        } else {
            tx.rollback().await?;
        }
        updated
    });
    if !split_off {
        return Err(conflict(db, actor.tenant_id, customer.id).await);
    }
    Ok(Customer {
        id: new_id,
        display_name: split.display_name,
        vip: false,
        preferences: Preferences::default(),
        lifetime_value: None,
        merged_into: None,
        identities: moving,
        created_at: at,
        updated_at: at,
        version: 1,
    })
}

/// A flag on a customer, open until resolved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Flag {
    /// Its id.
    pub id: Uuid,
    /// What it is about.
    #[schema(value_type = crate::openapi::FlagKindSchema)]
    pub kind: FlagKind,
    /// What happened.
    pub note: String,
    /// Who raised it.
    #[schema(value_type = crate::openapi::PrincipalSchema)]
    pub raised_by: Principal,
    /// When.
    pub raised_at: DateTime<Utc>,
    /// Who resolved it.
    #[schema(value_type = Option<crate::openapi::PrincipalSchema>)]
    pub resolved_by: Option<Principal>,
    /// When; `null` while open.
    pub resolved_at: Option<DateTime<Utc>>,
    /// How it was resolved.
    pub resolution: Option<String>,
    /// Its version: send it back with a change.
    pub version: i64,
}

#[derive(sqlx::FromRow)]
struct FlagRow {
    id: Uuid,
    kind: String,
    note: String,
    raised_by: String,
    raised_at: DateTime<Utc>,
    resolved_by: Option<String>,
    resolved_at: Option<DateTime<Utc>>,
    resolution: Option<String>,
    version: i64,
}

impl TryFrom<FlagRow> for Flag {
    type Error = sqlx::Error;

    fn try_from(row: FlagRow) -> Result<Self, Self::Error> {
        let principal = |json: &str| serde_json::from_str(json).unwrap_or(Principal::System);
        Ok(Flag {
            id: row.id,
            kind: stored("kind", &row.kind)?,
            note: row.note,
            raised_by: principal(&row.raised_by),
            raised_at: row.raised_at,
            resolved_by: row.resolved_by.as_deref().map(principal),
            resolved_at: row.resolved_at,
            resolution: row.resolution,
            version: row.version,
        })
    }
}

const FLAG_COLUMNS: &str =
    "id, kind, note, raised_by, raised_at, resolved_by, resolved_at, resolution, version";

/// Raises a flag on `customer`.
///
/// # Errors
/// [`CustomerError::Merged`]; database errors.
pub async fn raise_flag(
    db: &Database,
    actor: &Actor,
    trace: Option<&TraceContext>,
    customer: &Customer,
    kind: FlagKind,
    note: String,
) -> Result<Flag, CustomerError> {
    if let Some(into) = customer.merged_into {
        return Err(CustomerError::Merged { into });
    }
    let flag = Flag {
        id: Uuid::now_v7(),
        kind,
        note,
        raised_by: actor.principal.clone(),
        raised_at: now(),
        resolved_by: None,
        resolved_at: None,
        resolution: None,
        version: 1,
    };
    let tenant = actor.tenant_id.as_uuid();
    let record = OutboxRecord::of(
        actor,
        flag.raised_at,
        trace,
        CustomerFlagged {
            customer_id: customer_id(customer.id),
            flag_id: flag_id(flag.id),
            flag_kind: kind,
        },
    );
    on_backend!(db, |pool| {
        let mut tx = pool.begin_write().await?;
        sqlx::query(
            "insert into customer_flags (id, tenant_id, customer_id, kind, note, raised_by, raised_at) \
             values ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(flag.id)
        .bind(tenant)
        .bind(customer.id)
        .bind(kind.as_str())
        .bind(&flag.note)
        .bind(principal_json(actor))
        .bind(flag.raised_at)
        .execute(&mut *tx)
        .await?;
        record!(
            &mut *tx,
            tenant,
            customer.id,
            principal_json(actor),
            "flag_raised",
            kind.as_str(),
            flag.raised_at
        )?;
        enqueue!(&mut *tx, &record)?;
        tx.commit().await?;
    });
    Ok(flag)
}

/// The flags of `customer`, oldest first.
///
/// # Errors
/// Database errors.
pub async fn flags(
    db: &Database,
    tenant: TenantId,
    customer: Uuid,
) -> Result<Vec<Flag>, sqlx::Error> {
    let rows: Vec<FlagRow> = on_backend!(db, |pool| {
        sqlx::query_as(&format!(
            "select {FLAG_COLUMNS} from customer_flags where tenant_id = $1 and customer_id = $2 order by id"
        ))
        .bind(tenant.as_uuid())
        .bind(customer)
        .fetch_all(pool)
        .await?
    });
    rows.into_iter().map(Flag::try_from).collect()
}

/// Resolves the open flag `id` of `customer`, still at `expected_version`.
///
/// # Errors
/// [`CustomerError::FlagNotFound`], [`CustomerError::FlagResolved`],
/// [`CustomerError::VersionConflict`]; database errors.
pub async fn resolve_flag(
    db: &Database,
    actor: &Actor,
    trace: Option<&TraceContext>,
    customer: &Customer,
    id: Uuid,
    expected_version: i64,
    resolution: String,
) -> Result<Flag, CustomerError> {
    let flag = flags(db, actor.tenant_id, customer.id)
        .await?
        .into_iter()
        .find(|flag| flag.id == id)
        .ok_or(CustomerError::FlagNotFound)?;
    if flag.resolved_at.is_some() {
        return Err(CustomerError::FlagResolved);
    }
    if flag.version != expected_version {
        return Err(CustomerError::VersionConflict {
            current: flag.version,
        });
    }
    let at = now();
    let tenant = actor.tenant_id.as_uuid();
    let record = OutboxRecord::of(
        actor,
        at,
        trace,
        CustomerFlagResolved {
            customer_id: customer_id(customer.id),
            flag_id: flag_id(flag.id),
            flag_kind: flag.kind,
        },
    );
    let resolved = on_backend!(db, |pool| {
        let mut tx = pool.begin_write().await?;
        let resolved = sqlx::query(
            "update customer_flags set resolved_by = $1, resolved_at = $2, resolution = $3, \
             version = version + 1 \
             where tenant_id = $4 and id = $5 and version = $6 and resolved_at is null",
        )
        .bind(principal_json(actor))
        .bind(at)
        .bind(&resolution)
        .bind(tenant)
        .bind(id)
        .bind(expected_version)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if resolved {
            record!(
                &mut *tx,
                tenant,
                customer.id,
                principal_json(actor),
                "flag_resolved",
                flag.kind.as_str(),
                at
            )?;
            enqueue!(&mut *tx, &record)?;
            tx.commit().await?;
        } else {
            tx.rollback().await?;
        }
        resolved
    });
    if !resolved {
        return Err(CustomerError::VersionConflict {
            current: flag.version + 1,
        });
    }
    Ok(Flag {
        resolved_by: Some(actor.principal.clone()),
        resolved_at: Some(at),
        resolution: Some(resolution),
        version: flag.version + 1,
        ..flag
    })
}

/// One change of a customer and who made it.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = CustomerHistoryEntry)]
pub struct HistoryEntry {
    /// Its id.
    pub id: Uuid,
    /// Who made it.
    #[schema(value_type = crate::openapi::PrincipalSchema)]
    pub actor: Principal,
    /// What changed: `created`, `display_name`, `vip`, `preferences`, `lifetime_value`,
    /// `identity_added`, `identity_removed`, `merged`, `split`, `flag_raised`, `flag_resolved`.
    pub change: String,
    /// The new value or what moved.
    pub detail: String,
    /// When.
    pub at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct HistoryRow {
    id: Uuid,
    actor: String,
    change: String,
    detail: String,
    at: DateTime<Utc>,
}

/// The history of `customer`, oldest first.
///
/// # Errors
/// Database errors.
pub async fn history(
    db: &Database,
    tenant: TenantId,
    customer: Uuid,
) -> Result<Vec<HistoryEntry>, sqlx::Error> {
    let rows: Vec<HistoryRow> = on_backend!(db, |pool| {
        sqlx::query_as(
            "select id, actor, change, detail, at from customer_history \
             where tenant_id = $1 and customer_id = $2 order by id",
        )
        .bind(tenant.as_uuid())
        .bind(customer)
        .fetch_all(pool)
        .await?
    });
    Ok(rows
        .into_iter()
        .map(|row| HistoryEntry {
            id: row.id,
            actor: serde_json::from_str(&row.actor).unwrap_or(Principal::System),
            change: row.change,
            detail: row.detail,
            at: row.at,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_numbers_are_kept_in_international_format() {
        let phone = |value| normalize(IdentityKind::Phone, value);
        assert_eq!(phone(" +7 (999) 123-45-67 ").unwrap(), "+79991234567");
        assert_eq!(phone("+44.20.7946.0958").unwrap(), "+442079460958");
        for refused in [
            "89991234567",
            "+7 999",
            "+0 999 123 45 67",
            "+7 999 12a 45 67",
            "+",
        ] {
            assert!(phone(refused).is_err(), "{refused}");
        }
    }

    #[test]
    fn e_mail_addresses_and_messenger_ids_are_normalised() {
        assert_eq!(
            normalize(IdentityKind::Email, " Anna.Petrova@Example.RU ").unwrap(),
            "anna.petrova@example.ru"
        );
        for refused in [
            "anna",
            "anna@",
            "@example.ru",
            "anna@example",
            "an na@example.ru",
            "a@b@c.ru",
            "anna@example..ru",
        ] {
            assert!(
                normalize(IdentityKind::Email, refused).is_err(),
                "{refused}"
            );
        }
        assert_eq!(
            normalize(IdentityKind::Telegram, "@Anna_P").unwrap(),
            "anna_p"
        );
        assert_eq!(
            normalize(IdentityKind::Whatsapp, " 79991234567 ").unwrap(),
            "79991234567"
        );
        assert!(normalize(IdentityKind::Viber, "two words").is_err());
        assert!(normalize(IdentityKind::Vk, "").is_err());
    }

    #[test]
    fn preferences_name_the_field_at_fault() {
        let mut preferences = Preferences {
            language: Some("en-GB".into()),
            ..Preferences::default()
        };
        assert_eq!(preferences.problem(), None);
        preferences.language = Some("english please".into());
        assert_eq!(preferences.problem().unwrap().0, "preferences.language");
        preferences.language = None;
        preferences.contact_hours = Some("after\n18:00".into());
        assert_eq!(
            preferences.problem().unwrap().0,
            "preferences.contact_hours"
        );
    }

    #[test]
    fn merged_preferences_keep_the_kept_customers_choices() {
        let kept = Preferences {
            language: Some("ru".into()),
            ..Preferences::default()
        };
        let duplicate = Preferences {
            language: Some("en".into()),
            contact_hours: Some("evenings".into()),
            preferred_channel: Some(Channel::Sms),
            campaigns_consent: true,
        };
        let merged = kept.or(duplicate);
        assert_eq!(merged.language.as_deref(), Some("ru"));
        assert_eq!(merged.contact_hours.as_deref(), Some("evenings"));
        assert_eq!(merged.preferred_channel, Some(Channel::Sms));
        assert!(!merged.campaigns_consent, "consent is never inherited");
    }
}

//! The project constructor: each project's request types and custom fields (text, number,
//! date, boolean, or a choice from the field's dictionary), required or not, and the check of
//! a ticket's values against them.
//!
//! Definitions are never deleted, only retired, and a field's key and kind never change: a
//! ticket's stored values keep their meaning whatever the project's configuration becomes.
//! Retired fields and types take no new values but still show on the tickets that have them.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tenet_events::TenantId;
use tenet_events::admin::{Setting, SettingChange};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::admin_events::Change;
use crate::db::{BeginWrite, Database, now, stored};
use crate::{enqueue, on_backend};

/// The most choices one field may offer.
pub const MAX_CHOICES: usize = 500;
/// The longest text value accepted.
pub const MAX_TEXT: usize = 10_000;

/// A definition key: 1 to 40 lower-case letters, digits or `_`, starting with a letter.
pub fn valid_key(key: &str) -> bool {
    (1..=40).contains(&key.len())
        && key.starts_with(|c: char| c.is_ascii_lowercase())
        && key
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// A kind of request a project takes ("meter reading", "outage", "billing question").
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RequestType {
    /// Its id.
    pub id: Uuid,
    /// Its key, unique in the project, as tickets carry it.
    pub key: String,
    /// Its name.
    pub name: String,
    /// Whether new tickets may have it.
    pub active: bool,
    /// The specialists (executors) its new tickets are routed to when they are created without
    /// an assignee: the one with the fewest unfinished tickets, the first listed among equals.
    pub specialists: Vec<Uuid>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// Its version: send it back with a change.
    pub version: i64,
}

#[derive(sqlx::FromRow)]
struct RequestTypeRow {
    id: Uuid,
    key: String,
    name: String,
    active: bool,
    specialists: String,
    created_at: DateTime<Utc>,
    version: i64,
}

impl TryFrom<RequestTypeRow> for RequestType {
    type Error = sqlx::Error;

    fn try_from(row: RequestTypeRow) -> Result<Self, Self::Error> {
        Ok(Self {
            id: row.id,
            key: row.key,
            name: row.name,
            active: row.active,
            specialists: serde_json::from_str(&row.specialists).map_err(|error| {
                sqlx::Error::ColumnDecode {
                    index: "specialists".into(),
                    source: Box::new(error),
                }
            })?,
            created_at: row.created_at,
            version: row.version,
        })
    }
}

const REQUEST_TYPE_COLUMNS: &str = "id, key, name, active, specialists, created_at, version";

/// What a change of a request type sets; `None` keeps the current value.
#[derive(Debug, Clone, Default)]
pub struct RequestTypeChange {
    /// A new name.
    pub name: Option<String>,
    /// Whether new tickets may have it.
    pub active: Option<bool>,
    /// The new specialists, in order.
    pub specialists: Option<Vec<Uuid>>,
}

/// What kind of value a field holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FieldKind {
    /// Free text, up to 10,000 characters.
    Text,
    /// A number.
    Number,
    /// A date, `YYYY-MM-DD`.
    Date,
    /// `true` or `false`.
    Boolean,
    /// One of the field's choices.
    Choice,
}

impl FieldKind {
    fn as_str(self) -> &'static str {
        match self {
            FieldKind::Text => "text",
            FieldKind::Number => "number",
            FieldKind::Date => "date",
            FieldKind::Boolean => "boolean",
            FieldKind::Choice => "choice",
        }
    }
}

/// A custom field of a project's tickets.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Field {
    /// Its id.
    pub id: Uuid,
    /// Its key, unique in the project; tickets carry values under it.
    pub key: String,
    /// What operators see.
    pub label: String,
    /// What it holds.
    pub kind: FieldKind,
    /// Whether every new ticket must have it.
    pub required: bool,
    /// The choices of a choice field, in order: its own, or the active entries of its
    /// dictionary.
    pub choices: Vec<String>,
    /// The project dictionary a choice field takes its choices from, by key; `null` when the
    /// field lists its own.
    pub dictionary: Option<String>,
    /// Whether tickets take new values of it.
    pub active: bool,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// Its version: send it back with a change.
    pub version: i64,
}

#[derive(sqlx::FromRow)]
struct FieldRow {
    id: Uuid,
    key: String,
    label: String,
    kind: String,
    required: bool,
    choices: String,
    dictionary: Option<String>,
    active: bool,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    version: i64,
}

impl TryFrom<FieldRow> for Field {
    type Error = sqlx::Error;

    fn try_from(row: FieldRow) -> Result<Self, Self::Error> {
        let decode = |column: &'static str, error: serde_json::Error| sqlx::Error::ColumnDecode {
            index: column.into(),
            source: Box::new(error),
        };
        Ok(Field {
            id: row.id,
            key: row.key,
            label: row.label,
            kind: stored("kind", &row.kind)?,
            required: row.required,
            choices: serde_json::from_str(&row.choices).map_err(|e| decode("choices", e))?,
            dictionary: row.dictionary,
            active: row.active,
            created_at: row.created_at,
            updated_at: row.updated_at,
            version: row.version,
        })
    }
}

const FIELD_COLUMNS: &str = "id, key, label, kind, required, choices, dictionary, active, \
                             created_at, updated_at, version";

/// Adds a request type to `project`, routing its new tickets to `specialists`.
///
/// # Errors
/// A unique violation when the key is taken in the project; database errors.
pub async fn add_request_type(
    db: &Database,
    change: Change<'_>,
    project: Uuid,
    key: String,
    name: String,
    specialists: Vec<Uuid>,
) -> Result<RequestType, sqlx::Error> {
    let created = RequestType {
        id: Uuid::now_v7(),
        key,
        name,
        active: true,
        specialists,
        created_at: now(),
        version: 1,
    };
    let specialists = serde_json::to_string(&created.specialists).unwrap_or_else(|_| "[]".into());
    let event = change.configured(
        project,
        Setting::RequestType,
        created.id,
        1,
        SettingChange::Created,
    );
    on_backend!(db, |pool| {
        let mut tx = pool.begin_write().await?;
        sqlx::query(
            "insert into request_types (id, tenant_id, project_id, key, name, specialists, created_at) \
             values ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(created.id)
        .bind(change.actor.tenant_id.as_uuid())
        .bind(project)
        .bind(&created.key)
        .bind(&created.name)
        .bind(&specialists)
        .bind(created.created_at)
        .execute(&mut *tx)
        .await?;
        enqueue!(&mut *tx, &event)?;
        tx.commit().await?;
    });
    Ok(created)
}

/// The request types of `project`, by key.
///
/// # Errors
/// Database errors.
pub async fn request_types(
    db: &Database,
    tenant: TenantId,
    project: Uuid,
) -> Result<Vec<RequestType>, sqlx::Error> {
    let rows: Vec<RequestTypeRow> = on_backend!(db, |pool| {
        sqlx::query_as(&format!(
            "select {REQUEST_TYPE_COLUMNS} from request_types \
             where tenant_id = $1 and project_id = $2 order by key"
        ))
        .bind(tenant.as_uuid())
        .bind(project)
        .fetch_all(pool)
        .await?
    });
    rows.into_iter().map(RequestType::try_from).collect()
}

/// Applies `update` to the request type `id` of `project` if it is still at
/// `expected_version`, with its `admin.project_configured` event; `None` when there is no such
/// type at that version.
///
/// # Errors
/// Database errors.
pub async fn update_request_type(
    db: &Database,
    change: Change<'_>,
    project: Uuid,
    id: Uuid,
    expected_version: i64,
    update: RequestTypeChange,
) -> Result<Option<RequestType>, sqlx::Error> {
    let specialists = update
        .specialists
        .map(|ids| serde_json::to_string(&ids).unwrap_or_else(|_| "[]".into()));
    let retiring = update.active == Some(false);
    let row: Option<RequestTypeRow> = on_backend!(db, |pool| {
        let mut tx = pool.begin_write().await?;
        let row: Option<RequestTypeRow> = sqlx::query_as(&format!(
            "update request_types set name = coalesce($5, name), active = coalesce($6, active), \
             specialists = coalesce($7, specialists), version = version + 1 \
             where tenant_id = $1 and project_id = $2 and id = $3 and version = $4 \
             returning {REQUEST_TYPE_COLUMNS}"
        ))
        .bind(change.actor.tenant_id.as_uuid())
        .bind(project)
        .bind(id)
        .bind(expected_version)
        .bind(update.name)
        .bind(update.active)
        .bind(specialists)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(row) = &row {
            let event = change.configured(
                project,
                Setting::RequestType,
                id,
                row.version,
                SettingChange::of_update(retiring),
            );
            enqueue!(&mut *tx, &event)?;
        }
        tx.commit().await?;
        row
    });
    row.map(RequestType::try_from).transpose()
}

/// Who a new ticket of `request_type` in `project` is routed to: of the type's specialists, the
/// one with the fewest tickets not yet solved or closed, the first listed among equals; `None`
/// when the type has no specialists.
///
/// # Errors
/// Database errors.
pub async fn route(
    db: &Database,
    tenant: TenantId,
    project: Uuid,
    request_type: &str,
) -> Result<Option<Uuid>, sqlx::Error> {
    let row: Option<RequestTypeRow> = on_backend!(db, |pool| {
        sqlx::query_as(&format!(
            "select {REQUEST_TYPE_COLUMNS} from request_types \
             where tenant_id = $1 and project_id = $2 and key = $3"
        ))
        .bind(tenant.as_uuid())
        .bind(project)
        .bind(request_type)
        .fetch_optional(pool)
        .await?
    });
    let specialists = match row {
        Some(row) => RequestType::try_from(row)?.specialists,
        None => return Ok(None),
    };
    if specialists.is_empty() {
        return Ok(None);
    }
    let placeholders: Vec<String> = (0..specialists.len())
        .map(|i| format!("${}", i + 2))
        .collect();
    let sql = format!(
        "select assignee_id, count(*) from tickets \
         where tenant_id = $1 and assignee_id in ({}) and status not in ('solved', 'closed') \
         group by assignee_id",
        placeholders.join(", ")
    );
    let loads: Vec<(Uuid, i64)> = on_backend!(db, |pool| {
        let mut query = sqlx::query_as(&sql).bind(tenant.as_uuid());
        for specialist in &specialists {
            query = query.bind(*specialist);
        }
        query.fetch_all(pool).await?
    });
    let load: BTreeMap<Uuid, i64> = loads.into_iter().collect();
    Ok(specialists
        .iter()
        .enumerate()
        .min_by_key(|&(order, id)| (load.get(id).copied().unwrap_or(0), order))
        .map(|(_, &id)| id))
}

/// A new field, already validated.
#[derive(Debug, Clone)]
pub struct NewField {
    /// Its key.
    pub key: String,
    /// Its label.
    pub label: String,
    /// What it holds.
    pub kind: FieldKind,
    /// Whether new tickets must have it.
    pub required: bool,
    /// The choices of a choice field that lists its own.
    pub choices: Vec<String>,
    /// The dictionary a choice field takes its choices from, already checked to exist; its
    /// active values, resolved.
    pub dictionary: Option<(String, Vec<String>)>,
}

/// Adds a field to `project`.
///
/// # Errors
/// A unique violation when the key is taken in the project; database errors.
pub async fn add_field(
    db: &Database,
    change: Change<'_>,
    project: Uuid,
    new: NewField,
) -> Result<Field, sqlx::Error> {
    let at = now();
    let own_choices = serde_json::to_string(&new.choices).unwrap_or_else(|_| "[]".into());
    let (dictionary, choices) = match new.dictionary {
        Some((key, values)) => (Some(key), values),
        None => (None, new.choices),
    };
    let field = Field {
        id: Uuid::now_v7(),
        key: new.key,
        label: new.label,
        kind: new.kind,
        required: new.required,
        choices,
        dictionary,
        active: true,
        created_at: at,
        updated_at: at,
        version: 1,
    };
    let event = change.configured(project, Setting::Field, field.id, 1, SettingChange::Created);
    on_backend!(db, |pool| {
        let mut tx = pool.begin_write().await?;
        sqlx::query(
            "insert into project_fields (id, tenant_id, project_id, key, label, kind, required, \
             choices, dictionary, created_at, updated_at) \
             values ($1, $2, $3, $4, $5, $6, $7, $8, $10, $9, $9)",
        )
        .bind(field.id)
        .bind(change.actor.tenant_id.as_uuid())
        .bind(project)
        .bind(&field.key)
        .bind(&field.label)
        .bind(field.kind.as_str())
        .bind(field.required)
        .bind(&own_choices)
        .bind(at)
        .bind(&field.dictionary)
        .execute(&mut *tx)
        .await?;
        enqueue!(&mut *tx, &event)?;
        tx.commit().await?;
    });
    Ok(field)
}

/// The fields of `project`, by key; a field drawing on a dictionary has its dictionary's active
/// values as its choices.
///
/// # Errors
/// Database errors.
pub async fn fields(
    db: &Database,
    tenant: TenantId,
    project: Uuid,
) -> Result<Vec<Field>, sqlx::Error> {
    let rows: Vec<FieldRow> = on_backend!(db, |pool| {
        sqlx::query_as(&format!(
            "select {FIELD_COLUMNS} from project_fields where tenant_id = $1 and project_id = $2 order by key"
        ))
        .bind(tenant.as_uuid())
        .bind(project)
        .fetch_all(pool)
        .await?
    });
    let mut fields = rows
        .into_iter()
        .map(Field::try_from)
        .collect::<Result<Vec<_>, _>>()?;
    if fields.iter().any(|field| field.dictionary.is_some()) {
        let dictionaries = crate::dictionaries::list(db, tenant, project).await?;
        for field in &mut fields {
            if let Some(key) = &field.dictionary {
                field.choices = dictionaries
                    .iter()
                    .find(|dictionary| dictionary.key == *key)
                    .map(crate::dictionaries::Dictionary::active_values)
                    .unwrap_or_default();
            }
        }
    }
    Ok(fields)
}

/// A change to a field; its key and kind never change.
#[derive(Debug, Clone, Default)]
pub struct FieldChange {
    /// The new label.
    pub label: Option<String>,
    /// Required or not.
    pub required: Option<bool>,
    /// Choices to add (existing ones stay, so stored values keep their meaning).
    pub add_choices: Vec<String>,
    /// Retire (`false`) or bring back (`true`).
    pub active: Option<bool>,
}

/// Applies `update` to `field` of `project` if it is still at `expected_version`, with its
/// `admin.project_configured` event; `None` when it is not.
///
/// # Errors
/// Database errors.
pub async fn update_field(
    db: &Database,
    change: Change<'_>,
    project: Uuid,
    field: &Field,
    expected_version: i64,
    update: FieldChange,
) -> Result<Option<Field>, sqlx::Error> {
    let mut next = field.clone();
    if let Some(label) = update.label {
        next.label = label;
    }
    if let Some(required) = update.required {
        next.required = required;
    }
    if let Some(active) = update.active {
        next.active = active;
    }
    for choice in update.add_choices {
        if !next.choices.contains(&choice) {
            next.choices.push(choice);
        }
    }
    next.updated_at = now();
    next.version = field.version + 1;
    let event = change.configured(
        project,
        Setting::Field,
        field.id,
        next.version,
        SettingChange::of_update(field.active && !next.active),
    );
    let updated = on_backend!(db, |pool| {
        let mut tx = pool.begin_write().await?;
        let updated = sqlx::query(
            "update project_fields set label = $1, required = $2, choices = $3, active = $4, \
             updated_at = $5, version = version + 1 \
             where tenant_id = $6 and project_id = $7 and id = $8 and version = $9",
        )
        .bind(&next.label)
        .bind(next.required)
        // A dictionary's values live in the dictionary.
        .bind(if next.dictionary.is_some() {
            "[]".to_owned()
        } else {
            serde_json::to_string(&next.choices).unwrap_or_else(|_| "[]".into())
        })
        .bind(next.active)
        .bind(next.updated_at)
        .bind(change.actor.tenant_id.as_uuid())
        .bind(project)
        .bind(field.id)
        .bind(expected_version)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if updated == 1 {
            enqueue!(&mut *tx, &event)?;
        }
        tx.commit().await?;
        updated
    });
    Ok((updated == 1).then_some(next))
}

/// [`check_values`] for a change to an existing ticket: the values to store, with the `null`s
/// that clear optional fields kept, as clearing.
///
/// # Errors
/// `(field, message)` of the first problem.
pub fn check_change(
    fields: &[Field],
    values: &BTreeMap<String, Value>,
) -> Result<BTreeMap<String, Value>, (String, String)> {
    let mut checked = check_values(fields, values, false)?;
    for (key, value) in values {
        if value.is_null() {
            checked.insert(key.clone(), Value::Null);
        }
    }
    Ok(checked)
}

/// Checks `values` (by field key) against the project's `fields`: every key is an active
/// field, every value is of its field's kind (a choice one of its choices), and, for a new
/// ticket (`creating`), every required field has a value. Returns the values to store, or the
/// field at fault (`fields.<key>`) and what is wrong.
///
/// # Errors
/// `(field, message)` of the first problem.
pub fn check_values(
    fields: &[Field],
    values: &BTreeMap<String, Value>,
    creating: bool,
) -> Result<BTreeMap<String, Value>, (String, String)> {
    let mut checked = BTreeMap::new();
    for (key, value) in values {
        let at = || format!("fields.{key}");
        let field = fields
            .iter()
            .find(|field| field.key == *key && field.active)
            .ok_or_else(|| (at(), format!("the project has no active field `{key}`")))?;
        if value.is_null() {
            if field.required {
                return Err((at(), format!("{} is required", field.label)));
            }
            continue;
        }
        let valid = match field.kind {
            FieldKind::Text => value
                .as_str()
                .is_some_and(|text| text.chars().count() <= MAX_TEXT),
            FieldKind::Number => value.as_f64().is_some_and(f64::is_finite),
            FieldKind::Date => value
                .as_str()
                .is_some_and(|text| NaiveDate::parse_from_str(text, "%Y-%m-%d").is_ok()),
            FieldKind::Boolean => value.is_boolean(),
            FieldKind::Choice => value
                .as_str()
                .is_some_and(|choice| field.choices.iter().any(|known| known == choice)),
        };
        if !valid {
            let expected = match field.kind {
                FieldKind::Text => "text of at most 10,000 characters".to_owned(),
                FieldKind::Number => "a number".to_owned(),
                FieldKind::Date => "a date (YYYY-MM-DD)".to_owned(),
                FieldKind::Boolean => "true or false".to_owned(),
                FieldKind::Choice => format!("one of: {}", field.choices.join(", ")),
            };
            return Err((at(), format!("{} must be {expected}", field.label)));
        }
        checked.insert(key.clone(), value.clone());
    }
    if creating
        && let Some(missing) = fields
            .iter()
            .find(|field| field.active && field.required && !checked.contains_key(&field.key))
    {
        return Err((
            format!("fields.{}", missing.key),
            format!("{} is required", missing.label),
        ));
    }
    Ok(checked)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn field(key: &str, kind: FieldKind, required: bool, choices: &[&str]) -> Field {
        Field {
            id: Uuid::now_v7(),
            key: key.into(),
            label: key.into(),
            kind,
            required,
            choices: choices.iter().map(|c| (*c).to_owned()).collect(),
            dictionary: None,
            active: true,
            created_at: Utc::now(),
            updated_at: Utc::now(),
            version: 1,
        }
    }

    fn values(value: Value) -> BTreeMap<String, Value> {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn values_are_checked_against_their_fields() {
        let fields = [
            field("account", FieldKind::Text, true, &[]),
            field("amount", FieldKind::Number, false, &[]),
            field("visit_on", FieldKind::Date, false, &[]),
            field("urgent", FieldKind::Boolean, false, &[]),
            field("district", FieldKind::Choice, false, &["north", "south"]),
        ];
        let ok = values(
            json!({"account": "A-1", "amount": 12.5, "visit_on": "2026-12-01", "urgent": true, "district": "north"}),
        );
        assert_eq!(check_values(&fields, &ok, true).unwrap(), ok);
        for (bad, at) in [
            (json!({"amount": 1}), "fields.account"),
            (json!({"account": "A", "amount": "12"}), "fields.amount"),
            (
                json!({"account": "A", "visit_on": "01.12.2026"}),
                "fields.visit_on",
            ),
            (json!({"account": "A", "urgent": "yes"}), "fields.urgent"),
            (
                json!({"account": "A", "district": "east"}),
                "fields.district",
            ),
            (json!({"account": "A", "colour": "red"}), "fields.colour"),
            (json!({"account": null}), "fields.account"),
        ] {
            assert_eq!(
                check_values(&fields, &values(bad.clone()), true)
                    .unwrap_err()
                    .0,
                at,
                "{bad}"
            );
        }
        // A change need not repeat the required fields; null clears an optional one.
        let change = values(json!({"amount": null, "urgent": false}));
        assert_eq!(
            check_values(&fields, &change, false).unwrap(),
            values(json!({"urgent": false}))
        );
    }

    #[test]
    fn retired_fields_take_no_new_values() {
        let mut retired = field("old", FieldKind::Text, true, &[]);
        retired.active = false;
        let fields = [retired];
        assert_eq!(
            check_values(&fields, &values(json!({})), true).unwrap(),
            BTreeMap::new()
        );
        assert!(check_values(&fields, &values(json!({"old": "x"})), true).is_err());
    }

    #[test]
    fn keys_are_short_lower_case_identifiers() {
        for key in ["account", "meter_2", "a"] {
            assert!(valid_key(key), "{key}");
        }
        for key in [
            "",
            "Account",
            "2nd",
            "with space",
            "dash-ed",
            &"k".repeat(41),
        ] {
            assert!(!valid_key(key), "{key}");
        }
    }
}

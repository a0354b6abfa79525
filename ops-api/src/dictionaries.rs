//! A project's shared dictionaries: named lists of values ("districts", "tariffs", "meter
//! models") that several choice fields draw their choices from, kept in one place.
//!
//! An entry's value is what tickets store, so it is never removed or renamed: it is retired
//! (`active: false`), after which no new ticket may take it while the tickets that have it keep
//! it. Its label, what operators see, may change.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tenet_events::TenantId;
use tenet_events::admin::{Setting, SettingChange};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::admin_events::Change;
use crate::db::{BeginWrite, Database, now};
use crate::{enqueue, on_backend};

/// The most entries a dictionary may have.
pub const MAX_ENTRIES: usize = 500;
/// The longest value or label.
pub const MAX_TEXT: usize = 200;

/// One value of a dictionary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DictionaryEntry {
    /// What tickets store: 1 to 200 characters, unique in the dictionary, never removed.
    #[schema(min_length = 1, max_length = 200)]
    pub value: String,
    /// What operators see; the value when left out.
    #[serde(default)]
    #[schema(max_length = 200)]
    pub label: String,
    /// Whether new tickets may take it; `true` when left out.
    #[serde(default = "active")]
    pub active: bool,
}

fn active() -> bool {
    true
}

/// A shared list of values of a project.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Dictionary {
    /// Its id.
    pub id: Uuid,
    /// Its key, unique in the project; choice fields name it.
    pub key: String,
    /// Its name.
    pub name: String,
    /// Its entries, in the order operators see them.
    pub entries: Vec<DictionaryEntry>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// Its version: send it back with a change.
    pub version: i64,
}

impl Dictionary {
    /// The values new tickets may take, in order.
    pub fn active_values(&self) -> Vec<String> {
        self.entries
            .iter()
            .filter(|entry| entry.active)
            .map(|entry| entry.value.clone())
            .collect()
    }
}

#[derive(sqlx::FromRow)]
struct DictionaryRow {
    id: Uuid,
    key: String,
    name: String,
    entries: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    version: i64,
}

impl TryFrom<DictionaryRow> for Dictionary {
    type Error = sqlx::Error;

    fn try_from(row: DictionaryRow) -> Result<Self, Self::Error> {
        Ok(Dictionary {
            id: row.id,
            key: row.key,
            name: row.name,
            entries: serde_json::from_str(&row.entries).map_err(|error| {
                sqlx::Error::ColumnDecode {
                    index: "entries".into(),
                    source: Box::new(error),
                }
            })?,
            created_at: row.created_at,
            updated_at: row.updated_at,
            version: row.version,
        })
    }
}

const COLUMNS: &str = "id, key, name, entries, created_at, updated_at, version";

/// Checks and tidies `entries` (trimmed, labels defaulting to values) against `before`, the
/// entries they replace: the field at fault and what is wrong with it otherwise.
///
/// # Errors
/// `(field, message)` for the first problem: no entries or more than 500, a blank, overlong
/// or repeated value, an overlong label, or a value of `before` that is missing.
pub fn check_entries(
    entries: Vec<DictionaryEntry>,
    before: &[DictionaryEntry],
) -> Result<Vec<DictionaryEntry>, (String, String)> {
    if entries.is_empty() || entries.len() > MAX_ENTRIES {
        return Err((
            "entries".into(),
            format!("a dictionary has 1 to {MAX_ENTRIES} entries"),
        ));
    }
    let mut seen = BTreeSet::new();
    let mut checked = Vec::with_capacity(entries.len());
    for (i, entry) in entries.into_iter().enumerate() {
        let value = entry.value.trim().to_owned();
        if value.is_empty()
            || value.chars().count() > MAX_TEXT
            || value.chars().any(char::is_control)
        {
            return Err((
                format!("entries[{i}].value"),
                format!("a value is one line of 1 to {MAX_TEXT} characters"),
            ));
        }
        if !seen.insert(value.clone()) {
            return Err((
                format!("entries[{i}].value"),
                format!("`{value}` is listed twice"),
            ));
        }
        let label = entry.label.trim();
        if label.chars().count() > MAX_TEXT || label.chars().any(char::is_control) {
            return Err((
                format!("entries[{i}].label"),
                format!("a label is one line of at most {MAX_TEXT} characters"),
            ));
        }
        checked.push(DictionaryEntry {
            label: if label.is_empty() {
                value.clone()
            } else {
                label.to_owned()
            },
            value,
            active: entry.active,
        });
    }
    if let Some(missing) = before.iter().find(|old| !seen.contains(&old.value)) {
        return Err((
            "entries".into(),
            format!(
                "`{}` may be stored on tickets and cannot be removed; retire it with \"active\": false",
                missing.value
            ),
        ));
    }
    Ok(checked)
}

/// Adds a dictionary to `project`.
///
/// # Errors
/// A unique violation when the key is taken in the project; database errors.
pub async fn add(
    db: &Database,
    change: Change<'_>,
    project: Uuid,
    key: String,
    name: String,
    entries: Vec<DictionaryEntry>,
) -> Result<Dictionary, sqlx::Error> {
    let at = now();
    let dictionary = Dictionary {
        id: Uuid::now_v7(),
        key,
        name,
        entries,
        created_at: at,
        updated_at: at,
        version: 1,
    };
    let entries = serde_json::to_string(&dictionary.entries)
        .map_err(|error| sqlx::Error::Encode(Box::new(error)))?;
    let event = change.configured(
        project,
        Setting::Dictionary,
        dictionary.id,
        1,
        SettingChange::Created,
    );
    on_backend!(db, |pool| {
        let mut tx = pool.begin_write().await?;
        sqlx::query(
            "insert into project_dictionaries (id, tenant_id, project_id, key, name, entries, \
             created_at, updated_at) values ($1, $2, $3, $4, $5, $6, $7, $7)",
        )
        .bind(dictionary.id)
        .bind(change.actor.tenant_id.as_uuid())
        .bind(project)
        .bind(&dictionary.key)
        .bind(&dictionary.name)
        .bind(&entries)
        .bind(at)
        .execute(&mut *tx)
        .await?;
        enqueue!(&mut *tx, &event)?;
        tx.commit().await?;
    });
    Ok(dictionary)
}

/// The dictionaries of `project`, by key.
///
/// # Errors
/// Database errors.
pub async fn list(
    db: &Database,
    tenant: TenantId,
    project: Uuid,
) -> Result<Vec<Dictionary>, sqlx::Error> {
    let rows: Vec<DictionaryRow> = on_backend!(db, |pool| {
        sqlx::query_as(&format!(
            "select {COLUMNS} from project_dictionaries \
             where tenant_id = $1 and project_id = $2 order by key"
        ))
        .bind(tenant.as_uuid())
        .bind(project)
        .fetch_all(pool)
        .await?
    });
    rows.into_iter().map(Dictionary::try_from).collect()
}

/// Sets the name and entries of dictionary `id` of `project` if it is still at
/// `expected_version`, with its `admin.project_configured` event; `None` when there is no such
/// dictionary at that version.
///
/// # Errors
/// Database errors.
pub async fn update(
    db: &Database,
    change: Change<'_>,
    project: Uuid,
    id: Uuid,
    expected_version: i64,
    name: &str,
    entries: &[DictionaryEntry],
) -> Result<Option<Dictionary>, sqlx::Error> {
    let entries =
        serde_json::to_string(entries).map_err(|error| sqlx::Error::Encode(Box::new(error)))?;
    let row: Option<DictionaryRow> = on_backend!(db, |pool| {
        let mut tx = pool.begin_write().await?;
        let row: Option<DictionaryRow> = sqlx::query_as(&format!(
            "update project_dictionaries set name = $5, entries = $6, updated_at = $7, \
             version = version + 1 \
             where tenant_id = $1 and project_id = $2 and id = $3 and version = $4 \
             returning {COLUMNS}"
        ))
        .bind(change.actor.tenant_id.as_uuid())
        .bind(project)
        .bind(id)
        .bind(expected_version)
        .bind(name)
        .bind(&entries)
        .bind(now())
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(row) = &row {
            let event = change.configured(
                project,
                Setting::Dictionary,
                id,
                row.version,
                SettingChange::Changed,
            );
            enqueue!(&mut *tx, &event)?;
        }
        tx.commit().await?;
        row
    });
    row.map(Dictionary::try_from).transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(value: &str, active: bool) -> DictionaryEntry {
        DictionaryEntry {
            value: value.into(),
            label: String::new(),
            active,
        }
    }

    #[test]
    fn entries_are_tidied_and_labels_default_to_values() {
        let checked = check_entries(vec![entry(" north ", true)], &[]).unwrap();
        assert_eq!(
            checked,
            [DictionaryEntry {
                value: "north".into(),
                label: "north".into(),
                active: true
            }]
        );
    }

    #[test]
    fn values_are_never_lost_or_repeated() {
        let before = [entry("north", true), entry("south", true)];
        let retired = check_entries(vec![entry("north", true), entry("south", false)], &before);
        assert!(retired.is_ok());
        let dropped = check_entries(vec![entry("north", true)], &before).unwrap_err();
        assert_eq!(dropped.0, "entries");
        assert!(dropped.1.contains("`south`"), "{}", dropped.1);
        let twice = check_entries(vec![entry("north", true), entry("north", false)], &[]);
        assert_eq!(twice.unwrap_err().0, "entries[1].value");
        assert_eq!(
            check_entries(vec![entry("  ", true)], &[]).unwrap_err().0,
            "entries[0].value"
        );
        assert_eq!(check_entries(Vec::new(), &[]).unwrap_err().0, "entries");
    }
}

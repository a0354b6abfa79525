//! What the list endpoints share: a query string with known parameters only, a bounded
//! `limit`, and cursor pagination over time-ordered ids.

use std::collections::HashMap;

use axum::extract::Query;
use axum::extract::rejection::QueryRejection;
use axum::http::StatusCode;
use uuid::Uuid;

use crate::error::ApiError;

/// The parameters of a query string that may name only `known` ones: 400 when it is
/// malformed, 422 naming the first unknown parameter.
pub fn known_params(
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
    known: &[&str],
) -> Result<HashMap<String, String>, ApiError> {
    let Query(params) = query.map_err(|rejection| ApiError::Invalid {
        status: StatusCode::BAD_REQUEST,
        message: rejection.body_text(),
        field: None,
    })?;
    if let Some(unknown) = params.keys().find(|key| !known.contains(&key.as_str())) {
        return Err(ApiError::invalid_field(
            unknown.clone(),
            format!("unknown parameter; known: {}", known.join(", ")),
        ));
    }
    Ok(params)
}

/// The `limit` parameter: 1 to `max`, `default` when absent.
pub fn limit(params: &HashMap<String, String>, default: i64, max: i64) -> Result<i64, ApiError> {
    match params.get("limit") {
        None => Ok(default),
        Some(value) => value
            .parse::<i64>()
            .ok()
            .filter(|limit| (1..=max).contains(limit))
            .ok_or_else(|| ApiError::invalid_field("limit", format!("limit must be 1 to {max}"))),
    }
}

/// The UUID parameter `name`, if given.
pub fn uuid(params: &HashMap<String, String>, name: &str) -> Result<Option<Uuid>, ApiError> {
    params
        .get(name)
        .map(|value| {
            Uuid::parse_str(value)
                .map_err(|_| ApiError::invalid_field(name, format!("{name} must be a UUID")))
        })
        .transpose()
}

/// Cuts `items`, fetched as `limit + 1`, to one page of `limit`, and returns the cursor of the
/// next page: the id of the page's last item when there are more.
pub fn page<T>(items: &mut Vec<T>, limit: i64, id: impl Fn(&T) -> Uuid) -> Option<Uuid> {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    if items.len() > limit {
        items.truncate(limit);
        items.last().map(id)
    } else {
        None
    }
}

/// The date parameter `name` (`YYYY-MM-DD`), if given.
pub fn date(
    params: &HashMap<String, String>,
    name: &str,
) -> Result<Option<chrono::NaiveDate>, ApiError> {
    params
        .get(name)
        .map(|value| {
            chrono::NaiveDate::parse_from_str(value, "%Y-%m-%d").map_err(|_| {
                ApiError::invalid_field(name, format!("{name} must be a date (YYYY-MM-DD)"))
            })
        })
        .transpose()
}

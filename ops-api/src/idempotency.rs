//! Idempotency keys: a creating request retried with the same `Idempotency-Key` gets the
//! first answer again instead of creating a second record.

use axum::http::{HeaderMap, StatusCode};
use chrono::Utc;
use sha2::{Digest, Sha256};
use tenet_events::TenantId;

use crate::db::Database;
use crate::error::ApiError;
use crate::on_backend;

/// The request header carrying the key.
pub const HEADER: &str = "idempotency-key";

/// What to do with a keyed request.
pub enum Claim {
    /// First time this key is seen: do the work, then [`finish`] it.
    Fresh(String),
    /// The key was used before for the same request: answer this.
    Replay(StatusCode, String),
}

/// Claims the request's key, if it has one.
///
/// # Errors
/// 422 when the key is malformed or was used for a different request, 409 while the first
/// request with the key is still running; database errors.
pub async fn claim(
    db: &Database,
    tenant: TenantId,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Option<Claim>, ApiError> {
    let Some(key) = headers.get(HEADER) else {
        return Ok(None);
    };
    let key = key
        .to_str()
        .ok()
        .filter(|key| {
            (1..=200).contains(&key.len()) && key.bytes().all(|b| (b' '..=b'~').contains(&b))
        })
        .ok_or_else(|| {
            ApiError::invalid_field(
                HEADER,
                "Idempotency-Key must be 1 to 200 visible ASCII characters",
            )
        })?
        .to_owned();
    let hash = Sha256::digest(body).to_vec();
    let inserted = on_backend!(db, |pool| {
        sqlx::query(
            "insert into idempotency_keys (tenant_id, key, request_hash, status, body, created_at) \
             values ($1, $2, $3, 0, '', $4) on conflict (tenant_id, key) do nothing",
        )
        .bind(tenant.as_uuid())
        .bind(&key)
        .bind(&hash)
        .bind(Utc::now())
        .execute(pool)
        .await?
        .rows_affected()
    });
    if inserted == 1 {
        return Ok(Some(Claim::Fresh(key)));
    }
    let (stored_hash, status, stored_body): (Vec<u8>, i32, String) = on_backend!(db, |pool| {
        sqlx::query_as("select request_hash, status, body from idempotency_keys where tenant_id = $1 and key = $2")
            .bind(tenant.as_uuid())
            .bind(&key)
            .fetch_one(pool)
            .await?
    });
    if stored_hash != hash {
        return Err(ApiError::invalid_field(
            HEADER,
            "this Idempotency-Key was used for a different request",
        ));
    }
    match u16::try_from(status)
        .ok()
        .and_then(|status| StatusCode::from_u16(status).ok())
    {
        Some(status) if status.as_u16() >= 200 => Ok(Some(Claim::Replay(status, stored_body))),
        _ => Err(ApiError::Conflict(
            "a request with this Idempotency-Key is still in progress".into(),
        )),
    }
}

/// Records the answer to a fresh keyed request.
///
/// # Errors
/// Database errors.
pub async fn finish(
    db: &Database,
    tenant: TenantId,
    key: &str,
    status: StatusCode,
    body: &str,
) -> Result<(), sqlx::Error> {
    on_backend!(db, |pool| {
        sqlx::query(
            "update idempotency_keys set status = $3, body = $4 where tenant_id = $1 and key = $2",
        )
        .bind(tenant.as_uuid())
        .bind(key)
        .bind(i32::from(status.as_u16()))
        .bind(body)
        .execute(pool)
        .await?;
    });
    Ok(())
}

/// Frees a key whose request failed, so that it can be retried.
///
/// # Errors
/// Database errors.
pub async fn release(db: &Database, tenant: TenantId, key: &str) -> Result<(), sqlx::Error> {
    on_backend!(db, |pool| {
        sqlx::query(
            "delete from idempotency_keys where tenant_id = $1 and key = $2 and status = 0",
        )
        .bind(tenant.as_uuid())
        .bind(key)
        .execute(pool)
        .await?;
    });
    Ok(())
}

/// Runs the creation `create` at most once per `Idempotency-Key`: a first request runs it and
/// records its answer (a 201 with the created record's JSON), a repeat of the same request gets
/// that answer again, and a failed creation frees the key for a retry. Without the header it
/// simply runs `create`.
///
/// # Errors
/// The errors of [`claim`] and of `create`; database errors.
pub async fn create_once<T, E>(
    db: &Database,
    tenant: TenantId,
    headers: &HeaderMap,
    body: &[u8],
    create: impl AsyncFnOnce() -> Result<T, E>,
) -> Result<axum::response::Response, ApiError>
where
    T: serde::Serialize,
    ApiError: From<E>,
{
    use axum::response::IntoResponse;

    let json_answer = |status: StatusCode, json: String| {
        (
            status,
            [(axum::http::header::CONTENT_TYPE, "application/json")],
            json,
        )
            .into_response()
    };
    let key = match claim(db, tenant, headers, body).await? {
        Some(Claim::Replay(status, body)) => return Ok(json_answer(status, body)),
        Some(Claim::Fresh(key)) => Some(key),
        None => None,
    };
    match create().await {
        Ok(created) => {
            let json = serde_json::to_string(&created).map_err(ApiError::internal)?;
            if let Some(key) = key {
                finish(db, tenant, &key, StatusCode::CREATED, &json).await?;
            }
            Ok(json_answer(StatusCode::CREATED, json))
        }
        Err(error) => {
            if let Some(key) = key {
                release(db, tenant, &key).await?;
            }
            Err(error.into())
        }
    }
}

//! The `/api/v1` routes of the ops API, relative to `/api/v1`.

mod me;

use axum::Router;
use axum::routing::get;

use crate::db::Database;

/// The ops API's routes. The caller nests them under `/api/v1` behind
/// [`require_actor`](crate::auth::require_actor).
pub fn router(db: Database) -> Router {
    Router::new().route("/me", get(me::get)).with_state(db)
}

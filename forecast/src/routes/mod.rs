//! The HTTP routes of workforce management, relative to `/api/v1/wfm`.
//!
//! | route | what |
//! |---|---|
//! | `GET /erlang` | `tenet erlang` over a query string |
//! | `POST /forecast` | contacts and AHT per interval from JSON history rows |
//! | `POST /reforecast` | the rest of today from today's actuals |
//! | `POST /plan` | a staffing plan across queues with the reason for every count |
//! | `POST /schedule/cover` | minimum-cost shift cover (`tenet schedule cover`) |
//! | `POST /schedule/week` | a weekly schedule with breaks (`tenet schedule week`) |
//!
//! Bodies are JSON up to [`MAX_BODY_BYTES`]; refusals are described in [`error`].

mod erlang;
pub mod error;
pub mod forecast;
pub mod plan;
pub mod reforecast;
pub mod schedule;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};

pub use error::ApiError;

/// Largest request body: three years of 15-minute history rows with AHT fit comfortably.
pub const MAX_BODY_BYTES: usize = 8 * 1024 * 1024;

/// The routes, to be nested under `/api/v1/wfm` behind authentication and the workforce
/// planning permission.
pub fn router() -> Router {
    Router::new()
        .route("/erlang", get(erlang::erlang))
        .route("/forecast", post(forecast::forecast))
        .route("/reforecast", post(reforecast::handler))
        .route("/plan", post(plan::staffing_plan))
        .route("/schedule/cover", post(schedule::cover))
        .route("/schedule/week", post(schedule::week))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
}

//! `GET /api/v1/wfm/erlang?model=c&calls=100&interval_min=30&aht_sec=180&target_answer_sec=20&target_sl=0.8`
//! takes exactly the options of `tenet erlang` (with `_` in place of `-`), checked by the
//! same parser, and answers the same JSON object; a bad or missing option is a 422 that says
//! which and why.

use axum::Json;
use axum::extract::Query;
use axum::extract::rejection::QueryRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use clap::Parser;
use serde_json::{Value, json};

use crate::cli::{ErlangArgs, run_erlang};

#[derive(Parser)]
#[command(name = "erlang")]
struct ErlangQuery {
    #[command(flatten)]
    args: ErlangArgs,
}

/// clap's message for an argument list, in the words of a query string: the lines before
/// the usage, with `--aht-sec` shown as `aht_sec`.
fn query_message(rendered: &str) -> String {
    rendered
        .lines()
        .take_while(|line| !line.starts_with("Usage:") && !line.starts_with("For more information"))
        .flat_map(str::split_whitespace)
        .map(|word| {
            let quoted = word.starts_with('\'');
            let bare = word.trim_start_matches('\'');
            match bare.strip_prefix("--") {
                Some(option) => format!(
                    "{}{}",
                    if quoted { "'" } else { "" },
                    option.replace('-', "_")
                ),
                None => word.to_owned(),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
        .trim_start_matches("error: ")
        .to_owned()
}

fn invalid(status: StatusCode, message: String, field: Option<String>) -> Response {
    let details = field.map_or(Value::Null, |field| json!({ "field": field }));
    let body =
        json!({ "error": { "code": "invalid_request", "message": message, "details": details } });
    (status, Json(body)).into_response()
}

pub(super) async fn erlang(
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Response {
    let Query(params) = match query {
        Ok(query) => query,
        Err(rejection) => return invalid(StatusCode::BAD_REQUEST, rejection.body_text(), None),
    };
    let mut argv = vec!["erlang".to_owned()];
    for (key, value) in params {
        if key.is_empty() || !key.chars().all(|c| c.is_ascii_lowercase() || c == '_') {
            return invalid(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("unknown parameter `{key}`"),
                Some(key),
            );
        }
        // `--name=value`, so that a negative number is taken as a value, not an option.
        argv.push(format!("--{}={value}", key.replace('_', "-")));
    }
    let parsed = match ErlangQuery::try_parse_from(argv) {
        Ok(parsed) => parsed,
        Err(error) => {
            let message = query_message(&error.render().to_string());
            return invalid(StatusCode::UNPROCESSABLE_ENTITY, message, None);
        }
    };
    // Linear in the agents: off the request threads, like every other computation here.
    match super::forecast::blocking(move || run_erlang(&parsed.args)).await {
        Ok(report) => Json(report).into_response(),
        Err(error) => invalid(StatusCode::UNPROCESSABLE_ENTITY, error.to_string(), None),
    }
}

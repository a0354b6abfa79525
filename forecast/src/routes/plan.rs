//! `POST /api/v1/wfm/plan`: a staffing plan for one or more queues from their histories:
//! forecast, Erlang C or A per interval with the forecast AHT, shrinkage by category, totals
//! across queues and the reason for every count.
//!
//! ```json
//! {"horizon_days": 7,
//!  "shrinkage": {"breaks": 0.1, "training": 0.05, "meetings": 0.03, "absence": 0.08},
//!  "queues": [{"name": "retail", "history": [...], "aht_sec": 180,
//!              "erlang": "c", "targets": {"service_level": 0.8, "answer_sec": 20}}]}
//! ```

use std::collections::BTreeMap;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::error::{ApiError, json_body};
use super::forecast::{
    HistoryRowBody, SpecialDayBody, blocking, parse_history, parse_horizon, parse_model,
    parse_special_days,
};
use crate::erlang::{
    HandleTime, MaxOccupancy, Model, ParamError, Patience, Probability, ServiceLevelBasis,
    ServiceLevelTarget, Shrinkage, Targets, WaitLimit,
};
use crate::plan::{PlanError, QueueDemand, ShrinkageByCategory, StaffingPlan, plan};
use crate::volume::forecast_with;

/// Most queues in one plan.
pub const MAX_QUEUES: usize = 50;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PlanBody {
    horizon_days: u32,
    queues: Vec<QueueBody>,
    #[serde(default)]
    shrinkage: ShrinkageBody,
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    ma_weeks: Option<usize>,
    #[serde(default)]
    special_days: Vec<SpecialDayBody>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ShrinkageBody {
    breaks: Option<f64>,
    training: Option<f64>,
    meetings: Option<f64>,
    absence: Option<f64>,
}

#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
enum ErlangBody {
    #[default]
    C,
    A,
}

#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
enum BasisBody {
    #[default]
    Arrivals,
    Answered,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct QueueBody {
    name: String,
    history: Vec<HistoryRowBody>,
    #[serde(default)]
    aht_sec: Option<f64>,
    #[serde(default)]
    erlang: ErlangBody,
    #[serde(default)]
    patience_sec: Option<f64>,
    #[serde(default)]
    sl_basis: BasisBody,
    targets: TargetsBody,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TargetsBody {
    service_level: Option<f64>,
    answer_sec: Option<f64>,
    max_asa_sec: Option<f64>,
    max_occupancy: Option<f64>,
    max_abandon: Option<f64>,
}

/// The plan answer.
#[derive(Debug, Serialize)]
pub struct PlanResponse {
    /// Forecasting model used per queue.
    pub models: BTreeMap<String, String>,
    /// The plan.
    #[serde(flatten)]
    pub plan: StaffingPlan,
}

fn param<T>(field: String, parsed: Result<T, ParamError>) -> Result<T, ApiError> {
    parsed.map_err(|e| ApiError::invalid(field, e.to_string()))
}

fn shrinkage(body: &ShrinkageBody) -> Result<ShrinkageByCategory, ApiError> {
    let one = |name: &str, value: Option<f64>| {
        value
            .map(|v| param(format!("shrinkage.{name}"), Shrinkage::new(v)))
            .transpose()
    };
    let categories = ShrinkageByCategory {
        breaks: one("breaks", body.breaks)?,
        training: one("training", body.training)?,
        meetings: one("meetings", body.meetings)?,
        absence: one("absence", body.absence)?,
    };
    param("shrinkage".into(), categories.total())?;
    Ok(categories)
}

fn targets(body: &TargetsBody, at: &str) -> Result<Targets, ApiError> {
    let service_level = match (body.service_level, body.answer_sec) {
        (Some(share), Some(within)) => Some(ServiceLevelTarget::new(
            param(format!("{at}.service_level"), Probability::new(share))?,
            param(format!("{at}.answer_sec"), WaitLimit::from_secs(within))?,
        )),
        (None, None) => None,
        (Some(_), None) => {
            return Err(ApiError::invalid(
                format!("{at}.answer_sec"),
                "a service level target needs the answer time T in seconds",
            ));
        }
        (None, Some(_)) => {
            return Err(ApiError::invalid(
                format!("{at}.service_level"),
                "an answer time needs the service level share X (0.8 for 80 %)",
            ));
        }
    };
    let targets = Targets {
        service_level,
        max_asa: body
            .max_asa_sec
            .map(|v| param(format!("{at}.max_asa_sec"), WaitLimit::from_secs(v)))
            .transpose()?,
        max_abandon: body
            .max_abandon
            .map(|v| param(format!("{at}.max_abandon"), Probability::new(v)))
            .transpose()?,
        max_occupancy: body
            .max_occupancy
            .map(|v| param(format!("{at}.max_occupancy"), MaxOccupancy::new(v)))
            .transpose()?,
    };
    if targets == Targets::default() {
        return Err(ApiError::invalid(
            at,
            "give at least one target: service_level with answer_sec, max_asa_sec, \
             max_occupancy or max_abandon",
        ));
    }
    Ok(targets)
}

pub(super) async fn staffing_plan(
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    match run(&headers, body).await {
        Ok(answer) => Json(answer).into_response(),
        Err(error) => error.into_response(),
    }
}

struct CheckedQueue {
    name: String,
    history: crate::volume::History,
    aht: Option<HandleTime>,
    model: Model,
    targets: Targets,
}

async fn run(
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<PlanResponse, ApiError> {
    let body: PlanBody = json_body(headers, body)?;
    let horizon = parse_horizon(body.horizon_days)?;
    let choice = parse_model(body.model.as_deref(), body.ma_weeks)?;
    let special = parse_special_days(&body.special_days, "special_days")?;
    let shrinkage = shrinkage(&body.shrinkage)?;
    if body.queues.is_empty() || body.queues.len() > MAX_QUEUES {
        return Err(ApiError::invalid(
            "queues",
            format!("between 1 and {MAX_QUEUES} queues are accepted"),
        ));
    }
    let mut queues: Vec<CheckedQueue> = Vec::with_capacity(body.queues.len());
    for (i, q) in body.queues.iter().enumerate() {
        let at = format!("queues[{i}]");
        let name = q.name.trim();
        if name.is_empty() {
            return Err(ApiError::invalid(
                format!("{at}.name"),
                "a queue needs a name",
            ));
        }
        if queues.iter().any(|c| c.name == name) {
            return Err(ApiError::invalid(
                format!("{at}.name"),
                format!("queue `{name}` is given twice"),
            ));
        }
        let history = parse_history(&q.history, &format!("{at}.history"))?;
        let aht = q
            .aht_sec
            .map(|v| param(format!("{at}.aht_sec"), HandleTime::from_secs(v)))
            .transpose()?;
        if aht.is_none() && !history.has_aht() {
            return Err(ApiError::invalid(
                format!("{at}.aht_sec"),
                "the history has no aht_sec values: give the queue's aht_sec",
            ));
        }
        let model = match q.erlang {
            ErlangBody::C => Model::ErlangC,
            ErlangBody::A => {
                let patience = q.patience_sec.ok_or_else(|| {
                    ApiError::invalid(
                        format!("{at}.patience_sec"),
                        "Erlang A needs the mean caller patience in seconds",
                    )
                })?;
                Model::ErlangA {
                    patience: param(format!("{at}.patience_sec"), Patience::from_secs(patience))?,
                    basis: match q.sl_basis {
                        BasisBody::Arrivals => ServiceLevelBasis::Arrivals,
                        BasisBody::Answered => ServiceLevelBasis::Answered,
                    },
                }
            }
        };
        queues.push(CheckedQueue {
            name: name.to_owned(),
            history,
            aht,
            model,
            targets: targets(&q.targets, &format!("{at}.targets"))?,
        });
    }
    blocking(move || {
        let mut models = BTreeMap::new();
        let mut demands = Vec::with_capacity(queues.len());
        for (i, q) in queues.into_iter().enumerate() {
            let (used, forecast) = forecast_with(choice, &q.history, &special, horizon)
                .map_err(|e| ApiError::invalid(format!("queues[{i}].history"), e.to_string()))?;
            models.insert(q.name.clone(), used.name());
            // Without a default AHT every interval has a forecast AHT (checked above).
            let aht = q
                .aht
                .unwrap_or(HandleTime::from_secs(1.0).expect("1 s is valid"));
            demands.push(QueueDemand {
                name: q.name,
                forecast,
                aht,
                model: q.model,
                targets: q.targets,
            });
        }
        let plan = plan(&demands, &shrinkage).map_err(|e| match &e {
            PlanError::Grid(name) => {
                let i = demands.iter().position(|d| &d.name == name).unwrap_or(0);
                ApiError::invalid(format!("queues[{i}].history"), e.to_string())
            }
            PlanError::Staffing { queue, .. } => {
                let i = demands.iter().position(|d| &d.name == queue).unwrap_or(0);
                ApiError::unsolvable(Some(format!("queues[{i}].targets").as_str()), e.to_string())
            }
            PlanError::Param(_) => ApiError::unsolvable(None, e.to_string()),
        })?;
        Ok(PlanResponse { models, plan })
    })
    .await
}

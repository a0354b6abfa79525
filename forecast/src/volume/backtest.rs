//! Rolling-origin backtests and automatic model choice.
//!
//! An origin is a day boundary: the model sees the history before it and forecasts the
//! following days, which are then compared with what happened. WAPE = Σ|actual − forecast|
//! / Σ actual over all intervals; MAPE = mean |actual − forecast| / actual over intervals
//! with contacts. Missing days are not scored. When the history carries handling times, the
//! AHT forecast is scored too: AHT WAPE = Σ contacts × |actual AHT − forecast AHT| / Σ
//! actual handling seconds, over intervals with handled contacts.

use chrono::NaiveDate;
use serde::Serialize;

use super::history::{Forecast, History};
use super::models::{ENSEMBLE_MEMBERS, ForecastError, ModelKind, mean_forecast};
use super::special_days::SpecialDays;

/// Origins and horizon of a rolling-origin backtest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BacktestPlan {
    /// Number of origins.
    pub origins: usize,
    /// Days forecast from each origin.
    pub horizon_days: usize,
    /// Days between consecutive origins.
    pub step_days: usize,
}

impl BacktestPlan {
    /// The plan: 8 weekly origins with a 7-day horizon.
    pub const WEEKLY: Self = Self {
        origins: 8,
        horizon_days: 7,
        step_days: 7,
    };

    /// Origin day indices, oldest first, the last one leaving a full horizon of history.
    #[must_use]
    pub fn origin_days(&self, history_days: usize) -> Vec<usize> {
        (0..self.origins)
            .rev()
            .filter_map(|i| history_days.checked_sub(self.horizon_days + i * self.step_days))
            .filter(|&o| o > 0)
            .collect()
    }
}

/// Absolute errors summed over scored intervals.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ErrorSums {
    abs_error: f64,
    actual: f64,
    pct_error: f64,
    pct_count: usize,
    aht_abs_error: f64,
    aht_handle: f64,
}

impl ErrorSums {
    /// Adds a forecast against the actual days of `history` it covers.
    pub fn add(&mut self, history: &History, origin: usize, forecast: &Forecast) {
        for (h, day) in forecast.days.iter().enumerate() {
            let Some(actual) = history.day(origin + h) else {
                continue;
            };
            for (a, f) in actual.iter().zip(day) {
                let err = (a - f).abs();
                self.abs_error += err;
                self.actual += a;
                if *a > 0.0 {
                    self.pct_error += err / a;
                    self.pct_count += 1;
                }
            }
            let (Some(aht), Some(handled)) = (&forecast.aht_sec, history.handled(origin + h))
            else {
                continue;
            };
            for (sample, f) in handled.iter().zip(&aht[h]) {
                if sample.contacts > 0.0 {
                    self.aht_abs_error += (sample.handle_sec - sample.contacts * f).abs();
                    self.aht_handle += sample.handle_sec;
                }
            }
        }
    }

    /// Contact-weighted AHT error relative to the handling seconds, `None` when nothing
    /// with a handling time was scored.
    #[must_use]
    pub fn aht_wape(&self) -> Option<f64> {
        (self.aht_handle > 0.0).then(|| self.aht_abs_error / self.aht_handle)
    }

    /// Weighted absolute percentage error.
    #[must_use]
    pub fn wape(&self) -> f64 {
        if self.actual > 0.0 {
            self.abs_error / self.actual
        } else {
            f64::NAN
        }
    }

    /// Mean absolute percentage error over intervals with contacts.
    #[must_use]
    pub fn mape(&self) -> f64 {
        if self.pct_count > 0 {
            self.pct_error / self.pct_count as f64
        } else {
            f64::NAN
        }
    }
}

/// A model or the automatic choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelChoice {
    /// One model.
    Fixed(ModelKind),
    /// The candidate with the lowest WAPE in an inner backtest on the history before the
    /// origin.
    Auto,
}

impl ModelChoice {
    /// Name in reports.
    #[must_use]
    pub fn name(self) -> String {
        match self {
            Self::Fixed(kind) => kind.name(),
            Self::Auto => "auto".into(),
        }
    }
}

/// Models the automatic choice considers.
pub const CANDIDATES: [ModelKind; 5] = [
    ModelKind::SeasonalNaive,
    ModelKind::MovingAverage { weeks: 4 },
    ModelKind::Ridge,
    ModelKind::ProfileLevel,
    ModelKind::Ensemble,
];

/// Inner backtest of the automatic choice: four weekly origins before the real origin.
const INNER_PLAN: BacktestPlan = BacktestPlan {
    origins: 4,
    horizon_days: 7,
    step_days: 7,
};

/// The model `auto` picks for `history`: lowest pooled WAPE over the inner backtest among
/// the candidates that can forecast it (the 4-week moving average when none can be scored).
/// The inner origins lie inside `history`, so the choice never sees the days it forecasts.
#[must_use]
pub fn choose_model(history: &History, special: &SpecialDays) -> ModelKind {
    let origins = INNER_PLAN.origin_days(history.len_days());
    let mut sums = [ErrorSums::default(); CANDIDATES.len()];
    let mut failed = [origins.is_empty(); CANDIDATES.len()];
    for &o in &origins {
        let known = history.truncated(o);
        // The ensemble is the mean of other candidates: forecast them once per origin.
        let forecasts: Vec<Option<Forecast>> = CANDIDATES
            .iter()
            .map(|kind| {
                if *kind == ModelKind::Ensemble {
                    return None;
                }
                kind.forecast(&known, special, INNER_PLAN.horizon_days).ok()
            })
            .collect();
        for (i, kind) in CANDIDATES.iter().enumerate() {
            let forecast = if *kind == ModelKind::Ensemble {
                ENSEMBLE_MEMBERS
                    .iter()
                    .map(|m| {
                        let at = CANDIDATES.iter().position(|c| c == m)?;
                        forecasts[at].clone()
                    })
                    .collect::<Option<Vec<_>>>()
                    .map(|members| mean_forecast(&members))
            } else {
                forecasts[i].clone()
            };
            match forecast {
                Some(f) => sums[i].add(history, o, &f),
                None => failed[i] = true,
            }
        }
    }
    let mut best = (ModelKind::MovingAverage { weeks: 4 }, f64::INFINITY);
    for (i, kind) in CANDIDATES.iter().enumerate() {
        let wape = sums[i].wape();
        if !failed[i] && wape < best.1 {
            best = (*kind, wape);
        }
    }
    best.0
}

/// Forecasts with a fixed model or the automatic choice; returns the model used.
///
/// # Errors
///
/// As [`ModelKind::forecast`].
pub fn forecast_with(
    choice: ModelChoice,
    history: &History,
    special: &SpecialDays,
    horizon_days: usize,
) -> Result<(ModelKind, Forecast), ForecastError> {
    let kind = match choice {
        ModelChoice::Fixed(kind) => kind,
        ModelChoice::Auto => choose_model(history, special),
    };
    Ok((kind, kind.forecast(history, special, horizon_days)?))
}

/// Score of one model at one origin.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OriginScore {
    /// Model name (`auto` rows say which model it chose).
    pub model: String,
    /// The model `auto` used, or the model itself.
    pub used: String,
    /// First forecast day.
    pub origin: NaiveDate,
    /// WAPE at this origin.
    pub wape: f64,
    /// MAPE at this origin.
    pub mape: f64,
    /// AHT WAPE at this origin, when the history has handling times.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aht_wape: Option<f64>,
}

/// Pooled score of one model over all origins.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelScore {
    /// Model name.
    pub model: String,
    /// WAPE pooled over all origins.
    pub wape: f64,
    /// MAPE pooled over all origins.
    pub mape: f64,
    /// AHT WAPE pooled over all origins, when the history has handling times.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aht_wape: Option<f64>,
}

/// Result of a backtest.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BacktestReport {
    /// Per model and origin.
    pub per_origin: Vec<OriginScore>,
    /// Per model over all origins.
    pub overall: Vec<ModelScore>,
}

/// Runs every model in `models` at every origin of `plan`.
///
/// # Errors
///
/// [`ForecastError::NotEnoughHistory`] when the history has no room for an origin, and
/// errors of fixed models (the automatic choice skips a model that cannot forecast).
pub fn backtest(
    history: &History,
    special: &SpecialDays,
    models: &[ModelChoice],
    plan: BacktestPlan,
) -> Result<BacktestReport, ForecastError> {
    let origins = plan.origin_days(history.len_days());
    if origins.is_empty() {
        return Err(ForecastError::NotEnoughHistory {
            model: "backtest",
            why: format!("{} days leave no origin", history.len_days()),
        });
    }
    let mut per_origin = Vec::new();
    let mut overall = Vec::new();
    for &choice in models {
        let mut pooled = ErrorSums::default();
        for &o in &origins {
            let known = history.truncated(o);
            let (used, forecast) = forecast_with(choice, &known, special, plan.horizon_days)?;
            let mut sums = ErrorSums::default();
            sums.add(history, o, &forecast);
            pooled.add(history, o, &forecast);
            per_origin.push(OriginScore {
                model: choice.name(),
                used: used.name(),
                origin: history.date(o),
                wape: sums.wape(),
                mape: sums.mape(),
                aht_wape: sums.aht_wape(),
            });
        }
        overall.push(ModelScore {
            model: choice.name(),
            wape: pooled.wape(),
            mape: pooled.mape(),
            aht_wape: pooled.aht_wape(),
        });
    }
    Ok(BacktestReport {
        per_origin,
        overall,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weekly_plan_ends_one_horizon_before_the_last_day() {
        assert_eq!(
            BacktestPlan::WEEKLY.origin_days(100),
            vec![44, 51, 58, 65, 72, 79, 86, 93]
        );
        assert_eq!(BacktestPlan::WEEKLY.origin_days(20), vec![6, 13]);
    }

    #[test]
    fn wape_weights_errors_by_volume() {
        let first = NaiveDate::from_ymd_opt(2024, 1, 1).unwrap();
        let h = History::from_days(
            first,
            720,
            vec![Some(vec![10.0, 0.0]), Some(vec![30.0, 10.0])],
        );
        let f = Forecast {
            first_day: first,
            interval_min: 720,
            days: vec![vec![12.0, 1.0], vec![30.0, 5.0]],
            aht_sec: None,
        };
        let mut sums = ErrorSums::default();
        sums.add(&h, 0, &f);
        assert!((sums.wape() - 8.0 / 50.0).abs() < 1e-12);
        assert!((sums.mape() - (0.2 + 0.0 + 0.5) / 3.0).abs() < 1e-12);
    }
}

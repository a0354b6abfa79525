//! Rolling-origin backtests and automatic model choice.
//!
//! An origin is a day boundary: the model sees the history before it and forecasts the
//! following days, which are then compared with what happened. WAPE = Σ|actual − forecast|
//! / Σ actual over all intervals; MAPE = mean |actual − forecast| / actual over intervals
//! with contacts. Missing days are not scored. When the history carries handling times, the
//! AHT forecast is scored too: AHT WAPE = Σ contacts × |actual AHT − forecast AHT| / Σ
//! actual handling seconds, over intervals with handled contacts.
//!
//! The automatic choice ([`ModelChoice::Auto`]) runs the same kind of backtest inside the
//! history before each origin and combines the candidates by their inner accuracy
//! ([`choose_weights`]); nothing it does reads the days it forecasts.

use chrono::NaiveDate;
use serde::Serialize;

use super::history::{Forecast, History};
use super::models::{ForecastError, ModelKind, weighted_mean_forecast};
use super::special_days::{SpecialDays, abnormal_days};

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
        self.add_where(history, origin, forecast, |_| true);
    }

    /// Adds a forecast against the actual days of `history` it covers for which `score`
    /// (given the day index) holds.
    pub fn add_where(
        &mut self,
        history: &History,
        origin: usize,
        forecast: &Forecast,
        score: impl Fn(usize) -> bool,
    ) {
        for (h, day) in forecast.days.iter().enumerate() {
            let Some(actual) = history.day(origin + h).filter(|_| score(origin + h)) else {
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
    /// Every candidate that can forecast the history, weighted by its accuracy in an inner
    /// backtest on the history before the origin (see [`choose_weights`]).
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

/// What made a forecast: one model, or the automatic combination of several.
#[derive(Debug, Clone, PartialEq)]
pub enum UsedModel {
    /// One model.
    Single(ModelKind),
    /// Models and their weights (summing to 1), heaviest first.
    Combination(Vec<(ModelKind, f64)>),
}

impl UsedModel {
    /// Name in reports: the model, or `combination(ridge 0.31, local-level 0.27, …)`.
    #[must_use]
    pub fn name(&self) -> String {
        match self {
            Self::Single(kind) => kind.name(),
            Self::Combination(weights) => {
                let parts: Vec<String> = weights
                    .iter()
                    .map(|(kind, w)| format!("{} {w:.2}", kind.name()))
                    .collect();
                format!("combination({})", parts.join(", "))
            }
        }
    }
}

/// Models the automatic choice combines. The ensemble is left out: it is itself a fixed
/// combination of three of them.
pub const CANDIDATES: [ModelKind; 5] = [
    ModelKind::SeasonalNaive,
    ModelKind::MovingAverage { weeks: 4 },
    ModelKind::Ridge,
    ModelKind::ProfileLevel,
    ModelKind::LocalLevel,
];

/// Inner backtest of the automatic choice: four weekly origins before the real origin.
const INNER_PLAN: BacktestPlan = BacktestPlan {
    origins: 4,
    horizon_days: 7,
    step_days: 7,
};

/// Inner WAPE under which a candidate counts as exact (rounding aside).
const PERFECT_WAPE: f64 = 1e-9;

/// Weights of the automatic combination for `history`, heaviest first.
///
/// Each candidate forecasts the four weekly origins of an inner backtest that lies inside
/// `history`, so the weights never see the days being forecast. A candidate that fails at
/// any inner origin gets no weight; the others get weights proportional to 1 / WAPE²
/// (Bates and Granger's inverse-error weights, with the pooled WAPE standing in for the
/// error's scale), so a clearly worse model still counts a little and near-equal models
/// share the forecast almost equally. Averaging models whose errors are only partly
/// correlated cancels part of their errors, and weights from four weeks of history are far
/// steadier than a winner-takes-all pick among models that differ by a few percent.
/// Days that are special or abnormal (an unconfigured holiday) are not scored: no
/// candidate is meant to forecast them, and they would only add noise to the weights.
/// A candidate with an inner WAPE of 0 (to 1e-9) takes all the weight, shared equally with
/// any other such; without any scored candidate the 4-week moving average is used alone.
#[must_use]
pub fn choose_weights(history: &History, special: &SpecialDays) -> Vec<(ModelKind, f64)> {
    let origins = INNER_PLAN.origin_days(history.len_days());
    let abnormal = abnormal_days(history, special);
    let mut sums = [ErrorSums::default(); CANDIDATES.len()];
    let mut failed = [origins.is_empty(); CANDIDATES.len()];
    for &o in &origins {
        let known = history.truncated(o);
        for (i, kind) in CANDIDATES.iter().enumerate() {
            match kind.forecast(&known, special, INNER_PLAN.horizon_days) {
                Ok(f) => sums[i].add_where(history, o, &f, |d| !abnormal[d]),
                Err(_) => failed[i] = true,
            }
        }
    }
    let wapes: Vec<(ModelKind, f64)> = CANDIDATES
        .iter()
        .zip(&sums)
        .zip(&failed)
        .filter(|(_, failed)| !**failed)
        .map(|((kind, sums), _)| (*kind, sums.wape()))
        .filter(|(_, wape)| wape.is_finite())
        .collect();
    let perfect = wapes.iter().filter(|(_, w)| *w <= PERFECT_WAPE).count();
    let mut weights: Vec<(ModelKind, f64)> = wapes
        .iter()
        .map(|&(kind, wape)| {
            let weight = match perfect {
                0 => wape.powi(-2),
                _ if wape <= PERFECT_WAPE => 1.0,
                _ => 0.0,
            };
            (kind, weight)
        })
        .filter(|(_, w)| *w > 0.0)
        .collect();
    if weights.is_empty() {
        return vec![(ModelKind::MovingAverage { weeks: 4 }, 1.0)];
    }
    let total: f64 = weights.iter().map(|(_, w)| w).sum();
    for (_, w) in &mut weights {
        *w /= total;
    }
    weights.sort_by(|a, b| b.1.total_cmp(&a.1));
    weights
}

/// Forecasts with a fixed model or the automatic combination; returns what was used.
///
/// # Errors
///
/// As [`ModelKind::forecast`].
pub fn forecast_with(
    choice: ModelChoice,
    history: &History,
    special: &SpecialDays,
    horizon_days: usize,
) -> Result<(UsedModel, Forecast), ForecastError> {
    let kind = match choice {
        ModelChoice::Fixed(kind) => kind,
        ModelChoice::Auto => {
            let weights = choose_weights(history, special);
            if weights.len() > 1 {
                let members = weights
                    .iter()
                    .map(|(kind, _)| kind.forecast(history, special, horizon_days))
                    .collect::<Result<Vec<_>, _>>()?;
                let w: Vec<f64> = weights.iter().map(|(_, w)| *w).collect();
                return Ok((
                    UsedModel::Combination(weights),
                    weighted_mean_forecast(&members, &w),
                ));
            }
            weights[0].0
        }
    };
    Ok((
        UsedModel::Single(kind),
        kind.forecast(history, special, horizon_days)?,
    ))
}

/// Score of one model at one origin.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OriginScore {
    /// Model name (`auto` for the automatic combination).
    pub model: String,
    /// The model itself, or for `auto` the combination it used (models and weights).
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

    /// Twelve weeks of one-slot days with a weekly pattern that repeats exactly.
    fn repeating_weeks() -> History {
        let first = NaiveDate::from_ymd_opt(2024, 1, 1).unwrap();
        let days = (0..84)
            .map(|d| Some(vec![10.0 * (d % 7 + 1) as f64]))
            .collect();
        History::from_days(first, 1440, days)
    }

    #[test]
    fn auto_weights_sum_to_one_and_favour_the_accurate() {
        // Weekly pattern plus a rise of 1 % a week: every candidate is close, none exact.
        let first = NaiveDate::from_ymd_opt(2024, 1, 1).unwrap();
        let days = (0..140)
            .map(|d| {
                let weekday = [100.0, 110.0, 90.0, 95.0, 105.0, 30.0, 10.0][d % 7];
                Some(vec![weekday * (1.0 + 0.01 * (d / 7) as f64)])
            })
            .collect();
        let h = History::from_days(first, 1440, days);

        let weights = choose_weights(&h, &SpecialDays::default());

        let total: f64 = weights.iter().map(|(_, w)| w).sum();
        assert!((total - 1.0).abs() < 1e-12);
        assert!(weights.windows(2).all(|w| w[0].1 >= w[1].1), "{weights:?}");
        assert!(weights.len() >= 3, "{weights:?}");
        let weight_of = |kind| weights.iter().find(|(k, _)| *k == kind).map(|(_, w)| *w);
        // Last week's values lag the trend by one week, the 4-week mean by two and a half.
        assert!(
            weight_of(ModelKind::SeasonalNaive) > weight_of(ModelKind::MovingAverage { weeks: 4 }),
            "{weights:?}"
        );
    }

    #[test]
    fn a_perfect_candidate_takes_all_the_weight() {
        let h = repeating_weeks();

        let weights = choose_weights(&h, &SpecialDays::default());
        let (_, forecast) =
            forecast_with(ModelChoice::Auto, &h, &SpecialDays::default(), 7).unwrap();

        // The baselines repeat the week exactly and share the weight equally with any
        // other exact candidate.
        let share = 1.0 / weights.len() as f64;
        assert!(
            weights.iter().all(|(_, w)| (w - share).abs() < 1e-12),
            "{weights:?}"
        );
        assert!(
            weights.iter().any(|(k, _)| *k == ModelKind::SeasonalNaive),
            "{weights:?}"
        );
        for (d, day) in forecast.days.iter().enumerate() {
            let truth = 10.0 * ((84 + d) % 7 + 1) as f64;
            assert!((day[0] - truth).abs() < 1e-6, "day {d}: {}", day[0]);
        }
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

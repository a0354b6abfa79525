//! Forecasting models: two seasonal baselines and a regression trained with linfa.
//!
//! Every model forecasts whole days after an origin (the day after the last history day)
//! from the history before it:
//!
//! - **seasonal naive**: each interval repeats the same slot one week earlier (earlier
//!   weeks when that day is missing, special or abnormal);
//! - **moving average**: the mean of the same weekday and slot over the last k present,
//!   normal weeks (configured special days and days the data shows to be abnormal, such as
//!   an unconfigured holiday, are skipped: one closed day would otherwise pull a 4-week
//!   mean down by a quarter for a month);
//! - **profile × level**: the day's volume is a recency-weighted mean of the last eight
//!   same-weekday totals, each divided by its day-of-month factor, times the target day's
//!   factor; the factors (paydays, month ends) are learnt from the year before the origin,
//!   shrunk towards 1 and smoothed over neighbouring days of the month;
//! - **local level**: the day's volume is a level × the target's weekday factor × its
//!   day-of-month factor. The level is an exponentially weighted mean (0.9 per day of age)
//!   of every normal day of the last four weeks, each divided by its own weekday and
//!   day-of-month factors; the weekday factors are the weekday means of the last eight
//!   weeks relative to their average. Where the same-weekday models see one day a week, the
//!   level sees all of them, so it follows a shift in volume within days rather than weeks;
//! - **ensemble**: the mean of ridge, profile × level and the 4-week moving average. Their
//!   errors are only partly correlated, so the mean is steadier than any one of them (the
//!   automatic choice still has to prefer it on the origins before the forecast);
//! - **ridge**: the day's volume is a baseline
//!   (mean of the last 4 same-weekday totals) times a factor learnt by ridge regression
//!   (linfa's elastic net with an L2 penalty only)
//!   from calendar and level features built with polars: weekday, day of month, trend,
//!   recent level and special days. The day's volume is spread over its intervals with the
//!   weekday × slot profile of the last eight weeks, smoothed across neighbouring slots.
//!   Counts per interval are Poisson-noisy; the daily total and the intraday shape are
//!   estimated from many more contacts than any one slot sees.

use linfa::prelude::*;
use linfa_elasticnet::ElasticNet;
use ndarray::{Array1, Array2};
use polars::prelude::*;

use super::aht::forecast_aht;
use super::history::{Forecast, History};
use super::special_days::{SpecialDays, SpecialKind, abnormal_days};

/// Why a forecast could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ForecastError {
    /// Too little history for the model.
    #[error("{model} needs more history: {why}")]
    NotEnoughHistory {
        /// The model.
        model: &'static str,
        /// What is missing.
        why: String,
    },
    /// Building the features failed.
    #[error("feature table: {0}")]
    Features(#[from] PolarsError),
    /// Fitting the regression failed.
    #[error("regression fit: {0}")]
    Fit(#[from] linfa_elasticnet::ElasticNetError),
}

/// A forecasting model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ModelKind {
    /// Same slot one week earlier.
    SeasonalNaive,
    /// Mean of the same weekday and slot over the last `weeks` weeks.
    MovingAverage {
        /// Weeks averaged.
        weeks: usize,
    },
    /// Daily volume by ridge regression on calendar and level features × intraday profile.
    Ridge,
    /// Recency-weighted same-weekday level with day-of-month factors × intraday profile.
    ProfileLevel,
    /// Mean of ridge, profile × level and the 4-week moving average.
    Ensemble,
    /// Exponentially weighted level of every recent day × weekday and day-of-month factors
    /// × intraday profile.
    LocalLevel,
}

/// Members of [`ModelKind::Ensemble`], equally weighted.
pub const ENSEMBLE_MEMBERS: [ModelKind; 3] = [
    ModelKind::Ridge,
    ModelKind::ProfileLevel,
    ModelKind::MovingAverage { weeks: 4 },
];

impl ModelKind {
    /// The model's name on the command line and in reports.
    #[must_use]
    pub fn name(self) -> String {
        match self {
            Self::SeasonalNaive => "seasonal-naive".into(),
            Self::MovingAverage { weeks } => format!("moving-average-{weeks}w"),
            Self::Ridge => "ridge".into(),
            Self::ProfileLevel => "profile-level".into(),
            Self::Ensemble => "ensemble".into(),
            Self::LocalLevel => "local-level".into(),
        }
    }

    /// Forecasts `horizon_days` whole days after the last day of `history`.
    ///
    /// # Errors
    ///
    /// [`ForecastError::NotEnoughHistory`] when the model has too little data, and feature
    /// or fit errors of the regression.
    pub fn forecast(
        self,
        history: &History,
        special: &SpecialDays,
        horizon_days: usize,
    ) -> Result<Forecast, ForecastError> {
        let days = match self {
            Self::SeasonalNaive => seasonal_naive(history, special, horizon_days),
            Self::MovingAverage { weeks } => moving_average(history, special, horizon_days, weeks),
            Self::Ridge => ridge(history, special, horizon_days)?,
            Self::ProfileLevel => profile_level(history, special, horizon_days)?,
            Self::LocalLevel => local_level(history, special, horizon_days)?,
            Self::Ensemble => {
                let members = ENSEMBLE_MEMBERS
                    .iter()
                    .map(|m| m.forecast(history, special, horizon_days))
                    .collect::<Result<Vec<_>, _>>()?;
                return Ok(mean_forecast(&members));
            }
        };
        let origin = history.len_days();
        let days = days
            .into_iter()
            .enumerate()
            .map(|(h, day)| match special.kind(history.date(origin + h)) {
                Some(SpecialKind::Closed) => vec![0.0; day.len()],
                _ => day,
            })
            .collect();
        Ok(Forecast {
            first_day: history.date(origin),
            interval_min: history.interval_min(),
            days,
            aht_sec: forecast_aht(history, special, horizon_days),
        })
    }
}

/// The interval-by-interval mean of forecasts on the same grid (the first one's AHT).
///
/// # Panics
///
/// When `members` is empty.
#[must_use]
pub fn mean_forecast(members: &[Forecast]) -> Forecast {
    let first = &members[0];
    let n = members.len() as f64;
    let days = first
        .days
        .iter()
        .enumerate()
        .map(|(d, day)| {
            (0..day.len())
                .map(|s| members.iter().map(|m| m.days[d][s]).sum::<f64>() / n)
                .collect()
        })
        .collect();
    Forecast {
        days,
        ..first.clone()
    }
}

/// The interval-by-interval weighted mean of forecasts on the same grid (the first one's
/// AHT); the weights need not sum to 1.
///
/// # Panics
///
/// When `members` is empty or `weights` has another length.
#[must_use]
pub fn weighted_mean_forecast(members: &[Forecast], weights: &[f64]) -> Forecast {
    assert_eq!(members.len(), weights.len(), "one weight per member");
    let first = &members[0];
    let total: f64 = weights.iter().sum();
    let days = first
        .days
        .iter()
        .enumerate()
        .map(|(d, day)| {
            (0..day.len())
                .map(|s| {
                    members
                        .iter()
                        .zip(weights)
                        .map(|(m, w)| w * m.days[d][s])
                        .sum::<f64>()
                        / total
                })
                .collect()
        })
        .collect();
    Forecast {
        days,
        ..first.clone()
    }
}

/// Counts of `day` when it is present and normal (neither special nor abnormal).
fn usable<'h>(history: &'h History, abnormal: &[bool], day: usize) -> Option<&'h [f64]> {
    if abnormal[day] {
        return None;
    }
    history.day(day)
}

fn seasonal_naive(history: &History, special: &SpecialDays, horizon: usize) -> Vec<Vec<f64>> {
    let origin = history.len_days();
    let slots = history.slots_per_day();
    let abnormal = abnormal_days(history, special);
    let mut out: Vec<Vec<f64>> = Vec::with_capacity(horizon);
    for h in 0..horizon {
        let target = origin + h;
        let mut lag = target;
        let value = loop {
            let Some(previous) = lag.checked_sub(7) else {
                break vec![0.0; slots];
            };
            lag = previous;
            if lag >= origin {
                break out[lag - origin].clone();
            }
            if let Some(day) = usable(history, &abnormal, lag) {
                break day.to_vec();
            }
        };
        out.push(value);
    }
    out
}

/// The `k` most recent present, usable days before `before` on the weekday of `target`.
fn same_weekday(
    before: usize,
    target: usize,
    k: usize,
    keep: impl Fn(usize) -> bool,
) -> Vec<usize> {
    let mut day = target;
    let mut found = Vec::with_capacity(k);
    while found.len() < k {
        let Some(previous) = day.checked_sub(7) else {
            break;
        };
        day = previous;
        if day < before && keep(day) {
            found.push(day);
        }
    }
    found
}

fn moving_average(
    history: &History,
    special: &SpecialDays,
    horizon: usize,
    weeks: usize,
) -> Vec<Vec<f64>> {
    let origin = history.len_days();
    let slots = history.slots_per_day();
    let abnormal = abnormal_days(history, special);
    (0..horizon)
        .map(|h| {
            let days = same_weekday(origin, origin + h, weeks, |d| {
                usable(history, &abnormal, d).is_some()
            });
            let mut mean = vec![0.0; slots];
            for &d in &days {
                for (m, v) in mean.iter_mut().zip(history.day(d).unwrap_or_default()) {
                    *m += v / days.len() as f64;
                }
            }
            mean
        })
        .collect()
}

/// Weeks in the daily-volume baseline of the ridge model.
const BASELINE_WEEKS: usize = 4;
/// Weeks in the intraday profile.
const PROFILE_WEEKS: usize = 8;
/// Days of history the regression learns from.
const TRAINING_DAYS: usize = 364;
/// Fewest training days the regression accepts.
const MIN_TRAINING_DAYS: usize = 28;
/// L2 penalty of the ridge regression (linfa's scale: per-sample loss).
const RIDGE_PENALTY: f64 = 0.02;

struct DailyView<'a> {
    history: &'a History,
    abnormal: Vec<bool>,
    totals: Vec<Option<f64>>,
}

impl<'a> DailyView<'a> {
    fn new(history: &'a History, special: &SpecialDays) -> Self {
        let abnormal = abnormal_days(history, special);
        let totals = (0..history.len_days())
            .map(|d| history.day(d).map(|v| v.iter().sum()))
            .collect();
        Self {
            history,
            abnormal,
            totals,
        }
    }

    fn normal(&self, day: usize) -> bool {
        self.totals.get(day).copied().flatten().is_some() && !self.abnormal[day]
    }

    /// Mean total of the last weeks of `target`'s weekday, using only days before `before`.
    fn baseline(&self, before: usize, target: usize) -> Option<f64> {
        let days = same_weekday(before, target, BASELINE_WEEKS, |d| self.normal(d));
        if days.len() < 2 {
            return None;
        }
        Some(days.iter().filter_map(|&d| self.totals[d]).sum::<f64>() / days.len() as f64)
    }

    /// Mean relative deviation from the baseline over the week ending a week before `day`.
    fn recent_level(&self, before: usize, day: usize) -> f64 {
        let (from, to) = (day.saturating_sub(13), day.saturating_sub(7).min(before));
        let deviations: Vec<f64> = (from..to)
            .filter(|&d| self.normal(d))
            .filter_map(|d| {
                let base = self.baseline(d, d)?;
                (base > 0.0).then(|| self.totals[d].unwrap_or(0.0) / base - 1.0)
            })
            .collect();
        if deviations.is_empty() {
            0.0
        } else {
            deviations.iter().sum::<f64>() / deviations.len() as f64
        }
    }

    /// Smoothed, normalised intraday shape of `target`'s weekday from days before `before`.
    fn profile(&self, before: usize, target: usize) -> Vec<f64> {
        let slots = self.history.slots_per_day();
        let days = same_weekday(before, target, PROFILE_WEEKS, |d| self.normal(d));
        let mut sum = vec![0.0; slots];
        for &d in &days {
            for (s, v) in sum.iter_mut().zip(self.history.day(d).unwrap_or_default()) {
                *s += v;
            }
        }
        let smoothed: Vec<f64> = (0..slots)
            .map(|i| {
                let left = sum[i.saturating_sub(1)];
                let right = sum[(i + 1).min(slots - 1)];
                0.25 * left + 0.5 * sum[i] + 0.25 * right
            })
            .collect();
        let total: f64 = smoothed.iter().sum();
        if total > 0.0 {
            smoothed.iter().map(|v| v / total).collect()
        } else {
            smoothed
        }
    }
}

/// Calendar and level features of some days, one row per day, built as a polars table.
fn feature_table(
    view: &DailyView<'_>,
    special: &SpecialDays,
    before: usize,
    days: &[usize],
) -> Result<Array2<f64>, PolarsError> {
    use chrono::Datelike;
    let history = view.history;
    let dom: Vec<i32> = days.iter().map(|&d| history.date(d).day() as i32).collect();
    let weekday: Vec<i32> = days
        .iter()
        .map(|&d| history.date(d).weekday().num_days_from_monday() as i32)
        .collect();
    let trend: Vec<f64> = days.iter().map(|&d| d as f64 / 365.0).collect();
    let recent: Vec<f64> = days.iter().map(|&d| view.recent_level(before, d)).collect();
    let holiday: Vec<f64> = days
        .iter()
        .map(|&d| {
            f64::from(u8::from(
                special.kind(history.date(d)) == Some(SpecialKind::Holiday),
            ))
        })
        .collect();
    let base = DataFrame::new_infer_height(vec![
        Column::new("day_of_month".into(), dom),
        Column::new("weekday".into(), weekday),
        Column::new("trend".into(), trend),
        Column::new("recent_level".into(), recent),
        Column::new("holiday".into(), holiday),
    ])?;
    // One-hot calendar columns: weekday (7) and day of month (31).
    let mut columns: Vec<Column> = Vec::with_capacity(41);
    for (source, values) in [("weekday", 0..7), ("day_of_month", 1..32)] {
        let series = base.column(source)?.as_materialized_series();
        for value in values {
            let flag = series.equal(value)?.cast(&DataType::Float64)?;
            columns.push(
                flag.with_name(format!("{source}_{value}").into())
                    .into_column(),
            );
        }
    }
    for name in ["trend", "recent_level", "holiday"] {
        columns.push(base.column(name)?.clone());
    }
    let table = DataFrame::new_infer_height(columns)?;
    let mut x = Array2::<f64>::zeros((table.height(), table.width()));
    for (j, column) in table.columns().iter().enumerate() {
        for (i, v) in column.f64()?.into_no_null_iter().enumerate() {
            x[[i, j]] = v;
        }
    }
    Ok(x)
}

/// Same-weekday totals in the level of the profile × level model.
const LEVEL_WEEKS: usize = 8;
/// Weight of each older week in the level (the newest weighs 1).
const LEVEL_DECAY: f64 = 0.8;
/// Days of no effect each day-of-month factor is shrunk with.
const DOM_PRIOR_DAYS: f64 = 5.0;

impl DailyView<'_> {
    /// Day-of-month factors (index 1..=31) from the year before `before`: per day of month,
    /// the geometric mean ratio of a normal day's total to the mean of its same-weekday
    /// neighbours one and two weeks away (known before `before`), shrunk towards 1 and
    /// smoothed with the neighbouring days of the month (the month wraps around).
    fn day_of_month_factors(&self, before: usize) -> [f64; 32] {
        use chrono::Datelike;
        let mut log_sum = [0.0f64; 32];
        let mut count = [0.0f64; 32];
        for d in before.saturating_sub(TRAINING_DAYS)..before {
            let Some(total) = self.totals[d].filter(|t| *t > 0.0 && self.normal(d)) else {
                continue;
            };
            let neighbours: Vec<f64> = [-14i64, -7, 7, 14]
                .iter()
                .filter_map(|offset| usize::try_from(d as i64 + offset).ok())
                .filter(|&n| n < before && self.normal(n))
                .filter_map(|n| self.totals[n])
                .collect();
            if neighbours.len() < 2 {
                continue;
            }
            let mean = neighbours.iter().sum::<f64>() / neighbours.len() as f64;
            if mean > 0.0 {
                let dom = self.history.date(d).day() as usize;
                log_sum[dom] += (total / mean).ln();
                count[dom] += 1.0;
            }
        }
        let shrunk: Vec<f64> = (0..32)
            .map(|k| log_sum[k] / (count[k] + DOM_PRIOR_DAYS))
            .collect();
        let mut factors = [1.0; 32];
        for (k, factor) in factors.iter_mut().enumerate().skip(1) {
            let left = if k == 1 { shrunk[31] } else { shrunk[k - 1] };
            let right = if k == 31 { shrunk[1] } else { shrunk[k + 1] };
            *factor = (0.25 * left + 0.5 * shrunk[k] + 0.25 * right).exp();
        }
        factors
    }
}

fn profile_level(
    history: &History,
    special: &SpecialDays,
    horizon: usize,
) -> Result<Vec<Vec<f64>>, ForecastError> {
    use chrono::Datelike;
    let origin = history.len_days();
    let view = DailyView::new(history, special);
    let factors = view.day_of_month_factors(origin);
    let factor = |d: usize| factors[history.date(d).day() as usize];
    (origin..origin + horizon)
        .map(|day| {
            let weeks = same_weekday(origin, day, LEVEL_WEEKS, |d| view.normal(d));
            if weeks.is_empty() {
                return Err(ForecastError::NotEnoughHistory {
                    model: "profile-level",
                    why: format!("no normal {} before the forecast", history.weekday(day)),
                });
            }
            let (mut level, mut weight) = (0.0, 0.0);
            for (age, &d) in weeks.iter().enumerate() {
                let w = LEVEL_DECAY.powi(age as i32);
                level += w * view.totals[d].unwrap_or(0.0) / factor(d);
                weight += w;
            }
            let total = level / weight * factor(day);
            Ok(view
                .profile(origin, day)
                .iter()
                .map(|p| p * total)
                .collect())
        })
        .collect()
}

/// Weeks of the weekday factors of the local-level model.
const WEEKDAY_WEEKS: usize = 8;
/// Days before the origin the local level averages.
const LOCAL_LEVEL_DAYS: usize = 28;
/// Weight of each older day in the local level (the newest weighs 1).
const LOCAL_LEVEL_DECAY: f64 = 0.9;

impl DailyView<'_> {
    /// Weekday factors (Monday = 0) from the normal days of the [`WEEKDAY_WEEKS`] weeks
    /// before `before`: each weekday's mean total over the mean of the weekdays seen. A
    /// weekday never seen gets 0 (a center closed that day).
    fn weekday_factors(&self, before: usize) -> [f64; 7] {
        let mut sum = [0.0f64; 7];
        let mut count = [0.0f64; 7];
        for d in before.saturating_sub(7 * WEEKDAY_WEEKS)..before {
            if let Some(total) = self.totals[d].filter(|_| self.normal(d)) {
                let w = self.history.weekday(d).num_days_from_monday() as usize;
                sum[w] += total;
                count[w] += 1.0;
            }
        }
        let seen: Vec<f64> = (0..7)
            .filter(|&w| count[w] > 0.0)
            .map(|w| sum[w] / count[w])
            .collect();
        let average = seen.iter().sum::<f64>() / seen.len().max(1) as f64;
        let mut factors = [0.0; 7];
        if average > 0.0 {
            for w in 0..7 {
                if count[w] > 0.0 {
                    factors[w] = sum[w] / count[w] / average;
                }
            }
        }
        factors
    }
}

fn local_level(
    history: &History,
    special: &SpecialDays,
    horizon: usize,
) -> Result<Vec<Vec<f64>>, ForecastError> {
    use chrono::Datelike;
    let origin = history.len_days();
    let view = DailyView::new(history, special);
    let weekday = view.weekday_factors(origin);
    let day_of_month = view.day_of_month_factors(origin);
    let factor = |d: usize| {
        weekday[history.weekday(d).num_days_from_monday() as usize]
            * day_of_month[history.date(d).day() as usize]
    };
    let (mut level, mut weight) = (0.0, 0.0);
    for d in origin.saturating_sub(LOCAL_LEVEL_DAYS)..origin {
        let Some(total) = view.totals[d].filter(|_| view.normal(d)) else {
            continue;
        };
        if factor(d) > 0.0 {
            let w = LOCAL_LEVEL_DECAY.powi((origin - 1 - d) as i32);
            level += w * total / factor(d);
            weight += w;
        }
    }
    if weight == 0.0 {
        return Err(ForecastError::NotEnoughHistory {
            model: "local-level",
            why: format!("no normal day in the {LOCAL_LEVEL_DAYS} days before the forecast"),
        });
    }
    let level = level / weight;
    Ok((origin..origin + horizon)
        .map(|day| {
            let total = level * factor(day);
            view.profile(origin, day)
                .iter()
                .map(|p| p * total)
                .collect()
        })
        .collect())
}

fn ridge(
    history: &History,
    special: &SpecialDays,
    horizon: usize,
) -> Result<Vec<Vec<f64>>, ForecastError> {
    let origin = history.len_days();
    let view = DailyView::new(history, special);
    let mut train_days = Vec::new();
    let mut targets = Vec::new();
    for d in origin.saturating_sub(TRAINING_DAYS)..origin {
        if !view.normal(d) {
            continue;
        }
        if let Some(base) = view.baseline(d, d).filter(|b| *b > 0.0) {
            train_days.push(d);
            targets.push(view.totals[d].unwrap_or(0.0) / base - 1.0);
        }
    }
    if train_days.len() < MIN_TRAINING_DAYS {
        return Err(ForecastError::NotEnoughHistory {
            model: "ridge",
            why: format!(
                "{} usable training days, at least {MIN_TRAINING_DAYS} needed",
                train_days.len()
            ),
        });
    }
    let x = feature_table(&view, special, origin, &train_days)?;
    let dataset = Dataset::new(x, Array1::from(targets));
    let model = ElasticNet::params()
        .penalty(RIDGE_PENALTY)
        .l1_ratio(0.0)
        .fit(&dataset)?;

    let horizon_days: Vec<usize> = (origin..origin + horizon).collect();
    let x_future = feature_table(&view, special, origin, &horizon_days)?;
    let factors = model.predict(&x_future);
    Ok(horizon_days
        .iter()
        .zip(factors.iter())
        .map(|(&day, factor)| {
            let base = view.baseline(origin, day).unwrap_or(0.0);
            let total = base * (1.0 + factor).max(0.0);
            view.profile(origin, day)
                .iter()
                .map(|p| p * total)
                .collect()
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    /// Weeks of a two-slot day whose volume is 10 × (day of week + 1) per slot.
    fn weekly_pattern(weeks: usize) -> History {
        let first = NaiveDate::from_ymd_opt(2024, 1, 1).unwrap();
        let days = (0..7 * weeks)
            .map(|d| Some(vec![10.0 * (d % 7 + 1) as f64; 2]))
            .collect();
        History::from_days(first, 720, days)
    }

    #[test]
    fn seasonal_naive_repeats_last_week() {
        let h = weekly_pattern(3);
        let f = ModelKind::SeasonalNaive
            .forecast(&h, &SpecialDays::default(), 9)
            .unwrap();
        assert_eq!(f.days[0], vec![10.0, 10.0]);
        assert_eq!(f.days[6], vec![70.0, 70.0]);
        assert_eq!(
            f.days[8],
            vec![20.0, 20.0],
            "beyond a week it repeats itself"
        );
        assert_eq!(f.first_day, NaiveDate::from_ymd_opt(2024, 1, 22).unwrap());
    }

    #[test]
    fn moving_average_skips_special_days() {
        let mut h = weekly_pattern(4);
        let first = h.first_day();
        let mut days: Vec<Option<Vec<f64>>> = (0..h.len_days())
            .map(|d| h.day(d).map(<[f64]>::to_vec))
            .collect();
        days[21] = Some(vec![1000.0, 1000.0]);
        h = History::from_days(first, 720, days);
        let mut special = SpecialDays::default();
        special.insert(h.date(21), SpecialKind::Holiday);
        let f = ModelKind::MovingAverage { weeks: 4 }
            .forecast(&h, &special, 1)
            .unwrap();
        assert_eq!(f.days[0], vec![10.0, 10.0]);
    }

    #[test]
    fn closed_days_are_forecast_as_zero() {
        let h = weekly_pattern(3);
        let mut special = SpecialDays::default();
        special.insert(h.date(21), SpecialKind::Closed);
        let f = ModelKind::MovingAverage { weeks: 2 }
            .forecast(&h, &special, 2)
            .unwrap();
        assert_eq!(f.days[0], vec![0.0, 0.0]);
        assert_eq!(f.days[1], vec![20.0, 20.0]);
    }

    #[test]
    fn ridge_learns_a_day_of_month_effect() {
        // Volume doubles on the first three days of every month.
        let first = NaiveDate::from_ymd_opt(2023, 1, 1).unwrap();
        let days: Vec<Option<Vec<f64>>> = (0..420)
            .map(|d| {
                let date = first + chrono::Duration::days(d);
                use chrono::Datelike;
                let level = if date.day() <= 3 { 200.0 } else { 100.0 };
                Some(vec![level * 0.25, level * 0.75])
            })
            .collect();
        let h = History::from_days(first, 720, days);
        let f = ModelKind::Ridge
            .forecast(&h, &SpecialDays::default(), 56)
            .unwrap();
        let (mut peak, mut rest) = (Vec::new(), Vec::new());
        for (i, day) in f.days.iter().enumerate() {
            use chrono::Datelike;
            let date = f.first_day + chrono::Duration::days(i as i64);
            let total: f64 = day.iter().sum();
            if date.day() <= 3 {
                peak.push(total)
            } else {
                rest.push(total)
            }
        }
        let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
        // The truth is 2.0; a same-weekday average cannot see the month at all (≈ 1.1).
        let ratio = mean(&peak) / mean(&rest);
        assert!(ratio > 1.4, "month-start peak ratio {ratio}");
        assert!(
            (mean(&rest) - 100.0).abs() < 20.0,
            "ordinary days {}",
            mean(&rest)
        );
        // The intraday shape is kept (smoothed with the neighbouring slot: 62.5 % vs 37.5 %).
        assert!((f.days[10][1] / f.days[10][0] - 62.5 / 37.5).abs() < 1e-9);
    }

    /// 60 weeks of one-slot days: 100 contacts, 160 on the 2nd–4th of every month.
    fn paydays() -> History {
        let first = NaiveDate::from_ymd_opt(2023, 1, 1).unwrap();
        let days: Vec<Option<Vec<f64>>> = (0..420)
            .map(|d| {
                use chrono::Datelike;
                let date = first + chrono::Duration::days(d);
                Some(vec![if (2..=4).contains(&date.day()) {
                    160.0
                } else {
                    100.0
                }])
            })
            .collect();
        History::from_days(first, 1440, days)
    }

    #[test]
    fn profile_level_carries_a_payday_effect_into_the_forecast() {
        let h = paydays();
        let f = ModelKind::ProfileLevel
            .forecast(&h, &SpecialDays::default(), 31)
            .unwrap();
        use chrono::Datelike;
        let on = |day: u32| {
            let i = (0..31)
                .find(|&i| (f.first_day + chrono::Duration::days(i)).day() == day)
                .unwrap() as usize;
            f.days[i][0]
        };
        // Shrinkage and smoothing keep the factor below the true 1.6, well above 1.
        assert!(on(3) > 130.0, "payday {}", on(3));
        assert!((on(15) - 100.0).abs() < 8.0, "ordinary day {}", on(15));
        // The moving average cannot tell the 3rd from the 15th.
        let ma = ModelKind::MovingAverage { weeks: 4 }
            .forecast(&h, &SpecialDays::default(), 31)
            .unwrap();
        let spread = |f: &Forecast| {
            let totals: Vec<f64> = f.days.iter().map(|d| d[0]).collect();
            totals.iter().cloned().fold(f64::MIN, f64::max)
                - totals.iter().cloned().fold(f64::MAX, f64::min)
        };
        assert!(spread(&f) > spread(&ma));
    }

    #[test]
    fn ensemble_is_the_mean_of_its_members() {
        let h = paydays();
        let special = SpecialDays::default();
        let members: Vec<Forecast> = ENSEMBLE_MEMBERS
            .iter()
            .map(|m| m.forecast(&h, &special, 7).unwrap())
            .collect();
        let f = ModelKind::Ensemble.forecast(&h, &special, 7).unwrap();
        for d in 0..7 {
            let mean = members.iter().map(|m| m.days[d][0]).sum::<f64>() / 3.0;
            assert!((f.days[d][0] - mean).abs() < 1e-9);
        }
    }

    #[test]
    fn moving_average_skips_an_unconfigured_holiday() {
        let first = NaiveDate::from_ymd_opt(2024, 1, 1).unwrap();
        let mut days: Vec<Option<Vec<f64>>> = (0..63).map(|_| Some(vec![50.0, 50.0])).collect();
        days[56] = Some(vec![2.0, 3.0]);
        let h = History::from_days(first, 720, days);

        let f = ModelKind::MovingAverage { weeks: 4 }
            .forecast(&h, &SpecialDays::default(), 7)
            .unwrap();

        assert_eq!(f.days[0], vec![50.0, 50.0], "the quiet day is left out");
    }

    #[test]
    fn local_level_follows_a_level_shift_sooner_than_same_weekday_means() {
        // Ten weeks of a weekly pattern (weekends at a fifth), then every day 30 % busier
        // for the last eight days.
        let first = NaiveDate::from_ymd_opt(2024, 1, 1).unwrap();
        let days: Vec<Option<Vec<f64>>> = (0..70)
            .map(|d| {
                let weekday = if d % 7 >= 5 { 20.0 } else { 100.0 };
                let shift = if d >= 62 { 1.3 } else { 1.0 };
                Some(vec![weekday * shift])
            })
            .collect();
        let h = History::from_days(first, 1440, days);
        let special = SpecialDays::default();

        let level = ModelKind::LocalLevel.forecast(&h, &special, 7).unwrap();
        let average = ModelKind::MovingAverage { weeks: 4 }
            .forecast(&h, &special, 7)
            .unwrap();

        // Monday after the shift: truth 130, the 4-week mean still 107.5; the level has
        // seen eight shifted days (weighing more than half) among its 28.
        assert!((average.days[0][0] - 107.5).abs() < 1e-9);
        assert!(level.days[0][0] > 114.0, "local level {}", level.days[0][0]);
        assert!(level.days[0][0] < 131.0, "local level {}", level.days[0][0]);
        // The weekday shape is kept.
        let ratio = level.days[5][0] / level.days[0][0];
        assert!((ratio - 0.2).abs() < 0.01, "Saturday / Monday {ratio}");
    }

    #[test]
    fn weighted_mean_weighs_each_member() {
        let first = NaiveDate::from_ymd_opt(2024, 1, 1).unwrap();
        let member = |v: f64| Forecast {
            first_day: first,
            interval_min: 1440,
            days: vec![vec![v]],
            aht_sec: None,
        };

        let f = weighted_mean_forecast(&[member(10.0), member(20.0)], &[3.0, 1.0]);

        assert!((f.days[0][0] - 12.5).abs() < 1e-12);
    }

    #[test]
    fn ridge_refuses_a_short_history() {
        let h = weekly_pattern(2);
        assert!(matches!(
            ModelKind::Ridge.forecast(&h, &SpecialDays::default(), 7),
            Err(ForecastError::NotEnoughHistory { .. })
        ));
    }
}

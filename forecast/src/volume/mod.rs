//! Contact-volume and handling-time forecasting per interval: history I/O, special days,
//! models and rolling-origin backtests.

pub mod aht;
pub mod backtest;
pub mod history;
pub mod models;
pub mod reforecast;
pub mod special_days;

pub use backtest::{
    BacktestPlan, BacktestReport, ModelChoice, UsedModel, backtest, choose_weights, forecast_with,
};
pub use history::{Forecast, HandleSample, History, HistoryError, HistoryRow};
pub use models::{
    ENSEMBLE_MEMBERS, ForecastError, ModelKind, mean_forecast, weighted_mean_forecast,
};
pub use special_days::{SpecialDays, SpecialDaysError, SpecialKind};

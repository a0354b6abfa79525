//! Integration tests of `tenet-forecast`, compiled into one binary.

mod bank_backtest;
mod erlang_reference;
mod forecast_cli;
mod schedule_cover;
mod wfm_routes;

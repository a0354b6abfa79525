//! Command-line surfaces of the crate, for the `tenet` binary to mount: clap argument types
//! plus a run function each, returning what to print.

mod erlang;
mod forecast;
mod plan;
mod schedule;

pub use erlang::{
    ErlangArgs, ErlangCliError, ErlangReport, ModelArg, SlBasisArg, erlang_report, run_erlang,
};
pub use forecast::{
    BacktestArgs, ForecastArgs, ForecastCliError, ForecastCommand, ForecastModelArg,
    LakeHistoryArgs, run_forecast,
};
pub use plan::{PlanArgs, PlanCliError, PlanErlangArg, run_plan};
pub use schedule::{CoverArgs, ScheduleCliError, ScheduleCommand, WeekArgs, run_schedule};

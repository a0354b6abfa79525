//! Workforce management: how many operators a contact center needs, and when.
//!
//! The crate turns contact history into a volume and handling-time forecast per interval,
//! the forecast into required agents with Erlang C/A queueing models, and the requirement
//! into shift schedules that cover it at minimum cost. It is a pure library that works on a
//! CSV as well as on the lake, plus the HTTP routes the planner UI uses.

pub mod cli;
pub mod erlang;
pub mod plan;
pub mod routes;
pub mod schedule;
pub mod volume;

//! The `tenet` binary's library: configuration, telemetry, the HTTP application that composes
//! the crates, and the one-shot commands.
//!
//! `src/main.rs` parses the command line and calls into this library; tests build the same
//! [`app::Application`] on port 0.

pub mod admin;
pub mod app;
pub mod attendance;
pub mod bench;
pub mod config;
pub mod contacts;
pub mod demo;
pub mod history;
pub mod http;
pub mod import;
pub mod openapi;
pub mod relay;
pub mod reports;
pub mod roster;
pub mod sla_watch;
pub mod staff;
pub mod telemetry;

//! End-to-end tests: the real `tenet` binary and application against real PostgreSQL and
//! SQLite.
//!
//! PostgreSQL is reached at `TENET_TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`); every test gets a fresh database.

mod harness;

mod attachments;
mod attendance;
mod auth;
mod client_view;
mod config;
mod constructor;
mod crash;
mod customers;
mod hr;
mod import;
mod ingest;
mod isolation;
mod kafka;
mod logs;
mod migrations;
mod notifications;
mod openapi;
mod operations;
mod probes;
mod redaction;
mod reports;
mod roster;
mod row_security;
mod schedules;
mod security_policy;
mod sla;
mod tasks;
mod tickets;
mod up;
mod wfm;
mod workflows;

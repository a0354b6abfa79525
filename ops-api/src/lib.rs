//! The operations API: the transactional system of record.
//!
//! Tenants, API tokens and (as the product grows) users, tickets, customers, HR, published
//! schedules, QA and surveys live in one relational database, PostgreSQL in the distributed
//! mode and SQLite on a single box, behind the same repository functions. The crate owns the
//! schema (migrations in the workspace's `migrations/`), the authentication of every `/api/v1`
//! request, and the routes under `/api/v1` that the `tenet` binary mounts.

pub mod admin_events;
pub mod attachments;
pub mod audit;
pub mod auth;
pub mod breaches;
pub mod client_view;
pub mod constructor;
pub mod customers;
pub mod db;
pub mod dictionaries;
pub mod error;
pub mod extract;
pub mod hr;
pub mod idempotency;
pub mod notifications;
pub mod openapi;
pub mod operations;
pub mod outbox;
pub mod passwords;
pub(crate) mod project_versions;
pub mod projects;
pub mod rbac;
pub mod redaction;
mod retirable;
pub mod routes;
pub mod schedules;
pub mod security_policy;
pub mod sessions;
pub mod sla;
pub mod tasks;
pub mod tenants;
pub mod throttle;
pub mod tickets;
pub mod tokens;
pub mod users;
pub mod workflows;

pub use db::{Backend, Database, DatabaseError, DatabaseOptions};
pub use error::ApiError;

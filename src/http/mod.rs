//! What every HTTP target shares: request context and access logs, metrics, health probes.

pub mod context;
pub mod health;
pub mod metrics;

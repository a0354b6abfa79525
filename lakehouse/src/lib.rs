//! The lakehouse: analytics over the events that ingestion lands in Delta Lake tables.
//!
//! It defines the tables (partitioned by event date, clustered by tenant), registers them in
//! a DataFusion session whose every scan is scoped to one tenant, and serves the catalog of
//! contact-center KPI reports, their drill-downs and the customers' statistics exports.
//!
//! - [`tables`]: the Delta table definitions ([`LakeTable`]: one table per event family and
//!   the dead-letter table, partitioned by event date) and [`Lake`], which opens them under a
//!   root URL and creates them when missing.

pub mod tables;

pub use deltalake;
pub use tables::{DEAD_LETTERS, Lake, LakeTable, TableError};

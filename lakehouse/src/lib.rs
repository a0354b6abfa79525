//! The lakehouse: analytics over the events that ingestion lands in Delta Lake tables.
//!
//! It defines the tables (partitioned by event date, clustered by tenant), registers them in
//! a DataFusion session whose every scan is scoped to one tenant, and serves the catalog of
//! contact-center KPI reports, their drill-downs and the customers' statistics exports.
//!
//! - [`tables`]: the Delta table definitions ([`LakeTable`]: one table per event family and
//!   the dead-letter table, partitioned by event date) and [`Lake`], which opens them under a
//!   root URL and creates them when missing.
//! - [`compaction`]: merging a table's small files into larger ones, sorted as the writer
//!   sorts them, without touching its rows or the source offsets committed with them.
//! - [`vacuum`]: deleting the files a table no longer references (those compaction replaced)
//!   once its retention period has passed, so no reader of a recent version loses a file.
//! - [`scope`]: [`Scope`] (a tenant, optionally some of its projects) and [`ScopedTable`],
//!   the table provider through which every query reads the lake.
//! - `page_index`: keeping the page index of each file a scoped scan reads in the metadata
//!   cache beside its footer, so that later queries prune pages without reading it again.
//! - `scan_filter`: one copy of each condition in a Parquet scan's filter, which the scope's
//!   and the caller's filters, pushed down into the scan, would otherwise repeat.
//! - [`session`]: [`LakeReader`], the long-lived reader with its snapshot cache and memory
//!   pool, and the [`ScopedSession`]s it hands out.
//! - [`functions`]: `arg_min` and `arg_max`, the value on a group's first or last row by a key,
//!   registered in every session.
//! - [`reports`]: the catalog of named reports with their metric definitions and drill-downs.
//! - [`export`]: JSON, CSV, XLSX and Parquet encoding of report rows, streamed.
//! - [`sql`]: read-only, limited ad-hoc SQL in a tenant's session.
//! - [`routes`]: the HTTP API of reports, exports and SQL.

pub mod compaction;
pub mod export;
pub mod functions;
pub mod memory;
mod page_index;
pub mod reports;
pub mod routes;
mod scan_filter;
pub mod scope;
pub mod session;
mod snapshot_table;
pub mod sql;
pub mod tables;
pub mod vacuum;

pub use deltalake;
pub use scope::{Scope, ScopedTable};
pub use session::{LakeReader, ReadError, ReaderConfig, ScopedSession, Workload};
pub use tables::{DEAD_LETTERS, Lake, LakeTable, TableError};

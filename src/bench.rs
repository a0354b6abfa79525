//! Benchmarks that print their figures, each side by side with a named peer in the same run
//! so that the ratio holds on a shared, noisy machine.
//!
//! - [`reports`]: report latency on a large generated lake, against DuckDB on the same files.
//! - [`ingest`]: events per second (and per CPU second) from Kafka into Delta Lake exactly
//!   once, against a raw consumer of the same topic; end-to-end freshness.
//! - [`ops`]: the fixture of the ops API load test (`deploy/load/run.sh`, Locust): 100,000
//!   tenants and 1,000,000 users seeded into PostgreSQL.

pub mod ingest;
pub mod ops;
pub mod reports;

/// The median of `values` (the mean of the two middle ones for an even count; 0 for none).
fn median(mut values: Vec<f64>) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.sort_by(f64::total_cmp);
    let middle = values.len() / 2;
    if values.len() % 2 == 1 {
        values[middle]
    } else {
        (values[middle - 1] + values[middle]) / 2.0
    }
}

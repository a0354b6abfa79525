//! The watch on tickets' SLA clocks: every `[sla] sweep_interval`, notices the breaches that
//! happened since the last look (see [`tenet_ops_api::breaches`]).

use std::time::Duration;

use tenet_ops_api::Database;
use tenet_ops_api::breaches;
use tenet_ops_api::db::now;

/// Breaches noticed per clock in one sweep; the rest wait for the next one.
const BATCH: i64 = 1_000;

/// Sweeps every `every` until the task is dropped.
pub async fn run(db: Database, every: Duration) {
    let mut ticker = tokio::time::interval(every);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        match breaches::sweep(&db, now(), BATCH).await {
            Ok(swept) => {
                metrics::counter!("tenet_sla_breaches_noticed_total")
                    .increment(swept.breaches as u64);
                if swept.breaches > 0 {
                    tracing::info!(
                        breaches = swept.breaches,
                        notifications = swept.notifications,
                        "noticed SLA breaches"
                    );
                }
            }
            Err(error) => {
                metrics::counter!("tenet_sla_sweep_errors_total").increment(1);
                tracing::warn!(error = %error, "SLA breach sweep failed; trying again at the next tick");
            }
        }
    }
}

/// Describes the watch's metrics to the process's recorder.
pub fn describe_metrics() {
    metrics::describe_counter!(
        "tenet_sla_breaches_noticed_total",
        "Tickets' SLA clocks noticed past their due time (one per ticket and clock)."
    );
    metrics::describe_counter!(
        "tenet_sla_sweep_errors_total",
        "SLA breach sweeps that failed (database unavailable) and were retried."
    );
}

//! When the lake writer flushes: enough rows, enough bytes, or the oldest buffered record
//! has waited long enough.

use std::time::{Duration, Instant};

use serde::Deserialize;

/// The thresholds that end a flush window. The first one reached flushes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FlushPolicy {
    /// Flush once this many records (events and dead letters) are buffered.
    pub max_rows: usize,
    /// Flush once about this many payload bytes are buffered.
    pub max_bytes: usize,
    /// Flush once the oldest buffered record has waited this long: the lake's freshness,
    /// give or take one commit.
    #[serde(with = "humantime_serde")]
    pub max_latency: Duration,
}

impl Default for FlushPolicy {
    fn default() -> Self {
        Self {
            max_rows: 200_000,
            max_bytes: 64 * 1024 * 1024,
            max_latency: Duration::from_secs(5),
        }
    }
}

/// Which threshold ended a flush window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlushReason {
    /// [`FlushPolicy::max_rows`].
    Rows,
    /// [`FlushPolicy::max_bytes`].
    Bytes,
    /// [`FlushPolicy::max_latency`].
    Latency,
    /// The writer was asked to flush (shutdown, or an explicit call).
    Requested,
}

impl FlushReason {
    /// A short label for logs and metrics.
    pub fn as_str(&self) -> &'static str {
        match self {
            FlushReason::Rows => "rows",
            FlushReason::Bytes => "bytes",
            FlushReason::Latency => "latency",
            FlushReason::Requested => "requested",
        }
    }
}

/// What the current flush window holds, measured against a [`FlushPolicy`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FlushWindow {
    rows: usize,
    bytes: usize,
    opened_at: Option<Instant>,
}

impl FlushWindow {
    /// Counts one record of `bytes` read at `now`. The window opens with its first record.
    pub fn record(&mut self, bytes: usize, now: Instant) {
        self.rows += 1;
        self.bytes += bytes;
        self.opened_at.get_or_insert(now);
    }

    /// Records in the window.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Payload bytes in the window.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Whether nothing was recorded since the last reset.
    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// Why the window must be flushed at `now`, if it must.
    pub fn due(&self, policy: &FlushPolicy, now: Instant) -> Option<FlushReason> {
        let opened_at = self.opened_at?;
        if self.rows >= policy.max_rows {
            Some(FlushReason::Rows)
        } else if self.bytes >= policy.max_bytes {
            Some(FlushReason::Bytes)
        } else if now.saturating_duration_since(opened_at) >= policy.max_latency {
            Some(FlushReason::Latency)
        } else {
            None
        }
    }

    /// When the window becomes due by latency, if it holds anything.
    pub fn deadline(&self, policy: &FlushPolicy) -> Option<Instant> {
        self.opened_at.map(|opened| opened + policy.max_latency)
    }

    /// Empties the window after a flush.
    pub fn reset(&mut self) {
        *self = Self::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> FlushPolicy {
        FlushPolicy {
            max_rows: 3,
            max_bytes: 100,
            max_latency: Duration::from_secs(10),
        }
    }

    #[test]
    fn an_empty_window_is_never_due() {
        let window = FlushWindow::default();
        let far_future = Instant::now() + Duration::from_secs(3600);
        assert_eq!(window.due(&policy(), far_future), None);
        assert_eq!(window.deadline(&policy()), None);
    }

    #[test]
    fn the_row_threshold_flushes() {
        let now = Instant::now();
        let mut window = FlushWindow::default();
        window.record(1, now);
        window.record(1, now);
        assert_eq!(window.due(&policy(), now), None);
        window.record(1, now);
        assert_eq!(window.due(&policy(), now), Some(FlushReason::Rows));
    }

    #[test]
    fn the_byte_threshold_flushes() {
        let now = Instant::now();
        let mut window = FlushWindow::default();
        window.record(99, now);
        assert_eq!(window.due(&policy(), now), None);
        window.record(1, now);
        assert_eq!(window.due(&policy(), now), Some(FlushReason::Bytes));
    }

    #[test]
    fn latency_counts_from_the_oldest_record() {
        let start = Instant::now();
        let mut window = FlushWindow::default();
        window.record(1, start);
        window.record(1, start + Duration::from_secs(9));
        assert_eq!(
            window.deadline(&policy()),
            Some(start + Duration::from_secs(10))
        );
        assert_eq!(window.due(&policy(), start + Duration::from_secs(9)), None);
        assert_eq!(
            window.due(&policy(), start + Duration::from_secs(10)),
            Some(FlushReason::Latency)
        );
    }

    #[test]
    fn reset_empties_the_window() {
        let now = Instant::now();
        let mut window = FlushWindow::default();
        window.record(500, now);
        window.reset();
        assert!(window.is_empty());
        assert_eq!(window.bytes(), 0);
        assert_eq!(window.due(&policy(), now + Duration::from_secs(60)), None);
    }

    #[test]
    fn the_default_policy_keeps_the_lake_fresh_within_ten_seconds() {
        assert!(FlushPolicy::default().max_latency <= Duration::from_secs(10));
    }
}

//! Which old segments to delete: by age, by total size, never past what consumers still need.

use std::time::Duration;

use crate::log::Offset;

/// How long and how much a partition keeps. Only whole, sealed segments are deleted, oldest
/// first, so a partition may keep somewhat more than the limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RetentionPolicy {
    /// Delete segments whose newest record is older than this.
    pub max_age: Option<Duration>,
    /// Delete the oldest segments while the partition holds more bytes than this.
    pub max_bytes: Option<u64>,
}

/// What retention needs to know of a sealed segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentSummary {
    /// The offset after its last record.
    pub next_offset: Offset,
    /// Its size in bytes.
    pub bytes: u64,
    /// The newest record's timestamp, milliseconds since the epoch.
    pub max_timestamp_ms: i64,
}

impl RetentionPolicy {
    /// How many of the oldest `sealed` segments (oldest first; the active segment is never
    /// among them) to delete, given the partition's `total_bytes` including the active
    /// segment. Segments holding offsets at or after `protect_from` (the lowest offset a
    /// consumer group has committed) are kept whatever their age, so that the embedded log
    /// never drops events the lake writer has not landed yet.
    pub fn segments_to_delete(
        &self,
        sealed: &[SegmentSummary],
        total_bytes: u64,
        now_ms: i64,
        protect_from: Option<Offset>,
    ) -> usize {
        let mut remaining = total_bytes;
        let mut count = 0;
        for segment in sealed {
            let too_old = self.max_age.is_some_and(|age| {
                let age_ms = i64::try_from(age.as_millis()).unwrap_or(i64::MAX);
                segment.max_timestamp_ms < now_ms.saturating_sub(age_ms)
            });
            let too_big = self.max_bytes.is_some_and(|limit| remaining > limit);
            let consumed = protect_from.is_none_or(|from| segment.next_offset <= from);
            if !(too_old || too_big) || !consumed {
                break;
            }
            remaining -= segment.bytes;
            count += 1;
        }
        count
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR_MS: i64 = 3_600_000;

    fn segments() -> Vec<SegmentSummary> {
        // Three sealed segments of 100 bytes, newest records 3 h, 2 h and 1 h ago at now = 10 h.
        (1..=3)
            .map(|i| SegmentSummary {
                next_offset: Offset(i * 10),
                bytes: 100,
                max_timestamp_ms: (6 + i as i64) * HOUR_MS,
            })
            .collect()
    }

    #[test]
    fn segments_older_than_the_age_limit_are_deleted_oldest_first() {
        let policy = RetentionPolicy {
            max_age: Some(Duration::from_secs(3600 + 1)),
            max_bytes: None,
        };
        assert_eq!(
            policy.segments_to_delete(&segments(), 350, 10 * HOUR_MS, None),
            2
        );
    }

    #[test]
    fn oldest_segments_go_until_the_partition_fits_its_byte_limit() {
        let policy = RetentionPolicy {
            max_age: None,
            max_bytes: Some(200),
        };
        // 350 bytes: dropping two segments leaves 150.
        assert_eq!(
            policy.segments_to_delete(&segments(), 350, 10 * HOUR_MS, None),
            2
        );
    }

    #[test]
    fn segments_a_consumer_has_not_committed_past_are_kept() {
        let policy = RetentionPolicy {
            max_age: Some(Duration::ZERO),
            max_bytes: None,
        };
        let now = 10 * HOUR_MS;
        assert_eq!(
            policy.segments_to_delete(&segments(), 350, now, Some(Offset(15))),
            1
        );
        assert_eq!(
            policy.segments_to_delete(&segments(), 350, now, Some(Offset(30))),
            3
        );
        assert_eq!(
            policy.segments_to_delete(&segments(), 350, now, Some(Offset(0))),
            0
        );
    }

    #[test]
    fn no_limits_keep_everything() {
        let policy = RetentionPolicy::default();
        assert_eq!(
            policy.segments_to_delete(&segments(), 350, i64::MAX, None),
            0
        );
    }
}

//! The memory pool of listings: fair shares for what can spill, room kept for what cannot.
//!
//! A listing (a detail report or its export) runs sorts and aggregations that spill
//! to disk when refused memory, beside operators that cannot spill: the buffers a sort merges
//! its spill files through, hash-join build sides. DataFusion's `FairSpillPool` caps every
//! spilling operator at an equal share of what the non-spilling ones do not hold *yet*; when
//! the spilling ones have taken their shares, an operator that cannot spill and starts later
//! (the second partition's merge buffer, say) is refused and the query fails, although every
//! spilling operator would have made room. [`ListingPool`] keeps the same shares but
//! computes them over the pool minus a reserve that only non-spilling operators may use, so
//! those always find at least the reserve.

use std::sync::{Mutex, MutexGuard, PoisonError};

use datafusion::common::human_readable_size;
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::memory_pool::{
    MemoryConsumer, MemoryLimit, MemoryPool, MemoryReservation,
};

/// A pool of `size` bytes. Operators that can spill share what is left beyond `reserve` (or
/// beyond what non-spilling operators hold, if that is more) in equal parts, each reservation
/// within its operator's share. Operators that cannot spill take what is free, first come,
/// first served.
///
/// As in `FairSpillPool`, shares are checked per reservation, not against the total: an
/// operator that registers late gets its share at once, while those that grew before it
/// spill down to their smaller shares the next time they ask. Until they have, the pool can
/// hold more than its size by up to a share.
#[derive(Debug)]
pub struct ListingPool {
    size: usize,
    reserve: usize,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// Registered consumers that can spill.
    spillers: usize,
    /// Bytes held by consumers that can spill.
    spillable: usize,
    /// Bytes held by consumers that cannot.
    unspillable: usize,
}

impl ListingPool {
    /// A pool of `size` bytes keeping `reserve` of them for operators that cannot spill.
    pub fn new(size: usize, reserve: usize) -> Self {
        Self {
            size,
            reserve: reserve.min(size),
            state: Mutex::new(State::default()),
        }
    }

    /// The bytes kept for operators that cannot spill.
    pub fn reserve(&self) -> usize {
        self.reserve
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // The state is a few counters updated in one step each: still whole after a panic.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn refuse(
        &self,
        reservation: &MemoryReservation,
        additional: usize,
        available: usize,
    ) -> DataFusionError {
        DataFusionError::ResourcesExhausted(format!(
            "Failed to allocate additional {} for {} with {} already allocated for this \
             reservation - {} remain available for the total memory pool: {}",
            human_readable_size(additional),
            reservation.consumer().name(),
            human_readable_size(reservation.size()),
            human_readable_size(available),
            self,
        ))
    }
}

impl std::fmt::Display for ListingPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "listing(pool_size: {}, reserve: {})",
            human_readable_size(self.size),
            human_readable_size(self.reserve)
        )
    }
}

impl MemoryPool for ListingPool {
    fn name(&self) -> &str {
        "listing"
    }

    fn register(&self, consumer: &MemoryConsumer) {
        if consumer.can_spill() {
            self.state().spillers += 1;
        }
    }

    fn unregister(&self, consumer: &MemoryConsumer) {
        if consumer.can_spill() {
            let mut state = self.state();
            state.spillers = state.spillers.saturating_sub(1);
        }
    }

    fn grow(&self, reservation: &MemoryReservation, additional: usize) {
        let mut state = self.state();
        if reservation.consumer().can_spill() {
            state.spillable += additional;
        } else {
            state.unspillable += additional;
        }
    }

    fn shrink(&self, reservation: &MemoryReservation, shrink: usize) {
        let mut state = self.state();
        if reservation.consumer().can_spill() {
            state.spillable = state.spillable.saturating_sub(shrink);
        } else {
            state.unspillable = state.unspillable.saturating_sub(shrink);
        }
    }

    fn try_grow(&self, reservation: &MemoryReservation, additional: usize) -> Result<()> {
        let mut state = self.state();
        if reservation.consumer().can_spill() {
            let shared = self
                .size
                .saturating_sub(state.unspillable.max(self.reserve));
            // A reservation stays within its consumer's share, as in `FairSpillPool`. The
            // total is not checked here: an operator refused memory it needs to spill (an
            // aggregation sorting its state before writing it) fails the query, so it gets
            // its share even when others hold theirs and a consumer with two reservations
            // (the aggregation and that sort) passes it by up to a share.
            let share = shared / state.spillers.max(1);
            let available = share.saturating_sub(reservation.size());
            if additional > available {
                return Err(self.refuse(reservation, additional, available));
            }
            state.spillable += additional;
        } else {
            let available = self
                .size
                .saturating_sub(state.unspillable + state.spillable);
            if additional > available {
                return Err(self.refuse(reservation, additional, available));
            }
            state.unspillable += additional;
        }
        Ok(())
    }

    fn reserved(&self) -> usize {
        let state = self.state();
        state.spillable + state.unspillable
    }

    fn memory_limit(&self) -> MemoryLimit {
        MemoryLimit::Finite(self.size)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    fn pool(size: usize, reserve: usize) -> Arc<dyn MemoryPool> {
        Arc::new(ListingPool::new(size, reserve))
    }

    #[test]
    fn spilling_consumers_share_what_the_reserve_leaves_equally() {
        let pool = pool(100, 20);
        let a = MemoryConsumer::new("a")
            .with_can_spill(true)
            .register(&pool);
        let b = MemoryConsumer::new("b")
            .with_can_spill(true)
            .register(&pool);

        // Two spillers share 80: 40 each.
        a.try_grow(40).unwrap();
        assert!(a.try_grow(1).is_err());
        b.try_grow(40).unwrap();
        assert!(b.try_grow(1).is_err());
        assert_eq!(pool.reserved(), 80);

        // One leaves: the other may take the whole 80.
        drop(b);
        a.try_grow(40).unwrap();
        assert!(a.try_grow(1).is_err());
    }

    #[test]
    fn a_late_consumer_that_cannot_spill_finds_the_reserve() {
        let pool = pool(100, 20);
        let spiller = MemoryConsumer::new("sort")
            .with_can_spill(true)
            .register(&pool);
        spiller.try_grow(80).unwrap();

        // A merge buffer registered after the spiller took its share.
        let merge = MemoryConsumer::new("merge").register(&pool);
        merge.try_grow(20).unwrap();
        let err = merge.try_grow(1).unwrap_err().to_string();
        assert!(
            err.contains("Failed to allocate additional 1.0 B for merge"),
            "{err}"
        );
        assert!(err.contains("0.0 B remain available"), "{err}");
        assert_eq!(pool.reserved(), 100);
    }

    #[test]
    fn consumers_that_cannot_spill_beyond_the_reserve_shrink_the_shares() {
        let pool = pool(100, 20);
        let join = MemoryConsumer::new("join").register(&pool);
        join.try_grow(50).unwrap();
        let spiller = MemoryConsumer::new("sort")
            .with_can_spill(true)
            .register(&pool);

        // 100 - 50 held by the join leaves 50 to share.
        spiller.try_grow(50).unwrap();
        assert!(spiller.try_grow(1).is_err());
        // Freed memory goes back: shrinking and growing again works.
        spiller.shrink(30);
        assert_eq!(pool.reserved(), 70);
        spiller.try_grow(30).unwrap();
        assert!(join.try_grow(1).is_err());
    }

    #[test]
    fn each_reservation_of_a_consumer_gets_the_consumers_share() {
        let pool = pool(100, 20);
        let aggregate = MemoryConsumer::new("aggregate")
            .with_can_spill(true)
            .register(&pool);
        let spill_sort = aggregate.new_empty();

        aggregate.try_grow(80).unwrap();
        assert!(aggregate.try_grow(1).is_err());
        // The sort of the state being spilled gets its share too, past the pool's size.
        spill_sort.try_grow(30).unwrap();
        assert_eq!(pool.reserved(), 110);
        // Nothing that cannot spill gets more meanwhile.
        let merge = MemoryConsumer::new("merge").register(&pool);
        assert!(merge.try_grow(1).is_err());
    }

    #[test]
    fn the_reserve_never_exceeds_the_pool() {
        let listing = ListingPool::new(10, 50);
        assert_eq!(listing.reserve(), 10);
        let pool: Arc<dyn MemoryPool> = Arc::new(listing);
        let spiller = MemoryConsumer::new("sort")
            .with_can_spill(true)
            .register(&pool);
        assert!(spiller.try_grow(1).is_err());
        let merge = MemoryConsumer::new("merge").register(&pool);
        merge.try_grow(10).unwrap();
    }
}

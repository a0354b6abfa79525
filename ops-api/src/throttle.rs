//! Sign-in throttling per client address.
//!
//! The per-account lockout of the security policy stops guessing one account's password;
//! this stops one address from trying many accounts (credential stuffing). Each address gets
//! [`SIGN_INS_PER_WINDOW`] attempts per [`WINDOW`], successful or not; beyond that sign-in is
//! refused with 429 and a `Retry-After` until the window ends. The count lives in the
//! process: behind a load balancer each replica throttles on its own, which bounds an
//! attacker to the limit times the replicas, while the lockout in the database holds across
//! all of them.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Sign-in attempts one address may make per window.
pub const SIGN_INS_PER_WINDOW: u32 = 60;
/// The throttling window.
pub const WINDOW: Duration = Duration::from_secs(60);
/// Addresses remembered before expired windows are swept out.
const SWEEP_AT: usize = 10_000;

/// Counts sign-in attempts per address in fixed windows.
#[derive(Debug)]
pub struct SignInThrottle {
    limit: u32,
    window: Duration,
    windows: Mutex<HashMap<IpAddr, (Instant, u32)>>,
}

impl Default for SignInThrottle {
    fn default() -> Self {
        Self::new(SIGN_INS_PER_WINDOW, WINDOW)
    }
}

impl SignInThrottle {
    /// A throttle allowing `limit` attempts per `window` and address.
    pub fn new(limit: u32, window: Duration) -> Self {
        Self {
            limit,
            window,
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// Counts an attempt from `address` at `now`.
    ///
    /// # Errors
    /// How long until the address may try again, when it is over the limit.
    pub fn attempt(&self, address: IpAddr, now: Instant) -> Result<(), Duration> {
        let mut windows = self
            .windows
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if windows.len() >= SWEEP_AT {
            let window = self.window;
            windows.retain(|_, (started, _)| now.duration_since(*started) < window);
        }
        let (started, attempts) = windows.entry(address).or_insert((now, 0));
        if now.duration_since(*started) >= self.window {
            *started = now;
            *attempts = 0;
        }
        if *attempts >= self.limit {
            return Err(self.window.saturating_sub(now.duration_since(*started)));
        }
        *attempts += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_over_the_limit_waits_for_the_next_window_and_others_do_not() {
        let throttle = SignInThrottle::new(3, Duration::from_secs(60));
        let start = Instant::now();
        let one: IpAddr = "192.0.2.1".parse().unwrap();
        let two: IpAddr = "192.0.2.2".parse().unwrap();
        for _ in 0..3 {
            assert_eq!(throttle.attempt(one, start), Ok(()));
        }
        assert_eq!(
            throttle.attempt(one, start + Duration::from_secs(20)),
            Err(Duration::from_secs(40))
        );
        assert_eq!(throttle.attempt(two, start), Ok(()));
        assert_eq!(
            throttle.attempt(one, start + Duration::from_secs(60)),
            Ok(())
        );
    }
}

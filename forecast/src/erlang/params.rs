//! Parsed inputs of the queueing models.
//!
//! Every quantity that enters an Erlang formula is a newtype that can only hold a valid
//! value: a share is in `[0, 1]`, a handling time is positive and finite, shrinkage is below
//! one. They parse from the strings a planner types (`0.8`, `80%`, `80/20`) and from `f64`.

use std::fmt;
use std::str::FromStr;

/// Why an input to a queueing model was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ParamError {
    /// The text is not a number.
    #[error("{name}: `{input}` is not a number")]
    NotANumber {
        /// Which parameter.
        name: &'static str,
        /// The text given.
        input: String,
    },
    /// The number lies outside the range the parameter allows.
    #[error("{name}: {value} is out of range, expected {expected}")]
    OutOfRange {
        /// Which parameter.
        name: &'static str,
        /// The value given.
        value: f64,
        /// The allowed range in words.
        expected: &'static str,
    },
    /// A service-level target that is not `X/T` (percent answered within seconds).
    #[error("service level target `{0}`: expected PERCENT/SECONDS such as `80/20`")]
    ServiceLevelSyntax(String),
}

fn parse_number(name: &'static str, input: &str) -> Result<f64, ParamError> {
    input
        .trim()
        .parse::<f64>()
        .map_err(|_| ParamError::NotANumber {
            name,
            input: input.to_owned(),
        })
}

/// Parses `0.8` or `80%` into a number in `[0, 1]` before range checks.
fn parse_share(name: &'static str, input: &str) -> Result<f64, ParamError> {
    let trimmed = input.trim();
    match trimmed.strip_suffix('%') {
        Some(percent) => Ok(parse_number(name, percent)? / 100.0),
        None => parse_number(name, trimmed),
    }
}

macro_rules! share_newtype {
    ($(#[$meta:meta])* $name:ident, $label:literal, $expected:literal, |$v:ident| $ok:expr) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
        pub struct $name(f64);

        impl $name {
            /// Checks the range and wraps the value.
            ///
            /// # Errors
            ///
            #[doc = concat!("[`ParamError::OutOfRange`] unless the value is ", $expected, ".")]
            pub fn new(value: f64) -> Result<Self, ParamError> {
                let $v = value;
                if value.is_finite() && $ok {
                    Ok(Self(value))
                } else {
                    Err(ParamError::OutOfRange { name: $label, value, expected: $expected })
                }
            }

            /// The value as a fraction.
            #[must_use]
            pub fn get(self) -> f64 {
                self.0
            }
        }

        impl TryFrom<f64> for $name {
            type Error = ParamError;
            fn try_from(value: f64) -> Result<Self, ParamError> {
                Self::new(value)
            }
        }

        impl FromStr for $name {
            type Err = ParamError;
            /// Accepts a fraction (`0.8`) or a percentage (`80%`).
            fn from_str(s: &str) -> Result<Self, ParamError> {
                Self::new(parse_share($label, s)?)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}", self.0)
            }
        }
    };
}

share_newtype!(
    /// A probability or share of contacts, in `[0, 1]` (for example a maximum abandon rate).
    Probability, "probability", "in [0, 1]", |v| (0.0..=1.0).contains(&v)
);
share_newtype!(
    /// Share of paid time in which agents are not available for contacts (breaks, training,
    /// meetings, absence), in `[0, 1)`: scheduled agents = ceil(N / (1 − shrinkage)).
    Shrinkage, "shrinkage", "in [0, 1)", |v| (0.0..1.0).contains(&v)
);
share_newtype!(
    /// Highest acceptable occupancy (handling time / available time), in `(0, 1]`.
    MaxOccupancy, "max occupancy", "in (0, 1]", |v| v > 0.0 && v <= 1.0
);

impl Shrinkage {
    /// No shrinkage: every paid agent is on the phones.
    pub const NONE: Self = Self(0.0);

    /// Agents to schedule so that `agents` remain available: `ceil(agents / (1 − s))`,
    /// with a small tolerance so that 14 / 0.7 gives 20 and not 21.
    #[must_use]
    pub fn scheduled(self, agents: u32) -> u32 {
        ceil_with_tolerance(f64::from(agents) / (1.0 - self.0)) as u32
    }

    /// Combines independent shrinkage categories (breaks, training, meetings, absence):
    /// the available share is the product of the categories' available shares.
    ///
    /// # Errors
    ///
    /// [`ParamError::OutOfRange`] when the categories leave no available time.
    pub fn combine(parts: impl IntoIterator<Item = Self>) -> Result<Self, ParamError> {
        let available: f64 = parts.into_iter().map(|s| 1.0 - s.0).product();
        Self::new(1.0 - available)
    }
}

/// The longest handling time or wait limit taken: a day.
pub const DAY_SECS: f64 = 86_400.0;

macro_rules! seconds_newtype {
    ($(#[$meta:meta])* $name:ident, $label:literal, $expected:literal, |$v:ident| $ok:expr) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
        pub struct $name(f64);

        impl $name {
            /// Checks the range and wraps a number of seconds.
            ///
            /// # Errors
            ///
            #[doc = concat!("[`ParamError::OutOfRange`] unless the value is ", $expected, ".")]
            pub fn from_secs(value: f64) -> Result<Self, ParamError> {
                let $v = value;
                if value.is_finite() && $ok {
                    Ok(Self(value))
                } else {
                    Err(ParamError::OutOfRange { name: $label, value, expected: $expected })
                }
            }

            /// The duration in seconds.
            #[must_use]
            pub fn secs(self) -> f64 {
                self.0
            }
        }

        impl TryFrom<f64> for $name {
            type Error = ParamError;
            fn try_from(value: f64) -> Result<Self, ParamError> {
                Self::from_secs(value)
            }
        }

        impl FromStr for $name {
            type Err = ParamError;
            fn from_str(s: &str) -> Result<Self, ParamError> {
                Self::from_secs(parse_number($label, s)?)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{} s", self.0)
            }
        }
    };
}

seconds_newtype!(
    /// Average handling time (talk + hold + after-call work) of one contact, seconds, > 0.
    HandleTime, "aht", "a positive number of seconds, at most a day", |v| v > 0.0 && v <= DAY_SECS
);
seconds_newtype!(
    /// Mean patience of a waiting caller before abandoning (Erlang A), seconds, > 0.
    Patience, "patience", "a positive number of seconds up to 10^9 (Erlang C is the limit beyond)", |v| v > 0.0 && v <= 1e9
);
seconds_newtype!(
    /// A wait limit: the T of "X % answered within T seconds", or a maximum ASA; ≥ 0.
    WaitLimit, "wait limit", "a non-negative number of seconds, at most a day", |v| (0.0..=DAY_SECS).contains(&v)
);

/// Offered traffic in Erlangs: A = arrival rate × AHT, in `[0, MAX_ERLANGS]`.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct Traffic(f64);

impl Traffic {
    /// The most traffic one queue may carry: a million Erlangs, a hundred times the largest
    /// contact center, so that every computation stays bounded (they are linear in the
    /// agents, which follow the traffic).
    pub const MAX_ERLANGS: f64 = 1_000_000.0;

    /// Wraps a traffic intensity in Erlangs.
    ///
    /// # Errors
    ///
    /// [`ParamError::OutOfRange`] when the value is negative, not finite or above
    /// [`Traffic::MAX_ERLANGS`].
    pub fn from_erlangs(erlangs: f64) -> Result<Self, ParamError> {
        if erlangs.is_finite() && (0.0..=Self::MAX_ERLANGS).contains(&erlangs) {
            Ok(Self(erlangs))
        } else {
            Err(ParamError::OutOfRange {
                name: "traffic",
                value: erlangs,
                expected: "a number of Erlangs from 0 to 1,000,000",
            })
        }
    }

    /// A = contacts × AHT / interval length.
    ///
    /// # Errors
    ///
    /// [`ParamError::OutOfRange`] when the contacts are negative or the interval is not a
    /// positive number of seconds.
    pub fn from_volume(
        contacts: f64,
        interval_secs: f64,
        aht: HandleTime,
    ) -> Result<Self, ParamError> {
        if !(interval_secs.is_finite() && interval_secs > 0.0) {
            return Err(ParamError::OutOfRange {
                name: "interval",
                value: interval_secs,
                expected: "a positive number of seconds",
            });
        }
        if !(contacts.is_finite() && contacts >= 0.0) {
            return Err(ParamError::OutOfRange {
                name: "contacts",
                value: contacts,
                expected: "a non-negative number",
            });
        }
        Self::from_erlangs(contacts * aht.secs() / interval_secs)
    }

    /// The intensity in Erlangs.
    #[must_use]
    pub fn erlangs(self) -> f64 {
        self.0
    }
}

impl fmt::Display for Traffic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} Erl", self.0)
    }
}

/// "X % of contacts answered within T seconds".
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ServiceLevelTarget {
    share: Probability,
    within: WaitLimit,
}

impl ServiceLevelTarget {
    /// Builds a target from its two parts.
    #[must_use]
    pub fn new(share: Probability, within: WaitLimit) -> Self {
        Self { share, within }
    }

    /// The share X that must be answered in time.
    #[must_use]
    pub fn share(self) -> Probability {
        self.share
    }

    /// The answer time T.
    #[must_use]
    pub fn within(self) -> WaitLimit {
        self.within
    }
}

impl FromStr for ServiceLevelTarget {
    type Err = ParamError;

    /// Parses the planner's notation `80/20`: 80 % answered within 20 s.
    fn from_str(s: &str) -> Result<Self, ParamError> {
        let (percent, secs) = s
            .split_once('/')
            .ok_or_else(|| ParamError::ServiceLevelSyntax(s.to_owned()))?;
        let share = Probability::new(parse_number("service level", percent)? / 100.0)?;
        let within = WaitLimit::from_secs(parse_number("answer time", secs)?)?;
        Ok(Self { share, within })
    }
}

impl fmt::Display for ServiceLevelTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.share.get() * 100.0, self.within.secs())
    }
}

/// Relative tolerance for ceilings of computed ratios, so that a value that is an integer in
/// exact arithmetic (14 / 0.7 = 20) is not pushed to the next integer by rounding error.
pub const CEIL_TOLERANCE: f64 = 1e-9;

/// `ceil(x)` that forgives a relative rounding error of [`CEIL_TOLERANCE`].
#[must_use]
pub fn ceil_with_tolerance(x: f64) -> f64 {
    (x - CEIL_TOLERANCE * x.abs().max(1.0)).ceil().max(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shrinkage_ceiling_forgives_rounding_error() {
        let s: Shrinkage = "0.3".parse().unwrap();
        assert_eq!(s.scheduled(14), 20);
        assert_eq!(s.scheduled(15), 22);
        assert_eq!(Shrinkage::NONE.scheduled(7), 7);
    }

    #[test]
    fn shares_parse_as_fraction_or_percent() {
        assert_eq!("0.8".parse::<Probability>().unwrap().get(), 0.8);
        assert_eq!("80%".parse::<Probability>().unwrap().get(), 0.8);
        assert!(matches!(
            "1.2".parse::<Probability>(),
            Err(ParamError::OutOfRange { .. })
        ));
        assert!(matches!(
            "abc".parse::<Probability>(),
            Err(ParamError::NotANumber { .. })
        ));
    }

    #[test]
    fn shrinkage_of_one_is_refused() {
        assert!(Shrinkage::new(1.0).is_err());
        assert!(MaxOccupancy::new(0.0).is_err());
        assert!(MaxOccupancy::new(1.0).is_ok());
    }

    #[test]
    fn service_level_target_parses_planner_notation() {
        let t: ServiceLevelTarget = "80/20".parse().unwrap();
        assert!((t.share().get() - 0.8).abs() < 1e-12);
        assert_eq!(t.within().secs(), 20.0);
        assert!(matches!(
            "80".parse::<ServiceLevelTarget>(),
            Err(ParamError::ServiceLevelSyntax(_))
        ));
    }

    #[test]
    fn traffic_is_calls_times_aht_over_interval() {
        let aht = HandleTime::from_secs(180.0).unwrap();
        let a = Traffic::from_volume(100.0, 1800.0, aht).unwrap();
        assert!((a.erlangs() - 10.0).abs() < 1e-12);
        assert!(Traffic::from_volume(-1.0, 1800.0, aht).is_err());
    }

    #[test]
    fn shrinkage_categories_combine_multiplicatively() {
        let parts = [Shrinkage::new(0.1).unwrap(), Shrinkage::new(0.2).unwrap()];
        let total = Shrinkage::combine(parts).unwrap();
        assert!((total.get() - 0.28).abs() < 1e-12);
    }
}

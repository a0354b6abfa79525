//! The smallest number of agents that meets a set of targets.
//!
//! Every target is monotone in the number of agents (more agents never lower the service
//! level or raise ASA, abandonment or occupancy), so the answer is the first agent count at
//! which all targets hold. The search walks the Erlang B recursion once, so a solve costs
//! O(N) arithmetic, with N the answer.

use super::params::{MaxOccupancy, Probability, ServiceLevelTarget, Shrinkage, WaitLimit};
use super::queue::{ErlangBRecursion, ErlangError, Model, Queue, QueueMetrics};

/// Absolute slack when comparing a computed probability or time with its target, so that a
/// target met in exact arithmetic is not missed by rounding error.
const TARGET_SLACK: f64 = 1e-12;

/// Hard ceiling on the agent search, far beyond any real queue.
const SEARCH_LIMIT_OVER_TRAFFIC: f64 = 100_000.0;

/// What the staffing must achieve. Unset targets do not constrain.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Targets {
    /// X % answered within T seconds.
    pub service_level: Option<ServiceLevelTarget>,
    /// Highest acceptable average speed of answer.
    pub max_asa: Option<WaitLimit>,
    /// Highest acceptable abandon (Erlang A) or blocking (Erlang B) probability.
    pub max_abandon: Option<Probability>,
    /// Highest acceptable occupancy.
    pub max_occupancy: Option<MaxOccupancy>,
}

/// The target that set the agent count: the last one to be met as agents were added.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BindingTarget {
    /// The service-level target.
    ServiceLevel,
    /// The maximum ASA.
    MaxAsa,
    /// The maximum abandon or blocking rate.
    MaxAbandon,
    /// The maximum occupancy.
    MaxOccupancy,
    /// No target binds: the queue has no traffic.
    None,
}

/// A staffing answer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Staffing {
    /// Metrics with the required agents.
    pub metrics: QueueMetrics,
    /// The target that required the last agent.
    pub binding: BindingTarget,
}

impl Staffing {
    /// Agents needed on the phones.
    #[must_use]
    pub fn agents(&self) -> u32 {
        self.metrics.agents
    }

    /// Agents to schedule once shrinkage takes its share.
    #[must_use]
    pub fn scheduled(&self, shrinkage: Shrinkage) -> u32 {
        shrinkage.scheduled(self.metrics.agents)
    }
}

impl Targets {
    fn check_applicable(&self, model: Model) -> Result<(), ErlangError> {
        if self.service_level.is_none()
            && self.max_asa.is_none()
            && self.max_abandon.is_none()
            && self.max_occupancy.is_none()
        {
            return Err(ErlangError::NoTarget);
        }
        match model {
            Model::ErlangB if self.service_level.is_some() || self.max_asa.is_some() => {
                Err(ErlangError::TargetNotApplicable {
                    model: model.name(),
                    target: if self.service_level.is_some() {
                        "service level"
                    } else {
                        "maximum ASA"
                    },
                    why: "a loss system has no queue; blocked contacts are lost",
                })
            }
            Model::ErlangC if self.max_abandon.is_some() => Err(ErlangError::TargetNotApplicable {
                model: model.name(),
                target: "maximum abandon rate",
                why: "its callers never abandon; use Erlang A with a patience",
            }),
            _ => Ok(()),
        }
    }

    /// The targets not met by `m`, in a fixed order.
    fn unmet(&self, m: &QueueMetrics) -> [bool; 4] {
        let sl = self
            .service_level
            .is_some_and(|t| m.service_level.unwrap_or(0.0) + TARGET_SLACK < t.share().get());
        let asa = self
            .max_asa
            .is_some_and(|t| m.asa_sec.unwrap_or(f64::INFINITY) > t.secs() + TARGET_SLACK);
        let abandon = self
            .max_abandon
            .is_some_and(|t| m.abandon_prob.unwrap_or(1.0) > t.get() + TARGET_SLACK);
        let occupancy = self
            .max_occupancy
            .is_some_and(|t| m.occupancy > t.get() + TARGET_SLACK);
        [sl, asa, abandon, occupancy]
    }
}

const BINDING_ORDER: [BindingTarget; 4] = [
    BindingTarget::ServiceLevel,
    BindingTarget::MaxAsa,
    BindingTarget::MaxAbandon,
    BindingTarget::MaxOccupancy,
];

impl Queue {
    /// The smallest number of agents that meets every target.
    ///
    /// # Errors
    ///
    /// [`ErlangError::NoTarget`] without targets, [`ErlangError::TargetNotApplicable`] for a
    /// target the model cannot measure, [`ErlangError::MissingAnswerTime`] never (a service
    /// level target carries its T), and [`ErlangError::Unreachable`] if no count up to
    /// A + 100,000 meets them (a maximum ASA of 0 s, say).
    pub fn staff(&self, targets: &Targets) -> Result<Staffing, ErlangError> {
        targets.check_applicable(self.model)?;
        if matches!(self.model, Model::ErlangC) && self.traffic.erlangs() > 0.0 {
            return self.staff_erlang_c(targets);
        }
        let answer_within = targets.service_level.map(ServiceLevelTarget::within);
        let a = self.traffic.erlangs();
        let limit = (a + SEARCH_LIMIT_OVER_TRAFFIC).min(f64::from(u32::MAX - 1)) as u32;
        let mut recursion = ErlangBRecursion::new(self.traffic);
        let mut last_unmet = [true; 4];
        loop {
            let (agents, blocking) = recursion.current();
            let evaluated = match self.model {
                Model::ErlangC if a > 0.0 && f64::from(agents) <= a => None,
                _ => Some(self.metrics_with_blocking(agents, blocking, answer_within)?),
            };
            if let Some(metrics) = evaluated {
                let unmet = targets.unmet(&metrics);
                if !unmet.iter().any(|&u| u) {
                    let binding = if agents == 0 {
                        BindingTarget::None
                    } else {
                        // The target that was still unmet one agent earlier; the first in
                        // the fixed order when several flipped together.
                        last_unmet
                            .iter()
                            .zip(BINDING_ORDER)
                            .zip(targets_set(targets))
                            .find(|((unmet, _), set)| **unmet && *set)
                            .map_or(BindingTarget::None, |((_, b), _)| b)
                    };
                    return Ok(Staffing { metrics, binding });
                }
                last_unmet = unmet;
            }
            if agents >= limit {
                return Err(ErlangError::Unreachable { limit, traffic: a });
            }
            recursion.step();
        }
    }
}

impl Queue {
    /// Erlang C staffing without divisions or exponentials in the search loop: the
    /// recursion runs on r(n) = 1/B(n) = 1 + (n/A)·r(n−1), and each target is compared in
    /// multiplied-out form (`SL ≥ X` ⇔ `n·e^{−(n−A)T/AHT} ≤ (1 − X)·(r·(n − A) + A)`, with
    /// the exponential updated by one factor per agent). When B(n) underflows, r becomes
    /// infinite and every waiting target holds, which is the limit.
    fn staff_erlang_c(&self, targets: &Targets) -> Result<Staffing, ErlangError> {
        let a = self.traffic.erlangs();
        let aht = self.aht.secs();
        let inv_a = 1.0 / a;
        let min_stable = a.floor() + 1.0;
        let min_occupancy = targets
            .max_occupancy
            .map_or(0.0, |m| super::params::ceil_with_tolerance(a / m.get()));
        let start = min_stable.max(min_occupancy);
        let limit = a + SEARCH_LIMIT_OVER_TRAFFIC;
        let sl = targets.service_level.map(|t| {
            (
                1.0 - t.share().get() + TARGET_SLACK,
                t.within().secs() / aht,
            )
        });
        let max_asa = targets.max_asa.map(|w| w.secs() + TARGET_SLACK);
        // r(n) for n < start, four agents per step: r(m+4) = p + q·r(m) with p and q
        // independent of r, so the dependency chain is one multiply-add per four agents
        // instead of one per agent. (Plain `*` and `+`: `mul_add` is a library call on
        // x86-64 targets without FMA.)
        let mut r = 1.0;
        let mut n = 1.0;
        while n + 3.0 < start {
            let (c1, c2, c3, c4) = (
                n * inv_a,
                (n + 1.0) * inv_a,
                (n + 2.0) * inv_a,
                (n + 3.0) * inv_a,
            );
            let p = c4 * (c3 * (1.0 + c2) + 1.0) + 1.0;
            let q = (c4 * c3) * (c2 * c1);
            r = q * r + p;
            n += 4.0;
        }
        while n < start {
            r = inv_a * n * r + 1.0;
            n += 1.0;
        }
        // e^{−(n−A)·T/AHT} at n = start, then one factor per agent.
        let (mut decay, step) =
            sl.map_or((1.0, 1.0), |(_, k)| ((-(start - a) * k).exp(), (-k).exp()));
        loop {
            r = inv_a * n * r + 1.0;
            let queue_scale = r * (n - a) + a; // (n − A(1 − B)) / B
            let sl_met = sl.is_none_or(|(miss, _)| n * decay <= miss * queue_scale);
            let asa_met = max_asa.is_none_or(|w| n * aht <= w * (n - a) * queue_scale);
            if sl_met && asa_met {
                break;
            }
            if n >= limit {
                return Err(ErlangError::Unreachable {
                    limit: limit as u32,
                    traffic: a,
                });
            }
            decay *= step;
            n += 1.0;
        }
        let agents = n as u32;
        let answer_within = targets.service_level.map(ServiceLevelTarget::within);
        let metrics = self.metrics_with_blocking(agents, 1.0 / r, answer_within)?;
        // The binding target is one that fails with one agent less.
        let fewer = f64::from(agents - 1);
        let binding = if fewer <= a {
            // One agent less is unstable: every waiting target fails; name the first set.
            if targets.service_level.is_some() {
                BindingTarget::ServiceLevel
            } else if targets.max_asa.is_some() {
                BindingTarget::MaxAsa
            } else {
                BindingTarget::MaxOccupancy
            }
        } else {
            let blocking_fewer = 1.0 / ((r - 1.0) * a / n);
            let previous = self.metrics_with_blocking(agents - 1, blocking_fewer, answer_within)?;
            targets
                .unmet(&previous)
                .iter()
                .zip(BINDING_ORDER)
                .find(|(unmet, _)| **unmet)
                .map_or(BindingTarget::None, |(_, b)| b)
        };
        Ok(Staffing { metrics, binding })
    }
}

fn targets_set(t: &Targets) -> [bool; 4] {
    [
        t.service_level.is_some(),
        t.max_asa.is_some(),
        t.max_abandon.is_some(),
        t.max_occupancy.is_some(),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::erlang::params::{HandleTime, Patience, Traffic};
    use crate::erlang::queue::ServiceLevelBasis;

    fn queue(a: f64, model: Model) -> Queue {
        Queue {
            traffic: Traffic::from_erlangs(a).unwrap(),
            aht: HandleTime::from_secs(180.0).unwrap(),
            model,
        }
    }

    fn sl(s: &str) -> Targets {
        Targets {
            service_level: Some(s.parse().unwrap()),
            ..Targets::default()
        }
    }

    #[test]
    fn classic_eighty_twenty_needs_fourteen_agents() {
        let staffing = queue(10.0, Model::ErlangC).staff(&sl("80/20")).unwrap();
        assert_eq!(staffing.agents(), 14);
        assert_eq!(staffing.binding, BindingTarget::ServiceLevel);
        assert_eq!(staffing.scheduled(Shrinkage::new(0.3).unwrap()), 20);
    }

    #[test]
    fn occupancy_cap_binds_when_service_target_is_loose() {
        let targets = Targets {
            max_occupancy: Some(MaxOccupancy::new(0.5).unwrap()),
            ..sl("50/60")
        };
        let staffing = queue(10.0, Model::ErlangC).staff(&targets).unwrap();
        assert_eq!(staffing.agents(), 20);
        assert_eq!(staffing.binding, BindingTarget::MaxOccupancy);
    }

    #[test]
    fn max_asa_target_is_met_by_the_first_sufficient_count() {
        let targets = Targets {
            max_asa: Some(WaitLimit::from_secs(10.0).unwrap()),
            ..Targets::default()
        };
        let q = queue(10.0, Model::ErlangC);
        let staffing = q.staff(&targets).unwrap();
        assert!(staffing.metrics.asa_sec.unwrap() <= 10.0);
        let fewer = q.metrics(staffing.agents() - 1, None).unwrap();
        assert!(fewer.asa_sec.unwrap() > 10.0);
        assert_eq!(staffing.binding, BindingTarget::MaxAsa);
    }

    #[test]
    fn erlang_a_can_staff_below_traffic_for_an_abandon_target() {
        let q = queue(
            100.0,
            Model::ErlangA {
                patience: Patience::from_secs(60.0).unwrap(),
                basis: ServiceLevelBasis::Arrivals,
            },
        );
        let targets = Targets {
            max_abandon: Some(Probability::new(0.10).unwrap()),
            ..Targets::default()
        };
        let staffing = q.staff(&targets).unwrap();
        assert!(staffing.agents() < 100, "{staffing:?}");
        assert!(staffing.metrics.abandon_prob.unwrap() <= 0.10);
    }

    #[test]
    fn erlang_b_staffs_against_blocking() {
        let targets = Targets {
            max_abandon: Some(Probability::new(0.02).unwrap()),
            ..Targets::default()
        };
        let staffing = queue(5.0, Model::ErlangB).staff(&targets).unwrap();
        assert_eq!(staffing.agents(), 10);
        assert!(staffing.metrics.erlang_b < 0.02);
    }

    #[test]
    fn models_refuse_targets_they_cannot_measure() {
        assert!(matches!(
            queue(5.0, Model::ErlangB).staff(&sl("80/20")),
            Err(ErlangError::TargetNotApplicable { .. })
        ));
        let abandon = Targets {
            max_abandon: Some(Probability::new(0.05).unwrap()),
            ..Targets::default()
        };
        assert!(matches!(
            queue(5.0, Model::ErlangC).staff(&abandon),
            Err(ErlangError::TargetNotApplicable { .. })
        ));
        assert_eq!(
            queue(5.0, Model::ErlangC).staff(&Targets::default()),
            Err(ErlangError::NoTarget)
        );
    }

    #[test]
    fn staffing_scales_beyond_ten_thousand_erlangs() {
        let staffing = queue(12_000.0, Model::ErlangC).staff(&sl("80/20")).unwrap();
        let n = staffing.agents();
        assert!(n > 12_000 && n < 12_200, "{n}");
        let fewer = queue(12_000.0, Model::ErlangC)
            .metrics(n - 1, Some(WaitLimit::from_secs(20.0).unwrap()))
            .unwrap();
        assert!(fewer.service_level.unwrap() < 0.8);
    }

    #[test]
    fn erlang_c_staffing_is_the_smallest_count_meeting_every_target() {
        for a in [0.3, 1.0, 2.7, 9.99, 10.0, 47.5, 180.0, 999.0, 2000.0] {
            for (sl_notation, t) in [("70/10", 10.0), ("80/20", 20.0), ("95/60", 60.0)] {
                for occupancy in [None, Some(0.85)] {
                    for asa in [None, Some(15.0)] {
                        let q = queue(a, Model::ErlangC);
                        let targets = Targets {
                            max_occupancy: occupancy.map(|o| MaxOccupancy::new(o).unwrap()),
                            max_asa: asa.map(|w| WaitLimit::from_secs(w).unwrap()),
                            ..sl(sl_notation)
                        };
                        let n = q.staff(&targets).unwrap().agents();
                        let at = |n: u32| q.metrics(n, Some(WaitLimit::from_secs(t).unwrap()));
                        assert!(
                            !targets.unmet(&at(n).unwrap()).contains(&true),
                            "A={a} n={n}"
                        );
                        if let Ok(fewer) = at(n - 1) {
                            assert!(targets.unmet(&fewer).contains(&true), "A={a} n-1={}", n - 1);
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn zero_traffic_needs_zero_agents() {
        let staffing = queue(0.0, Model::ErlangC).staff(&sl("80/20")).unwrap();
        assert_eq!(staffing.agents(), 0);
        assert_eq!(staffing.binding, BindingTarget::None);
    }
}

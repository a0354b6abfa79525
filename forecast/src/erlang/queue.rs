//! Erlang B, C and A performance metrics for a given number of agents.
//!
//! Definitions (ARCHITECTURE §7): A = contacts × AHT / interval; the Erlang B blocking
//! probability comes from the recursion `B(n) = A·B(n−1) / (n + A·B(n−1))`, never from
//! `A^N / N!`; Erlang C's `P(wait) = N·B / (N − A·(1 − B))`, `SL(T) = 1 − P(wait)·e^{−(N−A)T/AHT}`,
//! `ASA = P(wait)·AHT / (N − A)`, occupancy `A / N`.
//!
//! Erlang A (M/M/N+M, the Palm/Erlang-A model) adds exponential patience with mean θ⁻¹.
//! With x = Nμ/θ, y = λ/θ and `A(x, y) = x e^y y^{−x} γ(x, y)` (Mandelbaum & Zeltyn):
//! `P(wait) = A·B / (1 + (A − 1)·B)`, `P(abandon | wait) = 1/(ρA) + 1 − 1/ρ` with ρ = y/x,
//! and the share of arrivals that wait and are answered within T is
//! `P(wait)·(x/y)·[P(x+1, y) − P(x+1, y·e^{−θT})] / P(x, y)` (P: regularized incomplete
//! gamma). Those are exact for the infinite birth–death chain; no truncation is involved.
//! Erlang A's ASA is the mean wait over all arrivals, `P(abandon)·patience` (Little's law on
//! the abandoning stream), and occupancy counts only answered contacts, `A·(1 − P(ab)) / N`.

use super::gamma::{ln_erlang_a_factor, ln_lower_regularized};
use super::params::{HandleTime, Patience, Traffic, WaitLimit};

/// What a queueing question could not answer.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ErlangError {
    /// Erlang C has no steady state when agents ≤ traffic: the queue grows without bound.
    #[error(
        "Erlang C is unstable with {agents} agents for {traffic} Erlangs: the queue grows \
         without bound; at least {min_stable} agents are needed (Erlang A models abandonment)"
    )]
    Unstable {
        /// Agents evaluated.
        agents: u32,
        /// Offered traffic in Erlangs.
        traffic: f64,
        /// Smallest stable number of agents, floor(A) + 1.
        min_stable: u32,
    },
    /// A target that the chosen model cannot measure (for example a service level with
    /// Erlang B, which has no queue, or a maximum abandon rate with Erlang C).
    #[error("{model} cannot meet a {target} target: {why}")]
    TargetNotApplicable {
        /// The model.
        model: &'static str,
        /// The target.
        target: &'static str,
        /// Why not.
        why: &'static str,
    },
    /// A staffing solve needs at least one target.
    #[error(
        "no staffing target given: set a service level, maximum ASA, abandon rate or occupancy"
    )]
    NoTarget,
    /// A service-level or ASA question needs an answer time T.
    #[error("{0} needs the answer time T of the service level")]
    MissingAnswerTime(&'static str),
    /// The targets cannot be met with any number of agents below the search limit.
    #[error("no agent count up to {limit} meets the targets for {traffic} Erlangs")]
    Unreachable {
        /// Largest agent count tried.
        limit: u32,
        /// Offered traffic in Erlangs.
        traffic: f64,
    },
}

/// Which contacts the Erlang A service level is measured over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ServiceLevelBasis {
    /// Answered within T / all arrivals (answered + abandoned), as ARCHITECTURE §7 defines
    /// service level; abandoned contacts count against it. The default.
    #[default]
    Arrivals,
    /// Answered within T / answered; abandoned contacts are left out.
    Answered,
}

/// The queueing model of a queue.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Model {
    /// Loss system: a contact that finds every agent busy is lost (blocked).
    ErlangB,
    /// Delay system with infinitely patient callers.
    ErlangC,
    /// Delay system with exponential patience (abandonment).
    ErlangA {
        /// Mean patience.
        patience: Patience,
        /// Service-level definition.
        basis: ServiceLevelBasis,
    },
}

impl Model {
    /// A short name for messages.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::ErlangB => "Erlang B",
            Self::ErlangC => "Erlang C",
            Self::ErlangA { .. } => "Erlang A",
        }
    }
}

/// Performance of a queue with a given number of agents. `None` marks a metric that the
/// model does not define (Erlang B has no waiting, Erlang C no abandonment).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct QueueMetrics {
    /// Offered traffic A in Erlangs.
    pub traffic_erlangs: f64,
    /// Agents on the phones.
    pub agents: u32,
    /// Probability that a contact waits (Erlang C/A).
    pub prob_wait: Option<f64>,
    /// Share answered within T (when T was given), on the model's basis.
    pub service_level: Option<f64>,
    /// Average speed of answer, seconds.
    pub asa_sec: Option<f64>,
    /// Busy share of agent time.
    pub occupancy: f64,
    /// Probability that a contact abandons (Erlang A) or is blocked (Erlang B).
    pub abandon_prob: Option<f64>,
    /// Erlang B blocking probability B(N, A).
    pub erlang_b: f64,
}

/// Successive Erlang B values B(0, A), B(1, A), … by the stable recursion.
#[derive(Debug, Clone)]
pub struct ErlangBRecursion {
    traffic: f64,
    agents: u32,
    blocking: f64,
}

impl ErlangBRecursion {
    /// Starts at B(0, A) = 1.
    #[must_use]
    pub fn new(traffic: Traffic) -> Self {
        Self {
            traffic: traffic.erlangs(),
            agents: 0,
            blocking: 1.0,
        }
    }

    /// The current (agents, B) pair.
    #[must_use]
    pub fn current(&self) -> (u32, f64) {
        (self.agents, self.blocking)
    }

    /// Moves to one more agent and returns B(N + 1, A).
    pub fn step(&mut self) -> f64 {
        self.agents += 1;
        let ab = self.traffic * self.blocking;
        self.blocking = ab / (f64::from(self.agents) + ab);
        self.blocking
    }
}

/// Erlang B blocking probability B(N, A) by the recursion (O(N), stable for any A).
#[must_use]
pub fn erlang_b(agents: u32, traffic: Traffic) -> f64 {
    let mut rec = ErlangBRecursion::new(traffic);
    for _ in 0..agents {
        rec.step();
    }
    rec.current().1
}

/// A queue: its offered traffic, handling time and model.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Queue {
    /// Offered traffic.
    pub traffic: Traffic,
    /// Average handling time.
    pub aht: HandleTime,
    /// Queueing model.
    pub model: Model,
}

impl Queue {
    /// Metrics with `agents` agents; the service level is computed when `answer_within` is
    /// given.
    ///
    /// # Errors
    ///
    /// [`ErlangError::Unstable`] for Erlang C when `agents ≤ A` (and A > 0).
    pub fn metrics(
        &self,
        agents: u32,
        answer_within: Option<WaitLimit>,
    ) -> Result<QueueMetrics, ErlangError> {
        self.metrics_with_blocking(agents, erlang_b(agents, self.traffic), answer_within)
    }

    /// Metrics given B(agents, A) already computed (staffing walks the recursion once).
    pub(crate) fn metrics_with_blocking(
        &self,
        agents: u32,
        blocking: f64,
        answer_within: Option<WaitLimit>,
    ) -> Result<QueueMetrics, ErlangError> {
        let a = self.traffic.erlangs();
        let n = f64::from(agents);
        let occupancy_of = |carried: f64| if agents == 0 { 0.0 } else { carried / n };
        let base = QueueMetrics {
            traffic_erlangs: a,
            agents,
            prob_wait: None,
            service_level: None,
            asa_sec: None,
            occupancy: 0.0,
            abandon_prob: None,
            erlang_b: blocking,
        };
        match self.model {
            Model::ErlangB => Ok(QueueMetrics {
                occupancy: occupancy_of(a * (1.0 - blocking)),
                abandon_prob: Some(blocking),
                ..base
            }),
            Model::ErlangC => {
                if a == 0.0 {
                    return Ok(QueueMetrics {
                        prob_wait: Some(0.0),
                        service_level: answer_within.map(|_| 1.0),
                        asa_sec: Some(0.0),
                        ..base
                    });
                }
                if n <= a {
                    return Err(ErlangError::Unstable {
                        agents,
                        traffic: a,
                        min_stable: a.floor() as u32 + 1,
                    });
                }
                let wait = n * blocking / (n - a * (1.0 - blocking));
                let aht = self.aht.secs();
                let service_level = answer_within
                    .map(|t| (1.0 - wait * (-(n - a) * t.secs() / aht).exp()).max(0.0));
                Ok(QueueMetrics {
                    prob_wait: Some(wait),
                    service_level,
                    asa_sec: Some(wait * aht / (n - a)),
                    occupancy: a / n,
                    ..base
                })
            }
            Model::ErlangA { patience, basis } => {
                Ok(self.erlang_a(agents, blocking, patience, basis, answer_within, base))
            }
        }
    }

    fn erlang_a(
        &self,
        agents: u32,
        blocking: f64,
        patience: Patience,
        basis: ServiceLevelBasis,
        answer_within: Option<WaitLimit>,
        base: QueueMetrics,
    ) -> QueueMetrics {
        let a = self.traffic.erlangs();
        let aht = self.aht.secs();
        let patience_secs = patience.secs();
        if a == 0.0 {
            return QueueMetrics {
                prob_wait: Some(0.0),
                service_level: answer_within.map(|_| 1.0),
                asa_sec: Some(0.0),
                abandon_prob: Some(0.0),
                ..base
            };
        }
        if agents == 0 {
            // Nobody answers: every caller waits until their patience runs out.
            return QueueMetrics {
                prob_wait: Some(1.0),
                service_level: answer_within.map(|_| 0.0),
                asa_sec: Some(patience_secs),
                abandon_prob: Some(1.0),
                ..base
            };
        }
        let n = f64::from(agents);
        // x = Nμ/θ and y = λ/θ, with μ = 1/AHT, θ = 1/patience, λ = A·μ.
        let x = n * patience_secs / aht;
        let y = a * patience_secs / aht;
        // w = 1 / A(x, y) in (0, 1]; it underflows gracefully to 0 under heavy overload.
        let w = (-ln_erlang_a_factor(x, y)).exp();
        let wait = blocking / (w * (1.0 - blocking) + blocking);
        let x_over_y = x / y;
        let abandon_given_wait = (1.0 - x_over_y * (1.0 - w)).clamp(0.0, 1.0);
        let abandon = wait * abandon_given_wait;
        let answered = 1.0 - abandon;
        let service_level = answer_within.map(|t| {
            let ln_p_x_y = ln_lower_regularized(x, y);
            let y_late = y * (-t.secs() / patience_secs).exp();
            let late_ratio = (ln_lower_regularized(x + 1.0, y_late) - ln_p_x_y).exp();
            let waited_and_answered_in_time = (wait * x_over_y * ((1.0 - w) - late_ratio)).max(0.0);
            let in_time = (1.0 - wait) + waited_and_answered_in_time;
            match basis {
                ServiceLevelBasis::Arrivals => in_time.min(1.0),
                ServiceLevelBasis::Answered => (in_time / answered).min(1.0),
            }
        });
        QueueMetrics {
            prob_wait: Some(wait),
            service_level,
            asa_sec: Some(abandon * patience_secs),
            occupancy: a * answered / n,
            abandon_prob: Some(abandon),
            ..base
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn traffic(a: f64) -> Traffic {
        Traffic::from_erlangs(a).unwrap()
    }

    fn secs(s: f64) -> WaitLimit {
        WaitLimit::from_secs(s).unwrap()
    }

    fn queue(a: f64, model: Model) -> Queue {
        Queue {
            traffic: traffic(a),
            aht: HandleTime::from_secs(180.0).unwrap(),
            model,
        }
    }

    fn erlang_a(patience: f64) -> Model {
        Model::ErlangA {
            patience: Patience::from_secs(patience).unwrap(),
            basis: ServiceLevelBasis::Arrivals,
        }
    }

    #[test]
    fn erlang_b_matches_textbook_values() {
        assert!((erlang_b(10, traffic(5.0)) - 0.018_384_570_336_648_1).abs() < 1e-15);
        assert_eq!(erlang_b(0, traffic(5.0)), 1.0);
        assert_eq!(erlang_b(3, traffic(0.0)), 0.0);
    }

    #[test]
    fn erlang_b_stays_finite_beyond_ten_thousand_erlangs() {
        let b = erlang_b(20_500, traffic(20_000.0));
        assert!(b.is_finite() && b > 0.0 && b < 0.01, "B = {b}");
        // Far more agents than traffic: blocking underflows towards 0, never NaN.
        let tiny = erlang_b(5_000, traffic(1.0));
        assert!((0.0..1e-300).contains(&tiny));
    }

    #[test]
    fn erlang_c_refuses_agents_not_above_traffic() {
        let q = queue(10.0, Model::ErlangC);
        let err = q.metrics(10, Some(secs(20.0))).unwrap_err();
        assert_eq!(
            err,
            ErlangError::Unstable {
                agents: 10,
                traffic: 10.0,
                min_stable: 11
            }
        );
        assert!(q.metrics(11, None).is_ok());
    }

    #[test]
    fn erlang_a_is_stable_with_fewer_agents_than_traffic() {
        let m = queue(10.0, erlang_a(300.0))
            .metrics(8, Some(secs(20.0)))
            .unwrap();
        let abandon = m.abandon_prob.unwrap();
        // With 8 agents at most 8 Erlangs are carried: at least 20 % must abandon.
        assert!(abandon > 0.2 && abandon < 1.0, "abandon = {abandon}");
        assert!(m.occupancy < 1.0 && m.occupancy > 0.9);
    }

    #[test]
    fn erlang_a_approaches_erlang_c_with_patient_callers() {
        let c = queue(10.0, Model::ErlangC)
            .metrics(14, Some(secs(20.0)))
            .unwrap();
        let a = queue(10.0, erlang_a(1e9))
            .metrics(14, Some(secs(20.0)))
            .unwrap();
        let rel = |x: f64, y: f64| (x - y).abs() / y;
        assert!(rel(a.prob_wait.unwrap(), c.prob_wait.unwrap()) < 1e-5);
        assert!(rel(a.service_level.unwrap(), c.service_level.unwrap()) < 1e-5);
    }

    #[test]
    fn erlang_a_answered_basis_excludes_abandons() {
        let base = queue(10.0, erlang_a(120.0));
        let over_arrivals = base.metrics(11, Some(secs(20.0))).unwrap();
        let answered_basis = Queue {
            model: Model::ErlangA {
                patience: Patience::from_secs(120.0).unwrap(),
                basis: ServiceLevelBasis::Answered,
            },
            ..base
        };
        let over_answered = answered_basis.metrics(11, Some(secs(20.0))).unwrap();
        let abandon = over_arrivals.abandon_prob.unwrap();
        let expected = over_arrivals.service_level.unwrap() / (1.0 - abandon);
        assert!((over_answered.service_level.unwrap() - expected).abs() < 1e-12);
        assert!(over_answered.service_level > over_arrivals.service_level);
    }

    #[test]
    fn erlang_a_is_finite_for_twenty_thousand_erlangs() {
        for agents in [15_000, 19_900, 20_100, 25_000] {
            let m = queue(20_000.0, erlang_a(60.0))
                .metrics(agents, Some(secs(20.0)))
                .unwrap();
            for v in [m.prob_wait, m.service_level, m.abandon_prob, m.asa_sec] {
                let v = v.unwrap();
                assert!(v.is_finite() && v >= 0.0, "{agents} agents: {m:?}");
            }
            assert!(m.service_level.unwrap() <= 1.0);
        }
    }

    #[test]
    fn no_traffic_needs_no_waiting() {
        let m = queue(0.0, Model::ErlangC)
            .metrics(0, Some(secs(20.0)))
            .unwrap();
        assert_eq!(m.service_level, Some(1.0));
        assert_eq!(m.asa_sec, Some(0.0));
    }
}

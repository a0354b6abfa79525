//! QA events: evaluations of calls and tickets against a scorecard.
//!
//! The lake records each evaluation's totals; the answers to individual scorecard criteria
//! stay in the ops database, which owns the scorecards.

use serde::{Deserialize, Serialize};

use crate::ids::{AgentId, EvaluationId, ScorecardId, Subject};
use crate::row::columns;

/// The error returned for a score whose maximum is zero or below its points.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid score {points}/{max_points}: max_points must be positive and at least points")]
pub struct InvalidQaScore {
    points: u32,
    max_points: u32,
}

/// Points obtained out of the scorecard's maximum (`points <= max_points`, `max_points > 0`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "QaScoreWire", into = "QaScoreWire")]
pub struct QaScore {
    points: u32,
    max_points: u32,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct QaScoreWire {
    points: u32,
    max_points: u32,
}

impl QaScore {
    /// A score.
    ///
    /// # Errors
    ///
    /// [`InvalidQaScore`] when `points > max_points` or `max_points` is zero.
    pub fn new(points: u32, max_points: u32) -> Result<Self, InvalidQaScore> {
        if max_points == 0 || points > max_points {
            return Err(InvalidQaScore { points, max_points });
        }
        Ok(Self { points, max_points })
    }

    /// Points obtained.
    pub fn points(&self) -> u32 {
        self.points
    }

    /// Points possible.
    pub fn max_points(&self) -> u32 {
        self.max_points
    }
}

impl TryFrom<QaScoreWire> for QaScore {
    type Error = InvalidQaScore;

    fn try_from(wire: QaScoreWire) -> Result<Self, Self::Error> {
        Self::new(wire.points, wire.max_points)
    }
}

impl From<QaScore> for QaScoreWire {
    fn from(score: QaScore) -> Self {
        Self {
            points: score.points,
            max_points: score.max_points,
        }
    }
}

/// A QA evaluator scored a call or ticket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QaEvaluated {
    /// The evaluation.
    pub evaluation_id: EvaluationId,
    /// The scorecard used.
    pub scorecard_id: ScorecardId,
    /// The call or ticket evaluated.
    pub subject: Subject,
    /// The agent evaluated.
    pub agent_id: AgentId,
    /// The evaluator.
    pub evaluator_id: AgentId,
    /// The total score.
    pub score: QaScore,
    /// Whether a critical criterion failed (the evaluation fails whatever the points).
    pub critical_failure: bool,
}

/// Every QA event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum QaEvent {
    /// `qa.evaluated`.
    Evaluated(QaEvaluated),
}

columns! {
    /// The `qa` table's own columns (after the header).
    pub struct QaColumns {
        /// The evaluation.
        pub evaluation_id: String,
        /// The scorecard.
        pub scorecard_id: String,
        /// `call` or `ticket`.
        pub subject_kind: String,
        /// The call or ticket id.
        pub subject_id: String,
        /// The agent evaluated.
        pub agent_id: String,
        /// The evaluator.
        pub evaluator_id: String,
        /// Points obtained.
        pub points: i64,
        /// Points possible.
        pub max_points: i64,
        /// A critical criterion failed.
        pub critical_failure: bool,
    }
}

impl QaEvent {
    /// The event's values for the `qa` table, its text moved
    /// into them rather than copied.
    pub fn into_columns(self) -> QaColumns {
        match self {
            QaEvent::Evaluated(e) => QaColumns {
                evaluation_id: String::from(e.evaluation_id),
                scorecard_id: String::from(e.scorecard_id),
                subject_kind: e.subject.kind().to_owned(),
                subject_id: e.subject.id().to_owned(),
                agent_id: String::from(e.agent_id),
                evaluator_id: String::from(e.evaluator_id),
                points: e.score.points().into(),
                max_points: e.score.max_points().into(),
                critical_failure: e.critical_failure,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn score_above_the_maximum_is_refused() {
        assert!(QaScore::new(42, 50).is_ok());
        assert_eq!(
            QaScore::new(51, 50).unwrap_err().to_string(),
            "invalid score 51/50: max_points must be positive and at least points"
        );
        assert!(QaScore::new(0, 0).is_err());
    }
}

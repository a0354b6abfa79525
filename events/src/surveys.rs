//! Survey events: customers' answers to satisfaction surveys.
//!
//! One event per answered question; `response_id` groups the answers of one respondent.
//! Scores are checked against their scale when decoded, so CSAT and NPS (ARCHITECTURE §7)
//! never meet an out-of-range value.

use serde::{Deserialize, Serialize};

use crate::ids::{AgentId, CustomerId, QuestionId, ResponseId, Subject, SurveyId};
use crate::row::columns;

/// The error returned for a score outside its scale.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("score {score} is outside the {scale} scale {min}..={max}")]
pub struct ScoreOutOfRange {
    scale: &'static str,
    score: u8,
    min: u8,
    max: u8,
}

macro_rules! score {
    ($(#[$meta:meta])* $name:ident, $scale:literal, $min:literal, $max:literal) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "u8", into = "u8")]
        pub struct $name(u8);

        impl $name {
            /// The lowest score of the scale.
            pub const MIN: u8 = $min;
            /// The highest score of the scale.
            pub const MAX: u8 = $max;

            /// The score.
            pub fn get(&self) -> u8 {
                self.0
            }
        }

        impl TryFrom<u8> for $name {
            type Error = ScoreOutOfRange;

            fn try_from(score: u8) -> Result<Self, Self::Error> {
                if ($min..=$max).contains(&score) {
                    Ok(Self(score))
                } else {
                    Err(ScoreOutOfRange { scale: $scale, score, min: $min, max: $max })
                }
            }
        }

        impl From<$name> for u8 {
            fn from(score: $name) -> Self {
                score.0
            }
        }
    };
}

score!(
    /// Customer satisfaction, 1 (very dissatisfied) to 5 (very satisfied).
    CsatScore, "csat", 1, 5
);
score!(
    /// Net promoter score answer, 0 (would not recommend) to 10.
    NpsScore, "nps", 0, 10
);
score!(
    /// Customer effort, 1 (very easy) to 7 (very hard).
    CesScore, "ces", 1, 7
);

/// An answer with its scale.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    tag = "scale",
    content = "score",
    rename_all = "snake_case",
    deny_unknown_fields
)]
pub enum SurveyAnswer {
    /// 1–5 satisfaction.
    Csat(CsatScore),
    /// 0–10 likelihood to recommend.
    Nps(NpsScore),
    /// 1–7 effort.
    Ces(CesScore),
    /// Yes or no (e.g. "was your issue resolved?").
    YesNo(bool),
}

impl SurveyAnswer {
    /// The scale's name as stored in the lake.
    pub fn scale(&self) -> &'static str {
        match self {
            SurveyAnswer::Csat(_) => "csat",
            SurveyAnswer::Nps(_) => "nps",
            SurveyAnswer::Ces(_) => "ces",
            SurveyAnswer::YesNo(_) => "yes_no",
        }
    }

    /// The answer as a number (yes = 1, no = 0).
    pub fn score(&self) -> u8 {
        match self {
            SurveyAnswer::Csat(score) => score.get(),
            SurveyAnswer::Nps(score) => score.get(),
            SurveyAnswer::Ces(score) => score.get(),
            SurveyAnswer::YesNo(yes) => u8::from(*yes),
        }
    }
}

/// A customer answered one survey question.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SurveyAnswered {
    /// The survey.
    pub survey_id: SurveyId,
    /// The respondent's set of answers this one belongs to.
    pub response_id: ResponseId,
    /// The question.
    pub question_id: QuestionId,
    /// The answer.
    pub answer: SurveyAnswer,
    /// The call or ticket the survey is about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<Subject>,
    /// The agent who handled that contact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<AgentId>,
    /// The respondent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_id: Option<CustomerId>,
}

/// Every survey event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum SurveyEvent {
    /// `survey.answered`.
    Answered(SurveyAnswered),
}

columns! {
    /// The `surveys` table's own columns (after the header).
    pub struct SurveyColumns {
        /// The survey.
        pub survey_id: String,
        /// The respondent's set of answers.
        pub response_id: String,
        /// The question.
        pub question_id: String,
        /// `csat`, `nps`, `ces` or `yes_no`.
        pub scale: String,
        /// The score (yes = 1, no = 0).
        pub score: i16,
        /// `call` or `ticket`.
        pub subject_kind: Option<String>,
        /// The call or ticket id.
        pub subject_id: Option<String>,
        /// The agent who handled the contact.
        pub agent_id: Option<String>,
        /// The respondent.
        pub customer_id: Option<String>,
    }
}

impl SurveyEvent {
    /// The event's values for the `surveys` table, its text moved
    /// into them rather than copied.
    pub fn into_columns(self) -> SurveyColumns {
        match self {
            SurveyEvent::Answered(e) => SurveyColumns {
                survey_id: String::from(e.survey_id),
                response_id: String::from(e.response_id),
                question_id: String::from(e.question_id),
                scale: e.answer.scale().to_owned(),
                score: e.answer.score().into(),
                subject_kind: e.subject.as_ref().map(|s| s.kind().to_owned()),
                subject_id: e.subject.as_ref().map(|s| s.id().to_owned()),
                agent_id: e.agent_id.map(String::from),
                customer_id: e.customer_id.map(String::from),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_outside_their_scale_are_refused() {
        assert!(CsatScore::try_from(0).is_err());
        assert_eq!(CsatScore::try_from(5).unwrap().get(), 5);
        assert!(NpsScore::try_from(0).is_ok());
        assert!(NpsScore::try_from(11).is_err());
        let err = CesScore::try_from(8).unwrap_err().to_string();
        assert_eq!(err, "score 8 is outside the ces scale 1..=7");
    }

    #[test]
    fn answer_is_tagged_with_its_scale_on_the_wire() {
        let answer: SurveyAnswer = serde_json::from_str(r#"{"scale":"nps","score":9}"#).unwrap();
        assert_eq!(answer.scale(), "nps");
        assert_eq!(answer.score(), 9);
        assert!(serde_json::from_str::<SurveyAnswer>(r#"{"scale":"csat","score":9}"#).is_err());
    }
}

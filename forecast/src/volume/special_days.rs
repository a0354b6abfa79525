//! Special days: configured holidays and closures, and days the data shows to be abnormal.

use std::collections::BTreeMap;
use std::io::Read;

use chrono::NaiveDate;

use super::history::History;

/// What makes a day special.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SpecialKind {
    /// The center is closed: forecast 0, and the day is left out of every baseline.
    Closed,
    /// A holiday or event with unusual demand: left out of baselines, flagged to models.
    Holiday,
}

/// Configured special days.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SpecialDays {
    days: BTreeMap<NaiveDate, SpecialKind>,
}

/// Why a special-days file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SpecialDaysError {
    /// Unreadable CSV.
    #[error("special days CSV: {0}")]
    Csv(#[from] csv::Error),
    /// A bad date or kind.
    #[error("special days line {line}: `{value}` (expected `YYYY-MM-DD,closed|holiday`)")]
    Row {
        /// 1-based line.
        line: u64,
        /// The text.
        value: String,
    },
}

impl SpecialDays {
    /// Marks `date` as special.
    pub fn insert(&mut self, date: NaiveDate, kind: SpecialKind) {
        self.days.insert(date, kind);
    }

    /// The kind of `date`, if special.
    #[must_use]
    pub fn kind(&self, date: NaiveDate) -> Option<SpecialKind> {
        self.days.get(&date).copied()
    }

    /// Reads `date,kind` CSV (kind `closed` or `holiday`).
    ///
    /// # Errors
    ///
    /// [`SpecialDaysError`] for unreadable CSV or a bad row.
    pub fn from_csv<R: Read>(reader: R) -> Result<Self, SpecialDaysError> {
        let mut out = Self::default();
        let mut csv = csv::Reader::from_reader(reader);
        for record in csv.records() {
            let record = record?;
            let line = record.position().map_or(0, csv::Position::line);
            let bad = || SpecialDaysError::Row {
                line,
                value: record.iter().collect::<Vec<_>>().join(","),
            };
            let date = record
                .get(0)
                .and_then(|d| NaiveDate::parse_from_str(d.trim(), "%Y-%m-%d").ok())
                .ok_or_else(bad)?;
            let kind = match record.get(1).map(str::trim) {
                Some("closed") => SpecialKind::Closed,
                Some("holiday") | None => SpecialKind::Holiday,
                Some(_) => return Err(bad()),
            };
            out.insert(date, kind);
        }
        Ok(out)
    }
}

/// Share of the usual volume under which a day counts as abnormal (a closure or holiday
/// that nobody configured).
const ABNORMAL_SHARE: f64 = 0.5;

/// Days of `history` whose total falls below half the median of the same weekday over the
/// previous eight present weeks, plus configured special days: the days a model should not
/// learn the normal pattern from.
#[must_use]
pub fn abnormal_days(history: &History, special: &SpecialDays) -> Vec<bool> {
    let totals: Vec<Option<f64>> = (0..history.len_days())
        .map(|d| history.day(d).map(|v| v.iter().sum()))
        .collect();
    (0..history.len_days())
        .map(|d| {
            if special.kind(history.date(d)).is_some() {
                return true;
            }
            let Some(total) = totals[d] else { return false };
            let mut previous: Vec<f64> = (1..=8)
                .filter_map(|w| d.checked_sub(7 * w).and_then(|p| totals[p]))
                .collect();
            if previous.len() < 3 {
                return false;
            }
            previous.sort_by(f64::total_cmp);
            let median = previous[previous.len() / 2];
            total < ABNORMAL_SHARE * median
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn special_days_parse_from_csv() {
        let s =
            SpecialDays::from_csv("date,kind\n2024-12-25,closed\n2024-12-24,holiday\n".as_bytes())
                .unwrap();
        let d = |m, day| NaiveDate::from_ymd_opt(2024, m, day).unwrap();
        assert_eq!(s.kind(d(12, 25)), Some(SpecialKind::Closed));
        assert_eq!(s.kind(d(12, 24)), Some(SpecialKind::Holiday));
        assert_eq!(s.kind(d(12, 23)), None);
        assert!(SpecialDays::from_csv("date,kind\n2024-12-25,party\n".as_bytes()).is_err());
    }

    #[test]
    fn a_quiet_weekday_is_detected_as_abnormal() {
        let first = NaiveDate::from_ymd_opt(2024, 1, 1).unwrap();
        let mut days: Vec<Option<Vec<f64>>> = (0..35).map(|_| Some(vec![10.0, 10.0])).collect();
        days[28] = Some(vec![1.0, 0.0]);
        let h = History::from_days(first, 720, days);
        let abnormal = abnormal_days(&h, &SpecialDays::default());
        assert!(abnormal[28]);
        assert_eq!(abnormal.iter().filter(|a| **a).count(), 1);
    }
}

//! Handling-time forecasting: a seasonal AHT profile per weekday and interval, weighted by
//! contacts.
//!
//! The AHT of an interval is Σ handling seconds / Σ contacts over the same weekday and
//! interval of the last eight normal weeks, with the neighbouring intervals at half weight
//! (handling time drifts slowly through the day), shrunk towards the weekday's daily AHT
//! by a prior of [`PRIOR_CONTACTS`] contacts. A night interval with three calls then barely
//! moves away from the day's AHT, while a busy interval keeps its own. A weekday without
//! handled contacts falls back to the AHT of every normal day of those weeks.

use super::history::{HandleSample, History};
use super::special_days::{SpecialDays, abnormal_days};

/// Weeks in the AHT profile.
const AHT_WEEKS: usize = 8;
/// Contacts' worth of weight given to the daily AHT in every interval.
pub const PRIOR_CONTACTS: f64 = 20.0;

/// AHT in seconds per interval of the `horizon` days after the history, or `None` when the
/// history carries no handled contacts to learn from.
#[must_use]
pub fn forecast_aht(
    history: &History,
    special: &SpecialDays,
    horizon: usize,
) -> Option<Vec<Vec<f64>>> {
    if !history.has_aht() {
        return None;
    }
    let origin = history.len_days();
    let slots = history.slots_per_day();
    let abnormal = abnormal_days(history, special);
    let normal = |d: usize| !abnormal[d] && history.handled(d).is_some();
    let recent: Vec<usize> = (origin.saturating_sub(7 * AHT_WEEKS)..origin)
        .filter(|&d| normal(d))
        .collect();
    let overall = mean_aht(recent.iter().filter_map(|&d| history.handled(d)))?;
    Some(
        (origin..origin + horizon)
            .map(|target| {
                let weeks: Vec<&[HandleSample]> = (1..=AHT_WEEKS)
                    .filter_map(|w| target.checked_sub(7 * w))
                    .filter(|&d| d < origin && normal(d))
                    .filter_map(|d| history.handled(d))
                    .collect();
                let day_aht = mean_aht(weeks.iter().copied()).unwrap_or(overall);
                let mut contacts = vec![0.0; slots];
                let mut handle = vec![0.0; slots];
                for day in &weeks {
                    for (s, sample) in day.iter().enumerate() {
                        contacts[s] += sample.contacts;
                        handle[s] += sample.handle_sec;
                    }
                }
                (0..slots)
                    .map(|s| {
                        let (mut c, mut h) = (contacts[s], handle[s]);
                        for n in [s.checked_sub(1), (s + 1 < slots).then_some(s + 1)]
                            .into_iter()
                            .flatten()
                        {
                            c += 0.5 * contacts[n];
                            h += 0.5 * handle[n];
                        }
                        (h + PRIOR_CONTACTS * day_aht) / (c + PRIOR_CONTACTS)
                    })
                    .collect()
            })
            .collect(),
    )
}

/// Contact-weighted AHT of some days, `None` without handled contacts.
fn mean_aht<'a>(days: impl Iterator<Item = &'a [HandleSample]>) -> Option<f64> {
    let (mut contacts, mut handle) = (0.0, 0.0);
    for sample in days.flatten() {
        contacts += sample.contacts;
        handle += sample.handle_sec;
    }
    (contacts > 0.0).then(|| handle / contacts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::volume::history::HistoryRow;
    use chrono::{Duration, NaiveDate};

    /// Four weeks of two 12-hour intervals: mornings 100 contacts at 200 s, evenings 100 at
    /// 400 s, except Mondays' evenings: 2 contacts at 1000 s.
    fn history() -> History {
        let first = NaiveDate::from_ymd_opt(2024, 1, 1).unwrap(); // a Monday
        let mut rows = Vec::new();
        for d in 0..28 {
            let midnight = (first + Duration::days(d)).and_hms_opt(0, 0, 0).unwrap();
            let monday = d % 7 == 0;
            rows.push(HistoryRow {
                start: midnight,
                contacts: 100.0,
                aht_sec: Some(200.0),
            });
            rows.push(HistoryRow {
                start: midnight + Duration::hours(12),
                contacts: if monday { 2.0 } else { 100.0 },
                aht_sec: Some(if monday { 1000.0 } else { 400.0 }),
            });
        }
        History::from_rows(rows, true).unwrap()
    }

    #[test]
    fn busy_intervals_keep_their_own_contact_weighted_aht() {
        let aht = forecast_aht(&history(), &SpecialDays::default(), 7).unwrap();
        // Tuesday: morning 100 × 200 s + half the evening's 100 × 400 s, then the prior.
        let tuesday_day = (200.0 + 400.0) / 2.0;
        let c = 4.0 * (100.0 + 50.0);
        let h = 4.0 * (100.0 * 200.0 + 50.0 * 400.0);
        let expected = (h + PRIOR_CONTACTS * tuesday_day) / (c + PRIOR_CONTACTS);
        assert!((aht[1][0] - expected).abs() < 1e-9, "{}", aht[1][0]);
    }

    #[test]
    fn a_few_slow_contacts_are_shrunk_towards_the_day() {
        let aht = forecast_aht(&history(), &SpecialDays::default(), 7).unwrap();
        let monday_evening = aht[0][1];
        // Raw evening AHT would be 1000 s on 2 contacts; the day's mean is ≈ 216 s.
        assert!(
            monday_evening < 400.0 && monday_evening > 200.0,
            "{monday_evening}"
        );
    }

    #[test]
    fn a_history_without_handling_times_forecasts_none() {
        let h = History::from_days(
            NaiveDate::from_ymd_opt(2024, 1, 1).unwrap(),
            720,
            vec![Some(vec![1.0, 2.0]); 14],
        );
        assert!(forecast_aht(&h, &SpecialDays::default(), 7).is_none());
    }
}

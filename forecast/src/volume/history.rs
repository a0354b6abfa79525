//! Contact history per interval, read from and written to `interval_start,contacts` CSV.
//!
//! An optional `aht_sec` column carries the average handling time of the interval's
//! contacts ((talk + hold + after-call work) / handled, ARCHITECTURE §7); an empty cell means
//! unknown. The history keeps contacts × AHT so that AHT profiles weigh intervals by their
//! contacts.
//!
//! Times are ISO 8601 local clock times (`1999-01-01T08:30:00` or `1999-01-01 08:30:00`).
//! The interval length is the smallest gap between consecutive starts and must divide a day.
//! A day with at least one row is *present*: its intervals without a row had no contacts
//! (closed hours are often not exported). A day without any row is *missing*: the models
//! skip it rather than read it as zero.

use std::collections::BTreeMap;
use std::io::{Read, Write};

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, Weekday};

/// Why a history could not be read or a forecast not written.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    /// The CSV could not be read or written.
    #[error("CSV: {0}")]
    Csv(#[from] csv::Error),
    /// Neither a `contacts` nor a `calls` column.
    #[error("the header needs `interval_start` and `contacts` columns, found {0:?}")]
    Header(Vec<String>),
    /// A time that is not ISO 8601.
    #[error("line {line}: `{value}` is not an ISO 8601 local time")]
    Time {
        /// 1-based line.
        line: u64,
        /// The text.
        value: String,
    },
    /// A handling time that is not a positive number of seconds.
    #[error("line {line}: `{value}` is not a positive number of seconds in `aht_sec`")]
    Aht {
        /// 1-based line.
        line: u64,
        /// The text.
        value: String,
    },
    /// A count that is not a non-negative number.
    #[error("line {line}: `{value}` is not a non-negative number of contacts")]
    Count {
        /// 1-based line.
        line: u64,
        /// The text.
        value: String,
    },
    /// No data rows.
    #[error("the history has no rows")]
    Empty,
    /// Starts that do not sit on one grid dividing the day.
    #[error("interval starts do not share a length that divides a day (smallest gap {0} min)")]
    Grid(i64),
    /// The same interval twice.
    #[error("interval {0} appears twice")]
    Duplicate(NaiveDateTime),
}

/// Handling time observed in one interval.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct HandleSample {
    /// Contacts whose handling time is known.
    pub contacts: f64,
    /// Their handling time in seconds, summed.
    pub handle_sec: f64,
}

/// One interval of history as given by a client: its start, contacts and optional AHT.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HistoryRow {
    /// Interval start, local time.
    pub start: NaiveDateTime,
    /// Contacts offered (finite, ≥ 0).
    pub contacts: f64,
    /// Average handling time of the interval's contacts in seconds (finite, > 0), if known.
    pub aht_sec: Option<f64>,
}

/// Contacts (and optionally handling time) per interval for consecutive calendar days.
#[derive(Debug, Clone, PartialEq)]
pub struct History {
    first_day: NaiveDate,
    interval_min: u32,
    slots_per_day: usize,
    days: Vec<Option<Vec<f64>>>,
    handled: Option<Vec<Option<Vec<HandleSample>>>>,
}

/// Parses an ISO 8601 local time (`T` or space, seconds optional).
#[must_use]
pub fn parse_time(text: &str) -> Option<NaiveDateTime> {
    let t = text.trim();
    [
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M",
    ]
    .iter()
    .find_map(|f| NaiveDateTime::parse_from_str(t, f).ok())
}

fn gcd(a: i64, b: i64) -> i64 {
    if b == 0 { a } else { gcd(b, a % b) }
}

impl History {
    /// Builds a history from whole days of counts.
    ///
    /// # Panics
    ///
    /// When a present day does not have `1440 / interval_min` values.
    #[must_use]
    pub fn from_days(first_day: NaiveDate, interval_min: u32, days: Vec<Option<Vec<f64>>>) -> Self {
        let slots_per_day = (1440 / interval_min) as usize;
        assert!(
            days.iter().flatten().all(|d| d.len() == slots_per_day),
            "every present day needs {slots_per_day} intervals"
        );
        Self {
            first_day,
            interval_min,
            slots_per_day,
            days,
            handled: None,
        }
    }

    /// Reads `interval_start,contacts[,aht_sec]` CSV (a `calls` column is accepted for
    /// `contacts`; other columns are ignored).
    ///
    /// # Errors
    ///
    /// [`HistoryError`] for a bad header, time, count, AHT, grid or duplicate interval.
    pub fn from_csv<R: Read>(reader: R) -> Result<Self, HistoryError> {
        let mut csv = csv::Reader::from_reader(reader);
        let header: Vec<String> = csv.headers()?.iter().map(str::to_owned).collect();
        let find = |name: &str| header.iter().position(|h| h.trim() == name);
        let (Some(time_col), Some(count_col)) = (
            find("interval_start"),
            find("contacts").or_else(|| find("calls")),
        ) else {
            return Err(HistoryError::Header(header));
        };
        let aht_col = find("aht_sec");
        let mut rows = Vec::new();
        for record in csv.records() {
            let record = record?;
            let line = record.position().map_or(0, csv::Position::line);
            let time_text = record.get(time_col).unwrap_or_default();
            let start = parse_time(time_text).ok_or_else(|| HistoryError::Time {
                line,
                value: time_text.to_owned(),
            })?;
            let count_text = record.get(count_col).unwrap_or_default().trim();
            let contacts = count_text
                .parse::<f64>()
                .ok()
                .filter(|c| c.is_finite() && *c >= 0.0)
                .ok_or_else(|| HistoryError::Count {
                    line,
                    value: count_text.to_owned(),
                })?;
            let aht_text = aht_col
                .and_then(|c| record.get(c))
                .unwrap_or_default()
                .trim();
            let aht_sec = if aht_text.is_empty() {
                None
            } else {
                Some(
                    aht_text
                        .parse::<f64>()
                        .ok()
                        .filter(|a| a.is_finite() && *a > 0.0)
                        .ok_or_else(|| HistoryError::Aht {
                            line,
                            value: aht_text.to_owned(),
                        })?,
                )
            };
            rows.push(HistoryRow {
                start,
                contacts,
                aht_sec,
            });
        }
        Self::from_rows(rows, aht_col.is_some())
    }

    /// Builds a history from checked rows in any order. With `with_aht`, the history
    /// carries handling times (rows without one add contacts but no handling time).
    ///
    /// # Errors
    ///
    /// [`HistoryError::Empty`], [`HistoryError::Grid`] or [`HistoryError::Duplicate`].
    pub fn from_rows(
        rows: impl IntoIterator<Item = HistoryRow>,
        with_aht: bool,
    ) -> Result<Self, HistoryError> {
        let mut by_start: BTreeMap<NaiveDateTime, HistoryRow> = BTreeMap::new();
        for row in rows {
            if by_start.insert(row.start, row).is_some() {
                return Err(HistoryError::Duplicate(row.start));
            }
        }
        let first = *by_start.keys().next().ok_or(HistoryError::Empty)?;
        let mut step = 0i64;
        let mut smallest = i64::MAX;
        for (a, b) in by_start.keys().zip(by_start.keys().skip(1)) {
            let gap = (*b - *a).num_minutes();
            smallest = smallest.min(gap);
            step = gcd(step, gap);
        }
        // A single row, or rows a whole day apart, say nothing finer: take the offset in the day.
        let midnight_offset = i64::from(first.time().num_seconds_from_midnight_minutes());
        step = gcd(step, midnight_offset);
        if step == 0 {
            step = 1440;
        }
        step = gcd(step, 1440);
        if step <= 0
            || by_start
                .keys()
                .any(|t| (*t - first).num_seconds() % 60 != 0)
        {
            return Err(HistoryError::Grid(smallest));
        }
        let interval_min = step as u32;
        let slots_per_day = (1440 / interval_min) as usize;
        let first_day = first.date();
        let last_day = by_start
            .keys()
            .next_back()
            .map_or(first_day, NaiveDateTime::date);
        let n_days = (last_day - first_day).num_days() as usize + 1;
        let mut days: Vec<Option<Vec<f64>>> = vec![None; n_days];
        let mut handled: Vec<Option<Vec<HandleSample>>> = vec![None; n_days];
        for (time, row) in by_start {
            let day = (time.date() - first_day).num_days() as usize;
            let minutes = i64::from(time.time().num_seconds_from_midnight_minutes());
            let slot = (minutes / step) as usize;
            days[day].get_or_insert_with(|| vec![0.0; slots_per_day])[slot] = row.contacts;
            let sample = &mut handled[day]
                .get_or_insert_with(|| vec![HandleSample::default(); slots_per_day])[slot];
            if let Some(aht) = row.aht_sec {
                *sample = HandleSample {
                    contacts: row.contacts,
                    handle_sec: row.contacts * aht,
                };
            }
        }
        Ok(Self {
            first_day,
            interval_min,
            slots_per_day,
            days,
            handled: with_aht.then_some(handled),
        })
    }

    /// The first calendar day.
    #[must_use]
    pub fn first_day(&self) -> NaiveDate {
        self.first_day
    }

    /// Interval length in minutes.
    #[must_use]
    pub fn interval_min(&self) -> u32 {
        self.interval_min
    }

    /// Intervals per day.
    #[must_use]
    pub fn slots_per_day(&self) -> usize {
        self.slots_per_day
    }

    /// Number of calendar days from the first to the last present day.
    #[must_use]
    pub fn len_days(&self) -> usize {
        self.days.len()
    }

    /// Counts of day `index` (0 = first day), `None` when the day is missing.
    #[must_use]
    pub fn day(&self, index: usize) -> Option<&[f64]> {
        self.days.get(index).and_then(|d| d.as_deref())
    }

    /// Whether the history carries handling times.
    #[must_use]
    pub fn has_aht(&self) -> bool {
        self.handled.is_some()
    }

    /// Handling times of day `index`, `None` when the day is missing or the history has none.
    #[must_use]
    pub fn handled(&self, index: usize) -> Option<&[HandleSample]> {
        self.handled
            .as_ref()
            .and_then(|h| h.get(index))
            .and_then(|d| d.as_deref())
    }

    /// The calendar date of day `index`.
    #[must_use]
    pub fn date(&self, index: usize) -> NaiveDate {
        self.first_day + Duration::days(index as i64)
    }

    /// Weekday of day `index`.
    #[must_use]
    pub fn weekday(&self, index: usize) -> Weekday {
        self.date(index).weekday()
    }

    /// The first `days` days only: the history as it was known at that origin.
    #[must_use]
    pub fn truncated(&self, days: usize) -> Self {
        let keep = days.min(self.days.len());
        Self {
            first_day: self.first_day,
            interval_min: self.interval_min,
            slots_per_day: self.slots_per_day,
            days: self.days[..keep].to_vec(),
            handled: self.handled.as_ref().map(|h| h[..keep].to_vec()),
        }
    }
}

trait MinutesOfDay {
    fn num_seconds_from_midnight_minutes(&self) -> u32;
}

impl MinutesOfDay for chrono::NaiveTime {
    fn num_seconds_from_midnight_minutes(&self) -> u32 {
        chrono::Timelike::num_seconds_from_midnight(self) / 60
    }
}

/// A forecast: contacts per interval for consecutive days.
#[derive(Debug, Clone, PartialEq)]
pub struct Forecast {
    /// First forecast day.
    pub first_day: NaiveDate,
    /// Interval length in minutes.
    pub interval_min: u32,
    /// Contacts per interval, one vector per day.
    pub days: Vec<Vec<f64>>,
    /// Average handling time per interval in seconds, one vector per day, when the history
    /// carried handling times.
    pub aht_sec: Option<Vec<Vec<f64>>>,
}

impl Forecast {
    /// Start of interval `slot` of forecast day `day`.
    #[must_use]
    pub fn interval_start(&self, day: usize, slot: usize) -> NaiveDateTime {
        let midnight = (self.first_day + Duration::days(day as i64))
            .and_hms_opt(0, 0, 0)
            .expect("midnight exists");
        midnight + Duration::minutes(i64::from(self.interval_min) * slot as i64)
    }

    /// Writes `interval_start,contacts` CSV with ISO 8601 local times, one row per interval,
    /// plus `aht_sec` when the forecast has handling times.
    ///
    /// # Errors
    ///
    /// [`HistoryError::Csv`] when the writer fails.
    pub fn write_csv<W: Write>(&self, writer: W) -> Result<(), HistoryError> {
        let mut csv = csv::Writer::from_writer(writer);
        if self.aht_sec.is_some() {
            csv.write_record(["interval_start", "contacts", "aht_sec"])?;
        } else {
            csv.write_record(["interval_start", "contacts"])?;
        }
        for (d, day) in self.days.iter().enumerate() {
            for (s, value) in day.iter().enumerate() {
                let mut record = vec![
                    self.interval_start(d, s)
                        .format("%Y-%m-%dT%H:%M:%S")
                        .to_string(),
                    format!("{:.3}", value.max(0.0)),
                ];
                if let Some(aht) = &self.aht_sec {
                    record.push(format!("{:.1}", aht[d][s]));
                }
                csv.write_record(record)?;
            }
        }
        csv.flush().map_err(csv::Error::from)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interval_length_is_inferred_and_gaps_are_closed_hours() {
        let csv = "interval_start,contacts\n\
                   2024-01-01T08:00:00,3\n\
                   2024-01-01T08:30:00,5\n\
                   2024-01-01T10:00:00,2\n\
                   2024-01-03 09:00:00,7\n";
        let h = History::from_csv(csv.as_bytes()).unwrap();
        assert_eq!(h.interval_min(), 30);
        assert_eq!(h.slots_per_day(), 48);
        assert_eq!(h.len_days(), 3);
        let monday = h.day(0).unwrap();
        assert_eq!(
            (monday[16], monday[17], monday[18], monday[20]),
            (3.0, 5.0, 0.0, 2.0)
        );
        assert!(
            h.day(1).is_none(),
            "a day without rows is missing, not zero"
        );
        assert_eq!(h.day(2).unwrap()[18], 7.0);
    }

    #[test]
    fn calls_column_is_accepted_and_extra_columns_ignored() {
        let csv = "interval_start,weekday,calls\n2024-01-01 00:00:00,Monday,2.0\n2024-01-01 00:15:00,Monday,1.0\n";
        let h = History::from_csv(csv.as_bytes()).unwrap();
        assert_eq!(h.interval_min(), 15);
        assert_eq!(h.day(0).unwrap()[1], 1.0);
    }

    #[test]
    fn aht_column_is_kept_as_contact_weighted_handling_time() {
        let csv = "interval_start,contacts,aht_sec\n\
                   2024-01-01T08:00:00,4,150\n\
                   2024-01-01T08:30:00,2,\n\
                   2024-01-01T09:00:00,0,0.5\n";
        let h = History::from_csv(csv.as_bytes()).unwrap();
        assert!(h.has_aht());
        let day = h.handled(0).unwrap();
        assert_eq!(day[16].contacts, 4.0);
        assert_eq!(day[16].handle_sec, 600.0);
        assert_eq!(day[17], HandleSample::default(), "an empty cell is unknown");
        assert_eq!(h.day(0).unwrap()[17], 2.0, "its contacts still count");
        let bad = "interval_start,contacts,aht_sec\n2024-01-01T08:00:00,4,-3\n";
        assert!(matches!(
            History::from_csv(bad.as_bytes()),
            Err(HistoryError::Aht { line: 2, .. })
        ));
        let plain =
            History::from_csv("interval_start,contacts\n2024-01-01T08:00:00,4\n".as_bytes());
        assert!(!plain.unwrap().has_aht());
    }

    #[test]
    fn bad_rows_are_refused_with_their_line() {
        let csv = "interval_start,contacts\n2024-01-01T08:00:00,-1\n";
        assert!(matches!(
            History::from_csv(csv.as_bytes()),
            Err(HistoryError::Count { line: 2, .. })
        ));
        let csv = "interval_start,contacts\nyesterday,1\n";
        assert!(matches!(
            History::from_csv(csv.as_bytes()),
            Err(HistoryError::Time { .. })
        ));
        assert!(matches!(
            History::from_csv("time,contacts\n".as_bytes()),
            Err(HistoryError::Header(_))
        ));
    }

    #[test]
    fn forecast_csv_lists_every_interval_with_iso_times() {
        let f = Forecast {
            first_day: NaiveDate::from_ymd_opt(2024, 1, 2).unwrap(),
            interval_min: 720,
            days: vec![vec![1.0, 2.5]],
            aht_sec: None,
        };
        let mut out = Vec::new();
        f.write_csv(&mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "interval_start,contacts\n2024-01-02T00:00:00,1.000\n2024-01-02T12:00:00,2.500\n"
        );
    }
}

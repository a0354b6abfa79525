//! Staffing plans: a forecast per interval and queue, turned into required agents by the
//! queue's Erlang model, raised by shrinkage to the agents to schedule, summed across
//! queues, and explained in plain words per interval ("why N agents").

use chrono::{Duration, NaiveDateTime};
use serde::Serialize;

use crate::erlang::{
    BindingTarget, ErlangError, HandleTime, Model, ParamError, Queue, QueueMetrics, Shrinkage,
    Targets, Traffic,
};
use crate::volume::Forecast;

/// Shrinkage by category.
///
/// Breaks, training and meetings are shares of the paid hours of the agents who come to
/// work: they are disjoint slices of the same hours, so they add. Absence is a share of the
/// scheduled agents who do not come at all, so it multiplies what is left:
/// available = (1 − absence) × (1 − breaks − training − meetings), and the total shrinkage
/// is 1 − available. With 10 % breaks, 5 % training, 5 % meetings and 10 % absence that is
/// 1 − 0.9 × 0.8 = 28 %, not the 30 % of a plain sum nor the 26.9 % of a product of all four.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ShrinkageByCategory {
    /// Paid breaks and lunch, share of worked hours.
    pub breaks: Option<Shrinkage>,
    /// Training and coaching, share of worked hours.
    pub training: Option<Shrinkage>,
    /// Meetings, share of worked hours.
    pub meetings: Option<Shrinkage>,
    /// Absence (sickness, vacation not yet in the schedule), share of scheduled agents.
    pub absence: Option<Shrinkage>,
}

impl ShrinkageByCategory {
    /// The combined shrinkage.
    ///
    /// # Errors
    ///
    /// [`ParamError::OutOfRange`] when breaks, training and meetings together take all of
    /// the worked hours.
    pub fn total(&self) -> Result<Shrinkage, ParamError> {
        let in_office: f64 = [self.breaks, self.training, self.meetings]
            .into_iter()
            .flatten()
            .map(Shrinkage::get)
            .sum();
        let in_office = Shrinkage::new(in_office).map_err(|_| ParamError::OutOfRange {
            name: "breaks + training + meetings",
            value: in_office,
            expected: "below 1",
        })?;
        Shrinkage::combine([in_office, self.absence.unwrap_or(Shrinkage::NONE)])
    }

    fn describe(&self) -> String {
        let parts: Vec<String> = [
            ("breaks", self.breaks),
            ("training", self.training),
            ("meetings", self.meetings),
            ("absence", self.absence),
        ]
        .iter()
        .filter_map(|(name, s)| s.map(|s| format!("{name} {}", percent(s.get()))))
        .collect();
        parts.join(", ")
    }
}

/// One queue to plan.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueDemand {
    /// Queue name.
    pub name: String,
    /// Contacts per interval, and AHT per interval when the history carried handling times.
    pub forecast: Forecast,
    /// Average handling time of intervals the forecast has no AHT for.
    pub aht: HandleTime,
    /// Queueing model.
    pub model: Model,
    /// What the staffing must achieve.
    pub targets: Targets,
}

/// Why a plan could not be made.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// Queues on different interval grids or days.
    #[error("queue `{0}` is not on the same days and intervals as the first queue")]
    Grid(String),
    /// A bad input value.
    #[error(transparent)]
    Param(#[from] ParamError),
    /// An interval whose targets cannot be met.
    #[error("queue `{queue}` at {start}: {source}")]
    Staffing {
        /// Queue.
        queue: String,
        /// Interval start.
        start: NaiveDateTime,
        /// Cause.
        source: ErlangError,
    },
}

/// The plan of one queue in one interval.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IntervalPlan {
    /// Interval start (local time).
    pub start: NaiveDateTime,
    /// Forecast contacts.
    pub contacts: f64,
    /// Average handling time used, seconds (the forecast's, or the queue's default).
    pub aht_sec: f64,
    /// Agents needed on the phones.
    pub agents: u32,
    /// Agents to schedule after shrinkage.
    pub scheduled: u32,
    /// Metrics with `agents`.
    pub metrics: QueueMetrics,
    /// The target that set the count.
    pub binding: BindingTarget,
    /// The explanation for the planner.
    pub why: String,
}

/// The plan of one queue.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QueuePlan {
    /// Queue name.
    pub name: String,
    /// Contacts over the horizon.
    pub contacts: f64,
    /// Agent-hours on the phones over the horizon.
    pub agent_hours: f64,
    /// Agent-hours to schedule over the horizon.
    pub scheduled_hours: f64,
    /// One entry per interval.
    pub intervals: Vec<IntervalPlan>,
}

/// Totals of one interval across queues (separate agent pools per queue).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IntervalTotal {
    /// Interval start.
    pub start: NaiveDateTime,
    /// Contacts across queues.
    pub contacts: f64,
    /// Agents across queues.
    pub agents: u32,
    /// Scheduled agents across queues.
    pub scheduled: u32,
    /// Offered traffic across queues in Erlangs.
    pub traffic_erlangs: f64,
}

/// A staffing plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StaffingPlan {
    /// Per queue.
    pub queues: Vec<QueuePlan>,
    /// Per interval across queues.
    pub totals: Vec<IntervalTotal>,
    /// Combined shrinkage applied.
    pub shrinkage: f64,
    /// Contacts across queues over the horizon.
    pub contacts: f64,
    /// Agent-hours on the phones across queues.
    pub agent_hours: f64,
    /// Agent-hours to schedule across queues.
    pub scheduled_hours: f64,
}

fn percent(x: f64) -> String {
    format!("{:.1} %", x * 100.0)
}

fn explain(
    queue: &Queue,
    targets: &Targets,
    contacts: f64,
    interval_min: u32,
    staffing: &QueueMetrics,
    binding: BindingTarget,
    shrinkage: (Shrinkage, &ShrinkageByCategory),
) -> String {
    let n = staffing.agents;
    let mut why = format!(
        "{contacts:.1} contacts in {interval_min} min at {:.0} s AHT = {:.2} Erlangs ({}). ",
        queue.aht.secs(),
        staffing.traffic_erlangs,
        queue.model.name()
    );
    if n == 0 {
        why.push_str("No contacts: no agents needed.");
        return why;
    }
    let target = match binding {
        BindingTarget::ServiceLevel => targets.service_level.map(|t| {
            format!(
                "the service level target of {} answered within {:.0} s",
                percent(t.share().get()),
                t.within().secs()
            )
        }),
        BindingTarget::MaxAsa => targets
            .max_asa
            .map(|t| format!("the maximum ASA of {:.0} s", t.secs())),
        BindingTarget::MaxAbandon => targets
            .max_abandon
            .map(|t| format!("the maximum abandon rate of {}", percent(t.get()))),
        BindingTarget::MaxOccupancy => targets
            .max_occupancy
            .map(|t| format!("the maximum occupancy of {}", percent(t.get()))),
        BindingTarget::None => None,
    }
    .unwrap_or_else(|| "the targets".into());
    why.push_str(&format!("{n} agents meet {target}: "));
    why.push_str(&summary(staffing));
    let answer = targets.service_level.map(|t| t.within());
    match queue.metrics(n - 1, answer) {
        Ok(fewer) => why.push_str(&format!("; {} would give {}", n - 1, summary(&fewer))),
        Err(ErlangError::Unstable { .. }) => why.push_str(&format!(
            "; {} would not keep up: the queue would grow without bound",
            n - 1
        )),
        Err(_) => {}
    }
    let (total, categories) = shrinkage;
    if total.get() > 0.0 {
        why.push_str(&format!(
            ". Scheduled {} to cover {} shrinkage ({})",
            total.scheduled(n),
            percent(total.get()),
            categories.describe()
        ));
    }
    why.push('.');
    why
}

fn summary(m: &QueueMetrics) -> String {
    let mut parts = Vec::new();
    if let Some(sl) = m.service_level {
        parts.push(format!("service level {}", percent(sl)));
    }
    if let Some(asa) = m.asa_sec {
        parts.push(format!("ASA {asa:.1} s"));
    }
    if let Some(ab) = m.abandon_prob {
        parts.push(format!("abandon {}", percent(ab)));
    }
    parts.push(format!("occupancy {}", percent(m.occupancy)));
    parts.join(", ")
}

/// Plans every queue and interval.
///
/// # Errors
///
/// [`PlanError`] for queues on different grids, bad shrinkage, or targets that cannot be met.
pub fn plan(
    queues: &[QueueDemand],
    shrinkage: &ShrinkageByCategory,
) -> Result<StaffingPlan, PlanError> {
    let total_shrinkage = shrinkage.total()?;
    let mut plans = Vec::with_capacity(queues.len());
    let mut totals: Vec<IntervalTotal> = Vec::new();
    for (qi, demand) in queues.iter().enumerate() {
        let f = &demand.forecast;
        if let Some(first) = queues.first() {
            let same = first.forecast.first_day == f.first_day
                && first.forecast.interval_min == f.interval_min
                && first.forecast.days.len() == f.days.len()
                && first
                    .forecast
                    .days
                    .iter()
                    .zip(&f.days)
                    .all(|(a, b)| a.len() == b.len());
            if !same {
                return Err(PlanError::Grid(demand.name.clone()));
            }
        }
        let interval_secs = f64::from(f.interval_min) * 60.0;
        let mut intervals = Vec::new();
        let midnight = f.first_day.and_hms_opt(0, 0, 0).unwrap_or_default();
        let ahts: Vec<Option<f64>> = match &f.aht_sec {
            Some(days) => days.iter().flatten().map(|a| Some(*a)).collect(),
            None => Vec::new(),
        };
        for (slot_index, &contacts) in f.days.iter().flatten().enumerate() {
            let start = midnight + Duration::minutes(i64::from(f.interval_min) * slot_index as i64);
            let aht = match ahts.get(slot_index).copied().flatten() {
                Some(secs) => HandleTime::from_secs(secs)?,
                None => demand.aht,
            };
            let queue = Queue {
                traffic: Traffic::from_volume(contacts.max(0.0), interval_secs, aht)?,
                aht,
                model: demand.model,
            };
            let staffing = queue
                .staff(&demand.targets)
                .map_err(|source| PlanError::Staffing {
                    queue: demand.name.clone(),
                    start,
                    source,
                })?;
            let agents = staffing.agents();
            let scheduled = total_shrinkage.scheduled(agents);
            let why = explain(
                &queue,
                &demand.targets,
                contacts,
                f.interval_min,
                &staffing.metrics,
                staffing.binding,
                (total_shrinkage, shrinkage),
            );
            if qi == 0 {
                totals.push(IntervalTotal {
                    start,
                    contacts: 0.0,
                    agents: 0,
                    scheduled: 0,
                    traffic_erlangs: 0.0,
                });
            }
            let total = &mut totals[slot_index];
            total.contacts += contacts;
            total.agents += agents;
            total.scheduled += scheduled;
            total.traffic_erlangs += queue.traffic.erlangs();
            intervals.push(IntervalPlan {
                start,
                contacts,
                aht_sec: aht.secs(),
                agents,
                scheduled,
                metrics: staffing.metrics,
                binding: staffing.binding,
                why,
            });
        }
        let hours = f64::from(f.interval_min) / 60.0;
        plans.push(QueuePlan {
            name: demand.name.clone(),
            contacts: intervals.iter().map(|i| i.contacts).sum(),
            agent_hours: intervals.iter().map(|i| f64::from(i.agents) * hours).sum(),
            scheduled_hours: intervals
                .iter()
                .map(|i| f64::from(i.scheduled) * hours)
                .sum(),
            intervals,
        });
    }
    Ok(StaffingPlan {
        contacts: plans.iter().map(|p| p.contacts).sum(),
        agent_hours: plans.iter().map(|p| p.agent_hours).sum(),
        scheduled_hours: plans.iter().map(|p| p.scheduled_hours).sum(),
        queues: plans,
        totals,
        shrinkage: total_shrinkage.get(),
    })
}

impl StaffingPlan {
    /// Writes one CSV row per queue and interval, then one `total` row per interval:
    /// `queue,interval_start,contacts,aht_sec,traffic_erlangs,agents,scheduled,service_level,
    /// asa_sec,occupancy,abandon_prob,binding,why`.
    ///
    /// # Errors
    ///
    /// [`csv::Error`] when the writer fails.
    pub fn write_csv<W: std::io::Write>(&self, writer: W) -> Result<(), csv::Error> {
        let mut csv = csv::Writer::from_writer(writer);
        csv.write_record([
            "queue",
            "interval_start",
            "contacts",
            "aht_sec",
            "traffic_erlangs",
            "agents",
            "scheduled",
            "service_level",
            "asa_sec",
            "occupancy",
            "abandon_prob",
            "binding",
            "why",
        ])?;
        let opt = |v: Option<f64>| v.map(|v| format!("{v:.4}")).unwrap_or_default();
        let time = |t: &NaiveDateTime| t.format("%Y-%m-%dT%H:%M:%S").to_string();
        for queue in &self.queues {
            for i in &queue.intervals {
                let binding = serde_json::to_value(i.binding)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default();
                csv.write_record([
                    queue.name.clone(),
                    time(&i.start),
                    format!("{:.3}", i.contacts),
                    format!("{:.1}", i.aht_sec),
                    format!("{:.4}", i.metrics.traffic_erlangs),
                    i.agents.to_string(),
                    i.scheduled.to_string(),
                    opt(i.metrics.service_level),
                    opt(i.metrics.asa_sec),
                    format!("{:.4}", i.metrics.occupancy),
                    opt(i.metrics.abandon_prob),
                    binding,
                    i.why.clone(),
                ])?;
            }
        }
        for t in &self.totals {
            csv.write_record([
                "total".to_owned(),
                time(&t.start),
                format!("{:.3}", t.contacts),
                String::new(),
                format!("{:.4}", t.traffic_erlangs),
                t.agents.to_string(),
                t.scheduled.to_string(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
            ])?;
        }
        csv.flush()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn demand(name: &str, contacts: Vec<f64>) -> QueueDemand {
        QueueDemand {
            name: name.into(),
            forecast: Forecast {
                first_day: NaiveDate::from_ymd_opt(2024, 3, 4).unwrap(),
                interval_min: 30,
                days: vec![contacts],
                aht_sec: None,
            },
            aht: HandleTime::from_secs(180.0).unwrap(),
            model: Model::ErlangC,
            targets: Targets {
                service_level: Some("80/20".parse().unwrap()),
                ..Targets::default()
            },
        }
    }

    fn shrinkage() -> ShrinkageByCategory {
        ShrinkageByCategory {
            breaks: Some(Shrinkage::new(0.125).unwrap()),
            absence: Some(Shrinkage::new(0.2).unwrap()),
            ..ShrinkageByCategory::default()
        }
    }

    #[test]
    fn classic_interval_is_planned_and_explained() {
        let mut contacts = vec![0.0; 48];
        contacts[20] = 100.0;
        let plan = plan(&[demand("sales", contacts)], &shrinkage()).unwrap();
        let busy = &plan.queues[0].intervals[20];
        assert_eq!(busy.agents, 14);
        // 1 − 0.875 × 0.8 = 30 % shrinkage: 14 / 0.7 = 20.
        assert!((plan.shrinkage - 0.3).abs() < 1e-12);
        assert_eq!(busy.scheduled, 20);
        assert_eq!(busy.binding, BindingTarget::ServiceLevel);
        assert!(busy.why.contains("10.00 Erlangs"), "{}", busy.why);
        assert!(
            busy.why
                .contains("14 agents meet the service level target of 80.0 %"),
            "{}",
            busy.why
        );
        assert!(
            busy.why.contains("13 would give service level 79.6 %"),
            "{}",
            busy.why
        );
        assert!(
            busy.why
                .contains("Scheduled 20 to cover 30.0 % shrinkage (breaks 12.5 %, absence 20.0 %)"),
            "{}",
            busy.why
        );
        assert_eq!(plan.queues[0].intervals[0].agents, 0);
        assert!(plan.queues[0].intervals[0].why.contains("no agents needed"));
    }

    #[test]
    fn totals_add_queues_interval_by_interval() {
        let plan = plan(
            &[demand("a", vec![100.0; 48]), demand("b", vec![50.0; 48])],
            &ShrinkageByCategory::default(),
        )
        .unwrap();
        let a = plan.queues[0].intervals[5].agents;
        let b = plan.queues[1].intervals[5].agents;
        assert_eq!(plan.totals[5].agents, a + b);
        assert_eq!(plan.totals[5].contacts, 150.0);
        assert_eq!(plan.totals.len(), 48);
    }

    #[test]
    fn in_office_categories_add_and_absence_multiplies() {
        let categories = ShrinkageByCategory {
            breaks: Some(Shrinkage::new(0.10).unwrap()),
            training: Some(Shrinkage::new(0.05).unwrap()),
            meetings: Some(Shrinkage::new(0.05).unwrap()),
            absence: Some(Shrinkage::new(0.10).unwrap()),
        };
        // 1 − (1 − 0.1) × (1 − 0.2) = 0.28.
        assert!((categories.total().unwrap().get() - 0.28).abs() < 1e-12);
        let full_day = ShrinkageByCategory {
            breaks: Some(Shrinkage::new(0.5).unwrap()),
            training: Some(Shrinkage::new(0.5).unwrap()),
            ..ShrinkageByCategory::default()
        };
        assert!(matches!(
            full_day.total(),
            Err(ParamError::OutOfRange {
                name: "breaks + training + meetings",
                ..
            })
        ));
    }

    #[test]
    fn forecast_aht_per_interval_sets_the_traffic() {
        let mut d = demand("sales", vec![100.0; 48]);
        let mut aht = vec![180.0; 48];
        aht[7] = 360.0;
        d.forecast.aht_sec = Some(vec![aht]);
        let plan = plan(&[d], &ShrinkageByCategory::default()).unwrap();
        let slow = &plan.queues[0].intervals[7];
        assert_eq!(slow.aht_sec, 360.0);
        assert!((slow.metrics.traffic_erlangs - 20.0).abs() < 1e-12);
        assert!(
            slow.why.contains("at 360 s AHT = 20.00 Erlangs"),
            "{}",
            slow.why
        );
        assert_eq!(plan.queues[0].intervals[6].agents, 14);
        assert!(slow.agents > 14);
        assert!((plan.totals[7].traffic_erlangs - 20.0).abs() < 1e-12);
    }

    #[test]
    fn queues_on_different_grids_are_refused() {
        let mut other = demand("b", vec![1.0; 24]);
        other.forecast.interval_min = 60;
        assert!(matches!(
            plan(
                &[demand("a", vec![1.0; 48]), other],
                &ShrinkageByCategory::default()
            ),
            Err(PlanError::Grid(_))
        ));
    }
}

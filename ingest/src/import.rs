//! History import: per-call records of a contact center turned into call events.
//!
//! The format is the per-call file of `anonymous_bank_feb1999_calls.tsv` (tab-separated, one
//! call per line: `vru+line, call_id, customer_id, priority, type, date, vru_entry, vru_exit,
//! vru_time, q_start, q_exit, q_time, outcome, ser_start, ser_exit, ser_time, server`), with
//! times as local clock times on `date` (YYMMDD).
//!
//! A call becomes:
//! - `AGENT` (answered): `call.offered` at `vru_exit` (the call asks for an agent), then
//!   `call.answered` at `ser_start` with the queue wait `q_time`, then `call.ended` (answered)
//!   at `ser_exit` with `ser_time` as talk time;
//! - `HANG` after entering the queue (`q_start` is not `0:00:00`): `call.offered`, then
//!   `call.ended` (abandoned) at `q_exit` with the wait;
//! - `HANG` without entering the queue: `call.ended` (`ivr_hangup`) at `vru_exit`: never
//!   offered to agents;
//! - `PHANTOM` (no real caller): nothing; it is counted as skipped.
//!
//! The queue is the record's service `type`; the call id is `vru+line` and `call_id` joined by
//! `-` (the `call_id` alone repeats). Event ids are derived from the record, so importing the
//! same file twice produces the same events.

use chrono::{Duration, FixedOffset, NaiveDate, NaiveTime, TimeZone};
use tenet_events::calls::{CallAnswered, CallEnded, CallOffered, CallOutcome};
use tenet_events::ids::{AgentId, CallId, CustomerId, QueueId};
use tenet_events::{Envelope, Event, OccurredAt, TenantId};

/// A record that could not be imported.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {reason}")]
pub struct RecordError {
    /// The line of the file, counting the header as line 1.
    pub line: u64,
    /// What is wrong.
    pub reason: String,
}

/// The events of one call record, or why the record was skipped.
#[derive(Debug)]
pub enum Imported {
    /// The call's events.
    Events(Vec<Envelope>),
    /// A record that describes no real call (`PHANTOM`).
    Skipped,
}

/// Reads per-call records from `reader` and yields each one's events.
pub fn calls(
    reader: impl std::io::Read,
    tenant: TenantId,
    offset: FixedOffset,
) -> impl Iterator<Item = Result<Imported, RecordError>> {
    let mut csv = csv::ReaderBuilder::new()
        .delimiter(b'\t')
        .has_headers(true)
        .flexible(false)
        .from_reader(reader);
    let header_problem = match csv.headers() {
        Ok(headers)
            if headers.len() == 17 && &headers[0] == "vru+line" && &headers[16] == "server" =>
        {
            None
        }
        Ok(headers) => Some(format!(
            "expected the 17 columns `vru+line … server`, found {} starting `{}`",
            headers.len(),
            headers.get(0).unwrap_or_default()
        )),
        Err(error) => Some(error.to_string()),
    };
    let mut records = csv.into_records();
    let mut failed_header = header_problem.map(|reason| RecordError { line: 1, reason });
    std::iter::from_fn(move || {
        if let Some(error) = failed_header.take() {
            return Some(Err(error));
        }
        let record = records.next()?;
        Some(match record {
            Ok(record) => {
                let line = record.position().map_or(0, |position| position.line());
                call(&record, tenant, offset).map_err(|reason| RecordError { line, reason })
            }
            Err(error) => Err(RecordError {
                line: error.position().map_or(0, |position| position.line()),
                reason: error.to_string(),
            }),
        })
    })
}

fn call(
    record: &csv::StringRecord,
    tenant: TenantId,
    offset: FixedOffset,
) -> Result<Imported, String> {
    let field = |index: usize| record.get(index).unwrap_or_default().trim();
    let outcome = field(12);
    if outcome == "PHANTOM" {
        return Ok(Imported::Skipped);
    }
    let date = NaiveDate::parse_from_str(field(5), "%y%m%d")
        .map_err(|_| format!("date `{}` is not YYMMDD", field(5)))?;
    let entry = clock(field(6), "vru_entry")?;
    // A time more than half a day earlier than the call's entry into the VRU is on the next
    // day (the call crossed midnight). A time a little earlier is the source's clock skew:
    // the file has calls that leave the VRU a minute before they entered it.
    let at = |text: &str, name: &str| -> Result<OccurredAt, String> {
        let time = clock(text, name)?;
        let day = if entry - time > Duration::hours(12) {
            date + Duration::days(1)
        } else {
            date
        };
        let local = day.and_time(time);
        let utc = offset
            .from_local_datetime(&local)
            .single()
            .ok_or_else(|| format!("{name} `{text}` does not exist in the time zone"))?
            .to_utc();
        OccurredAt::from_datetime(utc).map_err(|error| format!("{name}: {error}"))
    };
    let seconds = |index: usize, name: &str| -> Result<u32, String> {
        field(index)
            .parse()
            .map_err(|_| format!("{name} `{}` is not a whole number of seconds", field(index)))
    };
    let call_id = CallId::parse(format!("{}-{}", field(0), field(1)))
        .map_err(|error| format!("call id: {error}"))?;
    let queue_id = QueueId::parse(field(4)).map_err(|error| format!("type: {error}"))?;
    let customer_id = match field(2) {
        "" | "0" => None,
        id => Some(CustomerId::parse(id).map_err(|error| format!("customer_id: {error}"))?),
    };
    let priority = field(3).parse::<u8>().ok();
    let entered_queue = field(9) != "0:00:00";
    let wait = seconds(11, "q_time")?;
    let offered_at = at(field(7), "vru_exit")?;
    let offered = CallOffered {
        call_id: call_id.clone(),
        queue_id: queue_id.clone(),
        ivr_path: Vec::new(),
        project_id: None,
        customer_id,
        priority,
    };
    let ended = |outcome: CallOutcome, agent: Option<AgentId>, talk: u32| CallEnded {
        call_id: call_id.clone(),
        outcome,
        queue_id: Some(queue_id.clone()),
        project_id: None,
        agent_id: agent,
        wait_seconds: if outcome == CallOutcome::IvrHangup {
            0
        } else {
            wait
        },
        talk_seconds: talk,
        hold_seconds: 0,
        after_call_work_seconds: 0,
    };
    let events: Vec<(OccurredAt, &str, Event)> = match outcome {
        "AGENT" => {
            let agent = AgentId::parse(field(16)).map_err(|error| format!("server: {error}"))?;
            vec![
                (offered_at, "offered", offered.into()),
                (
                    at(field(13), "ser_start")?,
                    "answered",
                    CallAnswered {
                        call_id: call_id.clone(),
                        queue_id: queue_id.clone(),
                        agent_id: agent.clone(),
                        wait_seconds: wait,
                    }
                    .into(),
                ),
                (
                    at(field(14), "ser_exit")?,
                    "ended",
                    ended(CallOutcome::Answered, Some(agent), seconds(15, "ser_time")?).into(),
                ),
            ]
        }
        "HANG" if entered_queue => vec![
            (offered_at, "offered", offered.into()),
            (
                at(field(10), "q_exit")?,
                "ended",
                ended(CallOutcome::Abandoned, None, 0).into(),
            ),
        ],
        "HANG" => vec![(
            offered_at,
            "ended",
            ended(CallOutcome::IvrHangup, None, 0).into(),
        )],
        other => return Err(format!("outcome `{other}` is not AGENT, HANG or PHANTOM")),
    };
    let source_date = field(5);
    Ok(Imported::Events(
        events
            .into_iter()
            .map(|(at, step, event)| {
                Envelope::derived(tenant, at, &[field(0), field(1), source_date, step], event)
            })
            .collect(),
    ))
}

fn clock(text: &str, name: &str) -> Result<NaiveTime, String> {
    NaiveTime::parse_from_str(text, "%H:%M:%S")
        .map_err(|_| format!("{name} `{text}` is not H:MM:SS"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "vru+line\tcall_id\tcustomer_id\tpriority\ttype\tdate\tvru_entry\tvru_exit\tvru_time\tq_start\tq_exit\tq_time\toutcome\tser_start\tser_exit\tser_time\tserver\n";

    fn import(body: &str) -> Vec<Result<Imported, RecordError>> {
        calls(
            format!("{HEADER}{body}").as_bytes(),
            TenantId::generate(),
            FixedOffset::east_opt(2 * 3600).unwrap(),
        )
        .collect()
    }

    fn kinds(imported: &Imported) -> Vec<String> {
        match imported {
            Imported::Events(events) => events
                .iter()
                .map(|e| e.event_type().as_str().to_owned())
                .collect(),
            Imported::Skipped => vec!["skipped".into()],
        }
    }

    #[test]
    fn each_outcome_becomes_its_events() {
        let rows = import(
            "AA0101\t34539\t23317894\t2\tPS\t990201\t8:09:16\t8:09:22\t6\t8:09:22\t8:09:27\t5\tHANG\t0:00:00\t0:00:00\t0\tNO_SERVER\n\
             AA0101\t34540\t0\t0\tPS\t990201\t8:10:00\t8:10:10\t10\t0:00:00\t0:00:00\t0\tHANG\t0:00:00\t0:00:00\t0\tNO_SERVER\n\
             AA0101\t34541\t0\t1\tNW\t990201\t8:11:00\t8:11:12\t12\t8:11:12\t8:11:40\t28\tAGENT\t8:11:40\t8:14:00\t140\tDORIT\n\
             AA0101\t34542\t0\t0\tPS\t990201\t8:12:00\t8:12:05\t5\t0:00:00\t0:00:00\t0\tPHANTOM\t0:00:00\t0:00:00\t0\tNO_SERVER\n",
        );
        let kinds: Vec<Vec<String>> = rows
            .iter()
            .map(|row| kinds(row.as_ref().unwrap()))
            .collect();
        assert_eq!(kinds[0], ["call.offered", "call.ended"]);
        assert_eq!(kinds[1], ["call.ended"]);
        assert_eq!(kinds[2], ["call.offered", "call.answered", "call.ended"]);
        assert_eq!(kinds[3], ["skipped"]);

        let Ok(Imported::Events(answered)) = &rows[2] else {
            panic!()
        };
        let ended: serde_json::Value = serde_json::from_slice(&answered[2].to_json()).unwrap();
        assert_eq!(ended["data"]["outcome"], "answered");
        assert_eq!(ended["data"]["wait_seconds"], 28);
        assert_eq!(ended["data"]["talk_seconds"], 140);
        assert_eq!(ended["data"]["queue_id"], "NW");
        assert_eq!(ended["data"]["call_id"], "AA0101-34541");
        assert_eq!(
            answered[0].occurred_at.as_datetime().to_rfc3339(),
            "1999-02-01T06:11:12+00:00"
        );
        let Ok(Imported::Events(hangup)) = &rows[1] else {
            panic!()
        };
        let hangup: serde_json::Value = serde_json::from_slice(&hangup[0].to_json()).unwrap();
        assert_eq!(hangup["data"]["outcome"], "ivr_hangup");
    }

    #[test]
    fn a_service_ending_after_midnight_is_on_the_next_day() {
        let rows = import(
            "AA0101\t1\t0\t0\tPS\t990201\t23:58:00\t23:58:10\t10\t0:00:00\t0:00:00\t0\tAGENT\t23:58:10\t0:03:10\t300\tDORIT\n",
        );
        let Ok(Imported::Events(events)) = &rows[0] else {
            panic!()
        };
        assert_eq!(
            events[2].occurred_at.as_datetime().to_rfc3339(),
            "1999-02-01T22:03:10+00:00"
        );
    }

    #[test]
    fn a_time_slightly_before_the_vru_entry_is_clock_skew_on_the_same_day() {
        // From the February 1999 file: vru_exit a minute before vru_entry.
        let rows = import(
            "AA0102\t30456\t25627027\t2\tPS\t990207\t9:48:14\t9:47:17\t-57\t9:47:17\t9:50:11\t174\tAGENT\t9:50:11\t9:51:28\t77\tKAZAV\n",
        );
        let Ok(Imported::Events(events)) = &rows[0] else {
            panic!()
        };
        assert_eq!(
            events[0].occurred_at.as_datetime().to_rfc3339(),
            "1999-02-07T07:47:17+00:00"
        );
    }

    #[test]
    fn importing_twice_gives_the_same_event_ids() {
        let tenant = TenantId::generate();
        let body = format!(
            "{HEADER}AA0101\t34541\t0\t1\tNW\t990201\t8:11:00\t8:11:12\t12\t8:11:12\t8:11:40\t28\tAGENT\t8:11:40\t8:14:00\t140\tDORIT\n"
        );
        let ids = || -> Vec<_> {
            calls(body.as_bytes(), tenant, FixedOffset::east_opt(0).unwrap())
                .flat_map(|row| match row.unwrap() {
                    Imported::Events(events) => events.into_iter().map(|e| e.event_id).collect(),
                    Imported::Skipped => Vec::new(),
                })
                .collect()
        };
        assert_eq!(ids(), ids());
    }

    #[test]
    fn bad_records_are_refused_with_their_line() {
        let rows = import(
            "AA0101\t1\t0\t0\tPS\t990231\t8:00:00\t8:00:10\t10\t0:00:00\t0:00:00\t0\tAGENT\t8:00:10\t8:01:00\t50\tDORIT\n\
             AA0101\t2\t0\t0\tPS\t990201\t8:00:00\t8:00:10\t10\t0:00:00\t0:00:00\tx\tAGENT\t8:00:10\t8:01:00\t50\tDORIT\n\
             AA0101\t3\t0\t0\tPS\t990201\t8:00:00\t8:00:10\t10\t0:00:00\t0:00:00\t0\tBUSY\t8:00:10\t8:01:00\t50\tDORIT\n\
             AA0101\t4\n",
        );
        let errors: Vec<RecordError> = rows.into_iter().map(|row| row.unwrap_err()).collect();
        assert_eq!(
            errors.iter().map(|e| e.line).collect::<Vec<_>>(),
            [2, 3, 4, 5]
        );
        assert!(errors[0].reason.contains("date `990231`"));
        assert!(errors[1].reason.contains("q_time `x`"));
        assert!(errors[2].reason.contains("outcome `BUSY`"));
    }
}

//! Asterisk `queue_log` lines turned into call and agent-state events.
//!
//! Asterisk writes one line per queue event: `epoch|callid|queue|agent|event|data1|data2|…`.
//! Each line maps to events on its own (no state across lines), so a batch can be posted in
//! any order and re-posted safely: event ids are derived from the line's content.
//!
//! | line | events |
//! |---|---|
//! | `ENTERQUEUE` | `call.offered` |
//! | `CONNECT holdtime` | `call.answered` |
//! | `COMPLETEAGENT` / `COMPLETECALLER holdtime calltime` | `call.ended` (answered) |
//! | `ABANDON position origposition waittime` | `call.ended` (abandoned) |
//! | `EXITWITHTIMEOUT`, `EXITEMPTY position origposition waittime`; `EXITWITHKEY key position origposition waittime` | `call.ended` (flowed out) |
//! | `TRANSFER`, `BLINDTRANSFER extension context holdtime calltime`; `ATTENDEDTRANSFER method data holdtime calltime` | `call.transferred` and `call.ended` (answered) |
//! | `RINGNOANSWER ringtime_ms` | `call.ring_no_answer` |
//! | `ADDMEMBER`, `REMOVEMEMBER`, `PAUSE reason`, `UNPAUSE` | `agent.logged_in`, `agent.logged_out`, `agent.not_ready`, `agent.ready` |
//!
//! Bookkeeping lines that describe no call or agent change (`QUEUESTART`, `CONFIGRELOAD`,
//! `DID`, `INFO`, …) are skipped; any other line is refused with its number and reason.

use chrono::DateTime;
use tenet_events::agent_state::{AgentLoggedIn, AgentLoggedOut, AgentNotReady, AgentReady};
use tenet_events::calls::{
    CallAnswered, CallEnded, CallOffered, CallOutcome, CallRingNoAnswer, CallTransferred,
    TransferMode, TransferTarget,
};
use tenet_events::ids::{AgentId, CallId, DialTarget, QueueId, ReasonCode};
use tenet_events::{Envelope, Event, OccurredAt, TenantId};

/// Lines that carry no call or agent change and are skipped.
const SKIPPED: &[&str] = &[
    "QUEUESTART",
    "CONFIGRELOAD",
    "DID",
    "INFO",
    "SYSCOMPAT",
    "AGENTDUMP",
    "PAUSEALL",
    "UNPAUSEALL",
    "ENTERQUEUE_NOTIFY",
];

/// Why a line was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {reason}")]
pub struct LineError {
    /// The line's number, from 1.
    pub line: usize,
    /// What is wrong with it.
    pub reason: String,
}

/// The events of a `queue_log` text and how many lines were skipped.
#[derive(Debug, Default)]
pub struct Parsed {
    /// The events, in line order.
    pub events: Vec<Envelope>,
    /// Bookkeeping lines skipped.
    pub skipped: usize,
    /// Non-empty lines read.
    pub lines: usize,
}

/// Parses every line of `text` for `tenant`.
///
/// # Errors
/// Every refused line, with its number; no events are returned then.
pub fn parse(tenant: TenantId, text: &str) -> Result<Parsed, Vec<LineError>> {
    let mut parsed = Parsed::default();
    let mut errors = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let line = raw.trim_end_matches('\r');
        if line.trim().is_empty() {
            continue;
        }
        parsed.lines += 1;
        match parse_line(tenant, line) {
            Ok(Some(events)) => parsed.events.extend(events),
            Ok(None) => parsed.skipped += 1,
            Err(reason) => errors.push(LineError {
                line: index + 1,
                reason,
            }),
        }
    }
    if errors.is_empty() {
        Ok(parsed)
    } else {
        Err(errors)
    }
}

struct Line<'a> {
    epoch: &'a str,
    call: &'a str,
    queue: &'a str,
    agent: &'a str,
    event: &'a str,
    data: Vec<&'a str>,
}

impl Line<'_> {
    fn data(&self, index: usize, name: &str) -> Result<&str, String> {
        self.data
            .get(index)
            .copied()
            .ok_or_else(|| format!("{} needs {name} as data field {}", self.event, index + 1))
    }

    fn seconds(&self, index: usize, name: &str) -> Result<u32, String> {
        let text = self.data(index, name)?;
        text.trim().parse().map_err(|_| {
            format!(
                "{} {name} `{text}` is not a whole number of seconds",
                self.event
            )
        })
    }

    fn call_id(&self) -> Result<CallId, String> {
        CallId::parse(self.call).map_err(|error| format!("call id: {error}"))
    }

    fn queue_id(&self) -> Result<QueueId, String> {
        QueueId::parse(self.queue).map_err(|error| format!("queue: {error}"))
    }

    fn agent_id(&self) -> Result<AgentId, String> {
        if self.agent.is_empty() || self.agent == "NONE" {
            return Err(format!("{} names no agent", self.event));
        }
        AgentId::parse(self.agent).map_err(|error| format!("agent: {error}"))
    }

    fn ended(&self, outcome: CallOutcome, wait: u32, talk: u32) -> Result<CallEnded, String> {
        let answered = outcome == CallOutcome::Answered;
        Ok(CallEnded {
            call_id: self.call_id()?,
            outcome,
            queue_id: Some(self.queue_id()?),
            project_id: None,
            agent_id: if answered {
                Some(self.agent_id()?)
            } else {
                None
            },
            wait_seconds: wait,
            talk_seconds: talk,
            hold_seconds: 0,
            after_call_work_seconds: 0,
        })
    }
}

fn parse_line(tenant: TenantId, text: &str) -> Result<Option<Vec<Envelope>>, String> {
    let fields: Vec<&str> = text.split('|').collect();
    if fields.len() < 5 {
        return Err(format!(
            "expected `epoch|callid|queue|agent|event|data…`, got {} field(s)",
            fields.len()
        ));
    }
    let line = Line {
        epoch: fields[0],
        call: fields[1],
        queue: fields[2],
        agent: fields[3],
        event: fields[4],
        data: fields[5..].to_vec(),
    };
    if SKIPPED.contains(&line.event) {
        return Ok(None);
    }
    let epoch: f64 = line
        .epoch
        .trim()
        .parse()
        .map_err(|_| format!("time `{}` is not a Unix epoch", line.epoch))?;
    let millis = (epoch * 1000.0).round() as i64;
    let at = DateTime::from_timestamp_millis(millis)
        .and_then(|at| OccurredAt::from_datetime(at).ok())
        .ok_or_else(|| format!("time `{}` is out of range", line.epoch))?;
    let events: Vec<Event> = match line.event {
        "ENTERQUEUE" => vec![
            CallOffered {
                call_id: line.call_id()?,
                queue_id: line.queue_id()?,
                ivr_path: Vec::new(),
                project_id: None,
                customer_id: None,
                priority: None,
            }
            .into(),
        ],
        "CONNECT" => vec![
            CallAnswered {
                call_id: line.call_id()?,
                queue_id: line.queue_id()?,
                agent_id: line.agent_id()?,
                wait_seconds: line.seconds(0, "holdtime")?,
            }
            .into(),
        ],
        "COMPLETEAGENT" | "COMPLETECALLER" => vec![
            line.ended(
                CallOutcome::Answered,
                line.seconds(0, "holdtime")?,
                line.seconds(1, "calltime")?,
            )?
            .into(),
        ],
        "ABANDON" => vec![
            line.ended(CallOutcome::Abandoned, line.seconds(2, "waittime")?, 0)?
                .into(),
        ],
        "EXITWITHTIMEOUT" | "EXITEMPTY" => vec![
            line.ended(CallOutcome::FlowedOut, line.seconds(2, "waittime")?, 0)?
                .into(),
        ],
        "EXITWITHKEY" => vec![
            line.ended(CallOutcome::FlowedOut, line.seconds(3, "waittime")?, 0)?
                .into(),
        ],
        "TRANSFER" | "BLINDTRANSFER" | "ATTENDEDTRANSFER" => {
            let (mode, target) = if line.event == "ATTENDEDTRANSFER" {
                (TransferMode::Attended, line.data(1, "target")?)
            } else {
                (TransferMode::Blind, line.data(0, "extension")?)
            };
            let target = DialTarget::parse(target)
                .map_err(|error| format!("{} target: {error}", line.event))?;
            vec![
                CallTransferred {
                    call_id: line.call_id()?,
                    agent_id: Some(line.agent_id()?),
                    target: TransferTarget::External(target),
                    mode,
                }
                .into(),
                line.ended(
                    CallOutcome::Answered,
                    line.seconds(2, "holdtime")?,
                    line.seconds(3, "calltime")?,
                )?
                .into(),
            ]
        }
        "RINGNOANSWER" => vec![
            CallRingNoAnswer {
                call_id: line.call_id()?,
                queue_id: line.queue_id()?,
                agent_id: line.agent_id()?,
                ring_ms: line.seconds(0, "ringtime")?,
            }
            .into(),
        ],
        "ADDMEMBER" => vec![
            AgentLoggedIn {
                agent_id: line.agent_id()?,
                queue_id: line.queue_id().ok(),
            }
            .into(),
        ],
        "REMOVEMEMBER" => vec![
            AgentLoggedOut {
                agent_id: line.agent_id()?,
                queue_id: line.queue_id().ok(),
            }
            .into(),
        ],
        "PAUSE" => vec![
            AgentNotReady {
                agent_id: line.agent_id()?,
                queue_id: line.queue_id().ok(),
                reason: line
                    .data
                    .first()
                    .filter(|reason| !reason.trim().is_empty())
                    .and_then(|reason| ReasonCode::parse(reason.trim()).ok()),
            }
            .into(),
        ],
        "UNPAUSE" => vec![
            AgentReady {
                agent_id: line.agent_id()?,
                queue_id: line.queue_id().ok(),
            }
            .into(),
        ],
        other => return Err(format!("unknown queue_log event `{other}`")),
    };
    Ok(Some(
        events
            .into_iter()
            .map(|event| {
                let source = [line.epoch, line.call, line.queue, line.agent, line.event];
                Envelope::derived(tenant, at, &source, event)
            })
            .collect(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "\
1712912400|NONE|NONE|NONE|QUEUESTART
1712912410|1712912401.7|support|NONE|ENTERQUEUE||+15551234|1
1712912418|1712912401.7|support|SIP/1001|RINGNOANSWER|15000
1712912437|1712912401.7|support|SIP/1002|CONNECT|27|1712912437.9|4
1712912600|1712912401.7|support|SIP/1002|COMPLETECALLER|27|163|1
1712912700|1712912500.3|support|NONE|ABANDON|1|2|45
1712912800|1712912750.1|sales|NONE|EXITWITHKEY|5|1|1|12
1712912900|NONE|support|SIP/1001|PAUSE|lunch
1712913900|NONE|support|SIP/1001|UNPAUSE|
";

    fn types(parsed: &Parsed) -> Vec<&'static str> {
        parsed
            .events
            .iter()
            .map(|e| e.event_type().as_str())
            .collect()
    }

    fn data(envelope: &Envelope) -> serde_json::Value {
        serde_json::from_slice::<serde_json::Value>(&envelope.to_json()).unwrap()["data"].clone()
    }

    #[test]
    fn a_queue_log_becomes_call_and_agent_events() {
        let parsed = parse(TenantId::generate(), SAMPLE).unwrap();

        assert_eq!(parsed.lines, 9);
        assert_eq!(parsed.skipped, 1);
        assert_eq!(
            types(&parsed),
            [
                "call.offered",
                "call.ring_no_answer",
                "call.answered",
                "call.ended",
                "call.ended",
                "call.ended",
                "agent.not_ready",
                "agent.ready"
            ]
        );
        let completed = data(&parsed.events[3]);
        assert_eq!(completed["outcome"], "answered");
        assert_eq!(completed["wait_seconds"], 27);
        assert_eq!(completed["talk_seconds"], 163);
        assert_eq!(completed["agent_id"], "SIP/1002");
        let abandoned = data(&parsed.events[4]);
        assert_eq!(abandoned["outcome"], "abandoned");
        assert_eq!(abandoned["wait_seconds"], 45);
        let flowed = data(&parsed.events[5]);
        assert_eq!(flowed["outcome"], "flowed_out");
        assert_eq!(flowed["wait_seconds"], 12);
        assert_eq!(data(&parsed.events[6])["reason"], "lunch");
        assert_eq!(data(&parsed.events[1])["ring_ms"], 15000);
        assert_eq!(
            parsed.events[2].occurred_at.as_datetime().timestamp(),
            1_712_912_437
        );
    }

    #[test]
    fn the_same_lines_give_the_same_event_ids() {
        let tenant = TenantId::generate();
        let first = parse(tenant, SAMPLE).unwrap();
        let second = parse(tenant, SAMPLE).unwrap();
        let ids = |p: &Parsed| p.events.iter().map(|e| e.event_id).collect::<Vec<_>>();
        assert_eq!(ids(&first), ids(&second));
        let unique: std::collections::BTreeSet<_> = ids(&first).into_iter().collect();
        assert_eq!(unique.len(), first.events.len());
    }

    #[test]
    fn a_transfer_ends_the_call_and_names_the_target() {
        let parsed = parse(
            TenantId::generate(),
            "1712912600|77.1|support|SIP/1002|BLINDTRANSFER|2001|from-internal|12|40|1",
        )
        .unwrap();
        assert_eq!(types(&parsed), ["call.transferred", "call.ended"]);
        let transferred = data(&parsed.events[0]);
        assert_eq!(transferred["mode"], "blind");
        assert_eq!(transferred["target"]["id"], "2001");
        assert_eq!(data(&parsed.events[1])["talk_seconds"], 40);
    }

    #[test]
    fn garbage_lines_are_refused_with_their_numbers() {
        let text = "hello world\n\
                    1712912437|1.1|support|SIP/1|CONNECT|soon\n\
                    1712912437|1.1|support|SIP/1|TELEPORT|1\n\
                    later|1.1|support|SIP/1|CONNECT|3\n\
                    1712912437|1.1|support|NONE|CONNECT|3\n\
                    1712912437|1.1|support|SIP/1|COMPLETEAGENT|3\n";
        let errors = parse(TenantId::generate(), text).unwrap_err();
        let lines: Vec<usize> = errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, [1, 2, 3, 4, 5, 6]);
        assert!(
            errors[1].reason.contains("holdtime `soon`"),
            "{}",
            errors[1]
        );
        assert!(
            errors[2]
                .reason
                .contains("unknown queue_log event `TELEPORT`")
        );
        assert!(errors[3].reason.contains("not a Unix epoch"));
        assert!(errors[4].reason.contains("names no agent"));
        assert!(errors[5].reason.contains("calltime"), "{}", errors[5]);
    }
}

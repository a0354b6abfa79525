//! `tenet import calls`: a contact center's call history into the event log.
//!
//! The whole file is read and checked first, so a file with a bad record imports nothing and
//! every bad record is reported at once; then the events are appended to the log in batches
//! and are durable when the command returns. Event ids come from the records, so importing the
//! same file again adds nothing to the lake.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use chrono::FixedOffset;
use indicatif::{ProgressBar, ProgressStyle};
use tenet_events::{Envelope, EventFamily, TenantId};
use tenet_ingest::import::{self, Imported, RecordError};
use tenet_ingest::writer::DEFAULT_GROUP;
use tenet_ingest::{
    EmbeddedLog, EventLog, GroupId, LakeWriters, Record, TopicName, TopicPartition,
};
use tenet_lakehouse::Lake;

/// Events appended per log request.
const BATCH: usize = 5_000;

/// What an import did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ImportSummary {
    /// Call records read.
    pub calls: usize,
    /// Records that describe no real call.
    pub skipped: usize,
    /// Events appended to the log.
    pub events: usize,
}

/// The records refused by [`read_calls`], with the first ones listed.
#[derive(Debug, thiserror::Error)]
#[error("{} record(s) refused, nothing imported:\n{}", .0.len(), list(.0))]
pub struct Refused(pub Vec<RecordError>);

fn list(errors: &[RecordError]) -> String {
    let mut shown: Vec<String> = errors.iter().take(20).map(|e| format!("  {e}")).collect();
    if errors.len() > 20 {
        shown.push(format!("  … and {} more", errors.len() - 20));
    }
    shown.join("\n")
}

struct Progress<R> {
    inner: R,
    bar: ProgressBar,
}

impl<R: Read> Read for Progress<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let read = self.inner.read(buf)?;
        self.bar.inc(read as u64);
        Ok(read)
    }
}

fn bar(length: u64, message: &'static str) -> ProgressBar {
    let bar = ProgressBar::new(length);
    bar.set_style(
        ProgressStyle::with_template(
            "{msg:>10} [{bar:40}] {percent:>3}% {human_pos}/{human_len} {eta}",
        )
        .expect("the template is valid")
        .progress_chars("=> "),
    );
    bar.set_message(message);
    bar
}

/// Reads and checks every record of `path`.
///
/// # Errors
/// When the file cannot be read, or [`Refused`] with every bad record.
pub fn read_calls(
    path: &Path,
    tenant: TenantId,
    offset: FixedOffset,
) -> anyhow::Result<(Vec<Envelope>, ImportSummary)> {
    let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let length = file.metadata().map(|m| m.len()).unwrap_or(0);
    let reader = Progress {
        inner: BufReader::new(file),
        bar: bar(length, "reading"),
    };
    let bar = reader.bar.clone();
    let mut summary = ImportSummary::default();
    let mut events = Vec::new();
    let mut refused = Vec::new();
    for row in import::calls(reader, tenant, offset) {
        summary.calls += 1;
        match row {
            Ok(Imported::Events(call)) => events.extend(call),
            Ok(Imported::Skipped) => summary.skipped += 1,
            Err(error) => refused.push(error),
        }
    }
    bar.finish_and_clear();
    if !refused.is_empty() {
        return Err(Refused(refused).into());
    }
    Ok((events, summary))
}

/// Appends `events` to their topics in batches.
///
/// # Errors
/// When the log refuses a batch; the batches before it are durable (a retry of the import
/// repeats them with the same ids, which the lake keeps once).
pub async fn append(log: &dyn EventLog, events: &[Envelope]) -> anyhow::Result<usize> {
    let bar = bar(events.len() as u64, "appending");
    let mut by_topic: BTreeMap<&'static str, Vec<&Envelope>> = BTreeMap::new();
    for event in events {
        by_topic.entry(event.topic()).or_default().push(event);
    }
    let mut appended = 0;
    for (topic, events) in by_topic {
        let name = TopicName::parse(topic).expect("event families have legal topic names");
        for chunk in events.chunks(BATCH) {
            let records: Vec<Record> = chunk.iter().map(|event| Record::of_event(event)).collect();
            log.append(&name, records)
                .await
                .with_context(|| format!("the event log refused a batch for {topic}"))?;
            appended += chunk.len();
            bar.inc(chunk.len() as u64);
        }
    }
    bar.finish_and_clear();
    Ok(appended)
}

/// Runs the lake writers on `log`, configured by `[writer]`, until every event in it has
/// landed in `lake`, then stops them after their final commit.
///
/// # Errors
/// When the log cannot be read.
pub async fn land(
    log: Arc<EmbeddedLog>,
    lake: Lake,
    writer: &crate::config::WriterSettings,
) -> anyhow::Result<()> {
    let group = GroupId::parse(DEFAULT_GROUP).expect("the default group name is legal");
    let writers = LakeWriters::spawn(
        log.clone(),
        lake,
        crate::app::lake_writer_configs(writer),
        writer.maintenance_policy(),
    );
    let spinner = ProgressBar::new_spinner();
    spinner.set_message("landing in the lake");
    spinner.enable_steady_tick(Duration::from_millis(120));
    loop {
        let mut behind = 0u64;
        for family in EventFamily::ALL {
            let topic = TopicName::of_family(family);
            let Ok(partitions) = log.partition_count(&topic).await else {
                continue;
            };
            for partition in 0..partitions {
                let partition = TopicPartition::new(topic.clone(), partition);
                let end = log.offset_range(&partition).await?.end;
                let done = log.committed(&group, &partition).await?.unwrap_or_default();
                behind += end.0.saturating_sub(done.0);
            }
        }
        if behind == 0 {
            break;
        }
        spinner.set_message(format!("landing in the lake: {behind} events to go"));
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    writers.shutdown().await;
    spinner.finish_and_clear();
    Ok(())
}

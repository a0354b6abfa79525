//! `tenet bench reports`: report latency on a large generated lake, side by side with DuckDB.
//!
//! It generates a month of call events for many tenants into the lake's `calls` table, the
//! way the lake writer lands them (Delta commits, partitioned by event date, rows sorted by
//! tenant inside each file), then times, warm, two queries in DataFusion and in DuckDB over
//! the same Parquet files in the same run:
//!
//! - (a) the `call_intervals` report at 30 minutes for one tenant over the month, exactly as
//!   the API serves it (tenant-scoped session, the catalog's SQL);
//! - (b) the all-tenant daily summary (offered, answered, abandoned, ASA, AHT per tenant and
//!   day), the platform operator's query.
//!
//! The traffic is shaped like a contact center's: tenant sizes follow a Zipf law, calls
//! arrive on an intraday curve with a weekday/weekend pattern, 85 % are answered, waits are
//! exponential and talk times log-normal.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use chrono::{Datelike as _, NaiveDate, NaiveDateTime, NaiveTime};
use futures::TryStreamExt as _;
use rand::rngs::StdRng;
use rand::{Rng as _, SeedableRng as _};
use serde::Serialize;
use tenet_events::{EventFamily, TenantId};
use tenet_lakehouse::deltalake::arrow::array::{
    ArrayRef, Date32Builder, Int32Builder, Int64Builder, RecordBatch, StringBuilder,
    TimestampMicrosecondBuilder, new_null_array,
};
use tenet_lakehouse::deltalake::arrow::util::pretty::pretty_format_batches;
use tenet_lakehouse::deltalake::datafusion::common::ScalarValue;
use tenet_lakehouse::deltalake::datafusion::prelude::SessionContext;
use tenet_lakehouse::deltalake::writer::{DeltaWriter as _, RecordBatchWriter};
use tenet_lakehouse::reports::{self, Params};
use tenet_lakehouse::{Lake, LakeReader, LakeTable, ReaderConfig, Scope};

/// What to generate and how often to time.
#[derive(Debug, Clone)]
pub struct ReportBench {
    /// Call events to generate (offered and ended events together).
    pub events: u64,
    /// Tenants to spread them over.
    pub tenants: u32,
    /// Where the lake goes (`DIR/lake`).
    pub dir: PathBuf,
    /// Timed runs of each query (after one warm-up run).
    pub runs: usize,
    /// Use the lake already in `dir` instead of generating one.
    pub reuse: bool,
    /// The Python interpreter with DuckDB.
    pub python: String,
    /// Print (a)'s phases (session, planning, execution), and the plans of (a) and (b) with
    /// each step's metrics (EXPLAIN ANALYZE), to standard error.
    pub explain: bool,
}

/// The figures of one run.
#[derive(Debug, Serialize)]
pub struct BenchFigures {
    /// Call events in the lake.
    pub events: u64,
    /// Tenants.
    pub tenants: u32,
    /// Parquet files and their total size.
    pub files: usize,
    /// Bytes of Parquet.
    pub bytes: u64,
    /// Seconds spent generating and landing the events (0 when reused).
    pub generate_sec: f64,
    /// The tenant of query (a) and its events.
    pub tenant_a: String,
    /// Events of that tenant.
    pub tenant_a_events: u64,
    /// Rows each query returned in Tenet (a, b).
    pub tenet_rows: (usize, usize),
    /// Median milliseconds of Tenet's (a) and (b).
    pub tenet_ms: (f64, f64),
    /// Median milliseconds of DuckDB's (a) and (b), and the rows it returned.
    pub duckdb: serde_json::Value,
    /// Tenet's median over DuckDB's, for (a) and (b).
    pub ratio: (f64, f64),
}

const MONTH_DAYS: u32 = 28;
const FIRST_DAY: (i32, u32, u32) = (2026, 2, 1);

/// The all-tenant daily summary, in SQL both engines read the same way.
pub const DAILY_SUMMARY_SQL: &str = "select tenant_id, event_date,
       count(*) filter (where event_type = 'call.offered') as offered,
       count(*) filter (where event_type = 'call.ended' and outcome = 'answered') as answered,
       count(*) filter (where event_type = 'call.ended' and outcome in ('abandoned', 'short_abandon')) as abandoned,
       avg(wait_seconds) filter (where event_type = 'call.ended' and outcome = 'answered') as asa_sec,
       avg(talk_seconds + hold_seconds + after_call_work_seconds) filter (where event_type = 'call.ended' and outcome = 'answered') as aht_sec
from calls
where event_date >= date '2026-02-01' and event_date < date '2026-03-01'
group by tenant_id, event_date";

/// Runs the benchmark and returns its figures.
///
/// # Errors
///
/// Generation, lake, query or DuckDB failures.
pub async fn run(bench: ReportBench) -> anyhow::Result<BenchFigures> {
    let lake = Lake::in_dir(&bench.dir.join("lake"))?;
    let tenants: Vec<TenantId> = (0..bench.tenants)
        .map(|n| {
            TenantId::from_uuid(uuid::Uuid::from_u128(
                0x7e7e_0000_0000_7000_8000_0000_0000_0000 | u128::from(n),
            ))
        })
        .collect();
    let weights = zipf_weights(tenants.len());
    let started = Instant::now();
    let generated = if bench.reuse {
        None
    } else {
        Some(generate(&lake, &tenants, &weights, bench.events).await?)
    };
    let generate_sec = if generated.is_some() {
        started.elapsed().as_secs_f64()
    } else {
        0.0
    };
    let table_dir = bench.dir.join("lake").join("calls");
    let (files, bytes) = parquet_files(&table_dir)?;

    // (a) a tenant in the middle of the size distribution: the 10th largest.
    let rank = (tenants.len() / 100).max(1).min(tenants.len() - 1);
    let tenant_a = tenants[rank];
    let reader = LakeReader::new(lake, ReaderConfig::default())?;
    let report = reports::find("call_intervals").context("call_intervals is in the catalog")?;
    let params = [
        ("from", "2026-02-01"),
        ("to", "2026-03-01"),
        ("granularity", "30min"),
    ];
    let scope = Scope::tenant(tenant_a);
    let (a_times, a_rows) = time_runs(bench.runs, || async {
        let planned = report.plan(Params::from_pairs(params))?;
        let session = reader.session(&scope).await?;
        let rows = reports::run(&session, planned).await?;
        let batches: Vec<RecordBatch> = rows.stream.try_collect().await?;
        Ok(batches.iter().map(RecordBatch::num_rows).sum())
    })
    .await?;
    if bench.explain {
        eprintln!(
            "{}",
            phases(&reader, &scope, report, &params, bench.runs).await?
        );
        let planned = report.plan(Params::from_pairs(params))?;
        let session = reader.session(&scope).await?;
        let plan = explain_analyze(session.context(), &planned.sql, planned.values).await?;
        eprintln!("{plan}");
    }
    let (b_times, b_rows) = time_runs(bench.runs, || async {
        let ctx = reader.platform_session().await?;
        let batches = ctx.sql(DAILY_SUMMARY_SQL).await?.collect().await?;
        Ok(batches.iter().map(RecordBatch::num_rows).sum())
    })
    .await?;
    if bench.explain {
        let ctx = reader.platform_session().await?;
        eprintln!(
            "{}",
            explain_analyze(&ctx, DAILY_SUMMARY_SQL, Vec::new()).await?
        );
    }
    let tenant_a_events = count(
        &reader,
        &format!("select count(*) from calls where tenant_id = '{tenant_a}'"),
    )
    .await?;
    let events = match generated {
        Some(events) => events,
        None => count(&reader, "select count(*) from calls").await?,
    };

    let duckdb = duckdb(&bench, &table_dir, tenant_a).await?;
    let tenet_ms = (median_ms(&a_times), median_ms(&b_times));
    let duck_a = duckdb["a_ms"].as_f64().unwrap_or(f64::NAN);
    let duck_b = duckdb["b_ms"].as_f64().unwrap_or(f64::NAN);
    Ok(BenchFigures {
        events,
        tenants: bench.tenants,
        files,
        bytes,
        generate_sec,
        tenant_a: tenant_a.to_string(),
        tenant_a_events,
        tenet_rows: (a_rows, b_rows),
        tenet_ms,
        ratio: (tenet_ms.0 / duck_a, tenet_ms.1 / duck_b),
        duckdb,
    })
}

/// Where (a)'s time goes outside the operators: the medians of `runs` runs of opening the
/// scoped session, planning (SQL to a physical plan) and executing to the last batch.
async fn phases(
    reader: &LakeReader,
    scope: &Scope,
    report: &dyn reports::Report,
    params: &[(&str, &str)],
    runs: usize,
) -> anyhow::Result<String> {
    let (mut session_ms, mut plan_ms, mut execute_ms) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..runs.max(1) {
        let started = Instant::now();
        let session = reader.session(scope).await?;
        let opened = Instant::now();
        let planned = report.plan(Params::from_pairs(params.iter().copied()))?;
        let rows = reports::run(&session, planned).await?;
        let ready = Instant::now();
        let _: Vec<RecordBatch> = rows.stream.try_collect().await?;
        let done = Instant::now();
        session_ms.push((opened - started).as_secs_f64() * 1000.0);
        plan_ms.push((ready - opened).as_secs_f64() * 1000.0);
        execute_ms.push((done - ready).as_secs_f64() * 1000.0);
    }
    Ok(format!(
        "(a) phases, medians of {} runs: session {:.1} ms, planning {:.1} ms, execution {:.1} ms",
        runs.max(1),
        super::median(session_ms),
        super::median(plan_ms),
        super::median(execute_ms),
    ))
}

/// The single count `sql` returns, over every tenant's rows.
async fn count(reader: &LakeReader, sql: &str) -> anyhow::Result<u64> {
    let ctx = reader.platform_session().await?;
    let batches = ctx.sql(sql).await?.collect().await?;
    let counts = batches
        .first()
        .and_then(|batch| {
            batch
                .column(0)
                .as_any()
                .downcast_ref::<tenet_lakehouse::deltalake::arrow::array::Int64Array>()
        })
        .with_context(|| format!("{sql} returns one count"))?;
    Ok(u64::try_from(counts.value(0))?)
}

/// `sql`'s plan with the time and rows of each step (EXPLAIN ANALYZE), as a table.
async fn explain_analyze(
    ctx: &SessionContext,
    sql: &str,
    values: Vec<ScalarValue>,
) -> anyhow::Result<String> {
    let batches = ctx
        .sql(&format!("explain analyze {sql}"))
        .await?
        .with_param_values(values)?
        .collect()
        .await?;
    Ok(pretty_format_batches(&batches)?.to_string())
}

/// One warm-up run, then `runs` timed ones; also the rows the last one returned.
async fn time_runs<F, Fut>(runs: usize, run: F) -> anyhow::Result<(Vec<Duration>, usize)>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<usize>>,
{
    let mut rows = run().await?;
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs.max(1) {
        let started = Instant::now();
        rows = run().await?;
        times.push(started.elapsed());
    }
    Ok((times, rows))
}

fn median_ms(times: &[Duration]) -> f64 {
    super::median(times.iter().map(|t| t.as_secs_f64() * 1000.0).collect())
}

fn zipf_weights(n: usize) -> Vec<f64> {
    let raw: Vec<f64> = (1..=n).map(|rank| 1.0 / (rank as f64).powf(1.1)).collect();
    let total: f64 = raw.iter().sum();
    raw.into_iter().map(|weight| weight / total).collect()
}

/// The share of a day's calls arriving in each half hour: quiet at night, a morning peak
/// around 10:00 and a smaller one after lunch.
fn intraday_profile() -> [f64; 48] {
    let mut profile = [0.0; 48];
    for (slot, weight) in profile.iter_mut().enumerate() {
        let hour = slot as f64 / 2.0;
        let morning = (-((hour - 10.5) / 2.0).powi(2)).exp();
        let afternoon = 0.7 * (-((hour - 15.0) / 2.2).powi(2)).exp();
        *weight = 0.01 + morning + afternoon;
    }
    let total: f64 = profile.iter().sum();
    profile.map(|weight| weight / total)
}

struct Columns {
    event_id: StringBuilder,
    tenant_id: StringBuilder,
    event_type: StringBuilder,
    schema_version: Int32Builder,
    occurred_at: TimestampMicrosecondBuilder,
    event_date: Date32Builder,
    call_id: StringBuilder,
    queue_id: StringBuilder,
    project_id: StringBuilder,
    agent_id: StringBuilder,
    outcome: StringBuilder,
    wait_seconds: Int64Builder,
    talk_seconds: Int64Builder,
    hold_seconds: Int64Builder,
    after_call_work_seconds: Int64Builder,
    rows: usize,
}

impl Columns {
    fn new() -> Self {
        Self {
            event_id: StringBuilder::new(),
            tenant_id: StringBuilder::new(),
            event_type: StringBuilder::new(),
            schema_version: Int32Builder::new(),
            occurred_at: TimestampMicrosecondBuilder::new().with_timezone("UTC"),
            event_date: Date32Builder::new(),
            call_id: StringBuilder::new(),
            queue_id: StringBuilder::new(),
            project_id: StringBuilder::new(),
            agent_id: StringBuilder::new(),
            outcome: StringBuilder::new(),
            wait_seconds: Int64Builder::new(),
            talk_seconds: Int64Builder::new(),
            hold_seconds: Int64Builder::new(),
            after_call_work_seconds: Int64Builder::new(),
            rows: 0,
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn push(
        &mut self,
        id: u128,
        tenant: &str,
        event_type: &str,
        at: NaiveDateTime,
        call: &str,
        queue: Option<&str>,
        project: Option<&str>,
        agent: Option<&str>,
        ended: Option<(&str, i64, i64, i64, i64)>,
    ) {
        self.event_id
            .append_value(uuid::Uuid::from_u128(id).to_string());
        self.tenant_id.append_value(tenant);
        self.event_type.append_value(event_type);
        self.schema_version.append_value(1);
        self.occurred_at
            .append_value(at.and_utc().timestamp_micros());
        self.event_date.append_value(
            (at.date() - NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch")).num_days() as i32,
        );
        self.call_id.append_value(call);
        self.queue_id.append_option(queue);
        self.project_id.append_option(project);
        self.agent_id.append_option(agent);
        match ended {
            Some((outcome, wait, talk, hold, acw)) => {
                self.outcome.append_value(outcome);
                self.wait_seconds.append_value(wait);
                self.talk_seconds.append_value(talk);
                self.hold_seconds.append_value(hold);
                self.after_call_work_seconds.append_value(acw);
            }
            None => {
                self.outcome.append_null();
                self.wait_seconds.append_null();
                self.talk_seconds.append_null();
                self.hold_seconds.append_null();
                self.after_call_work_seconds.append_null();
            }
        }
        self.rows += 1;
    }

    fn finish(&mut self) -> anyhow::Result<RecordBatch> {
        let schema = LakeTable::Events(EventFamily::Calls).arrow_schema();
        let rows = self.rows;
        self.rows = 0;
        let mut columns: Vec<ArrayRef> = Vec::with_capacity(schema.fields().len());
        for field in schema.fields() {
            let column: ArrayRef = match field.name().as_str() {
                "event_id" => Arc::new(self.event_id.finish()),
                "tenant_id" => Arc::new(self.tenant_id.finish()),
                "event_type" => Arc::new(self.event_type.finish()),
                "schema_version" => Arc::new(self.schema_version.finish()),
                "occurred_at" => Arc::new(self.occurred_at.finish()),
                "event_date" => Arc::new(self.event_date.finish()),
                "call_id" => Arc::new(self.call_id.finish()),
                "queue_id" => Arc::new(self.queue_id.finish()),
                "project_id" => Arc::new(self.project_id.finish()),
                "agent_id" => Arc::new(self.agent_id.finish()),
                "outcome" => Arc::new(self.outcome.finish()),
                "wait_seconds" => Arc::new(self.wait_seconds.finish()),
                "talk_seconds" => Arc::new(self.talk_seconds.finish()),
                "hold_seconds" => Arc::new(self.hold_seconds.finish()),
                "after_call_work_seconds" => Arc::new(self.after_call_work_seconds.finish()),
                _ => new_null_array(field.data_type(), rows),
            };
            columns.push(column);
        }
        Ok(RecordBatch::try_new(schema, columns)?)
    }
}

/// Lands about `events` call events, one Delta commit per day. Returns how many.
async fn generate(
    lake: &Lake,
    tenants: &[TenantId],
    weights: &[f64],
    events: u64,
) -> anyhow::Result<u64> {
    let mut table = lake
        .open_or_create(LakeTable::Events(EventFamily::Calls))
        .await?;
    let mut rng = StdRng::seed_from_u64(20_260_201);
    let profile = intraday_profile();
    let first = NaiveDate::from_ymd_opt(FIRST_DAY.0, FIRST_DAY.1, FIRST_DAY.2).expect("a date");
    // About two events per call (IVR hang-ups have one).
    let calls_total = events as f64 / 1.97;
    let day_weights: Vec<f64> = (0..MONTH_DAYS)
        .map(|day| {
            let weekday = (first + chrono::Duration::days(i64::from(day))).weekday();
            if weekday.num_days_from_monday() >= 5 {
                0.35
            } else {
                1.0
            }
        })
        .collect();
    let day_total: f64 = day_weights.iter().sum();
    let bar = indicatif::ProgressBar::new(events);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} events {per_sec} eta {eta}")
            .expect("a valid template"),
    );
    let mut landed = 0u64;
    let mut sequence: u128 = 0;
    let tenant_names: Vec<String> = tenants.iter().map(ToString::to_string).collect();
    for day in 0..MONTH_DAYS {
        let date = first + chrono::Duration::days(i64::from(day));
        let mut writer = RecordBatchWriter::for_table(&table)?
            .with_writer_properties(tenet_lakehouse::tables::writer_properties());
        let mut columns = Columns::new();
        for (index, tenant) in tenant_names.iter().enumerate() {
            // Rows of one tenant end up together, in tenant order: files cluster by tenant.
            let expected = calls_total * weights[index] * day_weights[day as usize] / day_total;
            let calls = expected.floor() as u64 + u64::from(rng.random::<f64>() < expected.fract());
            let queues = 1 + index % 5;
            let mut arrivals: Vec<NaiveDateTime> = (0..calls)
                .map(|_| {
                    let slot = pick(&profile, rng.random::<f64>());
                    let second = slot as u32 * 1800 + rng.random_range(0..1800);
                    date.and_time(
                        NaiveTime::from_num_seconds_from_midnight_opt(second, 0).expect("in a day"),
                    )
                })
                .collect();
            arrivals.sort_unstable();
            for arrived in arrivals {
                sequence += 1;
                let call = format!("c{sequence}");
                let queue = format!("q{}", rng.random_range(0..queues));
                let project = format!("p{}", index % 3);
                let roll = rng.random::<f64>();
                let wait = (-rng.random::<f64>().max(1e-12).ln() * 25.0) as i64;
                if roll < 0.03 {
                    columns.push(
                        sequence << 2,
                        tenant,
                        "call.ended",
                        arrived,
                        &call,
                        None,
                        None,
                        None,
                        Some(("ivr_hangup", 0, 0, 0, 0)),
                    );
                    continue;
                }
                columns.push(
                    sequence << 2,
                    tenant,
                    "call.offered",
                    arrived,
                    &call,
                    Some(&queue),
                    Some(&project),
                    None,
                    None,
                );
                let (outcome, agent, talk, hold, acw) = if roll < 0.88 {
                    let normal = (-2.0 * rng.random::<f64>().max(1e-12).ln()).sqrt()
                        * (std::f64::consts::TAU * rng.random::<f64>()).cos();
                    let talk = (5.2 + 0.6 * normal).exp() as i64;
                    let hold = if rng.random::<f64>() < 0.15 {
                        rng.random_range(10..120)
                    } else {
                        0
                    };
                    (
                        "answered",
                        Some(format!("a{}", rng.random_range(0..(5 + queues * 4)))),
                        talk,
                        hold,
                        rng.random_range(0..60),
                    )
                } else if roll < 0.98 {
                    (
                        if wait < 5 {
                            "short_abandon"
                        } else {
                            "abandoned"
                        },
                        None,
                        0,
                        0,
                        0,
                    )
                } else {
                    ("flowed_out", None, 0, 0, 0)
                };
                let ended_at = arrived + chrono::Duration::seconds(wait + talk + hold);
                columns.push(
                    (sequence << 2) | 1,
                    tenant,
                    "call.ended",
                    ended_at,
                    &call,
                    Some(&queue),
                    Some(&project),
                    agent.as_deref(),
                    Some((outcome, wait, talk, hold, acw)),
                );
                if columns.rows >= 1 << 20 {
                    let batch = columns.finish()?;
                    landed += batch.num_rows() as u64;
                    bar.inc(batch.num_rows() as u64);
                    writer.write(batch).await?;
                }
            }
        }
        let batch = columns.finish()?;
        landed += batch.num_rows() as u64;
        bar.inc(batch.num_rows() as u64);
        writer.write(batch).await?;
        writer.flush_and_commit(&mut table).await?;
    }
    bar.finish_and_clear();
    Ok(landed)
}

fn pick(weights: &[f64], mut u: f64) -> usize {
    for (index, weight) in weights.iter().enumerate() {
        if u < *weight {
            return index;
        }
        u -= weight;
    }
    weights.len() - 1
}

fn parquet_files(dir: &Path) -> anyhow::Result<(usize, u64)> {
    let mut files = 0;
    let mut bytes = 0;
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in
            std::fs::read_dir(&dir).with_context(|| format!("cannot list {}", dir.display()))?
        {
            let entry = entry?;
            let path = entry.path();
            if path.is_dir() {
                if !path.ends_with("_delta_log") {
                    pending.push(path);
                }
            } else if path.extension().is_some_and(|ext| ext == "parquet") {
                files += 1;
                bytes += entry.metadata()?.len();
            }
        }
    }
    Ok((files, bytes))
}

/// DuckDB's medians for (a) and (b) over the same files, from the bundled script.
async fn duckdb(
    bench: &ReportBench,
    table: &Path,
    tenant: TenantId,
) -> anyhow::Result<serde_json::Value> {
    let script = include_str!("duckdb_reports.py");
    let output = tokio::process::Command::new(&bench.python)
        .arg("-c")
        .arg(script)
        .arg(table)
        .arg(tenant.to_string())
        .arg(bench.runs.to_string())
        .arg(DAILY_SUMMARY_SQL)
        .output()
        .await
        .with_context(|| format!("cannot run {} (it needs the duckdb package)", bench.python))?;
    anyhow::ensure!(
        output.status.success(),
        "DuckDB failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(serde_json::from_slice(&output.stdout)?)
}

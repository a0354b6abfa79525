//! Golden-table tests of the report catalog over real Delta tables.
//!
//! Each test lands a handful of events in a lake in a temporary directory (through the
//! deltalake writer, as the lake writer does), runs a report in a tenant's session and
//! compares the whole result table with the expected one.

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::util::pretty::pretty_format_batches;
use datafusion::object_store::path::Path;
use datafusion::physical_plan::displayable;
use datafusion::prelude::SessionContext;
use futures::TryStreamExt as _;
use tenet_events::{EventFamily, TenantId};
use tenet_lakehouse::deltalake::arrow::json::ReaderBuilder;
use tenet_lakehouse::deltalake::writer::{DeltaWriter as _, RecordBatchWriter};
use tenet_lakehouse::reports::{self, Params};
use tenet_lakehouse::sql::{self, SqlError, SqlLimits};
use tenet_lakehouse::{Lake, LakeReader, LakeTable, ReaderConfig, Scope};
use uuid::Uuid;

const TENANT_A: u128 = 0xa;
const TENANT_B: u128 = 0xb;

fn tenant(n: u128) -> TenantId {
    TenantId::from_uuid(Uuid::from_u128(n))
}

/// A JSON row of a family's table; absent columns are null.
struct Rows {
    family: EventFamily,
    lines: Vec<serde_json::Value>,
}

impl Rows {
    fn new(family: EventFamily) -> Self {
        Self {
            family,
            lines: Vec::new(),
        }
    }

    fn push(&mut self, tenant_n: u128, event_type: &str, at: &str, mut fields: serde_json::Value) {
        let n = self.lines.len() as u128 + 1;
        let object = fields.as_object_mut().expect("an object");
        object.insert(
            "event_id".into(),
            Uuid::from_u128((tenant_n << 64) | (self.family as u128) << 48 | n)
                .to_string()
                .into(),
        );
        object.insert("tenant_id".into(), tenant(tenant_n).to_string().into());
        object.insert("event_type".into(), event_type.into());
        object.insert("schema_version".into(), 1.into());
        object.insert("occurred_at".into(), at.into());
        object.insert("event_date".into(), at[..10].into());
        self.lines.push(fields);
    }

    async fn land(self, lake: &Lake) {
        let schema = LakeTable::Events(self.family).arrow_schema();
        let text: String = self.lines.iter().map(|line| format!("{line}\n")).collect();
        let batches: Vec<RecordBatch> = ReaderBuilder::new(schema)
            .build(std::io::Cursor::new(text))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let mut table = lake
            .open_or_create(LakeTable::Events(self.family))
            .await
            .unwrap();
        let mut writer = RecordBatchWriter::for_table(&table)
            .unwrap()
            .with_writer_properties(tenet_lakehouse::tables::writer_properties());
        for batch in batches {
            writer.write(batch).await.unwrap();
        }
        writer.flush_and_commit(&mut table).await.unwrap();
    }
}

/// One call of a test lake: its `call.offered` (unless it hung up in the IVR) and
/// `call.ended` events.
struct Call<'a> {
    id: &'a str,
    queue: &'a str,
    offered_at: &'a str,
    ended_at: &'a str,
    outcome: &'a str,
    wait: i64,
    talk: i64,
    agent: Option<&'a str>,
}

fn call(rows: &mut Rows, tenant_n: u128, call: Call<'_>) {
    let Call {
        id,
        queue,
        offered_at,
        ended_at,
        outcome,
        wait,
        talk,
        agent,
    } = call;
    if outcome != "ivr_hangup" {
        rows.push(
            tenant_n,
            "call.offered",
            offered_at,
            serde_json::json!({"call_id": id, "queue_id": queue, "project_id": "p1"}),
        );
    }
    let mut ended = serde_json::json!({
        "call_id": id, "outcome": outcome, "wait_seconds": wait, "talk_seconds": talk,
        "hold_seconds": 0, "after_call_work_seconds": if talk > 0 { 30 } else { 0 },
    });
    if outcome != "ivr_hangup" {
        ended["queue_id"] = queue.into();
        ended["project_id"] = "p1".into();
    }
    if let Some(agent) = agent {
        ended["agent_id"] = agent.into();
    }
    rows.push(tenant_n, "call.ended", ended_at, ended);
}

/// Tenant A: five calls in two half-hours of 1 Feb 2026, plus tenant B's noise.
async fn call_lake() -> (tempfile::TempDir, LakeReader) {
    let dir = tempfile::tempdir().unwrap();
    let lake = Lake::in_dir(&dir.path().join("lake")).unwrap();
    let mut rows = Rows::new(EventFamily::Calls);
    let a = TENANT_A;
    call(
        &mut rows,
        a,
        Call {
            id: "c1",
            queue: "billing",
            offered_at: "2026-02-01T08:01:00Z",
            ended_at: "2026-02-01T08:05:00Z",
            outcome: "answered",
            wait: 10,
            talk: 200,
            agent: Some("ann"),
        },
    );
    call(
        &mut rows,
        a,
        Call {
            id: "c2",
            queue: "billing",
            offered_at: "2026-02-01T08:10:00Z",
            ended_at: "2026-02-01T08:14:00Z",
            outcome: "answered",
            wait: 40,
            talk: 100,
            agent: Some("bob"),
        },
    );
    call(
        &mut rows,
        a,
        Call {
            id: "c3",
            queue: "billing",
            offered_at: "2026-02-01T08:20:00Z",
            ended_at: "2026-02-01T08:20:03Z",
            outcome: "abandoned",
            wait: 3,
            talk: 0,
            agent: None,
        },
    );
    call(
        &mut rows,
        a,
        Call {
            id: "c4",
            queue: "sales",
            offered_at: "2026-02-01T08:40:00Z",
            ended_at: "2026-02-01T08:41:00Z",
            outcome: "abandoned",
            wait: 60,
            talk: 0,
            agent: None,
        },
    );
    call(
        &mut rows,
        a,
        Call {
            id: "c5",
            queue: "sales",
            offered_at: "2026-02-01T08:50:00Z",
            ended_at: "2026-02-01T08:50:00Z",
            outcome: "ivr_hangup",
            wait: 0,
            talk: 0,
            agent: None,
        },
    );
    // A call that arrives before midnight and ends after it counts on its arrival day.
    call(
        &mut rows,
        a,
        Call {
            id: "c6",
            queue: "sales",
            offered_at: "2026-02-01T23:59:00Z",
            ended_at: "2026-02-02T00:09:00Z",
            outcome: "answered",
            wait: 20,
            talk: 500,
            agent: Some("ann"),
        },
    );
    // The same call landing twice (a replay) changes nothing.
    call(
        &mut rows,
        a,
        Call {
            id: "c1",
            queue: "billing",
            offered_at: "2026-02-01T08:01:00Z",
            ended_at: "2026-02-01T08:05:00Z",
            outcome: "answered",
            wait: 10,
            talk: 200,
            agent: Some("ann"),
        },
    );
    for n in 0..20 {
        let id = format!("b{n}");
        call(
            &mut rows,
            TENANT_B,
            Call {
                id: &id,
                queue: "billing",
                offered_at: "2026-02-01T08:02:00Z",
                ended_at: "2026-02-01T08:03:00Z",
                outcome: "answered",
                wait: 1,
                talk: 60,
                agent: Some("eve"),
            },
        );
    }
    rows.land(&lake).await;
    let reader = LakeReader::new(lake, ReaderConfig::default()).unwrap();
    (dir, reader)
}

async fn report(reader: &LakeReader, scope: &Scope, name: &str, params: &[(&str, &str)]) -> String {
    let planned = reports::find(name)
        .unwrap()
        .plan(Params::from_pairs(params.iter().copied()))
        .unwrap();
    let session = reader.session(scope).await.unwrap();
    let rows = reports::run(&session, planned).await.unwrap();
    let batches: Vec<RecordBatch> = rows.stream.try_collect().await.unwrap();
    pretty_format_batches(&batches).unwrap().to_string()
}

/// A pretty-printed result read back as header and cells.
struct Table {
    text: String,
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    fn parse(text: String) -> Self {
        let mut cells = text
            .lines()
            .filter(|line| line.starts_with('|'))
            .map(|line| {
                let inner = &line[1..line.len() - 1];
                inner
                    .split('|')
                    .map(|cell| cell.trim().to_owned())
                    .collect::<Vec<_>>()
            });
        let header = cells.next().unwrap_or_default();
        let rows = cells.collect();
        Self { text, header, rows }
    }

    fn get(&self, row: usize, column: &str) -> &str {
        let index = self
            .header
            .iter()
            .position(|name| name == column)
            .unwrap_or_else(|| panic!("no column {column} in\n{}", self.text));
        &self.rows[row][index]
    }

    /// The named columns of every row, joined by `|`.
    fn project(&self, columns: &[&str]) -> Vec<String> {
        (0..self.rows.len())
            .map(|row| {
                columns
                    .iter()
                    .map(|column| self.get(row, column))
                    .collect::<Vec<_>>()
                    .join("|")
            })
            .collect()
    }
}

async fn table(reader: &LakeReader, scope: &Scope, name: &str, params: &[(&str, &str)]) -> Table {
    Table::parse(report(reader, scope, name, params).await)
}

/// The rows of `sql` in `ctx`, printed as a table.
async fn printed(ctx: &SessionContext, sql: &str) -> String {
    let batches = ctx.sql(sql).await.unwrap().collect().await.unwrap();
    pretty_format_batches(&batches).unwrap().to_string()
}

/// The Parquet files under `dir`, at any depth.
fn parquet_files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(parquet_files(&path));
        } else if path.extension().is_some_and(|ext| ext == "parquet") {
            files.push(path);
        }
    }
    files
}

#[tokio::test]
async fn a_scoped_report_leaves_the_page_index_of_each_file_it_read_cached() {
    let (dir, reader) = call_lake().await;
    let files = parquet_files(&dir.path().join("lake").join("calls"));
    assert!(!files.is_empty());
    let scope = Scope::tenant(tenant(TENANT_A));
    // Every day of the lake's calls, so the report reads every file.
    let params = [
        ("from", "2026-02-01"),
        ("to", "2026-02-03"),
        ("granularity", "day"),
    ];
    let first = report(&reader, &scope, "call_intervals", &params).await;

    let session = reader.session(&scope).await.unwrap();
    let cache = session
        .context()
        .runtime_env()
        .cache_manager
        .get_file_metadata_cache();
    for file in &files {
        let key = Path::from_absolute_path(file.canonicalize().unwrap()).unwrap();
        let cached = cache
            .get(&key)
            .unwrap_or_else(|| panic!("{key} is not in the metadata cache"));
        let info = cached.file_metadata.extra_info();
        assert_eq!(
            info.get("page_index").map(String::as_str),
            Some("true"),
            "{key} is cached without its page index"
        );
    }
    // Pruned with the cached page indexes, the report answers the same.
    assert_eq!(
        report(&reader, &scope, "call_intervals", &params).await,
        first
    );
}

#[tokio::test]
async fn call_intervals_count_each_call_once_in_its_arrival_interval() {
    let (_dir, reader) = call_lake().await;
    let result = table(
        &reader,
        &Scope::tenant(tenant(TENANT_A)),
        "call_intervals",
        &[
            ("from", "2026-02-01"),
            ("to", "2026-02-02"),
            ("granularity", "30min"),
        ],
    )
    .await;
    let columns = [
        "interval_start",
        "interval_end",
        "offered",
        "answered",
        "abandoned",
        "short_abandoned",
        "flowed_out",
        "ivr_hangups",
        "answered_within_threshold",
        "service_level",
        "abandon_rate",
        "asa_sec",
        "aht_sec",
        "avg_talk_sec",
        "avg_hold_sec",
        "avg_acw_sec",
        "longest_wait_sec",
        "transfer_rate",
    ];
    assert_eq!(
        result.project(&columns),
        [
            "2026-02-01T08:00:00|2026-02-01T08:30:00|3|2|1|1|0|0|1|0.3333333333333333|0.3333333333333333|25.0|180.0|150.0|0.0|30.0|40|0.0",
            "2026-02-01T08:30:00|2026-02-01T09:00:00|1|0|1|0|0|1|0|0.0|1.0||||||60|",
            "2026-02-01T23:30:00|2026-02-02T00:00:00|1|1|0|0|0|0|1|1.0|0.0|20.0|530.0|500.0|0.0|30.0|20|0.0",
        ],
        "\n{}",
        result.text
    );
}

#[tokio::test]
async fn every_interval_links_to_exactly_its_calls() {
    let (_dir, reader) = call_lake().await;
    let scope = Scope::tenant(tenant(TENANT_A));
    let table = report(
        &reader,
        &scope,
        "call_intervals",
        &[
            ("from", "2026-02-01"),
            ("to", "2026-02-02"),
            ("by", "queue"),
        ],
    )
    .await;
    let links: Vec<String> = table
        .lines()
        .filter_map(|line| {
            line.split('|')
                .map(str::trim)
                .find(|c| c.starts_with("/api/v1"))
        })
        .map(str::to_owned)
        .collect();
    assert_eq!(
        links,
        [
            "/api/v1/reports/calls?from=2026-02-01T08%3A00%3A00&to=2026-02-01T08%3A30%3A00&tz=UTC&queue=billing",
            "/api/v1/reports/calls?from=2026-02-01T08%3A30%3A00&to=2026-02-01T09%3A00%3A00&tz=UTC&queue=sales",
            "/api/v1/reports/calls?from=2026-02-01T08%3A30%3A00&to=2026-02-01T09%3A00%3A00&tz=UTC&queue=%28none%29",
            "/api/v1/reports/calls?from=2026-02-01T23%3A30%3A00&to=2026-02-02T00%3A00%3A00&tz=UTC&queue=sales",
        ]
    );
    // Following the first link lists the three billing calls of 08:00–08:30.
    let query = links[0].split_once('?').unwrap().1;
    let params: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    let planned = reports::find("calls")
        .unwrap()
        .plan(Params::from_pairs(params))
        .unwrap();
    let session = reader.session(&scope).await.unwrap();
    let rows = reports::run(&session, planned).await.unwrap();
    let batches: Vec<RecordBatch> = rows.stream.try_collect().await.unwrap();
    let detail = Table::parse(pretty_format_batches(&batches).unwrap().to_string());
    assert_eq!(
        detail.project(&["call_id", "outcome", "answered_within_threshold"]),
        [
            "c1|answered|true",
            "c2|answered|false",
            "c3|short_abandon|false"
        ],
        "\n{}",
        detail.text
    );
}

#[tokio::test]
async fn time_zone_moves_calls_into_local_intervals() {
    let (_dir, reader) = call_lake().await;
    let result = table(
        &reader,
        &Scope::tenant(tenant(TENANT_A)),
        "call_intervals",
        &[
            ("from", "2026-02-01"),
            ("to", "2026-02-03"),
            ("granularity", "day"),
            ("tz", "Asia/Jerusalem"),
        ],
    )
    .await;
    // 23:59 UTC is 01:59 on 2 February in Jerusalem (UTC+2 in winter).
    assert_eq!(
        result.project(&["interval_start", "interval_end", "offered"]),
        [
            "2026-02-01T00:00:00|2026-02-02T00:00:00|4",
            "2026-02-02T00:00:00|2026-02-03T00:00:00|1",
        ],
        "\n{}",
        result.text
    );
}

#[tokio::test]
async fn excluding_short_abandons_changes_offered_and_service_level() {
    let (_dir, reader) = call_lake().await;
    let result = table(
        &reader,
        &Scope::tenant(tenant(TENANT_A)),
        "call_intervals",
        &[
            ("from", "2026-02-01T08:00"),
            ("to", "2026-02-01T08:30"),
            ("exclude_short_abandons", "true"),
            ("sl_threshold_sec", "40"),
        ],
    )
    .await;
    // Offered 2 (the 3 s abandon is short), both answered within 40 s: SL 1.0.
    assert_eq!(
        result.project(&[
            "offered",
            "answered",
            "abandoned",
            "short_abandoned",
            "answered_within_threshold",
            "service_level"
        ]),
        ["2|2|0|1|2|1.0"],
        "\n{}",
        result.text
    );
    assert!(
        result
            .get(0, "drill_down")
            .ends_with("&sl_threshold_sec=40&exclude_short_abandons=true")
    );
}

#[tokio::test]
async fn another_tenants_rows_never_show_through_reports_or_sql() {
    let (_dir, reader) = call_lake().await;
    let scope = Scope::tenant(tenant(TENANT_A));
    let other = tenant(TENANT_B).to_string();
    // Filters naming the other tenant's values find nothing.
    let result = table(
        &reader,
        &scope,
        "calls",
        &[
            ("from", "2026-02-01"),
            ("to", "2026-02-02"),
            ("agent", "eve"),
        ],
    )
    .await;
    assert!(result.rows.is_empty(), "{}", result.text);
    let session = reader.session(&scope).await.unwrap();
    for text in [
        format!("select count(*) as n from calls where tenant_id = '{other}'"),
        format!("select count(*) as n from calls where tenant_id <> '{other}' or tenant_id = '{other}' having count(*) > 14"),
        "select count(*) as n from calls where call_id like 'b%'".to_owned(),
        "select count(*) as n from (select * from calls union all select * from calls) where agent_id = 'eve'".to_owned(),
    ] {
        let rows = sql::query(&session, &text, SqlLimits::default()).await.unwrap();
        let batches: Vec<RecordBatch> = rows.stream.try_collect().await.unwrap();
        let out = Table::parse(pretty_format_batches(&batches).unwrap().to_string());
        let counts: Vec<String> = out.project(&["n"]);
        assert!(counts.is_empty() || counts == ["0"], "{text}: {}", out.text);
    }
    let all = sql::query(
        &session,
        "select count(*) as n from calls",
        SqlLimits::default(),
    )
    .await
    .unwrap();
    let batches: Vec<RecordBatch> = all.stream.try_collect().await.unwrap();
    let out = Table::parse(pretty_format_batches(&batches).unwrap().to_string());
    assert_eq!(out.project(&["n"]), ["13"], "tenant A has 13 call rows");
}

#[tokio::test]
async fn sql_refuses_anything_but_reading() {
    let (dir, reader) = call_lake().await;
    let session = reader
        .session(&Scope::tenant(tenant(TENANT_A)))
        .await
        .unwrap();
    let path = dir.path().join("lake/calls");
    for text in [
        "create table x as select 1".to_owned(),
        "insert into calls select * from calls".to_owned(),
        "drop table calls".to_owned(),
        format!(
            "create external table raw stored as parquet location '{}'",
            path.display()
        ),
        format!("copy (select 1) to '{}/x.csv'", dir.path().display()),
        "set datafusion.execution.target_partitions = 1".to_owned(),
        "select * from information_schema.tables".to_owned(),
        "select * from dead_letters".to_owned(),
        String::new(),
    ] {
        let error = match sql::query(&session, &text, SqlLimits::default()).await {
            Err(error) => error,
            Ok(rows) => match rows.stream.try_collect::<Vec<_>>().await {
                Err(error) => SqlError::Query(error),
                Ok(_) => panic!("`{text}` was allowed"),
            },
        };
        assert!(
            matches!(error, SqlError::Refused(_) | SqlError::Text(_)),
            "{text}: {error}"
        );
    }
}

#[tokio::test]
async fn sql_stops_at_its_row_limit_with_an_error() {
    let (_dir, reader) = call_lake().await;
    let session = reader
        .session(&Scope::tenant(tenant(TENANT_A)))
        .await
        .unwrap();
    let limits = SqlLimits {
        max_rows: 3,
        ..SqlLimits::default()
    };
    let rows = sql::query(&session, "select * from calls", limits)
        .await
        .unwrap();
    let error = rows.stream.try_collect::<Vec<_>>().await.unwrap_err();
    assert!(error.to_string().contains("more than 3 rows"), "{error}");
}

#[tokio::test]
async fn a_project_scope_sees_only_its_projects_calls() {
    let (_dir, reader) = call_lake().await;
    let mine = Scope::projects(tenant(TENANT_A), ["p1".to_owned()]);
    let theirs = Scope::projects(tenant(TENANT_A), ["p2".to_owned()]);
    let params = [
        ("from", "2026-02-01"),
        ("to", "2026-02-03"),
        ("granularity", "month"),
    ];
    let result = table(&reader, &mine, "call_intervals", &params).await;
    assert_eq!(
        result.project(&["interval_start", "interval_end", "offered", "ivr_hangups"]),
        ["2026-02-01T00:00:00|2026-03-01T00:00:00|5|0"],
        "\n{}",
        result.text
    );
    let result = table(&reader, &theirs, "call_intervals", &params).await;
    assert!(result.rows.is_empty(), "{}", result.text);
}

#[tokio::test]
async fn agent_performance_adds_state_time_to_handling() {
    let (dir, reader) = call_lake().await;
    let lake = Lake::in_dir(&dir.path().join("lake")).unwrap();
    let mut states = Rows::new(EventFamily::AgentState);
    let a = TENANT_A;
    states.push(
        a,
        "agent.logged_in",
        "2026-02-01T08:00:00Z",
        serde_json::json!({"agent_id": "ann"}),
    );
    states.push(
        a,
        "agent.ready",
        "2026-02-01T08:00:00Z",
        serde_json::json!({"agent_id": "ann"}),
    );
    states.push(
        a,
        "agent.not_ready",
        "2026-02-01T09:00:00Z",
        serde_json::json!({"agent_id": "ann", "reason": "lunch"}),
    );
    states.push(
        a,
        "agent.ready",
        "2026-02-01T09:30:00Z",
        serde_json::json!({"agent_id": "ann"}),
    );
    states.push(
        a,
        "agent.logged_out",
        "2026-02-01T10:00:00Z",
        serde_json::json!({"agent_id": "ann"}),
    );
    states.land(&lake).await;
    let scope = Scope::tenant(tenant(TENANT_A));
    let result = table(
        &reader,
        &scope,
        "agent_performance",
        &[
            ("from", "2026-02-01"),
            ("to", "2026-02-02"),
            ("agent", "ann"),
        ],
    )
    .await;
    // 90 min ready, 30 not ready; handled c1 (200 + 30) and c6 (500 + 30) = 760 s.
    assert_eq!(
        result.project(&[
            "agent_id",
            "first_login",
            "last_logout",
            "logged_in_sec",
            "ready_sec",
            "not_ready_sec",
            "handled",
            "talk_sec",
            "hold_sec",
            "acw_sec",
            "handle_sec",
            "aht_sec",
            "idle_sec",
            "occupancy",
            "transfers",
            "drill_down",
        ]),
        [
            "ann|2026-02-01T08:00:00|2026-02-01T10:00:00|7200.0|5400.0|1800.0|2|700|0|60|760|380.0|4640.0|0.14074074074074075|0|/api/v1/reports/calls?from=2026-02-01T00%3A00%3A00&to=2026-02-02T00%3A00%3A00&tz=UTC&agent=ann"
        ],
        "\n{}",
        result.text
    );
    let spans = table(
        &reader,
        &scope,
        "agent_states",
        &[("from", "2026-02-01"), ("to", "2026-02-02")],
    )
    .await;
    assert_eq!(
        spans.project(&[
            "agent_id",
            "state",
            "reason",
            "started_at",
            "ended_at",
            "duration_sec"
        ]),
        [
            "ann|logged_in||2026-02-01T08:00:00|2026-02-01T08:00:00|0.0",
            "ann|ready||2026-02-01T08:00:00|2026-02-01T09:00:00|3600.0",
            "ann|not_ready|lunch|2026-02-01T09:00:00|2026-02-01T09:30:00|1800.0",
            "ann|ready||2026-02-01T09:30:00|2026-02-01T10:00:00|1800.0",
        ],
        "\n{}",
        spans.text
    );
}

/// Tenant A's week of 2 February 2026: version 1 (superseded), version 2 (in force) and the
/// activities of a version 3 whose `schedule.published` has not landed; Ann's and Bob's
/// states and one call of Ann's; tenant B publishes a version 5 of the same week.
async fn adherence_lake() -> (tempfile::TempDir, LakeReader) {
    let dir = tempfile::tempdir().unwrap();
    let lake = Lake::in_dir(&dir.path().join("lake")).unwrap();
    let (a, b) = (TENANT_A, TENANT_B);
    let mut schedules = Rows::new(EventFamily::Schedules);
    let mut activity = |tenant_n,
                        version: i32,
                        agent: &str,
                        activity: &str,
                        from: &str,
                        to: &str| {
        schedules.push(
            tenant_n,
            "schedule.activity_scheduled",
            "2026-01-30T15:00:00Z",
            serde_json::json!({
                "schedule_id": format!("s{version}"), "week_start": "2026-02-02", "version": version,
                "agent_id": agent, "activity": activity,
                "starts_at": format!("2026-02-02T{from}:00Z"), "ends_at": format!("2026-02-02T{to}:00Z"),
            }),
        );
    };
    activity(a, 1, "ann", "work", "08:00", "12:00");
    activity(a, 2, "ann", "work", "09:00", "10:00");
    activity(a, 2, "ann", "break", "10:00", "10:15");
    activity(a, 2, "ann", "work", "10:15", "11:00");
    activity(a, 2, "bob", "work", "09:00", "10:00");
    activity(a, 2, "bob", "lunch", "10:00", "10:30");
    activity(a, 3, "ann", "work", "12:00", "13:00");
    activity(b, 5, "ann", "work", "09:00", "17:00");
    for (tenant_n, version) in [(a, 1), (a, 2), (b, 5)] {
        schedules.push(
            tenant_n,
            "schedule.published",
            "2026-01-30T15:00:00Z",
            serde_json::json!({
                "schedule_id": format!("s{version}"), "week_start": "2026-02-02", "version": version,
                "time_zone": "UTC", "agents": 2, "activities": 5,
            }),
        );
    }
    schedules.land(&lake).await;
    let mut states = Rows::new(EventFamily::AgentState);
    for (agent, event_type, at, reason) in [
        ("ann", "agent.logged_in", "08:55", None),
        ("ann", "agent.ready", "09:00", None),
        ("ann", "agent.not_ready", "09:40", Some("coffee")),
        ("ann", "agent.ready", "10:20", None),
        ("ann", "agent.logged_out", "10:50", None),
        ("bob", "agent.logged_in", "09:30", None),
        ("bob", "agent.ready", "09:30", None),
        ("bob", "agent.logged_out", "10:00", None),
        ("cat", "agent.ready", "09:00", None),
    ] {
        let mut fields = serde_json::json!({"agent_id": agent});
        if let Some(reason) = reason {
            fields["reason"] = reason.into();
        }
        states.push(a, event_type, &format!("2026-02-02T{at}:00Z"), fields);
    }
    states.land(&lake).await;
    let mut calls = Rows::new(EventFamily::Calls);
    calls.push(
        a,
        "call.answered",
        "2026-02-02T09:50:00Z",
        serde_json::json!({"call_id": "a1", "queue_id": "billing", "agent_id": "ann", "wait_seconds": 3}),
    );
    calls.push(
        a,
        "call.ended",
        "2026-02-02T10:05:00Z",
        serde_json::json!({"call_id": "a1", "queue_id": "billing", "agent_id": "ann", "outcome": "answered"}),
    );
    calls.land(&lake).await;
    let reader = LakeReader::new(lake, ReaderConfig::default()).unwrap();
    (dir, reader)
}

const ADHERENCE_COLUMNS: [&str; 9] = [
    "agent_id",
    "scheduled_sec",
    "scheduled_work_sec",
    "in_adherence_sec",
    "out_of_adherence_sec",
    "worked_sec",
    "adherence",
    "conformance",
    "drill_down",
];

#[tokio::test]
async fn agent_adherence_compares_the_latest_published_schedule_with_states_and_calls() {
    let (_dir, reader) = adherence_lake().await;

    let result = table(
        &reader,
        &Scope::tenant(tenant(TENANT_A)),
        "agent_adherence",
        &[("from", "2026-02-02"), ("to", "2026-02-03")],
    )
    .await;

    // Ann, scheduled 09:00–11:00 by version 2 (work, break 10:00–10:15, work):
    //   09:00–09:40 work, ready: in        2400
    //   09:40–09:50 work, not ready: out    600
    //   09:50–10:00 work, on a call: in     600
    //   10:00–10:05 break, on a call: out   300
    //   10:05–10:15 break, not ready: in    600
    //   10:15–10:20 work, not ready: out    300
    //   10:20–10:50 work, ready: in        1800
    //   10:50–11:00 work, logged out: out   600
    // scheduled 7200 (work 6300), in 5400, out 1800, adherence 0.75; logged in until 10:50:
    // worked 6600, conformance 6600 / 7200.
    // Bob, 09:00–10:00 work and 10:00–10:30 lunch: absent 09:00–09:30 (out 1800), ready
    // 09:30–10:00 (in 1800), logged out at lunch (in 1800): adherence 1 − 1800 / 5400;
    // worked 1800, conformance 1800 / 5400. Cat has no schedule; version 1, the unclosed
    // version 3 and tenant B's version 5 count for nothing.
    assert_eq!(
        result.project(&ADHERENCE_COLUMNS),
        [
            "ann|7200.0|6300.0|5400.0|1800.0|6600.0|0.75|0.9166666666666666|/api/v1/reports/agent_states?from=2026-02-02T00%3A00%3A00&to=2026-02-03T00%3A00%3A00&tz=UTC&agent=ann",
            "bob|5400.0|3600.0|3600.0|1800.0|1800.0|0.6666666666666667|0.3333333333333333|/api/v1/reports/agent_states?from=2026-02-02T00%3A00%3A00&to=2026-02-03T00%3A00%3A00&tz=UTC&agent=bob",
        ],
        "\n{}",
        result.text
    );
}

#[tokio::test]
async fn agent_adherence_clips_the_schedule_to_the_period_and_its_time_zone() {
    let (_dir, reader) = adherence_lake().await;

    // 10:45–11:10 in Berlin (UTC+1) is 09:45–10:10 UTC.
    let result = table(
        &reader,
        &Scope::tenant(tenant(TENANT_A)),
        "agent_adherence",
        &[
            ("from", "2026-02-02T10:45"),
            ("to", "2026-02-02T11:10"),
            ("tz", "Europe/Berlin"),
            ("agent", "ann"),
        ],
    )
    .await;

    // 09:45–09:50 work, not ready: out 300; 09:50–10:00 work, on a call: in 600;
    // 10:00–10:05 break, on a call: out 300; 10:05–10:10 break, not ready: in 300.
    assert_eq!(
        result.project(&ADHERENCE_COLUMNS[..8]),
        ["ann|1500.0|900.0|900.0|600.0|1500.0|0.6|1.0"],
        "\n{}",
        result.text
    );
}

#[tokio::test]
async fn a_night_shift_across_a_clock_change_counts_the_hours_it_really_lasts() {
    // Berlin springs forward on 29 March 2026: 02:00 CET becomes 03:00 CEST (01:00 UTC).
    // Dan works 00:00 CET to 07:00 CEST: seven hours on the wall clock, six in fact.
    let dir = tempfile::tempdir().unwrap();
    let lake = Lake::in_dir(&dir.path().join("lake")).unwrap();
    let mut schedules = Rows::new(EventFamily::Schedules);
    schedules.push(
        TENANT_A,
        "schedule.activity_scheduled",
        "2026-03-20T12:00:00Z",
        serde_json::json!({
            "schedule_id": "s1", "week_start": "2026-03-23", "version": 1, "agent_id": "dan",
            "activity": "work", "starts_at": "2026-03-28T23:00:00Z", "ends_at": "2026-03-29T05:00:00Z",
        }),
    );
    schedules.push(
        TENANT_A,
        "schedule.published",
        "2026-03-20T12:00:00Z",
        serde_json::json!({
            "schedule_id": "s1", "week_start": "2026-03-23", "version": 1,
            "time_zone": "Europe/Berlin", "agents": 1, "activities": 1,
        }),
    );
    schedules.land(&lake).await;
    let mut states = Rows::new(EventFamily::AgentState);
    for (event_type, at) in [
        ("agent.logged_in", "2026-03-28T23:00:00Z"),
        ("agent.ready", "2026-03-28T23:00:00Z"),
        ("agent.logged_out", "2026-03-29T05:00:00Z"),
    ] {
        states.push(
            TENANT_A,
            event_type,
            at,
            serde_json::json!({"agent_id": "dan"}),
        );
    }
    states.land(&lake).await;
    let reader = LakeReader::new(lake, ReaderConfig::default()).unwrap();
    let scope = Scope::tenant(tenant(TENANT_A));
    let night = [
        ("from", "2026-03-29"),
        ("to", "2026-03-30"),
        ("tz", "Europe/Berlin"),
    ];

    let adherence = table(&reader, &scope, "agent_adherence", &night).await;
    assert_eq!(
        adherence.project(&ADHERENCE_COLUMNS[..8]),
        ["dan|21600.0|21600.0|21600.0|0.0|21600.0|1.0|1.0"],
        "\n{}",
        adherence.text
    );
    let performance = table(&reader, &scope, "agent_performance", &night).await;
    assert_eq!(
        performance.project(&[
            "agent_id",
            "first_login",
            "last_logout",
            "logged_in_sec",
            "ready_sec"
        ]),
        ["dan|2026-03-29T00:00:00|2026-03-29T07:00:00|21600.0|21600.0"],
        "\n{}",
        performance.text
    );
    let spans = table(&reader, &scope, "agent_states", &night).await;
    assert_eq!(
        spans.project(&["state", "started_at", "ended_at", "duration_sec"]),
        // Logging in took no time and ends where the period starts: no span of it is shown.
        ["ready|2026-03-29T00:00:00|2026-03-29T07:00:00|21600.0"],
        "\n{}",
        spans.text
    );
}

#[tokio::test]
async fn ticket_intervals_follow_phases_backlog_and_first_contact_resolution() {
    let dir = tempfile::tempdir().unwrap();
    let lake = Lake::in_dir(&dir.path().join("lake")).unwrap();
    let mut rows = Rows::new(EventFamily::Tickets);
    let a = TENANT_A;
    let created = |id: &str, customer: &str| serde_json::json!({"ticket_id": id, "channel": "email", "customer_id": customer, "queue_id": "billing", "project_id": "p1"});
    // Created before the period: open at its start.
    rows.push(
        a,
        "ticket.created",
        "2026-01-31T10:00:00Z",
        created("t0", "k0"),
    );
    // t1: answered in 30 min, solved then closed (one resolution), never reopened.
    rows.push(
        a,
        "ticket.created",
        "2026-02-01T09:00:00Z",
        created("t1", "k1"),
    );
    rows.push(
        a,
        "ticket.commented",
        "2026-02-01T09:30:00Z",
        serde_json::json!({"ticket_id": "t1", "author_kind": "agent", "public": true}),
    );
    rows.push(
        a,
        "ticket.status_changed",
        "2026-02-01T10:00:00Z",
        serde_json::json!({"ticket_id": "t1", "status_from": "open", "status_to": "solved"}),
    );
    rows.push(
        a,
        "ticket.closed",
        "2026-02-01T11:00:00Z",
        serde_json::json!({"ticket_id": "t1"}),
    );
    // t2: closed, reopened, closed again the next day.
    rows.push(
        a,
        "ticket.created",
        "2026-02-01T12:00:00Z",
        created("t2", "k2"),
    );
    rows.push(
        a,
        "ticket.closed",
        "2026-02-01T13:00:00Z",
        serde_json::json!({"ticket_id": "t2"}),
    );
    rows.push(
        a,
        "ticket.reopened",
        "2026-02-02T08:00:00Z",
        serde_json::json!({"ticket_id": "t2"}),
    );
    rows.push(
        a,
        "ticket.closed",
        "2026-02-02T09:00:00Z",
        serde_json::json!({"ticket_id": "t2"}),
    );
    // t3: the same customer as t1 comes back within a week: t1 was not FCR.
    rows.push(
        a,
        "ticket.created",
        "2026-02-02T10:00:00Z",
        created("t3", "k1"),
    );
    rows.land(&lake).await;
    let reader = LakeReader::new(lake, ReaderConfig::default()).unwrap();
    let result = table(
        &reader,
        &Scope::tenant(tenant(TENANT_A)),
        "ticket_intervals",
        &[
            ("from", "2026-02-01"),
            ("to", "2026-02-03"),
            ("granularity", "day"),
        ],
    )
    .await;
    assert_eq!(
        result.project(&[
            "interval_start",
            "interval_end",
            "created",
            "resolved",
            "reopened",
            "backlog",
            "avg_first_response_min",
            "avg_resolution_min",
            "first_response_sla_met",
            "resolution_sla_met",
            "fcr_rate",
            "reopen_rate",
            "open_now",
        ]),
        [
            "2026-02-01T00:00:00|2026-02-02T00:00:00|2|2|0|1|30.0|660.0|0.5|1.0|0.0|0.5|0",
            "2026-02-02T00:00:00|2026-02-03T00:00:00|1|1|1|2|||0.0|0.0|||1",
        ],
        "\n{}",
        result.text
    );
    let tickets = table(
        &reader,
        &Scope::tenant(tenant(TENANT_A)),
        "tickets",
        &[("from", "2026-02-01"), ("to", "2026-02-03")],
    )
    .await;
    assert_eq!(
        tickets.project(&["ticket_id", "reopens", "first_contact_resolution"]),
        ["t1|0|false", "t2|1|false", "t3|0|"],
        "\n{}",
        tickets.text
    );
}

#[tokio::test]
async fn the_catalog_lists_every_report_once_with_its_columns() {
    let names: Vec<&str> = reports::catalog()
        .iter()
        .map(|report| report.definition().name)
        .collect();
    assert_eq!(
        names,
        [
            "call_intervals",
            "calls",
            "agent_performance",
            "agent_states",
            "agent_adherence",
            "ticket_intervals",
            "tickets",
            "survey_intervals",
            "survey_answers",
            "qa_intervals",
            "qa_evaluations"
        ]
    );
    for report in reports::catalog() {
        assert!(!report.definition().columns.is_empty());
    }
}

/// Tenant A: three respondents of one survey on 1 February 2026; tenant B: one.
async fn survey_lake() -> (tempfile::TempDir, LakeReader) {
    let dir = tempfile::tempdir().unwrap();
    let lake = Lake::in_dir(&dir.path().join("lake")).unwrap();
    let mut rows = Rows::new(EventFamily::Surveys);
    let answers: [(u128, &str, &str, &str, &str, i16); 8] = [
        (TENANT_A, "r1", "ann", "2026-02-01T09:00:00Z", "csat", 5),
        (TENANT_A, "r1", "ann", "2026-02-01T09:00:00Z", "nps", 10),
        (TENANT_A, "r2", "ann", "2026-02-01T09:10:00Z", "csat", 3),
        (TENANT_A, "r2", "ann", "2026-02-01T09:10:00Z", "nps", 9),
        (TENANT_A, "r3", "bob", "2026-02-01T10:00:00Z", "csat", 4),
        (TENANT_A, "r3", "bob", "2026-02-01T10:00:00Z", "nps", 8),
        (TENANT_A, "r3", "bob", "2026-02-01T10:00:00Z", "ces", 2),
        (TENANT_B, "r9", "eve", "2026-02-01T09:30:00Z", "csat", 1),
    ];
    for (tenant_n, response, agent, at, scale, score) in answers {
        rows.push(
            tenant_n,
            "survey.answered",
            at,
            serde_json::json!({
                "survey_id": "after-call", "response_id": response, "question_id": scale,
                "scale": scale, "score": score, "subject_kind": "call",
                "subject_id": format!("call-{response}"), "agent_id": agent,
            }),
        );
    }
    rows.land(&lake).await;
    let reader = LakeReader::new(lake, ReaderConfig::default()).unwrap();
    (dir, reader)
}

#[tokio::test]
async fn survey_intervals_compute_csat_nps_and_effort_per_agent() {
    let (_dir, reader) = survey_lake().await;
    let scope = Scope::tenant(tenant(TENANT_A));
    let day = [("from", "2026-02-01"), ("to", "2026-02-02")];
    let total = table(&reader, &scope, "survey_intervals", &day).await;
    // CSAT: 5 and 4 of 5, 3, 4; NPS: promoters 10 and 9, no detractor, 8 passive.
    assert_eq!(
        total.project(&[
            "interval_start",
            "responses",
            "csat_answers",
            "csat",
            "csat_mean",
            "nps_answers",
            "nps",
            "ces_mean"
        ]),
        ["2026-02-01T00:00:00|3|3|0.6666666666666666|4.0|3|66.66666666666667|2.0"],
        "\n{}",
        total.text
    );
    let by_agent = [day[0], day[1], ("by", "agent")];
    let agents = table(&reader, &scope, "survey_intervals", &by_agent).await;
    assert_eq!(
        agents.project(&[
            "agent_id",
            "responses",
            "csat",
            "nps",
            "ces_mean",
            "drill_down"
        ]),
        [
            "ann|2|0.5|100.0||/api/v1/reports/survey_answers?from=2026-02-01T00%3A00%3A00&to=2026-02-02T00%3A00%3A00&tz=UTC&agent=ann",
            "bob|1|1.0|0.0|2.0|/api/v1/reports/survey_answers?from=2026-02-01T00%3A00%3A00&to=2026-02-02T00%3A00%3A00&tz=UTC&agent=bob",
        ],
        "\n{}",
        agents.text
    );
    let ann = [day[0], day[1], ("agent", "ann")];
    let answers = table(&reader, &scope, "survey_answers", &ann).await;
    assert_eq!(
        answers.project(&["response_id", "scale", "score", "subject_id"]),
        [
            "r1|csat|5|call-r1",
            "r1|nps|10|call-r1",
            "r2|csat|3|call-r2",
            "r2|nps|9|call-r2"
        ],
        "\n{}",
        answers.text
    );
}

/// One `qa.evaluated` row of a test lake.
struct Evaluation<'a> {
    id: &'a str,
    at: &'a str,
    scorecard: &'a str,
    subject: (&'a str, &'a str),
    agent: &'a str,
    evaluator: &'a str,
    points: i64,
    max_points: i64,
    critical: bool,
}

fn evaluation(rows: &mut Rows, tenant_n: u128, evaluation: Evaluation<'_>) {
    let Evaluation {
        id,
        at,
        scorecard,
        subject: (subject_kind, subject_id),
        agent,
        evaluator,
        points,
        max_points,
        critical,
    } = evaluation;
    rows.push(
        tenant_n,
        "qa.evaluated",
        at,
        serde_json::json!({
            "evaluation_id": id, "scorecard_id": scorecard, "subject_kind": subject_kind,
            "subject_id": subject_id, "agent_id": agent, "evaluator_id": evaluator,
            "points": points, "max_points": max_points, "critical_failure": critical,
        }),
    );
}

/// Tenant A: five evaluations of 1–2 February 2026 (one landing twice, one re-scored the same
/// day, one re-scored after the period); tenant B: one.
async fn qa_lake() -> (tempfile::TempDir, LakeReader) {
    let dir = tempfile::tempdir().unwrap();
    let lake = Lake::in_dir(&dir.path().join("lake")).unwrap();
    let mut rows = Rows::new(EventFamily::Qa);
    fn voice<'a>(
        id: &'a str,
        at: &'a str,
        call: &'a str,
        agent: &'a str,
        evaluator: &'a str,
        points: i64,
    ) -> Evaluation<'a> {
        Evaluation {
            id,
            at,
            scorecard: "voice",
            subject: ("call", call),
            agent,
            evaluator,
            points,
            max_points: 50,
            critical: false,
        }
    }
    let a = TENANT_A;
    evaluation(
        &mut rows,
        a,
        voice("ev1", "2026-02-01T09:00:00Z", "c1", "ann", "qa1", 45),
    );
    // The same evaluation landing twice counts once.
    evaluation(
        &mut rows,
        a,
        voice("ev1", "2026-02-01T09:00:00Z", "c1", "ann", "qa1", 45),
    );
    // Scored 70 %, then re-scored 80 % by another evaluator: only the latest counts, at 14:00.
    evaluation(
        &mut rows,
        a,
        voice("ev2", "2026-02-01T09:30:00Z", "c2", "ann", "qa1", 35),
    );
    evaluation(
        &mut rows,
        a,
        voice("ev2", "2026-02-01T14:00:00Z", "c2", "ann", "qa2", 40),
    );
    // Full points, but a critical criterion failed.
    evaluation(
        &mut rows,
        a,
        Evaluation {
            id: "ev3",
            at: "2026-02-01T10:00:00Z",
            scorecard: "email",
            subject: ("ticket", "t1"),
            agent: "bob",
            evaluator: "qa2",
            points: 20,
            max_points: 20,
            critical: true,
        },
    );
    evaluation(
        &mut rows,
        a,
        voice("ev4", "2026-02-02T08:00:00Z", "c3", "bob", "qa1", 30),
    );
    // Re-scored after the period: it belongs to the day of its latest score.
    evaluation(
        &mut rows,
        a,
        voice("ev5", "2026-02-01T11:00:00Z", "c4", "bob", "qa1", 50),
    );
    evaluation(
        &mut rows,
        a,
        voice("ev5", "2026-02-05T11:00:00Z", "c4", "bob", "qa1", 25),
    );
    evaluation(
        &mut rows,
        TENANT_B,
        voice("ev1", "2026-02-01T09:00:00Z", "c1", "eve", "qa9", 10),
    );
    rows.land(&lake).await;
    let reader = LakeReader::new(lake, ReaderConfig::default()).unwrap();
    (dir, reader)
}

const QA_INTERVAL_COLUMNS: [&str; 15] = [
    "interval_start",
    "interval_end",
    "evaluations",
    "agents_evaluated",
    "call_evaluations",
    "ticket_evaluations",
    "score_pct_mean",
    "score_pct_min",
    "score_pct_max",
    "points",
    "max_points",
    "passed",
    "pass_rate",
    "critical_failures",
    "critical_failure_rate",
];

#[tokio::test]
async fn qa_intervals_score_each_evaluation_once_with_its_latest_score() {
    let (_dir, reader) = qa_lake().await;
    let scope = Scope::tenant(tenant(TENANT_A));
    let days = [("from", "2026-02-01"), ("to", "2026-02-03")];

    let result = table(&reader, &scope, "qa_intervals", &days).await;

    // Day 1: ev1 90 % (passes), ev2 re-scored 80 % (passes at the threshold), ev3 100 % with
    // a critical failure (fails); ev5's latest score is on 5 February. Day 2: ev4 60 %.
    let mut columns = QA_INTERVAL_COLUMNS.to_vec();
    columns.push("drill_down");
    assert_eq!(
        result.header, columns,
        "the whole table, no other column\n{}",
        result.text
    );
    assert_eq!(
        result.project(&columns),
        [
            "2026-02-01T00:00:00|2026-02-02T00:00:00|3|2|2|1|90.0|80.0|100.0|105|120|2|0.6666666666666666|1|0.3333333333333333|/api/v1/reports/qa_evaluations?from=2026-02-01T00%3A00%3A00&to=2026-02-02T00%3A00%3A00&tz=UTC",
            "2026-02-02T00:00:00|2026-02-03T00:00:00|1|1|1|0|60.0|60.0|60.0|30|50|0|0.0|0|0.0|/api/v1/reports/qa_evaluations?from=2026-02-02T00%3A00%3A00&to=2026-02-03T00%3A00%3A00&tz=UTC",
        ],
        "\n{}",
        result.text
    );
}

#[tokio::test]
async fn qa_intervals_per_agent_link_to_exactly_their_evaluations() {
    let (_dir, reader) = qa_lake().await;
    let scope = Scope::tenant(tenant(TENANT_A));
    let params = [
        ("from", "2026-02-01"),
        ("to", "2026-02-02"),
        ("by", "agent"),
        ("pass_score_pct", "85"),
    ];

    let result = table(&reader, &scope, "qa_intervals", &params).await;

    let mut columns = QA_INTERVAL_COLUMNS.to_vec();
    columns.insert(2, "agent_id");
    columns.push("drill_down");
    assert_eq!(result.header, columns, "\n{}", result.text);
    assert_eq!(
        result.project(&columns),
        [
            "2026-02-01T00:00:00|2026-02-02T00:00:00|ann|2|1|2|0|85.0|80.0|90.0|85|100|1|0.5|0|0.0|/api/v1/reports/qa_evaluations?from=2026-02-01T00%3A00%3A00&to=2026-02-02T00%3A00%3A00&tz=UTC&agent=ann&pass_score_pct=85",
            "2026-02-01T00:00:00|2026-02-02T00:00:00|bob|1|1|0|1|100.0|100.0|100.0|20|20|0|0.0|1|1.0|/api/v1/reports/qa_evaluations?from=2026-02-01T00%3A00%3A00&to=2026-02-02T00%3A00%3A00&tz=UTC&agent=bob&pass_score_pct=85",
        ],
        "\n{}",
        result.text
    );

    // Following ann's link lists her two evaluations, ev2 with its re-score.
    let link = result.get(0, "drill_down");
    let query = link.split_once('?').unwrap().1;
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    let pairs: Vec<(&str, &str)> = pairs
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_str()))
        .collect();
    let detail = table(&reader, &scope, "qa_evaluations", &pairs).await;
    assert_eq!(
        detail.header,
        [
            "evaluated_at",
            "evaluation_id",
            "scorecard_id",
            "subject_kind",
            "subject_id",
            "agent_id",
            "evaluator_id",
            "points",
            "max_points",
            "score_pct",
            "critical_failure",
            "passed"
        ],
        "\n{}",
        detail.text
    );
    assert_eq!(
        detail.project(&detail.header.iter().map(String::as_str).collect::<Vec<_>>()),
        [
            "2026-02-01T09:00:00|ev1|voice|call|c1|ann|qa1|45|50|90.0|false|true",
            "2026-02-01T14:00:00|ev2|voice|call|c2|ann|qa2|40|50|80.0|false|false",
        ],
        "\n{}",
        detail.text
    );
}

#[tokio::test]
async fn qa_evaluations_follow_the_time_zone_and_the_breakdowns() {
    let (_dir, reader) = qa_lake().await;
    let scope = Scope::tenant(tenant(TENANT_A));
    let params = [
        ("from", "2026-02-01"),
        ("to", "2026-02-02"),
        ("tz", "Asia/Jerusalem"),
        ("granularity", "60min"),
        ("by", "evaluator,scorecard"),
    ];

    let result = table(&reader, &scope, "qa_intervals", &params).await;

    // Local UTC+2: ev1 at 11:00, ev3 at 12:00, ev2 re-scored at 16:00; ev4 is on 2 February
    // at 10:00 local, outside the period.
    assert_eq!(
        result.project(&[
            "interval_start",
            "scorecard_id",
            "evaluator_id",
            "evaluations",
            "score_pct_mean",
            "passed",
            "drill_down"
        ]),
        [
            "2026-02-01T11:00:00|voice|qa1|1|90.0|1|/api/v1/reports/qa_evaluations?from=2026-02-01T11%3A00%3A00&to=2026-02-01T12%3A00%3A00&tz=Asia%2FJerusalem&scorecard=voice&evaluator=qa1",
            "2026-02-01T12:00:00|email|qa2|1|100.0|0|/api/v1/reports/qa_evaluations?from=2026-02-01T12%3A00%3A00&to=2026-02-01T13%3A00%3A00&tz=Asia%2FJerusalem&scorecard=email&evaluator=qa2",
            "2026-02-01T16:00:00|voice|qa2|1|80.0|1|/api/v1/reports/qa_evaluations?from=2026-02-01T16%3A00%3A00&to=2026-02-01T17%3A00%3A00&tz=Asia%2FJerusalem&scorecard=voice&evaluator=qa2",
        ],
        "\n{}",
        result.text
    );
}

#[tokio::test]
async fn qa_reports_show_nothing_to_a_project_scope() {
    let (_dir, reader) = qa_lake().await;
    // Evaluations belong to no project, so a user bound to projects sees none.
    let scope = Scope::projects(tenant(TENANT_A), ["p1".to_owned()]);
    let days = [("from", "2026-02-01"), ("to", "2026-02-03")];
    for name in ["qa_intervals", "qa_evaluations"] {
        let result = table(&reader, &scope, name, &days).await;
        assert!(result.rows.is_empty(), "{name}: {}", result.text);
    }
}

#[tokio::test]
async fn no_report_shows_another_tenants_rows() {
    // Arrange: only tenant B has data, in every table a report reads.
    let dir = tempfile::tempdir().unwrap();
    let lake = Lake::in_dir(&dir.path().join("lake")).unwrap();
    let b = TENANT_B;
    let mut calls = Rows::new(EventFamily::Calls);
    call(
        &mut calls,
        b,
        Call {
            id: "b1",
            queue: "billing",
            offered_at: "2026-02-01T08:00:00Z",
            ended_at: "2026-02-01T08:05:00Z",
            outcome: "answered",
            wait: 5,
            talk: 200,
            agent: Some("eve"),
        },
    );
    calls.land(&lake).await;
    let mut states = Rows::new(EventFamily::AgentState);
    states.push(
        b,
        "agent.ready",
        "2026-02-01T08:00:00Z",
        serde_json::json!({"agent_id": "eve"}),
    );
    states.land(&lake).await;
    let mut tickets = Rows::new(EventFamily::Tickets);
    tickets.push(
        b,
        "ticket.created",
        "2026-02-01T08:00:00Z",
        serde_json::json!({"ticket_id": "t1", "channel": "email", "project_id": "p1"}),
    );
    tickets.land(&lake).await;
    let mut surveys = Rows::new(EventFamily::Surveys);
    surveys.push(
        b,
        "survey.answered",
        "2026-02-01T09:00:00Z",
        serde_json::json!({"survey_id": "s", "response_id": "r", "question_id": "q", "scale": "csat", "score": 5, "agent_id": "eve"}),
    );
    surveys.land(&lake).await;
    let mut qa = Rows::new(EventFamily::Qa);
    evaluation(
        &mut qa,
        b,
        Evaluation {
            id: "ev1",
            at: "2026-02-01T09:00:00Z",
            scorecard: "voice",
            subject: ("call", "b1"),
            agent: "eve",
            evaluator: "qa9",
            points: 40,
            max_points: 50,
            critical: false,
        },
    );
    qa.land(&lake).await;
    let mut schedules = Rows::new(EventFamily::Schedules);
    let week = serde_json::json!({"schedule_id": "s1", "week_start": "2026-01-26", "version": 1});
    let mut activity = week.clone();
    activity["agent_id"] = "eve".into();
    activity["activity"] = "work".into();
    activity["starts_at"] = "2026-02-01T08:00:00Z".into();
    activity["ends_at"] = "2026-02-01T09:00:00Z".into();
    schedules.push(
        b,
        "schedule.activity_scheduled",
        "2026-01-30T15:00:00Z",
        activity,
    );
    schedules.push(b, "schedule.published", "2026-01-30T15:00:00Z", week);
    schedules.land(&lake).await;
    let reader = LakeReader::new(lake, ReaderConfig::default()).unwrap();
    let days = [("from", "2026-02-01"), ("to", "2026-02-02")];

    for report in reports::catalog() {
        let name = report.definition().name;
        // Act: tenant A asks, tenant B sees its own.
        let mine = table(&reader, &Scope::tenant(tenant(TENANT_A)), name, &days).await;
        let theirs = table(&reader, &Scope::tenant(tenant(b)), name, &days).await;

        // Assert
        assert!(mine.rows.is_empty(), "{name}: {}", mine.text);
        assert!(
            !theirs.rows.is_empty(),
            "{name} reads its table: {}",
            theirs.text
        );
    }
}

/// `(total, matched)` of the `metric` pruning figure in an `EXPLAIN ANALYZE` text, summed
/// over the plan's scans: `row_groups_pruned_statistics=3 total → 1 matched`.
fn pruning(explained: &str, metric: &str) -> (usize, usize) {
    let mut sum = (0, 0);
    for part in explained.split(&format!("{metric}=")).skip(1) {
        let words: Vec<&str> = part.split_whitespace().collect();
        sum.0 += words[0].parse::<usize>().unwrap();
        assert_eq!((words[1], words[2]), ("total", "→"), "{part}");
        sum.1 += words[3].parse::<usize>().unwrap();
    }
    sum
}

#[tokio::test]
async fn a_tenants_scan_reads_its_own_row_groups_and_skips_the_others() {
    // Arrange: one day of 40 tenants with 4,000 events each, landed sorted by tenant with the
    // lake's writer properties, as the lake writer and compaction land them.
    let dir = tempfile::tempdir().unwrap();
    let lake = Lake::in_dir(&dir.path().join("lake")).unwrap();
    let mut rows = Rows::new(EventFamily::Calls);
    for tenant_n in 1..=40u128 {
        for n in 0..4_000 {
            let at = format!(
                "2026-02-01T{:02}:{:02}:{:02}Z",
                8 + n / 600,
                n / 10 % 60,
                n % 60
            );
            rows.push(
                tenant_n,
                "call.offered",
                &at,
                serde_json::json!({"call_id": format!("c{n}"), "queue_id": "q"}),
            );
        }
    }
    rows.land(&lake).await;
    let reader = LakeReader::new(lake, ReaderConfig::default()).unwrap();

    // Act: count the 7th tenant's calls, and how the scan got there.
    let session = reader.session(&Scope::tenant(tenant(7))).await.unwrap();
    let explained = printed(
        session.context(),
        "explain analyze select count(*) from calls",
    )
    .await;
    let counted = printed(session.context(), "select count(*) as n from calls").await;

    // Assert: 160,000 rows in three row groups of at most 65,536; the tenant's 4,000 lie in
    // one of them and the other two are never read.
    assert_eq!(counted, "+------+\n| n    |\n+------+\n| 4000 |\n+------+");
    assert_eq!(
        pruning(&explained, "row_groups_pruned_statistics"),
        (3, 1),
        "{explained}"
    );
}

#[tokio::test]
async fn a_scoped_scan_evaluates_each_condition_once() {
    let (_dir, reader) = call_lake().await;
    let scope = Scope::tenant(tenant(TENANT_A));
    let session = reader.session(&scope).await.unwrap();
    let sql = "select count(*) as n from calls where event_type = 'call.ended'";
    let frame = session.context().sql(sql).await.unwrap();
    let plan = frame.create_physical_plan().await.unwrap();
    let text = displayable(plan.as_ref()).indent(true).to_string();
    // The scope's tenant condition and the query's own both reach the Parquet scan, each
    // once, however many filters above the scan carried them there.
    let scan_filter = text
        .lines()
        .find_map(|line| line.split_once(" predicate="))
        .and_then(|(_, rest)| rest.split(", pruning_predicate=").next())
        .unwrap_or_else(|| panic!("no filter in the Parquet scan:\n{text}"));
    assert_eq!(scan_filter.matches("tenant_id@").count(), 1, "{text}");
    assert_eq!(scan_filter.matches("event_type@").count(), 1, "{text}");

    let scoped = printed(session.context(), sql).await;
    let platform = reader.platform_session().await.unwrap();
    let all = printed(
        &platform,
        &format!("{sql} and tenant_id = '{}'", tenant(TENANT_A)),
    )
    .await;
    assert_eq!(scoped, all);
    assert!(!scoped.contains("| 0 "), "{scoped}");
}

/// The days whose files the physical plan of `sql` reads.
async fn days_read(ctx: &SessionContext, sql: &str) -> Vec<String> {
    let plan = ctx
        .sql(sql)
        .await
        .unwrap()
        .create_physical_plan()
        .await
        .unwrap();
    let text = displayable(plan.as_ref()).indent(true).to_string();
    let mut days: Vec<String> = text
        .split("event_date=")
        .skip(1)
        .map(|rest| rest[..10].to_owned())
        .collect();
    days.sort();
    days.dedup();
    days
}

#[tokio::test]
async fn a_scan_reads_only_the_files_of_the_days_and_times_asked_for() {
    let dir = tempfile::tempdir().unwrap();
    let lake = Lake::in_dir(&dir.path().join("lake")).unwrap();
    let mut rows = Rows::new(EventFamily::Calls);
    for day in 1..=3 {
        for hour in [9, 17] {
            let at = format!("2026-02-{day:02}T{hour:02}:00:00Z");
            let fields = serde_json::json!({"call_id": format!("c{day}-{hour}"), "queue_id": "q"});
            rows.push(TENANT_A, "call.offered", &at, fields);
        }
    }
    rows.land(&lake).await;
    let reader = LakeReader::new(lake, ReaderConfig::default()).unwrap();
    let session = reader
        .session(&Scope::tenant(tenant(TENANT_A)))
        .await
        .unwrap();
    let ctx = session.context();

    let by_date = "select count(*) as n from calls where event_date = '2026-02-02'";
    assert_eq!(days_read(ctx, by_date).await, ["2026-02-02"]);
    assert_eq!(
        printed(ctx, by_date).await,
        "+---+\n| n |\n+---+\n| 2 |\n+---+"
    );
    // By the times in the log's statistics, without a condition on the day.
    let by_time = "select count(*) as n from calls where occurred_at >= '2026-02-02T12:00:00Z'";
    assert_eq!(days_read(ctx, by_time).await, ["2026-02-02", "2026-02-03"]);
    assert_eq!(
        printed(ctx, by_time).await,
        "+---+\n| n |\n+---+\n| 3 |\n+---+"
    );
    let every_day = "select count(*) as n from calls";
    assert_eq!(
        days_read(ctx, every_day).await,
        ["2026-02-01", "2026-02-02", "2026-02-03"]
    );
    let none = "select count(*) as n from calls where event_date > '2026-02-03'";
    assert!(days_read(ctx, none).await.is_empty());
    assert_eq!(
        printed(ctx, none).await,
        "+---+\n| n |\n+---+\n| 0 |\n+---+"
    );
}

#[tokio::test]
async fn an_event_within_the_millisecond_its_files_statistics_were_cut_to_is_found() {
    // The log records a file's latest time cut to the millisecond: 10:00:00.000 here, for an
    // event at 10:00:00.000700.
    let dir = tempfile::tempdir().unwrap();
    let lake = Lake::in_dir(&dir.path().join("lake")).unwrap();
    let mut rows = Rows::new(EventFamily::Calls);
    let fields = serde_json::json!({"call_id": "c1", "queue_id": "q"});
    rows.push(
        TENANT_A,
        "call.offered",
        "2026-02-01T10:00:00.000700Z",
        fields,
    );
    rows.land(&lake).await;
    let reader = LakeReader::new(lake, ReaderConfig::default()).unwrap();
    let session = reader
        .session(&Scope::tenant(tenant(TENANT_A)))
        .await
        .unwrap();

    let at = |bound: &str| {
        format!(
            "select count(*) as n from calls where occurred_at >= '2026-02-01T10:00:00.{bound}Z'"
        )
    };
    let one = "+---+\n| n |\n+---+\n| 1 |\n+---+";
    let zero = "+---+\n| n |\n+---+\n| 0 |\n+---+";
    assert_eq!(printed(session.context(), &at("000500")).await, one);
    assert_eq!(printed(session.context(), &at("000700")).await, one);
    assert_eq!(printed(session.context(), &at("000701")).await, zero);
    assert_eq!(printed(session.context(), &at("001000")).await, zero);
}

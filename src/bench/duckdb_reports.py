# DuckDB side of `tenet bench reports`: the same two queries over the same Parquet files.
# Arguments: TABLE_DIR TENANT RUNS DAILY_SUMMARY_SQL. Prints one JSON object.
import json
import os
import statistics
import sys
import time

import duckdb

table, tenant, runs, daily_sql = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
con = duckdb.connect()
con.execute("set TimeZone = 'UTC'")
# Queries over 2 s would otherwise draw a progress bar on stdout, in front of the figures.
con.execute("set enable_progress_bar = false")
con.execute(
    f"create view calls as select * from read_parquet('{table}/**/*.parquet', hive_partitioning = true)"
)

# The same report as Tenet's call_intervals with its defaults: every column it computes,
# transfers included, in DuckDB's own dialect.
INTERVALS = """
with offered as (
    select call_id, min(occurred_at) as offered_at
    from calls
    where tenant_id = $tenant and event_type = 'call.offered'
      and event_date >= date '2026-01-31' and event_date <= date '2026-03-02'
    group by call_id
),
ended as (
    select call_id,
           max(occurred_at) as ended_at,
           arg_max(outcome, occurred_at) as outcome,
           arg_max(wait_seconds, occurred_at) as wait_sec,
           arg_max(talk_seconds, occurred_at) as talk_sec,
           arg_max(hold_seconds, occurred_at) as hold_sec,
           arg_max(after_call_work_seconds, occurred_at) as acw_sec
    from calls
    where tenant_id = $tenant and event_type = 'call.ended'
      and event_date >= date '2026-01-31' and event_date <= date '2026-03-03'
    group by call_id
),
transfers as (
    select call_id, count(distinct event_id) as transfers
    from calls
    where tenant_id = $tenant and event_type = 'call.transferred'
      and event_date >= date '2026-01-31' and event_date <= date '2026-03-03'
    group by call_id
),
facts as (
    select coalesce(o.offered_at, e.ended_at) as arrived_at,
           case when e.outcome in ('abandoned', 'short_abandon') and e.wait_sec < 5 then 'short_abandon'
                when e.outcome in ('abandoned', 'short_abandon') then 'abandoned'
                else e.outcome end as outcome,
           e.wait_sec, e.talk_sec, e.hold_sec, e.acw_sec,
           coalesce(t.transfers, 0) as transfers
    from ended e
    left join offered o on o.call_id = e.call_id
    left join transfers t on t.call_id = e.call_id
    where coalesce(o.offered_at, e.ended_at) >= timestamptz '2026-02-01 00:00:00+00'
      and coalesce(o.offered_at, e.ended_at) < timestamptz '2026-03-01 00:00:00+00'
)
select time_bucket(interval '30 minutes', arrived_at) as interval_start,
       time_bucket(interval '30 minutes', arrived_at) + interval '30 minutes' as interval_end,
       count(*) filter (where outcome in ('answered', 'flowed_out', 'abandoned', 'short_abandon')) as offered,
       count(*) filter (where outcome = 'answered') as answered,
       count(*) filter (where outcome in ('abandoned', 'short_abandon')) as abandoned,
       count(*) filter (where outcome = 'short_abandon') as short_abandoned,
       count(*) filter (where outcome = 'flowed_out') as flowed_out,
       count(*) filter (where outcome = 'ivr_hangup') as ivr_hangups,
       count(*) filter (where outcome = 'answered' and wait_sec <= 20) as within,
       count(*) filter (where outcome = 'answered' and wait_sec <= 20)
           / nullif(count(*) filter (where outcome in ('answered', 'abandoned', 'short_abandon')), 0) as service_level,
       count(*) filter (where outcome in ('abandoned', 'short_abandon'))
           / nullif(count(*) filter (where outcome in ('answered', 'flowed_out', 'abandoned', 'short_abandon')), 0) as abandon_rate,
       avg(wait_sec) filter (where outcome = 'answered') as asa_sec,
       avg(talk_sec + hold_sec + acw_sec) filter (where outcome = 'answered') as aht_sec,
       avg(talk_sec) filter (where outcome = 'answered') as avg_talk_sec,
       avg(hold_sec) filter (where outcome = 'answered') as avg_hold_sec,
       avg(acw_sec) filter (where outcome = 'answered') as avg_acw_sec,
       max(wait_sec) filter (where outcome in ('answered', 'flowed_out', 'abandoned', 'short_abandon')) as longest_wait_sec,
       sum(transfers) filter (where outcome = 'answered')
           / nullif(count(*) filter (where outcome = 'answered'), 0) as transfer_rate
from facts
group by 1
order by 1
"""


def timed(run):
    run()
    times = []
    rows = 0
    for _ in range(max(runs, 1)):
        started = time.perf_counter()
        rows = run()
        times.append((time.perf_counter() - started) * 1000.0)
    return statistics.median(times), rows


a_ms, a_rows = timed(lambda: len(con.execute(INTERVALS, {"tenant": tenant}).fetchall()))
b_ms, b_rows = timed(lambda: len(con.execute(daily_sql).fetchall()))
print(json.dumps({"a_ms": a_ms, "b_ms": b_ms, "a_rows": a_rows, "b_rows": b_rows, "version": duckdb.__version__}))
sys.stdout.flush()
os._exit(0)

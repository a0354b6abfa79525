"""Independent check of Tenet's 30-minute call interval report on the bank's raw file.

Usage: bank_call_intervals.py RAW_TSV TENET_CSV

Computes offered, answered, abandoned, service level at 20 s, ASA and AHT per 30-minute
interval with DuckDB straight from the per-call file, with the definitions of
../shared/data/README.md: a call arrives at `vru_exit` (local clock time on `date`; a time
more than 12 hours before `vru_entry` is on the next day), PHANTOM is excluded, HANG without a
queue start is an IVR hang-up (not offered), offered = answered + abandoned, SL = answered
with q_time <= 20 / offered, ASA = mean q_time of answered, AHT = mean ser_time of answered.
Then compares every interval with the report Tenet exported as CSV and prints a JSON summary.
"""

import csv
import json
import os
import sys

import duckdb

raw, exported = sys.argv[1], sys.argv[2]

rows = duckdb.sql(
    f"""
    with source as (
        select * from read_csv('{raw}', delim = '\t', header = true, all_varchar = true)
    ),
    calls as (
        select
            strptime(date, '%y%m%d')
              + cast(vru_exit as interval)
              + case when cast(vru_entry as interval) - cast(vru_exit as interval) > interval 12 hours
                     then interval 1 day else interval 0 days end as arrival,
            case
                when outcome = 'AGENT' then 'answered'
                when outcome = 'HANG' and q_start <> '0:00:00' then 'abandoned'
                else 'ivr_hangup'
            end as kind,
            cast(q_time as integer) as q_time,
            cast(ser_time as integer) as ser_time
        from source
        where outcome <> 'PHANTOM'
    )
    select
        strftime(time_bucket(interval 30 minutes, arrival), '%Y-%m-%dT%H:%M:%S') as interval_start,
        count(*) filter (where kind in ('answered', 'abandoned')) as offered,
        count(*) filter (where kind = 'answered') as answered,
        count(*) filter (where kind = 'abandoned') as abandoned,
        (count(*) filter (where kind = 'answered' and q_time <= 20))
            / nullif(count(*) filter (where kind in ('answered', 'abandoned')), 0) as service_level,
        avg(q_time) filter (where kind = 'answered') as asa_sec,
        avg(ser_time) filter (where kind = 'answered') as aht_sec
    from calls
    group by all
    order by 1
    """
).fetchall()
expected = {row[0]: row[1:] for row in rows}

actual = {}
with open(exported, newline="") as file:
    for row in csv.DictReader(file):
        actual[row["interval_start"]] = row

columns = ["offered", "answered", "abandoned", "service_level", "asa_sec", "aht_sec"]


def same(want, got):
    if want is None:
        return got == ""
    if got == "":
        return False
    got = float(got)
    return abs(got - float(want)) <= 1e-9 * max(1.0, abs(float(want)))


mismatches = []
for start, values in expected.items():
    # Intervals with only IVR hang-ups have nothing offered; Tenet lists them with zeros.
    row = actual.get(start)
    if row is None:
        if values[0] != 0:
            mismatches.append({"interval": start, "missing_in_tenet": True})
        continue
    for name, want in zip(columns, values):
        if not same(want, row[name]):
            mismatches.append({"interval": start, "column": name, "duckdb": want, "tenet": row[name]})
tenet_only = sorted(set(actual) - set(expected))

print(
    json.dumps(
        {
            "intervals": len(expected),
            "offered": sum(values[0] for values in expected.values()),
            "mismatches": mismatches[:20],
            "mismatch_count": len(mismatches),
            "tenet_only": tenet_only[:20],
        }
    )
)
sys.stdout.flush()
os._exit(0)

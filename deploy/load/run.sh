#!/usr/bin/env bash
# The ops API load test: seeds PostgreSQL with 100,000 tenants and 1,000,000 users, starts
# `tenet serve --targets api` (release build) on it, and runs Locust headless with 1,000
# operators. They sign in 20 a second; once all are in, the figures restart (`--reset-stats`)
# and cover the 5 minutes of work that follow. Prints Locust's figures and keeps its CSVs in
# $OUT.
#
# Settings (environment, not prefixed TENET_: tenet would read them as its own): LOAD_DATABASE
# (a PostgreSQL server URL, default the local
# one; the test creates and drops its own database there), LOAD_TENANTS, _USERS,
# _VUSERS, _SPAWN_RATE, _DURATION (seconds measured), OUT (default target/load).
set -euo pipefail

cd "$(dirname "$0")/../.."
server="${LOAD_DATABASE:-postgres://postgres@127.0.0.1:5432}"
tenants="${LOAD_TENANTS:-100000}"
users="${LOAD_USERS:-1000000}"
vusers="${LOAD_VUSERS:-1000}"
spawn_rate="${LOAD_SPAWN_RATE:-20}"
steady="${LOAD_DURATION:-300}"
duration=$(( steady + (vusers + spawn_rate - 1) / spawn_rate ))
out="${OUT:-target/load}"
addr=127.0.0.1:18080
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/tenet/target}"

python3 -c 'import locust' 2>/dev/null || python3 -m pip install --quiet locust
cargo build --release --bin tenet
tenet="$CARGO_TARGET_DIR/release/tenet"

mkdir -p "$out"
database="tenet_load_$$"
psql "$server/postgres" -qc "create database $database"
trap 'kill "${pid:-}" 2>/dev/null || true; wait "${pid:-}" 2>/dev/null || true; psql "$server/postgres" -qc "drop database if exists $database with (force)"' EXIT
export TENET_DATABASE__URL="$server/$database"
export TENET_DATABASE__MAX_CONNECTIONS="${LOAD_CONNECTIONS:-32}"
export TENET_HTTP__ADDR="$addr"
# Operators sign in from their own desks: Locust names each one in X-Forwarded-For.
export TENET_HTTP__TRUST_FORWARDED_FOR=true
export TENET_LOG__LEVEL=warn

"$tenet" bench seed-ops --tenants "$tenants" --users "$users" --logins "$vusers" \
    --out "$out/logins.csv" --data-dir "$out/data"
"$tenet" serve --targets api --data-dir "$out/data" >"$out/server.log" 2>&1 &
pid=$!
for _ in $(seq 60); do
    curl -fsS "http://$addr/health/ready" >/dev/null 2>&1 && break
    sleep 1
done

LOAD_LOGINS="$out/logins.csv" python3 -m locust -f deploy/load/locustfile.py \
    --headless --host "http://$addr" -u "$vusers" -r "$spawn_rate" -t "${duration}s" \
    --reset-stats --csv "$out/locust" --only-summary 2>&1 | tee "$out/summary.txt"

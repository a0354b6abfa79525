#!/usr/bin/env bash
# Runs Tenet's whole test suite on a Debian/Ubuntu machine with a Rust toolchain.
#
# It installs and starts what the tests talk to, when missing:
#   - system packages: promtool (prometheus), cmake and clang (to build the HiGHS solver)
#   - PostgreSQL on 127.0.0.1:5432
#   - tansu, a Kafka-protocol broker, on 127.0.0.1:9092 with a SQLite store
#   - the Python deltalake, pyarrow and duckdb packages: outside readers of the lake, and the
#     independent computation the report tests compare with
#   - the Python schemathesis and openapi-spec-validator packages, which fuzz and validate
#     the OpenAPI document of a running server
# then checks formatting and lints and runs every test of the workspace.
#
# Builds go to $CARGO_TARGET_DIR (default ~/.cache/tenet/target) so that repeated runs
# reuse them. Set TENET_TEST_POSTGRES_URL to use another PostgreSQL server.
set -euo pipefail

cd "$(dirname "$0")/../.."
cache="${TENET_CACHE_DIR:-$HOME/.cache/tenet}"
mkdir -p "$cache"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$cache/target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
export PATH="$HOME/.cargo/bin:$PATH"

step() { printf '\n==> %s\n' "$*"; }

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

apt_updated=false
apt_install() {
    if ! $apt_updated; then
        as_root apt-get update -qq
        apt_updated=true
    fi
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

step "system packages"
missing=()
command -v promtool >/dev/null || missing+=(prometheus)
command -v cmake >/dev/null || missing+=(cmake)
command -v clang >/dev/null || missing+=(clang libclang-dev)
command -v pg_isready >/dev/null || missing+=(postgresql-client)
command -v curl >/dev/null || missing+=(curl)
if [ ${#missing[@]} -gt 0 ]; then
    echo "installing: ${missing[*]}"
    apt_install "${missing[@]}"
else
    echo "all present"
fi

step "Python readers of the lake"
if python3 -c 'import deltalake, pyarrow, duckdb' 2>/dev/null; then
    echo "deltalake, pyarrow and duckdb present"
else
    python3 -m pip install --quiet deltalake pyarrow duckdb
fi

step "schemathesis, the API fuzzer, and the OpenAPI validator"
if python3 -c 'import schemathesis, openapi_spec_validator' 2>/dev/null; then
    echo "schemathesis and openapi-spec-validator present"
else
    python3 -m pip install --quiet schemathesis openapi-spec-validator
fi
# CPython 3.11 and early 3.12 can crash Hypothesis in the middle of a run ("SystemError: AST
# constructor recursion depth mismatch"); fuzz with a newer interpreter when there is one.
fuzz_python=python3
for candidate in python3.13 "$HOME"/.pyenv/versions/3.1[3-9]*/bin/python3; do
    if "$candidate" -c 'import sys; assert sys.version_info >= (3, 13)' 2>/dev/null; then
        fuzz_python=$candidate
        break
    fi
done
if [ "$fuzz_python" != python3 ] && ! "$fuzz_python" -c 'import schemathesis' 2>/dev/null; then
    "$fuzz_python" -m pip install --quiet schemathesis
fi
echo "fuzzing with $("$fuzz_python" --version)"
export TENET_TEST_FUZZ_PYTHON="$fuzz_python"

step "PostgreSQL"
if pg_isready -q -h 127.0.0.1 -p 5432; then
    echo "running on 127.0.0.1:5432"
else
    if ! command -v pg_ctlcluster >/dev/null; then
        echo "installing postgresql"
        apt_install postgresql
    fi
    version=$(ls /etc/postgresql | sort -V | tail -n 1)
    as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
    for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
    pg_isready -h 127.0.0.1 -p 5432
    if [ -z "${TENET_TEST_POSTGRES_URL:-}" ] && ! psql -h 127.0.0.1 -U postgres -c 'select 1' postgres >/dev/null 2>&1; then
        # A fresh install asks TCP clients for a password: give the test superuser one.
        as_root su postgres -c "psql -qc \"alter user postgres password 'postgres'\""
        export TENET_TEST_POSTGRES_URL="postgres://postgres:postgres@127.0.0.1:5432/postgres"
    fi
fi
export TENET_TEST_POSTGRES_URL="${TENET_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
# Databases left behind by earlier runs that were interrupted.
psql "$TENET_TEST_POSTGRES_URL" -Atqc "select datname from pg_database where datname like 'tenet_test_%'" 2>/dev/null |
    while read -r stale; do
        psql "$TENET_TEST_POSTGRES_URL" -qc "drop database if exists \"$stale\" with (force)" >/dev/null 2>&1 || true
    done

step "Kafka-protocol broker (tansu)"
if ! command -v tansu >/dev/null; then
    echo "installing tansu 0.6.0 (takes several minutes once)"
    cargo install tansu@0.6.0 --locked --features libsql --quiet
fi
if (exec 3<>/dev/tcp/127.0.0.1/9092) 2>/dev/null; then
    echo "listening on 127.0.0.1:9092"
else
    mkdir -p "$cache/tansu"
    (
        cd "$cache/tansu"
        nohup tansu broker \
            --listener-url tcp://127.0.0.1:9092 \
            --advertised-listener-url tcp://127.0.0.1:9092 \
            --storage-engine sqlite://tansu.db >tansu.log 2>&1 &
    )
    for _ in $(seq 1 30); do (exec 3<>/dev/tcp/127.0.0.1/9092) 2>/dev/null && break; sleep 1; done
    (exec 3<>/dev/tcp/127.0.0.1/9092) 2>/dev/null || { cat "$cache/tansu/tansu.log"; exit 1; }
    echo "started on 127.0.0.1:9092"
fi
export TENET_TEST_KAFKA_BROKERS="${TENET_TEST_KAFKA_BROKERS:-127.0.0.1:9092}"

step "format"
cargo fmt --all -- --check

step "lints"
cargo clippy --workspace --all-targets --quiet -- -D warnings

step "tests"
if cargo nextest --version >/dev/null 2>&1; then
    # Doc tests first: nextest's summary of every other test is the run's closing line.
    cargo test --workspace --doc --quiet
    cargo nextest run --workspace --no-fail-fast
else
    cargo test --workspace --no-fail-fast
fi

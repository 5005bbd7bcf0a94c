#!/usr/bin/env bash
# Group commit (issue 12): key creation through the API with 32 concurrent clients, against
# the raw single-row INSERT rate of the same PostgreSQL in the same run.
#
#   raw      pgbench, 32 clients, each `INSERT INTO bench_rows ... VALUES (...)` in its own
#            transaction (autocommit), as fast as the database takes them
#   batch=1  keyledger with KEYLEDGER_APPEND_BATCH=1: each command's append is its own
#            transaction under the append lock (what the server did before group commit)
#   batch=64 keyledger as shipped: concurrent commands' appends share one transaction
#
# Each of the keyledger runs is wrk -c32 POST /v1/keys on a fresh database. The bar: batch=64
# creates/s >= raw inserts/s. Environment: KEYLEDGER_BIN, DATABASE_URL (a superuser URL of the
# cluster to measure: scripts/dev bench gives it a durable one, fsync on), BENCH_SECONDS
# (default 10), BENCH_CONNECTIONS (32). Exit 0 bar met, 1 missed, 2 could not run.
set -euo pipefail

seconds="${BENCH_SECONDS:-10}"
conns="${BENCH_CONNECTIONS:-32}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
readonly pg_bin=/usr/lib/postgresql/15/bin

say() { printf '[commit-bench] %s\n' "$*" >&2; }
die() {
  printf '[commit-bench] error: %s\n' "$*" >&2
  exit 2
}
trap 'die "command failed at line $LINENO"' ERR

[[ -n "${KEYLEDGER_BIN:-}" && -x "$KEYLEDGER_BIN" ]] || die "KEYLEDGER_BIN must name the keyledger executable"
[[ -n "${DATABASE_URL:-}" ]] || die "DATABASE_URL must name a superuser URL"
command -v wrk >/dev/null || die "wrk is not installed"
[[ -x "$pg_bin/pgbench" ]] || die "pgbench is missing ($pg_bin)"

umask 077
work="$(mktemp -d -t keyledger-commit-bench.XXXXXX)"
server_pid=""
cleanup() {
  if [[ -n "$server_pid" ]]; then
    kill -TERM "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

base_url="${DATABASE_URL%/*}"
psql_at() { "$pg_bin/psql" -X -q -v ON_ERROR_STOP=1 "$@"; }

# 1. The raw single-row INSERT rate.
psql_at "$base_url/postgres" -c 'DROP DATABASE IF EXISTS commit_bench_raw' -c 'CREATE DATABASE commit_bench_raw'
psql_at "$base_url/commit_bench_raw" -c \
  'CREATE TABLE bench_rows (id bigserial PRIMARY KEY, stream_id text NOT NULL, payload jsonb NOT NULL, recorded_at timestamptz NOT NULL DEFAULT now())'
cat >"$work/insert.sql" <<'SQL'
INSERT INTO bench_rows (stream_id, payload) VALUES ('key_' || md5(random()::text), '{"name":"bench","environment":"test","scopes":[]}');
SQL
say "raw: pgbench -c$conns -T$seconds, one single-row INSERT per transaction"
"$pg_bin/pgbench" -n -c "$conns" -j 2 -T "$seconds" -f "$work/insert.sql" "$base_url/commit_bench_raw" \
  >"$work/pgbench.txt" 2>&1 || {
  cat "$work/pgbench.txt" >&2
  die "pgbench failed"
}
raw="$(sed -n 's/^tps = \([0-9.]*\) .*/\1/p' "$work/pgbench.txt" | head -1)"
[[ -n "$raw" ]] || die "no tps line from pgbench"
say "raw: $raw inserts/s"

wait_listening() {
  local log="$1" port=""
  for _ in $(seq 200); do
    port="$(grep -m1 '"event":"listening"' "$log" 2>/dev/null |
      sed -n 's/.*"port":"\([0-9][0-9]*\)".*/\1/p')" || true
    if [[ -n "$port" ]]; then
      printf '%s\n' "$port"
      return 0
    fi
    kill -0 "$server_pid" 2>/dev/null || { tail -20 "$log" >&2; die "keyledger exited"; }
    sleep 0.1
  done
  die "keyledger did not listen within 20 s"
}

# 2. Creates through the API, with and without group commit.
# utime + stime of a process, in clock ticks.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

declare -A rate=() p99=() cpu=()
for batch in 1 64; do
  db="commit_bench_$batch"
  psql_at "$base_url/postgres" -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
  export DATABASE_URL="$base_url/$db"
  export KEYLEDGER_DATA_DIR="$work/data-$batch"
  mkdir -p "$KEYLEDGER_DATA_DIR"
  "$KEYLEDGER_BIN" migrate >"$work/migrate.log" 2>&1 || { cat "$work/migrate.log" >&2; die "migrate failed"; }
  out="$("$KEYLEDGER_BIN" bootstrap --workspace "commit-bench-$batch" 2>"$work/bootstrap.log")" ||
    die "bootstrap failed"
  admin_key="$(sed -n 's/.*"key":"\([^"]*\)".*/\1/p' <<<"$out")"
  [[ -n "$admin_key" ]] || die "bootstrap printed no key"
  KEYLEDGER_LISTEN=127.0.0.1:0 KEYLEDGER_APPEND_BATCH="$batch" \
    "$KEYLEDGER_BIN" serve 2>"$work/serve-$batch.log" >/dev/null &
  server_pid=$!
  port="$(wait_listening "$work/serve-$batch.log")"
  say "batch=$batch: wrk -c$conns -d${seconds}s POST /v1/keys"
  cpu_before="$(cpu_ticks "$server_pid")"
  BENCH_ADMIN_KEY="$admin_key" wrk -t2 -c"$conns" -d"${seconds}s" --latency -s "$here/create.lua" \
    "http://127.0.0.1:$port" >"$work/wrk-$batch.txt" 2>&1 || { cat "$work/wrk-$batch.txt" >&2; die "wrk failed"; }
  line="$(grep '^RESULT' "$work/wrk-$batch.txt")" || die "no RESULT from wrk"
  bad="$(sed -n 's/.* BAD=\([0-9]*\).*/\1/p' <<<"$line")"
  [[ "$bad" == 0 ]] || { tail -5 "$work/serve-$batch.log" >&2; die "batch=$batch: $bad non-2xx answers"; }
  cpu_after="$(cpu_ticks "$server_pid")"
  # BENCH_PERF=1: where keyledger's CPU goes during a second, shorter run of the same load.
  if [[ "${BENCH_PERF:-0}" == 1 && "$batch" == 64 ]] && command -v perf >/dev/null; then
    perf record -q -F 999 -g -p "$server_pid" -o "$work/perf.data" -- sleep 5 2>/dev/null &
    perf_pid=$!
    BENCH_ADMIN_KEY="$admin_key" wrk -t2 -c"$conns" -d5s -s "$here/create.lua" \
      "http://127.0.0.1:$port" >/dev/null 2>&1 || true
    wait "$perf_pid" || true
    perf report -i "$work/perf.data" --stdio --children --percent-limit 2 -g none \
      --sort symbol 2>/dev/null | grep -v '^#' | grep -v '^$' | head -60 >&2 || true
  fi
  rate[$batch]="$(sed -n 's/.* req_per_s=\([0-9.]*\).*/\1/p' <<<"$line")"
  p99[$batch]="$(sed -n 's/.* p99_ms=\([0-9.]*\).*/\1/p' <<<"$line")"
  # Every acknowledged create is in the log: one KeyCreated per 201.
  requests="$(sed -n 's/.*RESULT requests=\([0-9]*\).*/\1/p' <<<"$line")"
  cpu[$batch]="$(awk -v a="$cpu_before" -v b="$cpu_after" -v n="$requests" -v hz="$(getconf CLK_TCK)" \
    'BEGIN { printf "%.0f", (b - a) / hz * 1e6 / n }')"
  kill -TERM "$server_pid"
  wait "$server_pid" 2>/dev/null || true
  server_pid=""
  stored="$(psql_at -t -A "$base_url/$db" -c "SELECT count(*) FROM events WHERE type = 'KeyCreated'")"
  say "batch=$batch: ${rate[$batch]} creates/s, p99 ${p99[$batch]} ms, ${cpu[$batch]} us keyledger CPU/create, $stored KeyCreated for $requests answers"
  ((stored >= requests)) || die "batch=$batch: $requests creates answered, $stored stored"
done

ratio="$(awk -v a="${rate[64]}" -v b="$raw" 'BEGIN { printf "%.3f", a / b }')"
gain="$(awk -v a="${rate[64]}" -v b="${rate[1]}" 'BEGIN { printf "%.2f", a / b }')"
printf '\ndate:      %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
printf 'machine:   %s, nproc %s\n' "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)" "$(nproc)"
printf 'postgres:  fsync=%s synchronous_commit=%s\n' \
  "$(psql_at -t -A "$base_url/postgres" -c 'SHOW fsync')" "$(psql_at -t -A "$base_url/postgres" -c 'SHOW synchronous_commit')"
printf 'raw single-row INSERT (pgbench -c%s): %s/s\n' "$conns" "$raw"
printf 'API creates, batch=1:  %s/s (p99 %s ms, %s us keyledger CPU each)\n' "${rate[1]}" "${p99[1]}" "${cpu[1]}"
printf 'API creates, batch=64: %s/s (p99 %s ms, %s us keyledger CPU each); %sx batch=1\n' "${rate[64]}" "${p99[64]}" "${cpu[64]}" "$gain"
if awk -v r="$ratio" 'BEGIN { exit !(r >= 1) }'; then
  printf 'BAR group commit: creates %s x raw inserts (bar >= 1): PASS\n' "$ratio"
else
  printf 'BAR group commit: creates %s x raw inserts (bar >= 1): FAIL\n' "$ratio"
  exit 1
fi

#!/usr/bin/env bash
# A million keys (issue 12, "Scale"): builds a log of BENCH_SCALE_KEYS (1,000,000) active keys in
# BENCH_SCALE_WORKSPACES (100) workspaces through the real append path (bench_scale_seed:
# key_service::create, pg_event_store::append_batch), then measures on `keyledger serve`:
#   1. start-up: time to ready (the "listening" line, then /readyz 200) and the rebuild rate
#      from the server's own "projection_ready" line (events applied, rebuild ms);
#   2. memory: VmRSS / VmHWM of the serving process once ready and after the load;
#   3. verification: wrk POST /v1/keys/verify with one key vs a random key per request from the
#      million, alternated in the same run (pinned, 1 I/O thread, -c32, as verify_bench.sh);
#      req/s, p50/p99, server CPU µs per request from /proc, and PostgreSQL's (BENCH_PG_PIDFILE:
#      its usage telemetry: a key new to the flush window is a row to write);
#   4. GET /v1/keys in the workspace of BENCH_SCALE_BIG_KEYS (100,000) keys with its admin key:
#      first page, filtered pages, a deep page by cursor, a filter matching nothing (a full scan).
# How it works and the figures: docs/performance.md, "A million keys". Usually run as
# `BENCH_ONLY=scale ./scripts/dev bench`.
#
# Inputs (environment):
#   KEYLEDGER_BIN, BENCH_SEED_BIN  the keyledger and bench_scale_seed executables
#   DATABASE_URL                   a fresh database (superuser); migrated here
#   BENCH_SCALE_KEYS / _WORKSPACES / _BIG_KEYS / _BATCH   what to seed (1000000 / 100 / 100000 /
#                                  1000 commands per append_batch)
#   BENCH_SECONDS (10), BENCH_CONNECTIONS (32), BENCH_ROUNDS (2), BENCH_PIN, BENCH_THREADS: as in
#                                  verify_bench.sh
#   BENCH_LIST_SECONDS (5)         length of each list run (wrk -t1 -c1)
#   BENCH_SCALE_WORK               keep the run's files (server secret, keys) in this directory and
#                                  reuse a seeded database when its files are there (development)
#   BENCH_PERF=1                   perf record -g the server during one random-key run
#   BENCH_SCALE_TUNABLES           the server's GLIBC_TUNABLES (default glibc.malloc.hugetlb=1, as
#                                  the Docker image runs it; empty for glibc's defaults)
#
# Bars: rebuild >= 200,000 events/s; VmHWM (the serving process's peak) <= 400 MiB; random-key
# req/s >= 0.8 x one-key req/s; list p99 < 10 ms for the first, filtered and deep pages (the full
# scan is reported, not barred). Exit 0 when every bar holds, 1 when one is missed, 2 when the
# benchmark could not run.
set -euo pipefail

seconds="${BENCH_SECONDS:-10}"
connections="${BENCH_CONNECTIONS:-32}"
rounds="${BENCH_ROUNDS:-2}"
list_seconds="${BENCH_LIST_SECONDS:-5}"
n_keys="${BENCH_SCALE_KEYS:-1000000}"
n_workspaces="${BENCH_SCALE_WORKSPACES:-100}"
big_keys="${BENCH_SCALE_BIG_KEYS:-100000}"
batch="${BENCH_SCALE_BATCH:-1000}"
pin="${BENCH_PIN:-auto}"
if [[ "$pin" == auto ]]; then
  pin=0
  if [[ "$(nproc)" -ge 2 ]] && command -v taskset >/dev/null; then pin=1; fi
fi
server_pin=()
wrk_pin=()
if [[ "$pin" == 1 ]]; then
  server_pin=(taskset -c 1)
  wrk_pin=(taskset -c 0)
fi
io_threads="${BENCH_THREADS:-$([[ "$pin" == 1 ]] && echo 1 || echo 2)}"

readonly bar_rebuild_eps=200000
readonly bar_rss_kib=$((400 * 1024))
readonly bar_ratio=0.8
readonly bar_list_p99_us=10000

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

say() { printf '[scale-bench] %s\n' "$*" >&2; }
die() {
  printf '[scale-bench] error: %s\n' "$*" >&2
  exit 2
}
trap 'die "command failed at line $LINENO"' ERR

[[ -n "${KEYLEDGER_BIN:-}" && -x "$KEYLEDGER_BIN" ]] || die "KEYLEDGER_BIN must name the keyledger executable"
[[ -n "${BENCH_SEED_BIN:-}" && -x "$BENCH_SEED_BIN" ]] ||
  die "BENCH_SEED_BIN must name the bench_scale_seed executable"
[[ -n "${DATABASE_URL:-}" ]] || die "DATABASE_URL must name a fresh database"
for tool in wrk curl; do
  command -v "$tool" >/dev/null || die "$tool is not installed (apt-get install $tool)"
done
for n in "$seconds" "$connections" "$rounds" "$io_threads" "$list_seconds" "$n_keys" \
  "$n_workspaces" "$batch"; do
  [[ "$n" =~ ^[1-9][0-9]*$ ]] || die "BENCH_* settings must be positive integers"
done
((big_keys < n_keys)) || die "BENCH_SCALE_BIG_KEYS must be below BENCH_SCALE_KEYS"

# Everything this run writes (server secret, the keys, logs) lives here, private.
umask 077
keep_work=0
if [[ -n "${BENCH_SCALE_WORK:-}" ]]; then
  work="$BENCH_SCALE_WORK"
  keep_work=1
  mkdir -p "$work"
  chmod 700 "$work"
else
  work="$(mktemp -d -t keyledger-scale-bench.XXXXXX)"
fi
server_pid=""
stop_server() {
  [[ -n "$server_pid" ]] || return 0
  kill -TERM "$server_pid" 2>/dev/null || true
  for _ in $(seq 100); do
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
  server_pid=""
}
cleanup() {
  stop_server
  if ((keep_work == 0)); then rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

show_log() {
  say "last lines of $(basename "$1"):"
  tail -n 20 "$1" >&2 || true
}

# wrk latency ("436.00us", "1.23ms", "1.01s") in whole microseconds.
to_us() {
  awk -v v="$1" 'BEGIN {
    n = v; sub(/[a-z]+$/, "", n); u = v; sub(/^[0-9.]+/, "", u)
    f = (u == "us") ? 1 : (u == "ms") ? 1000 : (u == "s") ? 1000000 : (u == "m") ? 60000000 : -1
    if (f < 0 || n == "") { print "NaN"; exit }
    printf "%.0f\n", n * f
  }'
}
# A number field of a one-line JSON object (or a quoted one).
json_number() { sed -n "s/.*\"$1\":\"\\{0,1\\}\\([0-9.]*\\).*/\\1/p" <<<"$2" | head -n1; }
json_string() { sed -n "s/.*\"$1\":\"\\([^\"]*\\)\".*/\\1/p" <<<"$2" | head -n1; }
# utime + stime of a process, in clock ticks.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
status_kib() { awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status"; }
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
ticks_per_second="$(getconf CLK_TCK)"

export DATABASE_URL
export KEYLEDGER_DATA_DIR="$work/data"
mkdir -p "$KEYLEDGER_DATA_DIR"
load_at_start="$(loadavg)"
say "load average at start: $load_at_start"

# 1. Schema, then the million keys (unless this work dir has seeded this database already).
keys_file="$work/keys.txt"
admin_file="$work/admin.key"
one_file="$work/one-key.txt"
seed_json_file="$work/seed.json"
"$KEYLEDGER_BIN" migrate >"$work/migrate.log" 2>&1 || {
  show_log "$work/migrate.log"
  die "keyledger migrate failed"
}
if ((keep_work == 1)) && [[ -s "$seed_json_file" && -s "$keys_file" && -s "$admin_file" ]]; then
  say "reusing the seeded database of $work"
else
  say "seeding $n_keys keys in $n_workspaces workspaces ($big_keys in one), $batch per append_batch"
  "$BENCH_SEED_BIN" --keys "$n_keys" --workspaces "$n_workspaces" --big-keys "$big_keys" \
    --batch "$batch" --keys-out "$keys_file" --admin-key-out "$admin_file" \
    >"$seed_json_file" 2>"$work/seed.log" || {
    show_log "$work/seed.log"
    die "bench_scale_seed failed"
  }
fi
seed_json="$(cat "$seed_json_file")"
head_seq="$(json_number head_seq "$seed_json")"
seed_rate="$(json_number keys_per_second "$seed_json")"
seed_ms="$(json_number key_ms "$seed_json")"
[[ -n "$head_seq" && -n "$seed_rate" ]] || die "bench_scale_seed printed no figures"
[[ "$(wc -l <"$keys_file")" -eq "$n_keys" ]] || die "the keys file does not hold $n_keys keys"
head -n1 "$keys_file" >"$one_file"
say "seeded: $head_seq events in the log; keys at $seed_rate keys/s (${seed_ms} ms; information only)"

# 2. Start-up: time to ready, the rebuild as the server reports it, memory.
say "starting keyledger serve on the seeded log"
log="$work/keyledger.log"
: >"$log"
start_ns="$(date +%s%N)"
# As deployed (the Docker image's GLIBC_TUNABLES, docs/operations.md "Memory"): the heap in huge
# pages, unless BENCH_SCALE_TUNABLES says otherwise ("" for glibc's defaults).
"${server_pin[@]}" env KEYLEDGER_LISTEN=127.0.0.1:0 KEYLEDGER_IO_THREADS="$io_threads" \
  GLIBC_TUNABLES="${BENCH_SCALE_TUNABLES-glibc.malloc.hugetlb=1}" \
  "$KEYLEDGER_BIN" serve 2>"$log" >/dev/null &
server_pid=$!
port=""
for _ in $(seq 6000); do
  port="$(grep -m1 '"event":"listening"' "$log" 2>/dev/null |
    sed -n 's/.*"port":"\([0-9][0-9]*\)".*/\1/p')" || true
  [[ -n "$port" ]] && break
  kill -0 "$server_pid" 2>/dev/null || {
    show_log "$log"
    die "keyledger exited before listening"
  }
  sleep 0.1
done
[[ -n "$port" ]] || die "keyledger did not listen within 600 s"
until curl -fsS --max-time 2 -o /dev/null "http://127.0.0.1:$port/readyz"; do
  kill -0 "$server_pid" 2>/dev/null || die "keyledger exited before ready"
  sleep 0.05
done
ready_ns="$(date +%s%N)"
ready_ms=$(((ready_ns - start_ns) / 1000000))
ready_cpu_ms=$(($(cpu_ticks "$server_pid") * 1000 / ticks_per_second))
ready_line="$(grep -m1 '"event":"projection_ready"' "$log" || true)"
rebuild_events="$(json_number events "$ready_line")"
rebuild_ms="$(json_number rebuild_ms "$ready_line")"
rebuild_source="the server's projection_ready line"
if [[ -z "$rebuild_events" || -z "$rebuild_ms" ]]; then
  # A server from before that line: the whole time to ready stands for the rebuild.
  rebuild_events="$head_seq"
  rebuild_ms="$ready_ms"
  rebuild_source="time to ready (the server does not log its rebuild)"
fi
rebuild_eps="$(awk -v e="$rebuild_events" -v ms="$rebuild_ms" 'BEGIN { printf "%.0f", (ms > 0) ? e * 1000 / ms : 0 }')"
view_keys="$(json_number keys "$ready_line")"
rss_ready="$(status_kib "$server_pid" VmRSS)"
hwm_ready="$(status_kib "$server_pid" VmHWM)"
say "ready in $ready_ms ms (CPU $ready_cpu_ms ms); rebuild $rebuild_events events in $rebuild_ms ms = $rebuild_eps events/s; $view_keys keys"
say "RSS $((rss_ready / 1024)) MiB, HWM $((hwm_ready / 1024)) MiB once ready"
((view_keys >= n_keys)) || die "the view holds $view_keys keys, fewer than $n_keys"

# The success path only: a sample of the keys must verify before anything is timed.
for line in 1 $((n_keys / 2)) "$n_keys"; do
  printf '{"key":"%s"}' "$(sed -n "${line}p" "$keys_file")" >"$work/verify.json"
  out="$(curl -sS --max-time 10 -H 'Content-Type: application/json' \
    --data-binary @"$work/verify.json" "http://127.0.0.1:$port/v1/keys/verify")"
  [[ "$out" == *'"valid":true'* ]] || die "key $line does not verify: $(json_string code "$out")"
done
rm -f "$work/verify.json"

# 3. Verification: one key vs a random key per request, alternated.
if [[ "${BENCH_PERF:-0}" == 1 ]] && ! command -v perf >/dev/null; then die "BENCH_PERF=1 needs perf"; fi
declare -A best_rate=([one]=0 [random]=0) best_p50=() best_p99=() best_cpu=() best_pg=() bad=()
# PostgreSQL's CPU (the postmaster named by BENCH_PG_PIDFILE and its children), in clock ticks;
# empty when unknown. Every verification of a key new to the flush window is a row of usage
# telemetry (last use, request log) that PostgreSQL writes on the same two cores.
pg_ticks() {
  local pm
  [[ -r "${BENCH_PG_PIDFILE:-}" ]] || return 0
  pm="$(head -n1 "$BENCH_PG_PIDFILE")"
  [[ "$pm" =~ ^[0-9]+$ ]] || return 0
  # The postmaster's own time and its reaped children's (cutime + cstime: a backend that exits
  # between two readings moves there, so the sum never goes back), plus the live children's.
  {
    awk '{ print $14 + $15 + $16 + $17 }' "/proc/$pm/stat" 2>/dev/null || true
    for p in $(pgrep -P "$pm" || true); do
      awk '{ print $14 + $15 }' "/proc/$p/stat" 2>/dev/null || true
    done
  } | awk '{ s += $1 } END { print s + 0 }'
}
measure() {
  local name="$1" file="$2" round="$3" out t0 t1 perf_pid=""
  out="$work/wrk-$name-$round.txt"
  say "round $round: $name (${seconds}s, $connections connections)"
  t0="$(cpu_ticks "$server_pid")"
  local pg0 pg1
  pg0="$(pg_ticks)"
  if [[ "${BENCH_PERF:-0}" == 1 && "$name" == random && "$round" == 1 ]]; then
    perf record -g -o "$work/perf.data" -p "$server_pid" -- sleep "$((seconds - 1))" \
      >/dev/null 2>&1 &
    perf_pid=$!
  fi
  BENCH_KEYS_FILE="$file" "${wrk_pin[@]}" wrk -t1 -c"$connections" -d"${seconds}s" --latency \
    -s "$here/scale.lua" "http://127.0.0.1:$port/v1/keys/verify" >"$out" 2>&1 || {
    cat "$out" >&2
    die "wrk failed ($name)"
  }
  t1="$(cpu_ticks "$server_pid")"
  pg1="$(pg_ticks)"
  if [[ -n "$perf_pid" ]]; then wait "$perf_pid" || true; fi
  local rate p50 p99 non2xx reqs cpu_us pg_us=-
  rate="$(awk '/^Requests\/sec:/ { print $2 }' "$out")"
  reqs="$(awk '/requests in/ { print $1 }' "$out")"
  p50="$(to_us "$(awk '$1 == "50%" { print $2 }' "$out")")"
  p99="$(to_us "$(awk '$1 == "99%" { print $2 }' "$out")")"
  non2xx="$(awk '/Non-2xx or 3xx responses:/ { print $NF }' "$out")"
  [[ -n "$rate" && -n "$reqs" && "$p50" != NaN && "$p99" != NaN ]] || {
    cat "$out" >&2
    die "cannot read wrk's report ($name)"
  }
  cpu_us="$(awk -v d="$((t1 - t0))" -v n="$reqs" -v hz="$ticks_per_second" \
    'BEGIN { printf "%.1f", (n > 0) ? d * 1000000 / hz / n : 0 }')"
  if [[ -n "$pg0" && -n "$pg1" ]]; then
    pg_us="$(awk -v d="$((pg1 - pg0))" -v n="$reqs" -v hz="$ticks_per_second" \
      'BEGIN { printf "%.1f", (n > 0) ? d * 1000000 / hz / n : 0 }')"
  fi
  bad[$name]=$((${bad[$name]:-0} + ${non2xx:-0}))
  say "  $rate req/s, p50 ${p50}us, p99 ${p99}us, server CPU ${cpu_us}us/req, PostgreSQL CPU ${pg_us}us/req${non2xx:+, $non2xx non-2xx}"
  if awk -v a="$rate" -v b="${best_rate[$name]}" 'BEGIN { exit !(a > b) }'; then
    best_rate[$name]="$rate"
    best_p50[$name]="$p50"
    best_p99[$name]="$p99"
    best_cpu[$name]="$cpu_us"
    best_pg[$name]="$pg_us"
  fi
}
for round in $(seq "$rounds"); do
  measure one "$one_file" "$round"
  measure random "$keys_file" "$round"
done
rss_load="$(status_kib "$server_pid" VmRSS)"
hwm_load="$(status_kib "$server_pid" VmHWM)"
say "RSS $((rss_load / 1024)) MiB, HWM $((hwm_load / 1024)) MiB after the load"

# 4. Listing the workspace of 100k keys: first page, filters, a deep page, a full scan.
list_get() { # path -> body; the admin key through a header file, never the command line
  curl -sS --max-time 10 -H @"$work/auth.header" "http://127.0.0.1:$port$1"
}
printf 'Authorization: Bearer %s\n' "$(cat "$admin_file")" >"$work/auth.header"
first="$(list_get '/v1/keys?limit=100')"
[[ "$first" == *'"next_cursor":"'* ]] || die "GET /v1/keys gave no next_cursor: ${first:0:200}"
# Walk to the middle of the workspace (50,000 keys in) with pages of 100 for a deep cursor.
cursor="$(json_string next_cursor "$first")"
walk_pages=$((big_keys / 2 / 100))
walk_start_ns="$(date +%s%N)"
for ((p = 1; p < walk_pages; p++)); do
  page="$(list_get "/v1/keys?limit=100&cursor=$cursor")"
  cursor="$(json_string next_cursor "$page")"
  [[ -n "$cursor" ]] || die "the walk through the list ended after $p pages"
done
walk_ms=$((($(date +%s%N) - walk_start_ns) / 1000000))
say "walked $walk_pages pages of 100 keys in $walk_ms ms (curl, a connection each)"
declare -A list_p50=() list_p99=() list_rate=()
list_names=(first live name deep nomatch)
declare -A list_path=(
  [first]="/v1/keys"
  [live]="/v1/keys?environment=live"
  [name]="/v1/keys?name=zapier"
  [deep]="/v1/keys?cursor=$cursor"
  [nomatch]="/v1/keys?name=no-such-key"
)
for name in "${list_names[@]}"; do
  out="$work/list-$name.txt"
  BENCH_ADMIN_KEY_FILE="$admin_file" "${wrk_pin[@]}" wrk -t1 -c1 -d"${list_seconds}s" --latency \
    -s "$here/list.lua" "http://127.0.0.1:$port${list_path[$name]}" >"$out" 2>&1 || {
    cat "$out" >&2
    die "wrk failed (list $name)"
  }
  not_ok="$(awk '$1 == "not_200" { print $2 }' "$out")"
  [[ "${not_ok:-x}" == 0 ]] || {
    cat "$out" >&2
    die "GET ${list_path[$name]} answered something else than 200 ($not_ok times)"
  }
  list_rate[$name]="$(awk '/^Requests\/sec:/ { print $2 }' "$out")"
  list_p50[$name]="$(to_us "$(awk '$1 == "50%" { print $2 }' "$out")")"
  list_p99[$name]="$(to_us "$(awk '$1 == "99%" { print $2 }' "$out")")"
  say "list $name: ${list_rate[$name]} req/s, p50 ${list_p50[$name]}us, p99 ${list_p99[$name]}us"
done
server_cpu_total_ms=$(($(cpu_ticks "$server_pid") * 1000 / ticks_per_second))
stop_server
load_at_end="$(loadavg)"

# 5. Report.
ratio="$(awk -v r="${best_rate[random]}" -v o="${best_rate[one]}" 'BEGIN { printf "%.3f", (o > 0) ? r / o : 0 }')"
cpu_model="$(lscpu 2>/dev/null | sed -n 's/^Model name:[[:space:]]*//p' | head -n1)"
verdict=PASS
miss() {
  say "MISSED: $*"
  verdict=FAIL
}
((rebuild_eps >= bar_rebuild_eps)) || miss "rebuild $rebuild_eps events/s < $bar_rebuild_eps"
((hwm_load <= bar_rss_kib)) || miss "VmHWM $((hwm_load / 1024)) MiB > $((bar_rss_kib / 1024)) MiB"
awk -v r="$ratio" -v m="$bar_ratio" 'BEGIN { exit !(r >= m) }' || miss "random/one $ratio < $bar_ratio"
for name in first live name deep; do
  ((list_p99[$name] < bar_list_p99_us)) || miss "list $name p99 ${list_p99[$name]}us >= ${bar_list_p99_us}us"
done
((${bad[one]:-0} + ${bad[random]:-0} == 0)) || miss "non-2xx answers during verification"

printf '\n'
printf 'date:        %s\n' "$(date -u '+%Y-%m-%d %H:%M UTC')"
printf 'machine:     %s, %s cores; load average %s at start, %s at the end\n' \
  "${cpu_model:-unknown}" "$(nproc)" "$load_at_start" "$load_at_end"
printf 'log:         %s events (%s keys in %s workspaces, %s in the big one)\n' "$head_seq" \
  "$n_keys" "$n_workspaces" "$big_keys"
printf 'seeding:     %s keys/s through key_service::create + append_batch of %s (information)\n' \
  "$seed_rate" "$batch"
printf 'start-up:    ready in %s ms (server CPU %s ms); rebuild %s events in %s ms = %s events/s (bar >= %s; from %s)\n' \
  "$ready_ms" "$ready_cpu_ms" "$rebuild_events" "$rebuild_ms" "$rebuild_eps" "$bar_rebuild_eps" \
  "$rebuild_source"
printf 'memory:      ready: VmRSS %s MiB, VmHWM %s MiB; after the load: VmRSS %s MiB, VmHWM %s MiB (bar VmHWM <= 400 MiB)\n' \
  "$((rss_ready / 1024))" "$((hwm_ready / 1024))" "$((rss_load / 1024))" "$((hwm_load / 1024))"
printf 'verify:      wrk -t1 -c%s -d%ss, best of %s%s\n' "$connections" "$seconds" "$rounds" \
  "$([[ "$pin" == 1 ]] && echo '; pinned: wrk CPU 0, server CPU 1' || echo '')"
printf '  %-8s %10s %8s %8s %12s %15s\n' run 'req/s' 'p50 us' 'p99 us' 'CPU us/req' 'PG CPU us/req'
for name in one random; do
  printf '  %-8s %10.0f %8s %8s %12s %15s\n' "$name" "${best_rate[$name]}" "${best_p50[$name]}" \
    "${best_p99[$name]}" "${best_cpu[$name]}" "${best_pg[$name]:--}"
done
printf '  ratio random/one: %s (bar >= %s)\n' "$ratio" "$bar_ratio"
printf 'list:        wrk -t1 -c1 -d%ss, workspace of %s keys, admin key (bar p99 < 10 ms but nomatch)\n' \
  "$list_seconds" "$big_keys"
for name in "${list_names[@]}"; do
  printf '  %-8s %-40s %8s req/s  p50 %6s us  p99 %6s us\n' "$name" "${list_path[$name]:0:40}" \
    "${list_rate[$name]}" "${list_p50[$name]}" "${list_p99[$name]}"
done
printf 'server CPU over the whole run: %s ms\n' "$server_cpu_total_ms"
printf 'BAR rebuild>=200k/s VmHWM<=400MiB random/one>=0.8 list-p99<10ms: %s\n' "$verdict"
if [[ "$verdict" == PASS ]]; then exit 0; else exit 1; fi

#!/usr/bin/env bash
# Verification benchmark: keyledger's POST /v1/keys/verify and GET /v1/check (the gateway
# check, bearer header) against an empty Boost.Beast handler (tests/bench/empty_server.cpp)
# given the same requests, all measured in the same run on the same machine with wrk; for
# each run also the server's CPU time per request (/proc) and, with the counting allocator
# (tests/bench/alloc_counter.cpp), keyledger's allocations per request. How it works and the
# figures so far: docs/performance.md. Usually run as `./scripts/dev bench`.
#
# Inputs (environment):
#   KEYLEDGER_BIN      the keyledger executable
#   BENCH_EMPTY_BIN    the bench_empty_server executable; when bench_http_server sits beside
#                      it, that one (the same empty handler behind infra::http_server) is
#                      measured too, for information: it tells HTTP plumbing from verification
#   DATABASE_URL       a fresh database, owned by a superuser, that this script migrates
#   BENCH_SECONDS      length of each wrk run in seconds (default 10)
#   BENCH_CONNECTIONS  wrk connections, all kept alive (default 32)
#   BENCH_ROUNDS       runs per server, alternating empty/keyledger; the best of each is kept
#                      (default 2)
#   BENCH_PIN          1: wrk on CPU 0, every server on CPU 1 (taskset); 0: no pinning.
#                      Default 1 with 2+ CPUs: on a 2-core machine an unpinned wrk preempts the
#                      servers mid-request and the p99 measures the scheduler, not the server
#   BENCH_THREADS      I/O threads of both servers (default 1 when pinned, else 2)
#   BENCH_ALLOC_COUNTER  the bench_alloc_counter.so to preload into keyledger (counts
#                      allocations per request); unset: not counted, no allocation bar
#   BENCH_ALLOC_TRACE  a file: after the rounds, one more verify and check run with perf recording the
#                      call stack of every malloc/calloc/realloc of keyledger (uprobes on the
#                      C library; needs root), and perf's report of them written to this file.
#                      It tells where the allocations counted above come from
#
# The bars (issue 12), for both endpoints: req/s >= 0.85x the empty handler's, p99 < 1 ms, and
# no allocation per request on the success path (under 0.05 per request on average, which
# leaves room for work done once per many requests, such as a batch of log lines).
#
# Exit status: 0 when the bar is met, 1 when it is not, 2 when the benchmark could not run.
set -euo pipefail

seconds="${BENCH_SECONDS:-10}"
connections="${BENCH_CONNECTIONS:-32}"
rounds="${BENCH_ROUNDS:-2}"
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
# The bar (docs/performance.md): at least this share of the empty server's rate, and p99 below
# this many microseconds.
readonly bar_ratio=0.85
readonly bar_p99_us=1000
# "No allocation per request on the success path": under this many per request on average.
readonly bar_allocs=0.05

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

say() { printf '[bench] %s\n' "$*" >&2; }
die() {
  printf '[bench] error: %s\n' "$*" >&2
  exit 2
}
trap 'die "command failed at line $LINENO"' ERR

[[ -n "${KEYLEDGER_BIN:-}" && -x "$KEYLEDGER_BIN" ]] || die "KEYLEDGER_BIN must name the keyledger executable"
[[ -n "${BENCH_EMPTY_BIN:-}" && -x "$BENCH_EMPTY_BIN" ]] ||
  die "BENCH_EMPTY_BIN must name the bench_empty_server executable"
[[ -n "${DATABASE_URL:-}" ]] || die "DATABASE_URL must name a fresh database"
for tool in wrk curl; do
  command -v "$tool" >/dev/null || die "$tool is not installed (apt-get install $tool)"
done
for n in "$seconds" "$connections" "$rounds" "$io_threads"; do
  [[ "$n" =~ ^[1-9][0-9]*$ ]] || die "BENCH_* settings must be positive integers"
done

# Everything this run writes (server secret, logs, the admin key for curl) lives here, private.
umask 077
work="$(mktemp -d -t keyledger-bench.XXXXXX)"
server_pids=()

stop_servers() {
  local pid
  for pid in "${server_pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${server_pids[@]}"; do
    # keyledger drains in-flight requests on SIGTERM; give it a few seconds, then insist.
    for _ in $(seq 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  server_pids=()
}
cleanup() {
  stop_servers
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Prints the last lines of a log, for an error report.
show_log() {
  say "last lines of $(basename "$1"):"
  tail -n 20 "$1" >&2 || true
}

# Starts a server in the background with stderr to $1; the rest is the command.
start_server() {
  local log="$1"
  shift
  "$@" 2>"$log" >/dev/null &
  server_pids+=("$!")
}

# Waits (20 s at most) for the JSON "listening" line in a log; prints its port.
wait_listening() {
  local log="$1" pid="$2" port=""
  for _ in $(seq 200); do
    port="$(grep -m1 '"event":"listening"' "$log" 2>/dev/null |
      sed -n 's/.*"port":"\([0-9][0-9]*\)".*/\1/p')" || true
    if [[ -n "$port" ]]; then
      printf '%s\n' "$port"
      return 0
    fi
    if ! kill -0 "$pid" 2>/dev/null; then
      show_log "$log"
      die "$(basename "$log" .log) exited before listening"
    fi
    sleep 0.1
  done
  show_log "$log"
  die "$(basename "$log" .log) did not log \"listening\" within 20 s"
}

# The value of a string field in a one-line JSON object (keys and ids need no unescaping).
json_string() {
  sed -n "s/.*\"$1\":\"\\([^\"]*\\)\".*/\\1/p" <<<"$2"
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

export DATABASE_URL
export KEYLEDGER_DATA_DIR="$work/data"
mkdir -p "$KEYLEDGER_DATA_DIR"

# 1. Schema and a workspace with its admin key.
say "migrating"
"$KEYLEDGER_BIN" migrate >"$work/migrate.log" 2>&1 || {
  show_log "$work/migrate.log"
  die "keyledger migrate failed"
}
workspace="bench-$(od -An -N5 -tx1 /dev/urandom | tr -d ' \n')"
say "bootstrapping workspace $workspace"
bootstrap_out="$("$KEYLEDGER_BIN" bootstrap --workspace "$workspace" 2>"$work/bootstrap.log")" || {
  show_log "$work/bootstrap.log"
  die "keyledger bootstrap failed"
}
admin_key="$(json_string key "$bootstrap_out")"
[[ -n "$admin_key" ]] || die "bootstrap printed no \"key\""
# Keys go to curl through files, never on a command line.
printf 'Authorization: Bearer %s\n' "$admin_key" >"$work/auth.header"

# 2. keyledger, and a key to verify.
say "starting keyledger serve"
# With the counting allocator preloaded (BENCH_ALLOC_COUNTER), allocations per request too.
alloc_file=""
preload=()
if [[ -n "${BENCH_ALLOC_COUNTER:-}" ]]; then
  [[ -f "$BENCH_ALLOC_COUNTER" ]] || die "BENCH_ALLOC_COUNTER names no file"
  alloc_file="$work/allocations"
  preload=(LD_PRELOAD="$BENCH_ALLOC_COUNTER" BENCH_ALLOC_COUNTER_FILE="$alloc_file")
fi
start_server "$work/keyledger.log" "${server_pin[@]}" env KEYLEDGER_LISTEN=127.0.0.1:0 \
  KEYLEDGER_IO_THREADS="$io_threads" "${preload[@]}" "$KEYLEDGER_BIN" serve
keyledger_pid="${server_pids[-1]}"
keyledger_port="$(wait_listening "$work/keyledger.log" "$keyledger_pid")"
say "keyledger listens on port $keyledger_port"

create_out="$(curl -sS --max-time 10 -H @"$work/auth.header" -H 'Content-Type: application/json' \
  --data-binary '{"name":"bench","environment":"test","scopes":[]}' -w '\n%{http_code}' \
  "http://127.0.0.1:$keyledger_port/v1/keys")" || die "POST /v1/keys failed"
create_status="${create_out##*$'\n'}"
[[ "$create_status" == 2?? ]] || {
  show_log "$work/keyledger.log"
  die "POST /v1/keys answered $create_status"
}
bench_key="$(json_string key "${create_out%$'\n'*}")"
[[ -n "$bench_key" ]] || die "POST /v1/keys returned no \"key\""
export BENCH_KEY="$bench_key"

# The benchmark measures the success path: the key must verify before anything is timed.
printf '{"key":"%s"}' "$bench_key" >"$work/verify.json"
verify_out="$(curl -sS --max-time 10 -H 'Content-Type: application/json' \
  --data-binary @"$work/verify.json" "http://127.0.0.1:$keyledger_port/v1/keys/verify")" ||
  die "POST /v1/keys/verify failed"
[[ "$verify_out" == *'"valid":true'* ]] ||
  die "the new key does not verify (answer: $(json_string code "$verify_out"))"

# 3. The baseline.
say "starting bench_empty_server"
start_server "$work/empty.log" "${server_pin[@]}" "$BENCH_EMPTY_BIN" --listen 127.0.0.1:0 --threads "$io_threads"
empty_pid="${server_pids[-1]}"
empty_port="$(wait_listening "$work/empty.log" "$empty_pid")"
http_bin="$(dirname "$BENCH_EMPTY_BIN")/bench_http_server"
# Each keyledger endpoint against the empty handler given the same requests: POST with the
# verify body, GET with the bearer header.
servers=(empty verify empty_get check)
if [[ -x "$http_bin" ]]; then
  say "starting bench_http_server"
  start_server "$work/http.log" "${server_pin[@]}" "$http_bin" --listen 127.0.0.1:0 --threads "$io_threads"
  http_pid="${server_pids[-1]}"
  http_port="$(wait_listening "$work/http.log" "$http_pid")"
  servers=(empty http verify empty_get check)
fi
declare -A port_of=([empty]="$empty_port" [empty_get]="$empty_port" [http]="${http_port:-}"
  [verify]="$keyledger_port" [check]="$keyledger_port")
declare -A pid_of=([empty]="$empty_pid" [empty_get]="$empty_pid" [http]="${http_pid:-}"
  [verify]="$keyledger_pid" [check]="$keyledger_pid")
declare -A path_of=([empty]=/v1/keys/verify [empty_get]=/v1/check [http]=/v1/keys/verify
  [verify]=/v1/keys/verify [check]=/v1/check)
declare -A script_of=([empty]=verify.lua [empty_get]=check.lua [http]=verify.lua
  [verify]=verify.lua [check]=check.lua)

# CPU time of a process (user + system, clock ticks) and the shared allocation counter.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
ticks_per_s="$(getconf CLK_TCK)"
allocations() {
  if [[ -n "$alloc_file" && -s "$alloc_file" ]]; then
    od -An -tu8 -N8 "$alloc_file" | tr -d ' '
  else
    echo 0
  fi
}

# 4. Alternate the servers so that a noisy neighbour hurts all alike; keep the best run.
declare -A best_rate=() best_p50=() best_p99=() best_cpu=() best_allocs=() bad_answers=()
for name in "${servers[@]}"; do best_rate[$name]=0; done
measure() {
  local name="$1" round="$2" out
  out="$work/wrk-$name-$round.txt"
  say "round $round: $name (${seconds}s, $connections connections)"
  local ticks_before allocs_before ticks_after allocs_after
  ticks_before="$(cpu_ticks "${pid_of[$name]}")"
  allocs_before="$(allocations)"
  "${wrk_pin[@]}" wrk -t1 -c"$connections" -d"${seconds}s" --latency -s "$here/${script_of[$name]}" \
    "http://127.0.0.1:${port_of[$name]}${path_of[$name]}" >"$out" 2>&1 || {
    cat "$out" >&2
    die "wrk failed against $name"
  }
  ticks_after="$(cpu_ticks "${pid_of[$name]}")"
  allocs_after="$(allocations)"
  local rate p50 p99 non2xx requests cpu allocs=-
  rate="$(awk '/^Requests\/sec:/ { print $2 }' "$out")"
  p50="$(to_us "$(awk '$1 == "50%" { print $2 }' "$out")")"
  p99="$(to_us "$(awk '$1 == "99%" { print $2 }' "$out")")"
  non2xx="$(awk '/Non-2xx or 3xx responses:/ { print $NF }' "$out")"
  requests="$(awk '/requests in/ { print $1 }' "$out")"
  [[ -n "$rate" && "$p50" != NaN && "$p99" != NaN && "$requests" -gt 0 ]] || {
    cat "$out" >&2
    die "cannot read wrk's report for $name"
  }
  cpu="$(awk -v t=$((ticks_after - ticks_before)) -v hz="$ticks_per_s" -v n="$requests" \
    'BEGIN { printf "%.1f", t / hz * 1e6 / n }')"
  if [[ "$name" == verify || "$name" == check ]] && [[ -n "$alloc_file" ]]; then
    allocs="$(awk -v a=$((allocs_after - allocs_before)) -v n="$requests" \
      'BEGIN { printf "%.2f", a / n }')"
  fi
  bad_answers[$name]=$((${bad_answers[$name]:-0} + ${non2xx:-0}))
  say "  $rate req/s, p50 ${p50}us, p99 ${p99}us, ${cpu} us CPU/req, allocations/req $allocs${non2xx:+, $non2xx non-2xx answers}"
  if awk -v a="$rate" -v b="${best_rate[$name]}" 'BEGIN { exit !(a > b) }'; then
    best_rate[$name]="$rate"
    best_p50[$name]="$p50"
    best_p99[$name]="$p99"
    best_cpu[$name]="$cpu"
    best_allocs[$name]="$allocs"
  fi
}
for round in $(seq "$rounds"); do
  for name in "${servers[@]}"; do measure "$name" "$round"; done
done

# BENCH_ALLOC_TRACE: where keyledger's allocations come from, during one more verify run.
if [[ -n "${BENCH_ALLOC_TRACE:-}" ]]; then
  command -v perf >/dev/null || die "BENCH_ALLOC_TRACE needs perf (apt-get install linux-perf)"
  libc="$(awk '$NF ~ /\/libc\.so/ { print $NF; exit }' "/proc/$keyledger_pid/maps")"
  [[ -n "$libc" ]] || die "cannot find the C library keyledger uses"
  probes=()
  for fn in malloc calloc realloc; do
    # A probe left by an interrupted run would make --add fail: removed first.
    perf probe -q --del "kl_$fn" >/dev/null 2>&1 || true
    perf probe -q -x "$libc" --add "kl_$fn=$fn" >/dev/null 2>&1 || die "perf probe on $fn failed"
    probes+=("probe_libc:kl_$fn")
  done
  : >"$BENCH_ALLOC_TRACE"
  for name in verify check; do
    say "tracing allocations: $name (${seconds}s)"
    perf record -q --call-graph dwarf,16384 -p "$keyledger_pid" -o "$work/alloc-$name.data" \
      $(printf -- '-e %s ' "${probes[@]}") -- sleep "$seconds" >/dev/null 2>&1 &
    perf_pid=$!
    "${wrk_pin[@]}" wrk -t1 -c"$connections" -d"${seconds}s" -s "$here/${script_of[$name]}" \
      "http://127.0.0.1:$keyledger_port${path_of[$name]}" >"$work/wrk-trace.txt" 2>&1 || true
    wait "$perf_pid" || true
    {
      printf '## %s: %s\n' "$name" "$(grep -E 'requests in' "$work/wrk-trace.txt" || true)"
      perf report -i "$work/alloc-$name.data" --stdio --no-children -G --percent-limit 1 2>/dev/null
    } >>"$BENCH_ALLOC_TRACE"
  done
  for p in "${probes[@]}"; do perf probe -q --del "${p#probe_libc:}" >/dev/null 2>&1 || true; done
  say "allocation stacks written to $BENCH_ALLOC_TRACE"
fi
stop_servers

# 5. Report.
ratio_of() {
  awk -v k="${best_rate[$1]}" -v e="${best_rate[$2]}" 'BEGIN { printf "%.3f\n", (e > 0) ? k / e : 0 }'
}
verify_ratio="$(ratio_of verify empty)"
check_ratio="$(ratio_of check empty_get)"
cpu="$(lscpu 2>/dev/null | sed -n 's/^Model name:[[:space:]]*//p' | head -n1)"
os="$(. /etc/os-release 2>/dev/null && printf '%s' "${PRETTY_NAME:-unknown}")"
printf '\n'
printf 'date:      %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
printf 'machine:   %s, %s cores, %s\n' "${cpu:-unknown}" "$(nproc)" "$os"
printf 'load:      wrk -t1 -c%s -d%ss, keep-alive; best of %s; loadavg %s\n' \
  "$connections" "$seconds" "$rounds" "$(cut -d' ' -f1-3 /proc/loadavg)"
printf 'servers:   %s I/O thread(s) each%s%s\n' "$io_threads" \
  "$([[ "$pin" == 1 ]] && echo '; pinned: wrk on CPU 0, servers on CPU 1' || echo '; not pinned')" \
  "$([[ -n "$alloc_file" ]] && echo '; keyledger with the counting allocator')"
printf '%-10s %-16s %10s %8s %8s %9s %10s\n' server request 'req/s' 'p50 us' 'p99 us' 'CPU us' 'allocs/req'
for name in "${servers[@]}"; do
  printf '%-10s %-16s %10.0f %8s %8s %9s %10s\n' "$name" "${path_of[$name]}" "${best_rate[$name]}" \
    "${best_p50[$name]}" "${best_p99[$name]}" "${best_cpu[$name]}" "${best_allocs[$name]:--}"
done
if [[ " ${servers[*]} " == *" http "* ]]; then
  printf 'ratio http/empty:       %s   (infra/http with an empty handler; information only)\n' \
    "$(ratio_of http empty)"
fi
printf 'ratio verify/empty:     %s\n' "$verify_ratio"
printf 'ratio check/empty_get:  %s\n' "$check_ratio"
# Ready rows for the table in docs/performance.md.
for pair in "verify empty $verify_ratio" "check empty_get $check_ratio"; do
  read -r name base r <<<"$pair"
  printf '| %s | %s | %.0f | %.0f | %s | %s / %s | %s / %s | %s |\n' "$(date -u +%Y-%m-%d)" \
    "${path_of[$name]}" "${best_rate[$base]}" "${best_rate[$name]}" "$r" "${best_p50[$name]}" \
    "${best_p99[$name]}" "${best_cpu[$base]}" "${best_cpu[$name]}" "${best_allocs[$name]:--}"
done

verdict=PASS
for name in verify check; do
  if ((${bad_answers[$name]:-0} > 0)); then
    say "keyledger gave ${bad_answers[$name]} non-2xx answers to $name during the runs"
    verdict=FAIL
  fi
  ((best_p99[$name] < bar_p99_us)) || verdict=FAIL
  # No allocation per request: what remains is work done once per many requests (a log batch).
  if [[ -n "$alloc_file" ]]; then
    awk -v a="${best_allocs[$name]}" -v max="$bar_allocs" 'BEGIN { exit !(a < max) }' || verdict=FAIL
  fi
done
for r in "$verify_ratio" "$check_ratio"; do
  awk -v r="$r" -v min="$bar_ratio" 'BEGIN { exit !(r >= min) }' || verdict=FAIL
done
printf 'BAR verify and check: ratio>=%s, p99<1ms, allocations/req<%s: %s\n' "$bar_ratio" \
  "$bar_allocs" "$verdict"
if [[ "$verdict" == PASS ]]; then exit 0; else exit 1; fi

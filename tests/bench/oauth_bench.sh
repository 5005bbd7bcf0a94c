#!/usr/bin/env bash
# OAuth benchmark: keyledger's POST /oauth/token (client_credentials, ES256 at+jwt) against the
# peer node-oidc-provider 9 doing the same, and keyledger's POST /oauth/introspect of one of its
# JWTs against the empty Beast handler (tests/bench/empty_server.cpp), all under the same wrk
# load in the same run. How it works and the figures so far: docs/performance.md ("OAuth token
# endpoint and introspection"). Usually run as `./scripts/dev bench`.
#
# Inputs (environment):
#   KEYLEDGER_BIN       the keyledger executable
#   BENCH_EMPTY_BIN     the bench_empty_server executable
#   DATABASE_URL        a fresh database, owned by a superuser, that this script migrates
#   OAUTH_PEER_DIR      a copy of the peer (server.mjs) with `npm install` done; when unset, the
#                       peer is copied from OAUTH_PEER_SRC to OAUTH_PEER_CACHE and `npm ci` is run
#                       there (again only when its package-lock.json changes)
#   OAUTH_PEER_SRC      the peer's sources (default /work/shared/peers/oidc-provider; may be
#                       read-only)
#   OAUTH_PEER_CACHE    where the copy lives (default ${XDG_CACHE_HOME:-~/.cache}/keyledger/peer-oidc-provider)
#   BENCH_SECONDS       length of each wrk run (default 10)
#   BENCH_WARMUP        warm-up per server before the runs, seconds (default 3)
#   BENCH_ROUNDS        runs per server and connection count (default 2)
#   BENCH_CONNS         connection counts (default "32 1")
#   BENCH_AUTH          post (client_secret_post, default: the peer's registered method) | basic
#   BENCH_PERF          1: a perf profile of keyledger during one extra token run (default 0)
#   BENCH_PERF_KEEP     with BENCH_PERF=1: copy perf.data to this path (for perf report)
#   BENCH_PERF_CALLGRAPH  perf's --call-graph: fp (default) or dwarf (exact stacks through
#                       code built without frame pointers; use with BENCH_PERF_FREQ=499)
#   BENCH_PIN           1: wrk on CPU 0, every server on CPU 1 (taskset); 0: no pinning (default 1
#                       with 2+ CPUs, as verify_bench.sh)
#   BENCH_THREADS       I/O threads of keyledger and the empty server (default 1 pinned, else 2)
#   BENCH_PIN_DB        1: with BENCH_PIN, the throwaway PostgreSQL (BENCH_PG_PIDFILE's postmaster
#                       and every backend) on wrk's CPU too, so that a backend woken by one of
#                       keyledger's background queries never runs on the server's CPU (as with
#                       a database on its own machine); default 0
#   BENCH_ALLOC_COUNTER the bench_alloc_counter.so to preload into keyledger (counts its
#                       allocations per token and per introspection; unset: not counted)
#
# The bars (all must hold, at every connection count): keyledger tokens/s / oidc-provider
# tokens/s >= 3; keyledger introspections/s / empty handler req/s >= 0.5; p99 < 2 ms for
# keyledger's token and introspection (the worst run). Rates are the mean of the runs. Any answer
# other than 200 in any run (counted by tests/bench/oauth.lua) means the run is not valid.
#
# Exit status: 0 when the bars are met, 1 when one is not, 2 when the benchmark could not run
# (including: the peer cannot be installed or started, an answer is not a 200 with an ES256
# at+jwt, or any non-200 answer during the runs).
set -euo pipefail

seconds="${BENCH_SECONDS:-10}"
warmup="${BENCH_WARMUP:-3}"
rounds="${BENCH_ROUNDS:-2}"
conns="${BENCH_CONNS:-32 1}"
auth="${BENCH_AUTH:-post}"
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
if [[ "$pin" == 1 && "${BENCH_PIN_DB:-0}" == 1 && -r "${BENCH_PG_PIDFILE:-}" ]]; then
  pg_postmaster="$(head -n1 "$BENCH_PG_PIDFILE")"
  for p in "$pg_postmaster" $(pgrep -P "$pg_postmaster" || true); do
    taskset -a -p -c 0 "$p" >/dev/null 2>&1 || true
  done
fi
io_threads="${BENCH_THREADS:-$([[ "$pin" == 1 ]] && echo 1 || echo 2)}"
peer_src="${OAUTH_PEER_SRC:-/work/shared/peers/oidc-provider}"
peer_cache="${OAUTH_PEER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/keyledger/peer-oidc-provider}"

readonly bar_token_ratio=3
readonly bar_introspect_ratio=0.5
readonly bar_p99_ms=2

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

say() { printf '[oauth-bench] %s\n' "$*" >&2; }
die() {
  printf '[oauth-bench] error: %s\n' "$*" >&2
  exit 2
}
trap 'die "command failed at line $LINENO"' ERR

[[ -n "${KEYLEDGER_BIN:-}" && -x "$KEYLEDGER_BIN" ]] || die "KEYLEDGER_BIN must name the keyledger executable"
[[ -n "${BENCH_EMPTY_BIN:-}" && -x "$BENCH_EMPTY_BIN" ]] ||
  die "BENCH_EMPTY_BIN must name the bench_empty_server executable"
[[ -n "${DATABASE_URL:-}" ]] || die "DATABASE_URL must name a fresh database"
for tool in wrk curl node npm; do
  command -v "$tool" >/dev/null || die "$tool is not installed"
done
for n in "$seconds" "$warmup" "$rounds" "$io_threads" $conns; do
  [[ "$n" =~ ^[1-9][0-9]*$ ]] || die "BENCH_* settings must be positive integers"
done
[[ "$auth" == post || "$auth" == basic ]] || die "BENCH_AUTH must be post or basic"

# ---- the peer: a copy with its node_modules ----------------------------------------------------

prepare_peer() {
  if [[ -n "${OAUTH_PEER_DIR:-}" ]]; then
    [[ -f "$OAUTH_PEER_DIR/server.mjs" && -d "$OAUTH_PEER_DIR/node_modules/oidc-provider" ]] ||
      die "OAUTH_PEER_DIR ($OAUTH_PEER_DIR) must hold server.mjs and node_modules/oidc-provider (npm install)"
    peer_dir="$OAUTH_PEER_DIR"
    return
  fi
  [[ -f "$peer_src/server.mjs" && -f "$peer_src/package-lock.json" ]] ||
    die "the peer is not at $peer_src (set OAUTH_PEER_SRC, or OAUTH_PEER_DIR to an installed copy)"
  peer_dir="$peer_cache"
  local want stamp="$peer_dir/node_modules/.keyledger-lock.sha256"
  want="$(cat "$peer_src/package-lock.json" "$peer_src/server.mjs" | sha256sum | cut -d' ' -f1)"
  if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then return; fi
  say "installing the peer in $peer_dir (npm ci)"
  mkdir -p "$peer_dir"
  # The source may be read-only: copy the files, writable, and install in the copy.
  cp "$peer_src/package.json" "$peer_src/package-lock.json" "$peer_src/server.mjs" "$peer_dir/" ||
    die "cannot copy the peer to $peer_dir"
  chmod u+w "$peer_dir"/*
  (cd "$peer_dir" && npm ci --no-audit --no-fund >"$peer_dir/npm.log" 2>&1) || {
    tail -n 20 "$peer_dir/npm.log" >&2 || true
    die "npm ci of the peer failed in $peer_dir (see npm.log there)"
  }
  [[ -d "$peer_dir/node_modules/oidc-provider" ]] || die "npm ci installed no oidc-provider"
  printf '%s\n' "$want" >"$stamp"
}
peer_dir=""
prepare_peer

# Everything this run writes (server secret, logs, credentials for curl) lives here, private.
umask 077
work="$(mktemp -d -t keyledger-oauth-bench.XXXXXX)"
server_pids=()

stop_servers() {
  local pid
  for pid in "${server_pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${server_pids[@]}"; do
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

show_log() {
  say "last lines of $(basename "$1"):"
  tail -n 20 "$1" >&2 || true
}

start_server() {
  local log="$1"
  shift
  "$@" 2>"$log" >>"$log.out" &
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

json_string() {
  sed -n "s/.*\"$1\":\"\\([^\"]*\\)\".*/\\1/p" <<<"$2"
}

free_port() {
  local port=$((20000 + RANDOM % 30000))
  while ss -Hltn 2>/dev/null | awk '{print $4}' | grep -Eq "[:.]$port\$"; do port=$((port + 1)); done
  echo "$port"
}

# check_jwt NAME ANSWER: the answer of a token request must be a 200 whose access_token is a
# compact JWS with the header typ at+jwt, alg ES256. Prints the token.
check_jwt() {
  local name="$1" answer="$2" status body
  status="${answer##*$'\n'}"
  body="${answer%$'\n'*}"
  [[ "$status" == 200 ]] || die "$name: POST token answered $status (want 200): $(json_string error "$body")"
  node -e '
    const b = JSON.parse(process.argv[1]);
    const t = b.access_token;
    if (typeof t !== "string" || t.split(".").length !== 3) { console.error("no compact JWS"); process.exit(1); }
    const h = JSON.parse(Buffer.from(t.split(".")[0], "base64url").toString());
    if (h.typ !== "at+jwt" || h.alg !== "ES256") { console.error("header " + JSON.stringify(h)); process.exit(1); }
    if (b.token_type !== "Bearer") { console.error("token_type " + b.token_type); process.exit(1); }
    process.stdout.write(t);' "$body" || die "$name: the access token is not an ES256 at+jwt"
}

export DATABASE_URL
export KEYLEDGER_DATA_DIR="$work/data"
mkdir -p "$KEYLEDGER_DATA_DIR"

# 1. Schema, a workspace whose catalog holds the bench scope, its admin key.
say "migrating"
"$KEYLEDGER_BIN" migrate >"$work/migrate.log" 2>&1 || {
  show_log "$work/migrate.log"
  die "keyledger migrate failed"
}
readonly bench_scope="bench:read"
workspace="oauth-bench-$(od -An -N5 -tx1 /dev/urandom | tr -d ' \n')"
say "bootstrapping workspace $workspace"
bootstrap_out="$("$KEYLEDGER_BIN" bootstrap --workspace "$workspace" --scope-catalog "$bench_scope" \
  2>"$work/bootstrap.log")" || {
  show_log "$work/bootstrap.log"
  die "keyledger bootstrap failed"
}
admin_key="$(json_string key "$bootstrap_out")"
[[ -n "$admin_key" ]] || die "bootstrap printed no \"key\""
printf 'Authorization: Bearer %s\n' "$admin_key" >"$work/admin.header"

# 2. keyledger and its confidential client.
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
kl="http://127.0.0.1:$keyledger_port"
say "keyledger listens on port $keyledger_port"

client_out="$(curl -sS --max-time 10 -H @"$work/admin.header" -H 'Content-Type: application/json' \
  --data-binary "{\"type\":\"confidential\",\"name\":\"bench\",\"grant_types\":[\"client_credentials\"],\"allowed_scopes\":[\"$bench_scope\"]}" \
  -w '\n%{http_code}' "$kl/v1/oauth/clients")" || die "POST /v1/oauth/clients failed"
[[ "${client_out##*$'\n'}" == 201 || "${client_out##*$'\n'}" == 200 ]] || {
  show_log "$work/keyledger.log"
  die "POST /v1/oauth/clients answered ${client_out##*$'\n'}"
}
kl_client_id="$(json_string id "${client_out%$'\n'*}")"
kl_client_secret="$(json_string client_secret "${client_out%$'\n'*}")"
[[ -n "$kl_client_id" && -n "$kl_client_secret" ]] || die "the client registration returned no id or secret"

# curl's form data from a file, so that no secret is on a command line.
urlenc() { node -e 'process.stdout.write(encodeURIComponent(process.argv[1]))' "$1"; }
form_for() { # form_for ID SECRET: the token request of `auth`, written to files for curl
  local id="$1" secret="$2" prefix="$3"
  if [[ "$auth" == post ]]; then
    printf 'grant_type=client_credentials&client_id=%s&client_secret=%s' "$(urlenc "$id")" \
      "$(urlenc "$secret")" >"$work/$prefix.form"
    : >"$work/$prefix.header"
  else
    printf 'grant_type=client_credentials' >"$work/$prefix.form"
    printf 'Authorization: Basic %s\n' \
      "$(printf '%s:%s' "$(urlenc "$id")" "$(urlenc "$secret")" | base64 -w0)" >"$work/$prefix.header"
  fi
}
form_for "$kl_client_id" "$kl_client_secret" kl
token_answer="$(curl -sS --max-time 10 -H @"$work/kl.header" \
  -H 'Content-Type: application/x-www-form-urlencoded' --data-binary @"$work/kl.form" \
  -w '\n%{http_code}' "$kl/oauth/token")" || die "keyledger POST /oauth/token failed"
kl_token="$(check_jwt keyledger "$token_answer")"
say "keyledger: 200, ES256 at+jwt (${#kl_token} characters)"

# Introspection of that token, with the same client's credentials as for the token request.
if [[ "$auth" == post ]]; then
  printf 'token=%s&client_id=%s&client_secret=%s' "$kl_token" "$(urlenc "$kl_client_id")" \
    "$(urlenc "$kl_client_secret")" >"$work/introspect.form"
else
  printf 'token=%s' "$kl_token" >"$work/introspect.form"
fi
introspect_answer="$(curl -sS --max-time 10 -H @"$work/kl.header" \
  -H 'Content-Type: application/x-www-form-urlencoded' --data-binary @"$work/introspect.form" \
  -w '\n%{http_code}' "$kl/oauth/introspect")" || die "keyledger POST /oauth/introspect failed"
[[ "${introspect_answer##*$'\n'}" == 200 && "$introspect_answer" == *'"active":true'* ]] ||
  die "introspection of a fresh token is not 200 active:true (${introspect_answer##*$'\n'})"
say "keyledger introspection: 200, active:true"

# 3. The empty Beast handler.
say "starting bench_empty_server"
start_server "$work/empty.log" "${server_pin[@]}" "$BENCH_EMPTY_BIN" --listen 127.0.0.1:0 --threads "$io_threads"
empty_pid="${server_pids[-1]}"
empty_port="$(wait_listening "$work/empty.log" "$empty_pid")"
empty_answer="$(curl -sS --max-time 10 -H 'Content-Type: application/x-www-form-urlencoded' \
  --data-binary @"$work/kl.form" -o /dev/null -w '%{http_code}' "http://127.0.0.1:$empty_port/")" ||
  die "the empty server does not answer"
[[ "$empty_answer" == 200 ]] || die "the empty server answered $empty_answer"

# 4. The peer, node-oidc-provider (its client: bench / bench-secret-0123456789abcdef, README).
peer_port="$(free_port)"
say "starting the peer oidc-provider on port $peer_port ($peer_dir)"
start_server "$work/peer.log" "${server_pin[@]}" env NODE_ENV=production PORT="$peer_port" \
  node "$peer_dir/server.mjs"
peer_pid="${server_pids[-1]}"
peer="http://127.0.0.1:$peer_port"
for _ in $(seq 200); do
  curl -s -o /dev/null --max-time 1 "$peer/.well-known/openid-configuration" && break
  kill -0 "$peer_pid" 2>/dev/null || {
    show_log "$work/peer.log"
    die "the peer exited before listening"
  }
  sleep 0.1
done
readonly peer_client_id=bench peer_client_secret=bench-secret-0123456789abcdef
form_for "$peer_client_id" "$peer_client_secret" peer
peer_answer="$(curl -sS --max-time 10 -H @"$work/peer.header" \
  -H 'Content-Type: application/x-www-form-urlencoded' --data-binary @"$work/peer.form" \
  -w '\n%{http_code}' "$peer/token")" || {
  show_log "$work/peer.log"
  die "the peer's POST /token failed"
}
peer_token="$(check_jwt oidc-provider "$peer_answer")"
say "oidc-provider: 200, ES256 at+jwt (${#peer_token} characters)"

# 5. The runs. Per connection count and round the servers alternate, so that a noisy neighbour
# hurts them alike. Each server's CPU time per request comes from /proc (utime + stime), a figure
# that moves less with contention than the rates.
clk_tck="$(getconf CLK_TCK)"
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
# keyledger's allocations so far (the shared counter of BENCH_ALLOC_COUNTER); nothing when they
# are not counted or for another server.
allocations() {
  if [[ "$1" == "$keyledger_pid" && -n "$alloc_file" && -s "$alloc_file" ]]; then
    od -An -tu8 -N8 "$alloc_file" | tr -d ' '
  fi
}
declare -A url_of=([empty]="http://127.0.0.1:$empty_port/" [oidc]="$peer/token"
  [token]="$kl/oauth/token" [introspect]="$kl/oauth/introspect")
declare -A pid_of=([empty]="$empty_pid" [oidc]="$peer_pid" [token]="$keyledger_pid"
  [introspect]="$keyledger_pid")
declare -A mode_of=([empty]=empty [oidc]=token [token]=token [introspect]=introspect)
servers=(empty oidc token introspect)

# run_wrk NAME CONNS SECONDS OUT
run_wrk() {
  local name="$1" c="$2" secs="$3" out="$4" id secret
  if [[ "$name" == oidc ]]; then
    id="$peer_client_id" secret="$peer_client_secret"
  else
    id="$kl_client_id" secret="$kl_client_secret"
  fi
  OAUTH_CLIENT_ID="$id" OAUTH_CLIENT_SECRET="$secret" OAUTH_TOKEN="$kl_token" \
    "${wrk_pin[@]}" wrk -t1 -c"$c" -d"${secs}s" --latency -s "$here/oauth.lua" "${url_of[$name]}" \
    -- "${mode_of[$name]}" "$auth" >"$out" 2>&1 || {
    cat "$out" >&2
    die "wrk failed against $name"
  }
}

field() { sed -n "s/.* $1=\\([0-9.]*\\).*/\\1/p" <<<"$2"; }

declare -A rates=() p99s=() cpus=() allocs=()
bad_total=0
loads=()
for name in "${servers[@]}"; do
  say "warm-up: $name (${warmup}s, 32 connections)"
  run_wrk "$name" 32 "$warmup" "$work/warmup-$name.txt"
done
# BENCH_PERF=1: where keyledger's CPU goes during one extra token run (perf, call graphs),
# printed before the measured rounds (which run without perf).
if [[ "${BENCH_PERF:-0}" == 1 ]] && command -v perf >/dev/null; then
  perf record -q -F "${BENCH_PERF_FREQ:-1999}" --call-graph "${BENCH_PERF_CALLGRAPH:-fp}" -p "$keyledger_pid" -o "$work/perf.data" -- sleep "$seconds" \
    >/dev/null 2>&1 &
  perf_pid=$!
  run_wrk token 32 "$seconds" "$work/perf-token.txt"
  wait "$perf_pid" || true
  perf report -i "$work/perf.data" --stdio --children --percent-limit 2 -g none \
    --sort symbol 2>/dev/null | grep -v "^#" | grep -v "^$" | sed 's/  *$//' | head -70 >&2 || true
  say "self time (where the cycles are spent):"
  perf report -i "$work/perf.data" --stdio --no-children --percent-limit 0.5 -g none \
    --sort dso,symbol 2>/dev/null | grep -v "^#" | grep -v "^$" | sed 's/  *$//' | head -70 >&2 || true
  [[ -n "${BENCH_PERF_KEEP:-}" ]] && cp "$work/perf.data" "$BENCH_PERF_KEEP"
fi
for c in $conns; do
  for round in $(seq "$rounds"); do
    for name in "${servers[@]}"; do
      out="$work/wrk-$name-c$c-$round.txt"
      before="$(cpu_ticks "${pid_of[$name]}")"
      allocs_before="$(allocations "${pid_of[$name]}")"
      run_wrk "$name" "$c" "$seconds" "$out"
      after="$(cpu_ticks "${pid_of[$name]}")"
      allocs_after="$(allocations "${pid_of[$name]}")"
      line="$(grep '^RESULT' "$out")" || {
        cat "$out" >&2
        die "no RESULT line from wrk against $name"
      }
      rate="$(field req_per_s "$line")"
      p99="$(field p99_ms "$line")"
      p50="$(field p50_ms "$line")"
      p90="$(field p90_ms "$line")"
      p999="$(field p999_ms "$line")"
      requests="$(field requests "$line")"
      bad="$(field BAD "$line")"
      errs=0
      for k in connect_err read_err write_err timeouts status_err; do
        errs=$((errs + $(field "$k" "$line")))
      done
      us_per_req="$(awk -v t=$((after - before)) -v hz="$clk_tck" -v n="$requests" \
        'BEGIN { printf "%.1f", (n > 0) ? t / hz * 1e6 / n : 0 }')"
      per_req_allocs=-
      if [[ -n "$allocs_before" && -n "$allocs_after" ]]; then
        per_req_allocs="$(awk -v a=$((allocs_after - allocs_before)) -v n="$requests" \
          'BEGIN { printf "%.1f", (n > 0) ? a / n : 0 }')"
      fi
      allocs[$name/$c]="$per_req_allocs"
      rates[$name/$c]+=" $rate"
      p99s[$name/$c]+=" $p99"
      cpus[$name/$c]+=" $us_per_req"
      bad_total=$((bad_total + bad + errs))
      say "c$c round $round $name: $rate req/s, p50 ${p50} ms, p90 ${p90} ms, p99 ${p99} ms, p99.9 ${p999} ms, ${us_per_req} us CPU/req, $per_req_allocs allocs/req, $bad non-200, $errs socket errors"
    done
    loads+=("$(cut -d' ' -f1-3 /proc/loadavg)")
  done
done
stop_servers

# 6. Report.
mean() { awk '{ s = 0; for (i = 1; i <= NF; i++) s += $i; printf "%.1f", s / NF }' <<<"$1"; }
worst() { awk '{ m = 0; for (i = 1; i <= NF; i++) if ($i > m) m = $i; printf "%.3f", m }' <<<"$1"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", (b > 0) ? a / b : 0 }'; }
cpu="$(lscpu 2>/dev/null | sed -n 's/^Model name:[[:space:]]*//p' | head -n1)"
os="$(. /etc/os-release 2>/dev/null && printf '%s' "${PRETTY_NAME:-unknown}")"
printf '\n'
printf 'date:      %s\n' "$(date -u +%FT%TZ)"
printf 'machine:   %s, nproc %s, %s, node %s\n' "${cpu:-unknown}" "$(nproc)" "$os" "$(node -v)"
printf 'load:      wrk -t1 -c{%s} -d%ss --latency, keep-alive, %s run(s) each after a %ss warm-up; auth client_secret_%s\n' \
  "$conns" "$seconds" "$rounds" "$warmup" "$auth"
printf 'servers:   %s I/O thread(s) (keyledger, empty)%s\n' "$io_threads" \
  "$([[ "$pin" == 1 ]] && echo '; pinned: wrk on CPU 0, servers on CPU 1' || echo '; not pinned')"
printf 'loadavg:   %s (after each round)\n' "$(IFS='|'; echo "${loads[*]}")"
printf '%-11s %-4s %-24s %10s %-22s %12s %12s\n' server conn 'req/s (runs)' 'mean' 'p99 ms (runs)' 'CPU us/req' 'allocs/req'
for c in $conns; do
  for name in "${servers[@]}"; do
    printf '%-11s c%-3s %-24s %10s %-22s %12s %12s\n' "$name" "$c" "${rates[$name/$c]# }" \
      "$(mean "${rates[$name/$c]}")" "${p99s[$name/$c]# }" "$(mean "${cpus[$name/$c]}")" \
      "${allocs[$name/$c]:--}"
  done
done
verdict=PASS
for c in $conns; do
  tr="$(ratio "$(mean "${rates[token/$c]}")" "$(mean "${rates[oidc/$c]}")")"
  ir="$(ratio "$(mean "${rates[introspect/$c]}")" "$(mean "${rates[empty/$c]}")")"
  tp="$(worst "${p99s[token/$c]}")"
  ip="$(worst "${p99s[introspect/$c]}")"
  ok() { awk -v a="$1" -v op="$2" -v b="$3" 'BEGIN { exit !((op == ">=") ? a >= b : a < b) }' && echo met || echo MISSED; }
  r1="$(ok "$tr" '>=' "$bar_token_ratio")"
  r2="$(ok "$ir" '>=' "$bar_introspect_ratio")"
  r3="$(ok "$tp" '<' "$bar_p99_ms")"
  r4="$(ok "$ip" '<' "$bar_p99_ms")"
  printf 'c%-3s token/oidc-provider %s (bar >= %s: %s); introspect/empty %s (bar >= %s: %s); p99 token %s ms, introspect %s ms (bar < %s ms: %s, %s)\n' \
    "$c" "$tr" "$bar_token_ratio" "$r1" "$ir" "$bar_introspect_ratio" "$r2" "$tp" "$ip" \
    "$bar_p99_ms" "$r3" "$r4"
  [[ "$r1$r2$r3$r4" == metmetmetmet ]] || verdict=FAIL
done
if ((bad_total > 0)); then
  say "$bad_total non-200 answers or socket errors during the runs: the figures are not valid"
  printf 'BAR OAuth: INVALID (non-200 answers)\n'
  exit 2
fi
printf 'BAR OAuth token>=%sx oidc-provider, introspect>=%sx empty, p99<%sms: %s\n' \
  "$bar_token_ratio" "$bar_introspect_ratio" "$bar_p99_ms" "$verdict"
if [[ "$verdict" == PASS ]]; then exit 0; else exit 1; fi

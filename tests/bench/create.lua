-- wrk script for commit_bench.sh: every request is POST /v1/keys (a new test key) with the
-- admin key from BENCH_ADMIN_KEY (never on a command line, where `ps` would show it).
local key = os.getenv("BENCH_ADMIN_KEY")
if key == nil or not key:match("^[%w_]+$") then
  error("BENCH_ADMIN_KEY must hold an API key (letters, digits, underscores)")
end

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  bad = 0
  req = wrk.format("POST", "/v1/keys", {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. key,
  }, '{"name":"bench","environment":"test","scopes":[]}')
end

function request()
  return req
end

function response(status, headers, body)
  if status ~= 201 and status ~= 200 then bad = bad + 1 end
end

function done(summary, latency, requests)
  local non2xx = 0
  for _, t in ipairs(threads) do non2xx = non2xx + (t:get("bad") or 0) end
  local e = summary.errors
  local secs = summary.duration / 1e6
  io.write(string.format(
    "RESULT requests=%d duration_s=%.2f req_per_s=%.1f p50_ms=%.3f p99_ms=%.3f BAD=%d socket_err=%d\n",
    summary.requests, secs, summary.requests / secs, latency:percentile(50) / 1000,
    latency:percentile(99) / 1000, non2xx, e.connect + e.read + e.write + e.timeout))
end

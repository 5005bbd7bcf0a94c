-- wrk script for verify_bench.sh: every request is POST /v1/keys/verify with the key from the
-- BENCH_KEY environment variable (never on a command line, where `ps` would show it).
local key = os.getenv("BENCH_KEY")
if key == nil or not key:match("^[%w_]+$") then
  error("BENCH_KEY must hold an API key (letters, digits, underscores)")
end

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"key":"' .. key .. '"}'

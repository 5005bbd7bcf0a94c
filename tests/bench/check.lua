-- wrk script for verify_bench.sh: every request is GET /v1/check with the key from the
-- BENCH_KEY environment variable as a bearer token (never on a command line, where `ps` would
-- show it), the way nginx's auth_request forwards a client's header.
local key = os.getenv("BENCH_KEY")
if key == nil or not key:match("^[%w_]+$") then
  error("BENCH_KEY must hold an API key (letters, digits, underscores)")
end

wrk.method = "GET"
wrk.headers["Authorization"] = "Bearer " .. key

-- wrk script for scale_bench.sh: GET of the URL wrk is given (a page of /v1/keys), with the
-- admin key from the file named by BENCH_ADMIN_KEY_FILE as the bearer token. Every answer that
-- is not 200 is counted (wrk itself counts only 4xx and 5xx) and reported on stderr.
local path = os.getenv("BENCH_ADMIN_KEY_FILE")
if path == nil or path == "" then error("BENCH_ADMIN_KEY_FILE must name the admin key's file") end
local file = assert(io.open(path, "r"))
local key = file:read("*l")
file:close()
if key == nil or not key:match("^[%w_]+$") then error("BENCH_ADMIN_KEY_FILE holds no API key") end

wrk.method = "GET"
wrk.headers["Authorization"] = "Bearer " .. key

-- Each wrk thread has a Lua state of its own: done() (the main state) asks each for its count.
local threads = {}
function setup(thread) table.insert(threads, thread) end

not_ok = 0
function response(status, headers, body)
  if status ~= 200 then not_ok = not_ok + 1 end
end

function done(summary, latency, requests)
  local total = 0
  for _, t in ipairs(threads) do total = total + t:get("not_ok") end
  io.stderr:write(string.format("not_200 %d\n", total))
end

-- wrk script for scale_bench.sh: POST /v1/keys/verify with a key drawn at random, per request,
-- from the file named by BENCH_KEYS_FILE (one key a line; a file of one line is the one-key
-- run, so both runs cost wrk the same). Requests are formatted once in init(): per request
-- wrk only picks one. Keys reach wrk through a private file, never a command line.
local path = os.getenv("BENCH_KEYS_FILE")
if path == nil or path == "" then error("BENCH_KEYS_FILE must name a file of keys") end

local requests = {}
local count = 0

function init(args)
  local headers = { ["Content-Type"] = "application/json", ["Host"] = wrk.headers["Host"] }
  for line in io.lines(path) do
    if not line:match("^[%w_]+$") then
      error("BENCH_KEYS_FILE: every line must be an API key (letters, digits, underscores)")
    end
    count = count + 1
    requests[count] = wrk.format("POST", "/v1/keys/verify", headers, '{"key":"' .. line .. '"}')
  end
  if count == 0 then error("BENCH_KEYS_FILE holds no key") end
  math.randomseed(os.time())
end

function request()
  return requests[math.random(count)]
end

-- wrk script for oauth_bench.sh: OAuth 2.0 token and introspection requests, and the same fixed
-- small POST for the baselines. Every answer that is not exactly 200 counts as an error (wrk
-- itself counts only 4xx and 5xx): the script reads the BAD= figure and fails on any.
--
--   wrk -t1 -c32 -d10s --latency -s oauth.lua http://127.0.0.1:<port>/oauth/token -- token post
--
-- Arguments after "--": <mode> [post|basic]
--   empty       the token request's bytes, for a server that ignores them (the baselines)
--   token       grant_type=client_credentials, client_secret_post (default) or _basic
--   introspect  token=<OAUTH_TOKEN>, the client's credentials as for token (RFC 7662 2.1)
-- Secrets come from the environment, never a command line (`ps` would show them):
--   OAUTH_CLIENT_ID, OAUTH_CLIENT_SECRET, and OAUTH_TOKEN for introspect.

local client_id = os.getenv("OAUTH_CLIENT_ID") or ""
local client_secret = os.getenv("OAUTH_CLIENT_SECRET") or ""

local function urlencode(s)
  return (s:gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", string.byte(c)) end))
end

-- Plain base64 (wrk's LuaJIT has none built in).
local b64chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
local function base64(data)
  return ((data:gsub(".", function(x)
    local r, b = "", x:byte()
    for i = 8, 1, -1 do r = r .. (b % 2 ^ i - b % 2 ^ (i - 1) > 0 and "1" or "0") end
    return r
  end) .. "0000"):gsub("%d%d%d?%d?%d?%d?", function(x)
    if #x < 6 then return "" end
    local c = 0
    for i = 1, 6 do c = c + (x:sub(i, i) == "1" and 2 ^ (6 - i) or 0) end
    return b64chars:sub(c + 1, c + 1)
  end) .. ({ "", "==", "=" })[#data % 3 + 1])
end

-- Every thread's state, so that done() can add up the bad answers.
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  local mode = args[1] or "empty"
  local auth = args[2] or "post"
  if client_id == "" or client_secret == "" then
    error("OAUTH_CLIENT_ID and OAUTH_CLIENT_SECRET must be set")
  end
  local headers = {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["Accept"] = "application/json",
  }
  local body
  if mode == "token" or mode == "empty" then
    body = "grant_type=client_credentials"
  elseif mode == "introspect" then
    local token = os.getenv("OAUTH_TOKEN")
    if token == nil or not token:match("^[%w_%-]+%.[%w_%-]+%.[%w_%-]+$") then
      error("OAUTH_TOKEN must hold a compact JWS")
    end
    body = "token=" .. token
  else
    error("unknown mode '" .. mode .. "' (want empty, token or introspect)")
  end
  if auth == "basic" then
    -- RFC 6749 2.3.1: form-urlencode id and secret before base64.
    headers["Authorization"] = "Basic " .. base64(urlencode(client_id) .. ":" .. urlencode(client_secret))
  elseif auth == "post" then
    body = body .. "&client_id=" .. urlencode(client_id) .. "&client_secret=" .. urlencode(client_secret)
  else
    error("unknown auth '" .. auth .. "' (want post or basic)")
  end
  req = wrk.format("POST", nil, headers, body)
  bad = 0
end

function request()
  return req
end

function response(status, headers, body)
  if status ~= 200 then bad = bad + 1 end
end

-- One machine-readable line at the end.
function done(summary, latency, requests)
  local non200 = 0
  for _, t in ipairs(threads) do non200 = non200 + (t:get("bad") or 0) end
  local e = summary.errors
  local secs = summary.duration / 1e6
  io.write(string.format(
    "RESULT requests=%d duration_s=%.2f req_per_s=%.1f p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f p999_ms=%.3f max_ms=%.3f BAD=%d connect_err=%d read_err=%d write_err=%d timeouts=%d status_err=%d\n",
    summary.requests, secs, summary.requests / secs,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    latency:percentile(99.9) / 1000, latency.max / 1000,
    non200, e.connect, e.read, e.write, e.timeout, e.status))
end

-- wrk script of bench/load.py: the request as the ALB forwards it, and an exact error count.
--
-- Environment (all optional):
--   WRK_METHOD      GET (default) or POST
--   WRK_BODY        request body (POST); sent with Content-Type: application/json
--   WRK_AUTH        value of the Authorization header ("Bearer <token>")
--   WRK_COOKIE      value of the Cookie header (the browser pages' session)
--   WRK_ACCEPT      Accept header (default application/json)
--   WRK_EXPECT      "Header=value": responses whose header differs are counted as `unexpected`
--                   (e.g. X-Cache=HIT for the cached statistics, X-Cache=MISS for the cold ones)
--
-- wrk's own counter only counts status >= 400; here every status outside 200-299 is counted.
-- One machine-readable RESULT line is printed at the end (bench/load.py parses it).

wrk.method = os.getenv("WRK_METHOD") or "GET"
wrk.headers["X-Forwarded-Proto"] = "https"
wrk.headers["X-Forwarded-For"] = "203.0.113.10"
wrk.headers["Accept"] = os.getenv("WRK_ACCEPT") or "application/json"
local body = os.getenv("WRK_BODY")
if body and body ~= "" then
  wrk.body = body
  wrk.headers["Content-Type"] = "application/json"
end
local auth = os.getenv("WRK_AUTH")
if auth and auth ~= "" then
  wrk.headers["Authorization"] = auth
end
local cookie = os.getenv("WRK_COOKIE")
if cookie and cookie ~= "" then
  wrk.headers["Cookie"] = cookie
end

local expect_name, expect_value
local expect = os.getenv("WRK_EXPECT")
if expect and expect ~= "" then
  expect_name, expect_value = expect:match("^([^=]+)=(.*)$")
  expect_name = expect_name:lower()
end

local threads = {}
function setup(thread)
  table.insert(threads, thread)
end

non2xx = 0
unexpected = 0
function response(status, headers, _)
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
  end
  if expect_name then
    local seen
    for name, value in pairs(headers) do
      if name:lower() == expect_name then
        seen = value
      end
    end
    if seen ~= expect_value then
      unexpected = unexpected + 1
    end
  end
end

function done(summary, latency, _)
  local bad, odd = 0, 0
  for _, t in ipairs(threads) do
    bad = bad + (t:get("non2xx") or 0)
    odd = odd + (t:get("unexpected") or 0)
  end
  local secs = summary.duration / 1e6
  local e = summary.errors
  io.write(string.format(
    "RESULT requests=%d duration_s=%.3f rps=%.2f p50_ms=%.2f p90_ms=%.2f p99_ms=%.2f max_ms=%.2f "
      .. "non2xx=%d unexpected=%d sock_connect=%d sock_read=%d sock_write=%d sock_timeout=%d\n",
    summary.requests, secs, summary.requests / secs,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000,
    bad, odd, e.connect, e.read, e.write, e.timeout))
end

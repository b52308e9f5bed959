-- clusterbench's script for wrk. Every wrk thread counts its successful
-- responses per worker (the X-Worker header) and the distinct connections
-- per worker (X-Worker-Conn, one id per connection, dense per worker);
-- done() adds the threads up and prints one JSON line for clusterbench.
-- Memory stays flat however long the load runs: counters, and one bit
-- per connection id.
--
-- Plain wrk stops with requests in flight, which the workers serve and
-- count but the client never sees. Here a connection whose last response
-- came after the measured time sends only the start of a request,
-- headers without their closing blank line: the server (or proxy) waits
-- for the rest, so nothing reaches a handler and nothing is counted. Once
-- all of a thread's connections are parked so, the thread says "drained"
-- on stderr and stops, and clusterbench ends wrk with SIGINT when every
-- thread has. (wrk's delay() could hold a connection back instead, but it
-- costs two more epoll_ctl calls and a timer per request, on the load
-- generator's hot path.)
--
-- Arguments after --: "warmup" or "measure"; "keepalive" or "close"; the
-- measured seconds; the connections of each thread.

local bit = require("bit")
local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } clusterbench_timespec;
int clock_gettime(int clock, clusterbench_timespec *ts);
typedef struct { uint64_t count; uint64_t limit; uint64_t min; uint64_t max; uint64_t data[]; } clusterbench_wrk_stats;
]]
local ts = ffi.new("clusterbench_timespec")
local CLOCK_MONOTONIC = 1

local function now()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, ts)
  return tonumber(ts.tv_sec) + tonumber(ts.tv_nsec) * 1e-9
end

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  if args[1] == "warmup" then
    wrk.headers["X-Clusterbench-Warmup"] = "1"
  end
  if args[2] == "close" then
    wrk.headers["Connection"] = "close"
  end
  seconds = tonumber(args[3])
  connections = tonumber(args[4])
  first = nil   -- when this thread sent its first request
  last = 0      -- when its last connection went idle
  parked = 0    -- connections that will send nothing more
  served = {}   -- worker index -> successful responses
  conns = {}    -- worker index -> distinct connections
  seen = {}     -- worker index -> bitset of connection ids, 32 per word
  statuses = {} -- status code -> responses other than 200
  unnamed = 0   -- successful responses that named no worker
  req = wrk.format()
  unfinished = string.sub(req, 1, -3) -- without the final CRLF
end

function request()
  local t = now()
  if first == nil then
    first = t
  end
  if t < first + seconds then
    return req
  end
  parked = parked + 1
  last = t -- right after this connection's last response
  if parked == connections then
    io.stderr:write("clusterbench-wrk drained\n")
    wrk.thread:stop()
  end
  return unfinished
end

-- header finds a header whatever its case: HTTP names are
-- case-insensitive, and HAProxy, for one, sends them in lower case.
local function header(headers, name, lower)
  local v = headers[name] or headers[lower]
  if v == nil then
    for k, value in pairs(headers) do
      if string.lower(k) == lower then
        return value
      end
    end
  end
  return v
end

function response(status, headers, body)
  if status ~= 200 then
    statuses[status] = (statuses[status] or 0) + 1
    return
  end
  local w = tonumber(header(headers, "X-Worker", "x-worker"))
  if w == nil or w < 0 or w >= 65536 or w % 1 ~= 0 then
    unnamed = unnamed + 1
    return
  end
  served[w] = (served[w] or 0) + 1
  local id = tonumber(header(headers, "X-Worker-Conn", "x-worker-conn"))
  if id == nil or id < 0 or id >= 4294967296 then
    return
  end
  local bits = seen[w]
  if bits == nil then
    bits = {}
    seen[w] = bits
  end
  local word = math.floor(id / 32)
  local mask = bit.lshift(1, id % 32)
  local old = bits[word] or 0
  if bit.band(old, mask) == 0 then
    bits[word] = bit.bor(old, mask)
    conns[w] = (conns[w] or 0) + 1
  end
end

-- add folds one thread's counts (w -> n) into total.
local function add(total, counts)
  for k, n in pairs(counts) do
    total[k] = (total[k] or 0) + n
  end
end

-- object writes counts as a JSON object with string keys.
local function object(counts)
  local parts = {}
  for k, n in pairs(counts) do
    table.insert(parts, string.format('"%d":%d', k, n))
  end
  return "{" .. table.concat(parts, ",") .. "}"
end

-- buckets is wrk's latency distribution as a JSON array of pairs: each
-- latency (microseconds, less the previous pair's, so the line stays
-- short) and its count. It reads wrk's stats struct (src/stats.h, the same
-- since wrk 4.0) straight through the userdata, because wrk's Lua
-- interface finds the i-th bucket by scanning from the first, which is
-- quadratic in the buckets; the struct is believed only if its min, max
-- and count agree with what that interface says. "null" if they do not.
local function buckets(latency)
  local s = ffi.cast("clusterbench_wrk_stats **", latency)[0]
  local count = tonumber(s.count)
  if count == 0 then
    return "[]"
  end
  local lo, hi = tonumber(s.min), tonumber(s.max)
  if lo ~= latency.min or hi ~= latency.max or hi >= tonumber(s.limit) then
    return "null"
  end
  local parts, prev, sum = {}, 0, 0
  for v = lo, hi do
    local n = tonumber(s.data[v])
    if n > 0 then
      parts[#parts + 1] = string.format("%d,%d", v - prev, n)
      prev, sum = v, sum + n
    end
  end
  if sum ~= count then
    return "null"
  end
  return "[" .. table.concat(parts, ",") .. "]"
end

function done(summary, latency, requests)
  local s, c, st, un = {}, {}, {}, 0
  local from, to = math.huge, 0
  for _, t in ipairs(threads) do
    from = math.min(from, t:get("first") or math.huge)
    to = math.max(to, t:get("last"))
    add(s, t:get("served"))
    add(c, t:get("conns"))
    add(st, t:get("statuses"))
    un = un + t:get("unnamed")
  end
  local e = summary.errors
  -- wrk's stdev divides by count - 1: NaN for a single response, which is not JSON.
  local stdev = latency.stdev
  if stdev ~= stdev or stdev == math.huge then
    stdev = 0
  end
  io.write(string.format(
    'clusterbench-wrk {"elapsed_s":%f,"duration_us":%d,"responses":%d,"served":%s,"connections":%s,"statuses":%s,"unnamed":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"timeout":%d},' ..
    '"latency_us":{"mean":%f,"p50":%d,"p90":%d,"p99":%d,"p999":%d,"max":%d,"stdev":%f},"latency_buckets":%s}\n',
    math.max(to - from, 0), summary.duration, summary.requests, object(s), object(c), object(st), un,
    e.connect, e.read, e.write, e.timeout,
    latency.mean, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency:percentile(99.9), latency.max, stdev, buckets(latency)))
end

-- wrk script: every request is the template envelope (args[1], a file) with
-- fresh random ids where bench/envelopes.py puts its placeholders, posted to
-- args[2]. The template is cut at the placeholders once, so a request costs
-- one table.concat of pieces and new ids, not three string searches.
-- done() prints one JSON line for bench/wrkload.py.

local PLACEHOLDERS = { X = 32, Y = 32, Z = 12 } -- event id, trace id, span id prefix
local pieces, slots, path
local headers = { ["Content-Type"] = "application/x-sentry-envelope", ["Host"] = "127.0.0.1" }
local counter = 0

setup = function(thread)
  counter = counter + 1
  thread:set("thread_number", counter)
end

local function split(template)
  local parts, kinds, at = {}, {}, 1
  while true do
    local first, last, kind = nil, nil, nil
    for letter, width in pairs(PLACEHOLDERS) do
      local s, e = template:find(string.rep(letter, width), at, true)
      if s and (first == nil or s < first) then first, last, kind = s, e, letter end
    end
    if first == nil then break end
    parts[#parts + 1] = template:sub(at, first - 1)
    kinds[#kinds + 1] = kind
    at = last + 1
  end
  parts[#parts + 1] = template:sub(at)
  return parts, kinds
end

init = function(args)
  local f = assert(io.open(args[1], "rb"))
  local template = f:read("*a")
  f:close()
  path = args[2]
  pieces, slots = split(template)
  local urandom = assert(io.open("/dev/urandom", "rb"))
  local bytes = urandom:read(4)
  urandom:close()
  local seed = thread_number or 0
  for i = 1, 4 do seed = seed * 256 + bytes:byte(i) end
  math.randomseed(seed)
end

local function hex(width)
  local t = {}
  for i = 1, width / 4 do t[i] = string.format("%04x", math.random(0, 65535)) end
  return table.concat(t)
end

request = function()
  local ids = { X = hex(32), Y = hex(32), Z = hex(12) }
  local out = { pieces[1] }
  for i, kind in ipairs(slots) do
    out[#out + 1] = ids[kind]
    out[#out + 1] = pieces[i + 1]
  end
  return wrk.format("POST", path, headers, table.concat(out))
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "bytes": %d, "connect_errors": %d, "read_errors": %d, ' ..
    '"write_errors": %d, "status_errors": %d, "timeouts": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, ' ..
    '"max_us": %d}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end

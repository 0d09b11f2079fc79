-- wrk script of bench/run.js: replays pre-built requests (signed right before the run, since WeChat
-- signatures carry a timestamp) and checks every answer's status and body.
-- Arguments (after `--`): <requests file> <expected body substring> <threads>
-- File: one request per line, tab-separated: method, path, header name, header value, body (the
-- last three may be empty). Thread i of n sends lines i, i+n, i+2n…, so no two threads send the
-- same line; a thread that runs out counts it (`wrapped`) and starts over.
local threads = {}
local counter = 0

function setup(thread)
  thread:set('tid', counter)
  counter = counter + 1
  table.insert(threads, thread)
end

local reqs = {}
local pos = 0
expected = nil
ok = 0
bad_status = 0
bad_body = 0
wrapped = 0

function init(args)
  local file = args[1]
  expected = args[2]
  local nthreads = tonumber(args[3]) or 1
  local i = 0
  for line in io.lines(file) do
    if i % nthreads == tid then
      local method, path, hname, hvalue, body = line:match('^([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)\t(.*)$')
      local headers = {}
      if hname ~= '' then headers[hname] = hvalue end
      if body ~= '' then headers['Content-Type'] = 'text/xml' end
      table.insert(reqs, wrk.format(method, path, headers, body ~= '' and body or nil))
    end
    i = i + 1
  end
  if #reqs == 0 then error('no requests for thread ' .. tostring(tid)) end
end

function request()
  pos = pos + 1
  if pos > #reqs then
    pos = 1
    wrapped = wrapped + 1
  end
  return reqs[pos]
end

function response(status, headers, body)
  if status ~= 200 then
    bad_status = bad_status + 1
  elseif expected ~= '' and not string.find(body, expected, 1, true) then
    bad_body = bad_body + 1
  else
    ok = ok + 1
  end
end

function done(summary, latency, requests)
  local t = { ok = 0, bad_status = 0, bad_body = 0, wrapped = 0 }
  for _, thread in ipairs(threads) do
    for k, _ in pairs(t) do t[k] = t[k] + (thread:get(k) or 0) end
  end
  local e = summary.errors
  io.write(string.format(
    'WRK_RESULT {"requests":%d,"duration_us":%d,"ok":%d,"bad_status":%d,"bad_body":%d,"wrapped":%d,' ..
      '"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d}\n',
    summary.requests, summary.duration, t.ok, t.bad_status, t.bad_body, t.wrapped,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end

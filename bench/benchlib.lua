-- benchlib.lua — what the shape-only benchmarks share: the median time of
-- a function in ms, and this process's peak RSS in MB.  Loaded with
-- dofile beside the script (bench/ is not on package.path).
local B = {}

function B.median_ms(fn, runs)
  runs = runs or 21
  local times = {}
  for i = 1, runs do
    local t0 = os.clock()
    fn()
    times[i] = (os.clock() - t0) * 1000
  end
  table.sort(times)
  return times[(runs + 1) // 2]
end

function B.peak_rss_mb()
  local f = io.open("/proc/self/status")
  local hwm = f and f:read("a"):match("VmHWM:%s*(%d+)") or "0"
  if f then f:close() end
  return tonumber(hwm) / 1024
end

return B

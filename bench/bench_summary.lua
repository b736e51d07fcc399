-- bench_summary.lua MODEL — summary(MODEL, {3, 224, 224}) from the layer
-- settings alone: median over 51 runs of the analysis (quiet) and of the
-- analysis with its printed table, and the process's peak RSS.
local name = arg[1] or "vgg16"
local model = models[name]()
local function median(fn)
  local times = {}
  for i = 1, 51 do
    local t0 = os.clock()
    fn()
    times[i] = (os.clock() - t0) * 1000
  end
  table.sort(times)
  return times[26]
end
local s
local quiet = median(function() s = summary(model, {3, 224, 224}, { quiet = true }) end)
local text = median(function() tostring(summary(model, {3, 224, 224}, { quiet = true })) end)
local f = io.open("/proc/self/status")
local hwm = f and f:read("a"):match("VmHWM:%s*(%d+)") or "0"
if f then f:close() end
local rss = tonumber(hwm) / 1024
print(("summary(%-9s {3,224,224})  %11s params  median %5.2f ms (with the table %5.2f ms)  peak RSS %4.1f MB   targets < 5 ms (%s), < 15 MB (%s)")
  :format(name .. ",", s.total.params, quiet, text, rss, quiet < 5 and "PASS" or "MISS", rss < 15 and "PASS" or "MISS"))

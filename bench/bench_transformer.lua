-- bench_transformer.lua — summary(models.gpt2(), {1024}) shape-only, no
-- weight made: the model's construction and its analysis (median of 21),
-- beside resnet50's analysis measured in the same run as the reference,
-- and this process's peak RSS.  Targets: < 50 ms and < 20 MB.
local function median(fn)
  local times = {}
  for i = 1, 21 do
    local t0 = os.clock()
    fn()
    times[i] = (os.clock() - t0) * 1000
  end
  table.sort(times)
  return times[11]
end
local g
local build = median(function() g = models.gpt2() end)
local s
local quiet = median(function() s = summary(g, { 1024 }, { flops = "2mac", quiet = true }) end)
local text = median(function() tostring(summary(g, { 1024 }, { quiet = true })) end)
local r50 = models.resnet50()
local ref = median(function() summary(r50, { 3, 224, 224 }, { quiet = true }) end)
local f = io.open("/proc/self/status")
local hwm = f and f:read("a"):match("VmHWM:%s*(%d+)") or "0"
if f then f:close() end
local rss = tonumber(hwm) / 1024
local total = build + quiet
print(("summary(gpt2, {1024})  %s params  %s FLOPs  build %.2f ms + analysis %.2f ms (with the table %.2f ms; resnet50 %.2f ms)  peak RSS %.1f MB   targets < 50 ms (%s), < 20 MB (%s)")
  :format(s.total.params, s.total.flops, build, quiet, text, ref, rss, total < 50 and "PASS" or "MISS",
    rss < 20 and "PASS" or "MISS"))

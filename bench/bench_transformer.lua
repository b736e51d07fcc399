-- bench_transformer.lua — summary(models.gpt2(), {1024}) shape-only, no
-- weight made: the model's construction and its analysis (median of 21),
-- beside resnet50's analysis measured in the same run as the reference,
-- and this process's peak RSS.  Targets: < 50 ms and < 20 MB.
local B = dofile((arg[0]:match("^(.*)/[^/]*$") or ".") .. "/benchlib.lua")
local function median(fn) return B.median_ms(fn, 21) end
local g
local build = median(function() g = models.gpt2() end)
local s
local quiet = median(function() s = summary(g, { 1024 }, { flops = "2mac", quiet = true }) end)
local text = median(function() tostring(summary(g, { 1024 }, { quiet = true })) end)
local r50 = models.resnet50()
local ref = median(function() summary(r50, { 3, 224, 224 }, { quiet = true }) end)
local rss = B.peak_rss_mb()
local total = build + quiet
print(("summary(gpt2, {1024})  %s params  %s FLOPs  build %.2f ms + analysis %.2f ms (with the table %.2f ms; resnet50 %.2f ms)  peak RSS %.1f MB   targets < 50 ms (%s), < 20 MB (%s)")
  :format(s.total.params, s.total.flops, build, quiet, text, ref, rss, total < 50 and "PASS" or "MISS",
    rss < 20 and "PASS" or "MISS"))

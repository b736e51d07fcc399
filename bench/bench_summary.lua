-- bench_summary.lua MODEL — summary(MODEL, {3, 224, 224}) from the layer
-- settings alone: median over 51 runs of the analysis (quiet) and of the
-- analysis with its printed table, and the process's peak RSS.
local name = arg[1] or "vgg16"
local model = models[name]()
local B = dofile((arg[0]:match("^(.*)/[^/]*$") or ".") .. "/benchlib.lua")
local function median(fn) return B.median_ms(fn, 51) end
local s
local quiet = median(function() s = summary(model, {3, 224, 224}, { quiet = true }) end)
local text = median(function() tostring(summary(model, {3, 224, 224}, { quiet = true })) end)
local rss = B.peak_rss_mb()
print(("summary(%-9s {3,224,224})  %11s params  median %5.2f ms (with the table %5.2f ms)  peak RSS %4.1f MB   targets < 5 ms (%s), < 15 MB (%s)")
  :format(name .. ",", s.total.params, quiet, text, rss, quiet < 5 and "PASS" or "MISS", rss < 15 and "PASS" or "MISS"))

-- bench_budget.lua — memory() and train_compute() on GPT-2 XL (1.56 B
-- parameters, 48 blocks) at T = 1024, shape-only: no weight is made, so
-- both together stay far under the 100 ms target.  Median of 21 runs, and
-- the process's peak RSS.
local B = dofile((arg[0]:match("^(.*)/[^/]*$") or ".") .. "/benchlib.lua")
local function median(fn) return B.median_ms(fn, 21) end
local mem, tc
local ms = median(function()
  local m = models.gpt2{ size = "xl" }
  mem = memory(m, {1024}, { quiet = true, dtype = "mixed", kv_cache = true })
  tc = train_compute(m, {1024}, { tokens = 300e9, gpus = 8, peak_flops = 312e12, mfu = 0.4, flash = true, quiet = true })
end)
local rss = B.peak_rss_mb()
print(("memory + train_compute(GPT-2 XL, T=1024)  %s params, %.1f GB training (mixed), %.1f days on 8 A100 at 40%%  median %6.2f ms  peak RSS %4.1f MB   target < 100 ms (%s)")
  :format(math.tointeger(mem.n_params), mem.total / 1e9, tc.days, ms, rss, ms < 100 and "PASS" or "MISS"))

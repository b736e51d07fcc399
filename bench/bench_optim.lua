-- bench_optim.lua — Adam on 1e6 parameters: steps per second and the
-- memory traffic that implies (it reads p, g, m, v and writes p, m, v:
-- 7 x 8 bytes per parameter), beside a plain copy loop in the same run.
local n = 1000000
local function best(reps, fn)
  local b = math.huge
  for _ = 1, 5 do
    local t0 = os.clock()
    for _ = 1, reps do fn() end
    b = math.min(b, (os.clock() - t0) / reps)
  end
  return b
end
-- copy bandwidth on arrays larger than the caches (memory), and on arrays
-- the size of Adam's (which may partly stay in the L3 cache)
local function copy_gbs(len, reps)
  local src, dst = rand(len), zeros(len)
  local t = best(reps, function() dst:copy(src) end)
  return 2 * len * 8 / t / 1e9
end
local copy_big = copy_gbs(8 * n, 5)
local copy_same = copy_gbs(n, 20)
local copy_gbs = copy_big
local p = randn(n):requires_grad()
p.grad = nil
;(p:sum()):backward()           -- a gradient to step with
local opt = optim.Adam({ p }, { lr = 1e-3 })
local ta = best(20, function() opt:step() end)
local adam_gbs = 7 * n * 8 / ta / 1e9
print(("== Adam on %d parameters (float64, one thread) =="):format(n))
print(("copy loop            %6.1f GB/s on 2 x 64 MB (memory),  %6.1f GB/s on 2 x 8 MB (Adam's array size)"):format(copy_big, copy_same))
print(("Adam step            %6.2f ms  = %5.0f steps/s  = %5.1f GB/s  (%3.0f%% of the memory copy, %3.0f%% of the same-size copy)")
  :format(ta * 1e3, 1 / ta, adam_gbs, 100 * adam_gbs / copy_big, 100 * adam_gbs / copy_same))
print(("target: Adam >= 50%% of the copy loop's bandwidth (%s against either copy)")
  :format((adam_gbs >= 0.5 * copy_big and adam_gbs >= 0.5 * copy_same) and "PASS" or "MISS"))

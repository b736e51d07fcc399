-- bench_lstm.lua — nn.LSTM forward and forward+backward on a batch of
-- sequences, beside the same run's GEMM throughput on the products an LSTM
-- is made of (the input part as one T·N x in by in x 4h product, then per
-- step N x h by h x 4h; the backward does each product twice more).  The
-- ratio says how much the per-step graph costs over its matrix products.
--   nncalc bench/bench_lstm.lua [T N in h]
local clock = os.clock
local T = tonumber(arg and arg[1]) or 20
local N = tonumber(arg and arg[2]) or 32
local I = tonumber(arg and arg[3]) or 64
local H = tonumber(arg and arg[4]) or 128

local function best_of(reps, fn)
  local best = math.huge
  for _ = 1, reps do
    local t0 = clock()
    fn()
    best = math.min(best, clock() - t0)
  end
  return best
end

seed(1)
local lstm = nn.LSTM(I, H)
local x = randn(T, N, I)
local params = lstm:parameters()

local fwd = best_of(5, function() no_grad(function() return lstm(x) end) end)
local fb = best_of(5, function()
  for _, p in ipairs(params) do p:zero_grad() end
  local out = lstm(x)
  out:sum():backward()
end)

-- the same products without the graph
local X2, Wih = randn(T * N, I), randn(I, 4 * H)
local hN, Whh = randn(N, H), randn(H, 4 * H)
local products = best_of(5, function()
  no_grad(function()
    local _ = X2 * Wih
    for _ = 1, T do _ = hN * Whh end
  end)
end)
local macs = T * N * 4 * H * (I + H)
local gflops = 2 * macs / products / 1e9

print(("== nn.LSTM(%d, %d), T = %d, N = %d: %d multiply-adds per forward (best of 5) =="):format(I, H, T, N, macs))
print(("GEMM on the same shapes (1 + T products)  %8.3f ms   %6.2f GFLOP/s"):format(products * 1e3, gflops))
print(("LSTM forward (no graph)                   %8.3f ms   %6.2f GFLOP/s   %.2fx the products"):format(
  fwd * 1e3, 2 * macs / fwd / 1e9, fwd / products))
print(("LSTM forward + backward                   %8.3f ms   %6.2f GFLOP/s   %.2fx 3 x the products"):format(
  fb * 1e3, 6 * macs / fb / 1e9, fb / (3 * products)))

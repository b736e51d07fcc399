-- bench_anchors.lua NNCALC [ROUNDS] [BENCH_GEMM] — nncalc beside
-- PyTorch, measured in the same run: ROUNDS rounds (default 3), each a
-- fresh `NNCALC anchor_nncalc.lua` and then, when Debian's
-- /usr/bin/python3 can import torch, `anchor_torch.py` on the same shapes
-- (float64, one thread); medians over the rounds, the ratio, the targets.
-- Without torch only nncalc's figures are printed, and the anchor is
-- said to be absent: no reference numbers from another machine.  With
-- BENCH_GEMM, its --peak (the FMA peak) is measured each round and the
-- highest kept, the least disturbed by other work on a shared machine.
local bin = arg[1] or "./nncalc"
local rounds = tonumber(arg[2]) or 3
local peak_cmd, peak = arg[3], nil
local here = (arg[0]:match("^(.*)/[^/]*$") or ".")

local function run(cmd, into)
  local p = assert(io.popen(cmd .. " 2>/dev/null"))
  for line in p:lines() do
    local k, v = line:match("^(%S+) (%S+)$")
    if k and tonumber(v) then
      into[k] = into[k] or {}
      table.insert(into[k], tonumber(v))
    end
  end
  p:close()
end

local function median(list)
  if not list or #list == 0 then return nil end
  table.sort(list)
  local n = #list
  return n % 2 == 1 and list[(n + 1) // 2] or (list[n // 2] + list[n // 2 + 1]) / 2
end

local torch_ok = os.execute("/usr/bin/python3 -c 'import torch' >/dev/null 2>&1") == true
local nnr, tr = {}, {}
for _ = 1, rounds do
  run(bin .. " " .. here .. "/anchor_nncalc.lua", nnr)
  -- one thread for PyTorch's BLAS too: torch.set_num_threads(1) does not
  -- reach OpenBLAS's own pthread pool, and its convolutions ran on both
  -- cores of this machine (141% CPU) without these
  if torch_ok then
    run("OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 /usr/bin/python3 " .. here ..
        "/anchor_torch.py", tr)
  end
  if peak_cmd then
    local p = io.popen(peak_cmd .. " --peak")
    local v = p and tonumber(p:read("l"))
    if p then p:close() end
    if v and (not peak or v > peak) then peak = v end
  end
end
local N, T, fastest = {}, {}, {}
for k, v in pairs(nnr) do
  fastest[k] = math.min(table.unpack(v))
  N[k] = median(v)
end
for k, v in pairs(tr) do T[k] = median(v) end

local function verdict(ok) return ok and "PASS" or "MISS" end
print(("== nncalc beside PyTorch, same run: medians of %d interleaved rounds =="):format(rounds))
if torch_ok then
  print("PyTorch " .. (io.popen("/usr/bin/python3 -c 'import torch; print(torch.__version__)'"):read("l") or "?")
    .. " (Debian python3-torch), float64, torch.set_num_threads(1), OPENBLAS_NUM_THREADS=1")
else
  print("PyTorch anchor absent (/usr/bin/python3 cannot import torch; apt-get install python3-torch): nncalc's figures only")
end
print(("%-44s %12s %12s %9s"):format("workload", "nncalc", "PyTorch", "speed-up"))
local function row(label, nk, tk, unit)
  local a, b = N[nk], tk and T[tk]
  if not a then print(("%-44s %12s"):format(label, "failed")); return end
  if b then print(("%-44s %9.3f %-2s %9.3f %-2s %8.2fx"):format(label, a, unit, b, unit, b / a))
  else print(("%-44s %9.3f %-2s %12s"):format(label, a, unit, tk and (torch_ok and "-" or "absent") or "")) end
end
row("4-element x + y, fresh process", "op_fresh", "op", "us")
row("4-element x + y, after a session's warm-up", "op_warm", "op", "us")
row("homework MLP step (fwd+bwd), fresh", "mlp_fresh", "mlp", "us")
row("homework MLP step, after the warm-up", "mlp_warm", "mlp", "us")
row("  its forward alone (recording the graph)", "mlp_forward", "mlp_forward", "us")
row("  its forward under no_grad", "mlp_nograd", "mlp_nograd", "us")
row("same MLP as nn.Sequential, step", "mlp_seq", "mlp_seq", "us")
row("LeNet-5 forward, batch 32", "lenet_fwd_ms", "lenet_fwd_ms", "ms")
row("LeNet-5 SGD epoch, 1,024 images, batch 32", "lenet_epoch_ms", "lenet_epoch_ms", "ms")
row("conv 1x64x56x56 -> 128, 3x3 pad 1 (forward)", "conv_resnet_ms", "conv_resnet_ms", "ms")
row("Inception block 1x256x32x32 (forward)", "conv_inception_ms", "conv_inception_ms", "ms")
row("backward per op, 1,001-op chain", "backward_1k", nil, "us")
row("backward per op, 10,001-op chain", "backward_10k", nil, "us")
row("traced backward per op, 1,001 ops", "trace_1k", nil, "us")
row("traced backward per op, 10,001 ops", "trace_10k", nil, "us")
row("tostring(graph(L)) per op, 1,001 ops", "graph_1k", nil, "us")
row("tostring(graph(L)) per op, 10,001 ops", "graph_10k", nil, "us")
row("  bytes of text per op, 1,001 ops", "graph_bytes_1k", nil, "B ")
row("  bytes of text per op, 10,001 ops", "graph_bytes_10k", nil, "B ")
print("warm-up: 13,000 live tensors, a backward through a 64x64 tanh chain, summary(vgg16), collectgarbage()")

-- LeNet-5 epoch FLOPs: 2 per multiply-add; forward 416,520 MACs an image
-- (summary's count), backward twice that less the first layer's input
-- gradient (117,600 MACs), which nothing needs; pooling, ReLU and SGD left out.
local epoch_flops = 1024 * 2 * (3 * 416520 - 117600)

local function ratio(a, b) return (N[a] and N[b]) and N[a] / N[b] or nil end
local function fmt(r) return r and ("%.2f"):format(r) or "n/a" end
print("targets:")
local r = ratio("op_warm", "op_fresh")
print(("  small op warm / fresh = %s, within 20%%: %s"):format(fmt(r), verdict(r and math.abs(r - 1) <= 0.2)))
r = ratio("mlp_warm", "mlp_fresh")
print(("  MLP step warm / fresh = %s, within 20%%: %s"):format(fmt(r), verdict(r and math.abs(r - 1) <= 0.2)))
print(("  homework MLP step under 10 us: %s"):format(verdict(N.mlp_fresh and N.mlp_fresh < 10)))
r = ratio("mlp_seq", "mlp_fresh")
print(("  nn.Sequential / plain tensors on the MLP step = %s (was 2.3 before this round of work)"):format(fmt(r)))
for _, k in ipairs{ "lenet_fwd_ms", "lenet_epoch_ms" } do
  if T[k] and N[k] then
    print(("  %s: %.2fx PyTorch, at least 1.5x: %s"):format(k, T[k] / N[k], verdict(T[k] / N[k] >= 1.5)))
  else
    print(("  %s: PyTorch anchor absent, no ratio"):format(k))
  end
end
-- Against the peak, the fastest round: the peak is the highest of the
-- rounds, and a shared machine has phases in which memory-bound work runs
-- 1.3-1.5 times slower while FMAs in registers do not (PyTorch's epoch
-- slows alike); the median round is shown beside it.
if peak and N.lenet_epoch_ms then
  local function share(ms) return epoch_flops / (ms * 1e-3) / 1e9 end
  local gf = share(fastest.lenet_epoch_ms)
  print(("  LeNet-5 epoch, fastest of %d rounds: %.2f GFLOP in %.1f ms = %.1f GFLOP/s = %.0f%% of the FMA peak (%.1f GFLOP/s, bench_gemm, highest of the rounds), at least 40%%: %s")
    :format(#nnr.lenet_epoch_ms, epoch_flops / 1e9, fastest.lenet_epoch_ms, gf, 100 * gf / peak, peak,
      verdict(gf / peak >= 0.4)))
  print(("    (the median round: %.1f ms = %.0f%% of the peak)"):format(N.lenet_epoch_ms,
    100 * share(N.lenet_epoch_ms) / peak))
end
for _, k in ipairs{ "trace", "graph", "graph_bytes" } do
  r = ratio(k .. "_10k", k .. "_1k")
  print(("  %s per op at 10,001 / at 1,001 ops = %s, at most 1.5: %s"):format(k, fmt(r), verdict(r and r <= 1.5)))
end
